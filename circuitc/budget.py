"""The static budget: what a network declaration will do, decided before any weight exists.

From the `compile.Plan` (lowered circuits, S, gain, allocation, supports) only:

- **capacity figures**: T against the allocation's capacity and the pair-packing bound, the fill,
  math.md's load figure z·T·L·(d/D)², the compression T·d_naive/D against the one-neuron-per-gate
  network (1) and the information-theoretic ceiling n²/log n gates for D = n neurons (math.md §3);
- **the guarantee** (`guarantee.exactness`): exact for every promise-keeping input, or why not;
- **the risk for z >= 2** (docs/lowering.md, "Where z >= 2 fails"): an instance's outputs depend
  only on instances within L + 1 edges of it in the graph that joins two instances sharing a neuron,
  and with no other active instance in that light cone it is exact. So a random row can fail only
  when two of its active instances lie within L + 1 edges; the fraction of such rows bounds the
  error from above. It is computed on the graph — exactly for small T, from `sources` seeded source
  instances otherwise — and so is the fraction of instance pairs sharing a neuron, which adversarial
  rows (active sets packed to share neurons) find whenever it is not 0.

The verdict: `guaranteed` (exact for every input), `expected` (random rows at risk below the
1 − target error, 0.1 %), `at risk` (up to 10 %), `over budget` (beyond), each with the knob that
changes it. Per-layer error terms and their calibration against `verify` are not here yet.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .compile import Plan, naive_network, plan_network
from .guarantee import Guarantee, exactness
from .spec import Spec

VERDICTS = ("guaranteed", "expected", "at risk", "over budget")
TARGET_ERROR = 1e-3        # `expected` when at most this fraction of random rows is at risk
OVER_BUDGET = 0.1          # `over budget` beyond this fraction
SOURCES = 256              # source instances for the graph figures when T is large
CHUNK = 64                 # source instances expanded at once (a (CHUNK, T) float32 frontier)


@dataclass(frozen=True)
class Budget:
    name: str
    figures: dict
    guarantee: Guarantee
    risk: dict
    verdict: str
    knobs: tuple[str, ...] = field(default=())

    def as_dict(self) -> dict:
        return {"network": self.name, "verdict": self.verdict, "knobs": list(self.knobs),
                "guarantee": self.guarantee.as_dict(), "figures": self.figures, "risk": self.risk}


def budget(spec: Spec, network: str | None = None, *, sources: int = SOURCES, seed: int = 0,
           **overrides) -> Budget:
    """The budget of a network declaration (knobs as for `compile_network`)."""
    return budget_of_plan(plan_network(spec, network, **overrides), sources=sources, seed=seed)


def budget_of_plan(plan: Plan, *, sources: int = SOURCES, seed: int = 0,
                   guarantee: Guarantee | None = None) -> Budget:
    """The budget of a plan (`Compilation.budget` gives a compiled network's; `guarantee`, when
    already known, is not computed again)."""
    figures = capacity_figures(plan)
    guarantee = guarantee or exactness(plan)
    z, L, S, n = plan.config.z, plan.L, plan.config.S, plan.n
    # With one active instance only sharing matters (for the record); z >= 2 needs the light cone.
    near, shared, exact_count = near_fractions(plan.supports, plan.n, 1 if z == 1 else L + 1, sources, seed)
    risk = {"light_cone": L + 1, "pairs_sharing_a_neuron": shared,
            "pairs_within_light_cone": None if z == 1 else near,
            "exact": exact_count, "sources": None if exact_count else sources,
            "random_rows_at_risk": 0.0 if z == 1 else rows_at_risk(near, z)}
    partition = n // S
    if guarantee.exact:
        verdict, knobs = "guaranteed", ()
    elif z == 1:
        verdict, knobs = "at risk", (_fix(guarantee.failed[0]),)
    else:
        at_risk = risk["random_rows_at_risk"]
        verdict = ("expected" if at_risk <= TARGET_ERROR else "at risk" if at_risk <= OVER_BUDGET
                   else "over budget")
        width = plan.T * S * plan.d
        knobs = (f"for a guarantee at z = {z}, supports must not overlap: use at most n/S = {partition} "
                 f"instances, or raise D to {width} (T·S·d)",)
        if verdict != "expected":
            knobs += ("lower z, or spread the instances further apart: random rows fail only when active "
                      "instances lie within the light cone of each other",)
        if shared > 0:
            knobs += ("adversarial rows will find instances that share a neuron: expect them to fail",)
    return Budget(plan.name, figures, guarantee, risk, verdict, knobs)


def capacity_figures(plan: Plan) -> dict:
    d, n, L, T, z, S = plan.d, plan.n, plan.L, plan.T, plan.config.z, plan.config.S
    D = d * n
    naive, gates = naive_network(plan.circuits, plan.counts)
    summary = plan.allocation.summary()
    return {
        "D": D, "L": L, "T": T, "d": d, "z": z, "S": S, "n": n, "gain": plan.config.gain,
        "margin": plan.config.margin, "allocation": summary["strategy"], "capacity": summary["capacity"],
        "packing_bound": summary["packing_bound"], "fill": summary["fill"],
        "load_figure": z * T * L * (d / D) ** 2,            # math.md §1.5: errors small while << 1
        "compression": naive / D,                           # against one neuron per gate: 1
        "gates": gates,
        "ceiling_gates": D * D / math.log(D),               # math.md §3: O(n²/log n), constant 1
    }


def rows_at_risk(pair_fraction: float, z: int) -> float:
    """Fraction of random rows (k ~ U{1..z} active instances) with some pair inside the light cone."""
    ks = np.arange(1, z + 1)
    return float(np.mean(1.0 - (1.0 - pair_fraction) ** (ks * (ks - 1) / 2)))


def near_fractions(supports: np.ndarray, n: int, radius: int, sources: int, seed: int) -> tuple[float, float, bool]:
    """(pairs within `radius` edges, pairs sharing a neuron, computed exactly?) as fractions of the
    T(T−1) ordered pairs of distinct instances; an edge joins two instances that share a neuron in
    some layer. Breadth-first from every instance when T <= `sources`, else from `sources` seeded
    ones; the frontier is a dense (sources, T) matrix multiplied by each layer's incidence matrix."""
    if all(np.array_equal(supports[0], layer) for layer in supports[1:]):
        supports = supports[:1]                  # one assignment for all layers: one graph
    layers, T, S = supports.shape
    if T < 2:
        return 0.0, 0.0, True
    incidence = np.zeros((layers, T, n), dtype=np.float32)
    incidence[np.arange(layers)[:, None, None], np.arange(T)[None, :, None], supports] = 1.0
    exact = T <= sources
    starts = np.arange(T) if exact else np.sort(np.random.default_rng(seed).choice(T, sources, replace=False))
    near = shared = 0
    for lo in range(0, len(starts), CHUNK):      # chunks of sources; the work inside is matrix products
        src = starts[lo:lo + CHUNK]
        reach = np.zeros((len(src), T), dtype=np.float32)
        reach[np.arange(len(src)), src] = 1.0
        for hop in range(radius):
            step = np.zeros_like(reach)
            for inc in incidence:
                step += (reach @ inc) @ inc.T
            reach = ((reach + step) > 0).astype(np.float32)
            if hop == 0:
                shared += int(reach.sum()) - len(src)
        near += int(reach.sum()) - len(src)
    pairs = len(starts) * (T - 1)
    return near / pairs, shared / pairs, exact


def _fix(reason: str) -> str:
    """The knob for a failed z = 1 condition (the reasons are guarantee.py's)."""
    if "MLP" in reason:
        return "MLP circuits are exact only on disjoint supports: use at most n/S instances of them"
    if "share neurons" in reason:
        return "compile with segregate on (the default): one range of neurons per circuit type"
    if "gain" in reason:
        return "leave the gain at its default, 2·S"
    if "margin" in reason:
        return "lower the margin to the bound given"
    return reason
