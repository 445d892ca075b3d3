"""LibreOffice (cold ``soffice --headless --convert-to``): office documents → PDF/A-2b, ODT, ODS.

Command line from TOOLS.md §1.1: the PDF export options in LibreOffice 7.4's JSON syntax
(``SelectPdfVersion`` 2 = PDF/A-2b, ``UseLosslessCompression`` true so images are not re-encoded
as JPEG, ``ReduceImageResolution`` false) — the old ``…:SelectPdfVersion=2`` form is silently
ignored. The export filter follows the input type: ``writer_pdf_Export``, ``calc_pdf_Export``,
``impress_pdf_Export``, ``draw_pdf_Export``, ``writer_web_pdf_Export``.

Targets: ``pdfa-2b`` (fmt/477) from Writer/Calc/Impress/Draw/HTML inputs, ``odt`` (fmt/1756 or
fmt/291 depending on signatures) from Writer inputs, ``ods`` from Calc inputs.

Isolation and safety:

* every running soffice has its own user profile (``-env:UserInstallation``), taken from a
  per-process pool of profile folders under the system temp folder (a profile is reused by later
  conversions, never by two at once, and thrown away after a timeout or crash);
* the output goes to a fresh job folder inside ``dst``'s folder (LibreOffice names outputs after
  the input's stem and overwrites; a killed run leaves ``lu*.tmp`` files) which is removed
  afterwards; the checked output is moved to ``dst`` with :func:`os.replace`;
* the source is passed as is: ``--convert-to`` opens it read-only and creates no lock file next
  to it (checked with strace on 7.4.7);
* LibreOffice exits 0 and happily makes a "PDF/A" of random bytes (imported as text) and of empty
  files, so the input's magic number must match its extension (ZIP for OOXML/ODF, OLE2 for the
  97-2003 formats, ``{\\rtf`` for RTF, XML for flat ODF) — the caller should still convert only
  files whose PUID the rule names. An encrypted OOXML file (an OLE2 container) is refused here.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import hashlib
import json
import multiprocessing.util
import os
import select
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from preserveplan.migrate.tools._exec import (
    ConvertResult,
    InputRefused,
    MissingToolError,
    RunResult,
    clean_names,
    convert_file,
    find_program,
    is_available,
    pdfa_problem,
    read_head,
    remembered_version,
    run,
)
from preserveplan.paths import is_clean_utf8, user_cache_dir

TOOL = "libreoffice"
TARGETS = ("pdfa-2b", "odt", "ods")


def _words(text: str) -> list[str]:
    return text.split()


_WRITER = _words("doc docx docm dot dotx dotm odt ott fodt rtf txt wpd wps lwp sxw abw hwp")
_CALC = _words("xls xlsx xlsm xlsb xlt xltx xltm ods ots fods csv sxc dif slk")
_IMPRESS = _words("ppt pptx pptm pps ppsx pot potx potm odp otp fodp sxi")
_DRAW = _words("odg otg fodg vsd vsdx sxd")
_WEB = _words("htm html xhtml")
MODULE_OF: dict[str, str] = {
    **dict.fromkeys(_WRITER, "writer"),
    **dict.fromkeys(_CALC, "calc"),
    **dict.fromkeys(_IMPRESS, "impress"),
    **dict.fromkeys(_DRAW, "draw"),
    **dict.fromkeys(_WEB, "writer_web"),
}
#: PDF export options (LibreOffice 7.4+ JSON syntax)
PDF_OPTIONS: dict[str, dict[str, str]] = {
    "SelectPdfVersion": {"type": "long", "value": "2"},
    "UseLosslessCompression": {"type": "boolean", "value": "true"},
    "ReduceImageResolution": {"type": "boolean", "value": "false"},
}
# (target, module) → (--convert-to spec, output extension)
_ODF = {
    ("odt", "writer"): ("odt:writer8", "odt"),
    ("odt", "writer_web"): ("odt:writerweb8_writer", "odt"),
    ("ods", "calc"): ("ods:calc8", "ods"),
}
_ODF_MIMETYPE = {
    "odt": b"application/vnd.oasis.opendocument.text",
    "ods": b"application/vnd.oasis.opendocument.spreadsheet",
}

_ZIP = (b"PK\x03\x04",)
_OLE = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",)
_RTF = (b"{\\rtf",)
_XML = (b"<?xml", b"\xef\xbb\xbf<?xml")
_MAGIC: dict[str, tuple[bytes, ...]] = {
    **dict.fromkeys(
        _words(
            "docx docm dotx dotm odt ott xlsx xlsm xlsb xltx xltm ods ots pptx pptm ppsx potx"
            " potm odp otp odg otg vsdx sxw sxc sxi sxd"
        ),
        _ZIP,
    ),
    # Word/Excel also saved RTF, HTML and XML under these names
    **dict.fromkeys(_words("doc dot xls xlt"), _OLE + _RTF + _XML + (b"<",)),
    **dict.fromkeys(_words("ppt pps pot vsd wps"), _OLE),
    "rtf": _RTF,
    **dict.fromkeys(_words("fodt fods fodp fodg"), _XML),
}


def program() -> str:
    return find_program("soffice", "libreoffice")


def _probe_version(exe: str) -> str:
    res = run([exe, "--version"], timeout=60)
    first = res.stdout.strip().splitlines()[0] if res.stdout.strip() else ""
    if res.returncode != 0 or not first:
        raise MissingToolError(exe, f"--version failed: {res.output_tail}")
    # "LibreOffice 7.4.7.2 40(Build:2)" → "7.4.7.2"
    parts = first.split()
    return parts[1] if len(parts) > 1 and parts[0].startswith("LibreOffice") else first


@functools.cache
def _version_of(exe: str) -> str:
    return remembered_version(exe, _probe_version, also=("soffice.bin",))


def version() -> str:
    """LibreOffice version, e.g. ``7.4.7.2``; raises MissingToolError when soffice is missing."""
    return _version_of(program())


def available() -> bool:
    return is_available(version)


# --- private user profiles ---------------------------------------------------------------


def _template_dir() -> Path | None:
    """The warm profile template for this LibreOffice version, under the user's cache folder
    (``PRESERVEPLAN_LO_TEMPLATE=off`` disables it)."""
    if os.environ.get("PRESERVEPLAN_LO_TEMPLATE", "").lower() == "off":
        return None
    try:
        ver = version()
    except MissingToolError:
        return None
    return user_cache_dir() / f"libreoffice-profile-{ver.replace('/', '_')}"


def _copy_profile(src: Path, dst: Path) -> bool:
    try:
        shutil.copytree(src, dst, symlinks=True, dirs_exist_ok=True)
    except (OSError, shutil.Error):
        return False
    return True


class _ProfilePool:
    """Profile folders for concurrent soffice processes of this Python process.

    A new profile starts as a copy of a warm template when one exists: LibreOffice's first
    start in an empty profile builds it (about 0.3 s more per instance, measured with 7.4).
    The template is made, once per LibreOffice version, from the first healthy profile given
    back after use (copied to a temporary name, then renamed: concurrent workers cannot see
    half a template). Each soffice still gets its own folder; the template is only read.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._free: list[Path] = []
        self._base: Path | None = None
        self._pid = 0

    def _base_dir(self) -> Path:
        if self._base is None or self._pid != os.getpid():  # new process (fork): own profiles
            self._base = Path(tempfile.mkdtemp(prefix="preserveplan-lo-profiles-"))
            self._pid = os.getpid()
            self._free = []
            atexit.register(shutil.rmtree, self._base, True)
            # Pool workers leave through multiprocessing (os._exit): atexit does not run there,
            # its finalizers do.
            multiprocessing.util.Finalize(
                None, shutil.rmtree, args=(self._base, True), exitpriority=10
            )
        return self._base

    def acquire(self) -> Path:
        with self._lock:
            if self._free:
                return self._free.pop()
            profile = Path(tempfile.mkdtemp(prefix="profile-", dir=self._base_dir()))
        template = _template_dir()
        if template is not None and template.is_dir() and not _copy_profile(template, profile):
            shutil.rmtree(profile, ignore_errors=True)  # a broken copy: start from empty
            profile.mkdir()
        return profile

    def release(self, profile: Path, *, healthy: bool) -> None:
        if healthy:
            self._save_template(profile)
        with self._lock:
            if healthy and self._base is not None and profile.parent == self._base:
                self._free.append(profile)
                return
        shutil.rmtree(profile, ignore_errors=True)

    @staticmethod
    def _save_template(profile: Path) -> None:
        template = _template_dir()
        if template is None or template.exists() or not (profile / "user").is_dir():
            return
        tmp = template.with_name(f".{template.name}.{os.getpid()}.tmp")
        try:
            template.parent.mkdir(parents=True, exist_ok=True)
            if _copy_profile(profile, tmp):
                (tmp / "user" / ".lock").unlink(missing_ok=True)
                os.rename(tmp, template)  # fails if another process was first: fine
        except OSError:
            pass
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


_PROFILES = _ProfilePool()


def soffice_env() -> dict[str, str]:
    """The environment soffice runs in: ours, with glibc's malloc asked to back LibreOffice's
    heap with transparent huge pages (``glibc.malloc.hugetlb=1``; glibc 2.35 and later, other
    versions ignore it). LibreOffice touches a few hundred MB of fresh memory when it starts and
    per document, and on the benchmark machine page faults were about two thirds of its start-up
    CPU. Measured with LibreOffice 7.4: start 0.60 -> 0.2-0.45 CPU-s, 50 conversions 7.45 ->
    7.05 CPU-s, resident memory unchanged (274 vs 276 MB). And with its threaded XML parser off
    (``SAX_DISABLE_THREADS=1``, see below)."""
    env = dict(os.environ)
    tunables = env.get("GLIBC_TUNABLES", "")
    if "glibc.malloc.hugetlb" not in tunables:
        env["GLIBC_TUNABLES"] = f"{tunables}:glibc.malloc.hugetlb=1".lstrip(":")
    # LibreOffice's XML parser reads big OOXML/ODF streams on a second "Parser" thread and
    # hands the events over. preserveplan runs one LibreOffice per core, so the hand-offs are
    # only overhead: two instances converting the benchmark's 50 documents took 3.53-3.90 s
    # with it off against 3.74-3.95 s on (CPU 6.8 vs 7.1 s); one instance alone was no slower.
    env.setdefault("SAX_DISABLE_THREADS", "1")
    return env


SYSTEM_PYTHON = "/usr/bin/python3"  # Debian's interpreter, the one with python3-uno
BRIDGE = Path(__file__).with_name("uno_bridge.py")


def uno_available() -> bool:
    """True if a persistent LibreOffice can be driven over UNO (python3-uno installed), unless
    ``PRESERVEPLAN_LIBREOFFICE=cold`` asks for one ``soffice`` process per file."""
    if os.environ.get("PRESERVEPLAN_LIBREOFFICE", "").lower() == "cold":
        return False
    return _uno_importable()


#: python3-uno's files on Debian: a changed or removed one means asking the interpreter again
UNO_FILES = ("/usr/lib/python3/dist-packages/uno.py", "/usr/lib/libreoffice/program/pyuno.so")


@functools.cache
def _uno_importable() -> bool:
    """Whether Debian's Python can import uno, remembered across processes while the
    interpreter and python3-uno's files stay the same (starting Python to ask took 30-50 ms
    in every worker, before its LibreOffice could start)."""
    if not Path(SYSTEM_PYTHON).is_file():
        return False
    return bool(remembered_version(SYSTEM_PYTHON, _probe_uno, also=UNO_FILES, what="import uno"))


def _probe_uno(python: str) -> str:
    """Where ``uno`` is imported from, or "" when it cannot be."""
    try:
        probe = subprocess.run(
            [python, "-c", "import sys, uno; sys.stdout.write(uno.__file__)"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return probe.stdout.strip() if probe.returncode == 0 else ""


class _UnoServer:
    """One persistent LibreOffice per process (started on first use, own profile), fed one
    document at a time through ``uno_bridge.py``; killed and restarted after a hang or crash."""

    START_TIMEOUT = 90.0

    def __init__(self) -> None:
        self._proc: subprocess.Popen[str] | None = None
        self._profile: Path | None = None
        self._pid = 0
        self._lock = threading.Lock()
        self.starts = 0

    def _start(self) -> str | None:
        self._profile = _PROFILES.acquire()
        self._proc = subprocess.Popen(
            [SYSTEM_PYTHON, str(BRIDGE), program(), profile_url(self._profile)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            start_new_session=True,
            env=soffice_env(),
        )
        self._pid = os.getpid()
        self.starts += 1
        reply = self._read(self.START_TIMEOUT)
        if not reply or not reply.get("ready"):
            self.stop(healthy=False)
            return str((reply or {}).get("error") or "LibreOffice did not start")
        if self.starts == 1:
            multiprocessing.util.Finalize(None, self._stop_at_exit, exitpriority=20)
            atexit.register(self._stop_at_exit)
        return None

    def _read(self, timeout: float) -> dict[str, object] | None:
        assert self._proc is not None and self._proc.stdout is not None
        ready, _, _ = select.select([self._proc.stdout], [], [], timeout)
        if not ready:
            return None
        line = self._proc.stdout.readline()
        if not line:
            return {"eof": True}  # the bridge ended: a crash, not a hang
        reply: dict[str, object] = json.loads(line)
        return reply

    def _stop_at_exit(self) -> None:
        """The process ends (its last file is converted): once the profile template exists,
        LibreOffice is killed rather than asked to quit (about 0.1 s saved at the end of every
        run; its profile, which nothing will use again, is removed). Until then it quits
        normally, so that its profile can become the template."""
        template = _template_dir()
        self.stop(healthy=True, quick=template is not None and template.is_dir())

    def stop(self, healthy: bool = True, quick: bool = False) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and self._pid == os.getpid():
            if not quick:
                with contextlib.suppress(OSError):
                    if proc.stdin is not None:
                        proc.stdin.close()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=10)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)  # soffice too, in the bridge's group
            proc.wait()
            # A killed soffice leaves its named pipe's socket file behind (uno_bridge.py names
            # the pipe after its own pid): remove it, or /tmp fills up over a long run.
            with contextlib.suppress(OSError):
                os.unlink(f"/tmp/OSL_PIPE_{os.getuid()}_preserveplan{proc.pid}")
            if self._profile is not None:
                _remove_ipc_socket(self._profile)
        if self._profile is not None:
            _PROFILES.release(self._profile, healthy=healthy and not quick)
            self._profile = None

    def convert(
        self, src: Path, dst: Path, filt: str, data: dict[str, object], timeout: float, spec: str
    ) -> RunResult:
        """Convert one document; a LibreOffice found dead is restarted and the file tried once
        more (a crash in the previous file must not fail this one)."""
        with self._lock:
            result = self._convert(src, dst, filt, data, timeout, spec)
            if result.returncode == -9:  # crashed, not hung: once more on a fresh instance
                result = self._convert(src, dst, filt, data, timeout, spec)
            return result

    def _convert(
        self, src: Path, dst: Path, filt: str, data: dict[str, object], timeout: float, spec: str
    ) -> RunResult:
        started = time.monotonic()
        # Recorded like the --convert-to form, so provenance reads the same in both modes.
        command = (program(), "(persistent, UNO)", "--convert-to", spec, str(src), str(dst))
        if self._proc is not None and (self._pid != os.getpid() or self._proc.poll() is not None):
            if self._pid != os.getpid():
                self._proc = None  # inherited from the parent: not ours to stop
            self.stop(healthy=False)
        if self._proc is None:
            error = self._start()
            if error is not None:
                return RunResult(command, 1, "", error, time.monotonic() - started, False)
        assert self._proc is not None and self._proc.stdin is not None
        request: dict[str, object] = {  # absolute, not resolved: a link is the clean name
            "src": str(src.absolute()),
            "dst": str(dst.absolute()),
            "filter": filt,
        }
        if data:
            request["data"] = data
        try:
            self._proc.stdin.write(json.dumps(request) + "\n")
            self._proc.stdin.flush()
            reply = self._read(timeout)
        except (OSError, ValueError):  # the pipe is broken: the bridge is gone
            reply = {"eof": True}
        seconds = time.monotonic() - started
        if reply is None or reply.get("eof"):  # hung (timeout) or crashed: restart next time
            hung = reply is None
            self.stop(healthy=False)
            message = (
                "LibreOffice hung: killed at the timeout"
                if hung
                else "LibreOffice crashed during the conversion"
            )
            return RunResult(command, None if hung else -9, "", message, seconds, hung)
        if reply.get("ok"):
            return RunResult(command, 0, "", "", seconds, False)
        return RunResult(
            command, 1, "", f"could not be loaded: {reply.get('error')}", seconds, False
        )


_SERVER = _UnoServer()


def _uno_filter(target: str, module: str) -> tuple[str, dict[str, object]]:
    """Export filter name and FilterData for the UNO path (same options as --convert-to)."""
    spec, _ = export_spec(target, module)
    if target == "pdfa-2b":
        data: dict[str, object] = {}
        for key, opt in PDF_OPTIONS.items():
            value = opt["value"]
            data[key] = int(value) if opt["type"] == "long" else value == "true"
        return spec.split(":")[1], data
    return spec.split(":")[1], {}


# --- conversion ---------------------------------------------------------------------------


def export_spec(target: str, module: str) -> tuple[str, str]:
    """``--convert-to`` argument and output extension for ``target`` from a ``module`` input."""
    if target == "pdfa-2b":
        filt = "writer_web_pdf_Export" if module == "writer_web" else f"{module}_pdf_Export"
        return f"pdf:{filt}:{json.dumps(PDF_OPTIONS, separators=(',', ':'))}", "pdf"
    try:
        return _ODF[(target, module)]
    except KeyError:
        raise ValueError(f"cannot make {target} from a {module} document") from None


def input_problem(src: Path) -> str | None:
    """Why LibreOffice must not be given ``src`` (type unknown, empty, magic mismatch), or None."""
    ext = src.suffix.lower().lstrip(".")
    if ext not in MODULE_OF:
        return f"not an office document type LibreOffice is used for: .{ext}"
    if src.stat().st_size == 0:
        return "source is empty"
    magic = _MAGIC.get(ext)
    if magic is not None:
        head = read_head(src, 16)
        if not any(head.startswith(m) for m in magic):
            hint = " (an OLE2 container: encrypted?)" if head.startswith(_OLE[0]) else ""
            return f"content does not match the .{ext} extension{hint}"
    return None


def _odf_problem(path: Path, ext: str) -> str | None:
    head = read_head(path, 38 + 60)
    if not head.startswith(b"PK\x03\x04") or head[30:38] != b"mimetype":
        return f"output is not an ODF package (.{ext})"
    if not head[38:].startswith(_ODF_MIMETYPE[ext]):
        return f"output mimetype is not {_ODF_MIMETYPE[ext].decode()}"
    return None


def profile_url(profile: Path) -> str:
    """The ``-env:UserInstallation`` URL of a profile folder."""
    return profile.resolve().as_uri()


def ipc_socket(profile: Path) -> str:
    """The single-instance socket a soffice using ``profile`` creates:
    ``/tmp/OSL_PIPE_<uid>_SingleOfficeIPC_<hash>``, the hash being MD5 over the UTF-16 profile
    URL, each byte in hex without leading zero (LibreOffice's
    desktop/source/app/officeipcthread.cxx)."""
    digest = hashlib.md5(profile_url(profile).encode("utf-16-le"), usedforsecurity=False)
    name = "".join(format(byte, "x") for byte in digest.digest())
    return f"/tmp/OSL_PIPE_{os.getuid()}_SingleOfficeIPC_{name}"


def _remove_ipc_socket(profile: Path) -> None:
    """Remove the single-instance socket of a soffice that was killed (one that quits removes
    its own): left behind, one per killed soffice fills /tmp over a long run. Our profile
    folders are unique, so no live soffice can own this name."""
    with contextlib.suppress(OSError):
        os.unlink(ipc_socket(profile))


def command(src: Path, outdir: Path, profile: Path, spec: str) -> list[str]:
    """The cold ``soffice --convert-to`` command line (absolute names, links not followed:
    see :func:`~preserveplan.migrate.tools._exec.clean_names`)."""
    return [
        program(),
        "--headless",
        "--invisible",
        "--norestore",
        "--nologo",
        "--nodefault",
        "--nolockcheck",
        f"-env:UserInstallation={profile_url(profile)}",
        "--convert-to",
        spec,
        "--outdir",
        str(outdir.absolute()),
        str(src.absolute()),
    ]


def _convert_cold(src: Path, out: Path, spec: str, ext: str, timeout: float) -> RunResult:
    """One ``soffice --convert-to`` for ``src``, its output renamed to ``out``."""
    profile = _PROFILES.acquire()
    healthy = False
    # Beside the output (a rename), unless that folder's name is not UTF-8: soffice resolves
    # links in --outdir, so it then writes to the temporary folder (and the output is moved).
    here = is_clean_utf8(os.fsencode(out.parent.resolve()))
    jobdir = Path(tempfile.mkdtemp(dir=out.parent if here else None, prefix=".lo-job-"))
    try:
        res = run(command(src, jobdir, profile, spec), timeout, cwd=jobdir, env=soffice_env())
        healthy = not (res.timed_out or res.crashed)
        made = jobdir / f"{src.stem}.{ext}"
        if res.returncode == 0 and made.is_file():
            shutil.move(made, out)  # a rename on the same file system
        elif res.returncode == 0:
            with contextlib.suppress(OSError):
                out.unlink()  # "no output" below
        return res
    finally:
        if not healthy:
            _remove_ipc_socket(profile)  # killed at its timeout, or crashed
        _PROFILES.release(profile, healthy=healthy)
        shutil.rmtree(jobdir, ignore_errors=True)


def convert(src: Path, dst: Path, *, timeout: float, target: str) -> ConvertResult:
    """Convert the office document ``src`` to ``target`` at ``dst`` (see module docstring)."""
    if target not in TARGETS:
        raise ValueError(f"{TOOL}: unsupported target {target!r} (supported: {TARGETS})")
    src, dst = Path(src), Path(dst)
    module = MODULE_OF.get(src.suffix.lower().lstrip("."), "")

    def execute(tmp: Path, ver: str) -> RunResult:
        problem = input_problem(src)
        spec, ext = "", ""
        if problem is None:
            try:
                spec, ext = export_spec(target, module)
            except ValueError as exc:
                problem = str(exc)
        if problem is not None:
            raise InputRefused(problem)
        with clean_names(src, tmp) as (source, output):
            if uno_available():
                filt, data = _uno_filter(target, module)
                res = _SERVER.convert(source, output, filt, data, timeout, spec)
                if res.returncode != 0:
                    with contextlib.suppress(OSError):
                        output.unlink()
                return res
            return _convert_cold(source, output, spec, ext, timeout)

    def check(tmp: Path, res: RunResult) -> str | None:
        if "could not be loaded" in res.output_tail:
            return "LibreOffice could not load the source"
        if target == "pdfa-2b":
            return pdfa_problem(tmp, 2, "B")
        return _odf_problem(tmp, target)

    return convert_file(
        tool=TOOL,
        version=version,
        src=src,
        dst=dst,
        target=target,
        suffix=f".{'pdf' if target == 'pdfa-2b' else target}",
        execute=execute,
        check=check,
    )
