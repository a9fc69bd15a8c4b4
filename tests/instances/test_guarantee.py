"""The exactness guarantee (circuitc/guarantee.py): the statement itself, and when it is claimed.

The z = 1 statement is tested where it is strongest: supports drawn at random with heavy overlaps
(not an allocation at all: two instances may share all but one neuron), every instance and every
input combination checked against the interpreter.
"""

from __future__ import annotations

import numpy as np
import pytest

import circuitc
from circuitc.instances.assemble import assemble
from circuitc.instances.compile import compile_network
from circuitc.instances.guarantee import step_saturates, supports_disjoint, types_share_neurons
from circuitc.instances.lower.boolean import lower_boolean
from circuitc.instances.verify import verify
from circuitc.interpret import evaluate_bits

CIRCUITS = """
circuit full_adder { in a, b, cin; out s, cout; s = xor(a, b, cin); cout = maj(a, b, cin); }
circuit add2 { in a[2], b[2]; out s[3]; c = a[0] & b[0]; s[0] = a[0] ^ b[0];
               s[1] = a[1] ^ b[1] ^ c; s[2] = maj(a[1], b[1], c); }
circuit chain { in x[4]; out y; y = ~(((x[0] | x[1]) & ~x[2]) ^ x[3]) & (x[0] | ~x[3]); }
mlp tiny { in x[2]; out y; layer relu { weights = [[1, -1], [-1, 1]]; } layer linear { weights = [[1, 1]]; } }
"""


@pytest.fixture(scope="module")
def spec():
    return circuitc.parse(CIRCUITS)


@pytest.mark.parametrize("name", ["full_adder", "add2", "chain"])
@pytest.mark.parametrize("S", [2, 3, 4])
def test_one_active_instance_is_exact_however_supports_overlap(spec, name, S):
    circuit = spec.circuit(name)
    small = lower_boolean(circuit, 0.1, gain=2 * S)
    rng = np.random.default_rng(S)
    T, n = 60, 9
    base = np.stack([np.sort(rng.choice(n, S, replace=False)) for _ in range(T)])
    supports = np.stack([base[rng.permutation(T)] for _ in range(small.L + 1)])   # a new draw per layer
    net = assemble([small], np.zeros(T, dtype=np.int64), supports, n)
    X = circuitc.truth_table(circuit)[0]
    inst = np.repeat(np.arange(T), len(X))[:, None]
    inputs = np.tile(X, (T, 1))[:, None, :].astype(float)
    got = net.run(inst, inputs)[:, 0, :len(circuit.output_bits)]
    # Exactly, up to float32 rounding of weights such as 1/3 — not merely on the right side of 0.5.
    assert np.abs(got - evaluate_bits(circuit, inputs[:, 0])).max() < 1e-5


def test_saturation_condition():
    # (1/S)·((G + 1)/2 + β) − β >= 1. That the gain condition matters in practice is measured in
    # test_compile.py (a 4-bit ripple adder network drops to 0.79 at G = 2.5 < 2·S).
    assert step_saturates(4.0, 0.1, 2) and step_saturates(4.0, 0.5, 2) and not step_saturates(4.0, 0.6, 2)
    assert step_saturates(12.0, 0.1, 6) and not step_saturates(12.0, 0.11, 6)
    assert step_saturates(3.0, 0.0, 2) and not step_saturates(2.5, 0.0, 2)   # G >= 2S − 1 at β = 0


def network(spec_text, z=1, width=1024, extra=""):
    return circuitc.parse(CIRCUITS + f"network n {{ {spec_text} active = {z}; width = {width}; {extra} }}")


def test_when_the_guarantee_is_claimed():
    exact = compile_network(network("use full_adder * 300; use add2 * 200;"), construction="coherent")
    g = exact.guarantee
    assert g.exact and "one active instance" in g.reason
    assert exact.report()["guarantee"]["exact"]
    assert verify(exact, samples=2000, seed=3, mode="adversarial")["bit_accuracy"] == 1.0

    cases = {
        "z = 2": compile_network(network("use full_adder * 300;", z=2), construction="coherent"),
        "MLP circuit": compile_network(network("use tiny * 300;"), construction="coherent"),
        "share neurons": compile_network(network("use full_adder * 300; use add2 * 200;"), segregate=False),
        "below 2·S": compile_network(network("use full_adder * 300;"), gain=3.0),
        "too large": compile_network(network("use full_adder * 300;"), margin=0.6),
    }
    for words, comp in cases.items():
        g = comp.guarantee
        assert not g.exact and any(words in f for f in g.failed), (words, g)


def test_disjoint_supports_are_exact_for_any_z():
    comp = compile_network(network("use full_adder * 8; use tiny * 5;", z=3, width=512), S=2)
    assert supports_disjoint(comp.network.supports)
    assert comp.guarantee.exact and "no two instances share" in comp.guarantee.reason
    assert verify(comp, samples=1000, seed=0, mode="adversarial")["bit_accuracy"] == 1.0


def test_type_sharing_is_detected():
    sup = np.array([[[0, 1], [1, 2], [3, 4]]])
    assert types_share_neurons(sup, np.array([0, 1, 1]))
    assert not types_share_neurons(sup, np.array([0, 0, 1]))
