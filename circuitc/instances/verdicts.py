"""`Budget`: what a construction states about a network before any weight exists, and the figures
every budget carries (capacity, fill, compression, the ceiling).

The verdict, per layer and for the network (its outputs): `guaranteed` (exact for every input),
`expected` (estimated instances wrong at most `TARGET_ERROR`), `at risk` (up to `OVER_BUDGET`),
`over budget` (beyond), each with the knob that changes it. docs/budget.md has every term.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from .error_model import Prediction
from .guarantee import Guarantee
from .plan import Plan, naive_network

VERDICTS = ("guaranteed", "expected", "at risk", "over budget")
TARGET_ERROR = 1e-3        # `expected` when at most this fraction of active instances is wrong
OVER_BUDGET = 0.1          # `over budget` beyond this fraction


def band(wrong: float) -> str:
    """The verdict for an estimated fraction of active instances read off wrong."""
    return "expected" if wrong <= TARGET_ERROR else "at risk" if wrong <= OVER_BUDGET else "over budget"


@dataclass(frozen=True)
class Budget:
    name: str
    figures: dict
    guarantee: Guarantee
    risk: dict
    verdict: str
    knobs: tuple[str, ...] = field(default=())
    prediction: Prediction | None = None
    layer_verdicts: tuple[str, ...] = field(default=())

    def as_dict(self) -> dict:
        p = self.prediction
        return {"network": self.name, "verdict": self.verdict, "knobs": list(self.knobs),
                "guarantee": self.guarantee.as_dict(), "figures": self.figures, "risk": self.risk,
                "model": p and {"name": p.model, "why": p.why, "exact": p.exact, "sources": p.sources},
                "layers": [{**layer.as_dict(), "verdict": v} for layer, v in zip(p.layers, self.layer_verdicts)]
                if p else []}


def capacity_figures(plan: Plan) -> dict:
    d, n, L, T, z, S = plan.d, plan.n, plan.L, plan.T, plan.config.z, plan.config.S
    D = d * n
    naive, gates = naive_network(plan.circuits, plan.counts)
    summary = plan.allocation.summary()
    return {
        "D": D, "L": L, "T": T, "d": d, "z": z, "S": S, "n": n, "gain": plan.config.gain,
        "margin": plan.config.margin, "allocation": summary["strategy"], "capacity": summary["capacity"],
        "packing_bound": summary["packing_bound"], "fill": summary["fill"],
        "load_figure": z * T * L * (d / D) ** 2,            # math.md §1.5: errors small while << 1
        "construction": plan.config.construction,
        "fallback": plan.fallback or None,                  # why "auto" fell back to it, if it did
        "compression": naive / D,                           # against one neuron per gate: 1
        "gates": gates,
        "ceiling_gates": D * D / math.log(D),               # math.md §3: O(n²/log n), constant 1
    }
