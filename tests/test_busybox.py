"""The busybox rootfs that CI's daemons and the suite import (`conformance.busybox`)."""

from __future__ import annotations

import io
import subprocess
import sys
import tarfile

import pytest

from conformance import busybox


def _members(data: bytes) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return {m.name: m for m in tar.getmembers()}


def test_real_busybox_gives_every_applet_deterministically():
    path = busybox.find_static_busybox()
    assert path, "busybox-static is installed here and in CI"
    data = busybox.busybox_rootfs()
    assert data == busybox.busybox_rootfs(path)  # fixed mtimes and owners: the same bytes again
    members = _members(data)
    listed = busybox.applets(path)
    assert len(listed) > 100 and "bin/sh" in listed
    for link in listed:
        assert members[link].issym() and members[link].linkname == "/bin/busybox", link
    binary = members["bin/busybox"]
    assert binary.isfile() and binary.mode == 0o755 and binary.size > 100_000
    assert members["tmp"].mode == 0o1777 and members["etc/passwd"].isfile()


def test_without_busybox_a_stub_or_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setattr(busybox, "BUSYBOX_CANDIDATES", (str(tmp_path / "none"),))
    members = _members(busybox.busybox_rootfs())
    assert {f"bin/{a}" for a in busybox.STUB_APPLETS} <= set(members)
    with pytest.raises(FileNotFoundError, match="busybox-static"):
        busybox.busybox_rootfs(allow_stub=False)
    script = tmp_path / "busybox"
    script.write_text("#!/bin/sh\n")
    proc = subprocess.run([sys.executable, "-m", "conformance.busybox", str(tmp_path / "out.tar"), str(script)],
                          capture_output=True, text=True)
    assert proc.returncode == 1 and "not a statically linked ELF" in proc.stderr
    assert not (tmp_path / "out.tar").exists()
