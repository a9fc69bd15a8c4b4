"""The capacity frontier: the most instances a width holds at >= 99.9 % accuracy.

For every (circuit, D, z, strategy) this finds the largest T whose compiled network keeps
bit accuracy >= --target on --samples random promise-keeping rows *and* on --adversarial rows
(each a target instance with the z − 1 instances that share the most neurons with it), and reports
the compression T·d/D (d: the circuit's widest level with one neuron per gate, so padding and helper
neurons never inflate it) beside the lowered width, S, the allocation and its fill, and the
per-layer read-off errors at the frontier. Prints one JSON object; `--plot FILE.png` draws it.

Strategies: "routed" is the routed construction (the compiler's default; docs/lowering.md), which
is exact by construction wherever its code holds the instances, so its search starts at its largest
T, the smaller of the code's capacity and --T-cap (row `limited_by`: "code" or "cap"; any failure
would bisect down as below). "prime-step" and "affine" are the coherent construction with that
allocation.

The search. Accuracy is not monotonic in T (the allocation's structure, not only its fill, decides
who neighbours whom; docs/lowering.md), so the search is stated precisely: T doubles from --T0
until the first failure (or the allocation's largest T at any S, which ends the search as
"limited by the allocation"), then bisects between the last pass and the first failure to a
relative precision of --precision. Every probed point is kept in the output, so a non-monotonic
frontier shows. A probe first screens 1024 rows and stops there when accuracy is clearly below the
target (< --screen); only candidates get the full random and adversarial passes. The search itself
is `circuitc.sweep.search.largest_passing`, which `circuitc sweep` frontier jobs run too (cached,
resumable, on any executor; docs/sweeps.md). This harness keeps its own driver because its random4
circuit is generated here rather than read from a source file, and its screening pass, fill ladder
and random-only frontier are what docs/frontier.md's stored tables were measured with.

    python benchmarks/frontier.py                          # the default grid: routed (minutes)
    python benchmarks/frontier.py --strategies prime-step affine   # the coherent construction (an hour)
    python benchmarks/frontier.py --quick                  # a small grid (routed and prime-step), a minute
    python benchmarks/frontier.py --circuits c17 --D 4096 --z 2 --strategies affine
    python benchmarks/frontier.py --from-json out.json --plot docs/frontier.png --markdown
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

import circuitc
from circuitc.instances import Config, compile_network
from circuitc.instances.constructions.coherent_plan import lower
from circuitc.instances.constructions.routed import routed_capacity, routed_lowering
from circuitc.instances.embed.allocate import capacities
from circuitc.instances.plan import one_neuron_per_gate_width
from circuitc.instances.verify import verify
from circuitc.spec import BoolCircuit, Gate, InstanceGroup, Network, Op, Port, Spec
from circuitc.sweep.search import largest_passing

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "benchmarks" / "frontier_circuits.circ"
STRATEGIES = ("routed", "prime-step", "affine")     # routed: the routed construction; the rest coherent
T_CAP = 32_768
DEFAULT_CIRCUITS = ("random4", "ripple_adder<N=4>", "comparator<N=4>")
SCREEN_ROWS = 1024


def random_circuit(name: str = "random4", depth: int = 4, width: int = 3, n_inputs: int = 4,
                   seed: int = 0) -> BoolCircuit:
    """A random boolean circuit of exactly `depth` levels of `width` two-input gates.

    Gates are AND, OR or XOR, each input negated with probability 1/4; every gate reads the level
    below it (level 1 reads the inputs), and each gate of a level is read by some gate of the next
    one, so no wire is dead and none skips a level. The outputs are the last level's gates.
    """
    rng = np.random.default_rng(seed)
    below = [f"x[{i}]" for i in range(n_inputs)]
    gates: list[Gate] = []
    ops = (Op.AND, Op.OR, Op.XOR)
    for level in range(1, depth + 1):
        # 2·width input slots; a random len(below) of them read every wire below once (so none is
        # dead), the rest read random wires, never the same wire twice in one gate.
        while True:
            reads = rng.integers(0, len(below), size=(width, 2))
            reads.ravel()[rng.permutation(2 * width)[:len(below)]] = rng.permutation(len(below))
            if (reads[:, 0] != reads[:, 1]).all():
                break
        level_wires = []
        for j in range(width):
            a, b = (int(v) for v in reads[j])
            args = []
            for k in (a, b):
                wire = below[k]
                if rng.random() < 0.25:
                    neg = f"n{level}_{j}_{k}"
                    gates.append(Gate(neg, Op.NOT, (wire,)))
                    wire = neg
                args.append(wire)
            out = f"g{level}_{j}"
            gates.append(Gate(out, ops[int(rng.integers(len(ops)))], tuple(args)))
            level_wires.append(out)
        below = level_wires
    gates += [Gate(f"y[{j}]", Op.BUF, (w,)) for j, w in enumerate(below)]
    return BoolCircuit(name, (Port("x", n_inputs),), (Port("y", width),), tuple(gates))


def load_circuit(name: str, source: Path):
    if name.startswith("random"):
        return random_circuit(name)
    return circuitc.load_spec(source).circuit(name)


def network_of(circuit, T: int, D: int, z: int, seed: int) -> Spec:
    net = Network("frontier", (InstanceGroup(circuit.name, T),), z=z, D=D, seed=seed)
    return Spec(circuits=(circuit,), networks=(net,))


def largest_T(circuit, D: int, z: int, strategy: str, overrides: dict, cap: int) -> tuple[int, int, int]:
    """(T_max, d, n): the most instances the strategy's allocation holds in blocks of D // d (at the
    fixed S of `overrides`, or at any S); routed: the largest code's, at most `cap`."""
    if strategy == "routed":
        T, S, lam = routed_capacity(circuit, D, z, overrides.get("S"), overrides.get("input_bound"))
        d = routed_d(circuit, z, S, lam, overrides.get("input_bound"))
        return min(T, cap), d, D // d
    small = lower(circuit, Config(D=D, z=1, **overrides))
    n = D // small.d
    if n < 2:
        return 0, small.d, n
    fixed = overrides.get("S")
    if fixed is not None:
        return (capacities(n, fixed)[strategy] if fixed <= n else 0), small.d, n
    return max(capacities(n, S)[strategy] for S in range(2, n + 1)), small.d, n


def routed_d(circuit, z: int, S: int, lam: int, input_bound: float | None = None) -> int:
    return routed_lowering(circuit, z, S, lam, input_bound).d


def _compile(circuit, T: int, D: int, z: int, strategy: str, seed: int, overrides: dict):
    spec = network_of(circuit, T, D, z, seed)
    if strategy == "routed":
        return compile_network(spec, construction="routed", **overrides)
    return compile_network(spec, allocation=strategy, construction="coherent", **overrides)


def _score(result: dict, args) -> float:
    """Bit accuracy; for an MLP circuit (real outputs) 1 when every output is within
    --real-tolerance of the reference, else 0."""
    if result["bit_accuracy"] is not None:
        return result["bit_accuracy"]
    return float(result["real_max_error"] <= args.real_tolerance)


def probe(circuit, T: int, D: int, z: int, strategy: str, args, overrides: dict) -> dict:
    """Compile T instances and verify them: `random_ok` and `adversarial_ok` say whether each pass
    reached the target (both False when the screen already fails)."""
    t0 = time.perf_counter()
    comp = _compile(circuit, T, D, z, strategy, args.seed, overrides)
    rep = comp.report()
    point = {"T": T, "S": rep["S"], "d": rep["d"], "fill": rep["allocation"]["fill"],
             "compression": round(rep["compression"], 4)}
    screen = verify(comp, samples=min(SCREEN_ROWS, args.samples), seed=args.seed, layer_errors=False)
    point["screen_accuracy"] = round(_score(screen, args), 5)
    point["random_ok"] = point["adversarial_ok"] = False
    if _score(screen, args) >= args.screen:
        full = verify(comp, samples=args.samples, seed=args.seed + 1)
        adv = verify(comp, samples=args.adversarial, seed=args.seed + 2, mode="adversarial", layer_errors=False)
        point["accuracy"] = round(_score(full, args), 5)
        point["adversarial_accuracy"] = round(_score(adv, args), 5)
        if full["real_max_error"] is not None:
            point["real_max_error"] = max(full["real_max_error"], adv["real_max_error"])
        point["random_ok"] = _score(full, args) >= args.target
        point["adversarial_ok"] = _score(adv, args) >= args.target
        point["layers"] = [{k: round(v, 4) if isinstance(v, float) else v for k, v in layer.items()}
                           for layer in full["layers"]]
    point["seconds"] = round(time.perf_counter() - t0, 2)
    return point


def search(circuit, D: int, z: int, strategy: str, args, overrides: dict) -> dict:
    """Two frontiers, sharing their probes: `frontier_T` passes the random and the adversarial
    rows, `frontier_T_random` the random rows only."""
    T_max, d, n = largest_T(circuit, D, z, strategy, overrides, args.T_cap)
    d_naive = one_neuron_per_gate_width(circuit)
    row = {"circuit": circuit.name, "D": D, "z": z, "strategy": strategy, "d": d, "d_naive": d_naive,
           "n": n, "T_max": T_max}
    if T_max < z:
        row.update(frontier_T=0, frontier_T_random=0, frontier_compression=0.0, limited_by="width")
        return row
    probes: dict[int, dict] = {}

    def point(T: int) -> dict:
        if T not in probes:
            probes[T] = p = probe(circuit, T, D, z, strategy, args, overrides)
            print(f"  {circuit.name} D={D} z={z} {strategy} T={T}: random {p.get('accuracy', p['screen_accuracy'])}"
                  f" adversarial {p.get('adversarial_accuracy', '-')}", file=sys.stderr, flush=True)
        return probes[T]

    both = lambda T: point(T)["random_ok"] and point(T)["adversarial_ok"]      # noqa: E731
    # routed: exact by construction, so the search starts where it would end if it is
    start = T_max if strategy == "routed" else args.T0
    strict = largest_passing(both, start, T_max, z, args.precision)
    loose = largest_passing(lambda T: point(T)["random_ok"], max(start, strict), T_max, z, args.precision)
    # Accuracy is not monotonic in T: a fuller allocation can be *more* accurate (every neuron
    # then holds the same number of instances). So the fill ladder T_max/8 .. T_max is probed as
    # well, and `frontier_T_best` is the largest T that passed anywhere.
    if args.ladder:
        for T in sorted({max(z, T_max // k) for k in (8, 4, 2, 1)}):
            if T > strict:
                point(T)
    passing = [T for T in probes if both(T)]
    best_T = max(passing, default=0)
    row.update(frontier_T_best=best_T, frontier_compression_best=round(best_T * d_naive / D, 4),
               monotone=best_T == strict)
    for key, T in (("", strict), ("_random", loose)):
        row[f"frontier_T{key}"] = T
        row[f"frontier_compression{key}"] = round(T * d_naive / D, 4)
        limit = "allocation" if strategy != "routed" else "cap" if T_max == args.T_cap else "code"
        row[f"limited_by{key}"] = limit if T == T_max else "accuracy"
    best = probes.get(strict)
    if best:
        row.update(S=best["S"], fill=best["fill"], accuracy=best["accuracy"],
                   adversarial_accuracy=best["adversarial_accuracy"], layers=best["layers"])
    row["probes"] = [{k: v for k, v in probes[T].items() if k != "layers"} for T in sorted(probes)]
    return row


def plot(result: dict, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = result["rows"]
    circuits = list(dict.fromkeys(r["circuit"] for r in rows))
    fig, axes = plt.subplots(1, len(circuits), figsize=(4.2 * len(circuits), 3.9), squeeze=False, sharey=True)
    markers = {"routed": "D", "prime-step": "o", "affine": "s"}
    for ax, name in zip(axes[0], circuits):
        mine = [r for r in rows if r["circuit"] == name]
        for z in sorted({r["z"] for r in mine}):
            for strategy in STRATEGIES:
                sel = sorted((r for r in mine if r["z"] == z and r["strategy"] == strategy), key=lambda r: r["D"])
                for key, style in (("frontier_compression", dict(ls="-")),
                                   ("frontier_compression_random", dict(ls=":", alpha=0.45, mfc="none"))):
                    pts = [(r["D"], r[key]) for r in sel if r[key] > 0]   # log axis: nothing held is left out
                    if pts:
                        ax.plot(*zip(*pts), marker=markers[strategy], color=f"C{z - 1}", **style,
                                label=f"z = {z}, {strategy}" if style["ls"] == "-" else None)
                    capped = [(r["D"], r[key]) for r in sel if r[key] > 0 and r.get("limited_by") == "cap"]
                    if capped and style["ls"] == "-":   # a lower bound: the code holds more than the cap
                        ax.plot(*zip(*capped), ls="none", marker="^", ms=11, mfc="none", color=f"C{z - 1}")
        ax.axhline(1.0, color="grey", lw=0.8, ls="--")
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_title(name)
        ax.set_xlabel("width D")
    axes[0][0].set_ylabel("compression T·d/D")
    axes[0][-1].legend(fontsize=7)
    cap = f"; ▲ around a point: the grid's cap T = {result['T_cap']} (the code holds more)" if "T_cap" in result else ""
    fig.suptitle(f"largest T at ≥ {result['target']:.1%} bit accuracy\n"
                 f"solid: random and adversarial rows; dotted: random rows only{cap}", fontsize=9)
    fig.tight_layout()
    tmp = path.with_name(path.name + ".tmp.png")
    fig.savefig(tmp, dpi=110)
    tmp.replace(path)
    plt.close(fig)


def markdown(result: dict) -> str:
    """The frontier as a markdown table, one row per (circuit, D, z, strategy)."""
    ladder = any("frontier_T_best" in r for r in result["rows"])
    out = ["| circuit | D | z | strategy | S | d / d_naive | T_max | T (random + adversarial) | compression | "
           "T (random only) | compression | limited by |" + (" best T anywhere | compression |" if ladder else ""),
           "|---|---|---|---|---|---|---|---|---|---|---|---|" + ("---|---|" if ladder else "")]
    for r in result["rows"]:
        S = r.get("S_requested") or r.get("S") or "-"       # given, or the compiler's choice at the frontier
        best = (f" {r['frontier_T_best']} | {r['frontier_compression_best']:.3g} |" if "frontier_T_best" in r
                else " - | - |" if ladder else "")
        out.append(f"| {r['circuit']} | {r['D']} | {r['z']} | {r['strategy']} | {S} | {r['d']} / {r['d_naive']} | "
                   f"{r['T_max']} | {r['frontier_T']} | {r['frontier_compression']:.3g} | "
                   f"{r['frontier_T_random']} | {r['frontier_compression_random']:.3g} | {r['limited_by']} |{best}")
    return "\n".join(out) + "\n"


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--circuits", nargs="+", default=list(DEFAULT_CIRCUITS),
                    help="names in --source, or random4 (a seeded random depth-4 circuit)")
    ap.add_argument("--source", type=Path, default=SOURCE)
    ap.add_argument("--D", type=int, nargs="+", default=[1024, 2048, 4096])
    ap.add_argument("--z", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--strategies", nargs="+", choices=STRATEGIES, default=["routed"],
                    help="routed (the default construction) and/or the coherent construction's allocations")
    ap.add_argument("--T-cap", type=int, default=T_CAP,
                    help=f"the largest T a routed search probes (default {T_CAP}; its codes hold far more)")
    ap.add_argument("--samples", type=int, default=10_000, help="random rows per candidate")
    ap.add_argument("--adversarial", type=int, default=2048, help="adversarial rows per candidate")
    ap.add_argument("--target", type=float, default=0.999)
    ap.add_argument("--real-tolerance", type=float, default=1e-3,
                    help="MLP circuits: the largest output error a passing probe may have")
    ap.add_argument("--screen", type=float, default=0.995, help="screening accuracy below which a probe fails early")
    ap.add_argument("--T0", type=int, default=16, help="the first T probed")
    ap.add_argument("--precision", type=float, default=0.1, help="relative width at which bisection stops")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--S", type=int, nargs="+", default=[None],
                    help="redundancy, one search per value (default: the compiler's choice per T)")
    ap.add_argument("--no-ladder", dest="ladder", action="store_false",
                    help="skip the fill ladder T_max/8, /4, /2, 1 probed after the search")
    ap.add_argument("--margin", type=float, default=None, help="margin β (default: the compiler's)")
    ap.add_argument("--schedule", choices=("asap", "alap"), default=None)
    ap.add_argument("--input-bound", type=float, default=None,
                    help="routed: the promised bound on MLP inputs (MLP circuits at z >= 2 then share positions)")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    ap.add_argument("--quick", action="store_true", help="a small grid for a smoke run")
    ap.add_argument("--plot", type=Path, help="draw compression at the frontier per D into this PNG")
    ap.add_argument("--from-json", type=Path, help="use an earlier run's JSON instead of running")
    ap.add_argument("--markdown", action="store_true", help="print a markdown table instead of JSON")
    args = ap.parse_args(argv)
    if args.threads:
        import torch
        torch.set_num_threads(args.threads)
    if args.from_json:
        result = json.loads(args.from_json.read_text())
    else:
        if args.quick:
            args.circuits, args.D, args.z, args.strategies = ["random4"], [512], [1, 2], ["routed", "prime-step"]
            args.samples, args.adversarial, args.precision = 2048, 512, 0.25
            args.T_cap = min(args.T_cap, 4096)
        overrides = {k: v for k, v in (("margin", args.margin), ("schedule", args.schedule),
                                       ("input_bound", args.input_bound)) if v is not None}
        t0 = time.perf_counter()
        rows = [dict(search(load_circuit(name, args.source), D, z, strategy, args,
                            {**overrides, **({"S": S} if S is not None else {})}), S_requested=S)
                for name in args.circuits for D in args.D for z in args.z for strategy in args.strategies
                for S in args.S]
        result = {"target": args.target, "samples": args.samples, "adversarial": args.adversarial,
                  "seed": args.seed, "overrides": overrides, "T_cap": args.T_cap,
                  "seconds": round(time.perf_counter() - t0, 1),
                  "rows": rows}
    if args.markdown:
        print(markdown(result), end="")
    elif not args.from_json:
        print(json.dumps(result, indent=1))
    if args.plot:
        plot(result, args.plot)


if __name__ == "__main__":
    main()
