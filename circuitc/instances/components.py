"""Ground truth for parameter decomposition: every layer's weights as the sum of one component per
instance, W^l = Σ_t C_t^l, with C_t^l = (1/S)·w_t^l ⊗ e_t^l (e_t^{l−1})ᵀ (math.md §1.2): instance
t's lowered weights placed on its own neurons. A row's active components are its active instances.

Constructions whose layers are such a sum (the coherent one) have components; the routed one does
not: its layers are position blocks shared by every instance routed to a position, which belong
to no single instance. The weights are the components' sum accumulated in float64 and rounded once
to float32, so the components add up to them to that rounding.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save

from ..errors import CircuitError, Diagnostic
from ..fileio import check_writable, write_atomic
from .compile import Compilation

__all__ = ["components", "write_components"]


def components(compiled: Compilation, layer: int) -> torch.Tensor:
    """Layer `layer` (1..L) as a sparse (T, D, D) float64 tensor, coalesced: slice t is C_t^l."""
    if not compiled.construction.instance_components:
        raise CircuitError(Diagnostic(
            f"the {compiled.config.construction} construction's layers are not a sum over instances, so they "
            f"have no per-instance components", hint="compile with `--construction coherent` for components"))
    net = compiled.network
    if not 1 <= layer <= net.L:
        raise ValueError(f"layer must lie in [1, {net.L}], got {layer}")
    n, S, D = net.n, net.S, net.D
    sup_out, sup_in = net.supports[layer], net.supports[layer - 1]                  # (T, S) each
    parts_t, parts_row, parts_col, parts_val = [], [], [], []
    for k, ty in enumerate(net.types):                                               # a handful of types
        ts = np.flatnonzero(net.type_of == k)
        i, j = np.nonzero(ty.weights[layer - 1])
        if len(ts) == 0 or len(i) == 0:
            continue
        shape = (len(ts), len(i), S, S)
        rows = i[None, :, None, None] * n + sup_out[ts][:, None, :, None]
        cols = j[None, :, None, None] * n + sup_in[ts][:, None, None, :]
        parts_t.append(np.broadcast_to(ts[:, None, None, None], shape).ravel())
        parts_row.append(np.broadcast_to(rows, shape).ravel())
        parts_col.append(np.broadcast_to(cols, shape).ravel())
        parts_val.append(np.broadcast_to((ty.weights[layer - 1][i, j] / S)[None, :, None, None], shape).ravel())
    index = np.stack([np.concatenate(p) if p else np.zeros(0, dtype=np.int64)
                      for p in (parts_t, parts_row, parts_col)])
    values = np.concatenate(parts_val) if parts_val else np.zeros(0)
    # The indices are in range by construction (supports lie in [0, n)), so no invariant check.
    return torch.sparse_coo_tensor(torch.from_numpy(index), torch.from_numpy(values), (net.T, D, D),
                                   check_invariants=False).coalesce()


def write_components(compiled: Compilation, path: str | os.PathLike, force: bool = False) -> Path:
    """Every layer's components as one safetensors file: `layer.{l}.indices` (3, nnz) int64
    (instance, row, column) and `layer.{l}.values` (nnz,) float64, with T, D and L in its metadata."""
    check_writable(path, force)                          # refuse before any work
    tensors = {}
    for l in range(1, compiled.network.L + 1):
        c = components(compiled, l)
        tensors[f"layer.{l}.indices"] = c.indices().contiguous()
        tensors[f"layer.{l}.values"] = c.values().contiguous()
    net = compiled.network
    data = save(tensors, metadata={"T": str(net.T), "D": str(net.D), "L": str(net.L),
                                   "layout": "C_t^l[row, col] = values at indices (t, row, col)"})
    write_atomic(path, data, force=force)
    return Path(path)
