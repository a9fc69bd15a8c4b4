"""Inlined instances as arrays: what a circuit that inlines instances keeps of each one until it
is built, and how its gates and wire names are made from them (the elaborator's `GateTable` form).

An instance is its callee's gates as `graph.indexed` numbers them (`Inlinable`, made once per
callee), the caller's wires bound to the callee's inputs, and the names of its gate wires:
`callee#k/` followed by the callee's name for the wire, except for the callee outputs that drive a
caller's wire directly. Names are made only when asked for (`CircuitNames`, a `spec.WireNames`):
in a deep hierarchy they are long, and a circuit that serves only as an instance of a larger one
never needs its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Sequence

import numpy as np

from ..errors import Span
from ..graph import indexed
from ..spec import OPS, BoolCircuit, Gate, GateTable, Port, WireNames


class Spans:
    """Distinct span objects in order of first use, told apart by identity, so that each gate
    keeps its own span object while arrays hold its position here."""

    def __init__(self) -> None:
        self.table: list[Span | None] = []
        self._positions: dict[int, int] = {}

    def __call__(self, span: Span | None) -> int:
        pos = self._positions.get(id(span))
        if pos is None:
            pos = self._positions[id(span)] = len(self.table)
            self.table.append(span)
        return pos


def span_refs(gates: Sequence[Gate]) -> tuple[tuple[Span | None, ...], np.ndarray]:
    """(distinct spans, each gate's position among them), as GateTable.span_refs gives."""
    if isinstance(gates, GateTable):
        return gates.span_refs()
    spans = Spans()
    where = np.fromiter((spans(g.span) for g in gates), dtype=np.int32, count=len(gates))
    return tuple(spans.table), where


def gate_names(gates: Sequence[Gate], prefix: str) -> list[str]:
    """`prefix` followed by the name of each gate's wire."""
    if isinstance(gates, GateTable):
        return gates.gate_names(prefix)
    return [prefix + g.out for g in gates]


@dataclass(frozen=True, eq=False)
class Inlinable:
    """A callee as inlining reads it: its wire slots as graph.indexed numbers them (the input
    bits, then one per gate), its gates as arrays, the slots of its output bits and its spans."""

    n_inputs: int
    ops: np.ndarray
    arg_ptr: np.ndarray
    arg_idx: np.ndarray
    out_slots: dict[str, int]            # output bit -> its slot
    spans: tuple[Span | None, ...]       # the distinct spans,
    span_idx: np.ndarray                 # and each gate's position among them

    @cached_property
    def arity(self) -> np.ndarray:
        return np.diff(self.arg_ptr)

    @staticmethod
    def of(circuit: BoolCircuit) -> Inlinable:
        net = indexed(circuit)
        return Inlinable(net.n_inputs, net.ops, net.arg_ptr, net.arg_idx,
                          dict(zip(circuit.output_bits, net.out_idx.tolist())), *span_refs(circuit.gates))


@dataclass(eq=False)
class InstanceNames:
    """The names of an inlined instance's gate wires: `prefix` followed by the callee's name for
    the wire, except for the callee outputs that drive a wire of the caller directly."""

    gates: Sequence[Gate]     # the callee's
    prefix: str               # `callee#k/`
    renamed: dict[int, str]   # callee gate -> the caller's wire it drives

    def names(self, outer: str) -> list[str]:
        """The names within a circuit that is itself inlined at `outer` ("" when it is not)."""
        names = gate_names(self.gates, outer + self.prefix)
        for j, target in self.renamed.items():
            names[j] = outer + target
        return names


@dataclass(eq=False)
class Inlined:
    """One inlined instance, kept as its callee's arrays until the caller is built."""

    form: Inlinable
    at: int                   # how many of the caller's own gates come before it
    args: list[str]           # the caller's wires bound to the callee's input bits
    names: InstanceNames
    named: dict[int, str]     # callee gate -> its wire's name, for those the caller reads by name
    span: Span | None         # of the call: the span of a callee gate that has none

    def wire(self, slot: int, name: str) -> str:
        """The caller's wire for callee slot `slot`, whose name in the callee is `name`."""
        n_in = self.form.n_inputs
        if slot < n_in:
            return self.args[slot]
        j = slot - n_in
        if j in self.names.renamed:
            return self.names.renamed[j]
        if j not in self.named:
            self.named[j] = self.names.prefix + name
        return self.named[j]

    def gates(self) -> list[Gate]:
        """The instance's gates as Gate objects, on the caller's wires."""
        f = self.form
        wires = self.args + self.names.names("")
        spans = [s or self.span for s in f.spans]
        ptr, idx, where = f.arg_ptr.tolist(), f.arg_idx.tolist(), f.span_idx.tolist()
        n_in = f.n_inputs
        return [Gate(wires[n_in + j], OPS[op], tuple([wires[a] for a in idx[ptr[j]:ptr[j + 1]]]), spans[where[j]])
                for j, op in enumerate(f.ops.tolist())]


# Gates as arrays: op codes, argument counts, the arguments' slots one gate after the other, and
# span positions (in a Spans).
GateArrays = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def interleave(n: int, sources: list[tuple[np.ndarray, GateArrays]]) -> GateArrays:
    """`n` gates gathered from `sources`, each the positions of its gates among the `n` and their
    arrays. The argument counts come back as the offsets of each gate's arguments (n + 1 of them)."""
    ops, arity, where = np.empty(n, np.int8), np.empty(n, np.int64), np.empty(n, np.int32)
    for at, (o, a, _, w) in sources:
        ops[at], arity[at], where[at] = o, a, w
    arg_ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(arity, out=arg_ptr[1:])
    args = np.empty(arg_ptr[-1], dtype=np.int64)
    for at, (_, a, g, _) in sources:
        # Argument k of a source's gate i goes to arg_ptr[at[i]] + k - (its first argument in the source).
        args[np.repeat(arg_ptr[at] - (np.cumsum(a) - a), a) + np.arange(len(g))] = g
    return ops, arg_ptr, args, where


class CircuitNames(WireNames):
    """The wire names of a circuit built as a GateTable: its input bits, then the wires of its
    own gates and of its inlined instances in gate order (see spec.WireNames)."""

    def __init__(self, inputs: tuple[Port, ...], parts: list[list[str] | InstanceNames]):
        self.ports = inputs
        self.parts = parts  # runs of own gates' wires, and instances, in gate order

    def inputs(self) -> tuple[str, ...]:
        return tuple(b for p in self.ports for b in p.bits)

    def gates(self, prefix: str) -> list[str]:
        names: list[str] = []
        for part in self.parts:
            if isinstance(part, InstanceNames):
                names += part.names(prefix)
            else:
                names += [prefix + w for w in part] if prefix else part
        return names
