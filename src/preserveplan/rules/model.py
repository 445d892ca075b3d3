"""The ruleset model: what a preservation policy says about each format."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

STATUSES = ("preservation", "acceptable", "migrate", "at-risk", "unknown")
RISKS = ("low", "moderate", "high")
TOOLS = ("libreoffice", "ghostscript", "ffmpeg", "imagemagick", "msgconvert")
TARGETS = ("pdfa-2b", "tiff", "png", "ffv1-mkv", "wav", "flac", "eml", "odt", "ods", "csv", "xml")
# Most specific first: a PUID rule beats a MIME rule beats an extension rule beats a class rule.
MATCH_KEYS = ("puid", "mime", "ext", "class")
# Findings every ruleset that extends nothing must state, and (after them) the findings added
# later, which a ruleset may state and which otherwise take FINDING_DEFAULTS.
REQUIRED_FINDINGS = (
    "encrypted",
    "unreadable",
    "unidentified",
    "multiple_matches",
    "extension_mismatch",
)
FINDINGS = (*REQUIRED_FINDINGS, "fixity_mismatch", "mets_error", "not_in_mets")


@dataclass(frozen=True)
class Output:
    """One more output of an action (e.g. an ODS copy beside a spreadsheet's PDF/A)."""

    tool: str
    target: str
    target_puid: str


@dataclass(frozen=True)
class Action:
    tool: str
    target: str
    target_puid: str
    keep_original: bool = True
    also: tuple[Output, ...] = ()

    def outputs(self) -> list[Output]:
        """Every output of the action, the main one first."""
        return [Output(self.tool, self.target, self.target_puid), *self.also]


@dataclass(frozen=True)
class Rule:
    id: str
    match_key: str  # one of MATCH_KEYS
    values: tuple[str, ...]
    status: str
    risk: str
    rationale: str
    source: str
    title: str = ""
    action: Action | None = None
    origin: str = ""  # file:line where the rule was defined

    @property
    def level(self) -> int:
        return MATCH_KEYS.index(self.match_key)


@dataclass(frozen=True)
class Finding:
    status: str
    risk: str
    rationale: str
    source: str


_CSIP = (
    "E-ARK CSIP 2.x, CSIP69-CSIP72 (mets:file SIZE, CHECKSUM, CHECKSUMTYPE: fixity of every "
    "file of an information package); Riksarkivet, FGS Paketstruktur (CSPackage)†"
)
FINDING_DEFAULTS: dict[str, Finding] = {
    "fixity_mismatch": Finding(
        "at-risk",
        "high",
        "The file differs from what its information package's METS records (checksum or "
        "size): damaged or altered since it was packaged; compare with the delivered copy.",
        _CSIP,
    ),
    "mets_error": Finding(
        "at-risk",
        "high",
        "The package's METS cannot be read (not well-formed, unsafe or unreadable): none of "
        "the files it describes can be checked; ask the producer for a corrected package.",
        _CSIP,
    ),
    "not_in_mets": Finding(
        "at-risk",
        "moderate",
        "A file inside an information package that no METS of the package lists: added after "
        "packaging or left out by the producer; its integrity cannot be checked.",
        _CSIP,
    ),
}


@dataclass
class Ruleset:
    name: str
    version: str
    rules: list[Rule]
    findings: dict[str, Finding]
    title: str = ""
    description: str = ""
    chain: list[str] = field(default_factory=list)  # files, base first

    def rule(self, rule_id: str) -> Rule | None:
        return next((r for r in self.rules if r.id == rule_id), None)

    @property
    def effective_findings(self) -> dict[str, Finding]:
        """The findings in force: those the ruleset states, the built-in defaults for the
        optional ones it does not."""
        found = dict(self.findings)
        for key, finding in FINDING_DEFAULTS.items():
            found.setdefault(key, finding)
        return found

    def as_dict(self) -> dict[str, Any]:
        return {
            "ruleset": self.name,
            "version": self.version,
            "title": self.title,
            "chain": self.chain,
            "findings": {k: asdict(v) for k, v in self.effective_findings.items()},
            "rules": [
                {
                    "id": r.id,
                    "title": r.title,
                    "match": {r.match_key: list(r.values)},
                    "status": r.status,
                    "risk": r.risk,
                    "action": asdict(r.action) if r.action else None,
                    "rationale": r.rationale,
                    "source": r.source,
                    "origin": r.origin,
                }
                for r in self.rules
            ],
        }

    @property
    def digest(self) -> str:
        """Changes whenever anything in the effective policy changes."""
        data = self.as_dict()
        data.pop("chain")
        for rule in data["rules"]:
            rule.pop("origin")
        text = json.dumps(data, sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def match(
        self, puid: str | None, mime: str | None, ext: str | None, klass: str | None
    ) -> Rule | None:
        """The most specific rule for one identification (the same logic assess runs in SQL)."""
        first_class = (klass or "").split(", ")[0]
        wanted = {"puid": puid, "mime": mime, "ext": (ext or "").lower(), "class": first_class}
        for key in MATCH_KEYS:
            value = wanted[key]
            if not value:
                continue
            for rule in self.rules:
                if rule.match_key == key and value in rule.values:
                    return rule
        return None


def action_outputs(action: dict[str, Any]) -> list[dict[str, str]]:
    """The outputs of an action as stored in an assessment's policy (a dict): the main one,
    then its ``also`` outputs (their tool defaults to the action's)."""
    main = {k: action[k] for k in ("tool", "target", "target_puid")}
    return [main, *({"tool": action["tool"], **extra} for extra in action.get("also") or ())]


def also_text(action: dict[str, Any]) -> str:
    """`` + ods (fmt/1755)`` for each extra output of a policy action, for one-line texts."""
    return "".join(f" + {o['target']} ({o['target_puid']})" for o in action_outputs(action)[1:])
