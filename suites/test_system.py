"""System endpoints and routing: ping, version, info, versions in the prefix, unknown and later routes."""

from __future__ import annotations

import pytest

from conformance.spec import LATER_ROUTES

pytestmark = pytest.mark.readonly


@pytest.mark.endpoints("system.ping")
def test_ping_answers_ok(api):
    r = api.get("/_ping")
    assert (r.status, r.content) == (200, b"OK")


@pytest.mark.endpoints("system.ping")
def test_unversioned_path_is_v114(api):
    r = api.get("/_ping", version=None)
    assert (r.status, r.content) == (200, b"OK")


@pytest.mark.endpoints("system.version")
def test_version(api):
    r = api.get("/version")
    assert r.status == 200
    body = r.json()
    for key in ("ApiVersion", "Version", "GoVersion", "GitCommit", "Os", "Arch"):
        assert key in body, f"/version has no {key}"


@pytest.mark.endpoints("system.info")
def test_info(api):
    r = api.get("/info")
    assert r.status == 200
    body = r.json()
    assert isinstance(body.get("Containers"), int) and isinstance(body.get("Images"), int)


@pytest.mark.endpoints("system.version")
@pytest.mark.parametrize("prefix", ["/v1.15", "/v1.41"])
def test_newer_version_prefix_is_refused(api, prefix):
    """A v1.14 server answers 404 `client and server don't have same version` for newer prefixes."""
    r = api.get("/version", version=prefix)
    assert r.status == 404
    assert b"don't have same version" in r.content


@pytest.mark.endpoints("system.version")
def test_version_prefix_compares_numerically(api):
    r = api.get("/version", version="/v1.14.0")
    assert r.status == 200


@pytest.mark.endpoints("system.options")
def test_options_on_any_path(api):
    r = api.request("OPTIONS", "/containers/json")
    assert r.status == 200 and r.content == b""


def test_unknown_route_is_404(api):
    r = api.get("/no-such-route")
    assert r.status == 404


# /images/get of a later API would stream every image on the daemon: not probed
_PROBED_LATER = [lr for lr in LATER_ROUTES if lr.method in ("GET", "*") and "{" not in lr.path
                 and lr.path != "/images/get"]


@pytest.mark.parametrize("route", _PROBED_LATER, ids=lambda lr: lr.path)
def test_later_api_routes_are_not_served(api, route):
    """Routes of later API versions do not exist at v1.14 (1.2.0 answers 404 page not found)."""
    r = api.get(route.path)
    assert r.status == 404, f"{route.path} (API {route.since}) answered {r.status} under /v1.14/"


@pytest.mark.endpoints("containers.list-ps")
def test_containers_ps_alias(api):
    r = api.get("/containers/ps")
    assert r.status == 200 and isinstance(r.json(), list)


@pytest.mark.endpoints("images.viz")
def test_images_viz_is_gone(api):
    r = api.get("/images/viz")
    assert r.status == 404
