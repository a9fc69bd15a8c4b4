"""Import AIGER and-inverter graphs, ASCII (`aag`) and binary (`aig`), as a `Spec`.

An AIGER file numbers its variables: variable v has the positive literal 2v and the negated
literal 2v + 1; literal 0 is false and 1 is true. The header `aag M I L O A` (or `aig ...`) gives
the largest variable M and the numbers of inputs, latches, outputs and AND gates; the
definitions follow, then an optional symbol table (`i3 name`, `o0 name`) and an optional comment
section after a line `c`. In the binary form the inputs are implicit (variables 1..I), the AND
gates are numbered in order (gate i defines literal 2(I + L + 1 + i)) and each is stored as two
deltas, `lhs - rhs0` and `rhs0 - rhs1`, in 7-bit little-endian groups; they are decoded here with
numpy, a few array passes over the whole section, so a file of a million gates reads in about a
second. The format is chosen by the header, not by the suffix.

The result is the form the other importers give: one circuit, named after the file, of AND, NOT
and BUF gates (and the constants) over bit wires. Ports are named from the symbol table, else
`i0`, `i1`... and `o0`, `o1`...; the gate of literal 2v is the wire `$2v`, its negation `$2v+1`
(one NOT gate per negated variable), the constants `$0` and `$1`, and each output is a BUF of
its literal (an output named like the input it reads is that input).

Only combinational graphs are read: latches, and the properties of AIGER 1.9 (bad states,
invariant constraints, justice, fairness), are refused with their counts. Problems in an ASCII
file are reported with their line, column and a caret, all at once; problems in the binary
section of a binary file with their byte offset.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass

import numpy as np

from ...errors import CircuitError, Collector, Diagnostic, SourceMap, Span
from ...graph import gc_paused
from ...spec import OP_CODE, BoolCircuit, GateTable, Op, Port, Spec
from ..expand import MAX_GATES, MAX_WIDTH
from .netlist_file import circuit_name_for, not_text, read_netlist_bytes

__all__ = ["parse_aiger", "load_aiger"]

_HEADER_HINT = "an AIGER file starts with `aag M I L O A` (ASCII) or `aig M I L O A` (binary)"
# Numbers of at most 18 digits: every literal and count of a circuit within the limits fits, and
# Python's int() refuses numbers of thousands of digits with an exception of its own.
_NUMBER = re.compile(rb"[0-9]{1,18}")
_LINE_OF_NUMBERS = re.compile(rb"[0-9]{1,18}(?: [0-9]{1,18})*")
_DIGITS = re.compile(rb"[0-9]+")
_SYMBOL = re.compile(rb"([iolbcjf])([0-9]+) (.*)", re.S)
_COUNTS = ("M", "I", "L", "O", "A", "B", "C", "J", "F")
_PROPERTIES = {"B": "bad-state properties", "C": "invariant constraints", "J": "justice properties",
               "F": "fairness constraints"}
# A varint longer than this encodes at least 2**35, more than any literal of a circuit that fits
# the gate limit; refusing it keeps the decoder's arithmetic in 64 bits.
_MAX_VARINT_BYTES = 5


@dataclass
class _Line:
    """One line of the file: its number (from 1), its byte offset and its bytes (no newline)."""

    number: int
    offset: int
    data: bytes

    @property
    def text(self) -> str:
        return self.data.decode("utf-8", "replace")


class _Reader:
    """The file cut into lines on demand, and the diagnostics found so far."""

    def __init__(self, data: bytes, filename: str):
        self.data = data
        self.file = filename
        self.pos = 0            # offset of the next unread line
        self.number = 0         # number of the last line read
        # Where the binary AND section of a binary file starts: lines from there on are located
        # by their byte offset, since the bytes before them are not lines.
        self.binary_from: int | None = None
        self.diags = Collector(SourceMap())

    def next_line(self) -> _Line | None:
        if self.pos >= len(self.data):
            return None
        end = self.data.find(b"\n", self.pos)
        end = len(self.data) if end < 0 else end
        line = self.data[self.pos:end]
        if line.endswith(b"\r"):      # written on Windows: the carriage return is no content
            line = line[:-1]
        self.number += 1
        found = _Line(self.number, self.pos, line)
        self.pos = end + 1
        return found

    def span(self, line: _Line, start: int = 0, end: int | None = None) -> Span:
        end = len(line.data) if end is None else end
        return Span(self.file, line.number, start + 1, line.number, max(end, start + 1) + 1)

    def error(self, message: str, line: _Line, start: int = 0, end: int | None = None, *,
              expected: str | None = None, hint: str | None = None) -> None:
        if self.binary_from is not None and line.offset >= self.binary_from:
            self.at_byte(line.offset + start, message, hint)
            return
        self.diags.diagnostics.append(Diagnostic(message, self.span(line, start, end), line.text, expected, hint))

    def fail(self, message: str, line: _Line, start: int = 0, end: int | None = None, *,
             expected: str | None = None, hint: str | None = None) -> CircuitError:
        self.error(message, line, start, end, expected=expected, hint=hint)
        return self.stop()

    def at_byte(self, offset: int, message: str, hint: str | None = None) -> None:
        self.diags.diagnostics.append(Diagnostic(f"{self.file}, byte {offset:,}: {message}", hint=hint))

    def stop(self) -> CircuitError:
        try:
            self.diags.raise_if_errors(in_file_order=True)
        except CircuitError as e:
            return e
        raise AssertionError("stop() without an error")

    def check(self) -> None:
        self.diags.raise_if_errors(in_file_order=True)

    def truncated(self, what: str) -> CircuitError:
        lines = self.data.count(b"\n") + (not self.data.endswith(b"\n"))
        self.diags.diagnostics.append(Diagnostic(
            f"{self.file}: the file ends after line {lines}, before {what}",
            hint="the header's counts promise more lines than the file has: it is cut short or the counts are wrong"))
        return self.stop()


def parse_aiger(data: bytes, filename: str = "<string>") -> Spec:
    """Parse the bytes of an AIGER file (ASCII or binary) into a Spec holding one circuit."""
    r = _Reader(data, filename)
    header = r.next_line()
    if header is None:
        raise CircuitError(Diagnostic(f"{filename}: the file is empty", hint=_HEADER_HINT))
    if not header.data.strip():
        raise r.fail("the first line is empty", header, hint=_HEADER_HINT)
    binary, counts = _header(r, header)
    M, I, L, O, A = (counts[k] for k in ("M", "I", "L", "O", "A"))
    inputs = _ascii_inputs(r, I, M) if not binary else [(lit, None) for lit in range(2, 2 * I + 1, 2)]
    outputs = _outputs(r, O, M)
    if binary:
        r.check()
        ands = _binary_ands(r, I, A)
        order = None
    else:
        ands = _ascii_ands(r, A, M)
        r.check()
        order = _ascii_order(r, inputs, outputs, ands)
    symbols = _symbols(r, I, O)
    r.check()
    with gc_paused():
        circuit = _circuit(r, [lit for lit, _ in inputs], outputs, ands, order, symbols, binary)
    return Spec(circuits=(circuit,), source=filename, source_hash=hashlib.sha256(data).hexdigest())


def load_aiger(path: str | os.PathLike[str]) -> Spec:
    """Read and parse an AIGER file (.aag or .aig); every problem is a CircuitError."""
    data = read_netlist_bytes(path, "AIGER")
    refused = not_text(path, data, "AIGER") if data[:4] not in (b"aag ", b"aig ") else None
    if refused is not None:        # compressed, an executable...: say so rather than "not a header"
        raise refused
    return parse_aiger(data, str(path))


# --------------------------------------------------------------------------------- the header

def _header(r: _Reader, line: _Line) -> tuple[bool, dict[str, int]]:
    fields = [(m.start(), m.end()) for m in re.finditer(rb"\S+", line.data)]
    magic = line.data[fields[0][0]:fields[0][1]]
    if magic not in (b"aag", b"aig"):
        raise r.fail(f"not an AIGER header: `{magic.decode('utf-8', 'replace')}`", line, *fields[0],
                     expected="`aag` or `aig`", hint=_HEADER_HINT)
    for start, end in fields[1:]:
        if _DIGITS.fullmatch(line.data[start:end]) and end - start > 18:
            raise r.fail(f"the count of {end - start} digits is too large for a circuit", line, start, end,
                         hint=f"circuitc holds circuits of up to {MAX_GATES:,} gates")
        if not _NUMBER.fullmatch(line.data[start:end]):
            raise r.fail(f"malformed header: `{line.data[start:end].decode('utf-8', 'replace')}` is not a "
                         f"count", line, start, end, expected="a decimal number", hint=_HEADER_HINT)
    numbers = [int(line.data[s:e]) for s, e in fields[1:]]
    if not 5 <= len(numbers) <= 9:
        raise r.fail(f"the header has {len(numbers)} count{'s' * (len(numbers) != 1)}; it has 5 (M I L O A), "
                     f"or up to 9 in AIGER 1.9 (M I L O A B C J F)", line, hint=_HEADER_HINT)
    if line.data[3:4] != b" " or not _LINE_OF_NUMBERS.fullmatch(line.data[4:]):
        raise r.fail("malformed header: the counts are separated by single spaces", line, hint=_HEADER_HINT)
    counts = dict(zip(_COUNTS, numbers))
    at = dict(zip(_COUNTS, fields[1:]))
    binary = magic == b"aig"
    M, I, L, A = counts["M"], counts["I"], counts["L"], counts["A"]
    if L:
        r.error(f"the AIGER file has {L} latch{'es' * (L > 1)}: circuitc imports combinational circuits only",
                line, *at["L"], hint="make the latches inputs and outputs first, e.g. with ABC: "
                                     "`abc -c 'read FILE.aig; comb; write_aiger comb.aig'`")
    for key, what in _PROPERTIES.items():
        if counts.get(key):
            r.error(f"the AIGER file has {counts[key]} {what} (AIGER 1.9): circuitc imports plain circuits only",
                    line, *at[key], hint="write the properties as ordinary outputs")
    if binary and M != I + L + A:
        r.error(f"in a binary AIGER file M must be I + L + A = {I + L + A}, got {M}", line, *at["M"],
                hint="the header does not match the file: it is damaged, or it is not AIGER")
    elif M < I + L + A:
        r.error(f"M = {M} is less than I + L + A = {I + L + A}: the file cannot define that many variables",
                line, *at["M"], hint="M is the largest variable index; every input, latch and AND gate defines one")
    # Checked before any work: a binary file declares its inputs without a byte each, so a
    # header of 30 bytes could otherwise ask for millions of ports.
    for key, what, limit in (("I", "inputs", MAX_WIDTH), ("O", "outputs", MAX_WIDTH), ("A", "AND gates", MAX_GATES)):
        if counts[key] > limit:
            r.error(f"the file declares {counts[key]:,} {what}, above the {limit:,} a circuit may have", line,
                    *at[key], hint=f"circuitc holds circuits of up to {MAX_GATES:,} gates and {MAX_WIDTH:,} "
                                   f"input and output bits")
    if counts["O"] == 0:
        r.error("the AIGER file has no outputs: a circuit needs at least one", line, *at["O"],
                hint="an AIG without outputs computes nothing")
    r.check()
    return binary, counts


# ---------------------------------------------------------------------------- ASCII definitions

def _numbers(r: _Reader, line: _Line, count: int, what: str, example: str) -> list[int] | None:
    """The `count` numbers on a definition line, or None after reporting what is wrong."""
    data = line.data
    if _LINE_OF_NUMBERS.fullmatch(data) and data.count(b" ") == count - 1:
        return [int(x) for x in data.split(b" ")]
    fields = [(m.start(), m.end()) for m in re.finditer(rb"\S+", data)]
    for start, end in fields:
        if _DIGITS.fullmatch(data[start:end]) and end - start > 18:
            r.error(f"a literal of {end - start} digits is out of range", line, start, end,
                    hint="literals go up to 2M + 1, M the first count of the header")
            return None
        if not _NUMBER.fullmatch(data[start:end]):
            r.error(f"malformed {what}: `{data[start:end].decode('utf-8', 'replace')}` is not a literal", line,
                    start, end, expected="a decimal number", hint=f"a {what} line is `{example}`")
            return None
    if len(fields) != count:
        r.error(f"a {what} line has {count} literal{'s' * (count > 1)}, this one has {len(fields)}", line,
                hint=f"a {what} line is `{example}`")
    else:
        r.error(f"malformed {what}: literals are separated by single spaces", line,
                hint=f"a {what} line is `{example}`")
    return None


def _literal_span(line: _Line, index: int) -> tuple[int, int]:
    fields = [(m.start(), m.end()) for m in re.finditer(rb"\S+", line.data)]
    return fields[index] if index < len(fields) else (0, len(line.data))


def _ascii_inputs(r: _Reader, I: int, M: int) -> list[tuple[int, _Line | None]]:
    out: list[tuple[int, _Line | None]] = []
    for k in range(I):
        line = r.next_line()
        if line is None:
            raise r.truncated(f"input {k} of {I}")
        got = _numbers(r, line, 1, "input", "2")
        if got is None:
            continue
        lit = got[0]
        if lit % 2 or lit < 2 or lit > 2 * M:
            why = ("is odd: an input is a positive literal (an even number)" if lit % 2 else
                   "is a constant: inputs start at literal 2" if lit < 2 else f"is above 2M = {2 * M}")
            r.error(f"input literal {lit} {why}", line, 0, len(line.data),
                    hint="input k of an AIGER file is usually literal 2(k + 1): 2, 4, 6...")
            continue
        out.append((lit, line))
    return out


def _outputs(r: _Reader, O: int, M: int) -> list[tuple[int, _Line]]:
    out: list[tuple[int, _Line]] = []
    for k in range(O):
        line = r.next_line()
        if line is None:
            raise r.truncated(f"output {k} of {O}")
        got = _numbers(r, line, 1, "output", "14")
        if got is None:
            continue
        if got[0] > 2 * M + 1:
            r.error(f"output literal {got[0]} is out of range: literals go up to 2M + 1 = {2 * M + 1}", line,
                    0, len(line.data), hint="M, the largest variable, is the first count of the header")
            continue
        out.append((got[0], line))
    return out


def _ascii_ands(r: _Reader, A: int, M: int) -> list[tuple[int, int, int, _Line]]:
    out: list[tuple[int, int, int, _Line]] = []
    for k in range(A):
        line = r.next_line()
        if line is None:
            raise r.truncated(f"AND gate {k} of {A}")
        got = _numbers(r, line, 3, "AND gate", "6 2 5")
        if got is None:
            continue
        lhs, rhs0, rhs1 = got
        if lhs % 2 or lhs < 2 or lhs > 2 * M:
            why = ("is odd: an AND gate defines a positive literal (an even number)" if lhs % 2 else
                   "is a constant: a gate cannot redefine it" if lhs < 2 else f"is above 2M = {2 * M}")
            r.error(f"AND gate literal {lhs} {why}", line, *_literal_span(line, 0),
                    hint="an AND gate line is `lhs rhs0 rhs1`: it defines the even literal lhs")
            continue
        bad = [i for i, x in ((1, rhs0), (2, rhs1)) if x > 2 * M + 1]
        if bad:
            lit = got[bad[0]]
            r.error(f"literal {lit} is out of range: literals go up to 2M + 1 = {2 * M + 1}", line,
                    *_literal_span(line, bad[0]), hint="M, the largest variable, is the first count of the header")
            continue
        out.append((lhs, rhs0, rhs1, line))
    return out


def _ascii_order(r: _Reader, inputs: list[tuple[int, _Line | None]], outputs: list[tuple[int, _Line]],
                 ands: list[tuple[int, int, int, _Line]]) -> list[int]:
    """The AND gates in an order where each follows the gates it reads; reports variables defined
    twice, literals that nothing defines, and cycles."""
    defined: dict[int, str] = {}      # variable -> where: "line n"
    for lit, line in inputs:
        v = lit >> 1
        assert line is not None
        if v in defined:
            r.error(f"variable {v} (literal {lit}) is defined twice", line, 0, len(line.data),
                    hint=f"it is already an input on {defined[v]}")
            continue
        defined[v] = f"line {line.number}"
    gate_of: dict[int, int] = {}      # variable -> index in ands
    for i, (lhs, _, _, line) in enumerate(ands):
        v = lhs >> 1
        if v in defined:
            r.error(f"variable {v} (literal {lhs}) is defined twice", line, *_literal_span(line, 0),
                    hint=f"it is already defined on {defined[v]}")
            continue
        defined[v] = f"line {line.number}"
        gate_of[v] = i

    def undefined(lit: int, line: _Line, index: int, what: str) -> None:
        r.error(f"{what} reads literal {lit}, whose variable {lit >> 1} no input or AND gate defines", line,
                *_literal_span(line, index), hint="every variable a literal names must be an input or an AND gate")

    for lhs, rhs0, rhs1, line in ands:
        for index, lit in ((1, rhs0), (2, rhs1)):
            if lit >= 2 and (lit >> 1) not in defined:
                undefined(lit, line, index, f"AND gate {lhs}")
    for lit, line in outputs:
        if lit >= 2 and (lit >> 1) not in defined:
            undefined(lit, line, 0, "the output")
    r.check()
    return _topological(r, ands, gate_of)


def _topological(r: _Reader, ands: list[tuple[int, int, int, _Line]], gate_of: dict[int, int]) -> list[int]:
    """Indices of `ands`, each after the gates it reads (already so in most files: then in file
    order); a cycle is an error naming the gates on it."""
    position = {v: i for v, i in gate_of.items()}
    in_order = all(position.get(rhs >> 1, -1) < i
                   for i, (_, rhs0, rhs1, _) in enumerate(ands) for rhs in (rhs0, rhs1))
    if in_order:
        return list(range(len(ands)))
    state = [0] * len(ands)          # 0 unvisited, 1 on the current path, 2 done
    order: list[int] = []
    for root in range(len(ands)):
        if state[root]:
            continue
        stack = [(root, 0)]
        state[root] = 1
        while stack:
            i, k = stack[-1]
            args = ands[i][1:3]
            if k < 2:
                stack[-1] = (i, k + 1)
                j = gate_of.get(args[k] >> 1)
                if j is None or state[j] == 2:
                    continue
                if state[j] == 1:
                    path = [f for f, _ in stack]
                    cycle = path[path.index(j):]
                    first = min(cycle, key=lambda f: ands[f][3].number)
                    shown = ", ".join(str(ands[f][0]) for f in cycle[:8]) + (", ..." if len(cycle) > 8 else "")
                    lines = ", ".join(str(ands[f][3].number) for f in cycle[:8]) + (", ..." if len(cycle) > 8 else "")
                    raise r.fail(f"combinational cycle: AND gate {ands[first][0]} depends on itself through the "
                                 f"gates {shown} (lines {lines})", ands[first][3], *_literal_span(ands[first][3], 0),
                                 hint="an AND gate may read only inputs and gates that do not read it back")
                state[j] = 1
                stack.append((j, 0))
            else:
                stack.pop()
                state[i] = 2
                order.append(i)
    return order


# ----------------------------------------------------------------------------- binary AND gates

def _binary_ands(r: _Reader, I: int, A: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(lhs, rhs0, rhs1) of the A gates of a binary file, decoded from their deltas as arrays."""
    start = r.binary_from = r.pos
    buf = np.frombuffer(r.data, dtype=np.uint8, offset=min(start, len(r.data)))
    lhs = 2 * (I + 1 + np.arange(A, dtype=np.int64))
    if A == 0:
        return lhs, lhs.copy(), lhs.copy()
    # A byte below 128 ends a number; the first 2A such bytes end the section.
    ends = np.flatnonzero(buf < 128)
    if len(ends) < 2 * A:
        done = len(ends) // 2
        raise CircuitError(Diagnostic(
            f"{r.file}, byte {len(r.data):,}: the file ends inside the AND gates, after {done:,} of {A:,}",
            hint="the file is cut short, or the header's A is wrong"))
    ends = ends[:2 * A]
    starts = np.empty(2 * A, dtype=np.int64)
    starts[0] = 0
    starts[1:] = ends[:-1] + 1
    lengths = ends - starts + 1
    too_long = np.flatnonzero(lengths > _MAX_VARINT_BYTES)
    if too_long.size:
        k = int(too_long[0])
        raise CircuitError(Diagnostic(
            f"{r.file}, byte {start + int(starts[k]):,}: AND gate {2 * (I + 1 + k // 2)} has a delta of "
            f"{int(lengths[k])} bytes, more than any literal of a circuit needs",
            hint="the AND gates are damaged, or the header's counts are wrong"))
    values = np.zeros(2 * A, dtype=np.int64)
    for j in range(int(lengths.max())):
        has = lengths > j
        values[has] |= (buf[starts[has] + j].astype(np.int64) & 127) << (7 * j)
    rhs0 = lhs - values[0::2]
    rhs1 = rhs0 - values[1::2]
    bad = np.flatnonzero((values[0::2] == 0) | (rhs0 < 0) | (rhs1 < 0))
    if bad.size:
        i = int(bad[0])
        d0, d1 = int(values[2 * i]), int(values[2 * i + 1])
        why = ("its first delta is 0, so the gate would read itself" if d0 == 0 else
               f"its first delta {d0} is larger than the gate's literal" if d0 > int(lhs[i]) else
               f"its second delta {d1} is larger than its first input, literal {int(rhs0[i])}")
        raise CircuitError(Diagnostic(
            f"{r.file}, byte {start + int(starts[2 * i]):,}: AND gate {int(lhs[i])} (gate {i} of {A:,}): {why}",
            hint="in a binary AIGER file each gate reads only literals below its own: the file is damaged"))
    r.pos = start + int(ends[-1]) + 1
    return lhs, rhs0, rhs1


# ------------------------------------------------------------------------------- symbol table

def _symbols(r: _Reader, I: int, O: int) -> dict[tuple[str, int], tuple[str, _Line]]:
    """The names the symbol table gives: (kind "i" or "o", position) -> (name, line)."""
    names: dict[tuple[str, int], tuple[str, _Line]] = {}
    counts = {"i": I, "o": O}
    kinds = {"i": "input", "o": "output", "l": "latch", "b": "bad-state property", "c": "constraint",
             "j": "justice property", "f": "fairness constraint"}
    while (line := r.next_line()) is not None:
        data = line.data
        m = _SYMBOL.fullmatch(data)
        if data.startswith(b"c") and m is None:
            break                                # the comment section runs to the end of the file
        if not data.strip():
            continue
        if m is None:
            r.error("malformed symbol: expected `i<k> name`, `o<k> name`, or a line `c` that starts the comments",
                    line, hint="the symbol table follows the definitions: `i0 a`, `o0 sum`")
            continue
        kind, digits = m.group(1).decode(), m.group(2)
        pos = int(digits) if len(digits) <= 18 else 1 << 62     # beyond any count, and int() is safe
        shown = digits.decode() if len(digits) <= 18 else f"{digits[:6].decode()}… ({len(digits)} digits)"
        what = kinds[kind]
        if kind not in counts:
            r.error(f"a symbol for {what} {shown}, which this file has none of", line, 0, m.end(2),
                    hint="circuitc reads inputs and outputs only")
            continue
        if pos >= counts[kind]:
            n = counts[kind]
            r.error(f"a symbol for {what} {shown}, but the file has {n} {what}{'s' * (n != 1)} (numbered from 0)",
                    line, m.start(2), m.end(2), hint="the positions count the header's I inputs and O outputs")
            continue
        try:
            name = m.group(3).decode("utf-8")
        except UnicodeDecodeError as e:
            r.error(f"the name of {what} {pos} is not UTF-8 (byte {e.start} of the name)", line, m.start(3),
                    hint="names in the symbol table must be UTF-8 text")
            continue
        problem = ("is empty" if not name else
                   "contains a control character" if any(ord(ch) < 32 or ord(ch) == 127 for ch in name) else None)
        if problem:
            r.error(f"the name of {what} {pos} {problem}", line, m.start(3),
                    hint="a wire name holds any characters but control characters")
            continue
        if (kind, pos) in names:
            r.error(f"{what} {pos} is named twice", line, 0, m.end(2), hint=f"first named `{names[kind, pos][0]}`")
            continue
        names[kind, pos] = (name, line)
    return names


# -------------------------------------------------------------------------------- the circuit

def _circuit(r: _Reader, inputs: list[int], outputs: list[tuple[int, _Line]], ands, order: list[int] | None,
             symbols: dict[tuple[str, int], tuple[str, _Line]], binary: bool) -> BoolCircuit:
    def report(message: str, line: _Line, hint: str) -> None:
        r.error(message, line, hint=hint)

    input_names = [symbols.get(("i", k), (None, None))[0] for k in range(len(inputs))]
    output_names = [symbols.get(("o", k), (None, None))[0] for k in range(len(outputs))]
    given = {n for n in input_names + output_names if n is not None}
    by_input: dict[str, int] = {}
    for k, name in enumerate(input_names):
        if name is None:
            continue
        if name in by_input:
            report(f"inputs {by_input[name]} and {k} are both named `{name}`", symbols["i", k][1],
                   "every input needs a name of its own")
        by_input.setdefault(name, k)
    r.check()

    def default(prefix: str, k: int) -> str:
        name, n = f"{prefix}{k}", 1
        while name in given:            # a name the symbol table gave another port
            n += 1
            name = f"{prefix}{k}${n}"
        return name

    input_names = [n if n is not None else default("i", k) for k, n in enumerate(input_names)]
    output_names = [n if n is not None else default("o", k) for k, n in enumerate(output_names)]
    ports = set(input_names) | set(output_names)
    # Gate wires are named `$` + literal; the prefix grows in the unlikely case a port is so named.
    prefix = "$"
    while any(n.startswith(prefix) and n[len(prefix):].isdigit() for n in ports):
        prefix += "$"

    if binary:
        lhs, rhs0, rhs1 = (np.asarray(x, dtype=np.int64) for x in ands)
        and_lines = None
    else:
        sel = order if order is not None else range(len(ands))
        lhs = np.fromiter((ands[i][0] for i in sel), dtype=np.int64, count=len(ands))
        rhs0 = np.fromiter((ands[i][1] for i in sel), dtype=np.int64, count=len(ands))
        rhs1 = np.fromiter((ands[i][2] for i in sel), dtype=np.int64, count=len(ands))
        and_lines = [ands[i][3] for i in sel]
    out_lits = np.array([lit for lit, _ in outputs], dtype=np.int64)
    read = np.concatenate((rhs0, rhs1, out_lits))
    # Variables whose NOT is read, in order. Marked in a table rather than by np.unique, which
    # spends about half a second hashing the 1.4M reads of a 700k-gate file (numpy 2.4).
    is_negated = np.zeros(int(read.max(initial=0)) // 2 + 1, dtype=bool)
    is_negated[read[read & 1 == 1] >> 1] = True
    negated = np.flatnonzero(is_negated)
    gate_reads = np.concatenate((rhs0, rhs1))          # an output of a constant is a constant gate itself
    constants = [c for c in (0, 1) if (gate_reads == c).any()]
    input_lits = np.asarray(inputs, dtype=np.int64)
    input_nots = input_lits[np.isin(input_lits >> 1, negated)].tolist()
    and_not = np.isin(lhs >> 1, negated)

    # Gates as arrays (a GateTable), in this order: constants, NOTs of inputs, each AND followed
    # by its NOT when one is read, then one gate per output. `slot[lit]` is the wire of a literal.
    n_in, first_and = len(inputs), len(constants) + len(input_nots)
    and_pos = first_and + np.arange(len(lhs)) + np.cumsum(and_not) - and_not
    n_core = first_and + len(lhs) + int(and_not.sum())
    top = max(int(read.max(initial=1)), int(lhs.max(initial=1)), max(inputs, default=1))
    slot = np.full(top + 2, -1, dtype=np.int64)
    slot[input_lits] = np.arange(n_in)
    slot[np.asarray(constants, dtype=np.int64)] = n_in + np.arange(len(constants))
    slot[np.asarray(input_nots, dtype=np.int64) + 1] = n_in + len(constants) + np.arange(len(input_nots))
    slot[lhs] = n_in + and_pos
    slot[lhs[and_not] + 1] = n_in + and_pos[and_not] + 1
    wired = np.concatenate((gate_reads, out_lits[out_lits >= 2]))
    unread = wired[slot[wired] < 0]
    if len(unread):  # the readers above report undefined literals; this keeps the arrays honest
        raise CircuitError(Diagnostic(f"literal {int(unread[0])} is read but never defined", Span(r.file, 1, 1)))
    P = prefix
    names = np.empty(n_core, dtype=object)
    names[:len(constants)] = [f"{P}{lit}" for lit in constants]
    names[len(constants):first_and] = [f"{P}{lit + 1}" for lit in input_nots]
    names[and_pos] = [P + s for s in map(str, lhs.tolist())]
    names[and_pos[and_not] + 1] = [P + s for s in map(str, (lhs[and_not] + 1).tolist())]
    ops = np.full(n_core, OP_CODE[Op.NOT], dtype=np.int8)
    ops[:len(constants)] = [OP_CODE[Op.CONST1 if lit else Op.CONST0] for lit in constants]
    ops[and_pos] = OP_CODE[Op.AND]
    arity = np.ones(n_core, dtype=np.int64)
    arity[:len(constants)] = 0
    arity[and_pos] = 2
    args = np.empty(int(arity.sum()), dtype=np.int64)
    ptr = np.concatenate(([0], np.cumsum(arity)))
    args[ptr[len(constants):first_and]] = slot[np.asarray(input_nots, dtype=np.int64)]
    args[ptr[and_pos]] = slot[rhs0]
    args[ptr[and_pos] + 1] = slot[rhs1]
    args[ptr[and_pos[and_not] + 1]] = n_in + and_pos[and_not]
    lines = np.zeros(n_core, dtype=np.int64)   # 0: no span (binary gates, the added NOTs)
    ends = np.zeros(n_core, dtype=np.int64)
    if and_lines is not None:
        numbers = np.fromiter((ln.number for ln in and_lines), dtype=np.int64, count=len(and_lines))
        widths = np.fromiter((len(ln.data) for ln in and_lines), dtype=np.int64, count=len(and_lines))
        for at in (and_pos, and_pos[and_not] + 1):
            take = slice(None) if at is and_pos else and_not
            lines[at], ends[at] = numbers[take], np.maximum(widths[take], 1) + 1

    def wire(lit: int) -> int:
        return int(slot[lit])

    output_ports: list[Port] = []
    out_gates: list[tuple[str, Op, tuple[int, ...], Span]] = []
    named_outputs: dict[str, int] = {}
    for k, ((lit, line), name) in enumerate(zip(outputs, output_names)):
        span = r.span(line)
        if name in named_outputs:
            report(f"outputs {named_outputs[name]} and {k} are both named `{name}`",
                   symbols.get(("o", k), (None, line))[1], "every output needs a name of its own")
            continue
        named_outputs[name] = k
        if name in by_input:
            # An output may carry the name of the input it passes through; any other output
            # would drive an input.
            if lit != inputs[by_input[name]]:
                report(f"output {k} is named `{name}`, the name of input {by_input[name]}, but reads literal "
                       f"{lit}", symbols.get(("o", k), (None, line))[1],
                       "an output may share a name only with the input it passes through")
                continue
        else:
            out_gates.append((name, Op.CONST1 if lit == 1 else Op.CONST0 if lit == 0 else Op.BUF,
                              () if lit < 2 else (wire(lit),), span))
        output_ports.append(Port(name, span=span))
    r.check()
    file_span = Span(r.file, 1, 1)
    wires = tuple(input_names) + tuple(names.tolist()) + tuple(g[0] for g in out_gates)
    ops = np.concatenate((ops, np.array([OP_CODE[g[1]] for g in out_gates], dtype=np.int8)))
    ptr = np.concatenate((ptr, ptr[-1] + np.cumsum([len(g[2]) for g in out_gates], dtype=np.int64)))
    args = np.concatenate((args, np.array([a for g in out_gates for a in g[2]], dtype=np.int64)))
    lines = np.concatenate((lines, np.array([g[3].line for g in out_gates], dtype=np.int64)))
    ends = np.concatenate((ends, np.array([g[3].end_column for g in out_gates], dtype=np.int64)))
    circuit = BoolCircuit(
        name=circuit_name_for(r.file, "aiger"),
        inputs=tuple(Port(n, span=file_span) for n in input_names),
        outputs=tuple(output_ports),
        gates=GateTable(wires, n_in, ops, ptr, args, (r.file, lines, np.ones_like(lines), ends)),
        span=file_span,
    )
    circuit.check()
    return circuit
