"""The SHA-256 of every tensor each example network compiles to, as JSON.

Run it before and after a change that must not move any weight: the two printouts must be
identical. Every network declaration of examples/ and benchmarks/ is compiled at its own
configuration (both constructions where it compiles with both), and every circuit `over` a
feature set with its defaults. `--fast` skips the networks above 10^7 parameters.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import circuitc
from circuitc.artifact import tensors

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted((ROOT / "examples").glob("*.circ")) + sorted((ROOT / "benchmarks").glob("*.circ"))


def _digest(named) -> dict[str, str]:
    out = {}
    for key in sorted(named):
        t = named[key].detach().contiguous().cpu()
        out[key] = hashlib.sha256(t.numpy().tobytes()).hexdigest()[:16] + f":{tuple(t.shape)}:{t.dtype}"
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--fast", action="store_true", help="skip networks above 10^7 parameters")
    args = ap.parse_args(argv)
    out: dict[str, dict] = {}
    for path in SOURCES:
        spec = circuitc.load_spec(path)
        for net in spec.networks:
            for construction in ("auto", "coherent"):
                key = f"{path.relative_to(ROOT)}:{net.name}:{construction}"
                try:
                    result = circuitc.compile(spec, net.name, construction=construction)
                except circuitc.CircuitError as e:
                    out[key] = {"refused": str(e).splitlines()[0]}
                    continue
                if args.fast and result.network.D ** 2 * result.network.L > 10**7:
                    continue
                out[key] = _digest(tensors(result))
        for circuit in spec.circuits:
            if getattr(circuit, "features", None):
                out[f"{path.relative_to(ROOT)}:{circuit.name}:features"] = _digest(
                    tensors(circuitc.compile_features(spec, circuit.name)))
    json.dump(out, sys.stdout, indent=1, sort_keys=True)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
