"""Run the conformance suite in a subprocess (as CI and `conformance suite` do) and load its report."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

SUITES = Path(__file__).resolve().parent.parent / "suites"


def run_suite(report_dir: Path, *args: str, timeout: float = 120) -> tuple[int, dict, str]:
    """(exit code, report.json, output) of `pytest suites --v114-report DIR ARGS...`."""
    env = {k: v for k, v in os.environ.items() if k != "DOCKER_HOST"}
    # rootdir and config as `conformance suite` sets them (no ini file beside the suite any more), so
    # node ids read `test_x.py::...` as in the committed sample reports
    cmd = [sys.executable, "-m", "pytest", str(SUITES), "-q", "-p", "no:cacheprovider", "--rootdir", str(SUITES),
           "-c", os.devnull, "--v114-report",
           str(report_dir), "--junitxml", str(report_dir / "junit.xml"), *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, cwd=SUITES.parent)
    report_path = report_dir / "report.json"
    report = json.loads(report_path.read_text()) if report_path.exists() else {}
    return proc.returncode, report, proc.stdout[-4000:] + proc.stderr[-2000:]
