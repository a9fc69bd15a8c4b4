"""What every construction of a network of instances provides: the one seam a new one plugs into.

A construction is registered once, in `constructions/__init__.py`; the planner, `assemble`, the
budget, the guarantee and `verify` reach it only through this interface, never by its name.

Constructions import the assembly (torch) where they build a network, not at import: planning,
budgets and reading an artifact need no torch, and a few rows run in numpy (numpy_forward.py).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING

import numpy as np

from ...errors import CircuitError, Diagnostic
from ...spec import Circuit
from ..config import Config
from ..guarantee import Guarantee
from ..plan import Plan
from ..verdicts import Budget

if TYPE_CHECKING:
    from ..assemble import CompiledNetwork
    from ..numpy_forward import NumpyNetwork


class Construction(ABC):
    name: str
    allocations: tuple[str, ...]        # the allocation strategies it can use ("auto" aside)
    # Whether an instance's values can be read off at every hidden layer (the mean of its
    # neurons there): `verify`'s per-layer read-off errors measure exactly that.
    reads_hidden_layers: bool
    # Whether its layers follow from the lowered types and the supports alone (`assemble` is cheap
    # and exact): an artifact then stores no layer tensors and loading assembles them again.
    layers_from_types: bool = False
    # Whether every layer is a sum of one component per instance, W^l = Σ_t C_t^l (components.py).
    instance_components: bool = False

    @abstractmethod
    def own_settings(self, config: Config) -> list[str]:
        """The settings of `config` only this construction has (another refuses them), by name."""

    @abstractmethod
    def problems(self, config: Config, others: list[tuple[str, str]]) -> list[Diagnostic]:
        """Every problem with `config` for this construction; `others` are the settings of `config`
        that belong to other constructions, as (setting, construction) pairs."""

    @abstractmethod
    def plan(self, name: str, config: Config, circuits: tuple[Circuit, ...], counts: tuple[int, ...]) -> Plan:
        """Lower, choose S, allocate and assign every layer's supports (CircuitError if it cannot)."""

    @abstractmethod
    def assemble(self, plan: Plan) -> CompiledNetwork:
        """The weights."""

    @abstractmethod
    def guarantee(self, plan: Plan) -> Guarantee:
        """Exact for every promise-keeping input, or the conditions that fail."""

    @abstractmethod
    def budget(self, plan: Plan, figures: dict, guarantee: Guarantee, *, sources: int, seed: int,
               inputs: np.ndarray | None = None) -> Budget:
        """The verdict, the risk figures and the knobs, from the plan alone (and `inputs`, rows the
        MLP circuits are meant for, where the construction's model uses activation sizes)."""

    def types_from_circuits(self, circuits: tuple[Circuit, ...]) -> tuple | None:
        """The lowered types as a pure function of the source circuits, when they are one (loading
        an artifact then lowers again and checks the stored types against it); None otherwise."""
        return None

    def network_from_layers(self, types, type_of: np.ndarray, supports: np.ndarray, n: int,
                            layers) -> CompiledNetwork:
        """The network around stored layers ((W, b) pairs), as `assemble` would have built it."""
        from ..assemble import network_from_layers

        return network_from_layers(types, type_of, supports, n, layers)

    def numpy_network(self, types, type_of: np.ndarray, supports: np.ndarray, n: int,
                      layers) -> "NumpyNetwork":
        """The network numpy runs (numpy_forward.py): the same layout as `network_from_layers`
        builds, around the stored layers ((W, b) float32 arrays), or, for a construction whose
        layers follow from its types (`layers_from_types`, `layers` None), the layers `assemble`
        builds, as arrays."""
        from ..numpy_forward import dense_network

        if layers is None:
            raise CircuitError(Diagnostic(f"the {self.name} construction has no layers numpy runs"))
        return dense_network(types, type_of, supports, n, layers)

    def layer_parts(self, plan: Plan, network: CompiledNetwork, layer: int) -> tuple[np.ndarray, np.ndarray | None,
                                                                                     np.ndarray | None]:
        """Layer `layer` (1..L) of `plan`'s `network` as `Σ_t (1/S)·w_t ⊗ e_t^l (e_t^{l−1})ᵀ + w̄ ⊗ M`:
        (w (T, d, d), w̄ (d, d) or None, M (n, n) or None), for a construction with `instance_components`."""
        raise CircuitError(Diagnostic(f"the {self.name} construction's layers are not a sum over instances, so they "
                                      f"have no per-instance parts"))

    def routing_tally(self, plan: Plan) -> "RoutingTally | None":
        """What `verify` counts of how the rows met the allocation, or None (the default)."""
        return None


class RoutingTally(ABC):
    """Accumulates, over `verify`'s batches, a figure of how the active instances met each other."""

    @abstractmethod
    def add(self, instances: np.ndarray) -> None:
        """One batch of rows: (batch, z) instance ids, −1 for an empty slot."""

    @abstractmethod
    def report(self) -> dict:
        """The figure, as JSON-ready values."""
