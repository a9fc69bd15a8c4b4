"""A network of instances run in numpy, without torch.

Running a saved network on a few rows (`circuitc run`) takes far less time than importing torch
(seconds: docs/performance.md); for those, run.py runs this forward pass instead of the torch
model (`runner` there makes the choice). A `NumpyNetwork` is the network's `Layout` (layout.py: the encoding and
read-offs a `CompiledNetwork` computes, operation for operation) and its L layers as float32
arrays, each followed by a ReLU, as the torch model computes them:

- `Dense`: a layer stored dense, (D, D) weights and (D,) bias (the coherent and cis2 constructions);
- `PositionBlocks`: a routed layer, the types' d × d blocks and the position → type table
  (`layout.position_tables`, what `PositionLocal` holds), one product per type over its positions.

Both are built by the construction (`Construction.numpy_network`), from the same reading of the
artifact as the torch network (stored.py). The read-outs equal the torch model's up to the float32
rounding of each layer's sums, whose order the BLAS libraries choose; they are equal where every
value is exact in float32, as in networks of boolean circuits lowered for routing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

import numpy as np

from .layout import Layout, check_routed, first_layer_fields, layout_fields, position_groups, position_tables
from .lower.small_mlp import SmallMLP

if TYPE_CHECKING:
    from .stored import StoredNetwork

__all__ = ["NumpyNetwork", "Dense", "PositionBlocks", "numpy_network", "dense_network", "routed_network"]


class Dense:
    """A dense layer: `x @ weight.T + bias`, float32 (`nn.Linear`)."""

    def __init__(self, weight: np.ndarray, bias: np.ndarray):
        self.weight = np.ascontiguousarray(weight, dtype=np.float32)          # (D, D)
        self.bias = np.ascontiguousarray(bias, dtype=np.float32)              # (D,)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        y = x @ self.weight.T
        y += self.bias
        return y


class PositionBlocks:
    """A position-local layer (`PositionLocal`'s map): position k of every block runs entry
    `position_type[k]` of `weight` (entries, d, d) and `bias` (entries, d), the last entry zero;
    one batched product per entry over all of its positions (`layout.position_groups`)."""

    def __init__(self, weight: np.ndarray, bias: np.ndarray, position_type: np.ndarray):
        self.weight = np.ascontiguousarray(weight, dtype=np.float32)
        self.bias = np.ascontiguousarray(bias, dtype=np.float32)
        self.d, self.n = self.weight.shape[1], len(position_type)
        self.order, self.runs = position_groups(position_type, self.weight.shape[0])

    def __call__(self, x: np.ndarray) -> np.ndarray:
        blocks = x.reshape(x.shape[0], self.d, self.n)
        if self.order is not None:
            blocks = blocks[:, :, self.order]
        out = np.zeros_like(blocks)
        for k, lo, hi in self.runs:               # the types: a handful
            y = np.matmul(self.weight[k], blocks[:, :, lo:hi])
            y += self.bias[k][:, None]
            out[:, :, lo:hi] = y
        if self.order is not None:                # back to the positions' own order
            out, sorted_ = np.empty_like(out), out
            out[:, :, self.order] = sorted_
        return out.reshape(x.shape[0], self.d * self.n)


@dataclass(frozen=True, eq=False)
class NumpyNetwork(Layout):
    """The network's `Layout` and its layers (module docstring); `run` as `CompiledNetwork.run`."""

    layers: tuple

    def encode(self, instances: np.ndarray, inputs: np.ndarray | None = None) -> np.ndarray:
        """The layer-0 vectors (`Layout.layer0_vectors`), (batch, D) float32."""
        return self.layer0_vectors(instances, inputs).astype(np.float32)

    def forward(self, A: np.ndarray) -> np.ndarray:
        """The last layer's activations (batch, D) float32 from layer 0's, `A`."""
        for layer in self.layers:
            A = layer(A)                          # a new array: its ReLU may overwrite it
            np.maximum(A, np.float32(0.0), out=A)
        return A

    def forward_layers(self, A0: np.ndarray) -> list[np.ndarray]:
        """Activations of every layer 0..L (layer 0 is `A0`), float32."""
        out = [A0]
        for layer in self.layers:
            out.append(np.maximum(layer(out[-1]), np.float32(0.0)))
        return out

    def decode(self, A_L: np.ndarray, instances: np.ndarray) -> np.ndarray:
        """Outputs per listed instance from the last layer's activations (`Layout.outputs`)."""
        return self.outputs(self.read_off(A_L, self.L, instances), instances)

    def run(self, instances: np.ndarray, inputs: np.ndarray | None = None) -> np.ndarray:
        """encode → layers → decode: (batch, z, n_out_max) outputs per listed instance."""
        return self.decode(self.forward(self.encode(instances, inputs)), instances)


def dense_network(types: Sequence[SmallMLP], type_of: np.ndarray, supports: np.ndarray, n: int,
                  layers: Sequence[tuple[np.ndarray, np.ndarray]], *, first_layer: bool = False) -> NumpyNetwork:
    """The network around stored dense layers ((W, b) arrays), with the layout `network_from_layers`
    checks; `first_layer`: encoding writes the first circuit layer (the cis2 construction,
    `given_network`)."""
    fields = layout_fields(types, type_of, supports, n)
    if first_layer:
        fields.update(first_layer_fields(types))
    return NumpyNetwork(layers=tuple(Dense(W, b) for W, b in layers), **fields)


def routed_network(types: Sequence[SmallMLP], type_of: np.ndarray, supports: np.ndarray, n: int) -> NumpyNetwork:
    """The routed network of T instances with `PositionBlocks` layers, checked as `assemble_routed`
    checks it and built from the same tables."""
    fields = layout_fields(types, type_of, supports, n)
    check_routed(fields["types"])
    weights, biases, position_type = position_tables(fields["types"], fields["type_of"], fields["supports"], n)
    return NumpyNetwork(layers=tuple(PositionBlocks(w, b, position_type) for w, b in zip(weights, biases)), **fields)


def numpy_network(stored: StoredNetwork) -> NumpyNetwork:
    """The network of a read artifact (stored.py) as numpy runs it, built as
    `artifact.loaded_network` builds the torch one: by the construction, from the stored types
    or around the stored layers."""
    plan, layers = stored.plan, stored.stored_layers
    type_of = plan.type_of if layers is None else stored.type_of
    return stored.build(lambda made_by: made_by.numpy_network(plan.types, type_of, plan.supports, plan.n, layers))
