"""Finding: one rule broken (or noted) by one exchange, with where and what showed it."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from .spec.model import Severity

EVIDENCE_LIMIT = 200


def clip(data: bytes | str, limit: int = EVIDENCE_LIMIT) -> str:
    """A short printable excerpt of bytes or text for a finding's evidence (control bytes escaped)."""
    if isinstance(data, bytes):
        text = data[:limit].decode("utf-8", "backslashreplace")
    else:
        text = data[:limit]
    text = "".join(c if c.isprintable() or c == " " else _escape(c) for c in text)
    if len(data) > limit:
        text += "…"
    return text


def _escape(char: str) -> str:
    return {"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(char) or f"\\x{ord(char):02x}"


@dataclass(frozen=True)
class Finding:
    """A rule that one exchange broke (or, for info rules, a note about it)."""

    rule: str
    severity: Severity
    message: str
    exchange: str | None = None
    where: str = ""  # "request-line", "param:all", "header:Content-Type", "body@120", "frame#3", "status"
    evidence: str = ""
    side: str = ""  # "request" (what the client sent) or "response" (what the daemon answered)
    count: int = 1  # how many times the exchange broke the rule (one finding per rule and side)

    @classmethod
    def of(cls, rule_id: str, message: str, *, where: str = "", evidence: bytes | str = "",
           exchange: str | None = None) -> Finding:
        """A finding for a catalogued rule; its severity comes from the catalogue."""
        from .rules import REGISTRY

        return cls(rule_id, REGISTRY[rule_id].severity, message, exchange, where, clip(evidence))

    def to_dict(self) -> dict:
        d = asdict(self)
        d["severity"] = self.severity.value
        return d
