"""A container: its configuration, state, filesystem, logs and its simulated process.

Output follows 1.2.0's plumbing: each write of the process goes to every attached listener as one chunk
(one frame on the wire), and the json log keeps it line by line with a nanosecond timestamp. With `Tty`
stdout and stderr are merged and newlines become CRLF, as a PTY did.
"""

from __future__ import annotations

import asyncio
import time
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field

from .encoding import human_duration, rfc3339nano
from .fs import ContainerFs
from .simulator import Budget, EmitWriter, NullReader, Pipe, Shell, Stdio

OUTPUT_CAP = 8 * 1024 * 1024  # past this a process blocks, as on a full pipe nobody reads
LINE_COST = 16  # what the log keeps per line besides its bytes; counted against OUTPUT_CAP
IGNORED_SIGNALS = {17, 18, 19, 20, 21, 22, 23, 28}  # CHLD CONT STOP TSTP TTIN TTOU URG WINCH
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def default_host_config() -> dict:
    """runconfig.HostConfig with Go zero values, in struct order."""
    return {
        "Binds": None, "ContainerIDFile": "", "LxcConf": None, "Privileged": False, "PortBindings": None,
        "Links": None, "PublishAllPorts": False, "Dns": None, "DnsSearch": None, "VolumesFrom": None,
        "Devices": None, "NetworkMode": "", "CapAdd": None, "CapDrop": None,
        "RestartPolicy": {"Name": "", "MaximumRetryCount": 0},
    }


@dataclass(frozen=True)
class LogLine:
    ns: int
    stream: int  # 1 stdout, 2 stderr
    data: bytes


class ContainerLog:
    """The json log of a container, kept compact: one byte buffer and arrays of line ends, times and
    streams (about 17 bytes per line besides its text), so a million short lines stay small."""

    def __init__(self) -> None:
        self._data = bytearray()
        self._ends = array("Q")
        self._ns = array("q")
        self._streams = bytearray()

    def append(self, line: LogLine) -> None:
        self._data += line.data
        self._ends.append(len(self._data))
        self._ns.append(line.ns)
        self._streams.append(line.stream)

    def __len__(self) -> int:
        return len(self._ends)

    def _line(self, i: int) -> LogLine:
        start = self._ends[i - 1] if i else 0
        return LogLine(self._ns[i], self._streams[i], bytes(self._data[start:self._ends[i]]))

    def __iter__(self) -> Iterator[LogLine]:
        return (self._line(i) for i in range(len(self)))

    def select(self, streams: set[int], tail: int = -1) -> Iterator[LogLine]:
        """The lines of `streams`, only the last `tail` of them when tail > 0 (none when tail is 0)."""
        if tail == 0:
            return iter(())
        first = 0
        if tail > 0:
            seen = 0
            for i in range(len(self) - 1, -1, -1):
                if self._streams[i] in streams:
                    seen += 1
                    if seen == tail:
                        first = i
                        break
        return (self._line(i) for i in range(first, len(self)) if self._streams[i] in streams)


@dataclass
class ContainerState:
    running: bool = False
    paused: bool = False
    restarting: bool = False
    pid: int = 0
    exit_code: int = 0
    started_ns: int = 0
    finished_ns: int = 0

    def to_json(self) -> dict:
        return {
            "Running": self.running, "Paused": self.paused, "Restarting": self.restarting, "Pid": self.pid,
            "ExitCode": self.exit_code, "StartedAt": rfc3339nano(self.started_ns),
            "FinishedAt": rfc3339nano(self.finished_ns),
        }

    def describe(self, now: float | None = None) -> str:
        """State.String() as `docker ps` showed it."""
        now = time.time() if now is None else now
        if self.running:
            up = f"Up {human_duration(now - self.started_ns / 1e9)}"
            return up + " (Paused)" if self.paused else up
        if self.finished_ns == 0:
            return ""
        return f"Exited ({self.exit_code}) {human_duration(now - self.finished_ns / 1e9)} ago"


_pids = iter(range(1000, 1 << 30))


@dataclass
class Container:
    id: str
    name: str  # with the leading '/'
    image_id: str
    config: dict
    path: str
    args: list[str]
    fs: ContainerFs
    created_ns: int = field(default_factory=time.time_ns)
    host_config: dict = field(default_factory=default_host_config)
    state: ContainerState = field(default_factory=ContainerState)
    logs: ContainerLog = field(default_factory=ContainerLog)
    ip_suffix: int = 0

    def __post_init__(self) -> None:
        self.listeners: set[asyncio.Queue] = set()
        self.stdin: Pipe | None = Pipe() if self.config.get("OpenStdin") else None
        self.exited = asyncio.Event()
        self.exited.set()
        self.unpaused = asyncio.Event()
        self.unpaused.set()
        self._task: asyncio.Task | None = None
        self._kill_code = 0
        self._partial: dict[int, bytearray] = {1: bytearray(), 2: bytearray()}
        self._output_total = 0
        self.on_exit = None  # callback(container), set by the daemon state

    @property
    def tty(self) -> bool:
        return bool(self.config.get("Tty"))

    @property
    def argv(self) -> list[str]:
        return [self.path, *self.args]

    # --- output ---
    async def _emit(self, stream: int, data: bytes) -> None:
        await self.unpaused.wait()
        if self._output_total > OUTPUT_CAP:
            await asyncio.Event().wait()
        self._output_total += len(data) + LINE_COST * data.count(b"\n")
        if self.tty:
            stream = 1
            data = data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        for queue in self.listeners:
            queue.put_nowait((stream, data))
        self._log(stream, data)
        await asyncio.sleep(0)

    def _log(self, stream: int, data: bytes) -> None:
        buf = self._partial[stream]
        buf += data
        while (cut := buf.find(b"\n")) >= 0:
            self.logs.append(LogLine(time.time_ns(), stream, bytes(buf[:cut + 1])))
            del buf[:cut + 1]

    def _flush_logs(self) -> None:
        for stream, buf in self._partial.items():
            if buf:
                self.logs.append(LogLine(time.time_ns(), stream, bytes(buf)))
                buf.clear()

    def listen(self) -> asyncio.Queue:
        """A queue of (stream, bytes) chunks, then None when the running process ends."""
        queue: asyncio.Queue = asyncio.Queue()
        self.listeners.add(queue)
        return queue

    def unlisten(self, queue: asyncio.Queue) -> None:
        self.listeners.discard(queue)

    # --- process ---
    def environment(self) -> dict[str, str]:
        env = {"PATH": DEFAULT_PATH, "HOSTNAME": self.config.get("Hostname") or self.id[:12], "HOME": "/"}
        for item in self.config.get("Env") or []:
            key, _, value = item.partition("=")
            env[key] = value
        if self.tty:
            env.setdefault("TERM", "xterm")
        return env

    def launch(self) -> None:
        """Start the simulated process (the caller has checked that it can exec)."""
        self.state = ContainerState(running=True, pid=next(_pids), started_ns=time.time_ns(),
                                    exit_code=0)
        self.exited.clear()
        self.unpaused.set()
        self._output_total = 0
        budget = Budget()
        shell = Shell(self.fs, self.environment(), self.config.get("WorkingDir") or "/",
                      hostname=self.config.get("Hostname") or self.id[:12], gate=self.unpaused, budget=budget)
        io = Stdio(self.stdin if self.stdin is not None else NullReader(),
                   EmitWriter(lambda d: self._emit(1, d), budget), EmitWriter(lambda d: self._emit(2, d), budget))
        self._task = asyncio.get_running_loop().create_task(shell.run_argv(self.argv, io))
        self._task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task) -> None:
        if task is not self._task:
            return
        if task.cancelled():
            code = self._kill_code
        elif task.exception() is not None:
            code = 255
        else:
            code = task.result()
        self._finish(code)

    def _finish(self, code: int) -> None:
        self._flush_logs()
        self.state.running = False
        self.state.paused = False
        self.state.pid = 0
        self.state.exit_code = code
        self.state.finished_ns = time.time_ns()
        self.unpaused.set()
        if self.stdin is not None:
            self.stdin.close()
            self.stdin = Pipe()  # a fresh pipe for the next run, as 1.2.0's cleanup made one
        for queue in self.listeners:
            queue.put_nowait(None)
        self._task = None
        self.exited.set()
        if self.on_exit is not None:
            self.on_exit(self)

    async def signal(self, number: int) -> None:
        """Deliver a signal: ignored ones do nothing, any other ends the process with 128+n."""
        if not self.state.running or number in IGNORED_SIGNALS:
            return
        task = self._task
        if task is not None and not task.done():
            self._kill_code = 128 + number
            task.cancel()
        await self.exited.wait()

    async def wait(self, timeout: float | None = None) -> bool:
        try:
            await asyncio.wait_for(self.exited.wait(), timeout)
            return True
        except TimeoutError:
            return False

    def status_line(self) -> str:
        return self.state.describe()
