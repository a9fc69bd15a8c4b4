"""A sweep on one worker against the same sweep on two local worker processes, side by side.

Runs benchmarks/grids/sweep_bench.toml (24 compile+verify points of the adder network, 0.6 to 15
seconds each on one thread) twice into fresh directories: with `--workers 1` (in this process)
and with `--workers N` (default 2: a pool of spawned worker processes), asserts that both wrote
the same records (everything but the timings), and prints one JSON object: the wall times, their
ratio, the sum of the points' own times and what the pool spent beyond its share of them.

    python benchmarks/sweep_bench.py                   # about 3 minutes on 2 cores
    python benchmarks/sweep_bench.py --grid benchmarks/grids/adders_capacity.toml --workers 2

Every point runs torch on one thread in both runs (the records are then identical bit for bit),
so the ratio measures the executor: N points at once against one at a time. On N cores the ideal
is 1/N; what keeps it above that is starting the workers (a fresh interpreter importing torch in
each) and the last points, which run with fewer than N busy. Other work on the machine counts too:
run it on an idle one.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

from circuitc.sweep import Sweep, figures_equal
from circuitc.sweep.executors import default_workers

GRID = Path(__file__).resolve().parent / "grids" / "sweep_bench.toml"


def timed(grid: Path, out: Path, workers: int):
    sweep = Sweep(grid, out)
    t0 = time.perf_counter()
    result = sweep.run(workers=workers, progress=False)
    return time.perf_counter() - t0, result


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--grid", type=Path, default=GRID, help="the grid to run (default: grids/sweep_bench.toml)")
    ap.add_argument("--workers", type=int, default=2, help="worker processes of the second run (default 2)")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        one_s, one = timed(args.grid, Path(tmp) / "one", 1)
        many_s, many = timed(args.grid, Path(tmp) / "many", args.workers)
    assert not one.failed and not many.failed, "a point failed"
    assert len(one.records) == len(many.records) and all(figures_equal(a, b) for a, b in zip(one.records, many.records))
    point_s = sum(r["timing"]["seconds"] for r in one.records)
    pooled_point_s = sum(r["timing"]["seconds"] for r in many.records)
    result = {
        "grid": os.path.relpath(args.grid), "points": len(one.records), "identical_records": True,
        "cores": default_workers(), "machine": platform.machine(), "python": platform.python_version(),
        "wall_seconds_1_worker": round(one_s, 2),
        f"wall_seconds_{args.workers}_workers": round(many_s, 2),
        "ratio": round(many_s / one_s, 3),
        "ideal_ratio": round(1 / args.workers, 3),
        "sum_of_point_seconds_1_worker": round(point_s, 2),
        f"sum_of_point_seconds_{args.workers}_workers": round(pooled_point_s, 2),
        # wall time of the pool beyond a perfect split of its points' own time: start-up, the tail
        # with idle workers, and the driver's overhead
        "pool_overhead_seconds": round(many_s - pooled_point_s / args.workers, 2),
    }
    print(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
