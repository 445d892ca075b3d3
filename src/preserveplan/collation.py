"""Sorting names the way Swedish readers expect: … x y z å ä ö, case and accents aside.

Python's default order puts "Ä" before "Å" and every accented letter after "z"; Swedish
dictionaries (SAOL, and the sv_SE locale's collation) put å, ä, ö last in that order, sort æ with ä
and ø with ö, ü with y, and other accented letters with their base letter (é = e). The locale is
not relied on: it may not be installed where reports are made.
"""

from __future__ import annotations

import unicodedata

# after "z" in code-point order, in Swedish order
_LAST = {"å": "{0", "ä": "{1", "æ": "{1", "ö": "{2", "ø": "{2", "ü": "y"}


def swedish_key(text: str) -> tuple[str, str]:
    """Sort key: Swedish alphabet order first, then the exact text to break ties."""
    out = []
    for ch in text.casefold():
        if ch in _LAST:
            out.append(_LAST[ch])
            continue
        base = unicodedata.normalize("NFKD", ch)
        out.append("".join(c for c in base if not unicodedata.combining(c)) or ch)
    return "".join(out), text
