"""The two ways a routed layer applies a type's d × d block to its positions, side by side, as JSON.

`PositionLocal` (circuitc/instances/assemble.py) runs each type's block over that type's
positions. With many positions per row (random circuits: d = 8 to 19, hundreds of positions) a
batched product, one small product per row with the block broadcast, is fastest; with a few wide
positions (netlist types of d ~ 100 in a handful of positions) one product over every row's
positions at once is. The layer picks the second for a type in at most FEW_POSITIONS positions.
This measures both on a grid of widths and position counts, best of --repeat rounds taken in
turn, and checks that they agree.

    python benchmarks/position_blocks.py
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import torch

from circuitc.instances.assemble import FEW_POSITIONS

ROWS = 2048
WIDTHS = [8, 32, 106, 200]
POSITIONS = [2, 4, 8, 16, 32, 64, 512]


def batched(w, b, x):
    batch, d, _ = x.shape
    return torch.baddbmm(b[None, :, None], w.expand(batch, d, d), x)


def one_product(w, b, x):
    batch, d, p = x.shape
    return torch.addmm(b[:, None], w, x.permute(1, 0, 2).reshape(d, batch * p)).reshape(d, batch, p).permute(1, 0, 2)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args(argv)
    gen = torch.Generator().manual_seed(0)
    out = {"threads": torch.get_num_threads(), "load_average": round(os.getloadavg()[0], 2), "shapes": []}
    for batch, d, positions in ((ROWS, d, p) for d in WIDTHS for p in POSITIONS):
        w, b = torch.randn(d, d, generator=gen), torch.randn(d, generator=gen)
        # A slice of a wider block array, as the layer hands each type its range.
        x = torch.randn(batch, d, 2 * positions, generator=gen)[:, :, :positions]
        best = {"batched": float("inf"), "one_product": float("inf")}
        for _ in range(args.repeat):
            for name, f in (("batched", batched), ("one_product", one_product)):
                t0 = time.perf_counter()
                f(w, b, x)
                best[name] = min(best[name], time.perf_counter() - t0)
        diff = float((batched(w, b, x) - one_product(w, b, x)).abs().max())
        out["shapes"].append({"rows": batch, "d": d, "positions": positions,
                              "batched_ms": round(best["batched"] * 1e3, 2),
                              "one_product_ms": round(best["one_product"] * 1e3, 2),
                              "batched_over_one_product": round(best["batched"] / best["one_product"], 2),
                              "layer_uses": "one_product" if positions <= FEW_POSITIONS else "batched",
                              "max_difference": diff})
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
