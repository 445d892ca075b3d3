"""Scale-out on a Dask distributed cluster: the per-file work of ``scan`` and ``migrate`` runs
in the cluster's worker processes; this process (the coordinator) alone writes the catalog.

The seam is :class:`concurrent.futures.Executor`: :meth:`Cluster.executor` returns one that the
scan and the migration runner use exactly like their local process pool, so the pipeline, the
batching and the catalog writes are the same code whichever runs the work.

Workers must see the archive (and, for ``migrate``, the output tree) under the same paths as the
coordinator, and run the same preserveplan, pygfried, signature files, Python and Dask. That is
checked when connecting (every worker answers; the archive's top-level listing must match, a
probe file written into the output tree must be visible) and again by each worker process before
its first task, so that a worker that joins later is held to the same terms.

Per-process state: like the local pool's workers, each Dask worker process keeps one Siegfried
scanner and (for ``migrate``) one persistent LibreOffice, made on first use — Dask has no pool
initializer, so every task goes through :func:`_call`, which prepares the process once. That
state is per process, not per thread, so **workers must run one thread each**
(``dask worker … --nthreads 1 --nworkers N``): a worker with more threads is refused when
connecting, and :func:`_call` also holds a process-wide lock, so that a worker with more threads
that joins later still runs one task at a time (correct, merely not faster).

A worker that dies mid-run loses no file: Dask runs its tasks again on other workers. A task
whose workers keep dying ends as Dask's ``KilledWorker`` (after the scheduler's
``distributed.scheduler.allowed-failures`` + 1 deaths), which the executor raises as
:class:`WorkerKilled`; the scan splits such a batch and records a single file that still kills
workers as ``worker_crash``, as it does after a broken local pool. A task that runs past its
time limit (``procs.time_limit``: a hang in Siegfried, a stale share) ends its worker process
with SIGALRM (``procs.allow_limits_on_threads``) and goes the same way.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import functools
import hashlib
import itertools
import os
import sys
import threading
import uuid
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from . import paths as P
from .errors import PreserveplanError, UsageError
from .versions import __version__, engine_info

if TYPE_CHECKING:
    from distributed import Client

    from .inventory.containers import Limits

T = TypeVar("T")

#: seconds to wait for the scheduler (and for its first worker); ``$PRESERVEPLAN_CLUSTER_TIMEOUT``
DEFAULT_TIMEOUT = 20.0
#: packages that must be the same version on the coordinator, the scheduler and every worker
_PACKAGES = ("preserveplan", "pygfried", "dask", "distributed", "cloudpickle")
_PROBE_PREFIX = ".preserveplan-cluster-probe-"
# Dask's client keeps its last N messages to the scheduler for debugging (1000 by default): with
# a batch of paths in each task that is tens of MB held for nothing.
_MESSAGE_LOG = "distributed.admin.low-level-log-length"


class ClusterError(PreserveplanError):
    """The Dask cluster cannot be used: unreachable, mismatched workers, or lost mid-run."""

    exit_code = 6


class WorkerKilled(Exception):
    """Dask gave up on a task: the worker processes that ran it died again and again."""


# -- facts about a process (the coordinator's, or a worker's) ---------------------------------


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def _software_without_engine() -> dict[str, str]:
    facts = {name: _version(name) for name in _PACKAGES}
    facts["preserveplan"] = __version__
    facts["python"] = "{}.{}".format(*sys.version_info[:2])
    return facts


@functools.cache
def _software() -> dict[str, str]:
    """Versions that must match the coordinator's (computed once per process)."""
    facts = _software_without_engine()
    facts["signatures"] = engine_info().signature_key
    return facts


def _listing(path: bytes) -> str:
    """Digest of a folder's sorted names: the same tree is seen under the same path."""
    names = sorted(os.listdir(path))
    return hashlib.sha256(b"\0".join(names)).hexdigest()[:16]


def _path_problems(
    archives: Sequence[bytes], output: bytes | None, listings: dict[bytes, str] | None
) -> list[str]:
    """What is wrong with the paths this process must use (empty: nothing)."""
    problems = []
    for root in archives:
        shown = P.for_display(root)
        if not os.path.isdir(root):
            problems.append(f"archive {shown} is not there (mounted under the same path?)")
        elif not os.access(root, os.R_OK | os.X_OK):
            problems.append(f"archive {shown} is not readable")
        elif listings is not None and _listing(root) != listings.get(root):
            problems.append(f"archive {shown} holds other files than on the coordinator")
    if output is not None:
        shown = P.for_display(output)
        if not os.path.isdir(output):
            problems.append(f"output folder {shown} is not there (mounted under the same path?)")
        elif not os.access(output, os.W_OK | os.X_OK):
            problems.append(f"output folder {shown} is not writable")
    return problems


def _facts(
    archives: Sequence[bytes],
    output: bytes | None,
    listings: dict[bytes, str] | None,
    probe: bytes | None,
    tools: Sequence[str],
) -> dict[str, Any]:
    problems = _path_problems(archives, output, listings)
    if probe is not None and output is not None and not os.path.exists(os.path.join(output, probe)):
        problems.append(
            f"output folder {P.for_display(output)} is another folder than the coordinator's "
            "(a file written there is not seen)"
        )
    if tools:
        from .migrate.registry import MODULES

        missing = [t for t in tools if t not in MODULES or not MODULES[t].available()]
        if missing:
            problems.append(f"converter(s) not installed: {', '.join(missing)}")
    return {
        "software": _software(),
        "problems": problems,
        "pid": os.getpid(),
        "host": os.uname().nodename,
    }


def _scheduler_software() -> dict[str, str]:
    """What the scheduler must share with the coordinator (it never identifies anything)."""
    return {k: v for k, v in _software_without_engine().items() if k != "pygfried"}


async def _worker_facts(*args: Any) -> dict[str, Any]:
    """Run on every worker by :meth:`Cluster.check` (off the worker's event loop)."""
    import asyncio

    return await asyncio.to_thread(_facts, *args)


def _mismatches(mine: dict[str, str], theirs: dict[str, str]) -> list[str]:
    return [
        f"{key} {theirs.get(key, '?')} (coordinator: {mine[key]})"
        for key in mine
        if theirs.get(key) != mine[key]
    ]


# -- the task wrapper (runs in the worker processes) ------------------------------------------


@dataclass(frozen=True)
class _Context:
    """Sent with every task: what the worker process must have and must set up before it."""

    token: str
    software: tuple[tuple[str, str], ...]
    archives: tuple[bytes, ...]
    output: bytes | None
    limits: Limits | None  # scan: the container limits (a worker serves many scans)


class _Packed:
    """A task's arguments in a box Dask does not look into (it walks lists and tuples to find
    references to other tasks: 500 paths per batch cost more than the task)."""

    __slots__ = ("args", "kwargs")

    def __init__(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self.args = args
        self.kwargs = kwargs

    def __getstate__(self) -> tuple[tuple[Any, ...], dict[str, Any]]:
        return self.args, self.kwargs

    def __setstate__(self, state: tuple[tuple[Any, ...], dict[str, Any]]) -> None:
        self.args, self.kwargs = state


_TASK_LOCK = threading.Lock()
_prepared: set[str] = set()
#: processes that hold a Cluster connection (coordinators): tasks that a worker living in one
#: of them runs (a threads-only LocalCluster) must never be able to kill it
_coordinators: set[int] = set()


def _call(ctx: _Context, fn: Callable[..., T], packed: _Packed) -> T:
    """Run one task in a worker process: one at a time per process (see the module docstring),
    after checking and preparing the process once per run."""
    with _TASK_LOCK:
        if ctx.token not in _prepared:
            _prepare(ctx)
            _prepared.add(ctx.token)
        if ctx.limits is not None:
            from .inventory import worker

            worker.prepare(ctx.limits)
        return fn(*packed.args, **packed.kwargs)


def _prepare(ctx: _Context) -> None:
    where = f"worker process {os.getpid()} on {os.uname().nodename}"
    wrong = _mismatches(dict(ctx.software), _software())
    if wrong:
        raise ClusterError(f"{where} runs other software: {'; '.join(wrong)}")
    problems = _path_problems(ctx.archives, ctx.output, None)
    if problems:
        raise ClusterError(f"{where}: {'; '.join(problems)}")
    if os.getpid() not in _coordinators:
        from .procs import allow_limits_on_threads

        allow_limits_on_threads()  # time limits end a hung worker process here too


# -- the coordinator side ---------------------------------------------------------------------


def _timeout(timeout: float | None) -> float:
    if timeout is not None:
        return timeout
    try:
        return float(os.environ.get("PRESERVEPLAN_CLUSTER_TIMEOUT", DEFAULT_TIMEOUT))
    except ValueError:
        raise UsageError("PRESERVEPLAN_CLUSTER_TIMEOUT must be a number of seconds") from None


class Cluster:
    """A connection to a Dask scheduler whose workers do preserveplan's per-file work."""

    def __init__(self, address: str, *, timeout: float | None = None) -> None:
        self.address = address
        _coordinators.add(os.getpid())
        wait = _timeout(timeout)
        try:
            import dask
            from distributed import Client
        except ImportError as exc:  # pragma: no cover - a dependency
            raise ClusterError(f"Dask distributed is not installed ({exc})") from None
        try:
            with warnings.catch_warnings(), dask.config.set({_MESSAGE_LOG: 10}):
                # Dask warns about mismatched versions itself; check() says which worker.
                warnings.simplefilter("ignore")
                self.client: Client = Client(
                    address, timeout=wait, set_as_default=False, name="preserveplan"
                )
        except ValueError as exc:
            raise UsageError(f"not a Dask scheduler address: {address!r} ({exc})") from None
        except (OSError, TimeoutError) as exc:
            raise ClusterError(
                f"cannot reach the Dask scheduler at {address} (waited {wait:g} s): {exc}"
            ) from None
        try:
            self.client.wait_for_workers(1, timeout=wait)
        except (OSError, TimeoutError):
            self.close()
            raise ClusterError(
                f"the Dask scheduler at {address} has no workers (waited {wait:g} s): start "
                f"them with 'dask worker {address} --nthreads 1 --nworkers N'"
            ) from None

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.client.close()

    @property
    def threads(self) -> int:
        """Task slots in the cluster now (= worker processes, one thread each)."""
        nthreads: dict[str, int] = self.client.nthreads()
        return max(1, sum(nthreads.values()))

    def check(
        self,
        archives: Sequence[bytes] = (),
        output: bytes | None = None,
        tools: Sequence[str] = (),
    ) -> dict[str, Any]:
        """Refuse the cluster unless every worker runs one thread and has the coordinator's
        software and paths (the archives' top-level names, a probe file in ``output``)."""
        problems: list[str] = []
        for addr, n in sorted(self.client.nthreads().items()):
            if n != 1:
                problems.append(
                    f"{addr}: {n} threads per worker process; start workers with "
                    "'dask worker … --nthreads 1 --nworkers N' (one scanner and one LibreOffice "
                    "per process)"
                )
        mine = _software()
        problems += self._scheduler_mismatches(mine)
        listings = {root: _listing(root) for root in archives}
        probe = None
        if output is not None:
            probe = f"{_PROBE_PREFIX}{uuid.uuid4().hex}".encode()
            Path(os.fsdecode(os.path.join(output, probe))).write_bytes(b"")
        try:
            answers = self.client.run(
                _worker_facts,
                list(archives),
                output,
                listings,
                probe,
                list(tools),
                on_error="return",
            )
        finally:
            if probe is not None and output is not None:
                with contextlib.suppress(OSError):
                    os.unlink(os.path.join(output, probe))
        for addr, facts in sorted(answers.items()):
            if isinstance(facts, BaseException):
                hint = (
                    " (is preserveplan installed there?)" if isinstance(facts, ImportError) else ""
                )
                problems.append(f"{addr}: {type(facts).__name__}: {facts}{hint}")
                continue
            wrong = _mismatches(mine, facts["software"])
            if wrong:
                problems.append(f"{addr}: other software: {'; '.join(wrong)}")
            problems += [f"{addr}: {p}" for p in facts["problems"]]
        if problems:
            shown = problems[:10] + ([f"… and {len(problems) - 10} more"] if problems[10:] else [])
            raise ClusterError(
                f"the Dask cluster at {self.address} cannot be used:\n  " + "\n  ".join(shown)
            )
        return {"workers": len(answers), "software": mine}

    def _scheduler_mismatches(self, mine: dict[str, str]) -> list[str]:
        """The scheduler unpickles every task, so it needs preserveplan (and the same Dask)."""
        try:
            theirs: dict[str, str] = self.client.run_on_scheduler(_scheduler_software)
        except Exception as exc:
            hint = " (is preserveplan installed there?)" if isinstance(exc, ImportError) else ""
            return [f"scheduler: {type(exc).__name__}: {exc}{hint}"]
        wrong = _mismatches({k: mine[k] for k in theirs}, theirs)
        return [f"scheduler: other software: {'; '.join(wrong)}"] if wrong else []

    def executor(
        self,
        archives: Sequence[bytes] = (),
        output: bytes | None = None,
        limits: Limits | None = None,
    ) -> ClusterExecutor:
        """An executor for one run: each task is checked and prepared for in its worker."""
        ctx = _Context(
            token=uuid.uuid4().hex,
            software=tuple(_software().items()),
            archives=tuple(archives),
            output=output,
            limits=limits,
        )
        return ClusterExecutor(self.client, ctx)


class ClusterExecutor(cf.Executor):
    """A :class:`concurrent.futures.Executor` over a Dask client (``pure=False``: a task sent
    again is run again). Results and errors are those of the local pool, except that a task
    Dask gave up on raises :class:`WorkerKilled`, a lost scheduler raises :class:`ClusterError`
    and any other failure on a worker raises :class:`ClusterError` naming it."""

    def __init__(self, client: Client, ctx: _Context) -> None:
        self._inner = client.get_executor(pure=False)
        self._ctx = ctx
        self._closing = False
        self._count = itertools.count()

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> cf.Future[T]:
        # Readable keys (the dashboard groups them by name), unique per run and task.
        key = f"preserveplan-{fn.__name__}-{self._ctx.token}-{next(self._count)}"
        inner = self._inner.submit(_call, self._ctx, fn, _Packed(args, kwargs), key=key)
        outer: cf.Future[T] = cf.Future()
        # The Dask future is released once its result has been handed over (no result stays
        # on a worker), because only the inner future refers to it.
        inner.add_done_callback(functools.partial(self._settle, outer))
        return outer

    def _settle(self, outer: cf.Future[Any], inner: cf.Future[Any]) -> None:
        if inner.cancelled():
            if self._closing:
                outer.cancel()
                outer.set_running_or_notify_cancel()
            else:
                outer.set_exception(
                    ClusterError(
                        "the connection to the Dask scheduler was lost; run the same command "
                        "again to resume"
                    )
                )
            return
        exc = inner.exception()
        if exc is None:
            outer.set_result(inner.result())
        else:
            outer.set_exception(_translate(exc))

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._closing = True
        self._inner.shutdown(wait=wait and not cancel_futures)


def _translate(exc: BaseException) -> BaseException:
    from distributed import KilledWorker

    if isinstance(exc, KilledWorker):
        return WorkerKilled(str(exc))
    if isinstance(exc, PreserveplanError):
        return exc
    return ClusterError(f"a task failed on the cluster: {type(exc).__name__}: {exc}")


_NOISY = ("distributed", "tornado", "asyncio", "bokeh")


def quiet_dask_logs() -> None:
    """Keep Dask's and Tornado's own log lines (tracebacks of lost connections, restarted
    workers) off the terminal: the command line reports what went wrong in one line."""
    import logging

    import distributed  # noqa: F401 (configures its loggers on import; override them after)

    names = [n for n in logging.root.manager.loggerDict if n.split(".")[0] in _NOISY]
    for name in [*_NOISY, *names]:
        logging.getLogger(name).setLevel(logging.CRITICAL + 1)


def connect(address: str, *, timeout: float | None = None) -> Cluster:
    """Connect to the Dask scheduler at ``address`` (``tcp://host:8786``); raises
    :class:`ClusterError` when it cannot be reached or has no workers."""
    return Cluster(address, timeout=timeout)
