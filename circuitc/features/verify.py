"""Verify a compiled feature network against the reference interpreter, level by level.

Rows keep the promise: at most s features on. Three modes, as for networks of instances:
- **random**: every row has exactly s features on, drawn uniformly (fewer on is never harder
  here: every error term grows with the on-count);
- **adversarial**: two of the s features are a pair whose downstream wires *meet*: some gate
  reads a wire the first switches on and a wire the second switches on. Meetings are where a
  sparse level gains on-wires beyond the width model's count and where all-on monomials are read
  off; the other features come from those that switch on the most wires downstream;
- **exhaustive**: every set of 0..s features (refused beyond `max_rows` rows, with the count).

The outputs are checked against `interpret.evaluate_bits` on the same feature rows. Every stage's
wire read-offs are checked against the exact stored values of its level (`Levels.evaluate`):
- **gate accuracy**: the fraction of (row, wire) read-offs on the right side of ½;
- **on accuracy**: the same over the wires that are on, the ones that carry the computation (with
  s on among hundreds, gate accuracy is dominated by wires that stay 0);
- **rows right**: rows whose every wire of the level is right;
- **rms touched / untouched**: the read-off error of wires some of whose inputs are on, the case
  the width model's σ describes, and of wires none of whose inputs are.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ..active_sets import combinations, exactly_active
from ..errors import CircuitError, Diagnostic
from ..interpret import evaluate_bits
from .network import FeatureNetwork

__all__ = ["MODES", "verify_features", "adversarial_pool", "meeting_pairs"]

MODES = ("random", "adversarial", "exhaustive")
MAX_ROWS = 2_000_000


def adversarial_pool(net: FeatureNetwork) -> np.ndarray:
    """Feature ids, most interfering first: by the wires each switches on alone, over all levels."""
    score = net.levels.single_counts()[1:].sum(axis=0)
    return np.argsort(-score, kind="stable")


def meeting_pairs(net: FeatureNetwork, limit: int = 1_000_000) -> np.ndarray:
    """(n, 2) feature pairs (f1 < f2) whose wires meet as inputs of one gate at some level: two
    input slots of a gate, each holding a wire one of the features switches on alone. At most
    `limit` pairs (the first found, level by level)."""
    lv_all = net.levels.levels
    # per level and input slot: (feature, gate) entries where the feature reaches that slot
    entries = [[([], []) for _ in range(net.levels.k)] for _ in lv_all]
    for ids, values in net.levels.single_feature_runs():
        for level, lv in enumerate(lv_all):
            for slot in range(lv.inputs.shape[1]):
                gates = np.nonzero(lv.arity > slot)[0]
                f, g = np.nonzero(values[level][:, lv.inputs[gates, slot]])
                entries[level][slot][0].append(ids[f])
                entries[level][slot][1].append(gates[g])
    found: list[np.ndarray] = []
    total = 0
    for level, lv in enumerate(lv_all):
        slots = [(np.concatenate(f), np.concatenate(g)) for f, g in entries[level][:lv.inputs.shape[1]]]
        for i in range(len(slots)):
            for j in range(i + 1, len(slots)):
                pairs = _join_on_gate(slots[i], slots[j], len(lv.arity))
                found.append(pairs)
                total += len(pairs)
                if total >= limit:
                    break
    if not found:
        return np.zeros((0, 2), dtype=np.int64)
    pairs = np.sort(np.concatenate(found), axis=1)
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    return np.unique(pairs, axis=0)[:limit]


def _join_on_gate(a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray], gates: int) -> np.ndarray:
    """Every (feature of a, feature of b) sharing a gate: a join of two (feature, gate) lists."""
    (fa, ga), (fb, gb) = a, b
    oa, ob = np.argsort(ga, kind="stable"), np.argsort(gb, kind="stable")
    fa, ga, fb, gb = fa[oa], ga[oa], fb[ob], gb[ob]
    cb = np.bincount(gb, minlength=gates)
    sb = np.cumsum(cb) - cb
    # for each entry of a, pair it with every entry of b at its gate
    reps = cb[ga]
    left = np.repeat(fa, reps)
    start = np.repeat(sb[ga], reps)
    offset = np.arange(int(reps.sum())) - np.repeat(np.cumsum(reps) - reps, reps)
    right = fb[start + offset]
    return np.stack([left, right], axis=1)


def _exhaustive_count(m: int, s: int) -> int:
    return sum(math.comb(m, j) for j in range(s + 1))


def _batches(net: FeatureNetwork, mode: str, samples: int, batch: int, rng, max_rows: int):
    s = net.s
    if mode == "exhaustive":
        count = _exhaustive_count(net.m, s)
        if count > max_rows:
            raise CircuitError(Diagnostic(
                f"exhaustive verification of {net.m} features with up to {s} on needs {count:,} rows, "
                f"more than the limit of {max_rows:,}",
                hint="verify with random or adversarial rows (`--samples N`), or compile a smaller feature set"))
        rows = np.concatenate([np.full((1, s), -1, dtype=np.int64), combinations(net.m, s)])   # the empty row first
        for b0 in range(0, count, batch):
            yield rows[b0:b0 + batch]
        return
    if mode == "random":
        for b0 in range(0, samples, batch):
            yield exactly_active(net.m, s, min(batch, samples - b0), rng)
        return
    pairs = meeting_pairs(net) if s >= 2 else np.zeros((0, 2), dtype=np.int64)
    pool = adversarial_pool(net)[:max(4 * s, 32)]
    for b0 in range(0, samples, batch):
        n = min(batch, samples - b0)
        if len(pairs) == 0 and len(pool) < s:
            yield exactly_active(net.m, s, n, rng)
            continue
        rows = pool[exactly_active(len(pool), min(s, len(pool)), n, rng)]
        if len(pairs):
            rows[:, :2] = pairs[rng.integers(0, len(pairs), n)]
            # the rest from the pool, redrawn where they repeat the pair
            for col in range(2, s):
                clash = (rows[:, col:col + 1] == rows[:, :col]).any(axis=1)
                while clash.any():
                    rows[clash, col] = rng.integers(0, net.m, int(clash.sum()))
                    clash = (rows[:, col:col + 1] == rows[:, :col]).any(axis=1)
        yield rows


class _StageErrors:
    def __init__(self, stages: int):
        self.right = np.zeros(stages)
        self.total = np.zeros(stages)
        self.on_right = np.zeros(stages)
        self.on_total = np.zeros(stages)
        self.rows_right = np.zeros(stages)
        self.sq = np.zeros((stages, 2))          # touched, untouched
        self.count = np.zeros((stages, 2))
        self.most_on = np.zeros(stages, dtype=np.int64)

    def add(self, i: int, got: np.ndarray, exact: np.ndarray, touched: np.ndarray) -> None:
        ok = (got > 0.5) == (exact > 0)
        on = exact > 0
        self.right[i] += ok.sum()
        self.total[i] += ok.size
        self.on_right[i] += ok[on].sum()
        self.on_total[i] += on.sum()
        self.rows_right[i] += ok.all(axis=1).sum()
        with np.errstate(over="ignore"):     # a network gone wild (huge weights) has an infinite error
            err2 = (got - exact) ** 2
        for col, mask in enumerate((touched, ~touched)):
            self.sq[i, col] += err2[mask].sum()
            self.count[i, col] += mask.sum()
        self.most_on[i] = max(self.most_on[i], int(on.sum(axis=1).max(initial=0)))


def _touched(net: FeatureNetwork, level: int, before: np.ndarray) -> np.ndarray:
    """(batch, wires) bool: wires of gate level `level` some of whose inputs are on."""
    lv = net.levels.levels[level - 1]
    hit = np.zeros((before.shape[0], lv.width), dtype=bool)
    for i in range(lv.inputs.shape[1]):
        used = lv.arity > i
        hit[:, used] |= before[:, lv.inputs[used, i]] > 0
    return hit


def verify_features(net: FeatureNetwork, samples: int = 10_000, batch: int = 1024, seed: int = 0,
                    mode: str = "random", *, max_rows: int = MAX_ROWS) -> dict:
    """Output and per-stage accuracy of `net` on promise-keeping rows, against its circuit."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    if batch < 1:
        raise ValueError(f"batch must be 1 or more, got {batch}")
    rng = np.random.default_rng(seed)
    stages = _StageErrors(net.L)
    n_out = len(net.levels.output_bits)
    out_right = np.zeros(n_out)
    rows_total = rows_right = 0
    for active in _batches(net, mode, samples, batch, rng, max_rows):
        f = net.feature_rows(active)
        exact = net.levels.evaluate(f.astype(np.uint8))
        with torch.no_grad():
            wires = net.forward(net.encode(active))
            got = net.decode(net.output_values(wires[-1]))
        for i, (st, w) in enumerate(zip(net.stages, wires)):
            # a gate's error depends on its inputs; a correction's on the wire itself
            touched = _touched(net, st.level, exact[st.level - 1]) if st.kind == "gate" else exact[st.level] > 0
            stages.add(i, w.numpy(), exact[st.level], touched)
        want = evaluate_bits(net.circuit, f.astype(np.uint8))
        hit = got == want
        out_right += hit.sum(axis=0)
        rows_right += int(hit.all(axis=1).sum())
        rows_total += len(active)
    layers = []
    for i, st in enumerate(net.stages):
        rms = np.sqrt(stages.sq[i] / np.maximum(stages.count[i], 1))
        layers.append({
            "stage": i + 1, "kind": st.kind, "level": st.level, "width": st.width,
            "gate_accuracy": stages.right[i] / stages.total[i],
            "on_accuracy": stages.on_right[i] / stages.on_total[i] if stages.on_total[i] else None,
            "rows_right": stages.rows_right[i] / rows_total,
            "rms_touched": float(rms[0]) if stages.count[i, 0] else None,
            "rms_untouched": float(rms[1]) if stages.count[i, 1] else None,
            "predicted_sigma": st.predicted,
            "most_on": int(stages.most_on[i]), "on_count_model": net.on_counts[st.level],
        })
    per_output = out_right / max(rows_total, 1)
    worst = np.argsort(per_output, kind="stable")[:5]
    return {
        "mode": mode, "samples": rows_total, "m": net.m, "s": net.s,
        "bit_accuracy": float(out_right.sum() / max(rows_total * n_out, 1)),
        "row_accuracy": rows_right / max(rows_total, 1),
        "worst_outputs": [(net.levels.output_bits[j], float(per_output[j])) for j in worst],
        "layers": layers,
    }
