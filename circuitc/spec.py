"""The Spec: what the user meant, after elaboration (names resolved, loops and instances expanded).

Every front end produces this one form — the `.circ` language, BLIF and ISCAS `.bench` — and every
later pass reads it. The dataclasses are frozen; `check()` states the invariants each one promises.
Source spans are excluded from equality, so two sources that mean the same circuits compare equal
(this is how `circuitc fmt` is tested: the printout must elaborate to an equal Spec).
"""

from __future__ import annotations

import abc
import enum
import itertools
from dataclasses import dataclass, field
from functools import cached_property
from typing import Iterator, Sequence, Union, overload

import numpy as np

from .errors import CircuitError, Diagnostic, Span, did_you_mean


class Op(str, enum.Enum):
    """The primitive gates. Everything else (nand, ternary, BLIF covers...) is built from these."""

    AND = "and"
    OR = "or"
    XOR = "xor"
    NOT = "not"
    MAJ = "maj"      # 1 when more than half of an odd number of inputs are 1
    BUF = "buf"      # a copy: `y = a`
    CONST0 = "const0"
    CONST1 = "const1"

    def __str__(self) -> str:
        return self.value


# (fewest, most) arguments; None means unbounded.
OP_ARITY: dict[Op, tuple[int, int | None]] = {
    Op.AND: (1, None), Op.OR: (1, None), Op.XOR: (1, None), Op.MAJ: (1, None),
    Op.NOT: (1, 1), Op.BUF: (1, 1), Op.CONST0: (0, 0), Op.CONST1: (0, 0),
}


def _span_field():
    return field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Port:
    """A named input or output: a scalar bit/value (`width is None`) or a vector of `width`."""

    name: str
    width: int | None = None
    span: Span | None = _span_field()

    @property
    def size(self) -> int:
        return 1 if self.width is None else self.width

    @property
    def bits(self) -> tuple[str, ...]:
        if self.width is None:
            return (self.name,)
        return tuple(f"{self.name}[{i}]" for i in range(self.width))


@dataclass(frozen=True, slots=True)  # slots: a large circuit holds millions (a third less memory each)
class Gate:
    """One primitive gate: wire `out` is `op` applied to the wires `args`."""

    out: str
    op: Op
    args: tuple[str, ...]
    span: Span | None = _span_field()


# Gate ops in a fixed order: array forms of a netlist (GateTable, graph.IndexedNetlist) hold
# positions in this tuple.
OPS: tuple[Op, ...] = tuple(Op)
OP_CODE: dict[Op, int] = {op: i for i, op in enumerate(OPS)}
_MIN_ARGS = np.array([OP_ARITY[op][0] for op in OPS], dtype=np.int64)
_MAX_ARGS = np.array([np.iinfo(np.int64).max if OP_ARITY[op][1] is None else OP_ARITY[op][1] for op in OPS],
                     dtype=np.int64)


def bad_arity(ops: np.ndarray, arity: np.ndarray) -> np.ndarray:
    """Which gates (op codes `ops`, argument counts `arity`) have a wrong number of arguments."""
    return (arity < _MIN_ARGS[ops]) | (arity > _MAX_ARGS[ops]) | ((ops == OP_CODE[Op.MAJ]) & (arity % 2 == 0))


class WireNames(abc.ABC):
    """The wire names of a `GateTable`, made when first asked for rather than with the table.

    An elaborated circuit names the wires of each instance it inlines `callee#k/wire`, so the
    names of a netlist inlined through many levels are long, and each memoised level holds its
    own: made eagerly, these strings cost more memory than everything else, while a circuit that
    only serves as an instance of a larger one never needs them."""

    @abc.abstractmethod
    def inputs(self) -> tuple[str, ...]:
        """The input bits, in slot order."""

    @abc.abstractmethod
    def gates(self, prefix: str) -> list[str]:
        """`prefix` followed by the name of each gate's wire, in gate order."""


_ITER_RUN = 4096  # gates made at a time when iterating over a GateTable


class GateTable(Sequence[Gate]):
    """The gates of a large netlist as arrays, a sequence of `Gate`s made on demand.

    Importers of machine-made netlists (10^5-10^6 gates) and the elaborator, for a large circuit
    that inlines instances, build this instead of one `Gate` and one `Span` per gate: the arrays
    cost a few bytes a gate where the objects cost hundreds, and graph.indexed takes them as they
    are. Wires: `wires[:n_inputs]` are the circuit's input bits, `wires[n_inputs + g]` is the
    output of gate g; gate g is `OPS[ops[g]]` applied to the wires
    `arg_idx[arg_ptr[g]:arg_ptr[g + 1]]`. `wires` may be given as a `WireNames`, which makes them
    on first use. Spans, when known, are either one line per gate (`spans`: `lines`, `columns`,
    `end_columns`, 1-based, in `file`; line 0 marks a gate without one) or any span per gate
    (`span_refs`: the distinct spans, None among them for a gate without one, and each gate's
    position among them), as an elaborated circuit has them: from several files, over several lines.
    Equal to any sequence of equal gates.
    """

    def __init__(self, wires: tuple[str, ...] | WireNames, n_inputs: int, ops: np.ndarray, arg_ptr: np.ndarray,
                 arg_idx: np.ndarray, spans: tuple[str, np.ndarray, np.ndarray, np.ndarray] | None = None,
                 span_refs: tuple[tuple[Span | None, ...], np.ndarray] | None = None,
                 index: dict[str, int] | None = None):
        self._names, self._wires = (wires, None) if isinstance(wires, WireNames) else (None, wires)
        self.n_inputs = n_inputs
        self.ops = ops
        self.arg_ptr = arg_ptr
        self.arg_idx = arg_idx
        self.spans = spans
        self._span_refs = span_refs
        self._index = index    # wire name -> slot, when the maker has it already (see `index`)
        self._arrays_ok: bool | None = None   # see `arrays_ok`
        for a in (ops, arg_ptr, arg_idx, *(spans[1:] if spans else ()), *(span_refs[1:] if span_refs else ())):
            a.setflags(write=False)

    @property
    def wires(self) -> tuple[str, ...]:
        if self._wires is None:
            self._wires = self._names.inputs() + tuple(self._names.gates(""))
            self._names = None  # what made them, and the instances it refers to, can go
        return self._wires

    def gate_names(self, prefix: str) -> list[str]:
        """`prefix` followed by the name of each gate's wire: the wires of an instance of this
        netlist, made without naming the netlist's own wires when they are not made yet."""
        if self._names is not None:
            return self._names.gates(prefix)
        return [prefix + w for w in self._wires[self.n_inputs:]]

    def span_refs(self) -> tuple[tuple[Span | None, ...], np.ndarray]:
        """The spans of the gates as (distinct spans, each gate's position among them)."""
        if self._span_refs is not None:
            return self._span_refs
        if self.spans is None:
            return (None,), np.zeros(len(self), dtype=np.int32)
        file, lines, cols, ends = self.spans
        rows, where = np.unique(np.stack([lines, cols, ends], axis=1), axis=0, return_inverse=True)
        table = tuple(Span(file, line, col, line, end) if line > 0 else None for line, col, end in rows.tolist())
        return table, where.reshape(-1)

    def __len__(self) -> int:
        return len(self.ops)

    def __getstate__(self) -> dict:
        # The index is rebuilt on demand, not shipped to workers; names are shipped made.
        return {**self.__dict__, "_index": None, "_wires": self.wires, "_names": None}

    def _block(self, lo: int, hi: int) -> list[Gate]:
        """Gates lo to hi - 1, their arrays read into Python values once for the whole run."""
        wires, n_in = self.wires, self.n_inputs
        ptr = self.arg_ptr[lo:hi + 1]
        args = tuple(map(wires.__getitem__, self.arg_idx[ptr[0]:ptr[-1]].tolist()))  # each gate's: a slice
        ptr = (ptr - ptr[0]).tolist()
        ops = [OPS[op] for op in self.ops[lo:hi].tolist()]
        if self._span_refs is not None:
            table, where = self._span_refs
            spans = [table[k] for k in where[lo:hi].tolist()]
        elif self.spans is not None:
            file, lines, cols, ends = (a[lo:hi].tolist() if k else a for k, a in enumerate(self.spans))
            spans = [Span(file, line, col, line, end) if line > 0 else None
                     for line, col, end in zip(lines, cols, ends)]
        else:
            spans = [None] * (hi - lo)
        return [Gate(out, op, args[a:b], span) for out, op, a, b, span
                in zip(wires[n_in + lo:n_in + hi], ops, ptr, ptr[1:], spans)]

    @overload
    def __getitem__(self, i: int) -> Gate: ...
    @overload
    def __getitem__(self, i: slice) -> tuple[Gate, ...]: ...

    def __getitem__(self, i):
        if isinstance(i, slice):
            return tuple(self._block(g, g + 1)[0] for g in range(*i.indices(len(self))))
        n = len(self)
        if not -n <= i < n:
            raise IndexError("gate index out of range")
        g = i % n
        return self._block(g, g + 1)[0]

    def __iter__(self) -> Iterator[Gate]:
        # In runs: a Python list of a whole large table's argument slots would cost more than its arrays.
        for lo in range(0, len(self), _ITER_RUN):
            yield from self._block(lo, min(lo + _ITER_RUN, len(self)))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, GateTable):
            names, other_names = np.asarray(self.wires, dtype=object), np.asarray(other.wires, dtype=object)
            return (len(self) == len(other) and np.array_equal(self.ops, other.ops)
                    and np.array_equal(self.arg_ptr, other.arg_ptr)
                    and self.wires[self.n_inputs:] == other.wires[other.n_inputs:]
                    and bool((names[self.arg_idx] == other_names[other.arg_idx]).all()))
        if isinstance(other, (tuple, list)):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other))
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return f"GateTable({len(self)} gates)"

    @property
    def index(self) -> dict[str, int]:
        """Wire name -> slot (made once; graph.indexed shares it). A name driven twice keeps its
        last slot, so `len(index) < len(wires)` says that some wire is."""
        if self._index is None:
            self._index = dict(zip(self.wires, range(len(self.wires))))
        return self._index

    def arrays_ok(self) -> bool:
        """True when every wire is driven once, every argument is a wire of the table and every
        arity is right; decided once (the table is immutable), for `well_formed` and graph.indexed."""
        if self._arrays_ok is None:
            n = len(self.wires)
            self._arrays_ok = (len(self.index) == n
                               and (len(self.arg_idx) == 0 or (int(self.arg_idx.min()) >= 0
                                                               and int(self.arg_idx.max()) < n))
                               and not bad_arity(self.ops, np.diff(self.arg_ptr)).any())
        return self._arrays_ok

    def well_formed(self, input_bits: tuple[str, ...], output_bits: tuple[str, ...]) -> bool:
        """True when the arrays are sound (`arrays_ok`), the inputs come first and the outputs
        exist: what `BoolCircuit.check` asks of its gates, decided on the arrays."""
        return (self.wires[:self.n_inputs] == input_bits and self.arrays_ok()
                and all(b in self.index for b in output_bits))


class _PortBits:
    """Bit-level views of a circuit's ports, in declaration order (what evaluators index by)."""

    inputs: tuple[Port, ...]
    outputs: tuple[Port, ...]

    # Cached: a circuit is immutable, and checks and evaluators ask for these again and again
    # (each call named every bit afresh: a third of `check` on a circuit of 10^5 ports' bits).
    @cached_property
    def input_bits(self) -> tuple[str, ...]:
        return tuple(itertools.chain.from_iterable(p.bits for p in self.inputs))

    @cached_property
    def output_bits(self) -> tuple[str, ...]:
        return tuple(itertools.chain.from_iterable(p.bits for p in self.outputs))


@dataclass(frozen=True)
class BoolCircuit(_PortBits):
    """A boolean circuit as a flat netlist of primitive gates over named bit wires.

    Bit wires of a vector port are named `name[i]`. `gates` define every non-input wire exactly
    once; the order is the order of elaboration, not necessarily topological (graph.py sorts).
    A circuit `over` a feature set has that set as its only input port.
    """

    name: str
    inputs: tuple[Port, ...]
    outputs: tuple[Port, ...]
    gates: tuple[Gate, ...] | GateTable
    features: str | None = None
    params: tuple[tuple[str, int], ...] = ()
    span: Span | None = _span_field()

    kind = "boolean"

    def check(self) -> None:
        """Raise CircuitError unless the netlist is well formed (cycles are graph.py's job)."""
        if (isinstance(self.gates, GateTable) and self.outputs
                and self.gates.well_formed(self.input_bits, self.output_bits)):
            return  # decided on the arrays; otherwise the loop below says what is wrong
        problems: list[Diagnostic] = []
        inputs = set(self.input_bits)
        if len(inputs) != len(self.input_bits):
            problems.append(Diagnostic(f"circuit `{self.name}` has duplicate input bits", self.span))
        defined: set[str] = set()
        for g in self.gates:
            lo, hi = OP_ARITY[g.op]
            if len(g.args) < lo or (hi is not None and len(g.args) > hi):
                problems.append(Diagnostic(f"gate `{g.out}`: {g.op} takes {lo}"
                                           f"{'' if hi == lo else '+' if hi is None else f'..{hi}'}"
                                           f" inputs, got {len(g.args)}", g.span))
            if g.op is Op.MAJ and len(g.args) % 2 == 0:
                problems.append(Diagnostic(f"gate `{g.out}`: maj needs an odd number of inputs", g.span))
            if g.out in inputs or g.out in defined:
                problems.append(Diagnostic(f"wire `{g.out}` is driven twice", g.span))
            defined.add(g.out)
        known = inputs | defined
        for g in self.gates:
            for a in g.args:
                if a not in known:
                    problems.append(Diagnostic(f"gate `{g.out}` reads undefined wire `{a}`", g.span))
        for b in self.output_bits:
            if b not in known:
                problems.append(Diagnostic(f"output bit `{b}` of `{self.name}` is never driven", self.span))
        if not self.outputs:
            problems.append(Diagnostic(f"circuit `{self.name}` has no outputs", self.span))
        if problems:
            raise CircuitError(problems)


@dataclass(frozen=True, eq=False)
class Layer:
    """One dense layer `y = act(weights @ x + bias)`; `weights` has shape (out, in)."""

    weights: np.ndarray
    bias: np.ndarray
    activation: str  # "relu" or "linear"
    span: Span | None = None

    def __post_init__(self) -> None:
        w = np.array(self.weights, dtype=np.float64)
        b = np.array(self.bias, dtype=np.float64)
        w.setflags(write=False)
        b.setflags(write=False)
        object.__setattr__(self, "weights", w)
        object.__setattr__(self, "bias", b)

    @property
    def shape(self) -> tuple[int, int]:
        return tuple(self.weights.shape)  # type: ignore[return-value]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Layer):
            return NotImplemented
        return (self.activation == other.activation
                and self.weights.shape == other.weights.shape
                and np.array_equal(self.weights, other.weights)
                and np.array_equal(self.bias, other.bias))

    __hash__ = None  # type: ignore[assignment]


ACTIVATIONS = ("relu", "linear")


@dataclass(frozen=True)
class MLPCircuit(_PortBits):
    """A small real-valued MLP circuit given by its layers; inputs and outputs are real."""

    name: str
    inputs: tuple[Port, ...]
    outputs: tuple[Port, ...]
    layers: tuple[Layer, ...]
    params: tuple[tuple[str, int], ...] = ()
    span: Span | None = _span_field()

    kind = "mlp"

    def check(self) -> None:
        problems: list[Diagnostic] = []
        width = len(self.input_bits)
        if not self.layers:
            problems.append(Diagnostic(f"mlp `{self.name}` has no layers", self.span))
        for i, layer in enumerate(self.layers):
            if layer.activation not in ACTIVATIONS:
                problems.append(Diagnostic(f"layer {i}: unknown activation `{layer.activation}`", layer.span))
            if layer.weights.ndim != 2 or layer.weights.shape[1] != width:
                problems.append(Diagnostic(f"layer {i}: weights of shape {layer.weights.shape} do not take "
                                           f"{width} inputs", layer.span))
            elif layer.bias.shape != (layer.weights.shape[0],):
                problems.append(Diagnostic(f"layer {i}: bias of shape {layer.bias.shape} does not match "
                                           f"{layer.weights.shape[0]} outputs", layer.span))
            if layer.weights.ndim == 2:
                width = layer.weights.shape[0]
        if self.layers and width != len(self.output_bits):
            problems.append(Diagnostic(f"mlp `{self.name}`: last layer has {width} outputs, "
                                       f"but {len(self.output_bits)} are declared", self.span))
        if problems:
            raise CircuitError(problems)


Circuit = Union[BoolCircuit, MLPCircuit]


@dataclass(frozen=True)
class FeatureSet:
    """`m` sparse boolean features of which at most `s` are on; optionally in superposition in R^d0."""

    name: str
    m: int
    s: int
    d0: int | None = None
    seed: int = 0
    span: Span | None = _span_field()


@dataclass(frozen=True)
class InstanceGroup:
    """`count` instances of the circuit named `circuit` (a key of Spec.circuits)."""

    circuit: str
    count: int
    span: Span | None = _span_field()


# Allocation strategies a network may request; "auto" lets the compiler pick.
ALLOCATIONS = ("auto", "prime-step", "affine", "polynomial")
CONSTRUCTIONS = ("auto", "routed", "lookup", "coherent", "cis2")


@dataclass(frozen=True)
class Network:
    """A network declaration: T circuit instances, the sparsity promise z and the compile knobs.

    `D` is the width of the compiled network, `S` the embedding redundancy (None: the compiler
    chooses), `z` the most instances active on one input, `input_bound` the promise that every
    real input of an MLP circuit has magnitude at most this (None: no promise).
    """

    name: str
    groups: tuple[InstanceGroup, ...]
    z: int
    D: int = 4096
    S: int | None = None
    allocation: str = "auto"
    seed: int = 0
    construction: str = "auto"
    input_bound: int | None = None
    span: Span | None = _span_field()

    @property
    def T(self) -> int:
        return sum(g.count for g in self.groups)


@dataclass(frozen=True)
class Spec:
    circuits: tuple[Circuit, ...] = ()
    features: tuple[FeatureSet, ...] = ()
    networks: tuple[Network, ...] = ()
    source: str = field(default="<string>", compare=False)
    # sha256 over every file read (sources, includes, weight files): what a compiled artifact cites.
    source_hash: str = field(default="", compare=False)
    warnings: tuple[Diagnostic, ...] = field(default=(), compare=False, repr=False)

    def circuit(self, name: str | None = None) -> Circuit:
        """The circuit called `name`; with no name, the only circuit (an error if there are several)."""
        if name is None:
            if len(self.circuits) == 1:
                return self.circuits[0]
            names = ", ".join(c.name for c in self.circuits) or "none"
            raise CircuitError(Diagnostic(f"{self.source} holds {len(self.circuits)} circuits; name one",
                                          hint=f"circuits: {names}"))
        found = self._circuit_index.get(name)
        if found is not None:
            return found
        names = [c.name for c in self.circuits]
        raise CircuitError(Diagnostic(f"no circuit named `{name}` in {self.source}",
                                      hint=did_you_mean(name, names) or f"circuits: {', '.join(names) or 'none'}"))

    @cached_property
    def _circuit_index(self) -> dict[str, Circuit]:
        """Name -> circuit, the first of a name (a network of 10^4 circuits looks each one up)."""
        index: dict[str, Circuit] = {}
        for c in self.circuits:
            index.setdefault(c.name, c)
        return index

    def feature_set(self, name: str) -> FeatureSet:
        for f in self.features:
            if f.name == name:
                return f
        raise CircuitError(Diagnostic(f"no feature set named `{name}` in {self.source}",
                                      hint=did_you_mean(name, [f.name for f in self.features])))

    def network(self, name: str | None = None) -> Network:
        if name is None and len(self.networks) == 1:
            return self.networks[0]
        for n in self.networks:
            if n.name == name:
                return n
        names = [n.name for n in self.networks]
        if not names:
            over = (" A circuit over a feature set is compiled with `--circuit NAME`." if self.features else "")
            raise CircuitError(Diagnostic(
                f"{self.source} declares no network to compile.{over}",
                hint="declare one: `network NAME { use CIRCUIT * COUNT; active = Z; width = D; }` "
                     "(docs/language.md, Networks)"))
        raise CircuitError(Diagnostic(f"no network named `{name}` in {self.source}" if name else
                                      f"{self.source} holds {len(names)} networks; name one",
                                      hint=did_you_mean(name or "", names) or f"networks: {', '.join(names)}"))

    def __iter__(self) -> Iterator[Circuit]:
        return iter(self.circuits)

    def check(self) -> None:
        problems: list[Diagnostic] = []
        for c in self.circuits:
            try:
                c.check()
            except CircuitError as e:
                problems.extend(e.diagnostics)
        if problems:
            raise CircuitError(problems)
