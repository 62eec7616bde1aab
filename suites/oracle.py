"""The reference daemon as a differential oracle (`--v114-oracle reference`).

Every request the suite's client sends to the target (generated ones, state-machine steps, setup) is sent
again, byte for byte, to a fresh embedded reference daemon with Docker 1.2.0's semantics; ids the target
handed out are replaced by the reference's own for the same resources. Both answers go through the
comparison engine of `replay send` (conformance/replay/diff.py): status, content type, framing, error-body
form and JSON shape. A difference is recorded on the exchange, labelled `reference-simplifies` when the
request asked for something the reference daemon only records (restart policies, binds, volumes, devices,
capabilities): such a difference says nothing about the target.

Hijacked attach sessions are mirrored too: the reference gets the same attach, the same stdin bytes and
the same half-close, and its stream is compared with the target's (status, framing, frames and their
streams). A session the target still held open when the suite stopped reading is compared as far as it
went. Websocket attach sessions are mirrored the same way (their messages compared by type and bytes).
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass

import httpx

from conformance.capture import RecordedExchange
from conformance.replay.diff import compare

# Request fields the reference daemon accepts and shows back but does not act on.
REFERENCE_SIMPLIFIES = frozenset({"RestartPolicy", "Binds", "Volumes", "VolumesFrom", "Devices", "Privileged",
                                  "CapAdd", "CapDrop", "LxcConf", "Dns", "DnsSearch", "Memory", "MemorySwap",
                                  "CpuShares", "Cpuset", "PortBindings", "PublishAllPorts", "Links"})
_SHORT_OR_FULL_ID = re.compile(r"\b[0-9a-f]{64}\b|\b[0-9a-f]{12}\b")
READ_TIMEOUT = 0.3  # streams (events, follow) are read this long on the oracle's side too


def _timestamped(target: str) -> bool:
    from urllib.parse import parse_qsl, urlsplit

    from conformance.streams.values import parse_bool

    return any(k == "timestamps" and parse_bool(v) for k, v in parse_qsl(urlsplit(target).query,
                                                                         keep_blank_values=True))


@dataclass
class OracleAnswer:
    differences: list[dict]
    label: str  # "same", "differs", or "reference-simplifies" (the difference says nothing of the target)


class ReferenceOracle:
    """A second, fresh reference daemon; `answer` sends it a request the target got and compares."""

    def __init__(self) -> None:
        from conformance.daemon import DaemonThread
        from conformance.daemonurl import parse_daemon_url

        self._thread = DaemonThread(())
        url = self._thread.start()
        self._url = parse_daemon_url(url)
        self._http = httpx.Client(transport=httpx.HTTPTransport(uds=url[len("unix://"):]), base_url="http://docker",
                                  timeout=httpx.Timeout(30, read=READ_TIMEOUT))
        self._ids: dict[str, str] = {}  # target id -> reference id
        self._lock = threading.Lock()
        self.exchanges = 0
        self.differing = 0

    def close(self) -> None:
        self._http.close()
        self._thread.stop()

    def _translate(self, text: str) -> str:
        return _SHORT_OR_FULL_ID.sub(lambda m: self._ids.get(m.group(0), m.group(0)), text)

    def _translate_body(self, body: bytes | None) -> bytes | None:
        """Ids in a JSON body are translated; other bodies (tar) go as they are."""
        if not body or body[:1] not in (b"{", b"["):
            return body
        return self._translate(body.decode("utf-8", "surrogateescape")).encode("utf-8", "surrogateescape")

    def _learn(self, target_body: bytes, reference_body: bytes) -> None:
        """Ids the two daemons gave the same resource (create, commit: {"Id": ...})."""
        try:
            a, b = json.loads(target_body), json.loads(reference_body)
        except ValueError:
            return
        if all(isinstance(x, dict) and isinstance(x.get("Id"), str) for x in (a, b)):
            full = a["Id"].removeprefix("sha256:")
            self._ids[full], self._ids[full[:12]] = b["Id"], b["Id"][:12]

    def answer(self, method: str, target: str, headers: list[tuple[str, str]], body: bytes | None,
               got: RecordedExchange, sent_keys: list[str], stream: bool) -> OracleAnswer:
        """`stream`: the route streams (events, logs, pulls), so its answer is read only briefly."""
        with self._lock:
            path = self._translate(target)
            data = self._translate_body(body)
            timeout = httpx.Timeout(30, read=READ_TIMEOUT) if stream else httpx.Timeout(60)
            hdrs = [(k, v) for k, v in headers if k.lower() not in ("host", "content-length")]
            ref = RecordedExchange(id=got.id, method=method, target=path, request_headers=headers, request_body=data)
            try:
                with self._http.stream(method, path, content=data, headers=hdrs, timeout=timeout) as r:
                    ref.status, ref.reason = r.status_code, r.reason_phrase
                    ref.response_headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in r.headers.raw]
                    chunks = []
                    try:
                        for chunk in r.iter_raw():
                            chunks.append(chunk)
                    except httpx.ReadTimeout:
                        ref.cut, ref.response_complete, ref.error = "client", False, "cut: read briefly"
                    ref.response_body = b"".join(chunks)
            except httpx.ReadTimeout:
                ref.error = "no answer within the read timeout (a stream with nothing to send yet)"
            except httpx.HTTPError as exc:
                ref.error = repr(exc)
            if got.truncated and ref.response_body is not None:  # compare as far as the target's was kept
                ref.response_body, ref.truncated = ref.response_body[:len(got.response_body or b"")], True
            if got.status in (200, 201) and ref.status in (200, 201):
                self._learn(got.response_body or b"", ref.response_body or b"")
            return self._judge(ref, got, target, sent_keys)

    def _judge(self, ref: RecordedExchange, got: RecordedExchange, target: str, sent_keys: list[str]) -> OracleAnswer:
        found = [d.to_dict() for d in compare(ref, got)]
        self.exchanges += 1
        if found:
            self.differing += 1
        simplified = bool(REFERENCE_SIMPLIFIES & set(sent_keys))
        if found and _timestamped(target) and all(d["kind"] in ("stream", "frames") for d in found):
            found = []  # logs with timestamps: the bytes carry each daemon's own clock
        label = "same" if not found else "reference-simplifies" if simplified else "differs"
        return OracleAnswer(found, label)

    def answer_attach(self, target: str, headers: list[tuple[str, str]], stdin: list[bytes], closed_stdin: bool,
                      got: RecordedExchange, sent_keys: list[str]) -> OracleAnswer:
        """A hijacked attach the target took: the same request, stdin and half-close to the reference, its
        stream read to the end (or, where the target's was still open, briefly), and the two compared."""
        import socket

        import h11

        from conformance.http import ResponseReader

        from .client import read_socket

        with self._lock:
            path = self._translate(target)
            ref = RecordedExchange(id=got.id, method="POST", target=path, request_headers=headers, request_body=b"")
            try:
                sock = self._url.open_socket(timeout=10)
            except OSError as exc:
                ref.error = repr(exc)
                return self._judge(ref, got, target, sent_keys)
            try:
                reader = ResponseReader(sock, "POST", path, headers)
                reader.send_request()
                head = reader.read_head()
                ref.status, ref.reason, ref.response_headers = head.status, head.reason, head.headers
                if head.status not in (101, 200):
                    ref.response_body = b"".join(reader.body())
                    ref.response_complete = reader.complete
                else:
                    out = bytearray(reader.leftover())
                    for data in stdin:
                        sock.sendall(data)
                    if closed_stdin:
                        sock.shutdown(socket.SHUT_WR)
                    # the target's stream ended: read this one to its end; else only as long as a stream
                    ended = read_socket(sock, out.extend, 10.0 if got.response_complete else READ_TIMEOUT * 3)
                    ref.response_complete = ended == "closed"
                    if not got.response_complete:
                        ref.response_complete, ref.error = False, "cut: read briefly"
                        out = out[:len(b"".join(d for c, d in got.hijack or () if not c))]
                    ref.hijack = [(True, d) for d in stdin] + [(False, bytes(out))]
            except (OSError, h11.RemoteProtocolError) as exc:
                ref.error = ref.error or repr(exc)
            finally:
                sock.close()
            return self._judge(ref, got, target, sent_keys)

    def answer_websocket(self, target: str, got: RecordedExchange, sent_keys: list[str],
                         timeout: float) -> OracleAnswer:
        """A websocket attach the target answered: the same session on the reference, read through the
        suite's own websocket loop, and the two compared."""
        from .client import WEBSOCKET_HEADERS, websocket_session

        with self._lock:
            path = self._translate(target)
            ref = RecordedExchange(id=got.id, method="GET", target=path, request_headers=WEBSOCKET_HEADERS,
                                   request_body=b"")
            messages: list[tuple[bool, bool, bytes]] = []
            body = b""
            try:
                sock = self._url.open_socket(timeout=10)
                try:
                    for ev in websocket_session(sock, path, timeout):
                        if ev[0] == "accept":
                            ref.status, ref.response_headers = 101, ev[1]
                        elif ev[0] == "reject":
                            ref.status, ref.response_headers = ev[1], ev[2]
                        elif ev[0] == "body":
                            body += ev[1]
                        elif ev[0] == "message":
                            messages.append((False, ev[1], ev[2]))
                        else:
                            ref.response_complete = ev[1]
                finally:
                    sock.close()
            except OSError as exc:
                ref.error = repr(exc)
            if ref.status == 101:
                ref.websocket = messages
            elif ref.status is not None:
                ref.response_body = body
            return self._judge(ref, got, target, sent_keys)
