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
