"""Import ISCAS-85 `.bench` netlists as a `Spec`.

The format, one statement per line:

    # comment
    INPUT(1)
    OUTPUT(22)
    10 = NAND(1, 3)

Gate types are AND, NAND, OR, NOR, XOR, XNOR, NOT, BUF and BUFF (any case). Statements may come
in any order: a wire can be read before the line that drives it. The inverted gates become two
primitive gates, the second keeping the netlist's name: `10 = NAND(1, 3)` is
`10$and = and(1, 3)` and `10 = not(10$and)`. Extra wires always carry a `$` and are checked
against every netlist name, so they never capture a wire of the file.

Every problem in the file is collected, with its line and a caret, and raised as one
`CircuitError`. Combinational cycles are left to the graph pass.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ...errors import Collector, SourceMap, Span, did_you_mean
from ...graph import gc_paused
from ...spec import OP_CODE, BoolCircuit, Gate, GateTable, Op, Port, Spec
from .netlist_file import (
    circuit_name_for,
    fresh_name,
    line_columns,
    odd_line_breaks,
    raise_in_file_order,
    read_netlist_text,
    text_hash,
)

__all__ = ["parse_bench", "load_bench"]

# Gate type -> (primitive op, whether the result is inverted).
_GATES: dict[str, tuple[Op, bool]] = {
    "AND": (Op.AND, False), "NAND": (Op.AND, True),
    "OR": (Op.OR, False), "NOR": (Op.OR, True),
    "XOR": (Op.XOR, False), "XNOR": (Op.XOR, True),
    "NOT": (Op.NOT, False), "BUF": (Op.BUF, False), "BUFF": (Op.BUF, False),
}
_UNARY = {"NOT", "BUF", "BUFF"}
# State elements found in ISCAS-89 and similar netlists: named so the error can say why.
_SEQUENTIAL = {"DFF", "DFFR", "DFFS", "DFFSR", "SDFF", "LATCH", "DLATCH"}

# A wire name: anything up to a delimiter of the format. ISCAS uses numbers (`22`) and
# identifiers (`G1`, `N22`); other generators add dots and brackets, which are fine here.
_NAME = r"[^\s(),=#]+"
_DECL = re.compile(rf"\s*(?P<kw>[A-Za-z_]\w*)\s*\(\s*(?P<name>{_NAME})\s*\)\s*$")
_ASSIGN = re.compile(rf"\s*(?P<out>{_NAME})\s*=\s*(?P<type>[A-Za-z_]\w*)\s*\((?P<args>[^()]*)\)\s*$")
_NAME_ONLY = re.compile(rf"{_NAME}$")
# A well-formed argument list, checked in one match (the common case, no spans needed).
_ARGS = re.compile(rf"\s*{_NAME}\s*(?:,\s*{_NAME}\s*)*$")

_MALFORMED = "expected `name = GATE(a, b)`, `INPUT(name)` or `OUTPUT(name)`"
_ONE_PER_LINE = "one statement per line; `#` starts a comment"


@dataclass(frozen=True)
class _Ref:
    """A wire name as written, with the span of its characters."""

    name: str
    span: Span


def parse_bench(text: str, filename: str = "<string>") -> Spec:
    """Parse `.bench` text into a Spec holding one circuit named after the file stem."""
    with gc_paused():  # millions of small objects, none of them garbage
        return _parse_bench(text, filename)


def _parse_bench(text: str, filename: str) -> Spec:
    # A leading byte-order mark is not part of the first statement; a space keeps columns.
    body = " " + text[1:] if text.startswith("\ufeff") else text
    return _parse_clean(body, text, filename) or _parse_lines(body, text, filename)


def _parse_lines(body: str, text: str, filename: str) -> Spec:
    """The netlist read line by line, every problem collected with its span and raised."""
    sources = SourceMap()
    sources.add(filename, text)
    diags = Collector(sources)
    lines = body.splitlines()

    inputs: list[_Ref] = []
    outputs: list[_Ref] = []
    # Gates as plain tuples (out, gate type, args, line, first column, end column): a netlist of
    # 10^5-10^6 gates is read line by line, and the spans of names are only worked out for the
    # few lines an error points at (_read_span), not for every wire a gate reads.
    assigns: list[tuple[str, str, list[str], int, int, int]] = []
    drivers: dict[str, tuple[int, str]] = {}  # wire -> (line, "INPUT" or "a gate")
    declared_outputs: dict[str, int] = {}

    def drive(name: str, lineno: int, by: str, span: Callable[[], Span]) -> None:
        first = drivers.get(name)
        if first is None:
            drivers[name] = (lineno, by)
        elif by == first[1] == "INPUT":
            diags.error(f"INPUT `{name}` is declared twice", span(), hint=f"first declared on line {first[0]}")
        else:
            diags.error(f"wire `{name}` is driven twice", span(),
                        hint=f"first driven on line {first[0]} by {first[1]}")

    for lineno, raw in enumerate(lines, 1):
        code = raw.partition("#")[0]
        if not code or code.isspace():
            continue

        m = _DECL.match(code)
        if m:
            kw = m["kw"].upper()
            ref = _Ref(m["name"], _span(filename, lineno, code, m.start("name"), m.end("name")))
            if kw == "INPUT":
                drive(ref.name, lineno, "INPUT", lambda ref=ref: ref.span)
                inputs.append(ref)
            elif kw == "OUTPUT":
                if ref.name in declared_outputs:
                    diags.error(f"OUTPUT `{ref.name}` is declared twice", ref.span,
                                hint=f"first declared on line {declared_outputs[ref.name]}")
                else:
                    declared_outputs[ref.name] = lineno
                    outputs.append(ref)
            else:
                kw_span = _span(filename, lineno, code, m.start("kw"), m.end("kw"))
                diags.error(f"unknown declaration `{m['kw']}`: {_MALFORMED}", kw_span,
                            hint=did_you_mean(kw, ["INPUT", "OUTPUT"]) or _ONE_PER_LINE)
            continue

        m = _ASSIGN.match(code)
        if not m:
            diags.error(f"malformed line: {_MALFORMED}", _statement_span(filename, lineno, code),
                        hint=_ONE_PER_LINE)
            continue
        out = m["out"]
        # A statement that names a wire drives it even when the gate itself is rejected, so a
        # bad gate type is reported once rather than again at every reader of its output.
        drive(out, lineno, "a gate",
              lambda m=m, code=code, lineno=lineno: _span(filename, lineno, code, m.start("out"), m.end("out")))
        args_text = m["args"]
        if _ARGS.match(args_text):
            args = [a.strip() for a in args_text.split(",")]
        elif not args_text or args_text.isspace():
            args = []
        else:  # some argument is empty or malformed: say which, with its span
            refs = _split_args(args_text, m.start("args"), filename, lineno, code, diags)
            assigns.append((out, "", [r.name for r in refs if r is not None], lineno, 0, 0))
            continue
        gate = m["type"].upper()
        if gate not in _GATES:
            type_span = _span(filename, lineno, code, m.start("type"), m.end("type"))
            if gate in _SEQUENTIAL:
                diags.error(f"sequential element {m['type']} is not supported: "
                            "circuitc compiles combinational logic only", type_span,
                            hint="cut the state elements out and import the combinational core")
            else:
                diags.error(f"unknown gate type `{m['type']}`", type_span,
                            hint=did_you_mean(gate, _GATES) or f"known gate types: {', '.join(_GATES)}")
        elif gate in _UNARY and len(args) != 1:
            diags.error(f"{gate} takes exactly 1 input, got {len(args)}", _statement_span(filename, lineno, code),
                        hint="AND, OR, XOR and their inversions take several inputs")
        elif not args:
            diags.error(f"{gate} needs at least 1 input, got 0", _statement_span(filename, lineno, code),
                        hint=f"write the inputs between the parentheses: `{gate}(a, b)`")
        else:
            start = len(code) - len(code.lstrip())
            assigns.append((out, gate, args, lineno, start, len(code.rstrip())))
            continue
        assigns.append((out, "", args, lineno, 0, 0))  # a rejected gate's reads are still checked

    # Reads and outputs can only be checked once every line is seen (the format is unordered).
    undriven = {a for _, _, args, *_ in assigns for a in args if a not in drivers}
    if undriven:
        driven = list(drivers)
        for _, _, args, lineno, _, _ in assigns:  # the first read of each is where the user looks
            for name in args:
                if name in undriven:
                    undriven.discard(name)
                    diags.error(f"wire `{name}` is read but never driven", _read_span(lines, filename, lineno, name),
                                hint=did_you_mean(name, driven)
                                or f"declare it with INPUT({name}) or drive it with a gate")
    for ref in outputs:
        if ref.name not in drivers:
            diags.error(f"OUTPUT `{ref.name}` is never driven", ref.span,
                        hint=did_you_mean(ref.name, list(drivers)) or "no INPUT or gate defines this wire")
    if not outputs and not diags.has_errors:
        diags.error("the netlist declares no OUTPUT", Span(filename, 1, 1),
                    hint="add a line `OUTPUT(name)` for each output wire")
    raise_in_file_order(diags)

    return _circuit(filename, text, inputs, outputs, assigns, drivers, declared_outputs)


# One line of a netlist that needs no diagnostic, as one match in a pass over the whole text:
# leading blanks, then a gate `out = TYPE(a, b)` or a declaration `KW(name)` or nothing, then an
# optional comment. Groups: blanks, statement, out, type, arguments, keyword, declared name.
# Blanks after a statement are matched inside its optional group, so that a line of blanks can
# be split between the leading and the trailing ones in one way only (no backtracking blow-up).
_CLEAN_LINE = re.compile(
    rf"^([ \t]*)(?:((?P<out>{_NAME})[ \t]*=[ \t]*([A-Za-z_]\w*)[ \t]*"
    rf"\(((?:[ \t]*{_NAME}[ \t]*(?:,[ \t]*{_NAME}[ \t]*)*)?)\)"
    rf"|([A-Za-z_]\w*)[ \t]*\([ \t]*({_NAME})[ \t]*\))[ \t]*)?\r?(?:#[^\n]*)?$", re.M)
def _parse_clean(body: str, text: str, filename: str) -> Spec | None:
    """The Spec of a netlist without a single problem, read in one regular-expression pass and
    built as arrays (a `GateTable`), or None at the first thing that would need a diagnostic:
    the line-by-line reader then finds and reports it. Large machine-written netlists take this
    path; no step below loops over gates in Python except to name the wires of inverted gates."""
    if odd_line_breaks(body):
        return None
    columns = line_columns(_CLEAN_LINE, body, 7)
    if columns is None:  # some line matched no statement form
        return None
    blank, stmt, out, kind, args, kw, declared = columns  # one entry per line
    inputs: list[_Ref] = []
    outputs: list[_Ref] = []
    for row in [i for i, k in enumerate(kw) if k]:  # declarations: a few per netlist
        ref = _Ref(declared[row], _decl_name_span(filename, row + 1, blank[row] + stmt[row]))
        keyword = kw[row].upper()
        if keyword not in ("INPUT", "OUTPUT"):
            return None
        (inputs if keyword == "INPUT" else outputs).append(ref)
    rows = [i for i, o in enumerate(out) if o]
    kinds = [kind[i] for i in rows]
    types = list(map({k: _GATES.get(k.upper()) for k in set(kinds)}.__getitem__, kinds))  # a few distinct
    arg_text = [args[i] for i in rows]
    if None in types or "" in arg_text:
        return None  # an unknown gate type, or a gate without inputs
    arity = np.fromiter(map(str.count, arg_text, [","] * len(rows)), dtype=np.int64, count=len(rows)) + 1
    op = np.fromiter((OP_CODE[t[0]] for t in types), dtype=np.int8, count=len(rows))
    inv = np.fromiter((t[1] for t in types), dtype=bool, count=len(rows))
    if (np.isin(op, [OP_CODE[Op.NOT], OP_CODE[Op.BUF]]) & (arity != 1)).any():
        return None

    # Gate slots: an inverted gate `y = NAND(a, b)` is two, `y$and = and(a, b)` then `y = not(y$and)`.
    pos = np.arange(len(rows)) + np.cumsum(inv)   # the slot of the gate that drives the file's wire
    first = pos - inv                              # the slot of the gate that reads the file's args
    n_gates = len(rows) + int(inv.sum())
    outs: list[str] = [""] * n_gates
    for p, i in zip(pos.tolist(), rows):
        outs[p] = out[i]
    inverted = np.flatnonzero(inv).tolist()
    for p, g in zip(first[inv].tolist(), inverted):
        outs[p] = f"{out[rows[g]]}${types[g][0].value}"
    wires = tuple(r.name for r in inputs) + tuple(outs)
    index = dict(zip(wires, range(len(wires))))
    output_names = {r.name for r in outputs}
    if (len(index) != len(wires) or len(output_names) != len(outputs) or not output_names <= index.keys()
            or not outputs or (inverted and any(o in output_names for o in (outs[p] for p in first[inv].tolist())))):
        return None  # driven twice, an extra wire's name taken, or outputs missing or repeated

    n_in = len(inputs)
    flat = ",".join(arg_text).replace(" ", "").replace("\t", "").split(",")
    try:
        file_args = np.fromiter(map(index.__getitem__, flat), dtype=np.int64, count=len(flat))
    except KeyError:
        return None  # a wire read but never driven
    if inverted and np.isin(file_args, n_in + first[inv]).any():
        return None  # a file reads an extra `$` wire by its name: the line reader renames it
    gate_arity = np.ones(n_gates, dtype=np.int64)
    gate_arity[first] = arity
    arg_ptr = np.zeros(n_gates + 1, dtype=np.int64)
    np.cumsum(gate_arity, out=arg_ptr[1:])
    arg_idx = np.empty(int(arg_ptr[-1]), dtype=np.int64)
    owner = np.repeat(np.arange(len(rows)), arity)
    file_ptr = np.concatenate(([0], np.cumsum(arity)[:-1]))
    arg_idx[arg_ptr[first][owner] + np.arange(len(flat)) - file_ptr[owner]] = file_args
    arg_idx[arg_ptr[pos[inv]]] = n_in + first[inv]
    ops = np.full(n_gates, OP_CODE[Op.NOT], dtype=np.int8)
    ops[first] = op

    line = np.asarray(rows, dtype=np.int64)[np.repeat(np.arange(len(rows)), 1 + inv)] + 1
    start = np.fromiter(map(len, blank), dtype=np.int64, count=len(blank))
    end = start + np.fromiter(map(len, stmt), dtype=np.int64, count=len(blank))
    gates = GateTable(wires, n_in, ops, arg_ptr, arg_idx, (filename, line, start[line - 1] + 1, end[line - 1] + 1),
                      index=index)
    return _spec(filename, text, inputs, outputs, gates)


def _decl_name_span(filename: str, lineno: int, code: str) -> Span:
    m = _DECL.match(code)
    assert m is not None  # the line matched the declaration form of _CLEAN_LINE
    return _span(filename, lineno, code, m.start("name"), m.end("name"))


def _circuit(filename: str, text: str, inputs: list[_Ref], outputs: list[_Ref],
             assigns: list[tuple[str, str, list[str], int, int, int]],
             drivers: dict[str, tuple[int, str]], declared_outputs: dict[str, int]) -> Spec:
    """The Spec of a netlist whose statements were all found well formed."""
    # Every wire read is driven, so each name can share the driver's string (one object per
    # wire, not one per read). Extra wires get `$` names, checked against every netlist name.
    canon = {name: name for name in drivers}
    taken = set(drivers) | set(declared_outputs)
    gates: list[Gate] = []
    for out, gate, args, lineno, start, end in assigns:
        op, inverted = _GATES[gate]
        names = tuple(map(canon.__getitem__, args))
        span = Span(filename, lineno, start + 1, lineno, end + 1)
        if inverted:
            inner = fresh_name(f"{out}${op.value}", taken)
            gates.append(Gate(inner, op, names, span))
            gates.append(Gate(canon[out], Op.NOT, (inner,), span))
        else:
            gates.append(Gate(canon[out], op, names, span))

    return _spec(filename, text, inputs, outputs, tuple(gates))


def _spec(filename: str, text: str, inputs: list[_Ref], outputs: list[_Ref],
          gates: tuple[Gate, ...] | GateTable) -> Spec:
    circuit = BoolCircuit(
        name=circuit_name_for(filename, "bench"),
        inputs=tuple(Port(r.name, span=r.span) for r in inputs),
        outputs=tuple(Port(r.name, span=r.span) for r in outputs),
        gates=gates,
        span=Span(filename, 1, 1),
    )
    circuit.check()
    return Spec(circuits=(circuit,), source=filename, source_hash=text_hash(text))


def load_bench(path: str | os.PathLike[str]) -> Spec:
    """Read and parse a `.bench` file; an unreadable file is a CircuitError, not an OSError."""
    return parse_bench(read_netlist_text(path, "bench"), str(path))


# ---------------------------------------------------------------------------------- helpers

def _split_args(args: str, offset: int, filename: str, lineno: int, code: str,
                diags: Collector) -> list[_Ref | None]:
    """The comma-separated wire names of `GATE(...)`; None marks a malformed one (reported)."""
    if not args.strip():
        return []
    refs: list[_Ref | None] = []
    pos = offset
    for piece in args.split(","):
        lead = len(piece) - len(piece.lstrip())
        start, end = pos + lead, pos + len(piece.rstrip())
        name = piece.strip()
        if _NAME_ONLY.match(name):
            refs.append(_Ref(name, _span(filename, lineno, code, start, end)))
        else:
            where = _span(filename, lineno, code, start, end) if name else \
                _span(filename, lineno, code, pos, pos + 1)
            diags.error("empty argument" if not name else f"malformed argument `{name}`", where,
                        hint="the inputs are wire names separated by commas: `GATE(a, b)`")
            refs.append(None)
        pos += len(piece) + 1  # the comma
    return refs


def _span(filename: str, lineno: int, code: str, start: int, end: int) -> Span:
    """Span of `code[start:end]` (0-based, end exclusive) on line `lineno`."""
    start = min(start, max(len(code) - 1, 0))
    return Span(filename, lineno, start + 1, lineno, max(end, start + 1) + 1)




def _statement_span(filename: str, lineno: int, code: str) -> Span:
    return _span(filename, lineno, code, len(code) - len(code.lstrip()), len(code.rstrip()))


def _read_span(lines: list[str], filename: str, lineno: int, name: str) -> Span:
    """Where gate line `lineno` reads wire `name`: the line is matched again, for errors only."""
    code = lines[lineno - 1].partition("#")[0]
    m = _ASSIGN.match(code)
    if m:
        refs = _split_args(m["args"], m.start("args"), filename, lineno, code, Collector(SourceMap()))
        for ref in refs:
            if ref is not None and ref.name == name:
                return ref.span
    return _statement_span(filename, lineno, code)
