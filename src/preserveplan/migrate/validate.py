"""Validate migration outputs: re-identify with pygfried and check PDF/A claims structurally.

A file is valid when it identifies as the expected PUID, can be opened and, if it claims
PDF/A in its XMP metadata (``pdfaid:part`` / ``pdfaid:conformance``), passes the structural
checks below. When ``verapdf`` is on PATH it replaces the built-in PDF/A checks.

The built-in checks are a *subset* of ISO 19005 (see ``CHECKED`` / ``NOT_CHECKED``): a file
they accept may still fail veraPDF, but every failure they report is a real violation. Each
failure is a :class:`Problem` naming the ISO 19005 clause where possible (PDF/A-1 numbering
for part 1 files, PDF/A-2/3 numbering otherwise).
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import accumulate
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pikepdf
from lxml import etree  # type: ignore[import-untyped]

from ..paths import escaped, is_clean_utf8

if TYPE_CHECKING:
    from ..inventory.identify import Identifier

__all__ = ["CHECKED", "NOT_CHECKED", "Problem", "ValidationResult", "validate_file"]

PDF_PUIDS = frozenset(
    {"fmt/14", "fmt/15", "fmt/16", "fmt/17", "fmt/18", "fmt/19", "fmt/20", "fmt/276"}
    | {"fmt/1129", "fmt/95", "fmt/354", "fmt/476", "fmt/477", "fmt/478", "fmt/479"}
    | {"fmt/480", "fmt/481", "fmt/1910", "fmt/1911", "fmt/1912"}
)

CHECKED_BASE = [
    "identification (pygfried PUID equals expected_puid)",
    "file opens (PDF: pikepdf/qpdf parses it, pages readable, %%EOF present, not encrypted)",
]
CHECKED_PDFA = [
    "6.1.2 file header (%PDF-1.n + binary comment)",
    "6.1.3 trailer: /ID present, no /Encrypt, no data after %%EOF",
    "6.1.4 cross-reference table parses without reconstruction",
    "6.1.7 streams: no /F /FFilter /FDecodeParms, standard filters only, no LZW (JPX: part 1)",
    "6.1.13 implementation limits in content streams (q/Q nesting, real number range)",
    "6.1.13 names are valid UTF-8 (part 2+)",
    "6.2.3 output intent GTS_PDFA1 with ICC DestOutputProfile (header, class, colour space)",
    "6.2.11.4 fonts embedded (pages, forms, annotation appearances, Type3 resources, patterns)",
    "6.2.4/6.2.8 images: no /Alternates, /OPI, Interpolate true; no PostScript/Ref XObjects",
    "6.2.9/6.4 transparency (part 1): SMask, CA/ca, blend modes, transparency groups",
    "6.3 annotations: allowed subtypes, F flags, appearance dictionary shape",
    "6.4 forms: NeedAppearances, XFA, NeedsRendering",
    "6.6.1 actions: no JavaScript/Launch/Sound/Movie/ResetForm/ImportData/Hide/...; /AA",
    "6.6.2 XMP metadata: present, parseable, pdfaid part/conformance valid",
    "6.7.3 Info dictionary vs XMP (part 1 only)",
    "6.8 embedded files (part 1: none; part 2: PDF/A only)",
    "6.9 optional content configurations have /Name (part 1: no optional content)",
    "6.10 no AlternatePresentations; 6.11 no Requirements",
]
NOT_CHECKED = [
    "full veraPDF rule set (used instead when verapdf is on PATH)",
    "content stream operators beyond q/Q nesting and real numbers; undefined operators",
    "colour spaces used vs output intent (device colour without/with mismatching intent)",
    "font program internals: widths, CIDSet/CharSet, glyph presence, CMaps, ASGL (6.2.11.6)",
    "XMP extension schemas, xpacket header, date equivalence, property value types",
    "PDF/A level A/U: tagged structure, Unicode mappings (ToUnicode), language",
    "stream Length exactness, EOL rules around stream/endstream/obj keywords",
    "digital signatures, ICC profile body validity beyond the header",
]

# pygfried: one scanner per process, made on first use (see preserveplan.procs).


@functools.cache
def _identifier() -> Identifier:
    from ..inventory.identify import Identifier

    return Identifier()


def identify(path: Path | str | bytes) -> str | None:
    """PRONOM id of ``path`` as pygfried sees it now (None when nothing matched). A name that
    is not valid UTF-8 is identified through a link with a clean name, as in a scan."""
    try:
        [found] = _identifier().identify([os.fsencode(path)])
        return str(found["puid"]) if found["puid"] else None
    except Exception:  # pragma: no cover - pygfried errors are reported as UNKNOWN
        return None


@dataclass(frozen=True)
class Problem:
    clause: str
    message: str

    def as_json(self) -> dict[str, str]:
        return {"clause": self.clause, "message": self.message}


@dataclass(frozen=True)
class ValidationResult:
    path: Path
    puid: str | None
    profile: str | None
    valid: bool
    errors: list[Problem] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)
    not_checked: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "puid": self.puid,
            "profile": self.profile,
            "valid": self.valid,
            "errors": [p.as_json() for p in self.errors],
            "checked": list(self.checked),
            "not_checked": list(self.not_checked),
        }


def validate_file(path: Path, expected_puid: str | None = None) -> ValidationResult:
    """Validate one output file; never raises for bad input (problems go into ``errors``)."""
    path = Path(path)
    errors: list[Problem] = []
    checked = list(CHECKED_BASE)
    not_checked: list[str] = []
    profile: str | None = None
    if not path.is_file():
        errors.append(Problem("file", f"not a readable file: {path}"))
        return ValidationResult(path, None, None, False, errors, checked, not_checked)
    puid = identify(path)
    if expected_puid is not None and puid != expected_puid:
        errors.append(
            Problem(
                "identification", f"identified as {puid or 'UNKNOWN'}, expected {expected_puid}"
            )
        )
    try:
        with path.open("rb") as fh:
            head = fh.read(1024)
    except OSError as exc:
        errors.append(Problem("file", f"cannot read: {exc}"))
        return ValidationResult(path, puid, None, False, errors, checked, not_checked)
    is_pdf = b"%PDF-" in head or (puid in PDF_PUIDS)
    if not is_pdf:
        if path.stat().st_size == 0:
            errors.append(Problem("file", "file is empty"))
        return ValidationResult(path, puid, None, not errors, errors, checked, not_checked)
    try:
        profile = _validate_pdf(path, errors, checked, not_checked)
    except Exception as exc:  # never let a malformed file escape as an exception
        errors.append(Problem("file", f"PDF could not be checked: {type(exc).__name__}: {exc}"))
    return ValidationResult(path, puid, profile, not errors, errors, checked, not_checked)


# ---------------------------------------------------------------------------------------------
# PDF


def _validate_pdf(
    path: Path, errors: list[Problem], checked: list[str], not_checked: list[str]
) -> str | None:
    data = path.read_bytes()
    tail = data[-1024:]
    if b"%%EOF" not in tail:
        errors.append(Problem("file structure", "no %%EOF marker at the end: file truncated?"))
    with contextlib.ExitStack() as opened:
        try:
            pdf = opened.enter_context(open_pdf(path))
        except pikepdf.PasswordError:
            errors.append(Problem("6.1.3 encryption", "PDF is encrypted with a password"))
            return None
        except Exception as exc:
            errors.append(Problem("file structure", f"PDF cannot be opened: {exc}"))
            return None
        open_warnings = list(pdf.get_warnings())
        if pdf.is_encrypted or "/Encrypt" in pdf.trailer:
            errors.append(Problem("6.1.3 encryption", "PDF is encrypted (/Encrypt in trailer)"))
        try:
            npages = len(pdf.pages)
            if npages == 0:
                errors.append(Problem("file structure", "PDF has no pages"))
        except Exception as exc:
            errors.append(Problem("file structure", f"page tree unreadable: {exc}"))
            return None
        claim = _pdfa_claim(pdf)
        if claim is None:
            return None
        part_s, conf_s = claim
        profile = f"PDF/A-{part_s}{conf_s.lower()}"
        if shutil.which("verapdf"):
            checked.append("veraPDF (verapdf on PATH) for all PDF/A rules")
            errors.extend(run_verapdf(path))
            return profile
        checked.extend(CHECKED_PDFA)
        not_checked.extend(NOT_CHECKED)
        _Checker(pdf, data, part_s, conf_s, open_warnings, errors).run()
        return profile


@contextlib.contextmanager
def open_pdf(path: Path | str | bytes) -> Iterator[pikepdf.Pdf]:
    """``pikepdf.open`` for any file name, reading the file as written.

    pikepdf hands a file name to C++ as UTF-8, which a name that is not valid UTF-8 cannot be
    (a TypeError, not a PdfError): such a file is opened here and handed over as
    ``/proc/self/fd/N``, a clean name for the same open file. (Handing pikepdf a Python stream
    works too, but then qpdf reads through Python: 16 instead of 2.5 ms per LibreOffice PDF.)
    And qpdf's default copies inherited page attributes down the page tree on opening (12x the
    cost of the open on LibreOffice's PDFs): :func:`_inherited` reads them where they are."""
    raw = os.fsencode(path)
    if is_clean_utf8(raw):
        with pikepdf.open(os.fsdecode(raw), inherit_page_attributes=False) as pdf:
            yield pdf
        return
    fd = os.open(raw, os.O_RDONLY | os.O_CLOEXEC)
    try:
        try:
            pdf = pikepdf.open(f"/proc/self/fd/{fd}", inherit_page_attributes=False)
        except pikepdf.PasswordError:
            raise
        except pikepdf.PdfError as exc:  # named after the file, not after its descriptor
            raise pikepdf.PdfError(str(exc).replace(f"/proc/self/fd/{fd}", escaped(raw))) from None
        with pdf:
            yield pdf
    finally:
        os.close(fd)


def _pdfa_claim(pdf: pikepdf.Pdf) -> tuple[str, str] | None:
    """(part, conformance) as written in XMP, or None when the file does not claim PDF/A."""
    xmp = _xmp_root(pdf)
    if xmp is None:
        return None
    part = _xmp_value(xmp, NS_PDFAID, "part")
    if part is None:
        return None
    return part.strip(), (_xmp_value(xmp, NS_PDFAID, "conformance") or "").strip()


NS_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
NS_PDFAID = "http://www.aiim.org/pdfa/ns/id/"
NS_DC = "http://purl.org/dc/elements/1.1/"
NS_XMP = "http://ns.adobe.com/xap/1.0/"
NS_PDF = "http://ns.adobe.com/pdf/1.3/"


def _xmp_root(pdf: pikepdf.Pdf) -> Any:
    md = pdf.Root.get("/Metadata")
    if not isinstance(md, pikepdf.Stream):
        return None
    try:
        raw = md.read_bytes()
    except Exception:
        return None
    return _parse_xmp(raw)[0]


def _parse_xmp(raw: bytes) -> tuple[Any, bool]:
    """(root element or None, well-formed). Falls back to lxml's recovering parser."""
    for data, recover in ((raw, False), (raw.replace(b"\x00", b""), False), (raw, True)):
        parser = etree.XMLParser(resolve_entities=False, no_network=True, recover=recover)
        try:
            root = etree.fromstring(data.strip(b" \r\n\t"), parser)
        except Exception:
            continue
        if root is not None:
            return root, not recover
    return None, False


def _xmp_value(root: Any, ns: str, name: str) -> str | None:
    """Simple XMP property value: attribute or element form, first rdf:li for containers."""
    for desc in root.iter(f"{{{NS_RDF}}}Description"):
        attr = desc.get(f"{{{ns}}}{name}")
        if attr is not None:
            return str(attr)
        el = desc.find(f"{{{ns}}}{name}")
        if el is not None:
            li = el.find(f".//{{{NS_RDF}}}li")
            node = li if li is not None else el
            return "".join(node.itertext())
    return None


ALLOWED_CONFORMANCE = {"1": {"A", "B"}, "2": {"A", "B", "U"}, "3": {"A", "B", "U"}}
ALLOWED_CONFORMANCE["4"] = {"", "E", "F"}
STANDARD_FILTERS = {
    "/ASCIIHexDecode",
    "/ASCII85Decode",
    "/FlateDecode",
    "/RunLengthDecode",
    "/CCITTFaxDecode",
    "/JBIG2Decode",
    "/DCTDecode",
    "/JPXDecode",
    "/Crypt",
    "/LZWDecode",
}
FORBIDDEN_ACTIONS = {
    "/Launch",
    "/Sound",
    "/Movie",
    "/ResetForm",
    "/ImportData",
    "/JavaScript",
    "/Hide",
    "/SetOCGState",
    "/Rendition",
    "/Trans",
    "/GoTo3DView",
}
ALLOWED_NAMED = {"/NextPage", "/PrevPage", "/FirstPage", "/LastPage"}
ANNOTS_1 = {
    "/Text",
    "/Link",
    "/FreeText",
    "/Line",
    "/Square",
    "/Circle",
    "/Highlight",
    "/Underline",
    "/Squiggly",
    "/StrikeOut",
    "/Stamp",
    "/Ink",
    "/Popup",
    "/Widget",
    "/PrinterMark",
    "/TrapNet",
}
ANNOTS_2 = ANNOTS_1 | {
    "/Polygon",
    "/PolyLine",
    "/Caret",
    "/FileAttachment",
    "/Watermark",
    "/Redact",
}
ICC_CS_N = {b"GRAY": 1, b"RGB ": 3, b"CMYK": 4}
MAX_REAL = Decimal("3.403e38")
MIN_REAL = Decimal("1.175e-38")
MAX_REAL_1 = Decimal(32767)


class _Checker:
    def __init__(
        self,
        pdf: pikepdf.Pdf,
        data: bytes,
        part: str,
        conformance: str,
        open_warnings: list[str],
        errors: list[Problem],
    ) -> None:
        self.pdf = pdf
        self.data = data
        self.part_s = part
        self.part = int(part) if part.isdigit() else 0
        self.conformance = conformance
        self.open_warnings = open_warnings
        self.errors = errors
        self.p1 = self.part == 1
        self._seen_msgs: set[tuple[str, str]] = set()
        self.device_colour: set[str] = set()
        #: device colour only matters without a PDF/A output intent (check_output_intents)
        try:
            self.colour_matters = not self._pdfa_intents()
        except Exception:  # an unreadable catalog: collect everything, other checks report it
            self.colour_matters = True

    def err(self, clause: str, message: str) -> None:
        key = (clause, message)
        if key not in self._seen_msgs:
            self._seen_msgs.add(key)
            self.errors.append(Problem(clause, message))

    def c(self, p1: str, p2: str) -> str:
        """The clause number for this file's part (PDF/A-1 vs PDF/A-2/3 numbering)."""
        return p1 if self.p1 else p2

    def run(self) -> None:
        steps = (
            self.check_identification_schema,
            self.check_header_trailer,
            self.check_catalog,
            self.check_objects,
            self.check_pages,
            self.check_output_intents,
            self.check_info_vs_xmp,
            self.check_embedded_files,
        )
        for step in steps:
            try:
                step()
            except Exception as exc:
                self.err("file structure", f"{step.__name__} failed: {type(exc).__name__}: {exc}")

    # --- 6.6.2 / 6.7.11 XMP identification ----------------------------------------------------
    def check_identification_schema(self) -> None:
        clause = self.c("6.7.11 PDF/A identification", "6.6.4 PDF/A identification")
        md = self.pdf.Root.get("/Metadata")
        if isinstance(md, pikepdf.Stream) and "/Filter" in md.stream_dict and self.p1:
            self.err("6.7.2 XMP metadata", "metadata stream must not be filtered in PDF/A-1")
        if not self.part_s.isdigit() or self.part_s not in ALLOWED_CONFORMANCE:
            self.err(clause, f"pdfaid:part {self.part_s!r} is not an integer 1-4")
            return
        allowed = ALLOWED_CONFORMANCE[self.part_s]
        if self.conformance not in allowed:
            self.err(
                clause,
                f"pdfaid:conformance {self.conformance!r} not allowed for part {self.part_s} "
                f"(allowed: {', '.join(sorted(a for a in allowed if a)) or 'none'})",
            )

    # --- 6.1.2 / 6.1.3 header, trailer ---------------------------------------------------------
    def check_header_trailer(self) -> None:
        d = self.data
        if not re.match(rb"%PDF-(1\.[0-7]|2\.0)(\r\n|\r|\n)%[\x80-\xff]{4}", d[:64]):
            if not re.match(rb"%PDF-(1\.[0-7]|2\.0)(\r\n|\r|\n)", d[:16]):
                self.err("6.1.2 file header", f"header line is not '%PDF-1.n' + EOL: {d[:16]!r}")
            else:
                self.err("6.1.2 file header", "second line is not a comment with 4+ binary bytes")
        pos = d.rfind(b"%%EOF")
        if pos >= 0:
            rest = d[pos + 5 :]
            if rest not in (b"", b"\n", b"\r", b"\r\n"):
                self.err("6.1.3 file trailer", f"{len(rest)} bytes of data after the last %%EOF")
        if "/ID" not in self.pdf.trailer:
            self.err("6.1.3 file trailer", "trailer has no /ID")
        if "/Encrypt" in self.pdf.trailer:
            self.err("6.1.3 encryption", "trailer has /Encrypt")
        for w in self.open_warnings:
            if "reconstruct" in w or "xref" in w.lower():
                self.err("6.1.4 cross-reference table", f"qpdf: {w}")
                break

    # --- catalog-level keys ---------------------------------------------------------------------
    def check_catalog(self) -> None:
        root = self.pdf.Root
        clause_act = self.c("6.6.1 actions", "6.6.1 actions")
        names = root.get("/Names")
        if isinstance(names, pikepdf.Dictionary):
            if "/JavaScript" in names:
                self.err(clause_act, "name tree /JavaScript present")
            if "/AlternatePresentations" in names:
                self.err(
                    self.c("6.1.12 alternate presentations", "6.10 alternate presentations"),
                    "name dictionary has /AlternatePresentations",
                )
            if "/EmbeddedFiles" in names and self.p1:
                self.err("6.1.11 embedded files", "PDF/A-1 forbids /EmbeddedFiles")
        if "/AA" in root:
            self.err(self.c("6.6.2 additional actions", "6.6.2 additional actions"), "catalog /AA")
        oa = root.get("/OpenAction")
        if isinstance(oa, pikepdf.Dictionary):
            self._check_action(oa)
        if "/Requirements" in root:
            self.err(self.c("6.1.13 requirements", "6.11 requirements"), "catalog /Requirements")
        if "/NeedsRendering" in root and bool(root.NeedsRendering):
            self.err("6.4.2 XFA", "catalog /NeedsRendering is true")
        elif "/NeedsRendering" in root and not self.p1:
            self.err("6.4.2 XFA", "catalog contains /NeedsRendering")
        af = root.get("/AcroForm")
        if isinstance(af, pikepdf.Dictionary):
            if "/XFA" in af:
                self.err(self.c("6.9 interactive forms", "6.4.2 XFA"), "AcroForm has /XFA")
            if bool(af.get("/NeedAppearances", False)):
                self.err(
                    self.c("6.9 interactive forms", "6.4.1 interactive forms"),
                    "AcroForm /NeedAppearances is true",
                )
        ocp = root.get("/OCProperties")
        if ocp is not None:
            if self.p1:
                self.err("6.1.13 optional content", "PDF/A-1 forbids /OCProperties")
            elif isinstance(ocp, pikepdf.Dictionary):
                configs: list[Any] = []
                if "/D" in ocp:
                    configs.append(ocp.D)
                if isinstance(ocp.get("/Configs"), pikepdf.Array):
                    configs.extend(ocp.Configs)
                for cfg in configs:
                    if not isinstance(cfg, pikepdf.Dictionary):
                        continue
                    if "/Name" not in cfg:
                        self.err("6.9 optional content", "OC configuration dictionary has no /Name")
                    if "/AS" in cfg:
                        self.err("6.9 optional content", "OC configuration dictionary has /AS")

    def _default_colour_spaces(self) -> set[str]:
        """Families (RGB, CMYK, Gray) for which a /DefaultXXX colour space is defined."""
        found: set[str] = set()
        dicts: list[Any] = [_inherited(page.obj, "/Resources") for page in self.pdf.pages]
        dicts += [
            o.get("/Resources") for o in self.pdf.objects if isinstance(o, pikepdf.Dictionary)
        ]
        dicts += [
            o.stream_dict.get("/Resources")
            for o in self.pdf.objects
            if isinstance(o, pikepdf.Stream)
        ]
        for res in dicts:
            if not isinstance(res, pikepdf.Dictionary):
                continue
            cs = res.get("/ColorSpace")
            if isinstance(cs, pikepdf.Dictionary):
                for family in ("RGB", "CMYK", "Gray"):
                    if f"/Default{family}" in cs:
                        found.add(family)
        return found

    # --- output intents -------------------------------------------------------------------------
    def _pdfa_intents(self) -> list[pikepdf.Dictionary]:
        """The catalog's output intents with /S /GTS_PDFA1."""
        ois = self.pdf.Root.get("/OutputIntents")
        if not isinstance(ois, pikepdf.Array):
            return []
        return [
            oi
            for oi in ois
            if isinstance(oi, pikepdf.Dictionary) and oi.get("/S") == pikepdf.Name.GTS_PDFA1
        ]

    def check_output_intents(self) -> None:
        clause = self.c("6.2.2 output intent", "6.2.3 output intent")
        found = self._pdfa_intents()
        if not found:
            # Device colour is allowed without an output intent when the matching device
            # independent Default colour space (DefaultRGB/CMYK/Gray) is set in the resources
            # (ISO 19005-2 6.2.4.3). Defaults are collected from every resource dictionary of
            # the file, not per page: this can only accept more, never reject a valid file.
            defaults = self._default_colour_spaces()
            uncovered = {d for d in self.device_colour if _DEVICE_FAMILY.get(d, "") not in defaults}
            if uncovered:
                used = ", ".join(sorted(uncovered))
                self.err(
                    self.c("6.2.3.3 device colour spaces", "6.2.4.3 device colour spaces"),
                    f"no /OutputIntents entry with /S /GTS_PDFA1 but device colour is used: {used}",
                )
            return
        profiles = []
        for oi in found:
            prof = oi.get("/DestOutputProfile")
            if not isinstance(prof, pikepdf.Stream):
                self.err(clause, "GTS_PDFA1 output intent has no /DestOutputProfile ICC stream")
                continue
            profiles.append(prof)
            try:
                icc = prof.read_bytes()
            except Exception as exc:
                self.err(clause, f"DestOutputProfile cannot be decoded: {exc}")
                continue
            if len(icc) < 128 or icc[36:40] != b"acsp":
                self.err(clause, "DestOutputProfile is not an ICC profile (no 'acsp' signature)")
                continue
            cs = icc[16:20]
            dev_class = icc[12:16]
            if dev_class not in (b"prtr", b"mntr"):
                self.err(clause, f"ICC device class {dev_class!r} is not 'prtr' or 'mntr'")
            if cs not in ICC_CS_N:
                self.err(clause, f"ICC colour space {cs!r} is not Gray, RGB or CMYK")
            n = prof.stream_dict.get("/N")
            if n is not None and cs in ICC_CS_N and int(n) != ICC_CS_N[cs]:
                self.err(clause, f"ICC stream /N {int(n)} does not match colour space {cs!r}")
            if self.p1 and icc[8] >= 4:
                self.err(clause, f"ICC profile version {icc[8]} is newer than PDF/A-1 allows")
        if len({p.objgen for p in profiles}) > 1 and not self.p1:
            self.err(clause, "output intents use different DestOutputProfile streams")

    # --- all objects: streams, actions, names, images, ExtGState --------------------------------
    def _walk_direct(self, obj: Any, depth: int = 0) -> Iterator[Any]:
        """obj and its direct (non-indirect) children."""
        yield obj
        if depth > 64:
            return
        if isinstance(obj, pikepdf.Dictionary | pikepdf.Array):
            it = obj.values() if isinstance(obj, pikepdf.Dictionary) else iter(obj)
            for v in it:
                if isinstance(v, pikepdf.Dictionary | pikepdf.Array) and not v.is_indirect:
                    yield from self._walk_direct(v, depth + 1)

    def check_objects(self) -> None:
        """Streams' keys and filters, then every object's direct content: actions, ExtGState,
        annotations, pages, form fields (``_check_dict``), name validity and device colour
        spaces (``_check_names_utf8``). An object whose serialisation holds none of the keys,
        names or bytes those checks act on (``_OBJECT_TRIGGERS``, e.g. the thousands of
        structure elements of a tagged PDF) is not walked item by item: one C++ call instead of
        one Python call per entry, and the same verdicts."""
        for top in self.pdf.objects:
            head: Any
            if isinstance(top, pikepdf.Stream):
                self._check_stream(top)
                head = top.stream_dict
            elif isinstance(top, pikepdf.Dictionary | pikepdf.Array):
                head = top
            else:
                continue
            try:
                raw = head.unparse(resolved=True)
            except Exception:  # let the item-by-item walk look at it
                raw = None
            if raw is not None and not _OBJECT_TRIGGERS.search(raw):
                continue
            for obj in self._walk_direct(head):
                if isinstance(obj, pikepdf.Dictionary) and head is top:
                    self._check_dict(obj)
                if isinstance(obj, pikepdf.Dictionary | pikepdf.Array):
                    self._check_names_utf8(obj)

    def _check_names_utf8(self, obj: Any) -> None:
        clause = "6.1.13 implementation limits (names)"
        check_utf8 = not self.p1
        if isinstance(obj, pikepdf.Dictionary):
            items: list[Any] = list(obj.keys()) + [v for v in obj.values()]
        else:
            items = list(obj)
        for it in items:
            if isinstance(it, str):
                name = it
            elif isinstance(it, pikepdf.Name):
                name = _nstr(it)
                if name in DEVICE_CS:
                    self.device_colour.add(name)
            else:
                continue
            if check_utf8 and not _utf8_ok(name):
                self.err(clause, f"name {name.encode('utf-8', 'backslashreplace')!r} not UTF-8")

    def _check_stream(self, s: pikepdf.Stream) -> None:
        d = s.stream_dict
        for key in ("/F", "/FFilter", "/FDecodeParms"):
            if key in d:
                self.err(self.c("6.1.7 stream keys", "6.1.7.1 stream keys"), f"stream has {key}")
        filters = d.get("/Filter")
        flist = list(filters) if isinstance(filters, pikepdf.Array) else [filters]
        for f in flist:
            if f is None:
                continue
            fn = _nstr(f)
            if fn not in STANDARD_FILTERS:
                self.err(self.c("6.1.10 filters", "6.1.7.2 filters"), f"non-standard filter {fn}")
            elif fn == "/LZWDecode":
                self.err(self.c("6.1.10 filters", "6.1.7.2 filters"), "LZWDecode filter used")
            elif fn == "/JPXDecode" and self.p1:
                self.err("6.1.10 filters", "JPXDecode is not allowed in PDF/A-1")
        if d.get("/Type") == pikepdf.Name.EmbeddedFile and self.p1:
            self.err("6.1.11 embedded files", "PDF/A-1 forbids embedded file streams")
        sub = d.get("/Subtype")
        if d.get("/Type") in (None, pikepdf.Name.XObject) and sub is not None:
            if sub == pikepdf.Name.PS:
                self.err(self.c("6.2.7 PostScript", "6.2.9 PostScript"), "PostScript XObject")
            if sub == pikepdf.Name.Form and "/Ref" in d:
                self.err(self.c("6.2.6 reference XObjects", "6.2.9 reference XObjects"), "Ref")
            if sub == pikepdf.Name.Form and "/Subtype2" in d and d.Subtype2 == pikepdf.Name.PS:
                self.err(self.c("6.2.7 PostScript", "6.2.9 PostScript"), "form /Subtype2 /PS")
            if sub == pikepdf.Name.Form and "/OPI" in d:
                self.err(self.c("6.2.6 OPI", "6.2.9 OPI"), "form XObject has /OPI")
            if sub == pikepdf.Name.Image:
                clause = self.c("6.2.4 images", "6.2.8 images")
                if "/Alternates" in d:
                    self.err(clause, "image has /Alternates")
                if "/OPI" in d:
                    self.err(clause, "image has /OPI")
                if bool(d.get("/Interpolate", False)):
                    self.err(clause, "image has /Interpolate true")
                if self.p1 and "/SMask" in d:
                    self.err("6.4 transparency", "image has /SMask (PDF/A-1)")
            if self.p1 and "/Group" in d:
                g = d.Group
                if isinstance(g, pikepdf.Dictionary) and g.get("/S") == pikepdf.Name.Transparency:
                    self.err("6.4 transparency", "transparency group on XObject (PDF/A-1)")

    def _check_action(self, a: pikepdf.Dictionary) -> None:
        s = a.get("/S")
        if s is None:
            return
        sname = _nstr(s)
        if sname in FORBIDDEN_ACTIONS:
            self.err("6.6.1 actions", f"forbidden action {sname}")
        elif sname == "/Named":
            n = _nstr(a.get("/N", ""))
            if n not in ALLOWED_NAMED:
                self.err("6.6.1 actions", f"named action {n} not allowed")
        if "/JS" in a:
            self.err("6.6.1 actions", "action with /JS (JavaScript)")

    def _check_dict(self, d: pikepdf.Dictionary) -> None:
        typ = d.get("/Type")
        typed_action = "/S" in d and (typ == pikepdf.Name.Action or "/JS" in d or "/Next" in d)
        # untyped action dictionaries (the usual case), e.g. /A << /S /Launch ... >>
        untyped_bad = (
            typ is None
            and isinstance(d.get("/S"), pikepdf.Name)
            and _nstr(d.S) in FORBIDDEN_ACTIONS
        )
        if typed_action or untyped_bad:
            self._check_action(d)
        if typ == pikepdf.Name.ExtGState or (
            typ is None and ("/SMask" in d and ("/CA" in d or "/ca" in d or "/BM" in d))
        ):
            self._check_extgstate(d)
        if typ == pikepdf.Name.Annot or (typ is None and "/Subtype" in d and "/Rect" in d):
            self._check_annot(d)
        if typ == pikepdf.Name.Page and "/AA" in d:
            self.err("6.6.2 additional actions", "page dictionary has /AA")
        if typ == pikepdf.Name.Page and self.p1 and "/Group" in d:
            g = d.Group
            if isinstance(g, pikepdf.Dictionary) and g.get("/S") == pikepdf.Name.Transparency:
                self.err("6.4 transparency", "page has a transparency group (PDF/A-1)")
        if "/FT" in d and "/AA" in d and typ != pikepdf.Name.Annot:
            self.err(self.c("6.6.2 additional actions", "6.4.1 interactive forms"), "field /AA")

    def _check_extgstate(self, d: pikepdf.Dictionary) -> None:
        if "/TR" in d:
            self.err(self.c("6.2.8 ExtGState", "6.2.5 ExtGState"), "ExtGState has /TR")
        if "/TR2" in d and pikepdf.Name.Default != d.TR2:
            self.err(self.c("6.2.8 ExtGState", "6.2.5 ExtGState"), "ExtGState /TR2 not Default")
        if "/HTP" in d and not self.p1:
            self.err("6.2.5 ExtGState", "ExtGState has /HTP")
        if not self.p1:
            return
        if "/SMask" in d and d.SMask != pikepdf.Name("/None"):
            self.err("6.4 transparency", "ExtGState /SMask (PDF/A-1)")
        for k in ("/CA", "/ca"):
            if k in d and float(d[k]) != 1.0:
                self.err("6.4 transparency", f"ExtGState {k} {float(d[k])} (PDF/A-1)")
        bm = d.get("/BM")
        if bm is not None:
            bms = list(bm) if isinstance(bm, pikepdf.Array) else [bm]
            if any(_nstr(b) not in ("/Normal", "/Compatible") for b in bms):
                self.err("6.4 transparency", f"ExtGState blend mode {bm} (PDF/A-1)")

    def _check_annot(self, a: pikepdf.Dictionary) -> None:
        clause = self.c("6.5.3 annotations", "6.3.2 annotations")
        sub = _nstr(a.get("/Subtype", ""))
        allowed = ANNOTS_1 if self.p1 else ANNOTS_2
        if sub not in allowed:
            if sub == "/FileAttachment" and self.p1:
                self.err(self.c("6.5.2 annotations", "6.3.1 annotations"), "FileAttachment")
            else:
                self.err(
                    self.c("6.5.2 annotations", "6.3.1 annotations"),
                    f"annotation type {sub} not allowed",
                )
        if "/AA" in a:
            self.err("6.6.2 additional actions", f"annotation {sub} has /AA")
        act = a.get("/A")
        if isinstance(act, pikepdf.Dictionary):
            self._check_action(act)
        if self.p1 and "/CA" in a and float(a.CA) != 1.0:
            self.err("6.5.3 annotations", "annotation /CA is not 1.0 (PDF/A-1)")
        flags = int(a.get("/F", 0)) if isinstance(a.get("/F", 0), int) else 0
        if "/F" not in a:
            if self.p1 or sub != "/Popup":
                self.err(clause, f"annotation {sub} has no /F flags")
        else:
            if not flags & 4 and (self.p1 or sub != "/Popup"):
                self.err(clause, f"annotation {sub} has no Print flag")
            for bit, nm in ((1, "Invisible"), (2, "Hidden"), (32, "NoView"), (256, "ToggleNoView")):
                if flags & bit:
                    self.err(clause, f"annotation {sub} has {nm} flag set")
        if self.p1:
            return
        ap = a.get("/AP")
        ap_clause = "6.3.3 annotation appearances"
        if isinstance(ap, pikepdf.Dictionary):
            extra = [k for k in ap.keys() if k != "/N"]  # noqa: SIM118
            if extra:
                self.err(ap_clause, f"appearance dictionary of {sub} has {', '.join(extra)}")
            if sub == "/Widget" and _field_type(a) == "/Btn":
                if not isinstance(ap.get("/N"), pikepdf.Dictionary) or isinstance(
                    ap.get("/N"), pikepdf.Stream
                ):
                    self.err(ap_clause, "button widget /AP /N is not a dictionary of states")
            elif "/N" in ap and not isinstance(ap.N, pikepdf.Stream):
                self.err(ap_clause, f"{sub} /AP /N is not a stream")
        elif ap is None and sub not in ("/Popup", "/Link"):
            rect = a.get("/Rect")
            if isinstance(rect, pikepdf.Array) and len(rect) == 4:
                r = [float(x) for x in rect]
                if r[2] != r[0] and r[3] != r[1]:
                    self.err(ap_clause, f"annotation {sub} has no appearance dictionary")

    # --- per-page walk: fonts, content streams ---------------------------------------------------
    def check_pages(self) -> None:
        self._visited: set[tuple[int, int]] = set()
        self._content_seen: set[tuple[int, int]] = set()
        for page in self.pdf.pages:
            self._walk_resources(_inherited(page.obj, "/Resources"))
            self._check_content(page)
            for annot in page.obj.get("/Annots", pikepdf.Array()):
                if not isinstance(annot, pikepdf.Dictionary):
                    continue
                ap = annot.get("/AP")
                if isinstance(ap, pikepdf.Dictionary):
                    for v in ap.values():
                        for st in (
                            [v]
                            if isinstance(v, pikepdf.Stream)
                            else list(v.values())
                            if isinstance(v, pikepdf.Dictionary)
                            else []
                        ):
                            if isinstance(st, pikepdf.Stream):
                                self._walk_form(st)

    def _seen(self, obj: Any) -> bool:
        if not obj.is_indirect:
            return False
        og = obj.objgen
        if og in self._visited:
            return True
        self._visited.add(og)
        return False

    def _walk_form(self, form: pikepdf.Stream) -> None:
        if self._seen(form):
            return
        self._walk_resources(form.get("/Resources"))
        self._check_content(form)

    def _walk_resources(self, res: Any) -> None:
        if not isinstance(res, pikepdf.Dictionary) or self._seen(res):
            return
        fonts = res.get("/Font")
        if isinstance(fonts, pikepdf.Dictionary):
            for name, font in fonts.items():
                if isinstance(font, pikepdf.Dictionary):
                    self._check_font(name, font)
        for group in ("/XObject", "/Pattern"):
            xobjs = res.get(group)
            if isinstance(xobjs, pikepdf.Dictionary):
                for xo in xobjs.values():
                    if isinstance(xo, pikepdf.Stream) and (
                        xo.get("/Subtype") == pikepdf.Name.Form or group == "/Pattern"
                    ):
                        self._walk_form(xo)
        gs = res.get("/ExtGState")
        if isinstance(gs, pikepdf.Dictionary):
            for g in gs.values():
                if isinstance(g, pikepdf.Dictionary):
                    sm = g.get("/SMask")
                    sm_group = sm.get("/G") if isinstance(sm, pikepdf.Dictionary) else None
                    if isinstance(sm_group, pikepdf.Stream):
                        self._walk_form(sm_group)

    def _check_font(self, name: str, font: pikepdf.Dictionary) -> None:
        if self._seen(font):
            return
        clause = self.c("6.3.4 embedded fonts", "6.2.11.4 embedded fonts")
        sub = font.get("/Subtype")
        base = _nstr(font.get("/BaseFont", name))
        if sub == pikepdf.Name.Type3:
            self._walk_resources(font.get("/Resources"))
            procs = font.get("/CharProcs")
            if isinstance(procs, pikepdf.Dictionary):
                for p in procs.values():
                    if isinstance(p, pikepdf.Stream) and not self._seen(p):
                        self._check_content(p)
            return
        targets: list[Any] = [font]
        if sub == pikepdf.Name.Type0:
            desc = font.get("/DescendantFonts")
            targets = list(desc) if isinstance(desc, pikepdf.Array) else []
            if not targets:
                self.err(clause, f"Type0 font {base} has no descendant font")
        for f in targets:
            if not isinstance(f, pikepdf.Dictionary):
                continue
            fd = f.get("/FontDescriptor")
            if not isinstance(fd, pikepdf.Dictionary):
                self.err(clause, f"font {base} is not embedded (no font descriptor)")
                continue
            if not any(k in fd for k in ("/FontFile", "/FontFile2", "/FontFile3")):
                self.err(clause, f"font {base} is not embedded")

    def _check_content(self, obj: Any) -> None:
        """6.1.13 limits in a page or form content stream: q/Q depth, reals, names.

        Building a Python object for every operand costs ~10 ms on an ordinary page, so the
        raw bytes are looked at first: when no token could break a number or name limit (no
        run of 5+ digits, no long run of zeros, no name with ``#`` escapes or 8-bit bytes), only
        the operators that matter here are parsed (q/Q depth, device colour operators and
        ``cs``/``CS`` operands). The pre-check is conservative: anything it cannot rule out,
        including bytes inside strings and inline images, sends the stream to the full parse.
        """
        clause = self.c("6.1.12 implementation limits", "6.1.13 implementation limits")
        data = _content_bytes(obj)
        need_check = _operands_need_check(data)
        if not need_check and data is not None:
            simple = _simple_content(data, colour=self.colour_matters)
            if simple is not None:
                if simple[0] > 28:
                    self.err(clause, "more than 28 nested q/Q (graphics state) levels")
                self.device_colour |= simple[1]
                return
        operators = "" if need_check else _FAST_OPERATORS
        try:
            ops = pikepdf.parse_content_stream(obj, operators)
        except Exception as exc:
            self.err("6.2.2 content streams", f"content stream cannot be parsed: {exc}")
            return
        depth = 0
        if operators:  # the bytes showed no number or name that can break a limit
            for inst in ops:  # (.operator alone: unpacking every instruction costs 8x more)
                bop = bytes(inst.operator)
                if bop == b"q":
                    depth += 1
                    if depth > 28:
                        self.err(clause, "more than 28 nested q/Q (graphics state) levels")
                elif bop == b"Q":
                    depth -= 1
                elif bop in _DEVICE_OPS_B:
                    self.device_colour.add(f"{bop.decode()} operator")
                else:  # cs / CS
                    for o in inst.operands:
                        if isinstance(o, pikepdf.Name) and _nstr(o) in DEVICE_CS:
                            self.device_colour.add(_nstr(o))
            return
        max_real = MAX_REAL_1 if self.p1 else MAX_REAL
        for inst in ops:
            operands, op = inst[0], inst[1]
            sop = _nstr(op)
            if sop in DEVICE_OPS:
                self.device_colour.add(f"{sop} operator")
            if sop == "q":
                depth += 1
                if depth > 28:
                    self.err(clause, "more than 28 nested q/Q (graphics state) levels")
            elif sop == "Q":
                depth -= 1
            for o in _flatten(operands):
                if isinstance(o, Decimal):
                    if abs(o) > max_real:
                        self.err(clause, f"real number {o} exceeds the limit {max_real}")
                    elif not self.p1 and o != 0 and abs(o) < MIN_REAL:
                        self.err(clause, f"non-zero real number {o} is below {MIN_REAL}")
                elif isinstance(o, int) and not isinstance(o, bool) and abs(o) > 2**31 - 1:
                    self.err(clause, f"integer {o} exceeds 2^31-1")
                elif isinstance(o, pikepdf.Name):
                    oname = _nstr(o)
                    if oname in DEVICE_CS and sop in ("cs", "CS"):
                        self.device_colour.add(oname)
                    if not self.p1 and not _utf8_ok(oname):
                        self.err(clause + " (names)", "name in content stream is not UTF-8")

    # --- 6.7.3 Info vs XMP ------------------------------------------------------------------------
    def check_info_vs_xmp(self) -> None:
        clause = self.c("6.7.2 XMP metadata", "6.6.2.1 XMP metadata")
        md = self.pdf.Root.get("/Metadata")
        if not isinstance(md, pikepdf.Stream):
            self.err(clause, "catalog has no /Metadata stream")
            return
        xmp, well_formed = _parse_xmp(md.read_bytes())
        if xmp is None or not well_formed:
            self.err(clause, "XMP metadata is not well-formed XML")
        if xmp is None:
            return
        if not self.p1:
            return
        info = self.pdf.trailer.get("/Info")
        if not isinstance(info, pikepdf.Dictionary):
            return
        pairs = {
            "/Title": (NS_DC, "title"),
            "/Author": (NS_DC, "creator"),
            "/Subject": (NS_DC, "description"),
            "/Keywords": (NS_PDF, "Keywords"),
            "/Creator": (NS_XMP, "CreatorTool"),
            "/Producer": (NS_PDF, "Producer"),
        }
        for key, (ns, prop) in pairs.items():
            if key not in info:
                continue
            try:
                iv = str(info[key])
            except Exception:
                continue
            if not iv:
                continue
            xv = _xmp_value(xmp, ns, prop)
            if xv is None:
                self.err("6.7.3 document information", f"Info {key} has no XMP equivalent")
            elif xv.strip() != iv.strip():
                self.err(
                    "6.7.3 document information",
                    f"Info {key} {iv!r} differs from XMP {prop} {xv!r}",
                )

    # --- 6.8 embedded files ---------------------------------------------------------------------
    def check_embedded_files(self) -> None:
        if self.p1 or self.part >= 3:
            return
        for name, spec in self.pdf.attachments.items():
            try:
                raw = spec.get_file().read_bytes()
            except Exception as exc:
                self.err("6.8 embedded files", f"embedded file {name!r} unreadable: {exc}")
                continue
            ok = False
            if raw.startswith(b"%PDF-"):
                try:
                    with pikepdf.open(__import__("io").BytesIO(raw)) as inner:
                        claim = _pdfa_claim(inner)
                        ok = claim is not None and claim[0] in ("1", "2")
                except Exception:
                    ok = False
            if not ok:
                self.err("6.8 embedded files", f"embedded file {name!r} is not PDF/A-1 or PDF/A-2")


#: operators whose operands the fast path of _check_content still looks at
_FAST_OPERATORS = "q Q rg RG k K g G cs CS"
#: a token that may break a 6.1.13 number or name limit (looked for in the raw, decoded stream
#: bytes): an integer part of 5+ digits right after a delimiter (> 32767 in PDF/A-1, > 2^31-1), 20+
#: zeros after a point (< 1.175e-38), a name with an 8-bit #xx escape or byte (UTF-8 check).
#: Numbers are looked for in a translated copy (_NUMBER_CLASSES: digit → "d"; white space, a
#: delimiter that can end the token before a number, or a sign → " "; anything else → "x"), by
#: one memory search for " ddddd" (a regular expression had to stop at every space: 3x slower).
#: A sign counts as a space so that one search also finds "-12345"; what that adds ("a+12345",
#: not a number) only sends the stream to the full parse. Digits of hex strings (glyph ids in TJ
#: arrays) follow "<" or other hex digits, and fraction digits follow ".", so they do not count.
_BEFORE_NUMBER = b"\x00\t\n\x0c\r []()/{}%>+-"
_NUMBER_CLASSES = bytes(
    ord("d") if c in b"0123456789" else ord(" ") if c in _BEFORE_NUMBER else ord("x")
    for c in range(256)
)
_SUSPECT_NAME = re.compile(rb"/[^\s/\[\]()<>{}%]*(?:#[89a-fA-F]|[\x80-\xff])")
_SUSPECT_START = re.compile(rb"[+-]?\d{5}")  # a big number at the very start of the stream
_HIGH_ESCAPE = re.compile(rb"#[89a-fA-F]")  # what _SUSPECT_NAME needs in ASCII content
_REGULAR_END = rb"(?![^\x00\t\n\x0c\r /\[\]()<>{}%])"  # end of a name
#: what makes check_objects walk an object: a key or value _check_dict acts on, a device colour
#: space name, a name that may not be UTF-8 (a #xx escape of 0x80-0xFF or an 8-bit byte)
_OBJECT_TRIGGERS = re.compile(
    rb"/(?:JS|Next|SMask|Rect|AA|FT)"
    + _REGULAR_END
    + rb"|/Type\s*/(?:Action|ExtGState|Annot|Page)"
    + _REGULAR_END
    + rb"|/S\s*/(?:"
    + b"|".join(re.escape(a[1:].encode()) for a in sorted(FORBIDDEN_ACTIONS))
    + rb")"
    + _REGULAR_END
    + rb"|/Device(?:RGB|CMYK|Gray)"
    + _REGULAR_END
    + rb"|/[^\x00\t\n\x0c\r /\[\]()<>{}%]*(?:#[89a-fA-F]|[\x80-\xff])"
)


def _content_bytes(obj: Any) -> bytes | None:
    """The decoded content of a page (its streams joined by a newline, as PDF reads them) or
    of a form / pattern stream; None when a part is not a stream or cannot be decoded (the
    full parse then reports it)."""
    try:
        contents = obj.obj.get("/Contents") if isinstance(obj, pikepdf.Page) else obj
        if contents is None:
            return b""
        streams = list(contents) if isinstance(contents, pikepdf.Array) else [contents]
        if not all(isinstance(st, pikepdf.Stream) for st in streams):
            return None
        return b"\n".join(st.read_bytes() for st in streams)
    except Exception:
        return None


def _operands_need_check(data: bytes | None) -> bool:
    """True unless the content's bytes show that no operand can break a 6.1.13 limit."""
    if data is None or b".00000000000000000000" in data:
        return True
    if (not data.isascii() or _HIGH_ESCAPE.search(data)) and _SUSPECT_NAME.search(data):
        return True
    return b" ddddd" in data.translate(_NUMBER_CLASSES) or bool(_SUSPECT_START.match(data))


#: hex digits and white space: deleted, they leave a well-formed hex string as "<>"
_HEX_AND_SPACE = b"0123456789ABCDEFabcdef\x00\t\n\x0c\r "
_DELIMITER = rb"\x00\t\n\x0c\r \[\]<>{}()%"  # white space or a delimiter other than "/"
#: the fast path's operators but cs / CS (whose operands are read apart), and inline images
_TRACKED = (*(op for op in _FAST_OPERATORS.split() if op not in ("cs", "CS")), "BI", "ID", "EI")
#: the operators the simple path acts on, as tokens. Each alternative starts with its first
#: letter and only then looks behind it for white space or a delimiter: the engine can skip to
#: those letters, 3x faster than one look-behind in front of the whole group.
_TRACKED_OPERATOR = re.compile(
    rb"(?:"
    + b"|".join(
        re.escape(op[0].encode())
        + rb"(?<=["
        + _DELIMITER
        + rb"]"
        + re.escape(op[0].encode())
        + rb")"
        + re.escape(op[1:].encode())
        for op in _TRACKED
    )
    + rb")(?![^"
    + _DELIMITER
    + rb"/])"
)
_TRACKED_AT_START = re.compile(
    rb"(?:" + b"|".join(op.encode() for op in _TRACKED) + rb")(?![^" + _DELIMITER + rb"/])"
)
_INLINE_IMAGE_OPS = frozenset({b"BI", b"ID", b"EI"})
_NESTING = {op.encode(): 1 if op == "q" else -1 if op == "Q" else 0 for op in _TRACKED}
#: hex strings and dictionary brackets, read past when a cs / CS operand is looked for
_HEX_STRING = re.compile(rb"<[0-9A-Fa-f\x00\t\n\x0c\r ]*>")
#: a name operand directly before cs / CS
_CS_OPERAND = re.compile(
    rb"/([^\x00\t\n\x0c\r /\[\]<>{}()%]*)[\x00\t\n\x0c\r ]*(?:cs|CS)"
    rb"(?![^\x00\t\n\x0c\r /\[\]<>{}()%])"
)
_NAME_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")


def _simple_content(data: bytes, colour: bool = True) -> tuple[int, set[str]] | None:
    """Deepest q nesting and device colour use of a content stream that needs no parser.

    "Simple" content has no literal strings, comments, inline images or braces, and its hex
    strings, dictionary brackets and arrays are well formed (LibreOffice's pages, for example):
    then the operators looked for are plain tokens, found by a regular expression without a
    Python object per instruction (about 30x faster than ``pikepdf.parse_content_stream``); hex
    strings hold only hex digits, so none of those operators can hide in one. None for anything
    else: the caller parses it with pikepdf.

    ``colour=False`` (the file has a PDF/A output intent, so device colour is allowed) skips
    looking for colour operators (the set returned is empty); the q nesting then comes from the
    q and Q bytes alone when each is a token of its own (:func:`_q_depth`): on LibreOffice's
    pages this function then takes 2.5 instead of 4.2 ms per document."""
    if b"(" in data or b")" in data or b"%" in data or b"{" in data or b"}" in data:
        return None
    if b"<" in data or b">" in data:
        # With hex digits and white space deleted, each well-formed hex string is "<>"; what is
        # left of "<" and ">" must then be dictionary brackets, "<<" and ">>".
        rest = data.translate(None, _HEX_AND_SPACE).replace(b"<>", b"")
        lt, gt = rest.count(b"<"), rest.count(b">")
        if lt != 2 * rest.count(b"<<") or gt != 2 * rest.count(b">>"):
            return None
    if data.count(b"[") != data.count(b"]"):
        return None
    if not colour:
        deepest = _q_depth(data)
        if deepest is not None:
            return deepest, set()
    start = _TRACKED_AT_START.match(data)
    ops = _TRACKED_OPERATOR.findall(data)
    if start:
        ops.insert(0, start.group())
    kinds = set(ops)
    if not kinds.isdisjoint(_INLINE_IMAGE_OPS):  # inline image data are not tokens
        return None
    devices = {f"{op.decode()} operator" for op in kinds & _DEVICE_OPS_B}
    # deepest q nesting: the highest running sum of q (+1) and Q (-1), in C loops
    deepest = max(0, max(accumulate(map(_NESTING.__getitem__, ops)), default=0))
    if not colour:
        return deepest, set()
    if b"cs" in data or b"CS" in data:
        bare = _HEX_STRING.sub(b" ", data).replace(b"<<", b" ").replace(b">>", b" ")
        for raw in _CS_OPERAND.findall(bare):
            escaped = _NAME_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), raw)
            name = "/" + escaped.decode("latin-1")
            if name in DEVICE_CS:
                devices.add(name)
    return deepest, devices


#: a q or Q byte that is part of a longer token: a regular character (or the "/" of a name)
#: before it, or a regular character after it. Each pattern starts with its letter, which the
#: engine finds without trying a match at every byte.
_GLUED_Q = [
    re.compile(
        letter + rb"(?:(?<=[^" + _DELIMITER + rb"]" + letter + rb")|(?=[^" + _DELIMITER + rb"/]))"
    )
    for letter in (b"q", b"Q")
]
#: the inline-image operators as tokens (after "ID" the parser reads image data, not tokens)
_INLINE_IMAGE_TOKENS = [
    re.compile(op + rb"(?<![^" + _DELIMITER + rb"]" + op + rb")(?![^" + _DELIMITER + rb"/])")
    for op in (b"BI", b"ID", b"EI")
]
_NOT_Q = bytes(range(256)).translate(None, b"qQ")
_Q_STEP = {ord("q"): 1, ord("Q"): -1}


def _q_depth(data: bytes) -> int | None:
    """Deepest q nesting of simple content (see :func:`_simple_content`) when every q and Q
    byte in it is an operator: none is glued to another character (a name such as ``/Sq``, an
    unknown operator) and there is no inline image (whose data are not tokens). Only the
    operators q and Q contain those letters, so the bytes are then the operators, in order.
    None when that cannot be ruled out."""
    if any(op.search(data) for op in _INLINE_IMAGE_TOKENS):
        return None
    if any(glued.search(data) for glued in _GLUED_Q):
        return None
    steps = map(_Q_STEP.__getitem__, data.translate(None, _NOT_Q))
    return max(0, max(accumulate(steps), default=0))


def _flatten(operands: Any) -> Iterator[Any]:
    for o in operands:
        if isinstance(o, pikepdf.Array):
            yield from _flatten(o)
        elif isinstance(o, pikepdf.Object):
            # pikepdf returns scalar objects as Python values; containers remain Objects
            if isinstance(o, pikepdf.Name):
                yield o
        else:
            yield o


def _inherited(page: Any, key: str) -> Any:
    """An inheritable page attribute (``/Resources``, ``/MediaBox``...): the page's own, or that
    of the nearest ancestor in the page tree that has one (ISO 32000-1 7.7.3.4)."""
    node = page
    for _ in range(64):  # a page tree loop ends here, not in a hang
        if not isinstance(node, pikepdf.Dictionary):
            return None
        if key in node:
            return node.get(key)
        node = node.get("/Parent")
    return None


def _field_type(annot: pikepdf.Dictionary) -> str | None:
    node: Any = annot
    for _ in range(32):
        if not isinstance(node, pikepdf.Dictionary):
            return None
        if "/FT" in node:
            return _nstr(node.FT)
        node = node.get("/Parent")
    return None


DEVICE_CS = {"/DeviceRGB", "/DeviceCMYK", "/DeviceGray"}
DEVICE_OPS = {"rg", "RG", "k", "K", "g", "G"}
_DEVICE_OPS_B = {op.encode() for op in DEVICE_OPS}
_DEVICE_FAMILY = {
    "/DeviceRGB": "RGB",
    "rg operator": "RGB",
    "RG operator": "RGB",
    "/DeviceCMYK": "CMYK",
    "k operator": "CMYK",
    "K operator": "CMYK",
    "/DeviceGray": "Gray",
    "g operator": "Gray",
    "G operator": "Gray",
}


def _nstr(obj: Any) -> str:
    """A name (or anything) as str; invalid UTF-8 bytes become surrogate escapes."""
    try:
        return str(obj)
    except UnicodeDecodeError:
        raw = bytes(obj.unparse())
        raw = re.sub(rb"#([0-9a-fA-F]{2})", lambda m: bytes([int(m.group(1), 16)]), raw)
        return raw.decode("utf-8", "surrogateescape")


def _utf8_ok(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


# ---------------------------------------------------------------------------------------------
# veraPDF


def run_verapdf(path: Path, timeout: float = 300) -> list[Problem]:
    """Run ``verapdf`` (auto-detected flavour) and turn failed rules into Problems."""
    exe = shutil.which("verapdf")
    if exe is None:
        return [Problem("verapdf", "verapdf not on PATH")]
    try:
        proc = subprocess.run(
            [exe, "--format", "xml", str(path)],
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return [Problem("verapdf", f"verapdf failed to run: {exc}")]
    return parse_verapdf_report(proc.stdout)


def parse_verapdf_report(xml: bytes) -> list[Problem]:
    """Problems from a veraPDF XML report (``--format xml``); empty when compliant."""
    try:
        root = etree.fromstring(xml, etree.XMLParser(resolve_entities=False, no_network=True))
    except Exception as exc:
        return [Problem("verapdf", f"veraPDF report not parseable: {exc}")]
    reports = [el for el in root.iter() if etree.QName(el).localname == "validationReport"]
    if not reports:
        return [Problem("verapdf", "veraPDF report has no validationReport (not a PDF?)")]
    problems: list[Problem] = []
    for rep in reports:
        if rep.get("isCompliant") == "true":
            continue
        for rule in rep.iter():
            if etree.QName(rule).localname != "rule" or rule.get("status") != "failed":
                continue
            desc = next(
                ((c.text or "").strip() for c in rule if etree.QName(c).localname == "description"),
                "",
            )
            clause = f"{rule.get('clause', '?')}-{rule.get('testNumber', '?')}"
            problems.append(
                Problem(clause, f"{desc} ({rule.get('failedChecks', '?')} failed checks)")
            )
        if not problems:
            problems.append(Problem("verapdf", "veraPDF: not compliant"))
    return problems


CHECKED = CHECKED_BASE + CHECKED_PDFA
