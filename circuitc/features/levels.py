"""A boolean circuit over a feature set → gate levels, the form a deep feature network computes.

A feature circuit is compiled level by level (math.md §2, docs/features.md): network layer ℓ
reads the wires of level ℓ − 1 and computes those of level ℓ. This module decides the levels:

- **Stored polarity.** Every wire is kept as the value that is 0 when no feature is on: a wire
  that is 1 on the empty input (`~f[3]`, an OR with a negated input) is stored negated and
  flipped back wherever it is read. So every level stays as sparse as the features, and every
  gate is a truth table over stored inputs with table[0] = 0, whose Möbius expansion has no
  constant term.
- **Free gates.** NOT and BUF cost nothing: they alias their input with a polarity. Constants
  are folded into the tables that read them; a gate whose table comes out constant, or a plain
  copy of one input, becomes a constant or an alias too.
- **Fan-in.** Gates read at most `k` distinct wires. A wider AND, OR or XOR is split into a
  balanced tree of gates of fan-in <= k (extra levels); a wider MAJ is refused with the fix.
- **Carries.** A wire read more than one level later, or an output computed before the last
  level, is copied forward by BUF gates, one per level between.

`levels_of(circuit, m, k)` returns `Levels`; `Levels.evaluate` computes every level's stored
values exactly (the ground truth the network's read-offs are checked against, itself checked
against the reference interpreter in the tests).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ..errors import CircuitError, Diagnostic
from ..graph import check_acyclic, indexed
from ..spec import BoolCircuit, Op

__all__ = ["Level", "Levels", "levels_of", "gate_table", "mobius_rows"]

_ASSOCIATIVE = (Op.AND, Op.OR, Op.XOR)


def gate_table(op: Op, n: int) -> np.ndarray:
    """The truth table (2^n,) uint8 of `op` over n inputs; entry j has input i = bit i of j."""
    ones = np.array([bin(j).count("1") for j in range(1 << n)], dtype=np.int64)
    if op is Op.AND:
        return (ones == n).astype(np.uint8)
    if op is Op.OR:
        return (ones > 0).astype(np.uint8)
    if op is Op.XOR:
        return (ones % 2).astype(np.uint8)
    if op is Op.MAJ:
        return (2 * ones > n).astype(np.uint8)
    if op is Op.BUF:
        return np.array([0, 1], dtype=np.uint8)
    if op is Op.NOT:
        return np.array([1, 0], dtype=np.uint8)
    raise ValueError(f"no table for {op}")


def mobius_rows(tables: np.ndarray) -> np.ndarray:
    """Möbius coefficients of many truth tables at once: (g, 2^k) int64, entry j is c_T for the
    input set T = the bits of j (math.md §2.2)."""
    c = np.asarray(tables, dtype=np.int64).copy()
    size = c.shape[1]
    idx = np.arange(size)
    bit = 1
    while bit < size:
        has = (idx & bit) != 0
        c[:, has] -= c[:, idx[has] ^ bit]
        bit <<= 1
    return c


@dataclass(frozen=True, eq=False)
class Level:
    """The wires of one level. Wire j reads `inputs[j, :arity[j]]` (wires of the level before)
    and stores `tables[j][x]`, x the stored inputs as bits; tables are padded to 2^k entries
    (a gate of fewer inputs ignores the high bits)."""

    inputs: np.ndarray     # (g, k) int64, -1 padded
    arity: np.ndarray      # (g,) int64
    tables: np.ndarray     # (g, 2^k) uint8
    names: tuple[str, ...]  # the circuit wire each carries (a carry repeats the name)
    carry: np.ndarray      # (g,) bool: a copy of a wire of the level before

    @property
    def width(self) -> int:
        return len(self.names)

    @cached_property
    def terms(self) -> np.ndarray:
        """(g, 2^k) Möbius coefficients over the stored inputs (computed once: the width model and
        the read-offs all read them)."""
        return mobius_rows(self.tables)


@dataclass(frozen=True, eq=False)
class Levels:
    """A feature circuit as levels. Level 0 is the m features; `levels[i]` is level i + 1.
    Output bit o is `const[o]` when `wire[o] < 0`, else stored wire `wire[o]` of the last
    level, negated when `negate[o]`."""

    circuit: str
    m: int
    k: int
    levels: tuple[Level, ...]
    out_wire: np.ndarray    # (n_out,) int64
    out_negate: np.ndarray  # (n_out,) bool
    out_const: np.ndarray   # (n_out,) uint8
    output_bits: tuple[str, ...]

    @property
    def depth(self) -> int:
        return len(self.levels)

    @property
    def widths(self) -> list[int]:
        return [self.m] + [lv.width for lv in self.levels]

    def evaluate(self, features: np.ndarray) -> list[np.ndarray]:
        """Exact stored values of every level for 0/1 feature rows (batch, m): a list of
        (batch, width) uint8 arrays, level 0 first."""
        x = np.asarray(features, dtype=np.uint8)
        values = [x]
        for lv in self.levels:
            index = np.zeros((x.shape[0], lv.width), dtype=np.int64)
            for i in range(lv.inputs.shape[1]):
                used = lv.arity > i
                index[:, used] |= x[:, lv.inputs[used, i]].astype(np.int64) << i
            x = np.take_along_axis(lv.tables[None, :, :], index[:, :, None], axis=2)[:, :, 0]
            values.append(x)
        return values

    def outputs(self, last: np.ndarray) -> np.ndarray:
        """Output bits (batch, n_out) uint8 from the last level's stored values (or reals
        thresholded at 1/2)."""
        last = np.asarray(last)
        bits = (last > 0.5) if last.dtype.kind == "f" else last.astype(bool)
        wire = np.maximum(self.out_wire, 0)
        out = bits[:, wire] ^ self.out_negate[None, :]
        return np.where(self.out_wire[None, :] >= 0, out, self.out_const[None, :].astype(bool)).astype(np.uint8)

    def single_feature_runs(self, chunk: int = 2048):
        """For chunks of features, each on alone: (feature ids, per-level (c, width) bool arrays
        of the wires it switches on). Chunked so that m features never make an m × m array."""
        for f0 in range(0, self.m, chunk):
            ids = np.arange(f0, min(f0 + chunk, self.m))
            rows = np.zeros((len(ids), self.m), dtype=np.uint8)
            rows[np.arange(len(ids)), ids] = 1
            yield ids, [v.astype(bool) for v in self.evaluate(rows)]

    def single_counts(self) -> np.ndarray:
        """(depth + 1, m): the wires of each level that each feature switches on alone."""
        out = np.zeros((self.depth + 1, self.m), dtype=np.int64)
        for ids, values in self.single_feature_runs():
            for level, v in enumerate(values):
                out[level, ids] = v.sum(axis=1)
        return out

    def on_counts(self, s: int) -> list[int]:
        """Per level, the most wires that s features switch on when each is on alone: the
        sum of the s largest single-feature counts. A level can hold more where two on
        features meet in a gate; verify measures the real counts."""
        return [int(np.sort(c)[::-1][:s].sum()) for c in self.single_counts()]


# A wire reference while levelling: (slot of a real wire or feature, negated) or a constant.
_Ref = tuple  # ("wire", slot, negated) | ("const", value)


class _Leveller:
    def __init__(self, circuit: BoolCircuit, m: int, k: int):
        self.circuit, self.m, self.k = circuit, m, k
        self.level: list[int] = [0] * m           # level of each real slot (features first)
        self.gates: list[tuple[list[int], np.ndarray, str]] = [None] * m  # (input slots, table, name)
        self.refs: dict[str, _Ref] = {b: ("wire", i, False) for i, b in enumerate(circuit.input_bits)}

    def new_gate(self, slots: list[int], table: np.ndarray, name: str) -> _Ref:
        """A real gate over distinct stored slots; stored with the polarity that makes table[0] = 0."""
        negated = bool(table[0])
        if negated:
            table = 1 - table
        self.gates.append((slots, table.astype(np.uint8), name))
        self.level.append(1 + max(self.level[s] for s in slots))
        return ("wire", len(self.gates) - 1, negated)

    def combine(self, refs: list[_Ref], table: np.ndarray, name: str) -> _Ref:
        """The reference for `table` applied to `refs`: constants folded, duplicates merged,
        polarities absorbed, and trivial results turned into constants or aliases."""
        slots: list[int] = []
        for r in refs:
            if r[0] == "wire" and r[1] not in slots:
                slots.append(r[1])
        # the original inputs as functions of the distinct stored slots
        u = np.arange(1 << len(slots))
        col = np.zeros(len(u), dtype=np.int64)
        for i, r in enumerate(refs):
            if r[0] == "const":
                value = np.full(len(u), r[1], dtype=np.int64)
            else:
                value = ((u >> slots.index(r[1])) & 1) ^ int(r[2])
            col |= value << i
        reduced = np.asarray(table)[col]
        # drop slots the reduced table does not depend on
        keep = [i for i in range(len(slots))
                if not np.array_equal(reduced[(u >> i) & 1 == 0], reduced[(u >> i) & 1 == 1])]
        if len(keep) < len(slots):
            base = np.zeros(1 << len(keep), dtype=np.int64)
            for new, old in enumerate(keep):
                base |= ((np.arange(1 << len(keep)) >> new) & 1) << old
            reduced, slots = reduced[base], [slots[i] for i in keep]
        if not slots:
            return ("const", int(reduced[0]))
        if len(slots) == 1:
            return ("wire", slots[0], bool(reduced[0]))   # a copy or a negation
        if len(slots) > self.k:
            return None
        return self.new_gate(slots, reduced, name)

    def gate(self, g) -> None:
        refs = [self.refs[a] for a in g.args]
        if g.op in (Op.CONST0, Op.CONST1):
            self.refs[g.out] = ("const", int(g.op is Op.CONST1))
            return
        result = self.combine(refs, gate_table(g.op, len(refs)), g.out)
        if result is None:                  # wider than k after simplification
            if g.op not in _ASSOCIATIVE:
                raise CircuitError(Diagnostic(
                    f"gate `{g.out}` ({g.op} of {len(refs)} inputs) reads more than k = {self.k} wires",
                    g.span, hint=f"compile with a fan-in k >= {len(refs)} (`--fan-in {len(refs)}`), "
                                 f"or split the gate into gates of at most {self.k} inputs"))
            result = self.tree(g.op, refs, g.out)
        self.refs[g.out] = result

    def tree(self, op: Op, refs: list[_Ref], name: str) -> _Ref:
        """`op` over many inputs as a balanced tree of gates of fan-in <= k."""
        part = 0
        while len(refs) > self.k:
            chunks = [refs[i:i + self.k] for i in range(0, len(refs), self.k)]
            refs = []
            for chunk in chunks:
                part += 1
                refs.append(self.combine(chunk, gate_table(op, len(chunk)), f"{name}~{part}"))
        return self.combine(refs, gate_table(op, len(refs)), name)


def _order(circuit: BoolCircuit):
    net = indexed(circuit)
    order = np.argsort(net.level[net.n_inputs:], kind="stable")
    return [circuit.gates[i] for i in order]


def levels_of(circuit: BoolCircuit, m: int, k: int = 2) -> Levels:
    """Level a circuit whose inputs are the m feature bits (in feature order)."""
    if k < 2:
        raise CircuitError(Diagnostic(f"the fan-in k must be 2 or more, got {k}"))
    check_acyclic(circuit)
    if len(circuit.input_bits) != m:
        raise CircuitError(Diagnostic(f"`{circuit.name}` reads {len(circuit.input_bits)} input bits, "
                                      f"but its feature set has {m} features", circuit.span))
    lv = _Leveller(circuit, m, k)
    for g in _order(circuit):
        lv.gate(g)
    outs = [lv.refs[b] for b in circuit.output_bits]
    depth = max([lv.level[r[1]] for r in outs if r[0] == "wire"] + [1])
    return _layer(lv, outs, depth, circuit)


def _layer(lv: _Leveller, outs: list[_Ref], depth: int, circuit: BoolCircuit) -> Levels:
    """Assign every needed slot a position at each level it must be present in (carries)."""
    need: dict[int, int] = {}              # slot → last level it must be present at
    for r in outs:
        if r[0] == "wire":
            need[r[1]] = depth
    # walk gates from the last: a gate at level L needs its inputs present at L - 1
    for slot in sorted(range(len(lv.gates)), key=lambda s: -lv.level[s]):
        if slot in need and slot >= lv.m:
            for a in lv.gates[slot][0]:
                need[a] = max(need.get(a, 0), lv.level[slot] - 1)
    # present[ℓ] = ordered slots present at level ℓ
    present: list[list[int]] = [[] for _ in range(depth + 1)]
    for slot in sorted(need):
        for level in range(lv.level[slot], need[slot] + 1):
            present[level].append(slot)
    present[0] = list(range(lv.m))
    levels = []
    for level in range(1, depth + 1):
        before = {s: i for i, s in enumerate(present[level - 1])}
        g = len(present[level])
        inputs = np.full((g, lv.k), -1, dtype=np.int64)
        arity = np.zeros(g, dtype=np.int64)
        tables = np.zeros((g, 1 << lv.k), dtype=np.uint8)
        carry = np.zeros(g, dtype=bool)
        names = []
        j_all = np.arange(1 << lv.k)
        for j, slot in enumerate(present[level]):
            if lv.level[slot] < level:          # carried from the level before
                inputs[j, 0], arity[j], carry[j] = before[slot], 1, True
                tables[j] = j_all & 1
            else:
                slots, table, _ = lv.gates[slot]
                inputs[j, :len(slots)] = [before[s] for s in slots]
                arity[j] = len(slots)
                tables[j] = table[j_all & ((1 << len(slots)) - 1)]
            names.append(lv.gates[slot][2] if slot >= lv.m else circuit.input_bits[slot])
        levels.append(Level(inputs, arity, tables, tuple(names), carry))
    last = {s: i for i, s in enumerate(present[depth])}
    out_wire = np.array([last[r[1]] if r[0] == "wire" else -1 for r in outs], dtype=np.int64)
    out_negate = np.array([bool(r[2]) if r[0] == "wire" else False for r in outs], dtype=bool)
    out_const = np.array([r[1] if r[0] == "const" else 0 for r in outs], dtype=np.uint8)
    return Levels(circuit.name, lv.m, lv.k, tuple(levels), out_wire, out_negate, out_const,
                  circuit.output_bits)
