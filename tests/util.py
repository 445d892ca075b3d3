"""Small real files made in tests (valid formats built byte by byte with the standard library)."""

from __future__ import annotations

import os
import shutil
import site
import struct
import subprocess
import sys
import zlib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def png_bytes(width: int = 4, height: int = 4, seed: int = 0) -> bytes:
    """A valid 8-bit greyscale PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    raw = b"".join(
        b"\x00" + bytes((seed + x + y) % 256 for x in range(width)) for y in range(height)
    )
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def pdf_bytes(text: str = "hej") -> bytes:
    """A minimal valid PDF 1.4 with one page (xref offsets computed)."""
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 4 0 R >>",
    ]
    stream = f"BT /F1 12 Tf 20 100 Td ({text}) Tj ET".encode()
    objs.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, body in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return bytes(out)


def nobody_python() -> list[str] | None:
    """A command that runs this project's Python as user nobody, or None if impossible."""
    if os.geteuid() != 0 or not shutil.which("runuser"):
        return None
    candidates = [[sys.executable]]
    if Path("/usr/bin/python3").exists():
        paths = ":".join([str(REPO / "src"), *site.getsitepackages()])
        candidates.append(["env", f"PYTHONPATH={paths}", "/usr/bin/python3"])
    for cmd in candidates:
        probe = subprocess.run(
            ["runuser", "-u", "nobody", "--", *cmd, "-c", "import preserveplan, pygfried"],
            capture_output=True,
            timeout=60,
        )
        if probe.returncode == 0:
            return ["runuser", "-u", "nobody", "--", *cmd]
    return None


def migrate_cmd(db: Path, out: Path, *extra: str, workers: int = 2) -> list[str]:
    """``python -m preserveplan migrate`` on ``db`` into ``out`` (quiet), as a subprocess."""
    return [
        sys.executable,
        "-m",
        "preserveplan",
        "migrate",
        "--db",
        str(db),
        "--out",
        str(out),
        "-q",
        "-j",
        str(workers),
        *extra,
    ]


#: the findings block every ruleset that extends nothing must have (for rulesets in tests)
RULES_FINDINGS = """\
findings:
  unidentified: {status: at-risk, risk: high, rationale: r, source: s}
  multiple_matches: {status: at-risk, risk: moderate, rationale: r, source: s}
  extension_mismatch: {status: at-risk, risk: moderate, rationale: r, source: s}
  encrypted: {status: at-risk, risk: high, rationale: r, source: s}
  unreadable: {status: at-risk, risk: high, rationale: r, source: s}
"""
