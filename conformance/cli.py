"""The `conformance` command: parses arguments and hands each subcommand to its module.

Each subcommand lives in the module that owns the concept and exposes `register(subparsers)`,
which adds its parser and sets `func` (args -> exit code). Modules are imported only when listed
here, so a broken optional part never stops `conformance rules` from working.

One exit-status scheme for every command, stated in each --help: 0 fine, 1 findings or failures at
the level the command was asked to care about, 2 usage error or unusable input (argparse's own
errors are 2 already; a command returns 2 for a bad address, an unreadable capture, a daemon that
is not there).
"""

from __future__ import annotations

import argparse
import importlib
import sys

from . import __version__

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

# what exit status 1 means, per command path; None: the command draws no findings, so never 1
_ONE_MEANS: dict[str, str | None] = {
    "rules": None,
    "check": "an error finding remains (after --ignore)",
    "export": None,
    "serve": None,
    "proxy": "a finding at the --fail-on level was seen",
    "suite": "a test failed (a daemon finding at the --fail-on level fails its test) or none ran",
    "report compare": None,
    "report render": None,
    "replay serve": None,
    "replay send": "a difference at the --fail-on level",
    "completion": None,
}
_TWO_MEANS = "usage error or unusable input (bad address or file, a daemon that is not there)"


def exit_status_text(command: str) -> str:
    one = _ONE_MEANS.get(command, "findings or failures at the chosen level")
    ones = f"; 1 {one}" if one else " (1 is not used: nothing here draws findings)"
    return f"exit status: 0 fine{ones}; 2 {_TWO_MEANS}."


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:  # argparse keeps no public list of sub-commands
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _finish(parser: argparse.ArgumentParser, path: str = "") -> None:
    """Every command's --help states the exit statuses; file and directory arguments complete as such."""
    import shtab

    for action in parser._actions:
        metavar = str(action.metavar or "")
        if "DIR" in metavar:
            action.complete = shtab.DIRECTORY  # type: ignore[attr-defined]
        elif "FILE" in metavar or "CAPTURE" in metavar:
            action.complete = shtab.FILE  # type: ignore[attr-defined]
    subs = _subparsers(parser)
    if path and not subs and not parser.epilog:
        parser.epilog = exit_status_text(path)
    for name, sub in subs.items():
        _finish(sub, f"{path} {name}".strip())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="conformance",
        description="Docker Remote API v1.14 conformance: rule book, checker, proxy, reference daemon.",
        epilog="exit status (every command): 0 fine; 1 findings or failures at the level the command was asked "
               f"to care about; 2 {_TWO_MEANS}.")
    parser.add_argument("--version", action="version",
                        version=f"conformance {__version__} (Docker Remote API v1.14; Python {sys.version.split()[0]})")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module_name in _COMMANDS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and module_name.startswith(exc.name):
                continue  # that part of the toolkit is not built yet
            raise
        module.register(sub)
    comp = sub.add_parser("completion", help="print a shell completion script (bash, zsh or tcsh)",
                          description="Print the completion script for SHELL, e.g. "
                                      "`conformance completion bash > /etc/bash_completion.d/conformance` or "
                                      "`eval \"$(conformance completion zsh)\"`.")
    comp.add_argument("shell", choices=("bash", "zsh", "tcsh"), metavar="SHELL", help="bash, zsh or tcsh")
    comp.set_defaults(func=lambda args: _print_completion(parser, args.shell))
    _finish(parser)
    return parser


def _print_completion(parser: argparse.ArgumentParser, shell: str) -> int:
    import shtab

    sys.stdout.write(shtab.complete(parser, shell=shell))
    return 0


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
