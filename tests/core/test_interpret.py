"""The reference interpreter, checked against truth tables and evaluators written independently."""

from __future__ import annotations

import itertools
import time

import numpy as np
import pytest
from netlists import HALF_ADDER, bool_circuit, ripple_adder

from circuitc import interpret
from circuitc.errors import CircuitError
from circuitc.interpret import bits_to_int, evaluate, evaluate_bits, int_to_bits, truth_table
from circuitc.spec import BoolCircuit, Gate, Layer, MLPCircuit, Op, Port


def rows(n):
    """All 0/1 rows of n bits, first bit most significant (written without the interpreter)."""
    return [list(bits) for bits in itertools.product((0, 1), repeat=n)]


# --------------------------------------------------------------------------------------------
# Small circuits against hand-written truth tables

def test_half_adder_truth_table():
    X, Y = truth_table(HALF_ADDER)
    assert X.tolist() == [[0, 0], [0, 1], [1, 0], [1, 1]]
    assert Y.tolist() == [[0, 0], [1, 0], [1, 0], [0, 1]]
    assert Y.dtype == np.uint8


@pytest.mark.parametrize("carry", ["maj", "andor"])
def test_full_adder(carry):
    gates = [("s", "xor", "a", "b", "cin")]
    if carry == "maj":
        gates.append(("cout", "maj", "a", "b", "cin"))
    else:
        gates += [("p", "xor", "a", "b"), ("g", "and", "a", "b"), ("t", "and", "p", "cin"),
                  ("cout", "or", "g", "t")]
    c = bool_circuit(["a", "b", "cin"], ["s", "cout"], gates)
    X, Y = truth_table(c)
    assert X.tolist() == rows(3)
    for (a, b, cin), (s, cout) in zip(X.tolist(), Y.tolist()):
        assert 2 * cout + s == a + b + cin


def test_ripple_carry_adder_all_pairs():
    c = ripple_adder(4)
    a, b = np.meshgrid(np.arange(16), np.arange(16), indexing="ij")
    a, b = a.ravel(), b.ravel()
    out = evaluate(c, {"a": a, "b": b})
    assert out["s"].shape == (256, 4) and out["cout"].shape == (256,)
    got = bits_to_int(out["s"]) + 16 * out["cout"].astype(np.int64)
    assert got.tolist() == [int(x) + int(y) for x, y in zip(a, b)]


def test_ripple_carry_adder_truth_table_order():
    # Input bits are a[0..3], b[0..3]; the first one (a[0]) is the most significant row bit.
    c = ripple_adder(4)
    X, Y = truth_table(c)
    assert X.shape == (256, 8) and Y.shape == (256, 5)
    for r in range(256):
        bits = [(r >> (7 - i)) & 1 for i in range(8)]
        assert X[r].tolist() == bits
        a = sum(bits[i] << i for i in range(4))
        b = sum(bits[4 + i] << i for i in range(4))
        total = sum(int(Y[r, i]) << i for i in range(5))
        assert total == a + b


@pytest.mark.parametrize("k", [1, 3, 5, 7, 9, 15])
def test_majority(k):
    names = [f"x{i}" for i in range(k)]
    c = bool_circuit(names, ["m"], [("m", "maj", *names)])
    X, Y = truth_table(c)
    assert Y[:, 0].tolist() == [int(sum(r) > k // 2) for r in rows(k)]


def test_majority_from_and_or():
    # maj3 written out with and/or agrees with the maj gate
    c = bool_circuit(["a", "b", "c"], ["m", "n"], [
        ("ab", "and", "a", "b"), ("ac", "and", "a", "c"), ("bc", "and", "b", "c"),
        ("m", "or", "ab", "ac", "bc"), ("n", "maj", "c", "a", "b")])
    _, Y = truth_table(c)
    assert Y[:, 0].tolist() == Y[:, 1].tolist() == [int(sum(r) >= 2) for r in rows(3)]


def test_parity_16():
    names = [f"x[{i}]" for i in range(16)]
    c = bool_circuit([("x", 16)], ["p"], [("p", "xor", *names)])
    X, Y = truth_table(c)
    assert X.shape == (1 << 16, 16)
    expected = [bin(r).count("1") % 2 for r in range(1 << 16)]
    assert Y[:, 0].tolist() == expected
    # the same through evaluate() with integers
    v = np.arange(1 << 16)
    assert evaluate(c, {"x": v})["p"].tolist() == expected


def test_constants_buf_not_and_wires():
    c = bool_circuit(["a"], ["zero", "one", "copy", "neg", "same", "nz", "no"], [
        ("zero", "const0"), ("one", "const1"), ("copy", "buf", "a"), ("neg", "not", "a"),
        ("same", "and", "a", "a"), ("nz", "xor", "a", "a"), ("no", "or", "zero", "neg")])
    X, Y = truth_table(c)
    assert Y.tolist() == [[0, 1, 0, 1, 0, 0, 1], [0, 1, 1, 0, 1, 0, 0]]


def test_output_bits_that_are_inputs():
    c = bool_circuit([("x", 3)], [("y", 3)],
                     [("y[0]", "buf", "x[2]"), ("y[1]", "not", "x[1]"), ("y[2]", "buf", "x[0]")])
    out = evaluate(c, {"x": [0b001, 0b110]})
    assert out["y"].tolist() == [[0, 1, 1], [1, 0, 0]]
    passthrough = BoolCircuit("p", (Port("x", 2),), (Port("x", 2),), ())
    passthrough.check()
    assert evaluate(passthrough, {"x": [1, 2]})["x"].tolist() == [[1, 0], [0, 1]]


def test_no_inputs():
    c = bool_circuit([], ["one", "zero"], [("one", "const1"), ("zero", "const0"),
                                           ])
    X, Y = truth_table(c)
    assert X.shape == (1, 0) and Y.tolist() == [[1, 0]]
    assert evaluate(c, {})["one"].tolist() == [1]
    assert evaluate_bits(c, np.zeros((70, 0))).tolist() == [[1, 0]] * 70


def test_repeated_arguments():
    c = bool_circuit(["a", "b"], ["m", "x3"], [("m", "maj", "a", "a", "b"), ("x3", "xor", "a", "a", "a")])
    _, Y = truth_table(c)
    assert Y.tolist() == [[0, 0], [0, 0], [1, 1], [1, 1]]


def test_gates_out_of_order():
    c = bool_circuit(["a", "b"], ["y"], [("y", "not", "t"), ("t", "or", "u", "b"), ("u", "and", "a", "b")])
    _, Y = truth_table(c)
    assert Y[:, 0].tolist() == [1, 0, 1, 0]


# --------------------------------------------------------------------------------------------
# Random netlists against a per-gate reference evaluator

def random_netlist(n_gates, n_inputs, n_outputs, seed):
    rng = np.random.default_rng(seed)
    names = [f"x[{i}]" for i in range(n_inputs)]
    ops = rng.choice(["and", "or", "xor", "not", "buf", "maj", "const0", "const1"], n_gates,
                     p=[.2, .2, .2, .1, .07, .15, .04, .04]).tolist()
    fan_in = rng.integers(1, 7, n_gates).tolist()
    maj_in = rng.choice([1, 3, 5, 7], n_gates).tolist()
    local = (rng.random(n_gates) < 0.7).tolist()     # mostly recent wires (deep), some any (wide)
    gates = []
    for g, op in enumerate(ops):
        k = {"not": 1, "buf": 1, "const0": 0, "const1": 0, "maj": maj_in[g]}.get(op, fan_in[g])
        lo = max(0, len(names) - 40) if local[g] else 0
        args = [names[i] for i in rng.integers(lo, len(names), k).tolist()]
        gates.append((f"w{g}", op, *args))
        names.append(f"w{g}")
    chosen = rng.choice(np.arange(n_inputs, len(names)), n_outputs, replace=False)
    gates += [(f"y[{j}]", "buf", names[i]) for j, i in enumerate(chosen)]
    order = rng.permutation(len(gates))           # elaboration order is not topological
    return bool_circuit([("x", n_inputs)], [("y", n_outputs)], [gates[i] for i in order], name="rnd")


def reference_eval(circuit, X):
    """Per-gate evaluation over boolean columns: sweep the gate list until every wire is known."""
    X = np.asarray(X, dtype=bool)
    value = {b: X[:, i] for i, b in enumerate(circuit.input_bits)}
    pending = list(circuit.gates)
    while pending:
        later = []
        for g in pending:
            if not all(a in value for a in g.args):
                later.append(g)
                continue
            a = [value[x] for x in g.args]
            if g.op is Op.CONST0:
                v = np.zeros(len(X), dtype=bool)
            elif g.op is Op.CONST1:
                v = np.ones(len(X), dtype=bool)
            elif g.op is Op.AND:
                v = np.logical_and.reduce(a)
            elif g.op is Op.OR:
                v = np.logical_or.reduce(a)
            elif g.op is Op.XOR:
                v = np.sum(a, axis=0) % 2 == 1
            elif g.op is Op.NOT:
                v = ~a[0]
            elif g.op is Op.BUF:
                v = a[0]
            elif g.op is Op.MAJ:
                v = 2 * np.sum(a, axis=0) > len(a)
            value[g.out] = v
        assert len(later) < len(pending), "reference evaluator stuck"
        pending = later
    return np.stack([value[b] for b in circuit.output_bits], axis=1).astype(np.uint8)


RANDOM = random_netlist(2000, 24, 32, seed=7)


@pytest.mark.parametrize("batch", [1, 63, 64, 65, 127, 1000])
def test_random_netlist_batches(batch):
    X = np.random.default_rng(batch).integers(0, 2, (batch, 24))
    got = evaluate_bits(RANDOM, X)
    assert got.shape == (batch, 32) and got.dtype == np.uint8
    np.testing.assert_array_equal(got, reference_eval(RANDOM, X))


def test_random_netlist_row_by_row_matches_batch():
    X = np.random.default_rng(3).integers(0, 2, (65, 24)).astype(bool)
    whole = evaluate_bits(RANDOM, X)
    for i in range(0, 65, 16):
        np.testing.assert_array_equal(evaluate_bits(RANDOM, X[i:i + 1]), whole[i:i + 1])


def test_chunked_batches(monkeypatch):
    # A tiny chunk budget forces one word per chunk and a partial last chunk.
    X = np.random.default_rng(5).integers(0, 2, (300, 24))
    expected = reference_eval(RANDOM, X)
    monkeypatch.setattr(interpret, "_CHUNK_BYTES", 1)
    monkeypatch.setattr(interpret, "_MIN_CHUNK_BYTES", 1)
    np.testing.assert_array_equal(evaluate_bits(RANDOM, X), expected)


@pytest.mark.parametrize("slack", [0, 10**9])
@pytest.mark.parametrize("unpack_words", [0, 1 << 30])
def test_grouping_and_majority_strategies(monkeypatch, slack, unpack_words):
    # Every way of grouping gates and every majority method gives the reference result.
    monkeypatch.setattr(interpret, "_PAD_SLACK", slack)
    monkeypatch.setattr(interpret, "_MAJ_UNPACK_WORDS", unpack_words)
    c = random_netlist(2000, 24, 32, seed=7)      # a fresh object: no cached plan
    X = np.random.default_rng(11).integers(0, 2, (200, 24))
    np.testing.assert_array_equal(evaluate_bits(c, X), reference_eval(c, X))


def test_mixed_arity_groups():
    # One level holding maj/and/or/xor/not/buf of many arities, with one very wide gate each,
    # so that groups are padded together or split into arity classes.
    rng = np.random.default_rng(2)
    names = [f"x[{i}]" for i in range(9)]
    gates = []
    for g in range(120):
        op = ["maj", "and", "or", "xor", "not", "buf"][g % 6]
        k = {"maj": [1, 3, 5, 7, 9][g % 5], "not": 1, "buf": 1}.get(op, 1 + g % 5)
        gates.append((f"g{g}", op, *[names[i] for i in rng.integers(0, 9, k)]))
    wide = [names[i] for i in rng.integers(0, 9, 61)]
    gates += [("wm", "maj", *wide), ("wa", "and", *wide[:40]), ("wo", "or", *wide[:50]),
              ("wx", "xor", *wide)]
    outs = [g[0] for g in gates]
    c = bool_circuit([("x", 9)], outs, gates)
    X, Y = truth_table(c)
    np.testing.assert_array_equal(Y, reference_eval(c, X))
    assert len(interpret._plan(c).steps) > 4


def test_several_random_netlists():
    for seed in range(4):
        c = random_netlist(300, 10, 8, seed=100 + seed)
        X, Y = truth_table(c)
        np.testing.assert_array_equal(Y, reference_eval(c, X))


def test_empty_batch():
    assert evaluate_bits(HALF_ADDER, np.zeros((0, 2))).shape == (0, 2)


# --------------------------------------------------------------------------------------------
# truth_table

def test_truth_table_ordering_identity():
    c = bool_circuit(["p", "q", "r"], [("o", 3)],
                     [("o[0]", "buf", "p"), ("o[1]", "buf", "q"), ("o[2]", "buf", "r")])
    X, Y = truth_table(c)
    assert X.tolist() == rows(3)
    assert [int("".join(map(str, r)), 2) for r in X.tolist()] == list(range(8))
    np.testing.assert_array_equal(X, Y)


def test_truth_table_limit():
    c = bool_circuit([("x", 21)], ["y"], [("y", "and", *[f"x[{i}]" for i in range(21)])])
    with pytest.raises(CircuitError) as e:
        truth_table(c)
    assert "21 input bits" in str(e.value) and "limit of 20" in str(e.value)
    c = bool_circuit([("x", 13)], ["y"], [("y", "and", *[f"x[{i}]" for i in range(13)])])
    assert "limit of 12" in error_of(truth_table, c, 12)
    X, Y = truth_table(c, max_inputs=13)
    assert X.shape == (1 << 13, 13) and X[1].tolist() == [0] * 12 + [1]
    assert Y.sum() == 1 and Y[-1, 0] == 1


# --------------------------------------------------------------------------------------------
# evaluate() conventions

ADD2 = ripple_adder(2)


def test_evaluate_scalar_ports_and_broadcast():
    out = evaluate(HALF_ADDER, {"a": 1, "b": [0, 1, 1]})
    assert out["s"].tolist() == [1, 0, 0] and out["c"].tolist() == [0, 1, 1]
    out = evaluate(HALF_ADDER, {"a": True, "b": False})
    assert out["s"].shape == (1,) and out["s"].tolist() == [1]
    assert evaluate(HALF_ADDER, {"a": np.array([1]), "b": np.array([0, 1])})["s"].tolist() == [1, 0]


def test_evaluate_vector_ports_ints_and_bits():
    by_int = evaluate(ADD2, {"a": [3, 1, 2], "b": 3})
    by_bits = evaluate(ADD2, {"a": [[1, 1], [1, 0], [0, 1]], "b": [[1, 1]]})
    for out in (by_int, by_bits):
        assert out["s"].shape == (3, 2) and out["cout"].shape == (3,)
        assert (bits_to_int(out["s"]) + 4 * out["cout"]).tolist() == [6, 4, 5]
    one = evaluate(ADD2, {"a": 2, "b": 1})
    assert one["s"].tolist() == [[1, 1]] and one["cout"].tolist() == [0]


def test_evaluate_feature_circuit():
    c = bool_circuit([("f", 4)], ["any"], [("any", "or", "f[0]", "f[1]", "f[2]", "f[3]")], features="f")
    assert evaluate(c, {"f": [0, 4, 15]})["any"].tolist() == [0, 1, 1]
    c2 = bool_circuit([("x", 4)], ["any"], [("any", "or", "x[0]", "x[1]", "x[2]", "x[3]")], features="feats")
    assert evaluate(c2, {"feats": [[0, 0, 0, 0], [0, 1, 0, 0]]})["any"].tolist() == [0, 1]


def error_of(fn, *args):
    with pytest.raises(CircuitError) as e:
        fn(*args)
    return str(e.value)


def test_evaluate_errors():
    assert ("missing input" in error_of(evaluate, HALF_ADDER, {"a": 1})
            and " b" in error_of(evaluate, HALF_ADDER, {"a": 1}))
    msg = error_of(evaluate, ADD2, {"a": 1, "bb": 2})
    assert "no input named `bb`" in msg and "did you mean `b`" in msg and "missing input" in msg
    assert "0/1" in error_of(evaluate, HALF_ADDER, {"a": 2, "b": 0})
    assert "0/1" in error_of(evaluate, ADD2, {"a": [[0, 2]], "b": 0})
    assert "width 2" in error_of(evaluate, ADD2, {"a": [[0, 1, 1]], "b": 0})
    assert "4 does not fit in 2 bits" in error_of(evaluate, ADD2, {"a": 4, "b": 0})
    assert "negative" in error_of(evaluate, ADD2, {"a": -1, "b": 0})
    assert "integers" in error_of(evaluate, ADD2, {"a": 1.5, "b": 0})
    assert "batch sizes" in error_of(evaluate, ADD2, {"a": [1, 2, 3], "b": [1, 2]})
    assert "single bit" in error_of(evaluate, HALF_ADDER, {"a": [[1]], "b": 0})
    # every problem is reported at once
    with pytest.raises(CircuitError) as e:
        evaluate(ADD2, {"a": 9, "b": 7})
    assert len(e.value.diagnostics) == 2


def test_evaluate_bits_errors():
    assert "shape (batch, 2)" in error_of(evaluate_bits, HALF_ADDER, np.zeros((3, 3)))
    assert "shape (batch, 2)" in error_of(evaluate_bits, HALF_ADDER, np.zeros(2))
    msg = error_of(evaluate_bits, HALF_ADDER, np.array([[0, 1], [0.5, 1]]))
    assert "row 1" in msg and "`a`" in msg


def test_cyclic_and_malformed_circuits_are_refused():
    cyclic = BoolCircuit("loop", (Port("a"),), (Port("y"),),
                         (Gate("y", Op.AND, ("a", "z")), Gate("z", Op.NOT, ("y",))))
    assert "combinational cycle" in error_of(evaluate_bits, cyclic, np.zeros((1, 1)))
    undefined = BoolCircuit("u", (Port("a"),), (Port("y"),), (Gate("y", Op.AND, ("a", "nope")),))
    assert "undefined wire `nope`" in error_of(evaluate_bits, undefined, np.zeros((1, 1)))
    even_maj = BoolCircuit("m", (Port("a"),), (Port("y"),), (Gate("y", Op.MAJ, ("a", "a")),))
    assert "odd number" in error_of(evaluate_bits, even_maj, np.zeros((1, 1)))
    empty_and = BoolCircuit("e", (Port("a"),), (Port("y"),), (Gate("y", Op.AND, ()),))
    assert "takes 1+ inputs, got 0" in error_of(evaluate_bits, empty_and, np.zeros((1, 1)))


def test_wide_vector_ports_use_python_ints():
    names = [f"x[{i}]" for i in range(70)]
    c = bool_circuit([("x", 70)], [("y", 70)], [(f"y[{i}]", "buf", names[i]) for i in range(70)])
    v = [2**69 + 5, 2**64, 3]
    out = evaluate(c, {"x": v})["y"]
    assert bits_to_int(out).tolist() == v
    assert "does not fit" in error_of(evaluate, c, {"x": 2**70})
    c64 = bool_circuit([("x", 64)], [("y", 64)], [(f"y[{i}]", "buf", f"x[{i}]") for i in range(64)])
    top = np.array([2**64 - 1, 2**63], dtype=np.uint64)
    assert bits_to_int(evaluate(c64, {"x": top})["y"]).tolist() == [2**64 - 1, 2**63]


def test_bits_int_helpers():
    assert bits_to_int([1, 0, 1]) == 5
    assert bits_to_int(np.array([[0, 1], [1, 1]])).tolist() == [2, 3]
    assert int_to_bits([6, 1], 3).tolist() == [[0, 1, 1], [1, 0, 0]]
    v = np.arange(256)
    assert bits_to_int(int_to_bits(v, 8)).tolist() == v.tolist()
    with pytest.raises(CircuitError):
        int_to_bits(8, 3)
    with pytest.raises(CircuitError):
        bits_to_int([0, 2])


# --------------------------------------------------------------------------------------------
# MLPs

def xor_mlp():
    hidden = Layer(np.array([[1.0, 1.0], [1.0, 1.0]]), np.array([0.0, -1.0]), "relu")
    out = Layer(np.array([[1.0, -2.0]]), np.array([0.0]), "linear")
    c = MLPCircuit("xor", (Port("a"), Port("b")), (Port("y"),), (hidden, out))
    c.check()
    return c


def test_mlp_xor():
    c = xor_mlp()
    X, Y = truth_table(c)
    assert Y.dtype == np.float64
    assert Y[:, 0].tolist() == [0.0, 1.0, 1.0, 0.0]
    # h = relu(a + b), relu(a + b - 1); y = h0 - 2 h1
    out = evaluate(c, {"a": [0.5, 1.0, 1.5], "b": 0.25})["y"]
    assert out.tolist() == pytest.approx([0.75, 1.25 - 0.5, 1.75 - 1.5])


def test_mlp_hand_computation():
    W1 = np.array([[1.0, -2.0, 0.5], [0.0, 1.0, -1.0]])
    b1 = np.array([0.5, -0.25])
    W2 = np.array([[2.0, -1.0], [1.0, 1.0]])
    b2 = np.array([-1.0, 0.0])
    c = MLPCircuit("m", (Port("x", 3),), (Port("y", 2),),
                   (Layer(W1, b1, "relu"), Layer(W2, b2, "relu")))
    c.check()
    x = [0.3, -0.4, 2.0]
    h = [max(0.0, 0.3 + 0.8 + 1.0 + 0.5), max(0.0, -0.4 - 2.0 - 0.25)]      # [2.6, 0.0]
    y = [max(0.0, 2 * h[0] - h[1] - 1.0), max(0.0, h[0] + h[1])]            # [4.2, 2.6]
    assert evaluate(c, {"x": x})["y"].tolist() == [pytest.approx(y)]
    assert evaluate_bits(c, np.array([x, x])).tolist() == [pytest.approx(y)] * 2
    assert "width 3" in error_of(evaluate, c, {"x": [1.0, 2.0]})


# --------------------------------------------------------------------------------------------
# Speed (excluded by default; run with -m slow)

@pytest.mark.slow
def test_speed_100k_gates():
    c = random_netlist(100_000, 64, 64, seed=1)
    X = np.random.default_rng(0).integers(0, 2, (10_000, 64), dtype=np.uint8)
    evaluate_bits(c, X[:1])                       # builds and caches the plan
    best = min(_timed(evaluate_bits, c, X) for _ in range(3))
    assert best < 1.0, best


def _timed(fn, *args):
    t = time.perf_counter()
    fn(*args)
    return time.perf_counter() - t
