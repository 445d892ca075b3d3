"""Migration robustness: a worker that really dies costs only the file that kills it, and the
to-do list is read page by page, each row once."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pygfried
import pytest
from test_migrate import MINI, digests, make_archive
from util import migrate_cmd, pdf_bytes

from preserveplan import Catalog, scan
from preserveplan.rules import load_ruleset
from preserveplan.rules.assess import assess

pytestmark = pytest.mark.skipif(shutil.which("gs") is None, reason="Ghostscript not installed")

CULPRIT = "protokoll 3.pdf"


def _migrate(
    db: Path, out: Path, *extra: str, env: dict[str, str] | None = None
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        migrate_cmd(db, out, "--json", *extra),
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _finish(proc: subprocess.Popen[str], timeout: float = 300) -> tuple[str, str]:
    try:
        return proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _journal_checks(db: Path, culprit: bytes, n: int, message: str) -> None:
    """One event per file (no duplicates), the culprit ``crashed`` with ``message``."""
    con = sqlite3.connect(db)
    events = con.execute("SELECT path, outcome, message FROM migration_events").fetchall()
    assert len(events) == n and len({bytes(p) for p, _, _ in events}) == n
    outcomes = {bytes(p): (o, m) for p, o, m in events}
    assert outcomes[culprit][0] == "crashed" and message in outcomes[culprit][1]
    assert all(o == "done" for p, (o, _) in outcomes.items() if p != culprit)
    states = dict(con.execute("SELECT state, COUNT(*) FROM migrations GROUP BY 1").fetchall())
    assert states == {"done": n - 1, "failed": 1}


def _outputs_valid(out: Path, n: int, culprit: str) -> None:
    outputs = sorted(out.rglob("*.pdf"))
    assert len(outputs) == n and culprit not in {p.name for p in outputs}
    found = pygfried.Scanner().identify_many([str(p) for p in outputs])["files"]
    assert {f["matches"][0]["id"] for f in found} == {"fmt/477"}  # PDF/A-2b
    assert not list(out.rglob(".*partial*")), "partial files left behind"


def _migrate_with_stand_in(
    tmp_path: Path,
    db: Path,
    out: Path,
    culprit_case: str,
    *,
    log: Path | None = None,
    timeout: float = 300,
) -> tuple[subprocess.Popen[str], str, str]:
    """Run migrate -j2 with a stand-in ``gs`` on PATH: the shell lines ``culprit_case`` for
    the culprit, the real Ghostscript for every other file (each call logged to ``log``)."""
    fake = tmp_path / "bin"
    fake.mkdir()
    logging = f'echo "$last" >> {log}\n' if log is not None else ""
    script = fake / "gs"
    script.write_text(
        f"""#!/bin/sh
case "$1" in --version) exec {shutil.which("gs")} --version;; esac
for last; do :; done
{logging}case "$last" in
  */"{CULPRIT}")
{culprit_case}
esac
exec {shutil.which("gs")} "$@"
"""
    )
    script.chmod(0o755)
    proc = _migrate(db, out, env={**os.environ, "PATH": f"{fake}:{os.environ['PATH']}"})
    stdout, stderr = _finish(proc, timeout)
    return proc, stdout, stderr


def test_converter_killing_its_worker_costs_only_its_file(tmp_path: Path) -> None:
    """A stand-in ``gs`` kills the worker process that runs it (``kill -9 $PPID``) for one
    file and runs the real Ghostscript for the others: with two workers and eight files, the
    files in flight with it are converted again, one at a time; only the culprit is
    ``crashed`` (its worker died twice), every other file is done and valid."""
    root, db = make_archive(tmp_path, n=8)
    before = digests(root)
    out = tmp_path / "ut"
    log, kills = tmp_path / "calls.log", tmp_path / "kills.log"
    # The converter runs in its own session, started by the worker: $PPID is the worker, whose
    # parent is the forkserver, whose parent is the migrate process (logged to be checked).
    proc, stdout, stderr = _migrate_with_stand_in(
        tmp_path,
        db,
        out,
        f"""    server=$(sed 's/.*) //' /proc/$PPID/stat | cut -d' ' -f2)
    main=$(sed 's/.*) //' /proc/$server/stat | cut -d' ' -f2)
    echo "$PPID $server $main" >> {kills}
    kill -9 $PPID
    exit 1;;""",
        log=log,
    )
    assert proc.returncode == 0, stderr
    assert "Traceback" not in stderr
    summary = json.loads(stdout)
    assert summary["done"] == 7 and summary["failed"] == {"crashed": 1}, summary
    # the culprit killed a worker twice: in a full pool, then alone in a new one
    deaths = [line.split() for line in kills.read_text().splitlines()]
    assert len(deaths) == 2
    for worker, server, main in deaths:
        assert int(main) == proc.pid and int(worker) != proc.pid and server != worker
    calls = log.read_text().splitlines()
    assert sum(c.endswith("/" + CULPRIT) for c in calls) == 2
    culprit = f"Falun/Protokoll/{CULPRIT}".encode()
    _journal_checks(db, culprit, 8, "the worker process died twice while converting this file")
    _outputs_valid(out, 7, CULPRIT)
    assert digests(root) == before


def test_workers_that_always_die_stop_the_run(tmp_path: Path) -> None:
    """A converter that kills its worker on every file (a broken setup, not a bad file): after
    a few deaths with no conversion finished the run stops with a clear message (exit code 1);
    the files sent alone so far are ``crashed``, the others stay pending, no partial is left."""
    _, db = make_archive(tmp_path, n=8)
    out = tmp_path / "ut"
    fake = tmp_path / "bin"
    fake.mkdir()
    script = fake / "gs"
    script.write_text(
        f'#!/bin/sh\ncase "$1" in --version) exec {shutil.which("gs")} --version;; esac\n'
        "kill -9 $PPID\nexit 1\n"
    )
    script.chmod(0o755)
    proc = _migrate(db, out, env={**os.environ, "PATH": f"{fake}:{os.environ['PATH']}"})
    stdout, stderr = _finish(proc)
    assert proc.returncode == 1, stdout + stderr
    assert "keep dying" in stderr and "Traceback" not in stderr
    con = sqlite3.connect(db)
    states = dict(con.execute("SELECT state, COUNT(*) FROM migrations GROUP BY 1").fetchall())
    # four in flight lost at the first death, each then killed its worker alone: 1 + 4 deaths;
    # the sixth (the next four sent together) stops the run
    assert states == {"failed": 4, "pending": 4}
    assert con.execute("SELECT COUNT(*) FROM migration_events").fetchone()[0] == 4
    assert not [p for p in out.rglob("*") if p.is_file()]


def _pdf_with_hole(path: Path, text: str, hole: int) -> None:
    """A valid PDF whose unreferenced stream object is ``hole`` bytes of zeros, written sparse:
    no disk used, quick to convert (Ghostscript reads what the pages need), slow to hash."""
    head = pdf_bytes(text).partition(b"xref\n")[0]
    offsets = [m.start() for m in re.finditer(rb"\d+ 0 obj\n", head)]
    with open(path, "wb") as f:
        f.write(head)
        offsets.append(f.tell())
        f.write(b"%d 0 obj\n<< /Length %d >>\nstream\n" % (len(offsets), hole))
        f.seek(hole, os.SEEK_CUR)
        f.write(b"\nendstream\nendobj\n")
        xref = f.tell()
        f.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(offsets) + 1))
        f.write(b"".join(b"%010d 00000 n \n" % off for off in offsets))
        f.write(b"trailer\n<< /Size %d /Root 1 0 R >>\n" % (len(offsets) + 1))
        f.write(b"startxref\n%d\n%%%%EOF\n" % xref)


def _stat(pid: int) -> list[str]:
    """/proc/PID/stat from field 3 (state) on."""
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rpartition(") ")[2].split()


def _open_files(session: int, nice: int) -> dict[int, set[str]]:
    """The files open in the processes of ``session`` that run at ``nice``."""
    found: dict[int, set[str]] = {}
    for name in filter(str.isdigit, os.listdir("/proc")):
        pid = int(name)
        try:
            if os.getsid(pid) != session or int(_stat(pid)[16]) != nice:
                continue
            found[pid] = {
                os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")
            }
        except (OSError, ValueError):
            continue
    return found


@pytest.mark.parametrize("vanish", [False, True], ids=["partial-kept", "partial-vanished"])
def test_worker_dying_in_a_check_costs_only_its_file(tmp_path: Path, vanish: bool) -> None:
    """A check worker really killed (SIGKILL from outside, as the out-of-memory killer does)
    while it validates one file, every time: that file's check is sent again alone with the
    same partial output, and it is ``crashed`` after the second death; the checks in flight
    with it are sent again and pass. When the partial output is gone after the first death
    (here removed by the test, as when a worker dies just after renaming it into place), the
    file is converted again (a new partial) before its check is sent alone. The check
    processes are told apart from the conversion processes by their CPU priority (nice +5).
    At -j2 there is one check process: the checks "in flight" with the culprit wait in its
    pool's queue and are lost with it."""
    root, db = make_archive(tmp_path, n=12)
    culprit = root / "Falun" / "Protokoll" / "a stor.pdf"  # first in path order
    _pdf_with_hole(culprit, "stor", 2**30)  # its checksum takes about a second (0.3 s per 300 MB)
    scan(root, db=db, workers=1)
    with Catalog(db) as cat:
        assess(cat, load_ruleset(MINI))
    out = tmp_path / "ut"
    folder = out / "Falun" / "Protokoll"
    mine = re.compile(r"\.a stor\.pdf\.[0-9a-f]{8}\.partial\.pdf")
    proc = _migrate(db, out)
    nice = min(19, int(_stat(os.getpid())[16]) + 5)
    kills: list[tuple[int, bool]] = []  # (pid, another check was in flight)
    partials: set[str] = set()  # the culprit's partial outputs seen
    seen = 0.0
    try:
        while proc.poll() is None:
            with contextlib.suppress(FileNotFoundError):
                partials.update(n for n in os.listdir(folder) if mine.fullmatch(n))
            files = _open_files(proc.pid, nice)
            dying = {pid for pid, _ in kills}
            holders = [p for p, names in files.items() if str(culprit) in names and p not in dying]
            others = any(
                n.startswith((str(root), str(out))) and n != str(culprit)
                for pid, names in files.items()
                if pid not in holders and pid not in dying
                for n in names
            )
            if not holders:
                seen = 0.0
            elif not seen:
                seen = time.monotonic()
            # the first time, wait (a while) for another file's check to be in flight too
            elif kills or others or time.monotonic() - seen > 0.3:
                if vanish and not kills:
                    for name in os.listdir(folder):
                        if mine.fullmatch(name):
                            (folder / name).unlink()
                for pid in holders:
                    os.kill(pid, signal.SIGKILL)
                    kills.append((pid, others))
                seen = 0.0
            time.sleep(0.002)
    finally:
        stdout, stderr = _finish(proc)
    assert proc.returncode == 0, stderr
    summary = json.loads(stdout)
    assert len(kills) == 2, f"the check of the culprit must die twice, then never run: {kills}"
    print(f"another check in flight at the first death: {kills[0][1]}")
    assert len(partials) == (2 if vanish else 1), partials  # converted again, or not
    assert summary["done"] == 12 and summary["failed"] == {"crashed": 1}, summary
    _journal_checks(
        db,
        b"Falun/Protokoll/a stor.pdf",
        13,
        "the worker process died twice while validating the output of this file",
    )
    _outputs_valid(out, 12, culprit.name)


NAMES = [
    b"a.pdf",
    b"b\xff\xfe.pdf",  # not UTF-8
    b"caf\xe9.pdf",  # Latin-1
    "café.pdf".encode(),
    b"d\xe5/x.pdf",  # a folder not UTF-8
    b"d\xe5/y.pdf",
    b"e.pdf",
    b"f\x80.pdf",
    b"g.pdf",
    b"h.pdf",
    b"\xc3\x28.pdf",  # an invalid UTF-8 sequence
]


def _journal(tmp_path: Path) -> tuple[Path, int]:
    """A real scan and assessment of PDFs with raw byte names; the journal filled (dry run)."""
    from preserveplan.migrate.runner import migrate

    root = os.fsencode(tmp_path / "arkiv")
    for i, name in enumerate(NAMES):
        path = os.path.join(root, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(pdf_bytes("x" * i))  # sizes differ
    db = tmp_path / "c.db"
    scan(os.fsdecode(root), db=db, workers=1)
    with Catalog(db) as cat:
        assess(cat, load_ruleset(MINI))
        summary = migrate(cat, tmp_path / "ut", dry_run=True)
    assert summary.total == len(NAMES)
    return db, summary.run_id


def test_todo_is_paged_by_key_each_row_once(tmp_path: Path) -> None:
    db, run = _journal(tmp_path)
    con = sqlite3.connect(db)
    rows = con.execute(
        "SELECT path, size FROM migrations WHERE run_id = ? ORDER BY path", (run,)
    ).fetchall()
    expected = [bytes(p) for p, _ in rows]
    sizes = {bytes(p): s for p, s in rows}
    assert sorted(expected) == sorted(NAMES)
    with Catalog(db) as cat:
        for page in (1, 2, 3, 10, 11, 1000):
            got = [r[0] for r in cat.migration_todo(run, False, None, page=page)]
            assert got == expected, page
        for limit in (1, 2, 3, 4, 7, 11, 50):
            for page in (1, 3, 1000):
                got = [r[0] for r in cat.migration_todo(run, False, limit, page=page)]
                assert got == expected[:limit], (limit, page)
            # the progress bar's total comes from a query, not from the list
            assert cat.migration_todo_size(run, False, limit) == (
                min(limit, len(NAMES)),
                sum(sizes[p] for p in expected[:limit]),
            )
        assert cat.migration_todo_size(run, False, None) == (len(NAMES), sum(sizes.values()))


def test_each_window_of_the_todo_is_handed_out_largest_first(tmp_path: Path) -> None:
    """Largest-first within each window (big conversions start early, the run ends on small
    ones); every row exactly once, windows in path order, equal sizes in path order."""
    from preserveplan.migrate.runner import largest_first

    db, run = _journal(tmp_path)
    with Catalog(db) as cat:
        rows = list(cat.migration_todo(run, False, None, page=3))
    for window in (1, 2, 4, 5, len(rows), 1000):
        got = list(largest_first(iter(rows), window=window))
        assert sorted(got) == sorted(rows)  # nothing lost, nothing twice
        for start in range(0, len(rows), window):
            chunk = got[start : start + window]
            assert {r[0] for r in chunk} == {r[0] for r in rows[start : start + window]}
            assert [r[2] for r in chunk] == sorted((r[2] for r in chunk), reverse=True)
    unknown = [(b"b", b"b", None, None, "t", "x", "p", 0), (b"a", b"a", 5, None, "t", "x", "p", 0)]
    same = [(b"c", b"c", 7, None, "t", "x", "p", 0), (b"d", b"d", 7, None, "t", "x", "p", 0)]
    assert [r[0] for r in largest_first(unknown + same)] == [b"c", b"d", b"a", b"b"]


def test_rows_recorded_while_paging_are_not_handed_out_again(tmp_path: Path) -> None:
    """Results are recorded on the same connection while the pages are read; a row recorded
    ``failed`` (still wanted with retry_failed) or ``done`` is never handed out twice."""
    db, run = _journal(tmp_path)
    handed: list[bytes] = []
    with Catalog(db) as cat:
        for i, (path, *_rest, tool, _t, _p, attempts) in enumerate(
            cat.migration_todo(run, True, None, page=2)
        ):
            handed.append(path)
            outcome = "failed" if i % 2 else "done"
            result = {"outcome": outcome, "started_at": "x", "finished_at": "x"}
            cat.record_migration(run, path, tool, attempts + 1, result)
        assert sorted(handed) == sorted(NAMES) and len(set(handed)) == len(handed)
        failed = [p for i, p in enumerate(handed) if i % 2]
        assert [r[0] for r in cat.migration_todo(run, True, None, page=2)] == failed
        assert list(cat.migration_todo(run, False, None, page=2)) == []
        sizes = dict(cat.db.execute("SELECT path, size FROM migrations").fetchall())
        assert cat.migration_todo_size(run, True, None) == (
            len(failed),
            sum(sizes[p] for p in failed),
        )
        assert cat.migration_todo_size(run, False, None) == (0, 0)


def test_converter_of_a_dead_worker_is_killed(tmp_path: Path) -> None:
    """A converter whose worker process dies is adopted by the migrate process (it is the
    subreaper of its descendants) and killed with its process group, not left running: here a
    stand-in ``gs`` kills its worker, then would sleep for a minute."""
    _, db = make_archive(tmp_path, n=4)
    out = tmp_path / "ut"
    pids = tmp_path / "pids.log"
    proc, stdout, stderr = _migrate_with_stand_in(
        tmp_path,
        db,
        out,
        f"""    echo $$ >> {pids}
    kill -9 $PPID
    sleep 60 &
    echo $! >> {pids}
    wait
    exit 1;;""",
        timeout=50,  # well before the stand-in's minute is up
    )
    assert proc.returncode == 0, stderr
    summary = json.loads(stdout)
    assert summary["done"] == 3 and summary["failed"] == {"crashed": 1}, summary
    left = [int(p) for p in pids.read_text().split()]
    assert len(left) == 4  # two attempts, each a shell and its sleep
    for pid in left:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
