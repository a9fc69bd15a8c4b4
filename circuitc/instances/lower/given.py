"""MLP circuits → `GivenMLP`: the circuit's own layers, unchanged, for the cis2 construction.

The papers' construction (math.md §1; constructions/cis2.py) embeds circuits that are already
robust to small noise (an on-indicator of their own, negative biases), so nothing is added: no
on-indicator neurons, no clean steps, no biases moved onto `on`. What the embedding needs of the
circuits, and `check_family` refuses otherwise:

- one shape: the same layer widths and activations in every circuit (block i of the network holds
  neuron i of every circuit);
- the same biases: a network neuron has one bias, shared by every circuit that uses it;
- biases <= 0: an inactive circuit, whose inputs are 0, is then exactly 0 at every neuron
  (assumption 3 of math.md §1); how far below 0 they sit is the circuit's noise margin;
- at least two ReLU layers: the first is written from the inputs when encoding (`first_*`), the
  others are the network's layers; a last linear layer without bias is folded into the read-out.

Layer numbering: the form's layer 0 is the circuit's first layer's activations (what the encoder
writes), its layers 1..L the circuit's later ReLU layers, so `L` is one less than the circuit's
ReLU layers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...errors import CircuitError, Diagnostic
from ...spec import MLPCircuit
from .small_mlp import SmallMLP


@dataclass(frozen=True, eq=False)
class GivenMLP(SmallMLP):
    """An MLP circuit embedded as given. `weights` (L, d, d) and `biases` (L, d) are its layers after
    the first; `first_weights` (d, n_inputs) and `first_bias` (d,) its first layer."""

    biases: np.ndarray = None
    first_weights: np.ndarray = None
    first_bias: np.ndarray = None

    def bias(self) -> np.ndarray:
        raise ValueError(f"`{self.name}` is embedded as given: its biases differ per layer (layer_biases)")

    def layer_biases(self) -> np.ndarray:
        return self.biases

    def layer0(self, X: np.ndarray, on: np.ndarray) -> np.ndarray:
        """The first layer's activations from the inputs (an inactive row has zero inputs)."""
        return np.maximum((X * on[:, None]) @ self.first_weights.T + self.first_bias, 0.0)

    @property
    def inactive_tolerance(self) -> float:
        """The read-off error per neuron under which every unit of an inactive instance stays 0:
        a unit sits at its bias b <= 0 and moves by at most |row|₁·ε."""
        norms = np.abs(self.weights).sum(axis=2)                       # (L, d)
        used = norms > 0
        if not used.any():
            return float("inf")
        return float((-self.biases[used] / norms[used]).min())

    def check(self) -> None:
        w, problems = self.weights, []
        if w.ndim != 3 or w.shape[1] != w.shape[2]:
            problems.append(f"weights must have shape (L, d, d), got {w.shape}")
        elif self.biases.shape != w.shape[:2]:
            problems.append(f"biases must have shape (L, d) = {w.shape[:2]}, got {self.biases.shape}")
        elif self.first_weights.shape != (self.d, len(self.input_index)) or self.first_bias.shape != (self.d,):
            problems.append(f"the first layer must have shape ({self.d}, {len(self.input_index)}) with a "
                            f"({self.d},) bias, got {self.first_weights.shape} and {self.first_bias.shape}")
        elif self.readout.ndim != 2 or self.readout.shape[1] != self.d:
            problems.append(f"readout must have shape (n_outputs, {self.d}), got {self.readout.shape}")
        if problems:
            raise CircuitError([Diagnostic(f"circuit `{self.name}` as given: {p}") for p in problems])

    def padded(self, d: int, L: int) -> "GivenMLP":
        if (d, L) != (self.d, self.L):
            raise ValueError(f"`{self.name}` is embedded as given and cannot be padded to (d={d}, L={L})")
        return self


def _shape(circuit: MLPCircuit) -> tuple:
    return tuple((layer.activation, layer.weights.shape) for layer in circuit.layers)


def check_family(circuits: tuple[MLPCircuit, ...]) -> list[Diagnostic]:
    """Every reason the circuits cannot be embedded as given into one network (module docstring)."""
    kinds = [c.name for c in circuits if not isinstance(c, MLPCircuit)]
    if kinds:
        return [Diagnostic(f"the cis2 construction embeds MLP circuits; `{kinds[0]}`"
                           f"{f' and {len(kinds) - 1} more' if len(kinds) > 1 else ''} "
                           f"{'is a boolean circuit' if len(kinds) == 1 else 'are boolean circuits'}",
                           circuits[0].span, hint='use construction "routed" or "coherent" for boolean circuits')]
    first = circuits[0]
    out = []
    shape = _shape(first)
    relu = [layer.activation == "relu" for layer in first.layers]
    n_relu = len(relu) - (not relu[-1])
    if not all(relu[:n_relu]) or n_relu < 2:
        out.append(Diagnostic(
            f"the cis2 construction needs circuits of at least two ReLU layers, optionally followed by one "
            f"linear layer; `{first.name}` has layers {', '.join(a for a, _ in shape)}", first.span,
            hint="the first ReLU layer is written from the inputs; the network's layers are the ReLU layers after it"))
    if not relu[-1] and np.any(first.layers[-1].bias != 0):
        out.append(Diagnostic(f"`{first.name}`: a last linear layer is folded into the read-out, which has no bias",
                              first.layers[-1].span, hint="give the last linear layer zero bias"))
    other = next((c for c in circuits[1:] if _shape(c) != shape), None)
    if other is not None:
        out.append(Diagnostic(f"the cis2 construction embeds circuits of one shape: `{first.name}` has layers "
                              f"{_describe(first)}, `{other.name}` {_describe(other)}", other.span,
                              hint="pad the circuits to common layer widths"))
        return out
    biases = np.stack([np.concatenate([layer.bias for layer in c.layers]) for c in circuits])   # (T, units)
    differs = np.flatnonzero(np.any(biases != biases[0], axis=1))
    if len(differs):
        c = circuits[int(differs[0])]
        out.append(Diagnostic(f"the cis2 construction needs one bias per network neuron, shared by every circuit: "
                              f"`{c.name}`'s biases differ from `{first.name}`'s "
                              f"({len(differs)} of {len(circuits)} circuits differ)", c.span,
                              hint="give every circuit the same biases (a circuit's own constants can come "
                                   "from an on-indicator unit of its own)"))
    elif np.any(biases[0][:sum(l.weights.shape[0] for l in first.layers[:n_relu])] > 0):
        out.append(Diagnostic(f"`{first.name}` has a positive bias: an inactive circuit (inputs 0) would not be 0",
                              first.span, hint="the cis2 construction needs biases <= 0 (the noise margin)"))
    return out


def _describe(circuit: MLPCircuit) -> str:
    return "(" + ", ".join(f"{a} {shape[0]}×{shape[1]}" for a, shape in _shape(circuit)) + ")"


def lower_given(circuit: MLPCircuit) -> GivenMLP:
    """The circuit's layers as given (`check_family` has accepted it): the first layer apart, the
    later ReLU layers as the form's layers, a last linear layer as the read-out."""
    layers = list(circuit.layers)
    readout = None
    if layers[-1].activation == "linear":
        readout = layers.pop().weights
    d = layers[0].weights.shape[0]
    if any(layer.weights.shape != (d, d) for layer in layers[1:]):
        raise CircuitError(Diagnostic(f"`{circuit.name}`: the cis2 construction needs every ReLU layer after the "
                                      f"first to be square, {d}×{d}", circuit.span,
                                      hint="pad the circuit's layers to one width"))
    weights = np.stack([layer.weights for layer in layers[1:]])
    biases = np.stack([layer.bias for layer in layers[1:]])
    n_in = layers[0].weights.shape[1]
    mlp = GivenMLP(circuit.name, "mlp", weights, float(-biases.max()), np.arange(n_in),
                   np.eye(d) if readout is None else readout, 0.0, 0.0, biases=biases,
                   first_weights=layers[0].weights, first_bias=layers[0].bias)
    mlp.check()
    return mlp
