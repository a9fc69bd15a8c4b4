"""Write `mlp_xor_weights.npy`: the first-layer weights of the MLP in `mlp_xor.circ`.

Both hidden neurons sum the two inputs: h1 = relu(x0 + x1), h2 = relu(x0 + x1 - 1) (the -1
is the bias written in mlp_xor.circ). The matrix has shape (outputs, inputs) = (2, 2).

    python examples/make_mlp_xor_weights.py [OUTPUT]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

WEIGHTS = np.array([[1.0, 1.0],
                    [1.0, 1.0]], dtype=np.float64)


def main(argv: list[str]) -> None:
    out = Path(argv[1]) if len(argv) > 1 else Path(__file__).with_name("mlp_xor_weights.npy")
    np.save(out, WEIGHTS)
    print(f"wrote {out}")


if __name__ == "__main__":
    main(sys.argv)
