"""Reading a gate's value off a population of U-AND neurons (docs/features.md; math.md §2.1, §2.4).

An order-j monomial (the AND of j wires) is read off the neurons wired to its wires: by default
as the finite difference, over the subsets U of its wires, of the mean of the neurons wired to
exactly U (unbiased whatever the other on wires do), or as the papers' mean of the neurons wired
to all of them ("mean", biased; kept to measure against). A gate's read-off is the sum of its
Möbius terms' monomial read-offs.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import CircuitError, Diagnostic

READOFFS = ("difference", "mean")

__all__ = ["READOFFS", "all_on_value", "gate_readoffs", "monomial_readoffs"]


def all_on_value(j: int, on: int, p: float) -> float:
    """The expected read-off of an order-j monomial whose wires are all on, with the other
    on − j on wires each reaching a neuron with probability p: the finite difference over T of
    ReLU(X + |U| − (j − 1)), X ~ Bin(on − j, p). 1 when no other wire is on."""
    others = max(on - j, 0)
    x = np.arange(others + 1)
    prob = np.array([math.comb(others, int(i)) * p ** i * (1 - p) ** (others - i) for i in x])
    value = sum((-1) ** (j - u) * math.comb(j, u) * np.maximum(x + u - (j - 1), 0) for u in range(j + 1))
    return float((prob * value).sum())


def gate_readoffs(lv, terms: np.ndarray, j: int, wiring: np.ndarray, level_index: int, scale: float,
              how: str = "difference") -> np.ndarray:
    """(g, d_j): each wire's read-off from the order-j population (its order-j Möbius terms)."""
    g, size = terms.shape
    masks = [t for t in range(size) if bin(t).count("1") == j]
    rows, monos, coefs = [], [], []
    for t in masks:
        hit = np.nonzero(terms[:, t])[0]
        positions = [i for i in range(lv.inputs.shape[1]) if t >> i & 1]
        rows.append(hit)
        monos.append(np.sort(lv.inputs[hit][:, positions], axis=1))
        coefs.append(terms[hit, t])
    rows_, monos_, coefs_ = np.concatenate(rows), np.concatenate(monos), np.concatenate(coefs)
    unique, which = np.unique(monos_, axis=0, return_inverse=True)
    vectors = monomial_readoffs(wiring, unique, level_index, how) / scale
    out = np.zeros((g, wiring.shape[0]))
    np.add.at(out, rows_, coefs_[:, None] * vectors[which.reshape(-1)])
    return out


def monomial_readoffs(wiring: np.ndarray, monos: np.ndarray, level_index: int,
                       how: str = "difference") -> np.ndarray:
    """(n, d) read-off vectors of order-j monomials (module docstring): the finite difference
    over T of the group means, or (`how="mean"`) the mean of the group wired to all of T."""
    n, j = monos.shape
    d = wiring.shape[0]
    out = np.zeros((n, d))
    chunk = max(1, (1 << 24) // max(d, 1))
    for c0 in range(0, n, chunk):
        part = monos[c0:c0 + chunk]
        cols = wiring[:, part]                               # (d, c, j)
        for u in range(1 << j) if how == "difference" else [(1 << j) - 1]:
            pick = np.array([(u >> i) & 1 for i in range(j)], dtype=bool)
            group = np.all(cols == pick[None, None, :], axis=2)  # (d, c): wired to U, none of T∖U
            size = group.sum(axis=0)
            if (size == 0).any():
                bad = part[int(np.argmin(size))]
                raise CircuitError(Diagnostic(
                    f"level {level_index}: no neuron of the order-{j} population (d = {d}) reads wires "
                    f"{bad.tolist()} the way the read-off needs (wired to {pick.astype(int).tolist()})",
                    hint="widen the gate layers (`--width`) or move the wiring density toward 1/2 (`--p`)"))
            sign = -1.0 if (j - int(pick.sum())) % 2 else 1.0
            out[c0:c0 + len(part)] += sign * (group / size).T
    return out
