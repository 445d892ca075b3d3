"""Paths as bytes: any name on disk round-trips, including newlines and bytes that are not UTF-8.

The catalog stores every path as the raw bytes the file system gave us. These helpers turn them
into text for people (escaped, one line) and for machines (lossless, via ``surrogateescape``).
"""

from __future__ import annotations

import base64
import os
from pathlib import Path

MEMBER_SEP = b"!/"


def to_text(path: bytes) -> str:
    """Lossless text form (undecodable bytes become lone surrogates, as ``os.fsdecode`` does)."""
    return path.decode("utf-8", "surrogateescape")


def is_clean_utf8(path: bytes) -> bool:
    """True if the bytes are valid UTF-8 (so plain JSON/CSV can carry them without tricks)."""
    try:
        path.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def b64(path: bytes) -> str:
    return base64.b64encode(path).decode("ascii")


def escaped(path: bytes | str) -> str:
    """Valid text for any name: bytes that are not UTF-8 (in a str: the lone surrogates of
    ``os.fsdecode``) as ``\\xff`` escapes."""
    text = path.decode("utf-8", "backslashreplace") if isinstance(path, bytes) else path
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def for_display(path: bytes | str) -> str:
    """One printable line: invalid bytes as ``\\xff``, control characters escaped."""
    text = escaped(path)
    out = []
    for ch in text:
        if ch == "\\" or ch.isprintable() or ch == " ":
            out.append(ch)
        else:
            out.append(ch.encode("unicode_escape").decode("ascii"))
    return "".join(out)


def extension(name: bytes) -> str:
    """Lower-case extension without the dot, as text ('' if none). Used as a cache key part."""
    base = name.rsplit(b"/", 1)[-1]
    if b"." not in base:  # like Go's filepath.Ext, which Siegfried uses
        return ""
    ext = base.rsplit(b".", 1)[-1]
    return ext.decode("utf-8", "replace").lower()


def org_of(relpath: bytes, depth: int = 1) -> str:
    """Organisation key: the first ``depth`` folders of a path ('' for files at the root).

    A folder name that is not UTF-8 (Latin-1 "S\\xe4ter" from an old file server) is
    kept readable and stable with ``\\xNN`` escapes: the key is text in the catalog and in
    reports, where lone surrogates cannot be stored."""
    parts = relpath.split(b"/")
    if len(parts) <= 1 or depth <= 0:
        return ""
    return b"/".join(parts[: min(depth, len(parts) - 1)]).decode("utf-8", "backslashreplace")


def user_cache_dir() -> Path:
    """preserveplan's folder in the user's cache (``$XDG_CACHE_HOME`` or ``~/.cache``)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "preserveplan"


def join(root: bytes, rel: bytes) -> bytes:
    return os.path.join(root, rel) if rel else root
