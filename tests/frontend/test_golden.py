"""Golden printouts of the elaborated IR: each example's Spec written as `.circ` by `spec_to_circ`.

A change to elaboration (gate structure, wire names, order) shows up here as a readable diff.
When a change is intended, regenerate with `CIRCUITC_UPDATE_GOLDEN=1 python -m pytest tests/test_golden.py`
and review the diff of tests/golden/ like code.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import circuitc
from circuitc.frontend.printer import spec_to_circ

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).resolve().parent / "golden"
EXAMPLES = ["half_adder.circ", "full_adder.circ", "multiplier2.circ", "mux.circ", "majority.circ",
            "mlp_xor.circ", "features.circ", "c17.bench", "mux4.blif"]


@pytest.mark.parametrize("name", EXAMPLES)
def test_printout_matches_golden(name):
    text = spec_to_circ(circuitc.load_spec(ROOT / "examples" / name), header=False)
    golden = GOLDEN / (name + ".txt")
    if os.environ.get("CIRCUITC_UPDATE_GOLDEN"):
        golden.write_text(text)
    assert golden.exists(), f"no golden file for {name}; run with CIRCUITC_UPDATE_GOLDEN=1"
    assert text == golden.read_text()


@pytest.mark.parametrize("name", EXAMPLES)
def test_printout_elaborates_to_the_same_circuits(name):
    spec = circuitc.load_spec(ROOT / "examples" / name)
    again = circuitc.parse(spec_to_circ(spec))
    # Parametric variants print under their canonical name (`adder<N=8>`) and read back without
    # parameters; everything else must be equal.
    assert [c.name for c in again.circuits] == [c.name for c in spec.circuits]
    for a, b in zip(again.circuits, spec.circuits):
        assert (a.inputs, a.outputs, a.kind) == (b.inputs, b.outputs, b.kind)
        assert getattr(a, "gates", None) == getattr(b, "gates", None)
        assert getattr(a, "layers", None) == getattr(b, "layers", None)


@pytest.mark.parametrize("suffix, text", [
    (".bench", "INPUT(a)\nINPUT(b)\nOUTPUT(a)\nOUTPUT(y)\ny = AND(a, b)\n"),
    (".blif", ".model io\n.inputs a b\n.outputs a y\n.names a b y\n11 1\n.end\n"),
    # `a_out` is taken: the printed port must find another name.
    (".bench", "INPUT(a)\nINPUT(b)\nOUTPUT(y)\nOUTPUT(a)\nOUTPUT(a_out)\na_out = NOT(b)\ny = AND(a, b)\n"),
])
def test_printout_of_a_netlist_whose_input_is_also_an_output(tmp_path, suffix, text):
    """ISCAS c2670 and LGSynth i1 list primary inputs among their outputs, so the imported circuit
    has one port name as both input and output. A `.circ` source declares each name once, so the
    printout renames that output (`a_out`, a buffer of `a`): the Spec read back differs from the
    netlist's in that port name only, and computes the same outputs, in the same order, on every
    input row."""
    import itertools

    import numpy as np

    path = tmp_path / ("io" + suffix)
    path.write_text(text)
    spec = circuitc.load_spec(path)
    again = circuitc.parse(spec_to_circ(spec))
    (a,), (b,) = again.circuits, spec.circuits
    assert a.inputs == b.inputs
    assert [p.width for p in a.outputs] == [p.width for p in b.outputs]
    renamed = [(p.name, q.name) for p, q in zip(a.outputs, b.outputs) if p.name != q.name]
    assert len(renamed) == 1 and renamed[0][1] == "a" and renamed[0][0] not in {w for g in b.gates for w in g.args}
    rows = np.array(list(itertools.product([0, 1], repeat=len(b.input_bits))), dtype=np.uint8)
    assert np.array_equal(circuitc.evaluate_bits(a, rows), circuitc.evaluate_bits(b, rows))
    # Printing the printout again changes nothing: it is a fixed point.
    assert spec_to_circ(again, header=False) == spec_to_circ(circuitc.parse(spec_to_circ(again)), header=False)
