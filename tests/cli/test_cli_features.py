"""`circuitc compile`, `budget` and `verify` of circuits over feature sets, through `main([...])`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_runs import fails, ok, run

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

SOURCE = """\
features f[40] { active = 2; }

circuit gates over f {
    out y[3];
    y[0] = f[0] & f[1];
    y[1] = f[2] ^ f[3];
    y[2] = ~(f[4] | f[5]);
}

circuit plain {
    in a, b;
    out y;
    y = a & b;
}
"""


@pytest.fixture
def source(tmp_path) -> Path:
    path = tmp_path / "gates.circ"
    path.write_text(SOURCE)
    return path


def test_compile_then_verify_every_mode(source, tmp_path, capsys):
    out = ok(capsys, "compile", source, "-o", tmp_path / "net", "--target", "1e-3")
    assert "compiled feature circuit `gates`" in out and "per layer (predicted)" in out
    assert "error rate per wire" in out
    out = ok(capsys, "verify", tmp_path / "net", "--samples", "2000")
    assert "random mode, on 2000 samples" in out and "ok: bit accuracy" in out
    out = ok(capsys, "verify", tmp_path / "net", "--adversarial", "--samples", "500")
    assert "adversarial mode" in out
    rec = json.loads(ok(capsys, "verify", tmp_path / "net", "--exhaustive", "--json"))
    assert rec["kind"] == "features" and rec["samples"] == 1 + 40 + 780 and rec["passed"]
    assert rec["bit_accuracy"] >= 0.999
    assert [l["kind"] for l in rec["layers"]][-1] == "gate"


def test_compile_json_and_force(source, tmp_path, capsys):
    rec = json.loads(ok(capsys, "compile", source, "-o", tmp_path / "net", "--json", "--ec", "none",
                        "--target", "1e-3"))
    rep = rec["report"]
    assert rep["circuit"] == "gates" and rep["corrections"] == [] and rep["config"]["ec"] == "none"
    err = fails(capsys, "compile", source, "-o", tmp_path / "net")
    assert "exists" in err and "--force" in err
    ok(capsys, "compile", source, "-o", tmp_path / "net", "--force", "--target", "1e-3")


def test_budget_text_json_markdown(source, capsys):
    out = ok(capsys, "budget", source, "--target", "1e-3")
    assert "budget of feature circuit `gates`" in out and "predicted σ" in out
    rec = json.loads(ok(capsys, "budget", source, "--json", "--target", "1e-3"))
    assert rec["stages"][-1]["kind"] == "gate" and rec["sigma_design"] > 0
    md = ok(capsys, "budget", source, "--markdown", "--target", "1e-3")
    assert md.startswith("## Budget of feature circuit") and "| layer | kind |" in md


def test_circuit_option_picks_the_back_end(source, tmp_path, capsys):
    err = fails(capsys, "compile", source, "-o", tmp_path / "n", "--circuit", "plain")
    assert "`plain` is not a circuit over a feature set" in err
    err = fails(capsys, "compile", source, "-o", tmp_path / "n", "--circuit", "nope")
    assert "no circuit named `nope`" in err


def test_options_of_the_other_back_end_are_refused(source, tmp_path, capsys):
    err = fails(capsys, "compile", source, "-o", tmp_path / "n", "--redundancy", "3")
    assert "--redundancy applies to network declarations" in err
    adders = EXAMPLES / "adders_network.circ"
    err = fails(capsys, "budget", adders, "--ec", "none")
    assert "--ec applies to circuits over feature sets" in err


def test_bad_feature_knobs(source, tmp_path, capsys):
    err = fails(capsys, "compile", source, "-o", tmp_path / "n", "--ec", "often")
    assert "unknown error-correction policy `often`" in err and "every:K" in err
    err = fails(capsys, "compile", source, "-o", tmp_path / "n", "--p", "2")
    assert "p must lie in (0, 1), got 2" in err
    assert not (tmp_path / "n").exists()


def test_fan_in_beyond_k_is_refused_with_the_fix(tmp_path, capsys):
    path = tmp_path / "maj.circ"
    path.write_text("features f[9] { active = 3; }\ncircuit m over f { out y; y = maj(f[0], f[1], f[2]); }\n")
    err = fails(capsys, "budget", path)
    assert "reads more than k = 2 wires" in err and "--fan-in 3" in err
    ok(capsys, "budget", path, "--fan-in", "3", "--target", "1e-3")


def test_thin_superposition_warns_with_the_numbers(tmp_path, capsys):
    path = tmp_path / "thin.circ"
    path.write_text("features f[256] { active = 3; embed = 64; }\ncircuit c over f { out y; y = f[0] & f[1]; }\n")
    code, out, err = run(capsys, "budget", path, "--target", "1e-3")
    assert code == 0
    assert "embed = 64 arrive with interference σ = 0.217" in err and "raise `embed` to" in err


def test_verify_plot(source, tmp_path, capsys):
    ok(capsys, "compile", source, "-o", tmp_path / "net", "--target", "1e-3")
    out = ok(capsys, "verify", tmp_path / "net", "--samples", "500", "--plot", tmp_path / "p.png")
    assert "plot: accuracy and read-off error per layer written to" in out
    assert (tmp_path / "p.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    err = fails(capsys, "verify", tmp_path / "net", "--samples", "500", "--plot", tmp_path / "p.png")
    assert "exists" in err and "--force" in err


def test_a_width_too_small_for_the_target_is_refused(tmp_path, capsys):
    err = fails(capsys, "compile", EXAMPLES / "deep_features.circ", "-o", tmp_path / "n", "--width", "2000")
    assert "a gate layer of 2000 neurons reads off with error σ = 0.229" in err
    assert "the width model needs 8183 neurons" in err and "raise `--width` to 8183" in err
    assert not (tmp_path / "n").exists()
