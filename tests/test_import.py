"""preserveplan import droid-csv / sf: profiles made elsewhere become scans.

The Siegfried inputs are made here from real identifications (pygfried runs the Siegfried engine
in-process; the ``sf`` program itself is not packaged for Debian), written byte for byte in the
layouts of sf's writers (pkg/writer/writer.go: -json, -yaml, -csv, with -hash sha256 and -z
``archive#member`` names). The DROID round trip goes through our own ``export --format
droid-csv``; the files in tests/data/import are DROID 6 exports in DROID's own layout.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import shutil
import sqlite3
import tempfile
import tracemalloc
import zipfile
from datetime import datetime
from pathlib import Path
from typing import Any

import pygfried
import pytest
from click.testing import CliRunner
from conftest import rows
from util import pdf_bytes, png_bytes

from preserveplan import Catalog, scan
from preserveplan.cli import main
from preserveplan.export import export
from preserveplan.importers import (
    ImportFormatError,
    detect_format,
    import_droid_csv,
    import_siegfried,
)

DATA = Path(__file__).parent / "data" / "import"
COMPARED = ("path", "parent", "disk_path", "kind", "size", "sha256", "org", "ext")
IDENT = ("puid", "format", "version", "mime")


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


# -- a real tree -------------------------------------------------------------------------------
def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """Two organisations, odd names (åäö, spaces, a newline, quotes, '#'), a ZIP with a folder
    and a nested ZIP, an empty file, an unidentifiable file and a file at the root."""
    root = tmp_path / "e-arkiv"
    falun = root / "Falun" / "KS protokoll"
    falun.mkdir(parents=True)
    (falun / "protokoll 2019 åäö.pdf").write_bytes(pdf_bytes("protokoll"))
    (falun / "bild med 'citat'.png").write_bytes(png_bytes(seed=3))
    (root / "Falun" / "leverans.zip").write_bytes(
        _zip(
            {
                "Bilagor/karta å.png": png_bytes(seed=9),
                "readme.txt": b"Leverans 2024\n",
                "inre.zip": _zip({"djup/brev.pdf": pdf_bytes("djup")}),
            }
        )
    )
    saeter = root / "Säter"
    saeter.mkdir()
    (saeter / "rad\nbrytning.txt").write_bytes(b"two\nlines\n")
    (saeter / "C# anteckningar.txt").write_bytes(b"not a member\n")
    (saeter / "tom.txt").write_bytes(b"")
    (saeter / "okänd.bin").write_bytes(bytes(range(256)) * 4)
    (saeter / "dubblett.pdf").write_bytes(pdf_bytes("protokoll"))
    (root / "förteckning.txt").write_bytes("Förteckning över leveranser\n".encode())
    return root


def _by_path(db: Path, scan_id: int) -> dict[bytes, dict[str, Any]]:
    return {p: r for p, r in rows(db, scan_id).items()}


def _compare(original: dict[bytes, dict[str, Any]], imported: dict[bytes, dict[str, Any]]) -> int:
    """Every field the profile carries is equal, row by row; returns the rows compared."""
    assert sorted(imported) == sorted(original)
    for path, a in original.items():
        b = imported[path]
        for key in (*COMPARED, *IDENT):
            assert b[key] == a[key], (path, key, a[key], b[key])
        assert (b["container"] is None) == (a["container"] is None), path
        if a["mtime_ns"] is not None and a["kind"] == "file":
            assert b["mtime_ns"] == a["mtime_ns"] // 10**9 * 10**9, path
        if a["outcome"] in ("ok", "empty"):
            assert b["outcome"] == a["outcome"], path
    return len(original)


# -- the round trip (required) -------------------------------------------------------------------
def test_droid_csv_round_trip_gives_the_same_catalog(tree: Path, tmp_path: Path) -> None:
    db, db2 = tmp_path / "a.db", tmp_path / "b.db"
    [result] = scan(tree, db=db, workers=2)
    profile = tmp_path / "inventering.csv"
    with Catalog(db) as cat:
        export(cat, result.scan_id, "droid-csv", profile)
    imported = import_droid_csv(profile, db=db2)
    # The tree has a file at its root, so the derived root is the scanned root itself.
    assert imported.root == str(tree)
    assert "derived" in imported.summary["import"]["root"]
    original, copy = _by_path(db, result.scan_id), _by_path(db2, imported.scan_id)
    assert _compare(original, copy) == 13
    assert b"S\xc3\xa4ter/rad\nbrytning.txt" in copy
    nested = copy[b"Falun/leverans.zip!/inre.zip!/djup/brev.pdf"]
    assert nested["parent"] == b"Falun/leverans.zip!/inre.zip"
    assert nested["disk_path"] == b"Falun/leverans.zip"
    assert nested["kind"] == "member" and nested["org"] == "Falun"
    # Fields DROID does not carry are not invented: the format class comes from PRONOM itself.
    assert copy[b"Falun/KS protokoll/protokoll 2019 \xc3\xa5\xc3\xa4\xc3\xb6.pdf"]["class"]
    with Catalog(db2) as cat:
        record = cat.scan(imported.scan_id)
    assert record.status == "complete"
    assert record.options["import"]["format"] == "droid-csv"
    assert (
        record.options["import"]["source_sha256"]
        == hashlib.sha256(profile.read_bytes()).hexdigest()
    )
    assert record.signature_key.startswith("import droid-csv sha256:")
    # The same export re-imported into the same catalog shares the identifications.
    again = import_droid_csv(profile, db=db2)
    assert _compare(original, _by_path(db2, again.scan_id)) == 13
    with sqlite3.connect(db2) as con:
        assert con.execute("SELECT COUNT(*) FROM signatures").fetchone()[0] == 1


def test_droid_csv_round_trip_of_the_corpus(corpus_scan: tuple[Path, int], tmp_path: Path) -> None:
    db, scan_id = corpus_scan
    profile = tmp_path / "corpus.csv"
    with Catalog(db) as cat:
        export(cat, scan_id, "droid-csv", profile)
        root = cat.scan(scan_id).root
    db2 = tmp_path / "b.db"
    imported = import_droid_csv(profile, db=db2, root=root)
    original = _by_path(db, scan_id)
    skipped = {p for p, r in original.items() if r["kind"] not in ("file", "member")}
    copy = _by_path(db2, imported.scan_id)
    assert not skipped - set(copy)  # every row came back (kind is lossy only for folders)
    n = _compare(
        {p: r for p, r in original.items() if p not in skipped},
        {p: r for p, r in copy.items() if p not in skipped},
    )
    assert n > 700
    assert imported.summary["import"]["members"] == sum(
        1 for r in original.values() if r["kind"] == "member"
    )


# -- Siegfried: sf's output layouts, from real identifications -------------------------------------
SF_FIELDS = ["namespace", "id", "format", "version", "mime", "class", "basis", "warning"]


def _sf_records(root: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """What ``sf -z -hash sha256 ROOT`` reports: every file in walk order, archive members
    right after their archive as ``archive#member``; identifications by the real engine."""
    scanner = pygfried.Scanner()
    head: dict[str, Any] = {}
    out: list[dict[str, Any]] = []

    def ident(path: str, name: str, data: bytes, modified: str) -> None:
        nonlocal head
        result = scanner.identify(path, detailed=True)
        head = {k: result[k] for k in ("siegfried", "scandate", "signature", "created")}
        head["identifiers"] = result["identifiers"]
        rec = dict(result["files"][0])
        rec.update(filename=name, filesize=len(data), modified=modified)
        rec["sha256"] = hashlib.sha256(data).hexdigest()
        out.append(rec)
        if any(m["id"] == "x-fmt/263" for m in rec["matches"]):
            with zipfile.ZipFile(io.BytesIO(data)) as zf, tempfile.TemporaryDirectory() as tmp:
                for info in zf.infolist():
                    if info.is_dir():
                        continue
                    member = zf.read(info)
                    ext = os.path.splitext(info.filename)[1]
                    copy = os.path.join(tmp, f"m{len(out)}{ext}")
                    Path(copy).write_bytes(member)
                    when = datetime(*info.date_time).astimezone().isoformat(timespec="seconds")
                    ident(copy, f"{name}#{info.filename}", member, when)

    def walk(folder: Path) -> None:
        for entry in sorted(folder.iterdir(), key=lambda p: p.name):
            if entry.is_dir():
                walk(entry)
                continue
            data = entry.read_bytes()
            when = datetime.fromtimestamp(entry.stat().st_mtime).astimezone()
            ident(str(entry), str(entry), data, when.isoformat(timespec="seconds"))

    walk(root)
    return head, out


def _json_escape(text: str) -> str:
    out = text.replace("\\", "\\\\").replace('"', '\\"')
    for c in range(0x1A):
        out = out.replace(chr(c), f"\\u{c:04X}")
    return out


def write_sf_json(head: dict[str, Any], recs: list[dict[str, Any]], target: Path) -> None:
    parts = [
        f'{{"siegfried":"{head["siegfried"]}","scandate":"{head["scandate"]}",'
        f'"signature":"{head["signature"]}","created":"{head["created"]}","identifiers":['
        + ",".join(
            f'{{"name":"{i["name"]}","details":"{i["details"]}"}}' for i in head["identifiers"]
        )
        + '],"files":['
    ]
    files = []
    for r in recs:
        matches = ",".join(
            "{"
            + '",'.join(
                f'"{"ns" if f == "namespace" else f}":"'
                + m.get("ns" if f == "namespace" else f, "")
                for f in m["_fields"]
            )
            + '"}'
            for m in r["matches"]
        )
        digest = f'"sha256":"{r["sha256"]}",' if r.get("sha256") else ""
        files.append(
            f'{{"filename":"{_json_escape(r["filename"])}","filesize": {r["filesize"]},'
            f'"modified":"{r["modified"]}","errors": "{r["errors"]}",{digest}"matches": '
            f"[{matches}]}}"
        )
    target.write_text(parts[0] + ",".join(files) + "]}\n", encoding="utf-8")


def write_sf_yaml(head: dict[str, Any], recs: list[dict[str, Any]], target: Path) -> None:
    def q(v: str) -> str:
        return "'" + v.replace("'", "''") + "'" if v else ""

    out = [
        f"---\nsiegfried   : {head['siegfried']}\nscandate    : {head['scandate']}\n"
        f"signature   : {head['signature']}\ncreated     : {head['created']}\nidentifiers : \n"
    ]
    for i in head["identifiers"]:
        out.append(f"  - name    : '{i['name']}'\n    details : '{i['details']}'\n")
    for r in recs:
        errors = q(r["errors"])
        digest = f"{'sha256':<8} : {r['sha256']}\n" if r.get("sha256") else ""
        out.append(
            f"---\nfilename : {q(r['filename'])}\nfilesize : {r['filesize']}\n"
            f"modified : {r['modified']}\nerrors   : {errors}\n{digest}matches  :\n"
        )
        for m in r["matches"]:
            fields = m["_fields"]
            width = max(len(f) for f in fields if f != "namespace")
            lines = []
            for f in fields:
                key = "ns" if f == "namespace" else f
                lines.append(f"{key:<{width}} : {q(m.get(key, ''))}")
            out.append("  - " + "\n    ".join(lines) + "\n")
    target.write_text("".join(out), encoding="utf-8")


def write_sf_csv(head: dict[str, Any], recs: list[dict[str, Any]], target: Path) -> None:
    groups = [i["_fields"] for i in head["identifiers"]]
    with open(target, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(
            [
                "filename",
                "filesize",
                "modified",
                "errors",
                "sha256",
                *(f for g in groups for f in g),
            ]
        )
        for r in recs:
            base = [r["filename"], r["filesize"], r["modified"], r["errors"], r["sha256"]]
            rows_out: list[list[str]] = []
            for gi, fields in enumerate(groups):
                name = head["identifiers"][gi]["name"]
                mine = [m for m in r["matches"] if m["ns"] == name]
                for k, m in enumerate(mine):
                    while len(rows_out) <= k:
                        rows_out.append(base + [""] * sum(len(g) for g in groups))
                    start = 5 + sum(len(g) for g in groups[:gi])
                    for j, f in enumerate(fields):
                        rows_out[k][start + j] = m.get("ns" if f == "namespace" else f, "")
            if not rows_out:
                rows_out.append(base + [""] * sum(len(g) for g in groups))
            w.writerows(rows_out)


def _sf_profile(root: Path, target: Path, fmt: str, *, second_identifier: bool = False) -> Path:
    head, recs = _sf_records(root)
    for i in head["identifiers"]:
        i["_fields"] = SF_FIELDS
    for r in recs:
        for m in r["matches"]:
            m["_fields"] = SF_FIELDS
    if second_identifier:
        # A second identifier answering first (as with sf -sig built by roy with -tika): the
        # PRONOM answer must still be the one kept, and the other kept among the matches.
        tika = ["namespace", "id", "format", "mime", "basis", "warning"]
        head["identifiers"].insert(
            0, {"name": "tika", "details": "tika-mimetypes.xml", "_fields": tika}
        )
        for r in recs:
            mime = r["matches"][0].get("mime") if r["matches"] else ""
            r["matches"].insert(
                0,
                {
                    "ns": "tika",
                    "id": mime or "UNKNOWN",
                    "format": "",
                    "mime": mime,
                    "basis": "extension match",
                    "warning": "",
                    "_fields": tika,
                },
            )
    {"json": write_sf_json, "yaml": write_sf_yaml, "csv": write_sf_csv}[fmt](head, recs, target)
    return target


@pytest.mark.parametrize("fmt", ["json", "yaml", "csv"])
def test_sf_output_imports_like_a_scan_of_the_same_tree(
    fmt: str, tree: Path, tmp_path: Path
) -> None:
    db = tmp_path / "c.db"
    [result] = scan(tree, db=db, workers=2)
    profile = _sf_profile(tree, tmp_path / f"sf.{fmt}", fmt)
    assert detect_format(profile) == f"sf-{fmt}"
    imported = import_siegfried(profile, db=db, label="sf 2026")
    assert imported.root == str(tree)
    original, copy = _by_path(db, result.scan_id), _by_path(db, imported.scan_id)
    assert sorted(copy) == sorted(original)
    for path, a in original.items():
        b = copy[path]
        for key in (*COMPARED, *IDENT, "class", "basis", "warning", "errors", "match_count"):
            assert b[key] == a[key], (fmt, path, key, a[key], b[key])
        assert b["outcome"] == a["outcome"], path
        assert (b["container"] is None) == (a["container"] is None), path
    # '#' in a name on disk is not a member separator; it is one after an archive.
    assert copy[b"S\xc3\xa4ter/C# anteckningar.txt"]["kind"] == "file"
    assert copy[b"Falun/leverans.zip!/inre.zip"]["container"] == "expanded"
    with Catalog(db) as cat:
        record = cat.scan(imported.scan_id)
    head, _ = _sf_records(tree / "Säter")
    assert record.label == "sf 2026"
    if fmt != "csv":  # sf -csv has no header: the versions are not in the file
        assert record.siegfried_version == head["siegfried"] == pygfried.version()
        assert record.signature_created == head["created"]
        assert head["identifiers"][0]["details"] in record.signature
        assert record.options["import"]["siegfried"] == head["siegfried"]
    else:
        assert record.siegfried_version == "-" and "no version" in record.signature
    assert record.options["import"]["hash"] == "sha256"


@pytest.mark.parametrize("fmt", ["json", "yaml", "csv"])
def test_sf_with_two_identifiers_keeps_pronom_and_every_match(
    fmt: str, tree: Path, tmp_path: Path
) -> None:
    profile = _sf_profile(tree, tmp_path / f"sf.{fmt}", fmt, second_identifier=True)
    db = tmp_path / "c.db"
    imported = import_siegfried(profile, db=db)
    copy = _by_path(db, imported.scan_id)
    pdf = copy[b"Falun/KS protokoll/protokoll 2019 \xc3\xa5\xc3\xa4\xc3\xb6.pdf"]
    assert pdf["puid"].startswith("fmt/") and pdf["match_count"] == 1
    every = json.loads(pdf["matches"])
    assert [m["ns"] for m in every] == ["tika", "pronom"]
    assert every[0]["id"] == "application/pdf"


def test_sf_without_hash_or_members(tree: Path, tmp_path: Path) -> None:
    """sf without -hash and -z: no checksums (files.sha256 NULL), archives not expanded."""
    head, recs = _sf_records(tree)
    kept = []
    for r in recs:
        if "#" in r["filename"] and not r["filename"].endswith("anteckningar.txt"):
            continue
        r.pop("sha256")
        for m in r["matches"]:
            m["_fields"] = SF_FIELDS
        kept.append(r)
    for i in head["identifiers"]:
        i["_fields"] = SF_FIELDS
    profile = tmp_path / "plain.json"
    write_sf_json(head, kept, profile)
    db = tmp_path / "c.db"
    imported = import_siegfried(profile, db=db)
    copy = _by_path(db, imported.scan_id)
    assert len(copy) == 9 and all(r["sha256"] is None for r in copy.values())
    assert all(r["puid"] for r in copy.values())
    assert copy[b"Falun/leverans.zip"]["container"] == "not_expanded"
    summary = imported.summary["import"]
    assert summary["without_sha256"] == 9 and summary["with_sha256"] == 0
    with sqlite3.connect(db) as con:
        keys = [k for (k,) in con.execute("SELECT sha256 FROM identifications")]
    # identifications keyed by what they say: never something that looks like a file checksum
    assert keys and all(k.startswith("ident:") and len(k) == 70 for k in keys)


def test_sf_yaml_keeps_quotes_and_line_breaks_in_names(tmp_path: Path) -> None:
    root = tmp_path / "a"
    root.mkdir()
    (root / "it's\n'quoted'.txt").write_bytes(b"x")
    profile = _sf_profile(root, tmp_path / "sf.yaml", "yaml")
    db = tmp_path / "c.db"
    imported = import_siegfried(profile, db=db)
    assert list(_by_path(db, imported.scan_id)) == [b"it's\n'quoted'.txt"]


# -- DROID exports -----------------------------------------------------------------------------
def test_droid_6_export_with_folders_members_and_no_hash(tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    result = import_droid_csv(DATA / "droid-6.6-nohash.csv", db=db)
    assert result.root == "/srv/e-arkiv"
    assert "the folder the profile was made of" in result.summary["import"]["root"]
    got = _by_path(db, result.scan_id)
    s = result.summary["import"]
    assert s["folders"] == 6 and s["files"] == 9 and s["members"] == 4 and s["containers"] == 2
    assert s["identified"] == 9 and s["unidentified"] == 3
    member = got[b"Falun/leverans.zip!/Bilagor/karta \xc3\xa5.png"]
    assert member["parent"] == b"Falun/leverans.zip" and member["kind"] == "member"
    assert member["puid"] == "fmt/11" and member["org"] == "Falun"
    nested = got[b"Falun/leverans.zip!/inre.zip!/brev.txt"]
    assert nested["parent"] == b"Falun/leverans.zip!/inre.zip"
    assert nested["disk_path"] == b"Falun/leverans.zip"
    assert got[b"Falun/leverans.zip"]["container"] == "expanded"
    html = got[b"S\xc3\xa4ter/webb/index.html"]
    assert html["match_count"] == 2 and html["puid"] == "fmt/96"
    assert [m["id"] for m in json.loads(html["matches"])] == ["fmt/96", "fmt/471"]
    assert got[b"S\xc3\xa4ter/hemligt.docx"]["outcome"] == "unreadable"
    assert got[b"S\xc3\xa4ter/hemligt.docx"]["puid"] is None
    assert got[b"S\xc3\xa4ter/borta.txt"]["outcome"] == "vanished"
    assert got[b"S\xc3\xa4ter/data.bin"]["puid"] == "UNKNOWN"
    assert got[b"S\xc3\xa4ter/tom.txt"]["outcome"] == "empty"
    assert got[b"S\xc3\xa4ter/tom.txt"]["warning"] == "match on extension only"
    assert "extension mismatch" in got[b"S\xc3\xa4ter/foto.jpg"]["warning"]
    locked = got[b"Borl\xc3\xa4nge/l\xc3\xa5st"]
    assert locked["kind"] == "directory" and locked["outcome"] == "unreadable"
    assert all(r["sha256"] is None for r in got.values())
    assert got[b"Falun/KS protokoll 2019.pdf"]["mtime_ns"] == 1707642902 * 10**9


def test_droid_6_7_windows_export_with_sha256_and_numbered_columns(tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    result = import_droid_csv(DATA / "droid-6.7-windows.csv", db=db, org_depth=1)
    # Two folders were added to the profile: the root is their common parent.
    assert result.root == "C:/Arkiv"
    got = _by_path(db, result.scan_id)
    assert sorted(got) == [
        b"Borl\xc3\xa4nge/Protokoll/KS 2019.pdf",
        b"Borl\xc3\xa4nge/arkiv.zip",
        b"Borl\xc3\xa4nge/arkiv.zip!/bilaga.doc",
        b"Ludvika/karta.tif",
    ]
    doc = got[b"Borl\xc3\xa4nge/arkiv.zip!/bilaga.doc"]
    assert doc["match_count"] == 2 and doc["puid"] == "fmt/40"
    assert doc["sha256"] == "a" * 64
    assert {r["org"] for r in got.values()} == {"Borlänge", "Ludvika"}


def test_droid_one_row_per_format(tmp_path: Path) -> None:
    """DROID's 'one row per format' export repeats a file's row for each format."""
    src = (DATA / "droid-6.6-nohash.csv").read_text(encoding="utf-8").splitlines()
    header, body = src[0], src[1:]
    out = [header]
    for line in body:
        fields = next(csv.reader([line]))
        if len(fields) > 18:
            out.append(",".join(f'"{f}"' for f in fields[:18]))
            out.append(",".join(f'"{f}"' for f in fields[:14] + fields[18:22]))
        else:
            out.append(line)
    profile = tmp_path / "per-format.csv"
    profile.write_text("\n".join(out) + "\n", encoding="utf-8")
    db = tmp_path / "c.db"
    result = import_droid_csv(profile, db=db)
    html = _by_path(db, result.scan_id)[b"S\xc3\xa4ter/webb/index.html"]
    assert [m["id"] for m in json.loads(html["matches"])] == ["fmt/96", "fmt/471"]
    assert result.summary["import"]["files"] == 9


def test_rows_outside_the_root_and_repeated_paths_are_counted(tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    src = (DATA / "droid-6.6-nohash.csv").read_text(encoding="utf-8")
    lines = src.splitlines()
    profile = tmp_path / "p.csv"
    profile.write_text("\n".join([*lines, lines[5]]) + "\n", encoding="utf-8")
    result = import_droid_csv(profile, db=db, root="/srv/e-arkiv/Falun")
    s = result.summary["import"]
    assert s["skipped"]["repeated path"] == 1
    assert s["skipped"]["outside the root"] == 7  # Säter's files and Borlänge's locked folder
    assert f"line {len(lines) + 1}:" in s["warnings"]["skipped: repeated path"]["examples"][0]
    code, out, err = invoke(
        "import",
        "droid-csv",
        str(profile),
        "--db",
        str(tmp_path / "d.db"),
        "--root",
        "/srv/e-arkiv/Falun",
    )
    assert code == 0
    assert "8 rows skipped: outside the root 7, repeated path 1" in out
    assert "skipped: outside the root: 7" in err and "line " in err


# -- bad input -----------------------------------------------------------------------------------
def test_bad_profiles_fail_clearly_and_leave_no_complete_scan(tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    missing = tmp_path / "missing-cols.csv"
    missing.write_text('"ID","URI","NAME"\n"1","file:/x/a.txt","a.txt"\n', encoding="utf-8")
    code, _, err = invoke("import", "droid-csv", str(missing), "--db", str(db))
    assert code == 1
    assert "line 1: missing required column(s) TYPE, SIZE, PUID" in err
    assert "Traceback" not in err

    lines = (DATA / "droid-6.6-nohash.csv").read_text(encoding="utf-8").splitlines()
    bad = [lines[0]]
    for i in range(2600):  # more than one batch is committed before the bad row
        bad.append(
            f'"{i + 10}","","file:/a/f{i}.txt","/a/f{i}.txt","f{i}.txt","Extension","Done",'
            f'"{i}","File","txt","2024-01-01T00:00:00","false","","1","x-fmt/111","text/plain",'
            '"Plain Text File",""'
        )
    bad.append(
        '"9999","","file:/a/x.txt","/a/x.txt","x.txt","","Done","12kB","File","txt","","false",'
        '"","","","","",""'
    )
    size_csv = tmp_path / "bad-size.csv"
    size_csv.write_text("\n".join(bad) + "\n", encoding="utf-8")
    code, _, err = invoke("import", "droid-csv", str(size_csv), "--db", str(db), "--root", "/a")
    assert code == 1
    assert f"line {len(bad)}: SIZE '12kB' is not a number" in err
    with Catalog(db) as cat:
        [record] = cat.scans()
        assert record.status == "failed" and "SIZE" in record.summary["error"]
        assert cat.row_count(record.id) == 0
    with pytest.raises(ImportFormatError, match="SHA256_HASH"):
        p = tmp_path / "sha.csv"
        p.write_text(
            (DATA / "droid-6.7-windows.csv").read_text(encoding="utf-8").replace("a" * 64, "zz"),
            encoding="utf-8",
        )
        import_droid_csv(p, db=db)

    text = tmp_path / "notes.txt"
    text.write_text("just some notes\n", encoding="utf-8")
    code, _, err = invoke("import", "sf", str(text), "--db", str(db))
    assert code == 1 and "not a DROID CSV export nor Siegfried output" in err

    code, _, err = invoke("import", "sf", str(DATA / "droid-6.6-nohash.csv"), "--db", str(db))
    assert code == 2 and "import droid-csv" in err

    broken = tmp_path / "broken.json"
    broken.write_text('{"siegfried":"1.11.1","files":[{"filename":"a","filesize": 1,', "utf-8")
    code, _, err = invoke("import", "sf", str(broken), "--db", str(db))
    assert code == 1 and "not valid JSON" in err

    yaml = tmp_path / "bad.yaml"
    yaml.write_text("---\nsiegfried : 1.11.1\n---\nfilename : 'a'\nfilesize : many\n", "utf-8")
    code, _, err = invoke("import", "sf", str(yaml), "--db", str(db))
    assert code == 1 and "line 3: filesize 'many' is not a number" in err
    with Catalog(db) as cat:
        assert all(r.status == "failed" for r in cat.scans())


def test_the_catalog_lock_is_respected(tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    holder = Catalog(db)
    holder.lock()
    try:
        code, _, err = invoke(
            "import", "droid-csv", str(DATA / "droid-6.6-nohash.csv"), "--db", str(db)
        )
    finally:
        holder.close()
    assert code == 4 and "in use" in err


# -- memory and the later stages -----------------------------------------------------------------
def _big_droid(target: Path, n: int) -> Path:
    with open(target, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, quoting=csv.QUOTE_ALL)
        w.writerow(next(csv.reader([(DATA / "droid-6.6-nohash.csv").open().readline()])))
        for i in range(n):
            p = f"/arkiv/Org{i % 7}/d{i // 500}/f{i}.pdf"
            w.writerow(
                [
                    i + 2,
                    "",
                    "file:" + p,
                    p,
                    f"f{i}.pdf",
                    "Signature",
                    "Done",
                    1000 + i,
                    "File",
                    "pdf",
                    "2020-01-01T00:00:00",
                    "false",
                    "",
                    1,
                    "fmt/18" if i % 3 else "fmt/276",
                    "application/pdf",
                    "Acrobat PDF",
                    "1.4",
                ]
            )
    return target


def _peak(profile: Path, db: Path) -> int:
    tracemalloc.start()
    try:
        import_droid_csv(profile, db=db)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_stays_flat_as_the_profile_grows(tmp_path: Path) -> None:
    small = _peak(_big_droid(tmp_path / "s.csv", 2_500), tmp_path / "s.db")
    large = _peak(_big_droid(tmp_path / "l.csv", 10_000), tmp_path / "l.db")
    assert large < small * 1.3 + 512 * 1024, (small, large)
    with Catalog(tmp_path / "l.db") as cat:
        assert cat.row_count(1) == 10_000


def test_assess_formats_and_report_work_on_an_imported_scan(tree: Path, tmp_path: Path) -> None:
    """The later stages see an imported scan as they see a scan of the same tree."""
    db = tmp_path / "c.db"
    [scanned] = scan(tree, db=db, workers=2)
    profile = _sf_profile(tree, tmp_path / "sf.yaml", "yaml")
    code, out, _ = invoke("import", "sf", str(profile), "--db", str(db), "--json")
    assert code == 0
    result = json.loads(out)
    imported = str(result["scan_id"])
    assert result["summary"]["import"]["members"] == 4
    code, out, _ = invoke("scans", "--db", str(db))
    assert code == 0 and "(imported sf-yaml: sf.yaml)" in out
    summaries = []
    for scan_id in (str(scanned.scan_id), imported):
        code, out, _ = invoke("assess", "--db", str(db), "--scan", scan_id, "--json")
        assert code == 0
        summaries.append(json.loads(out)["summary"])
    assert summaries[1]["files"] == 13
    for key in ("status", "risk", "findings", "by_org"):
        assert summaries[1][key] == summaries[0][key], key
    code, out, _ = invoke("formats", "--db", str(db), "--scan", imported, "--json")
    assert code == 0
    profile_rows = json.loads(out)["formats"]
    code, out, _ = invoke("formats", "--db", str(db), "--scan", str(scanned.scan_id), "--json")
    assert profile_rows == json.loads(out)["formats"]
    assert any(r["puid"] == "x-fmt/263" for r in profile_rows)
    report = tmp_path / "rapport.html"
    code, out, _ = invoke("report", "--db", str(db), "--scan", imported, "-o", str(report))
    assert code == 0 and report.is_file()
    html = report.read_text(encoding="utf-8")
    assert "x-fmt/263" in html and pygfried.version() in html
    code, out, _ = invoke(
        "report", "--db", str(db), "--scan", imported, "--kind", "management", "-o", str(report)
    )
    assert code == 0


def test_detect_format_reads_content_not_the_name(tmp_path: Path, tree: Path) -> None:
    profile = _sf_profile(tree, tmp_path / "profile.txt", "json")
    assert detect_format(profile) == "sf-json"
    renamed = tmp_path / "export.dat"
    shutil.copy(DATA / "droid-6.6-nohash.csv", renamed)
    assert detect_format(renamed) == "droid-csv"


def test_a_real_scan_never_builds_on_an_imported_profile(tree: Path, tmp_path: Path) -> None:
    """A profile imported for a root is not the base of a later real scan of that root: its
    checksums (or their absence) and identifications are not reused; every file is read."""
    db, db2 = tmp_path / "a.db", tmp_path / "b.db"
    [first] = scan(tree, db=db, workers=2)
    profile = tmp_path / "inventering.csv"
    with Catalog(db) as cat:
        export(cat, first.scan_id, "droid-csv", profile)
    imported = import_droid_csv(profile, db=db2)
    [real] = scan(tree, db=db2, workers=2)
    with Catalog(db2) as cat:
        assert cat.scan(real.scan_id).base_scan_id is None
        assert cat.last_complete_scan(str(tree).encode(), scanned=True) == real.scan_id
        assert cat.last_complete_scan(str(tree).encode(), real.scan_id) == imported.scan_id

    def key(rows: dict[bytes, dict[str, Any]]) -> dict[bytes, tuple[Any, ...]]:
        return {p: (r["sha256"], r["size"], r["puid"], r["outcome"]) for p, r in rows.items()}

    assert key(_by_path(db, first.scan_id)) == key(_by_path(db2, real.scan_id))
