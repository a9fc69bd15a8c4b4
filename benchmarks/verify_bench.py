"""Time of `verify` against the bare forward pass it wraps.

Compiles T full adders (`examples/full_adder.circ`) into width D at sparsity z, then times, each
figure the best of `--repeat` rounds (the rounds interleave all pieces, so that load from other
processes falls on all of them alike):

- the bare forward pass: `model(x)` over `--samples` rows in batches of `--batch`, on inputs
  encoded beforehand;
- `verify(...)` in random mode with the same samples and batch; also without the per-layer
  read-off diagnostics (`layer_errors=False`) and in adversarial mode;
- the pieces of random-mode `verify`, each run separately over the same batches: sampling +
  encoding (`sample_encode`), the forward pass of every layer (`forward_layers`), decoding the
  outputs from the last layer's read-offs (`decode`), the reference interpreter (`reference`),
  the exact per-layer activations (`exact_layers`) and the per-layer read-offs of active and
  probed inactive instances (`readoffs`); `other` is what verify spends beyond them (bookkeeping,
  noise).

Prints one JSON object: the ratios verify / bare forward and the breakdown in seconds. The target
is a ratio of at most 1.5 for random mode.

    python benchmarks/verify_bench.py
    python benchmarks/verify_bench.py --T 20000 --D 4096 --z 2 --samples 10240 --batch 1024 --repeat 5
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from compile_accuracy import network_of  # the sibling script: one network of T instances

import circuitc
from circuitc.active_sets import random_active
from circuitc.instances import verify as V
from circuitc.instances.compile import compile_network

ROOT = Path(__file__).resolve().parent.parent


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--T", type=int, default=20_000)
    ap.add_argument("--D", type=int, default=4096)
    ap.add_argument("--z", type=int, default=2)
    ap.add_argument("--samples", type=int, default=10 * 1024)
    ap.add_argument("--batch", type=int, default=1024)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    circuit = circuitc.load_spec(ROOT / "examples" / "full_adder.circ").circuit("full_adder")
    t0 = time.perf_counter()
    # coherent: its per-layer read-off diagnostics are part of what this measures
    comp = compile_network(network_of(circuit, args.T, args.D, args.z, args.seed), construction="coherent")
    compile_s = time.perf_counter() - t0
    net = comp.network

    # The batches verify draws (same generator, same order), kept for the piecewise timings.
    rng = np.random.default_rng(args.seed)
    batches = []
    done = 0
    while done < args.samples:
        m = min(args.batch, args.samples - done)
        inst = random_active(net.T, comp.config.z, m, rng)
        x = V.sample_inputs(comp, inst, rng)
        probes = V._probe_inactive(net.T, inst, rng)
        batches.append((inst, x, probes))
        done += m

    def sample_encode():
        r = np.random.default_rng(args.seed)
        for inst, _, _ in batches:
            i = random_active(net.T, comp.config.z, len(inst), r)
            x = V.sample_inputs(comp, i, r)
            V._probe_inactive(net.T, i, r)
            net.encode(i, x)

    encoded = [net.encode(inst, x) for inst, x, _ in batches]
    with torch.no_grad():
        acts = [net.forward_layers(e) for e in encoded]

    def bare_forward():
        with torch.no_grad():
            for e in encoded:
                net.model(e)

    def forward_layers():
        for e in encoded:
            net.forward_layers(e)

    last = [V._read_off(net, a[-1], net.L, inst) for (inst, _, _), a in zip(batches, acts)]

    def decode():
        for (inst, _, _), ahat in zip(batches, last):
            V._outputs(net, ahat, inst)

    def reference():
        for inst, x, _ in batches:
            V.reference_outputs(comp, inst, x)

    def exact_layers():
        for inst, x, _ in batches:
            V.exact_layers(comp, inst, x)

    exact = [V.exact_layers(comp, inst, x) for inst, x, _ in batches]

    def readoffs():
        errs = V._ReadoffErrors(net.L + 1)
        for (inst, _, probes), a, ex in zip(batches, acts, exact):
            errs.add_batch(net, a, inst, probes, ex)

    def run_verify():
        return V.verify(comp, samples=args.samples, batch=args.batch, seed=args.seed)

    def run_verify_without_layer_errors():
        return V.verify(comp, samples=args.samples, batch=args.batch, seed=args.seed, layer_errors=False)

    def run_verify_adversarial():
        return V.verify(comp, samples=args.samples, batch=args.batch, seed=args.seed, mode="adversarial")

    pieces = {
        "bare_forward": bare_forward,
        "verify": run_verify,
        "verify_without_layer_errors": run_verify_without_layer_errors,
        "verify_adversarial": run_verify_adversarial,
        "sample_encode": sample_encode,
        "forward_layers": forward_layers,
        "decode": decode,
        "reference": reference,
        "exact_layers": exact_layers,
        "readoffs": readoffs,
    }
    result = run_verify()
    adversarial = run_verify_adversarial()
    # Rounds interleave the pieces so that load from other processes touches all of them alike;
    # each figure is its best round.
    best = {name: float("inf") for name in pieces}
    for _ in range(args.repeat):
        for name, fn in pieces.items():
            t0 = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - t0)
    parts = ("sample_encode", "forward_layers", "decode", "reference", "exact_layers", "readoffs")
    best["other"] = max(0.0, best["verify"] - sum(best[p] for p in parts))
    print(json.dumps({
        "T": net.T, "D": net.D, "d": net.d, "L": net.L, "S": net.S, "z": comp.config.z,
        "samples": args.samples, "batch": args.batch, "torch_threads": torch.get_num_threads(),
        "compile_s": round(compile_s, 2),
        "bit_accuracy": result["bit_accuracy"], "adversarial_bit_accuracy": adversarial["bit_accuracy"],
        "ratio_verify_over_bare_forward": round(best["verify"] / best["bare_forward"], 3),
        "ratio_without_layer_errors": round(best["verify_without_layer_errors"] / best["bare_forward"], 3),
        "ratio_adversarial": round(best["verify_adversarial"] / best["bare_forward"], 3),
        "seconds": {k: round(v, 4) for k, v in best.items()},
    }, indent=1))


if __name__ == "__main__":
    main()
