"""Saved networks run in numpy (instances/numpy_forward.py) against the torch network read from the
same artifact: the same decoded outputs, and read-outs within the float32 rounding the two sums can
differ by (derived below, not tuned); `circuitc run` on a few rows never imports torch."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from cli_runs import ok

import circuitc
from circuitc.active_sets import random_active
from circuitc.artifact_format import open_artifact
from circuitc.instances.artifact import LoadedNetwork, loaded_network
from circuitc.instances.assemble import FEW_POSITIONS, PositionLocal
from circuitc.instances.numpy_forward import NumpyNetwork, PositionBlocks, numpy_network
from circuitc.instances.run import NUMPY_ROWS, Runnable, run, runner
from circuitc.instances.stored import read_stored
from circuitc.instances.verify import sample_inputs

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
ROUTED = ('include "ripple_adder.circ";\nnetwork mixed { use ripple_adder<N=4> * 200; use full_adder * 100; '
          'active = 3; width = 2048; }')
U32, U64 = 2.0 ** -24, 2.0 ** -53          # unit roundoffs of float32 and float64


def gamma(m: int, u: float = U32) -> float:
    """γ_m = m·u / (1 − m·u): the relative error bound of a sum of m products in floating point,
    whatever the order of the additions (Higham, Accuracy and Stability, §3.1)."""
    return m * u / (1 - m * u)


@pytest.fixture(scope="module", params=["routed", "coherent", "mlp", "cis2"])
def saved(request, tmp_path_factory):
    if request.param == "cis2":
        comp = circuitc.compile(circuitc.load_spec(EXAMPLES / "rotations.circ"))
    elif request.param == "routed":
        comp = circuitc.compile(circuitc.parse(ROUTED, base_dir=EXAMPLES))
    elif request.param == "coherent":
        comp = circuitc.compile(circuitc.load_spec(EXAMPLES / "adders_network.circ"), construction="coherent")
    else:
        source = (EXAMPLES / "mlp_xor.circ").read_text() + "\nnetwork n { use mlp_xor * 40; active = 1; width = 128; }"
        comp = circuitc.compile(circuitc.parse(source, base_dir=EXAMPLES))
    path = tmp_path_factory.mktemp(request.param) / "net"
    circuitc.save(comp, path)
    stored = read_stored(*open_artifact(path))
    return request.param, path, stored, numpy_network(stored), loaded_network(stored)


def _rows(net, z: int, batch: int, seed: int, loaded) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    inst = random_active(net.T, z, batch, rng)
    return inst, sample_inputs(loaded, inst, rng)


def _difference_bounds(torch_net, layers_np: list[np.ndarray], layers_t: list[np.ndarray]) -> list[np.ndarray]:
    """Per layer, a bound on |A_numpy − A_torch| element by element ((batch, D) from layer 1 on).
    Both start from the same float32 layer 0 and the same float32 weights. A layer's computed sums
    differ from the exact sums of their computed inputs by at most γ_m·(|W||a| + |b|) (m: the most
    entries of a row, + 1 for the bias), an error below carries through |W|, and the ReLU only
    shrinks differences; so each path is within e_l = |W| e_{l−1} + γ_m (|W| max|a_{l−1}| + |b|)
    of the exact forward pass from layer 0 (max over both paths' activations), and the two are
    within 2·e_l of each other."""
    e = np.zeros(torch_net.D)
    out = [e]
    for (W, b), a_np, a_t in zip(torch_net.dense_layers(), layers_np[:-1], layers_t[:-1]):
        W, b = np.abs(W.double().numpy()), np.abs(b.double().numpy())
        m = int((W != 0).sum(axis=1).max()) + 1
        a = np.maximum(np.abs(a_np), np.abs(a_t)).astype(np.float64)
        e = e @ W.T + gamma(m) * (a @ W.T + b)
        out.append(2 * e)
    return out


def _both_ways(np_net, net, inst, x) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
    """Every layer's activations in numpy and in torch, and the bound on their difference."""
    A_np = np_net.forward_layers(np_net.encode(inst, x))
    A_t = [a.numpy() for a in net.forward_layers(net.encode(inst, x))]
    return A_np, A_t, _difference_bounds(net, A_np, A_t)


def _readout_bound(np_net, net, inst, A_np, A_t, bound_L) -> np.ndarray:
    """A bound on |y_numpy − y_torch| (batch, z, n_out_max): the read-off is the mean of S neurons
    and the outputs its read-out rows, in float64, the same operations on both sides, so the
    difference is at most |R|·mean(bound_L) plus both sides' float64 roundings, γ_{S+d}·|R||â|."""
    dA = np_net.read_off(np.broadcast_to(bound_L, A_np[-1].shape), net.L, inst)          # mean bound per unit
    ahat = np.abs(np_net.read_off(np.maximum(np.abs(A_np[-1]), np.abs(A_t[-1])), net.L, inst))
    R = np.abs(net.readout_table[net.type_of[np.maximum(inst, 0)]])                        # (b, z, out, d)
    slack = 2 * gamma(net.S + net.d, U64) * np.einsum("bzod,bzd->bzo", R, np.nan_to_num(ahat))
    return np.einsum("bzod,bzd->bzo", R, np.nan_to_num(dA)) + slack


def test_numpy_and_torch_compute_the_same_layers_and_outputs(saved):
    kind, _, stored, np_net, loaded = saved
    net = loaded.network
    inst, x = _rows(net, stored.config.z, 48, 0, loaded)
    A_np, A_t, bounds = _both_ways(np_net, net, inst, x)
    assert np.array_equal(A_np[0], A_t[0])                                   # one encoding
    for l, (a, b, e) in enumerate(zip(A_np, A_t, bounds)):
        assert np.all(np.abs(a.astype(np.float64) - b) <= e), (kind, l)
    if kind == "routed":         # boolean circuits on position blocks: every value exact in float32
        assert all(np.array_equal(a, b) for a, b in zip(A_np, A_t))
    y_np, y_t = np_net.decode(A_np[-1], inst), net.decode(torch.from_numpy(A_t[-1]), inst)
    assert np.array_equal(np.isnan(y_np), np.isnan(y_t))
    live = ~np.isnan(y_t)
    assert np.all(np.abs(y_np - y_t)[live] <= _readout_bound(np_net, net, inst, A_np, A_t, bounds[-1])[live]), kind
    assert np.array_equal(np_net.run(inst, x), y_np, equal_nan=True)


def test_run_decodes_the_same_outputs_either_way(saved):
    """Boolean outputs decode the same; MLP outputs are read-outs, within the bound above."""
    kind, _, stored, np_net, loaded = saved
    net = loaded.network
    inst, x = _rows(net, stored.config.z, 64, 1, loaded)
    rows = [{int(t): x[b, s, :len(loaded.circuits[net.type_of[t]].input_bits)]
             for s, t in enumerate(inst[b]) if t >= 0} for b in range(len(inst))]
    with_numpy = run(Runnable(np_net, stored.config, stored.circuits), rows)
    with_torch = run(loaded, rows)
    assert with_numpy == run(runner(stored, len(rows)), rows)
    if kind in ("routed", "coherent"):
        assert with_numpy == with_torch
        return
    A_np, A_t, bounds = _both_ways(np_net, net, inst, x)
    bound = _readout_bound(np_net, net, inst, A_np, A_t, bounds[-1])
    for b, (got, want) in enumerate(zip(with_numpy, with_torch)):
        assert list(got) == list(want)
        for t in got:
            s = list(inst[b]).index(t)
            flat = [np.ravel(got[t][port]) for port in got[t]], [np.ravel(want[t][port]) for port in want[t]]
            diff = np.abs(np.concatenate(flat[0]) - np.concatenate(flat[1]))
            assert np.all(diff <= bound[b, s, :len(diff)]), (kind, b, t)


def test_runner_chooses_numpy_for_a_few_rows_on_the_host(saved):
    _, _, stored, _, _ = saved
    assert isinstance(runner(stored, 1).network, NumpyNetwork)
    assert isinstance(runner(stored, NUMPY_ROWS).network, NumpyNetwork)
    assert isinstance(runner(stored, NUMPY_ROWS + 1), LoadedNetwork)
    assert isinstance(runner(stored, 1, "cpu"), LoadedNetwork)


@pytest.mark.parametrize("d,n", [(5, 18), (40, 18), (5, 80)])
def test_position_layers_whose_types_are_not_in_ranges_gather_first(d, n):
    """A position → type table in no order (each type's positions scattered): the torch layer
    (after its gather) and the numpy one compute what the dense export computes, for types in a
    few positions (n = 18: one product over all rows) and in many (n = 80: one per row)."""
    rng = np.random.default_rng(3)
    position_type = rng.integers(0, 4, n)                                  # entry 3: unused positions
    many = np.bincount(position_type, minlength=4)[:3] > FEW_POSITIONS
    assert many.all() if n == 80 else not many.any()
    weight = rng.standard_normal((4, d, d)).astype(np.float32)
    bias = rng.standard_normal((4, d)).astype(np.float32)
    weight[3], bias[3] = 0, 0
    layer = PositionLocal(torch.from_numpy(weight), torch.from_numpy(bias), torch.from_numpy(position_type))
    assert layer.order is not None
    x = rng.standard_normal((7, d * n)).astype(np.float32)
    W, b = layer.dense()
    exact = x.astype(np.float64) @ W.double().numpy().T + b.double().numpy()
    scale = gamma(d + 1) * (np.abs(x.astype(np.float64)) @ np.abs(W.double().numpy()).T + np.abs(b.double().numpy()))
    with torch.no_grad():
        got_t = layer(torch.from_numpy(x)).numpy()
    got_np = PositionBlocks(weight, bias, position_type)(x)
    assert np.all(np.abs(got_t - exact) <= scale) and np.all(np.abs(got_np - exact) <= scale)
    assert np.all(got_t.reshape(7, d, n)[:, :, position_type == 3] == 0)


def test_the_command_line_runs_a_row_without_torch(saved, capsys):
    kind, path, *_ = saved
    if kind != "routed":
        pytest.skip("one network is enough")
    code = ("import sys\nfrom circuitc.cli import main\n"
            f"code = main(['run', {str(path)!r}, '--instance', '0', 'a=5', 'b=9', 'cin=1', '--json'])\n"
            "print('torch' in sys.modules)\nsys.exit(code)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    record, imported = done.stdout.rsplit("\n", 2)[0], done.stdout.rsplit("\n", 2)[1]
    assert imported == "False"
    assert json.loads(record)["rows"] == [{"0": {"s": 15, "cout": 0}}]        # 5 + 9 + 1
    on_device = json.loads(ok(capsys, "run", path, "--instance", "0", "a=5", "b=9", "cin=1", "--json",
                              "--device", "cpu"))
    assert on_device["rows"] == json.loads(record)["rows"]
