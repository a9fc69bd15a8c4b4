"""A circuit over a feature set → one deep ReLU network, compiled level by level (math.md §2).

    circuit ─levels_of→ Levels ─gate layers, error-correction layers→ stages ─compose→ torch

**Gate layers.** Network layer ℓ computes the wires of level ℓ from those of level ℓ − 1. It holds
one U-AND population per monomial order j the level's gates need (j = 1 for single wires, 2 for
pairs, up to the fan-in k): d_j neurons, neuron i reading a seeded random subset of the wires
(each with probability p; q for j = 1) with bias −(j − 1). A gate is read off linearly through its
Möbius expansion, Σ_T c_T·r_T (math.md §2.2).

**Unbiased read-offs** (our own; the papers average the neurons wired to all of T). A monomial T
is read off as the finite difference over T of the mean activation of the neuron groups
N(U, T∖U) = "wired to every wire of U and to none of T∖U":

    r_T = Σ_{U⊆T} (−1)^{|T∖U|} · mean_{N(U, T∖U)} a.

A wire of T that is off does not move the neurons that read it, so its difference is exactly 0
in expectation: the read-off of a monomial that is not all on is unbiased, where the plain mean
is biased by (s − 1)·p (one of a pair on) and C(s, 2)·p² (none on). When all of T is on it reads
P(no other on wire reaches the neuron) ≈ 1 − (s − k)·p. In a linear regime the difference also
cancels the noise of the wires of T themselves, so pair read-offs do not pass input errors on.

Read-offs are divided by that value at the level's on-count (`all_on_value`), so an all-on
monomial reads 1 in the worst case instead of 1 − (s − 2)·p: an XOR of two on wires would
otherwise read 2·(s − 2)·p, 0.4 at s = 3, p = 0.2, close to the threshold ½.

**Stored polarity, composition.** Every wire is stored as the value that is 0 when no feature is
on (feature_levels.py), so every level is as sparse as the features. Layer ℓ's read-in W_ℓ
applies to the wire estimates x̂_{ℓ−1} = R_{ℓ−1}·a_{ℓ−1} + c_{ℓ−1}; the torch model composes them,
one Linear per layer: W_ℓ·R_{ℓ−1}, bias W_ℓ·c_{ℓ−1} + b_ℓ (`FeatureNetwork.model`).

**Error-correction layers** (correct.py) go between gate levels by policy: `none`, `every:K`, or
`auto` (the default), which inserts one wherever the width model predicts that the next level's
error would reach the margin (z·σ ≥ ½, z from the target error rate).

**Inputs in superposition.** With `embed = d0` the network reads x = Φ·f ∈ R^{d0}, and level 0
is read off as Φᵀ·x (math.md §2.3): each feature with interference of variance about s/d0.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from functools import cached_property

import numpy as np
import torch
from torch import nn

from ..errors import CircuitError, Diagnostic
from ..spec import BoolCircuit, FeatureSet, Spec
from .correct import KINDS, step_layer, subsets_layer, subsets_variance
from .levels import Levels, levels_of
from .readoffs import READOFFS, all_on_value, gate_readoffs
from .uand import feature_embedding

__all__ = ["FeatureConfig", "Stage", "FeatureNetwork", "compile_features", "parse_policy", "feature_circuit"]

# Composed torch weights above this many bytes are refused (the factored stages still run).
MAX_COMPOSED_BYTES = 2 << 30
# Building the stages (float64 wiring and read-offs) above this many bytes is refused up front.
MAX_BUILD_BYTES = 8 << 30
# A monomial's rarest neuron group should hold this many neurons on average.
MIN_GROUP = 8


@dataclass(frozen=True)
class FeatureConfig:
    k: int = 2                  # the most wires one gate reads (wider AND/OR/XOR are split)
    p: float = 0.2              # wiring density of the AND populations (orders >= 2)
    q: float = 0.2              # wiring density of the single-wire population
    width: int | None = None    # neurons per gate layer; None: the width model's choice
    target: float = 1e-5        # error rate per wire each gate layer is sized for
    ec: str = "auto"            # error-correction policy: "auto", "none" or "every:K"
    ec_kind: str = "step"       # "step" (2 ReLUs per wire) or "subsets" (math.md §2.4)
    ec_width: int | None = None  # subsets kind: its neurons; None: from the width model
    gain: float = 4.0           # slope of the clean steps
    seed: int = 0
    # How a monomial is read off: "difference" (unbiased, module docstring) or "mean" (the
    # papers' mean of the neurons wired to all of it; biased, kept to measure against).
    readoff: str = "difference"
    calibrate: bool = True      # divide read-offs by their all-on value (`all_on_value`)

    @property
    def quantile(self) -> float:
        """The margin ½ in standard deviations that makes a Gaussian error exceed it at `target`."""
        return _normal_quantile(1 - self.target / 2)

    @property
    def sigma(self) -> float:
        """The read-off error (standard deviation) each gate layer is sized for."""
        return 0.5 / self.quantile


def _normal_quantile(p: float) -> float:
    return float(torch.special.ndtri(torch.tensor(p, dtype=torch.float64)))


def error_rate(sigma: float) -> float:
    """The chance that a Gaussian read-off error of std σ crosses the threshold ½ (either way)."""
    return math.erfc(0.5 / (sigma * math.sqrt(2))) if sigma > 0 else 0.0


def parse_policy(text: str) -> int | None:
    """`none` → 0, `auto` → None, `every:K` → K; anything else is a CircuitError."""
    if text == "auto":
        return None
    if text == "none":
        return 0
    if text.startswith("every:") and text[6:].isdigit() and int(text[6:]) >= 1:
        return int(text[6:])
    raise CircuitError(Diagnostic(f"unknown error-correction policy `{text}`",
                                  hint="use `auto`, `none` or `every:K` (K >= 1: after every K-th level)"))


# A gate of fan-in k is a truth table of 2**k rows: 16 keeps every table small.
MAX_FAN_IN = 16


def check_config(config: FeatureConfig) -> None:
    """Every knob of a feature-network config in its range (CircuitError listing all that are not)."""
    problems = []
    if not 2 <= config.k <= MAX_FAN_IN:
        problems.append(f"the fan-in k must be between 2 and {MAX_FAN_IN}, got {config.k}")
    for name in ("p", "q"):
        v = getattr(config, name)
        if not 0 < v < 1:
            problems.append(f"the wiring density {name} must lie in (0, 1), got {v:g}")
    if not 0 < config.target < 1:
        problems.append(f"the target error rate must lie in (0, 1), got {config.target:g}")
    if config.width is not None and config.width < 2:
        problems.append(f"the gate-layer width must be 2 or more, got {config.width}")
    if config.readoff not in READOFFS:
        problems.append(f"unknown read-off `{config.readoff}` (use {' or '.join(READOFFS)})")
    if config.ec_kind not in KINDS:
        problems.append(f"unknown error-correction kind `{config.ec_kind}` (use {' or '.join(KINDS)})")
    if not config.gain > 2:
        problems.append(f"the clean-step slope must be above 2, got {config.gain:g}")
    if problems:
        raise CircuitError([Diagnostic(p) for p in problems])
    parse_policy(config.ec)


def _f32(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.float32)


@dataclass(frozen=True, eq=False)
class Stage:
    """One ReLU layer: a = ReLU(read_in·x̂ + bias) over the wire estimates x̂ of the level before,
    then x̂' = read_off·a (+ offset) for the wires of `level`."""

    kind: str                   # "gate" or "correct"
    level: int                  # the level whose wires it outputs
    read_in: np.ndarray         # (h, m_in) float32 (computed in float64, stored as saved)
    bias: np.ndarray            # (h,) float32
    read_off: np.ndarray        # (m_out, h) float32
    orders: tuple[tuple[int, int], ...] = ()   # gate layers: (order j, neurons d_j) per population
    predicted: float = 0.0      # the width model's read-off error (std) after this layer

    @property
    def width(self) -> int:
        return int(self.read_in.shape[0])


@dataclass(frozen=True, eq=False)
class FeatureNetwork:
    """A compiled feature circuit: the factored stages, the levels they compute, and the inputs."""

    levels: Levels
    features: FeatureSet
    config: FeatureConfig
    stages: tuple[Stage, ...]
    embedding: np.ndarray | None          # (d0, m) for features in superposition
    on_counts: tuple[int, ...]            # the width model's on-count per level
    input_sigma: float                    # level-0 read-off error (0 for basis inputs)
    source_hash: str = ""
    circuit: BoolCircuit | None = None    # the circuit compiled (verify checks against it)
    _cache: dict = field(default_factory=dict, repr=False)

    # ------------------------------------------------------------------ shape
    @property
    def m(self) -> int:
        return self.features.m

    @property
    def s(self) -> int:
        return self.features.s

    @property
    def input_width(self) -> int:
        return self.m if self.embedding is None else int(self.embedding.shape[0])

    @property
    def L(self) -> int:
        return len(self.stages)

    @property
    def widths(self) -> list[int]:
        return [st.width for st in self.stages]

    @property
    def corrections(self) -> list[int]:
        """The levels an error-correction layer cleans (0: the inputs)."""
        return [st.level for st in self.stages if st.kind == "correct"]

    # ------------------------------------------------------------------ inputs and outputs
    def check_active(self, active) -> np.ndarray:
        """Rows of on-feature ids (batch, j), -1 padding, checked against the promise."""
        a = np.asarray(active, dtype=np.int64)
        if a.ndim == 1:
            a = a[None, :]
        problems = []
        if a.ndim != 2:
            problems.append(f"on-features come as rows of feature ids, got an array of shape {a.shape}")
        else:
            bad = (a >= self.m) | (a < -1)
            if bad.any():
                problems.append(f"feature id {int(a[bad][0])} is outside 0..{self.m - 1}")
            srt = np.sort(np.where(a < 0, -1, a), axis=1)
            dup = (srt[:, 1:] == srt[:, :-1]) & (srt[:, 1:] >= 0)
            if dup.any():
                row = int(np.nonzero(dup.any(axis=1))[0][0])
                problems.append(f"row {row} names a feature twice")
            on = (a >= 0).sum(axis=1) if a.size else np.zeros(len(a), dtype=np.int64)
            if (on > self.s).any():
                row = int(np.argmax(on > self.s))
                problems.append(f"row {row} has {int(on[row])} features on, but `{self.features.name}` promises at "
                                f"most {self.s} (active = {self.s})")
        if problems:
            raise CircuitError([Diagnostic(p, hint="keep at most `active` features on per row, or raise `active` "
                                                   "in the feature set and compile again") for p in problems])
        return a

    def feature_rows(self, active) -> np.ndarray:
        """0/1 feature rows (batch, m) float32 for rows of on-feature ids."""
        a = self.check_active(active)
        f = np.zeros((len(a), self.m), dtype=np.float32)
        rows, slots = np.nonzero(a >= 0)
        f[rows, a[rows, slots]] = 1.0
        return f

    def encode(self, active) -> torch.Tensor:
        """The network's inputs for rows of on-features: the 0/1 features, or Φ·f in superposition."""
        f = self.feature_rows(active)
        x = f if self.embedding is None else f @ self.embedding.T
        return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))

    def decode(self, y: torch.Tensor | np.ndarray) -> np.ndarray:
        """Output bits (batch, n_out) uint8 from the model's outputs (thresholded at ½)."""
        y = y.detach().cpu().numpy() if isinstance(y, torch.Tensor) else np.asarray(y)
        return (y > 0.5).astype(np.uint8)

    def run(self, active) -> np.ndarray:
        """Output bits for rows of on-features, through the factored stages."""
        return self.decode(self.output_values(self.forward(self.encode(active))[-1]))

    # ------------------------------------------------------------------ computing
    def _tensors(self, device) -> list[tuple[torch.Tensor, ...]]:
        key = ("tensors", str(device))
        if key not in self._cache:
            self._cache[key] = [tuple(torch.as_tensor(a, dtype=torch.float32, device=device)
                                      for a in (st.read_in, st.bias, st.read_off)) for st in self.stages]
        return self._cache[key]

    def level0(self, x: torch.Tensor) -> torch.Tensor:
        """The level-0 wire estimates: the features, or Φᵀ·x in superposition."""
        if self.embedding is None:
            return x
        return x @ torch.as_tensor(self.embedding, device=x.device)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The wire estimates after every stage, for network inputs x (from `encode`)."""
        wires = self.level0(x)
        out = []
        for read_in, bias, read_off in self._tensors(x.device):
            wires = torch.relu(wires @ read_in.T + bias) @ read_off.T
            out.append(wires)
        return out

    def output_values(self, last: torch.Tensor) -> torch.Tensor:
        """The outputs (batch, n_out) as reals from the last level's wire estimates."""
        sign, offset = self._output_map(last.device)
        return last[:, torch.as_tensor(self._out_index, device=last.device)] * sign + offset

    @cached_property
    def _out_index(self) -> np.ndarray:
        return np.maximum(self.levels.out_wire, 0)

    def _output_map(self, device) -> tuple[torch.Tensor, torch.Tensor]:
        """y = sign·x̂_L[wire] + offset: negated outputs flip, constants are pure offsets."""
        lv = self.levels
        real = lv.out_wire >= 0
        sign = np.where(real, np.where(lv.out_negate, -1.0, 1.0), 0.0)
        offset = np.where(real, lv.out_negate.astype(np.float64), lv.out_const.astype(np.float64))
        return (torch.as_tensor(sign, dtype=torch.float32, device=device),
                torch.as_tensor(offset, dtype=torch.float32, device=device))

    def composed_bytes(self) -> int:
        """Bytes of the composed float32 weights `model` would hold."""
        sizes = [self.input_width] + self.widths + [len(self.levels.output_bits)]
        return 4 * sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))

    def model(self) -> nn.Sequential:
        """The network as one torch module: Linear + ReLU per layer (read-offs composed into the
        next read-in), then the output Linear. Refused, with the numbers, beyond 2 GiB."""
        need = self.composed_bytes()
        if need > MAX_COMPOSED_BYTES:
            raise CircuitError(Diagnostic(
                f"the composed model would hold {need / 2**30:.1f} GiB of float32 weights "
                f"(limit {MAX_COMPOSED_BYTES / 2**30:.0f} GiB)",
                hint="run it factored with `FeatureNetwork.forward`, or compile with error-correction layers "
                     "between the gate layers (`--ec auto`), which keeps the composed matrices thin"))
        if "model" not in self._cache:
            self._cache["model"] = self._compose()
        return self._cache["model"]

    def _compose(self) -> nn.Sequential:
        # float64 products, cast once: the same stages always give the same bytes
        prev_off = np.eye(self.m) if self.embedding is None else self.embedding.T.astype(np.float64)
        layers: list[nn.Module] = []
        for st in self.stages:
            layers += [_linear(st.read_in.astype(np.float64) @ prev_off, st.bias), nn.ReLU()]
            prev_off = st.read_off.astype(np.float64)
        sign, offset = (t.numpy().astype(np.float64) for t in self._output_map("cpu"))
        layers.append(_linear(sign[:, None] * prev_off[self._out_index], offset))
        return nn.Sequential(*layers)

    # ------------------------------------------------------------------ reporting
    def report(self) -> dict:
        lv = self.levels
        gates = [int((~l.carry).sum()) for l in lv.levels]
        return {
            "circuit": lv.circuit, "features": self.features.name, "m": self.m, "s": self.s,
            "embed": self.features.d0, "depth": lv.depth, "k": lv.k, "layers": self.L,
            "gates": sum(gates), "carries": int(sum(l.carry.sum() for l in lv.levels)),
            "widths": self.widths, "corrections": self.corrections,
            "parameters": sum(int(st.read_in.size + st.bias.size + st.read_off.size) for st in self.stages),
            "config": asdict(self.config),
            "sigma_design": self.config.sigma, "input_sigma": self.input_sigma,
            "stages": [{"kind": st.kind, "level": st.level, "width": st.width, "wires": int(st.read_off.shape[0]),
                        "orders": [list(o) for o in st.orders], "predicted_sigma": st.predicted,
                        "on_count_read": self.on_counts[st.level - 1 if st.kind == "gate" else st.level]}
                       for st in self.stages],
        }


def _linear(weight: np.ndarray, bias: np.ndarray) -> nn.Linear:
    lin = nn.Linear(weight.shape[1], weight.shape[0])
    with torch.no_grad():
        lin.weight.copy_(torch.from_numpy(np.ascontiguousarray(weight, dtype=np.float32)))
        lin.bias.copy_(torch.from_numpy(np.ascontiguousarray(bias, dtype=np.float32)))
    return lin


# ====================================================================== the width model

def order_variance(j: int, s: int, density: float) -> float:
    """a_j: the read-off variance of one order-j monomial is about a_j / d_j (d_j neurons).

    The worst case is a monomial with all but one wire on: its neurons then add up the other on
    wires they read, X ~ Bin(s − j + 1, p), averaged over the p^j·d neurons wired to all of it.
    For j = 1 the single wire's own neurons do the same with s on wires."""
    if j == 1:
        return max(s, 1) / (1 - density)
    return max(s - j + 1, 1) * (1 - density) / density ** (j - 1) + 1.0


def _weights_per_order(terms: np.ndarray, k: int) -> dict[int, float]:
    """w_j: the largest Σ c_T² over the level's gates, per order j."""
    sizes = np.array([bin(j).count("1") for j in range(terms.shape[1])])
    sq = terms.astype(np.float64) ** 2
    return {j: float(sq[:, sizes == j].sum(axis=1).max()) for j in range(1, k + 1) if (sq[:, sizes == j] > 0).any()}


def _split_width(w: dict[int, float], a: dict[int, float], sigma: float, total: int | None,
                 minimum: dict[int, int]) -> dict[int, int]:
    """Neurons per order: minimise Σ d_j subject to Σ w_j·a_j/d_j <= σ² (d_j ∝ √(w_j·a_j)),
    or split a given total in the same proportions."""
    root = {j: math.sqrt(w[j] * a[j]) for j in w}
    scale = sum(root.values())
    if total is None:
        d = {j: math.ceil(root[j] * scale / sigma ** 2) for j in w}
    else:
        d = {j: max(1, int(total * root[j] / scale)) for j in w}
        d[max(d)] += total - sum(d.values())
    return {j: max(d[j], minimum[j]) if total is None else d[j] for j in d}


def predicted_variance(w: dict[int, float], a: dict[int, float], d: dict[int, int]) -> float:
    return sum(w[j] * a[j] / d[j] for j in w)


def propagated_variance(w: dict[int, float], d: dict[int, int], m_in: int, sigma_in: float) -> float:
    """The part of a gate read-off's variance carried from its inputs' errors (variance σ_in²).

    A single-wire read-off passes its wire's error on, plus the other wires' errors averaged over
    its neurons (m_in·σ_in²/d_1). An order-j read-off cancels its own wires' errors where its
    neurons are linear (the finite difference), so only the singles carry errors forward here;
    the rectified noise of neurons at the kink is left out (measured: docs/features.md)."""
    if 1 not in w:
        return 0.0
    return w[1] * sigma_in ** 2 * (1 + m_in / d[1])


def residual_after_step(sigma: float, gain: float) -> float:
    """The error (std) left by a clean step of slope `gain` after a Gaussian error of std σ:
    nothing inside the margin, the step's own slope beyond it (an error past ½ + 1/(2G) is a
    flipped bit)."""
    if sigma == 0.0:
        return 0.0
    e = np.linspace(-8 * sigma, 8 * sigma, 4001)
    density = np.exp(-0.5 * (e / sigma) ** 2)
    density /= density.sum()
    # a wire at 0 with error e comes out as clip(G·(e − ½) + ½, 0, 1): its error
    left = np.clip(gain * (np.abs(e) - 0.5) + 0.5, 0.0, 1.0)
    return float(math.sqrt((density * left ** 2).sum()))


# ====================================================================== building

@dataclass(frozen=True)
class _Layout:
    """A gate layer's populations and its predicted read-off variance."""

    w: dict          # order j → the largest Σ c_T² over the level's gates
    density: dict    # order j → wiring density
    d: dict          # order j → neurons
    fresh: float     # variance from the layer itself (exact inputs)
    carried: float   # variance carried from its inputs' errors


def _layout(level_index: int, levels: Levels, config: FeatureConfig, on_in: int, sigma_in: float) -> _Layout:
    terms = levels.levels[level_index - 1].terms
    w = _weights_per_order(terms, levels.k)
    density = {j: (config.q if j == 1 else config.p) for j in w}
    # the calibration (all_on_value) scales each read-off, and its variance with it
    a = {j: order_variance(j, on_in, density[j]) / (all_on_value(j, on_in, density[j]) ** 2 if config.calibrate else 1)
         for j in w}
    minimum = {j: math.ceil(MIN_GROUP / density[j] ** j) for j in w}
    d = _split_width(w, a, config.sigma, config.width, minimum)
    carried = propagated_variance(w, d, levels.widths[level_index - 1], sigma_in)
    return _Layout(w, density, d, predicted_variance(w, a, d), carried)


def _check_width(level_index: int, levels: Levels, config: FeatureConfig, on_in: int, lay: _Layout) -> None:
    """A given width too small for the target error is refused, with the width the model needs."""
    if config.width is None or lay.fresh <= config.sigma ** 2 * 1.0001:
        return
    need = sum(_layout(level_index, levels, replace(config, width=None), on_in, 0.0).d.values())
    sigma = math.sqrt(lay.fresh)
    rate = error_rate(sigma)
    raise CircuitError(Diagnostic(
        f"level {level_index}: a gate layer of {config.width} neurons reads off with error σ = {sigma:.3g}, "
        f"about {rate:.2g} wrong per wire, above the target {config.target:g} (σ = {config.sigma:.3g}); "
        f"the width model needs {need} neurons",
        hint=f"raise `--width` to {need} or more, leave it out, or raise `--target`"))


def _gate_stage(level_index: int, levels: Levels, config: FeatureConfig, on_in: int, sigma_in: float) -> Stage:
    lv = levels.levels[level_index - 1]
    lay = _layout(level_index, levels, config, on_in, sigma_in)
    _check_width(level_index, levels, config, on_in, lay)
    terms = lv.terms
    blocks_in, biases, offs = [], [], []
    for j in sorted(lay.w):
        rng = np.random.default_rng(np.random.SeedSequence([config.seed, level_index, j]))
        wiring = rng.random((lay.d[j], levels.widths[level_index - 1])) < lay.density[j]
        blocks_in.append(wiring.astype(np.float64))
        biases.append(np.full(lay.d[j], -(j - 1.0)))
        # calibrated so that an all-on monomial reads 1 at the level's on-count
        scale = all_on_value(j, on_in, lay.density[j]) if config.calibrate else 1.0
        offs.append(gate_readoffs(lv, terms, j, wiring, level_index, scale, config.readoff))
    return Stage("gate", level_index, _f32(np.concatenate(blocks_in)), _f32(np.concatenate(biases)),
                 _f32(np.concatenate(offs, axis=1)), tuple((j, lay.d[j]) for j in sorted(lay.w)),
                 math.sqrt(lay.fresh + lay.carried))


def _correct_stage(level: int, m: int, on: int, config: FeatureConfig, sigma_in: float) -> Stage:
    if config.ec_kind == "step":
        read_in, bias, read_off = step_layer(m, config.gain)
        return Stage("correct", level, _f32(read_in), _f32(bias), _f32(read_off), (),
                     residual_after_step(sigma_in, config.gain))
    q = min(0.05, 4.0 / m)
    d = config.ec_width or max(64, math.ceil(4 * subsets_variance(on, 1, q) / config.sigma ** 2))
    rng = np.random.default_rng(np.random.SeedSequence([config.seed, level, 99]))
    try:
        read_in, bias, read_off = subsets_layer(m, d, q, config.gain, rng)
    except ValueError as e:
        raise CircuitError(Diagnostic(f"level {level}: {e}", hint="set `--ec-width` larger")) from None
    return Stage("correct", level, _f32(read_in), _f32(bias), _f32(read_off), ((1, d),),
                 math.sqrt(subsets_variance(on, d, q)))


def compile_features(levels: Levels, features: FeatureSet, config: FeatureConfig = FeatureConfig(),
                     source_hash: str = "", circuit: BoolCircuit | None = None) -> FeatureNetwork:
    """Build the network for `levels` (from `levels_of(circuit, ...)`) over `features`."""
    check_config(config)
    every = parse_policy(config.ec)
    on = tuple(levels.on_counts(features.s))
    _check_size(levels, features, config, on)
    embedding = None
    sigma = 0.0
    if features.d0 is not None:
        embedding = feature_embedding(features.m, features.d0,
                                      np.random.SeedSequence([features.seed, features.m, features.d0, 1]))
        sigma = math.sqrt(features.s / features.d0)     # ⟨φ_a, Σ_on φ_b⟩ over s random unit vectors
    input_sigma = sigma
    stages: list[Stage] = []
    for level in range(1, levels.depth + 1):
        if _correct_here(level - 1, every, config, levels, on, sigma):
            st = _correct_stage(level - 1, levels.widths[level - 1], on[level - 1], config, sigma)
            stages.append(st)
            sigma = st.predicted
        st = _gate_stage(level, levels, config, on[level - 1], sigma)
        stages.append(st)
        sigma = st.predicted
    return FeatureNetwork(levels, features, config, tuple(stages), embedding, on, input_sigma, source_hash, circuit)


def _check_size(levels: Levels, features: FeatureSet, config: FeatureConfig, on: tuple[int, ...]) -> None:
    """Refuse, with the numbers, a network whose stages would not fit in memory while built: the
    gate layers' wiring and read-offs (float64), and a step correction of every level."""
    total, worst = 0, (0, 0, 0)
    for level in range(1, levels.depth + 1):
        lay = _layout(level, levels, config, on[level - 1], 0.0)
        d, m_in, m_out = sum(lay.d.values()), levels.widths[level - 1], levels.widths[level]
        corrected = level > 1 or features.d0 is not None      # a step layer may clean the level before
        size = 8 * (2 * d * m_in + 2 * d * m_out + 4 * m_in * m_in * corrected)
        total += size
        worst = max(worst, (size, level, d))
    if total > MAX_BUILD_BYTES:
        raise CircuitError(Diagnostic(
            f"building this network would take about {total / 2**30:.1f} GiB "
            f"(limit {MAX_BUILD_BYTES / 2**30:.0f} GiB): "
            f"{levels.depth} gate layers over up to {max(levels.widths)} wires; level {worst[1]} alone "
            f"{worst[0] / 2**30:.1f} GiB with {worst[2]} neurons",
            hint="compile fewer features or narrower levels, or raise `--target` (narrower gate layers)"))


def _correct_here(level: int, every: int | None, config: FeatureConfig, levels: Levels,
                  on: tuple[int, ...], sigma: float) -> bool:
    """Whether an error-correction layer cleans `level` before the next gate layer reads it."""
    if sigma == 0.0:
        return False
    if every is not None:
        return every > 0 and level > 0 and level % every == 0
    # auto: where the next level's predicted error, carrying this one's, would reach the margin
    lay = _layout(level + 1, levels, config, on[level], sigma)
    return config.quantile * math.sqrt(lay.fresh + lay.carried) >= 0.5


def feature_circuit(spec: Spec, name: str | None = None) -> tuple[BoolCircuit, FeatureSet]:
    """The circuit over a feature set to compile: `name`, or the only one in the source."""
    over = [c for c in spec.circuits if isinstance(c, BoolCircuit) and c.features is not None]
    if name is not None:
        c = spec.circuit(name)
        if not (isinstance(c, BoolCircuit) and c.features is not None):
            raise CircuitError(Diagnostic(f"circuit `{name}` does not compute over a feature set",
                                          hint="feature circuits are declared `circuit NAME over FEATURES { ... }`"))
        return c, spec.feature_set(c.features)
    if len(over) != 1:
        names = ", ".join(c.name for c in over) or "none"
        raise CircuitError(Diagnostic(f"{spec.source} holds {len(over)} circuits over feature sets; name one",
                                      hint=f"circuits over feature sets: {names} (`--circuit NAME`)"))
    return over[0], spec.feature_set(over[0].features)


def compile_source(spec: Spec, circuit: str | None = None, **overrides) -> FeatureNetwork:
    """Compile the feature circuit of a loaded source with `FeatureConfig` overrides."""
    c, fs = feature_circuit(spec, circuit)
    config = replace(FeatureConfig(), **overrides)
    check_config(config)
    return compile_features(levels_of(c, fs.m, config.k), fs, config, spec.source_hash, c)
