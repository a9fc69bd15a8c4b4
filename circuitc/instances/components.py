"""Ground truth for parameter decomposition: every layer's weights as the sum of one component per
instance, plus a shared part where the construction has one,

    W^l = Σ_t C_t^l + w̄^l ⊗ M^l,    C_t^l = (1/S)·w_t^l ⊗ e_t^l (e_t^{l−1})ᵀ   (math.md §1.2),

instance t's weights placed on its own neurons. A row's active components are its active instances.
For the coherent construction w_t is the lowered circuit and there is no shared part; for the cis2
construction w_t is the circuit's deviation from the circuits' mean w̄, which is embedded once for
all of them through the map M (math.md §1.5, "The shared mean"). The routed construction has no
components: its layers are position blocks shared by every instance routed to a position. The
lookup construction's layers are all shared part, the decoder on every used position (M the
diagonal of used positions), and its circuits differ only in their read-outs U_t, which every
components file holds too (math.md §4.5). The weights are the parts' sum accumulated in float64
and rounded once to float32, so the parts add up to them to that rounding.
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
from .given_network import embedded_entries

__all__ = ["components", "shared_part", "readout_components", "write_components"]


def _parts(compiled: Compilation, layer: int):
    if not compiled.construction.instance_components:
        raise CircuitError(Diagnostic(
            f"the {compiled.config.construction} construction's layers are not a sum over instances, so they "
            f"have no per-instance components",
            hint="compile with `--construction coherent` (or cis2, for MLP circuits) for components"))
    net = compiled.network
    if not 1 <= layer <= net.L:
        raise ValueError(f"layer must lie in [1, {net.L}], got {layer}")
    return compiled.construction.layer_parts(compiled.plan, net, layer)


def components(compiled: Compilation, layer: int) -> torch.Tensor:
    """Layer `layer` (1..L)'s per-instance components as a sparse (T, D, D) float64 tensor,
    coalesced: slice t is C_t^l (empty where the whole layer is shared, as in the lookup
    construction)."""
    w, _, _ = _parts(compiled, layer)
    net = compiled.network
    if w is None:                   # every weight of the layer is in its shared part
        empty = np.zeros((3, 0), dtype=np.int64)
        return torch.sparse_coo_tensor(torch.from_numpy(empty), torch.zeros(0, dtype=torch.float64),
                                       (net.T, net.D, net.D), check_invariants=False).coalesce()
    t, flat, values = embedded_entries(w, net.supports[layer], net.supports[layer - 1], net.n)
    index = np.stack([t, flat // net.D, flat % net.D])
    # The indices are in range by construction (supports lie in [0, n)), so no invariant check.
    return torch.sparse_coo_tensor(torch.from_numpy(index), torch.from_numpy(values), (net.T, net.D, net.D),
                                   check_invariants=False).coalesce()


def shared_part(compiled: Compilation, layer: int) -> tuple[np.ndarray, np.ndarray] | None:
    """Layer `layer`'s shared part as its factors (w̄ (d, d), M (n, n)), the part being `np.kron(w̄, M)`;
    None when the construction has none."""
    _, mean, map_ = _parts(compiled, layer)
    return None if mean is None else (mean, map_)


def readout_components(compiled: Compilation) -> torch.Tensor:
    """Each instance's read-out from the last layer as a sparse (T, n_out_max, D) float64 tensor,
    coalesced: slice t is U_t, `U_t[j, i·n + s] = readout_t[j, i] / S` for s in t's last-layer
    support, so that instance t's outputs are `U_t @ A^L` (for a type read as a ratio,
    `RoutedMLP.normalized`, that divided by the same read-out of its `one` unit)."""
    net = compiled.network
    R = net.readout_table[net.type_of]                                  # (T, n_out, d)
    t, j, i = np.nonzero(R)
    sup = net.supports[net.L][t]                                        # (K, S)
    index = np.stack([np.repeat(t, net.S), np.repeat(j, net.S), (i[:, None] * net.n + sup).reshape(-1)])
    values = np.repeat(R[t, j, i] / net.S, net.S)
    return torch.sparse_coo_tensor(torch.from_numpy(index), torch.from_numpy(values),
                                   (net.T, net.n_out_max, net.D), check_invariants=False).coalesce()


def write_components(compiled: Compilation, path: str | os.PathLike, force: bool = False) -> Path:
    """Every layer's components as one safetensors file: `layer.{l}.indices` (3, nnz) int64
    (instance, row, column) and `layer.{l}.values` (nnz,) float64, and where the construction has a
    shared part `layer.{l}.shared_mean` (d, d) and `layer.{l}.shared_map` (n, n) float64 (the part is
    their Kronecker product), with T, D and L in its metadata."""
    check_writable(path, force)                          # refuse before any work
    tensors = {}
    for l in range(1, compiled.network.L + 1):
        c = components(compiled, l)
        tensors[f"layer.{l}.indices"] = c.indices().contiguous()
        tensors[f"layer.{l}.values"] = c.values().contiguous()
        shared = shared_part(compiled, l)
        if shared is not None:
            tensors[f"layer.{l}.shared_mean"] = torch.from_numpy(np.ascontiguousarray(shared[0]))
            tensors[f"layer.{l}.shared_map"] = torch.from_numpy(np.ascontiguousarray(shared[1]))
    u = readout_components(compiled)
    tensors["readout.indices"] = u.indices().contiguous()
    tensors["readout.values"] = u.values().contiguous()
    net = compiled.network
    layout = "C_t^l[row, col] = values at indices (t, row, col)"
    if any(k.endswith("shared_mean") for k in tensors):
        layout += "; W^l = sum_t C_t^l + kron(shared_mean, shared_map)"
    layout += "; U_t[output, neuron] = readout.values at readout.indices (t, output, neuron)"
    data = save(tensors, metadata={"T": str(net.T), "D": str(net.D), "L": str(net.L), "layout": layout})
    write_atomic(path, data, force=force)
    return Path(path)
