"""U-AND layers (circuitc/uand.py) and their width model (circuitc/uand_theory.py)."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import numpy as np
import pytest
from scripts import load_script

from circuitc.active_sets import exactly_active
from circuitc.errors import CircuitError
from circuitc.features.uand import build_uand, pair_errors, uand_layer
from circuitc.features.uand_theory import best_p, expected_exceedances, uand_width

ROOT = Path(__file__).resolve().parents[2]


def brute_force_errors(layer, active):
    """Every pair's read-off on every row, from the read-off vectors: the definition."""
    pairs = np.array(list(itertools.combinations(range(layer.m), 2)))
    R = layer.readout(pairs)                                                   # (P, d)
    h = layer.hidden(layer.encode(active))
    read = h @ R.T                                                             # (rows, P)
    on = np.zeros((len(active), layer.m), dtype=bool)
    on[np.arange(len(active))[:, None], active] = True
    a, b = on[:, pairs[:, 0]], on[:, pairs[:, 1]]
    err = np.abs(read - (a & b))
    return {"both_on": err[a & b].max(initial=0), "one_on": err[a ^ b].max(initial=0),
            "none_on": err[~a & ~b].max(initial=0)}


def test_what_a_neuron_reads():
    # One feature on: no neuron reaches its threshold, every AND reads 0, and every AND is 0.
    layer = build_uand(12, 200, 0.5, seed=3)
    got = pair_errors(layer, exactly_active(12, 1, 50, np.random.default_rng(0)), none_pairs=66)
    assert got["worst"] == 0 and got["unreadable_pairs"] == 0
    # p = 1: every neuron reads every feature, so it computes the AND of whichever two are on,
    # and a pair with one feature on reads 1: the wiring must be sparse to tell pairs apart.
    dense = build_uand(12, 5, 1.0, seed=3)
    got = pair_errors(dense, exactly_active(12, 2, 50, np.random.default_rng(0)), none_pairs=66)
    assert got["both_on"] == 0 and got["one_on"] == 1 and got["none_on"] == 1


def test_pair_errors_match_the_definition():
    layer = build_uand(24, 400, 0.3, seed=1)
    active = exactly_active(24, 3, 40, np.random.default_rng(2))
    got = pair_errors(layer, active, none_pairs=4096, batch=16)
    want = brute_force_errors(layer, active)
    assert got["both_on"] == pytest.approx(want["both_on"], abs=1e-5)
    assert got["one_on"] == pytest.approx(want["one_on"], abs=1e-5)
    assert got["none_on"] <= want["none_on"] + 1e-5 and got["none_on"] > 0   # a sample of the none-on pairs
    assert got["worst"] == max(got["both_on"], got["one_on"], got["none_on"])


def test_readout_biases_follow_math_md():
    # Both on: 1 + (s − 2)·p; one on: (s − 1)·p (math.md §2.1), on average over pairs and rows.
    m, s, p = 40, 4, 0.2
    layer = build_uand(m, 6000, p, seed=5)
    active = exactly_active(m, s, 300, np.random.default_rng(6))
    h = layer.hidden(layer.encode(active))
    alpha, beta = active[:, 0], active[:, 1]
    free = ~(np.arange(m)[None, :, None] == active[:, None, :]).any(axis=2)      # (rows, m): off features
    off = free.argmax(axis=1)
    both = np.einsum("rd,rd->r", h, layer.readout(np.stack([alpha, beta], 1)))
    one = np.einsum("rd,rd->r", h, layer.readout(np.stack([alpha, off], 1)))
    assert both.mean() == pytest.approx(1 + (s - 2) * p, abs=0.03)
    assert one.mean() == pytest.approx((s - 1) * p, abs=0.03)


def test_superposed_inputs_add_interference():
    m, s, d = 200, 3, 3000
    basis = build_uand(m, d, 0.05, seed=4)
    sup = build_uand(m, d, 0.05, seed=4, d0=100)
    assert sup.d0 == 100 and sup.read_in().shape == (d, 100)
    np.testing.assert_allclose(np.linalg.norm(sup.embedding, axis=0), 1, rtol=1e-5)
    active = exactly_active(m, s, 200, np.random.default_rng(1))
    pre_b = basis.encode(active) @ basis.read_in().T
    pre_s = sup.encode(active) @ sup.read_in().T
    noise = (pre_s - pre_b).std()
    assert noise == pytest.approx(math.sqrt(s * 0.05 * m / 100), rel=0.2)    # σ² = s·p·m/d0


def test_deterministic():
    a, b = build_uand(50, 300, 0.1, seed=9, d0=40), build_uand(50, 300, 0.1, seed=9, d0=40)
    assert np.array_equal(a.wiring, b.wiring) and np.array_equal(a.embedding, b.embedding)
    assert not np.array_equal(a.wiring, build_uand(50, 300, 0.1, seed=10).wiring)


def test_bad_requests_are_refused_with_the_numbers():
    with pytest.raises(CircuitError) as e:
        build_uand(1, 0, 1.5)
    text = str(e.value)
    assert "m = 1" in text and "d = 0" in text and "p = 1.5" in text
    with pytest.raises(CircuitError, match="k = 1"):
        build_uand(10, 10, 0.5, k=1)


def test_width_model():
    # More features, a smaller error or more inputs on each ask for more width; the model is
    # a bound, so its prediction passes a measurement.
    base = uand_width(64, 3, 0.5, 500)
    assert uand_width(1024, 3, 0.5, 500).d >= base.d
    assert uand_width(64, 3, 0.25, 500).d > base.d and uand_width(64, 4, 0.5, 500).d > base.d
    assert uand_width(64, 3, 0.5, 500, superposed=True).d >= base.d
    assert base.paper_d == math.ceil(9 * math.log(64) / 0.25)
    assert expected_exceedances(64, 3, base.d, base.p, 0.5, 500) <= 0.5
    layer = build_uand(64, base.d, base.p, seed=0)
    got = pair_errors(layer, exactly_active(64, 3, 500, np.random.default_rng(1)))
    assert got["worst"] <= 0.5 and got["unreadable_pairs"] == 0
    assert 0 < best_p(64, 3, base.d, 0.5, 500) <= 1


def test_capacity_benchmark_runs(capsys):
    module = load_script("benchmarks/uand_capacity.py", register=True)
    module.main(["--m", "16", "32", "--rows", "300", "--eps", "0.5"])
    out = json.loads(capsys.readouterr().out)
    for r in out["results"]:
        assert r["measured_d"] is not None and r["naive_d"] == math.comb(r["m"], 2)
        passing = [p for p in r["probes"] if p["passed"]]
        failing = [p for p in r["probes"] if not p["passed"]]
        assert passing and failing and min(p["d"] for p in passing) > max(p["d"] for p in failing)
    assert out["exponent_measured"] is not None


def test_defaults_come_from_the_model_and_can_be_overridden():
    layer, chosen = uand_layer(48, 3, 0.5, trials=300)
    want = uand_width(48, 3, 0.5, 300)
    assert (layer.d, layer.p) == (want.d, want.p) and chosen["d"]["from"] == "width model"
    layer, chosen = uand_layer(48, 3, 0.5, trials=300, d=5000)
    assert layer.d == 5000 and chosen["d"]["from"] == "given" and chosen["p"]["from"] == "width model at the given d"
    layer, chosen = uand_layer(48, 3, 0.5, trials=300, d=5000, p=0.1, superposed=True)
    assert (layer.d, layer.p, layer.d0) == (5000, 0.1, 5000) and chosen["p"]["from"] == "given"
