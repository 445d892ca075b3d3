"""HTML reports: both kinds in both languages, numbers, escaping, self-containment, a browser."""

from __future__ import annotations

import csv
import html as htmlmod
import os
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from markupsafe import escape
from util import pdf_bytes, png_bytes

from preserveplan import Catalog, scan
from preserveplan.migrate.plan import make_plan
from preserveplan.report import write_report
from preserveplan.report.strings import (
    EN,
    SV,
    fmt_bytes,
    fmt_duration,
    fmt_gb,
    fmt_number,
    fmt_percent,
)
from preserveplan.rules import load_ruleset
from preserveplan.rules.assess import assess

EVIL = "<img src=x onerror=alert(1)>.doc"
EVIL_ORG = "<svg onload=alert(2)>"
CHROMIUM = "/usr/bin/chromium"


def build_tree(root: Path) -> None:
    (root / "Falun").mkdir(parents=True)
    (root / "Säter").mkdir()
    (root / EVIL_ORG).mkdir()
    (root / "Falun" / "a.pdf").write_bytes(pdf_bytes("a"))
    (root / "Falun" / "kopia.pdf").write_bytes(pdf_bytes("a"))  # a duplicate
    (root / "Falun" / "b.png").write_bytes(png_bytes())
    (root / "Falun" / "note.txt").write_text("hej\n")
    (root / "Falun" / EVIL).write_bytes(bytes(range(256)) * 3)
    (root / "Säter" / "tom.pdf").write_bytes(b"")
    (root / "Säter" / "bild.jpg").write_bytes(png_bytes(seed=3))  # a PNG named .jpg
    (root / EVIL_ORG / "x.pdf").write_bytes(pdf_bytes("x"))


@pytest.fixture
def assessed(tmp_path: Path) -> tuple[Path, int]:
    root = tmp_path / "arkiv"
    build_tree(root)
    db = tmp_path / "c.db"
    [result] = scan(root, db=db, workers=1)
    with Catalog(db) as cat:
        assess(cat, load_ruleset())
    return db, result.scan_id


def profile_sums(cat: Catalog, scan_id: int) -> tuple[int, int]:
    prof = cat.format_profile(scan_id)
    return sum(r["files"] for r in prof), sum(r["bytes"] for r in prof)


def no_network(html: str) -> None:
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", html, re.I)
    assert not re.search(r"url\(\s*['\"]?(?:https?:)?//", html, re.I)
    assert "@import" not in html


def totals_in(html: str) -> tuple[int, int]:
    files = re.search(r'data-files="(\d+)"', html)
    size = re.search(r'data-bytes="(\d+)"', html)
    assert files and size
    return int(files.group(1)), int(size.group(1))


def test_strings_have_the_same_keys() -> None:
    assert set(SV) == set(EN)
    assert all(SV[k] and EN[k] for k in SV)


def test_number_formats() -> None:
    assert fmt_number(1234.5, "sv", 1) == "1\u00a0234,5"
    assert fmt_number(1234.5, "en", 1) == "1,234.5"
    assert fmt_number(1234567, "sv") == "1\u00a0234\u00a0567"
    assert fmt_bytes(2_500_000_000, "sv") == "2,5\u00a0GB"
    assert fmt_bytes(999, "en") == "999\u00a0B"
    assert fmt_percent(1, 4, "sv") == "25\u00a0%"
    assert fmt_percent(1, 4, "en") == "25%"
    assert fmt_percent(1, 0, "en") == "–"


@pytest.mark.parametrize("kind", ["specialist", "management"])
@pytest.mark.parametrize("lang", ["sv", "en"])
def test_report_numbers_and_escaping(
    assessed: tuple[Path, int], tmp_path: Path, kind: str, lang: str
) -> None:
    db, scan_id = assessed
    out = tmp_path / "out" / f"{kind}-{lang}.html"
    with Catalog(db) as cat:
        path = write_report(cat, kind=kind, scan_id=scan_id, lang=lang, output=out)
        files, size = profile_sums(cat, scan_id)
    assert path == out and out.is_file()
    html = out.read_text(encoding="utf-8")
    assert f'<html lang="{lang}">' in html
    assert totals_in(html) == (files, size)
    assert fmt_number(files, lang) in html
    # Names from the archive are text, never markup (in tables and in SVG charts).
    assert "<img src=x" not in html and "<svg onload" not in html
    assert "&lt;svg onload=alert(2)&gt;" in html
    if kind == "specialist":
        assert "&lt;img src=x onerror=alert(1)&gt;.doc" in html
        assert "fmt/18" in html or "fmt/14" in html  # PUIDs in the format profile
        strings = SV if lang == "sv" else EN
        assert strings["no_migrations"] in html
        csv_file = out.with_name(f"{out.stem}-files.csv")
        assert f'href="{csv_file.name}"' in html
        with open(csv_file, encoding="utf-8", newline="") as fh:
            rows = list(csv.DictReader(fh))
        assert rows and {r["status"] for r in rows} <= {"at-risk", "migrate"}
        assert any(r["path"].endswith(EVIL) for r in rows)
    else:
        assert "fmt/" not in html  # plain language: no PUIDs
    no_network(html)


def test_default_output_name(assessed: tuple[Path, int], tmp_path: Path) -> None:
    db, scan_id = assessed
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        with Catalog(db) as cat:
            path = write_report(cat, kind="specialist")
    finally:
        os.chdir(cwd)
    assert re.fullmatch(rf"reports/specialist-{scan_id}-\d{{4}}-\d\d-\d\d\.html", str(path))
    assert (tmp_path / path).is_file()
    assert (tmp_path / path).with_name(path.stem + "-files.csv").is_file()


def test_without_assessment(tmp_path: Path) -> None:
    root = tmp_path / "arkiv"
    build_tree(root)
    db = tmp_path / "c.db"
    [result] = scan(root, db=db, workers=1)
    with Catalog(db) as cat:
        for kind in ("specialist", "management"):
            out = write_report(cat, kind=kind, lang="en", output=tmp_path / f"{kind}.html")
            html = out.read_text(encoding="utf-8")
            assert 'id="no-assessment"' in html
            assert totals_in(html) == profile_sums(cat, result.scan_id)


def test_management_compares_with_previous_scan(tmp_path: Path) -> None:
    root = tmp_path / "arkiv"
    build_tree(root)
    db = tmp_path / "c.db"
    rules = load_ruleset()
    [first] = scan(root, db=db, workers=1)
    with Catalog(db) as cat:
        assess(cat, rules)
    (root / "Säter" / "ny.dat").write_bytes(os.urandom(3000))  # unidentified: newly at risk
    (root / "Säter" / "tom.pdf").unlink()  # was at risk (empty)
    [second] = scan(root, db=db, workers=1)
    with Catalog(db) as cat:
        assess(cat, rules)
        out = write_report(cat, kind="management", output=tmp_path / "m.html")
        files, _ = profile_sums(cat, second.scan_id)
    html = out.read_text(encoding="utf-8")
    assert SV["m_compare_with"].format(id=first.scan_id, date="")[:20] in html
    added = re.search(r'id="risk-added">(\d+)', html)
    reduced = re.search(r'id="risk-reduced">(\d+)', html)
    assert added and reduced
    assert int(added.group(1)) >= 1 and int(reduced.group(1)) >= 1
    assert SV["m_trend"] in html and "<polyline" in html  # two assessed scans: a trend
    assert totals_in(html)[0] == files


def test_corpus_reports(corpus_scan: tuple[Path, int], tmp_path: Path) -> None:
    db, scan_id = corpus_scan
    with Catalog(db) as cat:
        if cat.last_assessment(scan_id) is None:
            assess(cat, load_ruleset(), scan_id)
        files, size = profile_sums(cat, scan_id)
        for kind in ("specialist", "management"):
            for lang in ("sv", "en"):
                out = write_report(
                    cat,
                    kind=kind,
                    scan_id=scan_id,
                    lang=lang,
                    output=tmp_path / f"{kind}-{lang}.html",
                )
                html = out.read_text(encoding="utf-8")
                assert totals_in(html) == (files, size)
                no_network(html)
                assert len(re.findall(r'<td class="path">', html)) <= 200 * 2 + 50 * 6 + 30


def test_duration_in_plain_words() -> None:
    assert fmt_duration(10, "en") == "less than a minute"
    assert fmt_duration(10, "sv") == "under en minut"
    assert fmt_duration(60, "en") == "about 1 minute"
    assert fmt_duration(25 * 60, "sv") == "cirka 25 minuter"
    assert fmt_duration(3600, "sv") == "cirka 1 timme"
    assert fmt_duration(5400, "en") == "about 1.5 hours"
    assert fmt_duration(5400, "sv") == "cirka 1,5 timmar"
    assert fmt_duration(15 * 3600, "en") == "about 15 hours"
    assert fmt_duration(50 * 3600, "en").startswith("about 50 hours (more than 2 days")


_FAMILY = re.compile(
    r'<tbody class="family" id="family-\d+">\s*<tr class="family" data-family-files="(\d+)" '
    r'data-family-bytes="(\d+)"><th colspan="3" scope="rowgroup" class="family-name">'
    r"([^<]*)</th>(.*?)</tbody>",
    re.S,
)
_PUID_ROW = re.compile(
    r'<tr class="puid" data-puid="([^"]*)">.*?data-v="(\d+)".*?data-v="(\d+)".*?</tr>', re.S
)


def families_in(html: str) -> list[tuple[str, int, int, list[tuple[str, int, int]]]]:
    """(family name, files, bytes, [(puid, files, bytes)]) of the format profile."""
    section = html[html.index('<section id="profile">') : html.index('<section id="plan">')]
    out = []
    for files, size, name, body in _FAMILY.findall(section):
        rows = [(p, int(f), int(b)) for p, f, b in _PUID_ROW.findall(body)]
        out.append((htmlmod.unescape(name), int(files), int(size), rows))
    return out


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_profile_grouped_by_family(assessed: tuple[Path, int], tmp_path: Path, lang: str) -> None:
    db, scan_id = assessed
    with Catalog(db) as cat:
        out = write_report(
            cat, kind="specialist", scan_id=scan_id, lang=lang, output=tmp_path / "s.html"
        )
        prof = cat.format_profile(scan_id)
        aid = cat.last_assessment(scan_id)
        assert aid is not None
        rules = {r["id"]: r for r in cat.assessment(aid)["policy"]["rules"]}
    html = out.read_text(encoding="utf-8")
    fams = families_in(html)
    assert fams
    for _, files, size, rows in fams:  # a family's totals are the sums of its rows
        assert rows
        assert files == sum(r[1] for r in rows) and size == sum(r[2] for r in rows)
    # Every PUID of the catalog's profile appears once, and the families add up to it.
    shown = {p: (f, b) for *_, rows in fams for p, f, b in rows}
    assert sum(len(rows) for *_, rows in fams) == len(shown) == len(prof)
    assert shown == {r["puid"]: (r["files"], r["bytes"]) for r in prof}
    assert sum(f[1] for f in fams) == sum(r["files"] for r in prof)
    assert sum(f[2] for f in fams) == sum(r["bytes"] for r in prof)
    # A PDF 1.x PUID sits under the PDF rule's title; unidentified files under "other".
    family_of = {p: name for name, *_, rows in fams for p, *_ in rows}
    pdf_puids = [p for p in shown if p in ("fmt/14", "fmt/15", "fmt/16", "fmt/17", "fmt/18")]
    assert pdf_puids
    for puid in pdf_puids:
        assert family_of[puid] == rules["pdf"]["title"]
    strings = SV if lang == "sv" else EN
    assert family_of["UNKNOWN"] == strings["family_other"]
    assert [f[0] for f in fams][-1] == strings["family_other"]  # "other" comes last
    assert 'class="sortable" id="profile-table"' in html


def _plan_totals(cat: Catalog, scan_id: int) -> dict[str, float]:
    plan = make_plan(cat, scan_id)
    return {
        "files": sum(x.files for x in plan.lines),
        "bytes": sum(x.bytes for x in plan.lines),
        "output": sum(x.est_output_bytes for x in plan.lines),
        "seconds": sum(x.est_seconds for x in plan.lines),
    }


def _plan_summary(html: str) -> dict[str, float]:
    m = re.search(
        r'id="plan-summary" data-plan-files="(\d+)" data-plan-bytes="(\d+)" '
        r'data-plan-output="(\d+)" data-plan-seconds="([\d.]+)"',
        html,
    )
    assert m
    return {
        "files": int(m.group(1)),
        "bytes": int(m.group(2)),
        "output": int(m.group(3)),
        "seconds": float(m.group(4)),
    }


def _calibrate(cat: Catalog, tool: str, seconds_per_file: float) -> None:
    """A measured rate, as 'preserveplan calibrate' stores it."""
    with cat.transaction():
        cat.db.execute(
            """INSERT OR REPLACE INTO tool_rates (tool, tool_version, seconds_per_file,
                   seconds_per_mb, output_ratio, samples, measured_at)
               VALUES (?, 'test', ?, 0.0, 2.0, 3, '2026-01-01T00:00:00+00:00')""",
            (tool, seconds_per_file),
        )


@pytest.mark.parametrize("lang", ["sv", "en"])
@pytest.mark.parametrize("calibrated", [False, True])
def test_management_estimates_conversion(
    assessed: tuple[Path, int], tmp_path: Path, lang: str, calibrated: bool
) -> None:
    db, scan_id = assessed
    strings = SV if lang == "sv" else EN
    with Catalog(db) as cat:
        if calibrated:
            _calibrate(cat, "ghostscript", 5 * 3600.0)  # 3 PDFs: 15 hours
        out = write_report(
            cat, kind="management", scan_id=scan_id, lang=lang, output=tmp_path / "m.html"
        )
        plan = make_plan(cat, scan_id)
        expected = _plan_totals(cat, scan_id)
    html = out.read_text(encoding="utf-8")
    got = _plan_summary(html)
    assert got["files"] == expected["files"] > 0
    assert got["bytes"] == expected["bytes"] and got["output"] == expected["output"]
    assert got["seconds"] == pytest.approx(expected["seconds"], abs=1e-3)
    assert fmt_duration(expected["seconds"], lang) in html
    assert fmt_bytes(expected["output"], lang) in html
    assert fmt_gb(expected["bytes"], lang) in html
    if calibrated:
        assert plan.rates["ghostscript"]["source"] == "calibrated"
        assert fmt_duration(expected["seconds"], lang) == strings["dur_hours"].format(n="15")
        assert 'data-rates="calibrated"' in html
        assert strings["rates_calibrated"] in htmlmod.unescape(html)
        assert expected["output"] == 2 * expected["bytes"]
    else:
        assert 'data-rates="default"' in html
        assert strings["rates_default"] in htmlmod.unescape(html)
    # The organisation table: per organisation, consistent with the plan's totals by org.
    rows = re.findall(
        r'data-plan-org-files="(\d+)" data-plan-org-bytes="(\d+)" '
        r'data-plan-org-output="(\d+)" data-plan-org-seconds="([\d.]+)"><td>([^<]*)</td>',
        html,
    )
    by_org = {htmlmod.unescape(o): (int(f), int(b), int(x), float(s)) for f, b, x, s, o in rows}
    assert len(by_org) == 3  # every organisation has a row, also those with nothing to convert
    for cell in plan.totals("org"):
        name = cell["org"] or strings["org_none"]
        f, b, x, s = by_org[name]
        assert (f, b, x) == (cell["files"], cell["bytes"], cell["est_output_bytes"])
        assert s == pytest.approx(cell["est_seconds"], abs=1e-3)
    assert sum(v[0] for v in by_org.values()) == expected["files"]
    assert "fmt/" not in html  # still no PUIDs for management


def test_specialist_plan_per_rule(assessed: tuple[Path, int], tmp_path: Path) -> None:
    db, scan_id = assessed
    with Catalog(db) as cat:
        out = write_report(
            cat, kind="specialist", scan_id=scan_id, lang="en", output=tmp_path / "s.html"
        )
        plan = make_plan(cat, scan_id)
        expected = _plan_totals(cat, scan_id)
        aid = cat.last_assessment(scan_id)
        assert aid is not None
        titles = {r["id"]: r["title"] for r in cat.assessment(aid)["policy"]["rules"]}
    html = out.read_text(encoding="utf-8")
    assert _plan_summary(html)["files"] == expected["files"]
    rows = re.findall(
        r'<tr data-plan-rule="([^"]*)" data-plan-files="(\d+)" data-plan-bytes="(\d+)" '
        r'data-plan-seconds="([\d.]+)"><td><b>[^<]*</b><br><span class="meta">([^<]*)</span>'
        r"</td><td>([^<]*)</td>",
        html,
    )
    got = {r[0]: (int(r[1]), int(r[2]), float(r[3]), htmlmod.unescape(r[4]), r[5]) for r in rows}
    want = plan.totals("rule")
    assert want and set(got) == {c["rule"] for c in want}
    tools = {x.rule: x.tool for x in plan.lines}
    for cell in want:
        files, size, seconds, title, tool = got[cell["rule"]]
        assert (files, size) == (cell["files"], cell["bytes"])
        assert seconds == pytest.approx(cell["est_seconds"], abs=1e-3)
        assert title == titles[cell["rule"]] and tool == tools[cell["rule"]]
    assert "pdf" in got and got["pdf"][4] == "ghostscript"
    assert 'id="plan-rate-table"' in html and EN["rate_default"] in html


def test_plan_counts_files_in_containers(tmp_path: Path) -> None:
    root = tmp_path / "arkiv"
    build_tree(root)
    with zipfile.ZipFile(root / "Falun" / "leverans.zip", "w") as zf:
        zf.writestr("inne.pdf", pdf_bytes("inne"))
        zf.writestr("inne2.pdf", pdf_bytes("inne2"))
    db = tmp_path / "c.db"
    [result] = scan(root, db=db, workers=1)
    with Catalog(db) as cat:
        assess(cat, load_ruleset())
        plan = make_plan(cat, result.scan_id)
        for kind in ("specialist", "management"):
            out = write_report(cat, kind=kind, lang="sv", output=tmp_path / f"{kind}.html")
            html = out.read_text(encoding="utf-8")
            m = re.search(r'id="plan-containers" data-plan-containers="(\d+)"', html)
            assert m and int(m.group(1)) == plan.in_containers == 2
            assert _plan_summary(html)["files"] == _plan_totals(cat, result.scan_id)["files"]


def test_plan_and_families_without_assessment(tmp_path: Path) -> None:
    root = tmp_path / "arkiv"
    build_tree(root)
    db = tmp_path / "c.db"
    [result] = scan(root, db=db, workers=1)
    with Catalog(db) as cat:
        prof = cat.format_profile(result.scan_id)
        for kind in ("specialist", "management"):
            for lang in ("sv", "en"):
                strings = SV if lang == "sv" else EN
                out = write_report(cat, kind=kind, lang=lang, output=tmp_path / f"{kind}.html")
                html = out.read_text(encoding="utf-8")
                assert 'id="plan-none"' in html and strings["plan_none"] in htmlmod.unescape(html)
                assert 'id="plan-summary"' not in html and "data-plan-org-files" not in html
                if kind == "specialist":
                    fams = families_in(html)
                    if fams:  # grouped by PRONOM class, still adding up
                        assert strings["family_note_class"] in html
                        for _, files, size, rows in fams:
                            assert files == sum(r[1] for r in rows)
                            assert size == sum(r[2] for r in rows)
                        assert sum(f[1] for f in fams) == sum(r["files"] for r in prof)
                    else:
                        assert 'id="family-note"' in html


def test_renders_in_chromium(
    assessed: tuple[Path, int], tmp_path_factory: pytest.TempPathFactory
) -> None:
    if not (Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)):
        pytest.skip(f"headless browser check skipped: {CHROMIUM} not found")
    db, _ = assessed
    art = tmp_path_factory.mktemp("report-artefacts")
    with Catalog(db) as cat:
        pages = [
            write_report(cat, kind=k, lang="sv", output=art / f"{k}.html")
            for k in ("specialist", "management")
        ]
    for page in pages:
        png = page.with_suffix(".png")
        common = [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            f"--user-data-dir={art / ('profile-' + page.stem)}",
        ]
        subprocess.run(
            [*common, f"--screenshot={png}", "--window-size=1280,2000", page.as_uri()],
            capture_output=True,
            timeout=120,
            check=False,
        )
        dom = subprocess.run(
            [*common, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120
        )
        print(f"report screenshot: {png}")
        assert png.is_file() and png.stat().st_size > 10_000
        assert 'id="total-files"' in dom.stdout and "</svg>" in dom.stdout
        assert "<img" not in dom.stdout  # the evil name stayed text after parsing
    shutil.rmtree(art / "profile-specialist", ignore_errors=True)
    shutil.rmtree(art / "profile-management", ignore_errors=True)


MINI = Path(__file__).parent / "data" / "mini-rules.yaml"
EVIL_MESSAGE = '<script>alert(3)</script> & gs said "no"'


@pytest.mark.skipif(shutil.which("gs") is None, reason="Ghostscript (gs) not installed")
def test_migration_status_from_a_real_ghostscript_run(tmp_path: Path) -> None:
    from preserveplan.migrate.runner import migrate

    root = tmp_path / "arkiv"
    (root / "Falun").mkdir(parents=True)
    (root / "Säter").mkdir()
    # sorted by path: the broken PDF (fails), b (done), c (left pending by the limit)
    (root / "Falun" / "a trasig.pdf").write_bytes(
        b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n" + bytes(range(256)) * 20 + b"\n%%EOF\n"
    )
    (root / "Falun" / "b.pdf").write_bytes(pdf_bytes("b " * 40))
    (root / "Falun" / "c.pdf").write_bytes(pdf_bytes("c " * 40))
    (root / "Säter" / "d.pdf").write_bytes(pdf_bytes("d " * 40))  # never put in a run
    db = tmp_path / "c.db"
    [result] = scan(root, db=db, workers=1)
    with Catalog(db) as cat:
        assess(cat, load_ruleset(MINI))
        migrate(cat, tmp_path / "ut", workers=1, only="Falun", limit=2)
        journal = dict(
            cat.db.execute("SELECT state, COUNT(*) FROM migrations GROUP BY state").fetchall()
        )
        assert journal == {"done": 1, "failed": 1, "pending": 1}
        outcomes = dict(
            cat.db.execute(
                "SELECT outcome, COUNT(*) FROM migrations WHERE state = 'failed' GROUP BY 1"
            ).fetchall()
        )
        (real_message,) = cat.db.execute(
            "SELECT message FROM migrations WHERE state = 'failed'"
        ).fetchone()
        with cat.transaction():  # what a converter might print: it must stay text
            cat.db.execute(
                "UPDATE migrations SET message = ? WHERE state = 'failed'",
                (f"{real_message} {EVIL_MESSAGE}",),
            )
        (run_id,) = cat.db.execute("SELECT id FROM migration_runs").fetchone()
        spec = write_report(cat, "specialist", result.scan_id, "en", tmp_path / "s.html")
        mans = {
            lang: write_report(cat, "management", result.scan_id, lang, tmp_path / f"m-{lang}.html")
            for lang in ("sv", "en")
        }
    html = spec.read_text(encoding="utf-8")
    assert EN["no_migrations"] not in html
    run_row = re.search(rf'<tr data-run="{run_id}" data-files="(\d+)" ([^>]*)>(.*?)</tr>', html)
    assert run_row, "the run is listed"
    attrs = dict(re.findall(r'data-(\w+)="(\d+)"', run_row.group(2)))
    assert int(run_row.group(1)) == 3
    assert {k: int(v) for k, v in attrs.items()} == journal
    assert str(tmp_path / "ut") in run_row.group(3)
    for outcome, n in outcomes.items():
        assert f"{outcome}: {n}" in run_row.group(3)  # failed by outcome
    invalid = outcomes.get("invalid", 0)
    assert f'data-valid="1" data-invalid="{invalid}"' in run_row.group(3)
    assert 'data-rule="pdf" data-tool="ghostscript" data-done="1" data-failed="1"' in html
    # the failed file with its message, escaped
    assert "Falun/a trasig.pdf" in html
    assert "<script>alert(3)" not in html
    assert "&lt;script&gt;alert(3)&lt;/script&gt; &amp; gs said &#34;no&#34;" in html
    assert str(escape(real_message)) in html
    no_network(html)
    # management: converted so far, what remains (pending + not in a run), failures; no PUIDs
    for lang, path in mans.items():
        page = path.read_text(encoding="utf-8")
        progress = re.search(r'<p id="migration-progress" ([^>]*)>(.*?)</p>', page, re.S)
        assert progress
        got = {k: int(v) for k, v in re.findall(r'data-([\w-]+)="(\d+)"', progress.group(1))}
        assert got["done"] == journal["done"]
        assert got["failed"] == journal["failed"]
        assert got["pending"] == 1 and got["not-in-run"] == 1 and got["remaining"] == 2
        t = SV if lang == "sv" else EN
        assert t["m_converted"] in progress.group(2)
        assert t["m_converted_failed"].format(failed="1") in progress.group(2)
        assert "fmt/" not in page
