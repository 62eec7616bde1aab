"""`conformance proxy` as a user runs it: a subprocess on a Unix socket, stopped with SIGINT.

    with ProxyProcess(tmp, upstream="unix:///…/docker.sock", record=True) as p:
        ...  # talk to p.url (unix://…), e.g. DOCKER_HOST=p.url
    p.log_lines  # the JSONL log, parsed;  p.record_path, p.stdout, p.stderr, p.returncode

The process is the real command line (`python -m conformance proxy --listen … --log … --record …`),
so what it prints and writes is what a user would see; a proxy that exits non-zero fails the test.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


class ProxyProcess:
    def __init__(self, workdir: Path, upstream: str, *, record: bool = True, no_redact: bool = False,
                 fail_on: str = "never", extra: tuple[str, ...] = ()):
        self.workdir = Path(workdir)
        self.sock = self.workdir / "proxy.sock"
        self.url = f"unix://{self.sock}"
        self.log_path = self.workdir / "proxy.jsonl"
        self.record_path = self.workdir / "proxy.mitm" if record else None
        self.args = [sys.executable, "-m", "conformance", "proxy", "--listen", self.url, "--upstream", upstream,
                     "--log", str(self.log_path)]
        if self.record_path is not None:
            self.args += ["--record", str(self.record_path)]
        if no_redact:
            self.args.append("--no-redact")
        self.fail_on = fail_on  # "never": the exit status says only whether it ran cleanly
        self.args += ["--fail-on", fail_on]
        self.args += list(extra)
        self.proc: subprocess.Popen | None = None
        self.stdout = self.stderr = b""
        self.returncode: int | None = None

    def __enter__(self) -> ProxyProcess:
        self.proc = subprocess.Popen(self.args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 30
        while not self.sock.exists():
            if self.proc.poll() is not None:
                out, err = self.proc.communicate()
                raise AssertionError(f"conformance proxy exited with {self.proc.returncode}: {err.decode()}")
            assert time.monotonic() < deadline, "conformance proxy did not listen within 30 s"
            time.sleep(0.05)
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        if self.proc is None or self.proc.returncode is not None:
            return
        self.proc.send_signal(signal.SIGINT)
        try:
            self.stdout, self.stderr = self.proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.stdout, self.stderr = self.proc.communicate(timeout=10)
            raise AssertionError("conformance proxy did not stop within 30 s of SIGINT") from None
        self.returncode = self.proc.returncode
        assert self.returncode in ((0,) if self.fail_on == "never" else (0, 1)), \
            (self.returncode, self.stderr.decode(errors="replace")[-3000:])

    @property
    def log_lines(self) -> list[dict]:
        return [json.loads(line) for line in self.log_path.read_text("utf-8").splitlines() if line.strip()]


def run_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """`python -m conformance ARGS…` as a subprocess; stdout and stderr captured as bytes."""
    return subprocess.run([sys.executable, "-m", "conformance", *args], cwd=ROOT, capture_output=True,
                          timeout=timeout)
