"""Render a specialist or management report of one scan to a single self-contained HTML file."""

from __future__ import annotations

import os
from datetime import date, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from ..catalog import Catalog
from ..export import atomic_path
from . import aggregate as A
from . import charts
from .strings import fmt_bytes, fmt_gb, fmt_number, fmt_percent, strings

KINDS = ("specialist", "management")


def _env(lang: str) -> Environment:
    env = Environment(
        loader=PackageLoader("preserveplan.report", "templates"),
        autoescape=select_autoescape(
            enabled_extensions=("html", "j2", "html.j2"), default_for_string=True, default=True
        ),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["num"] = lambda v, d=0: fmt_number(v, lang, d)
    env.filters["size"] = lambda v: fmt_bytes(v, lang)
    env.filters["gb"] = lambda v: fmt_gb(v, lang)
    env.filters["pct"] = lambda part, whole: fmt_percent(part, whole, lang)
    return env


def default_output(kind: str, scan_id: int, today: date | None = None) -> Path:
    day = (today or date.today()).isoformat()
    return Path("reports") / f"{kind}-{scan_id}-{day}.html"


def csv_path_for(html: Path) -> Path:
    return html.with_name(f"{html.stem}-files.csv")


def write_report(
    catalog: Catalog,
    kind: str = "specialist",
    scan_id: int | None = None,
    lang: str | None = None,
    output: str | os.PathLike[str] | None = None,
    compare: int | None = None,
) -> Path:
    """Write the report; returns the path of the HTML file (a CSV beside it for specialists)."""
    if kind not in KINDS:
        raise ValueError(f"unknown report kind {kind!r}; choose one of {', '.join(KINDS)}")
    lang = lang or ("sv" if kind == "management" else "en")
    t = strings(lang)
    data = A.collect(catalog, scan_id)
    target = Path(output) if output is not None else default_output(kind, data.scan.id)
    context = _common(data, t, lang)
    if kind == "specialist":
        csv_target = csv_path_for(target)
        with atomic_path(csv_target) as tmp, open(tmp, "w", encoding="utf-8", newline="") as fh:
            A.write_csv(catalog, data, fh)
            _readable(tmp)
        context.update(_specialist(catalog, data, t, lang))
        context["csv_name"] = csv_target.name
    else:
        context.update(_management(catalog, data, t, lang, compare))
    html = _env(lang).get_template(f"{kind}.html.j2").render(**context)
    with atomic_path(target) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        fh.write(html)
        _readable(tmp)
    return target


def _readable(path: str) -> None:
    """Reports are for reading: the usual file mode (temp files are created 0600)."""
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(path, 0o666 & ~mask)


def _status_name(t: dict[str, str], status: str) -> str:
    return t.get(f"st_{status}", status)


def _common(data: A.ReportData, t: dict[str, str], lang: str) -> dict[str, Any]:
    statuses = data.status_totals()
    return {
        "t": t,
        "lang": lang,
        "scan": data.scan,
        "assessment": data.assessment,
        "catalog_path": data.catalog_path,
        "totals": data.totals,
        "statuses": [
            {"key": k, "name": _status_name(t, k), "files": v.files, "bytes": v.bytes}
            for k, v in statuses.items()
            if v.files or k not in ("unassessed", "unknown")
        ],
        "status_map": statuses,
        "status_name": lambda s: _status_name(t, s),
        "risk_name": lambda r: t.get(f"risk_{r}", r) if r else t["risk_none"],
        "finding_name": lambda f: t.get(f"f_{f}", f) if f else "",
        "org_name": lambda o: o or t["org_none"],
        "report_date": datetime.now().astimezone().isoformat(timespec="minutes"),
        "status_chart": charts.stacked_bar(
            t["m_status_chart"],
            [
                (k, _status_name(t, k), float(v.files), fmt_number(v.files, lang))
                for k, v in statuses.items()
            ],
        ),
    }


def _specialist(
    catalog: Catalog, data: A.ReportData, t: dict[str, str], lang: str
) -> dict[str, Any]:
    focus = ["at-risk", "migrate"]
    per_rule = data.by("status", "rule", "finding", where={"status": focus})
    per_org = data.by("org", "status", where={"status": focus})
    lists = []
    for status, title in (("at-risk", t["list_atrisk"]), ("migrate", t["list_migrate"])):
        total = data.status_totals()[status].files
        lists.append(
            {
                "status": status,
                "title": title,
                "total": total,
                "rows": A.status_files(catalog, data, status, A.LIST_LIMIT),
            }
        )
    return {
        "profile": A.profile(data),
        "rules": A.rules_used(data),
        "findings_policy": A.policy_findings(data),
        "per_rule": per_rule,
        "per_org": per_org,
        "lists": lists,
        "problems": A.problems(catalog, data),
        "list_limit": A.LIST_LIMIT,
    }


def _management(
    catalog: Catalog, data: A.ReportData, t: dict[str, str], lang: str, compare: int | None
) -> dict[str, Any]:
    orgs = data.by("org")
    orgs.sort(key=lambda r: (-r["bytes"], r["org"]))
    org_status = data.by("org", "status")
    by_org = []
    for row in sorted(orgs, key=lambda r: r["org"]):
        cells = {r["status"]: r for r in org_status if r["org"] == row["org"]}
        by_org.append({**row, "cells": cells})
    history = A.trend(catalog, data)
    trend_chart = None
    if len(history) >= 2:
        trend_chart = charts.lines(
            t["m_trend_files"],
            [f"{h['date']} (#{h['scan_id']})" for h in history],
            [
                ("at-risk", t["st_at-risk"], [float(h["at_risk"]) for h in history]),
                ("migrate", t["st_migrate"], [float(h["migrate"]) for h in history]),
            ],
            lambda v: fmt_number(v, lang),
        )
    return {
        "by_org": by_org,
        "org_chart": charts.hbars(
            t["m_org_chart"],
            [(r["org"] or t["org_none"], float(r["bytes"]) / 1e9) for r in orgs],
            lambda v: fmt_bytes(v * 1e9, lang),
        ),
        "compare": A.comparison(catalog, data, compare),
        "trend": history,
        "trend_chart": trend_chart,
    }
