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
import os
import signal
import time
from multiprocessing import get_context
from multiprocessing.context import ForkServerContext

__all__ = ["PRELOAD", "become_subreaper", "children", "forkserver", "kill_orphans"]

PRELOAD = [
    "preserveplan.inventory.worker",
    "preserveplan.migrate.runner",
    "preserveplan.migrate.validate",
]


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
