"""The static budget: what a network declaration will do, decided before any weight exists.

From the `compile.Plan` (lowered circuits, S, gain, allocation, supports) only:

- **capacity figures**: T against the allocation's capacity and the pair-packing bound, the fill,
  math.md's load figure z·T·L·(d/D)², the compression T·d_naive/D against the one-neuron-per-gate
  network (1) and the information-theoretic ceiling n²/log n gates for D = n neurons (math.md §3);
- **the guarantee** (`guarantee.exactness`): exact for every promise-keeping input, or why not;
- **per-layer error terms** (`error_model.predict`): the read-off errors `verify` measures, per
  layer, for active and inactive instances, per neuron and per pair, predicted by the
  coherent-copy field model (math.md's formulas beside them, and in their place where the model's
  regime does not hold); for z >= 2 the fraction of instance pairs whose fields meet by each layer
  (an upper bound on failing rows) and the estimated fraction of active instances read off wrong;
- the fraction of instance pairs sharing a neuron, which adversarial rows (active sets packed to
  share neurons) find whenever it is not 0.

The verdict, per layer and for the network (its outputs): `guaranteed` (exact for every input:
the guarantee, or for z >= 2 no two instances whose fields meet by that layer), `expected`
(estimated instances wrong at most 0.1 %), `at risk` (up to 10 %), `over budget` (beyond), each
with the knob that changes it. docs/budget.md has every term and its calibration against verify.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .compile import Plan, naive_network, plan_network, with_counts, with_redundancy
from ..errors import CircuitError
from .error_model import Prediction, SupportGraph, predict
from .guarantee import Guarantee, exactness
from ..spec import Spec

VERDICTS = ("guaranteed", "expected", "at risk", "over budget")
TARGET_ERROR = 1e-3        # `expected` when at most this fraction of active instances is wrong
OVER_BUDGET = 0.1          # `over budget` beyond this fraction
SOURCES = 256              # source instances for the sharing figure when T is large
SEARCH_SOURCES = 48        # source instances per probe of the `expected` instance count
SEARCH_MEETINGS = 96       # and pairs of instances spread together per probe
SEARCH_PRECISION = 1.4     # its bisection stops when the bracket is within this ratio
S_PROBE_SOURCES = 32       # the S + 1 what-if: its fields are denser, so fewer sources and
S_PROBE_MEETINGS = 64      # meetings keep it cheap (it only has to tell 2x apart)
CHUNK = 64                 # source instances expanded at once (a (CHUNK, T) float32 frontier)


@dataclass(frozen=True)
class Budget:
    name: str
    figures: dict
    guarantee: Guarantee
    risk: dict
    verdict: str
    knobs: tuple[str, ...] = field(default=())
    prediction: Prediction | None = None
    layer_verdicts: tuple[str, ...] = field(default=())

    def as_dict(self) -> dict:
        p = self.prediction
        return {"network": self.name, "verdict": self.verdict, "knobs": list(self.knobs),
                "guarantee": self.guarantee.as_dict(), "figures": self.figures, "risk": self.risk,
                "model": p and {"name": p.model, "why": p.why, "exact": p.exact, "sources": p.sources},
                "layers": [{**layer.as_dict(), "verdict": v} for layer, v in zip(p.layers, self.layer_verdicts)]
                if p else []}


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
    z, S, n = plan.config.z, plan.config.S, plan.n
    if plan.config.construction == "routed":
        return _routed_budget(plan, figures, guarantee)
    _, shared, exact_count = near_fractions(plan.supports, n, 1, sources, seed)
    prediction = predict(plan, seed=seed)
    last = prediction.layers[-1]
    risk = {"pairs_sharing_a_neuron": shared, "exact": exact_count and prediction.exact,
            "sources": None if exact_count and prediction.exact else min(prediction.sources, sources),
            "pairs_reached": None if z == 1 else last.pairs_reached,
            "random_rows_at_risk": 0.0 if z == 1 else last.rows_at_risk,
            "instances_wrong": 0.0 if guarantee.exact else last.instances_wrong}
    partition = n // S
    if guarantee.exact:
        verdict, knobs = "guaranteed", ()
        layers = ("guaranteed",) * len(prediction.layers)
    elif z == 1 or prediction.model != "coherent":
        reasons = [r for r in guarantee.failed if not r.startswith("z = ")] or list(guarantee.failed)
        verdict, knobs = "at risk", (_fix(reasons[0]),)
        layers = ("at risk",) * len(prediction.layers)
    else:
        verdict = _band(last.instances_wrong)
        layers = tuple("guaranteed" if prediction.exact and p.pairs_reached == 0 else _band(p.values_wrong)
                       for p in prediction.layers)
        width = plan.T * S * plan.d
        knobs = (f"for a guarantee at z = {z}, supports must not overlap: use at most n/S = {partition} "
                 f"instances, or raise D to {width} (T·S·d)",)
        if verdict != "expected":
            other = other_redundancy(plan, last.instances_wrong, seed=seed)
            if other:
                knobs += (f"raise S to {other[0]} (gain {2 * other[0]}): estimated {other[1]:.2g} of instances "
                          f"wrong instead of {last.instances_wrong:.2g}",)
            fewer = expected_instances(plan, seed=seed)
            knobs += (f"for `expected` (at most {TARGET_ERROR:.1%} of instances wrong), use about {fewer} "
                      f"instances at this width (estimated), or raise D, or lower z",)
        if shared > 0 and last.instances_wrong > 0:
            knobs += ("adversarial rows will find instances that share a neuron: expect them to fail",)
        elif shared > 0:
            # measured: one-layer circuits at S >= 3 hold their whole allocation on adversarial
            # rows (docs/lowering.md, "S versus the frontier")
            knobs += ("instances share neurons, but the model reads every meeting right: "
                      "check with `verify --adversarial`",)
    return Budget(plan.name, figures, guarantee, risk, verdict, knobs, prediction, layers)


def _routed_budget(plan: Plan, figures: dict, guarantee: Guarantee) -> Budget:
    """The routed construction has no error terms to predict: it is exact when its code is
    z-cover-free (guarantee.py) and has no guarantee otherwise (only a user-given S can do that)."""
    alloc = plan.allocation
    risk = {"pairs_sharing_a_neuron": None, "exact": True, "sources": None, "pairs_reached": None,
            "random_rows_at_risk": 0.0 if guarantee.exact else None,
            "instances_wrong": 0.0 if guarantee.exact else None}
    if guarantee.exact:
        return Budget(plan.name, figures, guarantee, risk, "guaranteed", (), None, ("guaranteed",) * plan.L)
    need = alloc.max_shared * plan.config.z + 1
    return Budget(plan.name, figures, guarantee, risk, "at risk",
                  (f"use S >= {need} (λz + 1), or leave S unset so the compiler picks the code",),
                  None, ("at risk",) * plan.L)


def other_redundancy(plan: Plan, wrong: float, *, seed: int = 0) -> tuple[int, float] | None:
    """(S, estimated wrong) at S + 1 when that estimate is at most half of `wrong`, else None.
    Measured: the smallest S is usually best, but not always — a one-layer circuit at z = 2 absorbs
    a neighbour's 1/3 with G = 6 where it does not absorb 1/2 with G = 4 (docs/budget.md)."""
    S = plan.config.S + 1
    try:
        probe = predict(with_redundancy(plan, S), sources=S_PROBE_SOURCES, meetings=S_PROBE_MEETINGS, seed=seed)
    except CircuitError:                                  # the allocation does not hold T at S + 1
        return None
    other = probe.layers[-1].instances_wrong
    return (S, other) if other is not None and other <= wrong / 2 else None


def expected_instances(plan: Plan, *, seed: int = 0, precision: float = SEARCH_PRECISION) -> int:
    """About the most instances (in the plan's proportions of types) whose estimated error stays
    within `expected`, at the plan's width and S: a bisection on a log scale between the partition
    n/S (no shared neuron, exact) and T, each probe an allocation and a prediction from fewer
    source instances and meetings (`SEARCH_SOURCES`, `SEARCH_MEETINGS`; the answer is an order of
    magnitude, not a figure)."""
    lo, hi = min(plan.n // plan.config.S, plan.T), plan.T
    while hi > lo + 1 and hi > lo * precision:
        mid = max(lo + 1, min(hi - 1, int(round(math.sqrt(max(lo, 1) * hi)))))
        counts = tuple(max(1, round(c * mid / plan.T)) for c in plan.counts)
        probe = predict(with_counts(plan, counts), sources=SEARCH_SOURCES, meetings=SEARCH_MEETINGS, seed=seed)
        wrong = probe.layers[-1].instances_wrong
        if wrong is not None and wrong <= TARGET_ERROR:
            lo = mid
        else:
            hi = mid
    return lo


def _band(wrong: float) -> str:
    return "expected" if wrong <= TARGET_ERROR else "at risk" if wrong <= OVER_BUDGET else "over budget"


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
        "construction": plan.config.construction,
        "compression": naive / D,                           # against one neuron per gate: 1
        "gates": gates,
        "ceiling_gates": D * D / math.log(D),               # math.md §3: O(n²/log n), constant 1
    }


def near_fractions(supports: np.ndarray, n: int, radius: int, sources: int, seed: int) -> tuple[float, float, bool]:
    """(pairs within `radius` edges, pairs sharing a neuron, computed exactly?) as fractions of the
    T(T−1) ordered pairs of distinct instances; an edge joins two instances that share a neuron in
    some layer. Breadth-first from every instance when T <= `sources`, else from `sources` seeded
    ones; a hop is a write of the (sources, T) frontier onto blocks and a read back, per layer
    (`error_model.SupportGraph`)."""
    T = supports.shape[1]
    if T < 2:
        return 0.0, 0.0, True
    graph = SupportGraph(supports, n)
    exact = T <= sources
    starts = np.arange(T) if exact else np.sort(np.random.default_rng(seed).choice(T, sources, replace=False))
    near = shared = 0
    for lo in range(0, len(starts), CHUNK):      # chunks of sources; the work inside is matrix products
        src = starts[lo:lo + CHUNK]
        reach = np.zeros((len(src), T), dtype=np.float32)
        reach[np.arange(len(src)), src] = 1.0
        for hop in range(radius):
            step = sum(graph.read(l, graph.write(l, reach)) for l in graph.distinct)
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
