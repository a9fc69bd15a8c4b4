"""Results as text: CSV documents, `name = value` lines for output ports, aligned truth tables.

Bits print as 0/1 digits, written into preformatted rows with numpy so that large tables stay
fast; reals print as Python's repr writes them (the shortest form that reads back exactly).
"""

from __future__ import annotations

import csv
import io
from typing import NamedTuple, Sequence

import numpy as np

from ..interpret import bits_to_int
from ..spec import Circuit, MLPCircuit

__all__ = ["format_real", "csv_text", "truth_table_csv", "truth_table_text", "OutputValues",
           "format_outputs"]


def format_real(x: float) -> str:
    """A real as Python's repr writes it (shortest round-trip form); -0.0 prints as 0.0."""
    return repr(float(x) + 0.0)


def csv_text(header: Sequence[str], M: np.ndarray, real: bool = False) -> str:
    """A CSV document: the header, then one line per row of M (0/1 digits, or reals)."""
    out = [_csv_line(header)]
    if real:
        out.extend(",".join(format_real(v) for v in row) + "\n" for row in M.tolist())
    elif M.shape[1]:
        k = M.shape[1]
        template = ("0," * k)[:-1].encode() + b"\n"
        out.append(_bit_rows(M, range(0, 2 * k, 2), template))
    else:
        out.append("\n" * M.shape[0])
    return "".join(out)


def truth_table_csv(in_names: Sequence[str], out_names: Sequence[str], X: np.ndarray, Y: np.ndarray,
                    real: bool = False) -> str:
    """A truth table (input rows X, output rows Y) as CSV; `real`: the outputs are reals."""
    header = list(in_names) + list(out_names)
    if not real:
        return csv_text(header, np.concatenate([X, Y], axis=1))
    return _csv_line(header) + "".join(",".join(_mixed_cells(x, y)) + "\n"
                                       for x, y in zip(X.tolist(), Y.tolist()))


def truth_table_text(in_names: Sequence[str], out_names: Sequence[str], X: np.ndarray, Y: np.ndarray,
                     real: bool = False) -> str:
    """A truth table for reading: columns as wide as their names, `|` between inputs and outputs,
    no trailing blanks; `real`: the outputs are reals."""
    names = list(in_names) + list(out_names)
    if real:
        cells = [_mixed_cells(x, y) for x, y in zip(X.tolist(), Y.tolist())]
    else:
        cells = None
    widths = [max(len(n), 1) for n in names]
    if cells:
        for row in cells:
            for j, cell in enumerate(row):
                widths[j] = max(widths[j], len(cell))
    # Layout: columns separated by one blank, ` | ` between the input and output groups.
    offsets, pos = [], 0
    for j, w in enumerate(widths):
        if j == len(in_names) and in_names:
            pos += 2  # "| "
        offsets.append(pos)
        pos += w + 1
    length = pos - 1

    def render(row: Sequence[str]) -> str:
        line = [" "] * length
        if in_names and out_names:
            line[offsets[len(in_names)] - 2] = "|"
        for off, cell in zip(offsets, row):
            line[off:off + len(cell)] = cell
        return "".join(line).rstrip() + "\n"

    header = render(names)
    if cells is not None:
        return header + "".join(render(row) for row in cells)
    template = render([""] * len(names)).rstrip("\n").ljust(offsets[-1] + 1 if offsets else 0) + "\n"
    M = np.concatenate([X, Y], axis=1)
    return header + _bit_rows(M, offsets, template.encode())


class OutputValues(NamedTuple):
    """One evaluation's outputs: `name = value` lines, and the JSON views by port and by bit."""

    lines: list[str]
    ports: dict
    bits: dict


def format_outputs(circuit: Circuit, y: np.ndarray) -> OutputValues:
    """The outputs `y` (one row, in `circuit.output_bits` order) of one evaluation.

    Lines read `s = 9 (0b01001)` for a vector (binary most significant bit first), `cout = 0` for a
    bit, and `y = [0.5, 1.0]` / `y = 0.5` for MLP ports. The port view holds integers (vectors as
    one integer, LSB first) or reals; the bit view holds every output bit.
    """
    lines, ports, bits = [], {}, {}
    mlp = isinstance(circuit, MLPCircuit)
    col = 0
    for p in circuit.outputs:
        block = y[col:col + p.size]
        col += p.size
        if mlp:
            vals = [float(v) + 0.0 for v in block]
            ports[p.name] = vals[0] if p.width is None else vals
            shown = (format_real(vals[0]) if p.width is None else
                     "[" + ", ".join(format_real(v) for v in vals) + "]")
        else:
            vals = [int(v) for v in block]
            if p.width is None:
                ports[p.name] = vals[0]
                shown = str(vals[0])
            else:
                n = int(bits_to_int(block))
                ports[p.name] = n
                shown = f"{n} (0b{''.join(str(b) for b in reversed(vals))})"
        bits.update(zip(p.bits, vals))
        lines.append(f"{p.name} = {shown}")
    return OutputValues(lines, ports, bits)


def _mixed_cells(x: Sequence[float], y: Sequence[float]) -> list[str]:
    """A truth-table row of an MLP: the input bits as digits, the outputs as reals."""
    return [str(int(v)) for v in x] + [format_real(v) for v in y]


def _csv_line(cells: Sequence[str]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(cells)
    return buf.getvalue()


def _bit_rows(M: np.ndarray, offsets: Sequence[int], template: bytes) -> str:
    """Rows of 0/1 digits, vectorised: each row is `template` with M[r, j] written at offsets[j]."""
    n = M.shape[0]
    if n == 0:
        return ""
    lines = np.tile(np.frombuffer(template, dtype=np.uint8), (n, 1))
    if len(offsets):
        lines[:, np.asarray(offsets, dtype=np.int64)] = M.astype(np.uint8) + ord("0")
    return lines.tobytes().decode("ascii")
