"""The catalog: one SQLite file that outlives runs and years.

All SQL of preserveplan lives here, close to standard SQL, so that another backend (a shared
PostgreSQL catalog) can be added later without touching the stages.

Model
-----
``scans``            one immutable record per scan of one root (engine versions, options, summary)
``identifications``  Siegfried's answer per (SHA-256, extension, signature key): each content is
                     identified once, whatever its path, duplicates and later scans included
``files``            one row per file, member of a container, or skipped entry, per scan; the
                     path is raw bytes so any name round-trips
``packages``         information packages (a folder with METS.xml) found by a scan, with counts
``package_files``    what each package's METS lists (checksum, size) and the verdict per entry
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from . import paths as P
from .errors import CatalogError, CatalogLockedError, UsageError

DEFAULT_DB = "preserveplan.db"
SCHEMA_VERSION = 7

# Each entry upgrades the schema from version i to i+1 (index i). Never edit a shipped entry:
# append a new one. The catalog must keep working for years.
MIGRATIONS: list[str] = [
    """
    CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );

    CREATE TABLE scans (
        id                   INTEGER PRIMARY KEY,
        root                 TEXT NOT NULL,
        root_bytes           BLOB NOT NULL,
        label                TEXT,
        started_at           TEXT NOT NULL,
        finished_at          TEXT,
        status               TEXT NOT NULL,
        base_scan_id         INTEGER REFERENCES scans(id),
        preserveplan_version TEXT NOT NULL,
        pygfried_version     TEXT NOT NULL,
        siegfried_version    TEXT NOT NULL,
        signature            TEXT NOT NULL,
        signature_created    TEXT NOT NULL,
        signature_key        TEXT NOT NULL,
        options              TEXT NOT NULL,
        summary              TEXT
    );
    CREATE INDEX scans_root ON scans(root_bytes, status);

    CREATE TABLE signatures (
        id  INTEGER PRIMARY KEY,
        key TEXT NOT NULL UNIQUE
    );

    CREATE TABLE identifications (
        id            INTEGER PRIMARY KEY,
        sha256        TEXT NOT NULL,
        ext           TEXT NOT NULL,
        sig_id        INTEGER NOT NULL REFERENCES signatures(id),
        puid          TEXT,
        format        TEXT,
        version       TEXT,
        mime          TEXT,
        class         TEXT,
        basis         TEXT,
        warning       TEXT,
        errors        TEXT,
        match_count   INTEGER NOT NULL,
        matches       TEXT,
        UNIQUE (sha256, ext, sig_id)
    );

    CREATE TABLE files (
        scan_id           INTEGER NOT NULL REFERENCES scans(id),
        path              BLOB NOT NULL,
        parent            BLOB,
        disk_path         BLOB,
        org               TEXT NOT NULL,
        kind              TEXT NOT NULL,
        ext               TEXT NOT NULL,
        size              INTEGER,
        mtime_ns          INTEGER,
        sha256            TEXT,
        ident_id          INTEGER REFERENCES identifications(id),
        outcome           TEXT NOT NULL,
        message           TEXT,
        container         TEXT,
        container_message TEXT,
        PRIMARY KEY (scan_id, path)
    ) WITHOUT ROWID;
    CREATE INDEX files_disk ON files(scan_id, disk_path) WHERE disk_path IS NOT NULL;
    """,
    # 2: assessments (a ruleset applied to a scan) and manual decisions (overrides)
    """
    CREATE TABLE assessments (
        id              INTEGER PRIMARY KEY,
        scan_id         INTEGER NOT NULL REFERENCES scans(id),
        ruleset         TEXT NOT NULL,
        ruleset_version TEXT NOT NULL,
        ruleset_digest  TEXT NOT NULL,
        policy          TEXT NOT NULL,
        created_at      TEXT NOT NULL,
        created_by      TEXT NOT NULL,
        summary         TEXT
    );
    CREATE INDEX assessments_scan ON assessments(scan_id);

    CREATE TABLE assessed (
        assessment_id INTEGER NOT NULL REFERENCES assessments(id),
        path          BLOB NOT NULL,
        rule_id       TEXT,
        finding       TEXT,
        status        TEXT NOT NULL,
        risk          TEXT,
        override_id   INTEGER REFERENCES overrides(id),
        PRIMARY KEY (assessment_id, path)
    ) WITHOUT ROWID;

    CREATE TABLE overrides (
        id          INTEGER PRIMARY KEY,
        sha256      TEXT NOT NULL,
        status      TEXT NOT NULL,
        risk        TEXT,
        reason      TEXT NOT NULL,
        who         TEXT NOT NULL,
        created_at  TEXT NOT NULL,
        path_hint   TEXT,
        revoked_at  TEXT
    );
    CREATE INDEX overrides_sha ON overrides(sha256);
    """,
    # 3: conversion rates measured on this machine (preserveplan calibrate)
    """
    CREATE TABLE tool_rates (
        tool             TEXT PRIMARY KEY,
        tool_version     TEXT NOT NULL,
        seconds_per_file REAL NOT NULL,
        seconds_per_mb   REAL NOT NULL,
        output_ratio     REAL NOT NULL,
        samples          INTEGER NOT NULL,
        measured_at      TEXT NOT NULL
    );
    """,
    # 4: migration runs, their journal (one row per source file) and every attempt as an event
    """
    CREATE TABLE migration_runs (
        id            INTEGER PRIMARY KEY,
        scan_id       INTEGER NOT NULL REFERENCES scans(id),
        assessment_id INTEGER NOT NULL REFERENCES assessments(id),
        out_dir       TEXT NOT NULL,
        started_at    TEXT NOT NULL,
        finished_at   TEXT,
        status        TEXT NOT NULL,
        options       TEXT NOT NULL,
        summary       TEXT
    );

    CREATE TABLE migrations (
        run_id        INTEGER NOT NULL REFERENCES migration_runs(id),
        path          BLOB NOT NULL,
        rule_id       TEXT NOT NULL,
        tool          TEXT NOT NULL,
        target        TEXT NOT NULL,
        target_puid   TEXT NOT NULL,
        output        BLOB NOT NULL,
        size          INTEGER,
        source_sha256 TEXT,
        state         TEXT NOT NULL,
        outcome       TEXT,
        message       TEXT,
        output_sha256 TEXT,
        output_size   INTEGER,
        output_puid   TEXT,
        attempts      INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (run_id, path)
    ) WITHOUT ROWID;
    CREATE UNIQUE INDEX migrations_output ON migrations(run_id, output);

    CREATE TABLE migration_events (
        id            INTEGER PRIMARY KEY,
        run_id        INTEGER NOT NULL,
        path          BLOB NOT NULL,
        attempt       INTEGER NOT NULL,
        tool          TEXT NOT NULL,
        tool_version  TEXT,
        command       TEXT,
        started_at    TEXT NOT NULL,
        finished_at   TEXT NOT NULL,
        outcome       TEXT NOT NULL,
        message       TEXT,
        source_sha256 TEXT,
        output_sha256 TEXT,
        validation    TEXT
    );
    CREATE INDEX migration_events_run ON migration_events(run_id, path);
    """,
    # 5: information packages (E-ARK CSIP / FGS CSPackage): METS listings and fixity verdicts
    """
    ALTER TABLE files ADD COLUMN package BLOB;
    ALTER TABLE files ADD COLUMN fixity TEXT;
    CREATE INDEX files_package ON files(scan_id, package) WHERE package IS NOT NULL;

    CREATE TABLE packages (
        scan_id      INTEGER NOT NULL REFERENCES scans(id),
        path         BLOB NOT NULL,
        package_id   TEXT NOT NULL,
        objid        TEXT,
        type         TEXT,
        profile      TEXT,
        content_type TEXT,
        mets_path    BLOB NOT NULL,
        mets_docs    TEXT NOT NULL,
        error        TEXT,
        warnings     TEXT,
        listed       INTEGER,
        ok           INTEGER,
        mismatched   INTEGER,
        missing      INTEGER,
        unlisted     INTEGER,
        unverified   INTEGER,
        PRIMARY KEY (scan_id, path)
    ) WITHOUT ROWID;

    CREATE TABLE package_files (
        id            INTEGER PRIMARY KEY,
        scan_id       INTEGER NOT NULL REFERENCES scans(id),
        package       BLOB NOT NULL,
        mets          BLOB NOT NULL,
        path          BLOB NOT NULL,
        source        TEXT NOT NULL,
        checksum_type TEXT,
        checksum      TEXT,
        size          INTEGER,
        verdict       TEXT,
        found         TEXT,
        message       TEXT
    );
    CREATE INDEX package_files_path ON package_files(scan_id, path);
    CREATE INDEX package_files_package ON package_files(scan_id, package, mets);
    """,
    # 6: an action may make several outputs of one source (an ODS copy beside a PDF/A): one
    #    journal row per source and target, and each event names its target
    """
    CREATE TABLE migrations_v6 (
        run_id        INTEGER NOT NULL REFERENCES migration_runs(id),
        path          BLOB NOT NULL,
        rule_id       TEXT NOT NULL,
        tool          TEXT NOT NULL,
        target        TEXT NOT NULL,
        target_puid   TEXT NOT NULL,
        output        BLOB NOT NULL,
        size          INTEGER,
        source_sha256 TEXT,
        state         TEXT NOT NULL,
        outcome       TEXT,
        message       TEXT,
        output_sha256 TEXT,
        output_size   INTEGER,
        output_puid   TEXT,
        attempts      INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (run_id, path, target)
    ) WITHOUT ROWID;
    INSERT INTO migrations_v6 SELECT run_id, path, rule_id, tool, target, target_puid, output,
        size, source_sha256, state, outcome, message, output_sha256, output_size, output_puid,
        attempts FROM migrations;
    DROP TABLE migrations;
    ALTER TABLE migrations_v6 RENAME TO migrations;
    CREATE UNIQUE INDEX migrations_output ON migrations(run_id, output);
    ALTER TABLE migration_events ADD COLUMN target TEXT;
    """,
    # 7: what a validation checked and did not check is the same long text for nearly every
    #    output: kept once here, named by the "checks" key of migration_events.validation
    """
    CREATE TABLE validation_checks (
        id            TEXT PRIMARY KEY,
        checked       TEXT NOT NULL,
        not_checked   TEXT NOT NULL
    ) WITHOUT ROWID;
    """,
]


def _sqlite_text(text: str | None) -> str | None:
    """Text that SQLite can store: a file name that is not UTF-8 reaches messages as lone
    surrogates (``os.fsdecode``), which become ``\\xNN`` escapes of the original bytes."""
    if text is None or text.isascii():
        return text
    return P.escaped(text)


#: a migration journal row, as ``Catalog.journal`` and ``preserveplan migrations`` give it
JOURNAL_FIELDS = (
    "path",
    "target",
    "target_puid",
    "rule_id",
    "tool",
    "state",
    "outcome",
    "message",
    "attempts",
    "size",
    "source_sha256",
    "output",
    "output_size",
    "output_sha256",
    "output_puid",
)

FILE_COLUMNS = (
    "scan_id",
    "path",
    "parent",
    "disk_path",
    "org",
    "kind",
    "ext",
    "size",
    "mtime_ns",
    "sha256",
    "ident_id",
    "outcome",
    "message",
    "container",
    "container_message",
)

# Columns added in schema 5: the information package a file is in and its fixity verdict
# (ok | mismatch | not_listed | unverified | mets | mets_error; NULL outside packages).
PACKAGE_COLUMNS = ("package", "fixity")
ALL_FILE_COLUMNS = (*FILE_COLUMNS, *PACKAGE_COLUMNS)

PACKAGE_FIELDS = (
    "path",
    "package_id",
    "objid",
    "type",
    "profile",
    "content_type",
    "mets_path",
    "mets_docs",
    "error",
    "warnings",
    "listed",
    "ok",
    "mismatched",
    "missing",
    "unlisted",
    "unverified",
)

IDENT_COLUMNS = (
    "puid",
    "format",
    "version",
    "mime",
    "class",
    "basis",
    "warning",
    "errors",
    "match_count",
    "matches",
)


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def default_db_path() -> str:
    return os.environ.get("PRESERVEPLAN_DB") or DEFAULT_DB


@dataclass(frozen=True)
class ScanRecord:
    id: int
    root: str
    label: str | None
    started_at: str
    finished_at: str | None
    status: str
    base_scan_id: int | None
    preserveplan_version: str
    pygfried_version: str
    siegfried_version: str
    signature: str
    signature_created: str
    signature_key: str
    options: dict[str, Any]
    summary: dict[str, Any] | None

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass(frozen=True)
class PriorFile:
    """What an earlier scan recorded for a path (for reuse without reading the file)."""

    size: int | None
    mtime_ns: int | None
    sha256: str | None
    ident_id: int | None
    outcome: str
    message: str | None
    container: str | None
    container_message: str | None
    package: bytes | None = None
    fixity: str | None = None


#: a row of :meth:`Catalog.migration_todo`: (path, output, size, sha256, tool, target,
#: target PUID, attempts)
TodoRow = tuple[bytes, bytes, int | None, str | None, str, str, str, int]


class Catalog:
    """A connection to one catalog file, with the queries the stages need."""

    def __init__(self, path: str | os.PathLike[str] | None = None, *, readonly: bool = False):
        self.path = Path(path or default_db_path())
        self.readonly = readonly
        self._lock_fd: int | None = None
        self._sig_ids: dict[str, int] = {}
        self._ident_next: int | None = None
        if readonly and not self.path.exists():
            raise CatalogError(f"no catalog at {self.path} (run 'preserveplan scan' first)")
        try:
            self.db = sqlite3.connect(self.path, timeout=10.0, isolation_level=None)
            self.db.execute("PRAGMA busy_timeout = 10000")
            if not readonly:
                self.db.execute("PRAGMA journal_mode = WAL")
                # Checkpoint in larger steps (~64 MB of WAL): fewer pauses during big scans.
                self.db.execute("PRAGMA wal_autocheckpoint = 16000")
            self.db.execute("PRAGMA synchronous = NORMAL")
            # Relations are declared; the scan coordinator is the only writer and keeps them,
            # so the per-row checks (two look-ups per inserted file) are left off.
            self.db.execute("PRAGMA foreign_keys = OFF")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise _catalog_error(exc, self.path) from exc

    # -- lifecycle ---------------------------------------------------------------------------
    def close(self) -> None:
        self.unlock()
        self.db.close()

    def __enter__(self) -> Catalog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def lock(self) -> None:
        """Take the writer's lock (a lock file beside the catalog); fail at once if taken."""
        lock_path = str(self.path) + ".lock"
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode("ascii", "replace").strip()
            os.close(fd)
            raise CatalogLockedError(
                f"catalog {self.path} is in use by another preserveplan process"
                + (f" (pid {holder})" if holder else "")
                + "; wait for it to finish or use another --db"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._lock_fd = fd

    def unlock(self) -> None:
        if self._lock_fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            os.close(self._lock_fd)
            self._lock_fd = None

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        try:
            self.db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise _catalog_error(exc, self.path) from exc
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        else:
            self.db.execute("COMMIT")

    def _migrate(self) -> None:
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise CatalogError(
                f"catalog {self.path} has schema version {version}, newer than this preserveplan "
                f"understands ({SCHEMA_VERSION}); upgrade preserveplan"
            )
        if version == SCHEMA_VERSION:
            return
        for index in range(version, SCHEMA_VERSION):
            self.db.execute("BEGIN IMMEDIATE")
            try:
                for statement in _split_sql(MIGRATIONS[index]):
                    self.db.execute(statement)
                self.db.execute(f"PRAGMA user_version = {index + 1}")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")

    # -- meta --------------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return str(row[0]) if row else None

    def set_meta(self, key: str, value: str) -> None:
        if self.readonly:
            return
        self.db.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    # -- scans -------------------------------------------------------------------------------
    def create_scan(
        self,
        root: bytes,
        *,
        label: str | None,
        engine: dict[str, str],
        signature_key: str,
        options: dict[str, Any],
        base_scan_id: int | None,
    ) -> int:
        with self.transaction():
            cur = self.db.execute(
                """INSERT INTO scans (root, root_bytes, label, started_at, status, base_scan_id,
                   preserveplan_version, pygfried_version, siegfried_version, signature,
                   signature_created, signature_key, options)
                   VALUES (?, ?, ?, ?, 'running', ?, ?, ?, ?, ?, ?, ?, ?)""",
                (
                    root.decode("utf-8", "backslashreplace"),
                    root,
                    label,
                    now(),
                    base_scan_id,
                    engine["preserveplan"],
                    engine["pygfried"],
                    engine["siegfried"],
                    engine["signature"],
                    engine["signature_created"],
                    signature_key,
                    json.dumps(options, sort_keys=True),
                ),
            )
        assert cur.lastrowid is not None
        return cur.lastrowid

    def resumable_scan(
        self, root: bytes, options: dict[str, Any], signature_key: str
    ) -> int | None:
        """An unfinished scan of the same root with the same options and engine, if any."""
        row = self.db.execute(
            """SELECT id FROM scans WHERE root_bytes = ? AND status = 'running'
               AND options = ? AND signature_key = ? ORDER BY id DESC LIMIT 1""",
            (root, json.dumps(options, sort_keys=True), signature_key),
        ).fetchone()
        return int(row[0]) if row else None

    def abandon_running(self, root: bytes) -> None:
        """Mark unfinished scans of a root that cannot be resumed (other options) as abandoned."""
        with self.transaction():
            self.db.execute(
                "UPDATE scans SET status = 'abandoned', finished_at = ? "
                "WHERE root_bytes = ? AND status = 'running'",
                (now(), root),
            )

    def last_complete_scan(
        self, root: bytes, before: int | None = None, *, scanned: bool = False
    ) -> int | None:
        """The newest complete scan of ``root`` (before scan ``before``); ``scanned``: only
        scans made here, not profiles imported from DROID/Siegfried (whose checksums and
        identifications a rescan must not reuse)."""
        row = self.db.execute(
            """SELECT id FROM scans WHERE root_bytes = ? AND status = 'complete'
               AND (? IS NULL OR id < ?)
               AND (NOT ? OR json_extract(options, '$.import') IS NULL)
               ORDER BY id DESC LIMIT 1""",
            (root, before, before, scanned),
        ).fetchone()
        return int(row[0]) if row else None

    def finish_scan(self, scan_id: int, status: str, summary: dict[str, Any]) -> None:
        with self.transaction():
            self.db.execute(
                "UPDATE scans SET status = ?, finished_at = ?, summary = ? WHERE id = ?",
                (status, now(), json.dumps(summary, sort_keys=True), scan_id),
            )

    def scan(self, scan_id: int | None = None) -> ScanRecord:
        """One scan by id; without an id the newest complete scan."""
        if scan_id is None:
            row = self.db.execute(
                f"SELECT {_SCAN_COLS} FROM scans WHERE status = 'complete' ORDER BY id DESC LIMIT 1"
            ).fetchone()
            if row is None:
                raise UsageError(f"no complete scan in {self.path}")
        else:
            row = self.db.execute(
                f"SELECT {_SCAN_COLS} FROM scans WHERE id = ?", (scan_id,)
            ).fetchone()
            if row is None:
                raise UsageError(f"no scan with id {scan_id} in {self.path}")
        return _scan_record(row)

    def scans(self) -> list[ScanRecord]:
        rows = self.db.execute(f"SELECT {_SCAN_COLS} FROM scans ORDER BY id").fetchall()
        return [_scan_record(r) for r in rows]

    # -- files -------------------------------------------------------------------------------
    def present_paths(self, scan_id: int, paths: Sequence[bytes]) -> set[bytes]:
        """Which of these paths this scan already holds (for resuming)."""
        found: set[bytes] = set()
        for chunk in _chunks(paths, 500):
            marks = ",".join("?" * len(chunk))
            for (path,) in self.db.execute(
                f"SELECT path FROM files WHERE scan_id = ? AND path IN ({marks})",
                (scan_id, *chunk),
            ):
                found.add(bytes(path))
        return found

    def prior_files(self, scan_id: int, paths: Sequence[bytes]) -> dict[bytes, PriorFile]:
        """What scan ``scan_id`` recorded for these on-disk paths."""
        found: dict[bytes, PriorFile] = {}
        for chunk in _chunks(paths, 500):
            marks = ",".join("?" * len(chunk))
            for row in self.db.execute(
                f"""SELECT path, size, mtime_ns, sha256, ident_id, outcome, message, container,
                    container_message, package, fixity FROM files
                    WHERE scan_id = ? AND parent IS NULL AND path IN ({marks})""",
                (scan_id, *chunk),
            ):
                found[bytes(row[0])] = PriorFile(*row[1:])
        return found

    def copy_unchanged(
        self,
        base_scan: int,
        new_scan: int,
        entries: Sequence[tuple[bytes, int | None, int | None, bytes | None]],
    ) -> tuple[set[bytes], int]:
        """Copy rows of files whose (size, mtime, package) are as in the base scan, with their
        container members, into the new scan; returns the copied paths and the number of
        members. Entries are (path, size, mtime_ns, package folder or None)."""
        db = self.db
        db.execute(
            "CREATE TEMP TABLE IF NOT EXISTS walked "
            "(path BLOB PRIMARY KEY, size INTEGER, mtime_ns INTEGER, package BLOB) WITHOUT ROWID"
        )
        db.execute(
            "CREATE TEMP TABLE IF NOT EXISTS unchanged (path BLOB PRIMARY KEY) WITHOUT ROWID"
        )
        db.execute("DELETE FROM temp.walked")
        db.execute("DELETE FROM temp.unchanged")
        db.executemany("INSERT OR IGNORE INTO temp.walked VALUES (?, ?, ?, ?)", entries)
        # CROSS JOIN fixes the join order (the small temp table outside): left to itself the
        # planner walks every row of the base scan for each chunk.
        db.execute(
            """INSERT INTO temp.unchanged
               SELECT b.path FROM temp.walked w
               CROSS JOIN files b ON b.scan_id = ? AND b.path = w.path
               WHERE b.parent IS NULL AND b.size = w.size AND b.mtime_ns = w.mtime_ns
                 AND b.package IS w.package
                 AND b.sha256 IS NOT NULL AND b.ident_id IS NOT NULL
                 AND b.outcome IN ('ok', 'empty', 'identify_error', 'encrypted')""",
            (base_scan,),
        )
        cols = ", ".join(ALL_FILE_COLUMNS[1:])
        bcols = ", ".join("b." + c for c in ALL_FILE_COLUMNS[1:])
        db.execute(
            f"""INSERT OR REPLACE INTO files (scan_id, {cols})
                SELECT ?, {bcols} FROM temp.unchanged u
                CROSS JOIN files b ON b.scan_id = ? AND b.path = u.path""",
            (new_scan, base_scan),
        )
        members = db.execute(
            f"""INSERT OR REPLACE INTO files (scan_id, {cols})
                SELECT ?, {bcols} FROM temp.unchanged u
                CROSS JOIN files b INDEXED BY files_disk
                  ON b.scan_id = ? AND b.disk_path = u.path AND b.disk_path IS NOT NULL""",
            (new_scan, base_scan),
        ).rowcount
        copied = {bytes(p) for (p,) in db.execute("SELECT path FROM temp.unchanged")}
        return copied, members

    def copy_members(self, from_scan: int, to_scan: int, disk_path: bytes) -> int:
        """Copy the container members recorded under ``disk_path`` into another scan."""
        cols = ", ".join(ALL_FILE_COLUMNS[1:])
        cur = self.db.execute(
            f"""INSERT OR REPLACE INTO files (scan_id, {cols})
                SELECT ?, {cols} FROM files WHERE scan_id = ? AND disk_path = ?""",
            (to_scan, from_scan, disk_path),
        )
        return cur.rowcount

    def insert_files(
        self, rows: Iterable[Sequence[Any]], columns: Sequence[str] = FILE_COLUMNS
    ) -> None:
        """Insert file rows (tuples in ``columns`` order: FILE_COLUMNS, or ALL_FILE_COLUMNS with
        package and fixity); call inside a transaction."""
        marks = ",".join("?" * len(columns))
        self.db.executemany(
            f"INSERT OR REPLACE INTO files ({', '.join(columns)}) VALUES ({marks})", rows
        )

    def delete_members(self, scan_id: int, disk_path: bytes) -> None:
        self.db.execute(
            "DELETE FROM files WHERE scan_id = ? AND disk_path = ?", (scan_id, disk_path)
        )

    def update_containers(
        self, scan_id: int, rows: Sequence[tuple[str | None, str | None, bytes]]
    ) -> None:
        """Set (container status, message) of container rows by path; inside a transaction."""
        self.db.executemany(
            "UPDATE files SET container = ?, container_message = ? WHERE scan_id = ? AND path = ?",
            [(status, message, scan_id, path) for status, message, path in rows],
        )

    def discard_scan_files(self, scan_id: int) -> None:
        """Remove every file row of a scan (a failed import); inside a transaction."""
        self.db.execute("DELETE FROM files WHERE scan_id = ?", (scan_id,))

    # -- identifications ---------------------------------------------------------------------
    def signature_id(self, signature_key: str) -> int:
        """The id of a signature key (engine + signature files), added when new."""
        cached = self._sig_ids.get(signature_key)
        if cached is None:
            self.db.execute("INSERT OR IGNORE INTO signatures (key) VALUES (?)", (signature_key,))
            row = self.db.execute(
                "SELECT id FROM signatures WHERE key = ?", (signature_key,)
            ).fetchone()
            cached = self._sig_ids[signature_key] = int(row[0])
        return cached

    def find_identifications(
        self, keys: Sequence[tuple[str, str]], signature_key: str
    ) -> dict[tuple[str, str], tuple[int, str, str | None]]:
        """Known identifications of (SHA-256, extension) keys: key -> (id, PUID, errors)."""
        wanted = set(keys)
        found: dict[tuple[str, str], tuple[int, str, str | None]] = {}
        sig_id = self.signature_id(signature_key)
        shas = sorted({sha for sha, _ in wanted})
        for chunk in _chunks(shas, 500):
            marks = ",".join("?" * len(chunk))
            for sha, ext, ident_id, puid, errors in self.db.execute(
                f"""SELECT sha256, ext, id, COALESCE(puid, ''), errors FROM identifications
                    WHERE sig_id = ? AND sha256 IN ({marks})""",
                (sig_id, *chunk),
            ):
                if (sha, ext) in wanted:
                    found[(sha, ext)] = (ident_id, puid, errors)
        return found

    def add_identifications(
        self,
        items: Sequence[tuple[str, str, dict[str, Any]]],
        signature_key: str,
        *,
        known_new: bool = False,
    ) -> dict[tuple[str, str], tuple[int, str, str | None]]:
        """Store identifications (sha256, ext, fields); returns them as find_identifications.

        ``known_new``: the caller looked the keys up and holds the writer's lock, so the rows
        can be inserted with ids assigned here (no read-back); any surprise falls back safely.
        """
        sig_id = self.signature_id(signature_key)
        marks = ",".join("?" * (len(IDENT_COLUMNS) + 4))
        names = f"id, sha256, ext, sig_id, {', '.join(IDENT_COLUMNS)}"
        if known_new and items:
            first = self._next_ident_id()
            rows = [
                (first + i, sha, ext, sig_id, *(ident.get(c) for c in IDENT_COLUMNS))
                for i, (sha, ext, ident) in enumerate(items)
            ]
            try:
                self.db.executemany(f"INSERT INTO identifications ({names}) VALUES ({marks})", rows)
            except sqlite3.IntegrityError:
                self._ident_next = None  # someone else wrote: take the careful way below
            else:
                self._ident_next = first + len(items)
                return {
                    (sha, ext): (first + i, ident.get("puid") or "", ident.get("errors"))
                    for i, (sha, ext, ident) in enumerate(items)
                }
        self.db.executemany(
            f"INSERT OR IGNORE INTO identifications ({names}) VALUES ({marks})",
            [
                (None, sha, ext, sig_id, *(ident.get(c) for c in IDENT_COLUMNS))
                for sha, ext, ident in items
            ],
        )
        return self.find_identifications([(sha, ext) for sha, ext, _ in items], signature_key)

    def _next_ident_id(self) -> int:
        if self._ident_next is None:
            row = self.db.execute("SELECT COALESCE(MAX(id), 0) FROM identifications").fetchone()
            self._ident_next = int(row[0]) + 1
        return self._ident_next

    # -- information packages ----------------------------------------------------------------
    def add_package_files(
        self,
        scan_id: int,
        package: bytes,
        mets: bytes,
        entries: Sequence[tuple[bytes, str, str | None, str | None, int | None]],
    ) -> None:
        """What one METS lists: (path, source, checksum type, checksum, size) per entry."""
        self.db.executemany(
            "INSERT INTO package_files (scan_id, package, mets, path, source, checksum_type, "
            "checksum, size) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(scan_id, package, mets, *e) for e in entries],
        )

    def discard_package_files(self, scan_id: int, package: bytes, mets: bytes) -> None:
        """Forget what a METS listed (it turned out unreadable half-way)."""
        self.db.execute(
            "DELETE FROM package_files WHERE scan_id = ? AND package = ? AND mets = ?",
            (scan_id, package, mets),
        )

    def add_missing_listing(
        self, scan_id: int, package: bytes, mets: bytes, path: bytes, source: str, message: str
    ) -> None:
        """A METS points at something that is not there (e.g. a representation METS)."""
        self.db.execute(
            "INSERT INTO package_files (scan_id, package, mets, path, source, verdict, message) "
            "VALUES (?, ?, ?, ?, ?, 'missing', ?)",
            (scan_id, package, mets, path, source, message),
        )

    def put_package(self, scan_id: int, record: dict[str, Any]) -> None:
        """Store a package found by a scan (keys: PACKAGE_FIELDS up to ``warnings``)."""
        values = dict(record)
        values["mets_docs"] = json.dumps(values["mets_docs"], sort_keys=True)
        values["warnings"] = json.dumps(values.get("warnings") or [], ensure_ascii=False)
        keys = PACKAGE_FIELDS[:10]
        self.db.execute(
            f"INSERT OR REPLACE INTO packages (scan_id, {', '.join(keys)}) "
            f"VALUES (?, {', '.join('?' * len(keys))})",
            (scan_id, *(values.get(k) for k in keys)),
        )

    def package(self, scan_id: int, path: bytes) -> dict[str, Any] | None:
        """One package of a scan by its folder, or None."""
        row = self.db.execute(
            f"SELECT {', '.join(PACKAGE_FIELDS)} FROM packages WHERE scan_id = ? AND path = ?",
            (scan_id, path),
        ).fetchone()
        return _package_record(row) if row else None

    def packages(self, scan_id: int) -> list[dict[str, Any]]:
        """Every package of a scan, in path order."""
        rows = self.db.execute(
            f"SELECT {', '.join(PACKAGE_FIELDS)} FROM packages WHERE scan_id = ? ORDER BY path",
            (scan_id,),
        ).fetchall()
        return [_package_record(r) for r in rows]

    def copy_package(self, from_scan: int, to_scan: int, path: bytes) -> None:
        """Carry a package whose METS did not change, with its listing and verdicts."""
        cols = ", ".join(PACKAGE_FIELDS)
        self.db.execute(
            f"INSERT OR REPLACE INTO packages (scan_id, {cols}) "
            f"SELECT ?, {cols} FROM packages WHERE scan_id = ? AND path = ?",
            (to_scan, from_scan, path),
        )
        cols = "package, mets, path, source, checksum_type, checksum, size, verdict, found, message"
        self.db.execute(
            "DELETE FROM package_files WHERE scan_id = ? AND package = ?", (to_scan, path)
        )
        self.db.execute(
            f"INSERT INTO package_files (scan_id, {cols}) "
            f"SELECT ?, {cols} FROM package_files WHERE scan_id = ? AND package = ? ORDER BY id",
            (to_scan, from_scan, path),
        )

    def package_algorithms(self, scan_id: int, package: bytes) -> set[str]:
        """The checksum types a package's METS use."""
        rows = self.db.execute(
            "SELECT DISTINCT checksum_type FROM package_files "
            "WHERE scan_id = ? AND package = ? AND checksum_type IS NOT NULL",
            (scan_id, package),
        ).fetchall()
        return {r[0] for r in rows}

    def package_listings(
        self, scan_id: int, paths: Sequence[bytes]
    ) -> dict[bytes, list[tuple[int, str | None, str | None, int | None]]]:
        """Listed entries of these paths: path -> [(id, checksum type, checksum, size)]."""
        found: dict[bytes, list[tuple[int, str | None, str | None, int | None]]] = {}
        for chunk in _chunks(paths, 500):
            marks = ",".join("?" * len(chunk))
            for path, *rest in self.db.execute(
                f"""SELECT path, id, checksum_type, checksum, size FROM package_files
                    WHERE scan_id = ? AND path IN ({marks}) AND source <> 'mptr'
                    ORDER BY id""",
                (scan_id, *chunk),
            ):
                found.setdefault(bytes(path), []).append(tuple(rest))
        return found

    def set_listing_verdicts(self, rows: Sequence[tuple[str, str | None, str | None, int]]) -> None:
        """(verdict, digest found, message, listing id) per checked entry."""
        self.db.executemany(
            "UPDATE package_files SET verdict = ?, found = ?, message = ? WHERE id = ?", rows
        )

    def finish_packages(self, scan_id: int) -> dict[str, Any]:
        """After a scan: listed entries not on disk become ``missing``, each package gets its
        counts; returns the scan's package summary."""
        db = self.db
        db.execute(
            """UPDATE package_files SET verdict = 'missing', found = NULL,
                 message = 'listed in the METS, not found by the scan (absent, or excluded)'
               WHERE scan_id = :s AND NOT EXISTS (
                 SELECT 1 FROM files f WHERE f.scan_id = :s AND f.path = package_files.path)""",
            {"s": scan_id},
        )
        db.execute(
            """UPDATE package_files SET verdict = 'unverified', found = NULL,
                 message = (SELECT 'not a regular file that could be read: ' || f.outcome
                            FROM files f WHERE f.scan_id = :s AND f.path = package_files.path)
               WHERE scan_id = :s AND verdict IS NULL""",
            {"s": scan_id},
        )
        counts: dict[bytes, dict[str, int]] = {}
        for package, fixity, n in db.execute(
            """SELECT package, fixity, COUNT(*) FROM files
               WHERE scan_id = ? AND package IS NOT NULL AND parent IS NULL
                 AND fixity IS NOT NULL GROUP BY 1, 2""",
            (scan_id,),
        ):
            counts.setdefault(bytes(package), {})[fixity] = n
        listed: dict[bytes, tuple[int, int]] = {}
        for package, n, missing in db.execute(
            """SELECT package, COUNT(DISTINCT CASE WHEN source <> 'mptr' THEN path END),
                      COUNT(DISTINCT CASE WHEN verdict = 'missing' THEN path END)
               FROM package_files WHERE scan_id = ? GROUP BY 1""",
            (scan_id,),
        ):
            listed[bytes(package)] = (n, missing)
        updates = []
        for (path,) in db.execute("SELECT path FROM packages WHERE scan_id = ?", (scan_id,)):
            c = counts.get(bytes(path), {})
            n, missing = listed.get(bytes(path), (0, 0))
            updates.append(
                (
                    n,
                    c.get("ok", 0),
                    c.get("mismatch", 0),
                    missing,
                    c.get("not_listed", 0),
                    c.get("unverified", 0),
                    scan_id,
                    path,
                )
            )
        db.executemany(
            "UPDATE packages SET listed = ?, ok = ?, mismatched = ?, missing = ?, unlisted = ?, "
            "unverified = ? WHERE scan_id = ? AND path = ?",
            updates,
        )
        return self.package_summary(scan_id)

    def package_summary(self, scan_id: int) -> dict[str, Any]:
        """Packages found, how many have a METS problem, and the fixity counts over them."""
        row = self.db.execute(
            """SELECT COUNT(*), COALESCE(SUM(error IS NOT NULL), 0), COALESCE(SUM(listed), 0),
                      COALESCE(SUM(ok), 0), COALESCE(SUM(mismatched), 0),
                      COALESCE(SUM(missing), 0), COALESCE(SUM(unlisted), 0),
                      COALESCE(SUM(unverified), 0)
               FROM packages WHERE scan_id = ?""",
            (scan_id,),
        ).fetchone()
        keys = ("listed", "ok", "mismatch", "missing", "not_listed", "unverified")
        fixity = dict(zip(keys, row[2:], strict=True))
        return {"found": row[0], "mets_errors": row[1], "fixity": fixity}

    def package_problems(self, scan_id: int) -> Iterator[dict[str, Any]]:
        """Every entry that is not ``ok``, package by package, streamed: mismatched, missing
        and unverified listed entries, and files on disk that no METS lists."""
        cur = self.db.execute(
            """SELECT package, path, verdict, checksum_type, checksum, found, message, mets
               FROM package_files WHERE scan_id = :s AND verdict NOT IN ('ok')
               UNION ALL
               SELECT f.package, f.path, f.fixity, NULL, NULL, NULL,
                      CASE f.fixity WHEN 'not_listed' THEN 'on disk, listed by no METS'
                           ELSE 'a METS of the package that cannot be read' END, NULL
               FROM files f WHERE f.scan_id = :s AND f.package IS NOT NULL
                 AND f.fixity IN ('not_listed', 'mets_error')
               ORDER BY 1, 2""",
            {"s": scan_id},
        )
        keys = ("package", "path", "verdict", "checksum_type", "checksum", "found", "message")
        while batch := cur.fetchmany(1000):
            for row in batch:
                rec = dict(zip(keys, row[:7], strict=True))
                rec["package"], rec["path"] = bytes(row[0]), bytes(row[1])
                rec["mets"] = bytes(row[7]) if row[7] is not None else None
                yield rec

    def package_ids(self, scan_id: int) -> dict[bytes, str]:
        """Package folder -> package id (METS OBJID or the folder's name)."""
        rows = self.db.execute(
            "SELECT path, package_id FROM packages WHERE scan_id = ?", (scan_id,)
        ).fetchall()
        return {bytes(p): i for p, i in rows}

    # -- assessments and overrides -----------------------------------------------------------
    def last_assessment(self, scan_id: int) -> int | None:
        row = self.db.execute(
            "SELECT MAX(id) FROM assessments WHERE scan_id = ? AND summary IS NOT NULL",
            (scan_id,),
        ).fetchone()
        return int(row[0]) if row and row[0] is not None else None

    def assessment(self, assessment_id: int) -> dict[str, Any]:
        row = self.db.execute(
            "SELECT id, scan_id, ruleset, ruleset_version, ruleset_digest, created_at, "
            "created_by, summary, policy FROM assessments WHERE id = ?",
            (assessment_id,),
        ).fetchone()
        if row is None:
            raise UsageError(f"no assessment with id {assessment_id}")
        keys = (
            "id",
            "scan_id",
            "ruleset",
            "ruleset_version",
            "ruleset_digest",
            "created_at",
            "created_by",
            "summary",
            "policy",
        )
        out = dict(zip(keys, row, strict=True))
        out["summary"] = json.loads(out["summary"]) if out["summary"] else None
        out["policy"] = json.loads(out["policy"])
        return out

    def assessment_summary(self, table: str, assessment_id: int, scan_id: int) -> dict[str, Any]:
        """Files and bytes per status and risk, overall and per organisation."""
        rows = self.db.execute(
            f"""SELECT f.org, a.status, COALESCE(a.risk, ''), COUNT(*), COALESCE(SUM(f.size), 0)
                FROM {table} a JOIN files f ON f.scan_id = ? AND f.path = a.path
                WHERE a.assessment_id = ? GROUP BY 1, 2, 3""",
            (scan_id, assessment_id),
        ).fetchall()
        out: dict[str, Any] = {"status": {}, "risk": {}, "by_org": {}}
        for org, status, risk, n, size in rows:
            for bucket in (out, out["by_org"].setdefault(org, {"status": {}, "risk": {}})):
                for key, value in (("status", status), ("risk", risk or "none")):
                    cell = bucket[key].setdefault(value, {"files": 0, "bytes": 0})
                    cell["files"] += n
                    cell["bytes"] += size
        findings = self.db.execute(
            f"SELECT finding, COUNT(*) FROM {table} WHERE assessment_id = ? "
            "AND finding IS NOT NULL GROUP BY 1",
            (assessment_id,),
        ).fetchall()
        out["findings"] = dict(findings)
        (out["overridden"],) = self.db.execute(
            f"SELECT COUNT(*) FROM {table} WHERE assessment_id = ? AND override_id IS NOT NULL",
            (assessment_id,),
        ).fetchone()
        out["files"] = sum(c["files"] for c in out["status"].values())
        return out

    def assessment_changes(self, table: str, assessment_id: int, previous: int) -> dict[str, int]:
        """How statuses moved against an earlier assessment: 'old -> new': files."""
        rows = self.db.execute(
            f"""SELECT COALESCE(p.status, '(new)') || ' -> ' || a.status, COUNT(*)
                FROM {table} a LEFT JOIN assessed p
                  ON p.assessment_id = ? AND p.path = a.path
                WHERE a.assessment_id = ? AND a.status IS NOT p.status GROUP BY 1""",
            (previous, assessment_id),
        ).fetchall()
        return dict(rows)

    def migration_groups(
        self, assessment_id: int, scan_id: int
    ) -> list[tuple[str, str, bool, int, int]]:
        """(rule, org, inside a container, files, bytes) of the files to migrate."""
        rows = self.db.execute(
            """SELECT a.rule_id, f.org, f.parent IS NOT NULL, COUNT(*), COALESCE(SUM(f.size), 0)
               FROM assessed a JOIN files f ON f.scan_id = ? AND f.path = a.path
               WHERE a.assessment_id = ? AND a.status = 'migrate'
               GROUP BY 1, 2, 3 ORDER BY 1, 2""",
            (scan_id, assessment_id),
        ).fetchall()
        return [(r or "", o, bool(i), n, b) for r, o, i, n, b in rows]

    def migration_samples(
        self, assessment_id: int, scan_id: int, per_tool: int
    ) -> dict[str, list[tuple[bytes, int, str]]]:
        """Up to ``per_tool`` on-disk files per tool of the migrate rules, spread over the size
        range: tool -> [(path, size, target)]."""
        policy = self.assessment(assessment_id)["policy"]
        actions = {r["id"]: r["action"] for r in policy["rules"] if r.get("action")}
        by_tool: dict[str, list[tuple[bytes, int, str]]] = {}
        for rule_id, action in actions.items():
            rows = self.db.execute(
                """SELECT f.path, f.size FROM assessed a
                   JOIN files f ON f.scan_id = ? AND f.path = a.path
                   WHERE a.assessment_id = ? AND a.rule_id = ? AND a.status = 'migrate'
                     AND f.parent IS NULL AND f.size > 0
                   ORDER BY f.size""",
                (scan_id, assessment_id, rule_id),
            ).fetchall()
            if not rows:
                continue
            step = max(1, len(rows) // per_tool)
            picked = rows[::step][:per_tool]
            bucket = by_tool.setdefault(action["tool"], [])
            bucket += [(bytes(p), int(n), action["target"]) for p, n in picked]
        return {
            tool: sorted(v, key=lambda x: x[1])[:: max(1, len(v) // per_tool)][:per_tool]
            for tool, v in by_tool.items()
        }

    def store_tool_rate(
        self,
        tool: str,
        version: str,
        per_file: float,
        per_mb: float,
        ratio: float,
        samples: int,
        at: str,
    ) -> None:
        with self.transaction():
            self.db.execute(
                "INSERT OR REPLACE INTO tool_rates VALUES (?, ?, ?, ?, ?, ?, ?)",
                (tool, version, per_file, per_mb, ratio, samples, at),
            )

    def tool_rates(self) -> dict[str, tuple[float, float, float]]:
        """Measured rates: tool -> (seconds per file, seconds per MB, output/input bytes)."""
        rows = self.db.execute(
            "SELECT tool, seconds_per_file, seconds_per_mb, output_ratio FROM tool_rates"
        ).fetchall()
        return {t: (a, b, c) for t, a, b, c in rows}

    # -- migration journal -------------------------------------------------------------------
    def migration_run(
        self, scan_id: int, assessment_id: int, out_dir: str, options: dict[str, Any]
    ) -> tuple[int, bool]:
        """The run for this scan, assessment and output folder (resumed), or a new one."""
        row = self.db.execute(
            "SELECT id FROM migration_runs WHERE scan_id = ? AND assessment_id = ? AND out_dir = ? "
            "ORDER BY id DESC LIMIT 1",
            (scan_id, assessment_id, out_dir),
        ).fetchone()
        if row is not None:
            with self.transaction():
                self.db.execute(
                    "UPDATE migration_runs SET status = 'running', finished_at = NULL WHERE id = ?",
                    (row[0],),
                )
            return int(row[0]), True
        with self.transaction():
            cur = self.db.execute(
                "INSERT INTO migration_runs (scan_id, assessment_id, out_dir, started_at, status, "
                "options) VALUES (?, ?, ?, ?, 'running', ?)",
                (scan_id, assessment_id, out_dir, now(), json.dumps(options, sort_keys=True)),
            )
        return int(cur.lastrowid or 0), False

    def migration_candidates(
        self, assessment_id: int, scan_id: int
    ) -> Iterator[tuple[bytes, str, str, int | None, str | None]]:
        """On-disk files the assessment says to migrate: (path, rule, org, size, sha256)."""
        cur = self.db.execute(
            """SELECT f.path, a.rule_id, f.org, f.size, f.sha256 FROM assessed a
               JOIN files f ON f.scan_id = ? AND f.path = a.path
               WHERE a.assessment_id = ? AND a.status = 'migrate' AND f.parent IS NULL
                 AND a.rule_id IS NOT NULL
               ORDER BY f.path""",
            (scan_id, assessment_id),
        )
        while batch := cur.fetchmany(1000):
            for path, rule, org, size, sha in batch:
                yield bytes(path), rule, org, size, sha

    def add_migrations(self, rows: list[tuple[Any, ...]]) -> None:
        """Journal rows (run, path, rule, tool, target, target PUID, output, size, sha256) as
        pending, one per source and target; existing rows are kept; two outputs with one name
        get a suffix."""
        with self.transaction():
            for row in rows:
                run_id, path, target = row[0], row[1], row[4]
                if self.db.execute(
                    "SELECT 1 FROM migrations WHERE run_id = ? AND path = ? AND target = ?",
                    (run_id, path, target),
                ).fetchone():
                    continue
                output: bytes = row[6]
                stem, dot, suffix = output.rpartition(b".")
                for n in range(1, 10_000):
                    candidate = output if n == 1 else stem + b"-%d" % n + dot + suffix
                    try:
                        self.db.execute(
                            "INSERT INTO migrations (run_id, path, rule_id, tool, target, "
                            "target_puid, output, size, source_sha256, state) "
                            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending')",
                            (*row[:6], candidate, row[7], row[8]),
                        )
                        break
                    except sqlite3.IntegrityError:
                        continue

    def migration_count(self, run_id: int) -> int:
        (n,) = self.db.execute(
            "SELECT COUNT(*) FROM migrations WHERE run_id = ?", (run_id,)
        ).fetchone()
        return int(n)

    def migration_tools(self, run_id: int) -> list[str]:
        rows = self.db.execute(
            "SELECT DISTINCT tool FROM migrations WHERE run_id = ? AND state <> 'done'", (run_id,)
        ).fetchall()
        return [r[0] for r in rows]

    def migration_todo(
        self, run_id: int, retry_failed: bool, limit: int | None, *, page: int = 1000
    ) -> Iterator[TodoRow]:
        """The journal rows to work on, in (path, target) order: (path, output, size, sha256,
        tool, target, target PUID, attempts); at most ``limit``.

        Read ``page`` rows at a time by key (``(path, target) >`` the last one), each page
        fetched whole,
        so memory stays flat and no read cursor stays open while the caller records results on
        this connection; a row is never handed out twice, whatever state it gets meanwhile."""
        states = ("pending", "failed") if retry_failed else ("pending",)
        where = f"run_id = ? AND state IN ({','.join('?' * len(states))})"
        columns = "path, output, size, source_sha256, tool, target, target_puid, attempts"
        left = -1 if limit is None else limit
        last: tuple[bytes, str] | None = None
        while left != 0:
            n = page if left < 0 else min(page, left)
            if last is None:
                sql = (
                    f"SELECT {columns} FROM migrations WHERE {where} ORDER BY path, target LIMIT ?"
                )
                params: tuple[Any, ...] = (run_id, *states, n)
            else:
                sql = (
                    f"SELECT {columns} FROM migrations WHERE {where} AND (path, target) > (?, ?) "
                    "ORDER BY path, target LIMIT ?"
                )
                params = (run_id, *states, *last, n)
            rows = self.db.execute(sql, params).fetchall()
            for row in rows:
                yield (bytes(row[0]), bytes(row[1]), *row[2:])
            if len(rows) < n:
                return
            last = (bytes(rows[-1][0]), str(rows[-1][5]))
            if left > 0:
                left -= len(rows)

    def migration_todo_size(
        self, run_id: int, retry_failed: bool, limit: int | None
    ) -> tuple[int, int]:
        """How many rows :meth:`migration_todo` hands out, and their bytes."""
        states = ("pending", "failed") if retry_failed else ("pending",)
        n, size = self.db.execute(
            f"""SELECT COUNT(*), COALESCE(SUM(size), 0) FROM (
                  SELECT size FROM migrations
                  WHERE run_id = ? AND state IN ({",".join("?" * len(states))})
                  ORDER BY path, target LIMIT ?)""",
            (run_id, *states, -1 if limit is None else limit),
        ).fetchone()
        return int(n), int(size)

    def record_migration(
        self,
        run_id: int,
        path: bytes,
        tool: str,
        attempt: int,
        result: dict[str, Any],
        target: str | None = None,
    ) -> None:
        """One attempt: an event, and the journal row's new state, in one transaction.
        ``target`` picks the row of a source with several outputs (None: the source's only
        row)."""
        # A full disk is not the file's fault: it stays pending for the next run.
        outcome = result["outcome"]
        state = "done" if outcome == "done" else "pending" if outcome == "disk-full" else "failed"
        checks = result.get("validation_checks")
        with self.transaction():
            if checks is not None:
                self.db.execute(
                    "INSERT OR IGNORE INTO validation_checks (id, checked, not_checked) "
                    "VALUES (?, ?, ?)",
                    checks,
                )
            self.db.execute(
                "INSERT INTO migration_events (run_id, path, attempt, tool, tool_version, "
                "command, started_at, finished_at, outcome, message, source_sha256, "
                "output_sha256, validation, target) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    run_id,
                    path,
                    attempt,
                    tool,
                    result.get("tool_version"),
                    _sqlite_text(result.get("command")),
                    result["started_at"],
                    result["finished_at"],
                    result["outcome"],
                    _sqlite_text(result.get("message")),
                    result.get("source_sha256"),
                    result.get("output_sha256"),
                    _sqlite_text(result.get("validation")),
                    target,
                ),
            )
            self.db.execute(
                "UPDATE migrations SET state = ?, outcome = ?, message = ?, output_sha256 = ?, "
                "output_size = ?, output_puid = ?, attempts = ? WHERE run_id = ? AND path = ? "
                "AND target = COALESCE(?, target)",
                (
                    state,
                    result["outcome"],
                    _sqlite_text(result.get("message")),
                    result.get("output_sha256"),
                    result.get("output_size"),
                    result.get("output_puid"),
                    attempt,
                    run_id,
                    path,
                    target,
                ),
            )

    def migration_states(self, run_id: int) -> dict[tuple[str, str], tuple[int, int, int]]:
        rows = self.db.execute(
            "SELECT state, COALESCE(outcome, ''), COUNT(*), COALESCE(SUM(size), 0), "
            "COALESCE(SUM(output_size), 0) FROM migrations WHERE run_id = ? GROUP BY 1, 2",
            (run_id,),
        ).fetchall()
        return {(s, o): (n, a, b) for s, o, n, a, b in rows}

    def premis_rows(self, run_id: int, *, events: bool = True) -> Iterator[dict[str, Any]]:
        """Journal rows that were attempted (streamed, in path order), with their events
        unless ``events`` is false, for PREMIS."""
        run = self.db.execute(
            "SELECT scan_id FROM migration_runs WHERE id = ?", (run_id,)
        ).fetchone()
        if run is None:
            raise UsageError(f"no migration run {run_id}")
        keys = (
            "path",
            "target",
            "target_puid",
            "output",
            "size",
            "source_sha256",
            "state",
            "output_sha256",
            "output_size",
            "output_puid",
            "source_puid",
        )
        rows = self.db.execute(
            """SELECT m.path, m.target, m.target_puid, m.output, m.size, m.source_sha256,
                      m.state, m.output_sha256, m.output_size, m.output_puid, i.puid
               FROM migrations m
               LEFT JOIN files f ON f.scan_id = ? AND f.path = m.path
               LEFT JOIN identifications i ON i.id = f.ident_id
               WHERE m.run_id = ? AND m.attempts > 0 ORDER BY m.path, m.target""",
            (run[0], run_id),
        )
        ev_keys = (
            "id",
            "tool",
            "tool_version",
            "command",
            "started_at",
            "finished_at",
            "outcome",
            "message",
            "validation",
        )
        for row in rows:
            rec = dict(zip(keys, row, strict=True))
            rec["events"] = (
                [
                    dict(zip(ev_keys, e, strict=True))
                    for e in self.db.execute(
                        f"SELECT {', '.join(ev_keys)} FROM migration_events "
                        "WHERE run_id = ? AND path = ? AND COALESCE(target, ?) = ? ORDER BY id",
                        (run_id, rec["path"], rec["target"], rec["target"]),
                    )
                ]
                if events
                else []
            )
            rec["path"] = bytes(rec["path"]).decode("utf-8", "backslashreplace")
            rec["output"] = bytes(rec["output"]).decode("utf-8", "backslashreplace")
            yield rec

    def migration_run_id(self, run_id: int | None = None) -> int:
        """A migration run's id, checked; without one the newest run."""
        if run_id is None:
            row = self.db.execute("SELECT MAX(id) FROM migration_runs").fetchone()
            if row is None or row[0] is None:
                raise UsageError(f"no migration run in {self.path}: run preserveplan migrate")
            return int(row[0])
        if self.db.execute("SELECT 1 FROM migration_runs WHERE id = ?", (run_id,)).fetchone():
            return run_id
        raise UsageError(f"no migration run with id {run_id} in {self.path}")

    def journal(self, run_id: int, states: Sequence[str] = ()) -> Iterator[dict[str, Any]]:
        """A migration run's journal, one row per source and target in path order, streamed:
        what each file was (to be) converted to, by which tool, where, with what outcome. Paths
        are bytes (see :mod:`preserveplan.paths`)."""
        where = "run_id = ?"
        params: list[Any] = [run_id]
        if states:
            where += f" AND state IN ({', '.join('?' for _ in states)})"
            params += list(states)
        cur = self.db.execute(
            f"SELECT {', '.join(JOURNAL_FIELDS)} FROM migrations WHERE {where} "
            "ORDER BY path, target",
            params,
        )
        for row in cur:
            yield dict(zip(JOURNAL_FIELDS, row, strict=True))

    def validation_of(self, event_id: int) -> dict[str, Any] | None:
        """The validation of one migration event as ``preserveplan validate --json`` prints it
        (path, puid, profile, valid, errors, checked, not_checked), or None when the attempt
        did not get as far as validating an output."""
        row = self.db.execute(
            "SELECT e.validation, c.checked, c.not_checked FROM migration_events e "
            "LEFT JOIN validation_checks c "
            "ON c.id = json_extract(e.validation, '$.checks') WHERE e.id = ?",
            (event_id,),
        ).fetchone()
        if row is None or row[0] is None:
            return None
        record: dict[str, Any] = json.loads(row[0])
        if "checks" in record:  # schema 7: the lists are kept once, in validation_checks
            record.pop("checks")
            record["checked"] = json.loads(row[1]) if row[1] else []
            record["not_checked"] = json.loads(row[2]) if row[2] else []
        return record

    def finish_migration_run(self, run_id: int, status: str, summary: dict[str, Any]) -> None:
        with self.transaction():
            self.db.execute(
                "UPDATE migration_runs SET status = ?, finished_at = ?, summary = ? WHERE id = ?",
                (status, now(), json.dumps(summary), run_id),
            )

    def sha256_of(self, scan_id: int, path: bytes) -> str | None:
        row = self.db.execute(
            "SELECT sha256 FROM files WHERE scan_id = ? AND path = ?", (scan_id, path)
        ).fetchone()
        return str(row[0]) if row and row[0] else None

    def add_override(
        self,
        sha256: str,
        status: str,
        risk: str | None,
        reason: str,
        who: str,
        path_hint: str | None,
    ) -> int:
        with self.transaction():
            cur = self.db.execute(
                """INSERT INTO overrides (sha256, status, risk, reason, who, created_at, path_hint)
                   VALUES (?, ?, ?, ?, ?, ?, ?)""",
                (sha256, status, risk, reason, who, now(), path_hint),
            )
        return int(cur.lastrowid or 0)

    def overrides(self) -> list[dict[str, Any]]:
        keys = (
            "id",
            "sha256",
            "status",
            "risk",
            "reason",
            "who",
            "created_at",
            "path_hint",
            "revoked_at",
        )
        rows = self.db.execute(f"SELECT {', '.join(keys)} FROM overrides ORDER BY id").fetchall()
        return [dict(zip(keys, r, strict=True)) for r in rows]

    # -- reading -----------------------------------------------------------------------------
    def row_count(self, scan_id: int) -> int:
        (n,) = self.db.execute(
            "SELECT COUNT(*) FROM files WHERE scan_id = ?", (scan_id,)
        ).fetchone()
        return int(n)

    def outcome_counts(self, scan_id: int) -> dict[str, dict[str, int]]:
        """Files and bytes per outcome, and per container status, for a scan's summary."""
        out: dict[str, dict[str, int]] = {"outcome": {}, "outcome_bytes": {}, "container": {}}
        for outcome, n, size in self.db.execute(
            "SELECT outcome, COUNT(*), COALESCE(SUM(size), 0) FROM files WHERE scan_id = ? "
            "GROUP BY outcome",
            (scan_id,),
        ):
            out["outcome"][outcome] = n
            out["outcome_bytes"][outcome] = size
        for container, n in self.db.execute(
            "SELECT container, COUNT(*) FROM files WHERE scan_id = ? AND container IS NOT NULL "
            "GROUP BY container",
            (scan_id,),
        ):
            out["container"][container] = n
        for kind, n in self.db.execute(
            "SELECT CASE WHEN parent IS NULL THEN 'on_disk' ELSE 'members' END, COUNT(*) "
            "FROM files WHERE scan_id = ? GROUP BY 1",
            (scan_id,),
        ):
            out.setdefault("where", {})[kind] = n
        return out

    def format_profile(self, scan_id: int, by_org: bool = False) -> list[dict[str, Any]]:
        """Files and bytes per PUID (per organisation too if ``by_org``), largest first."""
        org_col = "f.org" if by_org else "NULL"
        rows = self.db.execute(
            f"""SELECT {org_col} AS org, COALESCE(i.puid, '') AS puid, MAX(i.format),
                       MAX(i.version), MAX(i.mime), COUNT(*), COALESCE(SUM(f.size), 0),
                       SUM(CASE WHEN f.parent IS NULL THEN 0 ELSE 1 END)
                FROM files f LEFT JOIN identifications i ON i.id = f.ident_id
                WHERE f.scan_id = ? AND f.kind IN ('file', 'member')
                GROUP BY 1, 2 ORDER BY 1, COUNT(*) DESC, 2""",
            (scan_id,),
        ).fetchall()
        keys = ("org", "puid", "format", "version", "mime", "files", "bytes", "in_containers")
        result = []
        for values in rows:
            r = dict(zip(keys, values, strict=True))
            # "name" is the PRONOM format name (the same as "format", kept for readers of both)
            result.append({"org": r["org"], "puid": r["puid"], "name": r["format"], **r})
        if not by_org:
            for r in result:
                del r["org"]
        return result

    def iter_files(
        self, scan_id: int, assessment_id: int | None = None
    ) -> Iterator[dict[str, Any]]:
        """Every file row of a scan with its identification (and, given an assessment, its
        rule, finding, status and risk), streamed in path order."""
        cur = self.db.execute(
            f"""SELECT {", ".join("f." + c for c in ALL_FILE_COLUMNS[1:])},
                       {", ".join("i." + c for c in IDENT_COLUMNS)},
                       a.rule_id, a.finding, a.status, a.risk
                FROM files f LEFT JOIN identifications i ON i.id = f.ident_id
                LEFT JOIN assessed a ON a.assessment_id = ? AND a.path = f.path
                WHERE f.scan_id = ? ORDER BY f.path""",
            (assessment_id, scan_id),
        )
        names = [*ALL_FILE_COLUMNS[1:], *IDENT_COLUMNS, "rule", "finding", "status", "risk"]
        while True:
            batch = cur.fetchmany(1000)
            if not batch:
                return
            for row in batch:
                rec = dict(zip(names, row, strict=True))
                for key in ("path", "parent", "disk_path", "package"):
                    if rec[key] is not None:
                        rec[key] = bytes(rec[key])
                yield rec

    def diff(self, scan_a: int, scan_b: int) -> Iterator[dict[str, Any]]:
        """Changes from scan A to scan B: added, removed, changed, moved, reidentified."""
        self.db.execute("DROP TABLE IF EXISTS temp.moved")
        self.db.execute(
            """CREATE TEMP TABLE moved AS
               WITH rem AS (
                 SELECT a.path, a.sha256,
                        ROW_NUMBER() OVER (PARTITION BY a.sha256 ORDER BY a.path) AS n
                 FROM files a WHERE a.scan_id = :a AND a.sha256 IS NOT NULL AND a.size > 0
                   AND NOT EXISTS (SELECT 1 FROM files b WHERE b.scan_id = :b AND b.path = a.path)),
               add_ AS (
                 SELECT b.path, b.sha256,
                        ROW_NUMBER() OVER (PARTITION BY b.sha256 ORDER BY b.path) AS n
                 FROM files b WHERE b.scan_id = :b AND b.sha256 IS NOT NULL AND b.size > 0
                   AND NOT EXISTS (SELECT 1 FROM files a WHERE a.scan_id = :a AND a.path = b.path))
               SELECT rem.path AS old_path, add_.path AS new_path, rem.sha256 AS sha256
               FROM rem JOIN add_ ON add_.sha256 = rem.sha256 AND add_.n = rem.n""",
            {"a": scan_a, "b": scan_b},
        )
        self.db.execute("CREATE INDEX temp.moved_old ON moved(old_path)")
        self.db.execute("CREATE INDEX temp.moved_new ON moved(new_path)")
        queries = {
            "added": """SELECT b.path, NULL, b.sha256, NULL, ib.puid FROM files b
                LEFT JOIN identifications ib ON ib.id = b.ident_id
                WHERE b.scan_id = :b
                  AND NOT EXISTS (SELECT 1 FROM files a WHERE a.scan_id = :a AND a.path = b.path)
                  AND NOT EXISTS (SELECT 1 FROM temp.moved m WHERE m.new_path = b.path)
                ORDER BY b.path""",
            "removed": """SELECT a.path, NULL, a.sha256, ia.puid, NULL FROM files a
                LEFT JOIN identifications ia ON ia.id = a.ident_id
                WHERE a.scan_id = :a
                  AND NOT EXISTS (SELECT 1 FROM files b WHERE b.scan_id = :b AND b.path = a.path)
                  AND NOT EXISTS (SELECT 1 FROM temp.moved m WHERE m.old_path = a.path)
                ORDER BY a.path""",
            "moved": """SELECT m.new_path, m.old_path, m.sha256, NULL, NULL FROM temp.moved m
                ORDER BY m.new_path""",
            "changed": """SELECT b.path, NULL, b.sha256, ia.puid, ib.puid FROM files a
                JOIN files b ON b.scan_id = :b AND b.path = a.path
                LEFT JOIN identifications ia ON ia.id = a.ident_id
                LEFT JOIN identifications ib ON ib.id = b.ident_id
                WHERE a.scan_id = :a AND a.sha256 IS NOT b.sha256
                ORDER BY b.path""",
            "reidentified": """SELECT b.path, NULL, b.sha256, ia.puid, ib.puid FROM files a
                JOIN files b ON b.scan_id = :b AND b.path = a.path
                LEFT JOIN identifications ia ON ia.id = a.ident_id
                LEFT JOIN identifications ib ON ib.id = b.ident_id
                WHERE a.scan_id = :a AND a.sha256 IS b.sha256
                  AND COALESCE(ia.puid, '') <> COALESCE(ib.puid, '')
                ORDER BY b.path""",
        }
        for change, sql in queries.items():
            cur = self.db.execute(sql, {"a": scan_a, "b": scan_b})
            while batch := cur.fetchmany(1000):
                for path, old_path, sha, puid_a, puid_b in batch:
                    yield {
                        "change": change,
                        "path": bytes(path),
                        "old_path": bytes(old_path) if old_path is not None else None,
                        "sha256": sha,
                        "puid_before": puid_a,
                        "puid_after": puid_b,
                    }

    def diff_counts(self, scan_a: int, scan_b: int) -> dict[str, int]:
        """Counts of :meth:`diff` in one pass over both scans (the full lists only if needed)."""
        added, changed, ident_differs = self.db.execute(
            """SELECT COALESCE(SUM(a.path IS NULL), 0),
                      COALESCE(SUM(a.path IS NOT NULL AND a.sha256 IS NOT b.sha256), 0),
                      COALESCE(SUM(a.path IS NOT NULL AND a.sha256 IS b.sha256
                                   AND a.ident_id IS NOT b.ident_id), 0)
               FROM files b LEFT JOIN files a ON a.scan_id = ? AND a.path = b.path
               WHERE b.scan_id = ?""",
            (scan_a, scan_b),
        ).fetchone()
        (removed,) = self.db.execute(
            """SELECT COUNT(*) FROM files a WHERE a.scan_id = ?
               AND NOT EXISTS (SELECT 1 FROM files b WHERE b.scan_id = ? AND b.path = a.path)""",
            (scan_a, scan_b),
        ).fetchone()
        counts = {"added": added, "removed": removed, "changed": changed, "moved": 0}
        counts["reidentified"] = 0
        if (added and removed) or ident_differs:
            counts = {k: 0 for k in counts}
            for rec in self.diff(scan_a, scan_b):
                counts[rec["change"]] += 1
        return counts


_SCAN_COLS = (
    "id, root, label, started_at, finished_at, status, base_scan_id, preserveplan_version, "
    "pygfried_version, siegfried_version, signature, signature_created, signature_key, options, "
    "summary"
)


def _scan_record(row: Sequence[Any]) -> ScanRecord:
    values = list(row)
    values[13] = json.loads(values[13]) if values[13] else {}
    values[14] = json.loads(values[14]) if values[14] else None
    return ScanRecord(*values)


def _package_record(row: Sequence[Any]) -> dict[str, Any]:
    rec = dict(zip(PACKAGE_FIELDS, row, strict=True))
    rec["path"] = bytes(rec["path"])
    rec["mets_path"] = bytes(rec["mets_path"])
    rec["mets_docs"] = json.loads(rec["mets_docs"])
    rec["warnings"] = json.loads(rec["warnings"]) if rec["warnings"] else []
    return rec


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _split_sql(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]


def _catalog_error(exc: sqlite3.Error, path: Path) -> CatalogError:
    text = str(exc)
    if "locked" in text or "busy" in text:
        return CatalogLockedError(f"catalog {path} is locked by another process ({text})")
    return CatalogError(f"cannot use catalog {path}: {text}")
