"""Password-protected office documents found by their structure (inventory.encryption)."""

from __future__ import annotations

import csv
import zipfile
from pathlib import Path

import pytest
from conftest import CORPUS

from preserveplan.inventory.encryption import (
    MESSAGE_EXCEL,
    MESSAGE_ODF,
    MESSAGE_OOXML,
    MESSAGE_WORD,
    is_candidate,
    office_encryption,
)
from preserveplan.inventory.fixity import sha256_file

needs_corpus = pytest.mark.skipif(
    not (CORPUS / "expected.csv").is_file(), reason=f"shared corpus not found at {CORPUS}"
)

# Real encrypted documents in the shared corpus and what they are.
ENCRYPTED = {
    # an encrypted DOCX/XLSX container (EncryptionInfo + EncryptedPackage) named .xls
    "file-type/fixture/fixture-password-protected.xls": MESSAGE_OOXML,
    # Excel 95 (BIFF5 Book stream) with a FILEPASS record
    "format-corpus/droid-jhove-datetest-files/spreadsheets_historicaldates/"
    "spreadsheet-calcs_passwordprotected.xls": MESSAGE_EXCEL,
    # PRONOM's skeleton of fmt/754, "Microsoft Word Document (Password Protected)"
    "siegfried/cmd/sf/testdata/skeleton-suite/containers/"
    "fmt-754-container-signature-id-1110.doc": MESSAGE_WORD,
}


def _head(path: Path) -> bytes:
    with path.open("rb") as fh:
        return fh.read(4096)


@needs_corpus
def test_corpus_encrypted_and_plain_office_files() -> None:
    """Every encrypted office file of the corpus is found, and no other office file."""
    found: dict[str, str] = {}
    candidates = 0
    with (CORPUS / "expected.csv").open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            path = CORPUS / row["path"]
            head = _head(path)
            if not is_candidate(head):
                continue
            candidates += 1
            message = office_encryption(bytes(path), head)
            if message:
                found[row["path"]] = message
    assert candidates > 40, "the corpus should hold dozens of OLE2/ODF files"
    assert found == ENCRYPTED


@needs_corpus
def test_scan_hash_reports_encrypted_office_file() -> None:
    path = CORPUS / next(iter(ENCRYPTED))
    res = sha256_file(bytes(path))
    assert res.outcome == "encrypted" and res.sha256 and res.message == MESSAGE_OOXML


def test_encrypted_ooxml_made_with_msoffcrypto(tmp_path: Path) -> None:
    """A DOCX really encrypted (ECMA-376 agile encryption) by msoffcrypto-tool."""
    from msoffcrypto.format.ooxml import OOXMLFile

    plain = tmp_path / "plain.docx"
    with zipfile.ZipFile(plain, "w") as zf:
        zf.writestr(
            "[Content_Types].xml",
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>',
        )
        zf.writestr("word/document.xml", "<document>hemligt</document>")
    assert office_encryption(bytes(plain), _head(plain)) is None
    secret = tmp_path / "secret.docx"
    with plain.open("rb") as src, secret.open("wb") as dst:
        OOXMLFile(src).encrypt("lösen", dst)
    assert office_encryption(bytes(secret), _head(secret)) == MESSAGE_OOXML
    assert sha256_file(bytes(secret)).outcome == "encrypted"


def _odf(path: Path, manifest: str) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("mimetype", "application/vnd.oasis.opendocument.text")
        zf.writestr("content.xml", "<office:document-content/>")
        zf.writestr("META-INF/manifest.xml", manifest)
    return path


def test_odf_manifest_encryption_data(tmp_path: Path) -> None:
    """The manifest structure of an encrypted ODF package (ODF 1.2 part 3, 3.8)."""
    entry = '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"'
    plain = _odf(tmp_path / "plain.odt", f"<manifest:manifest>{entry}/></manifest:manifest>")
    enc = _odf(
        tmp_path / "enc.odt",
        f"<manifest:manifest>{entry}><manifest:encryption-data "
        'manifest:checksum-type="SHA1/1K"/></manifest:file-entry></manifest:manifest>',
    )
    assert office_encryption(bytes(plain), _head(plain)) is None
    assert office_encryption(bytes(enc), _head(enc)) == MESSAGE_ODF


@needs_corpus
@pytest.mark.parametrize("keep", [0, 512, 700, 4096])
def test_truncated_ole_is_not_an_error(tmp_path: Path, keep: int) -> None:
    src = CORPUS / list(ENCRYPTED)[2]
    cut = tmp_path / "cut.doc"
    cut.write_bytes(src.read_bytes()[:keep])
    head = _head(cut)
    assert office_encryption(bytes(cut), head) in (None, MESSAGE_WORD)
