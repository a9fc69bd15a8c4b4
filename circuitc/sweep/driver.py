"""The sweep driver: a grid's points (or frontier searches) run on an executor, cached on disk.

    sweep = Sweep("grid.toml", "out")          # reads the grid and the source; checks both
    result = sweep.run(workers=2)              # or scheduler="tcp://host:8786", or client=...
    print(result.markdown())

The driver alone touches the results directory: workers return records and the driver writes
each one as it arrives, so a worker needs no access to it, and a point either has its whole
record on disk or none. Before submitting a point the driver looks for its record: found, the
point is skipped (a failed one runs again with `retry_failed`, every one with `rerun`).

A frontier job runs one search per combination of knobs (search.py), all side by side: each
search has at most one probe running, and a probe is an ordinary compile+verify point, so an
interrupted search replays its finished probes from disk and continues where it stopped.

Interrupts: the first Ctrl-C (KeyboardInterrupt) stops submitting and waits for the running
points, whose records are kept; a second abandons them. Either way the merged table is written
and `SweepInterrupted` (a KeyboardInterrupt carrying the partial result) is raised.
"""

from __future__ import annotations

import os
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..errors import CircuitError, Diagnostic
from ..frontend.load import load_spec
from ..spec import BoolCircuit, Spec
from .executors import Executor, make_executor
from .grid import Grid, Target, grid_from_dict, load_grid, located_error
from .point import Point, estimate_memory
from .progress import Counts, SweepProgress, duration
from .results import MARKER, Store, markdown, passed, point_row, table_columns
from .search import largest_passing_steps

__all__ = ["Sweep", "SweepResult", "SweepInterrupted", "run_sweep", "summary"]


class SweepInterrupted(KeyboardInterrupt):
    """A sweep stopped by Ctrl-C; `result` holds what finished (every finished point is on disk)."""

    def __init__(self, result: "SweepResult"):
        super().__init__("sweep interrupted")
        self.result = result


@dataclass
class SweepResult:
    """What a sweep run (or `Sweep.report`) found. `rows`: one per point of the grid, in grid
    order (a frontier job: every probe decided so far); `frontier`: a frontier job's searches."""

    grid: Grid
    output: Path
    records: list[dict]
    rows: list[dict]
    frontier: list[dict] | None
    counts: Counts
    seconds: float
    executor: str
    source_hash: str
    interrupted: bool = False

    @property
    def failed(self) -> list[dict]:
        return [r for r in self.records if r["status"] == "failed"]

    def table(self) -> dict:
        """The merged table as JSON-ready data (table.json)."""
        return {"grid": os.fspath(self.grid.path) if self.grid.path else None, "job": self.grid.job,
                "source": os.fspath(self.grid.source), "source_hash": self.source_hash,
                "executor": self.executor, "seconds": self.seconds, "interrupted": self.interrupted,
                "counts": self.counts.as_dict(), "points": self.rows,
                **({"frontier": self.frontier} if self.frontier is not None else {})}

    def markdown(self) -> str:
        """The merged table in markdown (table.md), with the refused and failed points' messages."""
        rows = self.frontier if self.frontier is not None else self.rows
        columns = table_columns(self.grid, self.frontier is not None)
        if len({r["target"] for r in rows}) > 1 and "target" not in columns:
            columns.insert(0, "target")
        # A search's refused probes are part of how it ends (its `limited by`), not news.
        listed = ("failed",) if self.frontier is not None else ("refused", "failed")
        notes = [f"- {r['label']}: {r['status']}: {r['error']}" for r in self.rows
                 if r["status"] in listed and r.get("error")]
        return markdown(rows, columns, notes)


# ============================================================================================
# The sweep


class Sweep:
    """A grid (a grid file's path, a parsed `Grid`, or a dict of its contents, paths relative to
    `base_dir`) and the directory its results go to (default: `GRID-NAME-sweep`)."""

    def __init__(self, grid: Grid | str | os.PathLike | dict, output: str | os.PathLike | None = None, *,
                 base_dir: str | os.PathLike = "."):
        if isinstance(grid, dict):
            grid = grid_from_dict(grid, base_dir=base_dir)
        elif not isinstance(grid, Grid):
            grid = load_grid(grid)
        self.grid = grid
        self.output = Path(output) if output is not None else Path(f"{grid.name}-sweep")
        self.spec = self._load_source()
        self.targets = self._check_targets()
        self._points: list[Point] | None = None

    def _load_source(self) -> Spec:
        source = self.grid.source
        if not source.is_file():
            raise located_error(self.grid, f"the source {os.fspath(source)} does not exist", None, "source",
                                hint="the source is read relative to the grid file's folder")
        return load_spec(source)

    def _check_targets(self) -> tuple[Target, ...]:
        spec, grid = self.spec, self.grid
        if not grid.targets:
            if not spec.networks:
                raise located_error(grid, f"{spec.source} declares no network, and the grid names none", None,
                                    "source", hint='name circuits to compile as networks of their own: '
                                                   'circuits = ["NAME", ...]')
            return tuple(Target("network", n.name) for n in spec.networks)
        for t in grid.targets:
            keys = ("circuits",) if t.kind == "circuit" else ("networks", "network")
            try:
                if t.kind == "circuit":
                    c = spec.circuit(t.name)
                    if isinstance(c, BoolCircuit) and c.features is not None:
                        raise CircuitError(Diagnostic(f"`{t.name}` is a circuit over a feature set",
                                                      hint="a sweep compiles networks of circuit instances; "
                                                           "circuits over feature sets compile with "
                                                           "`circuitc compile --circuit`"))
                else:
                    spec.network(t.name)
            except CircuitError as e:
                d = e.diagnostics[0]
                raise located_error(grid, d.message, None, keys, hint=d.hint) from None
        return grid.targets

    # ---------------------------------------------------------------- the points

    def _point(self, target: Target, knobs: dict, T: int | None, job: str) -> Point:
        T = knobs.pop("T", T)
        verify = tuple(self.grid.verify.identity().items()) if job == "compile+verify" else None
        return Point(job, target, tuple(knobs.items()), T, verify, self.spec.source_hash, os.fspath(self.grid.source))

    def points(self) -> list[Point]:
        """The grid's points in order (targets, then the knobs' product); a frontier job: none
        up front (its probes are decided as it runs)."""
        if self._points is None:
            if self.grid.job == "frontier":
                self._points = []
            else:
                self._points = [self._point(t, dict(c), None, self.grid.job)
                                for t in self.targets for c in self.grid.combinations()]
        return self._points

    def searches(self) -> list["FrontierLine"]:
        """A frontier job's searches, one per target and combination of knobs."""
        if self.grid.job != "frontier":
            return []
        out = []
        for t in self.targets:
            for c in self.grid.combinations():
                z = c.get("z", 1 if t.kind == "circuit" else self.spec.network(t.name).z)
                out.append(FrontierLine(self, t, c, z))
        return out

    # ---------------------------------------------------------------- running

    def run(self, *, workers: int | None = None, scheduler: str | None = None, client: Any = None,
            executor: Executor | None = None, memory_resource: str | None = None, retry_failed: bool = False,
            rerun: bool = False, progress: bool | None = None,
            on_point: Callable[[dict], None] | None = None) -> SweepResult:
        """Run every point without a record (see `make_executor` for where), write each record as it
        finishes, then the merged table. `on_point(record)` is called for each point run."""
        executor = executor or make_executor(workers, scheduler, client, memory_resource)
        store = Store(self.output).open()
        return _Run(self, store, executor, retry_failed=retry_failed, rerun=rerun,
                    progress=SweepProgress(progress), on_point=on_point).go()

    def report(self) -> SweepResult:
        """The merged table of the records already on disk; runs nothing."""
        if not (self.output / MARKER).is_file():
            raise CircuitError(Diagnostic(f"{os.fspath(self.output)} holds no sweep results",
                                          hint="run the sweep first, or give its directory with -o"))
        return _Run(self, Store(self.output), None, progress=SweepProgress(False)).go()


def run_sweep(grid: Grid | str | os.PathLike | dict, output: str | os.PathLike | None = None, *,
              base_dir: str | os.PathLike = ".", **options) -> SweepResult:
    """`Sweep(grid, output, base_dir=base_dir).run(**options)`."""
    return Sweep(grid, output, base_dir=base_dir).run(**options)


# ============================================================================================
# A frontier search


class FrontierLine:
    """One frontier search: the largest T passing at the grid's accuracy on random and (when the
    grid asks for them) adversarial rows, every probe a compile+verify point."""

    def __init__(self, sweep: Sweep, target: Target, knobs: dict, z: int):
        self.sweep, self.target, self.knobs, self.z = sweep, target, knobs, z
        s = sweep.grid.frontier
        self.settings = s
        self.probes: dict[int, dict] = {}           # T -> record, in probe order
        self.asked: int | None = None
        self.frontier_T: int | None = None
        self.status = "incomplete"
        self.steps = largest_passing_steps(s.T0, s.T_max, z, s.precision) if s.T_max >= z else None

    def point(self, T: int) -> Point:
        return self.sweep._point(self.target, dict(self.knobs), T, "compile+verify")

    def start(self) -> Point | None:
        if self.steps is None:                      # T_max below z: no network keeps the promise
            self.frontier_T, self.status = 0, "done"
            return None
        self.asked = next(self.steps)
        return self.point(self.asked)

    def feed(self, record: dict) -> Point | None:
        """The record of the probe asked for; returns the next probe, or None when done."""
        self.probes[self.asked] = record
        ok = passed(record, self.sweep.grid.verify)
        if ok is None:                              # failed: the search cannot go on without it
            self.status = "failed"
            return None
        try:
            self.asked = self.steps.send(ok)
        except StopIteration as stop:
            self.frontier_T, self.status = stop.value, "done"
            return None
        return self.point(self.asked)

    def row(self) -> dict:
        s, grid = self.settings, self.sweep.grid
        row: dict[str, Any] = {"target": self.target.name,
                               **{k: ("auto" if v is None else v) for k, v in self.knobs.items()},
                               "T_max": s.T_max, "frontier_T": self.frontier_T, "status": self.status}
        best = self.probes.get(self.frontier_T) if self.frontier_T else None
        if best is not None:
            r = point_row(best, grid)
            row.update({k: r.get(k) for k in ("compression", "D_used", "S_used", "construction_used", "bit_accuracy",
                                               "adversarial_bit_accuracy", "instance_accuracy", "real_max_error")})
        if self.status == "done":
            above = sorted(T for T, rec in self.probes.items() if T > (self.frontier_T or 0))
            first_fail = self.probes[above[0]] if above else None
            row["limited_by"] = ("T_max < z" if self.steps is None else "T_max" if self.frontier_T == s.T_max
                                 else "refused" if first_fail and first_fail["status"] == "refused" else "accuracy")
        elif self.status == "failed":
            row["error"] = point_row(self.probes[self.asked], grid)["error"]
        row["probes"] = len(self.probes)
        row["probe_detail"] = [{"T": T, "status": rec["status"], "passed": passed(rec, grid.verify), "key": rec["key"],
                                "bit_accuracy": point_row(rec, grid).get("bit_accuracy"),
                                "adversarial_bit_accuracy": point_row(rec, grid).get("adversarial_bit_accuracy")}
                               for T, rec in self.probes.items()]
        return row


# ============================================================================================
# One run


@dataclass
class _Run:
    sweep: Sweep
    store: Store
    executor: Executor | None                   # None: report only, nothing runs
    retry_failed: bool = False
    rerun: bool = False
    progress: SweepProgress = field(default_factory=lambda: SweepProgress(False))
    on_point: Callable[[dict], None] | None = None

    def __post_init__(self):
        self.records: dict[str, dict] = {}
        self.waiting: dict[str, list[Callable[[dict], None]]] = {}
        self.queue: deque[Point] = deque()
        self.inflight: dict[Any, Point] = {}
        self.replace: dict[str, bool] = {}
        self.asked: dict[str, Point] = {}            # every point asked for, in order
        self.counts = Counts()
        self.stopping = self.executor is None
        self.memory: dict[str, int] = {}
        self.depths: dict[str, int] = {}
        self.lines: list[FrontierLine] = []
        self.started = False

    # ---------------------------------------------------------------- bookkeeping

    def request(self, point: Point, then: Callable[[dict], None] | None = None) -> None:
        """Ask for a point's record: from disk, from this run, or by running it; `then(record)`
        when it is there."""
        key = point.key
        if key in self.records:
            if then:
                then(self.records[key])
            return
        if key in self.waiting:
            if then:
                self.waiting[key].append(then)
            return
        self.asked[key] = point
        self.counts.total += 1
        record = None if self.rerun else self.store.read(point)
        self.waiting[key] = [then] if then else []
        if record is not None and not (self.retry_failed and record["status"] == "failed" and not self.stopping):
            self.finish(point, record, skipped=True)
            return
        if self.stopping:                        # report only, or interrupted: it stays to run
            del self.waiting[key]
            return
        self.replace[key] = record is not None or self.rerun
        self.queue.append(point)

    def finish(self, point: Point, record: dict, skipped: bool) -> None:
        key = point.key
        self.records[key] = record
        c = self.counts
        c.done += 1
        c.skipped += skipped
        c.failed += record["status"] == "failed"
        c.refused += record["status"] == "refused"
        if not skipped:
            if key in self.memory:               # what the driver estimated before submitting it
                record["timing"]["memory_estimate_bytes"] = self.memory[key]
            self.store.write(record, replace=self.replace.get(key, False))
            if record["status"] == "failed":
                self.progress.note(f"failed: {point.label()}: {record['error'].splitlines()[0]}")
        for then in self.waiting.pop(key, []):
            then(record)
        if not skipped and self.on_point is not None:
            self.on_point(record)

    # ---------------------------------------------------------------- the loop

    def go(self) -> SweepResult:
        t0 = time.monotonic()
        sweep, executor = self.sweep, self.executor
        interrupted = False
        try:
            for p in sweep.points():
                self.request(p)
            self.lines = sweep.searches()
            for line in self.lines:
                self._advance(line, line.start())
            self._loop()
        except KeyboardInterrupt:
            interrupted = True
            self._drain()
        except BaseException:
            if self.started:                # nothing will collect them: stop them now
                executor.abandon(set(self.inflight))
            raise
        finally:
            if self.started:
                executor.close()
            self.progress.stop()
        result = self._result(time.monotonic() - t0, interrupted)
        self.store.write_tables(result.table(), result.markdown())
        if interrupted:
            raise SweepInterrupted(result)
        return result

    def _advance(self, line: FrontierLine, point: Point | None) -> None:
        if point is not None:
            self.request(point, lambda record: self._advance(line, line.feed(record)))

    def _submit(self) -> None:
        if self.queue and not self.started and not self.stopping:
            # Started on the first point to run: a sweep found whole on disk starts no workers. The
            # queue then holds every point that can ever run at once (a search has one at a time).
            self.executor.fit(len(self.queue))
            self.executor.start({self.sweep.spec.source_hash: self.sweep.spec})
            self.started = True
            # Largest first (by the estimate, whose dense layers stand for the work too): the last
            # points to finish are then small ones, and workers idle less at the end. Records do
            # not depend on the order; the table keeps the grid's.
            for point in self.queue:
                self._estimate(point)
            self.queue = deque(sorted(self.queue, key=lambda p: -self.memory[p.key]))
        cap = self.executor.capacity()
        while self.queue and (cap is None or len(self.inflight) < cap) and not self.stopping:
            point = self.queue.popleft()
            handle = self.executor.submit(point, self._estimate(point))
            self.inflight[handle] = point

    def _estimate(self, point: Point) -> int:
        if point.key not in self.memory:
            self.memory[point.key] = estimate_memory(point, self.sweep.spec, self.depths)
        return self.memory[point.key]

    def _collect(self, timeout: float) -> None:
        if not self.inflight:
            return
        done = self.executor.wait(set(self.inflight), timeout)
        # In the order submitted, so that records are written (and searches advanced) in a
        # reproducible order whatever finished first.
        for handle in [h for h in self.inflight if h in done]:
            point = self.inflight.pop(handle)
            self.finish(point, self.executor.outcome(handle, point), skipped=False)

    def _show(self) -> None:
        self.counts.running = self.executor.running(set(self.inflight)) if self.inflight else 0
        self.progress.update(self.counts)

    def _loop(self) -> None:
        while self.queue or self.inflight:
            self._submit()
            self._show()
            self._collect(timeout=0.5)
        self._show()

    def _drain(self) -> None:
        """After an interrupt: nothing new starts; running points finish unless interrupted again."""
        self.stopping = True
        self.queue.clear()
        if self.executor is None or not self.inflight:
            return
        self.executor.stop(set(self.inflight))
        self.progress.note(f"interrupted: no new point starts; waiting for the {len(self.inflight)} submitted "
                           f"(Ctrl-C again to abandon them)")
        try:
            while self.inflight:
                self._collect(timeout=0.5)
                self._show()
        except KeyboardInterrupt:
            self.executor.abandon(set(self.inflight))
            self.inflight.clear()

    def _result(self, seconds: float, interrupted: bool) -> SweepResult:
        sweep = self.sweep
        records = [self.records[k] for k in self.asked if k in self.records]
        rows = []
        for key, point in self.asked.items():
            if key in self.records:
                rows.append({**point_row(self.records[key], sweep.grid), "label": point.label()})
            else:
                rows.append({"target": point.target.name,
                             **{k: ("auto" if v is None else v) for k, v in point.knobs}, "T": point.T,
                             "status": "not run", "key": key, "label": point.label()})
        frontier = [line.row() for line in self.lines] if sweep.grid.job == "frontier" else None
        self.counts.running = 0
        return SweepResult(sweep.grid, sweep.output, records, rows, frontier, self.counts, seconds,
                           self.executor.describe() if self.started else "no worker (nothing to run)",
                           sweep.spec.source_hash,
                           interrupted)


def summary(result: SweepResult) -> str:
    """Two lines for people: what ran, and how to go on."""
    c = result.counts
    state = "interrupted" if result.interrupted else "finished"
    lines = [f"sweep {state} in {duration(result.seconds)} on {result.executor}: {c.done} of {c.total} points have "
             f"records ({c.ran} ran now, {c.skipped} found on disk); {c.refused} refused, {c.failed} failed; "
             f"results in {os.fspath(result.output)}/ (table.md, table.json, points/)"]
    return "\n".join(lines)
