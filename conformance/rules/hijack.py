"""Hijacked attach and exec streams, websocket attach (notes §3.1, §3.3)."""

from __future__ import annotations

from ..spec.model import Severity
from .registry import Applies, Side, declare

ERR, WARN, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO
rule = declare("hijack", Side.DAEMON)
HIJACKED = Applies(statuses="hijack")

rule("v114.hijack.status", ERR,
     "attach answers 200 with application/vnd.docker.raw-stream, or 101 UPGRADED when the client asked to upgrade.",
     "notes §3.1", applies=HIJACKED)
rule("v114.hijack.upgrade", INFO,
     "The client asked for `Upgrade: tcp` and got 101 (the later style, not v1.14's 200).",
     "notes §3.1", applies=HIJACKED)
rule("v114.hijack.content-type", ERR,
     "The hijacked response says Content-Type application/vnd.docker.raw-stream.",
     "notes §3.1", applies=HIJACKED)
rule("v114.websocket.opcode", WARN,
     "Websocket attach sends text frames at v1.14.",
     "notes §3.3", applies=Applies(websocket=True))
rule("v114.websocket.invalid", ERR,
     "Websocket attach frames from the daemon follow RFC 6455 framing (unmasked, known opcodes, valid lengths).",
     "RFC 6455 §5", aspect="websocket", side_=Side.WIRE)


# -- checks --------------------------------------------------------------------------------------
from ..http import header, media_type  # noqa: E402
from ..spec.endpoints import RAW_STREAM  # noqa: E402
from .registry import Phase, check, hit  # noqa: E402


@check("v114.hijack.upgrade", "v114.hijack.status", "v114.hijack.content-type", phase=Phase.RESPONSE_HEAD,
       when=lambda x: x.judged and x.endpoint.hijacked and x.hijacked)
def hijack_head(x):
    if x.status == 101:
        if header(x.request_headers, "upgrade") is not None:
            yield hit("v114.hijack.upgrade", "client asked `Upgrade: tcp` and got 101 (later style; v1.14 answers "
                      "200)", "status", "101")
        else:
            yield hit("v114.hijack.status", "attach answered 101 although the client did not ask to upgrade "
                      "(v1.14 answers 200 raw-stream)", "status", "101")
    raw = x.response_content_type
    if media_type(raw) not in RAW_STREAM:
        yield hit("v114.hijack.content-type", f"attach answered Content-Type {raw or 'none'}",
                  "header:Content-Type", raw or "(none)")


@check("v114.websocket.opcode", phase=Phase.STREAM)
def websocket_opcode(x, from_client: bool, text: bool, payload: bytes):
    if not from_client and not text:
        yield hit("v114.websocket.opcode", "websocket attach sent a binary frame (v1.14: text)", "websocket", payload)
