"""Bad input never aborts a scan: every odd thing gets a recorded, named outcome."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import zipfile
from pathlib import Path

import pytest
from conftest import rows
from util import nobody_python, png_bytes

from preserveplan import scan
from preserveplan.catalog import Catalog
from preserveplan.export import records
from preserveplan.inventory.fixity import sha256_file

NEWLINE = b"line\nbreak.txt"
INVALID = b"ogiltig-\xff\xfe-namn.txt"


@pytest.fixture
def bad_tree(tmp_path: Path) -> Path:
    root = tmp_path / "arkiv"
    (root / "Säter" / "Protokoll").mkdir(parents=True)
    (root / "Falun").mkdir()
    (root / "Säter" / "Protokoll" / "tom fil.docx").write_bytes(b"")
    (root / "Säter" / "Protokoll" / "brev åäö.txt").write_text("Hej från Säter\n", "utf-8")
    (root / "Falun" / "bild.jpg").write_bytes(png_bytes())  # a PNG with the wrong extension
    # A ZIP cut short: central directory missing.
    good = root / "Falun" / "full.zip"
    with zipfile.ZipFile(good, "w") as zf:
        zf.writestr("a.txt", "x" * 5000)
    data = good.read_bytes()
    (root / "Falun" / "trasig.zip").write_bytes(data[: len(data) // 2])
    # Names that are not valid UTF-8 or hold a newline.
    os.makedirs(os.fsencode(root / "Ludvika"))
    with open(os.path.join(os.fsencode(root / "Ludvika"), NEWLINE), "wb") as fh:
        fh.write(b"newline in the name\n")
    with open(os.path.join(os.fsencode(root / "Ludvika"), INVALID), "wb") as fh:
        fh.write(b"latin-1 name\n")
    # Links: loop, dangling, to a file, to a directory above (loop when followed).
    os.symlink("loop-b", root / "Ludvika" / "loop-a")
    os.symlink("loop-a", root / "Ludvika" / "loop-b")
    os.symlink("finns-inte.pdf", root / "Ludvika" / "dangling.pdf")
    os.symlink("../Falun/bild.jpg", root / "Ludvika" / "länk.jpg")
    os.symlink("..", root / "Ludvika" / "upp")
    # Special files: recorded, never opened (opening a FIFO would hang).
    os.mkfifo(root / "Ludvika" / "fifo")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(root / "Ludvika" / "sock"))
    sock.close()
    # Unreadable file and folder (root ignores modes; the test for that runs as nobody).
    (root / "Borlänge" / "Låst").mkdir(parents=True)
    (root / "Borlänge" / "Låst" / "hemlig.txt").write_text("secret")
    (root / "Borlänge" / "låst.txt").write_text("secret")
    return root


def test_every_bad_input_gets_an_outcome(bad_tree: Path, db: Path) -> None:
    [result] = scan(bad_tree, db=db, workers=2)
    found = rows(db, result.scan_id)
    out = {p: r["outcome"] for p, r in found.items()}
    assert out["Säter/Protokoll/tom fil.docx".encode()] == "empty"
    assert out["Säter/Protokoll/brev åäö.txt".encode()] == "ok"
    assert out[b"Falun/trasig.zip"] in ("ok", "identify_error")
    assert found[b"Falun/trasig.zip"]["container"] in (None, "error")
    assert out[b"Ludvika/" + NEWLINE] == "ok"
    assert out[b"Ludvika/" + INVALID] == "ok"
    assert found[b"Ludvika/" + INVALID]["puid"] == "x-fmt/111"
    assert out[b"Ludvika/loop-a"] == "symlink_loop"
    assert out[b"Ludvika/dangling.pdf"] == "dangling_symlink"
    assert out["Ludvika/länk.jpg".encode()] == "symlink"
    assert out[b"Ludvika/upp"] == "symlink"
    assert out[b"Ludvika/fifo"] == "special"
    assert out[b"Ludvika/sock"] == "special"
    # A PNG named .jpg is identified by content, with Siegfried's extension-mismatch warning.
    assert found[b"Falun/bild.jpg"]["puid"] in ("fmt/11", "fmt/12", "fmt/13")
    assert "extension mismatch" in (found[b"Falun/bild.jpg"]["warning"] or "")
    # Organisation is the top-level folder.
    assert found["Säter/Protokoll/tom fil.docx".encode()]["org"] == "Säter"
    # Counted in the summary.
    assert result.summary["outcomes"]["special"] == 2


def test_following_symlinks_detects_loops(bad_tree: Path, db: Path) -> None:
    [result] = scan(bad_tree, db=db, workers=1, follow_symlinks=True)
    found = rows(db, result.scan_id)
    assert found[b"Ludvika/upp"]["outcome"] == "symlink_loop"
    assert found["Ludvika/länk.jpg".encode()]["outcome"] == "ok"
    assert found["Ludvika/länk.jpg".encode()]["sha256"] == found[b"Falun/bild.jpg"]["sha256"]


def test_odd_names_round_trip_through_export(bad_tree: Path, db: Path) -> None:
    [result] = scan(bad_tree, db=db, workers=1)
    with Catalog(db) as cat:
        recs = {r["path"]: r for r in records(cat, result.scan_id)}
    invalid = os.fsdecode(b"Ludvika/" + INVALID)
    assert recs[invalid]["path_b64"] is not None
    import base64

    assert base64.b64decode(recs[invalid]["path_b64"]) == b"Ludvika/" + INVALID
    assert os.fsencode(invalid) == b"Ludvika/" + INVALID
    assert recs["Ludvika/line\nbreak.txt"]["path_b64"] is None


def test_scan_does_not_change_originals(bad_tree: Path, db: Path) -> None:
    def state() -> list[tuple[str, int, int, int]]:
        out = []
        for dirpath, dirnames, filenames in os.walk(bad_tree):
            for name in dirnames + filenames:
                st = os.lstat(os.path.join(dirpath, name))
                out.append((os.path.join(dirpath, name), st.st_size, st.st_mtime_ns, st.st_mode))
        return sorted(out)

    before = state()
    scan(bad_tree, db=db, workers=1)
    assert state() == before


def test_unreadable_file_and_folder_as_unprivileged_user(bad_tree: Path, tmp_path: Path) -> None:
    """Root reads mode-000 files, so the scan runs as nobody to meet a real EACCES."""
    (bad_tree / "Borlänge" / "låst.txt").chmod(0)
    (bad_tree / "Borlänge" / "Låst").chmod(0)
    for p in [tmp_path, *tmp_path.parents]:
        if p == Path("/"):
            break
        p.chmod(p.stat().st_mode | 0o005)
    work = tmp_path / "nobody"
    work.mkdir()
    shutil.chown(work, "nobody")
    for dirpath, dirnames, _ in os.walk(bad_tree):
        for d in dirnames:
            path = os.path.join(dirpath, d)
            if not os.path.islink(path) and "Låst" not in d:
                os.chmod(path, 0o755)
    python = nobody_python()
    if python is None:
        pytest.skip("cannot run Python as user nobody here (needs root and runuser)")
    db = work / "c.db"
    proc = subprocess.run(
        [
            *python,
            "-m",
            "preserveplan.cli",
            "scan",
            "-q",
            "--db",
            str(db),
            "--workers",
            "1",
            str(bad_tree),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    found = rows(db, 1)
    assert found["Borlänge/låst.txt".encode()]["outcome"] == "unreadable"
    assert found["Borlänge/Låst".encode()]["outcome"] == "unreadable"
    assert found["Borlänge/Låst".encode()]["kind"] == "directory"


def test_vanished_file(tmp_path: Path) -> None:
    res = sha256_file(os.fsencode(tmp_path / "gone.txt"), 10, 1)
    assert res.outcome == "vanished" and res.sha256 is None


def test_file_changing_while_read_is_flagged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A writer appending during the read cannot be timed reliably for real: simulate the
    append from inside the read loop."""
    target = tmp_path / "growing.log"
    target.write_bytes(b"x" * 3_000_000)
    real_readv = os.readv
    calls = {"n": 0}

    def readv(fd: int, buffers: list[bytearray]) -> int:
        calls["n"] += 1
        if calls["n"] == 2:
            with open(target, "ab") as fh:
                fh.write(b"more")
        return real_readv(fd, buffers)

    monkeypatch.setattr(os, "readv", readv)
    res = sha256_file(os.fsencode(target))
    assert res.outcome == "changed"


def test_top_level_folder_not_utf8_names_the_organisation(tmp_path: Path) -> None:
    """A municipality folder named in Latin-1 (old file servers): the scan, assess, report and
    export all work, and the organisation key shows the byte it could not decode."""
    from click.testing import CliRunner

    from preserveplan.cli import main

    root = tmp_path / "arkiv"
    folder = os.path.join(bytes(root), b"S\xe4ter")
    os.makedirs(folder)
    with open(os.path.join(folder, b"protokoll.png"), "wb") as fh:
        fh.write(png_bytes())
    db = tmp_path / "c.db"
    [result] = scan(root, db=db, workers=1)
    [row] = rows(db, result.scan_id).values()
    assert row["org"] == "S\\xe4ter" and row["path"] == b"S\xe4ter/protokoll.png"
    report = str(tmp_path / "rapport.html")
    for args in (["assess"], ["formats", "--by", "org", "--json"], ["report", "-o", report]):
        res = CliRunner().invoke(main, [*args, "--db", str(db)])
        assert res.exit_code == 0, (args, res.output, res.exception)
