"""Apply a ruleset to a scan, inside SQLite: one INSERT … SELECT, no Python object per file.

Each file (on disk or in a container) gets exactly one outcome: the most specific format rule
(PUID > MIME > extension > class), unless a finding needs a person first (fixity mismatch
against its package's METS, unreadable METS, encrypted, unreadable/empty/corrupt, not listed
in its package's METS, unidentified, several matches, extension mismatch), unless a manual
decision (override, by SHA-256) says otherwise.
"""

from __future__ import annotations

import getpass
import json
import os
from dataclasses import dataclass
from typing import Any

from ..catalog import Catalog, now
from .model import FINDINGS, Ruleset

_SELECT = """
SELECT :aid, x.path, x.rule_id, x.finding,
       COALESCE(o.status, fm.status, r.status, 'unknown'),
       CASE WHEN o.id IS NOT NULL THEN o.risk
            WHEN fm.finding IS NOT NULL THEN fm.risk
            ELSE r.risk END,
       o.id
FROM (
    SELECT f.path, f.sha256,
           COALESCE(rp.rule_id, rm.rule_id, re.rule_id, rc.rule_id) AS rule_id,
           CASE
               WHEN f.fixity = 'mismatch' THEN 'fixity_mismatch'
               WHEN f.fixity = 'mets_error' THEN 'mets_error'
               WHEN f.outcome = 'encrypted' THEN 'encrypted'
               WHEN f.outcome NOT IN ('ok', 'changed') THEN 'unreadable'
               WHEN f.fixity = 'not_listed' THEN 'not_in_mets'
               WHEN i.puid IS NULL OR i.puid = 'UNKNOWN' THEN 'unidentified'
               WHEN i.match_count > 1 THEN 'multiple_matches'
               WHEN i.warning LIKE '%extension mismatch%' THEN 'extension_mismatch'
           END AS finding
    FROM files f
    LEFT JOIN identifications i ON i.id = f.ident_id
    LEFT JOIN temp.rule_values rp ON rp.key = 'puid' AND rp.value = i.puid
    LEFT JOIN temp.rule_values rm ON rm.key = 'mime' AND rm.value = i.mime
    LEFT JOIN temp.rule_values re ON re.key = 'ext' AND re.value = f.ext
    LEFT JOIN temp.rule_values rc ON rc.key = 'class' AND rc.value =
        CASE WHEN instr(i.class, ', ') > 0 THEN substr(i.class, 1, instr(i.class, ', ') - 1)
             ELSE i.class END
    WHERE f.scan_id = :scan AND f.kind IN ('file', 'member')
) x
LEFT JOIN temp.rule_table r ON r.rule_id = x.rule_id
LEFT JOIN temp.finding_table fm ON fm.finding = x.finding
LEFT JOIN overrides o ON o.id = (
    SELECT MAX(id) FROM overrides WHERE sha256 = x.sha256 AND revoked_at IS NULL)
"""


@dataclass
class Assessment:
    id: int | None  # None for a dry run
    scan_id: int
    ruleset: str
    ruleset_version: str
    summary: dict[str, Any]
    changes: dict[str, int] | None = None  # dry run: status changes against the stored one


def _load_policy(cat: Catalog, ruleset: Ruleset) -> None:
    db = cat.db
    db.execute("DROP TABLE IF EXISTS temp.rule_values")
    db.execute("DROP TABLE IF EXISTS temp.rule_table")
    db.execute("DROP TABLE IF EXISTS temp.finding_table")
    db.execute(
        "CREATE TEMP TABLE rule_values (key TEXT, value TEXT, rule_id TEXT, "
        "PRIMARY KEY (key, value)) WITHOUT ROWID"
    )
    db.execute("CREATE TEMP TABLE rule_table (rule_id TEXT PRIMARY KEY, status TEXT, risk TEXT)")
    db.execute("CREATE TEMP TABLE finding_table (finding TEXT PRIMARY KEY, status TEXT, risk TEXT)")
    db.executemany(
        "INSERT INTO temp.rule_values VALUES (?, ?, ?)",
        [(r.match_key, v, r.id) for r in ruleset.rules for v in r.values],
    )
    db.executemany(
        "INSERT INTO temp.rule_table VALUES (?, ?, ?)",
        [(r.id, r.status, r.risk) for r in ruleset.rules],
    )
    db.executemany(
        "INSERT INTO temp.finding_table VALUES (?, ?, ?)",
        [(k, f.status, f.risk) for k, f in ruleset.effective_findings.items() if k in FINDINGS],
    )


def assess(
    catalog: Catalog, ruleset: Ruleset, scan_id: int | None = None, *, dry_run: bool = False
) -> Assessment:
    """Apply ``ruleset`` to a scan (default: the newest complete) and store the outcome."""
    record = catalog.scan(scan_id)
    db = catalog.db
    _load_policy(catalog, ruleset)
    previous = catalog.last_assessment(record.id)
    if dry_run:
        db.execute("DROP TABLE IF EXISTS temp.assessed_dry")
        db.execute(
            "CREATE TEMP TABLE assessed_dry (assessment_id INTEGER, path BLOB PRIMARY KEY, "
            "rule_id TEXT, finding TEXT, status TEXT, risk TEXT, override_id INTEGER)"
        )
        db.execute(f"INSERT INTO temp.assessed_dry {_SELECT}", {"aid": 0, "scan": record.id})
        summary = catalog.assessment_summary("temp.assessed_dry", 0, record.id)
        changes = catalog.assessment_changes("temp.assessed_dry", 0, previous) if previous else None
        db.execute("DROP TABLE temp.assessed_dry")
        return Assessment(None, record.id, ruleset.name, ruleset.version, summary, changes)
    with catalog.transaction():
        cur = db.execute(
            """INSERT INTO assessments (scan_id, ruleset, ruleset_version, ruleset_digest,
               policy, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?)""",
            (
                record.id,
                ruleset.name,
                ruleset.version,
                ruleset.digest,
                json.dumps(ruleset.as_dict(), ensure_ascii=False),
                now(),
                _who(),
            ),
        )
        aid = int(cur.lastrowid or 0)
        db.execute(f"INSERT INTO assessed {_SELECT}", {"aid": aid, "scan": record.id})
        summary = catalog.assessment_summary("assessed", aid, record.id)
        db.execute("UPDATE assessments SET summary = ? WHERE id = ?", (json.dumps(summary), aid))
    changes = catalog.assessment_changes("assessed", aid, previous) if previous else None
    return Assessment(aid, record.id, ruleset.name, ruleset.version, summary, changes)


def _who() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())
