"""Which converter module carries out a ruleset's ``action.tool``, and the output suffix of
each ``action.target``."""

from __future__ import annotations

from types import ModuleType

from .tools import ffmpeg, ghostscript, imagemagick, libreoffice, msgconvert

MODULES: dict[str, ModuleType] = {
    "libreoffice": libreoffice,
    "ghostscript": ghostscript,
    "ffmpeg": ffmpeg,
    "imagemagick": imagemagick,
    "msgconvert": msgconvert,
}

SUFFIX = {
    "pdfa-2b": ".pdf",
    "tiff": ".tif",
    "png": ".png",
    "ffv1-mkv": ".mkv",
    "wav": ".wav",
    "flac": ".flac",
    "eml": ".eml",
    "odt": ".odt",
    "ods": ".ods",
    "csv": ".csv",
    "xml": ".xml",
}
