"""Whole-body rules: completeness, emptiness, ping (RFC 9112; notes §2)."""

from __future__ import annotations

from ..spec.model import BodyKind, Severity
from .registry import Applies, Side, declare

ERR, WARN, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO
rule = declare("body", Side.DAEMON)

rule("v114.text.ping", ERR,
     "/_ping answers `OK`.",
     "doc Ping", applies=Applies(statuses="success", endpoints=frozenset({"system.ping"})))
rule("v114.body.expected-empty", WARN,
     "Routes that 1.2.0 answers with an empty body (tag, load, resize) send none.",
     "notes §2", applies=Applies(statuses="success", kinds=frozenset({BodyKind.EMPTY})))
rule("v114.body.truncated", ERR,
     "The body is complete: as long as Content-Length, or ended by the chunked terminator.",
     "RFC 9112")
rule("v114.body.log-timestamp", WARN,
     "With `timestamps=1`, log lines start with a Go RFC3339Nano stamp: the fraction's trailing zeros are "
     "trimmed (20.10 pads it to 9 digits).",
     "notes §2 logs, §6.2", applies=Applies(statuses="success", endpoints=frozenset({"containers.logs"})))
rule("v114.body.limit", INFO,
     "The checker inspected the body only up to its buffering limit.",
     "checker limit")


# -- checks --------------------------------------------------------------------------------------
from .registry import Phase, check, hit  # noqa: E402


@check("v114.body.truncated", phase=Phase.CUT)
def body_complete(x):
    yield hit("v114.body.truncated", f"the connection ended before the body did ({x.response_size} byte(s) "
              "received)", f"body@{x.response_size}")
