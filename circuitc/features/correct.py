"""Error-correction layers for deep feature circuits: one ReLU layer that re-thresholds every wire.

A gate layer's read-offs carry noise, and the next gate layer sums the noise of every wire it
reads; without a clean-up the error grows level after level (measured in docs/features.md). An
error-correction layer maps the m noisy wire values x̂ back to 0/1 values, and the next layer reads
those instead. Two kinds:

**step** (the default): two ReLUs per wire form the clean step of slope G,

    σ(x) = ReLU(G·(x − ½) + ½) − ReLU(G·(x − ½) − ½),

which is exactly 0 below ½ − 1/(2G) and exactly 1 above ½ + 1/(2G). Every error smaller than that
margin (0.375 at G = 4) is removed; the layer costs 2m neurons, so it suits levels of fewer wires
than the gate layers have neurons.

**subsets** (math.md §2.4, a *reconstruction*: the papers' weights could not be retrieved): a
"1-input U-AND" for levels wider than the layers. d neurons, neuron i a clean step of the sum of a
seeded random subset of the wires (each wire in it with probability q):

    o_i = σ(Σ_{α∈S_i} x̂_α),

so o_i is the OR of its wires when their errors stay below the margin. Wire α is read back as the
mean of the neurons that hold it minus the mean of those that do not: 1 − P(another on wire hits a
neuron) when α is on, 0 on average when it is off. It does not remove the error: it replaces it by
a fresh one of variance about s/(d·(1 − q)), whatever the error before was (the "depth-independent
level"), as long as no wire's error reached the margin.
"""

from __future__ import annotations

import numpy as np

__all__ = ["KINDS", "step_layer", "subsets_layer", "clean_margin", "subsets_variance"]

KINDS = ("step", "subsets")


def clean_margin(gain: float) -> float:
    """The largest error a clean step of slope `gain` removes exactly."""
    return 0.5 - 0.5 / gain


def step_layer(m: int, gain: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(read_in (2m, m), bias (2m,), read_off (m, 2m)) of the per-wire clean step."""
    eye = np.eye(m, dtype=np.float64)
    read_in = np.concatenate([eye, eye]) * gain
    bias = np.concatenate([np.full(m, 0.5 - gain / 2), np.full(m, -0.5 - gain / 2)])
    read_off = np.concatenate([eye, -eye], axis=1)
    return read_in, bias, read_off


def subsets_layer(m: int, d: int, q: float, gain: float, rng: np.random.Generator
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(read_in (2d, m), bias (2d,), read_off (m, 2d)) of math.md §2.4's reconstruction: d clean
    steps over seeded random subsets, read back by the difference of the means of the neurons
    that hold a wire and of those that do not."""
    wiring = rng.random((d, m)) < q
    held = wiring.sum(axis=0)
    if held.min() == 0 or held.max() == d:
        raise ValueError(f"an error-correction layer of {d} neurons at q = {q:g} leaves a wire with "
                         f"{int(held.min())} neurons; widen it or raise q")
    w = wiring.astype(np.float64)
    read_in = np.concatenate([w, w]) * gain
    bias = np.concatenate([np.full(d, 0.5 - gain / 2), np.full(d, -0.5 - gain / 2)])
    back = (w / held).T - ((1.0 - w) / (d - held)).T        # (m, d): mean over holders − the rest
    read_off = np.concatenate([back, -back], axis=1)
    return read_in, bias, read_off


def subsets_variance(s: int, d: int, q: float) -> float:
    """The fresh read-back variance of the subsets layer: an off wire's holders are hit by one of
    about s on wires with probability ≈ s·q, averaged over q·d neurons."""
    return s / (d * (1.0 - q))
