"""Container endpoints: create, inspect, list, start/stop/restart/kill/pause, wait, top, changes, resize, rm."""

from __future__ import annotations

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from .expect import expect_form
from .resources import HOST_CONFIG
from .strategies import bool_values, container_names, create_configs, list_queries


def _listed(api, cid: str, **params) -> bool:
    r = api.get("/containers/json", params)
    assert r.status == 200
    return any(c["Id"] == cid for c in r.json())


@pytest.mark.endpoints("containers.create", "containers.inspect", "containers.delete")
def test_create_inspect_remove(api, containers, names):
    name = names()
    cid = containers.create(["echo", "hello"], name=name)
    info = containers.inspect(cid)
    assert info["Id"] == cid and info["Name"] == "/" + name
    assert info["Config"]["Cmd"] == ["echo", "hello"]
    assert info["State"]["Running"] is False
    assert containers.inspect(name)["Id"] == cid, "inspect by name"
    assert containers.inspect(cid[:12])["Id"] == cid, "inspect by short id"
    r = api.delete(f"/containers/{cid}", {"v": 1})
    assert r.status == 204
    assert api.get(f"/containers/{cid}/json").status == 404


@pytest.mark.endpoints("containers.create")
@given(data=st.data())
def test_create_with_generated_config(api, image, names, data):
    body = data.draw(create_configs(image))
    name = data.draw(container_names(names.prefix))
    r = api.post("/containers/create", {"name": name}, json_body=body)
    if r.status == 409:  # hypothesis drew a name already used in this run
        return
    assert r.status == 201, r.text
    info = api.get(f"/containers/{r.json()['Id']}/json").json()
    for key in ("Tty", "OpenStdin", "WorkingDir", "Memory"):
        if key in body:
            assert info["Config"][key] == body[key], key
    if body.get("Env"):
        assert set(body["Env"]) <= set(info["Config"]["Env"] or [])
    if body.get("ExposedPorts"):
        assert set(body["ExposedPorts"]) <= set(info["Config"]["ExposedPorts"] or {})
    api.delete(f"/containers/{r.json()['Id']}", {"force": 1, "v": 1})


@pytest.mark.endpoints("containers.create")
def test_create_without_warnings_answers_null(api, containers, names):
    """1.2.0 encodes no warnings as `"Warnings":null` (engine SetList(nil), notes §0.5); 20.10 answers `[]`."""
    r = api.post("/containers/create", {"name": names()}, json_body=containers.config(["true"]))
    assert r.status == 201, r.text
    try:
        warnings = r.json().get("Warnings", "absent")
        expect_form(api, r, warnings is None or (isinstance(warnings, list) and bool(warnings)),
                    "containers.create: a create without warnings answers Warnings null",
                    '201 {"Id":"<64 hex>","Warnings":null} (a list only when there are warnings)',
                    "notes §0.5, §2 create, §6.2")
    finally:
        containers.remove(r.json()["Id"])


@pytest.mark.endpoints("containers.create")
def test_create_name_conflict(api, containers, names):
    name = names()
    containers.create(["true"], name=name)
    r = api.post("/containers/create", {"name": name}, json_body=containers.config(["true"]))
    assert r.status == 409
    assert "Conflict" in r.text


@pytest.mark.endpoints("containers.create")
def test_create_unknown_image(api, names):
    r = api.post("/containers/create", {"name": names()},
                 json_body={"Image": f"{names.prefix}-no-such-image:latest", "Cmd": ["true"]})
    assert r.status == 404


@pytest.mark.endpoints("containers.start", "containers.stop")
def test_start_stop_and_304s(api, containers):
    cid = containers.create(["sleep", "30"])
    containers.start(cid)
    assert containers.inspect(cid)["State"]["Running"] is True
    r = api.post(f"/containers/{cid}/start")
    assert r.status == 304, "starting a running container answers 304"
    r = api.post(f"/containers/{cid}/stop", {"t": 1})
    assert r.status == 204
    assert containers.inspect(cid)["State"]["Running"] is False
    r = api.post(f"/containers/{cid}/stop", {"t": 1})
    assert r.status == 304, "stopping a stopped container answers 304"


@pytest.mark.endpoints("containers.start")
def test_start_applies_host_config(api, containers):
    """v1.14 takes HostConfig at start; inspect shows it afterwards."""
    cid = containers.create(["true"])
    r = api.post(f"/containers/{cid}/start", json_body={**HOST_CONFIG, "Dns": ["10.0.0.53"]})
    assert r.status == 204
    host_config = containers.inspect(cid)["HostConfig"]
    assert host_config["NetworkMode"] == "none" and host_config["Dns"] == ["10.0.0.53"]


@pytest.mark.endpoints("containers.restart", "containers.kill")
def test_restart_and_kill(api, containers):
    cid = containers.run(["sleep", "30"])
    started = containers.inspect(cid)["State"]["StartedAt"]
    time.sleep(0.01)
    r = api.post(f"/containers/{cid}/restart", {"t": 1})
    assert r.status == 204
    state = containers.inspect(cid)["State"]
    assert state["Running"] is True and state["StartedAt"] != started
    r = api.post(f"/containers/{cid}/kill", {"signal": "SIGKILL"})
    assert r.status == 204
    containers.wait(cid)
    assert containers.inspect(cid)["State"]["Running"] is False


@pytest.mark.endpoints("containers.pause", "containers.unpause")
def test_pause_unpause(api, containers):
    cid = containers.run(["sleep", "30"])
    assert api.post(f"/containers/{cid}/pause").status == 204
    assert containers.inspect(cid)["State"]["Paused"] is True
    assert api.post(f"/containers/{cid}/unpause").status == 204
    assert containers.inspect(cid)["State"]["Paused"] is False
    api.post(f"/containers/{cid}/kill")


@pytest.mark.endpoints("containers.wait")
@pytest.mark.parametrize("code", [0, 3])
def test_wait_returns_exit_code(containers, code):
    cid = containers.run(["sh", "-c", f"exit {code}"])
    assert containers.wait(cid) == code
    assert containers.inspect(cid)["State"]["ExitCode"] == code


@pytest.mark.endpoints("containers.top")
def test_top_lists_processes(api, containers):
    cid = containers.run(["sleep", "30"])
    r = api.get(f"/containers/{cid}/top")
    assert r.status == 200
    body = r.json()
    assert body["Titles"] and body["Processes"]
    assert any("sleep" in " ".join(p) for p in body["Processes"])
    api.post(f"/containers/{cid}/kill")


@pytest.mark.endpoints("containers.changes")
def test_changes_show_written_file(api, containers):
    cid = containers.run_to_end(["sh", "-c", "echo x > /tmp/suite-change.txt"])
    r = api.get(f"/containers/{cid}/changes")
    assert r.status == 200
    paths = {c["Path"] for c in r.json()}
    assert "/tmp/suite-change.txt" in paths


@pytest.mark.endpoints("containers.changes")
def test_changes_empty_is_a_list(api, containers):
    cid = containers.create(["true"])
    r = api.get(f"/containers/{cid}/changes")
    assert r.status == 200
    assert r.json() == []


@pytest.mark.endpoints("containers.list")
def test_list_membership(api, containers):
    running = containers.run(["sleep", "30"])
    stopped = containers.create(["true"])
    assert _listed(api, running)
    assert not _listed(api, stopped), "a never-started container is listed only with all=1"
    assert _listed(api, stopped, all=1)
    api.post(f"/containers/{running}/kill")


@pytest.mark.endpoints("containers.list")
@given(query=list_queries("containers.list"))
def test_list_query_combinations(api, query):
    r = api.get("/containers/json", query)
    assert r.status == 200
    body = r.json()
    assert isinstance(body, list)
    if "limit" in query and int(query["limit"]) > 0:
        assert len(body) <= int(query["limit"])


@pytest.mark.endpoints("containers.list")
@given(spelling=bool_values(True))
def test_list_all_accepts_every_true_spelling(api, containers, spelling):
    """1.2.0 reads any text but ''/0/no/false/none as true."""
    cid = _stopped_container(containers)
    assert _listed(api, cid, all=spelling), f"all={spelling!r} did not list a stopped container"


@pytest.mark.endpoints("containers.list")
@given(spelling=bool_values(False))
def test_list_all_false_spellings(api, containers, spelling):
    cid = _stopped_container(containers)
    assert not _listed(api, cid, all=spelling), f"all={spelling!r} listed a never-started container"


_STOPPED: dict[int, str] = {}


def _stopped_container(containers) -> str:
    key = id(containers.api)
    if key not in _STOPPED:
        _STOPPED[key] = containers.create(["true"])
    return _STOPPED[key]


@pytest.mark.endpoints("containers.resize")
def test_resize_tty(api, containers):
    cid = containers.run(["sleep", "30"], Tty=True, OpenStdin=True)
    r = api.post(f"/containers/{cid}/resize", {"h": 40, "w": 100})
    assert r.status == 200
    api.post(f"/containers/{cid}/kill")


@pytest.mark.endpoints("containers.delete")
def test_delete_running_needs_force(api, containers):
    cid = containers.run(["sleep", "30"])
    r = api.delete(f"/containers/{cid}")
    assert r.status >= 400 and r.status != 404
    assert containers.inspect(cid)["State"]["Running"] is True
    r = api.delete(f"/containers/{cid}", {"force": 1, "v": 1})
    assert r.status == 204
    assert api.get(f"/containers/{cid}/json").status == 404


@pytest.mark.endpoints("containers.kill")
def test_kill_with_named_signal(api, containers):
    cid = containers.run(["sleep", "30"])
    r = api.post(f"/containers/{cid}/kill", {"signal": "KILL"})
    assert r.status == 204
    containers.wait(cid)


@pytest.mark.endpoints("containers.start", "containers.stop", "containers.delete")
def test_no_content_answers_carry_no_body(api, containers):
    """204 and 304 have no body; read on a raw connection to EOF, so stray bytes cannot hide."""
    cid = containers.create(["sleep", "30"])
    assert containers.api.post(f"/containers/{cid}/start", json_body=HOST_CONFIG).status == 204
    for method, path, params, status in (("POST", f"/containers/{cid}/start", None, 304),
                                         ("POST", f"/containers/{cid}/stop", {"t": 0}, 204),
                                         ("POST", f"/containers/{cid}/stop", {"t": 0}, 304),
                                         ("DELETE", f"/containers/{cid}", None, 204)):
        r = api.raw(method, path, params)
        assert (r.status, r.content) == (status, b""), f"{method} {path}"
