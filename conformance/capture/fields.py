"""Recorded fields read back alike from flow metadata and HAR extensions: who cut an exchange, the
findings the carrier saw, pacing pieces. Declared once here; `flowmeta.py` and `har.py` use them."""

from __future__ import annotations

from .exchange import recorded_finding, seen_on_the_wire

__all__ = ["cut_by", "pieces", "wire_findings"]

# How captures without a "cut" field word an exchange ended by someone other than the daemon (lower
# case): mitmproxy's flow errors ("Client disconnected.", "Connection killed."), the addon's and the
# relay's ("client disconnected", "cut by the proxy (shutting down)").
_CUT_WORDS = {
    "client": ("client disconnected", "client closed", "cut by the client"),
    "proxy": ("connection killed", "cut by the proxy"),
}


def cut_by(error: str | None) -> str | None:
    """"client" or "proxy" when a recorded error says that side ended the exchange; None otherwise."""
    if not error:
        return None
    text = error.lower()
    return next((who for who, words in _CUT_WORDS.items() if any(w in text for w in words)), None)


def wire_findings(found: list) -> list:
    """Recorded finding dicts for the rules only the carrier sees (`seen_on_the_wire`), as Findings."""
    out = []
    for d in found:
        if isinstance(d, dict) and seen_on_the_wire(d.get("rule")):
            f = recorded_finding(d)
            if f is not None:
                out.append(f)
    return out


def pieces(marks: object) -> list[tuple[float, int]] | None:
    """Recorded `[[offset, nbytes], ...]` as (offset, nbytes) pairs, or None when malformed."""
    if not isinstance(marks, (list, tuple)) or not marks:
        return None
    out = []
    for mark in marks:
        if not (isinstance(mark, (list, tuple)) and len(mark) == 2 and isinstance(mark[0], (int, float))
                and isinstance(mark[1], int) and not isinstance(mark[1], bool) and mark[1] > 0):
            return None
        out.append((max(0.0, float(mark[0])), mark[1]))
    return out


def covering(marks: list[tuple[float, int]] | None, total: int) -> list[tuple[float, int]] | None:
    """`marks` if they cover exactly `total` bytes, else None (pacing for other bytes is no pacing)."""
    return marks if marks is not None and sum(n for _, n in marks) == total else None
