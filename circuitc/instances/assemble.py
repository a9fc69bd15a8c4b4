"""Assembly: T lowered circuits (`SmallMLP`s) → one superposed ReLU network of width D = d·n.

Layout (math.md §1.1). Every network layer is d blocks of n neurons; network neuron `i*n + k` is
neuron k of block i. Instance t owns, at layer l, the S-hot support `supports[l, t]` (S neuron
indices in [0, n)), the same in every block, so block i holds neuron i of every instance. Layers are
numbered 0..L; layer 0 is the input vector.

Weights (math.md §1.2). With `w_t^l` the (d × d) layer-l weights of instance t's circuit,

    W^l[i*n + k, j*n + k'] = (1/S) Σ_t w_t^l[i, j] · [k ∈ supports[l, t]] · [k' ∈ supports[l-1, t]],

i.e. `W^l = Σ_t E_t^l w_t^l U_t^{l-1}` with embedding `E_t = I_d ⊗ e_t` and unembedding
`U_t = E_tᵀ / S`. The bias of network neuron `i*n + k` is `layer_bias(d, margin)[i]`
(small_mlp.py): a neuron index has one bias shared by every circuit (the two on-indicator units
their clean-step biases, every other unit `-margin`), so all circuits must share one margin.

Encoding puts instance t's layer-0 vector (`a0[ON_HI] = 1`, inputs at `input_index`) on its layer-0
support; the read-off of instance t at layer l is the mean of its S neurons in each block
(`â_t^l = U_t^l A^l`); the outputs are `readout @ â_t^L` (layout.py, without torch: a
`CompiledNetwork` is a `Layout` and its torch layers).

The weights are built by a vectorised scatter-add over (instance, weight entry, support pair),
chunked so that the index arrays stay small, accumulated in float64 and stored as float32. The
order of the additions is fixed (type, instance, entry, support pair), so the same inputs always
give byte-identical weights, whatever the chunk size.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
import torch
from torch import nn

from .layout import Layout, check_routed, layout_fields, position_groups, position_tables
from .lower.small_mlp import SmallMLP, layer_bias

# A type in at most this many positions is run as one product over all rows (`PositionLocal._run`):
# measured faster up to 8 positions and slower from 16, for d = 8 to 200.
FEW_POSITIONS = 8

# Entries (index + value, 16 bytes each) of one scatter-add chunk: 4 Mi entries = 64 MiB.
CHUNK_ENTRIES = 1 << 22


class PositionLocal(nn.Module):
    """One layer of a routed network, stored as what it is: position k (neuron k of every block)
    reads only position k of the layer below and runs the lowered circuit of the type that uses
    it, so the layer is `n` blocks of d × d weights, one per type, not a D × D matrix.

    `weight` (types + 1, d, d) and `bias` (types + 1, d) hold the types' layer (the last entry is
    zero: positions nobody uses); `position_type` (n,) says which one each position runs. The
    forward pass is one product per type over all of its positions (`_run`; `layout.position_groups`:
    a slice of the (batch, d, n) blocks where the type's positions are one range, as the routed
    allocation lays them out, else after one gather), the results joined in one copy; `dense()`
    gives the (D, D) matrix and (D,) bias of the same layer (neuron i·n + k is unit i of position k)."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor, position_type: torch.Tensor):
        super().__init__()
        self.weight = nn.Parameter(weight)
        self.bias = nn.Parameter(bias)
        self.register_buffer("position_type", position_type)
        order, self.runs = position_groups(position_type.cpu().numpy(), weight.shape[0])
        # Positions nobody uses come last in the order, after every run: they output 0.
        self.unused = int(position_type.shape[0]) - (self.runs[-1][2] if self.runs else 0)
        # Where the types' positions are not in ranges of their own: the order that makes them so,
        # and its inverse (buffers, so that `.to(device)` moves them, derived from `position_type`
        # and so not in the state dict); None (no gather) otherwise.
        self.register_buffer("order", None if order is None else torch.from_numpy(order), persistent=False)
        self.register_buffer("inverse", None if order is None else torch.from_numpy(np.argsort(order)),
                             persistent=False)

    @property
    def d(self) -> int:
        return int(self.weight.shape[1])

    @property
    def n(self) -> int:
        return int(self.position_type.shape[0])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, d = x.shape[0], self.d
        blocks = x.reshape(batch, d, self.n)                                     # (batch, d, n)
        if self.order is not None:
            blocks = blocks.index_select(2, self.order)
        pieces = [self._run(k, blocks[:, :, lo:hi]) for k, lo, hi in self.runs]
        if self.unused:
            pieces.append(blocks.new_zeros(batch, d, self.unused))
        out = torch.cat(pieces, dim=2)
        if self.order is not None:
            out = out.index_select(2, self.inverse)
        return out.reshape(batch, d * self.n)

    def _run(self, k: int, blocks: torch.Tensor) -> torch.Tensor:
        """Type k's d × d block applied to its positions, `blocks` (batch, d, positions)."""
        batch, d, positions = blocks.shape
        if positions > FEW_POSITIONS:
            # One product per row, the block broadcast over the batch (no copy).
            return torch.baddbmm(self.bias[k][None, :, None], self.weight[k].expand(batch, d, d), blocks)
        # A type in a handful of positions (netlist types in a mix): a batch of tiny products is
        # slow, one product over every row's positions at once 1.5 to 16 times faster, at the
        # price of one transposed copy in and out (benchmarks/position_blocks.py).
        flat = blocks.permute(1, 0, 2).reshape(d, batch * positions)
        out = torch.addmm(self.bias[k][:, None], self.weight[k], flat)
        return out.reshape(d, batch, positions).permute(1, 0, 2)

    def dense(self) -> tuple[torch.Tensor, torch.Tensor]:
        d, n = self.d, self.n
        k = torch.arange(n, device=self.weight.device)
        i = torch.arange(d, device=self.weight.device)
        W = torch.zeros(d * n, d * n, dtype=self.weight.dtype, device=self.weight.device)
        rows = (i[:, None, None] * n + k[None, None, :]).expand(d, d, n)
        cols = (i[None, :, None] * n + k[None, None, :]).expand(d, d, n)
        W[rows, cols] = self.weight.detach()[self.position_type].permute(1, 2, 0)
        b = self.bias.detach()[self.position_type].T.reshape(-1).clone()
        return W, b


@dataclass(frozen=True, eq=False)
class CompiledNetwork(Layout):
    """The superposed network: its `Layout` (the maps between instances and its neurons, numpy
    arrays on the host) and its layers, `model`.

    `model` is a plain `nn.Sequential` of L (layer, `ReLU`) pairs, float32, so standard hooks and
    `.to(device)` work: each layer a `Linear(D, D)`, or for a routed network a `PositionLocal`
    (the same map, stored as blocks); `to_dense()` gives the same network with `Linear` layers only.
    """

    model: nn.Sequential

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def to(self, device) -> "CompiledNetwork":
        """Move the model (in place, as `nn.Module.to` does) and return self."""
        self.model.to(device)
        return self

    def linears(self) -> list[nn.Module]:
        """The L layers (`Linear` or `PositionLocal`), without the ReLUs."""
        return [m for m in self.model if not isinstance(m, nn.ReLU)]

    def dense_layers(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """(W (D, D), b (D,)) of every layer, whatever its storage."""
        return [m.dense() if isinstance(m, PositionLocal) else (m.weight.detach(), m.bias.detach())
                for m in self.linears()]

    def to_dense(self) -> nn.Sequential:
        """The same network as an `nn.Sequential` of `Linear(D, D)` and `ReLU`, for tools that need
        dense layers (equal to `model` up to float32 rounding of the summation order)."""
        modules: list[nn.Module] = []
        for W, b in self.dense_layers():
            modules += [_linear(W.clone(), b.clone()), nn.ReLU()]
        return nn.Sequential(*modules)

    # ------------------------------------------------------------ instances ↔ neurons

    def encode(self, instances: np.ndarray, inputs: np.ndarray | None = None, *,
               device=None) -> torch.Tensor:
        """The network's layer-0 vectors (`Layout.layer0_vectors`), (batch, D) float32 on `device`
        (default: the model's)."""
        A0 = self.layer0_vectors(instances, inputs)
        dev = self.device if device is None else device
        return torch.from_numpy(A0).to(device=dev, dtype=torch.float32)

    def encode_dicts(self, rows: Sequence[Mapping[int, np.ndarray]], *, device=None) -> torch.Tensor:
        """`encode` for a batch given as one {instance: input vector} mapping per row.

        Instances absent from a row are inactive; each vector has that instance's own input count.
        """
        batch = len(rows)
        z = max((len(r) for r in rows), default=0)
        inst = np.full((batch, max(z, 1)), -1, dtype=np.int64)
        inputs = np.zeros((batch, max(z, 1), self.n_in_max))
        for b, row in enumerate(rows):
            for slot, (t, x) in enumerate(row.items()):
                t = int(t)
                if not 0 <= t < self.T:
                    raise ValueError(f"row {b}: no instance {t} (the network holds {self.T})")
                x = np.asarray(x, dtype=np.float64).ravel()
                want = int(self.n_inputs[self.type_of[t]])
                if len(x) != want:
                    raise ValueError(f"row {b}: instance {t} takes {want} inputs, got {len(x)}")
                inst[b, slot] = t
                inputs[b, slot, :want] = x
        return self.encode(inst, inputs, device=device)

    def readout(self, A: torch.Tensor, layer: int, instances: np.ndarray) -> np.ndarray:
        """Read-offs `â_t^l[i] = (1/S) Σ_s A[b, i*n + supports[layer, t, s]]`, (batch, z, d) float64.

        `A` (batch, D) is the network's layer-`layer` activation (any device; gathered there);
        unused slots (instance -1) read NaN.
        """
        cols, active = self.read_index(layer, instances)
        batch, z = active.shape
        if A.shape != (batch, self.D):
            raise ValueError(f"activations must have shape {(batch, self.D)}, got {tuple(A.shape)}")
        idx = torch.from_numpy(cols.reshape(batch, -1)).to(A.device)
        got = torch.gather(A, 1, idx).detach().to("cpu").numpy()
        return self.read_means(got.reshape(batch, z, self.d, self.S), active)

    def decode(self, A_L: torch.Tensor, instances: np.ndarray) -> np.ndarray:
        """Outputs `readout @ â_t^L` per instance, (batch, z, n_out_max) float64 (`Layout.outputs`).

        Outputs past an instance's own output count, and every output of an unused slot, are NaN.
        """
        return self.outputs(self.readout(A_L, self.L, instances), instances)

    # ------------------------------------------------------------ running

    def forward_layers(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Activations of every layer 0..L (layer 0 is `x`), on the model's device."""
        x = x.to(self.device)
        out = [x]
        with torch.no_grad():
            for m in self.model:
                x = m(x)
                if isinstance(m, nn.ReLU):
                    out.append(x)
        return out

    def run(self, instances: np.ndarray, inputs: np.ndarray | None = None) -> np.ndarray:
        """encode → model → decode: (batch, z, n_out_max) outputs per listed instance."""
        with torch.no_grad():
            A_L = self.model(self.encode(instances, inputs))
        return self.decode(A_L, instances)


# ---------------------------------------------------------------- building

def assemble_weights(types: Sequence[SmallMLP], type_of: np.ndarray, supports: np.ndarray, n: int, *,
                     chunk_entries: int = CHUNK_ENTRIES) -> list[torch.Tensor]:
    """W^1..W^L, each (D, D) float32 on the CPU, by scatter-add (math.md §1.2).

    `types` must already share (d, L) (see `assemble`). For every layer and type, the non-zero
    entries (i, j, w) of the type's weights are gathered once; then for a chunk of that type's
    instances all flat indices (t, entry, s, s') → (i*n + sup[l,t,s]) * D + (j*n + sup[l-1,t,s'])
    are formed at once and accumulated with `index_add_` into a float64 buffer.
    """
    d, L = types[0].d, types[0].L
    D = d * n
    S = supports.shape[2]
    members = [np.flatnonzero(type_of == k) for k in range(len(types))]
    buf = torch.zeros(D * D, dtype=torch.float64)
    out = []
    for l in range(1, L + 1):
        buf.zero_()
        # Pair part of the flat index, sup[l,t,s]*D + sup[l-1,t,s'], per instance: (T, S, S).
        pair = supports[l][:, :, None] * D + supports[l - 1][:, None, :]
        for k, ty in enumerate(types):
            if len(members[k]) == 0:
                continue
            w = ty.weights[l - 1]
            i, j = np.nonzero(w)
            if len(i) == 0:
                continue
            base = i.astype(np.int64) * n * D + j.astype(np.int64) * n             # (K,)
            val = torch.from_numpy(w[i, j] / S)                                     # (K,) float64
            per_instance = len(i) * S * S
            step = max(1, chunk_entries // per_instance)
            for start in range(0, len(members[k]), step):
                ts = members[k][start:start + step]
                flat = base[None, :, None, None] + pair[ts][:, None, :, :]          # (C, K, S, S)
                src = val.view(1, -1, 1, 1).expand(len(ts), -1, S, S).reshape(-1)
                buf.index_add_(0, torch.from_numpy(flat.reshape(-1)), src)
        out.append(buf.view(D, D).to(torch.float32))
    return out


def assemble(types: Sequence[SmallMLP], type_of: np.ndarray, supports: np.ndarray, n: int, *,
             chunk_entries: int = CHUNK_ENTRIES) -> CompiledNetwork:
    """The superposed network of T instances of `types` (math.md §1.1–1.2).

    `type_of` (T,): the type of each instance; `supports` (L+1, T, S): each instance's S neurons
    within a block at layers 0..L (e.g. `layer_supports(alloc, L + 1, seed)[0]`); `n`: neurons per
    block, so the width is D = d·n. Types of different width or depth are padded to the largest
    (`SmallMLP.padded`); all must share one margin.
    """
    fields = layout_fields(types, type_of, supports, n)
    types = fields["types"]
    weights = assemble_weights(types, fields["type_of"], fields["supports"], n, chunk_entries=chunk_entries)
    bias = torch.from_numpy(np.repeat(layer_bias(types[0].d, types[0].margin), n)).to(torch.float32)
    return CompiledNetwork(model=layer_stack([(W, bias.clone()) for W in weights]), **fields)


def network_from_layers(types: Sequence[SmallMLP], type_of: np.ndarray, supports: np.ndarray, n: int,
                        layers: Sequence[tuple[torch.Tensor, torch.Tensor] | nn.Module]) -> CompiledNetwork:
    """A `CompiledNetwork` around given layers, (weight, bias) tensors or modules: what `assemble`
    builds after its scatter-add, and what loading an artifact rebuilds without one. Checks the
    layout the same way (`layout.layout_fields`)."""
    return CompiledNetwork(model=layer_stack(layers), **layout_fields(types, type_of, supports, n))


def layer_stack(layers: Sequence[tuple[torch.Tensor, torch.Tensor] | nn.Module]) -> nn.Sequential:
    """The `nn.Sequential` of (layer, `ReLU`) pairs of given layers: modules, or (weight, bias)
    tensors made `Linear`."""
    modules: list[nn.Module] = []
    for layer in layers:
        modules += [layer if isinstance(layer, nn.Module) else _linear(*layer), nn.ReLU()]
    return nn.Sequential(*modules)


def _linear(W: torch.Tensor, b: torch.Tensor) -> nn.Linear:
    # Built on the meta device so that no default initialisation is computed and discarded.
    lin = nn.Linear(W.shape[1], W.shape[0], device="meta")
    lin.weight = nn.Parameter(W)
    lin.bias = nn.Parameter(b)
    return lin


def position_layers(types: Sequence[SmallMLP], type_of: np.ndarray, supports: np.ndarray,
                    n: int) -> list[PositionLocal]:
    """The routed construction's layers (`layout.position_tables`): position k runs the lowered
    circuit of the type whose instances use it (positions nobody uses hold nothing); `types`
    share (d, L)."""
    weights, biases, position_type = position_tables(types, type_of, supports, n)
    index = torch.from_numpy(position_type)
    return [PositionLocal(torch.from_numpy(weights[l]).to(torch.float32), torch.from_numpy(biases[l]).to(torch.float32),
                          index.clone()) for l in range(len(weights))]


def assemble_routed(types: Sequence[SmallMLP], type_of: np.ndarray, supports: np.ndarray, n: int) -> CompiledNetwork:
    """The routed network of T instances (Config.construction = "routed"): `types` routed
    lowerings (`lower/routed.py`), `supports` (L+1, T, S) the same positions at every layer (only
    layer 0's, where inputs are written, and layer L's, where outputs are read, matter). Its
    layers are `PositionLocal`: parameters grow with the types, not with D²."""
    fields = layout_fields(types, type_of, supports, n)
    check_routed(fields["types"])
    layers = position_layers(fields["types"], fields["type_of"], fields["supports"], n)
    return CompiledNetwork(model=layer_stack(layers), **fields)
