"""The suite's client as a driver of the checker: what it feeds when the daemon fails it."""

from __future__ import annotations

import socket
import threading

import httpx
import pytest

from conformance.checker import Checker
from conformance.daemonurl import parse_daemon_url
from suites.client import DaemonClient, ExchangeLog


def _closes_without_answering(path: str) -> threading.Thread:
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(1)

    def serve() -> None:
        conn, _ = srv.accept()
        conn.recv(65536)  # the request, then nothing: the connection closes before any head
        conn.close()
        srv.close()

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    return t


def test_a_transport_error_before_the_head_is_a_cut_exchange_not_a_checker_misuse(tmp_path):
    """Seen against podman's build: a read that failed before the head made the client feed `response end`
    to an exchange without a response, and the checker's misuse error replaced the real failure."""
    path = str(tmp_path / "d.sock")
    server = _closes_without_answering(path)
    log = ExchangeLog()
    api = DaemonClient(parse_daemon_url(f"unix://{path}"), Checker(), log)
    try:
        with pytest.raises(httpx.HTTPError):
            api.post("/build", {"t": "x"}, body=b"not a tar")
    finally:
        api.close()
        server.join(5)
    (record,) = log.records
    assert record.status is None and record.note.startswith("transport error")
