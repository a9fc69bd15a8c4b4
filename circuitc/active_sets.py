"""Which instances (or features) are on in a row: rows that keep the sparsity promise, for both
back ends' verification and sampling. Seeded generators in, integer arrays out; no loop over rows."""

from __future__ import annotations

import numpy as np

__all__ = ["exactly_active", "random_active", "combinations"]


def exactly_active(n: int, k: int, rows: int, rng: np.random.Generator) -> np.ndarray:
    """(rows, k) distinct ids in [0, n) per row: the promise at its limit, exactly k on."""
    # The k smallest of n random keys would cost O(n) per row, so draw with replacement and
    # redraw the (rare, when k << n) rows with a repeat.
    out = rng.integers(0, n, size=(rows, k))
    while True:
        srt = np.sort(out, axis=1)
        dup = (srt[:, 1:] == srt[:, :-1]).any(axis=1)
        if not dup.any():
            return out
        out[dup] = rng.integers(0, n, size=(int(dup.sum()), k))


def random_active(T: int, z: int, batch: int, rng: np.random.Generator) -> np.ndarray:
    """(batch, z) instance ids: row b activates k_b ~ U{1..z} distinct instances, -1 pads the rest."""
    k = rng.integers(1, z + 1, size=batch)
    inst = exactly_active(T, z, batch, rng)
    inst[np.arange(z)[None, :] >= k[:, None]] = -1
    return inst


def combinations(T: int, z: int) -> np.ndarray:
    """Every set of 1..z instances, (count, z) padded with -1: by size, then lexicographically."""
    level = np.arange(T, dtype=np.int64)[:, None]
    out = []
    for k in range(1, z + 1):
        if k > 1:
            last = level[:, -1]
            more = T - 1 - last                                  # larger instances to append
            first = np.repeat(np.cumsum(more) - more, more)
            nxt = np.repeat(last + 1, more) + np.arange(int(more.sum())) - first
            level = np.concatenate([np.repeat(level, more, axis=0), nxt[:, None]], axis=1)
        if len(level) == 0:
            break
        out.append(np.pad(level, ((0, 0), (0, z - k)), constant_values=-1))
    return np.concatenate(out) if out else np.zeros((0, z), dtype=np.int64)
