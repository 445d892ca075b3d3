"""calibrate runs the real converters on the archive's own files and plan uses the rates."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from util import pdf_bytes

from preserveplan import Catalog, scan
from preserveplan.cli import main
from preserveplan.migrate.calibrate import fit
from preserveplan.migrate.plan import make_plan
from preserveplan.rules import load_ruleset
from preserveplan.rules.assess import assess

MINI = Path(__file__).parent / "data" / "mini-rules.yaml"


def test_fit_is_least_squares_and_never_negative() -> None:
    a, b = fit([(1.0, 1.2), (2.0, 2.2), (3.0, 3.2)])
    assert a == pytest.approx(0.2) and b == pytest.approx(1.0)
    assert fit([(1.0, 0.5)]) == (0.5, 0.0)
    assert fit([(1.0, 2.0), (2.0, 1.0), (3.0, 0.5)])[1] == 0.0


@pytest.mark.skipif(shutil.which("gs") is None, reason="Ghostscript not installed")
def test_calibrate_ghostscript_on_the_archive(tmp_path: Path) -> None:
    root = tmp_path / "arkiv"
    (root / "Falun").mkdir(parents=True)
    for i in range(4):
        (root / "Falun" / f"d{i}.pdf").write_bytes(pdf_bytes("text " * (i * 40 + 1)))
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in root.rglob("*.pdf")}
    db = tmp_path / "c.db"
    scan(root, db=db, workers=1)
    with Catalog(db) as cat:
        assess(cat, load_ruleset(MINI))
    out = CliRunner().invoke(main, ["calibrate", "--db", str(db), "--files", "3", "--json"])
    assert out.exit_code == 0, out.output
    [result] = json.loads(out.stdout)
    assert result["tool"] == "ghostscript" and result["converted"] == 3
    assert result["seconds_per_file"] > 0 and result["output_ratio"] > 0
    with Catalog(db) as cat:
        plan = make_plan(cat)
    assert plan.rates["ghostscript"]["source"] == "calibrated"
    after = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in root.rglob("*.pdf")}
    assert after == before  # originals only read
    assert sorted(p.name for p in root.rglob("*")) == sorted(
        ["Falun", *(f"d{i}.pdf" for i in range(4))]
    )
