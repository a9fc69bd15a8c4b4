"""docs/using.md's loader runs an artifact with json, torch and safetensors alone (circuitc not
importable) and gives what `compiled.module()` gives."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import circuitc
from circuitc.active_sets import random_active

ROOT = Path(__file__).resolve().parents[2]
RECIPE = re.search(r"## Load it with torch and safetensors alone.*?```python\n(.*?)```",
                   (ROOT / "docs" / "using.md").read_text(), re.S).group(1)
ROUTED = ('include "ripple_adder.circ";\nnetwork mixed { use ripple_adder<N=4> * 200; use full_adder * 100; '
          'active = 3; width = 2048; }')
SCRIPT = """
import sys
sys.modules["circuitc"] = None            # the loader must not need circuitc
import torch
{recipe}
model, run = load_plain(sys.argv[1])
rows = torch.load(sys.argv[2])
torch.save(run(rows["instances"], rows["inputs"]), sys.argv[3])
"""


@pytest.mark.parametrize("kind", ["routed", "coherent"])
def test_the_plain_loader_matches_the_module(tmp_path, kind):
    if kind == "routed":
        comp = circuitc.compile(circuitc.parse(ROUTED, base_dir=ROOT / "examples"))
    else:
        comp = circuitc.compile(circuitc.load_spec(ROOT / "examples" / "adders_network.circ"), construction="coherent")
    circuitc.save(comp, tmp_path / "net")
    rng = np.random.default_rng(1)
    net = comp.network
    inst = torch.from_numpy(random_active(net.T, comp.config.z, 40, rng))
    x = torch.from_numpy(rng.integers(0, 2, (40, comp.config.z, net.n_in_max)).astype(np.float32))
    torch.save({"instances": inst, "inputs": x}, tmp_path / "rows.pt")
    (tmp_path / "load.py").write_text(SCRIPT.format(recipe=RECIPE))
    subprocess.run([sys.executable, str(tmp_path / "load.py"), str(tmp_path / "net"), str(tmp_path / "rows.pt"),
                    str(tmp_path / "out.pt")], check=True, capture_output=True, text=True)
    got = torch.load(tmp_path / "out.pt")
    with torch.no_grad():
        want = comp.module()(inst, x)
    # Both networks are exact on these rows, so every decoded bit must agree. The values come from
    # different float32 summation orders (dense layers against position blocks, per-row against
    # batched read-outs); a loader that put anything in the wrong place would be off by whole
    # units, which the loose value check catches.
    assert torch.equal(got > 0.5, want > 0.5) and torch.equal(want > 0.5, torch.from_numpy(
        np.nan_to_num(comp.network.run(inst.numpy(), x.numpy().astype(float))) > 0.5).float().bool())
    assert (got - want).abs().max() <= 1e-3 * max(1.0, float(want.abs().max()))
