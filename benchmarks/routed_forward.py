"""Routed networks stored and run as position blocks against the same network with dense layers,
measured side by side in one run, as JSON.

Compiles examples/routed_adders.circ (13,000 4-bit adders and comparators, z = 3, D = 4096), then:
- forward: the compact model (`PositionLocal` layers) and its dense export (`to_dense`, `Linear`
  layers) on the same promise-keeping rows, best of `--repeat` rounds in which the two take
  turns, with the outputs compared; and the same compact layers run in numpy (`PositionBlocks`,
  what `circuitc run` uses for a few rows);
- storage: the artifact as saved, and the dense layers written the way format 3 stored them;
- `circuitc run` of one row from the shell (numpy: torch is not imported), and the same row with
  `--device cpu` (the torch model, the import of torch included), best of `--repeat`.
The load average of the machine is printed with the figures: on a busy machine torch's worker
threads wait for the cores and every figure grows.
"""

from __future__ import annotations

import argparse
import json
import os
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
from circuitc.artifact_format import open_artifact
from circuitc.instances.numpy_forward import numpy_network
from circuitc.instances.stored import read_stored

ROOT = Path(__file__).resolve().parent.parent


def best_of(repeat: int, *fns) -> list[float]:
    """The best time of each function over `repeat` rounds, the functions taking turns within a
    round, so that a change in the machine's load falls on all of them alike."""
    times = [[] for _ in fns]
    for _ in range(repeat):
        for fn, got in zip(fns, times):
            t0 = time.perf_counter()
            fn()
            got.append(time.perf_counter() - t0)
    return [min(t) for t in times]


def _timed(repeat: int, command: list[str]) -> tuple[float, subprocess.CompletedProcess]:
    """The best of `repeat` runs of `command`, from start to exit, and its last output."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = subprocess.run(command, capture_output=True, text=True, check=True)
        times.append(time.perf_counter() - t0)
    return min(times), out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=1024)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args(argv)
    torch.set_num_threads(max(1, torch.get_num_threads()))
    load = os.getloadavg()[0]
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
        compact_s, dense_s = best_of(args.repeat, lambda: net.model(x), lambda: dense(x))
    with tempfile.TemporaryDirectory() as tmp:
        circuitc.save(comp, Path(tmp) / "routed")
        artifact = sum(f.stat().st_size for f in (Path(tmp) / "routed").iterdir())
        in_numpy = numpy_network(read_stored(*open_artifact(Path(tmp) / "routed")))
        a0 = x.numpy()
        same_numpy = bool(np.array_equal(in_numpy.forward(a0), net.model(x).detach().numpy()))
        numpy_s, = best_of(args.repeat, lambda: in_numpy.forward(a0))
        layers = {}
        for l, m in enumerate(dense):
            if isinstance(m, torch.nn.Linear):
                layers[f"layers.{l // 2}.weight"] = m.weight.detach().contiguous()
                layers[f"layers.{l // 2}.bias"] = m.bias.detach().contiguous()
        save_file(layers, str(Path(tmp) / "dense.safetensors"))
        dense_layers = (Path(tmp) / "dense.safetensors").stat().st_size
        command = [str(Path(sys.executable).parent / "circuitc"), "run", str(Path(tmp) / "routed"),
                   "--instance", "17", "a=3", "b=5", "cin=0"]
        run_s, out = _timed(args.repeat, command)
        torch_run_s, torch_out = _timed(args.repeat, command + ["--device", "cpu"])
    print(json.dumps({
        "network": {"T": net.T, "D": net.D, "L": net.L, "z": comp.config.z, "compile_s": round(compile_s, 2)},
        "parameters": {"compact": sum(p.numel() for p in net.model.parameters()),
                       "dense": sum(p.numel() for p in dense.parameters())},
        "forward_rows": args.rows, "outputs_equal": same, "numpy_equal": same_numpy,
        "forward_s": {"compact": round(compact_s, 4), "dense": round(dense_s, 4), "compact_numpy": round(numpy_s, 4)},
        "forward_speedup": round(dense_s / compact_s, 1),
        "artifact_bytes": artifact, "dense_layer_bytes": dense_layers,
        "artifact_fraction_of_dense": round(artifact / (artifact + dense_layers), 5),
        "run_one_row_s": round(run_s, 2), "run_one_row_torch_s": round(torch_run_s, 2),
        "run_output": out.stdout.strip(), "same_run_output": out.stdout == torch_out.stdout,
        "torch_threads": torch.get_num_threads(), "load_average": [round(load, 2), round(os.getloadavg()[0], 2)],
    }, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
