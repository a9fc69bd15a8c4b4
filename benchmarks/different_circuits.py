"""Different boolean circuits in one network: T seeded random circuits, no two alike, compiled
with the lookup construction (docs/frontier.md, "Different boolean circuits") and verified on
random and adversarial promise-keeping rows. Prints JSON, one record per point.

    python benchmarks/different_circuits.py > out.json                 # the grid of docs/frontier.md
    python benchmarks/different_circuits.py --T 1000 --depth 4 --z 2   # one point

Each record: the code (S, λ, q via the capacity), the lowered width d and positions n, the
number of distinct functions among the T circuits (random circuits sometimes compute the same
function; each is still its own circuit), compression T·d_naive/D, bit accuracy on both passes,
the budget's verdict, and the seconds spent building, compiling and verifying.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from frontier import random_circuit  # noqa: E402

from circuitc.instances import compile_network  # noqa: E402
from circuitc.instances.verify import verify  # noqa: E402
from circuitc.interpret import BoolTables  # noqa: E402
from circuitc.spec import InstanceGroup, Network, Spec  # noqa: E402


def point(T: int, depth: int, z: int, D: int, random_rows: int, adversarial_rows: int, seed: int) -> dict:
    t0 = time.perf_counter()
    circuits = tuple(random_circuit(f"r{depth}_{i}", depth=depth, seed=seed * 1_000_003 + i) for i in range(T))
    net = Network("different", tuple(InstanceGroup(c.name, 1) for c in circuits), z=z, D=D, seed=seed,
                  construction="lookup")
    spec = Spec(circuits=circuits, networks=(net,))
    t1 = time.perf_counter()
    comp = compile_network(spec)
    t2 = time.perf_counter()
    rand = verify(comp, samples=random_rows, mode="random", seed=seed, layer_errors=False)
    adv = verify(comp, samples=adversarial_rows, mode="adversarial", seed=seed, layer_errors=False)
    t3 = time.perf_counter()
    tables = BoolTables(circuits).tables
    distinct = len(np.unique(tables.reshape(T, -1), axis=0))
    rep = comp.report()
    return {
        "T": T, "depth": depth, "z": z, "D": D, "seed": seed,
        "distinct_functions": int(distinct),
        "S": comp.config.S, "degree": comp.allocation.lam, "capacity": comp.allocation.capacity,
        "d": comp.network.d, "n": comp.network.n, "L": comp.network.L,
        "compression": rep["compression"],
        "verdict": comp.budget.verdict, "guaranteed": comp.guarantee.exact,
        "random_rows": random_rows, "random_bit_accuracy": rand["bit_accuracy"],
        "adversarial_rows": adversarial_rows, "adversarial_bit_accuracy": adv["bit_accuracy"],
        "clean_positions_adversarial": adv["routing"]["clean_positions"], "c0": adv["routing"]["c0"],
        "seconds": {"build": round(t1 - t0, 2), "compile": round(t2 - t1, 2), "verify": round(t3 - t2, 2)},
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--T", type=int, nargs="+", default=[10_000, 32_768], help="different circuits per point")
    ap.add_argument("--depth", type=int, nargs="+", default=[4, 8])
    ap.add_argument("--z", type=int, nargs="+", default=[2, 3])
    ap.add_argument("--D", type=int, default=4096)
    ap.add_argument("--random-rows", type=int, default=10_000)
    ap.add_argument("--adversarial-rows", type=int, default=2048)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    for T in args.T:
        for depth in args.depth:
            for z in args.z:
                rec = point(T, depth, z, args.D, args.random_rows, args.adversarial_rows, args.seed)
                print(json.dumps(rec), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
