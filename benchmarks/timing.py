"""The one timing helper the benchmark scripts share."""

from __future__ import annotations

import time
from typing import Callable, TypeVar

_T = TypeVar("_T")


def best_of(repeat: int, fn: Callable[[], _T]) -> tuple[float, _T]:
    """The shortest of `repeat` wall-clock runs of `fn`, in seconds, and the last run's result."""
    best, value = float("inf"), None
    for _ in range(max(1, repeat)):
        t0 = time.perf_counter()
        value = fn()
        best = min(best, time.perf_counter() - t0)
    return best, value
