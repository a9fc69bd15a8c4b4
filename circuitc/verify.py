"""Verify a compiled network against the reference interpreter on promise-keeping inputs.

Each sample row activates between 1 and z distinct instances (the sparsity promise), drawn
uniformly, with random inputs (0/1 bits for boolean circuits, standard normal values for MLP
circuits); the network's decoded outputs are compared with `interpret.evaluate_bits` on the same
inputs. Everything is vectorised over the batch; the only Python loops run over batches and over
instance types.
"""

from __future__ import annotations

import numpy as np
import torch

from .compile import Compilation
from .interpret import evaluate_bits


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


def verify(comp: Compilation, samples: int = 10_000, batch: int = 1024, seed: int = 0) -> dict:
    """Accuracy of the compiled network on `samples` random promise-keeping rows."""
    net = comp.network
    rng = np.random.default_rng(seed)
    kinds = np.array([c.kind == "boolean" for c in comp.circuits])
    correct = total = instances_ok = instances_total = 0
    sq_err = 0.0
    max_err = 0.0
    real_total = 0
    per_type = np.zeros((len(comp.circuits), 2), dtype=np.int64)   # (correct bits, bits)
    done = 0
    while done < samples:
        m = min(batch, samples - done)
        inst = sample_active(net.T, comp.config.z, m, rng)
        x = sample_inputs(comp, inst, rng)
        with torch.no_grad():
            got = net.decode(net.model(net.encode(inst, x)), inst)
        want = reference_outputs(comp, inst, x)
        ty = net.type_of[np.maximum(inst, 0)]
        valid = ~np.isnan(want)
        boolean = valid & kinds[ty][..., None] & (inst >= 0)[..., None]
        hit = ((got > 0.5) == (want > 0.5)) & boolean
        correct += int(hit.sum())
        total += int(boolean.sum())
        slot_bool = boolean.any(axis=-1)
        instances_ok += int((hit.sum(-1) == boolean.sum(-1))[slot_bool].sum())
        instances_total += int(slot_bool.sum())
        np.add.at(per_type, ty[slot_bool], np.stack([hit.sum(-1), boolean.sum(-1)], -1)[slot_bool])
        real = valid & ~kinds[ty][..., None] & (inst >= 0)[..., None]
        if real.any():
            err = (got - want)[real]
            sq_err += float((err ** 2).sum())
            max_err = max(max_err, float(np.abs(err).max()))
            real_total += int(real.sum())
        done += m
    return {
        "samples": samples, "z": comp.config.z, "T": net.T,
        "bit_accuracy": correct / total if total else None,
        "instance_accuracy": instances_ok / instances_total if instances_total else None,
        "per_circuit": {c.name: (int(a) / int(b) if b else None) for c, (a, b) in zip(comp.circuits, per_type)},
        "real_rms_error": (sq_err / real_total) ** 0.5 if real_total else None,
        "real_max_error": max_err if real_total else None,
    }
