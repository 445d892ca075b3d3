"""Measuring helpers shared by the benchmark scripts in ``bench/``.

Child processes, peak RSS (``VmHWM`` from ``/proc``, ``ru_maxrss``), CPU time, the source being
measured and the PASS/FAIL verdicts. Standard library only, and nothing heavy at import time: the
launchers import this and must stay small (Linux carries a parent's peak RSS into an exec'd
child's ``ru_maxrss``).
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import importlib.util
import json
import os
import platform
import resource
import sqlite3
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent


# -- memory and CPU (in the child processes) ---------------------------------------------------


def mib(kib: int) -> float:
    """KiB as MiB, rounded to 0.1."""
    return round(kib / 1024, 1)


def vm_kib(field_name: bytes = b"VmHWM:", pid: int | str = "self") -> int:
    """A ``/proc/PID/status`` field in KiB (``VmHWM:`` is the peak RSS); 0 if unreadable."""
    try:
        with open(f"/proc/{pid}/status", "rb") as fh:
            for line in fh:
                if line.startswith(field_name):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def cpu_seconds() -> float:
    """User + system CPU seconds of this process so far."""
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def descendants(root_pid: int) -> list[int]:
    """The pids of all descendants of ``root_pid`` (one pass over ``/proc``)."""
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as fh:
                data = fh.read()
        except OSError:
            continue
        ppid = int(data[data.rfind(b")") + 2 :].split()[1])
        children.setdefault(ppid, []).append(int(name))
    out: list[int] = []
    todo = [root_pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


class HwmSampler(threading.Thread):
    """Largest VmHWM (peak RSS, KiB) of any descendant of ``root_pid`` (default: this process),
    sampled every ``interval`` seconds until :meth:`stop`."""

    def __init__(self, root_pid: int | None = None, interval: float = 0.2) -> None:
        super().__init__(name="bench-hwm", daemon=True)
        self.root_pid = root_pid
        self.interval = interval
        self.peak_kib = 0
        self._done = threading.Event()

    def sample(self) -> None:
        """Take one sample now."""
        for pid in descendants(self.root_pid or os.getpid()):
            self.peak_kib = max(self.peak_kib, vm_kib(b"VmHWM:", pid))

    def run(self) -> None:
        while not self._done.wait(self.interval):
            self.sample()

    def stop(self, final_sample: bool = False) -> int:
        """Stop sampling (after one last sample if ``final_sample``); the peak in KiB."""
        if final_sample:
            self.sample()
        self._done.set()
        self.join()
        return self.peak_kib


def stop_forkserver() -> None:
    """Stop and reap multiprocessing's forkserver so that its reaped workers count in
    RUSAGE_CHILDREN (preserveplan's pool workers are children of the forkserver)."""
    from multiprocessing import forkserver

    server = getattr(forkserver, "_forkserver", None)
    if server is not None and getattr(server, "_forkserver_pid", None):
        server._stop()


# -- the launcher ------------------------------------------------------------------------------


def log(message: str) -> None:
    """A progress line on stderr (stdout carries the report)."""
    print(message, file=sys.stderr, flush=True)


def workdir(keep: str | None, prefix: str) -> Path:
    """``keep`` (created if needed) or a fresh temporary folder named ``prefix…``."""
    if keep:
        work = Path(keep).resolve()
        work.mkdir(parents=True, exist_ok=True)
        return work
    return Path(tempfile.mkdtemp(prefix=prefix))


def remove_db(db: Path) -> None:
    """Remove an SQLite catalog and its ``-wal``, ``-shm`` and ``.lock`` companions."""
    for suffix in ("", "-wal", "-shm", ".lock"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(str(db) + suffix)


def run_child(cmd: list[str], out: Path) -> tuple[dict[str, Any] | None, str | None]:
    """Run ``cmd`` (a child that writes its figures as JSON to ``out``) to its end:
    ``(figures, None)``, or ``(None, error)`` with the exit code and the tail of its stderr."""
    with contextlib.suppress(FileNotFoundError):
        out.unlink()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0 or not out.exists():
        return None, f"exit {proc.returncode}: {proc.stderr.strip()[-2000:]}"
    figures: dict[str, Any] = json.loads(out.read_text())
    out.unlink()
    return figures, None


def median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run of median ``seconds`` (the faster of the middle two), with ``all_seconds`` when
    there are several runs and ``seconds`` rounded to the ms. Sorts ``runs`` in place."""
    runs.sort(key=lambda f: f["seconds"])
    median = runs[(len(runs) - 1) // 2]
    if len(runs) > 1:
        median["all_seconds"] = [round(r["seconds"], 3) for r in runs]
    median["seconds"] = round(median["seconds"], 3)
    return median


class Timed:
    """Mixin for a result with ``files`` and ``figures`` (None after an error): its speed."""

    files: int
    figures: dict[str, Any] | None

    @property
    def seconds(self) -> float | None:
        return self.figures["seconds"] if self.figures else None

    @property
    def files_per_s(self) -> float | None:
        s = self.seconds
        return self.files / s if s else None


def version(dist: str) -> str:
    """The installed version of ``dist``, or ``?``."""
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "?"


def cpu_model() -> str:
    """The CPU's model name from ``/proc/cpuinfo`` (empty if unknown)."""
    model = ""
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as fh:
        model = next((ln.split(":", 1)[1].strip() for ln in fh if "model name" in ln), "")
    return model


def machine(source: str, **versions: str) -> dict[str, Any]:
    """The machine, Python, preserveplan, SQLite and ``versions`` of other tools, with
    ``source`` (from :func:`source_version`)."""
    return {
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)),
        "cpu_model": cpu_model(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "python_impl": platform.python_implementation(),
        **versions,
        "preserveplan": version("preserveplan"),
        "sqlite": sqlite3.sqlite_version,
        "source": source,
    }


def print_machine(m: dict[str, Any]) -> None:
    """The ``machine:`` line of a report, from :func:`machine`."""
    print(
        f"machine: {m['cpu_count']} CPUs ({m['cpus_usable']} usable) {m['cpu_model']}; "
        f"{m['platform']}"
    )


def print_source(m: dict[str, Any]) -> None:
    """The ``source:`` line of a report, and a warning if the source changed since."""
    print(f"source: {m['source']}")
    now = source_version()
    if now != m["source"]:
        print(f"WARNING: the source changed during the run (now {now}): figures may mix")


def source_version(repo: Path = REPO) -> str:
    """The commit of the preserveplan checkout being measured, and whether src/ has edits."""
    spec = importlib.util.find_spec("preserveplan")  # locates the package without importing it
    origin = Path(spec.origin).resolve() if spec and spec.origin else None
    if origin is None or not origin.is_relative_to(repo / "src"):
        return f"preserveplan from {origin.parent if origin else '?'} (not this checkout)"
    try:
        head = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no", "src"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return f"commit {head}" + (" + uncommitted changes in src/" if dirty else "")


# -- the report --------------------------------------------------------------------------------


def verdict(name: str, value: float | None, target: float, above: bool) -> dict[str, Any]:
    """A target check: PASS when ``value >= target`` (``above``) or ``value < target``."""
    ok = value is not None and (value >= target if above else value < target)
    return {
        "name": name,
        "value": None if value is None else round(value, 3),
        "target": f"{'>=' if above else '<'} {target:g}",
        "pass": ok,
    }
