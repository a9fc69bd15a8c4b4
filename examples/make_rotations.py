"""Write `rotations.npy`: the layer weights of the T circuits of `rotations.circ`, shape (T, 4, 4).

Circuit t has one 4 × 4 matrix, used by each of its five layers:

    W_t = Wbar + dW_t
    Wbar   every row (2, -2, 0, 0)
    dW_t   rows 0-1 zero; rows 2-3 = [-r_t @ (1, 1), +r_t @ (1, 1), r_t] over columns 0, 1, 2-3

where r_t is the 2 × 2 rotation by an angle theta_t drawn uniformly from [0, 2 pi) (numpy's
default_rng(seed)). With the bias (-0.5, -1.5, -1, -1) of rotations.circ, a layer maps
(1.5, 0.5, 1 + u) to (1.5, 0.5, 1 + r_t u) for every unit vector u: rows 0-1 rebuild the constants
1.5 and 0.5, and columns 0-1 of rows 2-3 cancel the shift by 1 before r_t rotates u.

    python examples/make_rotations.py [OUTPUT]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

T = 100
SEED = 0


def angles(T: int = T, seed: int = SEED) -> np.ndarray:
    """theta_t for t = 0..T-1, uniform in [0, 2 pi)."""
    return np.random.default_rng(seed).uniform(0.0, 2.0 * np.pi, size=T)


def rotation_weights(T: int = T, seed: int = SEED) -> np.ndarray:
    """The stacked matrices W_t, shape (T, 4, 4), float64."""
    theta = angles(T, seed)
    c, s = np.cos(theta), np.sin(theta)
    r = np.stack([np.stack([c, -s], axis=-1), np.stack([s, c], axis=-1)], axis=-2)   # (T, 2, 2)
    w = np.zeros((T, 4, 4))
    w[:, :, 0], w[:, :, 1] = 2.0, -2.0                                                # Wbar
    shift = r.sum(axis=-1)                                                            # r_t @ (1, 1)
    w[:, 2:, 0] -= shift
    w[:, 2:, 1] += shift
    w[:, 2:, 2:] += r
    return w


def main(argv: list[str]) -> None:
    out = Path(argv[1]) if len(argv) > 1 else Path(__file__).with_name("rotations.npy")
    np.save(out, rotation_weights())
    print(f"wrote {out}")


if __name__ == "__main__":
    main(sys.argv)
