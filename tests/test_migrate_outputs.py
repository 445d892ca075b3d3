"""An action with more than one output: a spreadsheet's PDF/A (the view) and an ODS copy (the
data and formulas), with real LibreOffice; and the catalog upgrade that made it possible."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from lxml import etree  # type: ignore[import-untyped]
from util import RULES_FINDINGS

from preserveplan import Catalog, scan
from preserveplan.catalog import MIGRATIONS
from preserveplan.migrate.plan import make_plan
from preserveplan.migrate.premis import write_premis
from preserveplan.migrate.runner import migrate
from preserveplan.migrate.tools import _exec, libreoffice
from preserveplan.migrate.validate import identify
from preserveplan.rules import load_ruleset
from preserveplan.rules.assess import assess

RULES = (
    'ruleset: spreadsheets\nversion: "1"\n'
    + RULES_FINDINGS
    + """\
rules:
  - id: excel-binary
    match: {ext: [xls]}
    status: migrate
    risk: moderate
    action:
      tool: libreoffice
      target: pdfa-2b
      target_puid: fmt/477
      also:
        - {target: ods, target_puid: fmt/1755}
    rationale: the PDF/A keeps the view, the ODS copy the data and formulas
    source: NARA Digital Preservation Framework (Transform to ODS)
"""
)


@pytest.fixture(scope="module")
def workbooks(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An archive with two real Excel 97-2003 workbooks (made by LibreOffice from CSV)."""
    if not libreoffice.available():
        pytest.skip("LibreOffice not installed")
    d = tmp_path_factory.mktemp("xls")
    made = d / "made"
    for name in ("Skolskjuts 2019", "Budget åäö"):
        (d / f"{name}.csv").write_text("år,belopp\n2019,100\n2020,250\n", encoding="utf-8")
    res = _exec.run(
        [
            libreoffice.program(),
            "--headless",
            "--norestore",
            f"-env:UserInstallation={(d / 'profile').as_uri()}",
            "--infilter=CSV:44,34,76,1",
            "--convert-to",
            "xls:MS Excel 97",
            "--outdir",
            made,
            *sorted(d.glob("*.csv")),
        ],
        timeout=180,
    )
    root = d / "arkiv"
    (root / "Säter" / "Ekonomi").mkdir(parents=True)
    for xls in made.glob("*.xls"):
        xls.rename(root / "Säter" / "Ekonomi" / xls.name)
    assert len(list(root.rglob("*.xls"))) == 2, res.output_tail
    return root


def test_an_action_with_two_outputs(workbooks: Path, tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES, encoding="utf-8")
    scan(workbooks, db=db, workers=1)
    out = tmp_path / "ut"
    with Catalog(db) as cat:
        assess(cat, load_ruleset(rules))
        plan = make_plan(cat)
        assert sorted((line.target, line.files) for line in plan.lines) == [
            ("ods", 2),
            ("pdfa-2b", 2),
        ]
        summary = migrate(cat, out, workers=1)
        assert (summary.total, summary.done, summary.failed) == (4, 4, {})
        again = migrate(cat, out, workers=1)  # resumed: nothing is done twice
        assert again.resumed and again.this_run == 0 and again.done == 4
        events = cat.db.execute(
            "SELECT path, target, outcome FROM migration_events ORDER BY path, target"
        ).fetchall()
        premis = write_premis(cat, summary.run_id, tmp_path / "premis.xml")
    assert [(t, o) for _, t, o in events] == [("ods", "done"), ("pdfa-2b", "done")] * 2
    folder = out / "Säter" / "Ekonomi"
    for stem in ("Skolskjuts 2019", "Budget åäö"):
        assert identify(folder / f"{stem}.pdf") == "fmt/477"
        assert identify(folder / f"{stem}.ods") == "fmt/1755"
    assert not list(out.rglob(".*"))  # no partial or temporary files left
    ns = {"p": "http://www.loc.gov/premis/v3"}
    doc = etree.parse(str(premis))
    ids = doc.xpath("//p:object/p:objectIdentifier/p:objectIdentifierValue/text()", namespaces=ns)
    assert len(ids) == len(set(ids)) == 6  # each source once, each derivative once
    derived = doc.xpath(
        "//p:object[p:relationship]/p:relationship/p:relatedObjectIdentifier/"
        "p:relatedObjectIdentifierValue/text()",
        namespaces=ns,
    )
    sources = [i for i in ids if i.startswith("source:")]
    assert sorted(derived) == sorted(sources * 2)  # two derivatives of each source
    assert len(doc.xpath("//p:event[p:eventType='migration']", namespaces=ns)) == 4
    assert len(doc.xpath("//p:event[p:eventType='validation']", namespaces=ns)) == 4


def test_upgrade_from_a_v5_catalog_keeps_the_journal(tmp_path: Path) -> None:
    """Schema 6 keys the journal by (run, path, target); a v5 journal and its events are kept
    and still found by their path."""
    old = tmp_path / "v5.db"
    con = sqlite3.connect(old)
    for script in MIGRATIONS[:5]:
        con.executescript(script)
    con.execute("PRAGMA user_version = 5")
    con.execute(
        "INSERT INTO scans (id, root, root_bytes, started_at, status, preserveplan_version, "
        "pygfried_version, siegfried_version, signature, signature_created, signature_key, "
        "options) VALUES (1, '/arkiv', X'2f61726b6976', 't', 'complete', '0.1', 'p', 's', "
        "'sig', 'c', 'k', '{}')"
    )
    con.execute(
        "INSERT INTO assessments (id, scan_id, ruleset, ruleset_version, ruleset_digest, "
        "policy, created_at, created_by) VALUES (1, 1, 'r', '1', 'x', '{}', 't', 'test')"
    )
    con.execute(
        "INSERT INTO migration_runs VALUES (1, 1, 1, '/ut', 't', 't', 'complete', '{}', NULL)"
    )
    con.execute(
        "INSERT INTO migrations (run_id, path, rule_id, tool, target, target_puid, output, "
        "state, outcome, attempts) VALUES (1, X'61', 'r', 'ghostscript', 'pdfa-2b', 'fmt/477', "
        "X'612e706466', 'done', 'done', 1)"
    )
    con.execute(
        "INSERT INTO migration_events (run_id, path, attempt, tool, started_at, finished_at, "
        "outcome, validation) VALUES (1, X'61', 1, 'ghostscript', 't', 't', 'done', ?)",
        (json.dumps({"valid": True, "errors": [], "checked": ["x"], "not_checked": ["y"]}),),
    )
    con.commit()
    con.close()
    with Catalog(old) as cat:
        assert cat.db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS) == 7
        # an event written before schema 7 keeps its lists inline, and reads the same way
        validation = cat.validation_of(1)
        assert validation is not None
        assert validation["checked"] == ["x"] and validation["not_checked"] == ["y"]
        [row] = list(cat.premis_rows(1))
        assert row["path"] == "a" and row["target"] == "pdfa-2b" and len(row["events"]) == 1
        cat.add_migrations([(1, b"a", "r", "libreoffice", "ods", "fmt/1755", b"a.ods", 1, None)])
        keys = cat.db.execute("SELECT target, state FROM migrations ORDER BY target").fetchall()
    assert keys == [("ods", "pending"), ("pdfa-2b", "done")]


def test_failed_validation_is_a_premis_event_on_the_source() -> None:
    """An output that failed its checks was removed: its validation event says fail, lists the
    errors (capped) and links the source; the document is valid PREMIS 3."""
    from lxml import etree

    from preserveplan.migrate import premis

    errors = [
        {"clause": "6.2.11.4 embedded fonts", "message": f"font F{i} is not embedded"}
        for i in range(premis.MAX_ERROR_NOTES + 5)
    ]
    row = {"path": "Säter/a.doc", "output": "Säter/a.pdf", "target_puid": "fmt/477"}
    ev = {
        "id": 7,
        "finished_at": "2026-11-26T05:00:00+00:00",
        "outcome": "invalid",
        "validation": json.dumps(
            {"puid": "fmt/477", "profile": "PDF/A-2b", "valid": False, "errors": errors}
        ),
    }
    event = premis._validation_event(1, row, ev)
    assert premis._validation_event(1, row, {**ev, "validation": None}) is None
    ns = {"p": premis.NS}
    assert event.findtext("p:eventOutcomeInformation/p:eventOutcome", namespaces=ns) == "fail"
    notes = event.xpath(".//p:eventOutcomeDetailNote/text()", namespaces=ns)
    assert len(notes) == premis.MAX_ERROR_NOTES + 1 and notes[-1] == "... and 5 more"
    assert notes[0] == "6.2.11.4 embedded fonts: font F0 is not embedded"
    link = event.findtext("p:linkingObjectIdentifier/p:linkingObjectIdentifierValue", namespaces=ns)
    assert link == "source:Säter/a.doc"
    doc = etree.Element(f"{{{premis.NS}}}premis", nsmap={None: premis.NS}, version="3.0")
    doc.append(premis._file_object("source:Säter/a.doc", None, 10, "fmt/40", "Säter/a.doc"))
    doc.append(event)
    premis.schema().assertValid(doc)
