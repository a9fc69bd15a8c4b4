"""A picture of one `circuitc verify` run: is the static budget right about this network?

`verification_figure` draws three panels side by side:

1. active instances, per layer: the measured read-off error (rms over the instance's neurons,
   and over the value pairs boolean circuits read off) as solid lines, the budget's prediction
   of the same figures dashed in the same colours, and math.md §1.5's formula dotted in grey;
2. the same for inactive instances, whose error is the interference a read-off must absorb;
3. the allocation's load: how many instances share each neuron, the quantity every
   interference term grows with.

The point is the comparison: a dashed line far below its solid one is a budget that promises
more than the network delivers, and the load histogram is usually where the reason shows.

matplotlib is optional (`pip install 'circuitc[plot]'`): it is imported only when a figure is
drawn, and `require_matplotlib` turns its absence into a CircuitError with that hint. The figure
is drawn on a `matplotlib.figure.Figure` of its own (no pyplot, no global backend), so drawing
one never opens a window or disturbs a caller's matplotlib state.
"""

from __future__ import annotations

import importlib
import io
import math
from typing import Any, Sequence

import numpy as np

from .errors import CircuitError, Diagnostic
from .instances.embed.shuffle import distinct_layers

__all__ = ["verification_figure", "feature_figure", "neuron_loads", "require_matplotlib", "INSTALL_HINT", "FIGSIZE",
           "DPI"]

INSTALL_HINT = "pip install 'circuitc[plot]'"

FIGSIZE = (15.0, 4.8)   # inches: three panels in a row, wide enough for a legend in each
DPI = 100

# Measured figures are solid with markers, the budget's dashed, math.md's dotted grey.
_SERIES = (("rms", "per-neuron rms", "C0", "o"), ("pair_rms", "pair rms", "C1", "s"))
_PAPER_COLOUR = "0.45"


def require_matplotlib() -> None:
    """Raise a CircuitError with the install hint unless matplotlib can be imported."""
    try:
        importlib.import_module("matplotlib.figure")
    except ImportError:
        raise CircuitError(Diagnostic("--plot needs matplotlib, which is not installed",
                                      hint=f"install it with: {INSTALL_HINT}")) from None


def neuron_loads(supports: np.ndarray, n: int) -> np.ndarray:
    """How many instances use each neuron, per layer: an int array (layers, n).

    `supports` is (layers, T, S) (or (T, S) for one layer) of neuron indices in [0, n). When every
    layer has the same supports (no reshuffling, the default) a single row stands for them all,
    so the histogram counts each neuron once rather than L + 1 times.
    """
    supports = np.asarray(supports)
    if supports.ndim == 2:
        supports = supports[None]
    return np.stack([np.bincount(supports[l].ravel(), minlength=n) for l in distinct_layers(supports)])


def _series(rows: Sequence[dict], key: str) -> tuple[np.ndarray, np.ndarray]:
    """(layers, values) of one figure; a missing or None value (the model does not apply, or
    nothing was measured) becomes NaN, which matplotlib leaves as a gap in the line."""
    layers = np.array([r["layer"] for r in rows], dtype=float)
    values = np.array([np.nan if r.get(key) is None else float(r[key]) for r in rows], dtype=float)
    return layers, values


_NOISE = 1e-6   # float32 round-off of an exact computation lands around 1e-8 to 1e-7


def _linthresh(values: list[np.ndarray]) -> float:
    """Where the symlog axis turns linear: the decade of the smallest value above float noise,
    kept within [1e-4, 0.1]. Errors are often exactly 0, which a log axis cannot show; noise
    would stretch the axis over empty decades; anything below 1e-4 is far under every read-off
    tolerance and may as well sit near 0."""
    finite = np.concatenate([v[np.isfinite(v)] for v in values]) if values else np.zeros(0)
    positive = finite[finite > _NOISE]
    if positive.size == 0:
        return 1e-3
    return float(min(max(10.0 ** math.floor(math.log10(positive.min())), 1e-4), 0.1))


def _error_panel(ax, which: str, measured: Sequence[dict], predicted: Sequence[dict]) -> None:
    from matplotlib.ticker import MaxNLocator

    drawn: list[np.ndarray] = []
    for suffix, name, colour, marker in _SERIES:
        key = f"{which}_{suffix}"
        if measured:
            x, y = _series(measured, key)
            if np.isfinite(y).any():
                # Wide and translucent, so the dashed prediction drawn over it stays visible
                # where the two agree.
                ax.plot(x, y, "-", color=colour, marker=marker, markersize=6, linewidth=2.5, alpha=0.55,
                        label=f"measured {name}")
                drawn.append(y)
        x, y = _series(predicted, key)
        if np.isfinite(y).any():
            ax.plot(x, y, "--", color=colour, linewidth=1.5, zorder=3, label=f"predicted {name}")
            drawn.append(y)
    x, y = _series(predicted, f"paper_{which}_rms")
    if np.isfinite(y).any():
        ax.plot(x, y, ":", color=_PAPER_COLOUR, linewidth=2, label="math.md §1.5")
        drawn.append(y)
    threshold = _linthresh(drawn)
    ax.set_yscale("symlog", linthresh=threshold, linscale=0.5)
    # At least a decade above the linear part, so the axis always shows a labelled log tick.
    ax.set_ylim(0, max(ax.get_ylim()[1], 10 * threshold))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("layer")
    ax.set_ylabel(f"read-off error (linear below {threshold:g})")
    ax.set_title(f"{which} instances")
    ax.grid(True, which="major", alpha=0.3)
    if not measured:
        # Say so rather than let an absent solid line read as a zero error.
        ax.text(0.5, 0.97, "not measured: predictions only", transform=ax.transAxes, ha="center", va="top",
                fontsize=9, color="0.3")
    if drawn:
        ax.legend(fontsize=8, loc="best", framealpha=0.85)


def _clean_panel(ax, routing: dict) -> None:
    """Routed networks: active instances by clean positions, beside the code's least, c0."""
    from matplotlib.ticker import MaxNLocator

    counts = np.asarray(routing["clean_positions"])
    ax.bar(np.arange(len(counts)), counts, width=0.85, color="C0", alpha=0.8)
    ax.axvline(routing["c0"] - 0.5, color="C3", linestyle="--", label=f"c0 = {routing['c0']}: the code's least")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlim(-0.6, len(counts) - 0.4)
    ax.set_xlabel("clean positions (shared with no other active instance)")
    ax.set_ylabel("active instances")
    ax.set_title("routed: how the rows met the code")
    ax.legend(fontsize=8, loc="best", framealpha=0.85)
    ax.grid(True, axis="y", alpha=0.3)


def _load_panel(ax, loads: np.ndarray, allocation: dict | None) -> None:
    from matplotlib.ticker import MaxNLocator

    loads = np.asarray(loads, dtype=np.int64)
    rows = 1 if loads.ndim == 1 else loads.shape[0]
    flat = loads.ravel()
    if flat.size:
        counts = np.bincount(flat)
        ax.bar(np.arange(len(counts)), counts, width=0.85, color="C2", alpha=0.8)
        mean = float(flat.mean())
        ax.axvline(mean, color="C3", linestyle="--", label=f"mean {mean:.3g}")
        ax.legend(fontsize=8, loc="best", framealpha=0.85)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("instances per neuron")
    ax.set_ylabel("neurons" if rows == 1 else f"neurons × {rows} layers (supports differ per layer)")
    title = "allocation load"
    if allocation:
        title += f": {allocation.get('strategy', '?')}, n = {allocation.get('n', '?')}, S = {allocation.get('S', '?')}"
    ax.set_title(title)
    ax.grid(True, axis="y", alpha=0.3)


def verification_figure(record: dict[str, Any], loads: np.ndarray, title: str, *,
                        allocation: dict | None = None) -> bytes:
    """The verification plot as PNG bytes (FIGSIZE at DPI, so a fixed pixel size).

    `record` is `circuitc verify --json`'s record: measured per-layer errors in "layers" (may be
    empty) and the budget's prediction in "budget"["layers"]. `loads` is `neuron_loads(...)`;
    `allocation` (optional) is the allocation's summary, named in the load panel's title.
    """
    require_matplotlib()
    from matplotlib.figure import Figure

    measured = record.get("layers") or []
    predicted = (record.get("budget") or {}).get("layers") or []
    fig = Figure(figsize=FIGSIZE, dpi=DPI, layout="constrained")
    if record.get("routing"):       # routed: no per-layer read-offs; how the rows used the code instead
        clean_ax, load = fig.subplots(1, 2)
        _clean_panel(clean_ax, record["routing"])
    else:
        active, inactive, load = fig.subplots(1, 3)
        _error_panel(active, "active", measured, predicted)
        _error_panel(inactive, "inactive", measured, predicted)
    _load_panel(load, loads, allocation)
    fig.suptitle(title)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()


def feature_figure(record: dict[str, Any], title: str) -> bytes:
    """The verification plot of a feature network (`circuitc verify --json` of one) as PNG bytes:
    accuracy per layer (gate accuracy, on accuracy, rows with the whole level right), and the
    read-off error of wires some of whose inputs are on, measured, beside the width model's σ.
    Error-correction layers are marked on both panels."""
    require_matplotlib()
    from matplotlib.figure import Figure

    layers = record.get("layers") or []
    x = np.arange(1, len(layers) + 1)
    fig = Figure(figsize=(12.0, 4.6), dpi=DPI, layout="constrained")
    acc, err = fig.subplots(1, 2)
    for key, label, colour in (("gate_accuracy", "gate accuracy", "C0"), ("on_accuracy", "on accuracy", "C1"),
                               ("rows_right", "rows with the level right", "C2")):
        acc.plot(x, [np.nan if l[key] is None else l[key] for l in layers], marker="o", ms=3, color=colour, label=label)
    acc.axhline(0.999, color=_PAPER_COLOUR, lw=0.8, ls="--")
    acc.set_title("accuracy per layer")
    err.plot(x, [np.nan if l["rms_touched"] is None else l["rms_touched"] for l in layers], marker="o", ms=3,
             color="C0", label="measured rms, wires with an input on")
    err.plot(x, [l["predicted_sigma"] for l in layers], ls="--", color="C0", label="predicted σ (width model)")
    err.set_yscale("symlog", linthresh=1e-3)
    err.set_title("read-off error per layer")
    for ax in (acc, err):
        for xi, l in zip(x, layers):
            if l["kind"] == "correct":
                ax.axvspan(xi - 0.4, xi + 0.4, color="0.9", zorder=0)
        ax.set_xlabel("layer (shaded: error correction)")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(title)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()
