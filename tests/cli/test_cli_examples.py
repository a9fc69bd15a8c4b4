"""Every command on every example: check, eval (truth table or CSV batch), graph (dot and json), fmt.

Correctness of each example against independent truth tables is in test_examples.py; here the CLI
must agree with the library on every file, and `fmt` must print something that elaborates back to
the same Spec.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest

import circuitc
from circuitc.cli import main

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
FILES = sorted(p for p in EXAMPLES.iterdir() if p.suffix in (".circ", ".bench", ".blif"))
# Every circuit of every example, but only the first few of a large family (different_circuits.circ
# declares 2,000 circuits of one definition, and each test loads its file again).
FAMILY, FROM_FAMILY = 50, 2
CIRCUITS = [(f, c.name) for f in FILES for spec in [circuitc.load_spec(f)]
            for c in (spec.circuits if len(spec.circuits) <= FAMILY else spec.circuits[:FROM_FAMILY])]


def run(capsys, *argv) -> str:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "Traceback" not in err
    return out


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_check(path, capsys):
    report = json.loads(run(capsys, "check", path, "--json"))
    spec = circuitc.load_spec(path)
    assert [c["name"] for c in report["circuits"]] == [c.name for c in spec.circuits]
    assert run(capsys, "check", path).strip()


@pytest.mark.parametrize("path,name", CIRCUITS, ids=lambda x: getattr(x, "name", x))
def test_eval_agrees_with_the_library(path, name, capsys, tmp_path):
    circuit = circuitc.load_spec(path).circuit(name)
    n = len(circuit.input_bits)
    if circuit.kind == "boolean" and n <= 12:
        out = run(capsys, "eval", path, "--circuit", name, "--truth-table", "--output", tmp_path / "tt.csv")
        rows = list(csv.reader((tmp_path / "tt.csv").open()))
        X, Y = circuitc.truth_table(circuit)
        assert rows[0] == list(circuit.input_bits) + list(circuit.output_bits)
        assert np.array_equal(np.array(rows[1:], dtype=float), np.hstack([X, Y]))
        return
    rng = np.random.default_rng(0)
    if circuit.kind == "boolean":
        X = rng.integers(0, 2, size=(64, n))
        if circuit.features is not None:  # keep the sparsity promise: a few features on
            X = np.zeros((64, n), dtype=int)
            X[np.arange(64)[:, None], rng.integers(0, n, size=(64, 3))] = 1
    else:
        X = rng.normal(size=(64, n)).round(3)
    inputs = tmp_path / "in.csv"
    inputs.write_text(",".join(circuit.input_bits) + "\n" +
                      "\n".join(",".join(f"{v:g}" for v in row) for row in X) + "\n")
    out = run(capsys, "eval", path, "--circuit", name, "--inputs", inputs)
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == list(circuit.output_bits)
    got = np.array(rows[1:], dtype=float)
    assert np.allclose(got, circuitc.evaluate_bits(circuit, X))


@pytest.mark.parametrize("path,name", CIRCUITS, ids=lambda x: getattr(x, "name", x))
def test_graph(path, name, capsys):
    circuit = circuitc.load_spec(path).circuit(name)
    dot = run(capsys, "graph", path, "--circuit", name, "--format", "dot")
    assert dot.lstrip().startswith("digraph") and dot.rstrip().endswith("}")
    data = json.loads(run(capsys, "graph", path, "--circuit", name, "--format", "json"))
    assert data["name"] == circuit.name
    assert len(data["nodes"]) == circuitc.circuit_graph(circuit).number_of_nodes()


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_fmt_elaborates_back_to_the_same_spec(path, capsys):
    text = run(capsys, "fmt", path)
    again = circuitc.parse(text, filename="formatted.circ", base_dir=path.parent)
    assert again.circuits == circuitc.load_spec(path).circuits
    if path.suffix == ".circ":
        assert text == path.read_text(), f"{path.name} is not in canonical form; run `circuitc fmt -w`"
