"""Assess: every file gets exactly one outcome; dry runs, overrides and exports."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import libarchive
import pytest
from click.testing import CliRunner
from util import pdf_bytes, png_bytes

from preserveplan import Catalog, scan
from preserveplan.catalog import MIGRATIONS
from preserveplan.cli import main
from preserveplan.export import records
from preserveplan.rules import load_ruleset
from preserveplan.rules.assess import assess

MINI = Path(__file__).parent / "data" / "mini-rules.yaml"


@pytest.fixture
def scanned(tmp_path: Path) -> tuple[Path, Path]:
    root = tmp_path / "arkiv"
    (root / "Falun").mkdir(parents=True)
    (root / "Säter").mkdir()
    (root / "Falun" / "a.pdf").write_bytes(pdf_bytes("a"))
    (root / "Falun" / "b.png").write_bytes(png_bytes())
    (root / "Falun" / "note.txt").write_text("hej\n")
    (root / "Säter" / "tom.pdf").write_bytes(b"")
    (root / "Säter" / "bild.jpg").write_bytes(png_bytes(seed=3))  # a PNG named .jpg
    (root / "Säter" / "okänd").write_bytes(bytes(range(256)) * 7)
    with libarchive.file_writer(
        str(root / "Säter" / "låst.zip"), "zip", options="encryption=zipcrypt", passphrase="x"
    ) as archive:
        archive.add_file_from_memory("hemlig.pdf", len(pdf_bytes("h")), pdf_bytes("h"))
    db = tmp_path / "c.db"
    scan(root, db=db, workers=1)
    return root, db


def outcomes(db: Path, aid: int) -> dict[str, tuple[str, str | None, str | None]]:
    con = sqlite3.connect(db)
    rows = con.execute(
        "SELECT CAST(path AS TEXT), status, rule_id, finding FROM assessed WHERE assessment_id = ?",
        (aid,),
    ).fetchall()
    return {p: (s, r, f) for p, s, r, f in rows}


def test_every_file_gets_exactly_one_outcome(scanned: tuple[Path, Path]) -> None:
    _, db = scanned
    with Catalog(db) as cat:
        result = assess(cat, load_ruleset(MINI))
    got = outcomes(db, result.id or 0)
    assert got["Falun/a.pdf"] == ("migrate", "pdf", None)
    assert got["Falun/b.png"] == ("preservation", "png", None)
    assert got["Falun/note.txt"] == ("acceptable", "text-by-mime", None)
    assert got["Säter/tom.pdf"][0::2] == ("at-risk", "unreadable")
    assert got["Säter/bild.jpg"] == ("at-risk", "png", "extension_mismatch")
    assert got["Säter/okänd"][0::2] == ("at-risk", "unidentified")
    assert got["Säter/låst.zip!/hemlig.pdf"][0::2] == ("at-risk", "encrypted")
    assert got["Säter/låst.zip"] == ("acceptable", "zip", None)
    assert result.summary["files"] == len(got) == 8
    assert result.summary["by_org"]["Falun"]["status"]["migrate"]["files"] == 1


def test_dry_run_stores_nothing_and_shows_changes(
    scanned: tuple[Path, Path], tmp_path: Path
) -> None:
    _, db = scanned
    with Catalog(db) as cat:
        assess(cat, load_ruleset(MINI))
    stricter = tmp_path / "stricter.yaml"
    stricter.write_text(
        MINI.read_text().replace(
            "status: preservation\n    risk: low\n    rationale: lossless",
            "status: at-risk\n    risk: high\n    rationale: lossless",
        )
    )
    with Catalog(db) as cat:
        dry = assess(cat, load_ruleset(stricter), dry_run=True)
        (n,) = cat.db.execute("SELECT COUNT(*) FROM assessments").fetchone()
    assert dry.id is None and n == 1
    assert dry.changes == {"preservation -> at-risk": 1}


def test_override_survives_a_rescan(scanned: tuple[Path, Path]) -> None:
    root, db = scanned
    runner = CliRunner()
    out = runner.invoke(
        main,
        [
            "override",
            "Säter/okänd",
            "--db",
            str(db),
            "--status",
            "acceptable",
            "--reason",
            "accepted by decision 2026-03",
        ],
    )
    assert out.exit_code == 0, out.output
    (root / "Falun" / "flyttad").mkdir()
    (root / "Säter" / "okänd").rename(root / "Falun" / "flyttad" / "okänd")
    scan(root, db=db, workers=1)
    with Catalog(db) as cat:
        result = assess(cat, load_ruleset(MINI))
    got = outcomes(db, result.id or 0)
    assert got["Falun/flyttad/okänd"][0] == "acceptable"
    listed = runner.invoke(main, ["overrides", "--db", str(db), "--json"])
    [entry] = json.loads(listed.stdout)
    assert entry["reason"] == "accepted by decision 2026-03" and entry["who"]


def test_export_carries_the_assessment(scanned: tuple[Path, Path]) -> None:
    _, db = scanned
    with Catalog(db) as cat:
        assess(cat, load_ruleset(MINI))
        recs = {r["path"]: r for r in records(cat, cat.scan().id)}
    pdf = recs["Falun/a.pdf"]
    assert (pdf["status"], pdf["risk"], pdf["rule"]) == ("migrate", "moderate", "pdf")
    assert pdf["action"] == "ghostscript -> pdfa-2b (fmt/477)"
    assert recs["Falun/b.png"]["action"] is None


def test_cli_assess_json_and_rules_explain(scanned: tuple[Path, Path]) -> None:
    root, db = scanned
    runner = CliRunner()
    out = runner.invoke(main, ["assess", "--db", str(db), "--rules", str(MINI), "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["summary"]["status"]["migrate"]["files"] == 1
    out = runner.invoke(main, ["rules", "explain", "fmt/18", "--rules", str(MINI), "--json"])
    rule = json.loads(out.stdout)["rule"]
    assert rule["id"] == "pdf" and rule["action"]["target_puid"] == "fmt/477"
    out = runner.invoke(
        main, ["rules", "explain", str(root / "Säter" / "bild.jpg"), "--rules", str(MINI)]
    )
    assert "rule png" in out.stdout and "extension_mismatch" in out.stdout
    out = runner.invoke(main, ["rules", "check", str(MINI)])
    assert out.exit_code == 0


def test_catalog_of_schema_1_is_upgraded(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    con = sqlite3.connect(db)
    con.executescript(MIGRATIONS[0] + "; PRAGMA user_version = 1;")
    con.close()
    with Catalog(db) as cat:
        assert cat.db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        assert cat.overrides() == []
