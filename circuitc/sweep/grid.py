"""Grid files: a TOML file naming a source, its targets, a job and lists of knob values.

    source = "../examples/adders_network.circ"     # relative to the grid file
    networks = ["adders"]                          # or circuits = ["full_adder"]; default: every network
    job = "compile+verify"                         # or "budget", or "frontier"

    [verify]                                       # compile+verify and frontier jobs
    samples = 2048                                 # random promise-keeping rows
    adversarial = 512                              # adversarial rows (0: none)
    seed = 0

    [knobs]                                        # the grid is the cartesian product of these lists
    D = [512, 1024]
    z = [1, 2]
    T = [100, 1000]                                # the network's `use` counts scaled to sum to T

    [frontier]                                     # frontier jobs: the largest T that passes
    T_max = 4096

Everything is checked before anything runs, and every problem is reported at once as a
CircuitError pointing at the grid file's line. The grid is pure data: loading the source, hashing
it and turning combinations into points is the driver's job (driver.py).
"""

from __future__ import annotations

import itertools
import math
import os
import re
import sys
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from ..errors import CircuitError, Diagnostic, Span, did_you_mean
from ..instances.config import SHARED_MEANS, Config
from ..instances.lower.boolean import SCHEDULES
from ..instances.verdicts import DEFAULT_MIN_ACCURACY, DEFAULT_TOLERANCE
from ..spec import ALLOCATIONS, CONSTRUCTIONS

if sys.version_info >= (3, 11):
    import tomllib
else:                                   # the same parser, published separately before Python 3.11
    import tomli as tomllib

__all__ = ["Grid", "Target", "VerifySettings", "FrontierSettings", "JOBS", "KNOBS", "load_grid", "grid_from_dict",
           "located_error"]

JOBS = ("compile+verify", "budget", "frontier")

# Every knob a grid may list: the Config fields a network's compilation takes, and T (instances).
# Kind: "count" (an integer >= 1), "seed" (an integer >= 0), "S" (a count or "auto": the compiler's
# choice), "number", "bool", or a tuple of the allowed names.
KNOBS: dict[str, Any] = {
    "D": "count", "z": "count", "S": "S", "T": "count", "seed": "seed",
    "construction": CONSTRUCTIONS, "allocation": ALLOCATIONS, "schedule": SCHEDULES, "shared_mean": SHARED_MEANS,
    "margin": "number", "gain": "number", "shuffle": "bool", "segregate": "bool", "input_bound": "number",
}
# The knobs are Config's fields (less none a sweep could vary); kept in step with it here, once.
assert set(KNOBS) - {"T"} <= {f.name for f in fields(Config)}

_TOP = ("source", "network", "networks", "circuits", "job", "verify", "knobs", "frontier")
_SECTIONS = ("verify", "knobs", "frontier")


@dataclass(frozen=True)
class Target:
    """What a point compiles: a network declaration of the source, or one circuit of it as a
    network of its own (T instances of it; T defaults to 1)."""

    kind: str       # "network" or "circuit"
    name: str

    def as_dict(self) -> dict:
        return {self.kind: self.name}


@dataclass(frozen=True)
class VerifySettings:
    """How compile+verify points check the network: `samples` random rows (seed `seed`), then
    `adversarial` rows (seed `seed` + 1; 0: none) in batches of `batch`. `min_accuracy` and
    `tolerance` say what passes (they are applied to the stored figures, so they are not part of
    a point's identity)."""

    samples: int = 10_000
    adversarial: int = 0
    seed: int = 0
    batch: int = 1024
    min_accuracy: float = DEFAULT_MIN_ACCURACY
    tolerance: float = DEFAULT_TOLERANCE

    def identity(self) -> dict:
        """The settings that change the figures a point records."""
        return {"samples": self.samples, "adversarial": self.adversarial, "seed": self.seed, "batch": self.batch}


@dataclass(frozen=True)
class FrontierSettings:
    """The frontier search: T doubles from `T0` until a probe fails (or `T_max` passes), then
    bisects between the last pass and the first failure to a relative width of `precision`."""

    T_max: int
    T0: int = 16
    precision: float = 0.1


@dataclass(frozen=True)
class Grid:
    """A parsed grid file. `knobs` keeps the file's order: the product varies the last knob fastest."""

    source: Path
    job: str
    targets: tuple[Target, ...]         # empty: every network the source declares
    knobs: tuple[tuple[str, tuple], ...]
    verify: VerifySettings = VerifySettings()
    frontier: FrontierSettings | None = None
    path: Path | None = field(default=None, compare=False)
    text: str | None = field(default=None, compare=False, repr=False)     # to point at lines in errors

    @property
    def name(self) -> str:
        return self.path.stem if self.path else "grid"

    def combinations(self) -> list[dict[str, Any]]:
        """Every combination of knob values, as {knob: value} in the file's order (S "auto" is None)."""
        names = [k for k, _ in self.knobs]
        return [dict(zip(names, values)) for values in itertools.product(*(v for _, v in self.knobs))]

    def varying(self) -> list[str]:
        """The knobs given more than one value."""
        return [k for k, v in self.knobs if len(v) > 1]


# ============================================================================================
# Reading


def load_grid(path: str | os.PathLike) -> Grid:
    """Read and check a grid file; every problem is a CircuitError pointing into the file."""
    path = Path(path)
    shown = os.fspath(path)
    if path.exists() and not path.is_file() and not path.is_dir():
        # a FIFO or a device would block the read or never end
        raise CircuitError(Diagnostic(f"{shown} is not a regular file; give a grid file (.toml)"))
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CircuitError(Diagnostic(f"grid file {shown} does not exist",
                                      hint="a grid is a TOML file naming a source and lists of knob values "
                                           "(docs/sweeps.md)")) from None
    except IsADirectoryError:
        raise CircuitError(Diagnostic(f"{shown} is a directory; give a grid file (.toml)")) from None
    except (OSError, UnicodeDecodeError) as e:
        reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
        raise CircuitError(Diagnostic(f"cannot read grid file {shown}: {reason}")) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise _syntax_error(e, shown, text) from None
    return grid_from_dict(data, base_dir=path.parent, path=path, text=text)


def _syntax_error(e: Exception, shown: str, text: str) -> CircuitError:
    message = str(e)
    at = re.search(r"\(at line (\d+), column (\d+)\)", message)
    message = re.sub(r"\s*\(at (line \d+, column \d+|end of document)\)", "", message)
    span = line = None
    lines = text.splitlines()
    if at:
        lineno, col = int(at.group(1)), int(at.group(2))
    elif "(at end of document)" in str(e) and lines:        # e.g. a list never closed
        lineno, col = len(lines), len(lines[-1]) + 1
    else:
        lineno = col = 0
    if lineno:
        span = Span(shown, lineno, col)
        line = lines[lineno - 1] if 1 <= lineno <= len(lines) else None
    return CircuitError(Diagnostic(f"the grid file is not valid TOML: {message[:1].lower() + message[1:]}", span,
                                   line, hint="lists are written [1, 2, 3], names in quotes: \"routed\""))


class _Checker:
    """Collects the problems of one grid, each located at its key's line when the text is known."""

    def __init__(self, shown: str, text: str | None):
        self.shown, self.lines = shown, (text or "").splitlines()
        self.problems: list[Diagnostic] = []

    def error(self, message: str, section: str | None = None, key: str | None = None, *,
              expected: str | None = None, hint: str | None = None) -> None:
        span = line = None
        where = self._locate(section, key)
        if where is not None:
            lineno, col, end = where
            span = Span(self.shown, lineno, col, lineno, end)
            line = self.lines[lineno - 1]
        elif self.shown != "<grid>":
            span = None
            message = f"{self.shown}: {message}"
        self.problems.append(Diagnostic(message, span, line, expected, hint))

    def _locate(self, section: str | None, key: str | None) -> tuple[int, int, int] | None:
        """(line, column, end column) of `key = ...` inside `[section]` (None: the top level), or
        of the `[section]` header itself when no key is given."""
        current = None
        for i, raw in enumerate(self.lines, 1):
            header = re.match(r"\s*\[\s*([A-Za-z0-9_+\-\"]+)\s*\]", raw)
            if header:
                current = header.group(1).strip('"')
                if key is None and current == section:
                    return i, header.start(1) + 1, header.end(1) + 1
                continue
            if key is None or current != section:
                continue
            m = re.match(r"(\s*)(\"?)" + re.escape(key) + r"\2\s*=", raw)
            if m:
                col = len(m.group(1)) + 1
                return i, col, col + len(key) + 2 * len(m.group(2))
        return None

    def raise_if_any(self) -> None:
        if self.problems:
            raise CircuitError(self.problems)


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _kind_words(kind: Any) -> str:
    if isinstance(kind, tuple):
        return " or ".join(f'"{k}"' for k in kind)
    return {"count": "integers >= 1", "seed": "integers >= 0", "S": 'integers >= 1 or "auto"',
            "number": "numbers", "bool": "true or false"}[kind]


def _knob_value(kind: Any, v: Any) -> tuple[bool, Any]:
    """(ok, the value as a point holds it)."""
    if kind == "count":
        return _is_int(v) and v >= 1, v
    if kind == "seed":
        return _is_int(v) and v >= 0, v
    if kind == "S":
        if v == "auto":
            return True, None
        return _is_int(v) and v >= 1, v
    if kind == "number":
        ok = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
        return ok, float(v) if ok else v
    if kind == "bool":
        return isinstance(v, bool), v
    return isinstance(v, str) and v in kind, v


def grid_from_dict(data: dict, *, base_dir: str | os.PathLike = ".", path: Path | None = None,
                   text: str | None = None) -> Grid:
    """A grid from its parsed TOML (or an equivalent dict, in Python); relative paths are read
    from `base_dir` (the grid file's folder)."""
    shown = os.fspath(path) if path is not None else "<grid>"
    check = _Checker(shown, text)
    if not isinstance(data, dict):
        raise CircuitError(Diagnostic("a grid is a table of settings (a dict in Python)"))
    for key in data:
        if key not in _TOP:
            check.error(f"unknown setting `{key}`", None, key, expected=", ".join(_TOP),
                        hint=did_you_mean(key, _TOP) or "knob lists go in a [knobs] table")
    for key in _SECTIONS:
        if key in data and not isinstance(data[key], dict):
            check.error(f"`{key}` must be a table", None, key, hint=f"write it as a [{key}] section")

    source = data.get("source")
    if source is None:
        check.error("the grid names no source", hint='add source = "path/to/file.circ" (relative to the grid file)')
    elif not isinstance(source, str) or not source:
        check.error("`source` must be a path in quotes", None, "source", expected='source = "file.circ"')
        source = None

    job = data.get("job", "compile+verify")
    if job not in JOBS:
        check.error(f"unknown job {job!r}", None, "job", expected=", ".join(JOBS),
                    hint=did_you_mean(str(job), JOBS))
        job = "compile+verify"

    targets = _targets(data, check)
    knobs = _knobs(data.get("knobs") if isinstance(data.get("knobs"), dict) else {}, check, job)
    verify = _verify(data.get("verify") if isinstance(data.get("verify"), dict) else {}, check)
    frontier = _frontier(data.get("frontier"), check, job)
    check.raise_if_any()
    return Grid(source=Path(base_dir) / source, job=job, targets=targets, knobs=knobs, verify=verify,
                frontier=frontier, path=path, text=text)


def located_error(grid: Grid, message: str, section: str | None, keys: str | tuple[str, ...], *,
                  expected: str | None = None, hint: str | None = None) -> CircuitError:
    """A problem found after parsing (a name the source lacks), pointing at the first of `keys`
    the grid file has in `section`."""
    check = _Checker(os.fspath(grid.path) if grid.path else "<grid>", grid.text)
    keys = (keys,) if isinstance(keys, str) else keys
    key = next((k for k in keys if check._locate(section, k) is not None), keys[0])
    check.error(message, section, key, expected=expected, hint=hint)
    return CircuitError(check.problems)


def _targets(data: dict, check: _Checker) -> tuple[Target, ...]:
    out: list[Target] = []
    if "network" in data and "networks" in data:
        check.error("give `network` or `networks`, not both", None, "network")
    for key, kind in (("network", "network"), ("networks", "network"), ("circuits", "circuit")):
        if key not in data:
            continue
        value = data[key]
        names = [value] if key == "network" else value
        if not isinstance(names, list) or not names or not all(isinstance(n, str) and n for n in names):
            expected = (f'{key} = "NAME"' if key == "network" else f'{key} = ["NAME", ...] (at least one)')
            check.error(f"`{key}` must name {'a ' + kind if key == 'network' else kind + 's'}", None, key,
                        expected=expected)
            continue
        for name in names:
            target = Target(kind, name)
            if target in out:
                check.error(f"{kind} `{name}` is listed twice", None, key)
            out.append(target)
    return tuple(out)


def _knobs(table: dict, check: _Checker, job: str) -> tuple[tuple[str, tuple], ...]:
    out = []
    for name, values in table.items():
        kind = KNOBS.get(name)
        if kind is None:
            check.error(f"unknown knob `{name}`", "knobs", name, expected=", ".join(KNOBS),
                        hint=did_you_mean(name, KNOBS) or "knobs are the network's compile settings and T")
            continue
        if name == "T" and job == "frontier":
            check.error("a frontier job searches T; it cannot be listed", "knobs", name,
                        hint="remove T from [knobs]; [frontier] T_max bounds the search")
            continue
        listed = values if isinstance(values, list) else [values]
        if not listed:
            check.error(f"knob `{name}` lists no value", "knobs", name, expected=f"{name} = [value, ...]")
            continue
        held = []
        for v in listed:
            ok, value = _knob_value(kind, v)
            if not ok:
                check.error(f"knob `{name}`: {v!r} is not allowed", "knobs", name, expected=_kind_words(kind),
                            hint=did_you_mean(v, kind) if isinstance(kind, tuple) and isinstance(v, str) else None)
                break
            if value in held:
                check.error(f"knob `{name}` lists {v!r} twice", "knobs", name)
                break
            held.append(value)
        else:
            out.append((name, tuple(held)))
    return tuple(out)


def _setting(table: dict, check: _Checker, section: str, key: str, default: Any, kind: str) -> Any:
    if key not in table:
        return default
    v = table[key]
    if kind == "probability":
        ok = isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v <= 1
        expected = "a number between 0 and 1"
    elif kind == "positive":
        ok = isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0 and math.isfinite(v)
        expected = "a number above 0"
    else:
        ok, v = _knob_value(kind, v)
        expected = {"count": "an integer >= 1", "seed": "an integer >= 0"}[kind]
    if not ok:
        check.error(f"[{section}] {key} = {table[key]!r} is not allowed", section, key, expected=expected)
        return default
    return float(v) if kind in ("probability", "positive") else v


def _verify(table: dict, check: _Checker) -> VerifySettings:
    known = ("samples", "adversarial", "seed", "batch", "min_accuracy", "tolerance")
    for key in table:
        if key not in known:
            check.error(f"unknown verify setting `{key}`", "verify", key, expected=", ".join(known),
                        hint=did_you_mean(key, known))
    d = VerifySettings()
    return VerifySettings(
        samples=_setting(table, check, "verify", "samples", d.samples, "count"),
        adversarial=_setting(table, check, "verify", "adversarial", d.adversarial, "seed"),
        seed=_setting(table, check, "verify", "seed", d.seed, "seed"),
        batch=_setting(table, check, "verify", "batch", d.batch, "count"),
        min_accuracy=_setting(table, check, "verify", "min_accuracy", d.min_accuracy, "probability"),
        tolerance=_setting(table, check, "verify", "tolerance", d.tolerance, "positive"))


def _frontier(table: Any, check: _Checker, job: str) -> FrontierSettings | None:
    if job != "frontier":
        if table is not None:
            check.error(f"a [frontier] table is read by frontier jobs only, and this one is {job!r}", "frontier",
                        hint='set job = "frontier", or remove the table')
        return None
    if not isinstance(table, dict) or "T_max" not in table:
        check.error("a frontier job needs [frontier] T_max: the largest T the search may probe",
                    "frontier" if isinstance(table, dict) else None,
                    hint="add a [frontier] table with a line T_max = N")
        return None
    known = ("T_max", "T0", "precision")
    for key in table:
        if key not in known:
            check.error(f"unknown frontier setting `{key}`", "frontier", key, expected=", ".join(known),
                        hint=did_you_mean(key, known))
    d = FrontierSettings(T_max=1)
    return FrontierSettings(T_max=_setting(table, check, "frontier", "T_max", 1, "count"),
                            T0=_setting(table, check, "frontier", "T0", d.T0, "count"),
                            precision=_setting(table, check, "frontier", "precision", d.precision, "positive"))
