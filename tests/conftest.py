"""Shared fixtures: the real-world corpus in ../shared (skipped clearly when absent)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from preserveplan import Catalog, scan

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("PRESERVEPLAN_SHARED", REPO.parent / "shared"))
CORPUS = SHARED / "corpus"


@pytest.fixture(scope="session")
def corpus() -> Path:
    if not (CORPUS / "expected.csv").is_file():
        pytest.skip(f"shared corpus not found at {CORPUS} (set PRESERVEPLAN_SHARED)")
    return CORPUS


@pytest.fixture(scope="session")
def corpus_scan(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    """The shared corpus scanned once into a catalog: (catalog path, scan id)."""
    db = tmp_path_factory.mktemp("corpus") / "catalog.db"
    [result] = scan(corpus, db=db, workers=2)
    return db, result.scan_id


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "catalog.db"


def rows(db: Path, scan_id: int) -> dict[bytes, dict[str, object]]:
    """All file records of a scan keyed by raw path."""
    with Catalog(db) as cat:
        return {r["path"]: r for r in cat.iter_files(scan_id)}
