"""Boolean circuits → the `RoutedMLP` one *position* of a routed network runs ("routed" lowering).

In the routed construction (docs/lowering.md, "The routed construction") the hidden layers are
position-local: position k of layer l reads only position k of layer l − 1, and every position of
a type's range runs this same small network on whatever lands in it. Instances meet only in the
input (each writes its inputs and `on` onto its S positions) and in the read-out (each reads its S
positions). So a position sees the *sum* of the layer-0 vectors of the active instances routed to
it: nothing (empty), exactly one instance (clean), or several (a collision). This lowering computes

- in a clean position: the circuit, exactly;
- in an empty position: 0 everywhere, except the unit `empty`, which is 1;
- in a collision: 0 everywhere from layer 2 on (the *wipe*), `empty` included.

How, in units (all biases 0 unless said):

- layer 1: `empty = ReLU(1 − on)` (bias +1), `excess = ReLU(on − 1)` (bias −1; ≥ 1 in a
  collision, 0 otherwise), `one = ReLU(on)`, and the first level of gates;
- layer 2: `one = ReLU(one − 2·excess)` (1 in a clean position, 0 in a collision), and every
  other unit subtracts M·excess, M the largest pre-activation it can reach in a collision (interval
  arithmetic over on ∈ [2, z], inputs in [0, z]), so a collision is wiped;
- layers ≥ 3: no wipe is needed: everything a collision holds is already 0.

Gates need no clean-up steps: in a clean position every value is an exact 0 or 1. A gate of
fan-in k is a function f of the sum s of its input values (NOT folded into the readers as
`one − x`, as the step lowering does), and f on the integers lo..hi is the piecewise-linear
function `f(lo)·one + slope·(s − lo·one) + Σ_m γ_m ReLU(s − m·one)` with one unit per kink m
(γ_m the second difference); a kink can be written mirrored, ReLU(m·one − s), which changes the
slope, and the lowering picks the mirroring that makes the slope 0 when one exists, saving the
unit that would carry s. So AND, OR and NAND cost 1 unit, XOR2 2, MAJ3 2, XOR3 3. A wire read
later than the layer after its gate is carried by one unit ReLU(x) per layer (x >= 0).

The read-out of output j is `(S / c0)·(out_j − K·empty)`, averaged over the instance's S positions
by the network's decode: with an allocation of overlap at most λ and S = λz + 1 (a z-cover-free
code), an active instance has at least c0 = S − λ(z − 1) clean positions and no empty one, so it
reads c·f_j / c0 >= f_j (c its clean positions); an inactive one has at most λz non-empty
positions and at least one empty, so with K = λz + 1 it reads at most −1/c0. Decoded at 0.5,
every instance's outputs are exact: the active ones' circuit, the inactive ones' 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import product

import numpy as np

from ...spec import BoolCircuit, MLPCircuit, Op
from ..embed.allocate import cover_free_redundancy, least_clean
from .boolean import fold_wires, gate_function, sum_terms
from .mlp import layer_units
from .small_mlp import RoutedMLP

ON = 0            # layer 0: the on count (encode writes 1 per active instance); later: the unit `one`
EMPTY, EXCESS = 1, 2
ONE_KEY = "one"   # in forms: the layer's constant-one unit


@dataclass
class _Gate:
    home: int                       # the layer whose units compute it
    terms: list                     # (c, a, base) input terms: value c·one + a·x_base
    lo: int
    values: list                    # f(lo), f(lo + 1), ..., f(hi)


@dataclass
class _Layer:
    offset: int                                   # the index of the layer's first gate unit
    rows: list = field(default_factory=list)      # per unit: {form key: weight}

    def unit(self, row: dict) -> int:
        """The index of a unit computing ReLU(row); an identical row already there is reused (an
        AND and an XOR of the same inputs share ReLU(a + b − 1))."""
        row = {k: v for k, v in row.items() if v}
        for i, have in enumerate(self.rows):
            if have == row:
                return self.offset + i
        self.rows.append(row)
        return self.offset + len(self.rows) - 1


def _pieces(lo: int, values: list) -> tuple[float, float, list[tuple[int, float, bool]]]:
    """f on lo..hi as (constant, slope, kinks [(m, γ, mirrored)]) with
    f(s) = constant + slope·(s − lo) + Σ γ·ReLU(s − m), a mirrored kink written ReLU(m − s)
    instead. The mirrorings are chosen for the fewest units: a zero slope saves one."""
    hi = lo + len(values) - 1
    f = dict(zip(range(lo, hi + 1), values))
    slope = f[lo + 1] - f[lo] if hi > lo else 0
    kinks = [(m, f[m + 1] - 2 * f[m] + f[m - 1]) for m in range(lo + 1, hi)]
    kinks = [(m, g) for m, g in kinks if g]
    best = None
    # ReLU(s − m) = ReLU(m − s) + (s − m): mirroring kink m keeps f if the slope drops by γ and the
    # constant by γ·(lo − m) (evaluated at s = lo).
    for flips in product((False, True), repeat=min(len(kinks), 12)):
        flips = flips + (False,) * (len(kinks) - len(flips))
        s = slope + sum(g for (m, g), fl in zip(kinks, flips) if fl)
        c = f[lo] + sum(g * (lo - m) for (m, g), fl in zip(kinks, flips) if fl)
        cost = len(kinks) + (s != 0)
        if best is None or cost < best[0]:
            best = (cost, c, s, [(m, g, fl) for (m, g), fl in zip(kinks, flips)])
    _, constant, slope, kinks = best
    return constant, slope, kinks


class _RoutedLowering:
    def __init__(self, circuit: BoolCircuit, z: int, lam: int):
        self.circuit = circuit
        self.z = z
        self.lam = lam
        self.collide = z >= 2 and lam >= 1      # can two active instances share a position?
        self.layers: dict[int, _Layer] = {}
        self.forms: dict[tuple[int, int], dict] = {}   # (base, layer) -> form over that layer's units
        self.gates: list[_Gate | int] = []             # base id -> gate, or the input's index

    def _layer(self, l: int) -> _Layer:
        # Fixed units: `one` at 0, `empty` at 1, and at layer 1 `excess` at 2 when collisions happen.
        return self.layers.setdefault(l, _Layer(3 if (l == 1 and self.collide) else 2))

    def _form(self, b: int, layer: int) -> dict:
        key = (b, layer)
        if key in self.forms:
            return self.forms[key]
        g = self.gates[b]
        if isinstance(g, int):                          # an input bit
            form = {1 + g: 1.0} if layer == 0 else {self._layer(layer).unit(self._form(b, layer - 1)): 1.0}
        elif layer == g.home:
            form = self._gate_form(g)
        else:                                           # carried: ReLU(x) = x for x in {0, 1}
            assert layer > g.home
            form = {self._layer(layer).unit(self._form(b, layer - 1)): 1.0}
        self.forms[key] = form
        return form

    def _gate_form(self, g: _Gate) -> dict:
        s = sum_terms(g.terms, lambda b: self._form(b, g.home - 1), ONE_KEY)
        constant, slope, kinks = _pieces(g.lo, g.values)
        lay = self._layer(g.home)
        form: dict = {}

        def add(key, v):
            form[key] = form.get(key, 0.0) + v

        if constant:
            add(ONE_KEY, constant)
        if slope:                                       # slope·(s − lo·one), one unit
            row = dict(s)
            row[ONE_KEY] = row.get(ONE_KEY, 0.0) - g.lo
            add(lay.unit(row), slope)
        for m, gamma, mirrored in kinks:
            sign = -1.0 if mirrored else 1.0
            row = {k: sign * v for k, v in s.items()}
            row[ONE_KEY] = row.get(ONE_KEY, 0.0) - sign * m
            add(lay.unit(row), gamma)
        return form

    def _gate(self, op: Op, terms: list) -> tuple[int, int, int | None]:
        k = len(terms)
        lo = sum(min(c, c + a) for c, a, _ in terms)
        hi = sum(max(c, c + a) for c, a, _ in terms)
        f = gate_function(op, k)
        values = [f(m) for m in range(lo, hi + 1)]
        if len(set(values)) == 1:
            return (values[0], 0, None)
        live = [t for t in terms if t[1]]
        if len(live) == 1:                              # x & 1, x ^ 1: a (negated) copy, no unit
            c, a, b = live[0]
            rest = sum(cc for cc, aa, _ in terms if not aa)
            h0, h1 = f(rest + c), f(rest + c + a)
            return (h0, h1 - h0, b) if h1 != h0 else (h0, 0, None)
        home = 1 + max(self._home(b) for _, _, b in live)
        self.gates.append(_Gate(home, terms, lo, values))
        return (0, 1, len(self.gates) - 1)

    def _home(self, b: int) -> int:
        g = self.gates[b]
        return 0 if isinstance(g, int) else g.home

    def run(self, S: int) -> RoutedMLP:
        c = self.circuit
        value: dict[str, tuple[int, int, int | None]] = {}
        for k, bit in enumerate(c.input_bits):
            self.gates.append(k)
            value[bit] = (0, 1, len(self.gates) - 1)
        fold_wires(c, value, self._gate)
        outs = [value[b] for b in c.output_bits]
        depth = max([1] + [self._home(b) for _, a, b in outs if a])
        # A collision is wiped at layer 2, so a network that can hold one needs two layers.
        L = max(depth, 2) if self.collide else depth
        out_forms = []
        for cc, a, b in outs:
            form = {ONE_KEY: float(cc)} if cc else {}
            if a:
                for j, v in self._form(b, L).items():
                    form[j] = form.get(j, 0.0) + a * v
            out_forms.append(form)
        return self._assemble(L, out_forms, S)

    def _assemble(self, L: int, out_forms: list[dict], S: int) -> RoutedMLP:
        n_in, lam, collide = len(self.circuit.input_bits), self.lam, self.collide
        d = max([1 + n_in] + [self._layer(l).offset + len(self._layer(l).rows) for l in range(1, L + 1)])
        weights = np.zeros((L, d, d))
        biases = np.zeros((L, d))
        for l in range(1, L + 1):
            W, b = weights[l - 1], biases[l - 1]
            lay = self._layer(l)
            base = lay.offset
            W[ON, ON] = 1.0                              # one = ReLU(one) (layer 1: ReLU(on))
            W[EMPTY, ON if l == 1 else EMPTY] = -1.0 if l == 1 else 1.0
            b[EMPTY] = 1.0 if l == 1 else 0.0           # layer 1: empty = ReLU(1 − on)
            if l == 1 and collide:
                W[EXCESS, ON] = 1.0
                b[EXCESS] = -1.0                         # excess = ReLU(on − 1)
            for i, row in enumerate(lay.rows, start=base):
                for key, v in row.items():
                    W[i, ON if key == ONE_KEY else key] += v
            if l == 2 and collide:
                W[ON, EXCESS] = -2.0                     # one = ReLU(one − 2·excess): 1 only if clean
                live = np.arange(base, base + len(lay.rows))
                if len(live):
                    W[live, EXCESS] -= _collision_bound(weights[0], biases[0], W[live], self.z)
        readout = np.zeros((len(out_forms), d))
        K = cover_free_redundancy(lam, self.z) if lam >= 1 else 0
        c0 = least_clean(S, lam, self.z)
        for k, form in enumerate(out_forms):
            for key, v in form.items():
                readout[k, ON if key == ONE_KEY else key] += v
            readout[k, EMPTY] -= K
        readout *= S / c0
        return RoutedMLP(self.circuit.name, "boolean", weights, 0.0, 1 + np.arange(n_in), readout,
                        active_tolerance=0.0, gain=0.0, biases=biases)


def _collision_bound(W1: np.ndarray, b1: np.ndarray, rows2: np.ndarray, z: int,
                     input_bound: float | None = None) -> np.ndarray:
    """Per layer-2 row, the largest pre-activation it can reach in a collision (>= 0): layer 0
    holds on ∈ [2, z] and every input in [0, z] (bits), or in [−z·B, z·B] for real inputs of
    magnitude at most B; interval arithmetic through layer 1's ReLUs."""
    lo0 = np.zeros(W1.shape[1]) if input_bound is None else np.full(W1.shape[1], -z * input_bound)
    hi0 = np.full(W1.shape[1], float(z) if input_bound is None else z * input_bound)
    lo0[ON], hi0[ON] = 2.0, float(z)
    hi1 = np.maximum(np.maximum(W1, 0) @ hi0 + np.minimum(W1, 0) @ lo0 + b1, 0.0)
    hi1[EXCESS] = 0.0                               # the wipe's own weight is what we size here
    return np.maximum(np.maximum(rows2, 0) @ hi1, 0.0) + 1.0


def lower_routed(circuit: BoolCircuit, z: int, S: int, lam: int) -> RoutedMLP:
    """The routed lowering of `circuit` for a network with sparsity z whose allocation gives every
    instance S positions, any two sharing at most `lam` (S >= lam·z + 1)."""
    if S < cover_free_redundancy(lam, z):
        raise ValueError(f"S = {S} is below λz + 1 = {cover_free_redundancy(lam, z)}: the code is not z-cover-free")
    return _RoutedLowering(circuit, z, lam).run(S)


class _Carry:
    """A linear identity layer: what a one-layer MLP circuit gets as its second layer when its
    positions can collide (the wipe acts at layer 2)."""

    activation = "linear"

    def __init__(self, m: int):
        self.weights, self.bias = np.eye(m), np.zeros(m)


def lower_routed_mlp(circuit: MLPCircuit, z: int = 1, lam: int = 0, input_bound: float | None = None) -> RoutedMLP:
    """An MLP circuit for a routed network: the layers as given, a linear layer as the pair
    ReLU(v), ReLU(−v) read as their difference, biases through `one` (so an empty position stays
    0), and `one` and `empty` at units 0 and 1 as for boolean circuits.

    Where no two active instances share a position (z = 1, or degree λ = 0) an active instance's
    S positions all hold it, and its read-out, the mean over them, is exactly its output. Where
    they can (z >= 2, λ >= 1) the positions get the boolean lowering's collision wipe: `excess` at
    layer 1, every unit of layer 2 less M·excess, M from interval arithmetic with every input of
    magnitude at most `input_bound` (the promise it needs: real inputs have no bound of their
    own), and `one` wiped too. Then an active instance's positions hold its exact outputs where
    they are clean and 0 where they collide, and its read-out is `normalized`: divided by its
    `one` over the same positions, the mean over the clean ones, exact again."""
    collide = z >= 2 and lam >= 1
    if collide and (input_bound is None or not input_bound > 0):
        raise ValueError("MLP circuits on positions that can collide need an input bound B > 0")
    n_in = len(circuit.input_bits)
    forms = np.zeros((n_in, 1 + n_in))              # values as rows over the previous layer; column 0: one
    forms[np.arange(n_in), 1 + np.arange(n_in)] = 1.0
    given = list(circuit.layers)
    if collide and len(given) == 1:
        given.append(_Carry(given[0].weights.shape[0]))
    layers, firsts = [], []
    for l, layer in enumerate(given):
        first = 3 if (collide and l == 0) else 2
        units, forms = layer_units(layer, forms, ON, first)
        layers.append(units)
        firsts.append(first)
    d = max([1 + n_in] + [f + len(u) for f, u in zip(firsts, layers)])
    L = len(layers)
    weights, biases = np.zeros((L, d, d)), np.zeros((L, d))
    for l, (units, first) in enumerate(zip(layers, firsts)):
        W = weights[l]
        W[ON, ON] = 1.0
        if l == 0:
            W[EMPTY, ON], biases[l, EMPTY] = -1.0, 1.0
            if collide:
                W[EXCESS, ON], biases[l, EXCESS] = 1.0, -1.0          # excess = ReLU(on − 1)
        else:
            W[EMPTY, EMPTY] = 1.0
        W[first:first + len(units), :units.shape[1]] = units
        if l == 1 and collide:
            W[ON, EXCESS] = -2.0                                       # one = ReLU(one − 2·excess)
            live = np.arange(first, first + len(units))
            W[live, EXCESS] -= _collision_bound(weights[0], biases[0], W[live], z, input_bound)
    readout = np.zeros((len(forms), d))
    readout[:, :forms.shape[1]] = forms
    return RoutedMLP(circuit.name, "mlp", weights, 0.0, 1 + np.arange(n_in), readout,
                    active_tolerance=0.0, gain=0.0, biases=biases, normalized=collide)
