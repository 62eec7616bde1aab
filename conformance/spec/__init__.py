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
from .rules import RULES, rule

RULEBOOK = RuleBook(ENDPOINTS, LATER_ROUTES)

__all__ = [
    "API_VERSION", "RULEBOOK", "RULES", "ENDPOINTS", "LATER_ROUTES", "RouteMatch", "RuleBook",
    "compare_versions", "rule", "BodyField", "BodyKind", "Cause", "Endpoint", "Erratum", "FieldType", "LaterRoute",
    "Outcome", "Param", "ParamKind", "RequestBody", "Response", "Rule", "Severity",
]
