"""Response headers (notes §0.6, §4.4)."""

from __future__ import annotations

from ..spec.model import Severity
from .registry import Side, declare

INFO = Severity.INFO
rule = declare("header", Side.DAEMON)

rule("v114.header.later", INFO,
     "The response carries headers 1.2.0 never sent (Server, Api-Version, Ostype, Docker-Experimental).",
     "notes §4.4")


# -- checks --------------------------------------------------------------------------------------
from ..spec.endpoints import SERVER_HEADERS  # noqa: E402
from .registry import Phase, check, hit  # noqa: E402


@check("v114.header.later", phase=Phase.RESPONSE_HEAD, when=lambda x: x.judged)
def later_headers(x):
    later = [(h, v) for h, v in x.response_headers if h.lower() not in SERVER_HEADERS]
    if later:
        yield hit("v114.header.later", "headers 1.2.0 never sent: " + ", ".join(h for h, _ in later), "headers",
                  "; ".join(f"{h}: {v}" for h, v in later))
