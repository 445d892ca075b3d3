"""Output validation (preserveplan.migrate.validate): PDF/A structural checks measured on the
shared corpus (pdfa_valid column), plus identification, encryption, truncation, Ghostscript."""

from __future__ import annotations

import csv
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from conftest import CORPUS
from util import pdf_bytes

from preserveplan.migrate.validate import (
    Problem,
    ValidationResult,
    parse_verapdf_report,
    validate_file,
)

HAVE_CORPUS = (CORPUS / "expected.csv").is_file()
needs_corpus = pytest.mark.skipif(
    not HAVE_CORPUS, reason=f"shared corpus not found at {CORPUS} (set PRESERVEPLAN_SHARED)"
)


def _pdfa_rows() -> list[dict[str, str]]:
    if not HAVE_CORPUS:
        return []
    with (CORPUS / "expected.csv").open(newline="", encoding="utf-8") as fh:
        return [r for r in csv.DictReader(fh) if r["pdfa_valid"] in ("pass", "fail")]


@needs_corpus
def test_corpus_pdfa_verdicts(capsys: pytest.CaptureFixture[str]) -> None:
    rows = _pdfa_rows()
    assert rows, "expected.csv has no pdfa_valid rows"
    false_rejections: list[str] = []
    caught = fails = 0
    missed: list[str] = []
    t0 = time.perf_counter()
    for row in rows:
        res = validate_file(CORPUS / row["path"], row["expected_puid"])
        assert res.profile is not None, f"{row['path']}: PDF/A claim not found"
        if row["pdfa_valid"] == "pass":
            if not res.valid:
                false_rejections.append(f"{row['path']}: {res.errors}")
        else:
            fails += 1
            if res.valid:
                missed.append(row["path"])
            else:
                caught += 1
    elapsed = time.perf_counter() - t0
    with capsys.disabled():
        passes = sum(r["pdfa_valid"] == "pass" for r in rows)
        print(
            f"\nPDF/A corpus: {len(rows)} files, {elapsed / len(rows) * 1000:.1f} ms/file; "
            f"pass files rejected {len(false_rejections)}/{passes}; "
            f"fail files caught {caught}/{fails} ({caught / fails:.0%}); missed: {missed}"
        )
    assert not false_rejections, "valid PDF/A files rejected:\n" + "\n".join(false_rejections)
    assert caught / fails >= 0.9


@needs_corpus
def test_non_pdf_with_wrong_expected_puid_is_invalid(tmp_path: Path) -> None:
    txt = tmp_path / "note.txt"
    txt.write_text("just some plain text\n" * 10, encoding="utf-8")
    res = validate_file(txt, "fmt/477")
    assert not res.valid
    assert res.profile is None
    assert res.errors[0].clause == "identification"
    assert "fmt/477" in res.errors[0].message


@needs_corpus
def test_plain_pdf_valid_when_puid_matches() -> None:
    pdf = CORPUS / "py-pdf-sample-files/001-trivial/minimal-document.pdf"
    res = validate_file(pdf, "fmt/19")
    assert res.valid, res.errors
    assert res.profile is None
    assert not validate_file(pdf, "fmt/477").valid


@needs_corpus
def test_encrypted_pdf_is_invalid() -> None:
    folder = CORPUS / "py-pdf-sample-files/005-libreoffice-writer-password"
    [pdf] = sorted(folder.glob("*.pdf"))
    res = validate_file(pdf)
    assert not res.valid
    assert any("encrypt" in p.clause for p in res.errors), res.errors


@needs_corpus
@pytest.mark.parametrize("keep", [0.3, 0.9])
def test_truncated_pdf_is_invalid_without_exception(tmp_path: Path, keep: float) -> None:
    src = (CORPUS / "format-corpus/pdfCabinetOfHorrors/veraPDFHiRes.pdf").read_bytes()
    cut = tmp_path / "cut.pdf"
    cut.write_bytes(src[: int(len(src) * keep)])
    res = validate_file(cut)
    assert not res.valid
    assert res.errors
    json = res.as_json()
    assert set(json) >= {"path", "puid", "profile", "valid", "errors"}


def test_missing_and_empty_files(tmp_path: Path) -> None:
    assert not validate_file(tmp_path / "nope.pdf").valid
    empty = tmp_path / "empty.pdf"
    empty.write_bytes(b"")
    res = validate_file(empty, "fmt/477")
    assert not res.valid


def test_garbage_with_pdf_header(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + bytes(range(256)) * 20)
    res = validate_file(bad)
    assert not res.valid
    assert all(isinstance(p, Problem) for p in res.errors)


def test_result_json_shape(tmp_path: Path) -> None:
    f = tmp_path / "a.txt"
    f.write_text("hello\n", encoding="utf-8")
    res = validate_file(f)
    assert isinstance(res, ValidationResult)
    j = res.as_json()
    assert j["path"] == str(f)
    assert j["valid"] is True and j["errors"] == [] and j["profile"] is None
    with pytest.raises(AttributeError):
        res.valid = False  # type: ignore[misc, unused-ignore]


GS_DEF = Path("/usr/share/ghostscript/10.00.0/lib/PDFA_def.ps")
GS_ICC = Path("/usr/share/ghostscript/10.00.0/iccprofiles")


@needs_corpus
@pytest.mark.skipif(shutil.which("gs") is None, reason="ghostscript (gs) not installed")
def test_ghostscript_pdfa(tmp_path: Path) -> None:
    src = CORPUS / "py-pdf-sample-files/001-trivial/minimal-document.pdf"
    base = ["gs", "-q", "-dPDFA=2", "-dBATCH", "-dNOPAUSE", "-dSAFER", "-sDEVICE=pdfwrite"]
    base += ["-sColorConversionStrategy=RGB", "-dPDFACompatibilityPolicy=1"]
    plain = tmp_path / "plain.pdf"
    subprocess.run([*base, f"-sOutputFile={plain}", str(src)], check=True, timeout=60)
    res = validate_file(plain, "fmt/477")
    assert res.profile == "PDF/A-2b"
    assert not res.valid, "gs output without PDFA_def.ps has no output intent"
    assert any("OutputIntents" in p.message for p in res.errors), res.errors

    if not (GS_DEF.is_file() and (GS_ICC / "srgb.icc").is_file()):
        pytest.skip("Ghostscript 10.00.0 PDFA_def.ps / srgb.icc not found")
    text = GS_DEF.read_text(encoding="latin-1")
    text = text.replace("(srgb.icc)", f"({GS_ICC / 'srgb.icc'})")
    start = text.find("/Title (Title)")
    if start >= 0:  # TOOLS.md §2.1: drop the DOCINFO pdfmark that titles everything "Title"
        end = text.find("/DOCINFO pdfmark", start)
        line_start = text.rfind("\n", 0, start) + 1
        text = text[:line_start] + text[end + len("/DOCINFO pdfmark") :]
    pdfa_def = tmp_path / "PDFA_def.ps"
    pdfa_def.write_text(text, encoding="latin-1")
    good = tmp_path / "good.pdf"
    cmd = [*base, f"--permit-file-read={GS_ICC}/", f"-sOutputFile={good}", str(pdfa_def)]
    subprocess.run([*cmd, str(src)], check=True, timeout=60)
    res = validate_file(good, "fmt/477")
    assert res.valid, res.errors
    assert res.profile == "PDF/A-2b"


@needs_corpus
@pytest.mark.skipif(shutil.which("verapdf") is None, reason="verapdf not on PATH")
def test_verapdf_used_when_present() -> None:
    res = validate_file(CORPUS / "pdfa-testsuite/pdfa2-6-11-bfo-t01-fail.pdf")
    assert any("veraPDF" in c for c in res.checked)
    assert not res.valid


def test_parse_verapdf_report() -> None:
    xml = b"""<?xml version="1.0" encoding="utf-8"?>
<report><jobs><job><validationReport profileName="PDF/A-2B validation profile"
  statement="PDF file is not compliant with Validation Profile requirements."
  isCompliant="false"><details passedRules="140" failedRules="1" passedChecks="500"
  failedChecks="1"><rule specification="ISO 19005-2:2011" clause="6.11" testNumber="1"
  status="failed" failedChecks="1"><description>The document catalog dictionary shall not
  include a key with the name Requirements</description></rule></details></validationReport>
</job></jobs></report>"""
    [p] = parse_verapdf_report(xml)
    assert p.clause == "6.11-1"
    assert "Requirements" in p.message
    ok = xml.replace(b'isCompliant="false"', b'isCompliant="true"')
    assert parse_verapdf_report(ok) == []
    assert parse_verapdf_report(b"not xml")[0].clause == "verapdf"


def _pdfa_with_content(tmp_path: Path, name: str, extra: bytes, replace: bool = False) -> Path:
    """A real Ghostscript PDF/A-2b (our module) whose first page gets ``extra`` appended to
    its content stream, or as its only content with ``replace`` (pikepdf, saved as a new
    file)."""
    import pikepdf

    from preserveplan.migrate.tools import ghostscript

    if not ghostscript.available():
        pytest.skip("Ghostscript not installed")
    base = tmp_path / "out" / "pdfa.pdf"
    if not base.exists():
        base.parent.mkdir()
        src = tmp_path / "src.pdf"
        src.write_bytes(pdf_bytes("content limits"))
        res = ghostscript.convert(src, base, timeout=60)
        assert res.ok, res.message
    out = tmp_path / name
    with pikepdf.open(base) as pdf:
        page = pdf.pages[0]
        if replace:
            page.obj.Contents = pdf.make_stream(extra)
        else:
            page.contents_add(pdf.make_stream(extra), prepend=False)
        pdf.save(out)
    return out


@pytest.mark.parametrize("bad_font", [False, True], ids=["embedded", "not-embedded"])
def test_resources_inherited_from_the_page_tree(tmp_path: Path, bad_font: bool) -> None:
    """Fonts in /Resources that a page inherits from its /Pages parent (LibreOffice writes them
    there) are checked: the file is opened as written, without qpdf copying them down."""
    import pikepdf

    path = _pdfa_with_content(tmp_path, "plain.pdf", b"")
    moved = tmp_path / ("inherited-bad.pdf" if bad_font else "inherited.pdf")
    with pikepdf.open(path) as pdf:
        page = pdf.pages[0].obj
        resources = page.Resources
        if bad_font:
            fonts = resources.get("/Font")
            if fonts is None:
                resources.Font = fonts = pikepdf.Dictionary()
            fonts.F9 = pdf.make_indirect(
                pikepdf.Dictionary(
                    Type=pikepdf.Name.Font,
                    Subtype=pikepdf.Name.Type1,
                    BaseFont=pikepdf.Name.Helvetica,
                )
            )
        pdf.Root.Pages.Resources = pdf.make_indirect(resources)
        del page["/Resources"]
        pdf.save(moved)
    with pikepdf.open(moved, inherit_page_attributes=False) as pdf:
        assert "/Resources" not in pdf.pages[0].obj  # the test really moved them
    res = validate_file(moved, "fmt/477")
    messages = [f"{p.clause}: {p.message}" for p in res.errors]
    if bad_font:
        assert any("Helvetica is not embedded" in m for m in messages), messages
    else:
        assert res.valid, messages


@pytest.mark.parametrize(
    ("extra", "expect"),
    [
        # harmless: fractions with many digits, glyph ids in hex strings, an ASCII #20 escape
        (b"q 0.5019607843 0.2 0.1 rg /Text#20Body BMC [<0708090011090>] TJ EMC Q", None),
        (b"q " * 29 + b"Q " * 29, "nested q/Q"),
        (b"99999999999 0 0 1 0 0 cm", "integer 99999999999 exceeds"),
        (b"0.0" + b"0" * 45 + b"1 0 0 1 0 0 cm", "is below"),
        (b"/Caf#E9 BMC EMC", "not UTF-8"),
        # a number right after a hex string (the pre-check once missed ">" before a number)
        (b"BT [<0D>99999999999<0C>] TJ ET", "integer 99999999999 exceeds"),
        # signed, after a delimiter and glued to a hex string (the sign counts as a delimiter)
        (b"-99999999999 0 0 1 0 0 cm", "integer -99999999999 exceeds"),
        (b"BT [<0D>-99999999999<0C>] TJ ET", "integer -99999999999 exceeds"),
        (b"BT [<0D>+99999999999<0C>] TJ ET", "integer 99999999999 exceeds"),
    ],
)
@pytest.mark.parametrize("replace", [False, True], ids=["appended", "only-content"])
def test_content_stream_limits(
    tmp_path: Path, extra: bytes, expect: str | None, replace: bool
) -> None:
    """6.1.13 limits found in content streams (the raw-byte pre-check must not hide them).
    Appended to Ghostscript's text (literal strings) the page goes to pikepdf's parser; as the
    page's only content it is "simple" and read by the regular-expression path."""
    path = _pdfa_with_content(tmp_path, "limits.pdf", extra, replace)
    res = validate_file(path, "fmt/477")
    messages = [f"{p.clause}: {p.message}" for p in res.errors]
    if expect is None:
        assert res.valid, messages
    else:
        assert any(expect in m and "6.1.13" in m for m in messages), messages


def _parsed_summary(obj: object) -> tuple[int, set[str]]:
    """Deepest q nesting and device colour use, by pikepdf's content-stream parser."""
    import pikepdf

    from preserveplan.migrate.validate import DEVICE_CS, DEVICE_OPS

    depth = deepest = 0
    devices: set[str] = set()
    for inst in pikepdf.parse_content_stream(obj, "q Q rg RG k K g G cs CS"):
        op = str(inst.operator)
        if op == "q":
            depth += 1
            deepest = max(deepest, depth)
        elif op == "Q":
            depth -= 1
        elif op in DEVICE_OPS:
            devices.add(f"{op} operator")
        else:
            devices |= {str(o) for o in inst.operands if str(o) in DEVICE_CS}
    return deepest, devices


SIMPLE_SAMPLES = [
    b"",
    b"q 1 0 0 1 72 720 cm BT /F1 12 Tf [<0708>-3<0011>]TJ ET Q",
    b"q " * 30 + b"0 0 1 rg " + b"Q " * 30,
    b"/P <</MCID 0 /Lang (sv)>> BDC EMC",  # a literal string: not simple
    b"/P <</MCID 3>> BDC q /Device#52GB cs 1 0 0 sc Q EMC /DeviceCMYK CS 0 0 0 1 K",
    b"q 0.5 g 0 0 m 10 10 l S Q q 1 0 0 1 0 0 cm /Im0 Do Q /GS0 gs 0 0 0 1 k",
    b"BT /F1 1 Tf <00410042> Tj T* <0043> Tj ET",
    b"q BI /W 1 /H 1 /BPC 8 /CS /G ID \x00 EI Q",  # inline image: not simple
    b"q [<01>]TJ Q Q q",  # unbalanced, still plain tokens
    b"<0041 Tj",  # broken hex string: not simple
    b"q 1 0 0 rg Q Q",  # an operator at the very start
    b"/q BMC 1q Q EMC /Q BMC q EMC",  # names and a glued number are no operators
    b"<</A<41>>>BDC q EMC [<41>]q Q Q",  # hex in a dictionary, operators glued to delimiters
    b"<<>> BDC q Q EMC",  # an empty dictionary
    b"<0041 >> q",  # a hex string closed twice
    b"q\x0bQ q\x00Q",  # vertical tab is a regular character, NUL white space
    b"0 0 0 RG 1 k /DeviceGray CS /Pattern cs",
    b"q /Device#47ray CS 0.5 SC Q",  # a name with a # escape
    b"q q /Sq gs Q q Q",  # a name with q in it
    b"q q qq Q Q",  # an unknown operator with q in it
    b"Q Q q q q q Q",  # more Q than q first: the depth counts from 0
    b"q\nq[]q<</A 1>>q<>Q\rQ\tQ\x0cQ",  # q and Q between delimiters of every kind
    b"/Im1 Do q EI Q",  # a stray inline-image keyword: parsed
    b"q 1 0 0 1 0 0 cm q 2 w Q q 0 0 1 RG Q Q" * 3,
]


@pytest.mark.parametrize("colour", [True, False], ids=["colour", "no-colour"])
@pytest.mark.parametrize("data", SIMPLE_SAMPLES)
def test_simple_content_agrees_with_the_parser(data: bytes, colour: bool) -> None:
    """The regular-expression path gives pikepdf's parser's answer, or None (parse it);
    without ``colour`` (a file with an output intent) only the q depth counts."""
    import pikepdf

    from preserveplan.migrate.validate import _simple_content

    pdf = pikepdf.new()
    stream = pdf.make_stream(data)
    try:
        reference = _parsed_summary(stream)
    except pikepdf.PdfError:
        assert _simple_content(data, colour) is None  # the parser fails: the full parse reports it
        return
    got = _simple_content(data, colour)
    if got is not None:
        assert got == (reference if colour else (reference[0], set()))


def test_q_depth_reads_only_plain_q_operators() -> None:
    """The q-and-Q-bytes shortcut declines whatever it cannot read as operators."""
    from preserveplan.migrate.validate import _q_depth

    assert _q_depth(b"q q Q q q q Q Q Q Q") == 4
    assert _q_depth(b"Q q") == 0  # depth counts from 0 down and up, as the parser does
    assert _q_depth(b"1 0 0 RG") == 0
    assert _q_depth(b"q " * 29 + b"Q " * 29) == 29
    for declined in (b"/Sq gs q Q", b"q qQ Q", b"q 1q Q", b"q Q2", b"BI /W 1 ID x EI", b"q/a"):
        expect = 1 if declined == b"q/a" else None  # "/" after q starts a name: q is a token
        assert _q_depth(declined) == expect, declined


@needs_corpus
def test_simple_content_agrees_with_the_parser_on_the_corpus() -> None:
    """Every page of every corpus PDF that the regular-expression path reads gives the same
    q depth and device colour use as pikepdf's parser."""
    import pikepdf

    from preserveplan.migrate.validate import _content_bytes, _simple_content

    simple = 0
    for row in _all_corpus_pdfs():
        try:
            pdf = pikepdf.open(row)
        except Exception:
            continue
        with pdf:
            for page in pdf.pages:
                data = _content_bytes(page)
                got = None if data is None else _simple_content(data)
                fast = None if data is None else _simple_content(data, colour=False)
                if got is None and fast is None:
                    continue
                simple += 1
                reference = _parsed_summary(page)
                assert got is None or got == reference, row
                assert fast is None or fast == (reference[0], set()), row
    assert simple > 0, "no corpus page took the simple path: the test would prove nothing"


def _all_corpus_pdfs() -> list[Path]:
    return sorted(p for p in CORPUS.rglob("*") if p.suffix.lower() == ".pdf" and p.is_file())
