"""What earlier exchanges taught about containers: ids, names, TTYs, exec TTYs and last known state.

The checker needs it because some verdicts depend on history: whether a container's stream is raw
(TTY) or multiplexed, and which cause an error answers (delete of a container the traffic shows
running). Only the traffic seen is known; anything else answers None and is not judged.
"""

from __future__ import annotations

import re

_HEX = re.compile(r"[0-9a-f]{3,64}")

# the state a successful lifecycle answer leaves the container in (endpoint id -> state; None: removed)
TRANSITIONS: dict[str, str | None] = {
    "containers.create": "created",
    "containers.start": "running",
    "containers.restart": "running",
    "containers.unpause": "running",
    "containers.pause": "paused",
    "containers.stop": "exited",
    "containers.kill": "exited",
    "containers.wait": "exited",
    "containers.delete": None,
}


class ContainerKnowledge:
    """Per-session memory of containers, keyed by full id (or by name while the id is unseen).

    Every reference the traffic uses, a name (with or without its `/`), a full id or a unique id
    prefix, is resolved to that one key by `_key`, as 1.2.0 resolves it: by name, then exact id,
    then a prefix matching exactly one known id."""

    def __init__(self) -> None:
        self._tty: dict[str, bool] = {}  # key -> tty
        self._state: dict[str, str] = {}  # key -> created/running/paused/exited
        self._names: dict[str, str] = {}  # name -> full id
        self._ids: set[str] = set()  # full ids seen
        self._exec_tty: dict[str, bool] = {}  # exec id (later API) -> tty, from POST /containers/{id}/exec

    # -- exec ---------------------------------------------------------------------------------
    def remember_exec(self, exec_id: str, tty: bool) -> None:
        self._exec_tty[exec_id] = tty

    def exec_tty(self, exec_id: str) -> bool | None:
        return self._exec_tty.get(exec_id)

    # -- tty ----------------------------------------------------------------------------------
    def remember(self, container_id: str | None, name: str | None, tty: bool) -> None:
        key = self._learn(container_id, name)
        if key:
            self._tty[key] = tty

    def tty(self, ref: str) -> bool | None:
        """True/False when known; None when the container was never seen."""
        return self._tty.get(self._key(ref))

    # -- state --------------------------------------------------------------------------------
    def moved(self, ref: str, endpoint_id: str) -> None:
        """A lifecycle request on `ref` succeeded: remember the state it leads to."""
        if endpoint_id not in TRANSITIONS:
            return
        state, key = TRANSITIONS[endpoint_id], self._key(ref)
        if state is None:
            self._state.pop(key, None)
        else:
            self._state[key] = state

    def observed(self, container_id: str | None, name: str | None, state: str) -> None:
        key = self._learn(container_id, name)
        if key:
            self._state[key] = state

    def state(self, ref: str) -> str | None:
        return self._state.get(self._key(ref))

    # -- keys ---------------------------------------------------------------------------------
    def _learn(self, container_id: str | None, name: str | None) -> str | None:
        """Record an id and its name; the key they are kept under (what was kept under the name moves)."""
        name = name.lstrip("/") if name else None
        if not container_id:
            return self._key(name) if name else None
        self._ids.add(container_id)
        if name:
            self._names[name] = container_id
            for table in (self._tty, self._state):  # known by name before its id was seen
                if name in table and container_id not in table:
                    table[container_id] = table.pop(name)
        return container_id

    def _key(self, ref: str) -> str:
        ref = ref.lstrip("/")
        if ref in self._names:
            return self._names[ref]
        if ref in self._ids or not _HEX.fullmatch(ref):
            return ref
        hits = [i for i in self._ids if i.startswith(ref)]
        return hits[0] if len(hits) == 1 else ref
