"""Information packages (E-ARK CSIP / FGS CSPackage): METS fixity, package ids, safe parsing.

Packages are built here as real folders with real files (PDF, PNG, text) and METS documents in
the CSIP layout: a root METS with a representation METS reached through ``mets:mptr``.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import zlib
from pathlib import Path
from urllib.parse import quote
from xml.sax.saxutils import quoteattr

import pytest
from click.testing import CliRunner
from conftest import rows
from util import nobody_python, pdf_bytes, png_bytes

from preserveplan import Catalog, export, scan
from preserveplan.catalog import FILE_COLUMNS, MIGRATIONS
from preserveplan.cli import main
from preserveplan.export import DROID_FIELDS, FIELDS, records
from preserveplan.inventory.fixity import sha256_file
from preserveplan.inventory.packages import checksum_type, resolve_href
from preserveplan.rules import load_ruleset
from preserveplan.rules.assess import assess

PKG = "Falun/SIP-2024-001"
REP = f"{PKG}/representations/rep1"
ALGO = {"MD5": "md5", "SHA-1": "sha1", "SHA-256": "sha256", "SHA-512": "sha512"}


def digest(path: Path, kind: str) -> str:
    return hashlib.new(ALGO[kind], path.read_bytes()).hexdigest()


def file_entry(path: Path, href: str, kind: str = "SHA-256", size: int | None = None) -> str:
    """A mets:file with its FLocat, checksum and size taken from the real file."""
    size = path.stat().st_size if size is None else size
    return (
        f'<mets:file ID="F{abs(hash(href))}" MIMETYPE="application/octet-stream" SIZE="{size}" '
        f'CREATED="2024-05-02T10:00:00" CHECKSUM="{digest(path, kind)}" CHECKSUMTYPE="{kind}">'
        f'<mets:FLocat LOCTYPE="URL" xlink:type="simple" xlink:href={quoteattr(href)}/>'
        "</mets:file>"
    )


def mets(objid: str, body: str, *, root_attrs: str = "", prolog: str = "") -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        + prolog
        + '<mets:mets xmlns:mets="http://www.loc.gov/METS/" '
        'xmlns:xlink="http://www.w3.org/1999/xlink" '
        'xmlns:csip="https://DILCIS.eu/XML/METS/CSIPExtensionMETS" '
        f"OBJID={quoteattr(objid)} {root_attrs}>\n"
        '<mets:metsHdr CREATEDATE="2024-05-02T10:00:00" csip:OAISPACKAGETYPE="SIP">'
        '<mets:agent ROLE="CREATOR" TYPE="OTHER" OTHERTYPE="SOFTWARE">'
        "<mets:name>test</mets:name></mets:agent></mets:metsHdr>\n"
        f"{body}\n</mets:mets>\n"
    )


def build_package(archive: Path) -> Path:
    """A CSIP-style SIP under Falun/ with one representation; returns the package folder.

    On disk and as listed: a document list (MD5, name with åäö and a space, URL-encoded),
    descriptive metadata via mdRef (SHA-256), a schema listed by the representation METS as
    ``../../schemas``, a PDF (SHA-256, URL-encoded name), a PNG (MD5, ``file:`` href), a PDF
    changed after packaging (SHA-1 mismatch), a text whose SIZE is wrong, a listed file that is
    missing and a file no METS lists."""
    pkg = archive / PKG
    rep = archive / REP
    for folder in ("documentation", "metadata/descriptive", "schemas"):
        (pkg / folder).mkdir(parents=True)
    (rep / "data").mkdir(parents=True)
    (pkg / "documentation" / "Läs mig.txt").write_text("Leverans från Falu kommun\n", "utf-8")
    (pkg / "metadata" / "descriptive" / "ead.xml").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<ead><eadheader/></ead>\n', "utf-8"
    )
    (pkg / "schemas" / "mets.xsd").write_text(
        '<?xml version="1.0"?>\n<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"/>\n'
    )
    data = rep / "data"
    (data / "Protokoll KS 2024.pdf").write_bytes(pdf_bytes("Protokoll"))
    (data / "bild å.png").write_bytes(png_bytes(seed=3))
    (data / "Beslut ö.pdf").write_bytes(pdf_bytes("Beslut"))
    (data / "storlek.txt").write_text("size is listed wrong\n")
    (data / "saknad.txt").write_text("this one will be removed\n")
    rep_body = (
        '<mets:fileSec ID="fs"><mets:fileGrp USE="Data" ID="g1">'
        + file_entry(data / "Protokoll KS 2024.pdf", "data/" + quote("Protokoll KS 2024.pdf"))
        + file_entry(data / "bild å.png", "file:data/" + quote("bild å.png"), "MD5")
        + file_entry(data / "Beslut ö.pdf", "data/" + quote("Beslut ö.pdf"), "SHA-1")
        + file_entry(data / "storlek.txt", "data/storlek.txt", "SHA-512", size=3)
        + file_entry(data / "saknad.txt", "data/saknad.txt", "MD5")
        + "</mets:fileGrp>"
        + '<mets:fileGrp USE="Schemas" ID="g2">'
        + file_entry(pkg / "schemas" / "mets.xsd", "../../schemas/mets.xsd", "MD5")
        + "</mets:fileGrp></mets:fileSec>"
    )
    (rep / "METS.xml").write_text(
        mets("SIP-2024-001-rep1", rep_body, root_attrs='csip:CONTENTINFORMATIONTYPE="MIXED"')
    )
    root_body = (
        '<mets:dmdSec ID="dmd1" CREATED="2024-05-02T10:00:00" STATUS="CURRENT">'
        '<mets:mdRef LOCTYPE="URL" MDTYPE="EAD" xlink:type="simple" '
        'xlink:href="metadata/descriptive/ead.xml" MIMETYPE="text/xml" '
        f'SIZE="{(pkg / "metadata/descriptive/ead.xml").stat().st_size}" '
        f'CHECKSUM="{digest(pkg / "metadata/descriptive/ead.xml", "SHA-256")}" '
        'CHECKSUMTYPE="SHA-256"/></mets:dmdSec>'
        '<mets:fileSec ID="fs"><mets:fileGrp USE="Documentation" ID="d">'
        + file_entry(
            pkg / "documentation" / "Läs mig.txt", "documentation/" + quote("Läs mig.txt"), "MD5"
        )
        + '</mets:fileGrp><mets:fileGrp USE="Representations/rep1" ID="r1" '
        'csip:CONTENTINFORMATIONTYPE="MIXED">'
        + file_entry(rep / "METS.xml", "representations/rep1/METS.xml")
        + "</mets:fileGrp></mets:fileSec>"
        '<mets:structMap TYPE="PHYSICAL" LABEL="CSIP"><mets:div LABEL="SIP-2024-001">'
        '<mets:div LABEL="Representations/rep1"><mets:mptr xlink:type="simple" LOCTYPE="URL" '
        'xlink:href="representations/rep1/METS.xml"/></mets:div></mets:div></mets:structMap>'
    )
    (pkg / "METS.xml").write_text(
        mets(
            "SIP-2024-001",
            root_body,
            root_attrs='TYPE="OTHER" csip:OTHERTYPE="Ärendeakter" '
            'csip:CONTENTINFORMATIONTYPE="OTHER" '
            'csip:OTHERCONTENTINFORMATIONTYPE="FGS Personal" '
            'PROFILE="https://earkcsip.dilcis.eu/profile/E-ARK-CSIP.xml"',
        )
    )
    # After packaging: one file changed (same size), one removed, one added.
    tampered = data / "Beslut ö.pdf"
    body = bytearray(tampered.read_bytes())
    body[-30] ^= 0x01
    tampered.write_bytes(bytes(body))
    (data / "saknad.txt").unlink()
    (data / "extra.txt").write_text("added after packaging\n")
    return pkg


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    root = tmp_path / "e-arkiv"
    build_package(root)
    (root / "Falun" / "Protokoll").mkdir(parents=True)
    (root / "Falun" / "Protokoll" / "KS.pdf").write_bytes(pdf_bytes("KS"))
    (root / "Säter").mkdir()
    (root / "Säter" / "bild.png").write_bytes(png_bytes(seed=9))
    return root


def package_files(db: Path, scan_id: int) -> dict[bytes, tuple[str, str | None]]:
    with sqlite3.connect(db) as con:
        got = con.execute(
            "SELECT path, verdict, message FROM package_files WHERE scan_id = ?", (scan_id,)
        ).fetchall()
    return {bytes(p): (v, m) for p, v, m in got}


def rel(path: str) -> bytes:
    return path.encode()


def test_package_fixity_verdicts(archive: Path, db: Path) -> None:
    [result] = scan(archive, db=db, workers=2)
    found = rows(db, result.scan_id)
    fixity = {p: r["fixity"] for p, r in found.items() if r["package"] is not None}
    assert fixity == {
        rel(f"{PKG}/METS.xml"): "mets",
        rel(f"{PKG}/documentation/Läs mig.txt"): "ok",  # MD5, URL-encoded åäö and space
        rel(f"{PKG}/metadata/descriptive/ead.xml"): "ok",  # mdRef, SHA-256
        rel(f"{PKG}/schemas/mets.xsd"): "ok",  # ../../schemas from the representation METS
        rel(f"{REP}/METS.xml"): "ok",  # listed in the root METS with its checksum
        rel(f"{REP}/data/Protokoll KS 2024.pdf"): "ok",
        rel(f"{REP}/data/bild å.png"): "ok",  # file: prefix, MD5
        rel(f"{REP}/data/Beslut ö.pdf"): "mismatch",  # changed after packaging (SHA-1)
        rel(f"{REP}/data/storlek.txt"): "mismatch",  # SIZE wrong, checksum right
        rel(f"{REP}/data/extra.txt"): "not_listed",
    }
    assert {r["package"] for r in found.values() if r["package"] is not None} == {rel(PKG)}
    # Files outside packages carry nothing; the organisation stays the top-level folder.
    assert found[b"Falun/Protokoll/KS.pdf"]["fixity"] is None
    assert found[b"Falun/Protokoll/KS.pdf"]["package"] is None
    assert found[rel(f"{REP}/data/bild å.png")]["org"] == "Falun"
    # Every listed entry has a verdict; the missing file is recorded, with its METS.
    listed = package_files(db, result.scan_id)
    assert listed[rel(f"{REP}/data/saknad.txt")][0] == "missing"
    assert listed[rel(f"{REP}/data/Beslut ö.pdf")][0] == "mismatch"
    assert "SHA-1" in (listed[rel(f"{REP}/data/Beslut ö.pdf")][1] or "")
    assert "METS says 3" in (listed[rel(f"{REP}/data/storlek.txt")][1] or "")
    assert {v for v, _ in listed.values()} == {"ok", "mismatch", "missing"}
    # The package record and the scan summary.
    with Catalog(db) as cat:
        [pkg] = cat.packages(result.scan_id)
        problems = list(cat.package_problems(result.scan_id))
    assert pkg["package_id"] == "SIP-2024-001"
    assert pkg["content_type"] == "OTHER (FGS Personal)"
    assert pkg["type"] == "OTHER (Ärendeakter)"
    assert pkg["profile"] == "https://earkcsip.dilcis.eu/profile/E-ARK-CSIP.xml"
    assert pkg["mets_path"] == rel(f"{PKG}/METS.xml")
    assert [d["path"] for d in pkg["mets_docs"]] == [f"{PKG}/METS.xml", f"{REP}/METS.xml"]
    assert pkg["error"] is None
    counts = {k: pkg[k] for k in ("listed", "ok", "mismatched", "missing", "unlisted")}
    assert counts == {"listed": 9, "ok": 6, "mismatched": 2, "missing": 1, "unlisted": 1}
    assert result.summary["packages"] == {
        "found": 1,
        "mets_errors": 0,
        "fixity": {
            "listed": 9,
            "ok": 6,
            "mismatch": 2,
            "missing": 1,
            "not_listed": 1,
            "unverified": 0,
        },
    }
    assert {(p["verdict"], p["path"]) for p in problems} == {
        ("mismatch", rel(f"{REP}/data/Beslut ö.pdf")),
        ("mismatch", rel(f"{REP}/data/storlek.txt")),
        ("missing", rel(f"{REP}/data/saknad.txt")),
        ("not_listed", rel(f"{REP}/data/extra.txt")),
    }
    # The originals are untouched.
    assert (archive / REP / "data" / "extra.txt").read_text() == "added after packaging\n"


def test_assess_and_export_surface_fixity(archive: Path, db: Path, tmp_path: Path) -> None:
    [result] = scan(archive, db=db, workers=2)
    with Catalog(db) as cat:
        assessment = assess(cat, load_ruleset(), result.scan_id)
        recs = {r["path"]: r for r in records(cat, result.scan_id)}
        export(cat, result.scan_id, "csv", tmp_path / "inv.csv")
        export(cat, result.scan_id, "droid-csv", tmp_path / "droid.csv")
    findings = assessment.summary["findings"]
    assert findings["fixity_mismatch"] == 2
    assert findings["not_in_mets"] == 1
    beslut = recs[f"{REP}/data/Beslut ö.pdf"]
    assert beslut["finding"] == "fixity_mismatch" and beslut["status"] == "at-risk"
    assert beslut["risk"] == "high"
    assert beslut["fixity"] == "mismatch"
    assert beslut["package"] == PKG and beslut["package_id"] == "SIP-2024-001"
    assert recs[f"{REP}/data/extra.txt"]["finding"] == "not_in_mets"
    assert recs[f"{REP}/data/Protokoll KS 2024.pdf"]["finding"] is None
    assert recs["Falun/Protokoll/KS.pdf"]["fixity"] is None
    # The stored policy names the findings in force (built-in defaults for the new ones).
    with Catalog(db) as cat:
        policy = cat.assessment(assessment.id or 0)["policy"]
    assert policy["findings"]["fixity_mismatch"]["status"] == "at-risk"
    with open(tmp_path / "inv.csv", newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        assert reader.fieldnames == list(FIELDS)
        by_path = {r["path"]: r for r in reader}
    assert by_path[f"{REP}/data/extra.txt"]["fixity"] == "not_listed"
    with open(tmp_path / "droid.csv", newline="", encoding="utf-8") as fh:
        assert next(csv.reader(fh)) == list(DROID_FIELDS)  # DROID's layout does not change


def test_ruleset_can_set_the_new_findings(archive: Path, db: Path, tmp_path: Path) -> None:
    rules = tmp_path / "kommun.yaml"
    rules.write_text(
        "ruleset: kommun\nversion: '1'\nextends: default\nfindings:\n"
        "  fixity_mismatch: {status: unknown, risk: moderate, rationale: r, source: s}\n",
        "utf-8",
    )
    [result] = scan(archive, db=db, workers=2)
    with Catalog(db) as cat:
        outcome = assess(cat, load_ruleset(rules), result.scan_id, dry_run=True)
    assert outcome.summary["findings"]["fixity_mismatch"] == 2
    assert outcome.summary["status"]["unknown"]["files"] >= 2


def test_rescan_copies_unchanged_and_rechecks_a_changed_mets(archive: Path, db: Path) -> None:
    [first] = scan(archive, db=db, workers=2)
    [second] = scan(archive, db=db, workers=2)
    run = second.summary["this_run"]
    assert run["hashed"] == 0 and run["reused_unchanged"] == 12
    assert second.summary["packages"] == first.summary["packages"]
    assert second.summary["changes_since"]["changed"] == 0
    before, after = rows(db, first.scan_id), rows(db, second.scan_id)
    assert {p: r["fixity"] for p, r in before.items()} == {p: r["fixity"] for p, r in after.items()}
    assert package_files(db, first.scan_id) == package_files(db, second.scan_id)
    # The producer fixes the representation METS (the changed PDF's checksum): the files of
    # the package are read and checked again; files elsewhere are still not read.
    mets_path = archive / REP / "METS.xml"
    text = mets_path.read_text()
    old = hashlib.sha1(pdf_bytes("Beslut")).hexdigest()
    new = digest(archive / REP / "data" / "Beslut ö.pdf", "SHA-1")
    mets_path.write_text(text.replace(old, new))
    [third] = scan(archive, db=db, workers=2)
    run = third.summary["this_run"]
    assert run["hashed"] == 10  # the package's files, on disk
    assert run["identified"] == 1  # only the changed METS is new content
    found = rows(db, third.scan_id)
    assert found[rel(f"{REP}/data/Beslut ö.pdf")]["fixity"] == "ok"
    # The root METS lists the representation METS with its old checksum: now a mismatch.
    assert found[rel(f"{REP}/METS.xml")]["fixity"] == "mismatch"
    assert third.summary["packages"]["fixity"]["mismatch"] == 2
    # A file that disappears from an unchanged package is missing on the next scan.
    (archive / PKG / "schemas" / "mets.xsd").unlink()
    [fourth] = scan(archive, db=db, workers=2)
    assert fourth.summary["this_run"]["hashed"] == 0
    assert package_files(db, fourth.scan_id)[rel(f"{PKG}/schemas/mets.xsd")][0] == "missing"
    assert fourth.summary["packages"]["fixity"]["missing"] == 2


def test_rehash_finds_tampering_that_kept_size_and_mtime(archive: Path, db: Path) -> None:
    scan(archive, db=db, workers=2)
    target = archive / REP / "data" / "Protokoll KS 2024.pdf"
    st = target.stat()
    body = bytearray(target.read_bytes())
    body[20] ^= 0x20
    target.write_bytes(bytes(body))
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))
    [trusting] = scan(archive, db=db, workers=2)
    assert rows(db, trusting.scan_id)[rel(str(target.relative_to(archive)))]["fixity"] == "ok"
    [rehashed] = scan(archive, db=db, workers=2, rehash=True)
    assert rows(db, rehashed.scan_id)[rel(str(target.relative_to(archive)))]["fixity"] == (
        "mismatch"
    )


def test_org_from_package(archive: Path, db: Path) -> None:
    other = archive / "Borlänge" / "Leverans 7"
    other.mkdir(parents=True)
    (other / "a.pdf").write_bytes(pdf_bytes("a"))
    body = file_entry(other / "a.pdf", "a.pdf")
    (other / "METS.xml").write_text(mets("", f"<mets:fileSec>{body}</mets:fileSec>"))
    [result] = scan(archive, db=db, workers=2, org_from_package=True)
    found = rows(db, result.scan_id)
    assert found[rel(f"{REP}/data/bild å.png")]["org"] == "SIP-2024-001"
    assert found[rel(f"{PKG}/METS.xml")]["org"] == "SIP-2024-001"
    assert found["Borlänge/Leverans 7/a.pdf".encode()]["org"] == "Leverans 7"  # no OBJID
    assert found["Borlänge/Leverans 7/a.pdf".encode()]["fixity"] == "ok"
    assert found[b"Falun/Protokoll/KS.pdf"]["org"] == "Falun"
    # A later scan without the option is not a copy of this one: the orgs come back.
    [plain] = scan(archive, db=db, workers=2)
    assert plain.summary["this_run"]["hashed"] == 0
    assert rows(db, plain.scan_id)[rel(f"{REP}/data/bild å.png")]["org"] == "Falun"


def test_nested_package_not_pointed_at_is_its_own(archive: Path, db: Path) -> None:
    """A SIP kept inside another package (as in an AIP's submission folder) that the outer
    METS do not point at is a package of its own; a representation METS is not."""
    sip = archive / PKG / "submission" / "SIP-0"
    (sip / "data").mkdir(parents=True)
    (sip / "data" / "a.pdf").write_bytes(pdf_bytes("inner"))
    (sip / "METS.xml").write_text(
        mets(
            "SIP-0",
            "<mets:fileSec>" + file_entry(sip / "data" / "a.pdf", "data/a.pdf") + "</mets:fileSec>",
        )
    )
    [result] = scan(archive, db=db, workers=2, org_from_package=True)
    found = rows(db, result.scan_id)
    inner = rel(f"{PKG}/submission/SIP-0/data/a.pdf")
    assert found[inner]["package"] == rel(f"{PKG}/submission/SIP-0")
    assert found[inner]["fixity"] == "ok" and found[inner]["org"] == "SIP-0"
    assert found[rel(f"{PKG}/submission/SIP-0/METS.xml")]["fixity"] == "mets"
    assert found[rel(f"{REP}/data/bild å.png")]["package"] == rel(PKG)
    with Catalog(db) as cat:
        assert [p["package_id"] for p in cat.packages(result.scan_id)] == [
            "SIP-2024-001",
            "SIP-0",
        ]


def test_archive_root_is_a_package(tmp_path: Path, db: Path) -> None:
    root = tmp_path / "SIP-7"
    (root / "content").mkdir(parents=True)
    (root / "content" / "a.png").write_bytes(png_bytes())
    (root / "content" / "b.pdf").write_bytes(pdf_bytes("b"))
    entries = file_entry(root / "content" / "a.png", "content/a.png", "MD5") + file_entry(
        root / "content" / "b.pdf", "./content/b.pdf"
    )
    (root / "METS.xml").write_text(mets("", f"<mets:fileSec>{entries}</mets:fileSec>"))
    [result] = scan(root, db=db, workers=2, org_from_package=True)
    found = rows(db, result.scan_id)
    assert found[b"content/a.png"]["fixity"] == "ok" and found[b"content/b.pdf"]["fixity"] == "ok"
    assert found[b"content/a.png"]["package"] == b""
    assert found[b"content/a.png"]["org"] == "SIP-7"  # the folder's name: no OBJID


def test_broken_mets_is_a_finding_not_a_crash(archive: Path, db: Path) -> None:
    rep_mets = archive / REP / "METS.xml"
    rep_mets.write_text(rep_mets.read_text()[:-200])  # cut short
    second = archive / "Säter" / "SIP-trasig"
    (second / "data").mkdir(parents=True)
    (second / "data" / "a.pdf").write_bytes(pdf_bytes("a"))
    (second / "METS.xml").write_text("<mets:mets xmlns:mets='http://www.loc.gov/METS/'><oops>")
    third = archive / "Säter" / "Inte METS"
    third.mkdir()
    (third / "METS.xml").write_text("<html><body>no</body></html>")
    linked = archive / "Säter" / "Länkad"
    linked.mkdir()
    (linked / "METS.xml").symlink_to(archive / PKG / "METS.xml")
    [result] = scan(archive, db=db, workers=2)
    found = rows(db, result.scan_id)
    # The root METS still vouches for what it lists; what the broken one lists is unverified.
    assert found[rel(f"{PKG}/documentation/Läs mig.txt")]["fixity"] == "ok"
    assert found[rel(f"{REP}/data/bild å.png")]["fixity"] == "unverified"
    assert found[rel(f"{REP}/data/extra.txt")]["fixity"] == "unverified"
    assert found[rel(f"{REP}/METS.xml")]["fixity"] == "mismatch"  # the cut changed it
    assert found["Säter/SIP-trasig/METS.xml".encode()]["fixity"] == "mets_error"
    assert found["Säter/SIP-trasig/data/a.pdf".encode()]["fixity"] == "unverified"
    assert found["Säter/Inte METS/METS.xml".encode()]["fixity"] == "mets_error"
    with Catalog(db) as cat:
        pkgs = {p["path"]: p for p in cat.packages(result.scan_id)}
        assessment = assess(cat, load_ruleset(), result.scan_id)
    assert "not well-formed" in pkgs[rel(PKG)]["error"]
    assert pkgs[rel(PKG)]["package_id"] == "SIP-2024-001"
    assert pkgs["Säter/SIP-trasig".encode()]["package_id"] == "SIP-trasig"
    assert "not well-formed" in pkgs["Säter/SIP-trasig".encode()]["error"]
    assert "not a METS document" in pkgs["Säter/Inte METS".encode()]["error"]
    assert "symbolic link" in pkgs["Säter/Länkad".encode()]["error"]
    assert found["Säter/Länkad/METS.xml".encode()]["outcome"] == "symlink"
    assert result.summary["packages"]["mets_errors"] == 4
    assert assessment.summary["findings"]["mets_error"] == 2


def test_missing_representation_mets(archive: Path, db: Path) -> None:
    (archive / REP / "METS.xml").unlink()
    [result] = scan(archive, db=db, workers=2)
    found = rows(db, result.scan_id)
    assert found[rel(f"{REP}/data/bild å.png")]["fixity"] == "unverified"
    listed = package_files(db, result.scan_id)
    assert listed[rel(f"{REP}/METS.xml")][0] == "missing"
    with Catalog(db) as cat:
        [pkg] = cat.packages(result.scan_id)
    assert "missing" in pkg["error"]


def test_external_entities_are_never_resolved(tmp_path: Path, db: Path) -> None:
    """XXE: a METS that declares entities naming a local secret and a network address is
    refused; nothing is read from the file or the network."""
    secret = tmp_path / "hemlig.txt"
    secret.write_text("TOPSECRET-4711\n")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    listener.setblocking(False)
    port = listener.getsockname()[1]
    root = tmp_path / "arkiv"
    cases = {
        "A": f'<!DOCTYPE mets:mets [<!ENTITY xxe SYSTEM "file://{secret}">]>\n',
        "B": f'<!DOCTYPE mets:mets [<!ENTITY % p SYSTEM "http://127.0.0.1:{port}/p.dtd"> %p;]>\n',
        "C": f'<!DOCTYPE mets:mets SYSTEM "http://127.0.0.1:{port}/mets.dtd">\n',
    }
    for name, prolog in cases.items():
        pkg = root / f"SIP-{name}"
        pkg.mkdir(parents=True)
        (pkg / "a.pdf").write_bytes(pdf_bytes(name))
        body = (
            '<mets:fileSec><mets:file ID="x" CHECKSUMTYPE="SHA-256" '
            f'CHECKSUM="{digest(pkg / "a.pdf", "SHA-256")}">'
            '<mets:FLocat xlink:href="a.pdf"/></mets:file></mets:fileSec>'
            + (
                "<mets:amdSec><mets:techMD><mets:name>&xxe;</mets:name></mets:techMD></mets:amdSec>"
                if name == "A"
                else ""
            )
        )
        (pkg / "METS.xml").write_text(mets(f"SIP-{name}", body, prolog=prolog))
    [result] = scan(root, db=db, workers=2)
    with pytest.raises(BlockingIOError):
        listener.accept()  # no connection was attempted
    listener.close()
    with Catalog(db) as cat:
        pkgs = {bytes(p["path"]): p for p in cat.packages(result.scan_id)}
    assert "entities" in pkgs[b"SIP-A"]["error"]
    assert "entities" in pkgs[b"SIP-B"]["error"]
    # An external DTD without entities is not loaded; the METS itself is fine.
    assert pkgs[b"SIP-C"]["error"] is None
    assert any("DOCTYPE" in w for w in pkgs[b"SIP-C"]["warnings"])
    found = rows(db, result.scan_id)
    assert found[b"SIP-A/a.pdf"]["fixity"] == "unverified"
    assert found[b"SIP-C/a.pdf"]["fixity"] == "ok"
    dump = "\n".join(sqlite3.connect(db).iterdump())
    assert "TOPSECRET" not in dump


def test_hrefs_outside_the_package_are_refused(tmp_path: Path, db: Path) -> None:
    root = tmp_path / "arkiv"
    pkg = root / "Falun" / "SIP"
    pkg.mkdir(parents=True)
    (root / "Falun" / "granne.pdf").write_bytes(pdf_bytes("n"))
    (pkg / "a.pdf").write_bytes(pdf_bytes("a"))
    body = (
        file_entry(root / "Falun" / "granne.pdf", "../granne.pdf")
        + file_entry(pkg / "a.pdf", "http://example.org/a.pdf")
        + file_entry(pkg / "a.pdf", "/etc/passwd")
        + file_entry(pkg / "a.pdf", "a.pdf")
    )
    (pkg / "METS.xml").write_text(
        mets(
            "SIP",
            f"<mets:fileSec>{body}</mets:fileSec><mets:structMap><mets:div>"
            '<mets:mptr xlink:href="../../Falun/SIP/../other/METS.xml"/></mets:div>'
            "</mets:structMap>",
        )
    )
    [result] = scan(root, db=db, workers=2)
    found = rows(db, result.scan_id)
    assert found[b"Falun/granne.pdf"]["package"] is None
    assert found[b"Falun/SIP/a.pdf"]["fixity"] == "ok"
    with Catalog(db) as cat:
        [p] = cat.packages(result.scan_id)
    text = " ".join(p["warnings"])
    assert "outside the package" in text and "not a file in the package" in text
    assert "absolute path" in text and "mptr not followed" in text
    assert set(package_files(db, result.scan_id)) == {b"Falun/SIP/a.pdf"}


def test_corpus_files_against_expected_checksums(corpus: Path, tmp_path: Path, db: Path) -> None:
    """A package of real corpus files whose METS takes its SHA-256 from the corpus's own
    expected.csv (an independent record of the same content)."""
    with open(corpus / "expected.csv", newline="", encoding="utf-8") as fh:
        picked = [r for r in csv.DictReader(fh) if r["expected_puid"] in ("fmt/354", "fmt/40")]
    picked = picked[:4]
    assert picked, "corpus has no PDF/A-1b or Word 97 file"
    pkg = tmp_path / "arkiv" / "SIP-korpus"
    entries = []
    for i, row in enumerate(picked):
        name = f"data/{i} {Path(row['path']).name}"
        (pkg / "data").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(corpus / row["path"], pkg / name)
        entries.append(
            f'<mets:file ID="c{i}" SIZE="{row["size"]}" CHECKSUMTYPE="SHA-256" '
            f'CHECKSUM="{row["sha256"].upper()}"><mets:FLocat '
            f"xlink:href={quoteattr(quote(name))}/></mets:file>"
        )
    (pkg / "METS.xml").write_text(
        mets("korpus", f"<mets:fileSec>{''.join(entries)}</mets:fileSec>")
    )
    [result] = scan(tmp_path / "arkiv", db=db, workers=2)
    assert result.summary["packages"]["fixity"]["ok"] == len(picked)


def test_extra_digests_come_from_the_same_read(tmp_path: Path) -> None:
    path = tmp_path / "data.bin"
    path.write_bytes(os.urandom(3 * 1024 * 1024 + 17))
    res = sha256_file(
        os.fsencode(path), extra=("MD5", "SHA-1", "SHA-512", "CRC32", "Adler-32", "SHA-256")
    )
    data = path.read_bytes()
    assert res.sha256 == hashlib.sha256(data).hexdigest()
    assert res.digests == {
        "MD5": hashlib.md5(data).hexdigest(),
        "SHA-1": hashlib.sha1(data).hexdigest(),
        "SHA-512": hashlib.sha512(data).hexdigest(),
        "CRC32": f"{zlib.crc32(data):08x}",
        "Adler-32": f"{zlib.adler32(data):08x}",
    }
    assert sha256_file(os.fsencode(path)).digests is None


def test_href_resolution_and_checksum_types() -> None:
    pkg = b"Falun/SIP"
    assert resolve_href("data/a%20b.pdf", pkg, pkg) == (b"Falun/SIP/data/a b.pdf", None)
    assert resolve_href("file:data/%C3%A5.pdf", pkg, pkg)[0] == "Falun/SIP/data/å.pdf".encode()
    assert resolve_href("file:///data/x.pdf", pkg, pkg)[0] is None  # absolute
    assert resolve_href("file://host/x.pdf", pkg, pkg)[0] is None
    assert resolve_href("../../schemas/m.xsd", pkg + b"/r/rep1", pkg)[0] == pkg + b"/schemas/m.xsd"
    assert resolve_href("../x.pdf", pkg, pkg)[0] is None
    assert resolve_href("data/../../x.pdf", pkg, pkg)[0] is None
    assert resolve_href("https://example.org/x", pkg, pkg)[0] is None
    assert resolve_href("C:\\data\\x.pdf", pkg, pkg)[0] is None
    assert resolve_href("x.pdf", b"", b"")[0] == b"x.pdf"
    assert resolve_href("%FF.bin", b"", b"")[0] == b"\xff.bin"  # bytes that are not UTF-8
    for raw, canonical in (("md5", "MD5"), ("SHA256", "SHA-256"), ("sha-1", "SHA-1")):
        assert checksum_type(raw) == canonical
    assert checksum_type("Adler32") == "Adler-32" and checksum_type("TIGER") == "TIGER"


def test_big_mets_is_read_with_flat_memory(tmp_path: Path) -> None:
    """A METS listing 100 000 files: the parser's memory does not grow with it (elements are
    dropped as soon as they are handled). Measured in fresh processes, 10 000 vs 100 000."""
    code = r"""
import resource, sys
from preserveplan.inventory.packages import read_mets
class Sink:
    n = 0
    def add(self, mets, entries): self.n += len(entries)
    def discard(self, mets): pass
    def missing(self, mets, target, message): pass
path = sys.argv[1].encode()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
sink = Sink()
result = read_mets(path.rsplit(b"/", 1)[0], path.rsplit(b"/", 1)[1], b"", sink)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(sink.n, result.entries, after - before)
"""
    growth = {}
    for n in (10_000, 100_000):
        target = tmp_path / f"m{n}" / "METS.xml"
        target.parent.mkdir()
        with open(target, "w", encoding="utf-8") as fh:
            head, _, _ = mets("big", "BODY").partition("BODY")
            fh.write(head + "<mets:fileSec><mets:fileGrp USE='Data'>\n")
            for i in range(n):
                fh.write(
                    f'<mets:file ID="f{i}" SIZE="{i}" CHECKSUMTYPE="MD5" '
                    f'CHECKSUM="{i:032x}"><mets:FLocat LOCTYPE="URL" '
                    f'xlink:href="data/{i // 1000}/fil%20{i}.txt"/></mets:file>\n'
                )
            fh.write("</mets:fileGrp></mets:fileSec></mets:mets>\n")
        proc = subprocess.run(
            [sys.executable, "-c", code, str(target)], capture_output=True, text=True, timeout=300
        )
        assert proc.returncode == 0, proc.stderr
        listed, entries, kib = map(int, proc.stdout.split())
        assert listed == entries == n
        growth[n] = kib
    # Kept in memory, 100 000 file elements with their locations take well over 50 MiB.
    assert growth[100_000] - growth[10_000] < 16 * 1024, growth


def test_cli_scan_summary_and_packages_command(archive: Path, db: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(
        main, ["scan", "-q", "--json", "--org-from-package", "--db", str(db), str(archive)]
    )
    assert result.exit_code == 0, result.output
    [record] = json.loads(result.stdout)
    assert record["summary"]["packages"]["fixity"]["mismatch"] == 2
    text = runner.invoke(main, ["scan", "--db", str(db), str(archive)])
    assert text.exit_code == 0
    assert "packages: 1; fixity: 6 ok, 2 mismatch, 1 missing, 1 not listed" in text.stdout
    listing = runner.invoke(main, ["packages", "--db", str(db)])
    assert listing.exit_code == 0
    assert "id SIP-2024-001" in listing.stdout and "mismatch 2" in listing.stdout
    problems = runner.invoke(main, ["packages", "--db", str(db), "--problems", "--json"])
    assert problems.exit_code == 0
    recs = [json.loads(line) for line in problems.stdout.splitlines()]
    assert {r["verdict"] for r in recs} == {"mismatch", "missing", "not_listed"}
    assert any(r["path"] == f"{REP}/data/saknad.txt" for r in recs)
    unknown = runner.invoke(main, ["packages", "--db", str(db), "--scan", "99"])
    assert unknown.exit_code == 2
    for command in ("scan", "run"):
        assert "--org-from-package" in runner.invoke(main, [command, "--help"]).stdout


def test_upgrade_from_a_v4_catalog(archive: Path, tmp_path: Path) -> None:
    """A catalog written by the previous schema (4) is upgraded in place; its scans stay
    readable and serve as the base of the next scan."""
    source = tmp_path / "now.db"
    [first] = scan(archive, db=source, workers=2)
    old = tmp_path / "v4.db"
    con = sqlite3.connect(old)
    for script in MIGRATIONS[:4]:
        con.executescript(script)
    con.execute("PRAGMA user_version = 4")
    con.execute("ATTACH DATABASE ? AS src", (str(source),))
    for table in ("meta", "scans", "signatures", "identifications"):
        con.execute(f"INSERT INTO {table} SELECT * FROM src.{table}")
    cols = ", ".join(FILE_COLUMNS)
    con.execute(f"INSERT INTO files ({cols}) SELECT {cols} FROM src.files")
    con.commit()
    con.close()
    before = rows(old, first.scan_id)  # opening it upgrades it
    with sqlite3.connect(old) as con:
        assert con.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        assert con.execute("SELECT COUNT(*) FROM packages").fetchone()[0] == 0
    assert all(r["package"] is None and r["fixity"] is None for r in before.values())
    [second] = scan(archive, db=old, workers=2)
    run = second.summary["this_run"]
    assert run["reused_unchanged"] == 2  # the files outside the package: not read again
    assert run["hashed"] == 10  # the package's files: read once, to check them
    assert second.summary["packages"] == first.summary["packages"]
    assert second.summary["changes_since"]["changed"] == 0


def test_unreadable_mets_as_unprivileged_user(archive: Path, tmp_path: Path) -> None:
    """Root reads mode-000 files, so this scan runs as nobody to meet a real EACCES."""
    python = nobody_python()
    if python is None:
        pytest.skip("cannot run Python as user nobody here (needs root and runuser)")
    for p in [tmp_path, *tmp_path.parents]:
        if p == Path("/"):
            break
        p.chmod(p.stat().st_mode | 0o005)
    for dirpath, _, _ in os.walk(archive):
        os.chmod(dirpath, 0o755)
    (archive / PKG / "METS.xml").chmod(0)
    work = tmp_path / "nobody"
    work.mkdir()
    shutil.chown(work, "nobody")
    db = work / "c.db"
    proc = subprocess.run(
        [*python, "-m", "preserveplan.cli", "scan", "-q", "--db", str(db), "-j", "1", str(archive)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    found = rows(db, 1)
    assert found[rel(f"{PKG}/METS.xml")]["outcome"] == "unreadable"
    assert found[rel(f"{PKG}/METS.xml")]["fixity"] == "mets_error"
    assert found[rel(f"{PKG}/documentation/Läs mig.txt")]["fixity"] == "unverified"
    # No root METS to point at it: the representation METS now stands as a package of its own.
    assert found[rel(f"{REP}/data/bild å.png")]["package"] == rel(REP)
    assert found[rel(f"{REP}/data/bild å.png")]["fixity"] == "ok"
    with Catalog(db) as cat:
        pkgs = {p["path"]: p for p in cat.packages(1)}
    assert "Permission denied" in pkgs[rel(PKG)]["error"]
    assert pkgs[rel(REP)]["error"] is None


def test_kill_9_mid_package_then_resume(tmp_path: Path) -> None:
    """A scan killed part-way through a big package resumes: every file gets its verdict once,
    the listing is not read twice, the counts are those of an uninterrupted scan."""
    import signal
    import time

    n = 12_000  # more than one batch of rows: the kill lands between commits
    pkg = tmp_path / "arkiv" / "Falun" / "SIP-stor"
    entries = []
    for i in range(n):
        name = f"data/serie {i // 1000:02d}/fil {i:05d}.txt"
        path = pkg / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(f"handling {i}\n".encode() * 20)
        md5 = hashlib.md5(path.read_bytes()).hexdigest()
        if i % 4000 == 7:
            md5 = "0" * 32  # three wrong checksums
        entries.append(
            f'<mets:file ID="f{i}" CHECKSUMTYPE="MD5" CHECKSUM="{md5}">'
            f"<mets:FLocat xlink:href={quoteattr(quote(name))}/></mets:file>"
        )
    (pkg / "METS.xml").write_text(mets("stor", f"<mets:fileSec>{''.join(entries)}</mets:fileSec>"))
    db = tmp_path / "c.db"
    cmd = [sys.executable, "-m", "preserveplan", "scan", "-q", "--db", str(db), "-j", "2"]
    cmd.append(str(tmp_path / "arkiv"))
    proc = subprocess.Popen(cmd, start_new_session=True, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120

    def count() -> int:
        try:
            con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
            try:
                return int(con.execute("SELECT COUNT(*) FROM files").fetchone()[0])
            finally:
                con.close()
        except sqlite3.Error:
            return 0

    while count() == 0 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    partial = count()
    assert 0 < partial < n, "the scan must be killed part-way for this test to mean anything"
    done = subprocess.run([*cmd, "--json"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    [summary] = json.loads(done.stdout)
    assert summary["resumed"] is True
    assert summary["summary"]["packages"]["fixity"] == {
        "listed": n,
        "ok": n - 3,
        "mismatch": 3,
        "missing": 0,
        "not_listed": 0,
        "unverified": 0,
    }
    with sqlite3.connect(db) as con:
        assert con.execute("SELECT COUNT(*) FROM package_files").fetchone()[0] == n
        verdicts = dict(
            con.execute("SELECT verdict, COUNT(*) FROM package_files GROUP BY 1").fetchall()
        )
    assert verdicts == {"ok": n - 3, "mismatch": 3}
