"""The forkserver's preloaded modules must not load pygfried (a forked Go runtime hangs)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from preserveplan.procs import PRELOAD, forkserver


def test_preloaded_modules_do_not_load_the_go_runtime() -> None:
    code = (
        "import sys\n"
        f"for m in {PRELOAD!r}: __import__(m)\n"
        "assert 'pygfried' not in sys.modules, 'pygfried loaded by a preloaded module'\n"
        "print('ok')\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr


def test_workers_from_the_preloaded_forkserver_identify() -> None:
    """A worker forked from the preloaded server loads Siegfried itself and identifies a file
    (it would hang here if the server had loaded pygfried before forking)."""
    from concurrent.futures import ProcessPoolExecutor

    from preserveplan.migrate.validate import identify

    with ProcessPoolExecutor(1, mp_context=forkserver()) as pool:
        puid = pool.submit(identify, __file__).result(timeout=60)
    assert puid == "fmt/938"  # Python script


def _identify_within(path: str, seconds: float) -> object:
    """In a worker: Siegfried on ``path`` under :func:`time_limit`."""
    from preserveplan.inventory import worker
    from preserveplan.inventory.containers import Limits
    from preserveplan.procs import time_limit

    worker.prepare(Limits())
    with time_limit(seconds):
        return worker.identify_files([path.encode()])


def _sleep_within(block: float, limit: float, after: float) -> str:
    from preserveplan.procs import time_limit

    with time_limit(limit):
        time.sleep(block)
    time.sleep(after)  # past the limit: it must have been disarmed
    return "alive"


def test_a_hung_identification_ends_its_worker(tmp_path: Path) -> None:
    """A real hang: Siegfried opening a FIFO (a file swapped for one after the walk) waits for
    a writer forever, inside Go, where Python cannot interrupt it. The time limit ends the
    worker process (SIGALRM), so the pool breaks (the scan then isolates the file and records
    ``worker_crash``) instead of the run waiting for ever. A block that ends in time leaves no
    alarm behind, and in the coordinator the limit is never armed."""
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    from preserveplan.procs import time_limit

    fifo = tmp_path / "swapped"
    os.mkfifo(fifo)
    started = time.monotonic()
    with ProcessPoolExecutor(1, mp_context=forkserver()) as pool, pytest.raises(BrokenProcessPool):
        pool.submit(_identify_within, str(fifo), 2).result(timeout=60)
    assert time.monotonic() - started < 30
    with ProcessPoolExecutor(1, mp_context=forkserver()) as pool:
        assert pool.submit(_sleep_within, 0.1, 1, 1.5).result(timeout=60) == "alive"
    with time_limit(1):  # the coordinator (this process): not armed
        pass
    assert signal.alarm(0) == 0


def _on_a_thread(fn: object, *args: object) -> object:
    """In a worker, as on a Dask worker: run ``fn`` on a thread other than the main one, with
    time limits allowed on threads."""
    import threading

    from preserveplan.procs import allow_limits_on_threads

    allow_limits_on_threads()
    result: list[object] = []
    worker = threading.Thread(target=lambda: result.append(fn(*args)))  # type: ignore[operator]
    worker.start()
    worker.join()
    return result[0] if result else None


def test_a_hang_on_a_task_thread_ends_its_process(tmp_path: Path) -> None:
    """A Dask worker runs tasks on threads: with ``allow_limits_on_threads`` the limit is armed
    there too and a real hang (Siegfried on a FIFO, which holds the GIL, so no watchdog thread
    could act) ends the process; a block that ends in time leaves no alarm behind."""
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    fifo = tmp_path / "swapped"
    os.mkfifo(fifo)
    started = time.monotonic()
    with ProcessPoolExecutor(1, mp_context=forkserver()) as pool, pytest.raises(BrokenProcessPool):
        pool.submit(_on_a_thread, _identify_within, str(fifo), 2).result(timeout=60)
    assert time.monotonic() - started < 30
    with ProcessPoolExecutor(1, mp_context=forkserver()) as pool:
        assert pool.submit(_on_a_thread, _sleep_within, 0.1, 1, 1.5).result(timeout=60) == "alive"
    # without the permission a thread is never limited (the coordinator's threads)
    with ProcessPoolExecutor(1, mp_context=forkserver()) as pool:
        assert pool.submit(_thread_without_permission).result(timeout=60) == "alive"


def _thread_without_permission() -> str:
    import threading

    result: list[str] = []
    worker = threading.Thread(target=lambda: result.append(_sleep_within(1.5, 1, 0)))
    worker.start()
    worker.join()
    return result[0]
