"""NARA's preservation plan CSV becomes a ruleset that loads and keeps NARA's judgements."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import SHARED

from preserveplan.cli import main
from preserveplan.rules import load_ruleset
from preserveplan.rules.nara import convert

PLAN = SHARED / "reference" / "nara" / "NARA_PreservationActionPlan_FileFormats_20260320.csv"


@pytest.fixture(scope="module")
def plan_rows() -> list[dict[str, str]]:
    if not PLAN.is_file():
        pytest.skip(f"NARA plan CSV not found at {PLAN}")
    with open(PLAN, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def test_import_round_trips_real_rows(plan_rows: list[dict[str, str]], tmp_path: Path) -> None:
    out = tmp_path / "nara.yaml"
    result = CliRunner().invoke(main, ["rules", "import-nara", str(PLAN), "-o", str(out)])
    assert result.exit_code == 0, result.output
    ruleset = load_ruleset(out)
    by_puid = {v: r for r in ruleset.rules for v in r.values}
    # Every row with a format PUID known to PRONOM V125 is represented, citing its NARA ID.
    for row in plan_rows:
        m = re.search(r"/PRONOM/((?:x-)?fmt/\d+)$", row["PRONOM URL"].strip())
        if not m or m.group(1) not in by_puid:
            continue
        rule = by_puid[m.group(1)]
        assert row["NARA Format ID"] in rule.source
    word = by_puid["fmt/40"]  # Word 97-2003: NARA NF00303, moderate risk, transform to ODT
    assert word.risk == "moderate" and word.status == "migrate"
    assert word.action is not None and word.action.tool == "libreoffice"
    assert "NF00303" in word.source
    pdfa = by_puid["fmt/477"]
    assert pdfa.status in ("preservation", "acceptable")


def test_rows_sharing_a_puid_are_merged_and_the_highest_risk_wins() -> None:
    def row(nf: str, risk: str, action: str, plan: str) -> dict[str, str]:
        return {
            "NARA Format ID": nf,
            "Format Name": nf,
            "PRONOM URL": "https://www.nationalarchives.gov.uk/PRONOM/fmt/45",
            "NARA Risk Level": risk,
            "NARA Preservation Action": action,
            "NARA Proposed Preservation Plan": plan,
        }

    data, report = convert(
        [
            row("NF1", "Low Risk", "Retain", "Retain"),
            row("NF2", "High Risk", "Transform", "Transform to a TBD format"),
            {"NARA Format ID": "NF3", "Format Name": "HEIC", "PRONOM URL": ""},
        ]
    )
    [rule] = data["rules"]
    assert rule["risk"] == "high" and rule["status"] == "at-risk"
    assert "NF1, NF2" in rule["source"]
    assert report.merged_puids == 1 and report.skipped == ["NF3 HEIC: no PUID"]
