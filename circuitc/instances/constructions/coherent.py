"""The coherent construction: every instance reads its S neurons at every layer (math.md §1).

Shared-neuron lowerings with clean steps of slope 2·S; exact at z = 1 (an inactive neighbour
becomes an exact copy of the active instance, guarantee.py) and on disjoint supports; at z >= 2
the error model (`error_model.predict`) estimates the read-off errors and the instances wrong.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from ...errors import Diagnostic
from ..config import Config
from ..error_model import SupportGraph, predict
from ..guarantee import Guarantee
from ..plan import Plan
from ..verdicts import TARGET_ERROR, Budget, band
from .base import Construction
from .coherent_plan import coherent_guarantee, other_redundancy, plan_coherent, with_counts

if TYPE_CHECKING:
    from ..assemble import CompiledNetwork

SEARCH_SOURCES = 48        # source instances per probe of the `expected` instance count
SEARCH_MEETINGS = 96       # and pairs of instances spread together per probe
SEARCH_PRECISION = 1.4     # its bisection stops when the bracket is within this ratio
CHUNK = 64                 # source instances expanded at once (a (CHUNK, T) float32 frontier)

# The knob for a failed z = 1 condition of the guarantee, by its code.
_FIXES = {
    "mlp": "MLP circuits are exact only on disjoint supports: use at most n/S instances of them",
    "mixed types": "compile with segregate on (the default): one range of neurons per circuit type",
    "gain": "leave the gain at its default, 2·S",
    "margin": "lower the margin to the bound given",
}


class Coherent(Construction):
    name = "coherent"
    allocations = ("prime-step", "affine")
    reads_hidden_layers = True
    instance_components = True          # W^l = Σ_t (1/S)·w_t ⊗ e_t^l (e_t^{l-1})ᵀ

    def own_settings(self, config: Config) -> list[str]:
        """A prime-step or affine allocation, a gain, a margin other than the default,
        reshuffling, the ALAP schedule, shared ranges of neurons."""
        return [name for name, given in (
            ("allocation " + repr(config.allocation), config.allocation in self.allocations),
            ("a gain", config.gain is not None), ("reshuffling", config.shuffle),
            ("a margin", config.margin is not None),
            ("the ALAP schedule", config.schedule != "asap"),
            ("shared ranges (segregate off)", not config.segregate)) if given]

    def problems(self, config: Config, others: list[tuple[str, str]]) -> list[Diagnostic]:
        out = [Diagnostic(f"{setting} belongs to the {owner} construction",
                          hint='use allocation "auto", "prime-step" or "affine" with the coherent one')
               for setting, owner in others]
        if config.gain is not None and not (config.gain > 2 and math.isfinite(config.gain)):
            out.append(Diagnostic(f"the step gain must be a finite number above 2, got {config.gain}",
                                  hint="leave it unset for the default, 2·S"))
        return out

    def plan(self, name, config, circuits, counts) -> Plan:
        return plan_coherent(name, config, circuits, counts)

    def assemble(self, plan: Plan) -> CompiledNetwork:
        from ..assemble import assemble

        return assemble(plan.types, plan.type_of, plan.supports, plan.n)

    def guarantee(self, plan: Plan) -> Guarantee:
        return coherent_guarantee(plan)

    def layer_parts(self, plan: Plan, network: CompiledNetwork, layer: int):
        stacked = np.stack([ty.weights[layer - 1] for ty in network.types])            # (types, d, d)
        return stacked[network.type_of], None, None

    def budget(self, plan: Plan, figures: dict, guarantee: Guarantee, *, sources: int, seed: int,
               inputs: np.ndarray | None = None) -> Budget:
        z, S, n = plan.config.z, plan.config.S, plan.n
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
            codes = [c for c in guarantee.codes if c != "z"] or list(guarantee.codes)
            texts = [t for c, t in zip(guarantee.codes, guarantee.failed) if c != "z"] or list(guarantee.failed)
            verdict, knobs = "at risk", (_FIXES.get(codes[0], texts[0]),)
            layers = ("at risk",) * len(prediction.layers)
        else:
            verdict = band(last.instances_wrong)
            layers = tuple("guaranteed" if prediction.exact and p.pairs_reached == 0 else band(p.values_wrong)
                           for p in prediction.layers)
            width = plan.T * S * plan.d
            knobs = (f"for a guarantee at z = {z}, supports must not overlap: use at most n/S = {partition} "
                     f"instances, or raise D to {width} (T·S·d)",)
            if verdict != "expected":
                other = other_redundancy(plan, last.instances_wrong, seed=seed)
                if other:
                    knobs += (f"raise S to {other[0]} (gain {2 * other[0]}): estimated {other[1]:.2g} of "
                              f"instances wrong instead of {last.instances_wrong:.2g}",)
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
