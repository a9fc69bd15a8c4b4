"""Loading a benchmark or example script as a module, for the tests that exercise its functions.

Import with `from scripts import load_script` (the tests directory is on sys.path under pytest's
`pythonpath` setting).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]


def load_script(path: str | Path, register: bool = False) -> ModuleType:
    """The script at `path` (relative to the repository root) as a module named after its file.

    Its own directory is on sys.path while it loads, since benchmark scripts import their
    neighbours (shared_gates.py imports frontier.py); `register` also enters it in sys.modules,
    which dataclasses defined in it need to find their module."""
    path = ROOT / path
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    if register:
        sys.modules[path.stem] = module
    sys.path.insert(0, str(path.parent))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(path.parent))
    return module
