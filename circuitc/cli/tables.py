"""What every command shares: exit codes, usage errors, writing results, rich tables, number
formatting and the progress bar of `verify`. Both back ends' commands (network_cmds.py,
features_cmds.py) and the source commands (source_cmds.py) print through these."""

from __future__ import annotations

import io
import math
import os
import sys
from typing import Any, Sequence

from rich import box
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from ..errors import CircuitError, Diagnostic
from ..fileio import write_atomic
from ..frontend.load import load_spec
from ..spec import Spec

__all__ = ["EXIT_OK", "EXIT_CHANGED", "EXIT_FAILED", "EXIT_ERROR", "EXIT_INTERNAL", "EXIT_INTERRUPTED",
           "EXIT_BROKEN_PIPE", "error", "emit", "load_warned", "styled", "print_tables", "table", "fmt",
           "accuracy", "plural", "beside", "show_progress", "ProgressBar", "LISTED", "first_rows", "listed"]

EXIT_OK = 0
EXIT_CHANGED = 1
EXIT_FAILED = 1
EXIT_ERROR = 2
EXIT_INTERNAL = 3
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141

# Rows a table of circuits shows before it says how many more there are (--json lists all).
LISTED = 20


def error(message: str, hint: str | None = None) -> CircuitError:
    return CircuitError(Diagnostic(message, hint=hint))


# ============================================================================================
# Output helpers


def emit(text: str, output: str | None, force: bool) -> None:
    """Write the finished text to `output` (atomically, never over a file without --force), or
    to standard output."""
    if output is None or output == "-":
        sys.stdout.write(text)
    else:
        write_atomic(output, text, force=force)


def load_warned(path: str) -> Spec:
    """`load_spec`, with the source's warnings printed to standard error."""
    spec = load_spec(path)
    for w in spec.warnings:
        print(w.render(), file=sys.stderr)
    return spec


def styled() -> bool:
    """Colour and box drawing only on a terminal, and never when NO_COLOR is set."""
    if os.environ.get("NO_COLOR"):
        return False
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


def print_tables(tables: list) -> None:
    """Print rich tables: styled on a terminal; otherwise plain ASCII with no trailing blanks,
    never wrapped, so that scripts (and tests) can read them."""
    if styled():
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


def table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]], right: Sequence[str] = ()):
    table = Table(title=title, title_justify="left", title_style="bold", header_style="bold")
    for col in columns:
        table.add_column(col, justify="right" if col in right else "left", no_wrap=True)
    for row in rows:
        table.add_row(*(Text("-" if v is None else str(v)) for v in row))
    return table


def first_rows(title: str, rows: Sequence) -> tuple[str, Sequence]:
    """(title, rows) of a table of circuits: all of them, or the first LISTED with the title saying
    how many there are (a network of 10^4 different circuits would print 10^4 lines)."""
    if len(rows) <= LISTED:
        return title, rows
    return f"{title}: first {LISTED} of {len(rows)}", rows[:LISTED]


def listed(items: Sequence[str]) -> str:
    """Items joined by commas, the first LISTED of them and how many more."""
    shown = ", ".join(items[:LISTED])
    return shown if len(items) <= LISTED else f"{shown}, ... ({len(items) - LISTED} more)"


# ============================================================================================
# Numbers and words


def fmt(x: float | None, digits: int = 4) -> str | None:
    return None if x is None else f"{x:.{digits}g}" if isinstance(x, float) else str(x)


def accuracy(x: float | None) -> str | None:
    """An accuracy with six decimals, rounded down: only an exact 1 reads as 1."""
    if x is None:
        return None
    return "1" if x == 1 else f"{math.floor(x * 1e6) / 1e6:.6f}"


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def beside(measured, predicted) -> str:
    return f"{fmt(measured) or '-'} ({fmt(predicted) or '-'})"


# ============================================================================================
# Progress


def show_progress(samples: int, batch: int) -> bool:
    """A progress bar only on a terminal, and only when the run takes more than one batch."""
    try:
        return sys.stderr.isatty() and samples > batch
    except (AttributeError, ValueError):
        return False


class ProgressBar:
    """Counts the rows the network has run (a forward hook on the model) on a transient progress bar."""

    def __init__(self, network, total: int, enabled: bool):
        self.network, self.total, self.enabled = network, total, enabled

    def __enter__(self):
        if not self.enabled:
            return self
        self.bar = Progress(TextColumn("verifying"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                            console=Console(file=sys.stderr), transient=True)
        task = self.bar.add_task("verify", total=self.total)
        self.bar.start()
        self.handle = self.network.model.register_forward_hook(
            lambda module, inputs, output: self.bar.advance(task, int(inputs[0].shape[0])))
        return self

    def __exit__(self, *exc):
        if self.enabled:
            self.handle.remove()
            self.bar.stop()
        return False
