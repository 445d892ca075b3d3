"""Identification with Siegfried (pygfried): one reused Scanner, files fed in batches.

Siegfried's answer depends on the content and on the file extension, so callers key results by
(SHA-256, extension, signature key). Names pygfried cannot take (bytes that are not UTF-8) are
identified through a temporary symlink with a clean name and the same extension.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from typing import Any

from ..paths import extension, is_clean_utf8

# PUIDs whose members we inventory (generic archive and compression formats; not OOXML/ODF,
# which are ZIP-based documents and are identified as themselves).
CONTAINER_PUIDS = frozenset(
    {
        "x-fmt/263",  # ZIP
        "x-fmt/265",  # TAR
        "x-fmt/266",  # GZIP
        "x-fmt/267",  # BZIP
        "x-fmt/268",  # BZIP2
        "fmt/1098",  # XZ
        "fmt/484",  # 7-Zip
        "fmt/411",  # RAR 2.9
        "fmt/613",  # RAR 5
        "x-fmt/264",  # RAR 2.0
        "fmt/468",  # ISO 9660
        "fmt/635",  # CPIO
        "x-fmt/414",  # Microsoft Cabinet
    }
)

# Siegfried error texts that come from the file system, not from the content: never cached.
_IO_ERRORS = ("no such file", "permission denied", "is a directory", "input/output error")


def is_io_error(errors: str | None) -> bool:
    return bool(errors) and any(t in errors.lower() for t in _IO_ERRORS)  # type: ignore[union-attr]


class Identifier:
    """A reusable Siegfried scanner (create one per process)."""

    def __init__(self) -> None:
        import pygfried  # here, not at import: see preserveplan.procs

        self.scanner = pygfried.Scanner()

    def identify(self, paths: Sequence[bytes]) -> list[dict[str, Any]]:
        """Identify files; one result dict per path, in order (see :func:`summarise`)."""
        if all(is_clean_utf8(p) for p in paths):
            return self._identify([p.decode("utf-8") for p in paths])
        # Some names are not UTF-8: identify those through symlinks with clean names (same
        # extension), in a temporary folder that is gone when the batch is done.
        with tempfile.TemporaryDirectory(prefix="preserveplan-ident-") as tmp:
            names = []
            for i, path in enumerate(paths):
                if is_clean_utf8(path):
                    names.append(path.decode("utf-8"))
                    continue
                ext = extension(path)
                link = os.path.join(tmp, f"f{i}.{ext}" if ext else f"f{i}")
                os.symlink(path, link)
                names.append(link)
            return self._identify(names)

    def _identify(self, names: list[str]) -> list[dict[str, Any]]:
        files: list[Any]
        try:
            files = list(self.scanner.identify_many(names)["files"])
        except Exception:  # a batch-level Go error: isolate the file that caused it
            files = [self._one(n) for n in names]
        return [summarise(f) for f in files]

    def _one(self, name: str) -> Any:
        try:
            return self.scanner.identify_many([name])["files"][0]
        except Exception as exc:
            return {"errors": f"{type(exc).__name__}: {exc}", "matches": []}


def summarise(result: Any) -> dict[str, Any]:
    """Turn one Siegfried file record into the catalog's identification fields."""
    matches = [
        {
            k: m.get(k, "")
            for k in ("ns", "id", "format", "version", "mime", "class", "basis", "warning")
        }
        for m in result.get("matches") or []
    ]
    first = matches[0] if matches else {}
    return {
        "puid": first.get("id") or None,
        "format": first.get("format") or None,
        "version": first.get("version") or None,
        "mime": first.get("mime") or None,
        "class": first.get("class") or None,
        "basis": first.get("basis") or None,
        "warning": first.get("warning") or None,
        "errors": result.get("errors") or None,
        "match_count": len(matches),
        # Kept only when Siegfried gave more than one match: the first is in the columns above.
        "matches": json.dumps(matches, ensure_ascii=False) if len(matches) > 1 else None,
    }
