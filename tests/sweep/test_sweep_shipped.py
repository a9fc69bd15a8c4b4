"""The grid files shipped in benchmarks/grids: each reads and plans (fast); the two small ones run
end to end on two worker processes (slow: about half a minute)."""

from __future__ import annotations

from pathlib import Path

import pytest

from circuitc.sweep import Sweep, run_sweep

GRIDS = sorted((Path(__file__).resolve().parents[2] / "benchmarks" / "grids").glob("*.toml"))


def test_there_are_shipped_grids():
    assert {g.name for g in GRIDS} >= {"adders_capacity.toml", "frontier_small.toml", "sweep_bench.toml"}


@pytest.mark.parametrize("grid", GRIDS, ids=lambda g: g.name)
def test_a_shipped_grid_reads_and_plans(grid):
    sweep = Sweep(grid)
    assert sweep.points() or sweep.searches()


@pytest.mark.slow
def test_the_small_frontier_grid_runs(tmp_path):
    result = run_sweep(GRIDS[[g.name for g in GRIDS].index("frontier_small.toml")], tmp_path / "f", workers=2)
    assert not result.failed and all(r["status"] == "done" for r in result.frontier)
    rows = {(r["target"], r["D"], r["z"], r["construction"]): r for r in result.frontier}
    # routed holds more than coherent wherever z >= 2 (coherent shares neurons between active instances)
    for (target, D, z, construction), row in rows.items():
        if construction == "routed" and z == 2:
            assert row["frontier_T"] > rows[target, D, z, "coherent"]["frontier_T"]


@pytest.mark.slow
def test_the_adders_capacity_grid_runs(tmp_path):
    result = run_sweep(GRIDS[[g.name for g in GRIDS].index("adders_capacity.toml")], tmp_path / "a", workers=2)
    assert result.counts.done == 24 and not result.failed
    assert all(r["bit_accuracy"] == 1 for r in result.rows if r["construction"] == "routed")
