"""A network declaration → one superposed ReLU network. `compile_network` reads as the pass list.

    Spec ─lower→ SmallMLPs ─allocate→ Allocation ─shuffle→ per-layer supports ─assemble→ network

Every numeric knob lives in `Config`; the network declaration supplies D, z, S, the allocation
strategy and the seed, and the rest have defaults here. Two choices are made after lowering,
because they need the lowered width d (n = D // d): the redundancy S (the smallest that fits; at
z >= 2, S + 1 where the error model estimates it halves the instances wrong), then the step gain 2·S (the circuits are lowered again if it differs from the first guess; the
widths do not depend on it). Several circuit types get one range of neurons each.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from functools import cached_property

import numpy as np

from .assemble import CompiledNetwork, assemble, assemble_routed
from .embed.allocate import (Allocation, allocate, allocate_routed, allocate_segregated, capacities,
                             polynomial_capacity, routed_ranges, segregated_capacities)
from .embed.shuffle import layer_supports
from ..errors import CircuitError, Diagnostic
from ..graph import levels
from .guarantee import exactness
from .lower.boolean import lower_boolean
from .lower.mlp import lower_mlp
from .lower.routed import lower_routed, lower_routed_mlp
from .lower.small_mlp import DEFAULT_GAIN, SmallMLP
from ..spec import BoolCircuit, Circuit, MLPCircuit, Network, Op, Spec

_LOGIC = (Op.AND, Op.OR, Op.XOR, Op.MAJ)
DEFAULT_MARGIN = 0.1
CONSTRUCTIONS = ("auto", "routed", "coherent")
COHERENT_ALLOCATIONS = ("prime-step", "affine")


def coherent_settings(config: Config) -> list[str]:
    """The settings of `config` that only the coherent construction has: a prime-step or affine
    allocation, a gain, a margin other than the default, reshuffling, the ALAP schedule, shared
    ranges of neurons."""
    return [name for name, given in (("allocation " + repr(config.allocation), config.allocation in COHERENT_ALLOCATIONS),
                                     ("a gain", config.gain is not None), ("reshuffling", config.shuffle),
                                     ("a margin", config.margin != DEFAULT_MARGIN),
                                     ("the ALAP schedule", config.schedule != "asap"),
                                     ("shared ranges (segregate off)", not config.segregate)) if given]


def resolve_construction(config: Config) -> str:
    """The construction "auto" stands for: routed, which is exact at every z (docs/lowering.md),
    unless the config sets something only the coherent construction has (`coherent_settings`).
    (`plan_network` also falls back to coherent for MLP circuits at z >= 2 that do not fit the
    disjoint positions routed gives them.)"""
    if config.construction != "auto":
        return config.construction
    return "coherent" if coherent_settings(config) else "routed"


@dataclass(frozen=True)
class Config:
    D: int                      # width of the network (the compiled width is n·d <= D)
    z: int                      # the sparsity promise: at most z instances active
    S: int | None = None        # redundancy; None: the smallest S that fits T (S + 1 at z >= 2 when better)
    allocation: str = "auto"    # "auto", "prime-step" or "affine"
    seed: int = 0
    margin: float = DEFAULT_MARGIN  # β (coherent): how far below threshold an inactive unit sits
    # A fresh permutation of the supports at every layer (math.md §1.3). Off by default: measured
    # with the step lowering, a fixed assignment is better in every z >= 2 case tried (16 of 16,
    # by up to 21 points) and within a few points either way at z = 1; reshuffling decorrelates
    # small errors, but gives every pair of active instances a new chance to overlap at every
    # layer, and here one overlap is what breaks a step (docs/lowering.md).
    shuffle: bool = False
    schedule: str = "asap"      # boolean lowering: gates "asap" (after their inputs) or "alap"
    # The slope G of every clean step and of the on-indicator; None: 2·S (`coherent_gain`).
    gain: float | None = None
    # Several circuit types: give each its own range of neurons, so that instances of different
    # types never share one (measured: a neighbour of another type breaks the active instance).
    segregate: bool = True
    # "routed": hidden layers are position-local, instances meet only in the input and the
    # read-out, on a z-cover-free code (exact at every z; MLP circuits at z = 1). "coherent":
    # every instance reads its S neurons at every layer (shared-neuron lowering with clean steps;
    # exact at z = 1). "auto" (`resolve_construction`): routed unless a setting only the coherent
    # construction has asks for coherent, or MLP circuits at z >= 2 outgrow disjoint positions.
    # The routed layout does not depend on `seed` (the code is deterministic).
    construction: str = "auto"

    @classmethod
    def for_network(cls, net: Network, **overrides) -> "Config":
        config = cls(D=net.D, z=net.z, S=net.S, allocation=net.allocation, seed=net.seed,
                     construction=net.construction)
        return replace(config, **overrides)


@dataclass(frozen=True, eq=False)
class Compilation:
    network: CompiledNetwork
    config: Config
    allocation: Allocation
    circuits: tuple[Circuit, ...]       # one per instance type, in `network.types` order
    counts: tuple[int, ...]
    permutations: np.ndarray            # (L+1, T): the per-layer reshuffling
    name: str | None = None             # the network declaration it was compiled from
    source_hash: str = ""               # Spec.source_hash of the source it was compiled from

    @cached_property
    def guarantee(self):
        """`guarantee.exactness` of this network (computed once)."""
        return exactness(self.plan())

    @cached_property
    def budget(self):
        """The static budget of this network (`budget.budget_of_plan`, computed once)."""
        from .budget import budget_of_plan      # budget.py builds on this module

        return budget_of_plan(self.plan(), guarantee=self.guarantee)

    def plan(self) -> "Plan":
        """The plan this network was assembled from (its types as assembled, padded to one d and L)."""
        net = self.network
        return Plan(self.name or "", self.config, self.circuits, self.counts, tuple(net.types), self.allocation,
                    net.supports, self.permutations, net.n)

    def warnings(self) -> list[Diagnostic]:
        """Known limitations this compilation runs into (measured; see docs/lowering.md)."""
        out = []
        if len(self.circuits) > 1 and not self.config.segregate:
            names = ", ".join(f"`{c.name}`" for c in self.circuits)
            out.append(Diagnostic(f"this network mixes circuit types ({names}) on shared neurons; instances of "
                                  f"different types that share a neuron are measured to break each other, even "
                                  f"with one active instance",
                                  hint="leave `segregate` on (the default): one range of neurons per type",
                                  severity="warning"))
        return out

    def report(self) -> dict:
        """The figures `circuitc compile` prints (math.md names)."""
        net = self.network
        naive_width, gates = naive_network(self.circuits, self.counts)
        T = net.T
        return {
            "D": net.D, "D_requested": self.config.D, "L": net.L, "T": T, "d": net.d, "z": self.config.z,
            "S": net.S, "n": net.n, "allocation": self.allocation.summary(),
            "margin": self.config.margin, "gain": self.config.gain, "seed": self.config.seed,
            "compression": naive_width / net.D,
            "naive_neurons": gates,
            "parameters": sum(p.numel() for p in net.model.parameters()),
            "guarantee": self.guarantee.as_dict(),
            "config": asdict(self.config),
        }


def naive_network(circuits, counts) -> tuple[int, int]:
    """(width, neurons) of the one-neuron-per-gate network of `counts[k]` instances of `circuits[k]`,
    side by side: compression is T·d_naive/D = width/D."""
    width = sum(c * one_neuron_per_gate_width(k) for k, c in zip(circuits, counts))
    return width, sum(c * gate_count(k) for k, c in zip(circuits, counts))


def one_neuron_per_gate_width(circuit: Circuit) -> int:
    """d of the naive network: its widest layer, with one neuron per logic gate (NOT and copies free)."""
    if isinstance(circuit, MLPCircuit):
        return max(layer.weights.shape[0] for layer in circuit.layers)
    lv = logic_levels(circuit)
    counts = np.bincount([lv[g.out] for g in circuit.gates if g.op in _LOGIC] or [0])
    return max(1, int(counts.max()))


def logic_levels(circuit: BoolCircuit) -> dict[str, int]:
    """Wire -> the number of logic gates on its longest path from an input. NOT, BUF and constants
    add no level: a one-neuron-per-gate network folds them into weights, as the lowering does."""
    topo = levels(circuit)
    out: dict[str, int] = dict.fromkeys(circuit.input_bits, 0)
    for g in sorted(circuit.gates, key=lambda g: topo[g.out]):
        below = max((out[a] for a in g.args), default=0)
        out[g.out] = below + (g.op in _LOGIC)
    return out


def gate_count(circuit: Circuit) -> int:
    if isinstance(circuit, MLPCircuit):
        return sum(layer.weights.shape[0] for layer in circuit.layers)
    return sum(g.op in _LOGIC for g in circuit.gates)


def lower(circuit: Circuit, config: Config, gain: float | None = None) -> SmallMLP:
    gain = gain or config.gain or DEFAULT_GAIN
    if isinstance(circuit, BoolCircuit):
        return lower_boolean(circuit, config.margin, config.schedule, gain)
    return lower_mlp(circuit, config.margin, gain)


def coherent_gain(S: int) -> float:
    """The step slope 2·S. Measured, then explained (docs/lowering.md, "Coherent neighbours"):
    an inactive instance u that shares one neuron with the active t reads 1/S of t's values and of
    t's on-indicator. At slope 2·S every step of u still saturates where t's does, and u's
    on-indicator reaches 1, so u computes an exact copy of t, whose contributions to the neurons
    they share only push t's units further the way they already go. At slope 2 (the smallest that
    cleans) u computes fractions of t's values and is wrong in its own way; with one active
    instance that is what limited deep circuits (a 4-bit ripple adder held 44 instances at
    D = 1024 against 721 now)."""
    return 2.0 * S


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


@dataclass(frozen=True, eq=False)
class Plan:
    """Everything a compilation decides before any weight exists: the lowered circuits, S, the gain,
    the allocation and every layer's supports. The budget reads this; `compile_network` assembles it."""

    name: str
    config: Config                      # S and gain resolved
    circuits: tuple[Circuit, ...]
    counts: tuple[int, ...]
    types: tuple[SmallMLP, ...]         # as lowered (assembly pads them to a common d and L)
    allocation: Allocation
    supports: np.ndarray                # (L+1, T, S)
    permutations: np.ndarray            # (L+1, T)
    n: int

    @property
    def T(self) -> int:
        return sum(self.counts)

    @property
    def d(self) -> int:
        return max(t.d for t in self.types)

    @property
    def L(self) -> int:
        return max(t.L for t in self.types)

    @property
    def type_of(self) -> np.ndarray:
        return np.repeat(np.arange(len(self.types)), self.counts)


def plan_network(spec: Spec, network: str | None = None, **overrides) -> Plan:
    """Lower, choose S and the gain, allocate and assign supports — no weights (see `compile_network`)."""
    net = spec.network(network)
    config = Config.for_network(net, **overrides)
    circuits = tuple(spec.circuit(g.circuit) for g in net.groups)
    counts = tuple(g.count for g in net.groups)
    T = sum(counts)
    if not 1 <= config.z <= T:
        raise CircuitError(Diagnostic(f"the sparsity promise z = {config.z} must lie between 1 and the "
                                      f"{T} instances of network `{net.name}`",
                                      hint=f"at most {T} instances can be active at once"))

    if config.construction not in CONSTRUCTIONS:
        raise CircuitError(Diagnostic(f"unknown construction {config.construction!r}",
                                      expected=", ".join(CONSTRUCTIONS)))
    auto = config.construction == "auto"
    config = replace(config, construction=resolve_construction(config))
    if config.construction == "routed":
        try:
            return _plan_routed(net.name, config, circuits, counts)
        except CircuitError:
            # MLP circuits at z >= 2 are routed only on disjoint positions; past those, "auto"
            # takes the coherent construction, which compiles them (inexactly) where routed cannot
            if not (auto and config.z >= 2 and any(not isinstance(c, BoolCircuit) for c in circuits)):
                raise
            config = replace(config, construction="coherent")
    if config.allocation == "polynomial":
        raise CircuitError(Diagnostic("the polynomial allocation belongs to the routed construction",
                                      hint='use allocation "auto", "prime-step" or "affine" with the coherent one'))
    if config.gain is not None and not (config.gain > 2 and math.isfinite(config.gain)):
        raise CircuitError(Diagnostic(f"the step gain must be a finite number above 2, got {config.gain}",
                                      hint="leave it unset for the default, 2·S"))
    types = [lower(c, config) for c in circuits]                       # lower
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
    plan = Plan(net.name, config, circuits, counts, tuple(types), allocation, supports, perms, n)
    return _larger_redundancy(plan) if chosen and config.z >= 2 else plan


def routed_code(counts: tuple[int, ...], n: int, z: int, S: int | None = None) -> tuple[int, int] | None:
    """(S, λ) of the routed construction: the smallest code degree λ whose S = λz + 1 positions
    per instance hold every type in its own range (with S given, λ = (S − 1) // z); None if none."""
    if S is not None:
        lam = (S - 1) // z
        return (S, lam) if routed_ranges(counts, n, S, lam) is not None else None
    lam = 0
    while lam * z + 1 <= n:
        S = lam * z + 1
        if routed_ranges(counts, n, S, lam) is not None:
            return S, lam
        lam += 1
    return None


def routed_lowering(circuit: Circuit, z: int, S: int, lam: int) -> SmallMLP:
    """The routed lowering of a boolean circuit for (z, S, λ), or of an MLP circuit (which needs no
    collision handling: it is routed at z = 1, or on disjoint positions)."""
    return lower_routed(circuit, z, S, lam) if isinstance(circuit, BoolCircuit) else lower_routed_mlp(circuit)


def routed_capacity(circuit: Circuit, D: int, z: int, S: int | None = None) -> tuple[int, int, int]:
    """(T, S, λ): the most instances of one circuit the routed construction holds at width D, and
    the code that holds them (the largest q^(λ+1) over code degrees λ, or at the given S)."""
    if not isinstance(circuit, BoolCircuit) and z >= 2:       # disjoint positions only
        return (D // routed_lowering(circuit, z, 1, 0).d, 1, 0) if S in (None, 1) else (0, S, 0)
    best = (0, 1, 0)
    lams = [(S - 1) // z] if S is not None else range(0, D)
    for lam in lams:
        S_lam = S if S is not None else lam * z + 1
        n = D // routed_lowering(circuit, z, S_lam, lam).d
        if S_lam > n:
            break
        best = max(best, (polynomial_capacity(n, S_lam, lam), S_lam, lam))
    return best


def _plan_routed(name: str, config: Config, circuits: tuple[Circuit, ...], counts: tuple[int, ...]) -> "Plan":
    """The routed construction's plan: for each code degree λ from 0, lower every circuit for it
    (a collision-capable position needs the wipe units), and take the first λ whose code holds
    every type at the width that lowering leaves (n = D // d)."""
    clash = coherent_settings(config)
    if clash:
        raise CircuitError(Diagnostic(f"{clash[0]} belongs to the coherent construction, not the routed one",
                                      hint="drop it, or compile with the coherent construction"))
    mlp = [c.name for c in circuits if not isinstance(c, BoolCircuit)]
    T, z = sum(counts), config.z
    if mlp and z >= 2:
        # Real outputs would be scaled by how many of an instance's positions collide, so at z >= 2
        # MLP circuits get disjoint positions (the code of degree 0), or nothing.
        n0 = config.D // max(routed_lowering(c, z, 1, 0).d for c in circuits)
        if config.S not in (None, 1) or routed_ranges(counts, n0, 1, 0) is None:
            raise CircuitError(Diagnostic(
                f"the routed construction holds MLP circuits at z = {z} only on disjoint positions: at most "
                f"n = {n0} instances with S = 1 (`{mlp[0]}` is an MLP circuit; {T} instances"
                f"{'' if config.S in (None, 1) else f', S = {config.S}'} asked for)",
                hint="use fewer instances or a wider D, z = 1, or the coherent construction (--construction coherent)"))
    best = (0, 0, 0, 0, 0)                  # (capacity, λ, S, d, n) of the largest code tried
    lam = (config.S - 1) // z if config.S is not None else 0
    while True:
        S = config.S if config.S is not None else lam * z + 1
        types = [routed_lowering(c, z, S, lam) for c in circuits]
        d = max(t.d for t in types)
        n = config.D // d
        if n >= 1 and routed_ranges(counts, n, S, lam) is not None:
            break
        best = max(best, (polynomial_capacity(n, S, lam) if n >= S else 0, lam, S, d, n))
        if config.S is not None or lam * z + 1 > n:
            cap, b_lam, b_S, b_d, b_n = best
            raise CircuitError(Diagnostic(
                f"width D = {config.D} is narrower than {T} instances need in the routed construction: the "
                f"largest code that fits holds {cap} (degree {b_lam}, S = {b_S} positions per instance; the "
                f"lowered width d = {b_d} leaves n = {b_n} positions)" +
                (f", in one range; with one range of S·q positions per circuit type the {len(counts)} types "
                 f"need more than n at every degree" if len(counts) > 1 else ""),
                hint="raise the width D, use fewer instances" +
                     (", or leave S unset so the compiler picks the code" if config.S is not None else "")))
        lam += 1
    L = max(t.L for t in types)
    allocation = allocate_routed(counts, n, S, lam)
    supports = np.broadcast_to(allocation.supports[None], (L + 1,) + allocation.supports.shape).copy()
    perms = np.broadcast_to(np.arange(T)[None], (L + 1, T)).copy()
    config = replace(config, S=S, gain=None, margin=0.0, shuffle=False)
    return Plan(name, config, circuits, counts, tuple(types), allocation, supports, perms, n)


def _larger_redundancy(plan: "Plan") -> "Plan":
    """At z >= 2, S + 1 instead of the smallest S when the error model estimates it at most half
    as many wrong instances (the budget's S knob, taken by default). Measured: the smallest S is
    usually best, but a one-layer circuit near a full allocation at S + 1 absorbs a neighbour's
    1/3 with G = 6 where it does not absorb 1/2 with G = 4 (full adders at D = 4096, z = 2: exact
    to 10,337 instances at S = 3, failing adversarial rows at every fill at S = 2; lowering.md)."""
    from .budget import S_PROBE_MEETINGS, S_PROBE_SOURCES, other_redundancy
    from .error_model import predict
    from .guarantee import exactness

    if exactness(plan).exact:
        return plan
    here = predict(plan, sources=S_PROBE_SOURCES, meetings=S_PROBE_MEETINGS).layers[-1].instances_wrong
    if not here:
        return plan
    other = other_redundancy(plan, here)
    return with_redundancy(plan, other[0]) if other else plan


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


def compile_network(spec: Spec, network: str | None = None, **overrides) -> Compilation:
    """Compile the named network declaration (the only one, by default) of a Spec."""
    plan = plan_network(spec, network, **overrides)
    build = assemble_routed if plan.config.construction == "routed" else assemble
    network_ = build(plan.types, plan.type_of, plan.supports, plan.n)      # assemble
    return Compilation(network_, plan.config, plan.allocation, plan.circuits, plan.counts, plan.permutations,
                       plan.name, spec.source_hash)
