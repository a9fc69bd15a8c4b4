"""The public API: `circuitc.__all__` resolves, every package's `__all__` resolves, the README's
Python block runs as written, and `import circuitc` does not load torch."""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

import circuitc

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ["circuitc", "circuitc.instances", "circuitc.features", "circuitc.cli", "circuitc.active_sets",
            "circuitc.artifact", "circuitc.back_ends", "circuitc.instances.constructions", "circuitc.sweep"]


@pytest.mark.parametrize("package", PACKAGES)
def test_every_exported_name_resolves(package):
    module = importlib.import_module(package)
    missing = [name for name in module.__all__ if getattr(module, name, None) is None]
    assert not missing


def test_the_api_is_grouped_by_job():
    for name in ("parse", "load_spec", "evaluate", "compile", "budget", "verify", "load", "save",
                 "compile_features", "back_end", "Spec", "CircuitError"):
        assert name in circuitc.__all__


def test_import_circuitc_stays_light():
    code = "import sys, circuitc; circuitc.parse('circuit a { in x; out y; y = ~x; }'); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
    assert callable(circuitc.compile) and circuitc.compile.__module__ == "circuitc.instances.compile"


def test_the_readme_python_block_runs(tmp_path, monkeypatch):
    block = re.search(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S).group(1)
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    monkeypatch.chdir(tmp_path)
    scope: dict = {}
    exec(compile(block, "README.md", "exec"), scope)
    assert scope["comp"].report()["compression"] == pytest.approx(1.955, abs=1e-3)
    assert (tmp_path / "adders" / "network.json").is_file()


def test_back_end_is_chosen_in_the_library():
    assert circuitc.back_end(circuitc.load_spec(ROOT / "examples" / "adders_network.circ")) == "instances"
    assert circuitc.back_end(circuitc.load_spec(ROOT / "examples" / "deep_features.circ")) == "features"
    with pytest.raises(circuitc.CircuitError, match="not a circuit over a feature set"):
        circuitc.back_end(circuitc.load_spec(ROOT / "examples" / "full_adder.circ"), "full_adder")


def test_using_md_python_example_states_what_run_returns():
    """docs/using.md's `run` example: instances 3 and 400 are 4-bit ripple adders in the example
    network it names and in this smaller one, and both are exact, so the outputs are the same."""
    text = (ROOT / "docs" / "using.md").read_text()
    claimed = re.search(r"circuitc\.run\(comp, (\{.*?\})\)\n# -> (.*)\n", text)
    spec = circuitc.parse('include "routed_adders.circ";\nnetwork small { use ripple_adder<4> * 500; '
                          'use comparator<4> * 100; active = 3; width = 2268; }', base_dir=ROOT / "examples")
    comp = circuitc.compile(spec, "small")
    assert str(circuitc.run(comp, eval(claimed.group(1)))) == claimed.group(2)


def test_the_wheel_lists_every_package():
    """pyproject.toml names its packages one by one (the grammar lives outside the package tree), so
    a new subpackage missing from the list would be absent from an installed, non-editable copy."""
    text = (ROOT / "pyproject.toml").read_text()
    listed = set(re.search(r"^packages = \[(.*?)\]", text, re.M).group(1).replace('"', "").replace(" ", "").split(","))
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "circuitc").rglob("__init__.py")}
    assert found - {"circuitc.grammars"} <= listed, sorted(found - listed)
