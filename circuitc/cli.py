"""The `circuitc` command line: check, eval, graph and fmt over `.circ` sources and netlists.

The commands only read files, call the library and format what it returns; every rule about
circuits lives in the library. Exit codes:

    0    success
    1    `fmt --check`: some file is not formatted
    2    bad input (a CircuitError, reported with file:line:col) or bad usage
    3    an internal error (a bug: reported with its traceback)
    130  interrupted (Ctrl-C)
    141  standard output was closed early (e.g. piped into `head`)
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import os
import re
import sys
import traceback
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from . import __version__
from .errors import CircuitError, Diagnostic, Span, did_you_mean
from .fileio import write_atomic
from .graph import depth, summary, to_dot, to_json
from .interpret import bits_to_int, evaluate_bits, truth_table
from .load import NETLIST_SUFFIXES, load_spec, read_text
from .spec import BoolCircuit, MLPCircuit, Spec

__all__ = ["main", "build_parser"]

EXIT_OK = 0
EXIT_CHANGED = 1
EXIT_ERROR = 2
EXIT_INTERNAL = 3
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141

DEFAULT_MAX_INPUTS = 16
# How many problems of one kind (bad CSV cells, missing columns) a report lists before summing up.
MAX_LISTED = 10


def _error(message: str, hint: str | None = None) -> CircuitError:
    return CircuitError(Diagnostic(message, hint=hint))


def _listing(names: Sequence[str], limit: int = 12) -> str:
    """`a, b, c` or `a, b, … (7 more)` for long lists."""
    shown = ", ".join(names[:limit])
    return shown if len(names) <= limit else f"{shown}, … ({len(names) - limit} more)"


# ============================================================================================
# Output helpers


def _emit(text: str, output: str | None, force: bool) -> None:
    """Write the finished text to `output` (atomically, never over a file without --force), or
    to standard output."""
    if output is None or output == "-":
        sys.stdout.write(text)
    else:
        write_atomic(output, text, force=force)


def _styled() -> bool:
    """Colour and box drawing only on a terminal, and never when NO_COLOR is set."""
    if os.environ.get("NO_COLOR"):
        return False
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


def _print_tables(tables: list) -> None:
    """Print rich tables: styled on a terminal; otherwise plain ASCII with no trailing blanks,
    never wrapped, so that scripts (and tests) can read them."""
    from rich import box
    from rich.console import Console

    if _styled():
        console = Console(file=sys.stdout, markup=False, highlight=False, emoji=False)
        for i, table in enumerate(tables):
            if i:
                console.print()
            table.box = box.SIMPLE_HEAD
            console.print(table)
        return
    plain = box.Box("    \n    \n -  \n    \n    \n -  \n    \n    \n", ascii=True)
    buf = io.StringIO()
    console = Console(file=buf, width=1 << 20, color_system=None, force_terminal=False,
                      markup=False, highlight=False, emoji=False)
    for i, table in enumerate(tables):
        if i:
            console.print()
        table.box = plain
        table.show_edge = False
        table.pad_edge = False
        console.print(table)
    sys.stdout.write("".join(line.rstrip() + "\n" for line in buf.getvalue().splitlines()))


def _table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]], right: Sequence[str] = ()):
    from rich.table import Table
    from rich.text import Text

    table = Table(title=title, title_justify="left", title_style="bold", header_style="bold")
    for col in columns:
        table.add_column(col, justify="right" if col in right else "left", no_wrap=True)
    for row in rows:
        table.add_row(*(Text("-" if v is None else str(v)) for v in row))
    return table


def _bit_rows(M: np.ndarray, offsets: Sequence[int], template: bytes) -> str:
    """Rows of 0/1 digits, vectorised: each row is `template` with M[r, j] written at offsets[j]."""
    n = M.shape[0]
    if n == 0:
        return ""
    lines = np.tile(np.frombuffer(template, dtype=np.uint8), (n, 1))
    if len(offsets):
        lines[:, np.asarray(offsets, dtype=np.int64)] = M.astype(np.uint8) + ord("0")
    return lines.tobytes().decode("ascii")


def _csv_line(cells: Sequence[str]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(cells)
    return buf.getvalue()


def _real(x: float) -> str:
    """A real as Python's repr writes it (shortest round-trip form); -0.0 prints as 0.0."""
    return repr(float(x) + 0.0)


def _csv_text(header: Sequence[str], M: np.ndarray, real: bool) -> str:
    """A CSV document: the header, then one line per row of M (0/1 digits, or reals)."""
    out = [_csv_line(header)]
    if real:
        out.extend(",".join(_real(v) for v in row) + "\n" for row in M.tolist())
    elif M.shape[1]:
        k = M.shape[1]
        template = ("0," * k)[:-1].encode() + b"\n"
        out.append(_bit_rows(M, range(0, 2 * k, 2), template))
    else:
        out.append("\n" * M.shape[0])
    return "".join(out)


# ============================================================================================
# check


def _kind_of_record(c: dict) -> str:
    return f"{c['kind']} over {c['over']}" if c.get("over") else c["kind"]


def _circuit_record(c) -> dict:
    s = summary(c)
    record = {"name": s.pop("name"), "kind": s.pop("kind"),
              "over": c.features if isinstance(c, BoolCircuit) else None,
              "inputs": s.pop("inputs"), "outputs": s.pop("outputs"),
              "input_ports": [{"name": p.name, "width": p.width} for p in c.inputs],
              "output_ports": [{"name": p.name, "width": p.width} for p in c.outputs]}
    record.update(s)
    return record


def _check_record(spec: Spec, file: str) -> dict:
    return {
        "file": file,
        "source_hash": spec.source_hash,
        "circuits": [_circuit_record(c) for c in spec.circuits],
        "features": [{"name": f.name, "m": f.m, "s": f.s, "embed": f.d0, "seed": f.seed}
                     for f in spec.features],
        "networks": [{"name": n.name, "T": n.T, "z": n.z, "D": n.D, "S": n.S,
                      "allocation": n.allocation, "seed": n.seed,
                      "circuits": [{"circuit": g.circuit, "count": g.count} for g in n.groups]}
                     for n in spec.networks],
        "warnings": [w.render() for w in spec.warnings],
    }


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def cmd_check(args) -> int:
    spec = load_spec(args.file)
    # The loader validates as it elaborates; checking again costs little and guards every front end.
    spec.check()
    for c in spec.circuits:
        depth(c)  # raises CircuitError on a combinational cycle
    for w in spec.warnings:
        print(w.render(), file=sys.stderr)
    record = _check_record(spec, args.file)
    if args.json:
        sys.stdout.write(json.dumps(record, indent=2) + "\n")
        return EXIT_OK
    counts = ", ".join(part for part in (
        _plural(len(spec.circuits), "circuit"),
        _plural(len(spec.features), "feature set") if spec.features else "",
        _plural(len(spec.networks), "network") if spec.networks else "") if part)
    print(f"{args.file}: ok, {counts}")
    print(f"source hash: {spec.source_hash[:12]}")
    print()
    tables = []
    rows = []
    for c in record["circuits"]:
        size = (c["gates"] if c["kind"] == "boolean" else
                f"{_plural(c['layers'], 'layer')}, {c['parameters']} params")
        rows.append((c["name"], _kind_of_record(c), c["inputs"], c["outputs"], size, c["depth"]))
    tables.append(_table("circuits", ("circuit", "kind", "inputs", "outputs", "gates", "depth"), rows,
                         right=("inputs", "outputs", "gates", "depth")))
    if record["features"]:
        tables.append(_table("feature sets", ("features", "m", "s", "embed", "seed"),
                             [(f["name"], f["m"], f["s"], f["embed"], f["seed"]) for f in record["features"]],
                             right=("m", "s", "embed", "seed")))
    if record["networks"]:
        rows = [(n["name"], n["T"], n["z"], n["D"], "auto" if n["S"] is None else n["S"], n["allocation"],
                 n["seed"], ", ".join(f"{g['circuit']} * {g['count']}" for g in n["circuits"]))
                for n in record["networks"]]
        tables.append(_table("networks", ("network", "T", "z", "D", "S", "allocation", "seed", "circuits"),
                             rows, right=("T", "z", "D", "S", "seed")))
    _print_tables(tables)
    return EXIT_OK


# ============================================================================================
# eval: single assignments

_BIT_NAME = re.compile(r"(.+?)\[\s*([0-9]+)\s*\]")
_DIGITS = {2: "01", 8: "01234567", 10: "0123456789", 16: "0123456789abcdef"}


class _Bad(Exception):
    """One malformed assignment; collected so that every bad argument is reported at once."""

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.port: str | None = None


def _parse_uint(text: str) -> int:
    """A non-negative integer literal: decimal, 0b…, 0o… or 0x… (underscores between digits)."""
    t = text.strip().lower()
    base = {"0b": 2, "0o": 8, "0x": 16}.get(t[:2], 10)
    digits = t[2:] if base != 10 else t
    if digits.startswith("_") or digits.endswith("_") or "__" in digits:
        raise ValueError(text)
    digits = digits.replace("_", "")
    if not digits or any(ch not in _DIGITS[base] for ch in digits):
        raise ValueError(text)
    return int(digits, base)


def _parse_real(text: str) -> float:
    t = text.strip()
    if not t or "_" in t:
        raise ValueError(text)
    return float(t)


class _Assignments:
    """Turns `NAME=VALUE` arguments into one input row of `circuit.input_bits`."""

    def __init__(self, spec: Spec, circuit):
        self.spec = spec
        self.c = circuit
        self.mlp = isinstance(circuit, MLPCircuit)
        self.features = circuit.features if isinstance(circuit, BoolCircuit) else None
        self.ports = {p.name: p for p in circuit.inputs}
        self.aliases: dict[str, str] = {}
        if self.features is not None and len(circuit.inputs) == 1 and self.features not in self.ports:
            self.aliases[self.features] = circuit.inputs[0].name
        self.bits = circuit.input_bits
        self.start: dict[str, int] = {}
        col = 0
        for p in circuit.inputs:
            self.start[p.name] = col
            col += p.size
        self.row = np.zeros(len(self.bits), dtype=np.float64 if self.mlp else np.uint8)
        self.given_by: list[str | None] = [None] * len(self.bits)
        self.failed: set[str] = set()   # ports named by a bad assignment: not reported missing too

    def parse(self, texts: Sequence[str]) -> np.ndarray:
        problems: list[Diagnostic] = []
        for text in texts:
            try:
                self._one(text)
            except _Bad as e:
                problems.append(Diagnostic(e.message, hint=e.hint))
                if e.port is not None:
                    self.failed.add(e.port)
        if self.features is None:
            missing = self._missing()
            if missing:
                problems.append(Diagnostic(
                    f"missing input{'s' if len(missing) > 1 else ''} for `{self.c.name}`: {_listing(missing)}",
                    hint=f"give every input as NAME=VALUE; the inputs are {self._describe_inputs()}"))
        if problems:
            raise CircuitError(problems)
        if self.features is not None:
            self._check_active()
        return self.row.reshape(1, -1)

    def _describe_inputs(self) -> str:
        return ", ".join(p.name if p.width is None else f"{p.name}[{p.width}]" for p in self.c.inputs) or "none"

    def _missing(self) -> list[str]:
        out = []
        for p in self.c.inputs:
            if p.name in self.failed:
                continue
            lo = self.start[p.name]
            unset = [i for i in range(lo, lo + p.size) if self.given_by[i] is None]
            if len(unset) == p.size:
                out.append(p.name)
            else:
                out.extend(self.bits[i] for i in unset)
        return out

    def _check_active(self) -> None:
        try:
            fs = self.spec.feature_set(self.features)
        except CircuitError:
            return
        on = int(np.count_nonzero(self.row))
        if on > fs.s:
            print(f"warning: {on} features of `{fs.name}` are on, but it promises at most {fs.s} "
                  f"(active = {fs.s}); evaluating anyway", file=sys.stderr)

    def _unknown(self, text: str, name: str) -> _Bad:
        candidates = list(self.ports) + list(self.aliases) + [b for b in self.bits if b not in self.ports]
        hint = did_you_mean(name, candidates) or f"inputs of `{self.c.name}`: {self._describe_inputs()}"
        return _Bad(f"`{text}`: `{self.c.name}` has no input named `{name}`", hint)

    def _set(self, text: str, lo: int, values: np.ndarray) -> None:
        for i in range(lo, lo + len(values)):
            if self.given_by[i] is not None:
                raise _Bad(f"`{text}`: input bit `{self.bits[i]}` is already given by `{self.given_by[i]}`")
        self.row[lo:lo + len(values)] = values
        for i in range(lo, lo + len(values)):
            self.given_by[i] = text

    def _one(self, text: str) -> None:
        name, sep, value = text.partition("=")
        name, value = name.strip(), value.strip()
        if not sep:
            raise _Bad(f"`{text}` is not an assignment: write NAME=VALUE",
                       hint=f"inputs of `{self.c.name}`: {self._describe_inputs()}")
        if not name:
            raise _Bad(f"`{text}`: no input name before `=`",
                       hint=f"inputs of `{self.c.name}`: {self._describe_inputs()}")
        port_name = self.aliases.get(name, name)
        if port_name in self.ports:
            with self._about(port_name):
                self._whole(text, self.ports[port_name], value)
            return
        m = _BIT_NAME.fullmatch(name)
        if m:
            base = self.aliases.get(m.group(1).strip(), m.group(1).strip())
            port = self.ports.get(base)
            if port is not None and port.width is not None:
                index = int(m.group(2))
                if index >= port.width:
                    raise _Bad(f"`{text}`: bit {index} is out of range: `{port.name}` has bits "
                               f"{port.name}[0] .. {port.name}[{port.width - 1}]")
                with self._about(port.name):
                    self._set(text, self.start[port.name] + index, np.array([self._bit_value(text, value)]))
                return
            if port is not None:
                with self._about(port.name):
                    raise _Bad(f"`{text}`: `{port.name}` is a single {'value' if self.mlp else 'bit'}, "
                               f"not a vector", hint=f"write {port.name}={value or '1'}")
        raise self._unknown(text, name)

    @contextlib.contextmanager
    def _about(self, port: str) -> Iterator[None]:
        """Tag a bad assignment with the port it names."""
        try:
            yield
        except _Bad as e:
            e.port = port
            raise

    def _bit_value(self, text: str, value: str) -> float:
        if not value:
            raise _Bad(f"`{text}`: no value after `=`")
        if self.mlp:
            try:
                return _parse_real(value)
            except ValueError:
                raise _Bad(f"`{text}`: `{value}` is not a real number") from None
        if value not in ("0", "1"):
            raise _Bad(f"`{text}`: a bit is 0 or 1, got `{value}`")
        return int(value)

    def _whole(self, text: str, port, value: str) -> None:
        lo = self.start[port.name]
        if self.features is not None:
            self._set(text, lo, self._feature_list(text, port, value))
            return
        if not value:
            raise _Bad(f"`{text}`: no value after `=`")
        if port.width is None:
            self._set(text, lo, np.array([self._bit_value(text, value)]))
            return
        if self.mlp:
            cells = value.split(",")
            if len(cells) != port.width:
                raise _Bad(f"`{text}`: `{port.name}` takes {port.width} comma-separated values, got {len(cells)}",
                           hint=f"e.g. {port.name}={','.join(['0.5'] * port.width)}")
            vals = []
            for cell in cells:
                try:
                    vals.append(_parse_real(cell))
                except ValueError:
                    raise _Bad(f"`{text}`: `{cell.strip()}` is not a real number") from None
            self._set(text, lo, np.array(vals))
            return
        try:
            v = _parse_uint(value)
        except ValueError:
            raise _Bad(f"`{text}`: `{value}` is not a non-negative integer",
                       hint=f"`{port.name}` has {port.width} bits: give 0 .. {(1 << port.width) - 1} as "
                            f"decimal, 0b… (binary, most significant bit first) or 0x… (hex), "
                            f"or set single bits as {port.name}[0]=1") from None
        if v >> port.width:
            raise _Bad(f"`{text}`: {v} does not fit in the {port.width} bits of `{port.name}` "
                       f"(0 .. {(1 << port.width) - 1})")
        self._set(text, lo, np.array([(v >> i) & 1 for i in range(port.width)], dtype=np.uint8))

    def _feature_list(self, text: str, port, value: str) -> np.ndarray:
        """`f=3,17`: the features that are on; the rest are off. `f=` turns them all off."""
        on = np.zeros(port.size, dtype=np.uint8)
        for cell in filter(None, (x.strip() for x in value.split(","))):
            try:
                i = int(cell, 10)
            except ValueError:
                raise _Bad(f"`{text}`: `{cell}` is not a feature number",
                           hint=f"list the features that are on, e.g. {port.name}=3,17 (numbers "
                                f"0 .. {port.size - 1}); the others are off") from None
            if not 0 <= i < port.size:
                raise _Bad(f"`{text}`: feature {i} is out of range: `{port.name}` has features 0 .. {port.size - 1}")
            on[i] = 1
        return on


def _format_outputs(circuit, Y: np.ndarray) -> tuple[list[str], dict, dict]:
    """Lines `name = value`, and the JSON views {port: value} and {bit: value}."""
    lines, ports, bits = [], {}, {}
    mlp = isinstance(circuit, MLPCircuit)
    col = 0
    for p in circuit.outputs:
        block = Y[col:col + p.size]
        col += p.size
        if mlp:
            vals = [float(v) + 0.0 for v in block]
            ports[p.name] = vals[0] if p.width is None else vals
            shown = _real(vals[0]) if p.width is None else "[" + ", ".join(_real(v) for v in vals) + "]"
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
    return lines, ports, bits


def _eval_single(args, spec: Spec, circuit) -> int:
    X = _Assignments(spec, circuit).parse(args.assignments)
    Y = evaluate_bits(circuit, X)[0]
    lines, ports, bits = _format_outputs(circuit, Y)
    if args.json:
        record = {"circuit": circuit.name, "outputs": ports, "output_bits": bits}
        sys.stdout.write(json.dumps(record, indent=2) + "\n")
    else:
        sys.stdout.write("".join(line + "\n" for line in lines))
    return EXIT_OK


# ============================================================================================
# eval: truth tables


def _text_table(in_names: Sequence[str], out_names: Sequence[str], X: np.ndarray, Y: np.ndarray,
                real: bool) -> str:
    """Columns as wide as their names, `|` between inputs and outputs, no trailing blanks."""
    names = list(in_names) + list(out_names)
    if real:
        cells = [[str(int(v)) for v in x] + [_real(v) for v in y] for x, y in zip(X.tolist(), Y.tolist())]
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


def _eval_truth_table(args, circuit) -> int:
    n = len(circuit.input_bits)
    if n > args.max_inputs:
        raise _error(f"`{circuit.name}` has {n} input bits: its truth table would have 2**{n} = {1 << n:,} "
                     f"rows, above --max-inputs {args.max_inputs}",
                     hint=f"pass --max-inputs {n} to print it anyway, or evaluate chosen rows "
                          f"with --inputs FILE.csv")
    X, Y = truth_table(circuit, max_inputs=args.max_inputs)
    real = isinstance(circuit, MLPCircuit)
    if args.output is not None:
        header = list(circuit.input_bits) + list(circuit.output_bits)
        if real:
            text = _csv_line(header) + "".join(
                ",".join([str(int(v)) for v in x] + [_real(v) for v in y]) + "\n"
                for x, y in zip(X.tolist(), Y.tolist()))
        else:
            text = _csv_text(header, np.concatenate([X, Y], axis=1), real=False)
        _emit(text, args.output, args.force)
    else:
        sys.stdout.write(_text_table(circuit.input_bits, circuit.output_bits, X, Y, real))
    return EXIT_OK


# ============================================================================================
# eval: batches from CSV


def _field_starts(line: str) -> list[int]:
    """0-based start offsets of the CSV fields of one physical line (quotes respected)."""
    starts, quoted = [0], False
    for i, ch in enumerate(line):
        if ch == '"':
            quoted = not quoted
        elif ch == "," and not quoted:
            starts.append(i + 1)
    return starts


class _CsvInput:
    """The records of a CSV file, with what is needed to point at any cell in a message."""

    def __init__(self, shown: str, text: str):
        self.shown = shown
        self.lines = text.splitlines()
        self.records: list[tuple[int, int, list[str]]] = []   # (first line, last line, cells)
        reader = csv.reader(io.StringIO(text, newline=""))
        last = 0
        try:
            for row in reader:
                first, last = last + 1, reader.line_num
                if row:  # a blank line is no record
                    self.records.append((first, last, row))
        except csv.Error as e:
            raise CircuitError(self.diagnostic(f"malformed CSV: {e}", reader.line_num, None)) from None

    def diagnostic(self, message: str, line: int, field: int | None, hint: str | None = None) -> Diagnostic:
        source = self.lines[line - 1] if 1 <= line <= len(self.lines) else None
        column, end = 1, None
        if source is not None and field is not None:
            starts = _field_starts(source)
            if field < len(starts):
                column = starts[field] + 1
                stop = starts[field + 1] - 1 if field + 1 < len(starts) else len(source)
                end = max(stop + 1, column + 1)
            else:
                column = len(source) + 1
        span = Span(self.shown, line, column, line if end else None, end)
        return Diagnostic(message, span, source, hint=hint)


def _read_input_csv(path_text: str) -> str:
    path = Path(path_text)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise _error(f"cannot find `{path_text}`", hint=f"looked for {path.absolute()}") from None
    except IsADirectoryError:
        raise _error(f"`{path_text}` is a directory, not a CSV file") from None
    except OSError as e:
        raise _error(f"cannot read `{path_text}`: {e.strerror or e}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise _error(f"`{path_text}` is not a UTF-8 text file (byte {e.start})",
                     hint="give a CSV file: a header row of input bit names, then one row of values per line") from None
    return text[1:] if text.startswith("\ufeff") else text


def _csv_columns(src: _CsvInput, circuit, header_line: int, header: list[str]) -> list[int]:
    """The input bit index of every CSV column; CircuitError for unknown, duplicate or missing ones."""
    index = {b: i for i, b in enumerate(circuit.input_bits)}
    ports = {p.name: p for p in circuit.inputs}
    features = circuit.features if isinstance(circuit, BoolCircuit) else None
    problems: list[Diagnostic] = []
    seen: dict[str, int] = {}
    columns: list[int] = []
    for j, raw in enumerate(header):
        name = raw.strip()
        if not name:
            problems.append(src.diagnostic(f"column {j + 1} has no name", header_line, j,
                                           hint="the first row names the input bit of every column"))
        elif name in seen:
            problems.append(src.diagnostic(f"column `{name}` appears twice (columns {seen[name] + 1} and {j + 1})",
                                           header_line, j))
        elif name not in index:
            port = ports.get(name)
            if port is not None and port.width is not None:
                hint = f"`{name}` has {port.width} bits: give one column per bit, {port.bits[0]} .. {port.bits[-1]}"
            else:
                hint = did_you_mean(name, index) or f"the input bits of `{circuit.name}` are " \
                                                    f"{_listing(list(circuit.input_bits))}"
            problems.append(src.diagnostic(f"`{circuit.name}` has no input bit `{name}`", header_line, j, hint=hint))
        seen.setdefault(name, j)
        columns.append(index.get(name, -1))
    if features is None:
        missing = [b for b in circuit.input_bits if b not in seen]
        if missing:
            problems.append(src.diagnostic(f"missing column{'s' if len(missing) > 1 else ''} for input "
                                           f"bit{'s' if len(missing) > 1 else ''} {_listing(missing)}",
                                           header_line, None,
                                           hint="the header needs one column per input bit, in any order"))
    if problems:
        raise CircuitError(problems)
    return columns


def _csv_matrix(src: _CsvInput, header: list[str], rows: list[tuple[int, int, list[str]]],
                mlp: bool) -> np.ndarray:
    """The cells as a (rows, columns) array: uint8 0/1, or float64 for an MLP."""
    k = len(header)
    problems: list[Diagnostic] = []
    for first, last, cells in rows:
        if len(cells) != k:
            field = k if len(cells) > k else None
            problems.append(src.diagnostic(
                f"expected {k} value{'s' * (k != 1)} (one per column of the header), got {len(cells)}",
                first, field))
            if len(problems) >= MAX_LISTED:
                break
    if problems:
        raise CircuitError(problems)
    if not rows:
        return np.zeros((0, k), dtype=np.float64 if mlp else np.uint8)
    cells = np.char.strip(np.array([r[2] for r in rows], dtype=str).reshape(len(rows), k))
    if not mlp:
        ones = cells == "1"
        bad = ~(ones | (cells == "0"))
        if not bad.any():
            return ones.astype(np.uint8)
        expected = "0 or 1"
    else:
        try:
            return cells.astype(np.float64)
        except ValueError:
            pass
        bad = np.zeros(cells.shape, dtype=bool)
        for (r, c), cell in np.ndenumerate(cells):
            try:
                _parse_real(str(cell))
            except ValueError:
                bad[r, c] = True
        expected = "a real number"
    where = np.argwhere(bad)
    for r, c in where[:MAX_LISTED]:
        cell = str(cells[r, c])
        got = f"`{cell}`" if cell else "an empty cell"
        problems.append(src.diagnostic(f"column `{header[c].strip()}`: expected {expected}, got {got}",
                                       rows[r][0], int(c)))
    if len(where) > MAX_LISTED:
        problems.append(Diagnostic(f"… and {len(where) - MAX_LISTED} more bad cells in {src.shown}"))
    raise CircuitError(problems)


def _eval_batch(args, circuit) -> int:
    src = _CsvInput(args.inputs, _read_input_csv(args.inputs))
    if not src.records:
        raise _error(f"`{args.inputs}` is empty: expected a header row of input bit names",
                     hint=f"e.g. {','.join(circuit.input_bits[:4])}" if circuit.input_bits else
                     f"`{circuit.name}` has no inputs: evaluate it once, without --inputs")
    header_line, _, header = src.records[0]
    columns = _csv_columns(src, circuit, header_line, header)
    mlp = isinstance(circuit, MLPCircuit)
    values = _csv_matrix(src, header, src.records[1:], mlp)
    X = np.zeros((values.shape[0], len(circuit.input_bits)), dtype=values.dtype)
    X[:, columns] = values
    Y = evaluate_bits(circuit, X)
    _emit(_csv_text(circuit.output_bits, Y, real=mlp), args.output, args.force)
    return EXIT_OK


def cmd_eval(args) -> int:
    parser = args.parser
    modes = [m for m, on in (("--truth-table", args.truth_table), ("--inputs", args.inputs is not None)) if on]
    if modes and args.assignments:
        parser.error(f"{modes[0]} takes no NAME=VALUE assignments (got {' '.join(args.assignments)})")
    if args.json and modes:
        parser.error(f"--json applies to a single evaluation, not to {modes[0]}")
    if args.output is not None and not modes:
        parser.error("--output needs --truth-table or --inputs (a single evaluation prints its outputs)")
    if args.max_inputs < 0:
        parser.error("--max-inputs must be 0 or more")
    spec = load_spec(args.file)
    for w in spec.warnings:
        print(w.render(), file=sys.stderr)
    circuit = spec.circuit(args.circuit)
    if args.truth_table:
        return _eval_truth_table(args, circuit)
    if args.inputs is not None:
        return _eval_batch(args, circuit)
    return _eval_single(args, spec, circuit)


# ============================================================================================
# graph and fmt


def cmd_graph(args) -> int:
    fmt = args.format
    if fmt is None:
        fmt = "json" if args.output and args.output.lower().endswith(".json") else "dot"
    spec = load_spec(args.file)
    circuit = spec.circuit(args.circuit)
    text = to_dot(circuit) if fmt == "dot" else json.dumps(to_json(circuit), indent=2) + "\n"
    _emit(text, args.output, args.force)
    return EXIT_OK


def _is_netlist(path: str) -> bool:
    return Path(path).suffix.lower() in NETLIST_SUFFIXES


def cmd_fmt(args) -> int:
    parser = args.parser
    if args.write and args.check:
        parser.error("--write and --check exclude each other")
    if args.output is not None and (args.write or args.check):
        parser.error("--output writes one printout; it does not combine with --write or --check")
    if len(args.files) > 1 and not (args.write or args.check):
        parser.error("printing takes one FILE; use --write or --check for several")
    if args.write or args.check:
        for file in args.files:
            if _is_netlist(file):
                stem = Path(file).with_suffix(".circ").name
                raise _error(f"`{file}` is a netlist: fmt {'--write' if args.write else '--check'} "
                             f"works on .circ sources only",
                             hint=f"print it as .circ text: `circuitc fmt {file} > {stem}` or "
                                  f"`circuitc fmt {file} --output {stem}`")
    from .syntax.format import format_source

    changed = []
    for file in args.files:
        if _is_netlist(file):
            from .printer import spec_to_circ

            _emit(spec_to_circ(load_spec(file)), args.output, args.force)
            continue
        source = read_text(Path(file))
        formatted = format_source(source, file)
        if args.check:
            if formatted != source:
                changed.append(file)
                print(f"would reformat {file}", file=sys.stderr)
        elif args.write:
            if formatted != source:
                write_atomic(file, formatted, force=True)
                print(f"reformatted {file}", file=sys.stderr)
        else:
            _emit(formatted, args.output, args.force)
    return EXIT_CHANGED if changed else EXIT_OK


# ============================================================================================
# The parser


_DESCRIPTION = """\
Compile sparse boolean and small MLP circuits into one superposed deep ReLU network.

Sources are .circ files; ISCAS .bench and BLIF (.blif) netlists are read as well."""

_EPILOG = """\
examples:
  circuitc check examples/ripple_adder.circ
  circuitc eval examples/ripple_adder.circ -c ripple_adder a=1000 b=0x0fff cin=0
  circuitc eval examples/c17.bench --truth-table
  circuitc graph examples/full_adder.circ -c full_adder > full_adder.dot
  circuitc fmt --check examples/*.circ

Run `circuitc COMMAND --help` for the options of each command.

exit status: 0 ok, 1 fmt --check found unformatted files, 2 bad input or usage,
3 internal error, 130 interrupted."""

_EVAL_EPILOG = """\
assignments (single evaluation):
  a=1 b=0             single-bit inputs take 0 or 1
  x=13 x=0b1101 x=0xd a vector input as an integer: bit x[0] is the least significant;
                      binary literals are written most significant bit first
  x[3]=1              one bit of a vector input (all bits must then be given)
  x=0.5,1.25          MLP inputs are reals; a vector takes comma-separated values
  f=3,17              a circuit over a feature set lists the features that are ON;
                      unlisted features are 0 (`f=` turns all off; may be omitted)

  Every input must be given (feature circuits excepted). Outputs print one line per
  port: `s = 9 (0b01001)` for a vector (binary most significant bit first).

batches (--inputs IN.csv):
  The header names input bits (e.g. a[0],a[1],b) in any order; every row holds 0/1
  (reals for MLPs). Feature circuits may leave columns out (those features are 0).
  The output is CSV: a header of output bit names and one row per input row.

examples:
  circuitc eval examples/ripple_adder.circ --circuit ripple_adder a=5 b=9 cin=1
  circuitc eval examples/full_adder.circ -c full_adder a=1 b=1 cin=0 --json
  circuitc eval examples/features.circ f=3,17
  circuitc eval examples/c17.bench --truth-table
  circuitc eval examples/c17.bench --inputs rows.csv --output out.csv"""


class _Formatter(argparse.RawDescriptionHelpFormatter):
    def __init__(self, prog: str):
        super().__init__(prog, max_help_position=30)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="circuitc", description=_DESCRIPTION, epilog=_EPILOG,
                                     formatter_class=_Formatter)
    parser.add_argument("--version", action="version", version=f"circuitc {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def command(name: str, func: Callable, summary_line: str, epilog: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=summary_line, description=summary_line, epilog=epilog,
                           formatter_class=_Formatter)
        p.set_defaults(func=func, parser=p)
        return p

    def output_options(p: argparse.ArgumentParser, what: str) -> None:
        p.add_argument("-o", "--output", metavar="FILE",
                       help=f"write {what} to FILE (atomically) instead of standard output; "
                            f"'-' is standard output")
        p.add_argument("-f", "--force", action="store_true", help="replace FILE if it exists")

    p = command("check", cmd_check, "Validate a source or netlist and summarise its circuits, "
                "feature sets and networks.",
                "examples:\n  circuitc check examples/ripple_adder.circ\n  circuitc check examples/c17.bench --json")
    p.add_argument("file", metavar="FILE", help="a .circ source, .bench or .blif netlist")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")

    p = command("eval", cmd_eval, "Evaluate a circuit with the reference interpreter: once, "
                "over its truth table, or over the rows of a CSV file.", _EVAL_EPILOG)
    p.add_argument("file", metavar="FILE", help="a .circ source, .bench or .blif netlist")
    p.add_argument("assignments", nargs="*", metavar="NAME=VALUE", help="input values (see below)")
    p.add_argument("-c", "--circuit", metavar="NAME",
                   help="the circuit to evaluate (optional when FILE holds only one)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--truth-table", action="store_true",
                      help="print every input combination and its outputs")
    mode.add_argument("--inputs", metavar="IN.csv", help="evaluate every row of a CSV file")
    p.add_argument("--max-inputs", type=int, default=DEFAULT_MAX_INPUTS, metavar="N",
                   help=f"refuse truth tables over more than N input bits (default {DEFAULT_MAX_INPUTS})")
    p.add_argument("--json", action="store_true", help="print a single evaluation as JSON")
    output_options(p, "the CSV result (with --truth-table or --inputs)")

    p = command("graph", cmd_graph, "Print a circuit's dependency graph as Graphviz DOT or JSON.",
                "examples:\n  circuitc graph examples/c17.bench > c17.dot && dot -Tsvg c17.dot -o c17.svg\n"
                "  circuitc graph examples/ripple_adder.circ --circuit ripple_adder --format json --output adder.json")
    p.add_argument("file", metavar="FILE", help="a .circ source, .bench or .blif netlist")
    p.add_argument("-c", "--circuit", metavar="NAME", help="the circuit (optional when FILE holds only one)")
    p.add_argument("--format", choices=("dot", "json"),
                   help="output format (default: dot, or json when --output ends in .json)")
    output_options(p, "the graph")

    p = command("fmt", cmd_fmt, "Print a .circ source in canonical form, or a .bench/.blif netlist "
                "as .circ text.",
                "examples:\n  circuitc fmt examples/full_adder.circ\n  circuitc fmt -w my_circuit.circ\n"
                "  circuitc fmt --check examples/*.circ\n  circuitc fmt examples/c17.bench --output c17.circ")
    p.add_argument("files", nargs="+", metavar="FILE",
                   help=".circ source (several with --write or --check), or a netlist to print as .circ")
    p.add_argument("-w", "--write", action="store_true", help="rewrite each file in place if its formatting changes")
    p.add_argument("--check", action="store_true",
                   help="change nothing; exit 1 and name the files that would be reformatted")
    output_options(p, "the printout")
    return parser


# ============================================================================================
# Entry point


def _exit_code(code: Any) -> int:
    if code is None:
        return EXIT_OK
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return EXIT_ERROR


def _parse(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    args, extra = parser.parse_known_args(argv)
    if extra:
        # NAME=VALUE assignments may follow options (`eval f.circ -c adder a=5 b=9`).
        if args.command == "eval" and not any(e.startswith("-") for e in extra):
            args.assignments = list(args.assignments) + extra
        else:
            args.parser.error(f"unrecognized arguments: {' '.join(extra)}")
    return args


def _silence_stdout() -> None:
    """After a broken pipe, point stdout at /dev/null so that the final flush stays quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, AttributeError, ValueError, io.UnsupportedOperation):
        pass


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (see the module docstring)."""
    try:
        args = _parse(build_parser(), argv)
    except SystemExit as e:  # --help, --version and usage errors
        return _exit_code(e.code)
    try:
        code = args.func(args)
        sys.stdout.flush()
        return code
    except SystemExit as e:  # usage errors found by a command
        return _exit_code(e.code)
    except CircuitError as e:
        print(str(e), file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except MemoryError:
        print("circuitc: error: out of memory", file=sys.stderr)
        return EXIT_ERROR
    except Exception as e:  # anything else is a bug in circuitc
        print(f"circuitc: internal error: {type(e).__name__}: {e}", file=sys.stderr)
        traceback.print_exc()
        print(f"This is a bug in circuitc {__version__}, not a problem with the input. Please report it, "
              f"with the command line and the input files that trigger it.", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
