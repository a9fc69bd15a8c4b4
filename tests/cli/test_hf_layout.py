"""The Hugging Face layout of an artifact (`--layout hf`, `circuitc export`, `circuitc.push`): the same
files under the Hub's names with a model card, read back by `circuitc.load` like any artifact."""

from __future__ import annotations

import importlib
import json
import sys
import types
from pathlib import Path

import numpy as np
import pytest
from cli_runs import fails, ok

import circuitc
from circuitc import hub

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    """The adders example compiled once in each layout."""
    d = tmp_path_factory.mktemp("layouts")
    comp = circuitc.compile(circuitc.load_spec(EXAMPLES / "adders_network.circ"))
    circuitc.save(comp, d / "own")
    circuitc.save(comp, d / "hf", layout="hf")
    return d / "own", d / "hf"


def test_the_hub_layout_holds_the_same_files_and_a_model_card(both):
    own, hf = both
    assert sorted(p.name for p in hf.iterdir()) == ["README.md", "circuits.circ", "config.json", "model.safetensors"]
    assert (hf / "model.safetensors").read_bytes() == (own / "weights.safetensors").read_bytes()
    assert (hf / "config.json").read_bytes() == (own / "network.json").read_bytes()
    card = (hf / "README.md").read_text()
    meta = json.loads((own / "network.json").read_text())
    assert card.startswith("---\nlibrary_name: circuitc\n")
    assert meta["source_hash"] in card and f"| budget verdict | {meta['budget']['verdict']} |" in card
    assert f"| construction | {meta['config']['construction']} |" in card


def test_load_reads_either_layout_to_the_same_network(both):
    own, hf = (circuitc.load(p) for p in both)
    inst = np.array([[0, -1], [5, -1]])
    x = np.random.default_rng(0).integers(0, 2, (2, 2, own.network.n_in_max)).astype(float)
    assert np.array_equal(own.network.run(inst, x), hf.network.run(inst, x), equal_nan=True)


def test_export_converts_both_ways_byte_for_byte(capsys, both, tmp_path):
    own, hf = both
    ok(capsys, "export", hf, "-o", tmp_path / "back", "--layout", "circuitc")
    for name in ("weights.safetensors", "network.json", "circuits.circ"):
        assert (tmp_path / "back" / name).read_bytes() == (own / name).read_bytes()
    ok(capsys, "export", own, "-o", tmp_path / "hf")
    assert (tmp_path / "hf" / "README.md").read_bytes() == (hf / "README.md").read_bytes()
    # an existing Hub folder is replaced only with --force
    assert "pass --force" in fails(capsys, "export", own, "-o", tmp_path / "hf")
    ok(capsys, "export", own, "-o", tmp_path / "hf", "--force")


def test_a_feature_network_in_the_hub_layout(capsys, tmp_path):
    ok(capsys, "compile", EXAMPLES / "features.circ", "-o", tmp_path / "feat", "--layout", "hf")
    assert (tmp_path / "feat" / "config.json").is_file() and "library_name: circuitc" in (
        tmp_path / "feat" / "README.md").read_text()
    ok(capsys, "verify", tmp_path / "feat", "--samples", "200")


def test_push_without_the_hub_library_is_refused_before_writing(capsys, both, tmp_path, monkeypatch):
    real = importlib.import_module

    def missing(name, *a, **k):
        if name == "huggingface_hub":
            raise ImportError(name)
        return real(name, *a, **k)

    monkeypatch.setattr(importlib, "import_module", missing)
    err = fails(capsys, "export", both[0], "-o", tmp_path / "x", "--push", "me/adders")
    assert "pip install 'circuitc[hub]'" in err and not (tmp_path / "x").exists()


def test_push_uploads_the_folder_and_refuses_the_own_layout(both, monkeypatch):
    calls = []

    class Api:
        def __init__(self, token=None):
            calls.append(("token", token))

        def create_repo(self, repo_id, private=False, exist_ok=False):
            calls.append(("create", repo_id, private, exist_ok))

        def upload_folder(self, folder_path, repo_id, commit_message):
            calls.append(("upload", folder_path, repo_id))
            return types.SimpleNamespace(commit_url=f"https://hub.example/{repo_id}/commit/1")

    monkeypatch.setitem(sys.modules, "huggingface_hub", types.SimpleNamespace(HfApi=Api))
    own, hf = both
    assert hub.push(hf, "me/adders", private=True) == "https://hub.example/me/adders/commit/1"
    assert ("create", "me/adders", True, True) in calls and ("upload", str(hf), "me/adders") in calls
    with pytest.raises(circuitc.CircuitError, match="circuitc export"):
        hub.push(own, "me/adders")
