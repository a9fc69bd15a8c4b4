"""The commands on a source file: `check`, `eval`, `graph` and `fmt` over `.circ` sources and
`.bench`/`.blif` netlists. They read the file, call the library and format what it returns."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ..fileio import write_atomic
from ..frontend.load import NETLIST_SUFFIXES, load_spec, read_text
from ..frontend.printer import spec_to_circ
from ..frontend.syntax.format import format_source
from ..graph import depth, summary, to_dot, to_json
from ..inputs import active_warning, parse_assignments, read_input_csv
from ..interpret import evaluate_bits, rows_text, truth_table
from ..spec import BoolCircuit, MLPCircuit, Spec
from .render import csv_text, format_outputs, truth_table_csv, truth_table_text
from .tables import EXIT_CHANGED, EXIT_OK, emit, error, first_rows, listed, load_warned, plural, print_tables, table

__all__ = ["cmd_check", "cmd_eval", "cmd_graph", "cmd_fmt"]


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
        plural(len(spec.circuits), "circuit"),
        plural(len(spec.features), "feature set") if spec.features else "",
        plural(len(spec.networks), "network") if spec.networks else "") if part)
    print(f"{args.file}: ok, {counts}")
    print(f"source hash: {spec.source_hash[:12]}")
    print()
    tables = []
    rows = []
    for c in record["circuits"]:
        size = (c["gates"] if c["kind"] == "boolean" else
                f"{plural(c['layers'], 'layer')}, {c['parameters']} params")
        rows.append((c["name"], _kind_of_record(c), c["inputs"], c["outputs"], size, c["depth"]))
    title, rows = first_rows("circuits", rows)
    tables.append(table(title, ("circuit", "kind", "inputs", "outputs", "gates", "depth"), rows,
                        right=("inputs", "outputs", "gates", "depth")))
    if record["features"]:
        tables.append(table("feature sets", ("features", "m", "s", "embed", "seed"),
                            [(f["name"], f["m"], f["s"], f["embed"], f["seed"]) for f in record["features"]],
                            right=("m", "s", "embed", "seed")))
    if record["networks"]:
        rows = [(n["name"], n["T"], n["z"], n["D"], "auto" if n["S"] is None else n["S"], n["allocation"],
                 n["seed"], listed([f"{g['circuit']} * {g['count']}" for g in n["circuits"]]))
                for n in record["networks"]]
        tables.append(table("networks", ("network", "T", "z", "D", "S", "allocation", "seed", "circuits"),
                            rows, right=("T", "z", "D", "S", "seed")))
    print_tables(tables)
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
        raise error(f"`{circuit.name}` has {n} input bits: its truth table would have {rows_text(n)} "
                    f"rows, above --max-inputs {args.max_inputs}",
                    hint=f"pass --max-inputs {n} to print it anyway, or evaluate chosen rows "
                         f"with --inputs FILE.csv")
    X, Y = truth_table(circuit, max_inputs=args.max_inputs)
    real = isinstance(circuit, MLPCircuit)
    if args.output is not None:
        emit(truth_table_csv(circuit.input_bits, circuit.output_bits, X, Y, real), args.output, args.force)
    else:
        sys.stdout.write(truth_table_text(circuit.input_bits, circuit.output_bits, X, Y, real))
    return EXIT_OK


def _eval_batch(args, circuit) -> int:
    X = read_input_csv(args.inputs, circuit)
    Y = evaluate_bits(circuit, X)
    emit(csv_text(circuit.output_bits, Y, real=isinstance(circuit, MLPCircuit)), args.output, args.force)
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
    spec = load_warned(args.file)
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
    emit(text, args.output, args.force)
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
                raise error(f"`{file}` is a netlist: fmt {'--write' if args.write else '--check'} "
                            f"works on .circ sources only",
                            hint=f"print it as .circ text: `circuitc fmt {file} > {stem}` or "
                                 f"`circuitc fmt {file} --output {stem}`")
    changed = []
    for file in args.files:
        if _is_netlist(file):
            emit(spec_to_circ(load_spec(file)), args.output, args.force)
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
            emit(formatted, args.output, args.force)
    return EXIT_CHANGED if changed else EXIT_OK
