"""The cis2 construction (constructions/cis2.py, given_network.py, lower/given.py): different MLP
circuits embedded as given, sharing neurons, with the first layer written from the inputs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from cli_runs import fails, ok
from safetensors import safe_open

import circuitc
from circuitc.errors import CircuitError
from circuitc.instances.components import components, shared_part
from circuitc.instances.given_network import GivenNetwork, mean_map, pair_counts
from circuitc.instances.lower.given import check_family
from circuitc.instances.verdicts import DEFAULT_TOLERANCE, judge
from circuitc.instances.verify import exact_layers, verify
from circuitc.spec import Layer, MLPCircuit, Port

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
BIAS = np.array([-0.5, -1.5, -1.0, -1.0])


@pytest.fixture(scope="module")
def rotations():
    return circuitc.compile(circuitc.load_spec(EXAMPLES / "rotations.circ"))


def task_rows(T: int, z: int, rows: int, seed: int = 0):
    """Active sets and the inputs the rotation circuits are built for, (1.5, 0.5, 1 + cos φ, 1 + sin φ)."""
    rng = np.random.default_rng(seed)
    inst = np.argsort(rng.random((rows, T)), axis=1)[:, :z]
    phi = rng.uniform(0, 2 * np.pi, (rows, z))
    x = np.stack([np.full_like(phi, 1.5), np.full_like(phi, 0.5), 1 + np.cos(phi), 1 + np.sin(phi)], -1)
    return inst, x


def mlp(name: str, shapes, bias=None, activation="relu") -> MLPCircuit:
    layers = tuple(Layer(np.ones(s), np.full(s[0], -1.0) if bias is None else bias, activation) for s in shapes)
    return MLPCircuit(name, (Port("x", shapes[0][1]),), (Port("y", shapes[-1][0]),), layers)


def test_the_example_compiles_as_the_papers_build_it(rotations):
    net, comp = rotations.network, rotations
    assert isinstance(net, GivenNetwork) and comp.config.construction == "cis2"
    assert (net.T, net.D, net.S, net.L, net.d) == (100, 1000, 6, 4, 4)      # five circuit layers, the first encoded
    assert comp.config.allocation == "prime-step" and comp.config.shuffle and comp.config.margin == 0.5
    assert comp.allocation.max_shared <= 1
    # a fresh assignment of the supports at every layer
    assert not np.array_equal(comp.permutations[0], comp.permutations[1])
    # every layer's bias is the circuits' bias on every neuron of its block
    for W, b in net.dense_layers():
        assert torch.equal(b, torch.from_numpy(np.repeat(BIAS, net.n)).float())


def test_the_first_layer_is_written_exactly_from_the_inputs(rotations):
    """With one active circuit nothing else is on at layer 0: it reads its first layer exactly
    (float32 rounding of values below 4); an inactive circuit reads 0, or 1/S of the active
    circuit's value at the one neuron per block they share."""
    net = rotations.network
    inst, x = task_rows(net.T, 1, 64)
    A0 = net.encode(inst, x)
    exact = exact_layers(rotations, inst, x)[0]
    assert np.abs(net.readout(A0, 0, inst) - exact).max() <= 4 * 2.0 ** -24 * 4
    others = np.arange(net.T)[None, :].repeat(len(inst), 0)
    others = np.where(others == inst, -1, others)
    shared = (net.supports[0][np.maximum(others, 0)][:, :, :, None] == net.supports[0][inst][:, :, None, :]).sum((2, 3))
    got = net.readout(A0, 0, others)
    want = np.where(shared[..., None] == 1, exact[:, 0][:, None, :] / net.S, 0.0)           # (rows, T, d)
    live = others >= 0
    assert np.abs(got[live] - want[live]).max() <= 4 * 2.0 ** -24 * 4 and shared[live].max() <= 1


def test_one_active_circuit_keeps_its_rotation(rotations):
    """z = 1 on the task's inputs: the union-embedded mean is read exactly, and what is left (the
    neighbours' deviations) stays far below the payload's size 1 (measured: MSE ≈ 0.003)."""
    net = rotations.network
    inst, x = task_rows(net.T, 1, 500)
    y = net.run(inst, x)[:, 0]
    exact = exact_layers(rotations, inst, x)[-1][:, 0]
    payload = lambda a: a[:, 2:4] - (a[:, 0] - a[:, 1])[:, None]    # noqa: E731
    mse = ((payload(y) - payload(exact)) ** 2).sum(-1).mean()
    assert mse < 0.02


def test_disjoint_supports_are_exact_and_guaranteed():
    """Few circuits at S = 6 in a wide network: the prime-step supports of 30 circuits in n = 250
    share no neuron, so the guarantee holds and every output is within float32 rounding."""
    spec = circuitc.load_spec(EXAMPLES / "rotations.circ")
    src = (EXAMPLES / "rotations.circ").read_text().replace("param T = 100;", "param T = 20;")
    spec = circuitc.parse(src, base_dir=EXAMPLES)
    comp = circuitc.compile(spec, z=3)
    assert comp.guarantee.exact and comp.budget.verdict == "guaranteed"
    result = verify(comp, samples=600)
    assert judge(result, guaranteed=True).passed and result["real_max_error"] < DEFAULT_TOLERANCE


def test_the_components_add_up_to_the_weights(rotations):
    """W^l = Σ_t C_t^l + w̄ ⊗ M: the weights are the float64 sum rounded once to float32, so they lie
    within half a float32 unit of it, plus the float64 rounding of a sum of at most T + 1 terms."""
    net = rotations.network
    for l, (W, _) in enumerate(net.dense_layers(), start=1):
        C = components(rotations, l)
        mean, map_ = shared_part(rotations, l)
        shared = torch.from_numpy(np.kron(mean, map_))
        total = C.sum(0).to_dense() + shared
        magnitude = torch.sparse_coo_tensor(C.indices(), C.values().abs(), C.shape,
                                            check_invariants=False).sum(0).to_dense() + shared.abs()
        bound = 2.0 ** -24 * total.abs() + (net.T + 1) * 2.0 ** -53 * magnitude
        assert torch.all((total - W.double()).abs() <= bound)
        # each circuit's component is its deviation from the mean, on its own neurons
        t, row, col = C.indices().numpy()
        assert (net.supports[l][t] == (row % net.n)[:, None]).any(1).all()
        assert (net.supports[l - 1][t] == (col % net.n)[:, None]).any(1).all()


def test_the_union_mean_map_reads_one_circuit_exactly():
    """Row k of M reads every neuron below that a circuit hosted at k reads, once; an instance's
    own S neurons count 1/S each, so with one circuit on (and the rest 0) w̄ is applied exactly."""
    rng = np.random.default_rng(3)
    n, S, T = 60, 4, 40
    sup_in = np.stack([rng.choice(n, S, replace=False) for _ in range(T)])
    sup_out = np.stack([rng.choice(n, S, replace=False) for _ in range(T)])
    M = mean_map(sup_out, sup_in, n, "union")
    for t in range(T):
        below = np.zeros(n)
        below[sup_in[t]] = 1.0
        assert np.allclose((M @ below)[sup_out[t]], 1.0)
    assert np.allclose(mean_map(sup_out, sup_in, n, "sum"), pair_counts(sup_out, sup_in, n) / S)
    unused = np.setdiff1d(np.arange(n), sup_out)
    assert np.all(M[unused] == 0)


def test_weights_are_byte_identical_for_the_same_seed(rotations):
    again = circuitc.compile(circuitc.load_spec(EXAMPLES / "rotations.circ"))
    for (W1, b1), (W2, b2) in zip(rotations.network.dense_layers(), again.network.dense_layers()):
        assert torch.equal(W1, W2) and torch.equal(b1, b2)


def test_save_load_module_and_run_agree(rotations, tmp_path):
    circuitc.save(rotations, tmp_path / "rot")
    loaded = circuitc.load(tmp_path / "rot")
    assert isinstance(loaded.network, GivenNetwork) and loaded.config == rotations.config
    inst, x = task_rows(rotations.network.T, 2, 32)
    y = rotations.network.run(inst, x)
    assert np.array_equal(loaded.network.run(inst, x), y)
    module = loaded.module()
    got = module(torch.from_numpy(inst), torch.from_numpy(x).float()).detach().numpy()
    # the module encodes in float32 what `encode` sums in float64: a rounding of values below 4 per
    # layer, carried through layers whose rows sum to at most 12 in absolute value
    assert np.abs(got - y).max() <= 5 * 12 * 4 * 2.0 ** -23 * 4
    # the stored types are the circuits lowered again; a file that disagrees is refused
    meta = json.loads((tmp_path / "rot" / "network.json").read_text())
    assert meta["config"]["construction"] == "cis2" and meta["config"]["shared_mean"] == "union"


def test_the_command_line_compiles_verifies_and_writes_components(capsys, tmp_path):
    out = ok(capsys, "compile", EXAMPLES / "rotations.circ", "-o", tmp_path / "rot", "--json")
    record = json.loads(out)
    assert record["report"]["config"]["construction"] == "cis2" and record["budget"]["model"]["name"] == "cis2"
    ok(capsys, "verify", tmp_path / "rot", "--samples", "256", "--tolerance", "100")
    ok(capsys, "components", tmp_path / "rot", "-o", tmp_path / "c.safetensors")
    with safe_open(str(tmp_path / "c.safetensors"), framework="pt") as f:
        assert f.get_tensor("layer.1.shared_mean").shape == (4, 4)
        assert f.get_tensor("layer.1.shared_map").shape == (250, 250)
    err = fails(capsys, "compile", EXAMPLES / "rotations.circ", "-o", tmp_path / "x", "--shared-mean", "union",
                "--margin", "0.2")
    assert "a margin belongs to the coherent construction" in err


def test_auto_falls_back_to_cis2_for_different_mlp_circuits_and_says_so():
    src = (EXAMPLES / "rotations.circ").read_text().replace('construction = "cis2";', "")
    comp = circuitc.compile(circuitc.parse(src, base_dir=EXAMPLES))
    assert comp.config.construction == "cis2" and comp.plan.fallback
    assert any("fell back to the cis2 construction" in w.message for w in comp.warnings())


def test_circuits_it_cannot_embed_are_refused_with_the_reason():
    same = [mlp("a", [(4, 2), (4, 4)]), mlp("b", [(4, 2), (4, 4)])]
    assert check_family(tuple(same)) == []
    cases = {
        "embeds circuits of one shape": [same[0], mlp("c", [(4, 2), (3, 4)])],
        "needs one bias per network neuron": [same[0], mlp("d", [(4, 2), (4, 4)], bias=np.full(4, -2.0))],
        "at least two ReLU layers": [mlp("e", [(4, 2)]), mlp("f", [(4, 2)])],
        "has a positive bias": [mlp("g", [(4, 2), (4, 4)], bias=np.full(4, 0.5))],
    }
    for message, circuits in cases.items():
        found = check_family(tuple(circuits))
        assert found and message in found[0].message, (message, found)
    with pytest.raises(CircuitError, match="more than|do not fit"):
        spec = circuitc.parse((EXAMPLES / "rotations.circ").read_text().replace("width = 1000", "width = 40"),
                              base_dir=EXAMPLES)
        circuitc.compile(spec)


# ---------------------------------------------------------------- the inputs the circuits are built for

@pytest.fixture(scope="module")
def task_file(tmp_path_factory):
    """10,000 rows of the rotation circuits' inputs, (1.5, 0.5, 1 + cos φ, 1 + sin φ)."""
    _, x = task_rows(1, 1, 10_000, seed=5)
    path = tmp_path_factory.mktemp("rows") / "task.npy"
    np.save(path, x[:, 0])
    return path


def test_verify_and_sample_draw_mlp_inputs_from_given_rows(rotations, task_file):
    from circuitc.instances.verify import promise_rows
    pool = np.load(task_file)
    _, batches = promise_rows(rotations, "random", 300, 100, np.random.default_rng(0), inputs=pool)
    for inst, x in batches:
        used = x[inst >= 0]
        # every drawn row is a row of the pool: its first two inputs 1.5 and 0.5, its point on the circle
        assert np.all(used[:, :2] == [1.5, 0.5]) and np.allclose(((used[:, 2:] - 1) ** 2).sum(1), 1.0)
    with pytest.raises(CircuitError, match="do not fit this network's MLP circuits, which take 4 inputs"):
        verify(rotations, samples=10, inputs=np.zeros((5, 3)))


def test_the_budget_measures_activation_sizes_on_given_rows(capsys, task_file):
    """On the task's rows a rotation circuit's last layer is (1.5, 0.5, 1 + cos ψ, 1 + sin ψ), whose
    mean square is 2.25 + 0.25 + E[(1 + cos ψ)² + (1 + sin ψ)²] = 5.5 for ψ spread over the circle:
    an rms of √(5.5/4) per neuron (16,384 sampled rows: a standard error near 0.003)."""
    record = json.loads(ok(capsys, "budget", EXAMPLES / "rotations.circ", "--input-rows", task_file, "--json"))
    assert abs(record["risk"]["activation_rms"] - np.sqrt(5.5 / 4)) < 0.05
    default = json.loads(ok(capsys, "budget", EXAMPLES / "rotations.circ", "--json"))
    assert default["risk"]["activation_rms"] != record["risk"]["activation_rms"]


def test_bad_input_rows_are_refused_before_any_work(capsys, tmp_path, task_file):
    circuitc.save(circuitc.compile(circuitc.load_spec(EXAMPLES / "rotations.circ")), tmp_path / "rot")
    np.save(tmp_path / "wide.npy", np.zeros((4, 5)))
    err = fails(capsys, "verify", tmp_path / "rot", "--input-rows", tmp_path / "wide.npy")
    assert "holds an array of shape (4, 5)" in err and "takes rows of 4 numbers" in err
    np.save(tmp_path / "nan.npy", np.full((2, 4), np.nan))
    assert "row 0, column 0 (`a[0]`) is nan" in fails(capsys, "verify", tmp_path / "rot", "--input-rows",
                                                        tmp_path / "nan.npy")
    (tmp_path / "rows.csv").write_text("a[0],a[1],a[2]\n1,2,3\n")
    assert "a[3]" in fails(capsys, "verify", tmp_path / "rot", "--input-rows", tmp_path / "rows.csv")
    out = ok(capsys, "verify", tmp_path / "rot", "--input-rows", task_file, "--samples", "500", "--tolerance", "10")
    assert "rms read-off error of active instances" in out


def test_the_budget_of_copies_falls_back_to_the_papers_formula():
    """Copies have no deviations, so the union term alone would predict no error at z = 1; measured,
    copies at T = 250 reach an MSE of 0.04 (docs/lowering.md, "Copies"): the papers' formula stands in."""
    src = (EXAMPLES / "rotations.circ").read_text().replace("use rotation<i=0..T>;", "use rotation<i=0> * 250;")
    b = circuitc.budget(circuitc.parse(src, base_dir=EXAMPLES), z=1)
    assert b.prediction.model == "paper" and "copies" in b.prediction.why
    assert b.prediction.layers[-1].active_rms > 0.05 and b.verdict == "over budget"


def test_the_budget_is_within_twice_what_verify_measures_on_the_task(rotations, task_file):
    """The calibration docs/frontier.md reports, on the shipped example: the budget's per-layer rms
    read-off error of active circuits, from the task's own inputs, within a factor 2 of verify's
    (measured 0.87–1.53 on 3,000 rows; the rms of 3,000 rows moves by a few per cent)."""
    pool = np.load(task_file)
    measured = verify(rotations, samples=3000, inputs=pool)["layers"]
    predicted = circuitc.budget(circuitc.load_spec(EXAMPLES / "rotations.circ"), inputs=pool).prediction.layers
    ratios = [p.active_rms / m["active_rms"] for p, m in zip(predicted, measured)]
    assert len(ratios) == rotations.network.L + 1 and all(0.5 <= r <= 2.0 for r in ratios), ratios


def test_without_a_redundancy_supports_are_disjoint_where_they_fit_else_three():
    """Measured best (docs/lowering.md, "Redundancy"): disjoint supports, exact, where T of them fit
    at some S >= 2; S = 3 where they must be shared."""
    src = (EXAMPLES / "rotations.circ").read_text().replace("redundancy = 6;", "")
    few = circuitc.compile(circuitc.parse(src, base_dir=EXAMPLES))
    assert few.network.S == 2 and few.guarantee.exact and few.budget.verdict == "guaranteed"
    many = circuitc.plan(circuitc.parse(src.replace("use rotation<i=0..T>;", "use rotation<i=0..T> * 3;"),
                                        base_dir=EXAMPLES))
    assert many.config.S == 3 and many.T == 300
