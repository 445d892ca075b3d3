"""Profiles made elsewhere (DROID CSV; Siegfried JSON, YAML or CSV) become scans in the catalog.

An archive profiled with DROID or ``sf`` can then be assessed, planned and reported without
being read again. The profile is streamed (a million rows need no more memory than a thousand)
and written in batches, one transaction each; an import that fails is marked ``failed`` and its
rows are removed, so no half-imported scan ever counts as complete.

What a profile row becomes
--------------------------
* files on disk -> ``kind='file'``; members of containers (DROID ``zip:file:/…!/member`` URIs,
  Siegfried ``outer.zip#member`` names) -> ``kind='member'`` with the ``outer.zip!/member`` path
  convention, ``parent`` (the innermost container) and ``disk_path`` (the file on disk);
* folders are counted, not stored (the catalog lists files; folders are implied by the paths),
  except folders the tool could not read, which are stored as ``kind='directory'`` with their
  outcome, as a scan does;
* DROID statuses and Siegfried errors map onto the scan outcomes (``Access denied`` ->
  ``unreadable``, ``Not found`` -> ``vanished``, …); zero-length files are ``empty``.

Identifications
---------------
Each import has its own signature key (``import <format> sha256:<profile digest>``), so what DROID
or an ``sf`` run said is never mistaken for this engine's answer. Within it, identifications are
keyed by what they say, not by content: the ``identifications.sha256`` column holds
``ident:<SHA-256 of the identification>`` (never a bare 64-hex value, so it cannot collide with a
file's checksum) and ``ext`` is empty. Identical answers share one row, rows without a checksum
need no invented one (``files.sha256`` stays NULL), and two files with the same content can keep
two different answers if the profile says so.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import posixpath
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any
from urllib.parse import unquote

from . import paths as P
from .catalog import Catalog
from .errors import PreserveplanError, UsageError
from .inventory.identify import CONTAINER_PUIDS
from .pronom import formats as pronom_formats
from .versions import __version__

BATCH = 2000
MAX_EXAMPLES = 5
IDENT_CACHE = 100_000

# Archive formats Siegfried expands with -z besides the ones preserveplan expands (web archives).
SF_ARCHIVE_PUIDS = CONTAINER_PUIDS | {"x-fmt/219", "fmt/410", "fmt/289", "fmt/1281"}
_SF_HASHES = ("sha256", "md5", "sha1", "sha512", "crc")
HASH_COLUMNS = ("SHA256_HASH", "HASH", "MD5_HASH", "SHA1_HASH", "SHA512_HASH", "NO_HASH")
DROID_REQUIRED = ("ID", "TYPE", "SIZE", "PUID")
DROID_FORMAT_COLUMNS = ("PUID", "MIME_TYPE", "FORMAT_NAME", "FORMAT_VERSION")
_SHA256_RE = re.compile(r"^[0-9a-fA-F]{64}$")
_WINDOWS_RE = re.compile(r"^(?:[A-Za-z]:[\\/]|\\\\)")
_URI_RE = re.compile(r"^((?:[A-Za-z][A-Za-z0-9+.-]*:)*?)file:(.*)$", re.DOTALL)
_NUMBERED_RE = re.compile(r"^(PUID|MIME_TYPE|FORMAT_NAME|FORMAT_VERSION)(\d+)$")
_YAML_LINE_RE = re.compile(r"^( *)(- )?([^\s:]+)\s*:(?: (.*)|)$", re.DOTALL)


class ImportFormatError(PreserveplanError):
    """The profile is not what it claims to be, or a row is malformed (file and line named)."""


@dataclass
class ImportResult:
    scan_id: int
    root: str
    status: str
    format: str
    source: str
    summary: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {
            "scan_id": self.scan_id,
            "root": self.root,
            "status": self.status,
            "format": self.format,
            "source": self.source,
            "summary": self.summary,
        }


@dataclass(slots=True)
class _Row:
    """One profile record, normalised: paths as text with "/" and "!/" between container levels."""

    line: int
    full: str  # the path as in the profile (absolute or relative), members joined with "!/"
    kind: str  # file | folder | member | container_error
    size: int | None = None
    mtime_ns: int | None = None
    sha256: str | None = None
    outcome: str = "ok"
    message: str | None = None
    ident: dict[str, Any] | None = None
    container: str | None = None  # expanded | error (containers only)
    container_message: str | None = None


@dataclass
class _Header:
    tool: str
    siegfried: str = ""
    signature: str = ""
    created: str = ""
    scandate: str = ""
    identifiers: list[dict[str, str]] = field(default_factory=list)
    hash: str = ""


# -- public API --------------------------------------------------------------------------------
def import_droid_csv(
    path: str | os.PathLike[str],
    *,
    db: str | os.PathLike[str] | Catalog | None = None,
    root: str | None = None,
    label: str | None = None,
    org_depth: int = 1,
) -> ImportResult:
    """Import a DROID 6 CSV export (one row per file or per format, any hash column)."""
    return _import(path, "droid", db=db, root=root, label=label, org_depth=org_depth)


def import_siegfried(
    path: str | os.PathLike[str],
    *,
    db: str | os.PathLike[str] | Catalog | None = None,
    root: str | None = None,
    label: str | None = None,
    org_depth: int = 1,
) -> ImportResult:
    """Import the output of ``sf -json``, ``sf -yaml`` or ``sf -csv`` (detected from content)."""
    return _import(path, "sf", db=db, root=root, label=label, org_depth=org_depth)


def detect_format(path: str | os.PathLike[str]) -> str:
    """``droid-csv``, ``sf-json``, ``sf-yaml`` or ``sf-csv``, from the first bytes of the file."""
    with open(path, "rb") as fh:
        head = fh.read(65536)
    text = head.decode("utf-8", "replace").lstrip("\ufeff")
    stripped = text.lstrip()
    if stripped.startswith("{"):
        if '"siegfried"' in stripped[:4096] or '"files"' in stripped:
            return "sf-json"
        raise ImportFormatError(f"{path}: JSON, but not Siegfried output (no 'siegfried' key)")
    if stripped.startswith("---"):
        if re.search(r"^siegfried\s*:", stripped, re.MULTILINE):
            return "sf-yaml"
        raise ImportFormatError(f"{path}: YAML, but not Siegfried output (no 'siegfried' key)")
    first = text.split("\n", 1)[0]
    try:
        header = [c.strip().upper() for c in next(csv.reader([first]))]
    except (csv.Error, StopIteration):
        header = []
    if header[:4] == ["FILENAME", "FILESIZE", "MODIFIED", "ERRORS"]:
        return "sf-csv"
    if "ID" in header and ("URI" in header or "FILE_PATH" in header):
        return "droid-csv"
    raise ImportFormatError(
        f"{path}: not a DROID CSV export nor Siegfried output (sf -json, -yaml or -csv); "
        f"first line: {first[:120]!r}"
    )


# -- the import ----------------------------------------------------------------------------------
def _import(
    path: str | os.PathLike[str],
    want: str,
    *,
    db: str | os.PathLike[str] | Catalog | None,
    root: str | None,
    label: str | None,
    org_depth: int,
) -> ImportResult:
    source = Path(path)
    if not source.is_file():
        raise UsageError(f"profile not found: {P.for_display(str(source))}")
    fmt = detect_format(source)
    if want == "droid" and fmt != "droid-csv":
        raise UsageError(f"{source} is Siegfried output ({fmt}): use 'preserveplan import sf'")
    if want == "sf" and fmt == "droid-csv":
        raise UsageError(
            f"{source} is a DROID CSV (also what sf -droid writes): use "
            "'preserveplan import droid-csv'"
        )
    catalog = db if isinstance(db, Catalog) else Catalog(db)
    try:
        catalog.lock()
        return _Importer(catalog, source, fmt, root, label, org_depth).run()
    finally:
        if isinstance(db, Catalog):
            catalog.unlock()
        else:
            catalog.close()


class _Importer:
    def __init__(
        self,
        catalog: Catalog,
        source: Path,
        fmt: str,
        root: str | None,
        label: str | None,
        org_depth: int,
    ) -> None:
        self.catalog = catalog
        self.source = source
        self.fmt = fmt
        self.given_root = root
        self.label = label
        self.org_depth = org_depth
        self.counts: dict[str, int] = {
            k: 0
            for k in (
                "records",
                "files",
                "members",
                "folders",
                "containers",
                "identified",
                "unidentified",
                "with_sha256",
                "without_sha256",
            )
        }
        self.skipped: dict[str, int] = {}
        self.warnings: dict[str, dict[str, Any]] = {}
        self.ident_ids: dict[str, int] = {}
        # container rel path -> (status, message), kept until the end (one entry per container)
        self.containers: dict[bytes, tuple[str, str | None]] = {}
        self.with_members: set[bytes] = set()
        self.batch: list[tuple[_Row, tuple[Any, ...]]] = []
        self.orgs: dict[bytes, str] = {}

    # -- driving ---------------------------------------------------------------------------
    def run(self) -> ImportResult:
        started = time.monotonic()
        digest = _file_sha256(self.source)
        header = self._profile().header()
        root, root_note = self._root()
        self.root = root
        self.sigkey = f"import {self.fmt} sha256:{digest}"
        options = {
            "import": {
                "format": self.fmt,
                "source": self.source.name,
                "source_path": str(self.source.resolve()),
                "source_sha256": digest,
                "source_bytes": self.source.stat().st_size,
                "tool": header.tool,
                "siegfried": header.siegfried or None,
                "signature": header.signature or None,
                "identifiers": header.identifiers,
                "scandate": header.scandate or None,
                "hash": header.hash or None,
                "root": root_note,
            },
            "org_depth": self.org_depth,
        }
        engine = {
            "preserveplan": __version__,
            "pygfried": "-",
            "siegfried": header.siegfried or "-",
            "signature": _signature_text(header),
            "signature_created": header.created,
        }
        cat = self.catalog
        self.scan_id = cat.create_scan(
            root.encode("utf-8", "surrogateescape"),
            label=self.label,
            engine=engine,
            signature_key=self.sigkey,
            options=options,
            base_scan_id=None,
        )
        try:
            for row in self._profile().rows():
                self._take(row)
                if len(self.batch) >= BATCH:
                    self._flush()
            self._flush()
            self._finish_containers()
        except BaseException as exc:
            self._fail(exc)
            raise
        summary = self._summary(time.monotonic() - started, root_note)
        cat.finish_scan(self.scan_id, "complete", summary)
        return ImportResult(self.scan_id, root, "complete", self.fmt, self.source.name, summary)

    def _profile(self) -> _DroidCsv | _Siegfried:
        if self.fmt == "droid-csv":
            return _DroidCsv(self.source)
        return _Siegfried(self.source, self.fmt)

    def _fail(self, exc: BaseException) -> None:
        """Leave no half-imported rows behind; the scan record says what went wrong."""
        message = str(exc) if not isinstance(exc, KeyboardInterrupt) else "interrupted"
        try:
            db = self.catalog.db
            if db.in_transaction:
                db.execute("ROLLBACK")
            with self.catalog.transaction():
                self.catalog.discard_scan_files(self.scan_id)
            self.catalog.finish_scan(
                self.scan_id, "failed", {"error": message, "import": self._import_summary("")}
            )
        except Exception:  # the catalog itself failed: the original error is what matters
            pass

    # -- the root --------------------------------------------------------------------------
    def _root(self) -> tuple[str, str]:
        if self.given_root is not None:
            root = _clean_root(self.given_root)
            return root, f"{root} (given with --root)"
        common: str | None = None
        shallow_folders: set[str] = set()
        shallow = 1 << 30
        for row in self._profile().rows():
            if row.kind in ("member", "container_error") or "!/" in row.full:
                continue
            if row.kind == "folder":
                candidate = row.full
                depth = candidate.count("/")
                if depth < shallow:
                    shallow, shallow_folders = depth, {candidate}
                elif depth == shallow:
                    shallow_folders.add(candidate)
            else:
                candidate = posixpath.dirname(row.full)
            try:
                common = candidate if common is None else posixpath.commonpath([common, candidate])
            except ValueError:
                raise ImportFormatError(
                    f"{self.source}: the profile mixes absolute and relative paths; "
                    "give --root to say what the paths are relative to"
                ) from None
        if common is None:
            return ".", ". (the profile lists no files)"
        if common == "":
            return ".", ". (the profile's paths are relative)"
        if common in shallow_folders:
            return (
                common,
                f"{common} (derived: the folder the profile was made of; --root to choose)",
            )
        return common, (
            f"{common} (derived: the common parent of the profile's top-level entries; "
            "--root to choose)"
        )

    def _relative(self, full: str) -> str | None:
        root = self.root
        if root == ".":
            rel = full[2:] if full.startswith("./") else full
            return None if rel.startswith("/") else rel
        if full == root:
            return ""
        prefix = root if root.endswith("/") else root + "/"
        return full[len(prefix) :] if full.startswith(prefix) else None

    # -- rows ------------------------------------------------------------------------------
    def _take(self, row: _Row) -> None:
        self.counts["records"] += 1
        if row.kind == "folder" and row.outcome == "ok":
            self.counts["folders"] += 1
            return
        if row.kind == "container_error":
            rel = self._relative(row.full)
            if rel:
                self.containers[_b(rel)] = ("error", row.message)
                self._warn(
                    "container error", row.line, f"{rel}: {row.message or 'could not be read'}"
                )
            return
        rel = self._relative(row.full)
        if rel is None:
            self._skip("outside the root", row.line, f"{row.full} is not under {self.root}")
            return
        if rel == "":
            self._skip("the root itself", row.line, f"{row.full} is the root, not a file")
            return
        path = _b(rel)
        parent: bytes | None = None
        disk_path: bytes | None = None
        kind = "directory" if row.kind == "folder" else row.kind
        if row.kind == "member":
            parent_rel = rel.rsplit("!/", 1)[0]
            parent, disk_path = _b(parent_rel), _b(rel.split("!/", 1)[0])
            self.with_members.add(parent)
            self.counts["members"] += 1
        else:
            self.counts["files"] += 1
        if row.container is not None:
            self.counts["containers"] += 1
            self.containers[path] = (row.container, row.container_message)
        org = self._org(disk_path or path)
        if row.sha256:
            self.counts["with_sha256"] += 1
        elif kind != "directory":
            self.counts["without_sha256"] += 1
        if kind != "directory":
            puid = (row.ident or {}).get("puid")
            self.counts["identified" if puid and puid != "UNKNOWN" else "unidentified"] += 1
        record = (
            self.scan_id,
            path,
            parent,
            disk_path,
            org,
            kind,
            P.extension(path) if kind != "directory" else "",
            row.size,
            row.mtime_ns,
            row.sha256,
            None,  # ident_id, set when the batch is written
            row.outcome,
            row.message,
            row.container,
            row.container_message,
        )
        self.batch.append((row, record))

    def _org(self, rel: bytes) -> str:
        folder = rel.rpartition(b"/")[0]
        org = self.orgs.get(folder)
        if org is None:
            if len(self.orgs) > 10_000:
                self.orgs.clear()
            org = self.orgs[folder] = P.org_of(rel, self.org_depth)
        return org

    def _flush(self) -> None:
        if not self.batch:
            return
        cat = self.catalog
        with cat.transaction():
            present = cat.present_paths(self.scan_id, [rec[1] for _, rec in self.batch])
            seen: set[bytes] = set()
            keep: list[tuple[_Row, tuple[Any, ...]]] = []
            for row, rec in self.batch:
                if rec[1] in present or rec[1] in seen:
                    self._skip(
                        "repeated path", row.line, f"{P.for_display(rec[1])} (first row kept)"
                    )
                    self._uncount(row, rec)
                    continue
                seen.add(rec[1])
                keep.append((row, rec))
            ids = self._ident_ids([row.ident for row, _ in keep if row.ident is not None])
            rows = []
            for row, rec in keep:
                ident_id = ids[_ident_key(row.ident)] if row.ident is not None else None
                rows.append((*rec[:10], ident_id, *rec[11:]))
            cat.insert_files(rows)
        self.batch.clear()

    def _uncount(self, row: _Row, rec: tuple[Any, ...]) -> None:
        """A repeated row was counted when taken; it is not imported after all."""
        kind = rec[5]
        self.counts["members" if kind == "member" else "files"] -= 1
        if row.container is not None:
            self.counts["containers"] -= 1
        if kind != "directory":
            self.counts["with_sha256" if row.sha256 else "without_sha256"] -= 1
            puid = (row.ident or {}).get("puid")
            self.counts["identified" if puid and puid != "UNKNOWN" else "unidentified"] -= 1

    def _ident_ids(self, idents: Sequence[dict[str, Any]]) -> dict[str, int]:
        """Identification row ids by key, adding the new ones (in the open transaction)."""
        wanted = {_ident_key(i): i for i in idents}
        new = [(key, "", ident) for key, ident in wanted.items() if key not in self.ident_ids]
        if new:
            if len(self.ident_ids) > IDENT_CACHE:
                self.ident_ids.clear()
            stored = self.catalog.add_identifications(new, self.sigkey)
            for (key, ext), (ident_id, _, _) in stored.items():
                if ext == "":
                    self.ident_ids[key] = ident_id
        return {key: self.ident_ids[key] for key in wanted}

    def _finish_containers(self) -> None:
        """Containers with no member in the profile were not expanded by the tool; members whose
        container is not in the profile are reported."""
        updates: list[tuple[str | None, str | None, bytes]] = []
        for path, (status, message) in self.containers.items():
            if status == "error":
                updates.append(("error", message or "the tool could not read its members", path))
            elif path not in self.with_members:
                updates.append(
                    (
                        "not_expanded",
                        "the profile lists no members (archive expansion was off, or it is empty)",
                        path,
                    )
                )
        unknown = self.with_members - set(self.containers)
        # Members of a file the profile did not type as a container: it is one after all.
        found = self.catalog.present_paths(self.scan_id, sorted(unknown)) if unknown else set()
        updates += [("expanded", None, path) for path in sorted(found)]
        orphans = unknown - found
        for parent in sorted(orphans)[:MAX_EXAMPLES]:
            self._warn("members without their container", 0, P.for_display(parent))
        if len(orphans) > MAX_EXAMPLES:
            self.warnings["members without their container"]["count"] = len(orphans)
        if updates:
            with self.catalog.transaction():
                self.catalog.update_containers(self.scan_id, updates)

    # -- bookkeeping -----------------------------------------------------------------------
    def _skip(self, reason: str, line: int, detail: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1
        self._warn(f"skipped: {reason}", line, detail)

    def _warn(self, reason: str, line: int, detail: str) -> None:
        entry = self.warnings.setdefault(reason, {"count": 0, "examples": []})
        entry["count"] += 1
        if len(entry["examples"]) < MAX_EXAMPLES:
            where = f"line {line}: " if line else ""
            entry["examples"].append(f"{where}{detail}")

    def _import_summary(self, root_note: str) -> dict[str, Any]:
        return {
            "format": self.fmt,
            "source": self.source.name,
            "root": root_note,
            **self.counts,
            "skipped": dict(self.skipped),
            "warnings": self.warnings,
        }

    def _summary(self, seconds: float, root_note: str) -> dict[str, Any]:
        counts = self.catalog.outcome_counts(self.scan_id)
        return {
            "outcomes": counts["outcome"],
            "outcome_bytes": counts["outcome_bytes"],
            "containers": counts["container"],
            "entries": counts.get("where", {}),
            "excluded": 0,
            "import": {**self._import_summary(root_note), "seconds": round(seconds, 3)},
        }


# -- DROID CSV ---------------------------------------------------------------------------------
_DROID_STATUS = {
    "done": ("ok", None),
    "empty": ("ok", None),
    "access denied": ("unreadable", "access denied (DROID)"),
    "not found": ("vanished", "not found (DROID)"),
    "error": ("io_error", "DROID could not read the file (status Error)"),
    "not done": ("io_error", "not processed by DROID (status 'Not done')"),
}
_DROID_METHOD = {
    "signature": "byte match (DROID signature)",
    "container": "container match (DROID)",
    "extension": "extension match (DROID)",
    "text": "text match",
}


class _DroidCsv:
    """A DROID 6 CSV export (also what ``sf -droid`` writes), streamed row by row."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def header(self) -> _Header:
        with self._open() as fh:
            head = next(csv.reader(fh), [])
        names = [h.strip().upper() for h in head]
        hash_col = next((h for h in names if h.endswith("HASH")), "")
        return _Header(
            tool="DROID (CSV export)",
            signature="DROID (the CSV export does not record DROID or signature versions)",
            hash=hash_col,
        )

    def _open(self) -> IO[str]:
        return open(self.path, encoding="utf-8-sig", errors="surrogateescape", newline="")

    def rows(self) -> Iterator[_Row]:
        with self._open() as fh:
            reader = csv.reader(fh)
            try:
                head = next(reader)
            except StopIteration:
                raise ImportFormatError(f"{self.path}: empty file") from None
            cols = self._columns(head)
            group: list[list[str]] = []
            group_line = 0
            try:
                for fields in reader:
                    if not any(f.strip() for f in fields):
                        continue
                    if group and fields[cols["ID"]] == group[0][cols["ID"]]:
                        group.append(fields)  # one row per format: the same ID again
                        continue
                    if group:
                        yield self._row(group, group_line, cols, len(head))
                    group, group_line = [fields], reader.line_num
                if group:
                    yield self._row(group, group_line, cols, len(head))
            except csv.Error as exc:
                raise ImportFormatError(f"{self.path} line {reader.line_num}: {exc}") from None

    def _columns(self, head: list[str]) -> dict[str, Any]:
        names = [h.strip().upper() for h in head]
        index = {n: i for i, n in reversed(list(enumerate(names)))}
        missing = [c for c in DROID_REQUIRED if c not in index]
        if "URI" not in index and "FILE_PATH" not in index:
            missing.append("URI or FILE_PATH")
        if missing:
            raise ImportFormatError(
                f"{self.path} line 1: missing required column(s) {', '.join(missing)} "
                f"(found: {', '.join(names)})"
            )
        cols: dict[str, Any] = dict(index)
        groups: dict[int, dict[str, int]] = {
            0: {c: index[c] for c in DROID_FORMAT_COLUMNS if c in index}
        }
        for i, name in enumerate(names):
            m = _NUMBERED_RE.match(name)
            if m:
                groups.setdefault(int(m.group(2)), {})[m.group(1)] = i
        cols["_groups"] = [groups[k] for k in sorted(groups)]
        cols["_hash"] = next((index[h] for h in HASH_COLUMNS if h in index), None)
        cols["_hash_name"] = next((h for h in HASH_COLUMNS if h in index), None)
        return cols

    def _row(self, group: list[list[str]], line: int, cols: dict[str, Any], width: int) -> _Row:
        first = group[0]

        def get(name: str) -> str:
            i = cols.get(name)
            return first[i] if i is not None and i < len(first) else ""

        typ = get("TYPE").strip().lower()
        uri, file_path = get("URI").strip(), get("FILE_PATH")
        full, member = self._path(uri, file_path, line)
        status_text = get("STATUS").strip()
        outcome, message = _DROID_STATUS.get(status_text.lower(), (None, None))
        if outcome is None:  # sf -droid writes the error text as the status
            outcome, message = _error_outcome(status_text)
        size = _int(get("SIZE"), self.path, line, "SIZE")
        if typ == "folder":  # inside a container too (DROID lists the folders of a ZIP)
            return _Row(line, full.rstrip("/") or "/", "folder", outcome=outcome, message=message)
        mtime = _mtime(get("LAST_MODIFIED"))
        sha = self._hash(first, cols, line)
        matches = self._matches(group, cols, width, line)
        method = _DROID_METHOD.get(get("METHOD").strip().lower())
        warning = []
        if get("METHOD").strip().lower() == "extension":
            warning.append("match on extension only")
        if get("EXTENSION_MISMATCH").strip().lower() == "true":
            warning.append("extension mismatch")
        ident = None
        if matches or outcome == "ok":
            ident = _ident(
                [
                    {
                        "ns": "pronom",
                        "id": m[0],
                        "format": m[2],
                        "version": m[3],
                        "mime": m[1],
                        "class": _pronom_class(m[0]),
                        "basis": method or "",
                        "warning": "; ".join(warning),
                    }
                    for m in matches
                ],
                None,
            )
        row = _Row(
            line,
            full,
            "member" if member else "file",
            size=size,
            mtime_ns=mtime,
            sha256=sha,
            outcome=outcome,
            message=message,
            ident=ident,
        )
        if typ == "container":
            row.container = "error" if status_text.lower() == "error" else "expanded"
            if row.container == "error":
                row.outcome, row.message = "ok", None  # the file was identified, its members not
        if row.outcome == "ok" and size == 0:
            row.outcome, row.message = "empty", "zero-length file"
        return row

    def _path(self, uri: str, file_path: str, line: int) -> tuple[str, bool]:
        """(full path with "!/" between container levels, is a member)."""
        m = _URI_RE.match(uri) if uri else None
        levels = m.group(1).count(":") if m else (1 if "!/" in file_path else 0)
        member = levels > 0
        if file_path and (not member or "!/" in file_path):
            return _norm(file_path), member
        if m is None:
            raise ImportFormatError(
                f"{self.path} line {line}: neither a FILE_PATH nor a file: URI ({uri!r})"
            )
        pieces = m.group(2).split("!/")
        if member and len(pieces) == 1:  # the separator percent-encoded
            pieces = re.split(r"%21/", m.group(2), flags=re.IGNORECASE)
        outer = _norm(_file_uri_path(unquote(pieces[0], errors="surrogateescape")))
        inner = [unquote(p, errors="surrogateescape") for p in pieces[1:]]
        return "!/".join([outer, *inner]), member

    def _hash(self, fields: list[str], cols: dict[str, Any], line: int) -> str | None:
        i: int | None = cols["_hash"]
        if i is None or i >= len(fields) or not fields[i].strip():
            return None
        value = fields[i].strip()
        name = cols["_hash_name"]
        if name == "SHA256_HASH" or (name == "HASH" and len(value) == 64):
            if not _SHA256_RE.match(value):
                raise ImportFormatError(
                    f"{self.path} line {line}: {name} {value!r} is not a SHA-256 (64 hex digits)"
                )
            return value.lower()
        return None  # MD5, SHA-1 or SHA-512: not what the catalog keeps

    def _matches(
        self, group: list[list[str]], cols: dict[str, Any], width: int, line: int
    ) -> list[tuple[str, str, str, str]]:
        """(PUID, MIME, name, version) of every format a row (or its repeated rows) lists."""
        out: list[tuple[str, str, str, str]] = []
        for fields in group:
            found = []
            for g in cols["_groups"]:
                found.append(tuple(_at(fields, g.get(c)) for c in DROID_FORMAT_COLUMNS))
            extra = fields[width:]  # DROID before 6.7: further formats in columns with no header
            for start in range(0, len(extra) - len(extra) % 4, 4):
                found.append(tuple(extra[start : start + 4]))
            for f in found:
                puid = f[0].strip()
                if puid and f not in out:
                    out.append((puid, f[1], f[2], f[3]))
        return out


# -- Siegfried ---------------------------------------------------------------------------------
class _Siegfried:
    """Output of ``sf -json``, ``-yaml`` or ``-csv``; members of archives (``sf -z``) are named
    ``archive.zip#member`` and follow their archive."""

    def __init__(self, path: Path, fmt: str) -> None:
        self.path = path
        self.fmt = fmt

    def header(self) -> _Header:
        found: _Header | None = None
        for head, rec in self._records():
            found = head
            if rec is not None:  # the checksum's name is only in the file records
                head.hash = head.hash or next((k for k in _SF_HASHES if k in rec), "")
                break
        if found is None:
            raise ImportFormatError(f"{self.path}: no Siegfried header")
        return found

    def rows(self) -> Iterator[_Row]:
        containers: dict[str, str] = {}  # sf path -> our full path (archives seen so far)
        last_file: tuple[str, str] | None = None
        pronom_ns: str | None = None
        for head, rec in self._records():
            if rec is None:
                continue
            if pronom_ns is None:
                pronom_ns = _pronom_namespace(head, rec)
            line = int(rec.get("_line", 0))
            name = str(rec.get("filename", ""))
            windows = bool(_WINDOWS_RE.match(name))
            full, member_of = name, None
            if "#" in name:
                # Members follow their archive: one of a format not in our list still counts.
                if last_file is not None and name.startswith(last_file[0] + "#"):
                    containers.setdefault(last_file[0], last_file[1])
                cut = len(name)
                while (cut := name.rfind("#", 0, cut)) > 0:
                    if name[:cut] in containers:
                        inner = name[cut + 1 :]
                        if windows:
                            inner = inner.replace("\\", "/")
                        member_of = containers[name[:cut]]
                        full = member_of + "!/" + inner
                        break
            if member_of is None:
                full = _norm(name)
            row = _sf_row(rec, line, full, member_of is not None, pronom_ns, self.path)
            if member_of is not None and full == member_of + "!/":
                row.kind, row.full = "container_error", member_of
            if row.kind in ("file", "member"):
                puid = (row.ident or {}).get("puid")
                if puid in SF_ARCHIVE_PUIDS:
                    containers[name] = full
                    row.container = "expanded"
                    if row.outcome in ("identify_error",) and _decompress_error(row.message):
                        row.container, row.container_message = "error", row.message
                        row.outcome, row.message = "ok", None
                if row.kind == "file":
                    last_file = (name, full)
            if len(containers) > 1_000_000:  # pathological: keep memory bounded
                containers.clear()
            yield row

    def _records(self) -> Iterator[tuple[_Header, dict[str, Any] | None]]:
        reader = {"sf-json": _sf_json, "sf-yaml": _sf_yaml, "sf-csv": _sf_csv}[self.fmt]
        yield from reader(self.path)


def _sf_row(
    rec: dict[str, Any], line: int, full: str, member: bool, pronom_ns: str, path: Path
) -> _Row:
    size_value = rec.get("filesize")
    try:
        size = int(size_value) if size_value not in (None, "") else None
    except (TypeError, ValueError):
        raise ImportFormatError(
            f"{path} line {line}: filesize {size_value!r} is not a number"
        ) from None
    errors = str(rec.get("errors") or "")
    if size is not None and size < 0:
        return _Row(line, full.rstrip("/"), "folder")
    matches = [m for m in rec.get("matches") or [] if isinstance(m, dict)]
    sha = rec.get("sha256")
    if sha:
        if not _SHA256_RE.match(str(sha)):
            raise ImportFormatError(f"{path} line {line}: sha256 {sha!r} is not 64 hex digits")
        sha = str(sha).lower()
    row = _Row(line, full, "member" if member else "file", size=size, sha256=sha or None)
    row.mtime_ns = _mtime(str(rec.get("modified") or ""))
    pronom = [m for m in matches if m.get("ns") == pronom_ns]
    if errors:
        outcome, _ = _error_outcome(errors)
        if outcome == "io_error" and matches:
            outcome = "identify_error"  # read, but Siegfried reports an error (as a scan does)
        row.outcome, row.message = outcome, errors
    if matches:
        row.ident = _ident(pronom, errors or None, every=matches)
    if size == 0 and row.outcome in ("ok", "identify_error"):
        row.outcome, row.message = "empty", "zero-length file"
    return row


def _pronom_namespace(head: _Header, rec: dict[str, Any]) -> str:
    """The identifier whose answers are PRONOM's: 'pronom', else one built from DROID signature
    files, else the first; sf -csv has no header, so its first record's namespaces decide."""
    names = [i.get("name", "") for i in head.identifiers]
    if "pronom" in names:
        return "pronom"
    for ident in head.identifiers:
        if "droid" in ident.get("details", "").lower():
            return ident.get("name", "")
    if names:
        return names[0]
    found = [str(m.get("ns")) for m in rec.get("matches") or [] if isinstance(m, dict)]
    return "pronom" if "pronom" in found or not found else found[0]


def _sf_json(path: Path) -> Iterator[tuple[_Header, dict[str, Any] | None]]:
    import ijson  # type: ignore[import-untyped]

    head = _Header(tool="siegfried")
    idents: dict[str, str] = {}
    with open(path, "rb") as fh:
        events = ijson.parse(fh)
        try:
            for prefix, event, value in events:
                if prefix in ("siegfried", "scandate", "signature", "created") and event in (
                    "string",
                    "number",
                ):
                    setattr(head, prefix, str(value))
                elif prefix == "identifiers.item" and event == "end_map":
                    head.identifiers.append(dict(idents))
                    idents = {}
                elif prefix.startswith("identifiers.item.") and event == "string":
                    idents[prefix.rsplit(".", 1)[1]] = value
                elif prefix == "files" and event == "start_array":
                    break
            head.tool = f"siegfried {head.siegfried}".strip()
            yield head, None
            for n, rec in enumerate(ijson.items(events, "files.item"), 1):
                rec["_line"] = n  # JSON has no useful line numbers: the record number
                yield head, rec
        except ijson.JSONError as exc:
            raise ImportFormatError(f"{path}: not valid JSON: {_one_line(str(exc))}") from None


def _sf_yaml(path: Path) -> Iterator[tuple[_Header, dict[str, Any] | None]]:
    """sf's YAML, read line by line (its layout is fixed; a YAML library is 10-100x slower and
    folds the line breaks that sf writes raw inside quoted file names)."""
    head = _Header(tool="siegfried")
    doc: dict[str, Any] | None = None
    doc_line = 0
    docs = 0
    items: list[dict[str, Any]] | None = None
    with open(path, encoding="utf-8-sig", errors="surrogateescape", newline="") as fh:
        lines = iter(enumerate(fh, 1))
        for n, raw in lines:
            text = raw.rstrip("\r\n")
            if text.rstrip() == "---":
                if doc is not None:
                    docs += 1
                    if docs == 1:
                        _yaml_header(head, doc, path)
                        yield head, None
                    else:
                        yield head, doc
                doc, doc_line, items = {"_line": n}, n, None
                continue
            if not text.strip():
                continue
            m = _YAML_LINE_RE.match(text)
            if doc is None or m is None:
                raise ImportFormatError(f"{path} line {n}: not Siegfried YAML: {text[:80]!r}")
            indent, dash, key, value = len(m.group(1)), m.group(2), m.group(3), m.group(4) or ""
            value = value.strip() if not value.lstrip().startswith("'") else value.lstrip()
            if value.startswith("'"):
                value, n = _yaml_quoted(value, lines, path, n)
            if indent == 0 and not dash:
                doc[key] = value
                if value == "" and key in ("identifiers", "matches"):
                    items = doc[key] = []
                continue
            if items is None:
                raise ImportFormatError(f"{path} line {n}: list item outside a list: {text[:80]!r}")
            if dash:
                items.append({})
            if not items:
                raise ImportFormatError(f"{path} line {n}: field before a list item: {text!r}")
            items[-1][key] = value
        if doc is not None:
            docs += 1
            if docs == 1:
                _yaml_header(head, doc, path)
                yield head, None
            else:
                yield head, doc
    if docs == 0:
        raise ImportFormatError(f"{path}: no YAML documents (doc at line {doc_line})")


def _yaml_header(head: _Header, doc: dict[str, Any], path: Path) -> None:
    if "siegfried" not in doc:
        raise ImportFormatError(f"{path} line {doc.get('_line')}: no Siegfried header document")
    head.siegfried = str(doc.get("siegfried", ""))
    head.scandate = str(doc.get("scandate", ""))
    head.signature = str(doc.get("signature", ""))
    head.created = str(doc.get("created", ""))
    idents = doc.get("identifiers")
    head.identifiers = [dict(i) for i in idents] if isinstance(idents, list) else []
    head.tool = f"siegfried {head.siegfried}".strip()


def _yaml_quoted(
    value: str, lines: Iterator[tuple[int, str]], path: Path, n: int
) -> tuple[str, int]:
    """A single-quoted value ('' is a quote); sf writes line breaks in names raw."""
    out: list[str] = []
    text = value[1:]
    while True:
        i = 0
        while i < len(text):
            ch = text[i]
            if ch == "'":
                if text[i + 1 : i + 2] == "'":
                    out.append("'")
                    i += 2
                    continue
                return "".join(out), n
            out.append(ch)
            i += 1
        nxt = next(lines, None)
        if nxt is None:
            raise ImportFormatError(f"{path} line {n}: unterminated quoted value")
        n, raw = nxt
        out.append("\n")
        text = raw.rstrip("\r\n")


def _sf_csv(path: Path) -> Iterator[tuple[_Header, dict[str, Any] | None]]:
    head = _Header(tool="siegfried (sf -csv: no version recorded)")
    with open(path, encoding="utf-8-sig", errors="surrogateescape", newline="") as fh:
        reader = csv.reader(fh)
        names = next(reader, [])
        fixed = 4
        if len(names) > 4 and names[4] != "namespace":
            head.hash, fixed = names[4], 5
        groups: list[list[str]] = []
        for name in names[fixed:]:
            if name == "namespace" or not groups:
                groups.append([])
            groups[-1].append("ns" if name == "namespace" else name)
        yield head, None
        rec: dict[str, Any] | None = None
        key: list[str] = []
        try:
            for fields in reader:
                if not fields:
                    continue
                if len(fields) < fixed:
                    raise ImportFormatError(
                        f"{path} line {reader.line_num}: {len(fields)} fields, expected at "
                        f"least {fixed}"
                    )
                if rec is not None and fields[:fixed] == key:
                    rec["matches"] += _csv_matches(fields[fixed:], groups)
                    continue
                if rec is not None:
                    yield head, rec
                key = fields[:fixed]
                rec = {
                    "_line": reader.line_num,
                    "filename": fields[0],
                    "filesize": fields[1],
                    "modified": fields[2],
                    "errors": fields[3],
                    "matches": _csv_matches(fields[fixed:], groups),
                }
                if head.hash:
                    rec[head.hash] = fields[4]
            if rec is not None:
                yield head, rec
        except csv.Error as exc:
            raise ImportFormatError(f"{path} line {reader.line_num}: {exc}") from None


def _csv_matches(values: list[str], groups: list[list[str]]) -> list[dict[str, str]]:
    out = []
    start = 0
    for names in groups:
        cells = values[start : start + len(names)]
        start += len(names)
        if cells and cells[0]:
            out.append(dict(zip(names, cells, strict=False)))
    return out


# -- helpers -----------------------------------------------------------------------------------
_MATCH_KEYS = ("ns", "id", "format", "version", "mime", "class", "basis", "warning")


def _match(m: dict[str, Any]) -> dict[str, str]:
    out = {k: str(m.get(k) or "") for k in _MATCH_KEYS}
    out.update({k: str(v) for k, v in m.items() if k not in _MATCH_KEYS})
    return out


def _ident(
    pronom: list[dict[str, Any]], errors: str | None, every: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """The catalog's identification fields from the PRONOM matches (none: UNKNOWN, as Siegfried
    says); every match of every identifier is kept (``matches``) when there are several."""
    matches = [_match(m) for m in (pronom if every is None else every)]
    first = _match(pronom[0]) if pronom else {"id": "UNKNOWN", "warning": "no match"}
    puid = first.get("id") or "UNKNOWN"
    return {
        "puid": puid,
        "format": first.get("format") or None,
        "version": first.get("version") or None,
        "mime": first.get("mime") or None,
        "class": first.get("class") or _pronom_class(puid) or None,
        "basis": first.get("basis") or None,
        "warning": first.get("warning") or None,
        "errors": errors or None,
        "match_count": max(1, len(pronom)),
        "matches": json.dumps(matches, ensure_ascii=False) if len(matches) > 1 else None,
    }


def _ident_key(ident: dict[str, Any] | None) -> str:
    text = json.dumps(ident, sort_keys=True, ensure_ascii=True)
    return "ident:" + hashlib.sha256(text.encode("ascii")).hexdigest()


def _pronom_class(puid: str) -> str:
    fmt = pronom_formats().get(puid)
    return fmt.klass if fmt else ""


def _error_outcome(text: str) -> tuple[str, str | None]:
    """A scan outcome for a tool's error text."""
    low = text.lower()
    if "only regular files can be scanned" in low:
        return ("symlink" if "symlink" in low else "special"), text
    if "permission denied" in low or "user read permissions" in low or "access denied" in low:
        return "unreadable", text
    if "no such file" in low or "not found" in low:
        return "vanished", text
    return "io_error", text or None


def _decompress_error(message: str | None) -> bool:
    return bool(message) and "decompress" in (message or "").lower()


def _int(value: str, path: Path, line: int, column: str) -> int | None:
    value = value.strip()
    if not value:
        return None
    try:
        n = int(value)
    except ValueError:
        raise ImportFormatError(f"{path} line {line}: {column} {value!r} is not a number") from None
    if n < 0:
        raise ImportFormatError(f"{path} line {line}: {column} {value!r} is negative")
    return n


def _mtime(text: str) -> int | None:
    """Nanoseconds since the epoch; a time without a zone (DROID) is read as UTC."""
    text = text.strip()
    if not text or text.startswith("0001-01-01"):
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp()) * 1_000_000_000 + when.microsecond * 1000


def _at(fields: list[str], index: int | None) -> str:
    return fields[index] if index is not None and index < len(fields) else ""


def _norm(path: str) -> str:
    """Windows paths (``C:\\x``, ``\\\\server\\share``) with forward slashes; no trailing slash."""
    if _WINDOWS_RE.match(path):
        path = path.replace("\\", "/")
    return path.rstrip("/") if len(path) > 1 else path


def _clean_root(root: str) -> str:
    root = _norm(root.strip())
    return root or "."


def _file_uri_path(ssp: str) -> str:
    """The path of a ``file:`` URI's remainder: ``/x``, ``///x``, ``//x`` (sf) -> ``/x``;
    ``////server/share`` -> ``//server/share``; ``/C:/x`` -> ``C:/x``."""
    stripped = ssp.lstrip("/")
    slashes = len(ssp) - len(stripped)
    if slashes >= 4:
        return "//" + stripped
    if re.match(r"^[A-Za-z]:/", stripped):
        return stripped
    return "/" + stripped if slashes else stripped


def _signature_text(head: _Header) -> str:
    if head.identifiers:
        details = "; ".join(i.get("details", "") for i in head.identifiers if i.get("details"))
        return f"{head.signature} ({details})" if details else head.signature
    return head.signature or head.tool


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _b(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


def _one_line(text: str) -> str:
    return " ".join(text.split())[:300]
