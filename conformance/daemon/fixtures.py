"""Synthetic inputs for the daemon: a busybox-like root filesystem tar and build contexts.

Tests and the suite import these instead of pulling (the daemon has no network), e.g.
`POST /images/create?fromSrc=-&repo=busybox&tag=latest` with `busybox_tar()` as the body.
"""

from __future__ import annotations

import io
import tarfile

from .simulator import BUILTINS, SHELL_ONLY

_DIRS = ("bin", "dev", "etc", "home", "lib", "proc", "root", "sys", "tmp", "usr", "usr/bin", "var", "var/log")


def _tar(entries: list[tuple[str, bytes | None, int, str]]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for name, data, mode, link in entries:
            info = tarfile.TarInfo(name)
            info.mode, info.mtime = mode, 1409000000
            if link:
                info.type, info.linkname = tarfile.SYMTYPE, link
                tar.addfile(info)
            elif data is None:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def busybox_tar() -> bytes:
    """A small busybox-like rootfs: the usual directories, /bin/busybox and a symlink per simulated tool."""
    entries: list[tuple[str, bytes | None, int, str]] = [(d + "/", None, 0o755, "") for d in _DIRS]
    entries.append(("bin/busybox", b"\x7fELF simulated busybox\n", 0o755, ""))
    entries += [(f"bin/{tool}", None, 0o777, "busybox") for tool in sorted(set(BUILTINS) - SHELL_ONLY)]
    entries.append(("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n", 0o644, ""))
    entries.append(("etc/group", b"root:x:0:\n", 0o644, ""))
    entries.append(("etc/hostname", b"busybox\n", 0o644, ""))
    return _tar(entries)


def context_tar(files: dict[str, bytes | str]) -> bytes:
    """A build context: each name to its content (a Dockerfile among them, usually)."""
    return _tar([(name, data.encode() if isinstance(data, str) else data, 0o644, "")
                 for name, data in sorted(files.items())])
