"""Reading a binary AIGER file: decoding its delta-encoded AND gates, and the whole import.

A random and-inverter graph of GATES AND gates (each reading two earlier literals, seeded) is
written as a binary `.aig` file, its deltas encoded with numpy, then read back with
`circuitc.load_spec`. Prints one JSON object: the file's size, the seconds the gate section took to
decode (the arrays of every gate's literals) and the seconds of the whole import (reading,
decoding, and building and checking the circuit's gates), each the best of --repeat runs.

    python benchmarks/aiger_read.py                    # 1,000,000 gates
    python benchmarks/aiger_read.py --gates 100000 --repeat 1
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
from pathlib import Path

import numpy as np
from timing import best_of  # benchmarks/timing.py

import circuitc
from circuitc.frontend.importers import aiger


def varints(values: np.ndarray) -> bytes:
    """Each value in 7-bit groups, least significant first, the high bit on all but the last."""
    values = values.astype(np.uint64)
    n = np.ones(len(values), dtype=np.int64)
    rest = values >> np.uint64(7)
    while rest.any():
        n += rest > 0
        rest >>= np.uint64(7)
    starts = np.concatenate([[0], np.cumsum(n)[:-1]])
    out = np.zeros(int(n.sum()), dtype=np.uint8)
    rest = values.copy()
    for j in range(int(n.max())):
        has = n > j
        more = (n[has] > j + 1).astype(np.uint8) << 7
        out[starts[has] + j] = (rest[has] & np.uint64(127)).astype(np.uint8) | more
        rest[has] >>= np.uint64(7)
    return out.tobytes()


def random_aig(inputs: int, gates: int, outputs: int, seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    lhs = 2 * (inputs + 1 + np.arange(gates, dtype=np.int64))
    rhs0 = (rng.random(gates) * (lhs - 2)).astype(np.int64) + 2       # an input or an earlier gate
    rhs1 = (rng.random(gates) * (rhs0 + 1)).astype(np.int64)          # rhs1 <= rhs0, as the format asks
    deltas = np.empty(2 * gates, dtype=np.int64)
    deltas[0::2], deltas[1::2] = lhs - rhs0, rhs0 - rhs1
    outs = rng.integers(2, 2 * (inputs + gates) + 2, size=outputs)
    head = f"aig {inputs + gates} {inputs} 0 {outputs} {gates}\n" + "".join(f"{o}\n" for o in outs)
    return head.encode() + varints(deltas)


def decode(data: bytes) -> int:
    """Only the gate section: the header and outputs, then the deltas into literal arrays."""
    r = aiger._Reader(data, "bench.aig")
    _, counts = aiger._header(r, r.next_line())
    aiger._outputs(r, counts["O"], counts["M"])
    lhs, _, _ = aiger._binary_ands(r, counts["I"], counts["A"])
    return len(lhs)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gates", type=int, default=1_000_000)
    ap.add_argument("--inputs", type=int, default=64)
    ap.add_argument("--outputs", type=int, default=64)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    data = random_aig(args.inputs, args.gates, args.outputs, args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "random.aig"
        path.write_bytes(data)
        decode_s, decoded = best_of(args.repeat, lambda: decode(data))
        load_s, spec = best_of(args.repeat, lambda: circuitc.load_spec(path))
        assert decoded == args.gates
        circuit = spec.circuit()
    print(json.dumps({
        "gates": args.gates, "inputs": args.inputs, "outputs": args.outputs, "file_bytes": len(data),
        "circuit_gates": len(circuit.gates),
        "decode_s": round(decode_s, 4), "load_s": round(load_s, 3),
        "decode_gates_per_s": round(args.gates / decode_s),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "numpy": np.__version__},
    }, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
