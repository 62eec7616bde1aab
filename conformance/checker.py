"""The checker: typed events in, findings out. Sans-IO; the one driver of the rule registry.

An exchange is fed as it happens, as events or through the matching methods: the request head,
request body chunks, its end, the response head, response body chunks (or, once the connection is
hijacked, the raw bytes of both directions and websocket messages), and the end or a cut. The
exchange keeps an explicit phase, as h11 does, and an event that makes no sense in the phase raises
`CheckerUsageError`. At each phase the checks registered for it in `conformance/rules/` run; body
bytes go to the scanner the rule book names for the route's body kind. The checker alone decides
whether an exchange is hijacked and what kind of stream it carries, from the rule book.

Every call returns the findings it produced, so a proxy can log them live. A rule raised again in
the same exchange does not make a second finding: the first one's `count` goes up.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from urllib.parse import parse_qsl, urlsplit

from .findings import Finding
from .frames import FrameDecoder
from .http import header
from .knowledge import ContainerKnowledge
from .rules import REGISTRY, Hit, Phase
from .spec import RULEBOOK, BodyKind, Endpoint, RuleBook
from .spec.book import RouteMatch
from .spec.model import LaterRoute, Response
from .streams.body import JSONBodyCheck, StdioCheck, StreamCheck, TarCheck, TextCheck
from .streams.values import int_is_valid, parse_bool

Headers = Sequence[tuple[str, str]]

_EXEC_ROUTES = ("/containers/{id}/exec", "/exec/{id}/start")  # later routes whose bodies carry Tty
_LATER_JSON_CAP = 64 << 10
_ERROR_TEXT_CAP = 4 << 10


class CheckerUsageError(RuntimeError):
    """An event fed in a phase where it cannot happen (a driver bug, not a daemon's)."""


@dataclass(frozen=True)
class Limits:
    """Bounds on what the checker keeps in memory per exchange."""

    max_buffer: int = 8 << 20  # JSON bodies are buffered up to this to be validated whole
    max_frame: int = 8 << 20  # multiplexed frame payloads above this are reported
    max_tar_members: int = 100_000


# -- events ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RequestHead:
    method: str
    target: str
    headers: Headers


@dataclass(frozen=True)
class RequestBody:
    data: bytes


@dataclass(frozen=True)
class RequestEnd:
    recorded: bool = True  # False: a capture did not keep the body at all


@dataclass(frozen=True)
class ResponseHead:
    status: int
    reason: str
    headers: Headers


@dataclass(frozen=True)
class ResponseBody:
    data: bytes


@dataclass(frozen=True)
class ResponseEnd:
    complete: bool = True  # False: the connection ended before the body did


@dataclass(frozen=True)
class ClientBytes:
    """Raw bytes from the client after the connection was hijacked (stdin)."""

    data: bytes


@dataclass(frozen=True)
class DaemonBytes:
    """Raw bytes from the daemon after the connection was hijacked (the stream)."""

    data: bytes


@dataclass(frozen=True)
class WebsocketMessage:
    from_client: bool
    text: bool
    payload: bytes


@dataclass(frozen=True)
class Cut:
    """The exchange ended where it stood (the client or the daemon went away)."""


Event = (RequestHead | RequestBody | RequestEnd | ResponseHead | ResponseBody | ResponseEnd | ClientBytes
         | DaemonBytes | WebsocketMessage | Cut)


class Checker:
    """Judges exchanges against the v1.14 rule book; one per session or proxy."""

    def __init__(self, rulebook: RuleBook = RULEBOOK, ignore: Iterable[str] = (),
                 limits: Limits | None = None):
        self.rulebook = rulebook
        self.ignore = tuple(ignore)
        self.limits = limits or Limits()
        self.containers = ContainerKnowledge()

    def exchange(self, exchange_id: str) -> ExchangeCheck:
        return ExchangeCheck(self, exchange_id)

    def ignored(self, rule_id: str) -> bool:
        return any(rule_id == pat or fnmatch.fnmatchcase(rule_id, pat) for pat in self.ignore)


class ExchangeCheck:
    """The judgement of one request/response exchange, fed as it happens.

    Its attributes are what the registered checks read: the route match, endpoint, query, headers,
    status, the success response the rule book gives for it, and what earlier exchanges taught."""

    def __init__(self, checker: Checker, exchange_id: str):
        self.checker = checker
        self.id = exchange_id
        self.phase = Phase.IDLE
        self.findings: list[Finding] = []
        self._index: dict[tuple[str, str], int] = {}  # (rule, side) -> position in findings
        self.route: RouteMatch | None = None
        self.too_new = False
        self.endpoint: Endpoint | None = None
        self.later: LaterRoute | None = None  # the later-API route this request named, if any
        self.method = ""
        self.target = ""
        self.path = ""
        self.query: list[tuple[str, str]] = []
        self._query_dict: dict[str, str] | None = None
        self.variables: dict[str, str] = {}
        self.request_headers: Headers = ()
        self.request_kind: BodyKind = BodyKind.NONE
        self.request_recorded = True
        self.status: int | None = None
        self.reason = ""
        self.response_headers: Headers = ()
        self.success: Response | None = None  # the rule book's success response for this status
        self.hijacked = False
        self._request_sink: _Sink | None = None
        self._response_sink: _Sink | None = None
        self._response_size = 0
        self._stdio_mode: str | None = None  # stdio_stream, kept once the body's sink is closed
        self._stdin_bytes = 0
        self._create_tty: bool | None = None
        self._later_body: bytearray | None = None  # exec create/start bodies, read for their Tty
        self._later_response: bytearray | None = None  # exec create's answer, read for its Id
        self._error_text = bytearray()
        self._request_ended = False
        self.judged = False  # the answer is judged by the route's rules (a v1.14 route, no newer prefix)

    # -- the event feed -------------------------------------------------------------------------
    def feed(self, event: Event) -> list[Finding]:
        """Feed one event; returns the findings it produced."""
        match event:
            case RequestHead(method, target, headers):
                return self.request_head(method, target, headers)
            case RequestBody(data):
                return self.request_body(data)
            case RequestEnd(recorded):
                return self.request_end(recorded)
            case ResponseHead(status, reason, headers):
                return self.response_head(status, reason, headers)
            case ResponseBody(data):
                return self.response_body(data)
            case ResponseEnd(complete):
                return self.response_end(complete)
            case ClientBytes(data):
                return self.hijack_client(data)
            case DaemonBytes(data):
                return self.hijack_daemon(data)
            case WebsocketMessage(from_client, text, payload):
                return self.websocket_message(from_client, text, payload)
            case Cut():
                return self.close()
        raise CheckerUsageError(f"not a checker event: {event!r}")

    def _expect(self, event: str, *phases: Phase) -> None:
        if self.phase not in phases:
            raise CheckerUsageError(f"exchange {self.id}: {event} in phase {self.phase.value} (allowed in "
                                    f"{', '.join(p.value for p in phases)})")

    # -- findings ---------------------------------------------------------------------------------
    @property
    def side(self) -> str:
        return "response" if self.status is not None else "request"

    def _record(self, found: list[Finding], prefix: str = "", side: str | None = None) -> list[Finding]:
        """Keep findings; a rule already found on this side of the exchange counts up instead."""
        if not found:
            return []
        out = []
        side = side or self.side
        for f in found:
            if self.checker.ignored(f.rule):
                continue
            key = (f.rule, side)
            if key in self._index:
                i = self._index[key]
                self.findings[i] = replace(self.findings[i], count=self.findings[i].count + f.count)
                continue
            where = f"{prefix}{f.where}" if prefix and f.where else (f.where or prefix.rstrip(" "))
            f = replace(f, exchange=self.id, where=where, side=side)
            self._index[key] = len(self.findings)
            self.findings.append(f)
            out.append(f)
        return out

    def _run(self, phase: Phase, *args) -> list[Finding]:
        hits: list[Hit] = []
        for c in REGISTRY.checks(phase):
            when = c.when
            if when is None or when(self):
                hits += c.fn(self, *args)
        if not hits:  # the common case: nothing to record
            return hits
        return self._record([Finding.of(h.rule, h.message, where=h.where, evidence=h.evidence) for h in hits])

    def note(self, rule_id: str, message: str, where: str = "", evidence: bytes | str = "",
             side: str | None = None) -> list[Finding]:
        """A finding a driver observed on the wire (framing, heads, transport), recorded like any other."""
        return self._record([Finding.of(rule_id, message, where=where, evidence=evidence)], side=side)

    # -- what checks read -----------------------------------------------------------------------
    @property
    def container_state(self) -> str | None:
        """The path's container as earlier exchanges left it (read only by checks that need it)."""
        ref = self.variables.get("id")
        return self.checker.containers.state(ref) if ref else None

    @property
    def query_dict(self) -> dict[str, str]:
        if self._query_dict is None:
            self._query_dict = dict(self.query)
        return self._query_dict

    def query_bool(self, name: str) -> bool:
        return parse_bool(self.query_dict.get(name))

    @property
    def request_size(self) -> int:
        return self._request_sink.size if self._request_sink else 0

    @property
    def request_head_bytes(self) -> bytes:
        return self._request_sink.head if self._request_sink else b""

    @property
    def request_body_required(self) -> bool:
        return self.endpoint is not None and self.endpoint.body.required

    @property
    def response_content_type(self) -> str | None:
        return header(self.response_headers, "content-type")

    @property
    def response_size(self) -> int:
        return self._response_size

    @property
    def error_text(self) -> str:
        return self._error_text.decode("utf-8", "replace")

    @property
    def stdio_stream(self) -> str | None:
        """For attach and logs: "raw" (TTY) or "multiplexed", as the stream was read; None otherwise."""
        check = self._response_sink.check if self._response_sink is not None else None
        if isinstance(check, StdioCheck) and check.mode is not None:
            return "raw" if check.mode == "raw" else "multiplexed"
        return self._stdio_mode

    # -- request ----------------------------------------------------------------------------------
    def request_head(self, method: str, target: str, headers: Headers) -> list[Finding]:
        self._expect("request head", Phase.IDLE)
        self.phase = Phase.REQUEST_HEAD
        self.method, self.target, self.request_headers = method.upper(), target, tuple(headers)
        self.query = parse_qsl(urlsplit(target).query, keep_blank_values=True)
        m = self.route = self.checker.rulebook.match(self.method, target)
        self.too_new = m.too_new  # a version prefix above 1.14: only the refusal is judged
        self.path, self.endpoint, self.later = m.path, m.endpoint, m.later
        self.variables = m.variables or {}
        if self.later is not None and self.later.path in _EXEC_ROUTES:
            self._later_body = bytearray()
        out = self._run(Phase.REQUEST_HEAD)
        self._request_sink = self._request_sink_for(self.endpoint) if self.endpoint else None
        return out

    def _request_sink_for(self, ep: Endpoint) -> _Sink:
        self.request_kind = kind = ep.body.kind_for(self.query_dict)
        limits = self.checker.limits
        if kind is BodyKind.JSON_OBJECT:
            return _Sink("request ", JSONBodyCheck(limits.max_buffer, request_endpoint=ep))
        if kind is BodyKind.TAR:
            unless = ep.body.dockerfile_unless
            return _Sink("request ", TarCheck(limits.max_tar_members, request=True,
                                              needs_dockerfile=unless is not None
                                              and not self.query_dict.get(unless)))
        return _Sink("request ", None)

    def request_body(self, chunk: bytes) -> list[Finding]:
        self._expect("request body", Phase.REQUEST_HEAD, Phase.RESPONSE_HEAD)
        if self._later_body is not None and len(self._later_body) < _LATER_JSON_CAP:
            self._later_body += chunk[:_LATER_JSON_CAP]
        if self._request_sink is None or not chunk:
            return []
        return self._record(self._request_sink.feed(chunk), self._request_sink.prefix, side="request")

    def request_end(self, recorded: bool = True) -> list[Finding]:
        """End of the request body; `recorded=False` when a capture did not keep the body at all."""
        self._expect("request end", Phase.REQUEST_HEAD, Phase.RESPONSE_HEAD, Phase.STREAM)
        if self._request_ended:
            raise CheckerUsageError(f"exchange {self.id}: request end fed twice")
        self._request_ended, self.request_recorded = True, recorded
        if self.phase is Phase.REQUEST_HEAD:
            self.phase = Phase.REQUEST_END
        sink, out = self._request_sink, []
        if sink is None or not recorded:
            return out
        out += self._run(Phase.REQUEST_END)
        if sink.check is not None and sink.size:
            out += self._record(sink.finish(), sink.prefix, side="request")
            ep = self.endpoint
            if isinstance(sink.check, JSONBodyCheck) and ep is not None and ep.id == "containers.create":
                value = sink.check.value
                if isinstance(value, dict) and "Tty" in value:
                    self._create_tty = _truthy_json(value["Tty"])
        if self.endpoint is not None and self.endpoint.id == "containers.create" and self._create_tty is None:
            self._create_tty = False
        return out

    # -- response ---------------------------------------------------------------------------------
    def response_head(self, status: int, reason: str, headers: Headers) -> list[Finding]:
        self._expect("response head", Phase.REQUEST_HEAD, Phase.REQUEST_END)
        self.phase = Phase.RESPONSE_HEAD
        self.status, self.reason, self.response_headers = status, reason, tuple(headers)
        ep = self.endpoint
        self.judged = ep is not None and not self.too_new
        if ep is not None:
            self.success = ep.response_for(status)
        self.hijacked = self._decide_hijack(status, headers)
        if self.hijacked:
            self.phase = Phase.STREAM
        out = self._run(Phase.RESPONSE_HEAD)
        self._response_sink = _Sink("response ", self._response_check())
        return out

    def _decide_hijack(self, status: int, headers: Headers) -> bool:
        """Whether the connection became a raw stream (or a websocket), from the rule book."""
        if self.too_new:
            return False
        ep = self.endpoint
        if ep is None:
            return (self.later is not None and self.later.hijacked and status in (101, 200)
                    and header(headers, "content-length") is None)
        return (ep.hijacked and status in (101, 200)) or (ep.websocket and status == 101)

    def _response_check(self):
        """The scanner for this answer's body, by the kind the rule book gives it."""
        limits, ep, status = self.checker.limits, self.endpoint, self.status
        assert status is not None
        if self.too_new:
            return None
        if ep is None:
            if self.hijacked:  # exec start: judged like attach; the route stays an info later-route finding
                return self._exec_stdio_check()
            later = self.later
            if later is not None and later.path == "/containers/{id}/exec" and status == 201:
                self._later_response = bytearray()
            if later is not None and later.body is BodyKind.TAR and status == 200:
                # a later route whose body v1.14 knows: the tar inside is judged, the route stays info
                return TarCheck(limits.max_tar_members, layout=later.tar_layout)
            return None
        if self.hijacked:
            return self._stdio_check() if ep.hijacked else None
        if status >= 400:
            # an error whose every 1.2.0 form at this status is an empty body (copy's unknown container)
            same = [o for o in ep.outcomes if o.status == status]
            allow_empty = bool(same) and all(o.message == "" for o in same)
            return TextCheck("error", limits.max_buffer, allow_empty=allow_empty)
        resp = self.success
        if resp is None:  # an unexpected success status: judge only what is generic
            return None
        kind, q = resp.kind, self.query_dict
        if kind in (BodyKind.JSON_OBJECT, BodyKind.JSON_LIST):
            return JSONBodyCheck(limits.max_buffer, response_endpoint=ep, schema=resp.schema, kind=kind,
                                 query=q)
        if kind in (BodyKind.JSON_MESSAGES, BodyKind.EVENTS):
            window = (_int_or_none(q.get("since")), _int_or_none(q.get("until"))) \
                if kind is BodyKind.EVENTS else None
            return StreamCheck(kind, limits.max_buffer, window=window)
        if kind is BodyKind.STDIO:
            return self._stdio_check()
        if kind is BodyKind.TAR:
            return TarCheck(limits.max_tar_members, layout=resp.tar_layout,
                            resource=self._request_field(resp.tar_holds) if resp.tar_holds else None,
                            image=self.variables.get("name"))
        if kind is BodyKind.TEXT:
            return TextCheck("ping" if resp.text == "OK" else "text", limits.max_buffer)
        if kind in (BodyKind.NONE, BodyKind.EMPTY):
            return TextCheck("none" if kind is BodyKind.NONE else "empty", 0, status=status)
        return None

    def _stdio_check(self) -> StdioCheck:
        ref = self.variables.get("id")
        tty = self.checker.containers.tty(ref) if ref else None
        return StdioCheck(FrameDecoder(max_payload=self.checker.limits.max_frame, keep_payloads=False),
                          tty=tty, container=ref, query=self.query_dict)

    def _exec_stdio_check(self) -> StdioCheck:
        body = _json_object(self._later_body)
        exec_id = (self.path.split("/exec/", 1)[-1].split("/", 1)[0]) if "/exec/" in self.path else None
        tty = _truthy_json(body["Tty"]) if "Tty" in body else None
        if tty is None and exec_id:
            tty = self.checker.containers.exec_tty(exec_id)
        return StdioCheck(FrameDecoder(max_payload=self.checker.limits.max_frame, keep_payloads=False),
                          tty=tty, container=f"exec {exec_id}" if exec_id else None, query=self.query_dict)

    def _request_field(self, name: str) -> str | None:
        """A string field of this exchange's JSON request body (copy's Resource), if it had one."""
        sink = self._request_sink
        check = sink.check if sink else None
        if isinstance(check, JSONBodyCheck) and isinstance(check.value, dict):
            value = check.value.get(name)
            return value if isinstance(value, str) else None
        return None

    def response_body(self, chunk: bytes) -> list[Finding]:
        self._expect("response body", Phase.RESPONSE_HEAD, Phase.STREAM)
        self._response_size += len(chunk)
        if self._later_response is not None and len(self._later_response) < _LATER_JSON_CAP:
            self._later_response += chunk[:_LATER_JSON_CAP]
        if self.status is not None and self.status >= 400 and len(self._error_text) < _ERROR_TEXT_CAP:
            self._error_text += chunk[:_ERROR_TEXT_CAP - len(self._error_text)]
        if self._response_sink is None or not chunk:
            return []
        return self._record(self._response_sink.feed(chunk), self._response_sink.prefix)

    def response_end(self, complete: bool = True) -> list[Finding]:
        self._expect("response end", Phase.RESPONSE_HEAD, Phase.STREAM)
        sink = self._response_sink
        self._stdio_mode = self.stdio_stream
        self._response_sink = None
        if self._later_response is not None:
            answer = _json_object(self._later_response)
            self._later_response = None
            if isinstance(answer.get("Id"), str):
                body = _json_object(self._later_body)
                self.checker.containers.remember_exec(answer["Id"], _truthy_json(body.get("Tty", False)))
        if not complete:
            # a body cut short is judged only by that: whole-body verdicts (JSON, tar) would be about
            # bytes that never came
            self.phase = Phase.CUT
            return self._run(Phase.CUT)
        self.phase = Phase.RESPONSE_END
        out = self._record(sink.finish(), sink.prefix) if sink is not None else []
        out += self._run(Phase.RESPONSE_END)
        self._learn(sink)
        return out

    def _learn(self, sink: _Sink | None) -> None:
        """Remember containers' TTY and state from create, lifecycle and inspect answers."""
        ep, status = self.endpoint, self.status
        if ep is None or status is None:
            return
        known = self.checker.containers
        ref = self.variables.get("id")
        if ref and status < 300:
            known.moved(ref, ep.id)
        value = sink.check.value if sink is not None and isinstance(sink.check, JSONBodyCheck) else None
        if not isinstance(value, dict):
            return
        if ep.id == "containers.create" and status == 201:
            known.remember(value.get("Id"), self.query_dict.get("name"), bool(self._create_tty))
            known.observed(value.get("Id"), self.query_dict.get("name"), "created")
        elif ep.id == "containers.inspect" and status == 200:
            config, state = value.get("Config"), value.get("State")
            if isinstance(config, dict):
                known.remember(value.get("Id"), value.get("Name"), _truthy_json(config.get("Tty")))
            if isinstance(state, dict):
                running, paused = state.get("Running") is True, state.get("Paused") is True
                seen = "paused" if paused else "running" if running else None
                if seen is None and isinstance(state.get("StartedAt"), str):
                    seen = "created" if state["StartedAt"].startswith("0001-") else "exited"
                if seen:
                    known.observed(value.get("Id"), value.get("Name"), seen)

    # -- hijacked streams -------------------------------------------------------------------------
    def hijack_client(self, chunk: bytes) -> list[Finding]:
        self._stdin_bytes += len(chunk)
        return []

    def hijack_daemon(self, chunk: bytes) -> list[Finding]:
        return self.response_body(chunk)

    def hijack_end(self) -> list[Finding]:
        return self.response_end(True)

    def websocket_message(self, from_client: bool, text: bool, payload: bytes) -> list[Finding]:
        self._expect("websocket message", Phase.STREAM, Phase.RESPONSE_HEAD)
        return self._run(Phase.STREAM, from_client, text, payload)

    def close(self) -> list[Finding]:
        """End whatever is still open (an exchange cut short); returns the findings that produced."""
        if self.phase in (Phase.RESPONSE_HEAD, Phase.STREAM) and self._response_sink is not None:
            return self.response_end(complete=False)
        return []


class _Sink:
    """Counts a body and forwards it to its scanner, if any."""

    __slots__ = ("prefix", "check", "size", "head")

    def __init__(self, prefix: str, check) -> None:
        self.prefix = prefix
        self.check = check
        self.size = 0
        self.head = b""

    def feed(self, chunk: bytes) -> list[Finding]:
        if not self.size:
            self.head = chunk[:64]
        self.size += len(chunk)
        if self.check is None:
            return []
        return self.check.feed(chunk)

    def finish(self) -> list[Finding]:
        if self.check is None:
            return []
        return self.check.finish()


def _json_object(buf: bytearray | None) -> dict:
    if not buf:
        return {}
    try:
        value = json.loads(bytes(buf))
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _truthy_json(value: object) -> bool:
    """1.2.0's GetBool on a JSON body field (null counts as true: it becomes the text "null")."""
    if isinstance(value, bool):
        return value
    if value is None:
        return True
    if isinstance(value, (int, float)):
        return value != 0
    return parse_bool(str(value))


def _int_or_none(value: str | None) -> int | None:
    if value is None or not int_is_valid(value):
        return None
    return int(value.strip()) or None


__all__ = ["Checker", "ExchangeCheck", "Limits", "ContainerKnowledge", "CheckerUsageError", "Event",
           "RequestHead", "RequestBody", "RequestEnd", "ResponseHead", "ResponseBody", "ResponseEnd",
           "ClientBytes", "DaemonBytes", "WebsocketMessage", "Cut"]
