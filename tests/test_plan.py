"""The migration plan: from the assessment, per rule and organisation, with tool checks."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from util import pdf_bytes, png_bytes

from preserveplan import Catalog, scan
from preserveplan.cli import main
from preserveplan.migrate.plan import DEFAULT_RATES, make_plan
from preserveplan.rules import load_ruleset
from preserveplan.rules.assess import assess

MINI = Path(__file__).parent / "data" / "mini-rules.yaml"


@pytest.fixture
def assessed(tmp_path: Path) -> Path:
    root = tmp_path / "arkiv"
    for org, n in (("Falun", 3), ("Säter", 2)):
        (root / org).mkdir(parents=True)
        for i in range(n):
            (root / org / f"d{i}.pdf").write_bytes(pdf_bytes(f"{org} {i}"))
        (root / org / "bild.png").write_bytes(png_bytes(seed=n))
    db = tmp_path / "c.db"
    scan(root, db=db, workers=1)
    with Catalog(db) as cat:
        assess(cat, load_ruleset(MINI))
    return db


def test_plan_counts_files_per_rule_and_org(assessed: Path) -> None:
    with Catalog(assessed) as cat:
        plan = make_plan(cat)
    assert {(x.rule, x.org, x.files) for x in plan.lines} == {
        ("pdf", "Falun", 3),
        ("pdf", "Säter", 2),
    }
    [by_rule] = plan.totals("rule")
    assert by_rule["files"] == 5 and by_rule["bytes"] == sum(x.bytes for x in plan.lines)
    rate = DEFAULT_RATES["ghostscript"]
    assert by_rule["est_seconds"] == pytest.approx(
        5 * rate.seconds_per_file + by_rule["bytes"] / 1e6 * rate.seconds_per_mb
    )
    assert plan.rates["ghostscript"]["source"] == "default"
    assert plan.missing_tools == {}


def test_plan_cli_outputs_and_missing_tool(
    assessed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = CliRunner()
    out = runner.invoke(main, ["plan", "--db", str(assessed), "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["by_org"][0]["org"] == "Falun"
    out = runner.invoke(main, ["plan", "--db", str(assessed), "--csv", "--only", "Säter"])
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    assert [(r["org"], r["files"]) for r in rows] == [("Säter", "2")]
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))  # Ghostscript really is not on this PATH
    out = runner.invoke(main, ["plan", "--db", str(assessed)])
    assert out.exit_code == 1
    assert "apt-get install ghostscript" in out.stderr


def test_plan_needs_an_assessment(tmp_path: Path) -> None:
    root = tmp_path / "a"
    root.mkdir()
    (root / "x.pdf").write_bytes(pdf_bytes())
    db = tmp_path / "c.db"
    scan(root, db=db, workers=1)
    out = CliRunner().invoke(main, ["plan", "--db", str(db)])
    assert out.exit_code == 2 and "has not been assessed" in out.stderr
