"""The papers' construction (CiS2, math.md §1.7): T different MLP circuits sharing neurons.

Every circuit keeps its own weights; circuit t owns an S-hot support per layer from a prime-step
allocation (any two share at most one neuron; S as `default_redundancy` picks it unless given),
reassigned by a fresh seeded permutation at every layer (§1.3). Layer l is
`(1/S) Σ_t Δw_t^l ⊗ e_t^l (e_t^{l−1})ᵀ + w̄^l ⊗ M^l`, each circuit's deviation from the circuits'
mean on its own neurons and the mean embedded once (given_network.py), with the circuits' shared
biases on every neuron; the first circuit layer is written from the inputs. The circuits are
embedded as given (lower/given.py): they must bring their own noise robustness.

Exact only where no two circuits share a neuron; otherwise the budget states the read-off error
per layer (model "cis2", math.md §1.7) from the circuits' activation sizes, measured on the small
circuits alone; `benchmarks/reference_task.py` measures it against the network.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from ...errors import CircuitError, Diagnostic
from ..config import SHARED_MEANS, Config
from ..embed.allocate import allocate, capacities
from ..embed.shuffle import layer_supports
from ..error_model import LayerPrediction, Prediction
from ..guarantee import Guarantee, supports_disjoint
from ..lower.given import check_family, lower_given
from ..lower.small_mlp import layer_values
from ..plan import Plan
from ..verdicts import Budget, band
from .base import Construction

if TYPE_CHECKING:
    from ..assemble import CompiledNetwork
    from ..numpy_forward import NumpyNetwork

# S when the network does not give one: disjoint supports (exact) at up to PAPERS_S when they fit,
# else DEFAULT_S. The papers use 6; measured on their task (docs/lowering.md, "Redundancy"), S = 3
# gives the lower error at every point where supports must be shared (T = 250 and 557, z = 1..3,
# e.g. 1.31 against 5.11 at T = 557, z = 2), because a smaller support meets fewer neighbours.
PAPERS_S = 6
DEFAULT_S = 3
STATS_ROWS = 256           # standard-normal input rows per circuit for its activation sizes
STATS_CIRCUITS = 64        # circuits sampled for them (all when fewer)
# Verdict bands on the predicted rms read-off error of the last layer, per neuron, against the
# circuits' own rms activation there: within 1 % `expected`, within 10 % `at risk`.
EXPECTED_RELATIVE, AT_RISK_RELATIVE = 0.01, 0.1


class Cis2(Construction):
    name = "cis2"
    allocations = ("prime-step", "affine")
    reads_hidden_layers = True
    instance_components = True          # W^l = Σ_t (1/S)·w_t ⊗ e_t^l (e_t^{l-1})ᵀ

    def own_settings(self, config: Config) -> list[str]:
        """Its allocations (shared with the coherent construction) and reshuffling, which it
        always does."""
        return [name for name, given in (
            ("allocation " + repr(config.allocation), config.allocation in self.allocations),
            ("reshuffling", config.shuffle), ("a shared mean", config.shared_mean is not None)) if given]

    def problems(self, config: Config, others: list[tuple[str, str]]) -> list[Diagnostic]:
        out = [Diagnostic(f"{setting} belongs to the {owner} construction, not the cis2 one",
                          hint="the cis2 construction takes the circuits' own biases and always reshuffles")
               for setting, owner in others]
        if config.shared_mean is not None and config.shared_mean not in SHARED_MEANS:
            out.append(Diagnostic(f"unknown shared mean {config.shared_mean!r}", expected=", ".join(SHARED_MEANS)))
        return out

    def plan(self, name, config, circuits, counts) -> Plan:
        found = check_family(circuits)
        if found:
            raise CircuitError(found)
        types = tuple(lower_given(c) for c in circuits)
        d, L = types[0].d, types[0].L
        n, T = config.D // d, sum(counts)
        strategy = "prime-step" if config.allocation == "auto" else config.allocation
        S = config.S or default_redundancy(T, n, strategy)
        allocation = allocate(T, n, S, strategy, d=d)           # refuses with the numbers when T does not fit
        supports, perms = layer_supports(allocation, L + 1, config.seed)
        # The margin is the circuits' own (how far below 0 their biases sit), said in the config.
        resolved = replace(config, S=S, allocation=strategy, shuffle=True, margin=types[0].margin,
                           shared_mean=config.shared_mean or SHARED_MEANS[0])
        return Plan(name, resolved, circuits, counts, types,
                    allocation, supports, perms, n)

    def assemble(self, plan: Plan) -> CompiledNetwork:
        from ..given_network import given_network

        return given_network(plan.types, plan.type_of, plan.supports, plan.n, mean_part=plan.config.shared_mean)

    def types_from_circuits(self, circuits):
        return tuple(lower_given(c) for c in circuits)

    def network_from_layers(self, types, type_of, supports, n, layers) -> CompiledNetwork:
        from ..given_network import given_network

        return given_network(types, type_of, supports, n, layers=layers)

    def numpy_network(self, types, type_of, supports, n, layers) -> NumpyNetwork:
        """The stored dense layers, and the encoder that writes the first circuit layer."""
        from ..numpy_forward import dense_network

        return dense_network(types, type_of, supports, n, layers, first_layer=True)

    def layer_parts(self, plan: Plan, network: CompiledNetwork, layer: int):
        from ..given_network import deviations, mean_map

        mean, delta = deviations(network.types, network.type_of, layer)
        return delta, mean, mean_map(network.supports[layer], network.supports[layer - 1], network.n,
                                     plan.config.shared_mean)

    def guarantee(self, plan: Plan) -> Guarantee:
        failed = [] if supports_disjoint(plan.supports) else [
            ("shared", "circuits share neurons: an inactive circuit reads 1/S of every active circuit it meets "
                       "(math.md §1.5), so outputs are approximate")]
        return Guarantee.unless(failed, "no two circuits share a neuron in any layer")

    def budget(self, plan: Plan, figures: dict, guarantee: Guarantee, *, sources: int, seed: int,
               inputs: np.ndarray | None = None) -> Budget:
        prediction, scale = paper_prediction(plan, seed, inputs)
        last = prediction.layers[-1]
        risk = {"pairs_sharing_a_neuron": None, "exact": False, "sources": None, "pairs_reached": None,
                "random_rows_at_risk": None, "instances_wrong": 0.0 if guarantee.exact else None,
                "active_rms": last.active_rms, "activation_rms": scale}
        if guarantee.exact:
            return Budget(plan.name, figures, guarantee, risk, "guaranteed", (), prediction,
                          ("guaranteed",) * len(prediction.layers))
        verdicts = tuple(_band(p.active_rms, scale) for p in prediction.layers)
        knobs = (f"the estimated read-off error grows with z·T·L·(d/D)² = {figures['load_figure']:.3g}: "
                 f"lower T or z, or raise D",)
        return Budget(plan.name, figures, guarantee, risk, verdicts[-1], knobs, prediction, verdicts)


def _band(rms: float, scale: float) -> str:
    return band(rms / scale if scale > 0 else 0.0, EXPECTED_RELATIVE, AT_RISK_RELATIVE)


def default_redundancy(T: int, n: int, strategy: str) -> int:
    """The largest S <= PAPERS_S at which the allocation's T supports are disjoint (prime-step's
    first n // S are; affine's first q): exact, and guaranteed; else DEFAULT_S, or the largest S below it whose
    allocation holds T (2 when none does: `allocate` then refuses with the numbers)."""
    for S in range(min(PAPERS_S, n // max(T, 1)), 1, -1):
        if capacities(n, S)[strategy] >= T and supports_disjoint(allocate(T, n, S, strategy).supports[None]):
            return S
    return next((S for S in range(DEFAULT_S, 1, -1) if n >= S and capacities(n, S)[strategy] >= T), 2)


def activation_sizes(plan: Plan, seed: int, inputs: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Per layer 0..L, over up to STATS_CIRCUITS circuits run alone on standard-normal inputs (the
    rows `verify` draws) or on rows of `inputs`, from the small circuits only: E|a^l|² ("a"), and what layer l + 1's
    weights make of a^l: E|w a|² ("w"), E|w̄ a|² ("mean") and E|Δw a|² ("deviation"), w̄ the mean
    weights of all the circuits (zero past the last layer)."""
    from ..given_network import deviations

    rng = np.random.default_rng(seed)
    picks = np.sort(rng.choice(len(plan.types), min(STATS_CIRCUITS, len(plan.types)), replace=False))
    means = [deviations(plan.types, plan.type_of, l)[0] for l in range(1, plan.L + 1)]
    out = {key: np.zeros(plan.L + 1) for key in ("a", "w", "mean", "deviation")}
    for k in picks:                                        # a bounded sample of circuits
        ty = plan.types[k]
        X = (rng.standard_normal((STATS_ROWS, len(ty.input_index))) if inputs is None
             else inputs[rng.integers(0, len(inputs), STATS_ROWS)])
        values = layer_values(ty, X)
        for l, a in enumerate(values):
            out["a"][l] += (a ** 2).sum(axis=1).mean()
            if l < plan.L:
                for key, w in (("w", ty.weights[l]), ("mean", means[l]), ("deviation", ty.weights[l] - means[l])):
                    out[key][l] += ((a @ w.T) ** 2).sum(axis=1).mean()
    return {key: v / len(picks) for key, v in out.items()}


def paper_prediction(plan: Plan, seed: int, inputs: np.ndarray | None = None) -> tuple[Prediction, float]:
    """The read-off errors per layer, per neuron (math.md §1.5, "Error terms of the cis2
    construction"), with the circuits' own activation sizes; and the circuits' rms activation per
    neuron at the last layer (what the verdict compares the error with).

    Per layer, every active circuit shares a neuron with each other active one with probability
    about S²/n and then reads 1/S of it (the overlap term, `(z − 1)·(d/D)·E|a|²` per layer so far,
    the first layer included); and its neurons receive what the circuits they host make of the
    1/S of an active circuit they read below (the propagation term, `T·(d/D)²` per layer and
    circuit weight). With the mean part embedded as a union (`given_network.mean_map`) an active
    circuit's own w̄ is read exactly, so only the deviations Δw of all z active circuits and the mean
    weights of the z − 1 others propagate: `T·(d/D)²·(z·E|Δw a|² + (z − 1)·E|w̄ a|²)`; embedded as a
    sum every neighbour's whole weights do, `z·T·(d/D)²·E|w a|²` (the papers' formula)."""
    z, T, S, d, D = plan.config.z, plan.T, plan.config.S, plan.d, plan.d * plan.n
    size = activation_sizes(plan, seed, inputs)
    # Copies of one circuit have no deviations: the union term then predicts no error at z = 1, but
    # measured, copies reach the same spuriously active neurons as different circuits do, more
    # often (docs/lowering.md, "Copies"); the papers' formula, which counts every neighbour's whole
    # weights, stands in for them.
    copies = size["deviation"].sum() <= 1e-12 * size["w"].sum()
    union = plan.config.shared_mean == "union" and not copies
    per_layer = T * (d / D) ** 2 * (z * size["deviation"] + (z - 1) * size["mean"] if union else z * size["w"])
    paper = z * T * (d / D) ** 2 * size["w"]
    layers = []
    for l in range(plan.L + 1):
        overlap = (l + 1) * (z - 1) * (d / D) * size["a"][l]
        active = per_layer[:l].sum() + overlap
        paper_active = paper[:l].sum() + overlap
        inactive = per_layer[:l].sum() + z * (d / D) * size["a"][l]
        layers.append(LayerPrediction(
            layer=l, active_rms=float(np.sqrt(active / d)), active_pair_rms=None,
            inactive_rms=float(np.sqrt(inactive / d)), inactive_pair_rms=None, inactive_max=None,
            active_excess_rms=None, pairs_reached=None, rows_at_risk=None, values_wrong=None, instances_wrong=None,
            paper_active_rms=float(np.sqrt(paper_active / d)),
            paper_inactive_rms=float(np.sqrt((paper[:l].sum() + z * (d / D) * size["a"][l]) / d)),
            paper_worst=z / S * float(np.sqrt(size["a"][l])),
            tolerance=min(ty.inactive_tolerance for ty in plan.types[:STATS_CIRCUITS])))
    model = "cis2" if union else "paper"
    why = ("the papers' terms with the union-embedded mean (math.md §1.7)" if union
           else "copies of one circuit: math.md §1.5, the papers' formulas" if copies
           else "math.md §1.5, the papers' formulas")
    return Prediction(model, why, False, 0, tuple(layers)), float(np.sqrt(size["a"][-1] / d))
