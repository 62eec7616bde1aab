"""`conformance check CAPTURE...`: judge recorded traffic offline.

Exchanges are numbered as the capture numbers them: a `conformance proxy --record` file (and its HAR
export) keeps the id the proxy logged, so a finding here is found under the same id in the JSONL
log. Targets and findings are printed redacted (`capture.redact`).
"""

from __future__ import annotations

import argparse
import json
import sys

from ..capture import CaptureError, check_exchanges, load_capture
from ..checker import Checker, Limits
from ..spec import Severity


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("check", help="check captured traffic (mitmproxy flows or HAR) against v1.14",
                       description="Run every exchange of each capture through the checker. Exit 1 when "
                                   "an error finding remains, 0 otherwise.")
    p.add_argument("captures", nargs="+", metavar="CAPTURE", help="mitmproxy flow file or HAR file")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("--ignore", action="append", default=[], metavar="RULE",
                   help="rule id (or glob such as 'v114.json.*') to leave out; repeatable")
    p.add_argument("--min-severity", choices=("info", "warning", "error"), default="info",
                   help="print findings of this severity and above (text format)")
    p.add_argument("--max-body", type=int, default=Limits().max_buffer, metavar="BYTES",
                   help="buffer JSON bodies up to this size for validation")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    worst_error = False
    floor = Severity(args.min_severity).rank
    for path in args.captures:
        try:
            exchanges = load_capture(path)
        except CaptureError as exc:
            print(f"conformance check: {exc}", file=sys.stderr)
            return 2
        checker = Checker(ignore=args.ignore, limits=Limits(max_buffer=args.max_body))
        results = check_exchanges(exchanges, checker)
        if args.format == "text" and len(args.captures) > 1:
            print(f"== {path}")
        for ex, findings, note in results:
            worst_error |= any(f.severity is Severity.ERROR for f in findings)
            target = ex.redacted.target
            if args.format == "json":
                print(json.dumps({"id": ex.id, "capture": str(path), "method": ex.method, "path": target,
                                  "status": ex.status, "note": note,
                                  "findings": [f.to_dict() for f in findings]}))
                continue
            shown = [f for f in findings if f.severity.rank >= floor]
            mark = "ok" if not shown else max(shown, key=lambda f: f.severity.rank).severity.value
            print(f"#{ex.id} {ex.method} {target} -> {ex.status if ex.status is not None else '-'}  [{mark}]"
                  + (f"  ({note})" if note else ""))
            for f in shown:
                print(f"    {f.severity.value:<7} {f.rule:<30} {f.message}"
                      + (f"  @{f.where}" if f.where else ""))
                if f.evidence:
                    print(f"            evidence: {f.evidence}")
        if args.format == "text":
            counts = {s: sum(1 for _, fs, _ in results for f in fs if f.severity is s) for s in Severity}
            cut = {who: sum(1 for ex, _, _ in results if ex.cut == who) for who in ("client", "proxy")}
            ended = "".join(f", {n} cut by the {who}" for who, n in cut.items() if n)
            print(f"{len(results)} exchange(s): {counts[Severity.ERROR]} error, {counts[Severity.WARNING]} "
                  f"warning, {counts[Severity.INFO]} info{ended}")
    return 1 if worst_error else 0
