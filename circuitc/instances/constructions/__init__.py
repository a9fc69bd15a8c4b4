"""The constructions of a network of instances, registered in one place, and the choice among them.

Adding a construction is one module implementing `base.Construction` and one line in `REGISTRY`.
"""

from __future__ import annotations

from typing import NamedTuple

from ...errors import Diagnostic
from ...spec import ALLOCATIONS, CONSTRUCTIONS, Circuit
from ..config import Config
from ..lower.given import check_family
from .base import Construction, RoutingTally
from .cis2 import Cis2
from .coherent import Coherent
from .lookup import Lookup
from .routed import Routed, mlp_positions

REGISTRY: dict[str, Construction] = {c.name: c for c in (Routed(), Lookup(), Coherent(), Cis2())}

# The language names the constructions and allocations a network declaration may ask for
# (spec.py, so the front end can check them); the registry must offer exactly those.
if (set(CONSTRUCTIONS) != {"auto", *REGISTRY}
        or set(ALLOCATIONS) != {"auto", *(a for c in REGISTRY.values() for a in c.allocations)}):
    raise RuntimeError("spec.CONSTRUCTIONS / spec.ALLOCATIONS disagree with the registered constructions")


def construction(name: str) -> Construction:
    """The registered construction `name` (a resolved name: not "auto")."""
    return REGISTRY[name]


class Choice(NamedTuple):
    name: str
    why: str
    fallback: bool      # "auto" took another construction because its first choice cannot hold the network


def choose(config: Config, circuits: tuple[Circuit, ...], counts: tuple[int, ...]) -> Choice:
    """The construction for a checked config: the one it names, or for "auto" routed, which is
    exact at every z (docs/lowering.md), unless the config sets something only the coherent
    construction has, or MLP circuits at z >= 2 outgrow the disjoint positions routed gives them
    (a fallback, which the compiler says aloud): to cis2 when they are circuits it embeds as given
    (lower/given.py), else to coherent."""
    if config.construction != "auto":
        return Choice(config.construction, "asked for", False)
    coherent_only = REGISTRY["coherent"].own_settings(config)
    cis2_only = [s for s in REGISTRY["cis2"].own_settings(config) if s not in coherent_only]
    if coherent_only and not cis2_only:
        return Choice("coherent", f"{coherent_only[0]} belongs to the coherent construction", False)
    if cis2_only:
        return Choice("cis2", f"{cis2_only[0]} belongs to the cis2 construction", False)
    refusal = mlp_positions(config, circuits, counts)
    if refusal and not check_family(circuits):
        # Circuits the papers' construction takes as given (one shape, shared biases): measured far
        # better than the coherent one, which cannot even hold many different types apart.
        return Choice("cis2", refusal.message, True)
    if refusal:
        return Choice("coherent", refusal.message, True)
    return Choice("routed", "exact at every z", False)


def problems(config: Config, name: str) -> list[Diagnostic]:
    """Every problem of `config` for the construction `name`: the settings of other constructions
    it carries, and the construction's own checks."""
    own = set(REGISTRY[name].own_settings(config))          # a setting two constructions share is no problem
    others = [(setting, other.name) for other in REGISTRY.values() if other.name != name
              for setting in other.own_settings(config) if setting not in own]
    return REGISTRY[name].problems(config, others)


__all__ = ["REGISTRY", "CONSTRUCTIONS", "ALLOCATIONS", "Construction", "RoutingTally", "construction", "choose",
           "Choice", "problems"]
