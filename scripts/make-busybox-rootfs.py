#!/usr/bin/env python3
"""Write a tiny rootfs tar holding a static busybox, for `docker import` / `podman import`.

Usage: make-busybox-rootfs.py OUT.tar [BUSYBOX]   (BUSYBOX defaults to /bin/busybox)

The tar holds /bin/busybox, a symlink to it for every applet at the place
`busybox --list-full` gives (bin/sh, bin/echo, usr/bin/head, ...), the dirs
/etc /tmp /proc /sys /dev /root /var, and a minimal /etc/passwd and /etc/group.
It is deterministic (fixed mtime, uid/gid 0), so the same busybox gives the same tar.
The busybox must be statically linked (Debian's busybox-static): the image has no libc.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile

MTIME = 1_400_000_000  # 2014-05-13, about the age of API v1.14


def _info(name: str, kind: bytes, mode: int) -> tarfile.TarInfo:
    ti = tarfile.TarInfo(name)
    ti.type = kind
    ti.mode = mode
    ti.mtime = MTIME
    ti.uid = ti.gid = 0
    ti.uname = ti.gname = "root"
    return ti


def build(out: str, busybox: str = "/bin/busybox") -> None:
    with open(busybox, "rb") as f:
        head = f.read(4)
    if head != b"\x7fELF":
        raise SystemExit(f"{busybox} is not an ELF binary")
    listing = subprocess.run([busybox, "--list-full"], check=True, capture_output=True, text=True).stdout
    applets = sorted({line.strip().lstrip("/") for line in listing.splitlines() if line.strip()})

    dirs = {"bin", "sbin", "usr", "usr/bin", "usr/sbin", "etc", "tmp", "proc", "sys", "dev", "root", "var", "var/tmp"}
    for a in applets:
        parent = os.path.dirname(a)
        while parent:
            dirs.add(parent)
            parent = os.path.dirname(parent)

    tmp = out + ".tmp"
    with tarfile.open(tmp, "w", format=tarfile.GNU_FORMAT) as tar:
        for d in sorted(dirs):
            tar.addfile(_info(d, tarfile.DIRTYPE, 0o1777 if d in ("tmp", "var/tmp") else 0o755))
        st = os.stat(busybox)
        ti = _info("bin/busybox", tarfile.REGTYPE, 0o755)
        ti.size = st.st_size
        with open(busybox, "rb") as f:
            tar.addfile(ti, f)
        for a in applets:
            if a == "bin/busybox":
                continue
            link = _info(a, tarfile.SYMTYPE, 0o777)
            link.linkname = "/bin/busybox"
            tar.addfile(link)
        for name, text in (
            ("etc/passwd", "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"),
            ("etc/group", "root:x:0:\nnogroup:x:65534:\n"),
            ("etc/hostname", "busybox\n"),
        ):
            data = text.encode()
            ti = _info(name, tarfile.REGTYPE, 0o644)
            ti.size = len(data)
            tar.addfile(ti, io.BytesIO(data))
    os.replace(tmp, out)


def main(argv: list[str]) -> int:
    if len(argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        return 2
    build(argv[1], argv[2] if len(argv) == 3 else "/bin/busybox")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
