"""PREMIS 3 XML for a migration run: objects, events, agents and source → derivative links.

Built with lxml and checked against the official PREMIS 3.0 schema (bundled) before it is
written; the file is written atomically. The document is built in memory: fine for runs of
tens of thousands of files; very large runs want an incremental writer (not done yet).
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
from ..export import atomic_path
from ..versions import __version__

NS = "http://www.loc.gov/premis/v3"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
P = f"{{{NS}}}"
ID_TYPE = "local"


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
    root: Any, ident: str, sha256: str | None, size: int | None, puid: str | None, name: str
) -> Any:
    obj = _el(root, "object", **{f"{{{XSI}}}type": "file"})
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


def build(catalog: Catalog, run_id: int) -> Any:
    """The PREMIS document of a run (every attempt an event; derivatives for done files)."""
    root = etree.Element(P + "premis", nsmap={None: NS, "xsi": XSI}, version="3.0")
    rows = catalog.premis_rows(run_id)
    agents: dict[str, str] = {"preserveplan": __version__}
    objects: list[Any] = []
    events: list[Any] = []
    for row in rows:
        source_id = f"source:{row['path']}"
        src = _file_object(
            root, source_id, row["source_sha256"], row["size"], row["source_puid"], row["path"]
        )
        objects.append(src)
        output_id = f"derivative:{row['output']}"
        for ev in row["events"]:
            tool_agent = f"{ev['tool']} {ev['tool_version'] or ''}".strip()
            agents.setdefault(tool_agent, ev["tool_version"] or "")
            event = etree.Element(P + "event")
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
            for obj_id, role in ((source_id, "source"), (output_id, "outcome")):
                if role == "outcome" and ev["outcome"] != "done":
                    continue
                link = _el(event, "linkingObjectIdentifier")
                _el(link, "linkingObjectIdentifierType", ID_TYPE)
                _el(link, "linkingObjectIdentifierValue", obj_id)
                _el(link, "linkingObjectRole", role)
            events.append(event)
        if row["state"] == "done":
            out = _file_object(
                root,
                output_id,
                row["output_sha256"],
                row["output_size"],
                row["output_puid"],
                row["output"],
            )
            rel = etree.Element(P + "relationship")
            _el(rel, "relationshipType", "derivation")
            _el(rel, "relationshipSubType", "is derived from")
            related = _el(rel, "relatedObjectIdentifier")
            _el(related, "relatedObjectIdentifierType", ID_TYPE)
            _el(related, "relatedObjectIdentifierValue", source_id)
            # relationship comes after originalName in the schema's sequence
            out.append(rel)
            objects.append(out)
    # schema order inside <premis>: object*, event*, agent*, rightsStatement*
    for event in events:
        root.append(event)
    for name, version in agents.items():
        agent = _el(root, "agent")
        _identifier(agent, "agent", name)
        _el(agent, "agentName", name.split(" ")[0])
        _el(agent, "agentType", "software")
        if version:
            _el(agent, "agentVersion", version)
    return root


def write_premis(catalog: Catalog, run_id: int, output: str | os.PathLike[str]) -> Path:
    """Write a run's PREMIS 3 XML (validated against the schema first)."""
    doc = build(catalog, run_id)
    schema().assertValid(doc)
    data = etree.tostring(doc, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    with atomic_path(output) as tmp:
        Path(tmp).write_bytes(data)
    return Path(output)
