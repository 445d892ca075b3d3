"""preserveplan: digital preservation planning and format migration.

The Python API (``preserveplan.scan``, ``preserveplan.Catalog``, ``preserveplan.export``) is what
the ``preserveplan`` command line calls; see README.md.
"""

from .api import Catalog, ScanResult, export, scan, write_inventory, write_reports
from .versions import __version__

__all__ = [
    "Catalog",
    "ScanResult",
    "__version__",
    "export",
    "scan",
    "write_inventory",
    "write_reports",
]
