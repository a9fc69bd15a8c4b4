"""circuitc: compile sparse boolean and small MLP circuits into one superposed deep ReLU MLP.

The public API, by job:

- **front end**: `parse(text)` / `load_spec(path)` (`.circ`, `.bench`, `.blif`) → `Spec`;
  `format_source(text)` prints `.circ` canonically, `spec_to_circ(spec)` any Spec as `.circ`;
  `parse_assignments` / `read_input_csv` make input rows as the command line reads them;
- **IR**: `Spec` and what it holds (`BoolCircuit`, `MLPCircuit`, `Network`, ...);
  `CircuitError` / `Diagnostic`: bad input, rendered with file:line:col and a caret;
- **semantics**: `evaluate`, `evaluate_bits`, `truth_table`, `bits_to_int` (the exact reference);
  `circuit_graph`, `check_acyclic`, `levels`, `depth`, `summary`, `to_dot`, `to_json`;
- **networks of instances**: `compile(spec, network, **knobs)` → `Compilation`, `plan`,
  `budget(spec, network, **knobs)` (before any weight), `run(compiled, {instance: inputs})`,
  `sample(compiled, rows)` (labelled activations), `components(compiled, layer)` and
  `shared_part(compiled, layer)` (W = Σ_t C_t + w̄ ⊗ M), `Config`;
- **circuits over feature sets**: `compile_features(spec, circuit, **knobs)` → `FeatureNetwork`;
- **either back end**: `back_end(spec, circuit)` (which one a source asks for),
  `verify(compiled, samples, mode=...)`, `save(compiled, path, layout=...)` / `load(path)` (artifacts,
  in circuitc's layout or the Hugging Face Hub's), `push(path, repo_id)` (to the Hub);
- **sweeps**: `Sweep(grid, output)` / `run_sweep(grid, output, workers=..., scheduler=...)`: a grid
  of compile+verify, budget or frontier points, cached on disk, on local processes or Dask.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import CircuitError, Diagnostic, Span
from .frontend.load import load_spec, parse
from .frontend.printer import spec_to_circ
from .frontend.syntax.format import format_source
from .graph import check_acyclic, circuit_graph, depth, levels, summary, to_dot, to_json
from .inputs import parse_assignments, read_input_csv
from .interpret import bits_to_int, evaluate, evaluate_bits, truth_table
from .lazy import lazy_names
from .spec import BoolCircuit, FeatureSet, Gate, InstanceGroup, Layer, MLPCircuit, Network, Op, Port, Spec

# The back ends import torch, which takes seconds; the front end (and `circuitc check`, `eval`,
# `fmt`) does not need it: their names are resolved on first use (lazy.py).
_BACK_END = {
    "compile": ("circuitc.instances.compile", "compile_network"),
    "plan": ("circuitc.instances.planner", "plan_network"),
    "budget": ("circuitc.instances.budget", "budget"),
    "Config": ("circuitc.instances.config", "Config"),
    "Compilation": ("circuitc.instances.compile", "Compilation"),
    "LoadedNetwork": ("circuitc.instances.artifact", "LoadedNetwork"),
    "compile_features": ("circuitc.features.network", "compile_source"),
    "FeatureConfig": ("circuitc.features.network", "FeatureConfig"),
    "FeatureNetwork": ("circuitc.features.network", "FeatureNetwork"),
    "back_end": ("circuitc.back_ends", "back_end"),
    "verify": ("circuitc.back_ends", "verify"),
    "run": ("circuitc.instances.run", "run"),
    "sample": ("circuitc.instances.sample", "sample"),
    "components": ("circuitc.instances.components", "components"),
    "shared_part": ("circuitc.instances.components", "shared_part"),
    "save": ("circuitc.artifact", "save"),
    "push": ("circuitc.hub", "push"),
    "load": ("circuitc.artifact", "load"),
    "Sweep": ("circuitc.sweep.driver", "Sweep"),
    "run_sweep": ("circuitc.sweep.driver", "run_sweep"),
}

if TYPE_CHECKING:
    from .artifact import load, save
    from .back_ends import back_end, verify
    from .features.network import FeatureConfig, FeatureNetwork
    from .features.network import compile_source as compile_features
    from .hub import push
    from .instances import Compilation, Config, LoadedNetwork, budget
    from .instances import compile_network as compile
    from .instances import plan_network as plan
    from .instances.components import components, shared_part
    from .instances.run import run
    from .instances.sample import sample
    from .sweep.driver import Sweep, run_sweep

__version__ = "0.1.0"

__all__ = [
    # front end
    "parse", "load_spec", "format_source", "spec_to_circ", "parse_assignments", "read_input_csv",
    # IR and diagnostics
    "Spec", "BoolCircuit", "MLPCircuit", "Layer", "Port", "Gate", "Op", "FeatureSet", "Network", "InstanceGroup",
    "CircuitError", "Diagnostic", "Span",
    # semantics and the dependency graph
    "evaluate", "evaluate_bits", "truth_table", "bits_to_int",
    "circuit_graph", "check_acyclic", "levels", "depth", "summary", "to_dot", "to_json",
    # networks of instances
    "compile", "plan", "budget", "run", "sample", "components", "shared_part", "Config", "Compilation", "LoadedNetwork",
    # circuits over feature sets
    "compile_features", "FeatureConfig", "FeatureNetwork",
    # either back end
    "back_end", "verify", "save", "load", "push",
    # sweeps
    "Sweep", "run_sweep",
    "__version__",
]


__getattr__, __dir__ = lazy_names(__name__, _BACK_END, globals())
