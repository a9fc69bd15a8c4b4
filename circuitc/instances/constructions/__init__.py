"""The constructions of a network of instances, registered in one place, and the choice among them.

Adding a construction is one module implementing `base.Construction` and one line in `REGISTRY`.
"""

from __future__ import annotations

from typing import NamedTuple

from ...errors import Diagnostic
from ...spec import ALLOCATIONS, CONSTRUCTIONS, Circuit
from ..config import Config
from .base import Construction, RoutingTally
from .coherent import Coherent
from .routed import Routed, mlp_positions

REGISTRY: dict[str, Construction] = {c.name: c for c in (Routed(), Coherent())}

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
    (a fallback, which the compiler says aloud)."""
    if config.construction != "auto":
        return Choice(config.construction, "asked for", False)
    coherent_only = REGISTRY["coherent"].own_settings(config)
    if coherent_only:
        return Choice("coherent", f"{coherent_only[0]} belongs to the coherent construction", False)
    refusal = mlp_positions(config, circuits, counts)
    if refusal:
        return Choice("coherent", refusal.message, True)
    return Choice("routed", "exact at every z", False)


def problems(config: Config, name: str) -> list[Diagnostic]:
    """Every problem of `config` for the construction `name`: the settings of other constructions
    it carries, and the construction's own checks."""
    others = [(setting, other.name) for other in REGISTRY.values() if other.name != name
              for setting in other.own_settings(config)]
    return REGISTRY[name].problems(config, others)


__all__ = ["REGISTRY", "CONSTRUCTIONS", "ALLOCATIONS", "Construction", "RoutingTally", "construction", "choose",
           "Choice", "problems"]
