"""MLP circuits on routed positions that can collide (z >= 2): the collision wipe under an input
bound, and real outputs read as the mean over an instance's clean positions
(lower/routed.py `lower_routed_mlp`, Layout.outputs, constructions/routed.py)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from cli_runs import fails, ok

import circuitc
from circuitc.artifact import load, save
from circuitc.instances import compile_network, plan_network
from circuitc.instances.lower.routed import lower_routed_mlp
from circuitc.instances.verify import verify

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
U32 = 2.0 ** -24                        # float32 unit roundoff

MLPS = """
mlp one_layer { in x[3]; out y[2]; layer linear { weights = [[1, -2, 0.5], [0.25, 1, -1]]; bias = [0.5, -1]; } }
mlp two_layer { in x[2]; out y;
    layer relu { weights = [[1, -1], [-1, 1], [1, 1]]; bias = [0, 0, -0.5]; }
    layer linear { weights = [[1, 1, -2]]; bias = [0.25]; } }
"""


def _spec(T: int, z: int, width: int, circuit: str = "mlp_xor") -> circuitc.Spec:
    source = f'include "mlp_xor.circ";\n{MLPS}\nnetwork n {{ use {circuit} * {T}; active = {z}; width = {width}; }}\n'
    return circuitc.parse(source, base_dir=EXAMPLES)


def _float32_bound(ty, bound: float) -> float:
    """How far the float32 network's read-out of one instance can lie from its exact value: per
    layer, |error| <= |W|·error_below + γ·(|W|·|a| + |b|) (γ = (d+1)·u/(1 − (d+1)·u), the rounding of
    a sum of d products and a bias) + u·|a| (the ReLU output stored), from inputs of magnitude at
    most `bound` stored with relative error u; the ratio read-out divides the clean positions' sum
    by their exact count of ones, so its error is |R|·error_L (float64 roundings far below)."""
    d = ty.d
    gamma = (d + 1) * U32 / (1 - (d + 1) * U32)
    a = np.zeros(d)
    a[0] = 1.0
    a[ty.input_index] = bound
    err = np.zeros(d)
    err[ty.input_index] = U32 * bound
    for l, (W, b) in enumerate(zip(ty.weights, ty.biases)):
        a_new = np.maximum(np.abs(W) @ a + np.abs(b), 0.0)
        err = np.abs(W) @ err + gamma * (np.abs(W) @ a + np.abs(b)) + U32 * a_new
        a = a_new
        # In a clean position `one` is exactly 1 and `empty` (and at layer 1 `excess`) exactly 0:
        # small integers, computed without rounding.
        fixed = [0, 1, 2] if l == 0 else [0, 1]
        a[fixed], err[fixed] = [1.0, 0.0, 0.0][:len(fixed)], 0.0
    return float((np.abs(ty.readout) @ err).max())


@pytest.mark.parametrize("circuit,z,T,width", [("mlp_xor", 2, 2000, 1024), ("mlp_xor", 3, 3000, 2048),
                                                ("one_layer", 2, 800, 1024), ("two_layer", 3, 1500, 2048)])
def test_mlp_copies_share_positions_and_read_exactly(circuit, z, T, width):
    comp = compile_network(_spec(T, z, width, circuit), input_bound=3.0)
    assert comp.config.construction == "routed" and comp.allocation.lam >= 1      # shared positions
    assert comp.guarantee.exact and comp.budget.verdict == "guaranteed"
    assert "magnitude at most 3" in comp.guarantee.reason
    ty = comp.network.types[0]
    assert ty.normalized and ty.L >= 2                      # one-layer circuits get a carry layer
    tolerance = _float32_bound(ty, 3.0)
    assert tolerance < 1e-4
    for mode in ("random", "adversarial"):
        r = verify(comp, samples=3000, mode=mode, layer_errors=False)
        assert r["real_max_error"] <= tolerance, (mode, r["real_max_error"], tolerance)
        assert min(k for k, n in enumerate(r["routing"]["clean_positions"]) if n) >= r["routing"]["c0"]
    # Compression: more circuit neurons a layer than the network has.
    assert comp.report()["compression"] > 1


def test_the_lowering_alone_computes_the_circuit_and_a_collision_reads_zero():
    spec = _spec(4, 2, 512, "two_layer")
    circuit = spec.circuit("two_layer")
    ty = lower_routed_mlp(circuit, z=2, lam=1, input_bound=2.0)
    rng = np.random.default_rng(0)
    X = rng.uniform(-2, 2, size=(200, 2))

    def run(on, x):
        a = np.zeros((len(x), ty.d))
        a[:, 0] = on
        a[:, ty.input_index] = x
        for W, b in zip(ty.weights, ty.biases):
            a = np.maximum(a @ W.T + b, 0.0)
        return a

    clean = run(1.0, X)
    np.testing.assert_allclose(clean @ ty.readout.T, circuitc.evaluate_bits(circuit, X), atol=1e-12)
    assert np.all(clean[:, 0] == 1.0)
    # Two instances in one position, each within the bound: everything is wiped, `one` included.
    collided = run(2.0, X + rng.uniform(-2, 2, size=X.shape))
    assert np.all(collided == 0.0)
    with pytest.raises(ValueError, match="need an input bound"):
        lower_routed_mlp(circuit, z=2, lam=1)


def test_without_a_bound_the_refusal_says_how_to_share_positions():
    with pytest.raises(circuitc.CircuitError) as e:
        plan_network(_spec(2000, 2, 1024), construction="routed")
    assert "only on disjoint positions" in str(e.value) and "--input-bound B" in str(e.value)
    for bad in (0.0, -1.0, float("inf"), float("nan")):
        with pytest.raises(circuitc.CircuitError, match="input bound must be a finite number above 0"):
            plan_network(_spec(20, 2, 1024), input_bound=bad)
    with pytest.raises(circuitc.CircuitError, match="an input bound belongs to the routed construction"):
        plan_network(_spec(20, 2, 1024), input_bound=2.0, construction="coherent")


def test_artifacts_keep_the_ratio_read_out(tmp_path):
    comp = compile_network(_spec(600, 2, 512), input_bound=2.0)
    save(comp, tmp_path / "a")
    meta = json.loads((tmp_path / "a" / "network.json").read_text())
    assert meta["types"][0]["normalized"] is True and meta["config"]["input_bound"] == 2.0
    back = load(tmp_path / "a")
    assert back.network.types[0].normalized and back.guarantee.exact
    rng = np.random.default_rng(3)
    inst = np.stack([rng.permutation(600)[:2] for _ in range(50)])
    x = rng.uniform(-2, 2, size=(50, 2, 2))
    np.testing.assert_array_equal(back.network.run(inst, x), comp.network.run(inst, x))
    # A ratio read-out on a boolean type is refused.
    meta["types"][0]["kind"] = "boolean"
    (tmp_path / "a" / "network.json").write_text(json.dumps(meta))
    with pytest.raises(circuitc.CircuitError):
        load(tmp_path / "a")


def test_from_the_command_line(tmp_path, capsys):
    src = tmp_path / "m.circ"
    src.write_text('include "%s";\nnetwork n { use mlp_xor * 3000; active = 2; width = 1024; }\n'
                   % (EXAMPLES / "mlp_xor.circ"))
    out = ok(capsys, "compile", src, "-o", tmp_path / "net", "--input-bound", "2.5")
    assert "routed with the collision wipe" in out
    out = ok(capsys, "verify", tmp_path / "net", "--adversarial", "--samples", "1000")
    assert "MLP max error" in out
    rows = tmp_path / "rows.csv"
    rows.write_text("x[0],x[1]\n0.5,1\n3,0\n")
    err = fails(capsys, "verify", tmp_path / "net", "--input-rows", rows)
    assert "input row 2 holds 3, beyond the network's input bound 2.5" in err
    err = fails(capsys, "compile", src, "-o", tmp_path / "x", "--input-bound", "-1")
    assert "--input-bound must be a finite number above 0" in err


def test_the_self_contained_module_reads_the_ratio_too():
    """`module()` (one nn.Module, torch only) decodes as the network does."""
    import torch

    comp = compile_network(_spec(800, 2, 512), input_bound=2.0)
    rng = np.random.default_rng(5)
    inst = np.stack([rng.permutation(800)[:2] for _ in range(64)])
    x = rng.uniform(-2, 2, size=(64, 2, 2))
    module = comp.module()
    with torch.no_grad():
        got = module(torch.from_numpy(inst), torch.from_numpy(x)).numpy()
    want = comp.network.run(inst, x)
    np.testing.assert_allclose(got, want, atol=1e-5)
    exact = np.stack([circuitc.evaluate_bits(comp.circuits[0], x[:, k]) for k in range(2)], axis=1)
    np.testing.assert_allclose(got, exact, atol=1e-5)


# --------------------------------------------------------------------------------------------
# The promise in the language: `input_bound = B;` in a network (examples/mlp_copies.circ)

def test_the_example_promises_its_bound_in_the_network():
    spec = circuitc.load_spec(EXAMPLES / "mlp_copies.circ")
    assert spec.network("xor_copies").input_bound == 3
    comp = compile_network(spec)
    assert comp.config.input_bound == 3.0 and comp.config.construction == "routed" and comp.allocation.lam >= 1
    assert comp.budget.verdict == "guaranteed" and comp.report()["compression"] > 18
    tolerance = _float32_bound(comp.network.types[0], 3.0)
    for mode in ("random", "adversarial"):
        r = verify(comp, samples=2000, mode=mode, layer_errors=False)
        assert r["real_max_error"] <= tolerance, (mode, r["real_max_error"], tolerance)
    # The command line's bound replaces the network's.
    assert compile_network(spec, input_bound=1.5).config.input_bound == 1.5


def test_the_bound_prints_and_parses_back():
    spec = circuitc.load_spec(EXAMPLES / "mlp_copies.circ")
    text = circuitc.spec_to_circ(spec)
    assert "input_bound = 3;" in text
    assert circuitc.parse(text).network("xor_copies") == spec.network("xor_copies")


@pytest.mark.parametrize("value,message", [("0", r"`input_bound` \(the most any real input's magnitude is\)"),
                                           ('"3"', "takes an integer, not a string")])
def test_a_bound_out_of_range_is_refused_where_it_is_written(value, message):
    source = f'include "mlp_xor.circ";\nnetwork n {{ use mlp_xor * 10; active = 2; input_bound = {value}; }}\n'
    with pytest.raises(circuitc.CircuitError, match=message) as err:
        circuitc.parse(source, "n.circ", base_dir=EXAMPLES)
    assert err.value.diagnostics[0].span.line == 2
