"""The BLIF importer: cover semantics against truth tables, hierarchy, the multiplier example,
and every error path."""

from __future__ import annotations

import hashlib
import random
import re
from pathlib import Path

import numpy as np
import pytest
from netlists import all_combinations, evaluate_netlist, expect_parse_error
from scripts import load_script

from circuitc.errors import CircuitError
from circuitc.frontend.importers.blif import load_blif, parse_blif
from circuitc.spec import BoolCircuit, Op

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def single_cover(inputs: list[str], rows: list[str]) -> BoolCircuit:
    """A model `m` with the given inputs and one output `y` driven by one cover."""
    text = "\n".join([".model m", f".inputs {' '.join(inputs)}", ".outputs y",
                      f".names {' '.join(inputs)} y", *rows, ".end", ""])
    return parse_blif(text).circuit("m")


def table(circuit: BoolCircuit, output: str = "y") -> list[int]:
    """The output's truth table, rows in counting order of the inputs (first input = MSB)."""
    names = [p.name for p in circuit.inputs]
    return evaluate_netlist(circuit, all_combinations(names))[output].astype(int).tolist()


def expect_error(text: str, line: int, col: int, *words: str, filename: str = "t.blif") -> CircuitError:
    """Parsing fails with a located diagnostic quoting the line, with a caret under `col`."""
    return expect_parse_error(parse_blif, text, line, col, *words, filename=filename)


# --------------------------------------------------------------------------- cover semantics

# (inputs, cover rows, truth table with the first input as the most significant bit)
COVERS = {
    "on-set, don't cares (or)": ("a b", ["1- 1", "-1 1"], [0, 1, 1, 1]),
    "single cube (and-not)": ("a b", ["10 1"], [0, 0, 1, 0]),
    "single literal": ("a b", ["-1 1"], [0, 1, 0, 1]),
    "negated literal": ("a", ["0 1"], [1, 0]),
    "off-set literal": ("a", ["1 0"], [1, 0]),
    "off-set negated literal": ("a", ["0 0"], [0, 1]),
    "off-set nand": ("a b", ["11 0"], [1, 1, 1, 0]),
    "off-set nor-of-negations (or)": ("a b", ["00 0"], [0, 1, 1, 1]),
    "off-set with don't cares (and)": ("a b", ["0- 0", "-0 0"], [0, 0, 0, 1]),
    "off-set mixed literal": ("a b", ["10 0"], [1, 1, 0, 1]),
    # y = not((a & ~c) | (~a & b & c))
    "off-set, several cubes": ("a b c", ["1-0 0", "011 0"], [1, 1, 1, 0, 0, 1, 0, 1]),
    # y = (a & b & ~c) | (~a & ~b) | c... written with a repeated row
    "on-set, repeated row": ("a b c", ["110 1", "00- 1", "--1 1", "110 1"], [1, 1, 0, 1, 0, 1, 1, 1]),
    "xor": ("a b", ["10 1", "01 1"], [0, 1, 1, 0]),
    "xnor": ("a b", ["00 1", "11 1"], [1, 0, 0, 1]),
    "xor as off-set": ("a b", ["00 0", "11 0"], [0, 1, 1, 0]),
    "xnor as off-set": ("a b", ["01 0", "10 0"], [1, 0, 0, 1]),
    "3-parity": ("a b c", ["100 1", "010 1", "001 1", "111 1"], [0, 1, 1, 0, 1, 0, 0, 1]),
    "3-parity off-set": ("a b c", ["000 0", "011 0", "101 0", "110 0"], [0, 1, 1, 0, 1, 0, 0, 1]),
    "incomplete parity is no xor": ("a b c", ["100 1", "010 1", "001 1"], [0, 1, 1, 0, 1, 0, 0, 0]),
    "all-dash cube": ("a b", ["-- 1"], [1, 1, 1, 1]),
    "all-dash cube among others": ("a b", ["10 1", "-- 1"], [1, 1, 1, 1]),
    "all-dash off-set": ("a b", ["-- 0"], [0, 0, 0, 0]),
    "inputs but no rows": ("a b", [], [0, 0, 0, 0]),
    "4:1 mux": ("s1 s0 d0 d1 d2 d3",
                ["001--- 1", "01-1-- 1", "10--1- 1", "11---1 1"],
                [(c >> (3 - ((c >> 4) & 3))) & 1 for c in range(64)]),
}


@pytest.mark.parametrize("case", list(COVERS))
def test_cover_semantics(case):
    inputs, rows, want = COVERS[case]
    circuit = single_cover(inputs.split(), rows)
    assert table(circuit) == want


def test_xor_covers_become_one_gate():
    assert [g.op for g in single_cover(["a", "b"], ["10 1", "01 1"]).gates] == [Op.XOR]
    assert [g.op for g in single_cover(["a", "b"], ["00 0", "11 0"]).gates] == [Op.XOR]
    xnor = single_cover(["a", "b"], ["00 1", "11 1"])
    assert [g.op for g in xnor.gates] == [Op.XOR, Op.NOT]
    assert "$" in xnor.gates[0].out


def test_compact_gates():
    assert [g.op for g in single_cover(["a"], ["1 1"]).gates] == [Op.BUF]
    assert [g.op for g in single_cover(["a"], ["0 1"]).gates] == [Op.NOT]
    assert [g.op for g in single_cover(["a", "b", "c"], ["1-1 1"]).gates] == [Op.AND]
    assert [g.op for g in single_cover(["a", "b"], ["0- 0", "-0 0"]).gates] == [Op.AND]
    assert [g.op for g in single_cover(["a", "b"], ["1- 1", "-1 1"]).gates] == [Op.OR]


@pytest.mark.parametrize("rows, const", [(["1"], Op.CONST1), ([], Op.CONST0), (["0"], Op.CONST0)])
def test_constants(rows, const):
    text = "\n".join([".model k", ".inputs a", ".outputs y", ".names y", *rows, ".end"])
    circuit = parse_blif(text).circuits[0]
    assert [g.op for g in circuit.gates] == [const]
    assert table(circuit) == [int(const is Op.CONST1)] * 2


def test_repeated_input_wire():
    # `.names a a y` with `10 1` asks for a & ~a: constant 0, however it is built.
    text = ".model m\n.inputs a\n.outputs y\n.names a a y\n10 1\n.end\n"
    assert table(parse_blif(text).circuits[0]) == [0, 0]


def cube_reference(rows: list[str], x: np.ndarray) -> np.ndarray:
    """A cover's value straight from its definition; x has shape (inputs, samples)."""
    planes = [r.split()[0] for r in rows]
    if not planes:
        return np.zeros(x.shape[1], dtype=bool)
    hit = np.zeros(x.shape[1], dtype=bool)
    for plane in planes:
        p = np.array(list(plane))[:, None]
        hit |= np.all((p == "-") | ((p == "1") & x) | ((p == "0") & ~x), axis=0)
    return hit if rows[0].split()[1] == "1" else ~hit


def test_random_covers_match_their_definition():
    rng = random.Random(7)
    for _ in range(300):
        k = rng.randint(1, 5)
        bit = rng.choice("01")
        rows = ["".join(rng.choice("01--") for _ in range(k)) + " " + bit
                for _ in range(rng.randint(0, 6))]
        names = [f"x{i}" for i in range(k)]
        circuit = single_cover(names, rows)
        x = all_combinations(names)
        got = evaluate_netlist(circuit, x)["y"]
        want = cube_reference(rows, np.array([x[n] for n in names]))
        assert np.array_equal(got, want), rows


# ------------------------------------------------------------------------- syntax variations

def test_continuations_comments_and_split_port_lists():
    text = r"""# leading comment
.model cont   # the model
.inputs a \
        b
.inputs c
.outputs y \
  z   # trailing comment after a continued line
.names a b \
  c y
1-1 1
-11 1   # comment on a row
.names \
   c z
0 1
.end
"""
    c = parse_blif(text).circuits[0]
    assert [p.name for p in c.inputs] == ["a", "b", "c"]
    assert [p.name for p in c.outputs] == ["y", "z"]
    v = evaluate_netlist(c, all_combinations(["a", "b", "c"]))
    assert v["y"].astype(int).tolist() == [0, 0, 0, 1, 0, 1, 0, 1]  # (a & c) | (b & c)
    assert v["z"].astype(int).tolist() == [1, 0] * 4
    by_out = {g.out: g for g in c.gates}
    assert by_out["y"].span.line == 8 and by_out["y"].span.end_line == 9  # both lines of `.names`
    assert by_out["z"].span.line == 12


def test_ignored_timing_and_area_directives():
    text = """.model t
.inputs a b
.outputs y
.default_input_arrival 0 0
.default_output_required 1 1
.input_arrival a 0.5 0.5
.output_required y 2 2
.default_input_drive 1 1
.input_drive a 1 1
.default_output_load 3
.output_load y 3
.default_max_input_load 9
.max_input_load a 9
.area 12
.delay a NONINV 1 999 1 0.2 1 0.2
.wire_load_slope 0.1
.wire 1 2 3
.names a b y
11 1
"""
    c = parse_blif(text).circuits[0]  # also: no `.end`
    assert table(c) == [0, 0, 0, 1]


def test_file_without_model_is_named_after_the_file(tmp_path):
    path = tmp_path / "lonely.blif"
    path.write_text(".inputs a\n.outputs y\n.names a y\n0 1\n")
    spec = load_blif(path)
    assert spec.circuits[0].name == "lonely"
    assert parse_blif(".inputs a\n.outputs y\n.names a y\n0 1\n").circuits[0].name == "blif"


def test_source_hash_and_spans():
    text = ".model s\n.inputs a\n.outputs y\n.names a y\n1 1\n.end\n"
    spec = parse_blif(text, "s.blif")
    assert spec.source == "s.blif"
    assert spec.source_hash == hashlib.sha256(text.encode()).hexdigest()
    c = spec.circuits[0]
    assert c.inputs[0].span.line == 2 and c.inputs[0].span.column == 9
    assert c.outputs[0].span.line == 3 and c.outputs[0].span.column == 10
    assert c.gates[0].span.line == 4 and c.gates[0].span.file == "s.blif"


# -------------------------------------------------------------------------------- hierarchy

HIERARCHY = """\
.model top
.inputs x0 x1 y0 y1 cin
.outputs s0 s1 cout
.subckt add1 a=x0 b=y0 ci=cin s=s0 co=c1
.subckt add1 a=x1 b=y1 ci=c1 s=s1 co=cout
.end

# a full adder out of two half adders; `co` of the second is never used
.model add1
.inputs a b ci
.outputs s co
.subckt half x=a y=b s=t c=g
.subckt half x=t y=ci s=s c=h
.names g h co
00 0
.end

.model half
.inputs x y
.outputs s c unused
.names x y s
01 1
10 1
.names x y c
11 1
.names unused
.end
"""


def test_subckt_hierarchy():
    spec = parse_blif(HIERARCHY)
    assert [c.name for c in spec.circuits] == ["top", "add1", "half"]
    top = spec.circuit("top")
    x = all_combinations(["x0", "x1", "y0", "y1", "cin"])
    v = evaluate_netlist(top, x)
    a = x["x0"].astype(int) + 2 * x["x1"].astype(int)
    b = x["y0"].astype(int) + 2 * x["y1"].astype(int)
    total = a + b + x["cin"].astype(int)
    got = v["s0"].astype(int) + 2 * v["s1"].astype(int) + 4 * v["cout"].astype(int)
    assert np.array_equal(got, total)
    # The netlist's wires keep their names; the instances' own wires get `$` names, apart.
    outs = [g.out for g in top.gates]
    assert len(set(outs)) == len(outs)
    assert {"s0", "s1", "c1", "cout"} <= set(outs)
    internal = [o for o in outs if o not in {"s0", "s1", "c1", "cout"}]
    assert internal and all("$" in o for o in internal)
    # Inlined gates point at the `.subckt` line of this circuit.
    assert {g.span.line for g in top.gates} == {4, 5}


def test_each_model_is_a_circuit_of_its_own():
    spec = parse_blif(HIERARCHY)
    add1 = spec.circuit("add1")
    x = all_combinations(["a", "b", "ci"])
    v = evaluate_netlist(add1, x)
    total = x["a"].astype(int) + x["b"].astype(int) + x["ci"].astype(int)
    assert np.array_equal(v["s"].astype(int) + 2 * v["co"].astype(int), total)
    half = spec.circuit("half")
    assert table(half, "s") == [0, 1, 1, 0] and table(half, "c") == [0, 0, 0, 1]
    assert table(half, "unused") == [0, 0, 0, 0]


def test_subckt_names_never_capture_netlist_wires():
    # The caller already uses the names an instance's wires would get.
    text = """.model top
.inputs a b
.outputs y half$0/t half$0/t$2
.names a b half$0/t
11 1
.names a b half$0/t$2
00 1
.subckt half x=a y=b s=y
.end
.model half
.inputs x y
.outputs s
.names x y t
10 1
.names x y u
01 1
.names t u s
1- 1
-1 1
.end
"""
    top = parse_blif(text).circuit("top")
    assert table(top, "y") == [0, 1, 1, 0]
    assert table(top, "half$0/t") == [0, 0, 0, 1]
    assert table(top, "half$0/t$2") == [1, 0, 0, 0]
    outs = [g.out for g in top.gates]
    assert len(set(outs)) == len(outs)


def test_mux4_example():
    mux = load_blif(EXAMPLES / "mux4.blif").circuit()
    names = ["s1", "s0", "d0", "d1", "d2", "d3"]
    x = all_combinations(names)
    select = 2 * x["s1"].astype(int) + x["s0"].astype(int)
    data = np.array([x[f"d{i}"] for i in range(4)])
    assert np.array_equal(evaluate_netlist(mux, x)["y"], data[select, np.arange(64)])


# ---------------------------------------------------------------------------- the multiplier

def test_multiplier8():
    spec = load_blif(EXAMPLES / "multiplier8.blif")
    mult = spec.circuits[0]
    assert mult.name == "multiplier8"
    assert 200 <= len(mult.gates) < 1000
    rng = np.random.default_rng(2024)
    corners = np.array([[0, 0], [0, 255], [255, 0], [255, 255], [1, 1], [1, 255], [128, 128],
                        [170, 85], [85, 170], [15, 240], [127, 129], [2, 128]])
    pairs = np.concatenate([corners, rng.integers(0, 256, size=(3000, 2))])
    a, b = pairs[:, 0], pairs[:, 1]
    x = {f"a{i}": (a >> i) & 1 == 1 for i in range(8)} | {f"b{i}": (b >> i) & 1 == 1 for i in range(8)}
    v = evaluate_netlist(mult, x)
    product = sum(v[f"p{k}"].astype(np.int64) << k for k in range(16))
    assert np.array_equal(product, a * b)


def test_multiplier8_file_uses_every_cover_style():
    text = (EXAMPLES / "multiplier8.blif").read_text()
    assert 200 <= text.count("\n.names ") < 1000
    assert ".subckt fa " in text
    rows = [line for line in text.splitlines() if re.fullmatch(r"[01-]+ [01]", line)]
    assert any("-" in r and r.endswith(" 1") for r in rows)    # on-set with don't cares
    assert any("-" in r and r.endswith(" 0") for r in rows)    # off-set with don't cares
    assert "10 1\n01 1" in text                                # two-row XOR
    fa = parse_blif(text).circuit("fa")
    x = all_combinations(["a", "b", "cin"])
    v = evaluate_netlist(fa, x)
    total = x["a"].astype(int) + x["b"].astype(int) + x["cin"].astype(int)
    assert np.array_equal(v["s"].astype(int) + 2 * v["cout"].astype(int), total)


def test_multiplier8_file_is_what_the_script_writes(tmp_path):
    module = load_script("examples/make_multiplier_blif.py")
    out = tmp_path / "m.blif"
    module.main(["make_multiplier_blif.py", str(out)])
    assert out.read_text() == (EXAMPLES / "multiplier8.blif").read_text()


# ------------------------------------------------------------------------------------- errors

MODEL = ".model m\n.inputs a b\n.outputs y\n"


@pytest.mark.parametrize("directive", [".latch a y re clk 0", ".mlatch DFF D=a Q=y clk 0",
                                       ".clock clk", ".clock_event 50 (clk, 0, 0)", ".cycle 100",
                                       ".end_kiss"])
def test_sequential_constructs(directive):
    text = MODEL + f"{directive}\n.names a b y\n11 1\n.end\n"
    name = directive.split()[0]
    err = expect_error(text, 4, 1, f"sequential construct `{name}` is not supported",
                       "circuitc compiles combinational logic only")
    assert len(err.diagnostics) == 1


def test_latch_output_is_not_reported_again():
    text = MODEL + ".latch n y re clk 0\n.names a b n\n11 1\n.end\n"
    err = expect_error(text, 4, 1, "sequential construct `.latch`")
    assert len(err.diagnostics) == 1


def test_kiss_block_is_one_error():
    text = MODEL + ".start_kiss\n.i 1\n.o 1\n0 s0 s1 0\n1 s1 s0 1\n.end_kiss\n.names a b y\n11 1\n.end\n"
    err = expect_error(text, 4, 1, "sequential construct `.start_kiss`")
    assert len(err.diagnostics) == 1


def test_exdc_is_one_error():
    text = MODEL + ".names a b y\n11 1\n.exdc\n.names a b y\n00 1\n.end\n"
    err = expect_error(text, 6, 1, "`.exdc` is not supported")
    assert len(err.diagnostics) == 1


def test_library_gate():
    text = MODEL + ".gate nand2 A=a B=b O=y\n.end\n"
    err = expect_error(text, 4, 1, "library-mapped gate `.gate` is not supported", "`.names`")
    assert len(err.diagnostics) == 1


def test_search():
    expect_error(".search other.blif\n" + MODEL + ".names a b y\n11 1\n", 1, 1,
                 "`.search` is not supported", "concatenate")


def test_unknown_directive():
    expect_error(MODEL + ".nmes a b y\n11 1\n.end\n", 4, 1,
                 "unknown directive `.nmes`", "did you mean `.names`?")


def test_mixed_on_and_off_set():
    expect_error(MODEL + ".names a b y\n11 1\n00 0\n.end\n", 6, 4,
                 "cover mixes on-set (output 1) and off-set (output 0) rows", "line 5 has output 1")


def test_plane_width():
    expect_error(MODEL + ".names a b y\n1 1\n", 5, 1,
                 "input plane `1` has 1 characters, but the `.names` on line 4 has 2 inputs")


def test_bad_plane_character():
    expect_error(MODEL + ".names a b y\n1x 1\n", 5, 2, "invalid character `x`", "don't care")


def test_bad_output_bit():
    expect_error(MODEL + ".names a b y\n11 -\n", 5, 4, "output bit `-` must be 0 or 1")


def test_malformed_rows():
    expect_error(MODEL + ".names a b y\n11\n", 5, 1, "malformed cover row for `.names` with 2 inputs")
    expect_error(MODEL + ".names y\n1 1\n", 5, 1, "malformed cover row for `.names` with 0 inputs")


def test_row_outside_names():
    expect_error(MODEL + "11 1\n.names a b y\n11 1\n", 4, 1, "cover rows belong after a `.names` line")


def test_names_without_wires():
    err = expect_error(MODEL + ".names\n11 1\n.names a b y\n11 1\n", 4, 1,
                       "`.names` needs at least an output wire")
    assert len(err.diagnostics) == 1  # its rows are not reported again


def test_wire_read_but_never_driven():
    text = ".model m\n.inputs alpha b\n.outputs y\n.names alpa b y\n11 1\n.names alpa z\n1 1\n.end\n"
    err = expect_error(text, 4, 8, "wire `alpa` is read but never driven", "did you mean `alpha`?")
    assert len(err.diagnostics) == 1  # reported at its first reader only


def test_wire_driven_twice():
    expect_error(MODEL + ".names a y\n1 1\n.names b y\n1 1\n", 6, 10,
                 "wire `y` is driven twice", "first driven on line 4 by `.names`")
    expect_error(MODEL + ".names b a\n1 1\n.names a y\n1 1\n", 4, 10,
                 "wire `a` is driven twice", "first driven on line 2 by `.inputs`")


def test_output_never_driven():
    expect_error(".model m\n.inputs a\n.outputs y yy\n.names a y\n1 1\n", 3, 12,
                 "output `yy` of model `m` is never driven", "did you mean `y`?")


def test_duplicate_ports():
    expect_error(".model m\n.inputs a a\n.outputs y\n.names a y\n1 1\n", 2, 11,
                 "input `a` is declared twice", "first declared on line 2")
    expect_error(".model m\n.inputs a\n.outputs y\n.outputs y\n.names a y\n1 1\n", 4, 10,
                 "output `y` is declared twice", "first declared on line 3")


def test_names_before_model():
    text = ".inputs a\n.model m\n.inputs a\n.outputs y\n.names a y\n1 1\n.end\n"
    expect_error(text, 1, 1, "`.inputs` before `.model`")
    ended = ".names y\n1\n.end\n.model m\n.outputs y\n.names y\n.end\n"
    expect_error(ended, 1, 1, "`.names` before `.model`")


def test_statement_after_end():
    text = MODEL + ".names a b y\n11 1\n.end\n.names a b z\n11 1\n"
    expect_error(text, 7, 1, "`.names` outside a model", "ended on line 6")


def test_duplicate_model():
    text = MODEL + ".names a b y\n11 1\n.end\n.model m\n.inputs a\n.outputs y\n.names a y\n1 1\n.end\n"
    expect_error(text, 7, 8, "model `m` is defined twice", "first defined on line 1")


def test_model_without_outputs():
    expect_error(".model m\n.inputs a\n.end\n", 1, 8, "model `m` declares no outputs")


def test_empty_file():
    with pytest.raises(CircuitError, match="holds no model"):
        parse_blif("# nothing here\n\n")


SUB = ".model half\n.inputs x y\n.outputs s\n.names x y s\n10 1\n01 1\n.end\n"


def test_unknown_model():
    expect_error(MODEL + ".subckt hlaf x=a y=b s=y\n.end\n" + SUB, 4, 9,
                 "unknown model `hlaf`", "did you mean `half`?")


def test_unknown_formal():
    err = expect_error(MODEL + ".subckt half x=a yy=b s=y\n.end\n" + SUB, 4, 18,
                       "model `half` has no port `yy`", "did you mean `y`?")
    assert "leaves input `y` unconnected" in str(err)


def test_unconnected_input():
    expect_error(MODEL + ".subckt half x=a s=y\n.end\n" + SUB, 4, 1,
                 "`.subckt half` leaves input `y` unconnected")


def test_formal_connected_twice():
    expect_error(MODEL + ".subckt half x=a y=b x=b s=y\n.end\n" + SUB, 4, 22,
                 "formal `x` is connected twice")


def test_malformed_connection():
    expect_error(MODEL + ".subckt half x=a y b s=y\n.end\n" + SUB, 4, 18,
                 "malformed connection `y`", "formal=actual")


def test_subckt_without_model_name():
    expect_error(MODEL + ".subckt\n.names a b y\n11 1\n", 4, 1, "`.subckt` needs a model name")


def test_recursive_subckt():
    direct = MODEL + ".subckt m a=a b=b y=y\n.end\n"
    expect_error(direct, 4, 1, "recursive `.subckt`: m -> m")
    indirect = (MODEL + ".subckt n p=a q=y\n.end\n"
                ".model n\n.inputs p\n.outputs q\n.subckt m a=p b=p y=q\n.end\n")
    expect_error(indirect, 9, 1, "recursive `.subckt`: m -> n -> m")


def test_all_problems_are_reported_together():
    text = """\
.model top
.inputs a b a
.outputs y z q
.names a b t
1x 1
10 1
01 0
.names t c y
11 1
.latch y r
.subckt fad x=a
.nmes a z
.names a y
1 1
.end
"""
    with pytest.raises(CircuitError) as info:
        parse_blif(text, "many.blif")
    err = info.value
    where = [(d.span.line, d.span.column) for d in err.diagnostics]
    assert where == sorted(where)
    assert where == [(2, 13), (3, 12), (3, 14), (5, 2), (7, 4), (8, 10), (10, 1), (11, 9),
                     (12, 1), (13, 10)]
    assert f"{len(where)} errors" in str(err)


def test_load_missing_file(tmp_path):
    with pytest.raises(CircuitError, match=r"cannot read BLIF file .*absent\.blif"):
        load_blif(tmp_path / "absent.blif")


def test_mutated_text_never_raises_anything_else():
    """Random character deletions and insertions give a Spec or a CircuitError, nothing else."""
    text = HIERARCHY + (EXAMPLES / "mux4.blif").read_text()
    rng = random.Random(1990)
    outcomes = {"ok": 0, "error": 0}
    for _ in range(300):
        chars = list(text)
        for _ in range(rng.randint(1, 3)):
            i = rng.randrange(len(chars))
            if rng.random() < 0.5:
                del chars[i]
            else:
                chars.insert(i, rng.choice(chars[i] + ".=-01 \n\\#$"))
        try:
            parse_blif("".join(chars), "mutant.blif")
            outcomes["ok"] += 1
        except CircuitError as err:
            assert err.diagnostics and "mutant.blif" in str(err)
            outcomes["error"] += 1
    assert outcomes["ok"] > 0 and outcomes["error"] > 0


# ----------------------------------------------------------------- the array reader (GateTable)

_COVERS = [  # (inputs, rows): ANDs, ORs, parities, negated literals, constants, repeated rows
    (2, ["11 1"]), (2, ["1- 1", "-1 1"]), (2, ["10 1", "01 1"]), (2, ["00 1", "11 1"]), (1, ["0 1"]),
    (1, ["1 1"]), (3, ["1-0 1", "01- 1"]), (2, ["0- 1", "-0 1"]), (0, ["1"]), (0, []), (2, ["-- 1"]),
    (3, ["100 1", "010 1", "001 1", "111 1"]), (2, ["11 1", "11 1"]), (2, ["01 1"]),
]


def _random_blif(seed: int, covers: int = 200, model: bool = True, strict: bool = False) -> str:
    """A random netlist of on-set covers; `strict`: in the form tools write (single spaces, no
    comments or blank lines), which the array reader reads a cover at a time."""
    rng = random.Random(seed)
    lines = [".model top"] if model else []
    lines += [".inputs " + " ".join(f"i{k}" for k in range(6)),
              f".outputs g{covers - 1} g{covers - 2}" + ("" if strict else "  # outs")]
    for g in range(covers):
        k, rows = rng.choice(_COVERS)
        wires = [rng.choice([f"i{j}" for j in range(6)] + [f"g{j}" for j in range(g)]) for _ in range(k)]
        if strict:
            lines.append(f".names {' '.join(wires + [f'g{g}'])}")
            lines += rows
            continue
        lines.append(f"{rng.choice(['', '  '])}.names {' '.join(wires + [f'g{g}'])}{rng.choice(['', ' # c'])}")
        lines += [r.replace(" ", rng.choice([" ", "\t"])) for r in rows]
        if rng.random() < 0.1:
            lines.append("")
    return "\n".join(lines + ([".end"] if model else [])) + "\n"


@pytest.mark.parametrize("variant", ["model", "implicit", "crlf", "bom", "mux4",
                                     "strict", "strict-implicit", "strict-unterminated"])
def test_array_reader_equals_statement_reader(variant):
    """Clean single-model netlists are read as arrays; the Spec equals the statement reader's,
    gate by gate with spans, and evaluates the same. Files in the form tools write take the
    cover-at-a-time pattern, the others the line-at-a-time one."""
    from circuitc import interpret
    from circuitc.frontend.importers.blif import _parse_clean, _parse_statements, _strict_covers
    from circuitc.spec import GateTable
    if variant == "mux4":
        text = (EXAMPLES / "mux4.blif").read_text()
    else:
        text = _random_blif(5, model="implicit" not in variant, strict=variant.startswith("strict"))
    if variant == "crlf":
        text = text.replace("\n", "\r\n")
    if variant == "bom":
        text = "\ufeff" + text
    if variant == "strict-unterminated":
        text = text.removesuffix(".end\n") + ".end"
    body = " " + text[1:] if text.startswith("\ufeff") else text
    assert (_strict_covers(body, "t.blif") is not None) == variant.startswith("strict")
    fast, slow = _parse_clean(body, text, "t.blif"), _parse_statements(text, "t.blif")
    assert fast is not None and isinstance(fast.circuit().gates, GateTable)
    assert fast == slow and fast.circuit().name == slow.circuit().name
    a, b = fast.circuit(), slow.circuit()
    assert a.span == b.span and [g.span for g in a.gates] == [g.span for g in b.gates]
    assert [p.span for p in a.inputs + a.outputs] == [p.span for p in b.inputs + b.outputs]
    rows = np.random.default_rng(0).integers(0, 2, (64, len(a.input_bits)), dtype=np.uint8)
    assert np.array_equal(interpret.evaluate_bits(a, rows), interpret.evaluate_bits(b, rows))


@pytest.mark.parametrize("text", [
    ".model m\n.inputs a\n.outputs y\n.names a y\n0 0\n.end\n",             # an off-set cover
    ".model m\n.inputs a b\n.outputs y\n.names a \\\nb y\n11 1\n.end\n",    # a continuation
    ".model m\n.inputs a b\n.outputs y\n.names a b y\n01 1\n.names b a$not\n1 1\n.end\n",  # `a$not` taken
    ".model m\n.inputs a\n.outputs y\n.names a b y\n11 1\n.end\n",          # b never driven
    ".model m\n.inputs a\n.outputs y\n.names a y\n11 1\n.end\n",            # a plane too wide
    ".model m\n.inputs a\n.outputs y\n.subckt m2 x=a\n.names a y\n1 1\n.end\n",
    ".model m\n.inputs a\n.outputs y\n11 1\n.names a y\n1 1\n.end\n",       # a row before `.names`
    ".model m\n.inputs a\n.outputs y y\n.names a y\n1 1\n.end\n",           # an output twice
    ".model m\n.inputs a\n.outputs y\n.names a y\n1 1\n.end\n.names a z\n1 1\n",
    ".model m\n.inputs a\n.outputs y\n.names a y\n1 1\n.model n\n",             # a second model
    ".model m\n.inputs a\n.outputs y\n.names a y\n1\n.end\n",                 # a row without its plane
])
def test_array_reader_declines_what_needs_the_statement_reader(text):
    from circuitc.frontend.importers.blif import _parse_clean, _parse_statements
    assert _parse_clean(text, text, "t.blif") is None
    try:
        _parse_statements(text, "t.blif")
    except CircuitError:
        pass
