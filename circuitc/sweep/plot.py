"""A figure of a sweep: one column of its merged table against T or D, one line per series.

A series is a combination of the other columns that vary (the target and the knobs other than
the x axis), so a grid over D × z × construction plotted against D draws one line per (z,
construction). matplotlib is optional (`pip install 'circuitc[plot]'`) and imported only here,
drawn on a `Figure` of its own (no pyplot), as `circuitc verify --plot` does (circuitc/plot.py).
"""

from __future__ import annotations

import io
import os
from typing import Any

from ..errors import CircuitError, Diagnostic
from ..fileio import write_atomic
from ..plot import require_matplotlib
from .driver import SweepResult

__all__ = ["plot_sweep", "default_axes", "AXES"]

AXES = ("T", "D")


def default_axes(result: SweepResult) -> tuple[str, str]:
    """(x, y): T when the grid varies it (else D); the job's headline figure."""
    if result.frontier is not None:
        return "D", "frontier_T"
    x = "T" if "T" in result.grid.varying() else "D"
    return x, "fill" if result.grid.job == "budget" else "bit_accuracy"


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def plot_sweep(result: SweepResult, path: str | os.PathLike, x: str | None = None, y: str | None = None,
               force: bool = False) -> None:
    """Draw column `y` of the merged table against `x` ("T" or "D") into a PNG at `path`
    (atomically; an existing file is replaced only with `force`)."""
    require_matplotlib()
    from matplotlib.figure import Figure

    dx, dy = default_axes(result)
    x, y = x or dx, y or dy
    rows = result.frontier if result.frontier is not None else result.rows
    if x not in AXES:
        raise CircuitError(Diagnostic(f"cannot plot against {x!r}", expected=" or ".join(AXES)))
    if not any(_number(r.get(y)) for r in rows):
        numeric = sorted({k for r in rows for k, v in r.items() if _number(v)} - set(AXES))
        raise CircuitError(Diagnostic(f"the table has no numbers in column {y!r} to plot",
                                      hint=f"columns with numbers: {', '.join(numeric) or 'none'}"))
    if not any(_number(r.get(x)) for r in rows):
        raise CircuitError(Diagnostic(f"the table has no {x} values to plot against",
                                      hint="plot against the other axis (--x T or --x D)"))
    series_keys = (["target"] if len({r["target"] for r in rows}) > 1 else []) + [k for k in result.grid.varying()
                                                                                  if k != x]
    series: dict[tuple, list[tuple[float, float]]] = {}
    for r in rows:
        if _number(r.get(x)) and _number(r.get(y)):
            series.setdefault(tuple(r.get(k) for k in series_keys), []).append((r[x], r[y]))

    fig = Figure(figsize=(7.0, 4.4))
    ax = fig.add_subplot()
    markers, styles = "osD^vP*X", ("-", "--", ":", "-.")
    for i, (key, pts) in enumerate(series.items()):
        pts.sort()
        label = ", ".join(f"{k} = {v}" for k, v in zip(series_keys, key)) or None
        # Series often coincide (every exact point at accuracy 1): markers of falling size and
        # varied dashes keep each one visible under the next.
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker=markers[i % len(markers)],
                ms=max(3.0, 9.0 - 0.8 * i), ls=styles[i % len(styles)], color=f"C{i % 10}", label=label, alpha=0.85)
    xs = [r[x] for r in rows if _number(r.get(x)) and r[x] > 0]
    if xs and max(xs) >= 8 * min(xs):           # a range of doublings reads best on a log axis
        ax.set_xscale("log", base=2)
    ys = [p[1] for pts in series.values() for p in pts]
    if min(ys) > 0 and max(ys) >= 100 * min(ys):    # capacities spanning orders of magnitude
        ax.set_yscale("log")
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.set_title(f"{result.grid.name}: {y} against {x} ({result.grid.job})", fontsize=10)
    ax.grid(alpha=0.3)
    if any(k for k in series):                  # beside the axes, where it hides no point
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    write_atomic(path, buf.getvalue(), force=force)
