"""Converter modules (preserveplan.migrate.tools) with the real programs on real files.

Every conversion: the output identifies (pygfried) as the target PUID, the source's SHA-256 is
unchanged, nothing is left in the output folder but ``dst``. Random bytes → outcome 'failed'.
A hung stand-in program → outcome 'timeout' and no process left. Skips name the missing tool.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import signal
import stat
import sys
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from conftest import CORPUS
from util import pdf_bytes

from preserveplan.migrate.tools import (
    ConvertResult,
    MissingToolError,
    ffmpeg,
    ghostscript,
    imagemagick,
    libreoffice,
    msgconvert,
    run,
)

MODULES: dict[str, ModuleType] = {
    "ghostscript": ghostscript,
    "ffmpeg": ffmpeg,
    "imagemagick": imagemagick,
    "msgconvert": msgconvert,
    "libreoffice": libreoffice,
}


def need(mod: ModuleType) -> None:
    try:
        mod.version()
    except MissingToolError as exc:
        pytest.skip(f"{mod.TOOL} not usable on this machine: {exc}")


def corpus_file(rel: str) -> Path:
    path = CORPUS / rel
    if not path.is_file():
        pytest.skip(f"corpus file not found: {path} (set PRESERVEPLAN_SHARED)")
    return path


@functools.cache
def _scanner() -> Any:
    import pygfried

    return pygfried.Scanner()


def puid(path: Path) -> str:
    return str(_scanner().identify_many([str(path)])["files"][0]["matches"][0]["id"])


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def out(tmp_path: Path) -> Path:
    d = tmp_path / "out"
    d.mkdir()
    return d


@pytest.fixture
def srcdir(tmp_path: Path) -> Path:
    d = tmp_path / "src"
    d.mkdir()
    return d


def convert_ok(mod: ModuleType, src: Path, dst: Path, target: str, *expected: str) -> ConvertResult:
    """Convert, check outcome, PUID, untouched source, no leftovers; return the result."""
    before = sha256(src)
    src_listing = sorted(os.listdir(src.parent))
    res: ConvertResult = mod.convert(src, dst, timeout=120, target=target)
    print(f"{mod.TOOL} {target} {src.name}: {res.outcome} in {res.seconds:.2f} s")
    assert res.ok and res.outcome == "done", res.message
    assert res.output == dst and dst.stat().st_size > 0
    assert res.tool == mod.TOOL and res.tool_version and res.command
    assert puid(dst) in expected, (puid(dst), expected)
    assert sha256(src) == before, "source changed"
    assert sorted(os.listdir(src.parent)) == src_listing, "something written next to the source"
    assert os.listdir(dst.parent) == [dst.name], "temporary files left"
    return res


def assert_failed(res: ConvertResult, dst: Path) -> None:
    assert not res.ok and res.outcome == "failed", (res.outcome, res.message)
    assert res.output is None and not dst.exists()
    assert os.listdir(dst.parent) == [], "temporary files left"


# --- generated inputs ----------------------------------------------------------------------


def ffmpeg_make(args: list[str], dst: Path) -> Path:
    res = run([ffmpeg.program(), "-nostdin", "-v", "error", *args, "-y", str(dst)], timeout=60)
    assert res.returncode == 0, res.output_tail
    return dst


MINIMAL_PDF_OBJECTS = [
    b"<< /Type /Catalog /Pages 2 0 R >>",
    b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 100] /Contents 4 0 R"
    b" /Resources << /Font << /F1 5 0 R >> >> >>",
    None,  # content stream
    b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    b"<< /Title (Plain ASCII title) /Author (Kommunstyrelsen) >>",
]


def minimal_pdf(path: Path) -> Path:
    """A one-page PDF 1.4 with text in non-embedded Helvetica and an ASCII Info title."""
    content = b"BT /F1 18 Tf 20 40 Td (Hello archive) Tj ET"
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for n, body in enumerate(MINIMAL_PDF_OBJECTS, start=1):
        offsets.append(len(out))
        if body is None:
            body = b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream"
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(offsets) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info 6 0 R >>\n" % (len(offsets) + 1)
    out += b"startxref\n%d\n%%%%EOF\n" % xref
    path.write_bytes(bytes(out))
    return path


def random_file(folder: Path, name: str) -> Path:
    path = folder / name
    path.write_bytes(os.urandom(64 * 1024))
    return path


# --- Ghostscript ---------------------------------------------------------------------------


def test_ghostscript_pdfa2b_generated(srcdir: Path, out: Path) -> None:
    need(ghostscript)
    pikepdf = pytest.importorskip("pikepdf")
    src = minimal_pdf(srcdir / "minimal.pdf")
    dst = out / "minimal.pdf"
    convert_ok(ghostscript, src, dst, "pdfa-2b", "fmt/477")
    with pikepdf.open(dst) as pdf:
        meta = pdf.open_metadata()
        assert meta["pdfaid:part"] == "2" and meta["pdfaid:conformance"] == "B"
        [intent] = pdf.Root.OutputIntents
        assert "/DestOutputProfile" in intent
        assert str(pdf.docinfo.get("/Title")) == "Plain ASCII title"  # not "Title"
        assert not pdf.is_encrypted


@pytest.mark.parametrize(
    "rel",
    ["pdfa-testsuite/pdfa1-6-5-3-bfo-t01-pass.pdf", "generated/pdf/minimal-1.7.pdf"],
)
def test_ghostscript_pdfa2b_corpus(rel: str, tmp_path: Path, out: Path) -> None:
    need(ghostscript)
    src = corpus_file(rel)
    convert_ok(ghostscript, src, out / "a.pdf", "pdfa-2b", "fmt/477")


def test_ghostscript_random_bytes(srcdir: Path, out: Path) -> None:
    need(ghostscript)
    src = random_file(srcdir, "random.pdf")
    assert_failed(
        ghostscript.convert(src, out / "r.pdf", timeout=60, target="pdfa-2b"), out / "r.pdf"
    )


@pytest.mark.parametrize(
    ("kind", "words"), [("no-pages", "has no pages"), ("encrypted", "encrypted (password")]
)
def test_ghostscript_refuses_what_it_would_turn_into_an_empty_pdfa(
    kind: str, words: str, srcdir: Path, out: Path
) -> None:
    """Checked while gs runs (it costs no time): a refused source kills gs, leaves nothing."""
    import pikepdf

    need(ghostscript)
    src = srcdir / f"{kind}.pdf"
    pdf = pikepdf.new()
    if kind == "encrypted":
        pdf.add_blank_page()
        pdf.save(src, encryption=pikepdf.Encryption(owner="ägare", user="läsare"))
    else:
        pdf.save(src)
    res = ghostscript.convert(src, out / f"{kind}.pdf", timeout=60, target="pdfa-2b")
    assert not res.ok and res.outcome == "failed" and words in res.message, res.message
    assert not list(out.glob(f"*{kind}*")) and not list(out.glob(".*"))


# --- FFmpeg --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def av_sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    need(ffmpeg)
    d = tmp_path_factory.mktemp("av")
    video = ["-f", "lavfi", "-i", "testsrc=duration=1:size=160x120:rate=10"]
    audio = ["-f", "lavfi", "-i", "sine=frequency=440:duration=1"]
    return {
        "mp4": ffmpeg_make([*video, *audio, "-pix_fmt", "yuv420p", "-shortest"], d / "clip.mp4"),
        "avi": ffmpeg_make([*video, *audio, "-c:v", "mjpeg", "-shortest"], d / "clip.avi"),
        "mp3": ffmpeg_make([*audio, "-c:a", "libmp3lame"], d / "tone.mp3")
        if "libmp3lame" in run([ffmpeg.program(), "-hide_banner", "-encoders"], 30).stdout
        else ffmpeg_make([*audio], d / "tone.ogg"),
        "wav16": ffmpeg_make([*audio, "-ac", "2", "-c:a", "pcm_s16le"], d / "tone16.wav"),
    }


@pytest.mark.parametrize("kind", ["mp4", "avi"])
def test_ffmpeg_ffv1_mkv(kind: str, av_sources: dict[str, Path], out: Path) -> None:
    src = av_sources[kind]
    dst = out / "clip.mkv"
    convert_ok(ffmpeg, src, dst, "ffv1-mkv", "fmt/569")
    probe = run(
        ["ffprobe", "-v", "error", "-show_entries", "stream=codec_name", "-of", "csv=p=0", dst], 30
    )
    assert probe.stdout.split() == ["ffv1", "flac"]


@pytest.mark.parametrize("kind", ["mp3", "wav16"])
def test_ffmpeg_wav_and_flac(kind: str, av_sources: dict[str, Path], out: Path) -> None:
    src = av_sources[kind]
    convert_ok(ffmpeg, src, out / "a.wav", "wav", "fmt/143")
    convert_ok(ffmpeg, src, out / "a.wav", "wav", "fmt/143")  # overwrite is atomic too
    (out / "a.wav").unlink()
    convert_ok(ffmpeg, src, out / "a.flac", "flac", "fmt/279")


def test_ffmpeg_corpus_avi(out: Path) -> None:
    need(ffmpeg)
    src = corpus_file("file-type/fixture/fixture.avi")
    convert_ok(ffmpeg, src, out / "fixture.mkv", "ffv1-mkv", "fmt/569")


def test_ffmpeg_random_bytes_and_no_audio(
    srcdir: Path, out: Path, av_sources: dict[str, Path]
) -> None:
    src = random_file(srcdir, "random.mp4")
    assert_failed(ffmpeg.convert(src, out / "r.mkv", timeout=60, target="ffv1-mkv"), out / "r.mkv")
    video_only = ffmpeg_make(["-i", str(av_sources["mp4"]), "-an", "-c", "copy"], srcdir / "v.mp4")
    assert_failed(
        ffmpeg.convert(video_only, out / "r.wav", timeout=60, target="wav"), out / "r.wav"
    )


# --- ImageMagick ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    pil = pytest.importorskip("PIL.Image")
    d = tmp_path_factory.mktemp("img")
    rgb = pil.new("RGB", (64, 48), (200, 30, 30))
    rgb.save(d / "red.jpg", quality=90)
    rgb.save(d / "red.bmp")
    frames = [pil.new("P", (32, 32), c) for c in (1, 2, 3)]
    frames[0].save(d / "anim.gif", save_all=True, append_images=frames[1:], duration=100)
    pil.new("RGBA", (40, 40), (0, 0, 255, 128)).save(d / "alpha.png")
    return {p.suffix[1:]: p for p in d.iterdir()}


@pytest.mark.parametrize("kind", ["jpg", "bmp", "gif", "png"])
def test_imagemagick_tiff(kind: str, images: dict[str, Path], out: Path) -> None:
    need(imagemagick)
    dst = out / "img.tif"
    convert_ok(imagemagick, images[kind], dst, "tiff", "fmt/353")
    info = run(["identify", "-format", "%C %n\n", dst], 30).stdout.split()
    assert info[:2] == ["LZW", "1"], info  # first frame only, LZW


def test_imagemagick_png_and_uncompressed(images: dict[str, Path], out: Path) -> None:
    need(imagemagick)
    convert_ok(imagemagick, images["jpg"], out / "img.png", "png", "fmt/11")
    (out / "img.png").unlink()
    res = imagemagick.convert(
        images["bmp"], out / "u.tif", timeout=60, target="tiff", compression="None"
    )
    assert res.ok and puid(out / "u.tif") == "fmt/353"
    assert run(["identify", "-format", "%C", out / "u.tif"], 30).stdout.strip() == "None"


def test_imagemagick_corpus_bmp(out: Path) -> None:
    need(imagemagick)
    src = corpus_file("generated/image/gradient-32x32-24bit.bmp")
    convert_ok(imagemagick, src, out / "g.tif", "tiff", "fmt/353")


def test_imagemagick_random_bytes(srcdir: Path, out: Path) -> None:
    need(imagemagick)
    for name in ("random.jpg", "random.bin"):
        src = random_file(srcdir, name)
        assert_failed(
            imagemagick.convert(src, out / "r.tif", timeout=60, target="tiff"), out / "r.tif"
        )


# --- msgconvert ----------------------------------------------------------------------------


def test_msgconvert_eml(out: Path) -> None:
    need(msgconvert)
    src = corpus_file("siegfried/cmd/sf/testdata/benchmark/Benchmark.msg")
    dst = out / "Benchmark.eml"
    res = msgconvert.convert(src, dst, timeout=60, target="eml")
    assert res.ok, res.message
    # Siegfried knows sent mail as fmt/950; unsent drafts are UNKNOWN but must parse cleanly
    assert puid(dst) in ("fmt/950", "UNKNOWN")
    assert msgconvert.eml_problem(dst) is None


def test_msgconvert_random_bytes(srcdir: Path, out: Path) -> None:
    need(msgconvert)
    src = random_file(srcdir, "random.msg")
    assert_failed(msgconvert.convert(src, out / "r.eml", timeout=60, target="eml"), out / "r.eml")


FAKE_MSGCONVERT = """#!/bin/sh
# stands in for msgconvert: checks the arguments our module passes, writes $FAKE_EML to --outfile
case "$1" in --help) echo "Usage: msgconvert [options] <file.msg>..."; exit 1;; esac
[ "$1" = --outfile ] && [ -f "$3" ] || exit 9
cat "$FAKE_EML" > "$2"
"""


@pytest.mark.parametrize(
    ("eml", "outcome"),
    [
        (b"From: a@example.org\nTo: b@example.org\nSubject: Hej\n\nText\n", "done"),
        (b"\x00\x01 garbage without headers", "failed"),
    ],
)
def test_msgconvert_logic_with_stand_in(
    eml: bytes, outcome: str, srcdir: Path, out: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The module's own logic (--outfile, EML check) when the real msgconvert is unusable."""
    bindir = srcdir.parent / "fakebin"
    bindir.mkdir()
    fake = bindir / "msgconvert"
    fake.write_text(FAKE_MSGCONVERT)
    fake.chmod(0o755)
    (srcdir.parent / "fake.eml").write_bytes(eml)
    monkeypatch.setenv("FAKE_EML", str(srcdir.parent / "fake.eml"))
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}/usr/bin:/bin")
    src = random_file(srcdir, "a.msg")
    res = msgconvert.convert(src, out / "a.eml", timeout=30, target="eml")
    assert res.outcome == outcome, res.message
    assert os.listdir(srcdir) == ["a.msg"]
    assert os.listdir(out) == (["a.eml"] if outcome == "done" else [])


# --- LibreOffice ---------------------------------------------------------------------------

HTML = """<html><head><meta charset="utf-8"><title>Protokoll</title></head><body>
<h1>Protokoll åäö</h1><p>Kommunstyrelsen sammanträdde.</p>
<table border="1"><tr><td>a</td><td>1</td></tr><tr><td>b</td><td>2</td></tr></table>
</body></html>"""


@pytest.fixture(scope="module")
def office_docs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A .docx and a .doc made by LibreOffice from HTML."""
    need(libreoffice)
    d = tmp_path_factory.mktemp("office")
    (d / "protokoll.html").write_text(HTML, encoding="utf-8")
    docs = {}
    for ext, filt in (("docx", "MS Word 2007 XML"), ("doc", "MS Word 97")):
        res = run(
            [
                libreoffice.program(),
                "--headless",
                "--norestore",
                f"-env:UserInstallation={(d / 'profile').as_uri()}",
                "--convert-to",
                f"{ext}:{filt}",
                "--outdir",
                d / ext,
                d / "protokoll.html",
            ],
            timeout=120,
        )
        path = d / ext / f"protokoll.{ext}"
        assert path.is_file(), res.output_tail
        docs[ext] = path
    return docs


@pytest.mark.parametrize("ext", ["docx", "doc"])
def test_libreoffice_generated_pdfa(ext: str, office_docs: dict[str, Path], out: Path) -> None:
    src = office_docs[ext]
    res = convert_ok(libreoffice, src, out / "p.pdf", "pdfa-2b", "fmt/477")
    assert "writer_pdf_Export" in " ".join(res.command)
    assert '"SelectPdfVersion":{"type":"long","value":"2"}' in " ".join(res.command)


@pytest.mark.parametrize("mode", ["uno", "cold"])
def test_libreoffice_names_that_are_not_utf8(
    mode: str, office_docs: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """LibreOffice takes only UTF-8 names (UNO URLs, its command line): a source and an output
    folder named in Latin-1 still convert, through clean links, with nothing left behind."""
    from preserveplan.migrate.validate import identify

    if mode == "uno" and not libreoffice.uno_available():
        pytest.skip("python3-uno not installed: no persistent LibreOffice")
    if mode == "cold":
        monkeypatch.setenv("PRESERVEPLAN_LIBREOFFICE", "cold")
    folder = os.path.join(os.fsencode(tmp_path), b"\xe5r 2020")
    os.makedirs(os.path.join(folder, b"ut"))
    src = Path(os.fsdecode(os.path.join(folder, b"f\xf6rslag.doc")))
    shutil.copy(office_docs["doc"], src)
    dst = Path(os.fsdecode(os.path.join(folder, b"ut", b"f\xf6rslag.pdf")))
    res = libreoffice.convert(src, dst, timeout=120, target="pdfa-2b")
    assert res.ok, res.message
    assert identify(dst) == "fmt/477"
    assert os.listdir(os.path.join(folder, b"ut")) == [b"f\xf6rslag.pdf"]
    assert sorted(os.listdir(folder)) == [b"f\xf6rslag.doc", b"ut"]


LEAVES_NO_SOCKET = """
import os, sys
from pathlib import Path
from preserveplan.migrate.tools import libreoffice
res = libreoffice.convert(Path(sys.argv[1]), Path(sys.argv[2]), timeout=120, target="pdfa-2b")
assert res.ok, res.message
server = libreoffice._SERVER
assert server._proc is not None, "no persistent LibreOffice"
socket = libreoffice.ipc_socket(server._profile)
assert os.path.exists(socket), f"LibreOffice's socket is not {socket}"
print(socket)
"""


def test_libreoffice_leaves_no_socket(office_docs: dict[str, Path], out: Path) -> None:
    """A persistent LibreOffice ends with its process (killed once the profile template
    exists) and leaves no single-instance socket in /tmp: one per run would pile up."""
    if not libreoffice.uno_available():
        pytest.skip("python3-uno not installed: no persistent LibreOffice")
    env = {k: v for k, v in os.environ.items() if k != "PRESERVEPLAN_LIBREOFFICE"}
    for _ in range(2):  # the first run may make the profile template, the second kills
        res = run(
            [sys.executable, "-c", LEAVES_NO_SOCKET, office_docs["docx"], out / "p.pdf"],
            timeout=180,
            env=env,
        )
        assert res.returncode == 0, res.output_tail
        socket = res.stdout.strip().splitlines()[-1]
        assert socket.startswith("/tmp/OSL_PIPE_")
        assert not os.path.exists(socket), f"{socket} left behind"


def test_soffice_env() -> None:
    env = libreoffice.soffice_env()
    assert env["SAX_DISABLE_THREADS"] == "1"
    assert "glibc.malloc.hugetlb=1" in env["GLIBC_TUNABLES"]


def test_libreoffice_generated_odt(office_docs: dict[str, Path], out: Path) -> None:
    convert_ok(libreoffice, office_docs["docx"], out / "p.odt", "odt", "fmt/1756", "fmt/291")


@pytest.mark.parametrize(
    ("name", "target", "expected", "filt"),
    [
        ("fixture.xlsx", "pdfa-2b", ("fmt/477",), "calc_pdf_Export"),
        ("fixture.pptx", "pdfa-2b", ("fmt/477",), "impress_pdf_Export"),
        ("fixture.rtf", "pdfa-2b", ("fmt/477",), "writer_pdf_Export"),
        ("fixture.xlsx", "ods", ("fmt/1755", "fmt/295"), "calc8"),
    ],
)
def test_libreoffice_corpus(
    name: str, target: str, expected: tuple[str, ...], filt: str, out: Path
) -> None:
    need(libreoffice)
    src = corpus_file(f"file-type/fixture/{name}")
    res = convert_ok(
        libreoffice, src, out / f"x.{'pdf' if target == 'pdfa-2b' else target}", target, *expected
    )
    assert filt in " ".join(res.command)


def test_libreoffice_refuses_bad_inputs(srcdir: Path, out: Path) -> None:
    need(libreoffice)
    dst = out / "r.pdf"
    # random bytes would be imported as text and become a "valid" PDF/A: refused before soffice
    for src in (random_file(srcdir, "random.docx"), random_file(srcdir, "random.doc")):
        res = libreoffice.convert(src, dst, timeout=60, target="pdfa-2b")
        assert_failed(res, dst)
        assert "does not match" in res.message
    (srcdir / "empty.docx").write_bytes(b"")
    assert_failed(
        libreoffice.convert(srcdir / "empty.docx", dst, timeout=60, target="pdfa-2b"), dst
    )
    # a spreadsheet cannot become ODT
    xlsx = srcdir / "a.xlsx"
    with zipfile.ZipFile(xlsx, "w") as z:
        z.writestr("x", "y")
    assert_failed(libreoffice.convert(xlsx, out / "a.odt", timeout=60, target="odt"), out / "a.odt")


def test_libreoffice_unloadable_zip(srcdir: Path, out: Path) -> None:
    """A ZIP that is no document: soffice exits 0 without output → failed."""
    need(libreoffice)
    src = srcdir / "broken.docx"
    with zipfile.ZipFile(src, "w") as z:
        z.writestr("hello.txt", "not a word document")
    before = sha256(src)
    res = libreoffice.convert(src, out / "b.pdf", timeout=60, target="pdfa-2b")
    assert_failed(res, out / "b.pdf")
    assert sha256(src) == before


# --- common behaviour: dst placement, missing tool, hung tool ------------------------------


def test_refuses_to_write_next_to_source(srcdir: Path) -> None:
    src = minimal_pdf(srcdir / "a.pdf")
    with pytest.raises(ValueError, match="source's folder"):
        ghostscript.convert(src, srcdir / "b.pdf", timeout=10, target="pdfa-2b")
    with pytest.raises(ValueError, match="unsupported target"):
        ffmpeg.convert(src, srcdir.parent / "b.pdf", timeout=10, target="pdfa-2b")


@pytest.mark.parametrize("name", sorted(MODULES))
def test_missing_tool(name: str, srcdir: Path, out: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mod = MODULES[name]
    empty = srcdir.parent / "emptybin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    assert mod.available() is False
    with pytest.raises(MissingToolError):
        mod.version()
    src = minimal_pdf(srcdir / "a.docx")
    res = mod.convert(src, out / "a.out", timeout=10, target=mod.TARGETS[0])
    assert res.outcome == "missing-tool" and not res.ok
    assert os.listdir(out) == []


STUB = """#!/bin/sh
case "$1" in
  --version|-version|-hide_banner|--help) echo "Version: ImageMagick 0 stub"; exit 0;;
esac
sleep 300 &
echo $$ $! > "$STUB_PIDS"
exec sleep 300
"""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.fixture
def stub_bin(tmp_path: Path) -> Iterator[Callable[[str], Path]]:
    d = tmp_path / "stubbin"
    d.mkdir()

    def make(name: str) -> Path:
        p = d / name
        p.write_text(STUB)
        p.chmod(p.stat().st_mode | stat.S_IXUSR)
        return d

    yield make


@pytest.mark.parametrize(
    ("name", "program", "srcname"),
    [
        ("ghostscript", "gs", "a.pdf"),
        ("ffmpeg", "ffmpeg", "a.mp4"),
        ("imagemagick", "convert", "a.png"),
        ("msgconvert", "msgconvert", "a.msg"),
        ("libreoffice", "soffice", "a.docx"),
    ],
)
def test_hung_converter_is_killed(
    name: str,
    program: str,
    srcname: str,
    stub_bin: Callable[[str], Path],
    srcdir: Path,
    out: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    mod = MODULES[name]
    bindir = stub_bin(program)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}/usr/bin:/bin")
    monkeypatch.setenv("PRESERVEPLAN_LIBREOFFICE", "cold")  # the stand-in replaces soffice
    pids = srcdir.parent / "pids"
    monkeypatch.setenv("STUB_PIDS", str(pids))
    src = srcdir / srcname
    if srcname.endswith(".pdf"):  # a real PDF: Ghostscript's module refuses unparsable input
        src.write_bytes(pdf_bytes("hung"))
    else:
        with zipfile.ZipFile(src, "w") as z:  # passes LibreOffice's magic check
            z.writestr("x", "y")
    res = mod.convert(src, out / "hung.out", timeout=1.0, target=mod.TARGETS[0])
    assert res.outcome == "timeout" and not res.ok, res.message
    assert res.command[0] == str(bindir / program)
    assert os.listdir(out) == [], "temporary output or job folder left"
    assert pids.is_file(), "stub did not run"
    for pid in map(int, pids.read_text().split()):
        deadline = time.monotonic() + 3
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(pid), f"process {pid} survived the timeout"


def test_run_reports_crash_and_bounds_output(tmp_path: Path) -> None:
    res = run(["sh", "-c", "head -c 300000 /dev/zero | tr '\\0' x; kill -SEGV $$"], timeout=10)
    assert res.crashed and res.returncode == -11
    assert len(res.stdout) < 70_000 and "bytes omitted" in res.stdout
    with pytest.raises(MissingToolError):
        run([str(tmp_path / "nope")], timeout=5)


@pytest.mark.skipif(not MODULES["libreoffice"].available(), reason="LibreOffice not installed")
def test_persistent_libreoffice_restarts_after_a_crash(
    office_docs: dict[str, Path], out: Path
) -> None:
    """The UNO server's LibreOffice is really killed between two conversions: the next
    conversion starts a new one."""
    lo = MODULES["libreoffice"]
    if not lo.uno_available():
        pytest.skip("python3-uno not installed: cold mode only")
    first = lo.convert(office_docs["docx"], out / "a.pdf", timeout=120, target="pdfa-2b")
    assert first.ok, first.message
    server = lo._SERVER
    assert server._proc is not None
    starts = server.starts
    pipe = Path(f"/tmp/OSL_PIPE_{os.getuid()}_preserveplan{server._proc.pid}")
    assert pipe.exists(), "uno_bridge.py's pipe is where stop() looks for it"
    os.killpg(server._proc.pid, signal.SIGKILL)  # the bridge and its soffice die
    second = lo.convert(office_docs["docx"], out / "b.pdf", timeout=120, target="pdfa-2b")
    assert second.ok, second.message
    assert server.starts == starts + 1
    assert not pipe.exists(), "the dead instance's pipe socket was left in /tmp"


@pytest.mark.skipif(not MODULES["libreoffice"].available(), reason="LibreOffice not installed")
def test_libreoffice_warm_profile_template(
    office_docs: dict[str, Path], out: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first healthy profile becomes the version's template (renamed into place, no lock
    file); later instances start from a copy of it and still convert."""
    lo = MODULES["libreoffice"]
    if not lo.uno_available():
        pytest.skip("python3-uno not installed: cold mode only")
    lo._SERVER.stop()  # a server started by an earlier test gives its profile back first
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    template = lo._template_dir()
    assert template is not None and not template.exists()
    first = lo.convert(office_docs["docx"], out / "a.pdf", timeout=120, target="pdfa-2b")
    assert first.ok, first.message
    lo._SERVER.stop()  # a healthy stop gives the profile back: the template is made
    assert (template / "user" / "registrymodifications.xcu").is_file()
    assert not (template / "user" / ".lock").exists()
    assert [p.name for p in template.parent.iterdir()] == [template.name], "temp copy left"
    while lo._PROFILES._free:  # no used profile to hand out: the next one is a new copy
        shutil.rmtree(lo._PROFILES._free.pop())
    fresh = lo._PROFILES.acquire()
    try:
        assert (fresh / "user" / "registrymodifications.xcu").is_file()
    finally:
        lo._PROFILES.release(fresh, healthy=False)
    second = lo.convert(office_docs["docx"], out / "b.pdf", timeout=120, target="pdfa-2b")
    assert second.ok, second.message
    lo._SERVER.stop()


VERSION_STUB = """#!/bin/sh
echo asked >> "{log}"
echo "{answer}"
exit {code}
"""


def test_remembered_version(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A program's version is asked once and remembered on disk while the program file stays
    the same file; a new file (an upgrade) is asked again; a failure is never remembered."""
    from preserveplan.migrate.tools._exec import VERSIONS_FILE, remembered_version

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    log = tmp_path / "asked.log"
    exe = tmp_path / "bin" / "tool"
    exe.parent.mkdir()

    def install(answer: str, code: int = 0) -> None:
        tmp = exe.with_name("tool.new")
        tmp.write_text(VERSION_STUB.format(log=log, answer=answer, code=code))
        tmp.chmod(0o755)
        os.replace(tmp, exe)  # as a package upgrade does: a new file under the old name

    def probe(path: str) -> str:
        res = run([path], timeout=10)
        if res.returncode != 0:
            raise MissingToolError(path, "no version")
        return res.stdout.strip()

    def asked() -> int:
        return len(log.read_text().splitlines()) if log.exists() else 0

    install("tool 1.0")
    assert remembered_version(str(exe), probe) == "tool 1.0"
    assert remembered_version(str(exe), probe) == "tool 1.0"
    assert asked() == 1
    assert (tmp_path / "cache" / "preserveplan" / VERSIONS_FILE).is_file()
    install("tool 2.0")
    assert remembered_version(str(exe), probe) == "tool 2.0"
    assert asked() == 2
    install("broken", code=3)
    for _ in range(2):
        with pytest.raises(MissingToolError):
            remembered_version(str(exe), probe)
    assert asked() == 4
    # A file beside the program counts too (soffice.bin beside the soffice script).
    install("tool 3.0")
    (exe.parent / "engine.bin").write_text("one")
    assert remembered_version(str(exe), probe, also=("engine.bin",)) == "tool 3.0"
    assert remembered_version(str(exe), probe, also=("engine.bin",)) == "tool 3.0"
    assert asked() == 5
    (exe.parent / "engine.bin").write_text("a longer one")
    assert remembered_version(str(exe), probe, also=("engine.bin",)) == "tool 3.0"
    assert asked() == 6
    # An unwritable or corrupt cache only means asking every time.
    (tmp_path / "cache" / "preserveplan" / VERSIONS_FILE).write_text("{not json")
    assert remembered_version(str(exe), probe) == "tool 3.0"
    assert asked() == 7
    monkeypatch.setenv("XDG_CACHE_HOME", "/proc/no-such-place")
    assert remembered_version(str(exe), probe) == "tool 3.0"
    assert asked() == 8


def test_remembered_probes_are_kept_apart(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two probes of one program (its version; whether Debian's Python imports uno) are
    remembered side by side, an absolute ``also`` path counts, and "" (failed) is not kept."""
    from preserveplan.migrate.tools import libreoffice
    from preserveplan.migrate.tools._exec import VERSIONS_FILE, remembered_version

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    extra = tmp_path / "module.py"
    extra.write_text("one")
    calls: list[str] = []

    def probe(answer: str) -> Callable[[str], str]:
        def ask(exe: str) -> str:
            calls.append(answer)
            return answer

        return ask

    exe = sys.executable
    assert remembered_version(exe, probe("v1")) == "v1"
    assert (
        remembered_version(exe, probe("/x/uno.py"), also=(str(extra),), what="uno") == "/x/uno.py"
    )
    assert remembered_version(exe, probe("other")) == "v1"
    assert remembered_version(exe, probe("other"), also=(str(extra),), what="uno") == "/x/uno.py"
    extra.write_text("a longer one")
    assert remembered_version(exe, probe(""), also=(str(extra),), what="uno") == ""
    assert remembered_version(exe, probe("again"), also=(str(extra),), what="uno") == "again"
    assert calls == ["v1", "/x/uno.py", "", "again"]
    if libreoffice.uno_available():
        libreoffice._uno_importable.cache_clear()
        assert libreoffice._uno_importable()
        stored = (tmp_path / "cache" / "preserveplan" / VERSIONS_FILE).read_text()
        assert "[import uno]" in stored and "uno.py" in stored
