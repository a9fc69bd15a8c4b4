"""One point of a sweep: its identity and key, the network it compiles, its record's layout.

A point is a pure function of its configuration: the job, the target (a network of the source,
or one circuit of it), the knob values, T, the verify settings that change the figures, and the
source's hash (`Spec.source_hash`, over every file the source reads). Its key is a hash of
exactly these, so a result file stays valid while they do, and a changed source makes new keys.
Running a point (execute.py) needs the back ends and torch; nothing here does, so the driver
plans, caches and merges without them.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

from ..errors import CircuitError, Diagnostic
from ..graph import depth
from ..spec import InstanceGroup, Network, Spec
from .grid import Target

__all__ = ["Point", "FORMAT", "scale_counts", "point_spec", "estimate_memory", "make_record", "figures_equal"]

# The record layout; part of every key, so a change of layout never reads an old file as new.
FORMAT = 1


@dataclass(frozen=True)
class Point:
    """One configuration to run. `knobs` are Config overrides in the grid's order (S None: the
    compiler's choice); `T` None keeps the declaration's counts (a circuit target: 1 instance);
    `verify` is None for budget points."""

    job: str                                    # "compile+verify" or "budget"
    target: Target
    knobs: tuple[tuple[str, Any], ...]
    T: int | None
    verify: tuple[tuple[str, int], ...] | None
    source_hash: str
    source: str = field(default="", compare=False)     # where the source was read, for people

    def identity(self) -> dict:
        return {"format": FORMAT, "job": self.job, "target": self.target.as_dict(), "knobs": dict(self.knobs),
                "T": self.T, "verify": dict(self.verify) if self.verify is not None else None,
                "source_hash": self.source_hash}

    @cached_property
    def key(self) -> str:
        canonical = json.dumps(self.identity(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:24]

    def label(self) -> str:
        """A short description for messages: `adders D=512 z=2 T=100`."""
        parts = [self.target.name] + [f"{k}={'auto' if v is None else v}" for k, v in self.knobs]
        return " ".join(parts + ([f"T={self.T}"] if self.T is not None else []))


# ============================================================================================
# The network a point compiles


def scale_counts(counts: tuple[int, ...] | list[int], T: int) -> list[int]:
    """`counts` scaled to sum to T, in proportion, by largest remainders (ties to the earlier
    group); every group keeps at least one instance, taken from the largest, so that every circuit
    of the network stays in it. At T = sum(counts) the counts are unchanged."""
    total = sum(counts)
    if T < len(counts):
        raise CircuitError(Diagnostic(f"T = {T} is fewer than the network's {len(counts)} `use` lines; each keeps "
                                      f"at least one instance",
                                      hint=f"use T >= {len(counts)}"))
    exact = [c * T / total for c in counts]
    out = [math.floor(x) for x in exact]
    for i in sorted(range(len(counts)), key=lambda i: (out[i] - exact[i], i))[:T - sum(out)]:
        out[i] += 1
    for i in range(len(out)):
        if out[i] == 0:
            out[i] = 1
            out[max(range(len(out)), key=lambda j: (out[j], -j))] -= 1
    return out


def point_spec(point: Point, spec: Spec) -> tuple[Spec, str]:
    """The source with the point's network in it, and that network's name: a declared network
    with its counts scaled to T, or one circuit as a network of T instances."""
    if point.target.kind == "circuit":
        spec.circuit(point.target.name)                      # unknown names get the usual error
        net = Network(point.target.name, (InstanceGroup(point.target.name, point.T or 1),), z=1)
        return replace(spec, networks=(net,)), net.name
    net = spec.network(point.target.name)
    if point.T is None:
        return spec, net.name
    counts = scale_counts([g.count for g in net.groups], point.T)
    scaled = replace(net, groups=tuple(replace(g, count=c) for g, c in zip(net.groups, counts)))
    return replace(spec, networks=tuple(scaled if n is net else n for n in spec.networks)), net.name


def estimate_memory(point: Point, spec: Spec, depths: dict[str, int] | None = None) -> int:
    """Bytes a point needs beyond a worker's baseline, estimated from the source alone (before
    any plan exists), as an upper bound on the dense case:

    - the layers: L dense D × D float32 matrices, 4·D²·L bytes (the coherent and cis2
      constructions; a routed network's position blocks are far smaller), with L bounded by the
      deepest circuit's depth (its logic levels, or an MLP's layer count: lowering never adds
      layers, measured on every example);
    - a verify batch: every layer's activations of `batch` rows, 4·batch·D·(L + 1) bytes, twice
      (the activations and the exact per-instance values they are compared with);
    - the supports: (L + 1)·T·S int64 neuron indices, with S the given redundancy, or z + 1 (the
      routed code's at λ = 1, the most common choice) when the compiler picks it.

    `depths` caches each circuit's depth across the points of one sweep.
    """
    try:
        spec2, name = point_spec(point, spec)
        net = spec2.network(name)
    except CircuitError:
        return 0                                            # refused when it runs; nothing to reserve
    knobs = dict(point.knobs)
    D, z = knobs.get("D", net.D), knobs.get("z", net.z)
    S = knobs.get("S", net.S) or z + 1
    depths = {} if depths is None else depths
    for g in net.groups:
        if g.circuit not in depths:
            depths[g.circuit] = depth(spec2.circuit(g.circuit))
    L = max(depths[g.circuit] for g in net.groups) or 1
    T = net.T
    batch = dict(point.verify or {}).get("batch", 0)
    weights = 4 * D * D * L if point.job != "budget" else 0
    return weights + 2 * 4 * batch * D * (L + 1) + 8 * (L + 1) * T * S


# ============================================================================================
# Records


def make_record(point: Point, status: str, error: str | None, result: dict | None, timing: dict | None) -> dict:
    """A point's record: what it was (`config`), what came of it, and how long it took. Only
    `timing` differs between two runs of the same point."""
    return {"format": FORMAT, "key": point.key, "config": point.identity(), "source": point.source,
            "label": point.label(), "status": status, "error": error, "result": result, "timing": timing or {}}


def figures_equal(a: dict, b: dict) -> bool:
    """Whether two records of a point hold the same outcome (everything but `timing` and where
    the source was read from)."""
    strip = lambda r: {k: v for k, v in r.items() if k not in ("timing", "source")}     # noqa: E731
    return strip(a) == strip(b)
