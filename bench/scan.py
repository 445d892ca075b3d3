"""Benchmark ``preserveplan.scan`` against a straightforward pooled hash-and-identify baseline.

How to run (from the repository root, with the project's venv)::

    .venv/bin/python bench/scan.py --files 10000            # about 1 minute on 2 cores
    .venv/bin/python bench/scan.py --files 100000           # 5-8 minutes
    .venv/bin/python bench/scan.py --rss-series 10000,100000   # coordinator memory growth only
    .venv/bin/python bench/scan.py --files 10000 --json     # ...and one JSON object at the end

Options: ``--workers N`` (default 2, used by both implementations), ``--dup-fraction F``
(default 0.3), ``--seed S``, ``--repeat R`` (R interleaved rounds of all variants, each
variant's median run is reported; default 3, and 1 with ``--rss-series`` - memory is steady),
``--keep DIR`` (generate the trees and catalogs in DIR and leave them there; a later run with
the same DIR, sizes and seed reuses the trees), ``--profile`` (run the preserveplan variants
under cProfile in the coordinator and print where its time goes; timings are then inflated).

What it does
------------
1. Generates, deterministically from the seed, two trees of N small files (about 100 files per
   folder; .txt .csv .xml .html .json, minimal valid .pdf, .png, .gif and .bmp made by hand, and
   random .bin; 200 B to 20 KB, log-uniform): a *unique* tree where every file has distinct
   content, and a *dup* tree where ``--dup-fraction`` of the files are byte-identical copies of
   other files of that tree (same extension, different folder and name).
2. Reads every tree once, untimed, so that every variant runs from a warm page cache (the cache
   cannot be dropped here; a warm cache is the same for everyone).
3. Runs, for each tree, each variant in a fresh child process (this script with the hidden
   ``--_run VARIANT`` flag), so that peak memory is per variant:

   ``baseline``   ``os.scandir`` walk, chunks of 64 paths, a ``multiprocessing`` Pool of
                  ``--workers`` processes each holding one ``pygfried.Scanner()`` (made in the
                  initializer); a task hashes its chunk (SHA-256) and calls
                  ``identify_many(chunk)``; the coordinator ``executemany``-inserts
                  (path, size, sha256, puid) into a fresh WAL SQLite db. Identifies every file,
                  duplicates included.
   ``pp-first``   ``preserveplan.scan(tree, db=fresh, workers=N)``.
   ``pp-rescan``  ``preserveplan.scan`` again into the same db, the tree unchanged (files are
                  reused from size + mtime without being read). Each repeat starts from a copy
                  of the catalog as the first scan left it.

   Before each run, ``os.sync()`` (untimed) writes back dirty pages (freshly generated trees,
   the previous run's catalog) so that write-back does not land in someone else's timing.
   Variants run in interleaved rounds (baseline, first scan, rescan, baseline, ...), so that
   a slow spell of a shared machine hits them alike; each variant's median run is reported and
   ``runs (s)`` shows its fastest and slowest. On a shared VM, runs minutes apart can differ by
   tens of per cent: compare the ratios, which are taken within the same rounds.

Figures
-------
``seconds`` is the wall time of the scan call in the child (pool start-up included, interpreter
and import start-up excluded). ``files/s`` = files in the tree / seconds; ``MB/s`` = bytes in the
tree (10^6) / seconds, i.e. the rate at which the tree is *covered* (a rescan reads nothing).
``coord`` is the coordinator's peak RSS, ``resource.getrusage(RUSAGE_SELF).ru_maxrss``; the
launcher (this process) stays small because Linux carries the parent's peak into an exec'd
child's ``ru_maxrss``. ``wrk rusage`` is ``getrusage(RUSAGE_CHILDREN).ru_maxrss`` after every
worker has been reaped (preserveplan's workers are children of the multiprocessing forkserver,
which is stopped and reaped first so that they count); it is the largest *descendant*, so it can
include what a child inherited at fork. ``wrk hwm`` is the largest ``VmHWM`` (per-process peak
RSS) of any descendant, sampled every 0.2 s: the closest figure to "the largest worker" (0.0
when no worker ran, as in a rescan).
RSS is in MiB. ``coord CPU`` is the coordinator's CPU seconds (user + system) during the timed
call; ``wrk CPU`` that of all its reaped descendants (workers, and the forkserver). With as many
workers as cores, coordinator CPU is taken from the workers.

Targets (reported PASS/FAIL; the script always exits 0 - a benchmark reports, it does not gate)
-----------------------------------------------------------------------------------------------
* first scan / baseline, files/s, unique tree            >= 0.9
* first scan / baseline, files/s, duplicate tree         >= 1.3
* rescan speed-up over the first scan (each tree)        >= 20x
* ``--rss-series A,B``: growth of the coordinator's peak RSS of a first scan from A to B files
  (e.g. 10k -> 100k) < 25 %. With ``--files 100000`` the figure to compare with a 10k run is the
  coordinator's peak RSS of ``pp-first``.
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
import struct
import subprocess
import sys
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/, for _harness
import _harness as h

# Nothing heavy is imported at module level: the launcher must stay small (see the docstring),
# and preserveplan's forkserver re-imports this module as ``__mp_main__`` in its workers.

VARIANTS = ("baseline", "pp-first", "pp-rescan")
TARGET_UNIQUE = 0.9
TARGET_DUP = 1.3
TARGET_RESCAN = 20.0
TARGET_RSS_GROWTH = 25.0
BASELINE_CHUNK = 64
FILES_PER_FOLDER = 100
MIN_SIZE, MAX_SIZE = 200, 20_000
# (extension, weight)
EXTENSIONS: tuple[tuple[str, int], ...] = (
    (".txt", 18),
    (".csv", 10),
    (".xml", 10),
    (".html", 10),
    (".json", 10),
    (".pdf", 10),
    (".png", 10),
    (".gif", 6),
    (".bmp", 6),
    (".bin", 10),
)
_WORD_TEXT = (
    "archive record preservation digital format migration fixity checksum provenance "
    "metadata object collection series folder item accession deposit ingest access storage "
    "retention appraisal catalogue description authenticity integrity emulation normalisation "
    "risk obsolescence registry signature identification validation rendering sustainability "
    "the of and to in for on with by from at as is was be are this that which it an or"
)
WORDS = _WORD_TEXT.split()


# =============================================================================================
# Tree generation (deterministic)
# =============================================================================================


def _words(rng: random.Random, nbytes: int) -> str:
    """About ``nbytes`` of plain words."""
    return " ".join(rng.choices(WORDS, k=max(1, nbytes // 7)))


def _txt(i: int, size: int, rng: random.Random) -> bytes:
    head = f"Bench document {i}\n\n"
    lines = []
    total = len(head)
    while total < size:
        line = _words(rng, rng.randint(40, 90)).capitalize() + ".\n"
        lines.append(line)
        total += len(line)
    return (head + "".join(lines)).encode()


def _csv(i: int, size: int, rng: random.Random) -> bytes:
    out = [f"id,file,name,value,date\n{i}-0,{i},header,0.0,2000-01-01\n"]
    total = len(out[0])
    n = 1
    while total < size:
        row = (
            f"{i}-{n},{i},{rng.choice(WORDS)} {rng.choice(WORDS)},{rng.uniform(0, 1e6):.3f},"
            f"{rng.randint(1950, 2024)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}\n"
        )
        out.append(row)
        total += len(row)
        n += 1
    return "".join(out).encode()


def _xml(i: int, size: int, rng: random.Random) -> bytes:
    out = [f'<?xml version="1.0" encoding="UTF-8"?>\n<catalogue file="{i}">\n']
    total = len(out[0])
    n = 0
    while total < size:
        item = (
            f'  <item n="{n}"><title>{_words(rng, 40)}</title>'
            f"<extent>{rng.randint(1, 999)}</extent></item>\n"
        )
        out.append(item)
        total += len(item)
        n += 1
    out.append("</catalogue>\n")
    return "".join(out).encode()


def _html(i: int, size: int, rng: random.Random) -> bytes:
    out = [
        '<!DOCTYPE html>\n<html lang="en">\n<head><meta charset="utf-8">'
        f"<title>Document {i}</title></head>\n<body>\n<h1>Document {i}</h1>\n"
    ]
    total = len(out[0])
    while total < size:
        para = f"<p>{_words(rng, rng.randint(80, 300))}</p>\n"
        out.append(para)
        total += len(para)
    out.append("</body>\n</html>\n")
    return "".join(out).encode()


def _json(i: int, size: int, rng: random.Random) -> bytes:
    items: list[dict[str, Any]] = []
    doc: dict[str, Any] = {"id": i, "title": f"Record {i}", "items": items}
    total = 40
    while total < size:
        item = {"n": len(items), "term": rng.choice(WORDS), "score": round(rng.random(), 6)}
        items.append(item)
        total += 48
    return json.dumps(doc, indent=1).encode()


def _pdf(i: int, size: int, rng: random.Random) -> bytes:
    """A minimal valid one-page PDF 1.4 with a correct xref table."""
    lines = [f"(preserveplan bench file {i}) Tj"]
    total = 400
    while total < size:
        line = f"T* ({_words(rng, 60)}) Tj"
        lines.append(line)
        total += len(line) + 1
    content = ("BT /F1 10 Tf 12 TL 72 760 Td\n" + "\n".join(lines) + "\nET").encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def _png_chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))


def _png(i: int, size: int, rng: random.Random) -> bytes:
    """A valid RGB PNG of random pixels (so about ``size`` bytes), index in a tEXt chunk."""
    width = max(1, int(math.sqrt(size / 3)))
    height = max(1, size // (3 * width))
    raw = b"".join(b"\x00" + rng.randbytes(width * 3) for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + _png_chunk(b"tEXt", b"Comment\x00preserveplan bench file %d" % i)
        + _png_chunk(b"IDAT", zlib.compress(raw, 6))
        + _png_chunk(b"IEND", b"")
    )


def _gif(i: int, size: int, rng: random.Random) -> bytes:
    """A 1x1 GIF89a with a comment extension carrying the index and filler text."""
    comment = f"preserveplan bench file {i} ".encode() + _words(rng, max(0, size - 60)).encode()
    blocks = b"".join(
        bytes([len(comment[k : k + 255])]) + comment[k : k + 255]
        for k in range(0, len(comment), 255)
    )
    return (
        b"GIF89a"
        + struct.pack("<HHBBB", 1, 1, 0x80, 0, 0)
        + b"\x00\x00\x00\xff\xff\xff"
        + b"\x21\xfe"
        + blocks
        + b"\x00"
        + b"\x2c"
        + struct.pack("<HHHHB", 0, 0, 1, 1, 0)
        + b"\x02\x02\x44\x01\x00"
        + b"\x3b"
    )


def _bmp(i: int, size: int, rng: random.Random) -> bytes:
    """A 24-bit BMP (BITMAPINFOHEADER) of random pixels; the index in the first pixels."""
    width = max(1, int(math.sqrt(size / 3)))
    row = (width * 3 + 3) & ~3
    height = max(1, (size - 54) // row)
    pixels = bytearray(rng.randbytes(row * height))
    pixels[:8] = i.to_bytes(8, "little")[: len(pixels)]
    header = b"BM" + struct.pack("<IHHI", 54 + len(pixels), 0, 0, 54)
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, len(pixels), 2835, 2835, 0, 0)
    return header + info + bytes(pixels)


def _bin(i: int, size: int, rng: random.Random) -> bytes:
    return b"PPBENCH\x00" + i.to_bytes(8, "little") + rng.randbytes(max(0, size - 16))


MAKERS: dict[str, Callable[[int, int, random.Random], bytes]] = {
    ".txt": _txt,
    ".csv": _csv,
    ".xml": _xml,
    ".html": _html,
    ".json": _json,
    ".pdf": _pdf,
    ".png": _png,
    ".gif": _gif,
    ".bmp": _bmp,
    ".bin": _bin,
}


def file_spec(seed: int, i: int) -> tuple[str, int, random.Random]:
    """Extension, target size and a private RNG for content index ``i`` (deterministic)."""
    rng = random.Random(seed * 1_000_003 + i)
    ext = rng.choices([e for e, _ in EXTENSIONS], weights=[w for _, w in EXTENSIONS])[0]
    size = int(math.exp(rng.uniform(math.log(MIN_SIZE), math.log(MAX_SIZE))))
    return ext, size, rng


def file_content(seed: int, i: int) -> tuple[str, bytes]:
    ext, size, rng = file_spec(seed, i)
    return ext, MAKERS[ext](i, size, rng)


def rel_path(i: int, ext: str) -> str:
    """About FILES_PER_FOLDER files per folder, 100 folders per top-level folder."""
    folder = i // FILES_PER_FOLDER
    return f"series-{folder // 100:03d}/folder-{folder % 100:02d}/item-{i:07d}{ext}"


@dataclass
class TreeInfo:
    kind: str  # unique | dup
    root: str
    files: int
    bytes: int
    seed: int
    dup_fraction: float
    duplicates: int
    distinct_contents: int
    by_ext: dict[str, int] = field(default_factory=dict)
    seconds_to_generate: float = 0.0

    def matches(self, other: TreeInfo) -> bool:
        return (self.kind, self.files, self.seed, self.dup_fraction) == (
            other.kind,
            other.files,
            other.seed,
            other.dup_fraction,
        )


def generate_tree(kind: str, root: Path, n: int, seed: int, dup_fraction: float) -> TreeInfo:
    """Write the tree. ``dup``: a ``dup_fraction`` of positions copy another file's content."""
    started = time.perf_counter()
    sources: dict[int, int] = {}
    tree_seed = seed if kind == "unique" else seed + 1
    if kind == "dup":
        pick = random.Random(f"dups:{seed}:{n}:{dup_fraction}")
        dups = set(pick.sample(range(n), round(n * dup_fraction)))
        originals = [i for i in range(n) if i not in dups]
        sources = {i: originals[pick.randrange(len(originals))] for i in sorted(dups)}
    info = TreeInfo(kind, str(root), n, 0, seed, dup_fraction, len(sources), n - len(sources))
    made_dirs: set[str] = set()
    for i in range(n):
        ext, data = file_content(tree_seed, sources.get(i, i))
        rel = rel_path(i, ext)
        parent = os.path.dirname(rel)
        if parent not in made_dirs:
            os.makedirs(root / parent, exist_ok=True)
            made_dirs.add(parent)
        with open(root / rel, "wb") as fh:
            fh.write(data)
        info.bytes += len(data)
        info.by_ext[ext] = info.by_ext.get(ext, 0) + 1
    info.seconds_to_generate = round(time.perf_counter() - started, 2)
    return info


def warm_up(root: str) -> tuple[int, int]:
    """Read every file once (untimed) so that all variants start from a warm page cache."""
    files = nbytes = 0
    buf = bytearray(1 << 16)
    stack = [root]
    while stack:
        with os.scandir(stack.pop()) as it:
            for entry in it:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                elif entry.is_file(follow_symlinks=False):
                    with open(entry.path, "rb", buffering=0) as fh:
                        while n := fh.readinto(buf):
                            nbytes += n
                    files += 1
    return files, nbytes


# =============================================================================================
# The variants (in child processes; measuring helpers in bench/_harness.py)
# =============================================================================================


# -- the baseline --------------------------------------------------------------------------------

_scanner: Any = None


def _baseline_init() -> None:
    global _scanner
    import pygfried

    _scanner = pygfried.Scanner()


def _baseline_task(chunk: list[tuple[str, int]]) -> list[tuple[str, int, str, str | None]]:
    digests = []
    for path, _ in chunk:
        with open(path, "rb") as fh:
            digests.append(hashlib.file_digest(fh, "sha256").hexdigest())
    records = _scanner.identify_many([p for p, _ in chunk])["files"]
    rows = []
    for (path, size), digest, rec in zip(chunk, digests, records, strict=True):
        matches = rec.get("matches") or []
        rows.append((path, size, digest, matches[0].get("id") if matches else None))
    return rows


def _baseline_walk(root: str) -> Iterator[tuple[str, int]]:
    with os.scandir(root) as it:
        entries = list(it)
    for entry in entries:
        if entry.is_dir(follow_symlinks=False):
            yield from _baseline_walk(entry.path)
        elif entry.is_file(follow_symlinks=False):
            yield entry.path, entry.stat(follow_symlinks=False).st_size


def _chunked(items: Iterator[tuple[str, int]], size: int) -> Iterator[list[tuple[str, int]]]:
    chunk: list[tuple[str, int]] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def run_baseline(tree: str, db: str, workers: int) -> dict[str, Any]:
    """The straightforward implementation: walk, pool(hash + identify every file), insert."""
    import multiprocessing

    started = time.perf_counter()
    cpu = h.cpu_seconds()
    con = sqlite3.connect(db, isolation_level=None)
    con.execute("PRAGMA journal_mode = WAL")
    con.execute("PRAGMA synchronous = NORMAL")
    con.execute("CREATE TABLE files (path TEXT PRIMARY KEY, size INTEGER, sha256 TEXT, puid TEXT)")
    con.execute("BEGIN")
    files = identified = 0
    sampler = h.HwmSampler()
    # "fork" (the Linux default up to Python 3.13): the coordinator never imports pygfried,
    # each worker loads it in the initializer.
    pool = multiprocessing.get_context("fork").Pool(workers, initializer=_baseline_init)
    sampler.start()
    try:
        for rows in pool.imap_unordered(
            _baseline_task, _chunked(_baseline_walk(tree), BASELINE_CHUNK)
        ):
            con.executemany("INSERT INTO files VALUES (?, ?, ?, ?)", rows)
            files += len(rows)
            identified += len(rows)
        sampler.sample()
        pool.close()
        pool.join()
    finally:
        pool.terminate()
    con.execute("COMMIT")
    con.close()
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "coord_cpu_s": round(h.cpu_seconds() - cpu, 2),
        "rows": files,
        "counters": {"hashed": files, "identified": identified},
        "wrk_hwm_kib": sampler.stop(),
    }


def run_preserveplan(tree: str, db: str, workers: int, profile: str | None) -> dict[str, Any]:
    import preserveplan
    from preserveplan.versions import engine_info

    sampler = h.HwmSampler()
    sampler.start()
    prof: Any = None
    if profile:
        import cProfile

        prof = cProfile.Profile()
        prof.enable()
    started = time.perf_counter()
    cpu = h.cpu_seconds()
    [result] = preserveplan.scan(tree, db=db, workers=workers, progress=None)
    seconds = time.perf_counter() - started
    coord_cpu = h.cpu_seconds() - cpu
    engine = engine_info()  # cached by the scan (its cost is part of the timed call)
    if prof is not None:
        prof.disable()
        _write_profile(prof, profile or "")
    summary = result.summary
    this_run = summary["this_run"]
    return {
        "seconds": seconds,
        "coord_cpu_s": round(coord_cpu, 2),
        "rows": summary.get("entries", {}).get("on_disk"),
        "outcomes": summary.get("outcomes"),
        "counters": {
            k: this_run.get(k)
            for k in (
                "seconds",
                "walked",
                "hashed",
                "identified",
                "identification_cache_hits",
                "reused_unchanged",
                "bytes_read",
            )
        },
        "wrk_hwm_kib": sampler.stop(),
        "engine": engine.as_dict(),
    }


def _write_profile(prof: Any, path: str) -> None:
    import io
    import pstats

    out = io.StringIO()
    stats = pstats.Stats(prof, stream=out)
    stats.sort_stats("tottime").print_stats(25)
    stats.sort_stats("cumulative").print_stats(30)
    Path(path).write_text(out.getvalue())


def child_main(args: argparse.Namespace) -> None:
    """``--_run VARIANT``: run one variant and write its figures as JSON to ``--_out``."""
    if args._run == "baseline":
        figures = run_baseline(args._tree, args._db, args.workers)
    else:
        figures = run_preserveplan(args._tree, args._db, args.workers, args._profile)
    h.stop_forkserver()
    self_ru = resource.getrusage(resource.RUSAGE_SELF)
    children_ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    figures.update(
        coord_rss_mib=h.mib(self_ru.ru_maxrss),
        coord_hwm_mib=h.mib(h.vm_kib()),
        wrk_rss_mib=h.mib(children_ru.ru_maxrss),
        wrk_hwm_mib=h.mib(figures.pop("wrk_hwm_kib")),
        wrk_cpu_s=round(children_ru.ru_utime + children_ru.ru_stime, 2),
    )
    Path(args._out).write_text(json.dumps(figures))


def gen_main(args: argparse.Namespace) -> None:
    """``--_gen KIND``: generate one tree (in a child, so that the launcher stays small)."""
    root = Path(args._tree)
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    info = generate_tree(args._gen, root, args.files, args.seed, args.dup_fraction)
    Path(args._out).write_text(json.dumps(asdict(info)))


# =============================================================================================
# The launcher
# =============================================================================================


@dataclass
class Measure(h.Timed):
    tree: str
    variant: str
    files: int
    nbytes: int
    figures: dict[str, Any] | None
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        s = self.seconds
        return {
            "tree": self.tree,
            "variant": self.variant,
            "files": self.files,
            "bytes": self.nbytes,
            "files_per_s": round(self.files / s, 1) if s else None,
            "mb_per_s": round(self.nbytes / 1e6 / s, 2) if s else None,
            **(self.figures or {}),
            "error": self.error,
        }


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.script = os.path.abspath(__file__)
        self.work = h.workdir(args.keep, "preserveplan-bench-")
        self.engine: dict[str, Any] | None = None
        self.profiles: list[tuple[str, str]] = []
        self.source = h.source_version()

    def cleanup(self) -> None:
        if not self.args.keep:
            shutil.rmtree(self.work, ignore_errors=True)

    log = staticmethod(h.log)

    # -- trees -------------------------------------------------------------------------------
    def tree(self, kind: str, n: int) -> TreeInfo:
        a = self.args
        name = f"{kind}-{n}-s{a.seed}" + (f"-d{a.dup_fraction:g}" if kind == "dup" else "")
        root = self.work / "trees" / name
        manifest = self.work / "trees" / f"{name}.json"
        fraction = a.dup_fraction if kind == "dup" else 0.0
        wanted = TreeInfo(kind, str(root), n, 0, a.seed, fraction, 0, 0)
        if manifest.exists() and root.is_dir():
            info = TreeInfo(**json.loads(manifest.read_text()))
            if info.matches(wanted):
                self.log(f"reusing {kind} tree of {n} files in {root}")
                return info
        self.log(f"generating {kind} tree of {n} files in {root} ...")
        cmd = [sys.executable, self.script, "--_gen", kind, "--_tree", str(root)]
        cmd += ["--_out", str(manifest), "--files", str(n), "--seed", str(a.seed)]
        cmd += ["--dup-fraction", str(wanted.dup_fraction)]
        subprocess.run(cmd, check=True)
        info = TreeInfo(**json.loads(manifest.read_text()))
        self.log(
            f"  {info.files} files, {info.bytes / 1e6:.1f} MB, {info.duplicates} duplicates, "
            f"{info.seconds_to_generate} s"
        )
        return info

    # -- variants ----------------------------------------------------------------------------
    def _db(self, tree: TreeInfo, variant: str) -> Path:
        impl = "baseline" if variant == "baseline" else "preserveplan"
        return self.work / "db" / f"{Path(tree.root).name}-{impl}.db"

    @staticmethod
    def _fresh(db: Path) -> None:
        db.parent.mkdir(parents=True, exist_ok=True)
        h.remove_db(db)

    def run_round(
        self, tree: TreeInfo, variants: tuple[str, ...], runs: dict[str, list[dict[str, Any]]]
    ) -> None:
        """Run each variant once, in order, each in a fresh child; append figures to ``runs``
        (an error is recorded as ``{"error": ...}``)."""
        for variant in variants:
            db = self._db(tree, variant)
            snapshot = Path(str(db) + ".after-first-scan")
            self._fresh(db)
            if variant == "pp-rescan":  # every rescan starts from the catalog of a first scan
                if not snapshot.exists():
                    runs[variant].append({"error": "no first scan to rescan"})
                    continue
                shutil.copyfile(snapshot, db)
            # Write back dirty pages (the trees, the previous variant's catalog) now, untimed,
            # rather than during the next measurement.
            os.sync()
            figures, error = self._child(tree, variant, db)
            runs[variant].append(figures if figures is not None else {"error": error})
            if variant == "pp-first" and error is None:
                # SQLite checkpoints and removes the WAL when the scan closes the catalog.
                shutil.copyfile(db, snapshot)

    def measure(self, tree: TreeInfo, variants: tuple[str, ...]) -> list[Measure]:
        """``--repeat`` rounds of all variants, interleaved (so that a slow spell of a shared
        machine hits every variant alike); report each variant's median run."""
        runs: dict[str, list[dict[str, Any]]] = {v: [] for v in variants}
        for _ in range(self.args.repeat):
            self.run_round(tree, variants, runs)
        return [self._median(tree, v, runs[v]) for v in variants]

    def _median(self, tree: TreeInfo, variant: str, runs: list[dict[str, Any]]) -> Measure:
        errors = [r["error"] for r in runs if "error" in r]
        if errors:
            return Measure(tree.kind, variant, tree.files, tree.bytes, None, errors[0])
        median = h.median_run(runs)
        if "engine" in median:
            self.engine = median.pop("engine")
        if median.get("rows") not in (None, tree.files):
            self.log(f"WARNING: {variant} recorded {median['rows']} files, not {tree.files}")
        return Measure(tree.kind, variant, tree.files, tree.bytes, median)

    def _child(
        self, tree: TreeInfo, variant: str, db: Path
    ) -> tuple[dict[str, Any] | None, str | None]:
        out = self.work / f"result-{os.getpid()}.json"
        cmd = [sys.executable, self.script, "--_run", variant, "--_tree", tree.root]
        cmd += ["--_db", str(db), "--_out", str(out), "--workers", str(self.args.workers)]
        profile = None
        if self.args.profile and variant != "baseline":
            profile = str(self.work / f"profile-{tree.kind}-{tree.files}-{variant}.txt")
            cmd += ["--_profile", profile]
        self.log(f"  {variant:<10} on {tree.kind} tree ({tree.files} files) ...")
        figures, error = h.run_child(cmd, out)
        if figures is None:
            return None, error
        if profile:
            self.profiles.append((f"{variant} on {tree.kind} tree", Path(profile).read_text()))
        return figures, None

    # -- the modes ---------------------------------------------------------------------------
    def warm_tools(self) -> None:
        """Load Python, preserveplan and Siegfried's signatures once, untimed, so that the first
        measured variant does not pay for a cold page cache of the tools either."""
        code = "import preserveplan.versions as v, pygfried; pygfried.Scanner(); v.engine_info()"
        subprocess.run([sys.executable, "-c", code], check=False, capture_output=True)

    def full(self) -> dict[str, Any]:
        a = self.args
        measures: list[Measure] = []
        trees: dict[str, TreeInfo] = {}
        for kind in ("unique", "dup"):
            trees[kind] = self.tree(kind, a.files)
        self.warm_tools()
        for kind, tree in trees.items():
            files, nbytes = warm_up(tree.root)
            self.log(f"warm-up read of the {kind} tree: {files} files, {nbytes / 1e6:.1f} MB")
            measures.extend(self.measure(tree, VARIANTS))
        return self.report_full(trees, measures)

    def rss_series(self, sizes: list[int]) -> dict[str, Any]:
        measures: list[Measure] = []
        self.warm_tools()
        for n in sizes:
            tree = self.tree("unique", n)
            warm_up(tree.root)
            measures.extend(self.measure(tree, ("pp-first",)))
        return self.report_series(measures)

    # -- reports -----------------------------------------------------------------------------
    def machine(self) -> dict[str, Any]:
        siegfried = (self.engine or {}).get("siegfried", "?")
        return h.machine(self.source, pygfried=h.version("pygfried"), siegfried=siegfried)

    def header(self) -> None:
        m = self.machine()
        h.print_machine(m)
        print(
            f"Python {m['python']} ({m['python_impl']}), pygfried {m['pygfried']} "
            f"(siegfried {m['siegfried']}), preserveplan {m['preserveplan']}, "
            f"SQLite {m['sqlite']}"
        )
        h.print_source(m)
        a = self.args
        print(
            f"workers: {a.workers}; seed {a.seed}; repeat {a.repeat}"
            + ("; PROFILED (timings inflated)" if a.profile else "")
            + "; page cache warm (one untimed read of each tree)"
        )

    @staticmethod
    def table(measures: list[Measure]) -> None:
        head = (
            f"{'tree':<7} {'variant':<10} {'files':>7} {'seconds':>8} {'files/s':>8} "
            f"{'MB/s':>7} {'identified':>10} {'coord MiB':>9} {'wrk rusage':>10} "
            f"{'wrk hwm':>8} {'coord CPU':>9} {'wrk CPU':>8}  {'runs (s)'}"
        )
        print(head)
        print("-" * len(head))
        for m in measures:
            if m.figures is None:
                print(f"{m.tree:<7} {m.variant:<10} {m.files:>7}  ERROR {m.error}")
                continue
            f = m.figures
            s = f["seconds"]
            ident = f["counters"].get("identified")
            runs = f.get("all_seconds") or [s]
            spread = f"{min(runs):.2f}-{max(runs):.2f}" if len(runs) > 1 else ""
            print(
                f"{m.tree:<7} {m.variant:<10} {m.files:>7} {s:>8.2f} {m.files / s:>8.0f} "
                f"{m.nbytes / 1e6 / s:>7.1f} {ident if ident is not None else '-':>10} "
                f"{f['coord_rss_mib']:>9.1f} {f['wrk_rss_mib']:>10.1f} {f['wrk_hwm_mib']:>8.1f} "
                f"{f['coord_cpu_s']:>9.2f} {f['wrk_cpu_s']:>8.2f}  {spread}"
            )

    verdict = staticmethod(h.verdict)

    @staticmethod
    def print_verdicts(verdicts: list[dict[str, Any]], unit: str) -> None:
        width = max(len(v["name"]) for v in verdicts)
        for v in verdicts:
            shown = "n/a" if v["value"] is None else f"{v['value']:.2f}{unit}"
            print(
                f"{v['name']:<{width}}  {shown:>9}  target {v['target']:<7}  "
                f"{'PASS' if v['pass'] else 'FAIL'}"
            )

    def report_full(self, trees: dict[str, TreeInfo], measures: list[Measure]) -> dict[str, Any]:
        def get(kind: str, variant: str) -> Measure:
            return next(m for m in measures if m.tree == kind and m.variant == variant)

        def ratio(a: float | None, b: float | None) -> float | None:
            return a / b if a is not None and b else None

        verdicts = []
        for kind, target in (("unique", TARGET_UNIQUE), ("dup", TARGET_DUP)):
            speed = ratio(get(kind, "pp-first").files_per_s, get(kind, "baseline").files_per_s)
            verdicts.append(
                self.verdict(f"first scan / baseline (files/s), {kind} tree", speed, target, True)
            )
        for kind in ("unique", "dup"):
            gain = ratio(get(kind, "pp-first").seconds, get(kind, "pp-rescan").seconds)
            name = f"rescan speed-up vs first scan, {kind} tree"
            verdicts.append(self.verdict(name, gain, TARGET_RESCAN, True))
        self.header()
        for kind, t in trees.items():
            print(
                f"{kind} tree: {t.files} files, {t.bytes / 1e6:.1f} MB, "
                f"{t.distinct_contents} distinct contents ({t.duplicates} duplicates)"
            )
        print()
        self.table(measures)
        print()
        self.print_verdicts(verdicts, "x")
        first = get("unique", "pp-first").figures
        if first:
            print(
                f"memory: coordinator peak RSS of the first scan at {self.args.files} files = "
                f"{first['coord_rss_mib']:.1f} MiB (compare runs of other sizes, or use "
                f"--rss-series; target growth 10k -> 100k < {TARGET_RSS_GROWTH:g} %)"
            )
        self.print_profiles()
        return {
            "machine": self.machine(),
            "config": self.config(),
            "trees": {k: asdict(t) for k, t in trees.items()},
            "results": [m.as_dict() for m in measures],
            "verdicts": verdicts,
        }

    def report_series(self, measures: list[Measure]) -> dict[str, Any]:
        self.header()
        print("RSS series: preserveplan first scan of the unique tree at each size\n")
        self.table(measures)
        print()
        verdicts = []
        base = measures[0].figures
        for m in measures[1:]:
            growth = None
            if base is not None and m.figures is not None:
                growth = 100 * (m.figures["coord_rss_mib"] / base["coord_rss_mib"] - 1)
                a, b = base["coord_hwm_mib"], m.figures["coord_hwm_mib"]
                print(
                    f"cross-check: coordinator VmHWM {a:.1f} -> {b:.1f} MiB "
                    f"({100 * (b / a - 1):+.1f} %)"
                )
            name = f"coordinator peak RSS growth {measures[0].files} -> {m.files} files"
            verdicts.append(self.verdict(name, growth, TARGET_RSS_GROWTH, False))
        self.print_verdicts(verdicts, " %")
        self.print_profiles()
        return {
            "machine": self.machine(),
            "config": self.config(),
            "results": [m.as_dict() for m in measures],
            "verdicts": verdicts,
        }

    def print_profiles(self) -> None:
        for title, text in self.profiles:
            print(f"\n=== cProfile of the coordinator: {title} ===")
            print(text.strip())

    def config(self) -> dict[str, Any]:
        a = self.args
        return {
            "files": a.files,
            "workers": a.workers,
            "dup_fraction": a.dup_fraction,
            "seed": a.seed,
            "repeat": a.repeat,
            "profile": a.profile,
            "rss_series": a.rss_series,
            "workdir": str(self.work),
            "kept": bool(a.keep),
            "targets": {
                "first_over_baseline_unique": TARGET_UNIQUE,
                "first_over_baseline_dup": TARGET_DUP,
                "rescan_speedup": TARGET_RESCAN,
                "rss_growth_percent": TARGET_RSS_GROWTH,
            },
        }


def _sizes(text: str) -> list[int]:
    return [int(s) for s in text.split(",") if s.strip()]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="Benchmark preserveplan.scan against a straightforward baseline.",
        epilog="Always exits 0 when the benchmark ran: targets are reported, not enforced.",
    )
    p.add_argument("--files", type=int, default=10_000, help="files per tree (default 10000)")
    p.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    p.add_argument("--dup-fraction", type=float, default=0.3, help="duplicates in the dup tree")
    p.add_argument("--seed", type=int, default=1, help="seed of the generated trees")
    p.add_argument(
        "--repeat",
        type=int,
        help="rounds of runs, the median is kept (default 3; 1 with --rss-series)",
    )
    p.add_argument("--keep", metavar="DIR", help="work in DIR and keep trees and catalogs")
    p.add_argument("--json", action="store_true", help="also print one JSON object")
    p.add_argument("--profile", action="store_true", help="cProfile the preserveplan coordinator")
    p.add_argument(
        "--rss-series",
        metavar="SIZES",
        help="comma-separated sizes: only preserveplan first scans, coordinator RSS growth",
    )
    hidden = argparse.SUPPRESS
    p.add_argument("--_run", choices=VARIANTS, help=hidden)
    p.add_argument("--_gen", choices=("unique", "dup"), help=hidden)
    p.add_argument("--_tree", help=hidden)
    p.add_argument("--_db", help=hidden)
    p.add_argument("--_out", help=hidden)
    p.add_argument("--_profile", help=hidden)
    args = p.parse_args(argv)
    if args.repeat is None:
        args.repeat = 1 if args.rss_series else 3
    if args.files < 1 or args.workers < 1 or args.repeat < 1:
        p.error("--files, --workers and --repeat must be at least 1")
    if not 0 <= args.dup_fraction < 1:
        p.error("--dup-fraction must be in [0, 1)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args._run:
        child_main(args)
        return 0
    if args._gen:
        gen_main(args)
        return 0
    bench = Bench(args)
    try:
        if args.rss_series:
            sizes = _sizes(args.rss_series)
            if len(sizes) < 2:
                raise SystemExit("--rss-series needs at least two sizes, e.g. 10000,100000")
            result = bench.rss_series(sizes)
        else:
            result = bench.full()
        if args.json:
            print(json.dumps(result, sort_keys=True))
        elif args.keep:
            print(f"\ntrees and catalogs kept in {bench.work}")
    finally:
        bench.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
