"""The docker CLI through the proxy to the reference daemon: the recording the proxy writes, checked
offline, shows zero findings (issue 4: `conformance serve` then `conformance check` on a flow file
recorded through the proxy). The daemon and the checker never share code, so this is a real test."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from conformance.cli import main
from conformance.daemon import DaemonThread
from conformance.daemon.fixtures import busybox_tar
from conformance.daemonurl import parse_daemon_url
from conformance.proxy.threaded import ProxyThread

DOCKER = shutil.which("docker") or "/usr/local/bin/docker"
# Today's CLI sends later-API requests (HEAD /_ping, create keys v1.14 never read): those findings
# are about the request. The daemon's side must be clean but for the note that it answered the
# CLI's `Upgrade: tcp` attach with 101, the reference daemon's one deliberate extension.
RESPONSE_NOTES = {"v114.hijack.upgrade"}


@pytest.fixture
def cli_env(tmp_path):
    if not os.access(DOCKER, os.X_OK):
        if os.environ.get("CI"):
            pytest.fail("no docker CLI on a CI machine")
        pytest.skip("no docker CLI")
    return {**os.environ, "DOCKER_API_VERSION": "1.14", "DOCKER_CONFIG": str(tmp_path / "cfg")}


def test_cli_session_recorded_through_proxy_has_no_findings(tmp_path, cli_env, capsys):
    record = tmp_path / "session.mitm"
    image = tmp_path / "busybox.tar"
    image.write_bytes(busybox_tar())
    with DaemonThread() as daemon:
        upstream = parse_daemon_url(daemon.url)
        listen = parse_daemon_url(f"unix://{tmp_path}/proxy.sock")
        with ProxyThread(listen, upstream, record_path=str(record)) as proxy:
            env = {**cli_env, "DOCKER_HOST": str(proxy.url)}

            def docker(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
                return subprocess.run([DOCKER, *args], input=stdin, capture_output=True, env=env, timeout=60)

            assert docker("import", str(image), "busybox:latest").returncode == 0
            assert docker("version").returncode == 0
            assert docker("images").returncode == 0
            created = docker("create", "--name", "rec1", "busybox", "sh", "-c", "echo out; echo err >&2")
            assert created.returncode == 0, created.stderr
            assert docker("start", "rec1").returncode == 0
            assert docker("wait", "rec1").stdout.strip() == b"0"
            logs = docker("logs", "rec1")
            assert (logs.stdout, logs.stderr) == (b"out\n", b"err\n")
            assert docker("ps", "-a").returncode == 0
            assert docker("rm", "rec1").returncode == 0
            lines = list(proxy.lines)
    assert lines, "the proxy saw no exchange"
    live = {f["rule"] for line in lines for f in line["findings"] if f["side"] == "response"}
    assert live <= RESPONSE_NOTES, live
    code = main(["check", str(record), "--format", "json"])
    offline = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert code == 0  # no error finding, on either side
    assert len(offline) == len(lines)
    assert {f["rule"] for x in offline for f in x["findings"] if f["side"] == "response"} <= RESPONSE_NOTES
    # the request side is judged too: the CLI's HEAD /_ping is a later route
    assert "v114.route.later-api" in {f["rule"] for x in offline for f in x["findings"] if f["side"] == "request"}
