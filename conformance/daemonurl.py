"""Daemon addresses: the one place that parses `unix://`, `tcp://` and `http://` URLs."""

from __future__ import annotations

import asyncio
import ipaddress
import os
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock"


class DaemonURLError(ValueError):
    """A daemon address that is not unix:///path, tcp://host:port or http://host:port."""


@dataclass(frozen=True)
class DaemonURL:
    """Where a daemon (or our proxy) listens: a Unix socket path or a TCP host and port."""

    path: str | None = None  # Unix socket path
    host: str | None = None
    port: int | None = None

    @property
    def is_unix(self) -> bool:
        return self.path is not None

    @property
    def is_loopback(self) -> bool:
        """True for Unix sockets and loopback TCP addresses."""
        if self.is_unix:
            return True
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host or "").is_loopback
        except ValueError:
            return False

    def __str__(self) -> str:
        if self.is_unix:
            return f"unix://{self.path}"
        host = f"[{self.host}]" if self.host and ":" in self.host else self.host
        return f"tcp://{host}:{self.port}"

    @property
    def http_base(self) -> str:
        """A base URL for HTTP clients (httpx with `uds=` for Unix sockets)."""
        if self.is_unix:
            return "http://docker"
        host = f"[{self.host}]" if self.host and ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def open_socket(self, timeout: float | None = None) -> socket.socket:
        """A connected blocking socket (for tests, benchmarks and simple clients)."""
        if self.is_unix:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(timeout)
            s.connect(self.path)
            return s
        return socket.create_connection((self.host, self.port), timeout=timeout)

    async def open_connection(self, limit: int = 1 << 16) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self.is_unix:
            return await asyncio.open_unix_connection(self.path, limit=limit)
        return await asyncio.open_connection(self.host, self.port, limit=limit)


def parse_daemon_url(text: str, default_port: int = 2375) -> DaemonURL:
    """Parse a DOCKER_HOST-style address: unix:///path, tcp://host:port, http://host[:port]."""
    text = text.strip()
    if not text:
        raise DaemonURLError("empty daemon address")
    if text.startswith("/"):
        return DaemonURL(path=text)
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme == "unix":
        path = (parts.netloc + parts.path) if parts.netloc else parts.path
        if not path:
            raise DaemonURLError(f"{text!r}: no socket path")
        return DaemonURL(path=path)
    if scheme in ("tcp", "http"):
        if not parts.hostname:
            raise DaemonURLError(f"{text!r}: no host")
        if parts.path not in ("", "/"):
            raise DaemonURLError(f"{text!r}: a path is not allowed in a daemon address")
        try:
            port = parts.port
        except ValueError as exc:
            raise DaemonURLError(f"{text!r}: {exc}") from None
        return DaemonURL(host=parts.hostname, port=port if port is not None else
                         (80 if scheme == "http" else default_port))
    raise DaemonURLError(f"{text!r}: expected unix:///path, tcp://host:port or http://host:port")


def default_upstream(environ: dict[str, str] | None = None) -> str:
    """$DOCKER_HOST, else the standard daemon socket."""
    env = os.environ if environ is None else environ
    return env.get("DOCKER_HOST") or DEFAULT_DOCKER_HOST
