"""Verdicts: `Budget`, what a construction states about a network before any weight exists (with
the figures every budget carries: capacity, fill, compression, the ceiling), and `judge`, whether
a `verify` record passes.

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


def band(wrong: float, expected: float = TARGET_ERROR, at_risk: float = OVER_BUDGET) -> str:
    """The verdict for an estimated figure of error: by default the fraction of active instances
    read off wrong; a construction whose model predicts another figure gives its own bounds."""
    return "expected" if wrong <= expected else "at risk" if wrong <= at_risk else "over budget"


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


DEFAULT_MIN_ACCURACY = 0.999
# Real (MLP) outputs pass when every compared output is within this of the reference: float32
# rounding of exact constructions is orders of magnitude below it (verify measures ~1e-6 on the
# shipped examples), while a construction that mixes circuits is off by far more.
DEFAULT_TOLERANCE = 1e-3


@dataclass(frozen=True)
class Judgement:
    """Whether a `verify` record passes: the bit accuracy at least `min_accuracy`, every real output
    within `tolerance` of the reference, nothing that contradicts the static guarantee, and
    something compared. `bits_ok` / `real_ok` are None when there was nothing of that kind."""

    passed: bool
    contradicted: bool          # a guaranteed network measured inexact on boolean outputs: a bug
    bits_ok: bool | None
    real_ok: bool | None
    min_accuracy: float
    tolerance: float

    @property
    def compared(self) -> bool:
        return self.bits_ok is not None or self.real_ok is not None


def judge(result: dict, *, guaranteed: bool, min_accuracy: float = DEFAULT_MIN_ACCURACY,
          tolerance: float = DEFAULT_TOLERANCE) -> Judgement:
    """The verdict on a `verify` record. A record that compared nothing (no boolean bit and no real
    output of an active instance) fails: verification never passes without having compared."""
    acc, worst = result["bit_accuracy"], result["real_max_error"]
    bits_ok = None if acc is None else acc >= min_accuracy
    real_ok = None if worst is None else worst <= tolerance
    # Boolean outputs of a guaranteed network are exact; real ones are exact up to float32
    # rounding, which scales with their size, so only the former can contradict the guarantee.
    contradicted = guaranteed and acc is not None and acc < 1.0
    compared = bits_ok is not None or real_ok is not None
    passed = compared and bits_ok is not False and real_ok is not False and not contradicted
    return Judgement(passed, contradicted, bits_ok, real_ok, min_accuracy, tolerance)
