"""The reference daemon under real clients: 50 concurrent HTTP clients, the docker CLI pinned to API 1.14,
and `conformance serve` as a process."""

from __future__ import annotations

import os
import shutil
import signal
import stat
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from conformance.daemon import DEVIATIONS, DaemonThread
from conformance.daemon.fixtures import busybox_tar

DOCKER = shutil.which("docker") or "/usr/local/bin/docker"


def client(path: str) -> httpx.Client:
    return httpx.Client(transport=httpx.HTTPTransport(uds=path), base_url="http://docker", timeout=20)


def test_fifty_concurrent_clients_leave_consistent_state():
    with DaemonThread() as running:
        with client(running.socket_path) as api:
            api.post("/v1.14/images/create?fromSrc=-&repo=busybox", content=busybox_tar())

        def worker(i: int) -> tuple[int, int, int, int]:
            with client(running.socket_path) as api:
                body = {"Image": "busybox", "Cmd": ["sh", "-c", f"echo {i}"]}
                created = api.post("/v1.14/containers/create", params={"name": f"c{i}"}, json=body)
                clash = api.post("/v1.14/containers/create", params={"name": f"c{(i + 1) % 50}"}, json=body)
                assert clash.status_code in (201, 409)
                if clash.status_code == 201:  # got the name before its owner: remove it again
                    api.delete(f"/v1.14/containers/{clash.json()['Id']}", params={"force": 1})
                if created.status_code != 201:  # the neighbour holds (or held) the name: not ours to drive
                    return created.status_code, 0, 0, 0
                cid = created.json()["Id"]
                started = api.post(f"/v1.14/containers/{cid}/start")
                waited = api.post(f"/v1.14/containers/{cid}/wait").json()["StatusCode"]
                api.get("/v1.14/containers/json", params={"all": 1}).raise_for_status()
                removed = api.delete(f"/v1.14/containers/{cid}")
                return created.status_code, started.status_code, waited, removed.status_code

        with ThreadPoolExecutor(max_workers=50) as pool:
            results = list(pool.map(worker, range(50)))
        ok = [r for r in results if r[0] == 201]
        assert all(r == (201, 204, 0, 204) for r in ok)
        with client(running.socket_path) as api:
            leftover = api.get("/v1.14/containers/json", params={"all": 1}).json()
            created_ok = len(ok)
        state = running.daemon.state
        assert leftover == [] and state.containers == {} and state.names == {}
        assert created_ok + sum(1 for r in results if r[0] == 409) == 50


# --- the docker CLI -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cli(tmp_path_factory):
    if not os.access(DOCKER, os.X_OK):
        if os.environ.get("CI"):
            pytest.fail("no docker CLI on a CI machine (docker.io installs one)")
        pytest.skip("no docker CLI")
    home = tmp_path_factory.mktemp("docker-config")
    image = home / "busybox.tar"
    image.write_bytes(busybox_tar())
    with DaemonThread() as running:
        env = {**os.environ, "DOCKER_HOST": running.url, "DOCKER_API_VERSION": "1.14",
               "DOCKER_CONFIG": str(home)}

        def docker(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
            return subprocess.run([DOCKER, *args], env=env, input=stdin, capture_output=True, timeout=20)

        docker.image = str(image)  # type: ignore[attr-defined]
        yield docker


def test_cli_version_import_images(cli):
    out = cli("version")
    assert out.returncode == 0 and b"1.2.0" in out.stdout and b"1.14" in out.stdout
    out = cli("import", cli.image, "busybox:latest")
    assert out.returncode == 0 and len(out.stdout.strip()) == 64
    out = cli("images")
    assert out.returncode == 0 and b"busybox" in out.stdout


def test_cli_create_start_wait_logs_rm(cli):
    cid = cli("create", "--name", "clic", "busybox", "sh", "-c", "echo hi; echo err >&2; exit 3")
    assert cid.returncode == 0, cid.stderr
    assert cli("start", "clic").stdout.strip() == b"clic"
    assert cli("wait", "clic").stdout.strip() == b"3"
    out = cli("logs", "clic")
    assert (out.stdout, out.stderr) == (b"hi\n", b"err\n")
    assert b"Exited (3)" in cli("ps", "-a").stdout
    assert cli("rm", "clic").returncode == 0
    assert b"clic" not in cli("ps", "-a").stdout


def test_cli_run(cli):
    # The CLI reads the exit code of API < 1.30 runs from the events' Actor attributes, which v1.14 never
    # had: output is right, the exit status is the CLI's fallback 125.
    out = cli("run", "--rm", "busybox", "echo", "hi")
    assert out.stdout == b"hi\n" and out.returncode == 125
    out = cli("run", "-i", "busybox", "cat", stdin=b"hello\nworld\n")
    assert out.stdout == b"hello\nworld\n"


def test_cli_tag_rmi(cli):
    assert cli("tag", "busybox", "mybox:v1").returncode == 0
    # The CLI sends repo=docker.io/library/mybox; 1.2.0 stored that name as given.
    assert cli("rmi", "mybox:v1").returncode != 0
    out = cli("rmi", "docker.io/library/mybox:v1")
    assert out.returncode == 0 and b"Untagged" in out.stdout


def test_cli_save_needs_a_later_route(cli):
    out = cli("save", "busybox")
    assert out.returncode != 0 and b"404 page not found" in out.stderr


# --- `conformance serve` --------------------------------------------------------------------------------


def test_serve_command(tmp_path):
    sock = tmp_path / "d.sock"
    proc = subprocess.Popen([sys.executable, "-m", "conformance", "serve", "--listen", f"unix://{sock}"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        line = proc.stdout.readline().decode().strip()
        assert line == f"DOCKER_HOST=unix://{sock}"
        assert stat.S_IMODE(os.stat(sock).st_mode) == 0o600
        with client(str(sock)) as api:
            assert api.get("/_ping").text == "OK"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
        assert not sock.exists()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_serve_refuses_non_loopback_and_lists_deviations():
    out = subprocess.run([sys.executable, "-m", "conformance", "serve", "--listen", "tcp://0.0.0.0:0"],
                         capture_output=True, timeout=20)
    assert out.returncode == 2 and b"loopback only" in out.stderr
    out = subprocess.run([sys.executable, "-m", "conformance", "serve", "--list-deviations"],
                         capture_output=True, timeout=20)
    lines = out.stdout.decode().splitlines()
    assert out.returncode == 0 and len(lines) == len(DEVIATIONS) >= 15
    out = subprocess.run([sys.executable, "-m", "conformance", "serve", "--deviate", "bogus"],
                         capture_output=True, timeout=20)
    assert out.returncode == 2


def test_tcp_loopback():
    with DaemonThread(listen="tcp://127.0.0.1:0") as running:
        assert running.url.startswith("tcp://127.0.0.1:")
        port = running.url.rsplit(":", 1)[1]
        assert httpx.get(f"http://127.0.0.1:{port}/_ping").text == "OK"
