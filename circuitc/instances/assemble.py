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
(`â_t^l = U_t^l A^l`); the outputs are `readout @ â_t^L`.

The weights are built by a vectorised scatter-add over (instance, weight entry, support pair),
chunked so that the index arrays stay small, accumulated in float64 and stored as float32. The
order of the additions is fixed (type, instance, entry, support pair), so the same inputs always
give byte-identical weights, whatever the chunk size.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Mapping, Sequence

import numpy as np
import torch
from torch import nn

from ..errors import CircuitError, Diagnostic
from .lower.small_mlp import ON_HI, RoutedMLP, SmallMLP, layer_bias

# Entries (index + value, 16 bytes each) of one scatter-add chunk: 4 Mi entries = 64 MiB.
CHUNK_ENTRIES = 1 << 22


class PositionLocal(nn.Module):
    """One layer of a routed network, stored as what it is: position k (neuron k of every block)
    reads only position k of the layer below and runs the lowered circuit of the type that uses
    it, so the layer is `n` blocks of d × d weights, one per type, not a D × D matrix.

    `weight` (types + 1, d, d) and `bias` (types + 1, d) hold the types' layer (the last entry is
    zero: positions nobody uses); `position_type` (n,) says which one each position runs. The
    forward pass is one product per type over its positions; `dense()` gives the (D, D) matrix and
    (D,) bias of the same layer (neuron i·n + k is unit i of position k)."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor, position_type: torch.Tensor):
        super().__init__()
        self.weight = nn.Parameter(weight)
        self.bias = nn.Parameter(bias)
        self.register_buffer("position_type", position_type)
        # The positions of each type, so that the forward pass is one dense product per type (a
        # handful) over all of its positions at once, not one small product per position.
        for k in range(weight.shape[0] - 1):
            self.register_buffer(f"positions_{k}", torch.nonzero(position_type == k).flatten())

    @property
    def d(self) -> int:
        return int(self.weight.shape[1])

    @property
    def n(self) -> int:
        return int(self.position_type.shape[0])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        blocks = x.reshape(x.shape[0], self.d, self.n)                          # (batch, d, n)
        out = torch.zeros_like(blocks)
        for k in range(self.weight.shape[0] - 1):
            where = getattr(self, f"positions_{k}")
            out[:, :, where] = torch.einsum("ij,bjp->bip", self.weight[k], blocks[:, :, where]) \
                + self.bias[k][:, None]
        return out.reshape(x.shape[0], self.d * self.n)

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
class CompiledNetwork:
    """The superposed network and the maps between instances and its neurons.

    `model` is a plain `nn.Sequential` of L (layer, `ReLU`) pairs, float32, so standard hooks and
    `.to(device)` work: each layer a `Linear(D, D)`, or for a routed network a `PositionLocal`
    (the same map, stored as blocks); `to_dense()` gives the same network with `Linear` layers only.
    Every other field is a numpy array on the host.
    """

    model: nn.Sequential
    types: tuple[SmallMLP, ...]     # padded to a common (d, L)
    type_of: np.ndarray             # (T,) int64: index into `types` per instance
    supports: np.ndarray            # (L+1, T, S) int64: neuron indices in [0, n)
    n: int
    margin: float
    input_table: np.ndarray         # (n_types, n_in_max) int64: input_index per type, -1 padded
    readout_table: np.ndarray       # (n_types, n_out_max, d) float64: readout per type, 0 padded
    n_inputs: np.ndarray            # (n_types,) int64
    n_outputs: np.ndarray           # (n_types,) int64

    # ------------------------------------------------------------ figures

    @property
    def L(self) -> int:
        return int(self.supports.shape[0]) - 1

    @property
    def T(self) -> int:
        return int(self.supports.shape[1])

    @property
    def S(self) -> int:
        return int(self.supports.shape[2])

    @property
    def d(self) -> int:
        return self.types[0].d

    @property
    def D(self) -> int:
        return self.d * self.n

    @property
    def n_in_max(self) -> int:
        return int(self.input_table.shape[1])

    @property
    def n_out_max(self) -> int:
        return int(self.readout_table.shape[1])

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

    def _check_instances(self, instances: np.ndarray) -> np.ndarray:
        inst = np.asarray(instances)
        if inst.ndim != 2 or not np.issubdtype(inst.dtype, np.integer):
            raise ValueError(f"instances must be a (batch, z) integer array, got shape {inst.shape}, "
                             f"dtype {inst.dtype}")
        inst = inst.astype(np.int64, copy=False)
        if inst.size and (inst.min() < -1 or inst.max() >= self.T):
            raise ValueError(f"instance ids must lie in [0, {self.T}) or be -1 (unused slot)")
        return inst

    def _checked_rows(self, instances: np.ndarray) -> np.ndarray:
        """`instances` as encoding takes them: checked, and no instance twice in a row."""
        inst = self._check_instances(instances)
        if inst.shape[1] > 1:
            srt = np.sort(inst, axis=1)
            if np.any((srt[:, 1:] == srt[:, :-1]) & (srt[:, 1:] >= 0)):
                raise ValueError("an instance appears twice in one row of `instances`")
        return inst

    def _checked_inputs(self, inputs: np.ndarray | None, batch: int, z: int) -> np.ndarray:
        if inputs is None:
            return np.zeros((batch, z, self.n_in_max))
        inputs = np.asarray(inputs, dtype=np.float64)
        if inputs.shape != (batch, z, self.n_in_max):
            raise ValueError(f"inputs must have shape {(batch, z, self.n_in_max)}, got {inputs.shape}")
        return inputs

    def encode(self, instances: np.ndarray, inputs: np.ndarray | None = None, *,
               device=None) -> torch.Tensor:
        """The network's layer-0 vectors, (batch, D) float32 on `device` (default: the model's).

        `instances` (batch, z): the active instances of each row, -1 for an unused slot.
        `inputs` (batch, z, n_in_max): each instance's inputs in `input_bits` order, padded to the
        widest type; entries past an instance's own input count are ignored. None: all zero.
        Instance t's layer-0 vector (`a0[ON_HI] = 1`, inputs at its `input_index`) is added onto
        its layer-0 support in every block: `A0[b, i*n + supports[0, t, s]] += a0_t[i]`.
        """
        inst = self._checked_rows(instances)
        batch, z = inst.shape
        inputs = self._checked_inputs(inputs, batch, z)
        d, n, D = self.d, self.n, self.D
        b, s = np.nonzero(inst >= 0)                                   # active slots, row by row
        t = inst[b, s]
        a0 = self.written(self.type_of[t], inputs[b, s])              # (m, d)
        # Flat index of (slot, i, s): b*D + i*n + supports[0, t, s].
        flat = b[:, None, None] * D + np.arange(d)[None, :, None] * n + self.supports[0][t][:, None, :]
        vals = np.broadcast_to(a0[..., None], flat.shape)
        A0 = np.bincount(flat.ravel(), weights=vals.ravel(), minlength=batch * D).reshape(batch, D)
        if self.first_layer_bias is not None:       # the written values are pre-activations
            A0 = np.maximum(A0 + np.repeat(self.first_layer_bias, n)[None, :], 0.0)
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

        `A` (batch, D) is the network's layer-`layer` activation (any device); unused slots
        (instance -1) read NaN.
        """
        if not 0 <= layer <= self.L:
            raise ValueError(f"layer must lie in [0, {self.L}], got {layer}")
        inst = self._check_instances(instances)
        batch, z = inst.shape
        if A.shape != (batch, self.D):
            raise ValueError(f"activations must have shape {(batch, self.D)}, got {tuple(A.shape)}")
        active = inst >= 0
        sup = self.supports[layer][np.where(active, inst, 0)]        # (batch, z, S)
        cols = np.arange(self.d)[None, None, :, None] * self.n + sup[:, :, None, :]  # (batch, z, d, S)
        idx = torch.from_numpy(cols.reshape(batch, -1)).to(A.device)
        got = torch.gather(A, 1, idx).detach().to("cpu", torch.float64).numpy()
        ahat = got.reshape(batch, z, self.d, self.S).sum(axis=-1) / self.S
        ahat[~active] = np.nan
        return ahat

    def decode(self, A_L: torch.Tensor, instances: np.ndarray) -> np.ndarray:
        """Outputs `readout @ â_t^L` per instance, (batch, z, n_out_max) float64.

        Outputs past an instance's own output count, and every output of an unused slot, are NaN.
        """
        inst = self._check_instances(instances)
        ahat = self.readout(A_L, self.L, inst)
        active = inst >= 0
        ty = self.type_of[np.where(active, inst, 0)]                  # (batch, z)
        R = self.readout_table[ty]                                    # (batch, z, n_out_max, d)
        y = np.einsum("bzod,bzd->bzo", R, np.where(active[..., None], ahat, 0.0))
        valid = (np.arange(self.n_out_max)[None, None, :] < self.n_outputs[ty][..., None]) & active[..., None]
        y[~valid] = np.nan
        return y

    # ------------------------------------------------------------ each instance alone

    @cached_property
    def _stacked(self) -> tuple[np.ndarray, np.ndarray]:
        """Every type's weights (types, L, d, d) and biases (types, L, d), stacked once."""
        return (np.stack([ty.weights for ty in self.types]), np.stack([ty.layer_biases() for ty in self.types]))

    @property
    def first_layer_bias(self) -> np.ndarray | None:
        """(d,): when encoding writes pre-activations (`written`), the bias then applied with a ReLU."""
        return None

    def written(self, ty: np.ndarray, inputs: np.ndarray) -> np.ndarray:
        """What `encode` writes onto the layer-0 support of each of m active instances of types `ty`
        (m,) with inputs (m, n_in_max): (m, d), `on` at ON_HI and the inputs at the type's
        `input_index` (column d takes the padded input slots and is dropped)."""
        a = np.zeros((len(ty), self.d + 1))
        a[:, ON_HI] = 1.0
        col = self.input_table[ty]
        a[np.arange(len(ty))[:, None], np.where(col >= 0, col, self.d)] = inputs
        return a[:, :self.d]

    def layer0(self, ty: np.ndarray, inputs: np.ndarray) -> np.ndarray:
        """The layer-0 activations (m, d) of m active instances, each alone."""
        a = self.written(ty, inputs)
        return a if self.first_layer_bias is None else np.maximum(a + self.first_layer_bias, 0.0)

    def alone(self, instances: np.ndarray, inputs: np.ndarray) -> list[np.ndarray]:
        """Every layer's exact activations of each listed instance run alone, without superposition:
        L+1 arrays (batch, z, d), NaN for unused slots; one batched product per layer over all the
        listed instances, whatever their types."""
        inst = np.asarray(instances, dtype=np.int64)
        b, s = np.nonzero(inst >= 0)
        ty = self.type_of[inst[b, s]]
        W, B = self._stacked
        a = self.layer0(ty, np.asarray(inputs, dtype=np.float64)[b, s])
        values = [a]
        for l in range(self.L):
            a = np.maximum(np.einsum("mij,mj->mi", W[ty, l], a) + B[ty, l], 0.0)
            values.append(a)
        out = []
        for v in values:
            full = np.full(inst.shape + (self.d,), np.nan)
            full[b, s] = v
            out.append(full)
        return out

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

def _common_types(types: Sequence[SmallMLP]) -> tuple[SmallMLP, ...]:
    if not types:
        raise CircuitError(Diagnostic("nothing to assemble: no circuit types"))
    for ty in types:
        ty.check()
    margins = sorted({float(ty.margin) for ty in types})
    if len(margins) > 1:
        raise CircuitError(Diagnostic(
            f"circuits with different noise margins cannot share one network: {margins}",
            hint="a network neuron's bias is shared by every circuit that uses it; "
                 "lower every circuit with the same margin"))
    gains = sorted({float(ty.gain) for ty in types})
    if len(gains) > 1:
        raise CircuitError(Diagnostic(
            f"circuits with different gains cannot share one network: {gains}",
            hint="the on-indicator neurons are shared by every circuit; lower every circuit with the same gain"))
    d = max(ty.d for ty in types)
    L = max(ty.L for ty in types)
    if L < 1:
        raise CircuitError(Diagnostic("nothing to assemble: every circuit has zero layers",
                                      hint="a network needs at least one ReLU layer"))
    return tuple(ty if (ty.d, ty.L) == (d, L) else ty.padded(d, L) for ty in types)


def _check_layout(types: Sequence[SmallMLP], type_of: np.ndarray, supports: np.ndarray, n: int) -> None:
    L = types[0].L
    problems = []
    if type_of.ndim != 1:
        problems.append(f"type_of must be a (T,) array, got shape {type_of.shape}")
    elif type_of.size and (type_of.min() < 0 or type_of.max() >= len(types)):
        problems.append(f"type_of must index the {len(types)} circuit types")
    if supports.ndim != 3 or supports.shape[0] != L + 1 or supports.shape[1] != type_of.shape[0]:
        problems.append(f"supports must have shape (L+1, T, S) = ({L + 1}, {type_of.shape[0]}, S), "
                        f"got {supports.shape}")
    elif supports.size and (supports.min() < 0 or supports.max() >= n):
        problems.append(f"support neurons must lie in [0, n) = [0, {n})")
    elif supports.shape[2] > 1 and np.any(np.diff(np.sort(supports, axis=2), axis=2) == 0):
        problems.append("a support names one neuron twice")
    if supports.ndim == 3 and supports.shape[2] < 1:
        problems.append("supports must hold at least one neuron (S >= 1)")
    if problems:
        raise CircuitError([Diagnostic(f"cannot assemble: {p}") for p in problems])


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
    types = _common_types(types)
    type_of = np.asarray(type_of, dtype=np.int64)
    supports = np.asarray(supports, dtype=np.int64)
    _check_layout(types, type_of, supports, n)
    weights = assemble_weights(types, type_of, supports, n, chunk_entries=chunk_entries)
    bias = torch.from_numpy(np.repeat(layer_bias(types[0].d, types[0].margin), n)).to(torch.float32)
    return network_from_layers(types, type_of, supports, n, [(W, bias.clone()) for W in weights])


def network_from_layers(types: Sequence[SmallMLP], type_of: np.ndarray, supports: np.ndarray, n: int,
                        layers: Sequence[tuple[torch.Tensor, torch.Tensor] | nn.Module]) -> CompiledNetwork:
    """A `CompiledNetwork` around given layers, (weight, bias) tensors or modules: what `assemble`
    builds after its scatter-add, and what loading an artifact rebuilds without one. Checks the
    layout the same way."""
    types = _common_types(types)
    type_of = np.asarray(type_of, dtype=np.int64)
    supports = np.asarray(supports, dtype=np.int64)
    _check_layout(types, type_of, supports, n)
    modules: list[nn.Module] = []
    for layer in layers:
        modules += [layer if isinstance(layer, nn.Module) else _linear(*layer), nn.ReLU()]
    d = types[0].d
    n_in = np.array([len(ty.input_index) for ty in types], dtype=np.int64)
    n_out = np.array([ty.readout.shape[0] for ty in types], dtype=np.int64)
    input_table = np.full((len(types), int(n_in.max(initial=0))), -1, dtype=np.int64)
    readout_table = np.zeros((len(types), int(n_out.max(initial=0)), d))
    for k, ty in enumerate(types):
        input_table[k, :n_in[k]] = ty.input_index
        readout_table[k, :n_out[k]] = ty.readout
    return CompiledNetwork(model=nn.Sequential(*modules), types=types, type_of=type_of, supports=supports, n=n,
                           margin=float(types[0].margin), input_table=input_table, readout_table=readout_table,
                           n_inputs=n_in, n_outputs=n_out)


def _linear(W: torch.Tensor, b: torch.Tensor) -> nn.Linear:
    # Built on the meta device so that no default initialisation is computed and discarded.
    lin = nn.Linear(W.shape[1], W.shape[0], device="meta")
    lin.weight = nn.Parameter(W)
    lin.bias = nn.Parameter(b)
    return lin


def position_layers(types: Sequence[SmallMLP], type_of: np.ndarray, supports: np.ndarray,
                    n: int) -> list[PositionLocal]:
    """The routed construction's layers: position k runs the lowered circuit of the type whose
    instances use it (positions nobody uses hold nothing); `types` share (d, L)."""
    d, L = types[0].d, types[0].L
    position_type = np.full(n, len(types), dtype=np.int64)                  # unused: the zero entry
    position_type[supports[0].ravel()] = np.repeat(type_of, supports.shape[2])
    weights = np.zeros((L, len(types) + 1, d, d))
    biases = np.zeros((L, len(types) + 1, d))
    for k, ty in enumerate(types):          # a handful of types
        weights[:, k] = ty.weights
        biases[:, k] = ty.layer_biases()
    index = torch.from_numpy(position_type)
    return [PositionLocal(torch.from_numpy(weights[l]).to(torch.float32), torch.from_numpy(biases[l]).to(torch.float32),
                          index.clone()) for l in range(L)]


def assemble_routed(types: Sequence[SmallMLP], type_of: np.ndarray, supports: np.ndarray, n: int) -> CompiledNetwork:
    """The routed network of T instances (Config.construction = "routed"): `types` routed
    lowerings (`lower/routed.py`), `supports` (L+1, T, S) the same positions at every layer (only
    layer 0's, where inputs are written, and layer L's, where outputs are read, matter). Its
    layers are `PositionLocal`: parameters grow with the types, not with D²."""
    types = _common_types(types)
    type_of = np.asarray(type_of, dtype=np.int64)
    supports = np.asarray(supports, dtype=np.int64)
    _check_layout(types, type_of, supports, n)
    if not all(isinstance(ty, RoutedMLP) for ty in types):
        raise CircuitError(Diagnostic("cannot assemble a routed network from shared-neuron lowerings"))
    return network_from_layers(types, type_of, supports, n, position_layers(types, type_of, supports, n))
