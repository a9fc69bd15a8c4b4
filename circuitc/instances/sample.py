"""Labelled activations: rows that keep the sparsity promise, every layer of the network on them,
and the ground truth of every active instance, in batches (`sample`) or as shards on disk
(`write_shards`).

A batch holds, for b rows of at most z active instances:

    active        (b, z) int64      the active instances of each row, −1 for an unused slot
    inputs        (b, z, n_in)      each active instance's inputs (its `input_bits` order, 0-padded)
    layer.{l}     (b, D) float32    the network's activations at layer l = 0..L (layer 0: the input)
    truth.{l}     (b, z, d) float32 the exact value of each active instance's circuit neurons at
                                    layer l (its lowered circuit run alone; NaN for unused slots)
    outputs       (b, z, n_out)     the network's read-outs of each active instance (decoded
                                    at 0.5 for boolean outputs)
    expected      (b, z, n_out)     the reference interpreter's outputs (NaN past an instance's own)

Which network neurons carry an instance's circuit neuron is static, not per row: neuron i of
instance t at layer l is carried by the S network neurons `i·n + supports[l, t, s]`; a shard holds
`supports` (L+1, T, S) and `type_of` (T,) once, and its metadata holds n, d, S and z.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Iterator

import numpy as np
import torch
from safetensors.torch import save_file

from ..artifact_format import write_directory
from ..fileio import fsync_path, write_durable
from .compile import Compilation
from .verify import exact_layers, promise_rows, reference_outputs

__all__ = ["sample", "write_shards", "INDEX"]

INDEX = "index.json"
FORMAT = "circuitc-samples"


def sample(compiled: Compilation, rows: int, *, batch: int = 1024, seed: int = 0,
           mode: str = "random", inputs: np.ndarray | None = None) -> Iterator[dict[str, torch.Tensor]]:
    """Batches of labelled rows (see the module docstring): `rows` in all, drawn as `verify` draws
    them (`mode` "random" or "adversarial"; "exhaustive" ignores `rows`; MLP circuits' inputs from
    the rows `inputs` when given), seeded."""
    if batch < 1:
        raise ValueError(f"batch must be 1 or more, got {batch}")
    net = compiled.network
    _, batches = promise_rows(compiled, mode, rows, batch, np.random.default_rng(seed), inputs=inputs)
    for inst, x in batches:
        with torch.no_grad():
            acts = net.forward_layers(net.encode(inst, x))
        out = {"active": torch.from_numpy(inst.astype(np.int64)),
               "inputs": torch.from_numpy(x.astype(np.float32))}
        for l, (A, truth) in enumerate(zip(acts, exact_layers(compiled, inst, x))):
            out[f"layer.{l}"] = A.detach().to("cpu", torch.float32).contiguous()
            out[f"truth.{l}"] = torch.from_numpy(truth.astype(np.float32))
        read = net.decode(acts[-1], inst)
        boolean = np.array([c.kind == "boolean" for c in compiled.circuits])[net.type_of[np.maximum(inst, 0)]]
        decoded = np.where(boolean[..., None] & ~np.isnan(read), (read > 0.5).astype(np.float64), read)
        out["outputs"] = torch.from_numpy(decoded.astype(np.float32))
        out["expected"] = torch.from_numpy(reference_outputs(compiled, inst, x).astype(np.float32))
        yield out


def write_shards(compiled: Compilation, path: str | os.PathLike, rows: int, *, batch: int = 1024, seed: int = 0,
                 mode: str = "random", force: bool = False, inputs: np.ndarray | None = None) -> Path:
    """Write `sample(...)` as a directory of safetensors shards (one per batch) and an index.json,
    atomically: built as a hidden sibling and renamed into place; an existing directory of shards
    is replaced only with `force`."""
    net = compiled.network
    static = {"supports": torch.from_numpy(np.ascontiguousarray(net.supports, dtype=np.int64)),
              "type_of": torch.from_numpy(np.ascontiguousarray(net.type_of, dtype=np.int64))}

    def fill(tmp: Path) -> None:
        shards, total = [], 0
        for k, part in enumerate(sample(compiled, rows, batch=batch, seed=seed, mode=mode, inputs=inputs)):
            name = f"shard-{k:05d}.safetensors"
            save_file({**part, **static}, str(tmp / name))
            fsync_path(tmp / name)
            shards.append({"file": name, "rows": int(part["active"].shape[0])})
            total += shards[-1]["rows"]
        index = {"format": FORMAT, "version": 1, "network": compiled.name, "source_hash": compiled.source_hash,
                 "mode": mode, "seed": seed, "rows": total, "D": net.D, "d": net.d, "n": net.n, "L": net.L,
                 "S": net.S, "T": net.T, "z": compiled.config.z, "construction": compiled.config.construction,
                 "circuits": [c.name for c in compiled.circuits], "shards": shards,
                 "carriers": "neuron i of instance t at layer l: network neurons i*n + supports[l, t, s], s < S"}
        write_durable(tmp / INDEX, (json.dumps(index, indent=2) + "\n").encode("utf-8"))

    return write_directory(path, force, fill, marker=INDEX, what="a directory of samples")

