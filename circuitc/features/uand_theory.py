"""What width a U-AND layer needs: the error model of math.md §2.1–2.3, made exact enough to predict.

Take a pair (α, β) and one input with s features on. Its read-off is the mean, over the N neurons
wired to both, of a per-neuron error Y, and N ~ Binomial(d, p²). By case (X ~ Binomial(n, p)
counts the other on-features a neuron reads; ξ ~ N(0, σ²) is the interference of inputs in
superposition, σ² = s·p·m/d0, and 0 for basis inputs):

| case | Y | n |
|---|---|---|
| both on (AND = 1) | ReLU(1 + X + ξ) − 1 | s − 2 |
| one on (AND = 0) | ReLU(X + ξ) | s − 1 |
| none on (AND = 0) | ReLU(X − 1 + ξ) | s |

Given N, the mean of N independent copies of Y exceeds ε with probability at most exp(−N·I(ε))
(Chernoff; I is Y's rate function, computed from its moment generating function). Averaged over N,
this is a binomial generating function in closed form:

    P(|error| > ε) <= (1 − q + q·e^{−I₊(ε)})^d + (same with I₋),   q = p².

A width is predicted to suffice when the expected number of exceedances over every (pair, input)
a measurement reads stays below 1/2: `trials` inputs × (C(s, 2) both-on + s·(m − s) one-on pairs
+ `none_pairs` sampled none-on pairs), plus the C(m, 2) pairs that might have no neuron at all.
The neurons' interference terms are not independent (neurons share features); the bound ignores
that, and the benchmark measures how far off it is.

`paper_width` is math.md's scaling law with its constant set to 1, d = s²·ln(m)/ε², for reference.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

LAMBDAS = np.logspace(-2, 2.5, 160)       # the Chernoff parameter's grid
P_GRID = np.logspace(-3, 0, 61)           # wiring probabilities tried
NONE_PAIRS = 512                          # none-on pairs read on every row (uand.pair_errors' default)


@dataclass(frozen=True)
class WidthPrediction:
    d: int                    # the smallest width predicted to keep every read-off within eps
    p: float                  # at this wiring probability (the best of P_GRID)
    expected_exceedances: float
    paper_d: int              # math.md's s²·ln m/ε²

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def _normal_cdf(x) -> np.ndarray:
    return torch.special.ndtr(torch.from_numpy(np.asarray(x, dtype=np.float64))).numpy()


def _log_mgf(lam: np.ndarray, c: float, n: int, p: float, sigma: float, shift: float) -> np.ndarray:
    """log E exp(λ·(ReLU(c + X + ξ) − shift)), X ~ Bin(n, p), ξ ~ N(0, σ²), for every λ (any sign)."""
    xs = np.arange(n + 1)
    logpmf = np.array([math.lgamma(n + 1) - math.lgamma(x + 1) - math.lgamma(n - x + 1) for x in xs])
    if p >= 1.0:
        logpmf = np.where(xs == n, 0.0, -np.inf)
    elif p <= 0.0:
        logpmf = np.where(xs == 0, 0.0, -np.inf)
    else:
        logpmf = logpmf + xs * math.log(p) + (n - xs) * math.log1p(-p)
    mu = c + xs[None, :]                                                       # (1, n+1)
    L = lam[:, None]
    if sigma <= 0:
        inner = L * np.maximum(mu, 0.0)
    else:
        # E exp(λ·ReLU(μ + ξ)) = Φ(−μ/σ) + exp(λμ + λ²σ²/2)·Φ(μ/σ + λσ)
        below = _normal_cdf(-mu / sigma)
        above = np.exp(np.minimum(L * mu + 0.5 * (L * sigma) ** 2, 700.0)) * _normal_cdf(mu / sigma + L * sigma)
        inner = np.log(np.maximum(below + above, 1e-300))
    return np.logaddexp.reduce(logpmf[None, :] + inner, axis=1) - lam * shift


@lru_cache(maxsize=4096)
def _rates(eps: float, c: float, n: int, p: float, sigma: float, shift: float) -> tuple[float, float]:
    """Cramér rates (I₊, I₋) of Y = ReLU(c + X + ξ) − shift at ±ε (0 when the mean is beyond ε).
    Cached: for basis inputs they do not depend on d, and the width search asks for them at every
    probed d."""
    up = float(np.max(LAMBDAS * eps - _log_mgf(LAMBDAS, c, n, p, sigma, shift)))
    down = float(np.max(LAMBDAS * eps - _log_mgf(-LAMBDAS, c, n, p, sigma, shift)))
    return max(up, 0.0), max(down, 0.0)


def expected_exceedances(m: int, s: int, d: int, p: float, eps: float, trials: int, *,
                         d0: int | None = None, none_pairs: int = NONE_PAIRS) -> float:
    """The expected number of read-offs with |error| > ε over a measurement (module docstring)."""
    q = p * p
    sigma = math.sqrt(s * p * m / d0) if d0 else 0.0
    cases = ((1.0, s - 2, 1.0, trials * math.comb(s, 2)),                       # both on
             (0.0, s - 1, 0.0, trials * s * (m - s)),                          # one on
             (-1.0, s, 0.0, trials * none_pairs))                              # none on (sampled)
    total = 0.0
    for c, n, shift, count in cases:
        if n < 0 or count <= 0:
            continue
        for rate in _rates(eps, c, max(n, 0), p, sigma, shift):
            total += count * _power(1.0 - q * -math.expm1(-rate), d) if rate > 0 else count
    return total + math.comb(m, 2) * _power(1.0 - q, d)


def _power(base: float, d: int) -> float:
    return math.exp(d * math.log(base)) if base > 0 else 0.0


def uand_width(m: int, s: int, eps: float = 0.25, trials: int = 10_000, *, superposed: bool = False,
               d_max: int = 1 << 22) -> WidthPrediction:
    """The smallest width whose predicted exceedances stay below 1/2, at the best p of P_GRID
    (with `superposed`, inputs live in d0 = d dimensions)."""
    best = None
    for p in P_GRID:
        f = lambda d: expected_exceedances(m, s, d, p, eps, trials, d0=d if superposed else None)  # noqa: E731
        if f(d_max) > 0.5:
            continue
        lo, hi = 1, d_max
        while hi - lo > max(1, lo // 100):          # 1 % precision
            mid = (lo + hi) // 2
            lo, hi = (mid, hi) if f(mid) > 0.5 else (lo, mid)
        if best is None or hi < best[0]:
            best = (hi, float(p), f(hi))
    paper = int(math.ceil(s * s * math.log(m) / eps ** 2))
    if best is None:
        return WidthPrediction(d_max, float("nan"), float("inf"), paper)
    return WidthPrediction(best[0], best[1], best[2], paper)


def best_p(m: int, s: int, d: int, eps: float = 0.25, trials: int = 10_000, *, superposed: bool = False) -> float:
    """The wiring probability of P_GRID with the fewest predicted exceedances at width d."""
    scores = [expected_exceedances(m, s, d, p, eps, trials, d0=d if superposed else None) for p in P_GRID]
    return float(P_GRID[int(np.argmin(scores))])
