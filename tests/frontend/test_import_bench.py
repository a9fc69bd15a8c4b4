"""The ISCAS `.bench` importer: c17 against its formula, every gate type, every error path."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

import numpy as np
import pytest
from netlists import all_combinations, evaluate_netlist, expect_parse_error

from circuitc.errors import CircuitError
from circuitc.frontend.importers.bench import load_bench, parse_bench
from circuitc.spec import Op, Spec

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def expect_error(text: str, line: int, col: int, *words: str, filename: str = "t.bench") -> CircuitError:
    """Parsing fails with a located diagnostic quoting the line, with a caret under `col`."""
    return expect_parse_error(parse_bench, text, line, col, *words, filename=filename)


# ------------------------------------------------------------------------------------- c17

def c17_reference(x1, x2, x3, x6, x7):
    """c17's outputs as sums of products, worked out by hand from the six NANDs."""
    n11 = ~(x3 & x6)
    out22 = (x1 & x3) | (x2 & n11)
    out23 = n11 & (x2 | x7)
    return out22, out23


def test_c17_all_inputs():
    spec = load_bench(EXAMPLES / "c17.bench")
    c17 = spec.circuit()
    assert c17.name == "c17"
    assert [p.name for p in c17.inputs] == ["1", "2", "3", "6", "7"]
    assert [p.name for p in c17.outputs] == ["22", "23"]
    assert all(p.width is None for p in c17.inputs + c17.outputs)
    assert len(c17.gates) == 12  # six NANDs, each an AND and a NOT

    x = all_combinations(["1", "2", "3", "6", "7"])
    values = evaluate_netlist(c17, x)
    want22, want23 = c17_reference(x["1"], x["2"], x["3"], x["6"], x["7"])
    assert np.array_equal(values["22"], want22)
    assert np.array_equal(values["23"], want23)
    # Spot check one row by hand: all inputs 1 -> 22 = 1, 23 = 0.
    assert values["22"][-1] and not values["23"][-1]


def test_c17_names_spans_and_hash():
    path = EXAMPLES / "c17.bench"
    text = path.read_text()
    spec = load_bench(path)
    assert spec.source == str(path)
    assert spec.source_hash == hashlib.sha256(text.encode()).hexdigest()
    c17 = spec.circuits[0]
    by_out = {g.out: g for g in c17.gates}
    # The netlist's names are kept; the extra wire has a `$`.
    assert by_out["10"].op is Op.NOT and by_out["10"].args == ("10$and",)
    assert by_out["10$and"].op is Op.AND and by_out["10$and"].args == ("1", "3")
    lines = text.splitlines()
    for g in c17.gates:
        assert g.span is not None and g.span.file == str(path)
        assert lines[g.span.line - 1].startswith(g.out.split("$")[0] + " = NAND(")
        assert g.span.column == 1 and g.span.end_line == g.span.line
    for port in c17.inputs + c17.outputs:
        line = lines[port.span.line - 1]
        assert line[port.span.column - 1:port.span.end_column - 1] == port.name


def test_parse_string_defaults():
    spec = parse_bench("INPUT(a)\nOUTPUT(y)\ny = NOT(a)\n")
    assert isinstance(spec, Spec)
    assert spec.source == "<string>"
    assert spec.circuits[0].name == "bench"
    assert spec.source_hash == hashlib.sha256(b"INPUT(a)\nOUTPUT(y)\ny = NOT(a)\n").hexdigest()


# ------------------------------------------------------------------------------ gate types

GATE_TEXT = """\
# every gate type, in mixed case and spacing, in no particular order
  OUTPUT( y_and )
output(y_nand)   # trailing comment
OUTPUT(y_or)
OUTPUT(y_nor)
OUTPUT(y_xor)
OUTPUT(y_xnor)
OUTPUT(y_not)
OUTPUT(y_buf)
OUTPUT(y_buff)
OUTPUT(a)
y_and=AND(a,b,c)
y_nand = nand( a , b , c )
\ty_or = Or(a, b, c)
y_nor = NOR(a, b, c)
y_xor = XOR(a, b, c)
y_xnor = XNOR(a, b, c)
y_not = NOT(y_and)

y_buf = BUF(y_xor)
y_buff = BUFF(c)
INPUT(a)
INPUT(b)
INPUT(c)
"""


def test_every_gate_type():
    c = parse_bench(GATE_TEXT, "gates.bench").circuits[0]
    assert c.name == "gates"
    x = all_combinations(["a", "b", "c"])
    a, b, cc = x["a"], x["b"], x["c"]
    v = evaluate_netlist(c, x)
    want = {
        "y_and": a & b & cc, "y_nand": ~(a & b & cc), "y_or": a | b | cc, "y_nor": ~(a | b | cc),
        "y_xor": a ^ b ^ cc, "y_xnor": ~(a ^ b ^ cc), "y_not": ~(a & b & cc), "y_buf": a ^ b ^ cc,
        "y_buff": cc, "a": a,
    }
    assert [p.name for p in c.outputs] == list(want)
    for name, expected in want.items():
        assert np.array_equal(v[name], expected), name
    assert {g.op for g in c.gates} == {Op.AND, Op.OR, Op.XOR, Op.NOT, Op.BUF}


def test_internal_names_never_capture_netlist_wires():
    # The netlist already uses the name the importer would pick for NAND's inner AND.
    text = "INPUT(a)\nINPUT(b)\nOUTPUT(y)\nOUTPUT(y$and)\ny$and = OR(a, b)\ny = NAND(a, b)\n"
    c = parse_bench(text).circuits[0]
    x = all_combinations(["a", "b"])
    v = evaluate_netlist(c, x)
    assert np.array_equal(v["y"], ~(x["a"] & x["b"]))
    assert np.array_equal(v["y$and"], x["a"] | x["b"])
    assert len({g.out for g in c.gates}) == len(c.gates)


def test_cycles_are_left_to_the_graph_pass():
    spec = parse_bench("INPUT(i)\nOUTPUT(a)\na = AND(b, i)\nb = OR(a, i)\n")
    assert len(spec.circuits[0].gates) == 2


# ------------------------------------------------------------------------------------ errors

def test_unknown_gate_type():
    expect_error("INPUT(a)\nINPUT(b)\nOUTPUT(y)\ny = NADN(a, b)\n", 4, 5,
                 "unknown gate type `NADN`", "did you mean `NAND`?")


@pytest.mark.parametrize("kind", ["DFF", "dff", "LATCH"])
def test_sequential_elements(kind):
    expect_error(f"INPUT(a)\nOUTPUT(q)\nq = {kind}(a)\n", 3, 5,
                 f"sequential element {kind} is not supported",
                 "circuitc compiles combinational logic only")


def test_sequential_output_is_not_reported_again():
    # ISCAS-89 style: the flip-flop's output is read elsewhere; one error, not two.
    err = expect_error("INPUT(a)\nOUTPUT(y)\nq = DFF(y)\ny = AND(a, q)\n", 3, 5, "DFF")
    assert len(err.diagnostics) == 1


@pytest.mark.parametrize("line, words", [
    ("y = NOT(a, b)", ["NOT takes exactly 1 input, got 2"]),
    ("y = BUFF()", ["BUFF takes exactly 1 input, got 0"]),
    ("y = buf(a, b, a)", ["BUF takes exactly 1 input, got 3"]),
    ("y = AND()", ["AND needs at least 1 input, got 0"]),
    ("y = XNOR(  )", ["XNOR needs at least 1 input, got 0"]),
])
def test_wrong_arity(line, words):
    expect_error(f"INPUT(a)\nINPUT(b)\nOUTPUT(y)\n{line}\n", 4, 1, *words)


def test_wire_driven_twice():
    text = "INPUT(a)\nOUTPUT(y)\ny = NOT(a)\n\ny = BUF(a)\n"
    expect_error(text, 5, 1, "wire `y` is driven twice", "first driven on line 3")


def test_gate_driving_an_input():
    expect_error("INPUT(a)\nOUTPUT(a)\na = NOT(a)\n", 3, 1,
                 "wire `a` is driven twice", "line 1 by INPUT")


def test_duplicate_input():
    expect_error("INPUT(a)\nINPUT(b)\nINPUT(a)\nOUTPUT(y)\ny = AND(a, b)\n", 3, 7,
                 "INPUT `a` is declared twice", "first declared on line 1")


def test_duplicate_output():
    expect_error("INPUT(a)\nOUTPUT(y)\nOUTPUT(y)\ny = NOT(a)\n", 3, 8,
                 "OUTPUT `y` is declared twice", "first declared on line 2")


def test_wire_read_but_never_driven():
    text = "INPUT(alpha)\nINPUT(beta)\nOUTPUT(y)\ny = AND(alpha, betta)\nz = OR(betta, alpha)\n"
    err = expect_error(text, 4, 16, "wire `betta` is read but never driven", "did you mean `beta`?")
    assert len(err.diagnostics) == 1  # reported at its first reader only


def test_output_never_driven():
    expect_error("INPUT(a)\nOUTPUT(y)\nOUTPUT(y2)\ny = NOT(a)\n", 3, 8,
                 "OUTPUT `y2` is never driven", "did you mean `y`?")


@pytest.mark.parametrize("line, col, words", [
    ("y NOT(a)", 1, ["malformed line", "expected `name = GATE(a, b)`, `INPUT(name)` or `OUTPUT(name)`"]),
    ("INPUT a", 1, ["malformed line"]),
    ("y = NOT(a", 1, ["malformed line"]),
    ("y = NOT((a))", 1, ["malformed line"]),
    ("  = AND(a)", 3, ["malformed line"]),
    ("INPT(y)", 1, ["unknown declaration `INPT`", "did you mean `INPUT`?"]),
    ("y = AND(a b)", 9, ["malformed argument `a b`", "separated by commas"]),
    ("y = AND(a,, a)", 11, ["empty argument"]),
])
def test_malformed_lines(line, col, words):
    expect_error(f"INPUT(a)\nOUTPUT(z)\nz = BUF(a)\n{line}\n", 4, col, *words)


def test_no_outputs():
    with pytest.raises(CircuitError, match="declares no OUTPUT"):
        parse_bench("INPUT(a)\n# nothing else\n")
    with pytest.raises(CircuitError, match="declares no OUTPUT"):
        parse_bench("")


def test_all_problems_are_reported_together():
    text = """\
INPUT(a)
INPUT(a)
OUTPUT(y)
OUTPUT(w)
y = NAD(a, b)
q = DFF(a)
z = NOT(a, a)
z = AND(a)
this is not bench
"""
    with pytest.raises(CircuitError) as info:
        parse_bench(text, "many.bench")
    err = info.value
    where = [(d.span.line, d.span.column) for d in err.diagnostics]
    assert where == [(2, 7), (4, 8), (5, 5), (5, 12), (6, 5), (7, 1), (8, 1), (9, 1)]
    report = str(err)
    assert "8 errors" in report
    for word in ("INPUT `a` is declared twice", "OUTPUT `w` is never driven", "unknown gate type `NAD`",
                 "wire `b` is read but never driven", "sequential element DFF",
                 "NOT takes exactly 1 input", "malformed line"):
        assert word in report


# ------------------------------------------------------------------------------------- files

def test_load_missing_file(tmp_path):
    missing = tmp_path / "nope.bench"
    with pytest.raises(CircuitError, match=r"cannot read bench file .*nope\.bench"):
        load_bench(missing)
    with pytest.raises(CircuitError, match="cannot read bench file"):
        load_bench(tmp_path)  # a directory


def test_load_non_utf8_file(tmp_path):
    path = tmp_path / "latin1.bench"
    path.write_bytes(b"INPUT(a)\n# caf\xe9\nOUTPUT(a)\n")
    with pytest.raises(CircuitError, match=r"not UTF-8 text \(byte \d+, line 2\)"):
        load_bench(path)


def test_crlf_and_bom(tmp_path):
    path = tmp_path / "dos.bench"
    path.write_bytes(b"\xef\xbb\xbfINPUT(a)\r\nOUTPUT(y)\r\ny = NOT(a)\r\n")
    spec = load_bench(path)
    assert spec.source_hash == hashlib.sha256(path.read_bytes()).hexdigest()
    assert [g.op for g in spec.circuits[0].gates] == [Op.NOT]


def test_mutated_c17_never_raises_anything_else():
    """Random character deletions and duplications give a Spec or a CircuitError, nothing else."""
    text = (EXAMPLES / "c17.bench").read_text()
    rng = random.Random(1985)
    outcomes = {"ok": 0, "error": 0}
    for _ in range(400):
        chars = list(text)
        for _ in range(rng.randint(1, 4)):
            i = rng.randrange(len(chars))
            if rng.random() < 0.5:
                del chars[i]
            else:
                chars.insert(i, chars[i] if rng.random() < 0.7 else rng.choice("(),=#\n \tX$"))
        try:
            parse_bench("".join(chars), "mutant.bench")
            outcomes["ok"] += 1
        except CircuitError as err:
            assert err.diagnostics and "mutant.bench" in str(err)
            outcomes["error"] += 1
    assert outcomes["ok"] > 0 and outcomes["error"] > 0


# ----------------------------------------------------------------- the array reader (GateTable)

def _random_bench(seed: int, gates: int = 300) -> str:
    """Every gate type, comments, blank lines, tabs and odd spacing, statements out of order."""
    rng = random.Random(seed)
    types = ["AND", "NAND", "or", "NOR", "XOR", "XNOR", "NOT", "BUF", "BUFF"]
    lines = [f"INPUT(i{k})" for k in range(8)]
    for g in range(gates):
        t = rng.choice(types)
        k = 1 if t.upper() in ("NOT", "BUF", "BUFF") else rng.randint(1, 4)
        args = [rng.choice([f"i{j}" for j in range(8)] + [f"g{j}" for j in range(g)]) for _ in range(k)]
        sep = rng.choice([", ", ",", " ,\t"])
        lines.append(f"{rng.choice(['', '  ', chr(9)])}g{g} = {t}({sep.join(args)}){rng.choice(['', '  # c', ' '])}")
    lines += [f"OUTPUT(g{gates - 1 - k})" for k in range(4)] + ["", "# end"]
    head, tail = lines[:3], lines[3:]
    rng.shuffle(tail)                      # the format is unordered
    return "\n".join(head + tail) + "\n"


@pytest.mark.parametrize("variant", ["plain", "crlf", "bom", "c17"])
def test_array_reader_equals_line_reader(variant):
    """Clean netlists are read as arrays; the result equals the line reader's gate by gate,
    spans included, and evaluates the same."""
    from circuitc.frontend.importers.bench import _parse_clean, _parse_lines
    from circuitc.spec import GateTable
    text = (EXAMPLES / "c17.bench").read_text() if variant == "c17" else _random_bench(7)
    if variant == "crlf":
        text = text.replace("\n", "\r\n")
    if variant == "bom":
        text = "\ufeff" + text
    body = " " + text[1:] if text.startswith("\ufeff") else text
    fast, slow = _parse_clean(body, text, "t.bench"), _parse_lines(body, text, "t.bench")
    assert fast is not None and isinstance(fast.circuit().gates, GateTable)
    assert fast == slow and slow == fast
    a, b = fast.circuit(), slow.circuit()
    assert [g.span for g in a.gates] == [g.span for g in b.gates]
    assert [p.span for p in a.inputs + a.outputs] == [p.span for p in b.inputs + b.outputs]
    rows = np.random.default_rng(0).integers(0, 2, (64, len(a.input_bits)), dtype=np.uint8)
    from circuitc import interpret
    assert np.array_equal(interpret.evaluate_bits(a, rows), interpret.evaluate_bits(b, rows))


@pytest.mark.parametrize("text", [
    "INPUT(a)\nOUTPUT(y)\ny = NAND(a, a)\ny$and = BUF(a)\n",      # an extra wire's name taken
    "INPUT(a)\nOUTPUT(y)\ny = NAND(a, y$and)\n",                   # read by its name, undriven
    "INPUT(a)\nOUTPUT(y$and)\ny = NAND(a, a)\n",                   # an output with that name
    "INPUT(a)\nOUTPUT(y)\ny = AND(a, b)\n",                        # undriven read
    "INPUT(a)\nINPUT(a)\nOUTPUT(y)\ny = NOT(a)\n",                 # declared twice
    "INPUT(a)\nOUTPUT(y)\ny = NOT(a, a)\n",                        # arity
    "INPUT(a)\nOUTPUT(y)\ny = DFF(a)\n",                           # sequential
    "INPUT(a)\nOUTPUT(y)\ny = AND(a,)\n",                          # empty argument
    "INPUT(a)\nOUTPUT(y)\ny = NOT(a)\x0cz = NOT(y)\n",             # a form feed breaks the line
    "INPUT(a)\nOUTPUT(y)\nOUTPUT(y)\ny = NOT(a)\n",                # output declared twice
])
def test_array_reader_declines_what_needs_the_line_reader(text):
    """Whatever would need a diagnostic or a renamed wire is left to the line reader."""
    from circuitc.frontend.importers.bench import _parse_clean, _parse_lines
    assert _parse_clean(text, text, "t.bench") is None
    try:
        _parse_lines(text, text, "t.bench")
    except CircuitError:
        pass


def test_gate_table_is_a_sequence_of_gates():
    spec = parse_bench(_random_bench(3, gates=50), "t.bench")
    gates = spec.circuit().gates
    listed = list(gates)
    assert len(gates) == len(listed) and gates[-1] == listed[-1] and gates[1:4] == tuple(listed[1:4])
    assert gates == tuple(listed) and tuple(listed) == gates and hash(gates) == hash(tuple(listed))
    with pytest.raises(IndexError):
        gates[len(listed)]


@pytest.mark.parametrize("names", [
    ["a`b", "``", "`y`"],                      # back-quotes, doubled when printed
    ["in", "circuit", "22"],                   # reserved words and numbers
    ["a[0]", "x.y/z", "é€"],                   # brackets, dots, slashes, non-ASCII
])
def test_any_netlist_name_prints_as_circ_that_parses_back(names):
    from circuitc import parse
    from circuitc.frontend.printer import spec_to_circ
    from circuitc.frontend.syntax.format import format_source
    a, b, y = names
    spec = parse_bench(f"INPUT({a})\nINPUT({b})\nOUTPUT({y})\n{y} = NAND({a}, {b})\n", "t.bench")
    text = spec_to_circ(spec)
    assert parse(text) == spec
    assert format_source(text) == text
