"""The shared-neurons experiment (benchmarks/shared_neurons.py) measures what docs/lowering.md and
math.md §4.6 state: a circuit alone computes exactly through its slots, every hidden layer is
the sum of the circuits' own components, and the reads of inactive owners light slots well
before a compression of 0.1."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scripts import load_script


@pytest.fixture(scope="module")
def shared_neurons():
    return load_script("benchmarks/shared_neurons.py")


def test_a_circuit_alone_is_computed_exactly_on_every_input(shared_neurons):
    net = shared_neurons.Net(1, 512, 3, 4, 3, 4, seed=2)
    x = np.array([[[(m >> i) & 1 for i in range(4)]] for m in range(16)])
    active = np.zeros((16, 1), dtype=np.int64)
    r = shared_neurons.score(net, active, x)
    assert r["active_bit_accuracy"] == 1.0 and r["rows_all_right"] == 1.0
    assert r["wrong_active_copies_per_layer"] == [0.0] * 5


def test_every_hidden_layer_is_the_sum_of_the_circuits_components(shared_neurons):
    # ramp 1/2 (step slope 1) and S = 4: every weight is an integer over 4, so float64 sums
    # of the components are exact and must equal the layer bit for bit.
    net = shared_neurons.Net(6, 256, 4, 3, 3, 4, seed=1, ramp=0.5)
    for lv in range(1, 4):
        parts = [net.component(lv, t).to_dense() for t in range(6)]
        assert all(p.abs().sum() > 0 for p in parts)
        assert torch.equal(net.layers[lv - 1].to_dense(), sum(parts))


def test_inactive_owners_light_slots_long_before_compression_one_tenth(shared_neurons):
    # T = 100 circuits of 3 gates a level in D = 4096 (compression 0.07): the slots lit at the
    # last layer are many times the active circuits' own, and no row is right.
    r = shared_neurons.measure(100, 3, 1, rows=300)
    lit = r["random"]["lit_fraction_per_layer"]
    assert lit[-1] > 5 * r["lit_if_clean"][-1]
    assert r["random"]["rows_all_right"] < 0.05 and r["random"]["inactive_bits_reading_1"] > 0.1
