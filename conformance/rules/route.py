"""Routes and version prefixes: which method and path a v1.14 server routes (notes §0.1, §1, §4.2)."""

from __future__ import annotations

from ..spec.model import Severity
from .registry import Applies, Side, declare

ERR, WARN, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO
rule = declare("route", Side.REQUEST)

rule("v114.route.unknown", ERR,
     "The method and path name a route of the v1.14 API (1.2.0 answers anything else with 404 `404 page not found`).",
     "notes §0.1")
rule("v114.route.later-api", INFO,
     "The route belongs to a later API version, not to v1.14.",
     "notes §1")
rule("v114.route.undocumented", INFO,
     "The route was served by 1.2.0 but is not in the v1.14 doc (/containers/ps, /images/viz, resize, OPTIONS).",
     "notes §1")
rule("v114.version.other", INFO,
     "The request is prefixed with a version other than /v1.14/; the checker judges it by the v1.14 rules anyway.",
     "notes §0.1")
rule("v114.version.too-new-served", WARN,
     "A request prefixed with a version above 1.14 is refused with 404 `client and server don't have same "
     "version` by a v1.14 server.",
     "notes §0.1, §4.2", applies=Applies(too_new=True), aspect="status", side_=Side.DAEMON)


# -- checks --------------------------------------------------------------------------------------
from .registry import Phase, check, hit  # noqa: E402


@check("v114.version.other", phase=Phase.REQUEST_HEAD)
def version_prefix(x):
    if x.route.version is not None and x.route.version != "1.14":
        yield hit("v114.version.other", f"request uses /v{x.route.version}/, not /v1.14/", "request-line", x.target)


@check("v114.route.later-api", "v114.route.unknown", phase=Phase.REQUEST_HEAD, when=lambda x: x.endpoint is None)
def route_known(x):
    m = x.route
    if m.later is not None:
        yield hit("v114.route.later-api", f"{x.method} {m.later.path} arrived in API {m.later.since} "
                  f"({m.later.summary}); a v1.14 server answers 404", "request-line", f"{x.method} {x.target}")
    else:
        why = "no v1.14 route has this method for this path" if m.path_known else "no v1.14 route has this path"
        yield hit("v114.route.unknown", f"{x.method} {m.path}: {why}", "request-line", f"{x.method} {x.target}")


@check("v114.route.undocumented", phase=Phase.REQUEST_HEAD, when=lambda x: x.endpoint is not None)
def route_documented(x):
    ep = x.endpoint
    if not ep.documented:
        yield hit("v114.route.undocumented", f"{ep.id} ({ep.method} {ep.path}) is served by 1.2.0 but absent "
                  "from the v1.14 doc", "request-line", x.target)


@check("v114.version.too-new-served", phase=Phase.RESPONSE_HEAD, when=lambda x: x.too_new)
def too_new_served(x):
    if 200 <= x.status < 300:
        yield hit("v114.version.too-new-served", f"{x.target} names a version above 1.14 but was answered "
                  f"{x.status}", "status", str(x.status))
