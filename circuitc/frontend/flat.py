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
from .expand import BUILTINS, MAX_GATES, MAX_WIDTH
from .importers.netlist_file import line_columns
from .intexpr import INT_LIMIT
from .syntax.parse import MAX_TOKENS, RESERVED, count_tokens

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
# Names the elaborator refuses for a signal, or that need back-quotes.
_UNUSABLE = frozenset(RESERVED) | frozenset(BUILTINS)
# A run of gate statements, one per line, matched a megabyte of lines at a time (`line_columns`).
# Groups: target, constant, `~`, reference, the first letter of the gate (a one-character
# string, which Python does not allocate anew), arguments.
_GATES = re.compile(
    r"^[ \t]*(" + _REF + r")[ \t]*=[ \t]*(?:([01])|(?:(~)[ \t]*)?(" + _REF + r")"
    r"|(?=(?:and|or|xor|maj)[ \t]*\()([aoxm])[a-z]+[ \t]*\([ \t]*(" + _LIST + r")[ \t]*\))[ \t]*;[ \t]*\r?$", re.M)
# The line that closes a definition.
_CLOSE = re.compile(r"^[ \t]*\}", re.M)
_PART = re.compile(r"(" + _NAME + r")(?:\[([0-9]+)\])?")
# Inside `features { }`: its settings. (Outside, `seed = 1;` is an assignment.)
_KNOB = re.compile(r"[ \t]*(?:(?P<knob>active|embed|seed)[ \t]*=[ \t]*(?P<value>0|[1-9][0-9]{0,18})[ \t]*;"
                   r"|(?P<close>\}))[ \t]*(?:#[^\n]*)?\r?\Z")
# Inside `layer { }`: the start of a field; its value, up to the `;`, may continue over lines.
_FIELD = re.compile(r"[ \t]*(weights|bias)[ \t]*=[ \t]*(?=\[)")
# A character no array literal holds. With only these, `float` accepts exactly the grammar's REAL
# tokens, `[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?`, blanks around them aside (it
# refuses `1e`, `.`, `+-1`, and the letters of `inf` and `nan` and underscores cannot occur).
_NOT_IN_ARRAYS = re.compile(r"[^0-9eE+\-.,\[\] \t\r\n]")
_OPS = {"and": OP_CODE[Op.AND], "or": OP_CODE[Op.OR], "xor": OP_CODE[Op.XOR], "maj": OP_CODE[Op.MAJ]}
_OPS_BY_LETTER = {name[0]: code for name, code in _OPS.items()}
_CONST = {"0": OP_CODE[Op.CONST0], "1": OP_CODE[Op.CONST1]}
_NOT, _BUF = OP_CODE[Op.NOT], OP_CODE[Op.BUF]


# What one flat file may hold: every gate, gate input, declared bit and weight is an item, and a
# definition DEFINITION_ITEMS more. Read by `circuitc check`, a file of one kind of item costs at
# most 4.7 µs an item (many small circuits) and 430 bytes (declared bits), start-up included
# (benchmarks/elaboration_cost.py, the `flat_*` sources, 10^6 items), so a file at the limit is
# answered within about 9.4 s and 860 MiB.
MAX_FLAT_ITEMS = 2_000_000
# A definition (a circuit, an MLP, a feature set) counts as this many items: building and checking
# it costs about as much, whatever it holds (`flat_tiny` and `flat_many` in the benchmark: circuits
# of one gate and of fifteen take about 260 and 620 µs each in `circuitc check`).
DEFINITION_ITEMS = 80


def printed_items(circuit: BoolCircuit | MLPCircuit) -> int:
    """The items the line reader counts for `circuit` as the printer writes it: what a writer of a
    flat file (an artifact's circuits.circ) checks against MAX_FLAT_ITEMS, so that the file it
    writes can be read back. An output that is also an input is printed under a fresh name,
    driven by a buffer: a gate and its input more."""
    if isinstance(circuit, MLPCircuit):
        return DEFINITION_ITEMS + sum(layer.weights.size + layer.bias.size for layer in circuit.layers)
    gates = circuit.gates
    inputs = 0 if circuit.features is not None else len(circuit.input_bits)
    args = len(gates.arg_idx) if isinstance(gates, GateTable) else sum(len(g.args) for g in gates)
    renamed = len(set(circuit.output_bits).intersection(circuit.input_bits))
    return DEFINITION_ITEMS + inputs + len(circuit.output_bits) + len(gates) + args + 2 * renamed


class _Budget:
    """Items read so far, against MAX_FLAT_ITEMS. Past it, a file too large for the parser is
    refused at the line that went over; a smaller one (a few lines that declare millions of bits)
    is left to the elaborator, whose own step limit refuses it with its own words."""

    def __init__(self, text: str, file: str, sources):
        self.text, self.file, self.sources, self.items = text, file, sources, 0

    def spend(self, items: int, lineno: int) -> None:
        self.items += items
        if self.items > MAX_FLAT_ITEMS:
            try:
                count_tokens(self.text, self.file, MAX_TOKENS)
            except CircuitError:
                pass
            else:
                raise _NotFlat
            raise CircuitError(self.sources.diagnostic(
                f"the file holds more than {MAX_FLAT_ITEMS:,} gates, gate inputs, declared bits and weights, "
                f"the most one source may", Span(self.file, lineno, 1),
                hint="a circuit this large loads from a netlist (.bench, BLIF, AIGER), read up to "
                     f"{MAX_GATES:,} gates"))

    def spend_lines(self, costs: list[int], first_line: int) -> None:
        """Spend `costs[k]` for line first_line + k, stopping at the line that goes over."""
        total = sum(costs)
        if self.items + total <= MAX_FLAT_ITEMS:
            self.items += total
            return
        over = int(np.searchsorted(np.cumsum(costs), MAX_FLAT_ITEMS - self.items, side="right"))
        self.spend(total, first_line + over)


class _NotFlat(Exception):
    """This file needs the parser."""


class _Slow(Exception):
    """These lines go one at a time (`_Circuit.assign`), which handles every flat form."""


def _name(text: str) -> str:
    """The name a NAME token spells. Builtin gate names are refused even back-quoted: the
    elaborator refuses them as circuit and signal names."""
    quoted = text[0] == "`"
    name = text[1:-1].replace("``", "`") if quoted else text
    if name in BUILTINS or (not quoted and name in RESERVED):
        raise _NotFlat
    return name


class _Ports:
    """The ports a definition declares, in order, with each signal's width, direction and the
    span of its name (a circuit's wires first assigned without a declaration are not among them)."""

    def __init__(self) -> None:
        self.inputs: list[Port] = []
        self.outputs: list[Port] = []
        self.widths: dict[str, int | None] = {}
        self.kinds: dict[str, str] = {}
        self.spans: dict[str, Span] = {}

    def declare_ports(self, kind: str, parts: str, lineno: int, file: str) -> int:
        """The ports of one `in`/`out` line; returns the bits declared."""
        bits = 0
        for m in _PART.finditer(parts):
            name = _name(m.group(1))
            width = None if m.group(2) is None else int(m.group(2))
            if name in self.widths or width == 0 or (width or 0) > MAX_WIDTH:
                raise _NotFlat                    # declared twice, or a width the parser refuses
            self.widths[name] = width
            self.kinds[name] = kind
            self.spans[name] = span = Span(file, lineno, m.start(1) + 1, lineno, m.end(1) + 1)
            (self.inputs if kind == "in" else self.outputs).append(Port(name, width, span))
            bits += width or 1
        return bits


class _Circuit(_Ports):
    """A `circuit` definition being read: its ports, then its gates."""

    def __init__(self, name: str, span: Span, features: FeatureSet | None = None):
        super().__init__()
        self.name, self.span = name, span
        self.features = features
        # Gates as columns, in statement order: output wire, op, arguments as written (all gates'
        # end to end) and their count, and the place of the statement and of its target.
        self.outs: list[str] = []
        self.ops: list[int] = []
        self.args: list[str] = []
        self.arity: list[int] = []
        self.lines: list[int] = []
        self.columns: list[int] = []
        self.ends: list[int] = []
        self.target_ends: list[int] = []
        # Signals first assigned without a declaration, each with the gate that first assigns it.
        self.implicit: dict[str, int] = {}
        self.bulk_tried = False                   # whether `assign_lines` was offered the statements
        if features is not None:                  # the feature set is the only input
            self.widths[features.name] = features.m
            self.kinds[features.name] = "in"
            self.inputs.append(Port(features.name, features.m, span))

    def declare(self, kind: str, parts: str, lineno: int, file: str) -> int:
        """Declare the ports of an `in` or `out` line; returns the bits declared (items of the budget)."""
        if self.outs or (kind == "in" and self.features is not None):
            raise _NotFlat                        # declarations after statements: the parser's rules
        return self.declare_ports(kind, parts, lineno, file)

    def wire(self, text: str) -> tuple[str, str]:
        """(wire name, owning signal) of a reference: a bit of a vector port, or a scalar."""
        m = _PART.fullmatch(text)
        name = _name(m.group(1))
        if m.group(2) is not None:
            if self.widths.get(name) is None or int(m.group(2)) >= self.widths[name]:
                raise _NotFlat                    # not a vector port, or out of range
            return f"{name}[{int(m.group(2))}]", name
        if self.widths.get(name, None) is not None:
            raise _NotFlat                        # a whole vector
        return name, name

    def wires(self, texts) -> dict[str, tuple[str, str]]:
        """`wire` of each distinct reference among `texts` that is not a plain name; plain names
        (most of a netlist's) are checked together: each is its own wire and signal."""
        plain = {t for t in texts if "[" not in t and "`" not in t}
        if not plain.isdisjoint(_UNUSABLE) or any(self.widths.get(t) is not None for t in plain & self.widths.keys()):
            raise _NotFlat                        # a reserved word or builtin, or a whole vector
        return {t: self.wire(t) for t in set(texts) - plain}

    def assign(self, m: re.Match, line: str, lineno: int, file: str) -> None:
        lhs, const, neg, ref, call, listed = m.group("lhs", "const", "not", "ref", "op", "args")
        out, owner = self.wire(lhs)
        kind = self.kinds.get(owner)
        if kind == "in":
            raise _NotFlat
        if kind is None:
            self.implicit.setdefault(owner, len(self.outs))
        if const is not None:
            op, args = _CONST[const], []
        elif ref is not None:
            op, args = (_NOT if neg else _BUF), [ref]
        else:
            op, args = _OPS[call], [a.group(0) for a in _PART.finditer(listed)]
        self.outs.append(out)
        self.ops.append(op)
        self.args += args
        self.arity.append(len(args))
        self.lines.append(lineno)
        self.columns.append(m.start("lhs") + 1)
        self.target_ends.append(m.end("lhs") + 1)
        self.ends.append(len(line.rstrip("\r")) + 1)

    def assign_lines(self, body: str, columns: list[list[str]], first_line: int) -> None:
        """The gate statements of the ASCII lines `body`, from line `first_line` on, given as the
        columns of `_GATES` (`line_columns`): what `assign` does line by line, done a column at
        a time, with the places of the statements found by numpy in the bytes."""
        lhs, const, neg, ref, call, args = columns
        columns_, ends = _places(body)
        named = self.wires(lhs)
        targets = [named.get(t) or (t, t) for t in lhs]
        kinds, implicit, first = self.kinds, self.implicit, len(self.outs)
        for k, (_, owner) in enumerate(targets):
            kind = kinds.get(owner)
            if kind is None:
                implicit.setdefault(owner, first + k)
            elif kind == "in":
                raise _NotFlat
        self.outs += [t[0] for t in targets]
        self.ops += [_CONST[c] if c else (_NOT if n else _BUF) if r else _OPS_BY_LETTER[f]
                     for c, n, r, f in zip(const, neg, ref, call)]
        # Arguments: a reference, a call's list, or nothing for a constant. Lists are split at
        # their commas with the blanks dropped, all at once, unless a back-quoted name (which may
        # hold both) is among them.
        lists = [r if r else a for r, a in zip(ref, args)]
        if any("`" in a for a in lists):
            split = [[p.group(0) for p in _PART.finditer(a)] if "`" in a
                     else a.replace(" ", "").replace("\t", "").split(",") if a else [] for a in lists]
            self.args += [a for parts in split for a in parts]
            self.arity += map(len, split)
        else:
            if any(lists):
                self.args += ",".join(a for a in lists if a).replace(" ", "").replace("\t", "").split(",")
            self.arity += [a.count(",") + 1 if a else 0 for a in lists]
        self.lines += range(first_line, first_line + len(lhs))
        self.columns += columns_.tolist()
        self.target_ends += (columns_ + np.fromiter(map(len, lhs), dtype=np.int64, count=len(lhs))).tolist()
        self.ends += ends.tolist()

    def build(self, file: str, sources) -> tuple[BoolCircuit, list]:
        if not self.outputs:
            raise _NotFlat
        inputs = [b for p in self.inputs for b in p.bits]
        port_bits = set(inputs).union(b for p in self.outputs for b in p.bits)
        if not port_bits.isdisjoint(self.implicit):
            raise _NotFlat                        # a back-quoted `y[0]` beside the vector `y`
        wires = inputs + self.outs
        index = dict(zip(wires, range(len(wires))))
        if len(index) != len(wires):
            raise _NotFlat                        # a wire driven twice
        # Plain names are their own wires; the rest are resolved once per distinct reference.
        named = self.wires(self.args)
        try:
            slot = {t: index[w] for t, (w, _) in named.items()}
            flat_args = np.fromiter((slot[t] if t in slot else index[t] for t in self.args) if slot
                                    else map(index.__getitem__, self.args), dtype=np.int64, count=len(self.args))
        except KeyError:
            raise _NotFlat from None              # read but never assigned
        reads = set(self.args).union(owner for _, owner in named.values())
        ptr = np.zeros(len(self.arity) + 1, dtype=np.int64)
        np.cumsum(self.arity, out=ptr[1:])
        spans = (file, np.array(self.lines, dtype=np.int64), np.array(self.columns, dtype=np.int64),
                 np.array(self.ends, dtype=np.int64))
        gates = GateTable(tuple(wires), len(inputs), np.array(self.ops, dtype=np.int8), ptr, flat_args, spans,
                          index=index)
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
                                                   self.spans[name], severity="warning"))
        for name, k in self.implicit.items():
            if name not in reads:
                line = self.lines[k]
                span = Span(file, line, self.columns[k], line, self.target_ends[k])
                warnings.append(sources.diagnostic(f"`{name}` is assigned but never used", span, severity="warning"))
        return circuit, warnings


class _MLP(_Ports):
    """An `mlp` definition being read: its ports, then its layers."""

    def __init__(self, name: str, span: Span):
        super().__init__()
        self.name, self.span = name, span
        self.layers: list[Layer] = []
        self.width = 0                             # values into the next layer

    def declare(self, kind: str, parts: str, lineno: int, file: str) -> None:
        if self.layers:
            raise _NotFlat                         # ports after layers: the parser's rules
        self.declare_ports(kind, parts, lineno, file)
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
    finite, read as the parser reads it; anything else is the parser's to report. Read by
    splitting, a row at a time: one pattern over all of a large array would keep a backtracking
    frame per number."""
    text = text.strip()
    if _NOT_IN_ARRAYS.search(text) or text[:1] != "[" or text[-1:] != "]":
        raise _NotFlat
    inner = text[1:-1]
    if dims == 1:
        rows = [inner]
    else:
        pieces = inner.split("]")
        if pieces[-1].strip() not in ("", ","):
            raise _NotFlat                         # something after the last row
        rows = []
        for k, piece in enumerate(pieces[:-1]):
            piece = piece.lstrip()
            if k:                                  # rows after the first follow a comma
                if piece[:1] != ",":
                    raise _NotFlat
                piece = piece[1:].lstrip()
            if piece[:1] != "[":
                raise _NotFlat
            rows.append(piece[1:])
    values = [_numbers(row) for row in rows]
    if not values or len({len(v) for v in values}) != 1:
        raise _NotFlat                             # empty, or ragged
    array = values[0] if dims == 1 else np.stack(values)
    if not np.isfinite(array).all():
        raise _NotFlat                             # 1e309: the parser says it is out of range
    return array


def _numbers(row: str) -> np.ndarray:
    """The numbers of one row, `1, -2.5, 3e4` with an optional trailing comma."""
    if "[" in row or "]" in row:
        raise _NotFlat                             # more dimensions than one row
    parts = row.split(",")
    if len(parts) > 1 and not parts[-1].strip():
        parts.pop()                                # a trailing comma
    try:
        return np.array(list(map(float, parts)), dtype=np.float64)
    except ValueError:                             # an empty entry, or not a number
        raise _NotFlat from None


# Below this many statements a circuit is read line by line: the bulk pattern would not pay.
_BULK_LINES = 64
# Gate lines are taken in pieces of about this many characters: the columns of one piece are
# alive at once, and the item budget is checked after each.
_PIECE = 1 << 20


# Leading blanks beyond this many on some line send the block the slow way (see `_places`).
_MAX_INDENT = 64


def _places(body: str) -> tuple[np.ndarray, np.ndarray]:
    """For each line of the ASCII `body`: the column of its first character after the leading
    blanks, and the column after its last one (a CR of a CRLF line excluded), both from 1."""
    raw = np.frombuffer(body.encode("ascii"), dtype=np.uint8)
    breaks = np.flatnonzero(raw == 10)
    starts = np.concatenate(([0], breaks + 1))
    stops = np.append(breaks, len(raw))
    ends = stops - starts - (raw[stops - 1] == 13) + 1          # every line holds a statement
    blank = (raw == 32) | (raw == 9)
    indent = np.zeros(len(starts), dtype=np.int64)
    open_ = np.arange(len(starts))                               # lines still in their blanks
    for _ in range(_MAX_INDENT + 1):
        open_ = open_[blank[starts[open_] + indent[open_]]]
        if not len(open_):
            return indent + 1, ends
        indent[open_] += 1
    raise _Slow


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
    return _Reader(text, file, sources).run()


class _Reader:
    """The line reader's state: the definition open (a circuit, an MLP and its layer and field,
    or a feature set), what is done, and the items spent."""

    def __init__(self, text: str, file: str, sources):
        self.text, self.file, self.sources = text, file, sources
        self.budget = _Budget(text, file, sources)
        self.circuits: list = []
        self.features: dict[str, FeatureSet] = {}
        self.warnings: list = []
        self.names: set[str] = set()
        self.current: _Circuit | None = None
        self.mlp: _MLP | None = None
        self.layer: tuple[str, Span, dict[str, np.ndarray]] | None = None   # activation, span, fields so far
        self.field: tuple[str, list[str], int] | None = None                # name, text so far, first line
        self.block: tuple[str, int, Span, dict[str, int]] | None = None     # a feature set: name, m, span, settings

    def run(self) -> tuple[list, list[FeatureSet], list]:
        text = self.text
        pos, lineno = 0, 0                        # where the next line starts, and the last line's number
        while pos <= len(text):
            newline = text.find("\n", pos)
            if newline < 0:
                newline = len(text)
            line, start, pos = text[pos:newline], pos, newline + 1
            lineno += 1
            if self.field is not None:
                self.field_line(line, lineno)
            elif self.block is not None:
                self.knob_line(line)
            elif self.layer is not None and (f := _FIELD.match(line)) is not None:
                if f.group(1) in self.layer[2] or "#" in line:
                    raise _NotFlat
                self.field = (f.group(1), [], lineno)
                self.field_line(line[f.end():], lineno)
            else:
                m = _LINE.match(line)
                if m is None:
                    raise _NotFlat
                if m.group("lhs") is not None and self.current is not None and not self.current.bulk_tried:
                    # The first statement of a circuit: its run of gate lines is taken in bulk.
                    self.current.bulk_tried = True
                    taken, after = self.gate_lines(start, lineno)
                    if taken:
                        pos, lineno = after, lineno + taken - 1
                        continue
                self.statement(m, line, lineno)
        if self.current is not None or self.mlp is not None or self.block is not None or \
                not (self.circuits or self.features):
            raise _NotFlat
        return self.circuits, list(self.features.values()), self.warnings

    def define(self, token: str) -> str:
        name = _name(token)
        if name in self.names:
            raise _NotFlat                        # defined twice: the elaborator says so
        self.names.add(name)
        return name

    def statement(self, m: re.Match, line: str, lineno: int) -> None:
        """One line that `_LINE` matched, outside the fields and feature settings. Its form is
        the group that closed last (`lastgroup`): a statement's `const`, `ref` or `args`, the
        `ports` of a declaration, or the group of the whole line; None for a blank line."""
        kind = m.lastgroup
        if kind is None:
            return
        file, current, mlp = self.file, self.current, self.mlp
        if kind in ("const", "ref", "args"):
            if current is None:
                raise _NotFlat
            current.assign(m, line, lineno, file)
            self.budget.spend(1 + current.arity[-1], lineno)
        elif kind == "ports":
            if current is not None:
                self.budget.spend(current.declare(m.group("dir"), m.group("ports"), lineno, file), lineno)
            elif mlp is not None and self.layer is None:
                mlp.declare(m.group("dir"), m.group("ports"), lineno, file)
            else:
                raise _NotFlat
        elif kind == "close":
            self.close()
        elif current is not None or mlp is not None and kind != "layer":
            raise _NotFlat                        # a definition inside another
        elif kind == "open":
            over = None
            if m.group("over") is not None:
                over = self.features.get(_name(m.group("over")))
                if over is None:
                    raise _NotFlat                # defined later, or not at all
                self.budget.spend(over.m, lineno)
            self.budget.spend(DEFINITION_ITEMS, lineno)
            self.current = _Circuit(self.define(m.group("cname")), Span(file, lineno, m.start("open") + 1), over)
        elif kind == "mlp":
            self.budget.spend(DEFINITION_ITEMS, lineno)
            self.mlp = _MLP(self.define(m.group("mname")), Span(file, lineno, m.start("mlp") + 1))
        elif kind == "features":
            self.budget.spend(DEFINITION_ITEMS, lineno)
            self.block = (self.define(m.group("fname")), int(m.group("m")),
                          Span(file, lineno, m.start("features") + 1), {})
        else:                                     # a layer
            if mlp is None or self.layer is not None or m.group("act") not in ACTIVATIONS:
                raise _NotFlat
            self.layer = (m.group("act"), Span(file, lineno, m.start("layer") + 1), {})

    def close(self) -> None:
        if self.layer is not None:
            self.mlp.add_layer(self.layer[0], self.layer[2], self.layer[1])
            self.layer = None
        elif self.mlp is not None:
            self.circuits.append(self.mlp.build())
            self.mlp = None
        elif self.current is not None:
            circuit, found = self.current.build(self.file, self.sources)
            self.circuits.append(circuit)
            self.warnings += found
            self.current = None
        else:
            raise _NotFlat

    def gate_lines(self, start: int, lineno: int) -> tuple[int, int]:
        """Gate statements from offset `start` (line `lineno`) to the circuit's closing line,
        taken a piece of about _PIECE characters at a time, each piece as columns (`_GATES`);
        returns how many lines were taken and where the next one starts. Nothing is taken from
        a body of fewer than _BULK_LINES lines, and the taking stops at a piece that is not all
        gate statements in ASCII: from there the lines go one at a time."""
        text, current = self.text, self.current
        close = _CLOSE.search(text, start)
        if close is None or close.start() == start:
            return 0, start
        end = close.start() - 1                   # the line break before the closing line
        if text.count("\n", start, end) + 1 < _BULK_LINES:
            return 0, start
        taken = 0
        while start < end:
            cut = text.find("\n", min(start + _PIECE, end))
            cut = end if cut < 0 or cut > end else cut
            piece = text[start:cut]
            columns = line_columns(_GATES, piece, 6) if piece.isascii() else None
            if columns is None:
                break
            try:
                current.assign_lines(piece, columns, lineno + taken)
            except _Slow:
                break
            n = len(columns[0])
            self.budget.spend_lines([1 + a for a in current.arity[-n:]], lineno + taken)
            del columns                           # before the next piece's are made
            taken += n
            start = cut + 1
        return taken, start

    def field_line(self, line: str, lineno: int) -> None:
        """A line of a layer's field (`weights = ...`), which ends at a `;`."""
        name, parts, first = self.field
        parts.append(line)
        if not line.rstrip(" \t\r").endswith(";"):
            return
        value = "\n".join(parts).rstrip(" \t\r")[:-1]
        # Its numbers are counted before they are read, as many as it surely holds (one per
        # comma, less one per row), so that a huge array is refused before it is converted.
        surely = max(value.count(",") - value.count("["), 0)
        self.budget.spend(surely, first)
        array = _array(value, 2 if name == "weights" else 1)
        self.budget.spend(array.size - surely, first)
        self.layer[2][name] = array
        self.field = None

    def knob_line(self, line: str) -> None:
        k = _KNOB.match(line)
        if k is None:
            raise _NotFlat
        if k.group("close") is not None:
            name, m, span, knobs = self.block
            self.features[name] = _features(name, m, knobs, span)
            self.block = None
        elif k.group("knob") in self.block[3]:
            raise _NotFlat                        # set twice
        else:
            self.block[3][k.group("knob")] = int(k.group("value"))
