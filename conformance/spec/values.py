"""How 1.2.0 reads query-parameter values (notes §0.3): rule-book data, shared by the checker and the daemon."""

from __future__ import annotations

import re

NAME_RE = re.compile(r"^/?[a-zA-Z0-9_.-]+$")
_INT_RE = re.compile(r"[+-]?[0-9]+")
_CANONICAL_BOOLS = {"0", "1", "true", "false"}
_FALSE_BOOLS = {"", "0", "no", "false", "none"}

# Linux signal names 1.2.0's signal table knew (pkg/signal, linux), without the SIG prefix.
SIGNALS = {
    "ABRT": 6, "ALRM": 14, "BUS": 7, "CHLD": 17, "CLD": 17, "CONT": 18, "FPE": 8, "HUP": 1, "ILL": 4,
    "INT": 2, "IO": 29, "IOT": 6, "KILL": 9, "PIPE": 13, "POLL": 29, "PROF": 27, "PWR": 30, "QUIT": 3,
    "SEGV": 11, "STKFLT": 16, "STOP": 19, "SYS": 31, "TERM": 15, "TRAP": 5, "TSTP": 20, "TTIN": 21,
    "TTOU": 22, "UNUSED": 31, "URG": 23, "USR1": 10, "USR2": 12, "VTALRM": 26, "WINCH": 28, "XCPU": 24,
    "XFSZ": 25,
}


def parse_bool(value: str | None) -> bool:
    """Env.GetBool: '', 0, no, false, none (trimmed of spaces and tabs, any case) are false."""
    if value is None:
        return False
    return value.strip(" \t").lower() not in _FALSE_BOOLS


def bool_is_canonical(value: str) -> bool:
    return value.strip(" \t").lower() in _CANONICAL_BOOLS


def int_is_valid(value: str) -> bool:
    """strconv.ParseInt(strings.Trim(v, " \\t"), 10, 64) succeeds."""
    text = value.strip(" \t")
    if not _INT_RE.fullmatch(text):
        return False
    digits = text.lstrip("+-").lstrip("0") or "0"
    return len(digits) <= 19 and -(1 << 63) <= int(text[0] + digits if text[0] in "+-" else digits) < (1 << 63)


def parse_int(value: str | None, default: int = 0) -> int:
    """Env.GetInt64: invalid or absent reads as `default` (0 in 1.2.0)."""
    if value is None or not int_is_valid(value):
        return default
    text = value.strip(" \t")
    return int(text[0] + (text[1:].lstrip("0") or "0") if text[0] in "+-" else text.lstrip("0") or "0")


def signal_number(value: str) -> int | None:
    """The signal a kill `signal` value names, or None when 1.2.0 would refuse it.

    1.2.0 parsed a number of at most 5 bits, else looked the name up with any `SIG` prefix removed,
    case-sensitively: `KILL` and `SIGKILL` work, `kill` does not.
    """
    if value.isascii() and value.isdigit():
        digits = value.lstrip("0") or "0"
        number = int(digits) if len(digits) <= 2 else 0  # more digits: out of 5-bit range
        return number if 1 <= number <= 31 else None
    name = value[3:] if value.startswith("SIG") else value
    return SIGNALS.get(name)


def signal_is_valid(value: str) -> bool:
    return signal_number(value) is not None


def filters_are_valid(value: object) -> bool:
    """filters is map[string][]string."""
    return isinstance(value, dict) and all(
        isinstance(k, str) and isinstance(v, list) and all(isinstance(i, str) for i in v)
        for k, v in value.items())
