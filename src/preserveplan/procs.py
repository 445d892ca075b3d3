"""Worker processes: one forkserver for every local pool (scan and migrate).

The forkserver imports preserveplan's worker modules once (``PRELOAD``); every worker it forks
then starts without importing them again (about 0.1 CPU-s per worker, which on a short run of
small files is a large part of the run). Nothing in ``PRELOAD`` may load pygfried at import:
pygfried is a Go shared library whose runtime starts threads when it is loaded, and a process
forked from one hangs. pygfried is imported where a Scanner is made, inside the workers.
"""

from __future__ import annotations

from multiprocessing import get_context
from multiprocessing.context import ForkServerContext

__all__ = ["PRELOAD", "forkserver"]

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
