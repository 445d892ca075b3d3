"""HTML reports of a scan: a specialist report and a management summary (Swedish/English)."""

from __future__ import annotations

from .render import KINDS, write_report
from .strings import LANGS

__all__ = ["KINDS", "LANGS", "write_report"]
