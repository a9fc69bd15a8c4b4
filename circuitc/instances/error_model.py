"""Per-layer error terms of a network, predicted from its plan: the lowered circuits and the supports.

What `verify` measures per layer is the read-off error of instances: for an active instance its
read-off minus its exact value, for an inactive one its read-off (which should be 0), per neuron and
per neuron pair (a boolean lowering carries each value as the difference of a pair; that difference
decides correctness). This module predicts those same figures without weights and without running
the network.

**The coherent-copy field (this lowering's regime).** Let t be active alone. Every block (the d
neurons at one index of a layer) then holds a multiple of t's values: at layer 0 block b holds
Λ_b·v⁰ (Λ_b = 1 on t's S blocks, else 0); an instance c reads the mean of its S blocks, so it reads
λ_c·v with λ_c = (its blocks holding t's values)/S; and a block of layer l + 1 receives the sum of
its writers' read-offs, Λ_b = Σ_{c writes b} λ_c, so its neuron at unit i holds ReLU(Λ_b·P_i − β_i),
P_i = W_i·v the pre-activation t's unit i has alone (before its bias −β_i). Where the compiler's
step conditions hold (`guarantee.py`: every unit a clean step of slope G >= 2·S, β within bound,
one circuit type per neuron), each pair difference of a block is exactly θ_b·v_pair with
θ_b = [Λ_b > 0]. So the field (λ_c per instance and layer) is the breadth-first spread of t over
the graph of shared blocks, one hop per layer, and it is computed here exactly: gather θ over each
instance's supports, scatter λ back onto blocks — for every instance when T <= `sources`, else
for `sources` seeded ones. From the field and the circuit's own values (every input of a boolean
circuit when there are few, else `rows` seeded ones) follow, per layer:

- **inactive read-off** (math.md's "embedding overlap" at layer 0, its "propagation" later): an
  inactive c reads λ_c·v per pair and (1/S)·Σ_b ReLU(Λ_b·P_i − β_i) per neuron;
- **saturation excess** of an active instance: its own blocks have Λ >= 1 (its neighbours copy it
  back), so each neuron over-reads while every pair difference stays exact;
- **meetings** (z >= 2): a pair error appears only where the fields of two active instances meet,
  so the fraction of instance pairs whose fields meet by layer l bounds the rows with any pair
  error there (the light cone). What a meeting costs is estimated on sampled pairs (t, u) spread
  together (`_meet`): a field holds a block unless the other is more than R times stronger (R, the
  override ratio, from the circuit's own pre-activations), and t's values follow from both
  fields' values, t's own earlier error included. Neuron-level read-offs add linearly (u's field
  read on t, like an inactive read-off).

Random rows activate k ~ U{1..z} instances, as `verify` draws them; the terms of k fields add
(k·E r² + k(k − 1)·(E r)²: math.md's non-negative cross term). Outside the regime — an MLP circuit
(its units are not steps), types sharing neurons, or steps that do not saturate — the field model
does not hold and the paper's formulas (math.md §1.5) stand in; `Prediction.model` says which.
Those formulas are also reported beside every layer: in this regime they are far off (docs/budget.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .embed.shuffle import distinct_layers
from .guarantee import step_saturates, types_share_neurons
from .lower.small_mlp import SmallMLP, layer_values

ENUMERATE = 8             # boolean circuits with at most this many inputs are evaluated on every input
ROWS = 256                # otherwise on this many seeded random rows (the moments are means over them)
CHUNK = 64                # source instances whose fields are spread at once
MIN_SOURCES, MAX_SOURCES = 64, 256   # source instances spread when T is larger (an estimate) ...
WORK = 3_200_000          # ... chosen so that sources · T · (L + 1) stays near this
TUPLE_CHUNK = 64          # distinct block patterns evaluated at once against every input row
CONTACTS = 1024           # touched instances per (chunk, layer) evaluated; a sample beyond
TOP = 32                  # plus the most strongly touched ones, for the largest read-off
DENSE_BLOCKS_PER_S = 512  # dense incidence products while n <= this·S (BLAS beats scatters there)
DENSE_ENTRIES = 1 << 25   # and the incidence matrices hold at most this many entries (128 MB)
MEETINGS = 384           # pairs of instances spread together, split evenly over chunks and over
                          # the layer at which the two fields first meet
OVERRIDE_ROWS = 1024      # input pairs sampled for the override ratio
MIX_ROWS = 32             # input rows (of t and of u) evaluated per meeting


@dataclass(frozen=True)
class CircuitStats:
    """One circuit type's own values over its input rows, every layer, padded to the network's d, L."""
    values: list[np.ndarray]      # L+1 arrays (rows, d): v^l alone
    pre: list[np.ndarray | None]  # L+1 arrays (rows, d): P^l = W_{l-1}·v^{l-1} (None at layer 0)
    threshold: np.ndarray         # (d,) β_i: every neuron's bias is −β_i
    readout: np.ndarray           # (n_outputs, d)
    weights: np.ndarray           # (L, d, d): the lowered circuit's own rows
    override: float               # how much stronger a field must be to override another (`_override`)

    def pairs(self, layer: int) -> np.ndarray:
        v = self.values[layer]
        half = v.shape[1] // 2 * 2
        return v[:, 0:half:2] - v[:, 1:half:2]


def circuit_stats(mlp: SmallMLP, rows: int = ROWS, seed: int = 0) -> CircuitStats:
    n_in = len(mlp.input_index)
    if mlp.kind == "boolean" and n_in <= ENUMERATE:
        X = ((np.arange(1 << n_in)[:, None] >> np.arange(n_in)) & 1).astype(np.float64)
    else:
        rng = np.random.default_rng(seed)
        X = (rng.integers(0, 2, (rows, n_in)).astype(np.float64) if mlp.kind == "boolean"
             else rng.standard_normal((rows, n_in)))
    values = layer_values(mlp, X)
    pre = [None] + [v @ w.T for v, w in zip(values[:-1], mlp.weights)]
    threshold = -mlp.bias()
    return CircuitStats(values, pre, threshold, mlp.readout, mlp.weights,
                        _override(pre, threshold, mlp.weights, np.random.default_rng(seed)))


def _override(pre: list, threshold: np.ndarray, weights: np.ndarray, rng: np.random.Generator) -> float:
    """R: two instances' copies meeting on a block, Λt and Λu strong, put Λt·p^t + Λu·p^u into each
    unit (p the pre-activation alone). Where the two disagree (opposite signs) the weaker one still
    decides the unit when Λu·|p^u| > Λt·|p^t|, so it corrupts the block when Λu/Λt exceeds the
    smallest |p^t|/|p^u| of the disagreeing units. R is the mean over random input pairs of the
    inverse, max |p^u|/|p^t|: the field model lets a field hold a block while R·Λ reaches the other.
    1 when no units ever disagree."""
    ratios = []
    for P, W in zip(pre[1:], weights):
        used = np.abs(W).sum(axis=1) > 0
        Q = (P - threshold)[:, used]
        a, b = Q[rng.integers(0, len(Q), OVERRIDE_ROWS)], Q[rng.integers(0, len(Q), OVERRIDE_ROWS)]
        disagree = np.sign(a) != np.sign(b)
        worst = np.where(disagree, np.abs(b) / np.maximum(np.abs(a), 1e-12), 0.0).max(axis=1, initial=0.0)
        ratios.append(worst[disagree.any(axis=1)])
    ratios = np.concatenate(ratios) if ratios else np.zeros(0)
    return float(ratios.mean()) if len(ratios) else 1.0


@dataclass
class _Sums:
    """Per layer, the sums over (source, instance, input row) that the predictions are made of."""
    layers: int
    d: int

    def __post_init__(self):
        z = lambda *shape: np.zeros((self.layers,) + shape)   # noqa: E731
        self.pairs = 0                                         # (source, other instance) pairs seen
        self.sources = 0
        self.reached = z()                                     # pairs with λ > 0
        self.r1, self.r2 = z(self.d), z(self.d)                # Σ E_x r_i, Σ E_x r_i² (inactive, per neuron)
        self.p1, self.p2 = z(), z()                            # the same per pair, averaged over pairs
        self.own1, self.own2 = z(self.d), z(self.d)            # an active instance's own excess per neuron
        self.max_inactive = z()
        self.mix2 = z()                                        # Σ t's pair error² where two fields meet
        self.values_wrong, self.wrong = z(), z()               # Σ P(a pair of t wrong), Σ P(outputs wrong)
        self.meetings = []                                     # sampled (sources, touched, weight)


@dataclass(frozen=True)
class LayerPrediction:
    layer: int
    active_rms: float            # per neuron
    active_pair_rms: float | None  # (None: outside the field model's regime)
    inactive_rms: float
    inactive_pair_rms: float | None
    inactive_max: float | None   # the largest inactive read-off one active instance causes
    active_excess_rms: float | None  # the saturation excess alone (z = 1's whole active error)
    pairs_reached: float         # fraction of ordered instance pairs (t, c) with c in t's field
    rows_at_risk: float          # random rows with two active instances whose fields meet by here
    values_wrong: float | None   # active instances with some pair read off wrong (|error| >= 0.5)
    instances_wrong: float | None  # the last layer: active instances whose decoded outputs are wrong
    paper_active_rms: float      # math.md §1.5 total for an active circuit
    paper_inactive_rms: float    # math.md §1.5 overlap + propagation for an inactive one
    paper_worst: float           # (z/S)·max|a| ...
    tolerance: float             # ... against the read-off error an inactive instance absorbs

    def as_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Prediction:
    model: str                   # "coherent" (the field model) or "paper" (math.md's formulas)
    why: str
    exact: bool                  # the field was spread from every instance ...
    sources: int                 # ... or from this many
    layers: tuple[LayerPrediction, ...]

    def as_dict(self) -> dict:
        return {"model": self.model, "why": self.why, "exact": self.exact, "sources": self.sources,
                "layers": [p.as_dict() for p in self.layers]}


def coherent_domain(plan) -> tuple[bool, str]:
    """Whether the field model describes the plan's network exactly, and why not."""
    S, margin = plan.config.S, plan.config.margin
    if any(ty.kind != "boolean" for ty in plan.types):
        return False, "an MLP circuit's units are not clean steps: math.md's formulas stand in"
    gain = plan.types[0].gain
    if gain < 2 * S or not step_saturates(gain, margin, S):
        return False, f"steps of slope G = {gain:g} do not saturate at a 1/S read-off: math.md's formulas stand in"
    if len(plan.types) > 1 and types_share_neurons(plan.supports, plan.type_of):
        return False, "circuit types share neurons: math.md's formulas stand in"
    return True, "every unit a clean step of slope G >= 2·S, one type per neuron: the coherent-copy field"


def predict(plan, *, sources: int | None = None, meetings: int = MEETINGS, seed: int = 0,
            rows: int = ROWS) -> Prediction:
    """Per-layer predicted read-off errors of random rows (k ~ U{1..z} active instances).

    `sources`: the instances whose fields are spread (every instance when T is at most this);
    by default as many as keep the work near `WORK` instance-layers, between 64 and 256.
    `meetings`: the pairs of instances (z >= 2) spread together to estimate what their meeting costs."""
    supports = np.asarray(plan.supports, dtype=np.int64)
    layers, T, S = supports.shape
    if sources is None:
        sources = int(np.clip(WORK // (T * layers), MIN_SOURCES, MAX_SOURCES))
    d, L, n, z = plan.d, plan.L, plan.n, plan.config.z
    types = [ty.padded(d, L) for ty in plan.types]
    stats = [circuit_stats(ty, rows, seed) for ty in types]
    type_of = plan.type_of
    in_domain, why = coherent_domain(plan)

    sums = _Sums(layers, d)
    graph = SupportGraph(supports, n)
    exact = T <= sources
    rng = np.random.default_rng(seed)
    starts = np.arange(T) if exact else np.sort(rng.choice(T, sources, replace=False))
    chunks = -(-len(starts) // CHUNK)
    # Meetings matter only for z >= 2 and within the regime; split over chunks and first-contact layers.
    per_stratum = max(meetings // (chunks * layers), 4) if z > 1 and in_domain else 0
    for lo in range(0, len(starts), CHUNK):          # chunks of sources; the work inside is vectorised
        src = starts[lo:lo + CHUNK]
        for k in np.unique(type_of[src]):
            _spread(graph, src[type_of[src] == k], stats[k], sums, rng, per_stratum)
    if sums.meetings:
        u, t, weight = (np.concatenate(part) for part in zip(*sums.meetings))
        for k in np.unique(type_of[u]):
            mine = type_of[u] == k
            _meet(graph, np.stack([t[mine], u[mine]], axis=1), weight[mine], stats[k], sums, rng)

    ks = np.arange(1, z + 1)
    row_k = np.full(z, 1.0 / z)                      # a random row's active count, as verify draws it
    slot_k = row_k * ks / (row_k * ks).sum()         # an active slot's row size (bigger rows, more slots)
    preds = []
    for layer in range(layers):
        m2 = sums.r2[layer].mean() / sums.pairs      # one field, read by a random other instance
        c1 = float(((sums.r1[layer] / sums.pairs) ** 2).mean())
        m2p, c1p = sums.p2[layer] / sums.pairs, (sums.p1[layer] / sums.pairs) ** 2
        own2 = sums.own2[layer].mean() / sums.sources
        own_x = float((sums.own1[layer] / sums.sources * sums.r1[layer] / sums.pairs).mean())
        inactive = float((row_k * (ks * m2 + ks * (ks - 1) * c1)).sum())
        inactive_pair = float((row_k * (ks * m2p + ks * (ks - 1) * c1p)).sum())
        others = ks - 1
        active = float((slot_k * (own2 + others * m2 + others * (others - 1) * c1 + 2 * others * own_x)).sum())
        active_pair = float((slot_k * others * sums.mix2[layer] / sums.pairs).sum())
        either = lambda q: float((slot_k * (1.0 - (1.0 - q / sums.pairs) ** others)).sum())  # noqa: E731
        values_wrong, wrong = either(sums.values_wrong[layer]), either(sums.wrong[layer])
        reached = float(sums.reached[layer] / sums.pairs)
        paper = _paper_terms(stats, plan, layer)
        field = in_domain or None                     # the field-only figures are None outside the regime
        preds.append(LayerPrediction(
            layer=layer,
            active_rms=math.sqrt(active if in_domain else paper["active"]),
            active_pair_rms=field and math.sqrt(active_pair),
            inactive_rms=math.sqrt(inactive if in_domain else paper["inactive"]),
            inactive_pair_rms=field and math.sqrt(inactive_pair),
            inactive_max=field and float(sums.max_inactive[layer]),
            active_excess_rms=field and math.sqrt(own2),
            pairs_reached=reached, rows_at_risk=rows_at_risk(reached, z),
            values_wrong=field and values_wrong,
            instances_wrong=field and wrong if layer == layers - 1 else None,
            paper_active_rms=math.sqrt(paper["active"]), paper_inactive_rms=math.sqrt(paper["inactive"]),
            paper_worst=paper["worst"], tolerance=min(ty.inactive_tolerance for ty in types)))
    return Prediction("coherent" if in_domain else "paper", why, exact, len(starts), tuple(preds))


class SupportGraph:
    """Which blocks each instance reads and writes, layer by layer, with the two products the
    fields need: `read` (how many of each instance's S blocks are held) and `write` (each block's
    sum over the instances writing it). Both count: λ = read/S and S·Λ = write(read) are whole
    numbers, so float32 products are exact. Dense incidence products (BLAS) when the matrices are
    small and the blocks few, else gathers and bincounts — O(m·T·S) whatever n is."""

    def __init__(self, supports: np.ndarray, n: int):
        self.supports, self.n = supports, n
        layers, T, S = supports.shape
        self.distinct = distinct_layers(supports)      # the layers with an assignment of their own
        self.dense = n <= DENSE_BLOCKS_PER_S * S and T * n * len(self.distinct) <= DENSE_ENTRIES
        if self.dense:
            inc = np.zeros((len(self.distinct), T, n), dtype=np.float32)
            inc[np.arange(len(self.distinct))[:, None, None], np.arange(T)[None, :, None],
                supports[self.distinct]] = 1.0
            self.incidence = [inc[min(l, len(self.distinct) - 1)] for l in range(layers)]

    def read(self, layer: int, held: np.ndarray) -> np.ndarray:
        """(m, T) float32: of each instance's blocks at `layer`, how many `held` (m, n) marks."""
        if self.dense:
            return held.astype(np.float32) @ self.incidence[layer].T
        return held[:, self.supports[layer]].sum(axis=2, dtype=np.float32)

    def write(self, layer: int, counts: np.ndarray) -> np.ndarray:
        """(m, n) float32: every block's sum of `counts` (m, T) over the instances writing it."""
        if self.dense:
            return counts.astype(np.float32) @ self.incidence[layer]
        m, n = len(counts), self.n
        offset = (np.arange(m) * n)[:, None]
        out = np.zeros(m * n)
        for sup in self.supports[layer].T:         # S scatters of (m, T): no (m, T·S) copy
            out += np.bincount((offset + sup).ravel(), weights=counts.ravel(), minlength=m * n)
        return out.reshape(m, n).astype(np.float32)


def rows_at_risk(pair_fraction: float, z: int) -> float:
    """Random rows (k ~ U{1..z}) with some pair of active instances among `pair_fraction` of pairs."""
    ks = np.arange(1, z + 1)
    return float(np.mean(1.0 - (1.0 - pair_fraction) ** (ks * (ks - 1) / 2)))


def _spread(graph: SupportGraph, src: np.ndarray, stats: CircuitStats, sums: _Sums,
            rng: np.random.Generator, per_stratum: int) -> None:
    """Spread the fields of sources `src` (all of one type) through every layer and add up their
    read-offs: λ (k, T) per instance, Λ (k, n) per block. Where a field touches more than
    `CONTACTS` instances, a seeded sample of them stands for all (weighted), plus the most
    strongly touched ones, so the largest read-off is never missed."""
    layers, T, S = graph.supports.shape
    k = len(src)
    rows = np.arange(k)
    own = np.zeros((k, T), dtype=bool)
    own[rows, src] = True
    first = np.full((k, T), -1)                           # the layer this field first touches each instance
    counts = None
    for layer in range(layers):
        sup = graph.supports[layer]
        if layer == 0:
            Lam = np.zeros((k, graph.n))
            Lam[rows[:, None], sup[src]] = 1.0
        else:                                             # every writer adds its read-off to its blocks
            Lam = graph.write(layer, counts).astype(np.float64) / S
        counts = graph.read(layer, Lam > 0)               # (k, T): held blocks; λ = counts / S
        lam = counts.astype(np.float64) / S
        other = (counts > 0) & ~own
        sums.reached[layer] += int(other.sum())
        lam_o = np.where(own, 0.0, lam)
        vp = stats.pairs(layer)
        sums.p1[layer] += lam_o.sum() * vp.mean()
        sums.p2[layer] += (lam_o ** 2).sum() * (vp ** 2).mean()
        # Per neuron: the Λ patterns on the touched instances' blocks, grouped (few distinct ones).
        si, ti = np.nonzero(other)
        pick, weight = _sample(len(si), rng)
        touched = Lam[si[pick][:, None], sup[ti[pick]]]                      # (m, S)
        top = np.argsort(-touched.sum(axis=1))[:TOP]
        r1, r2, _ = _neuron_moments(touched, weight, stats, layer)
        _, _, rmax = _neuron_moments(touched[top], np.zeros(len(top)), stats, layer)
        sums.r1[layer] += r1
        sums.r2[layer] += r2
        sums.max_inactive[layer] = max(sums.max_inactive[layer], rmax)
        mine = Lam[rows[:, None], sup[src]]                                  # (k, S): Λ on own blocks
        e1, e2, _ = _neuron_moments(mine, np.ones(k), stats, layer, subtract=True)
        sums.own1[layer] += e1
        sums.own2[layer] += e2
        if per_stratum:
            first[other & (first < 0)] = layer
    sums.pairs += k * (T - 1)
    sums.sources += k
    for layer in range(layers) if per_stratum else ():  # sampled per layer of first contact: the
        ui, ti = np.nonzero(first == layer)              # early meetings are few and matter most
        pick, weight = _sample(len(ui), rng, per_stratum)
        sums.meetings.append((src[ui[pick]], ti[pick], weight))


def _meet(graph: SupportGraph, pairs: np.ndarray, weight: np.ndarray, stats: CircuitStats,
          sums: _Sums, rng: np.random.Generator) -> None:
    """Two active instances per row of `pairs` (m, 2), t and u, spread together, and t's error.

    Fields: where both reach a block, each unit gets Λt·p^t + Λu·p^u, and where the two disagree the
    larger term decides the unit. So a field holds the block while R·Λ reaches the other's Λ (R the
    circuit's override ratio, `_override`): a much weaker copy is absorbed by the other's steps,
    a comparable one takes some units. Each field spreads on from the blocks it holds.

    Values (per pair, `MIX_ROWS` random inputs of t and u): block s of t holds, before the ReLU,
    t's own row applied to t's actual read-off of the layer before (so an error t made earlier
    passes through its own gates), plus its neighbours' copies of t at t's exact values, plus u's
    field at u's exact values: W·r_t + (Λt_s − λ_t)·P^t + Λu_s·P^u − β (layer 0: Λt_s·v^t +
    Λu_s·v^u). t's read-off r_t is the mean over its blocks; its pair errors, the pairs read off
    wrong and, at the last layer, the decoded outputs follow."""
    layers, T, S = graph.supports.shape
    n = graph.n
    m = len(pairs)
    rows = np.arange(m)
    t, u = pairs[:, 0], pairs[:, 1]
    count = len(stats.values[0])
    xt, xu = rng.integers(0, count, (m, MIX_ROWS)), rng.integers(0, count, (m, MIX_ROWS))
    half = stats.values[0].shape[1] // 2 * 2
    held_t = held_u = r_t = None
    for layer in range(layers):
        sup = graph.supports[layer]
        if layer == 0:
            Lt, Lu = np.zeros((m, n)), np.zeros((m, n))
            Lt[rows[:, None], sup[t]] = 1.0
            Lu[rows[:, None], sup[u]] = 1.0
        else:
            Lt = graph.write(layer, held_t).astype(np.float64) / S
            Lu = graph.write(layer, held_u).astype(np.float64) / S
        at, au = Lt[rows[:, None], sup[t]][:, :, None, None], Lu[rows[:, None], sup[t]][:, :, None, None]
        v = stats.values[layer]
        if layer == 0:
            blocks = at * v[xt][:, None] + au * v[xu][:, None]                        # (m, S, x, d)
        else:
            P = stats.pre[layer]
            own = (r_t @ stats.weights[layer - 1].T)[:, None]
            copies = (at - held_t[rows, t][:, None, None, None] / S) * P[xt][:, None]
            blocks = np.maximum(own + copies + au * P[xu][:, None] - stats.threshold, 0.0)
        r_t = blocks.mean(axis=1)                                                      # (m, x, d)
        err = r_t - v[xt]
        pair = err[..., 0:half:2] - err[..., 1:half:2]
        sums.mix2[layer] += float(weight @ (pair ** 2).mean(axis=(1, 2)))
        sums.values_wrong[layer] += float(weight @ (np.abs(pair) >= 0.5).any(axis=-1).mean(axis=1))
        if layer == layers - 1:
            y, want = r_t @ stats.readout.T, v[xt] @ stats.readout.T
            sums.wrong[layer] += float(weight @ ((y > 0.5) != (want > 0.5)).any(axis=-1).mean(axis=1))
        R = stats.override
        held_t = graph.read(layer, (Lt > 0) & (R * Lt >= Lu))
        held_u = graph.read(layer, (Lu > 0) & (R * Lu >= Lt))


def _sample(m: int, rng: np.random.Generator, cap: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Indices of at most `cap` of m items and the weight each stands for (m / taken)."""
    cap = CONTACTS if cap is None else cap
    if m <= cap:
        return np.arange(m), np.ones(m)
    pick = np.sort(rng.integers(0, m, cap))       # with replacement: O(cap), and still unbiased
    return pick, np.full(cap, m / cap)


def _groups(patterns: np.ndarray, weight: np.ndarray):
    """Distinct rows of `patterns` up to the order of their blocks, and their summed weights."""
    pats, inverse = np.unique(np.round(np.sort(patterns, axis=1), 9), axis=0, return_inverse=True)
    return pats, np.bincount(inverse.ravel(), weights=weight, minlength=len(pats))


def _neuron_moments(patterns: np.ndarray, weight: np.ndarray, stats: CircuitStats, layer: int,
                    subtract: bool = False):
    """Σ over `patterns` (m, S), weighted, of E_x[r_i] and E_x[r_i²] per unit i, and the largest |r|,
    where r_i = (1/S)·Σ_s ReLU(Λ_s·P_i − β_i) − (v_i if `subtract`) (layer 0: (1/S)·Σ_s Λ_s·v_i)."""
    d = stats.values[0].shape[1]
    if len(patterns) == 0:
        return np.zeros(d), np.zeros(d), 0.0
    pats, counts = _groups(patterns, weight)
    v, P, beta = stats.values[layer], stats.pre[layer], stats.threshold
    s1, s2, biggest = np.zeros(d), np.zeros(d), 0.0
    for lo in range(0, len(pats), TUPLE_CHUNK):
        p, c = pats[lo:lo + TUPLE_CHUNK], counts[lo:lo + TUPLE_CHUNK]
        if P is None:
            r = p.mean(axis=1)[:, None, None] * v[None]                                  # (u, x, d)
        else:
            r = np.maximum(p[:, :, None, None] * P[None, None] - beta, 0.0).mean(axis=1)
        if subtract:
            r = r - v[None]
        s1 += np.einsum("u,uxd->d", c, r) / len(v)
        s2 += np.einsum("u,uxd->d", c, r * r) / len(v)
        biggest = max(biggest, float(np.abs(r).max()))
    return s1, s2, biggest


def _paper_terms(stats: list[CircuitStats], plan, layer: int) -> dict:
    """math.md §1.5's mean squares at `layer` (per neuron; z read as the mean active count of
    random rows, (z + 1)/2): overlap z·(d/D)·E a², propagation (l − 1)·z·T·(d/D)²·E|w a|² for an
    inactive circuit, and for an active one (l − 1)·z·T·(d/D)²·E|w a|² + l·(z − 1)·(d/D)·E|w a|²;
    the worst case (z/S)·max|a|."""
    weights = np.asarray(plan.counts, dtype=np.float64) / plan.T
    ea2 = float(sum(w * (s.values[layer] ** 2).mean() for w, s in zip(weights, stats)))
    amax = max(float(np.abs(s.values[layer]).max()) for s in stats)
    ewa2 = ea2 if layer == 0 else float(sum(w * (s.pre[layer] ** 2).mean() for w, s in zip(weights, stats)))
    z, T, S = plan.config.z, plan.T, plan.config.S
    zbar, ratio = (z + 1) / 2, 1.0 / plan.n             # d/D = 1/n
    spread = max(layer - 1, 0) * zbar * T * ratio ** 2 * ewa2
    inactive = zbar * ratio * ea2 + spread
    active = (zbar - 1) * ratio * ea2 if layer == 0 else spread + layer * (zbar - 1) * ratio * ewa2
    return {"active": active, "inactive": inactive, "worst": z / S * amax}
