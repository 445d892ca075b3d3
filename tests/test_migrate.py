"""Batch migration with real Ghostscript: validated outputs, journal, resume, PREMIS, faults."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pygfried
import pytest
from click.testing import CliRunner
from conftest import SHARED
from lxml import etree  # type: ignore[import-untyped]
from util import migrate_cmd, pdf_bytes

from preserveplan import Catalog, scan
from preserveplan.cli import main
from preserveplan.migrate.validate import validate_file
from preserveplan.rules import load_ruleset
from preserveplan.rules.assess import assess

MINI = Path(__file__).parent / "data" / "mini-rules.yaml"
pytestmark = pytest.mark.skipif(shutil.which("gs") is None, reason="Ghostscript not installed")


def make_archive(tmp_path: Path, n: int = 4, broken: bool = False) -> tuple[Path, Path]:
    root = tmp_path / "arkiv"
    for i in range(n):
        folder = root / ("Falun" if i % 2 else "Säter") / "Protokoll"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"protokoll {i}.pdf").write_bytes(pdf_bytes(f"protokoll {i} " * 30))
    if broken:  # PDF header and trailer around garbage: identified as PDF, cannot be converted
        (root / "Falun" / "trasig.pdf").write_bytes(
            b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n" + bytes(range(256)) * 20 + b"\n%%EOF\n"
        )
    db = tmp_path / "c.db"
    scan(root, db=db, workers=1)
    with Catalog(db) as cat:
        assess(cat, load_ruleset(MINI))
    return root, db


def digests(root: Path) -> dict[str, str]:
    return {
        str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in root.rglob("*") if p.is_file()
    }


def run_cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_migrate_validates_records_and_resumes(tmp_path: Path) -> None:
    root, db = make_archive(tmp_path, broken=True)
    before = digests(root)
    out = tmp_path / "ut"
    premis = tmp_path / "run.premis.xml"
    code, stdout, err = run_cli(
        "migrate", "--db", str(db), "--out", str(out), "-q", "--limit", "2", "--json"
    )
    assert code == 0, stdout + err
    first = json.loads(stdout)
    assert first["total"] == 5, "the broken PDF is in the plan too"
    assert first["this_run"] == 2 and first["pending"] == 3
    code, stdout, _ = run_cli(
        "migrate", "--db", str(db), "--out", str(out), "-q", "--json", "--premis", str(premis)
    )
    second = json.loads(stdout)
    assert second["resumed"] and second["this_run"] == 3
    assert second["done"] == 4
    assert sum(second["failed"].values()) == 1
    assert second["failed"].keys() <= {"failed", "invalid"}
    # outputs mirror the archive, validated as PDF/A-2b, originals untouched
    outputs = sorted(out.rglob("*.pdf"))
    assert len(outputs) == 4
    assert (out / "Säter" / "Protokoll" / "protokoll 0.pdf").is_file()
    scanner = pygfried.Scanner()
    for path in outputs:
        assert scanner.identify_many([str(path)])["files"][0]["matches"][0]["id"] == "fmt/477"
    assert not list(out.rglob(".*partial*"))
    assert digests(root) == before
    # a third run does nothing
    code, stdout, _ = run_cli("migrate", "--db", str(db), "--out", str(out), "-q", "--json")
    assert json.loads(stdout)["this_run"] == 0
    # every attempt is an event; the journal has no duplicates
    con = sqlite3.connect(db)
    assert con.execute("SELECT COUNT(*) FROM migration_events").fetchone()[0] == 5
    assert con.execute("SELECT COUNT(*), COUNT(DISTINCT output) FROM migrations").fetchone() == (
        5,
        5,
    )
    event = con.execute(
        "SELECT tool_version, command, source_sha256, output_sha256 FROM migration_events "
        "WHERE outcome = 'done' LIMIT 1"
    ).fetchone()
    assert event[0] and "gs" in event[1] and len(event[2]) == 64 and len(event[3]) == 64
    # each event keeps its verdict; what was (not) checked is stored once and joined back
    rows = con.execute(
        "SELECT id, validation FROM migration_events WHERE validation IS NOT NULL"
    ).fetchall()
    assert len(rows) >= 4
    assert con.execute("SELECT COUNT(*) FROM validation_checks").fetchone()[0] == 1
    with Catalog(db, readonly=True) as cat:
        for event_id, stored in rows:
            compact = json.loads(stored)
            assert "checked" not in compact and len(compact["checks"]) == 16
            assert len(stored) < 1000
            full = cat.validation_of(event_id)
            assert full is not None and full["valid"] == compact["valid"]
            assert full["errors"] == compact["errors"]
            assert Path(full["path"]) in outputs  # the output's own name, not a temporary one
            expected = validate_file(Path(full["path"]), "fmt/477").as_json()
            assert (full["checked"], full["not_checked"]) == (
                expected["checked"],
                expected["not_checked"],
            )
    # PREMIS 3 valid against the official schema, with derivation links
    doc = etree.parse(str(premis))
    xsd = SHARED / "reference" / "premis" / "premis-v3-0.xsd"
    if xsd.is_file():
        assert etree.XMLSchema(etree.parse(str(xsd))).validate(doc)
    ns = {"p": "http://www.loc.gov/premis/v3"}
    assert len(doc.xpath("//p:event[p:eventType='migration']", namespaces=ns)) == 5
    # every checked output is a validation event too: passes linked to their derivative
    checked = con.execute("SELECT COUNT(*) FROM migration_events WHERE validation IS NOT NULL")
    validations = doc.xpath("//p:event[p:eventType='validation']", namespaces=ns)
    assert len(validations) == checked.fetchone()[0] >= 4
    passed = [
        v
        for v in validations
        if v.findtext("p:eventOutcomeInformation/p:eventOutcome", namespaces=ns) == "pass"
    ]
    assert len(passed) == 4
    for event in passed:
        linked = event.findtext(
            "p:linkingObjectIdentifier/p:linkingObjectIdentifierValue", namespaces=ns
        )
        assert linked.startswith("derivative:") and linked.endswith(".pdf")
        assert "identified as fmt/477" in event.findtext(
            "p:eventDetailInformation/p:eventDetail", namespaces=ns
        )
    assert len(doc.findall(".//p:relationship", ns)) == 4
    assert doc.find(".//p:agent/p:agentVersion", ns) is not None


def test_migrations_lists_the_journal(tmp_path: Path) -> None:
    """``preserveplan migrations``: the journal file by file, filtered by state, as text, JSON
    lines or CSV; a name that is not UTF-8 comes out readable and exactly (base64)."""
    root, db = make_archive(tmp_path, n=2, broken=True)
    latin = os.path.join(os.fsencode(root), b"Falun", b"f\xf6rslag.pdf")
    with open(latin, "wb") as fh:
        fh.write(pdf_bytes("förslag"))
    scan(root, db=db, workers=1)
    with Catalog(db) as cat:
        assess(cat, load_ruleset(MINI))
    code, stdout, err = run_cli("migrate", "--db", str(db), "--out", str(tmp_path / "ut"), "-q")
    assert code == 0, stdout + err
    code, stdout, err = run_cli("migrations", "--db", str(db))
    assert code == 0 and len(stdout.splitlines()) == 4
    assert "migration run 1: 4 file(s)" in err
    code, stdout, _ = run_cli("migrations", "--db", str(db), "--state", "failed", "--json")
    [failed] = [json.loads(line) for line in stdout.splitlines()]
    assert failed["path"] == "Falun/trasig.pdf" and failed["state"] == "failed"
    assert failed["message"] and failed["run"] == 1 and failed["output_sha256"] is None
    code, stdout, _ = run_cli("migrations", "--db", str(db), "--state", "done", "--csv")
    rows = list(csv.DictReader(io.StringIO(stdout)))
    assert len(rows) == 3 and {r["state"] for r in rows} == {"done"}
    [odd] = [r for r in rows if r["path_b64"]]
    assert odd["path"] == "Falun/f\\xf6rslag.pdf"
    assert base64.b64decode(odd["path_b64"]) == b"Falun/f\xf6rslag.pdf"
    assert base64.b64decode(odd["output_b64"]) == b"Falun/f\xf6rslag.pdf"
    assert all(len(r["output_sha256"]) == 64 and r["output_puid"] == "fmt/477" for r in rows)
    assert run_cli("migrations", "--db", str(db), "--run", "7")[0] == 2
    assert run_cli("migrations", "--db", str(db), "--json", "--csv")[0] == 2
    empty = tmp_path / "tom.db"
    Catalog(empty).close()
    code, _, err = run_cli("migrations", "--db", str(empty))
    assert code == 2 and "no migration run" in err


def test_out_inside_the_archive_is_refused(tmp_path: Path) -> None:
    root, db = make_archive(tmp_path, n=1)
    code, _, err = run_cli("migrate", "--db", str(db), "--out", str(root / "ut"), "-q")
    assert code == 2 and "outside the archive" in err


def test_kill_9_during_a_run_then_resume(tmp_path: Path) -> None:
    _, db = make_archive(tmp_path, n=24)
    out = tmp_path / "ut"
    cmd = migrate_cmd(db, out)
    proc = subprocess.Popen(cmd, start_new_session=True, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    done = 0
    while done == 0 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
        try:
            con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
            done = con.execute("SELECT COUNT(*) FROM migration_events").fetchone()[0]
            con.close()
        except sqlite3.Error:
            pass
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert 0 < done < 24, "the run must be killed part-way"
    finished = subprocess.run([*cmd, "--json"], capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr
    summary = json.loads(finished.stdout)
    assert summary["done"] == 24 and summary["resumed"]
    assert len(list(out.rglob("*.pdf"))) == 24
    assert not list(out.rglob(".*partial*"))  # no half-written outputs left behind
    con = sqlite3.connect(db)
    assert con.execute("SELECT COUNT(*) FROM migrations WHERE state = 'done'").fetchone()[0] == 24


def test_hung_converter_is_timed_out_and_recorded(tmp_path: Path) -> None:
    _, db = make_archive(tmp_path, n=2)
    fake = tmp_path / "bin"
    fake.mkdir()
    real_gs = shutil.which("gs")
    script = fake / "gs"
    script.write_text(
        f'#!/bin/sh\ncase "$1" in --version) exec {real_gs} --version;; esac\nsleep 60\n'
    )
    script.chmod(0o755)
    env = {**os.environ, "PATH": f"{fake}:{os.environ['PATH']}"}
    proc = subprocess.run(
        migrate_cmd(db, tmp_path / "ut", "--timeout", "2", "--json"),
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["failed"] == {"timeout": 2}
    assert not list((tmp_path / "ut").rglob("*.pdf"))


def test_disk_full_stops_cleanly_and_resumes(tmp_path: Path) -> None:
    """A real full disk: a 64 KiB tmpfs as the output folder (needs root, as CI has)."""
    _, db = make_archive(tmp_path, n=6)
    out = tmp_path / "litet"
    out.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(out)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        code, stdout, err = run_cli("migrate", "--db", str(db), "--out", str(out), "-q", "-j", "1")
        assert code == 1 and "disk full" in err
        con = sqlite3.connect(db)
        states = dict(con.execute("SELECT state, COUNT(*) FROM migrations GROUP BY 1").fetchall())
        assert states == {"pending": 6}  # nothing lost, nothing half-done
        assert not [p for p in out.rglob("*") if p.is_file()]
    finally:
        subprocess.run(["umount", str(out)], check=False)
    code, stdout, err = run_cli("migrate", "--db", str(db), "--out", str(out), "-q", "--json")
    assert code == 0, err
    assert json.loads(stdout)["done"] == 6


def _migrate_json(db: Path, out: Path, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    proc = subprocess.run(
        migrate_cmd(db, out, "--json", workers=1),
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    return proc.returncode, proc.stdout, proc.stderr


def test_source_changed_since_the_scan_is_not_converted(tmp_path: Path) -> None:
    """An original edited after the scan fails as source-changed; the run goes on."""
    root, db = make_archive(tmp_path, n=3)
    edited = root / "Säter" / "Protokoll" / "protokoll 0.pdf"
    edited.write_bytes(pdf_bytes("ett annat protokoll"))
    code, stdout, stderr = _migrate_json(db, tmp_path / "ut")
    assert code == 0, stderr
    summary = json.loads(stdout)
    assert summary["failed"] == {"source-changed": 1} and summary["done"] == 2
    assert not (tmp_path / "ut" / "Säter" / "Protokoll" / "protokoll 0.pdf").exists()


@pytest.mark.parametrize("change", ['printf x >> "$last"', 'touch "$last"'])
def test_converter_touching_the_original_stops_the_run(tmp_path: Path, change: str) -> None:
    """A converter that writes to (or merely touches) the original it converts: the run stops
    with exit code 5 and nothing of that file reaches the output tree."""
    root, db = make_archive(tmp_path, n=2)
    before = digests(root)
    fake = tmp_path / "bin"
    fake.mkdir()
    real_gs = shutil.which("gs")
    script = fake / "gs"
    script.write_text(
        f'#!/bin/sh\ncase "$1" in --version) exec {real_gs} --version;; esac\n'
        f'for last; do :; done\nsleep 0.2\n{change}\nexec {real_gs} "$@"\n'
    )
    script.chmod(0o755)
    env = {**os.environ, "PATH": f"{fake}:{os.environ['PATH']}"}
    code, _, stderr = _migrate_json(db, tmp_path / "ut", env)
    assert code == 5, stderr
    assert "changed while it was converted" in stderr
    assert not list((tmp_path / "ut").rglob("*.pdf")), "an output of a modified original"
    if change.startswith("touch"):
        assert digests(root) == before  # the content is the same: only its status changed


def test_partial_names_are_per_attempt_bounded_and_cleaned(tmp_path: Path) -> None:
    """Every attempt writes its own hidden partial file (a converter left running by a dead
    worker cannot write into the next attempt's); long names stay within NAME_MAX with the
    converters' own temporary suffixes; a new attempt removes the old partials of its output
    (and the 0.1 names) but nothing of another output in the same folder."""
    from preserveplan.migrate.runner import _remove_partials, partial_path

    dst = tmp_path / "protokoll.pdf"
    first, second = partial_path(dst), partial_path(dst)
    assert first != second and first.parent == dst.parent and first.suffix == ".pdf"
    assert first.name.startswith(".protokoll.pdf.") and first.name.endswith(".partial.pdf")
    long_dst = tmp_path / ("Yttrande över remiss åäö " * 8 + ".pdf")
    assert len(os.fsencode(long_dst.name)) < 255
    long_partial = partial_path(long_dst)
    converter_tmp = f".{long_partial.stem}.abcdefgh.part.pdf"  # convert_file's mkstemp name
    assert len(os.fsencode(converter_tmp)) < 200
    assert partial_path(long_dst).name[:-22] == long_partial.name[:-22]  # stable prefix

    ours = [
        first,
        second,
        first.with_name(f".{first.stem}.x1y2z3w4.part.pdf"),  # the converter's temporary file
        tmp_path / ".protokoll.partial.pdf",  # 0.1 name
        tmp_path / "..protokoll.partial.q1w2e3r4.part.pdf",  # 0.1 converter temporary file
        long_partial,
        long_partial.with_name(f".{long_partial.stem}.x1y2z3w4.part.pdf"),
    ]
    others = [
        dst,
        partial_path(tmp_path / "protokoll.pdf.pdf"),
        partial_path(tmp_path / "protokoll.tif"),
        tmp_path / "protokoll.partial.pdf",  # an ordinary output of that name
        partial_path(tmp_path / "protokoll 2.pdf"),
    ]
    for p in ours + others:
        p.write_bytes(b"x")
    _remove_partials(dst)
    _remove_partials(long_dst)
    assert [p for p in ours if p.exists()] == []
    assert all(p.exists() for p in others)


def test_inline_checks_give_the_same_journal(tmp_path: Path) -> None:
    """--inline-checks (each conversion process validates its own outputs) records the same
    outcomes and output formats as the default separate check processes."""
    _, db = make_archive(tmp_path, n=4, broken=True)
    journals = []
    for flag, out in (([], "ut-a"), (["--inline-checks"], "ut-b")):
        copy = tmp_path / f"{out}.db"
        shutil.copy(db, copy)
        code, stdout, err = run_cli(
            "migrate", "--db", str(copy), "--out", str(tmp_path / out), "-q", "--json", *flag
        )
        assert code == 0, err
        assert json.loads(stdout)["done"] == 4
        con = sqlite3.connect(copy)
        journals.append(
            con.execute(
                "SELECT path, state, outcome, output_puid FROM migrations ORDER BY path"
            ).fetchall()
        )
        con.close()
        assert not list((tmp_path / out).rglob(".*"))
    assert journals[0] == journals[1]
    assert {row[2] for row in journals[0]} == {"done", "failed"}


def test_an_unforeseen_error_fails_the_file_not_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A conversion or check that raises something unforeseen (a bug: a file name that is not
    UTF-8 once made pikepdf raise TypeError, fixed and tested above) fails that file with the
    error and where it happened, and the worker still returns a result, so the run goes on.
    The fault is injected: the real one no longer exists."""
    from preserveplan.migrate import runner
    from preserveplan.migrate import validate as validate_module

    class Broken:
        @staticmethod
        def convert(src: Path, dst: Path, *, timeout: float, target: str) -> None:
            raise TypeError("incompatible function arguments")

    monkeypatch.setitem(runner.MODULES, "broken", Broken)
    src = tmp_path / "a.pdf"
    src.write_bytes(pdf_bytes("a"))
    task = {
        "src": os.fsencode(src),
        "dst": os.fsencode(tmp_path / "ut" / "a.pdf"),
        "tool": "broken",
        "timeout": 10,
        "target": "pdfa-2b",
        "target_puid": "fmt/477",
        "size": src.stat().st_size,
        "expected_sha256": None,
    }
    result = runner.convert_step(task)
    assert result["outcome"] == "failed" and "stage" not in result
    assert result["message"].startswith(
        "internal error while converting this file: TypeError: incompatible function arguments"
    )
    assert "test_migrate.py:" in result["message"]

    def crash(path: Path, puid: str | None = None) -> None:
        raise TypeError("no validation today")

    monkeypatch.setattr(validate_module, "validate_file", crash)
    partial = tmp_path / "ut" / ".a.pdf.partial.pdf"
    partial.parent.mkdir(exist_ok=True)
    partial.write_bytes(pdf_bytes("output"))
    handoff = {
        "partial": os.fsencode(partial),
        "started_at": "t",
        "source_sha256": hashlib.sha256(src.read_bytes()).hexdigest(),
        "tool_version": "1",
        "command": "[]",
        "status_before": None,
        "message": "",
    }
    checked = runner.check_step(task, handoff)
    assert checked["outcome"] == "failed" and checked["source_sha256"]
    assert (
        "validating the output of this file: TypeError: no validation today" in (checked["message"])
    )
    assert not partial.exists(), "the unchecked output must not stay"
