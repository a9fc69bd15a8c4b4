"""Compiled networks on disk, for both back ends: `save(compiled, path)` and `load(path)`.

The directory format is `artifact_format.py`'s; what each back end stores is its own
(`instances/artifact.py`, `features/artifact.py`). `load` reads network.json once and hands the
artifact to the back end its "kind" names.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from .artifact_format import (
    CIRCUITS,
    FILES,
    FORMAT,
    METADATA,
    VERSION,
    WEIGHTS,
    check_hashes,
    check_target,
    open_artifact,
)
from .features import artifact as features_artifact
from .features.network import FeatureNetwork
from .instances import artifact as instances_artifact
from .instances.artifact import LoadedNetwork
from .instances.compile import Compilation

__all__ = ["FORMAT", "VERSION", "WEIGHTS", "METADATA", "CIRCUITS", "FILES", "LoadedNetwork", "save", "load", "tensors",
           "check_target"]


def _back_end(compiled):
    if isinstance(compiled, Compilation):
        return instances_artifact
    if isinstance(compiled, FeatureNetwork):
        return features_artifact
    raise TypeError(f"cannot save a {type(compiled).__name__}: give a compiled network "
                    f"(circuitc.compile or circuitc.compile_features)")


def save(compiled: Compilation | FeatureNetwork, path: str | os.PathLike, force: bool = False, **options) -> Path:
    """Write a compiled network (either back end) as an artifact directory at `path`; an existing
    one is replaced only with `force`. `options` are the back end's (`source_hash`, `name`)."""
    return _back_end(compiled).save(compiled, path, force, **options)


def tensors(compiled: Compilation | FeatureNetwork) -> dict[str, torch.Tensor]:
    """The tensors `save` writes to weights.safetensors."""
    return _back_end(compiled).tensors(compiled)


def load(path: str | os.PathLike) -> LoadedNetwork | FeatureNetwork:
    """Read an artifact directory written by `save`: a `LoadedNetwork` or a `FeatureNetwork`;
    every problem is a CircuitError naming the file, a file changed since saving included (its
    hash in network.json no longer matches)."""
    reader, meta = open_artifact(path)
    if meta.get("kind") == features_artifact.KIND:
        loaded = features_artifact.read_features(reader, meta)
    else:
        loaded = instances_artifact.load_network(reader, meta)
    check_hashes(reader, meta)
    return loaded
