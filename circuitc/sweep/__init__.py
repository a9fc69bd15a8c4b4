"""Sweeps: many compile+verify (or budget) points over a grid of knobs, cached, on any executor.

    grid.py       grid files (TOML): source, targets, job, verify settings, knob lists; checked up front
    point.py      one point: its identity and key, the network it compiles (T scaled), its memory estimate
    execute.py    running one point into a record (loads torch and the back ends, in the workers only)
    search.py     the frontier search (doubling, then bisection) as a generator of probes
    executors.py  where points run: in this process, local worker processes, or Dask distributed
    results.py    the results directory (one JSON record per point, written atomically) and the merged table
    progress.py   done / running / failed / skipped and an ETA, on standard error
    driver.py     `Sweep`: the loop that asks for points, skips those on disk, submits the rest, and
                  writes their records and the table; Ctrl-C stops it with every finished point kept
    plot.py       a column of the table against T or D (matplotlib, optional)

`circuitc sweep GRID.toml` is the command line over `Sweep` (docs/sweeps.md).
"""

from .driver import Sweep, SweepInterrupted, SweepResult, run_sweep, summary
from .executors import DaskExecutor, Executor, InProcess, LocalPool, make_executor
from .grid import Grid, Target, grid_from_dict, load_grid
from .point import Point, figures_equal, scale_counts
from .search import largest_passing, largest_passing_steps

__all__ = ["Sweep", "SweepResult", "SweepInterrupted", "run_sweep", "summary", "Grid", "Target", "load_grid",
           "grid_from_dict", "Point", "scale_counts", "figures_equal", "Executor", "InProcess",
           "LocalPool", "DaskExecutor", "make_executor", "largest_passing", "largest_passing_steps"]
