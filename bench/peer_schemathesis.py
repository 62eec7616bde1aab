"""Schemathesis against `conformance rules --openapi`, on the reference daemon and on dockerd (not CI).

    .venv/bin/python bench/peer_schemathesis.py [--minutes 5] [--targets reference,dockerd]

Each target gets `--minutes` of Schemathesis (examples, fuzzing and stateful phases, every check) and
reports/peer-schemathesis.md lists, per target, the deviation classes found: Schemathesis's failure
codes grouped by who they implicate (the document, the daemon's input handling, the daemon's answers)
with the operations and one example each.

Targets, loopback only:
- reference: the in-memory reference daemon (seeded with busybox) on tcp://127.0.0.1:<free port>;
  every operation is tested (registry and URL fetches are simulated, nothing leaves the process).
- dockerd: $CONFORMANCE_DOCKERD (`source /tmp/daemons.env`), a Unix socket bridged to 127.0.0.1 by
  socat. That daemon is shared with other test runs and reaches the network for pulls, so only
  operations that neither change state nor contact a registry or URL are sent (GET and HEAD, without
  hijacked or websocket routes, without those the rule book marks registry- or URL-bound, without the
  endless streams: events, logs with `follow`).

`run_schemathesis` and `classify` are also what tests/test_openapi.py's bounded smoke run uses.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from conformance.spec import ENDPOINTS, BodyKind, Cause, Severity  # noqa: E402
from conformance.spec.openapi import openapi_document  # noqa: E402

# Failures only the document can cause: the responses it declares (statuses, media types, headers,
# schemas) or what a tool cannot even send from it.
DOCUMENT_CODES = {"ST103", "ST104", "ST105", "ST106", "ST107", "ST108", "ST109", "ST110", "ST111", "ST203", "ST205"}
# The input contract: the document calls a request invalid that the daemon accepted (ST201), or valid one
# it refused (ST202). Through a query or path parameter this is the document's (1.2.0's query parsing is
# fully stated by the rule book's ParamKind); through a body it may be the daemon's decoding.
INPUT_CODES = {"ST201", "ST202"}
DOCUMENT_WARNINGS = {"missing_deserializer", "unsupported_regex", "unresolvable_reference", "validation_mismatch"}
DOCUMENT_ERRORS = ("Serialization not possible", "Invalid schema", "Unresolvable", "Invalid link")
EXPLANATION = {
    "ST101": "5xx answers (1.2.0 answers 500 for unknown resources and bad input)",
    "ST103": "status the document does not declare",
    "ST105": "Content-Type the document does not declare",
    "ST108": "response body the declared schema rejects",
    "ST109": "body that is not the JSON its Content-Type says",
    "ST201": "request the document calls invalid, accepted",
    "ST202": "request the document calls valid, refused",
    "ST204": "undeclared method not answered 405 (1.2.0's router answers 404)",
    "ST301": "resource still served after a successful DELETE",
    "ST302": "404 for a resource a successful POST created",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# Causes a schema-valid request meets without any fault of the document: it names what does not exist.
UNKNOWN_CAUSES = (Cause.UNKNOWN_CONTAINER, Cause.UNKNOWN_IMAGE, Cause.UNKNOWN_PATH)


def unstatable_refusals() -> list[tuple[str, int]]:
    """(operation id, status) of 4xx refusals a schema-valid request may draw that OpenAPI cannot state: a
    missing-parameter cause on a parameter the rule book does not require (logs needs stdout *or* stderr),
    or an unknown resource named in the body (start's VolumesFrom: 406)."""
    out = []
    for ep in ENDPOINTS:
        required = {p.name for p in ep.params if p.required}
        for o in ep.outcomes:
            if not 400 <= o.status < 500 or o.status in (404, 409):  # 404 and 409 pass Schemathesis anyway
                continue
            if (o.cause is Cause.MISSING_PARAMETER and o.when and o.when not in required) or o.cause in UNKNOWN_CAUSES:
                out.append((ep.id, o.status))
    return out


def _label(op_id: str) -> str:
    """Schemathesis's name for an operation: `GET /containers/{id}/logs`."""
    ep = next(ep for ep in ENDPOINTS if ep.id == op_id)
    return f"{ep.method} {ep.path}"


def config_toml() -> str:
    """schemathesis.toml: positive data may draw the refusals the document cannot state."""
    lines = []
    for op_id, status in unstatable_refusals():
        lines += ["[[operations]]", f'include-operation-id = "{op_id}"',
                  'checks.positive_data_acceptance.expected-statuses = '
                  f'["2xx", "3xx", "{status}", "401", "403", "404", "409", "429", "5xx"]', ""]
    return "\n".join(lines)


def peer_safe_operations() -> list[str]:
    """Operations safe to send to a shared real daemon: reads that reach no registry or URL, do not hijack
    and cannot stream without end (events, logs with `follow`: a busy daemon keeps them alive past any
    read timeout)."""
    out = []
    for ep in ENDPOINTS:
        if ep.method not in ("GET", "HEAD") or ep.hijacked or ep.websocket:
            continue
        if any(r.kind is BodyKind.EVENTS for r in ep.responses) or any(p.name == "follow" for p in ep.params):
            continue
        if any(o.cause is Cause.NO_REGISTRY for o in ep.outcomes):
            continue
        if any(p.refers in ("registry", "url") for p in ep.params):
            continue
        out.append(ep.id)
    return out


@dataclass
class Failure:
    code: str
    title: str
    operation: str
    message: str
    mutations: list[dict]
    mode: str  # positive / negative generation
    request: str
    response: str = ""
    rules: tuple[str, ...] = ()  # what the conformance checker says of the same exchange (daemon side)

    @property
    def via_body_only(self) -> bool:
        """Whether only the request body was made invalid. Undeclared query parameters added beside it do
        not count: 1.2.0 ignores query parameters it does not read, and OpenAPI cannot say so."""
        locations = {m.get("parameter_location") for m in self.mutations
                     if not (m.get("parameter_location") == "query" and m.get("keywords") == ["additionalProperties"])}
        return bool(locations) and locations <= {"body"}


@dataclass
class Run:
    """One Schemathesis run, read back from its NDJSON event log and JSON report."""

    failures: list[Failure] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)  # (operation, title)
    warnings: dict[str, list[str]] = field(default_factory=dict)
    attempted: set[str] = field(default_factory=set)  # operations sent at least one request
    statuses: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    linked_statuses: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    links_covered: int = 0
    links_total: int = 0
    cases: int = 0
    seconds: float = 0.0
    exit_code: int = 0
    output: str = ""

    def document_failures(self) -> list[str]:
        """Every failure the document itself causes, as readable lines (empty: none)."""
        out = [f"{f.code} {f.operation}: {f.message.splitlines()[0]}" for f in self.failures
               if f.code in DOCUMENT_CODES]
        out += [f"{f.code} {f.operation}: {' / '.join(f.message.splitlines()[:4])}" for f in self.failures
                if f.code in INPUT_CODES and not f.via_body_only]
        out += [f"error {op}: {title}" for op, title in self.errors if title.startswith(DOCUMENT_ERRORS)]
        unstatable = {_label(op_id) for op_id, _ in unstatable_refusals()}
        for name, ops in self.warnings.items():
            if name in DOCUMENT_WARNINGS:
                # mostly refused valid data: expected where the refusal is one OpenAPI cannot state
                ops = [op for op in ops if not (name == "validation_mismatch" and op in unstatable)]
                if ops:
                    out.append(f"warning {name}: {', '.join(ops)}")
        return out

    def daemon_input_findings(self) -> list[Failure]:
        """Input-contract failures through request bodies only: the daemon's body decoding versus 1.2.0's."""
        return [f for f in self.failures if f.code in INPUT_CODES and f.via_body_only]


def _decode(blob: dict | None) -> str:
    if not blob:
        return ""
    if "$base64" in blob:
        return base64.b64decode(blob["$base64"]).decode("utf-8", "replace")
    return str(blob.get("string", ""))


def _headers(blob: dict) -> list[tuple[str, str]]:
    return [(k, v) for k, values in (blob or {}).items() for v in (values if isinstance(values, list) else [values])]


def judged_rules(inter: dict) -> tuple[str, ...]:
    """The checker's daemon-side rule ids (errors and warnings) for one recorded Schemathesis interaction."""
    from conformance.capture import RecordedExchange, check_exchanges

    req, resp = inter["request"], inter["response"]
    parts = urlsplit(req["uri"])
    body = _decode(req.get("body")).encode() if req.get("body") else None
    ex = RecordedExchange("st", req["method"], parts.path + (f"?{parts.query}" if parts.query else ""),
                          _headers(req.get("headers")), body, resp["status_code"], "",
                          _headers(resp.get("headers")), _decode(resp.get("content")).encode())
    ((_ex, found, _note),) = check_exchanges([ex])
    return tuple(sorted({f.rule for f in found if f.side == "response" and f.severity is not Severity.INFO}))


def _events(path: Path) -> Iterator[tuple[str, dict]]:
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            event = json.loads(line)
            name = next(iter(event))
            yield name, event[name]


def read_run(report_dir: Path) -> Run:
    run = Run()
    ndjson = next(report_dir.glob("*.ndjson"))
    for name, ev in _events(ndjson):
        if name != "ScenarioFinished":
            continue
        rec = ev["recorder"]
        for case_id, item in rec.get("cases", {}).items():
            case = item["value"]
            op = rec["label"] if not rec["label"].startswith("Stateful") else f"{case['method']} {case['path']}"
            run.cases += 1
            run.attempted.add(op)
            inter = rec.get("interactions", {}).get(case_id)
            if inter and inter.get("response"):
                status = inter["response"]["status_code"]
                run.statuses[op][status] += 1
                if item.get("is_transition_applied"):
                    run.linked_statuses[op][status] += 1
            meta = case.get("meta") or {}
            phase_data = (meta.get("phase") or {}).get("data") or {}
            for check in rec.get("checks", {}).get(case_id, []):
                if check.get("status") != "failure":
                    continue
                info = check["failure_info"]["failure"]
                request = response = ""
                rules: tuple[str, ...] = ()
                if inter and inter.get("response"):
                    request = f"{inter['request']['method']} {inter['request']['uri']}"
                    body = _decode(inter["request"].get("body"))
                    if body:
                        request += f" body {body[:300]}"
                    response = f"{inter['response']['status_code']} {_decode(inter['response'].get('content'))[:200]}"
                    rules = judged_rules(inter)
                run.failures.append(Failure(info.get("code") or info["type"], info["title"], info["operation"],
                                            info.get("message", ""), phase_data.get("mutations") or [],
                                            (meta.get("generation") or {}).get("mode", ""), request, response,
                                            rules))
    report = json.loads(next(report_dir.glob("json-*.json")).read_text(encoding="utf-8"))
    run.errors = [(op, e["title"]) for e in report.get("errors", []) for op in e.get("operations", ["?"])]
    run.warnings = {k: v for k, v in report.get("warnings", {}).items() if v}
    run.seconds = report.get("running_time", 0.0)
    run.exit_code = report.get("exit_code", 0)
    return run


def run_schemathesis(base_url: str, out_dir: Path, *, seconds: int | None, max_examples: int | None = None,
                     phases: str = "examples,fuzzing,stateful", seed: int = 1, request_timeout: float = 2.0,
                     operations: list[str] | None = None, timeout: float | None = None) -> Run:
    """Run the Schemathesis CLI on the rule book's document against `base_url` (…/v1.14) and read it back.

    `seconds` is Schemathesis's time budget, which its fuzzing and stateful phases fill by repeating;
    None runs each phase once (`max_examples` per operation), however long that takes."""
    out_dir.mkdir(parents=True, exist_ok=True)
    document = out_dir / "openapi.json"
    document.write_text(json.dumps(openapi_document()), encoding="utf-8")
    config = out_dir / "schemathesis.toml"
    config.write_text(config_toml(), encoding="utf-8")
    reports = out_dir / "reports"
    shutil.rmtree(reports, ignore_errors=True)
    argv = [sys.executable, "-m", "schemathesis.cli", "--config-file", str(config), "--no-color", "run",
            str(document), "--url", base_url, "--checks", "all", "--phases", phases,
            "--seed", str(seed), "--request-timeout", str(request_timeout), "--generation-database", "none",
            "--report", "ndjson,json", "--report-dir", str(reports), "--workers", "1"]
    if seconds:
        argv += ["--max-time", str(seconds)]
    if max_examples:
        argv += ["--max-examples", str(max_examples)]
    for op in operations or ():
        argv += ["--include-operation-id", op]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout or (seconds or 300) * 3 + 60,
                          cwd=out_dir, env={**os.environ, "NO_COLOR": "1"})
    if not list(reports.glob("*.ndjson")):
        raise RuntimeError(f"schemathesis wrote no report (exit {proc.returncode}):\n{proc.stdout[-3000:]}"
                           f"\n{proc.stderr[-3000:]}")
    run = read_run(reports)
    run.output = proc.stdout
    for line in proc.stdout.splitlines():
        if "API Links:" in line:  # "API Links:    5 covered / 83 selected / 83 total"
            words = line.split()
            run.links_covered, run.links_total = int(words[2]), int(words[8])
    return run


# -- the peer comparison ---------------------------------------------------------------------------------------

def _classes(run: Run) -> list[tuple[str, str, list[Failure]]]:
    """(who it implicates, code, failures) groups for the report."""
    groups: dict[tuple[str, str], list[Failure]] = defaultdict(list)
    for f in run.failures:
        if f.code in DOCUMENT_CODES:
            who = "responses vs document"
        elif f.code in INPUT_CODES:
            who = "input handling (body)" if f.via_body_only else "input handling (query/path)"
        else:
            who = "daemon behaviour"
        groups[(who, f.code)].append(f)
    return [(who, code, fs) for (who, code), fs in sorted(groups.items())]


def render(results: dict[str, tuple[Run, str]], minutes: float, suite: dict | None = None,
           suite_name: str = "") -> str:
    out = ["# Schemathesis on the rule book's OpenAPI document: deviation classes per target", "",
           f"Generated by `bench/peer_schemathesis.py --minutes {minutes:g}` on {time.strftime('%Y-%m-%d')} "
           f"(Schemathesis {_schemathesis_version()}, every check, phases examples, fuzzing and stateful, "
           f"{minutes:g} min per target). The document is `conformance rules --openapi`, which states what "
           "Docker 1.2.0 does. A class is one Schemathesis failure code, grouped by what it implicates; "
           "`Rules` are the conformance checker's daemon-side findings on the same exchanges.", "",
           "Against the reference daemon (1.2.0 by construction) a response-vs-document or query/path "
           "input failure would be a defect of the document; against a peer daemon the same classes are "
           "that daemon's deviations from v1.14.", ""]
    for target, (run, scope) in results.items():
        reference = target == "reference"
        pairs = len({(f.code, f.operation) for f in run.failures})
        out += [f"## {target}", "", scope, "",
                f"{run.cases} test cases in {run.seconds:.0f} s; links followed: {run.links_covered} of "
                f"{run.links_total}; {len(run.failures)} failures ({pairs} distinct code/operation pairs).", ""]
        if reference:
            doc = sorted(set(run.document_failures()))
            out.append(f"Failures the document itself causes: {len(doc)}.")
            out += [f"- {line}" for line in doc[:20]]
            out.append("")
        out += ["| Implicates | Code | What | Failures | Rules | Operations |", "|---|---|---|---|---|---|"]
        for who, code, fs in _classes(run):
            ops = sorted({f.operation for f in fs})
            rules = sorted({r for f in fs for r in f.rules})
            out.append(f"| {who} | {code} | {EXPLANATION.get(code, fs[0].title)} | {len(fs)} | "
                       + (", ".join(f"`{r}`" for r in rules) or "-") + " | "
                       + ", ".join(f"`{o}`" for o in ops[:8]) + (f" (+{len(ops) - 8})" if len(ops) > 8 else "")
                       + " |")
        if run.errors:
            out += ["", "No verdict: " + ", ".join(sorted({title for _op, title in run.errors}))
                    + " (streams that stay open: events without `until`, logs with `follow`)."]
        out += ["", "One example per class and operation (first seen):", ""]
        for _who, code, fs in _classes(run):
            for op in sorted({f.operation for f in fs})[:6]:
                f = next(x for x in fs if x.operation == op)
                text = " / ".join(x.strip() for x in f.message.splitlines()[:3] if x.strip())
                out.append(f"- {code} `{op}`: {text[:220] or f.title}")
                if f.request:
                    out.append(f"  - sent `{f.request[:200]}`")
                    out.append(f"  - got `{f.response[:160]!r}`")
        if not reference and suite is not None:
            lines, caught, real = side_by_side(run, suite)
            out += ["", f"### Side by side with the suite ({suite_name})", "",
                    "A failure is a real deviation class when the conformance checker found a daemon-side rule "
                    "broken on its exchange (a 500 the checker accepts is 1.2.0's answer too). Caught: the "
                    "suite's own run against the same daemon failed one of those rules on that route, or, for a "
                    "status rule, its own assertion of 1.2.0's status there on an answer with the same status.",
                    "",
                    f"Caught by the suite: {caught} of {real}.", "", *lines]
        reached = sorted(op for op, c in run.linked_statuses.items() if any(200 <= s < 300 for s in c))
        out += ["", "Operations answered 2xx through a link: " + (", ".join(f"`{o}`" for o in reached) or "none"),
                ""]
    return "\n".join(out) + "\n"


def _status(f: Failure) -> int | None:
    head = f.response.split(" ", 1)[0]
    return int(head) if head.isdigit() else None


def side_by_side(run: Run, suite: dict) -> tuple[list[str], int, int]:
    """Each real deviation class Schemathesis found (a failure on whose exchange the checker found a
    daemon-side rule broken), beside what the suite's report says of the same route: (lines, caught, real).

    Caught: the suite failed one of the same rules on the route, or, for a status rule, the suite's own
    assertion of 1.2.0's status (`v114.outcome.status`) failed there on an answer with the same status."""
    from conformance.spec import RULEBOOK

    by_route = {f"{ep.method} {ep.path}": ep.id for ep in RULEBOOK}
    rows: dict[tuple[str, str], set[str]] = defaultdict(set)
    statuses: dict[tuple[str, str], set[int]] = defaultdict(set)
    for f in run.failures:
        if f.rules:
            rows[(f.code, f.operation)].update(f.rules)
            if (answered := _status(f)) is not None:
                statuses[(f.code, f.operation)].add(answered)
    lines = ["| Schemathesis class | Operation | Rules its exchanges broke | Suite on the route | Rules the suite "
             "failed there | Caught |", "|---|---|---|---|---|---|"]
    caught = 0
    for (code, op), rules in sorted(rows.items()):
        ep_id = by_route.get(op)
        entry = suite.get("endpoints", {}).get(ep_id or "", {})
        failed = set(entry.get("rules_failed", {}))
        same = sorted({int(k) for k in entry.get("statuses", {})} & statuses[(code, op)])
        how = ""
        if rules & failed:
            how = "yes"
        elif any(r.startswith("v114.status.") for r in rules) and "v114.outcome.status" in failed and same:
            how = f"yes (`v114.outcome.status`, the suite saw {', '.join(map(str, same))} there too)"
        caught += bool(how)
        lines.append(f"| {code} | `{op}` | {', '.join(f'`{r}`' for r in sorted(rules))} | "
                     f"{entry.get('status', 'untested')} | {', '.join(f'`{r}`' for r in sorted(failed)) or '-'} | "
                     f"{how or '**no**'} |")
    return lines, caught, len(rows)


def _schemathesis_version() -> str:
    from importlib.metadata import version

    return version("schemathesis")


def _reference(out: Path, seconds: int) -> Run:
    from conformance.daemon import DaemonThread

    with DaemonThread(seed_busybox=True, listen=f"tcp://127.0.0.1:{free_port()}") as daemon:
        base = daemon.url.replace("tcp://", "http://") + "/v1.14"
        return run_schemathesis(base, out, seconds=seconds)


def _dockerd(out: Path, seconds: int) -> Run:
    url = os.environ.get("CONFORMANCE_DOCKERD", "")
    if not url.startswith("unix://"):
        raise SystemExit("CONFORMANCE_DOCKERD is not a unix:// socket (source /tmp/daemons.env)")
    port = free_port()
    bridge = subprocess.Popen(["socat", f"TCP-LISTEN:{port},bind=127.0.0.1,reuseaddr,fork",
                               f"UNIX-CONNECT:{url[len('unix://'):]}"], stderr=subprocess.DEVNULL)
    try:
        for _ in range(50):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        return run_schemathesis(f"http://127.0.0.1:{port}/v1.14", out, seconds=seconds,
                                operations=peer_safe_operations())
    finally:
        bridge.terminate()
        bridge.wait(5)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=5.0, help="Schemathesis time per target (default 5)")
    ap.add_argument("--targets", default="reference,dockerd", help="comma-separated: reference, dockerd")
    ap.add_argument("--report", type=Path, default=ROOT / "reports" / "peer-schemathesis.md")
    ap.add_argument("--suite-report", type=Path, default=ROOT / "reports" / "examples" / "dockerd" / "report.json",
                    help="the suite's report.json against the same dockerd, set beside Schemathesis' classes")
    args = ap.parse_args(argv)
    suite = json.loads(args.suite_report.read_text()) if args.suite_report.is_file() else None
    seconds = max(1, int(args.minutes * 60))
    results: dict[str, tuple[Run, str]] = {}
    with tempfile.TemporaryDirectory(prefix="peer-schemathesis-") as tmp:
        for target in args.targets.split(","):
            if target == "reference":
                run = _reference(Path(tmp) / target, seconds)
                scope = "The reference daemon (`conformance serve`, seeded with busybox), every operation."
            elif target == "dockerd":
                run = _dockerd(Path(tmp) / target, seconds)
                scope = (f"dockerd at `$CONFORMANCE_DOCKERD` through socat on 127.0.0.1, the "
                         f"{len(peer_safe_operations())} operations safe on a shared daemon: "
                         + ", ".join(f"`{o}`" for o in peer_safe_operations()) + ".")
            else:
                raise SystemExit(f"unknown target {target!r}")
            results[target] = (run, scope)
            print(f"{target}: {len(run.failures)} failures, {len(run.document_failures())} in the classes that "
                  "would implicate the document on the reference daemon", file=sys.stderr)
    args.report.write_text(render(results, args.minutes, suite, str(args.suite_report.relative_to(ROOT))
                                  if args.suite_report.is_relative_to(ROOT) else str(args.suite_report)),
                           encoding="utf-8")
    print(f"wrote {args.report}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
