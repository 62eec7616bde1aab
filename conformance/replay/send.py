"""Re-issue a capture's requests to another daemon: `conformance replay send CAPTURE --daemon URL`.

`Sender.run` sends every recorded request (those that never got a response included) and returns
what the new daemon answered, as `RecordedExchange`s aligned with the recording, for `diff.compare`.

How the recording is followed:
- **Order and concurrency.** An exchange waits for every earlier exchange that had ended, in the
  recording, before it started; exchanges that overlapped in the recording run concurrently here too
  (the docker CLI opens `/events` or an attach and then creates and starts the container). A capture
  without timestamps is sent strictly in order.
- **Streams that the client ended.** A response still open when later exchanges ran beside it (an
  events stream, an attach, `logs?follow=1`) is cut `grace` seconds after those exchanges are done,
  unless the daemon ends it first. A response that the client cut with nothing beside it is cut after
  its recorded duration. Anything else is read to its end, up to `timeout` seconds.
- **Ids.** Ids the new daemon hands out are learnt by walking each recorded JSON answer beside the new
  one (`IdMap.learn`): where the same place holds an id in both, recorded id -> new id. Later request
  targets and JSON request bodies have every recorded id (or a 12+ digit prefix of one) replaced by the
  new id (or the same-length prefix of it). Names are sent as recorded.
- **Hijacked attach** (200 raw stream or 101 upgrade): the recorded client bytes are sent in recorded
  order, each run after the daemon has sent as many bytes as it had sent before that run in the
  recording (or `HIJACK_WAIT` seconds); after the last client run the write side is shut (stdin EOF).
- Each request goes on its own connection. Hop-by-hop headers are re-made; `Content-Length` is set to
  the body actually sent.

- **Websocket attach**: the handshake by wsproto (a fresh key; the recorded request's other headers
  kept), then the recorded client messages, each after as many daemon messages as preceded it in the
  recording (or `HIJACK_WAIT` seconds); the daemon's messages are read until it closes or the cut.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import h11
from wsproto import ConnectionType, WSConnection
from wsproto import events as ws_events

from ..capture import RecordedExchange
from ..capture.buffer import CappedBody
from ..daemonurl import DaemonURL
from ..http import header, media_type
from ..spec.endpoints import RAW_STREAM
from ..streams.jsonstream import json_values

HIJACK_WAIT = 5.0  # seconds to wait for the daemon's bytes that preceded a client run in the recording
BODY_CAP = 64 << 20  # bytes kept of each answer; beyond, the answer is marked truncated
_HOP = frozenset({"content-length", "connection", "keep-alive", "transfer-encoding", "te", "trailer"})
_ID = re.compile(r"^(?:sha256:)?([0-9a-f]{64})$")


class IdMap:
    """Recorded ids -> the ids the new daemon assigned, learnt from answers side by side."""

    def __init__(self) -> None:
        self.ids: dict[str, str] = {}  # 64-hex recorded -> 64-hex new

    def add(self, recorded: str, new: str) -> None:
        a, b = _ID.match(recorded), _ID.match(new)
        if a and b and a[1] != b[1]:
            self.ids.setdefault(a[1], b[1])

    def learn(self, recorded, new) -> None:
        """Walk two JSON values in parallel; ids in the same place are the same object."""
        if isinstance(recorded, str) and isinstance(new, str):
            self.add(recorded, new)
        elif isinstance(recorded, dict) and isinstance(new, dict):
            for key, value in recorded.items():
                if key in new:
                    self.learn(value, new[key])
        elif isinstance(recorded, list) and isinstance(new, list) and len(recorded) == len(new):
            for a, b in zip(recorded, new, strict=True):
                self.learn(a, b)

    def learn_bodies(self, recorded: bytes | None, new: bytes | None) -> None:
        a, b = json_values(recorded), json_values(new)
        if a is not None and b is not None and len(a) == len(b):
            for x, y in zip(a, b, strict=True):
                self.learn(x, y)

    def apply(self, text: str) -> str:
        """`text` with each recorded id (or a prefix of 12+ digits of one) replaced by the new id (same length)."""
        for old, new in self.ids.items():
            if old[:12] in text:
                text = re.sub(re.escape(old[:12]) + "[0-9a-f]*", lambda m, o=old, n=new: _swap(m[0], o, n), text)
        return text


def _swap(run: str, old: str, new: str) -> str:
    """A hex run starting with an id's first 12 digits: the new id if the run is a prefix of the old one."""
    return new[:len(run)] if old.startswith(run) else run


@dataclass
class Step:
    """One recorded exchange and its place in the schedule."""

    index: int
    recorded: RecordedExchange
    after: list[int] = field(default_factory=list)  # indexes that must be done first
    beside: list[int] = field(default_factory=list)  # later indexes that ran while this one was open


def schedule(exchanges: Sequence[RecordedExchange]) -> list[Step]:
    """Which exchange waits for which, from the recorded start and end times.

    Captures list exchanges as they ended (an events stream comes after the requests it watched), so
    the steps follow the recorded start times; `Step.index` stays the exchange's place in the capture.
    An exchange waits for every exchange that had ended before it started; `after` names only the ones
    that are not already waited for through another (the latest-started of them, and those that ended
    after it started), so a long capture gives short lists.
    """
    timed = all(ex.started is not None and ex.ended is not None for ex in exchanges)
    if not timed:
        return [Step(i, ex, after=[i - 1] if i else []) for i, ex in enumerate(exchanges)]
    steps = [Step(i, exchanges[i]) for i in sorted(range(len(exchanges)), key=lambda i: exchanges[i].started)]
    open_: list[tuple[float, int]] = []  # (end, position) of steps still running at the current start
    latest: Step | None = None  # the ended step that started last
    tail: list[Step] = []  # ended steps that ended after `latest` started: not waited for through it
    for n, step in enumerate(steps):
        start = step.recorded.started
        while open_ and open_[0][0] <= start:
            ended = steps[heapq.heappop(open_)[1]]
            if latest is None or ended.recorded.started >= latest.recorded.started:
                tail = [s for s in ([latest] if latest else []) + tail
                        if s.recorded.ended > ended.recorded.started]
                latest = ended
            elif ended.recorded.ended > latest.recorded.started:
                tail.append(ended)
        if latest is not None:
            step.after = sorted({latest.index, *(s.index for s in tail)})
        for _end, m in open_:
            steps[m].beside.append(step.index)
        heapq.heappush(open_, (step.recorded.ended, n))
    return steps


@dataclass
class Outgoing:
    method: str
    target: str
    headers: list[tuple[str, str]]
    body: bytes


def outgoing(ex: RecordedExchange, ids: IdMap) -> Outgoing:
    """The request to send for a recorded one: ids remapped, framing headers re-made."""
    target = ids.apply(ex.target)
    body = ex.request_body or b""
    if body and ("json" in (ex.request_header("content-type") or "").lower() or body.lstrip()[:1] in (b"{", b"[")):
        body = ids.apply(body.decode("utf-8", "surrogateescape")).encode("utf-8", "surrogateescape")
    chunked = any(k.lower() == "transfer-encoding" and "chunked" in v.lower() for k, v in ex.request_headers)
    headers = [(k, ids.apply(v) if k.lower() not in ("x-registry-auth", "x-registry-config") else v)
               for k, v in ex.request_headers if k.lower() not in _HOP]
    if not any(k.lower() == "host" for k, _ in headers):
        headers.insert(0, ("Host", "docker"))
    if chunked:
        headers.append(("Transfer-Encoding", "chunked"))
    elif body or ex.method.upper() in ("POST", "PUT"):
        headers.append(("Content-Length", str(len(body))))
    upgrade = [v for k, v in ex.request_headers if k.lower() == "connection" and "upgrade" in v.lower()]
    if upgrade:
        headers.append(("Connection", "Upgrade"))
    return Outgoing(ex.method, target, headers, body)


class _Cut(Exception):
    """The exchange was ended by us (the recorded client ended it), not by the daemon."""


class Sender:
    """Sends a capture's requests to a daemon, following the recording's order and concurrency."""

    def __init__(self, url: DaemonURL, *, timeout: float = 30.0, grace: float = 1.0,
                 on_answer: Callable[[RecordedExchange], None] | None = None):
        self.url = url
        self.timeout = timeout
        self.grace = grace
        self.ids = IdMap()
        self.on_answer = on_answer  # called as each exchange ends (a progress display)

    async def run(self, exchanges: Sequence[RecordedExchange]) -> list[RecordedExchange]:
        steps = schedule(exchanges)
        done = [asyncio.Event() for _ in steps]
        answers: list[RecordedExchange | None] = [None] * len(steps)

        async def one(step: Step) -> None:
            try:
                for j in step.after:
                    await done[j].wait()
                answers[step.index] = await self._send(step, [done[i] for i in step.beside])
            finally:
                done[step.index].set()
                if self.on_answer is not None and answers[step.index] is not None:
                    self.on_answer(answers[step.index])

        await asyncio.gather(*(one(s) for s in steps))
        return [a for a in answers if a is not None]  # in capture order

    async def _send(self, step: Step, beside: list[asyncio.Event]) -> RecordedExchange:
        rec = step.recorded
        out = outgoing(rec, self.ids)
        answer = RecordedExchange(id=rec.id, method=out.method, target=out.target,
                                  request_headers=out.headers, request_body=out.body, started=time.time())
        body = CappedBody(BODY_CAP)
        cut = asyncio.ensure_future(self._cut_when(rec, beside))
        try:
            async with asyncio.timeout(self.timeout):
                if rec.websocket is not None:
                    await self._websocket(rec, out, answer, cut)
                else:
                    await self._exchange(rec, out, answer, body, cut)
        except _Cut:
            answer.response_complete = False
            answer.error = "cut: the recorded client ended this exchange here"
        except TimeoutError:
            answer.response_complete = False
            answer.error = f"no complete answer within {self.timeout:g} s"
        except (OSError, h11.ProtocolError) as exc:
            answer.response_complete = False
            answer.error = f"{type(exc).__name__}: {exc}"
        finally:
            cut.cancel()
        answer.ended = time.time()
        if answer.status is not None:
            if answer.hijack is None and answer.websocket is None:
                answer.response_body = body.body()
            answer.truncated = body.truncated
            if rec.status is not None:
                self.ids.learn_bodies(rec.response_body, answer.response_body)
        return answer

    async def _cut_when(self, rec: RecordedExchange, beside: list[asyncio.Event]) -> None:
        """Returns when this exchange's response should be cut (if the daemon has not ended it)."""
        if beside:
            for event in beside:
                await event.wait()
            await asyncio.sleep(self.grace)
        elif not rec.response_complete and rec.started and rec.ended:
            await asyncio.sleep(max(rec.ended - rec.started, self.grace))
        else:
            await asyncio.Event().wait()  # never: read to the end (or the timeout)

    async def _exchange(self, rec: RecordedExchange, out: Outgoing, answer: RecordedExchange, body: CappedBody,
                        cut: asyncio.Future) -> None:
        reader, writer = await self.url.open_connection()
        conn = h11.Connection(h11.CLIENT, max_incomplete_event_size=1 << 20)
        try:
            writer.write(conn.send(h11.Request(method=out.method, target=out.target, headers=out.headers)))
            if out.body:
                writer.write(conn.send(h11.Data(data=out.body)))
            writer.write(conn.send(h11.EndOfMessage()))
            await writer.drain()
            while True:
                event = conn.next_event()
                if event is h11.NEED_DATA:
                    conn.receive_data(await _read_or_cut(reader, cut))
                elif isinstance(event, h11.InformationalResponse):
                    if event.status_code == 101:
                        _head(answer, event)
                        await self._hijack(rec, reader, writer, answer, body, conn.trailing_data[0], cut)
                        return
                elif isinstance(event, h11.Response):
                    _head(answer, event)
                    raw = media_type(answer.response_header("content-type")) in RAW_STREAM
                    if 200 <= event.status_code < 300 and (raw or rec.hijack is not None):
                        # a 200-style hijack: h11 reads it as a body until close; take the socket over
                        await self._hijack(rec, reader, writer, answer, body, b"".join(_drain(conn)), cut)
                        return
                elif isinstance(event, h11.Data):
                    body.add(event.data)
                elif isinstance(event, h11.EndOfMessage):
                    return
                elif isinstance(event, h11.ConnectionClosed):
                    answer.response_complete = False
                    answer.error = "the daemon closed the connection before the answer was complete"
                    return
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _hijack(self, rec: RecordedExchange, reader, writer, answer: RecordedExchange, got: CappedBody,
                      leftover: bytes, cut: asyncio.Future) -> None:
        """Bytes both ways after the head: the recorded client runs, paced by the daemon's bytes."""
        runs: list[tuple[bool, bytearray]] = []  # direction runs, in the order they passed
        answer.hijack = []
        answer.response_body = b""
        progress = asyncio.Event()

        def daemon_bytes(data: bytes) -> None:
            kept = got.room(data)  # counted and capped; the bytes go in `runs`
            if runs and not runs[-1][0]:
                runs[-1][1].extend(kept)
            elif kept:
                runs.append((False, bytearray(kept)))
            progress.set()

        async def client_side() -> None:
            expected = 0
            sent_any = False
            for from_client, data in rec.hijack or ():
                if not from_client:
                    expected += len(data)
                    continue
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(HIJACK_WAIT):
                        while got.size < expected:
                            progress.clear()
                            await progress.wait()
                writer.write(data)
                await writer.drain()
                runs.append((True, bytearray(data)))
                sent_any = True
            if sent_any and writer.can_write_eof():
                writer.write_eof()

        if leftover:
            daemon_bytes(leftover)
        pump = asyncio.ensure_future(client_side())
        try:
            while data := await _read_or_cut(reader, cut):
                daemon_bytes(data)
        finally:
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError, OSError):
                await pump
            answer.hijack = [(from_client, bytes(data)) for from_client, data in runs]


    async def _websocket(self, rec: RecordedExchange, out: Outgoing, answer: RecordedExchange,
                         cut: asyncio.Future) -> None:
        """A websocket attach: handshake, then the recorded client messages paced by the daemon's."""
        reader, writer = await self.url.open_connection()
        ws = WSConnection(ConnectionType.CLIENT)
        own = {"host", "upgrade", "connection", "content-length", "sec-websocket-key", "sec-websocket-version",
               "sec-websocket-extensions", "sec-websocket-accept"}
        host = header(out.headers, "host") or "docker"
        extra = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in out.headers if k.lower() not in own]
        messages: list[tuple[bool, bool, bytes]] = []
        got = asyncio.Event()
        parts: list = []

        def take(data: bytes) -> bool:
            """Feed wsproto; False once the daemon has closed (or refused)."""
            ws.receive_data(data or None)
            alive = bool(data)
            for event in ws.events():
                if isinstance(event, ws_events.AcceptConnection):
                    answer.status, answer.reason = 101, "Switching Protocols"
                    answer.response_headers = [(k.decode("latin-1"), v.decode("latin-1"))
                                               for k, v in event.extra_headers]
                elif isinstance(event, ws_events.RejectConnection):
                    answer.status, answer.reason = event.status_code, ""
                    answer.response_headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in event.headers]
                    answer.response_body = b""
                elif isinstance(event, ws_events.RejectData):
                    answer.response_body = (answer.response_body or b"") + bytes(event.data)
                    alive = alive and not event.body_finished
                elif isinstance(event, (ws_events.TextMessage, ws_events.BytesMessage)):
                    parts.append(event.data)
                    if event.message_finished:
                        text = isinstance(event, ws_events.TextMessage)
                        joined = "".join(parts).encode() if text else b"".join(parts)
                        parts.clear()
                        messages.append((False, text, joined))
                        got.set()
                elif isinstance(event, ws_events.CloseConnection):
                    with contextlib.suppress(h11.LocalProtocolError, Exception):
                        writer.write(ws.send(event.response()))
                    alive = False
                elif isinstance(event, ws_events.Ping):
                    writer.write(ws.send(event.response()))
            return alive

        async def client_side() -> None:
            expected = 0
            for from_client, is_text, payload in rec.websocket or ():
                if not from_client:
                    expected += 1
                    continue
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(HIJACK_WAIT):
                        while sum(1 for m in messages if not m[0]) < expected:
                            got.clear()
                            await got.wait()
                data = payload.decode("utf-8", "replace") if is_text else payload
                writer.write(ws.send(ws_events.Message(data=data)))
                await writer.drain()
                messages.append((True, is_text, payload))

        answer.websocket = messages
        pump = None
        try:
            writer.write(ws.send(ws_events.Request(host=host, target=out.target, extra_headers=extra)))
            await writer.drain()
            while answer.status is None:
                if not take(await _read_or_cut(reader, cut)):
                    break
            if answer.status == 101:
                pump = asyncio.ensure_future(client_side())
                while take(await _read_or_cut(reader, cut)):
                    pass
        finally:
            if pump is not None:
                pump.cancel()
                with contextlib.suppress(asyncio.CancelledError, OSError):
                    await pump
            if answer.status != 101:
                answer.websocket = None
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


def _head(answer: RecordedExchange, event) -> None:
    answer.status = event.status_code
    answer.reason = event.reason.decode("latin-1")
    answer.response_headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in event.headers.raw_items()]


def _drain(conn: h11.Connection) -> Iterable[bytes]:
    """Body bytes h11 already holds after a head (a raw stream read as a body until close)."""
    while True:
        event = conn.next_event()
        if isinstance(event, h11.Data):
            yield bytes(event.data)
        else:
            return


async def _read_or_cut(reader: asyncio.StreamReader, cut_task: asyncio.Future) -> bytes:
    read = asyncio.ensure_future(reader.read(1 << 16))
    finished, _ = await asyncio.wait({read, cut_task}, return_when=asyncio.FIRST_COMPLETED)
    if read in finished:
        return read.result()
    read.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await read
    raise _Cut
