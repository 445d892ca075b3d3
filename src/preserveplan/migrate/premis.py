"""PREMIS 3 XML for a migration run: objects, events, agents and source → derivative links.

Each attempt is a ``migration`` event; each attempt whose output was checked is also a
``validation`` event (pass or fail, with the errors), linked to the derivative.

Written incrementally with lxml's ``xmlfile`` (one object or event in memory at a time, so a run
of a million files costs no more memory than one of ten), then validated against the official
PREMIS 3.0 schema (bundled) in a streaming parse, and only then renamed into place.
"""

from __future__ import annotations

import functools
import json
import os
from importlib import resources
from pathlib import Path
from typing import Any

from lxml import etree  # type: ignore[import-untyped]

from ..catalog import Catalog
from ..errors import PreserveplanError
from ..export import atomic_path
from ..versions import __version__

NS = "http://www.loc.gov/premis/v3"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
P = f"{{{NS}}}"
ID_TYPE = "local"


class PremisError(PreserveplanError):
    """The PREMIS document does not validate against the PREMIS 3 schema."""


@functools.cache
def schema() -> etree.XMLSchema:
    text = resources.files("preserveplan").joinpath("data/premis-v3-0.xsd").read_bytes()
    return etree.XMLSchema(etree.fromstring(text))


def _el(parent: Any, tag: str, text: str | None = None, **attrs: str) -> Any:
    node = etree.SubElement(parent, P + tag, **attrs)
    if text is not None:
        node.text = text
    return node


def _identifier(parent: Any, kind: str, value: str) -> None:
    node = _el(parent, f"{kind}Identifier")
    _el(node, f"{kind}IdentifierType", ID_TYPE)
    _el(node, f"{kind}IdentifierValue", value)


def _file_object(
    ident: str, sha256: str | None, size: int | None, puid: str | None, name: str
) -> Any:
    obj = etree.Element(P + "object", {f"{{{XSI}}}type": "file"}, nsmap={None: NS, "xsi": XSI})
    _identifier(obj, "object", ident)
    chars = _el(obj, "objectCharacteristics")
    if sha256:
        fixity = _el(chars, "fixity")
        _el(fixity, "messageDigestAlgorithm", "SHA-256")
        _el(fixity, "messageDigest", sha256)
    if size is not None:
        _el(chars, "size", str(size))
    fmt = _el(chars, "format")
    if puid:
        reg = _el(fmt, "formatRegistry")
        _el(reg, "formatRegistryName", "PRONOM")
        _el(reg, "formatRegistryKey", puid)
    else:
        designation = _el(fmt, "formatDesignation")
        _el(designation, "formatName", "unknown")
    _el(obj, "originalName", name)
    return obj


def _event(run_id: int, row: dict[str, Any], ev: dict[str, Any], tool_agent: str) -> Any:
    event = etree.Element(P + "event", nsmap={None: NS})
    _identifier(event, "event", f"migration:{run_id}:{ev['id']}")
    _el(event, "eventType", "migration")
    _el(event, "eventDateTime", ev["started_at"])
    detail = _el(event, "eventDetailInformation")
    command = " ".join(json.loads(ev["command"])) if ev["command"] else ev["tool"]
    _el(
        detail,
        "eventDetail",
        f"{ev['tool']} -> {row['target']} ({row['target_puid']}): "
        f"{command}; finished {ev['finished_at']}",
    )
    outcome = _el(event, "eventOutcomeInformation")
    _el(outcome, "eventOutcome", "success" if ev["outcome"] == "done" else ev["outcome"])
    if ev["message"]:
        note = _el(outcome, "eventOutcomeDetail")
        _el(note, "eventOutcomeDetailNote", ev["message"])
    for name, role in ((tool_agent, "executing program"), ("preserveplan", "authorizer")):
        link = _el(event, "linkingAgentIdentifier")
        _el(link, "linkingAgentIdentifierType", ID_TYPE)
        _el(link, "linkingAgentIdentifierValue", name)
        _el(link, "linkingAgentRole", role)
    for obj_id, role in ((_source_id(row), "source"), (_output_id(row), "outcome")):
        if role == "outcome" and ev["outcome"] != "done":
            continue
        link = _el(event, "linkingObjectIdentifier")
        _el(link, "linkingObjectIdentifierType", ID_TYPE)
        _el(link, "linkingObjectIdentifierValue", obj_id)
        _el(link, "linkingObjectRole", role)
    return event


#: errors of a failed validation written into its PREMIS event (the journal keeps them all)
MAX_ERROR_NOTES = 20


def _validation_event(run_id: int, row: dict[str, Any], ev: dict[str, Any]) -> Any | None:
    """The check of an attempt's output (``validate``: identification as the target PUID, the
    PDF/A rules for a PDF/A), as an event of type validation: pass or fail, the errors as
    outcome notes, linked to the derivative (or, when the output failed and was removed, to the
    source it was made from). None for an attempt that made nothing to check."""
    if not ev.get("validation"):
        return None
    record = json.loads(ev["validation"])
    event = etree.Element(P + "event", nsmap={None: NS})
    _identifier(event, "event", f"validation:{run_id}:{ev['id']}")
    _el(event, "eventType", "validation")
    _el(event, "eventDateTime", ev["finished_at"])
    detail = _el(event, "eventDetailInformation")
    profile = record.get("profile")
    _el(
        detail,
        "eventDetail",
        f"preserveplan validate: identified as {record.get('puid') or 'UNKNOWN'} "
        f"(expected {row['target_puid']})" + (f"; {profile} structural checks" if profile else ""),
    )
    outcome = _el(event, "eventOutcomeInformation")
    _el(outcome, "eventOutcome", "pass" if record.get("valid") else "fail")
    errors = record.get("errors") or []
    for problem in errors[:MAX_ERROR_NOTES]:
        note = _el(outcome, "eventOutcomeDetail")
        _el(note, "eventOutcomeDetailNote", f"{problem['clause']}: {problem['message']}")
    if len(errors) > MAX_ERROR_NOTES:
        note = _el(outcome, "eventOutcomeDetail")
        _el(note, "eventOutcomeDetailNote", f"... and {len(errors) - MAX_ERROR_NOTES} more")
    link = _el(event, "linkingAgentIdentifier")
    _el(link, "linkingAgentIdentifierType", ID_TYPE)
    _el(link, "linkingAgentIdentifierValue", "preserveplan")
    _el(link, "linkingAgentRole", "validator")
    done = ev["outcome"] == "done"
    link = _el(event, "linkingObjectIdentifier")
    _el(link, "linkingObjectIdentifierType", ID_TYPE)
    _el(link, "linkingObjectIdentifierValue", _output_id(row) if done else _source_id(row))
    _el(link, "linkingObjectRole", "outcome" if done else "source")
    return event


def _source_id(row: dict[str, Any]) -> str:
    return f"source:{row['path']}"


def _output_id(row: dict[str, Any]) -> str:
    return f"derivative:{row['output']}"


def _objects(row: dict[str, Any], source: bool = True) -> list[Any]:
    """The source object (unless ``source`` is false: a source with several outputs is
    described once) and, for a converted file, its derivative (with the relationship)."""
    objects = []
    if source:
        objects.append(
            _file_object(
                _source_id(row),
                row["source_sha256"],
                row["size"],
                row["source_puid"],
                row["path"],
            )
        )
    if row["state"] == "done":
        out = _file_object(
            _output_id(row),
            row["output_sha256"],
            row["output_size"],
            row["output_puid"],
            row["output"],
        )
        rel = _el(out, "relationship")  # after originalName, as the schema's sequence says
        _el(rel, "relationshipType", "derivation")
        _el(rel, "relationshipSubType", "is derived from")
        related = _el(rel, "relatedObjectIdentifier")
        _el(related, "relatedObjectIdentifierType", ID_TYPE)
        _el(related, "relatedObjectIdentifierValue", _source_id(row))
        objects.append(out)
    return objects


def _agent(name: str, version: str) -> Any:
    agent = etree.Element(P + "agent", nsmap={None: NS})
    _identifier(agent, "agent", name)
    _el(agent, "agentName", name.split(" ")[0])
    _el(agent, "agentType", "software")
    if version:
        _el(agent, "agentVersion", version)
    return agent


def _write(catalog: Catalog, run_id: int, path: str) -> int:
    """Stream the document to ``path``: objects, then events, then agents (the schema's order
    inside ``<premis>``), reading the journal twice instead of holding it in memory."""
    agents: dict[str, str] = {"preserveplan": __version__}
    n = 0
    with etree.xmlfile(path, encoding="UTF-8") as xf:
        xf.write_declaration()
        with xf.element(P + "premis", nsmap={None: NS, "xsi": XSI}, version="3.0"):
            xf.write("\n")
            previous = None  # rows come in path order: the outputs of one source in a row
            for row in catalog.premis_rows(run_id, events=False):
                for obj in _objects(row, source=row["path"] != previous):
                    xf.write(obj, pretty_print=True)
                previous = row["path"]
                n += 1
            for row in catalog.premis_rows(run_id):
                for ev in row["events"]:
                    tool_agent = f"{ev['tool']} {ev['tool_version'] or ''}".strip()
                    agents.setdefault(tool_agent, ev["tool_version"] or "")
                    xf.write(_event(run_id, row, ev, tool_agent), pretty_print=True)
                    checked = _validation_event(run_id, row, ev)
                    if checked is not None:
                        xf.write(checked, pretty_print=True)
            for name, version in agents.items():
                xf.write(_agent(name, version), pretty_print=True)
    return n


def check(path: str | os.PathLike[str]) -> None:
    """Validate a PREMIS file against the PREMIS 3 schema while streaming through it (memory
    stays flat); raises :class:`PremisError` naming the line of the first problem."""
    try:
        for _, el in etree.iterparse(str(path), events=("end",), schema=schema(), huge_tree=True):
            parent = el.getparent()
            if parent is not None and parent.getparent() is None:  # a child of <premis>
                el.clear()
                while el.getprevious() is not None:
                    del parent[0]
    except etree.XMLSyntaxError as exc:
        raise PremisError(f"PREMIS output is not valid against the PREMIS 3 schema: {exc}") from exc


def write_premis(catalog: Catalog, run_id: int, output: str | os.PathLike[str]) -> Path:
    """Write a run's PREMIS 3 XML: streamed to a temporary file, validated against the schema,
    then renamed into place (a failed run or check leaves no file)."""
    with atomic_path(output) as tmp:
        _write(catalog, run_id, tmp)
        check(tmp)
    return Path(output)
