"""Scan and migrate on a real Dask cluster (LocalCluster: separate worker processes on
loopback): the catalog rows are those of a local run, a killed worker loses no file, a file that
keeps killing workers is recorded as ``worker_crash``, and unusable clusters are refused."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tarfile
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import rows
from util import pdf_bytes, png_bytes

from preserveplan import Catalog, scan
from preserveplan.cli import main
from preserveplan.cluster import ClusterError
from preserveplan.migrate.runner import migrate
from preserveplan.rules import load_ruleset
from preserveplan.rules.assess import assess

distributed = pytest.importorskip("distributed")

DASK = Path(sys.executable).with_name("dask")


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    """Two worker processes, one thread each, on loopback; no dashboard; the scheduler hands a
    worker one task at a time (worker-saturation 1.0, as the README recommends)."""
    import dask

    with dask.config.set({"distributed.scheduler.worker-saturation": 1.0}):
        lc = distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        )
    try:
        yield lc
    finally:
        lc.close()


@pytest.fixture
def client(cluster: Any) -> Iterator[Any]:
    with distributed.Client(cluster.scheduler_address, set_as_default=False) as c:
        c.wait_for_workers(2, timeout=60)
        yield c


def odd_tree(root: Path) -> Path:
    """Real files with the awkward cases: names that are not UTF-8 or hold a newline,
    duplicates, empty files, links, a FIFO, nested containers, unidentifiable bytes, and enough
    files for several batches."""
    (root / "Säter" / "KS").mkdir(parents=True)
    (root / "Falun" / "kopia").mkdir(parents=True)
    (root / "Säter" / "KS" / "protokoll 1.pdf").write_bytes(pdf_bytes("protokoll 1"))
    (root / "Säter" / "KS" / "protokoll 2.pdf").write_bytes(pdf_bytes("protokoll 2"))
    (root / "Falun" / "bild.png").write_bytes(png_bytes(8, 8, 3))
    (root / "Falun" / "kopia" / "bild.png").write_bytes(png_bytes(8, 8, 3))
    (root / "Falun" / "namn\nmed radbrytning.txt").write_text("rad ett\nrad två\n")
    latin = os.path.join(os.fsencode(root), "Borlänge".encode(), b"\xe5r 2020")
    os.makedirs(latin)
    with open(os.path.join(latin, b"f\xf6rslag.txt"), "wb") as fh:
        fh.write(b"f\xf6rslag i latin-1\n")
    (root / "tom.txt").write_bytes(b"")
    (root / "slump.bin").write_bytes(os.urandom(3000))
    (root / "trasig.docx").write_bytes(b"PK\x03\x04" + bytes(range(256)) * 4)
    os.symlink("Säter/KS/protokoll 1.pdf", root / "länk.pdf")
    os.symlink("finns-inte.pdf", root / "bruten-länk.pdf")
    os.mkfifo(root / "rör")
    inner = root / "inner.zip"
    with zipfile.ZipFile(inner, "w") as z:
        z.writestr("djup/a.txt", "inre\n")
        z.writestr("djup/b.pdf", pdf_bytes("inre"))
    with zipfile.ZipFile(root / "paket.zip", "w") as z:
        z.writestr("a.txt", "yttre\n")
        z.writestr("bild.png", png_bytes(4, 4, 9))
        z.write(inner, "inner.zip")
    inner.unlink()
    with tarfile.open(root / "arkiv.tar.gz", "w:gz") as t:
        t.add(root / "Säter" / "KS" / "protokoll 1.pdf", "p1.pdf")
        t.add(root / "Falun" / "bild.png", "bild.png")
    many = root / "Ludvika" / "diarium"
    many.mkdir(parents=True)
    for i in range(300):
        (many / f"ärende {i:03d}.txt").write_text(f"ärende {i}\n" * (1 + i % 7))
    return root


def comparable(db: Path, scan_id: int) -> dict[bytes, dict[str, object]]:
    """Every row of a scan, without what differs between two catalogs by construction."""
    return {
        path: {k: v for k, v in row.items() if k not in ("scan_id", "ident_id")}
        for path, row in rows(db, scan_id).items()
    }


def test_scan_on_cluster_matches_local(tmp_path: Path, cluster: Any) -> None:
    root = odd_tree(tmp_path / "arkiv")
    [local] = scan(root, db=tmp_path / "local.db", workers=2)
    args = ["scan", "--json", "--db", str(tmp_path / "dask.db")]
    result = CliRunner().invoke(main, [*args, "--cluster", cluster.scheduler_address, str(root)])
    assert result.exit_code == 0, result.output
    [remote] = json.loads(result.stdout)
    assert remote["summary"]["this_run"]["cluster"] == cluster.scheduler_address
    expected = comparable(tmp_path / "local.db", local.scan_id)
    found = comparable(tmp_path / "dask.db", remote["scan_id"])
    assert found == expected
    outcomes = {row["outcome"] for row in found.values()}
    assert {"ok", "empty", "symlink", "dangling_symlink", "special"} <= outcomes
    assert any(row["parent"] == b"paket.zip!/inner.zip" for row in found.values())
    assert "Borlänge/".encode() + b"\xe5r 2020/f\xf6rslag.txt" in found
    assert remote["summary"]["outcomes"] == local.summary["outcomes"]

    # A year later: one file changed, one added, one removed; both rescans agree too.
    (root / "Säter" / "KS" / "protokoll 2.pdf").write_bytes(pdf_bytes("ändrad"))
    (root / "Falun" / "ny.png").write_bytes(png_bytes(5, 5, 1))
    (root / "slump.bin").unlink()
    [local2] = scan(root, db=tmp_path / "local.db", workers=2)
    [remote2] = scan(root, db=tmp_path / "dask.db", cluster=cluster.scheduler_address)
    assert comparable(tmp_path / "dask.db", remote2.scan_id) == comparable(
        tmp_path / "local.db", local2.scan_id
    )
    assert remote2.summary["changes_since"] == local2.summary["changes_since"]
    assert remote2.summary["changes_since"]["changed"] == 1


def test_corpus_on_cluster_matches_local(corpus: Path, tmp_path: Path, cluster: Any) -> None:
    [local] = scan(corpus, db=tmp_path / "local.db", workers=2)
    [remote] = scan(corpus, db=tmp_path / "dask.db", cluster=cluster.scheduler_address)
    expected = comparable(tmp_path / "local.db", local.scan_id)
    assert len(expected) > 700
    assert comparable(tmp_path / "dask.db", remote.scan_id) == expected


class _KillOnce:
    """Progress sink that SIGKILLs a worker process that has tasks, once ``after`` files are
    recorded (so the kill lands mid-run, with work on that worker)."""

    def __init__(self, client: Any, after: int) -> None:
        self.client = client
        self.after = after
        self.done = 0
        self.pids: dict[str, int] = client.run(os.getpid)
        self.killed: tuple[str, int, int] | None = None
        self.held = 0

    def total(self, files: int, nbytes: int) -> None:
        pass

    def advance(self, files: int, nbytes: int) -> None:
        before, self.done = self.done, self.done + files
        if before // 100 != self.done // 100:  # results must not pile up on the cluster
            self.held = max(self.held, self.client.run_on_scheduler(_task_count))
        if self.killed is not None or self.done < self.after:
            return
        busy = [addr for addr, keys in self.client.processing().items() if keys]
        if busy and busy[0] in self.pids:
            os.kill(self.pids[busy[0]], signal.SIGKILL)
            self.killed = (busy[0], self.pids[busy[0]], self.done)


def _task_count(dask_scheduler: Any = None) -> int:
    return len(dask_scheduler.tasks)


def test_killed_worker_loses_no_file(tmp_path: Path, cluster: Any, client: Any) -> None:
    root = tmp_path / "arkiv"
    n = 0
    for folder in range(40):
        (root / f"mapp{folder:02d}").mkdir(parents=True)
        for i in range(250):
            (root / f"mapp{folder:02d}" / f"dok{i:03d}.txt").write_text(f"dokument {folder} {i}\n")
            n += 1
    [local] = scan(root, db=tmp_path / "local.db", workers=2)
    killer = _KillOnce(client, after=1000)
    [remote] = scan(
        root, db=tmp_path / "dask.db", cluster=cluster.scheduler_address, progress=killer
    )
    assert killer.killed is not None, "no worker was busy: the kill did not happen"
    assert killer.killed[2] < n, "the kill came after the last file"
    with pytest.raises(ProcessLookupError):
        os.kill(killer.killed[1], 0)
    found = comparable(tmp_path / "dask.db", remote.scan_id)
    assert found == comparable(tmp_path / "local.db", local.scan_id)
    assert len(found) == n
    with Catalog(tmp_path / "dask.db") as cat:
        [[count, distinct]] = cat.db.execute(
            "SELECT COUNT(*), COUNT(DISTINCT path) FROM files WHERE scan_id = ?",
            (remote.scan_id,),
        ).fetchall()
    assert count == distinct == n
    assert {r["outcome"] for r in found.values()} == {"ok"}
    # Dask ran the lost tasks again: nothing was split or given up on.
    assert remote.summary["this_run"]["worker_restarts"] == 0
    # 60 tasks in all (batches of 512 to hash, 256 to identify); the scheduler held no more
    # than were in flight: results are released as they arrive
    assert 0 < killer.held <= 30


def _descendants() -> list[int]:
    parent: dict[int, int] = {}
    for name in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{name}/stat", "rb") as fh:
                data = fh.read()
        except OSError:
            continue
        parent[int(name)] = int(data[data.rfind(b")") + 2 :].split()[1])
    mine, todo = [], [os.getpid()]
    while todo:
        pid = todo.pop()
        kids = [p for p, pp in parent.items() if pp == pid]
        mine += kids
        todo += kids
    return mine


def _readers(target: Path) -> list[int]:
    found = []
    for pid in _descendants():
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                if os.readlink(f"/proc/{pid}/fd/{fd}") == str(target):
                    found.append(pid)
        except OSError:
            continue
    return found


def test_file_that_keeps_killing_workers_is_worker_crash(
    tmp_path: Path, cluster: Any, client: Any
) -> None:
    root = tmp_path / "arkiv"
    root.mkdir()
    for i in range(20):
        (root / f"dok{i}.pdf").write_bytes(pdf_bytes(str(i)))
    big = root / "stor.bin"
    with open(big, "wb") as fh:
        fh.truncate(2 * 1024**3)  # sparse: hashing it takes seconds, so it is killed mid-read
    kills: list[int] = []
    stop = threading.Event()

    def killer() -> None:
        """Kill the worker reading the big file, when that is its only task (a task that
        merely waited on a killed worker counts as a death too)."""
        addresses: dict[int, str] = {}
        while not stop.is_set() and len(kills) < 2:
            for pid in _readers(big):
                if pid in kills:  # dead, not yet reaped: its files still show in /proc
                    continue
                if pid not in addresses:
                    addresses = {p: a for a, p in client.run(os.getpid).items()}
                if len(client.processing().get(addresses.get(pid), ())) == 1:
                    os.kill(pid, signal.SIGKILL)
                    kills.append(pid)
                    break
            time.sleep(0.01)

    # One death is enough for Dask to give up on a task (the default allows 3 more), so two
    # deaths make worker_crash, as two dead pool workers do locally.
    client.run_on_scheduler(_set_allowed_failures, 0)
    thread = threading.Thread(target=killer, daemon=True)
    thread.start()
    try:
        [result] = scan(root, db=tmp_path / "c.db", cluster=cluster.scheduler_address)
    finally:
        stop.set()
        thread.join()
        client.run_on_scheduler(_set_allowed_failures, 3)
    assert len(kills) == 2
    found = rows(tmp_path / "c.db", result.scan_id)
    assert found[b"stor.bin"]["outcome"] == "worker_crash"
    assert all(found[f"dok{i}.pdf".encode()]["puid"] == "fmt/18" for i in range(20))
    assert len(found) == 21
    assert result.summary["this_run"]["worker_restarts"] == 2


def _set_allowed_failures(n: int, dask_scheduler: Any = None) -> None:
    dask_scheduler.allowed_failures = n


def _limit_state() -> tuple[bool, bool]:
    """In a worker: are time limits allowed on its task threads; does SIGALRM still have its
    default action (which a thread cannot restore)."""
    from preserveplan import procs

    return procs._limits_on_threads, signal.getsignal(signal.SIGALRM) is signal.SIG_DFL


def _hang_in_siegfried(fifo: str, seconds: float) -> object:
    """A task that hangs for real: Siegfried opening a FIFO waits for a writer, in Go, holding
    the GIL. Run as a prepared worker runs its tasks (limits allowed on its threads)."""
    from preserveplan.inventory import worker
    from preserveplan.inventory.containers import Limits
    from preserveplan.procs import allow_limits_on_threads, time_limit

    allow_limits_on_threads()
    worker.prepare(Limits())
    with time_limit(seconds):
        return worker.identify_files([fifo.encode()])


def test_a_hung_task_ends_its_dask_worker(tmp_path: Path, cluster: Any, client: Any) -> None:
    """Dask runs tasks on worker threads, where the local pool's SIGALRM was not armed: a
    prepared worker process now allows it there, so a hung task ends its worker (and, when that
    keeps happening, the task fails with KilledWorker, which the scan records as
    ``worker_crash``) instead of holding the run for ever."""
    root = tmp_path / "arkiv"
    root.mkdir()
    for i in range(8):
        (root / f"dok{i}.pdf").write_bytes(pdf_bytes(str(i)))
    scan(root, db=tmp_path / "c.db", cluster=cluster.scheduler_address)
    states = client.run(_limit_state).values()
    assert all(default for _, default in states), "SIGALRM is not at its default action"
    assert any(allowed for allowed, _ in states), "no worker was prepared by the scan"
    fifo = tmp_path / "swapped"
    os.mkfifo(fifo)
    client.run_on_scheduler(_set_allowed_failures, 0)
    started = time.monotonic()
    try:
        future = client.submit(_hang_in_siegfried, str(fifo), 2, pure=False)
        with pytest.raises(distributed.KilledWorker):
            future.result(timeout=120)
        assert time.monotonic() - started < 60
    finally:
        client.run_on_scheduler(_set_allowed_failures, 3)
        client.wait_for_workers(2, timeout=60)


def _bmp(width: int, height: int) -> bytes:
    row = (width * 3 + 3) & ~3
    pixels = bytes((x * 7 + y * 13) % 256 for y in range(height) for x in range(row))
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, len(pixels), 2835, 2835, 0, 0)
    return b"BM" + struct.pack("<IHHI", 54 + len(pixels), 0, 0, 54) + info + pixels


RTF = rb"{\rtf1\ansi\deff0{\fonttbl{\f0 Liberation Serif;}}\f0\fs24 Protokoll fr\'e5n Falun.\par}"


@pytest.mark.skipif(
    not (shutil.which("gs") and shutil.which("convert-im6.q16")),
    reason="Ghostscript and ImageMagick are needed",
)
def test_migrate_on_cluster_matches_local(tmp_path: Path, cluster: Any) -> None:
    root = tmp_path / "arkiv"
    (root / "Falun").mkdir(parents=True)
    (root / "Säter").mkdir(parents=True)
    for i in range(3):
        (root / "Säter" / f"protokoll {i}.pdf").write_bytes(pdf_bytes(f"protokoll {i} " * 20))
    (root / "Falun" / "karta.bmp").write_bytes(_bmp(16, 12))
    (root / "Falun" / "trasig.pdf").write_bytes(
        b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n" + bytes(range(256)) * 20 + b"\n%%EOF\n"
    )
    with_lo = shutil.which("soffice") is not None
    if with_lo:
        (root / "Falun" / "protokoll.rtf").write_bytes(RTF)
    dbs = {}
    for name in ("local", "dask"):
        dbs[name] = tmp_path / f"{name}.db"
        scan(root, db=dbs[name], workers=1)
        with Catalog(dbs[name]) as cat:
            assess(cat, load_ruleset(None))
    with Catalog(dbs["local"]) as cat:
        here = migrate(cat, tmp_path / "ut-lokal", workers=2)
    with Catalog(dbs["dask"]) as cat:
        there = migrate(cat, tmp_path / "ut-dask", cluster=cluster.scheduler_address)
    assert there.total == here.total == 5 + with_lo
    assert (there.done, there.failed, there.pending) == (here.done, here.failed, here.pending)
    assert here.done == 4 + with_lo

    def journal(db: Path) -> dict[bytes, dict[str, Any]]:
        with Catalog(db) as cat:
            cur = cat.db.execute("SELECT * FROM migrations ORDER BY path")
            names = [d[0] for d in cur.description]
            return {r[1]: dict(zip(names, r, strict=True)) for r in cur}

    mine, theirs = journal(dbs["local"]), journal(dbs["dask"])
    assert mine.keys() == theirs.keys()
    same = ("rule_id", "tool", "target", "target_puid", "output", "size", "source_sha256")
    same += ("state", "outcome", "output_puid", "attempts")
    for path, row in mine.items():
        assert {k: theirs[path][k] for k in same} == {k: row[k] for k in same}, path
        if row["state"] == "done":  # each output on disk is the file the journal describes
            for out, r in ((tmp_path / "ut-lokal", row), (tmp_path / "ut-dask", theirs[path])):
                data = (out / os.fsdecode(r["output"])).read_bytes()
                assert len(data) == r["output_size"]
                assert hashlib.sha256(data).hexdigest() == r["output_sha256"]
    tiff = next(r for r in mine.values() if r["tool"] == "imagemagick")
    assert theirs[tiff["path"]]["output_sha256"] == tiff["output_sha256"]  # deterministic tool
    assert not list((tmp_path / "ut-dask").rglob(".*partial*"))


@pytest.mark.skipif(not shutil.which("gs"), reason="Ghostscript is needed")
def test_run_with_migrate_on_cluster(tmp_path: Path, cluster: Any) -> None:
    root = tmp_path / "arkiv" / "Säter"
    root.mkdir(parents=True)
    for i in range(2):
        (root / f"beslut {i}.pdf").write_bytes(pdf_bytes(f"beslut {i} " * 10))
    args = ["run", str(tmp_path / "arkiv"), "--db", str(tmp_path / "c.db"), "--json"]
    args += ["--reports", str(tmp_path / "rapporter"), "--migrate", "--out", str(tmp_path / "ut")]
    result = CliRunner().invoke(main, [*args, "--cluster", cluster.scheduler_address])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["scan"]["summary"]["this_run"]["cluster"] == cluster.scheduler_address
    assert out["migration"]["done"] == 2
    assert sorted(p.name for p in (tmp_path / "ut" / "Säter").iterdir()) == [
        "beslut 0.pdf",
        "beslut 1.pdf",
    ]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_unreachable_scheduler_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "arkiv").mkdir()
    address = f"tcp://127.0.0.1:{_free_port()}"
    result = CliRunner(env={"PRESERVEPLAN_CLUSTER_TIMEOUT": "1"}).invoke(
        main, ["scan", "--db", str(tmp_path / "c.db"), "--cluster", address, str(tmp_path)]
    )
    assert result.exit_code == 6, result.output
    assert f"cannot reach the Dask scheduler at {address}" in result.stderr
    assert "Traceback" not in result.output
    assert not (tmp_path / "c.db").exists(), "the catalog is not touched"
    result = CliRunner().invoke(
        main, ["scan", "-j", "2", "--cluster", address, str(tmp_path / "arkiv")]
    )
    assert result.exit_code == 2
    assert "exclude each other" in result.stderr


@pytest.mark.filterwarnings("ignore:Port 8787 is already in use")
def test_worker_with_several_threads_is_refused(tmp_path: Path) -> None:
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
        ) as lc,
        pytest.raises(ClusterError, match="2 threads per worker process"),
    ):
        scan(tmp_path, db=tmp_path / "c.db", cluster=lc.scheduler_address)


def _can_unshare() -> bool:
    if os.geteuid() != 0 or not shutil.which("unshare") or not DASK.exists():
        return False
    probe = subprocess.run(["unshare", "--mount", "true"], capture_output=True)
    return probe.returncode == 0


@pytest.mark.filterwarnings("ignore:Port 8787 is already in use")
@pytest.mark.skipif(not _can_unshare(), reason="needs root, unshare(1) and the dask command")
def test_worker_with_other_software_and_paths_is_refused(tmp_path: Path) -> None:
    """A real worker process in its own mount namespace, where preserveplan reports another
    version (a bind-mounted versions.py) and the archive path holds an empty folder."""
    import preserveplan.versions as v

    archive = tmp_path / "arkiv"
    (archive / "Falun").mkdir(parents=True)
    (archive / "Falun" / "a.txt").write_text("a\n")
    other = tmp_path / "versions.py"
    other.write_text(Path(v.__file__).read_text().replace(v.__version__, "0.0.0-other", 1))
    with distributed.LocalCluster(
        n_workers=0, processes=True, host="127.0.0.1", dashboard_address=None
    ) as lc:
        script = (
            f"mount --bind {other} {v.__file__} && mount -t tmpfs none {archive} && "
            f"exec {DASK} worker {lc.scheduler_address} --nthreads 1 --no-nanny "
            "--no-dashboard --host 127.0.0.1"
        )
        worker = subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            with pytest.raises(ClusterError) as caught:
                scan(archive, db=tmp_path / "c.db", cluster=lc.scheduler_address)
        finally:
            worker.terminate()
            worker.wait(timeout=30)
    message = str(caught.value)
    assert "preserveplan 0.0.0-other (coordinator: " in message
    assert f"archive {archive} holds other files than on the coordinator" in message
