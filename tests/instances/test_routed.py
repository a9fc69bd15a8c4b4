"""The routed construction: position-local layers on a z-cover-free polynomial code
(lower/routed.py, embed/allocate.py "polynomial", compile._plan_routed, assemble.assemble_routed)."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from cli_runs import ok
from safetensors.torch import load_file, save_file

import circuitc
from circuitc.active_sets import random_active
from circuitc.artifact import load, save
from circuitc.instances import compile_network, plan_network
from circuitc.instances.budget import budget
from circuitc.instances.constructions.routed import routed_capacity, routed_code
from circuitc.instances.embed.allocate import allocate_routed, polynomial_supports
from circuitc.instances.lower.routed import EMPTY, lower_routed
from circuitc.instances.lower.small_mlp import RoutedMLP, run_small
from circuitc.instances.verify import verify
from circuitc.interpret import evaluate_bits

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

SOURCE = """
include "ripple_adder.circ";
include "comparator.circ";
include "c17.bench";
circuit chain { in x[4]; out y[2];
    a = x[0] ^ x[1]; b = x[2] | ~x[3]; c = a & b; e = a ^ x[2]; y[0] = c | e; y[1] = c ^ ~e; }
circuit consts { in a, b; out p, q, r; p = ~(a & b); q = 1; r = a ^ 1; }
mlp absdiff { in x[2]; out y;
    layer relu { weights = [[1, -1], [-1, 1]]; bias = [0, 0]; }
    layer linear { weights = [[1, 1]]; } }
network pairs { use full_adder * 49; active = 2; width = 130; }
network triples { use chain * 60; active = 3; width = 350; }
network deep { use ripple_adder<4> * 3000; use comparator<4> * 2000; active = 2; width = 4096; }
network real { use absdiff * 900; active = 1; width = 256; }
network small { use c17 * 30; active = 2; width = 256; }
"""


@pytest.fixture(scope="module")
def spec():
    return circuitc.parse(SOURCE, base_dir=EXAMPLES)


def _positions(mlp, a0: np.ndarray) -> list[np.ndarray]:
    """Every layer of one position given its layer-0 vector (the sum of what was routed to it)."""
    out = [a0]
    for w, b in zip(mlp.weights, mlp.layer_biases()):
        out.append(np.maximum(out[-1] @ w.T + b, 0.0))
    return out


def _layer0(mlp, X: np.ndarray) -> np.ndarray:
    a0 = np.zeros((len(X), mlp.d))
    a0[:, 0] = 1.0
    a0[:, mlp.input_index] = X
    return a0


@pytest.mark.parametrize("name", ["full_adder", "c17", "chain", "consts", "ripple_adder<N=4>", "comparator<N=4>"])
@pytest.mark.parametrize("z,S,lam", [(1, 1, 0), (1, 2, 1), (2, 3, 1), (2, 5, 2), (3, 4, 1)])
def test_a_clean_position_computes_the_circuit(spec, name, z, S, lam):
    circuit = spec.circuit(name)
    mlp = lower_routed(circuit, z, S, lam)
    mlp.check()
    X = np.array(list(itertools.product([0, 1], repeat=len(circuit.input_bits))))
    if len(X) > 4096:
        X = X[np.random.default_rng(0).choice(len(X), 4096, replace=False)]
    want = evaluate_bits(circuit, X)
    got = run_small(mlp, X)
    c0 = S - lam * (z - 1)
    # One instance alone in each of its S positions reads S·f/c0: exact after scaling, 1 at z = 1.
    assert np.allclose(got * c0 / S, want)


@pytest.mark.parametrize("name", ["full_adder", "c17", "chain", "consts", "ripple_adder<N=4>"])
@pytest.mark.parametrize("z", [2, 3])
def test_collisions_are_wiped_and_empty_positions_say_so(spec, name, z):
    circuit = spec.circuit(name)
    mlp = lower_routed(circuit, z, z + 1, 1)
    rng = np.random.default_rng(1)
    n_in = len(circuit.input_bits)
    for k in range(2, z + 1):                         # k active instances routed to one position
        a0 = sum(_layer0(mlp, rng.integers(0, 2, (500, n_in))) for _ in range(k))
        layers = _positions(mlp, a0)
        for layer in layers[2:]:
            assert np.all(layer == 0), k
    empty = _positions(mlp, np.zeros((1, mlp.d)))[-1]
    assert empty[0, EMPTY] == 1 and np.count_nonzero(empty) == 1
    alone = _positions(mlp, _layer0(mlp, rng.integers(0, 2, (200, n_in))))[-1]
    assert np.all(alone[:, EMPTY] == 0)


def test_gates_cost_few_units(spec):
    # AND, OR, NAND: one unit; XOR2: two (its kink unit is shared with an AND of the same inputs).
    one = circuitc.parse("circuit g { in a, b; out x, y, n, s, c; x = a & b; y = a | b; n = ~(a & b);"
                         " s = a ^ b; c = a & b; }").circuit("g")
    mlp = lower_routed(one, 1, 1, 0)
    gate_units = np.count_nonzero(np.abs(mlp.weights[0][2:]).sum(axis=1))
    assert gate_units == 3          # ReLU(a + b − one), ReLU(one − a − b), ReLU(a + b)


@pytest.mark.parametrize("q,S,lam", [(5, 3, 1), (7, 5, 2), (11, 4, 1), (5, 5, 3)])
def test_polynomial_code_shares_at_most_lambda(q, S, lam):
    sup = polynomial_supports(q, S, lam, q ** (lam + 1))
    sets = [set(r) for r in sup.tolist()]
    assert len({frozenset(s) for s in sets}) == len(sets) and all(len(s) == S for s in sets)
    assert max(len(a & b) for a, b in itertools.combinations(sets, 2)) == lam
    assert sup.min() >= 0 and sup.max() < S * q
    assert not set().union(*sets[:q]) ^ set(sup[:q].ravel().tolist()) and len(set(sup[:q].ravel())) == q * S
    with pytest.raises(ValueError, match="exceed"):
        polynomial_supports(q, S, lam, q ** (lam + 1) + 1)


def test_the_code_is_the_smallest_that_holds_the_instances():
    assert routed_code((40,), 170, 3) == (1, 0)                  # a partition when T <= n
    assert routed_code((500,), 170, 2) == (3, 1)                 # 53² = 2809 lines of 3 positions
    assert routed_code((5000,), 170, 2) == (5, 2)                # 31³ = 29791 cubics... of 5 positions
    assert routed_code((500,), 170, 2, S=4) == (4, 1)            # a given S fixes λ = (S − 1) // z
    alloc = allocate_routed((30, 20), 170, 3, 1)
    assert alloc.lam == 1 and alloc.T == 50
    # two types never share a position
    assert not set(alloc.supports[:30].ravel()) & set(alloc.supports[30:].ravel())


def test_exhaustive_rows_at_z2_with_collisions(spec):
    comp = compile_network(spec, "pairs")
    assert comp.config.construction == "routed" and comp.network.S == 3 and comp.allocation.lam == 1
    assert len(np.unique(comp.network.supports[0])) < comp.network.T * comp.network.S   # supports meet
    result = verify(comp, mode="exhaustive")
    assert result["samples"] > 70_000 and result["bit_accuracy"] == 1.0 and result["instance_accuracy"] == 1.0


def test_z3_random_and_adversarial_rows_are_exact(spec):
    comp = compile_network(spec, "triples")
    assert comp.network.S == 4 and comp.guarantee.exact
    for mode in ("random", "adversarial"):
        result = verify(comp, samples=3000, seed=4, mode=mode)
        assert result["bit_accuracy"] == 1.0 and result["instance_accuracy"] == 1.0, mode
        assert result["layers"] == []


def test_deep_circuits_far_past_one_neuron_per_gate(spec):
    comp = compile_network(spec, "deep")
    rep = comp.report()
    assert rep["compression"] > 3 and comp.allocation.lam >= 1
    for mode in ("random", "adversarial"):
        result = verify(comp, samples=2000, seed=7, mode=mode, layer_errors=False)
        assert result["bit_accuracy"] == 1.0, mode


def test_inactive_instances_decode_to_zero(spec):
    comp = compile_network(spec, "small")
    net = comp.network
    rng = np.random.default_rng(3)
    active = np.array([[0, 1], [5, 29], [2, -1]])
    x = rng.integers(0, 2, (3, 2, net.n_in_max)).astype(float)
    with np.errstate(all="ignore"):
        A = net.model(net.encode(active, x))
    everyone = np.tile(np.arange(net.T), (3, 1))
    y = net.decode(A, everyone)
    for row in range(3):
        off = np.setdiff1d(np.arange(net.T), active[row])
        assert np.all(y[row, off] <= 0)


def test_budget_and_guarantee(spec, capsys):
    b = budget(spec, "deep")
    assert b.verdict == "guaranteed" and b.guarantee.exact and "routed" in b.guarantee.reason
    assert b.figures["construction"] == "routed" and b.as_dict()["layers"] == []
    out = ok(capsys, "budget", EXAMPLES / "adders_network.circ", "--active", "2")
    assert "construction" in out and "routed" in out and "no error terms" in out and ": guaranteed" in out


def test_auto_picks_the_construction(spec):
    assert plan_network(spec, "small").config.construction == "routed"
    assert plan_network(spec, "real").config.construction == "routed"             # an MLP circuit at z = 1
    assert plan_network(spec, "real", z=2).config.construction == "coherent"      # ... and at z = 2
    assert plan_network(spec, "small", allocation="affine").config.construction == "coherent"
    assert plan_network(spec, "small", construction="coherent").config.construction == "coherent"
    with pytest.raises(circuitc.CircuitError, match="MLP circuits at z = 2 only on disjoint positions"):
        plan_network(spec, "real", z=2, construction="routed")
    assert routed_capacity(spec.circuit("absdiff"), 256, 2) == (64, 1, 0)   # 256 // d, d = 4
    # ... which it gives them when they fit: S = 1, exact at any z
    few = plan_network(spec, "real", z=3, D=4096)
    assert (few.config.construction, few.config.S) == ("routed", 1)
    with pytest.raises(circuitc.CircuitError, match="reshuffling belongs to the coherent"):
        plan_network(spec, "small", construction="routed", shuffle=True)


def test_artifact_round_trip_and_determinism(spec, tmp_path):
    comp = compile_network(spec, "small")
    save(comp, tmp_path / "a")
    save(compile_network(spec, "small"), tmp_path / "b")
    assert ((tmp_path / "a" / "weights.safetensors").read_bytes()
            == (tmp_path / "b" / "weights.safetensors").read_bytes())
    loaded = load(tmp_path / "a")
    assert loaded.config.construction == "routed" and loaded.allocation.lam == comp.allocation.lam
    assert all(isinstance(ty, RoutedMLP) for ty in loaded.network.types) and loaded.guarantee.exact
    rows = np.array([[3, 4], [7, -1]])
    x = np.random.default_rng(0).integers(0, 2, (2, 2, comp.network.n_in_max)).astype(float)
    assert np.array_equal(loaded.network.run(rows, x), comp.network.run(rows, x), equal_nan=True)
    meta = json.loads((tmp_path / "a" / "network.json").read_text())
    assert meta["version"] == 4 and meta["config"]["construction"] == "routed"


def test_cli_compile_and_verify_routed(tmp_path, capsys):
    out = ok(capsys, "compile", EXAMPLES / "adders_network.circ", "-o", tmp_path / "net", "--active", "2")
    assert "routed" in out and "guaranteed exact" in out
    out = ok(capsys, "verify", tmp_path / "net", "--adversarial", "--samples", "2000", "--plot", tmp_path / "r.png")
    # adversarial rows pair instances that share a position: each keeps exactly the code's least, 2
    assert "bit accuracy" in out and "routing: active instances by clean positions" in out
    assert "2: 4000; the code guarantees at least 2" in out and (tmp_path / "r.png").stat().st_size > 10_000
    record = json.loads(ok(capsys, "verify", tmp_path / "net", "--samples", "2000", "--json"))
    assert record["bit_accuracy"] == 1.0 and record["layers"] == []
    counts = record["routing"]["clean_positions"]
    assert sum(counts) >= 2000 and not any(counts[:record["routing"]["c0"]])   # random rows: mostly 3 clean


def test_mlp_circuits_at_z1_are_exact_where_the_coherent_construction_is_not(spec):
    # 900 instances in D = 256: routed positions hold one instance each at z = 1, so real values
    # come out exact; coherent neighbours read fractions of them and pass the error on.
    routed = compile_network(spec, "real")
    assert routed.config.construction == "routed" and routed.guarantee.exact and routed.network.S >= 2
    assert len(np.unique(routed.network.supports[0])) < routed.network.T * routed.network.S   # shared
    for mode in ("random", "adversarial"):
        assert verify(routed, samples=2000, seed=2, mode=mode)["real_max_error"] < 1e-5, mode
    coherent = compile_network(spec, "real", construction="coherent", S=2, allocation="affine")
    assert verify(coherent, samples=2000, seed=2)["real_rms_error"] > 1
    mlp = routed.network.types[0]
    X = np.random.default_rng(0).normal(size=(100, 2))
    assert np.allclose(run_small(mlp, X)[:, 0], np.abs(X[:, 0] - X[:, 1]))


def test_clean_positions_counts_what_other_active_instances_share():
    from circuitc.instances.constructions.routed import clean_positions

    sup = np.array([[0, 1, 2], [2, 3, 4], [5, 6, 7], [0, 3, 8]])
    rows = np.array([[0, 1], [0, 2], [0, 3], [1, -1]])
    # 0 & 1 share 2; 0 & 2 nothing; 0 & 3 share 0; 1 alone
    assert clean_positions(sup, rows, 3).tolist() == [0, 0, 4, 3]


def test_many_types_are_refused_by_the_positions_their_ranges_need():
    """Each circuit type takes its own range of positions: 60 different circuits at z = 2 need 60
    positions at degree 0, and the refusal names that limit (not a code's capacity) with the width
    that lifts it; at that width they compile, exactly."""
    ops = ["&", "|", "^"]
    parts = [f"circuit c{k} {{ in a[3]; out y; y = (a[{k % 3}] {ops[k % 3]} a[{(k + 1) % 3}]) "
             f"{ops[(k // 3) % 3]} a[{(k // 9) % 3}]; }}" for k in range(60)]
    uses = " ".join(f"use c{k} * 1;" for k in range(60))
    spec = circuitc.parse("\n".join(parts) + f"\nnetwork many {{ {uses} active = 2; width = 128; }}\n")
    # Before lowering anything: 60 ranges of at least one position of 1 + 3 units need D >= 240.
    with pytest.raises(circuitc.CircuitError) as e:
        plan_network(spec, construction="routed")
    assert "narrower than 60 circuit types need" in str(e.value) and "D holds at most 32 ranges" in str(e.value)
    with pytest.raises(circuitc.CircuitError) as e:
        plan_network(spec, construction="routed", D=250)
    text = str(e.value)
    assert "narrower than 60 circuit types need" in text and "need at least 60 positions" in text
    wide = int(re.search(r"raise the width D to at least (\d+)", text).group(1))
    comp = compile_network(spec, D=wide, construction="routed")
    assert comp.guarantee.exact and verify(comp, samples=500, mode="adversarial")["bit_accuracy"] == 1.0


def test_routed_layers_are_position_blocks_equal_to_their_dense_export(tmp_path):
    """A routed layer is stored as the types' d × d blocks per position: its dense export puts
    w_type[i, j] at (i·n + k, j·n + k) for every position k the type uses and nothing elsewhere,
    the compact and dense networks compute the same outputs, and the artifact stores no D × D layer."""
    from circuitc.instances.artifact import tensors as artifact_tensors
    from circuitc.instances.assemble import PositionLocal

    spec = circuitc.parse('include "ripple_adder.circ";\nnetwork mixed { use ripple_adder<N=4> * 200; '
                          'use full_adder * 100; active = 3; width = 2048; }', base_dir=EXAMPLES)
    comp = compile_network(spec)
    net = comp.network
    assert all(isinstance(m, PositionLocal) for m in net.linears())
    position_type = np.full(net.n, -1)
    position_type[net.supports[0].ravel()] = np.repeat(net.type_of, net.S)
    for l, (W, b) in enumerate(net.dense_layers()):
        want = np.zeros((net.D, net.D), dtype=np.float32)
        bias = np.zeros(net.D, dtype=np.float32)
        for k in np.flatnonzero(position_type >= 0):          # a slow loop, independent of the code
            ty = net.types[position_type[k]]
            rows = np.arange(net.d) * net.n + k
            want[np.ix_(rows, rows)] = ty.weights[l]
            bias[rows] = ty.layer_biases()[l]
        assert np.array_equal(W.numpy(), want) and np.array_equal(b.numpy(), bias)
    rng = np.random.default_rng(2)
    inst = random_active(net.T, 3, 256, rng)
    x = net.encode(inst, rng.integers(0, 2, (256, 3, net.n_in_max)).astype(float))
    with torch.no_grad():
        assert torch.equal(net.model(x), net.to_dense()(x))        # small integers: exact either way
    parameters = sum(p.numel() for p in net.model.parameters())
    assert parameters == net.L * (len(net.types) + 1) * (net.d * net.d + net.d) and parameters * 100 < net.D ** 2
    assert not any(key.startswith("layers.") for key in artifact_tensors(comp))


def test_a_format_3_routed_artifact_with_dense_layers_still_loads(tmp_path):
    spec = circuitc.parse('include "ripple_adder.circ";\nnetwork n { use full_adder * 60; active = 2; '
                          'width = 256; }', base_dir=EXAMPLES)
    comp = compile_network(spec)
    circuitc.save(comp, tmp_path / "net")
    # Format 3: dense layer tensors, and the routing tables as JSON lists in network.json.
    tensors = load_file(str(tmp_path / "net" / "weights.safetensors"))
    for l, (W, b) in enumerate(comp.network.dense_layers()):
        tensors[f"layers.{l}.weight"], tensors[f"layers.{l}.bias"] = W.contiguous(), b.contiguous()
    base, perms = tensors.pop("allocation.supports"), tensors.pop("permutations")
    save_file(tensors, str(tmp_path / "net" / "weights.safetensors"))
    meta = json.loads((tmp_path / "net" / "network.json").read_text())
    meta["version"] = 3
    del meta["hashes"]              # format 3 predates the hashes (and the tensors changed)
    meta["allocation"]["supports"] = base.tolist()
    meta["permutations"] = perms.tolist()
    meta["supports"] = base[perms].tolist()
    (tmp_path / "net" / "network.json").write_text(json.dumps(meta))
    loaded = circuitc.load(tmp_path / "net")
    assert verify(loaded, samples=500, mode="adversarial")["bit_accuracy"] == 1.0
