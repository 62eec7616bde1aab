"""Record a scripted Docker Remote API v1.14 session through mitmdump, as a flow file and a HAR file.

    rec = record_session("unix:///tmp/conformance-ci/dockerd/docker.sock", tmp_path)
    rec.flows_path  # mitmproxy flow file (`-w`), read with mitmproxy.io.FlowReader
    rec.har_path    # HAR 1.2 (mitmproxy 11's `hardump` option, written when mitmdump shuts down)
    rec.exchanges   # [(method, path-with-query, status), ...] in the order sent

Chain: httpx -> mitmdump (reverse mode, 127.0.0.1:P) -> socat (127.0.0.1:B) -> the daemon's Unix socket.
mitmproxy only speaks TCP, hence the socat bridge (`-t 3600`: socat's default 0.5 s close after one
side's EOF cuts streams short). mitmdump is stopped with SIGINT, so the flow file is complete and the
`done` hook writes the HAR.

The session (all under /v1.14/) is the one in SCRIPT below; container names start with `prefix`.
It does not assert anything about the answers (dockerd 20.10 and podman differ; the checker judges them),
except that both containers are created, since the rest of the script needs their ids.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.daemons import socket_path, uds_client

API = "/v1.14"
IMAGE = "busybox"
MITMDUMP = Path(sys.executable).with_name("mitmdump")
if not MITMDUMP.exists():
    MITMDUMP = Path(__file__).resolve().parents[1] / ".venv" / "bin" / "mitmdump"


@dataclass
class Recording:
    flows_path: Path
    har_path: Path
    exchanges: list[tuple[str, str, int]] = field(default_factory=list)
    container_ids: dict[str, str] = field(default_factory=dict)  # "a" (echo), "b" (sleep 30)
    prefix: str = ""
    mitmdump_log: Path | None = None
    seconds: float = 0.0


class RecordingError(RuntimeError):
    pass


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_port(port: int, proc: subprocess.Popen, what: str, log: Path | None, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
            raise RecordingError(f"{what} exited with {proc.returncode} before listening on {port}\n{tail}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RecordingError(f"{what} not listening on 127.0.0.1:{port} after {timeout}s")


def _stop(proc: subprocess.Popen | None, sig: int = signal.SIGTERM, timeout: float = 20) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def _run_script(client: httpx.Client, prefix: str, rec: Recording) -> None:
    def send(method: str, path: str, **kw) -> httpx.Response:
        r = client.request(method, API + path, **kw)
        r.read()
        full = r.request.url.raw_path.decode("ascii")
        rec.exchanges.append((method, full, r.status_code))
        return r

    def create(name: str, cmd: list[str]) -> str:
        body = {
            "Image": IMAGE,
            "Cmd": cmd,
            "AttachStdout": True,
            "AttachStderr": True,
            # dockerd 20.10 takes the HostConfig at create for /v1.14/ too; the private dockerd has no bridge.
            "HostConfig": {"NetworkMode": "none"},
        }
        r = send("POST", "/containers/create", params={"name": name}, json=body)
        if r.status_code != 201:
            raise RecordingError(f"create {name}: {r.status_code} {r.text[:500]}")
        return r.json()["Id"]

    send("GET", "/_ping")
    send("GET", "/version")
    send("GET", "/info")
    send("GET", "/containers/json", params={"all": "1"})
    send("GET", "/images/json")

    a = create(f"{prefix}-a", ["sh", "-c", "echo out; echo err >&2"])
    rec.container_ids["a"] = a
    send("POST", f"/containers/{a}/start")  # 204
    send("POST", f"/containers/{a}/wait")  # 200 {"StatusCode":0}
    send("POST", f"/containers/{a}/stop", params={"t": "1"})  # 304: already stopped
    send("GET", f"/containers/{a}/logs", params={"stdout": "1", "stderr": "1"})  # multiplexed frames
    send("GET", f"/containers/{a}/changes")  # dockerd 20.10: null
    send("GET", f"/containers/{a}/json")

    b = create(f"{prefix}-b", ["sleep", "30"])
    rec.container_ids["b"] = b
    send("POST", f"/containers/{b}/start")  # 204
    send("POST", f"/containers/{b}/pause")  # 204
    send("POST", f"/containers/{b}/pause")  # 409 on 20.10 (1.2.0: 500)
    send("POST", f"/containers/{b}/unpause")  # 204
    send("POST", f"/containers/{b}/kill")  # 204
    send("POST", f"/containers/{b}/wait")  # 200 {"StatusCode":137}

    send("GET", f"/containers/{a}/export")  # tar of a stopped container
    send("DELETE", f"/containers/{a}")  # 204
    send("DELETE", f"/containers/{b}")  # 204
    send("GET", "/containers/nonexistent/json")  # 404


def _force_remove(daemon_url: str, ids: dict[str, str]) -> None:
    try:
        with uds_client(daemon_url, timeout=30) as c:
            for cid in ids.values():
                c.delete(f"/v1.41/containers/{cid}", params={"force": "1"})
    except (httpx.HTTPError, OSError):
        pass


def record_session(daemon_url: str, out_dir: Path, prefix: str | None = None, *, timeout: float = 60.0) -> Recording:
    """Run the scripted v1.14 session against daemon_url through mitmdump; write out_dir/flows.mitm and
    out_dir/capture.har (plus mitmdump.log, socat.log). Raises RecordingError when the chain fails."""
    sock = socket_path(daemon_url)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    prefix = prefix or f"rec-{uuid.uuid4().hex[:8]}"
    rec = Recording(
        flows_path=out_dir / "flows.mitm",
        har_path=out_dir / "capture.har",
        prefix=prefix,
        mitmdump_log=out_dir / "mitmdump.log",
    )
    for p in (rec.flows_path, rec.har_path):
        p.unlink(missing_ok=True)
    if not MITMDUMP.exists():
        raise RecordingError(f"{MITMDUMP} not found (pip install -e '.[dev]' in the venv)")

    t0 = time.monotonic()
    socat = mitm = None
    socat_log = out_dir / "socat.log"
    try:
        bport = _free_port()
        with open(socat_log, "wb") as sl:
            socat = subprocess.Popen(
                ["socat", "-t", "3600", f"TCP-LISTEN:{bport},bind=127.0.0.1,fork,reuseaddr", f"UNIX-CONNECT:{sock}"],
                stdin=subprocess.DEVNULL,
                stdout=sl,
                stderr=subprocess.STDOUT,
            )
        _wait_port(bport, socat, "socat", socat_log)

        pport = _free_port()
        with open(rec.mitmdump_log, "wb") as ml:
            mitm = subprocess.Popen(
                [
                    str(MITMDUMP),
                    "--mode",
                    f"reverse:http://127.0.0.1:{bport}",
                    "--listen-host",
                    "127.0.0.1",
                    "--listen-port",
                    str(pport),
                    "-w",
                    str(rec.flows_path),
                    "--set",
                    f"hardump={rec.har_path}",
                    "--set",
                    "termlog_verbosity=info",
                    "--set",
                    "flow_detail=1",
                    "--set",
                    f"confdir={out_dir / '.mitmproxy'}",  # its CA files, kept out of ~/.mitmproxy
                ],
                stdin=subprocess.DEVNULL,
                stdout=ml,
                stderr=subprocess.STDOUT,
            )
        _wait_port(pport, mitm, "mitmdump", rec.mitmdump_log)

        with httpx.Client(base_url=f"http://127.0.0.1:{pport}", timeout=timeout) as client:
            _run_script(client, prefix, rec)
    finally:
        _stop(mitm, signal.SIGINT)  # clean shutdown: flow file flushed, HAR written by `done`
        _stop(socat)
        if rec.container_ids:
            _force_remove(daemon_url, rec.container_ids)
    if mitm is not None and mitm.returncode not in (0, -signal.SIGINT):
        raise RecordingError(f"mitmdump exited with {mitm.returncode}; see {rec.mitmdump_log}")
    if not rec.har_path.exists():
        raise RecordingError(f"mitmdump wrote no HAR at {rec.har_path}; see {rec.mitmdump_log}")
    rec.seconds = time.monotonic() - t0
    return rec
