"""One small module per external conversion program.

Each module has ``version() -> str`` (raises :class:`MissingToolError` when the program is not
installed), ``available() -> bool``, ``TARGETS`` (the ruleset ``target`` values it supports) and
``convert(src, dst, *, timeout, target) -> ConvertResult``.

Common contract of every ``convert``:

* the source is only read, never opened for writing, and nothing is written into its folder
  (``dst`` must be in another folder, else :class:`ValueError`);
* the output is written to a temporary file in ``dst``'s folder and moved to ``dst`` with
  :func:`os.replace` only when the tool's output passed the module's own checks, so ``dst``
  either is a complete output or is untouched;
* the tool runs in its own process group that is killed as a whole at ``timeout`` seconds;
* failures are reported in the result (``outcome`` 'failed' | 'timeout' | 'missing-tool' |
  'crashed'), never raised, except programming errors (bad ``target``, ``dst`` next to ``src``).

Exit codes prove nothing (see TOOLS.md): callers must still identify the output (PUID) and run
the format checks before recording it as a preservation copy.
"""

from preserveplan.migrate.tools._exec import (
    ConvertResult,
    MissingToolError,
    Outcome,
    RunResult,
    run,
)

__all__ = ["ConvertResult", "MissingToolError", "Outcome", "RunResult", "run"]
