"""A safe, streaming, deterministic walk of an archive tree.

Never follows a symlink unless asked (and then detects loops), never opens special files, and
turns every problem (permission, vanished entry, loop) into an :class:`Entry` with an outcome,
so nothing is skipped silently. Paths are bytes relative to the root.
"""

from __future__ import annotations

import errno
import fnmatch
import operator
import os
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from .fixity import error_outcome

SPECIAL_KINDS = {
    stat.S_IFIFO: "FIFO (named pipe)",
    stat.S_IFSOCK: "socket",
    stat.S_IFCHR: "character device",
    stat.S_IFBLK: "block device",
}


@dataclass(slots=True)
class Entry:
    """One thing found in the tree. ``outcome`` is None for a regular file still to be read."""

    rel: bytes
    kind: str  # file | symlink | special | directory
    size: int | None = None
    mtime_ns: int | None = None
    outcome: str | None = None
    message: str | None = None
    path: bytes = b""  # absolute path, for reading


@dataclass
class WalkStats:
    excluded: int = 0
    directories: int = 0
    seen_dirs: set[tuple[int, int]] = field(default_factory=set)


class Excluder:
    """``--exclude`` globs, matched against the relative path and against the base name."""

    def __init__(self, patterns: Sequence[str]):
        self.patterns = [p.encode("utf-8", "surrogateescape") for p in patterns]

    def __call__(self, rel: bytes) -> bool:
        if not self.patterns:
            return False
        name = rel.rsplit(b"/", 1)[-1]
        return any(
            fnmatch.fnmatchcase(rel, p) or fnmatch.fnmatchcase(name, p) for p in self.patterns
        )


def _describe(exc: OSError) -> str:
    return exc.strerror or str(exc)


_name = operator.attrgetter("name")


def walk(
    root: bytes,
    *,
    exclude: Sequence[str] = (),
    follow_symlinks: bool = False,
    stats: WalkStats | None = None,
) -> Iterator[Entry]:
    """Yield every entry under ``root`` (a directory) in sorted, depth-first order."""
    stats = stats if stats is not None else WalkStats()
    excluded = Excluder(exclude)
    root_st = os.stat(root)
    # Stack of (relative dir, ancestors' (dev, ino) chain) — iterative, so depth is unbounded.
    stack: list[tuple[bytes, frozenset[tuple[int, int]]]] = [
        (b"", frozenset({(root_st.st_dev, root_st.st_ino)}))
    ]
    while stack:
        rel_dir, ancestors = stack.pop()
        abs_dir = os.path.join(root, rel_dir) if rel_dir else root
        try:
            with os.scandir(abs_dir) as it:
                dir_entries = sorted(it, key=_name)
        except OSError as exc:
            yield Entry(rel_dir, "directory", outcome=error_outcome(exc), message=_describe(exc))
            continue
        stats.directories += 1
        subdirs: list[tuple[bytes, frozenset[tuple[int, int]]]] = []
        for dir_entry in dir_entries:
            name = dir_entry.name
            rel = rel_dir + b"/" + name if rel_dir else name
            if excluded(rel):
                stats.excluded += 1
                continue
            abs_path = dir_entry.path
            try:
                st = dir_entry.stat(follow_symlinks=False)
            except OSError as exc:
                yield Entry(rel, "file", outcome=error_outcome(exc), message=_describe(exc))
                continue
            mode = st.st_mode
            if stat.S_ISLNK(mode):
                entry, target_dir = _symlink(abs_path, rel, follow_symlinks, ancestors)
                if entry is not None:
                    yield entry
                if target_dir is not None:
                    subdirs.append((rel, ancestors | {target_dir}))
            elif stat.S_ISDIR(mode):
                key = (st.st_dev, st.st_ino)
                if key in ancestors:  # a bind mount or similar loop
                    yield Entry(rel, "directory", outcome="symlink_loop", message="directory loop")
                else:
                    subdirs.append((rel, ancestors | {key}))
            elif stat.S_ISREG(mode):
                yield Entry(rel, "file", st.st_size, st.st_mtime_ns, path=abs_path)
            else:
                what = SPECIAL_KINDS.get(stat.S_IFMT(mode), "special file")
                yield Entry(
                    rel,
                    "special",
                    mtime_ns=st.st_mtime_ns,
                    outcome="special",
                    message=f"{what}: recorded, not opened",
                )
        # Reverse so that the stack pops sub-directories in sorted order.
        stack.extend(reversed(subdirs))


def _symlink(
    abs_path: bytes, rel: bytes, follow: bool, ancestors: frozenset[tuple[int, int]]
) -> tuple[Entry | None, tuple[int, int] | None]:
    """Classify a symlink; returns an entry to record and/or a directory to descend into."""
    try:
        target = os.readlink(abs_path)
    except OSError as exc:
        return Entry(rel, "symlink", outcome=error_outcome(exc), message=_describe(exc)), None
    shown = target.decode("utf-8", "backslashreplace")
    try:
        st = os.stat(abs_path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return Entry(rel, "symlink", outcome="symlink_loop", message=f"-> {shown}: loop"), None
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            return Entry(
                rel, "symlink", outcome="dangling_symlink", message=f"-> {shown}: target missing"
            ), None
        return Entry(rel, "symlink", outcome=error_outcome(exc), message=_describe(exc)), None
    if not follow:
        return Entry(rel, "symlink", outcome="symlink", message=f"-> {shown}: not followed"), None
    if stat.S_ISDIR(st.st_mode):
        key = (st.st_dev, st.st_ino)
        if key in ancestors:
            return Entry(rel, "symlink", outcome="symlink_loop", message=f"-> {shown}: loop"), None
        return None, key
    if stat.S_ISREG(st.st_mode):
        return Entry(rel, "file", st.st_size, st.st_mtime_ns, path=abs_path), None
    what = SPECIAL_KINDS.get(stat.S_IFMT(st.st_mode), "special file")
    return Entry(rel, "special", outcome="special", message=f"-> {shown}: {what}, not opened"), None
