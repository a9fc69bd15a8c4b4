"""Different boolean circuits on shared positions: the "lookup" lowering (docs/lowering.md, "The
lookup construction"; math.md §4.5).

The routed lowering (routed.py) gives every circuit type its own range of positions, because a
position runs one fixed network and so computes one circuit. Here every position runs the same
network, a *decoder* of k inputs: one unit per minterm, `mt_m = AND` of the k literals of m,
so in a clean position exactly one minterm unit is 1 (the row's inputs) and the others 0. A
circuit is then nothing but its read-out: output j of circuit t reads

    (S / c0) · (Σ_m P_t[j, m] · mt_m − K · empty),     P_t[j, m] = output j of t on minterm m,

over its S positions. The decoder is routed-lowered like any circuit (collision wipe, `empty`,
`one`), so the routed argument carries over unchanged: in a clean position the sum is t's
output bit exactly; a collision holds 0 everywhere; and a position another active instance holds
contributes Σ_m P[j, m]·mt_m <= 1, because its minterms are one-hot. Different circuits share
every hidden neuron, and the network's size does not depend on how many there are.

A circuit with fewer than k inputs uses the decoder's first inputs; the others are never written
and read 0, so its truth table sits on the minterms whose trailing bits are 0.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ...errors import CircuitError, Diagnostic
from ...interpret import BoolTables
from ...spec import BoolCircuit, Gate, Op, Port
from ..embed.allocate import cover_free_redundancy, least_clean
from .routed import EMPTY, lower_routed
from .small_mlp import RoutedMLP

# A decoder of k inputs has 2^k minterm units per position: past 16 inputs one position alone
# would be wider than any network this tool builds (65,539 units).
MAX_LOOKUP_INPUTS = 16


def lookup_inputs(circuits) -> int:
    """k: the decoder's inputs, the most any of `circuits` has (at least 1)."""
    return max([1] + [len(c.input_bits) for c in circuits])


def check_lookup(circuits) -> Diagnostic | None:
    """Why `circuits` cannot share lookup positions, or None: they must be boolean circuits (not
    MLP circuits, not over a feature set) of at most MAX_LOOKUP_INPUTS input bits."""
    for c in circuits:
        if not isinstance(c, BoolCircuit):
            return Diagnostic(f"the lookup construction holds boolean circuits only: `{c.name}` is an MLP circuit",
                              hint="compile it with --construction routed, cis2 or coherent")
        if c.features is not None:
            return Diagnostic(f"the lookup construction holds circuits of their own inputs: `{c.name}` computes "
                              f"over feature set `{c.features}`", hint="compile the feature circuit on its own")
    k = lookup_inputs(circuits)
    if k > MAX_LOOKUP_INPUTS:
        widest = max(circuits, key=lambda c: len(c.input_bits))
        return Diagnostic(
            f"the lookup construction decodes at most {MAX_LOOKUP_INPUTS} input bits per circuit "
            f"(2^{MAX_LOOKUP_INPUTS} minterm units per position), but `{widest.name}` has {k}",
            hint="use --construction routed, which lowers each circuit's gates (one range of positions per type)")
    return None


def decoder(k: int) -> BoolCircuit:
    """The circuit of every lookup position: inputs x[0..k), output y[m] = 1 exactly when the
    inputs spell m, first input most significant (the row order of `interpret.truth_table`)."""
    bits = tuple(f"x[{i}]" for i in range(k))
    gates = [Gate(f"n[{i}]", Op.NOT, (b,)) for i, b in enumerate(bits)]
    for m in range(1 << k):
        lits = tuple(b if (m >> (k - 1 - i)) & 1 else f"n[{i}]" for i, b in enumerate(bits))
        gates.append(Gate(f"y[{m}]", Op.AND, lits))
    return BoolCircuit(f"decoder<{k}>", (Port("x", k),), (Port("y", 1 << k),), tuple(gates))


def lower_decoder(k: int, z: int, S: int, lam: int) -> RoutedMLP:
    """The routed lowering of `decoder(k)` for the code (S, λ) at sparsity z: what every position
    runs; its read-out rows are the minterms' (S/c0)·(mt_m − K·empty)."""
    return lower_routed(decoder(k), z, S, lam)


def minterm_tables(circuits, k: int) -> list[np.ndarray]:
    """Per circuit, P (n_outputs, 2^k) float64: P[j, m] = output j on minterm m of the k-input
    decoder, 0 on minterms whose padded trailing inputs are 1 (no row writes them). One
    side-by-side evaluation of all the circuits (`interpret.BoolTables`)."""
    tables = BoolTables(circuits)
    assert tables.k == k
    out = []
    for t, c in enumerate(circuits):
        pad = k - len(c.input_bits)
        P = tables.tables[t, :, :len(c.output_bits)].T.astype(np.float64)
        P[:, (np.arange(1 << k) & ((1 << pad) - 1)) != 0] = 0.0     # a padded input read as 1
        out.append(P)
    return out


def lower_lookup(circuit: BoolCircuit, P: np.ndarray, dec: RoutedMLP, z: int, S: int, lam: int) -> RoutedMLP:
    """`circuit` on lookup positions: the decoder's weights and biases (the same arrays for every
    circuit), its first inputs, and the read-out of its minterm table P (`minterm_tables`)."""
    scale = S / least_clean(S, lam, z)
    K = cover_free_redundancy(lam, z) if lam >= 1 else 0
    # The decoder's minterm rows are scale·(mt_m − K·empty): take the minterm parts alone and put
    # the empty term back once per output, not once per true minterm.
    minterms = dec.readout.copy()
    minterms[:, EMPTY] = 0.0
    readout = P @ minterms
    readout[:, EMPTY] = -K * scale
    n_in = len(circuit.input_bits)
    return replace(dec, name=circuit.name, input_index=dec.input_index[:n_in].copy(), readout=readout)


def lookup_types(circuits, z: int, S: int, lam: int, dec: RoutedMLP | None = None) -> tuple[RoutedMLP, ...]:
    """Every circuit lowered onto one shared decoder (`lower_decoder(k, z, S, λ)` unless given)."""
    refusal = check_lookup(circuits)
    if refusal:
        raise CircuitError(refusal)
    k = lookup_inputs(circuits)
    dec = dec if dec is not None else lower_decoder(k, z, S, lam)
    return tuple(lower_lookup(c, P, dec, z, S, lam) for c, P in zip(circuits, minterm_tables(circuits, k)))
