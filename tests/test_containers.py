"""Members of ZIP/TAR/7z/gzip are inventoried; bombs and damage are findings, not crashes."""

from __future__ import annotations

import gzip
import io
import tarfile
import zipfile
from pathlib import Path

import libarchive
import pytest
from conftest import rows
from util import pdf_bytes, png_bytes

from preserveplan import scan
from preserveplan.inventory.containers import Limits


def _zip(path: Path, members: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "arkiv"
    root.mkdir()
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as zf:
        zf.writestr("djup/bild.png", png_bytes(seed=7))
    _zip(
        root / "leverans.zip",
        {
            "Protokoll/protokoll 2019.pdf": pdf_bytes("protokoll"),
            "bild.png": png_bytes(),
            "tom.txt": b"",
            "inre.zip": inner.getvalue(),
        },
    )
    with tarfile.open(root / "export.tar.gz", "w:gz") as tf:
        data = b"id;namn\n1;\xc3\x85sa\n"
        info = tarfile.TarInfo("data/tabell.csv")
        info.size = len(data)
        tf.addfile(info, io.BytesIO(data))
    (root / "readme.txt.gz").write_bytes(gzip.compress(b"plain text inside gzip\n" * 20))
    (root / "hello.txt").write_text("hello")
    with libarchive.file_writer(str(root / "paket.7z"), "7zip") as archive:
        archive.add_file_from_memory("a/b.pdf", len(pdf_bytes()), pdf_bytes())
    with libarchive.file_writer(
        str(root / "låst.zip"), "zip", options="encryption=zipcrypt", passphrase="hemligt"
    ) as archive:
        archive.add_file_from_memory("hemlig.pdf", len(pdf_bytes("x")), pdf_bytes("x"))
    return root


def test_members_are_inventoried_with_paths_and_identification(tree: Path, db: Path) -> None:
    [result] = scan(tree, db=db, workers=2)
    found = rows(db, result.scan_id)
    pdf = found[b"leverans.zip!/Protokoll/protokoll 2019.pdf"]
    assert pdf["parent"] == b"leverans.zip"
    assert pdf["puid"] == "fmt/18"
    assert pdf["kind"] == "member"
    assert found[b"leverans.zip!/tom.txt"]["outcome"] == "empty"
    assert found[b"leverans.zip"]["container"] == "expanded"
    nested = found[b"leverans.zip!/inre.zip!/djup/bild.png"]
    assert nested["parent"] == b"leverans.zip!/inre.zip"
    assert nested["puid"] in ("fmt/11", "fmt/12", "fmt/13")
    assert found[b"export.tar.gz!/data/tabell.csv"]["outcome"] == "ok"
    assert found[b"readme.txt.gz!/readme.txt"]["puid"] == "x-fmt/111"
    assert found[b"paket.7z!/a/b.pdf"]["puid"] == "fmt/18"
    locked = found["låst.zip!/hemlig.pdf".encode()]
    assert locked["outcome"] == "encrypted"
    assert found["låst.zip".encode()]["container"] == "encrypted"
    # Members are counted in the format profile and the summary.
    assert result.summary["entries"]["members"] >= 7


def test_member_count_limit(tmp_path: Path, db: Path) -> None:
    root = tmp_path / "a"
    root.mkdir()
    _zip(root / "many.zip", {f"f{i}.txt": b"x%d" % i for i in range(30)})
    [result] = scan(root, db=db, workers=1, limits=Limits(max_members=10))
    found = rows(db, result.scan_id)
    assert found[b"many.zip"]["container"] == "limit"
    assert "members" in found[b"many.zip"]["container_message"]
    assert sum(1 for r in found.values() if r["parent"] == b"many.zip") == 10


def test_expansion_ratio_limit_stops_a_zip_bomb(tmp_path: Path, db: Path) -> None:
    root = tmp_path / "a"
    root.mkdir()
    _zip(root / "bomb.zip", {"zeros.bin": b"\0" * (8 * 1024 * 1024)})
    assert (root / "bomb.zip").stat().st_size < 20_000
    limits = Limits(max_ratio=50, ratio_floor=1024 * 1024)
    [result] = scan(root, db=db, workers=1, limits=limits)
    found = rows(db, result.scan_id)
    assert found[b"bomb.zip"]["container"] == "limit"
    assert "ratio" in found[b"bomb.zip"]["container_message"]
    assert found[b"bomb.zip!/zeros.bin"]["outcome"] == "limit"


def test_expanded_bytes_limit(tmp_path: Path, db: Path) -> None:
    root = tmp_path / "a"
    root.mkdir()
    _zip(root / "big.zip", {"a.bin": b"\1" * 300_000, "b.bin": b"\2" * 300_000})
    [result] = scan(root, db=db, workers=1, limits=Limits(max_expanded=400_000))
    found = rows(db, result.scan_id)
    assert found[b"big.zip"]["container"] == "limit"
    assert found[b"big.zip!/a.bin"]["outcome"] == "ok"


def test_nesting_depth_limit(tmp_path: Path, db: Path) -> None:
    root = tmp_path / "a"
    root.mkdir()
    data = b"innermost\n"
    name = "x.txt"
    for level in range(5):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            zf.writestr(name, data)
        data, name = buf.getvalue(), f"level{level}.zip"
    (root / "nest.zip").write_bytes(data)
    [result] = scan(root, db=db, workers=1, limits=Limits(max_depth=2))
    found = rows(db, result.scan_id)
    deepest = [r for r in found.values() if r["container"] == "limit"]
    assert len(deepest) == 1
    assert deepest[0]["path"].count(b"!/") == 2
    assert "nested deeper" in deepest[0]["container_message"]


def test_damaged_container_is_a_finding(tmp_path: Path, db: Path) -> None:
    root = tmp_path / "a"
    root.mkdir()
    _zip(root / "ok.zip", {f"f{i}.txt": b"%d" % i * 2000 for i in range(5)})
    data = (root / "ok.zip").read_bytes()
    (root / "cut.zip").write_bytes(data[: len(data) * 2 // 3])
    (root / "ok.zip").unlink()
    [result] = scan(root, db=db, workers=1)
    found = rows(db, result.scan_id)
    assert found[b"cut.zip"]["outcome"] in ("ok", "identify_error")
    assert found[b"cut.zip"]["container"] in (None, "error")
