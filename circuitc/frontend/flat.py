"""Flat circuits read without the parser: the form the printer writes (printer.py), one gate per
statement, as artifacts store their circuits and as netlists are converted.

A file of 10^4 such circuits (230,000 lines) takes about a minute through the LALR parser and the
elaborator, token by token; this reader takes each line with one regular expression and builds
each circuit's gates as arrays (`spec.GateTable`). It accepts a file only when every line is a
blank line or a comment, or one of

    circuit NAME {                  in P, Q[4];        out Y[2];        }
    W = 0;   W = 1;   W = R;   W = ~R;   W = and(R, ...);   (and, or, xor, maj)

(names plain or back-quoted, R a name or a bit `V[i]` of a vector port), every circuit is well
formed and acyclic, and nothing in it is something the elaborator would refuse or that needs
its rules (reserved words, builtin names, ports declared after statements, vectors assigned or
read whole). Anything else returns None, and the file goes through the parser, which gives the
diagnostics. What it returns is what elaborating the file gives: equal circuits in the same
order, and the same warnings for signals that are never used.
"""

from __future__ import annotations

import re

import numpy as np

from ..errors import CircuitError, Span
from ..graph import check_acyclic
from ..spec import OP_CODE, BoolCircuit, GateTable, Op, Port
from .expand import BUILTINS, MAX_STEPS
from .syntax.parse import RESERVED

_NAME = r"(?:[A-Za-z_][A-Za-z0-9_]*|`(?:[^`\n]|``)+`)"
_REF = _NAME + r"(?:\[(?:0|[1-9][0-9]{0,8})\])?"
_LIST = _REF + r"(?:[ \t]*,[ \t]*" + _REF + r")*"
# Trailing blanks belong to the optional statement, so that a line that matches no statement (a
# long run of blanks before `y = a & b;`) fails in linear time: with blanks on both sides of an
# optional group the pattern would try every split of them, quadratic in the line's length.
_LINE = re.compile(
    r"[ \t]*(?:(?:"
    r"(?P<open>circuit[ \t]+(?P<cname>" + _NAME + r")[ \t]*\{)"
    r"|(?P<dir>in|out)[ \t]+(?P<ports>" + _LIST + r")[ \t]*;"
    r"|(?P<lhs>" + _REF + r")[ \t]*=[ \t]*(?:"
    r"(?P<const>[01])|(?P<not>~[ \t]*)?(?P<ref>" + _REF + r")"
    r"|(?P<op>and|or|xor|maj)[ \t]*\([ \t]*(?P<args>" + _LIST + r")[ \t]*\))[ \t]*;"
    r"|(?P<close>\})"
    r")[ \t]*)?(?:#[^\n]*)?\r?\Z")
_PART = re.compile(r"(" + _NAME + r")(?:\[([0-9]+)\])?")
_OPS = {"and": OP_CODE[Op.AND], "or": OP_CODE[Op.OR], "xor": OP_CODE[Op.XOR], "maj": OP_CODE[Op.MAJ]}
_CONST = {"0": OP_CODE[Op.CONST0], "1": OP_CODE[Op.CONST1]}
_NOT, _BUF = OP_CODE[Op.NOT], OP_CODE[Op.BUF]
# Vector ports wider than this go through the parser (which knows the language's limits).
_MAX_WIDTH = 1 << 16


class _NotFlat(Exception):
    """This file needs the parser."""


def _name(text: str) -> str:
    if text[0] == "`":
        return text[1:-1].replace("``", "`")
    if text in RESERVED or text in BUILTINS:
        raise _NotFlat
    return text


class _Circuit:
    def __init__(self, name: str, span: Span):
        self.name, self.span = name, span
        self.inputs: list[Port] = []
        self.outputs: list[Port] = []
        self.widths: dict[str, int | None] = {}
        self.kinds: dict[str, str] = {}
        self.decl_spans: dict[str, Span] = {}
        self.outs: list[str] = []                 # gate outputs, in statement order
        self.ops: list[int] = []
        self.args: list[list[str]] = []
        self.lines: list[int] = []
        self.columns: list[int] = []
        self.ends: list[int] = []
        self.implicit: dict[str, Span] = {}
        self.memo: dict[str, tuple[str, str]] = {}

    def declare(self, kind: str, parts: str, lineno: int, file: str) -> None:
        if self.outs:
            raise _NotFlat                        # declarations after statements: the parser's rules
        for m in _PART.finditer(parts):
            name = _name(m.group(1))
            width = None if m.group(2) is None else int(m.group(2))
            if name in self.widths or width == 0 or (width or 0) > _MAX_WIDTH:
                raise _NotFlat
            self.widths[name] = width
            self.kinds[name] = kind
            self.decl_spans[name] = span = Span(file, lineno, m.start(1) + 1, lineno, m.end(1) + 1)
            (self.inputs if kind == "in" else self.outputs).append(Port(name, width, span))

    def wire(self, text: str) -> tuple[str, str]:
        """(wire name, owning signal) of a reference: a bit of a vector port, or a scalar."""
        hit = self.memo.get(text)
        if hit is None:
            hit = self.memo[text] = self._wire(text)
        return hit

    def _wire(self, text: str) -> tuple[str, str]:
        m = _PART.fullmatch(text)
        name = _name(m.group(1))
        if m.group(2) is not None:
            if self.widths.get(name) is None or int(m.group(2)) >= self.widths[name]:
                raise _NotFlat                    # not a vector port, or out of range
            return f"{name}[{int(m.group(2))}]", name
        if self.widths.get(name, None) is not None:
            raise _NotFlat                        # a whole vector
        return name, name

    def assign(self, m: re.Match, line: str, lineno: int, file: str) -> None:
        lhs = m.group("lhs")
        out, owner = self.wire(lhs)
        kind = self.kinds.get(owner)
        if kind == "in":
            raise _NotFlat
        if kind is None:
            self.implicit.setdefault(owner, Span(file, lineno, m.start("lhs") + 1, lineno, m.end("lhs") + 1))
        if m.group("const") is not None:
            op, args = _CONST[m.group("const")], []
        elif m.group("ref") is not None:
            op, args = (_NOT if m.group("not") else _BUF), [m.group("ref")]
        else:
            op, args = _OPS[m.group("op")], [a.group(0) for a in _PART.finditer(m.group("args"))]
        self.outs.append(out)
        self.ops.append(op)
        self.args.append(args)
        self.lines.append(lineno)
        self.columns.append(m.start("lhs") + 1)
        self.ends.append(len(line.rstrip("\r")) + 1)

    def build(self, file: str, sources) -> tuple[BoolCircuit, list]:
        if not self.outputs:
            raise _NotFlat
        inputs = [b for p in self.inputs for b in p.bits]
        port_bits = set(inputs).union(b for p in self.outputs for b in p.bits)
        if any(name in port_bits for name in self.implicit):
            raise _NotFlat                        # a back-quoted `y[0]` beside the vector `y`
        wires = inputs + self.outs
        index = {w: i for i, w in enumerate(wires)}
        if len(index) != len(wires):
            raise _NotFlat                        # a wire driven twice
        flat_args, reads = [], {}
        for args in self.args:
            for a in args:
                w, owner = self.wire(a)
                j = index.get(w)
                if j is None:
                    raise _NotFlat                # read but never assigned
                flat_args.append(j)
                reads[owner] = True
        ptr = np.zeros(len(self.args) + 1, dtype=np.int64)
        np.cumsum([len(a) for a in self.args], out=ptr[1:])
        spans = (file, np.array(self.lines, dtype=np.int64), np.array(self.columns, dtype=np.int64),
                 np.array(self.ends, dtype=np.int64))
        gates = GateTable(tuple(wires), len(inputs), np.array(self.ops, dtype=np.int64), ptr,
                          np.array(flat_args, dtype=np.int64), spans)
        circuit = BoolCircuit(self.name, tuple(self.inputs), tuple(self.outputs), gates, span=self.span)
        try:
            circuit.check()
            check_acyclic(circuit)
        except CircuitError:
            raise _NotFlat from None
        # The elaborator's warnings (expand.py `_warn_unused`), in its order: ports as declared,
        # then the wires first assigned without a declaration.
        warnings = []
        for name, kind in self.kinds.items():
            if kind == "in" and name not in reads:
                warnings.append(sources.diagnostic(f"input `{name}` of `{self.name}` is never used",
                                                   self.decl_spans[name], severity="warning"))
        for name, span in self.implicit.items():
            if name not in reads:
                warnings.append(sources.diagnostic(f"`{name}` is assigned but never used", span, severity="warning"))
        return circuit, warnings


def read_flat(text: str, file: str, sources) -> tuple[list[BoolCircuit], list] | None:
    """(circuits, warnings) of a file of flat circuits, or None when the file needs the parser.
    `sources` is the loader's source map (warnings quote their line from it)."""
    if "circuit" not in text[:4096] or "{" not in text:
        return None
    try:
        return _read(text, file, sources)
    except (_NotFlat, RecursionError):
        return None


def _read(text: str, file: str, sources) -> tuple[list[BoolCircuit], list]:
    circuits: list[BoolCircuit] = []
    warnings: list = []
    names: set[str] = set()
    current: _Circuit | None = None
    statements = 0
    for lineno, line in enumerate(text.split("\n"), start=1):
        m = _LINE.match(line)
        if m is None:
            raise _NotFlat
        if m.group("open") is not None:
            if current is not None:
                raise _NotFlat
            name = _name(m.group("cname"))
            if name in names:
                raise _NotFlat                    # defined twice: the elaborator says so
            names.add(name)
            current = _Circuit(name, Span(file, lineno, m.start("open") + 1))
        elif m.group("dir") is not None:
            if current is None:
                raise _NotFlat
            current.declare(m.group("dir"), m.group("ports"), lineno, file)
        elif m.group("lhs") is not None:
            if current is None:
                raise _NotFlat
            statements += 1
            if statements > MAX_STEPS:
                raise _NotFlat                    # the elaborator's limit, with its message
            current.assign(m, line, lineno, file)
        elif m.group("close") is not None:
            if current is None:
                raise _NotFlat
            circuit, found = current.build(file, sources)
            circuits.append(circuit)
            warnings += found
            current = None
    if current is not None or not circuits:
        raise _NotFlat
    return circuits, warnings
