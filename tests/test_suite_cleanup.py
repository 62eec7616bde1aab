"""The suite leaves nothing behind: containers go with their volumes, images with the untagged layers built on
them, also when the run is interrupted with SIGINT (issue 13, item 8)."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import httpx
import pytest

from conformance.busybox import busybox_rootfs
from conformance.checker import Checker
from conformance.daemon import DaemonThread
from conformance.daemonurl import parse_daemon_url
from suites.client import DaemonClient, ExchangeLog
from suites.resources import Names, ResourceLedger

SUITES = Path(__file__).resolve().parent.parent / "suites"


def _context(dockerfile: str) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(dockerfile.encode())
        tar.addfile(info, io.BytesIO(dockerfile.encode()))
    return buf.getvalue()


def _leftovers(http: httpx.Client) -> tuple[list, list]:
    return http.get("/v1.14/containers/json", params={"all": 1}).json() or [], \
        http.get("/v1.14/images/json", params={"all": 1}).json() or []


@pytest.fixture
def daemon():
    thread = DaemonThread(())
    url = thread.start()
    http = httpx.Client(transport=httpx.HTTPTransport(uds=parse_daemon_url(url).path), base_url="http://docker")
    yield url, http
    http.close()
    thread.stop()


def test_clean_removes_untagged_descendants_and_the_containers_made_from_them(daemon):
    url, http = daemon
    names = Names("v114s-abcdef-m")
    ledger = ResourceLedger(names)
    api = DaemonClient(parse_daemon_url(url), Checker(), ExchangeLog(), on_created=ledger.note)
    repo = f"{names.prefix}-busybox"
    ledger.note("image", f"{repo}:latest")
    assert api.post("/images/create", {"fromSrc": "-", "repo": repo, "tag": "latest"}, body=busybox_rootfs(),
                    headers={"Content-Type": "application/tar"}).status == 200
    # a build without a tag (as one cut short leaves its layers): untagged images on top of the run's image
    r = api.post("/build", {"rm": 0}, body=_context(f"FROM {repo}\nENV A 1\nENV B 2\n"),
                 headers={"Content-Type": "application/tar"})
    assert r.status == 200 and b"Successfully built" in r.content, r.text
    built = r.text.rsplit("Successfully built ", 1)[1][:12]
    # a container of it that nobody noted, with an anonymous volume
    made = http.post("/v1.14/containers/create", json={"Image": built, "Cmd": ["true"], "Volumes": {"/data": {}}})
    assert made.status_code == 201
    containers, images = _leftovers(http)
    assert len(images) >= 3 and containers
    assert ledger.clean(api) == []
    assert _leftovers(http) == ([], [])
    api.close()


def _serve(sock: Path) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "conformance", "serve", "--listen", f"unix://{sock}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while not sock.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sock.exists(), "conformance serve did not start"
    return proc


def test_sigint_during_the_build_tests_still_removes_everything(tmp_path):
    """^C while the build tests run (the test image imported, builds under way): the run stops, and the
    daemon is left as it was, without images or containers."""
    sock = tmp_path / "d.sock"
    served = _serve(sock)
    http = httpx.Client(transport=httpx.HTTPTransport(uds=str(sock)), base_url="http://docker")
    try:
        env = {k: v for k, v in os.environ.items() if k != "DOCKER_HOST"}
        suite = subprocess.Popen(
            [sys.executable, "-m", "pytest", str(SUITES), "-q", "-p", "no:cacheprovider", "--rootdir", str(SUITES),
             "-c", os.devnull, "--v114-daemon", f"unix://{sock}", "-k", "test_build or system.build"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, cwd=SUITES.parent)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # interrupt once a build has added an image on top of the import
            if len(_leftovers(http)[1]) >= 2:
                break
            time.sleep(0.02)
        else:
            pytest.fail("no build started within 60 s")
        suite.send_signal(signal.SIGINT)
        out, _ = suite.communicate(timeout=60)
        assert suite.returncode == 2, out.decode()[-2000:]  # pytest's "interrupted"
        assert _leftovers(http) == ([], []), out.decode()[-2000:]
    finally:
        http.close()
        served.terminate()
        served.wait(10)


def test_an_image_the_run_only_tagged_is_not_its_own(daemon):
    """--v114-image: the user's image (older than the run) and what is built on it stay; only the tag goes."""
    url, http = daemon
    theirs = http.post("/v1.14/images/create", params={"fromSrc": "-", "repo": "users-image", "tag": "latest"},
                       content=busybox_rootfs(), headers={"Content-Type": "application/tar"})
    assert theirs.status_code == 200
    built = http.post("/v1.14/build", params={"t": "users-child"}, content=_context("FROM users-image\nENV A 1\n"),
                      headers={"Content-Type": "application/tar"})
    assert built.status_code == 200
    before = {i["Id"] for i in _leftovers(http)[1]}
    names = Names("v114s-fedcba-m")
    ledger = ResourceLedger(names, started=time.time() + 10)  # the run began after those images were made
    api = DaemonClient(parse_daemon_url(url), Checker(), ExchangeLog(), on_created=ledger.note)
    assert api.post("/images/users-image/tag", {"repo": f"{names.prefix}-tagged"}).status == 201
    assert ledger.clean(api) == []
    images = _leftovers(http)[1]
    assert {i["Id"] for i in images} == before
    assert not any(t.startswith(names.prefix) for i in images for t in i["RepoTags"])
    api.close()
