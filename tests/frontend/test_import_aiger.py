"""The AIGER importer: both forms against an evaluator written from the format's description (and
py-aiger where it is installed), round trips of random graphs, use everywhere a netlist is used,
the reader's speed, and every kind of bad file."""

from __future__ import annotations

import gzip
import hashlib
import time
from pathlib import Path

import numpy as np
import pytest
from aiger_files import evaluate_aiger, random_graph, varint, write_aag, write_aig
from cli_runs import fails, ok
from netlists import evaluate_netlist

import circuitc
from circuitc.errors import CircuitError
from circuitc.frontend.importers.aiger import parse_aiger
from circuitc.spec import Op

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

# The half adder of the format description: s = x ^ y as three ANDs, c = x & y.
HALF_ADDER = b"aag 7 2 0 2 3\n2\n4\n6\n12\n6 13 15\n12 2 4\n14 3 5\ni0 x\ni1 y\no0 s\no1 c\nc\nhalf adder\n"


def rows_for(n_inputs: int, rng=None, count: int = 512) -> np.ndarray:
    """Every input row for a few inputs, else `count` random ones."""
    if n_inputs <= 10:
        codes = np.arange(2 ** n_inputs)
        return ((codes[:, None] >> np.arange(n_inputs)) & 1).astype(np.uint8)
    return (rng or np.random.default_rng(0)).integers(0, 2, size=(count, n_inputs), dtype=np.uint8)


def agrees(data: bytes, circuit, rows: np.ndarray) -> None:
    """circuitc's interpreter, the independent gate evaluator and the AIGER evaluator agree."""
    want = evaluate_aiger(data, rows)
    got = circuitc.evaluate_bits(circuit, rows).astype(bool)
    assert np.array_equal(got, want)
    wires = evaluate_netlist(circuit, {b: rows[:, k].astype(bool) for k, b in enumerate(circuit.input_bits)})
    assert np.array_equal(np.stack([wires[b] for b in circuit.output_bits], axis=1), want)


# ------------------------------------------------------------------------------- the format

def test_the_half_adder_of_the_format_description(tmp_path):
    (tmp_path / "ha.aag").write_bytes(HALF_ADDER)
    ha = circuitc.load_spec(tmp_path / "ha.aag").circuit("ha")
    assert [p.name for p in ha.inputs] == ["x", "y"] and [p.name for p in ha.outputs] == ["s", "c"]
    assert {g.op for g in ha.gates} <= {Op.AND, Op.NOT, Op.BUF}
    X, Y = circuitc.truth_table(ha)
    assert Y.tolist() == [[0, 0], [1, 0], [1, 0], [0, 1]]
    agrees(HALF_ADDER, ha, X)
    # Gates are spanned on their line; the AND of literal 6 is line 6.
    (gate,) = [g for g in ha.gates if g.out == "$6"]
    assert (gate.span.line, gate.span.column) == (6, 1)


def test_the_c17_example_is_the_iscas_netlist(tmp_path):
    """examples/c17.aag, and the same graph written in binary, compute what c17.bench does."""
    aag = (EXAMPLES / "c17.aag").read_bytes()
    from_aag = circuitc.load_spec(EXAMPLES / "c17.aag").circuit("c17")
    bench = circuitc.load_spec(EXAMPLES / "c17.bench").circuit("c17")
    assert from_aag.input_bits == bench.input_bits and from_aag.output_bits == bench.output_bits
    X, Y = circuitc.truth_table(bench)
    assert np.array_equal(circuitc.evaluate_bits(from_aag, X), Y)
    agrees(aag, from_aag, X)
    lines = aag.decode().splitlines()
    ands = [tuple(int(x) for x in line.split()) for line in lines[8:14]]
    binary = write_aig(5, [21, 23], ands, input_names=["1", "2", "3", "6", "7"], output_names=["22", "23"])
    (tmp_path / "c17.aig").write_bytes(binary)
    from_aig = circuitc.load_spec(tmp_path / "c17.aig").circuit("c17")
    assert np.array_equal(circuitc.evaluate_bits(from_aig, X), Y)
    agrees(binary, from_aig, X)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("form", ["aag", "aig"])
def test_random_graphs_round_trip(seed, form, tmp_path):
    rng = np.random.default_rng(seed)
    I, A, O = int(rng.integers(1, 9)), int(rng.integers(0, 60)), int(rng.integers(1, 6))
    outputs, ands = random_graph(rng, I, A, O)
    data = (write_aag if form == "aag" else write_aig)(I, outputs, ands)
    path = tmp_path / f"g{seed}.{form}"
    path.write_bytes(data)
    circuit = circuitc.load_spec(path).circuit(f"g{seed}")
    assert circuit.input_bits == tuple(f"i{k}" for k in range(I))
    assert circuit.output_bits == tuple(f"o{k}" for k in range(O))
    assert {g.op for g in circuit.gates} <= {Op.AND, Op.NOT, Op.BUF, Op.CONST0, Op.CONST1}
    agrees(data, circuit, rows_for(I))


def test_both_forms_of_one_graph_are_the_same_circuit(tmp_path):
    rng = np.random.default_rng(7)
    outputs, ands = random_graph(rng, 12, 400, 9)
    ands = [(lhs, max(a, b), min(a, b)) for lhs, a, b in ands]     # as the binary form stores them
    names = dict(input_names=[f"x[{k}]" for k in range(12)], output_names=[f"y{k}" for k in range(9)])
    a = parse_aiger(write_aag(12, outputs, ands, **names), "g.aag").circuit("g")
    b = parse_aiger(write_aig(12, outputs, ands, **names), "g.aig").circuit("g")
    assert a == b                      # spans aside, gate for gate
    agrees(write_aig(12, outputs, ands, **names), b, rows_for(12, rng))


def test_ascii_gates_may_come_in_any_order():
    rng = np.random.default_rng(3)
    outputs, ands = random_graph(rng, 5, 80, 4)
    shuffled = [ands[i] for i in rng.permutation(len(ands))]
    data = write_aag(5, outputs, shuffled)
    circuit = parse_aiger(data, "s.aag").circuit("s")
    agrees(data, circuit, rows_for(5))
    defined = set(circuit.input_bits)
    for g in circuit.gates:            # imported in an order where each gate follows what it reads
        assert all(a in defined for a in g.args), g
        defined.add(g.out)


def test_ascii_inputs_and_variables_in_any_numbering():
    # Inputs need not be 2, 4, ...; M may exceed what the file defines; gates may read inputs
    # declared with large variables.
    data = write_aag(0, [21, 30], [(30, 21, 9)], inputs=[20, 8], M=40, output_names=["nz", "w"])
    circuit = parse_aiger(data, "n.aag").circuit("n")
    rows = rows_for(2)
    # Input 0 is variable 10, input 1 variable 4: the outputs are ~a and ~a & ~b.
    assert circuitc.evaluate_bits(circuit, rows).tolist() == [[1 - a, (1 - a) * (1 - b)] for a, b in rows.tolist()]
    agrees(data, circuit, rows)


def test_names_from_the_symbol_table_else_positions():
    data = write_aag(3, [2, 6], [(8, 2, 4)], input_names=["a", None, "i1"], output_names=[None, "out"])
    c = parse_aiger(data, "p.aag").circuit("p")
    # Input 1 has no name, and `i1` is taken by input 2: the default steps aside.
    assert c.input_bits == ("a", "i1$2", "i1") and c.output_bits == ("o0", "out")


def test_constants_negations_and_pass_through_outputs():
    # Outputs: false, true, input 0, its negation, input 1 under its own name, an AND of a constant.
    data = write_aag(2, [0, 1, 2, 3, 4, 6], [(6, 1, 4)], input_names=["a", "b"],
                     output_names=["zero", "one", "copy", "inv", "b", "andt"])
    c = parse_aiger(data, "k.aag").circuit("k")
    assert c.output_bits == ("zero", "one", "copy", "inv", "b", "andt")
    assert not any(g.out == "b" for g in c.gates)          # `b` is the input itself
    rows = rows_for(2)
    assert circuitc.evaluate_bits(c, rows).tolist() == [[0, 1, a, 1 - a, b, b] for a, b in rows.tolist()]
    agrees(data, c, rows)


def test_comments_and_windows_line_ends_are_ignored():
    data = HALF_ADDER.replace(b"\n", b"\r\n") + b"any bytes at all \xff\xfe\n"
    c = parse_aiger(data, "ha.aag").circuit("ha")
    assert c.output_bits == ("s", "c")
    assert parse_aiger(HALF_ADDER.replace(b"c\nhalf adder\n", b"c\n"), "ha.aag").circuit("ha") == c


def test_gate_wires_never_capture_a_port_name():
    data = write_aag(2, [6], [(6, 2, 5)], input_names=["$3", "$5"], output_names=["$6"])
    c = parse_aiger(data, "w.aag").circuit("w")
    assert c.input_bits == ("$3", "$5")
    assert all(g.out.startswith("$$") for g in c.gates if g.out != "$6")
    agrees(data, c, rows_for(2))


def test_source_hash_is_the_hash_of_the_file(tmp_path):
    (tmp_path / "ha.aag").write_bytes(HALF_ADDER)
    assert circuitc.load_spec(tmp_path / "ha.aag").source_hash == hashlib.sha256(HALF_ADDER).hexdigest()


def test_py_aiger_reads_the_same_functions(tmp_path):
    """A second, published reader of the format (installed only where available)."""
    aiger = pytest.importorskip("aiger")
    rng = np.random.default_rng(11)
    I, O = 10, 6
    outputs, ands = random_graph(rng, I, 300, O)
    names = dict(input_names=[f"x{k}" for k in range(I)], output_names=[f"y{k}" for k in range(O)])
    for form, write in (("aag", write_aag), ("aig", write_aig)):
        data = write(I, outputs, ands, **names)
        (tmp_path / f"r.{form}").write_bytes(data)
        ours = circuitc.load_spec(tmp_path / f"r.{form}").circuit("r")
        theirs = aiger.load(str(tmp_path / f"r.{form}"))
        rows = rows_for(I)
        got = circuitc.evaluate_bits(ours, rows)
        for row, out in zip(rows[::7], got[::7]):
            values, _ = theirs({f"x{k}": bool(v) for k, v in enumerate(row)})
            assert [int(values[f"y{k}"]) for k in range(O)] == out.tolist()


# ------------------------------------------------------------------ everywhere a netlist is

def test_check_eval_and_fmt(tmp_path, capsys):
    # c = x & y; s = ~c & ~(~x & ~y), the exclusive or.
    (tmp_path / "ha.aig").write_bytes(write_aig(2, [6, 10], [(6, 2, 4), (8, 3, 5), (10, 7, 9)],
                                                input_names=["x", "y"], output_names=["c", "s"]))
    assert "ha.aig: ok, 1 circuit" in ok(capsys, "check", tmp_path / "ha.aig")
    assert ok(capsys, "eval", tmp_path / "ha.aig", "x=1", "y=1").split() == ["c", "=", "1", "s", "=", "0"]
    table = ok(capsys, "eval", tmp_path / "ha.aig", "--truth-table")
    assert table.splitlines()[1:] == ["0 0 | 0 0", "0 1 | 0 1", "1 0 | 0 1", "1 1 | 1 0"]
    printed = ok(capsys, "fmt", tmp_path / "ha.aig")
    again = circuitc.parse(printed).circuit("ha")
    assert again == circuitc.load_spec(tmp_path / "ha.aig").circuit("ha")
    assert "works on .circ sources only" in fails(capsys, "fmt", "--check", tmp_path / "ha.aig")


def test_included_in_a_network_compiled_and_verified(tmp_path):
    (tmp_path / "ha.aag").write_bytes(HALF_ADDER)
    (tmp_path / "net.circ").write_text('include "ha.aag";\n'
                                       "circuit twice { in a, b; out s; s = ha(a, b).s ^ ha(b, a).c; }\n"
                                       "network n { use ha * 30; active = 2; width = 256; }\n")
    spec = circuitc.load_spec(tmp_path / "net.circ")
    twice = spec.circuit("twice")
    assert circuitc.truth_table(twice)[1][:, 0].tolist() == [0, 1, 1, 1]
    comp = circuitc.compile(spec)
    assert circuitc.verify(comp, samples=500)["bit_accuracy"] == 1.0


# ------------------------------------------------------------------------------------ speed

def _random_binary(I: int, A: int, seed: int = 0) -> bytes:
    """A binary AIGER file of A random gates, its deltas encoded with numpy."""
    rng = np.random.default_rng(seed)
    lhs = 2 * (I + 1 + np.arange(A, dtype=np.int64))
    rhs0 = (rng.random(A) * (lhs - 2)).astype(np.int64) + 2
    rhs1 = (rng.random(A) * (rhs0 + 1)).astype(np.int64)
    deltas = np.empty(2 * A, dtype=np.int64)
    deltas[0::2], deltas[1::2] = lhs - rhs0, rhs0 - rhs1
    body = b"".join(varint(int(d)) for d in deltas)
    return f"aig {I + A} {I} 0 2 {A}\n{2 * (I + A)}\n{2 * I + 1}\n".encode() + body


def test_binary_gates_are_read_in_linear_time():
    """Ten times the gates take about ten times as long (a quadratic reader would take 100)."""
    small, large = _random_binary(32, 10_000), _random_binary(32, 100_000, seed=1)

    def seconds(data):
        best = float("inf")
        for _ in range(2):
            t = time.perf_counter()
            parse_aiger(data, "r.aig")
            best = min(best, time.perf_counter() - t)
        return best

    ratio = seconds(large) / seconds(small)
    assert ratio < 30, ratio
    c = parse_aiger(large, "r.aig").circuit("r")
    agrees(large, c, rows_for(32, np.random.default_rng(2), count=64))


# ------------------------------------------------------------------------------ bad files

def error_for(data: bytes, name: str = "t.aag") -> str:
    with pytest.raises(CircuitError) as info:
        parse_aiger(data, name)
    report = str(info.value)
    assert "Traceback" not in report and "hint:" in report, report
    return report


@pytest.mark.parametrize("data,where,words", [
    (b"", "t.aag:", ["the file is empty"]),
    (b"hello 1 2 3\n", "t.aag:1:1:", ["not an AIGER header: `hello`", "`aag` or `aig`"]),
    (b"aag 3 1 0 1\n", "t.aag:1:1:", ["the header has 4 counts"]),
    (b"aag 3 x 0 1 1\n", "t.aag:1:7:", ["`x` is not a count"]),
    (b"aag 3  1 0 1 1\n", "t.aag:1:1:", ["single spaces"]),
    (b"aag 1 1 0 1 1\n2\n4\n4 2 2\n", "t.aag:1:5:", ["M = 1 is less than I + L + A = 2"]),
    (b"aag 2 1 1 1 0\n2\n4 2\n4\n", "t.aag:1:9:", ["has 1 latch", "combinational", "comb"]),
    (b"aag 3 1 0 1 1 1\n2\n6\n6 2 2\n6\n", "t.aag:1:15:", ["1 bad-state properties", "AIGER 1.9"]),
    (b"aag 1 1 0 0 0\n2\n", "t.aag:1:11:", ["no outputs"]),
    (b"aig 2000000 2000000 0 1 0\n2\n", "t.aag:1:13:", ["declares 2,000,000 inputs, above the 1,000,000"]),
    (b"aig 20000001 0 0 1 20000001\n2\n", "t.aag:1:20:", ["20,000,001 AND gates, above the 10,000,000"]),
    (b"aag 3 2 0 1 1\n2\n4\n6\n", "t.aag:", ["ends after line 4, before AND gate 0 of 1"]),
    (b"aag 3 2 0 1 1\n2\n", "t.aag:", ["ends after line 2, before input 1 of 2"]),
    (b"aag 3 1 0 1 1\n3\n6\n6 3 3\n", "t.aag:2:1:", ["input literal 3 is odd"]),
    (b"aag 3 1 0 1 1\n2\n6\n6 2 9\n", "t.aag:4:5:", ["literal 9 is out of range", "2M + 1 = 7"]),
    (b"aag 3 1 0 1 1\n2\n8\n6 2 2\n", "t.aag:3:1:", ["output literal 8 is out of range"]),
    (b"aag 3 1 0 1 1\n2\n6\n6 2 4\n", "t.aag:4:5:", ["reads literal 4, whose variable 2 no input or AND gate defines"]),
    (b"aag 3 1 0 1 1\n2\n6\n6 2 x\n", "t.aag:4:5:", ["`x` is not a literal"]),
    (b"aag 3 1 0 1 1\n2\n6\n6 2\n", "t.aag:4:1:", ["has 3 literals, this one has 2"]),
    (b"aag 3 1 0 1 2\n2\n6\n6 2 2\n6 3 3\n", "t.aag:5:1:", ["variable 3 (literal 6) is defined twice", "line 4"]),
    (b"aag 3 1 0 1 2\n2\n4\n4 6 2\n6 4 2\n", "t.aag:4:1:",
     ["combinational cycle: AND gate 4 depends on itself through the gates 4, 6 (lines 4, 5)"]),
    (b"aag 2 1 0 1 1\n2\n4\n4 4 2\n", "t.aag:4:1:", ["cycle"]),
    (HALF_ADDER.replace(b"i1 y", b"i1 \xff\xfey"), "t.aag:10:4:", ["the name of input 1 is not UTF-8"]),
    (HALF_ADDER.replace(b"i1 y", b"i1 y\x01"), "t.aag:10:4:", ["contains a control character"]),
    (HALF_ADDER.replace(b"i1 y", b"i5 y"), "t.aag:10:2:", ["a symbol for input 5, but the file has 2 inputs"]),
    (HALF_ADDER.replace(b"i1 y", b"l0 y"), "t.aag:10:1:", ["a symbol for latch 0"]),
    (HALF_ADDER.replace(b"i1 y", b"i0 y"), "t.aag:10:1:", ["input 0 is named twice", "first named `x`"]),
    (HALF_ADDER.replace(b"i1 y", b"i1 x"), "t.aag:10:1:", ["inputs 0 and 1 are both named `x`"]),
    (HALF_ADDER.replace(b"o1 c", b"o1 s"), "t.aag:12:1:", ["outputs 0 and 1 are both named `s`"]),
    (HALF_ADDER.replace(b"o1 c", b"o1 x"), "t.aag:12:1:", ["output 1 is named `x`, the name of input 0"]),
    (HALF_ADDER.replace(b"i1 y", b"i1"), "t.aag:10:1:", ["malformed symbol"]),
])
def test_bad_ascii_files(data, where, words):
    report = error_for(data)
    assert where in report, report
    for word in words:
        assert word in report, report


@pytest.mark.parametrize("data,where,words", [
    (b"aag " + b"9" * 5000 + b" 1 0 1 1\n", "t.aag:1:5:", ["the count of 5000 digits is too large"]),
    (b"aag 3 1 0 1 1\n2\n" + b"9" * 5000 + b"\n6 2 2\n", "t.aag:3:1:", ["a literal of 5000 digits is out of range"]),
    (b"aag 3 1 0 1 1\n2\n6\n6 2 2\ni" + b"9" * 5000 + b" x\n", "t.aag:5:2:",
     ["a symbol for input 999999… (5000 digits), but the file has 1 input (numbered from 0)"]),
])
def test_numbers_of_thousands_of_digits(data, where, words):
    report = error_for(data)
    assert where in report, report
    for word in words:
        assert word in report, report


def test_every_problem_of_an_ascii_file_is_reported_at_once():
    report = error_for(b"aag 4 1 0 1 2\n3\n11\n6 2 x\n8 2 99\n")
    for where in ("t.aag:2:1:", "t.aag:3:1:", "t.aag:4:5:", "t.aag:5:5:"):
        assert where in report, report
    assert "4 errors" in report


def test_errors_quote_the_line_with_a_caret():
    report = error_for(b"aag 3 1 0 1 1\n2\n6\n6 2 9\n")
    assert "    4 | 6 2 9\n      |     ^" in report


GOOD = write_aig(2, [6], [(6, 2, 4)], input_names=["a", "b"], output_names=["y"])


@pytest.mark.parametrize("data,words", [
    (b"aig 3 2 0 1 1\n6\n\x02", ["t.aig, byte 17: the file ends inside the AND gates, after 0 of 1"]),
    (b"aig 3 2 0 1 1\n6\n\x00\x00", ["t.aig, byte 16: AND gate 6", "first delta is 0"]),
    (b"aig 3 2 0 1 1\n6\n\x07\x00", ["first delta 7 is larger than the gate's literal"]),
    (b"aig 3 2 0 1 1\n6\n\x01\x07", ["second delta 7 is larger than its first input, literal 5"]),
    (b"aig 3 2 0 1 1\n6\n\x81\x80\x80\x80\x80\x00\x00", ["a delta of 6 bytes"]),
    (b"aig 4 2 0 1 1\n6\n\x02\x02", ["in a binary AIGER file M must be I + L + A = 3, got 4"]),
    (b"aig 3 2 0 1 1\n9\n\x02\x02", ["t.aig:2:1:", "output literal 9 is out of range"]),
    (GOOD.replace(b"o0 y", b"o0 \xffy"), ["t.aig, byte 31: the name of output 0 is not UTF-8"]),
    (GOOD.replace(b"o0 y", b"x0 y"), ["t.aig, byte 28: malformed symbol"]),
])
def test_bad_binary_files(data, words):
    report = error_for(data, "t.aig")
    for word in words:
        assert word in report, report


def test_bad_files_on_the_command_line(tmp_path, capsys):
    (tmp_path / "latch.aag").write_bytes(b"aag 2 1 1 1 0\n2\n4 2\n4\n")
    err = fails(capsys, "check", tmp_path / "latch.aag")
    assert "latch.aag:1:9: error: the AIGER file has 1 latch" in err and "hint:" in err
    (tmp_path / "z.aig").write_bytes(gzip.compress(GOOD))
    err = fails(capsys, "eval", tmp_path / "z.aig", "--truth-table")
    assert "is gzip-compressed data, not AIGER text" in err and "decompress it first" in err
    (tmp_path / "cut.aig").write_bytes(GOOD[:16])
    assert "the file ends inside the AND gates" in fails(capsys, "check", tmp_path / "cut.aig")
    (tmp_path / "inc.circ").write_text('include "cut.aig";\n')
    assert "the file ends inside the AND gates" in fails(capsys, "check", tmp_path / "inc.circ")


def test_mutated_files_never_raise_anything_else():
    rng = np.random.default_rng(5)
    outputs, ands = random_graph(rng, 4, 30, 3)
    for form, write in (("aag", write_aag), ("aig", write_aig)):
        base = bytearray(write(4, outputs, ands, input_names=list("abcd"), output_names=list("xyz")))
        for _ in range(300):
            data = bytearray(base)
            for _ in range(int(rng.integers(1, 4))):
                k = int(rng.integers(0, len(data)))
                choice = rng.integers(0, 3)
                if choice == 0:
                    data[k] = int(rng.integers(0, 256))
                elif choice == 1:
                    del data[k]
                else:
                    data = data[:k]
                    break
            try:
                parse_aiger(bytes(data), f"m.{form}")
            except CircuitError as e:
                assert str(e)
