"""A progress bar on stderr (rich): files/s, MB/s and ETA."""

from __future__ import annotations

import sys
import threading
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text


class _Rates(ProgressColumn):
    def render(self, task: Task) -> Text:
        elapsed = task.elapsed or 0.0
        if elapsed <= 0:
            return Text("")
        files = task.completed / elapsed
        mb = task.fields.get("nbytes", 0) / elapsed / 1e6
        return Text(f"{files:,.0f} files/s, {mb:,.1f} MB/s", style="progress.data.speed")


class ScanProgress:
    """Thread-safe progress sink for a scan; does nothing when disabled."""

    def __init__(self, enabled: bool = True, label: str = "scanning") -> None:
        self.label = label
        self.enabled = enabled and sys.stderr is not None
        self._lock = threading.Lock()
        self._bytes = 0
        self._progress: Progress | None = None

    def __enter__(self) -> ScanProgress:
        if self.enabled:
            self._progress = Progress(
                SpinnerColumn(),
                TextColumn(self.label),
                BarColumn(),
                MofNCompleteColumn(),
                _Rates(),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                transient=False,
            )
            self._progress.start()
            self._task = self._progress.add_task("scan", total=None, nbytes=0)
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._progress is not None:
            self._progress.stop()

    def total(self, files: int, nbytes: int) -> None:
        if self._progress is not None:
            self._progress.update(self._task, total=files)

    def advance(self, files: int, nbytes: int) -> None:
        if self._progress is not None:
            with self._lock:
                self._bytes += nbytes
                self._progress.update(self._task, advance=files, nbytes=self._bytes)
