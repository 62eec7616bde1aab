"""Request dispatch as 1.2.0's router and makeHttpHandler did it, and the ways a handler answers.

Routes come from the rule book (`RULEBOOK.match`); handlers are looked up by endpoint id. An unknown route
is gorilla/mux's `404 page not found`; a version above 1.14 is refused after routing; errors are plain text
with the status chosen from the message (notes §0.1-§0.2).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable

from ..spec import API_VERSION, RULEBOOK, BodyKind, RouteMatch
from ..spec.frame import STDERR, STDOUT, SYSTEMERR, build_frame
from ..spec.values import parse_bool, parse_int
from .encoding import go_dumps, table
from .errors import DaemonError
from .server import ClientGone, Exchange
from .state import DaemonState, NotModified

log = logging.getLogger("conformance.daemon")

JSON_TYPE = "application/json"
TEXT_TYPE = "text/plain; charset=utf-8"
BINARY_TYPE = "application/octet-stream"
INTERNAL_ERROR = "internal error in reference daemon"  # the start of the 500 a handler's bug answers
MAX_FORM_SIZE = 10 << 20  # net/http's maxFormSize

HandlerFn = Callable[["Call"], Awaitable[None]]
HANDLERS: dict[str, HandlerFn] = {}


def route(endpoint_id: str) -> Callable[[HandlerFn], HandlerFn]:
    """Register a handler for a rule-book endpoint id."""
    def register(fn: HandlerFn) -> HandlerFn:
        if endpoint_id in HANDLERS:
            raise ValueError(f"two handlers for {endpoint_id}")
        HANDLERS[endpoint_id] = fn
        return fn
    return register


class FormError(Exception):
    pass


def _unescape(text: str) -> str:
    """url.QueryUnescape: '+' is a space; a bad %-escape is an error."""
    out = bytearray()
    i = 0
    raw = text.encode("utf-8")
    while i < len(raw):
        c = raw[i]
        if c == 0x25:  # %
            pair = raw[i + 1:i + 3]
            if len(pair) < 2 or not re.fullmatch(rb"[0-9a-fA-F]{2}", pair):
                raise FormError(f'invalid URL escape "{raw[i:i + 3].decode("utf-8", "replace")}"')
            out.append(int(pair, 16))
            i += 3
        elif c == 0x2B:
            out.append(0x20)
            i += 1
        else:
            out.append(c)
            i += 1
    return out.decode("utf-8", "replace")


def parse_form(query: str) -> tuple[dict[str, list[str]], str | None]:
    """url.ParseQuery as Go 1.3 did it: '&' and ';' separate pairs; the first bad escape is the error."""
    form: dict[str, list[str]] = {}
    error = None
    for pair in re.split(r"[&;]", query):
        if not pair:
            continue
        key, _, value = pair.partition("=")
        try:
            key, value = _unescape(key), _unescape(value)
        except FormError as exc:
            error = error or str(exc)
            continue
        form.setdefault(key, []).append(value)
    return form, error


def sniff(data: bytes) -> str:
    """http.DetectContentType, reduced to what the daemon writes: binary, or UTF-8 text."""
    head = data[:512]
    if any(b in head for b in b"\x00\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0e\x0f\x10\x11\x12\x13\x14\x15\x16"
                            b"\x17\x18\x19\x1a\x1c\x1d\x1e\x1f"):
        return BINARY_TYPE
    return TEXT_TYPE


class Call:
    """One routed request: parameters, state, deviations, and the ways to answer."""

    def __init__(self, exchange: Exchange, match: RouteMatch, form: dict[str, list[str]],
                 state: DaemonState, deviations: frozenset[str]):
        self.exchange = exchange
        self.request = exchange.request
        self.match = match
        self.form = form
        self.state = state
        self.deviations = deviations

    # --- reading ---
    def var(self, name: str) -> str:
        return (self.match.variables or {}).get(name, "")

    def param(self, name: str) -> str:
        values = self.form.get(name)
        return values[0] if values else ""

    def has(self, name: str) -> bool:
        return name in self.form

    def flag(self, name: str) -> bool:
        return parse_bool(self.param(name))

    def integer(self, name: str) -> int:
        return parse_int(self.param(name))

    def deviant(self, name: str) -> bool:
        return name in self.deviations

    def content_type(self) -> str:
        return (self.request.header("content-type") or "").split(";", 1)[0].strip().lower()

    # --- presenting ---
    def id(self, value: str) -> str:
        return f"sha256:{value}" if value and self.deviant("sha256-ids") else value

    def headers(self, *pairs: tuple[str, str]) -> list[tuple[str, str]]:
        out = list(pairs)
        if self.deviant("later-headers"):
            out += [("Api-Version", "1.41"), ("Ostype", "linux"), ("Server", "Docker/20.10.24 (linux)")]
        return out

    def json_headers(self) -> list[tuple[str, str]]:
        return self.headers() if self.deviant("json-no-content-type") else self.headers(("Content-Type", JSON_TYPE))

    def frame(self, stream: int, payload: bytes) -> bytes:
        if stream == STDERR and self.deviant("frame-stream-type-3"):
            stream = SYSTEMERR
        if self.deviant("frame-padding"):
            return build_frame(stream, payload, padding=b"\x01\x01\x01")
        return build_frame(stream, payload)

    def table(self, envs: list) -> bytes:
        data = table(envs)
        if self.deviant("list-trailing-comma"):
            data = data[:-1] + b",]"
        return data

    # --- answering ---
    async def send_json(self, status: int, body: bytes) -> None:
        await self.exchange.respond(status, self.json_headers(), body)

    async def send_object(self, status: int, value: object) -> None:
        """A plain encoding/json object (struct order kept), newline-terminated as json.Encoder writes."""
        await self.send_json(status, (go_dumps(value, sort_keys=False) + "\n").encode())

    async def send_empty(self, status: int) -> None:
        if status == 204 and self.deviant("no-content-body"):
            head = "HTTP/1.1 204 No Content\r\nContent-Length: 2\r\n\r\nOK"
            await self.exchange.send_raw(head.encode())
            return
        await self.exchange.respond(status, self.headers())

    async def send_text(self, status: int, text: str | bytes, content_type: str | None = TEXT_TYPE) -> None:
        """A whole body; with no explicit type, Go's sniffing (an empty body sniffs as text/plain)."""
        body = text.encode() if isinstance(text, str) else text
        if content_type is None and status not in (204, 304):
            content_type = sniff(body)
        pairs = [("Content-Type", content_type)] if content_type else []
        await self.exchange.respond(status, self.headers(*pairs), body)

    async def send_sniffed(self, status: int, body: bytes) -> None:
        """A body written with no explicit Content-Type: Go sniffed it on the first write."""
        await self.send_text(status, body, None)

    async def send_error(self, status: int, message: str) -> None:
        if self.deviant("json-errors"):
            await self.exchange.respond(status, self.headers(("Content-Type", JSON_TYPE)),
                                        (json.dumps({"message": message}) + "\n").encode())
            return
        await self.send_text(status, message + "\n")

    async def begin_stream(self, status: int, content_type: str | None) -> None:
        await self.exchange.begin(status, self.headers(*([("Content-Type", content_type)] if content_type else [])))

    async def write(self, data: bytes) -> None:
        await self.exchange.write(data)

    async def finish(self) -> None:
        await self.exchange.finish()


class Application:
    """Routes each exchange to its handler and turns errors into 1.2.0's answers."""

    def __init__(self, state: DaemonState, deviations: frozenset[str] = frozenset()):
        self.state = state
        self.deviations = deviations

    async def __call__(self, exchange: Exchange) -> None:
        request = exchange.request
        upgrade = request.header("upgrade")
        log.info("%s %s%s", request.method, request.target, f" (upgrade: {upgrade})" if upgrade else "")
        try:
            await self._dispatch(exchange)
        except ClientGone:
            raise
        except Exception as exc:  # a bug: one log line, a plain-text 500, and the daemon keeps serving
            log.error("internal error on %s %s: %s: %s", request.method, request.target[:200],
                      type(exc).__name__, str(exc)[:200])
            if not exchange.started:
                await exchange.respond(500, [("Content-Type", TEXT_TYPE)],
                                       f"{INTERNAL_ERROR}: {type(exc).__name__}\n".encode())
            else:
                exchange.must_close = True

    async def _dispatch(self, exchange: Exchange) -> None:
        request = exchange.request
        match = RULEBOOK.match(request.method, request.target)
        extra = [("Api-Version", "1.41"), ("Ostype", "linux"), ("Server", "Docker/20.10.24 (linux)")] \
            if "later-headers" in self.deviations else []
        if match.endpoint is None:
            await exchange.respond(404, [("Content-Type", "text/plain; charset=utf-8"), *extra],
                                   b"404 page not found\n")
            return
        form, form_error = parse_form(request.query_string)
        call = Call(exchange, match, form, self.state, self.deviations)
        if match.endpoint.id == "system.options":
            await call.send_text(200, b"", None)
            return
        if match.too_new and not call.deviant("serve-newer-versions"):
            await call.send_error(404, f"client and server don't have same version (client : {match.version}, "
                                       f"server: {API_VERSION})")
            return
        if (request.header("content-type") or "").split(";")[0].strip() == "application/x-www-form-urlencoded":
            if request.body_too_large or len(request.body) > MAX_FORM_SIZE:
                form_error = form_error or "http: POST too large"  # net/http's ParseForm limit
            else:
                body_form, body_error = parse_form(request.body.decode("latin-1"))
                for key, values in body_form.items():
                    form[key] = values + form.get(key, [])
                form_error = form_error or body_error
            request.body = b""  # ParseForm consumed it
            request.body_too_large = False
        handler = HANDLERS.get(match.endpoint.id)
        if handler is None:
            await call.send_error(404, "404 page not found")
            return
        try:
            if form_error is not None:
                if match.endpoint.id == "containers.create":
                    await call.send_text(200, b"", None)  # 1.2.0 returned nil: 200, empty body
                    return
                raise DaemonError(form_error)
            if request.body_too_large and match.endpoint.body.kind is not BodyKind.NONE:
                raise DaemonError("http: request body too large")  # what http.MaxBytesReader says
            await handler(call)
        except NotModified:
            await call.send_empty(304)
        except DaemonError as exc:
            if exchange.started:
                exchange.must_close = True
                return
            message = exc.message
            if call.deviant("error-wording") and message.startswith("No such container: "):
                name = message.removeprefix("No such container: ")
                message = f'no container with name or ID "{name}" found: no such container'  # podman's words
            await call.send_error(exc.status, message)


__all__ = ["Application", "Call", "route", "HANDLERS", "INTERNAL_ERROR", "STDOUT", "STDERR"]
