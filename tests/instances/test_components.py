"""Per-instance weight components (instances/components.py, `circuitc components`): they add up
to every layer's weights, each lies on its own instance's neurons, and only constructions whose
layers are a sum over instances have them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from cli_runs import fails, ok
from safetensors import safe_open

import circuitc
from circuitc.instances.components import components

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
MIXED = ('include "ripple_adder.circ";\nnetwork mixed { use full_adder * 40; use ripple_adder<N=3> * 20; '
         'active = 2; width = 512; construction = "coherent"; }')


@pytest.fixture(scope="module", params=["adders", "mixed"])
def compiled(request):
    if request.param == "adders":
        return circuitc.compile(circuitc.load_spec(EXAMPLES / "adders_network.circ"), construction="coherent")
    return circuitc.compile(circuitc.parse(MIXED, base_dir=EXAMPLES), shuffle=True)   # supports differ per layer


def test_components_add_up_to_the_weights(compiled):
    """The weights are the components' sum accumulated in float64 and rounded once to float32, so
    the sum lies within half a float32 unit of each weight: |ΣC − W| <= 2^-24·|ΣC|."""
    for l, (W, _) in enumerate(compiled.network.dense_layers(), start=1):
        total = components(compiled, l).sum(0).to_dense()
        assert torch.all((total - W.double()).abs() <= 2.0 ** -24 * total.abs())


def test_each_component_lies_on_its_instance_neurons(compiled):
    net = compiled.network
    for l in range(1, net.L + 1):
        C = components(compiled, l)
        t, row, col = C.indices().numpy()
        rows_ok = (net.supports[l][t] == (row % net.n)[:, None]).any(1)
        cols_ok = (net.supports[l - 1][t] == (col % net.n)[:, None]).any(1)
        assert rows_ok.all() and cols_ok.all() and C._nnz() > 0
        # Instance 0's component: its lowered weights / S on each of its S x S neuron pairs.
        mine = t == 0
        assert np.isclose(C.values().numpy()[mine].sum(), net.S * net.types[net.type_of[0]].weights[l - 1].sum())


def test_routed_networks_have_none(capsys, tmp_path):
    comp = circuitc.compile(circuitc.load_spec(EXAMPLES / "adders_network.circ"))
    with pytest.raises(circuitc.CircuitError, match="routed construction's layers are not a sum over instances"):
        components(comp, 1)
    circuitc.save(comp, tmp_path / "routed")
    assert "--construction coherent" in fails(capsys, "components", tmp_path / "routed", "-o", tmp_path / "c.st")


def test_the_command_line_writes_them(capsys, compiled, tmp_path):
    circuitc.save(compiled, tmp_path / "net")
    out = ok(capsys, "components", tmp_path / "net", "-o", tmp_path / "c.safetensors")
    assert "they add up to each layer's weights" in out
    with safe_open(str(tmp_path / "c.safetensors"), framework="pt") as f:
        assert f.metadata()["T"] == str(compiled.network.T)
        for l in range(1, compiled.network.L + 1):
            C = components(compiled, l)
            assert torch.equal(f.get_tensor(f"layer.{l}.indices"), C.indices())
            assert torch.equal(f.get_tensor(f"layer.{l}.values"), C.values())
    assert "exists" in fails(capsys, "components", tmp_path / "net", "-o", tmp_path / "c.safetensors")


def test_read_outs_are_components_too(compiled):
    """Every instance's read-out U_t from the last layer: U_t @ A^L is what decoding reads."""
    from circuitc.instances.components import readout_components

    net = compiled.network
    U = readout_components(compiled).to_dense()                       # (T, n_out, D)
    rng = np.random.default_rng(0)
    inst = rng.permutation(net.T)[:2][None, :]
    x = rng.integers(0, 2, size=(1, 2, net.n_in_max)).astype(float)
    A = net.forward_layers(net.encode(inst, x))[-1].double()[0]       # (D,)
    want = net.outputs(net.read_off(A[None].numpy(), net.L, inst), inst)[0]      # NaN past own outputs
    got = (U[inst[0]] @ A).numpy()
    own = ~np.isnan(want)
    np.testing.assert_allclose(got[own], want[own], rtol=1e-9, atol=1e-9)
    assert np.all(got[~own] == 0)


def test_lookup_networks_are_a_shared_part_and_read_outs(capsys, tmp_path):
    """The lookup construction: every layer is kron(decoder, used positions) and no instance has a
    component there; the circuits differ in their read-outs alone."""
    from circuitc.instances.components import readout_components, shared_part

    source = ("circuit f<K> { in x[3]; out y; y = (x[K % 3] ^ x[(K + 1) % 3]) & bit(K, 2) | bit(K, 3); }\n"
              "network n { use f<K=0..16>; active = 2; width = 256; construction = \"lookup\"; }")
    comp = circuitc.compile(circuitc.parse(source))
    for l, (W, _) in enumerate(comp.network.dense_layers(), start=1):
        assert components(comp, l)._nnz() == 0
        mean, map_ = shared_part(comp, l)
        assert torch.equal(torch.from_numpy(np.kron(mean, map_)).float(), W)
    U = readout_components(comp).to_dense()
    assert len({tuple(U[t].flatten().tolist()) for t in range(comp.network.T)}) > 1   # different read-outs
    circuitc.save(comp, tmp_path / "net")
    out = ok(capsys, "components", tmp_path / "net", "-o", tmp_path / "c.safetensors")
    assert "readout.indices" in out
    with safe_open(str(tmp_path / "c.safetensors"), framework="pt") as f:
        assert "layer.1.shared_mean" in f.keys() and "readout.values" in f.keys()
