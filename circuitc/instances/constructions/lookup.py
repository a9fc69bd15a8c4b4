"""The lookup construction: different boolean circuits on one shared range of positions
(lower/lookup.py; docs/lowering.md, "The lookup construction"; math.md §4.5).

Every position runs one decoder of k inputs (a unit per minterm), every instance of every
circuit holds S positions of one polynomial code over all T instances, and a circuit is its
read-out (its truth table over the minterms). The routed construction's code and wipe make it
exact for every promise-keeping input, at any z, as there; what changes is that the types share
positions, so the capacity is the code's for T, whatever the number of different circuits.
"""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache

import numpy as np

from ...errors import CircuitError
from ...spec import Circuit
from ..config import Config
from ..embed.allocate import allocate_routed
from ..guarantee import Guarantee
from ..layout import weight_classes
from ..lower.lookup import check_lookup, lookup_inputs, lookup_types, lower_decoder
from ..plan import Plan
from .routed import Routed, _search, capacity_refusal, routed_guarantee


def plan_lookup(name: str, config: Config, circuits: tuple[Circuit, ...], counts: tuple[int, ...]) -> Plan:
    """The first code degree λ from 0 whose code, at S = λz + 1, holds all T instances in the
    n = D // d positions the decoder of that λ leaves (one range for every circuit)."""
    refusal = check_lookup(circuits)
    if refusal:
        raise CircuitError(refusal)
    z, T, k = config.z, sum(counts), lookup_inputs(circuits)

    @lru_cache(maxsize=None)
    def dec(S: int, lam: int):
        return lower_decoder(k, z, S, lam)

    def n_at(S: int, lam: int) -> int:
        return config.D // dec(S, lam).d

    found, tried = _search((T,), z, config.S, n_at, config.D)
    if found is None:
        raise CircuitError(capacity_refusal("lookup", config, T, tried, lambda S_, lam: dec(S_, lam).d,
                                            f" (a decoder of {k} inputs per position)"))
    S, lam = found
    n = n_at(S, lam)
    types = lookup_types(circuits, z, S, lam, dec(S, lam))
    L = types[0].L
    allocation = allocate_routed((T,), n, S, lam)
    supports = np.broadcast_to(allocation.supports[None], (L + 1,) + allocation.supports.shape).copy()
    perms = np.broadcast_to(np.arange(T)[None], (L + 1, T)).copy()
    config = replace(config, S=S, gain=None, margin=0.0, shuffle=False)
    return Plan(name, config, circuits, counts, types, allocation, supports, perms, n)


def lookup_guarantee(plan: Plan) -> Guarantee:
    """The routed argument (every active instance keeps c0 clean positions, every inactive one an
    empty one), on positions that all run one decoder: its minterms are one-hot in a clean
    position, so a position another instance holds adds at most 1 to a read-out, as in routed."""
    routed = routed_guarantee(plan)
    failed = list(zip(routed.codes, routed.failed))
    if len(weight_classes(plan.types)[1]) != 1:
        failed.append(("lowering", "the circuits' positions do not all run one decoder"))
    return Guarantee.unless(failed, routed.reason.replace("routed:", "lookup (one decoder on every position):", 1))


class Lookup(Routed):
    """Routed positions shared by different circuits; everything after planning is routed's."""

    name = "lookup"
    # Every hidden layer is one shared part, the decoder on every used position, and no instance
    # has a component of its own there: what differs between circuits is their read-out.
    instance_components = True

    def layer_parts(self, plan: Plan, network, layer: int):
        """(None, the decoder's layer (d, d), M (n, n) = the diagonal of used positions): the layer
        is kron(decoder, M), since every used position runs the decoder and no other."""
        used = np.zeros(network.n)
        used[network.supports[0].ravel()] = 1.0
        return None, network.types[0].weights[layer - 1].copy(), np.diag(used)

    def plan(self, name, config, circuits, counts) -> Plan:
        return plan_lookup(name, config, circuits, counts)

    def guarantee(self, plan: Plan) -> Guarantee:
        return lookup_guarantee(plan)
