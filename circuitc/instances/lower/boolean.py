"""Boolean circuits → SmallMLP with clean threshold steps ("step" lowering).

Values are 0/1. NOT, BUF and constants cost no neuron: a wire's value is an affine form
`c·on + a·base` over a *base* signal (an input bit or a gate output), and NOT(x) = on − x is
folded into the weights of whoever reads x (math.md §1.6), through the circuit's own on-indicator
so an inactive instance stays 0.

Every AND, OR, XOR and MAJ is a function of the sum s of its input values, so it is a sum of
threshold steps [s >= m] over the thresholds where it changes. One step is a pair of ReLUs of slope
G (the `gain`),

    [s >= m]  =  ReLU(G(s − m) + (G + 1)/2) − ReLU(G(s − m) + (G − 1)/2),

which is exactly 0 for s <= m − (G + 1)/(2G) and exactly 1 for s >= m − (G − 1)/(2G): an error
below (G − 1)/(2G) in s (0.375 at G = 4) is removed, not passed on (a single ReLU(2x − 1) would
double it every layer; math.md §1.6). So a k-input AND, OR or MAJ is one step (2 neurons), and a
k-input XOR is k steps in a single layer. A wire read several layers after it is computed is
carried by the same step, [x >= 1], one layer at a time, so every value in every layer is clean.
The gate sits one layer after the latest of its inputs; the circuit's depth L is the depth of its
latest output (at least 1).

Why the slope is G = 2·S and not the smallest that cleans (G = 2): see small_mlp.py and
docs/lowering.md — a neighbour of an active instance reads 1/S of its values, and at slope 2·S
its steps still saturate at the active instance's values.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ...graph import levels as wire_levels
from ...spec import BoolCircuit, Op
from .small_mlp import DEFAULT_GAIN, FIRST_FREE, SmallMLP, add_on, on_rows, on_tolerance, step_absorbs, step_constant

# A step [s >= m] is one row, G·s + ((G + 1)/2 − G·m)·on, written at an even neuron index and at the
# odd index after it: the odd index's bias is one lower (small_mlp.layer_bias), so the two units
# compute ReLU(G(s − m) + (G + 1)/2) and the same minus 1, with exactly the same error.
# In forms (sparse rows over a layer's neurons) the key ON stands for the on-indicator, which the
# network holds as a[ON_HI] − a[ON_LO]; it is expanded when the weights are written.
ON = "on"


@dataclass
class _Base:
    """A 0/1 signal that owns neurons: an input bit (home layer 0) or a gate output."""

    home: int
    # Gate outputs: input terms (c, a, base) and the steps (m, delta), value = f_lo + Σ delta·[s >= m].
    terms: list = field(default_factory=list)
    steps: list = field(default_factory=list)
    f_lo: int = 0
    input_neuron: int | None = None


def gate_function(op: Op, k: int):
    """The value of a k-input AND, OR, XOR or MAJ as a function of the sum s of its inputs."""
    if op is Op.AND:
        return lambda s: int(s >= k)
    if op is Op.OR:
        return lambda s: int(s >= 1)
    if op is Op.XOR:
        return lambda s: s % 2
    if op is Op.MAJ:
        return lambda s: int(s >= (k + 1) // 2)
    raise AssertionError(op)  # pragma: no cover


def fold_wires(circuit: BoolCircuit, value: dict, gate) -> None:
    """Give every wire of `circuit` its affine form (c, a, base): value c·on + a·x_base, base None
    for a constant. `value` holds the inputs' forms; constants, BUF and NOT are folded into forms
    (NOT x = on − x), and `gate(op, [forms of its inputs])` makes the form of every other gate."""
    lv = wire_levels(circuit)
    for g in sorted(circuit.gates, key=lambda g: lv[g.out]):   # any topological order will do
        if g.op is Op.CONST0 or g.op is Op.CONST1:
            value[g.out] = (int(g.op is Op.CONST1), 0, None)
        elif g.op is Op.BUF:
            value[g.out] = value[g.args[0]]
        elif g.op is Op.NOT:
            cc, a, b = value[g.args[0]]
            value[g.out] = (1 - cc, -a, b)
        else:
            value[g.out] = gate(g.op, [value[x] for x in g.args])


def sum_terms(terms, form_of, one) -> dict:
    """The sum of a gate's input terms (c, a, base) as a form: c at key `one` (the constant) plus
    a times `form_of(base)`, the base's form over the layer the gate reads."""
    s: dict = {}
    for c, a, b in terms:
        if c:
            s[one] = s.get(one, 0.0) + c
        if a:
            for j, v in form_of(b).items():
                s[j] = s.get(j, 0.0) + a * v
    return s


SCHEDULES = ("asap", "alap")


class _Lowering:
    def __init__(self, circuit: BoolCircuit, margin: float, schedule: str = "asap", gain: float = DEFAULT_GAIN):
        if schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {SCHEDULES}, got {schedule!r}")
        if not gain > 2:
            raise ValueError(f"gain must be above 2, got {gain}")
        self.circuit = circuit
        self.margin = margin
        self.gain = float(gain)
        self.schedule = schedule
        self.rows: dict[int, list[dict[int, float]]] = {}      # layer -> unit rows (sparse)
        self.forms: dict[tuple[int, int], dict[int, float]] = {}  # (base id, layer) -> form there
        self.bases: list[_Base] = []

    # ---------------------------------------------------------------- forms and units
    def _unit(self, layer: int, row: dict[int, float]) -> int:
        units = self.rows.setdefault(layer, [])
        units.append(row)
        return FIRST_FREE + len(units) - 1

    def _step(self, layer: int, s: dict, m: float) -> dict:
        """Two units at `layer` (even index, then odd) computing [s >= m]; returns the form u1 − u2."""
        g = self.gain
        row = {j: g * v for j, v in s.items()}
        row[ON] = row.get(ON, 0.0) + step_constant(g, m)
        upper = self._unit(layer, row)
        lower = self._unit(layer, row)
        assert upper % 2 == 0 and lower == upper + 1
        return {upper: 1.0, lower: -1.0}

    def _form(self, b: int, layer: int) -> dict[int, float]:
        """The form of base b over the neurons of `layer` (carrying it forward as needed)."""
        key = (b, layer)
        if key in self.forms:
            return self.forms[key]
        base = self.bases[b]
        if layer == base.home:
            if base.input_neuron is not None:
                form = {base.input_neuron: 1.0}
            else:
                s = self._sum(base.terms, layer - 1)
                form = {ON: float(base.f_lo)} if base.f_lo else {}
                for m, delta in base.steps:
                    for j, v in self._step(layer, s, m).items():
                        form[j] = form.get(j, 0.0) + delta * v
        else:  # carried: a clean copy [x >= 1] of the form one layer below
            assert layer > base.home
            form = self._step(layer, self._form(b, layer - 1), 1.0)
        self.forms[key] = form
        return form

    def _sum(self, terms, layer: int) -> dict[int, float]:
        return sum_terms(terms, lambda b: self._form(b, layer), ON)

    # ---------------------------------------------------------------- the circuit
    def run(self) -> SmallMLP:
        c = self.circuit
        value: dict[str, tuple[int, int, int | None]] = {}    # wire -> (c, a, base)
        for k, bit in enumerate(c.input_bits):
            self.bases.append(_Base(home=0, input_neuron=FIRST_FREE + k))
            value[bit] = (0, 1, len(self.bases) - 1)
        fold_wires(c, value, self._gate)
        outs = [value[b] for b in c.output_bits]
        L = max([1] + [self.bases[b].home for _, a, b in outs if a])
        if self.schedule == "alap":
            self._as_late_as_possible(L, [b for _, a, b in outs if a])
        readout_forms = [({ON: float(cc)} if cc else {}, a, b) for cc, a, b in outs]
        forms = []
        for const, a, b in readout_forms:
            form = dict(const)
            if a:
                for j, v in self._form(b, L).items():
                    form[j] = form.get(j, 0.0) + a * v
            forms.append(form)
        return self._assemble(L, forms)

    def _as_late_as_possible(self, L: int, output_bases: list[int]) -> None:
        """Move every gate to the latest layer its readers allow (outputs at L), so that finished
        results are not carried forward by copy steps; the inputs a gate needs are carried instead.
        Bases were created in topological order, so one reverse pass settles every gate."""
        latest = [None] * len(self.bases)
        for b in output_bases:
            latest[b] = L
        for b in range(len(self.bases) - 1, -1, -1):
            base = self.bases[b]
            if base.input_neuron is not None or latest[b] is None:
                continue                      # inputs stay at layer 0; unread gates are never built
            base.home = latest[b]
            for _, a, arg in base.terms:
                if a:
                    latest[arg] = base.home - 1 if latest[arg] is None else min(latest[arg], base.home - 1)

    def _gate(self, op: Op, terms: list[tuple[int, int, int | None]]) -> tuple[int, int, int | None]:
        k = len(terms)
        lo = sum(min(cc, cc + a) for cc, a, _ in terms)
        hi = sum(max(cc, cc + a) for cc, a, _ in terms)
        f = gate_function(op, k)
        steps = [(m, f(m) - f(m - 1)) for m in range(lo + 1, hi + 1) if f(m) != f(m - 1)]
        if not steps:                       # constant: every input combination gives f(lo)
            return (f(lo), 0, None)
        live = [t for t in terms if t[1]]
        if len(live) == 1:
            # One input that varies (the rest are constants): the gate is that input or its
            # negation, folded like a NOT — `x & 1`, `x ^ 1`, `or(x, 0)` cost no neuron.
            c, a, b = live[0]
            rest = sum(cc for cc, aa, _ in terms if not aa)
            h0, h1 = f(rest + c), f(rest + c + a)   # the gate's value at base 0 and at base 1
            return (h0, h1 - h0, b) if h1 != h0 else (h0, 0, None)
        home = 1 + max(self.bases[b].home for _, _, b in live)
        self.bases.append(_Base(home=home, terms=terms, steps=steps, f_lo=f(lo)))
        return (0, 1, len(self.bases) - 1)

    def _assemble(self, L: int, out_forms: list[dict]) -> SmallMLP:
        n_in = len(self.circuit.input_bits)
        d = max([FIRST_FREE + n_in] + [FIRST_FREE + len(self.rows.get(l, ())) for l in range(1, L + 1)])
        weights = np.zeros((L, d, d))
        for l in range(1, L + 1):
            W = weights[l - 1]
            W[:FIRST_FREE] = on_rows(d, self.gain)
            for i, row in enumerate(self.rows.get(l, ()), start=FIRST_FREE):
                _write(W, i, row)
                # Cancels the bias −β of an even index; at the odd index of a step the remaining −1
                # is what makes it the lower unit.
                add_on(W, i, self.margin)
        readout = np.zeros((len(out_forms), d))
        for k, form in enumerate(out_forms):
            _write(readout, k, form)
        # A step absorbs an error of (G − 1)/2 in its pre-activation; the on-indicator its own
        # tolerance per neuron; a read-out decides at 0.5.
        unit_norm = np.abs(weights[:, FIRST_FREE:, :]).sum(axis=2).max()
        out_norm = np.abs(readout).sum(axis=1).max() if len(readout) else 0.0
        tolerance = min([on_tolerance(self.gain)] + [b / x for b, x in ((step_absorbs(self.gain), unit_norm),
                                                                           (0.5, out_norm)) if x > 0])
        mlp = SmallMLP(self.circuit.name, "boolean", weights, float(self.margin), FIRST_FREE + np.arange(n_in),
                       readout, tolerance, self.gain)
        mlp.check()
        return mlp


def _write(M: np.ndarray, i: int, form: dict) -> None:
    for j, v in form.items():
        if j == ON:
            add_on(M, i, v)
        else:
            M[i, j] += v


def lower_boolean(circuit: BoolCircuit, margin: float, schedule: str = "asap",
                  gain: float = DEFAULT_GAIN) -> SmallMLP:
    """Lower a boolean circuit with clean threshold steps; the result computes it exactly.

    `schedule`: "asap" puts each gate one layer after its latest input; "alap" one layer before
    its earliest reader (so results are not carried, inputs are). `gain`: the slope G of every
    step and of the on-indicator (above 2)."""
    return _Lowering(circuit, margin, schedule, gain).run()
