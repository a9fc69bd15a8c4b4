"""Progress of a sweep on standard error: points done, running, failed and skipped, and an ETA.

On a terminal it is a live bar in the style of `circuitc verify`'s (rich, transient); elsewhere
(a log file, a batch job's output) with `--progress` it is one plain line per finished point, so
a log shows how far a sweep got. The ETA is the time per finished point this run, measured, times
the points left: points found on disk finish instantly and are not counted in it, and a frontier
search's total grows as its probes are decided, so its ETA covers the probes known so far.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from typing import TextIO

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn

__all__ = ["Counts", "SweepProgress", "duration"]


@dataclass
class Counts:
    """Where a sweep's points stand. `done` counts every point with a record (ok, refused or
    failed), `skipped` those of them found on disk, `failed` those that failed."""

    total: int = 0
    done: int = 0
    skipped: int = 0
    failed: int = 0
    refused: int = 0
    running: int = 0

    @property
    def ran(self) -> int:
        return self.done - self.skipped

    def as_dict(self) -> dict:
        return {"total": self.total, "done": self.done, "ran": self.ran, "skipped": self.skipped,
                "refused": self.refused, "failed": self.failed}


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


class SweepProgress:
    """`enabled`: True, False, or None for "on a terminal only". Call `update` whenever the counts
    change (and now and then, to move the ETA), `note` for a message, `stop` at the end."""

    def __init__(self, enabled: bool | None = None, stream: TextIO | None = None):
        self.stream = stream if stream is not None else sys.stderr
        try:
            tty = self.stream.isatty()
        except (AttributeError, ValueError):
            tty = False
        self.enabled = tty if enabled is None else enabled
        self.live = self.enabled and tty
        self.started = time.monotonic()
        self.bar: Progress | None = None
        self._last_done = -1

    def eta(self, c: Counts) -> float | None:
        if c.ran == 0:
            return None
        left = c.total - c.done
        return (time.monotonic() - self.started) / c.ran * left

    def line(self, c: Counts) -> str:
        return (f"{c.done}/{c.total} done ({c.skipped} skipped) · {c.running} running · {c.failed} failed · "
                f"{c.refused} refused · ETA {duration(self.eta(c)) if c.done < c.total else '0s'}")

    def update(self, c: Counts) -> None:
        if not self.enabled:
            return
        if self.live:
            if self.bar is None:
                self.bar = Progress(TextColumn("sweep"), BarColumn(), TextColumn("{task.fields[line]}"),
                                    console=Console(file=self.stream), transient=True)
                self.task = self.bar.add_task("sweep", total=max(c.total, 1), line="")
                self.bar.start()
            self.bar.update(self.task, total=max(c.total, 1), completed=c.done, line=self.line(c))
        elif c.done != self._last_done:         # a log: one line per finished point
            self._last_done = c.done
            print(f"sweep: {self.line(c)}", file=self.stream, flush=True)

    def note(self, message: str) -> None:
        """A message that stays (printed above the live bar)."""
        if self.bar is not None:
            self.bar.console.print(message, markup=False, highlight=False)
        else:
            print(message, file=self.stream, flush=True)

    def stop(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None
