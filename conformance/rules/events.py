"""The events stream (notes §2 events); scanned by conformance/streams/body.py (StreamCheck)."""

from __future__ import annotations

from ..spec.model import Severity
from .registry import Applies, Side, declare

ERR, WARN, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO
rule = declare("events", Side.DAEMON)
OK_EVENTS = Applies(statuses="success", endpoints=frozenset({"system.events"}))

rule("v114.events.invalid", ERR,
     "The events stream is a sequence of JSON objects with status, id and time.",
     "doc Monitor events", applies=OK_EVENTS, aspect="stream")
rule("v114.events.status", WARN,
     "Event statuses are ones v1.14 emits (create, start, die, stop, kill, restart, pause, unpause, export, "
     "destroy, untag, delete).",
     "notes §2 events", applies=OK_EVENTS, aspect="stream")
rule("v114.events.separator", INFO,
     "1.2.0 writes events back to back with no separator; the doc says one per line (clients must accept both).",
     "notes §5.21", applies=OK_EVENTS, aspect="stream")
rule("v114.events.window", ERR,
     "Events respect since/until.",
     "doc Monitor events", applies=OK_EVENTS, aspect="stream")
