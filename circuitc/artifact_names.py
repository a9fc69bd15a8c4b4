"""The names of an artifact's files, in circuitc's own layout and in the Hugging Face Hub's.

Kept apart from artifact_format.py (which reads and writes them) so that the command line can
name the layouts without importing anything heavy.
"""

from __future__ import annotations

WEIGHTS = "weights.safetensors"
METADATA = "network.json"
CIRCUITS = "circuits.circ"
FILES = (WEIGHTS, METADATA, CIRCUITS)
# The same artifact in the Hugging Face Hub's layout: the file names its tools look for, and a
# model card (README.md) that says what the network is. The contents are the same.
LAYOUTS = ("circuitc", "hf")
HF_NAMES = {WEIGHTS: "model.safetensors", METADATA: "config.json", CIRCUITS: CIRCUITS}
CARD = "README.md"
# network.json's "kind" of a network over a feature set (features/artifact.py); a network of
# instances has none.
FEATURES_KIND = "features"


def file_names(layout: str = "circuitc") -> dict[str, str]:
    """The file each of FILES is stored as in `layout`."""
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {', '.join(LAYOUTS)}, got {layout!r}")
    return dict(HF_NAMES) if layout == "hf" else {f: f for f in FILES}
