"""Is a daemon there? One docker-like line when it is not, decided within a few seconds."""

from __future__ import annotations

import httpx

from ..daemonurl import DaemonURL

CONNECT_TIMEOUT = 3.0  # seconds for the socket connect and again for the /_ping answer


def _reason(exc: BaseException) -> str:
    """`no such file or directory`, `connection refused`, ... from the OSError behind `exc`."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError) and seen.strerror:
            return seen.strerror[0].lower() + seen.strerror[1:]
        if isinstance(seen, TimeoutError | httpx.TimeoutException):
            return f"no answer within {CONNECT_TIMEOUT:g} s"
        seen = seen.__cause__ or seen.__context__
    return str(exc) or type(exc).__name__


def cannot_connect(url: DaemonURL, timeout: float = CONNECT_TIMEOUT, *, ping: bool = True) -> str | None:
    """None when an HTTP server answers GET /_ping at `url` (with `ping=False`: when a connection can be
    opened, so the daemon sees no request of ours); else "cannot connect to the daemon at URL: why"."""
    try:
        url.open_socket(timeout=timeout).close()
    except OSError as exc:
        return f"cannot connect to the daemon at {url}: {_reason(exc)}"
    if not ping:
        return None
    transport = httpx.HTTPTransport(uds=url.path) if url.is_unix else httpx.HTTPTransport()
    try:
        with httpx.Client(transport=transport, base_url=url.http_base, timeout=timeout) as http:
            http.get("/_ping")
    except httpx.HTTPError as exc:
        return f"cannot connect to the daemon at {url}: {_reason(exc)}"
    return None
