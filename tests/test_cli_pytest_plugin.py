"""The suite under plain pytest: `pytest --pyargs conformance.suites --v114-daemon URL` from any directory,
loud failures (no daemon, no suite, everything skipped), `-k` by endpoint and rule id, JUnit names."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

from conformance.report import is_request_rule, rule_applies
from conformance.spec import RULEBOOK, RULES


def _pytest(cwd: Path, *args: str, timeout: float = 300, extra_path: str = "") -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("DOCKER_HOST", "PYTEST_ADDOPTS")}
    if extra_path:
        env["PYTHONPATH"] = extra_path
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout, env=env)


def test_no_daemon_is_one_line_and_a_usage_error_before_any_test(tmp_path: Path):
    missing = tmp_path / "absent.sock"
    # bound: pytest's own start on this machine plus 5 s; the start is measured with the same load, and
    # counted 1.5 times because the suite's imports (hypothesis, the rule book) scale with the load too
    (tmp_path / "test_nothing.py").write_text("def test_nothing():\n    pass\n")
    t0 = time.monotonic()
    _pytest(tmp_path, "--co", "test_nothing.py")
    budget = 1.5 * (time.monotonic() - t0) + 5
    t0 = time.monotonic()
    proc = _pytest(tmp_path, "--pyargs", "conformance.suites", "--v114-daemon", f"unix://{missing}")
    elapsed = time.monotonic() - t0
    assert proc.returncode == 4, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert f"cannot connect to the daemon at unix://{missing}: no such file or directory" in proc.stderr
    assert "passed" not in proc.stdout and "skipped" not in proc.stdout
    assert elapsed < budget, (elapsed, budget)


def test_suite_options_without_the_suite_are_a_usage_error(tmp_path: Path):
    (tmp_path / "test_other.py").write_text("def test_one():\n    pass\n")
    proc = _pytest(tmp_path, "test_other.py", "--v114-daemon", "unix:///nowhere.sock")
    assert proc.returncode == 4, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "--v114-daemon given, but the conformance suite is not among the paths" in proc.stderr


def test_a_run_where_every_test_skips_fails(tmp_path: Path):
    (tmp_path / "skip_all.py").write_text(
        "import pytest\n\n@pytest.hookimpl(tryfirst=True)\ndef pytest_runtest_setup(item):\n"
        "    pytest.skip('skipped by the test')\n")
    proc = _pytest(tmp_path, "--pyargs", "conformance.suites", "-k", "system.ping", "-p", "skip_all",
                   extra_path=str(tmp_path))
    assert proc.returncode == 1, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "skipped" in proc.stdout and "ran no test" in proc.stdout


def _selected(report: dict) -> list[dict]:
    return [t for t in report["tests"] if t["outcome"] != "deselected"]


def test_k_selects_by_endpoint_id_and_junit_names_the_target(tmp_path: Path):
    junit = tmp_path / "junit.xml"
    proc = _pytest(tmp_path, "--pyargs", "conformance.suites", "-k", "containers.create", "--v114-report",
                   str(tmp_path / "r"), "--junitxml", str(junit))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    report = json.loads((tmp_path / "r" / "report.json").read_text())
    tests = _selected(report)
    assert tests and all("containers.create" in t["endpoints"] for t in tests), tests
    suites = list(ET.parse(junit).getroot().iter("testsuite"))
    assert [s.get("name") for s in suites] == ["reference"]
    cases = list(suites[0].iter("testcase"))
    assert len(cases) == len(tests)
    assert all(c.get("classname").startswith("conformance.suites.reference.test_") for c in cases)


def test_k_selects_by_rule_id(tmp_path: Path):
    """`-k v114.frame.padding` keeps exactly the tests about an endpoint whose answers that rule judges."""
    rule = RULES["v114.frame.padding"]
    assert not is_request_rule(rule.id)
    judged = {ep.id for ep in RULEBOOK.endpoints
              if any(rule_applies(rule, {"status": s, "endpoint": ep.id, "target": f"/v1.14{ep.path}"})
                     for s in ep.statuses)}
    assert judged and "system.ping" not in judged
    proc = _pytest(tmp_path, "--pyargs", "conformance.suites", "-k", rule.id, "--v114-report", str(tmp_path / "r"),
                   "--co")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    collected = [line for line in proc.stdout.splitlines() if "::" in line]
    assert collected
    proc_all = _pytest(tmp_path, "--pyargs", "conformance.suites", "--co")
    everything = [line for line in proc_all.stdout.splitlines() if "::" in line]
    assert len(collected) < len(everything)
    assert not any("test_system.py::test_ping" in line for line in collected)
