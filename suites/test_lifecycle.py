"""The container lifecycle as a state machine: created, running, paused, exited and removed x start, stop
(with and without `t`), restart, kill (with signals), pause, unpause, wait, top, attach, logs, changes,
export, rm, rm -f and rm -v. Every step's answer is the rule book's: the route's `Outcome` for the
container's state (304s, 500s with 1.2.0's message) or for an unknown container once it is removed, else
its success. After each step inspect and the running list must agree with where the step leads.

Random rule choice rarely reaches a transition that needs several steps to set up (pause of a paused
container, unpause, restart of a stopped one) in a short run, so besides the random rules the machine has a
steering rule, `advance`, the tour: it takes a transition not yet taken in this run (`RANK`: those whose answer
or effect depends on the state first), or the first step toward the nearest state that still has one (`MOVES`,
from `LEADS`). After `WARMUP` random steps, the random rules only get a step after `FREE_EVERY` tour steps in a
row, so a run is mostly the tour with random steps in between; hypothesis's first (simplest) run takes the tour
in its order (every rank 0 transition of a started container within `TOUR_STEPS`), the others choose at random.

A failure carries the rule it asserts and the whole step sequence as curl lines.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    multiple,
    precondition,
    rule,
    run_state_machine_as_test,
)

from conformance.spec import RULEBOOK, Cause

from .client import ExchangeRecord, Reply
from .expect import LIFECYCLE_RULE, expect_outcome, expect_same_as_reference, expect_success, fail
from .generated import RUNNING_CMD
from .resources import HOST_CONFIG, ContainerFactory

# Where a successful step leads (state -> state); a step not listed keeps the state.
LEADS = {
    "start": {"created": "running", "exited": "running"},
    "stop": {"running": "exited"},
    "restart": {"running": "running", "exited": "running"},
    "kill": {"running": "exited", "paused": "exited"},
    "pause": {"running": "paused"},
    "unpause": {"paused": "running"},
}
# Steps the model does not take: 1.2.0's answer is not settled by the notes (stop/restart of a frozen
# container), or the CI daemons cannot take it (restart of a never-started container starts it on the
# default bridge network, which they lack), or it blocks while the container runs (wait).
NOT_TAKEN = {("stop", "paused"), ("restart", "paused"), ("restart", "created"), ("wait", "running"),
             ("wait", "paused"), ("attach", "paused")}
# KILL in its spellings, and signals whose default action is to be ignored (a container's PID 1 also ignores
# TERM and HUP without a handler, which the reference daemon's simulated processes do not model)
SIGNALS = ("KILL", "SIGKILL", "9", "WINCH", "SIGURG", "28")
KILLING = (None, "KILL", "SIGKILL", "9")

# -- the tour: every transition the model takes, and the order the steering rule takes them in ------------------
STATES = ("created", "running", "paused", "exited", "removed")
TOUR_ROUTES = {"start": "containers.start", "stop": "containers.stop", "restart": "containers.restart",
               "kill": "containers.kill", "pause": "containers.pause", "unpause": "containers.unpause",
               "wait": "containers.wait", "top": "containers.top", "logs": "containers.logs",
               "changes": "containers.changes", "export": "containers.export", "json": "containers.inspect",
               "attach": "containers.attach", "rm": "containers.delete", "rm -f": "containers.delete"}
# "kill" is a kill with a signal that stops the container; one with an ignored signal is no transition
TOUR = [(a, s) for a in TOUR_ROUTES for s in STATES if (a, s) not in NOT_TAKEN]
LIVE = STATES[:4]


def _outcome_status(action: str, state: str) -> int | None:
    """1.2.0's answer to the step from a live state: the outcome's status, None for success."""
    outcome = RULEBOOK[TOUR_ROUTES[action]].outcome(Cause.STATE, state)
    params = {"force": 1} if action == "rm -f" else {}
    return None if outcome is None or outcome.unless and params.get(outcome.unless) else outcome.status


def _rank(action: str, state: str) -> int:
    """The tour's order: 0 the steps whose answer or effect depends on the state (deep faults live there), 1 the
    other steps of a live container, 2 the steps that remove it (the tour then needs a new one), 3 a removed one."""
    if state == "removed":
        return 3
    if action == "rm -f" or (action == "rm" and _outcome_status(action, state) is None):
        return 2
    depends = action in LEADS or len({_outcome_status(action, s) for s in LIVE if (action, s) not in NOT_TAKEN}) > 1
    return 0 if depends else 1


RANK = {t: _rank(*t) for t in TOUR}
# the moves between live states the tour can take toward a state (a kill with a stopping signal; rm -f removes)
MOVES = [(a, s, to) for a, leads in LEADS.items() for s, to in leads.items() if (a, s) not in NOT_TAKEN] + \
    [("rm -f", s, "removed") for s in LIVE]
# the random rules' steps before the tour starts, and the tour steps in a row before they get another one
WARMUP = 4
FREE_EVERY = 3
# steps of one run (at least): the simplest run has taken the rank 0 transitions of a started container by about
# step 35 (those of a created one but start then need a new container). The profile's number of runs is kept, so
# the default profile takes about 250 steps (an estimated ~45 s on a real daemon, restarts with t=1 the most)
TOUR_STEPS = 40


@dataclass
class Model:
    id: str
    state: str = "created"  # created, running, paused, exited, removed
    steps: list[ExchangeRecord] = field(default_factory=list)


def _until_stopped(api, cid: str, timeout: float = 5.0) -> None:
    """A killed container's process is gone (real daemons stop it asynchronously); the invariant then
    judges the state, so a kill that does nothing is caught rather than waited on."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = api.get(f"/containers/{cid}/json")
        if r.status != 200 or not r.json().get("State", {}).get("Running"):
            return
        time.sleep(0.05)


def lifecycle_machine(api, containers: ContainerFactory):
    class Lifecycle(RuleBasedStateMachine):
        handles = Bundle("containers")

        def __init__(self) -> None:
            super().__init__()
            self.models: list[Model] = []
            # the tour's bookkeeping, per run (so a replay takes the same steps): the (action, state) pairs taken,
            # whether the tour rule has run, tour steps in a row, random steps since the last tour step
            self.taken: set[tuple[str, str]] = set()
            self.touring = False
            self.in_tour_step = False
            self.tour_run = 0
            self.free_run = 0

        def _stepped(self) -> None:
            if not self.in_tour_step:
                self.tour_run = 0
                self.free_run += 1

        def _not_taken(self, action: str, m: Model) -> bool:
            """A step the model does not take from the container's state (NOT_TAKEN): nothing is sent, but it is
            a step of the run."""
            if (action, m.state) in NOT_TAKEN:
                self._stepped()
                return True
            return False

        def _answer(self, m: Model, action: str, endpoint_id: str, reply: Reply, what: str,
                    params: dict | None = None, taken: str | None = None) -> bool:
            """Check the step against the rule book; True when it succeeded (so the model moves on). `taken` is the
            tour's name of the step when it is not `action` ("" for none)."""
            ep = RULEBOOK[endpoint_id]
            m.steps.append(reply.record)
            self._stepped()
            if taken != "":
                self.taken.add((taken or action, m.state))
            if m.state == "removed":
                outcome = ep.outcome(Cause.UNKNOWN_CONTAINER)
            else:
                outcome = ep.outcome(Cause.STATE, m.state)
                if outcome is not None and outcome.unless and (params or {}).get(outcome.unless):
                    outcome = None
            label = f"{action} of a {m.state} container{what}"
            if outcome is None:
                expect_success(api, ep, reply, label, m.steps)
            else:
                expect_outcome(api, ep, reply, outcome, label, m.steps)
            expect_same_as_reference(api, reply, label, m.steps)
            return outcome is None

        def _post(self, m: Model, action: str, params=None, json_body=None) -> Reply:
            return api.post(f"/containers/{m.id}/{action}", params, json_body=json_body)

        def _move(self, m: Model, action: str) -> None:
            m.state = LEADS.get(action, {}).get(m.state, m.state)

        def _new(self) -> Model:
            start = len(api.log.records)
            m = Model(containers.create(RUNNING_CMD))
            m.steps += [r for r in api.log.records[start:] if r.endpoint == "containers.create"]  # step one
            self.models.append(m)
            self._stepped()
            return m

        def _free(self) -> bool:
            """The random rules' turn: the first WARMUP steps, then one after FREE_EVERY tour steps in a row, and
            all once the tour is over. A run whose rules hypothesis's swarm testing drew without the tour has no
            step left after WARMUP: hypothesis drops it (an invalid example) and draws another."""
            if not self._plan():
                return True
            return self.tour_run >= FREE_EVERY if self.touring else self.free_run < WARMUP

        @precondition(lambda self: self._free())
        @rule(target=handles)
        def create(self) -> Model:
            return self._new()

        def _plan(self) -> list[tuple[int | None, str]]:
            """The tour's next steps to choose from, as (container index, action): a transition not taken yet from a
            container's state (the lowest rank first), else the first step toward the nearest state that has one
            ((None, "create") for a new container); [] when the tour is over."""
            todo = [t for t in TOUR if t not in self.taken]
            if not todo:
                return []
            rank = min(RANK[t] for t in todo)
            todo = [t for t in todo if RANK[t] == rank]
            here = [(i, a) for i, m in enumerate(self.models) for a, s in todo if s == m.state]
            if here:
                return here
            wanted = {s for _, s in todo}
            # breadth first from every live container's state at once, and from a new container (one step away,
            # in "created"): the first steps of the shortest ways to a wanted state
            frontier = [(i, m.state, "") for i, m in enumerate(self.models) if m.state != "removed"]
            seen = {s for _, s, _ in frontier}
            new: list[tuple[int | None, str, str]] = [] if "created" in seen else [(None, "created", "create")]
            while frontier or new:
                frontier = [(i, to, first or a) for i, s, first in frontier for a, at, to in MOVES
                            if at == s and to not in seen] + new
                new = []
                seen |= {to for _, to, _ in frontier}
                found = list(dict.fromkeys((i, first) for i, s, first in frontier if s in wanted))
                if found:
                    return found
            return []

        # Hypothesis orders the rules by target, number of arguments and name: the tour comes last, so a failure
        # shrinks to the random rules' steps where they show it (create, then the one step, in the oracle mode).
        @precondition(lambda self: bool(self._plan()))
        @rule(target=handles, data=st.data())
        def advance(self, data):
            """One step of the tour (the draws name it), through the same rule code as the random steps."""
            plan = self._plan()
            names = [f"{a} of container {i} ({self.models[i].state})" if i is not None else "create a container"
                     for i, a in plan]
            i, action = plan[names.index(data.draw(st.sampled_from(names), label="step"))]
            self.touring, self.in_tour_step = True, True
            self.free_run = 0
            try:
                if i is None:
                    return multiple(self._new())
                m = self.models[i]
                if action in ("stop", "restart"):
                    getattr(self, action)(m, data.draw(st.integers(0, 1), label="t"))
                elif action == "kill":
                    self.kill(m, data.draw(st.sampled_from(KILLING), label="signal"))
                elif action in ("top", "logs", "changes", "export", "json"):
                    self.look(m, action)
                elif action in ("rm", "rm -f"):
                    self.remove(m, action == "rm -f", data.draw(st.booleans(), label="volumes"))
                else:
                    getattr(self, action)(m)
                return multiple()
            finally:
                self.in_tour_step = False
                self.tour_run += 1

        @precondition(lambda self: self._free())
        @rule(m=handles)
        def start(self, m: Model) -> None:
            r = self._post(m, "start", json_body=HOST_CONFIG if m.state == "created" else None)
            if self._answer(m, "start", "containers.start", r, ""):
                self._move(m, "start")

        # t is always sent: without it 1.2.0 stops at once and 20.10 waits 10 s (test_stop_without_t_is_immediate)
        @precondition(lambda self: self._free())
        @rule(m=handles, t=st.integers(0, 1))
        def stop(self, m: Model, t: int | None) -> None:
            if self._not_taken("stop", m):
                return
            r = self._post(m, "stop", {"t": t})
            if self._answer(m, "stop", "containers.stop", r, f" (t={t})"):
                self._move(m, "stop")

        @precondition(lambda self: self._free())
        @rule(m=handles, t=st.integers(0, 1))
        def restart(self, m: Model, t: int | None) -> None:
            if self._not_taken("restart", m):
                return
            r = self._post(m, "restart", {"t": t})
            if self._answer(m, "restart", "containers.restart", r, f" (t={t})"):
                self._move(m, "restart")

        @precondition(lambda self: self._free())
        @rule(m=handles, signal=st.none() | st.sampled_from(SIGNALS))
        def kill(self, m: Model, signal: str | None) -> None:
            if self._not_taken("kill", m):
                return
            r = self._post(m, "kill", None if signal is None else {"signal": signal})
            was = m.state
            if self._answer(m, "kill", "containers.kill", r, f" (signal={signal})",
                            taken="" if signal not in KILLING else None) and was in ("running", "paused"):
                if signal in KILLING:
                    _until_stopped(api, m.id)
                    self._move(m, "kill")
                # else: an ignored signal, the container keeps running (or stays paused)

        @precondition(lambda self: self._free())
        @rule(m=handles)
        def pause(self, m: Model) -> None:
            if self._answer(m, "pause", "containers.pause", self._post(m, "pause"), ""):
                self._move(m, "pause")

        @precondition(lambda self: self._free())
        @rule(m=handles)
        def unpause(self, m: Model) -> None:
            if self._answer(m, "unpause", "containers.unpause", self._post(m, "unpause"), ""):
                self._move(m, "unpause")

        @precondition(lambda self: self._free())
        @rule(m=handles)
        def wait(self, m: Model) -> None:
            if self._not_taken("wait", m):
                return
            r = self._post(m, "wait")
            if self._answer(m, "wait", "containers.wait", r, "") and not isinstance(r.json().get("StatusCode"), int):
                fail(api, r, LIFECYCLE_RULE, "wait answers the exit code", '{"StatusCode": <int>}', "doc Wait",
                     m.steps)

        @precondition(lambda self: self._free())
        @rule(m=handles, read=st.sampled_from(["top", "logs", "changes", "export", "json"]))
        def look(self, m: Model, read: str) -> None:
            params = {"stdout": 1, "stderr": 1} if read == "logs" else None
            endpoint_id = {"json": "containers.inspect"}.get(read, f"containers.{read}")
            self._answer(m, read, endpoint_id, api.get(f"/containers/{m.id}/{read}", params), "")

        @precondition(lambda self: self._free())
        @rule(m=handles)
        def attach(self, m: Model) -> None:
            if self._not_taken("attach", m):
                return
            with api.attach(m.id, {"logs": 1, "stream": 0, "stdout": 1, "stderr": 1}) as session:
                if session.hijacked:
                    session.read_to_end(timeout=5)
            reply = Reply(session.status, httpx.Headers(session.headers), bytes(session.output), session._rec.record)
            self._answer(m, "attach", "containers.attach", reply, "")

        @precondition(lambda self: self._free())
        @rule(m=handles, force=st.booleans(), volumes=st.booleans())
        def remove(self, m: Model, force: bool, volumes: bool) -> None:
            params = {"v": 1 if volumes else 0, "force": 1 if force else 0}
            r = api.delete(f"/containers/{m.id}", params)
            if self._answer(m, "rm", "containers.delete", r, f" (v={params['v']}, force={params['force']})", params,
                            taken="rm -f" if force else "rm"):
                m.state = "removed"

        @invariant()
        def inspect_and_list_agree(self) -> None:
            if not self.models:
                return
            listed = api.get("/containers/json", {"all": 1})
            running = api.get("/containers/json")
            all_ids = {c["Id"] for c in listed.json() or []}
            running_ids = {c["Id"] for c in running.json() or []}
            for m in self.models:
                r = api.get(f"/containers/{m.id}/json")
                r.record.asserted.append(LIFECYCLE_RULE)
                if m.state == "removed":
                    if r.status != 404 or m.id in all_ids:
                        fail(api, r, LIFECYCLE_RULE, "a removed container is gone", "404 and absent from the list",
                             "doc Remove a container", m.steps)
                    continue
                state = r.json().get("State", {}) if r.status == 200 else {}
                want_running, want_paused = m.state in ("running", "paused"), m.state == "paused"
                if r.status != 200 or state.get("Running") is not want_running or \
                        state.get("Paused") is not want_paused:
                    fail(api, r, LIFECYCLE_RULE, f"inspect after the steps shows a {m.state} container",
                         f"State.Running={want_running}, State.Paused={want_paused}", "doc Inspect; notes §2", m.steps)
                if (m.id in running_ids) is not want_running or m.id not in all_ids:
                    fail(api, running, LIFECYCLE_RULE, f"the list shows a {m.state} container as such",
                         f"{'in' if want_running else 'not in'} the running list, in the all=1 list", "doc List",
                         m.steps)

        def teardown(self) -> None:
            for m in self.models:
                if m.state != "removed":
                    api.delete(f"/containers/{m.id}", {"force": 1, "v": 1})

    return Lifecycle


@pytest.mark.endpoints("containers.create", "containers.start", "containers.stop", "containers.restart",
                       "containers.kill", "containers.pause", "containers.unpause", "containers.wait",
                       "containers.delete", "containers.inspect", "containers.list", "containers.top",
                       "containers.logs", "containers.changes", "containers.export", "containers.attach")
def test_container_lifecycle(api, containers):
    profile = settings()  # the loaded profile, with enough steps for the tour
    steps = max(profile.stateful_step_count, TOUR_STEPS)
    run_state_machine_as_test(lifecycle_machine(api, containers), settings=settings(profile, stateful_step_count=steps))


@pytest.mark.endpoints("containers.stop", "containers.restart")
@pytest.mark.parametrize("action", ["stop", "restart"])
def test_stop_without_t_is_immediate(api, containers, action):
    """1.2.0 always passes `t` on, so an omitted `t` is a 0 s grace period (notes §0.3, §6.2: 20.10 waits 10 s)."""
    import time

    cid = containers.run(RUNNING_CMD)
    started = time.monotonic()
    r = api.post(f"/containers/{cid}/{action}", timeout=30)
    took = time.monotonic() - started
    expect_success(api, RULEBOOK[f"containers.{action}"], r, f"{action} without t")
    if took > 5:
        fail(api, r, LIFECYCLE_RULE, f"{action} without t kills at once", "within ~1 s (t omitted means 0 s)",
             "notes §0.3, §5.22", [])
    api.post(f"/containers/{cid}/kill")


# -- every single transition, from every state, deterministically --------------------------------------------

_ACTIONS = {  # action -> (route, method, path suffix, query)
    "start": ("containers.start", "POST", "/start", None),
    "stop": ("containers.stop", "POST", "/stop", {"t": 0}),
    "restart": ("containers.restart", "POST", "/restart", {"t": 0}),
    "kill": ("containers.kill", "POST", "/kill", None),
    "pause": ("containers.pause", "POST", "/pause", None),
    "unpause": ("containers.unpause", "POST", "/unpause", None),
    "wait": ("containers.wait", "POST", "/wait", None),
    "top": ("containers.top", "GET", "/top", None),
    "logs": ("containers.logs", "GET", "/logs", {"stdout": 1, "stderr": 1}),
    "changes": ("containers.changes", "GET", "/changes", None),
    "export": ("containers.export", "GET", "/export", None),
    "rm": ("containers.delete", "DELETE", "", {"v": 1}),
    "rm -f": ("containers.delete", "DELETE", "", {"v": 1, "force": 1}),
}
_TRANSITIONS = [(a, s) for a in _ACTIONS for s in ("created", "running", "paused", "exited", "removed")
                if (a, s) not in NOT_TAKEN]


@pytest.mark.parametrize("action,state", [pytest.param(a, s, id=f"{a}-{s}".replace(" ", ""),
                                                       marks=pytest.mark.endpoints(_ACTIONS[a][0]))
                                          for a, s in _TRANSITIONS])
def test_transition(api, image, names, action, state):
    """One step from one state: 1.2.0's answer (the route's outcome for the state, else success) and,
    when it succeeds, the state it leads to."""
    from .generated import Subjects

    route, method, suffix, query = _ACTIONS[action]
    ep = RULEBOOK[route]
    subjects = Subjects(api, image, names)
    try:
        cid = subjects.container("exited" if state == "removed" else state)[0]
        steps = subjects.steps()
        if state == "removed":
            steps.append(api.delete(f"/containers/{cid}", {"force": 1, "v": 1}).record)
        body = HOST_CONFIG if action == "start" and state == "created" else None
        r = api.request(method, f"/containers/{cid}{suffix}", query, json_body=body, timeout=30)
        steps.append(r.record)
        if state == "removed":
            expect_outcome(api, ep, r, ep.outcome(Cause.UNKNOWN_CONTAINER), f"{action} of a removed container",
                           steps)
            return
        outcome = ep.outcome(Cause.STATE, state)
        if outcome is not None and outcome.unless and (query or {}).get(outcome.unless):
            outcome = None
        label = f"{action} of a {state} container"
        if outcome is not None:
            expect_outcome(api, ep, r, outcome, label, steps)
            after = state
        else:
            expect_success(api, ep, r, label, steps)
            after = "removed" if action.startswith("rm") else LEADS.get(action, {}).get(state, state)
        expect_same_as_reference(api, r, label, steps)
        if after in ("exited",) and state != "exited":
            _until_stopped(api, cid)
        check = api.get(f"/containers/{cid}/json")
        check.record.asserted.append(LIFECYCLE_RULE)
        steps.append(check.record)
        if after == "removed":
            if check.status != 404:
                fail(api, check, LIFECYCLE_RULE, f"{label} removes it", "404 on inspect", "doc Remove", steps)
            return
        got = check.json().get("State", {}) if check.status == 200 else {}
        want = {"Running": after in ("running", "paused"), "Paused": after == "paused"}
        if {k: got.get(k) for k in want} != want:
            fail(api, check, LIFECYCLE_RULE, f"{label} leaves it {after}", f"State {want}", "doc; notes §2", steps)
    finally:
        subjects.close()
