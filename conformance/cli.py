"""The `conformance` command: parses arguments and hands each subcommand to its module.

Each subcommand lives in the module that owns the concept and exposes `register(subparsers)`,
which adds its parser and sets `func` (args -> exit code). Modules are imported only when listed
here, so a broken optional part never stops `conformance rules` from working.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# module path -> subcommands it registers
_COMMANDS = (
    "conformance.commands.rules",
    "conformance.commands.check",
    "conformance.commands.export",
    "conformance.daemon.command",
    "conformance.proxy.command",
    "conformance.suite.command",
    "conformance.replay.command",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="conformance",
        description="Docker Remote API v1.14 conformance: rule book, checker, proxy, reference daemon.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module_name in _COMMANDS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and module_name.startswith(exc.name):
                continue  # that part of the toolkit is not built yet
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        sys.stderr.close()
        return 0
