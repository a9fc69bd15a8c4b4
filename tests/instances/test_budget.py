"""The static budget (circuitc/budget.py): figures, verdicts, and the risk bound against verify."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import circuitc
from circuitc.cli import app as cli
from circuitc.instances.budget import budget
from circuitc.instances.compile import compile_network
from circuitc.instances.constructions.coherent import near_fractions
from circuitc.instances.error_model import rows_at_risk
from circuitc.instances.verify import verify

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

SOURCE = """
circuit chain { in x[4]; out y[2];
    a = x[0] ^ x[1]; b = x[2] | ~x[3]; c = a & b; e = a ^ x[2]; y[0] = c | e; y[1] = c ^ ~e; }
network one { use chain * 600; active = 1; width = 1024; }
network two { use chain * 600; active = 2; width = 1024; construction = "coherent"; }
network apart { use chain * 40; active = 3; width = 1024; construction = "coherent"; }
"""


@pytest.fixture(scope="module")
def spec():
    return circuitc.parse(SOURCE)


def test_figures_match_the_compiled_network(spec):
    b = budget(spec, "one")
    rep = compile_network(spec, "one").report()
    f = b.figures
    assert ((f["D"], f["L"], f["T"], f["d"], f["z"], f["S"])
            == (rep["D"], rep["L"], rep["T"], rep["d"], rep["z"], rep["S"]))
    assert f["capacity"] == rep["allocation"]["capacity"] and f["compression"] == pytest.approx(rep["compression"])
    assert f["load_figure"] == pytest.approx(f["z"] * f["T"] * f["L"] * (f["d"] / f["D"]) ** 2)
    assert b.verdict == "guaranteed" and b.guarantee.exact and b.knobs == ()
    assert b.guarantee.as_dict() == rep["guarantee"]


def test_disjoint_supports_are_guaranteed_at_any_z(spec):
    b = budget(spec, "apart")
    assert b.verdict == "guaranteed" and "no two instances share" in b.guarantee.reason
    assert b.risk["pairs_sharing_a_neuron"] == 0 and b.risk["random_rows_at_risk"] == 0


def test_the_risk_bounds_what_verify_measures(spec):
    b = budget(spec, "two")
    assert b.verdict in ("at risk", "over budget") and not b.guarantee.exact
    assert b.risk["pairs_sharing_a_neuron"] > 0 and 0 < b.risk["pairs_reached"] <= 1
    assert any("n/S" in k for k in b.knobs) and any("adversarial" in k for k in b.knobs)
    comp = compile_network(spec, "two")
    result = verify(comp, samples=4000, seed=1, layer_errors=False)
    failing_slots = 1 - result["instance_accuracy"]
    assert 0 < failing_slots <= b.risk["random_rows_at_risk"]        # an upper bound, and not vacuous
    assert verify(comp, samples=500, seed=2, mode="adversarial", layer_errors=False)["bit_accuracy"] < 1


def test_near_fractions_on_a_path():
    # Instances 0-1-2-3 form a path (consecutive ones share a neuron); 4 is alone.
    sup = np.array([[[0, 1], [1, 2], [2, 3], [3, 4], [6, 7]]])
    near, shared, exact = near_fractions(sup, 8, 1, sources=100, seed=0)
    assert exact and shared == near == 6 / 20
    near, shared, _ = near_fractions(sup, 8, 2, sources=100, seed=0)
    assert shared == 6 / 20 and near == 10 / 20
    # Sampled sources estimate the same figure.
    big = np.random.default_rng(0).integers(0, 50, size=(1, 400, 2))
    big[..., 1] = (big[..., 0] + 1 + big[..., 1] % 49) % 50
    exact_fig = near_fractions(big, 50, 2, sources=400, seed=0)[0]
    sampled = near_fractions(big, 50, 2, sources=128, seed=3)
    assert not sampled[2] and abs(sampled[0] - exact_fig) < 0.05


def test_rows_at_risk():
    assert rows_at_risk(0.0, 3) == 0.0 and rows_at_risk(0.1, 1) == 0.0
    assert rows_at_risk(0.1, 2) == pytest.approx(0.05)                 # half the rows hold two instances
    assert rows_at_risk(0.1, 3) == pytest.approx((0 + 0.1 + (1 - 0.9 ** 3)) / 3)


def test_cli_budget(tmp_path, capsys):
    assert cli.main(["budget", str(EXAMPLES / "adders_network.circ")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("budget of network `adders`") and ": guaranteed" in out.splitlines()[0]
    assert "T / capacity" in out and "guarantee: exact for every promise-keeping input" in out
    # S = 2 given: the default would take S = 3, which this circuit holds (test below)
    assert cli.main(["budget", str(EXAMPLES / "adders_network.circ"), "--active", "2", "--redundancy", "2",
                     "--construction", "coherent", "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["verdict"] in ("at risk", "over budget") and record["guarantee"]["exact"] is False
    assert record["figures"]["z"] == 2 and record["knobs"]
    assert cli.main(["budget", str(EXAMPLES / "adders_network.circ"), "--active", "2", "--redundancy", "2",
                     "--construction", "coherent", "--markdown"]) == 0
    md = capsys.readouterr().out
    assert md.startswith("## Budget of network `adders`") and "| random rows at risk |" in md and "### Knobs" in md
    assert "### Per layer" in md and "| 1 | at risk |" in md and "Model: coherent" in md
    assert len(record["layers"]) == 2 and record["layers"][1]["verdict"] in ("at risk", "over budget")
    assert record["model"]["name"] == "coherent" and 0 < record["risk"]["instances_wrong"] < 1


def test_cli_budget_per_layer_table(capsys):
    assert cli.main(["budget", str(EXAMPLES / "budget_levels.circ"), "--network", "packed"]) == 0
    out = capsys.readouterr().out
    assert ": over budget" in out.splitlines()[0] and "per layer: predicted read-off errors" in out
    table = out.split("per layer: predicted read-off errors")[1].split("model:")[0]
    assert "over budget" in table and "at risk" in table                # verdicts differ by layer
    assert "knob: for `expected`" in out and "instances at this width" in out


def test_expected_instances_brackets_the_verdict():
    from circuitc.instances.constructions.coherent import expected_instances
    from circuitc.instances.constructions.coherent_plan import with_counts
    from circuitc.instances.error_model import predict
    from circuitc.instances.planner import plan_network
    from circuitc.instances.verdicts import TARGET_ERROR

    spec = circuitc.load_spec(EXAMPLES / "budget_levels.circ")
    plan = plan_network(spec, "crowded")
    n_ok = expected_instances(plan)
    assert plan.n // plan.config.S <= n_ok < plan.T
    ok = predict(with_counts(plan, (n_ok,)), sources=64).layers[-1].instances_wrong
    assert ok <= TARGET_ERROR


def test_cli_budget_errors(tmp_path, capsys):
    assert cli.main(["budget", str(tmp_path / "missing.circ")]) == 2
    assert "cannot find" in capsys.readouterr().err


def network_examples():
    for path in sorted(EXAMPLES.glob("*.circ")):
        spec = circuitc.load_spec(path)
        for net in spec.networks:
            yield pytest.param(path, net.name, id=f"{path.name}:{net.name}")


@pytest.mark.parametrize("path,name", list(network_examples()))
def test_budget_of_every_example_network(path, name, capsys):
    assert cli.main(["budget", str(path), "--network", name, "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    # Every shipped network is guaranteed, except budget_levels.circ's, one per verdict by design,
    # and the papers' rotation task, whose errors are a sizeable fraction of the circuits' values
    # (docs/frontier.md: rms read-off error about 0.2 per neuron at z = 2, against values near 1).
    want = {"close": "expected", "crowded": "at risk", "packed": "over budget",
            "rotations": "over budget"}.get(name, "guaranteed")
    assert record["network"] == name and record["verdict"] == want
    # Per-layer predictions belong to the constructions that share neurons; a routed network has none.
    shares = record["figures"]["construction"] in ("coherent", "cis2")
    assert len(record["layers"]) == (record["figures"]["L"] + 1 if shares else 0)


def test_compile_stores_and_verify_shows_the_budget(tmp_path, capsys):
    src = tmp_path / "two.circ"
    src.write_text(SOURCE)
    assert cli.main(["compile", str(src), "--network", "two", "-o", str(tmp_path / "net")]) == 0
    out = capsys.readouterr().out
    assert "budget: " in out and "knob: for a guarantee at z = 2" in out
    meta = json.loads((tmp_path / "net" / "network.json").read_text())
    assert meta["budget"]["verdict"] in ("at risk", "over budget")
    assert meta["budget"] == budget(circuitc.parse(SOURCE), "two").as_dict()
    code = cli.main(["verify", str(tmp_path / "net"), "--samples", "2000", "--min-accuracy", "0"])
    out = capsys.readouterr().out
    assert code == 0 and "estimated" in out and "of active instances wrong" in out and "values wrong" in out


def test_the_s_knob_when_a_larger_s_absorbs_a_neighbour():
    """Full adders at z = 2: with S = 3 (gain 6) a neighbour's third is absorbed by the steps,
    where its half at S = 2 is not. The budget says so, and verify agrees."""
    from circuitc.instances.constructions.coherent_plan import with_redundancy
    from circuitc.instances.planner import plan_network

    spec = circuitc.load_spec(EXAMPLES / "adders_network.circ")
    co = {"construction": "coherent"}
    b = budget(spec, z=2, S=2, **co)
    knob = [k for k in b.knobs if k.startswith("raise S to 3")]
    assert knob and b.verdict == "at risk"
    plan3 = with_redundancy(plan_network(spec, z=2, S=2, **co), 3)
    assert plan3.config.S == 3 and plan3.config.gain == 6 and plan3.types[0].gain == 6
    b3 = budget(spec, z=2, S=3, **co)
    assert b3.verdict == "expected" and b3.risk["instances_wrong"] < b.risk["instances_wrong"] / 2
    # left to itself, the compiler takes the knob: S = 3 at z = 2, the smallest S at z = 1
    assert plan_network(spec, z=2, **co).config.S == 3 and plan_network(spec, **co).config.S == 2
    assert budget(spec, z=2, **co).verdict == "expected"
    measured = verify(compile_network(spec, z=2, **co), samples=3000, seed=1, layer_errors=False)
    assert measured["instance_accuracy"] >= 0.999


def test_one_layer_circuits_at_S3_hold_their_whole_allocation_at_z2():
    """Measured (docs/lowering.md, "S versus the frontier"): full adders filling the prime-step
    allocation at S = 3 are exact on adversarial rows at z = 2, and the budget does not claim
    otherwise; at a partial fill both the budget and the adversarial rows find failures."""
    from circuitc.instances.verify import verify
    from circuitc.spec import InstanceGroup, Network

    c = circuitc.load_spec(EXAMPLES / "full_adder.circ").circuit("full_adder")

    def network(T):
        net = Network("x", (InstanceGroup("full_adder", T),), z=2, D=1024, S=3, allocation="prime-step")
        return compile_network(circuitc.Spec(circuits=(c,), networks=(net,)), "x")

    full = network(643)                       # the allocation's capacity at n = 102, S = 3
    assert full.budget.verdict == "expected" and "reads every meeting right" in full.budget.knobs[-1]
    assert verify(full, samples=2048, mode="adversarial", layer_errors=False)["bit_accuracy"] == 1.0
    partial = network(300)
    assert partial.budget.verdict == "at risk" and "expect them to fail" in partial.budget.knobs[-1]
    assert verify(partial, samples=2048, mode="adversarial", layer_errors=False)["bit_accuracy"] < 0.999
