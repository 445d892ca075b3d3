"""The shipped rulesets load, cover the corpus, and give every file exactly one outcome."""

from __future__ import annotations

import csv
import sqlite3
from pathlib import Path

from preserveplan import Catalog
from preserveplan.rules import default_rules_path, load_ruleset
from preserveplan.rules.assess import assess

RULES = Path(__file__).resolve().parents[1] / "rules"


def test_shipped_rulesets_load() -> None:
    default = load_ruleset()
    assert default_rules_path().name == "default.yaml"
    assert default.name == "dalarna-default" and len(default.rules) > 100
    assert set(default.findings) == {
        "unidentified",
        "multiple_matches",
        "extension_mismatch",
        "encrypted",
        "unreadable",
    }
    for rule in default.rules:
        assert rule.source.strip() and rule.rationale.strip()
        assert (rule.status == "migrate") == (rule.action is not None)
    falun = load_ruleset(RULES / "examples" / "falun.yaml")
    assert falun.chain[0].endswith("default.yaml")
    changed = [r.id for r in falun.rules if r != default.rule(r.id)]
    assert changed and all(falun.rule(i) is not None for i in changed)


def test_every_corpus_puid_has_a_rule(corpus: Path) -> None:
    default = load_ruleset()
    with open(corpus / "expected.csv", newline="", encoding="utf-8") as fh:
        puids = {r["expected_puid"] for r in csv.DictReader(fh)} - {"UNKNOWN"}
    missing = sorted(p for p in puids if default.match(p, None, None, None) is None)
    assert not missing


def test_assess_corpus_gives_every_file_one_outcome(corpus_scan: tuple[Path, int]) -> None:
    db, scan_id = corpus_scan
    with Catalog(db) as cat:
        result = assess(cat, load_ruleset(), scan_id)
    con = sqlite3.connect(db)
    (files,) = con.execute(
        "SELECT COUNT(*) FROM files WHERE scan_id = ? AND kind IN ('file', 'member')", (scan_id,)
    ).fetchone()
    (assessed, no_status, unexplained) = con.execute(
        "SELECT COUNT(*), SUM(status IS NULL), SUM(rule_id IS NULL AND finding IS NULL) "
        "FROM assessed WHERE assessment_id = ?",
        (result.id,),
    ).fetchone()
    assert assessed == files == result.summary["files"]
    assert no_status == 0
    assert unexplained == 0  # every identified file is covered by a rule
    assert result.summary["findings"]["encrypted"] >= 12
