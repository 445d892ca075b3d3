"""The bundled sample archive: built with real tools, then the main job runs on it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from preserveplan.cli import main

REPO = Path(__file__).resolve().parents[1]
TOOLS = ("soffice", "gs", "ffmpeg")


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if missing:
        pytest.skip(f"sample archive needs {', '.join(missing)} (./setup.sh installs them)")
    out = tmp_path_factory.mktemp("sample") / "sample-archive"
    proc = subprocess.run(
        [sys.executable, str(REPO / "examples" / "make_sample_archive.py"), str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    return out


@pytest.mark.slow
def test_main_job_on_the_sample_archive(sample: Path, tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    result = CliRunner().invoke(
        main,
        [
            "run",
            "-q",
            "--json",
            "--db",
            str(db),
            "--reports",
            str(tmp_path / "r"),
            "--migrate",
            "--out",
            str(tmp_path / "bevarade"),
            str(sample),
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    summary = report["scan"]["summary"]
    on_disk = sum(1 for p in sample.rglob("*") if p.is_file())
    assert summary["entries"]["on_disk"] == on_disk
    assert summary["entries"]["members"] > 0
    outcomes = summary["outcomes"]
    assert outcomes["empty"] >= 2  # zero-byte files
    assert outcomes["encrypted"] >= 1  # members of the password-protected ZIP
    assert outcomes.get("identify_error", 0) >= 1  # the truncated DOCX
    puids = {r["puid"] for r in report["profile"]}
    for expected in (
        "fmt/40",
        "fmt/412",
        "fmt/61",
        "fmt/214",
        "fmt/126",
        "fmt/215",
        "fmt/477",
        "fmt/353",
        "fmt/134",
        "fmt/141",
        "x-fmt/263",
        "x-fmt/265",
        "fmt/101",
        "x-fmt/18",
        "fmt/950",
    ):
        assert expected in puids, expected
    lines = (tmp_path / "r" / f"scan-{report['scan']['scan_id']}-inventory.jsonl").read_text()
    recs = [json.loads(line) for line in lines.splitlines()]
    assert {r["org"] for r in recs if r["parent"] is None} >= {
        "Säter",
        "Borlänge",
        "Falun",
        "Ludvika",
    }
    mismatched = [r for r in recs if "extension mismatch" in (r["warning"] or "")]
    assert len(mismatched) >= 3  # PNG as .jpg, DOCX as .doc, PDF as .txt
    # run = scan -> assess: every file has exactly one outcome under the default ruleset
    assessment = report["assessment"]
    assert assessment["ruleset"] == "dalarna-default"
    files = [r for r in recs if r["kind"] in ("file", "member")]
    assert assessment["summary"]["files"] == len(files)
    assert all(r["status"] for r in files)
    assert {r["finding"] for r in mismatched} == {"extension_mismatch"}
    assert any(r["status"] == "migrate" and r["action"] for r in files)
    # run ends with both reports; their totals match the format profile
    total = sum(r["files"] for r in report["profile"])
    for key, path in report["files"].items():
        if key.endswith("report (HTML)") or "Management" in key:
            html = Path(path).read_text(encoding="utf-8")
            assert f">{total}<" in html.replace("\u202f", "").replace("\xa0", ""), key
            assert "<script src" not in html and "http://" not in html
    assert any("Management" in k for k in report["files"])
    # the whole chain: every on-disk file to migrate was converted and validated
    migration = report["migration"]
    to_migrate = [r for r in files if r["status"] == "migrate" and r["parent"] is None]
    # old Excel workbooks get two outputs (PDF/A and an ODS copy), everything else one
    two = {"excel-binary", "excel-binary-legacy"}
    outputs = sum(2 if r["rule"] in two else 1 for r in to_migrate)
    assert any(r["rule"] in two for r in to_migrate)
    assert migration["total"] == outputs > len(to_migrate) > 100
    assert migration["done"] == outputs, migration["failed"]
    converted = [p for p in (tmp_path / "bevarade").rglob("*") if p.is_file()]
    assert len(converted) == migration["done"]
    assert sum(p.suffix == ".ods" for p in converted) == outputs - len(to_migrate)
    assert not [p for p in converted if p.name.startswith(".")]
    encrypted = [r for r in files if r["finding"] == "encrypted"]
    assert any(r["path"].endswith(".pdf") for r in encrypted)  # the password-protected PDF
