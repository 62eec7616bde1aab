"""Multiplexed stdio frames (notes §3.2); decoded by conformance/frames.py."""

from __future__ import annotations

from ..spec.model import BodyKind, Severity
from .registry import Applies, Side, declare

ERR, WARN, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO
rule = declare("frame", Side.DAEMON)
OK_STDIO = Applies(statuses="success", kinds=frozenset({BodyKind.STDIO}))

rule("v114.frame.stream-type", ERR,
     "Frame stream types are 0 (stdin), 1 (stdout) or 2 (stderr); type 3 came later.",
     "notes §3.2", applies=OK_STDIO)
rule("v114.frame.padding", ERR,
     "Bytes 1-3 of a frame header are zero.",
     "notes §3.2", applies=OK_STDIO)
rule("v114.frame.truncated", ERR,
     "A multiplexed stream ends at a frame boundary.",
     "notes §3.2", applies=OK_STDIO)
rule("v114.frame.oversized", WARN,
     "A frame's payload stays under the configured limit.",
     "checker limit", applies=OK_STDIO)
rule("v114.frame.tty-unknown", INFO,
     "The checker knows whether the container has a TTY (raw stream) or not (frames).",
     "notes §3.2", applies=OK_STDIO)
rule("v114.frame.raw-expected", ERR,
     "TTY containers' streams are raw bytes, not frames.",
     "notes §3.2", applies=OK_STDIO)
