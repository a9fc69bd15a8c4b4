"""The static budget: what a network declaration will do, decided before any weight exists.

From the `Plan` (lowered circuits, S, gain, allocation, supports) only:

- **capacity figures** (`verdicts.capacity_figures`): T against the allocation's capacity and the
  pair-packing bound, the fill, math.md's load figure z·T·L·(d/D)², the compression T·d_naive/D
  against the one-neuron-per-gate network (1) and the information-theoretic ceiling n²/log n gates
  for D = n neurons (math.md §3);
- **the guarantee** (the construction's): exact for every promise-keeping input, or why not;
- **the construction's terms**: for the coherent construction the per-layer read-off errors
  `verify` measures, for active and inactive instances, predicted by the coherent-copy field model
  (`error_model.predict`; math.md's formulas beside them), for z >= 2 the fraction of instance
  pairs whose fields meet by each layer and the estimated fraction of active instances read off
  wrong, and the fraction of instance pairs sharing a neuron, which adversarial rows find whenever
  it is not 0; the routed construction has no error terms (its code decides exactness).

The verdict (`verdicts.VERDICTS`), per layer and for the network, comes with the knob that
changes it. docs/budget.md has every term and its calibration against verify.
"""

from __future__ import annotations

import numpy as np

from ..spec import Spec
from .constructions import construction
from .guarantee import Guarantee
from .plan import Plan
from .planner import plan_network
from .verdicts import Budget, capacity_figures

SOURCES = 256              # source instances for the sharing figure when T is large


def budget(spec: Spec, network: str | None = None, *, sources: int = SOURCES, seed: int = 0,
           inputs: np.ndarray | None = None, **overrides) -> Budget:
    """The budget of a network declaration (knobs as for `compile_network`); `inputs` (rows,
    n_inputs): the input rows its MLP circuits are meant for (see `budget_of_plan`)."""
    return budget_of_plan(plan_network(spec, network, **overrides), sources=sources, seed=seed, inputs=inputs)


def budget_of_plan(plan: Plan, *, sources: int = SOURCES, seed: int = 0,
                   guarantee: Guarantee | None = None, inputs: np.ndarray | None = None) -> Budget:
    """The budget of a plan (`Compilation.budget` gives a compiled network's; `guarantee`, when
    already known, is not computed again). `inputs`: rows the MLP circuits' activation sizes are
    measured on, in place of standard-normal values (the cis2 model uses them; others ignore them)."""
    made_by = construction(plan.config.construction)
    guarantee = guarantee or made_by.guarantee(plan)
    return made_by.budget(plan, capacity_figures(plan), guarantee, sources=sources, seed=seed, inputs=inputs)
