"""Time of `circuitc budget` (no weights: the plan, the graph figures, the per-layer field model and,
below `expected`, the search for the instance count that reaches it) against T; the aim is under
1 s at T = 10^4. Prints one JSON object with a row per (circuit, D, T, z).

    python benchmarks/budget_bench.py
    python benchmarks/budget_bench.py --T 1000 10000 40000 --z 1 2 3
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from frontier import SOURCE, load_circuit, network_of  # noqa: E402
from timing import best_of  # noqa: E402

from circuitc.errors import CircuitError  # noqa: E402
from circuitc.instances import plan_network  # noqa: E402
from circuitc.instances.budget import budget_of_plan  # noqa: E402


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--circuits", nargs="+", default=["random4", "full_adder"])
    ap.add_argument("--D", type=int, default=4096)
    ap.add_argument("--T", type=int, nargs="+", default=[1000, 10_000, 40_000])
    ap.add_argument("--z", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    rows = []
    for name in args.circuits:
        circuit = load_circuit(name, SOURCE)
        for T in args.T:
            for z in args.z:
                spec = network_of(circuit, T, args.D, z, 0)
                try:
                    # the coherent construction: a routed plan has no error model to time
                    plan_s, plan = best_of(args.repeat, lambda: plan_network(spec, construction="coherent"))
                except CircuitError as e:                     # more instances than the width holds
                    rows.append({"circuit": name, "D": args.D, "T": T, "z": z, "refused": e.diagnostics[0].message})
                    continue
                graph_s, b = best_of(args.repeat, lambda: budget_of_plan(plan))
                rows.append({"circuit": name, "D": args.D, "T": T, "z": z, "L": plan.L, "d": plan.d,
                             "verdict": b.verdict, "plan_s": round(plan_s, 3), "budget_s": round(graph_s, 3),
                             "total_s": round(plan_s + graph_s, 3), "graph_exact": b.risk["exact"]})
    print(json.dumps({"rows": rows}, indent=1))


if __name__ == "__main__":
    main()
