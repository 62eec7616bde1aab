"""Which daemon the suite runs against: the one place that picks the default target.

Here, not in suites/, because `conformance suite` (conformance/suite/command.py) needs it before pytest
starts, and nothing under conformance/ imports the test package (tests/test_boundaries.py)."""

from __future__ import annotations

import os
from dataclasses import dataclass

import httpx

from conformance.daemonurl import DaemonURL, parse_daemon_url

REFERENCE = "reference"


@dataclass(frozen=True)
class TargetChoice:
    """A daemon address, or `reference` (start the embedded reference daemon)."""

    spec: str  # "reference" or a daemon URL

    @property
    def is_reference(self) -> bool:
        return self.spec == REFERENCE


def choose_target(daemon_option: str | None, environ: dict[str, str] | None = None) -> TargetChoice:
    """--daemon wins; else $DOCKER_HOST when set; else the embedded reference daemon."""
    env = os.environ if environ is None else environ
    spec = daemon_option or env.get("DOCKER_HOST") or REFERENCE
    if spec != REFERENCE:
        parse_daemon_url(spec)  # fail early on a malformed address
    return TargetChoice(spec)


class ReferenceTarget:
    """The embedded reference daemon on a temporary Unix socket, for the length of a run."""

    def __init__(self, deviations: tuple[str, ...] = ()):
        from conformance.daemon import DaemonThread

        self._thread = DaemonThread(deviations)
        self.url = self._thread.start()

    def stop(self) -> None:
        self._thread.stop()


def identify(url: DaemonURL, is_reference: bool) -> dict:
    """Name and version of the daemon behind `url`, from /version (asked outside the checker)."""
    info: dict = {"url": str(url), "name": REFERENCE if is_reference else "daemon"}
    transport = httpx.HTTPTransport(uds=url.path) if url.is_unix else httpx.HTTPTransport()
    try:
        with httpx.Client(transport=transport, base_url=url.http_base, timeout=10) as http:
            r = http.get("/v1.14/version")
            server = r.headers.get("server", "")
            body = r.json() if r.status_code == 200 else {}
    except (httpx.HTTPError, ValueError) as exc:
        info["error"] = repr(exc)
        return info
    info["version"] = body.get("Version")
    info["api_version"] = body.get("ApiVersion")
    info["server_header"] = server
    components = " ".join(str(c.get("Name", "")) for c in body.get("Components") or [])
    if not is_reference:
        if "podman" in (components + server).lower():
            info["name"] = "podman"
        elif "docker" in server.lower() or "Engine" in components:
            info["name"] = "dockerd"
    return info
