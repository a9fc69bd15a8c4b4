"""Running one point: compile and verify (or budget) its network, and make its record.

`run_point` never raises for a problem of the point: a CircuitError (the compiler refusing a
configuration, e.g. a width the circuits do not fit) is recorded as `refused`, a normal outcome;
anything else as `failed`, with its message and traceback. Only KeyboardInterrupt propagates.

Every executor runs points through here with torch on one thread, so the figures are the same bit
for bit whichever executor, machine or worker ran a point (parallelism is across points, never
inside one). This module loads torch and the back ends; the executors resolve it by name when a
point first runs (lazy.py), so planning and merging a sweep never import them.
"""

from __future__ import annotations

import math
import os
import platform
import socket
import sys
import time
import traceback
from typing import Any

import torch

from ..back_ends import verify
from ..errors import CircuitError
from ..instances.budget import budget
from ..instances.compile import compile_network
from ..spec import Spec
from .point import Point, make_record, point_spec

try:
    import resource
except ImportError:                                 # not on Windows
    resource = None

__all__ = ["run_point"]


def _plain(x: Any) -> Any:
    """JSON-ready: numpy scalars as Python numbers, tuples as lists, non-finite floats as None."""
    if isinstance(x, dict):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    if hasattr(x, "item") and not isinstance(x, (str, bytes)):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


_VERIFY_FIGURES = ("samples", "bit_accuracy", "instance_accuracy", "real_rms_error", "real_max_error")


def _compile_verify(point: Point, spec: Spec) -> tuple[dict, dict]:
    spec2, name = point_spec(point, spec)
    settings = dict(point.verify)
    t0 = time.perf_counter()
    comp = compile_network(spec2, name, **dict(point.knobs))
    t1 = time.perf_counter()
    rep = comp.report()
    report = {k: rep[k] for k in ("D", "D_requested", "L", "T", "d", "z", "S", "n", "compression", "parameters",
                                  "naive_neurons", "fallback")}
    report.update(construction=rep["config"]["construction"], allocation=rep["allocation"]["strategy"],
                  fill=rep["allocation"].get("fill"), guaranteed=rep["guarantee"]["exact"])
    # The per-layer read-off diagnostics are left out: a sweep records accuracies, and skipping
    # them leaves the rows, and so every accuracy, unchanged (instances/verify.py).
    random = verify(comp, samples=settings["samples"], batch=settings["batch"], seed=settings["seed"],
                             mode="random", layer_errors=False)
    adversarial = None
    if settings["adversarial"]:
        adversarial = verify(comp, samples=settings["adversarial"], batch=settings["batch"],
                                      seed=settings["seed"] + 1, mode="adversarial", layer_errors=False)
    t2 = time.perf_counter()
    result = {"report": report, "random": {k: random[k] for k in _VERIFY_FIGURES},
              "adversarial": {k: adversarial[k] for k in _VERIFY_FIGURES} if adversarial else None}
    return result, {"compile_seconds": t1 - t0, "verify_seconds": t2 - t1}


def _budget(point: Point, spec: Spec) -> tuple[dict, dict]:
    spec2, name = point_spec(point, spec)
    t0 = time.perf_counter()
    b = budget(spec2, name, **dict(point.knobs)).as_dict()
    result = {"verdict": b["verdict"], "guaranteed": b["guarantee"]["exact"], "guarantee": b["guarantee"]["reason"],
              "knobs": b["knobs"], "figures": b["figures"], "risk": b["risk"],
              "model": b["model"]["name"] if b["model"] else None}
    return result, {"budget_seconds": time.perf_counter() - t0}


_JOBS = {"compile+verify": _compile_verify, "budget": _budget}


def _peak_rss() -> int | None:
    """The peak resident memory of this process so far, in bytes (None where unknown)."""
    if resource is None:
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)     # bytes on macOS, KiB elsewhere


def run_point(point: Point, spec: Spec) -> dict:
    """Run one point on `spec` (the source its `source_hash` names) and return its record."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)        # the same arithmetic whichever executor runs it (module docstring)
    t0 = time.perf_counter()
    status, error, result, times = "ok", None, None, {}
    try:
        if spec.source_hash != point.source_hash:
            raise RuntimeError(f"the source this worker holds (hash {spec.source_hash[:12]}) is not the one the "
                               f"point was planned on ({point.source_hash[:12]})")
        result, times = _JOBS[point.job](point, spec)
    except CircuitError as e:
        status, error = "refused", str(e)
    except MemoryError:
        status, error = "failed", "out of memory"
    except Exception as e:                          # recorded, never lost: the sweep goes on
        status, error = "failed", f"{type(e).__name__}: {e}\n{traceback.format_exc()}"
    finally:
        torch.set_num_threads(threads)
    timing = {"seconds": time.perf_counter() - t0, **times, "process_peak_rss_bytes": _peak_rss(),
              "host": socket.gethostname(), "pid": os.getpid(), "python": platform.python_version(),
              "torch": torch.__version__}
    return make_record(point, status, error, _plain(result) if result is not None else None, timing)
