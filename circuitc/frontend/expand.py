"""One boolean circuit body → a flat `BoolCircuit`: loops unrolled, instances inlined, gates made.

Elaboration runs in two phases, because a circuit is a dataflow description (statements may use a
wire before the statement that assigns it):

1. *expand*: walk the statements, unroll `for`, choose `if` branches, evaluate widths, collect every
   declaration and the list of assignments with the integer environment each one sees;
2. *emit*: turn each assignment into gates, now that every signal's width is known.

Naming. A bit of vector `v` is the wire `v[i]`. Wires the elaborator invents contain `$`, which no
name written in the language can contain without back-quotes: `$3` for intermediate results,
`$0`/`$1` for the constants, and `callee#k/wire` for the wires of the k-th inlined instance.
"""

from __future__ import annotations

import difflib
import itertools
from typing import TYPE_CHECKING, Iterator, Mapping, Sequence

import numpy as np

from ..errors import Collector, Span, did_you_mean
from ..graph import cached_per_circuit
from ..spec import OP_CODE, BoolCircuit, Gate, GateTable, MLPCircuit, Op, Port
from .inline import CircuitNames, GateArrays, Inlinable, Inlined, InstanceNames, Spans, interleave
from .intexpr import IntEvaluator, Skip
from .syntax import ast

if TYPE_CHECKING:
    from .elaborate import Elaborator

MAX_GATES = 10_000_000
MAX_WIDTH = 1_000_000  # bits in one vector; every bit becomes a wire
# Steps of one whole elaboration: every `for` iteration as it runs, every assignment queued by
# one, every bit declared, every gate made or inlined, and an instance's binding of each of its
# port bits. Each loop's bound alone is checked, but nested loops multiply, so without a total a
# source of a few lines could run for days (and queue an assignment per iteration in memory).
# What a step costs depends on the statement; benchmarks/elaboration_cost.py measures the kinds
# (`circuitc check`, the whole command): the dearest, a multiplexer per iteration, about 3.7 µs
# and 360 bytes a step, so a source that reaches this limit ends within about 7.5 s and 700 MB.
# The parser's own limit (parse.MAX_TOKENS) adds at most about 2.4 s and 160 MB: every source is
# answered, either way, within 10 s and 1 GB on a 2-core machine. Inlining an instance held as
# arrays costs less time a gate (0.8 µs) but about as much memory (260 bytes), so its gates count
# in full: a tree of instances 17 levels deep over 131,071 inputs spends 1.6 million steps, one
# over 262,143 inputs passes this limit.
MAX_STEPS = 2_000_000
# A circuit that inlines instances keeps its gates as arrays (a spec.GateTable) from this many
# gates on: each instance is then copied as its callee's arrays, not as one Gate object per gate,
# and the wire names, long in a deep hierarchy, are made only when asked for. A smaller one gets
# Gate objects, cheap at that size and faster for later passes to read.
TABLE_GATES = 4096

# n-ary builtins: name -> (primitive op, whether the result is negated)
BUILTIN_GATES: dict[str, tuple[Op, bool]] = {
    "and": (Op.AND, False), "or": (Op.OR, False), "xor": (Op.XOR, False), "maj": (Op.MAJ, False),
    "nand": (Op.AND, True), "nor": (Op.OR, True), "xnor": (Op.XOR, True),
}
BUILTINS = tuple(BUILTIN_GATES) + ("not",)
_BINARY_OPS = {"&": Op.AND, "|": Op.OR, "^": Op.XOR}


class CircuitBuilder:
    """Elaborates one `circuit` definition for one set of parameter values."""

    def __init__(self, elab: "Elaborator", defn: ast.CircuitDef, env: dict[str, int], name: str,
                 params: tuple[tuple[str, int], ...]):
        self.elab = elab
        self.c: Collector = elab.collector
        self.defn = defn
        self.name = name
        self.params = params
        self.env0 = env
        self.widths: dict[str, int | None] = {}   # signal -> width (None: scalar)
        self.kinds: dict[str, str] = {}            # signal -> "in" | "out" | "wire"
        self.decl_spans: dict[str, Span | None] = {}
        self.inputs: list[Port] = []
        self.outputs: list[Port] = []
        self.gates: list[Gate] = []            # made from this circuit's statements
        self.inlined: list[Inlined] = []       # instances, each placed among those gates
        self.n_inlined = 0                      # their gates
        self.driven: dict[str, Span | None] = {}
        self.reads: dict[str, Span | None] = {}   # bit wire (not an input's) -> where it is first read
        self.read_signals: set[str] = set()
        # Assignments met in phase 1, each with its scope: (statement, env), emitted in phase 2.
        self.pending: list[tuple[ast.Assign, Mapping[str, int]]] = []
        self.implicit: dict[str, Span | None] = {}
        self.failed_loops: set[int] = set()     # `for` statements refused whatever the iteration
        self.poisoned: set[str] = set()  # signals whose declaration failed; their uses stay silent
        # A width out of range: this circuit cannot be built, so the rest of its body is not
        # expanded, nor the circuits it instantiates elaborated (a loop over the width, or a
        # recursive circuit descending through every smaller width, would run for nothing).
        self.shape_failed = False
        self.bit_owner: dict[str, str] = {}  # bit wire -> the signal it belongs to
        self.bits: dict[str, list[str]] = {}  # signal -> its bit wires
        self.consts: dict[int, str] = {}
        self.instances: dict[str, int] = {}
        self.tmp = 0
        self.loop_span: Span | None = None  # the innermost `for` being unrolled
        self.ints = IntEvaluator(self.c, self.widths)
        self.param_blocks: dict[int, bool] = {}  # id of a block -> whether it declares parameters

    # ------------------------------------------------------------------ entry point
    def build(self) -> BoolCircuit | None:
        errors_before = self.c.count
        features = None
        if self.defn.over is not None:
            fs = self.elab.feature_set(self.defn.over, self.defn.span)
            if fs is not None:
                features = fs.name
                self._declare("in", fs.name, fs.m, self.defn.span)
        self._expand(self.defn.body, dict(self.env0))
        for name, span in self.implicit.items():
            if name not in self.widths and name not in self.poisoned:
                self._declare("wire", name, None, span)
        # A statement that failed once is not evaluated again in later iterations of its loop
        # (the same mistake, 10^5 times over); its targets still count as assigned.
        failed: set[int] = set()
        for stmt, env in self.pending:
            try:
                if id(stmt) in failed:
                    self._claim(stmt, env)
                else:
                    self._assign(stmt, env)
            except Skip:
                failed.add(id(stmt))
        if not self.outputs and self.c.count == errors_before:
            self.c.error(f"circuit `{self.defn.name}` has no outputs", self.defn.span,
                         hint="declare what it computes: `out y;`")
        self._check_drivers()
        if self.c.has_errors and self.c.count > errors_before:
            return None
        built = self._table() if self.inlined and len(self.gates) + self.n_inlined >= TABLE_GATES else None
        gates = tuple(self._gate_objects()) if built is None else built[0]
        circuit = BoolCircuit(self.name, tuple(self.inputs), tuple(self.outputs), gates,
                              features, self.params, self.defn.span)
        if built is not None:
            # What inlining this circuit reads, known now without naming its wires.
            table, out_slots = built
            form = Inlinable(table.n_inputs, table.ops, table.arg_ptr, table.arg_idx, out_slots, *table.span_refs())
            cached_per_circuit(circuit, "inline", lambda _circuit: form)
        return circuit

    def _parts(self) -> Iterator[list[Gate] | Inlined]:
        """The gates in the order they were made: runs of own gates, and the instances between."""
        done = 0
        for inlined in self.inlined:
            yield self.gates[done:inlined.at]
            yield inlined
            done = inlined.at
        yield self.gates[done:]

    def _gate_objects(self) -> Iterator[Gate]:
        for part in self._parts():
            yield from part.gates() if isinstance(part, Inlined) else part

    def _table(self) -> tuple[GateTable, dict[str, int]] | None:
        """The gates as a GateTable, with the slots of the output bits. None when a wire may be
        driven twice or is read undriven: the Gate objects then let the checks name it."""
        if not self._instance_wires_distinct():
            return None
        inputs = list(itertools.chain.from_iterable(self.bits[p.name] for p in self.inputs))
        own_at, inlined_at, firsts = self._placement()
        first_slots = firsts + len(inputs)
        slots = self._slots(inputs, own_at + len(inputs), first_slots)
        if slots is None:
            return None
        spans = Spans()
        try:
            own = self._own_arrays(slots, spans)
            inlined = self._inlined_arrays(slots, spans, first_slots)
            out_slots = {b: slots[b] for p in self.outputs for b in p.bits}
        except KeyError:
            return None
        n = len(self.gates) + self.n_inlined
        ops, arg_ptr, arg_idx, where = interleave(n, [(own_at, own), (inlined_at, inlined)])
        names = CircuitNames(tuple(self.inputs), [p.names if isinstance(p, Inlined) else [g.out for g in p]
                                                   for p in self._parts()])
        table = GateTable(names, len(inputs), ops, arg_ptr, arg_idx, span_refs=(tuple(spans.table), where))
        return table, out_slots

    def _instance_wires_distinct(self) -> bool:
        """Whether the wires of the instances that the caller does not read by name, named
        `callee#k/...` only when asked for, are sure to be distinct from each other and from every
        other wire: they are when no callee's name holds a `#`, nor any of this circuit's names."""
        own = itertools.chain((p.name for p in self.inputs), (g.out for g in self.gates),
                              (w for i in self.inlined for w in i.names.renamed.values()))
        return not any("#" in w for w in own) and all(i.names.prefix.count("#") == 1 for i in self.inlined)

    def _placement(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The position among all gates of each own gate, of each inlined gate, and of each
        instance's first gate: an instance comes after the own gates made before it."""
        at = np.fromiter((i.at for i in self.inlined), np.int64, len(self.inlined))
        size = np.fromiter((len(i.form.ops) for i in self.inlined), np.int64, len(self.inlined))
        inlined_before = np.zeros(len(self.gates) + 1, dtype=np.int64)  # by the own gate they precede
        np.add.at(inlined_before, at, size)
        own_at = np.arange(len(self.gates)) + np.cumsum(inlined_before)[:-1]
        inlined_at = np.arange(self.n_inlined) + np.repeat(at, size)
        return own_at, inlined_at, at + np.cumsum(size) - size

    def _slots(self, inputs: list[str], own_slots: np.ndarray, first_slots: np.ndarray) -> dict[str, int] | None:
        """Wire -> slot for every wire read by name (the inputs, the wires of own gates and those of
        instances named in this circuit); None when a name is driven twice."""
        slots = dict(zip(inputs, range(len(inputs))))
        slots.update(zip((g.out for g in self.gates), own_slots.tolist()))
        count = len(inputs) + len(self.gates)
        for inlined, first in zip(self.inlined, first_slots.tolist()):
            named = itertools.chain(inlined.names.renamed.items(), inlined.named.items())
            slots.update((w, first + j) for j, w in named)
            count += len(inlined.names.renamed) + len(inlined.named)
        return slots if len(slots) == count else None

    def _own_arrays(self, slots: dict[str, int], spans: Spans) -> GateArrays:
        """The gate arrays of the own gates, in their order (a KeyError: a wire never driven)."""
        gates = self.gates
        arity = np.fromiter((len(g.args) for g in gates), np.int64, len(gates))
        args = np.fromiter(map(slots.__getitem__, (a for g in gates for a in g.args)), np.int64, int(arity.sum()))
        return (np.fromiter((OP_CODE[g.op] for g in gates), np.int8, len(gates)), arity, args,
                np.fromiter(map(spans, (g.span for g in gates)), np.int32, len(gates)))

    def _inlined_arrays(self, slots: dict[str, int], spans: Spans, first_slots: np.ndarray) -> GateArrays:
        """The gate arrays of every instance, one after the other (a KeyError: an argument never driven)."""
        forms = [i.form for i in self.inlined]
        n_in = np.fromiter((f.n_inputs for f in forms), np.int64, len(forms))
        n_args = np.fromiter((len(f.arg_idx) for f in forms), np.int64, len(forms))
        # The slots bound to each instance's input bits, one instance after the other.
        bound = np.fromiter(map(slots.__getitem__, itertools.chain.from_iterable(i.args for i in self.inlined)),
                            np.int64, int(n_in.sum()))
        bound_first = np.cumsum(n_in) - n_in
        callee = np.concatenate([f.arg_idx for f in forms])  # each argument as a callee slot
        args = callee + np.repeat(first_slots - n_in, n_args)  # right for a callee gate's slot
        is_input = callee < np.repeat(n_in, n_args)
        args[is_input] = bound[(callee + np.repeat(bound_first, n_args))[is_input]]
        # Each callee's distinct spans as positions here, a callee gate without one taking the call's.
        span_pos = [[spans(s or i.span) for s in i.form.spans] for i in self.inlined]
        counts = np.fromiter(map(len, span_pos), np.int64, len(span_pos))
        positions = np.fromiter(itertools.chain.from_iterable(span_pos), np.int32, int(counts.sum()))
        where = positions[np.concatenate([f.span_idx for f in forms])
                          + np.repeat(np.cumsum(counts) - counts, [len(f.ops) for f in forms])]
        return np.concatenate([f.ops for f in forms]), np.concatenate([f.arity for f in forms]), args, where

    # ------------------------------------------------------------------ phase 1: expand
    def _expand(self, stmts: Sequence[ast.Stmt], env: dict[str, int]) -> None:
        # A local parameter is visible in its whole block, like every other name in a circuit:
        # the block's parameters are evaluated first, in order, then its other statements.
        if self._declares_params(stmts):
            for s in stmts:
                if isinstance(s, ast.ParamDecl):
                    try:
                        self._local_param(s, env)
                    except Skip:
                        pass
        for s in stmts:
            if self.shape_failed:
                return  # the circuit cannot be built: its loops would run for nothing
            try:
                if isinstance(s, ast.ParamDecl):
                    continue
                if isinstance(s, ast.Assign):
                    self.elab.spend(1, self.loop_span or s.span)  # the loop is what to fix
                    self.pending.append((s, env))
                    for t in s.targets:
                        if t.index is None and t.name not in self.widths and t.name not in env:
                            self.implicit.setdefault(t.name, t.span)
                elif isinstance(s, ast.PortDecl):
                    self._port_decl(s, env)
                elif isinstance(s, ast.For):
                    self._for(s, env)
                elif isinstance(s, ast.If):
                    branch = s.then if self.ints.cond(s.cond, env) else s.other
                    if branch:
                        # Only a branch's own parameters write to its scope; without them the
                        # branch shares the enclosing one (nothing writes to it any more: its
                        # parameters were evaluated before its first statement).
                        self._expand(branch, dict(env) if self._declares_params(branch) else env)
                else:  # pragma: no cover
                    raise TypeError(s)
            except Skip:
                if isinstance(s, ast.For):      # its bounds failed (an integer out of range): once is enough
                    self.failed_loops.add(id(s))

    def _declares_params(self, stmts: Sequence[ast.Stmt]) -> bool:
        """Whether a block declares local parameters: asked at every iteration of a loop, so
        remembered per block (the blocks live as long as the syntax tree, which outlives this)."""
        known = self.param_blocks.get(id(stmts))
        if known is None:
            known = self.param_blocks[id(stmts)] = any(isinstance(s, ast.ParamDecl) for s in stmts)
        return known

    def _local_param(self, s: ast.ParamDecl, env: dict[str, int]) -> None:
        if s.name in env and s.name not in self.env0:
            self.c.error(f"`{s.name}` is already defined in this scope", s.span)
        elif s.name in self.widths:
            self.c.error(f"`{s.name}` is a signal; a parameter cannot have the same name", s.span)
        else:
            env[s.name] = self.ints.eval(s.value, env)

    def _port_decl(self, s: ast.PortDecl, env: Mapping[str, int]) -> None:
        if s.direction == "in" and self.defn.over is not None:
            self.c.error(f"circuit `{self.defn.name}` computes over feature set `{self.defn.over}`, "
                         f"which is its only input", s.span, hint=f"read features as `{self.defn.over}[i]`")
            return
        for d in s.decls:
            try:
                width = None if d.width is None else self.ints.bounded(d.width, env, 1, MAX_WIDTH,
                                                                       f"the width of `{d.name}`")
            except Skip:
                self.poisoned.add(d.name)  # later uses would only repeat this error
                self.shape_failed = True
                continue
            if d.name in env:
                self.c.error(f"`{d.name}` is a parameter; a signal cannot have the same name", d.span)
                continue
            self._declare(s.direction, d.name, width, d.span)

    def _declare(self, kind: str, name: str, width: int | None, span: Span | None) -> None:
        if name in self.widths:
            first = self.decl_spans.get(name)
            self.c.error(f"`{name}` is declared twice", span,
                         hint=f"first declared at {first}" if first else None)
            return
        if name in BUILTINS:
            self.c.error(f"`{name}` is a builtin gate and cannot name a signal", span)
            self.poisoned.add(name)
            return
        if width is not None:  # before its bits are named
            self.elab.spend(width, span, hint=lambda: f"each bit declared is a wire: `{name}` has {width:,}; "
                                                      "check the widths")
        else:
            self.elab.spend(1, span)
        bits = [name] if width is None else [f"{name}[{i}]" for i in range(width)]
        if not self.bit_owner.keys().isdisjoint(bits):
            # A back-quoted `a[0]` and bit 0 of a vector `a` would be one wire under two names.
            clash = next(b for b in bits if b in self.bit_owner)
            owner = self.bit_owner[clash]
            self.c.error(f"`{name}` and `{owner}` both name the wire `{clash}`", span,
                         hint="rename one of them")
            self.poisoned.add(name)
            return
        self.bit_owner.update(dict.fromkeys(bits, name))
        self.bits[name] = bits
        self.widths[name] = width
        self.kinds[name] = kind
        self.decl_spans[name] = span
        if kind == "in":
            self.inputs.append(Port(name, width, span))
        elif kind == "out":
            self.outputs.append(Port(name, width, span))

    def _for(self, s: ast.For, env: Mapping[str, int]) -> None:
        if id(s) in self.failed_loops:
            return  # refused once already: an outer loop must not pay for the refusal every time
        lo, hi = self.ints.eval(s.lo, env), self.ints.eval(s.hi, env)
        if hi - lo > MAX_GATES:
            self.c.error(f"loop over {hi - lo} values is too large", s.span,
                         expected=f"at most {MAX_GATES:,} iterations")
            # Its bounds may change with an outer loop, but the source is refused already.
            self.failed_loops.add(id(s))
            return
        if s.var in self.widths:
            self.c.error(f"loop variable `{s.var}` hides the signal of the same name", s.span)
            self.failed_loops.add(id(s))
            return
        elab = self.elab
        outer, self.loop_span = self.loop_span, s.span
        live, failures = True, -1
        for v in range(lo, hi):
            if failures != len(self.failed_loops):       # only a refused loop can empty the body
                failures = len(self.failed_loops)
                live = any(not (isinstance(t, ast.For) and id(t) in self.failed_loops) for t in s.body)
            if not live:
                # Nothing left to elaborate (an empty body, or loops refused once): the remaining
                # iterations are counted at once, not run one by one; past the limit, the count
                # stops where running them one by one would have (the limit, then one more).
                if elab.steps + (hi - v) > MAX_STEPS:
                    elab.steps = MAX_STEPS
                    elab.spend(1, s.span)
                elab.steps += hi - v
                break
            elab.steps += 1  # counted inline: this is the innermost loop of a runaway source
            if elab.steps > MAX_STEPS:
                elab.spend(0, s.span)
            inner = dict(env)
            inner[s.var] = v
            self._expand(s.body, inner)
        self.loop_span = outer

    # ------------------------------------------------------------------ phase 2: emit
    def _claim(self, s: ast.Assign, env: Mapping[str, int]) -> list[list[str]]:
        """The bits the statement assigns, marked as driven (an error if one already is)."""
        targets = [self._target_bits(t, env) for t in s.targets]
        for t, bits in zip(s.targets, targets):
            for b in bits:
                if b in self.driven:
                    self.c.error(f"`{b}` is assigned twice", t.span,
                                 hint=f"first assigned at {self.driven[b]}" if self.driven[b] else None)
                    raise Skip
        for t, bits in zip(s.targets, targets):
            for b in bits:
                self.driven[b] = t.span
        return targets

    def _assign(self, s: ast.Assign, env: Mapping[str, int]) -> None:
        targets = self._claim(s, env)
        if s.tuple_form:
            if not isinstance(s.value, ast.Call) or s.value.name in BUILTINS:
                self.c.error("only a circuit instance can be assigned to several targets", s.value.span,
                             hint="write `(x, y) = circuit_name(...)`")
                raise Skip
            self._instance(s.value, env, dests=targets, tuple_span=s.span)
            return
        dest = targets[0]
        if isinstance(s.value, (ast.Const, ast.BitOf)):
            # A constant drives its target directly (and fills a whole vector: `v = 0;`).
            value = self._const_value(s.value, env)
            for d in dest:
                self._gate(d, Op.CONST1 if value else Op.CONST0, (), s.span)
            return
        bits = self._emit(s.value, env, dest)
        if bits == dest and not isinstance(s.value, (ast.Ref, ast.BitRef, ast.SliceRef, ast.Concat)):
            return  # the gates computing the value drive the target directly
        if len(bits) != len(dest):
            self.c.error(f"width mismatch: `{_lv_text(s.targets[0])}` has {len(dest)} bit{'s' * (len(dest) != 1)}, "
                         f"the value has {len(bits)}", s.span)
            raise Skip
        for d, b in zip(dest, bits):
            self._gate(d, Op.BUF, (b,), s.span)

    def _target_bits(self, t: ast.LValue, env: Mapping[str, int]) -> list[str]:
        if t.name in self.poisoned:
            raise Skip
        if t.name not in self.widths:
            if t.name in env:
                self.c.error(f"`{t.name}` is an integer parameter and cannot be assigned", t.span)
            else:
                self.c.error(f"`{t.name}` is not declared", t.span,
                             hint=lambda: did_you_mean(t.name, self.widths) or f"declare it: `wire {t.name}[WIDTH];`")
            raise Skip
        if self.kinds[t.name] == "in":
            self.c.error(f"cannot assign to input `{t.name}`", t.span,
                         hint="inputs are driven from outside the circuit")
            raise Skip
        return self._select(t.name, t.index, t.hi, env, t.span, slice_=t.hi is not None)

    def _select(self, name: str, index, hi, env, span, slice_: bool) -> list[str]:
        width, bits = self.widths[name], self.bits[name]
        if index is None:
            return bits[:]
        if width is None:
            self.c.error(f"`{name}` is a single bit and cannot be indexed", span)
            raise Skip
        lo = self.ints.eval(index, env)
        if not slice_:
            if not 0 <= lo < width:
                self.c.error(f"index {lo} is out of range for `{name}`", span,
                             expected=f"0 to {width - 1} (`{name}` has {width} bits)")
                raise Skip
            return [bits[lo]]
        up = self.ints.eval(hi, env)
        if not 0 <= lo < up <= width:
            self.c.error(f"slice [{lo}:{up}] is out of range for `{name}`", span,
                         expected=f"[lo:hi] with 0 <= lo < hi <= {width} (bits lo to hi-1)")
            raise Skip
        return bits[lo:up]

    def _gate(self, out: str, op: Op, args: tuple[str, ...], span: Span | None) -> str:
        if len(self.gates) + self.n_inlined >= MAX_GATES:
            self.c.error(f"circuit `{self.name}` grows beyond {MAX_GATES:,} gates", span,
                         hint="circuitc elaborates every gate; check the loop bounds and widths")
            raise Skip
        self.elab.spend(1, span)
        self.gates.append(Gate(out, op, args, span))
        return out

    def _fresh(self) -> str:
        # $0 and $1 are the constants; skip any name a back-quoted declaration already took.
        while True:
            self.tmp += 1
            name = f"${self.tmp + 1}"
            if name not in self.widths:
                return name

    def _const(self, value: int, span: Span | None) -> str:
        if value not in self.consts:
            name = f"${value}"
            while name in self.widths:
                name += "'"
            self._gate(name, Op.CONST1 if value else Op.CONST0, (), span)
            self.consts[value] = name
        return self.consts[value]

    def _outs(self, dest: list[str] | None, width: int) -> list[str]:
        if dest is not None and len(dest) == width:
            return dest
        return [self._fresh() for _ in range(width)]

    def _emit(self, e: ast.Expr, env: Mapping[str, int], dest: list[str] | None = None) -> list[str]:
        """The wires carrying `e`. Gates that compute `e` drive `dest` directly when widths allow."""
        if isinstance(e, (ast.Ref, ast.BitRef, ast.SliceRef)) and e.name in self.poisoned:
            raise Skip
        if isinstance(e, ast.Ref):
            if e.name in self.widths:
                bits = self._select(e.name, None, None, env, e.span, False)
                self._read(e.name, bits, e.span)
                return bits
            if e.name in env:
                v = env[e.name]
                if v in (0, 1):
                    return [self._const(v, e.span)]
                self.c.error(f"`{e.name}` is an integer ({v}), not a signal", e.span,
                             hint=f"take one of its bits with `bit({e.name}, i)`")
                raise Skip
            self.c.error(f"unknown signal `{e.name}`", e.span,
                         hint=lambda: did_you_mean(e.name, list(self.widths) + list(env)))
            raise Skip
        if isinstance(e, (ast.BitRef, ast.SliceRef)):
            if e.name not in self.widths:
                self.c.error(f"unknown signal `{e.name}`", e.span, hint=lambda: did_you_mean(e.name, self.widths))
                raise Skip
            if isinstance(e, ast.BitRef):
                bits = self._select(e.name, e.index, None, env, e.span, False)
            else:
                bits = self._select(e.name, e.lo, e.hi, env, e.span, True)
            self._read(e.name, bits, e.span)
            return bits
        if isinstance(e, (ast.Const, ast.BitOf)):
            return [self._const(self._const_value(e, env), e.span)]
        if isinstance(e, ast.Concat):
            return [b for part in e.parts for b in self._emit(part, env)]
        if isinstance(e, ast.Unary):
            bits = self._emit(e.operand, env)
            outs = self._outs(dest, len(bits))
            for o, b in zip(outs, bits):
                self._gate(o, Op.NOT, (b,), e.span)
            return outs
        if isinstance(e, ast.Binary):
            return self._binary(e, env, dest)
        if isinstance(e, ast.Ternary):
            return self._ternary(e, env, dest)
        if isinstance(e, ast.Call):
            if e.name in BUILTINS or e.name not in self.elab.defs and e.name.lower() in BUILTINS:
                return self._builtin(e, env, dest)
            return self._instance(e, env, dests=[dest] if dest is not None else None)
        if isinstance(e, ast.Member):
            return self._instance(e.call, env, dests=[dest] if dest is not None else None, member=e)
        raise TypeError(e)  # pragma: no cover

    def _const_value(self, e: ast.Const | ast.BitOf, env) -> int:
        if isinstance(e, ast.Const):
            if e.value not in (0, 1):
                self.c.error(f"a signal constant is 0 or 1, got {e.text or e.value}", e.span,
                             hint="for a constant vector write `{1, 0, 1}`; for a bit of an integer, `bit(K, i)`")
                raise Skip
            return e.value
        v, i = self.ints.eval(e.value, env), self.ints.eval(e.index, env)
        if i < 0:
            self.c.error(f"bit index {i} is negative", e.index.span)
            raise Skip
        return (v >> i) & 1

    def _read(self, name: str, bits: list[str], span: Span | None) -> None:
        """Note that the bits `bits` of signal `name` are read at `span` (the first span read is kept)."""
        self.read_signals.add(name)
        if self.kinds[name] == "in":
            return  # driven from outside: only whether it is read matters
        if self.reads.keys().isdisjoint(bits):
            self.reads.update(dict.fromkeys(bits, span))
            return
        for b in bits:
            self.reads.setdefault(b, span)

    def _broadcast(self, operands: list[list[str]], span: Span | None, what: str) -> int:
        widths = sorted({len(o) for o in operands})
        width = widths[-1]
        if any(w not in (1, width) for w in widths):
            self.c.error(f"width mismatch in {what}: operands have {', '.join(map(str, widths))} bits", span,
                         hint="operands must have equal widths (a single bit is used for every bit)")
            raise Skip
        return width

    def _binary(self, e: ast.Binary, env, dest) -> list[str]:
        # `a & b & c` is one 3-input AND: chains of one associative operator become n-ary gates.
        flat: list[ast.Expr] = []
        stack = [e]
        while stack:
            x = stack.pop()
            if isinstance(x, ast.Binary) and x.op == e.op:
                stack.append(x.right)
                stack.append(x.left)
            else:
                flat.append(x)
        operands = [self._emit(x, env) for x in flat]
        width = self._broadcast(operands, e.span, f"`{e.op}`")
        outs = self._outs(dest, width)
        op = _BINARY_OPS[e.op]
        for i, o in enumerate(outs):
            self._gate(o, op, tuple(x[i] if len(x) > 1 else x[0] for x in operands), e.span)
        return outs

    def _ternary(self, e: ast.Ternary, env, dest) -> list[str]:
        sel = self._emit(e.cond, env)
        if len(sel) != 1:
            self.c.error(f"the condition of `?:` must be one bit, got {len(sel)}", e.cond.span)
            raise Skip
        a, b = self._emit(e.then, env), self._emit(e.other, env)
        width = self._broadcast([a, b], e.span, "`?:`")
        s = sel[0]
        ns = self._gate(self._fresh(), Op.NOT, (s,), e.span)
        outs = self._outs(dest, width)
        for i, o in enumerate(outs):
            hi = self._gate(self._fresh(), Op.AND, (s, a[i] if len(a) > 1 else a[0]), e.span)
            lo = self._gate(self._fresh(), Op.AND, (ns, b[i] if len(b) > 1 else b[0]), e.span)
            self._gate(o, Op.OR, (hi, lo), e.span)
        return outs

    def _builtin(self, e: ast.Call, env, dest) -> list[str]:
        name = e.name
        if name not in BUILTINS:
            self.c.error(f"unknown gate `{name}`", e.name_span, hint=f"builtin gates are lower case: `{name.lower()}`")
            raise Skip
        if e.targs is not None:
            self.c.error(f"builtin gate `{name}` takes no parameters", e.span)
            raise Skip
        if any(a.name is not None for a in e.args):
            self.c.error(f"builtin gate `{name}` takes positional arguments only", e.span)
            raise Skip
        bits = [b for a in e.args for b in self._emit(a.value, env)]
        if name == "not":
            if len(e.args) != 1:
                self.c.error(f"`not` takes one argument, got {len(e.args)}", e.span,
                             hint="`not(x)` inverts every bit of x")
                raise Skip
            outs = self._outs(dest, len(bits))
            for o, b in zip(outs, bits):
                self._gate(o, Op.NOT, (b,), e.span)
            return outs
        if not bits:
            self.c.error(f"`{name}` needs at least one input", e.span)
            raise Skip
        op, negate = BUILTIN_GATES[name]
        if op is Op.MAJ and len(bits) % 2 == 0:
            self.c.error(f"`maj` needs an odd number of input bits, got {len(bits)}", e.span,
                         hint="a majority of an even count can tie")
            raise Skip
        out = self._outs(dest, 1)[0]
        if negate:
            inner = self._gate(self._fresh(), op, tuple(bits), e.span)
            return [self._gate(out, Op.NOT, (inner,), e.span)]
        return [self._gate(out, op, tuple(bits), e.span)]

    # ------------------------------------------------------------------ instances
    def _instance(self, call: ast.Call, env, dests: list[list[str] | None] | None = None,
                  member: ast.Member | None = None, tuple_span: Span | None = None) -> list[str]:
        if self.shape_failed:
            raise Skip
        callee = self.elab.instantiate(call.name, call.targs, env, call.name_span or call.span)
        if callee is None:
            raise Skip
        if isinstance(callee, MLPCircuit):
            self.c.error(f"`{call.name}` is an MLP circuit; a boolean circuit cannot instantiate it", call.span)
            raise Skip
        arg_bits = self._bind_args(call, callee, env)

        # Which outputs are wanted, and where they go.
        if member is not None:
            ports = [p for p in callee.outputs if p.name == member.port]
            if not ports:
                self.c.error(f"`{callee.name}` has no output `{member.port}`", member.span,
                             hint=lambda: did_you_mean(member.port, [p.name for p in callee.outputs])
                             or f"outputs: {', '.join(p.name for p in callee.outputs)}")
                raise Skip
        elif tuple_span is not None:
            ports = list(callee.outputs)
            if dests is None or len(dests) != len(ports):
                self.c.error(f"`{callee.name}` has {len(ports)} outputs "
                             f"({', '.join(p.name for p in ports)}), but {len(dests or [])} targets are given",
                             tuple_span)
                raise Skip
        else:
            if len(callee.outputs) != 1:
                names = ", ".join(p.name for p in callee.outputs)
                self.c.error(f"`{callee.name}` has {len(callee.outputs)} outputs ({names}); say which", call.span,
                             hint=f"pick one with `{call.name}(...).{callee.outputs[0].name}` or assign all: "
                                  f"`({names}) = {call.name}(...);`")
                raise Skip
            ports = list(callee.outputs)
        if tuple_span is not None:
            for p, d in zip(ports, dests):
                if len(d) != p.size:
                    self.c.error(f"output `{p.name}` of `{callee.name}` has {p.size} bit{'s' * (p.size != 1)}, "
                                 f"its target has {len(d)}", tuple_span)
                    raise Skip
            wanted = list(zip(ports, dests))
        else:
            d = dests[0] if dests else None
            if d is not None and len(d) != ports[0].size:
                d = None  # the caller reports the width mismatch
            wanted = [(ports[0], d)]

        k = self.instances.get(callee.name, 0)
        self.instances[callee.name] = k + 1
        form = cached_per_circuit(callee, "inline", Inlinable.of)
        names = InstanceNames(callee.gates, f"{callee.name}#{k}/", {})
        n_in = form.n_inputs
        wanted_bits: list[tuple[int, str]] = []  # callee slot and name of each wanted output bit
        result: list[str | None] = []
        copies: list[tuple[str, int, str]] = []
        for port, d in wanted:
            for i, bit in enumerate(port.bits):
                slot = form.out_slots[bit]
                wanted_bits.append((slot, bit))
                target = d[i] if d is not None else None
                if target is not None and slot >= n_in and slot - n_in not in names.renamed:
                    names.renamed[slot - n_in] = target
                    result.append(target)
                elif target is not None:
                    copies.append((target, slot, bit))  # an output that is an input, or a repeated output
                    result.append(target)
                else:
                    result.append(None)  # named after inlining
        if len(self.gates) + self.n_inlined + len(callee.gates) > MAX_GATES:
            self.c.error(f"circuit `{self.name}` grows beyond {MAX_GATES:,} gates", call.span)
            raise Skip
        # Binding each port bit costs about as much as making a gate (benchmarks/elaboration_cost.py).
        cost = 1 + n_in + len(wanted_bits) + len(callee.gates)
        self.elab.spend(cost, call.span, hint=lambda: f"each instance of `{callee.name}` spends {cost:,} steps: "
                                                      f"its {len(callee.gates):,} gates and "
                                                      f"{n_in + len(wanted_bits):,} port bits; check the loop "
                                                      "bounds and widths")

        inlined = Inlined(form, len(self.gates), arg_bits, names, {}, call.span)
        self.inlined.append(inlined)
        self.n_inlined += len(callee.gates)
        for target, slot, bit in copies:
            self._gate(target, Op.BUF, (inlined.wire(slot, bit),), call.span)
        return [r if r is not None else inlined.wire(slot, bit) for r, (slot, bit) in zip(result, wanted_bits)]

    def _bind_args(self, call: ast.Call, callee: BoolCircuit, env) -> list[str]:
        ports = list(callee.inputs)
        names = [p.name for p in ports]
        bound: dict[str, ast.Arg] = {}
        ok = True
        positional = [a for a in call.args if a.name is None]
        if len(positional) > len(ports):
            self.c.error(f"`{callee.name}` takes {len(ports)} input{'s' * (len(ports) != 1)} "
                         f"({', '.join(names)}), got {len(positional)}", call.span)
            raise Skip
        for p, a in zip(ports, positional):
            bound[p.name] = a
        for a in call.args:
            if a.name is None:
                continue
            if a.name not in names:
                self.c.error(f"`{callee.name}` has no input `{a.name}`", a.span,
                             hint=lambda: did_you_mean(a.name, names) or f"inputs: {', '.join(names)}")
                ok = False
            elif a.name in bound:
                self.c.error(f"input `{a.name}` of `{callee.name}` is given twice", a.span)
                ok = False
            else:
                bound[a.name] = a
        missing = [n for n in names if n not in bound]
        if missing:
            self.c.error(f"missing input{'s' * (len(missing) > 1)} {', '.join(f'`{m}`' for m in missing)} "
                         f"of `{callee.name}`", call.span,
                         expected=f"{len(ports)} inputs: {', '.join(names)}")
            ok = False
        if not ok:
            raise Skip
        bits: list[str] = []
        for p in ports:
            a = bound[p.name]
            got = self._emit(a.value, env)
            if len(got) == 1 and p.size > 1 and isinstance(a.value, (ast.Const, ast.BitOf)):
                got = got * p.size
            if len(got) != p.size:
                self.c.error(f"input `{p.name}` of `{callee.name}` takes {p.size} bit{'s' * (p.size != 1)}, "
                             f"got {len(got)}", a.span)
                ok = False
            bits.extend(got)
        if not ok:
            raise Skip
        return bits

    # ------------------------------------------------------------------ final checks
    def _check_drivers(self) -> None:
        for p in self.outputs:
            undriven = [b for b in p.bits if b not in self.driven]
            if undriven:
                what = f"output `{p.name}` is" if len(undriven) == p.size else \
                    f"{_compact(undriven, p.name)} of output `{p.name}` {'is' if len(undriven) == 1 else 'are'}"
                unused = [n for n in self.implicit if n not in self.reads]
                typo = difflib.get_close_matches(p.name, unused, n=1, cutoff=0.6)
                self.c.error(f"{what} never assigned", p.span,
                             hint=f"`{typo[0]}` is assigned but never used: a typo for `{p.name}`?" if typo else None)
        unset: dict[str, list[str]] = {}
        first_span: dict[str, Span | None] = {}
        undriven = self.reads.keys() - self.driven.keys()
        for b, span in self.reads.items() if undriven else ():  # in the order read
            if b in undriven:
                base = b.split("[", 1)[0]
                unset.setdefault(base, []).append(b)
                first_span.setdefault(base, span)
        for base, bits in unset.items():
            what = f"`{base}` is" if bits == [base] else \
                f"{_compact(bits, base)} of `{base}` {'is' if len(bits) == 1 else 'are'}"
            decl = self.decl_spans.get(base)
            self.c.error(f"{what} read but never assigned", first_span[base],
                         hint=f"`{base}` is declared at {decl}" if decl else None)
        self._warn_unused()

    def _warn_unused(self) -> None:
        """Warnings for signals that do nothing: usually a typo or a forgotten connection."""
        for name, kind in self.kinds.items():
            if name in self.read_signals or kind == "out":
                continue
            if kind == "in" and self.defn.over is None:
                self.c.warn(f"input `{name}` of `{self.name}` is never used", self.decl_spans[name])
            elif kind == "wire" and any(b in self.driven for b in self._select(name, None, None, {}, None, False)):
                self.c.warn(f"`{name}` is assigned but never used", self.decl_spans[name])


def _compact(bits: list[str], name: str) -> str:
    """`[0:3], [5]`-style text for a set of bits of `name`, e.g. 'bits [0:3], [5]'."""
    idx = sorted(int(b[len(name) + 1:-1]) for b in bits)
    runs: list[str] = []
    start = prev = idx[0]
    for i in idx[1:] + [None]:
        if i is not None and i == prev + 1:
            prev = i
            continue
        runs.append(f"[{start}]" if start == prev else f"[{start}:{prev + 1}]")
        if i is not None:
            start = prev = i
    text = ", ".join(runs[:6]) + (", …" if len(runs) > 6 else "")
    return f"bit{'s' * (len(idx) > 1)} {text}"


def _lv_text(t: ast.LValue) -> str:
    return t.name if t.index is None else f"{t.name}[…]"
