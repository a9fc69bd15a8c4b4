"""Deep feature networks (feature_net.py, correct.py, feature_verify.py, feature_artifact.py):
read-offs, width model, error-correction policies, encode refusals, verification, artifacts."""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from scripts import load_script

from circuitc import artifact, parse
from circuitc.active_sets import exactly_active
from circuitc.errors import CircuitError
from circuitc.features import artifact as feature_artifact
from circuitc.features.correct import clean_margin, step_layer, subsets_layer
from circuitc.features.levels import levels_of
from circuitc.features.network import FeatureConfig, compile_features, compile_source, parse_policy, residual_after_step
from circuitc.features.readoffs import all_on_value, monomial_readoffs
from circuitc.features.verify import meeting_pairs, verify_features
from circuitc.frontend.load import load_spec
from circuitc.interpret import evaluate_bits

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

SMALL = """
features f[48] { active = 2; }
circuit c over f {
    out y[6];
    wire a, b;
    a = f[0] & f[1];
    b = f[2] ^ f[3];
    y[0] = a;
    y[1] = b;
    y[2] = a | f[4];
    y[3] = ~(f[5] & f[6]);
    y[4] = (a ^ b) & ~f[7];
    y[5] = f[8] | f[9] | f[10];
}
"""
FAST = {"target": 1e-3}      # narrower layers: these tests check behaviour, not the 1e-5 design


@pytest.fixture(scope="module")
def small():
    return compile_source(parse(SMALL), **FAST)


def test_small_circuit_exhaustively(small):
    r = verify_features(small, mode="exhaustive")
    assert r["samples"] == 1 + 48 + math.comb(48, 2)
    assert r["bit_accuracy"] >= 0.999 and r["row_accuracy"] >= 0.99
    assert r["layers"][-1]["level"] == small.levels.depth


def test_outputs_match_the_reference(small):
    rng = np.random.default_rng(3)
    act = exactly_active(48, 2, 2000, rng)
    act[:, 0] = rng.integers(0, 11, 2000)           # mostly the features the gates read
    act[act[:, 0] == act[:, 1], 1] = -1
    want = evaluate_bits(small.circuit, small.feature_rows(act).astype(np.uint8))
    assert (small.run(act) == want).mean() >= 0.999


def test_unbiased_read_offs_of_half_on_pairs():
    """The finite-difference read-off of a pair with one wire on averages 0; the plain mean of the
    neurons wired to both is biased by about (s - 1)·p."""
    rng = np.random.default_rng(0)
    m, d, p, s = 64, 4000, 0.2, 4
    wiring = rng.random((d, m)) < p
    f = np.zeros((3000, m))
    act = exactly_active(m, s, 3000, rng)
    f[np.arange(3000)[:, None], act] = 1
    h = np.maximum(f @ wiring.T - 1, 0)
    pairs = np.array([[a, b] for a in range(8) for b in range(a + 1, 8)])
    vec = monomial_readoffs(wiring, pairs, 1)
    got = h @ vec.T
    truth = f[:, pairs[:, 0]] * f[:, pairs[:, 1]]
    half = (f[:, pairs[:, 0]] + f[:, pairs[:, 1]]) == 1
    plain = np.stack([h[:, wiring[:, a] & wiring[:, b]].mean(axis=1) for a, b in pairs], axis=1)
    assert abs((got - truth)[half].mean()) < 0.02
    assert (plain - truth)[half].mean() > 0.3       # (s - 1)·p = 0.6


def test_all_on_value():
    assert all_on_value(2, 2, 0.2) == pytest.approx(1.0)
    assert all_on_value(2, 3, 0.2) == pytest.approx(0.8)
    assert all_on_value(1, 5, 0.3) == pytest.approx(1.0)


def test_width_model_matches_the_measured_worst_gate_error():
    """σ of XOR read-offs with one input on, the width model's worst case, within 10 %."""
    spec = load_spec(EXAMPLES / "deep_features.circ")
    net = compile_source(spec, **FAST)
    rng = np.random.default_rng(1)
    act = exactly_active(256, 3, 3000, rng)
    f = net.feature_rows(act).astype(np.uint8)
    exact = net.levels.evaluate(f)
    with torch.no_grad():
        wires = net.forward(net.encode(act))
    lv = net.levels.levels[0]
    n_on = exact[0][:, lv.inputs[:, 0]].astype(int) + exact[0][:, lv.inputs[:, 1]]
    xor = (np.arange(256) % 2 == 0)[None, :]
    err = (wires[0].numpy() - exact[1])[(n_on == 1) & xor]
    assert err.std() == pytest.approx(net.stages[0].predicted, rel=0.1)


def test_policies():
    spec = load_spec(EXAMPLES / "deep_features.circ")
    c = spec.circuit("deep8")
    levels = levels_of(c, 256)
    fs = spec.feature_set("f")
    kinds = lambda net: [st.kind for st in net.stages]    # noqa: E731
    none = compile_features(levels, fs, FeatureConfig(ec="none", **FAST), circuit=c)
    assert kinds(none) == ["gate"] * 8 and none.corrections == []
    every = compile_features(levels, fs, FeatureConfig(ec="every:3", **FAST), circuit=c)
    assert every.corrections == [3, 6]
    auto = compile_features(levels, fs, FeatureConfig(**FAST), circuit=c)
    assert auto.corrections == list(range(1, 8))        # sized for σ, every carried error reaches the margin
    wide = compile_features(levels, fs, FeatureConfig(width=16000, **FAST), circuit=c)
    assert len(wide.corrections) < 7                    # wider layers leave room: fewer corrections
    with pytest.raises(CircuitError, match="unknown error-correction policy"):
        parse_policy("sometimes")
    with pytest.raises(CircuitError, match="every:K"):
        parse_policy("every:0")


def test_error_correction_keeps_a_deep_circuit_right():
    spec = load_spec(EXAMPLES / "deep_features.circ")
    with_ec = compile_source(spec, **FAST)
    without = compile_source(spec, ec="none", **FAST)
    a = verify_features(with_ec, samples=1500)
    b = verify_features(without, samples=1500)
    on_with = [l["on_accuracy"] for l in a["layers"] if l["kind"] == "gate"]
    on_without = [l["on_accuracy"] for l in b["layers"] if l["kind"] == "gate"]
    assert on_with[-1] >= 0.99 and on_without[-1] < 0.6
    assert a["bit_accuracy"] > b["bit_accuracy"]


def test_error_correction_layers():
    x = np.array([[0.0, 0.2, 0.37, 0.63, 0.8, 1.0, 1.3]])
    read_in, bias, read_off = step_layer(7, 4.0)
    out = np.maximum(x @ read_in.T + bias, 0) @ read_off.T
    assert out.tolist() == [[0, 0, 0, 1, 1, 1, 1]]
    assert clean_margin(4.0) == 0.375
    assert residual_after_step(0.05, 4.0) < 1e-6 < residual_after_step(0.2, 4.0)
    rng = np.random.default_rng(0)
    read_in, bias, read_off = subsets_layer(64, 2000, 0.05, 4.0, rng)
    f = np.zeros((200, 64))
    f[np.arange(200), rng.integers(0, 64, 200)] = 1
    back = np.maximum((f + rng.normal(0, 0.05, f.shape)) @ read_in.T + bias, 0) @ read_off.T
    assert ((back > 0.5) == (f > 0.5)).all()
    with pytest.raises(ValueError, match="leaves a wire"):
        subsets_layer(64, 3, 0.05, 4.0, rng)


def test_subsets_kind_compiles_and_runs():
    net = compile_source(parse(SMALL), ec="every:1", ec_kind="subsets", **FAST)
    assert net.corrections and all(st.orders for st in net.stages if st.kind == "correct")
    assert verify_features(net, samples=500)["bit_accuracy"] > 0.99


def test_encode_refuses_broken_promises(small):
    with pytest.raises(CircuitError, match="row 1 has 3 features on, but `f` promises at most 2") as e:
        small.encode([[1, 2, -1], [1, 2, 3]])
    assert "raise `active`" in e.value.diagnostics[0].hint
    with pytest.raises(CircuitError, match="outside 0..47"):
        small.encode([[48, -1]])
    with pytest.raises(CircuitError, match="names a feature twice"):
        small.encode([[5, 5]])


def test_bad_configs_are_refused_with_the_numbers():
    with pytest.raises(CircuitError) as e:
        compile_source(parse(SMALL), p=1.5, k=1, ec_kind="magic", gain=1.0)
    text = "\n".join(d.message for d in e.value.diagnostics)
    for part in ("fan-in k must be between 2 and 16, got 1", "p must lie in (0, 1), got 1.5",
                 "unknown error-correction kind `magic`", "slope must be above 2, got 1"):
        assert part in text


def test_composed_model_equals_the_stages(small):
    act = np.array([[0, 1], [2, 3], [4, -1], [5, 6], [8, 9]])
    x = small.encode(act)
    with torch.no_grad():
        a = small.model()(x)
        b = small.output_values(small.forward(x)[-1])
    assert torch.allclose(a, b, atol=1e-4)
    assert small.composed_bytes() > 0


def test_superposed_inputs_are_cleaned_first():
    spec = load_spec(EXAMPLES / "features.circ")
    net = compile_source(spec, **FAST)
    assert net.embedding.shape == (512, 1024) and net.corrections[0] == 0
    assert net.input_sigma == pytest.approx(math.sqrt(3 / 512))
    r = verify_features(net, samples=1000, mode="adversarial")
    assert r["bit_accuracy"] >= 0.999


def test_meeting_pairs_meet():
    net = compile_source(parse(SMALL), **FAST)
    pairs = {tuple(p) for p in meeting_pairs(net).tolist()}
    assert {(0, 1), (2, 3)} <= pairs and (0, 47) not in pairs


def test_artifact_round_trip_is_exact_and_deterministic(small, tmp_path):
    feature_artifact.save(small, tmp_path / "a")
    feature_artifact.save(compile_source(parse(SMALL), **FAST), tmp_path / "b")
    for name in artifact.FILES:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    back = artifact.load(tmp_path / "a")
    act = exactly_active(48, 2, 300, np.random.default_rng(2))
    assert (back.run(act) == small.run(act)).all()
    assert back.report() == small.report()
    with pytest.raises(CircuitError, match="exists"):
        feature_artifact.save(small, tmp_path / "a")
    feature_artifact.save(small, tmp_path / "a", force=True)


def test_a_damaged_feature_artifact_names_the_file(small, tmp_path):
    from safetensors.torch import load_file, save_file

    feature_artifact.save(small, tmp_path / "a")
    w = tmp_path / "a" / "weights.safetensors"
    t = load_file(str(w))
    t["stages.0.bias"] = t["stages.0.bias"][:-1].clone()
    save_file(t, str(w))
    with pytest.raises(CircuitError, match=r"weights.safetensors: stages.0.bias has shape"):
        artifact.load(tmp_path / "a")


def test_same_source_same_weights():
    a = compile_source(parse(SMALL), **FAST)
    b = compile_source(parse(SMALL), **FAST)
    digest = lambda net: hashlib.sha256(b"".join(st.read_off.tobytes() + st.read_in.tobytes()   # noqa: E731
                                                for st in net.stages)).hexdigest()
    assert digest(a) == digest(b)
    assert digest(compile_source(parse(SMALL), seed=1, **FAST)) != digest(a)


def test_depth_benchmark_quick(tmp_path, capsys):
    import json

    module = load_script("benchmarks/feature_depth.py", register=True)
    assert module.main(["--quick", "--plot", str(tmp_path / "d.png")]) == 0
    result = json.loads(capsys.readouterr().out)
    by = {v["variant"]: v for v in result["variants"]}
    assert set(by) == {"none", "auto"} and (tmp_path / "d.png").stat().st_size > 10_000
    deep_auto = by["auto"]["random"]["levels"][-1]
    deep_none = by["none"]["random"]["levels"][-1]
    assert len(by["auto"]["random"]["levels"]) == 8
    assert deep_auto["on_accuracy"] > deep_none["on_accuracy"] + 0.3
