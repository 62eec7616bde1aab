"""Error answers: plain text, one message (notes §0.2, §4.5)."""

from __future__ import annotations

from ..spec.model import Severity
from .registry import Applies, Side, declare

WARN, INFO = Severity.WARNING, Severity.INFO
rule = declare("error", Side.DAEMON)
ERRORS = Applies(statuses="error")

rule("v114.error.plain-text", WARN,
     "Error responses are plain text (text/plain; charset=utf-8), the message followed by a newline, never JSON.",
     "notes §0.2", applies=ERRORS)
rule("v114.error.empty", INFO,
     "Error responses carry a message (1.2.0's copy of an unknown container is the one empty 404).",
     "notes §2 copy", applies=ERRORS)


# -- checks --------------------------------------------------------------------------------------
from ..http import media_type  # noqa: E402
from .registry import Phase, check, hit  # noqa: E402


@check("v114.error.plain-text", phase=Phase.RESPONSE_HEAD,
       when=lambda x: x.judged and not x.hijacked and x.status >= 400)
def error_content_type(x):
    raw = x.response_content_type
    if media_type(raw) != "text/plain":
        yield hit("v114.error.plain-text", f"error response has Content-Type {raw or 'none'}, not text/plain",
                  "header:Content-Type", raw or "(none)")
