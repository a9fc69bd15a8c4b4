"""The coherent construction's planning: lower with shared biases and clean steps, choose the
redundancy S and the step gain, allocate, and assign every layer's supports (math.md §1.1–§1.4).

Two choices are made after lowering, because they need the lowered width d (n = D // d): the
redundancy S (the smallest that fits; at z >= 2, S + 1 where the error model estimates it halves
the instances wrong), then the gain 2·S (the circuits are lowered again if it differs from the
first guess; the widths do not depend on it). Several circuit types get one range of neurons each.
The what-ifs the budget asks (another S, other counts) are plans made the same way.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ...errors import CircuitError, Diagnostic
from ...spec import BoolCircuit, Circuit
from ..config import DEFAULT_MARGIN, Config
from ..embed.allocate import allocate, allocate_segregated, capacities, segregated_capacities
from ..embed.shuffle import layer_supports
from ..error_model import predict
from ..guarantee import Guarantee, step_saturates, supports_disjoint, types_share_neurons
from ..lower.boolean import lower_boolean
from ..lower.mlp import lower_mlp
from ..lower.small_mlp import DEFAULT_GAIN, SmallMLP
from ..plan import Plan

S_PROBE_SOURCES = 32       # the S + 1 what-if: its fields are denser, so fewer sources and
S_PROBE_MEETINGS = 64      # meetings keep it cheap (it only has to tell 2x apart)


def coherent_gain(S: int) -> float:
    """The step slope 2·S. Measured, then explained (docs/lowering.md, "Coherent neighbours";
    math.md §1.6): an inactive instance u that shares one neuron with the active t reads 1/S of
    t's values and of t's on-indicator. At slope 2·S every step of u still saturates where t's
    does, and u's on-indicator reaches 1, so u computes an exact copy of t, whose contributions to
    the neurons they share only push t's units further the way they already go. At slope 2 (the
    smallest that cleans) u computes fractions of t's values and is wrong in its own way; with one
    active instance that is what limited deep circuits (a 4-bit ripple adder held 44 instances at
    D = 1024 against 721 now)."""
    return 2.0 * S


def margin_of(config: Config) -> float:
    """β: the configured margin, or the default when none is given."""
    return DEFAULT_MARGIN if config.margin is None else config.margin


def lower(circuit: Circuit, config: Config, gain: float | None = None) -> SmallMLP:
    gain = gain or config.gain or DEFAULT_GAIN
    if isinstance(circuit, BoolCircuit):
        return lower_boolean(circuit, margin_of(config), config.schedule, gain)
    return lower_mlp(circuit, margin_of(config), gain)


def choose_redundancy(T: int, n: int, strategy: str, counts=None) -> int:
    """The smallest S >= 2 whose allocation holds T instances in blocks of n (with `counts`, the
    instances per type, each type in its own range of neurons).

    Measured, not derived (docs/lowering.md): every sweep so far (full adders, c17, 4-bit adders
    and comparators, random depth-4 circuits; z = 1, 2) was as good or better at the smallest S,
    and at z = 1 the smallest S holds every allocation to its capacity. The worst-case bound of
    math.md §1.5 would ask for the largest.
    """
    for S in range(2, n + 1):
        caps = capacities(n, S) if counts is None else segregated_capacities(counts, n, S)
        if (max(caps.values()) if strategy == "auto" else caps[strategy]) >= T:
            return S
    per_type = "" if counts is None else " with one range of neurons per circuit type"
    raise CircuitError(Diagnostic(f"{T} instances do not fit in blocks of n = {n} neurons at any S{per_type}",
                                  hint="raise the width D or use fewer instances"))


def plan_coherent(name: str, config: Config, circuits: tuple[Circuit, ...], counts: tuple[int, ...]) -> Plan:
    """Lower, choose S and the gain, allocate and assign supports (`config` already checked)."""
    config = replace(config, margin=margin_of(config))
    T = sum(counts)
    types = [lower(c, config) for c in circuits]
    d = max(t.d for t in types)
    L = max(t.L for t in types)
    n = config.D // d
    if n < 2:
        raise CircuitError(Diagnostic(f"width D = {config.D} is narrower than two blocks of the lowered "
                                      f"width d = {d}", hint=f"raise D to at least {2 * d}"))
    S = config.S if config.S is not None else choose_redundancy(T, n, config.allocation, _type_groups(config, counts))
    gain = config.gain if config.gain is not None else coherent_gain(S)
    if gain != types[0].gain:                                          # the widths do not depend on it
        types = [lower(c, config, gain) for c in circuits]
    chosen = config.S is None and config.gain is None
    config = replace(config, S=S, gain=gain)
    allocation, supports, perms = _place(config, counts, d, L, n)
    plan = Plan(name, config, circuits, counts, tuple(types), allocation, supports, perms, n)
    return _larger_redundancy(plan) if chosen and config.z >= 2 else plan


def _larger_redundancy(plan: Plan) -> Plan:
    """At z >= 2, S + 1 instead of the smallest S when the error model estimates it at most half
    as many wrong instances (the budget's S knob, taken by default). Measured: the smallest S is
    usually best, but a one-layer circuit near a full allocation at S + 1 absorbs a neighbour's
    1/3 with G = 6 where it does not absorb 1/2 with G = 4 (full adders at D = 4096, z = 2: exact
    to 10,337 instances at S = 3, failing adversarial rows at every fill at S = 2; lowering.md)."""
    if coherent_guarantee(plan).exact:
        return plan
    here = predict(plan, sources=S_PROBE_SOURCES, meetings=S_PROBE_MEETINGS).layers[-1].instances_wrong
    if not here:
        return plan
    other = other_redundancy(plan, here)
    return with_redundancy(plan, other[0]) if other else plan


def coherent_guarantee(plan: Plan) -> Guarantee:
    """Disjoint supports, or one active instance whose neighbours copy it exactly (guarantee.py)."""
    types, S, margin, z, n = plan.types, plan.config.S, plan.config.margin, plan.config.z, plan.n
    if supports_disjoint(plan.supports):
        return Guarantee(True, "no two instances share a neuron in any layer")
    failed = []
    if z != 1:
        failed.append(("z", f"z = {z}: with several active instances a shared neuron mixes two circuits' values; "
                            f"only disjoint supports are guaranteed (T at most n/S = {n // S} per layer)"))
    if sorted({ty.kind for ty in types}) != ["boolean"]:
        failed.append(("mlp", "an MLP circuit's units are not clean steps, so a neighbour does not copy it exactly"))
    if len(types) > 1 and types_share_neurons(plan.supports, plan.type_of):
        failed.append(("mixed types", "instances of different circuit types share neurons (compile with segregate on)"))
    gain = types[0].gain
    if gain < 2 * S:
        failed.append(("gain", f"gain G = {gain:g} is below 2·S = {2 * S}: a neighbour's on-indicator read at 1/S "
                               f"does not reach 1"))
    if not step_saturates(gain, margin, S):
        failed.append(("margin", f"margin β = {margin:g} is too large for G = {gain:g}, S = {S}: a step read at 1/S "
                                 f"does not saturate (needs β <= {((gain + 1) / 2 - S) / (S - 1):g})"))
    return Guarantee.unless(failed, "one active instance: every neighbour computes an exact copy of it "
                                    f"(boolean steps of slope G = {gain:g} >= 2·S, β = {margin:g}, "
                                    "one type per neuron)")


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


def _type_groups(config: Config, counts: tuple[int, ...]) -> tuple[int, ...] | None:
    """The instances per type when each type gets its own range of neurons, else None."""
    return counts if config.segregate and len(counts) > 1 else None


def _place(config: Config, counts: tuple[int, ...], d: int, L: int, n: int):
    """Allocate (one range of neurons per type when segregating several) and give every layer its
    supports, reshuffled per layer or one assignment for all."""
    groups = _type_groups(config, counts)
    if groups:
        allocation = allocate_segregated(counts, n, config.S, config.allocation, d=d)
    else:
        allocation = allocate(sum(counts), n, config.S, config.allocation, d=d)
    supports, perms = layer_supports(allocation, L + 1, config.seed, groups)
    if not config.shuffle:
        perms = np.broadcast_to(perms[:1], perms.shape).copy()
        supports = allocation.supports[perms]
    return allocation, supports, perms


def with_redundancy(plan: Plan, S: int) -> Plan:
    """The same network planned at another redundancy S (gain 2·S, circuits lowered again,
    allocation redone): the budget's what-if for the S knob. Raises CircuitError when the
    allocation cannot hold the instances at that S."""
    config = replace(plan.config, S=S, gain=coherent_gain(S))
    types = tuple(lower(c, config, config.gain) for c in plan.circuits)
    allocation, supports, perms = _place(config, plan.counts, plan.d, plan.L, plan.n)
    return replace(plan, config=config, types=types, allocation=allocation, supports=supports, permutations=perms)


def with_counts(plan: Plan, counts: tuple[int, ...]) -> Plan:
    """The same plan (lowered circuits, S, gain, width) for other instance counts, fewer than the
    allocation holds: the budget's what-if (how many instances would keep a verdict)."""
    allocation, supports, perms = _place(plan.config, counts, plan.d, plan.L, plan.n)
    return replace(plan, counts=tuple(counts), allocation=allocation, supports=supports, permutations=perms)
