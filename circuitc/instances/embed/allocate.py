"""Allocations: which S of a block's n neurons each circuit owns (math.md §1.4).

Every network layer is d blocks of n = D/d neurons, and circuit t owns one S-hot support in every
block. Two supports may share at most one neuron, so that the read-off of a circuit (the mean of
its S neurons) picks up at most 1/S of any other circuit's activation. Two strategies:

- **prime-step** (the construction of the computation-in-superposition papers): for every allowed
  step, walk h, h+step, h+2·step, … for each shift h < step and cut the walk into runs of S
  neurons. A step is allowed when step·(S−1) < n and it has no prime factor below S, or is such a
  step times a power of S (this matters when S is composite). Two allowed steps a ≠ b always
  differ by a factor of at least S after dividing out their gcd, which is what keeps overlaps ≤ 1.
  Loads are uneven: neurons early in a walk are used more often.
- **affine** (finite geometry): take the largest prime q ≥ S with S·q ≤ n and view S·q neurons as
  an S × q grid. Each line y = a·x + b (mod q), x = 0..S−1, is a support: two distinct lines meet in
  at most one point. There are q² lines; the q lines of one slope partition the grid, so taking
  whole slope classes loads every neuron equally, and a partial class adds at most one.

No allocation with overlap ≤ 1 can exceed the pair-packing bound n(n−1)/(S(S−1)).

The routed construction (`constructions/routed.py`) uses a third, which lets two supports share
up to λ neurons ("positions" there):

- **polynomial** (a Reed–Solomon code): with q the largest prime >= S with S·q <= n, instance t is
  the polynomial P_t(x) = Σ_i c_i x^i of degree <= λ whose coefficients are t's digits in base q,
  and its support is {x·q + P_t(x) mod q : x = 0..S−1}. Two distinct polynomials of degree <= λ
  agree on at most λ points, so two supports share at most λ positions, and there are q^(λ+1) of
  them. With S >= λz + 1 no support is covered by z others (a z-cover-free family), which is what
  the routed construction needs. λ = 0 with S = 1 is the partition: one position per instance.

A network of several circuit types can give each type its own range of neurons
(`allocate_segregated`), so instances of different types never share a neuron: measured
(docs/lowering.md, "Mixing circuit types"), an inactive instance that shares a neuron with an active
one of the same type becomes an exact copy of it and does no harm, while one of another type reads
the active instance's values into the wrong gates.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ...errors import CircuitError, Diagnostic

STRATEGIES = ("prime-step", "affine")      # the coherent construction's; routed uses "polynomial"


# ---------------------------------------------------------------- the code's formulas
# The routed construction's three rules, in one place (math.md §4.2): λ (`lam`) is the code's degree,
# the most positions two supports share.

def cover_free_redundancy(lam: int, z: int) -> int:
    """S = λz + 1: the fewest positions per instance for which no support is covered by z others."""
    return lam * z + 1


def lam_of(S: int, z: int) -> int:
    """λ = (S − 1) // z: the largest code degree that S positions keep z-cover-free."""
    return (S - 1) // z


def least_clean(S: int, lam: int, z: int) -> int:
    """c0 = S − λ(z − 1): the positions an active instance keeps that no other active one touches."""
    return S - lam * (z - 1)


def _primes_below(limit: int) -> np.ndarray:
    if limit < 3:
        return np.zeros(0, dtype=np.int64)
    sieve = np.ones(limit, dtype=bool)
    sieve[:2] = False
    for p in range(2, int(limit ** 0.5) + 1):
        if sieve[p]:
            sieve[p * p::p] = False
    return np.flatnonzero(sieve)


def _check_shape(n: int, S: int) -> None:
    if S < 2:
        raise CircuitError(Diagnostic(f"redundancy S = {S} is too small: supports of one neuron cannot overlap "
                                      f"in at most one neuron and still be told apart",
                                      hint="use S >= 2"))
    if n < S:
        raise CircuitError(Diagnostic(f"a block of n = {n} neurons cannot hold a support of S = {S} neurons",
                                      hint="raise the width D or lower S"))


def packing_bound(n: int, S: int) -> int:
    """The most supports any allocation with pairwise overlap <= 1 can have: n(n-1)/(S(S-1))."""
    return n * (n - 1) // (S * (S - 1))


# ---------------------------------------------------------------- prime-step

@lru_cache(maxsize=256)
def allowed_steps(n: int, S: int) -> tuple[int, ...]:
    """The steps of the prime-step construction, ascending."""
    limit = (n - 1) // (S - 1) + 1           # step * (S-1) < n
    small = _primes_below(S)
    steps = np.arange(1, limit)
    ok = np.ones(len(steps), dtype=bool)
    for p in small:
        ok &= steps % p != 0
    base = steps[ok].tolist()
    allowed = set(base)
    if any(S % p == 0 for p in small.tolist()):  # composite S: S itself has small prime factors
        for step in base:
            k = step * S
            while k * (S - 1) < n:
                allowed.add(k)
                k *= S
    return tuple(sorted(allowed))


def prime_step_capacity(n: int, S: int) -> int:
    """How many supports the prime-step construction yields (closed form; nothing is enumerated)."""
    _check_shape(n, S)
    total = 0
    for step in allowed_steps(n, S):
        h = np.arange(step)
        total += int((((n - h + step - 1) // step) // S).sum())
    return total


def prime_step_supports(n: int, S: int, count: int | None = None) -> np.ndarray:
    """The first `count` prime-step supports (all of them by default), shape (count, S), int64.

    Supports come step by step (ascending), so each completed step adds at most one to the load
    of every neuron.
    """
    _check_shape(n, S)
    need = prime_step_capacity(n, S) if count is None else count
    blocks: list[np.ndarray] = []
    have = 0
    for step in allowed_steps(n, S):
        if have >= need:
            break
        h = np.arange(step)
        runs = ((n - h + step - 1) // step) // S          # supports per shift
        shift = np.repeat(h, runs)                         # one entry per support
        run = np.arange(len(shift)) - np.repeat(np.cumsum(runs) - runs, runs)
        first = shift + run * S * step
        blocks.append(first[:, None] + step * np.arange(S)[None, :])
        have += len(first)
    out = np.concatenate(blocks) if blocks else np.zeros((0, S), dtype=np.int64)
    return out[:need]


# ---------------------------------------------------------------- affine (finite geometry)

def affine_prime(n: int, S: int) -> int | None:
    """The prime q of the affine construction: the largest with q >= S and S*q <= n, or None."""
    primes = _primes_below(n // S + 1)
    primes = primes[primes >= S]
    return int(primes[-1]) if len(primes) else None


def affine_capacity(n: int, S: int) -> int:
    _check_shape(n, S)
    q = affine_prime(n, S)
    return 0 if q is None else q * q


def affine_supports(n: int, S: int, count: int | None = None) -> np.ndarray:
    """`count` lines of the S × q grid (all q² by default), whole slope classes first, shape (count, S).

    Neuron (x, y) of the grid is index x·q + y. Lines are ordered by slope, then intercept; a prefix
    of whole slope classes loads every grid neuron equally.
    """
    _check_shape(n, S)
    q = affine_prime(n, S)
    if q is None:
        return np.zeros((0, S), dtype=np.int64)
    count = q * q if count is None else count
    t = np.arange(count)
    slope, intercept = t // q, t % q
    x = np.arange(S)
    y = (slope[:, None] * x[None, :] + intercept[:, None]) % q
    return x[None, :] * q + y


# ---------------------------------------------------------------- polynomial (Reed–Solomon)

def polynomial_prime(n: int, S: int) -> int | None:
    """q of the polynomial code: the largest prime >= S with S·q <= n (for S = 1, any q: n)."""
    if S == 1:
        return n if n >= 1 else None
    return affine_prime(n, S)


def polynomial_capacity(n: int, S: int, lam: int) -> int:
    q = polynomial_prime(n, S)
    return 0 if q is None else q ** (lam + 1)


def polynomial_supports(q: int, S: int, lam: int, count: int) -> np.ndarray:
    """The supports of instances 0..count−1 in the code of prime q (q^(λ+1) >= count), shape
    (count, S): instance t's polynomial has the base-q digits of t as coefficients, lowest first,
    so the first q instances are the constant polynomials, which share no position."""
    if count > q ** (lam + 1):
        raise ValueError(f"{count} instances exceed the {q ** (lam + 1)} polynomials of degree {lam} over F_{q}")
    t = np.arange(count, dtype=np.int64)
    x = np.arange(S, dtype=np.int64)
    y = np.zeros((count, S), dtype=np.int64)
    power = np.ones(S, dtype=np.int64)
    for _ in range(lam + 1):                  # Horner would need the digits reversed; λ is small
        y = (y + (t % q)[:, None] * power[None, :]) % q
        t //= q
        power = (power * x) % q
    return x[None, :] * q + y


# ---------------------------------------------------------------- choosing and checking

@dataclass(frozen=True, eq=False)
class Allocation:
    """T supports of S neurons within a block of n, with the figures reports quote."""

    strategy: str
    n: int
    S: int
    supports: np.ndarray      # (T, S) neuron indices in [0, n), ascending in each row
    capacity: int             # supports the strategy offers at (n, S)
    lam: int | None = None  # polynomial: the code's degree λ (two supports share <= λ); None otherwise

    @property
    def T(self) -> int:
        return int(self.supports.shape[0])

    @property
    def packing_bound(self) -> int | None:
        """The pair-packing bound, which holds for supports sharing at most one neuron."""
        return packing_bound(self.n, self.S) if self.S >= 2 and self.max_shared <= 1 else None

    @property
    def max_shared(self) -> int:
        """The most neurons two supports can share, by construction."""
        return self.lam if self.lam is not None else 1

    @property
    def fill(self) -> float:
        """T over the strategy's capacity: filling an allocation to capacity is never usable."""
        return self.T / self.capacity if self.capacity else float("inf")

    def load(self) -> np.ndarray:
        """Circuits per neuron, shape (n,)."""
        return np.bincount(self.supports.ravel(), minlength=self.n)

    def summary(self) -> dict:
        load = self.load()
        return {"strategy": self.strategy, "n": self.n, "S": self.S, "T": self.T,
                "capacity": self.capacity, "packing_bound": self.packing_bound,
                "fill": round(self.fill, 4), "load_min": int(load.min()), "load_max": int(load.max()),
                "neurons_used": int((load > 0).sum()),
                **({"degree": self.lam} if self.lam is not None else {})}


def max_overlap(supports: np.ndarray) -> int:
    """The most neurons any two supports share (0 or 1 for a valid allocation). Vectorised.

    Two supports share two neurons exactly when some pair of neurons lies in both, so it suffices
    to look for a repeated neuron pair among all supports' pairs.
    """
    T, S = supports.shape
    if T < 2 or S < 2:
        return int(T >= 2 and S >= 1 and len(np.unique(supports)) < supports.size)
    rows = np.sort(supports, axis=1)
    i, j = np.triu_indices(S, k=1)
    n = int(rows.max()) + 1
    pair = rows[:, i] * n + rows[:, j]                       # (T, S(S-1)/2)
    owner = np.repeat(np.arange(T), len(i))
    order = np.argsort(pair.ravel(), kind="stable")
    p, o = pair.ravel()[order], owner[order]
    same = p[1:] == p[:-1]
    if not same.any():
        return 1 if len(np.unique(rows)) < rows.size else 0
    # A repeated pair: count how many neurons the two owners share.
    a, b = o[1:][same][0], o[:-1][same][0]
    return len(np.intersect1d(rows[a], rows[b]))


def capacities(n: int, S: int) -> dict[str, int]:
    return {"prime-step": prime_step_capacity(n, S), "affine": affine_capacity(n, S)}


def allocate(T: int, n: int, S: int, strategy: str = "auto", *, d: int | None = None) -> Allocation:
    """T supports for one layer. Refuses, before building anything, when T does not fit.

    "auto" takes the strategy with the larger capacity at (n, S): by the fill-fraction law of
    math.md §1.5 the propagation error grows with T/capacity, and the affine loads are even.
    `d` (blocks per layer) only makes the error message speak in terms of the width D = n·d.
    """
    _check_shape(n, S)
    caps = capacities(n, S)
    if strategy == "auto":
        strategy = max(STRATEGIES, key=lambda s: (caps[s], s == "affine"))
    elif strategy not in STRATEGIES:
        raise CircuitError(Diagnostic(f"unknown allocation strategy {strategy!r}",
                                      expected=", ".join(("auto",) + STRATEGIES)))
    if T > caps[strategy]:
        raise CircuitError(_does_not_fit(T, n, S, strategy, caps, d))
    build = prime_step_supports if strategy == "prime-step" else affine_supports
    supports = np.sort(build(n, S, T), axis=1)
    return Allocation(strategy, n, S, supports, caps[strategy])


def _does_not_fit(T: int, n: int, S: int, strategy: str, caps: dict[str, int], d: int | None) -> Diagnostic:
    cap_fn = prime_step_capacity if strategy == "prime-step" else affine_capacity
    wider = n
    while cap_fn(wider, S) < T and wider < 64 * n + 1024:
        wider += 1
    smaller_S = next((s for s in range(S - 1, 1, -1) if cap_fn(n, s) >= T), None)
    width = (lambda m: f"D = {m * d}") if d else (lambda m: f"n = {m} neurons per block")
    fixes = []
    if cap_fn(wider, S) >= T:
        fixes.append(f"raise the width to {width(wider)}")
    if smaller_S is not None:
        fixes.append(f"lower the redundancy to S = {smaller_S}")
    other = next((s for s in STRATEGIES if s != strategy and caps[s] >= T), None)
    if other:
        fixes.append(f'use allocation "{other}" (capacity {caps[other]})')
    fixes.append(f"use fewer than {caps[strategy] + 1} instances")
    return Diagnostic(f"{T} circuit instances do not fit: with {width(n)} and S = {S} the {strategy} allocation "
                      f"holds {caps[strategy]} (pair-packing bound for any allocation: {packing_bound(n, S)})",
                      hint="; or ".join(fixes))


# ---------------------------------------------------------------- one range of neurons per type

def split_blocks(counts, n: int, S: int) -> np.ndarray:
    """Neurons per instance type, summing to n: proportional to √count (capacities grow like the
    square of a range, so this fills every range alike), at least S each, by largest remainders."""
    counts = np.asarray(counts, dtype=np.float64)
    k = len(counts)
    if n < S * k:
        return np.full(k, n // k)                   # too narrow for every type; the caller refuses
    share = np.sqrt(counts) / np.sqrt(counts).sum() * (n - S * k)
    sizes = S + np.floor(share).astype(np.int64)
    rest = n - int(sizes.sum())
    sizes[np.argsort(-(share - np.floor(share)), kind="stable")[:rest]] += 1
    return sizes


def segregated_capacities(counts, n: int, S: int) -> dict[str, int]:
    """Per strategy, the summed capacities of the types' ranges when every type fits in its own
    range, and 0 when one does not."""
    sizes = split_blocks(counts, n, S)
    out = {}
    for strategy in STRATEGIES:
        caps = [capacities(int(m), S)[strategy] if m >= S else 0 for m in sizes]
        out[strategy] = sum(caps) if all(c >= t for c, t in zip(caps, counts)) else 0
    return out


def allocate_segregated(counts, n: int, S: int, strategy: str = "auto", *, d: int | None = None) -> Allocation:
    """Supports for instances grouped by type (type 0's first): type k's lie in its own range of
    `split_blocks` neurons, so two instances of different types share no neuron."""
    counts = [int(c) for c in counts]
    sizes = split_blocks(counts, n, S)
    caps = segregated_capacities(counts, n, S)
    if strategy == "auto":
        strategy = max(STRATEGIES, key=lambda s: (caps[s], s == "affine"))
    elif strategy not in STRATEGIES:
        raise CircuitError(Diagnostic(f"unknown allocation strategy {strategy!r}",
                                      expected=", ".join(("auto",) + STRATEGIES)))
    if not caps[strategy]:
        width = (lambda m: f"D = {m * d}") if d else (lambda m: f"n = {m}")
        ranges = ", ".join(f"{c} instances in {width(int(m))}" for c, m in zip(counts, sizes))
        raise CircuitError(Diagnostic(
            f"{sum(counts)} instances of {len(counts)} circuit types do not fit with one range of neurons "
            f"per type at S = {S} ({strategy}: {ranges})",
            hint="raise the width D, use fewer instances, or let the types share neurons (segregate off)"))
    build = prime_step_supports if strategy == "prime-step" else affine_supports
    parts, start = [], 0
    for count, size in zip(counts, sizes):          # one range per type: a handful of types
        parts.append(np.sort(build(int(size), S, count), axis=1) + start)
        start += int(size)
    return Allocation(strategy, n, S, np.concatenate(parts), caps[strategy])


# ---------------------------------------------------------------- the routed construction's code

def routed_ranges(counts, n: int, S: int, lam: int) -> list[int] | None:
    """Per instance type, the prime q of its own range of S·q positions: the smallest prime >= S
    whose q^(λ+1) codewords hold the type's instances (for a single type the largest that
    fits, spreading the instances); None when the ranges do not fit in n positions."""
    counts = [int(c) for c in counts]
    if S == 1:                                   # degree 0: one position per instance
        return counts if sum(counts) <= n else None
    if len(counts) == 1:
        q = polynomial_prime(n, S)
        return [q] if q is not None and q ** (lam + 1) >= counts[0] else None
    qs = _type_primes(counts, S, lam, n + 1)
    return qs if qs is not None and S * sum(qs) <= n else None


def _type_primes(counts, S: int, lam: int, limit: int) -> list[int] | None:
    """Per type, the smallest prime q >= S whose q^(λ+1) codewords hold its count (None if one
    needs a prime above `limit`)."""
    primes = _primes_below(limit + 1)
    qs = []
    for c in counts:
        need = max(S, int(np.ceil(c ** (1.0 / (lam + 1)) - 1e-9)))
        while need ** (lam + 1) < c:
            need += 1
        fit = primes[primes >= need]
        if not len(fit):
            return None
        qs.append(int(fit[0]))
    return qs


def positions_needed(counts, S: int, lam: int) -> int:
    """The positions one range per type takes at the code (S, λ) with several types: S·q for each
    (the smallest prime q >= S whose q^(λ+1) holds its count), one per instance at S = 1."""
    counts = [int(c) for c in counts]
    if S == 1:
        return sum(counts)
    bound = max(S, max(counts)) + 1
    qs = _type_primes(counts, S, lam, 2 * bound)          # a prime lies between x and 2x
    return S * sum(qs)


def allocate_routed(counts, n: int, S: int, lam: int) -> Allocation:
    """Polynomial-code supports for instances grouped by type (type 0's first), each type in its own
    range of positions (`routed_ranges`). Refuses with the numbers when they do not fit."""
    qs = routed_ranges(counts, n, S, lam)
    if qs is None:
        raise CircuitError(Diagnostic(
            f"{sum(counts)} instances do not fit a degree-{lam} code of S = {S} positions in n = {n}",
            hint="raise the width D, use fewer instances, or leave S unset so the compiler picks the degree"))
    parts, start = [], 0
    for count, q in zip(counts, qs):
        if S == 1:
            parts.append(start + np.arange(count, dtype=np.int64)[:, None])
            start += count
        else:
            parts.append(np.sort(polynomial_supports(q, S, lam, count), axis=1) + start)
            start += S * q
    if S == 1:                  # a partition: all n positions for one type, its own count each for several
        capacity = n if len(qs) == 1 else sum(qs)
    else:
        capacity = sum(q ** (lam + 1) for q in qs)
    return Allocation("polynomial", n, S, np.concatenate(parts), capacity, lam)
