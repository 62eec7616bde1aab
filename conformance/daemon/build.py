"""POST /build: a Dockerfile subset run the way 1.2.0's builder ran it (notes §2 build).

Instructions: FROM, MAINTAINER, RUN, CMD, ENTRYPOINT, ENV (`ENV key value`, the only 1.2.0 form), WORKDIR,
USER, EXPOSE, VOLUME, COPY and ADD of context files. Output is `{"stream":...}\\r\\n` per write with 0-based
`Step N : ...` lines; unknown instructions are skipped with a red note; RUN failures end the stream with an
in-band error carrying the exit code. The cache is never used.
"""

from __future__ import annotations

import copy
import json
import posixpath
import re

from .app import Call, route
from .encoding import stream_message
from .errors import DaemonError
from .fs import Layer, Node, normalise, unpack_layer
from .images import Image, new_id, parse_repository_tag, short
from .routes_images import JsonMessages, _offline, status_message
from .tarballs import TAR_ERRORS

RED, RESET = "\x1b[91m", "\x1b[0m"
MAX_STEPS = 1000  # each step is an image and a container: a bound on what one build may leave behind


class BuildError(Exception):
    def __init__(self, message: str, code: int = 0):
        super().__init__(message)
        self.message, self.code = message, code


def dockerfile_lines(text: str) -> list[tuple[str, str]]:
    """(instruction, arguments) per logical line: comments dropped, backslash continuations joined."""
    text = re.sub(r"(?m)^\s*#.*$", "", text.replace("\r\n", "\n"))
    text = re.sub(r"\\\s*\n", " ", text)
    out = []
    for line in text.split("\n"):
        line = line.replace("\t", " ").strip(" \t\r\n")
        if not line:
            continue
        instruction, _, arguments = line.partition(" ")
        out.append((instruction, arguments.strip()))
    return out


def _cmd_from(arguments: str) -> list[str]:
    """buildCmdFromJson: a JSON array of strings as is, anything else through /bin/sh -c."""
    try:
        value = json.loads(arguments)
    except ValueError:
        value = None
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    return ["/bin/sh", "-c", arguments]


def _go_list(items: list[str] | None) -> str:
    return "[" + " ".join(items or []) + "]"


class Builder:
    def __init__(self, call: Call, out: JsonMessages, context: Layer):
        self.call, self.out, self.context = call, out, context
        self.state = call.state
        self.verbose = not call.flag("q")
        rm_text = call.param("rm")
        self.rm = True if rm_text == "" else call.flag("rm")
        self.force_rm = call.param("forcerm") == "1" or call.flag("forcerm")
        if call.param("forcerm") == "1":
            self.rm = True
        self.image: Image | None = None
        self.config: dict = {}
        self.maintainer = ""
        self.cmd_set = False
        self.tmp_containers: list[str] = []

    async def say(self, text: str) -> None:
        await self.out.send(stream_message(text))

    async def clear_tmp(self) -> None:
        for container_id in self.tmp_containers:
            if container_id in self.state.containers:
                await self.state.remove(container_id, force=False, link=False)
                await self.say(f"Removing intermediate container {short(container_id)}\n")
        self.tmp_containers = []

    async def run(self, steps: list[tuple[str, str]]) -> Image:
        for n, (instruction, arguments) in enumerate(steps):
            await self.say(f"Step {n} : {instruction.upper()} {arguments}\n")
            handler = getattr(self, f"cmd_{instruction.lower()}", None)
            if handler is None:
                await self.say(f"{RED}# Skipping unknown instruction {instruction.upper()}\n{RESET}")
                continue
            if self.image is None and instruction.lower() != "from":
                raise BuildError(f"Please provide a source image with `from` prior to {instruction.lower()}")
            try:
                await handler(arguments)
            except BuildError:
                if self.force_rm:
                    await self.clear_tmp()
                raise
            await self.say(f" ---> {short(self.image.id)}\n")  # type: ignore[union-attr]
            if self.rm:
                await self.clear_tmp()
        if self.image is None:
            raise BuildError("No image was generated. This may be because the Dockerfile does not, like, do "
                             "anything.\n")
        return self.image

    # --- helpers ---
    def _new_container(self, cmd: list[str]):
        config = copy.deepcopy(self.config)
        config["Image"] = self.image.id  # type: ignore[union-attr]
        config["Cmd"] = cmd
        container = self.state.create_from_config(config, self.image)  # type: ignore[arg-type]
        self.tmp_containers.append(container.id)
        return container

    async def commit(self, container_id: str | None, auto_cmd: list[str] | None, comment: str) -> None:
        if container_id is None:
            container = self._new_container(["/bin/sh", "-c", f"#(nop) {comment}"])
            await self.say(f" ---> Running in {short(container.id)}\n")
        else:
            container = self.state.containers[container_id]
        config = copy.deepcopy(self.config)
        config["Image"] = self.image.id  # type: ignore[union-attr]
        config["Cmd"] = auto_cmd
        image = self.state.images.add(Image(
            id=new_id(), layer=dict(container.fs.layer), parent=self.image.id,  # type: ignore[union-attr]
            container=container.id, container_config=copy.deepcopy(container.config),
            author=self.maintainer, config=config))
        self.image = image

    # --- instructions ---
    async def cmd_from(self, name: str) -> None:
        image = self.state.images.lookup(name)
        if image is None:
            repo, _ = parse_repository_tag(name)
            await self.out.send(status_message(f"Pulling repository {repo}"))
            url = f"https://index.docker.io/v1/repositories/{repo}/images"
            raise BuildError(f"Get {url}: {_offline(url)}")
        self.image = image
        self.config = copy.deepcopy(image.config) if image.config else {}
        from .images import default_config
        self.config = {**default_config(), **self.config}

    async def cmd_maintainer(self, arguments: str) -> None:
        self.maintainer = arguments
        await self.commit(None, self.config.get("Cmd"), f"MAINTAINER {arguments}")

    async def cmd_run(self, arguments: str) -> None:
        cmd = _cmd_from(arguments)
        container = self._new_container(cmd)
        await self.say(f" ---> Running in {short(container.id)}\n")
        queue = container.listen() if self.verbose else None
        self.state.start(container.id, None)
        try:
            if queue is not None:
                while (item := await queue.get()) is not None:
                    stream, data = item
                    text = data.decode("utf-8", "replace")
                    await self.say(text if stream == 1 else f"{RED}{text}{RESET}")
        finally:
            if queue is not None:
                container.unlisten(queue)
        await container.exited.wait()
        code = container.state.exit_code
        if code != 0:
            raise BuildError(f"The command {_go_list(cmd)} returned a non-zero code: {code}", code)
        await self.commit(container.id, self.config.get("Cmd"), "run")

    async def cmd_cmd(self, arguments: str) -> None:
        self.config["Cmd"] = _cmd_from(arguments)
        self.cmd_set = True
        await self.commit(None, self.config["Cmd"], f"CMD {_go_list(self.config['Cmd'])}")

    async def cmd_entrypoint(self, arguments: str) -> None:
        self.config["Entrypoint"] = _cmd_from(arguments)
        if not self.cmd_set:
            self.config["Cmd"] = None
        await self.commit(None, self.config.get("Cmd"), f"ENTRYPOINT {_go_list(self.config['Entrypoint'])}")

    async def cmd_env(self, arguments: str) -> None:
        key, sep, value = arguments.partition(" ")
        if not sep:
            raise BuildError("Invalid ENV format")
        key, value = key.strip(" \t"), value.strip(" \t")
        env = list(self.config.get("Env") or [])
        for k, v in (e.split("=", 1) for e in env if "=" in e):
            value = value.replace("${" + k + "}", v).replace("$" + k, v)
        entry = f"{key}={value}"
        env = [entry if e.split("=", 1)[0] == key else e for e in env]
        if entry not in env:
            env.append(entry)
        self.config["Env"] = env
        await self.commit(None, self.config.get("Cmd"), f"ENV {entry}")

    async def cmd_workdir(self, arguments: str) -> None:
        if arguments.startswith("/"):
            self.config["WorkingDir"] = arguments
        else:
            self.config["WorkingDir"] = posixpath.join(self.config.get("WorkingDir") or "/", arguments)
        await self.commit(None, self.config.get("Cmd"), f"WORKDIR {arguments}")

    async def cmd_user(self, arguments: str) -> None:
        self.config["User"] = arguments
        await self.commit(None, self.config.get("Cmd"), f"USER {arguments}")

    async def cmd_expose(self, arguments: str) -> None:
        ports = [p if "/" in p else f"{p}/tcp" for p in arguments.split()]
        self.config["ExposedPorts"] = {**(self.config.get("ExposedPorts") or {}), **{p: {} for p in ports}}
        await self.commit(None, self.config.get("Cmd"), f"EXPOSE {_go_list(ports)}")

    async def cmd_volume(self, arguments: str) -> None:
        try:
            volumes = json.loads(arguments)
        except ValueError:
            volumes = arguments.split()
        if isinstance(volumes, str):
            volumes = [volumes]
        self.config["Volumes"] = {**(self.config.get("Volumes") or {}), **{v: {} for v in volumes}}
        await self.commit(None, self.config.get("Cmd"), f"VOLUME {_go_list(list(volumes))}")

    async def cmd_add(self, arguments: str) -> None:
        await self._copy("ADD", arguments)

    async def cmd_copy(self, arguments: str) -> None:
        await self._copy("COPY", arguments)

    async def _copy(self, name: str, arguments: str) -> None:
        parts = arguments.split(" ", 1)
        if len(parts) != 2:
            raise BuildError(f"Invalid {name} format")
        orig, dest = parts[0], parts[1].strip()
        if "://" in orig:
            if name == "COPY":
                raise BuildError("Source can't be a URL for COPY")
            raise BuildError(f"Get {orig}: {_offline(orig)}")
        source = normalise(orig)
        if posixpath.relpath(source, "/").startswith(".."):
            raise BuildError(f"Forbidden path outside the build context: {orig} ({source})")
        entries = {p: n for p, n in self.context.items() if n is not None and
                   (p == source or source == "/" or p.startswith(source + "/"))}
        if not entries:
            raise BuildError(f"{orig}: no such file or directory")
        cmd = self.config.get("Cmd")
        container = self._new_container(["/bin/sh", "-c", f"#(nop) {name} {orig} in {dest}"])
        target = normalise(dest, self.config.get("WorkingDir") or "/")
        node = entries.get(source)
        fs = container.fs
        if node is not None and not node.is_dir:
            if dest.endswith("/") or fs.is_dir(target):
                target = posixpath.join(target, posixpath.basename(source))
            self._ensure_dir(fs, posixpath.dirname(target))
            fs.layer[target] = node
        else:
            self._ensure_dir(fs, target)
            for path in sorted(entries):
                if path == source:
                    continue
                rel = posixpath.relpath(path, source)
                where = posixpath.join(target, rel)
                if entries[path].is_dir:
                    self._ensure_dir(fs, where)
                else:
                    self._ensure_dir(fs, posixpath.dirname(where))
                    fs.layer[where] = entries[path]
        await self.commit(container.id, cmd, f"{name} {orig} in {dest}")

    @staticmethod
    def _ensure_dir(fs, path: str) -> None:
        if not fs.is_dir(path):
            if fs.exists(path):
                fs.remove(path)
            fs.mkdir(path, parents=True)


@route("system.build")
async def build(call: Call) -> None:
    remote = call.param("remote")
    if remote:
        if remote.startswith(("http://", "https://", "git://", "github.com/", "git@")):
            detail = _offline(remote) if "://" in remote else remote
            raise DaemonError(f"Error trying to use git: exit status 128 ({detail})")
        raise DaemonError(f"Cannot build from remote {remote}: neither a git repository nor a URL")
    try:
        context = await unpack_layer(call.request.body, call.state.limits.unpacked)
    except TAR_ERRORS as exc:
        raise DaemonError(f"Error processing tar file: {exc}") from None
    dockerfile = context.get("/Dockerfile")
    if dockerfile is None or dockerfile.is_dir:
        raise DaemonError("Can't build a directory with no Dockerfile")
    if not dockerfile.data.strip():
        raise DaemonError("Dockerfile cannot be empty")
    steps = dockerfile_lines(dockerfile.data.decode("utf-8", "replace"))
    if len(steps) > MAX_STEPS:
        raise DaemonError(f"Dockerfile has {len(steps)} instructions, more than the reference daemon's "
                          f"{MAX_STEPS}")
    out = JsonMessages(call)
    builder = Builder(call, out, context)
    try:
        image = await builder.run(steps)
    except BuildError as exc:
        await out.fail(exc.message, exc.code)
        return
    await builder.say(f"Successfully built {short(image.id)}\n")
    repo_tag = call.param("t")
    if repo_tag:
        repo, tag = parse_repository_tag(repo_tag)
        try:
            call.state.images.tag(repo, tag, image.id)
        except DaemonError as exc:
            await out.fail(exc.message)
            return
    await out.end()


__all__ = ["Builder", "Node"]
