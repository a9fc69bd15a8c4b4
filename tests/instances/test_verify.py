"""The verifier's row choices (random, adversarial, exhaustive) and its per-output figures."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

import circuitc
from circuitc.active_sets import random_active
from circuitc.instances.compile import compile_network
from circuitc.instances.verify import (
    Overlaps,
    _exhaustive_batches,
    _probe_inactive,
    _read_off,
    exhaustive_rows,
    sample_adversarial,
    sample_inputs,
    verify,
)

SOURCE = """
circuit full_adder { in a, b, cin; out s, cout; s = xor(a, b, cin); cout = maj(a, b, cin); }
circuit halves {
    in a, b, cin; out s, cout;
    p = a ^ b; g = a & b; s = p ^ cin; t = p & cin; cout = g | t;
}
circuit gates { in a, b; out y, z; y = a & ~b; z = a | b; }
mlp tiny { in x[2]; out y; layer relu { weights = [[1, -1], [-1, 1]]; } layer linear { weights = [[1, 1]]; } }
network thirty { use full_adder * 18; use halves * 12; active = 3; width = 160; seed = 1; }
network crowded { use full_adder * 1000; active = 2; width = 1024; construction = "coherent"; }
network small { use full_adder * 6; use gates * 6; active = 2; width = 512; seed = 3; }
network four { use full_adder * 4; active = 2; width = 512; }
network pairs { use full_adder * 2; use gates * 2; active = 2; width = 512; }
network mixed { use full_adder * 4; use tiny * 4; active = 1; width = 512; redundancy = 4; }
"""


@pytest.fixture(scope="module")
def spec():
    return circuitc.parse(SOURCE)


@pytest.fixture(scope="module")
def thirty(spec):
    return compile_network(spec, "thirty")


def slow_overlaps(supports: np.ndarray) -> np.ndarray:
    """overlap(t, u) = Σ_l |supports[l, t] ∩ supports[l, u]|, with Python sets."""
    _, T, _ = supports.shape
    sets = [[set(supports[l, t].tolist()) for t in range(T)] for l in range(supports.shape[0])]
    return np.array([[sum(len(layer[t] & layer[u]) for layer in sets) for u in range(T)] for t in range(T)])


# ---------------------------------------------------------------- adversarial


def random_supports(layers: int, T: int, n: int, S: int, seed: int) -> np.ndarray:
    """(layers, T, S) supports of S distinct neurons in [0, n) each: many overlap values, many ties."""
    rng = np.random.default_rng(seed)
    return np.argsort(rng.random((layers, T, n)), axis=2)[:, :, :S]


def supports_of(kind: str, thirty) -> tuple[np.ndarray, int]:
    if kind == "compiled":
        return thirty.network.supports, thirty.network.n
    return random_supports(4, 30, 12, 3, seed=7), 12


@pytest.mark.parametrize("dense", [True, False])
@pytest.mark.parametrize("kind", ["compiled", "random"])
def test_overlaps_match_a_set_reference(thirty, kind, dense):
    supports, n = supports_of(kind, thirty)
    T = supports.shape[1]
    ref = slow_overlaps(supports)
    overlaps = Overlaps(supports, n, dense=dense)
    assert overlaps.dense is dense and T == 30
    assert np.array_equal(overlaps.matrix(np.arange(T)), ref)
    targets = np.array([3, 3, 17])
    rows, u, c = overlaps.pairs(targets)
    assert not np.any(u == targets[rows])                                # no self-overlaps
    assert np.all(c > 0) and np.array_equal(c, ref[targets[rows], u])
    assert (np.count_nonzero(ref[targets], axis=1) - 1).tolist() == np.bincount(rows, minlength=3).tolist()


@pytest.mark.parametrize("dense", [True, False])
@pytest.mark.parametrize("kind", ["compiled", "random"])
def test_adversarial_partners_are_the_top_overlaps(thirty, kind, dense):
    supports, n = supports_of(kind, thirty)
    T, z = supports.shape[1], 3
    ref = slow_overlaps(supports)
    inst = sample_adversarial(Overlaps(supports, n, dense=dense), z, 3000, np.random.default_rng(0))
    assert inst.shape == (3000, z) and inst.min() >= 0
    assert all(len(set(row.tolist())) == z for row in inst)
    assert len(set(inst[:, 0].tolist())) == T                            # uniform targets reach all
    ties = 0
    chosen: dict[int, set] = {}
    for row in inst:
        t, partners = int(row[0]), row[1:]
        others = np.delete(ref[t], t)
        top = np.sort(others)[::-1][:z - 1]
        # The partners' overlaps are the top z - 1 values, listed largest first.
        assert ref[t, partners].tolist() == top.tolist()
        if (others >= top[-1]).sum() > z - 1:                           # the last place is a tie
            ties += 1
            chosen.setdefault(t, set()).add(frozenset(partners.tolist()))
    if kind == "random":
        assert len(np.unique(ref)) >= 4                                  # several overlap levels
        # Ties occur and are broken differently from row to row.
        assert ties > 100 and all(len(sets) > 1 for sets in chosen.values() if len(sets) > 0)


def test_adversarial_fills_from_zero_overlaps(spec):
    # Disjoint supports: every overlap is 0, so partners are uniform draws among the other instances.
    comp = compile_network(spec, "small", S=3, allocation="affine")
    net = comp.network
    overlaps = Overlaps(net.supports, net.n)
    assert np.array_equal(overlaps.matrix(np.arange(net.T)), np.diag(np.full(net.T, overlaps.matrix([0])[0, 0])))
    inst = sample_adversarial(overlaps, 2, 4000, np.random.default_rng(1))
    assert (inst[:, 0] != inst[:, 1]).all() and inst.min() >= 0
    assert set(inst[:, 1].tolist()) == set(range(net.T))
    assert sample_adversarial(overlaps, 1, 10, np.random.default_rng(1)).shape == (10, 1)


def test_adversarial_rows_are_no_easier_than_random(spec):
    comp = compile_network(spec, "crowded")
    random = verify(comp, samples=2000, seed=0)
    adversarial = verify(comp, samples=2000, seed=0, mode="adversarial")
    assert adversarial["mode"] == "adversarial" and adversarial["samples"] == 2000
    assert adversarial["bit_accuracy"] < random["bit_accuracy"] < 1.0
    worst = adversarial["worst_instances"]
    assert all(w["targeted"] >= 0 for w in worst) and all(w["targeted"] is None for w in random["worst_instances"])


def test_disjoint_supports_are_exact_in_every_mode(spec):
    comp = compile_network(spec, "small", S=3, allocation="affine")
    for mode in ("random", "adversarial"):
        result = verify(comp, samples=1500, seed=2, mode=mode)
        assert result["bit_accuracy"] == 1.0 and result["instance_accuracy"] == 1.0, mode


# ---------------------------------------------------------------- exhaustive


def test_exhaustive_checks_every_set_and_input(spec):
    comp = compile_network(spec, "four")
    rows = 4 * 2 ** 3 + math.comb(4, 2) * 2 ** 6
    assert exhaustive_rows(comp) == [4 * 8, 6 * 64]
    seen = set()
    for inst, x in _exhaustive_batches(comp, 37):
        for r in range(len(inst)):
            live = inst[r] >= 0
            seen.add((tuple(inst[r][live].tolist()), tuple(x[r][live].ravel().tolist())))
            assert not x[r][~live].any()
    expected = {(s, bits) for k in (1, 2) for s in itertools.combinations(range(4), k)
                for bits in itertools.product((0.0, 1.0), repeat=3 * k)}
    assert len(seen) == rows and seen == expected
    result = verify(comp, mode="exhaustive", batch=100, samples=5)
    assert result["mode"] == "exhaustive" and result["samples"] == rows
    # Every instance sits in 8 single rows and 3 · 64 pair rows, two output bits each.
    assert sorted(w["bits"] for w in result["worst_instances"]) == [400] * 4
    assert 0.0 <= result["bit_accuracy"] <= 1.0
    assert result == verify(comp, mode="exhaustive", batch=1024, samples=5)


def test_exhaustive_counts_mixed_types(spec):
    comp = compile_network(spec, "pairs")
    assert exhaustive_rows(comp) == [2 * 8 + 2 * 4, 64 + 16 + 2 * 2 * 32]
    total = sum(len(i) for i, _ in _exhaustive_batches(comp, 50))
    assert total == 232 and verify(comp, mode="exhaustive")["samples"] == 232


def test_exhaustive_refusals(spec):
    with pytest.raises(circuitc.CircuitError, match=r"needs 416 rows \(C\(4,1\)·2\^3 \+ C\(4,2\)·2\^6\); "
                                                     r"use --samples instead") as e:
        verify(compile_network(spec, "four"), mode="exhaustive", max_rows=415)
    assert "at most 415 rows" in str(e.value)
    with pytest.raises(circuitc.CircuitError, match=r"needs 31,976,000 rows \(C\(1000,1\)·2\^3 \+ C\(1000,2\)·2\^6\)"):
        verify(compile_network(spec, "crowded"), mode="exhaustive")
    with pytest.raises(circuitc.CircuitError, match=r"needs 232 rows \(24 with 1 active \+ 208 with 2 active\)"):
        verify(compile_network(spec, "pairs"), mode="exhaustive", max_rows=100)
    with pytest.raises(circuitc.CircuitError, match="`tiny` is an MLP circuit"):
        verify(compile_network(spec, "mixed"), mode="exhaustive")
    with pytest.raises(ValueError, match="mode must be one of"):
        verify(compile_network(spec, "four"), mode="worst")


# ---------------------------------------------------------------- figures


def test_per_output_accuracy(spec):
    comp = compile_network(spec, "crowded")
    result = verify(comp, samples=1500, seed=4)
    assert list(result["per_output"]) == ["full_adder"]
    outputs = result["per_output"]["full_adder"]
    assert [bit for bit, _ in outputs] == ["s", "cout"]
    assert all(0.0 <= a <= 1.0 for _, a in outputs)
    # Every active instance checks both bits, so the circuit's accuracy is their mean.
    assert result["per_circuit"]["full_adder"] == pytest.approx(sum(a for _, a in outputs) / 2)
    mixed = verify(compile_network(spec, "mixed"), samples=500, seed=4)["per_output"]
    assert mixed == {"full_adder": [("s", 1.0), ("cout", 1.0)], "tiny": [("y", None)]}


def test_layer_errors_can_be_skipped_without_changing_accuracy(spec):
    comp = compile_network(spec, "crowded")
    full = verify(comp, samples=1200, batch=500, seed=5)
    bare = verify(comp, samples=1200, batch=500, seed=5, layer_errors=False)
    assert bare["layers"] == [] and len(full["layers"]) == comp.network.L + 1
    assert {k: v for k, v in bare.items() if k != "layers"} == {k: v for k, v in full.items() if k != "layers"}


def test_fused_read_offs_equal_the_network_read_offs(spec):
    comp = compile_network(spec, "crowded")
    net = comp.network
    rng = np.random.default_rng(6)
    inst = random_active(net.T, 2, 300, rng)
    x = sample_inputs(comp, inst, rng)
    both = np.concatenate([inst, _probe_inactive(net.T, inst, rng)], axis=1)
    with torch.no_grad():
        acts = net.forward_layers(net.encode(inst, x))
    for layer, A in enumerate(acts):
        assert np.array_equal(_read_off(net, A, layer, both), net.readout(A, layer, both), equal_nan=True)
    ahat = _read_off(net, acts[-1], net.L, both)[:, :2]
    assert np.array_equal(net.outputs(ahat, inst), net.decode(acts[-1], inst), equal_nan=True)
