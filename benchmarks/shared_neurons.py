"""An experiment: different boolean circuits whose gates share single neurons, with margins.

benchmarks/shared_gates.py shares whole blocks and has no margin, and inactive owners light up
(docs/lowering.md, math.md §4.6). This script measures the finer variant: every *unit* of every
circuit (its on-indicator, and two threshold units per gate) has S copies of its own, each copy
a slot of two neurons, placed by a cover-free code that is drawn afresh at every layer (a
circuit's own units share no slot, two units of different circuits at most one); every slot
has a margin, and every bias goes through the owner's on-indicator, so an inactive owner adds
nothing of its own. Hidden layer l is the sum
of per-circuit components, W^l = Σ_t C_t^l, C_t^l holding circuit t's level-l gates.

A slot σ computes the step of the sum of its owners' pre-activations,

    v(σ) = clip((pre − a)/(b − a), 0, 1) = (ReLU(pre − a) − ReLU(pre − b))/(b − a)
    pre  = Σ_{units u of circuits t that own σ}  pre_u(t),     a, b = 1/2 ∓ δ

so v is exactly 1 when pre >= b and exactly 0 when pre <= a (`--ramp` δ, 0.05 by default). A unit reads each unit of its
own circuit one level down as the mean of its S copies, R_u = (1/S)·Σ_s v(copy s), and

    on:              pre = R_on                                  (1 active, 0 inactive)
    [σ_j >= c]:      pre = 2·σ_j − (2c − 1)·R_on,  c = 1, 2       (>= 1 true, <= −1 false)
    σ_j = Σ literals of gate j,  literal = R_w or R_on − R_w,  R_w = α·R_[σ>=1] + β·R_[σ>=2]

with (α, β) = (0, 1) for AND, (1, 0) for OR, (1, −1) for XOR. On clean reads an active
circuit's units hold exactly 0/1 and an inactive circuit's are 0, so every margin is 1/2 − δ of
a read: a slot is wrong once the other owners' reads add more than that to it. Each lit copy an
inactive owner reads adds |coefficient|/S, and there are about T·z·U²·r·S³/N² of them per slot
(U units a circuit has per level, r units a unit reads, N slots), which is what the records
show against T.

    python benchmarks/shared_neurons.py > out.jsonl        # the grid of docs/lowering.md (~6 min)
    python benchmarks/shared_neurons.py --T 5 10 20 50 --S 3 5 --ramp 0.16666666666666666   # a wider step
    python benchmarks/shared_neurons.py --T 50 --S 3 --z 2

Each record: T, S, z, D, the slot count N, compression T·w/D (one neuron per gate), active output
bits right, inactive output bits reading 1, rows with every bit right (random rows, and
adversarial rows: a target with the z − 1 circuits sharing the most slots with it), the
fraction of slots lit per layer against a clean run's, and the fraction of active units' copies
that hold a wrong value per layer.
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
from shared_gates import levels_of  # noqa: E402

from circuitc.instances.embed.allocate import polynomial_prime  # noqa: E402


class Circuits:
    """The T circuits as arrays: per level, per gate, its (α, β) and its two literals."""

    def __init__(self, T: int, depth: int, width: int, k: int, seed: int):
        levels = [levels_of(random_circuit(f"r{i}", depth=depth, width=width, n_inputs=k,
                                           seed=seed * 1_000_003 + i), depth, width) for i in range(T)]
        self.ab = np.array([[[g[0] for g in lv] for lv in c] for c in levels], dtype=np.int64)      # T, L, w, 2
        self.src = np.array([[[[a for a, _ in g[1]] for g in lv] for lv in c] for c in levels])    # T, L, w, 2
        self.neg = np.array([[[[n for _, n in g[1]] for g in lv] for lv in c] for c in levels], dtype=np.int64)

    def units(self, t: np.ndarray, x: np.ndarray) -> list[np.ndarray]:
        """Every layer's unit values of circuits t (any shape) on inputs x (t.shape + (k,))."""
        ones = np.ones(t.shape + (1,), dtype=np.int64)
        out = [np.concatenate([ones, x], axis=-1)]
        wires = x
        for lv in range(self.ab.shape[1]):
            src, neg = self.src[t, lv], self.neg[t, lv]
            lit = np.take_along_axis(wires[..., None, :], src, axis=-1)             # ..., w, 2
            s = np.where(neg == 1, 1 - lit, lit).sum(axis=-1)                       # ..., w
            thr = np.stack([s >= 1, s >= 2], axis=-1).astype(np.int64)              # ..., w, 2
            ab = self.ab[t, lv]
            wires = (ab * thr).sum(axis=-1)
            out.append(np.concatenate([ones, thr.reshape(t.shape + (-1,))], axis=-1))
        return out


class Net:
    def __init__(self, T: int, D: int, S: int, depth: int, width: int, k: int, seed: int, ramp: float = 0.05):
        rng = np.random.default_rng(seed)
        self.a, self.b, self.g = 0.5 - ramp, 0.5 + ramp, 1 / (2 * ramp)
        self.T, self.S, self.depth, self.width, self.k = T, S, depth, width, k
        self.circuits = Circuits(T, depth, width, k, seed)
        self.N = N = D // 2
        self.U = [1 + k] + [1 + 2 * width] * depth
        q = polynomial_prime(N, S)             # the routed code's: the largest prime with S·q <= N
        groups = q * (q // max(self.U))
        if groups < T:
            raise ValueError(f"the code over F_{q} holds {groups} circuits, fewer than {T}")
        self.q = q
        x = np.arange(S)
        self.slots = []                                   # per layer: T, U, S
        for U in self.U:
            # A circuit's units are parallel lines y = a + b·x (one slope, U consecutive
            # intercepts), so they never share a slot; two units of different circuits share
            # at most one. The groups are drawn afresh at every layer.
            g = rng.choice(q * (q // U), T, replace=False)
            b, a0 = np.divmod(g, q // U)
            a = a0[:, None] * U + np.arange(U)                                       # T, U
            self.slots.append(x * q + (a[..., None] + b[:, None, None] * x) % q)
        self.layers = [self._level(lv) for lv in range(1, depth + 1)]

    def coefficients(self, lv: int) -> np.ndarray:
        """(T, U_lv, U_lv−1): each unit's pre-activation over its circuit's unit reads below."""
        c, T, w = self.circuits, self.T, self.width
        Ub = self.U[lv - 1]
        wire = np.zeros((T, self.k if lv == 1 else w, Ub))            # wire i as unit reads
        if lv == 1:
            wire[:, np.arange(self.k), 1 + np.arange(self.k)] = 1
        else:
            ab = c.ab[:, lv - 2]                                      # T, w, 2
            wire[:, np.arange(w), 1 + 2 * np.arange(w)] = ab[:, :, 0]
            wire[:, np.arange(w), 2 + 2 * np.arange(w)] = ab[:, :, 1]
        on = np.zeros(Ub)
        on[0] = 1
        src, neg = c.src[:, lv - 1], c.neg[:, lv - 1]                 # T, w, 2
        lits = np.take_along_axis(wire[:, None, :, :], src[..., None], axis=2)      # T, w, 2, Ub
        lits = np.where(neg[..., None] == 1, on - lits, lits)
        sigma = lits.sum(axis=2)                                      # T, w, Ub
        coef = np.zeros((T, self.U[lv], Ub))
        coef[:, 0] = on
        for ci in (1, 2):
            coef[:, 1 + 2 * np.arange(w) + ci - 1] = 2 * sigma - (2 * ci - 1) * on
        return coef

    def _level(self, lv: int, only: int | None = None) -> torch.Tensor:
        """W^lv, or with `only` = t circuit t's component C_t^lv alone."""
        coef = self.coefficients(lv)
        if only is not None:
            coef[np.arange(self.T) != only] = 0
        t, u, ub = np.nonzero(coef)
        S = self.S
        rows = self.slots[lv][t, u][:, :, None]                       # m, S, 1
        cols = self.slots[lv - 1][t, ub][:, None, :]                  # m, 1, S
        vals = np.broadcast_to((self.g * coef[t, u, ub] / S)[:, None, None], (len(t), S, S))
        rows, cols = np.broadcast_arrays(rows, cols)
        r, c, v = rows.ravel(), cols.ravel(), vals.ravel()
        # the slot pair (2σ, 2σ + 1) reads v(σ') = n(2σ') − n(2σ' + 1) with the same weight
        r4 = np.concatenate([2 * r, 2 * r, 2 * r + 1, 2 * r + 1])
        c4 = np.concatenate([2 * c, 2 * c + 1, 2 * c, 2 * c + 1])
        v4 = np.concatenate([v, -v, v, -v])
        return torch.sparse_coo_tensor(np.stack([r4, c4]), v4, (2 * self.N, 2 * self.N),
                                       check_invariants=True).coalesce()

    def component(self, lv: int, t: int) -> torch.Tensor:
        return self._level(lv, only=t)

    def run(self, active: np.ndarray, x: np.ndarray) -> list[np.ndarray]:
        """Slot values v per layer (rows × N) for the active circuits (rows × z) on inputs x."""
        rows, z = active.shape
        pre = np.zeros((rows, self.N))
        vals = np.concatenate([np.ones((rows, z, 1)), x], axis=-1)                  # the encoding layer
        slots = self.slots[0][active]                                                # rows, z, U, S
        np.add.at(pre, (np.arange(rows)[:, None, None, None], slots), vals[..., None])
        g = self.g
        h = torch.tensor(np.stack([np.maximum(g * (pre - self.a), 0), np.maximum(g * (pre - self.b), 0)], -1)
                         .reshape(rows, -1).T)
        out = [(h[0::2] - h[1::2]).T.numpy()]
        bias = torch.tensor([-g * self.a, -g * self.b]).repeat(self.N)
        for W in self.layers:
            h = torch.relu(torch.sparse.mm(W, h) + bias[:, None])
            out.append((h[0::2] - h[1::2]).T.numpy())
        return out


def adversarial_sets(net: Net, z: int, targets: np.ndarray) -> np.ndarray:
    """Each target with the z − 1 circuits that share the most slots with it, over all layers."""
    T = net.T
    inc = np.zeros((T, sum(net.N for _ in net.U)), dtype=np.float32)
    for i, sl in enumerate(net.slots):
        np.add.at(inc, (np.repeat(np.arange(T), sl[0].size), (i * net.N + sl.reshape(T, -1)).ravel()), 1.0)
    shared = inc[targets] @ inc.T
    shared[np.arange(len(targets)), targets] = -1
    others = np.argsort(-shared, axis=1, kind="stable")[:, :z - 1]
    return np.concatenate([targets[:, None], others], axis=1)


def score(net: Net, active: np.ndarray, x: np.ndarray) -> dict:
    rows, z = active.shape
    vs = net.run(active, x)
    truth = net.circuits.units(active, x)                             # per layer: rows, z, U
    wrong, lit = [], []
    for lv, v in enumerate(vs):
        copies = v[np.arange(rows)[:, None, None, None], net.slots[lv][active]]     # rows, z, U, S
        # 1e-9: far above float64 rounding of a step (about 1e-15 times its slope), far below any error
        wrong.append(round(float((np.abs(copies - truth[lv][..., None]) > 1e-9).mean()), 4))
        lit.append(round(float((v > 0).mean()), 4))
    last = vs[-1][:, net.slots[-1]].mean(axis=-1)                      # rows, T, U
    ab = net.circuits.ab[:, -1]                                        # T, w, 2
    w = net.width
    wires = ab[None, :, :, 0] * last[:, :, 1::2][:, :, :w] + ab[None, :, :, 1] * last[:, :, 2::2][:, :, :w]
    bits = wires > 0.5
    want = np.zeros_like(bits)
    out_truth = (net.circuits.ab[active, -1] * truth[-1][..., 1:].reshape(rows, z, w, 2)).sum(-1)
    want[np.arange(rows)[:, None], active] = out_truth.astype(bool)
    is_active = np.zeros((rows, net.T), dtype=bool)
    is_active[np.arange(rows)[:, None], active] = True
    right = bits == want
    return {
        "active_bit_accuracy": round(float(right[is_active].mean()), 4),
        "inactive_bits_reading_1": round(float(bits[~is_active].mean()), 6) if (~is_active).any() else None,
        "rows_all_right": round(float(right.all(axis=(1, 2)).mean()), 4),
        "lit_fraction_per_layer": lit,
        "wrong_active_copies_per_layer": wrong,
    }


def measure(T: int, S: int, z: int, D: int = 4096, depth: int = 4, width: int = 3, k: int = 4,
            rows: int = 2000, adversarial: int = 512, seed: int = 0, ramp: float = 0.05) -> dict:
    t0 = time.perf_counter()
    net = Net(T, D, S, depth, width, k, seed, ramp)
    rng = np.random.default_rng(seed + 7)
    active = np.stack([rng.choice(T, z, replace=False) for _ in range(rows)])
    rec = {"T": T, "S": S, "z": z, "D": D, "N": net.N, "q": net.q, "ramp": ramp,
           "compression": round(T * width / D, 4),
           "lit_if_clean": [round(z * U * S / net.N, 4) for U in net.U]}
    rec["random"] = score(net, active, rng.integers(0, 2, size=(rows, z, k)))
    if z > 1 and adversarial:
        targets = rng.choice(T, min(adversarial, T), replace=False)
        adv = adversarial_sets(net, z, targets)
        rec["adversarial"] = score(net, adv, rng.integers(0, 2, size=(len(adv), z, k)))
    rec["seconds"] = round(time.perf_counter() - t0, 1)
    return rec


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--T", type=int, nargs="+", default=[5, 10, 20, 50, 100, 200, 500])
    ap.add_argument("--S", type=int, nargs="+", default=[3, 5, 8])
    ap.add_argument("--z", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--D", type=int, default=4096)
    ap.add_argument("--rows", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--ramp", type=float, nargs="+", default=[0.05], help="half-width δ of each slot's step")
    args = ap.parse_args(argv)
    for ramp in args.ramp:
        for z in args.z:
            for S in args.S:
                for T in args.T:
                    print(json.dumps(measure(T, S, z, D=args.D, rows=args.rows, seed=args.seed, ramp=ramp)),
                          flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
