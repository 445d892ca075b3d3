"""Versions of preserveplan and of the identification engine, for provenance."""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass
from importlib import metadata

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


@functools.cache
def engine_info() -> EngineInfo:
    """Read the versions from the installed pygfried (identifies one tiny in-memory probe)."""
    import os
    import tempfile

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
