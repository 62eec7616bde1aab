"""The container lifecycle as a state machine: every step's status, inspect State and list membership
are checked against a model of what a v1.14 daemon must do (304s, 404s, conflicts)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from .resources import ContainerFactory


@dataclass
class Model:
    id: str
    state: str = "created"  # created, running, paused, exited, removed


def lifecycle_machine(api, containers: ContainerFactory):
    class Lifecycle(RuleBasedStateMachine):
        handles = Bundle("containers")

        def __init__(self) -> None:
            super().__init__()
            self.models: list[Model] = []

        def _post(self, m: Model, action: str, params=None, json_body=None):
            return api.post(f"/containers/{m.id}/{action}", params, json_body=json_body)

        @rule(target=handles)
        def create(self) -> Model:
            m = Model(containers.create(["sleep", "600"]))
            self.models.append(m)
            return m

        @rule(m=handles)
        def start(self, m: Model) -> None:
            r = self._post(m, "start", json_body={"NetworkMode": "none"} if m.state in ("created",) else None)
            expected = {"created": 204, "exited": 204, "running": 304, "paused": 304, "removed": 404}[m.state]
            assert r.status == expected, f"start of a {m.state} container: {r.status} {r.text[:120]}"
            if m.state in ("created", "exited"):
                m.state = "running"

        @precondition(lambda self: any(m.state != "paused" for m in self.models))
        @rule(m=handles)
        def stop(self, m: Model) -> None:
            if m.state == "paused":
                return
            r = self._post(m, "stop", {"t": 0})
            expected = {"created": 304, "exited": 304, "running": 204, "removed": 404}[m.state]
            assert r.status == expected, f"stop of a {m.state} container: {r.status}"
            if m.state == "running":
                m.state = "exited"

        @rule(m=handles)
        def restart(self, m: Model) -> None:
            if m.state == "paused":
                return
            r = self._post(m, "restart", {"t": 0})
            expected = 404 if m.state == "removed" else 204
            assert r.status == expected, f"restart of a {m.state} container: {r.status}"
            if m.state != "removed":
                m.state = "running"

        @rule(m=handles)
        def kill(self, m: Model) -> None:
            if m.state in ("paused", "created", "exited"):
                return  # kill of a stopped container changed meaning across versions; left to the checker
            r = self._post(m, "kill")
            assert r.status == (404 if m.state == "removed" else 204)
            if m.state == "running":
                containers.wait(m.id)
                m.state = "exited"

        @rule(m=handles)
        def pause(self, m: Model) -> None:
            if m.state != "running":
                return
            assert self._post(m, "pause").status == 204
            m.state = "paused"

        @rule(m=handles)
        def unpause(self, m: Model) -> None:
            if m.state != "paused":
                return
            assert self._post(m, "unpause").status == 204
            m.state = "running"

        @rule(m=handles)
        def wait(self, m: Model) -> None:
            if m.state != "exited":
                return
            r = self._post(m, "wait")
            assert r.status == 200 and isinstance(r.json()["StatusCode"], int)

        @rule(m=handles, force=st.booleans())
        def remove(self, m: Model, force: bool) -> None:
            r = api.delete(f"/containers/{m.id}", {"force": 1} if force else None)
            if m.state == "removed":
                assert r.status == 404
            elif m.state in ("running", "paused") and not force:
                assert r.status >= 400 and r.status != 404, f"rm of a {m.state} container without force"
            else:
                assert r.status == 204, f"rm of a {m.state} container (force={force}): {r.status}"
                m.state = "removed"

        @invariant()
        def inspect_and_list_agree(self) -> None:
            if not self.models:
                return
            all_ids = {c["Id"] for c in api.get("/containers/json", {"all": 1}).json()}
            running_ids = {c["Id"] for c in api.get("/containers/json").json()}
            for m in self.models:
                r = api.get(f"/containers/{m.id}/json")
                if m.state == "removed":
                    assert r.status == 404 and m.id not in all_ids
                    continue
                assert r.status == 200
                state = r.json()["State"]
                assert state["Running"] is (m.state in ("running", "paused")), (m.state, state)
                assert state["Paused"] is (m.state == "paused"), (m.state, state)
                assert m.id in all_ids
                assert (m.id in running_ids) is (m.state in ("running", "paused")), m.state

        def teardown(self) -> None:
            for m in self.models:
                if m.state != "removed":
                    api.delete(f"/containers/{m.id}", {"force": 1})

    return Lifecycle


@pytest.mark.endpoints("containers.create", "containers.start", "containers.stop", "containers.restart",
                       "containers.kill", "containers.pause", "containers.unpause", "containers.wait",
                       "containers.delete", "containers.inspect", "containers.list")
def test_container_lifecycle(api, containers):
    run_state_machine_as_test(lifecycle_machine(api, containers), settings=settings())
