"""The commands on networks of circuit instances: `compile` a network declaration into a saved
network, predict its `budget`, and `verify` a saved network against the reference interpreter.

A source whose circuit is over a feature set, and a saved feature network, go to the feature
back end (features_cmds.py); the library's `back_ends.back_end` makes that choice for sources."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np

from ..artifact import check_target, load, save
from ..artifact_names import METADATA, file_names
from ..back_ends import back_end
from ..features.network import FeatureNetwork
from ..fileio import check_writable, write_atomic
from ..hub import push, require_hub
from ..inputs import read_input_table
from ..instances.artifact import check_storable
from ..instances.budget import budget_of_plan
from ..instances.compile import compile_network
from ..instances.components import write_components
from ..instances.planner import fallback_warning, plan_network
from ..instances.sample import INDEX, write_shards
from ..instances.verdicts import judge
from ..instances.verify import exhaustive_rows, verify
from ..plot import neuron_loads, require_matplotlib, verification_figure
from ..spec import Spec
from . import features_cmds
from .features_cmds import FEATURE_ONLY, refuse_options
from .tables import (
    EXIT_FAILED,
    EXIT_OK,
    LISTED,
    ProgressBar,
    accuracy,
    beside,
    error,
    first_rows,
    fmt,
    load_warned,
    plural,
    print_tables,
    show_progress,
    table,
)

__all__ = ["cmd_compile", "cmd_budget", "cmd_verify"]


def _positive(name: str, value, parser, minimum: int = 1) -> None:
    if value is not None and value < minimum:
        parser.error(f"{name} must be {minimum} or more, got {value}")


def _overrides(args) -> dict:
    """The knobs given on the command line, as `compile_network` overrides."""
    parser = args.parser
    refuse_options(args, FEATURE_ONLY, "circuits over feature sets", "network declarations")
    _positive("--width", args.width, parser)
    _positive("--active", args.active, parser)
    _positive("--redundancy", args.redundancy, parser)
    if args.margin is not None and not (args.margin >= 0 and math.isfinite(args.margin)):
        parser.error(f"--margin must be a finite number >= 0, got {args.margin}")
    if args.gain is not None and not (args.gain > 2 and math.isfinite(args.gain)):
        parser.error(f"--gain must be a finite number above 2, got {args.gain}")
    if args.input_bound is not None and not (args.input_bound > 0 and math.isfinite(args.input_bound)):
        parser.error(f"--input-bound must be a finite number above 0, got {args.input_bound}")
    given = {"D": args.width, "z": args.active, "S": args.redundancy, "allocation": args.allocation,
             "seed": args.seed, "margin": args.margin, "shuffle": True if args.reshuffle else None,
             "schedule": args.schedule, "gain": args.gain, "segregate": False if args.no_segregate else None,
             "construction": args.construction, "shared_mean": args.shared_mean, "input_bound": args.input_bound}
    return {k: v for k, v in given.items() if v is not None}


def _compile_record(args, spec: Spec, comp, name: str) -> dict:
    rep = comp.report()
    types = [{"circuit": c.name, "kind": c.kind, "count": count, "inputs": len(c.input_bits),
              "outputs": len(c.output_bits)} for c, count in zip(comp.circuits, comp.counts)]
    return {"file": args.file, "network": name, "output": args.output, "source_hash": spec.source_hash,
            "report": rep, "types": types, "budget": comp.budget.as_dict()}


def cmd_compile(args) -> int:
    check_target(args.output, args.force, marker=file_names(args.layout)[METADATA])      # refuse before any work
    spec = load_warned(args.file)
    if back_end(spec, args.circuit) == "features":
        return features_cmds.cmd_compile(args, spec)
    net = spec.network(args.network)
    check_storable((spec.circuit(g.circuit) for g in net.groups), net.name)   # before compiling
    overrides = _overrides(args)
    comp = compile_network(spec, net.name, **overrides)
    for w in comp.warnings():
        print(w.render(), file=sys.stderr)
    save(comp, args.output, force=args.force, layout=args.layout)
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
        ("construction", rep["config"]["construction"],
         "routed, lookup (position-local), coherent or cis2 (shared neurons)"),
        ("allocation", alloc["strategy"], "how instances share the neurons of a block"),
        ("capacity", alloc["capacity"], "instances the allocation can hold"),
        ("packing bound", alloc["packing_bound"], "n(n-1)/(S(S-1)): the most any allocation can hold"),
        ("fill", fmt(alloc["fill"]), "T / capacity"),
        ("load", f"{alloc['load_min']}-{alloc['load_max']}", "instances per neuron, least to most"),
        ("compression", fmt(rep["compression"]), "T·d_naive / D: naive widths side by side over D"),
        ("parameters", rep["parameters"], "weights and biases of the network"),
        ("naive neurons", rep["naive_neurons"], "one neuron per gate, over all instances"),
    ]
    types_title, type_rows = first_rows("instance types", [(t["circuit"], t["kind"], t["count"], t["inputs"],
                                                            t["outputs"]) for t in record["types"]])
    tables = [table("network", ("figure", "value", "meaning"), rows, right=("value",)),
              table(types_title, ("circuit", "kind", "count", "inputs", "outputs"), type_rows,
                    right=("count", "inputs", "outputs"))]
    print_tables(tables)
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
        ("construction", f["construction"],
         "routed, lookup: position-local layers on a code; coherent, cis2: shared neurons"),
        ("D, L, T", f"{f['D']}, {f['L']}, {f['T']}", "width, ReLU layers, instances"),
        ("d, z, S", f"{f['d']}, {f['z']}, {f['S']}", "lowered width, active at once, redundancy"),
        ("gain, margin", f"{fmt(f['gain'])}, {fmt(f['margin'])}", "slope of the clean steps, β"),
        ("allocation", f["allocation"], "strategy"),
        ("T / capacity", f"{f['T']} / {f['capacity']}", f"fill {fmt(f['fill'])}; packing bound {f['packing_bound']}"),
        ("load figure", fmt(f["load_figure"]), "z·T·L·(d/D)²: math.md's errors are small while << 1"),
        ("compression", fmt(f["compression"]), "T·d_naive / D; 1 is one neuron per gate"),
        ("gates / ceiling", f"{f['gates']} / {f['ceiling_gates']:.3g}", "gates against D²/ln D (math.md §3)"),
    ]
    risk = [
        ("pairs sharing a neuron", fmt(r["pairs_sharing_a_neuron"]),
         "the pairs adversarial rows activate together (z >= 2)"),
        ("pairs whose fields meet", fmt(r["pairs_reached"]), "instance pairs whose copies meet by the last layer"),
        ("random rows at risk", fmt(r["random_rows_at_risk"]), "an upper bound on failing random rows"),
        ("instances wrong", fmt(r["instances_wrong"]), "estimated: active instances decoded wrong"),
        ("computed", "exactly" if r["exact"] else None if r["sources"] is None
         else f"from {r['sources']} source instances", "graph figures"),
        ("activation rms", fmt(r.get("activation_rms")), "the circuits' own rms activation per neuron (last layer)"),
    ]
    # A construction states only the figures its model has; the rest would print as rows of dashes.
    return figures, [row for row in risk if row[1] is not None]


def _estimate(risk: dict) -> str:
    wrong, bound = risk["instances_wrong"], risk["random_rows_at_risk"]
    if wrong is None:
        return ""
    return f" (estimated {fmt(wrong)} of active instances wrong; at most {fmt(bound)} of random rows at risk)"


LAYER_TERMS = (("active_rms", "active rms"), ("active_pair_rms", "active pair rms"),
               ("inactive_rms", "inactive rms"), ("inactive_pair_rms", "inactive pair rms"))


def _layer_rows(b) -> tuple[tuple[str, ...], list[tuple]]:
    """The budget's per-layer table (header, rows): verdict, predicted terms, and math.md's formulas
    beside them; a column the model does not predict at any layer is left out."""
    rows = [(str(l["layer"]), l["verdict"], *(fmt(l[key]) for key, _ in LAYER_TERMS), fmt(l["values_wrong"]),
             fmt(l["pairs_reached"]), fmt(l["paper_active_rms"]), fmt(l["paper_inactive_rms"]))
            for l in b["layers"]]
    keep = [i for i in range(len(LAYER_HEADER)) if i < 2 or any(row[i] is not None for row in rows)]
    return tuple(LAYER_HEADER[i] for i in keep), [tuple(row[i] for i in keep) for row in rows]


LAYER_HEADER = ("layer", "verdict", *(name for _, name in LAYER_TERMS), "values wrong", "pairs met",
                "paper active", "paper inactive")


def cmd_budget(args) -> int:
    spec = load_warned(args.file)
    if back_end(spec, args.circuit) == "features":
        return features_cmds.cmd_budget(args, spec)
    net = spec.network(args.network)
    plan = plan_network(spec, net.name, **_overrides(args))
    fallback = fallback_warning(plan)
    if fallback:
        print(fallback.render(), file=sys.stderr)
    b = budget_of_plan(plan, inputs=_input_rows(args, plan.circuits))
    if args.json:
        sys.stdout.write(json.dumps({"file": args.file, **b.as_dict()}, indent=2) + "\n")
        return EXIT_OK
    figures, risk = _budget_rows(b)
    record = b.as_dict()
    header, layers = _layer_rows(record)
    guarantee = ("exact for every promise-keeping input: " if b.guarantee.exact else "none: ") + b.guarantee.reason
    model = (f"{record['model']['name']} ({record['model']['why']})" if record["model"] else
             f"none: the {b.figures['construction']} construction has no error terms; its code decides exactness")
    if args.markdown:
        out = [f"## Budget of network `{b.name}` ({args.file})", "", f"**Verdict: {b.verdict}.**", "",
               f"Guarantee: {guarantee}.", ""]
        for title, rows in (("Figures", figures), ("Risk", risk)):
            out += [f"### {title}", "", "| figure | value | meaning |", "|---|---|---|"]
            out += [f"| {a} | {'-' if v is None else v} | {m} |" for a, v, m in rows] + [""]
        out += ["### Per layer (predicted read-off errors)", "", f"Model: {model}.", ""]
        if layers:
            out += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
            out += ["| " + " | ".join(row) + " |" for row in layers] + [""]
        if b.knobs:
            out += ["### Knobs", ""] + [f"- {k}" for k in b.knobs] + [""]
        sys.stdout.write("\n".join(out))
        return EXIT_OK
    print(f"budget of network `{b.name}` of {args.file}: {b.verdict}")
    print()
    tables = [table("figures", ("figure", "value", "meaning"), figures, right=("value",)),
              table("risk", ("figure", "value", "meaning"), risk, right=("value",))]
    if layers:
        tables.append(table("per layer: predicted read-off errors (paper: math.md §1.5's formulas)", header,
                            layers, right=header[2:]))
    print_tables(tables)
    print(f"\nmodel: {model}")
    print(f"guarantee: {guarantee}")
    for k in b.knobs:
        print(f"knob: {k}")
    return EXIT_OK



VERIFY_LAYER_HEADER = ("layer", *(name for _, name in LAYER_TERMS), "values wrong", "active max", "inactive max")


def _check_plot(args) -> None:
    """--plot: refuse a bad name, a missing matplotlib or an existing file before verifying."""
    if Path(args.plot).suffix.lower() != ".png":
        args.parser.error(f"--plot writes a PNG image; give a file name ending in .png, got {args.plot!r}")
    require_matplotlib()
    check_writable(args.plot, args.force)          # refused before verifying, not after


def _write_plot(args, loaded, record: dict) -> None:
    net = loaded.network
    budget = record["budget"]
    model = (budget.get("model") or {}).get("name")
    title = (f"{f'network `{loaded.name}`' if loaded.name else 'network'}: T = {net.T}, z = {loaded.config.z}, "
             f"S = {loaded.config.S}, {record['mode']} mode, {plural(record['samples'], 'row')}; "
             f"budget: {budget.get('verdict')}" + (f" ({model} model)" if model else ""))
    png = verification_figure(record, neuron_loads(net.supports, net.n), title,
                              allocation=loaded.allocation.summary())
    write_atomic(args.plot, png, force=args.force)


def cmd_verify(args) -> int:
    parser = args.parser
    _positive("--samples", args.samples, parser)
    _positive("--batch", args.batch, parser)
    if not math.isfinite(args.min_accuracy):
        parser.error(f"--min-accuracy must be a number, got {args.min_accuracy}")
    if not (args.tolerance >= 0 and math.isfinite(args.tolerance)):
        parser.error(f"--tolerance must be a finite number >= 0, got {args.tolerance}")
    if args.plot is not None:
        _check_plot(args)                          # refuse before any work
    mode = "adversarial" if args.adversarial else "exhaustive" if args.exhaustive else "random"
    loaded = load(args.artifact)
    if isinstance(loaded, FeatureNetwork):
        if args.input_rows is not None:
            parser.error("--input-rows is for networks of circuit instances")
        return features_cmds.cmd_verify(args, loaded, mode)
    rows = _input_rows(args, loaded.circuits)
    total = sum(exhaustive_rows(loaded)) if mode == "exhaustive" else args.samples
    with ProgressBar(loaded.network, total, show_progress(total, args.batch)):
        result = verify(loaded, samples=args.samples, batch=args.batch, seed=args.seed, mode=mode, inputs=rows)
    acc = result["bit_accuracy"]
    # measured beside what the budget predicts for the same inputs
    predicted = loaded.budget if rows is None else budget_of_plan(loaded.plan, inputs=rows)
    guarantee = predicted.guarantee
    # A guaranteed network that is not exact is a bug in circuitc, whatever --min-accuracy says.
    verdict = judge(result, guaranteed=guarantee.exact, min_accuracy=args.min_accuracy, tolerance=args.tolerance)
    contradicted, passed = verdict.contradicted, verdict.passed
    record = {"artifact": args.artifact, "network": loaded.name, "source_hash": loaded.source_hash,
              "seed": args.seed, "min_accuracy": args.min_accuracy, "tolerance": args.tolerance, "passed": passed,
              "guarantee": guarantee.as_dict(), "budget": predicted.as_dict(), **result}
    if args.plot is not None:
        record["plot"] = args.plot
    if args.json:
        sys.stdout.write(json.dumps(record, indent=2) + "\n")
    else:
        net = loaded.network
        name = f"network `{loaded.name}`" if loaded.name else "network"
        checked = (f"all {plural(result['samples'], 'row')} (every active set × every input)"
                   if mode == "exhaustive" else plural(result["samples"], "sample"))
        print(f"verified {args.artifact} ({name}, T = {net.T}, z = {loaded.config.z}), {mode} mode, on "
              f"{checked}, seed {args.seed}")
        print()
        rows = [("bit accuracy", accuracy(acc)), ("instance accuracy", accuracy(result["instance_accuracy"])),
                ("MLP rms error", fmt(result["real_rms_error"])), ("MLP max error", fmt(result["real_max_error"]))]
        # Bit accuracies only (MLP circuits have none), the least accurate first past LISTED rows.
        scored = sorted(((result["per_circuit"][c.name], c.name, c.kind, count)
                         for c, count in zip(loaded.circuits, loaded.counts)
                         if result["per_circuit"].get(c.name) is not None), key=lambda r: r[0])
        per = [(name, kind, count, accuracy(a)) for a, name, kind, count in
               (scored if len(scored) <= LISTED else scored[:LISTED])]
        outputs = [(circuit, bit, accuracy(a)) for circuit, bits in result["per_output"].items() for bit, a in bits
                   if a is not None]
        shown = "" if len(scored) <= LISTED else f": the {LISTED} least accurate of {len(scored)}"
        predicted_layers = record["budget"]["layers"]
        layers = [(str(l["layer"]), *(beside(l[key], p[key]) for key, _ in LAYER_TERMS),
                   beside(l["active_values_wrong"], p["values_wrong"]), fmt(l["active_max"]), fmt(l["inactive_max"]))
                  for l, p in zip(result["layers"], predicted_layers)]
        targets = mode == "adversarial"
        worst = [(str(w["instance"]), w["circuit"], accuracy(w["bit_accuracy"]), str(w["bits"]))
                 + ((str(w["targeted"]),) if targets else ()) for w in result["worst_instances"]]
        tables = [table("accuracy", ("figure", "value"), rows, right=("value",))]
        if per:
            tables.append(table("per circuit" + shown, ("circuit", "kind", "count", "bit accuracy"), per,
                                right=("count", "bit accuracy")))
        if outputs and len(outputs) <= LISTED * 4:
            tables.append(table("per output", ("circuit", "output", "accuracy"), outputs, right=("accuracy",)))
        if layers and not any(c.kind == "boolean" for c in loaded.circuits):
            # pairs and wrong values are how boolean lowerings carry bits; MLP circuits have neither
            keep = [0, 1, 3] + list(range(len(VERIFY_LAYER_HEADER) - 2, len(VERIFY_LAYER_HEADER)))
            header = tuple(VERIFY_LAYER_HEADER[i] for i in keep)
            tables.append(table("read-off error per layer, measured (predicted by the budget)", header,
                                [tuple(r[i] for i in keep) for r in layers], right=header[1:]))
        elif layers:    # a routed network has no per-instance read-offs at its hidden layers
            tables.append(table("read-off error per layer, measured (predicted by the budget); pairs: the values "
                                "boolean circuits carry; values wrong: active instances with a pair off by >= 0.5",
                                VERIFY_LAYER_HEADER, layers, right=VERIFY_LAYER_HEADER[1:]))
        if worst:
            tables.append(table("least accurate instances",
                                ("instance", "circuit", "bit accuracy", "bits") + (("as target",) if targets else ()),
                                worst, right=("bit accuracy", "bits", "as target")))
        print_tables(tables)
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
                  f"{fmt(1 - result['instance_accuracy'])} of active instances wrong")
        elif result["layers"] and predicted_layers:
            print(f"budget: {predicted.verdict}; last layer's rms read-off error of active instances "
                  f"{fmt(predicted_layers[-1]['active_rms'])} predicted, {fmt(result['layers'][-1]['active_rms'])} "
                  f"measured")
        real = "" if verdict.real_ok is None else (f"MLP max error {fmt(result['real_max_error'])} "
                                                   f"{'<=' if verdict.real_ok else '>'} --tolerance {args.tolerance:g}")
        bits = (f"bit accuracy {accuracy(acc)} {'>=' if verdict.bits_ok else '<'} {args.min_accuracy}"
                if verdict.bits_ok is not None else "")
        if contradicted:
            print(f"FAILED: bit accuracy {accuracy(acc)} contradicts the guarantee")
        elif not verdict.compared:
            print("FAILED: nothing was compared (no boolean output and no real output of an active instance)")
        else:
            print(f"{'ok' if passed else 'FAILED'}: {'; '.join(x for x in (bits, real) if x)}")
    if args.plot is not None:
        # After the report, so that a failed write (the file appeared meanwhile) loses no result.
        _write_plot(args, loaded, record)
        if not args.json:
            print(f"plot: predicted and measured read-off errors written to {args.plot}")
    if contradicted:
        print(f"circuitc: verify: bit accuracy {accuracy(acc)} contradicts the static guarantee "
              f"({guarantee.reason}); this is a bug in circuitc", file=sys.stderr)
        return EXIT_FAILED
    if verdict.bits_ok is False:
        print(f"circuitc: verify: bit accuracy {accuracy(acc)} is below --min-accuracy {args.min_accuracy}",
              file=sys.stderr)
    if verdict.real_ok is False:
        print(f"circuitc: verify: real outputs are off by up to {fmt(result['real_max_error'])}, above --tolerance "
              f"{args.tolerance:g}", file=sys.stderr)
    if not verdict.compared:
        print("circuitc: verify: nothing was compared", file=sys.stderr)
    if not passed:
        return EXIT_FAILED
    return EXIT_OK




def _input_rows(args, circuits) -> np.ndarray | None:
    """The rows of --input-rows FILE, read as inputs of the first MLP circuit (verify and the budget
    check that every MLP circuit takes as many), or None."""
    if args.input_rows is None:
        return None
    mlp = next((c for c in circuits if c.kind == "mlp"), None)
    if mlp is None:
        raise error(f"--input-rows gives MLP circuits their inputs, and {args.input_rows} is for a network "
                    f"without any", hint="boolean circuits are checked on random bits; drop --input-rows")
    return read_input_table(args.input_rows, mlp)


def _load_instances(artifact: str, command: str, hint: str | None = None):
    """The network of instances at `artifact`; a feature network is refused for `command`."""
    loaded = load(artifact)
    if isinstance(loaded, FeatureNetwork):
        raise error(f"{artifact} holds a network over a feature set; `circuitc {command}` takes networks of "
                    f"circuit instances", hint=hint)
    return loaded


def cmd_sample(args) -> int:
    parser = args.parser
    _positive("--rows", args.rows, parser)
    _positive("--batch", args.batch, parser)
    check_target(args.output, args.force, marker=INDEX, what="a directory of samples")   # before any work
    loaded = _load_instances(args.artifact, "sample")
    mode = "adversarial" if args.adversarial else "exhaustive" if args.exhaustive else "random"
    path = write_shards(loaded, args.output, args.rows, batch=args.batch, seed=args.seed, mode=mode, force=args.force,
                        inputs=_input_rows(args, loaded.circuits))
    index = json.loads((path / INDEX).read_text())
    print(f"sampled {plural(index['rows'], 'row')} of {args.artifact} ({mode}, seed {args.seed}) into "
          f"{args.output}: {plural(len(index['shards']), 'shard')} of activations at layers 0..{index['L']} "
          f"with the ground truth of every active instance (see {INDEX})")
    return EXIT_OK


def cmd_export(args) -> int:
    if args.push and args.layout != "hf":
        args.parser.error("--push uploads the Hugging Face layout: drop --layout circuitc")
    if args.push:
        require_hub()
    check_target(args.output, args.force, marker=file_names(args.layout)[METADATA])      # refuse before any work
    loaded = load(args.artifact)
    path = save(loaded, args.output, force=args.force, layout=args.layout)
    print(f"wrote {args.artifact} to {path} in the {'Hugging Face' if args.layout == 'hf' else 'circuitc'} layout")
    if args.push:
        url = push(path, args.push, private=args.private)
        print(f"pushed {path} to the Hub repository {args.push}: {url}")
    return EXIT_OK


def cmd_components(args) -> int:
    check_writable(args.output, args.force)                # refuse before any work
    loaded = _load_instances(args.artifact, "components")
    write_components(loaded, args.output, force=args.force)
    print(f"wrote the per-instance weight components of {args.artifact} (T = {loaded.network.T}, layers "
          f"1..{loaded.network.L}) to {args.output}: layer.{{l}}.indices (instance, row, column) and "
          f"layer.{{l}}.values, with the shared part where the construction has one; they add up to each layer's "
          f"weights; readout.indices and readout.values: each instance's read-out")
    return EXIT_OK
