"""A busybox rootfs tar for `docker import` / `podman import`: the test image of CI's daemons and of the suite.

No registry is reachable, so images are made by importing this tar. It holds a static busybox (Debian's
busybox-static: no libc in the image) at /bin/busybox, a symlink to it for every applet at the place
`busybox --list-full` gives (bin/sh, bin/echo, usr/bin/head, ...), the usual directories, and a minimal
/etc/passwd, /etc/group and /etc/hostname. Entries have a fixed mtime and root ownership, so the same
busybox gives the same bytes.

Without a static busybox on the host, `busybox_rootfs(allow_stub=True)` puts a text stub at
/bin/busybox with links for a fixed applet list: enough for the reference daemon, which simulates
commands and never runs the binary.

Command line (stdlib only, so the system python3 runs it before any venv exists):
    python3 -m conformance.busybox OUT.tar [BUSYBOX]
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile

BUSYBOX_CANDIDATES = ("/bin/busybox", "/usr/bin/busybox")
STUB_APPLETS = ("sh", "echo", "cat", "sleep", "true", "false", "ls", "env", "head", "printf", "touch", "mkdir",
                "rm", "seq", "yes", "wc", "tee", "pwd", "id", "hostname", "date", "ps", "top", "uname", "test")
STUB = b"#!stub: no static busybox on this host; only the reference daemon can run this image\n"
MTIME = 1_400_000_000  # 2014-05-13, about the age of API v1.14
DIRS = ("bin", "sbin", "usr", "usr/bin", "usr/sbin", "etc", "tmp", "proc", "sys", "dev", "root", "var", "var/tmp")
ETC = (("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"),
       ("etc/group", b"root:x:0:\nnogroup:x:65534:\n"),
       ("etc/hostname", b"busybox\n"))


def is_static_elf(path: str) -> bool:
    """An ELF that names no dynamic loader (so it needs no libc in the image)."""
    try:
        with open(path, "rb") as f:
            data = f.read(1 << 16)
    except OSError:
        return False
    return data[:4] == b"\x7fELF" and b"/lib64/ld-linux" not in data and b"/lib/ld-" not in data


def find_static_busybox() -> str | None:
    return next((p for p in BUSYBOX_CANDIDATES if os.path.exists(p) and is_static_elf(p)), None)


def applets(busybox: str) -> list[str]:
    """Every applet's path in the image, as the binary lists them (`bin/sh`, `usr/bin/head`, ...)."""
    listing = subprocess.run([busybox, "--list-full"], check=True, capture_output=True, text=True).stdout
    return sorted({line.strip().lstrip("/") for line in listing.splitlines() if line.strip()} - {"bin/busybox"})


def _entry(name: str, kind: bytes, mode: int) -> tarfile.TarInfo:
    ti = tarfile.TarInfo(name)
    ti.type, ti.mode, ti.mtime = kind, mode, MTIME
    ti.uid = ti.gid = 0
    ti.uname = ti.gname = "root"
    return ti


def busybox_rootfs(busybox: str | None = None, *, allow_stub: bool = True) -> bytes:
    """The rootfs tar. `busybox` defaults to the host's static busybox; without one, the stub (or an error)."""
    busybox = busybox or find_static_busybox()
    if busybox is None and not allow_stub:
        raise FileNotFoundError(f"no static busybox at {' or '.join(BUSYBOX_CANDIDATES)} (Debian: busybox-static)")
    if busybox is not None and not is_static_elf(busybox):
        raise ValueError(f"{busybox} is not a statically linked ELF binary")
    links = applets(busybox) if busybox else [f"bin/{a}" for a in STUB_APPLETS]
    dirs = set(DIRS)
    for link in links:
        parent = os.path.dirname(link)
        while parent:
            dirs.add(parent)
            parent = os.path.dirname(parent)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for d in sorted(dirs):
            tar.addfile(_entry(d, tarfile.DIRTYPE, 0o1777 if d in ("tmp", "var/tmp") else 0o755))
        if busybox:
            with open(busybox, "rb") as f:
                binary = f.read()
        else:
            binary = STUB
        ti = _entry("bin/busybox", tarfile.REGTYPE, 0o755)
        ti.size = len(binary)
        tar.addfile(ti, io.BytesIO(binary))
        for link in links:
            ti = _entry(link, tarfile.SYMTYPE, 0o777)
            ti.linkname = "/bin/busybox"
            tar.addfile(ti)
        for name, data in ETC:
            ti = _entry(name, tarfile.REGTYPE, 0o644)
            ti.size = len(data)
            tar.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def main(argv: list[str]) -> int:
    if len(argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        return 2
    try:
        data = busybox_rootfs(argv[2] if len(argv) == 3 else None, allow_stub=False)
    except (OSError, ValueError, subprocess.CalledProcessError) as exc:
        print(f"conformance.busybox: {exc}", file=sys.stderr)
        return 1
    tmp = argv[1] + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, argv[1])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
