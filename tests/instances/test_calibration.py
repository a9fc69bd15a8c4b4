"""Calibration of the static budget against verify (benchmarks/calibration.py).

The claims: a `guaranteed` verdict is never contradicted, by 10^5 adversarial rows; where the
verdict is `expected`, every predicted per-layer RMS is within a factor of 2 of the measured one.
The default run checks them on small networks of each kind; the whole suite (the table of
docs/budget.md) runs with `-m slow`.
"""

from __future__ import annotations

import json
import math

import pytest
from scripts import load_script


@pytest.fixture(scope="module")
def calibration():
    return load_script("benchmarks/calibration.py", register=True)


def run(calibration, case, samples=4000, adversarial=512, guaranteed_rows=100_000):
    return calibration.run_case(case, samples, adversarial, guaranteed_rows)


def test_guaranteed_verdicts_survive_1e5_adversarial_rows(calibration):
    Case = calibration.Case
    for case in (Case("partition", (("full_adder", 51),), 1024, 2),
                 Case("z1", (("random4", 300),), 512, 1)):
        r = run(calibration, case)
        assert r["verdict"] == "guaranteed" and r["adversarial_rows"] == 100_000
        assert r["checks"]["guarantee_holds"], r
        assert r["random_bit_accuracy"] == 1.0 and r["adversarial_bit_accuracy"] == 1.0


def test_expected_verdict_predicts_every_layer_within_a_factor_of_2(calibration):
    case = calibration.Case("expected", (("random4", 90),), 2048, 2)
    r = run(calibration, case, samples=12_000)
    assert r["verdict"] == "expected" and r["model"] == "coherent"
    assert r["checks"]["rms_within_factor"], r["checks"]["misses"]
    # Not vacuous: collisions happened and were measured, and the estimate of wrong instances is
    # of the measured order.
    assert r["measured_instances_wrong"] > 0
    assert any(row["active_pair_rms"]["measured"] > 1e-3 for row in r["layers"])
    assert 0.25 <= r["predicted_instances_wrong"] / r["measured_instances_wrong"] <= 4


def test_z1_layers_are_predicted_exactly(calibration):
    """At z = 1 the field model is exact: the only gap is the sampling of rows and probes."""
    r = run(calibration, calibration.Case("z1", (("random4", 300),), 512, 1), samples=3000, guaranteed_rows=512)
    for row in r["layers"]:
        for key in ("active_rms", "inactive_rms", "inactive_pair_rms"):
            p, m = row[key]["predicted"], row[key]["measured"]
            assert p == pytest.approx(m, rel=0.1, abs=1e-3), (row["layer"], key)
        assert row["active_pair_rms"]["predicted"] == 0 and row["active_pair_rms"]["measured"] < 1e-4


def test_over_budget_is_over_budget(calibration):
    r = run(calibration, calibration.Case("over", (("random4", 600),), 512, 2), samples=2000)
    assert r["verdict"] == "over budget"
    assert r["predicted_instances_wrong"] > 0.1 and r["measured_instances_wrong"] > 0.05


def test_the_benchmark_prints_json_and_markdown(calibration, capsys):
    calibration.main(["--only", "partition", "--samples", "300", "--guaranteed-rows", "300"])
    out = json.loads(capsys.readouterr().out)
    (net,) = out["networks"]
    assert net["network"] == "partition" and net["checks"]["guarantee_holds"]
    calibration.main(["--only", "partition", "--samples", "300", "--guaranteed-rows", "300", "--markdown"])
    text = capsys.readouterr().out
    assert "| partition | full_adder x 51 | 1024 | 2 | 51 | guaranteed |" in text
    with pytest.raises(SystemExit):
        calibration.main(["--only", "nonesuch"])


@pytest.mark.slow
def test_the_whole_suite_keeps_the_claims(calibration):
    verdicts = set()
    for case in calibration.SUITE:
        r = calibration.run_case(case, 10_000, 2048, 100_000)
        verdicts.add(r["verdict"])
        if r["verdict"] == "guaranteed":
            assert r["checks"]["guarantee_holds"], case.name
        if r["verdict"] == "expected":
            assert r["checks"]["rms_within_factor"], (case.name, r["checks"]["misses"])
        if r["predicted_instances_wrong"] is not None and r["measured_instances_wrong"]:
            assert not math.isinf(r["predicted_instances_wrong"])
    assert verdicts == {"guaranteed", "expected", "at risk", "over budget"}
