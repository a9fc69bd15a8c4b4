"""Verify a compiled network against the reference interpreter on promise-keeping inputs.

Three ways to choose the rows (`mode`):

- **random** (the default): each row activates between 1 and z distinct instances (the sparsity
  promise), drawn uniformly, with random inputs (0/1 bits for boolean circuits, standard normal
  values for MLP circuits).
- **adversarial**: each row picks a random target instance t and activates it with the z − 1
  instances that share the most neurons with it over all layers,
  `overlap(t, u) = Σ_l |supports[l, t] ∩ supports[l, u]|` (ties broken at random), so every row
  holds exactly z active instances packed as tightly as the allocation allows; inputs are random as
  above. The overlaps of a batch of targets are one product of incidence matrices per layer
  (`Overlaps`): a dense one-hot (T × n) matrix when T·n is small, otherwise an inverted index
  (the instances holding each neuron) expanded by index arithmetic, so only the instances that
  share a neuron with a target are ever touched.
- **exhaustive** (tiny boolean networks): every active set of 1..z instances × every input
  combination of its instances, enumerated batch by batch from a row index. The row count is
  computed first and the run refused above `max_rows`.

The network's decoded outputs are compared with `interpret.evaluate_bits` on the same inputs.
Accuracy is reported per bit, per instance (every output bit right), per circuit type and per
output bit of each type (`per_output`). Everything is vectorised over the batch; the only Python
loops run over batches, layers, instance types and (for the few rows whose target shares neurons
with fewer than z − 1 others) the redraws of zero-overlap partners.

Besides accuracy, every layer's read-off error is measured: for the active instances against their
exact activations when run alone (`CompiledNetwork.alone`), and for a few random inactive
instances per row, whose read-off should be exactly 0 — the embedding overlap and propagation
errors of math.md §1.5, as measured quantities. A boolean lowering carries its values as
differences of neuron pairs (2j, 2j + 1), and an error that lands on both neurons of a pair
cancels; so the error of those differences ("pair" errors) is reported too: it is the one that
decides correctness.

Cost. Verification should cost little more than the forward pass it wraps: at most half again
its time (`benchmarks/verify_bench.py`: 20,000 full adders in D = 4096, z = 2, 10 batches of
1024 rows). Measured on 2 CPU cores, the forward pass takes ~1.1–1.3 s and everything else
0.15–0.25 s: sampling and encoding 0.06–0.18 (mostly `CompiledNetwork.encode`), the read-offs of
every layer 0.07, decoding, the reference interpreter and the exact activations under 0.01 —
a ratio of about 1.1–1.25. So the read-off diagnostics stay on for every row by default, made
cheap: each layer is read off once for the active and the probed inactive instances together, the
last layer's read-off of the active instances also gives the decoded outputs (no second gather),
and on the CPU the gather indexes the activations' numpy view. That last choice matters on a busy
machine: `torch.gather`'s worker threads stall when other processes hold the cores, and with the
cores oversubscribed the read-offs and decoding through `CompiledNetwork.readout` took 0.8 s
against 0.08 s this way (ratio 1.36 → 1.16). `layer_errors=False` skips the diagnostics
altogether; the rows drawn, and so every accuracy figure, stay the same.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ..active_sets import combinations, random_active
from ..errors import CircuitError, Diagnostic
from ..interpret import evaluate_bits
from .compile import Compilation

MODES = ("random", "adversarial", "exhaustive")
MAX_ROWS = 2_000_000      # the most rows exhaustive verification checks
INACTIVE_PROBES = 4       # inactive instances whose read-offs are measured per sample row
WORST = 5                 # instances listed in the report as the least accurate
DENSE_INCIDENCE = 1 << 20  # T·n up to which adversarial overlaps use dense incidence matrices
OVERLAP_CHUNK = 1 << 22   # (target, instance) entries handled at once when computing overlaps


# ---------------------------------------------------------------- random rows

def sample_inputs(comp: Compilation, instances: np.ndarray, rng: np.random.Generator,
                  pool: np.ndarray | None = None) -> np.ndarray:
    """Random inputs for the listed instances, (batch, z, n_in_max): 0/1 bits for boolean circuits;
    for MLP circuits standard-normal values, or rows drawn uniformly from `pool` (rows, n_inputs)
    when given (the inputs the circuits are meant for; `check_pool`)."""
    net = comp.network
    batch, z = instances.shape
    ty = net.type_of[np.maximum(instances, 0)]
    bits = rng.integers(0, 2, size=(batch, z, net.n_in_max)).astype(np.float64)
    if pool is None:
        real = rng.standard_normal((batch, z, net.n_in_max))
        bound = comp.config.input_bound
        if bound is not None:                 # the promise: every input of magnitude at most the bound
            np.clip(real, -bound, bound, out=real)
    else:
        real = np.zeros((batch, z, net.n_in_max))
        real[..., :pool.shape[1]] = pool[rng.integers(0, len(pool), size=(batch, z))]
    is_mlp = np.array([c.kind == "mlp" for c in comp.circuits])[ty]
    return np.where(is_mlp[..., None], real, bits)


def check_pool(comp: Compilation, pool: np.ndarray | None) -> np.ndarray | None:
    """`pool` as float64 rows, or CircuitError unless every MLP circuit of the network takes that
    many inputs (boolean circuits keep random bits)."""
    if pool is None:
        return None
    pool = np.asarray(pool, dtype=np.float64)
    widths = sorted({len(c.input_bits) for c in comp.circuits if c.kind == "mlp"})
    if not widths:
        raise CircuitError(Diagnostic("input rows are for MLP circuits, and this network has none",
                                      hint="boolean circuits are checked on random bits"))
    if pool.ndim != 2 or len(pool) < 1 or widths != [pool.shape[1]]:
        raise CircuitError(Diagnostic(f"input rows of shape {pool.shape} do not fit this network's MLP circuits, "
                                      f"which take {' or '.join(map(str, widths))} inputs",
                                      hint="give rows of one input count, that of every MLP circuit"))
    bound = comp.config.input_bound
    if bound is not None and np.abs(pool).max() > bound:
        row = int(np.flatnonzero(np.abs(pool).max(axis=1) > bound)[0])
        raise CircuitError(Diagnostic(
            f"input row {row + 1} holds {pool[row][np.argmax(np.abs(pool[row]))]:g}, beyond the network's input bound "
            f"{bound:g}: the network promises exact outputs only for inputs of magnitude at most that",
            hint="give rows within the bound, or compile with a larger --input-bound"))
    return pool


# ---------------------------------------------------------------- adversarial rows

class Overlaps:
    """`overlap(t, u) = Σ_l |supports[l, t] ∩ supports[l, u]|` for batches of targets t.

    Per layer the supports are a one-hot incidence matrix M_l (T × n), and the overlaps of targets
    `ts` with every instance are `Σ_l M_l[ts] @ M_lᵀ`. `dense` (default: T·n <= DENSE_INCIDENCE)
    stores M_l as a dense matrix and multiplies it out; otherwise the product is formed sparsely:
    for each neuron of a target's support, the instances holding that neuron (an inverted index,
    instances grouped by neuron) are listed by index arithmetic and the (target, instance) pairs
    counted.
    """

    def __init__(self, supports: np.ndarray, n: int, dense: bool | None = None):
        supports = np.asarray(supports, dtype=np.int64)
        layers, T, S = supports.shape
        self.supports, self.n, self.T = supports, n, T
        self.dense = T * n <= DENSE_INCIDENCE if dense is None else bool(dense)
        if self.dense:
            inc = np.zeros((layers, T, n), dtype=np.float32)
            inc[np.arange(layers)[:, None, None], np.arange(T)[None, :, None], supports] = 1.0
            self.incidence = inc
            self.rows_per_chunk = max(1, OVERLAP_CHUNK // max(T, 1))
        else:
            flat = supports.reshape(layers, T * S)
            order = np.argsort(flat, axis=1, kind="stable")
            self.members = order // S                                          # (layers, T·S)
            self.count = np.stack([np.bincount(f, minlength=n) for f in flat])  # (layers, n)
            self.start = np.cumsum(self.count, axis=1) - self.count
            pairs_per_target = int(self.count.max(axis=1).sum()) * S
            self.rows_per_chunk = max(1, OVERLAP_CHUNK // max(pairs_per_target, 1))

    def matrix(self, targets: np.ndarray) -> np.ndarray:
        """(len(targets), T) int64 overlaps, self-overlaps included (for checks and small T)."""
        rows, u, c = self.pairs(targets, include_self=True)
        out = np.zeros((len(targets), self.T), dtype=np.int64)
        out[rows, u] = c
        return out

    def pairs(self, targets: np.ndarray, include_self: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The non-zero overlaps of `targets` (k,) as (row, instance, overlap), sorted by row then
        instance; a target's overlap with itself is left out unless `include_self`."""
        targets = np.asarray(targets, dtype=np.int64)
        T = self.T
        if self.dense:
            O = np.zeros((len(targets), T), dtype=np.float32)
            for inc in self.incidence:
                O += inc[targets] @ inc.T
            if not include_self:
                O[np.arange(len(targets)), targets] = 0.0
            rows, u = np.nonzero(O)
            return rows, u, O[rows, u].astype(np.int64)
        keys = []
        for layer, sup in enumerate(self.supports):
            k = sup[targets].ravel()                                   # (k·S,) neurons of the targets
            length = self.count[layer][k]
            ends = np.cumsum(length)
            total = int(ends[-1]) if len(ends) else 0
            # Position p of the j-th instance holding neuron k: start[k] + j.
            pos = np.repeat(self.start[layer][k] - (ends - length), length) + np.arange(total)
            row = np.repeat(np.arange(k.size) // sup.shape[1], length)
            keys.append(row * T + self.members[layer][pos])
        keys, counts = np.unique(np.concatenate(keys), return_counts=True)
        rows, u = keys // T, keys % T
        if not include_self:
            keep = u != targets[rows]
            rows, u, counts = rows[keep], u[keep], counts[keep]
        return rows, u, counts.astype(np.int64)


def sample_adversarial(overlaps: Overlaps, z: int, batch: int, rng: np.random.Generator) -> np.ndarray:
    """(batch, z) instance ids: a uniform random target in slot 0, then the z − 1 instances with the
    largest overlap with it, in decreasing order of overlap, ties broken at random."""
    T = overlaps.T
    targets = rng.integers(0, T, size=batch)
    inst = np.full((batch, z), -1, dtype=np.int64)
    inst[:, 0] = targets
    if z == 1:
        return inst
    for lo in range(0, batch, overlaps.rows_per_chunk):
        ts = targets[lo:lo + overlaps.rows_per_chunk]
        rows, u, c = overlaps.pairs(ts)
        # One sort key: the row, then the overlap, largest first, plus a uniform draw in [0, 0.5)
        # that shuffles equal overlaps and never reorders different ones.
        top_c = int(c.max(initial=0)) + 1
        order = np.argsort(rows * float(top_c + 1) + (top_c - c - 0.5 * rng.random(len(c))))
        rows, u = rows[order], u[order]
        first = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])             # each row's first pair
        rank = np.arange(len(rows)) - np.repeat(first, np.diff(np.r_[first, len(rows)]))
        top = rank < z - 1
        inst[lo + rows[top], 1 + rank[top]] = u[top]
    # A row whose target shares neurons with fewer than z − 1 instances holds all of them by now;
    # the rest of its slots are tied at overlap 0: uniform draws among the instances not yet in it.
    for slot in range(1, z):
        need = np.flatnonzero(inst[:, slot] < 0)
        while len(need):
            draw = rng.integers(0, T, size=len(need))
            bad = (draw[:, None] == inst[need, :slot]).any(axis=1)
            inst[need[~bad], slot] = draw[~bad]
            need = need[bad]
    return inst


# ---------------------------------------------------------------- exhaustive rows

def _bits_per_instance(comp: Compilation) -> np.ndarray:
    widths = np.array([len(c.input_bits) for c in comp.circuits], dtype=np.int64)
    return widths[comp.network.type_of]


def exhaustive_rows(comp: Compilation) -> list[int]:
    """Rows of exhaustive verification with k = 1..z active instances: Σ over k-sets of
    Π 2^inputs, an elementary symmetric polynomial of the per-instance input counts (exact)."""
    z = comp.config.z
    poly = [1] + [0] * z                    # coefficients of Π_t (1 + 2^in_t x), up to x^z
    for circuit, count in zip(comp.circuits, comp.counts):
        w = 1 << len(circuit.input_bits)
        factor = [math.comb(count, i) * w ** i for i in range(z + 1)]
        poly = [sum(poly[j] * factor[k - j] for j in range(k + 1)) for k in range(z + 1)]
    return poly[1:]


def _check_exhaustive(comp: Compilation, max_rows: int) -> int:
    mlp = [c.name for c in comp.circuits if c.kind != "boolean"]
    if mlp:
        raise CircuitError(Diagnostic(
            f"exhaustive verification enumerates 0/1 inputs, but {', '.join(f'`{m}`' for m in mlp)} "
            f"{'is an MLP circuit' if len(mlp) == 1 else 'are MLP circuits'} with real inputs",
            hint="use random or adversarial sampling instead (--samples, --adversarial)"))
    per_k = exhaustive_rows(comp)
    total = sum(per_k)
    if total > max_rows:
        T = comp.network.T
        if len(comp.circuits) == 1:
            n_in = len(comp.circuits[0].input_bits)
            terms = " + ".join(f"C({T},{k})·2^{k * n_in}" for k in range(1, len(per_k) + 1))
        else:
            terms = " + ".join(f"{rows:,} with {k} active" for k, rows in enumerate(per_k, 1))
        raise CircuitError(Diagnostic(
            f"exhaustive verification needs {total:,} rows ({terms}); use --samples instead",
            hint=f"exhaustive verification checks at most {max_rows:,} rows"))
    return total


def _exhaustive_batches(comp: Compilation, batch: int):
    """(instances, inputs) batches over every active set × every input combination.

    Row g belongs to the active set c whose row range holds it; g − start[c], read as bits, gives
    the inputs: slot j's input i is bit shift[c, j] + i, shift the running sum of the input counts.
    Only the active sets are materialised (never more than the rows), the rows one batch at a time.
    """
    net = comp.network
    sets = combinations(net.T, comp.config.z)
    width = np.where(sets >= 0, _bits_per_instance(comp)[np.maximum(sets, 0)], 0)   # (sets, z)
    shift = np.cumsum(width, axis=1) - width
    ends = np.cumsum(np.left_shift(1, width.sum(axis=1)))
    starts = ends - np.left_shift(1, width.sum(axis=1))
    bit = np.arange(net.n_in_max)
    for lo in range(0, int(ends[-1]) if len(ends) else 0, batch):
        g = np.arange(lo, min(lo + batch, int(ends[-1])))
        c = np.searchsorted(ends, g, side="right")
        local = (g - starts[c])[:, None, None]
        x = (local >> (shift[c][:, :, None] + bit)) & 1
        x = np.where(bit < width[c][:, :, None], x, 0).astype(np.float64)
        yield sets[c], x


# ---------------------------------------------------------------- reference values

def reference_outputs(comp: Compilation, instances: np.ndarray, inputs: np.ndarray) -> np.ndarray:
    """The exact outputs, (batch, z, n_out_max), NaN where `decode` gives NaN. MLP circuits of one
    shape (thousands of different ones, say) are evaluated together (`interpret.MLPStack`)."""
    net = comp.network
    out = np.full(instances.shape + (net.n_out_max,), np.nan)
    ty = np.where(instances >= 0, net.type_of[np.maximum(instances, 0)], -1)
    stack = comp.mlp_stack
    if stack is not None:
        b, s = np.nonzero(ty >= 0)
        n_in, n_out = len(comp.circuits[0].input_bits), len(comp.circuits[0].output_bits)
        out[b, s, :n_out] = stack.evaluate(ty[b, s], inputs[b, s, :n_in])
        return out
    tables = comp.bool_tables
    if tables is not None:
        b, s = np.nonzero(ty >= 0)
        values = tables.evaluate(ty[b, s], inputs[b, s])
        own = np.arange(values.shape[1])[None, :] < net.n_outputs[ty[b, s]][:, None]
        out[b, s, :values.shape[1]] = np.where(own, values, np.nan)
        return out
    for k, circuit in enumerate(comp.circuits):
        b, s = np.nonzero(ty == k)
        if len(b):
            n_in, n_out = len(circuit.input_bits), len(circuit.output_bits)
            out[b, s, :n_out] = evaluate_bits(circuit, inputs[b, s, :n_in])
    return out


def _probe_inactive(T: int, active: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(batch, INACTIVE_PROBES) random instances that are not active in their row (-1 if T is tiny)."""
    probes = rng.integers(0, T, size=(active.shape[0], INACTIVE_PROBES))
    clash = (probes[:, :, None] == active[:, None, :]).any(axis=2)
    probes[clash] = -1
    return probes


def exact_layers(comp: Compilation, instances: np.ndarray, inputs: np.ndarray) -> list[np.ndarray]:
    """Per layer, (batch, z, d) exact activations of each listed instance run alone (NaN if unused)."""
    return comp.network.alone(instances, inputs)


# ---------------------------------------------------------------- read-offs

def _read_off(net, A: torch.Tensor, layer: int, instances: np.ndarray) -> np.ndarray:
    """`net.readout(A, layer, instances)`, bit for bit; on the CPU the gather indexes A's numpy view
    (`Layout.read_off`)."""
    if A.device.type != "cpu":
        return net.readout(A, layer, instances)
    return net.read_off(A.detach().numpy(), layer, instances)


class _LayerErrors:
    """Running sums of squared and largest read-off errors per layer."""

    def __init__(self, layers: int):
        self.sq = np.zeros(layers)
        self.count = np.zeros(layers, dtype=np.int64)
        self.max = np.zeros(layers)

    def add(self, layer: int, err: np.ndarray) -> None:
        if err.size:
            self.sq[layer] += float((err ** 2).sum())
            self.count[layer] += err.size
            self.max[layer] = max(self.max[layer], float(np.abs(err).max()))

    def rms(self) -> np.ndarray:
        return np.sqrt(self.sq / np.maximum(self.count, 1))


class _ReadoffErrors:
    """Per-layer read-off errors of active instances (against their exact values) and of probed
    inactive ones (against 0), per neuron and per pair."""

    def __init__(self, layers: int):
        self.active, self.inactive = _LayerErrors(layers), _LayerErrors(layers)
        self.active_pair, self.inactive_pair = _LayerErrors(layers), _LayerErrors(layers)
        self.wrong = np.zeros(layers, dtype=np.int64)        # boolean active read-offs with a wrong pair
        self.boolean = np.zeros(layers, dtype=np.int64)

    def add_batch(self, net, acts: list[torch.Tensor], instances: np.ndarray, probes: np.ndarray,
                  exact: list[np.ndarray], boolean: np.ndarray) -> np.ndarray:
        """Measure every layer of one batch; returns the last layer's read-offs of `instances`.
        `boolean` (batch, z): the slots holding an active instance of a boolean circuit."""
        z = instances.shape[1]
        both = np.concatenate([instances, probes], axis=1)
        live, probed = instances >= 0, probes >= 0
        pairs = net.d // 2 * 2
        for layer, A in enumerate(acts):
            ahat = _read_off(net, A, layer, both)
            err = (ahat[:, :z] - exact[layer])[live]
            off = ahat[:, z:][probed]
            pair_err = err[:, 0:pairs:2] - err[:, 1:pairs:2]
            self.active.add(layer, err)
            self.inactive.add(layer, off)
            self.active_pair.add(layer, pair_err)
            self.inactive_pair.add(layer, off[:, 0:pairs:2] - off[:, 1:pairs:2])
            # A boolean value is read off wrong when its pair's error reaches 0.5 (it would round
            # to the other bit): the per-layer counterpart of the decoded accuracy.
            on_bool = boolean[live]
            self.wrong[layer] += int((np.abs(pair_err[on_bool]) >= 0.5).any(axis=1).sum())
            self.boolean[layer] += int(on_bool.sum())
        return ahat[:, :z]

    def report(self) -> list[dict]:
        a, i, ap, ip = self.active, self.inactive, self.active_pair, self.inactive_pair
        a_rms, i_rms, ap_rms, ip_rms = a.rms(), i.rms(), ap.rms(), ip.rms()
        return [{"layer": layer, "active_rms": float(a_rms[layer]), "active_max": float(a.max[layer]),
                 "inactive_rms": float(i_rms[layer]), "inactive_max": float(i.max[layer]),
                 "active_pair_rms": float(ap_rms[layer]), "active_pair_max": float(ap.max[layer]),
                 "inactive_pair_rms": float(ip_rms[layer]), "inactive_pair_max": float(ip.max[layer]),
                 "active_values_wrong": float(self.wrong[layer] / self.boolean[layer]) if self.boolean[layer] else None}
                for layer in range(len(a.sq))]


# ---------------------------------------------------------------- verify

def _sampled_batches(comp: Compilation, samples: int, batch: int, rng: np.random.Generator, draw, pool):
    done = 0
    while done < samples:
        m = min(batch, samples - done)
        inst = draw(m)
        yield inst, sample_inputs(comp, inst, rng, pool)
        done += m


def promise_rows(comp: Compilation, mode: str, samples: int, batch: int, rng: np.random.Generator,
                 max_rows: int = MAX_ROWS, inputs: np.ndarray | None = None):
    """(rows, batches): the rows `mode` draws ("random", "adversarial" or "exhaustive"; see
    `verify`) and an iterator of (instances (b, z), inputs (b, z, n_in_max)) batches of them;
    MLP circuits' inputs drawn from the rows `inputs` when given (`sample_inputs`)."""
    net, z = comp.network, comp.config.z
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    pool = check_pool(comp, inputs)
    if mode == "exhaustive":
        if pool is not None:
            raise CircuitError(Diagnostic("exhaustive verification enumerates 0/1 inputs; input rows are for "
                                          "random or adversarial rows"))
        return _check_exhaustive(comp, max_rows), _exhaustive_batches(comp, batch)
    if mode == "adversarial":
        overlaps = Overlaps(net.supports, net.n)
        return samples, _sampled_batches(comp, samples, batch, rng,
                                         lambda m: sample_adversarial(overlaps, z, m, rng), pool)
    return samples, _sampled_batches(comp, samples, batch, rng, lambda m: random_active(net.T, z, m, rng), pool)


def verify(comp: Compilation, samples: int = 10_000, batch: int = 1024, seed: int = 0, mode: str = "random", *,
           max_rows: int = MAX_ROWS, layer_errors: bool = True, inputs: np.ndarray | None = None) -> dict:
    """Accuracy and per-layer read-off errors of the compiled network on promise-keeping rows.

    `mode`: "random" (`samples` rows of 1..z random instances), "adversarial" (`samples` rows of a
    random target and its z − 1 most overlapping instances) or "exhaustive" (every active set of
    1..z instances × every input combination; `samples` is ignored, and more than `max_rows` rows
    or an MLP circuit is refused with a CircuitError). `layer_errors=False` skips the per-layer
    read-off diagnostics ("layers" is then empty, as it always is for a routed network); the rows
    drawn, and so every accuracy figure, stay the same. `inputs` (rows, n_inputs): the input rows
    MLP circuits draw from instead of standard-normal values (the inputs they are built for).

    For a routed network, "routing" counts the active instances by clean positions (those no other
    active instance of the row shares; "c0" is the least the code guarantees), None otherwise.

    The result holds "mode", "samples" (the rows checked), bit and instance accuracy, "per_circuit"
    ({circuit: accuracy}), "per_output" ({circuit: [(output bit, accuracy), ...]}, None for MLP
    outputs), the MLP errors, "layers" and "worst_instances" (with "targeted": the rows that had the
    instance as their target, in adversarial mode; None otherwise).
    """
    if batch < 1:
        raise ValueError(f"batch must be 1 or more, got {batch}")
    net = comp.network
    z = comp.config.z
    # A construction whose hidden layers do not hold instances (routed: positions) has no
    # per-layer read-offs; they measure the coherent construction's error terms.
    layer_errors = layer_errors and comp.construction.reads_hidden_layers
    rng = np.random.default_rng(seed)
    samples, rows = promise_rows(comp, mode, samples, batch, rng, max_rows, inputs)

    tally = _Tally(comp, mode)
    readoffs = _ReadoffErrors(net.L + 1)
    routing = comp.construction.routing_tally(comp.plan)     # routed: active instances by clean positions
    for inst, x in rows:
        if routing:
            routing.add(inst)
        live = inst >= 0
        ty = net.type_of[np.maximum(inst, 0)]
        probes = _probe_inactive(net.T, inst, rng)
        if layer_errors:
            with torch.no_grad():
                acts = net.forward_layers(net.encode(inst, x))
            ahat = readoffs.add_batch(net, acts, inst, probes, exact_layers(comp, inst, x),
                                      tally.kinds[ty] & live)
        else:
            # Only the last layer is read: keeping every layer's activations of the batch (25
            # layers of a deep netlist mix, 4096 wide: 420 MB a batch) would cost memory for nothing.
            with torch.no_grad():
                last = net.model(net.encode(inst, x).to(net.device))
            ahat = _read_off(net, last, net.L, inst)
        tally.add(inst, net.outputs(ahat, inst), reference_outputs(comp, inst, x))
    return {"mode": mode, "samples": samples, "z": z, "T": net.T, **tally.report(),
            "layers": readoffs.report() if layer_errors else [],
            "routing": routing.report() if routing else None,
            "worst_instances": tally.worst()}


class _Tally:
    """Decoded outputs against the reference, per bit, instance, circuit and output, and the
    errors of real outputs."""

    def __init__(self, comp: Compilation, mode: str):
        net = comp.network
        self.comp, self.mode = comp, mode
        self.kinds = np.array([c.kind == "boolean" for c in comp.circuits])
        self.n_types, self.n_out = len(comp.circuits), net.n_out_max
        self.correct = self.total = self.instances_ok = self.instances_total = 0
        self.sq_err = self.max_err = 0.0
        self.real_total = 0
        self.per_type = np.zeros((self.n_types, 2), dtype=np.int64)                # (correct bits, bits)
        self.per_instance = np.zeros((net.T, 2), dtype=np.int64)
        self.per_output = np.zeros((self.n_types * self.n_out, 2), dtype=np.int64)
        self.targeted = np.zeros(net.T, dtype=np.int64)

    def add(self, inst: np.ndarray, got: np.ndarray, want: np.ndarray) -> None:
        net, n_out = self.comp.network, self.n_out
        live = inst >= 0
        ty = net.type_of[np.maximum(inst, 0)]
        valid = ~np.isnan(want)
        boolean = valid & self.kinds[ty][..., None] & live[..., None]
        hit = ((got > 0.5) == (want > 0.5)) & boolean
        self.correct += int(hit.sum())
        self.total += int(boolean.sum())
        slot_bool = boolean.any(axis=-1)
        counts = np.stack([hit.sum(-1), boolean.sum(-1)], -1)[slot_bool]
        self.instances_ok += int((counts[:, 0] == counts[:, 1]).sum())
        self.instances_total += int(slot_bool.sum())
        np.add.at(self.per_type, ty[slot_bool], counts)
        np.add.at(self.per_instance, inst[slot_bool], counts)
        out_ix = ty[..., None] * n_out + np.arange(n_out)
        self.per_output[:, 0] += np.bincount(out_ix[hit], minlength=self.n_types * n_out)
        self.per_output[:, 1] += np.bincount(out_ix[boolean], minlength=self.n_types * n_out)
        if self.mode == "adversarial":
            self.targeted += np.bincount(inst[:, 0], minlength=net.T)
        real = valid & ~self.kinds[ty][..., None] & live[..., None]
        if real.any():
            err = (got - want)[real]
            self.sq_err += float((err ** 2).sum())
            self.max_err = max(self.max_err, float(np.abs(err).max()))
            self.real_total += int(real.sum())

    def report(self) -> dict:
        circuits = self.comp.circuits
        per_output = self.per_output.reshape(self.n_types, self.n_out, 2)
        return {
            "bit_accuracy": self.correct / self.total if self.total else None,
            "instance_accuracy": self.instances_ok / self.instances_total if self.instances_total else None,
            "per_circuit": {c.name: (int(a) / int(b) if b else None) for c, (a, b) in zip(circuits, self.per_type)},
            "per_output": {c.name: [(bit, int(a) / int(b) if b else None)
                                    for bit, (a, b) in zip(c.output_bits, per_output[k])]
                           for k, c in enumerate(circuits)},
            "real_rms_error": (self.sq_err / self.real_total) ** 0.5 if self.real_total else None,
            "real_max_error": self.max_err if self.real_total else None,
        }

    def worst(self) -> list[dict]:
        """The `WORST` instances by bit accuracy."""
        net, per_instance = self.comp.network, self.per_instance
        seen = np.flatnonzero(per_instance[:, 1] > 0)
        acc = per_instance[seen, 0] / per_instance[seen, 1]
        worst = seen[np.argsort(acc, kind="stable")[:WORST]]
        return [{"instance": int(t), "circuit": self.comp.circuits[net.type_of[t]].name,
                 "bit_accuracy": float(per_instance[t, 0] / per_instance[t, 1]),
                 "bits": int(per_instance[t, 1]),
                 "targeted": int(self.targeted[t]) if self.mode == "adversarial" else None}
                for t in worst]
