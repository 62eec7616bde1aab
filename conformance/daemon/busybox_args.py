"""Numbers in applet arguments, read as busybox 1.35 reads them (libbb's xatoul_sfx, strtod, durations).

The texts are busybox's: `sleep: invalid number 'nan'`, `number N is not in 0..M range`, and the usage
screen when an argument cannot be read at all.
"""

from __future__ import annotations

import math
import re

ULONG_MAX = (1 << 64) - 1
BANNER = "BusyBox v1.35.0 (Debian 1:1.35.0-4+deb12u1+b1) multi-call binary.\n\n"
USAGE = {
    "sleep": "Usage: sleep [N]...\n\nPause for a time equal to the total of the args given, where each arg can\n"
             "have an optional suffix of (s)econds, (m)inutes, (h)ours, or (d)ays\n",
    "seq": "Usage: seq [-w] [-s SEP] [FIRST [INC]] LAST\n\nPrint numbers from FIRST to LAST, in steps of INC.\n"
           "FIRST, INC default to 1.\n\n\t-w\tPad to last with leading zeros\n\t-s SEP\tString separator\n",
    "head": "Usage: head [OPTIONS] [FILE]...\n\nPrint first 10 lines of FILEs (or stdin).\n"
            "With more than one FILE, precede each with a filename header.\n\n"
            "\t-n N[bkm]\tPrint first N lines\n\t-n -N[bkm]\tPrint all except N last lines\n"
            "\t-c [-]N[bkm]\tPrint first N bytes\n\t\t\t(b:*512 k:*1024 m:*1024^2)\n"
            "\t-q\t\tNever print headers\n\t-v\t\tAlways print headers\n",
}
DURATION_SUFFIXES = {"s": 1, "m": 60, "h": 3600, "d": 86400}
SIZE_SUFFIXES = {"b": 512, "k": 1024, "m": 1024 * 1024}

_STRTOD = re.compile(r"""[ \t\n\v\f\r]*[+-]?(?:
    (?P<inf>inf(?:inity)?) | (?P<nan>nan(?:\([0-9a-z_]*\))?) |
    (?P<hex>0x(?:[0-9a-f]+\.?[0-9a-f]*|\.[0-9a-f]+)(?:p[+-]?[0-9]+)?) |
    (?P<dec>(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:e[+-]?[0-9]+)?))""", re.I | re.X)
_ULONG = re.compile(r"[0-9]+")


class AppletError(Exception):
    """An applet gives up: `message` goes to stderr as `applet: message`, or the usage screen is shown."""

    def __init__(self, message: str = "", *, usage: bool = False):
        super().__init__(message)
        self.message, self.usage = message, usage

    def text(self, applet: str) -> str:
        if self.usage:
            return (f"{applet}: {self.message}\n" if self.message else "") + BANNER + USAGE.get(applet, "")
        return f"{applet}: {self.message}\n"


def xatoul_sfx(text: str, suffixes: dict[str, int] | None = None, upper: int = ULONG_MAX) -> int:
    """xatoul_range_sfx(text, 0, upper, suffixes): decimal digits, an optional suffix from the table."""
    m = _ULONG.match(text)
    if m is None:
        raise AppletError(f"invalid number '{text}'")
    digits, rest = m.group(), text[m.end():]
    significant = digits.lstrip("0") or "0"
    if len(significant) > 20 or int(significant) > ULONG_MAX:
        raise AppletError(f"invalid number '{text}'")  # strtoul's ERANGE
    value = int(significant)
    if rest:
        mult = (suffixes or {}).get(rest)
        if mult is None:
            raise AppletError(f"invalid number '{text}'")
        if value > ULONG_MAX // mult:
            raise AppletError(f"number {text} is not in 0..{upper} range")
        value *= mult
    if value > upper:
        raise AppletError(f"number {text} is not in 0..{upper} range")
    return value


def strtod(text: str) -> tuple[float, str, bool]:
    """C strtod: (value, the unread rest, ERANGE set). No number at all reads as (0.0, text, False)."""
    m = _STRTOD.match(text)
    if m is None:
        return 0.0, text, False
    token = m.group().strip(" \t\n\v\f\r")
    sign = -1.0 if token.startswith("-") else 1.0
    if m.group("inf"):
        return sign * math.inf, text[m.end():], False
    if m.group("nan"):
        return math.nan, text[m.end():], False
    if m.group("hex"):
        body = m.group("hex")
        value = sign * float.fromhex(body if "p" in body.lower() else body + "p0")
    else:
        value = float(token)
    mantissa = m.group("hex") or m.group("dec")
    nonzero = bool(re.search(r"[1-9a-f]", mantissa.lower().split("e")[0].split("p")[0].replace("0x", "")))
    erange = math.isinf(value) or (nonzero and abs(value) < 2.2250738585072014e-308)
    return value, text[m.end():], erange


def parse_duration(text: str) -> float:
    """parse_duration_str with FLOAT_DURATION: `1.5m`, `2d`, `10`; seconds."""
    if "." in text:
        length = len(text) - len(text.lstrip("0123456789."))
        number = text[:length]
        value, rest, erange = strtod(number)
        if erange or rest or not number:
            raise AppletError(usage=True)
        # busybox rewrites the last character of the number to '1' and reads the suffix after it
        return value * xatoul_sfx("1" + text[length:], DURATION_SUFFIXES)
    return float(xatoul_sfx(text, DURATION_SUFFIXES))


def seq_number(text: str) -> float:
    """seq's strtod: the whole argument must be read, with no range error."""
    value, rest, erange = strtod(text)
    if rest or erange or not text:
        raise AppletError(usage=True)
    return value
