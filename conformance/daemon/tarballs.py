"""Reading tarballs from request bodies with a bound on what they unpack to.

A 1 MiB gzip can unpack to 1 GiB. The archive is read as a stream (tarfile's `r|` mode) through a counter,
so decompression stops at the limit instead of after it: `UnpackLimit` is raised while the bytes are made.
Compression is recognised by magic number, as 1.2.0's archive.DecompressStream did (gzip, bzip2, xz).
"""

from __future__ import annotations

import asyncio
import bz2
import ctypes
import gzip
import io
import lzma
import tarfile
import zlib
from collections.abc import Callable, Iterator
from typing import TypeVar


class UnpackLimit(Exception):
    """The archive unpacks to more than the daemon accepts."""

    def __init__(self, limit: int):
        super().__init__(f"the archive unpacks to more than {limit} bytes (the reference daemon's "
                         "--max-unpacked limit)")
        self.limit = limit


class _Counted(io.RawIOBase):
    """A readable view of a (decompressing) stream that refuses to yield more than `limit` bytes."""

    def __init__(self, stream, limit: int):
        self._stream, self._limit, self.count = stream, limit, 0

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        want = self._limit + 1 - self.count if n is None or n < 0 else min(n, self._limit + 1 - self.count)
        data = self._stream.read(max(want, 1))
        self.count += len(data)
        if self.count > self._limit:
            raise UnpackLimit(self._limit)
        return data


# What reading a bad or oversized archive can raise: tarfile's errors, the decompressors' (gzip's are OSError
# and EOFError), and UnpackLimit.
TAR_ERRORS = (UnpackLimit, tarfile.TarError, EOFError, OSError, zlib.error, lzma.LZMAError, ValueError, OverflowError)


def _release_freed_memory() -> None:
    """glibc keeps what a worker thread freed in that thread's arena; hand it back to the system."""
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


try:
    _LIBC = ctypes.CDLL("libc.so.6")
    _LIBC.malloc_trim  # noqa: B018 - glibc only
except (OSError, AttributeError):
    _LIBC = None

T = TypeVar("T")


async def off_loop(fn: Callable[..., T], *args) -> T:
    """Run an unpacking function in a worker thread, so a big archive does not stop the daemon answering
    others; the memory it used goes back to the system afterwards."""
    def run() -> T:
        try:
            return fn(*args)
        finally:
            _release_freed_memory()
    return await asyncio.to_thread(run)


def _decompressed(data: bytes):
    raw = io.BytesIO(data)
    if data[:2] == b"\x1f\x8b":
        return gzip.GzipFile(fileobj=raw, mode="rb")
    if data[:3] == b"BZh":
        return bz2.BZ2File(raw, "rb")
    if data[:6] == b"\xfd7zXZ\x00":
        return lzma.LZMAFile(raw, "rb")
    return raw


def members(data: bytes, limit: int) -> Iterator[tuple[tarfile.TarInfo, bytes | None]]:
    """Each member of a (possibly compressed) tar with its content (None for non-files), in order.

    Raises UnpackLimit past `limit` unpacked bytes, tarfile.TarError and the decompressors' errors on bad
    input.
    """
    with tarfile.open(fileobj=_Counted(_decompressed(data), limit), mode="r|") as tar:
        for member in tar:
            content = None
            if member.isfile():
                extracted = tar.extractfile(member)
                content = extracted.read() if extracted is not None else b""
            yield member, content
