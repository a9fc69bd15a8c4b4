"""`SmallMLP`: one circuit lowered to L ReLU layers of width d, the form the embedding consumes.

Conventions (every lowering produces them, the assembler and the evaluators rely on them):

- the circuit's on-indicator is the difference of its first two neurons, `on = a[ON_HI] − a[ON_LO]`,
  in every layer: 1 in an active instance, 0 in an inactive one. A circuit's own constants and
  biases are weights from `on`, so an inactive instance is exactly 0 everywhere (math.md §1,
  assumption 3);
- layer 0 holds the inputs: `a0[ON_HI] = 1`, `a0[ON_LO] = 0`, `a0[input_index[k]] = input k`;
- layer l = 1..L: `a_l = ReLU(weights[l-1] @ a_{l-1} + layer_bias(d, margin))`. The bias of a
  neuron index is the same for every circuit, because a network neuron is shared by many circuits
  and has one bias: −β at even indices, −β − 1 at odd ones (β = `margin`). A unit that reads the
  same row at an even index and at the odd index after it is a *clean step*: both see the same
  error E, so their difference `clamp(p, 0, 1)` is exactly 1 or exactly 0 while p stays out of
  (0, 1). The on-indicator is such a pair at indices ON_HI, ON_LO, with biases −1 and −2 and row
  G·on (G = `gain`): `clamp(G·on − 1, 0, 1)`, exactly 1 for on >= 2/G and exactly 0 for
  on <= 1/G. A lowering compensates the bias of its units through `on`, so an active instance
  computes exactly its circuit while an inactive one sits β below every ReLU threshold;
- the gain G is the slope of every clean step (the on-indicator's, and each unit of a boolean
  lowering). The compiler sets it to 2·S (`compile.coherent_gain`): an inactive instance that
  shares one of its S neurons with an active one reads 1/S of the active instance's values, and
  with slope 2·S its steps saturate, so it becomes an exact copy of its active neighbour instead
  of a fractional, wrong one (docs/lowering.md, "Coherent neighbours");
- outputs are linear read-outs of the last layer: `y = readout @ a_L`; a boolean output is 1 when
  y > 0.5.

A *routed* lowering (`lower/routed.py`) has a form of its own, `RoutedMLP`: it runs on positions
no other circuit shares unit by unit, so none of the conventions on shared biases and the
on-indicator apply: it gives its own biases per layer and unit (`biases`, (L, d)), and layer 0
holds the on count at index 0 and the inputs at `input_index`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...errors import CircuitError, Diagnostic

ON_HI, ON_LO = 0, 1
FIRST_FREE = 2           # the first neuron index a lowering may use for its own units
_ON_BIAS = (-1.0, -2.0)  # biases of ON_HI and ON_LO: with row G·on, the clean step clamp(G·on − 1, 0, 1)
DEFAULT_GAIN = 4.0       # 2·S at S = 2, the redundancy the compiler picks unless T needs more


def layer_bias(d: int, margin: float) -> np.ndarray:
    """The bias of every neuron index of a layer, shared by all circuits of a network."""
    b = np.full(d, -float(margin))
    b[1::2] -= 1.0                      # odd indices: the lower unit of a clean step
    b[[ON_HI, ON_LO]] = _ON_BIAS
    return b


def on_rows(d: int, gain: float = DEFAULT_GAIN) -> np.ndarray:
    """The weights of the two on-indicator neurons: both read G·on = G·(a[ON_HI] − a[ON_LO])."""
    rows = np.zeros((2, d))
    rows[:, ON_HI] = gain
    rows[:, ON_LO] = -gain
    return rows


def add_on(W: np.ndarray, rows, coefficient) -> None:
    """W[rows] += coefficient · on, with on = a[ON_HI] − a[ON_LO] (coefficient per row or scalar)."""
    W[rows, ON_HI] += coefficient
    W[rows, ON_LO] -= coefficient


@dataclass(frozen=True, eq=False)
class SmallMLP:
    name: str
    kind: str                  # "boolean" or "mlp"
    weights: np.ndarray        # (L, d, d) float64
    margin: float              # β >= 0; every neuron's bias is -β
    input_index: np.ndarray    # (n_inputs,) int64
    readout: np.ndarray        # (n_outputs, d) float64
    # Largest read-off error per neuron (every layer, every neuron, ON included) under which an
    # ACTIVE instance still computes its outputs exactly; 0 when the lowering promises nothing
    # (real-valued MLP circuits pass errors on).
    active_tolerance: float = 0.0
    gain: float = DEFAULT_GAIN  # the slope of every clean step (see the module docstring)

    @property
    def L(self) -> int:
        return int(self.weights.shape[0])

    @property
    def d(self) -> int:
        return int(self.weights.shape[1])

    def bias(self) -> np.ndarray:
        """The (d,) bias vector of every layer (see `layer_bias`) of a shared-neuron lowering."""
        return layer_bias(self.d, self.margin)

    def layer_biases(self) -> np.ndarray:
        """(L, d): the bias of every unit of every layer."""
        return np.broadcast_to(layer_bias(self.d, self.margin), (self.L, self.d))

    def layer0(self, X: np.ndarray, on: np.ndarray) -> np.ndarray:
        """The layer-0 vectors (batch, d) of inputs X (batch, n_inputs): `on` (batch,) at ON_HI and
        the inputs at `input_index`, both 0 in an inactive row."""
        a = np.zeros((X.shape[0], self.d))
        a[:, ON_HI] = on
        a[:, self.input_index] = X * on[:, None]
        return a

    @property
    def inactive_tolerance(self) -> float:
        """Largest read-off error per neuron under which an INACTIVE instance stays exactly 0.

        A unit's pre-activation is row·δ − margin with |δ_j| <= ε, so it stays <= 0 while
        ε <= margin / ||row||_1; the on-indicator step stays 0 while 2·|δ_HI − δ_LO| <= 0.5.
        """
        norms = np.abs(self.weights[:, FIRST_FREE:, :]).sum(axis=2)   # (L, d - FIRST_FREE)
        depth = -self.bias()[FIRST_FREE:]                                 # how far below 0 each sits
        used = norms > 0
        on = 1.0 / (2.0 * self.gain)
        unit = float((depth[None, :].repeat(self.L, 0)[used] / norms[used]).min()) if used.any() else on
        return min(unit, on)

    def check(self) -> None:
        w = self.weights
        problems = []
        if w.ndim != 3 or w.shape[1] != w.shape[2] or w.shape[1] < FIRST_FREE:
            problems.append(f"weights must have shape (L, d, d) with d >= {FIRST_FREE}, got {w.shape}")
        else:
            if not np.all(w[:, [ON_HI, ON_LO], :] == on_rows(self.d, self.gain)):
                problems.append(f"the on-indicator neurons must read exactly {self.gain:g}·on (rows ON_HI, ON_LO)")
            idx = self.input_index
            if (len(set(idx.tolist())) != len(idx) or (len(idx) and (idx.min() < FIRST_FREE or idx.max() >= self.d))):
                problems.append(f"input_index must name distinct neurons >= {FIRST_FREE} of layer 0")
            if self.readout.ndim != 2 or self.readout.shape[1] != self.d:
                problems.append(f"readout must have shape (n_outputs, {self.d}), got {self.readout.shape}")
        if self.margin < 0:
            problems.append(f"margin must be >= 0, got {self.margin}")
        if not self.gain > 2:
            problems.append(f"gain must be above 2 (so that an active on-indicator absorbs noise), got {self.gain}")
        if problems:
            raise CircuitError([Diagnostic(f"lowered circuit `{self.name}`: {p}") for p in problems])

    def padded(self, d: int, L: int) -> "SmallMLP":
        """The same circuit at width d >= self.d and depth L >= self.L.

        Extra neurons are zero rows (ReLU(-margin) = 0: inactive forever); extra layers copy every
        neuron forward (ReLU of a ReLU output is itself), so outputs are unchanged.
        """
        if d < self.d or L < self.L:
            raise ValueError(f"cannot shrink {self.name} from (d={self.d}, L={self.L}) to (d={d}, L={L})")
        if self.L == 0 and L > 0:
            raise ValueError("a circuit without layers cannot be extended by copying")
        w = np.zeros((L, d, d))
        w[:self.L, :self.d, :self.d] = self.weights
        w[:self.L, [ON_HI, ON_LO], :] = on_rows(d, self.gain)
        live = np.flatnonzero(np.abs(self.weights[-1]).sum(axis=1) > 0)
        live = live[live >= FIRST_FREE]
        bias = layer_bias(d, self.margin)
        for l in range(self.L, L):
            w[l, [ON_HI, ON_LO], :] = on_rows(d, self.gain)
            if self.kind == "boolean":
                # Boolean lowerings hold every value as a clean pair (even i, odd i + 1) read as
                # a[i] − a[i+1]. A copy must keep that shape: two identical rows computing the
                # clean step [x >= 1] of x = a[i] − a[i+1]. Identity rows would break the pairing
                # that other circuits sharing these neurons rely on (their errors would differ).
                upper = live[live % 2 == 0]
                g = self.gain
                for i in (upper, upper + 1):
                    w[l, i, upper] = g
                    w[l, i, upper + 1] = -g
                    add_on(w[l], i, self.margin + step_constant(g, 1.0))
            else:
                # A ReLU output passes through a ReLU unchanged; the bias is cancelled through `on`.
                w[l, live, live] = 1.0
                add_on(w[l], live, -bias[live])
        readout = np.zeros((self.readout.shape[0], d))
        readout[:, :self.d] = self.readout
        tolerance = self.active_tolerance
        if self.kind == "boolean" and L > self.L:   # a copy step absorbs (G − 1)/2 over its row's norm
            tolerance = min(tolerance, step_absorbs(self.gain) / np.abs(w[self.L:, FIRST_FREE:, :]).sum(axis=2).max())
        return SmallMLP(self.name, self.kind, w, self.margin, self.input_index.copy(), readout, tolerance, self.gain)



@dataclass(frozen=True, eq=False)
class RoutedMLP(SmallMLP):
    """The form of a routed lowering (`lower/routed.py`): it runs on positions no other circuit
    shares unit by unit, so it has its own bias per layer and unit, and none of the conventions
    on shared biases and the on-indicator apply (layer 0 holds the on count at index 0)."""

    biases: np.ndarray = None           # (L, d) per-unit biases (required)
    # Real outputs read as a ratio: the read-out over the instance's positions divided by its
    # `one` unit (unit 0) over them, i.e. the mean over its clean positions (MLP circuits on
    # positions that can collide, lower/routed.py `lower_routed_mlp`).
    normalized: bool = False

    def bias(self) -> np.ndarray:
        raise ValueError(f"`{self.name}` is a routed lowering: its biases differ per layer (layer_biases)")

    def layer_biases(self) -> np.ndarray:
        return self.biases

    @property
    def inactive_tolerance(self) -> float:
        """A routed lowering reads no other instance's values, so it promises nothing here (0)."""
        return 0.0

    def check(self) -> None:
        w, problems = self.weights, []
        if w.ndim != 3 or w.shape[1] != w.shape[2] or w.shape[1] < 2:
            problems.append(f"weights must have shape (L, d, d) with d >= 2, got {w.shape}")
        elif self.biases.shape != w.shape[:2]:
            problems.append(f"biases must have shape (L, d) = {w.shape[:2]}, got {self.biases.shape}")
        else:
            idx = self.input_index
            if len(set(idx.tolist())) != len(idx) or (len(idx) and (idx.min() < 1 or idx.max() >= self.d)):
                problems.append("input_index must name distinct neurons >= 1 of layer 0 (0 holds the on count)")
            if self.readout.ndim != 2 or self.readout.shape[1] != self.d:
                problems.append(f"readout must have shape (n_outputs, {self.d}), got {self.readout.shape}")
        if problems:
            raise CircuitError([Diagnostic(f"lowered circuit `{self.name}`: {p}") for p in problems])

    def padded(self, d: int, L: int) -> "RoutedMLP":
        """The same circuit at width d >= self.d and depth L >= self.L. Extra units are zero rows with
        zero bias (always 0); extra layers pass every unit on unchanged (each holds a ReLU output, so
        ReLU(x) = x)."""
        w = np.zeros((L, d, d))
        b = np.zeros((L, d))
        w[:self.L, :self.d, :self.d] = self.weights
        b[:self.L, :self.d] = self.biases
        for l in range(self.L, L):
            w[l, np.arange(self.d), np.arange(self.d)] = 1.0
        readout = np.zeros((self.readout.shape[0], d))
        readout[:, :self.d] = self.readout
        return RoutedMLP(self.name, self.kind, w, self.margin, self.input_index.copy(), readout,
                         self.active_tolerance, self.gain, b, self.normalized)

def step_constant(gain: float, m: float) -> float:
    """The weight on `on` of the clean step [s >= m] of slope G, row G·s + this·on:
    pre-activation G(s − m) + (G + 1)/2 (before the margin β that every lowering adds back)."""
    return (gain + 1.0) / 2.0 - gain * m


def step_absorbs(gain: float) -> float:
    """The pre-activation error a clean step of slope G absorbs: its pre-activation is G·(s − m) +
    (G + 1)/2, at least (G + 1)/2 on one side and at most (1 − G)/2 on the other, and the pair reads
    exactly 1 above 1 and exactly 0 below 0."""
    return (gain - 1.0) / 2.0


def on_tolerance(gain: float) -> float:
    """The read-off error per neuron under which an active instance's on-indicator stays exactly 1
    (its pair difference must stay >= 2/G) and an inactive one's exactly 0 (<= 1/G)."""
    return min(1.0 - 2.0 / gain, 1.0 / gain) / 2.0


def layer_values(mlp: SmallMLP, X: np.ndarray, active: np.ndarray | bool = True) -> list[np.ndarray]:
    """Every layer's exact activations without superposition: L+1 arrays of shape (batch, d)."""
    X = np.asarray(X, dtype=np.float64)
    batch = X.shape[0]
    on = np.broadcast_to(np.asarray(active, dtype=np.float64), (batch,))
    a = mlp.layer0(X, on)
    out = [a]
    for w, bias in zip(mlp.weights, mlp.layer_biases()):
        a = np.maximum(a @ w.T + bias, 0.0)
        out.append(a)
    return out


def run_small(mlp: SmallMLP, X: np.ndarray, active: np.ndarray | bool = True) -> np.ndarray:
    """The lowered circuit without superposition: (batch, n_inputs) → (batch, n_outputs), float64.

    `active` (scalar or (batch,) bool) sets the on-indicator; an inactive row gets zero inputs.
    Every layer of every row is computed exactly as the network computes it for one instance alone.
    """
    return layer_values(mlp, X, active)[-1] @ mlp.readout.T
