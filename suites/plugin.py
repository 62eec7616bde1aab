"""The pytest plugin of the conformance suite: target, client, checker wiring, cleanup, report.

Loaded through the `pytest11` entry point as `conformance.suites.plugin` (suites/ installs under that name). It stays
inert unless the suite's own tests are collected: running `pytest tests` never starts a daemon.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from conformance.busybox import busybox_rootfs
from conformance.checker import Checker
from conformance.daemonurl import parse_daemon_url
from conformance.spec import Severity

from .client import DaemonClient, ExchangeLog, ExchangeRecord
from .resources import ContainerFactory, Names, ResourceLedger, new_run_id
from .target import ReferenceTarget, choose_target, identify

SUITE_DIR = Path(__file__).resolve().parent
_FAIL_ON = {"error": Severity.ERROR.rank, "warning": Severity.WARNING.rank, "never": 99}


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("conformance", "Docker Remote API v1.14 conformance suite")
    g.addoption("--daemon", default=None, metavar="URL",
                help="daemon to test: unix:///path, tcp://host:port, http://host:port, or `reference` "
                     "(default: $DOCKER_HOST, else the embedded reference daemon on a temporary socket)")
    g.addoption("--image", default=None, metavar="NAME",
                help="use this existing image (with sh, echo, cat, sleep) instead of importing a busybox rootfs")
    g.addoption("--read-only", action="store_true", default=False,
                help="run only the tests that change nothing on the daemon")
    g.addoption("--report-dir", default=None, metavar="DIR",
                help="write report.json and report.md here (pass --junitxml for junit.xml)")
    g.addoption("--target-name", default=None, help="name of the target in the report (default: detected)")
    g.addoption("--fail-on", default="warning", choices=sorted(_FAIL_ON),
                help="a test fails when its exchanges draw a daemon finding of this severity or worse")
    g.addoption("--suite-run-id", default=None, help="(internal) run id shared with xdist workers")
    g.addoption("--suite-reference-deviate", action="append", default=[], metavar="NAME",
                help="(for testing the suite) start the reference daemon with this deviation")


def _suite_requested(config: pytest.Config) -> bool:
    for arg in config.args:
        path = Path(arg.split("::", 1)[0]).resolve()
        if path == SUITE_DIR or SUITE_DIR in path.parents:
            return True
    return False


def _worker_id(config: pytest.Config) -> str | None:
    winput = getattr(config, "workerinput", None)
    return winput["workerid"] if winput else None


@dataclass
class TestResult:
    nodeid: str
    outcome: str = "passed"
    seconds: float = 0.0
    message: str = ""
    endpoints: list[str] = field(default_factory=list)
    failed_rules: list[str] = field(default_factory=list)


class SuiteSession:
    """One process's run of the suite: target, checker, exchange log, ledger; registered as a plugin."""

    def __init__(self, config: pytest.Config):
        self.config = config
        self.worker = _worker_id(config)
        self.started = time.time()
        opt = config.option
        self.reference: ReferenceTarget | None = None
        if not opt.suite_run_id:
            opt.suite_run_id = new_run_id()
        if self.worker is not None:  # the controller chose the target and passed it on (pytest_configure_node)
            winput = config.workerinput  # type: ignore[attr-defined]
            opt.daemon, opt.suite_run_id = winput["conformance_daemon"], winput["conformance_run_id"]
            self.url = parse_daemon_url(opt.daemon)
            self.is_reference = winput["conformance_reference"]
        else:
            choice = choose_target(opt.daemon)
            if choice.is_reference:
                self.reference = ReferenceTarget(tuple(opt.suite_reference_deviate))
                opt.daemon = self.reference.url
            self.url = parse_daemon_url(opt.daemon or choice.spec)
            self.is_reference = choice.is_reference
        self.prefix = f"{opt.suite_run_id}-{self.worker or 'm'}"
        self.names = Names(self.prefix)
        self.ledger = ResourceLedger(self.names)
        self.log = ExchangeLog(f"{self.worker or 'm'}-")
        self.checker = Checker()
        self.fail_rank = _FAIL_ON[opt.fail_on]
        self.results: dict[str, TestResult] = {}
        self.worker_records: list[dict] = []
        self.leftovers: list[str] = []
        self.target_info: dict | None = None
        self.report: dict | None = None
        self._api: DaemonClient | None = None

    @property
    def api(self) -> DaemonClient:
        if self._api is None:
            self._api = DaemonClient(self.url, self.checker, self.log, read_only=self.config.option.read_only,
                                     on_created=self.ledger.note)
        return self._api

    def identify(self) -> dict:
        if self.target_info is None:
            self.target_info = identify(self.url, self.is_reference)
            if self.config.option.target_name:
                self.target_info["name"] = self.config.option.target_name
        return self.target_info

    def cleanup(self) -> list[str]:
        if self._api is None or self.config.option.read_only:
            return []
        previous, self.log.current_test = self.log.current_test, "cleanup"
        try:
            return self.ledger.clean(self._api)
        finally:
            self.log.current_test = previous

    def close(self) -> None:
        if self._api is not None:
            self._api.close()
        if self.reference is not None:
            self.reference.stop()

    # -- hooks -----------------------------------------------------------------------------------
    def pytest_collection_modifyitems(self, config: pytest.Config, items: list[pytest.Item]) -> None:
        if not config.option.read_only:
            return
        keep = [i for i in items if i.get_closest_marker("readonly")]
        drop = [i for i in items if not i.get_closest_marker("readonly")]
        if drop:
            config.hook.pytest_deselected(items=drop)
            items[:] = keep

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        self.log.current_test = item.nodeid
        marker = item.get_closest_marker("endpoints")
        if marker:
            item.user_properties.append(("endpoints", ",".join(marker.args)))

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call):
        outcome = yield
        if call.when != "call":
            return
        report = outcome.get_result()
        bad = [f for r in self.log.for_test(item.nodeid) for f in r.daemon_findings()
               if Severity(f["severity"]).rank >= self.fail_rank]
        if not bad:
            return
        rules = sorted({f["rule"] for f in bad})
        report.user_properties.append(("failed_rules", ",".join(rules)))
        if report.passed:
            lines = [f"the daemon broke {len(rules)} rule(s) in this test's exchanges: {', '.join(rules)}"]
            for f in bad[:10]:
                lines.append(f"  [{f['severity']}] {f['rule']} ({f['exchange']} {f['where']}): {f['message']}")
                if f["evidence"]:
                    lines.append(f"      evidence: {f['evidence'][:160]}")
            report.outcome = "failed"
            report.longrepr = "\n".join(lines)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if self.worker is not None:
            return
        res = self.results.setdefault(report.nodeid, TestResult(report.nodeid))
        props = dict(report.user_properties)
        if props.get("endpoints"):
            res.endpoints = props["endpoints"].split(",")
        if props.get("failed_rules"):
            res.failed_rules = sorted(set(res.failed_rules) | set(props["failed_rules"].split(",")))
        res.seconds += report.duration
        if report.skipped:
            if res.outcome == "passed":
                res.outcome = "skipped"
                if isinstance(report.longrepr, tuple):
                    res.message = str(report.longrepr[2])[:300]
        elif report.failed and res.outcome not in ("failed", "error"):
            res.outcome = "failed" if report.when == "call" else "error"
            res.message = _short(report.longreprtext)

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        self.leftovers += self.cleanup()
        if self.worker is not None:
            out = session.config.workeroutput
            out["conformance_records"] = json.dumps([r.to_dict() for r in self.log.records])
            out["conformance_target"] = json.dumps(self.target_info)
            out["conformance_left"] = json.dumps(self.leftovers)
            return
        self._write_report()

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node) -> None:
        node.workerinput.update(conformance_daemon=str(self.url), conformance_run_id=self.config.option.suite_run_id,
                                conformance_reference=self.is_reference)

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node, error) -> None:
        out = getattr(node, "workeroutput", None) or {}
        if "conformance_records" not in out:
            return
        self.worker_records.extend(json.loads(out["conformance_records"]))
        target = json.loads(out.get("conformance_target") or "null")
        if target and not self.target_info:
            self.target_info = target
        self.leftovers += json.loads(out.get("conformance_left") or "[]")

    def _write_report(self) -> None:
        from conformance.report import build_report, write_reports

        if self.target_info is None:
            self.identify()
        records = [r.to_dict() for r in self.log.records] + self.worker_records
        opt = self.config.option
        self.report = build_report(
            target=self.target_info or {}, records=records, tests=[vars(r) for r in self.results.values()],
            wall_time=time.time() - self.started, started=self.started,
            options={"read_only": opt.read_only, "fail_on": opt.fail_on, "run_id": opt.suite_run_id,
                     "leftovers": self.leftovers})
        if opt.report_dir:
            write_reports(self.report, Path(opt.report_dir))

    def pytest_terminal_summary(self, terminalreporter, exitstatus, config: pytest.Config) -> None:
        if not self.report:
            return
        from conformance.report.markdown import summary_lines

        terminalreporter.section("v1.14 conformance")
        for line in summary_lines(self.report):
            terminalreporter.write_line(line)
        for item in self.leftovers:
            terminalreporter.write_line(f"NOT REMOVED: {item}", red=True)


def _short(text: str) -> str:
    lines = [ln for ln in text.splitlines() if ln.strip()]
    err = [ln for ln in lines if ln.startswith("E ") or ln.startswith("the daemon broke") or ln.startswith("  [")]
    picked = err[:12] if err else lines[-12:]
    return "\n".join(picked)[:2000]


_KEY = pytest.StashKey[SuiteSession]()


def suite_session(config: pytest.Config) -> SuiteSession | None:
    return config.stash.get(_KEY, None)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "endpoints(*ids): the rule-book endpoints a suite test is about")
    config.addinivalue_line("markers", "readonly: a suite test that changes nothing on the daemon")
    if not _suite_requested(config):
        return
    session = SuiteSession(config)
    config.stash[_KEY] = session
    config.pluginmanager.register(session, "conformance-suite-session")


def pytest_unconfigure(config: pytest.Config) -> None:
    s = suite_session(config)
    if s is not None:
        s.close()


# -- fixtures ------------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def suite(pytestconfig: pytest.Config) -> SuiteSession:
    s = suite_session(pytestconfig)
    if s is None:
        pytest.skip("the conformance suite plugin is not active for this run")
    previous, s.log.current_test = s.log.current_test, "session"
    try:
        s.identify()
    finally:
        s.log.current_test = previous
    return s


@pytest.fixture(scope="session")
def api(suite: SuiteSession) -> DaemonClient:
    return suite.api


@pytest.fixture(scope="session")
def target(suite: SuiteSession) -> dict:
    """Name, version and URL of the daemon under test."""
    return suite.identify()


@pytest.fixture(scope="session")
def image(suite: SuiteSession, api: DaemonClient) -> str:
    """The test image: --image, else a busybox rootfs imported under this run's prefix."""
    if suite.config.option.image:
        return suite.config.option.image
    if suite.config.option.read_only:
        pytest.skip("a read-only run imports no image (pass --image NAME)")
    repo = f"{suite.prefix}-busybox"
    previous, suite.log.current_test = suite.log.current_test, "session"
    try:
        suite.ledger.note("image", f"{repo}:latest")
        r = api.post("/images/create", {"fromSrc": "-", "repo": repo, "tag": "latest"}, body=busybox_rootfs(),
                     headers={"Content-Type": "application/tar"})
        assert r.status == 200, f"import of the test image failed: {r.status} {r.text[:300]}"
        assert b'"error"' not in r.content, f"import of the test image failed in-band: {r.text[:300]}"
    finally:
        suite.log.current_test = previous
    return f"{repo}:latest"


@pytest.fixture(scope="session")
def names(suite: SuiteSession) -> Names:
    return suite.names


@pytest.fixture
def containers(api: DaemonClient, image: str, names: Names) -> ContainerFactory:
    return ContainerFactory(api, image, names)


@pytest.fixture(scope="session")
def reference(suite: SuiteSession) -> bool:
    """True when the target is the embedded reference daemon (no real processes run)."""
    return suite.is_reference


def exchanges_of(suite: SuiteSession, nodeid: str) -> list[ExchangeRecord]:
    return suite.log.for_test(nodeid)
