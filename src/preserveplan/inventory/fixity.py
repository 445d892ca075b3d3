"""Streaming SHA-256 that never changes the original (read-only, no atime update where allowed)."""

from __future__ import annotations

import errno
import hashlib
import os
import stat
import threading
from dataclasses import dataclass

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


def sha256_file(path: bytes, size: int | None = None, mtime_ns: int | None = None) -> HashResult:
    """Hash a file and return what was read; flag a file that changes while it is being read.

    ``size``/``mtime_ns`` (from the walk) are only reported back if the file cannot be read."""
    try:
        fd = open_readonly(path)
    except OSError as exc:
        return HashResult(None, size, mtime_ns, error_outcome(exc), exc.strerror or str(exc))
    try:
        before = os.fstat(fd)
        if not stat.S_ISREG(before.st_mode):
            return HashResult(None, None, before.st_mtime_ns, "special", "not a regular file")
        digest = hashlib.sha256()
        total = 0
        buf = _buffer()
        view = memoryview(buf)
        pdf = _PdfEncryption()
        while True:
            n = os.readv(fd, [buf])
            if not n:
                break
            digest.update(view[:n])
            pdf.feed(view[:n], first=total == 0)
            total += n
        after = os.fstat(fd)
    except OSError as exc:
        return HashResult(None, size, mtime_ns, error_outcome(exc), exc.strerror or str(exc))
    finally:
        os.close(fd)
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
        )
    if total == 0:
        return HashResult(digest.hexdigest(), 0, before.st_mtime_ns, "empty", "zero-length file")
    if pdf.encrypted():
        return HashResult(
            digest.hexdigest(),
            total,
            before.st_mtime_ns,
            "encrypted",
            "PDF with an /Encrypt dictionary: password-protected or permission-restricted",
        )
    return HashResult(digest.hexdigest(), total, before.st_mtime_ns, "ok")


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
