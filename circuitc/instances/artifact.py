"""Networks of instances on disk: `save` a `Compilation` as an artifact directory
(artifact_format.py), `load_network` it back as a `LoadedNetwork`.

    weights.safetensors   the network, float32: `layers.{l}.weight` (D, D) and `layers.{l}.bias` (D,)
                          for l = 0..L-1 (the Linear computing network layer l+1; none for a
                          construction whose layers follow from its types, the routed one); the
                          lowered circuits, float64: `types.{k}.weights` (L, d, d) for instance
                          type k (and `types.{k}.biases` (L, d) for a routed network); and the
                          routing tables, int64: `allocation.supports` (T, S) and
                          `permutations` (L+1, T) (layer l's supports are allocation.supports[
                          permutations[l]])
    network.json          everything else: format and version, the `Config`, the source hash, the
                          compile report, per instance type its circuit, kind, shape, margin,
                          input_index, readout, bit names, count and tolerances; `type_of` as
                          run-lengths; the allocation's strategy and figures
    circuits.circ         the source circuits of the instance types

`load_network` checks every file against the others (keys, types, shapes, index ranges) and
reports any problem as a `CircuitError` naming the file; it rebuilds the `nn.Sequential` from the
stored weights without re-running assembly (a routed network's position blocks are assembled from
its stored types, exactly as compiling did), so a loaded network computes exactly what was saved.
The same compilation always gives byte-identical files.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

import numpy as np
import torch

from ..artifact_format import (
    CIRCUITS,
    FORMAT,
    METADATA,
    VERSION,
    WEIGHTS,
    Reader,
    error,
    is_a,
    jsonable,
    read_tensors,
    shape_text,
    write_artifact,
)
from ..errors import CircuitError
from ..frontend.load import parse, read_text
from ..frontend.printer import spec_to_circ
from ..model_card import model_card
from ..spec import BoolCircuit, Circuit, Spec
from .assemble import CompiledNetwork
from .compile import Compilation
from .config import Config
from .constructions import REGISTRY
from .embed.allocate import Allocation
from .lower.small_mlp import RoutedMLP, SmallMLP
from .plan import Plan

__all__ = ["LoadedNetwork", "save", "load_network", "metadata", "tensors"]


@dataclass(frozen=True, eq=False)
class LoadedNetwork(Compilation):
    """A `Compilation` read back from an artifact, so `verify` and `report` work on it as they do on
    a fresh one; `metadata` is the parsed network.json."""

    path: Path = Path(".")
    metadata: dict = field(default_factory=dict)


def _run_lengths(values: np.ndarray) -> list[list[int]]:
    out: list[list[int]] = []
    for v in values.tolist():
        if out and out[-1][0] == v:
            out[-1][1] += 1
        else:
            out.append([v, 1])
    return out


def metadata(comp: Compilation, *, source_hash: str = "", name: str | None = None) -> dict:
    """The network.json record of a compilation."""
    net = comp.network
    types = []
    for k, (ty, circuit) in enumerate(zip(net.types, comp.circuits)):
        types.append({
            "circuit": circuit.name, "kind": ty.kind, "d": ty.d, "L": ty.L, "margin": ty.margin, "gain": ty.gain,
            "count": int((net.type_of == k).sum()),
            "input_bits": list(circuit.input_bits), "output_bits": list(circuit.output_bits),
            "input_index": ty.input_index, "readout": ty.readout,
            "active_tolerance": ty.active_tolerance, "inactive_tolerance": ty.inactive_tolerance,
        })
    alloc = comp.allocation
    record = {
        "format": FORMAT,
        "version": VERSION,
        "network": name,
        "source_hash": source_hash,
        "config": asdict(comp.config),
        "shape": {"D": net.D, "d": net.d, "n": net.n, "L": net.L, "T": net.T, "S": net.S, "margin": net.margin},
        "tensors": {"layers.{l}.weight": "(D, D) float32: the weights of network layer l + 1",
                    "layers.{l}.bias": "(D,) float32",
                    "types.{k}.weights": "(L, d, d) float64: the lowered circuit of instance type k",
                    "types.{k}.biases": "(L, d) float64: its biases (routed construction only)",
                    "allocation.supports": "(T, S) int64: the S neurons (per block) each instance owns",
                    "permutations": "(L+1, T) int64: layer l's supports are allocation.supports[permutations[l]]"},
        "report": comp.report(),
        "budget": comp.budget.as_dict(),
        "types": types,
        "type_of": _run_lengths(net.type_of),
        "allocation": {"strategy": alloc.strategy, "n": alloc.n, "S": alloc.S, "capacity": alloc.capacity,
                       "degree": alloc.lam, "summary": alloc.summary()},
    }
    return jsonable(record)


def tensors(comp: Compilation) -> dict[str, torch.Tensor]:
    """The weights.safetensors tensors of a compilation (on the CPU, contiguous)."""
    out: dict[str, torch.Tensor] = {}
    if not comp.construction.layers_from_types:
        for l, lin in enumerate(comp.network.linears()):
            out[f"layers.{l}.weight"] = lin.weight.detach().to("cpu", torch.float32).contiguous()
            out[f"layers.{l}.bias"] = lin.bias.detach().to("cpu", torch.float32).contiguous()
    # Which neurons carry which instance: the allocation's supports and the per-layer
    # permutations (every layer's supports are `allocation.supports[permutations[l]]`).
    out["allocation.supports"] = torch.from_numpy(np.ascontiguousarray(comp.allocation.supports, dtype=np.int64))
    out["permutations"] = torch.from_numpy(np.ascontiguousarray(comp.permutations, dtype=np.int64))
    for k, ty in enumerate(comp.network.types):
        out[f"types.{k}.weights"] = torch.from_numpy(np.ascontiguousarray(ty.weights, dtype=np.float64))
        if isinstance(ty, RoutedMLP):
            out[f"types.{k}.biases"] = torch.from_numpy(np.ascontiguousarray(ty.biases, dtype=np.float64))
    return out


def circuits_text(comp: Compilation, name: str | None = None) -> str:
    """The instance types' source circuits as `.circ` text (each circuit once)."""
    unique: dict[str, Circuit] = {}
    for c in comp.circuits:
        if isinstance(c, BoolCircuit) and c.features is not None:
            raise error(f"`{c.name}` computes over feature set `{c.features}`, which an artifact cannot hold")
        unique.setdefault(c.name, c)
    what = f"network `{name}`" if name else "a compiled network"
    header = f"# The circuits of {what}, as elaborated by circuitc.\n\n"
    return header + spec_to_circ(Spec(tuple(unique.values())), header=False)


def save(comp: Compilation, path: str | os.PathLike, force: bool = False, *, source_hash: str | None = None,
         name: str | None = None, layout: str = "circuitc") -> Path:
    """Write `comp` as an artifact directory at `path` (see the module docstring); returns the path.

    `source_hash` and `name` default to the ones the compilation carries; `layout` "hf" names the
    files as the Hugging Face Hub does and adds a model card.
    """
    source_hash = comp.source_hash if source_hash is None else source_hash
    name = comp.name if name is None else name
    meta = metadata(comp, source_hash=source_hash, name=name)
    return write_artifact(path, force, tensors(comp), meta, circuits_text(comp, name), layout=layout,
                          card=model_card(meta) if layout == "hf" else None)


def _read_config(r: Reader, meta: dict) -> Config:
    raw = r.get(meta, "config", (dict,), "")
    kinds = {"D": (int,), "z": (int,), "S": (int,), "allocation": (str,), "seed": (int,), "margin": (float,),
             "gain": (float,)}
    values = {name: r.get(raw, name, kind, "config", nullable=name in ("S", "gain"),
                          at_least=1 if name in ("D", "z", "S") else None) for name, kind in kinds.items()}
    values["margin"] = float(values["margin"])
    for f in fields(Config):                # knobs this file does not know are kept as written
        if f.name not in values and f.name in raw:
            values[f.name] = raw[f.name]
    # Files written before the routed construction existed hold coherent networks.
    values.setdefault("construction", "coherent")
    if values["construction"] not in REGISTRY:
        names = " or ".join(f'"{name}"' for name in REGISTRY)
        raise r.fail(METADATA, f"`config.construction` must be {names}, got {values['construction']!r}")
    if values["z"] < 1:
        raise r.fail(METADATA, f"`config.z` must be at least 1, got {values['z']}")
    return Config(**values)


def _read_types(r: Reader, meta: dict, tensors_: dict[str, torch.Tensor], d: int, L: int) -> list[dict]:
    out = []
    for k, raw in enumerate(r.get(meta, "types", (list,), "")):
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
        rec["weights"] = tensors_[f"types.{k}.weights"].numpy()
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


def _assembled(r: Reader, made_by, plan: Plan) -> CompiledNetwork:
    """The network its construction assembles from the stored types (what `compile` built)."""
    try:
        return made_by.assemble(plan)
    except CircuitError as e:
        raise r.fail(METADATA, "; ".join(d.message for d in e.diagnostics)) from None


def _rebuild(r: Reader, made_by, types: list[SmallMLP], type_of: np.ndarray, supports: np.ndarray, n: int,
             tensors_: dict[str, torch.Tensor]) -> CompiledNetwork:
    """The `CompiledNetwork` that `assemble` would build, with the stored weights instead of a scatter-add."""
    L = max(ty.L for ty in types)
    layers = [(tensors_[f"layers.{l}.weight"], tensors_[f"layers.{l}.bias"]) for l in range(L)]
    try:
        return made_by.network_from_layers(types, type_of, supports, n, layers)
    except CircuitError as e:
        raise r.fail(METADATA, "; ".join(d.message for d in e.diagnostics)) from None


def load_network(r: Reader, meta: dict) -> "LoadedNetwork":
    """The `LoadedNetwork` of an opened artifact (`artifact_format.open_artifact`) of a network of
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
    if made_by.layers_from_types:
        network = _assembled(r, made_by, plan)
    else:
        network = _rebuild(r, made_by, smalls, type_of, supports, n, tensors_)
    return LoadedNetwork(replace(plan, types=tuple(network.types)), network, source_hash, path=r.directory,
                         metadata=meta)


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
                          routing: tuple[int, int] | None) -> dict[str, torch.Tensor]:
    """Every tensor of weights.safetensors, with the shape and dtype the network's figures imply
    (`routing`: (T, S) when the routing tables are tensors)."""
    raw_types = r.get(meta, "types", (list,), "")
    expected: dict[str, tuple[tuple[int, ...], str]] = {}
    if routing is not None:
        T, S = routing
        expected["allocation.supports"] = ((T, S), "I64")
        expected["permutations"] = ((L + 1, T), "I64")
    for l in range(L if stored_layers else 0):
        expected[f"layers.{l}.weight"] = ((D, D), "F32")
        expected[f"layers.{l}.bias"] = ((D,), "F32")
    for k in range(len(raw_types)):
        expected[f"types.{k}.weights"] = ((L, d, d), "F64")
        if routed:
            expected[f"types.{k}.biases"] = ((L, d), "F64")
    return read_tensors(r, expected)


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
    type_of = np.repeat(np.array(ids, dtype=np.int64), np.array(reps, dtype=np.int64))
    if len(type_of) != T:
        raise r.fail(METADATA, f"`type_of` covers {len(type_of)} instances, but the network has T = {T}")
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


def _routing_tensors(r: Reader, tensors_: dict[str, torch.Tensor], T: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The allocation's supports (T, S) and the per-layer permutations (L+1, T), in range."""
    base, perms = tensors_["allocation.supports"].numpy(), tensors_["permutations"].numpy()
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


def _lowered_types(r: Reader, types: list[dict], tensors_: dict[str, torch.Tensor], config: Config,
                   allocation: Allocation, margin: float, routed: bool) -> list[SmallMLP]:
    """Each instance type's lowered circuit, in the form of its construction, checked."""
    smalls = []
    for k, ty in enumerate(types):
        if ty["margin"] != margin:
            raise r.fail(METADATA, f"`types[{k}].margin` is {ty['margin']}, but the network's is {margin}")
        if routed and (allocation.lam is None or (ty["kind"] != "boolean" and config.z != 1 and allocation.lam)):
            raise r.fail(METADATA, f"instance type {k}: a routed network holds its instances on a polynomial code, "
                                   f"and MLP circuits at z >= 2 only on disjoint positions")
        if config.gain is not None and ty["gain"] != config.gain:
            raise r.fail(METADATA, f"`types[{k}].gain` is {ty['gain']}, but the config's is {config.gain}")
        common = dict(name=ty["circuit"], kind=ty["kind"], weights=ty["weights"], margin=ty["margin"],
                      input_index=ty["input_index"], readout=ty["readout"],
                      active_tolerance=ty["active_tolerance"], gain=ty["gain"])
        mlp = (RoutedMLP(**common, biases=tensors_[f"types.{k}.biases"].numpy()) if routed
               else SmallMLP(**common))
        try:
            mlp.check()
        except CircuitError as e:
            raise r.fail(METADATA, f"instance type {k}: " + "; ".join(x.message for x in e.diagnostics)) from None
        smalls.append(mlp)
    return smalls
