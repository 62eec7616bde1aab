"""The v1.14 rule book as data: endpoints, rules, schemas, errata."""

from .book import API_VERSION, RouteMatch, RuleBook, compare_versions
from .endpoints import ENDPOINTS, LATER_ROUTES
from .model import (
    BodyField,
    BodyKind,
    Cause,
    Endpoint,
    Erratum,
    FieldType,
    LaterRoute,
    Outcome,
    Param,
    ParamKind,
    RequestBody,
    Response,
    Rule,
    Severity,
)

RULEBOOK = RuleBook(ENDPOINTS, LATER_ROUTES)

__all__ = [
    "API_VERSION", "RULEBOOK", "RULES", "ENDPOINTS", "LATER_ROUTES", "RouteMatch", "RuleBook",
    "compare_versions", "rule", "BodyField", "BodyKind", "Cause", "Endpoint", "Erratum", "FieldType", "LaterRoute",
    "Outcome", "Param", "ParamKind", "RequestBody", "Response", "Rule", "Severity",
]


def __getattr__(name: str):
    # the rule catalogue lives in conformance.rules (a registry of named checks, which itself reads the
    # rule book); it is offered here too, lazily, so `from conformance.spec import RULES` keeps working
    if name in ("RULES", "rule"):
        from .. import rules

        return getattr(rules, name)
    raise AttributeError(name)
