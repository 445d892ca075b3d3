"""The scan agrees with the shared corpus' expected.csv (real files, real Siegfried)."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

from conftest import rows


def _expected(corpus: Path) -> list[dict[str, str]]:
    with open(corpus / "expected.csv", newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_every_corpus_file_has_the_right_sha256(
    corpus: Path, corpus_scan: tuple[Path, int]
) -> None:
    db, scan_id = corpus_scan
    found = rows(db, scan_id)
    expected = _expected(corpus)
    assert len(expected) > 700
    for row in expected:
        rec = found[row["path"].encode()]
        assert rec["sha256"] == row["sha256"], row["path"]
        assert rec["size"] == int(row["size"]), row["path"]


def test_puids_agree_where_siegfried_is_the_reference(
    corpus: Path, corpus_scan: tuple[Path, int]
) -> None:
    db, scan_id = corpus_scan
    found = rows(db, scan_id)
    mismatches = []
    for row in _expected(corpus):
        if row["truth"] != "pygfried":
            continue
        puid = found[row["path"].encode()]["puid"]
        if puid != row["expected_puid"]:
            mismatches.append((row["path"], row["expected_puid"], puid))
    assert not mismatches


def test_corpus_truth_disagreements_are_reported_not_asserted(
    corpus: Path, corpus_scan: tuple[Path, int], capsys: object
) -> None:
    db, scan_id = corpus_scan
    found = rows(db, scan_id)
    differ = [
        (r["path"], r["expected_puid"], found[r["path"].encode()]["puid"])
        for r in _expected(corpus)
        if r["truth"] == "corpus" and found[r["path"].encode()]["puid"] != r["expected_puid"]
    ]
    for path, want, got in differ:
        print(f"corpus truth {want}, Siegfried {got}: {path}")
    # The corpus documents these as known disagreements (DISAGREE in its notes).
    noted = {r["path"] for r in _expected(corpus) if "DISAGREE" in r["note"]}
    assert {p for p, _, _ in differ} <= noted


def test_hashes_are_real(corpus: Path, corpus_scan: tuple[Path, int]) -> None:
    db, scan_id = corpus_scan
    rec = rows(db, scan_id)[b"SOURCES.md"]
    assert rec["sha256"] == hashlib.sha256((corpus / "SOURCES.md").read_bytes()).hexdigest()


def test_every_corpus_file_gets_one_outcome(corpus: Path, corpus_scan: tuple[Path, int]) -> None:
    db, scan_id = corpus_scan
    found = rows(db, scan_id)
    on_disk = [p for p, r in found.items() if r["parent"] is None]
    files = [p for p in corpus.rglob("*") if p.is_file()]
    assert len(on_disk) == len(files)
    assert all(r["outcome"] for r in found.values())
    # Corrupt files are findings, not crashes.
    assert found[b"generated/corrupt/lorem-ipsum-truncated.docx"]["outcome"] == "identify_error"
    assert found[b"generated/edge-cases/zero-byte.txt"]["outcome"] == "empty"


def test_zip_members_are_inventoried(corpus: Path, corpus_scan: tuple[Path, int]) -> None:
    db, scan_id = corpus_scan
    found = rows(db, scan_id)
    members = [r for r in found.values() if r["parent"] is not None]
    assert members
    for m in members:
        assert m["path"].startswith(m["parent"] + b"!/")
        assert m["kind"] == "member"
    containers = {r["parent"] for r in members}
    for c in containers:
        if b"!/" not in c:
            assert found[c]["container"] in ("expanded", "error", "limit", "encrypted")


def test_encrypted_pdfs_are_found(corpus: Path, corpus_scan: tuple[Path, int]) -> None:
    db, scan_id = corpus_scan
    found = rows(db, scan_id)
    encrypted = {p.decode() for p, r in found.items() if r["outcome"] == "encrypted"}
    assert (
        "py-pdf-sample-files/005-libreoffice-writer-password/libreoffice-writer-password.pdf"
        in (encrypted)
    )
    assert "format-corpus/pdfCabinetOfHorrors/encryption_openpassword.pdf" in encrypted
    # Office documents too (see test_encryption.py for the exact set).
    assert "file-type/fixture/fixture-password-protected.xls" in encrypted
    # Every one is a file the corpus documents as password-protected or encrypted, or whose
    # expected PRONOM format is a password-protected one.
    expected = {r["path"]: r for r in _expected(corpus)}
    for path in encrypted:
        said = path.lower() + expected[path]["note"].lower()
        protected_format = expected[path]["expected_puid"] in ("fmt/754",)  # Word, protected
        assert protected_format or any(w in said for w in ("encrypt", "password", "pw")), path
    # ... and they are still identified.
    assert all(found[p.encode()]["puid"] for p in encrypted)
