"""The `circuitc` argument parser: one `add_<command>(subparsers)` per subcommand, each naming
the function that runs it (source_cmds.py, network_cmds.py, run_cmd.py) and its options and help texts."""

from __future__ import annotations

import argparse
import textwrap

from .. import __version__
from ..artifact_names import LAYOUTS
from ..features.correct import KINDS as EC_KINDS
from ..features.readoffs import READOFFS
from ..inputs import VALUE_FORMS
from ..instances.config import SHARED_MEANS
from ..instances.lower.boolean import SCHEDULES
from ..instances.run import NUMPY_ROWS
from ..instances.verdicts import DEFAULT_MIN_ACCURACY, DEFAULT_TOLERANCE
from ..spec import ALLOCATIONS, CONSTRUCTIONS

__all__ = ["build_parser", "add_check", "add_eval", "add_graph", "add_fmt", "add_compile", "add_budget",
           "add_verify", "add_run", "add_sample", "add_components", "add_export", "add_sweep"]

DEFAULT_MAX_INPUTS = 16

_DESCRIPTION = """\
Compile sparse boolean and small MLP circuits into one superposed deep ReLU network.

Sources are .circ files; ISCAS .bench, BLIF (.blif) and AIGER (.aag, .aig) netlists are read as
well, and Verilog (.v, .sv) with the verilog extra: pip install 'circuitc[verilog]'."""

_EPILOG = """\
examples:
  circuitc check examples/ripple_adder.circ
  circuitc eval examples/ripple_adder.circ -c ripple_adder a=1000 b=0x0fff cin=0
  circuitc eval examples/c17.bench --truth-table
  circuitc graph examples/full_adder.circ -c full_adder > full_adder.dot
  circuitc fmt --check examples/*.circ
  circuitc compile examples/adders_network.circ -o adders
  circuitc verify adders --samples 20000
  circuitc compile examples/deep_features.circ -o deep8 && circuitc verify deep8

Run `circuitc COMMAND --help` for the options of each command.

exit status: 0 ok, 1 fmt --check found unformatted files or verify fell below
--min-accuracy, 2 bad input or usage, 3 internal error, 130 interrupted."""

_EVAL_EPILOG = "assignments (single evaluation):\n" + textwrap.indent(VALUE_FORMS, "  ") + """
  Every input must be given (feature circuits excepted). Outputs print one line per
  port: `s = 9 (0b01001)` for a vector (binary most significant bit first).

batches (--inputs IN.csv):
  The header names input bits (e.g. a[0],a[1],b) in any order; every row holds 0/1
  (reals for MLPs). Feature circuits may leave columns out (those features are 0).
  The output is CSV: a header of output bit names and one row per input row.

examples:
  circuitc eval examples/ripple_adder.circ --circuit ripple_adder a=5 b=9 cin=1
  circuitc eval examples/full_adder.circ -c full_adder a=1 b=1 cin=0 --json
  circuitc eval examples/features.circ f=3,17
  circuitc eval examples/c17.bench --truth-table
  circuitc eval examples/c17.bench --inputs rows.csv --output out.csv"""


class _Formatter(argparse.RawDescriptionHelpFormatter):
    def __init__(self, prog: str):
        super().__init__(prog, max_help_position=30)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="circuitc", description=_DESCRIPTION, epilog=_EPILOG,
                                     formatter_class=_Formatter)
    parser.add_argument("--version", action="version", version=f"circuitc {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for add in (add_check, add_eval, add_graph, add_fmt, add_compile, add_budget, add_verify, add_run, add_sample,
                add_components, add_export, add_sweep):
        add(sub)
    return parser


# ============================================================================================
# Shared by several commands


def _command(subparsers, name: str, func: str, summary_line: str, epilog: str) -> argparse.ArgumentParser:
    """`func`: the command's function as "module.function" in this package, imported only when it
    runs (the network commands import torch; `check`, `eval`, `fmt`, `graph` do not need it)."""
    p = subparsers.add_parser(name, help=summary_line, description=summary_line, epilog=epilog,
                              formatter_class=_Formatter)
    p.set_defaults(func=func, parser=p)
    return p


def _output_options(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument("-o", "--output", metavar="FILE",
                   help=f"write {what} to FILE (atomically) instead of standard output; "
                        f"'-' is standard output")
    p.add_argument("-f", "--force", action="store_true", help="replace FILE if it exists")


def _network_options(p: argparse.ArgumentParser, verb: str) -> None:
    """The source, the network in it, and the compile knobs that override its declaration."""
    p.add_argument("file", metavar="FILE", help="a .circ source with a network declaration")
    p.add_argument("--network", metavar="NAME", help=f"the network to {verb} (optional when FILE declares one)")
    p.add_argument("--width", type=int, metavar="D", help="neurons per layer (the declaration's `width`)")
    p.add_argument("--active", type=int, metavar="Z", help="instances active at once, at most (`active`)")
    p.add_argument("--redundancy", type=int, metavar="S", help="neurons per circuit neuron (`redundancy`)")
    p.add_argument("--construction", choices=CONSTRUCTIONS,
                   help="routed (exact at any z; MLP circuits at z = 1 only), lookup (different boolean "
                        "circuits of at most 16 inputs on shared positions, exact at any z), coherent (shared "
                        "neurons) or cis2 (the papers' construction: different MLP circuits sharing neurons); "
                        "default auto: routed, unless different boolean circuits outgrow its ranges (then "
                        "lookup), MLP circuits at z >= 2 outgrow it (then cis2 or coherent) or a coherent-only "
                        "option")
    p.add_argument("--allocation", choices=ALLOCATIONS,
                   help="allocation strategy (polynomial: routed; prime-step, affine: coherent and cis2)")
    p.add_argument("--shared-mean", choices=SHARED_MEANS,
                   help="cis2: how the circuits' mean weights are embedded (default union; docs/lowering.md)")
    p.add_argument("--input-bound", type=float, metavar="B",
                   help="routed: promise that every real input of an MLP circuit has magnitude at most B, so "
                        "that MLP circuits at z >= 2 share positions (exact within the bound; docs/lowering.md)")
    p.add_argument("--seed", type=int, metavar="N", help="seed of the assignment of supports to instances")
    p.add_argument("--margin", type=float, metavar="B",
                   help="how far below threshold inactive units sit (default 0.1)")
    p.add_argument("--gain", type=float, metavar="G",
                   help="slope of every clean step and of the on-indicators (default 2·S; see docs/lowering.md)")
    p.add_argument("--no-segregate", action="store_true",
                   help="let instances of different circuit types share neurons (default: one range of "
                        "neurons per type; sharing is measured to break them)")
    p.add_argument("--schedule", choices=SCHEDULES,
                   help="layer of each gate: right after its inputs (asap, default) or right before its "
                        "first reader (alap)")
    p.add_argument("--reshuffle", action="store_true",
                   help="a fresh assignment of supports at every layer (default: one for all layers, "
                        "measured better; see docs/lowering.md)")
    f = p.add_argument_group("circuits over feature sets (docs/features.md); --width, --seed and --gain "
                             "apply too: neurons per gate layer, wiring seed, clean-step slope")
    f.add_argument("--circuit", metavar="NAME", help="the feature circuit (optional when FILE has one and "
                                                     "no network declaration)")
    f.add_argument("--fan-in", type=int, metavar="K", help="the most wires one gate reads (default 2)")
    f.add_argument("--p", type=float, metavar="P", help="wiring density of the AND populations (default 0.2)")
    f.add_argument("--q", type=float, metavar="Q", help="wiring density of the single-wire population (default 0.2)")
    f.add_argument("--target", type=float, metavar="E",
                   help="error rate per wire each gate layer is sized for (default 1e-5)")
    f.add_argument("--ec", metavar="POLICY",
                   help="error-correction layers: auto (default: where the error would reach the margin), "
                        "none, or every:K")
    f.add_argument("--ec-kind", choices=EC_KINDS,
                   help="step: two ReLUs per wire (default); subsets: math.md §2.4's reconstruction")
    f.add_argument("--ec-width", type=int, metavar="N", help="neurons of a subsets error-correction layer")
    f.add_argument("--readoff", choices=READOFFS,
                   help="monomial read-off: difference (unbiased, default) or mean (the papers')")
    f.add_argument("--no-calibrate", action="store_true",
                   help="do not scale read-offs so that an all-on monomial reads 1")


# ============================================================================================
# The commands


def add_check(subparsers) -> argparse.ArgumentParser:
    p = _command(subparsers, "check", "source_cmds.cmd_check",
                 "Validate a source or netlist and summarise its circuits, "
                 "feature sets and networks.",
                 "examples:\n  circuitc check examples/ripple_adder.circ\n  circuitc check examples/c17.bench --json")
    p.add_argument("file", metavar="FILE", help="a .circ source, or a .bench, .blif, .aag, .aig or .v netlist")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    return p


def add_eval(subparsers) -> argparse.ArgumentParser:
    p = _command(subparsers, "eval", "source_cmds.cmd_eval",
                 "Evaluate a circuit with the reference interpreter: once, "
                 "over its truth table, or over the rows of a CSV file.", _EVAL_EPILOG)
    p.add_argument("file", metavar="FILE", help="a .circ source, or a .bench, .blif, .aag, .aig or .v netlist")
    p.add_argument("assignments", nargs="*", metavar="NAME=VALUE", help="input values (see below)")
    p.add_argument("-c", "--circuit", metavar="NAME",
                   help="the circuit to evaluate (optional when FILE holds only one)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--truth-table", action="store_true",
                      help="print every input combination and its outputs")
    mode.add_argument("--inputs", metavar="IN.csv", help="evaluate every row of a CSV file")
    p.add_argument("--max-inputs", type=int, default=DEFAULT_MAX_INPUTS, metavar="N",
                   help=f"refuse truth tables over more than N input bits (default {DEFAULT_MAX_INPUTS})")
    p.add_argument("--json", action="store_true", help="print a single evaluation as JSON")
    _output_options(p, "the CSV result (with --truth-table or --inputs)")
    return p


def add_graph(subparsers) -> argparse.ArgumentParser:
    p = _command(subparsers, "graph", "source_cmds.cmd_graph",
                 "Print a circuit's dependency graph as Graphviz DOT or JSON.",
                 "examples:\n  circuitc graph examples/c17.bench > c17.dot && dot -Tsvg c17.dot -o c17.svg\n"
                 "  circuitc graph examples/ripple_adder.circ --circuit ripple_adder --format json "
                 "--output adder.json")
    p.add_argument("file", metavar="FILE", help="a .circ source, or a .bench, .blif, .aag, .aig or .v netlist")
    p.add_argument("-c", "--circuit", metavar="NAME", help="the circuit (optional when FILE holds only one)")
    p.add_argument("--format", choices=("dot", "json"),
                   help="output format (default: dot, or json when --output ends in .json)")
    _output_options(p, "the graph")
    return p


def add_fmt(subparsers) -> argparse.ArgumentParser:
    p = _command(subparsers, "fmt", "source_cmds.cmd_fmt",
                 "Print a .circ source in canonical form, or a netlist (.bench, .blif, .aag, .aig, .v) "
                 "as .circ text.",
                 "examples:\n  circuitc fmt examples/full_adder.circ\n  circuitc fmt -w my_circuit.circ\n"
                 "  circuitc fmt --check examples/*.circ\n  circuitc fmt examples/c17.bench --output c17.circ")
    p.add_argument("files", nargs="+", metavar="FILE",
                   help=".circ source (several with --write or --check), or a netlist to print as .circ")
    p.add_argument("-w", "--write", action="store_true", help="rewrite each file in place if its formatting changes")
    p.add_argument("--check", action="store_true",
                   help="change nothing; exit 1 and name the files that would be reformatted")
    _output_options(p, "the printout")
    return p


def add_compile(subparsers) -> argparse.ArgumentParser:
    p = _command(subparsers, "compile", "network_cmds.cmd_compile",
                 "Compile a network declaration, or a circuit over a feature set, "
                 "into one ReLU network and save it as a directory.",
                 "The options override the declaration's knobs (active, width, redundancy, allocation,\n"
                 "seed). The output directory holds weights.safetensors, network.json and circuits.circ;\n"
                 "an existing one is replaced only with --force.\n\n"
                 "A circuit over a feature set (a file with no network, or --circuit NAME) is compiled\n"
                 "level by level with error-correction layers (docs/features.md).\n\n"
                 "examples:\n  circuitc compile examples/adders_network.circ -o adders\n"
                 "  circuitc compile examples/network.circ --network adders -o big --width 8192 --seed 2 --json\n"
                 "  circuitc compile examples/deep_features.circ -o deep8 --ec auto")
    _network_options(p, "compile")
    p.add_argument("-o", "--output", metavar="OUT_DIR", required=True, help="the directory to write")
    p.add_argument("-f", "--force", action="store_true", help="replace OUT_DIR if it holds a compiled network")
    p.add_argument("--layout", choices=LAYOUTS, default="circuitc", help=LAYOUT_HELP)
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    return p


LAYOUT_HELP = ("file names: circuitc's own (network.json, weights.safetensors; default) or the Hugging Face "
               "Hub's (config.json, model.safetensors, and a model card README.md)")


def add_export(subparsers) -> argparse.ArgumentParser:
    p = _command(subparsers, "export", "network_cmds.cmd_export",
                 "Write a compiled network again, in the Hugging Face Hub's layout or circuitc's, and "
                 "optionally push it to the Hub.",
                 "The files hold the same network either way; `circuitc.load` reads both layouts.\n"
                 "--push needs huggingface_hub (pip install 'circuitc[hub]') and a Hub token\n"
                 "(huggingface-cli login, or the HF_TOKEN variable).\n\n"
                 "examples:\n  circuitc export adders -o adders-hf --layout hf\n"
                 "  circuitc export adders -o adders-hf --layout hf --push me/adders-superposed")
    p.add_argument("artifact", metavar="ARTIFACT_DIR", help="a directory written by `circuitc compile`")
    p.add_argument("-o", "--output", required=True, metavar="OUT_DIR", help="the directory to write")
    p.add_argument("-f", "--force", action="store_true", help="replace OUT_DIR if it holds a compiled network")
    p.add_argument("--layout", choices=LAYOUTS, default="hf",
                   help="file names: the Hugging Face Hub's (config.json, model.safetensors, and a model card "
                        "README.md; default) or circuitc's own (network.json, weights.safetensors)")
    p.add_argument("--push", metavar="REPO_ID", help="then upload OUT_DIR to this Hub repository (layout hf)")
    p.add_argument("--private", action="store_true", help="create the Hub repository private")
    return p


INPUT_ROWS_HELP = ("MLP circuits draw their inputs from the rows of FILE (.csv with a header of input names, "
                   "or .npy of shape (rows, inputs)) instead of standard-normal values")


def add_budget(subparsers) -> argparse.ArgumentParser:
    p = _command(subparsers, "budget", "network_cmds.cmd_budget",
                 "Predict what a network declaration will do, before compiling it: "
                 "capacity figures, the exactness guarantee, and the error of every layer.",
                 "Nothing is assembled and the network is never run: the figures come from the lowered\n"
                 "circuits, the allocation and the graph of instances that share a neuron, through the\n"
                 "coherent-copy field model (see docs/budget.md). Per layer: the read-off errors verify\n"
                 "measures, predicted, beside math.md's formulas. The verdict, per layer and for the\n"
                 "network, is guaranteed, expected, at risk or over budget, with the knobs to turn.\n\n"
                 "examples:\n  circuitc budget examples/adders_network.circ\n"
                 "  circuitc budget examples/budget_levels.circ --network crowded\n"
                 "  circuitc budget examples/adders_network.circ --active 2 --json\n"
                 "  circuitc budget examples/network.circ --network adders --width 8192 --markdown")
    _network_options(p, "predict")
    p.add_argument("--input-rows", metavar="FILE", help=INPUT_ROWS_HELP)
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="print the budget as JSON")
    fmt.add_argument("--markdown", action="store_true", help="print the budget as markdown tables")
    return p


def add_verify(subparsers) -> argparse.ArgumentParser:
    p = _command(subparsers, "verify", "network_cmds.cmd_verify",
                 "Check a compiled network against the reference interpreter on random "
                 "inputs that keep the sparsity promise.",
                 "Each sample activates 1 to z instances with random inputs. --adversarial activates a\n"
                 "random target with the z - 1 instances sharing the most neurons with it; --exhaustive\n"
                 "checks every set of 1 to z instances with every input (tiny boolean networks only).\n"
                 "Exit status 1 when the bit accuracy is below --min-accuracy, when a real (MLP)\n"
                 "output is off by more than --tolerance, or when nothing could be compared.\n\n"
                 "--plot draws the per-layer read-off errors, measured beside predicted, and the\n"
                 "allocation's load histogram into a PNG (needs matplotlib: pip install 'circuitc[plot]');\n"
                 "for a feature network, accuracy and read-off error per layer.\n\n"
                 "examples:\n  circuitc verify adders\n  circuitc verify adders --samples 100000 --seed 3 --json\n"
                 "  circuitc verify adders --adversarial\n  circuitc verify adders --plot adders.png")
    p.add_argument("artifact", metavar="ARTIFACT_DIR", help="a directory written by `circuitc compile`")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--adversarial", action="store_true",
                      help="activate z instances per row: a random target and those sharing the most neurons with it")
    mode.add_argument("--exhaustive", action="store_true",
                      help="check every set of 1 to z instances with every input combination (ignores --samples)")
    p.add_argument("--samples", type=int, default=10_000, metavar="N", help="rows to check (default 10000)")
    p.add_argument("--seed", type=int, default=0, metavar="N", help="seed of the random rows (default 0)")
    p.add_argument("--batch", type=int, default=1024, metavar="N", help="rows per forward pass (default 1024)")
    p.add_argument("--min-accuracy", type=float, default=DEFAULT_MIN_ACCURACY, metavar="A",
                   help=f"the least bit accuracy that passes (default {DEFAULT_MIN_ACCURACY})")
    p.add_argument("--tolerance", type=float, default=DEFAULT_TOLERANCE, metavar="E",
                   help=f"the largest absolute error of a real (MLP) output that passes "
                        f"(default {DEFAULT_TOLERANCE:g})")
    p.add_argument("--input-rows", metavar="FILE", help=INPUT_ROWS_HELP)
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--plot", metavar="FILE.png",
                   help="also draw the per-layer read-off errors (measured and predicted) and the load "
                        "histogram into FILE.png (atomically)")
    p.add_argument("-f", "--force", action="store_true", help="replace the --plot file if it exists")
    return p


def add_run(subparsers) -> argparse.ArgumentParser:
    p = _command(subparsers, "run", "run_cmd.cmd_run",
                 "Run a compiled network on inputs given per instance and print each instance's outputs.",
                 "One row: each --instance ID NAME=VALUE ... group activates that instance with those\n"
                 "inputs (the forms `circuitc eval` takes); at most z instances per row. Many rows:\n"
                 "--inputs FILE.json holding a list of rows, each {\"ID\": {\"NAME\": VALUE, ...}, ...}, or\n"
                 "--inputs FILE.csv with the header row,instance,NAME,... and one record per active\n"
                 "instance (records with the same row value make one row; an empty cell: no such input).\n"
                 "A boolean output bit is 1 when its read-out exceeds 0.5 and a vector prints as one\n"
                 f"integer; --raw prints the read-outs themselves. Up to {NUMPY_ROWS:,} rows run in numpy,\n"
                 "without importing torch; more rows, or --device, run the torch model (the same decoded outputs).\n\n"
                 "examples:\n  circuitc run adders --instance 17 a=1 b=1 cin=0\n"
                 "  circuitc run routed --instance 17 a=3 b=5 cin=0 --instance 400 a=9 b=4 cin=1\n"
                 "  circuitc run routed --inputs rows.json --json -o outputs.json")
    p.add_argument("artifact", metavar="ARTIFACT_DIR", help="a directory written by `circuitc compile`")
    p.add_argument("--instance", nargs="+", action="append", metavar=("ID", "NAME=VALUE"),
                   help="an active instance and its inputs (repeat for each instance of the row)")
    p.add_argument("--inputs", metavar="FILE", help="run every row of a JSON or CSV file (see above)")
    p.add_argument("--raw", action="store_true", help="print the read-outs instead of decoded outputs")
    p.add_argument("--json", action="store_true", help="print the outputs as JSON")
    p.add_argument("--device", metavar="DEVICE",
                   help="run the torch model on DEVICE (cpu, cuda, ...) whatever the number of rows")
    _output_options(p, "the outputs as JSON")
    return p


def add_sample(subparsers) -> argparse.ArgumentParser:
    p = _command(subparsers, "sample", "network_cmds.cmd_sample",
                 "Write labelled activations of a compiled network: promise-keeping rows, every layer's "
                 "activations, and the ground truth of every active instance.",
                 "Each shard (safetensors) holds a batch of rows: `active` (the instances on), `inputs`,\n"
                 "`layer.{l}` (the network's activations at every layer), `truth.{l}` (the exact value of\n"
                 "each active instance's circuit neurons), `outputs` and `expected`, and the static\n"
                 "`supports` and `type_of` that say which network neurons carry which instance;\n"
                 "index.json lists the shards and the figures (n, d, S, z).\n\n"
                 "examples:\n  circuitc sample adders --rows 10000 -o adders-samples\n"
                 "  circuitc sample routed --rows 2048 --adversarial --seed 1 -o hard")
    p.add_argument("artifact", metavar="ARTIFACT_DIR", help="a directory written by `circuitc compile`")
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="the directory of shards to write")
    p.add_argument("-f", "--force", action="store_true", help="replace DIR if it holds samples already")
    p.add_argument("--rows", type=int, default=10_000, metavar="N", help="rows to sample (default 10000)")
    p.add_argument("--batch", type=int, default=1024, metavar="N", help="rows per shard (default 1024)")
    p.add_argument("--seed", type=int, default=0, metavar="N", help="seed of the rows (default 0)")
    p.add_argument("--input-rows", metavar="FILE", help=INPUT_ROWS_HELP)
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--adversarial", action="store_true",
                      help="rows of a random target and the z - 1 instances sharing the most neurons with it")
    mode.add_argument("--exhaustive", action="store_true",
                      help="every set of 1 to z instances with every input (tiny networks; ignores --rows)")
    return p


def add_components(subparsers) -> argparse.ArgumentParser:
    p = _command(subparsers, "components", "network_cmds.cmd_components",
                 "Write every layer's weights as one sparse component per instance (W = sum of the "
                 "components): ground truth for parameter decomposition.",
                 "A safetensors file with layer.{l}.indices (3, nnz: instance, row, column) and\n"
                 "layer.{l}.values (nnz) for l = 1..L; the instances active on a row are its active\n"
                 "components. Networks of the coherent and cis2 constructions have them (cis2 adds each\n"
                 "layer's shared part as layer.{l}.shared_mean (d, d) and layer.{l}.shared_map (n, n),\n"
                 "the part being their Kronecker product); a routed network's layers are position\n"
                 "blocks shared by the instances routed there (refused).\n\n"
                 "examples:\n  circuitc compile examples/adders_network.circ --construction coherent -o co\n"
                 "  circuitc components co -o co-components.safetensors")
    p.add_argument("artifact", metavar="ARTIFACT_DIR", help="a directory written by `circuitc compile`")
    p.add_argument("-o", "--output", required=True, metavar="FILE.safetensors", help="the file to write")
    p.add_argument("-f", "--force", action="store_true", help="replace FILE if it exists")
    return p


def add_sweep(subparsers) -> argparse.ArgumentParser:
    p = _command(subparsers, "sweep", "sweep_cmds.cmd_sweep",
                 "Run a grid of compile+verify, budget or frontier points from a TOML file, cached "
                 "on disk, on local processes or a Dask cluster.",
                 "The grid file names a source (relative to the grid file), its networks or circuits, the\n"
                 "job, verify settings and lists of knob values (D, z, S, T, construction, allocation,\n"
                 "seed, ...); the points are their cartesian product. Each point's record is one JSON file\n"
                 "in OUT_DIR/points, named by a hash of its configuration and the source: a rerun skips\n"
                 "points already recorded (Ctrl-C keeps every finished one), and a changed source runs\n"
                 "them again. The merged table is printed and written to OUT_DIR/table.md and table.json.\n"
                 "See docs/sweeps.md.\n\n"
                 "examples:\n  circuitc sweep benchmarks/grids/adders_capacity.toml -o adders-sweep --workers 2\n"
                 "  circuitc sweep grid.toml -o out --retry-failed --plot out.png --x T --y bit_accuracy\n"
                 "  circuitc sweep grid.toml -o out --scheduler tcp://10.0.0.5:8786\n"
                 "  circuitc sweep grid.toml -o out --report")
    p.add_argument("grid", metavar="GRID.toml", help="the grid file")
    p.add_argument("-o", "--output", metavar="OUT_DIR",
                   help="the results directory (default: GRID-sweep in the current directory)")
    where = p.add_argument_group("where points run (default: one local worker process per core)")
    where.add_argument("--workers", type=int, metavar="N",
                       help="local worker processes, each running one point on one thread; 1 runs in this process")
    where.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                       help="run on the workers of this Dask scheduler (pip install 'circuitc[dask]')")
    where.add_argument("--memory-resource", metavar="NAME",
                       help="with --scheduler: each point asks for its estimated bytes of the worker resource NAME "
                            "(dask worker --resources \"NAME=BYTES\")")
    again = p.add_mutually_exclusive_group()
    again.add_argument("--retry-failed", action="store_true", help="run again the points recorded as failed")
    again.add_argument("--rerun", action="store_true", help="run every point again, replacing its record")
    again.add_argument("--report", action="store_true",
                       help="run nothing: merge the records on disk into the table (and the plot)")
    shown = p.add_mutually_exclusive_group()
    shown.add_argument("--progress", action="store_true", default=None,
                       help="show progress on standard error (default: only on a terminal)")
    shown.add_argument("--no-progress", dest="progress", action="store_false", help="never show progress")
    p.add_argument("--json", action="store_true", help="print the merged table as JSON instead of markdown")
    p.add_argument("--plot", metavar="FILE.png", help="draw a column of the table against T or D into FILE.png "
                                                      "(needs matplotlib: pip install 'circuitc[plot]')")
    p.add_argument("--x", choices=("T", "D"), help="the plot's x axis (default: T when the grid varies it, else D)")
    p.add_argument("--y", metavar="COLUMN", help="the plotted column (default: bit_accuracy; frontier_T for a "
                                                 "frontier job, fill for a budget job)")
    p.add_argument("-f", "--force", action="store_true", help="replace the --plot file if it exists")
    return p
