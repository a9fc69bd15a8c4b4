"""Compiled networks on disk: `save` a `Compilation` as an artifact directory, `load` it back.

An artifact is a directory of three files:

    weights.safetensors   the network, float32: `layers.{l}.weight` (D, D) and `layers.{l}.bias` (D,)
                          for l = 0..L-1 (the Linear computing network layer l+1); and the lowered
                          circuits, float64: `types.{k}.weights` (L, d, d) for instance type k
    network.json          everything else: format and version, the `Config`, the source hash, the
                          compile report, per instance type its circuit, kind, shape, margin,
                          input_index, readout, bit names, count and tolerances; `type_of` as
                          run-lengths; the allocation (with its base supports (T, S)); the per-layer
                          `permutations` (L+1, T) and `supports` (L+1, T, S)
    circuits.circ         the source circuits of the instance types as `.circ` text, so a loaded
                          network can be verified against the reference interpreter

Nothing is ever unpickled: tensors come from safetensors, the rest from JSON and `.circ` text.
`load` checks every file against the others (keys, types, shapes, index ranges) and reports any
problem as a `CircuitError` naming the file; it rebuilds the `nn.Sequential` from the stored
weights without re-running assembly, so a loaded network computes exactly what was saved.

Saving is atomic: the directory is built as a hidden temporary sibling and renamed into place, so
an interrupted save leaves either the old artifact or the new one, never a mixture. An existing
path is replaced only with `force=True`, and only when it is an artifact (or an empty directory).
The same compilation always gives byte-identical files.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .instances.assemble import CompiledNetwork, network_from_layers
from .instances.compile import Compilation, Config
from .instances.embed.allocate import Allocation
from .errors import CircuitError, Diagnostic
from .fileio import default_mode, fsync_path, os_reason, write_durable
from .instances.lower.small_mlp import SmallMLP
from .spec import BoolCircuit, Circuit, Spec

__all__ = ["FORMAT", "VERSION", "WEIGHTS", "METADATA", "CIRCUITS", "LoadedNetwork", "save", "load",
           "check_target"]

FORMAT = "circuitc-network"
# 3: `config.construction` and routed networks (per-type biases); 2: coherent networks only, clean
# steps of slope `gain` (on-indicator biases −1, −2), read as coherent; 1 had slope 2.
VERSION = 3
WEIGHTS = "weights.safetensors"
METADATA = "network.json"
CIRCUITS = "circuits.circ"
FILES = (WEIGHTS, METADATA, CIRCUITS)


def _error(message: str, hint: str | None = None) -> CircuitError:
    return CircuitError(Diagnostic(message, hint=hint))


@dataclass(frozen=True, eq=False)
class LoadedNetwork(Compilation):
    """A `Compilation` read back from an artifact, so `verify` and `report` work on it as they do on
    a fresh one; `metadata` is the parsed network.json."""

    path: Path = Path(".")
    metadata: dict = field(default_factory=dict)


# ============================================================================================
# Saving


def _is_artifact(path: Path) -> bool:
    return path.is_dir() and (path / METADATA).is_file()


def check_target(path: str | os.PathLike, force: bool = False) -> None:
    """Refuse (CircuitError) before any work when `save(…, path, force)` could not write `path`."""
    target = Path(path)
    shown = os.fspath(path)
    parent = target.parent
    if not parent.is_dir():
        raise _error(f"cannot write {shown}: directory {os.fspath(parent) or '.'} does not exist")
    if not (target.exists() or target.is_symlink()):
        return
    if not force:
        raise _error(f"{shown} exists; pass --force to replace it")
    if target.is_symlink() and not target.exists():
        return                                          # a dangling link: replacing it loses nothing
    if not target.is_dir():
        raise _error(f"{shown} exists and is not a directory; not replacing it",
                     hint="an artifact is a directory: give another output path")
    if not _is_artifact(target) and any(target.iterdir()):
        raise _error(f"{shown} exists and is not a compiled network (it has no {METADATA}); not replacing it",
                     hint="give another output directory, or remove this one first")


def _jsonable(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return _jsonable(x.tolist())
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        x = float(x)
        return x if math.isfinite(x) else None
    return x


def _dump(x: Any, level: int = 0) -> str:
    """JSON with one key per line and every innermost list of numbers on one line."""
    pad, inner = "  " * level, "  " * (level + 1)
    if isinstance(x, dict):
        if not x:
            return "{}"
        items = [f"{inner}{json.dumps(k)}: {_dump(v, level + 1)}" for k, v in x.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(x, list):
        if all(not isinstance(v, (dict, list)) for v in x):
            return json.dumps(x, ensure_ascii=False, allow_nan=False)
        return "[\n" + ",\n".join(inner + _dump(v, level + 1) for v in x) + "\n" + pad + "]"
    return json.dumps(x, ensure_ascii=False, allow_nan=False)


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
                    "types.{k}.biases": "(L, d) float64: its biases (routed construction only)"},
        "report": comp.report(),
        "budget": comp.budget.as_dict(),
        "types": types,
        "type_of": _run_lengths(net.type_of),
        "allocation": {"strategy": alloc.strategy, "n": alloc.n, "S": alloc.S, "capacity": alloc.capacity,
                       "degree": alloc.degree, "summary": alloc.summary(), "supports": alloc.supports},
        "permutations": comp.permutations,
        "supports": net.supports,
    }
    return _jsonable(record)


def tensors(comp: Compilation) -> dict[str, torch.Tensor]:
    """The weights.safetensors tensors of a compilation (on the CPU, contiguous)."""
    out: dict[str, torch.Tensor] = {}
    for l, lin in enumerate(comp.network.linears()):
        out[f"layers.{l}.weight"] = lin.weight.detach().to("cpu", torch.float32).contiguous()
        out[f"layers.{l}.bias"] = lin.bias.detach().to("cpu", torch.float32).contiguous()
    for k, ty in enumerate(comp.network.types):
        out[f"types.{k}.weights"] = torch.from_numpy(np.ascontiguousarray(ty.weights, dtype=np.float64))
        if ty.routed:
            out[f"types.{k}.biases"] = torch.from_numpy(np.ascontiguousarray(ty.biases, dtype=np.float64))
    return out


def circuits_text(comp: Compilation, name: str | None = None) -> str:
    """The instance types' source circuits as `.circ` text (each circuit once)."""
    from .frontend.printer import spec_to_circ

    unique: dict[str, Circuit] = {}
    for c in comp.circuits:
        if isinstance(c, BoolCircuit) and c.features is not None:
            raise _error(f"`{c.name}` computes over feature set `{c.features}`, which an artifact cannot hold")
        unique.setdefault(c.name, c)
    what = f"network `{name}`" if name else "a compiled network"
    header = f"# The circuits of {what}, as elaborated by circuitc.\n\n"
    return header + spec_to_circ(Spec(tuple(unique.values())), header=False)


def _write_weights(path: Path, tensors_: dict[str, torch.Tensor]) -> None:
    from safetensors import SafetensorError
    from safetensors.torch import save_file

    try:
        save_file(tensors_, str(path))
    except SafetensorError as e:
        raise OSError(str(e)) from None
    fsync_path(path)


def _publish(tmp: Path, target: Path, force: bool) -> None:
    """Move the finished directory `tmp` to `target`, replacing an existing one only with `force`."""
    if not (target.exists() or target.is_symlink()):
        os.rename(tmp, target)
        return
    check_target(target, force)
    # Move the old one aside first, so that a failure here puts it back untouched.
    aside = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
    os.rename(target, aside / target.name)
    try:
        os.rename(tmp, target)
    except BaseException:
        try:
            os.rename(aside / target.name, target)
        except OSError as e:
            raise _error(f"cannot write {os.fspath(target)}: {os_reason(e)}; the previous network is "
                         f"kept at {os.fspath(aside / target.name)}") from None
        shutil.rmtree(aside, ignore_errors=True)
        raise
    shutil.rmtree(aside, ignore_errors=True)


def save(comp: Compilation, path: str | os.PathLike, force: bool = False, *, source_hash: str | None = None,
         name: str | None = None) -> Path:
    """Write `comp` as an artifact directory at `path` (see the module docstring); returns the path.

    `source_hash` and `name` default to the ones the compilation carries.
    """
    source_hash = comp.source_hash if source_hash is None else source_hash
    name = comp.name if name is None else name
    check_target(Path(path), force)
    return write_artifact(path, force, tensors(comp), metadata(comp, source_hash=source_hash, name=name),
                          circuits_text(comp, name))


def write_artifact(path: str | os.PathLike, force: bool, tensors_: dict[str, torch.Tensor], meta: dict,
                   circ: str) -> Path:
    """Write the three files of an artifact into a hidden temporary sibling, then rename it into
    place (replacing an artifact at `path` only with `force`)."""
    target = Path(path)
    shown = os.fspath(path)
    check_target(target, force)
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    except OSError as e:
        raise _error(f"cannot write {shown}: {os_reason(e)}") from None
    try:
        os.chmod(tmp, default_mode(directory=True))
        _write_weights(tmp / WEIGHTS, tensors_)
        write_durable(tmp / METADATA, (_dump(meta) + "\n").encode("utf-8"))
        write_durable(tmp / CIRCUITS, circ.encode("utf-8"))
        for f in FILES:
            os.chmod(tmp / f, default_mode())
        fsync_path(tmp)
        _publish(tmp, target, force)
    except CircuitError:
        raise
    except OSError as e:
        raise _error(f"cannot write {shown}: {os_reason(e)}") from None
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    fsync_path(target.parent)
    return target


# ============================================================================================
# Loading: every check names the file and what is wrong


class _Reader:
    """Typed access to network.json with messages that name the file and the key."""

    def __init__(self, directory: Path):
        self.directory = directory

    def fail(self, file: str, message: str, hint: str | None = None) -> CircuitError:
        return _error(f"{os.fspath(self.directory / file)}: {message}", hint)

    def get(self, obj: dict, key: str, kinds: tuple, where: str, *, nullable: bool = False) -> Any:
        if not isinstance(obj, dict):
            raise self.fail(METADATA, f"{where or 'the top level'} must be an object")
        if key not in obj:
            raise self.fail(METADATA, f"missing key `{_join(where, key)}`")
        value = obj[key]
        if value is None and nullable:
            return None
        if not _is_a(value, kinds):
            want = " or ".join(_KIND_NAMES[k] for k in kinds) + (" or null" if nullable else "")
            raise self.fail(METADATA, f"`{_join(where, key)}` must be {want}, got {_json_type(value)}")
        return value

    def array(self, value: Any, where: str, ndim: int, integer: bool) -> np.ndarray:
        try:
            arr = np.array(value)
        except (ValueError, TypeError):
            arr = None
        if arr is not None and arr.size == 0:
            arr = arr.astype(np.int64 if integer else np.float64)
        ok = arr is not None and arr.ndim == ndim and arr.dtype.kind in ("iu" if integer else "iuf")
        if not ok:
            kind = "integers" if integer else "numbers"
            raise self.fail(METADATA, f"`{where}` must be a {ndim}-dimensional array of {kind}")
        return arr.astype(np.int64 if integer else np.float64)


_KIND_NAMES = {int: "an integer", float: "a number", str: "a string", list: "a list", dict: "an object"}


def _is_a(value: Any, kinds: tuple) -> bool:
    if isinstance(value, bool):
        return False
    return any(isinstance(value, (int, float) if k is float else k) for k in kinds)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    for k, name in _KIND_NAMES.items():
        if isinstance(value, k):
            return name
    return type(value).__name__


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _read_json(r: _Reader) -> dict:
    path = r.directory / METADATA
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as e:
        raise r.fail(METADATA, f"not UTF-8 text (byte {e.start})") from None
    except OSError as e:
        raise r.fail(METADATA, f"cannot read: {os_reason(e)}") from None
    try:
        meta = json.loads(text)
    except json.JSONDecodeError as e:
        raise r.fail(METADATA, f"not valid JSON (line {e.lineno}, column {e.colno}: {e.msg})") from None
    except RecursionError:
        raise r.fail(METADATA, "not valid JSON (nested too deeply)") from None
    if not isinstance(meta, dict):
        raise r.fail(METADATA, f"must hold a JSON object, got {_json_type(meta)}")
    fmt = r.get(meta, "format", (str,), "")
    if fmt != FORMAT:
        raise r.fail(METADATA, f"not a circuitc network (format {fmt!r}, expected {FORMAT!r})")
    version = r.get(meta, "version", (int,), "")
    if version > VERSION:
        raise r.fail(METADATA, f"format version {version} is newer than this circuitc reads ({VERSION})",
                     hint="upgrade circuitc to load this network")
    if version == 1:
        raise r.fail(METADATA, "format version 1: compiled by an older circuitc whose clean steps had slope 2",
                     hint="compile the source again with this circuitc")
    if version not in (2, VERSION):
        raise r.fail(METADATA, f"unknown format version {version} (this circuitc reads versions 2 and {VERSION})")
    return meta


def _read_config(r: _Reader, meta: dict) -> Config:
    raw = r.get(meta, "config", (dict,), "")
    kinds = {"D": (int,), "z": (int,), "S": (int,), "allocation": (str,), "seed": (int,), "margin": (float,),
             "gain": (float,)}
    values = {name: r.get(raw, name, kind, "config", nullable=name in ("S", "gain")) for name, kind in kinds.items()}
    values["margin"] = float(values["margin"])
    for f in fields(Config):                # knobs this file does not know are kept as written
        if f.name not in values and f.name in raw:
            values[f.name] = raw[f.name]
    # Files written before the routed construction existed hold coherent networks.
    values.setdefault("construction", "coherent")
    if values["construction"] not in ("routed", "coherent"):
        raise r.fail(METADATA, f"`config.construction` must be \"routed\" or \"coherent\", got {values['construction']!r}")
    if values["z"] < 1:
        raise r.fail(METADATA, f"`config.z` must be at least 1, got {values['z']}")
    return Config(**values)


def _read_tensors(r: _Reader, expected: dict[str, tuple[tuple[int, ...], str]]) -> dict[str, torch.Tensor]:
    """Every expected tensor with its shape and dtype checked; any other key is an error too."""
    from safetensors import safe_open

    path = r.directory / WEIGHTS
    out: dict[str, torch.Tensor] = {}
    try:
        with safe_open(str(path), framework="pt") as f:
            keys = set(f.keys())
            missing = [k for k in expected if k not in keys]
            if missing:
                raise r.fail(WEIGHTS, f"missing tensor{'s' * (len(missing) > 1)} {', '.join(missing)}")
            extra = sorted(keys - set(expected))
            if extra:
                raise r.fail(WEIGHTS, f"unexpected tensor{'s' * (len(extra) > 1)} {', '.join(extra[:5])}"
                             + (f" and {len(extra) - 5} more" if len(extra) > 5 else ""))
            for key, (shape, dtype) in expected.items():
                sl = f.get_slice(key)
                got_shape, got_dtype = tuple(sl.get_shape()), sl.get_dtype()
                if got_shape != shape:
                    raise r.fail(WEIGHTS, f"{key} has shape {_shape(got_shape)}, expected {_shape(shape)}")
                if got_dtype != dtype:
                    raise r.fail(WEIGHTS, f"{key} has dtype {got_dtype}, expected {dtype}")
                t = f.get_tensor(key)
                if not bool(torch.isfinite(t).all()):
                    raise r.fail(WEIGHTS, f"{key} contains NaN or infinite values")
                out[key] = t
    except CircuitError:
        raise
    except Exception as e:  # safetensors reports a damaged file with its own exception types
        raise r.fail(WEIGHTS, f"not a valid safetensors file ({e})") from None
    return out


def _shape(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def _read_types(r: _Reader, meta: dict, tensors_: dict[str, torch.Tensor], d: int, L: int) -> list[dict]:
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
            raise r.fail(METADATA, f"`{where}.readout` has shape {_shape(rec['readout'].shape)}, expected "
                                   f"{_shape((len(rec['output_bits']), d))}")
        rec["weights"] = tensors_[f"types.{k}.weights"].numpy()
        out.append(rec)
    if not out:
        raise r.fail(METADATA, "`types` is empty: a network has at least one instance type")
    return out


def _read_circuits(r: _Reader, types: list[dict]) -> tuple[Circuit, ...]:
    from .frontend.load import parse, read_text

    path = r.directory / CIRCUITS
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


def _rebuild(r: _Reader, types: list[SmallMLP], type_of: np.ndarray, supports: np.ndarray, n: int,
             tensors_: dict[str, torch.Tensor]) -> CompiledNetwork:
    """The `CompiledNetwork` that `assemble` would build, with the stored weights instead of a scatter-add."""
    L = max(ty.L for ty in types)
    layers = [(tensors_[f"layers.{l}.weight"], tensors_[f"layers.{l}.bias"]) for l in range(L)]
    try:
        return network_from_layers(types, type_of, supports, n, layers)
    except CircuitError as e:
        raise r.fail(METADATA, "; ".join(d.message for d in e.diagnostics)) from None


def load(path: str | os.PathLike):
    """Read an artifact directory written by `save` (a `LoadedNetwork`) or by `feature_artifact.save`
    (a `FeatureNetwork`); every problem is a CircuitError naming the file."""
    directory = Path(path)
    shown = os.fspath(path)
    if not directory.exists():
        raise _error(f"cannot find `{shown}`", hint="give the directory `circuitc compile -o` wrote")
    if not directory.is_dir():
        raise _error(f"`{shown}` is not a directory; a compiled network is a directory of {', '.join(FILES)}")
    missing = [f for f in FILES if not (directory / f).is_file()]
    if missing:
        raise _error(f"`{shown}` is not a complete compiled network: missing {', '.join(missing)}",
                     hint="compile it again with `circuitc compile ... -o DIR`")
    r = _Reader(directory)
    meta = _read_json(r)
    if meta.get("kind") == "features":
        from .features.artifact import read_features

        return read_features(r, meta)
    config = _read_config(r, meta)

    shape = r.get(meta, "shape", (dict,), "")
    D, d, n, L, T, S = (r.get(shape, k, (int,), "shape") for k in ("D", "d", "n", "L", "T", "S"))
    margin = float(r.get(shape, "margin", (float,), "shape"))
    if min(d, n, L, T, S) < 1 or D != d * n:
        raise r.fail(METADATA, f"`shape` is inconsistent: D = {D}, d = {d}, n = {n}, L = {L}, T = {T}, S = {S} "
                               f"(need D = d·n and every figure at least 1)")
    if config.z > T:
        raise r.fail(METADATA, f"`config.z` = {config.z} exceeds the T = {T} instances")
    if config.S != S or config.margin != margin:
        raise r.fail(METADATA, f"`config` (S = {config.S}, margin = {config.margin}) disagrees with `shape` "
                               f"(S = {S}, margin = {margin})")

    raw_types = r.get(meta, "types", (list,), "")
    expected: dict[str, tuple[tuple[int, ...], str]] = {}
    for l in range(L):
        expected[f"layers.{l}.weight"] = ((D, D), "F32")
        expected[f"layers.{l}.bias"] = ((D,), "F32")
    routed = config.construction == "routed"
    for k in range(len(raw_types)):
        expected[f"types.{k}.weights"] = ((L, d, d), "F64")
        if routed:
            expected[f"types.{k}.biases"] = ((L, d), "F64")
    tensors_ = _read_tensors(r, expected)
    types = _read_types(r, meta, tensors_, d, L)

    # type_of, as run-lengths [[type, count], ...]
    runs = r.get(meta, "type_of", (list,), "")
    ids, reps = [], []
    for i, run in enumerate(runs):
        if (not isinstance(run, list) or len(run) != 2 or not all(_is_a(v, (int,)) for v in run)
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

    supports = r.array(r.get(meta, "supports", (list,), ""), "supports", 3, True)
    if supports.shape != (L + 1, T, S):
        raise r.fail(METADATA, f"`supports` has shape {_shape(supports.shape)}, expected (L+1, T, S) = "
                               f"{_shape((L + 1, T, S))}")
    outside = supports[(supports < 0) | (supports >= n)]
    if outside.size:
        raise r.fail(METADATA, f"`supports` holds neuron {int(outside[0])}, outside [0, n) = [0, {n})")
    perms = r.array(r.get(meta, "permutations", (list,), ""), "permutations", 2, True)
    if perms.shape != (L + 1, T):
        raise r.fail(METADATA, f"`permutations` has shape {_shape(perms.shape)}, expected (L+1, T) = "
                               f"{_shape((L + 1, T))}")
    if not np.array_equal(np.sort(perms, axis=1), np.broadcast_to(np.arange(T), perms.shape)):
        raise r.fail(METADATA, "`permutations`: a row is not a permutation of the T instances")

    raw_alloc = r.get(meta, "allocation", (dict,), "")
    strategy = r.get(raw_alloc, "strategy", (str,), "allocation")
    a_n = r.get(raw_alloc, "n", (int,), "allocation")
    a_S = r.get(raw_alloc, "S", (int,), "allocation")
    capacity = r.get(raw_alloc, "capacity", (int,), "allocation")
    degree = r.get(raw_alloc, "degree", (int,), "allocation", nullable=True) if "degree" in raw_alloc else None
    base = r.array(r.get(raw_alloc, "supports", (list,), "allocation"), "allocation.supports", 2, True)
    if (a_n, a_S) != (n, S) or base.shape != (T, S):
        raise r.fail(METADATA, f"`allocation` (n = {a_n}, S = {a_S}, supports {_shape(base.shape)}) does not "
                               f"match the network (n = {n}, S = {S}, T = {T})")
    if not np.array_equal(base[perms], supports):
        raise r.fail(METADATA, "`supports` do not match the allocation's supports reshuffled by `permutations`")
    allocation = Allocation(strategy, n, S, base, capacity, degree)

    smalls = []
    for k, ty in enumerate(types):
        if ty["margin"] != margin:
            raise r.fail(METADATA, f"`types[{k}].margin` is {ty['margin']}, but the network's is {margin}")
        if routed and (allocation.degree is None or (ty["kind"] != "boolean" and config.z != 1 and allocation.degree)):
            raise r.fail(METADATA, f"instance type {k}: a routed network holds its instances on a polynomial code, "
                                   f"and MLP circuits at z >= 2 only on disjoint positions")
        if config.gain is not None and ty["gain"] != config.gain:
            raise r.fail(METADATA, f"`types[{k}].gain` is {ty['gain']}, but the config's is {config.gain}")
        mlp = SmallMLP(name=ty["circuit"], kind=ty["kind"], weights=ty["weights"], margin=ty["margin"],
                       input_index=ty["input_index"], readout=ty["readout"],
                       active_tolerance=ty["active_tolerance"], gain=ty["gain"],
                       biases=tensors_[f"types.{k}.biases"].numpy() if routed else None)
        try:
            mlp.check()
        except CircuitError as e:
            raise r.fail(METADATA, f"instance type {k}: " + "; ".join(x.message for x in e.diagnostics)) from None
        smalls.append(mlp)
    network = _rebuild(r, smalls, type_of, supports, n, tensors_)
    circuits = _read_circuits(r, types)

    source_hash = r.get(meta, "source_hash", (str,), "")
    name = r.get(meta, "network", (str,), "", nullable=True)
    return LoadedNetwork(network=network, config=config, allocation=allocation, circuits=circuits,
                         counts=tuple(int(ty["count"]) for ty in types), permutations=perms,
                         path=directory, metadata=meta, source_hash=source_hash, name=name)
