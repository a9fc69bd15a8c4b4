"""Running a compiled network on inputs given per instance: check, encode, forward, decode.

A row is the set of instances active on one input of the network, each with its inputs:
{instance id: {input port: value}}, the values as `circuitc.evaluate` takes them for one sample
(0/1 for a bit, an integer or a bit row for a vector, reals for an MLP circuit), or one input
row in the circuit's `input_bits` order (what `circuitc.parse_assignments` returns). Rows that break
the sparsity promise (more than z instances), unknown instances and malformed inputs are refused
before anything runs, every problem at once. Outputs come back per row and instance: a boolean
bit is 1 when its read-out exceeds 0.5, a boolean vector is one integer (bit i = output bit i),
an MLP port its real read-out; `raw=True` gives every read-out as it is.

A saved network runs either in torch or in numpy (numpy_forward.py), and `runner` is the one place
that chooses: numpy for up to NUMPY_ROWS rows on the host, where importing torch would take longer
than the whole run, torch for more rows or on a device asked for. Both run the same network, read
from the artifact once (stored.py), and give the same decoded outputs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np

from ..errors import CircuitError, Diagnostic
from ..interpret import bits_to_int, input_matrix, split_outputs
from ..spec import Circuit, MLPCircuit
from .config import Config

if TYPE_CHECKING:
    from .compile import Compilation
    from .numpy_forward import NumpyNetwork
    from .stored import StoredNetwork

__all__ = ["run", "Row", "runner", "Runnable", "NUMPY_ROWS"]

Row = Mapping[int, "Mapping[str, Any] | np.ndarray"]

# The most rows `runner` runs in numpy. Importing torch takes 1.3–2 s; from a fresh process, numpy
# ran every batch of examples/routed_adders.circ measured, up to 16,384 rows, faster than the torch
# model with its import (docs/performance.md). Larger batches go to torch, whose position products
# run in parallel over the batch (numpy's stacked products are one small BLAS call after another).
NUMPY_ROWS = 16384


@dataclass(frozen=True, eq=False)
class Runnable:
    """What `run` needs of a compiled network, for a saved one run in numpy: its network, its
    config and its circuits (a `Compilation` has them too)."""

    network: NumpyNetwork
    config: Config
    circuits: tuple[Circuit, ...]


def runner(stored: StoredNetwork, rows: int, device: str | None = None) -> Runnable | Compilation:
    """A saved network (read by stored.py) ready to `run` on `rows` rows: run in numpy for up to
    NUMPY_ROWS rows when no device is asked for, else its torch network on `device` (default: the
    CPU). This is where the forward pass of `circuitc run` is chosen."""
    if device is None and rows <= NUMPY_ROWS:
        from .numpy_forward import numpy_network

        return Runnable(numpy_network(stored), stored.config, stored.circuits)
    from .artifact import loaded_network

    loaded = loaded_network(stored)
    if device is not None:
        try:
            loaded.network.to(device)
        except (RuntimeError, AssertionError, ValueError) as e:
            raise CircuitError(Diagnostic(f"cannot run on device `{device}`: {e}",
                                          hint="name a device this torch has: cpu, cuda, cuda:1, mps, ...")) from None
    return loaded


def run(compiled: Compilation | Runnable, rows: Row | Sequence[Row], *,
        raw: bool = False) -> list[dict[int, dict[str, Any]]]:
    """The outputs of every listed instance of every row (one row may be given alone)."""
    rows = [rows] if isinstance(rows, Mapping) else list(rows)
    instances, X = encode_rows(compiled, rows)
    Y = compiled.network.run(instances, X)                       # (batch, z, n_out_max) read-outs
    out = []
    for b, row in enumerate(rows):
        decoded = {}
        for slot, t in enumerate(int(t) for t in row):
            circuit = compiled.circuits[compiled.network.type_of[t]]
            decoded[t] = output_ports(circuit, Y[b, slot, :len(circuit.output_bits)], raw)
        out.append(decoded)
    return out


def encode_rows(compiled: Compilation | Runnable, rows: Sequence[Row]) -> tuple[np.ndarray, np.ndarray]:
    """(instances (batch, z), inputs (batch, z, n_in_max)) as `CompiledNetwork.encode` takes them;
    CircuitError naming every row, instance and input that cannot be run."""
    net, z = compiled.network, compiled.config.z
    problems: list[Diagnostic] = []
    width = max([1] + [len(row) for row in rows])
    instances = np.full((len(rows), width), -1, dtype=np.int64)
    inputs = np.zeros((len(rows), width, net.n_in_max))
    for b, row in enumerate(rows):
        if not isinstance(row, Mapping):
            problems.append(Diagnostic(f"row {b} must map instance ids to their inputs, got {type(row).__name__}"))
            continue
        if len(row) > z:
            problems.append(Diagnostic(f"row {b} activates {len(row)} instances, but the network keeps its promise "
                                       f"for at most z = {z}",
                                       hint="split the row, or compile with a larger `active`"))
            continue
        for slot, (t, values) in enumerate(row.items()):
            where = f"row {b}, instance {t}"
            if isinstance(t, bool) or not isinstance(t, (int, np.integer)) or not 0 <= t < net.T:
                problems.append(Diagnostic(f"{where}: no such instance; the network holds T = {net.T} "
                                           f"(ids 0..{net.T - 1})"))
                continue
            circuit = compiled.circuits[net.type_of[t]]
            try:
                x = _input_row(circuit, values)
            except CircuitError as e:
                problems.extend(Diagnostic(f"{where} (`{circuit.name}`): {d.message}", hint=d.hint)
                                for d in e.diagnostics)
                continue
            if x.shape[0] != 1:
                problems.append(Diagnostic(f"{where} (`{circuit.name}`): give one value per input, got a batch "
                                           f"of {x.shape[0]}", hint="one row is one input of the network"))
                continue
            instances[b, slot] = t
            inputs[b, slot, :x.shape[1]] = x[0]
    if problems:
        raise CircuitError(problems)
    return instances, inputs


def _input_row(circuit: Circuit, values) -> np.ndarray:
    """(batch, n_bits) input rows from named values or from a row already in `input_bits` order."""
    if not isinstance(values, np.ndarray):
        return input_matrix(circuit, values)
    x = np.atleast_2d(values)
    if x.ndim != 2 or x.shape[1] != len(circuit.input_bits):
        raise CircuitError(Diagnostic(f"an input row of `{circuit.name}` holds {len(circuit.input_bits)} values, "
                                      f"got shape {values.shape}"))
    return x


def output_ports(circuit: Circuit, y: np.ndarray, raw: bool = False) -> dict[str, Any]:
    """One instance's read-outs `y` (in `circuit.output_bits` order) by output port: decoded
    (bits at 0.5, vectors as integers) unless `raw` or the circuit is an MLP."""
    if raw or isinstance(circuit, MLPCircuit):
        return {name: (float(v[0]) if v.ndim == 1 else [float(x) for x in v[0]])
                for name, v in split_outputs(circuit, y[None, :]).items()}
    return {name: (int(v[0]) if v.ndim == 1 else int(bits_to_int(v[0])))
            for name, v in split_outputs(circuit, (y[None, :] > 0.5).astype(np.uint8)).items()}
