"""Levelling circuits over feature sets (feature_levels.py): the levels compute exactly what the
reference interpreter computes, with stored polarity, free NOT/BUF, folded constants, split wide
gates and carries."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from circuitc import parse
from circuitc.errors import CircuitError
from circuitc.features.levels import gate_table, levels_of, mobius_rows
from circuitc.features.mobius import mobius
from circuitc.frontend.load import load_spec
from circuitc.interpret import evaluate_bits
from circuitc.spec import Op

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def sparse_rows(m: int, s: int, n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    X = np.zeros((n, m), dtype=np.uint8)
    for r in range(n):
        X[r, rng.choice(m, size=rng.integers(0, s + 1), replace=False)] = 1
    return X


def every_row(m: int, s: int) -> np.ndarray:
    rows = [c for j in range(s + 1) for c in itertools.combinations(range(m), j)]
    X = np.zeros((len(rows), m), dtype=np.uint8)
    for r, c in enumerate(rows):
        X[r, list(c)] = 1
    return X


def circuit(body: str, m: int = 8, s: int = 2):
    spec = parse(f"features f[{m}] {{ active = {s}; }}\ncircuit c over f {{\n{body}\n}}\n")
    return spec.circuit("c"), spec.feature_set("f")


def check_exact(c, m: int, X: np.ndarray, k: int = 2):
    lv = levels_of(c, m, k)
    values = lv.evaluate(X)
    assert (lv.outputs(values[-1]) == evaluate_bits(c, X)).all()
    # stored polarity: every wire of every level is 0 when no feature is on
    for v in lv.evaluate(np.zeros((1, m), dtype=np.uint8)):
        assert not v.any()
    return lv


@pytest.mark.parametrize("stem,name", [("features", "feature_gates"), ("deep_features", "deep8")])
def test_examples_level_exactly(stem, name):
    spec = load_spec(EXAMPLES / f"{stem}.circ")
    c = spec.circuit(name)
    fs = spec.feature_set(c.features)
    X = sparse_rows(fs.m, fs.s, 3000)
    X[:64] = 0
    lv = check_exact(c, fs.m, X)
    assert lv.depth == (2 if stem == "features" else 8)


def test_every_sparse_row_of_a_mixed_circuit():
    c, fs = circuit("""
    out a, b, n, o, x, k, z, one, copy, w;
    a = f[0] & f[1];
    b = ~(f[2] | f[3]);          # 1 on the empty input: stored negated
    n = ~f[4];
    o = a | b;                    # reads a negated wire
    x = xor(f[0], f[5], f[6], f[7]);   # split into a tree at k = 2
    k = (f[1] & 1) ^ (f[2] & 0); # constants fold away
    z = f[3] & ~f[3];            # constant 0
    one = f[2] | ~f[2];          # constant 1
    copy = ~~f[6];               # a plain copy
    w = maj(f[0], f[1], f[2]);
    """)
    lv = check_exact(c, fs.m, every_row(fs.m, 3), k=3)
    assert lv.out_const[c.output_bits.index("one")] == 1
    assert lv.out_wire[c.output_bits.index("z")] == -1
    assert lv.out_negate[c.output_bits.index("n")]


def test_wide_xor_is_a_tree_of_k_input_gates():
    c, fs = circuit("out y; y = xor(f);", m=8)
    lv2 = check_exact(c, 8, every_row(8, 3), k=2)
    lv4 = check_exact(c, 8, every_row(8, 3), k=4)
    assert (lv2.depth, lv4.depth) == (3, 2)
    assert max(int(l.arity.max()) for l in lv2.levels) == 2


def test_wide_majority_is_refused_with_the_fix():
    c, _ = circuit("out y; y = maj(f[0], f[1], f[2], f[3], f[4]);")
    with pytest.raises(CircuitError) as e:
        levels_of(c, 8, 2)
    text = e.value.render() if hasattr(e.value, "render") else str(e.value)
    assert "reads more than k = 2 wires" in text and "--fan-in 5" in text
    check_exact(c, 8, every_row(8, 3), k=5)


def test_carries_copy_wires_forward():
    c, fs = circuit("""
    out late, early;
    wire t;
    t = f[0] & f[1];
    late = (t & f[2]) ^ f[3];     # f[3] is read at level 2
    early = f[4] & f[5];          # computed at level 1, carried to level 2
    """)
    lv = check_exact(c, fs.m, every_row(fs.m, 3))
    assert lv.depth == 3
    assert lv.levels[1].carry.any() and lv.levels[2].carry.any()


def test_features_count_must_match():
    c, _ = circuit("out y; y = f[0] & f[1];")
    with pytest.raises(CircuitError, match="reads 8 input bits, but its feature set has 9"):
        levels_of(c, 9)


def test_mobius_rows_agree_with_mobius():
    rng = np.random.default_rng(1)
    for k in (1, 2, 3):
        tables = rng.integers(0, 2, size=(20, 1 << k))
        rows = mobius_rows(tables)
        for t, row in zip(tables, rows):
            expect = mobius(t)
            got = {tuple(i for i in range(k) if j >> i & 1): int(c) for j, c in enumerate(row) if c}
            assert got == expect


def test_gate_tables():
    assert gate_table(Op.AND, 2).tolist() == [0, 0, 0, 1]
    assert gate_table(Op.OR, 2).tolist() == [0, 1, 1, 1]
    assert gate_table(Op.XOR, 3).tolist() == [0, 1, 1, 0, 1, 0, 0, 1]
    assert gate_table(Op.MAJ, 3).tolist() == [0, 0, 0, 1, 0, 1, 1, 1]


def test_on_counts_of_a_sparse_preserving_circuit():
    spec = load_spec(EXAMPLES / "deep_features.circ")
    c = spec.circuit("deep8")
    lv = levels_of(c, 256)
    # every wire on alone switches on exactly one wire of the next level
    assert lv.on_counts(3) == [3] * 9
    single = lv.evaluate(np.eye(256, dtype=np.uint8))
    assert all((v.sum(axis=1) == 1).all() for v in single)


def test_single_feature_counts_in_chunks():
    """Many features are evaluated alone in chunks, never as one m × m array."""
    c, _ = circuit("out y, x; y = f[0] & f[2999]; x = f[5] ^ f[2500];", m=3000, s=3)
    lv = levels_of(c, 3000)
    counts = lv.single_counts()
    assert counts.shape == (2, 3000) and (counts[0] == 1).all()
    assert sorted(np.nonzero(counts[1])[0].tolist()) == [5, 2500]
    assert lv.on_counts(3) == [3, 2]
    runs = list(lv.single_feature_runs(chunk=1000))
    assert [len(ids) for ids, _ in runs] == [1000, 1000, 1000]
