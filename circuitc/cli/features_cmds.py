"""The CLI's back end for circuits over feature sets: `compile`, `budget` and `verify` of deep
feature networks (features/network.py). network_cmds.py picks it when a source's circuit is over a
feature set (`back_ends.back_end`), or when the artifact it verifies says `"kind": "features"`."""

from __future__ import annotations

import json
import math
import sys

from ..errors import Diagnostic
from ..features.artifact import save
from ..features.correct import clean_margin
from ..features.network import FeatureNetwork, compile_source, error_rate
from ..features.verify import verify_features
from ..fileio import write_atomic
from ..plot import feature_figure
from .tables import EXIT_FAILED, EXIT_OK, accuracy, fmt, plural, print_tables, table

# options that mean something to one back end only (argparse dest → flag)
NETWORK_ONLY = {"network": "--network", "active": "--active", "redundancy": "--redundancy",
                "allocation": "--allocation", "margin": "--margin", "schedule": "--schedule",
                "reshuffle": "--reshuffle", "no_segregate": "--no-segregate", "shared_mean": "--shared-mean",
                "input_rows": "--input-rows", "input_bound": "--input-bound"}
FEATURE_ONLY = {"fan_in": "--fan-in", "p": "--p", "q": "--q", "target": "--target", "ec": "--ec",
                "ec_kind": "--ec-kind", "ec_width": "--ec-width", "readoff": "--readoff",
                "no_calibrate": "--no-calibrate"}


def refuse_options(args, options: dict, applies_to: str, not_to: str, hint: str = "") -> None:
    """A usage error naming every option of `options` given on the command line."""
    given = [flag for key, flag in options.items() if getattr(args, key, None) not in (None, False)]
    if given:
        args.parser.error(f"{', '.join(given)} {'applies' if len(given) == 1 else 'apply'} to {applies_to}, "
                          f"not to {not_to}{hint}")


def overrides(args) -> dict:
    """`FeatureConfig` overrides from the command line; network-only options are refused."""
    refuse_options(args, NETWORK_ONLY, "network declarations", "circuits over feature sets",
                   " (see `--fan-in`, `--ec`, `--target`, `--p`)")
    out = {"width": args.width, "seed": args.seed, "gain": args.gain, "k": args.fan_in, "p": args.p, "q": args.q,
           "target": args.target, "ec": args.ec, "ec_kind": args.ec_kind, "ec_width": args.ec_width,
           "readoff": args.readoff, "calibrate": False if args.no_calibrate else None}
    return {k: v for k, v in out.items() if v is not None}


def _stage_rows(net: FeatureNetwork) -> list[tuple]:
    rows = []
    for i, st in enumerate(net.stages):
        pops = " ".join(f"{j}:{d}" for j, d in st.orders) if st.kind == "gate" else (
            "step" if net.config.ec_kind == "step" else f"subsets {st.orders[0][1]}")
        rows.append((str(i + 1), st.kind, str(st.level), str(st.read_off.shape[0]), str(st.width), pops,
                     fmt(st.predicted), fmt(error_rate(st.predicted)), str(_on_read(net, st))))
    return rows


def _on_read(net: FeatureNetwork, st) -> int:
    """The on-count the layer was sized for: of the level it reads."""
    return net.on_counts[st.level - 1 if st.kind == "gate" else st.level]


STAGE_HEADER = ("layer", "kind", "level", "wires", "neurons", "populations (order:neurons)",
                "predicted σ", "error rate per wire", "on-count read")


def warnings(net: FeatureNetwork) -> list[Diagnostic]:
    out = []
    margin = clean_margin(net.config.gain)
    if net.input_sigma * net.config.quantile > margin:
        need = math.ceil(net.s * (net.config.quantile / margin) ** 2)
        out.append(Diagnostic(
            f"features in superposition at embed = {net.features.d0} arrive with interference σ = "
            f"{net.input_sigma:.3g} (√(s/embed)); a clean step removes errors below {margin:.3g}, so about "
            f"{error_rate(net.input_sigma / margin * 0.5):.2g} of feature reads stay wrong",
            net.features.span, hint=f"raise `embed` to {need} or more for the target error rate "
                                    f"{net.config.target:g}", severity="warning"))
    return out


def record(net: FeatureNetwork, args) -> dict:
    rep = net.report()
    last = net.stages[-1]
    rep["expected_wrong_outputs_per_row"] = len(net.levels.output_bits) * error_rate(last.predicted)
    return {"file": args.file, "output": getattr(args, "output", None), "source_hash": net.source_hash, "report": rep}


def _figures(net: FeatureNetwork, rep: dict) -> list[tuple]:
    lv = net.levels
    widest_level = max(int((~l.carry).sum()) for l in lv.levels)
    embed = f", embed {net.features.d0}" if net.features.d0 else ""
    return [
        ("features", f"{net.features.name}: m = {net.m}, s = {net.s}{embed}", "features, on at once, input width"),
        ("depth", lv.depth, "gate levels (fan-in k = %d)" % lv.k),
        ("layers", net.L, "ReLU layers, error-correction layers included"),
        ("corrections", ", ".join(map(str, net.corrections)) or "none",
         f"levels cleaned ({net.config.ec_kind}, policy {net.config.ec})"),
        ("gates", rep["gates"], f"gates computed, and {rep['carries']} carries"),
        ("widest layer", max(net.widths), "neurons"),
        ("naive widest", widest_level, "one neuron per gate: the widest level"),
        ("pairs readable", math.comb(max(lv.widths[:-1]), 2),
         "ANDs of any two wires of the widest level read, from the same pair neurons"),
        ("parameters", rep["parameters"], "weights and biases, factored"),
        ("σ design", fmt(net.config.sigma),
         f"read-off error each gate layer is sized for (target {net.config.target:g})"),
        ("outputs wrong", fmt(rep["expected_wrong_outputs_per_row"]),
         "per row, were every output as noisy as the worst wire (a bound)"),
    ]


def cmd_compile(args, spec) -> int:
    net = compile_source(spec, args.circuit, **overrides(args))
    for w in warnings(net):
        print(w.render(), file=sys.stderr)
    save(net, args.output, force=args.force, layout=args.layout)
    rec = record(net, args)
    if args.json:
        sys.stdout.write(json.dumps(rec, indent=2) + "\n")
        return EXIT_OK
    print(f"compiled feature circuit `{net.levels.circuit}` of {args.file} into {args.output}")
    print(f"source hash: {spec.source_hash[:12]}")
    print()
    print_tables([table("network", ("figure", "value", "meaning"), _figures(net, rec["report"]), right=("value",)),
                  table("per layer (predicted)", STAGE_HEADER, _stage_rows(net),
                        right=STAGE_HEADER[2:5] + STAGE_HEADER[6:])])
    print("\nmeasure it with `circuitc verify`")
    return EXIT_OK


def cmd_budget(args, spec) -> int:
    net = compile_source(spec, args.circuit, **overrides(args))
    rec = record(net, args)
    if args.json:
        sys.stdout.write(json.dumps({"file": args.file, **rec["report"]}, indent=2) + "\n")
        return EXIT_OK
    figures, rows = _figures(net, rec["report"]), _stage_rows(net)
    if args.markdown:
        out = [f"## Budget of feature circuit `{net.levels.circuit}` ({args.file})", "",
               "| figure | value | meaning |", "|---|---|---|"]
        out += [f"| {a} | {v} | {m} |" for a, v, m in figures] + ["", "| " + " | ".join(STAGE_HEADER) + " |",
                                                                    "|" + "---|" * len(STAGE_HEADER)]
        out += ["| " + " | ".join(r) + " |" for r in rows]
        sys.stdout.write("\n".join(out) + "\n")
        return EXIT_OK
    print(f"budget of feature circuit `{net.levels.circuit}` of {args.file}")
    print()
    print_tables([table("figures", ("figure", "value", "meaning"), figures, right=("value",)),
                  table("per layer (predicted)", STAGE_HEADER, rows, right=STAGE_HEADER[2:5] + STAGE_HEADER[6:])])
    for w in warnings(net):
        print(w.render(), file=sys.stderr)
    return EXIT_OK


VERIFY_HEADER = ("layer", "kind", "level", "gate accuracy", "on accuracy", "rows right",
                 "rms touched (predicted σ)", "rms untouched", "most on (model)")


def cmd_verify(args, net: FeatureNetwork, mode: str) -> int:
    result = verify_features(net, samples=args.samples, batch=args.batch, seed=args.seed, mode=mode)
    acc = result["bit_accuracy"]
    passed = acc >= args.min_accuracy
    rec = {"artifact": args.artifact, "kind": "features", "circuit": net.levels.circuit,
           "source_hash": net.source_hash, "seed": args.seed, "min_accuracy": args.min_accuracy,
           "passed": passed, **result}
    if args.json:
        sys.stdout.write(json.dumps(rec, indent=2) + "\n")
    else:
        checked = (f"all {plural(result['samples'], 'row')} (every set of at most {net.s} features)"
                   if mode == "exhaustive" else plural(result["samples"], "sample"))
        print(f"verified {args.artifact} (feature circuit `{net.levels.circuit}`, m = {net.m}, s = {net.s}), "
              f"{mode} mode, on {checked}, seed {args.seed}")
        print()
        rows = [(str(l["stage"]), l["kind"], str(l["level"]), accuracy(l["gate_accuracy"]),
                 accuracy(l["on_accuracy"]) or "-", accuracy(l["rows_right"]),
                 f"{fmt(l['rms_touched']) or '-'} ({fmt(l['predicted_sigma'])})", fmt(l["rms_untouched"]) or "-",
                 f"{l['most_on']} ({l['on_count_model']})") for l in result["layers"]]
        print_tables([table("accuracy", ("figure", "value"),
                            [("bit accuracy", accuracy(acc)), ("row accuracy", accuracy(result["row_accuracy"]))],
                            right=("value",)),
                      table("per layer, measured against the exact wire values of its level", VERIFY_HEADER,
                            rows, right=VERIFY_HEADER[3:]),
                      table("least accurate outputs", ("output", "accuracy"),
                            [(b, accuracy(a)) for b, a in result["worst_outputs"]], right=("accuracy",))])
        print()
        print(f"ok: bit accuracy {accuracy(acc)} >= {args.min_accuracy}" if passed else
              f"FAILED: bit accuracy {accuracy(acc)} < {args.min_accuracy}")
    if args.plot is not None:
        # after the report, so that a failed write loses no result (network_cmds._check_plot ran before)
        title = (f"feature circuit `{net.levels.circuit}`: m = {net.m}, s = {net.s}, {mode} mode, "
                 f"{plural(result['samples'], 'row')}, bit accuracy {accuracy(acc)}")
        write_atomic(args.plot, feature_figure(rec, title), force=args.force)
        if not args.json:
            print(f"plot: accuracy and read-off error per layer written to {args.plot}")
    if not passed:
        print(f"circuitc: verify: bit accuracy {accuracy(acc)} is below --min-accuracy {args.min_accuracy}",
              file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK
