"""Images and repositories: the graph, tags, lookups and deletion, with 1.2.0's messages."""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass, field

from .encoding import rfc3339nano
from .errors import DaemonError
from .fs import Layer, Node, layer_size, merge
from .gojson import GoJsonError, Struct, StructDecoder, unmarshal

DEFAULT_TAG = "latest"
_REPO_RE = re.compile(r"^[a-z0-9_.-]+$")


def new_id() -> str:
    """A 64-hex id whose short form is not all digits (so it never reads as a JSON number)."""
    while True:
        candidate = secrets.token_hex(32)
        if not candidate[:12].isdigit():
            return candidate


def short(id: str) -> str:
    return id[:12]


def parse_repository_tag(name: str) -> tuple[str, str]:
    """parsers.ParseRepositoryTag: split at the last ':' unless what follows has a '/'."""
    n = name.rfind(":")
    if n < 0:
        return name, ""
    tag = name[n + 1:]
    if "/" not in tag:
        return name[:n], tag
    return name, ""


def validate_repository_name(repo: str) -> None:
    if not repo:
        raise DaemonError("Repository name can't be empty")
    name = repo.split("/", 1)[1] if "/" in repo and ("." in repo.split("/")[0] or ":" in repo.split("/")[0]) \
        else repo
    for part in name.split("/"):
        if not _REPO_RE.match(part):
            raise DaemonError(f"Invalid repository name ({part}), only [a-z0-9-_.] are allowed")


def validate_tag(tag: str) -> None:
    if "/" in tag or ":" in tag:
        raise DaemonError(f"Illegal tag name: {tag}")


def default_config() -> dict:
    """runconfig.Config with Go zero values, in struct order."""
    return {
        "Hostname": "", "Domainname": "", "User": "", "Memory": 0, "MemorySwap": 0, "CpuShares": 0,
        "Cpuset": "", "AttachStdin": False, "AttachStdout": False, "AttachStderr": False, "PortSpecs": None,
        "ExposedPorts": None, "Tty": False, "OpenStdin": False, "StdinOnce": False, "Env": None, "Cmd": None,
        "Image": "", "Volumes": None, "WorkingDir": "", "Entrypoint": None, "NetworkDisabled": False,
        "OnBuild": None,
    }


@dataclass
class Image:
    """One image (one layer) of the graph."""

    id: str
    layer: Layer
    parent: str = ""
    created_ns: int = field(default_factory=time.time_ns)
    comment: str = ""
    container: str = ""
    container_config: dict = field(default_factory=default_config)
    author: str = ""
    config: dict | None = None
    docker_version: str = "1.2.0"
    architecture: str = "amd64"
    os: str = "linux"

    @property
    def size(self) -> int:
        return layer_size(self.layer)

    @property
    def created(self) -> int:
        return self.created_ns // 1_000_000_000

    def to_json(self) -> dict:
        """The image's `json` file (image.Image marshalled: struct order, omitempty)."""
        out: dict = {"id": self.id}
        if self.parent:
            out["parent"] = self.parent
        if self.comment:
            out["comment"] = self.comment
        out["created"] = rfc3339nano(self.created_ns)
        if self.container:
            out["container"] = self.container
        out["container_config"] = self.container_config
        if self.docker_version:
            out["docker_version"] = self.docker_version
        if self.author:
            out["author"] = self.author
        if self.config is not None:
            out["config"] = self.config
        out["architecture"] = self.architecture
        out["os"] = self.os
        out["Size"] = self.size
        return out

    @classmethod
    def from_json(cls, text: bytes, layer: Layer, image_id: str, max_depth: int) -> Image:
        """image.NewImgJSON: the `json` file of a tarball into image.Image, with Go's first decode error."""
        try:
            value = unmarshal(text, max_depth)
        except GoJsonError as exc:
            raise DaemonError(exc.message) from None
        decoder = StructDecoder(time_parser=parse_rfc3339)
        try:
            data = decoder.decode(value, IMAGE_JSON)
        except GoJsonError as exc:  # time.Time's UnmarshalJSON ended the decode
            raise DaemonError(exc.message) from None
        if decoder.error is not None:
            raise DaemonError(decoder.error)
        return cls(
            id=image_id, layer=layer, parent=data["parent"], created_ns=data["created"],
            comment=data["comment"], container=data["container"], container_config=data["container_config"],
            author=data["author"], config=data["config"], docker_version=data["docker_version"],
            architecture=data["architecture"] or "amd64", os=data["os"] or "linux")


_STRINGS = ("slice", "string", "[]string")
_EMPTY = Struct("struct {}", {})
CONFIG = Struct("runconfig.Config", {
    "Hostname": "string", "Domainname": "string", "User": "string", "Memory": "int64", "MemorySwap": "int64",
    "CpuShares": "int64", "Cpuset": "string", "AttachStdin": "bool", "AttachStdout": "bool",
    "AttachStderr": "bool", "PortSpecs": _STRINGS, "ExposedPorts": ("map", _EMPTY, "map[nat.Port]struct {}"),
    "Tty": "bool", "OpenStdin": "bool", "StdinOnce": "bool", "Env": _STRINGS, "Cmd": _STRINGS, "Image": "string",
    "Volumes": ("map", _EMPTY, "map[string]struct {}"), "WorkingDir": "string", "Entrypoint": _STRINGS,
    "NetworkDisabled": "bool", "OnBuild": _STRINGS}, zero=default_config)
IMAGE_JSON = Struct("image.Image", {
    "id": "string", "parent": "string", "comment": "string", "created": "time", "container": "string",
    "container_config": CONFIG, "docker_version": "string", "author": "string", "config": ("ptr", CONFIG, ""),
    "architecture": "string", "os": "string", "Size": "int64"})
_RFC3339 = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})")
_LAYOUT = '"2006-01-02T15:04:05Z07:00"'


def _days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date (any year, 0 included)."""
    year -= month <= 2
    era = year // 400
    yoe = year - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    return era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468


def _days_in(month: int, year: int) -> int:
    if month == 2:
        return 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28
    return 30 if month in (4, 6, 9, 11) else 31


def parse_rfc3339(raw: str) -> int:
    """time.Time.UnmarshalJSON in Go 1.3: Parse(`"`+RFC3339+`"`, raw), `raw` being the JSON text as sent;
    nanoseconds since the epoch, or a GoJsonError with Go's text (Go 1.3's time quote() did not escape)."""
    m = _RFC3339.fullmatch(raw[1:-1]) if len(raw) >= 2 and raw[0] == raw[-1] == '"' else None
    if m is None:
        rest, element = (raw[1:], "2006") if raw.startswith('"') else (raw, '"')
        raise GoJsonError(f'parsing time "{raw}" as "{_LAYOUT}": cannot parse "{rest}" as "{element}"')
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    for name, value, low, high in (("month", month, 1, 12), ("day", day, 1, 31), ("hour", hour, 0, 23),
                                   ("minute", minute, 0, 59), ("second", second, 0, 59)):
        if not low <= value <= high:
            raise GoJsonError(f'parsing time "{raw}": {name} out of range')
    if day > _days_in(month, year):
        raise GoJsonError(f'parsing time "{raw}": day out of range')
    zone = m.group(8)
    offset = 0 if zone == "Z" else (1 if zone[0] == "+" else -1) * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
    seconds = _days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second - offset
    frac = (m.group(7) or ".0")[1:10].ljust(9, "0")
    return seconds * 1_000_000_000 + int(frac)


class ImageStore:
    """The graph and the tag store."""

    def __init__(self) -> None:
        self.images: dict[str, Image] = {}
        self.repositories: dict[str, dict[str, str]] = {}

    # --- lookups ---
    def by_prefix(self, prefix: str) -> Image | None:
        if not prefix:
            raise DaemonError("prefix can't be empty")
        if prefix in self.images:
            return self.images[prefix]
        found = [i for i in self.images if i.startswith(prefix)]
        if len(found) > 1:
            raise DaemonError(f"Multiple IDs found with provided prefix: {prefix}")
        return self.images[found[0]] if found else None

    def lookup(self, name: str) -> Image | None:
        """TagStore.LookupImage: repo:tag first, then an id or unique id prefix."""
        repo, tag = parse_repository_tag(name)
        tags = self.repositories.get(repo)
        if tags is not None:
            tag = tag or DEFAULT_TAG
            if tag in tags:
                return self.images[tags[tag]]
            for image_id in tags.values():
                if image_id.startswith(tag):
                    return self.images[image_id]
        return self.by_prefix(name)

    def names_of(self, image_id: str) -> list[str]:
        return sorted(f"{repo}:{tag}" for repo, tags in self.repositories.items()
                      for tag, i in tags.items() if i == image_id)

    def display_name(self, image_id: str) -> str:
        """TagStore.ImageName: the first repo:tag naming the image, else its short id."""
        names = self.names_of(image_id)
        return names[0] if names else short(image_id)

    def children(self, image_id: str) -> list[Image]:
        return [i for i in self.images.values() if i.parent == image_id]

    def chain(self, image: Image) -> list[Image]:
        """The image and its ancestors, the image first; a walk that meets an image twice stops there."""
        out = [image]
        seen = {image.id}
        while out[-1].parent and out[-1].parent in self.images and out[-1].parent not in seen:
            seen.add(out[-1].parent)
            out.append(self.images[out[-1].parent])
        return out

    def tree(self, image: Image) -> dict[str, Node]:
        return merge([i.layer for i in reversed(self.chain(image))])

    def virtual_size(self, image: Image, known: dict[str, int] | None = None) -> int:
        """The sizes of the image and its ancestors; `known` keeps sums across calls (one list request)."""
        if known is None:
            return sum(i.size for i in self.chain(image))
        walk: list[Image] = []
        seen: set[str] = set()
        layer: Image | None = image
        while layer is not None and layer.id not in known and layer.id not in seen:
            seen.add(layer.id)
            walk.append(layer)
            layer = self.images.get(layer.parent) if layer.parent else None
        total = known[layer.id] if layer is not None and layer.id in known else 0
        for layer in reversed(walk):
            total += layer.size
            known[layer.id] = total
        return known[image.id]

    # --- changes ---
    def add(self, image: Image) -> Image:
        """Register an image; one whose parents lead back to itself is refused (the graph stays acyclic)."""
        # only an id already in the graph can be an ancestor of the new image's parent
        ancestor, seen = (image.parent if image.id in self.images or image.parent == image.id else ""), set()
        while ancestor and ancestor not in seen:
            if ancestor == image.id:
                raise DaemonError(f"Image {image.id} would be its own ancestor")
            seen.add(ancestor)
            parent = self.images.get(ancestor)
            ancestor = parent.parent if parent is not None else ""
        self.images[image.id] = image
        return image

    def tag(self, repo: str, tag: str, image_id: str) -> None:
        validate_repository_name(repo)
        tag = tag or DEFAULT_TAG
        validate_tag(tag)
        self.repositories.setdefault(repo, {})[tag] = image_id

    def untag(self, repo: str, tag: str) -> bool:
        tags = self.repositories.get(repo)
        if not tags or tag not in tags:
            return False
        del tags[tag]
        if not tags:
            del self.repositories[repo]
        return True

    def heads(self) -> list[Image]:
        parents = {i.parent for i in self.images.values()}
        return [i for i in self.images.values() if i.id not in parents]
