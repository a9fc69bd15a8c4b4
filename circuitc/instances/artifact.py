"""Networks of instances on disk: `save` a `Compilation` as an artifact directory
(artifact_format.py), `load_network` it back as a `LoadedNetwork`.

    weights.safetensors   the network, float32: `layers.{l}.weight` (D, D) and `layers.{l}.bias` (D,)
                          for l = 0..L-1 (the Linear computing network layer l+1; none for a
                          construction whose layers follow from its types, the routed one); the
                          lowered circuits, float64: `types.{k}.weights` (L, d, d) for instance
                          type k (and `types.{k}.biases` (L, d) for a routed network), once per
                          set of types that share them (`weights_of` in network.json); and the
                          routing tables, int64: `allocation.supports` (T, S) and
                          `permutations` (L+1, T) (layer l's supports are allocation.supports[
                          permutations[l]])
    network.json          everything else: format and version, the `Config`, the source hash, the
                          compile report, per instance type its circuit, kind, shape, margin,
                          input_index, readout, bit names, count and tolerances; `type_of` as
                          run-lengths; the allocation's strategy and figures
    circuits.circ         the source circuits of the instance types

`load_network` checks every file against the others (keys, types, shapes, index ranges; stored.py,
which reads without torch) and reports any problem as a `CircuitError` naming the file; it
rebuilds the `nn.Sequential` from the stored weights without re-running assembly (a routed
network's position blocks are assembled from its stored types, exactly as compiling did), so a
loaded network computes exactly what was saved.
The same compilation always gives byte-identical files.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from ..artifact_format import FORMAT, VERSION, Reader, error, jsonable, write_artifact
from ..frontend.flat import DEFINITION_ITEMS, MAX_FLAT_ITEMS, printed_items
from ..frontend.printer import spec_to_circ
from ..model_card import model_card
from ..spec import BoolCircuit, Circuit, Spec
from .compile import Compilation
from .layout import weight_classes
from .lower.small_mlp import RoutedMLP
from .stored import StoredNetwork, read_stored

__all__ = ["LoadedNetwork", "save", "load_network", "loaded_network", "metadata", "tensors"]


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


def _weights_of(types) -> np.ndarray:
    """Per type, the first type with the same weights and biases (itself, unless the construction
    shares them: the lookup construction's circuits all run one decoder)."""
    class_of, first = weight_classes(types)
    return np.asarray(first, dtype=np.int64)[class_of]


def metadata(comp: Compilation, *, source_hash: str = "", name: str | None = None) -> dict:
    """The network.json record of a compilation."""
    net = comp.network
    types = []
    shares = _weights_of(net.types)
    counts = np.bincount(net.type_of, minlength=len(net.types))
    for k, (ty, circuit) in enumerate(zip(net.types, comp.circuits)):
        types.append({
            "circuit": circuit.name, "kind": ty.kind, "d": ty.d, "L": ty.L, "margin": ty.margin, "gain": ty.gain,
            "count": int(counts[k]),
            "input_bits": list(circuit.input_bits), "output_bits": list(circuit.output_bits),
            "input_index": ty.input_index, "readout": ty.readout,
            "active_tolerance": ty.active_tolerance, "inactive_tolerance": ty.inactive_tolerance,
        })
        if shares[k] != k:
            types[-1]["weights_of"] = int(shares[k])
        if getattr(ty, "normalized", False):
            types[-1]["normalized"] = True
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
                    "types.{k}.weights": "(L, d, d) float64: the lowered circuit of instance type k "
                                         "(none where types[k].weights_of names the type whose weights it shares)",
                    "types.{k}.biases": "(L, d) float64: its biases (routed and lookup constructions only)",
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
    shares = _weights_of(comp.network.types)
    for k, ty in enumerate(comp.network.types):
        if shares[k] != k:            # stored once, with the first type of its weights
            continue
        out[f"types.{k}.weights"] = torch.from_numpy(np.ascontiguousarray(ty.weights, dtype=np.float64))
        if isinstance(ty, RoutedMLP):
            out[f"types.{k}.biases"] = torch.from_numpy(np.ascontiguousarray(ty.biases, dtype=np.float64))
    return out


def check_storable(circuits, name: str | None = None) -> dict[str, Circuit]:
    """The distinct circuits of a network, refused unless an artifact can hold them: none may
    compute over a feature set, and together they must print within what the line reader takes
    back (flat.MAX_FLAT_ITEMS), since loading the artifact reads its circuits.circ that way. The
    command line asks before it compiles."""
    unique: dict[str, Circuit] = {}
    for c in circuits:
        if isinstance(c, BoolCircuit) and c.features is not None:
            raise error(f"`{c.name}` computes over feature set `{c.features}`, which an artifact cannot hold")
        unique.setdefault(c.name, c)
    items = sum(printed_items(c) for c in unique.values())
    if items > MAX_FLAT_ITEMS:
        what = f"network `{name}`" if name else "the network"
        raise error(f"the {len(unique):,} different circuits of {what} would print as {items:,} items (gates, "
                    f"gate inputs, port bits, weights, and {DEFINITION_ITEMS} for each circuit), and an artifact's "
                    f"circuits.circ is read back only up to {MAX_FLAT_ITEMS:,}",
                    hint="compile fewer different circuits into one network: instances of one circuit cost "
                         "nothing here, each different circuit is written out")
    return unique


def circuits_text(comp: Compilation, name: str | None = None) -> str:
    """The instance types' source circuits as `.circ` text (each circuit once)."""
    unique = check_storable(comp.circuits, name)
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


def load_network(r: Reader, meta: dict) -> "LoadedNetwork":
    """The `LoadedNetwork` of an opened artifact (`artifact_format.open_artifact`) of a network of
    instances; every problem is a CircuitError naming the file."""
    return loaded_network(read_stored(r, meta))


def loaded_network(stored: StoredNetwork) -> LoadedNetwork:
    """The torch network of a read artifact: the one its construction assembles from the stored
    types (what `compile` built), or the stored layers in the network `assemble` would have built
    around them, without the scatter-add."""
    plan, layers = stored.plan, stored.stored_layers
    if layers is None:
        network = stored.build(lambda made_by: made_by.assemble(plan))
    else:
        tensors_ = [(torch.from_numpy(W), torch.from_numpy(b)) for W, b in layers]
        network = stored.build(lambda made_by: made_by.network_from_layers(plan.types, stored.type_of, plan.supports,
                                                                           plan.n, tensors_))
    return LoadedNetwork(replace(plan, types=tuple(network.types)), network, stored.source_hash, path=stored.path,
                         metadata=stored.metadata)
