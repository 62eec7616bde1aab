"""`conformance suite` and `conformance report`: run the suite, re-render or compare reports."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "suite", help="run the conformance suite against a daemon and write reports/<target>/",
        description="Run the v1.14 conformance suite (pytest + hypothesis). Without --daemon (and without "
                    "$DOCKER_HOST) it starts the embedded reference daemon on a temporary socket. Writes "
                    "report.json, report.md, report.html and junit.xml. Arguments after `--` go to pytest.")
    p.add_argument("--daemon", metavar="URL", help="unix:///path, tcp://host:port, http://host:port or `reference`")
    p.add_argument("--report", metavar="DIR",
                   help="report directory (default: reports/<target name>, or reports/<name>-2, ... when that "
                        "holds another target's report; a --report holding another target's is refused)")
    p.add_argument("--image", metavar="NAME", help="use this existing image instead of importing a busybox rootfs")
    p.add_argument("--read-only", action="store_true", help="run only the tests that change nothing")
    p.add_argument("--oracle", choices=("reference",), help="also send every request to a fresh embedded "
                   "reference daemon and report where the answers differ")
    p.add_argument("--target-name", help="name of the target in the report (default: detected)")
    p.add_argument("--fail-on", choices=("error", "warning", "never"), default="warning",
                   help="fail a test when its exchanges draw a daemon finding this bad (default: warning)")
    p.add_argument("-n", "--workers", metavar="N", help="run with pytest-xdist (a number or `auto`)")
    p.add_argument("--hypothesis-profile", choices=("conformance", "thorough"), help="hypothesis settings")
    p.add_argument("--no-progress", action="store_true", help="no rich progress display")
    p.add_argument("pytest_args", nargs="*", help="extra pytest arguments (after --)")
    p.set_defaults(func=run_suite)

    r = subparsers.add_parser("report", help="re-render or compare suite reports",
                              description="Work with report.json files written by `conformance suite`.")
    rsub = r.add_subparsers(dest="report_command", required=True, metavar="ACTION")
    c = rsub.add_parser("compare", help="one matrix from several targets' report.json")
    c.add_argument("dirs", nargs="+", metavar="DIR", help="report directories (or report.json files)")
    c.add_argument("--report", "-o", dest="output", metavar="DIR",
                   help="write comparison.md/.html/.json here (default: print)")
    c.add_argument("--output", dest="output", help=argparse.SUPPRESS)  # the flag's older name
    c.set_defaults(func=run_compare)
    g = rsub.add_parser("render", help="rewrite report.md and report.html from a report.json")
    g.add_argument("dir", metavar="DIR")
    g.set_defaults(func=run_render)


# pytest's exit codes -> the command's scheme (0 fine, 1 failures, 2 usage error or unusable input)
_EXIT = {0: 0, 1: 1, 2: 130, 3: 2, 4: 2, 5: 2}


def _target_name(args: argparse.Namespace, choice) -> str:
    from conformance.daemonurl import parse_daemon_url
    from conformance.target import REFERENCE, identify

    if args.target_name:
        return args.target_name
    if choice.is_reference:
        return REFERENCE
    info = identify(parse_daemon_url(choice.spec), False)
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", info.get("name") or "daemon")


def _owner(directory: Path) -> dict | None:
    """The target whose report a directory holds (None: no report there)."""
    try:
        return json.loads((directory / "report.json").read_text(encoding="utf-8")).get("target") or {}
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {}  # something unreadable: not ours to overwrite


def _same_target(owner: dict, name: str, url: str | None) -> bool:
    if owner.get("name") != name:
        return False
    return url is None or owner.get("url") == url  # the reference daemon's socket is new on every run


def report_directory(requested: str | None, name: str, url: str | None, root: Path = Path("reports")) -> Path:
    """Where this run's report goes; never a directory that holds another target's report."""
    if requested:
        directory = Path(requested)
        owner = _owner(directory)
        if owner is not None and not _same_target(owner, name, url):
            raise ValueError(f"{directory} holds the report of another target ({owner.get('name', '?')} at "
                             f"{owner.get('url', '?')}); choose another --report or remove it")
        return directory
    candidate, n = root / name, 2
    while (owner := _owner(candidate)) is not None and not _same_target(owner, name, url):
        candidate, n = root / f"{name}-{n}", n + 1
    return candidate


def run_suite(args: argparse.Namespace) -> int:
    import importlib.util

    from conformance.daemonurl import parse_daemon_url
    from conformance.target import choose_target

    from .reach import cannot_connect

    try:
        choice = choose_target(args.daemon)
    except ValueError as exc:
        print(f"conformance suite: {exc}", file=sys.stderr)
        return 2
    url = None if choice.is_reference else parse_daemon_url(choice.spec)
    if url is not None and (reason := cannot_connect(url)):
        print(f"conformance suite: {reason}", file=sys.stderr)
        return 2
    name = _target_name(args, choice)
    try:
        report_dir = report_directory(args.report, name, None if url is None else str(url))
    except ValueError as exc:
        print(f"conformance suite: {exc}", file=sys.stderr)
        return 2
    report_dir.mkdir(parents=True, exist_ok=True)
    import pytest

    # the plugin module itself is not imported here: pytest must import it to rewrite its asserts
    suite_dir = str(Path(importlib.util.find_spec("conformance.suites.plugin").origin).parent)
    argv = [suite_dir, "--v114-daemon", choice.spec, "--v114-report", str(report_dir), "--v114-target-name", name,
            "--junitxml", str(report_dir / "junit.xml"), "--v114-fail-on", args.fail_on, "-p", "no:cacheprovider",
            "--rootdir", suite_dir, "-c", os.devnull, "-ra",
            # this process imported conformance (and httpx imported anyio) before pytest could mark
            # them for assertion rewriting: expected here, so not worth a warning on every run
            "-W", "ignore:Module already imported so cannot be rewritten:pytest.PytestAssertRewriteWarning"]
    if args.image:
        argv += ["--v114-image", args.image]
    if args.read_only:
        argv.append("--v114-read-only")
    if args.oracle:
        argv += ["--v114-oracle", args.oracle]
    if args.workers:
        argv += ["-n", str(args.workers)]
    if args.hypothesis_profile:
        argv += ["--hypothesis-profile", args.hypothesis_profile]
    if not args.no_progress and sys.stderr.isatty():
        from .progress import SuiteProgress

        with SuiteProgress() as progress:
            code = pytest.main(argv + ["-q", "--tb=short", "--no-header"] + list(args.pytest_args),
                               plugins=[progress])
    else:
        code = pytest.main(argv + ["-q", "--tb=short"] + list(args.pytest_args))
    written = [p for p in ("report.json", "report.md", "report.html", "junit.xml") if (report_dir / p).exists()]
    print(f"report: {report_dir}/ ({', '.join(written)})", file=sys.stderr)
    return _EXIT.get(int(code), 2)


def run_compare(args: argparse.Namespace) -> int:
    from conformance.report import load_report
    from conformance.report.compare import compare_reports, write_comparison

    try:
        reports = [load_report(Path(d)) for d in args.dirs]
    except (OSError, ValueError) as exc:
        print(f"conformance report compare: {exc}", file=sys.stderr)
        return 2
    comparison = compare_reports(reports, sources=args.dirs)
    if args.output:
        for path in write_comparison(comparison, Path(args.output)):
            print(path)
    else:
        from conformance.report.compare import render_comparison_markdown

        sys.stdout.write(render_comparison_markdown(comparison))
    return 0


def run_render(args: argparse.Namespace) -> int:
    from conformance.report import load_report, write_reports

    report = load_report(Path(args.dir))
    directory = Path(args.dir) if Path(args.dir).is_dir() else Path(args.dir).parent
    for path in write_reports(report, directory):
        print(path)
    return 0
