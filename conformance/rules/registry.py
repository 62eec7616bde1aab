"""The rule registry: every rule id with its attributes, and the named check functions that raise it.

A rule is declared once, in its family's module (`conformance/rules/<family>.py`), with its severity,
statement, source, the side it judges and when it applies. The code that raises it is registered
beside it with `@check(...)` (head and end checks, run by the checker at their phase) or
`@raises(...)` (scanners in `conformance/streams/` and `frames.py` that raise it while reading a
body). `where(id)` answers "where is this rule's code" in one hop.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple

from ..spec.model import BodyKind, Rule, Severity


class Phase(StrEnum):
    """Where an exchange is; checks run at the phase they are registered for (h11-style states)."""

    IDLE = "idle"  # nothing fed yet
    REQUEST_HEAD = "request-head"  # request line and headers seen
    REQUEST_END = "request-end"  # request body complete (or not kept)
    RESPONSE_HEAD = "response-head"  # status line and headers seen
    STREAM = "stream"  # the connection became a raw stream (hijack, websocket)
    RESPONSE_END = "response-end"  # body or stream ended; the exchange is judged
    CUT = "cut"  # ended before it was complete


class Side(StrEnum):
    """Whose bytes a rule judges: the client's request or the daemon's answer (both: the wire)."""

    REQUEST = "request"
    DAEMON = "daemon"
    WIRE = "wire"  # HTTP framing and transport, judged on whichever side showed it


@dataclass(frozen=True)
class Applies:
    """When a daemon-side rule judges an exchange, declared so reports and docs read it, not work it out.

    Every set condition must hold. `statuses`: "any", "success" (< 400), "error" (>= 400), "no-body"
    (204/304), "hijack" (101/200 on a hijacking route). `kinds`: the route's success body kind at
    the answered status is one of these. `endpoints`: only these routes. `asserted`: judged only
    where the suite asserted it (outcome and lifecycle rules). `too_new`: requests prefixed with a
    version above 1.14. `websocket`: a websocket attach answered 101.
    """

    statuses: str = "any"
    kinds: frozenset[BodyKind] = frozenset()
    endpoints: frozenset[str] = frozenset()
    asserted: bool = False
    too_new: bool = False
    websocket: bool = False
    routed: bool = True  # False: judged on any exchange, v1.14 route or not (framing, transport)

    def describe(self) -> str:
        parts = []
        if self.too_new:
            parts.append("requests prefixed with a version above 1.14")
        if self.asserted:
            parts.append("where the suite asserts it")
        if self.websocket:
            parts.append("websocket attach answered 101")
        if self.statuses != "any":
            parts.append({"success": "success answers", "error": "error answers", "no-body": "204 and 304",
                          "hijack": "hijacked answers (101/200)"}[self.statuses])
        if self.kinds:
            parts.append("bodies of kind " + "/".join(sorted(k.value for k in self.kinds)))
        if self.endpoints:
            parts.append("on " + ", ".join(sorted(self.endpoints)))
        if not self.routed:
            parts.append("every exchange")
        return "; ".join(parts) or "every answer on a v1.14 route"

    def __call__(self, record: dict) -> bool:
        """Whether the rule judged this exchange record (`status`, `endpoint`, `target`, `asserted`)."""
        from ..spec import RULEBOOK, compare_versions

        status, ep_id = record.get("status"), record.get("endpoint")
        if status is None:
            return False
        if self.too_new:
            version, _ = RULEBOOK.split_version(record.get("target", "").split("?", 1)[0])
            return version is not None and compare_versions(version, "1.14") > 0
        if self.asserted:
            return False  # the caller checks `asserted` against the record's list
        if ep_id is None:
            return not self.routed
        if self.endpoints and ep_id not in self.endpoints:
            return False
        ep = RULEBOOK[ep_id]
        if self.websocket:
            return ep.websocket and status == 101
        ok = status < 400
        if self.statuses == "success" and not ok:
            return False
        if self.statuses == "error" and ok:
            return False
        if self.statuses == "no-body" and status not in (204, 304):
            return False
        if self.statuses == "hijack" and not (ep.hijacked and status in (101, 200)):
            return False
        if self.kinds and not ({r.kind for r in ep.responses if r.status == status} & self.kinds):
            return False
        return True


ALWAYS = Applies()


class Hit(NamedTuple):
    """What a check found: the rule it broke and how; the checker turns it into a Finding."""

    rule: str
    message: str
    where: str = ""
    evidence: bytes | str = ""


def hit(rule_id: str, message: str, where: str = "", evidence: bytes | str = "") -> Hit:
    # (an unknown id raises where the checker makes the Finding from it, in the same call)
    return Hit(rule_id, message, where, evidence)


@dataclass(frozen=True)
class Check:
    """A named check function: which rules it raises, and (for head/end checks) at which phase it runs."""

    name: str
    rules: tuple[str, ...]
    phase: Phase | None  # None: a scanner method, called by its stream, not by the checker's phases
    fn: Callable
    when: Callable | None = None  # precondition on the exchange, beside the check (Schemathesis-style)

    @property
    def where(self) -> str:
        fn = inspect.unwrap(self.fn)
        file = inspect.getsourcefile(fn) or "?"
        line = inspect.getsourcelines(fn)[1]
        return f"{_rel(file)}:{line}"


class Registry:
    """Rules by id, in declaration order, and the checks registered for them."""

    def __init__(self) -> None:
        self._rules: dict[str, Rule] = {}
        self._declared_at: dict[str, str] = {}
        self._checks: list[Check] = []
        self._by_phase: dict[Phase, tuple[Check, ...]] = {}

    # -- declaring ----------------------------------------------------------------------------
    def declare(self, rule_id: str, severity: Severity, statement: str, source: str, *, family: str,
                side: Side, applies: Applies = ALWAYS, aspect: str | None = None) -> Rule:
        if rule_id in self._rules:
            raise ValueError(f"rule {rule_id!r} declared twice")
        frame = sys._getframe(2)  # the family module's `rule(...)` line (inspect.stack() reads sources: slow)
        self._declared_at[rule_id] = f"{_rel(frame.f_code.co_filename)}:{frame.f_lineno}"
        r = Rule(rule_id, severity, statement, aspect or family, source, family=family, side=side.value,
                 applies=applies)
        self._rules[rule_id] = r
        return r

    def register(self, check: Check) -> None:
        for rid in check.rules:
            if rid not in self._rules:
                raise KeyError(f"check {check.name} raises undeclared rule {rid!r}")
        self._checks.append(check)
        self._by_phase.clear()

    # -- reading ------------------------------------------------------------------------------
    def __getitem__(self, rule_id: str) -> Rule:
        try:
            return self._rules[rule_id]
        except KeyError:
            raise KeyError(f"unknown rule id {rule_id!r}") from None

    def __contains__(self, rule_id: object) -> bool:
        return rule_id in self._rules

    @property
    def rules(self) -> dict[str, Rule]:
        return self._rules

    def checks(self, phase: Phase) -> tuple[Check, ...]:
        cached = self._by_phase.get(phase)
        if cached is None:
            cached = self._by_phase[phase] = tuple(c for c in self._checks if c.phase is phase)
        return cached

    def checks_for(self, rule_id: str) -> list[Check]:
        _load_raisers()
        return [c for c in self._checks if rule_id in c.rules]

    def where(self, rule_id: str) -> dict:
        """Where the rule is declared and where the code that raises it is."""
        self[rule_id]
        return {"declared": self._declared_at[rule_id],
                "checks": [{"name": c.name, "phase": c.phase.value if c.phase else "scanner", "at": c.where}
                           for c in self.checks_for(rule_id)]}


REGISTRY = Registry()

# the modules whose scanners carry @raises (the checker's own checks register when conformance.rules loads)
_RAISERS = ("conformance.frames", "conformance.streams.body", "conformance.proxy.relay", "conformance.proxy.session")


def _load_raisers() -> None:
    import importlib

    for name in _RAISERS:
        importlib.import_module(name)


def declare(family: str, side: Side):
    """A declaring function bound to one family module: `rule = declare("frame", Side.DAEMON)`."""

    def rule(rule_id: str, severity: Severity, statement: str, source: str, *,
             applies: Applies = ALWAYS, aspect: str | None = None, side_: Side | None = None) -> Rule:
        return REGISTRY.declare(rule_id, severity, statement, source, family=family, side=side_ or side,
                                applies=applies, aspect=aspect)

    return rule


def check(*rule_ids: str, phase: Phase, when: Callable | None = None):
    """Register a check function run by the checker at `phase`; it yields `Hit`s of `rule_ids`."""

    def wrap(fn: Callable[..., Iterable[Hit]]):
        REGISTRY.register(Check(fn.__qualname__, rule_ids, phase, fn, when))
        return fn

    return wrap


def raises(*rule_ids: str):
    """Mark a scanner method as the code that raises `rule_ids` (so `rules --where` finds it)."""

    def wrap(fn: Callable):
        REGISTRY.register(Check(f"{fn.__module__.rsplit('.', 1)[-1]}.{fn.__qualname__}", rule_ids, None, fn))
        return fn

    return wrap


def _rel(path: str) -> str:
    import os

    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    path = os.path.abspath(path)
    return os.path.relpath(path, root) if path.startswith(root + os.sep) else path
