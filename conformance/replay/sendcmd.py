"""`conformance replay send CAPTURE --daemon URL [--report DIR]`: re-send a capture, report what differs.

The recorded requests go to the daemon (`send.Sender`: recorded order and concurrency, ids remapped);
each answer is compared with the recorded one (`diff.compare`) and both sides are judged by the checker
(one checker per side, fed in recorded order, so TTY knowledge carries over as it did live).

With `--report DIR` it writes:
- `replay.json`: per exchange the request (as recorded and as sent), both statuses, the differences and
  the checker's rule ids for both sides; a summary;
- `replay.md` and `replay.html`: the same for people;
- `answers.har`: the new daemon's exchanges as a capture (`conformance check`, `replay serve` and
  `replay send` read it), secrets redacted.
Every text written goes through the redaction of `capture.redact`; registry credentials kept by a
`--no-redact` recording are sent to the daemon but never written.

Exit status: 0 when no exchange has a major difference (`--fail-on` changes that), 1 when some have,
2 when the capture cannot be read or the daemon cannot be reached.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from .. import __version__
from ..capture import CaptureError, RecordedExchange, check_exchanges, load_capture
from ..capture.redact import redact
from ..daemonurl import DaemonURLError, default_upstream, parse_daemon_url
from ..findings import Finding
from .diff import Difference, compare
from .send import Sender


def register(rsub: argparse._SubParsersAction) -> None:
    s = rsub.add_parser(
        "send", help="re-send a capture's requests to a daemon and report how its answers differ",
        description="Re-issue the recorded requests to DAEMON (in recorded order and concurrency, with "
                    "the ids the new daemon assigns) and report, exchange by exchange, how its answers "
                    "differ from the recording, with the checker's findings for both. The daemon's state "
                    "changes as the recorded client changed it (containers created, removed...).")
    s.add_argument("capture", metavar="CAPTURE", help="mitmproxy flow file or HAR file")
    s.add_argument("--daemon", metavar="URL", default=None,
                   help="unix:///path or tcp://host:port (default: $DOCKER_HOST, else the standard socket)")
    s.add_argument("--report", metavar="DIR", help="write replay.json, replay.md, replay.html and answers.har here")
    s.add_argument("--timeout", type=float, default=30.0, metavar="S",
                   help="longest wait for one answer (default 30)")
    s.add_argument("--grace", type=float, default=1.0, metavar="S",
                   help="how long a stream that the recorded client ended stays open after the exchanges "
                        "that ran beside it are done (default 1)")
    s.add_argument("--fail-on", choices=("major", "any", "never"), default="major",
                   help="which differences make the exit status 1 (default: major)")
    s.add_argument("-q", "--quiet", action="store_true", help="print the summary only")
    s.set_defaults(func=run_send)


def _finding_dict(f: Finding) -> dict:
    return {"rule": f.rule, "severity": f.severity.value, "side": f.side,
            "message": f.message}


def build_comparison(recorded: list[RecordedExchange], answers: list[RecordedExchange], *, capture: str,
                     daemon: str) -> dict:
    """The report: per exchange differences and findings for both sides, and a summary."""
    judged_rec = check_exchanges(recorded)
    judged_now = check_exchanges([a for a in answers if a.status is not None])
    now_findings = {ex.id: found for ex, found, _ in judged_now}
    rows = []
    kinds: Counter = Counter()
    rules_gained: Counter = Counter()
    rules_lost: Counter = Counter()
    for (rec, rec_found, _note), now in zip(judged_rec, answers, strict=True):
        diffs = compare(rec, now)
        found = now_findings.get(now.id, [])
        rec_rules = sorted({f.rule for f in rec_found})
        now_rules = sorted({f.rule for f in found})
        rules_gained.update(set(now_rules) - set(rec_rules))
        rules_lost.update(set(rec_rules) - set(now_rules))
        kinds.update(d.kind for d in diffs)
        scrub = redact(rec.target, rec.request_headers, rec.request_body).scrub
        rows.append({
            "id": rec.id,
            "method": rec.method,
            "target": scrub(rec.target),
            "sent_target": scrub(now.target),
            "recorded": {"status": rec.status, "error": rec.error, "content_type": rec.response_header("content-type")},
            "now": {"status": now.status, "error": scrub(now.error) if now.error else None,
                    "content_type": now.response_header("content-type"),
                    "seconds": round(now.ended - now.started, 3) if now.started and now.ended else None},
            "differences": [d.to_dict() for d in diffs],
            "major": any(d.major for d in diffs),
            "findings": {"recorded": [_finding_dict(f) for f in rec_found],
                         "now": [_finding_dict(f) for f in found]},
            "rules": {"only_recorded": sorted(set(rec_rules) - set(now_rules)),
                      "only_now": sorted(set(now_rules) - set(rec_rules))},
        })
    summary = {
        "exchanges": len(rows),
        "same": sum(1 for r in rows if not r["differences"]),
        "minor_only": sum(1 for r in rows if r["differences"] and not r["major"]),
        "major": sum(1 for r in rows if r["major"]),
        "not_answered": sum(1 for r in rows if r["now"]["status"] is None),
        "status_changed": sum(1 for r in rows if any(d["kind"] == "status" for d in r["differences"])),
        "difference_kinds": dict(sorted(kinds.items())),
        "rules_only_now": dict(sorted(rules_gained.items())),
        "rules_only_recorded": dict(sorted(rules_lost.items())),
    }
    return {
        "tool": {"name": "conformance replay send", "version": __version__},
        "capture": capture,
        "daemon": daemon,
        "generated": datetime.now(UTC).isoformat(timespec="seconds"),
        "summary": summary,
        "exchanges": rows,
    }


def _md_cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_markdown(report: dict) -> str:
    s = report["summary"]
    lines = [
        "# Replay comparison",
        "",
        f"- Capture: `{report['capture']}`",
        f"- Daemon: `{report['daemon']}`",
        f"- Generated: {report['generated']} by {report['tool']['name']} {report['tool']['version']}",
        "",
        f"**{s['exchanges']} exchanges**: {s['same']} answered alike, {s['minor_only']} with minor "
        f"differences only, {s['major']} with major differences ({s['status_changed']} changed status, "
        f"{s['not_answered']} not answered).",
        "",
    ]
    if s["rules_only_now"] or s["rules_only_recorded"]:
        lines += ["| Rule | Exchanges broken only now | Exchanges broken only in the recording |",
                  "|---|---|---|"]
        for rule in sorted(set(s["rules_only_now"]) | set(s["rules_only_recorded"])):
            lines.append(f"| `{rule}` | {s['rules_only_now'].get(rule, 0)} | "
                         f"{s['rules_only_recorded'].get(rule, 0)} |")
        lines.append("")
    lines += ["| # | Request | Recorded | Now | Differences |", "|---|---|---|---|---|"]
    for r in report["exchanges"]:
        n = len(r["differences"])
        mark = f"{n} ({sum(d['major'] for d in r['differences'])} major)" if n else "none"
        lines.append(f"| {r['id']} | `{_md_cell(r['method'] + ' ' + r['target'])}` | "
                     f"{r['recorded']['status'] or '-'} | {r['now']['status'] or '-'} | {mark} |")
    for r in report["exchanges"]:
        if not r["differences"] and not r["rules"]["only_now"] and not r["rules"]["only_recorded"]:
            continue
        lines += ["", f"## #{r['id']} {_md_cell(r['method'])} `{_md_cell(r['target'])}`", ""]
        if r["sent_target"] != r["target"]:
            lines += [f"Sent as `{_md_cell(r['sent_target'])}`.", ""]
        if r["now"]["error"]:
            lines += [f"Note: {_md_cell(r['now']['error'])}", ""]
        if r["differences"]:
            lines += ["| | Kind | Where | Recorded | Now |", "|---|---|---|---|---|"]
            for d in r["differences"]:
                lines.append(f"| {'major' if d['major'] else 'minor'} | {d['kind']} | `{_md_cell(d['where'])}` | "
                             f"{_md_cell(d['recorded'])} | {_md_cell(d['now'])} |")
        for side, label in (("only_now", "Rules broken only now"), ("only_recorded",
                                                                     "Rules broken only in the recording")):
            if r["rules"][side]:
                lines += ["", f"{label}: " + ", ".join(f"`{rule}`" for rule in r["rules"][side])]
    return "\n".join(lines) + "\n"


def write_report(report: dict, answers: list[RecordedExchange], directory: Path) -> list[Path]:
    from ..capture.har import har_document
    from ..report.html import render_replay_html

    directory.mkdir(parents=True, exist_ok=True)
    har = har_document(answers, redact_secrets=True,
                       comment=f"answers of {report['daemon']} to {report['capture']}, by conformance replay send")
    out = []
    for name, text in (("replay.json", json.dumps(report, indent=1) + "\n"),
                       ("replay.md", render_markdown(report)),
                       ("replay.html", render_replay_html(report)),
                       ("answers.har", json.dumps(har, indent=1, ensure_ascii=False) + "\n")):
        path = directory / name
        path.write_text(text, encoding="utf-8")
        out.append(path)
    return out


def _print(report: dict, quiet: bool) -> None:
    if not quiet:
        for r in report["exchanges"]:
            status = f"{r['recorded']['status'] or '-'} -> {r['now']['status'] or '-'}"
            print(f"#{r['id']:<4} {r['method']:<6} {r['target'][:70]:<70} {status}")
            for d in r["differences"]:
                print("      " + Difference(**d).line())
            if r["rules"]["only_now"]:
                print("      rules broken only now: " + ", ".join(r["rules"]["only_now"]))
    s = report["summary"]
    print(f"{s['exchanges']} exchange(s): {s['same']} alike, {s['minor_only']} minor differences only, "
          f"{s['major']} major ({s['status_changed']} changed status, {s['not_answered']} not answered)")


@contextlib.contextmanager
def _progress(total: int, show: bool):
    """A rich bar on stderr (a terminal only) advanced once per answered exchange; yields the callback."""
    if not show:
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("[bold]replay send[/]"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TextColumn("{task.fields[last]}", markup=False), console=Console(stderr=True),
                  transient=True) as bar:
        task = bar.add_task("exchanges", total=total, last="")
        yield lambda answer: bar.update(task, advance=1, last=f"{answer.method} {answer.target}"[:60])


def run_send(args: argparse.Namespace) -> int:
    try:
        recorded = load_capture(args.capture)
        url = parse_daemon_url(args.daemon or default_upstream())
    except (CaptureError, DaemonURLError) as exc:
        print(f"conformance replay send: {exc}", file=sys.stderr)
        return 2
    from ..suite.reach import cannot_connect

    if reason := cannot_connect(url, ping=False):  # no request of ours among the replayed ones
        print(f"conformance replay send: {reason}", file=sys.stderr)
        return 2
    try:
        with _progress(len(recorded), not args.quiet and sys.stderr.isatty()) as advance:
            answers = asyncio.run(Sender(url, timeout=args.timeout, grace=args.grace, on_answer=advance).run(recorded))
    except OSError as exc:  # pragma: no cover - Sender reports per exchange; this is a setup failure
        print(f"conformance replay send: {url}: {exc}", file=sys.stderr)
        return 2
    if recorded and all(a.status is None and a.error and "not sent" not in a.error for a in answers):
        print(f"conformance replay send: {url}: no exchange was answered ({answers[0].error})", file=sys.stderr)
        return 2
    report = build_comparison(recorded, answers, capture=str(args.capture), daemon=str(url))
    _print(report, args.quiet)
    if args.report:
        for path in write_report(report, answers, Path(args.report)):
            print(f"wrote {path}", file=sys.stderr)
    s = report["summary"]
    if args.fail_on == "never":
        return 0
    if args.fail_on == "any":
        return 1 if s["exchanges"] - s["same"] else 0
    return 1 if s["major"] else 0
