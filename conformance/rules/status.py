"""Statuses: which ones a route can answer in v1.14 (notes §0.2)."""

from __future__ import annotations

from ..spec.model import Severity
from .registry import Applies, Side, declare

ERR, WARN, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO
rule = declare("status", Side.DAEMON)

rule("v114.status.unexpected", ERR,
     "The status is one the route can answer with in v1.14.",
     "notes §0.2, §2")
rule("v114.status.undocumented-route", WARN,
     "On a route the doc does not show (resize, /containers/ps, /images/viz, OPTIONS) the status is one 1.2.0 "
     "answers with (the doc is silent, so a difference is a warning).",
     "notes §1, §2")
rule("v114.status.cause", WARN,
     "Where the traffic tells an error's cause (the container's state learnt from earlier exchanges, or a "
     "body that words one of 1.2.0's causes), the status is the one 1.2.0 answers for it (delete of a "
     "running container is 500, copy of a missing file 500, not 404).",
     "notes §0.2, §2, §6.2", applies=Applies(statuses="error"))
rule("v114.status.route-missing", ERR,
     "Every v1.14 route is served: the daemon does not answer one with its router's 404 (`404 page not found`, "
     "`Not Found`), as podman does for copy.",
     "doc; notes §2", applies=Applies(statuses="error"))
rule("v114.status.doc-only", WARN,
     "The status is listed by the doc but 1.2.0 never answers it on this route (e.g. wait on an unknown "
     "container is 500, not 404).",
     "notes §5.13-14")
rule("v114.status.no-body", ERR,
     "204 and 304 responses carry no body.",
     "RFC 9110; notes §0.2", applies=Applies(statuses="no-body"))
rule("v114.status.reason", INFO,
     "The reason phrase matches the status (the doc shows `201 OK`, `204 OK`; Go writes `Created`, `No Content`).",
     "notes §5.10")


# -- checks --------------------------------------------------------------------------------------
import http as _http  # noqa: E402
import json as _json  # noqa: E402
import re  # noqa: E402

from ..spec.model import Cause  # noqa: E402
from .registry import Phase, check, hit  # noqa: E402


def _plain_answer(x) -> bool:
    """A routed answer judged by its status (not a hijacked stream, not a websocket switch)."""
    return x.judged and not x.hijacked


@check("v114.status.reason", phase=Phase.RESPONSE_HEAD, when=lambda x: x.judged)
def reason_phrase(x):
    try:
        expected = _http.HTTPStatus(x.status).phrase
    except ValueError:
        return
    if x.reason and x.reason != expected and x.status != 101:
        yield hit("v114.status.reason", f"reason phrase {x.reason!r} for {x.status} (expected {expected!r})",
                  "status", f"{x.status} {x.reason}")


@check("v114.status.unexpected", "v114.status.doc-only", "v114.status.undocumented-route",
       phase=Phase.RESPONSE_HEAD, when=_plain_answer)
def status_allowed(x):
    ep = x.endpoint
    if x.status in ep.statuses:
        return
    allowed = ", ".join(str(s) for s in sorted(ep.statuses))
    if x.status in ep.doc_errors:
        yield hit("v114.status.doc-only", f"{ep.id} answered {x.status}: the doc lists it but 1.2.0 answers "
                  f"{allowed}", "status", str(x.status))
    elif not ep.documented:
        yield hit("v114.status.undocumented-route", f"{ep.id} (not in the doc) answered {x.status}; 1.2.0 "
                  f"answers {allowed}", "status", str(x.status))
    else:
        yield hit("v114.status.unexpected", f"{ep.id} answered {x.status}; v1.14 allows {allowed}", "status",
                  str(x.status))


@check("v114.status.cause", phase=Phase.RESPONSE_END, when=lambda x: _plain_answer(x) and x.status >= 400)
def status_per_cause(x):
    """Where the traffic tells the cause of an error, the status is the one 1.2.0 gives that cause.

    Two tells: the container's state, learnt from earlier exchanges (started and not stopped since),
    and the body, when it words one of 1.2.0's causes on this route (`Could not find the file …`) and
    none that 1.2.0 answers with this status."""
    ep = x.endpoint
    state = x.container_state
    if state:
        outcome = ep.outcome(Cause.STATE, state)
        if outcome is not None and outcome.status != x.status and outcome.status >= 400 \
                and not (outcome.unless and x.query_bool(outcome.unless)):
            yield hit("v114.status.cause", f"{ep.id} of a {state} container (as earlier exchanges show) answered "
                      f"{x.status}; 1.2.0 answers {outcome.status} ({outcome.source})", "status", str(x.status))
            return
    text = x.error_text
    worded = [o for o in ep.outcomes if o.message and o.status >= 400 and o.content_type and o.body_matches(text)]
    if worded and not any(o.status == x.status for o in worded):
        o = worded[0]
        yield hit("v114.status.cause", f"{ep.id} answered {x.status} for {o.cause.value} (the body says so); 1.2.0 "
                  f"answers {o.status} ({o.source})", "status", text)


# a router's own 404 (Go's mux, podman's): the daemon has no such route at all
_NO_ROUTE = re.compile(r"(404 )?page not found|not found", re.I)


@check("v114.status.route-missing", phase=Phase.RESPONSE_END, when=lambda x: _plain_answer(x) and x.status == 404)
def route_served(x):
    text = x.error_text.strip()
    try:
        value = _json.loads(text)
        text = value.get("message", "") if isinstance(value, dict) else text
    except ValueError:
        pass
    if _NO_ROUTE.fullmatch(text.strip()):
        yield hit("v114.status.route-missing", f"{x.endpoint.id} ({x.endpoint.method} {x.endpoint.path}) was "
                  f"answered with a router's 404 {text.strip()!r}: the daemon does not serve this v1.14 route",
                  "status", x.error_text)
