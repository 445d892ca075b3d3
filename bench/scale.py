"""Scale-out benchmark: ``preserveplan scan`` through a Dask cluster, and memory as trees grow.

How to run (from the repository root, with the project's venv)::

    .venv/bin/python bench/scale.py                     # about 3-4 minutes on 2 cores
    .venv/bin/python bench/scale.py --files 1000000     # the 1M-file tree (about 15 minutes)
    .venv/bin/python bench/scale.py --skip-large        # part 1 only
    .venv/bin/python bench/scale.py --skip-ratio --files 300000 --json

Options: ``--ratio-files N`` (part 1 tree, default 20000), ``--files N`` (part 2 large tree,
default 200000; the small tree is a tenth of it), ``--repeat R`` (part 1 rounds, median kept,
default 3), ``--worker-saturation X`` (the scheduler's ``worker-saturation``; default Dask's,
1.1), ``--keep DIR`` (work in DIR and keep the trees: a later run reuses them), ``--json`` (one
JSON object at the end). Always exits 0 when it ran: it reports, it does not gate.

What it measures
----------------
A real cluster as in production: ``dask scheduler`` and ``dask worker --nthreads 1 --nworkers K``
run as separate processes on loopback, started before each measured run (their start is not
timed; the workers' first tasks, which import preserveplan and load Siegfried's signatures,
are). Each scan runs in a fresh child process (this script with ``--_run``) into a fresh catalog,
so that peak memory is per run; the helpers of ``bench/scan.py`` (tree generation, page-cache
warm-up) and ``bench/_harness.py`` (VmHWM sampling) are reused.

1. **Workers: 1 vs 2** on a tree of ``--ratio-files`` small files (``bench/scan.py``'s unique
   tree: 200 B-20 KB, ten formats): local pool ``-j1`` and ``-j2``, and the cluster with one and
   two worker processes, in interleaved rounds. Ratios: 2 workers / 1 worker (the scale-out on
   this machine; a 2-core VM that also runs the coordinator and the scheduler caps it below 2),
   and cluster / local at the same number of workers (the cost of going through Dask).
2. **A large tree** of ``--files`` tiny files (20-700 B; text, CSV, XML, HTML, JSON, minimal
   PDF, random bytes; 1000 per folder), generated here (generation time is reported), and a tree
   a tenth of its size: each scanned through the cluster (2 workers) and with the local pool
   (``-j2``, the baseline). Reported: seconds, files/s, the coordinator's peak RSS (``ru_maxrss``;
   ``VmHWM`` as a cross-check), the largest worker's peak RSS, and the catalog's size. Ratios:
   large / small peak RSS (memory must stay flat: the walk streams, work goes out in bounded
   batches, rows are written in batches) and cluster / local speed.

``files/s`` = files in the tree / wall seconds of the scan call in the child (imports and, for
the cluster, the connection excluded; the check of the workers included). RSS in MiB.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/, for _harness
import _harness as h

# As in bench/scan.py, nothing heavy at module level: the launcher must stay small (Linux carries
# a parent's peak RSS into an exec'd child's ru_maxrss).

HERE = Path(__file__).resolve().parent
DASK = Path(sys.executable).with_name("dask")
TINY_PER_FOLDER = 1000


def _scanbench() -> Any:
    """bench/scan.py as a module (its generator and measuring helpers)."""
    spec = importlib.util.spec_from_file_location("_scanbench", HERE / "scan.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["_scanbench"] = module
    spec.loader.exec_module(module)
    return module


sb = _scanbench()


# =============================================================================================
# Tiny-file tree (part 2)
# =============================================================================================

_WORDS = sb.WORDS


def tiny_content(i: int) -> tuple[str, bytes]:
    """Extension and 20-700 bytes of real content for file ``i`` (deterministic, distinct)."""
    rng = random.Random(i * 7_919 + 17)
    kind = rng.choices(
        (".txt", ".csv", ".xml", ".html", ".json", ".pdf", ".bin"), (30, 15, 15, 10, 10, 5, 15)
    )[0]
    words = " ".join(rng.choices(_WORDS, k=rng.randint(2, 40)))
    if kind == ".txt":
        return kind, f"Ärende {i}: {words}\n".encode()
    if kind == ".csv":
        return kind, f"id,namn,belopp\n{i},{words[:60]},{rng.randint(0, 99999)}\n".encode()
    if kind == ".xml":
        return (
            kind,
            f'<?xml version="1.0" encoding="UTF-8"?>\n<post n="{i}">{words}</post>\n'.encode(),
        )
    if kind == ".html":
        return kind, (
            f"<!DOCTYPE html><html><head><title>{i}</title></head><body><p>{words}</p></body>"
            "</html>\n"
        ).encode()
    if kind == ".json":
        return kind, json.dumps({"id": i, "text": words}).encode()
    if kind == ".pdf":
        return kind, sb._pdf(i, 0, rng)
    return kind, b"TINY" + i.to_bytes(8, "little") + rng.randbytes(rng.randint(8, 200))


def tiny_rel(i: int, ext: str) -> str:
    folder = i // TINY_PER_FOLDER
    return f"org-{folder // 100:03d}/serie-{folder % 100:02d}/post-{i:07d}{ext}"


def generate_tiny(root: Path, n: int) -> dict[str, Any]:
    started = time.perf_counter()
    nbytes = 0
    made: set[str] = set()
    for i in range(n):
        ext, data = tiny_content(i)
        rel = tiny_rel(i, ext)
        parent = os.path.dirname(rel)
        if parent not in made:
            os.makedirs(root / parent, exist_ok=True)
            made.add(parent)
        fd = os.open(root / rel, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)
        nbytes += len(data)
    return {
        "root": str(root),
        "files": n,
        "bytes": nbytes,
        "seconds_to_generate": round(time.perf_counter() - started, 2),
    }


# =============================================================================================
# The child: one scan, measured
# =============================================================================================


def child_main(args: argparse.Namespace) -> None:
    import preserveplan

    cluster = args._cluster or None
    if cluster:
        from distributed import Client

        with Client(cluster, set_as_default=False, timeout=60) as c:
            c.wait_for_workers(args._expect_workers, timeout=120)
    sampler = h.HwmSampler(args._worker_root)  # the dask worker launcher, or this process
    sampler.start()
    started = time.perf_counter()
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    if cluster:
        [result] = preserveplan.scan(args._tree, db=args._db, cluster=cluster)
    else:
        [result] = preserveplan.scan(args._tree, db=args._db, workers=args.workers)
    seconds = time.perf_counter() - started
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    wrk_hwm = sampler.stop(final_sample=True)
    h.stop_forkserver()
    db_bytes = sum(
        os.path.getsize(args._db + suffix)
        for suffix in ("", "-wal")
        if os.path.exists(args._db + suffix)
    )
    summary = result.summary
    figures = {
        "seconds": seconds,
        "rows": summary.get("entries", {}).get("on_disk"),
        "outcomes": summary.get("outcomes"),
        "identified": summary["this_run"].get("identified"),
        "coord_rss_mib": h.mib(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss),
        "coord_hwm_mib": h.mib(h.vm_kib()),
        "coord_cpu_s": round(cpu1.ru_utime + cpu1.ru_stime - cpu0.ru_utime - cpu0.ru_stime, 2),
        "wrk_hwm_mib": h.mib(wrk_hwm),
        "catalog_mib": round(db_bytes / 2**20, 1),
    }
    Path(args._out).write_text(json.dumps(figures))


# =============================================================================================
# The launcher
# =============================================================================================


@dataclass
class Run(h.Timed):
    part: str
    tree: str
    files: int
    variant: str  # local-1, local-2, cluster-1, cluster-2
    figures: dict[str, Any] | None
    error: str | None = None


class DaskCluster:
    """``dask scheduler`` + ``dask worker --nworkers K --nthreads 1`` on loopback."""

    def __init__(self, work: Path, saturation: float | None = None) -> None:
        self.work = work
        self.env = {}
        if saturation is not None:  # 1.0: a worker is handed one task at a time
            self.env["DASK_DISTRIBUTED__SCHEDULER__WORKER_SATURATION"] = str(saturation)
        self.scheduler: subprocess.Popen[bytes] | None = None
        self.workers: subprocess.Popen[bytes] | None = None
        self.address = ""
        self.nworkers = 0

    def start_scheduler(self) -> None:
        info = self.work / "scheduler.json"
        with contextlib.suppress(FileNotFoundError):
            info.unlink()
        self.scheduler = subprocess.Popen(
            [
                str(DASK),
                "scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--no-dashboard",
                "--scheduler-file",
                str(info),
            ],
            stdout=subprocess.DEVNULL,
            stderr=open(self.work / "scheduler.log", "ab"),  # noqa: SIM115
            start_new_session=True,
            env={**os.environ, **self.env},
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(FileNotFoundError, ValueError):
                self.address = json.loads(info.read_text())["address"]
                return
            time.sleep(0.1)
        raise SystemExit("the dask scheduler did not start (see scheduler.log)")

    def start_workers(self, n: int) -> None:
        self.stop_workers()
        self.nworkers = n
        self.workers = subprocess.Popen(
            [
                str(DASK),
                "worker",
                self.address,
                "--nworkers",
                str(n),
                "--nthreads",
                "1",
                "--no-dashboard",
                "--host",
                "127.0.0.1",
                "--local-directory",
                str(self.work),
            ],
            stdout=subprocess.DEVNULL,
            stderr=open(self.work / "workers.log", "ab"),  # noqa: SIM115
            start_new_session=True,
        )

    def stop_workers(self) -> None:
        if self.workers is not None and self.workers.poll() is None:
            self.workers.send_signal(signal.SIGTERM)
            try:
                self.workers.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.workers.pid, signal.SIGKILL)
                self.workers.wait()
        self.workers = None

    def stop(self) -> None:
        self.stop_workers()
        if self.scheduler is not None and self.scheduler.poll() is None:
            self.scheduler.send_signal(signal.SIGTERM)
            try:
                self.scheduler.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.scheduler.pid, signal.SIGKILL)
                self.scheduler.wait()


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.work = h.workdir(args.keep, "preserveplan-scale-")
        self.cluster = DaskCluster(self.work, args.worker_saturation)
        self.runs: list[Run] = []
        self.trees: dict[str, dict[str, Any]] = {}

    log = staticmethod(h.log)

    def cleanup(self) -> None:
        self.cluster.stop()
        if not self.args.keep:
            shutil.rmtree(self.work, ignore_errors=True)

    # -- one measured scan -------------------------------------------------------------------
    def measure(self, part: str, tree: str, files: int, variant: str) -> Run:
        db = self.work / "db" / f"{Path(tree).name}-{variant}.db"
        db.parent.mkdir(parents=True, exist_ok=True)
        h.remove_db(db)
        out = self.work / "result.json"
        with contextlib.suppress(FileNotFoundError):
            out.unlink()
        kind, n = variant.split("-")
        cmd = [sys.executable, __file__, "--_run", "--_tree", tree, "--_db", str(db)]
        cmd += ["--_out", str(out), "--workers", n]
        if kind == "cluster":
            self.cluster.start_workers(int(n))
            assert self.cluster.workers is not None
            cmd += ["--_cluster", self.cluster.address, "--_expect-workers", n]
            cmd += ["--_worker-root", str(self.cluster.workers.pid)]
        os.sync()
        self.log(f"  {variant:<9} on {Path(tree).name} ({files} files) ...")
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if kind == "cluster":
            self.cluster.stop_workers()
        if proc.returncode != 0 or not out.exists():
            run = Run(part, tree, files, variant, None, proc.stderr.strip()[-1500:])
        else:
            figures = json.loads(out.read_text())
            if figures.get("rows") != files:
                self.log(f"WARNING: {variant} recorded {figures.get('rows')} files, not {files}")
            run = Run(part, tree, files, variant, figures)
        h.remove_db(db)  # a 1M-file catalog is large
        self.runs.append(run)
        return run

    @staticmethod
    def median(runs: list[Run]) -> Run:
        ok = [r for r in runs if r.figures is not None]
        if not ok:
            return runs[0]
        ok.sort(key=lambda r: r.seconds or 0)
        best = ok[(len(ok) - 1) // 2]
        assert best.figures is not None
        best.figures["all_seconds"] = [round(r.seconds or 0, 2) for r in ok]
        return best

    # -- part 1 ------------------------------------------------------------------------------
    def part_ratio(self) -> dict[str, Run]:
        a = self.args
        root = self.work / "trees" / f"unique-{a.ratio_files}"
        manifest = root.with_suffix(".json")
        if manifest.exists() and root.is_dir():
            info = json.loads(manifest.read_text())
            self.log(f"reusing the tree of {info['files']} files in {root}")
        else:
            self.log(f"generating a tree of {a.ratio_files} small files ...")
            shutil.rmtree(root, ignore_errors=True)
            info = asdict(sb.generate_tree("unique", root, a.ratio_files, 1, 0.0))
            manifest.write_text(json.dumps(info))
        self.trees["ratio"] = info
        sb.warm_up(str(root))
        variants = ("local-1", "local-2", "cluster-1", "cluster-2")
        got: dict[str, list[Run]] = {v: [] for v in variants}
        for _ in range(a.repeat):
            for v in variants:
                got[v].append(self.measure("ratio", str(root), info["files"], v))
        return {v: self.median(runs) for v, runs in got.items()}

    # -- part 2 ------------------------------------------------------------------------------
    def tiny_tree(self, n: int) -> dict[str, Any]:
        root = self.work / "trees" / f"tiny-{n}"
        manifest = root.with_suffix(".json")
        if manifest.exists() and root.is_dir():
            self.log(f"reusing the tiny tree of {n} files in {root}")
            info: dict[str, Any] = json.loads(manifest.read_text())
            return info
        shutil.rmtree(root, ignore_errors=True)
        self.log(f"generating a tree of {n} tiny files ...")
        info = generate_tiny(root, n)
        os.sync()
        manifest.write_text(json.dumps(info))
        self.log(f"  {info['bytes'] / 1e6:.1f} MB in {info['seconds_to_generate']} s")
        return info

    def check_disk(self, n: int) -> None:
        st = os.statvfs(self.work)
        need_bytes = n * 4096 * 1.1 + n * 2000  # one block per file, plus the catalogs
        need_inodes = n * 1.01
        if st.f_bavail * st.f_frsize < need_bytes or st.f_favail < need_inodes:
            raise SystemExit(
                f"not enough room in {self.work} for {n} files "
                f"(~{need_bytes / 2**30:.1f} GiB and {need_inodes:.0f} inodes): use --files"
            )

    def part_large(self) -> dict[str, Run]:
        big = self.args.files
        small = max(1000, big // 10)
        self.check_disk(big + small)
        out: dict[str, Run] = {}
        for label, n in (("small", small), ("large", big)):
            info = self.tiny_tree(n)
            self.trees[label] = info
            sb.warm_up(info["root"])
            for v in ("local-2", "cluster-2"):
                out[f"{label} {v}"] = self.measure("large", info["root"], n, v)
        return out

    # -- report ------------------------------------------------------------------------------
    @staticmethod
    def table(runs: dict[str, Run]) -> None:
        head = (
            f"{'run':<18} {'files':>8} {'seconds':>8} {'files/s':>8} {'coord MiB':>9} "
            f"{'coord hwm':>9} {'coord CPU':>9} {'wrk hwm':>8} {'catalog MiB':>11}  runs (s)"
        )
        print(head)
        print("-" * len(head))
        for name, r in runs.items():
            if r.figures is None:
                print(f"{name:<18} {r.files:>8}  ERROR {r.error}")
                continue
            f = r.figures
            spread = f.get("all_seconds") or []
            print(
                f"{name:<18} {r.files:>8} {f['seconds']:>8.2f} {r.files_per_s or 0:>8.0f} "
                f"{f['coord_rss_mib']:>9.1f} {f['coord_hwm_mib']:>9.1f} {f['coord_cpu_s']:>9.2f} "
                f"{f['wrk_hwm_mib']:>8.1f} {f['catalog_mib']:>11.1f}  "
                + (" ".join(f"{s:.2f}" for s in spread) if len(spread) > 1 else "")
            )

    @staticmethod
    def ratio(a: float | None, b: float | None) -> float | None:
        return a / b if a is not None and b else None

    def report(self, ratio: dict[str, Run] | None, large: dict[str, Run] | None) -> dict[str, Any]:
        import platform

        figures: dict[str, Any] = {}
        print(
            f"machine: {os.cpu_count()} CPUs, {platform.platform()}; Python "
            f"{platform.python_version()}; preserveplan {h.source_version()}; "
            f"dask {h.version('distributed')}"
        )

        def show(name: str, value: float | None, unit: str = "x") -> None:
            figures[name] = None if value is None else round(value, 3)
            shown = "n/a" if value is None else f"{value:.2f}{unit}"
            print(f"  {name:<58} {shown:>9}")

        if ratio is not None:
            t = self.trees["ratio"]
            print(
                f"\n1. workers 1 vs 2: {t['files']} files, {t['bytes'] / 1e6:.1f} MB "
                f"(median of {self.args.repeat})"
            )
            self.table(ratio)
            r = {k: v.files_per_s for k, v in ratio.items()}
            show(
                "cluster: 2 workers / 1 worker (files/s)",
                self.ratio(r["cluster-2"], r["cluster-1"]),
            )
            show("local:   -j2 / -j1 (files/s)", self.ratio(r["local-2"], r["local-1"]))
            show("cluster / local, 1 worker (files/s)", self.ratio(r["cluster-1"], r["local-1"]))
            show("cluster / local, 2 workers (files/s)", self.ratio(r["cluster-2"], r["local-2"]))
        if large is not None:
            s, b = self.trees["small"], self.trees["large"]
            print(
                f"\n2. large tree: {b['files']} tiny files ({b['bytes'] / 1e6:.1f} MB, generated "
                f"in {b['seconds_to_generate']} s) vs {s['files']} files"
            )
            self.table(large)

            def fig(key: str, field: str) -> float | None:
                run = large.get(key)
                return run.figures.get(field) if run and run.figures else None

            for v in ("cluster-2", "local-2"):
                show(
                    f"{v}: coordinator peak RSS, {b['files']} / {s['files']} files",
                    self.ratio(
                        fig(f"large {v}", "coord_rss_mib"), fig(f"small {v}", "coord_rss_mib")
                    ),
                )
            for v in ("cluster-2", "local-2"):
                show(
                    f"{v}: catalog bytes per file, {b['files']} / {s['files']} files",
                    self.ratio(
                        (fig(f"large {v}", "catalog_mib") or 0) / b["files"],
                        (fig(f"small {v}", "catalog_mib") or 0) / s["files"],
                    ),
                )
            rates = {k: v.files_per_s for k, v in large.items()}
            show(
                f"cluster / local speed at {b['files']} files",
                self.ratio(rates.get("large cluster-2"), rates.get("large local-2")),
            )
        return {
            "trees": self.trees,
            "runs": [
                {
                    **asdict(r),
                    "files_per_s": None if r.files_per_s is None else round(r.files_per_s, 1),
                }
                for r in self.runs
            ],
            "ratios": figures,
        }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Scale-out benchmark of preserveplan scan on Dask.")
    p.add_argument("--files", type=int, default=200_000, help="large tree (default 200000)")
    p.add_argument("--ratio-files", type=int, default=20_000, help="part 1 tree (default 20000)")
    p.add_argument("--repeat", type=int, default=3, help="part 1 rounds (default 3)")
    p.add_argument("--workers", type=int, default=2, help=argparse.SUPPRESS)
    p.add_argument(
        "--worker-saturation",
        type=float,
        default=None,
        help="the scheduler's worker-saturation (default: Dask's, 1.1; 1.0 = one task at a time)",
    )
    p.add_argument("--skip-ratio", action="store_true", help="skip part 1")
    p.add_argument("--skip-large", action="store_true", help="skip part 2")
    p.add_argument("--keep", metavar="DIR", help="work in DIR and keep the trees")
    p.add_argument("--json", action="store_true", help="also print one JSON object")
    hidden = argparse.SUPPRESS
    p.add_argument("--_run", action="store_true", help=hidden)
    p.add_argument("--_tree", help=hidden)
    p.add_argument("--_db", help=hidden)
    p.add_argument("--_out", help=hidden)
    p.add_argument("--_cluster", help=hidden)
    p.add_argument("--_expect-workers", dest="_expect_workers", type=int, default=1, help=hidden)
    p.add_argument("--_worker-root", dest="_worker_root", type=int, default=None, help=hidden)
    args = p.parse_args(argv)
    if min(args.files, args.ratio_files, args.repeat) < 1:
        p.error("--files, --ratio-files and --repeat must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args._run:
        child_main(args)
        return 0
    if not DASK.exists():
        raise SystemExit(f"{DASK} not found: pip install distributed into this venv")
    bench = Bench(args)
    try:
        bench.cluster.start_scheduler()
        ratio = None if args.skip_ratio else bench.part_ratio()
        large = None if args.skip_large else bench.part_large()
        result = bench.report(ratio, large)
        if args.json:
            print(json.dumps(result, sort_keys=True))
        elif args.keep:
            print(f"\ntrees kept in {bench.work}")
    finally:
        bench.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
