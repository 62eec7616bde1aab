"""In-memory filesystem layers: image layers, a container's writable layer, and tar in and out.

A layer maps absolute paths to `Node`s; `None` marks a whiteout (the path was deleted). Tars are real
archives built and read with `tarfile`, with aufs-style `.wh.` whiteouts in layer tars, as 1.2.0 wrote them.
"""

from __future__ import annotations

import io
import posixpath
import tarfile
from dataclasses import dataclass

from .tarballs import members, off_loop

WHITEOUT = ".wh."


@dataclass(frozen=True)
class Node:
    """One filesystem entry."""

    kind: str  # "file", "dir" or "symlink"
    data: bytes = b""
    mode: int = 0o644
    mtime: int = 0
    target: str = ""  # symlink target

    @property
    def is_dir(self) -> bool:
        return self.kind == "dir"


Layer = dict[str, "Node | None"]


def normalise(path: str, cwd: str = "/") -> str:
    """An absolute, normalised path ('/' for the root)."""
    joined = posixpath.join(cwd or "/", path)
    out = posixpath.normpath("/" + joined.lstrip("/"))
    return "/" if out in ("/", "//") else out


def _within(path: str, top: str) -> bool:
    return top == "/" or path == top or path.startswith(top + "/")


def merge(layers: list[Layer]) -> dict[str, Node]:
    """The tree seen through a stack of layers, lowest first.

    A whiteout, or a non-directory over a directory, hides everything below that path in the lower
    layers; each layer costs one pass over the tree, whatever its number of whiteouts.
    """
    tree: dict[str, Node] = {}
    for layer in layers:
        cut = {p for p, n in layer.items() if n is None or (not n.is_dir and p in tree and tree[p].is_dir)}
        if cut:
            tree = {p: n for p, n in tree.items() if not _under_any(p, cut)}
        for path in sorted(layer):
            node = layer[path]
            if node is not None:
                tree[path] = node
    return tree


def _under_any(path: str, tops: set[str]) -> bool:
    """path is one of tops or lies below one of them."""
    while True:
        if path in tops:
            return True
        if path in ("/", ""):
            return "/" in tops
        path = posixpath.dirname(path)


def layer_size(layer: Layer) -> int:
    return sum(len(n.data) for n in layer.values() if n is not None and n.kind == "file")


def layer_from_tar(data: bytes, limit: int) -> Layer:
    """Read a (possibly compressed) tar into a layer; `.wh.x` entries become whiteouts of `x`.

    An empty body reads as an empty layer, as Go's archive/tar saw EOF at the first header. More than
    `limit` unpacked bytes raise tarballs.UnpackLimit.
    """
    layer: Layer = {}
    if not data.strip(b"\0"):
        return layer
    for member, content in members(data, limit):
        path = normalise(member.name)
        if path == "/":
            continue
        head, base = posixpath.split(path)
        if base.startswith(WHITEOUT):
            if not base.startswith(WHITEOUT + WHITEOUT):  # .wh..wh.aufs and friends are metadata
                layer[posixpath.join(head, base[len(WHITEOUT):])] = None
            continue
        if member.isdir():
            layer[path] = Node("dir", mode=member.mode or 0o755, mtime=int(member.mtime))
        elif member.issym():
            layer[path] = Node("symlink", mode=0o777, mtime=int(member.mtime), target=member.linkname)
        elif member.islnk():
            linked = layer.get(normalise(member.linkname))
            layer[path] = linked if linked is not None else Node("file", mtime=int(member.mtime))
        elif content is not None:
            layer[path] = Node("file", content, member.mode or 0o644, int(member.mtime))
    return layer


async def unpack_layer(data: bytes, limit: int) -> Layer:
    """layer_from_tar in a worker thread: a big archive does not stop the daemon answering others."""
    return await off_loop(layer_from_tar, data, limit)


def _tarinfo(name: str, node: Node) -> tuple[tarfile.TarInfo, bytes | None]:
    info = tarfile.TarInfo(name + ("/" if node.is_dir and name else ""))
    info.mode = node.mode
    info.mtime = node.mtime
    info.uname = info.gname = "root"
    if node.is_dir:
        info.type = tarfile.DIRTYPE
        return info, None
    if node.kind == "symlink":
        info.type = tarfile.SYMTYPE
        info.linkname = node.target
        return info, None
    info.size = len(node.data)
    return info, node.data


def _write(entries: list[tuple[str, Node | None]]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for name, node in entries:
            if node is None:
                head, base = posixpath.split(name)
                info = tarfile.TarInfo(posixpath.join(head, WHITEOUT + base))
                tar.addfile(info, io.BytesIO(b""))
                continue
            info, content = _tarinfo(name, node)
            tar.addfile(info, io.BytesIO(content) if content is not None else None)
    return out.getvalue()


def layer_to_tar(layer: Layer) -> bytes:
    """A layer.tar: the layer's entries with whiteouts for deletions."""
    return _write([(p.lstrip("/"), layer[p]) for p in sorted(layer)])


def tree_to_tar(tree: dict[str, Node], top: str = "/", rename: str | None = None) -> bytes:
    """A tar of `top` and everything below it; names are relative to top's parent (copy) or to `/`."""
    entries: list[tuple[str, Node | None]] = []
    if top == "/":
        for path in sorted(tree):
            entries.append((path.lstrip("/"), tree[path]))
        return _write(entries)
    parent = posixpath.dirname(top)
    for path in sorted(p for p in tree if _within(p, top)):
        name = posixpath.relpath(path, parent)
        if rename is not None:
            name = rename + name[len(posixpath.basename(top)):]
        entries.append((name, tree[path]))
    return _write(entries)


class ContainerFs:
    """A container's view: the image tree plus its own writable layer."""

    def __init__(self, base: dict[str, Node]):
        self.base = base
        self.layer: Layer = {}

    def tree(self) -> dict[str, Node]:
        return merge([self.base, self.layer])

    def get(self, path: str) -> Node | None:
        if path == "/":
            return Node("dir", mode=0o755)
        if path in self.layer:
            return self.layer[path]
        parts = path.split("/")
        for i in range(2, len(parts)):  # a deleted or replaced ancestor hides the base entry
            ancestor = "/".join(parts[:i])
            if ancestor in self.layer and (self.layer[ancestor] is None or not self.layer[ancestor].is_dir):
                return None
        return self.base.get(path)

    def exists(self, path: str) -> bool:
        return self.get(path) is not None

    def is_dir(self, path: str) -> bool:
        node = self.get(path)
        return node is not None and node.is_dir

    def write_file(self, path: str, data: bytes, *, append: bool = False, mtime: int = 0) -> None:
        if not self.is_dir(posixpath.dirname(path)):
            raise FileNotFoundError(path)
        current = self.get(path)
        if current is not None and current.is_dir:
            raise IsADirectoryError(path)
        if append and current is not None:
            data = current.data + data
        self.layer[path] = Node("file", data, current.mode if current else 0o644, mtime)

    def mkdir(self, path: str, *, parents: bool = False, mtime: int = 0) -> None:
        if self.exists(path):
            if parents and self.is_dir(path):
                return
            raise FileExistsError(path)
        parent = posixpath.dirname(path)
        if not self.is_dir(parent):
            if not parents:
                raise FileNotFoundError(path)
            self.mkdir(parent, parents=True, mtime=mtime)
        self.layer[path] = Node("dir", mode=0o755, mtime=mtime)

    def remove(self, path: str, *, recursive: bool = False) -> None:
        node = self.get(path)
        if node is None:
            raise FileNotFoundError(path)
        if node.is_dir and not recursive:
            raise IsADirectoryError(path)
        for p in [p for p in self.layer if _within(p, path)]:
            del self.layer[p]
        if any(_within(p, path) for p in self.base):
            self.layer[path] = None

    def listdir(self, path: str) -> list[str]:
        prefix = path.rstrip("/") + "/"
        return sorted({p[len(prefix):].split("/")[0] for p in self.tree() if p.startswith(prefix)})

    def changes(self) -> list[tuple[str, int]]:
        """(path, kind) as archive.Changes reported them: 0 modify, 1 add, 2 delete; parents modified."""
        found: dict[str, int] = {}
        for path, node in self.layer.items():
            if node is None:
                found[path] = 2
            else:
                found[path] = 0 if path in self.base else 1
            parent = posixpath.dirname(path)
            while parent != "/":
                if parent not in found and parent in self.base:
                    found[parent] = 0
                parent = posixpath.dirname(parent)
        return sorted(found.items())
