"""Everything the suite creates on a daemon: per-run names, a ledger, and removal even after failures."""

from __future__ import annotations

import itertools
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from .client import DaemonClient

HOST_CONFIG = {"NetworkMode": "none"}  # sent at start, the v1.14 way; CI daemons have no bridge
CLOCK_SLACK = 5  # seconds: image Created times are the daemon's clock, in whole seconds


def new_run_id() -> str:
    """A short lower-case id: container names and image repositories both accept it."""
    return f"v114s-{secrets.token_hex(3)}"


class Names:
    """Unique resource names under one prefix (run id plus xdist worker)."""

    def __init__(self, prefix: str):
        self.prefix = prefix
        self._counter = itertools.count(1)
        self._lock = threading.Lock()

    def __call__(self, kind: str = "c") -> str:
        with self._lock:
            return f"{self.prefix}-{kind}{next(self._counter)}"

    def owns(self, name: str) -> bool:
        return name.lstrip("/").startswith(self.prefix + "-")


@dataclass
class ResourceLedger:
    """Containers and images made by this process; `clean` removes them and anything else with the prefix."""

    names: Names
    containers: list[str] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.time)  # images older than this are never the run's own

    def note(self, kind: str, ref: str) -> None:
        (self.containers if kind == "container" else self.images).append(ref)

    def clean(self, api: DaemonClient) -> list[str]:
        """Remove every container (with its volumes) and image this run made; returns what could not be removed.

        Besides what it noted and what carries the run's prefix, the run owns every image descending from
        one of its images (its busybox import is unique to the run): the untagged layers an interrupted
        build leaves, which would otherwise keep their parent from being removed, and every container
        made from any of them (a build's intermediate containers when `rm=0`)."""
        left: list[str] = []
        images = self._our_image_refs(api)
        family = self._image_family(api, images)
        containers = list(dict.fromkeys(self.containers))
        try:
            listed = api.get("/containers/json", {"all": 1})
            if listed.status == 200:
                for c in listed.json() or []:
                    if any(self.names.owns(n) for n in c.get("Names") or []) or \
                            c.get("Image") in images or f"{c.get('Image')}:latest" in images or \
                            _bare(str(c.get("Image", ""))) in family:
                        containers.append(c["Id"])
        except Exception:  # noqa: BLE001  (cleanup must go on)
            pass
        for ref in dict.fromkeys(containers):
            try:
                r = api.delete(f"/containers/{ref}", {"force": 1, "v": 1})
                if r.status not in (204, 404):
                    left.append(f"container {ref}: {r.status} {r.text.strip()[:100]}")
            except Exception as exc:  # noqa: BLE001
                left.append(f"container {ref}: {exc!r}")
        # the family by id, children before parents; then the refs (a tag in a second repository keeps an
        # image when deleted by id); then, once more, what the refs were still holding
        held = [ref for ref in family.deepest_first() if _remove_image(api, ref)]
        left += [problem for ref in reversed(images) if (problem := _remove_image(api, ref))]
        left += [problem for ref in held if (problem := _remove_image(api, ref))]
        self.containers.clear()
        self.images.clear()
        return left

    def _our_image_refs(self, api: DaemonClient) -> list[str]:
        images = list(self.images)
        try:
            listed = api.get("/images/json")
            if listed.status == 200:
                for img in listed.json() or []:
                    for tag in img.get("RepoTags") or []:
                        # podman names them docker.io/library/<repo> or localhost/<repo>
                        bare = tag.removeprefix("docker.io/library/").removeprefix("localhost/")
                        if bare.startswith(self.names.prefix + "-"):
                            images.append(tag)
        except Exception:  # noqa: BLE001
            pass
        return list(dict.fromkeys(images))

    def _image_family(self, api: DaemonClient, refs: list[str]) -> ImageFamily:
        """The ids of `refs` and of every image below them in the daemon's parent chains (`all=1`), counting
        only images created since the run began: an image the run merely tagged (`--v114-image`, a user's)
        is not its own, nor is anything built on it."""
        roots: set[str] = set()
        parents: dict[str, str] = {}
        try:
            listed = api.get("/images/json", {"all": 1})
            if listed.status == 200:
                new = [img for img in listed.json() or [] if (img.get("Created") or 0) >= self.started - CLOCK_SLACK]
                parents = {_bare(img["Id"]): _bare(img.get("ParentId") or "") for img in new}
            for ref in refs:
                r = api.get(f"/images/{ref}/json")
                if r.status == 200 and _bare(r.json().get("Id") or "") in parents:
                    roots.add(_bare(r.json()["Id"]))
        except Exception:  # noqa: BLE001
            pass
        return ImageFamily(roots, parents)


def _remove_image(api: DaemonClient, ref: str) -> str:
    """Delete one image (force=1); "" when it is gone, else what the daemon said. A bare 64-digit id is
    tried again as `sha256:<id>` (podman's compat API refuses to normalise a bare id as a name)."""
    try:
        r = api.delete(f"/images/{ref}", {"force": 1})
        if r.status not in (200, 404) and _FULL_ID.fullmatch(ref):
            r = api.delete(f"/images/sha256:{ref}", {"force": 1})
    except Exception as exc:  # noqa: BLE001  (cleanup must go on)
        return f"image {ref}: {exc!r}"
    return "" if r.status in (200, 404) else f"image {ref}: {r.status} {r.text.strip()[:100]}"


_FULL_ID = re.compile(r"[0-9a-f]{64}")


def _bare(image_id: str) -> str:
    return image_id.removeprefix("sha256:")


@dataclass
class ImageFamily:
    """Images of the run: its own (roots) and their descendants, known by parent links."""

    roots: set[str]
    parents: dict[str, str]  # image id -> parent id ("" for none)

    def depth(self, image_id: str) -> int | None:
        """How far below a root the image is (0 for a root), None when it is not of the family."""
        seen = 0
        while image_id and seen <= len(self.parents):
            if image_id in self.roots:
                return seen
            image_id, seen = self.parents.get(image_id, ""), seen + 1
        return None

    def height(self, image_id: str) -> int:
        """How many ancestors the image has: a child is always higher than its parent."""
        n = 0
        while (image_id := self.parents.get(image_id, "")) and n <= len(self.parents):
            n += 1
        return n

    def __contains__(self, image_id: object) -> bool:
        """A full or (at least 12 digits) short id of an image of the family."""
        if not isinstance(image_id, str) or len(image_id) < 12:
            return False
        full = next((i for i in (*self.roots, *self.parents) if i.startswith(image_id)), image_id)
        return self.depth(full) is not None

    def deepest_first(self) -> list[str]:
        """Ids of the family's images (its own and those below), every child before its parent."""
        members = [i for i in self.parents if self.depth(i) is not None]
        return sorted(members, key=self.height, reverse=True)


class ContainerFactory:
    """Creates containers from the test image with a per-run name; starts them without a network."""

    def __init__(self, api: DaemonClient, image: str, names: Names):
        self.api = api
        self.image = image
        self.names = names

    def config(self, cmd: list[str] | None = None, **extra: Any) -> dict:
        # Tty is always sent: the checker reads a create body without it as a TTY container (bug reported)
        body: dict[str, Any] = {"Image": self.image, "Tty": False}
        if cmd is not None:
            body["Cmd"] = cmd
        body.update(extra)
        return body

    def create(self, cmd: list[str] | None = None, *, name: str | None = None, **extra: Any) -> str:
        name = name or self.names()
        r = self.api.post("/containers/create", {"name": name}, json_body=self.config(cmd, **extra))
        assert r.status == 201, f"create {name}: {r.status} {r.text[:200]}"
        return r.json()["Id"]

    def start(self, cid: str) -> None:
        r = self.api.post(f"/containers/{cid}/start", json_body=HOST_CONFIG)
        assert r.status == 204, f"start {cid[:12]}: {r.status} {r.text[:200]}"

    def run(self, cmd: list[str], **extra: Any) -> str:
        cid = self.create(cmd, **extra)
        self.start(cid)
        return cid

    def wait(self, cid: str, timeout: float = 30) -> int:
        r = self.api.post(f"/containers/{cid}/wait", timeout=timeout)
        assert r.status == 200, f"wait {cid[:12]}: {r.status} {r.text[:200]}"
        return r.json()["StatusCode"]

    def run_to_end(self, cmd: list[str], **extra: Any) -> str:
        cid = self.run(cmd, **extra)
        self.wait(cid)
        return cid

    def inspect(self, cid: str) -> dict:
        r = self.api.get(f"/containers/{cid}/json")
        assert r.status == 200, f"inspect {cid[:12]}: {r.status}"
        return r.json()

    def remove(self, cid: str) -> None:
        self.api.delete(f"/containers/{cid}", {"force": 1, "v": 1})
