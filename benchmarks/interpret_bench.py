"""Time the dependency graph and the reference interpreter on a large random netlist.

    python benchmarks/interpret_bench.py [--gates 100000] [--inputs 64] [--rows 10000]
                                         [--window 0] [--seed 0]

The netlist is built directly as a BoolCircuit: mixed ops (and/or/xor/maj with 1-4 inputs,
not, buf, a few constants), each argument drawn from every earlier wire (--window 0, a wide and
shallow circuit) or from the last `window` wires (deep and narrow). Every figure is the best of
3 runs, measured with time.perf_counter; prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

import networkx as nx
import numpy as np
from timing import best_of  # benchmarks/timing.py

from circuitc import graph, interpret
from circuitc.spec import BoolCircuit, Gate, Op, Port

OPS = [Op.AND, Op.OR, Op.XOR, Op.MAJ, Op.NOT, Op.BUF, Op.CONST0, Op.CONST1]
WEIGHTS = [0.22, 0.22, 0.22, 0.14, 0.1, 0.06, 0.02, 0.02]


def random_netlist(n_gates: int, n_inputs: int, n_outputs: int, window: int, seed: int) -> BoolCircuit:
    rng = np.random.default_rng(seed)
    op_of = rng.choice(len(OPS), n_gates, p=WEIGHTS).tolist()
    fan_in = rng.integers(1, 5, n_gates).tolist()
    draws = rng.random((n_gates, 4))
    names = [f"x[{i}]" for i in range(n_inputs)]
    gates = []
    for g in range(n_gates):
        op = OPS[op_of[g]]
        if op in (Op.NOT, Op.BUF):
            k = 1
        elif op in (Op.CONST0, Op.CONST1):
            k = 0
        elif op is Op.MAJ:
            k = 3 if fan_in[g] > 2 else 1
        else:
            k = fan_in[g]
        n = len(names)
        lo = max(0, n - window) if window else 0
        args = tuple(names[lo + int(u * (n - lo))] for u in draws[g, :k])
        out = f"n{g}/{op.value}"
        gates.append(Gate(out, op, args))
        names.append(out)
    # The last n_outputs gates drive the output port.
    outputs = [f"y[{j}]" for j in range(n_outputs)]
    renamed = dict(zip((g.out for g in gates[-n_outputs:]), outputs))
    gates = [Gate(renamed.get(g.out, g.out), g.op, tuple(renamed.get(a, a) for a in g.args)) for g in gates]
    circuit = BoolCircuit("bench", (Port("x", n_inputs),), (Port("y", n_outputs),), tuple(gates))
    circuit.check()
    return circuit


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gates", type=int, default=100_000)
    ap.add_argument("--inputs", type=int, default=64)
    ap.add_argument("--outputs", type=int, default=64)
    ap.add_argument("--rows", type=int, default=10_000)
    ap.add_argument("--window", type=int, default=0, help="draw arguments from the last N wires (0: all)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    t = time.perf_counter()
    c = random_netlist(args.gates, args.inputs, args.outputs, args.window, args.seed)
    generate_s = time.perf_counter() - t
    X = np.random.default_rng(args.seed + 1).integers(0, 2, (args.rows, args.inputs), dtype=np.uint8)

    def index_and_levels():
        graph.clear_caches()
        graph.indexed(c)

    def graph_and_levels():
        graph.clear_caches()
        graph.circuit_graph(c)
        graph.levels(c)

    def plan_from_scratch():
        graph.clear_caches()
        interpret._plan(c)

    index_s = best_of(3, index_and_levels)[0]
    graph_s = best_of(3, graph_and_levels)[0]
    plan_s = best_of(3, plan_from_scratch)[0]
    graph.indexed(c)
    plan_only_s = best_of(3, lambda: interpret._build_plan(c))[0]
    graph.clear_caches()
    t = time.perf_counter()
    Y = interpret.evaluate_bits(c, X)
    first_s = time.perf_counter() - t
    eval_s = best_of(3, lambda: interpret.evaluate_bits(c, X))[0]
    assert Y.shape == (args.rows, args.outputs)

    s = graph.summary(c)
    result = {
        "gates": s["gates"],
        "inputs": s["inputs"],
        "outputs": s["outputs"],
        "arguments": int(graph.indexed(c).arg_ptr[-1]),
        "depth": s["depth"],
        "window": args.window,
        "rows": args.rows,
        "plan_groups": len(interpret._plan(c).steps),
        "generate_s": round(generate_s, 4),
        "index_and_levels_s": round(index_s, 4),
        "graph_build_and_levels_s": round(graph_s, 4),
        "plan_build_s": round(plan_s, 4),
        "plan_build_from_cached_index_s": round(plan_only_s, 4),
        "evaluate_bits_first_call_s": round(first_s, 4),
        "evaluate_bits_s": round(eval_s, 4),
        "rows_per_s": round(args.rows / eval_s),
        "gate_evals_per_s": round(args.rows * s["gates"] / eval_s),
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None,
        "machine": platform.machine(),
        "processor": platform.processor() or None,
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "networkx": nx.__version__,
    }
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
