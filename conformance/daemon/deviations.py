"""Deliberate faults: each deviation makes the reference daemon break one rule of the rule book.

`conformance serve --deviate NAME` turns one on; the suite must then fail exactly the tests of that rule.
Every deviation names the rule id it breaks (conformance/rules/), so reports can be cross-checked.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Deviation:
    name: str
    rule: str
    description: str


DEVIATIONS: tuple[Deviation, ...] = (
    Deviation("json-errors", "v114.error.plain-text",
              "error responses are JSON {\"message\":...} with application/json, as API >= 1.24 daemons"),
    Deviation("frame-stream-type-3", "v114.frame.stream-type",
              "stderr frames of logs and attach carry stream type 3 instead of 2"),
    Deviation("frame-padding", "v114.frame.padding", "frame headers have 0x01 in bytes 1-3"),
    Deviation("frame-truncated", "v114.frame.truncated",
              "non-follow logs of a multiplexed container end in the middle of the last frame"),
    Deviation("tty-frames", "v114.frame.raw-expected",
              "logs and attach of a TTY container are multiplexed in frames instead of raw"),
    Deviation("json-no-content-type", "v114.content-type.missing",
              "JSON responses are sent without a Content-Type header"),
    Deviation("get-json-content-type", "v114.content-type.mismatch",
              "images/{name}/get says Content-Type application/json for its tar"),
    Deviation("changes-null", "v114.json.null-list", "changes with nothing to report answer null, not []"),
    Deviation("create-200", "v114.status.unexpected", "container create answers 200 instead of 201"),
    Deviation("error-wording", "v114.outcome.body",
              "an unknown container's error keeps its status but is worded as podman words it "
              "(`no container with name or ID \"x\" found: no such container`), not `No such container: x`"),
    Deviation("wait-404", "v114.status.doc-only",
              "wait on an unknown container answers 404 (as the doc says) instead of 1.2.0's 500"),
    Deviation("no-content-body", "v114.status.no-body", "204 responses carry a 2-byte body `OK`"),
    Deviation("inspect-no-state", "v114.json.schema", "container inspect leaves out the State object"),
    Deviation("list-trailing-comma", "v114.json.invalid",
              "JSON lists are written with a trailing comma before `]` (not JSON)"),
    Deviation("info-booleans", "v114.json.type-drift",
              "/info flags (Debug, MemoryLimit, SwapLimit, IPv4Forwarding) are true/false, not 0/1"),
    Deviation("sha256-ids", "v114.json.id-format",
              "container and image ids in JSON bodies carry a `sha256:` prefix"),
    Deviation("api-version-1.41", "v114.json.api-version", "/version reports ApiVersion 1.41"),
    Deviation("events-no-time", "v114.events.invalid", "event objects have no `time` field"),
    Deviation("events-window-ignored", "v114.events.window",
              "events replays every buffered event, ignoring `since` and `until` as a lower/upper bound"),
    Deviation("jsonmessage-error-only", "v114.jsonmessage.error-form",
              "in-band JSON-message errors carry `error` without `errorDetail`"),
    Deviation("jsonmessage-truncated", "v114.jsonmessage.truncated",
              "image import streams end in the middle of their last JSON object"),
    Deviation("image-tar-no-version", "v114.tar.image-layout",
              "images/{name}/get writes no <id>/VERSION files"),
    Deviation("copy-wrong-name", "v114.tar.copy-resource",
              "copy's tar names the resource `resource` instead of its base name"),
    Deviation("ping-pong", "v114.text.ping", "/_ping answers `pong` instead of `OK`"),
    Deviation("tag-body", "v114.body.expected-empty", "image tag answers 201 with a body `OK`"),
    Deviation("attach-always-101", "v114.hijack.status",
              "attach answers 101 UPGRADED even when the client did not ask to upgrade"),
    Deviation("attach-content-type", "v114.hijack.content-type",
              "the hijacked attach response says application/octet-stream"),
    Deviation("websocket-binary", "v114.websocket.opcode", "websocket attach sends binary frames, not text"),
    Deviation("later-headers", "v114.header.later",
              "every response carries Server, Api-Version and Ostype headers as 20.10 does"),
    Deviation("serve-newer-versions", "v114.version.too-new-served",
              "requests prefixed with a version above 1.14 are served instead of refused with 404"),
    # lifecycle: a wrong answer to a transition, or a transition that does not happen
    Deviation("start-running-204", "v114.outcome.status", "start of a running container answers 204, not 304"),
    Deviation("stop-stopped-204", "v114.outcome.status", "stop of a stopped container answers 204, not 304"),
    Deviation("pause-paused-204", "v114.outcome.status",
              "pause of a paused container answers 204 instead of 1.2.0's 500"),
    Deviation("kill-stopped-500", "v114.outcome.status",
              "kill of a container that is not running answers 500 instead of 1.2.0's 204"),
    Deviation("rm-running-409", "v114.status.cause",
              "rm of a running container without force answers 409 (as 20.10) instead of 500"),
    Deviation("top-stopped-200", "v114.outcome.status",
              "top of a container that is not running answers 200 with a process list instead of 500"),
    Deviation("kill-noop", "v114.lifecycle.state", "kill answers 204 and leaves the container running"),
    Deviation("stop-noop", "v114.lifecycle.state", "stop answers 204 and leaves the container running"),
    Deviation("pause-noop", "v114.lifecycle.state", "pause answers 204 and leaves the container running"),
    Deviation("unpause-noop", "v114.lifecycle.state", "unpause answers 204 and leaves the container paused"),
    Deviation("restart-leaves-stopped", "v114.lifecycle.state",
              "restart answers 204 and leaves the container stopped"),
    Deviation("rm-running-removes", "v114.outcome.status",
              "rm of a running container without force removes it (1.2.0 refuses with 500)"),
)

BY_NAME: dict[str, Deviation] = {d.name: d for d in DEVIATIONS}
assert len(BY_NAME) == len(DEVIATIONS), "duplicate deviation name"


def resolve(names: list[str] | tuple[str, ...] | frozenset[str]) -> frozenset[str]:
    """Validate deviation names (a rule id naming exactly one deviation is accepted too)."""
    out = set()
    for name in names:
        if name in BY_NAME:
            out.add(name)
            continue
        by_rule = [d.name for d in DEVIATIONS if d.rule == name]
        if len(by_rule) == 1:
            out.add(by_rule[0])
        elif by_rule:
            raise ValueError(f"rule {name} has several deviations: {', '.join(by_rule)}")
        else:
            raise ValueError(f"unknown deviation {name!r} (see `conformance serve --list-deviations`)")
    return frozenset(out)
