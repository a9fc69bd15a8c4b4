"""A sweep's results directory, and the merged table of its points.

    OUT/sweep.json           marks the directory as a sweep's (a directory without it is never written into)
    OUT/points/KEY.json      one record per point, written atomically as the point finishes
    OUT/table.json, table.md the merged table of the grid's points, rewritten from the records at the end

A record is never replaced unless asked (`--retry-failed` for failed points, `--rerun` for all);
a file that cannot be read (it should not happen: every write is atomic) is moved aside, not
deleted, and its point runs again. The table is derived from the records alone, so it can be
rebuilt at any time (`circuitc sweep GRID --report`), also while a sweep still runs elsewhere.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any, Iterable

from ..errors import CircuitError, Diagnostic
from ..fileio import write_atomic
from ..instances.verdicts import judge
from .grid import Grid, VerifySettings
from .point import FORMAT, Point

__all__ = ["Store", "passed", "point_row", "markdown", "MARKER"]

MARKER = "sweep.json"


class Store:
    """The records of one results directory."""

    def __init__(self, directory: str | os.PathLike):
        self.directory = Path(directory)
        self.points = self.directory / "points"

    def open(self) -> "Store":
        """Create the directory (or check that an existing one is a sweep's) and mark it."""
        d, shown = self.directory, os.fspath(self.directory)
        if d.exists() and not d.is_dir():
            raise CircuitError(Diagnostic(f"{shown} exists and is not a directory",
                                          hint="give the results directory another name with -o"))
        if d.is_dir() and any(d.iterdir()) and not (d / MARKER).is_file():
            raise CircuitError(Diagnostic(f"{shown} exists and does not hold a sweep's results (no {MARKER})",
                                          hint="give a new or empty directory with -o; nothing in it is touched"))
        try:
            self.points.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise CircuitError(Diagnostic(f"cannot create {shown}: {e.strerror or e}")) from None
        if not (d / MARKER).is_file():
            write_atomic(d / MARKER, json.dumps({"format": FORMAT, "made_by": "circuitc sweep"}) + "\n")
        return self

    def path(self, key: str) -> Path:
        return self.points / f"{key}.json"

    def read(self, point: Point) -> dict | None:
        """The point's record, or None when it has none (a file that is not its record is moved aside)."""
        path = self.path(point.key)
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError, ValueError):
            record = None
        if isinstance(record, dict) and record.get("key") == point.key and record.get("status") in STATUSES:
            return record
        self._set_aside(path)
        return None

    def _set_aside(self, path: Path) -> None:
        for i in range(1, 1000):
            aside = path.with_name(f"{path.name}.unreadable-{i}")
            if not aside.exists():
                try:
                    path.rename(aside)
                except OSError:
                    pass
                return

    def write(self, record: dict, replace: bool) -> None:
        """Write a record; without `replace` an existing record of the point (another run of the
        same configuration finished it first) is kept."""
        text = json.dumps(record, indent=1, sort_keys=True) + "\n"
        path = self.path(record["key"])
        if not replace and path.exists():
            return
        try:
            write_atomic(path, text, force=replace)
        except CircuitError:
            if replace or not path.exists():
                raise

    def write_tables(self, table: dict, text: str) -> None:
        """The merged table: derived from the records, so it is rewritten on every run."""
        write_atomic(self.directory / "table.json", json.dumps(table, indent=1) + "\n", force=True)
        write_atomic(self.directory / "table.md", text, force=True)


STATUSES = ("ok", "refused", "failed")


# ============================================================================================
# Rows


def passed(record: dict, settings: VerifySettings) -> bool | None:
    """Whether a compile+verify record passes `settings` (accuracy at least min_accuracy on the
    random rows and on the adversarial rows if any, real outputs within tolerance, nothing that
    contradicts the guarantee): True / False, False when refused, None when failed."""
    if record["status"] == "failed":
        return None
    if record["status"] == "refused":
        return False
    result = record["result"]
    guaranteed = result["report"]["guaranteed"]
    runs = [r for r in (result["random"], result["adversarial"]) if r is not None]
    return all(judge(r, guaranteed=guaranteed, min_accuracy=settings.min_accuracy,
                     tolerance=settings.tolerance).passed for r in runs)


def _first_line(text: str | None) -> str | None:
    if not text:
        return None
    lines = [ln for ln in text.splitlines() if ln.strip()]
    # A CircuitError renders as "error: ..." (or "FILE:LINE:COL: error: ..."); the row says refused.
    return lines[0].strip().removeprefix("error: ") if lines else None


def point_row(record: dict, grid: Grid) -> dict:
    """One flat row: the point as requested (target, the grid's knobs, T), its status and its
    figures. Figures of the compiled network that a knob also names carry `_used` (the compiler's
    choice for S "auto", the compiled width n·d <= D)."""
    cfg = record["config"]
    target = cfg["target"]
    row: dict[str, Any] = {"target": next(iter(target.values())), "key": record["key"]}
    row.update({k: ("auto" if v is None else v) for k, v in cfg["knobs"].items()})
    row["T"] = cfg["T"]
    row["status"] = record["status"]
    result = record.get("result") or {}
    if cfg["job"] == "compile+verify" and record["status"] == "ok":
        rep = result["report"]
        row["T"] = rep["T"]
        row.update(D_used=rep["D"], S_used=rep["S"], construction_used=rep["construction"],
                   allocation_used=rep["allocation"], L=rep["L"], d=rep["d"], n=rep["n"],
                   compression=rep["compression"], parameters=rep["parameters"], guaranteed=rep["guaranteed"])
        for prefix, run in (("", result["random"]), ("adversarial_", result["adversarial"])):
            for k in ("bit_accuracy", "instance_accuracy", "real_rms_error", "real_max_error"):
                row[prefix + k] = run[k] if run else None
        row["passed"] = passed(record, grid.verify)
    elif cfg["job"] == "budget" and record["status"] == "ok":
        fig = result["figures"]
        row["T"] = fig["T"]
        row.update(verdict=result["verdict"], guaranteed=result["guaranteed"], D_used=fig["D"], S_used=fig["S"],
                   construction_used=fig["construction"], allocation_used=fig["allocation"], L=fig["L"], d=fig["d"],
                   n=fig["n"], capacity=fig["capacity"], fill=fig["fill"], compression=fig["compression"],
                   load_figure=fig["load_figure"], instances_wrong=(result["risk"] or {}).get("instances_wrong"))
    row["seconds"] = (record.get("timing") or {}).get("seconds")
    row["error"] = _first_line(record.get("error"))
    return row


# ============================================================================================
# Markdown


def _cell(key: str, v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        if key.endswith("accuracy"):
            # rounded down, so that only an exact 1 reads as 1
            return "1" if v == 1 else f"{math.floor(v * 1e6) / 1e6:.6f}"
        if key == "seconds":
            return f"{v:.2f}"
        return f"{v:.4g}"
    return str(v).replace("|", "\\|")


_HEADERS = {"bit_accuracy": "bit acc.", "instance_accuracy": "instance acc.",
            "adversarial_bit_accuracy": "adv. bit acc.", "real_max_error": "max error",
            "adversarial_real_max_error": "adv. max error", "D_used": "D (net)", "S_used": "S (net)",
            "construction_used": "construction (net)", "allocation_used": "allocation (net)",
            "frontier_T": "frontier T", "T_max": "T max", "limited_by": "limited by",
            "instances_wrong": "wrong (est.)", "load_figure": "load"}


def markdown(rows: list[dict], columns: Iterable[str], notes: Iterable[str] = ()) -> str:
    """A markdown table of `columns` of `rows` (a column no row has is left out), then notes."""
    columns = [c for c in columns if any(r.get(c) is not None for r in rows)]
    out = ["| " + " | ".join(_HEADERS.get(c, c) for c in columns) + " |", "|" + "---|" * len(columns)]
    out += ["| " + " | ".join(_cell(c, r.get(c)) for c in columns) + " |" for r in rows]
    notes = list(notes)
    return "\n".join(out) + "\n" + ("\n" + "\n".join(notes) + "\n" if notes else "")


def table_columns(grid: Grid, frontier: bool) -> list[str]:
    """The markdown columns: the target when there are several, the knobs that vary, then the
    job's figures."""
    lead = (["target"] if len(grid.targets) != 1 else []) + [k for k in grid.varying() if k != "T"]
    if frontier:
        return lead + ["T_max", "frontier_T", "compression", "D_used", "S_used", "construction_used", "bit_accuracy",
                       "adversarial_bit_accuracy", "probes", "limited_by", "status"]
    if grid.job == "budget":
        return lead + ["T", "status", "verdict", "D_used", "S_used", "construction_used", "capacity", "fill",
                       "compression", "load_figure", "instances_wrong", "seconds"]
    return lead + ["T", "status", "D_used", "S_used", "construction_used", "compression", "bit_accuracy",
                   "adversarial_bit_accuracy", "instance_accuracy", "real_max_error", "passed", "seconds"]
