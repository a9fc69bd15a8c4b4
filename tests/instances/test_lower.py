"""Lowering: every circuit of the shared case table, lowered, computes exactly what the reference
interpreter computes; inactive instances are exactly 0; and the stated noise tolerances hold when
bounded read-off noise is injected into every layer.
"""

from __future__ import annotations

import numpy as np
import pytest
from cases import CASES

import circuitc
from circuitc.instances.lower.boolean import lower_boolean
from circuitc.instances.lower.mlp import lower_mlp
from circuitc.instances.lower.small_mlp import ON_HI, SmallMLP, run_small

BOOLEAN = [c for c in CASES if c.kind == "boolean"]
MLPS = [c for c in CASES if c.kind == "mlp"]


def circuit_of(case):
    return circuitc.parse(case.source).circuit(case.circuit)


def rows_for(circuit, rng, limit=12, samples=1000):
    n = len(circuit.input_bits)
    if n <= limit:
        return circuitc.truth_table(circuit, max_inputs=limit)[0]
    return rng.integers(0, 2, size=(samples, n)).astype(np.uint8)


def run_noisy(mlp: SmallMLP, X: np.ndarray, active: bool, eps: float, rng):
    """The lowered circuit with read-off noise of size <= eps added to every neuron that a layer
    (or the read-out) reads, random signs; returns (last layer's neurons, read-out outputs)."""
    def noise(shape):
        return rng.choice([-eps, eps], size=shape) * rng.random(shape) ** 0.1

    a = np.zeros((len(X), mlp.d))
    a[:, ON_HI] = float(active)
    a[:, mlp.input_index] = X * float(active)
    bias = mlp.bias()
    for w in mlp.weights:
        a = np.maximum((a + noise(a.shape)) @ w.T + bias, 0.0)
    return a, (a + noise(a.shape)) @ mlp.readout.T


@pytest.mark.parametrize("case", BOOLEAN, ids=lambda c: c.name)
@pytest.mark.parametrize("gain", [2.5, 4.0, 10.0])
def test_boolean_lowering_is_exact(case, gain, rng=np.random.default_rng(0)):
    circuit = circuit_of(case)
    mlp = lower_boolean(circuit, margin=0.5, gain=gain)
    assert mlp.gain == gain
    X = rows_for(circuit, rng)
    y = run_small(mlp, X)
    assert np.array_equal(y, circuitc.evaluate_bits(circuit, X).astype(float))   # exactly 0/1
    assert not run_small(mlp, X, active=False).any()


@pytest.mark.parametrize("case", BOOLEAN[:8], ids=lambda c: c.name)
@pytest.mark.parametrize("margin,gain", [(0.25, 4.0), (1.0, 4.0), (0.25, 3.0), (0.1, 8.0)])
def test_boolean_lowering_absorbs_noise_within_its_tolerance(case, margin, gain):
    rng = np.random.default_rng(1)
    circuit = circuit_of(case)
    mlp = lower_boolean(circuit, margin=margin, gain=gain)
    X = rows_for(circuit, rng, limit=8, samples=256)
    ref = circuitc.evaluate_bits(circuit, X).astype(float)
    slack = np.abs(mlp.readout).sum(axis=1).max()   # the read-out itself sees the noise once
    for _ in range(3):
        _, y = run_noisy(mlp, X, True, 0.99 * mlp.active_tolerance, rng)
        assert np.array_equal((y > 0.5).astype(float), ref)
        assert np.abs(y - ref).max() <= slack * mlp.active_tolerance
        neurons, _ = run_noisy(mlp, X, False, 0.99 * mlp.inactive_tolerance, rng)
        assert not neurons.any()


def test_tolerances_are_tight_enough_to_matter():
    # Far above the tolerance, noise does break the circuit: the figures are not vacuous.
    circuit = circuitc.parse("circuit c { in a, b, c; out y; y = maj(a, b, c) ^ (a & b); }").circuit()
    mlp = lower_boolean(circuit, margin=0.5)
    X = circuitc.truth_table(circuit)[0]
    rng = np.random.default_rng(2)
    assert run_noisy(mlp, X, False, 20 * mlp.inactive_tolerance, rng)[0].any()


def test_not_and_constants_cost_no_neurons():
    plain = lower_boolean(circuitc.parse("circuit c { in a, b; out y; y = a & b; }").circuit(), 0.5)
    folded = lower_boolean(circuitc.parse("circuit c { in a, b; out y; y = ~(~a | ~b) & 1; }").circuit(), 0.5)
    assert folded.d == plain.d and folded.L == plain.L == 1


def test_xor_of_many_inputs_takes_one_layer():
    mlp = lower_boolean(circuitc.parse("circuit c { in x[6]; out y; y = xor(x); }").circuit(), 0.5)
    assert mlp.L == 1 and mlp.d == 2 + 2 * 6   # the on-indicator pair, then 6 steps


def test_wires_are_carried_to_later_layers():
    # `a` is read at layer 3 (after two gates), so it is carried through layers 1 and 2.
    src = "circuit c { in a, b, c; out y; t = b & c; u = t | b; y = u ^ a; }"
    circuit = circuitc.parse(src).circuit()
    mlp = lower_boolean(circuit, 0.5)
    assert mlp.L == 3
    X = circuitc.truth_table(circuit)[0]
    assert np.array_equal(run_small(mlp, X), circuitc.evaluate_bits(circuit, X).astype(float))


def test_constant_outputs_and_pass_through():
    circuit = circuitc.parse("circuit c { in a; out y, z, w; y = 1; z = a; w = ~a; }").circuit()
    mlp = lower_boolean(circuit, 0.5)
    X = circuitc.truth_table(circuit)[0]
    assert np.array_equal(run_small(mlp, X), circuitc.evaluate_bits(circuit, X).astype(float))
    assert not run_small(mlp, X, active=False).any()


@pytest.mark.parametrize("case", MLPS, ids=lambda c: c.name)
def test_mlp_lowering_is_exact(case):
    circuit = circuit_of(case)
    mlp = lower_mlp(circuit, margin=0.5)
    X = np.random.default_rng(3).normal(size=(64, len(circuit.input_bits)))
    assert np.allclose(run_small(mlp, X), circuitc.evaluate_bits(circuit, X), atol=1e-12)
    assert not run_small(mlp, X, active=False).any()


def test_mlp_linear_layers_become_relu_pairs():
    src = ("mlp m { in x[3]; out y[2]; layer linear { weights = [[1, -2, 0.5], [0, 1, -1]]; bias = [0.1, -0.3]; }"
           " layer linear { weights = [[1, 1], [2, -1]]; bias = [0, 1]; } }")
    circuit = circuitc.parse(src).circuit()
    mlp = lower_mlp(circuit, margin=1.0)
    X = np.random.default_rng(4).normal(size=(32, 3))
    assert mlp.L == 2 and mlp.d == 2 + 4        # the on-indicator pair, then 2 ± pairs
    assert np.allclose(run_small(mlp, X), circuitc.evaluate_bits(circuit, X), atol=1e-12)


@pytest.mark.parametrize("gain", [3.0, 6.0])
def test_padding_keeps_outputs_and_checks(gain):
    circuit = circuitc.load_spec(circuitc.__file__.replace("circuitc/__init__.py", "examples/c17.bench")).circuit()
    mlp = lower_boolean(circuit, 0.5, gain=gain)
    wide = mlp.padded(mlp.d + 5, mlp.L + 3)
    wide.check()
    X = circuitc.truth_table(circuit)[0]
    assert np.array_equal(run_small(wide, X), run_small(mlp, X))
    assert not run_small(wide, X, active=False).any()
    assert 0 < wide.active_tolerance <= mlp.active_tolerance
    with pytest.raises(ValueError):
        mlp.padded(mlp.d - 1, mlp.L)


def test_check_rejects_a_broken_on_indicator():
    mlp = lower_boolean(circuitc.parse("circuit c { in a, b; out y; y = a & b; }").circuit(), 0.5)
    w = mlp.weights.copy()
    w[0, ON_HI, ON_HI] = 1.0
    with pytest.raises(circuitc.CircuitError, match="on-indicator"):
        SmallMLP(mlp.name, mlp.kind, w, mlp.margin, mlp.input_index, mlp.readout).check()
    # The on rows must match the declared gain.
    with pytest.raises(circuitc.CircuitError, match="must read exactly 6·on"):
        SmallMLP(mlp.name, mlp.kind, mlp.weights, mlp.margin, mlp.input_index, mlp.readout, gain=6.0).check()
    with pytest.raises(ValueError, match="gain must be above 2"):
        lower_boolean(circuitc.parse("circuit c { in a, b; out y; y = a & b; }").circuit(), 0.5, gain=2.0)


@pytest.mark.parametrize("case", BOOLEAN, ids=lambda c: c.name)
def test_alap_schedule_is_exact_too(case):
    circuit = circuit_of(case)
    asap, alap = lower_boolean(circuit, 0.5), lower_boolean(circuit, 0.5, schedule="alap")
    assert alap.L == asap.L
    X = rows_for(circuit, np.random.default_rng(7))
    assert np.array_equal(run_small(alap, X), circuitc.evaluate_bits(circuit, X).astype(float))
    assert not run_small(alap, X, active=False).any()


def test_alap_computes_results_late():
    # s0 = a ^ b is needed only at the output layer: ASAP computes it at layer 1 and carries it,
    # ALAP computes it at the last layer from carried inputs. Same depth, same outputs.
    src = "circuit c { in a, b, c, d; out s0, y; s0 = a ^ b; t = c & d; u = t | a; y = u ^ b; }"
    circuit = circuitc.parse(src).circuit()
    asap, alap = lower_boolean(circuit, 0.5), lower_boolean(circuit, 0.5, schedule="alap")
    assert asap.L == alap.L == 3
    # ASAP computes s0 (two steps: [a+b >= 1] − [a+b >= 2]) at layer 1 and reads a copy step of
    # it (2 units) at layer 3; ALAP computes both steps at layer 3 (4 units).
    assert len(np.flatnonzero(asap.readout[0])) == 2
    assert len(np.flatnonzero(alap.readout[0])) == 4
    with pytest.raises(ValueError):
        lower_boolean(circuit, 0.5, schedule="sometime")
