"""Error types that the CLI turns into clear messages and exit codes."""

from __future__ import annotations


class PreserveplanError(Exception):
    """Base class: an expected failure with a message meant for people."""

    exit_code = 1


class CatalogError(PreserveplanError):
    """The catalog cannot be opened, is of an unknown schema, or is damaged."""

    exit_code = 3


class CatalogLockedError(CatalogError):
    """Another process is writing the catalog."""

    exit_code = 4


class UsageError(PreserveplanError):
    """Bad arguments that click could not catch (a missing root, an unknown scan id)."""

    exit_code = 2
