"""msgconvert (Email::Outlook::Message, Debian ``libemail-outlook-message-perl``): MSG → EML.

``msgconvert --outfile <tmp.eml> <input.msg>`` (TOOLS.md §5) — ``--outfile`` always, since without
it msgconvert writes ``<name>.eml`` next to the input, i.e. into the archive; it also runs with
its working directory in a private temporary folder. msgconvert has no ``--version``: the
version is the Debian package's (``dpkg-query``), else ``unknown``.

msgconvert exits 0 on garbage, so the output is parsed with Python's :mod:`email` (default
policy): it must have headers, and no header defects. Unsent drafts (no ``From:``) are valid
output though Siegfried calls them UNKNOWN rather than fmt/950 — judge those by this parse.
NARA keeps MSG: add the EML, do not replace the MSG.
"""

from __future__ import annotations

import email
import email.policy
import functools
import tempfile
from pathlib import Path

from preserveplan.migrate.tools._exec import (
    ConvertResult,
    MissingToolError,
    RunResult,
    convert_file,
    find_program,
    is_available,
    run,
)

TOOL = "msgconvert"
PROGRAM = "msgconvert"
TARGETS = ("eml",)
PACKAGE = "libemail-outlook-message-perl"


def program() -> str:
    return find_program(PROGRAM)


@functools.cache
def _version_of(exe: str) -> str:
    # msgconvert is a Perl script: a missing Perl dependency only shows when it runs.
    smoke = run([exe, "--help"], timeout=30)
    if "Can't locate" in smoke.output_tail or smoke.crashed:
        raise MissingToolError(exe, "broken install: " + smoke.output_tail[:300])
    try:
        res = run(["dpkg-query", "-W", "-f=${Version}", PACKAGE], timeout=30)
    except MissingToolError:
        return "unknown"
    return res.stdout.strip() if res.returncode == 0 and res.stdout.strip() else "unknown"


def version() -> str:
    """Version of the Debian package providing msgconvert (or ``unknown``); raises
    MissingToolError when msgconvert is not on PATH."""
    return _version_of(program())


def available() -> bool:
    return is_available(version)


def eml_problem(path: Path) -> str | None:
    """Why ``path`` is not an acceptable EML, or None."""
    with open(path, "rb") as f:
        msg = email.message_from_binary_file(f, policy=email.policy.default)
    if not msg.keys():
        return "output has no e-mail headers"
    if not any(k.lower() in ("from", "to", "subject", "date", "message-id") for k in msg):
        return "output has none of From/To/Subject/Date/Message-ID"
    if msg.defects:
        return "output has MIME defects: " + ", ".join(type(d).__name__ for d in msg.defects)
    return None


def convert(src: Path, dst: Path, *, timeout: float, target: str = "eml") -> ConvertResult:
    """Convert the Outlook MSG ``src`` to EML at ``dst`` (atomic; see module docstring)."""
    if target not in TARGETS:
        raise ValueError(f"{TOOL}: unsupported target {target!r} (supported: {TARGETS})")

    def execute(tmp: Path, ver: str) -> RunResult:
        cmd = [program(), "--outfile", str(tmp.resolve()), str(Path(src).resolve())]
        with tempfile.TemporaryDirectory(prefix="preserveplan-msg-") as tdir:
            return run(cmd, timeout, cwd=tdir)

    def check(tmp: Path, res: RunResult) -> str | None:
        return eml_problem(tmp)

    return convert_file(
        tool=TOOL,
        version=version,
        src=Path(src),
        dst=Path(dst),
        target=target,
        suffix=".eml",
        execute=execute,
        check=check,
    )
