"""Shared runner for the converter modules: process groups, timeouts, bounded output, results.

:func:`run` starts a program in its own session/process group, waits at most ``timeout``
seconds, then SIGKILLs the *whole group* (a hung converter dies together with its children;
leftovers of a normally finished run are killed too). stdout/stderr go to anonymous temporary
files and only a bounded head and tail of each is kept.

:func:`convert_file` is the common skeleton of every module's ``convert``: path checks, tool
version, a temporary output in ``dst``'s folder, outcome classification, the module's own output
check and the final atomic :func:`os.replace` onto ``dst``.
"""

from __future__ import annotations

import contextlib
import json
import mmap
import os
import re
import secrets
import select
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal

Outcome = Literal["done", "failed", "timeout", "missing-tool", "crashed"]

#: bytes of stdout and of stderr kept from one run (head quarter + tail rest)
MAX_OUTPUT = 64 * 1024
#: characters of tool output quoted in a ConvertResult message
MESSAGE_CHARS = 1500


class MissingToolError(RuntimeError):
    """The external program is not installed (not on PATH, or not executable)."""

    def __init__(self, program: str, detail: str = "") -> None:
        self.program = program
        super().__init__(f"{program}: {detail or 'not found'}")


class InputRefused(Exception):
    """Raised by a module's ``execute`` when it will not run the tool on this input."""


@dataclass(frozen=True)
class RunResult:
    """What one subprocess run did."""

    command: tuple[str, ...]
    returncode: int | None  # None: killed by us at the timeout
    stdout: str
    stderr: str
    seconds: float
    timed_out: bool

    @property
    def crashed(self) -> bool:
        """Ended by a signal that we did not send (segfault, abort, OOM kill …)."""
        return not self.timed_out and self.returncode is not None and self.returncode < 0

    @property
    def output_tail(self) -> str:
        """The last part of stderr and stdout, for messages."""
        text = "\n".join(s.strip() for s in (self.stderr, self.stdout) if s.strip())
        return text[-MESSAGE_CHARS:]


@dataclass(frozen=True)
class ConvertResult:
    """Outcome of one conversion, with what PREMIS needs (tool, version, command, time)."""

    ok: bool
    outcome: Outcome
    message: str
    command: list[str]
    tool: str
    tool_version: str
    seconds: float
    output: Path | None  # dst when ok, else None
    target: str = ""


def _read_bounded(f: IO[bytes], limit: int) -> str:
    size = f.seek(0, os.SEEK_END)
    f.seek(0)
    if size <= limit:
        data = f.read()
    else:
        head = f.read(limit // 4)
        f.seek(size - (limit - limit // 4))
        tail = f.read()
        data = head + f"\n[… {size - limit} bytes omitted …]\n".encode() + tail
    return data.decode("utf-8", errors="replace")


def _wait(proc: subprocess.Popen[bytes], timeout: float) -> bool:
    """Wait for the process to end (True) or the timeout (False). Uses a pidfd where the
    kernel has one, so the return is immediate; ``Popen.wait(timeout)`` polls with sleeps of up
    to 50 ms, which is most of the cost of a 50 ms conversion."""
    try:
        fd = os.pidfd_open(proc.pid)
    except (AttributeError, OSError):
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return False
        return True
    try:
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        if not poller.poll(max(0, int(timeout * 1000))):
            return False
        proc.wait()
        return True
    finally:
        os.close(fd)


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def run(
    cmd: Sequence[str | os.PathLike[str]],
    timeout: float,
    cwd: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    *,
    max_output: int = MAX_OUTPUT,
    meanwhile: Callable[[], str | None] | None = None,
) -> RunResult:
    """Run ``cmd`` (no shell) in a new process group; kill the group at ``timeout`` seconds.

    stdin is /dev/null. Raises :class:`MissingToolError` when the program cannot be executed;
    every other outcome (non-zero exit, signal, timeout) is in the returned :class:`RunResult`.
    ``meanwhile`` runs while the program does (e.g. a check of the input, so that it costs no
    time): when it returns a reason, the program's group is killed and :class:`InputRefused`
    is raised with that reason.
    """
    command = tuple(os.fspath(c) for c in cmd)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.monotonic()
        try:
            proc = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                cwd=cwd,
                env=dict(env) if env is not None else None,
                start_new_session=True,  # own session => own process group (pgid == pid)
                close_fds=True,
            )
        except (FileNotFoundError, PermissionError, NotADirectoryError) as exc:
            if cwd is not None and not Path(cwd).is_dir():
                raise
            raise MissingToolError(command[0], str(exc)) from exc
        timed_out = False
        try:
            refused = meanwhile() if meanwhile is not None else None
            if refused is not None:
                raise InputRefused(refused)
            timed_out = not _wait(proc, max(0.0, timeout - (time.monotonic() - start)))
        finally:
            # Always: kills the hung tool at the timeout, and any children a finished tool
            # left behind (also when we are interrupted ourselves).
            _kill_group(proc.pid)
            proc.wait()
        seconds = time.monotonic() - start
        return RunResult(
            command=command,
            returncode=None if timed_out else proc.returncode,
            stdout=_read_bounded(out, max_output),
            stderr=_read_bounded(err, max_output),
            seconds=seconds,
            timed_out=timed_out,
        )


def is_available(version: Callable[[], str]) -> bool:
    """A module's ``available()``: True when its ``version()`` finds the program."""
    try:
        version()
    except MissingToolError:
        return False
    return True


#: program versions already asked, by program file (see :func:`remembered_version`)
VERSIONS_FILE = "tool-versions.json"


def _stamp(path: str) -> str:
    st = os.stat(path)
    return f"{st.st_dev}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}"


def remembered_version(
    exe: str, probe: Callable[[str], str], also: Sequence[str] = (), what: str = ""
) -> str:
    """``probe(exe)`` (which runs the program, e.g. ``soffice --version``: 0.1 s, and more
    while other programs start), remembered in the user's cache folder for as long as the
    program file is the same file: same device, inode, size, modification and change time
    (an upgrade replaces it). ``also`` names files beside the program (after symbolic links),
    or anywhere by absolute path, whose identity counts too (``soffice.bin`` beside the
    ``soffice`` script). ``what`` tells apart several probes of one program. Worker processes
    then start converting without asking again; a probe that fails (returns "") is not
    remembered."""
    from ...paths import user_cache_dir

    real = os.path.realpath(exe)
    try:
        beside = [os.path.join(os.path.dirname(real), name) for name in also]
        stamp = ";".join(_stamp(path) for path in [real, *beside])
    except OSError:
        return probe(exe)
    store = user_cache_dir() / VERSIONS_FILE
    known: dict[str, dict[str, str]] = {}
    with contextlib.suppress(OSError, ValueError):
        loaded = json.loads(store.read_text(encoding="utf-8"))
        if isinstance(loaded, dict):
            known = loaded
    key = f"{exe} [{what}] -> {real}" if what else f"{exe} -> {real}"
    entry = known.get(key)
    if isinstance(entry, dict) and entry.get("stamp") == stamp and entry.get("version"):
        return str(entry["version"])
    found = probe(exe)
    if not found:
        return found
    known[key] = {"stamp": stamp, "version": found}
    from ...export import atomic_path

    # concurrent writers: the last one wins, nothing is torn
    with (
        contextlib.suppress(OSError),
        atomic_path(store) as tmp,
        open(tmp, "w", encoding="utf-8") as f,
    ):
        json.dump(known, f, indent=1, sort_keys=True)
    return found


@contextlib.contextmanager
def clean_names(src: Path, out: Path) -> Iterator[tuple[Path, Path]]:
    """Absolute names for ``src`` and ``out`` that a program reading names as UTF-8 can take.

    LibreOffice (URLs over UNO, its command line in a C locale) and Ghostscript (which drops
    the other bytes and opens another name) cannot reach a name that is not valid UTF-8. Such
    a source is given as a link with a clean name (same extension), and such an output is
    written under a clean name in its own folder, reached through a link, then renamed over
    ``out`` (same folder: atomic). Names are absolute, not resolved: resolving would undo the
    links. Clean names are given back as they are."""
    from ...paths import is_clean_utf8

    source, output = src.absolute(), out.absolute()
    if is_clean_utf8(os.fsencode(source)) and is_clean_utf8(os.fsencode(output)):
        yield source, output
        return
    with tempfile.TemporaryDirectory(prefix="preserveplan-names-") as links:
        if not is_clean_utf8(os.fsencode(source)):
            suffix = src.suffix if is_clean_utf8(os.fsencode(src.suffix)) else ""
            os.symlink(source, Path(links) / f"source{suffix}")
            source = Path(links) / f"source{suffix}"
        if not is_clean_utf8(os.fsencode(output)):
            os.symlink(output.parent, Path(links) / "out")
            output = Path(links) / "out" / f".names-{secrets.token_hex(6)}{out.suffix}"
        try:
            yield source, output
            if output != out.absolute() and output.exists():
                os.replace(output, out)
        finally:
            if output != out.absolute():
                with contextlib.suppress(OSError):
                    output.unlink()


def find_program(*names: str) -> str:
    """Absolute path of the first of ``names`` on PATH (looked up now, so PATH changes count)."""
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    raise MissingToolError(names[0], "not found on PATH")


def check_paths(src: Path, dst: Path) -> None:
    """Refuse to write next to the source (archives are read-only to preserveplan)."""
    s, d = src.resolve(), dst.resolve()
    if s == d:
        raise ValueError(f"destination is the source: {dst}")
    if s.parent == d.parent:
        raise ValueError(f"refusing to write into the source's folder: {dst}")
    if not d.parent.is_dir():
        raise ValueError(f"destination folder does not exist: {d.parent}")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


Execute = Callable[[Path, str], RunResult]
"""Runs the tool (given the temporary output path and the tool version) so that its output
ends up at that temporary path."""
Check = Callable[[Path, RunResult], str | None]
"""Looks at the finished temporary output; returns why it is not acceptable, or None."""


def convert_file(
    *,
    tool: str,
    version: Callable[[], str],
    src: Path,
    dst: Path,
    target: str,
    suffix: str,
    execute: Execute,
    check: Check,
) -> ConvertResult:
    """Common body of the modules' ``convert`` (see :mod:`preserveplan.migrate.tools`).

    ``execute(tmp, version)`` must make the tool write its output to ``tmp`` (a path in
    ``dst``'s folder, ending in ``suffix``; an empty file already exists there).
    """
    src, dst = Path(src), Path(dst)
    check_paths(src, dst)
    start = time.monotonic()

    def result(
        outcome: Outcome, message: str, cmd: Sequence[str] = (), ver: str = ""
    ) -> ConvertResult:
        return ConvertResult(
            ok=outcome == "done",
            outcome=outcome,
            message=message,
            command=list(cmd),
            tool=tool,
            tool_version=ver,
            seconds=round(time.monotonic() - start, 3),
            output=dst if outcome == "done" else None,
            target=target,
        )

    try:
        ver = version()
    except MissingToolError as exc:
        return result("missing-tool", str(exc))
    if not src.is_file():
        return result("failed", f"source is not a readable file: {src}", ver=ver)

    fd, name = tempfile.mkstemp(dir=dst.parent, prefix=f".{dst.stem}.", suffix=f".part{suffix}")
    os.close(fd)
    tmp = Path(name)
    try:
        try:
            res = execute(tmp, ver)
        except MissingToolError as exc:
            return result("missing-tool", str(exc), ver=ver)
        except InputRefused as exc:
            return result("failed", f"not converted: {exc}", ver=ver)
        cmd = list(res.command)
        if res.timed_out:
            return result("timeout", f"killed after {res.seconds:.1f} s (timeout)", cmd, ver)
        if res.crashed:
            sig = -(res.returncode or 0)
            name_ = signal.Signals(sig).name if sig in signal.valid_signals() else str(sig)
            return result("crashed", f"killed by signal {name_}: {res.output_tail}", cmd, ver)
        if res.returncode != 0:
            return result("failed", f"exit code {res.returncode}: {res.output_tail}", cmd, ver)
        if not tmp.is_file() or tmp.stat().st_size == 0:
            return result("failed", f"no output written (exit 0): {res.output_tail}", cmd, ver)
        problem = check(tmp, res)
        if problem:
            return result("failed", f"{problem}: {res.output_tail}".rstrip(": "), cmd, ver)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp made it 0600
        os.replace(tmp, dst)
        said = res.output_tail
        return result("done", f"ok; tool said: {said}" if said else "ok", cmd, ver)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def read_head(path: Path, n: int) -> bytes:
    with open(path, "rb") as f:
        return f.read(n)


_PDFAID_PART = re.compile(rb"pdfaid:part\s*(?:=\s*['\"]|>)\s*(\d)")
_PDFAID_CONF = re.compile(rb"pdfaid:conformance\s*(?:=\s*['\"]|>)\s*([A-Za-z])")


def pdfa_problem(path: Path, part: int, conformance: str) -> str | None:
    """Cheap structural check of a PDF/A output: header, XMP claim, OutputIntent, no Encrypt.

    Byte-level (the XMP packet and the catalog of Ghostscript/LibreOffice output are not
    compressed). Not a validator: run veraPDF for that.
    """
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
        if not m[:1024].lstrip().startswith(b"%PDF-"):
            return "output is not a PDF"
        p, c = _PDFAID_PART.search(m), _PDFAID_CONF.search(m)
        if (
            not p
            or int(p.group(1)) != part
            or not c
            or c.group(1).decode().upper() != conformance.upper()
        ):
            found = f"{p.group(1).decode() if p else '?'}{c.group(1).decode() if c else '?'}"
            return f"output does not claim PDF/A-{part}{conformance.lower()} (found {found})"
        if m.find(b"/OutputIntents") < 0 or m.find(b"/DestOutputProfile") < 0:
            return "output has no PDF/A OutputIntent with an ICC profile"
        if m.find(b"/Encrypt") >= 0:
            return "output is encrypted"
    return None
