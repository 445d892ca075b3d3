"""Rescans reuse what has not changed, identify each content once, and record changes."""

from __future__ import annotations

import dataclasses
import os
import shutil
import sqlite3
import zipfile
from pathlib import Path

import pytest
from conftest import rows
from util import pdf_bytes, png_bytes

from preserveplan import Catalog, scan
from preserveplan.inventory import scan as scan_module
from preserveplan.versions import probe_engine


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "arkiv"
    for org in ("Falun", "Säter"):
        (root / org / "Ärenden").mkdir(parents=True)
        for i in range(10):
            (root / org / "Ärenden" / f"doc{i}.pdf").write_bytes(pdf_bytes(f"{org} {i}"))
            (root / org / "Ärenden" / f"bild{i}.png").write_bytes(png_bytes(seed=i))
    with zipfile.ZipFile(root / "Falun" / "leverans.zip", "w") as zf:
        zf.writestr("a.pdf", pdf_bytes("a"))
        zf.writestr("b/c.png", png_bytes(seed=99))
    return root


def test_rescan_of_unchanged_tree_reads_nothing(tree: Path, db: Path) -> None:
    [first] = scan(tree, db=db, workers=2)
    [second] = scan(tree, db=db, workers=2)
    run = second.summary["this_run"]
    assert run["hashed"] == 0 and run["identified"] == 0
    assert run["reused_unchanged"] == 41
    assert run["members"] == 2  # the ZIP's members come along without reading it
    assert second.summary["changes_since"] == {
        "scan": first.scan_id,
        "added": 0,
        "removed": 0,
        "changed": 0,
        "moved": 0,
        "reidentified": 0,
    }
    before, after = rows(db, first.scan_id), rows(db, second.scan_id)
    assert before.keys() == after.keys()
    for path, rec in before.items():
        assert {k: v for k, v in rec.items() if k != "scan_id"} == after[path]


def test_rescan_with_other_org_depth_recomputes_org(tree: Path, db: Path) -> None:
    scan(tree, db=db, workers=2)
    [second] = scan(tree, db=db, workers=2, org_depth=2)
    assert second.summary["this_run"]["hashed"] == 0
    found = rows(db, second.scan_id)
    assert found["Falun/Ärenden/doc0.pdf".encode()]["org"] == "Falun/Ärenden"
    assert found[b"Falun/leverans.zip!/a.pdf"]["puid"] == "fmt/18"


def test_duplicates_are_identified_once(tmp_path: Path, db: Path) -> None:
    root = tmp_path / "dups"
    root.mkdir()
    for i in range(12):
        (root / f"kopia{i}.pdf").write_bytes(pdf_bytes("same"))
    (root / "annan.pdf").write_bytes(pdf_bytes("other"))
    (root / "kopia.txt").write_bytes(pdf_bytes("same"))  # same content, other extension
    [result] = scan(root, db=db, workers=2)
    run = result.summary["this_run"]
    assert run["hashed"] == 14
    assert run["identified"] == 3  # (same, pdf), (other, pdf), (same, txt)
    found = rows(db, result.scan_id)
    assert {found[f"kopia{i}.pdf".encode()]["puid"] for i in range(12)} == {"fmt/18"}


def test_changes_are_recorded(tree: Path, db: Path) -> None:
    [first] = scan(tree, db=db, workers=2)
    d = tree / "Falun" / "Ärenden"
    (d / "doc0.pdf").write_bytes(pdf_bytes("ändrad och längre"))  # changed
    (d / "ny.pdf").write_bytes(pdf_bytes("ny"))  # added
    (d / "doc1.pdf").unlink()  # removed
    (tree / "Säter" / "Flyttat").mkdir()
    shutil.move(d / "bild2.png", tree / "Säter" / "Flyttat" / "bild2.png")  # moved
    os.utime(d / "bild3.png", ns=(1, 1_000_000_000))  # touched, same content
    [second] = scan(tree, db=db, workers=2)
    changes = second.summary["changes_since"]
    assert (changes["added"], changes["removed"], changes["changed"], changes["moved"]) == (
        1,
        1,
        1,
        1,
    )
    run = second.summary["this_run"]
    assert run["reused_unchanged"] == 37
    assert run["hashed"] == 4  # changed, added, moved, touched
    assert run["identified"] == 2  # only the new contents; moved and touched are cached
    with Catalog(db) as cat:
        diff = {(r["change"], r["path"]) for r in cat.diff(first.scan_id, second.scan_id)}
    assert ("moved", "Säter/Flyttat/bild2.png".encode()) in diff
    assert ("changed", "Falun/Ärenden/doc0.pdf".encode()) in diff


def test_rehash_reads_everything(tree: Path, db: Path) -> None:
    scan(tree, db=db, workers=2)
    [again] = scan(tree, db=db, workers=2, rehash=True)
    run = again.summary["this_run"]
    assert run["hashed"] == 41 and run["reused_unchanged"] == 0
    assert run["identified"] == 0  # content seen before is still not identified again


def test_new_signatures_reuse_nothing_and_drift_shows(
    tree: Path, db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    [first] = scan(tree, db=db, workers=2)
    # Pretend an earlier signature file called the PNGs something else (old answers in the
    # catalog), and that pygfried has since been upgraded (a new signature key).
    con = sqlite3.connect(db)
    con.execute(
        "UPDATE identifications SET puid = 'fmt/999' WHERE puid IN ('fmt/11', 'fmt/12', 'fmt/13')"
    )
    con.commit()
    con.close()
    upgraded = dataclasses.replace(probe_engine(), signature_created="2099-01-01T00:00:00Z")
    monkeypatch.setattr(scan_module, "engine_info", lambda *_: upgraded)
    [second] = scan(tree, db=db, workers=2)
    run = second.summary["this_run"]
    assert run["hashed"] == 0  # checksums of unchanged files are still reused
    assert run["identified"] == 31  # every content on disk again (PNGs repeat per org)
    assert second.summary["changes_since"]["reidentified"] == 21  # 20 PNGs + one in the ZIP
    with Catalog(db) as cat:
        drift = [r for r in cat.diff(first.scan_id, second.scan_id)]
    assert {r["puid_before"] for r in drift} == {"fmt/999"}
