"""A worker process that dies (here: really killed with SIGKILL) does not abort the scan."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from conftest import rows
from util import pdf_bytes

BIG = 6 * 1024**3  # sparse: no disk used, but hashing it takes seconds


def _holders(session: int, target: Path) -> list[int]:
    """Processes of a session that have ``target`` open."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if os.getsid(int(pid)) != session:
                continue
            for fd in os.listdir(f"/proc/{pid}/fd"):
                if os.readlink(f"/proc/{pid}/fd/{fd}") == str(target):
                    found.append(int(pid))
        except OSError:
            continue
    return found


def _kill_reader(proc: subprocess.Popen[str], target: Path, timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        for pid in _holders(proc.pid, target):
            os.kill(pid, signal.SIGKILL)
            return True
        time.sleep(0.01)
    return False


def test_killed_worker_twice_records_worker_crash(tmp_path: Path) -> None:
    root = tmp_path / "arkiv"
    root.mkdir()
    for i in range(20):
        (root / f"dok{i}.pdf").write_bytes(pdf_bytes(str(i)))
    big = root / "stor.bin"
    with open(big, "wb") as fh:
        fh.truncate(BIG)
    db = tmp_path / "c.db"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "preserveplan",
            "scan",
            "--json",
            "--db",
            str(db),
            "-j",
            "1",
            str(root),
        ],
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert _kill_reader(proc, big), "no worker was seen reading the big file"
        time.sleep(0.2)
        assert _kill_reader(proc, big), "the big file was not tried again"
        out, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    [result] = json.loads(out)
    assert result["summary"]["this_run"]["worker_restarts"] == 2
    found = rows(db, result["scan_id"])
    assert found[b"stor.bin"]["outcome"] == "worker_crash"
    assert all(found[f"dok{i}.pdf".encode()]["puid"] == "fmt/18" for i in range(20))
