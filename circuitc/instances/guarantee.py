"""When a compiled network is exact for *every* input that keeps the sparsity promise, and why.

Two statements, each checked from the configuration, the lowered circuits and the supports alone
(no sampling, no weights):

**Disjoint supports (any z).** If no two instances share a neuron in any layer, no instance ever
reads another's activations: every instance computes exactly what it computes alone.

**One active instance (z = 1): coherent neighbours.** Let t be the only active instance, v^l its
exact layer values (pair differences, read as a[2j] − a[2j+1]; the on-indicator is pair 0), and
suppose every neuron pair of every block holds θ_b·v^l with θ_b ∈ {0, 1} — true at layer 0,
where only t's blocks hold anything. Then instance c reads λ_c·v^l, with λ_c = (its blocks with
θ = 1)/S ∈ {0, 1/S, …, 1}. Every row of a boolean lowering is linear in (values, on) — a
circuit's constants come from its on-indicator, and the network bias is the same −β at every
even index and −β − 1 at every odd one — so if all instances sharing block b are of t's type,
that block's pair at unit i reads

    clamp(Λ_b·P_i − β, 0, 1),   Λ_b = Σ_{c in b} λ_c ∈ {0} ∪ [1/S, ∞),   P_i = p_i + β,

where p_i is the pre-activation t's unit i has alone: p_i >= (G + 1)/2 when the unit is on and
p_i <= (1 − G)/2 when it is off (a clean step of slope G), and the on-indicator reads
clamp(G·Λ_b − 1, 0, 1). The pair is therefore exactly 0 where Λ_b = 0 or the unit is off
(β < (G − 1)/2), and exactly 1 where Λ_b >= 1/S and the unit is on, provided

    (1/S)·((G + 1)/2 + β) − β >= 1   (a step saturates at a 1/S read-off)   and   G/S − 1 >= 1.

So the next layer again holds θ_b·v^{l+1}, with θ = 1 on t's own blocks (Λ >= 1 there): t reads
its exact values at every layer, for every input, whatever the number of instances and however
their supports overlap. The compiler's defaults (G = 2·S, β = 0.1, one range of neurons per
circuit type) meet these conditions for S <= 6 (β <= 1/(2(S − 1))). What the argument needs and
the checks below test: every type boolean (an MLP circuit's units are not steps), no two types
sharing a neuron, G >= 2·S, and β within the bound.

**The routed construction (any z; MLP circuits at z = 1).** Hidden layers are position-local, so a position computes
from the sum of the layer-0 vectors routed to it: exactly its instance's circuit when one active
instance is there, 0 (and `empty` = 1) when none is, and 0 after the wipe at layer 2 when several
are (lower/routed.py). If the supports form a code in which two share at most λ positions and
S >= λz + 1, then with at most z active instances an active instance t meets the other z − 1 in
at most λ(z − 1) positions, so at least c0 = S − λ(z − 1) >= 1 of its positions are clean and none
is empty: its read-out (S/c0)·mean(out − K·empty) is c·f/c0 with c >= c0, decoded exactly; an
inactive instance has at most λz non-empty positions, so at least one is empty, and with
K = λz + 1 it reads at most −1/c0, decoded 0. Nothing here depends on the depth, the inputs, T
or the load of a position.

The same argument (for the coherent construction) shows why z >= 2 has no such guarantee there:
with two active instances a block can hold Λ_t·P^t + Λ_u·P^u, a mixture of two circuits' values,
which no step can sort out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Guarantee:
    exact: bool        # exact for every promise-keeping input
    reason: str        # why, or the first condition that fails
    failed: tuple[str, ...] = ()
    # One short code per failed condition, in the order of `failed` (the budget picks its advice
    # by code): "z", "mlp", "mixed types", "gain", "margin", "lowering", "code".
    codes: tuple[str, ...] = ()

    @classmethod
    def unless(cls, failed: list[tuple[str, str]], reason: str) -> "Guarantee":
        """Exact for `reason`, unless some (code, text) condition failed."""
        if failed:
            return cls(False, failed[0][1], tuple(t for _, t in failed), tuple(c for c, _ in failed))
        return cls(True, reason)

    def as_dict(self) -> dict:
        return {"exact": self.exact, "reason": self.reason, "failed": list(self.failed)}


def supports_disjoint(supports: np.ndarray) -> bool:
    """No two instances share a neuron in any layer; `supports` is (L+1, T, S)."""
    flat = supports.reshape(supports.shape[0], -1)
    return all(len(np.unique(row)) == row.size for row in flat)


def types_share_neurons(supports: np.ndarray, type_of: np.ndarray) -> bool:
    """Some neuron of some layer is used by instances of two different types."""
    layers, T, S = supports.shape
    owner = np.broadcast_to(np.repeat(type_of, S), (layers, T * S))
    neuron = supports.reshape(layers, T * S)
    for l in range(layers):      # a few layers; the check inside is vectorised over neurons
        order = np.argsort(neuron[l], kind="stable")
        n_sorted, o_sorted = neuron[l][order], owner[l][order]
        same_neuron = n_sorted[1:] == n_sorted[:-1]
        if np.any(same_neuron & (o_sorted[1:] != o_sorted[:-1])):
            return True
    return False


def step_saturates(gain: float, margin: float, S: int) -> bool:
    """A clean step of slope G read at 1/S of its value still reads exactly 1 (see the module)."""
    return ((gain + 1.0) / 2.0 + margin) / S - margin >= 1.0 - 1e-12
