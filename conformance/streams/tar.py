"""Push-style tar scanner: feed chunks, learn member names, find truncation and corruption.

Header blocks are parsed with the standard library's `tarfile.TarInfo.frombuf`; member data is
skipped, never kept, so memory stays at one 512-byte block whatever the archive's size. gzip, bzip2
and xz wrappers (accepted for build contexts) are decompressed incrementally.
"""

from __future__ import annotations

import bz2
import lzma
import tarfile
import zlib
from dataclasses import dataclass, field

BLOCK = 512
_LONG_TYPES = {tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK}
_PAX_TYPES = {tarfile.XHDTYPE, tarfile.XGLTYPE, tarfile.SOLARIS_XHDTYPE}
_META_LIMIT = 1 << 20  # longest long-name or pax header we read


@dataclass
class TarMember:
    name: str
    size: int
    type: bytes


@dataclass
class TarScan:
    members: list[TarMember] = field(default_factory=list)
    error: str | None = None  # first corruption met, or truncation at finish()
    complete: bool = False  # the end-of-archive marker (or a clean end after a member) was seen
    compression: str | None = None

    @property
    def names(self) -> list[str]:
        return [m.name for m in self.members]


class TarScanner:
    """feed(bytes) any chunking; finish() -> TarScan. Member names are normalised (no leading ./ or /)."""

    def __init__(self, max_members: int = 100_000):
        self.scan = TarScan()
        self.max_members = max_members
        self._head = bytearray()  # first bytes, until the compression is known
        self._decomp = None
        self._started = False
        self._buf = bytearray()
        self._skip = 0  # bytes of member data (padded) still to skip
        self._meta_need = 0  # bytes of long-name/pax data to collect
        self._meta = bytearray()
        self._meta_type = b""
        self._next_name: str | None = None
        self._zero_blocks = 0
        self.total = 0

    def feed(self, data: bytes) -> None:
        self.total += len(data)
        if self.scan.error or self.scan.complete:
            return
        if not self._started:
            self._head += data
            if len(self._head) < 6:
                return
            self._start(bytes(self._head))
            data = bytes(self._head)
            self._head = bytearray()
        if self._decomp is not None:
            try:
                data = self._decomp.decompress(data)
            except (OSError, EOFError, ValueError, zlib.error, lzma.LZMAError) as exc:
                self.scan.error = f"{self.scan.compression} stream is corrupt: {exc}"
                return
        self._consume(data)

    def _start(self, head: bytes) -> None:
        self._started = True
        if head[:2] == b"\x1f\x8b":
            self.scan.compression, self._decomp = "gzip", zlib.decompressobj(wbits=31)
        elif head[:3] == b"BZh":
            self.scan.compression, self._decomp = "bzip2", bz2.BZ2Decompressor()
        elif head[:6] == b"\xfd7zXZ\x00":
            self.scan.compression, self._decomp = "xz", lzma.LZMADecompressor()

    def _consume(self, data: bytes) -> None:
        view = memoryview(data)
        pos = 0
        n = len(view)
        while pos < n and not (self.scan.error or self.scan.complete):
            if self._skip:
                take = min(self._skip, n - pos)
                if self._meta_need:
                    want = min(take, self._meta_need)
                    self._meta += view[pos : pos + want]
                    self._meta_need -= want
                    if not self._meta_need:
                        self._finish_meta()
                self._skip -= take
                pos += take
                continue
            take = min(BLOCK - len(self._buf), n - pos)
            self._buf += view[pos : pos + take]
            pos += take
            if len(self._buf) == BLOCK:
                block = bytes(self._buf)
                self._buf = bytearray()
                self._header(block)

    def _header(self, block: bytes) -> None:
        if block == b"\0" * BLOCK:
            self._zero_blocks += 1
            if self._zero_blocks >= 2:
                self.scan.complete = True
            return
        if self._zero_blocks:
            self.scan.error = "data after a zero block (corrupt end-of-archive marker)"
            return
        try:
            info = tarfile.TarInfo.frombuf(block, "utf-8", "surrogateescape")
        except tarfile.HeaderError as exc:
            where = len(self.scan.members)
            self.scan.error = f"bad tar header after {where} member(s): {exc}"
            return
        padded = (info.size + BLOCK - 1) // BLOCK * BLOCK
        self._skip = padded
        if info.type in _LONG_TYPES or info.type in _PAX_TYPES:
            if info.size > _META_LIMIT:
                self.scan.error = f"{info.size}-byte extended header is implausibly large"
                return
            self._meta_type = info.type
            self._meta = bytearray()
            self._meta_need = info.size
            if not info.size:
                self._finish_meta()
            return
        name = self._next_name or info.name
        self._next_name = None
        if len(self.scan.members) < self.max_members:
            self.scan.members.append(TarMember(_normalise(name), info.size, info.type))

    def _finish_meta(self) -> None:
        data = bytes(self._meta)
        if self._meta_type in _LONG_TYPES:
            if self._meta_type == tarfile.GNUTYPE_LONGNAME:
                self._next_name = data.rstrip(b"\0").decode("utf-8", "surrogateescape")
            return
        if self._meta_type != tarfile.XGLTYPE:
            # pax records: "<len> <key>=<value>\n"
            pos = 0
            while pos < len(data):
                space = data.find(b" ", pos)
                if space < 0 or not data[pos:space].isdigit():
                    break
                length = int(data[pos:space])
                if length <= 0:
                    break
                record = data[space + 1 : pos + length - 1]
                key, _, value = record.partition(b"=")
                if key == b"path":
                    self._next_name = value.decode("utf-8", "surrogateescape")
                pos += length

    def finish(self) -> TarScan:
        if self._head and not self._started:
            self._start(bytes(self._head))
            data, self._head = bytes(self._head), bytearray()
            if self._decomp is not None:
                try:
                    data = self._decomp.decompress(data)
                except Exception as exc:  # noqa: BLE001 - any decompressor failure is a finding
                    self.scan.error = f"{self.scan.compression} stream is corrupt: {exc}"
            if not self.scan.error:
                self._consume(data)
        if self.scan.error:
            return self.scan
        if self._decomp is not None and not self._decomp.eof:
            self.scan.error = f"{self.scan.compression} stream truncated"
            self.scan.complete = False
            return self.scan
        if self.scan.complete:
            return self.scan
        if self.total == 0:
            self.scan.error = "empty body where a tar archive was expected"
        elif self._skip or self._buf:
            missing = self._skip + (BLOCK - len(self._buf) if self._buf else 0)
            self.scan.error = f"archive truncated: {missing} byte(s) of the last member missing"
        elif not self.scan.members:
            self.scan.error = "no tar member"
        else:
            # Readers accept this, but every Docker tar writer closes the archive: a stream cut at a
            # member boundary looks exactly like this.
            self.scan.error = "archive ends without its end-of-archive marker (cut at a member boundary?)"
        return self.scan


def _normalise(name: str) -> str:
    while name.startswith("./"):
        name = name[2:]
    return name.lstrip("/")
