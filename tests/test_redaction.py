"""Redaction, end to end: no credential reaches a log, recording, HAR, report or console line.

Secrets sent through `conformance proxy --log --record` to a fake daemon that answers like a registry-
facing dockerd (an `/auth` identity token, an error quoting the URL it failed to fetch):
- `X-Registry-Auth` (base64url JSON: password, auth = base64 user:password, identitytoken) and
  `X-Registry-Config` (base64 JSON per registry), an `Authorization` header;
- an `/auth` body's password, auth, identitytoken and registrytoken;
- URL credentials in `fromSrc=` (as typed), build `remote=` (percent-encoded, as the CLI sends it), in
  the request target and in a JSON body string (an `Env` proxy URL).
Every written file (the JSONL log, the .mitm recording as bytes and read back with mitmproxy's io, the
HAR export, `check` text and JSON, `replay send` reports) and every stdout/stderr is scanned for each
secret raw and base64 (std and urlsafe, padded and not). The daemon itself receives every secret (the
proxy passes bytes as they are), `--record --no-redact` keeps them in the recording only, and each
redacted body's Content-Length matches it.
"""

from __future__ import annotations

import base64
import json
import socket
import tempfile
import threading
from pathlib import Path

import pytest
from mitmproxy import io

from conformance.capture.redact import REDACTED, redact, redact_response
from tests.proxy_cli import ProxyProcess, run_cli

USER, PW = "alice-cft", "Pa55-w0rd-Zq81x"
AUTH = base64.b64encode(f"{USER}:{PW}".encode()).decode()
IDTOKEN, REGTOKEN = "idtok-Jm3kQ9xVw", "regtok-Wb7Ye2Lp"
CFG_PW, CFG_IDTOKEN = "cfg-pw-Hq2Zr8", "cfg-idtok-Vn5Kd1"
AUTH_BODY_PW, AUTH_BODY_IDTOKEN, AUTH_BODY_REGTOKEN = "body-pw-T6mXa3", "body-idtok-P0sLe4", "body-regtok-C9wUj7"
AUTH_BODY_AUTH = base64.b64encode(f"{USER}:{AUTH_BODY_PW}".encode()).decode()
RESP_IDTOKEN = "resp-idtok-Q8vN2gF"
SRC_USERINFO, SRC_PW = "bob:Url-pw-77Hxq", "Url-pw-77Hxq"
GIT_USERINFO, GIT_PW = "carol:Git-tok-5Rpz", "Git-tok-5Rpz"
ENV_USERINFO, ENV_PW = "dave:Env-pw-3Kdy", "Env-pw-3Kdy"
BEARER = "bearer-tok-Ls4Nq7Wd"
MAL_AUTH, MAL_BASIC = "bWFsZm9ybWVkLWhlYWQtc2VjcmV0", base64.b64encode(b"erin:Mal-pw-8Tgk").decode()

REGISTRY_AUTH = base64.urlsafe_b64encode(json.dumps({
    "username": USER, "password": PW, "auth": AUTH, "identitytoken": IDTOKEN, "registrytoken": REGTOKEN,
    "email": "a@example.test", "serveraddress": "registry.test"}).encode()).decode().rstrip("=")
REGISTRY_CONFIG = base64.b64encode(json.dumps({
    "https://index.docker.io/v1/": {"username": USER, "password": CFG_PW,
                                    "auth": base64.b64encode(f"{USER}:{CFG_PW}".encode()).decode()},
    "registry.test": {"identitytoken": CFG_IDTOKEN}}).encode()).decode()

SECRETS = [PW, AUTH, IDTOKEN, REGTOKEN, CFG_PW, CFG_IDTOKEN, AUTH_BODY_PW, AUTH_BODY_IDTOKEN, AUTH_BODY_REGTOKEN,
           AUTH_BODY_AUTH, RESP_IDTOKEN, SRC_USERINFO, SRC_PW, GIT_USERINFO, GIT_PW, ENV_USERINFO, ENV_PW, BEARER,
           REGISTRY_AUTH, REGISTRY_CONFIG, f"{USER}:{PW}", f"{USER}:{AUTH_BODY_PW}", f"{USER}:{CFG_PW}",
           MAL_AUTH, MAL_BASIC, "erin:Mal-pw-8Tgk"]
# a head the proxy cannot parse (a header line without a colon): it quotes the head in a finding
MALFORMED = (f"POST /v1.14/images/create?fromImage=x HTTP/1.1\r\nHost: docker\r\nX-Registry-Auth: {MAL_AUTH}\r\n"
             f"Authorization: Basic {MAL_BASIC}\r\nNot a header line\r\n\r\n").encode()


def secret_forms() -> dict[bytes, str]:
    """Each secret raw, and base64 std and urlsafe, padded and not (>= 8 characters: no chance hits)."""
    forms: dict[bytes, str] = {}
    for s in SECRETS:
        raw = s.encode()
        forms[raw] = s
        for enc in (base64.b64encode, base64.urlsafe_b64encode):
            text = enc(raw)
            forms[text] = f"base64({s})"
            forms[text.rstrip(b"=")] = f"base64({s}) unpadded"
    return {k: v for k, v in forms.items() if len(k) >= 8}


FORMS = secret_forms()


def leaks(data: bytes) -> list[str]:
    return sorted({what for form, what in FORMS.items() if form in data})


# -- the requests ----------------------------------------------------------------------------------------
def _auth_body() -> bytes:
    return json.dumps({"username": USER, "password": AUTH_BODY_PW, "auth": AUTH_BODY_AUTH,
                       "identitytoken": AUTH_BODY_IDTOKEN, "registrytoken": AUTH_BODY_REGTOKEN,
                       "email": "a@example.test", "serveraddress": "https://index.docker.io/v1/"}).encode()


def _create_body() -> bytes:
    return json.dumps({"Image": "busybox", "Cmd": ["true"],
                       "Env": [f"HTTPS_PROXY=http://{ENV_USERINFO}@proxy.test:3128", "A=1"]}).encode()


REMOTE = f"https%3A%2F%2F{GIT_USERINFO.replace(':', '%3A')}%40git.test%2Frepo.git"
REQUESTS: list[tuple[str, str, list[tuple[str, str]], bytes]] = [
    ("POST", "/v1.14/auth", [("Content-Type", "application/json")], _auth_body()),
    ("POST", f"/v1.14/images/create?fromSrc=http://{SRC_USERINFO}@files.test/rootfs.tar&repo=imp",
     [("X-Registry-Auth", REGISTRY_AUTH)], b""),
    ("POST", f"/v1.14/build?remote={REMOTE}&t=built", [("X-Registry-Config", REGISTRY_CONFIG),
                                                        ("Content-Type", "application/tar")], b""),
    ("POST", "/v1.14/containers/create", [("Content-Type", "application/json")], _create_body()),
    ("POST", "/v1.14/images/registry.test/app/push", [("X-Registry-Auth", REGISTRY_AUTH),
                                                     ("Authorization", f"Bearer {BEARER}")], b""),
]


def _request_bytes(method: str, target: str, headers: list[tuple[str, str]], body: bytes) -> bytes:
    head = [f"{method} {target} HTTP/1.1", "Host: docker", "Connection: close",
            f"Content-Length: {len(body)}", *(f"{k}: {v}" for k, v in headers)]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


class RegistryFacingDaemon:
    """A fake dockerd: records every request as received; answers `/auth` with an identity token and a
    failed import with an error that quotes the URL, credentials included (as 1.2.0's would)."""

    def __init__(self, path: Path):
        self.received: list[bytes] = []
        self._sock = socket.socket(socket.AF_UNIX)
        self._sock.bind(str(path))
        self._sock.listen(16)
        self.url = f"unix://{path}"
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self._sock.close()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            buf = b""
            while b"\r\n\r\n" not in buf:
                data = conn.recv(65536)
                if not data:
                    return
                buf += data
            head, _, body = buf.partition(b"\r\n\r\n")
            length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                           if line.lower().startswith(b"content-length:")), 0)
            while len(body) < length:
                body += conn.recv(65536)
            self.received.append(head + b"\r\n\r\n" + body)
            target = head.split(b" ")[1].decode()
            conn.sendall(self._answer(target))

    @staticmethod
    def _answer(target: str) -> bytes:
        def reply(status: str, ctype: str, body: bytes) -> bytes:
            return (f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n"
                    f"Connection: close\r\n\r\n").encode() + body
        path = target.split("?", 1)[0]
        if path == "/v1.14/auth":
            return reply("200 OK", "application/json",
                         json.dumps({"Status": "Login Succeeded", "IdentityToken": RESP_IDTOKEN}).encode())
        if path == "/v1.14/images/create":
            return reply("500 Internal Server Error", "text/plain; charset=utf-8",
                         f"Get http://{SRC_USERINFO}@files.test/rootfs.tar: dial tcp: lookup files.test: "
                         f"no such host\n".encode())
        if path == "/v1.14/containers/create":
            return reply("201 Created", "application/json", b'{"Id":"' + b"c" * 64 + b'","Warnings":null}')
        if path == "/v1.14/build":
            return reply("200 OK", "application/json", b'{"stream":"Successfully built 0123456789ab\\n"}')
        return reply("200 OK", "application/json", b'{"status":"The push refers to a repository"}')


def _send_all(sock: Path) -> list[bytes]:
    answers = []
    for method, target, headers, body in REQUESTS:
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(20)
            s.connect(str(sock))
            s.sendall(_request_bytes(method, target, headers, body))
            got = b""
            while chunk := s.recv(65536):
                got += chunk
            answers.append(got)
    return answers


@pytest.fixture
def workdir():
    d = Path(tempfile.mkdtemp(prefix="cft-red-", dir="/tmp"))  # short: Unix socket paths are limited
    yield d
    import shutil
    shutil.rmtree(d, ignore_errors=True)


def _record(workdir: Path, no_redact: bool = False) -> tuple[ProxyProcess, RegistryFacingDaemon, list[bytes]]:
    daemon = RegistryFacingDaemon(workdir / "up.sock")
    try:
        with ProxyProcess(workdir, daemon.url, no_redact=no_redact) as proxy:
            answers = _send_all(proxy.sock)
    finally:
        daemon.close()
    return proxy, daemon, answers


def _flows(path: Path) -> list:
    with open(path, "rb") as f:
        return list(io.FlowReader(f).stream())


def test_no_secret_survives_in_any_file_or_console_line(workdir):
    proxy, daemon, answers = _record(workdir)
    # the bytes are sacred: the daemon got every secret, the client every answer as the daemon sent it
    assert len(daemon.received) == len(REQUESTS)
    sent = b"".join(daemon.received)
    for secret in (AUTH_BODY_PW, AUTH_BODY_IDTOKEN, REGISTRY_AUTH, REGISTRY_CONFIG, SRC_USERINFO, REMOTE, ENV_PW,
                   BEARER):
        assert secret.encode() in sent, secret
    assert RESP_IDTOKEN.encode() in answers[0] and SRC_USERINFO.encode() in answers[1]

    live = proxy.log_lines
    assert len(live) == len(REQUESTS)
    assert proxy.stderr.count(b"/v1.14/") >= len(REQUESTS)  # the console did print the exchanges
    found: dict[str, list[str]] = {  # every place, so one run shows every leak
        # (the logged target and the console line are test_log_and_console_show_the_redacted_target's)
        "JSONL log": leaks(_without_targets(proxy.log_path.read_bytes(), live)),
        "recording bytes": leaks(proxy.record_path.read_bytes()),
    }
    flows = _flows(proxy.record_path)
    assert len(flows) == len(REQUESTS)
    for fl in flows:
        found[f"recorded flow {fl.request.path}"] = leaks(repr(fl.get_state()).encode())
        for msg in (fl.request, fl.response):
            if msg.raw_content is not None and "content-length" in msg.headers:
                assert int(msg.headers["content-length"]) == len(msg.raw_content), fl.request.path
    har = workdir / "session.har"
    exported = run_cli("export", str(proxy.record_path), "--har", str(har))
    assert exported.returncode == 0
    found["HAR export"] = leaks(har.read_bytes() + exported.stdout + exported.stderr)
    for entry in json.loads(har.read_text())["log"]["entries"]:
        for part, size in (("request", entry["request"]["bodySize"]), ("response", entry["response"]["bodySize"])):
            declared = [h["value"] for h in entry[part]["headers"] if h["name"].lower() == "content-length"]
            assert declared in ([], [str(size)]), (entry["request"]["url"], part, declared, size)
    for args in ([], ["--format", "json"]):
        for capture in (proxy.record_path, har):
            checked = run_cli("check", str(capture), *args)
            assert checked.returncode in (0, 1), checked.stderr
            assert checked.stdout.count(b"/v1.14/") >= len(REQUESTS)
            found[f"check {capture.name} {args}"] = leaks(checked.stdout + checked.stderr)
    assert not {where: what for where, what in found.items() if what}

    by_path = {fl.request.path.split("?")[0]: fl for fl in flows}
    auth = by_path["/v1.14/auth"]
    assert json.loads(auth.request.raw_content)["password"] == REDACTED
    assert json.loads(auth.response.raw_content)["IdentityToken"] == REDACTED
    assert by_path["/v1.14/images/create"].request.headers["X-Registry-Auth"] == REDACTED
    assert "fromSrc=http://<redacted>@files.test/rootfs.tar" in by_path["/v1.14/images/create"].request.path
    assert by_path["/v1.14/build"].request.headers["X-Registry-Config"] == REDACTED
    assert json.loads(by_path["/v1.14/containers/create"].request.raw_content)["Env"][0] == \
        "HTTPS_PROXY=http://<redacted>@proxy.test:3128"


def test_no_redact_keeps_secrets_in_the_recording_only(workdir):
    proxy, _daemon, _answers = _record(workdir, no_redact=True)
    recorded = proxy.record_path.read_bytes()
    for secret in (AUTH_BODY_PW, REGISTRY_AUTH, SRC_USERINFO, ENV_PW, RESP_IDTOKEN):
        assert secret.encode() in recorded, secret
    found: dict[str, list[str]] = {"JSONL log": leaks(_without_targets(proxy.log_path.read_bytes(),
                                                                       proxy.log_lines))}
    # what is made from that recording is redacted again: HAR export, check, replay send's reports
    har = workdir / "kept.har"
    exported = run_cli("export", str(proxy.record_path), "--har", str(har))
    assert exported.returncode == 0
    found["HAR export"] = leaks(har.read_bytes() + exported.stdout + exported.stderr)
    checked = run_cli("check", str(proxy.record_path))
    assert checked.stdout.count(b"/v1.14/") >= len(REQUESTS)
    found["check"] = leaks(checked.stdout + checked.stderr)

    again = RegistryFacingDaemon(workdir / "up2.sock")
    try:
        report = workdir / "report"
        replayed = run_cli("replay", "send", str(proxy.record_path), "--daemon", again.url,
                           "--report", str(report), "--fail-on", "never")
    finally:
        again.close()
    assert replayed.returncode == 0, replayed.stderr
    assert len(again.received) == len(REQUESTS) and REGISTRY_AUTH.encode() in b"".join(again.received)
    files = [p for p in report.rglob("*") if p.is_file()]
    assert {"replay.json", "answers.har"} <= {p.name for p in files}
    for path in files:
        found[f"replay report {path.name}"] = leaks(path.read_bytes())
    found["replay send console"] = leaks(replayed.stdout + replayed.stderr)
    assert not {where: what for where, what in found.items() if what}


def _without_targets(log: bytes, lines: list[dict]) -> bytes:
    """The log with each line's `path` left out (what else a line says is still scanned)."""
    kept = [{k: v for k, v in line.items() if k != "path"} for line in lines]
    assert len(kept) == log.count(b"\n")
    return json.dumps(kept).encode()


@pytest.mark.parametrize("no_redact", [False, True], ids=["redacted", "no-redact"])
def test_log_and_console_show_the_redacted_target(workdir, no_redact):
    proxy, _daemon, _answers = _record(workdir, no_redact=no_redact)
    assert proxy.stderr.count(b"/v1.14/") >= len(REQUESTS)
    paths = [line["path"] for line in proxy.log_lines]
    assert any("fromSrc=http://<redacted>@files.test" in p for p in paths)
    found = {"JSONL log": leaks(proxy.log_path.read_bytes()), "console": leaks(proxy.stdout + proxy.stderr)}
    assert not {where: what for where, what in found.items() if what}


def _send_malformed(workdir: Path) -> ProxyProcess:
    daemon = RegistryFacingDaemon(workdir / "up.sock")
    try:
        with ProxyProcess(workdir, daemon.url) as proxy:
            with socket.socket(socket.AF_UNIX) as s:
                s.settimeout(20)
                s.connect(str(proxy.sock))
                s.sendall(MALFORMED)
                assert s.recv(65536).startswith(b"HTTP/1.1 400")
    finally:
        daemon.close()
    assert not daemon.received
    return proxy


def test_a_quoted_malformed_head_is_scrubbed_in_the_recording_and_check(workdir):
    proxy = _send_malformed(workdir)
    [line] = proxy.log_lines
    assert any(f["rule"] == "v114.http.malformed" for f in line["findings"])  # the head was quoted
    flows = _flows(proxy.record_path)
    assert len(flows) == 1
    found = {"recording bytes": leaks(proxy.record_path.read_bytes()),
             "recorded flow": leaks(repr(flows[0].get_state()).encode() + flows[0].comment.encode())}
    har = workdir / "m.har"
    assert run_cli("export", str(proxy.record_path), "--har", str(har)).returncode == 0
    found["HAR"] = leaks(har.read_bytes())
    for capture in (proxy.record_path, har):
        checked = run_cli("check", "--format", "json", str(capture))
        assert b"v114.http.malformed" in checked.stdout
        found[f"check {capture.name}"] = leaks(checked.stdout + checked.stderr)
    assert not {where: what for where, what in found.items() if what}


def test_a_quoted_malformed_head_is_scrubbed_in_the_log_and_console(workdir):
    proxy = _send_malformed(workdir)
    found = {"JSONL log": leaks(proxy.log_path.read_bytes()), "console": leaks(proxy.stdout + proxy.stderr)}
    assert not {where: what for where, what in found.items() if what}


# -- the redaction function itself ---------------------------------------------------------------------
def test_every_form_is_redacted_and_lengths_follow():
    for method, target, headers, body in REQUESTS:
        headers = [*headers, ("Content-Length", str(len(body)))]
        red = redact(target, headers, body or None)
        text = (red.target + json.dumps(red.headers)).encode() + (red.body or b"")
        assert not leaks(text), (target, leaks(text))
        assert dict(red.headers)["Content-Length"] == str(len(red.body or b"")), target
        # scrub cleans any text that quotes the request's secrets, in any of their forms
        assert not leaks(red.scrub_bytes(_request_bytes(method, target, headers, body))), target
    assert redact("/v1.14/_ping", [("Host", "d")]).changed is False


def test_the_request_target_keeps_its_shape():
    plain = redact(f"/v1.14/images/create?fromSrc=http://{SRC_USERINFO}@h/x.tar&repo=r", [])
    assert plain.target == "/v1.14/images/create?fromSrc=http://<redacted>@h/x.tar&repo=r"
    encoded = redact(f"/v1.14/build?remote={REMOTE}&t=x", [])
    assert encoded.target.endswith("&t=x") and "git.test" in encoded.target and GIT_PW not in encoded.target
    assert "%3Credacted%3E%40git.test" in encoded.target
    untouched = "/v1.14/images/create?fromImage=busybox&tag=latest"
    assert redact(untouched, []).target == untouched
    assert redact("/v1.14/build?remote=https://github.com/docker/x.git", []).changed is False


def test_auth_answer_and_quoted_secrets_in_responses():
    req = redact(f"/v1.14/images/create?fromSrc=http://{SRC_USERINFO}@files.test/x", [])
    headers, body = redact_response(req, "/v1.14/images/create", [("Content-Type", "text/plain"),
                                                                  ("Content-Length", "60")],
                                    f"Get http://{SRC_USERINFO}@files.test/x: no such host".encode())
    assert SRC_PW.encode() not in body and dict(headers)["Content-Length"] == str(len(body))
    answer = json.dumps({"Status": "Login Succeeded", "IdentityToken": RESP_IDTOKEN}).encode()
    _, body = redact_response(redact("/v1.14/auth", []), "/v1.14/auth", [("Content-Type", "application/json")],
                              answer)
    assert json.loads(body) == {"Status": "Login Succeeded", "IdentityToken": REDACTED}
    stream = b"\x01\x00\x00\x00\x00\x00\x00\x05" + SRC_PW.encode()  # raw streams stay byte for byte
    assert redact_response(req, "/v1.14/containers/x/logs", [("Content-Type", "application/vnd.docker.raw-stream")],
                           stream)[1] == stream


# -- properties ------------------------------------------------------------------------------------------
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_URL_SAFE = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=%",
                    min_size=8, max_size=40)


@settings(max_examples=200, deadline=None)
@given(password=st.text(min_size=8, max_size=40).filter(lambda s: s.strip() == s and REDACTED not in s),
       url_password=_URL_SAFE, field=st.sampled_from(["password", "auth", "identitytoken", "registrytoken",
                                                        "Password", "IdentityToken"]))
def test_no_password_survives_any_request_form(password, url_password, field):
    from urllib.parse import quote
    header = base64.urlsafe_b64encode(json.dumps({field: password}).encode()).decode()
    body = json.dumps({"username": "u", "Env": [f"P=http://u:{url_password}@h:1/x"]}).encode()
    auth_body = json.dumps({"username": "u", field: password, "serveraddress": "h"}).encode()
    for target in (f"/v1.14/images/create?fromSrc=http://u:{url_password}@h/x&repo=r",
                   f"/v1.14/build?remote={quote(f'https://u:{url_password}@h/r.git', safe='')}"):
        red = redact(target, [("X-Registry-Auth", header), ("Content-Length", str(len(body)))], body)
        out = red.target + json.dumps(red.headers) + (red.body or b"").decode()
        assert url_password not in out and quote(url_password, safe="") not in out
        assert password not in red.target
        auth = redact("/v1.14/auth", [("Content-Length", str(len(auth_body)))], auth_body)
        assert json.loads(auth.body) == {"username": "u", field: REDACTED, "serveraddress": "h"}
        assert dict(auth.headers)["Content-Length"] == str(len(auth.body))
        assert password not in red.scrub(f"evidence: {password} / {header}")


@given(st.binary(max_size=300), st.text(max_size=80))
def test_redact_never_fails_on_odd_input(body, text):
    red = redact("/v1.14/auth?" + text, [("X-Registry-Auth", text), ("X-Registry-Config", text + "%%"),
                                         ("Authorization", text)], body)
    assert all(v == REDACTED for k, v in red.headers if k.lower() != "content-length" and v) or not text
    redact_response(red, "/v1.14/auth", [("Content-Type", "application/json")], body)
