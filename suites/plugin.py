"""The pytest plugin of the conformance suite: target, client, checker wiring, cleanup, report.

Loaded through the `pytest11` entry point as `conformance.suites.plugin` (suites/ installs under that name). It stays
inert unless the suite's own tests are collected: running `pytest tests` never starts a daemon.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import json
import re
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
    # every option carries the v114- prefix (and a v114_ dest): a generic --daemon or --image would
    # clash with any other plugin that had the same idea
    g = parser.getgroup("conformance", "Docker Remote API v1.14 conformance suite")
    g.addoption("--v114-daemon", dest="v114_daemon", default=None, metavar="URL",
                help="daemon to test: unix:///path, tcp://host:port, http://host:port, or `reference` "
                     "(default: $DOCKER_HOST, else the embedded reference daemon on a temporary socket)")
    g.addoption("--v114-image", dest="v114_image", default=None, metavar="NAME",
                help="use this existing image (with sh, echo, cat, sleep) instead of importing a busybox rootfs")
    g.addoption("--v114-read-only", dest="v114_read_only", action="store_true", default=False,
                help="run only the tests that change nothing on the daemon")
    g.addoption("--v114-report", dest="v114_report", default=None, metavar="DIR",
                help="write report.json, report.md and report.html here (pass --junitxml for junit.xml)")
    g.addoption("--v114-target-name", dest="v114_target_name", default=None,
                help="name of the target in the report and the JUnit testsuite (default: detected)")
    g.addoption("--v114-fail-on", dest="v114_fail_on", default="warning", choices=sorted(_FAIL_ON),
                help="a test fails when its exchanges draw a daemon finding of this severity or worse")
    g.addoption("--v114-run-id", dest="v114_run_id", default=None, help="(internal) run id shared with xdist workers")
    g.addoption("--v114-reference-deviate", dest="v114_reference_deviate", action="append", default=[],
                metavar="NAME", help="(for testing the suite) start the reference daemon with this deviation")
    g.addoption("--v114-oracle", dest="v114_oracle", default=None, choices=["reference"],
                help="send every request also to a fresh embedded reference daemon and report how the answers "
                     "differ (status, content type, error form, JSON shape)")


# options that only mean something to the suite: given without the suite's tests, they are a mistake
_SUITE_ONLY = ("v114_daemon", "v114_image", "v114_read_only", "v114_report", "v114_target_name",
               "v114_reference_deviate", "v114_oracle")


def _arg_path(config: pytest.Config, arg: str) -> Path | None:
    """The file or directory a command-line argument names (a module name with --pyargs)."""
    name = arg.split("::", 1)[0]
    if config.option.pyargs and not (config.invocation_params.dir / name).exists():
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            return None
        if spec is None:
            return None
        if spec.submodule_search_locations:
            return Path(next(iter(spec.submodule_search_locations))).resolve()
        return Path(spec.origin).resolve() if spec.origin else None
    return (config.invocation_params.dir / name).resolve()


def _suite_requested(config: pytest.Config) -> bool:
    """Whether the run collects the suite: a path at, inside or above suites/ (or --pyargs of it)."""
    for arg in config.args:
        path = _arg_path(config, arg)
        if path is not None and (path == SUITE_DIR or SUITE_DIR in path.parents or path in SUITE_DIR.parents):
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
        if not opt.v114_run_id:
            opt.v114_run_id = new_run_id()
        if self.worker is not None:  # the controller chose the target and passed it on (pytest_configure_node)
            winput = config.workerinput  # type: ignore[attr-defined]
            opt.v114_daemon, opt.v114_run_id = winput["conformance_daemon"], winput["conformance_run_id"]
            self.url = parse_daemon_url(opt.v114_daemon)
            self.is_reference = winput["conformance_reference"]
        else:
            choice = choose_target(opt.v114_daemon)
            if choice.is_reference:
                self.reference = ReferenceTarget(tuple(opt.v114_reference_deviate))
                opt.v114_daemon = self.reference.url
            self.url = parse_daemon_url(opt.v114_daemon or choice.spec)
            self.is_reference = choice.is_reference
            if not self.is_reference:
                from conformance.suite.reach import cannot_connect

                reason = cannot_connect(self.url)
                if reason:  # one line and a usage error, before any test runs
                    raise pytest.UsageError(reason)
        self.prefix = f"{opt.v114_run_id}-{self.worker or 'm'}"
        self.names = Names(self.prefix)
        self.ledger = ResourceLedger(self.names)
        self.log = ExchangeLog(f"{self.worker or 'm'}-")
        self.checker = Checker()
        self.fail_rank = _FAIL_ON[opt.v114_fail_on]
        self.results: dict[str, TestResult] = {}
        self.worker_records: list[dict] = []
        self.leftovers: list[str] = []
        self.target_info: dict | None = None
        self.report: dict | None = None
        self._api: DaemonClient | None = None
        self.ran_nothing = False

    @property
    def api(self) -> DaemonClient:
        if self._api is None:
            self._api = DaemonClient(self.url, self.checker, self.log, read_only=self.config.option.v114_read_only,
                                     on_created=self.ledger.note)
            if self.config.option.v114_oracle == "reference":
                from .oracle import ReferenceOracle

                self._api.oracle = ReferenceOracle()
        return self._api

    def identify(self) -> dict:
        if self.target_info is None:
            self.target_info = identify(self.url, self.is_reference)
            if self.config.option.v114_target_name:
                self.target_info["name"] = self.config.option.v114_target_name
        return self.target_info

    def cleanup(self) -> list[str]:
        if self._api is None or self.config.option.v114_read_only:
            return []
        previous, self.log.current_test = self.log.current_test, "cleanup"
        try:
            with _sigint_held():
                return self.ledger.clean(self._api)
        finally:
            self.log.current_test = previous

    def close(self) -> None:
        if self._api is not None:
            self._api.close()
            if self._api.oracle is not None:
                self._api.oracle.close()
        if self.reference is not None:
            self.reference.stop()

    # -- hooks -----------------------------------------------------------------------------------
    def pytest_collection_modifyitems(self, config: pytest.Config, items: list[pytest.Item]) -> None:
        if not config.option.v114_read_only:
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
        # a test fails for what the daemon broke on the routes it is about (its `endpoints` marker): a
        # finding on a setup step (the create before an attach) is the create's, and fails the create's
        # tests and rule, not every test that needed a container (one cause must not mask the others)
        marker = item.get_closest_marker("endpoints")
        about = set(marker.args) if marker else None
        bad = [f for r in self.log.for_test(item.nodeid) for f in r.daemon_findings()
               if Severity(f["severity"]).rank >= self.fail_rank
               and (about is None or r.endpoint is None or r.endpoint in about)]
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
        if self.worker is None and session.exitstatus == pytest.ExitCode.OK and not self.config.option.collectonly \
                and not any(r.outcome != "skipped" for r in self.results.values()):
            self.ran_nothing = True  # every test skipped (or none reported): a false green otherwise
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
        if self.worker is not None:
            out = session.config.workeroutput
            out["conformance_records"] = json.dumps([r.to_dict() for r in self.log.records])
            out["conformance_target"] = json.dumps(self.target_info)
            out["conformance_left"] = json.dumps(self.leftovers)
            return
        self._write_report()

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node) -> None:
        node.workerinput.update(conformance_daemon=str(self.url), conformance_run_id=self.config.option.v114_run_id,
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
        from conformance.report.reproduce import attach_reproductions, redacted_record

        records = [redacted_record(r) for r in [r.to_dict() for r in self.log.records] + self.worker_records]
        opt = self.config.option
        self.report = build_report(
            target=self.target_info or {}, records=records, tests=[vars(r) for r in self.results.values()],
            wall_time=time.time() - self.started, started=self.started,
            options={"read_only": opt.v114_read_only, "fail_on": opt.v114_fail_on, "run_id": opt.v114_run_id,
                     "leftovers": self.leftovers})
        attach_reproductions(self.report, records)
        if opt.v114_report:
            write_reports(self.report, Path(opt.v114_report))

    def pytest_terminal_summary(self, terminalreporter, exitstatus, config: pytest.Config) -> None:
        if self.ran_nothing:
            terminalreporter.write_line("the v1.14 suite ran no test (all skipped): failed", red=True)
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
    picked = err[:80] if err else lines[-12:]  # a failure's whole reproduction (its curl lines), not 12 lines
    return "\n".join(picked)[:8000]


@contextlib.contextmanager
def _sigint_held():
    """Cleanup runs at the session's end, also after the ^C that stopped it: one more ^C meanwhile is ignored
    until what the run made is removed (a half-done cleanup is what leaves images behind); the run ends
    right after it anyway."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _honour_sigint() -> None:
    """A run started with SIGINT ignored (`nohup`, `&` in a non-interactive shell) still stops on ^C / kill -INT,
    through KeyboardInterrupt, so that the session's cleanup removes what it made."""
    import signal
    import threading

    if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


_KEY = pytest.StashKey[SuiteSession]()


def suite_session(config: pytest.Config) -> SuiteSession | None:
    return config.stash.get(_KEY, None)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "endpoints(*ids): the rule-book endpoints a suite test is about")
    config.addinivalue_line("markers", "readonly: a suite test that changes nothing on the daemon")
    if not _suite_requested(config):
        given = [f"--{d.replace('_', '-')}" for d in _SUITE_ONLY if getattr(config.option, d, None)]
        if given:
            raise pytest.UsageError(f"{', '.join(given)} given, but the conformance suite is not among the paths "
                                    f"to collect: pass {SUITE_DIR} or --pyargs conformance.suites")
        return
    _honour_sigint()
    session = SuiteSession(config)
    config.stash[_KEY] = session
    config.pluginmanager.register(session, "conformance-suite-session")


def pytest_unconfigure(config: pytest.Config) -> None:
    s = suite_session(config)
    if s is not None:
        if s.worker is None and getattr(config.option, "xmlpath", None) and s.target_info:
            name_junit(Path(config.option.xmlpath), s.target_info.get("name") or "daemon")
        s.close()


def _in_suite(item: pytest.Item) -> bool:
    path = Path(item.path)
    return path.parent == SUITE_DIR or SUITE_DIR in path.parents


@pytest.hookimpl(tryfirst=True)  # before -k and -m deselect
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    ours = [i for i in items if _in_suite(i)]
    if ours and suite_session(config) is None:
        raise pytest.UsageError(f"the conformance suite's tests were collected but its plugin is not active for "
                                f"this run: pass {SUITE_DIR} (or --pyargs conformance.suites) itself")
    for item in ours:
        marker = item.get_closest_marker("endpoints")
        for endpoint_id in marker.args if marker else ():
            item.extra_keyword_matches.update(endpoint_keywords(endpoint_id))


@functools.cache
def endpoint_keywords(endpoint_id: str) -> frozenset[str]:
    """`-k` names for a test about this endpoint: the endpoint id and every daemon-side rule id that
    can judge one of its answers (whatever status the rule book says 1.2.0 may give)."""
    from conformance.report import is_request_rule, rule_applies
    from conformance.spec import RULEBOOK, RULES

    try:
        ep = RULEBOOK[endpoint_id]
    except KeyError:
        return frozenset({endpoint_id})
    records = [{"status": status, "endpoint": endpoint_id, "target": f"/v1.14{ep.path}"} for status in ep.statuses]
    rules = {r.id for r in RULES.values() if not is_request_rule(r.id) and any(rule_applies(r, rec) for rec in records)}
    return frozenset({endpoint_id, *rules})


def name_junit(path: Path, target: str) -> None:
    """Name the JUnit testsuite after the target and put the package and target into each classname
    (`conformance.suites.<target>.test_containers`), so two targets' results never share a name."""
    import xml.etree.ElementTree as ET

    if not path.is_file():
        return
    tree = ET.parse(path)
    package = "conformance.suites." + re.sub(r"[^A-Za-z0-9_-]+", "_", target)
    root = tree.getroot()
    for suite_el in ([root] if root.tag == "testsuite" else root.iter("testsuite")):
        suite_el.set("name", target)
        for case in suite_el.iter("testcase"):
            parts = case.get("classname", "").split(".")
            first = next((n for n, part in enumerate(parts) if part.startswith("test_")), 0)
            case.set("classname", ".".join([package, *parts[first:]]))
    tree.write(path, encoding="utf-8", xml_declaration=True)


# -- fixtures ------------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def suite(pytestconfig: pytest.Config) -> SuiteSession:
    s = suite_session(pytestconfig)
    if s is None:  # never a skip: a suite that skips everything would pass having tested nothing
        pytest.fail("the conformance suite plugin is not active for this run", pytrace=False)
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
    """The test image: --v114-image, else a busybox rootfs imported under this run's prefix."""
    if suite.config.option.v114_image:
        return suite.config.option.v114_image
    if suite.config.option.v114_read_only:
        pytest.skip("a read-only run imports no image (pass --v114-image NAME)")
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
