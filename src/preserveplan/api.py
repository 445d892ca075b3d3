"""The Python API. Everything the CLI does is available here first.

>>> import preserveplan
>>> [result] = preserveplan.scan("archive/", db="preserveplan.db")
>>> with preserveplan.Catalog("preserveplan.db") as cat:
...     cat.format_profile(result.scan_id)
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

from .catalog import Catalog
from .export import atomic_path, export
from .inventory.scan import ScanResult, scan

__all__ = ["Catalog", "ScanResult", "export", "scan", "write_inventory", "write_reports"]


def write_reports(
    catalog: Catalog, scan_id: int, out_dir: str | os.PathLike[str]
) -> dict[str, str]:
    """Write the specialist report (English) and the management report (Swedish)."""
    from datetime import date

    from .report import write_report

    out = Path(out_dir)
    stem = f"{scan_id}-{date.today().isoformat()}"
    return {
        "Specialist report (HTML)": str(
            write_report(catalog, "specialist", scan_id, "en", out / f"specialist-{stem}.html")
        ),
        "Management report (HTML, sv)": str(
            write_report(catalog, "management", scan_id, "sv", out / f"management-{stem}.html")
        ),
    }


def write_inventory(
    catalog: Catalog, scan_id: int, out_dir: str | os.PathLike[str]
) -> dict[str, str]:
    """Write a scan's format profile (CSV) and per-file inventory (DROID CSV, JSON lines)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stem = f"scan-{scan_id}"
    written = {
        "Format profile (CSV)": str(out / f"{stem}-formats.csv"),
        "Inventory (JSON lines)": str(out / f"{stem}-inventory.jsonl"),
        "Inventory (DROID CSV)": str(out / f"{stem}-droid.csv"),
    }
    rows = catalog.format_profile(scan_id, by_org=True)
    with atomic_path(written["Format profile (CSV)"]) as tmp, open(tmp, "w", newline="") as fh:
        fields = list(rows[0]) if rows else ["org", "puid", "name", "files", "bytes"]
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    export(catalog, scan_id, "jsonl", written["Inventory (JSON lines)"])
    export(catalog, scan_id, "droid-csv", written["Inventory (DROID CSV)"])
    return written
