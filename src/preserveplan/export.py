"""Per-file records of a scan as JSON lines, CSV, DROID-compatible CSV or Parquet.

Rows are streamed from the catalog (memory stays flat for millions of files) and written to a
temporary file that is renamed into place only when complete.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from . import paths as P
from .catalog import Catalog
from .rules.model import also_text

FORMATS = ("jsonl", "csv", "droid-csv", "parquet")

# The stable per-file record (public interface: scripts read these names).
FIELDS = (
    "path",
    "parent",
    "kind",
    "size",
    "mtime",
    "sha256",
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
    "org",
    "ext",
    "outcome",
    "message",
    "container",
    "container_message",
    "path_b64",
    # from the scan's newest assessment (empty until `preserveplan assess` has run)
    "status",
    "risk",
    "rule",
    "action",
    "finding",
    # information packages (a folder with METS.xml): the package folder, its id (METS OBJID or
    # the folder's name) and the file's fixity verdict against the METS (empty outside packages)
    "package",
    "package_id",
    "fixity",
)

DROID_FIELDS = (
    "ID",
    "PARENT_ID",
    "URI",
    "FILE_PATH",
    "NAME",
    "METHOD",
    "STATUS",
    "SIZE",
    "TYPE",
    "EXT",
    "LAST_MODIFIED",
    "EXTENSION_MISMATCH",
    "SHA256_HASH",
    "FORMAT_COUNT",
    "PUID",
    "MIME_TYPE",
    "FORMAT_NAME",
    "FORMAT_VERSION",
)


def iso_mtime(mtime_ns: int | None) -> str | None:
    if mtime_ns is None:
        return None
    return datetime.fromtimestamp(mtime_ns / 1e9, UTC).isoformat(timespec="seconds")


def _matches(row: dict[str, Any]) -> list[dict[str, Any]]:
    """Every Siegfried match: stored as JSON when there were several, else rebuilt from the
    first match's columns."""
    if row["matches"]:
        return list(json.loads(row["matches"]))
    if not row["match_count"]:
        return []
    return [
        {
            "ns": "pronom",
            "id": row["puid"] or "",
            "format": row["format"] or "",
            "version": row["version"] or "",
            "mime": row["mime"] or "",
            "class": row["class"] or "",
            "basis": row["basis"] or "",
            "warning": row["warning"] or "",
        }
    ]


def _actions(catalog: Catalog, assessment_id: int | None) -> dict[str, str]:
    """rule id -> 'tool -> target (PUID)' for the rules of an assessment's policy."""
    if assessment_id is None:
        return {}
    policy = catalog.assessment(assessment_id)["policy"]
    out = {}
    for rule in policy["rules"]:
        act = rule.get("action")
        if act:
            keep = "" if act.get("keep_original", True) else ", original not kept"
            main = f"{act['tool']} -> {act['target']} ({act['target_puid']})"
            out[rule["id"]] = f"{main}{also_text(act)}{keep}"
    return out


def records(catalog: Catalog, scan_id: int) -> Iterator[dict[str, Any]]:
    """The stable per-file records of a scan, in path order."""
    assessment_id = catalog.last_assessment(scan_id)
    actions = _actions(catalog, assessment_id)
    package_ids = catalog.package_ids(scan_id)
    for row in catalog.iter_files(scan_id, assessment_id):
        path: bytes = row["path"]
        parent: bytes | None = row["parent"]
        yield {
            "path": P.to_text(path),
            "parent": P.to_text(parent) if parent is not None else None,
            "kind": row["kind"],
            "size": row["size"],
            "mtime": iso_mtime(row["mtime_ns"]),
            "sha256": row["sha256"],
            "puid": row["puid"],
            "format": row["format"],
            "version": row["version"],
            "mime": row["mime"],
            "class": row["class"],
            "basis": row["basis"],
            "warning": row["warning"],
            "errors": row["errors"],
            "match_count": row["match_count"],
            "matches": _matches(row),
            "org": row["org"],
            "ext": row["ext"],
            "outcome": row["outcome"],
            "message": row["message"],
            "container": row["container"],
            "container_message": row["container_message"],
            # Present only when the name is not valid UTF-8: the exact bytes, base64.
            "path_b64": None if P.is_clean_utf8(path) else P.b64(path),
            "status": row["status"],
            "risk": row["risk"],
            "rule": row["rule"],
            "action": actions.get(row["rule"] or "") if row["status"] == "migrate" else None,
            "finding": row["finding"],
            "package": P.to_text(row["package"]) if row["package"] is not None else None,
            "package_id": package_ids.get(row["package"]) if row["package"] is not None else None,
            "fixity": row["fixity"],
        }


def export(catalog: Catalog, scan_id: int, fmt: str, output: str | os.PathLike[str] | None) -> int:
    """Write a scan's records to ``output`` (``-`` or None: standard output). Returns row count."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if fmt == "parquet":
        if output in (None, "-"):
            raise ValueError("parquet needs an output file (-o FILE)")
        assert output is not None
        with atomic_path(output) as tmp:
            return _parquet(catalog, scan_id, tmp)
    writer = {"jsonl": _jsonl, "csv": _csv, "droid-csv": _droid}[fmt]
    if output in (None, "-"):
        import sys

        return writer(catalog, scan_id, sys.stdout)
    assert output is not None
    with atomic_path(output) as tmp, open(tmp, "w", encoding="utf-8", newline="") as fh:
        return writer(catalog, scan_id, fh)


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[str]:
    """A temporary path beside ``target``, renamed onto it only if the block succeeds."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        yield tmp
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _jsonl(catalog: Catalog, scan_id: int, fh: IO[str]) -> int:
    n = 0
    for rec in records(catalog, scan_id):
        # ensure_ascii keeps undecodable bytes (lone surrogates) as valid JSON escapes
        fh.write(json.dumps(rec, ensure_ascii=True) + "\n")
        n += 1
    return n


def _csv_text(value: Any) -> Any:
    if isinstance(value, str):
        return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return value


def _csv(catalog: Catalog, scan_id: int, fh: IO[str]) -> int:
    out = csv.writer(fh)
    out.writerow(FIELDS)
    n = 0
    for rec in records(catalog, scan_id):
        rec["matches"] = json.dumps(rec["matches"], ensure_ascii=False)
        out.writerow([_csv_text(rec[f]) for f in FIELDS])
        n += 1
    return n


def _droid_method(basis: str | None) -> str:
    if not basis:
        return ""
    if "container" in basis:
        return "Container"
    if "byte match" in basis or "text match" in basis or "xml match" in basis:
        return "Signature"
    if "extension match" in basis:
        return "Extension"
    return ""


_DROID_STATUS = {
    "ok": "Done",
    "empty": "Done",
    "identify_error": "Done",
    "changed": "Done",
    "encrypted": "Done",
    "unreadable": "Access denied",
    "vanished": "Not found",
}

_URI_SCHEMES = {"zip": "zip", "jar": "zip", "tar": "tar", "gz": "gzip", "tgz": "gzip"}


def _droid(catalog: Catalog, scan_id: int, fh: IO[str]) -> int:
    """DROID 6 CSV layout (one row per file, SHA-256 hash column) so DROID tools can read it."""
    root = catalog.scan(scan_id).root.rstrip("/")
    out = csv.writer(fh, quoting=csv.QUOTE_ALL)
    out.writerow(DROID_FIELDS)
    ids: dict[str, int] = {}
    n = 0
    for rec in records(catalog, scan_id):
        n += 1
        path = _csv_text(rec["path"])
        parent = _csv_text(rec["parent"]) if rec["parent"] else None
        if rec["container"] is not None:
            ids[path] = n
        full = f"{root}/{path}"
        if parent is None:
            uri = Path(full).as_uri() if full.startswith("/") else full
        else:
            scheme = _URI_SCHEMES.get(parent.rsplit(".", 1)[-1].lower(), "archive")
            uri = f"{scheme}:{Path(f'{root}/{parent}').as_uri()}!/{path[len(parent) + 2 :]}"
        name = path.rsplit("!/", 1)[-1].rsplit("/", 1)[-1]
        warning = rec["warning"] or ""
        out.writerow(
            [
                n,
                ids.get(parent, "") if parent else "",
                uri,
                full,
                name,
                _droid_method(rec["basis"]),
                _DROID_STATUS.get(rec["outcome"], "Done" if rec["sha256"] else "Not done"),
                rec["size"] if rec["size"] is not None else "",
                "Container" if rec["container"] is not None else "File",
                rec["ext"] or "",
                (rec["mtime"] or "").replace("+00:00", ""),
                "true" if "extension mismatch" in warning else "false",
                rec["sha256"] or "",
                rec["match_count"] or 0,
                rec["puid"] if rec["puid"] and rec["puid"] != "UNKNOWN" else "",
                rec["mime"] or "",
                rec["format"] or "",
                rec["version"] or "",
            ]
        )
    return n


def _parquet(catalog: Catalog, scan_id: int, target: str) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema(
        [(f, pa.int64() if f in ("size", "match_count") else pa.string()) for f in FIELDS]
    )
    n = 0
    with pq.ParquetWriter(target, schema) as writer:
        batch: list[dict[str, Any]] = []
        for rec in records(catalog, scan_id):
            rec["matches"] = json.dumps(rec["matches"], ensure_ascii=False)
            batch.append({f: _csv_text(rec[f]) for f in FIELDS})
            if len(batch) >= 10_000:
                writer.write_table(pa.Table.from_pylist(batch, schema))
                n += len(batch)
                batch = []
        if batch or n == 0:
            writer.write_table(pa.Table.from_pylist(batch, schema))
            n += len(batch)
    return n
