"""The model card (README.md) of an artifact saved in the Hugging Face layout: what the network is,
what it promises, and how to load it, from its network.json record alone.

The YAML header is the Hub's metadata block (library, tags); the body names the construction, the
shape, the sparsity promise, the budget's verdict and the guarantee, the seed and the source hash,
so that a reader of the Hub page knows what was compiled and how far to trust it.
"""

from __future__ import annotations

from typing import Any

TAGS = ("circuitc", "computation-in-superposition", "mechanistic-interpretability", "ground-truth")


def model_card(meta: dict[str, Any]) -> str:
    """README.md text for the artifact whose network.json record is `meta`."""
    name = meta.get("network") or meta.get("circuit") or "compiled network"
    header = ["---", "library_name: circuitc", "tags:"] + [f"- {t}" for t in TAGS] + ["---", ""]
    body = [f"# `{name}`: a network compiled by circuitc", ""]
    if meta.get("kind") == "features":
        body += _features(meta)
    else:
        body += _instances(meta)
    body += ["", "## Files", "",
             "- `model.safetensors`: the tensors (layers, routing tables, lowered circuits)",
             "- `config.json`: everything else (format, configuration, report, budget)",
             "- `circuits.circ`: the source circuits, for verification against the reference interpreter",
             "", "## Use", "", "```python", "import circuitc", "",
             "net = circuitc.load(\"path/to/this/folder\")     # a compiled network, as `circuitc compile` made it",
             "module = net.module()                          # one nn.Module (networks of instances)",
             "```", "",
             "`circuitc verify path/to/this/folder` checks it against its circuits again; the format and a",
             "loader that needs only torch and safetensors are described in circuitc's docs/using.md.", ""]
    return "\n".join(header + body)


def _instances(meta: dict) -> list[str]:
    rep, budget = meta.get("report", {}), meta.get("budget", {})
    config = meta.get("config", {})
    guarantee = budget.get("guarantee") or rep.get("guarantee") or {}
    exact = guarantee.get("exact")
    return [
        f"{rep.get('T')} circuit instances in one ReLU network of width D = {rep.get('D')} and "
        f"L = {rep.get('L')} layers, with at most z = {rep.get('z')} of them active on any input.", "",
        "| figure | value |", "|---|---|",
        f"| construction | {config.get('construction')} |",
        f"| D, L, T, z, S | {rep.get('D')}, {rep.get('L')}, {rep.get('T')}, {rep.get('z')}, {rep.get('S')} |",
        f"| compression (against one neuron per gate) | {_num(rep.get('compression'))} |",
        f"| parameters | {rep.get('parameters')} |",
        f"| budget verdict | {budget.get('verdict')} |",
        f"| exact for every promise-keeping input | {'yes' if exact else 'no'}: {guarantee.get('reason', '')} |",
        f"| seed | {config.get('seed')} |",
        f"| source hash | `{meta.get('source_hash')}` |",
    ]


def _features(meta: dict) -> list[str]:
    return [f"The circuit `{meta.get('circuit')}` over the feature set `{meta.get('features')}`, compiled into "
            f"U-AND layers.", "", "| figure | value |", "|---|---|",
            f"| source hash | `{meta.get('source_hash')}` |"]


def _num(x) -> str:
    return f"{x:.4g}" if isinstance(x, float) else str(x)
