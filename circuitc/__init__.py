"""circuitc: compile sparse boolean and small MLP circuits into one superposed deep ReLU MLP.

The public API:

- `parse(text)` / `load_spec(path)`: a `.circ` source (or a `.bench` / `.blif` netlist) → `Spec`;
- `evaluate(circuit, inputs)` / `evaluate_bits` / `truth_table`: the exact reference semantics;
- `parse_assignments(circuit, ["a=5", "x=0b1101"])` / `read_input_csv(path, circuit)`: input rows
  for `evaluate_bits` from `NAME=VALUE` texts or a CSV file, as the command line reads them;
- `circuit_graph`, `check_acyclic`, `summary`, `to_dot`, `to_json`: the dependency graph;
- `format_source(text)`: the canonical printout of a `.circ` file; `spec_to_circ(spec)` writes
  any Spec (an imported netlist, say) as `.circ` text;
- `CircuitError`: the one exception raised for bad input, rendered with file:line:col and a caret.
"""

from .errors import CircuitError, Diagnostic, Span
from .graph import check_acyclic, circuit_graph, depth, levels, summary, to_dot, to_json
from .inputs import parse_assignments, read_input_csv
from .interpret import bits_to_int, evaluate, evaluate_bits, truth_table
from .frontend.load import load_spec, parse
from .spec import (BoolCircuit, FeatureSet, Gate, InstanceGroup, Layer, MLPCircuit, Network, Op, Port,
                   Spec)

__version__ = "0.1.0"

__all__ = [
    "parse", "load_spec", "evaluate", "evaluate_bits", "truth_table", "bits_to_int",
    "parse_assignments", "read_input_csv",
    "circuit_graph", "check_acyclic", "levels", "depth", "summary", "to_dot", "to_json",
    "format_source", "spec_to_circ",
    "CircuitError", "Diagnostic", "Span",
    "Spec", "BoolCircuit", "MLPCircuit", "Layer", "Port", "Gate", "Op", "FeatureSet", "Network",
    "InstanceGroup", "__version__",
]


def __getattr__(name):
    # The printers import the parser lazily, so that `import circuitc` stays light.
    if name == "format_source":
        from .frontend.syntax.format import format_source
        return format_source
    if name == "spec_to_circ":
        from .frontend.printer import spec_to_circ
        return spec_to_circ
    raise AttributeError(f"module 'circuitc' has no attribute {name!r}")
