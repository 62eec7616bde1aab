"""What one request may cost the reference daemon, and how `conformance serve` spells the limits.

1.2.0 had none of these; past a limit the daemon answers as 1.2.0 answered the nearest failure it knew:
a plain-text 500 (`http: request body too large`, `Error processing tar file: ...`, a Go JSON error).
"""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass

from .gojson import DEFAULT_MAX_DEPTH

MAX_JSON_DEPTH = 512  # deeper than this, Python's own recursion limit could end a decode first
_SIZE = re.compile(r"(?i)\s*([0-9]+)\s*(|b|k|kb|kib|m|mb|mib|g|gb|gib)\s*")
_UNITS = {"": 1, "b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}


@dataclass(frozen=True)
class Limits:
    body: int = 64 << 20  # bytes of one request body
    unpacked: int = 256 << 20  # bytes of one tar once decompressed (import, load, build context)
    json_depth: int = DEFAULT_MAX_DEPTH  # nesting of any JSON value the daemon reads

    def __post_init__(self) -> None:
        if self.body < 1 or self.unpacked < 1:
            raise ValueError("size limits must be at least one byte")
        if not 1 <= self.json_depth <= MAX_JSON_DEPTH:
            raise ValueError(f"the JSON depth limit must be between 1 and {MAX_JSON_DEPTH}")


def parse_size(text: str) -> int:
    """`64M`, `1GiB`, `4096`: a byte count for an option."""
    m = _SIZE.fullmatch(text)
    if not m:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (use e.g. 4096, 512K, 64M, 1G)")
    return int(m.group(1)) * _UNITS[m.group(2)[:1].lower()]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    defaults = Limits()
    group = parser.add_argument_group("limits (what one request may cost)")
    group.add_argument("--max-body", type=parse_size, default=defaults.body, metavar="SIZE",
                       help=f"largest request body (default {defaults.body >> 20}M)")
    group.add_argument("--max-unpacked", type=parse_size, default=defaults.unpacked, metavar="SIZE",
                       help="largest decompressed tar of an import, load or build context "
                            f"(default {defaults.unpacked >> 20}M)")
    group.add_argument("--max-json-depth", type=int, default=defaults.json_depth, metavar="N",
                       help=f"deepest JSON nesting read (default {defaults.json_depth}, at most {MAX_JSON_DEPTH})")


def from_arguments(args: argparse.Namespace) -> Limits:
    return Limits(body=args.max_body, unpacked=args.max_unpacked, json_depth=args.max_json_depth)
