"""The routed construction: position-local hidden layers on a z-cover-free code (math.md §4).

Position k of layer l reads only position k of layer l − 1 and runs the type's routed lowering
(`lower/routed.py`); instances meet only where inputs are written and outputs read. Instance t
holds S positions of a polynomial code of degree λ (`embed/allocate.py`), S = λz + 1, so with z
active every active instance keeps c0 = S − λ(z − 1) clean positions: exact for every
promise-keeping input, at any z and depth (boolean circuits; MLP circuits at z = 1, or on disjoint
positions at z >= 2). The layout does not depend on the seed.
"""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache
from typing import TYPE_CHECKING, Callable, Iterator

import numpy as np

from ...errors import CircuitError, Diagnostic
from ...spec import BoolCircuit, Circuit
from ..config import Config
from ..embed.allocate import (
    allocate_routed,
    cover_free_redundancy,
    lam_of,
    least_clean,
    polynomial_capacity,
    positions_needed,
    routed_ranges,
)
from ..guarantee import Guarantee
from ..lower.routed import lower_routed, lower_routed_mlp
from ..lower.small_mlp import RoutedMLP, SmallMLP
from ..plan import Plan
from ..verdicts import Budget
from .base import Construction, RoutingTally

if TYPE_CHECKING:
    from ..assemble import CompiledNetwork
    from ..numpy_forward import NumpyNetwork


def routed_lowering(circuit: Circuit, z: int, S: int, lam: int, input_bound: float | None = None) -> SmallMLP:
    """The routed lowering of a boolean circuit for (z, S, λ), or of an MLP circuit: with the
    collision wipe where positions can collide (which needs `input_bound`), else as given."""
    if isinstance(circuit, BoolCircuit):
        return lower_routed(circuit, z, S, lam)
    return lower_routed_mlp(circuit, z, lam, input_bound) if input_bound is not None else lower_routed_mlp(circuit)


def _codes(z: int, S: int | None) -> Iterator[tuple[int, int]]:
    """The codes (S, λ) in the order every search tries them: the one a given S fixes, or λ = 0, 1, …
    at S = λz + 1."""
    if S is not None:
        yield S, lam_of(S, z)
        return
    lam = 0
    while True:
        yield cover_free_redundancy(lam, z), lam
        lam += 1


def _search(counts, z: int, S: int | None, n_at: Callable[[int, int], int], limit: int):
    """The first code (S, λ) whose ranges hold every type in the n = n_at(S, λ) positions it leaves,
    and every (S, λ, n) tried. A search stops at a given S, once S exceeds n, or once the types
    need more positions than `limit` (an upper bound on every n) at every larger degree: from S >= 2
    on, each of the K types needs at least S·S positions (q >= S), and S grows with the degree."""
    tried = []
    for S_, lam in _codes(z, S):
        n = n_at(S_, lam)
        tried.append((S_, lam, n))
        if n >= 1 and routed_ranges(counts, n, S_, lam) is not None:
            return (S_, lam), tried
        S_next = cover_free_redundancy(lam + 1, z)
        if S is not None or S_ > n or len(counts) * S_next * S_next > limit:
            return None, tried


def routed_code(counts: tuple[int, ...], n: int, z: int, S: int | None = None) -> tuple[int, int] | None:
    """(S, λ) of the routed construction at n positions: the smallest code degree λ whose S = λz + 1
    positions per instance hold every type in its own range (with S given, λ = (S − 1) // z)."""
    return _search(counts, z, S, lambda S_, lam: n, n)[0]


def routed_capacity(circuit: Circuit, D: int, z: int, S: int | None = None,
                    input_bound: float | None = None) -> tuple[int, int, int]:
    """(T, S, λ): the most instances of one circuit the routed construction holds at width D, and
    the code that holds them (the largest q^(λ+1) over code degrees λ, or at the given S). MLP
    circuits at z >= 2 share positions only with an `input_bound`."""
    if not isinstance(circuit, BoolCircuit) and z >= 2 and input_bound is None:       # disjoint positions only
        return (D // routed_lowering(circuit, z, 1, 0).d, 1, 0) if S in (None, 1) else (0, S, 0)
    best = (0, 1, 0)
    for S_, lam in _codes(z, S):
        n = D // routed_lowering(circuit, z, S_, lam, input_bound).d
        if S_ > n:
            break
        best = max(best, (polynomial_capacity(n, S_, lam), S_, lam))
        if S is not None:
            break
    return best


def mlp_positions(config: Config, circuits: tuple[Circuit, ...], counts: tuple[int, ...]) -> Diagnostic | None:
    """Why MLP circuits at z >= 2 do not fit the disjoint positions the routed construction gives
    them, or None (they fit, or there are none). Real outputs would be scaled by how many of an
    instance's positions collide, so at z >= 2 MLP circuits get the code of degree 0, or nothing."""
    mlp = [c.name for c in circuits if not isinstance(c, BoolCircuit)]
    z, T = config.z, sum(counts)
    if not mlp or z < 2 or config.input_bound is not None:
        return None
    n0 = config.D // max(routed_lowering(c, z, 1, 0).d for c in circuits)
    if config.S in (None, 1) and routed_ranges(counts, n0, 1, 0) is not None:
        return None
    return Diagnostic(
        f"the routed construction holds MLP circuits at z = {z} only on disjoint positions: at most "
        f"n = {n0} instances with S = 1 (`{mlp[0]}` is an MLP circuit; {T} instances"
        f"{'' if config.S in (None, 1) else f', S = {config.S}'} asked for)",
        hint="promise a bound on the inputs (--input-bound B: every input of magnitude at most B) so that they "
             "can share positions, use fewer instances or a wider D, z = 1, or a construction that shares "
             "neurons (--construction cis2 for MLP circuits of one shape, or coherent)")


def capacity_refusal(construction: str, config: Config, T: int, tried, d_at: Callable[[int, int], int],
                     note: str = "") -> Diagnostic:
    """The refusal of T instances no code tried holds: the largest code that fits, with the numbers
    (`tried` as `_search` lists it; `d_at(S, λ)` the lowered width at a code)."""
    cap, b_lam, b_S, b_n = max((polynomial_capacity(n, S, lam) if n >= S else 0, lam, S, n) for S, lam, n in tried)
    return Diagnostic(
        f"width D = {config.D} is narrower than {T} instances need in the {construction} construction: the "
        f"largest code that fits holds {cap} (degree {b_lam}, S = {b_S} position{'s' if b_S > 1 else ''} per "
        f"instance; the "
        f"lowered width d = {d_at(b_S, b_lam)} leaves n = {b_n} positions){note}",
        hint="raise the width D, use fewer instances" +
             (", or leave S unset so the compiler picks the code" if config.S is not None else ""))


def plan_routed(name: str, config: Config, circuits: tuple[Circuit, ...], counts: tuple[int, ...]) -> Plan:
    """For each code degree λ from 0, lower every circuit for it (a collision-capable position
    needs the wipe units), and take the first λ whose code holds every type at the width that
    lowering leaves (n = D // d)."""
    refusal = mlp_positions(config, circuits, counts)
    if refusal:
        raise CircuitError(refusal)
    z, T = config.z, sum(counts)
    # Before lowering thousands of types: each takes a range of at least one position, and a
    # position at least 1 + n_in units (layer 0 holds `on` and the inputs).
    widest = max(circuits, key=lambda c: len(c.input_bits))
    d_least = max(2, 1 + len(widest.input_bits))
    if len(counts) > 1 and len(counts) > config.D // d_least:
        raise CircuitError(Diagnostic(
            f"width D = {config.D} is narrower than {len(counts)} circuit types need in the routed construction: "
            f"each type takes its own range of at least one position, and a position of `{widest.name}` takes at "
            f"least {d_least} units (`on` and its {d_least - 1} inputs), so D holds at most {config.D // d_least} "
            f"ranges",
            hint=f"raise the width D to at least {len(counts) * d_least}, use fewer circuit types, or --construction "
                 f"lookup (different circuits of few inputs on shared positions)"))

    @lru_cache(maxsize=None)
    def lowered(S: int, lam: int) -> tuple[SmallMLP, ...]:
        return tuple(routed_lowering(c, z, S, lam, config.input_bound) for c in circuits)

    def n_at(S: int, lam: int) -> int:
        return config.D // max(t.d for t in lowered(S, lam))

    found, tried = _search(counts, z, config.S, n_at, config.D)
    if found is None and len(counts) > 1:
        # The limit several types hit is the positions their ranges need, not a code's capacity.
        short = min(tried, key=lambda t: positions_needed(counts, t[0], t[1]) / max(t[2], 1))
        need = positions_needed(counts, short[0], short[1])
        d = max(t.d for t in lowered(short[0], short[1]))
        raise CircuitError(Diagnostic(
            f"width D = {config.D} is narrower than {len(counts)} circuit types need in the routed construction: "
            f"each type takes its own range of positions, and at the best code tried (degree {short[1]}, S = "
            f"{short[0]} position{'s' if short[0] > 1 else ''} per instance) the ranges need at least {need} "
            f"positions, while the lowered width d = {d} leaves n = {short[2]}",
            hint=f"raise the width D to at least {need * d}, use fewer circuit types (the routed construction "
                 f"holds copies of a few types best), or --construction lookup (different circuits of few "
                 f"inputs on shared positions)"))
    if found is None:
        note = (f", in one range; with one range of S·q positions per circuit type the {len(counts)} types "
                f"need more than n at every degree" if len(counts) > 1 else "")
        raise CircuitError(capacity_refusal("routed", config, T, tried, lambda S_, lam: max(
            t.d for t in lowered(S_, lam)), note))
    S, lam = found
    types = lowered(S, lam)
    n = n_at(S, lam)
    L = max(t.L for t in types)
    allocation = allocate_routed(counts, n, S, lam)
    supports = np.broadcast_to(allocation.supports[None], (L + 1,) + allocation.supports.shape).copy()
    perms = np.broadcast_to(np.arange(T)[None], (L + 1, T)).copy()
    config = replace(config, S=S, gain=None, margin=0.0, shuffle=False)
    return Plan(name, config, circuits, counts, types, allocation, supports, perms, n)


def routed_guarantee(plan: Plan) -> Guarantee:
    """The code's argument (guarantee.py): S >= λz + 1 on routed lowerings."""
    z, S, alloc = plan.config.z, plan.config.S, plan.allocation
    lam = alloc.max_shared
    failed = []
    if not all(isinstance(ty, RoutedMLP) for ty in plan.types):
        failed.append(("lowering", "the routed guarantee needs circuits lowered for routing"))
    mlp = any(ty.kind == "mlp" for ty in plan.types)
    wiped = all(getattr(ty, "normalized", False) for ty in plan.types if ty.kind == "mlp")
    bound = plan.config.input_bound
    if mlp and z != 1 and lam != 0 and not (wiped and bound is not None):
        failed.append(("mlp", f"an MLP circuit at z = {z} on shared positions without the collision wipe: its "
                              f"outputs are scaled by the collisions"))
    need = cover_free_redundancy(lam, z)
    if S < need:
        failed.append(("code", f"S = {S} is below λz + 1 = {need} (two supports share up to λ = {lam} positions): "
                               f"{z} active instances can cover another's positions"))
    if mlp and z != 1 and lam != 0:
        c0 = least_clean(S, lam, z)
        return Guarantee.unless(failed, f"routed with the collision wipe: with z = {z} active every active instance "
                                        f"keeps at least {c0} clean position{'s' if c0 > 1 else ''} of its S = {S}, "
                                        f"which hold its exact outputs while every input has magnitude at most "
                                        f"{bound:g}, and its real outputs are read as the mean over them (MLP "
                                        f"outputs of inactive instances are not 0)")
    if mlp:
        alone = "at z = 1" if z == 1 else "on disjoint positions"
        return Guarantee.unless(failed, f"routed {alone}: an active instance is alone in each of its S = {S} "
                                        f"positions, so its outputs are its circuit's (MLP outputs of inactive "
                                        f"instances are not 0)")
    c0 = least_clean(S, lam, z)
    return Guarantee.unless(failed, f"routed: any two instances share at most λ = {lam} of their S = {S} positions "
                                    f"and S >= λz + 1, so with z = {z} active every active instance keeps at least "
                                    f"{c0} clean position{'s' if c0 > 1 else ''} and every inactive one an empty "
                                    f"position")


def clean_positions(supports0: np.ndarray, instances: np.ndarray, S: int) -> np.ndarray:
    """(S + 1,) counts of the rows' active instances by how many of their S positions no other
    active instance of the row shares (the guarantee says at least c0)."""
    live = instances >= 0
    sup = supports0[np.maximum(instances, 0)]                                  # (batch, z, S)
    z = instances.shape[1]
    same = sup[:, :, :, None, None] == sup[:, None, None, :, :]                # (batch, z, S, z, S)
    other = live[:, None, None, :, None] & ~np.eye(z, dtype=bool)[None, :, None, :, None]
    shared = (same & other).any(axis=(3, 4))                                   # (batch, z, S)
    return np.bincount((S - shared.sum(axis=2))[live], minlength=S + 1)


class _CleanPositions(RoutingTally):
    """Active instances by clean positions, beside the least the code guarantees (c0)."""

    def __init__(self, plan: Plan):
        self.supports0, self.S = plan.supports[0], plan.config.S
        self.c0 = least_clean(self.S, plan.allocation.max_shared, plan.config.z)
        self.counts = np.zeros(self.S + 1, dtype=np.int64)

    def add(self, instances: np.ndarray) -> None:
        self.counts += clean_positions(self.supports0, instances, self.S)

    def report(self) -> dict:
        return {"c0": self.c0, "clean_positions": self.counts.tolist()}


class Routed(Construction):
    name = "routed"
    allocations = ("polynomial",)
    reads_hidden_layers = False         # hidden layers hold positions, not instances
    layers_from_types = True            # `PositionLocal` layers: the types' weights per position

    def own_settings(self, config: Config) -> list[str]:
        return ((["the polynomial allocation"] if config.allocation in self.allocations else [])
                + (["an input bound"] if config.input_bound is not None else []))

    def problems(self, config: Config, others: list[tuple[str, str]]) -> list[Diagnostic]:
        return [Diagnostic(f"{setting} belongs to the {owner} construction, not the routed one",
                           hint="drop it, or compile with the coherent construction")
                for setting, owner in others[:1]]

    def plan(self, name, config, circuits, counts) -> Plan:
        return plan_routed(name, config, circuits, counts)

    def assemble(self, plan: Plan) -> CompiledNetwork:
        from ..assemble import assemble_routed

        return assemble_routed(plan.types, plan.type_of, plan.supports, plan.n)

    def numpy_network(self, types, type_of, supports, n, layers) -> NumpyNetwork:
        """`PositionBlocks` layers from the types, as `assemble` builds `PositionLocal` ones; an
        older artifact's stored dense layers (`layers`) are ignored, as loading does."""
        from ..numpy_forward import routed_network

        return routed_network(types, type_of, supports, n)

    def guarantee(self, plan: Plan) -> Guarantee:
        return routed_guarantee(plan)

    def budget(self, plan: Plan, figures: dict, guarantee: Guarantee, *, sources: int, seed: int,
               inputs: np.ndarray | None = None) -> Budget:
        """No error terms to predict: exact when the code is z-cover-free, and no guarantee
        otherwise (only a user-given S can do that)."""
        risk = {"pairs_sharing_a_neuron": None, "exact": True, "sources": None, "pairs_reached": None,
                "random_rows_at_risk": 0.0 if guarantee.exact else None,
                "instances_wrong": 0.0 if guarantee.exact else None}
        if guarantee.exact:
            return Budget(plan.name, figures, guarantee, risk, "guaranteed", (), None, ("guaranteed",) * plan.L)
        need = cover_free_redundancy(plan.allocation.max_shared, plan.config.z)
        return Budget(plan.name, figures, guarantee, risk, "at risk",
                      (f"use S >= {need} (λz + 1), or leave S unset so the compiler picks the code",),
                      None, ("at risk",) * plan.L)

    def routing_tally(self, plan: Plan) -> RoutingTally:
        return _CleanPositions(plan)
