"""Scan orchestration: walk → reuse → hash → identify once per content → containers → catalog.

The coordinator (this process) walks the tree, decides what can be reused, feeds a pool of
worker processes in batches and is the only writer of the catalog. Work is committed in batched
transactions; a file's row (and a container's members) land in the same transaction, so a scan
killed at any point resumes with no file missing or counted twice.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from .. import paths as P
from ..catalog import ALL_FILE_COLUMNS, Catalog, PriorFile
from ..cluster import WorkerKilled
from ..errors import PreserveplanError, UsageError
from ..procs import forkserver
from ..versions import engine_info
from . import worker
from .containers import ContainerResult, Limits
from .fixity import HashResult
from .identify import CONTAINER_PUIDS, is_io_error
from .packages import Check, Packages
from .walk import Entry, WalkStats, walk

if TYPE_CHECKING:
    from ..cluster import Cluster

HASH_BATCH_FILES = 128
HASH_BATCH_BYTES = 64 * 1024**2
IDENT_BATCH = 64
CLUSTER_BATCH_SCALE = 4  # on a Dask cluster each task is a round trip through the scheduler
WALK_CHUNK = 512
FLUSH_ROWS = 5000
FLUSH_SECONDS = 1.0
MAX_BREAKS_IN_A_ROW = 5


class Progress(Protocol):
    def total(self, files: int, nbytes: int) -> None: ...
    def advance(self, files: int, nbytes: int) -> None: ...


@dataclass
class ScanResult:
    scan_id: int
    root: str
    status: str
    resumed: bool
    summary: dict[str, Any]


@dataclass
class _Pending:
    """A file on its way through the pipeline."""

    entry: Entry
    sha256: str | None = None
    ext: str = ""
    outcome: str = "ok"
    message: str | None = None
    ident_id: int | None = None
    ident_errors: str | None = None
    digests: dict[str, str] | None = None  # other algorithms, for files in packages
    fixity: str | None = None  # carried from the base scan (file and METS unchanged)


@dataclass
class _Task:
    """Work sent to the pool, kept so that it can be sent again if a worker process dies."""

    kind: str  # hash | ident | container
    payload: Any
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    attempt: int = 0


@dataclass
class _Counters:
    walked: int = 0
    resumed_skip: int = 0
    reused: int = 0
    hashed: int = 0
    identified: int = 0
    ident_cached: int = 0
    containers: int = 0
    members: int = 0
    bytes_read: int = 0


def scan(
    roots: str | os.PathLike[str] | bytes | Sequence[str | os.PathLike[str] | bytes],
    *,
    db: str | os.PathLike[str] | Catalog | None = None,
    workers: int | None = None,
    exclude: Sequence[str] = (),
    label: str | None = None,
    rehash: bool = False,
    follow_symlinks: bool = False,
    org_depth: int = 1,
    limits: Limits | None = None,
    progress: Progress | None = None,
    cluster: str | None = None,
    org_from_package: bool = False,
) -> list[ScanResult]:
    """Scan one or more archive roots into the catalog; one scan record per root.

    Resumes an unfinished scan of the same root (same options), and reuses checksums and
    identifications of files unchanged since the last complete scan unless ``rehash``.
    Files inside information packages (a folder with ``METS.xml``) are checked against the
    METS checksums; ``org_from_package`` makes the package id their organisation.
    ``cluster`` (``tcp://host:port``): hash and identify on that Dask cluster's workers
    instead of a local process pool (``workers`` is then the cluster's).
    """
    if isinstance(roots, (str, bytes, os.PathLike)):
        roots = [roots]
    root_list = [_check_root(r) for r in roots]
    conn = None
    if cluster is not None:
        from ..cluster import connect

        conn = connect(cluster)  # fails before the catalog is touched
    catalog = db if isinstance(db, Catalog) else Catalog(db)
    try:
        if conn is not None:
            conn.check(archives=root_list)
            workers = conn.threads
        catalog.lock()
        return [
            _Scan(
                catalog,
                root,
                workers=workers or os.cpu_count() or 1,
                exclude=exclude,
                label=label,
                rehash=rehash,
                follow_symlinks=follow_symlinks,
                org_depth=org_depth,
                limits=limits or Limits(),
                progress=progress,
                cluster=conn,
                org_from_package=org_from_package,
            ).run()
            for root in root_list
        ]
    finally:
        if conn is not None:
            conn.close()
        if isinstance(db, Catalog):
            catalog.unlock()
        else:
            catalog.close()


def _check_root(root: str | os.PathLike[str] | bytes) -> bytes:
    raw = os.fsencode(root)
    absolute = os.path.abspath(raw)
    if not os.path.exists(absolute):
        raise UsageError(f"archive root not found: {P.for_display(raw)}")
    if not os.path.isdir(absolute):
        raise UsageError(f"archive root is not a directory: {P.for_display(raw)}")
    if not os.access(absolute, os.R_OK | os.X_OK):
        raise UsageError(f"archive root is not readable: {P.for_display(raw)}")
    return absolute.rstrip(b"/") or b"/"


class _Scan:
    def __init__(
        self,
        catalog: Catalog,
        root: bytes,
        *,
        workers: int,
        exclude: Sequence[str],
        label: str | None,
        rehash: bool,
        follow_symlinks: bool,
        org_depth: int,
        limits: Limits,
        progress: Progress | None,
        cluster: Cluster | None = None,
        org_from_package: bool = False,
    ) -> None:
        self.catalog = catalog
        self.org_from_package = org_from_package
        self.cluster = cluster
        scale = CLUSTER_BATCH_SCALE if cluster is not None else 1
        self.hash_batch, self.ident_batch = HASH_BATCH_FILES * scale, IDENT_BATCH * scale
        self.root = root
        self.workers = max(1, workers)
        self.exclude = list(exclude)
        self.label = label
        self.rehash = rehash
        self.follow = follow_symlinks
        self.org_depth = org_depth
        self.limits = limits
        self.progress = progress
        self.engine = engine_info(catalog)
        self.sigkey = self.engine.signature_key
        self.options: dict[str, Any] = {
            "exclude": sorted(self.exclude),
            "follow_symlinks": follow_symlinks,
            "org_depth": org_depth,
            "org_from_package": org_from_package,
            "rehash": rehash,
            "limits": limits.as_dict(),
        }
        self.counters = _Counters()
        self.walk_stats = WalkStats()
        self.rows: list[tuple[Any, ...]] = []  # in ALL_FILE_COLUMNS order
        self.to_check: list[tuple[int, Check]] = []  # rows of package files awaiting a verdict
        self.waiting: dict[tuple[str, str], list[_Pending]] = {}
        self.hash_queue: list[_Pending] = []
        self.hash_queue_bytes = 0
        self.ident_queue: list[tuple[str, str]] = []
        self.in_flight: dict[Future[Any], _Task] = {}
        self.worker_restarts = 0
        self.pending_rows = 0  # rows written in SQL (copied), not yet committed
        self.orgs: dict[bytes, str] = {}
        self.breaks_in_a_row = 0
        self.pool: Executor | None = None
        self.last_flush = time.monotonic()

    # -- setup -------------------------------------------------------------------------------
    def run(self) -> ScanResult:
        cat = self.catalog
        scan_id = cat.resumable_scan(self.root, self.options, self.sigkey)
        resumed = scan_id is not None
        if scan_id is None:
            cat.abandon_running(self.root)
            base = cat.last_complete_scan(self.root, scanned=True)
            scan_id = cat.create_scan(
                self.root,
                label=self.label,
                engine=self.engine.as_dict(),
                signature_key=self.sigkey,
                options=self.options,
                base_scan_id=base,
            )
        self.scan_id = scan_id
        record = cat.scan(scan_id)
        self.base_id = record.base_scan_id
        base_record = cat.scan(self.base_id) if self.base_id is not None else None
        self.base_same_engine = base_record is not None and base_record.signature_key == self.sigkey
        self.copy_in_sql = (
            base_record is not None
            and self.base_same_engine
            and base_record.options.get("org_depth") == self.org_depth
            and bool(base_record.options.get("org_from_package")) == self.org_from_package
        )
        self.packages = Packages(cat, self.root, scan_id, self.base_id, reuse=not self.rehash)
        self.resuming = (
            resumed
            and cat.db.execute(
                "SELECT 1 FROM files WHERE scan_id = ? LIMIT 1", (scan_id,)
            ).fetchone()
            is not None
        )
        started = time.monotonic()
        counter = self._start_counter() if self.progress else None
        cat.db.execute("BEGIN IMMEDIATE")
        try:
            self._pipeline()
            self._flush(force=True)
            self.package_summary = cat.finish_packages(scan_id)
        except BaseException:
            if cat.db.in_transaction:
                cat.db.execute("COMMIT")  # keep what is complete: the scan resumes from here
            raise
        finally:
            if counter is not None:
                counter.join(timeout=0.1)
        cat.db.execute("COMMIT")
        summary = self._summary(time.monotonic() - started, resumed)
        cat.finish_scan(scan_id, "complete", summary)
        return ScanResult(scan_id, P.to_text(self.root), "complete", resumed, summary)

    def _start_counter(self) -> threading.Thread:
        """Count files and bytes in the background so the progress bar can show an ETA."""

        def count() -> None:
            files = nbytes = 0
            try:
                for e in walk(self.root, exclude=self.exclude, follow_symlinks=self.follow):
                    files += 1
                    nbytes += e.size or 0
            except OSError:
                return
            assert self.progress is not None
            self.progress.total(files, nbytes)

        thread = threading.Thread(target=count, name="preserveplan-count", daemon=True)
        thread.start()
        return thread

    # -- the pipeline ------------------------------------------------------------------------
    def _pipeline(self) -> None:
        max_in_flight = self.workers * 3
        walker = walk(
            self.root, exclude=self.exclude, follow_symlinks=self.follow, stats=self.walk_stats
        )
        exhausted = False
        if self.base_id is None or self.rehash:
            # Much to read: start the workers now, while the first directories are walked.
            self.pool = self._new_pool()
            for _ in range(self.workers):
                self.pool.submit(worker.ready)
        try:
            while True:
                while not exhausted and len(self.in_flight) < max_in_flight:
                    chunk = _take(walker, WALK_CHUNK)
                    if not chunk:
                        exhausted = True
                        break
                    self._triage(chunk)
                    self._submit_hashes(final=False)
                if exhausted or not self.in_flight:
                    self._submit_hashes(final=True)
                if self.ident_queue and (
                    exhausted or len(self.ident_queue) >= self.ident_batch or not self.in_flight
                ):
                    self._submit_idents()
                if not self.in_flight:
                    if exhausted and not self.hash_queue and not self.ident_queue:
                        break
                    self._flush()  # a rescan may settle everything in SQL: commit as we go
                    continue
                done, _ = wait(list(self.in_flight), timeout=1.0, return_when=FIRST_COMPLETED)
                for fut in done:
                    task = self.in_flight.pop(fut, None)
                    if task is None:
                        continue
                    try:
                        result = fut.result()
                    except BrokenProcessPool:
                        self._recover([task])
                        continue
                    except WorkerKilled:
                        self._killed(task)
                        continue
                    self.breaks_in_a_row = 0
                    getattr(self, f"_done_{task.kind}")(result, task.payload)
                self._flush()
        finally:
            if self.pool is not None:
                self.pool.shutdown(wait=True, cancel_futures=True)

    def _new_pool(self) -> Executor:
        if self.cluster is not None:
            return self.cluster.executor(archives=[self.root], limits=self.limits)
        return ProcessPoolExecutor(
            self.workers,
            mp_context=forkserver(),
            initializer=worker.init,
            initargs=(self.limits,),
        )

    def _submit(self, task: _Task) -> None:
        if self.pool is None:  # started on first use: a rescan with nothing to read needs none
            self.pool = self._new_pool()
        try:
            self.in_flight[self.pool.submit(task.fn, *task.args)] = task
        except BrokenProcessPool:
            self._recover([task])

    def _recover(self, failed: list[_Task]) -> None:
        """A worker process died (crash, out of memory, killed): start a new pool and send the
        lost work again, one file per task, so that a file that kills workers is isolated and
        recorded (outcome ``worker_crash``) after its second try."""
        failed += list(self.in_flight.values())  # every task of a broken pool is lost
        self.in_flight.clear()
        self._count_break()
        if self.pool is not None:
            self.pool.shutdown(wait=False, cancel_futures=True)
        self.pool = None
        self._resend(failed)

    def _killed(self, task: _Task) -> None:
        """On a Dask cluster, the tasks of a lost worker are run again by Dask; a task whose
        workers kept dying ends here, having had its second chance already: a batch is split
        into one task per file, a single file is recorded as ``worker_crash``."""
        self._count_break()
        task.attempt = 1
        self._resend([task])

    def _count_break(self) -> None:
        self.breaks_in_a_row += 1
        if self.breaks_in_a_row > MAX_BREAKS_IN_A_ROW:
            raise PreserveplanError(
                "worker processes keep dying before finishing any work (out of memory? a "
                "script run from standard input?); the scan can be resumed when fixed"
            )
        self.worker_restarts += 1

    def _resend(self, failed: list[_Task]) -> None:
        for task in failed:
            if task.kind == "hash" and len(task.payload) > 1:
                for pending, item in zip(task.payload, task.args[0], strict=True):
                    self._submit(_Task("hash", [pending], task.fn, ([item],), 1))
            elif task.kind == "ident" and len(task.payload) > 1:
                for key, path in zip(task.payload, task.args[0], strict=True):
                    self._submit(_Task("ident", [key], task.fn, ([path],), 1))
            elif task.attempt < 1:
                self._submit(_Task(task.kind, task.payload, task.fn, task.args, task.attempt + 1))
            else:
                self._crashed(task)

    def _crashed(self, task: _Task) -> None:
        message = (
            "the worker process died twice while reading this file (crash, killed, or hung "
            "past its time limit)"
        )
        if task.kind == "hash":
            for pending in task.payload:
                pending.outcome, pending.message = "worker_crash", message
                self._add_row(pending)
        elif task.kind == "ident":
            for pending in self.waiting.pop(task.payload[0], []):
                pending.outcome, pending.message = "worker_crash", message
                self._add_row(pending)
        else:
            self._add_row(task.payload, container=("error", message))

    def _triage(self, chunk: list[Entry]) -> None:
        """Settle what needs no reading; queue the rest for hashing."""
        self.counters.walked += len(chunk)
        if self.resuming:
            present = self.catalog.present_paths(self.scan_id, [e.rel for e in chunk])
            if present:
                self.counters.resumed_skip += len(present)
                self._advance(len(present), sum(e.size or 0 for e in chunk if e.rel in present))
                chunk = [e for e in chunk if e.rel not in present]
        prior: dict[bytes, PriorFile] = {}
        copied: set[bytes] = set()
        if self.base_id is not None and not self.rehash:
            files = [e for e in chunk if e.outcome is None]
            if files and self.copy_in_sql:
                # The common yearly case: unchanged files are copied from the base scan inside
                # SQLite, with their identifications and container members (and fixity verdict:
                # not for files of a package whose METS changed, which are checked again).
                unchanged = []
                for e in files:
                    package = self.packages.of(e.rel)
                    if package is None or package.unchanged:
                        unchanged.append(
                            (e.rel, e.size, e.mtime_ns, package.path if package else None)
                        )
                copied, members = self.catalog.copy_unchanged(self.base_id, self.scan_id, unchanged)
                self.counters.reused += len(copied)
                self.counters.members += members
                self.pending_rows += len(copied) + members
                self._advance(len(copied), sum(e.size or 0 for e in files if e.rel in copied))
            elif files:
                prior = self.catalog.prior_files(self.base_id, [e.rel for e in files])
        for entry in chunk:
            if entry.outcome is not None:
                self._settle_entry(entry)
                continue
            if entry.rel in copied:
                continue
            old = prior.get(entry.rel)
            if old is not None and self._reuse(entry, old):
                continue
            self.hash_queue.append(_Pending(entry, ext=P.extension(entry.rel)))
            self.hash_queue_bytes += entry.size or 0

    def _reuse(self, entry: Entry, old: PriorFile) -> bool:
        """Reuse checksum (and identification) of a file unchanged since the base scan."""
        if (old.size, old.mtime_ns) != (entry.size, entry.mtime_ns) or old.sha256 is None:
            return False
        if old.outcome not in ("ok", "empty", "identify_error", "encrypted"):
            return False
        package = self.packages.of(entry.rel)
        if package is not None and not package.unchanged:
            return False  # its METS changed: read the file again to check it
        if old.package != (package.path if package is not None else None):
            return False
        pending = _Pending(
            entry, old.sha256, P.extension(entry.rel), outcome=old.outcome, message=old.message
        )
        pending.fixity = old.fixity
        self.counters.reused += 1
        if self.base_same_engine and old.ident_id is not None:
            pending.ident_id = old.ident_id
            if old.container is not None:
                assert self.base_id is not None
                n = self.catalog.copy_members(self.base_id, self.scan_id, entry.rel)
                self.counters.members += n
            self._add_row(pending, container=(old.container, old.container_message))
            return True
        # New signatures: reuse the checksum, identify again (through the cache).
        self._route_hashed([pending])
        return True

    def _submit_hashes(self, final: bool) -> None:
        """Send full batches (by count or bytes) to the pool; everything if ``final``."""
        queue = self.hash_queue
        while queue and (
            final or len(queue) >= self.hash_batch or self.hash_queue_bytes >= HASH_BATCH_BYTES
        ):
            count = nbytes = 0
            for p in queue[: self.hash_batch]:
                count += 1
                nbytes += p.entry.size or 0
                if nbytes >= HASH_BATCH_BYTES:
                    break
            batch = queue[:count]
            del queue[:count]
            self.hash_queue_bytes -= nbytes
            algorithms = self.packages.algorithms
            items = [
                (p.entry.path, p.entry.size, p.entry.mtime_ns, algorithms(p.entry.rel))
                for p in batch
            ]
            self._submit(_Task("hash", batch, worker.hash_files, (items,)))

    def _done_hash(self, results: list[HashResult], batch: list[_Pending]) -> None:
        hashed = []
        for pending, res in zip(batch, results, strict=True):
            self.counters.hashed += 1
            self.counters.bytes_read += res.size or 0
            entry = pending.entry
            entry.size, entry.mtime_ns = res.size, res.mtime_ns
            pending.sha256, pending.outcome, pending.message = res.sha256, res.outcome, res.message
            pending.digests = res.digests
            if res.sha256 is None or res.outcome not in ("ok", "empty", "changed", "encrypted"):
                self._add_row(pending)
            else:
                hashed.append(pending)
        self._route_hashed(hashed)

    def _route_hashed(self, batch: list[_Pending]) -> None:
        """Settle from the identification cache, or queue one identification per content."""
        if not batch:
            return
        keyed = [((p.sha256 or "", p.ext), p) for p in batch]
        known = self.catalog.find_identifications(
            [k for k, _ in keyed if k not in self.waiting], self.sigkey
        )
        for key, pending in keyed:
            if key in self.waiting:
                self.waiting[key].append(pending)
                self.counters.ident_cached += 1
            elif key in known:
                self.counters.ident_cached += 1
                ident_id, puid, errors = known[key]
                pending.ident_id = ident_id
                self._identified(pending, puid, errors)
            else:
                self.waiting[key] = [pending]
                self.ident_queue.append(key)

    def _submit_idents(self) -> None:
        while self.ident_queue:
            keys = self.ident_queue[: self.ident_batch]
            del self.ident_queue[: self.ident_batch]
            paths = [self.waiting[k][0].entry.path for k in keys]
            self._submit(_Task("ident", keys, worker.identify_files, (paths,)))

    def _done_ident(self, results: list[dict[str, Any]], keys: list[tuple[str, str]]) -> None:
        fresh = []
        for key, ident in zip(keys, results, strict=True):
            if is_io_error(ident.get("errors")):
                # The file went away between hashing and identification: not a content fact.
                group = self.waiting[key]
                first = group.pop(0)
                first.outcome, first.message = "vanished", ident.get("errors")
                self._add_row(first)
                if group:
                    self.ident_queue.append(key)
                else:
                    del self.waiting[key]
            else:
                fresh.append((key[0], key[1], ident))
        stored = self.catalog.add_identifications(fresh, self.sigkey, known_new=True)
        for sha, ext, _ in fresh:
            self.counters.identified += 1
            ident_id, puid, errors = stored[(sha, ext)]
            for pending in self.waiting.pop((sha, ext)):
                pending.ident_id = ident_id
                self._identified(pending, puid, errors)

    def _identified(self, pending: _Pending, puid: str, errors: str | None) -> None:
        if errors and pending.outcome == "ok":
            pending.outcome, pending.message = "identify_error", errors
        if puid in CONTAINER_PUIDS:
            args = (pending.entry.path, pending.entry.rel, puid)
            self._submit(_Task("container", pending, worker.expand_container, args))
            return
        self._add_row(pending)

    def _done_container(self, result: ContainerResult, pending: _Pending) -> None:
        self.counters.containers += 1
        self.counters.members += len(result.members)
        self.catalog.delete_members(self.scan_id, pending.entry.rel)
        org = self._org(pending.entry.rel)
        package = self.packages.of(pending.entry.rel)
        stored = self.catalog.add_identifications(
            [
                (m.sha256, m.ext, m.ident)
                for m in result.members
                if m.ident is not None
                and m.sha256 is not None
                and not is_io_error(m.ident.get("errors"))
            ],
            self.sigkey,
        )
        disk_path = pending.entry.rel
        for m in result.members:
            ident = stored.get((m.sha256 or "", m.ext))
            self.rows.append(
                (
                    self.scan_id,
                    m.path,
                    m.parent,
                    disk_path,
                    org,
                    "member",
                    m.ext,
                    m.size,
                    m.mtime_ns,
                    m.sha256,
                    ident[0] if ident else None,
                    m.outcome,
                    m.message,
                    m.container,
                    m.container_message,
                    package.path if package is not None else None,
                    None,
                )
            )
        self._add_row(pending, container=(result.status, result.message))

    # -- rows --------------------------------------------------------------------------------
    def _settle_entry(self, entry: Entry) -> None:
        self._add_row(_Pending(entry, outcome=entry.outcome or "ok", message=entry.message))

    def _add_row(
        self, p: _Pending, container: tuple[str | None, str | None] = (None, None)
    ) -> None:
        e = p.entry
        package = self.packages.of(e.rel)
        if package is not None and p.fixity is None and e.kind != "directory":
            check = Check(e.rel, e.kind, e.size, p.outcome, p.sha256, p.digests, package)
            self.to_check.append((len(self.rows), check))
        self.rows.append(
            (
                self.scan_id,
                e.rel,
                None,
                None,
                self._org(e.rel),
                e.kind,
                p.ext,
                e.size,
                e.mtime_ns,
                p.sha256,
                p.ident_id,
                p.outcome,
                p.message,
                container[0],
                container[1],
                package.path if package is not None else None,
                p.fixity if package is not None else None,
            )
        )
        self._advance(1, e.size or 0)

    def _advance(self, files: int, nbytes: int) -> None:
        if self.progress is not None:
            self.progress.advance(files, nbytes)

    def _flush(self, force: bool = False) -> None:
        if not self.rows and not self.pending_rows and not force:
            return
        if (
            not force
            and len(self.rows) + self.pending_rows < FLUSH_ROWS
            and time.monotonic() - self.last_flush < FLUSH_SECONDS
        ):
            return
        db = self.catalog.db
        if self.to_check:
            # Fixity verdicts of package files, one catalog look-up per flush.
            verdicts = self.packages.verify([c for _, c in self.to_check])
            for (index, _), verdict in zip(self.to_check, verdicts, strict=True):
                self.rows[index] = (*self.rows[index][:-1], verdict)
            self.to_check.clear()
        self.catalog.insert_files(self.rows, ALL_FILE_COLUMNS)
        self.rows.clear()
        self.pending_rows = 0
        db.execute("COMMIT")
        db.execute("BEGIN IMMEDIATE")
        self.last_flush = time.monotonic()

    def _org(self, rel: bytes) -> str:
        """Organisation of a path, remembered per folder (many files share one)."""
        folder = rel.rpartition(b"/")[0]
        org = self.orgs.get(folder)
        if org is None:
            if len(self.orgs) > 10_000:
                self.orgs.clear()
            package = self.packages.of(rel) if self.org_from_package else None
            org = package.package_id if package is not None else P.org_of(rel, self.org_depth)
            self.orgs[folder] = org
        return org

    # -- summary -----------------------------------------------------------------------------
    def _summary(self, seconds: float, resumed: bool) -> dict[str, Any]:
        c = self.counters
        counts = self.catalog.outcome_counts(self.scan_id)
        summary: dict[str, Any] = {
            "outcomes": counts["outcome"],
            "outcome_bytes": counts["outcome_bytes"],
            "containers": counts["container"],
            "entries": counts.get("where", {}),
            "excluded": self.walk_stats.excluded,
            "packages": self.package_summary,
            "this_run": {
                "seconds": round(seconds, 3),
                "resumed": resumed,
                "walked": c.walked,
                "skipped_already_recorded": c.resumed_skip,
                "reused_unchanged": c.reused,
                "hashed": c.hashed,
                "bytes_read": c.bytes_read,
                "identified": c.identified,
                "identification_cache_hits": c.ident_cached,
                "containers_expanded": c.containers,
                "members": c.members,
                "worker_restarts": self.worker_restarts,
                "cluster": self.cluster.address if self.cluster is not None else None,
            },
        }
        if self.base_id is not None:
            summary["changes_since"] = {"scan": self.base_id, **self._changes()}
        return summary

    def _changes(self) -> dict[str, int]:
        base_rows = self.catalog.row_count(self.base_id) if self.base_id is not None else -1
        copied = self.counters.reused + self.counters.members
        same = copied == base_rows == self.catalog.row_count(self.scan_id)
        if self.copy_in_sql and not self.resuming and not self.rehash and same:
            # Every row is an unchanged copy of a base row, and nothing else is there.
            return {k: 0 for k in ("added", "removed", "changed", "moved", "reidentified")}
        assert self.base_id is not None
        return self.catalog.diff_counts(self.base_id, self.scan_id)


def _take(it: Iterator[Entry], n: int) -> list[Entry]:
    out: list[Entry] = []
    for item in it:
        out.append(item)
        if len(out) >= n:
            break
    return out
