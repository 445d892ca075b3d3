"""HTML reports: both kinds in both languages, numbers, escaping, self-containment, a browser."""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from util import pdf_bytes, png_bytes

from preserveplan import Catalog, scan
from preserveplan.report import write_report
from preserveplan.report.strings import EN, SV, fmt_bytes, fmt_number, fmt_percent
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
