"""Request bodies and their headers (notes §0.4, §4.1)."""

from __future__ import annotations

from ..spec.model import Severity
from .registry import Side, declare

ERR, WARN, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO
rule = declare("request", Side.REQUEST)

rule("v114.request.json", ERR,
     "A JSON request body is one JSON object.",
     "notes §0.4", aspect="body")
rule("v114.request.field-type", WARN,
     "JSON body fields have the types the doc gives (1.2.0 coerces loosely; later daemons reject).",
     "notes §0.4", aspect="body")
rule("v114.request.field-unknown", INFO,
     "JSON body keys are fields v1.14 reads on this route.",
     "notes §0.4", aspect="body")
rule("v114.request.field-ignored", WARN,
     "The field is shown by the doc but ignored by 1.2.0 on this route (HostConfig at create, DisableNetwork, "
     "LxcConf as a map).",
     "notes §2, §5", aspect="body")
rule("v114.request.content-type", ERR,
     "start (with a body) and copy send Content-Type application/json; 1.2.0 answers 500 otherwise.",
     "notes §4.1", aspect="header")
rule("v114.request.form-body", ERR,
     "No JSON-bodied POST is sent as application/x-www-form-urlencoded (1.2.0 consumes the body as a form).",
     "notes §0.3", aspect="header")
rule("v114.request.unexpected-body", WARN,
     "Routes that read no body are sent none.",
     "doc", aspect="body")
rule("v114.request.missing-body", ERR,
     "Routes that need a body are sent one (copy, load, import with fromSrc=-).",
     "doc", aspect="body")
rule("v114.request.tar", ERR,
     "Tar request bodies (build, load, import) are readable tar archives.",
     "doc Build, Load", aspect="tar")
rule("v114.request.dockerfile", ERR,
     "A build context holds a Dockerfile at its root.",
     "doc Build", aspect="tar")
rule("v114.request.chunked-start", WARN,
     "start's HostConfig is sent with a Content-Length: 1.2.0 ignores chunked bodies.",
     "notes §2 start", aspect="body")


# -- checks --------------------------------------------------------------------------------------
from ..http import header, media_type  # noqa: E402
from ..spec.model import BodyKind  # noqa: E402
from .registry import Phase, check, hit  # noqa: E402

_routed = lambda x: x.endpoint is not None  # noqa: E731


@check("v114.request.form-body", "v114.request.content-type", "v114.request.chunked-start",
       phase=Phase.REQUEST_HEAD, when=_routed)
def request_headers(x):
    ep, headers = x.endpoint, x.request_headers
    ctype = media_type(header(headers, "content-type"))
    length = header(headers, "content-length")
    chunked = "chunked" in (header(headers, "transfer-encoding") or "").lower()
    has_length = length is not None and length.strip() not in ("", "0")
    body = ep.body
    if body.kind is BodyKind.JSON_OBJECT and ctype == "application/x-www-form-urlencoded" and (chunked or has_length):
        yield hit("v114.request.form-body", f"{ep.id} body sent as a form: 1.2.0 parses it as one and the JSON "
                  "is lost", "header:Content-Type", ctype)
    if body.content_type:
        needs = body.content_type_rule == "always" or (body.content_type_rule == "content-length>0" and has_length)
        if needs and ctype != body.content_type:
            yield hit("v114.request.content-type", f"{ep.id} needs Content-Type {body.content_type}, got "
                      f"{ctype or 'none'} (1.2.0 answers 500)", "header:Content-Type", ctype or "(none)")
        if body.content_type_rule == "content-length>0" and chunked:
            yield hit("v114.request.chunked-start", f"{ep.id} body sent chunked: 1.2.0 only reads it with a "
                      "Content-Length", "header:Transfer-Encoding", "chunked")


@check("v114.request.unexpected-body", "v114.request.missing-body", phase=Phase.REQUEST_END,
       when=lambda x: x.endpoint is not None and x.request_recorded)
def request_body_presence(x):
    ep, size = x.endpoint, x.request_size
    if x.request_kind not in (BodyKind.JSON_OBJECT, BodyKind.TAR):
        if size:
            yield hit("v114.request.unexpected-body", f"{ep.id} reads no body; {size} byte(s) sent", "request body",
                      x.request_head_bytes)
    elif not size and x.request_body_required:
        yield hit("v114.request.missing-body", f"{ep.id} needs a body", "request body")
