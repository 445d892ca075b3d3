"""Render a specialist or management report of one scan to a single self-contained HTML file."""

from __future__ import annotations

import os
from datetime import date, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from ..catalog import Catalog
from ..collation import swedish_key
from ..errors import UsageError
from ..export import atomic_path
from ..migrate.plan import Plan, make_plan
from . import aggregate as A
from . import charts
from .strings import fmt_bytes, fmt_duration, fmt_gb, fmt_number, fmt_percent, strings

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
    env.filters["duration"] = lambda v: fmt_duration(v, lang)
    env.filters["hours"] = lambda v: fmt_number(v / 3600, lang, 1)
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
    context["plan"] = _plan(catalog, data)
    if kind == "specialist":
        csv_target = csv_path_for(target)
        with atomic_path(csv_target) as tmp, open(tmp, "w", encoding="utf-8", newline="") as fh:
            A.write_csv(catalog, data, fh)
            _readable(tmp)
        context.update(_specialist(catalog, data, t, lang))
        context["csv_name"] = csv_target.name
    else:
        context.update(_management(catalog, data, t, lang, compare, context["plan"]))
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
    profile = A.profile(data)
    classes = A.pronom_classes(catalog, data) if data.assessment is None else None
    families = A.families(data, profile, classes)
    other = t["family_other"] if data.assessment is not None else t["family_other_class"]
    for fam in families:
        fam["name"] = fam["name"] or other
    grouped = data.assessment is not None or any(f["key"] for f in families)
    return {
        "profile": profile,
        "families": families if grouped else None,
        "rules": A.rules_used(data),
        "findings_policy": A.policy_findings(data),
        "per_rule": per_rule,
        "per_org": per_org,
        "lists": lists,
        "problems": A.problems(catalog, data),
        "migrations": A.migration_status(catalog, data),
        "list_limit": A.LIST_LIMIT,
    }


def _management(
    catalog: Catalog,
    data: A.ReportData,
    t: dict[str, str],
    lang: str,
    compare: int | None,
    plan: dict[str, Any] | None,
) -> dict[str, Any]:
    orgs = data.by("org")
    orgs.sort(key=lambda r: (-r["bytes"], swedish_key(r["org"])))
    org_status = data.by("org", "status")
    by_org = []
    plan_org = {c["org"]: c for c in plan["by_org"]} if plan else {}
    for row in sorted(orgs, key=lambda r: swedish_key(r["org"])):
        cells = {r["status"]: r for r in org_status if r["org"] == row["org"]}
        by_org.append({**row, "cells": cells, "plan": plan_org.get(row["org"], _EMPTY_PLAN)})
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
        "progress": A.migration_progress(catalog, data),
        "trend": history,
        "trend_chart": trend_chart,
    }


_EMPTY_PLAN: dict[str, Any] = {"files": 0, "bytes": 0, "est_output_bytes": 0, "est_seconds": 0.0}


def _plan(catalog: Catalog, data: A.ReportData) -> dict[str, Any] | None:
    """The migration plan's estimates for the report, or None when no plan can be made."""
    if data.assessment is None:
        return None
    try:
        plan: Plan = make_plan(catalog, data.scan.id)
    except UsageError:
        return None
    rules = A.policy_rules(data)
    by_rule: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    for line in plan.lines:
        key = (line.rule, line.tool, line.target, line.target_puid)
        cell = by_rule.setdefault(
            key,
            {
                "rule": line.rule,
                "title": str(rules.get(line.rule, {}).get("title", "")),
                "tool": line.tool,
                "target": line.target,
                "target_puid": line.target_puid,
                **_EMPTY_PLAN,
            },
        )
        cell["files"] += line.files
        cell["bytes"] += line.bytes
        cell["est_output_bytes"] += line.est_output_bytes
        cell["est_seconds"] += line.est_seconds
    total = dict(_EMPTY_PLAN)
    for line in plan.lines:
        total["files"] += line.files
        total["bytes"] += line.bytes
        total["est_output_bytes"] += line.est_output_bytes
        total["est_seconds"] += line.est_seconds
    sources = {r["source"] for r in plan.rates.values()}
    rate_mode = sources.pop() if len(sources) == 1 else ("mixed" if sources else "none")
    migrate_files = data.status_totals()["migrate"].files
    return {
        "total": total,
        "by_rule": sorted(by_rule.values(), key=lambda c: (-c["bytes"], c["rule"], c["tool"])),
        "by_org": plan.totals("org"),
        "rates": [{"tool": tool, **rate} for tool, rate in plan.rates.items()],
        "rate_mode": rate_mode,
        "missing_tools": plan.missing_tools,
        "in_containers": plan.in_containers,
        "no_tool": max(0, migrate_files - total["files"] - plan.in_containers),
    }
