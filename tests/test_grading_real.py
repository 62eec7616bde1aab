"""The checks added with the rule registry, on traffic from the real dockerd 20.10 and podman 4.3.

Each new check must fire where a real daemon shows what it judges, and stay silent where it does not:
the status per cause (delete of a running container, copy of a missing file), a v1.14 route a daemon
does not serve (podman's copy), later headers beyond the four the checker once knew, filter keys
1.2.0 ignores. Exchanges are sent with httpx over the daemon's socket and fed to one checker, so
what earlier exchanges taught (the container is running) is known as it is in a proxy session.
"""

from __future__ import annotations

import json

import httpx
import pytest

from conformance.checker import Checker
from conformance.daemonurl import parse_daemon_url

V = "/v1.14"


class Judged:
    """A client whose every exchange is judged by one checker."""

    def __init__(self, url: str):
        self.checker = Checker()
        sock = parse_daemon_url(url).path
        self.http = httpx.Client(transport=httpx.HTTPTransport(uds=sock), base_url="http://d", timeout=60)
        self.n = 0

    def send(self, method: str, path: str, *, params=None, json_body=None) -> tuple[httpx.Response, set[str]]:
        request = self.http.build_request(method, V + path, params=params,
                                          content=json.dumps(json_body).encode() if json_body is not None else None,
                                          headers={"Content-Type": "application/json"} if json_body is not None
                                          else None)
        r = self.http.send(request)
        self.n += 1
        ex = self.checker.exchange(str(self.n))
        ex.request_head(method, request.url.raw_path.decode(), list(request.headers.items()))
        if request.content:
            ex.request_body(request.content)
        ex.request_end()
        ex.response_head(r.status_code, r.reason_phrase, [(k.decode(), v.decode()) for k, v in r.headers.raw])
        ex.response_body(r.content)
        ex.response_end()
        return r, {f.rule for f in ex.findings}


@pytest.fixture(params=["dockerd", "podman"])
def daemon(request, unique_name):
    url = request.getfixturevalue(f"{request.param}_url")
    client = Judged(url)
    created, _ = client.send("POST", "/containers/create", params={"name": unique_name},
                             json_body={"Image": "busybox", "Cmd": ["sleep", "600"],
                                        "HostConfig": {"NetworkMode": "none"}})
    assert created.status_code == 201, created.text
    try:
        yield request.param, client, unique_name
    finally:
        client.send("DELETE", f"/containers/{unique_name}", params={"force": "1", "v": "1"})
        client.http.close()


def test_delete_of_a_running_container_is_judged_by_its_cause(daemon):
    which, client, name = daemon
    started, _ = client.send("POST", f"/containers/{name}/start", json_body={"NetworkMode": "none"})
    assert started.status_code == 204, started.text
    r, rules = client.send("DELETE", f"/containers/{name}")
    assert r.status_code >= 400, r.text
    # 1.2.0 answers 500, as podman does; dockerd 409 (notes §6.2): the state learnt from the start tells the cause
    assert (r.status_code != 500) == ("v114.status.cause" in rules), (r.status_code, r.text, rules)
    assert r.status_code == {"dockerd": 409, "podman": 500}[which], r.text
    # the same request with force is no error, and no verdict on its cause
    r, rules = client.send("DELETE", f"/containers/{name}", params={"force": "1"})
    assert r.status_code == 204 and "v114.status.cause" not in rules


def test_copy_is_served_and_a_missing_file_is_judged_by_its_cause(daemon):
    which, client, name = daemon
    r, rules = client.send("POST", f"/containers/{name}/copy", json_body={"Resource": "/no/such/file"})
    if which == "podman":  # podman 4.3 has no copy route: its router's 404
        assert r.status_code == 404 and "v114.status.route-missing" in rules, (r.text, rules)
    else:  # dockerd words 1.2.0's missing-file cause ("Could not find the file ...") but answers 404, not 500
        assert r.status_code == 404 and "Could not find the file" in r.text, r.text
        assert "v114.status.cause" in rules and "v114.status.route-missing" not in rules, rules
    r, rules = client.send("POST", f"/containers/{name}/copy", json_body={"Resource": "/etc/hostname"})
    if which == "dockerd":
        assert r.status_code == 200 and not rules & {"v114.status.cause", "v114.status.route-missing"}, rules


def test_later_headers_and_filter_keys(daemon):
    which, client, name = daemon
    r, rules = client.send("GET", "/containers/json", params={"all": "1", "filters": '{"status":["created"]}'})
    assert r.status_code == 200
    assert "v114.param.filter-key" in rules  # 1.2.0 honours only `exited` and ignores `status`
    assert "v114.header.later" in rules  # Api-Version, Server, Libpod-Api-Version, X-Content-Type-Options...
    r, rules = client.send("GET", "/containers/json", params={"all": "1", "filters": '{"exited":["0"]}'})
    assert "v114.param.filter-key" not in rules
    # size=1: dockerd leaves out a zero SizeRw (a created container has written nothing); 1.2.0 sends it
    r, rules = client.send("GET", "/containers/json", params={"all": "1", "size": "1"})
    mine = [c for c in r.json() if f"/{name}" in (c.get("Names") or [])]
    assert len(mine) == 1, r.text[:500]
    assert ("SizeRw" not in mine[0]) == ("v114.json.query-field" in rules), (mine[0], rules)
    if which == "dockerd":
        assert "v114.json.query-field" in rules
    r, rules = client.send("GET", "/containers/nothere/json")
    assert r.status_code == 404 and not rules & {"v114.status.cause", "v114.status.route-missing"}, rules
