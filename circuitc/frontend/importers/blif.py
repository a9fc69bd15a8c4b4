"""Import Berkeley BLIF netlists (the combinational subset) as a `Spec`.

Supported: `.model`, `.inputs`, `.outputs`, `.names` with its cover, `.subckt`, `.end`, `#`
comments and `\\` line continuations. Timing and area directives are accepted and ignored;
sequential constructs, library gates (`.gate`), `.exdc` and `.search` are rejected.

A cover is read the BLIF way: each row is an input plane (`1` a literal, `0` its negation, `-`
don't care) and an output bit. Rows with output 1 list the on-set (the output is the OR of the
cubes), rows with output 0 the off-set (the output is the NOR of the cubes); a cover with no rows
is constant 0. Covers become compact primitive gates: a one-literal cover is a BUF or NOT, one
cube is a single AND, a complete parity cover (the usual two-row XOR) is one XOR gate.

Every model becomes one circuit, top model (the first) first. `.subckt` instances are inlined,
so each circuit is flat and can be evaluated on its own: the callee's formals are bound to the
actual wires and its other wires are renamed `<model>$<k>/<wire>` for the k-th `.subckt` of the
caller. Every extra wire carries a `$` and is checked against the netlist's names.

All problems in the file are collected, each with its line and a caret, and raised as one
`CircuitError`. Combinational cycles are left to the graph pass.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from ...errors import Collector, SourceMap, Span, did_you_mean
from ...graph import gc_paused
from ...spec import OP_CODE, BoolCircuit, Gate, GateTable, Op, Port, Spec

# Small helpers shared by the netlist importers (file reading, hashing, fresh `$` names).
from .netlist_file import (
    circuit_name_for,
    fresh_name,
    line_columns,
    odd_line_breaks,
    raise_in_file_order,
    read_netlist_text,
    text_hash,
)

__all__ = ["parse_blif", "load_blif"]

_SEQUENTIAL = (".latch", ".mlatch", ".clock", ".clock_event", ".start_kiss", ".end_kiss", ".cycle")
_REJECTED = {
    ".gate": ("library-mapped gate `.gate` is not supported",
              "write the logic as `.names` covers (e.g. map to a generic library first)"),
    ".search": ("`.search` is not supported: circuitc reads one file",
                "concatenate the files into one BLIF file; every model may live in it"),
    ".exdc": ("external don't-care network `.exdc` is not supported",
              "drop the `.exdc` section (it is only an optimisation hint)"),
}
_IGNORED = (".default_input_arrival", ".default_output_required", ".input_arrival",
            ".output_required", ".default_input_drive", ".input_drive", ".default_output_load",
            ".output_load", ".default_max_input_load", ".max_input_load", ".area", ".delay",
            ".wire_load_slope", ".wire")
_TOKEN = re.compile(r"\S+")
_NOT_PLANE = re.compile(r"[^01-]")
_STRUCTURE = (".model", ".inputs", ".outputs", ".names", ".subckt", ".end")
_KNOWN = _STRUCTURE + _SEQUENTIAL + tuple(_REJECTED) + _IGNORED


class _Tok(NamedTuple):
    """A token and where it starts. Its span is made when a diagnostic asks for it: a large
    netlist has millions of tokens and almost never an error."""

    text: str
    file: str
    line: int
    column: int

    @property
    def span(self) -> Span:
        return Span(self.file, self.line, self.column, self.line, self.column + max(len(self.text), 1))


@dataclass
class _Cover:
    """A `.names` statement and its validated rows (input plane, output bit)."""

    inputs: list[_Tok]
    out: _Tok
    span: Span
    rows: list[tuple[str, str]] = field(default_factory=list)
    first_row: tuple[str, int] | None = None   # (output bit, line) of the first row


@dataclass
class _Instance:
    """A `.subckt MODEL formal=actual ...` statement."""

    model: _Tok
    binds: list[tuple[_Tok, _Tok]]
    span: Span
    index: int         # this is the index-th `.subckt` of its model: names its wires


@dataclass
class _Model:
    name: str
    span: Span
    implicit: bool                        # opened by a statement, not by `.model`
    first: _Tok                           # the statement that opened it
    inputs: list[_Tok] = field(default_factory=list)
    outputs: list[_Tok] = field(default_factory=list)
    body: list[_Cover | _Instance] = field(default_factory=list)
    instances: int = 0                    # `.subckt` statements so far
    # Wires named by rejected statements (`.latch` outputs...): counted as driven so that one
    # unsupported construct is reported once, not again at each of its readers.
    opaque: set[str] = field(default_factory=set)


def parse_blif(text: str, filename: str = "<string>") -> Spec:
    """Parse BLIF text into a Spec with one flat circuit per model, the top model first."""
    with gc_paused():  # millions of small objects, none of them garbage
        return _parse_blif(text, filename)


def _parse_blif(text: str, filename: str) -> Spec:
    body = " " + text[1:] if text.startswith("\ufeff") else text  # a BOM is no token
    return _parse_clean(body, text, filename) or _parse_statements(text, filename)


def _parse_statements(text: str, filename: str) -> Spec:
    """The file read statement by statement, every problem collected with its span and raised."""
    sources = SourceMap()
    sources.add(filename, text)
    diags = Collector(sources)
    models = _Parser(filename, diags).parse(text)
    if not models and not diags.has_errors:
        diags.error("the file holds no model", Span(filename, 1, 1),
                    hint="a BLIF model is `.model NAME`, `.inputs`, `.outputs`, `.names`... `.end`")
    by_name = _check_models(models, diags)
    order = _call_order(models, by_name, diags)
    raise_in_file_order(diags)

    flat: dict[str, BoolCircuit] = {}
    for m in order:  # callees before callers, so each instance inlines a finished circuit
        flat[m.name] = _flatten(m, flat)
    circuits = tuple(flat[m.name] for m in models)
    for c in circuits:
        c.check()
    return Spec(circuits=circuits, source=filename, source_hash=text_hash(text))


def load_blif(path: str | os.PathLike[str]) -> Spec:
    """Read and parse a BLIF file; an unreadable file is a CircuitError, not an OSError."""
    return parse_blif(read_netlist_text(path, "BLIF"), str(path))


# ------------------------------------------------------------------------------------ lexing

def _statements(text: str, filename: str):
    """Logical lines as token lists: comments dropped, `\\`-continued lines joined.

    Tokens keep their own spans, so a caret can point at one wire of a long statement.
    """
    toks: list[_Tok] = []
    body = " " + text[1:] if text.startswith("\ufeff") else text  # a BOM is no token
    for lineno, raw in enumerate(body.splitlines(), 1):
        code = raw.split("#", 1)[0].rstrip()
        continued = code.endswith("\\")
        if continued:
            code = code[:-1]
        toks.extend(_Tok(m.group(), filename, lineno, m.start() + 1) for m in _TOKEN.finditer(code))
        if toks and not continued:
            yield toks
            toks = []
    if toks:
        yield toks


def _stmt_span(toks: list[_Tok]) -> Span:
    a, b = toks[0], toks[-1]
    return Span(a.file, a.line, a.column, b.line, b.column + max(len(b.text), 1))


def _sub(tok: _Tok, start: int, end: int) -> _Tok:
    """The token made of characters [start, end) of `tok` (one line, so columns shift)."""
    return _Tok(tok.text[start:end], tok.file, tok.line, tok.column + start)


# ----------------------------------------------------------------------------------- parsing

class _Parser:
    """Reads statements into models; reports malformed and unsupported statements."""

    def __init__(self, filename: str, diags: Collector):
        self.file = filename
        self.diags = diags
        self.models: list[_Model] = []
        self.current: _Model | None = None
        self.cover: _Cover | None = None      # the `.names` whose rows come next
        self.last_end: int | None = None      # line of the last `.end`
        # Inside a rejected block, skipped up to this directive (`.` for any directive).
        self.skip_until: str | None = None
        self.model_lines: dict[str, int] = {} # model name -> line of its `.model`

    def parse(self, text: str) -> list[_Model]:
        for toks in _statements(text, self.file):
            head = toks[0]
            directive = head.text.lower()
            if self.skip_until:
                ends = directive in (self.skip_until, ".model", ".end") or \
                    (self.skip_until == "." and directive.startswith("."))
                if not ends:
                    continue
                self.skip_until = None
                if directive == ".end_kiss":
                    continue  # the end of a skipped block is part of it
            if not head.text.startswith("."):
                self.row(toks)
                continue
            self.cover = None  # any directive ends a cover
            self.directive(directive, toks)
        return self.models

    def directive(self, d: str, toks: list[_Tok]) -> None:
        head, args, span = toks[0], toks[1:], _stmt_span(toks)
        err = self.diags.error
        if d == ".model":
            self.open_model(head, args)
        elif d == ".end":
            if self.current is not None:
                self.last_end = head.line
            self.current = None
        elif d in _IGNORED:
            pass
        elif d in _SEQUENTIAL:
            err(f"sequential construct `{head.text}` is not supported: "
                "circuitc compiles combinational logic only", head.span,
                hint="cut the state elements out and import the combinational core")
            self.make_opaque(args)
            if d == ".start_kiss":
                self.skip_until = ".end_kiss"  # the state table is no cover: skip it quietly
        elif d in _REJECTED:
            message, hint = _REJECTED[d]
            err(message, head.span, hint=hint)
            self.make_opaque(args)
            if d == ".exdc":
                self.skip_until = ".end"       # its `.names` describe don't cares, not logic
        elif d in (".inputs", ".outputs"):
            model = self.model_for(head)
            if model is not None:
                (model.inputs if d == ".inputs" else model.outputs).extend(args)
        elif d == ".names":
            if not args:
                err("`.names` needs at least an output wire", span,
                    hint="`.names a b y` lists the inputs a, b and then the output y")
                self.skip_until = "."  # its rows cannot be checked: skip them quietly
                return
            cover = _Cover(args[:-1], args[-1], span)
            self.cover = cover  # rows are checked even when the statement is misplaced
            model = self.model_for(head)
            if model is not None:
                model.body.append(cover)
        elif d == ".subckt":
            self.subckt(head, args, span)
        else:
            err(f"unknown directive `{head.text}`", head.span,
                hint=did_you_mean(d, _KNOWN) or "BLIF directives: " + ", ".join(_STRUCTURE))

    def open_model(self, head: _Tok, args: list[_Tok]) -> None:
        implicit = self.models[0] if self.models and self.models[0].implicit else None
        if implicit is not None and not self.model_lines:  # reported at the first `.model`
            self.diags.error(f"`{implicit.first.text}` before `.model`", implicit.first.span,
                             hint="in a file with `.model` lines every statement belongs to a model")
        if len(args) > 1:
            self.diags.error("`.model` takes one name", _stmt_span(args[1:]))
        name = args[0].text if args else circuit_name_for(self.file, "blif")
        span = (args[0] if args else head).span
        if name in self.model_lines:
            self.diags.error(f"model `{name}` is defined twice", span,
                             hint=f"first defined on line {self.model_lines[name]}")
        self.model_lines.setdefault(name, span.line)
        self.current = _Model(name, span, implicit=False, first=head)
        self.models.append(self.current)

    def model_for(self, head: _Tok) -> _Model | None:
        """The model a statement belongs to: without `.model`, the file is one model."""
        if self.current is not None:
            return self.current
        if not self.models:
            self.current = _Model(circuit_name_for(self.file, "blif"), head.span, implicit=True, first=head)
            self.models.append(self.current)
            return self.current
        self.diags.error(f"`{head.text}` outside a model (the last one ended on line {self.last_end})",
                         head.span, hint="start a new model with `.model NAME`")
        return None

    def make_opaque(self, args: list[_Tok]) -> None:
        if self.current is not None:
            self.current.opaque.update(t.text.split("=", 1)[-1] for t in args)

    def subckt(self, head: _Tok, args: list[_Tok], span: Span) -> None:
        if not args:
            self.diags.error("`.subckt` needs a model name", span,
                             hint="`.subckt MODEL formal=actual ...`")
            return
        binds: list[tuple[_Tok, _Tok]] = []
        for tok in args[1:]:
            formal, eq, actual = tok.text.partition("=")
            if not (formal and eq and actual):
                self.diags.error(f"malformed connection `{tok.text}`", tok.span,
                                 hint="connections are `formal=actual`, without spaces")
                continue
            binds.append((_sub(tok, 0, len(formal)), _sub(tok, len(formal) + 1, len(tok.text))))
        model = self.model_for(head)
        if model is not None:
            model.body.append(_Instance(args[0], binds, span, model.instances))
            model.instances += 1

    def row(self, toks: list[_Tok]) -> None:
        """One cover row of the current `.names`."""
        cover, err = self.cover, self.diags.error
        if cover is None:
            err(f"unexpected `{toks[0].text}`: cover rows belong after a `.names` line",
                _stmt_span(toks), hint="directives start with `.`")
            return
        k = len(cover.inputs)
        if k == 0 and len(toks) == 1:
            plane, bit = "", toks[0]
        elif k > 0 and len(toks) == 2:
            plane_tok, bit = toks
            plane = plane_tok.text
            if len(plane) != k:
                err(f"input plane `{plane}` has {len(plane)} characters, but the `.names` on line "
                    f"{cover.span.line} has {k} input{'s' * (k != 1)}", plane_tok.span,
                    hint="one character of 0, 1 or - per input: "
                    + " ".join(t.text for t in cover.inputs))
                return
            bad = _NOT_PLANE.search(plane)
            if bad:
                err(f"invalid character `{bad.group()}` in input plane `{plane}`",
                    _sub(plane_tok, bad.start(), bad.end()).span,
                    hint="1 is the input, 0 its negation, - don't care")
                return
        else:
            shape = "`1` (or `0`)" if k == 0 else f"{k} characters of 0, 1 or -, then 0 or 1"
            err(f"malformed cover row for `.names` with {k} input{'s' * (k != 1)}",
                _stmt_span(toks), expected=shape)
            return
        if bit.text not in ("0", "1"):
            err(f"output bit `{bit.text}` must be 0 or 1", bit.span,
                hint="1 lists the on-set, 0 the off-set")
            return
        if cover.first_row is None:
            cover.first_row = (bit.text, bit.line)
        elif bit.text != cover.first_row[0]:
            err("cover mixes on-set (output 1) and off-set (output 0) rows", bit.span,
                hint=f"the row on line {cover.first_row[1]} has output {cover.first_row[0]}; "
                "a cover lists either the rows where the output is 1 or those where it is 0")
            return
        cover.rows.append((plane, bit.text))


# -------------------------------------------------------------------------------- validation

def _check_models(models: list[_Model], diags: Collector) -> dict[str, _Model]:
    """Check ports, drivers, readers and instance connections of every model."""
    by_name: dict[str, _Model] = {}
    for m in models:
        by_name.setdefault(m.name, m)  # a duplicate name is already reported
    for m in models:
        drivers: dict[str, tuple[int, str]] = {}    # wire -> (line, what drives it)
        reads: list[_Tok] = []

        def drive(tok: _Tok, what: str) -> None:
            if tok.text in drivers:
                line, first = drivers[tok.text]
                diags.error(f"wire `{tok.text}` is driven twice", tok.span,
                            hint=f"first driven on line {line} by {first}")
            else:
                drivers[tok.text] = (tok.line, what)

        for tok in m.inputs:
            if tok.text in drivers:
                diags.error(f"input `{tok.text}` is declared twice", tok.span,
                            hint=f"first declared on line {drivers[tok.text][0]}")
            else:
                drive(tok, "`.inputs`")
        outputs: dict[str, int] = {}
        for tok in m.outputs:
            if tok.text in outputs:
                diags.error(f"output `{tok.text}` is declared twice", tok.span,
                            hint=f"first declared on line {outputs[tok.text]}")
            outputs.setdefault(tok.text, tok.line)

        for item in m.body:
            if isinstance(item, _Cover):
                drive(item.out, "`.names`")
                reads.extend(item.inputs)
                continue
            callee = by_name.get(item.model.text)
            if callee is None:
                diags.error(f"unknown model `{item.model.text}`", item.model.span,
                            hint=did_you_mean(item.model.text, by_name)
                            or f"models: {', '.join(by_name)}")
                m.opaque.update(a.text for _, a in item.binds)
                continue
            ins = {t.text for t in callee.inputs}
            outs = {t.text for t in callee.outputs}
            bound: dict[str, int] = {}
            for formal, actual in item.binds:
                if formal.text in bound:
                    diags.error(f"formal `{formal.text}` is connected twice", formal.span,
                                hint=f"`.subckt {callee.name}` connects each port at most once")
                elif formal.text in ins:
                    reads.append(actual)
                elif formal.text in outs:
                    drive(actual, f"`.subckt {callee.name}`")
                else:
                    diags.error(f"model `{callee.name}` has no port `{formal.text}`", formal.span,
                                hint=did_you_mean(formal.text, ins | outs)
                                or f"its ports: {' '.join(t.text for t in callee.inputs + callee.outputs)}")
                bound.setdefault(formal.text, formal.line)
            missing = [t.text for t in callee.inputs if t.text not in bound]
            if missing:
                diags.error(f"`.subckt {callee.name}` leaves input{'s' * (len(missing) > 1)} "
                            f"{', '.join(f'`{x}`' for x in missing)} unconnected", item.span,
                            hint="connect every input of the model: `formal=actual`")

        known = set(drivers) | m.opaque
        reported: set[str] = set()
        for tok in reads:
            if tok.text not in known and tok.text not in reported:
                reported.add(tok.text)  # once per wire, at its first reader
                diags.error(f"wire `{tok.text}` is read but never driven", tok.span,
                            hint=did_you_mean(tok.text, drivers)
                            or "list it in `.inputs` or drive it with `.names`")
        for tok in m.outputs:
            if tok.text not in known and tok.text not in reported:
                reported.add(tok.text)
                diags.error(f"output `{tok.text}` of model `{m.name}` is never driven", tok.span,
                            hint=did_you_mean(tok.text, drivers) or "drive it with `.names`")
        if not m.outputs:
            diags.error(f"model `{m.name}` declares no outputs", m.span,
                        hint="list them with `.outputs`")
    return by_name


def _call_order(models: list[_Model], by_name: dict[str, _Model], diags: Collector) -> list[_Model]:
    """Models with every callee before its callers; a recursive `.subckt` is an error."""
    calls = {id(m): [(by_name[i.model.text], i) for i in m.body
                     if isinstance(i, _Instance) and i.model.text in by_name] for m in models}
    state: dict[int, int] = {}   # 1: on the current path, 2: done
    order: list[_Model] = []
    for root in models:
        if id(root) in state:
            continue
        state[id(root)] = 1
        path, stack = [root], [iter(calls[id(root)])]
        while stack:  # iterative depth-first search: deep hierarchies cannot overflow
            step = next(stack[-1], None)
            if step is None:
                done = path.pop()
                stack.pop()
                state[id(done)] = 2
                order.append(done)
                continue
            callee, inst = step
            if state.get(id(callee)) == 1:
                loop = [m.name for m in path[path.index(callee):]] + [callee.name]
                diags.error(f"recursive `.subckt`: {' -> '.join(loop)}", inst.span,
                            hint="a model cannot instantiate itself, directly or through others")
            elif id(callee) not in state:
                state[id(callee)] = 1
                path.append(callee)
                stack.append(iter(calls[id(callee)]))
    return order


# --------------------------------------------------------------------------------- lowering

def _flatten(m: _Model, flat: dict[str, BoolCircuit]) -> BoolCircuit:
    """The model as one flat circuit; `flat` holds its callees, already flattened."""
    taken = {t.text for t in m.inputs + m.outputs}
    for item in m.body:
        if isinstance(item, _Cover):
            taken.update(t.text for t in item.inputs + [item.out])
        else:
            taken.update(a.text for _, a in item.binds)
    negations: dict[str, str] = {}   # wire -> wire holding its negation, shared by all covers
    gates: list[Gate] = []
    for item in m.body:
        if isinstance(item, _Cover):
            gates.extend(_cover_gates(item, taken, negations))
        else:
            gates.extend(_inline(flat[item.model.text], item, taken))
    return BoolCircuit(
        name=m.name,
        inputs=tuple(Port(t.text, span=t.span) for t in m.inputs),
        outputs=tuple(Port(t.text, span=t.span) for t in m.outputs),
        gates=tuple(gates),
        span=m.span,
    )


def _cover_gates(c: _Cover, taken: set[str], negations: dict[str, str]) -> list[Gate]:
    out, span = c.out.text, c.span
    names = tuple(t.text for t in c.inputs)
    planes = list(dict.fromkeys(p for p, _ in c.rows))  # repeated rows add nothing
    onset = not c.rows or c.rows[0][1] == "1"
    if not planes:
        return [Gate(out, Op.CONST0, (), span)]          # an empty cover is constant 0
    if any(set(p) <= {"-"} for p in planes):              # a cube that covers everything
        return [Gate(out, Op.CONST1 if onset else Op.CONST0, (), span)]

    # A complete parity cover (e.g. `10 1` / `01 1`) is one XOR: the rows, all without don't
    # cares and all distinct, are exactly the 2^(k-1) planes with the same number of ones mod 2.
    k = len(names)
    if k >= 2 and len(planes) == 2 ** (k - 1) and all("-" not in p for p in planes) \
            and len({p.count("1") % 2 for p in planes}) == 1:
        odd = planes[0].count("1") % 2 == 1
        if odd == onset:
            return [Gate(out, Op.XOR, names, span)]
        inner = fresh_name(f"{out}$xor", taken)
        return [Gate(inner, Op.XOR, names, span), Gate(out, Op.NOT, (inner,), span)]

    cubes = [[(names[i], ch == "1") for i, ch in enumerate(p) if ch != "-"] for p in planes]
    if len(cubes) == 1 and len(cubes[0]) == 1:
        # One literal: the output is the wire or its negation; the off-set flips it once more.
        wire, positive = cubes[0][0]
        return [Gate(out, Op.BUF if positive == onset else Op.NOT, (wire,), span)]

    # Sum of products: the OR of the cubes, each the AND of its literals. An off-set cover is
    # the negation of that; by De Morgan it is also the product of sums of the opposite
    # literals, which needs no final NOT. Take that form unless it needs more new negations
    # (`00 0` becomes `or(a, b)`, `0- 0` / `-0 0` becomes `and(a, b)`, `11 0` stays a NAND).
    outer, inner, inverted = Op.OR, Op.AND, not onset
    if inverted:
        new_neg = {w for cube in cubes for w, pos in cube if not pos and w not in negations}
        new_pos = {w for cube in cubes for w, pos in cube if pos and w not in negations}
        if len(new_pos) <= len(new_neg):
            cubes = [[(w, not pos) for w, pos in cube] for cube in cubes]
            outer, inner, inverted = Op.AND, Op.OR, False

    gates: list[Gate] = []

    def literal(wire: str, positive: bool) -> str:
        if positive:
            return wire
        if wire not in negations:  # one NOT per wire serves every cover of the model
            negations[wire] = fresh_name(f"{wire}$not", taken)
            gates.append(Gate(negations[wire], Op.NOT, (wire,), span))
        return negations[wire]

    if len(cubes) == 1:
        op, args = inner, tuple(literal(*lit) for lit in cubes[0])
    else:
        terms = []
        for j, cube in enumerate(cubes):
            lits = tuple(literal(*lit) for lit in cube)
            if len(lits) == 1:
                terms.append(lits[0])  # a one-literal cube is the literal itself
            else:
                term = fresh_name(f"{out}$c{j}", taken)
                gates.append(Gate(term, inner, lits, span))
                terms.append(term)
        op, args = outer, tuple(terms)
    if inverted:
        pre = fresh_name(f"{out}${op.value}", taken)
        gates += [Gate(pre, op, args, span), Gate(out, Op.NOT, (pre,), span)]
    else:
        gates.append(Gate(out, op, args, span))
    return gates


def _inline(callee: BoolCircuit, inst: _Instance, taken: set[str]) -> list[Gate]:
    """The callee's gates with formals bound to actuals and its own wires renamed apart.

    Inlined gates carry the span of the `.subckt` line: in this circuit that is the statement
    that made them.
    """
    rename = {f.text: a.text for f, a in inst.binds}
    own = [g.out for g in callee.gates if g.out not in rename]  # every input is bound
    prefix, attempt = f"{callee.name}${inst.index}/", 1
    while any(prefix + w in taken for w in own):   # only if the netlist uses such names
        attempt += 1
        prefix = f"{callee.name}${inst.index}.{attempt}/"
    for w in own:
        rename[w] = prefix + w
    taken.update(rename[w] for w in own)
    return [Gate(rename[g.out], g.op, tuple(rename[a] for a in g.args), inst.span)
            for g in callee.gates]


# ---------------------------------------------------------------------------- the array reader
# Machine-written netlists (one model, on-set covers, no `.subckt`) of 10^5-10^6 covers are read
# in one regular-expression pass and built as a GateTable. Each distinct cover (its rows and
# output bit) is lowered once by `_cover_gates`, on placeholder wires, and that template is
# instantiated for every cover of its kind; so this reader makes exactly the gates, names and
# order of the statement reader. Anything else, and anything that would need a diagnostic,
# returns None and is left to the statement reader.

# One line: blanks, then a directive and its arguments, or a cover row, or nothing; a comment.
# Trailing blanks belong to the optional statement, so a line of blanks matches one way only.
_CLEAN_LINE = re.compile(r"^([ \t]*)(?:(?:(\.[A-Za-z_]+)((?:[ \t]+[^\s#]+)*)|([01-]+[ \t]+[01]|[01]))[ \t]*)?"
                         r"\r?(?:#[^\n]*)?$", re.M)
_CLEAN_DIRECTIVES = {".model", ".inputs", ".outputs", ".names", ".end"}
_PLACEHOLDER = "\x00"   # no wire name holds it: template wires are \x00o (the output) and \x00<i>


@dataclass
class _CleanCovers:
    """What the array reader needs of a clean file: its ports, and every on-set cover as the
    line it starts on (0-based), its wires, its columns and its rows' input planes in file order."""

    name: str
    model_span: Span
    inputs: list[_Tok]
    outputs: list[_Tok]
    covers: list[int]                     # the line of each `.names`
    wires: list[tuple[str, ...]]          # its wires, the output last
    start: np.ndarray                     # 0-based columns where each `.names` starts and ends
    end: np.ndarray
    planes: list[str]                     # every row's input plane
    row_cover: np.ndarray                 # the cover of each row


def _parse_clean(body: str, text: str, filename: str) -> Spec | None:
    if odd_line_breaks(body) or _PLACEHOLDER in body:
        return None
    covers = _strict_covers(body, filename) or _clean_covers(body, filename)
    return None if covers is None else _clean_spec(covers, text, filename)


# The form tools write: a header of `.model`/`.inputs`/`.outputs` lines, then on-set covers, then
# `.end`; single spaces, no comments, blank lines or carriage returns. Read a cover at a time,
# it takes a fifth of the time of the line-by-line pattern below; any other file goes there.
_STRICT_HEADER = re.compile(r"\.(model|inputs|outputs)((?: [^\s#]+)*)\n")
_STRICT_COVER = re.compile(r"\.names((?: [^\s#]+)+)\n((?:[01-]+ 1\n|1\n)*)")
_STRICT_END = re.compile(r"\.end\n?")


def _strict_covers(body: str, filename: str) -> _CleanCovers | None:
    name = circuit_name_for(filename, "blif")
    model_span: Span | None = None
    ports: dict[str, list[_Tok]] = {"inputs": [], "outputs": []}
    pos = line = 0
    while (m := _STRICT_HEADER.match(body, pos)) is not None:
        kind, args = m.groups()
        toks = [_Tok(t.group(), filename, line + 1, len(kind) + 2 + t.start()) for t in _TOKEN.finditer(args)]
        if kind == "model":
            if line != 0 or len(toks) != 1:
                return None
            name, model_span = toks[0].text, toks[0].span
        else:
            ports[kind].extend(toks)
        pos, line = m.end(), line + 1
    found = list(_STRICT_COVER.finditer(body, pos))
    if not found or found[0].start() != pos or any(a.end() != b.start() for a, b in zip(found, found[1:])):
        return None
    if model_span is None:                         # the first statement opened the model
        model_span = _Tok(_TOKEN.match(body).group(), filename, 1, 1).span
    end = _STRICT_END.fullmatch(body, found[-1].end())
    if end is None and found[-1].end() != len(body):
        return None
    blocks = [m.group(2) for m in found]
    n_rows = np.fromiter((b.count("\n") for b in blocks), dtype=np.int64, count=len(blocks))
    covers = (line + np.arange(len(found)) + np.concatenate(([0], np.cumsum(n_rows)[:-1]))).tolist()
    args = [m.group(1) for m in found]
    # A row is a plane, a blank and the bit, or the bit alone: the plane is what precedes " 1".
    planes = [sys.intern(r[:-2]) for b in blocks for r in b.split("\n")[:-1]]
    return _CleanCovers(name, model_span, ports["inputs"], ports["outputs"], covers,
                        [tuple(a.split()) for a in args], np.zeros(len(found), dtype=np.int64),
                        np.fromiter((len(".names") + len(a) for a in args), dtype=np.int64, count=len(args)),
                        planes, np.repeat(np.arange(len(found)), n_rows))


def _clean_covers(body: str, filename: str) -> _CleanCovers | None:
    columns = line_columns(_CLEAN_LINE, body, 4)
    if columns is None:                      # a line of another form: a continuation, a bad row...
        return None
    blank, directive, args, row = columns
    n_lines = len(blank)
    # Line numbers as arrays and directive names shared: per-line Python ints and strings would
    # make up much of the peak memory of a million-line file.
    lines = np.flatnonzero(np.fromiter(map(bool, directive), dtype=bool, count=n_lines))
    lower = {d: d.lower() for d in set(directive)}
    kinds = [lower[directive[i]] for i in lines.tolist()]
    if not kinds or not _CLEAN_DIRECTIVES.issuperset(kinds) or kinds.count(".model") > 1 or kinds.count(".end") > 1:
        return None
    if (".model" in kinds and kinds[0] != ".model") or (".end" in kinds and kinds[-1] != ".end"):
        return None
    # Every row must follow a `.names` with no other directive between; nothing after `.end`.
    at = np.zeros(n_lines, dtype=np.int64)
    at[lines] = np.arange(1, len(lines) + 1)
    owner = np.maximum.accumulate(at) - 1               # the latest directive at or before each line
    row_lines = np.flatnonzero(np.fromiter(map(bool, row), dtype=bool, count=n_lines))
    kind_of = np.array([{".names": 0, ".end": 1}.get(k, 2) for k in kinds], dtype=np.int8)
    if len(row_lines) and ((owner[row_lines] < 0).any() or (kind_of[owner[row_lines]] != 0).any()):
        return None

    def tokens(i: int) -> list[_Tok]:
        code = blank[i] + directive[i] + args[i]
        return [_Tok(m.group(), filename, i + 1, m.start() + 1) for m in _TOKEN.finditer(code)][1:]

    inputs: list[_Tok] = []
    outputs: list[_Tok] = []
    model_span: Span | None = None
    name = circuit_name_for(filename, "blif")
    covers: list[int] = []                               # line of each `.names`
    for i, kind in zip(lines.tolist(), kinds):
        if kind == ".names":
            covers.append(i)
        elif kind == ".model":
            toks = tokens(i)
            if len(toks) != 1:
                return None
            name, model_span = toks[0].text, toks[0].span
        elif kind in (".inputs", ".outputs"):
            (inputs if kind == ".inputs" else outputs).extend(tokens(i))
    if model_span is None:                               # the first statement opened the model
        first = next(i for i, (d, r) in enumerate(zip(directive, row)) if d or r)
        model_span = _Tok((directive[first] or row[first]).split()[0], filename, first + 1,
                          len(blank[first]) + 1).span
    if not covers:
        return None

    # Each cover's rows (in file order, so a cover's rows are consecutive). Only on-set covers
    # (output bit 1) are read here.
    wires = [tuple(args[i].split()) for i in covers]
    # A statement ends with its last argument (the pattern leaves trailing blanks out of it).
    start = np.fromiter((len(blank[i]) for i in covers), dtype=np.int64, count=len(covers))
    end = start + np.fromiter((len(directive[i]) + len(args[i]) for i in covers), dtype=np.int64, count=len(covers))

    names_rank = np.cumsum(kind_of == 0) - 1
    row_cover = names_rank[owner[row_lines]]
    row_text = [row[i] for i in row_lines.tolist()]
    if any(r[-1] != "1" for r in row_text):             # the pattern ends a row with its bit
        return None
    # A plane is what precedes the bit; the few distinct planes are shared (interned).
    planes = [sys.intern(r[:-1].rstrip(" \t")) for r in row_text]
    return _CleanCovers(name, model_span, inputs, outputs, covers, wires, start, end, planes, row_cover)


def _clean_spec(cc: _CleanCovers, text: str, filename: str) -> Spec | None:
    """The Spec of clean covers, built as a GateTable; None when anything would need a diagnostic."""
    inputs, outputs, covers, wires, planes, row_cover = (cc.inputs, cc.outputs, cc.covers, cc.wires, cc.planes,
                                                         cc.row_cover)
    if not covers or not outputs:
        return None
    # Each cover's kind: the number of its inputs and its planes.
    k = np.fromiter(map(len, wires), dtype=np.int64, count=len(covers)) - 1
    if (k < 0).any() or (np.fromiter(map(len, planes), dtype=np.int64, count=len(planes)) != k[row_cover]).any():
        return None                                      # a `.names` without wires, or a plane of the wrong width
    bounds = np.concatenate(([0], np.cumsum(np.bincount(row_cover, minlength=len(covers))))).tolist()
    templates: dict[tuple, _Template] = {}
    negations: dict[str, str] = {}
    outs: list[str] = []
    ops: list[int] = []
    reads: list[str] = []
    arity: list[int] = []
    gate_cover: list[int] = []
    for c, names in enumerate(wires):
        key = (len(names) - 1, tuple(planes[bounds[c]:bounds[c + 1]]))
        template = templates.get(key)
        if template is None:
            template = templates[key] = _Template(*key)
        out, ins = names[-1], names[:-1]
        if template.plain is not None:                   # one gate of the cover's own wires
            op, order = template.plain
            outs.append(out)
            ops.append(op)
            reads.extend(ins if order is None else [ins[j] for j in order])
            arity.append(len(ins) if order is None else len(order))
            gate_cover.append(c)
            continue
        for t_out, op, t_args in template.gates:
            if op is Op.NOT and t_out[0] == "i":          # the shared negation of input t_out[1]
                wire = ins[t_out[1]]
                if wire in negations:
                    continue
                negations[wire] = wire + "$not"
            outs.append(_instance_name(t_out, out, ins, negations))
            ops.append(OP_CODE[op])
            reads.extend(_instance_name(a, out, ins, negations) for a in t_args)
            arity.append(len(t_args))
            gate_cover.append(c)

    # Names: generated ones (they hold `$`) must be new, as `fresh_name` would have kept them;
    # a file without `$` cannot clash with any.
    index = dict(zip([t.text for t in inputs] + outs, range(len(inputs) + len(outs))))
    if len(index) != len(inputs) + len(outs) or len({t.text for t in outputs}) != len(outputs):
        return None
    if "$" in text:
        taken = {t.text for t in inputs + outputs}.union(*wires)
        if len(taken | index.keys()) != len(taken) + len(outs) - len(covers):
            return None
    try:
        arg_idx = np.fromiter(map(index.__getitem__, reads), dtype=np.int64, count=len(reads))
        np.fromiter(map(index.__getitem__, (t.text for t in outputs)), dtype=np.int64, count=len(outputs))
    except KeyError:
        return None                                      # read or output but never driven
    arg_ptr = np.zeros(len(outs) + 1, dtype=np.int64)
    np.cumsum(arity, out=arg_ptr[1:])
    cover_of_gate = np.asarray(gate_cover, dtype=np.int64)
    gates = GateTable(tuple(t.text for t in inputs) + tuple(outs), len(inputs), np.asarray(ops, dtype=np.int8),
                      arg_ptr, arg_idx, (filename, np.asarray(covers, dtype=np.int64)[cover_of_gate] + 1,
                                                cc.start[cover_of_gate] + 1, cc.end[cover_of_gate] + 1),
                      index=index)
    circuit = BoolCircuit(name=cc.name, inputs=tuple(Port(t.text, span=t.span) for t in inputs),
                          outputs=tuple(Port(t.text, span=t.span) for t in outputs), gates=gates, span=cc.model_span)
    circuit.check()
    return Spec(circuits=(circuit,), source=filename, source_hash=text_hash(text))


class _Template:
    """The gates `_cover_gates` makes for an on-set cover of `k` inputs with these rows, on
    placeholder wires, each name given as ("o", suffix) or ("i", input, suffix). `plain` is
    (op code, the inputs it reads or None for all in order) when that is one gate reading the
    cover's own wires, the common case, which is instantiated without looking at names."""

    def __init__(self, k: int, planes: tuple[str, ...]):
        cover = _Cover([_Tok(f"{_PLACEHOLDER}{i}", "", 1, 1) for i in range(k)], _Tok(f"{_PLACEHOLDER}o", "", 1, 1),
                       Span("", 1, 1), [(p, "1") for p in planes])

        def spec(name: str) -> tuple:
            head, sep, suffix = name[1:].partition("$")
            return ("o", sep + suffix) if head == "o" else ("i", int(head), sep + suffix)

        self.gates = [(spec(g.out), g.op, [spec(a) for a in g.args]) for g in _cover_gates(cover, set(), {})]
        self.plain: tuple[int, list[int] | None] | None = None
        if len(self.gates) == 1 and all(a[0] == "i" and a[2] == "" for a in self.gates[0][2]):
            order = [a[1] for a in self.gates[0][2]]
            self.plain = (OP_CODE[self.gates[0][1]], None if order == list(range(k)) else order)


def _instance_name(spec: tuple, out: str, ins: list[str], negations: dict[str, str]) -> str:
    if spec[0] == "o":
        return out + spec[1]
    wire = ins[spec[1]]
    return negations[wire] if spec[2] == "$not" else wire + spec[2]
