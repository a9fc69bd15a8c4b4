"""The shared-gates experiment (benchmarks/shared_gates.py) measures what docs/lowering.md and
math.md §4.6 state: a block that one circuit holds alone computes it exactly, and once the
branching T·S²/n exceeds 1 inactive owners light most blocks."""

from __future__ import annotations

import pytest
from scripts import load_script


@pytest.fixture(scope="module")
def shared_gates():
    return load_script("benchmarks/shared_gates.py")


@pytest.mark.parametrize("steps", ["scaled", "normalized"])
def test_circuits_that_share_no_block_are_computed_exactly(shared_gates, steps):
    # T = 3 circuits with S = 3 blocks of n = 215 per layer: with this seed no two share a block
    # at any layer, so every bit of every row is right and nothing beyond their blocks is lit.
    r = shared_gates.measure(3, 3, 1, steps == "normalized", rows=300)
    assert r["active_bit_accuracy"] == 1.0 and r["inactive_bits_reading_1"] == 0.0 and r["rows_all_right"] == 1.0
    assert r["lit_fraction_per_layer"] == [r["lit_if_clean"]] * 5


def test_inactive_owners_light_their_blocks_above_the_branching_threshold(shared_gates):
    # T = 100, S = 3, n = 215: each lit block lights T·S²/n = 4.2 at the next layer.
    r = shared_gates.measure(100, 3, 1, False, rows=300)
    lit = r["lit_fraction_per_layer"]
    assert lit[0] == r["lit_if_clean"]
    assert all(b > a for a, b in zip(lit, lit[1:])) and lit[-1] > 20 * r["lit_if_clean"]
    assert r["rows_all_right"] < 0.05
