"""Inventory the members of ZIP, TAR (gz/bz2/xz), 7z, RAR, ISO, CPIO and CAB files.

libarchive (``libarchive-c``) reads all of them through one streaming API. Members are copied to
a private temporary directory only as long as it takes to hash and identify them, in batches;
nested containers are expanded up to a depth limit. Limits against zip bombs (member count,
expanded bytes, expansion ratio, depth) are checked while streaming; a breached limit stops the
expansion and is recorded as a finding on the container, never a crash.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from dataclasses import dataclass, field
from typing import Any

import libarchive
import libarchive.exception
import libarchive.ffi

from ..paths import MEMBER_SEP, extension
from .fixity import open_readonly
from .identify import CONTAINER_PUIDS, Identifier

# Compression-only formats: a .gz that is not a tar holds one stream, read in libarchive's raw mode.
RAW_PUIDS = frozenset({"x-fmt/266", "x-fmt/267", "x-fmt/268", "fmt/1098"})
_COMPRESSION_SUFFIXES = (b".gz", b".tgz", b".bz2", b".xz", b".z")
BATCH = 64


@dataclass(frozen=True)
class Limits:
    """Zip-bomb limits, per top-level container (nested members count against the same budget)."""

    max_depth: int = 3
    max_members: int = 100_000
    max_expanded: int = 16 * 1024**3
    max_ratio: float = 200.0
    ratio_floor: int = 64 * 1024**2  # the ratio is only judged past this many expanded bytes
    tmp_dir: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "max_depth": self.max_depth,
            "max_members": self.max_members,
            "max_expanded": self.max_expanded,
            "max_ratio": self.max_ratio,
            "ratio_floor": self.ratio_floor,
        }


@dataclass(slots=True)
class Member:
    path: bytes
    parent: bytes
    ext: str
    size: int | None
    mtime_ns: int | None
    sha256: str | None
    ident: dict[str, Any] | None
    outcome: str
    message: str | None = None
    container: str | None = None
    container_message: str | None = None


@dataclass
class ContainerResult:
    status: str  # expanded | limit | error | encrypted
    message: str | None
    members: list[Member] = field(default_factory=list)


class LimitReached(Exception):
    pass


@dataclass
class _Budget:
    limits: Limits
    container_size: int
    members: int = 0
    expanded: int = 0

    def add_member(self) -> None:
        self.members += 1
        if self.members > self.limits.max_members:
            raise LimitReached(
                f"more than {self.limits.max_members} members: stopped (zip-bomb limit)"
            )

    def add_bytes(self, n: int) -> None:
        self.expanded += n
        lim = self.limits
        if self.expanded > lim.max_expanded:
            raise LimitReached(
                f"expands to more than {lim.max_expanded} bytes: stopped (zip-bomb limit)"
            )
        if self.expanded > lim.ratio_floor and self.expanded > lim.max_ratio * max(
            self.container_size, 1
        ):
            raise LimitReached(
                f"expansion ratio over {lim.max_ratio:g}:1 ({self.expanded} bytes from "
                f"{self.container_size}): stopped (zip-bomb limit)"
            )


def expand(
    abs_path: bytes, rel_path: bytes, puid: str, identifier: Identifier, limits: Limits
) -> ContainerResult:
    """Inventory every member of a container file (recursively, within ``limits``)."""
    budget = _Budget(limits, container_size=os.path.getsize(abs_path))
    result = ContainerResult("expanded", None)
    with tempfile.TemporaryDirectory(prefix="preserveplan-members-", dir=limits.tmp_dir) as tmp:
        result.status, result.message = _expand(
            abs_path, rel_path, puid, 1, result.members, budget, identifier, tmp
        )
    locked = sum(1 for m in result.members if m.outcome == "encrypted")
    if locked and result.status == "expanded":
        result.status, result.message = "encrypted", f"{locked} encrypted member(s) not readable"
    return result


def _member_name(entry: Any) -> bytes:
    raw = libarchive.ffi.entry_pathname(entry._entry_p)
    if isinstance(raw, bytes) and raw:
        return raw
    name = entry.pathname
    return name.encode("utf-8", "surrogateescape") if isinstance(name, str) else bytes(name or b"")


def _raw_name(rel_path: bytes) -> bytes:
    base = rel_path.rsplit(b"/", 1)[-1].rsplit(MEMBER_SEP, 1)[-1]
    for suffix in _COMPRESSION_SUFFIXES:
        if base.lower().endswith(suffix) and len(base) > len(suffix):
            return base[: -len(suffix)] + (b".tar" if suffix == b".tgz" else b"")
    return base + b".data"


def _expand(
    path: bytes,
    rel: bytes,
    puid: str,
    depth: int,
    out: list[Member],
    budget: _Budget,
    identifier: Identifier,
    tmp: str,
) -> tuple[str, str | None]:
    raw = False
    while True:
        try:
            return _read(path, rel, raw, depth, out, budget, identifier, tmp)
        except (_Unrecognised, libarchive.exception.ArchiveError) as exc:
            text = _archive_message(exc)
            if not raw and puid in RAW_PUIDS and "nrecognized archive format" in text:
                raw = True  # a compressed single file, not a compressed archive
                continue
            status, message = _classify_error(text)
            return status, f"cannot read as an archive: {message}"


class _Unrecognised(Exception):
    pass


def _read(
    path: bytes,
    rel: bytes,
    raw: bool,
    depth: int,
    out: list[Member],
    budget: _Budget,
    identifier: Identifier,
    tmp: str,
) -> tuple[str, str | None]:
    pending: list[tuple[Member, str]] = []
    status, message = "expanded", None
    fd = open_readonly(path)
    try:
        with libarchive.fd_reader(fd, format_name="raw" if raw else "all") as archive:
            iterator = iter(archive)
            first = True
            while True:
                try:
                    entry = next(iterator)
                except StopIteration:
                    break
                except libarchive.exception.ArchiveError as exc:
                    text = _archive_message(exc)
                    if first and "nrecognized archive format" in text:
                        raise _Unrecognised(text) from None
                    status, message = _classify_error(text)
                    break
                if first and raw and libarchive.ffi.filter_count(archive._pointer) <= 1:
                    status, message = "error", "cannot read as an archive: no compressed stream"
                    break
                first = False
                if entry.isdir:
                    continue
                try:
                    budget.add_member()
                except LimitReached as exc:
                    status, message = "limit", str(exc)
                    break
                name = _raw_name(rel) if raw else _member_name(entry).lstrip(b"/")
                member = Member(
                    path=rel + MEMBER_SEP + name,
                    parent=rel,
                    ext=extension(name),
                    size=entry.size,
                    mtime_ns=int(entry.mtime * 1_000_000_000) if entry.mtime else None,
                    sha256=None,
                    ident=None,
                    outcome="ok",
                )
                if not entry.isfile:
                    member.outcome = "symlink" if entry.issym or entry.islnk else "special"
                    member.message = (
                        f"-> {entry.linkpath}" if entry.linkpath else "not a regular file"
                    )
                    out.append(member)
                    continue
                tmp_file = os.path.join(
                    tmp, f"d{depth}-{budget.members}" + (f".{member.ext}" if member.ext else "")
                )
                try:
                    _copy_member(entry, tmp_file, member, budget)
                except LimitReached as exc:
                    member.outcome, member.message = "limit", str(exc)
                    out.append(member)
                    _remove(tmp_file)
                    status, message = "limit", str(exc)
                    break
                except libarchive.exception.ArchiveError as exc:
                    member.outcome, member.message = _classify_error(_archive_message(exc))
                    member.outcome = (
                        "encrypted" if member.outcome == "encrypted" else "member_error"
                    )
                    out.append(member)
                    _remove(tmp_file)
                    continue
                pending.append((member, tmp_file))
                if len(pending) >= BATCH:
                    _flush(pending, depth, out, budget, identifier, tmp)
    finally:
        os.close(fd)
        _flush(pending, depth, out, budget, identifier, tmp)
    return status, message


def _copy_member(entry: Any, tmp_file: str, member: Member, budget: _Budget) -> None:
    digest = hashlib.sha256()
    size = 0
    with open(tmp_file, "wb") as fh:
        for block in entry.get_blocks(1 << 20):
            budget.add_bytes(len(block))
            digest.update(block)
            fh.write(block)
            size += len(block)
    member.sha256 = digest.hexdigest()
    member.size = size
    if size == 0:
        member.outcome, member.message = "empty", "zero-length file"


def _flush(
    pending: list[tuple[Member, str]],
    depth: int,
    out: list[Member],
    budget: _Budget,
    identifier: Identifier,
    tmp: str,
) -> None:
    if not pending:
        return
    idents = identifier.identify([os.fsencode(t) for _, t in pending])
    for (member, tmp_file), ident in zip(pending, idents, strict=True):
        member.ident = ident
        if ident.get("errors") and member.outcome == "ok":
            member.outcome, member.message = "identify_error", ident["errors"]
        out.append(member)
        puid = ident.get("puid") or ""
        if puid in CONTAINER_PUIDS:
            if depth >= budget.limits.max_depth:
                member.container = "limit"
                member.container_message = (
                    f"nested deeper than {budget.limits.max_depth} levels: "
                    "not expanded (zip-bomb limit)"
                )
            else:
                status, message = _expand(
                    os.fsencode(tmp_file),
                    member.path,
                    puid,
                    depth + 1,
                    out,
                    budget,
                    identifier,
                    tmp,
                )
                member.container, member.container_message = status, message
        _remove(tmp_file)
    pending.clear()


def _remove(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def _archive_message(exc: Exception) -> str:
    msg = getattr(exc, "msg", None) or "damaged or unsupported archive"
    return msg.decode("utf-8", "replace") if isinstance(msg, bytes) else str(msg)


def _classify_error(text: str) -> tuple[str, str]:
    lowered = text.lower()
    if "encrypt" in lowered or "passphrase" in lowered or "password" in lowered:
        return "encrypted", f"encrypted content: {text}"
    return "error", text
