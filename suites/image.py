"""The suite's test image: a rootfs tar holding a static busybox and its applet links, imported per run."""

from __future__ import annotations

import io
import os
import tarfile

BUSYBOX_CANDIDATES = ("/bin/busybox", "/usr/bin/busybox")
APPLETS = ("sh", "echo", "cat", "sleep", "true", "false", "ls", "env", "head", "printf", "touch", "mkdir",
           "rm", "seq", "yes", "wc", "tee", "pwd", "id", "hostname", "date", "ps", "top", "uname", "test")
MTIME = 1_400_000_000  # about the age of API v1.14; fixed so the tar is deterministic
STUB = b"#!stub: no static busybox on this host; only the reference daemon can run this image\n"


def _is_static_elf(path: str) -> bool:
    """Debian's busybox-static: an ELF with no PT_INTERP (no dynamic loader, so no libc needed)."""
    try:
        with open(path, "rb") as f:
            data = f.read(1 << 16)
    except OSError:
        return False
    return data[:4] == b"\x7fELF" and b"/lib64/ld-linux" not in data and b"/lib/ld-" not in data


def find_static_busybox() -> str | None:
    for path in BUSYBOX_CANDIDATES:
        if os.path.exists(path) and _is_static_elf(path):
            return path
    return None


def _entry(name: str, kind: bytes, mode: int) -> tarfile.TarInfo:
    ti = tarfile.TarInfo(name)
    ti.type, ti.mode, ti.mtime = kind, mode, MTIME
    ti.uid = ti.gid = 0
    ti.uname = ti.gname = "root"
    return ti


def busybox_rootfs(busybox: str | None = None) -> bytes:
    """A rootfs tar: /bin/busybox, /bin/<applet> symlinks, the usual empty dirs and /etc/passwd."""
    busybox = busybox or find_static_busybox()
    binary = open(busybox, "rb").read() if busybox else STUB
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for d in ("bin", "dev", "etc", "proc", "root", "sys", "tmp", "var"):
            tar.addfile(_entry(d, tarfile.DIRTYPE, 0o1777 if d == "tmp" else 0o755))
        ti = _entry("bin/busybox", tarfile.REGTYPE, 0o755)
        ti.size = len(binary)
        tar.addfile(ti, io.BytesIO(binary))
        for applet in APPLETS:
            link = _entry(f"bin/{applet}", tarfile.SYMTYPE, 0o777)
            link.linkname = "busybox"
            tar.addfile(link)
        for name, text in (("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n"),
                           ("etc/group", b"root:x:0:\n")):
            ti = _entry(name, tarfile.REGTYPE, 0o644)
            ti.size = len(text)
            tar.addfile(ti, io.BytesIO(text))
    return buf.getvalue()
