"""Ghostscript: PDF → PDF/A-2b (fmt/477).

Uses a PDFA_def.ps of our own (TOOLS.md §2): an absolute path to Ghostscript's sRGB ICC profile
(read permitted with ``--permit-file-read``), ``/N 3`` to match ``ColorConversionStrategy=RGB``,
and *no* DOCINFO pdfmark (the stock file titles every output "Title"). The def file comes before
the input on the command line. ``-dPDFACompatibilityPolicy=1``: features PDF/A forbids are
dropped with a warning; the warnings are returned in ``ConvertResult.message``.

Known losses (record them): DOCINFO with non-ASCII text (e.g. åäö) is discarded by gs 10.0;
digital signatures are destroyed; non-embedded fonts are substituted. The output is written to a
temporary file in ``dst``'s folder and renamed onto ``dst`` only after checking that it claims
PDF/A-2b and carries an OutputIntent.
"""

from __future__ import annotations

import functools
import glob
import os
import tempfile
from pathlib import Path

from preserveplan.migrate.tools._exec import (
    ConvertResult,
    InputRefused,
    MissingToolError,
    RunResult,
    clean_names,
    convert_file,
    find_program,
    is_available,
    pdfa_problem,
    remembered_version,
    run,
)

TOOL = "ghostscript"
PROGRAM = "gs"
TARGETS = ("pdfa-2b",)

_DEF_PS = """%!
% preserveplan PDF/A definition file: sRGB output intent, document info left alone.
/ICCProfile ({icc}) def
[/_objdef {{icc_PDFA}} /type /stream /OBJ pdfmark
[{{icc_PDFA}} << /N 3 >> /PUT pdfmark
[{{icc_PDFA}} ICCProfile (r) file /PUT pdfmark
[/_objdef {{OutputIntent_PDFA}} /type /dict /OBJ pdfmark
[{{OutputIntent_PDFA}} <<
  /Type /OutputIntent
  /S /GTS_PDFA1
  /DestOutputProfile {{icc_PDFA}}
  /OutputConditionIdentifier (sRGB)
  /Info (sRGB IEC61966-2.1)
>> /PUT pdfmark
[{{Catalog}} << /OutputIntents [ {{OutputIntent_PDFA}} ] >> /PUT pdfmark
"""


def program() -> str:
    return find_program(PROGRAM)


def _probe_version(exe: str) -> str:
    res = run([exe, "--version"], timeout=30)
    if res.returncode != 0 or not res.stdout.strip():
        raise MissingToolError(exe, f"--version failed: {res.output_tail}")
    return res.stdout.strip().splitlines()[0]


@functools.cache
def _version_of(exe: str) -> str:
    return remembered_version(exe, _probe_version)


def version() -> str:
    """Ghostscript version, e.g. ``10.00.0``; raises MissingToolError when gs is missing."""
    return _version_of(program())


def available() -> bool:
    return is_available(version)


def srgb_profile(gs_version: str = "") -> Path | None:
    """An sRGB ICC profile readable by gs (env ``PRESERVEPLAN_SRGB_ICC`` overrides)."""
    override = os.environ.get("PRESERVEPLAN_SRGB_ICC")
    candidates = [override] if override else []
    candidates += [
        f"/usr/share/ghostscript/{gs_version}/iccprofiles/srgb.icc",
        "/usr/share/color/icc/ghostscript/srgb.icc",
        *sorted(glob.glob("/usr/share/ghostscript/*/iccprofiles/srgb.icc"), reverse=True),
        *sorted(glob.glob("/usr/local/share/ghostscript/*/iccprofiles/srgb.icc"), reverse=True),
    ]
    for c in candidates:
        if c and os.access(c, os.R_OK):
            return Path(c).resolve()
    return None


def _source_problem(src: Path) -> str | None:
    """Refuse what Ghostscript would 'convert' into a valid-looking but empty PDF/A: a source
    that no PDF parser can open, that is encrypted, or that has no pages."""
    import pikepdf

    from ..validate import open_pdf

    try:
        with open_pdf(src) as pdf:  # any file name; the pages only counted
            if len(pdf.pages) == 0:
                return "source PDF has no pages"
    except pikepdf.PasswordError:
        return "source PDF is encrypted (password needed)"
    except (pikepdf.PdfError, OSError, ValueError) as exc:
        return f"source PDF cannot be parsed: {str(exc).splitlines()[0][:200]}"
    return None


def _ps_string(s: str) -> str:
    return s.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def write_def_file(folder: Path, icc: Path) -> Path:
    """Our PDFA_def.ps (absolute ICC path, no title override) in ``folder``."""
    def_ps = folder / "PDFA_def.ps"
    def_ps.write_text(_DEF_PS.format(icc=_ps_string(str(icc))), encoding="ascii")
    return def_ps


def command(src: Path, out: Path, def_ps: Path, icc: Path) -> list[str]:
    """The Ghostscript command line for PDF → PDF/A-2b (TOOLS.md §2.1); absolute names, links
    not followed (see :func:`~preserveplan.migrate.tools._exec.clean_names`)."""
    return [
        program(),
        "-dPDFA=2",
        "-dBATCH",
        "-dNOPAUSE",
        "-dSAFER",
        "-q",
        "-sDEVICE=pdfwrite",
        "-sColorConversionStrategy=RGB",
        "-dPDFACompatibilityPolicy=1",
        f"--permit-file-read={icc.parent}/",
        "-sOutputFile=" + str(out.absolute()).replace("%", "%%"),
        str(def_ps),
        str(src.absolute()),
    ]


def convert(src: Path, dst: Path, *, timeout: float, target: str = "pdfa-2b") -> ConvertResult:
    """Convert the PDF ``src`` to PDF/A-2b at ``dst`` (atomic; see module docstring)."""
    if target not in TARGETS:
        raise ValueError(f"{TOOL}: unsupported target {target!r} (supported: {TARGETS})")

    def execute(tmp: Path, ver: str) -> RunResult:
        icc = srgb_profile(ver)
        if icc is None:
            raise InputRefused("no readable sRGB ICC profile for the PDF/A OutputIntent")
        with tempfile.TemporaryDirectory(prefix="preserveplan-gs-") as tdir:
            def_ps = write_def_file(Path(tdir), icc)
            # Ghostscript drops the bytes of a name that are not UTF-8: clean names for those.
            with clean_names(Path(src), tmp) as (source, output):
                # The source is checked while Ghostscript starts: a refused source kills it.
                return run(
                    command(source, output, def_ps, icc),
                    timeout,
                    cwd=tdir,
                    meanwhile=lambda: _source_problem(Path(src)),
                )

    def check(tmp: Path, res: RunResult) -> str | None:
        said = res.stdout + res.stderr
        if "PDF/A processing aborted" in said or "aborting conversion" in said:
            return "Ghostscript aborted PDF/A processing"
        return pdfa_problem(tmp, 2, "B")

    return convert_file(
        tool=TOOL,
        version=version,
        src=Path(src),
        dst=Path(dst),
        target=target,
        suffix=".pdf",
        execute=execute,
        check=check,
    )
