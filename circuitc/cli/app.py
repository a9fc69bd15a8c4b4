"""The `circuitc` command line: check, eval, graph and fmt over `.circ` sources and netlists;
compile a network declaration into a saved network, and verify a saved network.

The commands only read files, call the library and format what it returns; every rule about
circuits lives in the library. Exit codes:

    0    success
    1    `fmt --check`: some file is not formatted; `verify`: bit accuracy below --min-accuracy
    2    bad input (a CircuitError, reported with file:line:col) or bad usage
    3    an internal error (a bug: reported with its traceback)
    130  interrupted (Ctrl-C)
    141  standard output was closed early (e.g. piped into `head`)
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import sys
import textwrap
import traceback
from pathlib import Path
from typing import Any, Callable, Sequence

from .. import __version__
from ..errors import CircuitError, Diagnostic
from ..fileio import check_writable, write_atomic
from ..graph import depth, summary, to_dot, to_json
from ..inputs import VALUE_FORMS, active_warning, parse_assignments, read_input_csv
from ..interpret import evaluate_bits, truth_table
from ..frontend.load import NETLIST_SUFFIXES, load_spec, read_text
from .render import csv_text, format_outputs, truth_table_csv, truth_table_text
from ..spec import BoolCircuit, MLPCircuit, Spec

__all__ = ["main", "build_parser"]

EXIT_OK = 0
EXIT_CHANGED = 1
EXIT_FAILED = 1
EXIT_ERROR = 2
EXIT_INTERNAL = 3
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141

DEFAULT_MAX_INPUTS = 16


def _error(message: str, hint: str | None = None) -> CircuitError:
    return CircuitError(Diagnostic(message, hint=hint))


# ============================================================================================
# Output helpers


def _emit(text: str, output: str | None, force: bool) -> None:
    """Write the finished text to `output` (atomically, never over a file without --force), or
    to standard output."""
    if output is None or output == "-":
        sys.stdout.write(text)
    else:
        write_atomic(output, text, force=force)


def _styled() -> bool:
    """Colour and box drawing only on a terminal, and never when NO_COLOR is set."""
    if os.environ.get("NO_COLOR"):
        return False
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


def _print_tables(tables: list) -> None:
    """Print rich tables: styled on a terminal; otherwise plain ASCII with no trailing blanks,
    never wrapped, so that scripts (and tests) can read them."""
    from rich import box
    from rich.console import Console

    if _styled():
        console = Console(file=sys.stdout, markup=False, highlight=False, emoji=False)
        for i, table in enumerate(tables):
            if i:
                console.print()
            table.box = box.SIMPLE_HEAD
            console.print(table)
        return
    plain = box.Box("    \n    \n -  \n    \n    \n -  \n    \n    \n", ascii=True)
    buf = io.StringIO()
    console = Console(file=buf, width=1 << 20, color_system=None, force_terminal=False,
                      markup=False, highlight=False, emoji=False)
    for i, table in enumerate(tables):
        if i:
            console.print()
        table.box = plain
        table.show_edge = False
        table.pad_edge = False
        console.print(table)
    sys.stdout.write("".join(line.rstrip() + "\n" for line in buf.getvalue().splitlines()))


def _table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]], right: Sequence[str] = ()):
    from rich.table import Table
    from rich.text import Text

    table = Table(title=title, title_justify="left", title_style="bold", header_style="bold")
    for col in columns:
        table.add_column(col, justify="right" if col in right else "left", no_wrap=True)
    for row in rows:
        table.add_row(*(Text("-" if v is None else str(v)) for v in row))
    return table


# ============================================================================================
# check


def _kind_of_record(c: dict) -> str:
    return f"{c['kind']} over {c['over']}" if c.get("over") else c["kind"]


def _circuit_record(c) -> dict:
    s = summary(c)
    record = {"name": s.pop("name"), "kind": s.pop("kind"),
              "over": c.features if isinstance(c, BoolCircuit) else None,
              "inputs": s.pop("inputs"), "outputs": s.pop("outputs"),
              "input_ports": [{"name": p.name, "width": p.width} for p in c.inputs],
              "output_ports": [{"name": p.name, "width": p.width} for p in c.outputs]}
    record.update(s)
    return record


def _check_record(spec: Spec, file: str) -> dict:
    return {
        "file": file,
        "source_hash": spec.source_hash,
        "circuits": [_circuit_record(c) for c in spec.circuits],
        "features": [{"name": f.name, "m": f.m, "s": f.s, "embed": f.d0, "seed": f.seed}
                     for f in spec.features],
        "networks": [{"name": n.name, "T": n.T, "z": n.z, "D": n.D, "S": n.S,
                      "allocation": n.allocation, "seed": n.seed,
                      "circuits": [{"circuit": g.circuit, "count": g.count} for g in n.groups]}
                     for n in spec.networks],
        "warnings": [w.render() for w in spec.warnings],
    }


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def cmd_check(args) -> int:
    spec = load_spec(args.file)
    # The loader validates as it elaborates; checking again costs little and guards every front end.
    spec.check()
    for c in spec.circuits:
        depth(c)  # raises CircuitError on a combinational cycle
    for w in spec.warnings:
        print(w.render(), file=sys.stderr)
    record = _check_record(spec, args.file)
    if args.json:
        sys.stdout.write(json.dumps(record, indent=2) + "\n")
        return EXIT_OK
    counts = ", ".join(part for part in (
        _plural(len(spec.circuits), "circuit"),
        _plural(len(spec.features), "feature set") if spec.features else "",
        _plural(len(spec.networks), "network") if spec.networks else "") if part)
    print(f"{args.file}: ok, {counts}")
    print(f"source hash: {spec.source_hash[:12]}")
    print()
    tables = []
    rows = []
    for c in record["circuits"]:
        size = (c["gates"] if c["kind"] == "boolean" else
                f"{_plural(c['layers'], 'layer')}, {c['parameters']} params")
        rows.append((c["name"], _kind_of_record(c), c["inputs"], c["outputs"], size, c["depth"]))
    tables.append(_table("circuits", ("circuit", "kind", "inputs", "outputs", "gates", "depth"), rows,
                         right=("inputs", "outputs", "gates", "depth")))
    if record["features"]:
        tables.append(_table("feature sets", ("features", "m", "s", "embed", "seed"),
                             [(f["name"], f["m"], f["s"], f["embed"], f["seed"]) for f in record["features"]],
                             right=("m", "s", "embed", "seed")))
    if record["networks"]:
        rows = [(n["name"], n["T"], n["z"], n["D"], "auto" if n["S"] is None else n["S"], n["allocation"],
                 n["seed"], ", ".join(f"{g['circuit']} * {g['count']}" for g in n["circuits"]))
                for n in record["networks"]]
        tables.append(_table("networks", ("network", "T", "z", "D", "S", "allocation", "seed", "circuits"),
                             rows, right=("T", "z", "D", "S", "seed")))
    _print_tables(tables)
    return EXIT_OK


# ============================================================================================
# eval


def _eval_single(args, spec: Spec, circuit) -> int:
    X = parse_assignments(circuit, args.assignments)
    warning = active_warning(spec, circuit, X)
    if warning is not None:
        print(warning.render(), file=sys.stderr)
    Y = evaluate_bits(circuit, X)[0]
    lines, ports, bits = format_outputs(circuit, Y)
    if args.json:
        record = {"circuit": circuit.name, "outputs": ports, "output_bits": bits}
        sys.stdout.write(json.dumps(record, indent=2) + "\n")
    else:
        sys.stdout.write("".join(line + "\n" for line in lines))
    return EXIT_OK


def _eval_truth_table(args, circuit) -> int:
    n = len(circuit.input_bits)
    if n > args.max_inputs:
        raise _error(f"`{circuit.name}` has {n} input bits: its truth table would have 2**{n} = {1 << n:,} "
                     f"rows, above --max-inputs {args.max_inputs}",
                     hint=f"pass --max-inputs {n} to print it anyway, or evaluate chosen rows "
                          f"with --inputs FILE.csv")
    X, Y = truth_table(circuit, max_inputs=args.max_inputs)
    real = isinstance(circuit, MLPCircuit)
    if args.output is not None:
        _emit(truth_table_csv(circuit.input_bits, circuit.output_bits, X, Y, real), args.output, args.force)
    else:
        sys.stdout.write(truth_table_text(circuit.input_bits, circuit.output_bits, X, Y, real))
    return EXIT_OK


def _eval_batch(args, circuit) -> int:
    X = read_input_csv(args.inputs, circuit)
    Y = evaluate_bits(circuit, X)
    _emit(csv_text(circuit.output_bits, Y, real=isinstance(circuit, MLPCircuit)), args.output, args.force)
    return EXIT_OK


def cmd_eval(args) -> int:
    parser = args.parser
    modes = [m for m, on in (("--truth-table", args.truth_table), ("--inputs", args.inputs is not None)) if on]
    if modes and args.assignments:
        parser.error(f"{modes[0]} takes no NAME=VALUE assignments (got {' '.join(args.assignments)})")
    if args.json and modes:
        parser.error(f"--json applies to a single evaluation, not to {modes[0]}")
    if args.output is not None and not modes:
        parser.error("--output needs --truth-table or --inputs (a single evaluation prints its outputs)")
    if args.max_inputs < 0:
        parser.error("--max-inputs must be 0 or more")
    spec = _load_warned(args.file)
    circuit = spec.circuit(args.circuit)
    if args.truth_table:
        return _eval_truth_table(args, circuit)
    if args.inputs is not None:
        return _eval_batch(args, circuit)
    return _eval_single(args, spec, circuit)


# ============================================================================================
# graph and fmt


def cmd_graph(args) -> int:
    fmt = args.format
    if fmt is None:
        fmt = "json" if args.output and args.output.lower().endswith(".json") else "dot"
    spec = load_spec(args.file)
    circuit = spec.circuit(args.circuit)
    text = to_dot(circuit) if fmt == "dot" else json.dumps(to_json(circuit), indent=2) + "\n"
    _emit(text, args.output, args.force)
    return EXIT_OK


def _is_netlist(path: str) -> bool:
    return Path(path).suffix.lower() in NETLIST_SUFFIXES


def cmd_fmt(args) -> int:
    parser = args.parser
    if args.write and args.check:
        parser.error("--write and --check exclude each other")
    if args.output is not None and (args.write or args.check):
        parser.error("--output writes one printout; it does not combine with --write or --check")
    if len(args.files) > 1 and not (args.write or args.check):
        parser.error("printing takes one FILE; use --write or --check for several")
    if args.write or args.check:
        for file in args.files:
            if _is_netlist(file):
                stem = Path(file).with_suffix(".circ").name
                raise _error(f"`{file}` is a netlist: fmt {'--write' if args.write else '--check'} "
                             f"works on .circ sources only",
                             hint=f"print it as .circ text: `circuitc fmt {file} > {stem}` or "
                                  f"`circuitc fmt {file} --output {stem}`")
    from ..frontend.syntax.format import format_source

    changed = []
    for file in args.files:
        if _is_netlist(file):
            from ..frontend.printer import spec_to_circ

            _emit(spec_to_circ(load_spec(file)), args.output, args.force)
            continue
        source = read_text(Path(file))
        formatted = format_source(source, file)
        if args.check:
            if formatted != source:
                changed.append(file)
                print(f"would reformat {file}", file=sys.stderr)
        elif args.write:
            if formatted != source:
                write_atomic(file, formatted, force=True)
                print(f"reformatted {file}", file=sys.stderr)
        else:
            _emit(formatted, args.output, args.force)
    return EXIT_CHANGED if changed else EXIT_OK


# ============================================================================================
# compile and verify


def _positive(name: str, value, parser, minimum: int = 1) -> None:
    if value is not None and value < minimum:
        parser.error(f"{name} must be {minimum} or more, got {value}")


def _overrides(args, net) -> dict:
    """The knobs given on the command line, as `compile_network` overrides of network `net`."""
    from .features_cmds import FEATURE_ONLY, refuse_options

    parser = args.parser
    refuse_options(args, FEATURE_ONLY, "circuits over feature sets", "network declarations")
    _positive("--width", args.width, parser)
    _positive("--active", args.active, parser)
    _positive("--redundancy", args.redundancy, parser)
    if args.margin is not None and not (args.margin >= 0 and math.isfinite(args.margin)):
        parser.error(f"--margin must be a finite number >= 0, got {args.margin}")
    if args.gain is not None and not (args.gain > 2 and math.isfinite(args.gain)):
        parser.error(f"--gain must be a finite number above 2, got {args.gain}")
    given = {"D": args.width, "z": args.active, "S": args.redundancy, "allocation": args.allocation,
             "seed": args.seed, "margin": args.margin, "shuffle": True if args.reshuffle else None,
             "schedule": args.schedule, "gain": args.gain, "segregate": False if args.no_segregate else None,
             "construction": args.construction}
    overrides = {k: v for k, v in given.items() if v is not None}
    # `--margin` is a coherent knob, but it has a default, so only the command line says it was given.
    construction = args.construction or net.construction
    if args.margin is not None and construction == "auto":
        overrides["construction"] = "coherent"
    elif args.margin is not None and construction == "routed":
        parser.error("--margin belongs to the coherent construction (routed positions have no shared biases)")
    return overrides


def _compile_record(args, spec: Spec, comp, name: str) -> dict:
    rep = comp.report()
    types = [{"circuit": c.name, "kind": c.kind, "count": count, "inputs": len(c.input_bits),
              "outputs": len(c.output_bits)} for c, count in zip(comp.circuits, comp.counts)]
    return {"file": args.file, "network": name, "output": args.output, "source_hash": spec.source_hash,
            "report": rep, "types": types, "budget": comp.budget.as_dict()}


def _load_warned(path: str) -> Spec:
    """`load_spec`, with the source's warnings printed to standard error."""
    spec = load_spec(path)
    for w in spec.warnings:
        print(w.render(), file=sys.stderr)
    return spec


def _fmt(x: float | None, digits: int = 4) -> str | None:
    return None if x is None else f"{x:.{digits}g}" if isinstance(x, float) else str(x)


def _accuracy(x: float | None) -> str | None:
    """An accuracy with six decimals, rounded down: only an exact 1 reads as 1."""
    if x is None:
        return None
    return "1" if x == 1 else f"{math.floor(x * 1e6) / 1e6:.6f}"


def cmd_compile(args) -> int:
    from ..artifact import check_target, save
    from ..instances.compile import compile_network

    check_target(args.output, args.force)          # refuse before any work
    spec = _load_warned(args.file)
    if _features_wanted(args, spec):
        from . import features_cmds as cli_features

        return cli_features.cmd_compile(args, spec)
    net = spec.network(args.network)
    overrides = _overrides(args, net)
    comp = compile_network(spec, net.name, **overrides)
    for w in comp.warnings():
        print(w.render(), file=sys.stderr)
    save(comp, args.output, force=args.force)
    record = _compile_record(args, spec, comp, net.name)
    if args.json:
        sys.stdout.write(json.dumps(record, indent=2) + "\n")
        return EXIT_OK
    rep = record["report"]
    alloc = rep["allocation"]
    requested = f" ({rep['D_requested']} requested)" if rep["D_requested"] != rep["D"] else ""
    print(f"compiled network `{net.name}` of {args.file} into {args.output}")
    print(f"source hash: {spec.source_hash[:12]}")
    print()
    rows = [
        ("D", rep["D"], f"width: d blocks of n neurons{requested}"),
        ("L", rep["L"], "ReLU layers"),
        ("T", rep["T"], "circuit instances"),
        ("d", rep["d"], "width of the widest lowered circuit"),
        ("z", rep["z"], "instances active at once, at most"),
        ("S", rep["S"], "neurons carrying each circuit neuron (redundancy)"),
        ("n", rep["n"], "neurons per block"),
        ("construction", rep["config"]["construction"], "routed (position-local) or coherent (shared neurons)"),
        ("allocation", alloc["strategy"], "how instances share the neurons of a block"),
        ("capacity", alloc["capacity"], "instances the allocation can hold"),
        ("packing bound", alloc["packing_bound"], "n(n-1)/(S(S-1)): the most any allocation can hold"),
        ("fill", _fmt(alloc["fill"]), "T / capacity"),
        ("load", f"{alloc['load_min']}-{alloc['load_max']}", "instances per neuron, least to most"),
        ("compression", _fmt(rep["compression"]), "T·d_naive / D: naive widths side by side over D"),
        ("parameters", rep["parameters"], "weights and biases of the network"),
        ("naive neurons", rep["naive_neurons"], "one neuron per gate, over all instances"),
    ]
    tables = [_table("network", ("figure", "value", "meaning"), rows, right=("value",)),
              _table("instance types", ("circuit", "kind", "count", "inputs", "outputs"),
                     [(t["circuit"], t["kind"], t["count"], t["inputs"], t["outputs"]) for t in record["types"]],
                     right=("count", "inputs", "outputs"))]
    _print_tables(tables)
    guarantee = rep["guarantee"]
    if guarantee["exact"]:
        print(f"\nguaranteed exact for every input that keeps the promise: {guarantee['reason']}")
    else:
        b = record["budget"]
        print(f"\nbudget: {b['verdict']}{_estimate(b['risk'])}; no exactness guarantee ({guarantee['reason']}); "
              f"measure it with `circuitc verify`")
        for k in b["knobs"]:
            print(f"knob: {k}")
    return EXIT_OK


def _budget_rows(b) -> tuple[list, list]:
    f, r = b.figures, b.risk
    figures = [
        ("construction", f["construction"], "routed: position-local layers on a cover-free code; coherent: shared"),
        ("D, L, T", f"{f['D']}, {f['L']}, {f['T']}", "width, ReLU layers, instances"),
        ("d, z, S", f"{f['d']}, {f['z']}, {f['S']}", "lowered width, active at once, redundancy"),
        ("gain, margin", f"{_fmt(f['gain'])}, {_fmt(f['margin'])}", "slope of the clean steps, β"),
        ("allocation", f["allocation"], "strategy"),
        ("T / capacity", f"{f['T']} / {f['capacity']}", f"fill {_fmt(f['fill'])}; packing bound {f['packing_bound']}"),
        ("load figure", _fmt(f["load_figure"]), "z·T·L·(d/D)²: math.md's errors are small while << 1"),
        ("compression", _fmt(f["compression"]), "T·d_naive / D; 1 is one neuron per gate"),
        ("gates / ceiling", f"{f['gates']} / {f['ceiling_gates']:.3g}", "gates against D²/ln D (math.md §3)"),
    ]
    risk = [
        ("pairs sharing a neuron", _fmt(r["pairs_sharing_a_neuron"]), "the pairs adversarial rows activate together (z >= 2)"),
        ("pairs whose fields meet", _fmt(r["pairs_reached"]), "instance pairs whose copies meet by the last layer"),
        ("random rows at risk", _fmt(r["random_rows_at_risk"]), "an upper bound on failing random rows"),
        ("instances wrong", _fmt(r["instances_wrong"]), "estimated: active instances decoded wrong"),
        ("computed", "exactly" if r["exact"] else f"from {r['sources']} source instances", "graph figures"),
    ]
    return figures, risk


def _estimate(risk: dict) -> str:
    wrong, bound = risk["instances_wrong"], risk["random_rows_at_risk"]
    if wrong is None:
        return ""
    return f" (estimated {_fmt(wrong)} of active instances wrong; at most {_fmt(bound)} of random rows at risk)"


LAYER_TERMS = (("active_rms", "active rms"), ("active_pair_rms", "active pair rms"),
               ("inactive_rms", "inactive rms"), ("inactive_pair_rms", "inactive pair rms"))


def _layer_rows(b) -> list[tuple]:
    """The budget's per-layer table: verdict, predicted terms, and math.md's formulas beside them."""
    return [(str(l["layer"]), l["verdict"], *(_fmt(l[key]) for key, _ in LAYER_TERMS), _fmt(l["values_wrong"]),
             _fmt(l["pairs_reached"]), _fmt(l["paper_active_rms"]), _fmt(l["paper_inactive_rms"]))
            for l in b["layers"]]


LAYER_HEADER = ("layer", "verdict", *(name for _, name in LAYER_TERMS), "values wrong", "pairs met",
                "paper active", "paper inactive")


def _features_wanted(args, spec: Spec) -> bool:
    """Whether `compile`/`budget` takes the feature back end (cli_features.wants_features); a
    --circuit that is not over a feature set is refused here."""
    from . import features_cmds as cli_features

    if cli_features.wants_features(args, spec):
        return True
    if args.circuit is not None:
        spec.circuit(args.circuit)                 # unknown names get the usual error
        raise _error(f"`{args.circuit}` is not a circuit over a feature set; --circuit picks a feature circuit",
                     hint="networks of circuit instances are chosen with --network")
    return False


def cmd_budget(args) -> int:
    from ..instances.budget import budget

    spec = _load_warned(args.file)
    if _features_wanted(args, spec):
        from . import features_cmds as cli_features

        return cli_features.cmd_budget(args, spec)
    net = spec.network(args.network)
    overrides = _overrides(args, net)
    b = budget(spec, net.name, **overrides)
    if args.json:
        sys.stdout.write(json.dumps({"file": args.file, **b.as_dict()}, indent=2) + "\n")
        return EXIT_OK
    figures, risk = _budget_rows(b)
    record = b.as_dict()
    layers = _layer_rows(record)
    guarantee = ("exact for every promise-keeping input: " if b.guarantee.exact else "none: ") + b.guarantee.reason
    model = (f"{record['model']['name']} ({record['model']['why']})" if record["model"] else
             "none: the routed construction has no error terms; its code decides exactness")
    if args.markdown:
        out = [f"## Budget of network `{b.name}` ({args.file})", "", f"**Verdict: {b.verdict}.**", "",
               f"Guarantee: {guarantee}.", ""]
        for title, rows in (("Figures", figures), ("Risk", risk)):
            out += [f"### {title}", "", "| figure | value | meaning |", "|---|---|---|"]
            out += [f"| {a} | {'-' if v is None else v} | {m} |" for a, v, m in rows] + [""]
        out += ["### Per layer (predicted read-off errors)", "", f"Model: {model}.", ""]
        if layers:
            out += ["| " + " | ".join(LAYER_HEADER) + " |", "|" + "---|" * len(LAYER_HEADER)]
            out += ["| " + " | ".join(row) + " |" for row in layers] + [""]
        if b.knobs:
            out += ["### Knobs", ""] + [f"- {k}" for k in b.knobs] + [""]
        sys.stdout.write("\n".join(out))
        return EXIT_OK
    print(f"budget of network `{b.name}` of {args.file}: {b.verdict}")
    print()
    tables = [_table("figures", ("figure", "value", "meaning"), figures, right=("value",)),
              _table("risk", ("figure", "value", "meaning"), risk, right=("value",))]
    if layers:
        tables.append(_table("per layer: predicted read-off errors (paper: math.md §1.5's formulas)", LAYER_HEADER,
                             layers, right=LAYER_HEADER[2:]))
    _print_tables(tables)
    print(f"\nmodel: {model}")
    print(f"guarantee: {guarantee}")
    for k in b.knobs:
        print(f"knob: {k}")
    return EXIT_OK


def _show_progress(samples: int, batch: int) -> bool:
    """A progress bar only on a terminal, and only when the run takes more than one batch."""
    try:
        return sys.stderr.isatty() and samples > batch
    except (AttributeError, ValueError):
        return False


class _Progress:
    """Counts the rows the network has run (a forward hook on the model) on a transient progress bar."""

    def __init__(self, network, total: int, enabled: bool):
        self.network, self.total, self.enabled = network, total, enabled

    def __enter__(self):
        if not self.enabled:
            return self
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.bar = Progress(TextColumn("verifying"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                            console=Console(file=sys.stderr), transient=True)
        task = self.bar.add_task("verify", total=self.total)
        self.bar.start()
        self.handle = self.network.model.register_forward_hook(
            lambda module, inputs, output: self.bar.advance(task, int(inputs[0].shape[0])))
        return self

    def __exit__(self, *exc):
        if self.enabled:
            self.handle.remove()
            self.bar.stop()
        return False


VERIFY_LAYER_HEADER = ("layer", *(name for _, name in LAYER_TERMS), "values wrong", "active max", "inactive max")


def _beside(measured, predicted) -> str:
    return f"{_fmt(measured) or '-'} ({_fmt(predicted) or '-'})"


def _check_plot(args) -> None:
    """--plot: refuse a bad name, a missing matplotlib or an existing file before verifying."""
    from ..plot import require_matplotlib

    if Path(args.plot).suffix.lower() != ".png":
        args.parser.error(f"--plot writes a PNG image; give a file name ending in .png, got {args.plot!r}")
    require_matplotlib()
    check_writable(args.plot, args.force)          # refused before verifying, not after


def _write_plot(args, loaded, record: dict) -> None:
    from ..plot import neuron_loads, verification_figure

    net = loaded.network
    budget = record["budget"]
    model = (budget.get("model") or {}).get("name")
    title = (f"{f'network `{loaded.name}`' if loaded.name else 'network'}: T = {net.T}, z = {loaded.config.z}, "
             f"S = {loaded.config.S}, {record['mode']} mode, {_plural(record['samples'], 'row')}; "
             f"budget: {budget.get('verdict')}" + (f" ({model} model)" if model else ""))
    png = verification_figure(record, neuron_loads(net.supports, net.n), title,
                              allocation=loaded.allocation.summary())
    write_atomic(args.plot, png, force=args.force)


def cmd_verify(args) -> int:
    from ..artifact import load
    from ..instances.verify import exhaustive_rows, verify

    parser = args.parser
    _positive("--samples", args.samples, parser)
    _positive("--batch", args.batch, parser)
    if not math.isfinite(args.min_accuracy):
        parser.error(f"--min-accuracy must be a number, got {args.min_accuracy}")
    if args.plot is not None:
        _check_plot(args)                          # refuse before any work
    mode = "adversarial" if args.adversarial else "exhaustive" if args.exhaustive else "random"
    loaded = load(args.artifact)
    if not hasattr(loaded, "network"):            # a feature network (feature_artifact.py)
        from . import features_cmds as cli_features

        return cli_features.cmd_verify(args, loaded, mode)
    total = sum(exhaustive_rows(loaded)) if mode == "exhaustive" else args.samples
    with _Progress(loaded.network, total, _show_progress(total, args.batch)):
        result = verify(loaded, samples=args.samples, batch=args.batch, seed=args.seed, mode=mode)
    acc = result["bit_accuracy"]
    predicted = loaded.budget
    guarantee = predicted.guarantee
    # A guaranteed network that is not exact is a bug in circuitc, whatever --min-accuracy says.
    contradicted = guarantee.exact and acc is not None and acc < 1.0
    passed = (acc is None or acc >= args.min_accuracy) and not contradicted
    record = {"artifact": args.artifact, "network": loaded.name, "source_hash": loaded.source_hash,
              "seed": args.seed, "min_accuracy": args.min_accuracy, "passed": passed,
              "guarantee": guarantee.as_dict(), "budget": predicted.as_dict(), **result}
    if args.plot is not None:
        record["plot"] = args.plot
    if args.json:
        sys.stdout.write(json.dumps(record, indent=2) + "\n")
    else:
        net = loaded.network
        name = f"network `{loaded.name}`" if loaded.name else "network"
        checked = (f"all {_plural(result['samples'], 'row')} (every active set × every input)"
                   if mode == "exhaustive" else _plural(result["samples"], "sample"))
        print(f"verified {args.artifact} ({name}, T = {net.T}, z = {loaded.config.z}), {mode} mode, on "
              f"{checked}, seed {args.seed}")
        print()
        rows = [("bit accuracy", _accuracy(acc)), ("instance accuracy", _accuracy(result["instance_accuracy"])),
                ("MLP rms error", _fmt(result["real_rms_error"])), ("MLP max error", _fmt(result["real_max_error"]))]
        per = [(c.name, c.kind, count, _accuracy(result["per_circuit"].get(c.name)))
               for c, count in zip(loaded.circuits, loaded.counts)]
        outputs = [(circuit, bit, _accuracy(a)) for circuit, bits in result["per_output"].items() for bit, a in bits]
        predicted_layers = record["budget"]["layers"]
        layers = [(str(l["layer"]), *(_beside(l[key], p[key]) for key, _ in LAYER_TERMS),
                   _beside(l["active_values_wrong"], p["values_wrong"]), _fmt(l["active_max"]), _fmt(l["inactive_max"]))
                  for l, p in zip(result["layers"], predicted_layers)]
        targets = mode == "adversarial"
        worst = [(str(w["instance"]), w["circuit"], _accuracy(w["bit_accuracy"]), str(w["bits"]))
                 + ((str(w["targeted"]),) if targets else ()) for w in result["worst_instances"]]
        tables = [_table("accuracy", ("figure", "value"), rows, right=("value",)),
                  _table("per circuit", ("circuit", "kind", "count", "bit accuracy"), per,
                         right=("count", "bit accuracy")),
                  _table("per output", ("circuit", "output", "accuracy"), outputs, right=("accuracy",))]
        if layers:      # a routed network has no per-instance read-offs at its hidden layers
            tables.append(_table("read-off error per layer, measured (predicted by the budget); pairs: the values "
                                 "boolean circuits carry; values wrong: active instances with a pair off by >= 0.5",
                                 VERIFY_LAYER_HEADER, layers, right=VERIFY_LAYER_HEADER[1:]))
        tables.append(_table("least accurate instances",
                             ("instance", "circuit", "bit accuracy", "bits") + (("as target",) if targets else ()),
                             worst, right=("bit accuracy", "bits", "as target")))
        _print_tables(tables)
        print()
        routing = result.get("routing")
        if routing:
            seen = ", ".join(f"{c}: {k}" for c, k in enumerate(routing["clean_positions"]) if k)
            print(f"routing: active instances by clean positions (shared with no other active one): {seen}; "
                  f"the code guarantees at least {routing['c0']}")
        if guarantee.exact:
            print(f"guaranteed exact for every promise-keeping input: {guarantee.reason}")
        elif mode == "random" and result["instance_accuracy"] is not None:
            print(f"budget: {predicted.verdict}{_estimate(predicted.risk)}; measured "
                  f"{_fmt(1 - result['instance_accuracy'])} of active instances wrong")
        if acc is None:
            print("ok: no boolean outputs to compare (MLP errors above)")
        elif contradicted:
            print(f"FAILED: bit accuracy {_accuracy(acc)} contradicts the guarantee")
        elif passed:
            print(f"ok: bit accuracy {_accuracy(acc)} >= {args.min_accuracy}")
        else:
            print(f"FAILED: bit accuracy {_accuracy(acc)} < {args.min_accuracy}")
    if args.plot is not None:
        # After the report, so that a failed write (the file appeared meanwhile) loses no result.
        _write_plot(args, loaded, record)
        if not args.json:
            print(f"plot: predicted and measured read-off errors written to {args.plot}")
    if contradicted:
        print(f"circuitc: verify: bit accuracy {_accuracy(acc)} contradicts the static guarantee "
              f"({guarantee.reason}); this is a bug in circuitc", file=sys.stderr)
        return EXIT_FAILED
    if not passed:
        print(f"circuitc: verify: bit accuracy {_accuracy(acc)} is below --min-accuracy {args.min_accuracy}",
              file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


# ============================================================================================
# The parser


_DESCRIPTION = """\
Compile sparse boolean and small MLP circuits into one superposed deep ReLU network.

Sources are .circ files; ISCAS .bench and BLIF (.blif) netlists are read as well."""

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

    def command(name: str, func: Callable, summary_line: str, epilog: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=summary_line, description=summary_line, epilog=epilog,
                           formatter_class=_Formatter)
        p.set_defaults(func=func, parser=p)
        return p

    def output_options(p: argparse.ArgumentParser, what: str) -> None:
        p.add_argument("-o", "--output", metavar="FILE",
                       help=f"write {what} to FILE (atomically) instead of standard output; "
                            f"'-' is standard output")
        p.add_argument("-f", "--force", action="store_true", help="replace FILE if it exists")

    def network_options(p: argparse.ArgumentParser, verb: str) -> None:
        """The source, the network in it, and the compile knobs that override its declaration."""
        p.add_argument("file", metavar="FILE", help="a .circ source with a network declaration")
        p.add_argument("--network", metavar="NAME", help=f"the network to {verb} (optional when FILE declares one)")
        p.add_argument("--width", type=int, metavar="D", help="neurons per layer (the declaration's `width`)")
        p.add_argument("--active", type=int, metavar="Z", help="instances active at once, at most (`active`)")
        p.add_argument("--redundancy", type=int, metavar="S", help="neurons per circuit neuron (`redundancy`)")
        p.add_argument("--construction", choices=("auto", "routed", "coherent"),
                       help="routed (exact at any z; MLP circuits at z = 1 only) or coherent (shared neurons); "
                            "default auto: routed unless an MLP circuit at z >= 2 or a coherent-only option")
        p.add_argument("--allocation", choices=("auto", "prime-step", "affine", "polynomial"),
                       help="allocation strategy (polynomial: routed; prime-step, affine: coherent)")
        p.add_argument("--seed", type=int, metavar="N", help="seed of the assignment of supports to instances")
        p.add_argument("--margin", type=float, metavar="B", help="how far below threshold inactive units sit (default 0.1)")
        p.add_argument("--gain", type=float, metavar="G",
                       help="slope of every clean step and of the on-indicators (default 2·S; see docs/lowering.md)")
        p.add_argument("--no-segregate", action="store_true",
                       help="let instances of different circuit types share neurons (default: one range of "
                            "neurons per type; sharing is measured to break them)")
        p.add_argument("--schedule", choices=("asap", "alap"),
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
        f.add_argument("--ec-kind", choices=("step", "subsets"),
                       help="step: two ReLUs per wire (default); subsets: math.md §2.4's reconstruction")
        f.add_argument("--ec-width", type=int, metavar="N", help="neurons of a subsets error-correction layer")
        f.add_argument("--readoff", choices=("difference", "mean"),
                       help="monomial read-off: difference (unbiased, default) or mean (the papers')")
        f.add_argument("--no-calibrate", action="store_true",
                       help="do not scale read-offs so that an all-on monomial reads 1")

    p = command("check", cmd_check, "Validate a source or netlist and summarise its circuits, "
                "feature sets and networks.",
                "examples:\n  circuitc check examples/ripple_adder.circ\n  circuitc check examples/c17.bench --json")
    p.add_argument("file", metavar="FILE", help="a .circ source, .bench or .blif netlist")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")

    p = command("eval", cmd_eval, "Evaluate a circuit with the reference interpreter: once, "
                "over its truth table, or over the rows of a CSV file.", _EVAL_EPILOG)
    p.add_argument("file", metavar="FILE", help="a .circ source, .bench or .blif netlist")
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
    output_options(p, "the CSV result (with --truth-table or --inputs)")

    p = command("graph", cmd_graph, "Print a circuit's dependency graph as Graphviz DOT or JSON.",
                "examples:\n  circuitc graph examples/c17.bench > c17.dot && dot -Tsvg c17.dot -o c17.svg\n"
                "  circuitc graph examples/ripple_adder.circ --circuit ripple_adder --format json --output adder.json")
    p.add_argument("file", metavar="FILE", help="a .circ source, .bench or .blif netlist")
    p.add_argument("-c", "--circuit", metavar="NAME", help="the circuit (optional when FILE holds only one)")
    p.add_argument("--format", choices=("dot", "json"),
                   help="output format (default: dot, or json when --output ends in .json)")
    output_options(p, "the graph")

    p = command("fmt", cmd_fmt, "Print a .circ source in canonical form, or a .bench/.blif netlist "
                "as .circ text.",
                "examples:\n  circuitc fmt examples/full_adder.circ\n  circuitc fmt -w my_circuit.circ\n"
                "  circuitc fmt --check examples/*.circ\n  circuitc fmt examples/c17.bench --output c17.circ")
    p.add_argument("files", nargs="+", metavar="FILE",
                   help=".circ source (several with --write or --check), or a netlist to print as .circ")
    p.add_argument("-w", "--write", action="store_true", help="rewrite each file in place if its formatting changes")
    p.add_argument("--check", action="store_true",
                   help="change nothing; exit 1 and name the files that would be reformatted")
    output_options(p, "the printout")

    p = command("compile", cmd_compile, "Compile a network declaration, or a circuit over a feature set, "
                "into one ReLU network and save it as a directory.",
                "The options override the declaration's knobs (active, width, redundancy, allocation,\n"
                "seed). The output directory holds weights.safetensors, network.json and circuits.circ;\n"
                "an existing one is replaced only with --force.\n\n"
                "A circuit over a feature set (a file with no network, or --circuit NAME) is compiled\n"
                "level by level with error-correction layers (docs/features.md).\n\n"
                "examples:\n  circuitc compile examples/adders_network.circ -o adders\n"
                "  circuitc compile examples/network.circ --network adders -o big --width 8192 --seed 2 --json\n"
                "  circuitc compile examples/deep_features.circ -o deep8 --ec auto")
    network_options(p, "compile")
    p.add_argument("-o", "--output", metavar="OUT_DIR", required=True, help="the directory to write")
    p.add_argument("-f", "--force", action="store_true", help="replace OUT_DIR if it holds a compiled network")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")

    p = command("budget", cmd_budget, "Predict what a network declaration will do, before compiling it: "
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
    network_options(p, "predict")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="print the budget as JSON")
    fmt.add_argument("--markdown", action="store_true", help="print the budget as markdown tables")

    p = command("verify", cmd_verify, "Check a compiled network against the reference interpreter on random "
                "inputs that keep the sparsity promise.",
                "Each sample activates 1 to z instances with random inputs. --adversarial activates a\n"
                "random target with the z - 1 instances sharing the most neurons with it; --exhaustive\n"
                "checks every set of 1 to z instances with every input (tiny boolean networks only).\n"
                "Exit status 1 when the bit accuracy is below --min-accuracy.\n\n"
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
    p.add_argument("--min-accuracy", type=float, default=0.999, metavar="A",
                   help="the least bit accuracy that passes (default 0.999)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--plot", metavar="FILE.png",
                   help="also draw the per-layer read-off errors (measured and predicted) and the load "
                        "histogram into FILE.png (atomically)")
    p.add_argument("-f", "--force", action="store_true", help="replace the --plot file if it exists")
    return parser


# ============================================================================================
# Entry point


def _exit_code(code: Any) -> int:
    if code is None:
        return EXIT_OK
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return EXIT_ERROR


def _parse(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    args, extra = parser.parse_known_args(argv)
    if extra:
        # NAME=VALUE assignments may follow options (`eval f.circ -c adder a=5 b=9`).
        if args.command == "eval" and not any(e.startswith("-") for e in extra):
            args.assignments = list(args.assignments) + extra
        else:
            args.parser.error(f"unrecognized arguments: {' '.join(extra)}")
    return args


def _silence_stdout() -> None:
    """After a broken pipe, point stdout at /dev/null so that the final flush stays quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, AttributeError, ValueError, io.UnsupportedOperation):
        pass


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (see the module docstring)."""
    try:
        args = _parse(build_parser(), argv)
    except SystemExit as e:  # --help, --version and usage errors
        return _exit_code(e.code)
    try:
        code = args.func(args)
        sys.stdout.flush()
        return code
    except SystemExit as e:  # usage errors found by a command
        return _exit_code(e.code)
    except CircuitError as e:
        print(str(e), file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except MemoryError:
        print("circuitc: error: out of memory", file=sys.stderr)
        return EXIT_ERROR
    except Exception as e:  # anything else is a bug in circuitc
        print(f"circuitc: internal error: {type(e).__name__}: {e}", file=sys.stderr)
        traceback.print_exc()
        print(f"This is a bug in circuitc {__version__}, not a problem with the input. Please report it, "
              f"with the command line and the input files that trigger it.", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
