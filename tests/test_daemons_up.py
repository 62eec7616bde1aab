"""The fixtures give working daemons, and record_session gives a readable flow file and HAR."""

from __future__ import annotations

import json
import struct

import pytest
from mitmproxy import http
from mitmproxy.io import FlowReader

from tests.daemons import uds_client
from tests.recording import record_session


def _run_echo(url: str, name: str) -> tuple[int, bytes]:
    """create + start + wait + logs + delete of `echo hi` in busybox, over /v1.14/."""
    with uds_client(url) as c:
        r = c.post(
            "/v1.14/containers/create",
            params={"name": name},
            json={"Image": "busybox", "Cmd": ["echo", "hi"], "HostConfig": {"NetworkMode": "none"}},
        )
        assert r.status_code == 201, r.text
        cid = r.json()["Id"]
        try:
            r = c.post(f"/v1.14/containers/{cid}/start")
            assert r.status_code == 204, r.text
            r = c.post(f"/v1.14/containers/{cid}/wait")
            assert r.status_code == 200, r.text
            code = r.json()["StatusCode"]
            r = c.get(f"/v1.14/containers/{cid}/logs", params={"stdout": "1"})
            assert r.status_code == 200, r.text
            return code, r.content
        finally:
            c.delete(f"/v1.14/containers/{cid}", params={"force": "1"})


def _payload(frames: bytes) -> bytes:
    out, i = b"", 0
    while i + 8 <= len(frames):
        _stream, size = struct.unpack_from(">BxxxL", frames, i)
        out += frames[i + 8 : i + 8 + size]
        i += 8 + size
    assert i == len(frames), "trailing bytes after the last frame"
    return out


def test_dockerd_ping_and_busybox(dockerd_url, unique_name):
    with uds_client(dockerd_url) as c:
        r = c.get("/v1.14/_ping")
        assert (r.status_code, r.text) == (200, "OK")
        assert c.get("/v1.14/version").json()["ApiVersion"]
    code, logs = _run_echo(dockerd_url, unique_name)
    assert code == 0
    assert _payload(logs) == b"hi\n"


def test_podman_ping_and_busybox(podman_url, unique_name):
    with uds_client(podman_url) as c:
        r = c.get("/v1.14/_ping")
        assert (r.status_code, r.text) == (200, "OK")
    code, logs = _run_echo(podman_url, unique_name)
    assert code == 0
    assert _payload(logs) == b"hi\n"


@pytest.mark.slow
@pytest.mark.parametrize("daemon", ["dockerd_url", "podman_url"])
def test_record_session(daemon, request, tmp_path, unique_name):
    url = request.getfixturevalue(daemon)
    rec = record_session(url, tmp_path, prefix=unique_name)

    with open(rec.flows_path, "rb") as f:
        flows = list(FlowReader(f).stream())
    assert all(isinstance(fl, http.HTTPFlow) for fl in flows)
    got = [(fl.request.method, fl.request.path, fl.response.status_code if fl.response else None) for fl in flows]
    assert got == rec.exchanges
    assert len(rec.exchanges) == 23
    assert all(p.startswith("/v1.14/") for _, p, _ in rec.exchanges)

    har = json.loads(rec.har_path.read_text())
    entries = har["log"]["entries"]
    assert len(entries) == len(flows)
    assert [(e["request"]["method"], e["response"]["status"]) for e in entries] == [(m, s) for m, _, s in rec.exchanges]

    status = {
        (m, p.split("?")[0].replace(rec.container_ids["a"], "A").replace(rec.container_ids["b"], "B")): s
        for m, p, s in rec.exchanges
    }
    # the answers both daemons agree on
    assert status[("GET", "/v1.14/_ping")] == 200
    assert status[("POST", "/v1.14/containers/A/start")] == 204
    assert status[("POST", "/v1.14/containers/A/wait")] == 200
    assert status[("GET", "/v1.14/containers/nonexistent/json")] == 404
    export = next(fl for fl in flows if fl.request.path.endswith("/export"))
    assert export.response.status_code == 200
    assert export.response.content[257:262] == b"ustar"  # a tar archive
    if daemon == "dockerd_url":
        assert status[("POST", "/v1.14/containers/A/stop")] == 304
        logs = next(fl for fl in flows if "/logs" in fl.request.path)
        assert sorted(_payload(logs.response.content).splitlines()) == [b"err", b"out"]
