"""mitmproxy addon: judge every Docker API exchange against v1.14 as it passes.

For users of stock mitmproxy (mitmdump, mitmweb):
    mitmdump -s proxy_addons/docker_conformance.py --mode reverse:http://127.0.0.1:2375 \
        --set conformance_log=exchanges.jsonl

A thin adapter: hooks become checker calls through `conformance.proxy.session` (the same
`LiveExchange` the `conformance proxy` relay drives); there is no rule logic here. Configured only
through mitmproxy options: state is made in `__init__`, options are checked and read in `configure`
(an ignore pattern matching no rule, or an output in a missing directory, is an OptionsError). Bodies
without a Content-Length (logs, events, export, pulls) and large ones are streamed chunk by chunk,
never buffered. Any 101 that is not a websocket switch (`Upgrade: tcp` attach and exec start) is
seen through the TCP hooks. Each flow's comment and mark carry its findings for mitmweb. Here
mitmproxy carries the bytes, with its limits (no v1.14 200-style attach, a half-closed client's
stream closed); `conformance proxy` relays them itself and has neither.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from mitmproxy import ctx, http, tcp
from mitmproxy.exceptions import OptionsError

from conformance.proxy.session import LiveExchange, ProxySession

logger = logging.getLogger("conformance.proxy")

STREAM_ABOVE = 1 << 20  # bodies with a larger (or no) Content-Length are streamed
_CLIENT_GONE = ("client disconnected", "client closed")
_OPTIONS = frozenset({"conformance_log", "conformance_ignore", "conformance_record", "conformance_console"})


def _headers(h: http.Headers) -> list[tuple[str, str]]:
    return [(k, v) for k, v in h.items(multi=True)]


def _should_stream(headers: http.Headers) -> bool:
    length = headers.get("content-length")
    if length is None:
        return True
    try:
        return int(length) > STREAM_ABOVE
    except ValueError:
        return True


class DockerConformance:
    """Feeds each HTTP flow, websocket message and upgraded TCP stream to the conformance checker."""

    def __init__(self) -> None:
        self.session: ProxySession | None = None
        self.recorder = None
        self._console = None
        self._live: dict[str, LiveExchange] = {}  # flow id -> exchange
        self._upgraded: dict[str, LiveExchange] = {}  # client connection id -> exchange awaiting tcp_start

    # -- options ---------------------------------------------------------------------------------
    def load(self, loader) -> None:
        loader.add_option("conformance_log", str, "", "Write one JSON line per exchange to this file.")
        loader.add_option("conformance_ignore", Sequence[str], [], "Rule ids (or globs) not to report.")
        loader.add_option("conformance_record", str, "", "Write every exchange as mitmproxy flows here.")
        loader.add_option("conformance_console", bool, True, "Print a line per exchange and a summary.")

    def configure(self, updated) -> None:
        if self.session is not None and not updated & _OPTIONS:
            return
        from conformance.proxy.console import ConsoleReport
        from conformance.proxy.recorder import FlowRecorder

        opts = ctx.options
        check_options(opts.conformance_ignore, opts.conformance_log, opts.conformance_record)
        self.done()
        self.recorder = FlowRecorder(opts.conformance_record) if opts.conformance_record else None
        self.session = ProxySession(ignore=opts.conformance_ignore, log_path=opts.conformance_log or None)
        if opts.conformance_console:
            self._console = ConsoleReport()
            self.session.sinks.append(self._console.exchange)
        if self.recorder is not None:
            self.recorder.attach(self.session)

    def done(self) -> None:
        if self.session is None:
            return
        if self._console is not None:
            self._console.summary(self.session.stats)
        self.session.close()
        if self.recorder is not None:
            self.recorder.close()
        self.session = self.recorder = self._console = None

    # -- HTTP ----------------------------------------------------------------------------------
    def requestheaders(self, flow: http.HTTPFlow) -> None:
        req = flow.request
        assert self.session is not None, "configure() makes the session"
        ex = self.session.begin(req.method, req.path, _headers(req.headers))
        ex.flow = flow
        self._live[flow.id] = ex
        if _should_stream(req.headers) and ("chunked" in req.headers.get("transfer-encoding", "").lower()
                                            or req.headers.get("content-length")):
            def request_chunk(data: bytes) -> bytes:
                if data:
                    ex.request_body(data)
                else:
                    ex.request_end()
                return data
            req.stream = request_chunk

    def request(self, flow: http.HTTPFlow) -> None:
        ex = self._live.get(flow.id)
        if ex is None or flow.request.stream:
            return
        body = flow.request.raw_content
        if body:
            ex.request_body(body)
        ex.request_end(body)

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        ex = self._live.get(flow.id)
        resp = flow.response
        if ex is None or resp is None:
            return
        ex.response_head(resp.status_code, resp.reason, _headers(resp.headers))
        if resp.status_code != 101 and (resp.status_code in (204, 304) or _should_stream(resp.headers)):
            feed = ex.response_body

            def response_chunk(data: bytes) -> bytes:
                if data:
                    feed(data)
                return data
            resp.stream = response_chunk

    def response(self, flow: http.HTTPFlow) -> None:
        ex = self._live.get(flow.id)
        resp = flow.response
        if ex is None or resp is None:
            return
        if resp.status_code == 101:
            if flow.websocket is None:
                self._upgraded[flow.client_conn.id] = self._live.pop(flow.id)
            return  # ends with websocket_end / tcp_end
        if not resp.stream:
            body = resp.raw_content
            if body:
                ex.response_body(body)
        ex.response_end(True)
        self._end(flow, ex)

    def error(self, flow: http.HTTPFlow) -> None:
        ex = self._live.get(flow.id)
        if ex is None:
            return
        msg = flow.error.msg if flow.error else "unknown error"
        client_gone = any(s in msg.lower() for s in _CLIENT_GONE)
        status = None if (flow.response is not None or client_gone) else 502
        if client_gone:
            ex.abandon()
        self._end(flow, ex, error=msg, status=status)

    def _end(self, flow: http.HTTPFlow, ex: LiveExchange, error: str | None = None,
             status: int | None = None) -> None:
        self._live.pop(flow.id, None)
        ex.finish(error=error, status=status)
        _show_verdict(flow, ex)

    # -- websocket attach ----------------------------------------------------------------------
    def websocket_message(self, flow: http.HTTPFlow) -> None:
        ex = self._live.get(flow.id)
        ws = flow.websocket
        if ex is None or ws is None or not ws.messages:
            return
        for msg in ws.messages:
            ex.websocket_message(msg.from_client, msg.is_text, msg.content, msg)
        # The layer keeps its own reference; we must not keep a growing list. With --record the
        # exchange keeps the messages (capped) and the recorder puts them back on the flow it writes.
        ws.messages.clear()

    def websocket_end(self, flow: http.HTTPFlow) -> None:
        ex = self._live.get(flow.id)
        if ex is None:
            return
        ex.hijack_end()
        err = flow.error.msg if flow.error else None
        self._end(flow, ex, error=err)

    # -- `Upgrade: tcp` attach under plain mitmdump --------------------------------------------
    def tcp_start(self, flow: tcp.TCPFlow) -> None:
        ex = self._upgraded.pop(flow.client_conn.id, None)
        if ex is not None:
            self._live[flow.id] = ex

    def tcp_message(self, flow: tcp.TCPFlow) -> None:
        ex = self._live.get(flow.id)
        if ex is None:
            return
        for msg in flow.messages:
            (ex.hijack_client if msg.from_client else ex.hijack_daemon)(msg.content)
        flow.messages.clear()  # a long attach must not grow the proxy

    def tcp_end(self, flow: tcp.TCPFlow) -> None:
        ex = self._live.pop(flow.id, None)
        if ex is not None:
            ex.hijack_end()
            ex.finish(error=flow.error.msg if flow.error else None)

    tcp_error = tcp_end


def check_options(ignore: Sequence[str], log: str, record: str) -> None:
    """Refuse options that would silently do nothing: an ignore pattern no rule matches, an output file
    whose directory does not exist (mitmproxy shows the OptionsError and keeps the old settings)."""
    import fnmatch
    import os

    from conformance.spec import RULES

    for pattern in ignore:
        if not any(rule == pattern or fnmatch.fnmatchcase(rule, pattern) for rule in RULES):
            raise OptionsError(f"conformance_ignore: {pattern!r} matches no rule id (see `conformance rules`)")
    for name, path in (("conformance_log", log), ("conformance_record", record)):
        if path and not os.path.isdir(os.path.dirname(os.path.abspath(path))):
            raise OptionsError(f"{name}: the directory of {path!r} does not exist")


def _show_verdict(flow: http.HTTPFlow, ex: LiveExchange) -> None:
    """mitmweb and mitmdump show the findings on the flow: its comment lists them, its mark is the
    worst severity's (before mitmdump's own `-w` writes the flow: script hooks run first)."""
    from conformance.proxy.recorder import verdict

    line = ex.log_line()
    flow.comment, flow.marked = verdict(line["findings"], line.get("error"))


addons = [DockerConformance()]
