"""The migration plan: what the newest assessment says to convert, with what, and the cost.

Read-only: the plan is computed from the catalog in SQL (grouped, never a row per file in
Python) and writes nothing. Estimates use per-tool rates: measured by `calibrate` when it has
run, else the defaults below (from the measurements in the project's TOOLS.md §7), and the plan
says which.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from ..catalog import Catalog
from ..errors import UsageError
from ..rules.model import action_outputs

# tool -> Debian package(s) that bring its program
PACKAGES: dict[str, str] = {
    "libreoffice": "libreoffice-writer-nogui libreoffice-calc-nogui libreoffice-impress-nogui",
    "ghostscript": "ghostscript",
    "ffmpeg": "ffmpeg",
    "imagemagick": "imagemagick",
    "msgconvert": "libemail-outlook-message-perl libemail-address-perl",
}


@dataclass(frozen=True)
class Rate:
    """Seconds per file plus seconds per MB, and output bytes per input byte."""

    seconds_per_file: float
    seconds_per_mb: float
    output_ratio: float
    measured: bool = False


DEFAULT_RATES: dict[str, Rate] = {
    "libreoffice": Rate(0.18, 0.02, 1.2),  # persistent instance, TOOLS.md §7
    "ghostscript": Rate(0.10, 0.05, 1.1),
    "imagemagick": Rate(0.05, 0.05, 4.0),  # to uncompressed/LZW TIFF from compressed images
    "ffmpeg": Rate(0.20, 0.50, 3.0),  # FFV1 is lossless: larger than lossy sources
    "msgconvert": Rate(0.30, 0.01, 1.3),
}


@dataclass
class PlanLine:
    rule: str
    org: str
    tool: str
    target: str
    target_puid: str
    files: int
    bytes: int
    est_output_bytes: int
    est_seconds: float


@dataclass
class Plan:
    scan_id: int
    assessment_id: int
    ruleset: str
    lines: list[PlanLine]
    in_containers: int  # files to migrate that sit inside ZIP/TAR…: extract them first
    missing_tools: dict[str, str] = field(default_factory=dict)  # tool -> apt-get hint
    rates: dict[str, dict[str, Any]] = field(default_factory=dict)

    def totals(self, by: str) -> list[dict[str, Any]]:
        """Files, bytes, estimated output and time per 'rule' or 'org'."""
        out: dict[str, dict[str, Any]] = {}
        for line in self.lines:
            key = getattr(line, by)
            cell = out.setdefault(
                key, {by: key, "files": 0, "bytes": 0, "est_output_bytes": 0, "est_seconds": 0.0}
            )
            cell["files"] += line.files
            cell["bytes"] += line.bytes
            cell["est_output_bytes"] += line.est_output_bytes
            cell["est_seconds"] += line.est_seconds
        return sorted(out.values(), key=lambda c: -c["bytes"])

    def as_dict(self) -> dict[str, Any]:
        return {
            "scan_id": self.scan_id,
            "assessment_id": self.assessment_id,
            "ruleset": self.ruleset,
            "lines": [asdict(x) for x in self.lines],
            "by_rule": self.totals("rule"),
            "by_org": self.totals("org"),
            "in_containers": self.in_containers,
            "missing_tools": self.missing_tools,
            "rates": self.rates,
        }


def tool_missing(tool: str) -> str | None:
    """None if the tool's converter module finds its program, else how to install it."""
    from .registry import MODULES

    module = MODULES.get(tool)
    if module is not None and module.available():
        return None
    return f"{tool} not found: apt-get install {PACKAGES.get(tool, tool)}"


def make_plan(catalog: Catalog, scan_id: int | None = None, only: str | None = None) -> Plan:
    """The plan for a scan's newest assessment; ``only`` keeps one rule id or organisation."""
    record = catalog.scan(scan_id)
    aid = catalog.last_assessment(record.id)
    if aid is None:
        raise UsageError(f"scan {record.id} has not been assessed: run 'preserveplan assess'")
    assessment = catalog.assessment(aid)
    actions = {
        r["id"]: r["action"] for r in assessment["policy"]["rules"] if r.get("action") is not None
    }
    measured = {t: Rate(*r, measured=True) for t, r in catalog.tool_rates().items()}
    rates = {**DEFAULT_RATES, **measured}
    lines: list[PlanLine] = []
    in_containers = 0
    for rule_id, org, inside, files, nbytes in catalog.migration_groups(aid, record.id):
        if only and only not in (rule_id, org):
            continue
        if inside:
            in_containers += files
            continue
        action = actions.get(rule_id)
        if action is None:  # an override said migrate: no tool is named for it
            continue
        for output in action_outputs(action):  # the main output, then the 'also' ones
            rate = rates.get(output["tool"], Rate(1.0, 1.0, 1.0))
            lines.append(
                PlanLine(
                    rule=rule_id,
                    org=org,
                    tool=output["tool"],
                    target=output["target"],
                    target_puid=output["target_puid"],
                    files=files,
                    bytes=nbytes,
                    est_output_bytes=int(nbytes * rate.output_ratio),
                    est_seconds=files * rate.seconds_per_file + nbytes / 1e6 * rate.seconds_per_mb,
                )
            )
    tools = {line.tool for line in lines}
    missing = {t: hint for t in sorted(tools) if (hint := tool_missing(t)) is not None}
    return Plan(
        scan_id=record.id,
        assessment_id=aid,
        ruleset=f"{assessment['ruleset']} {assessment['ruleset_version']}",
        lines=lines,
        in_containers=in_containers,
        missing_tools=missing,
        rates={
            t: {**asdict(rates[t]), "source": "calibrated" if rates[t].measured else "default"}
            for t in sorted(tools)
            if t in rates
        },
    )
