"""Fixtures of the sweep tests (the files are in sweep_files.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sweep_files import GRID, TINY


@pytest.fixture
def tiny(tmp_path) -> Path:
    """A folder with tiny.circ and grid.toml (sweep_files.GRID: 16 points)."""
    (tmp_path / "tiny.circ").write_text(TINY)
    (tmp_path / "grid.toml").write_text(GRID)
    return tmp_path
