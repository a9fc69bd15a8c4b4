"""Exactness at scale: compile T instances and check every output bit on many promise-keeping rows.

For each circuit, width D and sparsity z, compiles T instances (default: the most the allocation
holds at the compiler's smallest S, i.e. a full allocation) and verifies them on --samples random
rows and --adversarial adversarial rows (each a target instance with the z − 1 instances that share
the most neurons with it). Prints one JSON object: per row the compiled shape, the compression
T·d_naive/D, and the bit and instance accuracy of each pass.

    python benchmarks/correctness.py                                     # z = 1, full allocations
    python benchmarks/correctness.py --circuits c17 --D 1024 --T 500 --z 2 --samples 20000
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from frontier import SOURCE, largest_T, load_circuit, network_of  # noqa: E402

from circuitc.instances.compile import compile_network  # noqa: E402
from circuitc.instances.verify import verify  # noqa: E402


def check(circuit, D: int, z: int, T: int | None, args) -> dict:
    if T is None:
        T = largest_T(circuit, D, 1, "prime-step", {"S": 2}, cap=0)[0]
    t0 = time.perf_counter()
    comp = compile_network(network_of(circuit, T, D, z, args.seed), construction="coherent")
    rep = comp.report()
    row = {"circuit": circuit.name, "D": rep["D"], "z": z, "T": T, "S": rep["S"], "d": rep["d"], "L": rep["L"],
           "allocation": rep["allocation"]["strategy"], "fill": rep["allocation"]["fill"],
           "compression": round(rep["compression"], 3), "compile_s": round(time.perf_counter() - t0, 2)}
    for mode, samples in (("random", args.samples), ("adversarial", args.adversarial)):
        t0 = time.perf_counter()
        result = verify(comp, samples=samples, seed=args.seed, mode=mode, layer_errors=False)
        row[mode] = {"rows": samples, "bit_accuracy": result["bit_accuracy"],
                     "instance_accuracy": result["instance_accuracy"],
                     "seconds": round(time.perf_counter() - t0, 2)}
    return row


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--circuits", nargs="+", default=["full_adder", "ripple_adder<N=4>", "comparator<N=4>"])
    ap.add_argument("--source", type=Path, default=SOURCE)
    ap.add_argument("--D", type=int, nargs="+", default=[4096])
    ap.add_argument("--z", type=int, nargs="+", default=[1])
    ap.add_argument("--T", type=int, default=None, help="instances (default: a full allocation at S = 2)")
    ap.add_argument("--samples", type=int, default=100_000)
    ap.add_argument("--adversarial", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    rows = [check(load_circuit(name, args.source), D, z, args.T, args)
            for name in args.circuits for D in args.D for z in args.z]
    print(json.dumps({"rows": rows}, indent=1))


if __name__ == "__main__":
    main()
