"""Capacity, balance and build time of the allocation strategies over a grid of (n, S).

n is the number of neurons per block (n = D/d). Prints one JSON object with a row per (n, S):
prime-step and affine capacities, the pair-packing bound, each strategy's load spread when
filled to capacity, and the time to build the supports.

    python benchmarks/allocation.py
    python benchmarks/allocation.py --n 250 500 1000 --S 4 5 6 8
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from circuitc.instances.embed.allocate import (
    affine_capacity,
    affine_prime,
    affine_supports,
    packing_bound,
    prime_step_capacity,
    prime_step_supports,
)


def spread(supports: np.ndarray, n: int) -> list[int]:
    load = np.bincount(supports.ravel(), minlength=n)
    used = load[load > 0]
    return [int(used.min()), int(used.max())] if len(used) else [0, 0]


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, nargs="+", default=[128, 250, 256, 512, 1000, 1024, 2048])
    ap.add_argument("--S", type=int, nargs="+", default=[3, 4, 5, 6, 8])
    args = ap.parse_args(argv)
    rows = []
    for n in args.n:
        for S in args.S:
            t0 = time.perf_counter()
            ps = prime_step_supports(n, S)
            t1 = time.perf_counter()
            af = affine_supports(n, S)
            t2 = time.perf_counter()
            rows.append({"n": n, "S": S, "packing_bound": packing_bound(n, S),
                         "prime_step": prime_step_capacity(n, S), "affine": affine_capacity(n, S),
                         "affine_q": affine_prime(n, S),
                         "prime_step_load": spread(ps, n), "affine_load_on_grid": spread(af, n),
                         "prime_step_build_s": round(t1 - t0, 4), "affine_build_s": round(t2 - t1, 4)})
    print(json.dumps({"rows": rows}, indent=1))


if __name__ == "__main__":
    main()
