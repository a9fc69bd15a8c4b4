"""The example sources in examples/: each loads, and computes what its comments say.

Every expected value here comes from plain Python integer arithmetic (a + b, a < b, popcount,
a * b, relu by hand, ...), never from another circuit, so a test fails when the language or an
example is wrong, not merely when the two disagree with each other in the same way.
"""

from __future__ import annotations

import dataclasses
import itertools
import random
from pathlib import Path

import numpy as np
import pytest
from scripts import load_script

import circuitc
from circuitc import bits_to_int, evaluate, evaluate_bits, load_spec, parse, truth_table
from circuitc.spec import BoolCircuit, MLPCircuit

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

# The `.circ` examples tested below, by file stem. A new example must be added here, with a
# test of what it computes, or test_every_circ_example_is_tested fails.
TESTED = {
    "half_adder", "full_adder", "ripple_adder", "comparator", "mux", "parity", "majority",
    "multiplier2", "mlp_xor", "network", "features", "adders_network", "budget_levels", "deep_features",
    "routed_adders", "rotations",
    "different_circuits",   # in tests/instances/test_lookup.py
    "mlp_copies",           # in tests/instances/test_routed_mlp.py
}


def spec(stem: str) -> circuitc.Spec:
    s = load_spec(EXAMPLES / f"{stem}.circ")
    s.check()
    return s


def rows(n: int) -> list[tuple[int, ...]]:
    """Every 0/1 row of n bits, first bit most significant (the order truth_table uses)."""
    return list(itertools.product((0, 1), repeat=n))


def to_int(bits) -> int:
    """LSB-first bits -> integer, in plain Python."""
    return sum(int(b) << i for i, b in enumerate(bits))


def bits_of(v: int, w: int) -> list[int]:
    return [(v >> i) & 1 for i in range(w)]


# --------------------------------------------------------------------------------------------
# Every file in examples/

def example_files(*suffixes: str) -> list[Path]:
    return sorted(p for p in EXAMPLES.iterdir() if p.suffix in suffixes)


@pytest.mark.parametrize("path", example_files(".circ", ".bench", ".blif"), ids=lambda p: p.name)
def test_every_example_loads(path):
    s = load_spec(path)
    s.check()
    assert s.circuits


def test_every_circ_example_is_tested():
    stems = {p.stem for p in example_files(".circ")}
    assert stems == TESTED, f"untested examples: {sorted(stems - TESTED)}; missing: {sorted(TESTED - stems)}"


# --------------------------------------------------------------------------------------------
# Adders

def test_half_adder():
    c = spec("half_adder").circuit("half_adder")
    X, Y = truth_table(c)
    for (a, b), (s, cy) in zip(X.tolist(), Y.tolist()):
        assert s + 2 * cy == a + b


@pytest.mark.parametrize("name", ["full_adder", "full_adder_halves"])
def test_full_adder(name):
    c = spec("full_adder").circuit(name)
    assert [p.name for p in c.inputs] == ["a", "b", "cin"]
    assert [p.name for p in c.outputs] == ["s", "cout"]
    X, Y = truth_table(c)
    assert X.tolist() == [list(r) for r in rows(3)]
    for (a, b, cin), (s, cout) in zip(X.tolist(), Y.tolist()):
        assert s + 2 * cout == a + b + cin


def test_ripple_adder_16_bits():
    c = spec("ripple_adder").circuit("ripple_adder")      # the default, N = 16
    assert c.params == (("N", 16),)
    assert [(p.name, p.width) for p in c.inputs] == [("a", 16), ("b", 16), ("cin", None)]
    rng = random.Random(16)
    corners = [0, 1, 2, 0x7FFF, 0x8000, 0xFFFE, 0xFFFF, 0x5555, 0xAAAA]
    pairs = [(a, b, cin) for a in corners for b in corners for cin in (0, 1)]
    pairs += [(rng.getrandbits(16), rng.getrandbits(16), rng.getrandbits(1)) for _ in range(2000)]
    a, b, cin = (np.array(col, dtype=np.int64) for col in zip(*pairs))
    out = evaluate(c, {"a": a, "b": b, "cin": cin})
    got = bits_to_int(out["s"]) + (out["cout"].astype(np.int64) << 16)
    assert got.tolist() == [x + y + z for x, y, z in pairs]


def test_ripple_adder_4_bits_every_pair_through_an_include():
    # A 4-bit instance of the parametric adder, inside a circuit that includes the example.
    s = parse('include "ripple_adder.circ";\n'
              "circuit add4 { in a[4], b[4]; out y[5]; (y[0:4], y[4]) = ripple_adder<4>(a, b, 0); }",
              base_dir=EXAMPLES)
    c = s.circuit("add4")
    a = np.repeat(np.arange(16), 16)
    b = np.tile(np.arange(16), 16)
    y = bits_to_int(evaluate(c, {"a": a, "b": b})["y"])
    assert y.tolist() == [x + z for x, z in zip(a.tolist(), b.tolist())]


# --------------------------------------------------------------------------------------------
# Comparator

def check_comparator(c: BoolCircuit, n: int) -> None:
    a = np.repeat(np.arange(1 << n), 1 << n)
    b = np.tile(np.arange(1 << n), 1 << n)
    out = evaluate(c, {"a": a, "b": b})
    A, B = a.tolist(), b.tolist()
    assert out["lt"].tolist() == [int(x < y) for x, y in zip(A, B)]
    assert out["eq"].tolist() == [int(x == y) for x, y in zip(A, B)]
    assert out["gt"].tolist() == [int(x > y) for x, y in zip(A, B)]


def test_comparator_8_bits_every_pair():
    c = spec("comparator").circuit("comparator")
    assert c.params == (("N", 8),)
    check_comparator(c, 8)


def test_comparator_other_widths():
    for n in (1, 3, 5):
        s = parse(f'include "comparator.circ"; network n {{ use comparator<{n}> * 1; active = 1; }}',
                  base_dir=EXAMPLES)
        check_comparator(s.circuit(f"comparator<N={n}>"), n)


# --------------------------------------------------------------------------------------------
# Multiplexers

def test_mux4_word():
    c = spec("mux").circuit("mux4_word")
    rng = random.Random(4)
    cases = [(sel, [rng.getrandbits(8) for _ in range(4)]) for sel in range(4) for _ in range(100)]
    sel = np.array([s_ for s_, _ in cases])
    words = {f"d{k}": np.array([d[k] for _, d in cases]) for k in range(4)}
    y = bits_to_int(evaluate(c, {"s": sel, **words})["y"])
    assert y.tolist() == [d[s_] for s_, d in cases]


def test_mux8_truth_table():
    c = spec("mux").circuit("mux8")
    assert c.input_bits == tuple(f"s[{i}]" for i in range(3)) + tuple(f"d[{i}]" for i in range(8))
    X, Y = truth_table(c)
    assert len(X) == 2 ** 11
    for x, (y,) in zip(X.tolist(), Y.tolist()):
        s_, d = to_int(x[:3]), x[3:]
        assert y == d[s_]


# --------------------------------------------------------------------------------------------
# Parity

@pytest.mark.parametrize("name", ["parity64", "parity", "parity_builtin"])
def test_parity_64(name):
    c = spec("parity").circuit(name)
    assert c.input_bits == tuple(f"x[{i}]" for i in range(64))
    rng = random.Random(64)
    values = [0, 1, 2 ** 64 - 1, 2 ** 63, 2 ** 63 - 1] + [rng.getrandbits(64) for _ in range(1000)]
    values += [1 << i for i in range(64)]
    X = np.array([bits_of(v, 64) for v in values], dtype=np.uint8)
    y = evaluate_bits(c, X)[:, 0]
    assert y.tolist() == [bin(v).count("1") % 2 for v in values]


def test_parity_tree_shapes():
    s = spec("parity")
    tree = s.circuit("parity64")
    xors = [g for g in tree.gates if g.op.value == "xor"]
    assert len(xors) == 63 and all(len(g.args) == 2 for g in xors)
    assert circuitc.depth(tree) <= 8       # a balanced tree, not a chain of 63
    rec = s.circuit("parity")
    assert sum(g.op.value == "xor" for g in rec.gates) == 63
    # odd widths: the recursive version splits unevenly
    for n in (1, 5, 7, 13):
        c = parse(f'include "parity.circ"; network n {{ use parity<{n}> * 1; active = 1; }}',
                  base_dir=EXAMPLES).circuit(f"parity<N={n}>")
        X, Y = truth_table(c)
        assert Y[:, 0].tolist() == [sum(r) % 2 for r in rows(n)]


# --------------------------------------------------------------------------------------------
# Majority

def test_maj3():
    c = spec("majority").circuit("maj3")
    X, Y = truth_table(c)
    assert Y[:, 0].tolist() == [int(sum(r) > 1) for r in rows(3)]


def test_maj9_is_true_majority():
    c = spec("majority").circuit("maj9")
    X, Y = truth_table(c)
    assert Y[:, 0].tolist() == [int(sum(r) > 9 // 2) for r in rows(9)]


def test_maj3_tree9_is_recursive_majority():
    c = spec("majority").circuit("maj3_tree9")
    X, Y = truth_table(c)
    assert X.tolist() == [list(r) for r in rows(9)]

    def m3(a, b, c_):
        return int(a + b + c_ >= 2)

    expected = [m3(m3(*r[0:3]), m3(*r[3:6]), m3(*r[6:9])) for r in rows(9)]
    assert Y[:, 0].tolist() == expected
    # ... which differs from the true majority, as the example's comment says
    row = [1, 1, 0, 1, 1, 0, 0, 0, 0]
    assert evaluate_bits(c, [row])[0, 0] == 1 and sum(row) < 5


# --------------------------------------------------------------------------------------------
# Multiplier

def test_multiplier2_exhaustive():
    c = spec("multiplier2").circuit("multiplier2")
    a = np.repeat(np.arange(4), 4)
    b = np.tile(np.arange(4), 4)
    p = bits_to_int(evaluate(c, {"a": a, "b": b})["p"])
    assert p.tolist() == [x * y for x, y in zip(a.tolist(), b.tolist())]


# --------------------------------------------------------------------------------------------
# MLP

def test_mlp_xor_weights_file(tmp_path):
    w = np.load(EXAMPLES / "mlp_xor_weights.npy", allow_pickle=False)
    assert w.tolist() == [[1.0, 1.0], [1.0, 1.0]]
    # the script that writes it reproduces it exactly
    module = load_script("examples/make_mlp_xor_weights.py")
    module.main(["make_mlp_xor_weights.py", str(tmp_path / "w.npy")])
    assert (tmp_path / "w.npy").read_bytes() == (EXAMPLES / "mlp_xor_weights.npy").read_bytes()


def test_mlp_xor():
    c = spec("mlp_xor").circuit("mlp_xor")
    assert isinstance(c, MLPCircuit)
    assert [layer.activation for layer in c.layers] == ["relu", "linear"]
    assert [layer.shape for layer in c.layers] == [(2, 2), (1, 2)]

    def by_hand(x0: float, x1: float) -> float:
        h1 = max(x0 + x1, 0.0)
        h2 = max(x0 + x1 - 1.0, 0.0)
        return h1 - 2.0 * h2

    X, Y = truth_table(c)
    for (x0, x1), (y,) in zip(X.tolist(), Y.tolist()):
        assert y == x0 ^ x1 == by_hand(x0, x1)
    rng = random.Random(2)
    pts = [(rng.uniform(-2, 3), rng.uniform(-2, 3)) for _ in range(200)]
    got = evaluate(c, {"x": np.array(pts)})["y"]
    for (x0, x1), y in zip(pts, got.tolist()):
        assert y == pytest.approx(by_hand(x0, x1), abs=1e-12)


# --------------------------------------------------------------------------------------------
# rotations.circ: a hundred different MLPs from one stacked weight file

def rotation_matrix(theta: float) -> np.ndarray:
    return np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])


def rotation_layer(theta: float) -> np.ndarray:
    """W_t = Wbar + dW_t, built entry by entry from the description in rotations.circ."""
    r = rotation_matrix(theta)
    w = np.array([[2.0, -2.0, 0.0, 0.0]] * 4)                  # Wbar: every row (2, -2, 0, 0)
    for k in (2, 3):
        w[k, 0] += -(r[k - 2, 0] + r[k - 2, 1])                 # -r_t @ (1, 1)
        w[k, 1] += +(r[k - 2, 0] + r[k - 2, 1])                 # +r_t @ (1, 1)
        w[k, 2:] += r[k - 2]                                    # r_t
    return w


def test_rotations_weights_file(tmp_path):
    module = load_script("examples/make_rotations.py")
    module.main(["make_rotations.py", str(tmp_path / "r.npy")])
    assert (tmp_path / "r.npy").read_bytes() == (EXAMPLES / "rotations.npy").read_bytes()
    w = np.load(EXAMPLES / "rotations.npy", allow_pickle=False)
    assert w.shape == (100, 4, 4) and w.dtype == np.float64
    theta = np.random.default_rng(0).uniform(0, 2 * np.pi, size=100)
    for t in (0, 7, 99):
        assert np.allclose(w[t], rotation_layer(theta[t]), atol=1e-15)


def test_rotations_network_declares_100_different_circuits():
    s = spec("rotations")
    net = s.network("rotations")
    assert [(g.circuit, g.count) for g in net.groups] == [(f"rotation<i={t}>", 1) for t in range(100)]
    assert (net.T, net.z, net.D, net.S, net.construction, net.seed) == (100, 2, 1000, 6, "cis2", 0)
    theta = np.random.default_rng(0).uniform(0, 2 * np.pi, size=100)
    bias = [-0.5, -1.5, -1.0, -1.0]
    for t in range(100):
        c = s.circuit(f"rotation<i={t}>")
        assert isinstance(c, MLPCircuit) and c.params == (("i", t),)
        assert [(p.name, p.width) for p in c.inputs + c.outputs] == [("a", 4), ("y", 4)]
        assert [layer.activation for layer in c.layers] == ["relu"] * 5
        for layer in c.layers:
            assert np.allclose(layer.weights, rotation_layer(theta[t]), atol=1e-15)
            assert layer.bias.tolist() == bias
    assert not np.allclose(s.circuit("rotation<i=7>").layers[0].weights, s.circuit("rotation<i=8>").layers[0].weights)


@pytest.mark.parametrize("t", [0, 7, 63, 99])
def test_rotation_circuits_rotate_the_payload(t):
    c = spec("rotations").circuit(f"rotation<i={t}>")
    theta = np.random.default_rng(0).uniform(0, 2 * np.pi, size=100)[t]
    phi = np.linspace(0, 2 * np.pi, 25)
    a = np.stack([np.full_like(phi, 1.5), np.full_like(phi, 0.5), np.cos(phi) + 1, np.sin(phi) + 1], axis=1)
    one = dataclasses.replace(c, layers=c.layers[:1])
    for circuit, turns in ((one, 1), (c, 5)):
        y = evaluate(circuit, {"a": a})["y"]
        assert np.allclose(y[:, :2], [1.5, 0.5], atol=1e-12)          # the constants come back
        payload = y[:, 2:] - (y[:, 0] - y[:, 1])[:, None]              # (a2, a3) - (a0 - a1)
        expected = (rotation_matrix(turns * theta) @ np.stack([np.cos(phi), np.sin(phi)])).T
        assert np.allclose(payload, expected, atol=1e-12)


# --------------------------------------------------------------------------------------------
# Feature gates

def test_feature_gates_on_sparse_inputs():
    s = spec("features")
    fs = s.feature_set("f")
    assert (fs.m, fs.s, fs.d0, fs.seed) == (1024, 3, 512, 1)
    c = s.circuit("feature_gates")
    assert c.features == "f" and [(p.name, p.width) for p in c.inputs] == [("f", 1024)]

    used = list(range(8)) + [10, 11, 12, 20, 21, 30, 31, 32, 40, 41, 42, 43]
    rng = random.Random(256)
    actives = [set()] + [{i} for i in used]
    actives += [{2 * i, 2 * i + 1} for i in range(4)] + [{30, 31, 32}, {40, 41}, {42, 43}, {20, 21}]
    for _ in range(3000):
        k = rng.randint(1, fs.s)
        pool = used if rng.random() < 0.8 else range(fs.m)
        actives.append(set(rng.sample(list(pool), k)))
    X = np.zeros((len(actives), fs.m), dtype=np.uint8)
    for r, on in enumerate(actives):
        X[r, sorted(on)] = 1
    assert X.sum(axis=1).max() <= fs.s
    out = evaluate(c, {"f": X})

    def f(on, i):
        return int(i in on)

    for r, on in enumerate(actives):
        assert out["pair"][r].tolist() == [f(on, 2 * i) & f(on, 2 * i + 1) for i in range(4)]
        assert out["any"][r] == f(on, 10) | f(on, 11) | f(on, 12)
        assert out["odd"][r] == f(on, 20) ^ f(on, 21)
        assert out["all3"][r] == f(on, 30) & f(on, 31) & f(on, 32)
        assert out["two_level"][r] == (f(on, 40) & f(on, 41)) | ((1 - f(on, 42)) & f(on, 43))
    # every gate fires on some row and stays off on another
    for name, v in out.items():
        assert 0 < np.asarray(v).sum() < np.asarray(v).size, name


# --------------------------------------------------------------------------------------------
# Network

def test_network_declaration():
    s = spec("network")
    net = s.network("adders")
    assert net.T == 800 + 150 + 300 + 150
    assert [(g.circuit, g.count) for g in net.groups] == [
        ("full_adder", 800), ("ripple_adder<N=4>", 150), ("comparator<N=4>", 300), ("c17", 150)]
    assert (net.z, net.D, net.S, net.allocation, net.seed) == (1, 4096, 2, "prime-step", 1)
    names = {c.name for c in s.circuits}
    assert {g.circuit for g in net.groups} <= names


def test_network_instances_compute_what_they_say():
    s = spec("network")
    add4 = s.circuit("ripple_adder<N=4>")
    assert add4.params == (("N", 4),)
    X, Y = truth_table(add4)                               # 9 inputs: a[0..3], b[0..3], cin
    for x, y in zip(X.tolist(), Y.tolist()):
        assert to_int(y) == to_int(x[0:4]) + to_int(x[4:8]) + x[8]
    check_comparator(s.circuit("comparator<N=4>"), 4)
    c17 = s.circuit("c17")
    X, Y = truth_table(c17)

    def nand(p, q):
        return 1 - (p & q)

    for (i1, i2, i3, i6, i7), (o22, o23) in zip(X.tolist(), Y.tolist()):
        assert o22 == nand(nand(i1, i3), nand(i2, nand(i3, i6)))
        assert o23 == nand(nand(i2, nand(i3, i6)), nand(nand(i3, i6), i7))


def test_network_compiles_and_is_exact():
    # Four circuit types, each in its own range of neurons, 90 % of the allocation filled.
    from circuitc.instances.compile import compile_network
    from circuitc.instances.verify import verify

    comp = compile_network(spec("network"), "adders")
    assert comp.warnings() == [] and comp.allocation.fill > 0.85
    for mode in ("random", "adversarial"):
        result = verify(comp, samples=300, seed=0, mode=mode, layer_errors=False)
        assert result["bit_accuracy"] == 1.0, (mode, result["per_circuit"])


def test_adders_network_declaration():
    s = spec("adders_network")
    net = s.network("adders")
    assert [(g.circuit, g.count) for g in net.groups] == [("full_adder", 2000)]
    assert (net.z, net.D, net.S, net.allocation, net.seed) == (1, 2048, None, "auto", 1)
    X, Y = truth_table(s.circuit("full_adder"))
    for (a, b, cin), (s_, cout) in zip(X.tolist(), Y.tolist()):
        assert s_ + 2 * cout == a + b + cin


def test_routed_adders_are_exact_at_z3():
    # 13,000 deep circuits in width 4096 with three active at once: compression above 8, exact.
    from circuitc.instances.compile import compile_network
    from circuitc.instances.verify import verify

    comp = compile_network(spec("routed_adders"))
    rep = comp.report()
    assert rep["config"]["construction"] == "routed" and rep["z"] == 3 and rep["compression"] > 8
    assert comp.guarantee.exact and comp.budget.verdict == "guaranteed"
    for mode in ("random", "adversarial"):
        result = verify(comp, samples=600, seed=1, mode=mode)
        assert result["bit_accuracy"] == 1.0, (mode, result["per_circuit"])


# --------------------------------------------------------------------------------------------
# budget_levels.circ: one network per verdict

def test_budget_levels_one_network_per_verdict():
    from circuitc.instances.budget import budget
    from circuitc.instances.compile import compile_network
    from circuitc.instances.verify import verify

    s = spec("budget_levels")
    verdicts = {name: budget(s, name) for name in ("apart", "close", "crowded", "packed")}
    assert {k: b.verdict for k, b in verdicts.items()} == {
        "apart": "guaranteed", "close": "expected", "crowded": "at risk", "packed": "over budget"}
    apart = verdicts["apart"]
    assert apart.figures["T"] == apart.figures["n"] // apart.figures["S"]      # the comment's n/S
    comp = compile_network(s, "apart")
    assert verify(comp, samples=1000, seed=1, mode="adversarial", layer_errors=False)["bit_accuracy"] == 1.0
    # The estimate grows with crowding, and the light-cone bound stays above it.
    wrong = [verdicts[k].risk["instances_wrong"] for k in ("close", "crowded", "packed")]
    assert wrong == sorted(wrong) and all(
        verdicts[k].risk["random_rows_at_risk"] >= verdicts[k].risk["instances_wrong"] for k in ("close", "crowded"))


def test_deep_features_compiles_and_keeps_every_level_right():
    from circuitc.features.network import compile_source
    from circuitc.features.verify import verify_features

    s = spec("deep_features")
    net = compile_source(s)                     # the defaults: target 1e-5, auto error correction
    assert net.levels.depth == 8 and net.corrections == list(range(1, 8))
    r = verify_features(net, samples=1000)
    gates = [l for l in r["layers"] if l["kind"] == "gate"]
    assert len(gates) == 8 and min(l["gate_accuracy"] for l in gates) >= 0.999
    assert r["bit_accuracy"] >= 0.999


# ------------------------------------------------------------------------------ fmt round trips

@pytest.mark.parametrize("path", sorted(p for p in EXAMPLES.iterdir()
                                        if p.suffix in (".circ", ".bench", ".blif", ".aag")),
                         ids=lambda p: p.name)
def test_every_example_formats_to_a_fixed_point(path):
    """`circuitc fmt` of every example (sources, and netlists printed as `.circ`) parses back to an
    equal Spec, and formatting the printout again changes nothing."""
    from circuitc.frontend.printer import spec_to_circ
    from circuitc.frontend.syntax.format import format_source
    original = load_spec(path)
    once = format_source(path.read_text()) if path.suffix == ".circ" else spec_to_circ(original)
    assert format_source(once) == once
    assert parse(once, base_dir=EXAMPLES) == original
