"""The reference daemon over a real Unix socket: every route, with Docker 1.2.0's exact behaviours."""

from __future__ import annotations

import io
import json
import tarfile
import time

import httpx
import pytest

from conformance.daemon import DaemonThread, handled_endpoints
from conformance.daemon.fixtures import busybox_tar, context_tar
from conformance.frames import FrameDecoder
from conformance.spec import RULEBOOK

HEX64 = r"^[0-9a-f]{64}$"


@pytest.fixture(scope="module")
def daemon():
    with DaemonThread() as running:
        yield running


@pytest.fixture(scope="module")
def api(daemon):
    with httpx.Client(transport=httpx.HTTPTransport(uds=daemon.socket_path), base_url="http://docker",
                      timeout=10) as client:
        client.post("/v1.14/images/create", params={"fromSrc": "-", "repo": "busybox", "tag": "latest"},
                    content=busybox_tar())
        yield client


def create(api, cmd, name=None, **config):
    body = {"Image": "busybox", "Cmd": cmd, **config}
    r = api.post("/v1.14/containers/create", params={"name": name} if name else None, json=body)
    assert r.status_code == 201, r.text
    return r.json()["Id"]


def run(api, cmd, **config):
    cid = create(api, cmd, **config)
    assert api.post(f"/v1.14/containers/{cid}/start").status_code == 204
    assert api.post(f"/v1.14/containers/{cid}/wait").status_code == 200
    return cid


def frames(body: bytes) -> list[tuple[int, bytes]]:
    decoder = FrameDecoder()
    out = [(f.stream, bytes(f.payload)) for f in decoder.feed(body)]
    return out


def tar_names(data: bytes) -> list[str]:
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return tar.getnames()


def assert_plain_error(r: httpx.Response, status: int, message: str) -> None:
    assert r.status_code == status
    assert r.headers["content-type"] == "text/plain; charset=utf-8"
    assert r.content == (message + "\n").encode()


# --- routing and versions -----------------------------------------------------------------------------------


def test_every_rulebook_endpoint_has_a_handler():
    missing = {e.id for e in RULEBOOK} - handled_endpoints() - {"system.options"}
    assert not missing


def test_unknown_route_and_wrong_method(api):
    assert_plain_error(api.get("/v1.14/foo"), 404, "404 page not found")
    assert_plain_error(api.put("/v1.14/containers/json"), 404, "404 page not found")
    assert api.head("/_ping").status_code == 404  # HEAD /_ping arrived with API 1.25
    assert api.post("/v1.14/containers/x/exec").status_code == 404  # a later route


def test_version_prefixes(api):
    assert_plain_error(api.get("/v1.15/version"), 404,
                       "client and server don't have same version (client : 1.15, server: 1.14)")
    assert api.get("/v1.14.0/version").status_code == 200
    assert api.get("/v1.0/version").status_code == 200  # no lower bound in 1.2.0
    assert api.get("/version").json()["ApiVersion"] == "1.14"


def test_options_any_path(api):
    r = api.request("OPTIONS", "/v1.99/anything/at/all")
    assert r.status_code == 200 and r.content == b""


def test_ping_version_info(api):
    r = api.get("/_ping")
    assert (r.status_code, r.content, r.headers["content-type"]) == (200, b"OK", "text/plain; charset=utf-8")
    r = api.get("/v1.14/version", params={"a": ["x", "y"]})
    assert r.headers["job-name"] == "version"
    assert r.headers.get_list("job-args") == ["x", "y"]
    body = r.content
    assert list(json.loads(body)) == sorted(json.loads(body)) and body.endswith(b"\n")
    assert json.loads(body)["Version"] == "1.2.0"
    info = api.get("/v1.14/info").json()
    for flag in ("Debug", "MemoryLimit", "SwapLimit", "IPv4Forwarding"):
        assert info[flag] in (0, 1) and not isinstance(info[flag], bool)
    assert "Sockets" not in info and isinstance(info["IndexServerAddress"], str)
    assert "server" not in api.get("/_ping").headers and "api-version" not in api.get("/_ping").headers


def test_bad_query_escape(api):
    assert_plain_error(api.get("/v1.14/containers/json?all=%zz"), 500, 'invalid URL escape "%zz"')
    r = api.post("/v1.14/containers/create?name=%zz", json={"Image": "busybox", "Cmd": ["true"]})
    assert (r.status_code, r.content) == (200, b"")  # 1.2.0 returned nil: 200 with an empty body


# --- create, inspect, list --------------------------------------------------------------------------------


def test_create_answers_201_with_null_warnings(api):
    r = api.post("/v1.14/containers/create", json={"Image": "busybox", "Cmd": ["true"]})
    assert r.status_code == 201 and r.headers["content-type"] == "application/json"
    assert r.content.startswith(b'{"Id":"') and r.content.endswith(b'","Warnings":null}\n')


def test_create_errors(api):
    assert_plain_error(api.post("/v1.14/containers/create", json={"Image": "nope", "Cmd": ["true"]}), 404,
                       "No such image: nope (tag: latest)")
    assert_plain_error(api.post("/v1.14/containers/create", json={"Cmd": ["true"]}), 500,
                       "prefix can't be empty")
    assert_plain_error(api.post("/v1.14/containers/create", content=b""), 500, "EOF")
    assert_plain_error(api.post("/v1.14/containers/create", content=b'{"Image":'), 500, "unexpected EOF")
    assert_plain_error(api.post("/v1.14/containers/create", json={"Image": "busybox", "Cmd": ["true"],
                                                                   "Memory": 1000}),
                       500, "Minimum memory limit allowed is 512k")
    assert_plain_error(api.post("/v1.14/containers/create", json={"Image": "busybox"}), 500,
                       "No command specified")
    r = api.post("/v1.14/containers/create?name=bad%20name", json={"Image": "busybox", "Cmd": ["true"]})
    assert_plain_error(r, 500, "Invalid container name (bad name), only [a-zA-Z0-9_.-] are allowed")
    cid = create(api, ["true"], name="dup.name")
    r = api.post("/v1.14/containers/create?name=dup.name", json={"Image": "busybox", "Cmd": ["true"]})
    assert r.status_code == 409
    assert r.text == (f"Conflict, The name dup.name is already assigned to {cid[:12]}. You have to delete (or "
                      "rename) that container to be able to assign dup.name to a container again.\n")
    # form-urlencoded: ParseForm ate the body
    r = api.post("/v1.14/containers/create", content=b'{"Image":"busybox"}',
                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert_plain_error(r, 500, "EOF")


def test_create_reads_the_body_loosely(api):
    cid = create(api, "echo hi", Tty=1, Memory="524288", Env=None, Entrypoint=None)
    config = api.get(f"/v1.14/containers/{cid}/json").json()["Config"]
    assert config["Cmd"] == ["echo hi"] and config["Tty"] is True and config["Memory"] == 524288
    assert config["Entrypoint"] is None


def test_inspect_shape(api):
    cid = create(api, ["echo", "a b"], name="inspected")
    r = api.get(f"/v1.14/containers/{cid[:10]}/json")
    body = json.loads(r.content)
    assert list(body) == sorted(body)
    assert set(body) == {"Args", "Config", "Created", "Driver", "ExecDriver", "HostConfig", "HostnamePath",
                         "HostsPath", "Id", "Image", "MountLabel", "Name", "NetworkSettings", "Path",
                         "ProcessLabel", "ResolvConfPath", "State", "Volumes", "VolumesRW"}
    assert body["Name"] == "/inspected" and body["Path"] == "echo" and body["Args"] == ["a b"]
    assert body["State"]["StartedAt"] == "0001-01-01T00:00:00Z" and body["State"]["Running"] is False
    assert list(body["State"]) == sorted(body["State"])
    assert body["HostConfig"]["RestartPolicy"] == {"MaximumRetryCount": 0, "Name": ""}
    assert_plain_error(api.get("/v1.14/containers/nothere/json"), 404, "No such container: nothere")


def test_list_format_and_filters(api):
    done = run(api, ["sh", "-c", "exit 3"])
    fresh = create(api, ["true"])
    r = api.get("/v1.14/containers/json", params={"all": "1"})
    assert r.content.startswith(b"[{") and b"}\n,{" in r.content and r.content.endswith(b"}\n]")
    rows = r.json()
    by_id = {row["Id"]: row for row in rows}
    assert by_id[fresh]["Status"] == "" and by_id[done]["Status"].startswith("Exited (3) ")
    assert by_id[done]["Command"] == "sh -c 'exit 3'"
    assert list(by_id[done]) == sorted(by_id[done]) and "SizeRw" not in by_id[done]
    assert [row["Created"] for row in rows] == sorted((row["Created"] for row in rows), reverse=True)
    assert api.get("/v1.14/containers/json", params={"all": "yes"}).json() == rows  # any text but false
    running_only = api.get("/v1.14/containers/json", params={"all": "no"}).json()
    assert all(row["Status"].startswith("Up") for row in running_only)
    assert len(api.get("/v1.14/containers/json", params={"limit": "1"}).json()) == 1
    assert api.get("/v1.14/containers/json", params={"limit": "abc"}).json() == running_only
    exited3 = api.get("/v1.14/containers/json", params={"all": 1, "filters": '{"exited":["3"]}'}).json()
    assert {row["Id"] for row in exited3} >= {done} and fresh not in {row["Id"] for row in exited3}
    assert_plain_error(api.get("/v1.14/containers/json", params={"filters": '{"exited":["x"]}'}), 500,
                       'strconv.ParseInt: parsing "x": invalid syntax')
    assert_plain_error(api.get("/v1.14/containers/json", params={"since": "zz"}), 500,
                       "Could not find container with name or id zz")
    since = api.get("/v1.14/containers/json", params={"since": done}).json()
    assert [row["Id"] for row in since][-1] == fresh
    sized = api.get("/v1.14/containers/ps", params={"all": 1, "size": 1}).json()
    assert all("SizeRw" in row and "SizeRootFs" in row for row in sized)
    empty = api.get("/v1.14/containers/json", params={"before": rows[-1]["Id"]})
    assert empty.content == b"[]"


# --- lifecycle --------------------------------------------------------------------------------------------


def test_start_stop_304_and_events_flow(api):
    cid = create(api, ["sleep", "30"])
    assert api.post(f"/v1.14/containers/{cid}/start").status_code == 204
    r = api.post(f"/v1.14/containers/{cid}/start")
    assert (r.status_code, r.content, r.headers.get("content-type")) == (304, b"", None)
    state = api.get(f"/v1.14/containers/{cid}/json").json()["State"]
    assert state["Running"] is True and state["Pid"] > 0
    started = time.monotonic()
    r = api.post(f"/v1.14/containers/{cid}/stop")  # omitted t: 0 s grace, as 1.2.0
    assert r.status_code == 204 and r.content == b"" and time.monotonic() - started < 2
    assert api.post(f"/v1.14/containers/{cid}/stop").status_code == 304
    assert api.post(f"/v1.14/containers/{cid}/wait").json() == {"StatusCode": 143}
    assert_plain_error(api.post("/v1.14/containers/nothere/stop"), 404, "No such container: nothere")


def test_start_with_host_config(api):
    cid = create(api, ["true"])
    r = api.post(f"/v1.14/containers/{cid}/start", content=b'{"Dns":["8.8.8.8"]}',
                 headers={"Content-Type": "text/plain"})
    assert_plain_error(r, 500, "Content-Type of application/json is required")
    r = api.post(f"/v1.14/containers/{cid}/start", json={"Dns": ["8.8.8.8"], "LxcConf": {"a": "b"}},
                 headers={"Content-Type": "application/json; charset=utf-8"})
    assert r.status_code == 204
    host = api.get(f"/v1.14/containers/{cid}/json").json()["HostConfig"]
    assert host["Dns"] == ["8.8.8.8"] and host["LxcConf"] is None
    other = create(api, ["true"])
    r = api.post(f"/v1.14/containers/{other}/start", json={"VolumesFrom": ["ghost"]})
    assert_plain_error(r, 406, f"Cannot start container {other}: Container ghost not found. Impossible to "
                               "mount its volumes")


def test_unknown_command_fails_at_start(api):
    cid = create(api, ["foo"])
    assert_plain_error(api.post(f"/v1.14/containers/{cid}/start"), 500,
                       f'Cannot start container {cid}: exec: "foo": executable file not found in $PATH')


def test_kill_restart_pause(api):
    cid = create(api, ["sleep", "30"], name="pausable")
    assert_plain_error(api.post(f"/v1.14/containers/{cid}/kill", params={"signal": "kill"}), 500,
                       "Invalid signal: kill")
    assert api.post(f"/v1.14/containers/{cid}/kill").status_code == 204  # not running: a no-op
    api.post(f"/v1.14/containers/{cid}/start")
    assert api.post("/v1.14/containers/pausable/pause").status_code == 204
    assert "(Paused)" in api.get("/v1.14/containers/json").text
    assert_plain_error(api.post("/v1.14/containers/pausable/pause"), 500,
                       f"Cannot pause container pausable: Container {cid} is already paused")
    assert api.post("/v1.14/containers/pausable/unpause").status_code == 204
    assert_plain_error(api.post("/v1.14/containers/pausable/unpause"), 500,
                       f"Cannot unpause container pausable: Container {cid} is not paused")
    assert api.post("/v1.14/containers/pausable/restart", params={"t": "0"}).status_code == 204
    assert api.get(f"/v1.14/containers/{cid}/json").json()["State"]["Running"] is True
    assert api.post(f"/v1.14/containers/{cid}/kill", params={"signal": "SIGINT"}).status_code == 204
    assert api.post(f"/v1.14/containers/{cid}/wait").json() == {"StatusCode": 130}
    assert_plain_error(api.post(f"/v1.14/containers/{cid}/pause"), 500,
                       f"Cannot pause container {cid}: Container {cid} is not running")


def test_wait_unknown_is_500(api):
    assert_plain_error(api.post("/v1.14/containers/nothere/wait"), 500, "wait: no such container: nothere")


def test_top(api):
    cid = create(api, ["sleep", "30"])
    assert_plain_error(api.get(f"/v1.14/containers/{cid}/top"), 500, f"Container {cid} is not running")
    api.post(f"/v1.14/containers/{cid}/start")
    body = api.get(f"/v1.14/containers/{cid}/top").json()
    assert list(body) == ["Processes", "Titles"] and body["Titles"][-1] == "CMD"
    assert body["Processes"][0][-1] == "sleep 30"
    assert api.get(f"/v1.14/containers/{cid}/top", params={"ps_args": "aux"}).json()["Titles"][0] == "USER"
    api.delete(f"/v1.14/containers/{cid}", params={"force": 1})


def test_delete(api):
    cid = create(api, ["sleep", "30"], name="doomed")
    api.post(f"/v1.14/containers/{cid}/start")
    assert_plain_error(api.delete("/v1.14/containers/doomed"), 500,
                       "You cannot remove a running container. Stop the container before attempting removal "
                       "or use -f")
    assert_plain_error(api.delete("/v1.14/containers/doomed", params={"link": 1}), 409,
                       "Conflict, cannot remove the default name of the container")
    r = api.delete("/v1.14/containers/doomed", params={"force": "1", "v": "1"})
    assert (r.status_code, r.content) == (204, b"")
    assert_plain_error(api.delete("/v1.14/containers/doomed"), 404, "No such container: doomed")
    assert_plain_error(api.delete("/v1.14/containers/x/y", params={"link": 1}), 404, "No such link: x/y")


def test_links(api):
    db = create(api, ["sleep", "30"], name="db")
    api.post(f"/v1.14/containers/{db}/start")
    web = create(api, ["true"], name="web")
    assert api.post(f"/v1.14/containers/{web}/start", json={"Links": ["db:data"]}).status_code == 204
    assert api.get("/v1.14/containers/web/json").json()["HostConfig"]["Links"] == ["/db:/web/data"]
    names = {tuple(row["Names"]) for row in api.get("/v1.14/containers/json").json()}
    assert ("/db", "/web/data") in names
    assert api.delete("/v1.14/containers/web/data", params={"link": 1}).status_code == 204
    api.delete(f"/v1.14/containers/{db}", params={"force": 1})


def test_resize(api):
    cid = create(api, ["true"])
    r = api.post(f"/v1.14/containers/{cid}/resize", params={"h": "40", "w": "80"})
    assert (r.status_code, r.content, r.headers["content-type"]) == (200, b"", "text/plain; charset=utf-8")
    assert_plain_error(api.post(f"/v1.14/containers/{cid}/resize", params={"h": "abc", "w": "1"}), 500,
                       'strconv.ParseInt: parsing "abc": invalid syntax')
    assert_plain_error(api.post("/v1.14/containers/nothere/resize", params={"h": "1", "w": "1"}), 404,
                       "No such container: nothere")


# --- output, files --------------------------------------------------------------------------------------


def test_logs(api):
    cid = run(api, ["sh", "-c", "echo out; echo err >&2; echo two"])
    assert_plain_error(api.get(f"/v1.14/containers/{cid}/logs"), 400,
                       "Bad parameters: you must choose at least one stream")
    assert_plain_error(api.get("/v1.14/containers/nothere/logs?stdout=1"), 404, "No such container: nothere")
    r = api.get(f"/v1.14/containers/{cid}/logs", params={"stdout": 1, "stderr": 1})
    assert r.headers["content-type"] == "application/octet-stream"
    assert frames(r.content) == [(1, b"out\n"), (2, b"err\n"), (1, b"two\n")]
    only_err = api.get(f"/v1.14/containers/{cid}/logs", params={"stderr": 1}).content
    assert frames(only_err) == [(2, b"err\n")]
    tail = api.get(f"/v1.14/containers/{cid}/logs", params={"stdout": 1, "tail": "1"}).content
    assert frames(tail) == [(1, b"two\n")]
    stamped = frames(api.get(f"/v1.14/containers/{cid}/logs", params={"stdout": 1, "timestamps": 1}).content)
    stamp, _, text = stamped[0][1].partition(b" ")
    assert text == b"out\n" and stamp.endswith(b"Z") and b"T" in stamp and not stamp.endswith(b"0Z")
    tty = run(api, ["echo", "hi"], Tty=True)
    r = api.get(f"/v1.14/containers/{tty}/logs", params={"stdout": 1})
    assert r.content == b"hi\r\n" and r.headers["content-type"] == "text/plain; charset=utf-8"


def test_logs_follow_streams_until_exit(api):
    cid = create(api, ["sh", "-c", "echo a; sleep 0.3; echo b"])
    api.post(f"/v1.14/containers/{cid}/start")
    with api.stream("GET", f"/v1.14/containers/{cid}/logs", params={"stdout": 1, "follow": 1}) as r:
        body = b"".join(r.iter_bytes())
    assert frames(body) == [(1, b"a\n"), (1, b"b\n")]


def test_changes_export_copy(api):
    cid = run(api, ["sh", "-c", "echo data > /tmp/new.txt && rm /etc/group && mkdir -p /opt/x"])
    r = api.get(f"/v1.14/containers/{cid}/changes")
    assert r.json() == [{"Kind": 0, "Path": "/etc"}, {"Kind": 2, "Path": "/etc/group"}, {"Kind": 1, "Path": "/opt"},
                        {"Kind": 1, "Path": "/opt/x"}, {"Kind": 0, "Path": "/tmp"},
                        {"Kind": 1, "Path": "/tmp/new.txt"}]
    clean = run(api, ["true"])
    assert api.get(f"/v1.14/containers/{clean}/changes").content == b"[]"
    r = api.get(f"/v1.14/containers/{cid}/export")
    assert r.headers["content-type"] == "application/octet-stream"
    names = tar_names(r.content)
    assert "tmp/new.txt" in names and "etc/passwd" in names and "etc/group" not in names
    r = api.post(f"/v1.14/containers/{cid}/copy", json={"Resource": "/tmp/new.txt"})
    assert r.status_code == 200 and tar_names(r.content) == ["new.txt"]
    with tarfile.open(fileobj=io.BytesIO(r.content)) as tar:
        assert tar.extractfile("new.txt").read() == b"data\n"
    assert tar_names(api.post(f"/v1.14/containers/{cid}/copy", json={"Resource": "/opt"}).content) == \
        ["opt", "opt/x"]
    r = api.post(f"/v1.14/containers/{cid}/copy", content=b'{"Resource":"/tmp"}')
    assert_plain_error(r, 500, "Content-Type not supported: ")
    assert_plain_error(api.post(f"/v1.14/containers/{cid}/copy", json={"Resource": ""}), 500,
                       "Path cannot be empty")
    assert_plain_error(api.post(f"/v1.14/containers/{cid}/copy", json={"Resource": "/nope"}), 500,
                       f"Could not find the file /nope in container {cid}")
    r = api.post("/v1.14/containers/nothere/copy", json={"Resource": "/tmp"})
    assert (r.status_code, r.content) == (404, b"")


def test_simulated_commands(api):
    def output(script: str) -> bytes:
        cid = run(api, ["sh", "-c", script])
        return b"".join(p for _, p in frames(
            api.get(f"/v1.14/containers/{cid}/logs", params={"stdout": 1, "stderr": 1}).content))

    assert output("yes | head -c 5") == b"y\ny\ny"
    assert output("yes x | head -n 2") == b"x\nx\n"
    assert output("false || echo alt; true && echo and") == b"alt\nand\n"
    assert output("X=1; echo $X ${X}2 '$X'") == b"1 12 $X\n"
    assert output("echo hi > /tmp/f; cat /tmp/f; seq 3 | wc -l") == b"hi\n3\n"
    assert output("nosuch") == b"sh: nosuch: not found\n"
    cid = run(api, ["sh", "-c", "exit 7"])
    assert api.get(f"/v1.14/containers/{cid}/json").json()["State"]["ExitCode"] == 7


# --- images -----------------------------------------------------------------------------------------------


def test_import_list_inspect_history(api):
    r = api.post("/v1.14/images/create", params={"fromSrc": "-", "repo": "imported:v1"}, content=busybox_tar())
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    assert r.content.startswith(b'{"status":"') and r.content.endswith(b'"}\r\n')
    image_id = json.loads(r.content)["status"]
    rows = api.get("/v1.14/images/json").json()
    row = next(row for row in rows if row["Id"] == image_id)
    assert row["RepoTags"] == ["imported:v1"] and list(row) == sorted(row)
    inspect = api.get("/v1.14/images/imported:v1/json").json()
    assert set(inspect) == {"Architecture", "Author", "Comment", "Config", "Container", "ContainerConfig",
                            "Created", "DockerVersion", "Id", "Os", "Parent", "Size"}
    assert inspect["Config"] is None and inspect["Id"] == image_id
    history = api.get("/v1.14/images/imported:v1/history").json()
    assert history[0]["Tags"] == ["imported:v1"] and set(history[0]) == {"Created", "CreatedBy", "Id", "Size",
                                                                        "Tags"}
    assert_plain_error(api.get("/v1.14/images/nope/json"), 404, "No such image: nope")
    assert_plain_error(api.get("/v1.14/images/nope/history"), 404, "No such image: nope")


def test_tag_and_delete(api):
    image = api.get("/v1.14/images/busybox/json").json()["Id"]
    r = api.post("/v1.14/images/busybox/tag", params={"repo": "retag", "tag": "one"})
    assert (r.status_code, r.content) == (201, b"")
    assert api.post("/v1.14/images/busybox/tag", params={"repo": "retag", "tag": "one"}).status_code == 201
    assert_plain_error(api.post("/v1.14/images/nope/tag", params={"repo": "x"}), 404, "No such id: nope")
    assert_plain_error(api.post("/v1.14/images/busybox/tag"), 500, "Repository name can't be empty")
    assert_plain_error(api.post("/v1.14/images/busybox/tag", params={"repo": "x", "tag": "a:b"}), 500,
                       "Illegal tag name: a:b")
    r = api.delete("/v1.14/images/retag:one")
    assert r.json() == [{"Untagged": "retag:one"}] and r.content.endswith(b"}\n]")
    assert_plain_error(api.delete("/v1.14/images/nope"), 404, "No such image: nope")
    api.post("/v1.14/images/busybox/tag", params={"repo": "other"})
    r = api.delete(f"/v1.14/images/{image[:12]}")
    assert r.status_code == 409 and r.text.startswith("Conflict, cannot delete image ")
    api.delete("/v1.14/images/other")


def test_delete_image_in_use(api):
    api.post("/v1.14/images/create", params={"fromSrc": "-", "repo": "inuse"}, content=busybox_tar())
    cid = create(api, ["true"], Image="inuse")
    r = api.delete("/v1.14/images/inuse")
    assert r.status_code == 409 and "is using it (docker untagged the image), use -f to force" in r.text
    image = api.get(f"/v1.14/containers/{cid}/json").json()["Image"]
    api.delete(f"/v1.14/containers/{cid}")
    assert api.delete(f"/v1.14/images/{image}").json() == [{"Deleted": image}]


def test_commit_and_build(api):
    cid = run(api, ["sh", "-c", "echo x > /tmp/committed"])
    r = api.post("/v1.14/commit", params={"container": cid, "repo": "snap", "comment": "c", "author": "me"},
                 json={"Cmd": ["cat", "/tmp/committed"]})
    assert r.status_code == 201 and r.headers["content-type"] == "application/json"
    image = r.json()["Id"]
    inspect = api.get("/v1.14/images/snap/json").json()
    assert (inspect["Id"], inspect["Comment"], inspect["Author"], inspect["Container"]) == (image, "c", "me", cid)
    new = run(api, None, Image="snap")
    assert frames(api.get(f"/v1.14/containers/{new}/logs", params={"stdout": 1}).content) == [(1, b"x\n")]
    assert_plain_error(api.post("/v1.14/commit", params={"container": "nothere"}), 404,
                       "No such container: nothere")
    context = context_tar({"Dockerfile": "FROM busybox\nENV GREETING hello\nCOPY hi.txt /srv/\nWORKDIR /srv\n"
                                         "RUN cat hi.txt; echo $GREETING\nFROMM x\nCMD [\"cat\", \"hi.txt\"]\n",
                           "hi.txt": "from context\n"})
    r = api.post("/v1.14/build", params={"t": "built:1"}, content=context)
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    messages = [json.loads(line) for line in r.content.split(b"\r\n") if line]
    text = "".join(m["stream"] for m in messages)
    assert text.startswith("Step 0 : FROM busybox\n ---> ")
    assert "from context\nhello\n" in text and "Removing intermediate container " in text
    assert "\x1b[91m# Skipping unknown instruction FROMM\n\x1b[0m" in text
    assert text.rstrip().split("\n")[-1].startswith("Successfully built ")
    built = run(api, None, Image="built:1")
    assert frames(api.get(f"/v1.14/containers/{built}/logs", params={"stdout": 1}).content) == \
        [(1, b"from context\n")]
    r = api.post("/v1.14/build", content=context_tar({"Dockerfile": "FROM busybox\nRUN false\n"}))
    last = json.loads(r.content.split(b"\r\n")[-2])
    assert last == {"errorDetail": {"code": 1, "message": "The command [/bin/sh -c false] returned a non-zero "
                                                          "code: 1"},
                    "error": "The command [/bin/sh -c false] returned a non-zero code: 1"}
    assert_plain_error(api.post("/v1.14/build", content=context_tar({"x": "y"})), 500,
                       "Can't build a directory with no Dockerfile")


def test_get_and_load(api):
    r = api.get("/v1.14/images/busybox/get")
    assert r.headers["content-type"] == "application/x-tar"
    names = tar_names(r.content)
    image = api.get("/v1.14/images/busybox/json").json()["Id"]
    assert {"repositories", f"{image}/VERSION", f"{image}/json", f"{image}/layer.tar"} <= set(names)
    with tarfile.open(fileobj=io.BytesIO(r.content)) as tar:
        assert json.loads(tar.extractfile("repositories").read()) == {"busybox": {"latest": image}}
        assert tar.extractfile(f"{image}/VERSION").read() == b"1.0"
    assert_plain_error(api.get("/v1.14/images/nope/get"), 404, "No such image: nope")
    api.delete("/v1.14/images/busybox", params={"force": 1})
    assert api.get("/v1.14/images/busybox/json").status_code == 404
    r = api.post("/v1.14/images/load", content=r.content)
    assert (r.status_code, r.content) == (200, b"")
    assert api.get("/v1.14/images/busybox/json").json()["Id"] == image
    assert api.post("/v1.14/images/load", content=b"not a tar" * 100).status_code == 500


def test_registry_routes_are_offline(api):
    r = api.post("/v1.14/images/create", params={"fromImage": "ubuntu:14.04"})
    assert r.status_code == 200
    messages = [json.loads(m) for m in r.content.split(b"\r\n") if m]
    assert messages[0] == {"status": "Pulling repository ubuntu"}
    assert messages[-1]["error"] == messages[-1]["errorDetail"]["message"]
    r = api.post("/v1.14/images/busybox/push", headers={"X-Registry-Auth": "e30="})
    assert r.status_code == 200 and b'"errorDetail"' in r.content
    assert_plain_error(api.post("/v1.14/images/busybox/push"), 500, "EOF")
    assert api.get("/v1.14/images/search", params={"term": "x"}).status_code == 500
    assert api.post("/v1.14/auth", json={"username": "u"}).status_code == 500
    assert_plain_error(api.get("/v1.14/images/viz"), 404, "This is now implemented in the client.")


# --- events -----------------------------------------------------------------------------------------------


def test_events_since_until_concatenated(api):
    since = int(time.time()) - 1
    cid = run(api, ["true"])
    api.delete(f"/v1.14/containers/{cid}")
    r = api.get("/v1.14/events", params={"since": since, "until": int(time.time()) + 1})
    assert r.headers["content-type"] == "application/json"
    assert b"}{" in r.content and b"\n" not in r.content
    decoder, pos, events, text = json.JSONDecoder(), 0, [], r.text
    while pos < len(text):
        event, pos = decoder.raw_decode(text, pos)
        events.append(event)
    mine = [e["status"] for e in events if e.get("id") == cid]
    assert mine == ["create", "start", "die", "destroy"]
    assert list(events[-1]) == ["status", "id", "from", "time"]


def test_events_stream_live(daemon, api):
    with httpx.Client(transport=httpx.HTTPTransport(uds=daemon.socket_path), base_url="http://docker",
                      timeout=5) as other:
        with other.stream("GET", "/v1.14/events", params={"until": int(time.time()) + 2}) as r:
            assert r.status_code == 200
            cid = create(api, ["true"])
            body = b"".join(r.iter_bytes())
    assert f'"status":"create","id":"{cid}"'.encode() in body


# --- encoding and parsing units -----------------------------------------------------------------------------


def test_env_encoding_quirks():
    from conformance.daemon.encoding import Env, go_json_error, table

    env = Env().set("Path", "true").set_bool("Debug", False).set_list("Warnings", None).set("Name", "/x")
    env.set_json("Config", {"b": 1, "a": {"d": 2.5, "c": "<&>"}})
    assert env.encode() == (b'{"Config":{"a":{"c":"\\u003c\\u0026\\u003e","d":2},"b":1},"Debug":0,"Name":"/x",'
                            b'"Path":true,"Warnings":null}\n')
    assert table([]) == b"[]"
    assert table([Env().set_int("A", 1), Env().set_int("A", 2)]) == b'[{"A":1}\n,{"A":2}\n]'
    assert go_json_error(b"") == "EOF"
    assert go_json_error(b"null") is None
    assert go_json_error(b"[1]") == "json: cannot unmarshal array into Go value of type map[string]interface {}"
    assert go_json_error(b"{x}").startswith("invalid character 'x'")


def test_query_parsing():
    from conformance.daemon.app import parse_form

    assert parse_form("a=1;b=2&a=3&c=x+y%21") == ({"a": ["1", "3"], "b": ["2"], "c": ["x y!"]}, None)
    assert parse_form("a=%zz&b=1") == ({"b": ["1"]}, 'invalid URL escape "%zz"')


def test_head_answer_keeps_the_connection():
    """A HEAD answer carries no body and the connection stays usable for the next request."""
    import socket as _socket

    from conformance.daemon import running_daemon

    with running_daemon() as url:
        s = _socket.socket(_socket.AF_UNIX)
        s.connect(url.removeprefix("unix://"))
        s.settimeout(5)
        s.sendall(b"HEAD /_ping HTTP/1.1\r\nHost: x\r\n\r\nGET /_ping HTTP/1.1\r\nHost: x\r\n\r\n")
        data = b""
        while b"\r\n\r\nOK" not in data:
            chunk = s.recv(4096)
            assert chunk, f"connection closed after {data!r}"
            data += chunk
        s.close()
    first, _, rest = data.partition(b"\r\n\r\n")
    assert first.startswith(b"HTTP/1.1 404") and rest.startswith(b"HTTP/1.1 200")
