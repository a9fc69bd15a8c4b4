"""A large netlist through the command line: `circuitc check` and `circuitc eval` of ROWS rows, each
a fresh process, timed from the shell with the peak memory of the process (import included).

The netlist is the random one of benchmarks/frontend.py (GATES gates of fan-in 1-3, AND/OR/XOR/NOT,
seeded), written as ISCAS `.bench`, BLIF and binary AIGER (its ORs and XORs as and-inverter
graphs). The outputs `eval` writes for the three files are compared: they must be equal. Prints
one JSON object; each figure is the best of --repeat runs.

    python benchmarks/netlist_scale.py                    # 420,000 gates, 10,000 rows
    python benchmarks/netlist_scale.py --gates 50000 --repeat 1
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from aiger_read import varints  # benchmarks/aiger_read.py
from frontend import as_bench, as_blif, random_netlist  # benchmarks/frontend.py

# Runs one command and prints its peak resident memory: in this wrapper process the command is
# the only child, so RUSAGE_CHILDREN's maximum is that command's own.
_MEASURE = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL); "
            "print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")


def run(argv: list[str]) -> tuple[float, int]:
    """Seconds and peak kilobytes of one run of `argv`; a failing command stops the benchmark."""
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", _MEASURE, *argv], capture_output=True, text=True, check=True).stdout
    seconds = time.perf_counter() - t0
    code, kib = (int(x) for x in out.split())
    if code != 0:
        raise SystemExit(f"{' '.join(argv)} exited {code}")
    return seconds, kib


def as_aiger(body, inputs: int, outs: list[str]) -> bytes:
    """The netlist as binary AIGER: NOT is a negated literal, OR is De Morgan, XOR three ANDs."""
    lit = {f"w{i}": 2 * (i + 1) for i in range(inputs)}
    ands: list[tuple[int, int, int]] = []

    def new_and(a: int, b: int) -> int:
        out = 2 * (inputs + len(ands) + 1)
        ands.append((out, max(a, b), min(a, b)))   # binary AIGER stores rhs0 >= rhs1
        return out

    for g, (op, args) in enumerate(body):
        x = [lit[a] for a in args]
        if op == "not":
            y = x[0] ^ 1
        else:
            y = x[0]
            for b in x[1:]:
                if op == "and":
                    y = new_and(y, b)
                elif op == "or":
                    y = new_and(y ^ 1, b ^ 1) ^ 1
                else:  # a ^ b = !(a & b) & !(!a & !b)
                    y = new_and(new_and(y, b) ^ 1, new_and(y ^ 1, b ^ 1) ^ 1)
        lit[f"w{inputs + g}"] = y
    head = f"aig {inputs + len(ands)} {inputs} 0 {len(outs)} {len(ands)}\n".encode()
    lines = "".join(f"{lit[o]}\n" for o in outs).encode()
    gates = np.asarray(ands, dtype=np.int64).reshape(-1, 3)
    deltas = varints(np.stack([gates[:, 0] - gates[:, 1], gates[:, 1] - gates[:, 2]], axis=1).ravel())
    symbols = "".join(f"i{i} w{i}\n" for i in range(inputs)) + "".join(f"o{k} {o}\n" for k, o in enumerate(outs))
    return head + lines + deltas + symbols.encode()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gates", type=int, default=420_000)
    ap.add_argument("--inputs", type=int, default=64)
    ap.add_argument("--outputs", type=int, default=32)
    ap.add_argument("--rows", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)

    circuitc = str(Path(sys.executable).with_name("circuitc"))
    body, outs = random_netlist(args.gates, args.inputs, args.outputs, args.seed)
    result: dict = {"gates": args.gates, "rows": args.rows, "repeat": args.repeat, "cpus": os.cpu_count(),
                    "python": platform.python_version(), "load_average": round(os.getloadavg()[0], 2)}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        rows = np.random.default_rng(args.seed).integers(0, 2, (args.rows, args.inputs), dtype=np.uint8)
        header = ",".join(f"w{i}" for i in range(args.inputs))
        np.savetxt(tmp / "rows.csv", rows, fmt="%d", delimiter=",", header=header, comments="")
        files = {"bench": tmp / "big.bench", "blif": tmp / "big.blif", "aig": tmp / "big.aig"}
        files["bench"].write_text(as_bench(body, args.inputs, outs))
        files["blif"].write_text(as_blif(body, args.inputs, outs))
        files["aig"].write_bytes(as_aiger(body, args.inputs, outs))
        result["aig_and_gates"] = int(files["aig"].read_bytes().split(b"\n", 1)[0].split()[5])
        written = {}
        for fmt, path in files.items():
            result[f"{fmt}_bytes"] = path.stat().st_size
            for step, extra in (("check", []), ("eval", ["--inputs", str(tmp / "rows.csv"), "-o",
                                                         str(tmp / f"{fmt}.csv"), "--force"])):
                runs = [run([circuitc, step, str(path), *extra]) for _ in range(args.repeat)]
                result[f"{fmt}_{step}_s"] = round(min(s for s, _ in runs), 2)
                result[f"{fmt}_{step}_peak_mib"] = round(max(k for _, k in runs) / 1024, 1)
            written[fmt] = (tmp / f"{fmt}.csv").read_text().splitlines()
        # The output columns are the same wires under the same names in all three files.
        result["outputs_agree"] = written["bench"] == written["blif"] == written["aig"]
    print(json.dumps(result, indent=2))
    return 0 if result["outputs_agree"] else 1


if __name__ == "__main__":
    sys.exit(main())
