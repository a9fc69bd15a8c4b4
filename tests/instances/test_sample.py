"""Labelled activations (instances/sample.py, `circuitc sample`): the ground truth is carried by the
neurons the index says, the outputs match the reference, shards equal the batches, seeded."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from cli_runs import fails, ok
from safetensors.torch import load_file

import circuitc
from circuitc.instances.sample import INDEX, sample, write_shards

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
ROUTED = """include "ripple_adder.circ";
network mixed { use ripple_adder<N=4> * 200; use full_adder * 100; active = 3; width = 2048; }
"""


@pytest.fixture(scope="module")
def adders():
    return circuitc.compile(circuitc.load_spec(EXAMPLES / "adders_network.circ"))


@pytest.fixture(scope="module")
def routed():
    return circuitc.compile(circuitc.parse(ROUTED, base_dir=EXAMPLES))


def _carried(batch: dict, comp, layer: int) -> np.ndarray:
    """(b, z, d, S): the network's activations at the neurons that carry each active instance."""
    net = comp.network
    inst = batch["active"].numpy()
    sup = net.supports[layer][np.maximum(inst, 0)]                                   # (b, z, S)
    index = np.arange(net.d)[None, None, :, None] * net.n + sup[:, :, None, :]       # (b, z, d, S)
    A = batch[f"layer.{layer}"].numpy()
    return np.take_along_axis(A[:, None, None, :], index.reshape(len(A), 1, 1, -1), axis=3).reshape(index.shape)


def test_one_active_instance_its_neurons_hold_its_truth_exactly(adders):
    """z = 1, routed: every position of the active instance is clean, and its values are small
    integers computed from integer weights, so float32 holds them exactly in any summation order."""
    net = adders.network
    for batch in sample(adders, 700, batch=256, seed=3):
        assert set(batch) >= {"active", "inputs", "outputs", "expected", *(f"layer.{l}" for l in range(net.L + 1)),
                              *(f"truth.{l}" for l in range(net.L + 1))}
        assert batch["layer.0"].shape[1] == net.D and batch["truth.1"].shape[1:] == (1, net.d)
        for layer in range(1, net.L + 1):
            truth = batch[f"truth.{layer}"].numpy()[..., None]                      # (b, 1, d, 1)
            carried = _carried(batch, adders, layer)
            assert np.array_equal(carried, np.broadcast_to(truth, carried.shape))
        assert torch.equal(batch["outputs"], batch["expected"])


def test_several_active_outputs_match_and_clean_positions_carry_the_truth(routed):
    net = routed.network
    batches = list(sample(routed, 600, batch=300, seed=1, mode="adversarial"))
    assert sum(len(b["active"]) for b in batches) == 600
    for batch in batches:
        live = ~torch.isnan(batch["expected"])
        assert torch.equal(batch["outputs"][live], batch["expected"][live])
        inst = batch["active"].numpy()
        # A position no other active instance of the row uses holds the instance's exact values.
        sup = net.supports[0][np.maximum(inst, 0)]                                     # (b, z, S)
        other = (sup[:, :, :, None, None] == sup[:, None, None, :, :]) & (inst >= 0)[:, None, None, :, None]
        other &= ~np.eye(inst.shape[1], dtype=bool)[None, :, None, :, None]
        clean = ~other.any(axis=(3, 4)) & (inst >= 0)[..., None]                     # (b, z, S)
        for layer in range(1, net.L + 1):
            got = _carried(batch, routed, layer)                                       # (b, z, d, S)
            truth = np.broadcast_to(batch[f"truth.{layer}"].numpy()[..., None], got.shape)
            mask = np.broadcast_to(clean[:, :, None, :], got.shape)
            assert mask.any() and np.array_equal(got[mask], truth[mask])


def test_shards_equal_the_batches_and_are_deterministic(routed, tmp_path):
    write_shards(routed, tmp_path / "a", 500, batch=200, seed=5)
    write_shards(routed, tmp_path / "b", 500, batch=200, seed=5)
    index = json.loads((tmp_path / "a" / INDEX).read_text())
    assert index["rows"] == 500 and [s["rows"] for s in index["shards"]] == [200, 200, 100]
    for shard, batch in zip(index["shards"], sample(routed, 500, batch=200, seed=5)):
        stored = load_file(str(tmp_path / "a" / shard["file"]))
        assert (tmp_path / "a" / shard["file"]).read_bytes() == (tmp_path / "b" / shard["file"]).read_bytes()
        for key, value in batch.items():
            torch.testing.assert_close(stored[key], value, rtol=0, atol=0, equal_nan=True, msg=key)
        assert torch.equal(stored["supports"], torch.from_numpy(routed.network.supports))


def test_the_command_line(capsys, adders, tmp_path):
    circuitc.save(adders, tmp_path / "net")
    out = ok(capsys, "sample", tmp_path / "net", "--rows", "300", "--batch", "128", "-o", tmp_path / "s")
    assert "sampled 300 rows" in out and "3 shards" in out
    assert "exists; pass --force" in fails(capsys, "sample", tmp_path / "net", "--rows", "10", "-o", tmp_path / "s")
    ok(capsys, "sample", tmp_path / "net", "--rows", "10", "-o", tmp_path / "s", "--force")
    assert json.loads((tmp_path / "s" / INDEX).read_text())["rows"] == 10
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "keep.txt").write_text("mine")
    assert "is not a directory of samples" in fails(capsys, "sample", tmp_path / "net", "-o", tmp_path / "other",
                                                    "--force")
    assert "--rows must be 1 or more" in fails(capsys, "sample", tmp_path / "net", "--rows", "0", "-o", tmp_path / "t")
