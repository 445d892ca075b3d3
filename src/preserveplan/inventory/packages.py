"""Information packages (E-ARK CSIP, FGS CSPackage): find them, read their METS, check fixity.

A package is a folder with ``METS.xml`` at its root. A ``METS.xml`` that the enclosing
package's METS point at (``mets:mptr``: an E-ARK representation METS) belongs to that package;
any other nested one (a SIP kept inside an AIP) starts a package of its own. Its METS is read
with a streaming, safe parser (no DTD, no entity, no network): ``mets:file`` (with its
``mets:FLocat``) and ``mets:mdRef`` entries give a path, a checksum and a size; ``mets:mptr``
points at further METS documents (E-ARK representation METS), which are read the same way.
What the METS list goes into the catalog (``package_files``) as it is read, so a METS of
100 000 files never sits in memory.

Each file of the package is then checked against its listed checksum (SHA-256 is computed for
every file; other algorithms in the same read, see :mod:`.fixity`) and size:

``ok`` / ``mismatch`` / ``unverified`` (listed but could not be checked: unreadable, no or an
unsupported checksum, METS unreadable) / ``not_listed`` (on disk, listed by no METS) /
``mets`` (a METS document of the package) / ``mets_error`` (a METS document that cannot be read).
Listed entries that are not on disk end as ``missing`` rows of ``package_files``.
"""

from __future__ import annotations

import os
import posixpath
import re
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import IO, Any, Protocol
from urllib.parse import unquote_to_bytes

from lxml import etree  # type: ignore[import-untyped]

from .. import paths as P
from ..catalog import Catalog
from .fixity import ALGORITHMS, open_readonly

METS_NAME = b"METS.xml"
METS_NS = "http://www.loc.gov/METS/"
XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
LISTING_BATCH = 2000
MAX_METS_DOCS = 10_000  # per package: representation METS pointing at each other stop here
MAX_WARNINGS = 50
READABLE = ("ok", "empty", "identify_error", "encrypted")

# METS CHECKSUMTYPE spellings met in practice -> the METS vocabulary's name.
_TYPE_ALIASES = {
    "MD5": "MD5",
    "SHA1": "SHA-1",
    "SHA-1": "SHA-1",
    "SHA256": "SHA-256",
    "SHA-256": "SHA-256",
    "SHA384": "SHA-384",
    "SHA-384": "SHA-384",
    "SHA512": "SHA-512",
    "SHA-512": "SHA-512",
    "CRC32": "CRC32",
    "CRC-32": "CRC32",
    "ADLER32": "Adler-32",
    "ADLER-32": "Adler-32",
}
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+:")


class MetsError(Exception):
    """A METS document that cannot be used (unreadable, not well-formed, unsafe, not METS)."""


@dataclass(slots=True)
class Listed:
    """One entry of a METS: an archive-relative path with what the METS says about it."""

    path: bytes
    source: str  # file | mdRef
    checksum_type: str | None
    checksum: str | None
    size: int | None


@dataclass
class MetsResult:
    header: dict[str, str | None]
    pointers: list[bytes]  # archive-relative targets of mets:mptr
    entries: int
    warnings: list[str]


class Sink(Protocol):
    """Where listed entries go while a METS is read (the catalog, in a scan)."""

    def add(self, mets: bytes, entries: list[Listed]) -> None: ...
    def discard(self, mets: bytes) -> None: ...
    def missing(self, mets: bytes, target: bytes, message: str) -> None: ...


def checksum_type(value: str | None) -> str | None:
    """The METS vocabulary name of a CHECKSUMTYPE (unknown names are kept as given)."""
    if value is None or not value.strip():
        return None
    key = value.strip().upper().replace(" ", "").replace("_", "-")
    return _TYPE_ALIASES.get(key, _TYPE_ALIASES.get(key.replace("-", ""), value.strip()))


def resolve_href(href: str, mets_dir: bytes, package: bytes) -> tuple[bytes | None, str | None]:
    """The archive-relative path of a METS ``xlink:href`` (relative to the METS document's
    folder, possibly URL-encoded or ``file:`` prefixed), or ``(None, why)`` when it is not a
    file inside the package."""
    h = href.strip()
    if not h:
        return None, "empty href"
    if h[:5].lower() == "file:":
        h = h[5:]
        if h.startswith("//"):
            host, _, rest = h[2:].partition("/")
            if host not in ("", "localhost"):
                return None, f"file URL on another host: {href}"
            h = "/" + rest
    elif _SCHEME.match(h):
        return None, f"not a file in the package: {href}"
    if h.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:[\\/]", h):
        return None, f"absolute path: {href}"
    rel = unquote_to_bytes(h.encode("utf-8", "surrogateescape"))
    joined = posixpath.normpath(posixpath.join(mets_dir, rel))
    if joined in (b".", b"..") or joined.startswith(b"../"):
        return None, f"outside the archive: {href}"
    if package and not joined.startswith(package + b"/"):
        return None, f"outside the package: {href}"
    return joined, None


def _href(elem: Any) -> str | None:
    value = elem.get(XLINK_HREF)
    if value is None:
        value = elem.get("href")  # some producers leave out the xlink namespace
    return value if isinstance(value, str) else None


def _local(tag: Any) -> tuple[str, str]:
    """(namespace, local name) of an element tag ('' namespace for none)."""
    if not isinstance(tag, str):
        return "", ""  # comments, processing instructions, entities
    if tag.startswith("{"):
        ns, _, name = tag[1:].partition("}")
        return ns, name
    return "", tag


def _header(root: Any) -> dict[str, str | None]:
    """OBJID, TYPE, PROFILE (METS attributes) and the content information type (an extension
    attribute: E-ARK ``csip:CONTENTINFORMATIONTYPE``, FGS ``CONTENTTYPESPECIFICATION``)."""
    plain: dict[str, str] = {}
    extension: dict[str, str] = {}
    for key, value in root.attrib.items():
        ns, name = _local(key)
        text = str(value).strip()
        if text:
            (extension if ns else plain)[name.upper()] = text
    content = extension.get("CONTENTINFORMATIONTYPE") or extension.get("CONTENTTYPESPECIFICATION")
    other = extension.get("OTHERCONTENTINFORMATIONTYPE")
    if content and content.upper() == "OTHER" and other:
        content = f"OTHER ({other})"
    kind = plain.get("TYPE")
    if kind and kind.upper() == "OTHER" and extension.get("OTHERTYPE"):
        kind = f"OTHER ({extension['OTHERTYPE']})"
    return {
        "objid": plain.get("OBJID"),
        "type": kind,
        "profile": plain.get("PROFILE"),
        "content_type": content,
    }


class _Reader:
    """One METS document, read as a stream of events; elements are dropped once handled."""

    def __init__(
        self, root: bytes, rel: bytes, package: bytes, sink: Sink, warnings: list[str]
    ) -> None:
        self.root, self.rel, self.package, self.sink = root, rel, package, sink
        self.dir = posixpath.dirname(rel)
        self.warnings = warnings
        self.batch: list[Listed] = []
        self.entries = 0
        self.pointers: list[bytes] = []
        self.files: list[dict[str, Any]] = []  # open mets:file elements (they can nest)

    def warn(self, message: str) -> None:
        if len(self.warnings) < MAX_WARNINGS:
            self.warnings.append(f"{P.for_display(self.rel)}: {message}")
        elif len(self.warnings) == MAX_WARNINGS:
            self.warnings.append("… more warnings not kept")

    def read(self, fh: IO[bytes]) -> MetsResult:
        events = etree.iterparse(
            fh,
            events=("start", "end"),
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            dtd_validation=False,
            remove_comments=True,
            remove_pis=True,
        )
        header: dict[str, str | None] | None = None
        for event, elem in events:
            ns, name = _local(elem.tag)
            if header is None:
                header = self._check_root(elem, ns, name)
            if ns not in (METS_NS, ""):
                if event == "end":
                    self._drop(elem)
                continue
            if event == "start":
                if name == "file":
                    self.files.append({**self._attrs(elem), "hrefs": []})
                continue
            if name == "FLocat" and self.files:
                href = _href(elem)
                if href is not None:
                    self.files[-1]["hrefs"].append(href)
            elif name == "file" and self.files:
                self._file(self.files.pop())
            elif name == "mdRef":
                href = _href(elem)
                if href is not None:
                    self._listed({**self._attrs(elem), "hrefs": [href]}, "mdRef")
            elif name == "mptr":
                self._pointer(_href(elem))
            self._drop(elem)
        self._flush()
        if header is None:
            raise MetsError("no root element")
        return MetsResult(header, self.pointers, self.entries, self.warnings)

    def _check_root(self, elem: Any, ns: str, name: str) -> dict[str, str | None]:
        docinfo = elem.getroottree().docinfo
        dtd = docinfo.internalDTD
        if dtd is not None and any(True for _ in dtd.iterentities()):
            raise MetsError(
                "declares XML entities in a DOCTYPE: not read (entities are never resolved)"
            )
        if name != "mets" or ns not in (METS_NS, ""):
            raise MetsError(f"not a METS document (root element {elem.tag!r})")
        if docinfo.doctype:
            self.warn("has a DOCTYPE (ignored; no DTD is loaded)")
        return _header(elem)

    @staticmethod
    def _drop(elem: Any) -> None:
        """Free what has been handled: memory stays flat however many files the METS lists."""
        elem.clear(keep_tail=False)
        parent = elem.getparent()
        if parent is not None:
            while elem.getprevious() is not None:
                del parent[0]

    def _attrs(self, elem: Any) -> dict[str, Any]:
        size_text = elem.get("SIZE")
        size = None
        if size_text is not None:
            try:
                size = int(size_text.strip())
            except ValueError:
                self.warn(f"SIZE {size_text!r} is not a number (ignored)")
        checksum = elem.get("CHECKSUM")
        return {
            "checksum": checksum.strip() if checksum and checksum.strip() else None,
            "type": checksum_type(elem.get("CHECKSUMTYPE")),
            "size": size,
        }

    def _file(self, info: dict[str, Any]) -> None:
        if info["hrefs"]:
            self._listed(info, "file")

    def _listed(self, info: dict[str, Any], source: str) -> None:
        for href in info["hrefs"]:
            path, why = resolve_href(href, self.dir, self.package)
            if path is None:
                self.warn(f"{source} not checked: {why}")
                continue
            path = self._existing_form(href, path)
            self.batch.append(Listed(path, source, info["type"], info["checksum"], info["size"]))
            self.entries += 1
        if len(self.batch) >= LISTING_BATCH:
            self._flush()

    def _existing_form(self, href: str, decoded: bytes) -> bytes:
        """An href with a '%' that is really part of the file's name (not URL-encoded) is
        taken as written when only that name exists."""
        if "%" not in href or os.path.lexists(os.path.join(self.root, decoded)):
            return decoded
        raw, _ = resolve_href(href.replace("%", "%25"), self.dir, self.package)
        if raw is not None and os.path.lexists(os.path.join(self.root, raw)):
            return raw
        return decoded

    def _pointer(self, href: str | None) -> None:
        if href is None:
            self.warn("mptr without xlink:href")
            return
        path, why = resolve_href(href, self.dir, self.package)
        if path is None:
            self.warn(f"mptr not followed: {why}")
        else:
            self.pointers.append(path)

    def _flush(self) -> None:
        if self.batch:
            self.sink.add(self.rel, self.batch)
            self.batch = []


def read_mets(root: bytes, rel: bytes, package: bytes, sink: Sink) -> MetsResult:
    """Read one METS document (archive-relative ``rel``) into ``sink``; raises MetsError."""
    warnings: list[str] = []
    path = os.path.join(root, rel)
    try:
        if os.path.islink(path):
            raise MetsError("a symbolic link: not followed")
        fd = open_readonly(path)
    except OSError as exc:
        raise MetsError(f"cannot open: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "rb") as fh:
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                raise MetsError("not a regular file")
            return _Reader(root, rel, package, sink, warnings).read(fh)
    except etree.XMLSyntaxError as exc:
        raise MetsError(f"not well-formed XML: {exc.msg or exc}") from None
    except etree.LxmlError as exc:
        raise MetsError(f"cannot be parsed: {exc}") from None
    except OSError as exc:
        raise MetsError(f"read error: {exc.strerror or exc}") from None


@dataclass
class PackageInfo:
    """A package as the scan needs it while files stream past."""

    path: bytes  # the package folder, relative to the archive root (b"" for the root)
    package_id: str  # METS OBJID, or the folder's name
    mets_path: bytes
    docs: dict[bytes, str | None]  # METS documents of the package -> error (None: read)
    algorithms: tuple[str, ...]  # checksum types to compute besides SHA-256
    unchanged: bool = False  # METS as in the base scan: listing and verdicts carried over
    broken: tuple[bytes, ...] = field(default=())  # folders whose METS could not be read

    def unverifiable(self, rel: bytes) -> bool:
        """True if ``rel`` sits where a METS that cannot be read would have listed it."""
        return any(not b or rel.startswith(b + b"/") for b in self.broken)


def _stat(path: bytes) -> tuple[int | None, int | None]:
    try:
        st = os.stat(path)
    except OSError:
        return None, None
    return st.st_size, st.st_mtime_ns


def _doc_state(docs: list[dict[str, Any]]) -> list[tuple[bytes, Any, Any]]:
    """(path, size, mtime) of the METS documents a package record names, in path order."""
    return [
        (os.fsencode(d["path"]), d["size"], d["mtime_ns"])
        for d in sorted(docs, key=lambda d: str(d["path"]))
    ]


class _CatalogSink:
    def __init__(self, catalog: Catalog, scan_id: int, package: bytes) -> None:
        self.catalog, self.scan_id, self.package = catalog, scan_id, package
        self.algorithms: set[str] = set()

    def add(self, mets: bytes, entries: list[Listed]) -> None:
        self.catalog.add_package_files(
            self.scan_id,
            self.package,
            mets,
            [(e.path, e.source, e.checksum_type, e.checksum, e.size) for e in entries],
        )
        self.algorithms.update(e.checksum_type for e in entries if e.checksum_type)

    def discard(self, mets: bytes) -> None:
        self.catalog.discard_package_files(self.scan_id, self.package, mets)

    def missing(self, mets: bytes, target: bytes, message: str) -> None:
        self.catalog.add_missing_listing(self.scan_id, self.package, mets, target, "mptr", message)


def read_package(
    catalog: Catalog, scan_id: int, root: bytes, package: bytes, mets_name: bytes
) -> dict[str, Any]:
    """Read a package's METS (and the representation METS it points at) into the catalog;
    returns the package record (see ``Catalog.put_package``), stored too."""
    sink = _CatalogSink(catalog, scan_id, package)
    mets_path = posixpath.join(package, mets_name) if package else mets_name
    queue, seen = [mets_path], {mets_path}
    docs: list[dict[str, Any]] = []
    warnings: list[str] = []
    errors: list[str] = []
    header: dict[str, str | None] = {}
    while queue:
        rel = queue.pop(0)
        size, mtime = _stat(os.path.join(root, rel))
        doc: dict[str, Any] = {"path": P.to_text(rel), "size": size, "mtime_ns": mtime}
        docs.append(doc)
        try:
            result = read_mets(root, rel, package, sink)
        except MetsError as exc:
            sink.discard(rel)
            doc["error"] = str(exc)
            errors.append(f"{P.for_display(rel)}: {exc}")
            continue
        doc["error"] = None
        if rel == mets_path:
            header = result.header
        warnings += result.warnings
        for target in result.pointers:
            if target in seen:
                continue
            seen.add(target)
            if not os.path.isfile(os.path.join(root, target)):
                message = f"METS pointed at by mets:mptr in {P.for_display(rel)} is missing"
                sink.missing(rel, target, message)
                docs.append(
                    {"path": P.to_text(target), "size": None, "mtime_ns": None, "error": message}
                )
                errors.append(f"{P.for_display(target)}: {message}")
            elif len(seen) > MAX_METS_DOCS:
                warnings.append(f"more than {MAX_METS_DOCS} METS documents: the rest not read")
                break
            else:
                queue.append(target)
    name = posixpath.basename(package) if package else os.path.basename(root.rstrip(b"/"))
    record: dict[str, Any] = {
        "path": package,
        "package_id": header.get("objid") or P.to_text(name),
        **{k: header.get(k) for k in ("objid", "type", "profile", "content_type")},
        "mets_path": mets_path,
        "mets_docs": docs,
        "error": "; ".join(errors) or None,
        "warnings": warnings[: MAX_WARNINGS + 1],
    }
    catalog.put_package(scan_id, record)
    record["algorithms"] = sink.algorithms
    return record


def check(
    listings: Sequence[tuple[int, str | None, str | None, int | None]],
    *,
    kind: str,
    size: int | None,
    outcome: str,
    sha256: str | None,
    digests: dict[str, str] | None,
) -> tuple[str, list[tuple[str, str | None, str | None, int]]]:
    """Compare a file with what its METS list: its verdict, and (verdict, digest found,
    message, listing id) per listed entry."""
    results: list[tuple[str, str | None, str | None, int]] = []
    readable = kind == "file" and sha256 is not None and outcome in READABLE
    for listing_id, ctype, expected, listed_size in listings:
        if not readable:
            why = "changed while it was read" if outcome == "changed" else outcome
            results.append(("unverified", None, f"not checked: {why}", listing_id))
        elif listed_size is not None and listed_size != size:
            message = f"size {size} bytes, METS says {listed_size}"
            results.append(("mismatch", None, message, listing_id))
        elif not expected:
            results.append(("unverified", None, "the METS gives no checksum", listing_id))
        elif ctype is None or ctype not in ALGORITHMS:
            message = f"checksum type {ctype or '(none)'} not supported"
            results.append(("unverified", None, message, listing_id))
        else:
            found = sha256 if ctype == "SHA-256" else (digests or {}).get(ctype)
            if found is None:
                results.append(("unverified", None, f"{ctype} not computed", listing_id))
            elif _same(found, expected, ctype):
                results.append(("ok", found, None, listing_id))
            else:
                message = f"{ctype} {found}, METS says {expected}"
                results.append(("mismatch", found, message, listing_id))
    verdicts = {r[0] for r in results}
    verdict = "mismatch" if "mismatch" in verdicts else "ok" if "ok" in verdicts else "unverified"
    return verdict, results


def _same(found: str, expected: str, ctype: str) -> bool:
    expected = expected.strip().lower()
    if ctype in ("CRC32", "Adler-32"):
        return expected.removeprefix("0x").zfill(8) == found
    return expected == found.lower()


@dataclass(slots=True)
class Check:
    """A file row waiting for its fixity verdict."""

    rel: bytes
    kind: str
    size: int | None
    outcome: str
    sha256: str | None
    digests: dict[str, str] | None
    package: PackageInfo


_UNSET: Any = object()


class Packages:
    """The packages of one scan: which package a path is in (one stat per new folder), the
    algorithms its files need, and the verdicts of files against the listings."""

    def __init__(
        self, catalog: Catalog, root: bytes, scan_id: int, base_id: int | None, *, reuse: bool
    ) -> None:
        self.catalog, self.root, self.scan_id = catalog, root, scan_id
        self.base_id = base_id if reuse else None
        self.by_folder: dict[bytes, bytes | None] = {}
        self.known: dict[bytes, PackageInfo] = {}

    def of(self, rel: bytes) -> PackageInfo | None:
        """The package ``rel`` (a path relative to the root) is in, or None."""
        folder = rel.rpartition(b"/")[0]
        cached = self.by_folder.get(folder, _UNSET)
        if cached is _UNSET:
            cached = self._find(folder)
        return self.known[cached] if cached is not None else None

    def algorithms(self, rel: bytes) -> tuple[str, ...]:
        info = self.of(rel)
        return info.algorithms if info is not None else ()

    def _find(self, folder: bytes) -> bytes | None:
        """The package of ``folder``: found from the root down, one stat per folder not seen
        before (``by_folder`` maps a folder to the package it is in)."""
        if len(self.by_folder) > 50_000:
            self.by_folder.clear()  # the packages themselves stay known
        parts = folder.split(b"/") if folder else []
        found: bytes | None = None
        for depth in range(len(parts) + 1):
            prefix = b"/".join(parts[:depth])
            cached = self.by_folder.get(prefix, _UNSET)
            if cached is _UNSET:
                cached = self._detect(prefix, found)
                self.by_folder[prefix] = cached
            found = cached
        return found

    def _detect(self, folder: bytes, enclosing: bytes | None) -> bytes | None:
        """``folder`` starts a package if it holds a METS.xml that the enclosing package (if
        any) did not read as one of its own."""
        base = os.path.join(self.root, folder) if folder else self.root
        if not os.path.isfile(os.path.join(base, METS_NAME)):
            return enclosing
        mets = posixpath.join(folder, METS_NAME) if folder else METS_NAME
        if enclosing is not None and mets in self.known[enclosing].docs:
            return enclosing  # a representation METS
        if folder not in self.known:
            self.known[folder] = self._open(folder, METS_NAME)
        return folder

    def _open(self, folder: bytes, mets_name: bytes) -> PackageInfo:
        cat = self.catalog
        base = cat.package(self.base_id, folder) if self.base_id is not None else None
        unchanged = base is not None and self._same_mets(base)
        record = cat.package(self.scan_id, folder)  # a resumed scan has it already
        if record is not None:
            algorithms = cat.package_algorithms(self.scan_id, folder)
        elif unchanged:
            assert self.base_id is not None
            cat.copy_package(self.base_id, self.scan_id, folder)
            record = base
            algorithms = cat.package_algorithms(self.scan_id, folder)
        else:
            record = read_package(cat, self.scan_id, self.root, folder, mets_name)
            algorithms = record["algorithms"]
        assert record is not None
        docs = {os.fsencode(d["path"]): d.get("error") for d in record["mets_docs"]}
        broken = tuple(sorted({posixpath.dirname(p) for p, err in docs.items() if err}))
        return PackageInfo(
            path=folder,
            package_id=str(record["package_id"]),
            mets_path=bytes(record["mets_path"]),
            docs=docs,
            algorithms=tuple(sorted(a for a in algorithms if a in ALGORITHMS and a != "SHA-256")),
            unchanged=unchanged,
            broken=broken,
        )

    def _same_mets(self, base: dict[str, Any]) -> bool:
        """True if every METS document the base scan read is as it was (size and mtime)."""
        before = _doc_state(base["mets_docs"])
        now = [(p, *_stat(os.path.join(self.root, p))) for p, _, _ in before]
        return bool(before) and before == now

    def verify(self, items: Sequence[Check]) -> list[str | None]:
        """Fixity verdicts for file rows of packages; records each listed entry's verdict."""
        listings = self.catalog.package_listings(
            self.scan_id, [c.rel for c in items if c.kind != "directory"]
        )
        updates: list[tuple[str, str | None, str | None, int]] = []
        verdicts: list[str | None] = []
        for c in items:
            if c.kind == "directory":
                verdicts.append(None)
                continue
            listed = listings.get(c.rel)
            verdict = None
            if listed:
                verdict, results = check(
                    listed,
                    kind=c.kind,
                    size=c.size,
                    outcome=c.outcome,
                    sha256=c.sha256,
                    digests=c.digests,
                )
                updates += results
            if c.rel in c.package.docs and verdict != "mismatch":
                verdict = "mets_error" if c.package.docs[c.rel] else verdict or "mets"
            elif verdict is None:
                verdict = "unverified" if c.package.unverifiable(c.rel) else "not_listed"
            verdicts.append(verdict)
        if updates:
            self.catalog.set_listing_verdicts(updates)
        return verdicts
