"""U-AND capacity: the smallest width whose pairwise-AND read-offs all stay within eps.

For each m (features) at sparsity s, it compares three widths with the naive layer of one neuron
per pair, C(m, 2):
- the measured width: the smallest d whose worst read-off error over --rows sampled inputs stays
  within --eps. Every pair holding an on-feature is read exactly on every input; pairs with none
  on are read on a seeded sample (`uand.pair_errors`);
- the width predicted by the binomial/Chernoff model of `circuitc/uand_theory.py`;
- math.md's scaling law s²·ln(m)/ε² (constant 1).

The search starts at the prediction and steps by a factor of 2^(1/4) down while the width still
passes, or up until it does. Each probe uses the wiring probability the model finds best at that
width. With --superposed, the features arrive in superposition in d0 = d dimensions (math.md
§2.3). The script prints one JSON object; the fitted exponent is the slope of log(width) against
log(m).

    python benchmarks/uand_capacity.py                         # m = 256, 1024 (tens of minutes)
    python benchmarks/uand_capacity.py --m 256 1024 4096 --superposed
    python benchmarks/uand_capacity.py --quick                 # small m, few rows: seconds
"""

from __future__ import annotations

import argparse
import json
import math
import time

import numpy as np

from circuitc.active_sets import exactly_active
from circuitc.features.uand import build_uand, pair_errors
from circuitc.features.uand_theory import best_p, uand_width

STEP = 2 ** 0.25


def probe(m: int, s: int, d: int, eps: float, rows: int, superposed: bool, seed: int) -> dict:
    p = best_p(m, s, d, eps, rows, superposed=superposed)
    layer = build_uand(m, d, p, seed=seed, d0=d if superposed else None)
    active = exactly_active(m, s, rows, np.random.default_rng(seed + 1))
    start = time.perf_counter()
    errors = pair_errors(layer, active, seed=seed + 2)
    return {"d": d, "p": p, **errors, "passed": errors["worst"] <= eps,
            "seconds": round(time.perf_counter() - start, 2)}


def smallest_width(m: int, s: int, eps: float, rows: int, superposed: bool, seed: int) -> dict:
    predicted = uand_width(m, s, eps, rows, superposed=superposed)
    d = predicted.d
    probes = [probe(m, s, d, eps, rows, superposed, seed)]
    direction = -1 if probes[-1]["passed"] else 1
    while True:
        d = max(1, int(round(d * STEP ** direction)))
        probes.append(probe(m, s, d, eps, rows, superposed, seed))
        if probes[-1]["passed"] != (direction < 0) or d == 1:
            break
    passing = [pr["d"] for pr in probes if pr["passed"]]
    return {"m": m, "s": s, "eps": eps, "rows": rows, "superposed": superposed,
            "measured_d": min(passing) if passing else None, "predicted": predicted.as_dict(),
            "naive_d": math.comb(m, 2), "probes": probes}


def exponent(ms, ds) -> float | None:
    pts = [(math.log(m), math.log(d)) for m, d in zip(ms, ds) if d]
    if len(pts) < 2:
        return None
    x, y = np.array(pts).T
    return float(np.polyfit(x, y, 1)[0])


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--m", type=int, nargs="+", default=[256, 1024])
    ap.add_argument("--s", type=int, default=3)
    ap.add_argument("--eps", type=float, default=0.25)
    ap.add_argument("--rows", type=int, default=10_000)
    ap.add_argument("--superposed", action="store_true", help="inputs in superposition, d0 = d")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true", help="m = 32, 64 on 1000 rows")
    args = ap.parse_args(argv)
    if args.quick:
        args.m, args.rows = [32, 64], 1000
    results = [smallest_width(m, args.s, args.eps, args.rows, args.superposed, args.seed) for m in args.m]
    print(json.dumps({"results": results,
                      "exponent_measured": exponent(args.m, [r["measured_d"] for r in results]),
                      "exponent_predicted": exponent(args.m, [r["predicted"]["d"] for r in results])}, indent=1))


if __name__ == "__main__":
    main()
