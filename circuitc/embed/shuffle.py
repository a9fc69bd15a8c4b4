"""Per-layer reshuffling (math.md §1.3): one allocation, a different seeded assignment per layer.

Circuit t at layer l gets support `perm[l, t]` of the allocation. Because the permutations of
different layers are independent, a circuit's neighbours (the circuits sharing one of its neurons)
change from layer to layer, so the overlap errors of consecutive layers are uncorrelated instead
of compounding along one fixed set of neighbours.

Seeding: layer l draws from `SeedSequence([seed, l])`, so the permutation of a layer depends only
on the seed and the layer index — adding layers never changes the earlier ones, and the same seed
always gives the same network.
"""

from __future__ import annotations

import numpy as np

from .allocate import Allocation


def layer_permutations(T: int, L: int, seed: int) -> np.ndarray:
    """(L, T) int64: row l is a permutation of range(T) for layer l."""
    perms = np.empty((L, T), dtype=np.int64)
    for layer in range(L):  # one generator per layer; T is the vectorised axis
        perms[layer] = np.random.default_rng(np.random.SeedSequence([seed, layer])).permutation(T)
    return perms


def layer_supports(allocation: Allocation, L: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The supports of every circuit at every layer, (L, T, S), and the permutations used, (L, T)."""
    perms = layer_permutations(allocation.T, L, seed)
    return allocation.supports[perms], perms
