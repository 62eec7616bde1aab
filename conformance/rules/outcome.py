"""Outcomes the suite asserts: 1.2.0's answer per cause, and lifecycle states (notes §0.2-§0.4, §2, §6.2)."""

from __future__ import annotations

from ..spec.model import Severity
from .registry import Applies, Side, declare

ERR, WARN = Severity.ERROR, Severity.WARNING
rule = declare("outcome", Side.DAEMON)
ASSERTED = Applies(asserted=True)

rule("v114.outcome.status", WARN,
     "For each cause (unknown container or image, name conflict, bad or missing parameter, content type, body, "
     "container state, unreachable registry) the status is 1.2.0's, and a request 1.2.0 serves (lenient forms "
     "included) succeeds; asserted by the suite from the rule book's outcomes.",
     "notes §0.2-§0.4, §2, §6.2", applies=ASSERTED, aspect="status")
rule("v114.outcome.body", WARN,
     "An answer to a cause has 1.2.0's body form: its Content-Type and the message 1.2.0 words (`No such "
     "container: x`, an empty 404 for copy, ...); asserted by the suite.",
     "notes §0.2, §2", applies=ASSERTED, aspect="body")
rule("v114.lifecycle.state", ERR,
     "After a lifecycle transition the container is in the state the transition leads to (inspect "
     "State.Running/Paused, the running list, wait's exit code); asserted by the suite's state machine.",
     "doc Containers; notes §2", applies=ASSERTED, aspect="status")
