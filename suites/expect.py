"""Asserting 1.2.0's answer from the rule book, with failures a vendor can act on.

`expect_outcome` and `expect_success` check one reply against the route's `Outcome` for a cause (or its
success responses). A mismatch becomes a daemon finding of the rule it asserts on that exchange (so the
report fails that rule, not whatever fired nearby) and an AssertionError whose message holds the rule id,
what the target answered, what 1.2.0 answers and where that is written, and the requests as
`curl --unix-socket` lines.
"""

from __future__ import annotations

from collections.abc import Iterable

from conformance.capture.redact import scrub_text
from conformance.daemonurl import DaemonURL
from conformance.report.coverage import SUITE_ASSERTION
from conformance.report.reproduce import record_curl
from conformance.spec import Endpoint, Outcome

from .client import DaemonClient, ExchangeRecord, Reply

STATUS_RULE = "v114.outcome.status"
BODY_RULE = "v114.outcome.body"
LIFECYCLE_RULE = "v114.lifecycle.state"


def curl_command(url: DaemonURL, record: ExchangeRecord) -> str:
    """One pasteable curl line for a recorded request (credentials redacted, conformance/report/reproduce.py)."""
    return record_curl(url, record.to_dict())


def reproduction(api: DaemonClient, records: Iterable[ExchangeRecord]) -> str:
    return "\n".join(f"  $ {curl_command(api.url, r)}\n    -> {r.status}" for r in records)


def _flag(record: ExchangeRecord, rule: str, message: str, evidence: str, expected: str = "", source: str = "",
          steps: Iterable[ExchangeRecord] = ()) -> None:
    """The broken rule as a daemon finding on the exchange, with what a reproduction needs: 1.2.0's answer,
    where that is written, and the exchanges that lead to it (conformance/report/reproduce.py)."""
    record.findings.append({"rule": rule, "severity": "warning" if rule != LIFECYCLE_RULE else "error",
                            "message": scrub_text(message), "exchange": record.id, "where": SUITE_ASSERTION,
                            "evidence": scrub_text(evidence)[:300], "side": "daemon", "expected": expected,
                            "source": source, "steps": [r.id for r in steps]})


def fail(api: DaemonClient, reply: Reply, rule: str, what: str, expected: str, source: str,
         steps: Iterable[ExchangeRecord] = ()) -> None:
    """Record the broken rule on the exchange and raise the assertion with its reproduction."""
    record = reply.record
    ctype = reply.headers.get("content-type") or "(no Content-Type)"
    got = f"{reply.status} {ctype} {scrub_text(reply.text[:200])!r}"
    shown = [*steps, record] if record not in steps else list(steps)
    _flag(record, rule, f"{what}: got {got}; 1.2.0 answers {expected}", got, expected, source, shown)
    raise AssertionError(scrub_text(f"[{rule}] {what}\n  target answered: {got}\n  1.2.0 answers:   {expected}  "
                                    f"({source})\n  reproduction:\n{reproduction(api, shown)}"))


def _content_type_matches(expected: str | None, got: str | None) -> bool:
    if expected is None:
        return not got
    return (got or "").split(";")[0].strip().lower() == expected.split(";")[0].strip().lower()


def expect_outcome(api: DaemonClient, ep: Endpoint, reply: Reply, outcome: Outcome, what: str,
                   steps: Iterable[ExchangeRecord] = ()) -> None:
    """The reply is 1.2.0's answer to `outcome.cause`: status first, then the body form."""
    record = reply.record
    record.asserted.append(STATUS_RULE)
    record.cause = outcome.cause.value
    expected = f"{outcome.status} {outcome.content_type or '(no Content-Type)'} /{outcome.message}/"
    if reply.status != outcome.status:
        fail(api, reply, STATUS_RULE, f"{ep.id}: {what} ({outcome.cause.value})", expected, outcome.source, steps)
    record.asserted.append(BODY_RULE)
    content_type = reply.headers.get("content-type")
    if not outcome.body_matches(reply.text) or not _content_type_matches(outcome.content_type, content_type):
        fail(api, reply, BODY_RULE, f"{ep.id}: {what} ({outcome.cause.value}): body form", expected,
             outcome.source, steps)


def expect_form(api: DaemonClient, reply: Reply, ok: bool, what: str, expected: str, source: str,
                steps: Iterable[ExchangeRecord] = ()) -> None:
    """A served answer has 1.2.0's body form (`ok` says whether it has): asserted as `v114.outcome.body`."""
    reply.record.asserted.append(BODY_RULE)
    if not ok:
        fail(api, reply, BODY_RULE, what, expected, source, steps)


def expect_success(api: DaemonClient, ep: Endpoint, reply: Reply, what: str,
                   steps: Iterable[ExchangeRecord] = ()) -> None:
    """The reply is one of the route's success answers (1.2.0 serves this request)."""
    reply.record.asserted.append(STATUS_RULE)
    ok = {r.status for r in ep.responses}
    if reply.status not in ok:
        fail(api, reply, STATUS_RULE, f"{ep.id}: {what} is served by 1.2.0",
             " or ".join(str(s) for s in sorted(ok)), "rule book responses; notes §0.3-§0.4 for lenient forms",
             steps)


ORACLE_SOURCE = "the fresh reference daemon's answer to the same requests (--v114-oracle reference)"


def expect_same_as_reference(api: DaemonClient, reply: Reply, what: str,
                             steps: Iterable[ExchangeRecord] = ()) -> None:
    """Under `--v114-oracle reference`: the target answered as the reference daemon did (suites/oracle.py).
    A difference fails the step, so hypothesis shrinks the example or step sequence that shows it; one where
    the reference only simplifies (restart policies, binds, ...) says nothing about the target and passes."""
    record = reply.record
    if not record.oracle_label:
        return
    status = any(d["kind"] == "status" for d in record.oracle)
    rule = STATUS_RULE if status else BODY_RULE
    record.asserted.append(rule)
    if record.oracle_label == "differs":
        shown = "; ".join(f"{d['kind']} {d['where']}: {d['recorded']}" for d in record.oracle[:5])
        fail(api, reply, rule, f"{what}: the reference daemon answers otherwise", shown, ORACLE_SOURCE, steps)
