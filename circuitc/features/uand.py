"""U-AND layers: one ReLU layer that computes the AND of every pair (every k-set) of m sparse features.

math.md §2.1. m boolean features, at most s on at once. Neuron i reads a seeded random subset of
the features, `B[i, α] ~ Bernoulli(p)`, with bias −(k − 1):

    a_i = ReLU(Σ_α B[i, α]·f_α − (k − 1)).

The AND of a k-set K is read off linearly as the mean of the neurons wired to all of K,
`r_K = Π_{α∈K} B[:, α] / |that set|`. When all of K is on, each of those neurons outputs 1 plus
the number of other on-features it reads; when one of K is off, only that number (k = 2). So the
read-off is the AND plus a bias that grows with p·s, and its spread shrinks with the number of
neurons wired to K, about p^k·d. Every pair is readable only when each has at least one neuron.

**Inputs in superposition** (math.md §2.3): the features arrive as `x = Σ_α f_α·φ_α ∈ R^{d0}`
along seeded random unit directions φ_α, and the layer reads them through `W = B·Φᵀ`. So neuron
i sees Σ_α B[i, α]·⟨φ_α, x⟩, which is its basis-aligned input plus interference of variance about
s·p·m/d0.

`uand_width` (in uand_theory.py) predicts the width a target error needs; this module builds the
layer and measures it (`pair_errors`). `circuitc compile` builds deep feature circuits from the
same populations, with unbiased read-offs (network.py, readoffs.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from ..errors import CircuitError, Diagnostic
from .uand_theory import best_p, uand_width


@dataclass(frozen=True, eq=False)
class UAnd:
    """A U-AND layer of width d over m features (k-input ANDs), seeded."""

    m: int
    d: int
    p: float
    k: int
    seed: int
    wiring: np.ndarray                     # (d, m) bool: B
    embedding: np.ndarray | None = None    # (d0, m) float32 unit columns Φ, for superposed inputs
    _counts: dict = field(default_factory=dict, repr=False)   # made once: B as float32, pair counts

    @property
    def d0(self) -> int | None:
        return None if self.embedding is None else int(self.embedding.shape[0])

    @property
    def bias(self) -> float:
        return -(self.k - 1.0)

    def read_in(self) -> np.ndarray:
        """The layer's weight matrix: B (d, m) for basis inputs, B·Φᵀ (d, d0) for superposed ones."""
        B = self.weights()
        return B if self.embedding is None else B @ self.embedding.T

    def encode(self, active: np.ndarray) -> np.ndarray:
        """The layer's inputs for rows of on-features `active` (batch, j), -1 padding: the 0/1
        feature vectors (batch, m), or their superposition Φ·f (batch, d0)."""
        active = np.asarray(active, dtype=np.int64)
        f = np.zeros((len(active), self.m), dtype=np.float32)
        rows, slots = np.nonzero(active >= 0)
        f[rows, active[rows, slots]] = 1.0
        return f if self.embedding is None else f @ self.embedding.T

    def hidden(self, x: np.ndarray) -> np.ndarray:
        """(batch, d) float32 activations for layer inputs x (from `encode`). Superposed inputs
        go through Φ first, (x·Φ)·Bᵀ, never forming the (d, d0) read-in matrix."""
        x = np.asarray(x, dtype=np.float32)
        features = x if self.embedding is None else x @ self.embedding
        return np.maximum(features @ self.weights().T + self.bias, 0.0)

    def weights(self) -> np.ndarray:
        """B as a (d, m) float32 matrix (made once)."""
        if "B" not in self._counts:
            self._counts["B"] = self.wiring.astype(np.float32)
        return self._counts["B"]

    def pair_counts(self) -> np.ndarray:
        """(m, m) float32: N[α, β] = the neurons wired to both α and β (computed once)."""
        if "pairs" not in self._counts:
            B = self.weights()
            self._counts["pairs"] = B.T @ B
        return self._counts["pairs"]

    def readout(self, sets: np.ndarray) -> np.ndarray:
        """(g, d) float32 read-off vectors of the ANDs of `sets` (g, k); a row is 0 for a set no
        neuron reads (its AND cannot be read off)."""
        sets = np.asarray(sets, dtype=np.int64)
        wired = self.wiring[:, sets].all(axis=2).T.astype(np.float32)           # (g, d)
        size = wired.sum(axis=1, keepdims=True)
        return np.divide(wired, size, out=np.zeros_like(wired), where=size > 0)


def feature_embedding(m: int, d0: int, seed) -> np.ndarray:
    """(d0, m) float32: m seeded random unit directions in R^d0, one per feature (math.md §2.3)."""
    phi = np.random.default_rng(seed).standard_normal((d0, m))
    return (phi / np.linalg.norm(phi, axis=0, keepdims=True)).astype(np.float32)


def build_uand(m: int, d: int, p: float, *, k: int = 2, seed: int = 0, d0: int | None = None) -> UAnd:
    """A seeded U-AND layer: wiring B ~ Bernoulli(p) of shape (d, m); with `d0`, unit feature
    directions Φ (d0, m), Gaussian then normalised, for inputs in superposition."""
    problems = []
    if m < k:
        problems.append(f"a U-AND over m = {m} features needs m >= k = {k}")
    if d < 1:
        problems.append(f"the width must be at least 1, got d = {d}")
    if not 0 < p <= 1:
        problems.append(f"the wiring probability must lie in (0, 1], got p = {p}")
    if k < 2:
        problems.append(f"a U-AND computes ANDs of k >= 2 features, got k = {k}")
    if d0 is not None and d0 < 1:
        problems.append(f"the embedding dimension must be at least 1, got d0 = {d0}")
    if problems:
        raise CircuitError([Diagnostic(p) for p in problems])
    rng = np.random.default_rng(np.random.SeedSequence([seed, m, d]))
    wiring = rng.random((d, m), dtype=np.float32) < p
    embedding = None
    if d0 is not None:
        embedding = feature_embedding(m, d0, np.random.SeedSequence([seed, m, d0, 1]))
    return UAnd(m, d, float(p), k, seed, wiring, embedding)


def uand_layer(m: int, s: int, eps: float = 0.25, *, trials: int = 10_000, d: int | None = None,
               p: float | None = None, seed: int = 0, superposed: bool = False) -> tuple[UAnd, dict]:
    """A U-AND layer for m features with at most s on, its width and wiring probability taken from
    the width model (`uand_theory.uand_width`: every pairwise AND within `eps` over `trials`
    inputs) unless given. Returns the layer and what was chosen and why, for the user to see.
    With `superposed`, the inputs live in d0 = d dimensions."""
    chosen = {"m": m, "s": s, "eps": eps, "trials": trials}
    if d is None:
        prediction = uand_width(m, s, eps, trials, superposed=superposed)
        d = prediction.d
        chosen["d"] = {"value": d, "from": "width model", "paper_d": prediction.paper_d}
        if p is None:
            p = prediction.p
            chosen["p"] = {"value": p, "from": "width model"}
    else:
        chosen["d"] = {"value": d, "from": "given"}
    if p is None:
        p = best_p(m, s, d, eps, trials, superposed=superposed)
        chosen["p"] = {"value": p, "from": "width model at the given d"}
    elif "p" not in chosen:
        chosen["p"] = {"value": p, "from": "given"}
    return build_uand(m, d, p, seed=seed, d0=d if superposed else None), chosen


def _on_feature_sums(wiring: np.ndarray, B: torch.Tensor, h: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """(b·s, m): for row r and its on-feature α = rows[r, j], Σ_i h[r, i]·B[i, α]·B[i, :].

    Only neurons that fire and read α contribute, a small fraction of d, so the sum is a sparse
    (b·s × d) matrix, built from the firing neurons of each row, times B."""
    b, s = rows.shape
    r, i = np.nonzero(h > 0)                                                   # firing neurons per row
    entries = [], [], []
    for j in range(s):                                                         # s slots, vectorised inside
        reads = wiring[i, rows[r, j]]
        entries[0].append(r[reads] * s + j)
        entries[1].append(i[reads])
        entries[2].append(h[r[reads], i[reads]])
    row, col, val = (np.concatenate(e) for e in entries)
    sparse = torch.sparse_coo_tensor(np.stack([row, col]), torch.from_numpy(val.astype(np.float32)),
                                     (b * s, wiring.shape[0]), check_invariants=False)
    return torch.sparse.mm(sparse, B).numpy()


def pair_errors(layer: UAnd, active: np.ndarray, *, none_pairs: int = 512, batch: int = 512,
                seed: int = 0) -> dict:
    """The read-off errors of pairwise ANDs (k = 2) on rows of on-features `active` (rows, s).

    Every pair holding an on-feature is read exactly on every row: for each on-feature α the
    read-offs of all (α, β) come from one product, (h ⊙ B[:, α]) @ B, divided by the pair counts.
    Pairs with no on-feature are read on `none_pairs` seeded random pairs per batch of rows (their
    error is an order smaller in basis inputs: about C(s, 2)·p² against (s − 1)·p). A pair no
    neuron reads is read as 0.

    Returns the worst absolute error of pairs with both features on, one on, and none on, the
    worst overall, and the number of pairs (over all C(m, 2)) that no neuron reads.
    """
    if layer.k != 2:
        raise ValueError("pair_errors measures 2-input ANDs")
    active = np.asarray(active, dtype=np.int64)
    m, s = layer.m, active.shape[1]
    B = torch.from_numpy(layer.weights())
    N = layer.pair_counts()
    rng = np.random.default_rng(seed)
    worst = {"both_on": 0.0, "one_on": 0.0, "none_on": 0.0}
    for lo in range(0, len(active), batch):
        rows = active[lo:lo + batch]
        h = layer.hidden(layer.encode(rows))                                   # (b, d)
        b = len(rows)
        alpha = rows.reshape(-1)                                               # (b·s,)
        numer = _on_feature_sums(layer.wiring, B, h, rows)                     # (b·s, m)
        count = N[alpha]
        read = np.divide(numer, count, out=np.zeros_like(numer), where=count > 0)
        both = np.zeros((b * s, m), dtype=bool)                                # β on too
        both[np.repeat(np.arange(b * s), s), np.repeat(rows, s, axis=0).reshape(-1)] = True
        both[np.arange(b * s), alpha] = False                                  # not a pair with itself
        err = np.abs(read - both)
        err[np.arange(b * s), alpha] = 0.0
        worst["both_on"] = max(worst["both_on"], float(err[both].max(initial=0.0)))
        one = ~both
        one[np.arange(b * s), alpha] = False
        worst["one_on"] = max(worst["one_on"], float(err[one].max(initial=0.0)))
        # Pairs with neither feature on: a seeded sample, read on every row of the batch.
        pa, pb = rng.integers(0, m, none_pairs), rng.integers(0, m, none_pairs)
        keep = pa != pb
        pa, pb = pa[keep], pb[keep]
        wired = (layer.wiring[:, pa] & layer.wiring[:, pb]).astype(np.float32)  # (d, P)
        cnt = N[pa, pb]
        read = np.divide(h @ wired, cnt, out=np.zeros((b, len(pa)), dtype=np.float32), where=cnt > 0)
        on = (rows[:, :, None] == pa[None, None, :]).any(axis=1) | (rows[:, :, None] == pb[None, None, :]).any(axis=1)
        worst["none_on"] = max(worst["none_on"], float(np.abs(read[~on]).max(initial=0.0)))
    unread = int(((N == 0).sum() - np.count_nonzero(np.diag(N) == 0)) // 2)
    return {**worst, "worst": max(worst.values()), "unreadable_pairs": unread, "rows": len(active)}
