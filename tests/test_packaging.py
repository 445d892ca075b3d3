"""Every Python package in src/ is listed for the wheel (the list is explicit because the
top-level rules/ folder is shipped as preserveplan.rules_data)."""

from __future__ import annotations

import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_every_package_is_in_the_wheel() -> None:
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    src = REPO / "src"
    found = {".".join(p.parent.relative_to(src).parts) for p in src.rglob("__init__.py")}
    assert found <= listed, sorted(found - listed)
    assert config["package-dir"]["preserveplan.rules_data"] == "rules"
    assert (REPO / "rules" / "default.yaml").is_file()
