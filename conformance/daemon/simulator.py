"""A small, safe, deterministic stand-in for a container's processes: no host process ever runs.

It interprets a busybox-like command set (echo, cat, sleep, true, false, yes, head, seq, printf, touch,
mkdir, rm, ls, pwd, env, hostname, id, date, wc, tee, sh) and `sh -c` scripts with `;`, `&&`, `||`, `|`,
`$VAR`, quotes and redirections (`>`, `>>`, `<`, `>&2`, `2>&1`). Files live in the container's in-memory
layer, so `changes`, `export` and `copy` see what a command wrote.

Every run is bounded: commands write as they go (the container's output cap applies while bytes are
made), each run may write WORK_BUDGET bytes in all (stdout, stderr, pipes, files) before it stalls like a
process nobody reads, a file grows to FILE_LIMIT at most (then `No space left on device`), and scripts,
pipelines and nested shells have a size. Numbers in arguments are read as busybox reads them.
"""

from __future__ import annotations

import asyncio
import math
import posixpath
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from .busybox_args import (
    SIZE_SUFFIXES,
    ULONG_MAX,
    AppletError,
    parse_duration,
    seq_number,
    xatoul_sfx,
)
from .fs import ContainerFs, normalise

PIPE_LIMIT = 64 * 1024
CHUNK = 8192
WORK_BUDGET = 64 << 20  # bytes one run may write in all before it stalls
FILE_LIMIT = 16 << 20  # largest file a command may write
SCRIPT_LIMIT = 256 << 10  # longest script the shell reads
PIPELINE_LIMIT = 64  # most commands in one pipeline
NESTING_LIMIT = 32  # deepest `sh` inside `sh`


class Budget:
    """What one run may still write; once spent, every further write waits forever (until a signal)."""

    def __init__(self, limit: int = WORK_BUDGET):
        self.left = limit

    async def spend(self, n: int) -> None:
        self.left -= n
        if self.left < 0:
            await asyncio.Event().wait()


class NoSpace(OSError):
    """A write past FILE_LIMIT (ENOSPC)."""


_OS_REASONS = {FileNotFoundError: "No such file or directory", IsADirectoryError: "Is a directory",
               FileExistsError: "File exists", NotADirectoryError: "Not a directory"}


class ShellExit(Exception):
    """`exit N` inside a script."""

    def __init__(self, code: int):
        super().__init__(code)
        self.code = code


# --- byte channels ---------------------------------------------------------------------------------------


class Pipe:
    """An in-memory pipe: bounded buffer, EOF from the writer, SIGPIPE once the reader has gone."""

    def __init__(self, limit: int = PIPE_LIMIT):
        self._buf = bytearray()
        self._limit = limit
        self._eof = False
        self.reader_closed = False
        self._changed = asyncio.Event()

    def _notify(self) -> None:
        self._changed.set()

    async def _wait(self) -> None:
        self._changed.clear()
        await self._changed.wait()

    async def write(self, data: bytes) -> None:
        while len(self._buf) >= self._limit and not self.reader_closed:
            await self._wait()
        if self.reader_closed:
            raise BrokenPipeError
        if self._eof:
            raise BrokenPipeError
        self._buf += data
        self._notify()

    async def offer(self, data: bytes) -> None:
        """Write with back-pressure, dropping the data once either end has closed (stdin from a client)."""
        while len(self._buf) >= self._limit and not self.reader_closed and not self._eof:
            await self._wait()
        if not self._eof and not self.reader_closed:
            self._buf += data
            self._notify()

    def close(self) -> None:
        self._eof = True
        self._notify()

    @property
    def closed(self) -> bool:
        return self._eof

    def close_reader(self) -> None:
        self.reader_closed = True
        self._notify()

    async def read(self, n: int = CHUNK) -> bytes:
        while not self._buf and not self._eof:
            await self._wait()
        chunk = bytes(self._buf[:n])
        del self._buf[:n]
        self._notify()
        return chunk


class NullReader:
    """/dev/null as stdin."""

    async def read(self, n: int = CHUNK) -> bytes:
        return b""

    def close_reader(self) -> None:
        pass


class EmitWriter:
    """A container's stdout or stderr: each write becomes one output event (large writes a few)."""

    MAX_EVENT = 64 * 1024

    def __init__(self, emit: Callable[[bytes], Awaitable[None]], budget: Budget | None = None):
        self._emit = emit
        self._budget = budget or Budget()

    async def write(self, data: bytes) -> None:
        for i in range(0, len(data), self.MAX_EVENT):
            piece = data[i:i + self.MAX_EVENT]
            await self._budget.spend(len(piece))
            await self._emit(piece)


class FileWriter:
    """A redirection into a file of the container's layer: kept in a buffer, stored on each write while
    small and at `close()` (so appending stays linear), refused past FILE_LIMIT."""

    EAGER = 64 * 1024

    def __init__(self, fs: ContainerFs, path: str, append: bool, budget: Budget | None = None):
        self.fs, self.path = fs, path
        self._budget = budget or Budget()
        fs.write_file(path, b"", append=append, mtime=int(time.time()))
        node = fs.get(path)
        self._buf = bytearray(node.data if node is not None else b"")
        self._dirty = False

    async def write(self, data: bytes) -> None:
        if len(self._buf) + len(data) > FILE_LIMIT:
            self.close()
            raise NoSpace(28, "No space left on device")
        await self._budget.spend(len(data))
        self._buf += data
        self._dirty = True
        if len(self._buf) <= self.EAGER:
            self.close()

    def close(self) -> None:
        if self._dirty:
            self._dirty = False
            try:
                self.fs.write_file(self.path, bytes(self._buf), mtime=int(time.time()))
            except (FileNotFoundError, IsADirectoryError):
                pass  # removed or replaced meanwhile


class FileReader:
    def __init__(self, data: bytes):
        self._data = memoryview(data)
        self._pos = 0

    async def read(self, n: int = CHUNK) -> bytes:
        chunk = bytes(self._data[self._pos:self._pos + n])
        self._pos += len(chunk)
        return chunk

    def close_reader(self) -> None:
        pass


@dataclass
class Stdio:
    stdin: object
    stdout: object
    stderr: object


# --- script parsing ---------------------------------------------------------------------------------------

Word = list  # parts: str literals and ("var", name) tuples


@dataclass
class Redirect:
    fd: int
    op: str  # ">", ">>", "<", ">&"
    target: Word


@dataclass
class Command:
    words: list[Word] = field(default_factory=list)
    redirects: list[Redirect] = field(default_factory=list)


class ScriptSyntaxError(Exception):
    pass


def tokenize(text: str) -> list[tuple[str, object]]:
    """Tokens ("word", parts) and ("op", text) of a POSIX-ish shell line."""
    tokens: list[tuple[str, object]] = []
    parts: list = []
    literal: list[str] = []
    in_word = False
    i, n = 0, len(text)

    def flush_literal() -> None:
        if literal:
            parts.append("".join(literal))
            literal.clear()

    def end_word() -> None:
        nonlocal parts, in_word
        flush_literal()
        if in_word:
            tokens.append(("word", parts))
        parts, in_word = [], False

    def read_var(j: int) -> tuple[str, int]:
        if j < n and text[j] == "{":
            end = text.find("}", j)
            if end < 0:
                raise ScriptSyntaxError("bad substitution")
            return text[j + 1:end], end + 1
        k = j
        if k < n and text[k] in "?$#0123456789":
            return text[k], k + 1
        while k < n and (text[k].isalnum() or text[k] == "_"):
            k += 1
        return text[j:k], k

    while i < n:
        c = text[i]
        if c in " \t":
            end_word()
            i += 1
        elif c == "#" and not in_word:
            while i < n and text[i] != "\n":
                i += 1
        elif c == "\\":
            in_word = True
            if i + 1 < n and text[i + 1] != "\n":
                literal.append(text[i + 1])
            i += 2
        elif c == "'":
            end = text.find("'", i + 1)
            if end < 0:
                raise ScriptSyntaxError("unterminated quoted string")
            in_word = True
            literal.append(text[i + 1:end])
            i = end + 1
        elif c == '"':
            in_word = True
            i += 1
            while i < n and text[i] != '"':
                if text[i] == "\\" and i + 1 < n and text[i + 1] in '"\\$`':
                    literal.append(text[i + 1])
                    i += 2
                elif text[i] == "$" and i + 1 < n and (text[i + 1].isalnum() or text[i + 1] in "_{?$#"):
                    flush_literal()
                    name, i = read_var(i + 1)
                    parts.append(("var", name))
                else:
                    literal.append(text[i])
                    i += 1
            if i >= n:
                raise ScriptSyntaxError("unterminated quoted string")
            i += 1
        elif c == "$" and i + 1 < n and (text[i + 1].isalnum() or text[i + 1] in "_{?$#"):
            in_word = True
            flush_literal()
            name, i = read_var(i + 1)
            parts.append(("var", name))
        elif c in ";&|<>\n":
            fd = None
            if c in "<>" and in_word and not parts and len(literal) == 1 and literal[0] in "0123456789":
                fd = int("".join(literal))
                literal.clear()
                in_word = False
            end_word()
            two = text[i:i + 2]
            if two in ("&&", "||", ">>", ">&", ";;"):
                op, i = two, i + 2
            else:
                op, i = ("; " if c == "\n" else c).strip(), i + 1
            if op in ("<", ">", ">>", ">&"):
                op = f"{fd if fd is not None else (0 if op == '<' else 1)}{op}"
            tokens.append(("op", op))
        else:
            in_word = True
            literal.append(c)
            i += 1
    end_word()
    return tokens


def parse(text: str) -> list[list]:
    """A script as a list of and-or lists: [pipeline, (op, pipeline), ...]; pipelines are Command lists."""
    tokens = tokenize(text)
    script: list[list] = []
    and_or: list = []
    pipeline: list[Command] = []
    command = Command()
    pending: str | None = None
    pos = 0

    def finish_command() -> None:
        nonlocal command
        if command.words or command.redirects:
            pipeline.append(command)
        elif pipeline or pending:
            raise ScriptSyntaxError("syntax error: unexpected operator")
        command = Command()

    def finish_pipeline() -> None:
        nonlocal pipeline, pending
        finish_command()
        if pipeline:
            and_or.append(pipeline if pending is None else (pending, pipeline))
        elif pending:
            raise ScriptSyntaxError(f"syntax error: unexpected end after {pending}")
        pipeline, pending = [], None

    while pos < len(tokens):
        kind, value = tokens[pos]
        pos += 1
        if kind == "word":
            command.words.append(value)  # type: ignore[arg-type]
            continue
        op = str(value)
        if op[:1].isdigit():
            if pos >= len(tokens) or tokens[pos][0] != "word":
                raise ScriptSyntaxError("syntax error: unexpected redirection")
            command.redirects.append(Redirect(int(op[0]), op[1:], tokens[pos][1]))  # type: ignore[arg-type]
            pos += 1
        elif op == "|":
            finish_command()
            if len(pipeline) >= PIPELINE_LIMIT:
                raise ScriptSyntaxError(f"more than {PIPELINE_LIMIT} commands in a pipeline")
        elif op in ("&&", "||"):
            finish_pipeline()
            if not and_or:
                raise ScriptSyntaxError(f"syntax error: unexpected \"{op}\"")
            pending = op
        elif op in (";", "&", ";;"):
            finish_pipeline()
            if and_or:
                script.append(and_or)
            and_or = []
    finish_pipeline()
    if and_or:
        script.append(and_or)
    return script


# --- the interpreter --------------------------------------------------------------------------------------

Builtin = Callable[["Shell", list[str], Stdio], Awaitable[int]]
BUILTINS: dict[str, Builtin] = {}
SHELL_ONLY = {"exit", "export", "cd", "unset"}


def builtin(*names: str):
    def register(fn: Builtin) -> Builtin:
        for name in names:
            BUILTINS[name] = fn
        return fn
    return register


def executable_error(argv: list[str]) -> str | None:
    """The exec error 1.2.0 reported at start for a command that does not exist, or None."""
    if not argv:
        return "exec: \"\": executable file not found in $PATH"
    name = argv[0]
    if posixpath.basename(name) in BUILTINS and posixpath.basename(name) not in SHELL_ONLY:
        return None
    if "/" in name:
        return f"exec: \"{name}\": stat {name}: no such file or directory"
    return f"exec: \"{name}\": executable file not found in $PATH"


class Shell:
    """Runs commands for one container against its filesystem and environment."""

    def __init__(self, fs: ContainerFs, env: dict[str, str], cwd: str = "/", hostname: str = "",
                 gate: asyncio.Event | None = None, budget: Budget | None = None):
        self.fs = fs
        self.env = dict(env)
        self.cwd = normalise(cwd or "/")
        self.hostname = hostname
        self.status = 0
        self._gate = gate
        self.budget = budget or Budget()
        self.depth = 0  # `sh` builtins running inside this shell

    async def checkpoint(self) -> None:
        """Block while the container is paused."""
        if self._gate is not None:
            await self._gate.wait()

    async def run_argv(self, argv: list[str], io: Stdio) -> int:
        await self.checkpoint()
        name = posixpath.basename(argv[0]) if argv else ""
        fn = BUILTINS.get(name)
        if fn is None:
            await io.stderr.write(f"sh: {argv[0] if argv else ''}: not found\n".encode())
            return 127
        try:
            return await fn(self, argv, io)
        except BrokenPipeError:
            return 141
        except AppletError as exc:
            await io.stderr.write(exc.text(name).encode())
            return 1
        except NoSpace:
            await io.stderr.write(f"{name}: write error: No space left on device\n".encode())
            return 1
        except OSError as exc:  # a path the command could not use, as busybox reports one
            reason = _OS_REASONS.get(type(exc), "Input/output error")
            where = f"{exc.args[0]}: " if exc.args and isinstance(exc.args[0], str) else ""
            await io.stderr.write(f"{name}: {where}{reason}\n".encode())
            return 1

    async def run_script(self, text: str, io: Stdio, *, catch_exit: bool = True) -> int:
        """Run a script; `exit N` ends it with N (or, with catch_exit false, raises ShellExit on)."""
        if len(text) > SCRIPT_LIMIT:
            await io.stderr.write(f"sh: script longer than {SCRIPT_LIMIT} bytes (simulator limit)\n".encode())
            return 2
        try:
            script = parse(text)
        except ScriptSyntaxError as exc:
            await io.stderr.write(f"sh: {exc}\n".encode())
            return 2
        try:
            for and_or in script:
                self.status = await self._and_or(and_or, io)
        except ShellExit as exc:
            if not catch_exit:
                raise
            return exc.code
        return self.status

    async def _and_or(self, and_or: list, io: Stdio) -> int:
        status = await self._pipeline(and_or[0], io)
        for op, pipeline in and_or[1:]:
            if (op == "&&") == (status == 0):
                status = await self._pipeline(pipeline, io)
        return status

    async def _pipeline(self, commands: list[Command], io: Stdio) -> int:
        if len(commands) == 1:
            self.status = await self._command(commands[0], io)
            return self.status
        pipes = [Pipe() for _ in commands[:-1]]

        async def stage(i: int) -> int:
            stdin = io.stdin if i == 0 else pipes[i - 1]
            stdout = io.stdout if i == len(commands) - 1 else _PipeWriter(pipes[i], self.budget)
            try:
                return await self._command(commands[i], Stdio(stdin, stdout, io.stderr))
            finally:
                if i < len(pipes):
                    pipes[i].close()
                if i > 0:
                    pipes[i - 1].close_reader()

        results = await asyncio.gather(*(stage(i) for i in range(len(commands))))
        self.status = results[-1]
        return self.status

    def expand(self, word: Word) -> str:
        out = []
        for part in word:
            if isinstance(part, tuple):
                name = part[1]
                out.append(str(self.status) if name == "?" else "1" if name == "$" else
                           "0" if name == "#" else "sh" if name == "0" else self.env.get(name, ""))
            else:
                out.append(part)
        return "".join(out)

    async def _command(self, command: Command, io: Stdio) -> int:
        argv = [self.expand(w) for w in command.words]
        assignments = {}
        while argv and "=" in argv[0] and argv[0].split("=", 1)[0].replace("_", "a").isalnum():
            key, value = argv.pop(0).split("=", 1)
            assignments[key] = value
        try:
            io, files = self._redirect(command.redirects, io)
        except OSError as exc:
            await io.stderr.write(f"sh: can't {exc.args[0]}\n".encode())
            return 1
        try:
            if not argv:
                self.env.update(assignments)
                return 0
            if argv[0] == "exit":
                code = exit_status(argv[1]) if len(argv) > 1 else self.status
                if code is None:
                    await io.stderr.write(f"sh: exit: line 0: Illegal number: {argv[1]}\n".encode())
                    code = 2
                raise ShellExit(code)
            saved = dict(self.env)
            self.env.update(assignments)
            try:
                return await self.run_argv(argv, io)
            finally:
                if assignments:
                    self.env = saved
        finally:
            for writer in files:
                writer.close()

    def _redirect(self, redirects: list[Redirect], io: Stdio) -> tuple[Stdio, list[FileWriter]]:
        fds = {0: io.stdin, 1: io.stdout, 2: io.stderr}
        files: list[FileWriter] = []
        for r in redirects:
            target = self.expand(r.target)
            if r.op == ">&":
                if target in ("0", "1", "2"):
                    fds[r.fd] = fds[int(target)]
                continue
            path = normalise(target, self.cwd)
            if r.op == "<":
                node = self.fs.get(path)
                if node is None or node.is_dir:
                    raise OSError(f"open {target}: no such file")
                fds[r.fd] = FileReader(node.data)
            else:
                try:
                    fds[r.fd] = FileWriter(self.fs, path, append=r.op == ">>", budget=self.budget)
                except (FileNotFoundError, IsADirectoryError):
                    for writer in files:
                        writer.close()
                    raise OSError(f"create {target}: nonexistent directory") from None
                files.append(fds[r.fd])
        return Stdio(fds[0], fds[1], fds[2]), files


class _PipeWriter:
    def __init__(self, pipe: Pipe, budget: Budget):
        self._pipe = pipe
        self._budget = budget

    async def write(self, data: bytes) -> None:
        await self._budget.spend(len(data))
        await self._pipe.write(data)


def exit_status(text: str) -> int | None:
    """ash's `exit N`: decimal digits, taken modulo 256 (None: `Illegal number`)."""
    if not (text.isascii() and text.isdigit()):
        return None
    significant = text.lstrip("0") or "0"
    if len(significant) > 20 or int(significant) > ULONG_MAX:
        return 0
    return int(significant) & 0xFF


# --- commands ---------------------------------------------------------------------------------------------


def _unescape(text: str) -> str:
    return (text.replace("\\n", "\n").replace("\\t", "\t").replace("\\\\", "\\"))


@builtin("echo")
async def _echo(sh: Shell, argv: list[str], io: Stdio) -> int:
    args, newline, escapes = argv[1:], True, False
    while args and args[0] in ("-n", "-e", "-ne", "-en", "-E"):
        flag = args.pop(0)
        newline = newline and "n" not in flag
        escapes = escapes or "e" in flag
    text = " ".join(args)
    if escapes:
        text = _unescape(text)
    await io.stdout.write((text + ("\n" if newline else "")).encode())
    return 0


@builtin("printf")
async def _printf(sh: Shell, argv: list[str], io: Stdio) -> int:
    if len(argv) < 2:
        return 1
    fmt, args = _unescape(argv[1]), list(argv[2:])
    out = []
    i = 0
    while i < len(fmt):
        if fmt[i] == "%" and i + 1 < len(fmt):
            spec = fmt[i + 1]
            if spec == "%":
                out.append("%")
            elif spec in "sd":
                out.append(args.pop(0) if args else ("" if spec == "s" else "0"))
            i += 2
        else:
            out.append(fmt[i])
            i += 1
    await io.stdout.write("".join(out).encode())
    return 0


@builtin("cat")
async def _cat(sh: Shell, argv: list[str], io: Stdio) -> int:
    status = 0
    for name in argv[1:] or ["-"]:
        if name == "-":
            while chunk := await io.stdin.read():
                await sh.checkpoint()
                await io.stdout.write(chunk)
            continue
        node = sh.fs.get(normalise(name, sh.cwd))
        if node is None or node.is_dir:
            reason = "Is a directory" if node is not None else "No such file or directory"
            await io.stderr.write(f"cat: can't open '{name}': {reason}\n".encode())
            status = 1
            continue
        await io.stdout.write(node.data)
    return status


@builtin("tee")
async def _tee(sh: Shell, argv: list[str], io: Stdio) -> int:
    append = "-a" in argv
    writers = [FileWriter(sh.fs, normalise(p, sh.cwd), append, sh.budget) for p in argv[1:] if p != "-a"]
    try:
        while chunk := await io.stdin.read():
            for w in writers:
                await w.write(chunk)
            await io.stdout.write(chunk)
    finally:
        for w in writers:
            w.close()
    return 0


@builtin("sleep")
async def _sleep(sh: Shell, argv: list[str], io: Stdio) -> int:
    if len(argv) < 2:
        raise AppletError(usage=True)
    if argv[1][:3].lower() == "inf":
        await asyncio.Event().wait()  # busybox sleeps forever for inf, INF, infinity
    seconds = sum(parse_duration(a) for a in argv[1:])
    if math.isnan(seconds) or seconds < 0:
        seconds = math.inf
    while seconds > 0:  # in steps: the loop's timer cannot take any float
        step = min(seconds, 86400.0)
        await asyncio.sleep(step)
        seconds -= step
    await sh.checkpoint()
    return 0


@builtin("true")
async def _true(sh: Shell, argv: list[str], io: Stdio) -> int:
    return 0


@builtin("false")
async def _false(sh: Shell, argv: list[str], io: Stdio) -> int:
    return 1


@builtin("exit")
async def _exit(sh: Shell, argv: list[str], io: Stdio) -> int:
    raise ShellExit(exit_status(argv[1]) or 0 if len(argv) > 1 else 0)


@builtin("export")
async def _export(sh: Shell, argv: list[str], io: Stdio) -> int:
    for item in argv[1:]:
        if "=" in item:
            key, value = item.split("=", 1)
            sh.env[key] = value
    return 0


@builtin("unset")
async def _unset(sh: Shell, argv: list[str], io: Stdio) -> int:
    for key in argv[1:]:
        sh.env.pop(key, None)
    return 0


@builtin("cd")
async def _cd(sh: Shell, argv: list[str], io: Stdio) -> int:
    target = argv[1] if len(argv) > 1 else "/root"
    path = normalise(target, sh.cwd)
    if not sh.fs.is_dir(path):
        await io.stderr.write(f"sh: cd: can't cd to {target}\n".encode())
        return 2
    sh.cwd = path
    return 0


@builtin("yes")
async def _yes(sh: Shell, argv: list[str], io: Stdio) -> int:
    line = (" ".join(argv[1:]) if len(argv) > 1 else "y").encode() + b"\n"
    block = line * max(1, CHUNK // len(line))
    while True:
        await sh.checkpoint()
        await io.stdout.write(block)
        await asyncio.sleep(0)


@builtin("head")
async def _head(sh: Shell, argv: list[str], io: Stdio) -> int:
    args = argv[1:]
    by_bytes, count = False, 10
    files = []
    while args:
        arg = args.pop(0)
        if arg in ("-c", "-n"):
            if not args:
                raise AppletError(f"option requires an argument -- '{arg[1]}'", usage=True)
            by_bytes, count = arg == "-c", _head_count(args.pop(0))
        elif arg.startswith(("-c", "-n")):
            by_bytes, count = arg[1] == "c", _head_count(arg[2:])
        elif arg.startswith("-") and arg[1:2].isdigit():
            count = _head_count(arg[1:])
        else:
            files.append(arg)
    source = io.stdin
    if files:
        node = sh.fs.get(normalise(files[0], sh.cwd))
        if node is None:
            await io.stderr.write(f"head: {files[0]}: No such file or directory\n".encode())
            return 1
        source = FileReader(node.data)
    remaining = count
    while remaining > 0:
        chunk = await source.read()
        if not chunk:
            break
        if by_bytes:
            chunk = chunk[:remaining]
            remaining -= len(chunk)
        else:
            lines = chunk.split(b"\n")
            if len(lines) - 1 >= remaining:
                chunk = b"\n".join(lines[:remaining]) + b"\n"
                remaining = 0
            else:
                remaining -= len(lines) - 1
        await io.stdout.write(chunk)
    source.close_reader()
    return 0


def _head_count(text: str) -> int:
    """head's N[bkm]; a leading '-' (all but the last N) reads as nothing to print."""
    if text.startswith("-"):
        xatoul_sfx(text[1:], SIZE_SUFFIXES)
        return 0
    return xatoul_sfx(text, SIZE_SUFFIXES)


@builtin("wc")
async def _wc(sh: Shell, argv: list[str], io: Stdio) -> int:
    lines = words = size = 0
    in_word = False
    while chunk := await io.stdin.read():
        await sh.checkpoint()
        size += len(chunk)
        lines += chunk.count(b"\n")
        parts = chunk.split()
        words += len(parts)
        if in_word and parts and not chunk[:1].isspace():
            words -= 1  # the word went on from the previous chunk
        in_word = not chunk[-1:].isspace()
    flags = "".join(a[1:] for a in argv[1:] if a.startswith("-"))
    counts = [n for flag, n in (("l", lines), ("w", words), ("c", size)) if flag in flags] or [lines, words, size]
    out = str(counts[0]) if len(counts) == 1 else " ".join(f"{n:>9}" for n in counts)
    await io.stdout.write(out.encode() + b"\n")
    return 0


@builtin("seq")
async def _seq(sh: Shell, argv: list[str], io: Stdio) -> int:
    args = argv[1:]
    width_pad, sep = False, "\n"
    while args and args[0].startswith("-") and len(args[0]) > 1:
        opt = args.pop(0)
        if opt == "--":
            break
        for i, flag in enumerate(opt[1:], 1):
            if flag == "w":
                width_pad = True
            elif flag == "s":
                if opt[i + 1:]:
                    sep = opt[i + 1:]
                elif args:
                    sep = args.pop(0)
                else:
                    raise AppletError("option requires an argument -- 's'", usage=True)
                break
            else:
                raise AppletError(f"invalid option -- '{flag}'", usage=True)
    if not 1 <= len(args) <= 3:
        raise AppletError(usage=True)
    last = seq_number(args[-1])
    first = seq_number(args[0]) if len(args) > 1 else 1.0
    step = seq_number(args[1]) if len(args) == 3 else 1.0
    width = frac = 0
    for i, arg in enumerate(args):
        whole, dot, tail = arg.partition(".")
        width = max(width, len(whole))
        if i < len(args) - 1:
            frac = max(frac, len(dot + tail))
    if frac:
        frac -= 1
        if frac:
            width += frac + 1
    if not width_pad:
        width = 0
    for chunk in _SeqStream(first, step, last, width, frac, sep):
        await sh.checkpoint()
        await io.stdout.write(chunk)
    return 0


class _SeqStream:
    """Iterates seq's output in pieces of about CHUNK bytes: `first + n*step` while it stays in range."""

    def __init__(self, first: float, step: float, last: float, width: int, frac: int, sep: str):
        self.first, self.step, self.last = first, step, last
        self.fmt, self.width, self.frac, self.sep = "%0*.*f", width, frac, sep

    def __iter__(self):
        n = 0
        value = self.first
        piece: list[str] = []
        size = 0
        while (value <= self.last) if self.step >= 0 else (value >= self.last):
            text = (self.sep if n else "") + self.fmt % (self.width, self.frac, value)
            piece.append(text)
            size += len(text)
            if size >= CHUNK:
                yield "".join(piece).encode()
                piece, size = [], 0
            n = (n + 1) & 0xFFFFFFFF  # busybox counts in an unsigned int
            value = self.first + n * self.step
        if n or piece:
            piece.append("\n")
        if piece:
            yield "".join(piece).encode()


@builtin("touch")
async def _touch(sh: Shell, argv: list[str], io: Stdio) -> int:
    for name in argv[1:]:
        path = normalise(name, sh.cwd)
        node = sh.fs.get(path)
        try:
            sh.fs.write_file(path, node.data if node else b"", mtime=int(time.time()))
        except (FileNotFoundError, IsADirectoryError):
            await io.stderr.write(f"touch: {name}: No such file or directory\n".encode())
            return 1
    return 0


@builtin("mkdir")
async def _mkdir(sh: Shell, argv: list[str], io: Stdio) -> int:
    parents = "-p" in argv
    for name in (a for a in argv[1:] if a != "-p"):
        try:
            sh.fs.mkdir(normalise(name, sh.cwd), parents=parents, mtime=int(time.time()))
        except OSError as exc:
            reason = "File exists" if isinstance(exc, FileExistsError) else "No such file or directory"
            await io.stderr.write(f"mkdir: can't create directory '{name}': {reason}\n".encode())
            return 1
    return 0


@builtin("rm")
async def _rm(sh: Shell, argv: list[str], io: Stdio) -> int:
    flags = "".join(a[1:] for a in argv[1:] if a.startswith("-"))
    status = 0
    for name in (a for a in argv[1:] if not a.startswith("-")):
        try:
            sh.fs.remove(normalise(name, sh.cwd), recursive="r" in flags or "R" in flags)
        except FileNotFoundError:
            if "f" not in flags:
                await io.stderr.write(f"rm: can't remove '{name}': No such file or directory\n".encode())
                status = 1
        except IsADirectoryError:
            await io.stderr.write(f"rm: '{name}' is a directory\n".encode())
            status = 1
    return status


@builtin("ls")
async def _ls(sh: Shell, argv: list[str], io: Stdio) -> int:
    targets = [a for a in argv[1:] if not a.startswith("-")] or ["."]
    for name in targets:
        path = normalise(name, sh.cwd)
        node = sh.fs.get(path)
        if node is None:
            await io.stderr.write(f"ls: {name}: No such file or directory\n".encode())
            return 1
        entries = sh.fs.listdir(path) if node.is_dir else [name]
        await io.stdout.write("".join(e + "\n" for e in entries).encode())
    return 0


@builtin("pwd")
async def _pwd(sh: Shell, argv: list[str], io: Stdio) -> int:
    await io.stdout.write(sh.cwd.encode() + b"\n")
    return 0


@builtin("env", "printenv")
async def _env(sh: Shell, argv: list[str], io: Stdio) -> int:
    if argv[0].endswith("printenv") and len(argv) > 1:
        if argv[1] not in sh.env:
            return 1
        await io.stdout.write(sh.env[argv[1]].encode() + b"\n")
        return 0
    await io.stdout.write("".join(f"{k}={v}\n" for k, v in sh.env.items()).encode())
    return 0


@builtin("hostname")
async def _hostname(sh: Shell, argv: list[str], io: Stdio) -> int:
    await io.stdout.write(sh.hostname.encode() + b"\n")
    return 0


@builtin("id")
async def _id(sh: Shell, argv: list[str], io: Stdio) -> int:
    await io.stdout.write(b"uid=0(root) gid=0(root) groups=10(wheel)\n")
    return 0


@builtin("whoami")
async def _whoami(sh: Shell, argv: list[str], io: Stdio) -> int:
    await io.stdout.write(b"root\n")
    return 0


@builtin("uname")
async def _uname(sh: Shell, argv: list[str], io: Stdio) -> int:
    await io.stdout.write(b"Linux\n")
    return 0


@builtin("date")
async def _date(sh: Shell, argv: list[str], io: Stdio) -> int:
    await io.stdout.write(time.strftime("%a %b %e %H:%M:%S UTC %Y\n", time.gmtime()).encode())
    return 0


@builtin("sh", "bash", "ash")
async def _sh(sh: Shell, argv: list[str], io: Stdio) -> int:
    if sh.depth >= NESTING_LIMIT:
        await io.stderr.write(f"sh: more than {NESTING_LIMIT} nested shells (simulator limit)\n".encode())
        return 2
    sh.depth += 1
    try:
        return await _sh_body(sh, argv, io)
    finally:
        sh.depth -= 1


async def _sh_body(sh: Shell, argv: list[str], io: Stdio) -> int:
    args = argv[1:]
    if args and args[0] == "-c":
        if len(args) < 2:
            await io.stderr.write(b"sh: -c requires an argument\n")
            return 2
        return await sh.run_script(args[1], io)
    if args:
        node = sh.fs.get(normalise(args[0], sh.cwd))
        if node is None:
            await io.stderr.write(f"sh: can't open '{args[0]}': No such file or directory\n".encode())
            return 2
        return await sh.run_script(node.data.decode("utf-8", "replace"), io)
    return await _sh_stdin(sh, io)


async def _sh_stdin(sh: Shell, io: Stdio) -> int:
    """A shell reading its script from stdin runs each complete line as it arrives (a quote left open
    waits for the lines that close it), as an interactive sh does."""
    pending = ""
    status = 0
    while True:
        chunk = await io.stdin.read()
        pending += chunk.decode("utf-8", "replace")
        cut = pending.rfind("\n") + 1 if chunk else len(pending)
        if cut:
            text = pending[:cut]
            try:
                parse(text)
                runnable = True
            except ScriptSyntaxError as exc:
                runnable = not chunk or "unterminated" not in str(exc)
            if runnable:
                pending = pending[cut:]
                try:
                    status = await sh.run_script(text, io, catch_exit=False)
                except ShellExit as exc:
                    return exc.code
        if len(pending) > SCRIPT_LIMIT:
            await io.stderr.write(f"sh: line longer than {SCRIPT_LIMIT} bytes (simulator limit)\n".encode())
            return 2
        if not chunk:
            return status
