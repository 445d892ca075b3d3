"""Ruleset loading: every kind of error is reported with its file and line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from util import RULES_FINDINGS

from preserveplan.rules import RulesetError, check, load_ruleset

FINDINGS = RULES_FINDINGS

GOOD = (
    'ruleset: test\nversion: "1"\n'
    + FINDINGS
    + """\
rules:
  - id: pdfa
    match: {puid: [fmt/95, fmt/354]}
    status: preservation
    risk: low
    rationale: ISO 19005
    source: RA-FS 2009:2
  - id: word-binary
    match: {puid: [fmt/40]}
    status: migrate
    risk: high
    action: {tool: libreoffice, target: pdfa-2b, target_puid: fmt/477, keep_original: true}
    rationale: proprietary binary
    source: NARA NF00374
  - id: raster-other
    match: {class: ["Image (Raster)"]}
    status: at-risk
    risk: moderate
    rationale: unlisted raster format
    source: FORMATS.md
"""
)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def problems(tmp_path: Path, text: str) -> list[tuple[int, str]]:
    path = write(tmp_path, "r.yaml", text)
    return [(p.line, p.message) for p in check([path])]


def test_good_ruleset_loads(tmp_path: Path) -> None:
    rs = load_ruleset(write(tmp_path, "r.yaml", GOOD))
    assert [r.id for r in rs.rules] == ["pdfa", "word-binary", "raster-other"]
    rule = rs.rules[1]
    assert rule.action is not None and rule.action.target_puid == "fmt/477"
    assert rs.match("fmt/40", None, "doc", None) is rule
    assert rs.match("fmt/11", "image/png", "png", "Image (Raster)").id == "raster-other"
    assert rs.match("fmt/11", None, None, None) is None
    assert rs.rules[0].origin.endswith("r.yaml:10")


ACTION = (
    "    action: {tool: libreoffice, target: pdfa-2b, target_puid: fmt/477, keep_original: true}\n"
)


@pytest.mark.parametrize(
    ("edit", "line", "words"),
    [
        (("    risk: low\n", "    risk: low\n    colour: red\n"), 14, "unknown key 'colour'"),
        (("status: preservation", "status: keep"), 12, "'keep' is not one of"),
        (("risk: low", "risk: tiny"), 13, "'tiny' is not one of"),
        (("tool: libreoffice", "tool: word2000"), 20, "'word2000' is not one of"),
        (("fmt/354]", "fmt354]"), 11, "malformed PUID 'fmt354'"),
        (("fmt/354]", "fmt/99999]"), 11, "unknown PUID 'fmt/99999'"),
        (("id: raster-other", "id: pdfa"), 23, "duplicate rule id 'pdfa'"),
        ((ACTION, ""), 16, "needs an 'action'"),
        (("    rationale: ISO 19005\n", ""), 10, "missing 'rationale'"),
        (('version: "1"\n', 'version: "1"\ncolour: red\n'), 3, "unknown key 'colour'"),
    ],
)
def test_each_error_is_reported_with_its_line(
    tmp_path: Path, edit: tuple[str, str], line: int, words: str
) -> None:
    assert edit[0] in GOOD
    found = problems(tmp_path, GOOD.replace(edit[0], edit[1], 1))
    assert any(line == n and words in msg for n, msg in found), found


def test_ambiguity_is_a_load_error_naming_both_rules(tmp_path: Path) -> None:
    text = GOOD.replace("match: {puid: [fmt/40]}", "match: {puid: [fmt/40, fmt/95]}")
    found = problems(tmp_path, text)
    assert any(
        n == 16 and "'word-binary' and rule 'pdfa'" in m and "equal specificity" in m
        for n, m in found
    ), found


def test_yaml_syntax_error_has_a_line(tmp_path: Path) -> None:
    found = problems(tmp_path, GOOD.replace("  - id: pdfa\n", "  - id: [pdfa\n"))
    assert found and found[0][0] > 0 and "YAML error" in found[0][1]


def test_unsafe_tags_are_not_executed(tmp_path: Path) -> None:
    text = GOOD.replace(
        "rationale: ISO 19005", "rationale: !!python/object/apply:os.system [touch /tmp/pwned-pp]"
    )
    found = problems(tmp_path, text)
    assert not Path("/tmp/pwned-pp").exists()
    assert found  # not text: reported


def test_extends_and_override_by_id(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", GOOD)
    child = write(
        tmp_path,
        "falun.yaml",
        """\
        ruleset: falun
        version: "2026.1"
        extends: base
        rules:
          - id: word-binary
            match: {puid: [fmt/40]}
            status: acceptable
            risk: moderate
            rationale: decided by the archive authority
            source: "Falu kommun, beslut (example)"
          - id: csv
            match: {puid: [x-fmt/18]}
            status: preservation
            risk: low
            rationale: plain text data
            source: RA-FS 2009:2
        """,
    )
    rs = load_ruleset(child)
    assert rs.name == "falun" and len(rs.chain) == 2
    assert [r.id for r in rs.rules] == ["pdfa", "word-binary", "raster-other", "csv"]
    assert rs.rule("word-binary").status == "acceptable"
    assert rs.findings["encrypted"].status == "at-risk"


def test_extends_cycle_and_missing(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", 'ruleset: a\nversion: "1"\nextends: b\n')
    write(tmp_path, "b.yaml", 'ruleset: b\nversion: "1"\nextends: a\n')
    with pytest.raises(RulesetError, match="cycle"):
        load_ruleset(tmp_path / "a.yaml")
    write(tmp_path, "c.yaml", 'ruleset: c\nversion: "1"\nextends: nowhere\n')
    with pytest.raises(RulesetError, match="no such ruleset"):
        load_ruleset(tmp_path / "c.yaml")


ALSO = (
    "    action:\n"
    "      tool: libreoffice\n"
    "      target: pdfa-2b\n"
    "      target_puid: fmt/477\n"
    "      also:\n"
    "        - {target: ods, target_puid: fmt/1755}\n"
)


def test_an_action_may_make_more_outputs(tmp_path: Path) -> None:
    """A spreadsheet's PDF/A (the view) and an ODS copy (data and formulas)."""
    rs = load_ruleset(write(tmp_path, "r.yaml", GOOD.replace(ACTION, ALSO)))
    action = rs.rules[1].action
    assert action is not None
    assert [(o.tool, o.target, o.target_puid) for o in action.outputs()] == [
        ("libreoffice", "pdfa-2b", "fmt/477"),
        ("libreoffice", "ods", "fmt/1755"),
    ]
    assert rs.as_dict()["rules"][1]["action"]["also"][0]["target"] == "ods"


@pytest.mark.parametrize(
    ("also", "words"),
    [
        ("        - {target: pdfa-2b, target_puid: fmt/477}\n", "need different targets"),
        ("        - {target: tiff, target_puid: fmt/353}\n", "cannot make target 'tiff'"),
        ("        - {tool: ghostscript, target: ods, target_puid: fmt/1755}\n", "'ghostscript'"),
        ("        - {target: ods, target_puid: fmt/1755, colour: red}\n", "unknown key 'colour'"),
        ("        - ods\n", "must be a mapping"),
    ],
)
def test_bad_extra_outputs_are_load_errors(tmp_path: Path, also: str, words: str) -> None:
    text = GOOD.replace(
        ACTION, ALSO.replace("        - {target: ods, target_puid: fmt/1755}\n", also)
    )
    found = problems(tmp_path, text)
    assert any(words in m for _, m in found), found


def test_a_tool_that_cannot_make_the_target_is_a_load_error(tmp_path: Path) -> None:
    """Caught when the rules are loaded, not as a crash in the middle of a migration run."""
    found = problems(
        tmp_path,
        GOOD.replace("target: pdfa-2b, target_puid: fmt/477", "target: flac, target_puid: fmt/279"),
    )
    assert any(n == 20 and "cannot make target 'flac'" in m for n, m in found), found
