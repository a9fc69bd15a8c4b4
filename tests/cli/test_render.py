"""Results as text (`circuitc.cli.render`), called directly."""

from __future__ import annotations

import numpy as np

import circuitc
from circuitc.cli.render import csv_text, format_outputs, format_real, truth_table_csv, truth_table_text

SPEC = circuitc.parse("""\
circuit fa { in a, b, cin; out sum, cout; t = a ^ b; sum = t ^ cin; cout = (a & b) | (t & cin); }
circuit adder { in x[4]; out s[5], c; s = {0, x}; c = x[0]; }
mlp tiny { in x[2]; out y[2]; layer linear { weights = [[1.0, 0.0], [0.0, -1.0]]; bias = [0.0, 0.0]; } }
""")


def test_format_real():
    assert [format_real(v) for v in (0.1, -0.0, 2, np.float64(1e300))] == ["0.1", "0.0", "2.0", "1e+300"]


def test_csv_text():
    M = np.array([[0, 1], [1, 1]], dtype=np.uint8)
    assert csv_text(["a", "b,c"], M) == 'a,"b,c"\n0,1\n1,1\n'
    assert csv_text(["y"], np.array([[0.5], [-0.0]]), real=True) == "y\n0.5\n0.0\n"
    assert csv_text([], np.zeros((2, 0), dtype=np.uint8)) == "\n\n\n"
    assert csv_text(["a"], np.zeros((0, 1), dtype=np.uint8)) == "a\n"


def test_truth_tables():
    X, Y = circuitc.truth_table(SPEC.circuit("fa"))
    text = truth_table_text(["a", "b", "cin"], ["sum", "cout"], X, Y)
    assert text.splitlines()[:3] == ["a b cin | sum cout", "0 0 0   | 0   0", "0 0 1   | 1   0"]
    assert truth_table_csv(["a", "b", "cin"], ["sum", "cout"], X, Y).splitlines()[:2] == ["a,b,cin,sum,cout",
                                                                                         "0,0,0,0,0"]
    X, Y = np.array([[0], [1]], dtype=np.uint8), np.array([[0.25], [-1.5]])
    assert truth_table_text(["x"], ["yy"], X, Y, real=True) == "x | yy\n0 | 0.25\n1 | -1.5\n"
    assert truth_table_csv(["x"], ["yy"], X, Y, real=True) == "x,yy\n0,0.25\n1,-1.5\n"


def test_format_outputs():
    adder = SPEC.circuit("adder")
    y = circuitc.evaluate_bits(adder, np.array([[1, 0, 0, 1]], dtype=np.uint8))[0]
    lines, ports, bits = format_outputs(adder, y)
    assert lines == ["s = 18 (0b10010)", "c = 1"]
    assert ports == {"s": 18, "c": 1} and bits["s[0]"] == 0 and bits["s[1]"] == 1 and len(bits) == 6
    out = format_outputs(SPEC.circuit("tiny"), np.array([0.5, -0.0]))
    assert out.lines == ["y = [0.5, 0.0]"] and out.ports == {"y": [0.5, 0.0]}
