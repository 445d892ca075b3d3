"""Benchmark ``preserveplan.report.write_report`` on a synthetic catalog of N files.

How to run (from the repository root, with the project's venv)::

    .venv/bin/python bench/report.py --files 100000
    .venv/bin/python bench/report.py --files 1000000 --keep /tmp/bench-report   # reuse later

What it does
------------
1. Builds (untimed, in a child process) a catalog with the real schema, filled with SQL in one
   transaction: one complete scan, ``--idents`` identifications (PUIDs drawn from the PUID rules of
   ``rules/default.yaml`` (about 70 %) or ``fmt/NNNN`` values no rule names; 3 % ``UNKNOWN``, 2 %
   with an extension-mismatch warning, 1 % with two matches) and N file rows
   (``KommunKK/serieSSSS/filNNNNNNN.ext`` over 15 organisations; 2 % share the SHA-256 of another
   file, 0.3 % empty, 0.2 % unreadable, 0.1 % encrypted). Then the real ``assess`` with the
   default ruleset stores an assessment (untimed).
2. Runs each variant (``specialist``, ``management``) in a fresh child process (this script with
   the hidden ``--_run`` flag), so that peak memory is per variant. The catalog is opened and the
   modules imported before the clock starts.

Figures: ``seconds`` is the wall time of ``write_report``; ``peak RSS`` is the child's
``ru_maxrss`` after the call (MiB), ``RSS before`` its VmRSS before the call. The launcher never
imports preserveplan, so its own memory does not leak into the children's figures.

Targets at 1 000 000 files (reported PASS/FAIL; the script always exits 0): under 60 s and under
1 GiB peak RSS per report.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
VARIANTS = ("specialist", "management")
TARGET_SECONDS = 60.0
TARGET_RSS_MIB = 1024.0
ORGS = [
    "Avesta", "Borlänge", "Falun", "Gagnef", "Hedemora", "Leksand", "Ludvika", "Malung-Sälen",
    "Mora", "Orsa", "Rättvik", "Smedjebacken", "Säter", "Vansbro", "Älvdalen",
]  # fmt: skip
EXTS = ("pdf", "doc", "docx", "xls", "tif", "jpg", "png", "txt", "xml", "msg", "odt", "dat")
BATCH = 50_000


def _build(db: Path, n: int, idents: int, seed: int) -> None:
    from preserveplan import Catalog
    from preserveplan.rules import load_ruleset
    from preserveplan.rules.assess import assess

    rng = random.Random(seed)
    ruleset = load_ruleset()
    rule_puids = sorted({v for r in ruleset.rules if r.match_key == "puid" for v in r.values})
    with Catalog(db) as cat:
        cat.lock()
        scan_id = cat.create_scan(
            b"/bench/e-arkiv",
            label="bench",
            engine={
                "preserveplan": "bench",
                "pygfried": "bench",
                "siegfried": "bench",
                "signature": "DROID_SignatureFile_bench.xml",
                "signature_created": "2026-01-01",
            },
            signature_key="bench",
            options={},
            base_scan_id=None,
        )
        db_ = cat.db
        with cat.transaction():
            db_.execute("INSERT INTO signatures (id, key) VALUES (1, 'bench')")
            rows = []
            for k in range(1, idents + 1):
                u = rng.random()
                if u < 0.03:
                    puid, fmt = "UNKNOWN", None
                elif u < 0.73:
                    puid = rng.choice(rule_puids)
                    fmt = f"Format {puid}"
                else:
                    puid = f"fmt/{9000 + int(rng.paretovariate(1.2)) % 500}"
                    fmt = f"Format {puid}"
                warning = "extension mismatch" if rng.random() < 0.02 else None
                count = 2 if rng.random() < 0.01 else (0 if puid == "UNKNOWN" else 1)
                rows.append(
                    (k, f"{k:064x}", "x", 1, puid, fmt, "1.0", "application/x-bench",
                     "Text", "bench", warning, None, count, None)
                )  # fmt: skip
            db_.executemany(
                "INSERT INTO identifications (id, sha256, ext, sig_id, puid, format, version, "
                "mime, class, basis, warning, errors, match_count, matches) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
            empty_sha = hashlib.sha256(b"").hexdigest()

            def files() -> Any:
                for i in range(n):
                    org = ORGS[i % len(ORGS)]
                    ext = EXTS[rng.randrange(len(EXTS))]
                    path = f"{org}/serie{(i // 100) % 10000:04d}/fil{i:07d}.{ext}".encode()
                    u = rng.random()
                    ident: int | None = rng.randint(1, idents)
                    size: int | None = int(rng.lognormvariate(10, 2))
                    sha: str | None = hashlib.sha256(path).hexdigest()
                    outcome = "ok"
                    if u < 0.003:
                        outcome, size, sha = "empty", 0, empty_sha
                    elif u < 0.005:
                        outcome, size, sha, ident = "unreadable", None, None, None
                    elif u < 0.006:
                        outcome = "encrypted"
                    elif u < 0.026:
                        sha = hashlib.sha256(
                            str(rng.randrange(max(1, n // 50))).encode()
                        ).hexdigest()
                        size = 12345
                    yield (scan_id, path, None, path, org, "file", ext, size, 0, sha, ident,
                           outcome, None, None, None)  # fmt: skip

            it = files()
            while True:
                batch = [row for _, row in zip(range(BATCH), it, strict=False)]
                if not batch:
                    break
                db_.executemany(
                    "INSERT INTO files VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", batch
                )
        cat.finish_scan(scan_id, "complete", {})
        assess(cat, ruleset, scan_id)


def _vm_rss_kib() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def _run(db: Path, variant: str, out_dir: Path) -> None:
    from preserveplan import Catalog
    from preserveplan.report import write_report

    with Catalog(db, readonly=True) as cat:
        before = _vm_rss_kib()
        t0 = time.perf_counter()
        path = write_report(cat, kind=variant, lang="sv", output=out_dir / f"{variant}.html")
        seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "variant": variant,
                "seconds": round(seconds, 2),
                "rss_before_mib": round(before / 1024, 1),
                "peak_rss_mib": round(peak / 1024, 1),
                "html_bytes": path.stat().st_size,
            }
        )
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--files", type=int, default=100_000)
    ap.add_argument("--idents", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--keep", type=Path, help="build in DIR and keep (reused if present)")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--_build", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--_run", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args._build:
        _build(args._build, args.files, args.idents, args.seed)
        return 0
    if args._run:
        _run(Path(args._run[0]), args._run[1], Path(args._run[2]))
        return 0

    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-report-"))
    work.mkdir(parents=True, exist_ok=True)
    db = work / f"catalog-{args.files}-{args.idents}-{args.seed}.db"
    me = [sys.executable, str(Path(__file__).resolve())]
    if not db.exists():
        t0 = time.perf_counter()
        tmp = db.with_suffix(".building")
        for suffix in ("", "-wal", "-shm"):
            Path(str(tmp) + suffix).unlink(missing_ok=True)
        subprocess.run(
            [*me, "--files", str(args.files), "--idents", str(args.idents),
             "--seed", str(args.seed), "--_build", str(tmp)],
            check=True,
        )  # fmt: skip
        os.replace(tmp, db)
        print(f"built {db} ({args.files:,} files) in {time.perf_counter() - t0:.1f} s")
    results = []
    for variant in VARIANTS:
        proc = subprocess.run(
            [*me, "--_run", str(db), variant, str(work)], capture_output=True, text=True
        )
        if proc.returncode != 0:
            print(proc.stderr, file=sys.stderr)
            raise SystemExit(f"variant {variant} failed")
        results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    print(f"\nwrite_report on {args.files:,} files (catalog {db.stat().st_size / 1e6:.0f} MB)")
    print(f"{'variant':<12} {'seconds':>8} {'RSS before':>11} {'peak RSS':>9} {'HTML kB':>8}")
    for r in results:
        print(
            f"{r['variant']:<12} {r['seconds']:>8.2f} {r['rss_before_mib']:>10.1f}M "
            f"{r['peak_rss_mib']:>8.1f}M {r['html_bytes'] / 1000:>8.0f}"
        )
    if args.files >= 1_000_000:
        for r in results:
            ok = r["seconds"] < TARGET_SECONDS and r["peak_rss_mib"] < TARGET_RSS_MIB
            verdict = "PASS" if ok else "FAIL"
            print(f"target {r['variant']}: <{TARGET_SECONDS:.0f} s, <1 GiB: {verdict}")
    print(f"outputs in {work}")
    if args.json:
        print(json.dumps({"files": args.files, "results": results}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
