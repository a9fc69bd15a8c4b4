"""Routed networks stored and run as position blocks against the same network with dense layers,
measured side by side in one run, as JSON.

Compiles examples/routed_adders.circ (13,000 4-bit adders and comparators, z = 3, D = 4096), then:
- forward: the compact model (`PositionLocal` layers) and its dense export (`to_dense`, `Linear`
  layers) on the same promise-keeping rows, best of `--repeat`, with the outputs compared;
- storage: the artifact as saved, and the dense layers written the way format 3 stored them;
- `circuitc run` of one row from the shell (the import of torch included).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file

import circuitc
from circuitc.active_sets import random_active

ROOT = Path(__file__).resolve().parent.parent


def best_of(repeat: int, fn) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=1024)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args(argv)
    torch.set_num_threads(max(1, torch.get_num_threads()))
    t0 = time.perf_counter()
    comp = circuitc.compile(circuitc.load_spec(ROOT / "examples" / "routed_adders.circ"))
    compile_s = time.perf_counter() - t0
    net = comp.network
    rng = np.random.default_rng(0)
    inst = random_active(net.T, comp.config.z, args.rows, rng)
    x = net.encode(inst, rng.integers(0, 2, (args.rows, comp.config.z, net.n_in_max)).astype(float))
    dense = net.to_dense()
    with torch.no_grad():
        same = bool(torch.equal(net.model(x), dense(x)))
        compact_s = best_of(args.repeat, lambda: net.model(x))
        dense_s = best_of(args.repeat, lambda: dense(x))
    with tempfile.TemporaryDirectory() as tmp:
        circuitc.save(comp, Path(tmp) / "routed")
        artifact = sum(f.stat().st_size for f in (Path(tmp) / "routed").iterdir())
        layers = {}
        for l, m in enumerate(dense):
            if isinstance(m, torch.nn.Linear):
                layers[f"layers.{l // 2}.weight"] = m.weight.detach().contiguous()
                layers[f"layers.{l // 2}.bias"] = m.bias.detach().contiguous()
        save_file(layers, str(Path(tmp) / "dense.safetensors"))
        dense_layers = (Path(tmp) / "dense.safetensors").stat().st_size
        t0 = time.perf_counter()
        out = subprocess.run([str(Path(sys.executable).parent / "circuitc"), "run", str(Path(tmp) / "routed"),
                              "--instance", "17", "a=3", "b=5", "cin=0"], capture_output=True, text=True, check=True)
        run_s = time.perf_counter() - t0
    print(json.dumps({
        "network": {"T": net.T, "D": net.D, "L": net.L, "z": comp.config.z, "compile_s": round(compile_s, 2)},
        "parameters": {"compact": sum(p.numel() for p in net.model.parameters()),
                       "dense": sum(p.numel() for p in dense.parameters())},
        "forward_rows": args.rows, "outputs_equal": same,
        "forward_s": {"compact": round(compact_s, 4), "dense": round(dense_s, 4)},
        "forward_speedup": round(dense_s / compact_s, 1),
        "artifact_bytes": artifact, "dense_layer_bytes": dense_layers,
        "artifact_fraction_of_dense": round(artifact / (artifact + dense_layers), 5),
        "run_one_row_s": round(run_s, 2), "run_output": out.stdout.strip(),
    }, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
