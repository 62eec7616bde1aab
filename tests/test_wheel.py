"""The wheel is a real install: built from the tracked files, installed into a fresh venv with nothing
else, `conformance suite` runs the whole suite from an unrelated directory and writes a real report.

Runs on whichever Python runs the tests (CI: 3.11 and a newer one), so the environment markers that
choose mitmproxy 11 or 12 are exercised too. Slow (a venv, ~50 dependencies from the package index or
pip's cache), so one module-scoped install serves every test here.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# repository directory -> the import name it is installed under (setup.py says the same)
INSTALLED_AS = {"conformance": "conformance", "suites": "conformance/suites", "proxy_addons": "conformance/proxy_addons"}

pytestmark = pytest.mark.slow


def _tracked_files() -> list[str]:
    out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=ROOT,
                         capture_output=True, check=True).stdout.decode()
    return [f for f in out.split("\0") if f and (ROOT / f).is_file()]


def _clean_env() -> dict[str, str]:
    drop = {"DOCKER_HOST", "PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME", "PYTEST_ADDOPTS", "PYTEST_XDIST_WORKER",
            "PYTEST_XDIST_WORKER_COUNT", "PYTEST_CURRENT_TEST"}
    return {k: v for k, v in os.environ.items() if k not in drop}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """Build the wheel from a copy of the tracked files (no stale build/ of the work tree can leak in)."""
    src = tmp_path_factory.mktemp("src")
    for rel in _tracked_files():
        dest = src / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, dest)
    out = tmp_path_factory.mktemp("dist")
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--disable-pip-version-check", "--no-deps",
                           "-w", str(out), str(src)], capture_output=True, text=True, timeout=600, env=_clean_env())
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    (whl,) = out.glob("docker_v114_conformance-*.whl")
    return whl


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory) -> Path:
    """A fresh venv (no system site-packages) with the wheel and its dependencies and nothing else."""
    env_dir = tmp_path_factory.mktemp("venv") / "v"
    subprocess.run([sys.executable, "-m", "venv", str(env_dir)], check=True, timeout=120)
    proc = subprocess.run([str(env_dir / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                           str(wheel)], capture_output=True, text=True, timeout=900, env=_clean_env())
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return env_dir


def test_wheel_holds_every_package_file_under_one_top_level_name(wheel: Path):
    names = set(zipfile.ZipFile(wheel).namelist())
    top = {n.split("/", 1)[0] for n in names if not n.split("/", 1)[0].endswith(".dist-info")}
    assert top == {"conformance"}, f"the wheel installs generic top-level names: {sorted(top)}"
    expected = set()
    for rel in _tracked_files():
        head, _, rest = rel.partition("/")
        if head in INSTALLED_AS and rest and "__pycache__" not in rel:
            expected.add(f"{INSTALLED_AS[head]}/{rest}")
    assert expected, "no package files found in the repository"
    missing = sorted(expected - names)
    assert not missing, f"tracked package files missing from the wheel: {missing}"
    meta = next(n for n in names if n.endswith(".dist-info/METADATA"))
    text = zipfile.ZipFile(wheel).read(meta).decode()
    for needed in ("License-Expression: MIT", "Requires-Dist: pytest", "Requires-Dist: hypothesis",
                   "Classifier: Programming Language :: Python :: 3.13", "Project-URL:"):
        assert needed in text, f"{needed!r} not in the wheel's METADATA"
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    entry_points = zipfile.ZipFile(wheel).read(meta.replace("METADATA", "entry_points.txt")).decode()
    assert "conformance.suites.plugin" in entry_points


def test_installed_suite_runs_from_any_directory(venv: Path, tmp_path: Path):
    """`conformance suite` from the wheel against the reference daemon, run from an empty directory.

    One test for the whole venv: under xdist, tests of one module may land on two workers, and each
    would build a venv of its own."""
    code = ("import importlib.util as u, conformance.suites.plugin, conformance.proxy_addons.docker_conformance;"
            "print([n for n in ('suites', 'proxy_addons') if u.find_spec(n)])")
    proc = subprocess.run([str(venv / "bin" / "python"), "-c", code], capture_output=True, text=True,
                          cwd=venv.parent, env=_clean_env(), timeout=60)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip() == "[]", f"generic names importable from the install: {proc.stdout}"
    work = tmp_path / "elsewhere"
    work.mkdir()
    proc = subprocess.run([str(venv / "bin" / "conformance"), "suite", "--no-progress"], cwd=work,
                          capture_output=True, text=True, env=_clean_env(), timeout=600)
    out = proc.stdout[-4000:] + proc.stderr[-4000:]
    assert proc.returncode == 0, out
    assert "PytestAssertRewriteWarning" not in out, out
    report = json.loads((work / "reports" / "reference" / "report.json").read_text())
    counts = report["summary"]["tests"]
    assert counts["passed"] >= 50 and counts["passed"] == sum(counts.values()), counts
    assert (work / "reports" / "reference" / "junit.xml").stat().st_size > 0
