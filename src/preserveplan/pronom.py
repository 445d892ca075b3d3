"""PRONOM format names (V125, as embedded in pygfried), for validating rulesets and labelling."""

from __future__ import annotations

import csv
import functools
import re
from dataclasses import dataclass
from importlib import resources

PUID_RE = re.compile(r"^(x-)?fmt/[0-9]+$")


@dataclass(frozen=True)
class PronomFormat:
    puid: str
    name: str
    version: str
    mime: str
    klass: str


@functools.cache
def formats() -> dict[str, PronomFormat]:
    """Every PUID Siegfried's signature file knows."""
    text = (
        resources.files("preserveplan")
        .joinpath("data/pronom_v125_formats.tsv")
        .read_text(encoding="utf-8")
    )
    rows = csv.DictReader(text.splitlines(), delimiter="\t")
    return {
        r["puid"]: PronomFormat(r["puid"], r["name"], r["version"], r["mime"], r["class"])
        for r in rows
    }


def is_puid(value: str) -> bool:
    return bool(PUID_RE.match(value))


def label(puid: str) -> str:
    """'Name (version)' for a PUID, or the PUID itself if unknown."""
    fmt = formats().get(puid)
    if fmt is None:
        return puid
    return f"{fmt.name} ({fmt.version})" if fmt.version else fmt.name
