"""Input rows from `NAME=VALUE` assignments and CSV files (`circuitc.inputs`), called directly."""

from __future__ import annotations

import numpy as np
import pytest

import circuitc
from circuitc import CircuitError, parse_assignments, read_input_csv
from circuitc.inputs import MAX_LISTED, VALUE_FORMS, active_warning, parse_input_csv

SPEC = circuitc.parse("""\
circuit fa { in a, b, cin; out sum, cout; t = a ^ b; sum = t ^ cin; cout = (a & b) | (t & cin); }
circuit adder { in x[4], y[2]; out s[4]; s = x ^ {y, y}; }
features f[32] { active = 3; }
circuit anyf over f { out y; y = f[3] | f[17]; }
mlp tiny {
    in x[2], z;
    out y;
    layer linear { weights = [[1.0, 1.0, 1.0]]; bias = [0.0]; }
}
""")
FA, ADDER, ANYF, TINY = (SPEC.circuit(n) for n in ("fa", "adder", "anyf", "tiny"))


def row(circuit, *texts):
    X = parse_assignments(circuit, texts)
    assert X.shape == (1, len(circuit.input_bits))
    return X[0].tolist()


def problems(circuit, *texts):
    """(message, hint) of every diagnostic that parse_assignments raises."""
    with pytest.raises(CircuitError) as e:
        parse_assignments(circuit, texts)
    return [(d.message, d.hint) for d in e.value.diagnostics]


def test_the_forms_are_documented(capsys):
    from circuitc.cli import main

    assert "VALUE_FORMS" in circuitc.inputs.__doc__
    for form in ("x=0b1101", "x[3]=1", "x=0.5,1.25", "f=3,17"):
        assert form in VALUE_FORMS
    assert main(["eval", "--help"]) == 0
    assert VALUE_FORMS.splitlines()[0] in capsys.readouterr().out


# --------------------------------------------------------------------------------------------
# Assignments


def test_bits_in_input_bits_order():
    X = parse_assignments(FA, ["cin=1", "a=0", " b = 1 "])
    assert X.dtype == np.uint8 and X.tolist() == [[0, 1, 1]]


@pytest.mark.parametrize("value", ["13", "0b1101", "0B1101", "0xd", "0xD", "0o15", "1_3", "0b11_01", " 13 "])
def test_vector_value_forms(value):
    assert row(ADDER, f"x={value}", "y=0") == [1, 0, 1, 1, 0, 0]   # x[0] is the least significant bit


def test_single_bits_of_a_vector():
    assert row(ADDER, "x[3]=1", "x[0]=1", "x[ 1 ]=0", "x[2]=0", "y=3") == [1, 0, 0, 1, 1, 1]


def test_feature_lists():
    assert row(ANYF) == [0] * 32
    assert row(ANYF, "f=") == [0] * 32
    assert np.flatnonzero(row(ANYF, "f=3,17")).tolist() == [3, 17]
    assert np.flatnonzero(row(ANYF, "f= 17 , 3,")).tolist() == [3, 17]
    assert np.flatnonzero(row(ANYF, "f[5]=1")).tolist() == [5]


def test_mlp_reals():
    X = parse_assignments(TINY, ["x=0.5,1.25", "z=-2"])
    assert X.dtype == np.float64 and X.tolist() == [[0.5, 1.25, -2.0]]
    assert row(TINY, "x[1]=1e-1", "x[0]=inf", "z=0") == [float("inf"), 0.1, 0.0]


@pytest.mark.parametrize("texts, message, hint", [
    (["a=2"], "`a=2`: a bit is 0 or 1, got `2`", None),
    (["a"], "`a` is not an assignment: write NAME=VALUE", "inputs of `fa`: a, b, cin"),
    (["=1"], "`=1`: no input name before `=`", "inputs of `fa`: a, b, cin"),
    (["a="], "`a=`: no value after `=`", None),
    (["bb=0"], "`bb=0`: `fa` has no input named `bb`", "did you mean `b`?"),
    (["zzz=0"], "`zzz=0`: `fa` has no input named `zzz`", "inputs of `fa`: a, b, cin"),
    (["a[0]=1"], "`a[0]=1`: `a` is a single bit, not a vector", "write a=1"),
])
def test_bad_bit_assignments(texts, message, hint):
    assert problems(FA, *texts, "b=0", "cin=1")[0] == (message, hint)


def test_every_problem_at_once_and_no_missing_for_a_bad_port():
    assert problems(FA, "a=2", "a=1", "a=0", "c=1") == [
        ("`a=2`: a bit is 0 or 1, got `2`", None),
        ("`a=0`: input bit `a` is already given by `a=1`", None),
        ("`c=1`: `fa` has no input named `c`", "inputs of `fa`: a, b, cin"),
        ("missing inputs for `fa`: b, cin", "give every input as NAME=VALUE; the inputs are a, b, cin"),
    ]
    assert problems(FA, "a=2", "b=0", "cin=1") == [("`a=2`: a bit is 0 or 1, got `2`", None)]


@pytest.mark.parametrize("texts, message", [
    (["x=16"], "`x=16`: 16 does not fit in the 4 bits of `x` (0 .. 15)"),
    (["x=0x10"], "`x=0x10`: 16 does not fit in the 4 bits of `x` (0 .. 15)"),
    (["x=0b12"], "`x=0b12`: `0b12` is not a non-negative integer"),
    (["x=-1"], "`x=-1`: `-1` is not a non-negative integer"),
    (["x=1.5"], "`x=1.5`: `1.5` is not a non-negative integer"),
    (["x=1__0"], "`x=1__0`: `1__0` is not a non-negative integer"),
    (["x=_1"], "`x=_1`: `_1` is not a non-negative integer"),
    (["x=0x"], "`x=0x`: `0x` is not a non-negative integer"),
    (["x[4]=1"], "`x[4]=1`: bit 4 is out of range: `x` has bits x[0] .. x[3]"),
    (["x=1", "x[0]=1"], "`x[0]=1`: input bit `x[0]` is already given by `x=1`"),
])
def test_bad_vector_assignments(texts, message):
    assert problems(ADDER, *texts, "y=0")[0][0] == message


def test_bad_integer_hint():
    assert problems(ADDER, "x=q", "y=0")[0][1] == (
        "`x` has 4 bits: give 0 .. 15 as decimal, 0b… (binary, most significant bit first) or 0x… (hex), "
        "or set single bits as x[0]=1")


def test_missing_inputs():
    assert problems(ADDER, "x[1]=1", "y=0") == [
        ("missing inputs for `adder`: x[0], x[2], x[3]",
         "give every input as NAME=VALUE; the inputs are x[4], y[2]")]
    assert problems(ADDER, "x=1")[0][0] == "missing input for `adder`: y"


@pytest.mark.parametrize("circuit, texts, message", [
    (TINY, ["x=0.5", "z=0"], "`x=0.5`: `x` takes 2 comma-separated values, got 1"),
    (TINY, ["x=0.5,abc", "z=0"], "`x=0.5,abc`: `abc` is not a real number"),
    (TINY, ["x=1,2", "z=1_0"], "`z=1_0`: `1_0` is not a real number"),
    (TINY, ["x=1,2", "z[0]=1"], "`z[0]=1`: `z` is a single value, not a vector"),
    (ANYF, ["f=3,40"], "`f=3,40`: feature 40 is out of range: `f` has features 0 .. 31"),
    (ANYF, ["f=x"], "`f=x`: `x` is not a feature number"),
    (ANYF, ["f=3", "f=4"], "`f=4`: input bit `f[0]` is already given by `f=3`"),  # a list sets all
    (ANYF, ["g=1"], "`g=1`: `anyf` has no input named `g`"),
])
def test_bad_real_and_feature_assignments(circuit, texts, message):
    assert problems(circuit, *texts)[0][0] == message


def test_active_warning():
    assert active_warning(SPEC, ANYF, parse_assignments(ANYF, ["f=1,2,4"])) is None
    w = active_warning(SPEC, ANYF, parse_assignments(ANYF, ["f=1,2,4,5"]))
    assert w.render() == ("warning: 4 features of `f` are on, but it promises at most 3 (active = 3); "
                          "evaluating anyway")
    assert active_warning(SPEC, FA, np.ones((1, 3))) is None


# --------------------------------------------------------------------------------------------
# CSV


def csv_problems(text, circuit=FA):
    """The rendered report of parse_input_csv, as lines."""
    with pytest.raises(CircuitError) as e:
        parse_input_csv(text, circuit, "in.csv")
    return str(e.value).splitlines()


def test_csv_columns_in_any_order():
    X = parse_input_csv("cin,a,b\n1,0,0\n0,1,1\n", FA)
    assert X.dtype == np.uint8 and X.tolist() == [[0, 0, 1], [1, 1, 0]]
    X = parse_input_csv("\n y[1] ,x[3],x[2],x[1],x[0],y[0]\n\n1, 1,0,0,1,0\n", ADDER)
    assert X.tolist() == [[1, 0, 0, 1, 0, 1]]


def test_csv_header_only_and_features_omitted():
    assert parse_input_csv("a,b,cin\n", FA).shape == (0, 3)
    X = parse_input_csv("f[17],f[3]\n1,0\n1,1\n", ANYF)
    assert X.shape == (2, 32) and [np.flatnonzero(r).tolist() for r in X] == [[17], [3, 17]]


def test_csv_mlp():
    X = parse_input_csv("z,x[1],x[0]\n-1,2.5,1e-3\n", TINY)
    assert X.dtype == np.float64 and X.tolist() == [[0.001, 2.5, -1.0]]


def test_csv_bad_cell_points_at_it():
    assert csv_problems("a,b,cin\n0,0,0\n1,2,0\n") == [
        "in.csv:3:3: error: column `b`: expected 0 or 1, got `2`",
        "    3 | 1,2,0",
        "      |   ^",
    ]
    assert csv_problems("a,b,cin\n1,,0\n")[0] == "in.csv:2:3: error: column `b`: expected 0 or 1, got an empty cell"
    assert csv_problems("x[0],x[1],z\n1,2,0\n0.5,zero,1\n", TINY)[0] == (
        "in.csv:3:5: error: column `x[1]`: expected a real number, got `zero`")


def test_csv_rows_of_the_wrong_length():
    assert csv_problems("a,b,cin\n1,1\n")[0] == (
        "in.csv:2:1: error: expected 3 values (one per column of the header), got 2")
    assert csv_problems("a,b,cin\n0,0,0,1\n")[:3] == [
        "in.csv:2:7: error: expected 3 values (one per column of the header), got 4",
        "    2 | 0,0,0,1",
        "      |       ^",
    ]


def test_csv_bad_columns():
    assert csv_problems("a,bb,cin\n0,0,0\n") == [
        "in.csv:1:3: error: `fa` has no input bit `bb`",
        "    1 | a,bb,cin",
        "      |   ^~",
        "      = hint: did you mean `b`?",
        "in.csv:1:1: error: missing column for input bit b",
        "    1 | a,bb,cin",
        "      | ^",
        "      = hint: the header needs one column per input bit, in any order",
        "2 errors",
    ]
    assert csv_problems("a,b\n")[0] == "in.csv:1:1: error: missing column for input bit cin"
    assert csv_problems("b\n")[0] == "in.csv:1:1: error: missing columns for input bits a, cin"
    assert csv_problems("a,b,a,cin\n")[0] == "in.csv:1:5: error: column `a` appears twice (columns 1 and 3)"
    assert csv_problems("a,,b,cin\n")[:4] == [
        "in.csv:1:3: error: column 2 has no name", "    1 | a,,b,cin", "      |   ^",
        "      = hint: the first row names the input bit of every column"]
    assert (csv_problems("x,y[0],y[1]\n", ADDER)[3]
            == "      = hint: `x` has 4 bits: give one column per bit, x[0] .. x[3]")


def test_csv_many_bad_cells_are_summed_up():
    lines = csv_problems("a,b,cin\n" + "2,2,2\n" * 5)
    assert sum(": error: column" in line for line in lines) == MAX_LISTED
    assert lines[-2:] == ["error: … and 5 more bad cells in in.csv", f"{MAX_LISTED + 1} errors"]


def test_csv_empty_and_malformed():
    assert csv_problems("\n\n")[:2] == ["error: `in.csv` is empty: expected a header row of input bit names",
                                        "      = hint: e.g. a,b,cin"]
    lines = csv_problems('a,b,cin\n"' + "1" * 200_000 + '"\n')
    assert lines[0].startswith("in.csv:2:1: error: malformed CSV: field larger than field limit")


def test_read_input_csv(tmp_path):
    path = tmp_path / "in.csv"
    path.write_bytes("\ufeffa,b,cin\r\n1,0,1\r\n".encode())
    assert read_input_csv(path, FA).tolist() == [[1, 0, 1]]
    assert read_input_csv(str(path), FA).tolist() == [[1, 0, 1]]
    path.write_text("a,b,cin\n1,0,7\n")
    with pytest.raises(CircuitError, match=f"^{path}:2:5: error: column `cin`"):
        read_input_csv(path, FA)


def test_read_input_csv_unreadable(tmp_path):
    with pytest.raises(CircuitError, match="cannot find `nope.csv`"):
        read_input_csv("nope.csv", FA)
    with pytest.raises(CircuitError, match="is a directory, not a CSV file"):
        read_input_csv(tmp_path, FA)
    (tmp_path / "bin.csv").write_bytes(b"a\n\xff")
    with pytest.raises(CircuitError, match=r"is not a UTF-8 text file \(byte 2\)"):
        read_input_csv(tmp_path / "bin.csv", FA)


def test_many_bad_assignments_are_summed_up():
    c = circuitc.parse("circuit full_adder { in a, b, cin; out s; s = a ^ b ^ cin; }").circuit("full_adder")
    with pytest.raises(circuitc.CircuitError) as info:
        circuitc.parse_assignments(c, ["a=0", "b=1", "cin=1"] + ["{"] * 1000)
    messages = [d.message for d in info.value.diagnostics]
    assert len(messages) == MAX_LISTED + 1 and messages[-1] == f"… and {1000 - MAX_LISTED} more bad assignments"
