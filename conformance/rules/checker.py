"""Notes about this tool itself."""

from __future__ import annotations

from ..spec.model import Severity
from .registry import Side, declare

INFO = Severity.INFO
rule = declare("checker", Side.DAEMON)  # a note about this tool, held against no one (info)

rule("v114.checker.internal", INFO,
     "The checker failed on this exchange (a bug of this tool, not of the daemon); the exchange was still "
     "relayed, logged and recorded, but judged only in part.",
     "this tool")
