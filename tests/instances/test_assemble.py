"""The superposed network (math.md §1.1–1.3) against the exact evaluator of `SmallMLP`s.

- disjoint supports: no superposition at all, so every read-off is exact for any active set;
- real overlapping allocations with one active instance: the error is exactly the propagation term
  of math.md §1.5 (an inactive neighbour's overlap read-off, passed through its own weights into a
  neuron it shares with the active instance), so instances without such a neighbour are exact;
- the scatter-add weights against a slow loop over (t, i, j, s, s');
- determinism, shapes, module structure, devices.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from torch import nn

from circuitc.errors import CircuitError
from circuitc.instances.assemble import CompiledNetwork, assemble, assemble_weights
from circuitc.instances.embed.allocate import allocate
from circuitc.instances.embed.shuffle import layer_supports
from circuitc.instances.lower.small_mlp import FIRST_FREE, ON_HI, SmallMLP, add_on, layer_bias, on_rows, run_small


def random_mlp(rng, d: int, L: int, n_in: int, n_out: int, margin: float, name: str = "c",
               scale: float = 0.5) -> SmallMLP:
    """A random circuit in the conventions of small_mlp.py: the two on-indicator units read 2·on,
    every other unit gets its own bias plus the +margin that cancels the shared bias through `on`."""
    w = rng.normal(0.0, scale, size=(L, d, d)) / np.sqrt(d)
    w[:, :FIRST_FREE, :] = on_rows(d)
    w[:, FIRST_FREE:, :FIRST_FREE] = 0.0
    for layer in w:
        add_on(layer, np.arange(FIRST_FREE, d), margin + rng.normal(0.0, 0.3, size=d - FIRST_FREE))
    idx = (FIRST_FREE + rng.permutation(d - FIRST_FREE)[:n_in]).astype(np.int64)
    mlp = SmallMLP(name, "mlp", w, margin, idx, rng.normal(size=(n_out, d)))
    mlp.check()
    return mlp


def small_layers(mlp: SmallMLP, X: np.ndarray) -> list[np.ndarray]:
    """Every layer 0..L of an active instance, exactly as `run_small` computes them."""
    a = np.zeros((X.shape[0], mlp.d))
    a[:, ON_HI] = 1.0
    a[:, mlp.input_index] = X
    out = [a]
    for w in mlp.weights:
        a = np.maximum(a @ w.T + layer_bias(mlp.d, mlp.margin), 0.0)
        out.append(a)
    return out


def disjoint_supports(rng, L: int, T: int, S: int, n: int) -> np.ndarray:
    """(L+1, T, S): every layer a fresh random choice of T pairwise disjoint supports."""
    assert T * S <= n
    return np.stack([rng.permutation(n)[:T * S].reshape(T, S) for _ in range(L + 1)])


def mixed_types(rng, margin: float = 1.0) -> list[SmallMLP]:
    # Different widths, depths and input/output counts: assemble pads them to (d, L) = (6, 3).
    return [random_mlp(rng, 6, 3, 3, 2, margin, "a"),
            random_mlp(rng, 4, 2, 2, 1, margin, "b"),
            random_mlp(rng, 5, 3, 1, 3, margin, "c")]


def incidence(sup: np.ndarray, n: int) -> np.ndarray:
    """(T, n) 0/1: which neurons each instance owns."""
    inc = np.zeros((sup.shape[0], n), dtype=np.int64)
    np.put_along_axis(inc, sup, 1, axis=1)
    return inc


# ---------------------------------------------------------------- 1. no superposition: exact

def test_disjoint_supports_are_exact_for_any_active_set():
    rng = np.random.default_rng(1)
    types = mixed_types(rng)
    T, S, n = 7, 3, 24
    L = 3
    sup = disjoint_supports(rng, L, T, S, n)
    type_of = np.array([0, 1, 2, 0, 1, 2, 0])
    net = assemble(types, type_of, sup, n)
    assert (net.d, net.L, net.D, net.T, net.S) == (6, 3, 6 * 24, T, S)

    # Every non-empty active set of up to 3 instances, plus all of them at once.
    sets = [c for z in (1, 2, 3) for c in itertools.combinations(range(T), z)] + [tuple(range(T))]
    z = T
    inst = np.full((len(sets), z), -1, dtype=np.int64)
    for b, c in enumerate(sets):
        inst[b, :len(c)] = rng.permutation(c)
    X = rng.uniform(-1.0, 2.0, size=(len(sets), z, net.n_in_max))
    acts = net.forward_layers(net.encode(inst, X))
    assert len(acts) == L + 1

    everyone = np.tile(np.arange(T), (len(sets), 1))
    for layer, A in enumerate(acts):
        got = net.readout(A, layer, everyone)                       # (batch, T, d)
        for t in range(T):
            ty = net.types[type_of[t]]
            rows, slots = np.nonzero(inst == t)
            inactive = np.ones(len(sets), dtype=bool)
            inactive[rows] = False
            want = small_layers(ty, X[rows, slots, :len(ty.input_index)])[layer]
            np.testing.assert_allclose(got[rows, t], want, rtol=1e-5, atol=1e-5)
            assert np.all(got[inactive, t] == 0.0)                  # inactive: exactly 0

    y = net.decode(acts[-1], inst)
    for t in range(T):
        orig = types[type_of[t]]
        rows, slots = np.nonzero(inst == t)
        want = run_small(orig, X[rows, slots, :len(orig.input_index)])   # the unpadded circuit
        n_out = orig.readout.shape[0]
        np.testing.assert_allclose(y[rows, slots, :n_out], want, rtol=1e-5, atol=1e-5)
        assert np.all(np.isnan(y[rows, slots, n_out:]))
    assert np.all(np.isnan(y[inst < 0]))
    np.testing.assert_array_equal(net.run(inst, X), y)


def test_encode_dicts_matches_encode():
    rng = np.random.default_rng(2)
    types = mixed_types(rng)
    type_of = np.array([0, 1, 2, 1])
    net = assemble(types, type_of, disjoint_supports(rng, 3, 4, 2, 10), 10)
    rows = [{2: [0.5], 0: [1.0, 0.0, 1.0]}, {}, {3: np.array([0.25, 0.75])}]
    inst = np.array([[2, 0], [-1, -1], [3, -1]])
    X = np.zeros((3, 2, net.n_in_max))
    X[0, 0, :1] = [0.5]
    X[0, 1, :3] = [1.0, 0.0, 1.0]
    X[2, 0, :2] = [0.25, 0.75]
    assert torch.equal(net.encode_dicts(rows), net.encode(inst, X))
    with pytest.raises(ValueError, match="takes 1 inputs"):
        net.encode_dicts([{2: [1.0, 1.0]}])
    with pytest.raises(ValueError, match="twice"):
        net.encode(np.array([[1, 1]]), np.zeros((1, 2, net.n_in_max)))
    with pytest.raises(ValueError, match="instance ids"):
        net.encode(np.array([[4]]), np.zeros((1, 1, net.n_in_max)))


# ---------------------------------------------------------------- 2. real allocation, z = 1

def test_one_active_instance_on_a_real_allocation():
    """With z = 1 the only error is propagation through "double neighbours" (math.md §1.5).

    An inactive instance u that shares a neuron with the active t at layer l-1 reads 1/S of t's
    values there; if u also owns one of t's neurons at layer l, its weights carry that read-off
    into t's neuron before any ReLU can clamp it. So: instances with no such u between any two
    consecutive layers are exact, the layer-1 read-off of every instance is predicted exactly, and
    an inactive instance that shares no neuron with t reads exactly 0. The last needs every neuron
    outside t's support to stay at 0: it has at most 2 owners (two whole slope classes of the
    affine allocation), each adding at most 2/S to the on-indicator step, which 2·2/9 < 0.5 keeps
    shut, and at most 2·(margin + |bias| + |w·a|)/S < margin to any other unit.
    """
    rng = np.random.default_rng(3)
    margin = 2.0
    types = [random_mlp(rng, 5, 3, 2, 2, margin, "a", scale=0.3),
             random_mlp(rng, 5, 3, 3, 1, margin, "b", scale=0.3)]
    n, S = 477, 9
    alloc = allocate(106, n, S, "affine")                 # q = 53: two whole slope classes
    assert alloc.load().max() == 2
    T, L = alloc.T, 3
    sup, _ = layer_supports(alloc, L + 1, seed=7)
    type_of = rng.integers(0, 2, T)
    net = assemble(types, type_of, sup, n)

    inst = np.arange(T)[:, None]                          # row t: instance t alone
    X = rng.uniform(0.0, 1.0, size=(T, 1, net.n_in_max))
    acts = net.forward_layers(net.encode(inst, X))
    everyone = np.tile(np.arange(T), (T, 1))

    share = [(m @ m.T) > 0 for m in (incidence(sup[l], n) for l in range(L + 1))]   # (T, T) per layer
    double = [share[l - 1] & share[l] & ~np.eye(T, dtype=bool) for l in range(1, L + 1)]
    clean = ~np.any(np.stack(double), axis=(0, 2))        # no double neighbour at any layer
    assert 0 < clean.sum() < T                            # both kinds occur

    exact = [small_layers(net.types[type_of[t]], X[t, :, :len(net.types[type_of[t]].input_index)])
             for t in range(T)]
    for layer in range(L + 1):
        got = net.readout(acts[layer], layer, everyone)   # (T rows, T instances, d)
        for t in range(T):
            if clean[t]:
                np.testing.assert_allclose(got[t, t], exact[t][layer][0], rtol=1e-5, atol=1e-5)
            assert np.all(got[t, ~share[layer][t]] == 0.0)

    # Layer 1, every instance: each of t's neurons k in block i gets (1/S)(w_u a0_t)[i] from every
    # u != t that owns k at layer 1 and overlaps t at layer 0 (overlap <= 1, so u reads a0_t / S).
    bias = layer_bias(net.d, margin)
    got1 = net.readout(acts[1], 1, inst)[:, 0]
    for t in range(T):
        a0 = exact[t][0][0]
        pre = np.zeros((S, net.d))
        for s, k in enumerate(sup[1, t]):
            pre[s] = net.types[type_of[t]].weights[0] @ a0 + bias
            for u in range(T):
                if u != t and k in sup[1, u] and share[0][t, u]:
                    pre[s] += net.types[type_of[u]].weights[0] @ a0 / S
        np.testing.assert_allclose(got1[t], np.maximum(pre, 0.0).mean(axis=0), rtol=1e-5, atol=1e-5)

    # The outputs of clean instances equal the circuit's up to float32 rounding (bounded, not
    # tuned: `float32_output_bound`); the others carry the propagation error, far above it.
    y = net.decode(acts[-1], inst)[:, 0]
    bound = float32_output_bound(net, acts, inst)[:, 0]
    err, limit = np.zeros(T), np.zeros(T)
    for t in range(T):
        ty = types[type_of[t]]
        want = run_small(ty, X[t, :, :len(ty.input_index)])[0]
        err[t] = np.abs(y[t, :len(want)] - want).max()
        limit[t] = bound[t, :len(want)].max()
    assert np.all(err[clean] <= limit[clean]), np.max(err[clean] / limit[clean])
    assert np.any(err[~clean] > limit[~clean])           # propagation, not rounding


U32 = 2.0 ** -24                                          # unit roundoff of float32


def float32_output_bound(net, acts, inst) -> np.ndarray:
    """(batch, z, n_out_max): how far the float32 network's decoded outputs can lie from exact
    arithmetic, on any CPU and with any summation order. A dot product of k terms rounded in any
    order is within γ_k·Σ|w_j·x_j| of exact, γ_k = k·u/(1 − k·u) (Higham, Accuracy and Stability,
    §3.1); each weight is itself a float64 value rounded to float32 (one more u per term, so
    γ_{k+1}); ReLU is exact and 1-Lipschitz. So with e_0 = u·|a_0| (inputs rounded to float32)
    the error of layer l is at most e_l = |W_l|·e_{l−1} + γ_{k+1}·(|W_l|·|a_{l−1}| + |b_l|), k the
    number of non-zero weights in the neuron's row, and the decoded outputs' at most |readout|·ē_L
    (ē the mean over an instance's S neurons, as `decode` reads them, in float64)."""
    e = U32 * acts[0].double().abs()
    for lin, a in zip(net.linears(), acts[:-1]):
        W = lin.weight.detach().double().abs()
        k = (W > 0).sum(dim=1).double() + 1                                  # per row
        gamma = k * U32 / (1 - k * U32)
        e = e @ W.T + gamma * (a.double().abs() @ W.T + lin.bias.detach().double().abs())
    ahat = net.readout(e.float() * (1 + 4 * U32), net.L, inst)             # mean over S, per instance
    ty = net.type_of[inst]
    return np.einsum("bzod,bzd->bzo", np.abs(net.readout_table[ty]), ahat)


# ---------------------------------------------------------------- 3. scatter-add vs loops

def slow_weights(types, type_of, sup, n):
    d, L, S = types[0].d, types[0].L, sup.shape[2]
    D = d * n
    Ws = []
    for l in range(1, L + 1):
        W = np.zeros((D, D))
        for t in range(len(type_of)):
            w = types[type_of[t]].weights[l - 1]
            for i in range(d):
                for j in range(d):
                    for k in sup[l, t]:
                        for k2 in sup[l - 1, t]:
                            W[i * n + k, j * n + k2] += w[i, j] / S
        Ws.append(W)
    return Ws


def test_weights_equal_a_slow_loop():
    rng = np.random.default_rng(4)
    types = [random_mlp(rng, 3, 2, 1, 1, 0.5, "a"), random_mlp(rng, 3, 2, 1, 2, 0.5, "b")]
    T, d, n, S = 5, 3, 16, 3
    sup = np.stack([rng.permuted(np.tile(np.arange(n), (T, 1)), axis=1)[:, :S] for _ in range(3)])
    type_of = np.array([0, 1, 1, 0, 1])
    net = assemble(types, type_of, sup, n)
    for lin, W in zip(net.linears(), slow_weights(types, type_of, sup, n)):
        assert lin.weight.dtype == torch.float32
        np.testing.assert_allclose(lin.weight.detach().numpy(), W, rtol=1e-6, atol=1e-7)
        assert torch.equal(lin.bias, torch.from_numpy(np.repeat(layer_bias(d, 0.5), n)).float())


def test_chunking_does_not_change_the_weights():
    rng = np.random.default_rng(5)
    types = mixed_types(rng)
    alloc = allocate(40, 30, 3)
    sup, _ = layer_supports(alloc, 4, seed=0)
    type_of = rng.integers(0, 3, 40)
    padded = [ty.padded(6, 3) for ty in types]
    whole = assemble_weights(padded, type_of, sup, 30)
    tiny = assemble_weights(padded, type_of, sup, 30, chunk_entries=1)
    for a, b in zip(whole, tiny):
        assert a.numpy().tobytes() == b.numpy().tobytes()


# ---------------------------------------------------------------- 4. determinism

def test_same_inputs_give_byte_identical_weights():
    def build():
        rng = np.random.default_rng(6)
        types = mixed_types(rng)
        sup, _ = layer_supports(allocate(60, 40, 3), 4, seed=3)
        return assemble(types, rng.integers(0, 3, 60), sup, 40)

    a, b = build(), build()
    for pa, pb in zip(a.model.parameters(), b.model.parameters()):
        assert torch.equal(pa, pb)
        assert pa.detach().numpy().tobytes() == pb.detach().numpy().tobytes()


# ---------------------------------------------------------------- 5. shapes, structure, devices

def test_structure_and_shapes():
    rng = np.random.default_rng(7)
    types = mixed_types(rng)
    sup = disjoint_supports(rng, 3, 5, 2, 12)
    net = assemble(types, np.array([0, 1, 2, 0, 1]), sup, 12)
    assert isinstance(net, CompiledNetwork)
    mods = list(net.model)
    assert len(mods) == 2 * net.L
    for lin, act in zip(mods[::2], mods[1::2]):
        assert isinstance(lin, nn.Linear) and isinstance(act, nn.ReLU)
        assert lin.weight.shape == (net.D, net.D) and lin.bias.shape == (net.D,)
        assert lin.weight.dtype == torch.float32 and lin.weight.device.type == "cpu"
    assert all(ty.d == 6 and ty.L == 3 for ty in net.types)
    assert (net.n_in_max, net.n_out_max) == (3, 3)

    inst = np.array([[0, 3], [4, -1]])
    A0 = net.encode(inst, rng.uniform(size=(2, 2, 3)))
    assert A0.shape == (2, net.D) and A0.dtype == torch.float32
    acts = net.forward_layers(A0)
    assert [tuple(a.shape) for a in acts] == [(2, net.D)] * (net.L + 1)
    assert net.readout(acts[1], 1, inst).shape == (2, 2, net.d)
    assert np.all(np.isnan(net.readout(acts[1], 1, inst)[1, 1]))
    assert net.decode(acts[-1], inst).shape == (2, 2, 3)

    # A forward hook sees the same activations as forward_layers.
    seen = []
    handle = net.model[1].register_forward_hook(lambda m, i, o: seen.append(o))
    with torch.no_grad():
        net.model(A0)
    handle.remove()
    assert torch.equal(seen[0], acts[1])


def test_refusals():
    rng = np.random.default_rng(8)
    a = random_mlp(rng, 4, 2, 1, 1, 1.0)
    b = random_mlp(rng, 4, 2, 1, 1, 2.0)
    sup = disjoint_supports(rng, 2, 2, 2, 8)
    with pytest.raises(CircuitError, match="margins"):
        assemble([a, b], np.array([0, 1]), sup, 8)
    with pytest.raises(CircuitError, match="shape"):
        assemble([a], np.array([0, 0]), sup[:2], 8)
    with pytest.raises(CircuitError, match=r"\[0, n\)"):
        assemble([a], np.array([0, 0]), sup, 4)
    with pytest.raises(CircuitError, match="index"):
        assemble([a], np.array([0, 1]), sup, 8)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_matches_cpu():
    rng = np.random.default_rng(9)
    types = mixed_types(rng)
    sup, _ = layer_supports(allocate(30, 40, 4), 4, seed=1)
    net = assemble(types, rng.integers(0, 3, 30), sup, 40)
    inst = rng.permutation(30)[:8].reshape(4, 2)
    X = rng.uniform(size=(4, 2, net.n_in_max))
    cpu = net.run(inst, X)
    net.to("cuda")
    assert net.device.type == "cuda"
    assert net.encode(inst, X).device.type == "cuda"
    np.testing.assert_allclose(net.run(inst, X), cpu, rtol=1e-4, atol=1e-4)
