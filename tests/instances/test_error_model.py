"""The per-layer error model (circuitc/error_model.py): fields on hand-made graphs, the regime it
claims, its agreement with verify where it is exact, and math.md's formulas beside it."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import numpy as np
import pytest

import circuitc
from circuitc.instances import compile_network, plan_network
from circuitc.instances.error_model import SupportGraph, circuit_stats, coherent_domain, predict, rows_at_risk
from circuitc.instances.verify import verify

SOURCE = """
circuit chain { in x[4]; out y[2];
    a = x[0] ^ x[1]; b = x[2] | ~x[3]; c = a & b; e = a ^ x[2]; y[0] = c | e; y[1] = c ^ ~e; }
network small { use chain * 5; active = 2; width = 512; construction = "coherent"; }
network one { use chain * 200; active = 1; width = 512; construction = "coherent"; }
network two { use chain * 150; active = 2; width = 1024; construction = "coherent"; }
"""

MLP = """
mlp absdiff { in x[2]; out y;
    layer relu { weights = [[1, -1], [-1, 1]]; bias = [0, 0]; }
    layer linear { weights = [[1, 1]]; } }
network m { use absdiff * 60; active = 1; width = 64; construction = "coherent"; }
"""


@pytest.fixture(scope="module")
def spec():
    return circuitc.parse(SOURCE)


def path_plan(spec):
    """Five instances: 0-1-2-3 a path (consecutive ones share one neuron), 4 alone; every layer alike."""
    plan = plan_network(spec, "small", S=2)
    sup = np.array([[0, 1], [1, 2], [2, 3], [3, 4], [6, 7]])
    return replace(plan, supports=np.broadcast_to(sup, (plan.L + 1,) + sup.shape).copy(), n=8)


def test_fields_spread_one_hop_per_layer(spec):
    plan = path_plan(spec)
    assert plan.L >= 3
    p = predict(plan)
    assert p.exact and p.model == "coherent"
    reached = [layer.pairs_reached for layer in p.layers]
    # Ordered pairs of distinct instances: 20. Layer l reaches the instances within l + 1 hops.
    assert reached[:4] == [6 / 20, 10 / 20, 12 / 20, 12 / 20]
    assert p.layers[0].rows_at_risk == pytest.approx(rows_at_risk(6 / 20, 2))


def test_graph_products_dense_and_sparse_agree(spec):
    plan = plan_network(spec, "two")
    dense, sparse = SupportGraph(plan.supports, plan.n), SupportGraph(plan.supports, plan.n)
    sparse.dense = False
    assert dense.dense
    rng = np.random.default_rng(0)
    held = rng.random((7, plan.n)) < 0.2
    counts = rng.integers(0, 3, (7, plan.T)).astype(np.float32)
    np.testing.assert_array_equal(dense.read(1, held), sparse.read(1, held))
    np.testing.assert_array_equal(dense.write(1, counts), sparse.write(1, counts))
    # read counts each instance's held blocks; write sums over each block's writers.
    sup = plan.supports[1]
    assert dense.read(1, held)[2, 5] == held[2, sup[5]].sum()
    block = sup[3, 0]
    assert dense.write(1, counts)[4, block] == counts[4, (sup == block).any(axis=1)].sum()


def test_z1_prediction_matches_verify(spec):
    """One active instance: the field model is exact, so only sampling separates it from verify."""
    plan = plan_network(spec, "one")
    p = predict(plan)
    result = verify(compile_network(spec, "one"), samples=3000, seed=4)
    for pred, meas in zip(p.layers, result["layers"]):
        assert pred.active_rms == pytest.approx(meas["active_rms"], rel=0.05, abs=1e-6)
        assert pred.inactive_rms == pytest.approx(meas["inactive_rms"], rel=0.1, abs=1e-6)
        assert pred.inactive_pair_rms == pytest.approx(meas["inactive_pair_rms"], rel=0.1, abs=1e-6)
        assert pred.active_pair_rms == 0 and meas["active_pair_rms"] < 1e-4
        assert meas["inactive_max"] <= pred.inactive_max + 1e-3       # the largest read-off over all patterns
    assert p.layers[-1].instances_wrong == 0


def test_z2_estimate_is_of_the_measured_order(spec):
    plan = plan_network(spec, "two")
    p = predict(plan)
    result = verify(compile_network(spec, "two"), samples=6000, seed=5)
    wrong = 1 - result["instance_accuracy"]
    assert wrong > 0 and 0.33 <= p.layers[-1].instances_wrong / wrong <= 3
    # The light-cone figure bounds it from above.
    assert p.layers[-1].rows_at_risk >= wrong
    for pred, meas in zip(p.layers, result["layers"]):
        assert 0.5 <= pred.inactive_rms / meas["inactive_rms"] <= 2
        assert 0.5 <= pred.values_wrong / meas["active_values_wrong"] <= 2


def test_math_md_formulas_stand_beside(spec):
    plan = plan_network(spec, "two")
    p = predict(plan)
    stats = circuit_stats(plan.types[0].padded(plan.d, plan.L))
    zbar = (plan.config.z + 1) / 2
    ea2 = (stats.values[0] ** 2).mean()
    assert p.layers[0].paper_inactive_rms == pytest.approx(math.sqrt(zbar / plan.n * ea2))
    assert p.layers[0].paper_worst == pytest.approx(plan.config.z / plan.config.S * np.abs(stats.values[0]).max())
    # In this regime the papers' terms miss: copies make the read-offs several times larger.
    assert p.layers[-1].inactive_rms > 3 * p.layers[-1].paper_inactive_rms
    assert p.layers[-1].active_rms > 3 * p.layers[-1].paper_active_rms


def test_outside_the_regime_math_md_stands_in():
    spec = circuitc.parse(MLP)
    plan = plan_network(spec)
    ok, why = coherent_domain(plan)
    assert not ok and "MLP" in why
    p = predict(plan)
    assert p.model == "paper"
    assert all(layer.active_pair_rms is None and layer.values_wrong is None for layer in p.layers)
    assert p.layers[-1].active_rms == p.layers[-1].paper_active_rms
    json.dumps(p.as_dict(), allow_nan=False)                            # no NaN in the JSON


def test_deterministic_and_sampled(spec):
    plan = plan_network(spec, "two")
    a, b = predict(plan, seed=3), predict(plan, seed=3)
    assert a == b
    sampled = predict(plan, sources=64, seed=1)
    assert not sampled.exact and sampled.sources == 64
    assert sampled.layers[-1].inactive_rms == pytest.approx(a.layers[-1].inactive_rms, rel=0.25)


def test_override_ratio_is_at_least_one(spec):
    plan = plan_network(spec, "two")
    stats = circuit_stats(plan.types[0])
    assert 1 <= stats.override < 10
