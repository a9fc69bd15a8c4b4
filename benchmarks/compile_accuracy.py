"""Accuracy of compiled networks against the number of instances: a first look at the frontier.

For each circuit, width D and sparsity z, compiles networks of T instances (with the compiler's
defaults unless --S or --margin is given) and verifies them on random promise-keeping inputs.
benchmarks/frontier.py searches for the largest T instead. Prints one JSON object with a row per
(circuit, D, z, T): the lowered width d, S, the allocation's fill, the compression T·d_naive/D,
bit and instance accuracy, and timings.

    python benchmarks/compile_accuracy.py
    python benchmarks/compile_accuracy.py --circuits full_adder c17 --D 4096 --z 1 2 --T 100 1000 --S 3
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import circuitc
from circuitc.instances.compile import compile_network
from circuitc.instances.verify import verify
from circuitc.spec import InstanceGroup, Network, Spec

ROOT = Path(__file__).resolve().parent.parent


def network_of(circuit, T: int, D: int, z: int, seed: int) -> Spec:
    # The sweep's figures (docs/lowering.md) are the coherent construction's.
    net = Network("sweep", (InstanceGroup(circuit.name, T),), z=z, D=D, seed=seed, construction="coherent")
    return Spec(circuits=(circuit,), networks=(net,))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--circuits", nargs="+", default=["full_adder", "c17", "ripple_adder<N=4>", "comparator<N=4>"],
                    help="circuit names in --source")
    ap.add_argument("--source", default=str(ROOT / "benchmarks" / "frontier_circuits.circ"))
    ap.add_argument("--D", type=int, nargs="+", default=[4096])
    ap.add_argument("--z", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--T", type=int, nargs="+", default=[100, 1000, 3000, 10000])
    ap.add_argument("--S", type=int, default=None, help="redundancy (default: the compiler's choice)")
    ap.add_argument("--margin", type=float, default=None, help="margin β (default: the compiler's)")
    ap.add_argument("--samples", type=int, default=4096)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    rows = []
    spec = circuitc.load_spec(args.source)
    overrides = {k: v for k, v in (("S", args.S), ("margin", args.margin)) if v is not None}
    for name in args.circuits:
        circuit = spec.circuit(name)
        for D in args.D:
            for z in args.z:
                for T in args.T:
                    t0 = time.perf_counter()
                    try:
                        comp = compile_network(network_of(circuit, T, D, z, args.seed), **overrides)
                    except circuitc.CircuitError as e:
                        rows.append({"circuit": name, "D": D, "z": z, "T": T, "refused": str(e).splitlines()[0]})
                        continue
                    t1 = time.perf_counter()
                    result = verify(comp, samples=args.samples, seed=args.seed)
                    t2 = time.perf_counter()
                    rep = comp.report()
                    rows.append({"circuit": name, "D": rep["D"], "z": z, "T": T, "d": rep["d"], "L": rep["L"],
                                 "S": rep["S"], "allocation": rep["allocation"]["strategy"],
                                 "fill": rep["allocation"]["fill"], "compression": round(rep["compression"], 3),
                                 "bit_accuracy": round(result["bit_accuracy"], 5),
                                 "instance_accuracy": round(result["instance_accuracy"], 5),
                                 "compile_s": round(t1 - t0, 2), "verify_s": round(t2 - t1, 2)})
    print(json.dumps({"samples": args.samples, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
