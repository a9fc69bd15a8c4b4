"""MLP circuits → SmallMLP: the given layers, with biases moved onto the on-indicator.

A ReLU layer becomes one network layer neuron for neuron. A linear layer's outputs can be
negative, which a ReLU network cannot hold, so each becomes a pair ReLU(z), ReLU(-z) whose
difference is folded into the weights that read it (and into the read-out, for the last layer).
Biases never go into the network bias, which other circuits share: they are weights from ON.
"""

from __future__ import annotations

import numpy as np

from ...spec import MLPCircuit
from .small_mlp import DEFAULT_GAIN, FIRST_FREE, SmallMLP, add_on, layer_bias, on_rows


def layer_units(layer, forms: np.ndarray, on_col: int, first: int) -> tuple[np.ndarray, np.ndarray]:
    """One circuit layer over `forms` (its inputs as rows over the previous layer's neurons, the
    constant at column `on_col`): the units it needs, as rows over the same columns with the layer's
    bias on the constant, and the forms of its outputs over the new layer, whose units start at
    neuron `first` (constant again at `on_col`: −1 adds a last column for it). A ReLU output is
    its unit; a linear one, which can be negative, is the pair ReLU(v) − ReLU(−v)."""
    pre = layer.weights @ forms
    pre[:, on_col] += layer.bias                   # the circuit's own bias comes from the constant
    m = len(pre)
    units = pre if layer.activation == "relu" else np.concatenate([pre, -pre])
    new = np.zeros((m, first + len(units) + (on_col == -1)))
    new[np.arange(m), first + np.arange(m)] = 1.0
    if layer.activation != "relu":
        new[np.arange(m), first + m + np.arange(m)] = -1.0
    return units, new


def lower_mlp(circuit: MLPCircuit, margin: float, gain: float = DEFAULT_GAIN) -> SmallMLP:
    """`gain`: the slope of the on-indicator (small_mlp.py); the circuit's own weights are kept."""
    n_in = len(circuit.input_bits)
    # Values as rows over the previous layer's neurons plus one column for `on` (the last):
    # value_j = forms[j, :-1] @ a_prev + forms[j, -1] · on.
    width0 = FIRST_FREE + n_in
    forms = np.zeros((n_in, width0 + 1))
    forms[np.arange(n_in), FIRST_FREE + np.arange(n_in)] = 1.0
    units_per_layer: list[np.ndarray] = []
    for layer in circuit.layers:
        units, forms = layer_units(layer, forms, -1, FIRST_FREE)
        units_per_layer.append(units)
    d = max([width0] + [FIRST_FREE + len(u) for u in units_per_layer])
    L = len(units_per_layer)
    weights = np.zeros((L, d, d))
    bias = layer_bias(d, margin)
    for l, units in enumerate(units_per_layer):
        rows = FIRST_FREE + np.arange(len(units))
        weights[l, rows, :units.shape[1] - 1] = units[:, :-1]
        add_on(weights[l], rows, units[:, -1] - bias[rows])  # own bias; the shared one cancelled
        weights[l, :FIRST_FREE] = on_rows(d, gain)
    readout = np.zeros((len(forms), d))
    readout[:, :forms.shape[1] - 1] = forms[:, :-1]
    add_on(readout, np.arange(len(forms)), forms[:, -1])
    mlp = SmallMLP(circuit.name, "mlp", weights, float(margin), FIRST_FREE + np.arange(n_in), readout, gain=float(gain))
    mlp.check()
    return mlp
