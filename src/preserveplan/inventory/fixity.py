"""Streaming SHA-256 that never changes the original (read-only, no atime update where allowed).

Other digests (MD5, SHA-1, … as named by METS ``CHECKSUMTYPE``) can be computed in the same read,
for files whose information package lists them with another algorithm.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
import threading
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from .encryption import is_candidate, office_encryption

CHUNK = 1 << 20
_NOATIME = getattr(os, "O_NOATIME", 0)
_local = threading.local()


def _buffer() -> bytearray:
    """One read buffer per thread, reused: allocating 1 MiB per file costs more than hashing
    a small file."""
    buf: bytearray | None = getattr(_local, "buf", None)
    if buf is None:
        buf = _local.buf = bytearray(CHUNK)
    return buf


@dataclass(slots=True)
class HashResult:
    sha256: str | None
    size: int | None
    mtime_ns: int | None
    outcome: str  # ok | empty | unreadable | vanished | changed | special | io_error
    message: str | None = None
    digests: dict[str, str] | None = None  # extra algorithms asked for: METS name -> hex


class _Digest(Protocol):
    def update(self, data: memoryview, /) -> None: ...
    def hexdigest(self) -> str: ...


class _Checksum32:
    """CRC32 or Adler-32 with the hashlib interface (8 hex digits)."""

    def __init__(self, fn: Callable[[memoryview, int], int], start: int) -> None:
        self.fn, self.value = fn, start

    def update(self, data: memoryview, /) -> None:
        self.value = self.fn(data, self.value)

    def hexdigest(self) -> str:
        return f"{self.value & 0xFFFFFFFF:08x}"


# Algorithms by their METS CHECKSUMTYPE name (SHA-256 is always computed).
ALGORITHMS: dict[str, Callable[[], _Digest]] = {
    "MD5": lambda: hashlib.md5(usedforsecurity=False),
    "SHA-1": lambda: hashlib.sha1(usedforsecurity=False),
    "SHA-256": hashlib.sha256,
    "SHA-384": hashlib.sha384,
    "SHA-512": hashlib.sha512,
    "CRC32": lambda: _Checksum32(zlib.crc32, 0),
    "Adler-32": lambda: _Checksum32(zlib.adler32, 1),
}


def open_readonly(path: bytes) -> int:
    """Open for reading only, without following a final symlink swap-in or blocking on a FIFO."""
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    try:
        return os.open(path, flags | _NOATIME)
    except PermissionError:
        if not _NOATIME:
            raise
        return os.open(path, flags)  # O_NOATIME needs ownership; fall back
    except OSError as exc:
        if exc.errno == errno.EINVAL and _NOATIME:
            return os.open(path, flags)
        raise


def sha256_file(
    path: bytes,
    size: int | None = None,
    mtime_ns: int | None = None,
    extra: Sequence[str] = (),
    *,
    inspect: bool = True,
) -> HashResult:
    """Hash a file and return what was read; flag a file that changes while it is being read.

    ``size``/``mtime_ns`` (from the walk) are only reported back if the file cannot be read.
    ``extra`` names more algorithms (keys of :data:`ALGORITHMS`) computed in the same read.
    ``inspect``: also look for encryption (PDF /Encrypt, password-protected office documents,
    outcome ``encrypted``); a migration checking a source it already knows turns it off."""
    try:
        fd = open_readonly(path)
    except OSError as exc:
        return HashResult(None, size, mtime_ns, error_outcome(exc), exc.strerror or str(exc))
    try:
        before = os.fstat(fd)
        if not stat.S_ISREG(before.st_mode):
            return HashResult(None, None, before.st_mtime_ns, "special", "not a regular file")
        digest = hashlib.sha256()
        others = {name: ALGORITHMS[name]() for name in extra if name != "SHA-256"}
        total = 0
        buf = _buffer()
        view = memoryview(buf)
        pdf = _PdfEncryption()
        head = b""
        while True:
            n = os.readv(fd, [buf])
            if not n:
                break
            digest.update(view[:n])
            for other in others.values():
                other.update(view[:n])
            if inspect:
                if total == 0:
                    head = bytes(view[: min(n, 4096)])
                pdf.feed(view[:n], first=total == 0)
            total += n
        after = os.fstat(fd)
    except OSError as exc:
        return HashResult(None, size, mtime_ns, error_outcome(exc), exc.strerror or str(exc))
    finally:
        os.close(fd)
    digests = {name: h.hexdigest() for name, h in others.items()} if extra else None
    if (after.st_size, after.st_mtime_ns) != (
        before.st_size,
        before.st_mtime_ns,
    ) or total != after.st_size:
        return HashResult(
            digest.hexdigest(),
            total,
            after.st_mtime_ns,
            "changed",
            "file changed while it was being read; scan again when it is stable",
            digests,
        )
    if total == 0:
        return HashResult(
            digest.hexdigest(), 0, before.st_mtime_ns, "empty", "zero-length file", digests
        )
    if pdf.encrypted():
        return HashResult(
            digest.hexdigest(),
            total,
            before.st_mtime_ns,
            "encrypted",
            "PDF with an /Encrypt dictionary: password-protected or permission-restricted",
            digests,
        )
    if inspect and is_candidate(head):
        message = office_encryption(path, head)
        if message is not None:
            return HashResult(
                digest.hexdigest(), total, before.st_mtime_ns, "encrypted", message, digests
            )
    return HashResult(digest.hexdigest(), total, before.st_mtime_ns, "ok", None, digests)


class _PdfEncryption:
    """Notices an encrypted PDF while it streams past: the /Encrypt key sits in the trailer (or
    the cross-reference stream's dictionary) at the end, or near the start when linearized."""

    HEAD = 8192
    TAIL = 65536

    def __init__(self) -> None:
        self.is_pdf = False
        self.head = b""
        self.tail = b""

    def feed(self, chunk: memoryview, *, first: bool) -> None:
        if first:
            self.is_pdf = bytes(chunk[:1024]).lstrip().startswith(b"%PDF-")
            if self.is_pdf:
                self.head = bytes(chunk[: self.HEAD])
        if self.is_pdf:
            self.tail = (self.tail + bytes(chunk[-self.TAIL :]))[-self.TAIL :]

    def encrypted(self) -> bool:
        return self.is_pdf and (b"/Encrypt" in self.tail or b"/Encrypt" in self.head)


def error_outcome(exc: OSError) -> str:
    """Name the outcome of a failed file-system call."""
    if exc.errno in (errno.ENOENT, errno.ENOTDIR):
        return "vanished"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "unreadable"
    if exc.errno == errno.ELOOP:
        return "symlink_loop"
    return "io_error"
