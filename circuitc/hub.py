"""Publishing an artifact on the Hugging Face Hub: `push(path, repo_id)`.

The artifact must be in the Hub's layout (`circuitc compile --layout hf`, or `circuitc export
--layout hf`): model.safetensors, config.json, circuits.circ and the model card README.md. Loading
needs nothing from the Hub library: a downloaded folder is read by `circuitc.load` like any other.

`huggingface_hub` is optional (`pip install 'circuitc[hub]'`): it is imported only when pushing,
and its absence is a CircuitError with that hint.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path

from .artifact_format import check_hashes, open_artifact
from .errors import CircuitError, Diagnostic

__all__ = ["push", "require_hub", "INSTALL_HINT"]

INSTALL_HINT = "pip install 'circuitc[hub]'"


def require_hub():
    """The huggingface_hub module, or a CircuitError with the install hint (before any work)."""
    try:
        return importlib.import_module("huggingface_hub")
    except ImportError:
        raise CircuitError(Diagnostic("pushing to the Hugging Face Hub needs huggingface_hub, which is not "
                                      "installed", hint=INSTALL_HINT)) from None


def push(path: str | os.PathLike, repo_id: str, *, private: bool = False, token: str | None = None) -> str:
    """Upload the artifact folder at `path` to the Hub repository `repo_id` (created if missing);
    returns the URL of the commit. The folder is checked first: a complete artifact in the Hub
    layout."""
    reader, meta = open_artifact(path)              # a CircuitError if it is not a complete artifact
    if reader.layout != "hf":
        raise CircuitError(Diagnostic(f"{os.fspath(path)} is in circuitc's own layout (network.json, "
                                      f"weights.safetensors); the Hub expects config.json and model.safetensors",
                                      hint=f"write a copy in the Hub's layout first: circuitc export {os.fspath(path)} "
                                           f"-o FOLDER --layout hf"))
    check_hashes(reader, meta)                      # never publish a copy damaged since saving
    api = require_hub().HfApi(token=token)
    api.create_repo(repo_id, private=private, exist_ok=True)
    commit = api.upload_folder(folder_path=os.fspath(Path(path)), repo_id=repo_id,
                               commit_message="Upload a network compiled by circuitc")
    return str(getattr(commit, "commit_url", commit))
