"""Go's strconv, as 1.2.0 parsed the numbers it was sent: exact error texts, and never Python's int limits.

Python refuses to convert a decimal string of more than 4300 digits (`sys.int_info.str_digits_check_threshold`);
these functions look at the length first, so no input reaches `int()` unbounded.
"""

from __future__ import annotations

import math
import re

_DIGITS = re.compile(r"[0-9]+")
_INT64 = 1 << 63


class NumError(ValueError):
    """strconv.NumError: `strconv.ParseInt: parsing "x": invalid syntax` (or `value out of range`)."""

    def __init__(self, func: str, text: str, reason: str):
        super().__init__(f"strconv.{func}: parsing {go_quote(text)}: {reason}")
        self.func, self.text, self.reason = func, text, reason

    @property
    def out_of_range(self) -> bool:
        return self.reason == "value out of range"


def go_quote(text: str) -> str:
    """strconv.Quote, close enough for error texts: double quotes, backslash escapes, non-printables as \\x."""
    out = ['"']
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif not ch.isprintable():
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def parse_uint(text: str, bits: int = 64, func: str = "ParseUint") -> int:
    """strconv.ParseUint(text, 10, bits): ASCII digits only, no sign."""
    if not text or not _DIGITS.fullmatch(text):
        raise NumError(func, text, "invalid syntax")
    significant = text.lstrip("0")
    if len(significant) > 20 or (significant and int(significant) >= 1 << bits):
        raise NumError(func, text, "value out of range")
    return int(significant or "0")


def parse_int(text: str, bits: int = 64) -> int:
    """strconv.ParseInt(text, 10, bits): an optional sign, then ASCII digits."""
    body = text[1:] if text[:1] in "+-" else text
    try:
        magnitude = parse_uint(body, 64, "ParseInt")
    except NumError as exc:
        raise NumError("ParseInt", text, exc.reason) from None
    limit = 1 << (bits - 1)
    if (text[:1] == "-" and magnitude > limit) or (text[:1] != "-" and magnitude >= limit):
        raise NumError("ParseInt", text, "value out of range")
    return -magnitude if text[:1] == "-" else magnitude


def atoi(text: str) -> int:
    """strconv.Atoi on 64-bit Go: ParseInt(text, 10, 0); errors name ParseInt, as Go 1.3's did."""
    return parse_int(text, 64)


def float_to_int64(value: float) -> int:
    """Go's int64(f) on amd64: truncation; NaN and anything out of range give math.MinInt64."""
    if math.isnan(value) or math.isinf(value) or not -_INT64 <= value < _INT64:
        return -_INT64
    return int(value)


def format_float_g(value: float) -> str:
    """strconv.FormatFloat(f, 'g', -1, 64) as Go 1.3's encoding/json wrote floats: the shortest digits,
    and an exponent once the decimal exponent is below -4 or at least 6 (so 1000000 is `1e+06`)."""
    if value == 0:
        return "-0" if math.copysign(1, value) < 0 else "0"
    sign = "-" if value < 0 else ""
    mantissa, _, exp_text = f"{abs(value)!r}".partition("e")
    whole, _, frac = mantissa.partition(".")
    digits = (whole + frac).lstrip("0")
    point = len(whole) + (int(exp_text) if exp_text else 0)  # digits before the decimal point
    point -= len(whole + frac) - len((whole + frac).lstrip("0"))
    digits = digits.rstrip("0") or "0"
    exp = point - 1
    if exp < -4 or exp >= 6:
        head = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{sign}{head}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    if point <= 0:
        return f"{sign}0.{'0' * -point}{digits}"
    if point >= len(digits):
        return sign + digits + "0" * (point - len(digits))
    return f"{sign}{digits[:point]}.{digits[point:]}"
