"""Flat circuits read line by line (frontend/flat.py): the same Spec and warnings as the parser and
elaborator give, and the parser's diagnostics for anything the line reader does not take."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import circuitc
from circuitc.errors import SourceMap
from circuitc.frontend import load as loader
from circuitc.frontend.flat import read_flat
from circuitc.frontend.printer import spec_to_circ
from circuitc.spec import BoolCircuit, Gate, MLPCircuit, Op, Port, Spec

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _parsed(text: str, monkeypatch) -> circuitc.Spec:
    """The Spec of `text` through the parser and elaborator alone."""
    with monkeypatch.context() as m:
        m.setattr(loader, "read_flat", lambda *a: None)
        return circuitc.parse(text, "f.circ")


def _same(text: str, monkeypatch) -> circuitc.Spec:
    assert read_flat(text, "f.circ", SourceMap()) is not None, "the line reader must take this file"
    fast, slow = circuitc.parse(text, "f.circ"), _parsed(text, monkeypatch)
    assert fast.circuits == slow.circuits
    assert [c.name for c in fast.circuits] == [c.name for c in slow.circuits]
    assert fast.features == slow.features
    assert fast.source_hash == slow.source_hash
    assert fast.warnings == slow.warnings
    return fast


def _printed_examples() -> list[str]:
    texts = []
    for path in sorted(EXAMPLES.iterdir()):
        if path.suffix not in (".circ", ".bench", ".blif", ".aag") or path.name == "different_circuits.circ":
            continue  # (its 2,000 circuits print past the parser's token limit)
        spec = circuitc.load_spec(path)
        texts.append(spec_to_circ(Spec(spec.circuits, spec.features), header=False))
    return texts


@pytest.mark.parametrize("index", range(len(_printed_examples())))
def test_printed_examples_read_as_the_parser_reads_them(index, monkeypatch):
    _same(_printed_examples()[index], monkeypatch)


def test_names_comments_line_ends_and_unused_signals(monkeypatch):
    text = ("# header\r\ncircuit `odd name<K=1>` {   # trailing\r\n    in a, `b#1`, v[3];\r\n"
            "    out y, `z``q`[2];\r\n    `l1[0]` = and(a, v[2], `b#1`);   # a comment\r\n"
            "    dead = ~v[0];\r\n    y = maj(a, v[1], `l1[0]`);\r\n    `z``q`[0] = 0;\r\n"
            "    `z``q`[1] = xor(y, `l1[0]`);\r\n}\r\n\r\ncircuit in_again { in p; out r; r = p; }\n")
    spec = _same(text.replace("circuit in_again { in p; out r; r = p; }\n", ""), monkeypatch)
    assert [w.message for w in spec.warnings] == ["`dead` is assigned but never used"]
    assert spec.circuits[0].output_bits == ("y", "z`q[0]", "z`q[1]")
    # Statements on one line with their braces are the parser's: it still reads them.
    assert read_flat(text, "f.circ", SourceMap()) is None
    assert circuitc.parse(text, "f.circ").circuits == _parsed(text, monkeypatch).circuits


def test_random_printed_circuits(monkeypatch):
    rng = np.random.default_rng(7)
    circuits = []
    for t in range(30):
        inputs = (Port("x", 4), Port("c"))
        wires = [f"x[{i}]" for i in range(4)] + ["c"]
        gates = []
        for g in range(12):
            op = [Op.AND, Op.OR, Op.XOR, Op.MAJ, Op.NOT, Op.BUF, Op.CONST0, Op.CONST1][rng.integers(8)]
            k = {Op.NOT: 1, Op.BUF: 1, Op.CONST0: 0, Op.CONST1: 0, Op.MAJ: 3}.get(op, int(rng.integers(1, 4)))
            args = tuple(wires[j] for j in rng.choice(len(wires), size=k, replace=False))
            out = f"w{g}" if g % 3 else f"`q{g}`[{g}]"
            gates.append(Gate(out, op, args))
            wires.append(out)
        gates.append(Gate("y[0]", Op.BUF, (wires[-1],)))
        gates.append(Gate("y[1]", Op.XOR, (wires[-2], "c")))
        circuits.append(BoolCircuit(f"r{t}", inputs, (Port("y", 2),), tuple(gates)))
    text = spec_to_circ(Spec(tuple(circuits)), header=False)
    spec = _same(text, monkeypatch)
    X = rng.integers(0, 2, size=(64, 5))
    for a, b in zip(spec.circuits, circuits):
        np.testing.assert_array_equal(circuitc.evaluate_bits(a, X), circuitc.evaluate_bits(b, X))


@pytest.mark.parametrize("body, message", [
    ("    y = a;\n    y = ~a;\n", "assigned twice"),
    ("    y = b;\n", "unknown signal `b`"),
    ("    y = and(a, w);\n    w = ~y;\n", "cycle"),
    ("    y = and(a, a, a, a);\n    in = a;\n", None),
    ("    y = a;\n    out q;\n    q = a;\n", None),
    ("    a = 1;\n    y = a;\n", "cannot assign to input"),
    ("    y = v;\n", None),
    ("    `v[0]` = a;\n    y = `v[0]`;\n", "both name the wire"),
    ("    y = maj(a, v[0]);\n", None),
    ("    y = v[3];\n", "out of range"),
])
def test_what_the_line_reader_leaves_to_the_parser(body, message, monkeypatch):
    """Each of these needs the parser: read_flat declines, and loading gives the parser's own
    result, its diagnostics included."""
    text = f"circuit c {{\n    in a, v[2];\n    out y;\n{body}}}\n"
    assert read_flat(text, "f.circ", SourceMap()) is None
    try:
        got = circuitc.parse(text, "f.circ")
    except circuitc.CircuitError as e:
        with pytest.raises(circuitc.CircuitError) as again:
            _parsed(text, monkeypatch)
        assert str(e) == str(again.value)
        if message:
            assert message in str(e)
    else:
        assert message is None and got.circuits == _parsed(text, monkeypatch).circuits


def test_an_artifacts_circuits_load_through_the_line_reader(tmp_path):
    """circuits.circ of a compiled network is flat: loading the artifact reads it line by line."""
    spec = circuitc.parse(MIXED_SOURCE)
    from circuitc.artifact import load, save
    from circuitc.instances import compile_network
    comp = compile_network(spec)
    save(comp, tmp_path / "a")
    text = (tmp_path / "a" / "circuits.circ").read_text()
    assert read_flat(text, "circuits.circ", SourceMap()) is not None
    def netlist(c):
        return c.name, c.inputs, c.outputs, tuple(c.gates)
    assert [netlist(c) for c in load(tmp_path / "a").circuits] == [netlist(c) for c in comp.circuits]


MIXED_SOURCE = """
circuit f<K> { in x[3]; out y; y = (x[K % 3] ^ x[(K + 1) % 3]) & bit(K, 2); }
network n { use f<K=0..8>; active = 2; width = 512; }
"""


MLP = """mlp m {
    in x[2];
    out y;
    layer relu {
        weights = [
            [1, 1],
            [1.5e0, -.25],
        ];
        bias = [0, -1];
    }
    layer linear {
        weights = [[1, -2]];
    }
}
"""
FEATURES = """features f[8] {
    active = 2;
    seed = 5;
}

circuit c over f {
    out y;
    y = and(f[0], f[3]);
}
"""


def test_mlp_circuits_and_feature_sets(monkeypatch):
    spec = _same(MLP + "\n" + FEATURES, monkeypatch)
    m = spec.circuits[0]
    assert isinstance(m, MLPCircuit)
    np.testing.assert_array_equal(m.layers[0].weights, [[1, 1], [1.5, -0.25]])
    np.testing.assert_array_equal(m.layers[1].bias, [0])                     # no bias: zeros
    assert spec.features[0].m == 8 and spec.features[0].s == 2 and spec.features[0].seed == 5
    assert spec.circuits[1].features == "f" and spec.circuits[1].input_bits[3] == "f[3]"
    assert spec.warnings == ()                                               # the features input is not "unused"


@pytest.mark.parametrize("old, new, message", [
    ("[1.5e0, -.25]", "[1.5e0]", "ragged"),
    ("[1.5e0, -.25]", "[1e309, -.25]", "out of range"),
    ("bias = [0, -1]", "bias = [0, -1, 2]", "bias of shape"),
    ("bias = [0, -1]", "bias = [[0, -1]]", "bias of shape"),
    ("bias = [0, -1]", "bias = []", "empty array"),
    ("layer linear", "layer tanh", "unknown activation"),
    ("weights = [[1, -2]];", "weights = [[1, -2]];\n        weights = [[1, -2]];", "given twice"),
    ("weights = [[1, -2]];", "weights = [[1, -2]];  # a comment", None),
    ("            [1, 1],\n", "            [1, 1],  # a comment\n", None),
    ("weights = [[1, -2]];", "weights = [[1, -2, 3]];", "take 3 inputs"),
    ("mlp m {", "mlp m<K = 1> {", None),
    ("    out y;\n", "", "declares no outputs"),
    ("    layer linear {\n        weights = [[1, -2]];\n    }\n", "", "gives 2 values"),
    ("    out y;\n    layer relu {", "    layer relu {", None),
])
def test_mlp_forms_left_to_the_parser(old, new, message, monkeypatch):
    """Each of these is not what the printer writes, or not a valid MLP: read_flat declines and
    loading gives the parser's result, its diagnostics included."""
    assert old in MLP
    text = MLP.replace(old, new, 1)
    if "out y;\n    layer relu" in old:
        text = text.replace("    }\n}", "    }\n    out y;\n}")                 # ports after layers
    _declined(text, message, monkeypatch)


@pytest.mark.parametrize("old, new, message", [
    ("active = 2;", "active = 9;", "active"),
    ("    active = 2;\n", "", "needs its sparsity promise"),
    ("seed = 5;", "seed = 5;\n    seed = 6;", "set twice"),
    ("seed = 5;", "depth = 5;", "unknown feature set setting"),
    ("circuit c over f", "circuit c over g", "unknown feature set"),
    ("    out y;\n", "    in a;\n    out y;\n", "its only input"),
])
def test_feature_forms_left_to_the_parser(old, new, message, monkeypatch):
    assert old in FEATURES
    _declined(FEATURES.replace(old, new, 1), message, monkeypatch)


def test_a_feature_set_defined_after_its_circuit_is_left_to_the_parser(monkeypatch):
    head, circuit = FEATURES.split("\n\n")
    _declined(circuit + "\n" + head + "\n", None, monkeypatch)


def _declined(text: str, message: str | None, monkeypatch) -> None:
    assert read_flat(text, "f.circ", SourceMap()) is None
    try:
        got = circuitc.parse(text, "f.circ")
    except circuitc.CircuitError as e:
        with pytest.raises(circuitc.CircuitError) as again:
            _parsed(text, monkeypatch)
        assert str(e) == str(again.value)
        assert message is not None and message in str(e), str(e)
    else:
        assert message is None, f"expected an error with {message!r}"
        slow = _parsed(text, monkeypatch)
        assert got.circuits == slow.circuits and got.features == slow.features


def test_an_mlp_artifacts_circuits_load_through_the_line_reader(tmp_path):
    from circuitc.artifact import load, save
    from circuitc.instances import compile_network
    spec = circuitc.load_spec(EXAMPLES / "rotations.circ")
    comp = compile_network(spec)
    save(comp, tmp_path / "a")
    text = (tmp_path / "a" / "circuits.circ").read_text()
    assert read_flat(text, "circuits.circ", SourceMap()) is not None
    def mlp(c):  # (an artifact keeps a family member's name, not its parameters)
        return c.name, c.inputs, c.outputs, c.layers
    assert [mlp(c) for c in load(tmp_path / "a").circuits] == [mlp(c) for c in comp.circuits]


def _big_body(n: int, *, crlf: bool = False) -> str:
    """A circuit of `n` gate lines in every statement form, with tabs, odd indents and trailing
    blanks, some wires never read (warnings), as a generator might write it."""
    forms = ["w{i} = and(w{a}, v[1], b);", "w{i} = ~ w{a};", "w{i} = or(w{a},w{b});", "w{i} = 0;",
             "w{i} = xor( w{a} , b );", "w{i} = maj(w{a}, w{b}, v[0]);", "w{i} = w{a};", "w{i} = 1;"]
    lines = ["circuit big {", "    in b, v[2];", "    out y, z[2];"]
    for i in range(1, n):
        indent = ("\t", "    ", "  ", " " * 9)[i % 4]
        lines.append(indent + forms[i % len(forms)].format(i=i, a=max(i - 3, 0), b=i // 2) + " " * (i % 3))
    lines += [f"    y = w{n - 1};", f"    z[0] = and(w{n - 2}, b);", "    z[1] = v[0];", "}"]
    lines.insert(3, "    w0 = b;")
    end = "\r\n" if crlf else "\n"
    return end.join(lines) + end


@pytest.mark.parametrize("crlf", [False, True])
def test_a_long_run_of_gates_is_read_in_bulk_as_line_by_line(crlf, monkeypatch):
    """Past _BULK_LINES statements a circuit's gate lines are taken as columns, a piece at a
    time: the same gates, spans and warnings as line by line, and as the parser gives."""
    import circuitc.frontend.flat as flat
    text = _big_body(300, crlf=crlf)
    monkeypatch.setattr(flat, "_PIECE", 1000)                 # several pieces
    bulk = _same(text, monkeypatch)
    monkeypatch.setattr(flat, "_BULK_LINES", 10 ** 9)
    slow = circuitc.parse(text, "f.circ")
    a, b = bulk.circuits[0].gates, slow.circuits[0].gates
    assert list(a) == list(b) and [g.span for g in a] == [g.span for g in b]
    assert bulk.warnings == slow.warnings and len(bulk.warnings) > 10


@pytest.mark.parametrize("change", ["comment", "quoted", "unicode", "wide indent", "not flat"])
def test_a_piece_the_bulk_reader_cannot_take_goes_line_by_line(change, monkeypatch):
    import circuitc.frontend.flat as flat
    monkeypatch.setattr(flat, "_PIECE", 1000)
    lines = _big_body(300).split("\n")
    k = 200                                                   # a line in a later piece
    lines[k] = {"comment": lines[k] + "  # a note",
                "quoted": lines[k].replace("b)", "`b`)").replace("b;", "`b`;"),
                "unicode": lines[k] + "  # ünïcode",
                "wide indent": " " * 100 + lines[k].lstrip(),
                "not flat": lines[k].replace(";", " & b;")}[change]
    text = "\n".join(lines)
    if change == "not flat":
        assert read_flat(text, "f.circ", SourceMap()) is None
        assert circuitc.parse(text, "f.circ").circuits == _parsed(text, monkeypatch).circuits
    else:
        _same(text, monkeypatch)


def _line_over(text: str, limit: int) -> int:
    """The line at which a count of items, made here line by line, first passes `limit`: a
    definition is DEFINITION_ITEMS, an `in`/`out` line declares its bits, a statement is its
    gate and its inputs, a weights or bias line its numbers."""
    from circuitc.frontend.flat import DEFINITION_ITEMS
    total = 0
    for number, line in enumerate(text.split("\n"), start=1):
        code = line.strip()
        if code.startswith(("circuit ", "mlp ", "features ")):
            total += DEFINITION_ITEMS
        elif code.startswith(("in ", "out ")):
            total += sum(int(w) for w in re.findall(r"\[(\d+)\]", code)) + len(re.findall(r"\w+(?:,|;)", code))
        elif "=" in code and code.startswith(("w", "y", "z")):
            rhs = code.split("=", 1)[1]
            total += 1 + (0 if rhs.strip(" ;") in ("0", "1") else rhs.count(",") + 1)
        elif code.startswith("[") or code.startswith(("weights", "bias")):
            total += len(re.findall(r"[-+]?\d", code.replace("e0", "")))
        if total > limit:
            return number
    raise AssertionError("the text stays within the limit")


def _gate_chain(n: int, name: str = "c") -> str:
    body = "".join(f"    w{i} = and(w{i - 1}, a);\n" for i in range(1, n))
    return f"circuit {name} {{\n    in a, w0;\n    out y;\n{body}    y = w{n - 1};\n}}\n"


@pytest.mark.parametrize("what", ["gates", "gates in bulk", "declared bits", "weights"])
def test_a_flat_file_past_the_item_limit_is_refused_where_it_goes_over(what, monkeypatch):
    """Every gate, gate input, declared bit and weight is an item; past MAX_FLAT_ITEMS a file too
    large for the parser is refused at the line that went over, with the limit's numbers, before
    the rest is read. One the parser can take is left to it (and to the elaborator's limit)."""
    import circuitc.frontend.flat as flat
    monkeypatch.setattr(flat, "MAX_FLAT_ITEMS", 500)
    monkeypatch.setattr(flat, "MAX_TOKENS", 50)
    text = {
        "gates": "\n".join(_gate_chain(40, f"c{k}") for k in range(6)),          # line by line
        "gates in bulk": _gate_chain(300),
        "declared bits": "circuit c {\n    in a[400], b[200];\n    out y;\n    y = a[0];\n}\n" + "# pad\n" * 60,
        "weights": MLP.replace("in x[2];", "in x[300];").replace(
            "            [1, 1],\n            [1.5e0, -.25],\n",
            "            [" + ", ".join(["1"] * 300) + "],\n            [" + ", ".join(["2"] * 300) + "],\n"),
    }[what]
    with pytest.raises(circuitc.CircuitError) as e:
        circuitc.parse(text, "f.circ")
    d = e.value.diagnostics[0]
    assert d.message == ("the file holds more than 500 gates, gate inputs, declared bits and weights, "
                         "the most one source may")
    expected = _line_over(text, 500) if what != "weights" else text.split("\n").index("        weights = [") + 1
    assert d.span.line == expected, str(e.value)
    assert "netlist" in d.hint
    monkeypatch.setattr(flat, "MAX_TOKENS", 10 ** 6)
    assert read_flat(text, "f.circ", SourceMap()) is None
    monkeypatch.setattr(flat, "MAX_FLAT_ITEMS", 10 ** 6)
    assert read_flat(text, "f.circ", SourceMap()) is not None


_PIECES = [",", "[", "]", "1e309", "-", "`", "in ", "out ", "~", ";", "}", "{", " ", "\t", "#", "and(", "x[3]",
           "0", "1.", ".5", "e", "\n", "relu", "linear", "weights = ", "bias = [1];", "active = 1;", "over f",
           "y[0]", "w1", "maj(", "layer relu {", "nan", "+", "_", "ü"]


def test_mutated_printed_sources_read_the_same_both_ways(monkeypatch):
    """Differential check on damaged printed sources: whatever the line reader takes, the parser
    and elaborator take too and make equal; what they refuse, the line reader declines."""
    import random
    rng = random.Random(5)
    bases = [MLP, FEATURES, _big_body(70)] + _printed_examples()[:4]
    taken = 0
    for _ in range(1200):
        text = rng.choice(bases)
        for _ in range(rng.randint(1, 3)):
            at = rng.randrange(len(text) + 1)
            kind = rng.random()
            if kind < 0.4:
                text = text[:at] + rng.choice(_PIECES) + text[at:]
            elif kind < 0.7:
                text = text[:at] + text[at + rng.randint(1, 8):]
            else:
                lines = text.split("\n")
                k = rng.randrange(len(lines))
                lines.insert(rng.randrange(len(lines) + 1), lines[k])
                text = "\n".join(lines)
        fast = read_flat(text, "f.circ", SourceMap())
        try:
            slow = _parsed(text, monkeypatch)
        except circuitc.CircuitError:
            assert fast is None, f"the line reader took a source the parser refuses:\n{text}"
            continue
        if fast is not None:
            taken += 1
            got = circuitc.parse(text, "f.circ")              # through the line reader
            assert got.circuits == slow.circuits and got.features == slow.features, text
            assert got.warnings == slow.warnings, text
    assert taken >= 20                                         # (most mutants are declined)


def test_printed_items_are_what_the_line_reader_counts():
    """A writer checks `printed_items` against the limit so that what it writes reads back: it must
    count exactly what the reader does, on every example printed (features apart: artifacts of
    instances hold none)."""
    import circuitc.frontend.flat as flat
    for path in sorted(EXAMPLES.iterdir()):
        if path.suffix not in (".circ", ".bench", ".blif", ".aag"):
            continue
        circuits = tuple(c for c in circuitc.load_spec(path).circuits if getattr(c, "features", None) is None)
        if circuits:
            reader = flat._Reader(spec_to_circ(Spec(circuits), header=False), "f.circ", SourceMap())
            reader.run()
            assert reader.budget.items == sum(flat.printed_items(c) for c in circuits), path.name
    # An output that is also an input prints as a buffer of it under a fresh name.
    from circuitc.frontend.importers.bench import parse_bench
    spec = parse_bench("INPUT(a)\nINPUT(c)\nOUTPUT(a)\nOUTPUT(b)\nb = NAND(a, c)\n", "p.bench")
    reader = flat._Reader(spec_to_circ(spec, header=False), "f.circ", SourceMap())
    reader.run()
    assert reader.budget.items == flat.printed_items(spec.circuits[0]) == flat.DEFINITION_ITEMS + 2 + 2 + 3 + 2 + 2
