"""Where points run: the seam between the sweep driver and an engine that runs functions.

Three executors behind one small interface (`Executor`):

- `InProcess`: one point at a time, in the calling process (no start-up cost; a debugger and
  a traceback see everything);
- `LocalPool`: a `concurrent.futures.ProcessPoolExecutor` of N worker processes on this machine,
  started with "spawn" (a fresh interpreter: forking a process whose torch already runs threads
  can deadlock), each worker ignoring Ctrl-C (the driver decides what an interrupt stops) and
  running torch on one thread;
- `DaskExecutor`: a Dask distributed cluster, reached by a scheduler address, a `Client` or a
  cluster object; any number of machines. Dask is optional (`pip install 'circuitc[dask]'`) and
  imported only here, when asked for.

Every executor hands workers the parsed sources once (a pool's initializer, Dask's scatter), not
paths, so a worker needs circuitc installed but not the files, and runs `execute.run_point`, which
never raises for a problem of the point. What can still go wrong is the engine's: a worker process
killed (out of memory, a signal) or lost with its machine. `outcome` turns that into a failed
record, so the sweep goes on and the point is retried with `--retry-failed`.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import signal
import threading
import uuid
from abc import ABC, abstractmethod
from typing import Any

from ..errors import CircuitError, Diagnostic
from ..lazy import resolve
from ..spec import Spec
from .point import Point, make_record

__all__ = ["Executor", "InProcess", "LocalPool", "DaskExecutor", "make_executor", "DASK_HINT", "default_workers"]

DASK_HINT = "pip install 'circuitc[dask]'"


def run_point(point: Point, spec: Spec) -> dict:
    """`execute.run_point`, imported when a point first runs: it loads torch and the back ends,
    which planning, caching and merging a sweep never need."""
    return resolve("circuitc.sweep.execute.run_point")(point, spec)


def default_workers() -> int:
    """The cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:                      # not on Linux
        return max(1, os.cpu_count() or 1)


class Executor(ABC):
    """Runs points. `capacity` is how many the driver keeps submitted at once (None: as many as
    are ready, for engines that queue and scale themselves)."""

    name = "executor"
    workers = 1

    def fit(self, points: int) -> None:
        """Called before `start` with the most points that will ever run at once."""

    def start(self, specs: dict[str, Spec]) -> None:
        """Make the sources (by hash) available to the workers."""

    def capacity(self) -> int | None:
        return self.workers

    @abstractmethod
    def submit(self, point: Point, memory: int) -> Any:
        """Start `point` (needing about `memory` bytes); a handle `wait` and `outcome` take."""

    def wait(self, handles: set, timeout: float) -> set:
        """The handles among `handles` that are done, waiting up to `timeout` seconds for one."""
        done, _ = cf.wait(handles, timeout=timeout, return_when=cf.FIRST_COMPLETED)
        return done

    def outcome(self, handle: Any, point: Point) -> dict:
        """The record of a finished handle; the engine's failures become failed records."""
        try:
            return handle.result()
        except cf.CancelledError:
            return make_record(point, "failed", "cancelled before it finished", None, None)
        except Exception as e:
            return make_record(point, "failed", self.lost(e), None, None)

    def lost(self, e: BaseException) -> str:
        return f"the executor lost the point: {type(e).__name__}: {e}"

    def running(self, handles: set) -> int:
        return sum(not h.done() for h in handles)

    def stop(self, handles: set) -> None:
        """Stop what has not started (an interrupt): running points finish."""

    def abandon(self, handles: set) -> None:
        """Stop everything now (a second interrupt): running points are lost."""

    def close(self) -> None:
        pass

    def describe(self) -> str:
        return self.name


class InProcess(Executor):
    """One point at a time in this process; `submit` runs it (a Ctrl-C interrupts it)."""

    name = "1 worker (this process)"

    def start(self, specs: dict[str, Spec]) -> None:
        self.specs = specs

    def submit(self, point: Point, memory: int) -> cf.Future:
        future: cf.Future = cf.Future()
        future.set_result(run_point(point, self.specs[point.source_hash]))
        return future


# ---------------------------------------------------------------- local processes

_WORKER_SPECS: dict[str, Spec] = {}


def _init_worker(specs: dict[str, Spec]) -> None:
    # Ctrl-C reaches the whole process group; the driver alone decides what it stops, and lets
    # running points finish (their results are kept) unless asked twice.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    import torch

    torch.set_num_threads(1)
    _WORKER_SPECS.update(specs)


def _pool_task(point: Point) -> dict:
    return run_point(point, _WORKER_SPECS[point.source_hash])


def _started() -> int:
    return os.getpid()


_START_HINT = ("worker processes start as fresh interpreters that import the calling script: run the sweep under "
               "`if __name__ == \"__main__\":` in a script (not from standard input), or in one process with "
               "workers=1 (--workers 1)")


class LocalPool(Executor):
    """N worker processes on this machine, one point each at a time."""

    name = "local processes"

    def __init__(self, workers: int):
        if workers < 1:
            raise CircuitError(Diagnostic(f"--workers must be 1 or more, got {workers}"))
        self.workers = workers
        self.pool: cf.ProcessPoolExecutor | None = None

    def fit(self, points: int) -> None:
        # Each worker is a fresh interpreter that imports torch: none is started to sit idle.
        self.workers = max(1, min(self.workers, points))

    def start(self, specs: dict[str, Spec]) -> None:
        self.specs = specs
        self.pool = cf.ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"),
                                           initializer=_init_worker, initargs=(specs,))
        # One worker must come up before any point is handed over: a worker that cannot start (the
        # caller's script re-run unguarded by each new interpreter, or a main module read from
        # standard input) would otherwise fail every point in turn as "died".
        try:
            self.pool.submit(_started).result()
        except cf.BrokenExecutor:
            self._kill()
            raise CircuitError(Diagnostic("the sweep's worker processes could not start", hint=_START_HINT)) from None

    def submit(self, point: Point, memory: int) -> cf.Future:
        try:
            return self.pool.submit(_pool_task, point)
        except cf.BrokenExecutor:
            # A worker died (its points are recorded as failed by `outcome`); the sweep goes on
            # with a fresh pool.
            self._kill()
            self.start(self.specs)
            return self.pool.submit(_pool_task, point)

    def lost(self, e: BaseException) -> str:
        if isinstance(e, cf.BrokenExecutor):
            return ("the worker process running it died (killed, or out of memory); every point running in the "
                    "pool then is recorded as failed")
        return super().lost(e)

    def _kill(self) -> None:
        """End this pool's worker processes (ours: started by `start`)."""
        pool, self.pool = self.pool, None
        if pool is None:
            return
        terminate = getattr(pool, "terminate_workers", None)        # Python 3.14
        if terminate is not None:
            terminate()
            return
        processes = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for p in processes:
            if p.is_alive():
                p.terminate()
        for p in processes:
            p.join(timeout=5)

    def abandon(self, handles: set) -> None:
        self._kill()

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True)
            self.pool = None

    def describe(self) -> str:
        return f"{self.workers} local worker processes"


# ---------------------------------------------------------------- Dask distributed


def _import_distributed():
    try:
        import distributed
    except ImportError:
        raise CircuitError(Diagnostic("running on a Dask scheduler needs dask.distributed, which is not installed",
                                      hint=f"install it with: {DASK_HINT}")) from None
    return distributed


def _dask_task(point: Point, spec: Spec) -> dict:
    return run_point(point, spec)


def _hold(spec: Spec) -> Spec:
    return spec


class DaskExecutor(Executor):
    """Points as tasks on a Dask cluster. Every ready point is submitted at once: the scheduler
    queues them, balances them over the workers, and an adaptive cluster (dask-jobqueue) sees the
    backlog it scales on. `memory_resource`: the name of a worker resource (`dask worker
    --resources "MEMORY=64e9"`); each point then asks for its estimated bytes of it, so a worker
    runs only the points that fit it together."""

    name = "dask"

    def __init__(self, scheduler: str | None = None, client: Any = None, memory_resource: str | None = None):
        self.scheduler, self.given, self.memory_resource = scheduler, client, memory_resource
        self.client = None
        self.own_client = False
        self.token = uuid.uuid4().hex[:8]       # keys of this run's tasks: a rerun never meets stale ones
        self.finished = threading.Event()       # set whenever a task finishes

    def start(self, specs: dict[str, Spec]) -> None:
        distributed = _import_distributed()
        if isinstance(self.given, distributed.Client):
            self.client = self.given
        else:
            target = self.given if self.given is not None else self.scheduler
            try:
                self.client = distributed.Client(target, timeout="20s", set_as_default=False)
            except (OSError, TimeoutError) as e:
                raise CircuitError(Diagnostic(f"cannot reach the Dask scheduler at {target}: {e}",
                                              hint="start one with `dask scheduler` and workers with "
                                                   "`dask worker tcp://HOST:8786` (docs/sweeps.md)")) from None
            self.own_client = True
        try:
            self._check_resource()
        except BaseException:
            self.close()
            raise
        # Each source travels once, as a task of its own that every point depends on: its result
        # stays on a worker and others fetch it from there. Unlike `scatter`, this needs no worker
        # to exist yet (an adaptive cluster may start with none), and a lost copy is made again.
        self.specs = {h: self.client.submit(_hold, spec, key=f"circuitc-source-{h[:16]}-{self.token}", pure=False)
                      for h, spec in specs.items()}
        address = self.client.scheduler_info().get("address", self.scheduler)
        threads = sum(self.client.nthreads().values())
        self.description = f"Dask at {address} ({threads} worker threads at the start)"

    def _check_resource(self) -> None:
        """A resource no worker declares would keep every point queued forever: refuse it now
        (unless the cluster has no worker yet, as an adaptive one may not)."""
        if not self.memory_resource:
            return
        try:
            info = self.client.scheduler_info(n_workers=-1)     # every worker (newer releases list 5 by default)
        except TypeError:                                       # releases before the option listed them all
            info = self.client.scheduler_info()
        workers = info.get("workers", {}).values()
        if workers and not any(self.memory_resource in (w.get("resources") or {}) for w in workers):
            raise CircuitError(Diagnostic(
                f"no worker of the cluster declares the resource {self.memory_resource!r}, so no point "
                f"asking for it would ever run",
                hint=f'start workers with --resources "{self.memory_resource}=BYTES", or leave out --memory-resource'))

    def capacity(self) -> int | None:
        return None

    def submit(self, point: Point, memory: int) -> Any:
        resources = {self.memory_resource: memory} if self.memory_resource else None
        future = self.client.submit(_dask_task, point, self.specs[point.source_hash],
                                    key=f"circuitc-point-{point.key}-{self.token}", pure=False, resources=resources,
                                    retries=0)
        future.add_done_callback(lambda _: self.finished.set())
        return future

    def wait(self, handles: set, timeout: float) -> set:
        # Through our own event rather than distributed.wait, which needs a default client (ours
        # may not be: a caller's own client stays theirs).
        self.finished.clear()
        done = {h for h in handles if h.done()}
        if not done:
            self.finished.wait(timeout)
            done = {h for h in handles if h.done()}
        return done

    def lost(self, e: BaseException) -> str:
        return f"the Dask cluster lost the point: {type(e).__name__}: {e}"

    def _processing(self) -> set:
        try:
            return {k for keys in self.client.processing().values() for k in keys}
        except Exception:
            return set()

    def running(self, handles: set) -> int:
        busy = self._processing()
        return sum(h.key in busy for h in handles if not h.done())

    def stop(self, handles: set) -> None:
        busy = self._processing()
        queued = [h for h in handles if not h.done() and h.key not in busy]
        if queued:
            self.client.cancel(queued)

    def abandon(self, handles: set) -> None:
        if handles:
            self.client.cancel(list(handles), force=True)

    def close(self) -> None:
        self.specs = {}                         # released: the cluster drops the sources
        if self.client is not None and self.own_client:
            self.client.close()
        self.client = None

    def describe(self) -> str:
        return getattr(self, "description", f"Dask at {self.scheduler}")


def make_executor(workers: int | None = None, scheduler: str | None = None, client: Any = None,
                  memory_resource: str | None = None) -> Executor:
    """Dask when given a scheduler address or a client/cluster; else `workers` local processes
    (default: one per core), in this process when `workers` is 1."""
    if scheduler is not None or client is not None:
        return DaskExecutor(scheduler, client, memory_resource)
    if memory_resource:
        raise CircuitError(Diagnostic("--memory-resource asks Dask workers for memory; it needs --scheduler"))
    workers = default_workers() if workers is None else workers
    if workers < 1:
        raise CircuitError(Diagnostic(f"--workers must be 1 or more, got {workers}"))
    return InProcess() if workers == 1 else LocalPool(workers)
