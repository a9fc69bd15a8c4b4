"""The Spec: what the user meant, after elaboration (names resolved, loops and instances expanded).

Every front end produces this one form — the `.circ` language, BLIF and ISCAS `.bench` — and every
later pass reads it. The dataclasses are frozen; `check()` states the invariants each one promises.
Source spans are excluded from equality, so two sources that mean the same circuits compare equal
(this is how `circuitc fmt` is tested: the printout must elaborate to an equal Spec).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Iterator, Union

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


@dataclass(frozen=True)
class Gate:
    """One primitive gate: wire `out` is `op` applied to the wires `args`."""

    out: str
    op: Op
    args: tuple[str, ...]
    span: Span | None = _span_field()


class _PortBits:
    """Bit-level views of a circuit's ports, in declaration order (what evaluators index by)."""

    inputs: tuple[Port, ...]
    outputs: tuple[Port, ...]

    @property
    def input_bits(self) -> tuple[str, ...]:
        return tuple(b for p in self.inputs for b in p.bits)

    @property
    def output_bits(self) -> tuple[str, ...]:
        return tuple(b for p in self.outputs for b in p.bits)


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
    gates: tuple[Gate, ...]
    features: str | None = None
    params: tuple[tuple[str, int], ...] = ()
    span: Span | None = _span_field()

    kind = "boolean"

    def check(self) -> None:
        """Raise CircuitError unless the netlist is well formed (cycles are graph.py's job)."""
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
CONSTRUCTIONS = ("auto", "routed", "coherent", "cis2")


@dataclass(frozen=True)
class Network:
    """A network declaration: T circuit instances, the sparsity promise z and the compile knobs.

    `D` is the width of the compiled network, `S` the embedding redundancy (None: the compiler
    chooses), `z` the most instances active on one input.
    """

    name: str
    groups: tuple[InstanceGroup, ...]
    z: int
    D: int = 4096
    S: int | None = None
    allocation: str = "auto"
    seed: int = 0
    construction: str = "auto"
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
        for c in self.circuits:
            if c.name == name:
                return c
        names = [c.name for c in self.circuits]
        raise CircuitError(Diagnostic(f"no circuit named `{name}` in {self.source}",
                                      hint=did_you_mean(name, names) or f"circuits: {', '.join(names) or 'none'}"))

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
