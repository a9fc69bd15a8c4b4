"""Diagnostics: every user-facing problem carries a source location and renders with a caret.

A `CircuitError` holds one or more `Diagnostic`s, so a validator can collect every problem in a
file and report them together (the CLI prints the rendered text and exits 2).
"""

from __future__ import annotations

import difflib
import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator, Sequence


@dataclass(frozen=True)
class Span:
    """A region of a source file; lines and columns count from 1, `end_column` is exclusive."""

    file: str
    line: int
    column: int
    end_line: int | None = None
    end_column: int | None = None
    offset: int | None = field(default=None, compare=False, repr=False)  # of the start, in the file

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True)
class Diagnostic:
    message: str
    span: Span | None = None
    # The text of the line the span starts on, captured when the diagnostic is made so that
    # rendering never has to re-read a file that may have changed since.
    source_line: str | None = None
    expected: str | None = None
    hint: str | None = None
    severity: str = "error"

    def render(self) -> str:
        where = f"{self.span}: " if self.span else ""
        out = [f"{where}{self.severity}: {self.message}"]
        if self.span is not None and self.source_line is not None:
            line = self.source_line.rstrip("\n").expandtabs(1)
            start = max(self.span.column - 1, 0)
            if self.span.end_line == self.span.line and self.span.end_column:
                width = max(self.span.end_column - self.span.column, 1)
            else:
                width = 1
            width = max(1, min(width, max(len(line) - start, 1)))
            line, start, width = _clip(line, start, width)
            out.append(f"{self.span.line:>5} | " + line)
            out.append(" " * 5 + " | " + " " * start + "^" + "~" * (width - 1))
        if self.expected:
            out.append(f"      = expected: {self.expected}")
        if self.hint:
            out.append(f"      = hint: {self.hint}")
        return "\n".join(out)


# Columns of a source line quoted under a report: a generated file may hold one line of
# megabytes, and the report should show the place, not the file.
SHOWN_COLUMNS = 100
_SHOWN_BEFORE = 40  # of them, before the caret, so the text leading up to it is seen


def _clip(line: str, start: int, width: int) -> tuple[str, int, int]:
    """The part of a long `line` around column `start` (0-based), with `…` where it was cut, and
    the caret's column and width within that part."""
    if len(line) <= SHOWN_COLUMNS:
        return line, start, width
    lo = max(0, min(start - _SHOWN_BEFORE, len(line) - SHOWN_COLUMNS))
    hi = lo + SHOWN_COLUMNS
    lead = "…" if lo else ""
    shown = lead + line[lo:hi] + ("…" if hi < len(line) else "")
    return shown, start - lo + len(lead), max(1, min(width, hi - start))


class CircuitError(Exception):
    """The one exception type circuitc raises for bad input. `str()` is the rendered report."""

    def __init__(self, diagnostics: Diagnostic | Sequence[Diagnostic]):
        if isinstance(diagnostics, Diagnostic):
            diagnostics = [diagnostics]
        self.diagnostics: tuple[Diagnostic, ...] = tuple(diagnostics)
        if not self.diagnostics:
            raise ValueError("CircuitError needs at least one diagnostic")
        super().__init__(self.render())

    def render(self) -> str:
        body = "\n".join(d.render() for d in self.diagnostics)
        errors = sum(d.severity == "error" for d in self.diagnostics)
        if errors > 1:
            body += f"\n{errors} errors"
        return body

    def __str__(self) -> str:  # keep str() equal to the report even if args are altered
        return self.render()


@dataclass
class SourceMap:
    """Texts of every file read in one load, so diagnostics can quote the offending line."""

    texts: dict[str, str] = field(default_factory=dict)
    _lines: dict[str, list[str]] = field(default_factory=dict, repr=False)

    def add(self, name: str, text: str) -> None:
        self.texts[name] = text
        self._lines.pop(name, None)

    def line(self, span: Span | None) -> str | None:
        if span is None or span.file not in self.texts:
            return None
        lines = self._lines.get(span.file)
        if lines is None:  # split once per file: a file with many problems stays linear
            lines = self._lines[span.file] = self.texts[span.file].splitlines()
        if 1 <= span.line <= len(lines):
            return lines[span.line - 1]
        return None

    def diagnostic(self, message: str, span: Span | None, *, expected: str | None = None,
                   hint: str | None = None, severity: str = "error") -> Diagnostic:
        return Diagnostic(message, span, self.line(span), expected, hint, severity)


MAX_REPORTED = 50
# Distinct errors collected before the collector gives up and reports: enough for every
# independent mistake in a file, few enough that a runaway loop stops early.
MAX_COLLECTED = 10 * MAX_REPORTED


def _error_key(message: str, span: Span | None):
    """One problem per source location: a mistake inside a loop or a recursive circuit would
    otherwise be reported once per iteration or instance. Numbers are masked so "width -1",
    "width -2", … of a runaway recursion count once, while different problems at one place
    ("no inputs", "no outputs") are all kept."""
    shape = re.sub(r"-?\d+", "#", message)
    return (span.file, span.line, span.column, shape) if span else shape


class Collector:
    """Accumulates diagnostics so that validation reports every problem at once."""

    def __init__(self, sources: SourceMap):
        self.sources = sources
        self.diagnostics: list[Diagnostic] = []
        self._reported: set = set()
        # Problems met so far, repeats included: what a pass compares to tell whether the work
        # it just did found any (a repeat is not recorded again, but it is still a failure).
        self.count = 0

    def error(self, message: str, span: Span | None, *, expected: str | None = None,
              hint: str | Callable[[], str | None] | None = None) -> None:
        """Record an error, once per place and kind (`_error_key`). A hint may be given as a
        function, called only for an error not yet recorded: a mistake inside a loop of 10^5
        iterations must not cost 10^5 "did you mean" searches. Past MAX_COLLECTED distinct
        errors, the ones collected are raised at once."""
        self.count += 1
        key = _error_key(message, span)
        if key in self._reported:
            return
        self._reported.add(key)
        if callable(hint):
            hint = hint()
        self.diagnostics.append(self.sources.diagnostic(message, span, expected=expected, hint=hint))
        if len(self._reported) > MAX_COLLECTED:
            self.raise_if_errors()

    def warn(self, message: str, span: Span | None, *, hint: str | None = None) -> None:
        self.count += 1
        self.diagnostics.append(self.sources.diagnostic(message, span, hint=hint, severity="warning"))

    @property
    def has_errors(self) -> bool:
        return any(d.severity == "error" for d in self.diagnostics)

    def raise_if_errors(self, in_file_order: bool = False) -> None:
        if not self.has_errors:
            return
        if in_file_order:
            self.diagnostics.sort(key=lambda d: (d.span.file, d.span.line, d.span.column) if d.span
                                  else ("", 1 << 62, 0))
        # One problem per source location (`_error_key`), also for diagnostics appended directly.
        seen: set = set()
        errors: list[Diagnostic] = []
        for d in self.diagnostics:
            key = _error_key(d.message, d.span)
            if d.severity == "error" and key not in seen:
                seen.add(key)
                errors.append(d)
        if len(errors) > MAX_REPORTED:
            rest = len(errors) - MAX_REPORTED
            errors = errors[:MAX_REPORTED] + [Diagnostic(f"… and {rest} more error{'s' * (rest > 1)}")]
        raise CircuitError(errors)

    @property
    def warnings(self) -> tuple[Diagnostic, ...]:
        # One per location: a circuit elaborated for several parameter values warns once.
        seen: set = set()
        out = []
        for d in self.diagnostics:
            key = (d.span.file, d.span.line, d.span.column, d.message) if d.span else d.message
            if d.severity == "warning" and key not in seen:
                seen.add(key)
                out.append(d)
        return tuple(out)


@contextmanager
def nesting_guard() -> Iterator[None]:
    """Turn Python's recursion limit, hit by sources nested hundreds of levels deep, into a clear error."""
    try:
        yield
    except RecursionError:
        raise CircuitError(Diagnostic(
            "the source nests too deeply: an expression, condition or else-if chain hundreds of levels deep",
            hint="split it with intermediate wires or parameters")) from None


def did_you_mean(name: str, candidates: Iterable[str]) -> str | None:
    """A 'did you mean' hint for a misspelt name, or None when nothing is close."""
    close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f"did you mean `{close[0]}`?" if close else None


def error_at(message: str, span: Span | None = None, *, source_line: str | None = None,
             expected: str | None = None, hint: str | None = None) -> CircuitError:
    """A single-diagnostic error, for passes that stop at the first problem (file readers)."""
    return CircuitError(Diagnostic(message, span, source_line, expected, hint))
