"""Versions of preserveplan and of the identification engine, for provenance."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Protocol

from .paths import user_cache_dir

__version__ = "0.1.0"


@dataclass(frozen=True)
class EngineInfo:
    """What identified the files: recorded with every scan."""

    preserveplan: str
    pygfried: str
    siegfried: str
    signature: str  # e.g. "default.sig (DROID_SignatureFile_V125.xml; container-signature-….xml)"
    signature_created: str

    @property
    def signature_key(self) -> str:
        """Key that changes whenever an identification could change (engine or signatures)."""
        return f"siegfried {self.siegfried}; {self.signature}; {self.signature_created}"

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


class MetaStore(Protocol):
    def get_meta(self, key: str) -> str | None: ...
    def set_meta(self, key: str, value: str) -> None: ...


def engine_fingerprint() -> str:
    """Changes whenever the installed pygfried (and so its embedded signatures) changes."""
    spec = importlib.util.find_spec("pygfried")
    origin = spec.origin if spec and spec.origin else ""
    st = os.stat(origin) if origin else None
    stamp = f"{st.st_size}:{st.st_mtime_ns}" if st else "?"
    return f"pygfried {metadata.version('pygfried')} {origin}:{stamp}"


def probe_engine() -> EngineInfo:
    """Ask pygfried itself (identifies one tiny temporary file; loads the signatures)."""
    import pygfried

    with tempfile.NamedTemporaryFile(suffix=".txt", delete=False) as tmp:
        tmp.write(b"probe\n")
    try:
        result = pygfried.Scanner().identify(tmp.name, detailed=True)
    finally:
        os.unlink(tmp.name)
    details = "; ".join(i.get("details", "") for i in result.get("identifiers", []))
    return EngineInfo(
        preserveplan=__version__,
        pygfried=metadata.version("pygfried"),
        siegfried=str(result.get("siegfried") or pygfried.version()),
        signature=f"{result.get('signature', '')} ({details})",
        signature_created=str(result.get("created", "")),
    )


def _user_cache(fingerprint: str) -> Path:
    digest = hashlib.sha256(f"{__version__} {fingerprint}".encode()).hexdigest()[:16]
    return user_cache_dir() / f"engine-{digest}.json"


@functools.cache
def _probe_cached(fingerprint: str) -> EngineInfo:
    """Engine info from the user's cache, else probed (and cached) for this pygfried install."""
    cache = _user_cache(fingerprint)
    with contextlib.suppress(OSError, ValueError, TypeError):
        info = EngineInfo(**json.loads(cache.read_text()))
        if info.preserveplan == __version__:
            return info
    info = _probe_in_subprocess()
    with contextlib.suppress(OSError):
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(info.as_dict()))
        os.replace(tmp, cache)
    return info


def _probe_in_subprocess() -> EngineInfo:
    """Probe in a short-lived process: loading the signatures costs ~70 MB that the
    coordinator of a scan does not otherwise need."""
    code = "from preserveplan.versions import _main; _main()"
    try:
        out = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        ).stdout
        return EngineInfo(**json.loads(out))
    except (OSError, subprocess.SubprocessError, ValueError, TypeError):
        return probe_engine()  # e.g. no usable sys.executable: probe here instead


def engine_info(store: MetaStore | None = None) -> EngineInfo:
    """The engine's versions, cached in ``store`` (the catalog) per installed pygfried."""
    fingerprint = engine_fingerprint()
    key = f"engine {fingerprint}"
    if store is not None:
        cached = store.get_meta(key)
        if cached:
            info = EngineInfo(**json.loads(cached))
            if info.preserveplan == __version__:
                return info
    info = _probe_cached(fingerprint)
    if store is not None:
        store.set_meta(key, json.dumps(info.as_dict()))
    return info


def _main() -> None:
    print(json.dumps(probe_engine().as_dict()))
