"""Input values for a circuit: `NAME=VALUE` assignments and CSV files → rows of input bits.

Both readers return a matrix whose columns follow `circuit.input_bits` (uint8 0/1 for a boolean
circuit, float64 for an MLP), ready for `evaluate_bits`, and report every problem of their input
at once in one `CircuitError`.

Assignments (`parse_assignments`) make one input row; the accepted forms are listed in
`VALUE_FORMS` below (also printed by `circuitc eval --help`). Every input must be given (feature
circuits excepted). Integers may also be written 0o… (octal),
with underscores between digits (`0b1010_0101`). A circuit over a feature set with a single input
port may be addressed by the feature set's name.

CSV files (`read_input_csv`, `parse_input_csv`), one row per record: the header names input bits
(e.g. a[0],a[1],b) in any order; every row holds 0/1 (reals for MLPs). Feature circuits may leave
columns out (those features are 0). Problems are reported as IN.csv:LINE:COL with the line and a
caret under the offending cell.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import re
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from .errors import CircuitError, Diagnostic, Span, did_you_mean, error_at
from .fileio import MAX_SOURCE_BYTES, FileRefused, os_reason, read_bounded
from .spec import BoolCircuit, Circuit, MLPCircuit, Spec

# The accepted forms of `NAME=VALUE`; `circuitc eval --help` prints the same text.
VALUE_FORMS = """\
a=1 b=0             single-bit inputs take 0 or 1
x=13 x=0b1101 x=0xd a vector input as an integer: bit x[0] is the least significant;
                    binary literals are written most significant bit first
x[3]=1              one bit of a vector input (all bits must then be given)
x=0.5,1.25          MLP inputs are reals; a vector takes comma-separated values
f=3,17              a circuit over a feature set lists the features that are ON;
                    unlisted features are 0 (`f=` turns all off; may be omitted)
"""



__all__ = ["parse_assignments", "active_warning", "read_input_csv", "read_input_table", "parse_input_csv",
           "read_instance_rows", "read_instance_csv", "VALUE_FORMS"]

# How many problems of one kind (bad CSV cells, malformed rows) a report lists before summing up.
MAX_LISTED = 10


def parse_assignments(circuit: Circuit, texts: Sequence[str]) -> np.ndarray:
    """One input row of `circuit` from `NAME=VALUE` texts (the forms in the module docstring).

    Returns a (1, len(circuit.input_bits)) array: uint8 0/1, or float64 for an MLP. Raises
    CircuitError listing every malformed, unknown, duplicate or (feature circuits excepted)
    missing input.
    """
    return _Assignments(circuit).parse(texts)


def active_warning(spec: Spec, circuit: Circuit, row: np.ndarray) -> Diagnostic | None:
    """A warning when `row` turns on more features than `circuit`'s feature set promises to have
    active at once (its `active` bound); None otherwise, and for circuits over no feature set."""
    name = circuit.features if isinstance(circuit, BoolCircuit) else None
    if name is None:
        return None
    try:
        fs = spec.feature_set(name)
    except CircuitError:
        return None
    on = int(np.count_nonzero(row))
    if on <= fs.s:
        return None
    return Diagnostic(f"{on} features of `{fs.name}` are on, but it promises at most {fs.s} "
                      f"(active = {fs.s}); evaluating anyway", severity="warning")


def read_input_csv(path: str | os.PathLike, circuit: Circuit) -> np.ndarray:
    """The rows of the CSV file at `path` as a (rows, len(circuit.input_bits)) matrix.

    The header names input bits in any order; circuits over a feature set may leave columns out
    (those features are 0). Raises CircuitError for an unreadable file and, with file:line:col and
    a caret, for unknown, duplicate or missing columns and bad cells.
    """
    shown = os.fspath(path)
    return parse_input_csv(_read_text(shown), circuit, shown)


def read_input_table(path: str | os.PathLike, circuit: Circuit) -> np.ndarray:
    """Input rows of `circuit` from a `.csv` file (as `read_input_csv`) or a `.npy` array of shape
    (rows, inputs): what `verify`, `sample` and `budget` draw an MLP circuit's inputs from. The
    `.npy` file is read without unpickling and must hold finite numbers."""
    shown = os.fspath(path)
    if Path(shown).suffix.lower() != ".npy":
        return read_input_csv(path, circuit)
    n_in = len(circuit.input_bits)
    try:
        X = np.load(io.BytesIO(read_bounded(shown, MAX_SOURCE_BYTES, "input files")), allow_pickle=False)
    except OSError as e:
        raise CircuitError(Diagnostic(f"cannot read input rows `{shown}`: {os_reason(e)}",
                                      hint=e.hint if isinstance(e, FileRefused) else None)) from None
    except ValueError as e:
        raise CircuitError(Diagnostic(f"`{shown}` is not a numeric .npy array ({e})",
                                      hint="write it with numpy.save(path, rows.astype(float))")) from None
    if X.ndim != 2 or X.shape[1] != n_in or X.shape[0] < 1 or X.dtype.kind not in "biuf":
        raise CircuitError(Diagnostic(
            f"`{shown}` holds an array of shape {X.shape} and dtype {X.dtype}; `{circuit.name}` takes rows of "
            f"{n_in} numbers", hint=f"save an array of shape (rows, {n_in}), columns in the order "
                                    f"{', '.join(circuit.input_bits[:6])}{', …' if n_in > 6 else ''}"))
    X = X.astype(np.float64)
    if not np.isfinite(X).all():
        r, c = np.argwhere(~np.isfinite(X))[0]
        raise CircuitError(Diagnostic(f"`{shown}`: row {r}, column {c} (`{circuit.input_bits[c]}`) is {X[r, c]}",
                                      hint="every input must be a finite number"))
    return X


def parse_input_csv(text: str, circuit: Circuit, filename: str = "<csv>") -> np.ndarray:
    """`read_input_csv` over CSV text; `filename` is the name diagnostics give."""
    src = _CsvInput(filename, text)
    if not src.records:
        raise error_at(f"`{filename}` is empty: expected a header row of input bit names",
                       hint=f"e.g. {','.join(circuit.input_bits[:4])}" if circuit.input_bits else
                       f"`{circuit.name}` has no inputs: evaluate it once, without --inputs")
    header_line, _, header = src.records[0]
    columns = _csv_columns(src, circuit, header_line, header)
    values = _csv_matrix(src, header, src.records[1:], isinstance(circuit, MLPCircuit))
    X = np.zeros((values.shape[0], len(circuit.input_bits)), dtype=values.dtype)
    X[:, columns] = values
    return X


def _listing(names: Sequence[str], limit: int = 12) -> str:
    """`a, b, c` or `a, b, … (7 more)` for long lists."""
    shown = ", ".join(names[:limit])
    return shown if len(names) <= limit else f"{shown}, … ({len(names) - limit} more)"


# ============================================================================================
# Assignments

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

    def __init__(self, circuit: Circuit):
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
        unlisted = 0
        for text in texts:
            try:
                self._one(text)
            except _Bad as e:
                if len(problems) < MAX_LISTED:
                    problems.append(Diagnostic(e.message, hint=e.hint))
                else:
                    unlisted += 1
                if e.port is not None:
                    self.failed.add(e.port)
        if unlisted:
            problems.append(Diagnostic(f"… and {unlisted} more bad assignment{'s' * (unlisted > 1)}"))
        if self.features is None:
            missing = self._missing()
            if missing:
                problems.append(Diagnostic(
                    f"missing input{'s' if len(missing) > 1 else ''} for `{self.c.name}`: {_listing(missing)}",
                    hint=f"give every input as NAME=VALUE; the inputs are {self._describe_inputs()}"))
        if problems:
            raise CircuitError(problems)
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



# ============================================================================================
# CSV files


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


def _read_text(path_text: str) -> str:
    path = Path(path_text)
    try:
        data = read_bounded(path, MAX_SOURCE_BYTES, "input files")
    except FileNotFoundError:
        raise error_at(f"cannot find `{path_text}`", hint=f"looked for {path.absolute()}") from None
    except IsADirectoryError:
        raise error_at(f"`{path_text}` is a directory, not a CSV file") from None
    except OSError as e:
        raise error_at(f"cannot read `{path_text}`: {os_reason(e)}",
                       hint=e.hint if isinstance(e, FileRefused) else None) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise error_at(f"`{path_text}` is not a UTF-8 text file (byte {e.start})",
                     hint="give a CSV file: a header row of input bit names, then one row of values per line") from None
    return text[1:] if text.startswith("\ufeff") else text


def read_instance_rows(path_text: str) -> list[dict[int, dict]]:
    """The rows of a JSON file for `circuitc run`: a list of objects, each mapping an instance id
    (a decimal string) to an object of its inputs (`{"a": 3, "cin": 1}`: a vector as one integer,
    as `evaluate` takes a single sample); a CircuitError names the file, and the line and column
    where the JSON is malformed."""
    text = _read_text(path_text)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        line = text.splitlines()[e.lineno - 1] if 0 < e.lineno <= len(text.splitlines()) else None
        raise error_at(f"`{path_text}` is not valid JSON: {e.msg}", Span(path_text, e.lineno, e.colno),
                       source_line=line, hint='write a list of rows: [{"17": {"a": 3, "b": 5}}]') from None
    except RecursionError:
        raise error_at(f"`{path_text}` is not valid JSON (nested too deeply)") from None
    except ValueError:                      # an integer of thousands of digits
        raise error_at(f"`{path_text}` is not valid JSON for circuitc (a number too long to read)") from None
    if not isinstance(data, list):
        raise error_at(f"`{path_text}` must hold a JSON list of rows", hint='[{"17": {"a": 3, "b": 5}}]')
    rows, problems = [], []
    for b, row in enumerate(data):
        if not isinstance(row, dict):
            problems.append(Diagnostic(f"`{path_text}`: row {b} must be an object of instance ids"))
            continue
        out = {}
        for key, values in row.items():
            if not key.isdigit() or not isinstance(values, dict):
                problems.append(Diagnostic(f"`{path_text}`: row {b}: `{key}` must be an instance id (0, 1, ...) "
                                           f"mapped to an object of inputs"))
                continue
            out[int(key)] = values
        rows.append(out)
    if problems:
        raise CircuitError(problems)
    return rows


_ELEMENT = re.compile(r"^(.+)\[(\d+)\]$")


def read_instance_csv(path_text: str) -> list[dict[int, dict]]:
    """The rows of a CSV file for `circuitc run`, in the form `read_instance_rows` gives: the header
    is `row,instance` then input names, a port (`a`, a vector as one integer) or one element of a
    vector port (`a[2]`); each record is one active instance of the network row its `row` names
    (records of one row together make it; rows in order of first appearance), and an empty cell is
    an input that instance's circuit does not have. Values are integers (decimal, 0b…, 0x…) or
    reals; a CircuitError names the file, line and column of every bad cell."""
    src = _CsvInput(path_text, _read_text(path_text))
    if not src.records:
        raise error_at(f"`{path_text}` is empty: expected a header `row,instance,` then input names",
                       hint="e.g. row,instance,a,b,cin")
    header_line, _, header = src.records[0]
    if [h.strip() for h in header[:2]] != ["row", "instance"]:
        raise CircuitError(src.diagnostic("the header must start with `row,instance`", header_line, 0,
                                          hint="row,instance,a,b,cin: one record per active instance of a row"))
    names = [h.strip() for h in header]
    rows: dict[str, dict[int, dict]] = {}
    problems: list[Diagnostic] = []
    for line, _, fields in src.records[1:]:
        if len(fields) != len(names):
            problems.append(src.diagnostic(f"{len(fields)} fields, but the header names {len(names)}", line, None))
            continue
        row_id, instance = fields[0].strip(), fields[1].strip()
        if not instance.isdigit():
            problems.append(src.diagnostic(f"`{instance}` is not an instance id (0, 1, ...)", line, 1))
            continue
        values: dict = {}
        for i in range(2, len(names)):
            cell = fields[i].strip()
            if not cell:
                continue
            try:
                value = _parse_uint(cell)
            except ValueError:
                try:
                    value = _parse_real(cell)
                except ValueError:
                    problems.append(src.diagnostic(f"`{cell}` is not a number (column `{names[i]}`)", line, i))
                    continue
            element = _ELEMENT.match(names[i])
            if element:                                 # one element of a vector port
                values.setdefault(element.group(1), {})[int(element.group(2))] = value
            else:
                values[names[i]] = value
        for port, elements in values.items():
            if isinstance(elements, dict):              # one row of a vector's elements: shape (1, width)
                values[port] = [[elements.get(k, 0) for k in range(max(elements) + 1)]]
        row = rows.setdefault(row_id, {})
        if int(instance) in row:
            problems.append(src.diagnostic(f"instance {instance} appears twice in row `{row_id}`", line, 1))
            continue
        row[int(instance)] = values
    if problems:
        raise CircuitError(problems[:MAX_LISTED])
    return list(rows.values())


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
