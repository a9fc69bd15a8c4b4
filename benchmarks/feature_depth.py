"""Accuracy per depth of a deep feature circuit, with and without error-correction layers.

Compiles one circuit over a feature set (default: examples/deep_features.circ, eight levels of
256 gates over 256 features, three on) under named variants of `FeatureConfig`, verifies each on
random and adversarial promise-keeping rows, and prints one JSON object: per variant its layers,
neurons, parameters, times, the output accuracy, and per gate level the gate accuracy, the on
accuracy (wires that are 1) and the fraction of rows with every wire of the level right.

    python benchmarks/feature_depth.py                          # every variant, 10^4 rows: minutes
    python benchmarks/feature_depth.py --variants none auto --plot docs/features-depth.png
    python benchmarks/feature_depth.py --quick                  # 500 rows, target 1e-3: seconds
    python benchmarks/feature_depth.py --from-json docs/data/feature-depth.json --plot docs/features-depth.png \
        --plot-variants auto none every:2 every:4 subsets       # redraw the docs figure
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# name → FeatureConfig overrides: the default design, its ablations, and the other policies
VARIANTS = {
    "auto": {},                                            # the default: step layers where needed
    "none": {"ec": "none"},
    "every:2": {"ec": "every:2"},
    "every:4": {"ec": "every:4"},
    "subsets": {"ec": "every:1", "ec_kind": "subsets"},    # math.md §2.4's reconstruction
    "mean read-off": {"readoff": "mean", "calibrate": False},
    "uncalibrated": {"calibrate": False},
    "p=0.08": {"p": 0.08},
    "p=0.4": {"p": 0.4},
}


def run_variant(spec, name: str, overrides: dict, samples: int, target: float | None) -> dict:
    from circuitc.features.network import compile_source
    from circuitc.features.verify import verify_features

    cfg = dict(overrides)
    if target is not None:
        cfg["target"] = target
    t0 = time.perf_counter()
    net = compile_source(spec, **cfg)
    t1 = time.perf_counter()
    out = {"variant": name, "config": cfg, "layers": net.L, "corrections": net.corrections,
           "widest": max(net.widths), "neurons": sum(net.widths), "parameters": net.report()["parameters"],
           "compile_s": round(t1 - t0, 2)}
    for mode in ("random", "adversarial"):
        t = time.perf_counter()
        r = verify_features(net, samples=samples, mode=mode)
        out[mode] = {
            "bit_accuracy": r["bit_accuracy"], "row_accuracy": r["row_accuracy"],
            "verify_s": round(time.perf_counter() - t, 2),
            "levels": [{"level": l["level"], "gate_accuracy": l["gate_accuracy"], "on_accuracy": l["on_accuracy"],
                        "rows_right": l["rows_right"], "rms_touched": l["rms_touched"],
                        "predicted_sigma": l["predicted_sigma"], "most_on": l["most_on"]}
                       for l in r["layers"] if l["kind"] == "gate"],
        }
    return out


def plot(result: dict, path: str, only: list[str] | None = None) -> None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(12, 4.2), dpi=110, layout="constrained")
    axes = fig.subplots(1, 3)
    keys = (("gate_accuracy", "gate accuracy (all wires)"), ("on_accuracy", "on accuracy (wires that are 1)"),
            ("rows_right", "rows with every wire of the level right"))
    for ax, (key, title) in zip(axes, keys):
        for v in result["variants"]:
            if only and v["variant"] not in only:
                continue
            levels = v["random"]["levels"]
            ax.plot([l["level"] for l in levels], [l[key] for l in levels], marker="o", ms=3,
                    label=f"{v['variant']} ({v['layers']} layers)")
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("gate level (depth)")
        ax.grid(alpha=0.3)
    axes[0].axhline(0.999, color="k", lw=0.8, ls="--")
    axes[0].set_ylim(max(0.97, axes[0].get_ylim()[0]), 1.0005)
    axes[0].legend(fontsize=7)
    fig.suptitle(f"`{result['circuit']}`: m = {result['m']}, s = {result['s']}, {result['samples']} random rows "
                 f"per variant (benchmarks/feature_depth.py)", fontsize=10)
    fig.savefig(path)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--source", default=str(ROOT / "examples" / "deep_features.circ"))
    ap.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    ap.add_argument("--samples", type=int, default=10_000)
    ap.add_argument("--target", type=float, default=None, help="override every variant's target error rate")
    ap.add_argument("--quick", action="store_true", help="500 rows, target 1e-3, variants none and auto")
    ap.add_argument("--plot", metavar="FILE.png")
    ap.add_argument("--plot-variants", nargs="+", metavar="NAME", help="draw only these variants")
    ap.add_argument("--from-json", metavar="FILE", help="plot a result this script printed earlier; run nothing")
    args = ap.parse_args(argv)
    if args.from_json:
        result = json.loads(Path(args.from_json).read_text())
        plot(result, args.plot, args.plot_variants)
        return 0
    if args.quick:
        args.samples, args.target = 500, 1e-3
        args.variants = [v for v in args.variants if v in ("none", "auto")] or ["none", "auto"]
    from circuitc.features.network import feature_circuit
    from circuitc.frontend.load import load_spec

    spec = load_spec(args.source)
    circuit, fs = feature_circuit(spec)
    result = {"source": Path(args.source).name, "circuit": circuit.name, "m": fs.m, "s": fs.s,
              "samples": args.samples, "variants": []}
    for name in args.variants:
        result["variants"].append(run_variant(spec, name, VARIANTS[name], args.samples, args.target))
        print(f"{name}: done", file=sys.stderr)
    if args.plot:
        plot(result, args.plot, args.plot_variants)
        result["plot"] = args.plot
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
