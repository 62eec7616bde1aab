"""JSON response bodies (notes §0.5); scanned by conformance/streams/body.py (JSONBodyCheck)."""

from __future__ import annotations

from ..spec.model import BodyKind, Severity
from .registry import Applies, Side, declare

ERR, WARN, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO
rule = declare("json", Side.DAEMON)
OK_JSON = Applies(statuses="success", kinds=frozenset({BodyKind.JSON_OBJECT, BodyKind.JSON_LIST}))

rule("v114.json.invalid", ERR,
     "A JSON response body parses as JSON.",
     "doc", applies=OK_JSON)
rule("v114.json.schema", ERR,
     "A JSON response body has the shape v1.14 gives it (required keys, types).",
     "doc; notes §2", applies=OK_JSON)
rule("v114.json.null-list", WARN,
     "Lists are `[]` when empty, not `null` (20.10's changes returns null).",
     "notes §2 changes", applies=Applies(statuses="success", kinds=frozenset({BodyKind.JSON_LIST})))
rule("v114.json.extra-field", INFO,
     "Response objects hold no keys beyond the v1.14 shape (later daemons add fields).",
     "notes §6", applies=OK_JSON)
rule("v114.json.type-drift", WARN,
     "Fields keep their 1.2.0 JSON types (/info's Debug, MemoryLimit, SwapLimit and IPv4Forwarding are 0/1 "
     "integers, not booleans).",
     "notes §0.5, §2 info", applies=OK_JSON)
rule("v114.json.id-format", WARN,
     "Container and image ids are 64 lower-case hex digits, no `sha256:` prefix.",
     "notes §2", applies=OK_JSON)
rule("v114.json.api-version", WARN,
     "/version reports ApiVersion 1.14.",
     "notes §2 version", applies=Applies(statuses="success", endpoints=frozenset({"system.version"})))
