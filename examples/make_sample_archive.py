#!/usr/bin/env python3
"""Build a realistic, deterministic sample e-archive for testing format identification.

The archive imitates what municipalities in Dalarna (Säter, Borlänge, Falun, Ludvika and
Smedjebacken) hand over to an archive: minutes, pupil records, building permits, accounts,
photographs, sound recordings, e-mail, map scans and system exports, in Swedish record-series
folders with real-looking Swedish names (å ä ö, spaces, dates). Every file is made by a real tool
(LibreOffice, Ghostscript, FFmpeg, Pillow, the Python standard library), so Siegfried/PRONOM
identifies it for real: Word/Excel/PowerPoint 97 and OOXML, ODF, RTF, PDF 1.4-1.7, PDF/A-1/2/3,
TIFF, JPEG (JFIF and Exif), PNG, GIF, BMP, WAV, MP3, MP4, AVI, MKV, EML, MBOX, ZIP (one nested,
one with traditional PKWARE encryption), TAR, TAR.GZ, CSV, XML, JSON, HTML and plain text in
UTF-8 and ISO-8859-1.

It also holds the problem files every real archive has: empty files, truncated files, a
password-protected PDF and ZIP, unknown binary data, files with the wrong extension, a Word lock
file, a very long file name and identical copies in different folders. A few of them are in
``Ludvika/Okänt/``; the rest sit where they would turn up in practice.

``Falun/Leveranser/SIP-2024-001/`` is an information package in the E-ARK CSIP layout (as the
Swedish FGS CSPackage uses it): a root ``METS.xml`` that lists the documentation, points at the
descriptive metadata (``mdRef``) and, through ``mets:mptr``, at
``representations/rep1/METS.xml``, which lists the data files with SHA-256 and MD5 checksums
(file names with å ä ö and spaces, URL-encoded). One checksum is wrong on purpose:
``representations/rep1/data/Ärendeförteckning.csv`` was corrected after the package was made,
so ``preserveplan scan`` reports it as a fixity mismatch (finding ``fixity_mismatch``).

Usage::

    python examples/make_sample_archive.py OUTDIR [--seed 2026] [--force]

OUTDIR must be missing or empty; ``--force`` deletes and rebuilds it. The archive is built in a
temporary directory next to OUTDIR and renamed into place when complete. The same seed always
gives the same folders and file names (and the same modification times); the bytes of files made
by LibreOffice, Ghostscript and FFmpeg may differ between runs where those tools embed a
timestamp. Nothing but the archive is written into OUTDIR.

Needs LibreOffice (``soffice``), Ghostscript (``gs``), FFmpeg and Pillow
(``pip install -e '.[sample]'``). Takes well under a minute on two cores.

Exit status: 0 on success, 1 if a tool is missing or a step fails, 2 for a usage error
(such as a non-empty OUTDIR without ``--force``).
"""

from __future__ import annotations

import argparse
import csv
import email.policy
import email.utils
import gzip
import hashlib
import io
import json
import mailbox
import os
import random
import re
import shutil
import signal
import struct
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from email.message import EmailMessage
from functools import partial
from html import escape
from pathlib import Path, PurePosixPath
from urllib.parse import quote

import libarchive

try:
    from PIL import Image, ImageDraw, features
except ImportError:  # reported as a clear error by find_tools()
    Image = ImageDraw = features = None  # type: ignore[assignment]

DEFAULT_SEED = 2026
SOFFICE_TIMEOUT = 300
SWEDEN = timezone(timedelta(hours=1))

# ---------------------------------------------------------------------------------------------
# Errors and tools


class UsageError(Exception):
    """Bad command line or OUTDIR; exit status 2."""


class BuildError(Exception):
    """A tool is missing or a step failed; exit status 1."""


@dataclass(frozen=True)
class Tools:
    soffice: str
    gs: str
    ffmpeg: str
    video_codec: str
    mp3_codec: str


TOOL_HINTS = {
    "soffice": (
        "LibreOffice",
        "apt-get install libreoffice-writer libreoffice-calc libreoffice-impress",
    ),
    "gs": ("Ghostscript", "apt-get install ghostscript"),
    "ffmpeg": ("FFmpeg", "apt-get install ffmpeg"),
}


def find_tools() -> Tools:
    """Locate the external tools, or raise BuildError naming every missing one."""
    found = {
        "soffice": shutil.which("soffice") or shutil.which("libreoffice"),
        "gs": shutil.which("gs"),
        "ffmpeg": shutil.which("ffmpeg"),
    }
    problems = [
        f"  {name} ({TOOL_HINTS[name][0]}): install it with: {TOOL_HINTS[name][1]}"
        for name, path in found.items()
        if path is None
    ]
    if Image is None:
        problems.append(
            "  Pillow (Python package): install it with: pip install pillow "
            "(or pip install -e '.[sample]')"
        )
    if problems:
        raise BuildError("required tools not found:\n" + "\n".join(problems))
    ffmpeg = str(found["ffmpeg"])
    encoders = ffmpeg_encoders(ffmpeg)
    mp3 = next((c for c in ("libmp3lame", "libshine") if c in encoders), None)
    if mp3 is None:
        raise BuildError(
            "ffmpeg has no MP3 encoder (libmp3lame); install it with: apt-get install ffmpeg"
        )
    video = "libx264" if "libx264" in encoders else "mpeg4"
    return Tools(str(found["soffice"]), str(found["gs"]), ffmpeg, video, mp3)


def ffmpeg_encoders(ffmpeg: str) -> set[str]:
    out = run([ffmpeg, "-hide_banner", "-encoders"], "list the ffmpeg encoders")
    return {line.split()[1] for line in out.splitlines() if len(line.split()) > 1}


def run(cmd: Sequence[str], what: str, timeout: float = 120) -> str:
    """Run a command in its own process group; return stdout or raise BuildError."""
    env = {**os.environ, "LC_ALL": "C.UTF-8", "SAL_USE_VCLPLUGIN": "svp"}
    with subprocess.Popen(
        cmd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        start_new_session=True,
    ) as proc:
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise BuildError(f"timed out after {timeout:.0f} s: {what}") from None
        except BaseException:  # e.g. Ctrl-C: the child is in its own session, so stop it too
            os.killpg(proc.pid, signal.SIGKILL)
            raise
    if proc.returncode != 0:
        tail = err.decode("utf-8", "replace").strip()[-800:]
        raise BuildError(f"failed to {what} (exit status {proc.returncode}):\n{tail}")
    return out.decode("utf-8", "replace")


# ---------------------------------------------------------------------------------------------
# Swedish names and text


@dataclass(frozen=True)
class Municipality:
    name: str
    domain: str
    places: tuple[str, ...]
    lakes: tuple[str, ...]
    suite: str  # which office formats the municipality used: "ms", "odf" or "mixed"


MUNICIPALITIES = (
    Municipality(
        "Säter",
        "sater.se",
        ("Stora Skedvi", "Gustafs", "Bispberg", "Solvarbo"),
        ("Ljustern", "Ösjön"),
        "ms",
    ),
    Municipality(
        "Borlänge",
        "borlange.se",
        ("Domnarvet", "Tuna", "Torsång", "Kvarnsveden"),
        ("Dalälven", "Gyllbergen"),
        "mixed",
    ),
    Municipality(
        "Falun",
        "falun.se",
        ("Svärdsjö", "Bjursås", "Grycksbo", "Sundborn"),
        ("Runn", "Varpan"),
        "ms",
    ),
    Municipality(
        "Ludvika",
        "ludvika.se",
        ("Grängesberg", "Fredriksberg", "Blötberget", "Nyhammar"),
        ("Väsman", "Haggen"),
        "odf",
    ),
    Municipality(
        "Smedjebacken",
        "smedjebacken.se",
        ("Söderbärke", "Vad", "Hagge", "Björsjö"),
        ("Barken", "Norra Barken"),
        "mixed",
    ),
)


def lines(block: str) -> tuple[str, ...]:
    """The non-empty, stripped lines of a text block (keeps word lists compact)."""
    return tuple(line.strip() for line in block.splitlines() if line.strip())


def words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


FIRST_NAMES = words(
    "Anna Åsa Björn Göran Märta Östen Ingrid Pär Lars Karin Sören Malin Jörgen Birgitta Håkan "
    "Maja Elin Ebba Hugo Oskar Linnéa Gunnel Tore Signe"
)
LAST_NAMES = words(
    "Andersson Öberg Åkesson Lindström Hällström Sjöberg Björk Nordqvist Ängström Källberg "
    "Ström Persson Eriksson Jönsson Löfgren Nyström Bäckström Gräsberg Dahlén Mård"
)
STREETS = words(
    "Storgatan Kyrkogatan Åsgatan Vasagatan Drottninggatan Bergslagsgatan Sjögatan "
    "Järnvägsgatan Skolgatan Ängsvägen Björkvägen Gruvgatan Hyttgatan Källvägen"
)
AGENDA = lines("""
    Val av justerare
    Godkännande av dagordning
    Budget {year} och plan {next}–{plan}
    Detaljplan för del av {place}
    Upphandling av skolskjutsar
    Försäljning av fastigheten {place} 3:{n}
    Medborgarförslag om badplats vid {lake}
    Motion om gång- och cykelväg i {place}
    Delårsrapport januari–augusti {year}
    Taxor för vatten och avlopp {next}
    Riktlinjer för bostadsförsörjning
    Informationsärenden
    Delegationsbeslut
    Årsredovisning {prev}
    Renovering av {place} skola
    Remiss: Regional utvecklingsstrategi för Dalarna
    Sammanträdesplan {next}
    Upprustning av {street}
""")
SUBJECTS = lines("""
    Förvaltningen
    Nämnden
    Arbetsutskottet
    Handläggaren
    Kommunstyrelsen
    Ordföranden
    Enhetschefen
    Samhällsbyggnadsförvaltningen
""")
VERBS = lines("""
    föreslår att
    bedömer att
    konstaterar att
    beslutar att
    rekommenderar att
    noterar att
    har utrett om
""")
CLAUSES = lines("""
    budgeten för {year} fastställs
    ärendet återremitteras för komplettering
    ansökan om bygglov beviljas
    detaljplanen för {place} antas
    informationen läggs till handlingarna
    medel avsätts för upprustning av {street}
    yttrandet skickas till Länsstyrelsen i Dalarnas län
    skolskjutsarna i {place} ses över
    äldreboendet i {place} byggs ut med {n} platser
    taxan höjs med {pct} procent från den 1 januari {next}
    gång- och cykelvägen längs {street} förlängs
    badplatsen vid {lake} rustas upp
    förskolan i {place} får ytterligare en avdelning
    kostnaderna ryms inom befintlig ram
    samråd hålls med berörda sakägare
    beslutet justeras omedelbart
""")
TAILS = lines("""
    under {year}
    senast den {date}
    i enlighet med förvaltningens förslag
    efter samråd med {name}
    enligt bilaga {n}
""")
MOTIFS = lines("""
    Midsommarfirande
    Valborgsbrasa
    Invigning av biblioteket
    Skolavslutning
    Hembygdsgården
    Gruvlaven
    Kyrkan
    Torget
    Brandstationen
    Badplatsen
    Järnvägsstationen
    Marknadsdag
""")


def person(rng: random.Random) -> str:
    return f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"


def random_date(rng: random.Random, year: int) -> date:
    return date(year, rng.randint(1, 12), rng.randint(1, 28))


def meeting_dates(rng: random.Random, year: int, count: int) -> list[str]:
    months = sorted(rng.sample([1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 12], count))
    return [date(year, month, rng.randint(1, 28)).isoformat() for month in months]


def fill(rng: random.Random, m: Municipality, year: int, template: str) -> str:
    return template.format(
        year=year,
        next=year + 1,
        prev=year - 1,
        plan=year + 3,
        place=rng.choice(m.places),
        street=rng.choice(STREETS),
        lake=rng.choice(m.lakes),
        name=person(rng),
        n=rng.randint(2, 40),
        pct=rng.randint(2, 9),
        date=random_date(rng, year).isoformat(),
    )


def sentence(rng: random.Random, m: Municipality, year: int) -> str:
    text = " ".join((rng.choice(SUBJECTS), rng.choice(VERBS), rng.choice(CLAUSES)))
    tail = rng.choice(TAILS) if rng.random() < 0.7 else ""
    return fill(rng, m, year, f"{text} {tail}".rstrip()) + "."


def paragraph(rng: random.Random, m: Municipality, year: int, sentences: int = 3) -> str:
    return " ".join(sentence(rng, m, year) for _ in range(sentences))


# ---------------------------------------------------------------------------------------------
# Sources for LibreOffice: HTML (Writer), CSV (Calc), flat ODF presentation (Impress)

Rows = list[list[str | int]]
Slides = list[tuple[str, list[str]]]


def html_page(title: str, blocks: Sequence[str], author: str = "") -> str:
    meta = f'<meta name="author" content="{escape(author)}">\n' if author else ""
    body = "\n".join(blocks)
    return (
        '<!DOCTYPE html>\n<html lang="sv">\n<head>\n<meta charset="utf-8">\n'
        f"{meta}<title>{escape(title)}</title>\n</head>\n<body>\n{body}\n</body>\n</html>\n"
    )


def tag(name: str, text: str) -> str:
    return f"<{name}>{escape(text)}</{name}>"


def html_table(rows: Sequence[Sequence[object]]) -> str:
    cells = ("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return '<table border="1" cellpadding="4">\n' + "\n".join(cells) + "\n</table>"


def protokoll_html(rng: random.Random, m: Municipality, organ: str, day: str) -> str:
    year = int(day[:4])
    people = [person(rng) for _ in range(rng.randint(5, 8))]
    blocks = [
        tag("h1", f"Protokoll {organ}"),
        tag("p", f"{m.name} kommun"),
        html_table(
            [
                ("Sammanträdesdatum", day),
                ("Plats", rng.choice(("Rådhuset", "Stadshuset", "Kommunhuset, sal A", "Digitalt"))),
                ("Ordförande", people[0]),
                ("Sekreterare", people[1]),
                ("Närvarande", ", ".join(people[2:])),
            ]
        ),
    ]
    first = rng.randint(1, 180)
    for number, item in enumerate(rng.sample(AGENDA, rng.randint(3, 6)), start=first):
        blocks += [
            tag("h2", f"§ {number} {fill(rng, m, year, item)}"),
            tag("p", paragraph(rng, m, year, rng.randint(2, 4))),
            "<p><b>Beslut:</b> " + escape(sentence(rng, m, year)) + "</p>",
        ]
    blocks.append(tag("p", f"Justeras: {people[2]} och {people[3]}"))
    return html_page(f"Protokoll {organ} {day}", blocks, people[1])


def report_html(rng: random.Random, m: Municipality, title: str, year: int) -> str:
    author = person(rng)
    blocks = [tag("h1", title), tag("p", f"{m.name} kommun, {random_date(rng, year)}")]
    for heading in rng.sample(
        (
            "Bakgrund",
            "Ärendet",
            "Bedömning",
            "Ekonomi",
            "Förslag till beslut",
            "Uppföljning",
            "Synpunkter",
            "Sammanfattning",
        ),
        rng.randint(2, 4),
    ):
        blocks += [tag("h2", heading), tag("p", paragraph(rng, m, year, rng.randint(2, 5)))]
    if rng.random() < 0.4:
        rows = [("Post", "Belopp (kr)")]
        rows += [(fill(rng, m, year, "Åtgärd {n}"), rng.randint(5, 900) * 1000) for _ in range(4)]
        blocks.append(html_table(rows))
    blocks.append(tag("p", f"Handläggare: {author}"))
    return html_page(title, blocks, author)


def csv_source(rows: Rows) -> str:
    buf = io.StringIO()
    csv.writer(buf, delimiter=";", lineterminator="\n").writerows(rows)
    return buf.getvalue()


FODP_NS = " ".join(
    f'xmlns:{prefix}="urn:oasis:names:tc:opendocument:xmlns:{ns}"'
    for prefix, ns in (
        ("office", "office:1.0"),
        ("draw", "drawing:1.0"),
        ("text", "text:1.0"),
        ("svg", "svg-compatible:1.0"),
        ("presentation", "presentation:1.0"),
        ("meta", "meta:1.0"),
    )
)


def fodp_source(title: str, slides: Slides) -> str:
    pages = []
    for number, (heading, bullets) in enumerate(slides, start=1):
        items = "".join(f"<text:p>– {escape(b)}</text:p>" for b in bullets)
        pages.append(
            f'<draw:page draw:name="Bild{number}">'
            '<draw:frame svg:x="2cm" svg:y="1.5cm" svg:width="24cm" svg:height="3cm">'
            f"<draw:text-box><text:p>{escape(heading)}</text:p></draw:text-box></draw:frame>"
            '<draw:frame svg:x="2cm" svg:y="5cm" svg:width="24cm" svg:height="12cm">'
            f"<draw:text-box>{items}</draw:text-box></draw:frame></draw:page>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<office:document {FODP_NS} xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'office:version="1.3" '
        'office:mimetype="application/vnd.oasis.opendocument.presentation">\n'
        f"<office:meta><dc:title>{escape(title)}</dc:title></office:meta>\n"
        "<office:body><office:presentation>\n" + "\n".join(pages) + "\n"
        "</office:presentation></office:body></office:document>\n"
    )


def slides_for(rng: random.Random, m: Municipality, title: str, year: int) -> Slides:
    slides: Slides = [(title, [f"{m.name} kommun", f"{random_date(rng, year)}"])]
    for heading in rng.sample(
        ("Bakgrund", "Nuläge", "Ekonomi", "Förslag", "Tidplan", "Risker", "Nästa steg"),
        rng.randint(2, 4),
    ):
        slides.append((heading, [sentence(rng, m, year) for _ in range(rng.randint(2, 4))]))
    return slides


ACCOUNTS = tuple(
    (int(line.split(maxsplit=1)[0]), line.split(maxsplit=1)[1])
    for line in lines("""
        3010 Försäljning av verksamhet
        3110 Taxor och avgifter
        3510 Hyror och arrenden
        4010 Inköp av material
        5010 Löner månadsavlönade
        5410 Sociala avgifter enligt lag
        6110 Kontorsmaterial
        6210 Telefon och datakommunikation
        7010 Konsulttjänster
        7810 Avskrivningar på inventarier
        8410 Räntekostnader
        8910 Övriga finansiella kostnader
    """)
)
BUDGET_AREAS = lines("""
    Barn- och utbildning
    Socialtjänst
    Äldreomsorg
    Samhällsbyggnad
    Kultur och fritid
    Kommunledning
    Räddningstjänst
    Vatten och avlopp
""")


def bokslut_rows(rng: random.Random, year: int) -> Rows:
    rows: Rows = [["Konto", "Benämning", f"Utfall {year}", f"Budget {year}", "Avvikelse"]]
    for account, label in rng.sample(ACCOUNTS, rng.randint(7, len(ACCOUNTS))):
        budget = rng.randint(50, 9000) * 1000
        outcome = budget + rng.randint(-300, 300) * 1000
        rows.append([account, label, outcome, budget, outcome - budget])
    return rows


def budget_rows(rng: random.Random, year: int) -> Rows:
    rows: Rows = [["Verksamhet", f"Budget {year}", f"Plan {year + 1}", f"Plan {year + 2}"]]
    for area in BUDGET_AREAS:
        base = rng.randint(20, 600) * 100_000
        rows.append(
            [area, base, base + rng.randint(0, 40) * 10_000, base + rng.randint(0, 80) * 10_000]
        )
    return rows


def diarium_rows(rng: random.Random, m: Municipality, year: int, count: int) -> Rows:
    rows: Rows = [["Diarienummer", "Datum", "Ärendemening", "Handläggare", "Status"]]
    for number in sorted(rng.sample(range(1, 700), count)):
        rows.append(
            [
                f"KS {year}/{number:03d}",
                random_date(rng, year).isoformat(),
                fill(rng, m, year, rng.choice(AGENDA)),
                person(rng),
                rng.choice(("Pågående", "Avslutat", "Avslutat", "Vilande")),
            ]
        )
    return rows


# ---------------------------------------------------------------------------------------------
# Images (Pillow)


def rand_color(rng: random.Random, low: int = 0, high: int = 255) -> tuple[int, int, int]:
    return (rng.randint(low, high), rng.randint(low, high), rng.randint(low, high))


def photo(rng: random.Random, size: tuple[int, int], noise: bool = True) -> Image.Image:
    """A landscape with sky, hills, houses and trees."""
    w, h = size
    top, bottom = rand_color(rng, 60, 200), rand_color(rng, 150, 255)
    sky = Image.linear_gradient("L").resize((w, h))
    img = Image.composite(Image.new("RGB", size, bottom), Image.new("RGB", size, top), sky)
    draw = ImageDraw.Draw(img)
    sun = rng.randint(0, w), rng.randint(0, h // 3), rng.randint(15, 40)
    draw.ellipse(
        (sun[0] - sun[2], sun[1] - sun[2], sun[0] + sun[2], sun[1] + sun[2]), fill=(255, 236, 160)
    )
    for _ in range(rng.randint(2, 4)):
        base = rng.randint(h // 2, h - h // 6)
        points = [
            (0, h),
            *((x, base - rng.randint(0, h // 5)) for x in range(0, w + 60, 60)),
            (w, h),
        ]
        draw.polygon(points, fill=rand_color(rng, 20, 120))
    for _ in range(rng.randint(1, 5)):
        x, y, s = rng.randint(0, w - 40), rng.randint(h // 2, h - 30), rng.randint(20, 50)
        draw.rectangle((x, y, x + s, y + s * 2 // 3), fill=(rng.randint(140, 200), 40, 30))
        draw.polygon([(x - 4, y), (x + s // 2, y - s // 2), (x + s + 4, y)], fill=(60, 50, 50))
    for _ in range(rng.randint(3, 12)):
        x, y, r = rng.randint(0, w), rng.randint(h // 2, h), rng.randint(6, 22)
        draw.ellipse((x - r, y - 2 * r, x + r, y), fill=(20, rng.randint(70, 120), 40))
    if noise:
        grain = Image.effect_noise(size, rng.randint(20, 50)).convert("RGB")
        img = Image.blend(img, grain, 0.08)
    return img


def line_drawing(rng: random.Random, size: tuple[int, int]) -> Image.Image:
    """A facade or floor plan in black on white (like a scanned building drawing)."""
    w, h = size
    img = Image.new("1", size, 1)
    draw = ImageDraw.Draw(img)
    x0, y0, x1, y1 = w // 8, h // 3, w - w // 8, h - h // 8
    draw.rectangle((x0, y0, x1, y1), outline=0, width=3)
    draw.line([(x0 - 10, y0), ((x0 + x1) // 2, h // 8), (x1 + 10, y0)], fill=0, width=3)
    cols, rows = rng.randint(3, 6), rng.randint(1, 3)
    for c in range(cols):
        for r in range(rows):
            wx = x0 + (c + 0.3) * (x1 - x0) / cols
            wy = y0 + (r + 0.25) * (y1 - y0) / rows
            draw.rectangle(
                (wx, wy, wx + (x1 - x0) / cols / 2, wy + (y1 - y0) / rows / 2), outline=0, width=2
            )
    draw.line([(x0, h - h // 16), (x1, h - h // 16)], fill=0, width=1)
    for x in (x0, x1):
        draw.line([(x, h - h // 16 - 8), (x, h - h // 16 + 8)], fill=0, width=1)
    draw.rectangle((w - w // 3, h - h // 10, w - 8, h - 8), outline=0, width=2)
    return img


def map_image(rng: random.Random, size: tuple[int, int]) -> Image.Image:
    """A simple map: land, a lake, roads and property boundaries."""
    w, h = size
    img = Image.new("RGB", size, (rng.randint(225, 240), rng.randint(230, 245), 205))
    draw = ImageDraw.Draw(img)
    lx, ly = rng.randint(0, w), rng.randint(0, h)
    draw.ellipse((lx - w // 4, ly - h // 6, lx + w // 4, ly + h // 6), fill=(150, 190, 230))
    for _ in range(rng.randint(8, 20)):
        x, y = rng.randint(0, w - 60), rng.randint(0, h - 60)
        draw.rectangle(
            (x, y, x + rng.randint(20, 90), y + rng.randint(20, 90)), outline=(120, 120, 120)
        )
    for _ in range(rng.randint(3, 6)):
        points = [(rng.randint(0, w), rng.randint(0, h)) for _ in range(4)]
        draw.line(points, fill=(rng.randint(200, 255), 170, 60), width=rng.randint(3, 7))
    return img


def poster(rng: random.Random, size: tuple[int, int]) -> Image.Image:
    """Flat-colour shapes, as in a logotype or poster (palette image for GIF)."""
    img = Image.new("RGB", size, rand_color(rng, 180, 255))
    draw = ImageDraw.Draw(img)
    w, h = size
    for _ in range(rng.randint(4, 9)):
        x0, x1 = sorted((rng.randint(0, w), rng.randint(0, w)))
        y0, y1 = sorted((rng.randint(0, h), rng.randint(0, h)))
        shape = (x0, y0, x1, y1)
        if rng.random() < 0.5:
            draw.ellipse(shape, fill=rand_color(rng))
        else:
            draw.rectangle(shape, fill=rand_color(rng))
    return img.convert("P", palette=Image.Palette.ADAPTIVE, colors=32)


def scanned_page(rng: random.Random, size: tuple[int, int]) -> Image.Image:
    """A grey page with lines of 'text', like a scanned typed document."""
    w, h = size
    img = Image.new("L", size, rng.randint(225, 245))
    draw = ImageDraw.Draw(img)
    y = h // 10
    draw.rectangle((w // 10, y, w // 2, y + 12), fill=40)
    y += 40
    while y < h - h // 8:
        length = rng.randint(w // 2, w - w // 5) if rng.random() > 0.15 else rng.randint(40, w // 3)
        x = w // 10
        while x < w // 10 + length:
            word = rng.randint(10, 45)
            draw.rectangle((x, y, x + word, y + 6), fill=rng.randint(30, 90))
            x += word + 7
        y += rng.choice((14, 14, 14, 28))
    return img


def exif_jpeg(img: Image.Image, taken: datetime, rng: random.Random, version: bytes) -> bytes:
    """JPEG as a digital camera writes it: Exif APP1 and no JFIF APP0 segment."""
    exif = Image.Exif()
    camera = rng.choice(
        (
            ("Canon", "Canon EOS 5D"),
            ("NIKON CORPORATION", "NIKON D70"),
            ("SONY", "DSC-W55"),
            ("OLYMPUS IMAGING CORP.", "u1000"),
        )
    )
    exif[0x010F], exif[0x0110] = camera
    stamp = taken.strftime("%Y:%m:%d %H:%M:%S")
    exif[0x0132] = stamp
    sub = exif.get_ifd(0x8769)
    sub[0x9000] = version
    sub[0x9003] = stamp
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=rng.randint(70, 90), exif=exif.tobytes())
    data = buf.getvalue()
    if data[2:4] == b"\xff\xe0":  # drop Pillow's JFIF APP0 segment
        data = data[:2] + data[4 + struct.unpack(">H", data[4:6])[0] :]
    return data


def jfif_jpeg(img: Image.Image, quality: int, minor: int) -> bytes:
    """JPEG with a JFIF APP0 segment of version 1.<minor> (Pillow writes 1.01)."""
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality)
    data = buf.getvalue()
    return data[:11] + bytes((1, minor)) + data[13:] if data[6:11] == b"JFIF\0" else data


def image_bytes(img: Image.Image, fmt: str, **params: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **params)
    return buf.getvalue()


def g4_tiff(img: Image.Image) -> bytes:
    compression = "group4" if features.check_codec("libtiff") else None
    return image_bytes(img.convert("1"), "TIFF", compression=compression, dpi=(300, 300))


# ---------------------------------------------------------------------------------------------
# Containers and e-mail


def encrypted_zip(
    members: Sequence[tuple[str, bytes]], password: bytes, when: datetime, rng: random.Random
) -> bytes:
    """A ZIP whose members are encrypted with traditional PKWARE encryption (libarchive)."""
    del rng  # libarchive draws the encryption header itself
    with tempfile.TemporaryDirectory() as tmp:
        target = os.path.join(tmp, "locked.zip")
        with libarchive.file_writer(
            target, "zip", options="encryption=zipcrypt", passphrase=password.decode()
        ) as archive:
            for name, data in members:
                archive.add_file_from_memory(name, len(data), data, mtime=when.timestamp())
        return Path(target).read_bytes()


Member = tuple[str, Path | bytes]


def member_bytes(content: Path | bytes) -> bytes:
    return content if isinstance(content, bytes) else content.read_bytes()


def zip_bytes(members: Sequence[Member], when: datetime) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in members:
            info = zipfile.ZipInfo(name, date_time=when.timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o100644 << 16
            zf.writestr(info, member_bytes(content))
    return buf.getvalue()


def tar_bytes(members: Sequence[Member], when: datetime) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for name, content in members:
            data = member_bytes(content)
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), int(when.timestamp()), 0o644
            info.uname = info.gname = "arkiv"
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


@dataclass
class Mail:
    sender: str
    to: str
    subject: str
    body: str
    sent: datetime
    message_id: str
    boundary: str
    attachments: list[tuple[str, Path]] = field(default_factory=list)


def email_message(mail: Mail) -> EmailMessage:
    msg = EmailMessage()
    domain = mail.to.rsplit("@", 1)[-1].rstrip(">")
    msg["Return-Path"] = "<" + email.utils.parseaddr(mail.sender)[1] + ">"
    msg["Received"] = (
        f"from mail.{domain} (mail.{domain} [10.20.30.40]) by mx1.{domain}; "
        + email.utils.format_datetime(mail.sent)
    )
    msg["From"] = mail.sender
    msg["To"] = mail.to
    msg["Subject"] = mail.subject
    msg["Date"] = email.utils.format_datetime(mail.sent)
    msg["Message-ID"] = mail.message_id
    msg["X-Mailer"] = "Microsoft Outlook 16.0"
    msg.set_content(mail.body)
    for filename, path in mail.attachments:
        maintype, subtype = attachment_type(filename)
        msg.add_attachment(path.read_bytes(), maintype=maintype, subtype=subtype, filename=filename)
    if msg.is_multipart():
        msg.set_boundary(mail.boundary)
    return msg


def attachment_type(filename: str) -> tuple[str, str]:
    return {
        ".pdf": ("application", "pdf"),
        ".docx": ("application", "vnd.openxmlformats-officedocument.wordprocessingml.document"),
        ".jpg": ("image", "jpeg"),
        ".xlsx": ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    }.get(Path(filename).suffix.lower(), ("application", "octet-stream"))


def write_eml(mail: Mail, dest: Path) -> None:
    dest.write_bytes(email_message(mail).as_bytes(policy=email.policy.SMTP))


def write_mbox(mails: Sequence[Mail], dest: Path) -> None:
    box = mailbox.mbox(dest, create=True)
    try:
        for mail in mails:
            message = mailbox.mboxMessage(email_message(mail))
            message.set_from(email.utils.parseaddr(mail.sender)[1], mail.sent.timetuple())
            box.add(message)
        box.flush()
    finally:
        box.close()


# ---------------------------------------------------------------------------------------------
# The builder: writes files, batches LibreOffice conversions, runs deferred steps

LO_FILTERS: dict[tuple[str, str], str] = {
    ("writer", "doc"): "doc:MS Word 97",
    ("writer", "docx"): "docx:MS Word 2007 XML",
    ("writer", "odt"): "odt:writer8",
    ("writer", "rtf"): "rtf:Rich Text Format",
    ("writer", "pdf"): "pdf:writer_pdf_Export",
    ("calc", "xls"): "xls:MS Excel 97",
    ("calc", "xlsx"): "xlsx:Calc MS Excel 2007 XML",
    ("calc", "ods"): "ods:calc8",
    ("calc", "pdf"): "pdf:calc_pdf_Export",
    ("impress", "ppt"): "ppt:MS PowerPoint 97",
    ("impress", "pptx"): "pptx:Impress MS PowerPoint 2007 XML",
    ("impress", "odp"): "odp:impress8",
    ("impress", "pdf"): "pdf:impress_pdf_Export",
}
LO_INFILTERS = {"writer": "HTML (StarWriter)", "calc": "CSV:59,34,76,1", "impress": None}
LO_SOURCE_SUFFIX = {"writer": ".html", "calc": ".csv", "impress": ".fodp"}


@dataclass
class Builder:
    root: Path
    scratch: Path
    tools: Tools
    rng: random.Random
    taken: set[str] = field(default_factory=set)
    batches: dict[tuple[str, str], list[tuple[Path, Path]]] = field(default_factory=dict)
    deferred: list[Callable[[], object]] = field(default_factory=list)
    counter: int = 0

    # -- paths ---------------------------------------------------------------------------------

    def path(self, rel: str) -> Path:
        """Reserve a new archive path, adding ' (2)', ' (3)' ... if the name is taken."""
        candidate, pure, number = rel, PurePosixPath(rel), 2
        while candidate.casefold() in self.taken:
            candidate = str(pure.with_name(f"{pure.stem} ({number}){pure.suffix}"))
            number += 1
        self.taken.add(candidate.casefold())
        dest = self.root / candidate
        dest.parent.mkdir(parents=True, exist_ok=True)
        return dest

    def scratch_path(self, suffix: str) -> Path:
        self.counter += 1
        path = self.scratch / "files" / f"f{self.counter:04d}{suffix}"
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    # -- direct writes -------------------------------------------------------------------------

    def data(self, rel: str, content: bytes) -> Path:
        dest = self.path(rel)
        dest.write_bytes(content)
        return dest

    def text(self, rel: str, content: str, encoding: str = "utf-8", crlf: bool = False) -> Path:
        if crlf:
            content = content.replace("\n", "\r\n")
        return self.data(rel, content.encode(encoding))

    def later(self, func: Callable[..., object], *args: object) -> None:
        """Run func(*args) after all LibreOffice conversions are done."""
        self.deferred.append(partial(func, *args))

    # -- LibreOffice ---------------------------------------------------------------------------

    def convert(self, app: str, fmt: str, source: str, dest: Path) -> Path:
        src = self.scratch_path(LO_SOURCE_SUFFIX[app])
        src.write_text(source, encoding="utf-8")
        self.batches.setdefault((app, fmt), []).append((src, dest))
        return dest

    def office(self, rel: str, app: str, source: str, fmt: str | None = None) -> Path:
        """An archive file made by LibreOffice; fmt defaults to the name's extension."""
        fmt = fmt or PurePosixPath(rel).suffix.lstrip(".").lower()
        return self.convert(app, fmt, source, self.path(rel))

    def office_scratch(self, app: str, fmt: str, source: str) -> Path:
        """A file made by LibreOffice outside the archive (for Ghostscript, containers...)."""
        return self.convert(app, fmt, source, self.scratch_path(f".{fmt}"))

    def run_conversions(self) -> None:
        profile = (self.scratch / "lo-profile").as_uri()
        for number, ((app, fmt), jobs) in enumerate(sorted(self.batches.items())):
            outdir = self.scratch / "lo-out" / f"{number:02d}-{app}-{fmt}"
            outdir.mkdir(parents=True)
            cmd = [
                self.tools.soffice,
                f"-env:UserInstallation={profile}",
                "--headless",
                "--invisible",
                "--norestore",
                "--nolockcheck",
                "--nodefault",
            ]
            if LO_INFILTERS[app]:
                cmd.append(f"--infilter={LO_INFILTERS[app]}")
            cmd += ["--convert-to", LO_FILTERS[(app, fmt)], "--outdir", str(outdir)]
            cmd += [str(src) for src, _ in jobs]
            run(cmd, f"convert {len(jobs)} files to {fmt} with LibreOffice", SOFFICE_TIMEOUT)
            for src, dest in jobs:
                made = outdir / f"{src.stem}.{fmt}"
                if not made.is_file() or made.stat().st_size == 0:
                    raise BuildError(f"LibreOffice did not convert {src.name} to {fmt}")
                shutil.move(made, dest)
        self.batches.clear()

    def finish(self) -> None:
        self.run_conversions()
        for step in self.deferred:
            step()
        self.deferred.clear()

    # -- Ghostscript and FFmpeg ----------------------------------------------------------------

    def gs(self, rel: str, source_pdf: Path, options: Sequence[str], what: str) -> Path:
        dest = self.path(rel)
        cmd = [
            self.tools.gs,
            "-q",
            "-dBATCH",
            "-dNOPAUSE",
            "-sDEVICE=pdfwrite",
            *options,
            "-o",
            str(dest),
            str(source_pdf),
        ]
        self.later(run, cmd, f"{what} with Ghostscript")
        return dest

    def pdfa(self, rel: str, source_pdf: Path, part: int) -> Path:
        options = [f"-dPDFA={part}", "-dPDFACompatibilityPolicy=1", "-sColorConversionStrategy=RGB"]
        return self.gs(rel, source_pdf, options, f"make PDF/A-{part}")

    def ffmpeg(self, rel: str, args: Sequence[str]) -> Path:
        dest = self.path(rel)
        cmd = [
            self.tools.ffmpeg,
            "-nostdin",
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            *args,
            "-map_metadata",
            "-1",
            "-bitexact",
            str(dest),
        ]
        run(cmd, f"make {dest.name} with ffmpeg")
        return dest


# ---------------------------------------------------------------------------------------------
# Record series: each function adds one kind of record for one municipality


def text_format(b: Builder, m: Municipality, year: int) -> str:
    rng = b.rng
    if m.suite == "odf":
        return rng.choice(("odt", "odt", "odt", "docx", "rtf"))
    if year <= 2016 or (m.suite == "ms" and year <= 2018 and rng.random() < 0.6):
        return rng.choice(("doc", "doc", "doc", "doc", "rtf"))
    return rng.choice(("docx", "docx", "docx", "doc", "odt" if m.suite == "mixed" else "docx"))


def sheet_format(b: Builder, m: Municipality, year: int) -> str:
    if m.suite == "odf":
        return b.rng.choice(("ods", "ods", "xlsx"))
    if year <= 2016:
        return "xls"
    return b.rng.choice(("xlsx", "xlsx", "xls", "ods" if m.suite == "mixed" else "xlsx"))


def slide_format(b: Builder, m: Municipality, year: int) -> str:
    if m.suite == "odf":
        return b.rng.choice(("odp", "pptx"))
    return "ppt" if year <= 2015 else b.rng.choice(("pptx", "pptx", "ppt", "odp"))


def add_kommunstyrelsen(b: Builder, m: Municipality) -> list[Path]:
    rng, made = b.rng, []
    years = sorted(rng.sample(range(2014, 2023), 3))
    for year in years:
        folder = f"{m.name}/Kommunstyrelsen/Protokoll/{year}"
        for day in meeting_dates(rng, year, rng.randint(2, 3)):
            fmt = text_format(b, m, year)
            made.append(
                b.office(
                    f"{folder}/Protokoll KS {day}.{fmt}",
                    "writer",
                    protokoll_html(rng, m, "Kommunstyrelsen", day),
                )
            )
        kallelse = meeting_dates(rng, year, 1)[0]
        b.office(
            f"{folder}/Kallelse KS {kallelse}.pdf",
            "writer",
            report_html(rng, m, f"Kallelse till kommunstyrelsen {kallelse}", year),
        )
    year = years[-1]
    title = rng.choice(
        (
            "Information om budgetläget",
            "Översiktsplan – samråd",
            "Digitaliseringsstrategi",
            "Lokalförsörjningsplan",
        )
    )
    b.office(
        f"{m.name}/Kommunstyrelsen/Presentationer/{title} {year}.{slide_format(b, m, year)}",
        "impress",
        fodp_source(title, slides_for(rng, m, title, year)),
    )
    return made


def add_kommunfullmaktige(b: Builder, m: Municipality) -> list[Path]:
    rng, made = b.rng, []
    for year in sorted(rng.sample(range(2015, 2023), 2)):
        day = meeting_dates(rng, year, 1)[0]
        pdf = b.office_scratch("writer", "pdf", protokoll_html(rng, m, "Kommunfullmäktige", day))
        part = rng.choice((1, 2, 2, 2, 3))
        made.append(
            b.pdfa(
                f"{m.name}/Kommunfullmäktige/Protokoll/{year}/Protokoll KF {day} (justerat).pdf",
                pdf,
                part,
            )
        )
    folder = f"{m.name}/Kommunfullmäktige/Ljudupptagningar"
    for year in sorted(rng.sample(range(2016, 2023), rng.randint(1, 2))):
        day = meeting_dates(rng, year, 1)[0]
        wav = year <= 2018  # older recordings were kept as WAV
        name = f"KF-sammanträde {day} del {rng.randint(1, 3)}.{'wav' if wav else 'mp3'}"
        b.ffmpeg(f"{folder}/{name}", audio_args(b, rng, wav))
    return made


def audio_args(b: Builder, rng: random.Random, wav: bool) -> list[str]:
    tone, wobble = rng.randint(140, 320), rng.randint(2, 6)
    expr = f"0.4*sin(2*PI*{tone}*t)*(0.6+0.4*sin(2*PI*{wobble}*t))"
    source = ["-f", "lavfi", "-i", f"aevalsrc=exprs={expr}:s=22050:d={rng.randint(2, 3)}"]
    codec = ["-c:a", "pcm_s16le"] if wav else ["-c:a", b.tools.mp3_codec, "-b:a", "48k"]
    return [*source, "-ac", "1", *codec]


def add_utbildning(b: Builder, m: Municipality) -> None:
    rng = b.rng
    for _ in range(rng.randint(2, 3)):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        born = rng.randint(1988, 2006)
        year = born + 16
        folder = f"{m.name}/Barn- och utbildning/Elevakter/Avgångsår {year}"
        b.office(
            f"{folder}/Elevakt {last} {first} {born}.{text_format(b, m, year)}",
            "writer",
            report_html(rng, m, f"Elevakt – {first} {last}", year),
        )
        if rng.random() < 0.7:
            scan = scanned_page(rng, (rng.randint(500, 700), rng.randint(700, 900)))
            b.data(f"{folder}/Betyg åk 9 {last} {first}.tif", g4_tiff(scan))
    year = rng.randint(2012, 2022)
    name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
    b.office(
        f"{m.name}/Barn- och utbildning/Elevhälsa/Åtgärdsprogram {name} {year}.rtf",
        "writer",
        report_html(rng, m, f"Åtgärdsprogram {name}", year),
    )
    year = rng.randint(2014, 2022)
    rows: Rows = [["Linje", "Hållplats", "Avgång", "Antal elever"]]
    rows += [
        [
            rng.randint(1, 40),
            f"{rng.choice(m.places)} {rng.choice(STREETS)}",
            f"{rng.randint(6, 8):02d}:{rng.randrange(0, 60, 5):02d}",
            rng.randint(1, 30),
        ]
        for _ in range(rng.randint(6, 14))
    ]
    b.office(
        f"{m.name}/Barn- och utbildning/Skolskjuts/Skolskjutsar läsåret {year}-{year + 1}."
        f"{sheet_format(b, m, year)}",
        "calc",
        csv_source(rows),
    )


def add_bygglov(b: Builder, m: Municipality) -> None:
    rng = b.rng
    for _ in range(rng.randint(1, 2)):
        street, number = rng.choice(STREETS), rng.randint(1, 60)
        place = rng.choice(m.places)
        drawing = line_drawing(rng, (rng.randint(500, 800), rng.randint(400, 600)))
        b.data(f"{m.name}/Bygglov/Ritningar/Fasadritning {street} {number}.tif", g4_tiff(drawing))
        plan = line_drawing(rng, (rng.randint(300, 500), rng.randint(300, 500)))
        b.data(
            f"{m.name}/Bygglov/Ritningar/Planritning {street} {number}.png",
            image_bytes(plan, "PNG", optimize=True),
        )
        site = map_image(rng, (rng.randint(400, 600), rng.randint(300, 450)))
        b.data(
            f"{m.name}/Bygglov/Ritningar/Situationsplan {place} {rng.randint(1, 30)}"
            f"-{rng.randint(1, 200)}.pdf",
            image_bytes(site, "PDF", resolution=100.0),
        )
    for _ in range(rng.randint(2, 3)):
        year = rng.randint(2012, 2022)
        case = f"BN {year}-{rng.randint(1, 450):03d}"
        b.office(
            f"{m.name}/Bygglov/Ärenden/Bygglovsansökan {case}.{text_format(b, m, year)}",
            "writer",
            report_html(rng, m, f"Ansökan om bygglov {case}", year),
        )
        if rng.random() < 0.6:
            pdf = b.office_scratch(
                "writer", "pdf", report_html(rng, m, f"Beslut om bygglov {case}", year)
            )
            version = rng.choice(("1.4", "1.5", "1.7"))
            b.gs(
                f"{m.name}/Bygglov/Ärenden/Beslut {case}.pdf",
                pdf,
                [f"-dCompatibilityLevel={version}"],
                f"write PDF {version}",
            )


def add_socialtjanst(b: Builder, m: Municipality) -> None:
    rng = b.rng
    folder = f"{m.name}/Socialtjänst/Ärenden"
    for _ in range(rng.randint(2, 3)):
        year = rng.randint(2010, 2022)
        case = f"SN {year}-{rng.randint(1, 2500):04d}"
        b.office(
            f"{folder}/Utredning {case}.{text_format(b, m, year)}",
            "writer",
            report_html(rng, m, f"Utredning {case}", year),
        )
    year = rng.randint(2012, 2022)
    b.office(
        f"{folder}/Journalanteckningar {year}.rtf",
        "writer",
        report_html(rng, m, f"Journalanteckningar {year}", year),
    )
    day = random_date(rng, rng.randint(2015, 2022)).isoformat()
    b.office(
        f"{folder}/Beslut om bistånd {day}.pdf",
        "writer",
        report_html(rng, m, f"Beslut om bistånd {day}", int(day[:4])),
    )


def add_ekonomi(b: Builder, m: Municipality) -> Path:
    rng = b.rng
    years = sorted(rng.sample(range(2013, 2023), 2))
    annual: Path | None = None
    for year in years:
        folder = f"{m.name}/Ekonomi/Bokslut/{year}"
        b.office(
            f"{folder}/Bokslut {year}.{sheet_format(b, m, year)}",
            "calc",
            csv_source(bokslut_rows(rng, year)),
        )
        pdf = b.office_scratch("writer", "pdf", report_html(rng, m, f"Årsredovisning {year}", year))
        annual = b.pdfa(f"{folder}/Årsredovisning {year}.pdf", pdf, rng.choice((1, 2, 2)))
    year = years[-1] + 1
    b.office(
        f"{m.name}/Ekonomi/Budget/Budget {year}.{sheet_format(b, m, year)}",
        "calc",
        csv_source(budget_rows(rng, year)),
    )
    title = f"Budget {year} – dialog med nämnderna"
    b.office(
        f"{m.name}/Ekonomi/Budget/Budgetpresentation {year}.{slide_format(b, m, year)}",
        "impress",
        fodp_source(title, slides_for(rng, m, title, year)),
    )
    kontoplan = "Konto;Benämning;Kontoklass\n" + "".join(
        f"{account};{label};{str(account)[0]}\n" for account, label in ACCOUNTS
    )
    b.text(f"{m.name}/Ekonomi/Kontoplan.csv", "\ufeff" + kontoplan, crlf=True)
    assert annual is not None
    return annual


def add_kultur(b: Builder, m: Municipality) -> list[Path]:
    rng, photos = b.rng, []
    folder = f"{m.name}/Kultur/Fotografier"
    for _ in range(rng.randint(2, 3)):
        taken = datetime(
            rng.randint(2004, 2022),
            rng.randint(5, 9),
            rng.randint(1, 28),
            rng.randint(9, 18),
            rng.randint(0, 59),
            rng.randint(0, 59),
        )
        version = rng.choice((b"0220", b"0221", b"0221"))
        img = photo(rng, (rng.randint(480, 800), rng.randint(320, 600)))
        photos.append(
            b.data(
                f"{folder}/IMG_{rng.randint(1000, 9999)}.JPG", exif_jpeg(img, taken, rng, version)
            )
        )
    for _ in range(rng.randint(2, 3)):
        motif, year = rng.choice(MOTIFS), rng.randint(1950, 2015)
        img = photo(rng, (rng.randint(400, 700), rng.randint(300, 500)))
        if rng.random() < 0.5:
            img = img.convert("L")
        photos.append(
            b.data(
                f"{folder}/{motif} {rng.choice(m.places)} {year}.jpg",
                jfif_jpeg(img, rng.randint(60, 90), rng.choice((1, 1, 2))),
            )
        )
    motif, year = rng.choice(MOTIFS), rng.randint(1920, 1960)
    old = photo(rng, (rng.randint(300, 450), rng.randint(220, 320)), noise=False).convert("L")
    b.data(
        f"{folder}/{motif} {year} (skannad).tif",
        image_bytes(old, "TIFF", compression="tiff_lzw", dpi=(600, 600)),
    )
    year = rng.randint(2008, 2022)
    b.data(
        f"{folder}/Affisch Kulturnatten {year}.gif",
        image_bytes(poster(rng, (rng.randint(200, 400), rng.randint(280, 500))), "GIF"),
    )
    if rng.random() < 0.7:
        b.data(
            f"{folder}/Vykort {rng.choice(m.places)} {rng.randint(1990, 2010)}.png",
            image_bytes(photo(rng, (320, 220), noise=False), "PNG", optimize=True),
        )
    if rng.random() < 0.6:
        scan = scanned_page(rng, (rng.randint(240, 320), rng.randint(320, 420)))
        b.data(f"{folder}/Skanning {rng.randint(1, 400):04d}.bmp", image_bytes(scan, "BMP"))
    return photos


def add_film(b: Builder, m: Municipality, container: str) -> None:
    rng = b.rng
    year = rng.randint(2012, 2022)
    title = rng.choice(
        (
            "Kulturnatten",
            "Nationaldagsfirande",
            "Invigning av resecentrum",
            "Informationsfilm om sophämtning",
        )
    )
    pattern = rng.choice(("testsrc", "testsrc2", "smptebars", "rgbtestsrc"))
    seconds = rng.randint(2, 3)
    video = [
        "-f",
        "lavfi",
        "-i",
        f"{pattern}=size=192x144:rate=12:duration={seconds}",
        "-f",
        "lavfi",
        "-i",
        f"sine=frequency={rng.randint(300, 900)}:duration={seconds}",
        "-shortest",
        "-ac",
        "1",
        "-ar",
        "22050",
    ]
    if container == "avi":
        codecs = ["-c:v", "mpeg4", "-q:v", "6", "-vtag", "XVID", "-c:a", b.tools.mp3_codec]
    elif b.tools.video_codec == "libx264":
        codecs = [
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-pix_fmt",
            "yuv420p",
            "-threads",
            "1",
            "-c:a",
            "aac",
            "-b:a",
            "48k",
        ]
    else:
        codecs = ["-c:v", "mpeg4", "-q:v", "6", "-c:a", "aac", "-b:a", "48k"]
    b.ffmpeg(f"{m.name}/Kultur/Film/{title} {year}.{container}", [*video, *codecs])


def new_mail(b: Builder, m: Municipality, year: int, subject: str) -> Mail:
    rng = b.rng
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    user = f"{first}.{last}".lower().translate(str.maketrans("åäöé", "aaoe"))
    sent = datetime(
        year,
        rng.randint(1, 12),
        rng.randint(1, 28),
        rng.randint(7, 17),
        rng.randint(0, 59),
        rng.randint(0, 59),
        tzinfo=SWEDEN,
    )
    body = (
        f"Hej!\n\n{paragraph(rng, m, year, rng.randint(1, 3))}\n\n"
        f"Med vänliga hälsningar\n{first} {last}\n"
    )
    return Mail(
        sender=f"{first} {last} <{user}@{rng.choice(('gmail.com', 'telia.com', m.domain))}>",
        to=f"Registrator <registrator@{m.domain}>",
        subject=subject,
        body=body,
        sent=sent,
        message_id=f"<{rng.getrandbits(64):016x}.{year}@{m.domain}>",
        boundary=f"----=_NextPart_{rng.getrandbits(64):016X}",
    )


def add_diarium(b: Builder, m: Municipality, attachable: Sequence[Path], mbox: bool) -> None:
    rng = b.rng
    year = rng.randint(2016, 2022)
    for _ in range(rng.randint(3, 4)):
        subject = fill(
            rng,
            m,
            year,
            rng.choice(
                (
                    "Ansökan om bygglov, {street} {n}",
                    "Fråga om skolskjuts i {place}",
                    "Synpunkter på detaljplan för {place}",
                    "Begäran om allmän handling",
                    "Klagomål på snöröjningen på {street}",
                    "Inbjudan till samråd om {lake}",
                )
            ),
        )
        mail = new_mail(b, m, year, subject)
        if attachable and rng.random() < 0.5:
            path = rng.choice(attachable)
            mail.attachments.append((path.name, path))
        stamp = mail.sent.strftime("%Y-%m-%d %H%M")
        b.later(write_eml, mail, b.path(f"{m.name}/Diarium/E-post/{year}/{stamp} {subject}.eml"))
    if mbox:
        mails = [
            new_mail(b, m, year, fill(rng, m, year, rng.choice(AGENDA)))
            for _ in range(rng.randint(3, 5))
        ]
        mails.sort(key=lambda mail: mail.sent)
        if attachable:
            mails[1].attachments.append((attachable[0].name, attachable[0]))
        b.later(write_mbox, mails, b.path(f"{m.name}/Diarium/E-post/Registrator {year}.mbox"))
    rows = diarium_rows(rng, m, year, rng.randint(8, 20))
    b.office(
        f"{m.name}/Diarium/Diarieförteckning {year}.{sheet_format(b, m, year)}",
        "calc",
        csv_source(rows),
    )


def add_lantmateri(b: Builder, m: Municipality) -> None:
    rng = b.rng
    folder = f"{m.name}/Lantmäteri/Kartor"
    place = rng.choice(m.places)
    plan = map_image(rng, (rng.randint(500, 800), rng.randint(400, 600))).convert(
        "P", palette=Image.Palette.ADAPTIVE, colors=16
    )
    b.data(
        f"{folder}/Detaljplan {place} {rng.randint(1960, 2015)}.tif",
        image_bytes(plan, "TIFF", compression="tiff_lzw", dpi=(200, 200)),
    )
    b.data(
        f"{folder}/Karta {rng.choice(m.places)}.png",
        image_bytes(map_image(rng, (rng.randint(300, 600), rng.randint(300, 500))), "PNG"),
    )
    register = f"{m.name}/Lantmäteri/Register"
    b.text(f"{register}/Fastighetsförteckning {place}.xml", property_xml(rng, m, place))
    rows = ["Punkt,N,E,Höjd"] + [
        f"{place[:3].upper()}{n},{rng.randint(6690000, 6720000)}.{rng.randint(0, 999):03d},"
        f"{rng.randint(480000, 560000)}.{rng.randint(0, 999):03d},{rng.randint(100, 400)}.{n}"
        for n in range(1, rng.randint(8, 20))
    ]
    b.text(f"{register}/Stompunkter {place}.csv", "\n".join(rows) + "\n")


def property_xml(rng: random.Random, m: Municipality, place: str) -> str:
    units = "".join(
        f'  <fastighet beteckning="{escape(place)} {rng.randint(1, 40)}:{rng.randint(1, 300)}" '
        f'areal="{rng.randint(400, 40000)}">\n'
        f"    <agare>{escape(person(rng))}</agare>\n"
        f"    <adress>{escape(rng.choice(STREETS))} {rng.randint(1, 80)}</adress>\n"
        "  </fastighet>\n"
        for _ in range(rng.randint(3, 8))
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<fastighetsforteckning kommun="{escape(m.name)}" trakt="{escape(place)}">\n'
        f"{units}</fastighetsforteckning>\n"
    )


LOG_EVENTS = lines("""
    Användare inloggad
    Säkerhetskopiering klar
    Överföring avbröts
    Ärende låst för ändring
    Åtkomst nekad
""")


def add_exporter(b: Builder, m: Municipality) -> None:
    rng = b.rng
    folder = f"{m.name}/IT/Exporter"
    day = random_date(rng, rng.randint(2018, 2022))
    rows = diarium_rows(rng, m, day.year, rng.randint(5, 12))
    records = "".join(
        f'  <arende diarienummer="{escape(str(r[0]))}" datum="{r[1]}">\n'
        f"    <rubrik>{escape(str(r[2]))}</rubrik>\n"
        f"    <handlaggare>{escape(str(r[3]))}</handlaggare>\n  </arende>\n"
        for r in rows[1:]
    )
    b.text(
        f"{folder}/Diarieexport {day.isoformat()}.xml",
        f'<?xml version="1.0" encoding="UTF-8"?>\n<export system="Ciceron" '
        f'kommun="{escape(m.name)}">\n{records}</export>\n',
    )
    cases = [
        dict(
            zip(("diarienummer", "datum", "ärendemening", "handläggare", "status"), r, strict=True)
        )
        for r in rows[1:]
    ]
    b.text(
        f"{folder}/Ärenden {day.year}.json",
        json.dumps(
            {"kommun": m.name, "exporterad": day.isoformat(), "ärenden": cases},
            ensure_ascii=False,
            indent=2,
        )
        + "\n",
    )
    staff = ["Anställningsnummer;Namn;Befattning;Förvaltning"] + [
        f"{rng.randint(10000, 99999)};{person(rng)};"
        f"{rng.choice(('Lärare', 'Undersköterska', 'Handläggare', 'Förskollärare', 'Ingenjör'))};"
        f"{rng.choice(BUDGET_AREAS)}"
        for _ in range(rng.randint(6, 15))
    ]
    b.text(
        f"{folder}/Personalregister export {day.isoformat()}.csv",
        "\n".join(staff) + "\n",
        encoding="latin-1",
        crlf=True,
    )
    log = "".join(
        f"{day.isoformat()} {rng.randint(0, 23):02d}:{rng.randint(0, 59):02d} "
        f"{rng.choice(('INFO', 'INFO', 'VARNING', 'FEL'))} "
        f"{rng.choice(LOG_EVENTS)}\n"
        for _ in range(rng.randint(10, 30))
    )
    b.text(f"{folder}/Systemlogg {day.isoformat()}.log", log, encoding="latin-1", crlf=True)


def add_webbplats(b: Builder, m: Municipality) -> list[tuple[str, bytes]]:
    """Web pages saved from the municipality's old website; returns them for a web archive."""
    rng = b.rng
    news = [sentence(rng, m, 2014) for _ in range(rng.randint(2, 4))]
    start = html_page(
        f"{m.name} kommun – Startsida",
        [
            tag("h1", f"Välkommen till {m.name} kommun"),
            *(tag("p", text) for text in news),
        ],
    )
    old = (
        '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01 Transitional//EN" '
        '"http://www.w3.org/TR/html4/loose.dtd">\n<html>\n<head>\n'
        '<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1">\n'
        f"<title>Nyheter från {escape(m.name)}</title>\n</head>\n<body>\n"
        + "".join(f"<p>{escape(sentence(rng, m, 2009))}</p>\n" for _ in range(3))
        + "</body>\n</html>\n"
    )
    folder = f"{m.name}/Kommunstyrelsen/Webbplats"
    b.text(f"{folder}/Startsida.html", start)
    b.text(f"{folder}/Nyheter.htm", old, encoding="latin-1", crlf=True)
    return [("index.html", start.encode()), ("nyheter.htm", old.encode("latin-1"))]


def add_arkivredovisning(b: Builder, m: Municipality) -> None:
    rng = b.rng
    folder = f"{m.name}/Arkivredovisning"
    text = (
        f"Arkivbeskrivning för {m.name} kommun\n{'=' * 40}\n\n"
        + "\n\n".join(paragraph(rng, m, 2020, 3) for _ in range(3))
        + "\n"
    )
    b.text(f"{folder}/Arkivbeskrivning.txt", text)
    year = rng.randint(1994, 2004)
    receipt = (
        f"LEVERANSREVERSAL {year}\r\nFrån: {m.name} kommun, "
        f"{rng.choice(('Socialförvaltningen', 'Tekniska kontoret', 'Skolkontoret'))}\r\n"
        f"Till: Kommunarkivet\r\nAntal volymer: {rng.randint(3, 90)}\r\n"
        f"Överlämnat av: {person(rng)}\r\nMottaget av: {person(rng)}\r\n"
    )
    b.data(f"{folder}/Leveransreversal {year}.txt", receipt.encode("latin-1"))
    series = "".join(
        f'  <serie signum="{letter}" rubrik="{escape(title)}"/>\n'
        for letter, title in zip(
            "ABDEFG",
            (
                "Protokoll",
                "Registratur",
                "Diarieförda handlingar",
                "Inkomna handlingar",
                "Ämnesordnade handlingar",
                "Ekonomiska handlingar",
            ),
            strict=True,
        )
    )
    b.text(
        f"{folder}/Arkivförteckning.xml",
        '<?xml version="1.0" encoding="ISO-8859-1"?>\n'
        f'<arkivforteckning arkivbildare="{escape(m.name)} kommun">\n{series}'
        "</arkivforteckning>\n",
        encoding="latin-1",
    )


# ---------------------------------------------------------------------------------------------
# An information package (E-ARK CSIP / FGS CSPackage) with METS checksums

METS_OPEN = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<mets:mets xmlns:mets="http://www.loc.gov/METS/" xmlns:xlink="http://www.w3.org/1999/xlink"'
    ' xmlns:csip="https://DILCIS.eu/XML/METS/CSIPExtensionMETS" OBJID="{objid}"'
    ' TYPE="OTHER" csip:OTHERTYPE="Ärendeakter" csip:CONTENTINFORMATIONTYPE="{content}"'
    ' PROFILE="https://earkcsip.dilcis.eu/profile/E-ARK-CSIP.xml">\n'
    '  <mets:metsHdr CREATEDATE="2024-05-02T10:00:00" csip:OAISPACKAGETYPE="SIP">\n'
    '    <mets:agent ROLE="CREATOR" TYPE="OTHER" OTHERTYPE="SOFTWARE">'
    "<mets:name>Ärendesystemet Diabas</mets:name>"
    '<mets:note csip:NOTETYPE="SOFTWARE VERSION">7.2</mets:note></mets:agent>\n'
    "  </mets:metsHdr>\n"
)


def mets_file(path: Path, href: str, kind: str, digest: str | None = None) -> str:
    """A mets:file with the real size and checksum of ``path`` (or the ``digest`` given)."""
    data = path.read_bytes()
    algorithm = {"SHA-256": "sha256", "MD5": "md5"}[kind]
    value = digest or hashlib.new(algorithm, data).hexdigest()
    return (
        f'      <mets:file ID="ID-{hashlib.md5(href.encode()).hexdigest()[:12]}" '
        f'MIMETYPE="application/octet-stream" SIZE="{len(data)}" '
        f'CREATED="2024-05-02T10:00:00" CHECKSUM="{value}" CHECKSUMTYPE="{kind}">\n'
        f'        <mets:FLocat LOCTYPE="URL" xlink:type="simple" xlink:href="{escape(href)}"/>\n'
        "      </mets:file>\n"
    )


def write_package_mets(package: Path, listed_csv: bytes) -> None:
    """Write the representation METS and the root METS from the files as they are now; the
    CSV is listed with the checksum of ``listed_csv``, its content before a late correction."""
    rep = package / "representations" / "rep1"
    data = sorted((rep / "data").iterdir())
    entries = ""
    for path in data:
        href = "data/" + quote(path.name)
        if path.suffix == ".csv":
            entries += mets_file(path, href, "SHA-256", hashlib.sha256(listed_csv).hexdigest())
        else:
            entries += mets_file(path, href, "MD5" if path.suffix == ".png" else "SHA-256")
    (rep / "METS.xml").write_text(
        METS_OPEN.format(objid="SIP-2024-001-rep1", content="MIXED")
        + '  <mets:fileSec ID="ID-rep1-fileSec">\n'
        '    <mets:fileGrp USE="Data" ID="ID-rep1-data">\n'
        + entries
        + "    </mets:fileGrp>\n  </mets:fileSec>\n"
        '  <mets:structMap TYPE="PHYSICAL" LABEL="CSIP"><mets:div LABEL="rep1">'
        '<mets:div LABEL="Data"><mets:fptr FILEID="ID-rep1-data"/></mets:div></mets:div>'
        "</mets:structMap>\n</mets:mets>\n",
        encoding="utf-8",
    )
    ead = package / "metadata" / "descriptive" / "ead.xml"
    ead_bytes = ead.read_bytes()
    (package / "METS.xml").write_text(
        METS_OPEN.format(objid="SIP-2024-001", content="MIXED")
        + '  <mets:dmdSec ID="ID-dmd-ead" CREATED="2024-05-02T10:00:00" STATUS="CURRENT">\n'
        '    <mets:mdRef LOCTYPE="URL" MDTYPE="EAD" xlink:type="simple" '
        f'xlink:href="metadata/descriptive/ead.xml" MIMETYPE="text/xml" SIZE="{len(ead_bytes)}" '
        f'CREATED="2024-05-02T10:00:00" CHECKSUM="{hashlib.sha256(ead_bytes).hexdigest()}" '
        'CHECKSUMTYPE="SHA-256"/>\n  </mets:dmdSec>\n'
        '  <mets:fileSec ID="ID-fileSec">\n'
        '    <mets:fileGrp USE="Documentation" ID="ID-documentation">\n'
        + mets_file(
            package / "documentation" / "Läs mig.txt",
            "documentation/" + quote("Läs mig.txt"),
            "MD5",
        )
        + "    </mets:fileGrp>\n"
        '    <mets:fileGrp USE="Representations/rep1" ID="ID-rep1" '
        'csip:CONTENTINFORMATIONTYPE="MIXED">\n'
        + mets_file(rep / "METS.xml", "representations/rep1/METS.xml", "SHA-256")
        + "    </mets:fileGrp>\n  </mets:fileSec>\n"
        '  <mets:structMap TYPE="PHYSICAL" LABEL="CSIP" ID="ID-structMap">\n'
        '    <mets:div LABEL="SIP-2024-001">\n'
        '      <mets:div LABEL="Metadata" DMDID="ID-dmd-ead"/>\n'
        '      <mets:div LABEL="Documentation"><mets:fptr FILEID="ID-documentation"/></mets:div>\n'
        '      <mets:div LABEL="Representations/rep1"><mets:mptr xlink:type="simple" '
        'LOCTYPE="URL" xlink:href="representations/rep1/METS.xml"/></mets:div>\n'
        "    </mets:div>\n  </mets:structMap>\n</mets:mets>\n",
        encoding="utf-8",
    )


def add_package(b: Builder, m: Municipality) -> None:
    """An E-ARK CSIP-style SIP delivered by a case management system (see the module notes:
    one checksum in it is wrong on purpose)."""
    rng = b.rng
    package = b.path(f"{m.name}/Leveranser/SIP-2024-001/METS.xml").parent
    b.path(f"{m.name}/Leveranser/SIP-2024-001/representations/rep1/METS.xml")
    data = f"{m.name}/Leveranser/SIP-2024-001/representations/rep1/data"
    place = rng.choice(m.places)
    b.text(
        f"{m.name}/Leveranser/SIP-2024-001/documentation/Läs mig.txt",
        f"Leverans SIP-2024-001 från {m.name} kommun, Samhällsbyggnadsförvaltningen.\n"
        "Innehåll: bygglovsärenden 2024 med beslut, situationsplan och ärendeförteckning.\n",
    )
    b.text(
        f"{m.name}/Leveranser/SIP-2024-001/metadata/descriptive/ead.xml",
        '<?xml version="1.0" encoding="UTF-8"?>\n<ead xmlns="urn:isbn:1-931666-22-9">'
        f"<eadheader><eadid>SIP-2024-001</eadid><filedesc><titlestmt><titleproper>"
        f"Bygglov {escape(place)} 2024</titleproper></titlestmt></filedesc></eadheader>"
        '<archdesc level="fonds"><did><unittitle>Samhällsbyggnadsnämnden</unittitle>'
        "</did></archdesc></ead>\n",
    )
    rows = diarium_rows(rng, m, 2024, 6)
    listed_csv = csv_source(rows).encode()
    rows[1][4] = "Avslutat (rättat)"  # corrected after packaging: the METS checksum is stale
    b.data(f"{data}/Ärendeförteckning.csv", csv_source(rows).encode())
    b.data(f"{data}/Situationsplan {place}.png", image_bytes(map_image(rng, (320, 240)), "PNG"))
    pdf = b.office_scratch(
        "writer", "pdf", report_html(rng, m, f"Beslut om bygglov, {place}", 2024)
    )
    b.later(shutil.copyfile, pdf, b.path(f"{data}/Beslut om bygglov {place}.pdf"))
    b.later(write_package_mets, package, listed_csv)


# ---------------------------------------------------------------------------------------------
# Containers, problem files and duplicates


def add_containers(b: Builder, web: dict[str, list[tuple[str, bytes]]]) -> None:
    rng = b.rng
    when = datetime(2018, 11, 30, 16, 42, 10, tzinfo=SWEDEN)
    sater = MUNICIPALITIES[0]
    docs: list[Member] = [
        (
            f"Diarium 2018/Protokoll KS 2018-0{n}-1{n}.docx",
            b.office_scratch(
                "writer", "docx", protokoll_html(rng, sater, "Kommunstyrelsen", f"2018-0{n}-1{n}")
            ),
        )
        for n in range(2, 5)
    ]
    docs.append(
        (
            "Diarium 2018/Diarieförteckning 2018.csv",
            csv_source(diarium_rows(rng, sater, 2018, 12)).encode(),
        )
    )
    b.later(write_zip, b.path("Säter/IT/Exporter/Backup diarium 2018.zip"), docs, when)

    inner = [
        ("export.xml", b'<?xml version="1.0" encoding="UTF-8"?>\n<export ar="2015"/>\n'),
        ("export.csv", csv_source(diarium_rows(rng, MUNICIPALITIES[1], 2015, 6)).encode()),
    ]
    outer: list[Member] = [
        ("2015/Export ärendesystem 2015.zip", zip_bytes(inner, when.replace(year=2015))),
        (
            "2016/Export ärendesystem 2016.xml",
            b'<?xml version="1.0" encoding="UTF-8"?>\n<export ar="2016"/>\n',
        ),
        ("Läs mig.txt", "Äldre exporter från ärendesystemet.\n".encode()),
    ]
    b.data("Borlänge/IT/Exporter/Äldre exporter.zip", zip_bytes(outer, when))

    sheet = b.office_scratch("calc", "xlsx", csv_source(budget_rows(rng, 2019)))
    tar_members: list[Member] = [
        ("systemdokumentation/Läs mig.txt", "Systemdokumentation för lönesystemet.\n".encode()),
        ("systemdokumentation/Driftsättning.html", web["Falun"][0][1]),
        ("systemdokumentation/Kostnader 2019.xlsx", sheet),
        (
            "systemdokumentation/Skärmbild.png",
            image_bytes(poster(rng, (320, 200)).convert("RGB"), "PNG"),
        ),
    ]
    b.later(
        write_tar, b.path("Falun/IT/Exporter/Systemdokumentation.tar"), tar_members, when, False
    )
    web_members: list[Member] = [(f"webbplats/{n}", d) for n, d in web["Ludvika"]]
    web_members.append(("webbplats/bilder/logotyp.gif", image_bytes(poster(rng, (120, 60)), "GIF")))
    b.later(write_tar, b.path("Ludvika/IT/Exporter/Webbplats 2015.tar.gz"), web_members, when, True)

    payroll = [
        (
            f"Lönefil {month:02d}-2019.csv",
            "Anställningsnummer;Bruttolön\n".encode()
            + "".join(
                f"{rng.randint(10000, 99999)};{rng.randint(22000, 61000)}\n" for _ in range(8)
            ).encode(),
        )
        for month in range(1, 4)
    ]
    b.data(
        "Falun/IT/Exporter/Lönefiler 2019 (krypterad).zip",
        encrypted_zip(payroll, b"Falun2019", when.replace(year=2019), rng),
    )


def write_zip(dest: Path, members: Sequence[Member], when: datetime) -> None:
    dest.write_bytes(zip_bytes(members, when))


def write_tar(dest: Path, members: Sequence[Member], when: datetime, compress: bool) -> None:
    data = tar_bytes(members, when)
    if compress:
        data = gzip.compress(data, compresslevel=9, mtime=int(when.timestamp()))
    dest.write_bytes(data)


def truncate_copy(source: Path, dest: Path, fraction: float) -> None:
    data = source.read_bytes()
    dest.write_bytes(data[: max(1, int(len(data) * fraction))])


def word_lock_file() -> bytes:
    """The 162-byte owner file Word leaves next to an open document."""
    user = "asa.oberg"
    head = bytes([len(user)]) + user.encode() + b" " * (53 - len(user))
    wide = bytes([len(user), 0]) + user.encode("utf-16-le")
    return (head + wide).ljust(162, b"\0")


def add_problem_files(b: Builder, minutes: Sequence[Path]) -> None:
    rng = b.rng
    ludvika = MUNICIPALITIES[3]
    okant = "Ludvika/Okänt"
    b.data(f"{okant}/tom fil.docx", b"")
    b.data(f"{okant}/Ny textfil.txt", b"")
    b.data(f"{okant}/data.dat", rng.randbytes(rng.randint(3000, 9000)))
    b.data(f"{okant}/export_0001.bin", rng.randbytes(rng.randint(1000, 5000)))
    b.data(f"{okant}/Okänd fil", rng.randbytes(rng.randint(500, 2000)))

    docx = b.office_scratch(
        "writer", "docx", protokoll_html(rng, ludvika, "Kommunstyrelsen", "2016-11-08")
    )
    b.later(
        truncate_copy, docx, b.path(f"{okant}/Protokoll KS 2016-11-08.docx"), rng.uniform(0.3, 0.6)
    )
    pdf = b.office_scratch("writer", "pdf", report_html(rng, ludvika, "Bokslut 2015", 2015))
    b.later(truncate_copy, pdf, b.path(f"{okant}/Bokslut 2015.pdf"), rng.uniform(0.4, 0.7))
    jpeg = jfif_jpeg(photo(rng, (640, 480)), 85, 1)
    b.data(f"{okant}/IMG_0042.JPG", jpeg[: int(len(jpeg) * rng.uniform(0.2, 0.5))])
    b.data(f"{okant}/Karta Grängesberg.jpg", image_bytes(map_image(rng, (400, 300)), "PNG"))
    pdf_as_txt = b.office_scratch("writer", "pdf", report_html(rng, ludvika, "Läs mig", 2019))
    b.later(shutil.copyfile, pdf_as_txt, b.path(f"{okant}/Läs mig.txt"))

    smedjebacken = MUNICIPALITIES[4]
    b.office(
        "Säter/Socialtjänst/Ärenden/Avtal om hemtjänst 2014.doc",
        "writer",
        report_html(rng, MUNICIPALITIES[0], "Avtal om hemtjänst", 2014),
        fmt="docx",
    )
    b.data("Borlänge/Kommunstyrelsen/Protokoll/2020/Protokoll KS 2020-12-14.pdf", b"")
    b.data("Falun/Diarium/E-post/Nytt textdokument.txt", b"")
    big = jfif_jpeg(photo(rng, (800, 600)), 90, 1)
    b.data("Smedjebacken/Kultur/Fotografier/IMG_2231.JPG", big[: len(big) // 3])
    b.data("Säter/IT/Exporter/ekonomi_export_2017.dat", rng.randbytes(rng.randint(2000, 6000)))
    opened = minutes[-1]
    b.data(
        opened.with_name("~$" + opened.name[2:]).relative_to(b.root).as_posix(), word_lock_file()
    )

    secret = b.office_scratch(
        "writer",
        "pdf",
        report_html(rng, MUNICIPALITIES[1], "Utredning enligt LVU (sekretess)", 2018),
    )
    b.gs(
        "Borlänge/Socialtjänst/Ärenden/Utredning SN 2018-0412 (sekretess).pdf",
        secret,
        [
            "-sOwnerPassword=arkiv-Borlange",
            "-sUserPassword=sekretess2018",
            "-dEncryptionR=3",
            "-dKeyLength=128",
            "-dPermissions=-3904",
        ],
        "encrypt a PDF",
    )

    long_name = (
        "Yttrande över remiss angående förslag till ändrad detaljplan för del av kvarteret "
        "Åkerbäret och angränsande mark vid Järnvägsgatan i Domnarvet samt synpunkter från "
        "sakägare under samrådstiden 2019.docx"
    )
    b.office(
        f"Borlänge/Bygglov/Ärenden/{long_name}",
        "writer",
        report_html(rng, MUNICIPALITIES[1], "Yttrande över remiss", 2019),
    )
    b.office(
        f"{smedjebacken.name}/Kultur/Övrigt/Tackbrev från föreningen Hembygdsgården.odt",
        "writer",
        report_html(rng, smedjebacken, "Tack!", 2011),
    )


def add_duplicates(b: Builder, annual: dict[str, Path], photos: dict[str, list[Path]]) -> None:
    """Identical copies in other folders, as real deliveries have."""
    for name, source in (("Säter", annual["Säter"]), ("Falun", annual["Falun"])):
        dest = b.path(f"{name}/Kommunfullmäktige/Protokoll/Bilagor/{source.name}")
        b.later(shutil.copyfile, source, dest)
    photo_path = photos["Säter"][0]
    b.later(shutil.copyfile, photo_path, b.path(f"Borlänge/Kultur/Fotografier/{photo_path.name}"))
    b.later(shutil.copyfile, photo_path, b.path(f"Ludvika/Okänt/Kopia av {photo_path.name}"))
    b.later(
        shutil.copyfile,
        photos["Falun"][-1],
        b.path(f"Falun/Diarium/E-post/Bilagor/{photos['Falun'][-1].name}"),
    )


# ---------------------------------------------------------------------------------------------
# Whole archive


def plan_archive(b: Builder) -> None:
    annual: dict[str, Path] = {}
    photos: dict[str, list[Path]] = {}
    web: dict[str, list[tuple[str, bytes]]] = {}
    videos = {"Säter": "mp4", "Falun": "mp4", "Borlänge": "avi", "Smedjebacken": "mkv"}
    minutes: dict[str, list[Path]] = {}
    for m in MUNICIPALITIES:
        minutes[m.name] = add_kommunstyrelsen(b, m)
        protocols = add_kommunfullmaktige(b, m)
        add_utbildning(b, m)
        add_bygglov(b, m)
        add_socialtjanst(b, m)
        annual[m.name] = add_ekonomi(b, m)
        photos[m.name] = add_kultur(b, m)
        if m.name in videos:
            add_film(b, m, videos[m.name])
        add_diarium(b, m, [*protocols, *photos[m.name][:1]], mbox=m.name != "Ludvika")
        add_lantmateri(b, m)
        add_exporter(b, m)
        web[m.name] = add_webbplats(b, m)
        add_arkivredovisning(b, m)
    add_package(b, MUNICIPALITIES[2])
    add_containers(b, web)
    add_problem_files(b, minutes["Säter"])
    add_duplicates(b, annual, photos)


YEAR = re.compile(r"(?<!\d)(19[2-9]\d|20[0-2]\d)(?!\d)")


def set_mtimes(root: Path, seed: int) -> None:
    """Give every file a plausible, seeded modification time in the year its path names.

    Each folder then gets the newest time found inside it, so the whole tree is reproducible.
    """
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root).as_posix()
        rng = random.Random(f"{seed}:{rel}")
        years = YEAR.findall(rel)
        year = max(1995, *map(int, years)) if years else rng.randint(2012, 2023)
        stamp = datetime(year, 1, 1, tzinfo=UTC) + timedelta(
            days=rng.randrange(365), hours=rng.randint(7, 17), minutes=rng.randrange(60)
        )
        os.utime(path, (stamp.timestamp(), stamp.timestamp()))
    folders = sorted((p for p in root.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts))
    for folder in [*folders, root]:
        newest = max((child.stat().st_mtime for child in folder.iterdir()), default=0.0)
        if newest:
            os.utime(folder, (newest, newest))


def build(out: Path, seed: int, tools: Tools) -> tuple[int, int]:
    """Build the archive into a staging directory next to OUTDIR, then swap it into place."""
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.building-", dir=out.parent))
    try:
        with tempfile.TemporaryDirectory(
            prefix="sample-archive-", ignore_cleanup_errors=True
        ) as scratch:
            builder = Builder(staging, Path(scratch), tools, random.Random(seed))
            plan_archive(builder)
            builder.finish()
        set_mtimes(staging, seed)
        staging.chmod(0o755)
        files = [p for p in staging.rglob("*") if p.is_file()]
        count, size = len(files), sum(p.stat().st_size for p in files)
        install(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return count, size


def install(staging: Path, out: Path) -> None:
    if not out.exists():
        staging.rename(out)
        return
    old = out.with_name(f".{out.name}.old-{os.getpid()}")
    out.rename(old)
    staging.rename(out)
    shutil.rmtree(old)


# ---------------------------------------------------------------------------------------------
# Command line


def check_outdir(out: Path, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise UsageError(f"OUTDIR exists and is not a directory: {out}")
    if not out.exists() or not any(out.iterdir()):
        return
    if not force:
        raise UsageError(f"OUTDIR is not empty: {out} (pass --force to delete and rebuild it)")
    if out == Path(out.anchor) or out == Path.home() or Path.cwd().is_relative_to(out):
        raise UsageError(
            f"refusing to delete {out} (it is /, your home or contains the current directory)"
        )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Build a realistic, deterministic sample e-archive of municipalities in "
        "Dalarna for testing format identification (Siegfried/PRONOM).",
    )
    parser.add_argument("outdir", type=Path, metavar="OUTDIR", help="directory to create")
    parser.add_argument(
        "--seed",
        type=int,
        default=DEFAULT_SEED,
        help=f"random seed for names and content (default: {DEFAULT_SEED})",
    )
    parser.add_argument(
        "--force", action="store_true", help="delete and rebuild OUTDIR if it is not empty"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    out = Path(os.path.abspath(args.outdir.expanduser()))
    started = time.monotonic()
    try:
        check_outdir(out, args.force)
        tools = find_tools()
        count, size = build(out, args.seed, tools)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (BuildError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    print(
        f"Wrote {count} files ({size:,} bytes, {size / 1e6:.1f} MB) to {out} "
        f"in {time.monotonic() - started:.0f} s (seed {args.seed})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
