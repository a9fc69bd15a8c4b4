"""The reference interpreter: what a circuit computes, the ground truth compiled networks are
checked against.

Entry points
------------
`evaluate_bits(c, X)` takes a (batch, n_input_bits) array in `c.input_bits` order and returns
(batch, n_output_bits) in `c.output_bits` order: uint8 0/1 for boolean circuits, float64 for MLPs.
`evaluate(c, {port: value})` does the same keyed by port name (conventions in its docstring),
`truth_table(c)` enumerates every input row, and `bits_to_int` / `int_to_bits` convert between
LSB-first bit vectors and integers.

How boolean circuits are evaluated
----------------------------------
The batch is bit-packed: each row of the batch is one bit lane of a uint64 word (np.packbits
along the batch axis, 64 rows per word), so one wire is a row of words and a gate is one bitwise
operation over all its samples at once. The wire values live in one (wires + 2, words) array;
the last two rows hold the constants ZERO and ONE.

Once per circuit (cached by object identity, see `graph.indexed`) an evaluation plan is built.
Gates are sorted by (topological level, family, arity) and renumbered so that each group of the
plan drives a contiguous block of wire rows. Evaluating is then a loop over groups, not over
gates or samples; each group is one numpy operation on an (n_gates, K, words) gather of its
argument rows, reduced straight into its block:

    family   gates                          padding   operation
    and      and                            ONE       bitwise_and over the K axis
    or       or, buf, 1-input and/xor/maj   ZERO      bitwise_or (K = 1: a plain gather)
    xor      xor, not (as xor(a, ONE))      ZERO      bitwise_xor
    maj      maj with 3+ inputs             ONE,ZERO  K = 3: (a & b) | (c & (a | b)); else a
                                            pairs     bit count against K // 2 (unpacked to
                                                      bytes when small, bit-sliced counters
                                                      when large)
    const    const0, const1                 -         fill

Padding an argument list with neutral wires lets gates of different arities share a group
(maj(args, 1, 0) = maj(args)). At each level a family is one group when padding to its longest
argument list at most doubles the gathers (plus a small slack); otherwise it is split into arity
classes ceil(log2(arity)). Wide circuits thus need a handful of groups per level and deep,
narrow ones pay about one numpy call per (level, family).

Every operation is lane-wise, so the padding lanes of the last word (a batch that is not a
multiple of 64) never reach real lanes; they are cut off when the outputs are unpacked (the
`count` of np.unpackbits). Large batches are processed in chunks of whole words so that the wire
array stays within `_CHUNK_BYTES` (less for plans with few steps).

MLP circuits are evaluated with float64 matmuls, `act(x @ W.T + b)` per layer, batched.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from .errors import CircuitError, Diagnostic, did_you_mean
from .graph import cached_per_circuit, check_acyclic, indexed
from .spec import OPS, BoolCircuit, Circuit, Gate, MLPCircuit, Op, Port

__all__ = ["evaluate_bits", "evaluate", "truth_table", "bits_to_int", "int_to_bits", "BoolTables", "MLPStack"]

_AND, _OR, _XOR, _NOT, _MAJ_OP, _BUF, _C0, _C1 = (OPS.index(op) for op in (
    Op.AND, Op.OR, Op.XOR, Op.NOT, Op.MAJ, Op.BUF, Op.CONST0, Op.CONST1))
_ONES = np.uint64(0xFFFF_FFFF_FFFF_FFFF)

# The wire array of one chunk (the batch is split into chunks of whole words) may take
# _CHUNK_BYTES_PER_STEP per plan step, clipped to [_MIN_CHUNK_BYTES, _CHUNK_BYTES]: plans with
# many small steps (deep circuits) need wide chunks to amortise numpy's per-call cost, while
# plans with few steps run as fast on chunks that touch less memory.
_CHUNK_BYTES = 128 << 20
_MIN_CHUNK_BYTES = 32 << 20
_CHUNK_BYTES_PER_STEP = 32 << 10


def _error(message: str, hint: str | None = None) -> CircuitError:
    return CircuitError(Diagnostic(message, hint=hint))


# --------------------------------------------------------------------------------------------
# The evaluation plan

# Step kinds of a plan.
_COPY, _BINARY, _REDUCE, _MAJ3, _MAJ, _FILL = range(6)
# Gate families: gates of one family at one level can share a step once their argument lists
# are padded to a common length with a neutral wire (ZERO for or/xor, ONE for and, ONE/ZERO
# pairs for maj). not(a) is xor(a, ONE); buf and one-input and/or/xor/maj are one-input ors.
_F_AND, _F_OR, _F_XOR, _F_MAJ, _F_C0, _F_C1 = range(6)
_FAMILY = np.empty(len(OPS), dtype=np.int8)
_FAMILY[[_AND, _OR, _XOR, _NOT, _BUF, _MAJ_OP, _C0, _C1]] = [_F_AND, _F_OR, _F_XOR, _F_XOR, _F_OR, _F_MAJ,
                                                             _F_C0, _F_C1]
_UFUNC = {_F_AND: np.bitwise_and, _F_OR: np.bitwise_or, _F_XOR: np.bitwise_xor}
# Padding a group's argument lists to its longest one costs gathers; groups are only merged
# across arities when the padded size stays within 2 * real + _PAD_SLACK slots.
_PAD_SLACK = 64


@dataclass(frozen=True, eq=False)
class _Plan:
    n_inputs: int
    n_rows: int          # wire rows: inputs, gates, then the ZERO and ONE rows
    # (kind, first row, end row, operation, operands) in evaluation order; see _run_plan
    steps: tuple[tuple[int, int, int, Any, Any], ...]
    outputs: np.ndarray  # wire rows of the output bits


def _plan(circuit: BoolCircuit) -> _Plan:
    return cached_per_circuit(circuit, "plan", _build_plan)


def _build_plan(circuit: BoolCircuit) -> _Plan:
    net = indexed(circuit)
    if not net.acyclic:
        check_acyclic(circuit)
    n_in, n_wires, n_gates = net.n_inputs, net.n_wires, net.n_gates
    ZERO, ONE = n_wires, n_wires + 1
    if n_gates == 0:
        return _Plan(n_in, n_wires + 2, (), net.out_idx.copy())
    # Per-gate and per-slot arrays are int32 and int8 where they fit, and each is dropped once
    # used: for a netlist of 10^6 gates this plan is the peak of an evaluation's memory.
    rows = np.int32 if n_wires + 2 < 1 << 31 else np.int64
    ops, arity = net.ops, net.arity
    fam = _FAMILY[ops]
    fam[(arity == 1) & (ops != _NOT)] = _F_OR
    is_not = ops == _NOT
    k = (arity + is_not).astype(np.int32)   # not(a) is read as xor(a, ONE): one slot more
    del arity

    # Sort by (level, family, arity); one (level, family) run becomes one step when padding it
    # is cheap, otherwise it is split by arity class ceil(log2(arity)).
    order = np.lexsort((k, fam, net.level[n_in:]))
    lv_s, fam_s, k_s = net.level[n_in:][order], fam[order], k[order]
    del fam
    run_start = np.flatnonzero(np.concatenate(([True], (np.diff(lv_s) != 0) | (np.diff(fam_s) != 0))))
    del lv_s
    run_len = np.diff(np.append(run_start, n_gates))
    run_max = np.maximum.reduceat(k_s, run_start)
    run_sum = np.add.reduceat(k_s, run_start, dtype=np.int64)
    merged = run_len * run_max <= 2 * run_sum + _PAD_SLACK
    # Every gate's step key: its run, and its arity class where the run is split by arity.
    key = np.repeat(np.arange(len(run_start), dtype=np.int64) << 6, run_len)
    split = ~np.repeat(merged, run_len)
    key[split] |= np.ceil(np.log2(np.maximum(k_s[split], 1))).astype(np.int64)
    step_start = np.flatnonzero(np.concatenate(([True], key[1:] != key[:-1])))
    del key, split
    step_len = np.diff(np.append(step_start, n_gates))
    step_k = k_s[np.append(step_start[1:], n_gates) - 1]     # the longest is the last

    # New row numbers: gates in sorted order, so each step drives a contiguous block.
    new_row = np.empty(n_wires + 2, dtype=rows)
    new_row[:n_in] = np.arange(n_in)
    new_row[n_in + order] = np.arange(n_in, n_wires)
    new_row[[ZERO, ONE]] = [ZERO, ONE]

    # All steps' padded (gates, K) argument matrices laid end to end in one flat array: first
    # every slot holds its family's padding, then each real argument is written to its slot.
    K_gate = np.repeat(step_k, step_len)
    slot_start = np.zeros(n_gates + 1, dtype=np.int64)
    np.cumsum(K_gate, out=slot_start[1:])
    fam_slot = np.repeat(fam_s, K_gate)
    flat = np.where(fam_slot == _F_AND, rows(ONE), rows(ZERO))
    maj = np.flatnonzero(fam_slot == _F_MAJ)
    del fam_slot
    if len(maj):                                           # pads after an odd count alternate 1, 0
        gate_of = np.searchsorted(slot_start, maj, side="right") - 1
        flat[maj[(maj - slot_start[gate_of]) % 2 == 1]] = ONE
        del gate_of
    # Where the arguments of gate g (original order) go: the slots of its sorted position.
    position = np.empty(n_gates, dtype=np.int64)
    position[order] = np.arange(n_gates)
    del order
    ptr = np.zeros(n_gates + 1, dtype=np.int64)
    np.cumsum(k, out=ptr[1:])
    shift = slot_start[position] - ptr[:-1]                # slot of a gate's j-th argument: ptr[g] + j + shift[g]
    del position
    dest = np.repeat(shift, k) + np.arange(int(ptr[-1]), dtype=np.int64)
    del shift
    args_flat = np.insert(net.arg_idx, net.arg_ptr[1:][is_not], ONE)
    flat[dest] = new_row[args_flat]
    del dest, args_flat

    steps = []
    for s0, n, K in zip(step_start.tolist(), step_len.tolist(), step_k.tolist()):
        f = int(fam_s[s0])
        lo, hi = n_in + s0, n_in + s0 + n
        a = flat[slot_start[s0]:slot_start[s0 + n]].reshape(n, K)
        if f in (_F_C0, _F_C1):
            steps.append((_FILL, lo, hi, None, np.uint64(0) if f == _F_C0 else _ONES))
        elif K == 1:
            steps.append((_COPY, lo, hi, None, a[:, 0].copy()))
        elif f == _F_MAJ:
            steps.append((_MAJ3 if K == 3 else _MAJ, lo, hi, None, a))
        elif K == 2:
            steps.append((_BINARY, lo, hi, _UFUNC[f], (a[:, 0].copy(), a[:, 1].copy())))
        else:
            steps.append((_REDUCE, lo, hi, _UFUNC[f], a))
    return _Plan(n_in, n_wires + 2, tuple(steps), new_row[net.out_idx])


# A majority over fewer words than this unpacks to one byte per bit and sums; above it, the
# arguments are added as bit-sliced counters (no 64x expansion).
_MAJ_UNPACK_WORDS = 1 << 16


def _majority(x: np.ndarray, out: np.ndarray) -> None:
    """Bitwise majority over axis 1 of an (n, k, words) array, k odd, written to `out`."""
    n, k, words = x.shape
    if x.size <= _MAJ_UNPACK_WORDS and k < 1 << 16:
        count = np.unpackbits(x.view(np.uint8), axis=2).sum(axis=1, dtype=np.uint16)
        out[...] = np.packbits(count > k // 2, axis=1).view(np.uint64)
        return
    nbits = k.bit_length()
    count = [np.zeros_like(x[:, 0]) for _ in range(nbits)]   # bit planes, LSB first
    for j in range(k):
        carry = x[:, j]
        for i in range(min(nbits, j.bit_length() + 1)):
            count[i], carry = count[i] ^ carry, count[i] & carry
    threshold = k // 2                                       # majority: count > threshold
    greater = np.zeros_like(count[0])
    equal = np.full_like(count[0], _ONES)
    for i in reversed(range(nbits)):
        if (threshold >> i) & 1:
            equal &= count[i]
        else:
            greater |= equal & count[i]
            equal &= ~count[i]
    out[...] = greater


def _run_plan(plan: _Plan, wires: np.ndarray) -> None:
    """Evaluate every step on `wires` (n_rows, words), whose input rows are already filled."""
    wires[-2].fill(0)
    wires[-1].fill(_ONES)
    take = wires.take
    for kind, lo, hi, ufunc, operands in plan.steps:
        out = wires[lo:hi]
        if kind == _BINARY:
            ufunc(wires[operands[0]], wires[operands[1]], out=out)
        elif kind == _COPY:
            take(operands, axis=0, out=out, mode="clip")
        elif kind == _REDUCE:
            ufunc.reduce(wires[operands], axis=1, out=out)
        elif kind == _MAJ3:
            x = wires[operands]
            a, b, c = x[:, 0], x[:, 1], x[:, 2]
            np.bitwise_or(a & b, c & (a | b), out=out)
        elif kind == _MAJ:
            _majority(wires[operands], out)
        else:
            out.fill(operands)


def _evaluate_bool(circuit: BoolCircuit, X: np.ndarray) -> np.ndarray:
    plan = _plan(circuit)
    batch = X.shape[0]
    n_out = len(plan.outputs)
    result = np.empty((batch, n_out), dtype=np.uint8)
    if batch == 0:
        return result
    words_total = -(-batch // 64)
    budget = min(_CHUNK_BYTES, max(_MIN_CHUNK_BYTES, _CHUNK_BYTES_PER_STEP * len(plan.steps)))
    chunk_words = max(1, min(words_total, budget // (8 * plan.n_rows)))
    wires = np.empty((plan.n_rows, chunk_words), dtype=np.uint64)
    packed = np.zeros((plan.n_inputs, chunk_words * 8), dtype=np.uint8)
    for w0 in range(0, words_total, chunk_words):
        w1 = min(w0 + chunk_words, words_total)
        r0, r1 = w0 * 64, min(w1 * 64, batch)
        nw = w1 - w0
        block = wires if nw == chunk_words else np.empty((plan.n_rows, nw), dtype=np.uint64)
        if plan.n_inputs:
            bits = np.packbits(X[r0:r1].T, axis=1, bitorder="little")
            packed.fill(0)
            packed[:, :bits.shape[1]] = bits
            block[:plan.n_inputs] = packed[:, :nw * 8].view(np.uint64)
        _run_plan(plan, block)
        out_words = block[plan.outputs]
        out_bits = np.unpackbits(out_words.view(np.uint8), axis=1, count=r1 - r0, bitorder="little")
        result[r0:r1] = out_bits.T
    return result


def _evaluate_mlp(circuit: MLPCircuit, X: np.ndarray) -> np.ndarray:
    h = X
    for layer in circuit.layers:
        h = h @ layer.weights.T + layer.bias
        if layer.activation == "relu":
            np.maximum(h, 0.0, out=h)
    return h


class MLPStack:
    """MLP circuits of one shape (the same layer shapes and activations), evaluated together: every
    layer's weights and biases stacked once, so a batch of rows, each naming its circuit, is one
    batched product per layer instead of one evaluation per circuit."""

    def __init__(self, circuits: Sequence[MLPCircuit]):
        for c in circuits:
            _check_mlp(c)
        self.acts = [layer.activation for layer in circuits[0].layers]
        self.weights = [np.stack([c.layers[l].weights for c in circuits]) for l in range(len(self.acts))]
        self.biases = [np.stack([c.layers[l].bias for c in circuits]) for l in range(len(self.acts))]

    @classmethod
    def of(cls, circuits: Sequence[Circuit]) -> "MLPStack | None":
        """The stack of `circuits`, or None unless they are MLP circuits of one shape."""
        if not circuits or not all(isinstance(c, MLPCircuit) for c in circuits):
            return None
        shape = [(layer.activation, layer.weights.shape) for layer in circuits[0].layers]
        if any([(layer.activation, layer.weights.shape) for layer in c.layers] != shape for c in circuits[1:]):
            return None
        return cls(circuits)

    def evaluate(self, which: np.ndarray, X: np.ndarray) -> np.ndarray:
        """Row r of X (rows, n_inputs) through circuit `which[r]`: (rows, n_outputs) float64, the
        same values `evaluate_bits` gives circuit by circuit."""
        h = np.asarray(X, dtype=np.float64)
        for act, W, b in zip(self.acts, self.weights, self.biases):
            h = np.einsum("rij,rj->ri", W[which], h) + b[which]
            if act == "relu":
                np.maximum(h, 0.0, out=h)
        return h


class BoolTables:
    """Many small boolean circuits evaluated by table: every circuit's truth table, computed once by
    evaluating all of them side by side as one netlist over k shared inputs (circuit t reads the
    first of them), so a batch of rows, each naming its circuit, is one gather instead of one
    evaluation per circuit. `tables` (circuits, 2^k, n_out_max) uint8: row m sets input i to bit
    k − 1 − i of m; a circuit with n < k inputs is read at the rows whose last k − n bits are 0."""

    # Tables stay small: 10^4 circuits of 4 inputs and 3 outputs take 480 KB.
    MAX_ENTRIES = 1 << 26
    MAX_INPUTS = 16

    def __init__(self, circuits: Sequence[BoolCircuit]):
        self.k = max([1] + [len(c.input_bits) for c in circuits])
        self.n_inputs = np.array([len(c.input_bits) for c in circuits], dtype=np.int64)
        gates: list = []
        outs: list[str] = []
        for t, c in enumerate(circuits):
            rename = {b: f"x[{i}]" for i, b in enumerate(c.input_bits)}

            def wire(w: str, t=t, rename=rename) -> str:
                return rename.get(w) or f"{t}:{w}"

            gates += [Gate(wire(g.out), g.op, tuple(wire(a) for a in g.args)) for g in c.gates]
            outs += [wire(b) for b in c.output_bits]
        gates += [Gate(f"o[{j}]", Op.BUF, (w,)) for j, w in enumerate(outs)]
        together = BoolCircuit("side by side", (Port("x", self.k),), (Port("o", len(outs)),), tuple(gates))
        _, Y = truth_table(together, max_inputs=self.MAX_INPUTS)
        n_out = [len(c.output_bits) for c in circuits]
        self.tables = np.zeros((len(circuits), 1 << self.k, max([1] + n_out)), dtype=np.uint8)
        start = 0
        for t, m in enumerate(n_out):
            self.tables[t, :, :m] = Y[:, start:start + m]
            start += m

    @classmethod
    def of(cls, circuits: Sequence[Circuit]) -> "BoolTables | None":
        """The tables of `circuits`, or None unless they are boolean circuits (not over a feature
        set) of at most MAX_INPUTS inputs whose tables hold at most MAX_ENTRIES entries."""
        if not circuits or not all(isinstance(c, BoolCircuit) and c.features is None for c in circuits):
            return None
        k = max([1] + [len(c.input_bits) for c in circuits])
        n_out = max([1] + [len(c.output_bits) for c in circuits])
        if k > cls.MAX_INPUTS or len(circuits) * (1 << k) * n_out > cls.MAX_ENTRIES:
            return None
        return cls(circuits)

    def rows(self, which: np.ndarray, X: np.ndarray) -> np.ndarray:
        """The table row of each input row X (rows, >= k columns, 0/1 values) of circuit `which[r]`:
        its own inputs as the leading bits of k, the rest read as 0."""
        X = np.asarray(X)[:, : self.k]
        bits = np.arange(X.shape[1])
        own = bits[None, :] < self.n_inputs[which][:, None]
        return ((own & (X != 0)).astype(np.int64) << (self.k - 1 - bits)).sum(axis=1)

    def evaluate(self, which: np.ndarray, X: np.ndarray) -> np.ndarray:
        """Row r of X (rows, n_inputs_max, 0/1 values) through circuit `which[r]`: (rows, n_out_max)
        float64, the same values `evaluate_bits` gives circuit by circuit (0 past a circuit's own
        outputs)."""
        return self.tables[which, self.rows(which, X)].astype(np.float64)


def _check_mlp(circuit: MLPCircuit) -> None:
    cached_per_circuit(circuit, "mlp-checked", lambda c: c.check())


# --------------------------------------------------------------------------------------------
# Public API

def evaluate_bits(circuit: Circuit, X: Any) -> np.ndarray:
    """Run the circuit on a batch of input rows.

    X: (batch, n_input_bits), columns in `circuit.input_bits` order; 0/1 values (bool or any
    numeric dtype) for a boolean circuit, reals for an MLP. Returns (batch, n_output_bits) in
    `circuit.output_bits` order: uint8 0/1 for a boolean circuit, float64 for an MLP.
    """
    X = np.asarray(X)
    n_in = len(circuit.input_bits)
    if X.ndim != 2 or X.shape[1] != n_in:
        raise _error(f"`{circuit.name}` takes rows of {n_in} input bits: expected an array of shape "
                     f"(batch, {n_in}), got shape {X.shape}")
    if isinstance(circuit, MLPCircuit):
        _check_mlp(circuit)
        try:
            Xf = X.astype(np.float64)
        except (TypeError, ValueError):
            raise _error(f"`{circuit.name}` takes real inputs, got an array of {X.dtype}") from None
        return _evaluate_mlp(circuit, Xf)
    if X.dtype == np.bool_:
        Xb = X.view(np.uint8)
    else:
        if X.dtype.kind not in "biuf":
            raise _error(f"`{circuit.name}` takes 0/1 inputs, got an array of {X.dtype}")
        bad = (X != 0) & (X != 1)
        if bad.any():
            r, c = np.argwhere(bad)[0]
            raise _error(f"`{circuit.name}` takes 0/1 inputs, but row {r}, column {c} "
                         f"(`{circuit.input_bits[c]}`) is {X[r, c]!r}")
        Xb = X.astype(np.uint8, copy=False)
    return _evaluate_bool(circuit, np.ascontiguousarray(Xb))


def bits_to_int(bits: Any) -> np.ndarray:
    """Read the last axis as LSB-first bits: (..., w) -> (...) integers (bit i is worth 2**i).
    int64 for w <= 63, otherwise an object array of Python ints."""
    b = np.asarray(bits)
    if b.ndim == 0:
        raise _error("bits_to_int needs an array whose last axis holds the bits")
    if b.size and b.dtype != np.bool_ and ((b != 0) & (b != 1)).any():
        raise _error("bits_to_int takes 0/1 values")
    w = b.shape[-1]
    b = b.astype(np.int64)
    if w <= 63:
        return (b << np.arange(w, dtype=np.int64)).sum(axis=-1)
    out = np.zeros(b.shape[:-1], dtype=object)
    for i in range(w):
        out = out + (b[..., i].astype(object) << i)
    return out


def int_to_bits(values: Any, width: int) -> np.ndarray:
    """Non-negative integers < 2**width -> (..., width) uint8 bits, LSB first (bit i =
    (v >> i) & 1). CircuitError for negative, too large or non-integer values."""
    v = np.asarray(values)
    if v.dtype == object:
        flat = v.reshape(-1).tolist()
        if not all(isinstance(x, (int, np.integer)) and not isinstance(x, bool) for x in flat):
            raise _error(f"expected integers for a {width}-bit value")
        bad = [x for x in flat if not 0 <= int(x) < (1 << width)]
        if bad:
            raise _error(f"{bad[0]} does not fit in {width} bits (allowed: 0 .. {(1 << width) - 1})")
        bits = np.array([[(int(x) >> i) & 1 for i in range(width)] for x in flat], dtype=np.uint8)
        return bits.reshape(v.shape + (width,))
    if v.dtype.kind not in "biu":
        raise _error(f"expected integers for a {width}-bit value, got {v.dtype}")
    if v.dtype.kind == "i" and (v < 0).any():
        raise _error(f"{v[v < 0].reshape(-1)[0]} does not fit in {width} bits (negative)")
    v = v.astype(np.uint64)
    if width < 64 and (v >> np.uint64(width)).any():
        big = v[(v >> np.uint64(width)) != 0].reshape(-1)[0]
        raise _error(f"{big} does not fit in {width} bits (allowed: 0 .. {(1 << width) - 1})")
    shifts = np.arange(min(width, 64), dtype=np.uint64)
    bits = np.zeros(v.shape + (width,), dtype=np.uint8)
    bits[..., :len(shifts)] = (v[..., None] >> shifts) & np.uint64(1)
    return bits


def _port_columns(circuit: Circuit, port: Port, value: Any) -> np.ndarray:
    """One port's value as a (b, size) array; b == 1 when it is unbatched (it broadcasts)."""
    v = np.asarray(value)
    where = f"input `{port.name}`"
    if isinstance(circuit, MLPCircuit):
        try:
            v = v.astype(np.float64)
        except (TypeError, ValueError):
            raise _error(f"{where} takes real values, got {value!r}") from None
        if port.width is None:
            if v.ndim > 1:
                raise _error(f"{where} is a scalar: give a number or a 1-D batch, got shape {v.shape}")
            return v.reshape(-1, 1)
        if v.ndim == 1 and v.shape[0] == port.width:
            return v.reshape(1, -1)
        if v.ndim == 2 and v.shape[1] == port.width:
            return v
        raise _error(f"{where} has width {port.width}: give shape ({port.width},) or "
                     f"(batch, {port.width}), got shape {v.shape}")
    if port.width is None:
        if v.ndim > 1:
            raise _error(f"{where} is a single bit: give 0/1 or a 1-D batch of 0/1, got shape {v.shape}")
        cols = v.reshape(-1, 1)
    elif v.ndim == 2:
        if v.shape[1] != port.width:
            raise _error(f"{where} has width {port.width}: a 2-D value must have shape "
                         f"(batch, {port.width}), got {v.shape}",
                         hint="or give integers (a scalar or 1-D batch), read LSB first")
        cols = v
    elif v.ndim <= 1:
        try:
            return int_to_bits(v.reshape(-1), port.width)
        except CircuitError as e:
            raise _error(f"{where}: {e.diagnostics[0].message}",
                         hint=f"a {port.width}-bit input takes integers 0 .. {(1 << port.width) - 1} "
                         f"or a (batch, {port.width}) array of bits") from None
    else:
        raise _error(f"{where} has width {port.width}: give integers or a (batch, {port.width}) "
                     f"array of bits, got shape {v.shape}")
    if cols.dtype == object or cols.dtype.kind not in "biuf":
        raise _error(f"{where} takes 0/1 bits, got {value!r}")
    bad = (cols != 0) & (cols != 1)
    if bad.any():
        raise _error(f"{where} takes 0/1 bits, got {cols[bad][0]!r}")
    return cols.astype(np.uint8)


def evaluate(circuit: Circuit, inputs: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Run the circuit on named inputs; returns {output port name: array}.

    Boolean circuits:
      * a scalar port takes 0/1 (bool or number) or a 1-D batch of them;
      * a vector port of width w takes either a (batch, w) array of bits (column i = bit i), or
        integers 0 <= v < 2**w — a scalar or a 1-D batch — read LSB first (bit i = (v >> i) & 1).
        A 1-D array is always a batch of integers: pass one row of bits as shape (1, w).
      * a circuit `over` a feature set takes the feature vector on its only input port, which
        may also be named by the feature set's name.
    MLP circuits: a scalar port takes a real or a 1-D batch; a vector port of width w takes a
    (batch, w) array, or a length-w 1-D array for a single sample.

    Unbatched values (and batches of one) broadcast against the others; with no batched input
    the batch is 1. Outputs are always batched: a scalar port gives shape (batch,), a vector
    port (batch, w); uint8 bits for boolean circuits, float64 for MLPs. Missing, unknown or
    malformed inputs raise CircuitError.
    """
    X = input_matrix(circuit, inputs)
    Y = evaluate_bits(circuit, X)
    return split_outputs(circuit, Y)


def split_outputs(circuit: Circuit, Y: np.ndarray) -> dict[str, np.ndarray]:
    """Output rows `Y` (batch, len(circuit.output_bits)) by output port: (batch,) for a scalar
    port, (batch, w) for a vector (copies, in `circuit.outputs` order)."""
    out: dict[str, np.ndarray] = {}
    col = 0
    for port in circuit.outputs:
        block = Y[:, col:col + port.size]
        out[port.name] = block[:, 0].copy() if port.width is None else block.copy()
        col += port.size
    return out


def input_matrix(circuit: Circuit, inputs: Mapping[str, Any]) -> np.ndarray:
    """The (batch, len(circuit.input_bits)) input rows of named inputs, as `evaluate` reads them
    (uint8 bits, or float64 for an MLP); every missing, unknown or malformed input is one problem
    of the CircuitError raised."""
    ports = {p.name: p for p in circuit.inputs}
    aliases: dict[str, str] = {}
    features = getattr(circuit, "features", None)
    if features is not None and len(circuit.inputs) == 1 and features not in ports:
        aliases[features] = circuit.inputs[0].name
    problems: list[Diagnostic] = []
    given: dict[str, Any] = {}
    for key, value in inputs.items():
        name = aliases.get(key, key)
        if name not in ports:
            hint = did_you_mean(key, list(ports) + list(aliases)) or \
                f"inputs of `{circuit.name}`: {', '.join(ports) or 'none'}"
            problems.append(Diagnostic(f"`{circuit.name}` has no input named `{key}`", hint=hint))
        elif name in given:
            problems.append(Diagnostic(f"input `{name}` is given twice (as `{key}` too)"))
        else:
            given[name] = value
    missing = [p for p in ports if p not in given]
    if missing:
        problems.append(Diagnostic(f"missing input{'s' if len(missing) > 1 else ''} for "
                                   f"`{circuit.name}`: {', '.join(missing)}"))
    cols = []
    for port in circuit.inputs:
        if port.name in given:
            try:
                cols.append(_port_columns(circuit, port, given[port.name]))
            except CircuitError as e:
                problems.extend(e.diagnostics)
    if problems:
        raise CircuitError(problems)
    sizes = {c.shape[0] for c in cols} - {1}
    if len(sizes) > 1:
        detail = ", ".join(f"`{p.name}`: {c.shape[0]}" for p, c in zip(circuit.inputs, cols) if c.shape[0] != 1)
        raise _error(f"inputs of `{circuit.name}` have different batch sizes ({detail})")
    batch = sizes.pop() if sizes else 1
    dtype = np.float64 if isinstance(circuit, MLPCircuit) else np.uint8
    X = np.empty((batch, len(circuit.input_bits)), dtype=dtype)
    col = 0
    for c in cols:
        X[:, col:col + c.shape[1]] = c
        col += c.shape[1]
    return X


MAX_TRUTH_TABLE_BITS = 30      # 2**30 rows of 30 bits: 30 GiB, beyond any machine this runs on


def rows_text(n: int) -> str:
    """2**n as text: exactly while it stays short, else its order of magnitude (never building a
    huge decimal string)."""
    return f"2**{n} = {1 << n:,}" if n <= 64 else f"2**{n} (about 10^{int(n * math.log10(2))})"


def truth_table(circuit: Circuit, max_inputs: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """Every input row and its outputs: (X, Y) with X of shape (2**n, n) uint8.

    Rows count in binary with the first input bit most significant: row r has input bit i equal
    to (r >> (n - 1 - i)) & 1, so row 1 sets only the last input bit. Y is `evaluate_bits(X)`
    (an MLP is evaluated on the 0/1 corners). CircuitError when n exceeds `max_inputs`.
    """
    n = len(circuit.input_bits)
    if n > min(max_inputs, MAX_TRUTH_TABLE_BITS):
        limit = (f"the limit of {max_inputs} input bits" if max_inputs <= MAX_TRUTH_TABLE_BITS else
                 f"the {MAX_TRUTH_TABLE_BITS} input bits a truth table can have here (2**{MAX_TRUTH_TABLE_BITS} rows "
                 f"already take {(1 << MAX_TRUTH_TABLE_BITS) * MAX_TRUTH_TABLE_BITS >> 30} GiB)")
        raise _error(f"`{circuit.name}` has {n} input bits: a truth table would have {rows_text(n)} rows, "
                     f"above {limit}", hint="evaluate a sample of rows with evaluate_bits")
    word = ">u4" if n <= 32 else ">u8"                 # big-endian: most significant bit first
    r = np.arange(1 << n, dtype=word)
    X = np.unpackbits(r.view(np.uint8).reshape(1 << n, -1), axis=1)[:, 8 * r.itemsize - n:]
    X = np.ascontiguousarray(X)
    return X, evaluate_bits(circuit, X)
