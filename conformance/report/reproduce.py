"""Reproductions a vendor can paste: for each failure, the requests as `curl --unix-socket` lines, what the
target answered, what 1.2.0 answers and the note or source that says so.

A suite assertion names its steps (a state-machine sequence: every step of it) and 1.2.0's answer on its
finding (suites/expect.py); a checker finding gets the exchanges of the same generated example, or the
test's earlier state-changing requests, and the rule's statement and source. Everything that reaches a
line goes through the redaction module once more: records from any source come out without credentials.
"""

from __future__ import annotations

import re
import shlex
from collections import defaultdict
from collections.abc import Iterable

from ..capture.redact import redact, scrub_text
from ..daemonurl import DaemonURL, parse_daemon_url
from ..spec import RULES
from .coverage import SUITE_ASSERTION

MAX_STEPS = 20  # per reproduction: the last ones (the ones before are counted as left out)
MAX_PER_TEST = 3  # distinct (rule, endpoint) failures reproduced per test
ANSWER_EXCERPT = 200
_FAILING = ("error", "warning")
_SKIP_HEADERS = {"host", "content-length"}
_READS = ("GET", "HEAD", "OPTIONS")
_FULL_ID = re.compile(r"[0-9a-f]{64}")


def curl_command(url: DaemonURL | str, method: str, target: str, headers: Iterable[tuple[str, str]] = (),
                 body: str = "", body_elided: bool = False) -> str:
    """One pasteable curl line; credentials in the target, headers and body are redacted."""
    url = parse_daemon_url(url) if isinstance(url, str) else url
    headers = list(headers)
    red = redact(target, headers, body.encode("utf-8", "surrogateescape") if body else None)
    parts = ["curl", "-si", "-X", method]
    if url.is_unix:
        parts[1:1] = ["--unix-socket", url.path]
        base = "http://docker"
    else:
        base = url.http_base.rstrip("/")
    for name, value in red.headers:
        if name.lower() not in _SKIP_HEADERS:
            parts += ["-H", f"{name}: {value}"]
    if red.body:
        parts += ["--data-binary", red.body.decode("utf-8", "surrogateescape")]
    elif body_elided:
        parts += ["--data-binary", "@body"]  # a binary or long body (tar): not reproducible inline
    parts.append(base + (red.target or target))
    return shlex.join(parts)


def record_curl(url: DaemonURL | str, record: dict) -> str:
    """The curl line of one exchange record (ExchangeRecord.to_dict())."""
    headers = [(h[0], h[1]) for h in record.get("request_headers") or []]
    body = record.get("request_body") or ""
    elided = bool(record.get("request")) and not body
    return curl_command(url, record["method"], record["target"], headers, body, elided)


def answer_text(record: dict) -> str:
    """`<status> <Content-Type> <body excerpt>` of what the daemon answered, secrets scrubbed."""
    ctype = next((v for k, v in record.get("response_headers") or [] if k.lower() == "content-type"), "")
    body = scrub_text(record.get("response") or "")[:ANSWER_EXCERPT]
    return f"{record.get('status')} {ctype or '(no Content-Type)'} {body}"  # the excerpt is escaped already


def _context(recs: list[dict], i: int) -> list[dict]:
    """What leads to exchange i of a test: its generated example's exchanges; else the earlier requests that
    changed the container it names (its create included); else the test's earlier state-changing requests."""
    rec = recs[i]
    if rec.get("example"):
        return [r for r in recs[:i] if r.get("example") == rec["example"]] + [rec]
    changes = [r for r in recs[:i] if r.get("method") not in _READS]
    named = _FULL_ID.search(rec["target"])
    if named:
        cid = named.group(0)
        changes = [r for r in changes if cid in r["target"] or
                   (r["target"].split("?")[0].endswith("/containers/create") and cid in (r.get("response") or ""))]
    return changes + [rec]


def _reproduction(url: str, finding: dict | None, rec: dict, steps: list[dict], message: str = "") -> dict:
    rule = RULES.get(finding["rule"]) if finding else None
    shown = steps[-MAX_STEPS:]
    out = {
        "rule": finding["rule"] if finding else "",
        "exchange": rec["id"],
        "what": scrub_text(finding["message"] if finding else message)[:600],
        "steps": [{"exchange": s["id"], "curl": record_curl(url, s), "status": s.get("status")} for s in shown],
        "left_out": len(steps) - len(shown),
        "answered": answer_text(rec),
        "expected": (finding or {}).get("expected") or (rule.statement if rule else "what the test asserts"),
        "source": (finding or {}).get("source") or (rule.source if rule else "the suite test"),
        "by_suite": bool(finding and finding.get("where") == SUITE_ASSERTION),
    }
    if rec.get("oracle"):
        out["reference_differences"] = rec["oracle"][:5]
    return out


def reproductions(records: list[dict], tests: list[dict], url: str) -> dict[str, list[dict]]:
    """For each failed test, up to MAX_PER_TEST reproductions, one per (rule, endpoint) that broke; a test
    that failed with no finding (a plain assertion) gets its requests and the assertion's message."""
    failed = {t["nodeid"]: t for t in tests if t.get("outcome") in ("failed", "error")}
    by_id = {r["id"]: r for r in records}
    by_test: dict[str, list[dict]] = defaultdict(list)
    for r in records:
        by_test[(r.get("test") or "").removesuffix(" (setup)")].append(r)
    out: dict[str, list[dict]] = {}
    for nodeid, test in failed.items():
        recs = by_test.get(nodeid, [])
        items: list[dict] = []
        seen: set[tuple] = set()
        # newest first: a hypothesis test replays its shrunk, minimal example last
        for i, rec in reversed(list(enumerate(recs))):
            for f in rec.get("findings", []):
                key = (f["rule"], rec.get("endpoint"))
                if f.get("side") != "daemon" or f.get("severity") not in _FAILING or key in seen:
                    continue
                seen.add(key)
                named = [by_id[s] for s in f.get("steps") or [] if s in by_id]
                items.append(_reproduction(url, f, rec, named or _context(recs, i)))
        items.sort(key=lambda r: r["by_suite"], reverse=True)  # what the test asserts first, then the checker
        if not items and recs:
            items.append(_reproduction(url, None, recs[-1], _context(recs, len(recs) - 1),
                                       (test.get("message") or "").split("\n", 1)[0]))
        out[nodeid] = items[:MAX_PER_TEST]
    return out


def redacted_record(record: dict) -> dict:
    """An exchange record as a report may keep it: URL credentials out of the target, and secrets a body
    excerpt shows (an /auth body's password, a registry header quoted back) scrubbed."""
    out = dict(record)
    out["target"] = redact(record["target"], []).target or record["target"]
    for key in ("request", "response"):
        if out.get(key):
            out[key] = scrub_text(out[key])
    return out


def attach_reproductions(report: dict, records: list[dict]) -> None:
    """Put each failed test's reproductions on its entry in report["tests"]."""
    url = (report.get("target") or {}).get("url") or "unix:///var/run/docker.sock"
    found = reproductions(records, report["tests"], url)
    for t in report["tests"]:
        if t["nodeid"] in found:
            t["reproductions"] = found[t["nodeid"]]
