"""Is an office document password-protected? Looked at once per file during the scan.

An encrypted document cannot be migrated without its password, so the scan records it (outcome
``encrypted``) and the ruleset turns that into a finding. Checked here, from the file's own
structure (no password is tried except Excel's published default):

* OLE2 compound files (``D0 CF 11 E0``), read with ``olefile``:
  - an ``EncryptionInfo`` + ``EncryptedPackage`` pair: an encrypted OOXML document (DOCX, XLSX,
    PPTX saved with a password; [MS-OFFCRYPTO] 2.3.4);
  - Word 97-2003: ``fEncrypted`` (bit 0x0100 of the flags word at 0x0A of the FIB in the
    ``WordDocument`` stream; [MS-DOC] 2.5.2);
  - Excel 5-2003 (BIFF5 ``Book`` / BIFF8 ``Workbook`` stream): a FILEPASS record (0x002F) in the
    workbook globals ([MS-XLS] 2.4.117). A BIFF8 workbook encrypted with Excel's default
    password "VelvetSweatshop" (what "protect workbook structure" writes) opens without a
    password: it is reported as readable when ``msoffcrypto-tool`` can verify that key;
  - PowerPoint 97-2003: an ``EncryptedSummary`` stream ([MS-PPT] 2.3.7) or, failing that,
    what ``msoffcrypto-tool`` says.
* ODF packages (ZIP whose first entry is ``mimetype`` = ``application/vnd.oasis.opendocument…``):
  ``encryption-data`` in ``META-INF/manifest.xml`` (ODF 1.2 part 3, 3.8).

Unreadable or malformed structures answer ``None`` (not known to be encrypted): damaged files are
the identification step's business, never a crash here.
"""

from __future__ import annotations

import os
import struct
import zipfile
from typing import Any, BinaryIO

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ODF_MIME = b"mimetypeapplication/vnd.oasis.opendocument"
_MANIFEST_LIMIT = 4 << 20
_BIFF_SCAN_LIMIT = 4096  # records of the workbook globals looked at for FILEPASS

MESSAGE_OOXML = "encrypted Office Open XML document (password needed to open)"
MESSAGE_WORD = "password-protected Word 97-2003 document"
MESSAGE_EXCEL = "password-protected Excel workbook (FILEPASS)"
MESSAGE_POWERPOINT = "password-protected PowerPoint 97-2003 presentation"
MESSAGE_ODF = "encrypted OpenDocument file (password needed to open)"


def is_candidate(head: bytes) -> bool:
    """Whether the first bytes say the file is worth a look (OLE2 or an ODF package)."""
    return head.startswith(OLE_MAGIC) or (head.startswith(b"PK\x03\x04") and _ODF_MIME in head)


def office_encryption(path: bytes, head: bytes) -> str | None:
    """A message when the document at ``path`` is encrypted, else ``None``."""
    try:
        if head.startswith(OLE_MAGIC):
            return _ole(path)
        if head.startswith(b"PK\x03\x04") and _ODF_MIME in head:
            return _odf(path)
    except Exception:  # a damaged container is not our verdict to give
        return None
    return None


def _ole(path: bytes) -> str | None:
    import olefile

    with _open(path) as fh, olefile.OleFileIO(fh) as ole:
        streams = {"/".join(entry) for entry in ole.listdir(streams=True, storages=False)}
        if "EncryptionInfo" in streams and "EncryptedPackage" in streams:
            return MESSAGE_OOXML
        if "WordDocument" in streams:
            fib = ole.openstream("WordDocument").read(0x0C)
            if len(fib) >= 0x0C and struct.unpack_from("<H", fib, 0x0A)[0] & 0x0100:
                return MESSAGE_WORD
            return None
        for name in ("Workbook", "Book"):
            if name in streams:
                data = ole.openstream(name).read()
                if _has_filepass(data):
                    if name == "Workbook" and _default_excel_password(path):
                        return None
                    return MESSAGE_EXCEL
                return None
        if "PowerPoint Document" in streams:
            if "EncryptedSummary" in streams:
                return MESSAGE_POWERPOINT
            return MESSAGE_POWERPOINT if _msoffcrypto_says_encrypted(path) else None
    return None


def _open(path: bytes) -> BinaryIO:
    """Read-only, without updating the access time where allowed (as the scan reads)."""
    from .fixity import open_readonly

    fd = open_readonly(path)
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


def _has_filepass(data: bytes) -> bool:
    """FILEPASS among the records of the first substream (globals), before its EOF."""
    off = 0
    for _ in range(_BIFF_SCAN_LIMIT):
        if off + 4 > len(data):
            return False
        rtype, length = struct.unpack_from("<HH", data, off)
        if rtype == 0x002F:
            return True
        if rtype == 0x000A:  # EOF of the globals substream
            return False
        off += 4 + length
    return False


def _default_excel_password(path: bytes) -> bool:
    """True if Excel's default password opens the workbook (write protection, not secrecy)."""
    try:
        import msoffcrypto

        with _open(path) as fh:
            office: Any = msoffcrypto.OfficeFile(fh)
            office.load_key(password="VelvetSweatshop", verify_password=True)
            return True
    except Exception:
        return False


def _msoffcrypto_says_encrypted(path: bytes) -> bool:
    try:
        import msoffcrypto

        with _open(path) as fh:
            return bool(msoffcrypto.OfficeFile(fh).is_encrypted())
    except Exception:
        return False


def _odf(path: bytes) -> str | None:
    with _open(path) as raw, zipfile.ZipFile(raw) as zf:
        try:
            info = zf.getinfo("META-INF/manifest.xml")
        except KeyError:
            return None
        if info.file_size > _MANIFEST_LIMIT:
            return None
        with zf.open(info) as fh:
            manifest = fh.read(_MANIFEST_LIMIT + 1)
    return MESSAGE_ODF if b"encryption-data" in manifest else None
