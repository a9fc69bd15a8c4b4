"""The compile pass list end to end, and the sampling verifier.

Small networks keep this fast. Exactness is asserted only where it is guaranteed: a single active
instance whose neighbours are all inactive-and-silent is not guaranteed in general (a neighbour
sharing neurons in two consecutive layers feeds back, see docs/lowering.md), so the end-to-end
checks use T small enough that supports never overlap, or compare against measured behaviour.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import circuitc
from circuitc.active_sets import random_active
from circuitc.instances import Config, compile_network
from circuitc.instances.constructions.coherent_plan import choose_redundancy
from circuitc.instances.plan import one_neuron_per_gate_width
from circuitc.instances.verify import reference_outputs, verify

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

SOURCE = """
circuit full_adder { in a, b, cin; out s, cout; s = xor(a, b, cin); cout = maj(a, b, cin); }
circuit gates { in a, b; out y, z; y = a & ~b; z = a | b; }
mlp tiny { in x[2]; out y; layer relu { weights = [[1, -1], [-1, 1]]; } layer linear { weights = [[1, 1]]; } }
network small { use full_adder * 6; use gates * 6; active = 2; width = 512; seed = 3; }
network mixed { use full_adder * 4; use tiny * 4; active = 1; width = 512; redundancy = 4; }
"""


@pytest.fixture(scope="module")
def spec():
    return circuitc.parse(SOURCE)


def test_pass_list_builds_a_network(spec):
    comp = compile_network(spec, "small", construction="coherent")
    net = comp.network
    rep = comp.report()
    assert net.T == 12 and rep["T"] == 12 and rep["z"] == 2
    assert rep["D"] == net.d * net.n <= 512 and rep["D_requested"] == 512
    assert rep["S"] == net.S == comp.config.S >= 2
    assert rep["parameters"] == sum(p.numel() for p in net.model.parameters())
    assert rep["naive_neurons"] == 6 * 2 + 6 * 2
    assert comp.permutations.shape == (net.L + 1, 12)


def test_instances_with_disjoint_supports_are_exact(spec):
    # n = 512 // d = 51 and S = 3 give the affine grid q = 13: the first 13 lines are one slope
    # class, pairwise disjoint, so 12 instances never share a neuron in any layer and every
    # promise-keeping input must be computed exactly.
    comp = compile_network(spec, "small", S=3, allocation="affine")
    sup = comp.network.supports
    for l in range(sup.shape[0]):
        assert len(np.unique(sup[l])) == sup[l].size
    result = verify(comp, samples=2000, seed=1)
    assert result["bit_accuracy"] == 1.0 and result["instance_accuracy"] == 1.0


def test_z1_with_one_active_instance_matches_the_reference(spec):
    comp = compile_network(spec, "mixed")
    result = verify(comp, samples=1000, seed=2)
    assert result["bit_accuracy"] == 1.0
    assert result["real_max_error"] is not None and result["real_max_error"] < 1e-4


def test_compilation_is_deterministic(spec):
    a = compile_network(spec, "small").network.linears()
    b = compile_network(spec, "small").network.linears()
    for x, y in zip(a, b):
        assert x.weight.detach().numpy().tobytes() == y.weight.detach().numpy().tobytes()
        assert x.bias.detach().numpy().tobytes() == y.bias.detach().numpy().tobytes()
    # The seed assigns supports to instances; with one range of neurons per type (the default)
    # that permutes instances of one type among themselves, so only shared ranges change weights.
    c = compile_network(spec, "small", seed=4).network.linears()
    assert torch.equal(a[0].weight, c[0].weight)
    shared = [compile_network(spec, "small", seed=k, segregate=False).network.linears() for k in (3, 4)]
    assert not torch.equal(shared[0][0].weight, shared[1][0].weight)


def test_config_overrides_and_refusals(spec):
    comp = compile_network(spec, "small", S=3, allocation="prime-step")
    assert comp.config.S == 3 and comp.allocation.strategy == "prime-step"
    assert comp.config.construction == "coherent"          # a prime-step allocation implies it
    with pytest.raises(circuitc.CircuitError, match="do not fit"):
        compile_network(spec, "small", S=40, construction="coherent")
    with pytest.raises(circuitc.CircuitError, match="narrower"):
        compile_network(spec, "small", D=12)
    assert Config.for_network(spec.network("small")).D == 512


def test_choose_redundancy_takes_the_smallest_that_fits():
    from circuitc.instances.embed.allocate import affine_capacity

    assert choose_redundancy(1000, 409, "auto") == 2
    assert choose_redundancy(200, 40, "affine") == 2          # q = 19 at S = 2: 361 lines
    assert affine_capacity(40, 2) < 400 and affine_capacity(40, 3) < 400
    with pytest.raises(circuitc.CircuitError, match="do not fit"):
        choose_redundancy(400, 40, "affine")                  # no S gives 400 affine lines in 40


def test_naive_width_counts_logic_gates_per_level(spec):
    assert one_neuron_per_gate_width(spec.circuit("full_adder")) == 2
    assert one_neuron_per_gate_width(spec.circuit("tiny")) == 2


def test_sample_active_keeps_the_promise():
    rng = np.random.default_rng(0)
    inst = random_active(50, 3, 5000, rng)
    active = inst >= 0
    assert active[:, 0].all() and set(active.sum(1)) == {1, 2, 3}
    for row in inst:
        live = row[row >= 0]
        assert len(set(live.tolist())) == len(live)


def test_reference_outputs_follow_the_interpreter(spec):
    comp = compile_network(spec, "small")
    inst = np.array([[0, 7], [11, -1]])
    x = np.zeros((2, 2, comp.network.n_in_max))
    x[0, 0, :3] = [1, 1, 0]
    x[0, 1, :2] = [1, 0]
    out = reference_outputs(comp, inst, x)
    assert out[0, 0].tolist() == [0, 1] and out[0, 1].tolist() == [1, 1]
    assert np.isnan(out[1, 1]).all()


def test_verify_reports_per_layer_readoff_errors(spec):
    # Disjoint supports: every read-off, active or inactive, is exact in every layer.
    comp = compile_network(spec, "small", S=3, allocation="affine")
    result = verify(comp, samples=500, seed=5)
    assert [l["layer"] for l in result["layers"]] == list(range(comp.network.L + 1))
    for l in result["layers"]:   # zero up to float32 rounding of the weights
        for key in ("active_max", "inactive_max", "active_pair_max", "inactive_pair_max"):
            assert l[key] < 1e-5, (l["layer"], key, l[key])
    worst = result["worst_instances"]
    assert 0 < len(worst) <= 5 and all(w["bit_accuracy"] == 1.0 for w in worst)


def test_pairs_reject_common_mode_interference():
    # Overlapping supports at z = 1: neurons of the active instance pick up large read-off errors,
    # but both neurons of a pair pick up the same error, so the values it carries stay exact.
    spec = circuitc.parse("circuit fa { in a, b, c; out s, co; s = xor(a, b, c); co = maj(a, b, c); }"
                          "network n { use fa * 400; active = 1; width = 512; construction = \"coherent\"; }")
    result = verify(compile_network(spec), samples=2000, seed=6)
    last = result["layers"][-1]
    assert result["bit_accuracy"] == 1.0
    assert last["active_max"] > 0.5 and last["active_pair_max"] < 1e-4
    assert last["inactive_pair_rms"] > 0            # inactive instances are not silent
    rates = [w["bit_accuracy"] for w in result["worst_instances"]]
    assert rates == sorted(rates)


def test_types_get_their_own_neurons_unless_told_otherwise(spec):
    comp = compile_network(spec, "small")                  # full adders and `gates`
    sup, ty = comp.network.supports, comp.network.type_of
    for l in range(sup.shape[0]):
        assert not set(sup[l, ty == 0].ravel()) & set(sup[l, ty == 1].ravel())
    assert comp.warnings() == []
    mixed = compile_network(spec, "small", segregate=False)
    assert [w.severity for w in mixed.warnings()] == ["warning"]
    assert "mixes circuit types" in mixed.warnings()[0].message
    single = circuitc.parse("circuit g { in a; out y; y = ~a; } network n { use g * 4; active = 1; width = 64; }")
    assert compile_network(single).warnings() == []


def test_segregation_fixes_mixed_types_at_z1():
    # 200 c17s and 200 full adders in D = 1024, one active instance: measured 0.82 bit accuracy
    # when they share neurons (a neighbour of the other type computes its own gates on the active
    # instance's values), exact with one range of neurons per type.
    spec = circuitc.parse('include "full_adder.circ"; include "c17.bench";\n'
                          "network m { use c17 * 200; use full_adder * 200; active = 1; width = 1024; }",
                          base_dir=EXAMPLES)
    assert verify(compile_network(spec), samples=2000, seed=0)["bit_accuracy"] == 1.0
    assert verify(compile_network(spec, segregate=False), samples=2000, seed=0)["bit_accuracy"] < 0.9


def test_default_gain_makes_overlapping_neighbours_harmless_at_z1():
    # 300 four-bit ripple adders in D = 1024 (S = 2, supports overlapping: n = 46 blocks hold only
    # 23 disjoint supports). At the default gain 2·S an inactive neighbour copies the active
    # instance exactly and the network is exact under random and adversarial rows; at a gain
    # that lets neighbours compute fractions of it, they break it (measured 0.79 at 2.5, 0.88 at 3).
    spec = circuitc.parse('include "ripple_adder.circ";\n'
                          "network n { use ripple_adder<N=4> * 300; active = 1; width = 1024; "
                          "construction = \"coherent\"; }",
                          base_dir=EXAMPLES)
    comp = compile_network(spec)
    assert comp.network.S == 2 and comp.config.gain == 4.0
    assert verify(comp, samples=2000, seed=0)["bit_accuracy"] == 1.0
    assert verify(comp, samples=500, seed=1, mode="adversarial")["bit_accuracy"] == 1.0
    assert verify(compile_network(spec, gain=2.5), samples=2000, seed=0)["bit_accuracy"] < 0.9


def test_gain_is_checked(spec):
    with pytest.raises(circuitc.CircuitError, match="gain must be a finite number above 2"):
        compile_network(spec, "small", gain=2.0)
    assert compile_network(spec, "small", S=3, construction="coherent").config.gain == 6.0
    assert compile_network(spec, "small", S=3, gain=5.0).network.types[0].gain == 5.0
