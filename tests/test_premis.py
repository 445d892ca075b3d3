"""PREMIS writer details not covered by the migration tests: the streaming schema check."""

from __future__ import annotations

from pathlib import Path

import pytest

from preserveplan.migrate.premis import PremisError, check

NS = 'xmlns="http://www.loc.gov/premis/v3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
OBJECT = """<object xsi:type="file"><objectIdentifier>
<objectIdentifierType>local</objectIdentifierType>
<objectIdentifierValue>source:a.doc</objectIdentifierValue></objectIdentifier>
<objectCharacteristics><format><formatDesignation><formatName>unknown</formatName>
</formatDesignation></format></objectCharacteristics></object>"""
AGENT = """<agent><agentIdentifier><agentIdentifierType>local</agentIdentifierType>
<agentIdentifierValue>preserveplan</agentIdentifierValue></agentIdentifier></agent>"""


def _doc(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "run.premis.xml"
    path.write_text(f'<?xml version="1.0"?><premis {NS} version="3.0">{body}</premis>')
    return path


def test_check_accepts_valid_premis(tmp_path: Path) -> None:
    check(_doc(tmp_path, OBJECT * 3 + AGENT))


@pytest.mark.parametrize(
    "body",
    [
        AGENT + OBJECT,  # agents must follow objects (and events)
        OBJECT.replace("<objectCharacteristics>", "<objectCharacteristic>").replace(
            "</objectCharacteristics>", "</objectCharacteristic>"
        ),
        OBJECT + "<unknown/>",
        OBJECT[:-9],  # not well-formed
    ],
)
def test_check_rejects_invalid_premis(tmp_path: Path, body: str) -> None:
    with pytest.raises(PremisError, match="PREMIS 3 schema"):
        check(_doc(tmp_path, body))
