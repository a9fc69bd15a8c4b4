"""The compiled network as one self-contained torch module (instances/module.py): the same
outputs as `CompiledNetwork.run`, stable submodule names for hooks, every table a buffer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import circuitc
from circuitc.active_sets import random_active
from circuitc.instances.verify import sample_inputs

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
ROUTED = ('include "ripple_adder.circ";\nnetwork mixed { use ripple_adder<N=4> * 200; use full_adder * 100; '
          'active = 3; width = 2048; }')


@pytest.fixture(scope="module", params=["routed", "coherent", "mlp", "cis2"])
def compiled(request):
    if request.param == "cis2":
        return circuitc.compile(circuitc.load_spec(EXAMPLES / "rotations.circ"))
    if request.param == "routed":
        return circuitc.compile(circuitc.parse(ROUTED, base_dir=EXAMPLES))
    if request.param == "coherent":
        return circuitc.compile(circuitc.load_spec(EXAMPLES / "adders_network.circ"), construction="coherent")
    source = (EXAMPLES / "mlp_xor.circ").read_text() + "\nnetwork n { use mlp_xor * 40; active = 1; width = 128; }\n"
    return circuitc.compile(circuitc.parse(source, base_dir=EXAMPLES))


def test_the_module_computes_what_the_network_runs(compiled):
    """Both read the same float32 activations; the module averages the S neurons and applies the
    read-out in float32, `run` in float64, so they differ by at most (S + d) roundings of 2^-24
    relative to the largest term (bounded here by |readout| times the largest activation)."""
    net, module = compiled.network, compiled.module()
    rng = np.random.default_rng(0)
    inst = random_active(net.T, compiled.config.z, 400, rng)
    x = sample_inputs(compiled, inst, rng)
    want = np.nan_to_num(net.run(inst, x))
    with torch.no_grad():
        got = module(torch.from_numpy(inst), torch.from_numpy(x)).numpy()
        scale = float(net.model(net.encode(inst, x)).abs().max()) * np.abs(net.readout_table).sum(-1).max()
    assert np.abs(got - want).max() <= (net.S + net.d) * 2.0 ** -24 * max(scale, 1.0)
    live = inst >= 0
    assert np.all(got[~live] == 0)


def test_submodules_have_stable_names_and_hooks_see_every_layer(compiled):
    module = compiled.module()
    names = dict(module.named_modules())
    L = compiled.network.L
    assert all(f"layers.{2 * l}" in names and f"layers.{2 * l + 1}" in names for l in range(L))
    assert names["layers.0"] is compiled.network.model[0]                     # shared, not copied
    seen = []
    module.layers[1].register_forward_hook(lambda m, i, o: seen.append(o.shape))
    inst = torch.zeros((5, 1), dtype=torch.int64)
    module(inst, torch.zeros((5, 1, compiled.network.n_in_max)))
    assert seen == [torch.Size([5, compiled.network.D])]


def test_every_table_is_a_buffer_in_the_state_dict(compiled):
    state = compiled.module().state_dict()
    assert {"type_of", "supports_in", "supports_out", "input_unit", "readout_table", "n_outputs"} <= set(state)
    assert all(t.device.type == "cpu" for t in state.values())


def test_the_dense_form_gives_the_sparse_forms_outputs(compiled):
    """(batch, T, n_in) inputs and a (batch, T) mask of at most z active instances: the same values as
    the sparse form on the same rows (the same float32 computation), 0 for every inactive instance."""
    net, module = compiled.network, compiled.module()
    z = compiled.config.z
    rng = np.random.default_rng(1)
    inst = random_active(net.T, z, 64, rng)
    # each row's instances in ascending order, unused slots last: the order the dense form takes them in
    inst = np.where(inst >= 0, inst, net.T)
    inst.sort(axis=1)
    inst[inst == net.T] = -1
    x = sample_inputs(compiled, inst, rng)
    active = np.zeros((64, net.T), dtype=bool)
    dense_x = np.zeros((64, net.T, net.n_in_max), dtype=np.float32)
    rows, slots = np.nonzero(inst >= 0)
    active[rows, inst[rows, slots]] = True
    dense_x[rows, inst[rows, slots]] = x[rows, slots]
    with torch.no_grad():
        sparse = module(torch.from_numpy(inst), torch.from_numpy(x).float()).numpy()
        dense = module.forward_dense(torch.from_numpy(dense_x), torch.from_numpy(active)).numpy()
    assert np.array_equal(dense[rows, inst[rows, slots]], sparse[rows, slots])
    assert np.all(dense[~active] == 0)
    too_many = np.zeros((1, net.T), dtype=bool)
    too_many[0, :z + 1] = True
    with pytest.raises(ValueError, match=f"activates {z + 1} instances"):
        module.forward_dense(torch.zeros(1, net.T, net.n_in_max), torch.from_numpy(too_many))

