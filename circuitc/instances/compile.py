"""A network declaration → one superposed ReLU network. `compile_network` reads as the pass list:

    Spec ─check, choose the construction, lower, allocate→ Plan ─assemble→ CompiledNetwork

The planner (`planner.plan_network`) checks every knob and reports every problem at once, picks
the construction by a pure rule (`constructions.choose`), and lets it lower the circuits, pick S
and the allocation and assign every layer's supports; the construction's `assemble` makes the
weights. Nothing here knows which construction it runs.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from functools import cached_property

import numpy as np

from ..errors import Diagnostic
from ..interpret import BoolTables, MLPStack
from ..spec import Circuit, Spec
from .assemble import CompiledNetwork
from .budget import budget_of_plan
from .config import Config
from .constructions import Construction, construction
from .embed.allocate import Allocation
from .guarantee import Guarantee
from .module import SuperposedNetwork
from .plan import Plan, naive_network
from .planner import fallback_warning, plan_network
from .verdicts import Budget

# From this many circuits on, verify and sample read reference outputs from truth tables
# (`Compilation.bool_tables`) instead of evaluating each circuit on its rows.
TABLE_CIRCUITS = 16


@dataclass(frozen=True, eq=False)
class Compilation:
    """A compiled network with the plan it was assembled from (its types as assembled, padded to
    one d and L) and the hash of the source it was compiled from."""

    plan: Plan
    network: CompiledNetwork
    source_hash: str = ""

    @property
    def config(self) -> Config:
        return self.plan.config

    @property
    def allocation(self) -> Allocation:
        return self.plan.allocation

    @property
    def circuits(self) -> tuple[Circuit, ...]:
        """One per instance type, in `network.types` order."""
        return self.plan.circuits

    @property
    def counts(self) -> tuple[int, ...]:
        return self.plan.counts

    @property
    def permutations(self) -> np.ndarray:
        """(L+1, T): the per-layer reshuffling."""
        return self.plan.permutations

    @property
    def name(self) -> str | None:
        """The network declaration it was compiled from."""
        return self.plan.name or None

    @property
    def construction(self) -> Construction:
        return construction(self.config.construction)

    def module(self) -> SuperposedNetwork:
        """The network as one self-contained `nn.Module` (instances and inputs in, outputs out;
        instances/module.py); it shares its layers with `network.model`."""
        return SuperposedNetwork(self.network, self.config.z)

    @cached_property
    def mlp_stack(self) -> MLPStack | None:
        """The circuits evaluated together when they are MLP circuits of one shape (the reference
        `verify` and `sample` compare with), else None."""
        return MLPStack.of(self.circuits)

    @cached_property
    def bool_tables(self) -> BoolTables | None:
        """The circuits' truth tables, when there are many small boolean circuits (at least
        TABLE_CIRCUITS of them: evaluating each one on its own rows costs about a millisecond a
        circuit, a table lookup nothing), else None."""
        return BoolTables.of(self.circuits) if len(self.circuits) >= TABLE_CIRCUITS else None

    @cached_property
    def guarantee(self) -> Guarantee:
        """The construction's guarantee for this network (computed once)."""
        return self.construction.guarantee(self.plan)

    @cached_property
    def budget(self) -> Budget:
        """The static budget of this network (`budget.budget_of_plan`, computed once)."""
        return budget_of_plan(self.plan, guarantee=self.guarantee)

    def warnings(self) -> list[Diagnostic]:
        """Known limitations this compilation runs into (measured; see docs/lowering.md), and the
        construction "auto" fell back to, said aloud."""
        out = []
        if len(self.circuits) > 1 and not self.config.segregate:
            names = ", ".join(f"`{c.name}`" for c in self.circuits)
            out.append(Diagnostic(f"this network mixes circuit types ({names}) on shared neurons; instances of "
                                  f"different types that share a neuron are measured to break each other, even "
                                  f"with one active instance",
                                  hint="leave `segregate` on (the default): one range of neurons per type",
                                  severity="warning"))
        fallback = fallback_warning(self.plan)
        return out + ([fallback] if fallback else [])

    def report(self) -> dict:
        """The figures `circuitc compile` prints (math.md names)."""
        net = self.network
        naive_width, gates = naive_network(self.circuits, self.counts)
        return {
            "D": net.D, "D_requested": self.config.D, "L": net.L, "T": net.T, "d": net.d, "z": self.config.z,
            "S": net.S, "n": net.n, "allocation": self.allocation.summary(),
            "margin": self.config.margin, "gain": self.config.gain, "seed": self.config.seed,
            "compression": naive_width / net.D,
            "naive_neurons": gates,
            "parameters": sum(p.numel() for p in net.model.parameters()),
            "guarantee": self.guarantee.as_dict(),
            "fallback": self.plan.fallback or None,
            "config": asdict(self.config),
        }


def compile_network(spec: Spec, network: str | None = None, **overrides) -> Compilation:
    """Compile the named network declaration (the only one, by default) of a Spec; `overrides` are
    `Config` fields."""
    plan = plan_network(spec, network, **overrides)                  # check, choose, lower, allocate
    net = construction(plan.config.construction).assemble(plan)      # weights
    return Compilation(replace(plan, types=tuple(net.types), supports=net.supports), net, spec.source_hash)
