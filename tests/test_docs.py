"""Every ```circ block in the README and docs/ elaborates, so the documentation cannot drift.

Blocks are read relative to examples/ (where the files they include or load live); the one
safetensors file the MLP reference loads is made here, with the shapes that block declares.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save_file

import circuitc

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCKS = [(doc, i, block) for doc in DOCS
          for i, block in enumerate(re.findall(r"```circ\n(.*?)```", doc.read_text(), re.S))]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    d = tmp_path_factory.mktemp("docs")
    for f in (ROOT / "examples").iterdir():
        if f.is_file():
            shutil.copy(f, d / f.name)
    # The MLP reference loads a bias for its 2-neuron hidden layer and a 1×2 read-out.
    save_file({"l1.bias": np.array([0.0, -1.0]), "l2.weight": np.array([[1.0, -2.0]])},
              str(d / "model.safetensors"))
    return d


def test_the_docs_have_examples():
    assert len(BLOCKS) >= 25


@pytest.mark.parametrize("doc,i,block", BLOCKS, ids=lambda x: x.name if isinstance(x, Path) else str(x)
                         if isinstance(x, int) else "")
def test_block_elaborates(doc, i, block, workdir):
    spec = circuitc.parse(block, filename=f"{doc.name}[{i}]", base_dir=workdir)
    assert spec.circuits or spec.features or spec.networks


@pytest.mark.parametrize("doc,i,block", BLOCKS, ids=lambda x: x.name if isinstance(x, Path) else str(x)
                         if isinstance(x, int) else "")
def test_block_formats_to_a_fixed_point(doc, i, block, workdir):
    """`circuitc fmt` of every documented block means the same and is unchanged by a second run."""
    from circuitc.frontend.syntax.format import format_source
    name = f"{doc.name}[{i}]"
    once = format_source(block, filename=name)
    assert format_source(once, filename=name) == once
    assert circuitc.parse(once, filename=name, base_dir=workdir) == circuitc.parse(block, filename=name,
                                                                                   base_dir=workdir)
