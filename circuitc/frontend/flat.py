"""Flat sources read without the parser: the form the printer writes (printer.py), one gate per
statement and MLP weights as literals, as artifacts store their circuits and as netlists are
converted.

A file of 10^4 such circuits (230,000 lines) takes about a minute through the LALR parser and the
elaborator, token by token; this reader takes each line with one regular expression and builds
each circuit's gates as arrays (`spec.GateTable`). It accepts a file only when every line is a
blank line or a comment, or one of

    circuit NAME {      circuit NAME over F {      in P, Q[4];      out Y[2];      }
    W = 0;   W = 1;   W = R;   W = ~R;   W = and(R, ...);   (and, or, xor, maj)
    features F[M] {     active = S;    embed = D;    seed = N;
    mlp NAME {          layer relu {   layer linear {
    weights = [[...], ...];   bias = [...];   (an array may continue over lines up to its `;`)

(names plain or back-quoted, R a name or a bit `V[i]` of a vector port), every definition is
well formed (circuits acyclic, arrays rectangular, layer shapes chained, numbers finite), and
nothing in it is something the elaborator would refuse or that needs its rules (reserved words,
builtin names, ports declared after statements, vectors assigned or read whole, parameters).
Anything else returns None, and the file goes through the parser, which gives the diagnostics.
What it returns is what elaborating the file gives: equal feature sets and circuits in the same
order, and the same warnings for signals that are never used.
"""

from __future__ import annotations

import re

import numpy as np

from ..errors import CircuitError, Span
from ..graph import check_acyclic
from ..spec import ACTIVATIONS, OP_CODE, BoolCircuit, FeatureSet, GateTable, Layer, MLPCircuit, Op, Port
from .expand import BUILTINS, MAX_STEPS, MAX_WIDTH
from .intexpr import INT_LIMIT
from .syntax.parse import RESERVED

_NAME = r"(?:[A-Za-z_][A-Za-z0-9_]*|`(?:[^`\n]|``)+`)"
_REF = _NAME + r"(?:\[(?:0|[1-9][0-9]{0,8})\])?"
_LIST = _REF + r"(?:[ \t]*,[ \t]*" + _REF + r")*"
# Trailing blanks belong to the optional statement, so that a line that matches no statement (a
# long run of blanks before `y = a & b;`) fails in linear time: with blanks on both sides of an
# optional group the pattern would try every split of them, quadratic in the line's length.
_LINE = re.compile(
    r"[ \t]*(?:(?:"
    r"(?P<open>circuit[ \t]+(?P<cname>" + _NAME + r")(?:[ \t]+over[ \t]+(?P<over>" + _NAME + r"))?[ \t]*\{)"
    r"|(?P<mlp>mlp[ \t]+(?P<mname>" + _NAME + r")[ \t]*\{)"
    r"|(?P<layer>layer[ \t]+(?P<act>[A-Za-z_][A-Za-z0-9_]*)[ \t]*\{)"
    r"|(?P<features>features[ \t]+(?P<fname>" + _NAME + r")[ \t]*\[[ \t]*(?P<m>[1-9][0-9]{0,8})[ \t]*\][ \t]*\{)"
    r"|(?P<dir>in|out)[ \t]+(?P<ports>" + _LIST + r")[ \t]*;"
    r"|(?P<lhs>" + _REF + r")[ \t]*=[ \t]*(?:"
    r"(?P<const>[01])|(?P<not>~[ \t]*)?(?P<ref>" + _REF + r")"
    r"|(?P<op>and|or|xor|maj)[ \t]*\([ \t]*(?P<args>" + _LIST + r")[ \t]*\))[ \t]*;"
    r"|(?P<close>\})"
    r")[ \t]*)?(?:#[^\n]*)?\r?\Z")
_PART = re.compile(r"(" + _NAME + r")(?:\[([0-9]+)\])?")
# Inside `features { }`: its settings. (Outside, `seed = 1;` is an assignment.)
_KNOB = re.compile(r"[ \t]*(?:(?P<knob>active|embed|seed)[ \t]*=[ \t]*(?P<value>0|[1-9][0-9]{0,18})[ \t]*;"
                   r"|(?P<close>\}))[ \t]*(?:#[^\n]*)?\r?\Z")
# Inside `layer { }`: the start of a field; its value, up to the `;`, may continue over lines.
_FIELD = re.compile(r"[ \t]*(weights|bias)[ \t]*=[ \t]*(?=\[)")
# Array literals as the grammar's REAL tokens write numbers (`float` reads them as the parser does).
_REAL = r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
_ROW = r"\[\s*" + _REAL + r"(?:\s*,\s*" + _REAL + r")*\s*,?\s*\]"
_VECTOR = re.compile(r"\s*(" + _ROW + r")\s*")
_MATRIX = re.compile(r"\s*\[\s*(" + _ROW + r"(?:\s*,\s*" + _ROW + r")*)\s*,?\s*\]\s*")
_ROWS = re.compile(_ROW)
_OPS = {"and": OP_CODE[Op.AND], "or": OP_CODE[Op.OR], "xor": OP_CODE[Op.XOR], "maj": OP_CODE[Op.MAJ]}
_CONST = {"0": OP_CODE[Op.CONST0], "1": OP_CODE[Op.CONST1]}
_NOT, _BUF = OP_CODE[Op.NOT], OP_CODE[Op.BUF]


class _NotFlat(Exception):
    """This file needs the parser."""


def _name(text: str) -> str:
    """The name a NAME token spells. Builtin gate names are refused even back-quoted: the
    elaborator refuses them as circuit and signal names."""
    quoted = text[0] == "`"
    name = text[1:-1].replace("``", "`") if quoted else text
    if name in BUILTINS or (not quoted and name in RESERVED):
        raise _NotFlat
    return name


def _declare_ports(widths: dict, kinds: dict, spans: dict, ports: list[Port], kind: str, parts: str,
                   lineno: int, file: str) -> int:
    """The ports of one `in`/`out` line added to a definition's tables; returns the bits declared."""
    bits = 0
    for m in _PART.finditer(parts):
        name = _name(m.group(1))
        width = None if m.group(2) is None else int(m.group(2))
        if name in widths or width == 0 or (width or 0) > MAX_WIDTH:
            raise _NotFlat                        # declared twice, or a width the parser refuses
        widths[name] = width
        kinds[name] = kind
        spans[name] = span = Span(file, lineno, m.start(1) + 1, lineno, m.end(1) + 1)
        ports.append(Port(name, width, span))
        bits += width or 1
    return bits


class _Circuit:
    def __init__(self, name: str, span: Span, features: FeatureSet | None = None):
        self.name, self.span = name, span
        self.features = features
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
        if features is not None:                  # the feature set is the only input
            self.widths[features.name] = features.m
            self.kinds[features.name] = "in"
            self.inputs.append(Port(features.name, features.m, span))

    def declare(self, kind: str, parts: str, lineno: int, file: str) -> int:
        """Declare the ports of an `in` or `out` line; returns the bits declared (elaboration steps)."""
        if self.outs or (kind == "in" and self.features is not None):
            raise _NotFlat                        # declarations after statements: the parser's rules
        return _declare_ports(self.widths, self.kinds, self.decl_spans, self.inputs if kind == "in" else self.outputs,
                              kind, parts, lineno, file)

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
        circuit = BoolCircuit(self.name, tuple(self.inputs), tuple(self.outputs), gates,
                              features=None if self.features is None else self.features.name, span=self.span)
        try:
            circuit.check()
            check_acyclic(circuit)
        except CircuitError:
            raise _NotFlat from None
        # The elaborator's warnings (expand.py `_warn_unused`), in its order: ports as declared,
        # then the wires first assigned without a declaration.
        warnings = []
        for name, kind in self.kinds.items():
            if kind == "in" and name not in reads and self.features is None:
                warnings.append(sources.diagnostic(f"input `{name}` of `{self.name}` is never used",
                                                   self.decl_spans[name], severity="warning"))
        for name, span in self.implicit.items():
            if name not in reads:
                warnings.append(sources.diagnostic(f"`{name}` is assigned but never used", span, severity="warning"))
        return circuit, warnings


class _MLP:
    """An `mlp` definition being read: its ports, then its layers."""

    def __init__(self, name: str, span: Span):
        self.name, self.span = name, span
        self.inputs: list[Port] = []
        self.outputs: list[Port] = []
        self.widths: dict[str, int | None] = {}
        self.kinds: dict[str, str] = {}
        self.spans: dict[str, Span] = {}
        self.layers: list[Layer] = []
        self.width = 0                             # values into the next layer

    def declare(self, kind: str, parts: str, lineno: int, file: str) -> None:
        if self.layers:
            raise _NotFlat                         # ports after layers: the parser's rules
        _declare_ports(self.widths, self.kinds, self.spans, self.inputs if kind == "in" else self.outputs,
                       kind, parts, lineno, file)
        self.width = sum(p.size for p in self.inputs)

    def add_layer(self, activation: str, fields: dict[str, np.ndarray], span: Span) -> None:
        w = fields.get("weights")
        if not self.inputs or not self.outputs or w is None or w.ndim != 2 or w.shape[1] != self.width:
            raise _NotFlat
        b = fields.get("bias")
        if b is None:
            b = np.zeros(w.shape[0])
        elif b.shape != (w.shape[0],):
            raise _NotFlat
        self.layers.append(Layer(w, b, activation, span))
        self.width = w.shape[0]

    def build(self) -> MLPCircuit:
        if not self.layers or self.width != sum(p.size for p in self.outputs):
            raise _NotFlat
        return MLPCircuit(self.name, tuple(self.inputs), tuple(self.outputs), tuple(self.layers), span=self.span)


def _array(text: str, dims: int) -> np.ndarray:
    """An array literal of `dims` dimensions (1: a bias, 2: weights), non-empty, rectangular and
    finite, read as the parser reads it; anything else is the parser's to report."""
    m = (_VECTOR if dims == 1 else _MATRIX).fullmatch(text)
    if m is None:
        raise _NotFlat
    rows = [m.group(1)] if dims == 1 else _ROWS.findall(m.group(1))
    values = [np.array([float(x) for x in row[1:-1].split(",") if x.strip()], dtype=np.float64) for row in rows]
    if len({len(v) for v in values}) != 1:
        raise _NotFlat                             # ragged
    array = values[0] if dims == 1 else np.stack(values)
    if not np.isfinite(array).all():
        raise _NotFlat                             # 1e309: the parser says it is out of range
    return array


def _features(name: str, m: int, knobs: dict[str, int], span: Span) -> FeatureSet:
    """The feature set of a `features` block, with the elaborator's checks of its settings."""
    s, d0, seed = knobs.get("active"), knobs.get("embed"), knobs.get("seed", 0)
    if m > MAX_WIDTH or s is None or not 1 <= s <= m or (d0 is not None and not 1 <= d0 <= MAX_WIDTH) \
            or seed >= INT_LIMIT:
        raise _NotFlat
    return FeatureSet(name, m, s, d0, seed, span)


def read_flat(text: str, file: str, sources) -> tuple[list, list[FeatureSet], list] | None:
    """(circuits, feature sets, warnings) of a flat file, or None when the file needs the parser.
    `sources` is the loader's source map (warnings quote their line from it)."""
    if "{" not in text or _DEFINES.search(text, 0, 4096) is None:
        return None
    try:
        return _read(text, file, sources)
    except (_NotFlat, RecursionError):
        return None


# A flat file starts a definition within its first lines (after a header comment, perhaps).
_DEFINES = re.compile(r"^[ \t]*(?:circuit|mlp|features)[ \t]", re.M)


def _read(text: str, file: str, sources) -> tuple[list, list[FeatureSet], list]:
    circuits: list = []
    features: dict[str, FeatureSet] = {}
    warnings: list = []
    names: set[str] = set()
    current: _Circuit | None = None
    mlp: _MLP | None = None
    layer: tuple[str, Span, dict[str, np.ndarray]] | None = None   # activation, span, fields so far
    field: tuple[str, list[str]] | None = None                      # a field's name and text so far
    block: tuple[str, int, Span, dict[str, int]] | None = None      # a `features` block: name, m, span, settings
    steps = 0                                                       # as the elaborator counts them

    def define(token: str) -> str:
        name = _name(token)
        if name in names:
            raise _NotFlat                        # defined twice: the elaborator says so
        names.add(name)
        return name

    for lineno, line in enumerate(text.split("\n"), start=1):
        if field is not None:                     # an array literal continues up to its `;`
            field[1].append(line)
            if line.rstrip(" \t\r").endswith(";"):
                layer[2][field[0]] = _array("\n".join(field[1]).rstrip(" \t\r")[:-1], 2 if field[0] == "weights" else 1)
                field = None
            continue
        if block is not None:
            k = _KNOB.match(line)
            if k is None:
                raise _NotFlat
            if k.group("close") is not None:
                name, m, span, knobs = block
                features[name] = _features(name, m, knobs, span)
                block = None
            elif k.group("knob") in block[3]:
                raise _NotFlat                    # set twice
            else:
                block[3][k.group("knob")] = int(k.group("value"))
            continue
        if layer is not None:
            f = _FIELD.match(line)
            if f is not None:
                if f.group(1) in layer[2] or "#" in line:
                    raise _NotFlat
                field = (f.group(1), [line[f.end():]])
                if line.rstrip(" \t\r").endswith(";"):
                    layer[2][field[0]] = _array(line[f.end():].rstrip(" \t\r")[:-1], 2 if field[0] == "weights" else 1)
                    field = None
                continue
        m = _LINE.match(line)
        if m is None:
            raise _NotFlat
        if m.group("open") is not None:
            if current is not None or mlp is not None:
                raise _NotFlat
            over = None
            if m.group("over") is not None:
                over = features.get(_name(m.group("over")))
                if over is None:
                    raise _NotFlat                # defined later, or not at all
                steps += over.m
            current = _Circuit(define(m.group("cname")), Span(file, lineno, m.start("open") + 1), over)
        elif m.group("mlp") is not None:
            if current is not None or mlp is not None:
                raise _NotFlat
            mlp = _MLP(define(m.group("mname")), Span(file, lineno, m.start("mlp") + 1))
        elif m.group("features") is not None:
            if current is not None or mlp is not None:
                raise _NotFlat
            block = (define(m.group("fname")), int(m.group("m")), Span(file, lineno, m.start("features") + 1), {})
        elif m.group("layer") is not None:
            if mlp is None or layer is not None or m.group("act") not in ACTIVATIONS:
                raise _NotFlat
            layer = (m.group("act"), Span(file, lineno, m.start("layer") + 1), {})
        elif m.group("dir") is not None:
            if current is not None:
                steps += current.declare(m.group("dir"), m.group("ports"), lineno, file)
            elif mlp is not None and layer is None:
                mlp.declare(m.group("dir"), m.group("ports"), lineno, file)
            else:
                raise _NotFlat
        elif m.group("lhs") is not None:
            if current is None:
                raise _NotFlat
            current.assign(m, line, lineno, file)
            steps += 1
        elif m.group("close") is not None:
            if layer is not None:
                mlp.add_layer(layer[0], layer[2], layer[1])
                layer = None
            elif mlp is not None:
                circuits.append(mlp.build())
                mlp = None
            elif current is not None:
                circuit, found = current.build(file, sources)
                circuits.append(circuit)
                warnings += found
                current = None
            else:
                raise _NotFlat
        if steps > MAX_STEPS:
            raise _NotFlat                        # the elaborator's limit, with its message
    if current is not None or mlp is not None or block is not None or not (circuits or features):
        raise _NotFlat
    return circuits, list(features.values()), warnings
