"""The command line, through click's CliRunner: every command, its outputs and exit codes."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from util import pdf_bytes, png_bytes

from preserveplan import Catalog
from preserveplan.cli import main
from preserveplan.export import DROID_FIELDS, FIELDS


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    root = tmp_path / "e-arkiv"
    for org in ("Borlänge", "Falun"):
        (root / org / "Protokoll").mkdir(parents=True)
        (root / org / "Protokoll" / "KS 2019-03-12.pdf").write_bytes(pdf_bytes(org))
        (root / org / "bild.png").write_bytes(png_bytes(seed=len(org)))
    (root / "Falun" / "tom.txt").write_bytes(b"")
    return root


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_help_everywhere() -> None:
    code, out, _ = invoke("--help")
    assert code == 0
    for command in (
        "scan",
        "scans",
        "formats",
        "export",
        "diff",
        "run",
        "assess",
        "override",
        "overrides",
        "plan",
        "report",
        "validate",
        "rules",
    ):
        assert command in out
        code, out_cmd, _ = invoke(command, "--help")
        assert code == 0 and "Usage" in out_cmd


def test_version_names_engine_and_signatures() -> None:
    code, out, _ = invoke("--version")
    assert code == 0
    assert "preserveplan" in out and "pygfried" in out and "siegfried" in out
    assert "DROID_SignatureFile" in out


def test_scan_formats_export_diff(archive: Path, tmp_path: Path) -> None:
    db = str(tmp_path / "c.db")
    code, out, _ = invoke("scan", "-q", "--db", db, "--label", "årsinventering", str(archive))
    assert code == 0, out
    assert "scan 1" in out and "outcomes" in out

    code, out, _ = invoke("scans", "--db", db, "--json")
    scans = json.loads(out)
    assert scans[0]["status"] == "complete" and scans[0]["label"] == "årsinventering"
    assert scans[0]["siegfried_version"] and "DROID" in scans[0]["signature"]

    code, out, _ = invoke("formats", "--db", db, "--json")
    profile = {r["puid"]: r for r in json.loads(out)["formats"]}
    assert profile["fmt/18"]["files"] == 2
    code, out, _ = invoke("formats", "--db", db, "--by", "org", "--csv")
    by_org = list(csv.DictReader(io.StringIO(out)))
    assert {r["org"] for r in by_org} == {"Borlänge", "Falun"}

    code, out, _ = invoke("export", "--db", db, "--format", "jsonl")
    recs = [json.loads(line) for line in out.splitlines()]
    assert len(recs) == 5
    for field in (
        "path",
        "parent",
        "size",
        "sha256",
        "puid",
        "format",
        "version",
        "mime",
        "basis",
        "warning",
        "org",
        "outcome",
    ):
        assert field in recs[0]
    assert {r["outcome"] for r in recs} == {"ok", "empty"}

    out_csv = tmp_path / "x.csv"
    assert invoke("export", "--db", db, "--format", "csv", "-o", str(out_csv))[0] == 0
    with open(out_csv, newline="") as fh:
        assert tuple(next(csv.reader(fh))) == FIELDS
    droid = tmp_path / "droid.csv"
    assert invoke("export", "--db", db, "--format", "droid-csv", "-o", str(droid))[0] == 0
    with open(droid, newline="") as fh:
        reader = csv.DictReader(fh)
        assert tuple(reader.fieldnames or ()) == DROID_FIELDS
        pdf = [r for r in reader if r["NAME"] == "KS 2019-03-12.pdf"]
    assert pdf[0]["PUID"] == "fmt/18" and pdf[0]["METHOD"] == "Signature"
    assert pdf[0]["URI"].startswith("file:///")
    parquet = tmp_path / "x.parquet"
    assert invoke("export", "--db", db, "--format", "parquet", "-o", str(parquet))[0] == 0
    table = pq.read_table(parquet)
    assert table.num_rows == 5 and "sha256" in table.column_names

    (archive / "Falun" / "ny.pdf").write_bytes(pdf_bytes("ny"))
    assert invoke("scan", "-q", "--db", db, str(archive))[0] == 0
    code, out, _ = invoke("diff", "1", "2", "--db", db, "--json")
    changes = [json.loads(line) for line in out.splitlines()]
    assert changes == [
        {
            "change": "added",
            "path": "Falun/ny.pdf",
            "old_path": None,
            "sha256": changes[0]["sha256"],
            "puid_before": None,
            "puid_after": "fmt/18",
        }
    ]


def test_run_writes_inventory_and_says_where(archive: Path, tmp_path: Path) -> None:
    db = str(tmp_path / "c.db")
    out_dir = tmp_path / "rapporter"
    code, out, _ = invoke("run", "-q", "--db", db, "--reports", str(out_dir), str(archive))
    assert code == 0
    assert "fmt/18" in out
    assert str(out_dir.resolve()) in out
    assert (out_dir / "scan-1-droid.csv").exists()
    assert (out_dir / "scan-1-formats.csv").exists()
    assert len((out_dir / "scan-1-inventory.jsonl").read_text().splitlines()) == 5
    reports = sorted(p.name for p in out_dir.glob("*.html"))
    assert [r.split("-")[0] for r in reports] == ["management", "specialist"]
    for name in reports:
        assert str((out_dir / name).resolve()) in out
    assert "Bevarandeplanering" in (out_dir / reports[0]).read_text()


def test_run_migrate_needs_out(archive: Path, tmp_path: Path) -> None:
    code, _, err = invoke("run", "-q", "--db", str(tmp_path / "c.db"), "--migrate", str(archive))
    assert code == 2 and "--migrate needs --out" in err


def test_missing_root_is_a_clear_error(tmp_path: Path) -> None:
    code, _, err = invoke("scan", "-q", "--db", str(tmp_path / "c.db"), str(tmp_path / "nej"))
    assert code == 2
    assert "archive root not found" in err and "Traceback" not in err


def test_locked_catalog_is_a_clear_error(archive: Path, tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    with Catalog(db) as holder:
        holder.lock()
        code, _, err = invoke("scan", "-q", "--db", str(db), str(archive))
    assert code == 4
    assert "in use by another preserveplan process" in err


def test_unknown_scan_and_missing_catalog(tmp_path: Path) -> None:
    code, _, err = invoke("formats", "--db", str(tmp_path / "none.db"))
    assert code == 3 and "no catalog" in err
    db = tmp_path / "c.db"
    Catalog(db).close()
    code, _, err = invoke("export", "--db", str(db), "--scan", "7")
    assert code == 2 and "no scan with id 7" in err


def test_db_from_environment(
    archive: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PRESERVEPLAN_DB", str(tmp_path / "env.db"))
    assert invoke("scan", "-q", str(archive))[0] == 0
    assert (tmp_path / "env.db").exists()
