"""Verify a compiled network against the reference interpreter on promise-keeping inputs.

Each sample row activates between 1 and z distinct instances (the sparsity promise), drawn
uniformly, with random inputs (0/1 bits for boolean circuits, standard normal values for MLP
circuits); the network's decoded outputs are compared with `interpret.evaluate_bits` on the same
inputs. Everything is vectorised over the batch; the only Python loops run over batches, layers and
instance types.

Besides accuracy, every layer's read-off error is measured: for the active instances against their
exact activations when run alone (`lower.small_mlp.layer_values`), and for a few random inactive
instances per row, whose read-off should be exactly 0 — the embedding overlap and propagation
errors of math.md §1.5, as measured quantities. A boolean lowering carries its values as
differences of neuron pairs (2j, 2j + 1), and an error that lands on both neurons of a pair
cancels; so the error of those differences ("pair" errors) is reported too: it is the one that
decides correctness.
"""

from __future__ import annotations

import numpy as np
import torch

from .compile import Compilation
from .interpret import evaluate_bits
from .lower.small_mlp import layer_values

INACTIVE_PROBES = 4   # inactive instances whose read-offs are measured per sample row
WORST = 5             # instances listed in the report as the least accurate


def sample_active(T: int, z: int, batch: int, rng: np.random.Generator) -> np.ndarray:
    """(batch, z) instance ids: row b activates k_b ~ U{1..z} distinct instances, -1 pads the rest."""
    k = rng.integers(1, z + 1, size=batch)
    # z distinct instances per row: the z smallest of T random keys would cost O(T) per row, so
    # draw with replacement and redraw the (rare, when z << T) rows with a repeat.
    inst = rng.integers(0, T, size=(batch, z))
    while True:
        srt = np.sort(inst, axis=1)
        dup = (srt[:, 1:] == srt[:, :-1]).any(axis=1) if z > 1 else np.zeros(batch, bool)
        if not dup.any():
            break
        inst[dup] = rng.integers(0, T, size=(int(dup.sum()), z))
    inst[np.arange(z)[None, :] >= k[:, None]] = -1
    return inst


def sample_inputs(comp: Compilation, instances: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    net = comp.network
    batch, z = instances.shape
    ty = net.type_of[np.maximum(instances, 0)]
    bits = rng.integers(0, 2, size=(batch, z, net.n_in_max)).astype(np.float64)
    real = rng.standard_normal((batch, z, net.n_in_max))
    is_mlp = np.array([c.kind == "mlp" for c in comp.circuits])[ty]
    return np.where(is_mlp[..., None], real, bits)


def reference_outputs(comp: Compilation, instances: np.ndarray, inputs: np.ndarray) -> np.ndarray:
    """The exact outputs, (batch, z, n_out_max), NaN where `decode` gives NaN."""
    net = comp.network
    out = np.full(instances.shape + (net.n_out_max,), np.nan)
    ty = np.where(instances >= 0, net.type_of[np.maximum(instances, 0)], -1)
    for k, circuit in enumerate(comp.circuits):
        b, s = np.nonzero(ty == k)
        if len(b):
            n_in, n_out = len(circuit.input_bits), len(circuit.output_bits)
            out[b, s, :n_out] = evaluate_bits(circuit, inputs[b, s, :n_in])
    return out


def _probe_inactive(T: int, active: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(batch, INACTIVE_PROBES) random instances that are not active in their row (-1 if T is tiny)."""
    probes = rng.integers(0, T, size=(active.shape[0], INACTIVE_PROBES))
    clash = (probes[:, :, None] == active[:, None, :]).any(axis=2)
    probes[clash] = -1
    return probes


class _LayerErrors:
    """Running sums of squared and largest read-off errors per layer."""

    def __init__(self, layers: int):
        self.sq = np.zeros(layers)
        self.count = np.zeros(layers, dtype=np.int64)
        self.max = np.zeros(layers)

    def add(self, layer: int, err: np.ndarray) -> None:
        if err.size:
            self.sq[layer] += float((err ** 2).sum())
            self.count[layer] += err.size
            self.max[layer] = max(self.max[layer], float(np.abs(err).max()))

    def rms(self) -> np.ndarray:
        return np.sqrt(self.sq / np.maximum(self.count, 1))


def _exact_layers(comp: Compilation, instances: np.ndarray, inputs: np.ndarray) -> list[np.ndarray]:
    """Per layer, (batch, z, d) exact activations of each listed instance run alone (NaN if unused)."""
    net = comp.network
    out = [np.full(instances.shape + (net.d,), np.nan) for _ in range(net.L + 1)]
    ty = np.where(instances >= 0, net.type_of[np.maximum(instances, 0)], -1)
    for k, mlp in enumerate(net.types):
        b, s = np.nonzero(ty == k)
        if len(b):
            values = layer_values(mlp, inputs[b, s, :len(mlp.input_index)])
            for layer, v in enumerate(values):
                out[layer][b, s] = v
    return out


def verify(comp: Compilation, samples: int = 10_000, batch: int = 1024, seed: int = 0) -> dict:
    """Accuracy and per-layer read-off errors of the compiled network on `samples` random
    promise-keeping rows."""
    net = comp.network
    rng = np.random.default_rng(seed)
    kinds = np.array([c.kind == "boolean" for c in comp.circuits])
    correct = total = instances_ok = instances_total = 0
    sq_err = 0.0
    max_err = 0.0
    real_total = 0
    per_type = np.zeros((len(comp.circuits), 2), dtype=np.int64)     # (correct bits, bits)
    per_instance = np.zeros((net.T, 2), dtype=np.int64)
    active_err, inactive_err = _LayerErrors(net.L + 1), _LayerErrors(net.L + 1)
    active_pair, inactive_pair = _LayerErrors(net.L + 1), _LayerErrors(net.L + 1)
    done = 0
    while done < samples:
        m = min(batch, samples - done)
        inst = sample_active(net.T, comp.config.z, m, rng)
        x = sample_inputs(comp, inst, rng)
        probes = _probe_inactive(net.T, inst, rng)
        with torch.no_grad():
            acts = net.forward_layers(net.encode(inst, x))
        got = net.decode(acts[-1], inst)
        want = reference_outputs(comp, inst, x)
        exact = _exact_layers(comp, inst, x)
        live = inst >= 0
        pairs = net.d // 2 * 2
        for layer, A in enumerate(acts):
            err = (net.readout(A, layer, inst) - exact[layer])[live]
            off = net.readout(A, layer, probes)[probes >= 0]
            active_err.add(layer, err)
            inactive_err.add(layer, off)
            active_pair.add(layer, err[:, 0:pairs:2] - err[:, 1:pairs:2])
            inactive_pair.add(layer, off[:, 0:pairs:2] - off[:, 1:pairs:2])
        ty = net.type_of[np.maximum(inst, 0)]
        valid = ~np.isnan(want)
        boolean = valid & kinds[ty][..., None] & live[..., None]
        hit = ((got > 0.5) == (want > 0.5)) & boolean
        correct += int(hit.sum())
        total += int(boolean.sum())
        slot_bool = boolean.any(axis=-1)
        counts = np.stack([hit.sum(-1), boolean.sum(-1)], -1)[slot_bool]
        instances_ok += int((counts[:, 0] == counts[:, 1]).sum())
        instances_total += int(slot_bool.sum())
        np.add.at(per_type, ty[slot_bool], counts)
        np.add.at(per_instance, inst[slot_bool], counts)
        real = valid & ~kinds[ty][..., None] & live[..., None]
        if real.any():
            err = (got - want)[real]
            sq_err += float((err ** 2).sum())
            max_err = max(max_err, float(np.abs(err).max()))
            real_total += int(real.sum())
        done += m
    seen = np.flatnonzero(per_instance[:, 1] > 0)
    acc = per_instance[seen, 0] / per_instance[seen, 1]
    worst = seen[np.argsort(acc, kind="stable")[:WORST]]
    a_rms, i_rms, ap_rms, ip_rms = active_err.rms(), inactive_err.rms(), active_pair.rms(), inactive_pair.rms()
    return {
        "samples": samples, "z": comp.config.z, "T": net.T,
        "bit_accuracy": correct / total if total else None,
        "instance_accuracy": instances_ok / instances_total if instances_total else None,
        "per_circuit": {c.name: (int(a) / int(b) if b else None) for c, (a, b) in zip(comp.circuits, per_type)},
        "real_rms_error": (sq_err / real_total) ** 0.5 if real_total else None,
        "real_max_error": max_err if real_total else None,
        "layers": [{"layer": layer, "active_rms": float(a_rms[layer]), "active_max": float(active_err.max[layer]),
                    "inactive_rms": float(i_rms[layer]), "inactive_max": float(inactive_err.max[layer]),
                    "active_pair_rms": float(ap_rms[layer]), "active_pair_max": float(active_pair.max[layer]),
                    "inactive_pair_rms": float(ip_rms[layer]), "inactive_pair_max": float(inactive_pair.max[layer])}
                   for layer in range(net.L + 1)],
        "worst_instances": [{"instance": int(t), "circuit": comp.circuits[net.type_of[t]].name,
                             "bit_accuracy": float(per_instance[t, 0] / per_instance[t, 1]),
                             "bits": int(per_instance[t, 1])} for t in worst],
    }
