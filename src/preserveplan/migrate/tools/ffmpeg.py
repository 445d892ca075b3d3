"""FFmpeg: video → FFV1 version 3 in Matroska (fmt/569); audio → WAV PCM 24-bit (fmt/143) or FLAC.

Command lines from TOOLS.md §3 (``-nostdin``; FFV1 ``-level 3 -g 1 -slicecrc 1 -slices 16``;
WAV ``pcm_s24le``). Deviation from TOOLS.md, measured here: ``-rf64 auto`` makes ffmpeg 5.1 put
a JUNK chunk before ``fmt `` and Siegfried then says fmt/6 instead of fmt/143, so WAV is written
without it; only if the RIFF output reaches 4 GiB is it redone with ``-rf64 always`` (RF64,
fmt/713).
Targets:

* ``ffv1-mkv``: all video streams as FFV1 v3, all audio streams as FLAC (lossless), in MKV.
  Subtitle/data/timecode streams are not carried (inspect with ffprobe and decide).
* ``wav``: the first audio stream as 24-bit PCM WAV (WAVEFORMATEXTENSIBLE, fmt/143).
* ``flac``: the first audio stream as FLAC (fmt/279).

The output is written to a temporary file in ``dst``'s folder (muxer given with ``-f``) and
renamed onto ``dst`` after a non-empty output and exit 0. Losslessness (framemd5), stream counts
and durations are for the caller to verify with ffprobe.
"""

from __future__ import annotations

import functools
import time
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

TOOL = "ffmpeg"
PROGRAM = "ffmpeg"
TARGETS = ("ffv1-mkv", "wav", "flac")

_ARGS: dict[str, tuple[list[str], str, str]] = {
    # target: (codec/map args, muxer, suffix)
    "ffv1-mkv": (
        [
            *("-map", "0:v", "-map", "0:a?"),
            *("-c:v", "ffv1", "-level", "3", "-g", "1", "-slicecrc", "1", "-slices", "16"),
            *("-c:a", "flac"),
        ],
        "matroska",
        ".mkv",
    ),
    "wav": (["-vn", "-map", "0:a:0", "-c:a", "pcm_s24le"], "wav", ".wav"),
    "flac": (["-vn", "-map", "0:a:0", "-c:a", "flac"], "flac", ".flac"),
}

_MAGIC: dict[str, tuple[bytes, ...]] = {
    "ffv1-mkv": (b"\x1a\x45\xdf\xa3",),
    "wav": (b"RIFF", b"RF64"),
    "flac": (b"fLaC",),
}


def program() -> str:
    return find_program(PROGRAM)


def _probe_version(exe: str) -> str:
    res = run([exe, "-hide_banner", "-version"], timeout=30)
    first = res.stdout.strip().splitlines()[0] if res.stdout.strip() else ""
    if res.returncode != 0 or not first:
        raise MissingToolError(exe, f"-version failed: {res.output_tail}")
    # "ffmpeg version 5.1.9-0+deb12u1 Copyright (c) …" → "5.1.9-0+deb12u1"
    parts = first.split()
    return parts[2] if len(parts) > 2 and parts[1] == "version" else first


@functools.cache
def _version_of(exe: str) -> str:
    return remembered_version(exe, _probe_version)


def version() -> str:
    """FFmpeg version, e.g. ``5.1.9-0+deb12u1``; raises MissingToolError when missing."""
    return _version_of(program())


def available() -> bool:
    return is_available(version)


_RIFF_LIMIT = 2**32 - 2**20  # a RIFF WAV this big may have overflowed its 32-bit sizes


def command(src: Path, out: Path, target: str, *, rf64: bool = False) -> list[str]:
    """The full ffmpeg command line for ``target`` (``out`` is overwritten)."""
    args, muxer, _ = _ARGS[target]
    if rf64:
        args = [*args, "-rf64", "always"]
    return [
        program(),
        "-nostdin",
        "-hide_banner",
        "-nostats",
        "-loglevel",
        "warning",
        "-i",
        str(Path(src).resolve()),
        *args,
        "-f",
        muxer,
        "-y",
        str(Path(out).resolve()),
    ]


def convert(src: Path, dst: Path, *, timeout: float, target: str) -> ConvertResult:
    """Convert ``src`` to ``target`` at ``dst`` (atomic; see module docstring)."""
    if target not in TARGETS:
        raise ValueError(f"{TOOL}: unsupported target {target!r} (supported: {TARGETS})")

    def execute(tmp: Path, ver: str) -> RunResult:
        started = time.monotonic()
        res = run(command(Path(src), tmp, target), timeout)
        if target == "wav" and res.returncode == 0 and tmp.stat().st_size >= _RIFF_LIMIT:
            left = timeout - (time.monotonic() - started)
            res = run(command(Path(src), tmp, target, rf64=True), max(left, 1.0))
        return res

    def check(tmp: Path, res: RunResult) -> str | None:
        if read_head(tmp, 4) not in _MAGIC[target]:
            return f"output does not start like a {target} file"
        return None

    return convert_file(
        tool=TOOL,
        version=version,
        src=Path(src),
        dst=Path(dst),
        target=target,
        suffix=_ARGS[target][2],
        execute=execute,
        check=check,
    )
