"""A docker CLI session recorded through `conformance proxy --record` (CI dockerd and podman): `check` says
what the live proxy said, exchange by exchange, under the same ids; streams the client ended are no
truncation.

The session: `docker events` ended by the client (SIGTERM, as `timeout` does) while `docker run`
runs, `docker run -d` of a ticking container, `docker logs -f` of it ended by the client, `docker rm -f`.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.proxy_cli import ProxyProcess, run_cli

DOCKER = shutil.which("docker")


def _env(proxy_url: str, config: Path) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(config), "DOCKER_CONFIG": str(config),
            "DOCKER_HOST": proxy_url, "DOCKER_API_VERSION": "1.14"}


def _docker(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    assert DOCKER, "the docker CLI is needed (CI installs it)"
    return subprocess.run([DOCKER, *args], env=env, capture_output=True, timeout=120)


def _cut_after(env: dict[str, str], seconds: float, *args: str, during=None) -> bytes:
    """Run a streaming docker command, do `during()`, then end it the way `timeout` does (SIGTERM)."""
    assert DOCKER, "the docker CLI is needed (CI installs it)"
    proc = subprocess.Popen([DOCKER, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        time.sleep(0.5)
        if during is not None:
            during()
        time.sleep(seconds)
        assert proc.poll() is None, f"docker {args} ended by itself: {proc.communicate()}"
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    return out


def _check(*args: str) -> tuple[int, list[dict]]:
    proc = run_cli("check", "--format", "json", *args)
    assert proc.returncode in (0, 1), proc.stderr.decode()
    return proc.returncode, [json.loads(line) for line in proc.stdout.decode().splitlines()]


def _rules(findings: list[dict]) -> list[str]:
    return sorted(f["rule"] for f in findings)


@pytest.fixture
def workdir():
    import tempfile
    d = Path(tempfile.mkdtemp(prefix="cft-chk-", dir="/tmp"))  # short: Unix socket paths are limited
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.mark.parametrize("daemon", ["dockerd_url", "podman_url"], ids=["dockerd", "podman"])
def test_check_of_a_recorded_cli_session_agrees_with_the_live_proxy(request, daemon, name_prefix, workdir):
    daemon_url = request.getfixturevalue(daemon)
    config = workdir / "config"
    config.mkdir()
    ticker, once = f"{name_prefix}-tick", f"{name_prefix}-once"
    with ProxyProcess(workdir, daemon_url, fail_on="error") as proxy:
        env = _env(proxy.url, config)
        try:
            # (no --rm: podman 4.3 never ends a v1.14 `run --rm`, with or without the proxy)
            events = _cut_after(env, 1.0, "events", during=lambda: _docker(
                env, "run", "--name", once, "--network", "none", "busybox", "echo", "hi"))
            run = _docker(env, "run", "-d", "--network", "none", "--name", ticker, "busybox",
                          "sh", "-c", "while :; do echo tick; sleep 0.2; done")
            assert run.returncode == 0, run.stderr
            logs = _cut_after(env, 1.0, "logs", "-f", ticker)
        finally:
            subprocess.run([DOCKER or "docker", "rm", "-f", ticker, once], capture_output=True, timeout=60,
                           env={**env, "DOCKER_HOST": daemon_url})
    assert b"start" in events and b"tick" in logs  # the streams carried something before the cut

    live = proxy.log_lines
    cut = [line for line in live if "disconnect" in (line.get("error") or "").lower()]
    # `events` and `logs -f` at least (docker run may open and leave streams of its own)
    assert len(cut) >= 2, [(line["path"], line.get("error")) for line in live]
    assert {line["path"].split("?")[0].rsplit("/", 1)[-1] for line in cut} >= {"events", "logs"}
    assert not any(f["rule"] == "v114.body.truncated" for line in live for f in line["findings"])

    rc, checked = _check(str(proxy.record_path))
    assert sorted(e["id"] for e in checked) == sorted(line["id"] for line in live)
    by_id = {e["id"]: e for e in checked}
    for line in live:  # same exchange, same findings
        entry = by_id[line["id"]]
        assert (entry["method"], entry["path"]) == (line["method"], line["path"])
        assert _rules(entry["findings"]) == _rules(line["findings"]), line["path"]
    assert not any(f["rule"] == "v114.body.truncated" for e in checked for f in e["findings"])
    for line in cut:
        assert "cut by the client" in by_id[line["id"]]["note"]

    live_errors = sorted({f["rule"] for line in live for f in line["findings"] if f["severity"] == "error"})
    assert rc == (1 if live_errors else 0) == proxy.returncode  # `proxy --fail-on error` gates alike
    ignored = [arg for rule in live_errors for arg in ("--ignore", rule)]
    assert _check(str(proxy.record_path), *ignored)[0] == 0  # nothing but what the live proxy found

    text = run_cli("check", str(proxy.record_path), *ignored)
    assert text.returncode == 0
    for line in cut:
        assert f"#{line['id']} {line['method']} ".encode() in text.stdout

    har = workdir / "session.har"
    assert run_cli("export", str(proxy.record_path), "--har", str(har)).returncode == 0
    entries = json.loads(har.read_text())["log"]["entries"]
    assert sorted(e["_id"] for e in entries) == sorted(line["id"] for line in live)
    assert {e["_id"] for e in entries if e.get("_cut") == "client"} == {line["id"] for line in cut}
    rc_har, from_har = _check(str(har))
    assert rc_har == rc
    assert [(e["id"], _rules(e["findings"])) for e in from_har] == [(e["id"], _rules(e["findings"])) for e in checked]
