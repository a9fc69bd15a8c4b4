"""`Config`: every knob of a network of instances, with its default and what it means.

A network declaration supplies D, z, S, the allocation, the seed and the construction; the rest
have defaults here. Which knobs belong to which construction, and the checks on them, live with
the constructions (`constructions/`); the planner collects every problem before it refuses.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..spec import Network

DEFAULT_MARGIN = 0.1
# cis2: the ways the circuits' mean weights can be embedded (given_network.mean_map); the first is
# the default.
SHARED_MEANS = ("union", "expected", "sum")


@dataclass(frozen=True)
class Config:
    D: int                      # width of the network (the compiled width is n·d <= D)
    z: int                      # the sparsity promise: at most z instances active
    S: int | None = None        # redundancy; None: the construction picks it
    allocation: str = "auto"    # "auto", or one of a construction's allocations
    seed: int = 0
    # β (coherent): how far below threshold an inactive unit sits; None: DEFAULT_MARGIN. Given at
    # all (even at the default value), it asks for the coherent construction.
    margin: float | None = None
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
    # exact at z = 1). "auto" (`constructions.choose`): routed unless a setting only the coherent
    # construction has asks for coherent, or MLP circuits at z >= 2 outgrow disjoint positions.
    # The routed layout does not depend on `seed` (the code is deterministic).
    construction: str = "auto"
    # cis2: how the circuits' mean weights are embedded (SHARED_MEANS); None: the first, "union".
    shared_mean: str | None = None
    # routed: MLP circuits at z >= 2 share positions only under this promise, that every real
    # input has magnitude at most input_bound (the collision wipe needs a bound on what a
    # collision can hold); None: they get disjoint positions.
    input_bound: float | None = None

    @classmethod
    def for_network(cls, net: Network, **overrides) -> "Config":
        config = cls(D=net.D, z=net.z, S=net.S, allocation=net.allocation, seed=net.seed,
                     construction=net.construction,
                     input_bound=None if net.input_bound is None else float(net.input_bound))
        return replace(config, **overrides)
