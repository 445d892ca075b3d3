"""Work done in the worker processes: hashing, identification, container expansion.

Each worker process holds one reused Siegfried scanner. Only the coordinator writes the catalog.
"""

from __future__ import annotations

import os
import signal
from typing import Any

from ..procs import hang_limit, time_limit
from .containers import ContainerResult, Limits, expand
from .fixity import HashResult, sha256_file
from .identify import Identifier

_identifier: Identifier | None = None
_limits = Limits()


def init(limits: Limits) -> None:
    """Pool initializer: the coordinator handles Ctrl-C; workers get their scanner."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    prepare(limits)


def prepare(limits: Limits) -> None:
    """Set up this process for a scan's tasks: its container limits, and the scanner (made
    once). Dask workers (``cluster.py``) call it before each task: one serves many scans, and
    their signals are Dask's own."""
    global _limits
    _limits = limits
    _ident()


def _ident() -> Identifier:
    global _identifier
    if _identifier is None:
        _identifier = Identifier()
    return _identifier


def ready() -> bool:
    """A no-op task: makes the pool start its workers (and their scanners) early."""
    return _identifier is not None


def hash_files(
    items: list[tuple[bytes, int | None, int | None, tuple[str, ...]]],
) -> list[HashResult]:
    """(path, size, mtime, extra algorithms) -> SHA-256 (and the extra digests), one read each.
    A batch that hangs (:func:`~preserveplan.procs.time_limit`) ends this process."""
    nbytes = sum(size or 0 for _, size, _, _ in items)
    with time_limit(hang_limit(nbytes, len(items))):
        return [sha256_file(path, size, mtime, extra) for path, size, mtime, extra in items]


def identify_files(paths: list[bytes]) -> list[dict[str, Any]]:
    """Siegfried on ``paths``; a batch that hangs ends this process (Siegfried reads a bounded
    part of each file: a time limit per file, not per byte)."""
    with time_limit(hang_limit(0, len(paths))):
        return _ident().identify(paths)


def expand_container(abs_path: bytes, rel_path: bytes, puid: str) -> ContainerResult:
    with time_limit(hang_limit()):  # a stat can hang too (a stale network share)
        try:
            size = os.stat(abs_path).st_size
        except OSError:
            size = 0
    with time_limit(hang_limit(size)):
        try:
            return expand(abs_path, rel_path, puid, _ident(), _limits)
        except OSError as exc:
            return ContainerResult("error", f"cannot read container: {exc.strerror or exc}")
        except Exception as exc:
            return ContainerResult("error", f"{type(exc).__name__}: {exc}")
