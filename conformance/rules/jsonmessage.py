"""JSON-message streams of pull, push, import and build (notes §3.4); scanned by conformance/streams/body.py."""

from __future__ import annotations

from ..spec.model import BodyKind, Severity
from .registry import Applies, Side, declare

ERR, WARN = Severity.ERROR, Severity.WARNING
rule = declare("jsonmessage", Side.DAEMON)
OK_MESSAGES = Applies(statuses="success", kinds=frozenset({BodyKind.JSON_MESSAGES}))

rule("v114.jsonmessage.invalid", ERR,
     "A JSON-message stream is a sequence of JSON objects.",
     "notes §3.4", applies=OK_MESSAGES, aspect="stream")
rule("v114.jsonmessage.field", WARN,
     "JSON messages use only the v1.14 keys (stream, status, progressDetail, progress, id, from, time, "
     "errorDetail, error).",
     "notes §3.4", applies=OK_MESSAGES, aspect="stream")
rule("v114.jsonmessage.error-form", ERR,
     "An in-band error carries both `error` (string) and `errorDetail` (object with `message`).",
     "notes §3.4", applies=OK_MESSAGES, aspect="stream")
rule("v114.jsonmessage.truncated", ERR,
     "A JSON-message stream ends at an object boundary.",
     "notes §3.4", applies=OK_MESSAGES, aspect="stream")
