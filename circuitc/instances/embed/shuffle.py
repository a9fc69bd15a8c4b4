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


def layer_permutations(T: int, L: int, seed: int, groups=None) -> np.ndarray:
    """(L, T) int64: row l is a permutation of range(T) for layer l.

    `groups` (counts summing to T, consecutive instances): each permutation stays within a group,
    as a segregated allocation needs (type k's instances must keep type k's supports)."""
    perms = np.empty((L, T), dtype=np.int64)
    for layer in range(L):  # one generator per layer; T is the vectorised axis
        rng = np.random.default_rng(np.random.SeedSequence([seed, layer]))
        if groups is None or len(groups) == 1:
            perms[layer] = rng.permutation(T)
        else:               # random order within each group: sort by (group, random key)
            group = np.repeat(np.arange(len(groups)), groups)
            perms[layer] = np.lexsort((rng.random(T), group))
    return perms


def layer_supports(allocation: Allocation, L: int, seed: int, groups=None) -> tuple[np.ndarray, np.ndarray]:
    """The supports of every circuit at every layer, (L, T, S), and the permutations used, (L, T)."""
    perms = layer_permutations(allocation.T, L, seed, groups)
    return allocation.supports[perms], perms


def distinct_layers(supports: np.ndarray) -> list[int]:
    """The layers whose supports differ: [0] when every layer has the same assignment (no
    reshuffling, the default), so graph figures computed per layer need only one."""
    supports = np.asarray(supports)
    if all(np.array_equal(supports[0], layer) for layer in supports[1:]):
        return [0]
    return list(range(len(supports)))
