"""Allocations (math.md §1.4) and per-layer reshuffling (§1.3).

The capacities and load spreads quoted in math.md are checked exactly; the overlap <= 1 property
is checked by brute force on small shapes, independently of `max_overlap`.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from circuitc.errors import CircuitError
from circuitc.instances.embed.allocate import (
    Allocation,
    affine_capacity,
    affine_prime,
    affine_supports,
    allocate,
    allocate_segregated,
    allowed_steps,
    max_overlap,
    packing_bound,
    prime_step_capacity,
    prime_step_supports,
    segregated_capacities,
    split_blocks,
)
from circuitc.instances.embed.shuffle import layer_permutations, layer_supports


def brute_overlap(supports: np.ndarray) -> int:
    sets = [set(r.tolist()) for r in supports]
    return max((len(a & b) for a, b in itertools.combinations(sets, 2)), default=0)


@pytest.mark.parametrize("n,S,expected", [(250, 5, 815), (250, 6, 557), (500, 5, 3237), (1000, 5, 12901)])
def test_prime_step_capacity_matches_the_papers(n, S, expected):
    assert prime_step_capacity(n, S) == expected
    assert len(prime_step_supports(n, S)) == expected


def test_prime_step_load_spread_for_250_6():
    load = np.bincount(prime_step_supports(250, 6).ravel(), minlength=250)
    assert (load.min(), load.max()) == (5, 17)


def test_composite_S_admits_multiples_of_S():
    steps = allowed_steps(250, 6)
    assert 6 in steps and 36 in steps and 42 in steps
    assert 2 not in steps and 12 not in steps and 35 not in steps


def test_affine_figures_for_250_6():
    assert affine_prime(250, 6) == 41
    assert affine_capacity(250, 6) == 1681
    assert packing_bound(250, 6) == 2075
    assert affine_capacity(250, 6) / packing_bound(250, 6) > 0.8  # about (S-1)/S of the bound


@pytest.mark.parametrize("n", [12, 30, 64, 101])
@pytest.mark.parametrize("S", [2, 3, 4, 5, 6])
@pytest.mark.parametrize("build", [prime_step_supports, affine_supports])
def test_supports_are_valid(n, S, build):
    if n < S:
        return
    sp = build(n, S)
    assert sp.shape[1] == S
    if len(sp) == 0:
        return
    assert sp.min() >= 0 and sp.max() < n
    assert all(len(set(r)) == S for r in sp.tolist())                 # S distinct neurons
    assert len({tuple(sorted(r)) for r in sp.tolist()}) == len(sp)   # no support twice
    assert brute_overlap(sp) <= 1
    assert max_overlap(sp) == brute_overlap(sp)


def test_max_overlap_detects_a_double_overlap():
    sp = np.array([[0, 1, 2], [3, 4, 5], [1, 2, 7]])
    assert max_overlap(sp) == brute_overlap(sp) == 2


@pytest.mark.parametrize("slopes", [1, 3, 41])
def test_affine_whole_slope_classes_load_evenly(slopes):
    sp = affine_supports(250, 6, 41 * slopes)
    load = np.bincount(sp.ravel(), minlength=250)[:6 * 41]
    assert load.min() == load.max() == slopes


def test_affine_partial_slope_class_spreads_by_at_most_one():
    load = np.bincount(affine_supports(250, 6, 41 * 2 + 17).ravel(), minlength=250)[:246]
    assert load.max() - load.min() <= 1


def test_allocate_auto_prefers_the_larger_capacity():
    a = allocate(500, 250, 6)
    assert isinstance(a, Allocation) and a.strategy == "affine" and a.T == 500
    assert a.summary()["capacity"] == 1681 and abs(a.fill - 500 / 1681) < 1e-12
    assert allocate(500, 250, 6, "prime-step").strategy == "prime-step"
    assert np.all(np.diff(a.supports, axis=1) > 0)   # rows ascending


def test_allocate_refuses_with_numbers_and_fixes():
    with pytest.raises(CircuitError) as e:
        allocate(3000, 250, 6, d=4)
    text = str(e.value)
    assert "3000" in text and "1681" in text and "2075" in text
    assert "D = 1000" in text and "raise the width to D = " in text and "S = " in text


def test_allocate_rejects_bad_shapes():
    for args in [(10, 5, 1), (10, 3, 5)]:
        with pytest.raises(CircuitError):
            allocate(*args)
    with pytest.raises(CircuitError, match="unknown allocation"):
        allocate(10, 100, 4, "random")


def test_layer_permutations_are_seeded_and_independent():
    p = layer_permutations(1000, 4, seed=7)
    assert p.shape == (4, 1000)
    assert all(sorted(row) == list(range(1000)) for row in p.tolist())
    assert np.array_equal(p, layer_permutations(1000, 4, seed=7))
    assert not np.array_equal(p, layer_permutations(1000, 4, seed=8))
    assert not np.array_equal(p[0], p[1])
    # Adding layers never changes the earlier ones.
    assert np.array_equal(layer_permutations(1000, 6, seed=7)[:4], p)


def test_layer_supports_follow_the_permutations():
    a = allocate(100, 64, 4)
    sup, perms = layer_supports(a, 3, seed=1)
    assert sup.shape == (3, 100, 4)
    assert np.array_equal(sup[2, 5], a.supports[perms[2, 5]])
    for layer in range(3):                       # every layer is still a valid allocation
        assert max_overlap(sup[layer]) <= 1


# ---------------------------------------------------------------- one range of neurons per type

def test_split_blocks_covers_n_with_ranges_growing_like_the_square_root():
    sizes = split_blocks([100, 400, 25], 70, 2)
    assert sizes.sum() == 70 and (sizes >= 2).all()
    assert sizes[1] > sizes[0] > sizes[2]                     # √400 : √100 : √25 = 4 : 2 : 1


@pytest.mark.parametrize("strategy", ["prime-step", "affine", "auto"])
def test_segregated_supports_keep_types_apart(strategy):
    counts = [60, 200, 7]
    alloc = allocate_segregated(counts, 90, 2, strategy)
    assert alloc.T == sum(counts) and max_overlap(alloc.supports) <= 1
    owner = np.repeat(np.arange(3), counts)
    used = [set(alloc.supports[owner == k].ravel()) for k in range(3)]
    assert not (used[0] & used[1] or used[0] & used[2] or used[1] & used[2])
    assert alloc.capacity == segregated_capacities(counts, 90, 2)[alloc.strategy] >= alloc.T


def test_segregated_refusal_names_every_range():
    with pytest.raises(CircuitError) as info:
        allocate_segregated([5000, 5], 40, 2, "prime-step", d=10)
    message = str(info.value)
    assert "do not fit with one range of neurons per type at S = 2" in message
    assert "5000 instances in D = " in message and "raise the width D" in message


def test_permutations_stay_within_groups():
    perms = layer_permutations(12, 3, seed=1, groups=[5, 7])
    for row in perms:
        assert sorted(row[:5]) == list(range(5)) and sorted(row[5:]) == list(range(5, 12))
    assert not np.array_equal(perms[0], perms[1])
    assert np.array_equal(layer_permutations(12, 3, seed=1, groups=[5, 7]), perms)
