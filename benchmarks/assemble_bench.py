"""Time and memory of `assemble`, and the forward pass of the compiled network.

T instances of one random (d, L) SmallMLP into width D = d·n with the affine allocation and
per-layer reshuffling. Prints one JSON object with a row per configuration: assembly time, peak
memory above the pre-assembly level (process RSS high-water mark; numpy's share by tracemalloc),
the weights' size, and the forward-pass time (best of `--repeat`) of the compiled model against a
bare `nn.Sequential` of the same shapes on one batch, plus encode and decode times.

When T exceeds the allocation's capacity at (n, S) the supports are reused cyclically (flagged
`"supports_reused": true`): overlaps then exceed one neuron, which changes nothing in the cost of
assembly, but such a network is no valid compilation. By default two configurations run:
T = 20000 at S = 6 (affine capacity 6889 at n = 512, so reused) and T = 20000 at S = 3 (fits).

Each configuration runs in a fresh process so that its RSS high-water mark is its own.

    python benchmarks/assemble_bench.py
    python benchmarks/assemble_bench.py --T 20000 --n 512 --S 6 3 --d 8 --L 4 --batch 1024
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
import tracemalloc

import numpy as np
import torch
from timing import best_of  # benchmarks/timing.py
from torch import nn

from circuitc.instances.assemble import assemble
from circuitc.instances.embed.allocate import affine_capacity, allocate
from circuitc.instances.embed.shuffle import layer_supports
from circuitc.instances.lower.small_mlp import FIRST_FREE, SmallMLP, add_on, on_rows


def random_mlp(rng: np.random.Generator, d: int, L: int, margin: float = 1.0) -> SmallMLP:
    w = rng.normal(0.0, 1.0, size=(L, d, d)) / np.sqrt(d)
    w[:, :FIRST_FREE, :] = on_rows(d)
    w[:, FIRST_FREE:, :FIRST_FREE] = 0.0
    for layer in w:
        add_on(layer, np.arange(FIRST_FREE, d), margin + rng.normal(0.0, 0.3, size=d - FIRST_FREE))
    n_in = (d - FIRST_FREE) // 2
    mlp = SmallMLP("bench", "mlp", w, margin, np.arange(FIRST_FREE, FIRST_FREE + n_in, dtype=np.int64),
                   rng.normal(size=(2, d)))
    mlp.check()
    return mlp


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize()


def one(T: int, n: int, S: int, d: int, L: int, batch: int, z: int, repeat: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    mlp = random_mlp(rng, d, L)
    cap = affine_capacity(n, S)
    alloc = allocate(min(T, cap), n, S, "affine")
    sup, _ = layer_supports(alloc, L + 1, seed)
    reused = T > cap
    if reused:
        sup = sup[:, np.arange(T) % cap]
    type_of = np.zeros(T, dtype=np.int64)

    before = rss_bytes()
    tracemalloc.start()
    t0 = time.perf_counter()
    net = assemble([mlp], type_of, sup, n)
    t_assemble = time.perf_counter() - t0
    _, numpy_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - before   # ru_maxrss is in KiB
    weight_bytes = sum(p.numel() * p.element_size() for p in net.model.parameters())

    D = net.D
    inst = np.stack([rng.choice(T, size=z, replace=False) for _ in range(batch)])
    X = rng.uniform(0.0, 1.0, size=(batch, z, net.n_in_max))
    t_encode = best_of(repeat, lambda: net.encode(inst, X))[0]
    x = net.encode(inst, X)
    bare = nn.Sequential(*[m for _ in range(L) for m in (nn.Linear(D, D), nn.ReLU())])
    with torch.no_grad():
        t_compiled = best_of(repeat, lambda: net.model(x))[0]
        t_bare = best_of(repeat, lambda: bare(x))[0]
        A_L = net.model(x)
    t_decode = best_of(repeat, lambda: net.decode(A_L, inst))[0]

    return {"T": T, "d": d, "L": L, "n": n, "D": D, "S": S, "allocation_capacity": cap,
            "supports_reused": reused, "scatter_entries": int(T * np.count_nonzero(mlp.weights) * S * S),
            "assemble_s": round(t_assemble, 3),
            "peak_extra_rss_MB": round(peak / 2**20, 1), "numpy_peak_MB": round(numpy_peak / 2**20, 1),
            "weights_MB": round(weight_bytes / 2**20, 1), "peak_over_weights": round(peak / weight_bytes, 2),
            "batch": batch, "z": z, "torch_threads": torch.get_num_threads(),
            "forward_compiled_s": round(t_compiled, 4), "forward_bare_s": round(t_bare, 4),
            "encode_s": round(t_encode, 4), "decode_s": round(t_decode, 4)}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--T", type=int, default=20000)
    ap.add_argument("--n", type=int, default=512)
    ap.add_argument("--S", type=int, nargs="+", default=[6, 3])
    ap.add_argument("--d", type=int, default=8)
    ap.add_argument("--L", type=int, default=4)
    ap.add_argument("--batch", type=int, default=1024)
    ap.add_argument("--z", type=int, default=4)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.one:
        print(json.dumps(one(args.T, args.n, args.S[0], args.d, args.L, args.batch, args.z, args.repeat, args.seed)))
        return
    rows = []
    for S in args.S:
        cmd = [sys.executable, __file__, "--one", "--T", str(args.T), "--n", str(args.n), "--S", str(S),
               "--d", str(args.d), "--L", str(args.L), "--batch", str(args.batch), "--z", str(args.z),
               "--repeat", str(args.repeat), "--seed", str(args.seed)]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        rows.append(json.loads(out.strip().splitlines()[-1]))
    print(json.dumps({"rows": rows}, indent=1))


if __name__ == "__main__":
    main()
