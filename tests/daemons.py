"""Python side of scripts/daemons.sh: start/stop the private dockerd and podman service, talk to them.

Used by tests/conftest.py; usable from any test: `from tests.daemons import uds_client`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
DAEMONS_SH = REPO / "scripts" / "daemons.sh"
ENV_VARS = {"dockerd": "CONFORMANCE_DOCKERD", "podman": "CONFORMANCE_PODMAN"}
IMAGE = "busybox:latest"

# Executables each daemon needs (scripts/setup.sh installs them).
_REQUIRED = {
    "dockerd": ["dockerd", "containerd", "runc", "curl", "docker"],
    "podman": ["podman", "conmon", "runc", "curl", "docker"],
}


class DaemonError(RuntimeError):
    pass


def socket_path(url: str) -> str:
    """`unix:///run/x.sock` -> `/run/x.sock` (a bare path is returned as is)."""
    if url.startswith("unix://"):
        return url[len("unix://") :]
    if url.startswith("/"):
        return url
    raise ValueError(f"not a unix socket URL: {url!r}")


def uds_client(url: str, timeout: float = 60.0) -> httpx.Client:
    """An httpx client on the daemon's Unix socket; use paths such as `/v1.14/_ping`."""
    return httpx.Client(transport=httpx.HTTPTransport(uds=socket_path(url)), base_url="http://docker", timeout=timeout)


def ping(url: str, timeout: float = 5.0) -> bool:
    try:
        with uds_client(url, timeout=timeout) as c:
            r = c.get("/_ping")
            return r.status_code == 200 and r.text == "OK"
    except (httpx.HTTPError, OSError, ValueError):
        return False


def missing_requirements(which: str) -> str | None:
    """Why `which` cannot be started here, or None."""
    if os.geteuid() != 0:
        return "the daemons need root"
    missing = [t for t in _REQUIRED[which] if shutil.which(t) is None]
    if not os.path.exists("/bin/busybox"):
        missing.append("/bin/busybox (busybox-static)")
    if missing:
        return "missing " + ", ".join(missing) + " (scripts/setup.sh installs them)"
    return None


def _run(args: list[str], state_dir: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, CONFORMANCE_STATE_DIR=str(state_dir))
    return subprocess.run(
        ["bash", str(DAEMONS_SH), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def start(which: str, state_dir: Path, timeout: float = 180) -> str:
    """Start (or reuse) `which` under state_dir with busybox:latest imported; return its unix:// URL."""
    try:
        p = _run(["start", which], state_dir, timeout)
    except subprocess.TimeoutExpired as e:
        raise DaemonError(f"daemons.sh start {which} timed out after {timeout}s") from e
    if p.returncode != 0:
        raise DaemonError(f"daemons.sh start {which} failed (exit {p.returncode}):\n{p.stderr[-4000:]}")
    var = ENV_VARS[which]
    for line in p.stdout.splitlines():
        if line.startswith(f"export {var}="):
            return line.split("=", 1)[1]
    raise DaemonError(f"daemons.sh start {which} printed no {var}:\n{p.stdout}\n{p.stderr[-4000:]}")


def clean(state_dir: Path, timeout: float = 180) -> None:
    """Stop both daemons of state_dir and delete it."""
    p = _run(["clean"], state_dir, timeout)
    if p.returncode != 0:
        raise DaemonError(f"daemons.sh clean failed (exit {p.returncode}):\n{p.stderr[-4000:]}")


def remove_resources(url: str, prefix: str) -> list[str]:
    """Force-remove the containers whose name, and the images whose tag, starts with prefix."""
    removed: list[str] = []
    if not prefix:
        return removed
    with uds_client(url, timeout=60) as c:
        r = c.get("/v1.41/containers/json", params={"all": "1"})
        if r.status_code == 200:
            for ctr in r.json() or []:
                names = [n.lstrip("/") for n in (ctr.get("Names") or [])]
                if any(n.startswith(prefix) for n in names):
                    d = c.delete(f"/v1.41/containers/{ctr['Id']}", params={"force": "1", "v": "1"})
                    if d.status_code in (200, 204, 404):
                        removed.append(names[0])
        r = c.get("/v1.41/images/json")
        if r.status_code == 200:
            for img in r.json() or []:
                for tag in img.get("RepoTags") or []:
                    short = tag.rsplit("/", 1)[-1]
                    if tag.startswith(prefix) or short.startswith(prefix):
                        c.delete(f"/v1.41/images/{tag}", params={"force": "1"})
                        removed.append(tag)
    return removed
