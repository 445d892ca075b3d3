"""ImageMagick: still image → TIFF (fmt/353, LZW) or PNG (fmt/11).

Command lines from TOOLS.md §4: the input is read as ``'<file>[0]'`` — the first frame or the
flattened composite (a PSD would otherwise add a page per layer, an animated GIF a multi-page
TIFF). ``-compress LZW`` (``compression="none"`` for uncompressed); no ``-strip`` (EXIF/ICC kept);
alpha is kept. The program is ``magick`` (ImageMagick 7) or ``convert`` (6), accepted only when
``-version`` says ImageMagick (``convert`` on PATH may be something else). Debian's policy.xml
limits (16K px, 128 MP) apply; set ``MAGICK_CONFIGURE_PATH`` for larger scans.

The output is written (format forced with a ``TIFF:``/``PNG:`` prefix) to a temporary file in
``dst``'s folder and renamed onto ``dst`` after a magic-number check.
"""

from __future__ import annotations

import functools
from pathlib import Path

from preserveplan.migrate.tools._exec import (
    ConvertResult,
    MissingToolError,
    RunResult,
    convert_file,
    find_program,
    is_available,
    read_head,
    remembered_version,
    run,
)

TOOL = "imagemagick"
TARGETS = ("tiff", "png")

_FORMAT = {"tiff": ("TIFF", ".tif"), "png": ("PNG", ".png")}
_MAGIC = {"tiff": (b"II*\x00", b"MM\x00*"), "png": (b"\x89PNG\r\n\x1a\n",)}


def _probe_version(exe: str) -> str:
    res = run([exe, "-version"], timeout=30)
    first = res.stdout.strip().splitlines()[0] if res.stdout.strip() else ""
    if res.returncode != 0 or "ImageMagick" not in first:
        raise MissingToolError(exe, f"not ImageMagick: {first or res.output_tail}")
    # "Version: ImageMagick 6.9.11-60 Q16 x86_64 2021-01-25 https://imagemagick.org"
    return first.removeprefix("Version:").strip().split(" https://")[0]


@functools.cache
def _version_of(exe: str) -> str:
    return remembered_version(exe, _probe_version)


def program() -> str:
    """``magick`` or ``convert``, whichever is on PATH and really is ImageMagick."""
    last: MissingToolError | None = None
    for name in ("magick", "convert"):
        try:
            exe = find_program(name)
            _version_of(exe)
            return exe
        except MissingToolError as exc:
            last = exc
    raise last or MissingToolError("convert")


def version() -> str:
    """E.g. ``ImageMagick 6.9.11-60 Q16 x86_64 2021-01-25``; MissingToolError when missing."""
    return _version_of(program())


def available() -> bool:
    return is_available(version)


def command(src: Path, out: Path, target: str, *, compression: str = "LZW") -> list[str]:
    fmt, _ = _FORMAT[target]
    cmd = [program(), f"{Path(src).resolve()}[0]"]
    if target == "tiff":
        cmd += ["-compress", compression]
    return [*cmd, f"{fmt}:{Path(out).resolve()}"]


def convert(
    src: Path, dst: Path, *, timeout: float, target: str, compression: str = "LZW"
) -> ConvertResult:
    """Convert the first frame of ``src`` to ``target`` at ``dst`` (atomic).

    ``compression`` (TIFF only): ``LZW`` (default) or ``None`` — the ones KOST-Val accepts.
    """
    if target not in TARGETS:
        raise ValueError(f"{TOOL}: unsupported target {target!r} (supported: {TARGETS})")
    if compression not in ("LZW", "None"):
        raise ValueError(f"{TOOL}: compression must be 'LZW' or 'None', not {compression!r}")

    def execute(tmp: Path, ver: str) -> RunResult:
        return run(command(Path(src), tmp, target, compression=compression), timeout)

    def check(tmp: Path, res: RunResult) -> str | None:
        head = read_head(tmp, 8)
        if not any(head.startswith(m) for m in _MAGIC[target]):
            return f"output is not a {target.upper()} file"
        return None

    return convert_file(
        tool=TOOL,
        version=version,
        src=Path(src),
        dst=Path(dst),
        target=target,
        suffix=_FORMAT[target][1],
        execute=execute,
        check=check,
    )
