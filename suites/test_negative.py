"""Negative tests: unknown ids on every container route, bad names, malformed bodies, bad parameters."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance.spec import RULEBOOK, Cause

from .expect import expect_outcome
from .strategies import bad_container_names

# Container routes with an {id}, answered without hijacking; their extra needs come from the rule book.
_ID_ROUTES = [ep for ep in RULEBOOK if "{id}" in ep.path and not ep.hijacked and not ep.websocket]
_NEEDS = {"containers.logs": {"stdout": 1}, "containers.resize": {"h": 10, "w": 10},
          "containers.stop": {"t": 0}, "containers.restart": {"t": 0}}


@pytest.mark.readonly
@pytest.mark.parametrize("endpoint", [pytest.param(ep, marks=pytest.mark.endpoints(ep.id), id=ep.id)
                                      for ep in _ID_ROUTES])
def test_unknown_container(api, names, endpoint):
    """1.2.0's statuses for a container that does not exist: 404 where the route can say so, else 500."""
    if endpoint.method != "GET" and api.read_only:
        pytest.skip("not a read-only request")
    path = endpoint.path.replace("{id}", f"{names.prefix}-missing")
    json_body = {"Resource": "/etc/passwd"} if endpoint.body.required else None
    r = api.request(endpoint.method, path, _NEEDS.get(endpoint.id), json_body=json_body)
    expect_outcome(api, endpoint, r, endpoint.outcome(Cause.UNKNOWN_CONTAINER), "an unknown container")


@pytest.mark.endpoints("containers.create")
@given(data=st.data())
def test_create_refuses_bad_names(api, image, names, data):
    name = data.draw(bad_container_names(names.prefix))
    r = api.post("/containers/create", {"name": name}, json_body={"Image": image, "Cmd": ["true"], "Tty": False})
    assert r.status >= 400, f"name {name!r} was accepted"


@pytest.mark.endpoints("containers.create")
@pytest.mark.parametrize("body", [b"{", b"[]", b'{"Image": '], ids=["open", "list", "cut"])
def test_create_malformed_json(api, names, body):
    r = api.post("/containers/create", {"name": names()}, body=body, headers={"Content-Type": "application/json"})
    assert r.status == 500


@pytest.mark.endpoints("containers.start")
def test_start_body_needs_json_content_type(api, containers):
    cid = containers.create(["true"])
    r = api.post(f"/containers/{cid}/start", body=b'{"NetworkMode":"none"}', headers={"Content-Type": "text/plain"})
    assert r.status == 500
    assert containers.inspect(cid)["State"]["Running"] is False


@pytest.mark.endpoints("containers.kill")
@pytest.mark.parametrize("signal", ["SIGNOPE", "99"])
def test_kill_bad_signal(api, containers, signal):
    cid = containers.run(["sleep", "30"])
    r = api.post(f"/containers/{cid}/kill", {"signal": signal})
    assert r.status == 500
    api.post(f"/containers/{cid}/kill")


@pytest.mark.endpoints("containers.resize")
def test_resize_bad_height(api, containers):
    cid = containers.run(["sleep", "30"], Tty=True, OpenStdin=True)
    r = api.post(f"/containers/{cid}/resize", {"h": "abc", "w": 80})
    assert r.status == 500
    api.post(f"/containers/{cid}/kill")


@pytest.mark.readonly
@pytest.mark.endpoints("containers.list")
@pytest.mark.parametrize("filters", ["{not json", '{"exited":["x"]}'])
def test_list_bad_filters(api, filters):
    r = api.get("/containers/json", {"all": 1, "filters": filters})
    assert r.status == 500
