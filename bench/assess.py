"""Benchmark ``preserveplan.rules.assess.assess`` against a straightforward streamed baseline.

How to run (from the repository root, with the project's venv)::

    .venv/bin/python bench/assess.py --files 100000            # about 15 s
    .venv/bin/python bench/assess.py --files 1000000           # about 1.5 minutes on 2 cores
    .venv/bin/python bench/assess.py --files 100000 --json     # ...and one JSON object at the end

Options: ``--idents N`` (distinct identifications, default 20000), ``--overrides N`` (manual
decisions, default 40), ``--seed S``, ``--repeat R`` (R interleaved rounds of all variants, each
variant's median run is reported; default 3), ``--rules PATH`` (the ruleset; default
``rules/default.yaml`` if it exists, else ``tests/data/mini-rules.yaml``), ``--keep DIR``
(generate the catalog and the per-variant copies in DIR and leave them there; a later run with
the same DIR, sizes, seed and ruleset file reuses the catalog).

What it does
------------
1. Builds (untimed, in a child process) a synthetic catalog with the real schema
   (``preserveplan.Catalog`` creates it), filled directly with SQL in one transaction: one
   complete ``scans`` row, one ``signatures`` row, ``--idents`` identifications and N file rows.
   Identifications draw their PUID, seeded, from the PUID rules of ``tests/data/mini-rules.yaml``
   and of the ruleset used (about 55 %), from every PUID of
   ``src/preserveplan/data/pronom_v125_formats.tsv`` with Zipf-like weights (about 42 %), or are
   ``UNKNOWN`` (3 %); format, version, MIME and class come from the TSV; 2 % carry the warning
   ``extension mismatch`` (and a wrong extension), 1 % have two matches. Each file
   (``KommunKK/serieSSSS/filNNNNNNN.ext``, organisation = top folder) points to a uniformly drawn
   identification and has its SHA-256 and extension; 99.5 % are ``ok``, 0.3 % ``empty`` (the
   SHA-256 of nothing, identified ``UNKNOWN`` / ``empty source``), 0.2 % ``unreadable`` (no
   checksum, no identification). ``--overrides`` manual decisions (a quarter of them revoked) name
   the SHA-256 of random identifications, so each covers about N / idents files.
2. Runs each variant in a fresh child process (this script with the hidden ``--_run VARIANT``
   flag) on a fresh copy of the catalog (copied untimed, then ``os.sync()``), so that peak memory
   is per variant; the catalog, ruleset and Python modules are loaded before the clock starts:

   ``baseline``    straightforward streamed Python with the same result as ``assess``: one
                   ``SELECT … FROM files f LEFT JOIN identifications i …`` read with
                   ``fetchmany(10000)``; per row ``Ruleset.match(puid, mime, ext, class)`` (the
                   Python matcher), the finding (as assess's SQL derives it), the newest live
                   override of the SHA-256 (the few overrides are read into a dict first); each
                   batch ``executemany``-inserted into ``assessed`` under a new ``assessments``
                   row, the summary counted on the way (a dict of (org, status, risk) cells), all
                   in one transaction. Streamed: never more than a batch of rows in Python.
   ``assess``      ``assess(catalog, ruleset, scan_id)``: one INSERT … SELECT, then the summary.
   ``assess-dry``  the same with ``dry_run=True`` (into a temporary table, dropped afterwards).

   Variants run in interleaved rounds (baseline, assess, assess-dry, baseline, ...), so that a
   slow spell of a shared machine hits them alike; each variant's median run is reported and
   ``runs (s)`` shows its fastest and slowest.

Figures
-------
``seconds`` is the wall time of the call in the child (baseline: its whole loop, commit
included). ``files/s`` = file rows assessed / seconds. ``RSS before`` is the child's VmRSS just
before the clock starts (interpreter, preserveplan, ruamel.yaml, the ruleset, the open catalog);
``peak RSS`` is ``resource.getrusage(RUSAGE_SELF).ru_maxrss`` right after the call, ``growth`` the
difference: what the assessment itself added. RSS is in MiB. The launcher (this process) never
imports preserveplan and stays small, because Linux carries the parent's peak into an exec'd
child's ``ru_maxrss``. ``CPU s`` is the child's user + system CPU during the call.

Checks: every file row of the scan got exactly one outcome (``SELECT COUNT(*) FROM assessed WHERE
assessment_id = ?`` equals N, and no file row lacks one; for the dry run, whose table is dropped,
the summary's file count); the baseline and ``assess`` agree row by row (rule, finding, status,
risk, override; on the last round's copies) and all three summaries are equal.

Targets (reported PASS/FAIL; the script always exits 0 - a benchmark reports, it does not gate)
-----------------------------------------------------------------------------------------------
* peak RSS of ``assess`` at 1 000 000 files                 < 200 MiB
* ``assess`` files/s / ``baseline`` files/s                 >= 1
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import random
import resource
import shutil
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/, for _harness
import _harness as h

# Nothing heavy is imported at module level: the launcher must stay small (see the docstring).

VARIANTS = ("baseline", "assess", "assess-dry")
TARGET_RSS_MIB = 200.0
TARGET_RSS_AT_FILES = 1_000_000
TARGET_SPEED = 1.0
GEN_VERSION = 1  # bump when the generated catalog changes, so that --keep does not reuse an old one
BATCH = 100_000  # file rows per executemany when generating
FETCH = 10_000  # rows per fetchmany in the baseline
FILES_PER_SERIES = 100
KOMMUNER = 20
SHARE_UNKNOWN = 0.03
SHARE_RULE_PUIDS = 0.55
SHARE_MISMATCH = 0.02
SHARE_MULTIPLE = 0.01
SHARE_EMPTY = 0.003
SHARE_UNREADABLE = 0.002
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
REPO = Path(__file__).resolve().parent.parent
MINI_RULES = REPO / "tests" / "data" / "mini-rules.yaml"
DEFAULT_RULES = REPO / "rules" / "default.yaml"
MIME_EXT = {
    "application/pdf": "pdf",
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/tiff": "tif",
    "image/gif": "gif",
    "image/bmp": "bmp",
    "text/plain": "txt",
    "text/html": "html",
    "text/xml": "xml",
    "application/xml": "xml",
    "text/csv": "csv",
    "application/zip": "zip",
    "application/msword": "doc",
    "application/vnd.ms-excel": "xls",
    "application/vnd.ms-powerpoint": "ppt",
    "application/rtf": "rtf",
    "audio/x-wav": "wav",
    "audio/mpeg": "mp3",
    "video/mp4": "mp4",
    "message/rfc822": "eml",
    "application/vnd.ms-outlook": "msg",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "application/vnd.oasis.opendocument.text": "odt",
}
WRONG_EXTS = ("doc", "pdf", "txt", "jpg", "xls", "tif", "dat", "bak")


# =============================================================================================
# Catalog generation (deterministic; in a child process)
# =============================================================================================


def _ext_for(puid: str, name: str, mime: str) -> str:
    """A plausible extension for a format: from its MIME type, else from its name."""
    for m in mime.split(", "):
        if m in MIME_EXT:
            return MIME_EXT[m]
    word = "".join(c for c in name.split(" ")[0].lower() if c.isalnum())
    return word[:4] or "bin"


def _puid_pool(rules_path: Path, rng: random.Random) -> tuple[list[str], list[float], list[str]]:
    """PUIDs with weights: the rules' PUIDs (mini-rules and the ruleset used) share
    SHARE_RULE_PUIDS, every PUID of the TSV the rest, Zipf-like in a seeded order."""
    from preserveplan.pronom import formats
    from preserveplan.rules import load_ruleset

    known = formats()
    rule_puids: list[str] = []
    for path in dict.fromkeys([MINI_RULES, rules_path]):
        for rule in load_ruleset(path).rules:
            if rule.match_key == "puid":
                rule_puids.extend(v for v in rule.values if v in known and v not in rule_puids)
    tsv = sorted(known)
    rng.shuffle(tsv)
    zipf = [1 / (rank + 1) ** 1.1 for rank in range(len(tsv))]
    rest = 1 - SHARE_UNKNOWN - SHARE_RULE_PUIDS
    zipf_total = sum(zipf)
    # Rule PUIDs: unequal shares too (a few PDFs and PNGs dominate, as in a real archive).
    rule_w = [1 / (rank + 1) ** 0.8 for rank in range(len(rule_puids))]
    rule_total = sum(rule_w)
    puids = rule_puids + tsv
    weights = [SHARE_RULE_PUIDS * w / rule_total for w in rule_w]
    weights += [rest * w / zipf_total for w in zipf]
    return puids, weights, rule_puids


def _identifications(
    n: int, sig_id: int, rules_path: Path, rng: random.Random
) -> tuple[list[tuple[Any, ...]], dict[str, Any]]:
    """Rows of ``identifications`` (id first); the last one is the empty-file identification."""
    from preserveplan.pronom import formats

    known = formats()
    puids, weights, rule_puids = _puid_pool(rules_path, rng)
    cum = []
    total = 0.0
    for w in weights:
        total += w
        cum.append(total)
    rows: list[tuple[Any, ...]] = []
    stats = {"unknown": 0, "extension_mismatch": 0, "multiple_matches": 0}
    all_puids = sorted(known)
    for ident_id in range(1, n):
        sha = rng.randbytes(32).hex()
        if rng.random() < SHARE_UNKNOWN:
            ext = rng.choice(WRONG_EXTS)
            rows.append(_ident_row(ident_id, sha, ext, sig_id, "UNKNOWN", warning="no match"))
            stats["unknown"] += 1
            continue
        puid = rng.choices(puids, cum_weights=cum)[0]
        fmt = known[puid]
        ext = _ext_for(puid, fmt.name, fmt.mime)
        warning = None
        match_count = 1
        matches = None
        basis = f"extension match {ext}; byte match at 0, {rng.randint(4, 64)}"
        r = rng.random()
        if r < SHARE_MISMATCH:
            ext = rng.choice([e for e in WRONG_EXTS if e != ext])
            warning = "extension mismatch"
            basis = f"byte match at 0, {rng.randint(4, 64)}"
            stats["extension_mismatch"] += 1
        elif r < SHARE_MISMATCH + SHARE_MULTIPLE:
            other = known[rng.choice(all_puids)]
            match_count = 2
            matches = json.dumps(
                [
                    _match(puid, fmt.name, fmt.version, fmt.mime, fmt.klass, basis),
                    _match(other.puid, other.name, other.version, other.mime, other.klass, basis),
                ]
            )
            stats["multiple_matches"] += 1
        rows.append(
            _ident_row(
                ident_id,
                sha,
                ext,
                sig_id,
                puid,
                fmt.name,
                fmt.version,
                fmt.mime,
                fmt.klass,
                basis,
                warning,
                match_count,
                matches,
            )
        )
    rows.append(_ident_row(n, EMPTY_SHA256, "txt", sig_id, "UNKNOWN", warning="empty source"))
    stats["rule_puids"] = len(rule_puids)
    stats["distinct_puids"] = len({r[4] for r in rows})
    return rows, stats


def _ident_row(
    ident_id: int,
    sha: str,
    ext: str,
    sig_id: int,
    puid: str,
    name: str = "",
    version: str = "",
    mime: str = "",
    klass: str = "",
    basis: str = "",
    warning: str | None = None,
    match_count: int = 1,
    matches: str | None = None,
) -> tuple[Any, ...]:
    """One ``identifications`` row: id, sha256, ext, sig_id, then IDENT_COLUMNS (errors: none)."""
    return (
        ident_id,
        sha,
        ext,
        sig_id,
        puid,
        name or None,
        version or None,
        mime or None,
        klass or None,
        basis or None,
        warning,
        None,
        match_count,
        matches,
    )


def _match(puid: str, name: str, version: str, mime: str, klass: str, basis: str) -> dict[str, str]:
    return {
        "ns": "pronom",
        "id": puid,
        "format": name,
        "version": version,
        "mime": mime,
        "class": klass,
        "basis": basis,
        "warning": "",
    }


def _file_rows(n: int, scan_id: int, idents: list[tuple[Any, ...]], rng: random.Random) -> Any:
    """Batches of ``files`` rows (FILE_COLUMNS order), in path order."""
    empty_id = idents[-1][0]
    ordinary = idents[:-1]
    per_kommun = max(1, math.ceil(n / KOMMUNER))
    lo, hi = math.log(100), math.log(100e6)
    t0, t1 = 946_684_800, 1_717_200_000  # 2000-01-01 .. 2024-06
    batch: list[tuple[Any, ...]] = []
    for i in range(n):
        org = f"Kommun{i // per_kommun:02d}"
        folder = f"{org}/serie{i // FILES_PER_SERIES:04d}/fil{i:07d}."
        mtime = rng.randrange(t0, t1) * 1_000_000_000 + rng.randrange(1_000_000_000)
        r = rng.random()
        if r < SHARE_EMPTY:
            row = (scan_id, (folder + "txt").encode(), None, None, org, "file", "txt", 0, mtime)
            row += (EMPTY_SHA256, empty_id, "empty", None, None, None)
        elif r < SHARE_EMPTY + SHARE_UNREADABLE:
            ext = rng.choice(WRONG_EXTS)
            size = int(math.exp(rng.uniform(lo, hi)))
            row = (scan_id, (folder + ext).encode(), None, None, org, "file", ext, size, mtime)
            row += (None, None, "unreadable", "PermissionError: [Errno 13] Permission denied")
            row += (None, None)
        else:
            ident = ordinary[rng.randrange(len(ordinary))]
            ext = ident[2]
            size = int(math.exp(rng.uniform(lo, hi)))
            row = (scan_id, (folder + ext).encode(), None, None, org, "file", ext, size, mtime)
            row += (ident[1], ident[0], "ok", None, None, None)
        batch.append(row)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def generate_catalog(args: argparse.Namespace) -> dict[str, Any]:
    """``--_gen``: write the synthetic catalog to ``--_db``; returns its manifest."""
    from preserveplan import Catalog
    from preserveplan.catalog import FILE_COLUMNS, IDENT_COLUMNS, now
    from preserveplan.rules import load_ruleset

    started = time.perf_counter()
    db_path = Path(args._db)
    h.remove_db(db_path)
    db_path.parent.mkdir(parents=True, exist_ok=True)
    rules_path = Path(args._rules)
    ruleset = load_ruleset(rules_path)
    rng = random.Random(f"assess-bench:{args.seed}")
    cat = Catalog(db_path)
    db = cat.db
    sigkey = "bench-synthetic;siegfried 1.11.1;default.sig 2024-04-30"
    version = h.version("preserveplan")
    with cat.transaction():
        cur = db.execute(
            """INSERT INTO scans (root, root_bytes, label, started_at, finished_at, status,
               base_scan_id, preserveplan_version, pygfried_version, siegfried_version,
               signature, signature_created, signature_key, options, summary)
               VALUES (?, ?, ?, ?, ?, 'complete', NULL, ?, ?, ?, ?, ?, ?, ?, ?)""",
            (
                "/archive/kommunarkiv",
                b"/archive/kommunarkiv",
                "assess benchmark (synthetic)",
                now(),
                now(),
                version,
                "synthetic",
                "1.11.1",
                "default.sig",
                "2024-04-30T00:00:00Z",
                sigkey,
                json.dumps({"org_depth": 1, "synthetic": True}, sort_keys=True),
                json.dumps({"entries": {"on_disk": args.files}}, sort_keys=True),
            ),
        )
        scan_id = int(cur.lastrowid or 0)
        sig_id = int(
            db.execute("INSERT INTO signatures (key) VALUES (?)", (sigkey,)).lastrowid or 0
        )
        idents, ident_stats = _identifications(max(2, args.idents), sig_id, rules_path, rng)
        names = ", ".join(("id", "sha256", "ext", "sig_id", *IDENT_COLUMNS))
        marks = ", ".join("?" * (4 + len(IDENT_COLUMNS)))
        db.executemany(f"INSERT INTO identifications ({names}) VALUES ({marks})", idents)
        marks = ", ".join("?" * len(FILE_COLUMNS))
        sql = f"INSERT INTO files ({', '.join(FILE_COLUMNS)}) VALUES ({marks})"
        for batch in _file_rows(args.files, scan_id, idents, rng):
            db.executemany(sql, batch)
        overrides = []
        for k in range(args.overrides):
            ident = idents[rng.randrange(len(idents) - 1)]
            status = rng.choice(("preservation", "acceptable", "migrate", "at-risk"))
            risk = rng.choice(("low", "moderate", "high", None))
            revoked = now() if k % 4 == 3 else None
            overrides.append((ident[1], status, risk, "bench decision", "bench", now(), revoked))
        db.executemany(
            """INSERT INTO overrides (sha256, status, risk, reason, who, created_at, revoked_at)
               VALUES (?, ?, ?, ?, ?, ?, ?)""",
            overrides,
        )
    outcomes = dict(db.execute("SELECT outcome, COUNT(*) FROM files GROUP BY 1").fetchall())
    cat.close()  # checkpoints the WAL into the main file, which is then all there is to copy
    return {
        "gen_version": GEN_VERSION,
        "files": args.files,
        "idents": max(2, args.idents),
        "overrides": args.overrides,
        "seed": args.seed,
        "rules": str(rules_path),
        "rules_key": args._rules_key,
        "ruleset": {
            "name": ruleset.name,
            "version": ruleset.version,
            "rules": len(ruleset.rules),
            "digest": ruleset.digest,
        },
        "scan_id": scan_id,
        "db_bytes": db_path.stat().st_size,
        "outcomes": outcomes,
        "identifications": ident_stats,
        "seconds_to_generate": round(time.perf_counter() - started, 2),
    }


# =============================================================================================
# The variants (in child processes)
# =============================================================================================


def run_baseline(cat: Any, ruleset: Any, scan_id: int) -> tuple[int, dict[str, Any]]:
    """Streamed Python: fetchmany, Ruleset.match per row, executemany into ``assessed``."""
    import getpass

    from preserveplan.catalog import now
    from preserveplan.rules.model import FINDINGS

    db = cat.db
    findings = {k: f for k, f in ruleset.findings.items() if k in FINDINGS}
    overrides: dict[str, tuple[int, str, str | None]] = {}
    for oid, sha, status, risk in db.execute(
        "SELECT id, sha256, status, risk FROM overrides WHERE revoked_at IS NULL ORDER BY id"
    ):
        overrides[sha] = (oid, status, risk)  # the newest wins
    cells: dict[tuple[str, str, str], list[int]] = {}
    found: dict[str, int] = {}
    overridden = 0
    with cat.transaction():
        cur = db.execute(
            """INSERT INTO assessments (scan_id, ruleset, ruleset_version, ruleset_digest,
               policy, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?)""",
            (
                scan_id,
                ruleset.name,
                ruleset.version,
                ruleset.digest,
                json.dumps(ruleset.as_dict(), ensure_ascii=False),
                now(),
                getpass.getuser(),
            ),
        )
        aid = int(cur.lastrowid or 0)
        rows = db.execute(
            """SELECT f.path, f.org, f.size, f.sha256, f.outcome, f.ext,
                      i.puid, i.mime, i.class, i.match_count, i.warning
               FROM files f LEFT JOIN identifications i ON i.id = f.ident_id
               WHERE f.scan_id = ? AND f.kind IN ('file', 'member')""",
            (scan_id,),
        )
        insert = "INSERT INTO assessed VALUES (?, ?, ?, ?, ?, ?, ?)"
        while batch := rows.fetchmany(FETCH):
            out = []
            for path, org, size, sha, outcome, ext, puid, mime, klass, count, warning in batch:
                rule = ruleset.match(puid, mime, ext, klass)
                if outcome == "encrypted":
                    finding = "encrypted"
                elif outcome not in ("ok", "changed"):
                    finding = "unreadable"
                elif puid is None or puid == "UNKNOWN":
                    finding = "unidentified"
                elif count > 1:
                    finding = "multiple_matches"
                elif warning and "extension mismatch" in warning.lower():
                    finding = "extension_mismatch"
                else:
                    finding = None
                override = overrides.get(sha) if sha else None
                oid = None
                if override is not None:
                    oid, status, risk = override
                    overridden += 1
                elif finding in findings:
                    status, risk = findings[finding].status, findings[finding].risk
                elif rule is not None:
                    status, risk = rule.status, rule.risk
                else:
                    status, risk = "unknown", None
                out.append((aid, path, rule.id if rule else None, finding, status, risk, oid))
                cell = cells.setdefault((org, status, risk or ""), [0, 0])
                cell[0] += 1
                cell[1] += size or 0
                if finding is not None:
                    found[finding] = found.get(finding, 0) + 1
            db.executemany(insert, out)
        summary = _summary(cells, found, overridden)
        db.execute("UPDATE assessments SET summary = ? WHERE id = ?", (json.dumps(summary), aid))
    return aid, summary


def _summary(
    cells: dict[tuple[str, str, str], list[int]], found: dict[str, int], overridden: int
) -> dict[str, Any]:
    """The summary ``Catalog.assessment_summary`` computes, from the baseline's counts."""
    out: dict[str, Any] = {"status": {}, "risk": {}, "by_org": {}}
    for (org, status, risk), (n, size) in cells.items():
        for bucket in (out, out["by_org"].setdefault(org, {"status": {}, "risk": {}})):
            for key, value in (("status", status), ("risk", risk or "none")):
                cell = bucket[key].setdefault(value, {"files": 0, "bytes": 0})
                cell["files"] += n
                cell["bytes"] += size
    out["findings"] = found
    out["overridden"] = overridden
    out["files"] = sum(c["files"] for c in out["status"].values())
    return out


def child_main(args: argparse.Namespace) -> None:
    """``--_run VARIANT``: run one variant on ``--_db`` and write its figures to ``--_out``."""
    from preserveplan import Catalog
    from preserveplan.rules import load_ruleset
    from preserveplan.rules.assess import assess

    cat = Catalog(args._db)
    ruleset = load_ruleset(args._rules)
    scan_id = cat.scan(args._scan).id
    rss_before = h.vm_kib(b"VmRSS:")
    cpu = h.cpu_seconds()
    started = time.perf_counter()
    if args._run == "baseline":
        aid, summary = run_baseline(cat, ruleset, scan_id)
    else:
        result = assess(cat, ruleset, scan_id, dry_run=args._run == "assess-dry")
        aid, summary = result.id, result.summary
    seconds = time.perf_counter() - started
    cpu = h.cpu_seconds() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    hwm = h.vm_kib(b"VmHWM:")
    # Checks, after the figures were taken.
    (expected,) = cat.db.execute(
        "SELECT COUNT(*) FROM files WHERE scan_id = ? AND kind IN ('file', 'member')", (scan_id,)
    ).fetchone()
    missing: int | None = None
    if aid is None:  # dry run: its table is gone, the summary counted it
        outcomes = summary["files"]
    else:
        (outcomes,) = cat.db.execute(
            "SELECT COUNT(*) FROM assessed WHERE assessment_id = ?", (aid,)
        ).fetchone()
        (missing,) = cat.db.execute(
            """SELECT COUNT(*) FROM files f WHERE f.scan_id = ? AND f.kind IN ('file', 'member')
               AND NOT EXISTS (SELECT 1 FROM assessed a
                               WHERE a.assessment_id = ? AND a.path = f.path)""",
            (scan_id, aid),
        ).fetchone()
    cat.close()
    figures = {
        "seconds": seconds,
        "cpu_s": round(cpu, 2),
        "rss_before_mib": h.mib(rss_before),
        "peak_rss_mib": h.mib(peak),
        "hwm_mib": h.mib(hwm),
        "growth_mib": h.mib(peak - rss_before),
        "assessment_id": aid,
        "expected": expected,
        "outcomes": outcomes,
        "missing": missing,
        "summary": summary,
        "ruleset_digest": ruleset.digest,
    }
    Path(args._out).write_text(json.dumps(figures))


# =============================================================================================
# The launcher
# =============================================================================================


@dataclass
class Measure(h.Timed):
    variant: str
    files: int
    figures: dict[str, Any] | None
    error: str | None = None

    @property
    def check_ok(self) -> bool:
        f = self.figures
        return bool(f) and f["outcomes"] == self.files and not f["missing"]

    def as_dict(self) -> dict[str, Any]:
        s = self.seconds
        figures = dict(self.figures or {})
        figures.pop("summary", None)
        return {
            "variant": self.variant,
            "files": self.files,
            "files_per_s": round(self.files / s, 1) if s else None,
            **figures,
            "check_one_outcome_per_file": self.check_ok,
            "error": self.error,
        }


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.script = os.path.abspath(__file__)
        self.work = h.workdir(args.keep, "preserveplan-bench-assess-")
        self.rules = Path(args.rules).resolve() if args.rules else self.default_rules()
        self.source = h.source_version()
        self.manifest: dict[str, Any] = {}
        self.digests: set[str] = set()  # of the ruleset as each child loaded it

    @staticmethod
    def default_rules() -> Path:
        return DEFAULT_RULES if DEFAULT_RULES.is_file() else MINI_RULES

    def cleanup(self) -> None:
        if not self.args.keep:
            shutil.rmtree(self.work, ignore_errors=True)

    log = staticmethod(h.log)

    # -- the catalog -------------------------------------------------------------------------
    def rules_key(self) -> str:
        digest = hashlib.sha256()
        for path in (self.rules, MINI_RULES):
            digest.update(path.read_bytes())
        return digest.hexdigest()[:16]

    def catalog(self) -> Path:
        a = self.args
        name = f"catalog-{a.files}-i{a.idents}-o{a.overrides}-s{a.seed}"
        db = self.work / f"{name}.db"
        manifest = self.work / f"{name}.json"
        key = self.rules_key()
        if manifest.exists() and db.exists():
            info = json.loads(manifest.read_text())
            if (
                info.get("gen_version") == GEN_VERSION
                and info.get("rules_key") == key
                and info.get("rules") == str(self.rules)
            ):
                self.log(f"reusing the catalog of {a.files} files in {db}")
                self.manifest = info
                return db
        self.log(f"generating a catalog of {a.files} files in {db} ...")
        cmd = [sys.executable, self.script, "--_gen", "--_db", str(db), "--_out", str(manifest)]
        cmd += ["--_rules", str(self.rules), "--_rules-key", key, "--files", str(a.files)]
        cmd += ["--idents", str(a.idents), "--overrides", str(a.overrides), "--seed", str(a.seed)]
        subprocess.run(cmd, check=True)
        self.manifest = json.loads(manifest.read_text())
        m = self.manifest
        self.log(
            f"  {m['files']} files, {m['idents']} identifications, "
            f"{m['db_bytes'] / 1e6:.1f} MB, {m['seconds_to_generate']} s"
        )
        return db

    # -- variants ----------------------------------------------------------------------------
    def _copy(self, master: Path, variant: str) -> Path:
        db = self.work / f"run-{variant}.db"
        h.remove_db(db)
        shutil.copyfile(master, db)
        return db

    def _child(self, variant: str, db: Path) -> tuple[dict[str, Any] | None, str | None]:
        out = self.work / f"result-{os.getpid()}.json"
        cmd = [sys.executable, self.script, "--_run", variant, "--_db", str(db)]
        cmd += ["--_out", str(out), "--_rules", str(self.rules)]
        cmd += ["--_scan", str(self.manifest["scan_id"])]
        self.log(f"  {variant:<10} ({self.args.files} files) ...")
        return h.run_child(cmd, out)

    def measure(self, master: Path) -> tuple[list[Measure], dict[str, Path]]:
        runs: dict[str, list[dict[str, Any]]] = {v: [] for v in VARIANTS}
        last: dict[str, Path] = {}
        for _ in range(self.args.repeat):
            for variant in VARIANTS:
                db = self._copy(master, variant)
                # Write back the copy (and the previous run's writes) now, untimed.
                os.sync()
                figures, error = self._child(variant, db)
                runs[variant].append(figures if figures is not None else {"error": error})
                last[variant] = db
        return [self._median(v, runs[v]) for v in VARIANTS], last

    def _median(self, variant: str, runs: list[dict[str, Any]]) -> Measure:
        n = self.args.files
        errors = [r["error"] for r in runs if "error" in r]
        if errors:
            return Measure(variant, n, None, errors[0])
        self.digests.update(r["ruleset_digest"] for r in runs)
        median = h.median_run(runs)
        if len(runs) > 1:
            median["max_peak_rss_mib"] = max(r["peak_rss_mib"] for r in runs)
        return Measure(variant, n, median)

    def agreement(self, measures: list[Measure], dbs: dict[str, Path]) -> dict[str, Any]:
        """Row-by-row comparison of the last baseline and assess runs; summaries compared."""
        base = next(m for m in measures if m.variant == "baseline").figures
        real = next(m for m in measures if m.variant == "assess").figures
        dry = next(m for m in measures if m.variant == "assess-dry").figures
        out: dict[str, Any] = {"rows_compared": None, "rows_differing": None}
        if base and real:
            con = sqlite3.connect(dbs["assess"])
            try:
                con.execute("ATTACH DATABASE ? AS b", (str(dbs["baseline"]),))
                compared, differing = con.execute(
                    """SELECT COUNT(*), COALESCE(SUM(a.rule_id IS NOT x.rule_id
                              OR a.finding IS NOT x.finding OR a.status IS NOT x.status
                              OR a.risk IS NOT x.risk OR a.override_id IS NOT x.override_id), 0)
                       FROM main.assessed a
                       JOIN b.assessed x ON x.assessment_id = ? AND x.path = a.path
                       WHERE a.assessment_id = ?""",
                    (base["assessment_id"], real["assessment_id"]),
                ).fetchone()
            finally:
                con.close()
            out.update(rows_compared=compared, rows_differing=differing)
        summaries = [f["summary"] for f in (base, real, dry) if f]
        out["summaries_equal"] = len(summaries) == 3 and all(s == summaries[0] for s in summaries)
        out["summary_differences"] = []
        if real:
            for name, other in (("baseline", base), ("assess-dry", dry)):
                if other:
                    diffs = _differences(real["summary"], other["summary"])
                    out["summary_differences"] += [f"assess vs {name}: {d}" for d in diffs]
        return out

    def full(self) -> dict[str, Any]:
        master = self.catalog()
        os.sync()
        measures, dbs = self.measure(master)
        agree = self.agreement(measures, dbs)
        return self.report(measures, agree)

    # -- reports -----------------------------------------------------------------------------
    def machine(self) -> dict[str, Any]:
        return h.machine(self.source)

    def header(self) -> None:
        m = self.machine()
        h.print_machine(m)
        print(
            f"Python {m['python']} ({m['python_impl']}), preserveplan {m['preserveplan']}, "
            f"SQLite {m['sqlite']}"
        )
        h.print_source(m)
        c = self.manifest
        rs = c["ruleset"]
        if self.digests - {rs["digest"]}:
            print(
                f"WARNING: the ruleset changed during the run (digests {rs['digest']}, "
                f"{', '.join(sorted(self.digests - {rs['digest']}))}): runs may differ"
            )
        ids = c["identifications"]
        print(
            f"ruleset: {rs['name']} {rs['version']} ({rs['rules']} rules) from "
            f"{_shown(Path(c['rules']))}"
        )
        print(
            f"catalog: {c['files']} files ({_counts(c['outcomes'])}), {c['idents']} "
            f"identifications ({ids['distinct_puids']} distinct PUIDs; {ids['unknown']} UNKNOWN, "
            f"{ids['extension_mismatch']} extension mismatch, {ids['multiple_matches']} with 2 "
            f"matches), {c['overrides']} overrides; {c['db_bytes'] / 1e6:.1f} MB; seed "
            f"{c['seed']}; repeat {self.args.repeat}"
        )

    @staticmethod
    def table(measures: list[Measure]) -> None:
        head = (
            f"{'variant':<10} {'files':>8} {'seconds':>8} {'files/s':>9} {'RSS before':>10} "
            f"{'peak RSS':>8} {'growth':>7} {'CPU s':>6} {'outcomes':>9} {'check':>5}  runs (s)"
        )
        print(head)
        print("-" * len(head))
        for m in measures:
            if m.figures is None:
                print(f"{m.variant:<10} {m.files:>8}  ERROR {m.error}")
                continue
            f = m.figures
            s = f["seconds"]
            runs = f.get("all_seconds") or [s]
            spread = f"{min(runs):.2f}-{max(runs):.2f}" if len(runs) > 1 else ""
            print(
                f"{m.variant:<10} {m.files:>8} {s:>8.2f} {m.files / s:>9.0f} "
                f"{f['rss_before_mib']:>10.1f} {f['peak_rss_mib']:>8.1f} {f['growth_mib']:>7.1f} "
                f"{f['cpu_s']:>6.2f} {f['outcomes']:>9} {'OK' if m.check_ok else 'FAIL':>5}  "
                f"{spread}"
            )

    verdict = staticmethod(h.verdict)

    def report(self, measures: list[Measure], agree: dict[str, Any]) -> dict[str, Any]:
        by = {m.variant: m for m in measures}

        def ratio(a: float | None, b: float | None) -> float | None:
            return a / b if a is not None and b else None

        base_speed = by["baseline"].files_per_s
        speed = ratio(by["assess"].files_per_s, base_speed)
        dry_speed = ratio(by["assess-dry"].files_per_s, base_speed)
        real = by["assess"].figures
        peak = real.get("max_peak_rss_mib", real["peak_rss_mib"]) if real else None
        verdicts = [
            self.verdict("peak RSS of assess (MiB)", peak, TARGET_RSS_MIB, False),
            self.verdict("assess / baseline (files/s)", speed, TARGET_SPEED, True),
        ]
        self.header()
        print()
        self.table(measures)
        print()
        print(f"assess / baseline, files/s:      {_x(speed)}")
        print(f"assess-dry / baseline, files/s:  {_x(dry_speed)}")
        print()
        checks = ", ".join(
            f"{m.variant} {'OK' if m.check_ok else 'FAIL'}"
            + (f" ({m.figures['outcomes']}/{m.files})" if m.figures else "")
            for m in measures
        )
        print(f"every file exactly one outcome:  {checks} (assess-dry: from its summary)")
        if agree["rows_compared"] is not None:
            same = agree["rows_compared"] == self.args.files and agree["rows_differing"] == 0
            print(
                f"baseline vs assess, row by row:  {agree['rows_compared']} rows compared, "
                f"{agree['rows_differing']} differ  {'OK' if same else 'FAIL'}"
            )
        print(
            "summaries (baseline, assess, dry run) equal: "
            + ("OK" if agree["summaries_equal"] else "FAIL")
        )
        for line in agree["summary_differences"]:
            print(f"  {line}")
        if real:
            s = real["summary"]
            print(f"outcomes (assess): status {_counts(_files(s['status']))}")
            print(
                f"                   risk {_counts(_files(s['risk']))}; findings "
                f"{_counts(s['findings'])}; overridden {s['overridden']}"
            )
        print()
        width = max(len(v["name"]) for v in verdicts)
        for v in verdicts:
            shown = "n/a" if v["value"] is None else f"{v['value']:.2f}"
            print(
                f"{v['name']:<{width}}  {shown:>9}  target {v['target']:<6}  "
                f"{'PASS' if v['pass'] else 'FAIL'}"
            )
        if self.args.files != TARGET_RSS_AT_FILES:
            print(
                f"(the RSS target is set for {TARGET_RSS_AT_FILES} files; this run has "
                f"{self.args.files})"
            )
        return {
            "machine": self.machine(),
            "config": self.config(),
            "catalog": self.manifest,
            "results": [m.as_dict() for m in measures],
            "ratios": {"assess_over_baseline": speed, "assess_dry_over_baseline": dry_speed},
            "agreement": agree,
            "summary": real["summary"] if real else None,
            "verdicts": verdicts,
        }

    def config(self) -> dict[str, Any]:
        a = self.args
        return {
            "files": a.files,
            "idents": a.idents,
            "overrides": a.overrides,
            "seed": a.seed,
            "repeat": a.repeat,
            "rules": str(self.rules),
            "workdir": str(self.work),
            "kept": bool(a.keep),
            "targets": {
                "assess_peak_rss_mib_below": TARGET_RSS_MIB,
                "at_files": TARGET_RSS_AT_FILES,
                "assess_over_baseline": TARGET_SPEED,
            },
        }


def _differences(a: Any, b: Any, where: str = "summary", limit: int = 5) -> list[str]:
    """Up to ``limit`` places where two JSON-like values differ, as 'key.key: a != b'."""
    if isinstance(a, dict) and isinstance(b, dict):
        out: list[str] = []
        for key in sorted(set(a) | set(b), key=str):
            out += _differences(a.get(key), b.get(key), f"{where}.{key}", limit - len(out))
            if len(out) >= limit:
                break
        return out
    return [] if a == b else [f"{where}: {a!r} != {b!r}"]


def _x(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}x"


def _files(cells: dict[str, dict[str, int]]) -> dict[str, int]:
    return {k: v["files"] for k, v in cells.items()}


def _counts(counts: dict[str, int]) -> str:
    total = sum(counts.values()) or 1
    items = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return ", ".join(f"{k} {n} ({100 * n / total:.1f} %)" for k, n in items) or "none"


def _shown(path: Path) -> str:
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="Benchmark preserveplan's assess against a streamed-Python baseline.",
        epilog="Always exits 0 when the benchmark ran: targets are reported, not enforced.",
    )
    p.add_argument("--files", type=int, default=1_000_000, help="file rows (default 1000000)")
    p.add_argument("--idents", type=int, default=20_000, help="identifications (default 20000)")
    p.add_argument("--overrides", type=int, default=40, help="manual decisions (default 40)")
    p.add_argument("--seed", type=int, default=1, help="seed of the generated catalog")
    p.add_argument("--repeat", type=int, default=3, help="rounds of runs, median kept (3)")
    p.add_argument("--rules", metavar="PATH", help="ruleset (default rules/default.yaml or mini)")
    p.add_argument("--keep", metavar="DIR", help="work in DIR and keep the catalogs")
    p.add_argument("--json", action="store_true", help="also print one JSON object")
    hidden = argparse.SUPPRESS
    p.add_argument("--_run", choices=VARIANTS, help=hidden)
    p.add_argument("--_gen", action="store_true", help=hidden)
    p.add_argument("--_db", help=hidden)
    p.add_argument("--_out", help=hidden)
    p.add_argument("--_rules", help=hidden)
    p.add_argument("--_rules-key", dest="_rules_key", help=hidden)
    p.add_argument("--_scan", type=int, help=hidden)
    args = p.parse_args(argv)
    if args.files < 1 or args.repeat < 1 or args.idents < 2 or args.overrides < 0:
        p.error("--files and --repeat must be at least 1, --idents 2, --overrides 0")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args._run:
        child_main(args)
        return 0
    if args._gen:
        Path(args._out).write_text(json.dumps(generate_catalog(args)))
        return 0
    bench = Bench(args)
    try:
        result = bench.full()
        if args.json:
            print(json.dumps(result, sort_keys=True))
        elif args.keep:
            print(f"\ncatalogs kept in {bench.work}")
    finally:
        bench.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
