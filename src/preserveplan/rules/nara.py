"""Turn NARA's Digital Preservation Plan spreadsheet (CSV, CC0) into a preserveplan ruleset.

One rule per PRONOM PUID (NARA splits some PUIDs over several rows: those rows are merged, the
highest risk wins and every NARA Format ID is cited). Rows without a PUID cannot be matched
reliably and are reported, not guessed. NARA's "Transform" becomes ``migrate`` only where the
plan names a target we have a tested tool for; otherwise ``at-risk`` (a person decides).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from ..export import atomic_path
from ..pronom import formats, is_puid

RISKS = {"Low Risk": "low", "Moderate Risk": "moderate", "High Risk": "high"}
_ORDER = ("low", "moderate", "high")
# plan prefix -> (tool, target, target PUID), for plans our tested converters carry out
TARGETS: dict[str, tuple[str, str, str]] = {
    "Transform to TIFF": ("imagemagick", "tiff", "fmt/353"),
    "Transform to ODT": ("libreoffice", "odt", "fmt/1756"),
    "Transform to ODS": ("libreoffice", "ods", "fmt/1755"),
    "Transform to PDF/A": ("libreoffice", "pdfa-2b", "fmt/477"),
    "Transform to PDF": ("libreoffice", "pdfa-2b", "fmt/477"),
}
OFFICE_TOOLS = ("LibreOffice",)

SOURCE = "NARA Digital Preservation Framework 3.6.0 (2026-03-20)"
FINDINGS = {
    key: {"status": "at-risk", "risk": risk, "rationale": text, "source": "preserveplan default"}
    for key, risk, text in [
        ("unidentified", "high", "Format not identified: review by hand."),
        ("multiple_matches", "moderate", "Several possible formats: review by hand."),
        ("extension_mismatch", "moderate", "Name and content disagree: review by hand."),
        ("encrypted", "high", "Encrypted content cannot be preserved without its key."),
        ("unreadable", "high", "Empty, unreadable or corrupt file."),
    ]
}


@dataclass
class ImportReport:
    rules: int = 0
    rows: int = 0
    merged_puids: int = 0
    skipped: list[str] = field(default_factory=list)  # "NF00639 HEIC: no PUID"


def _puid(url: str) -> str | None:
    match = re.search(r"/PRONOM/(.+)$", url.strip())
    return match.group(1).strip() if match else None


def _status(action: str, plan: str, risk: str, tools: str) -> tuple[str, dict[str, Any] | None]:
    if action == "Retain":
        return ("preservation" if risk == "low" else "acceptable"), None
    if action == "Transform":
        for prefix, (tool, target, target_puid) in TARGETS.items():
            if plan.startswith(prefix) and (
                tool != "libreoffice" or any(t in tools for t in OFFICE_TOOLS)
            ):
                return "migrate", {
                    "tool": tool,
                    "target": target,
                    "target_puid": target_puid,
                    "keep_original": True,
                }
    return "at-risk", None


def convert(rows: Iterable[dict[str, str]]) -> tuple[dict[str, Any], ImportReport]:
    """The ruleset (as plain data) for NARA plan rows, and what was merged or skipped."""
    report = ImportReport()
    by_puid: dict[str, list[dict[str, str]]] = {}
    known = formats()
    for row in rows:
        report.rows += 1
        nf = row.get("NARA Format ID", "").strip()
        name = row.get("Format Name", "").strip()
        puid = _puid(row.get("PRONOM URL", ""))
        if not puid:
            report.skipped.append(f"{nf} {name}: no PUID")
        elif not is_puid(puid):
            report.skipped.append(f"{nf} {name}: {puid} is not a format PUID")
        elif puid not in known:
            report.skipped.append(f"{nf} {name}: {puid} is not in PRONOM V125")
        else:
            by_puid.setdefault(puid, []).append(row)
    rules = []
    for puid, group in sorted(by_puid.items(), key=lambda kv: _sort_key(kv[0])):
        if len(group) > 1:
            report.merged_puids += 1
        risk = max(
            (RISKS.get(r["NARA Risk Level"].strip(), "moderate") for r in group), key=_ORDER.index
        )
        worst = next(
            r for r in group if RISKS.get(r["NARA Risk Level"].strip(), "moderate") == risk
        )
        status, action = _status(
            worst["NARA Preservation Action"].strip(),
            worst["NARA Proposed Preservation Plan"].strip(),
            risk,
            worst.get("NARA Preferred Processing and Transformation Tool(s)", ""),
        )
        ids = ", ".join(r["NARA Format ID"].strip() for r in group)
        plan = worst["NARA Proposed Preservation Plan"].strip() or worst["NARA Preservation Action"]
        rule: dict[str, Any] = {
            "id": f"nara-{puid.replace('/', '-')}",
            "title": worst["Format Name"].strip(),
            "match": {"puid": [puid]},
            "status": status,
            "risk": risk,
        }
        if action:
            rule["action"] = action
        rule["rationale"] = f"NARA: {worst['NARA Risk Level'].strip()}; plan: {plan}"
        rule["source"] = f"{SOURCE}, {ids}"
        rules.append(rule)
    report.rules = len(rules)
    data = {
        "ruleset": "nara",
        "version": "3.6.0",
        "title": "Imported from NARA's Digital Preservation Plan (CC0)",
        "findings": FINDINGS,
        "rules": rules,
    }
    return data, report


def _sort_key(puid: str) -> tuple[str, int]:
    prefix, _, number = puid.rpartition("/")
    return prefix, int(number) if number.isdigit() else 0


def import_nara(csv_path: str | Path, output: str | Path) -> ImportReport:
    """Read NARA's plan CSV and write a ruleset YAML (atomically)."""
    with open(csv_path, encoding="utf-8-sig", newline="") as fh:
        data, report = convert(csv.DictReader(fh))
    buffer = io.StringIO()
    yaml = YAML()  # round-trip dumper: keeps the key order of each rule readable
    yaml.default_flow_style = False
    yaml.allow_unicode = True
    yaml.indent(mapping=2, sequence=4, offset=2)
    buffer.write(
        "# Generated by `preserveplan rules import-nara` from NARA's Digital Preservation Plan\n"
        "# spreadsheet (public domain / CC0). Review before use; extend it with `extends:`.\n"
    )
    yaml.dump(data, buffer)
    with atomic_path(output) as tmp:
        Path(tmp).write_text(buffer.getvalue(), encoding="utf-8")
    return report
