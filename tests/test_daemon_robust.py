"""The reference daemon survives any request (issue 11): one regression test per request that took it down.

The daemon runs as `conformance serve` in its own process with small limits, so its memory can be read
from /proc and the limits are set the way a user sets them.
"""

from __future__ import annotations

import base64
import gzip
import io
import json
import logging
import os
import subprocess
import sys
import tarfile
import tempfile
import time

import httpx
import pytest

from conformance.daemon import DaemonThread
from conformance.daemon.app import HANDLERS, INTERNAL_ERROR
from conformance.daemon.fixtures import busybox_tar
from conformance.frames import FrameDecoder

MAX_BODY = 1 << 20
MAX_UNPACKED = 4 << 20
MAX_DEPTH = 64
HUGE = "9" * 5000  # past Python's 4300-digit int-string limit
IMAGE = "a" * 64
PARENT = "b" * 64


class ServedDaemon:
    """`conformance serve` on a private socket, with a client and the process's memory figures."""

    def __init__(self, *limits: str):
        self._dir = tempfile.mkdtemp(prefix="robust-")
        self.sock = os.path.join(self._dir, "d.sock")
        self.log_path = os.path.join(self._dir, "stderr.log")
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([sys.executable, "-m", "conformance", "serve", "--listen",
                                      f"unix://{self.sock}", *limits],
                                     stdout=subprocess.PIPE, stderr=self._log)
        line = self.proc.stdout.readline().decode()
        assert line.startswith("DOCKER_HOST="), line
        self.api = httpx.Client(transport=httpx.HTTPTransport(uds=self.sock), base_url="http://docker",
                                timeout=30)

    def memory(self, key: str = "VmRSS") -> int:
        """VmRSS (or VmHWM, the peak) of the daemon process, in bytes."""
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
        raise AssertionError(f"no {key} for pid {self.proc.pid}")

    def ping_time(self) -> float:
        start = time.monotonic()
        r = self.api.get("/_ping", timeout=5)
        assert r.status_code == 200 and r.text == "OK"
        return time.monotonic() - start

    def stderr(self) -> str:
        self._log.flush()
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def close(self) -> None:
        self.api.close()
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._log.close()

    def __enter__(self) -> ServedDaemon:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@pytest.fixture(scope="module")
def served():
    with ServedDaemon("--max-body", "1M", "--max-unpacked", "4M", "--max-json-depth", str(MAX_DEPTH)) as daemon:
        r = daemon.api.post("/images/create", params={"fromSrc": "-", "repo": "busybox", "tag": "latest"},
                            content=busybox_tar())
        assert r.status_code == 200, r.text
        yield daemon
        assert INTERNAL_ERROR not in daemon.stderr() and "Traceback" not in daemon.stderr()


@pytest.fixture
def api(served):
    return served.api


def tar(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return out.getvalue()


def gzip_bomb(unpacked: int) -> bytes:
    """A gzip'd tar of one member of `unpacked` zero bytes (a few KiB on the wire)."""
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=9) as packed:
        with tarfile.open(fileobj=packed, mode="w|") as archive:
            info = tarfile.TarInfo("zeros")
            info.size = unpacked
            archive.addfile(info, io.BytesIO(bytes(unpacked)))
    return out.getvalue()


def plain_error(r: httpx.Response, status: int, message: str) -> None:
    assert (r.status_code, r.headers.get("content-type"), r.text) == \
        (status, "text/plain; charset=utf-8", message + "\n")


def run(api, cmd: list[str], wait: bool = True) -> str:
    r = api.post("/containers/create", json={"Image": "busybox", "Cmd": cmd})
    assert r.status_code == 201, r.text
    cid = r.json()["Id"]
    assert api.post(f"/containers/{cid}/start").status_code == 204
    if wait:
        assert api.post(f"/containers/{cid}/wait", timeout=10).status_code == 200
    return cid


def output(api, cid: str) -> dict[int, bytes]:
    out = {1: b"", 2: b""}
    body = api.get(f"/containers/{cid}/logs", params={"stdout": 1, "stderr": 1}).content
    for frame in FrameDecoder().feed(body):
        out[frame.stream] += bytes(frame.payload)
    return out


# --- bounded simulation -------------------------------------------------------------------------------------


@pytest.mark.parametrize("last", ["3000000", "99999999999999999999"])
def test_seq_output_is_capped_while_it_is_made(served, api, last):
    before = served.memory()
    cid = run(api, ["sh", "-c", f"seq 1 {last}"], wait=False)
    deadline = time.monotonic() + 20
    last_line = None
    while time.monotonic() < deadline:  # until the output stops growing: the process sits at the cap
        time.sleep(0.5)
        line = api.get(f"/containers/{cid}/logs", params={"stdout": 1, "tail": 1}).content
        if line == last_line:
            break
        last_line = line
    state = api.get(f"/containers/{cid}/json").json()["State"]
    assert state["Running"], "seq ended: the cap did not stop it"
    logs = api.get(f"/containers/{cid}/logs", params={"stdout": 1}).content
    assert 1 << 20 < len(logs) < 16 << 20
    first = [bytes(f.payload) for f in FrameDecoder().feed(logs[:64])][:3]
    assert first == [b"1\n", b"2\n", b"3\n"]  # one log line per frame
    assert served.memory() - before < 120 << 20  # was 700 MB for seq 1 3000000
    assert served.ping_time() < 1
    assert api.delete(f"/containers/{cid}", params={"force": 1}).status_code == 204


def test_sleep_nan_is_an_invalid_number(api):
    cid = run(api, ["sleep", "nan"])
    assert api.get(f"/containers/{cid}/json").json()["State"]["ExitCode"] == 1
    assert output(api, cid) == {1: b"", 2: b"sleep: invalid number 'nan'\n"}


def test_a_run_that_writes_forever_stalls_instead_of_growing(served, api):
    before = served.memory()
    cid = run(api, ["sh", "-c", "yes > /tmp/y; echo done; yes | wc -c"], wait=False)
    time.sleep(3)
    out = output(api, cid)
    assert out[2] == b"yes: write error: No space left on device\n" and out[1] == b"done\n"
    assert api.get(f"/containers/{cid}/json").json()["State"]["Running"]  # stalled at its write budget
    assert served.memory() - before < 150 << 20
    assert served.ping_time() < 1
    assert api.delete(f"/containers/{cid}", params={"force": 1}).status_code == 204


# --- cycle-safe images --------------------------------------------------------------------------------------


def image_json(image_id: str, **fields) -> bytes:
    return json.dumps({"id": image_id, "created": "2014-08-20T10:00:00.5Z", **fields}).encode()


@pytest.mark.parametrize("files", [
    {f"{IMAGE}/json": image_json(IMAGE, parent=IMAGE), f"{IMAGE}/layer.tar": tar({})},
    {f"{IMAGE}/json": image_json(IMAGE, parent=PARENT), f"{PARENT}/json": image_json(PARENT, parent=IMAGE)},
], ids=["self-parent", "two-image-cycle"])
def test_load_of_a_parent_cycle_is_refused(served, api, files):
    r = api.post("/images/load", content=tar(files))
    assert r.status_code == 500 and r.text.startswith("Error loading ")
    assert "parent chain comes back" in r.text
    listed = api.get("/images/json", params={"all": 1}, timeout=5)
    assert listed.status_code == 200
    assert not {IMAGE, PARENT} & {i["Id"] for i in listed.json()}
    assert served.ping_time() < 1


# --- limits -------------------------------------------------------------------------------------------------


def test_gzip_bomb_import_stops_at_the_unpacked_limit(served, api):
    bomb = gzip_bomb(64 << 20)
    assert len(bomb) < 256 << 10
    before = served.memory()
    count = len(api.get("/images/json", params={"all": 1}).json())
    for path, params in (("/images/create", {"fromSrc": "-", "repo": "bomb"}), ("/build", {}),
                         ("/images/load", {})):
        r = api.post(path, params=params, content=bomb)
        plain_error(r, 500, f"Error processing tar file: the archive unpacks to more than {MAX_UNPACKED} bytes "
                            "(the reference daemon's --max-unpacked limit)")
    assert len(api.get("/images/json", params={"all": 1}).json()) == count
    assert served.memory() - before < 64 << 20  # a 1 MiB bomb used to add 1 GB that stayed


def test_a_body_past_the_limit_is_refused_and_the_connection_goes_on(served, api):
    big = b"\0" * (3 * MAX_BODY)
    plain_error(api.post("/images/create", params={"fromSrc": "-", "repo": "big"}, content=big), 500,
                "http: request body too large")
    plain_error(api.post("/containers/create", content=big), 500, "http: request body too large")
    assert api.post("/_ping", content=big).status_code == 404  # routing comes first, as in 1.2.0
    assert api.request("GET", "/_ping", content=big).text == "OK"  # a route that never reads its body
    form = {"content-type": "application/x-www-form-urlencoded"}
    plain_error(api.post("/containers/nope/stop", content=big, headers=form), 500, "http: POST too large")
    r = api.post("/containers/create", content=big, headers=form)
    assert (r.status_code, r.content) == (200, b"")  # create's form-error quirk
    assert served.ping_time() < 1


def test_nested_json_past_the_depth_limit(api):
    def nested(depth: int) -> str:
        return "[" * depth + "]" * depth
    deep, fine = nested(MAX_DEPTH + 1), nested(MAX_DEPTH - 1)
    message = "invalid character '[' exceeded max depth"
    plain_error(api.post("/containers/create", content=f'{{"Image":"busybox","Cmd":["true"],"X":{deep}}}'),
                500, message)
    r = api.post("/containers/create", content=f'{{"Image":"busybox","Cmd":["true"],"X":{fine}}}')
    assert r.status_code == 201, r.text
    plain_error(api.get("/containers/json", params={"filters": deep}), 500, message)
    plain_error(api.get("/images/json", params={"filters": nested(10_000)}), 500, message)
    plain_error(api.post("/containers/create", content=b"[" * 1_000_000), 500, message)
    auth = base64.urlsafe_b64encode(nested(10_000).encode()).decode()
    r = api.post("/images/busybox/push", headers={"X-Registry-Auth": auth})
    assert r.status_code == 200 and b"The push refers to a repository [busybox]" in r.content
    assert api.post("/auth", content=nested(10_000)).status_code == 500  # an empty config, as undecodable
    r = api.post("/commit", params={"container": "nope"}, content=nested(10_000))
    plain_error(r, 404, "No such container: nope")


# --- 1.2.0's answers, never an internal error ---------------------------------------------------------------


def test_integers_past_4300_digits(api):
    cid = run(api, ["echo", "hi"])
    assert api.get("/containers/json", params={"limit": HUGE}).status_code == 200  # ParseInt fails: 0
    r = api.get(f"/containers/{cid}/logs", params={"stdout": 1, "tail": HUGE})
    assert r.status_code == 200 and r.content.endswith(b"hi\n")  # Atoi fails: the whole log
    plain_error(api.post(f"/containers/{cid}/resize", params={"h": HUGE, "w": "80"}), 500,
                f'strconv.ParseInt: parsing "{HUGE}": value out of range')
    r = api.get("/events", params={"since": HUGE, "until": "1"})
    assert (r.status_code, r.content) == (200, b"")  # since reads as 0: nothing replayed
    plain_error(api.post(f"/containers/{cid}/kill", params={"signal": HUGE}), 500, f"Invalid signal: {HUGE}")
    assert api.post(f"/containers/{cid}/kill", params={"signal": "0" * 5000 + "7"}).status_code == 204  # SIGBUS
    assert api.post(f"/containers/{cid}/stop", params={"t": HUGE}).status_code == 304
    r = api.post("/containers/create", json={"Image": "busybox", "Cmd": ["true"], "Memory": HUGE})
    assert r.status_code == 201  # GetInt64 of a bad string: 0, no limit
    body = '{"Image":"busybox","Cmd":["true"],"Memory":%s}'
    plain_error(api.post("/containers/create", content=body % HUGE), 500,
                f"json: cannot unmarshal number {HUGE} into Go value of type float64")
    plain_error(api.post("/containers/create", content=body % "1e20"), 500, "Minimum memory limit allowed is 512k")
    r = api.get("/containers/json", params={"filters": json.dumps({"exited": [HUGE]})})
    plain_error(r, 500, f'strconv.ParseInt: parsing "{HUGE}": value out of range')


@pytest.mark.parametrize("policy", [{"Name": "always", "MaximumRetryCount": "x"},
                                    {"Name": "on-failure", "MaximumRetryCount": [1]},
                                    {"Name": "always", "MaximumRetryCount": 1.5},
                                    {"Name": "always", "MaximumRetryCount": 1e30}])
def test_start_ignores_restart_policy_type_errors(api, policy):
    plain_error(api.post("/containers/nope/start", json={"RestartPolicy": policy}), 404, "No such container: nope")
    r = api.post("/containers/create", json={"Image": "busybox", "Cmd": ["true"]})
    cid = r.json()["Id"]
    assert api.post(f"/containers/{cid}/start", json={"RestartPolicy": policy}).status_code == 204
    host = api.get(f"/containers/{cid}/json").json()["HostConfig"]
    assert host["RestartPolicy"] == {"Name": policy["Name"], "MaximumRetryCount": 0}


def test_start_reads_json_fields_as_go_did(api):
    r = api.post("/containers/create", json={"Image": "busybox", "Cmd": ["sleep", "30"]})
    cid = r.json()["Id"]
    body = {"RestartPolicy": {"name": "on-failure", "maximumretrycount": 3},
            "PortBindings": {"80/tcp": "x", "81/tcp": [{"HostPort": 5, "HostIp": "127.0.0.1"}], "abc": None}}
    assert api.post(f"/containers/{cid}/start", json=body).status_code == 204
    host = api.get(f"/containers/{cid}/json").json()["HostConfig"]
    assert host["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 3}
    assert host["PortBindings"] == {"80/tcp": None, "81/tcp": [{"HostIp": "127.0.0.1", "HostPort": ""}],
                                    "abc": None}
    assert api.get("/containers/json").status_code == 200  # port numbers that do not parse read as 0
    assert api.delete(f"/containers/{cid}", params={"force": 1}).status_code == 204


LOAD_VARIANTS = {
    "list-not-object": ({f"{IMAGE}/json": b"[1, 2]"}, "json: cannot unmarshal array into Go value of type image.Image"),
    "month-13": ({f"{IMAGE}/json": image_json(IMAGE, created="2014-13-01T00:00:00Z")},
                 'parsing time ""2014-13-01T00:00:00Z"": month out of range'),
    "february-30": ({f"{IMAGE}/json": image_json(IMAGE, created="2014-02-30T00:00:00Z")},
                    'parsing time ""2014-02-30T00:00:00Z"": day out of range'),
    "created-number": ({f"{IMAGE}/json": json.dumps({"id": IMAGE, "created": 1409000000}).encode()},
                       'parsing time "1409000000" as ""2006-01-02T15:04:05Z07:00"": cannot parse "1409000000" as """'),
    "config-list": ({f"{IMAGE}/json": image_json(IMAGE, config=["Cmd"])},
                    "json: cannot unmarshal array into Go value of type runconfig.Config"),
    "container-config-string": ({f"{IMAGE}/json": image_json(IMAGE, container_config="x")},
                                "json: cannot unmarshal string into Go value of type runconfig.Config"),
    "parent-number": ({f"{IMAGE}/json": image_json(IMAGE, parent=7)},
                      "json: cannot unmarshal number into Go value of type string"),
    "cmd-number": ({f"{IMAGE}/json": image_json(IMAGE, config={"Cmd": [1]})},
                   "json: cannot unmarshal number into Go value of type string"),
    "repositories-list": ({"repositories": b'["busybox"]'},
                          "json: cannot unmarshal array into Go value of type map[string]graph.Repository"),
}


@pytest.mark.parametrize("name", list(LOAD_VARIANTS))
def test_load_of_wrongly_typed_json(api, name):
    files, message = LOAD_VARIANTS[name]
    plain_error(api.post("/images/load", content=tar(files)), 500, message)
    assert IMAGE not in {i["Id"] for i in api.get("/images/json", params={"all": 1}).json()}


def test_internal_error_is_one_line_and_a_plain_500(monkeypatch, caplog):
    async def broken(call):
        raise RuntimeError("boom")
    with DaemonThread() as daemon:
        monkeypatch.setitem(HANDLERS, "system.version", broken)
        with httpx.Client(transport=httpx.HTTPTransport(uds=daemon.socket_path), base_url="http://d") as api:
            with caplog.at_level(logging.ERROR, logger="conformance.daemon"):
                r = api.get("/version")
            plain_error(r, 500, f"{INTERNAL_ERROR}: RuntimeError")
            records = [rec for rec in caplog.records if rec.name == "conformance.daemon"]
            assert len(records) == 1 and records[0].exc_info is None
            assert "boom" in records[0].getMessage() and "\n" not in records[0].getMessage()
            assert api.get("/_ping").text == "OK"


def test_serve_refuses_bad_limits():
    for args in (["--max-json-depth", "100000"], ["--max-body", "lots"]):
        out = subprocess.run([sys.executable, "-m", "conformance", "serve", *args], capture_output=True, timeout=20)
        assert out.returncode == 2, out


def test_a_long_parent_chain_loads_lists_and_deletes(served, api):
    ids = [f"d{i:063x}" for i in range(1, 801)]  # 1 KiB each: within the 1 MiB body limit
    files = {f"{x}/json": image_json(x, **({"parent": ids[i - 1]} if i else {})) for i, x in enumerate(ids)}
    files["repositories"] = json.dumps({"chain": {"latest": ids[-1]}}).encode()
    assert api.post("/images/load", content=tar(files)).status_code == 200
    started = time.monotonic()
    listed = api.get("/images/json", params={"all": 1}).json()
    assert {i["Id"] for i in listed} >= set(ids)
    assert len(api.get("/images/chain/history").json()) == len(ids)
    assert time.monotonic() - started < 5  # no walk per image over its whole chain
    removed = api.delete("/images/chain").json()
    assert removed[0] == {"Untagged": "chain:latest"} and len(removed) == len(ids) + 1  # no recursion limit
    assert served.ping_time() < 1
