"""Misc endpoints: ping, version, info, events, auth (notes §2 Misc)."""

from __future__ import annotations

import asyncio
import os
import platform
import time

from .app import Call, route
from .encoding import Env, go_dumps
from .errors import DaemonError
from .gojson import GoJsonError, unmarshal

VERSION = "1.2.0"
GIT_COMMIT = "fa7b24f"
GO_VERSION = "go1.3.1"
INDEX = "https://index.docker.io/v1/"


def kernel_version() -> str:
    return platform.release() or "3.13.0"


@route("system.ping")
async def ping(call: Call) -> None:
    await call.send_text(200, "pong" if call.deviant("ping-pong") else "OK")


@route("system.version")
async def version(call: Call) -> None:
    env = Env().set("Version", VERSION)
    env.set_json("ApiVersion", "1.41" if call.deviant("api-version-1.41") else "1.14")
    env.set("GitCommit", GIT_COMMIT).set("GoVersion", GO_VERSION)
    env.set("Os", "linux").set("Arch", "amd64").set("KernelVersion", kernel_version())
    await _job_reply(call, "version", env.encode())


async def _job_reply(call: Call, job: str, body: bytes) -> None:
    """eng.ServeHTTP: Job-Name and one Job-Args per `a` value, 200 written before the job ran."""
    headers = [("Content-Type", "application/json")] if not call.deviant("json-no-content-type") else []
    headers += [("Job-Name", job)] + [("Job-Args", a) for a in call.form.get("a", [])]
    await call.exchange.respond(200, call.headers(*headers), body)


@route("system.info")
async def info(call: Call) -> None:
    state = call.state
    env = Env().set_int("Containers", len(state.containers)).set_int("Images", len(state.images.images))
    env.set("Driver", "aufs")
    layers = len(state.images.images) + 2 * len(state.containers)
    env.set_json("DriverStatus", [["Root Dir", "/var/lib/docker/aufs"], ["Dirs", str(layers)]])
    flags = {"MemoryLimit": True, "SwapLimit": True, "IPv4Forwarding": True, "Debug": False}
    for key, value in flags.items():
        if call.deviant("info-booleans"):
            env.set_json(key, value)
        else:
            env.set_bool(key, value)
    env.set_int("NFd", 10 + len(state.events.listeners))
    env.set_int("NGoroutines", 10 + len(asyncio.all_tasks()))
    env.set("ExecutionDriver", "native-0.2").set_int("NEventsListener", len(state.events.listeners))
    env.set("KernelVersion", kernel_version()).set("OperatingSystem", "conformance reference daemon (in-memory)")
    env.set("IndexServerAddress", INDEX).set("InitSha1", "").set("InitPath", "/usr/bin/docker")
    await _job_reply(call, "info", env.encode())


@route("system.events")
async def events(call: Call) -> None:
    log = call.state.events
    since, until = call.integer("since"), call.integer("until")
    queue = log.subscribe()
    try:
        await call.begin_stream(200, None if call.deviant("json-no-content-type") else "application/json")

        def encode(event) -> bytes:
            message = event.to_message()
            if call.deviant("events-no-time"):
                message.pop("time", None)
            return go_dumps(message, sort_keys=False).encode()

        if since != 0 or call.deviant("events-window-ignored"):
            window = list(log.recent) if call.deviant("events-window-ignored") else log.replay(since, until)
            for event in window:
                await call.write(encode(event))
        deadline = None if until == 0 else until - time.time()
        gone = asyncio.ensure_future(call.exchange.disconnected.wait())
        try:
            while deadline is None or deadline > 0:
                getter = asyncio.ensure_future(queue.get())
                done, _ = await asyncio.wait({getter, gone}, timeout=deadline,
                                             return_when=asyncio.FIRST_COMPLETED)
                if getter not in done:
                    getter.cancel()
                    if gone in done:
                        call.exchange.must_close = True
                        return
                    break  # until reached
                event = getter.result()
                if until == 0 or event.time <= until:
                    await call.write(encode(event))
                if deadline is not None:
                    deadline = until - time.time()
        finally:
            gone.cancel()
        await call.finish()
    finally:
        log.unsubscribe(queue)


@route("system.auth")
async def auth(call: Call) -> None:
    try:
        config = unmarshal(call.request.body or b"{}", call.state.limits.json_depth)
    except GoJsonError:
        config = {}
    if not isinstance(config, dict):
        config = {}
    address = str(config.get("serveraddress") or "")
    if address and address.rstrip("/") + "/" != INDEX:
        host = address.split("://")[-1].split("/")[0]
        raise DaemonError(f"Invalid Registry endpoint: Get https://{host}/v1/_ping: "
                          f"dial tcp: lookup {host.split(':')[0]}: no such host")
    raise DaemonError(f"Server Error: Post {INDEX}users/: dial tcp: lookup index.docker.io: no such host")


__all__ = ["os"]
