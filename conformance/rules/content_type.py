"""Response Content-Type (notes §0.6)."""

from __future__ import annotations

from ..spec.model import Severity
from .registry import Applies, Side, declare

ERR, WARN = Severity.ERROR, Severity.WARNING
rule = declare("content-type", Side.DAEMON)
OK_ANY = Applies(statuses="success")

rule("v114.content-type.mismatch", ERR,
     "The response Content-Type is one the route sends in v1.14.",
     "notes §0.6, §2", applies=OK_ANY)
rule("v114.content-type.differs", WARN,
     "Where the doc shows no Content-Type (tag, load, auth, routes the doc omits), the response's is 1.2.0's.",
     "notes §0.6, §2", applies=OK_ANY)
rule("v114.content-type.missing", ERR,
     "JSON responses carry Content-Type application/json.",
     "notes §0.6", applies=OK_ANY)


# -- checks --------------------------------------------------------------------------------------
from ..http import media_type  # noqa: E402
from ..spec.model import BodyKind  # noqa: E402
from .registry import Phase, check, hit  # noqa: E402

_JSON_KINDS = (BodyKind.JSON_OBJECT, BodyKind.JSON_LIST, BodyKind.JSON_MESSAGES, BodyKind.EVENTS)


@check("v114.content-type.missing", "v114.content-type.mismatch", "v114.content-type.differs",
       phase=Phase.RESPONSE_HEAD,
       when=lambda x: x.judged and not x.hijacked and x.status < 400 and x.success is not None)
def response_content_type(x):
    ep, resp, raw = x.endpoint, x.success, x.response_content_type
    if not resp.content_types:
        return
    allowed = sorted({media_type(c) for c in resp.content_types})
    ctype = media_type(raw)
    shown = ep.documented and resp.doc_shows_type  # else the doc is silent: a difference from 1.2.0 is a warning
    if not ctype:
        if resp.kind in _JSON_KINDS:
            yield hit("v114.content-type.missing" if shown else "v114.content-type.differs",
                      f"{ep.id} {x.status} has no Content-Type (1.2.0 sends {', '.join(allowed)})",
                      "header:Content-Type")
    elif ctype not in allowed:
        if shown:
            yield hit("v114.content-type.mismatch", f"{ep.id} {x.status} has Content-Type {raw!r}; v1.14 sends "
                      f"{', '.join(allowed)}", "header:Content-Type", raw or "")
        else:
            yield hit("v114.content-type.differs", f"{ep.id} {x.status} has Content-Type {raw!r}; the doc shows "
                      f"none, 1.2.0 sends {', '.join(allowed)}", "header:Content-Type", raw or "")
