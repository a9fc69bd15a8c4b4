"""Compiled feature networks on disk: the same three-file artifact as networks of instances.

    weights.safetensors   float32 `stages.{i}.read_in` (h, m_in), `stages.{i}.bias` (h,),
                          `stages.{i}.read_off` (m_out, h) per ReLU layer, and `embedding` (d0, m)
                          when the features arrive in superposition
    network.json          format and version as artifact_format.py, `"kind": "features"`, the circuit and
                          feature set names, the `FeatureConfig`, per stage its kind, level, orders
                          and predicted error, the on-counts, the input error and the report
    circuits.circ         the feature set and its circuit as `.circ` text

Loading re-levels the stored circuit (`levels_of` is deterministic) and checks every tensor shape
against those levels, so the network verify runs is exactly the one saved. Saving goes through
`artifact_format.write_artifact`: atomic, and an existing artifact is replaced only with `force`.
"""

from __future__ import annotations

import os
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from ..artifact_format import CIRCUITS, FORMAT, METADATA, VERSION, Reader, jsonable, read_tensors, write_artifact
from ..artifact_names import FEATURES_KIND
from ..errors import CircuitError
from ..frontend.load import parse, read_text
from ..frontend.printer import spec_to_circ
from ..model_card import model_card
from ..spec import Spec
from .levels import levels_of
from .network import FeatureConfig, FeatureNetwork, Stage, check_config

__all__ = ["save", "metadata"]

KIND = FEATURES_KIND


def metadata(net: FeatureNetwork) -> dict:
    return jsonable({
        "format": FORMAT, "version": VERSION, "kind": KIND,
        "circuit": net.levels.circuit, "features": net.features.name, "source_hash": net.source_hash,
        "config": asdict(net.config),
        "stages": [{"kind": st.kind, "level": st.level, "orders": [list(o) for o in st.orders],
                    "predicted_sigma": st.predicted} for st in net.stages],
        "on_counts": list(net.on_counts), "input_sigma": net.input_sigma,
        "tensors": {"stages.{i}.read_in": "(h, m_in) float32", "stages.{i}.bias": "(h,) float32",
                    "stages.{i}.read_off": "(m_out, h) float32", "embedding": "(d0, m) float32, when superposed"},
        "report": net.report(),
    })


def tensors(net: FeatureNetwork) -> dict[str, torch.Tensor]:
    out = {}
    for i, st in enumerate(net.stages):
        for key in ("read_in", "bias", "read_off"):
            out[f"stages.{i}.{key}"] = torch.from_numpy(np.ascontiguousarray(getattr(st, key), dtype=np.float32))
    if net.embedding is not None:
        out["embedding"] = torch.from_numpy(np.ascontiguousarray(net.embedding, dtype=np.float32))
    return out


def circuits_text(net: FeatureNetwork, circuit) -> str:
    header = f"# The feature circuit `{circuit.name}` of a compiled network, as elaborated by circuitc.\n\n"
    return header + spec_to_circ(Spec((circuit,), (net.features,)), header=False)


def save(net: FeatureNetwork, path: str | os.PathLike, force: bool = False, *, layout: str = "circuitc") -> Path:
    """Write `net` as an artifact directory at `path` (`layout` "hf": the Hugging Face names and a
    model card)."""
    meta = metadata(net)
    return write_artifact(path, force, tensors(net), meta, circuits_text(net, net.circuit), layout=layout,
                          card=model_card(meta) if layout == "hf" else None)


def read_features(r: Reader, meta: dict) -> FeatureNetwork:
    """The `FeatureNetwork` of an artifact whose network.json says `"kind": "features"`."""
    name = r.get(meta, "circuit", (str,), "")
    fname = r.get(meta, "features", (str,), "")
    config = _config(r, r.get(meta, "config", (dict,), ""))
    path = r.file(CIRCUITS)
    spec = parse(read_text(path), filename=os.fspath(path), base_dir=r.directory)
    try:
        circuit = spec.circuit(name)
        features = spec.feature_set(fname)
        levels = levels_of(circuit, features.m, config.k)
    except CircuitError as e:
        raise r.fail(CIRCUITS, "; ".join(d.message for d in e.diagnostics)) from None
    raw_stages = r.get(meta, "stages", (list,), "")
    on_counts = r.array(r.get(meta, "on_counts", (list,), ""), "on_counts", 1, True)
    if len(on_counts) != levels.depth + 1:
        raise r.fail(METADATA, f"`on_counts` has {len(on_counts)} entries for {levels.depth + 1} levels")
    widths = levels.widths
    shapes, stage_info = {}, []
    for i, st in enumerate(raw_stages):
        where = f"stages[{i}]"
        kind = r.get(st, "kind", (str,), where)
        level = r.get(st, "level", (int,), where)
        if kind not in ("gate", "correct") or not 0 <= level <= levels.depth or (kind == "gate" and level < 1):
            raise r.fail(METADATA, f"`{where}` is a {kind!r} stage at level {level}, which the circuit's "
                                   f"{levels.depth} levels do not have")
        orders = _orders(r, r.get(st, "orders", (list,), where), f"{where}.orders")
        height = _stage_height(kind, orders, widths[level], config)
        m_in = widths[level - 1] if kind == "gate" else widths[level]
        shapes[f"stages.{i}.read_in"] = ((height, m_in), "F32")
        shapes[f"stages.{i}.bias"] = ((height,), "F32")
        shapes[f"stages.{i}.read_off"] = ((widths[level], height), "F32")
        stage_info.append((kind, level, orders, float(r.get(st, "predicted_sigma", (float,), where))))
    if not stage_info or stage_info[-1][:2] != ("gate", levels.depth):
        raise r.fail(METADATA, f"`stages` must end with the gate layer of level {levels.depth}")
    if features.d0 is not None:
        shapes["embedding"] = ((features.d0, features.m), "F32")
    t = read_tensors(r, shapes)
    stages = tuple(Stage(kind, level, t[f"stages.{i}.read_in"], t[f"stages.{i}.bias"],
                         t[f"stages.{i}.read_off"], orders, predicted)
                   for i, (kind, level, orders, predicted) in enumerate(stage_info))
    embedding = t["embedding"] if features.d0 is not None else None
    return FeatureNetwork(levels, features, config, stages, embedding, tuple(int(x) for x in on_counts),
                          float(r.get(meta, "input_sigma", (float,), "")),
                          r.get(meta, "source_hash", (str,), ""), circuit)


def _config(r: Reader, raw: dict) -> FeatureConfig:
    """The stored config, each field of its annotated type, then the checks a compile applies
    (`check_config`): a network.json edited by hand is refused as a compile would refuse it."""
    config = FeatureConfig(**r.fields_of(FeatureConfig, raw, "config"))
    try:
        check_config(config)
    except CircuitError as e:
        raise r.fail(METADATA, "`config`: " + "; ".join(d.message for d in e.diagnostics)) from None
    return config


def _orders(r: Reader, value: list, where: str) -> tuple[tuple[int, int], ...]:
    """A stage's orders: (order, copies) pairs of non-negative integers."""
    if not value:
        return ()
    pairs = r.array(value, where, 2, True)
    if pairs.shape[1] != 2 or (pairs < 0).any() or (pairs >= 1 << 31).any():
        raise r.fail(METADATA, f"`{where}` must be a list of [order, count] pairs of integers in [0, 2**31)")
    return tuple((int(a), int(b)) for a, b in pairs.tolist())


def _stage_height(kind: str, orders, wires: int, config: FeatureConfig) -> int:
    if kind == "gate":
        return sum(d for _, d in orders)
    if config.ec_kind == "step":
        return 2 * wires
    return 2 * sum(d for _, d in orders)
