"""Measure each converter's speed and output size on this machine, on the archive's own files.

For every tool the newest assessment wants to use, a few files it would convert (spread over
the size range) are converted into a temporary folder; the seconds and output sizes give
``seconds = a + b × MB`` (least squares) and the output/input byte ratio, stored in the catalog
for :mod:`preserveplan.migrate.plan`. The originals are only read; the outputs are deleted.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..catalog import Catalog, now
from ..errors import UsageError
from .registry import MODULES, SUFFIX


@dataclass(frozen=True)
class Calibration:
    tool: str
    tool_version: str
    samples: int
    converted: int
    seconds_per_file: float
    seconds_per_mb: float
    output_ratio: float
    failures: tuple[str, ...]


def fit(points: list[tuple[float, float]]) -> tuple[float, float]:
    """Least-squares seconds = a + b × MB, with a, b ≥ 0 (few points: the mean per file)."""
    n = len(points)
    if n == 0:
        return 0.0, 0.0
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    var = sum((x - mean_x) ** 2 for x, _ in points)
    if n < 3 or var <= 1e-12:
        return mean_y, 0.0
    b = sum((x - mean_x) * (y - mean_y) for x, y in points) / var
    b = max(b, 0.0)
    return max(mean_y - b * mean_x, 0.0), b


def calibrate(
    catalog: Catalog,
    scan_id: int | None = None,
    *,
    per_tool: int = 5,
    timeout: float = 600.0,
    tools: tuple[str, ...] = (),
) -> list[Calibration]:
    """Calibrate the tools of the newest assessment's migrate rules and store the rates."""
    record = catalog.scan(scan_id)
    aid = catalog.last_assessment(record.id)
    if aid is None:
        raise UsageError(f"scan {record.id} has not been assessed: run 'preserveplan assess'")
    root = record.root.encode("utf-8", "surrogateescape")
    results = []
    for tool, samples in catalog.migration_samples(aid, record.id, per_tool).items():
        if tools and tool not in tools:
            continue
        module = MODULES.get(tool)
        if module is None or not module.available():
            continue
        version = module.version()
        points, out_bytes, in_bytes, failures = [], 0, 0, []
        with tempfile.TemporaryDirectory(prefix="preserveplan-calibrate-") as tmp:
            for i, (rel, size, target) in enumerate(samples):
                src = Path(os.fsdecode(os.path.join(root, rel)))
                dst = Path(tmp) / f"c{i}{SUFFIX.get(target, '.out')}"
                result = module.convert(src, dst, timeout=timeout, target=target)
                if not result.ok or result.output is None:
                    failures.append(f"{os.fsdecode(rel)}: {result.outcome}: {result.message}")
                    continue
                points.append((size / 1e6, result.seconds))
                in_bytes += size
                out_bytes += result.output.stat().st_size
                result.output.unlink()
        a, b = fit(points)
        calibration = Calibration(
            tool=tool,
            tool_version=version,
            samples=len(samples),
            converted=len(points),
            seconds_per_file=a,
            seconds_per_mb=b,
            output_ratio=out_bytes / in_bytes if in_bytes else 1.0,
            failures=tuple(failures),
        )
        if points:
            catalog.store_tool_rate(
                tool, version, a, b, calibration.output_ratio, len(points), now()
            )
        results.append(calibration)
    return results
