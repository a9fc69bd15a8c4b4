"""Every case of the shared table, checked on the reference interpreter against its Python reference."""

from __future__ import annotations

import numpy as np
import pytest
from cases import CASES, EXHAUSTIVE_MAX_BITS, RANDOM_ROWS, expected_bits, input_rows, join_row, split_row

import circuitc


@pytest.fixture(scope="module")
def specs():
    return {}


def _circuit(case, specs):
    if case.name not in specs:
        specs[case.name] = circuitc.parse(case.source, filename=f"{case.name}.circ")
    return specs[case.name].circuit(case.circuit)


def test_table_is_well_formed():
    names = [c.name for c in CASES]
    assert len(names) == len(set(names))
    assert len(CASES) >= 15
    assert {c.kind for c in CASES} == {"boolean", "mlp"}


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_case_matches_reference(case, specs):
    circuit = _circuit(case, specs)
    assert circuit.kind == case.kind
    X = input_rows(case, circuit)
    n = len(circuit.input_bits)
    if case.kind == "boolean":
        assert len(X) == (2 ** n if n <= EXHAUSTIVE_MAX_BITS else RANDOM_ROWS)
    want = expected_bits(case, circuit, X)
    got = circuitc.evaluate_bits(circuit, X)
    if case.kind == "mlp":
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
        return
    assert got.dtype == np.uint8
    bad = np.flatnonzero((got != want).any(axis=1))
    if bad.size:
        row = X[bad[0]]
        pytest.fail(f"{case.name}: inputs {split_row(circuit.inputs, row)} give "
                    f"{split_row(circuit.outputs, got[bad[0]])}, the reference says "
                    f"{split_row(circuit.outputs, want[bad[0]])} ({bad.size} rows differ)")


@pytest.mark.parametrize("case", [c for c in CASES if c.kind == "boolean"], ids=lambda c: c.name)
def test_case_truth_table(case, specs):
    """truth_table enumerates the same rows; on small cases it agrees with the reference row by row."""
    circuit = _circuit(case, specs)
    n = len(circuit.input_bits)
    if n > EXHAUSTIVE_MAX_BITS:
        with pytest.raises(circuitc.CircuitError, match="truth table"):
            circuitc.truth_table(circuit, max_inputs=EXHAUSTIVE_MAX_BITS)
        return
    X, Y = circuitc.truth_table(circuit)
    assert X.shape == (2 ** n, n)
    assert len({tuple(r) for r in X.tolist()}) == 2 ** n
    assert (Y == expected_bits(case, circuit, X)).all()


@pytest.mark.parametrize("case", [c for c in CASES if c.kind == "boolean"], ids=lambda c: c.name)
def test_case_evaluate_by_port(case, specs):
    """`evaluate` with integers per port agrees with the reference on a few rows."""
    circuit = _circuit(case, specs)
    X = input_rows(case, circuit)[:64]
    inputs = {p.name: [] for p in circuit.inputs}
    for row in X:
        for k, v in split_row(circuit.inputs, row).items():
            inputs[k].append(v)
    out = circuitc.evaluate(circuit, {k: np.array(v) for k, v in inputs.items()})
    for r, row in enumerate(X):
        want = case.reference(split_row(circuit.inputs, row))
        for p in circuit.outputs:
            got = out[p.name][r]
            got_int = int(got) if p.width is None else sum(int(b) << j for j, b in enumerate(got))
            assert got_int == want[p.name], (case.name, p.name, split_row(circuit.inputs, row))


def test_mlp_case_by_port(specs):
    case = next(c for c in CASES if c.kind == "mlp")
    circuit = _circuit(case, specs)
    out = circuitc.evaluate(circuit, {"x": [0.3, 0.2], "t": 1.5})
    want = case.reference({"x": np.array([0.3, 0.2]), "t": 1.5})
    assert out["y"][0] == pytest.approx(want["y"])
    assert out["z"][0] == pytest.approx(want["z"])


def test_helpers_round_trip():
    class P:
        def __init__(self, name, width):
            self.name, self.width = name, width

    ports = [P("a", None), P("v", 3), P("b", 2)]
    row = [1, 1, 0, 1, 0, 1]
    assert split_row(ports, row) == {"a": 1, "v": 0b101, "b": 0b10}
    assert join_row(ports, split_row(ports, row)) == row
    with pytest.raises(KeyError):
        join_row(ports, {"a": 1})
    with pytest.raises(ValueError):
        join_row(ports, {"a": 2, "v": 0, "b": 0})
