"""A scan killed with SIGKILL resumes with no file missing or counted twice."""

from __future__ import annotations

import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from conftest import rows
from util import pdf_bytes

N_FILES = 8000


def _count(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
        try:
            return int(con.execute("SELECT COUNT(*) FROM files").fetchone()[0])
        finally:
            con.close()
    except sqlite3.Error:
        return 0


def test_kill_9_then_resume(tmp_path: Path) -> None:
    root = tmp_path / "arkiv"
    for i in range(N_FILES):
        folder = root / f"Serie {i // 250:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        data = pdf_bytes(f"handling {i}") if i % 2 else f"rad {i}\n".encode() * 40
        (folder / f"fil {i:05d}.{'pdf' if i % 2 else 'txt'}").write_bytes(data)
    db = tmp_path / "c.db"
    cmd = [
        sys.executable,
        "-m",
        "preserveplan",
        "scan",
        "-q",
        "--db",
        str(db),
        "-j",
        "2",
        str(root),
    ]
    proc = subprocess.Popen(cmd, start_new_session=True, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while _count(db) == 0 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)  # the coordinator and its workers, like kill -9
    proc.wait()
    partial = _count(db)
    assert 0 < partial < N_FILES, "the scan must be killed part-way for this test to mean anything"

    done = subprocess.run([*cmd, "--json"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    import json

    [summary] = json.loads(done.stdout)
    assert summary["resumed"] is True
    assert summary["scan_id"] == 1
    assert summary["summary"]["this_run"]["skipped_already_recorded"] == partial
    found = rows(db, 1)
    assert len(found) == N_FILES
    for path, rec in found.items():
        expected = hashlib.sha256((root / os.fsdecode(path)).read_bytes()).hexdigest()
        assert rec["sha256"] == expected
        assert rec["puid"] in ("fmt/18", "x-fmt/111")
    con = sqlite3.connect(db)
    assert con.execute("SELECT status FROM scans WHERE id = 1").fetchone()[0] == "complete"
    assert con.execute("SELECT COUNT(*) FROM scans").fetchone()[0] == 1
