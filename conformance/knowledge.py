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
    """Per-session memory of containers, keyed by full id or name (prefixes of ids resolve)."""

    def __init__(self) -> None:
        self._tty: dict[str, bool] = {}  # full id or name -> tty
        self._names: dict[str, str] = {}  # name -> id
        self._state: dict[str, str] = {}  # full id or name -> created/running/paused/exited
        self._exec_tty: dict[str, bool] = {}  # exec id (later API) -> tty, from POST /containers/{id}/exec

    # -- exec ---------------------------------------------------------------------------------
    def remember_exec(self, exec_id: str, tty: bool) -> None:
        self._exec_tty[exec_id] = tty

    def exec_tty(self, exec_id: str) -> bool | None:
        return self._exec_tty.get(exec_id)

    # -- tty ----------------------------------------------------------------------------------
    def remember(self, container_id: str | None, name: str | None, tty: bool) -> None:
        for key in self._keys(container_id, name):
            self._tty[key] = tty
        if name and container_id:
            self._names[name.lstrip("/")] = container_id

    def tty(self, ref: str) -> bool | None:
        """True/False when known; None when the container was never seen."""
        return self._lookup(self._tty, ref)

    # -- state --------------------------------------------------------------------------------
    def moved(self, ref: str, endpoint_id: str) -> None:
        """A lifecycle request on `ref` succeeded: remember the state it leads to."""
        if endpoint_id not in TRANSITIONS:
            return
        state = TRANSITIONS[endpoint_id]
        keys = self._aliases(ref)
        for key in keys:
            if state is None:
                self._state.pop(key, None)
            else:
                self._state[key] = state

    def observed(self, container_id: str | None, name: str | None, state: str) -> None:
        for key in self._keys(container_id, name):
            self._state[key] = state

    def state(self, ref: str) -> str | None:
        return self._lookup(self._state, ref)

    # -- lookup -------------------------------------------------------------------------------
    @staticmethod
    def _keys(container_id: str | None, name: str | None) -> list[str]:
        return [k for k in (container_id, name.lstrip("/") if name else None) if k]

    def _aliases(self, ref: str) -> list[str]:
        ref = ref.lstrip("/")
        out = {ref}
        if ref in self._names:
            out.add(self._names[ref])
        known = ref in self._tty or ref in self._state or ref in self._names
        full = None if known else self._resolve_prefix(ref)
        if full:
            out.add(full)
        out.update(n for n, i in self._names.items() if i in out)
        return sorted(out)

    def _resolve_prefix(self, ref: str) -> str | None:
        if not _HEX.fullmatch(ref):
            return None
        hits = {k for k in set(self._tty) | set(self._state) | set(self._names.values()) if k.startswith(ref)
                and _HEX.fullmatch(k)}
        return hits.pop() if len(hits) == 1 else None

    def _lookup(self, table: dict, ref: str):
        ref = ref.lstrip("/")
        if ref in table:
            return table[ref]
        if ref in self._names and self._names[ref] in table:
            return table[self._names[ref]]
        if len(ref) >= 3 and _HEX.fullmatch(ref):
            hits = {v for k, v in table.items() if k.startswith(ref)}
            if len(hits) == 1:
                return hits.pop()
        return None
