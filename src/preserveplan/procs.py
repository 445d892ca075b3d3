"""Worker processes: one forkserver for every local pool (scan and migrate).

The forkserver imports preserveplan's worker modules once (``PRELOAD``); every worker it forks
then starts without importing them again (about 0.1 CPU-s per worker, which on a short run of
small files is a large part of the run). Nothing in ``PRELOAD`` may load pygfried at import:
pygfried is a Go shared library whose runtime starts threads when it is loaded, and a process
forked from one hangs. pygfried is imported where a Scanner is made, inside the workers.
"""

from __future__ import annotations

import contextlib
import ctypes
import math
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Iterator
from multiprocessing import get_context
from multiprocessing.context import ForkServerContext

__all__ = [
    "HANG_BASE_S",
    "HANG_BYTES_PER_S",
    "HANG_PER_FILE_S",
    "PRELOAD",
    "allow_limits_on_threads",
    "become_subreaper",
    "children",
    "forkserver",
    "hang_limit",
    "kill_orphans",
    "time_limit",
]

#: a worker's task that runs longer than HANG_BASE_S, plus HANG_PER_FILE_S for each of its files,
#: plus its bytes / HANG_BYTES_PER_S, is taken for hung and its process ended: generous (a 1 GB
#: file gets 22 minutes), as it only has to catch what would never end
HANG_BASE_S = 300.0
HANG_PER_FILE_S = 10.0
HANG_BYTES_PER_S = 1_000_000

PRELOAD = [
    "preserveplan.inventory.worker",
    "preserveplan.migrate.runner",
    "preserveplan.migrate.validate",
]


def hang_limit(nbytes: int = 0, files: int = 1) -> float:
    """Seconds after which a task reading ``nbytes`` in ``files`` files is taken for hung."""
    return HANG_BASE_S + HANG_PER_FILE_S * files + nbytes / HANG_BYTES_PER_S


_limits_on_threads = False


def allow_limits_on_threads() -> None:
    """Let :func:`time_limit` arm on any thread of this process, not only the main one: for a
    Dask worker process, which runs its tasks on threads, one at a time (``cluster._call``).
    The alarm is process-wide, so only one limited block may run at a time. Called when a
    cluster worker process is prepared; never in the coordinator."""
    global _limits_on_threads
    _limits_on_threads = True


@contextlib.contextmanager
def time_limit(seconds: float | None) -> Iterator[None]:
    """End this worker process if the block runs longer than ``seconds``.

    A call that hangs inside C or Go cannot be interrupted from Python: Siegfried opening a
    file that has been swapped for a FIFO waits for a writer forever (holding the GIL, so no
    Python thread could step in either), a read from a stale network share never returns.
    SIGALRM, at its default action, ends the process instead; the pool then sees a dead worker
    and isolates the file, which ends as ``worker_crash`` (scan) or ``crashed`` (migrate) with
    the run going on. Armed in a pool's worker process on its main thread, and on any thread
    of a process that :func:`allow_limits_on_threads` (a Dask worker, where SIGALRM must
    still have its default action: a thread cannot set it); never in the coordinator. Nested
    limits keep the earlier deadline."""
    on_main = threading.current_thread() is threading.main_thread()
    if (
        not seconds
        or not (_limits_on_threads or (on_main and multiprocessing.parent_process()))
        or (not on_main and signal.getsignal(signal.SIGALRM) is not signal.SIG_DFL)
    ):
        yield
        return
    if on_main:
        signal.signal(signal.SIGALRM, signal.SIG_DFL)
    outer = signal.alarm(0)  # seconds left of an enclosing limit (0: none): it still holds
    started = time.monotonic()
    limit = max(1, math.ceil(seconds))
    signal.alarm(min(limit, outer) if outer else limit)
    try:
        yield
    finally:
        signal.alarm(0)
        if outer:
            signal.alarm(max(1, math.ceil(outer - (time.monotonic() - started))))


def forkserver() -> ForkServerContext:
    """The forkserver context with ``PRELOAD`` set (it takes effect when the server starts)."""
    ctx = get_context("forkserver")
    assert isinstance(ctx, ForkServerContext)
    ctx.set_forkserver_preload(PRELOAD)
    return ctx


def become_subreaper() -> bool:
    """Make this process the reaper of its orphaned descendants (Linux
    ``PR_SET_CHILD_SUBREAPER``): a converter whose worker process died is then adopted by us,
    not by init, and :func:`kill_orphans` can end it. False where the kernel has no such
    call."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(36, 1, 0, 0, 0)) == 0  # 36: PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        return False


def kill_orphans(keep: frozenset[int] = frozenset()) -> int:
    """Kill and reap the adopted orphans: children of this process that run in a session of
    their own (converters, which the workers start in new sessions) together with their process
    groups. Our own children (forkserver, resource tracker) share our session and are left
    alone, and so are those in ``keep`` (the children this process had before its workers
    started: a program using the API may have its own). Returns how many were found."""
    own_sid = os.getsid(0)
    found = 0
    for pid in children():
        if pid in keep:
            continue
        try:
            sid, pgid = os.getsid(pid), os.getpgid(pid)
        except OSError:  # gone meanwhile
            continue
        if sid == own_sid:
            continue
        found += 1
        with contextlib.suppress(OSError):
            os.killpg(pgid, signal.SIGKILL)
        _reap(pid)
    return found


def _reap(pid: int, patience: float = 2.0) -> None:
    """Collect a killed child; never block for long (a process in uninterruptible sleep, e.g.
    on a hung network file system, dies only when its system call returns)."""
    deadline = time.monotonic() + patience
    while True:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except (ChildProcessError, OSError):
            return
        if done or time.monotonic() > deadline:
            return
        time.sleep(0.01)


def children() -> list[int]:
    """This process's children, from /proc (every thread's list)."""
    pids: list[int] = []
    with contextlib.suppress(OSError):
        for tid in os.listdir("/proc/self/task"):
            with contextlib.suppress(OSError), open(f"/proc/self/task/{tid}/children") as f:
                pids += [int(p) for p in f.read().split()]
    return sorted(set(pids))
