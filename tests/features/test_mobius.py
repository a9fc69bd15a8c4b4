"""Gates over features through their Möbius expansion (circuitc/mobius.py)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from circuitc.active_sets import exactly_active
from circuitc.errors import CircuitError
from circuitc.features.mobius import gate_layer, mobius
from circuitc.features.uand import build_uand
from circuitc.features.uand_theory import best_p

AND, OR, XOR, NAND = [0, 0, 0, 1], [0, 1, 1, 1], [0, 1, 1, 0], [1, 1, 1, 0]
X_AND_NOT_Y = [0, 1, 0, 0]          # index j: bit 0 is x, bit 1 is y


def test_coefficients_of_the_two_input_gates():
    assert mobius(AND) == {(0, 1): 1}
    assert mobius(OR) == {(0,): 1, (1,): 1, (0, 1): -1}
    assert mobius(XOR) == {(0,): 1, (1,): 1, (0, 1): -2}
    assert mobius(NAND) == {(): 1, (0, 1): -1}
    assert mobius(X_AND_NOT_Y) == {(0,): 1, (0, 1): -1}


@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_the_expansion_reproduces_every_table(k):
    rng = np.random.default_rng(k)
    for _ in range(20):
        table = rng.integers(0, 2, 1 << k)
        c = mobius(table)
        for j in range(1 << k):
            x = [(j >> i) & 1 for i in range(k)]
            assert sum(coef * all(x[i] for i in T) for T, coef in c.items()) == table[j]


def test_gates_read_off_from_one_layer():
    m, s, d = 40, 3, 30_000
    layer = build_uand(m, d, best_p(m, s, d, 0.25, 2000), seed=2)
    gates = [((0, 1), AND), ((2, 3), OR), ((4, 5), XOR), ((6, 7), NAND), ((8, 9), X_AND_NOT_Y), ((10,), [1, 0])]
    gl = gate_layer(layer, gates)
    assert list(gl.singles) == [2, 3, 4, 5, 8, 10]
    # Every row: random on-features, with each gate's inputs exercised in all combinations.
    rng = np.random.default_rng(3)
    rows = []
    for inputs, _ in gates:
        for combo in itertools.product((0, 1), repeat=len(inputs)):
            for _ in range(40):
                on = [f for f, bit in zip(inputs, combo) if bit]
                rest = rng.choice(np.arange(12, m), s - len(on), replace=False)
                rows.append(on + list(rest))
    active = np.array(rows)
    y = gl.outputs(active)
    on = np.zeros((len(active), m), dtype=bool)
    on[np.arange(len(active))[:, None], active] = True
    for n, (inputs, table) in enumerate(gates):
        j = sum(on[:, f].astype(int) << i for i, f in enumerate(inputs))
        want = np.asarray(table)[j]
        assert ((y[:, n] > 0.5) == want).all(), n
        assert np.abs(y[:, n] - want).max() < 0.5


def test_superposed_inputs_feed_the_identity_neurons():
    layer = build_uand(30, 20_000, 0.06, seed=1, d0=2000)
    gl = gate_layer(layer, [((0, 1), XOR)])
    active = exactly_active(30, 2, 200, np.random.default_rng(0))
    y = gl.outputs(active)
    on = (active[:, :, None] == np.array([0, 1])).any(axis=1)
    want = on[:, 0] ^ on[:, 1]
    assert ((y[:, 0] > 0.5) == want).mean() > 0.99


def test_fan_in_beyond_k_is_refused_with_the_fix():
    layer = build_uand(10, 100, 0.3)
    with pytest.raises(CircuitError) as e:
        gate_layer(layer, [((0, 1, 2), [0, 0, 0, 0, 0, 0, 0, 1]), ((0, 11), AND), ((1, 2), [0, 1])])
    text = str(e.value)
    assert "fan-in 3" in text and "k = 2" in text and "k >= 3" in text
    assert "outside 0..9" in text and "truth table of 4 entries" in text
    # A wide gate whose expansion stays within k is fine: x0 OR x1 written over three inputs.
    gate_layer(layer, [((0, 1, 2), [0, 1, 1, 1, 0, 1, 1, 1])])
