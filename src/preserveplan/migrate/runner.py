"""Batch migration: convert what the assessment says, validate every output, journal every step.

The journal (``migrations``) is filled once per run from the assessment; each file goes
pending → done | failed. Workers convert into a hidden partial file next to the final output,
validate it (target PUID, PDF/A structure), and only then rename it into place, so an output
path either holds a validated file or nothing. The source's SHA-256 is checked before and after
each conversion: a changed original stops the run loudly. Re-running the same command resumes;
finished files are never redone; ``retry_failed`` retries the failures.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import re
import secrets
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import (
    FIRST_COMPLETED,
    Executor,
    Future,
    ProcessPoolExecutor,
    ThreadPoolExecutor,
    wait,
)
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..catalog import Catalog, TodoRow, now
from ..cluster import WorkerKilled
from ..errors import PreserveplanError, UsageError
from ..inventory.fixity import sha256_file
from ..paths import escaped
from ..procs import become_subreaper, children, forkserver, hang_limit, kill_orphans, time_limit
from ..rules.model import action_outputs
from .registry import MODULES, SUFFIX

if TYPE_CHECKING:
    from ..cluster import Cluster
    from .validate import ValidationResult


class SourceModifiedError(PreserveplanError):
    """An original changed while it was being converted: the run stops at once."""

    exit_code = 5


@dataclass
class MigrationSummary:
    run_id: int
    resumed: bool
    total: int
    done: int = 0
    failed: dict[str, int] = field(default_factory=dict)
    pending: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    this_run: int = 0
    stopped: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def partial_path(dst: Path, token: str | None = None) -> Path:
    """Hidden temporary name beside the final output, new for every attempt (a converter left
    running by a dead worker can never write into the next attempt's file); same suffix, so
    tools see the format."""
    token = token or secrets.token_hex(4)
    return dst.with_name(f".{_partial_base(dst)}.{token}.partial{dst.suffix}")


def _partial_base(dst: Path) -> str:
    """``dst``'s name, or for a long one (the partial and the converters' temporary names add
    up to 40 bytes; a name may have 255) its first 100 bytes and a hash of the whole."""
    raw = os.fsencode(dst.name)
    if len(raw) <= 140:
        return dst.name
    return os.fsdecode(raw[:100]) + "~" + hashlib.sha256(raw).hexdigest()[:12]


_CHECKS: tuple[int, ThreadPoolExecutor] | None = None


def _checks() -> ThreadPoolExecutor:
    """Two threads per worker process for the checks that run beside a conversion."""
    global _CHECKS
    if _CHECKS is None or _CHECKS[0] != os.getpid():  # a forked child needs its own threads
        _CHECKS = (os.getpid(), ThreadPoolExecutor(2, thread_name_prefix="preserveplan-check"))
    return _CHECKS[1]


def _final(out: dict[str, Any], outcome: str, message: str, **extra: Any) -> dict[str, Any]:
    return {**out, **extra, "outcome": outcome, "message": message, "finished_at": now()}


def _source_verdict(
    task: dict[str, Any], before: str | None, after: str | None, status: tuple[int, ...] | None
) -> tuple[str, str] | None:
    """``source-modified`` when the original changed while we worked on it (checksums before
    and after, or its status: inode, size, mtime, ctime); ``source-changed`` when it was
    already another file than the scanned one; None when it is the scanned file, untouched."""
    if after != before or _status(task["src"]) != status:
        return "source-modified", "the ORIGINAL changed during its conversion"
    if task["expected_sha256"] and before != task["expected_sha256"]:
        return "source-changed", "the source differs from the scan: scan again first"
    return None


def convert_step(task: dict[str, Any]) -> dict[str, Any]:
    """Worker, first stage: convert one file into a hidden partial file beside its output.

    Returns the final result when there is nothing to validate (the conversion failed, the
    source could not be read, the disk is full), else a hand-off (``"stage": "check"``) for
    :func:`check_step`. The source is hashed while the converter runs (it reads the source
    too; hashing releases the GIL), and its status (inode, size, mtime, ctime) is taken before
    the conversion starts.
    """
    with time_limit(_hang_limit(task)):
        try:
            return _convert_step(task)
        except PreserveplanError:  # a run-level problem (a converter gone): the run stops
            raise
        except Exception as exc:  # a bug, or input a library cannot take: this file only
            return _unexpected(exc, "converting")


def _hang_limit(task: dict[str, Any]) -> float:
    """Past the converter's own timeout: what a stage may take before its process is ended as
    hung (a read from a stale share, Siegfried or pikepdf stuck on an output)."""
    return float(task["timeout"]) + hang_limit(task.get("size") or 0)


def _convert_step(task: dict[str, Any]) -> dict[str, Any]:
    src = Path(os.fsdecode(task["src"]))
    dst = Path(os.fsdecode(task["dst"]))
    out: dict[str, Any] = {"started_at": now(), "source_sha256": None}
    partial = partial_path(dst)
    module = MODULES[task["tool"]]
    need = _space_needed(task.get("size") or 0)
    pool = _checks()
    status_before = _status(task["src"])
    hashing = pool.submit(sha256_file, task["src"], inspect=False)
    try:
        dst.parent.mkdir(parents=True, exist_ok=True)
        if _free_space(dst.parent) < need:
            hashing.result()
            return _final(
                out, "disk-full", f"less than {need // 2**20} MiB free on the output device"
            )
        result = module.convert(src, partial, timeout=task["timeout"], target=task["target"])
    except OSError as exc:
        hashing.result()
        if exc.errno == errno.ENOSPC:
            return _final(out, "disk-full", f"no space left on the output device: {exc}")
        return _final(out, "failed", f"{exc.strerror or exc}")
    out.update(
        tool_version=result.tool_version,
        command=json.dumps([str(c) for c in result.command]),
    )
    before = hashing.result()
    out["source_sha256"] = before.sha256
    if before.sha256 is None:
        _unlink(partial)
        return _final(out, before.outcome, before.message or "source cannot be read")
    if result.ok:
        return {
            **out,
            "stage": "check",
            "partial": os.fsencode(partial),
            "status_before": status_before,
            "message": result.message,
        }
    _unlink(partial)
    after = sha256_file(task["src"], inspect=False)
    verdict = _source_verdict(task, before.sha256, after.sha256, status_before)
    if verdict is not None:
        return _final(out, *verdict)
    # Converters rarely say "disk full" clearly (Ghostscript: "ioerror"): look at the disk.
    if "No space left" in result.message or _free_space(dst.parent) < need:
        return _final(out, "disk-full", f"the output device is full ({result.message})")
    return _final(out, result.outcome, result.message)


def check_step(task: dict[str, Any], handoff: dict[str, Any]) -> dict[str, Any]:
    """Worker, second stage: validate the partial output of :func:`convert_step`, check that
    the source is still the scanned, untouched file, and only then rename the output into place.

    The source is hashed again and the output hashed while the output is validated. A change of
    the source's checksum or status since before the conversion is ``source-modified`` (the run
    stops); a source that differs from the scan's checksum is ``source-changed``.
    """
    with time_limit(_hang_limit(task)):
        try:
            return _check_step(task, handoff)
        except PreserveplanError:
            raise
        except Exception as exc:
            with contextlib.suppress(OSError):
                _unlink(Path(os.fsdecode(handoff["partial"])))
            kept = {k: handoff.get(k) for k in _HANDED_ON}
            return kept | _unexpected(exc, "validating the output of")


#: what the conversion step's hand-off carries into the check step's result
_HANDED_ON = ("started_at", "source_sha256", "tool_version", "command")


def _unexpected(exc: Exception, doing: str) -> dict[str, Any]:
    """The result of a step that failed in an unforeseen way: the file fails with the error and
    where it happened (for a bug report), the run goes on; never a traceback."""
    import traceback

    frames = traceback.extract_tb(exc.__traceback__)
    where = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""
    return {
        "outcome": "failed",
        "message": f"internal error while {doing} this file: {type(exc).__name__}: {exc}{where}",
        "started_at": now(),
        "finished_at": now(),
    }


def _check_step(task: dict[str, Any], handoff: dict[str, Any]) -> dict[str, Any]:
    from .validate import validate_file

    partial = Path(os.fsdecode(handoff["partial"]))
    dst = Path(os.fsdecode(task["dst"]))
    out: dict[str, Any] = {k: handoff[k] for k in _HANDED_ON}
    pool = _checks()
    rehashing = pool.submit(sha256_file, task["src"], inspect=False)
    output_hash = pool.submit(sha256_file, handoff["partial"], inspect=False)
    check = None
    failure: OSError | None = None
    try:
        check = validate_file(partial, task["target_puid"])
    except OSError as exc:
        failure = exc
    digest = output_hash.result()
    after = rehashing.result()
    verdict = _source_verdict(task, out["source_sha256"], after.sha256, handoff["status_before"])
    if verdict is not None:
        _unlink(partial)
        return _final(out, *verdict)
    try:
        if failure is not None:
            raise failure
        assert check is not None
        out["validation"], out["validation_checks"] = _validation_record(check, dst)
        out["output_puid"] = check.puid
        if not check.valid:
            _unlink(partial)
            errors = "; ".join(f"{p.clause}: {p.message}" for p in check.errors[:5])
            return _final(out, "invalid", f"output failed validation: {errors}")
        if digest.sha256 is None:
            raise OSError(errno.EIO, f"output cannot be read back: {digest.message}")
        os.replace(partial, dst)
    except OSError as exc:
        _unlink(partial)
        if exc.errno == errno.ENOSPC:
            return _final(out, "disk-full", f"no space left on the output device: {exc}")
        return _final(out, "failed", f"{exc.strerror or exc}")
    return _final(
        out,
        "done",
        handoff["message"] or "converted and validated",
        output_sha256=digest.sha256,
        output_size=digest.size,
    )


def _validation_record(check: ValidationResult, dst: Path) -> tuple[str, tuple[str, str, str]]:
    """The journal's JSON of a validation: the verdict and its errors, with what was and was
    not checked (the same 2.5 kB for nearly every output) replaced by the id of a
    ``validation_checks`` row, which is given too: (id, checked, not_checked). ``path`` is the
    output's name (the file validated was its hidden partial, renamed only if valid)."""
    record = check.as_json()
    record["path"] = escaped(str(dst))  # any file name
    checked = json.dumps(record.pop("checked"), ensure_ascii=False)
    not_checked = json.dumps(record.pop("not_checked"), ensure_ascii=False)
    digest = hashlib.sha256(f"{checked}\n{not_checked}".encode()).hexdigest()[:16]
    record["checks"] = digest
    return json.dumps(record), (digest, checked, not_checked)


def convert_one(task: dict[str, Any]) -> dict[str, Any]:
    """Worker: both stages in one call (convert, validate, rename): used on a Dask cluster,
    where every task is a network round trip and the scheduler interleaves the workers."""
    first = convert_step(task)
    return check_step(task, first) if first.get("stage") == "check" else first


def _status(path: bytes) -> tuple[int, ...] | None:
    """What changes when a file is written, renamed over or touched (ctime cannot be set back)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


MIN_FREE = 16 * 2**20


def _space_needed(size: int) -> int:
    """Free space to require before a conversion: outputs can be several times the input."""
    return max(MIN_FREE, 4 * size)


def _free_space(folder: Path) -> int:
    st = os.statvfs(folder)
    return st.f_bavail * st.f_frsize


def _remove_partials(dst: Path) -> None:
    """Remove the partial files of earlier attempts for ``dst`` (``.NAME.TOKEN.partial.EXT``,
    and the 0.1 name ``.STEM.partial.EXT``) and the converters' own temporary files made from
    them (the same names with one more leading dot)."""
    mine = re.compile(
        rb"\.\.?(?:" + re.escape(os.fsencode(_partial_base(dst))) + rb"\.[0-9a-f]{8}\.partial"
        rb"|" + re.escape(os.fsencode(dst.stem)) + rb"\.partial\.)"
    )
    try:
        with os.scandir(os.fsencode(dst.parent)) as it:
            stale = [e.path for e in it if mine.match(e.name)]
    except FileNotFoundError:
        return
    for path in stale:
        _unlink(Path(os.fsdecode(path)))


def _unlink(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def _output_rel(rel: bytes, target: str) -> bytes:
    base, dot, _ext = rel.rpartition(b".")
    stem = base if dot and b"/" not in rel[len(base) :] else rel
    return stem + SUFFIX.get(target, ".out").encode()


def migrate(
    catalog: Catalog,
    out_dir: str | os.PathLike[str],
    *,
    scan_id: int | None = None,
    workers: int | None = None,
    only: str | None = None,
    limit: int | None = None,
    timeout: float = 300.0,
    retry_failed: bool = False,
    dry_run: bool = False,
    progress: Any = None,
    cluster: str | None = None,
    check_processes: bool = True,
) -> MigrationSummary:
    """Run (or resume) the migration of a scan's newest assessment into ``out_dir``.

    ``check_processes``: outputs are validated in processes of their own, beside the
    conversions (default); false: each conversion process validates its own outputs (half the
    processes and memory, Siegfried loaded once per worker; the next conversion then waits).

    ``cluster`` (``tcp://host:port``): convert on that Dask cluster's workers, which must see
    the archive and ``out_dir`` under the same paths (``workers`` is then the cluster's)."""
    record = catalog.scan(scan_id)
    aid = catalog.last_assessment(record.id)
    if aid is None:
        raise UsageError(f"scan {record.id} has not been assessed: run 'preserveplan assess'")
    out = Path(out_dir).resolve()
    root = Path(record.root).resolve()
    if out == root or root in out.parents or out in root.parents:
        raise UsageError(
            f"--out {out} must lie outside the archive {root} (originals are read-only)"
        )
    run_id, resumed = catalog.migration_run(record.id, aid, str(out), {"only": only})
    _fill_journal(catalog, run_id, aid, record.id, only)
    missing = [
        t for t in catalog.migration_tools(run_id) if t not in MODULES or not MODULES[t].available()
    ]
    if missing:
        raise UsageError(
            f"converter(s) not installed: {', '.join(missing)} (see 'preserveplan plan')"
        )
    summary = MigrationSummary(run_id, resumed, total=catalog.migration_count(run_id))
    count, size = catalog.migration_todo_size(run_id, retry_failed, limit)
    if dry_run:
        summary.pending = count
        _fill_summary(catalog, summary)
        return summary
    rootb = str(root).encode("utf-8", "surrogateescape")
    outb = str(out).encode("utf-8", "surrogateescape")
    conn = None
    if cluster is not None and count:
        from ..cluster import connect

        conn = connect(cluster)
        try:
            out.mkdir(parents=True, exist_ok=True)
            conn.check(archives=[rootb], output=outb, tools=catalog.migration_tools(run_id))
        except BaseException:
            conn.close()
            raise
        workers = conn.threads
    if progress is not None:
        progress.total(count, size)
    try:
        stopped = _run(
            catalog,
            run_id,
            # streamed page by page, each page largest first
            largest_first(catalog.migration_todo(run_id, retry_failed, limit)),
            rootb,
            outb,
            workers or os.cpu_count() or 1,
            timeout,
            progress,
            summary,
            conn,
            check_processes,
        )
    finally:
        if conn is not None:
            conn.close()
    summary.stopped = stopped
    _fill_summary(catalog, summary)
    catalog.finish_migration_run(run_id, "stopped" if stopped else "complete", summary.as_dict())
    return summary


def largest_first(todo: Iterable[TodoRow], window: int = 1000) -> Iterator[TodoRow]:
    """The to-do rows, ``window`` at a time, each window largest input first.

    Long conversions then start early, and a window's (or the run's) last files are small ones,
    so the workers run out of work at about the same time instead of all but one waiting for a
    big file that started last (longest-processing-time-first scheduling; size stands in for
    time). Memory stays one window."""
    rows = iter(todo)
    while chunk := list(islice(rows, window)):
        chunk.sort(key=lambda row: -(row[2] or 0))  # stable: equal sizes keep path order
        yield from chunk


def _fill_journal(catalog: Catalog, run_id: int, aid: int, scan_id: int, only: str | None) -> None:
    """One pending journal row per source file and output of its rule's action."""
    policy = catalog.assessment(aid)["policy"]
    actions = {r["id"]: r["action"] for r in policy["rules"] if r.get("action")}
    rows: list[tuple[Any, ...]] = []
    for path, rule_id, org, size, sha in catalog.migration_candidates(aid, scan_id):
        action = actions.get(rule_id)
        if action is None or (only and only not in (rule_id, org)):
            continue
        for output in action_outputs(action):
            rows.append(
                (
                    run_id,
                    path,
                    rule_id,
                    output["tool"],
                    output["target"],
                    output["target_puid"],
                    _output_rel(path, output["target"]),
                    size,
                    sha,
                )
            )
        if len(rows) >= 1000:
            catalog.add_migrations(rows)
            rows = []
    catalog.add_migrations(rows)


def _crash(message: str) -> dict[str, Any]:
    return {"outcome": "crashed", "message": message, "started_at": now(), "finished_at": now()}


MAX_BREAKS_IN_A_ROW = 5
"""Worker deaths in one stage with no result of that stage in between before the run stops."""


@dataclass(eq=False)
class _Job:
    """One file on its way through the stages."""

    path: bytes
    tool: str
    attempt: int
    task: dict[str, Any]
    stage: str = "convert"
    handoff: dict[str, Any] | None = None  # convert_step's hand-off, for check_step
    pool: Executor | None = None  # the pool it was sent to
    alone: bool = False  # sent with nothing else in flight in its stage, after a worker died
    lost: bool = False  # was in flight in a pool whose worker died
    reconverted: bool = False  # converted again: its partial vanished when a check worker died

    @property
    def dst(self) -> Path:
        return Path(os.fsdecode(self.task["dst"]))


def _run(
    catalog: Catalog,
    run_id: int,
    todo: Iterable[TodoRow],
    root: bytes,
    out: bytes,
    workers: int,
    timeout: float,
    progress: Any,
    summary: MigrationSummary,
    cluster: Cluster | None = None,
    check_processes: bool = True,
) -> str | None:
    """Feed the workers and journal every result.

    Locally the work runs in two process pools: ``workers`` conversion processes
    (:func:`convert_step`, at most ``2 × workers`` in flight) and half as many check processes
    (:func:`check_step`, rounded up), so the validation of one output overlaps with the next
    conversion and a converter never waits for Siegfried or the PDF/A checks. On a Dask cluster
    each task does both (:func:`convert_one`).

    When a worker process dies, every file in flight in its pool is lost with it, the innocent
    too. Those files are not recorded: each is sent again, one at a time, with nothing else in
    flight in that stage (the other stage goes on), so the file that kills its worker is found;
    a file whose worker dies again while it runs alone is recorded ``crashed``. A check is sent
    again with the same hand-off (its partial output is still there); where the partial has
    vanished (the worker died just after renaming it into place) the file is converted again and
    its check run alone."""
    tasks = iter(todo)
    in_flight: dict[Future[dict[str, Any]], _Job] = {}
    suspects: dict[str, deque[_Job]] = {"convert": deque(), "check": deque()}
    waiting: deque[_Job] = deque()  # hand-offs held back while the check stage isolates
    again: deque[_Job] = deque()  # to convert again (ahead of new files)
    breaks = {"convert": 0, "check": 0}
    stopped: str | None = None
    exhausted = False
    staged = cluster is None and check_processes

    def fresh(stage: str) -> Executor:
        return _check_pool(workers) if stage == "check" else _new_pool(workers, cluster, root, out)

    # Converters of a worker that dies are adopted by this process and killed, not left running.
    reaper = staged and become_subreaper()
    before = frozenset(children()) if reaper else frozenset()
    pools: dict[str, Executor] = {"convert": fresh("convert")}
    if staged:
        # No warm-up task: loading Siegfried in the check processes now would compete with the
        # converters' start (LibreOffice's is on the critical path); the first check loads it.
        pools["check"] = fresh("check")

    def count(stage: str) -> int:
        return sum(1 for job in in_flight.values() if job.stage == stage)

    def isolating(stage: str) -> bool:
        return bool(suspects[stage]) or any(
            job.alone for job in in_flight.values() if job.stage == stage
        )

    def broke(stage: str, pool: Executor | None) -> None:
        """A worker of ``pool`` died: the first to notice replaces it with a new pool."""
        if pool is not pools[stage]:
            return  # an older pool, already replaced
        breaks[stage] += 1
        if breaks[stage] > MAX_BREAKS_IN_A_ROW:
            raise PreserveplanError(
                f"worker processes keep dying before finishing any "
                f"{'conversion' if stage == 'convert' else 'validation'} (out of memory? "
                "killed?); the files not finished are pending: run the same command again"
            )
        pool.shutdown(wait=False)  # no cancel_futures: its futures all fail as BrokenProcessPool
        if reaper:
            kill_orphans(before)
        pools[stage] = fresh(stage)

    def send(job: _Job) -> None:
        pool = pools[job.stage]
        try:
            if job.handoff is not None:
                fut = pool.submit(check_step, job.task, job.handoff)
            else:
                fut = pool.submit(convert_step if staged else convert_one, job.task)
        except BrokenProcessPool:  # it broke before any of its futures told us
            broke(job.stage, pool)
            job.alone = False
            suspects[job.stage].appendleft(job)
            return
        job.pool = pool
        in_flight[fut] = job

    def settle(job: _Job, result: dict[str, Any]) -> None:
        nonlocal stopped
        catalog.record_migration(
            run_id, job.path, job.tool, job.attempt, result, target=job.task["target"]
        )
        if job.lost or result["outcome"] == "crashed":
            # What a converter left running by a dead worker wrote, also after the partials
            # were removed before the file was sent again (it may open its output late).
            _remove_partials(job.dst)
        summary.this_run += 1
        if progress is not None:
            progress.advance(1, 0)
        if result["outcome"] == "source-modified":
            raise SourceModifiedError(
                f"the original {os.fsdecode(job.path)} changed while it was converted; "
                "the run is stopped: check the archive before going on"
            )
        if result["outcome"] == "disk-full":
            stopped = "disk full: free space on the output device and run again"

    def start_checks() -> None:
        while suspects["check"] and not count("check"):
            job = suspects["check"].popleft()
            assert job.handoff is not None
            if os.path.exists(job.handoff["partial"]):
                job.alone = True
                send(job)
            elif not job.reconverted:
                job.stage, job.handoff, job.reconverted = "convert", None, True
                again.append(job)
            else:  # converted again, and again its output is gone before its check
                message = "its output vanished twice before it could be validated"
                settle(job, {**_crash(message), "outcome": "failed"})
        while waiting and not isolating("check"):
            send(waiting.popleft())

    def next_job() -> _Job | None:
        nonlocal exhausted
        if again:
            return again.popleft()
        item = None if exhausted else next(tasks, None)
        if item is None:
            exhausted = True
            return None
        path, output, size, sha, tool, target, target_puid, attempts = item
        task: dict[str, Any] = {
            "src": os.path.join(root, path),
            "dst": os.path.join(out, output),
            "tool": tool,
            "target": target,
            "target_puid": target_puid,
            "expected_sha256": sha,
            "size": size,
            "timeout": timeout + (size or 0) / 1e6,  # big inputs get longer
        }
        return _Job(path, tool, attempts + 1, task)

    def start_conversions() -> None:
        if stopped is not None:
            return
        while suspects["convert"] and not count("convert"):
            job = suspects["convert"].popleft()
            _remove_partials(job.dst)  # what the dead attempt left
            job.alone = True
            send(job)
        if isolating("convert"):
            return
        while (
            count("convert") < workers * 2
            and count("check") + len(waiting) + len(suspects["check"]) < workers * 2
        ):
            new = next_job()
            if new is None:
                break
            # Partial outputs left by a killed run are removed before converting again.
            _remove_partials(new.dst)
            send(new)
            if suspects["convert"]:  # the pool broke as we sent
                break

    def has_work() -> bool:
        if suspects["check"] or waiting:
            return True
        return stopped is None and bool(suspects["convert"] or again or not exhausted)

    def handle(fut: Future[dict[str, Any]], job: _Job) -> None:
        try:
            result = fut.result()
        except BrokenProcessPool as exc:  # a worker died (out of memory, killed, crashed…)
            broke(job.stage, job.pool)
            if not job.alone:
                job.lost = True
                suspects[job.stage].append(job)  # perhaps innocent: again, on its own
                return
            what = "converting" if job.stage == "convert" else "validating the output of"
            result = _crash(
                f"the worker process died twice while {what} this file, the second time "
                f"with no other file in its pool (crash, out of memory, killed, or hung past "
                f"its time limit): {exc}"
            )
        except WorkerKilled as exc:  # Dask gave up: its workers died on this file
            result = _crash(f"worker processes died again and again on this file: {exc}")
        else:
            breaks[job.stage] = 0
        if result.get("stage") == "check":
            job.stage, job.handoff, job.alone = "check", result, False
            if job.reconverted:
                suspects["check"].append(job)
            elif isolating("check"):
                waiting.append(job)
            else:
                send(job)
            return
        settle(job, result)

    try:
        while True:
            start_checks()
            start_conversions()
            if not in_flight:
                if has_work():
                    continue
                break
            done, _ = wait(list(in_flight), timeout=1.0, return_when=FIRST_COMPLETED)
            for fut in done:
                handle(fut, in_flight[fut])
                del in_flight[fut]  # only now: if the run stops, its partials go too
    finally:
        for pool in pools.values():
            pool.shutdown(wait=True, cancel_futures=True)
        if reaper:
            kill_orphans(before)
        _drop_unchecked(in_flight, [*suspects["convert"], *suspects["check"], *waiting, *again])
    return stopped


def _drop_unchecked(in_flight: dict[Future[dict[str, Any]], _Job], queued: list[_Job]) -> None:
    """When a run stops early, remove the partial outputs that were converted but will not be
    validated now, and what attempts lost with a dead worker left (the files are pending in the
    journal and are converted again next time)."""
    for fut, job in in_flight.items():
        if job.stage == "check" or (fut.done() and not fut.cancelled()):
            _remove_partials(job.dst)
    for job in queued:
        _remove_partials(job.dst)


def _new_pool(
    workers: int, cluster: Cluster | None = None, root: bytes = b"", out: bytes = b""
) -> Executor:
    if cluster is not None:
        return cluster.executor(archives=[root], output=out)
    return ProcessPoolExecutor(workers, mp_context=forkserver())


def _check_pool(workers: int) -> Executor:
    """Half as many check processes as converters, rounded up: a check costs a fraction of a
    conversion (office documents: about 20 CPU-ms against 150), and each check process holds a
    Siegfried (a Go runtime with its own threads and garbage collector) and pikepdf. At -j2 on
    two cores one check process instead of two made the benchmark's 50 documents 1.7 % faster
    (8 runs each way, none slower by more than 1 %). They run at a lower CPU priority (nice +5):
    where the cores are contended, the converters (the critical path) go first; the checks
    catch up in their gaps. Should they fall behind, no new conversion starts while
    ``2 × workers`` outputs wait for their checks."""
    return ProcessPoolExecutor(
        max(1, (workers + 1) // 2), mp_context=forkserver(), initializer=os.nice, initargs=(5,)
    )


def _fill_summary(catalog: Catalog, summary: MigrationSummary) -> None:
    counts = catalog.migration_states(summary.run_id)
    summary.done = counts.get(("done", "done"), (0, 0, 0))[0]
    summary.pending = sum(v[0] for (state, _), v in counts.items() if state == "pending")
    summary.failed = {o: v[0] for (state, o), v in counts.items() if state == "failed"}
    summary.bytes_in = sum(v[1] for (state, _), v in counts.items() if state == "done")
    summary.bytes_out = sum(v[2] for (state, _), v in counts.items() if state == "done")
