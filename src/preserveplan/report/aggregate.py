"""The figures of a report, counted in SQLite with GROUP BY (never one Python object per file).

One pass over the scan's files joined to their assessment gives a small "cube" (files and bytes
per organisation, PUID, status, risk, rule, finding and outcome); the tables of both reports are
sums over that cube. File lists are capped with LIMIT; only the CSV export streams every row.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any

import pandas as pd

from .. import paths as P
from ..catalog import Catalog, ScanRecord
from ..rules.model import also_text

LIST_LIMIT = 200  # rows per file list on the page
PROBLEM_LIMIT = 50  # rows per identification-problem list
DUP_GROUPS = 30  # duplicate groups shown
DUP_PATHS = 10  # paths shown per duplicate group
STATUS_ORDER = ("preservation", "acceptable", "migrate", "at-risk", "unknown", "unassessed")
KINDS = "('file', 'member')"
CSV_FIELDS = ("path", "org", "size", "puid", "format", "status", "risk", "rule", "finding")

_CUBE_COLS = [
    "org",
    "puid",
    "format",
    "version",
    "status",
    "risk",
    "rule",
    "finding",
    "outcome",
    "files",
    "bytes",
]


def _text(value: Any) -> str:
    return "" if value is None else str(value)


@dataclass
class Totals:
    files: int = 0
    bytes: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"files": self.files, "bytes": self.bytes}


@dataclass
class ReportData:
    scan: ScanRecord
    assessment: dict[str, Any] | None
    catalog_path: str
    totals: Totals
    cube: pd.DataFrame
    extra: dict[str, Any] = field(default_factory=dict)

    # -- sums over the cube ----------------------------------------------------------------
    def by(self, *cols: str, where: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        df = self.cube
        for key, value in (where or {}).items():
            df = df[df[key].isin(value if isinstance(value, list | tuple) else [value])]
        if df.empty:
            return []
        grouped = df.groupby(list(cols), dropna=False, sort=False)[["files", "bytes"]].sum()
        grouped = grouped.reset_index().sort_values(["files", "bytes"], ascending=False)
        out: list[dict[str, Any]] = []
        for rec in grouped.to_dict("records"):
            out.append({str(k): _py(v) for k, v in rec.items()})
        return out

    def status_totals(self) -> dict[str, Totals]:
        out = {s: Totals() for s in STATUS_ORDER}
        for row in self.by("status"):
            cell = out.setdefault(row["status"], Totals())
            cell.files += row["files"]
            cell.bytes += row["bytes"]
        return out


def _py(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    return value


def collect(catalog: Catalog, scan_id: int | None) -> ReportData:
    """The scan record, its newest assessment and the cube of files/bytes."""
    record = catalog.scan(scan_id)
    aid = catalog.last_assessment(record.id)
    assessment = catalog.assessment(aid) if aid is not None else None
    rows = catalog.db.execute(
        f"""SELECT f.org, COALESCE(i.puid, ''), MAX(i.format), MAX(i.version),
                   COALESCE(a.status, 'unassessed'), COALESCE(a.risk, ''),
                   COALESCE(a.rule_id, ''), COALESCE(a.finding, ''), f.outcome,
                   COUNT(*), COALESCE(SUM(f.size), 0)
            FROM files f LEFT JOIN identifications i ON i.id = f.ident_id
            LEFT JOIN assessed a ON a.assessment_id = ? AND a.path = f.path
            WHERE f.scan_id = ? AND f.kind IN {KINDS}
            GROUP BY f.org, 2, 5, 6, 7, 8, f.outcome""",
        (aid, record.id),
    ).fetchall()
    cube = pd.DataFrame(rows, columns=_CUBE_COLS)
    for col in ("format", "version"):
        cube[col] = cube[col].fillna("")
    totals = Totals(int(cube["files"].sum()), int(cube["bytes"].sum()))
    return ReportData(record, assessment, str(catalog.path), totals, cube)


# -- policy ----------------------------------------------------------------------------------
def policy_rules(data: ReportData) -> dict[str, dict[str, Any]]:
    if data.assessment is None:
        return {}
    return {r["id"]: r for r in data.assessment["policy"].get("rules", [])}


def policy_findings(data: ReportData) -> dict[str, dict[str, Any]]:
    if data.assessment is None:
        return {}
    return dict(data.assessment["policy"].get("findings", {}))


def action_text(rule: dict[str, Any] | None) -> str:
    act = (rule or {}).get("action")
    if not act:
        return ""
    keep = "" if act.get("keep_original", True) else " (original not kept)"
    return f"{act['tool']} → {act['target']} ({act['target_puid']}){also_text(act)}{keep}"


def short_source(source: str) -> str:
    first = source.split(";")[0].strip()
    return first if len(first) <= 90 else first[:87] + "…"


def _top_by_puid(cube: pd.DataFrame, col: list[str]) -> dict[str, tuple[Any, ...]]:
    """For each PUID, the value(s) of ``col`` that most of its files have."""
    if cube.empty:
        return {}
    g: pd.DataFrame = cube.groupby(["puid", *col], dropna=False)["files"].sum().reset_index()
    g = g.sort_values(["files", *col], ascending=[False, *([True] * len(col))])
    g = g.drop_duplicates("puid")
    return {str(r[0]): tuple(r[1:]) for r in g[["puid", *col]].itertuples(index=False)}


def profile(data: ReportData) -> list[dict[str, Any]]:
    """One row per PUID: files, bytes, and the format rule most of its files fall under."""
    rules = policy_rules(data)
    names = _top_by_puid(data.cube, ["format", "version"])
    rule_of = _top_by_puid(data.cube, ["rule"])
    status_of = _top_by_puid(data.cube, ["status"])
    out = []
    for row in data.by("puid"):
        puid = row["puid"]
        fmt_name, version = names.get(puid, ("", ""))
        rule_id = str(rule_of.get(puid, ("",))[0])
        rule = rules.get(rule_id)
        if rule is not None:
            status, risk = rule["status"], rule["risk"]
        else:
            status, risk = str(status_of.get(puid, ("unassessed",))[0]), ""
        source = str((rule or {}).get("source", ""))
        out.append(
            {
                **row,
                "format": fmt_name,
                "version": version,
                "rule": rule_id,
                "status": status,
                "risk": risk,
                "action": action_text(rule),
                "source": source,
                "source_short": short_source(source),
            }
        )
    return out


OTHER_FAMILY = ""  # the key of the family of PUIDs that fall under no rule (or have no class)


def pronom_classes(catalog: Catalog, data: ReportData) -> dict[str, str]:
    """PUID -> PRONOM class (the one most of its files have), for grouping without rules."""
    rows = catalog.db.execute(
        f"""SELECT COALESCE(i.puid, ''), COALESCE(i.class, ''), COUNT(*)
            FROM files f LEFT JOIN identifications i ON i.id = f.ident_id
            WHERE f.scan_id = ? AND f.kind IN {KINDS}
            GROUP BY 1, 2 ORDER BY 1, 3 DESC, 2""",
        (data.scan.id,),
    ).fetchall()
    out: dict[str, str] = {}
    for puid, cls, _ in rows:
        out.setdefault(str(puid), str(cls).split(",")[0].strip())
    return out


def families(
    data: ReportData, rows: list[dict[str, Any]], classes: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """The profile rows grouped into format families, largest first, "other" last.

    With an assessment a family is the rule a PUID falls under (its title names the family);
    without one, ``classes`` (PUID -> PRONOM class) groups them. Family totals are the sums of
    their rows, so the families add up to the profile.
    """
    rules = policy_rules(data)
    groups: dict[str, dict[str, Any]] = {}
    for row in rows:
        if data.assessment is not None:
            key = row["rule"] if row["rule"] in rules else OTHER_FAMILY
            name = str(rules[key].get("title") or key) if key else ""
        else:
            key = (classes or {}).get(row["puid"], "") or OTHER_FAMILY
            name = key
        fam = groups.setdefault(key, {"key": key, "name": name, "files": 0, "bytes": 0, "rows": []})
        fam["files"] += row["files"]
        fam["bytes"] += row["bytes"]
        fam["rows"].append(row)
    out = []
    for fam in groups.values():
        rule = rules.get(fam["key"]) if fam["key"] else None
        if rule is not None:
            fam["status"], fam["risk"] = rule["status"], rule["risk"]
        else:
            statuses = {r["status"] for r in fam["rows"]}
            risks = {r["risk"] for r in fam["rows"]}
            fam["status"] = statuses.pop() if len(statuses) == 1 else ""
            fam["risk"] = risks.pop() if len(risks) == 1 else ""
        out.append(fam)
    out.sort(key=lambda f: (f["key"] == OTHER_FAMILY, -f["files"], -f["bytes"], f["name"]))
    return out


def rules_used(data: ReportData) -> list[dict[str, Any]]:
    rules = policy_rules(data)
    used = {r["rule"] for r in data.by("rule") if r["rule"]}
    return [{**rules[rid], "action_text": action_text(rules[rid])} for rid in rules if rid in used]


# -- lists -----------------------------------------------------------------------------------
def _aid(data: ReportData) -> int | None:
    return int(data.assessment["id"]) if data.assessment else None


def status_files(
    catalog: Catalog, data: ReportData, status: str, limit: int
) -> list[dict[str, Any]]:
    aid = _aid(data)
    if aid is None:
        return []
    rows = catalog.db.execute(
        """SELECT a.path, f.org, f.size, i.puid, i.format, a.status, a.risk, a.rule_id, a.finding
           FROM assessed a JOIN files f ON f.scan_id = ? AND f.path = a.path
           LEFT JOIN identifications i ON i.id = f.ident_id
           WHERE a.assessment_id = ? AND a.status = ? ORDER BY a.path LIMIT ?""",
        (data.scan.id, aid, status, limit),
    ).fetchall()
    return [_file_row(r) for r in rows]


def _file_row(r: tuple[Any, ...]) -> dict[str, Any]:
    return {
        "path": P.for_display(bytes(r[0])),
        "org": r[1],
        "size": r[2],
        "puid": _text(r[3]),
        "format": _text(r[4]),
        "status": r[5],
        "risk": _text(r[6]),
        "rule": _text(r[7]),
        "finding": _text(r[8]),
    }


_PROBLEMS = {
    "unidentified": "(i.puid IS NULL OR i.puid = 'UNKNOWN') AND f.outcome IN ('ok', 'changed')",
    "multiple": "i.match_count > 1",
    "mismatch": "i.warning LIKE '%extension mismatch%'",
    "encrypted": "f.outcome = 'encrypted'",
}


def problems(catalog: Catalog, data: ReportData) -> dict[str, Any]:
    """Identification problems: counts and capped lists (also without an assessment)."""
    db = catalog.db
    out: dict[str, Any] = {}
    for key, cond in _PROBLEMS.items():
        n, size = db.execute(
            f"""SELECT COUNT(*), COALESCE(SUM(f.size), 0) FROM files f
                LEFT JOIN identifications i ON i.id = f.ident_id
                WHERE f.scan_id = ? AND f.kind IN {KINDS} AND {cond}""",
            (data.scan.id,),
        ).fetchone()
        rows = db.execute(
            f"""SELECT f.path, f.org, f.size, i.puid, i.format, i.warning, i.match_count,
                       f.message
                FROM files f LEFT JOIN identifications i ON i.id = f.ident_id
                WHERE f.scan_id = ? AND f.kind IN {KINDS} AND {cond}
                ORDER BY f.path LIMIT ?""",
            (data.scan.id, PROBLEM_LIMIT),
        ).fetchall()
        out[key] = {
            "files": n,
            "bytes": size,
            "rows": [
                {
                    "path": P.for_display(bytes(r[0])),
                    "org": r[1],
                    "size": r[2],
                    "puid": _text(r[3]),
                    "format": _text(r[4]),
                    "note": _text(r[5]) or _text(r[7]) or (f"{r[6]} matches" if r[6] else ""),
                }
                for r in rows
            ],
        }
    counts = catalog.outcome_counts(data.scan.id)
    errors = [
        {"outcome": k, "files": v, "bytes": counts["outcome_bytes"].get(k, 0)}
        for k, v in sorted(counts["outcome"].items(), key=lambda kv: -kv[1])
        if k != "ok"
    ]
    err_rows = db.execute(
        """SELECT path, org, outcome, COALESCE(message, container_message, '') FROM files
           WHERE scan_id = ? AND outcome <> 'ok' ORDER BY path LIMIT ?""",
        (data.scan.id, PROBLEM_LIMIT),
    ).fetchall()
    out["errors"] = {
        "by_outcome": errors,
        "files": sum(e["files"] for e in errors),
        "rows": [
            {"path": P.for_display(bytes(r[0])), "org": r[1], "outcome": r[2], "note": r[3]}
            for r in err_rows
        ],
    }
    out["duplicates"] = duplicates(catalog, data.scan.id)
    return out


def duplicates(catalog: Catalog, scan_id: int) -> dict[str, Any]:
    db = catalog.db
    groups, extra, extra_bytes = db.execute(
        f"""SELECT COUNT(*), COALESCE(SUM(n - 1), 0), COALESCE(SUM((n - 1) * size), 0) FROM (
              SELECT COUNT(*) AS n, MAX(size) AS size FROM files
              WHERE scan_id = ? AND kind IN {KINDS} AND sha256 IS NOT NULL AND size > 0
              GROUP BY sha256 HAVING COUNT(*) > 1)""",
        (scan_id,),
    ).fetchone()
    top = db.execute(
        f"""SELECT sha256, COUNT(*), MAX(size) FROM files
            WHERE scan_id = ? AND kind IN {KINDS} AND sha256 IS NOT NULL AND size > 0
            GROUP BY sha256 HAVING COUNT(*) > 1
            ORDER BY (COUNT(*) - 1) * MAX(size) DESC, sha256 LIMIT ?""",
        (scan_id, DUP_GROUPS),
    ).fetchall()
    shown: list[dict[str, Any]] = []
    if top:
        paths: dict[str, list[str]] = {sha: [] for sha, _, _ in top}
        marks = ", ".join("?" for _ in top)
        cur = db.execute(
            f"""SELECT sha256, path FROM (
                  SELECT sha256, path,
                         ROW_NUMBER() OVER (PARTITION BY sha256 ORDER BY path) AS k
                  FROM files WHERE scan_id = ? AND kind IN {KINDS} AND sha256 IN ({marks}))
                WHERE k <= ?""",
            (scan_id, *paths, DUP_PATHS),
        )
        for sha, path in cur:
            paths[sha].append(P.for_display(bytes(path)))
        for sha, n, size in top:
            shown.append(
                {
                    "sha256": sha,
                    "copies": n,
                    "size": size,
                    "paths": paths[sha],
                    "more": max(0, n - len(paths[sha])),
                }
            )
    return {"groups": groups, "extra": extra, "extra_bytes": extra_bytes, "top": shown}


# -- CSV of the complete at-risk / migrate lists ---------------------------------------------
def iter_status_files(
    catalog: Catalog, data: ReportData, statuses: tuple[str, ...] = ("at-risk", "migrate")
) -> Iterator[tuple[Any, ...]]:
    aid = _aid(data)
    if aid is None:
        return
    marks = ", ".join("?" for _ in statuses)
    cur = catalog.db.execute(
        f"""SELECT a.path, f.org, f.size, i.puid, i.format, a.status, a.risk, a.rule_id,
                   a.finding
            FROM assessed a JOIN files f ON f.scan_id = ? AND f.path = a.path
            LEFT JOIN identifications i ON i.id = f.ident_id
            WHERE a.assessment_id = ? AND a.status IN ({marks})
            ORDER BY a.status, a.path""",
        (data.scan.id, aid, *statuses),
    )
    while batch := cur.fetchmany(5000):
        yield from batch


def write_csv(catalog: Catalog, data: ReportData, fh: IO[str]) -> int:
    writer = csv.writer(fh)
    writer.writerow(CSV_FIELDS)
    n = 0
    for r in iter_status_files(catalog, data):
        path = P.to_text(bytes(r[0])).encode("utf-8", "surrogateescape")
        writer.writerow([path.decode("utf-8", "backslashreplace"), *r[1:]])
        n += 1
    return n


# -- comparisons and trend (management) ------------------------------------------------------
def root_bytes(catalog: Catalog, scan_id: int) -> bytes:
    (root,) = catalog.db.execute("SELECT root_bytes FROM scans WHERE id = ?", (scan_id,)).fetchone()
    return bytes(root)


def scan_totals(catalog: Catalog, scan_id: int) -> Totals:
    n, size = catalog.db.execute(
        f"SELECT COUNT(*), COALESCE(SUM(size), 0) FROM files WHERE scan_id = ? AND kind IN {KINDS}",
        (scan_id,),
    ).fetchone()
    return Totals(int(n), int(size))


def _summary_status(summary: dict[str, Any] | None, status: str) -> Totals:
    cell = ((summary or {}).get("status") or {}).get(status) or {}
    return Totals(int(cell.get("files", 0)), int(cell.get("bytes", 0)))


def comparison(catalog: Catalog, data: ReportData, compare: int | None) -> dict[str, Any] | None:
    """What changed since an earlier scan (default: the previous complete scan of the root)."""
    if compare is None:
        compare = catalog.last_complete_scan(root_bytes(catalog, data.scan.id), data.scan.id)
        if compare is None:
            return None
    other = catalog.scan(compare)
    before = scan_totals(catalog, other.id)
    out: dict[str, Any] = {
        "scan": other,
        "before": before.as_dict(),
        "now": data.totals.as_dict(),
        "diff": catalog.diff_counts(other.id, data.scan.id),
        "statuses": [],
        "risk_added": None,
        "risk_reduced": None,
    }
    prev_aid = catalog.last_assessment(other.id)
    cur_aid = _aid(data)
    if prev_aid is None or cur_aid is None:
        return out
    prev_summary = catalog.assessment(prev_aid)["summary"]
    now_status = data.status_totals()
    for status in ("preservation", "acceptable", "migrate", "at-risk", "unknown"):
        b = _summary_status(prev_summary, status)
        n = now_status.get(status, Totals())
        out["statuses"].append({"status": status, "before": b.as_dict(), "now": n.as_dict()})
    db = catalog.db
    added = db.execute(
        """SELECT COUNT(*), COALESCE(SUM(f.size), 0) FROM assessed a
           JOIN files f ON f.scan_id = ? AND f.path = a.path
           LEFT JOIN assessed p ON p.assessment_id = ? AND p.path = a.path
           WHERE a.assessment_id = ? AND a.status = 'at-risk'
             AND p.status IS NOT 'at-risk'""",
        (data.scan.id, prev_aid, cur_aid),
    ).fetchone()
    reduced = db.execute(
        """SELECT COUNT(*), COALESCE(SUM(f.size), 0) FROM assessed p
           JOIN files f ON f.scan_id = ? AND f.path = p.path
           LEFT JOIN assessed a ON a.assessment_id = ? AND a.path = p.path
           WHERE p.assessment_id = ? AND p.status = 'at-risk'
             AND a.status IS NOT 'at-risk'""",
        (other.id, cur_aid, prev_aid),
    ).fetchone()
    out["risk_added"] = {"files": added[0], "bytes": added[1]}
    out["risk_reduced"] = {"files": reduced[0], "bytes": reduced[1]}
    return out


def trend(catalog: Catalog, data: ReportData) -> list[dict[str, Any]]:
    """At-risk and to-migrate files per complete scan of the same root (stored summaries)."""
    rows = catalog.db.execute(
        """SELECT s.id, s.started_at,
                  (SELECT a.summary FROM assessments a WHERE a.scan_id = s.id
                     AND a.summary IS NOT NULL ORDER BY a.id DESC LIMIT 1)
           FROM scans s WHERE s.root_bytes = ? AND (s.status = 'complete' OR s.id = ?)
           ORDER BY s.id""",
        (root_bytes(catalog, data.scan.id), data.scan.id),
    ).fetchall()
    out = []
    for sid, started, summary_json in rows:
        if not summary_json:
            continue
        summary = json.loads(summary_json)
        out.append(
            {
                "scan_id": sid,
                "date": str(started)[:10],
                "files": int(summary.get("files", 0)),
                "at_risk": _summary_status(summary, "at-risk").files,
                "migrate": _summary_status(summary, "migrate").files,
            }
        )
    return out


# -- migration status ------------------------------------------------------------------------
FAILED_LIMIT = 50  # failed migrations listed on the page


RUNS_OF = "SELECT id FROM migration_runs WHERE scan_id = ?"  # a scan's runs, as a subquery


def migration_status(catalog: Catalog, data: ReportData) -> dict[str, Any] | None:
    """The scan's migration runs from the journal, counted with GROUP BY; None without runs.

    Per run and per (run, rule, tool): files done / failed (by outcome) / pending, bytes in
    (source size of the converted files) and out, and validation (``done`` means the output
    passed validation; outcome ``invalid`` means it failed validation). Failed files are a
    capped list.
    """
    db = catalog.db
    runs = db.execute(
        """SELECT id, out_dir, started_at, finished_at, status FROM migration_runs
           WHERE scan_id = ? ORDER BY id""",
        (data.scan.id,),
    ).fetchall()
    if not runs:
        return None
    out_runs: dict[int, dict[str, Any]] = {}
    for rid, out_dir, started, finished, status in runs:
        out_runs[int(rid)] = {
            "id": int(rid),
            "out_dir": str(out_dir),
            "started_at": _text(started),
            "finished_at": _text(finished),
            "status": str(status),
            **_empty_counts(),
            "by_rule": {},
        }
    rows = db.execute(
        f"""SELECT run_id, rule_id, tool, target, state, COALESCE(outcome, ''), COUNT(*),
                   COALESCE(SUM(size), 0), COALESCE(SUM(output_size), 0)
            FROM migrations WHERE run_id IN ({RUNS_OF})
            GROUP BY 1, 2, 3, 4, 5, 6""",
        (data.scan.id,),
    ).fetchall()
    for rid, rule, tool, target, state, outcome, n, size, out_size in rows:
        run = out_runs[int(rid)]
        cell = run["by_rule"].setdefault(
            (rule, tool, target),
            {"rule": rule, "tool": tool, "target": target, **_empty_counts()},
        )
        for counts in (run, cell):
            _add_counts(counts, str(state), str(outcome), int(n), int(size), int(out_size))
    for run in out_runs.values():
        run["by_rule"] = sorted(
            run["by_rule"].values(), key=lambda c: (-c["files"], c["rule"], c["tool"])
        )
    (failed_total,) = db.execute(
        f"""SELECT COUNT(*) FROM migrations
            WHERE run_id IN ({RUNS_OF}) AND state = 'failed'""",
        (data.scan.id,),
    ).fetchone()
    failed = db.execute(
        f"""SELECT run_id, path, rule_id, tool, COALESCE(outcome, ''), COALESCE(message, ''),
                   attempts, size
            FROM migrations WHERE run_id IN ({RUNS_OF}) AND state = 'failed'
            ORDER BY run_id, path LIMIT ?""",
        (data.scan.id, FAILED_LIMIT),
    ).fetchall()
    return {
        "runs": list(out_runs.values()),
        "failed_total": int(failed_total),
        "failed_rows": [
            {
                "run_id": r[0],
                "path": P.for_display(bytes(r[1])),
                "rule": r[2],
                "tool": r[3],
                "outcome": r[4],
                "message": r[5],
                "attempts": r[6],
                "size": r[7],
            }
            for r in failed
        ],
        "failed_limit": FAILED_LIMIT,
    }


def _empty_counts() -> dict[str, Any]:
    return {
        "files": 0,
        "done": 0,
        "failed": 0,
        "pending": 0,
        "failed_by": {},
        "invalid": 0,
        "bytes": 0,
        "bytes_in": 0,
        "bytes_out": 0,
    }


def _add_counts(
    c: dict[str, Any], state: str, outcome: str, n: int, size: int, out_size: int
) -> None:
    c["files"] += n
    c["bytes"] += size
    if state == "done":
        c["done"] += n
        c["bytes_in"] += size
        c["bytes_out"] += out_size
    elif state == "failed":
        c["failed"] += n
        key = outcome or "failed"
        c["failed_by"][key] = c["failed_by"].get(key, 0) + n
        if outcome == "invalid":
            c["invalid"] += n
    else:
        c["pending"] += n


def migration_progress(catalog: Catalog, data: ReportData) -> dict[str, Any] | None:
    """Files converted so far, failed, pending and not yet in any run (management summary).

    A file counts once over all runs of the scan: done if any run converted it, else failed if
    an attempt failed, else pending. "Not in a run" are the files the newest assessment says to
    migrate with a tool (on disk, not inside containers) that no run of the scan has journalled.
    """
    db = catalog.db
    (runs,) = db.execute(
        "SELECT COUNT(*) FROM migration_runs WHERE scan_id = ?", (data.scan.id,)
    ).fetchone()
    out = {k: {"files": 0, "bytes": 0} for k in ("done", "failed", "pending", "not_in_run")}
    names = {2: "done", 1: "failed", 0: "pending"}
    # a source is done when every output of its action is (in any run), failed when one failed
    rows = db.execute(
        f"""SELECT best, COUNT(*), COALESCE(SUM(size), 0) FROM (
              SELECT MIN(best) AS best, MAX(size) AS size FROM (
                SELECT path, MAX(size) AS size,
                       MAX(CASE state WHEN 'done' THEN 2 WHEN 'failed' THEN 1 ELSE 0 END) AS best
                FROM migrations WHERE run_id IN ({RUNS_OF}) GROUP BY path, target)
              GROUP BY path)
            GROUP BY best""",
        (data.scan.id,),
    ).fetchall()
    for best, n, size in rows:
        out[names[int(best)]] = {"files": int(n), "bytes": int(size)}
    aid = _aid(data)
    with_tool = [rid for rid, r in policy_rules(data).items() if r.get("action")]
    if aid is not None and with_tool:
        marks = ", ".join("?" for _ in with_tool)
        n, size = db.execute(
            f"""SELECT COUNT(*), COALESCE(SUM(f.size), 0) FROM assessed a
                JOIN files f ON f.scan_id = ? AND f.path = a.path
                WHERE a.assessment_id = ? AND a.status = 'migrate' AND f.parent IS NULL
                  AND a.rule_id IN ({marks})
                  AND NOT EXISTS (SELECT 1 FROM migrations m
                                  WHERE m.run_id IN ({RUNS_OF})
                                    AND m.path = a.path)""",
            (data.scan.id, aid, *with_tool, data.scan.id),
        ).fetchone()
        out["not_in_run"] = {"files": int(n), "bytes": int(size)}
    if not runs and not out["not_in_run"]["files"]:
        return None
    remaining = {
        "files": out["pending"]["files"] + out["not_in_run"]["files"],
        "bytes": out["pending"]["bytes"] + out["not_in_run"]["bytes"],
    }
    return {"runs": int(runs), **out, "remaining": remaining}
