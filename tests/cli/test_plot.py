"""`circuitc verify --plot`: the PNG it writes, its refusals, and `circuitc.plot` on its own."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from cli_runs import run

from circuitc import plot
from circuitc.artifact import load
from circuitc.cli import app as cli

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# Two circuit types, two active at once: predicted and measured errors are both non-trivial.
SOURCE = """\
circuit full_adder {
    in a, b, cin;
    out s, cout;
    s = a ^ b ^ cin;
    cout = maj(a, b, cin);
}

circuit gates { in a, b; out y, z; y = a & ~b; z = a | b; }

network small {
    use full_adder * 12;
    use gates * 12;
    active = 2;
    width = 256;
    seed = 1;
    construction = "coherent";  # the plot draws per-layer read-offs, which routed networks have none of
}
"""


@pytest.fixture(scope="module")
def compiled(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("plot")
    (d / "small.circ").write_text(SOURCE)
    assert cli.main(["compile", str(d / "small.circ"), "-o", str(d / "net")]) == 0
    return d / "net"


def assert_png(path: Path) -> None:
    import matplotlib.image

    data = path.read_bytes()
    assert data.startswith(PNG_SIGNATURE)
    width, height = (round(inches * plot.DPI) for inches in plot.FIGSIZE)
    assert matplotlib.image.imread(path).shape[:2] == (height, width)


def test_plot_is_written_refused_then_forced(compiled, tmp_path, capsys):
    target = tmp_path / "out.png"
    code, out, err = run(capsys, "verify", compiled, "--samples", "300", "--min-accuracy", "0", "--plot", target)
    assert code == 0, err
    assert f"written to {target}" in out
    assert_png(target)
    before = target.read_bytes()

    # Refused before verifying anything: no report, and the file is untouched.
    code, out, err = run(capsys, "verify", compiled, "--samples", "300", "--min-accuracy", "0", "--plot", target)
    assert code == 2 and out == ""
    assert f"{target} exists; pass --force to replace it" in err
    assert target.read_bytes() == before

    code, out, err = run(capsys, "verify", compiled, "--samples", "300", "--seed", "1", "--min-accuracy", "0",
                         "--plot", target, "--force")
    assert code == 0, err
    assert_png(target)


def test_plot_with_json(compiled, tmp_path, capsys):
    target = tmp_path / "errors.png"
    code, out, err = run(capsys, "verify", compiled, "--samples", "200", "--min-accuracy", "0", "--json",
                         "--plot", target)
    assert code == 0, err
    record = json.loads(out)                       # standard output stays pure JSON
    assert record["plot"] == str(target) and record["layers"]
    assert_png(target)


def test_plot_refusals_cost_nothing(compiled, tmp_path, capsys):
    code, out, err = run(capsys, "verify", compiled, "--plot", tmp_path / "errors.svg")
    assert code == 2 and out == "" and "give a file name ending in .png" in err
    code, out, err = run(capsys, "verify", compiled, "--plot", tmp_path / "missing" / "errors.png")
    assert code == 2 and out == "" and "does not exist" in err
    (tmp_path / "dir.png").mkdir()
    code, out, err = run(capsys, "verify", compiled, "--plot", tmp_path / "dir.png", "--force")
    assert code == 2 and out == "" and "is a directory" in err
    assert [p.name for p in tmp_path.iterdir()] == ["dir.png"]


def test_missing_matplotlib_gives_the_install_hint(compiled, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    target = tmp_path / "out.png"
    code, out, err = run(capsys, "verify", compiled, "--samples", "100", "--plot", target)
    assert code == 2 and out == ""
    assert "--plot needs matplotlib" in err and "pip install 'circuitc[plot]'" in err
    assert not target.exists()


def test_neuron_loads():
    supports = np.array([[[0, 1], [1, 2], [2, 3]]] * 3)          # 3 layers, 3 instances, S = 2
    loads = plot.neuron_loads(supports, n=5)
    assert loads.tolist() == [[1, 2, 2, 1, 0]]                    # identical layers: counted once
    supports[2] = [[0, 4], [1, 4], [2, 4]]
    loads = plot.neuron_loads(supports, n=5)
    assert loads.shape == (3, 5) and loads[2].tolist() == [1, 1, 1, 0, 3]
    assert (loads.sum(axis=1) == 3 * 2).all()
    assert plot.neuron_loads(supports[0], n=5).shape == (1, 5)


def test_figure_without_measured_layers(compiled, capsys, tmp_path):
    # verify(..., layer_errors=False) leaves "layers" empty: the predictions are still drawn.
    record = json.loads(run(capsys, "verify", compiled, "--samples", "100", "--min-accuracy", "0", "--json")[1])
    record["layers"] = []
    for layer in record["budget"]["layers"]:
        layer["active_pair_rms"] = None                           # a model that does not apply
    net = load(compiled).network
    png = plot.verification_figure(record, plot.neuron_loads(net.supports, net.n), "no measurements")
    (tmp_path / "p.png").write_bytes(png)
    assert_png(tmp_path / "p.png")


def test_help_mentions_plot(capsys):
    code, out, _ = run(capsys, "verify", "--help")
    assert code == 0 and "--plot FILE.png" in out and "--force" in out
