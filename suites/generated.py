"""Generated requests: any route of the rule book, with values drawn from its parameters' and fields' spaces.

A `GeneratedRequest` is drawn for one route: which parameters and fields it sends, at most one value that
1.2.0 refuses (a `Cause`), the version prefix, and the state of the container it acts on. Its expected
answer comes from the rule book only: the route's success responses, or the `Outcome` of the one cause
in it. `Subjects` makes what the request acts on (a container in a state, an image tag) under unique
names and removes it, with its volumes, whatever happens.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx
from hypothesis import strategies as st

from conformance.capture.redact import REDACTED, SECRET_FIELDS
from conformance.spec import BodyKind, Cause, Endpoint, Outcome
from conformance.spec.endpoints import LOOPBACK_REGISTRY
from conformance.streams.values import parse_bool

from .client import DaemonClient, ExchangeRecord, Reply
from .expect import LIFECYCLE_RULE, fail
from .resources import HOST_CONFIG, Names
from .strategies import IMAGE_PATH_KEY, Refs, Value, endpoint_spaces, path_spaces, tar_of, unread_spaces

STATES = ("created", "running", "exited", "paused")
SETUP_SUFFIX = " (setup)"
RUNNING_CMD = ["sh", "-c", "echo ready; sleep 600"]
# Routes that block while the container runs (wait returns at exit): drawn only on stopped containers.
BLOCKS_WHILE_RUNNING = {"containers.wait"}
# A created container has no HostConfig; restarting it would start it on the default bridge network,
# which CI's daemons do not have (a CI limit, not a v1.14 rule): restart is drawn on other states.
NEEDS_A_HOST_CONFIG = {"containers.restart"}
STREAM_KINDS = {BodyKind.EVENTS, BodyKind.STDIO, BodyKind.JSON_MESSAGES}
OLDER_PREFIXES = ("/v1.11", "/v1.12", "/v1.13", "")  # 1.2.0 serves any older version, and none at all
NEWER_PREFIXES = ("/v1.15", "/v1.24", "/v1.41", "/v1.99")
REQUEST_CAUSES = {  # request-level variants: which cause each makes, and how
    "#content-type": Cause.CONTENT_TYPE,
    "#body": Cause.BAD_BODY,
    "#no-body": Cause.MISSING_BODY,
    "#version": Cause.TOO_NEW_VERSION,
}


@dataclass
class GeneratedRequest:
    endpoint: Endpoint
    state: str | None  # the subject container's state, for routes that act on one
    values: dict[str, Value]  # `?param` or field -> drawn value
    bad: str | None  # the key whose value carries the cause, or a REQUEST_CAUSES key
    prefix: str = "/v1.14"

    def __repr__(self) -> str:
        return f"<{self.describe()} prefix={self.prefix}>"

    def _repr_pretty_(self, printer, cycle) -> None:  # hypothesis prints drawn values with this
        printer.text(repr(self))

    def expected(self, params: dict[str, Any]) -> Outcome | None:
        """The rule book's answer to the request as sent (`params`: its query): the cause's Outcome,
        or None for the route's success."""
        ep = self.endpoint
        if self.bad == "#version":
            return ep.outcome(Cause.TOO_NEW_VERSION)
        if self.bad in REQUEST_CAUSES:
            return ep.outcome(REQUEST_CAUSES[self.bad])
        if self.bad is not None:
            v = self.values[self.bad]
            return ep.outcome(v.cause, self.bad.lstrip("?"))  # type: ignore[arg-type]
        state = ep.outcome(Cause.STATE, self.state) if self.state is not None else None
        if state is not None and not (state.unless and parse_bool(_text(params.get(state.unless)))):
            return state
        for key, v in self.values.items():
            if v.cause is not None:
                return ep.outcome(v.cause, key.lstrip("?"))
        if ep.outcome(Cause.NO_REGISTRY) is not None and not ep.outcome(Cause.NO_REGISTRY).when:
            return ep.outcome(Cause.NO_REGISTRY)  # the route always talks to a registry, and none is reachable
        if ep.at_least_one and not any(parse_bool(_text(params.get(n))) for n in ep.at_least_one):
            return ep.outcome(Cause.MISSING_PARAMETER, ep.at_least_one[0])
        return None

    def describe(self) -> str:
        sent = ", ".join(f"{k}={_shown(k, v.value)} ({v.form}{', ' + v.cause.value if v.cause else ''})"
                         for k, v in self.values.items())
        state = f" on a {self.state} container" if self.state else ""
        return f"{self.endpoint.method} {self.endpoint.path}{state} with {sent or 'nothing generated'}" + \
            (f"; variant {self.bad}" if self.bad in REQUEST_CAUSES else "")


def _shown(key: str, value: Any) -> str:
    """A drawn value as a failure message shows it: credentials (an AuthConfig's password, auth) redacted."""
    return repr(REDACTED) if key.lstrip("?").lower() in SECRET_FIELDS and value is not None else repr(value)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return ("1" if value else "0") if isinstance(value, bool) else str(value)


def _state_choices(ep: Endpoint, neutral: bool) -> list[str]:
    """States a route is drawn on; `neutral`: only those without a state answer of their own. Paused
    containers only where the rule book says what a state changes (a transition route) or for reads."""
    said = {o.when for o in ep.outcomes if o.cause is Cause.STATE}
    states = [s for s in STATES if s != "paused" or said or ep.method == "GET"]
    if ep.id in BLOCKS_WHILE_RUNNING:
        states = [s for s in states if s not in ("running", "paused")]
    if ep.id in NEEDS_A_HOST_CONFIG:
        states = [s for s in states if s != "created"]
    if neutral:
        states = [s for s in states if s not in said]
    return states


def _request_variants(ep: Endpoint) -> list[str]:
    """The request-level causes this route has an answer for (and can be sent: a body route for bodies)."""
    out = ["#version"]
    if ep.body.kind is not BodyKind.NONE:
        out += [k for k, c in REQUEST_CAUSES.items() if c is not Cause.TOO_NEW_VERSION and ep.outcome(c)]
    return out


def names_a_container(ep: Endpoint) -> bool:
    """A parameter or field of the route names another container (the drawn values need one to exist)."""
    return any(p.refers == "container" for p in ep.params) or \
        any(f.refers == "container" and f.honoured for f in ep.body.fields) or \
        any(p.kind.value == "name" for p in ep.params)  # a name in use: the conflict cause


def generated_requests(ep: Endpoint, refs: Refs, focus: str | None = None,
                       focus_cause: Cause | None = None) -> st.SearchStrategy[GeneratedRequest]:
    """Requests for one route: a subset of its keys, at most one refused value, a version prefix, a state.
    With `focus` (a key), that parameter or field is always sent: refused for `focus_cause`, else valid."""
    spaces = {**endpoint_spaces(ep, refs), **unread_spaces(ep, refs), **path_spaces(ep, refs)}
    keys = sorted(spaces)
    required = [f"?{p.name}" for p in ep.params if p.required]
    bad_keys = sorted(k for k in keys if spaces[k].causes) + _request_variants(ep)

    @st.composite
    def draw(pull) -> GeneratedRequest:
        chosen = set(pull(st.sets(st.sampled_from(keys), max_size=4))) if keys else set()
        chosen |= set(required)
        if focus in REQUEST_CAUSES:
            bad = focus
        elif focus is not None:
            chosen.add(focus)
            bad = focus if focus_cause is not None else None
        else:
            bad = pull(st.none() | st.sampled_from(bad_keys))
        values: dict[str, Value] = {}
        for key in sorted(chosen):
            if key == bad:
                continue
            v = pull(spaces[key].valid)
            if v.cause is not None and bad is not None:  # keep one cause per request: its answer is exact
                continue
            values[key] = v
        if bad is not None and bad not in REQUEST_CAUSES:
            by_cause = dict(spaces[bad].by_cause)
            values[bad] = pull(by_cause[focus_cause] if focus_cause is not None else spaces[bad].invalid)
        if bad is None and any(v.cause for v in values.values()):
            first = next(k for k, v in values.items() if v.cause)
            values = {k: v for k, v in values.items() if not v.cause or k == first}
        prefix = pull(st.sampled_from(NEWER_PREFIXES)) if bad == "#version" else \
            pull(st.sampled_from(("/v1.14",) * 6 + OLDER_PREFIXES))
        state = None
        if "{id}" in ep.path:
            state = pull(st.sampled_from(_state_choices(ep, neutral=bad is not None)))
        return GeneratedRequest(ep, state, values, bad, prefix)

    return draw()


def focus_cases(ep: Endpoint) -> list[tuple[str, Cause | None]]:
    """(key, None) for every parameter and field of a route, and (key, cause) for each cause it can meet."""
    refs = Refs("x")
    spaces = {**endpoint_spaces(ep, refs), **unread_spaces(ep, refs), **path_spaces(ep, refs)}
    keys = [(k, c) for k in sorted(spaces) for c in (None, *sorted(spaces[k].causes))]
    return keys + [(v, REQUEST_CAUSES[v]) for v in _request_variants(ep)]


# -- the things a request acts on -------------------------------------------------------------------------

@contextmanager
def setup_exchanges(api: DaemonClient) -> Iterator[None]:
    """Exchanges that prepare or remove a test's subjects are recorded (and judged) under `<test> (setup)`:
    the report still shows what they broke, but a test fails only for what it asserts and sends itself."""
    log = api.log
    previous = log.current_test
    log.current_test = previous if previous.endswith(SETUP_SUFFIX) else previous + SETUP_SUFFIX
    try:
        yield
    finally:
        log.current_test = previous


@dataclass
class Subjects:
    """Containers and image tags made for one generated example; `close` removes them (v=1)."""

    api: DaemonClient
    image: str
    names: Names
    containers: list[str] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    wait_for_output: bool = True  # running subjects have logged their first line (logs, attach need it)
    made_by: list[ExchangeRecord] = field(default_factory=list)  # the requests that made the subjects

    def container(self, state: str, name: str | None = None) -> tuple[str, str]:
        with setup_exchanges(self.api), self._recording():
            return self._container(state, name)

    @contextmanager
    def _recording(self) -> Iterator[None]:
        log = self.api.log
        start = len(log.records)
        try:
            yield
        finally:
            made = log.records[start:]  # a slice is taken whole under the GIL; records are only appended
            self.made_by += [r for r in made if r.test.endswith(SETUP_SUFFIX) and r.method not in ("GET", "HEAD")]

    def steps(self) -> list[ExchangeRecord]:
        """The state-changing requests that made the subjects: a reproduction's first steps."""
        return list(self.made_by)

    def _container(self, state: str, name: str | None) -> tuple[str, str]:
        name = name or self.names("g")
        r = self.api.post("/containers/create", {"name": name},
                          json_body={"Image": self.image, "Cmd": RUNNING_CMD, "Tty": False})
        assert r.status == 201, f"setup: create {name}: {r.status} {r.text[:200]}"
        cid = r.json()["Id"]
        self.containers.append(cid)
        if state != "created":
            r = self.api.post(f"/containers/{cid}/start", json_body=HOST_CONFIG)
            assert r.status == 204, f"setup: start {name}: {r.status} {r.text[:200]}"
        if state != "created" and self.wait_for_output:
            _wait_for_output(self.api, cid)
        if state == "exited":  # stopped, with a command that runs again when restarted
            r = self.api.post(f"/containers/{cid}/stop", {"t": 0}, timeout=30)
            assert r.status == 204, f"setup: stop {name}: {r.status}"
        if state == "paused":
            r = self.api.post(f"/containers/{cid}/pause")
            assert r.status == 204, f"setup: pause {name}: {r.status} {r.text[:200]}"
        check = self.api.get(f"/containers/{cid}/json")
        check.record.asserted.append(LIFECYCLE_RULE)
        got = check.json().get("State", {}) if check.status == 200 else {}
        want = {"Running": state in ("running", "paused"), "Paused": state == "paused"}
        if {k: got.get(k) for k in want} != want:  # the steps above did not lead where they must
            fail(self.api, check, LIFECYCLE_RULE, f"setup of a {state} container", f"State {want}", "doc; notes §2")
        return cid, name

    def tag(self, registry: bool = False) -> str:
        with setup_exchanges(self.api), self._recording():
            return self._tag(registry)

    def _tag(self, registry: bool) -> str:
        repo = f"{LOOPBACK_REGISTRY}/{self.names('gi')}" if registry else self.names("gi")
        r = self.api.post(f"/images/{self.image}/tag", {"repo": repo, "tag": "latest"})
        assert r.status == 201, f"setup: tag {repo}: {r.status} {r.text[:200]}"
        self.images.append(f"{repo}:latest")
        return f"{repo}:latest"

    def close(self) -> None:
        with setup_exchanges(self.api):
            self._close()

    def _close(self) -> None:
        for cid in self.containers:
            try:
                self.api.delete(f"/containers/{cid}", {"force": 1, "v": 1})
            except httpx.HTTPError:
                pass
        for ref in self.images:
            try:
                self.api.delete(f"/images/{ref}", {"force": 1})
            except httpx.HTTPError:
                pass


def _wait_for_output(api: DaemonClient, cid: str) -> None:
    """A running subject has written its first line (so logs have something to send at once)."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        r = api.get(f"/containers/{cid}/logs", {"stdout": 1})
        if r.content:
            return
        time.sleep(0.05)


# -- sending -------------------------------------------------------------------------------------------------

@dataclass
class Built:
    method: str
    path: str
    params: dict[str, Any]
    json_body: Any = None
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)


def build(req: GeneratedRequest, subjects: Subjects, subject: str | None, refs: Refs, saved_image: bytes) -> Built:
    """The wire request: the route's minimal working request, with the drawn values over it."""
    ep = req.endpoint
    path = ep.path
    base: dict[str, Any] = {}
    fields: dict[str, Any] = {}
    body: bytes | None = None
    headers: dict[str, str] = {}
    if "{id}" in path:
        path = path.replace("{id}", subject or "")
    if IMAGE_PATH_KEY in path:
        drawn = req.values.get(IMAGE_PATH_KEY)
        if drawn is not None and drawn.value is not None:  # an unknown name or a bad reference, sent encoded
            path = path.replace(IMAGE_PATH_KEY, quote(drawn.value, safe=""))
        else:
            registry = ep.outcome(Cause.NO_REGISTRY) is not None  # push: under the loopback registry
            mutates = ep.method != "GET"
            path = path.replace(IMAGE_PATH_KEY, subjects.tag(registry) if mutates else subjects.image)
    prefix = subjects.names.prefix
    if ep.id == "containers.create":
        base = {"name": subjects.names("g")}
        fields = {"Image": subjects.image, "Cmd": ["true"], "Tty": False}
    elif ep.id == "containers.start":
        fields = dict(HOST_CONFIG)
    elif ep.id == "containers.copy":
        fields = {"Resource": refs.path}
    elif ep.id == "containers.logs":
        base = {"stdout": 1}
    elif ep.id in ("containers.attach", "containers.attach-ws"):
        base = {"stdout": 1, "logs": 1}
    elif ep.id == "containers.delete":
        base = {"v": 1}
    elif ep.id == "images.create":
        base = {"fromSrc": "-", "repo": f"{prefix}-{subjects.names('gr')}"}
        body = tar_of({"v114s.txt": b"generated\n"})
    elif ep.id == "images.load":
        body = saved_image
    elif ep.id == "system.build":
        base = {"t": f"{prefix}-{subjects.names('gb')}"}
        body = tar_of({"Dockerfile": f"FROM {subjects.image}\n".encode()})
    elif ep.id == "system.commit":
        base = {"container": refs.container, "repo": f"{prefix}-{subjects.names('gc')}"}
    elif ep.id == "images.tag":
        base = {"repo": f"{prefix}-{subjects.names('gt')}"}
    elif ep.id == "images.push":
        headers = {"X-Registry-Auth": "e30="}  # an empty AuthConfig, base64url
    elif ep.id == "system.auth":
        fields = {"serveraddress": f"http://{LOOPBACK_REGISTRY}/v1/"}
    elif ep.id == "images.search":
        base = {"term": f"{LOOPBACK_REGISTRY}/v114s"}
    for key, v in req.values.items():
        if key == IMAGE_PATH_KEY:
            continue  # in the path, above
        if key.startswith("?"):
            if v.value is None:
                base.pop(key[1:], None)
            else:
                base[key[1:]] = v.value
        elif v.form == "absent":
            fields.pop(key, None)
        else:
            fields[key] = v.value
    json_body: Any = fields if (fields or ep.body.kind is BodyKind.JSON_OBJECT and ep.body.required) else None
    if ep.id == "images.push" and fields:
        headers = {}  # the body is the AuthConfig when the header is absent
    if ep.id == "images.create" and "fromImage" in base:
        base.pop("fromSrc", None)
        body = None
    if req.bad == "#content-type":
        headers["Content-Type"] = "text/plain"
    elif req.bad == "#body":
        json_body, body = None, (b"[]" if ep.body.kind is BodyKind.JSON_OBJECT else b"not a tar archive")
        if ep.body.kind is BodyKind.JSON_OBJECT:
            headers.setdefault("Content-Type", "application/json")
    elif req.bad == "#no-body":
        json_body, body = None, None
        headers.pop("X-Registry-Auth", None)
        if ep.body.kind is BodyKind.JSON_OBJECT:
            headers.setdefault("Content-Type", "application/json")
    if json_body is not None and "Content-Type" in headers:
        body, json_body = json.dumps(json_body).encode(), None
    return Built(ep.method, path, base, json_body, body, headers)


def send(api: DaemonClient, req: GeneratedRequest, built: Built) -> Reply | None:
    """Send it; streams (events, follow, attach) are read briefly and closed by the suite."""
    ep = req.endpoint
    served = req.bad != "#version"
    if ep.hijacked and served:
        session = api.attach(built.path.split("/")[2], built.params, version=req.prefix)
        if session.hijacked:
            session.read_until(lambda b: len(b) > 0, timeout=0.5)
        session.finish(True)
        return Reply(session.status, httpx.Headers(session.headers), bytes(session.output), session._rec.record)
    if ep.websocket and served:
        ws = api.attach_ws(built.path.split("/")[2], built.params, version=req.prefix)
        ws.read_all(timeout=0.5)
        return Reply(ws.status or 0, httpx.Headers([]), b"".join(p for _, p in ws.messages), ws._rec.record)
    # Streams that may never end (events, logs with follow) are read briefly; JSON-message streams (build,
    # pull, push, import) end by themselves and are read to their end, so what they say does not depend on
    # how fast a loaded daemon writes its last messages.
    kinds = {r.kind for r in ep.responses}
    streams = bool(kinds & (STREAM_KINDS - {BodyKind.JSON_MESSAGES})) or ep.hijacked or ep.websocket
    timeout = httpx.Timeout(30, read=0.3) if streams else httpx.Timeout(30, read=60) if kinds & STREAM_KINDS \
        else None
    try:
        with api.stream(built.method, built.path, built.params, json_body=built.json_body, body=built.body,
                        headers=built.headers, version=req.prefix, timeout=timeout) as s:
            content = b"".join(s.iter_bytes())
            if streams:
                s.stop()
    except httpx.ReadTimeout:
        if streams:
            return None  # a stream with nothing to send yet: 1.2.0 writes no head before the first write
        raise
    return s.reply(content)


def created_by(req: GeneratedRequest, built: Built, reply: Reply) -> tuple[list[str], list[str]]:
    """(containers, image refs) the request itself made, so the example removes them too."""
    ep = req.endpoint
    containers, images = [], []
    if ep.id == "containers.create" and reply.status == 201:
        try:
            containers.append(reply.json()["Id"])
        except (ValueError, KeyError, TypeError):
            pass
    repo = built.params.get("repo") or built.params.get("t")
    if repo and reply.status in (200, 201) and ep.id != "images.load":
        tag = built.params.get("tag") or "latest"
        images.append(repo if ":" in repo.rsplit("/", 1)[-1] else f"{repo}:{tag}")
    return containers, images


def mentions(req: GeneratedRequest, name: str) -> bool:
    """Whether a drawn value names `name` (the peer container is made only when one does)."""
    return any(name in json.dumps(v.value) for v in req.values.values())
