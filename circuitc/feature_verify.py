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
from itertools import combinations

import numpy as np
import torch

from .errors import CircuitError, Diagnostic
from .feature_net import FeatureNetwork
from .interpret import evaluate_bits
from .uand import sample_active

__all__ = ["MODES", "verify_features", "adversarial_pool"]

MODES = ("random", "adversarial", "exhaustive")
MAX_ROWS = 2_000_000


def _singles(net: FeatureNetwork) -> list[np.ndarray]:
    """Per level, (m, wires) bool: the wires each feature switches on alone."""
    return [v.astype(bool) for v in net.levels.evaluate(np.eye(net.m, dtype=np.uint8))]


def adversarial_pool(net: FeatureNetwork) -> np.ndarray:
    """Feature ids, most interfering first: by the wires each switches on alone, over all levels."""
    score = sum(v.sum(axis=1).astype(np.int64) for v in _singles(net)[1:])
    return np.argsort(-score, kind="stable")


def meeting_pairs(net: FeatureNetwork) -> np.ndarray:
    """(n, 2) feature pairs (f1 < f2) whose wires meet as inputs of one gate at some level."""
    single = _singles(net)
    meet = np.zeros((net.m, net.m), dtype=bool)
    for lv, before in zip(net.levels.levels, single[:-1]):
        k = lv.inputs.shape[1]
        for i in range(k):
            for j in range(i + 1, k):
                both = (lv.arity > j)
                A = before[:, lv.inputs[both, i]].astype(np.float32)
                B = before[:, lv.inputs[both, j]].astype(np.float32)
                meet |= (A @ B.T) > 0
    meet |= meet.T
    np.fill_diagonal(meet, False)
    return np.argwhere(np.triu(meet))


def _exhaustive_count(m: int, s: int) -> int:
    return sum(math.comb(m, j) for j in range(s + 1))


def _exhaustive_rows(m: int, s: int):
    for j in range(s + 1):
        for combo in combinations(range(m), j):
            yield combo


def _batches(net: FeatureNetwork, mode: str, samples: int, batch: int, rng, max_rows: int):
    s = net.s
    if mode == "exhaustive":
        count = _exhaustive_count(net.m, s)
        if count > max_rows:
            raise CircuitError(Diagnostic(
                f"exhaustive verification of {net.m} features with up to {s} on needs {count:,} rows, "
                f"more than the limit of {max_rows:,}",
                hint="verify with random or adversarial rows (`--samples N`), or compile a smaller feature set"))
        rows = np.full((count, s), -1, dtype=np.int64)
        for i, combo in enumerate(_exhaustive_rows(net.m, s)):
            rows[i, :len(combo)] = combo
        for b0 in range(0, count, batch):
            yield rows[b0:b0 + batch]
        return
    pairs = meeting_pairs(net) if mode == "adversarial" and s >= 2 else np.zeros((0, 2), dtype=np.int64)
    pool = adversarial_pool(net)[:max(4 * s, 32)]
    for b0 in range(0, samples, batch):
        n = min(batch, samples - b0)
        if mode == "random" or (len(pairs) == 0 and len(pool) < s):
            yield sample_active(net.m, s, n, rng)
            continue
        rows = pool[sample_active(len(pool), min(s, len(pool)), n, rng)]
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
        err2 = (got - exact) ** 2
        for col, mask in enumerate((touched, ~touched)):
            self.sq[i, col] += err2[mask].sum()
            self.count[i, col] += mask.sum()
        self.most_on[i] = max(self.most_on[i], int(on.sum(axis=1).max(initial=0)))


def _touched(net: FeatureNetwork, level: int, before: np.ndarray) -> np.ndarray:
    """(batch, wires) bool: wires of `level` some of whose inputs are on (level 0: the on features)."""
    if level == 0:
        return before > 0
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
            before = exact[st.level - 1] if st.kind == "gate" else exact[st.level]
            touched = _touched(net, st.level, before) if st.kind == "gate" else exact[st.level] > 0
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
