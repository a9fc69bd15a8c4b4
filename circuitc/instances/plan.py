"""`Plan`: everything a compilation decides before any weight exists, and the naive network it
is measured against.

A construction's `plan` makes one (lowered circuits, S, the allocation, every layer's supports);
`budget` reads it; the construction's `assemble` turns it into weights.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import CircuitError, Diagnostic
from ..graph import cached_per_circuit, levels
from ..spec import BoolCircuit, Circuit, MLPCircuit, Op
from .config import Config
from .embed.allocate import Allocation
from .lower.small_mlp import SmallMLP

_LOGIC = (Op.AND, Op.OR, Op.XOR, Op.MAJ)


@dataclass(frozen=True, eq=False)
class Plan:
    """The lowered circuits, S (and the gain), the allocation and every layer's supports."""

    name: str
    config: Config                      # the construction, S and the gain resolved
    circuits: tuple[Circuit, ...]
    counts: tuple[int, ...]
    types: tuple[SmallMLP, ...]         # as lowered (assembly pads them to a common d and L)
    allocation: Allocation
    supports: np.ndarray                # (L+1, T, S)
    permutations: np.ndarray            # (L+1, T)
    n: int
    fallback: str = ""                  # why "auto" fell back to this construction ("" when it did not)

    @property
    def T(self) -> int:
        return sum(self.counts)

    @property
    def d(self) -> int:
        return max(t.d for t in self.types)

    @property
    def L(self) -> int:
        return max(t.L for t in self.types)

    @property
    def type_of(self) -> np.ndarray:
        return np.repeat(np.arange(len(self.types)), self.counts)

    def check(self) -> None:
        """Raise CircuitError unless the parts agree: one lowered type per circuit, supports of
        shape (L+1, T, S) inside [0, n), one permutation of the T instances per layer, n·d <= D."""
        problems = []
        T, L, S = self.T, self.L, self.config.S
        if len(self.types) != len(self.circuits) or len(self.counts) != len(self.circuits):
            problems.append(f"{len(self.circuits)} circuits, {len(self.types)} lowered types and "
                            f"{len(self.counts)} counts")
        if self.supports.shape != (L + 1, T, S):
            problems.append(f"supports of shape {self.supports.shape}, expected (L+1, T, S) = {(L + 1, T, S)}")
        elif self.supports.size and (self.supports.min() < 0 or self.supports.max() >= self.n):
            problems.append(f"a support outside [0, n) = [0, {self.n})")
        if self.permutations.shape != (L + 1, T):
            problems.append(f"permutations of shape {self.permutations.shape}, expected {(L + 1, T)}")
        if self.n * self.d > self.config.D:
            problems.append(f"n·d = {self.n * self.d} exceeds D = {self.config.D}")
        if problems:
            raise CircuitError([Diagnostic(f"plan of network `{self.name}`: {p}") for p in problems])


def naive_network(circuits, counts) -> tuple[int, int]:
    """(width, neurons) of the one-neuron-per-gate network of `counts[k]` instances of `circuits[k]`,
    side by side: compression is T·d_naive/D = width/D."""
    width = sum(c * one_neuron_per_gate_width(k) for k, c in zip(circuits, counts))
    return width, sum(c * gate_count(k) for k, c in zip(circuits, counts))


def one_neuron_per_gate_width(circuit: Circuit) -> int:
    """d of the naive network: its widest layer, with one neuron per logic gate (NOT and copies free);
    computed once per circuit (a report of 10^4 circuits asks for each more than once)."""
    return cached_per_circuit(circuit, "naive-width", _naive_width)


def _naive_width(circuit: Circuit) -> int:
    if isinstance(circuit, MLPCircuit):
        return max(layer.weights.shape[0] for layer in circuit.layers)
    lv = logic_levels(circuit)
    counts = np.bincount([lv[g.out] for g in circuit.gates if g.op in _LOGIC] or [0])
    return max(1, int(counts.max()))


def logic_levels(circuit: BoolCircuit) -> dict[str, int]:
    """Wire -> the number of logic gates on its longest path from an input. NOT, BUF and constants
    add no level: a one-neuron-per-gate network folds them into weights, as the lowering does."""
    topo = levels(circuit)
    out: dict[str, int] = dict.fromkeys(circuit.input_bits, 0)
    for g in sorted(circuit.gates, key=lambda g: topo[g.out]):
        below = max((out[a] for a in g.args), default=0)
        out[g.out] = below + (g.op in _LOGIC)
    return out


def gate_count(circuit: Circuit) -> int:
    if isinstance(circuit, MLPCircuit):
        return sum(layer.weights.shape[0] for layer in circuit.layers)
    return sum(g.op in _LOGIC for g in circuit.gates)
