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
     "A JSON response body has the shape v1.14 gives it: the keys the doc's example shows and 1.2.0 sends are "
     "present, with 1.2.0's types.",
     "doc; notes §2", applies=OK_JSON)
rule("v114.json.field-missing", WARN,
     "A field 1.2.0 sends, though the doc's example does not show it, is present (inspect's ExecDriver and "
     "VolumesRW, /info's InitSha1, ...).",
     "notes §2, §5; 1.2.0 source", applies=OK_JSON)
rule("v114.json.null-list", WARN,
     "Lists are `[]` when empty, not `null` (20.10's changes returns null).",
     "notes §2 changes", applies=Applies(statuses="success", kinds=frozenset({BodyKind.JSON_LIST})))
rule("v114.json.extra-field", INFO,
     "Response objects hold no keys beyond the v1.14 shape (later daemons add fields).",
     "notes §6", applies=OK_JSON)
rule("v114.json.type-drift", WARN,
     "Fields keep their 1.2.0 JSON types where the doc shows another or none (/info's Debug, MemoryLimit, "
     "SwapLimit and IPv4Forwarding are 0/1 integers, not booleans).",
     "notes §0.5, §2 info, §5", applies=OK_JSON)
rule("v114.json.id-format", WARN,
     "Container and image ids (container inspect's `Image` too) are 64 lower-case hex digits, no `sha256:` prefix.",
     "notes §2, §6.2", applies=OK_JSON)
rule("v114.json.empty-as-null", WARN,
     "Lists 1.2.0 builds with `SetList(nil)` are `null` when empty, not `[]` (create's `Warnings`; 20.10 sends "
     "`[]`, as the doc's example does).",
     "notes §0.5, §2 create, §5.1, §6.2",
     applies=Applies(statuses="success", endpoints=frozenset({"containers.create"})))
rule("v114.json.query-field", ERR,
     "Fields a query parameter asks for are there: with `size=1`, every container of the list has `SizeRw` and "
     "`SizeRootFs`.",
     "doc List containers; notes §2 containers/json",
     applies=Applies(statuses="success", endpoints=frozenset({"containers.list"})))
rule("v114.json.api-version", WARN,
     "/version reports ApiVersion 1.14.",
     "notes §2 version", applies=Applies(statuses="success", endpoints=frozenset({"system.version"})))
