"""Container endpoints (notes §2 Containers), except attach (attach.py)."""

from __future__ import annotations

import asyncio
import time

from .app import JSON_TYPE, Call, route, sniff
from .containers import Container
from .encoding import Env, JobEnv, rfc3339nano
from .errors import DaemonError
from .gojson import GoJsonError, decode_object, unmarshal
from .state import host_config_from_env
from .strconv import NumError, atoi, parse_uint

PS_EF_TITLES = ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"]
PS_AUX_TITLES = ["USER", "PID", "%CPU", "%MEM", "VSZ", "RSS", "TTY", "STAT", "START", "TIME", "COMMAND"]


def decode_body(call: Call, body: bytes | None = None) -> dict:
    """A JSON object body as engine.Env.Decode read it; anything else is a 500 with Go's error text."""
    try:
        return decode_object(call.request.body if body is None else body, call.state.limits.json_depth)
    except GoJsonError as exc:
        raise DaemonError(exc.message) from None


def job_env(call: Call) -> JobEnv:
    """The request body as the job's env (DecodeEnv)."""
    return JobEnv(decode_body(call), call.state.limits.json_depth)


def load_json(call: Call, text: str) -> object:
    """json.Unmarshal of a parameter or header value; errors are 500s with Go's text."""
    try:
        return unmarshal(text, call.state.limits.json_depth)
    except GoJsonError as exc:
        raise DaemonError(exc.message) from None


def _port_number(text: str) -> int:
    """nat.Port.Int / parsePort: strconv.ParseUint(p, 10, 16), 0 when it fails."""
    try:
        return parse_uint(text, 16)
    except NumError:
        return 0


def media_type(value: str | None) -> str:
    return (value or "").split(";", 1)[0].strip().lower()


# --- listing and inspecting ---------------------------------------------------------------------------------


def _ports(call: Call, container: Container) -> list[dict]:
    out = []
    if not container.state.running:
        return out
    for port, bindings in sorted(_port_map(container).items()):
        number, _, proto = port.partition("/")
        if not bindings:
            out.append({"PrivatePort": _port_number(number), "Type": proto or "tcp"})
        for b in bindings or []:
            out.append({"IP": b["HostIp"], "PrivatePort": _port_number(number),
                        "PublicPort": _port_number(b["HostPort"] or "0"),
                        "Type": proto or "tcp"})
    return out


def _port_map(container: Container) -> dict:
    """NetworkSettings.Ports of a running container: exposed ports and their host bindings."""
    ports: dict = {p: None for p in container.config.get("ExposedPorts") or {}}
    bindings = container.host_config.get("PortBindings") or {}
    for index, (port, wanted) in enumerate(sorted(bindings.items())):
        entries = wanted if isinstance(wanted, list) else [{}]
        ports[port] = [{"HostIp": (e or {}).get("HostIp") or "0.0.0.0",
                        "HostPort": (e or {}).get("HostPort") or str(49153 + index)} for e in entries]
    if container.host_config.get("PublishAllPorts"):
        for index, port in enumerate(sorted(ports)):
            if ports[port] is None:
                ports[port] = [{"HostIp": "0.0.0.0", "HostPort": str(49200 + index)}]
    return ports


def _command_text(container: Container) -> str:
    args = " ".join(f"'{a}'" if " " in a else a for a in container.args)
    return f"{container.path} {args}"


@route("containers.list")
@route("containers.list-ps")
async def list_containers(call: Call) -> None:
    state = call.state
    show_all, limit = call.flag("all"), call.integer("limit")
    since, before = call.param("since"), call.param("before")
    exited: list[int] = []
    if call.param("filters"):
        filters = load_json(call, call.param("filters"))
        if not isinstance(filters, dict) or not all(
                isinstance(v, list) and all(isinstance(i, str) for i in v) for v in filters.values()):
            raise DaemonError("json: cannot unmarshal filters into Go value of type filters.Args")
        for value in filters.get("exited", []):
            try:
                exited.append(atoi(value))
            except NumError as exc:
                raise DaemonError(str(exc)) from None
    since_c = state.find(since) if since else None
    if since and since_c is None:
        raise DaemonError(f"Could not find container with name or id {since}")
    before_c = state.find(before) if before else None
    if before and before_c is None:
        raise DaemonError(f"Could not find container with name or id {before}")
    envs = []
    found_before = False
    for c in sorted(state.containers.values(), key=lambda c: c.created_ns, reverse=True):
        if not c.state.running and not show_all and limit <= 0 and not since and not before:
            continue
        if before_c is not None and not found_before:
            found_before = c.id == before_c.id
            continue
        if limit > 0 and len(envs) == limit:
            break
        if since_c is not None and c.id == since_c.id:
            break
        if exited and not c.state.running and c.state.exit_code not in exited:
            continue
        env = Env().set("Id", call.id(c.id)).set_list("Names", state.names_of(c))
        env.set("Image", state.image_name(c.image_id))
        env.set_json("Command", _command_text(c))
        env.set_int("Created", c.created_ns // 1_000_000_000)
        env.set("Status", c.status_line())
        env.set_json("Ports", _ports(call, c))
        if call.flag("size"):
            env.set_int("SizeRw", sum(len(n.data) for n in c.fs.layer.values() if n is not None))
            base = state.images.images.get(c.image_id)
            env.set_int("SizeRootFs", state.images.virtual_size(base) if base else 0)
        envs.append(env)
    await call.send_json(200, call.table(envs))


def _network(call: Call, c: Container) -> dict:
    if not c.state.running:
        return {"Bridge": "", "Gateway": "", "IPAddress": "", "IPPrefixLen": 0, "PortMapping": None,
                "Ports": None}
    return {"Bridge": "docker0", "Gateway": "172.17.42.1", "IPAddress": f"172.17.0.{c.ip_suffix}",
            "IPPrefixLen": 16, "PortMapping": None, "Ports": _port_map(c)}


@route("containers.inspect")
async def inspect_container(call: Call) -> None:
    c = call.state.container(call.var("id"))
    started = c.state.started_ns or c.state.finished_ns
    base = f"/var/lib/docker/containers/{c.id}"
    host = dict(c.host_config)
    host["Links"] = call.state.links_of(c)
    env = Env().set("Id", call.id(c.id)).set_json("Created", rfc3339nano(c.created_ns))
    env.set("Path", c.path).set_list("Args", c.args).set_json("Config", c.config)
    if not call.deviant("inspect-no-state"):
        env.set_json("State", c.state.to_json())
    env.set("Image", call.id(c.image_id)).set_json("NetworkSettings", _network(call, c))
    env.set("ResolvConfPath", f"{base}/resolv.conf" if started else "")
    env.set("HostnamePath", f"{base}/hostname" if started else "")
    env.set("HostsPath", f"{base}/hosts" if started else "")
    env.set("Name", c.name).set("Driver", "aufs").set("ExecDriver", "native-0.2")
    env.set("MountLabel", "").set("ProcessLabel", "")
    env.set_json("Volumes", {}).set_json("VolumesRW", {}).set_json("HostConfig", host)
    await call.send_json(200, env.encode())


@route("containers.top")
async def top(call: Call) -> None:
    name = call.var("id")
    c = call.state.container(name)
    if not c.state.running and not call.deviant("top-stopped-200"):
        raise DaemonError(f"Container {name} is not running")
    started = time.strftime("%H:%M", time.gmtime((c.state.started_ns or 0) / 1e9))
    command = " ".join(c.argv)
    if "aux" in call.param("ps_args"):
        titles = PS_AUX_TITLES
        rows = [["root", str(c.state.pid), "0.0", "0.0", "1184", "4", "?", "Ss", started, "0:00", command]]
    else:
        titles = PS_EF_TITLES
        rows = [["root", str(c.state.pid), "1", "0", started, "?", "00:00:00", command]]
    env = Env().set_list("Titles", titles).set_json("Processes", rows)
    await call.send_json(200, env.encode())


@route("containers.changes")
async def changes(call: Call) -> None:
    c = call.state.container(call.var("id"))
    found = c.fs.changes()
    if not found and call.deviant("changes-null"):
        await call.send_json(200, b"null\n")
        return
    await call.send_json(200, call.table([Env().set("Path", p).set_int("Kind", k) for p, k in found]))


@route("containers.export")
async def export(call: Call) -> None:
    data = call.state.export(call.var("id"))
    await call.send_sniffed(200, data)


@route("containers.copy")
async def copy(call: Call) -> None:
    if media_type(call.request.header("content-type")) != JSON_TYPE:
        raise DaemonError(f"Content-Type not supported: {call.request.header('content-type') or ''}")
    body = job_env(call)
    resource = body.get("Resource")
    if not resource:
        raise DaemonError("Path cannot be empty")
    container = call.state.find(call.var("id"))
    if container is None:
        await call.send_text(404, b"", None)  # 1.2.0 only set the status: empty body
        return
    data = call.state.copy(call.var("id"), resource.lstrip("/"))
    if call.deviant("copy-wrong-name"):
        from .fs import tree_to_tar
        data = tree_to_tar(container.fs.tree(), "/" + resource.strip("/"), rename="resource")
    await call.send_sniffed(200, data)


# --- creating and running -----------------------------------------------------------------------------------


@route("containers.create")
async def create(call: Call) -> None:
    container, warnings = call.state.create(job_env(call), call.param("name"))
    env = Env().set("Id", call.id(container.id)).set_list("Warnings", warnings)
    await call.send_json(200 if call.deviant("create-200") else 201, env.encode())


@route("containers.start")
async def start(call: Call) -> None:
    request = call.request
    host_config = None
    chunked = "chunked" in (request.header("transfer-encoding") or "").lower()
    if request.body and not chunked:
        if media_type(request.header("content-type")) != JSON_TYPE:
            raise DaemonError("Content-Type of application/json is required")
        env = job_env(call)
        if len(env):
            host_config = host_config_from_env(env)
    running = call.state.find(call.var("id"))
    if running is not None and running.state.running and call.deviant("start-running-204"):
        await call.send_empty(204)
        return
    call.state.start(call.var("id"), host_config)
    await call.send_empty(204)


@route("containers.stop")
async def stop(call: Call) -> None:
    c = call.state.find(call.var("id"))
    if c is not None and (c.state.running and call.deviant("stop-noop")
                          or not c.state.running and call.deviant("stop-stopped-204")):
        await call.send_empty(204)
        return
    await call.state.stop(call.var("id"), call.integer("t"))
    await call.send_empty(204)


@route("containers.restart")
async def restart(call: Call) -> None:
    if call.deviant("restart-leaves-stopped"):
        if call.state.container(call.var("id")).state.running:
            await call.state.stop(call.var("id"), call.integer("t"))
        await call.send_empty(204)
        return
    await call.state.restart(call.var("id"), call.integer("t"))
    await call.send_empty(204)


@route("containers.kill")
async def kill(call: Call) -> None:
    c = call.state.find(call.var("id"))
    if c is not None and not c.state.running and call.deviant("kill-stopped-500"):
        raise DaemonError(f"Cannot kill container {call.var('id')}: Container {c.id} is not running")
    if c is not None and c.state.running and not c.state.paused and call.deviant("kill-noop"):
        await call.send_empty(204)
        return
    await call.state.kill(call.var("id"), call.param("signal"))
    await call.send_empty(204)


@route("containers.pause")
async def pause(call: Call) -> None:
    c = call.state.find(call.var("id"))
    if c is not None and (c.state.paused and call.deviant("pause-paused-204")
                          or c.state.running and not c.state.paused and call.deviant("pause-noop")):
        await call.send_empty(204)
        return
    call.state.pause(call.var("id"))
    await call.send_empty(204)


@route("containers.unpause")
async def unpause(call: Call) -> None:
    c = call.state.find(call.var("id"))
    if c is not None and c.state.paused and call.deviant("unpause-noop"):
        await call.send_empty(204)
        return
    call.state.unpause(call.var("id"))
    await call.send_empty(204)


@route("containers.wait")
async def wait(call: Call) -> None:
    name = call.var("id")
    c = call.state.find(name)
    if c is None:
        if call.deviant("wait-404"):
            raise DaemonError(f"No such container: {name}")
        raise DaemonError(f"wait: no such container: {name}")
    call.exchange.watch()
    waiter = asyncio.ensure_future(c.exited.wait())
    gone = asyncio.ensure_future(call.exchange.disconnected.wait())
    try:
        await asyncio.wait({waiter, gone}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiter.cancel()
        gone.cancel()
    if not c.exited.is_set():
        call.exchange.must_close = True
        return
    await call.send_json(200, Env().set_int("StatusCode", c.state.exit_code).encode())


@route("containers.delete")
async def delete(call: Call) -> None:
    c = call.state.find(call.var("id"))
    if c is not None and c.state.running and not call.flag("force") and not call.flag("link"):
        if call.deviant("rm-running-409"):
            raise DaemonError("Conflict, You cannot remove a running container. Stop the container before "
                              "attempting removal or use -f")
        if call.deviant("rm-running-removes"):
            await call.state.remove(call.var("id"), force=True, link=False)
            await call.send_empty(204)
            return
    await call.state.remove(call.var("id"), force=call.flag("force"), link=call.flag("link"))
    await call.send_empty(204)


@route("containers.resize")
async def resize(call: Call) -> None:
    for key in ("h", "w"):
        try:
            atoi(call.param(key))
        except NumError as exc:
            raise DaemonError(str(exc)) from None
    call.state.container(call.var("id"))
    await call.send_text(200, b"", None)


# --- logs -----------------------------------------------------------------------------------------------


class _LineSplitter:
    """Cuts live output into log lines per stream, as the json log did."""

    def __init__(self) -> None:
        self._partial: dict[int, bytes] = {1: b"", 2: b""}

    def feed(self, stream: int, data: bytes) -> list[tuple[int, bytes]]:
        buf = self._partial[stream] + data
        *lines, rest = buf.split(b"\n")
        self._partial[stream] = rest
        return [(stream, line + b"\n") for line in lines]

    def flush(self) -> list[tuple[int, bytes]]:
        out = [(s, d) for s, d in self._partial.items() if d]
        self._partial = {1: b"", 2: b""}
        return out


@route("containers.logs")
async def logs(call: Call) -> None:
    want = {1: call.flag("stdout"), 2: call.flag("stderr")}
    if not want[1] and not want[2]:
        raise DaemonError("Bad parameters: you must choose at least one stream")
    c = call.state.container(call.var("id"))
    follow, stamps = call.flag("follow"), call.flag("timestamps")
    tail_text = call.param("tail") or "all"
    tail = -1
    if tail_text != "all":
        try:
            tail = atoi(tail_text)
        except NumError:
            tail = -1  # strconv.Atoi failed: all of the log
    history = c.logs.select({s for s, wanted in want.items() if wanted}, tail)
    queue = c.listen() if follow and c.state.running else None
    raw = c.tty and not call.deviant("tty-frames")

    def render(ns: int, stream: int, data: bytes) -> bytes:
        if stamps:
            data = rfc3339nano(ns).encode() + b" " + data
        return data if raw else call.frame(stream, data)

    body = bytearray()
    for line in history:
        body += render(line.ns, line.stream, line.data)
    body = bytes(body)
    if queue is not None:
        call.exchange.watch()
    try:
        if queue is None:
            if call.deviant("frame-truncated") and not raw and body:
                body = body[:-3]
            if not body:
                await call.send_text(200, b"", None)
                return
            await call.begin_stream(200, sniff(body))
            await call.write(body)
            await call.finish()
            return
        started = False
        if body:
            await call.begin_stream(200, sniff(body))
            await call.write(body)
            started = True
        splitter = _LineSplitter()
        gone = asyncio.ensure_future(call.exchange.disconnected.wait())
        try:
            while True:
                getter = asyncio.ensure_future(queue.get())
                done, _ = await asyncio.wait({getter, gone}, return_when=asyncio.FIRST_COMPLETED)
                if getter not in done:
                    getter.cancel()
                    call.exchange.must_close = True
                    return
                item = getter.result()
                pieces = splitter.flush() if item is None else splitter.feed(*item)
                chunk = b"".join(render(time.time_ns(), s, d) for s, d in pieces if want[s])
                if chunk:
                    if not started:
                        await call.begin_stream(200, sniff(chunk))
                        started = True
                    await call.write(chunk)
                if item is None:
                    break
        finally:
            gone.cancel()
        if started:
            await call.finish()
        else:
            await call.send_text(200, b"", None)
    finally:
        if queue is not None:
            c.unlisten(queue)
