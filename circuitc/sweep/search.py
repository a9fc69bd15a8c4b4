"""The frontier search: the largest T at which a network still passes, by doubling then bisection.

Accuracy is not monotonic in T (an allocation's structure, not only its fill, decides who
neighbours whom; docs/lowering.md), so the search is stated precisely rather than claimed to find
"the" largest passing T: T doubles from T0 until the first failure (or until T_max passes, which
ends the search), then bisects between the last pass and the first failure until the interval is
narrower than `precision` relative to its lower end. The answer is the largest T that passed on
the way.

The search is a generator (`largest_passing_steps`) that yields the T to probe next and receives
whether it passed, so a caller decides how probes run: `largest_passing` calls a function
in turn (benchmarks/frontier.py), the sweep driver runs each probe as a cached point on any
executor, many searches side by side (driver.py).
"""

from __future__ import annotations

from typing import Callable, Generator

__all__ = ["largest_passing_steps", "largest_passing"]


def largest_passing_steps(T0: int, T_max: int, z: int, precision: float) -> Generator[int, bool, int]:
    """Yield each T to probe, receive whether it passed; return the largest T that passed (0: none).

    The first probe is max(T0, z) (a network of fewer than z instances cannot keep the promise),
    capped at T_max. Callers make sure T_max >= z."""
    good, bad = 0, None
    T = min(max(T0, z), T_max)
    while True:
        if (yield T):
            good = T
            if T == T_max:
                return good
            T = min(2 * T, T_max)
        else:
            bad = T
            break
    lo, hi = max(good, z - 1), bad
    while hi - lo > 1 and hi > lo * (1 + precision):
        mid = (lo + hi) // 2 if lo else max(z, hi // 2)
        if mid in (lo, hi):
            break
        if (yield mid):
            lo = good = mid
        else:
            hi = mid
    return good


def largest_passing(passes: Callable[[int], bool], T0: int, T_max: int, z: int, precision: float) -> int:
    """`largest_passing_steps` driven by `passes(T)`, called once per probe in order."""
    steps = largest_passing_steps(T0, T_max, z, precision)
    try:
        T = next(steps)
        while True:
            T = steps.send(bool(passes(T)))
    except StopIteration as stop:
        return stop.value
