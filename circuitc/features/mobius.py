"""Any gate of fan-in <= k over sparse features, read off linearly from one U-AND layer (math.md §2.2).

Every g: {0,1}^k → {0,1} is a multilinear polynomial, g(x) = Σ_T c_T·Π_{i∈T} x_i, with the Möbius
coefficients c_T = Σ_{U⊆T} (−1)^{|T|−|U|}·g(1_U). For example XOR(x, y) = x + y − 2xy and
OR(x, y) = x + y − xy. So a gate is a linear combination of ANDs of its inputs:
- the pairs come from the U-AND layer's read-offs;
- the single features come from one identity neuron each, ReLU(f_α) = f_α, with bias 0 (in
  superposition, ReLU(⟨φ_α, x⟩));
- the constant c_∅ is the read-off's bias.

The error of the gate is at most Σ_T |c_T|·ε_T. That is 4·ε for XOR, so XOR is the gate that
needs the widest layer.

`gate_layer` builds the read-off matrix for a list of gates. It refuses a gate whose fan-in
exceeds the layer's k, naming the gate, its fan-in and the fix.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import CircuitError, Diagnostic
from .uand import UAnd


def mobius(table) -> dict[tuple[int, ...], int]:
    """The non-zero Möbius coefficients {T: c_T} of a gate given by its truth table: `table[j]` is
    the output when input i is bit i of j (length 2^k). T lists input positions, ascending."""
    c = np.asarray(table, dtype=np.int64).copy()
    k = int(round(np.log2(len(c)))) if len(c) else -1
    if len(c) != 1 << max(k, 0) or k < 0:
        raise ValueError(f"a truth table has 2^k entries, got {len(c)}")
    for i in range(k):                      # subset-difference butterfly: c[j] -= c[j without bit i]
        bit = 1 << i
        idx = np.arange(len(c))
        has = (idx & bit) != 0
        c[has] -= c[idx[has] ^ bit]
    return {tuple(i for i in range(k) if j >> i & 1): int(c[j]) for j in range(len(c)) if c[j] != 0}


@dataclass(frozen=True, eq=False)
class GateLayer:
    """A U-AND layer, identity neurons for the features gates read singly, and the gates' read-offs."""

    uand: UAnd
    singles: np.ndarray        # (q,) feature ids with an identity neuron
    readout: np.ndarray        # (g, d + q) float32
    bias: np.ndarray           # (g,) float32: the constant terms

    def hidden(self, active: np.ndarray) -> np.ndarray:
        """(batch, d + q): the U-AND neurons, then the identity neurons."""
        x = self.uand.encode(active)
        features = x if self.uand.embedding is None else x @ self.uand.embedding
        return np.concatenate([self.uand.hidden(x), np.maximum(features[:, self.singles], 0.0)], axis=1)

    def outputs(self, active: np.ndarray) -> np.ndarray:
        """(batch, g) real-valued gate read-offs; a gate is on when its read-off exceeds 0.5."""
        return self.hidden(active) @ self.readout.T + self.bias


def gate_layer(uand: UAnd, gates) -> GateLayer:
    """Read-offs for `gates`, a sequence of (input feature ids, truth table) pairs."""
    gates = [(tuple(int(f) for f in inputs), np.asarray(table)) for inputs, table in gates]
    problems, terms = [], []
    for n, (inputs, table) in enumerate(gates):
        if len(table) != 1 << len(inputs):
            problems.append(Diagnostic(f"gate {n}: {len(inputs)} inputs need a truth table of {1 << len(inputs)} "
                                       f"entries, got {len(table)}"))
            continue
        coefficients = mobius(table)
        widest = max((len(T) for T in coefficients), default=0)
        if widest > uand.k:
            problems.append(Diagnostic(
                f"gate {n} has fan-in {len(inputs)} with AND terms of {widest} inputs, "
                f"beyond this layer's k = {uand.k}",
                hint=f"build the U-AND layer with k >= {len(inputs)}, or split the gate into gates of fan-in {uand.k}"))
        if any(not 0 <= f < uand.m for f in inputs):
            problems.append(Diagnostic(f"gate {n} reads a feature outside 0..{uand.m - 1}: {list(inputs)}"))
        terms.append({tuple(inputs[i] for i in T): c for T, c in coefficients.items()})
    if problems:
        raise CircuitError(problems)
    singles = np.array(sorted({T[0] for t in terms for T in t if len(T) == 1}), dtype=np.int64)
    where = {f: i for i, f in enumerate(singles)}
    sets = sorted({T for t in terms for T in t if len(T) >= 2})
    vectors = uand.readout(np.array(sets)) if sets else np.zeros((0, uand.d), dtype=np.float32)
    row_of = {T: i for i, T in enumerate(sets)}
    readout = np.zeros((len(gates), uand.d + len(singles)), dtype=np.float32)
    bias = np.zeros(len(gates), dtype=np.float32)
    for n, t in enumerate(terms):
        for T, c in t.items():
            if not T:
                bias[n] += c
            elif len(T) == 1:
                readout[n, uand.d + where[T[0]]] += c
            else:
                readout[n, :uand.d] += c * vectors[row_of[T]]
    return GateLayer(uand, singles, readout, bias)
