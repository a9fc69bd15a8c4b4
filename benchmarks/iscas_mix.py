"""Different netlists mixed in one routed network: how many instances of each it holds exactly.

Every given circuit is its own instance type, and all of them go into one network of width D
compiled with the routed construction (docs/lowering.md, "The routed construction"). For each
z this finds the largest count N such that N instances of every type plan at width D (the
library's planner, `plan_network`, decides it without building weights: it refuses with the
numbers when the code's ranges do not fit), compiles that network, and verifies it on random and
adversarial promise-keeping rows. The routed guarantee makes every network that plans exact, so
the search does not go below a network that verifies inexact: it is reported ("exact": false), a
fault to look into. With --proportional it also measures the variant in which each type's count
is proportional to what that type alone holds at width D (`routed_capacity`): N is then the count
of the type that holds the most, and every other type gets max(1, ⌊N·cap_k/cap_max⌋).

    python benchmarks/iscas_mix.py --netlists /tmp/iscas85 > out.jsonl          # D = 4096, z = 2 and 3
    python benchmarks/iscas_mix.py --netlists a.v b.bench c.blif --D 4096 8192 --z 2
    python benchmarks/iscas_mix.py --netlists examples/c17.bench examples/full_adder.circ:full_adder --D 256

--netlists takes files (.bench, .blif, .aag, .aig, .v/.sv through circuitc[verilog], or FILE.circ:NAME
for one circuit of a .circ source) or directories (every netlist in them, ordered by the number in
the name, so c17 comes before c432). Prints one JSON object per (D, z, variant): the types with their
lowered width d, layers L and one-neuron-per-gate width d_naive; the counts and total T; the
compression Σ_k count_k·d_naive_k / D; the code (S, degree, each type's prime q and the positions
its ranges take of the n = D // d that the widest type leaves); what limits N ("positions": the
ranges of N + 1 do not fit; "types": the types do not get one position each; "code"; "cap") with
the planner's own message for N + 1; bit accuracy on --random-rows and --adversarial-rows rows;
the budget's verdict; seconds (loading, the planning search, compiling, verifying); the process's
peak resident memory so far and the load average when the point started.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import resource
import time
from pathlib import Path

from circuitc import load_spec
from circuitc.errors import CircuitError
from circuitc.frontend.formats import NETLIST_SUFFIXES
from circuitc.instances import compile_network, plan_network
from circuitc.instances.constructions.routed import routed_capacity
from circuitc.instances.embed.allocate import routed_ranges
from circuitc.instances.plan import one_neuron_per_gate_width
from circuitc.instances.verify import verify
from circuitc.spec import BoolCircuit, InstanceGroup, Network, Spec
from circuitc.sweep.search import largest_passing

N_CAP = 32_768          # as benchmarks/frontier.py's T cap: a mix of narrow types would hold far more


def _natural(path: Path) -> tuple:
    """c17 < c432 < c1355: numbers in a name compare as numbers."""
    return tuple((0, int(part)) if part.isdigit() else (1, part) for part in re.split(r"(\d+)", path.name))


def netlist_files(items: list[str]) -> list[tuple[Path, str | None]]:
    """(file, circuit name or None) for every item; a directory gives its netlists in natural order."""
    out = []
    for item in items:
        path, _, name = item.partition(":") if item.count(":") == 1 and not Path(item).exists() else (item, "", "")
        path = Path(path)
        if path.is_dir():
            out += [(p, None) for p in sorted(path.iterdir(), key=_natural) if p.suffix.lower() in NETLIST_SUFFIXES]
        else:
            out.append((path, name or None))
    return out


def load_types(items: list[str]) -> list[tuple[BoolCircuit, str]]:
    """(circuit, file) per type. A name seen before gets the file's suffix appended, so that two
    files of one circuit (c17.bench and c17.aag) stay two types."""
    types, seen = [], set()
    for path, name in netlist_files(items):
        spec = load_spec(path)
        if name is None and len(spec.circuits) != 1:
            raise SystemExit(f"{path} holds {len(spec.circuits)} circuits; name one as {path}:NAME")
        circuit = spec.circuit(name) if name else spec.circuits[0]
        if not isinstance(circuit, BoolCircuit):
            raise SystemExit(f"{path}: `{circuit.name}` is not a boolean circuit")
        if circuit.name in seen:
            circuit = dataclasses.replace(circuit, name=f"{circuit.name}_{path.suffix.lstrip('.')}")
        seen.add(circuit.name)
        types.append((circuit, str(path)))
    if not types:
        raise SystemExit("no netlists given")
    return types


def mix_spec(circuits, counts, D: int, z: int, seed: int) -> Spec:
    groups = tuple(InstanceGroup(c.name, int(k)) for c, k in zip(circuits, counts))
    net = Network("iscas_mix", groups, z=z, D=D, seed=seed, construction="routed")
    return Spec(circuits=tuple(circuits), networks=(net,))


def counts_of(N: int, weights: list[int] | None, K: int) -> tuple[int, ...]:
    """N of every type, or (weights: integer capacities) N for the largest and the rest in
    proportion, at least 1 each (the mix keeps every type)."""
    if weights is None:
        return (N,) * K
    top = max(weights)
    return tuple(max(1, N * w // top) for w in weights)


def largest_count(circuits, weights, D: int, z: int, seed: int, N_max: int):
    """(N, plan at N, the planner's refusal of N + 1 (of the least N when none plans) or None,
    probes as [N, planned]): the largest N whose mix plans. Planning is monotone in N (a type's
    range only grows with its count), so doubling and then bisection to the exact N finds it."""
    probes: dict[int, str | None] = {}
    plans = {}

    def plans_at(N: int) -> bool:
        if N not in probes:
            counts = counts_of(N, weights, len(circuits))
            try:
                plans[N] = plan_network(mix_spec(circuits, counts, D, z, seed))
                probes[N] = None
            except CircuitError as refused:
                probes[N] = refused.diagnostics[0].message
        return probes[N] is None

    # Fewer than z instances in all cannot keep the sparsity promise (the planner refuses them), so
    # the search starts at the least N whose counts add up to z.
    N0 = 1
    while sum(counts_of(N0, weights, len(circuits))) < z:
        N0 += 1
    N = largest_passing(plans_at, N0, N_max, N0, 0.0) if N_max >= N0 else 0
    after = N + 1 if N else N0     # the count whose refusal says what limits N
    if after <= N_max:
        plans_at(after)             # already probed unless N_max ended the doubling early
    return N, plans.get(N), probes.get(after), [[k, v is None] for k, v in sorted(probes.items())]


def _limit(message: str | None, N: int, N_max: int, N_cap: int) -> str:
    if message is None:
        return "cap" if N_max == N_cap else "code"
    if "range of at least one position" in message:
        return "types"
    if "own range of positions" in message:
        return "positions"
    return "code" if "largest code" in message else "refused"


def measure(types, D: int, z: int, *, proportional: bool = False, random_rows: int = 10_000,
            adversarial_rows: int = 2048, seed: int = 0, N_cap: int = N_CAP) -> dict:
    """One point: the largest N that plans, compiled and verified. `types`: (circuit, file) pairs."""
    load_avg = os.getloadavg()[0]
    circuits = [c for c, _ in types]
    t0 = time.perf_counter()
    # What each type alone holds at width D: an upper bound on its count in any mix (its range there
    # lies in n = D // d_max <= D // d_k positions of the same code), and the weights of --proportional.
    alone = [routed_capacity(c, D, z)[0] for c in circuits]
    weights = alone if proportional else None
    N_max = min(N_cap, max(alone) if proportional else min(alone))
    N, plan, refusal, probes = largest_count(circuits, weights, D, z, seed, N_max)
    t1 = time.perf_counter()
    rec = {
        "types": [c.name for c in circuits], "files": [f for _, f in types], "D": D, "z": z, "seed": seed,
        "variant": "proportional" if proportional else "equal", "N": N, "N_cap": N_cap,
        "alone_capacity": alone,
    }
    per_type = [{"name": c.name, "inputs": len(c.input_bits), "outputs": len(c.output_bits),
                 "gates": len(c.gates), "d_naive": one_neuron_per_gate_width(c)} for c in circuits]
    if plan is None:
        # Not even one instance of every type fits: the planner's message says why.
        rec.update(per_type=per_type, T=0, compression=0.0, limited_by=_limit(refusal, 0, N_max, N_cap),
                   refusal=refusal, probes=probes,
                   seconds={"plan_search": round(t1 - t0, 2)}, load_average=load_avg,
                   peak_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1))
        return rec
    counts = plan.counts
    S, lam, n = plan.config.S, plan.allocation.lam, plan.n
    qs = routed_ranges(counts, n, S, lam)
    for row, lowered, count, q in zip(per_type, plan.types, counts, qs):
        row.update(d=lowered.d, L=lowered.L, count=count,
                   q=q if S > 1 else None, positions=S * q if S > 1 else count)
    comp = compile_network(mix_spec(circuits, counts, D, z, seed))
    t2 = time.perf_counter()
    rand = verify(comp, samples=random_rows, mode="random", seed=seed, layer_errors=False)
    adv = verify(comp, samples=adversarial_rows, mode="adversarial", seed=seed + 1, layer_errors=False)
    t3 = time.perf_counter()
    naive = sum(k * row["d_naive"] for k, row in zip(counts, per_type))
    rec.update(
        per_type=per_type, counts=list(counts), T=sum(counts),
        compression=naive / D,
        d=comp.network.d, L=comp.network.L, n=n, D_compiled=comp.network.D,
        S=S, degree=lam, positions_used=sum(row["positions"] for row in per_type),
        widest_type=max(per_type, key=lambda r: r["d"])["name"],
        limited_by=_limit(refusal, N, N_max, N_cap), next_refusal=refusal, probes=probes,
        random_rows=rand["samples"], random_bit_accuracy=rand["bit_accuracy"],
        random_instance_accuracy=rand["instance_accuracy"],
        adversarial_rows=adv["samples"], adversarial_bit_accuracy=adv["bit_accuracy"],
        adversarial_instance_accuracy=adv["instance_accuracy"],
        per_type_accuracy={"random": rand["per_circuit"], "adversarial": adv["per_circuit"]},
        c0=adv["routing"]["c0"], clean_positions_adversarial=adv["routing"]["clean_positions"],
        exact=rand["bit_accuracy"] == 1.0 and adv["bit_accuracy"] == 1.0,
        verdict=comp.budget.verdict, guaranteed=comp.guarantee.exact,
        seconds={"plan_search": round(t1 - t0, 2), "compile": round(t2 - t1, 2), "verify": round(t3 - t2, 2)},
        load_average=load_avg,
        peak_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    )
    return rec


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--netlists", nargs="+", required=True,
                    help="netlist files or directories; FILE.circ:NAME for a circuit of a .circ source")
    ap.add_argument("--D", type=int, nargs="+", default=[4096])
    ap.add_argument("--z", type=int, nargs="+", default=[2, 3])
    ap.add_argument("--proportional", action="store_true",
                    help="also measure counts proportional to each type's capacity alone at width D")
    ap.add_argument("--N-cap", type=int, default=N_CAP, help=f"the largest count searched (default {N_CAP})")
    ap.add_argument("--random-rows", type=int, default=10_000)
    ap.add_argument("--adversarial-rows", type=int, default=2048)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    types = load_types(args.netlists)
    load_seconds = round(time.perf_counter() - t0, 2)
    for D in args.D:
        for z in args.z:
            for proportional in (False, True) if args.proportional else (False,):
                rec = measure(types, D, z, proportional=proportional, random_rows=args.random_rows,
                              adversarial_rows=args.adversarial_rows, seed=args.seed, N_cap=args.N_cap)
                rec["seconds"]["load_netlists"] = load_seconds
                print(json.dumps(rec), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
