"""An experiment: different boolean circuits whose *gates* share hidden neurons.

The lookup construction (docs/lowering.md) holds thousands of different circuits exactly, but its
hidden layers compute the same minterms for all of them. This script measures the direction the
papers take instead: every hidden layer is the sum of per-circuit components, W^l = Σ_t C_t^l,
each C_t^l holding circuit t's own gates. It is a measurement, not a construction of the
compiler; docs/lowering.md ("Different circuits whose gates share neurons") records its figures
and math.md §4.6 the count that explains them.

The network. Neurons come in blocks of d = 2 + 4w (w gates per level). Every circuit has S blocks
at every layer, drawn at random per layer (the papers' per-layer reshuffling). Layer 0 encodes
each instance's on-indicator and inputs into its blocks, with the routed construction's
collision wipe (a block two active instances hold is 0). Layer l computes level l of every circuit
from its blocks at layer l − 1: in a block of circuit t,

    R_on = Σ_p on(p),  R_a = Σ_p value_a(p)    over t's S blocks p at layer l − 1
    σ_j = a' + b'      (literals: R_a, or R_on − R_a when negated)
    gate j = α_j·[2σ_j − R_on ≥ 0] + β_j·[2σ_j − 3·R_on ≥ 0]   AND (0, 1), OR (1, 0), XOR (1, −1)

with each step a pair of ReLUs. A block's weights are the sum of these maps over every circuit
that owns the block, so a block that only circuit t holds computes t's gates exactly. Two ways to
make the steps, both without positive biases (an empty block must stay 0):

- `scaled`: a step of height R_on, ReLU(x + R_on) − ReLU(x); a block holds c·value, c its on-read;
- `normalized`: a step of height 1, ReLU(x) − ReLU(x − 1) (x is an integer); a block holds 0/1.

Collisions at later layers are wiped by flags computed from the inputs and carried. An instance's
output bit is read from its S blocks at the last layer: more than half of a clean instance's
on-read says 1.

    python benchmarks/shared_gates.py > out.jsonl        # the grid of docs/lowering.md (~5 min)
    python benchmarks/shared_gates.py --T 20 --S 3 --z 1 --steps scaled

Each record: T, S, z, the block count n, compression T·w/D (one neuron per gate), the fraction of
active output bits right, of inactive output bits that read 1, of rows with every bit right, and
the fraction of blocks that hold something at each layer ("lit"), against z·S for a clean run.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from frontier import random_circuit  # noqa: E402

from circuitc.spec import Op  # noqa: E402

STEP = {Op.AND: (0, 1), Op.OR: (1, 0), Op.XOR: (1, -1)}   # (α, β) of the two thresholds
WIPE = 1000.0                                            # far above any pre-activation


def levels_of(circuit, depth: int, width: int) -> list[list[tuple[tuple[int, int], list[tuple[int, bool]]]]]:
    """Per level, per gate: (α, β) and the two literals (wire of the level below, negated?)."""
    by_out = {g.out: g for g in circuit.gates}
    levels = []
    for lv in range(1, depth + 1):
        gates = []
        for j in range(width):
            gate = by_out[f"g{lv}_{j}"]
            lits = []
            for a in gate.args:
                neg = by_out.get(a) is not None and by_out[a].op is Op.NOT
                src = by_out[a].args[0] if neg else a
                lits.append((int(src[2:-1]) if src.startswith("x[") else int(src.split("_")[1]), neg))
            gates.append((STEP[gate.op], lits))
        levels.append(gates)
    return levels


def truth(levels, x) -> list[int]:
    vals = list(x)
    for gates in levels:
        vals = [al * (s >= 1) + be * (s >= 2)
                for (al, be), lits in gates
                for s in [sum((1 - vals[i]) if neg else vals[i] for i, neg in lits)]]
    return vals


class Entries:
    """Coordinates and values of a sparse matrix, gathered in pieces."""

    def __init__(self):
        self.rows: list[int] = []
        self.cols: list[int] = []
        self.vals: list[float] = []

    def add(self, rows, cols, vals) -> None:
        rows = list(rows)
        self.rows += rows
        self.cols += list(cols)
        self.vals += list(vals) if np.ndim(vals) else [float(vals)] * len(rows)


class Net:
    def __init__(self, T: int, D: int, S: int, depth: int, width: int, k: int, normalized: bool, seed: int):
        rng = np.random.default_rng(seed)
        self.T, self.S, self.depth, self.width, self.k, self.normalized = T, S, depth, width, k, normalized
        self.levels = [levels_of(random_circuit(f"r{i}", depth=depth, width=width, n_inputs=k,
                                                seed=seed * 1_000_003 + i), depth, width) for i in range(T)]
        self.L = L = depth + 1
        self.d = d = 2 + 4 * width
        self.n = n = D // (d + L)            # blocks, beside the carried collision flags
        self.codes = [np.stack([rng.choice(n, S, replace=False) for _ in range(T)]) for _ in range(L)]
        self.flag0 = n * d
        self.size = n * d + n * L
        self.layers = [self._encoding()] + [self._level(l) for l in range(1, L)]

    def _flag(self, l: int, q):
        return self.flag0 + l * self.n + q

    def _sparse(self, e: Entries, n_in: int) -> torch.Tensor:
        return torch.sparse_coo_tensor(np.array([e.rows, e.cols]), np.array(e.vals, dtype=np.float64),
                                       (self.size, n_in), check_invariants=True).coalesce()

    def _encoding(self):
        """Layer 0: each value v of a block as ReLU(v − M(count − 1)) − ReLU(M − M·count)
        (v when one instance holds the block, 0 when none or several); the flags
        ReLU(count_l − 1) of every later layer."""
        T, k, d = self.T, self.k, self.d
        e = Entries()
        t_of = np.repeat(np.arange(T), self.S)
        q_all = self.codes[0].ravel()
        for m in range(1 + k):
            e.add(q_all * d + 2 * m, t_of * (1 + k) + m, 1.0)
            for r in (2 * m, 2 * m + 1):
                e.add(q_all * d + r, t_of * (1 + k), -WIPE)
        for l in range(1, self.L):
            e.add(self._flag(l, self.codes[l].ravel()), t_of * (1 + k), 1.0)
        bias = np.zeros(self.size)
        for m in range(1 + k):
            bias[np.arange(self.n) * d + 2 * m] = WIPE
            bias[np.arange(self.n) * d + 2 * m + 1] = WIPE
        bias[self.flag0 + self.n:] = -1.0
        return self._sparse(e, T * (1 + k)), torch.tensor(bias)

    def _read(self, t: int, l: int) -> np.ndarray:
        """(R_on, R_a...) of circuit t from one of its blocks at layer l − 1."""
        d = self.d
        n_prev = self.k if l == 1 else self.width
        read = np.zeros((1 + n_prev, d))
        read[0, 0] = 1
        if self.normalized or l == 1:
            read[0, 1] = -1          # on is a pair of neurons: in the encoding, and in normalized blocks
        if l == 1:
            for a in range(self.k):
                read[1 + a, 2 + 2 * a: 4 + 2 * a] = [1, -1]
        else:
            for a, ((al, be), _) in enumerate(self.levels[t][l - 2]):
                read[1 + a, 2 + 4 * a: 6 + 4 * a] = [al, -al, be, -be]
        return read

    def _level(self, l: int):
        d, n = self.d, self.n
        e = Entries()
        n_prev = self.k if l == 1 else self.width
        for t in range(self.T):
            read = self._read(t, l)
            block = np.zeros((d, d))
            block[0] = read[0]
            if self.normalized:
                block[1] = read[0]
            for j, (_, lits) in enumerate(self.levels[t][l - 1]):
                sig = np.zeros(1 + n_prev)
                for idx, neg in lits:
                    sig[0] += neg
                    sig[1 + idx] += -1 if neg else 1
                for r, shift in ((0, 1), (2, 3)):       # thresholds c (OR-like) and 2c (AND-like)
                    x = 2 * sig
                    x[0] -= shift
                    block[2 + 4 * j + r] = block[3 + 4 * j + r] = x @ read
                    if not self.normalized:
                        block[2 + 4 * j + r] += read[0]
            r_idx, c_idx = np.nonzero(block)
            for q in self.codes[l][t]:
                for p in self.codes[l - 1][t]:
                    e.add(q * d + r_idx, p * d + c_idx, block[r_idx, c_idx])
        blocks = np.arange(n)
        for r in range(d):                                # the wipe of collided blocks
            e.add(blocks * d + r, self._flag(l, blocks), -WIPE)
        for l2 in range(l + 1, self.L):                   # flags of later layers, carried
            e.add(self._flag(l2, blocks), self._flag(l2, blocks), 1.0)
        bias = np.zeros(self.size)
        if self.normalized:
            for r in range(1, d, 2):
                bias[blocks * d + r] = -1.0
        return self._sparse(e, self.size), torch.tensor(bias)

    def run(self, X: np.ndarray) -> list[np.ndarray]:
        h = torch.tensor(X.T)
        out = []
        for W, b in self.layers:
            h = torch.relu(W @ h + b[:, None])
            out.append(h.T.numpy())
        return out


def measure(T: int, S: int, z: int, normalized: bool, D: int = 4096, depth: int = 4, width: int = 3,
            k: int = 4, rows: int = 2000, seed: int = 0) -> dict:
    t0 = time.perf_counter()
    net = Net(T, D, S, depth, width, k, normalized, seed)
    rng = np.random.default_rng(seed + 7)
    active = np.stack([rng.choice(T, z, replace=False) for _ in range(rows)])
    x = rng.integers(0, 2, size=(rows, z, k))
    X = np.zeros((rows, T * (1 + k)))
    for i in range(z):
        X[np.arange(rows), active[:, i] * (1 + k)] = 1
        for m in range(k):
            X[np.arange(rows), active[:, i] * (1 + k) + 1 + m] = x[:, i, m]
    hs = net.run(X)
    d, n = net.d, net.n
    blocks = np.arange(n) * d
    lit = [float((h[:, blocks] - (h[:, blocks + 1] if normalized or layer == 0 else 0) > 0).mean())
           for layer, h in enumerate(hs)]
    h = hs[-1]
    codes = net.codes[-1]
    on = h[:, codes * d] - (h[:, codes * d + 1] if normalized else 0)           # rows × T × S
    ron = on.sum(axis=2)
    full = S if normalized else S ** (depth + 1)
    reads = np.zeros((rows, T, width))
    for t in range(T):
        for j, ((al, be), _) in enumerate(net.levels[t][depth - 1]):
            base = codes[t] * d + 2 + 4 * j
            reads[:, t, j] = (al * (h[:, base] - h[:, base + 1]) + be * (h[:, base + 2] - h[:, base + 3])).sum(axis=1)
    if normalized:
        bits = 2 * reads > full
    else:
        bits = (2 * reads > ron[:, :, None]) & (2 * ron[:, :, None] > full)
    want = np.zeros((rows, T, width), dtype=bool)
    for r in range(rows):
        for i in range(z):
            want[r, active[r, i]] = truth(net.levels[active[r, i]], x[r, i])
    is_active = np.zeros((rows, T), dtype=bool)
    is_active[np.arange(rows)[:, None], active] = True
    right = bits == want
    return {
        "steps": "normalized" if normalized else "scaled", "T": T, "S": S, "z": z, "D": D, "d": d, "n": n,
        "compression": round(T * width / D, 4),
        "active_bit_accuracy": round(float(right[is_active].mean()), 4),
        "inactive_bits_reading_1": round(float(bits[~is_active].mean()), 4),
        "rows_all_right": round(float(right.all(axis=(1, 2)).mean()), 4),
        "lit_fraction_per_layer": [round(v, 4) for v in lit], "lit_if_clean": round(z * S / n, 4),
        "seconds": round(time.perf_counter() - t0, 1),
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--T", type=int, nargs="+", default=[5, 10, 20, 50, 100, 500])
    ap.add_argument("--S", type=int, nargs="+", default=[3, 5])
    ap.add_argument("--z", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--steps", nargs="+", default=["scaled", "normalized"], choices=["scaled", "normalized"])
    ap.add_argument("--rows", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    for steps in args.steps:
        for z in args.z:
            for S in args.S:
                for T in args.T:
                    rec = measure(T, S, z, steps == "normalized", rows=args.rows, seed=args.seed)
                    print(json.dumps(rec), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
