"""The network of the cis2 construction: T different circuits embedded as given (math.md §1.7).

Layout as for every network of instances (assemble.py): d blocks of n neurons, instance t owns the
S-hot support `supports[l, t]` at layer l in every block. Two things differ from the coherent
network, both as the papers build it:

- **The first layer is written from the inputs.** `encode` computes every active instance's first
  circuit layer from its inputs, `p_t = w_t^1 x_t`, adds it onto the instance's layer-0 support in
  every block (each of the S neurons receives all of it), adds the shared bias and applies the
  ReLU: `A^0 = ReLU(b^1 + Σ_active E_t^0 p_t)`. It is exact for every instance, inactive ones
  included, unless two active instances share a neuron.
- **Every instance has its own weights, and their mean is embedded once.** Layer l is
  `W^l = (1/S) Σ_t Δw_t^l ⊗ e_t^l (e_t^{l−1})ᵀ + w̄^l ⊗ M^l`: each instance's deviation from the
  instances' mean layer on its own neurons, built by one scatter-add over (instance, weight
  entry, support pair), chunked, and the mean through the map M (`mean_map`, math.md §1.7);
  biases `b^l` on every neuron of block i. With M = C/S (the "sum") this is exactly
  `(1/S) Σ_t w_t^l ⊗ e_t^l (e_t^{l−1})ᵀ`; the default "union" reads each neuron below once.

Layer numbering follows `GivenMLP`: network layer 0 is the circuit's first layer, so a network of
circuits with K ReLU layers has L = K − 1 weight layers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from .assemble import CHUNK_ENTRIES, CompiledNetwork, layer_stack
from .config import SHARED_MEANS
from .layout import first_layer_fields, layout_fields
from .lower.given import GivenMLP

MEAN_PART = SHARED_MEANS[0]   # how the instances' mean weights are embedded (`mean_map`)


@dataclass(frozen=True, eq=False)
class GivenNetwork(CompiledNetwork):
    """A `CompiledNetwork` whose encoder writes the first circuit layer (module docstring): its
    `first_weights` (n_types, d, n_in_max) and `first_bias` (d,) are set (`Layout.written`)."""


def instance_weights(types: Sequence[GivenMLP], type_of: np.ndarray, supports: np.ndarray, n: int, *,
                     mean_part: str = MEAN_PART, chunk_entries: int = CHUNK_ENTRIES) -> list[torch.Tensor]:
    """W^1..W^L, each (D, D) float32: `(1/S) Σ_t Δw_t^l ⊗ e_t^l (e_t^{l−1})ᵀ + w̄^l ⊗ M^l`.

    Δw_t = w_t − w̄ is instance t's deviation from the instances' mean layer w̄ (`deviations`);
    M^l is the mean part's map between layer l − 1 and layer l (`mean_map`). The deviations'
    entries (t, i, j, s, s') are formed a chunk of instances at a time, in instance order, and
    accumulated in float64 with the mean part, so the weights are byte-identical for the same
    inputs whatever the chunk size."""
    d, L = types[0].d, types[0].L
    D, S = d * n, supports.shape[2]
    step = max(1, chunk_entries // (d * d * S * S))
    buf = torch.zeros(D * D, dtype=torch.float64)
    out = []
    for l in range(1, L + 1):
        mean, delta = deviations(types, type_of, l)
        buf.zero_()
        for lo in range(0, len(type_of), step):
            ts = np.arange(lo, min(lo + step, len(type_of)))
            _, flat, vals = embedded_entries(delta[ts], supports[l][ts], supports[l - 1][ts], n)
            buf.index_add_(0, torch.from_numpy(flat), torch.from_numpy(vals))
        W = buf.view(D, D)
        W += torch.from_numpy(np.kron(mean, mean_map(supports[l], supports[l - 1], n, mean_part)))
        out.append(W.to(torch.float32))
    return out


def deviations(types: Sequence[GivenMLP], type_of: np.ndarray, layer: int) -> tuple[np.ndarray, np.ndarray]:
    """(w̄ (d, d), Δw (T, d, d)): the instances' mean weights at form layer `layer` (1..L) and each
    instance's deviation from them."""
    stacked = np.stack([ty.weights[layer - 1] for ty in types])[type_of]           # (T, d, d)
    mean = stacked.mean(axis=0)
    return mean, stacked - mean


def embedded_entries(w: np.ndarray, sup_out: np.ndarray, sup_in: np.ndarray,
                     n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The non-zero entries of `(1/S)·w_t ⊗ e_t^l (e_t^{l−1})ᵀ` for a chunk of instances, w (C, d, d)
    and their supports (C, S) at layers l and l − 1: (instance within the chunk, flat index into
    the (D, D) layer, value), in (t, i, j, s, s') order, zero weights left out."""
    C, d, _ = w.shape
    S = sup_out.shape[1]
    D = d * n
    ii, jj = np.meshgrid(np.arange(d), np.arange(d), indexing="ij")
    base = (ii * n * D + jj * n).ravel()                                           # (d·d,) block offsets
    w = w.reshape(C, d * d) / S
    keep = w != 0
    pair = sup_out[:, :, None] * D + sup_in[:, None, :]                            # (C, S, S)
    flat = (base[None, :, None, None] + pair[:, None, :, :])[keep]                 # (K, S, S)
    t = np.broadcast_to(np.nonzero(keep)[0][:, None, None], flat.shape)
    vals = np.broadcast_to(w[keep][:, None, None], flat.shape)
    return t.reshape(-1), flat.reshape(-1), np.ascontiguousarray(vals).reshape(-1)


def pair_counts(sup_out: np.ndarray, sup_in: np.ndarray, n: int) -> np.ndarray:
    """C (n, n): how many instances hold neuron k at layer l and neuron k' at layer l − 1."""
    flat = (sup_out[:, :, None] * n + sup_in[:, None, :]).ravel()
    return np.bincount(flat, minlength=n * n).reshape(n, n).astype(np.float64)


def mean_map(sup_out: np.ndarray, sup_in: np.ndarray, n: int, how: str = MEAN_PART) -> np.ndarray:
    """M (n, n): how the instances' mean weights w̄ read layer l − 1 into layer l (math.md §1.5,
    "The shared mean"). Every instance has w̄ in its weights, so w̄ is embedded once for all of
    them, `w̄ ⊗ M`, instead of once per instance:

    - "sum": `C/S`, exactly what embedding every instance's w̄ separately gives. Where two
      instances hosted by neuron k also share a neuron k' below, k' is read twice: with one
      instance active, every neighbour that met it below adds w̄·a/S to it, always of one sign.
    - "union" (the default): neuron k reads every neuron of U_k, the union of the supports below of
      the instances it hosts, once, less the noise the |U_k| − S neurons that are not the active
      instance's carry, estimated as that many times the block's mean: row k is
      `(1[C > 0] − r_k) / (S·(1 − r_k))` with `r_k = (|U_k| − S)/n`, scaled so that an instance's
      own S neurons count 1/S each, exactly. With one instance active and the rest of the layer
      at 0 it reads exactly w̄·a; the subtraction keeps the noise of spuriously active neurons
      from compounding at high load. Rows of neurons nobody uses are 0.
    - "expected": `(C − ℓ^l (ℓ^{l−1})ᵀ / T)/S` (ℓ the loads): the sum, less its expectation over
      random assignments.
    """
    T, S = sup_out.shape
    C = pair_counts(sup_out, sup_in, n)
    if how == "sum":
        return C / S
    if how == "expected":
        ell_out, ell_in = (np.bincount(s.ravel(), minlength=n).astype(np.float64) for s in (sup_out, sup_in))
        return (C - np.outer(ell_out, ell_in) / T) / S
    if how != "union":
        raise ValueError(f"mean_part must be one of {', '.join(SHARED_MEANS)}, got {how!r}")
    U = np.minimum(C, 1.0)
    reach = U.sum(axis=1)                                                      # |U_k|
    r = np.where(reach > 0, (reach - S) / n, 0.0)
    return np.where(reach[:, None] > 0, (U - r[:, None]) / (S * (1.0 - r[:, None])), 0.0)


def given_network(types: Sequence[GivenMLP], type_of: np.ndarray, supports: np.ndarray, n: int, *,
                  layers=None, mean_part: str = MEAN_PART) -> GivenNetwork:
    """The cis2 network of instances of `types` on `supports` (L+1, T, S); `layers` the (W, b) pairs
    when already built (loading an artifact), else assembled here with `mean_part` (`mean_map`)."""
    type_of = np.asarray(type_of, dtype=np.int64)
    supports = np.asarray(supports, dtype=np.int64)
    if layers is None:
        bias = types[0].biases                                                 # shared (check_family)
        layers = [(W, torch.from_numpy(np.repeat(bias[l], n)).to(torch.float32))
                  for l, W in enumerate(instance_weights(types, type_of, supports, n, mean_part=mean_part))]
    return GivenNetwork(model=layer_stack(layers), **layout_fields(types, type_of, supports, n),
                        **first_layer_fields(types))
