"""The layout of a network of instances, apart from its layers: which neurons carry which instance,
how inputs are written and how outputs are read (math.md §1.1), in numpy and without torch.

Every network layer is d blocks of n neurons; network neuron `i*n + k` is neuron k of block i.
Instance t owns, at layer l, the S-hot support `supports[l, t]` (S neuron indices in [0, n)), the
same in every block. Encoding adds instance t's layer-0 vector onto its layer-0 support in every
block; its read-off at layer l is the mean of its S neurons in each block; its outputs are its
type's read-out of the last layer's read-off.

`Layout` holds these maps and computes encoding and read-offs on numpy arrays. The network with
torch layers (`assemble.CompiledNetwork`) and the one run by numpy (`numpy_forward.NumpyNetwork`)
are both a `Layout` plus their layers, so the two compute the same encoding and the same read-offs,
operation for operation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Sequence

import numpy as np

from ..errors import CircuitError, Diagnostic
from .lower.routed import ON as ONE
from .lower.small_mlp import ON_HI, RoutedMLP, SmallMLP

__all__ = ["Layout", "common_types", "check_layout", "layout_fields", "check_routed", "first_layer_fields",
           "position_tables"]


@dataclass(frozen=True, eq=False)
class Layout:
    """The maps between instances and the neurons of a network (module docstring).

    `first_weights` and `first_bias` are set when encoding writes each instance's first circuit
    layer from its inputs (the cis2 construction, given_network.py): its pre-activations
    `w_t^1 x_t` go onto the support, then the shared bias `first_bias` and a ReLU apply.
    """

    types: tuple[SmallMLP, ...]     # padded to a common (d, L)
    type_of: np.ndarray             # (T,) int64: index into `types` per instance
    supports: np.ndarray            # (L+1, T, S) int64: neuron indices in [0, n)
    n: int
    margin: float
    input_table: np.ndarray         # (n_types, n_in_max) int64: input_index per type, -1 padded
    readout_table: np.ndarray       # (n_types, n_out_max, d) float64: readout per type, 0 padded
    n_inputs: np.ndarray            # (n_types,) int64
    n_outputs: np.ndarray           # (n_types,) int64
    first_weights: np.ndarray | None = field(default=None, kw_only=True)   # (n_types, d, n_in_max) float64
    first_bias: np.ndarray | None = field(default=None, kw_only=True)      # (d,) float64

    @cached_property
    def normalized(self) -> np.ndarray:
        """(n_types,) bool: types whose outputs are read as a ratio (`RoutedMLP.normalized`)."""
        return np.array([bool(getattr(ty, "normalized", False)) for ty in self.types])

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

    # ------------------------------------------------------------ checks

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

    # ------------------------------------------------------------ encoding

    def layer0_vectors(self, instances: np.ndarray, inputs: np.ndarray | None = None) -> np.ndarray:
        """The network's layer-0 vectors, (batch, D) float64 (`CompiledNetwork.encode` rounds them
        to float32 on its device).

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
        return A0

    @property
    def first_layer_bias(self) -> np.ndarray | None:
        """(d,): when encoding writes pre-activations (`written`), the bias then applied with a ReLU."""
        return self.first_bias

    def written(self, ty: np.ndarray, inputs: np.ndarray) -> np.ndarray:
        """What encoding writes onto the layer-0 support of each of m active instances of types `ty`
        (m,) with inputs (m, n_in_max): (m, d). `on` at ON_HI and the inputs at the type's
        `input_index` (column d takes the padded input slots and is dropped); with `first_weights`,
        the first circuit layer's pre-activations `w_t^1 x_t`."""
        if self.first_weights is not None:
            return np.einsum("mdi,mi->md", self.first_weights[ty], inputs)
        a = np.zeros((len(ty), self.d + 1))
        a[:, ON_HI] = 1.0
        col = self.input_table[ty]
        a[np.arange(len(ty))[:, None], np.where(col >= 0, col, self.d)] = inputs
        return a[:, :self.d]

    def layer0(self, ty: np.ndarray, inputs: np.ndarray) -> np.ndarray:
        """The layer-0 activations (m, d) of m active instances, each alone."""
        a = self.written(ty, inputs)
        return a if self.first_layer_bias is None else np.maximum(a + self.first_layer_bias, 0.0)

    # ------------------------------------------------------------ read-offs

    def read_index(self, layer: int, instances: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(cols (batch, z, d, S), active (batch, z)): the neurons of each listed instance's layer-`layer`
        support in every block (unused slots point at instance 0's), for `read_means`."""
        if not 0 <= layer <= self.L:
            raise ValueError(f"layer must lie in [0, {self.L}], got {layer}")
        inst = self._check_instances(instances)
        active = inst >= 0
        sup = self.supports[layer][np.where(active, inst, 0)]        # (batch, z, S)
        return np.arange(self.d)[None, None, :, None] * self.n + sup[:, :, None, :], active

    def read_means(self, got: np.ndarray, active: np.ndarray) -> np.ndarray:
        """Read-offs (batch, z, d) float64 from the gathered activations `got` (batch, z, d, S) at
        `read_index`'s neurons: `â_t^l[i] = (1/S) Σ_s A[b, i*n + supports[layer, t, s]]`; NaN for
        unused slots."""
        ahat = got.astype(np.float64).sum(axis=-1) / self.S
        ahat[~active] = np.nan
        return ahat

    def read_off(self, A: np.ndarray, layer: int, instances: np.ndarray) -> np.ndarray:
        """`read_means` of the layer-`layer` activations `A` (batch, D), a numpy array (gathered
        from its flat view)."""
        cols, active = self.read_index(layer, instances)
        batch = active.shape[0]
        if A.shape != (batch, self.D):
            raise ValueError(f"activations must have shape {(batch, self.D)}, got {tuple(A.shape)}")
        flat = np.arange(batch)[:, None, None, None] * self.D + cols                 # (batch, z, d, S)
        return self.read_means(np.ascontiguousarray(A).reshape(-1)[flat], active)

    def outputs(self, ahat: np.ndarray, instances: np.ndarray) -> np.ndarray:
        """Outputs `readout @ â_t^L` per instance, (batch, z, n_out_max) float64, from the last
        layer's read-offs `ahat` (batch, z, d); NaN past an instance's own output count and for
        every output of an unused slot."""
        inst = self._check_instances(instances)
        active = inst >= 0
        ty = self.type_of[np.where(active, inst, 0)]                  # (batch, z)
        R = self.readout_table[ty]                                    # (batch, z, n_out_max, d)
        y = np.einsum("bzod,bzd->bzo", R, np.where(active[..., None], ahat, 0.0))
        ratio = self.normalized[ty] & active
        if ratio.any():
            # The mean over the clean positions: Σ out / Σ one over the instance's positions (an
            # active instance keeps at least c0 >= 1 clean ones; an inactive one may keep none).
            with np.errstate(invalid="ignore", divide="ignore"):
                y[ratio] = y[ratio] / ahat[ratio][:, ONE][:, None]
        valid = (np.arange(self.n_out_max)[None, None, :] < self.n_outputs[ty][..., None]) & active[..., None]
        y[~valid] = np.nan
        return y

    # ------------------------------------------------------------ each instance alone

    @cached_property
    def _stacked(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every weight class's weights (classes, L, d, d) and biases (classes, L, d), stacked once,
        and each type's class (`weight_classes`: the lookup construction's types share one)."""
        class_of, first = weight_classes(self.types)
        return (np.stack([self.types[k].weights for k in first]),
                np.stack([self.types[k].layer_biases() for k in first]), class_of)

    def alone(self, instances: np.ndarray, inputs: np.ndarray) -> list[np.ndarray]:
        """Every layer's exact activations of each listed instance run alone, without superposition:
        L+1 arrays (batch, z, d), NaN for unused slots; one batched product per layer over all the
        listed instances, whatever their types."""
        inst = np.asarray(instances, dtype=np.int64)
        b, s = np.nonzero(inst >= 0)
        ty = self.type_of[inst[b, s]]
        W, B, class_of = self._stacked
        a = self.layer0(ty, np.asarray(inputs, dtype=np.float64)[b, s])
        values = [a]
        cls = class_of[ty]
        for l in range(self.L):
            a = np.maximum(np.einsum("mij,mj->mi", W[cls, l], a) + B[cls, l], 0.0)
            values.append(a)
        out = []
        for v in values:
            full = np.full(inst.shape + (self.d,), np.nan)
            full[b, s] = v
            out.append(full)
        return out


# ---------------------------------------------------------------- building

def common_types(types: Sequence[SmallMLP]) -> tuple[SmallMLP, ...]:
    """The types checked and padded to a common (d, L); every one must share one margin and gain."""
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


def check_layout(types: Sequence[SmallMLP], type_of: np.ndarray, supports: np.ndarray, n: int) -> None:
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


def layout_fields(types: Sequence[SmallMLP], type_of: np.ndarray, supports: np.ndarray, n: int) -> dict:
    """The fields of the `Layout` of T instances of `types` on `supports` (L+1, T, S) at n neurons per
    block, checked (`common_types`, `check_layout`): what every network adds its layers to."""
    types = common_types(types)
    type_of = np.asarray(type_of, dtype=np.int64)
    supports = np.asarray(supports, dtype=np.int64)
    check_layout(types, type_of, supports, n)
    d = types[0].d
    n_in = np.array([len(ty.input_index) for ty in types], dtype=np.int64)
    n_out = np.array([ty.readout.shape[0] for ty in types], dtype=np.int64)
    input_table = np.full((len(types), int(n_in.max(initial=0))), -1, dtype=np.int64)
    readout_table = np.zeros((len(types), int(n_out.max(initial=0)), d))
    for k, ty in enumerate(types):
        input_table[k, :n_in[k]] = ty.input_index
        readout_table[k, :n_out[k]] = ty.readout
    return dict(types=types, type_of=type_of, supports=supports, n=n, margin=float(types[0].margin),
                input_table=input_table, readout_table=readout_table, n_inputs=n_in, n_outputs=n_out)


def check_routed(types: Sequence[SmallMLP]) -> None:
    """Refuse (CircuitError) types that are not routed lowerings (`lower/routed.py`)."""
    if not all(isinstance(ty, RoutedMLP) for ty in types):
        raise CircuitError(Diagnostic("cannot assemble a routed network from shared-neuron lowerings"))


def first_layer_fields(types: Sequence[SmallMLP]) -> dict:
    """The `Layout` fields of an encoder that writes the first circuit layer (the cis2
    construction): every type's first weights, stacked (they share one shape), and the shared
    first bias."""
    return dict(first_weights=np.stack([ty.first_weights for ty in types]),
                first_bias=np.asarray(types[0].first_bias, dtype=np.float64))


def weight_classes(types: Sequence[SmallMLP]) -> tuple[np.ndarray, list[int]]:
    """(class_of (types,) int64, first): types whose weights and biases are equal run the same
    positions' network, one class each (the lookup construction's circuits all share one);
    `first[c]` is the first type of class c."""
    class_of, first, seen = np.zeros(len(types), dtype=np.int64), [], {}
    by_id: dict[tuple[int, int], int] = {}
    for k, ty in enumerate(types):
        biases = ty.layer_biases()
        ids = (id(ty.weights), id(biases))          # shared arrays: no bytes to compare
        c = by_id.get(ids)
        if c is None:
            key = (ty.weights.shape, ty.weights.tobytes(), biases.tobytes())
            c = seen.setdefault(key, len(first))
            if c == len(first):
                first.append(k)
            by_id[ids] = c
        class_of[k] = c
    return class_of, first


def position_tables(types: Sequence[SmallMLP], type_of: np.ndarray, supports: np.ndarray,
                    n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The routed construction's layers as tables: position k (neuron k of every block) runs the
    lowered circuit of the type whose instances use it, one entry per weight class
    (`weight_classes`). (weights (L, classes + 1, d, d) and biases (L, classes + 1, d), float64,
    whose last entry is zero: positions nobody uses; position_type (n,) int64, the entry each
    position runs); `types` share (d, L) (`routed_types`)."""
    d, L = types[0].d, types[0].L
    class_of, first = weight_classes(types)
    position_type = np.full(n, len(first), dtype=np.int64)                  # unused: the zero entry
    position_type[supports[0].ravel()] = np.repeat(class_of[type_of], supports.shape[2])
    weights = np.zeros((L, len(first) + 1, d, d))
    biases = np.zeros((L, len(first) + 1, d))
    for c, k in enumerate(first):           # a handful of classes
        weights[:, c] = types[k].weights
        biases[:, c] = types[k].layer_biases()
    return weights, biases, position_type


def position_groups(position_type: np.ndarray, entries: int) -> tuple[np.ndarray | None, list[tuple[int, int, int]]]:
    """How a position-local layer (`position_tables`) runs as one product per type: (order, runs).

    `order` (n,) lists the positions type by type (a stable sort), or is None where they already
    come so (the routed allocation gives each type one range of positions, in type order); each
    run (k, lo, hi) says that entry k < `entries` − 1 runs at positions `order[lo:hi]`. The last
    entry (zero weights: positions nobody uses) has no run: its positions, the last in `order`,
    output 0."""
    position_type = np.asarray(position_type, dtype=np.int64)
    order = np.argsort(position_type, kind="stable")
    ends = np.cumsum(np.bincount(position_type, minlength=entries))
    runs = [(k, int(ends[k - 1]) if k else 0, int(ends[k])) for k in range(entries - 1)]
    identity = bool(np.array_equal(order, np.arange(len(order))))
    return (None if identity else order), [(k, lo, hi) for k, lo, hi in runs if hi > lo]
