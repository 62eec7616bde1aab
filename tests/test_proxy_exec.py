"""`docker exec` through the proxy equals `docker exec` direct, against the real dockerd and podman.

exec start is a later route that hijacks the connection; through the proxy its output used to be
lost entirely (exit 0, nothing printed). Each case runs the same command both ways, with the API
pinned to 1.14 and negotiated, and compares exit status, stdout and stderr; the exchange must be
logged as hijacked with every byte counted.
"""

from __future__ import annotations

import hashlib
import os
import pty
import select
import shutil
import subprocess
import time

import pytest

from conformance.daemonurl import parse_daemon_url
from conformance.proxy.threaded import ProxyThread

DOCKER = shutil.which("docker") or "/usr/local/bin/docker"
STDIN = hashlib.sha256(b"seed").digest() * (1 << 15)  # 1 MiB, fixed


@pytest.fixture(scope="module", params=["dockerd", "podman"])
def target(request, tmp_path_factory, name_prefix):
    url = request.getfixturevalue(f"{request.param}_url")
    d = tmp_path_factory.mktemp(f"exec-{request.param}")
    config = str(d / "config")
    os.makedirs(config)
    name = f"{name_prefix}-exec-{request.param}"
    with ProxyThread(parse_daemon_url(f"unix://{d}/proxy.sock"), parse_daemon_url(url)) as p:
        env = _env(url, config, "1.14")
        subprocess.run([DOCKER, "rm", "-f", name], env=env, capture_output=True, timeout=60)
        subprocess.run([DOCKER, "run", "-d", "--network", "none", "--name", name, "busybox", "sleep", "600"],
                       env=env, check=True, capture_output=True, timeout=120)
        try:
            yield url, p, config, name
        finally:
            subprocess.run([DOCKER, "rm", "-f", name], env=env, capture_output=True, timeout=60)


def _env(url: str, config: str, api: str | None) -> dict[str, str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": config, "DOCKER_CONFIG": config,
           "DOCKER_HOST": str(url)}
    if api:
        env["DOCKER_API_VERSION"] = api
    return env


def _both(target, api, *args, stdin: bytes | None = None):
    url, p, config, name = target
    out = []
    for where in (str(p.url), url):
        proc = subprocess.run([DOCKER, "exec", *args[:-1], name, *args[-1]], input=stdin, capture_output=True,
                              env=_env(where, config, api), timeout=120)
        out.append((proc.returncode, proc.stdout, proc.stderr))
    return out


def _exec_lines(p, since: int):
    deadline = time.time() + 10
    while time.time() < deadline:
        lines = [x for x in p.lines[since:] if "/exec/" in x["path"] and x["path"].split("?")[0].endswith("/start")]
        if lines and p.session.stats.exchanges == p.session.begun:
            return lines
        time.sleep(0.05)
    raise AssertionError(f"no finished exec start exchange in {p.lines[since:]}")


@pytest.mark.parametrize("api", ["1.14", None], ids=["v1.14", "negotiated"])
def test_exec_plain_and_exit_status(target, api):
    p = target[1]
    since = len(p.lines)
    via, direct = _both(target, api, ["sh", "-c", "echo out; echo err >&2; exit 7"])
    assert via == direct and via[0] == 7 and via[1] == b"out\n" and via[2] == b"err\n"
    [line] = _exec_lines(p, since)
    assert line["hijacked"] and line["response_bytes"] >= 2 * 8 + 8 and not line.get("error")
    assert not [f for f in line["findings"] if f["severity"] == "error"]
    via, direct = _both(target, api, ["echo", "hi"])
    assert via == direct == (0, b"hi\n", b"")


@pytest.mark.parametrize("api", ["1.14", None], ids=["v1.14", "negotiated"])
def test_exec_interactive_one_mib_of_stdin(target, api):
    via, direct = _both(target, api, "-i", ["sha256sum"], stdin=STDIN)
    want = hashlib.sha256(STDIN).hexdigest().encode()
    assert via[0] == direct[0] == 0
    assert via[1].split()[0] == direct[1].split()[0] == want


def _under_pty(argv: list[str], env: dict[str, str], timeout: float = 60) -> tuple[int, bytes]:
    master, slave = pty.openpty()
    proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True)
    os.close(slave)
    out = b""
    deadline = time.time() + timeout
    while time.time() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:
                break
            if not data:
                break
            out += data
        elif proc.poll() is not None:
            break
    os.close(master)
    return proc.wait(timeout=10), out


@pytest.mark.parametrize("api", ["1.14", None], ids=["v1.14", "negotiated"])
def test_exec_tty_under_a_pty(target, api):
    url, p, config, name = target
    since = len(p.lines)
    results = [_under_pty([DOCKER, "exec", "-t", name, "sh", "-c", "echo tty-out; exit 3"],
                          _env(where, config, api)) for where in (str(p.url), url)]
    assert results[0][0] == results[1][0] == 3
    assert b"tty-out" in results[0][1] and b"tty-out" in results[1][1]
    [line] = _exec_lines(p, since)
    assert line["hijacked"] and not [f for f in line["findings"] if f["rule"].startswith("v114.frame.")]


# -- raw-socket clients that half-close, against the real daemons ----------------------------------
def _raw(url: str, request: bytes, stdin: bytes = b"", timeout: float = 30) -> bytes:
    import socket
    path = parse_daemon_url(url).path
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(timeout)
        s.connect(path)
        s.sendall(request)
        if stdin:
            time.sleep(0.2)
            s.sendall(stdin)
        s.shutdown(socket.SHUT_WR)
        got = b""
        while data := s.recv(65536):
            got += data
        return got


def _body(raw: bytes) -> bytes:
    from conformance.proxy.chunked import ChunkedDecoder
    head, _, rest = raw.partition(b"\r\n\r\n")
    if b"chunked" in head.lower():
        dec = ChunkedDecoder()
        out = dec.feed(rest)
        assert dec.done, "the chunked terminator must arrive"
        return out
    return rest


def test_half_closed_events_client_gets_the_whole_stream(target):
    url, p, config, name = target
    since = int(time.time())
    env = _env(url, config, "1.14")
    for verb in ("pause", "unpause"):  # events of our own, in a window of a few seconds
        subprocess.run([DOCKER, verb, name], env=env, check=True, capture_output=True, timeout=60)
    # `until` is whole seconds and dockerd compares it with nanosecond event times: end the window a
    # full second after the last event, then wait until it is in the past, so both reads see the
    # same, complete stream
    until = int(time.time()) + 1
    while time.time() < until + 0.5:
        time.sleep(0.1)
    req = f"GET /v1.14/events?since={since}&until={until} HTTP/1.1\r\nHost: d\r\n\r\n".encode()
    direct = _raw(url, req)
    via = _raw(str(p.url), req)
    assert via.startswith(b"HTTP/1.1 200") and via.endswith(b"0\r\n\r\n")
    assert _body(via) == _body(direct)
    if "exec-dockerd" in str(p.url):  # dockerd replays the setup's own events (podman 4.3 keeps none here)
        assert _body(via).count(b'"status"') >= 2


def test_half_closed_exec_client_gets_output_after_its_eof(target):
    import json
    url, p, config, name = target
    create = json.dumps({"AttachStdin": True, "AttachStdout": True, "AttachStderr": True, "Tty": False,
                         "Cmd": ["sh", "-c", "cat; echo after-eof"]}).encode()
    outs = []
    for where in (str(p.url), url):
        answer = _raw(where, b"POST /v1.14/containers/%s/exec HTTP/1.1\r\nHost: d\r\nContent-Type: application/json"
                      b"\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s" % (name.encode(), len(create), create))
        exec_id = json.loads(_body(answer))["Id"]
        start = b'{"Detach":false,"Tty":false}'
        raw = _raw(where, b"POST /v1.14/exec/%s/start HTTP/1.1\r\nHost: d\r\nContent-Type: application/json\r\n"
                   b"Connection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: %d\r\n\r\n%s"
                   % (exec_id.encode(), len(start), start), stdin=b"typed\n")
        head, _, stream = raw.partition(b"\r\n\r\n")
        assert head.startswith((b"HTTP/1.1 101", b"HTTP/1.1 200")), head
        outs.append(_frames(stream))
    assert outs[0] == outs[1] == b"typed\nafter-eof\n"


def _frames(stream: bytes) -> bytes:
    out, pos = b"", 0
    while pos + 8 <= len(stream):
        n = int.from_bytes(stream[pos + 4:pos + 8], "big")
        out += stream[pos + 8:pos + 8 + n]
        pos += 8 + n
    return out
