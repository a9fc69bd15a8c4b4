"""Front-end throughput on one generated netlist: parse + elaborate, graph, reference evaluation;
and the elaboration of a family of FAMILY different MLPs declared in a dozen lines.

A random combinational netlist of GATES gates (fan-in 1-3, AND/OR/XOR/NOT, seeded) is written in
three forms — `.circ`, ISCAS `.bench`, BLIF — and each is read into a Spec. The Specs are checked
equal on outputs, then the dependency graph is built and ROWS random input rows are evaluated.
Prints one JSON object; every figure is the best of --repeat runs, in seconds.

    python benchmarks/frontend.py                 # 100,000 gates, 10,000 rows
    python benchmarks/frontend.py --gates 10000 --repeat 1
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import tempfile
from pathlib import Path

import numpy as np
from timing import best_of  # benchmarks/timing.py

import circuitc
from circuitc import graph, interpret
from circuitc.frontend.importers.bench import parse_bench


def random_netlist(gates: int, inputs: int, outputs: int, seed: int):
    """Gates as (op, args) over wires named w0..; the first `inputs` wires are inputs."""
    rng = random.Random(seed)
    ops = ("and", "or", "xor")
    body = []
    for g in range(gates):
        n = inputs + g
        lo = max(0, n - 2000)  # a sliding window keeps the netlist deep rather than flat
        k = rng.choice((1, 2, 2, 3))
        args = [f"w{rng.randrange(lo, n)}" for _ in range(k)]
        body.append(("not", args[:1]) if k == 1 else (rng.choice(ops), args))
    outs = [f"w{inputs + gates - 1 - j}" for j in range(outputs)]
    return body, outs


def as_circ(body, inputs, outs) -> str:
    lines = ["circuit big {", f"    in {', '.join(f'w{i}' for i in range(inputs))};",
             f"    out {', '.join(outs)};"]
    sym = {"and": " & ", "or": " | ", "xor": " ^ "}
    for g, (op, args) in enumerate(body):
        rhs = "~" + args[0] if op == "not" else sym[op].join(args)
        lines.append(f"    w{inputs + g} = {rhs};")
    return "\n".join(lines + ["}"]) + "\n"


def as_printed(body, inputs, outs) -> str:
    return circuitc.spec_to_circ(parse_bench(as_bench(body, inputs, outs), "big.bench"), header=False)


def as_bench(body, inputs, outs) -> str:
    lines = [f"INPUT(w{i})" for i in range(inputs)] + [f"OUTPUT({o})" for o in outs]
    for g, (op, args) in enumerate(body):
        lines.append(f"w{inputs + g} = {op.upper()}({', '.join(args)})")
    return "\n".join(lines) + "\n"


def as_blif(body, inputs, outs) -> str:
    lines = [".model big", ".inputs " + " ".join(f"w{i}" for i in range(inputs)), ".outputs " + " ".join(outs)]
    for g, (op, args) in enumerate(body):
        k = len(args)
        lines.append(f".names {' '.join(args)} w{inputs + g}")
        if op == "not":
            lines.append("0 1")
        elif op == "and":
            lines.append("1" * k + " 1")
        elif op == "or":
            lines += ["-" * i + "1" + "-" * (k - i - 1) + " 1" for i in range(k)]
        else:  # xor: every odd-weight row
            lines += [format(r, f"0{k}b") + " 1" for r in range(2 ** k) if bin(r).count("1") % 2]
    return "\n".join(lines + [".end"]) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gates", type=int, default=100_000)
    ap.add_argument("--inputs", type=int, default=64)
    ap.add_argument("--outputs", type=int, default=32)
    ap.add_argument("--rows", type=int, default=10_000)
    ap.add_argument("--family", type=int, default=10_000, help="different MLPs in the family measured")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    body, outs = random_netlist(args.gates, args.inputs, args.outputs, args.seed)
    result: dict = {"gates": args.gates, "inputs": args.inputs, "outputs": args.outputs, "rows": args.rows,
                    "repeat": args.repeat, "cpus": os.cpu_count(), "python": platform.python_version(),
                    "machine": platform.machine()}
    X = np.random.default_rng(args.seed).integers(0, 2, size=(args.rows, args.inputs), dtype=np.uint8)
    reference = None
    with tempfile.TemporaryDirectory() as tmp:
        # "printed": the .bench netlist as `circuitc fmt` prints it, one gate per statement (what
        # the line reader for flat circuits takes without the parser, frontend/flat.py).
        for fmt, writer in (("circ", as_circ), ("bench", as_bench), ("blif", as_blif), ("printed", as_printed)):
            path = Path(tmp) / fmt / f"big.{'circ' if fmt == 'printed' else fmt}"
            path.parent.mkdir()
            path.write_text(writer(body, args.inputs, outs))
            try:
                seconds, spec = best_of(args.repeat, lambda: circuitc.load_spec(path))
            except circuitc.CircuitError as e:
                # Infix statements go through the parser, which refuses a source above its token
                # limit (parse.MAX_TOKENS) before reading it: what a user of this size gets.
                result[f"{fmt}_refused"] = e.diagnostics[0].message
                continue
            circuit = spec.circuit("big")
            result[f"{fmt}_bytes"] = path.stat().st_size
            result[f"{fmt}_parse_elaborate_s"] = round(seconds, 3)
            result[f"{fmt}_spec_gates"] = len(circuit.gates)
            Y = interpret.evaluate_bits(circuit, X)
            if reference is None:
                reference = Y
            elif not np.array_equal(Y, reference):
                print(f"{fmt}: outputs differ from the .circ reading", file=sys.stderr)
                return 1

    # The same size generated by a loop, as a .circ author would write it: this isolates
    # elaboration (loop unrolling, expressions to gates) from the cost of reading 100k statements.
    n = args.gates // 2 + 64
    loop_src = (f"circuit looped {{\n    in x[64];\n    out y;\n    wire w[{n}];\n"
                f"    for i in 0..64 {{ w[i] = x[i]; }}\n"
                f"    for i in 64..{n} {{ w[i] = (w[i - 1] & w[i - 17]) ^ w[i - 64]; }}\n"
                f"    y = w[{n - 1}];\n}}\n")
    seconds, spec = best_of(args.repeat, lambda: circuitc.parse(loop_src))
    result["loop_circ_parse_elaborate_s"] = round(seconds, 3)
    result["loop_circ_spec_gates"] = len(spec.circuit("looped").gates)

    # A family of different MLPs declared in 12 lines: one stacked weight file sliced by the
    # parameter, one `use` with a range. Measures the per-member cost of elaboration.
    with tempfile.TemporaryDirectory() as tmp:
        members = args.family
        np.save(Path(tmp) / "w.npy", np.random.default_rng(args.seed).normal(size=(members, 4, 4)))
        layer = '    layer relu { weights = load("w.npy")[i]; bias = [-0.5, -1.5, -1, -1]; }\n'
        family_src = ("mlp r<i> {\n    in a[4];\n    out y[4];\n" + layer * 5 + "}\n"
                      f"network n {{ use r<i=0..{members}>; active = 2; }}\n")
        seconds, spec = best_of(args.repeat, lambda: circuitc.parse(family_src, base_dir=tmp))
    result["family_lines"] = len(family_src.splitlines())
    result["family_circuits"] = len(spec.circuits)
    result["family_parse_elaborate_s"] = round(seconds, 3)

    def fresh_graph():
        graph.clear_caches()
        return graph.circuit_graph(circuit)

    seconds, g = best_of(args.repeat, fresh_graph)
    result["graph_build_s"] = round(seconds, 3)
    result["graph_nodes"] = g.number_of_nodes()
    result["depth"] = graph.depth(circuit)

    def cold_eval():
        graph.clear_caches()  # drops the cached netlist index and evaluation plan
        return interpret.evaluate_bits(circuit, X)

    result["evaluate_cold_s"] = round(best_of(args.repeat, cold_eval)[0], 3)
    interpret.evaluate_bits(circuit, X)  # plan cached
    result["evaluate_warm_s"] = round(best_of(args.repeat, lambda: interpret.evaluate_bits(circuit, X))[0], 3)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
