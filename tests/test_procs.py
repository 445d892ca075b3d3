"""The forkserver's preloaded modules must not load pygfried (a forked Go runtime hangs)."""

from __future__ import annotations

import subprocess
import sys

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
