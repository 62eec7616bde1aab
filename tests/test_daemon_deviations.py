"""Each `--deviate` fault changes exactly what it says, and names a rule of the catalogue."""

from __future__ import annotations

import io
import json
import socket
import tarfile
import time

import httpx
import pytest

from conformance.daemon import DEVIATIONS, DaemonThread
from conformance.daemon.deviations import resolve
from conformance.daemon.fixtures import busybox_tar
from conformance.spec import RULES


def client(running: DaemonThread) -> httpx.Client:
    return httpx.Client(transport=httpx.HTTPTransport(uds=running.socket_path), base_url="http://docker",
                        timeout=10)


def prepare(api: httpx.Client) -> None:
    api.post("/v1.14/images/create?fromSrc=-&repo=busybox", content=busybox_tar())


def ran(api: httpx.Client, cmd: list[str], **config) -> str:
    cid = api.post("/v1.14/containers/create", json={"Image": "busybox", "Cmd": cmd, **config}).json()["Id"]
    api.post(f"/v1.14/containers/{cid}/start")
    api.post(f"/v1.14/containers/{cid}/wait")
    return cid


def raw_attach(running: DaemonThread, cid: str, extra: str = "") -> bytes:
    sock = socket.socket(socket.AF_UNIX)
    sock.settimeout(5)
    sock.connect(running.socket_path)
    sock.sendall(f"POST /v1.14/containers/{cid}/attach?logs=1&stdout=1 HTTP/1.1\r\nHost: d\r\n{extra}\r\n".encode())
    out = b""
    while chunk := sock.recv(65536):
        out += chunk
    sock.close()
    return out


def logs(api, cid, **params) -> bytes:
    return api.get(f"/v1.14/containers/{cid}/logs", params={"stdout": 1, "stderr": 1, **params}).content


# name -> (check on the deviant daemon, same check must fail on a clean daemon)
def check_json_errors(api, running):
    r = api.get("/v1.14/containers/nothere/json")
    assert r.headers["content-type"] == "application/json" and r.json() == {"message": "No such container: nothere"}


def check_frame_stream_type_3(api, running):
    cid = ran(api, ["sh", "-c", "echo o; echo e >&2"])
    assert logs(api, cid) == b"\x01\0\0\0\0\0\0\x02o\n\x03\0\0\0\0\0\0\x02e\n"


def check_frame_padding(api, running):
    cid = ran(api, ["echo", "o"])
    assert logs(api, cid) == b"\x01\x01\x01\x01\0\0\0\x02o\n"


def check_frame_truncated(api, running):
    cid = ran(api, ["echo", "hello"])
    assert logs(api, cid) == b"\x01\0\0\0\0\0\0\x06hel"


def check_tty_frames(api, running):
    cid = ran(api, ["echo", "o"], Tty=True)
    assert logs(api, cid) == b"\x01\0\0\0\0\0\0\x03o\r\n"


def check_json_no_content_type(api, running):
    assert "content-type" not in api.get("/v1.14/containers/json").headers
    assert api.get("/_ping").headers["content-type"] == "text/plain; charset=utf-8"


def check_get_json_content_type(api, running):
    assert api.get("/v1.14/images/busybox/get").headers["content-type"] == "application/json"


def check_changes_null(api, running):
    assert api.get(f"/v1.14/containers/{ran(api, ['true'])}/changes").content == b"null\n"


def check_create_200(api, running):
    assert api.post("/v1.14/containers/create", json={"Image": "busybox", "Cmd": ["true"]}).status_code == 200


def check_wait_404(api, running):
    r = api.post("/v1.14/containers/nothere/wait")
    assert (r.status_code, r.text) == (404, "No such container: nothere\n")


def check_error_wording(api, running):
    r = api.get("/v1.14/containers/nothere/json")
    assert (r.status_code, r.text) == (404, 'no container with name or ID "nothere" found: no such container\n')


def check_no_content_body(api, running):
    cid = api.post("/v1.14/containers/create", json={"Image": "busybox", "Cmd": ["true"]}).json()["Id"]
    sock = socket.socket(socket.AF_UNIX)
    sock.settimeout(5)
    sock.connect(running.socket_path)
    sock.sendall(f"POST /v1.14/containers/{cid}/start HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n".encode())
    out = b""
    while chunk := sock.recv(65536):
        out += chunk
    assert out == b"HTTP/1.1 204 No Content\r\nContent-Length: 2\r\n\r\nOK"


def check_inspect_no_state(api, running):
    cid = api.post("/v1.14/containers/create", json={"Image": "busybox", "Cmd": ["true"]}).json()["Id"]
    body = api.get(f"/v1.14/containers/{cid}/json").json()
    assert "State" not in body and "Config" in body


def check_list_trailing_comma(api, running):
    ran(api, ["true"])
    body = api.get("/v1.14/containers/json?all=1").content
    assert body.endswith(b"}\n,]")
    with pytest.raises(ValueError):
        json.loads(body)


def check_info_booleans(api, running):
    info = api.get("/v1.14/info").json()
    assert info["Debug"] is False and info["MemoryLimit"] is True and isinstance(info["Containers"], int)


def check_sha256_ids(api, running):
    r = api.post("/v1.14/containers/create", json={"Image": "busybox", "Cmd": ["true"]})
    assert r.json()["Id"].startswith("sha256:")
    assert api.get("/v1.14/images/json").json()[0]["Id"].startswith("sha256:")


def check_api_version_141(api, running):
    assert api.get("/v1.14/version").json()["ApiVersion"] == "1.41"


def check_events_no_time(api, running):
    since = int(time.time()) - 1
    ran(api, ["true"])
    body = api.get("/v1.14/events", params={"since": since, "until": int(time.time()) + 1}).text
    assert body.startswith('{"status":"create"') and '"time"' not in body


def check_events_window_ignored(api, running):
    ran(api, ["true"])
    body = api.get("/v1.14/events", params={"since": int(time.time()) + 100, "until": int(time.time())}).text
    assert '"status":"create"' in body


def check_jsonmessage_error_only(api, running):
    r = api.post("/v1.14/images/create", params={"fromImage": "ubuntu"})
    last = json.loads(r.content.split(b"\r\n")[-2])
    assert "error" in last and "errorDetail" not in last


def check_jsonmessage_truncated(api, running):
    r = api.post("/v1.14/images/create?fromSrc=-&repo=x", content=busybox_tar())
    with pytest.raises(ValueError):
        json.loads(r.content)


def check_image_tar_no_version(api, running):
    with tarfile.open(fileobj=io.BytesIO(api.get("/v1.14/images/busybox/get").content)) as tar:
        names = tar.getnames()
    assert "repositories" in names and not any(n.endswith("/VERSION") for n in names)
    assert any(n.endswith("/layer.tar") for n in names)


def check_copy_wrong_name(api, running):
    cid = ran(api, ["true"])
    r = api.post(f"/v1.14/containers/{cid}/copy", json={"Resource": "/etc/passwd"})
    with tarfile.open(fileobj=io.BytesIO(r.content)) as tar:
        assert tar.getnames() == ["resource"]


def check_ping_pong(api, running):
    assert api.get("/_ping").content == b"pong"


def check_tag_body(api, running):
    r = api.post("/v1.14/images/busybox/tag?repo=again")
    assert (r.status_code, r.content) == (201, b"OK")


def check_attach_always_101(api, running):
    cid = ran(api, ["echo", "x"])
    assert raw_attach(running, cid).startswith(b"HTTP/1.1 101 UPGRADED\r\n")


def check_attach_content_type(api, running):
    cid = ran(api, ["echo", "x"])
    assert raw_attach(running, cid).startswith(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n")


def check_websocket_binary(api, running):
    cid = ran(api, ["echo", "x"])
    sock = socket.socket(socket.AF_UNIX)
    sock.settimeout(5)
    sock.connect(running.socket_path)
    sock.sendall(f"GET /v1.14/containers/{cid}/attach/ws?logs=1&stdout=1 HTTP/1.1\r\nHost: d\r\n"
                 "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                 "Sec-WebSocket-Version: 13\r\nOrigin: http://localhost\r\n\r\n".encode())
    out = b""
    while chunk := sock.recv(65536):
        out += chunk
    assert out.split(b"\r\n\r\n", 1)[1].startswith(b"\x82\x02x\n")


def check_later_headers(api, running):
    r = api.get("/_ping")
    assert r.headers["api-version"] == "1.41" and r.headers["server"].startswith("Docker/")


def check_serve_newer_versions(api, running):
    assert api.get("/v1.41/version").status_code == 200


# lifecycle deviations
def running_container(api) -> str:
    cid = api.post("/v1.14/containers/create", json={"Image": "busybox", "Cmd": ["sleep", "600"]}).json()["Id"]
    assert api.post(f"/v1.14/containers/{cid}/start").status_code == 204
    return cid


def state_of(api, cid) -> dict:
    return api.get(f"/v1.14/containers/{cid}/json").json()["State"]


def check_start_running_204(api, running):
    assert api.post(f"/v1.14/containers/{running_container(api)}/start").status_code == 204


def check_stop_stopped_204(api, running):
    cid = ran(api, ["true"])
    assert api.post(f"/v1.14/containers/{cid}/stop?t=0").status_code == 204


def check_pause_paused_204(api, running):
    cid = running_container(api)
    api.post(f"/v1.14/containers/{cid}/pause")
    assert api.post(f"/v1.14/containers/{cid}/pause").status_code == 204


def check_kill_stopped_500(api, running):
    assert api.post(f"/v1.14/containers/{ran(api, ['true'])}/kill").status_code == 500


def check_rm_running_409(api, running):
    assert api.delete(f"/v1.14/containers/{running_container(api)}").status_code == 409


def check_rm_running_removes(api, running):
    cid = running_container(api)
    assert api.delete(f"/v1.14/containers/{cid}").status_code == 204
    assert api.get(f"/v1.14/containers/{cid}/json").status_code == 404


def check_top_stopped_200(api, running):
    assert api.get(f"/v1.14/containers/{ran(api, ['true'])}/top").status_code == 200


def check_kill_noop(api, running):
    cid = running_container(api)
    assert api.post(f"/v1.14/containers/{cid}/kill").status_code == 204
    time.sleep(0.1)
    assert state_of(api, cid)["Running"] is True


def check_stop_noop(api, running):
    cid = running_container(api)
    assert api.post(f"/v1.14/containers/{cid}/stop?t=0").status_code == 204
    assert state_of(api, cid)["Running"] is True


def check_pause_noop(api, running):
    cid = running_container(api)
    assert api.post(f"/v1.14/containers/{cid}/pause").status_code == 204
    assert state_of(api, cid)["Paused"] is False


def check_unpause_noop(api, running):
    cid = running_container(api)
    api.post(f"/v1.14/containers/{cid}/pause")
    assert api.post(f"/v1.14/containers/{cid}/unpause").status_code == 204
    assert state_of(api, cid)["Paused"] is True


def check_restart_leaves_stopped(api, running):
    cid = running_container(api)
    assert api.post(f"/v1.14/containers/{cid}/restart?t=0").status_code == 204
    assert state_of(api, cid)["Running"] is False


CHECKS = {name[len("check_"):].replace("_", "-"): fn for name, fn in globals().items() if name.startswith("check_")}
CHECKS["api-version-1.41"] = CHECKS.pop("api-version-141")


def test_catalogue():
    assert len(DEVIATIONS) >= 15
    for d in DEVIATIONS:
        assert d.rule in RULES, d
        assert d.description
    assert set(CHECKS) == {d.name for d in DEVIATIONS}
    assert resolve(["v114.text.ping"]) == {"ping-pong"}  # a rule id with one deviation selects it
    with pytest.raises(ValueError):
        resolve(["no-such-deviation"])


@pytest.fixture(scope="module")
def clean():
    with DaemonThread() as running, client(running) as api:
        prepare(api)
        yield running, api


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_deviation(name, clean):
    with DaemonThread([name]) as running, client(running) as api:
        prepare(api)
        CHECKS[name](api, running)
    clean_running, clean_api = clean
    with pytest.raises((AssertionError, KeyError, ValueError, IndexError, tarfile.TarError, httpx.HTTPError,
                        pytest.fail.Exception)):
        CHECKS[name](clean_api, clean_running)
