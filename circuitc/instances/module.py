"""A compiled network of instances as one self-contained `torch.nn.Module`: per-instance inputs in,
per-instance outputs out, every table a buffer, so `.to(device)` moves everything and no batch
goes through the host.

    module = circuitc.load("routed").module()          # or compiled.module()
    y = module(instances, inputs)                      # (batch, z) ids, (batch, z, n_in) values
    module.layers[2]                                    # the third layer; hooks see (batch, D)

Submodule names are stable: `layers.{2l}` is network layer l + 1 (a `Linear`, or `PositionLocal`
for a routed network) and `layers.{2l+1}` its ReLU, as in `CompiledNetwork.model`, whose modules
it shares. Encoding and read-out are those of `CompiledNetwork.encode` / `decode` (math.md §1.1),
computed in torch: instance t's layer-0 vector (its on unit at index 0, its inputs at its
`input_index`; for the cis2 construction its first circuit layer's pre-activations, after which
the shared bias and a ReLU apply) is added onto its S layer-0 neurons in every block, and its
outputs are its type's read-out of the mean of its S neurons per block at the last layer.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .assemble import CompiledNetwork
from .given_network import GivenNetwork
from .lower.small_mlp import ON_HI

__all__ = ["SuperposedNetwork"]


class SuperposedNetwork(nn.Module):
    def __init__(self, net: CompiledNetwork, z: int):
        super().__init__()
        self.d, self.n, self.S, self.T = net.d, net.n, net.S, net.T
        self.z = z
        self.layers = net.model
        device = net.device

        def tensor(a, dtype):
            return torch.as_tensor(np.ascontiguousarray(a), dtype=dtype, device=device)

        self.register_buffer("type_of", tensor(net.type_of, torch.int64))
        self.register_buffer("supports_in", tensor(net.supports[0], torch.int64))          # (T, S)
        self.register_buffer("supports_out", tensor(net.supports[-1], torch.int64))        # (T, S)
        # Where each input of each type goes in its layer-0 vector; padding points at a sink unit d.
        self.register_buffer("input_unit", tensor(np.where(net.input_table >= 0, net.input_table, net.d),
                                                  torch.int64))
        self.register_buffer("readout_table", tensor(net.readout_table, torch.float32))
        self.register_buffer("n_outputs", tensor(net.n_outputs, torch.int64))
        # Types read as a ratio (MLP circuits on positions that can collide): the read-out over the
        # mean of `one` (unit 0), the mean over the instance's clean positions (Layout.outputs).
        self.register_buffer("normalized", tensor(net.normalized, torch.bool))
        # A network of circuits embedded as given (the cis2 construction) writes the first circuit
        # layer from the inputs: its weights per type and the shared bias (given_network.py).
        self.first_layer = isinstance(net, GivenNetwork)
        if self.first_layer:
            self.register_buffer("first_weights", tensor(net.first_weights, torch.float32))
            self.register_buffer("first_bias", tensor(np.repeat(net.first_bias, net.n), torch.float32))

    @property
    def D(self) -> int:
        return self.d * self.n

    def encode(self, instances: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
        """(batch, D) layer-0 vectors: `instances` (batch, z) int64, −1 for an unused slot;
        `inputs` (batch, z, n_in_max), each instance's inputs in its `input_bits` order."""
        batch, z = instances.shape
        active = instances >= 0
        t = instances.clamp(min=0)
        if self.first_layer:
            a0 = torch.einsum("bzdi,bzi->bzd", self.first_weights[self.type_of[t]], inputs.to(torch.float32))
        else:
            a0 = torch.zeros(batch, z, self.d + 1, dtype=torch.float32, device=inputs.device)
            a0[..., ON_HI] = 1.0
            a0.scatter_(2, self.input_unit[self.type_of[t]], inputs.to(torch.float32))
            a0 = a0[..., :self.d]
        a0 = a0 * active[..., None]
        units = torch.arange(self.d, device=inputs.device)
        index = units[None, None, :, None] * self.n + self.supports_in[t][:, :, None, :]     # (b, z, d, S)
        values = a0[..., None].expand(index.shape)
        A0 = torch.zeros(batch, self.D, dtype=torch.float32, device=inputs.device)
        A0 = A0.scatter_add_(1, index.reshape(batch, -1), values.reshape(batch, -1))
        return torch.relu(A0 + self.first_bias) if self.first_layer else A0

    def read(self, A: torch.Tensor, instances: torch.Tensor) -> torch.Tensor:
        """(batch, z, d): the mean of each listed instance's S neurons per block of the last layer."""
        batch, z = instances.shape
        units = torch.arange(self.d, device=A.device)
        index = units[None, None, :, None] * self.n + self.supports_out[instances.clamp(min=0)][:, :, None, :]
        return A.gather(1, index.reshape(batch, -1)).reshape(batch, z, self.d, self.S).mean(-1)

    def forward(self, instances: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
        """(batch, z, n_out_max) read-outs of the listed instances (0 for unused slots and past an
        instance's own outputs); a boolean output is 1 where its read-out exceeds 0.5."""
        A = self.layers(self.encode(instances, inputs))
        ty = self.type_of[instances.clamp(min=0)]
        ahat = self.read(A, instances)
        y = torch.einsum("bzod,bzd->bzo", self.readout_table[ty], ahat)
        ratio = self.normalized[ty] & (instances >= 0)
        y = torch.where(ratio[..., None], y / torch.where(ratio, ahat[..., 0], 1.0)[..., None], y)
        valid = torch.arange(y.shape[-1], device=y.device) < self.n_outputs[ty][..., None]
        return torch.where(valid & (instances >= 0)[..., None], y, torch.zeros((), device=y.device))

    def forward_dense(self, inputs: torch.Tensor, active: torch.Tensor) -> torch.Tensor:
        """The dense form: `inputs` (batch, T, n_in_max) for every instance and `active` (batch, T)
        bool, at most z true per row; returns (batch, T, n_out_max), 0 for inactive instances.

        The active instances of each row are gathered into the sparse form `forward` takes (in
        ascending order; no host round trip but the check of the promise) and scattered back."""
        counts = active.sum(dim=1)
        if counts.numel() and int(counts.max()) > self.z:
            row = int(torch.argmax(counts))
            raise ValueError(f"row {row} activates {int(counts[row])} instances; the network keeps its promise "
                             f"for at most z = {self.z}")
        k = max(1, min(self.z, self.T))
        # A stable sort puts each row's active instances first, in ascending order: the same slots,
        # and so the same float32 sums, as a sparse row that lists them that way.
        on, slot = torch.sort(active.to(torch.float32), dim=1, descending=True, stable=True)
        on, slot = on[:, :k], slot[:, :k]
        instances = torch.where(on.bool(), slot, torch.full_like(slot, -1))
        x = torch.gather(inputs, 1, slot[..., None].expand(-1, -1, inputs.shape[-1]))
        y = self.forward(instances, x)                                          # (batch, k, n_out)
        out = torch.zeros(inputs.shape[0], self.T, y.shape[-1], dtype=y.dtype, device=y.device)
        return out.scatter_add_(1, slot[..., None].expand_as(y), y * on[..., None].to(y.dtype))
