"""Reading a saved network of instances without torch: every file of the artifact checked against
the others, as `circuitc.load` does, into a `StoredNetwork` (the plan, the stored tensors as numpy
arrays). `instances/artifact.py` builds the torch network from it (`load_network`), and
numpy_forward.py the network numpy runs; so both are built from one reading, with the same checks.

Every problem is a CircuitError naming the file (artifact_format.py's `Reader`): keys, types,
shapes and index ranges of network.json, the tensors' shapes, dtypes and finiteness, the circuits
of circuits.circ against the stored types (lowered again where the construction's lowering is a
pure function of them), the allocation against the supports. The hashes network.json records are
checked by the caller once everything is read (`artifact_format.check_hashes`).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, TypeVar

import numpy as np

from ..artifact_format import CIRCUITS, METADATA, WEIGHTS, Reader, is_a, read_tensors, shape_text
from ..errors import CircuitError
from ..fileio import MAX_ARTIFACT_WEIGHTS_BYTES, size_text
from ..frontend.load import parse, read_text
from ..spec import Circuit
from .config import Config
from .constructions import REGISTRY, Construction
from .embed.allocate import Allocation
from .lower.small_mlp import RoutedMLP, SmallMLP
from .plan import Plan

__all__ = ["StoredNetwork", "read_stored"]

N = TypeVar("N")


@dataclass(frozen=True, eq=False)
class StoredNetwork:
    """A network of instances as its artifact holds it, read and checked (module docstring).

    `plan` is the plan it was compiled from (its types as stored, before assembly pads them);
    `type_of` (T,) the type of every instance as stored; `tensors` every tensor of
    weights.safetensors (numpy arrays, float32 layers where the construction stores them);
    `reader` names the files in errors."""

    plan: Plan
    type_of: np.ndarray
    tensors: dict[str, np.ndarray]
    source_hash: str
    metadata: dict
    reader: Reader

    @property
    def construction(self) -> Construction:
        return REGISTRY[self.plan.config.construction]

    @property
    def config(self) -> Config:
        return self.plan.config

    @property
    def circuits(self) -> tuple[Circuit, ...]:
        return self.plan.circuits

    @property
    def path(self) -> Path:
        return self.reader.directory

    @property
    def stored_layers(self) -> list[tuple[np.ndarray, np.ndarray]] | None:
        """(W (D, D), b (D,)) float32 of every layer where the construction does not build its
        layers from the types (`layers_from_types`), else None."""
        if self.construction.layers_from_types:
            return None
        return [(self.tensors[f"layers.{l}.weight"], self.tensors[f"layers.{l}.bias"]) for l in range(self.plan.L)]

    def build(self, make: Callable[[Construction], N]) -> N:
        """`make(construction)`: the network its construction builds from this one, with a
        CircuitError of the construction's checks reported against network.json."""
        try:
            return make(self.construction)
        except CircuitError as e:
            raise self.reader.fail(METADATA, "; ".join(d.message for d in e.diagnostics)) from None


def read_stored(r: Reader, meta: dict) -> StoredNetwork:
    """The `StoredNetwork` of an opened artifact (`artifact_format.open_artifact`) of a network of
    instances; every problem is a CircuitError naming the file."""
    config = _read_config(r, meta)
    D, d, n, L, T, S, margin = _read_shape(r, meta, config)
    # Only a construction whose hidden layers are position-local stores per-type biases.
    made_by = REGISTRY[config.construction]
    routed = not made_by.reads_hidden_layers
    # Format 4 stores no layers where the construction rebuilds them, and the routing tables as
    # tensors; older files hold layers dense and the tables in network.json.
    version = r.get(meta, "version", (int,), "")
    stored_layers = not made_by.layers_from_types or version < 4
    tensors_ = _read_network_tensors(r, meta, D, d, L, routed, stored_layers, (T, S) if version >= 4 else None)
    types = _read_types(r, meta, tensors_, d, L)
    type_of = _read_type_of(r, meta, types, T)
    if version >= 4:
        base, perms = _routing_tensors(r, tensors_, T, n)
        supports = base[perms]
    else:
        supports, perms = _read_supports(r, meta, L, T, S, n)
        base = r.array(r.get(r.get(meta, "allocation", (dict,), ""), "supports", (list,), "allocation"),
                       "allocation.supports", 2, True)
    allocation = _read_allocation(r, meta, n, S, T, base, supports, perms)
    circuits = _read_circuits(r, types)
    smalls = _relowered(r, made_by, circuits, types) or _lowered_types(r, types, tensors_, config, allocation,
                                                                        margin, routed)
    source_hash = r.get(meta, "source_hash", (str,), "")
    name = r.get(meta, "network", (str,), "", nullable=True)
    plan = Plan(name or "", config, circuits, tuple(int(ty["count"]) for ty in types), tuple(smalls),
                allocation, supports, perms, n)
    return StoredNetwork(plan, type_of, tensors_, source_hash, meta, r)


def _read_config(r: Reader, meta: dict) -> Config:
    raw = r.get(meta, "config", (dict,), "")
    kinds = {"D": (int,), "z": (int,), "S": (int,), "allocation": (str,), "seed": (int,), "margin": (float,),
             "gain": (float,)}
    values = {name: r.get(raw, name, kind, "config", nullable=name in ("S", "gain"),
                          at_least=1 if name in ("D", "z", "S") else None) for name, kind in kinds.items()}
    values["margin"] = float(values["margin"])
    # The other knobs, each of its field's type (absent ones keep their defaults).
    values.update({k: v for k, v in r.fields_of(Config, raw, "config").items() if k not in values})
    # Files written before the routed construction existed hold coherent networks.
    values.setdefault("construction", "coherent")
    if values["construction"] not in REGISTRY:
        names = " or ".join(f'"{name}"' for name in REGISTRY)
        raise r.fail(METADATA, f"`config.construction` must be {names}, got {values['construction']!r}")
    if values["z"] < 1:
        raise r.fail(METADATA, f"`config.z` must be at least 1, got {values['z']}")
    return Config(**values)


def _read_types(r: Reader, meta: dict, tensors_: dict[str, np.ndarray], d: int, L: int) -> list[dict]:
    out = []
    raw_types = r.get(meta, "types", (list,), "")
    shares = _weights_of(r, raw_types)
    for k, raw in enumerate(raw_types):
        where = f"types[{k}]"
        if not isinstance(raw, dict):
            raise r.fail(METADATA, f"`{where}` must be an object")
        rec = {
            "circuit": r.get(raw, "circuit", (str,), where),
            "kind": r.get(raw, "kind", (str,), where),
            "margin": float(r.get(raw, "margin", (float,), where)),
            "gain": float(r.get(raw, "gain", (float,), where)),
            "count": r.get(raw, "count", (int,), where),
            "active_tolerance": float(r.get(raw, "active_tolerance", (float,), where)),
            "inactive_tolerance": float(r.get(raw, "inactive_tolerance", (float,), where)),
            "input_bits": r.get(raw, "input_bits", (list,), where),
            "output_bits": r.get(raw, "output_bits", (list,), where),
            "input_index": r.array(r.get(raw, "input_index", (list,), where), f"{where}.input_index", 1, True),
            "readout": r.array(r.get(raw, "readout", (list,), where), f"{where}.readout", 2, False),
        }
        if rec["kind"] not in ("boolean", "mlp"):
            raise r.fail(METADATA, f"`{where}.kind` must be \"boolean\" or \"mlp\", got {rec['kind']!r}")
        for key in ("d", "L"):
            got = r.get(raw, key, (int,), where)
            want = d if key == "d" else L
            if got != want:
                raise r.fail(METADATA, f"`{where}.{key}` is {got}, but the network has {key} = {want}")
        for key in ("input_bits", "output_bits"):
            if not all(isinstance(b, str) for b in rec[key]):
                raise r.fail(METADATA, f"`{where}.{key}` must be a list of strings")
        if len(rec["input_bits"]) != len(rec["input_index"]):
            raise r.fail(METADATA, f"`{where}` names {len(rec['input_bits'])} input bits but has "
                                   f"{len(rec['input_index'])} input_index entries")
        if rec["readout"].shape != (len(rec["output_bits"]), d):
            raise r.fail(METADATA, f"`{where}.readout` has shape {shape_text(rec['readout'].shape)}, expected "
                                   f"{shape_text((len(rec['output_bits']), d))}")
        rec["normalized"] = r.get(raw, "normalized", (bool,), where) if "normalized" in raw else False
        rec["weights_of"] = share = shares[k]
        rec["weights"] = tensors_[f"types.{share}.weights"]
        out.append(rec)
    if not out:
        raise r.fail(METADATA, "`types` is empty: a network has at least one instance type")
    return out


def _read_circuits(r: Reader, types: list[dict]) -> tuple[Circuit, ...]:
    path = r.file(CIRCUITS)
    spec = parse(read_text(path), filename=os.fspath(path), base_dir=r.directory)
    by_name = {c.name: c for c in spec.circuits}
    out = []
    for k, ty in enumerate(types):
        c = by_name.get(ty["circuit"])
        if c is None:
            raise r.fail(CIRCUITS, f"no circuit `{ty['circuit']}` (instance type {k} in {METADATA})")
        if c.kind != ty["kind"] or list(c.input_bits) != ty["input_bits"] or list(c.output_bits) != ty["output_bits"]:
            raise r.fail(CIRCUITS, f"circuit `{c.name}` does not match instance type {k} in {METADATA} "
                                   f"(kind, input or output bits differ)")
        out.append(c)
    return tuple(out)


def _read_shape(r: Reader, meta: dict, config: Config) -> tuple[int, int, int, int, int, int, float]:
    """(D, d, n, L, T, S, margin), consistent with each other and with the config."""
    shape = r.get(meta, "shape", (dict,), "")
    D, d, n, L, T, S = (r.get(shape, k, (int,), "shape", at_least=1) for k in ("D", "d", "n", "L", "T", "S"))
    margin = float(r.get(shape, "margin", (float,), "shape"))
    if min(d, n, L, T, S) < 1 or D != d * n:
        raise r.fail(METADATA, f"`shape` is inconsistent: D = {D}, d = {d}, n = {n}, L = {L}, T = {T}, S = {S} "
                               f"(need D = d·n and every figure at least 1)")
    if config.z > T:
        raise r.fail(METADATA, f"`config.z` = {config.z} exceeds the T = {T} instances")
    if config.S != S or config.margin != margin:
        raise r.fail(METADATA, f"`config` (S = {config.S}, margin = {config.margin}) disagrees with `shape` "
                               f"(S = {S}, margin = {margin})")
    return D, d, n, L, T, S, margin


def _read_network_tensors(r: Reader, meta: dict, D: int, d: int, L: int, routed: bool, stored_layers: bool,
                          routing: tuple[int, int] | None) -> dict[str, np.ndarray]:
    """Every tensor of weights.safetensors, with the shape and dtype the network's figures imply
    (`routing`: (T, S) when the routing tables are tensors)."""
    raw_types = r.get(meta, "types", (list,), "")
    owners = [k for k, share in enumerate(_weights_of(r, raw_types)) if share == k]
    # The figures are checked against the size an artifact may hold before any shape is listed:
    # a hand-edited L or D of 10^9 would otherwise build a table of 10^9 entries first.
    need = (L * (D * D + D) * 4 if stored_layers else 0) + len(owners) * L * (d * d + (d if routed else 0)) * 8
    if routing is not None:
        need += (routing[0] * routing[1] + (L + 1) * routing[0]) * 8
    if need > MAX_ARTIFACT_WEIGHTS_BYTES:
        raise r.fail(METADATA, f"its figures (D = {D}, d = {d}, L = {L}, {len(raw_types)} types) imply "
                               f"{size_text(need)} of weights, above the {size_text(MAX_ARTIFACT_WEIGHTS_BYTES)} "
                               "an artifact may hold")
    expected: dict[str, tuple[tuple[int, ...], str]] = {}
    if routing is not None:
        T, S = routing
        expected["allocation.supports"] = ((T, S), "I64")
        expected["permutations"] = ((L + 1, T), "I64")
    for l in range(L if stored_layers else 0):
        expected[f"layers.{l}.weight"] = ((D, D), "F32")
        expected[f"layers.{l}.bias"] = ((D,), "F32")
    for k in owners:
        expected[f"types.{k}.weights"] = ((L, d, d), "F64")
        if routed:
            expected[f"types.{k}.biases"] = ((L, d), "F64")
    return read_tensors(r, expected)


def _weights_of(r: Reader, raw_types: list) -> list[int]:
    """Per type, the type whose stored weights (and biases) it runs: its `weights_of`, an earlier
    type that stores its own, or itself."""
    out = []
    for k, raw in enumerate(raw_types):
        share = raw.get("weights_of", k) if isinstance(raw, dict) else k
        if share != k and not (is_a(share, (int,)) and 0 <= share < k and out[share] == share):
            raise r.fail(METADATA, f"`types[{k}].weights_of` must name an earlier type that stores its own weights, "
                                   f"got {json.dumps(share)}")
        out.append(share)
    return out


def _read_type_of(r: Reader, meta: dict, types: list[dict], T: int) -> np.ndarray:
    """The type of every instance, stored as run-lengths [[type, count], ...]."""
    runs = r.get(meta, "type_of", (list,), "")
    ids, reps = [], []
    for i, run in enumerate(runs):
        if (not isinstance(run, list) or len(run) != 2 or not all(is_a(v, (int,)) for v in run)
                or not 0 <= run[0] < len(types) or run[1] < 0):
            raise r.fail(METADATA, f"`type_of[{i}]` must be [type, count] with type in [0, {len(types)}) "
                                   f"and count >= 0, got {json.dumps(run)}")
        ids.append(run[0])
        reps.append(run[1])
    if sum(reps) != T:   # before expanding: a count of 10^30 must not reach numpy
        raise r.fail(METADATA, f"`type_of` covers {sum(reps)} instances, but the network has T = {T}")
    type_of = np.repeat(np.array(ids, dtype=np.int64), np.array(reps, dtype=np.int64))
    counts = np.bincount(type_of, minlength=len(types))
    for k, ty in enumerate(types):
        if counts[k] != ty["count"]:
            raise r.fail(METADATA, f"`types[{k}].count` is {ty['count']}, but `type_of` lists {counts[k]} of them")
    return type_of


def _read_supports(r: Reader, meta: dict, L: int, T: int, S: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Every layer's supports (L+1, T, S) and permutations (L+1, T)."""
    supports = r.array(r.get(meta, "supports", (list,), ""), "supports", 3, True)
    if supports.shape != (L + 1, T, S):
        raise r.fail(METADATA, f"`supports` has shape {shape_text(supports.shape)}, expected (L+1, T, S) = "
                               f"{shape_text((L + 1, T, S))}")
    outside = supports[(supports < 0) | (supports >= n)]
    if outside.size:
        raise r.fail(METADATA, f"`supports` holds neuron {int(outside[0])}, outside [0, n) = [0, {n})")
    perms = r.array(r.get(meta, "permutations", (list,), ""), "permutations", 2, True)
    if perms.shape != (L + 1, T):
        raise r.fail(METADATA, f"`permutations` has shape {shape_text(perms.shape)}, expected (L+1, T) = "
                               f"{shape_text((L + 1, T))}")
    if not np.array_equal(np.sort(perms, axis=1), np.broadcast_to(np.arange(T), perms.shape)):
        raise r.fail(METADATA, "`permutations`: a row is not a permutation of the T instances")
    return supports, perms


def _routing_tensors(r: Reader, tensors_: dict[str, np.ndarray], T: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The allocation's supports (T, S) and the per-layer permutations (L+1, T), in range."""
    base, perms = tensors_["allocation.supports"], tensors_["permutations"]
    outside = base[(base < 0) | (base >= n)]
    if outside.size:
        raise r.fail(WEIGHTS, f"allocation.supports holds neuron {int(outside[0])}, outside [0, n) = [0, {n})")
    if not np.array_equal(np.sort(perms, axis=1), np.broadcast_to(np.arange(T), perms.shape)):
        raise r.fail(WEIGHTS, "permutations: a row is not a permutation of the T instances")
    return base, perms


def _read_allocation(r: Reader, meta: dict, n: int, S: int, T: int, base: np.ndarray, supports: np.ndarray,
                     perms: np.ndarray) -> Allocation:
    """The allocation, whose base supports reshuffled by `perms` must be `supports`."""
    raw_alloc = r.get(meta, "allocation", (dict,), "")
    strategy = r.get(raw_alloc, "strategy", (str,), "allocation")
    a_n = r.get(raw_alloc, "n", (int,), "allocation")
    a_S = r.get(raw_alloc, "S", (int,), "allocation")
    capacity = r.get(raw_alloc, "capacity", (int,), "allocation")
    degree = r.get(raw_alloc, "degree", (int,), "allocation", nullable=True) if "degree" in raw_alloc else None
    if (a_n, a_S) != (n, S) or base.shape != (T, S):
        raise r.fail(METADATA, f"`allocation` (n = {a_n}, S = {a_S}, supports {shape_text(base.shape)}) does not "
                               f"match the network (n = {n}, S = {S}, T = {T})")
    if not np.array_equal(base[perms], supports):
        raise r.fail(METADATA, "`supports` do not match the allocation's supports reshuffled by `permutations`")
    return Allocation(strategy, n, S, base, capacity, degree)


def _relowered(r: Reader, made_by, circuits: tuple[Circuit, ...], types: list[dict]) -> list[SmallMLP] | None:
    """The types lowered again from the stored circuits, for a construction whose lowering is a pure
    function of them (checked against the stored types); None for the others."""
    try:
        again = made_by.types_from_circuits(circuits)
    except CircuitError as e:
        raise r.fail(CIRCUITS, "; ".join(d.message for d in e.diagnostics)) from None
    if again is None:
        return None
    for k, (ty, stored) in enumerate(zip(again, types)):
        if ty.weights.shape != stored["weights"].shape or not np.array_equal(ty.weights, stored["weights"]):
            raise r.fail(WEIGHTS, f"types.{k}.weights differ from circuit `{circuits[k].name}` in {CIRCUITS}")
    return list(again)


def _lowered_types(r: Reader, types: list[dict], tensors_: dict[str, np.ndarray], config: Config,
                   allocation: Allocation, margin: float, routed: bool) -> list[SmallMLP]:
    """Each instance type's lowered circuit, in the form of its construction, checked."""
    smalls = []
    for k, ty in enumerate(types):
        if ty["margin"] != margin:
            raise r.fail(METADATA, f"`types[{k}].margin` is {ty['margin']}, but the network's is {margin}")
        wiped = ty["normalized"] and config.input_bound is not None
        if routed and (allocation.lam is None
                       or (ty["kind"] != "boolean" and config.z != 1 and allocation.lam and not wiped)):
            raise r.fail(METADATA, f"instance type {k}: a routed network holds its instances on a polynomial code, "
                                   f"and MLP circuits at z >= 2 on shared positions only with the collision wipe "
                                   f"and an input bound")
        if ty["normalized"] and (not routed or ty["kind"] != "mlp"):
            raise r.fail(METADATA, f"`types[{k}].normalized`: only MLP circuits on routed positions are read as "
                                   f"a ratio")
        if config.gain is not None and ty["gain"] != config.gain:
            raise r.fail(METADATA, f"`types[{k}].gain` is {ty['gain']}, but the config's is {config.gain}")
        common = dict(name=ty["circuit"], kind=ty["kind"], weights=ty["weights"], margin=ty["margin"],
                      input_index=ty["input_index"], readout=ty["readout"],
                      active_tolerance=ty["active_tolerance"], gain=ty["gain"])
        mlp = (RoutedMLP(**common, biases=tensors_[f"types.{ty['weights_of']}.biases"], normalized=ty["normalized"])
               if routed
               else SmallMLP(**common))
        try:
            mlp.check()
        except CircuitError as e:
            raise r.fail(METADATA, f"instance type {k}: " + "; ".join(x.message for x in e.diagnostics)) from None
        smalls.append(mlp)
    return smalls
