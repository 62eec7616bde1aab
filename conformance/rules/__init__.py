"""The v1.14 rules as a registry of named checks: one module per family, one hop from id to code.

`RULES` maps every stable rule id to its `Rule` (severity, statement, source, family, side, when it
applies); `REGISTRY.where(id)` names the file and line that declare it and the checks that raise it
(`conformance rules --where ID`). The checker runs the registered checks at their phase.
"""

from __future__ import annotations

from ..spec.model import Rule

# the families, in the catalogue's order; importing one declares its rules and registers its checks
from . import (  # noqa: E402,F401  # noqa: E402,F401
    body,
    checker,
    content_type,
    error,
    events,
    frame,
    header,
    hijack,
    http,
    json,
    jsonmessage,
    outcome,
    param,
    request,
    route,
    status,
    tar,
)
from .registry import REGISTRY, Applies, Check, Hit, Phase, Side, check, hit, raises

RULES: dict[str, Rule] = REGISTRY.rules


def rule(rule_id: str) -> Rule:
    """The rule with this id; KeyError names the id when it is not in the catalogue."""
    return REGISTRY[rule_id]


def judges(r: Rule, record: dict) -> bool:
    """Whether daemon-side rule `r` judged this exchange record (a clean exchange then counts as a pass)."""
    applies: Applies = r.applies or Applies()
    if applies.asserted:
        return record.get("status") is not None and r.id in (record.get("asserted") or [])
    return applies(record)


__all__ = ["RULES", "REGISTRY", "Rule", "Applies", "Check", "Hit", "Phase", "Side", "check", "hit", "raises",
           "rule", "judges"]
