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

from ...errors import Collector, SourceMap, Span, did_you_mean
from ...spec import BoolCircuit, Gate, Op, Port, Spec
from .netlist_file import circuit_name_for, fresh_name, raise_in_file_order, read_netlist_text, text_hash

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

_MALFORMED = "expected `name = GATE(a, b)`, `INPUT(name)` or `OUTPUT(name)`"
_ONE_PER_LINE = "one statement per line; `#` starts a comment"


@dataclass(frozen=True)
class _Ref:
    """A wire name as written, with the span of its characters."""

    name: str
    span: Span


@dataclass(frozen=True)
class _Assign:
    out: _Ref
    gate: str          # upper-cased gate type, known to be in _GATES
    args: tuple[_Ref, ...]
    span: Span         # the whole statement


def parse_bench(text: str, filename: str = "<string>") -> Spec:
    """Parse `.bench` text into a Spec holding one circuit named after the file stem."""
    sources = SourceMap()
    sources.add(filename, text)
    diags = Collector(sources)

    inputs: list[_Ref] = []
    outputs: list[_Ref] = []
    assigns: list[_Assign] = []
    reads: list[_Ref] = []                   # every wire a gate reads, in file order
    drivers: dict[str, tuple[int, str]] = {}  # wire -> (line, "INPUT" or "a gate")
    declared_outputs: dict[str, int] = {}

    def drive(ref: _Ref, by: str) -> None:
        first = drivers.get(ref.name)
        if first is None:
            drivers[ref.name] = (ref.span.line, by)
        elif by == first[1] == "INPUT":
            diags.error(f"INPUT `{ref.name}` is declared twice", ref.span,
                        hint=f"first declared on line {first[0]}")
        else:
            diags.error(f"wire `{ref.name}` is driven twice", ref.span,
                        hint=f"first driven on line {first[0]} by {first[1]}")

    # A leading byte-order mark is not part of the first statement; a space keeps columns.
    body = " " + text[1:] if text.startswith("\ufeff") else text
    for lineno, raw in enumerate(body.splitlines(), 1):
        code = raw.split("#", 1)[0]
        if not code.strip():
            continue
        stmt_span = _span(filename, lineno, code, len(code) - len(code.lstrip()), len(code.rstrip()))

        m = _DECL.match(code)
        if m:
            kw = m["kw"].upper()
            ref = _Ref(m["name"], _span(filename, lineno, code, m.start("name"), m.end("name")))
            if kw == "INPUT":
                drive(ref, "INPUT")
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
            diags.error(f"malformed line: {_MALFORMED}", stmt_span, hint=_ONE_PER_LINE)
            continue
        out = _Ref(m["out"], _span(filename, lineno, code, m.start("out"), m.end("out")))
        # A statement that names a wire drives it even when the gate itself is rejected, so a
        # bad gate type is reported once rather than again at every reader of its output.
        drive(out, "a gate")
        args = _split_args(m["args"], m.start("args"), filename, lineno, code, diags)
        reads.extend(a for a in args if a is not None)
        gate = m["type"].upper()
        type_span = _span(filename, lineno, code, m.start("type"), m.end("type"))
        if gate in _SEQUENTIAL:
            diags.error(f"sequential element {m['type']} is not supported: "
                        "circuitc compiles combinational logic only", type_span,
                        hint="cut the state elements out and import the combinational core")
            continue
        if gate not in _GATES:
            diags.error(f"unknown gate type `{m['type']}`", type_span,
                        hint=did_you_mean(gate, _GATES) or f"known gate types: {', '.join(_GATES)}")
            continue
        if None in args:
            continue  # already reported by _split_args
        if gate in _UNARY and len(args) != 1:
            diags.error(f"{gate} takes exactly 1 input, got {len(args)}", stmt_span,
                        hint="AND, OR, XOR and their inversions take several inputs")
            continue
        if not args:
            diags.error(f"{gate} needs at least 1 input, got 0", stmt_span,
                        hint=f"write the inputs between the parentheses: `{gate}(a, b)`")
            continue
        assigns.append(_Assign(out, gate, tuple(args), stmt_span))  # type: ignore[arg-type]

    # Reads and outputs can only be checked once every line is seen (the format is unordered).
    driven = list(drivers)
    reported: set[str] = set()
    for ref in reads:
        if ref.name not in drivers and ref.name not in reported:
            reported.add(ref.name)  # once per wire: the first read is where the user looks
            diags.error(f"wire `{ref.name}` is read but never driven", ref.span,
                        hint=did_you_mean(ref.name, driven)
                        or f"declare it with INPUT({ref.name}) or drive it with a gate")
    for ref in outputs:
        if ref.name not in drivers:
            diags.error(f"OUTPUT `{ref.name}` is never driven", ref.span,
                        hint=did_you_mean(ref.name, driven) or "no INPUT or gate defines this wire")
    if not outputs and not diags.has_errors:
        diags.error("the netlist declares no OUTPUT", Span(filename, 1, 1),
                    hint="add a line `OUTPUT(name)` for each output wire")
    raise_in_file_order(diags)

    # Extra wires get `$` names, checked against every name the netlist uses.
    taken = set(drivers) | {r.name for r in reads} | set(declared_outputs)
    gates: list[Gate] = []
    for a in assigns:
        op, inverted = _GATES[a.gate]
        names = tuple(r.name for r in a.args)
        if inverted:
            inner = fresh_name(f"{a.out.name}${op.value}", taken)
            gates.append(Gate(inner, op, names, a.span))
            gates.append(Gate(a.out.name, Op.NOT, (inner,), a.span))
        else:
            gates.append(Gate(a.out.name, op, names, a.span))

    circuit = BoolCircuit(
        name=circuit_name_for(filename, "bench"),
        inputs=tuple(Port(r.name, span=r.span) for r in inputs),
        outputs=tuple(Port(r.name, span=r.span) for r in outputs),
        gates=tuple(gates),
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


