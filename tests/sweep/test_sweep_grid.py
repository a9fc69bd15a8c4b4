"""Grid files: what they mean, and that every mistake in one is a clear error pointing at its line."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_runs import fails

import circuitc
from circuitc.sweep import Sweep, load_grid, scale_counts
from circuitc.sweep.grid import Target
from circuitc.sweep.point import Point


def test_a_grid_is_the_product_of_its_knobs_in_file_order(tiny):
    grid = load_grid(tiny / "grid.toml")
    assert grid.job == "compile+verify" and grid.targets == (Target("network", "tiny"),)
    assert grid.source == tiny / "tiny.circ"                 # relative to the grid file
    assert (grid.verify.samples, grid.verify.adversarial, grid.verify.seed) == (256, 64, 3)
    combos = grid.combinations()
    assert len(combos) == 16 and grid.varying() == ["D", "z", "construction", "T"]
    # the last knob varies fastest
    assert combos[:3] == [{"D": 64, "z": 1, "construction": "routed", "T": 10},
                          {"D": 64, "z": 1, "construction": "routed", "T": 30},
                          {"D": 64, "z": 1, "construction": "coherent", "T": 10}]


def test_scalars_are_one_value_lists_and_S_auto_is_the_compilers_choice(tmp_path):
    (tmp_path / "g.toml").write_text('source = "x.circ"\n[knobs]\nD = 256\nS = ["auto", 3]\nshuffle = true\n')
    grid = load_grid(tmp_path / "g.toml")
    assert grid.knobs == (("D", (256,)), ("S", (None, 3)), ("shuffle", (True,)))


def test_every_problem_of_a_grid_is_reported_at_once_with_its_line(tmp_path):
    (tmp_path / "bad.toml").write_text(
        'source = "x.circ"\njobb = "budget"\n\n[knobs]\nD = [64, "x"]\nzz = [1]\nconstruction = ["routd"]\n'
        'S = [2, 2]\n\n[verify]\nsamples = -3\n')
    with pytest.raises(circuitc.CircuitError) as e:
        load_grid(tmp_path / "bad.toml")
    text = str(e.value)
    shown = str(tmp_path / "bad.toml")
    assert f"{shown}:2:1: error: unknown setting `jobb`" in text and "did you mean `job`?" in text
    assert f"{shown}:5:1: error: knob `D`: 'x' is not allowed" in text and "expected: integers >= 1" in text
    assert f"{shown}:6:1: error: unknown knob `zz`" in text and "did you mean `z`?" in text
    assert f"{shown}:7:1: error: knob `construction`: 'routd' is not allowed" in text
    assert "did you mean `routed`?" in text
    assert f"{shown}:8:1: error: knob `S` lists 2 twice" in text
    assert f"{shown}:11:1: error: [verify] samples = -3 is not allowed" in text
    assert "6 errors" in text
    assert "    7 | construction = [\"routd\"]" in text              # the line itself, with a caret


def test_a_toml_syntax_error_points_at_the_line(tmp_path):
    (tmp_path / "a.toml").write_text('source = "x.circ"\n[knobs]\nz = = 3\n')
    with pytest.raises(circuitc.CircuitError, match=r"a\.toml:3:5: error: the grid file is not valid TOML: invalid"):
        load_grid(tmp_path / "a.toml")
    (tmp_path / "b.toml").write_text('source = "x.circ"\n[knobs]\nD = [1, 2\n')
    with pytest.raises(circuitc.CircuitError, match=r"b\.toml:3:10: .*unclosed array"):
        load_grid(tmp_path / "b.toml")


@pytest.mark.parametrize("text,message", [
    ('network = "tiny"\n', "the grid names no source"),
    ('source = "tiny.circ"\njob = "train"\n', "unknown job 'train'"),
    ('source = "tiny.circ"\njob = "frontier"\n', "a frontier job needs [frontier] T_max"),
    ('source = "tiny.circ"\njob = "frontier"\n[frontier]\nT_max = 64\n[knobs]\nT = [4]\n',
     "a frontier job searches T; it cannot be listed"),
    ('source = "tiny.circ"\n[frontier]\nT_max = 64\n', "a [frontier] table is read by frontier jobs only"),
    ('source = "tiny.circ"\nnetworks = []\n', "`networks` must name networks"),
    ('source = "tiny.circ"\n[verify]\nrows = 3\n', "unknown verify setting `rows`"),
    ('source = "tiny.circ"\nknobs = 3\n', "`knobs` must be a table"),
])
def test_bad_settings(tiny, text, message):
    (tiny / "g.toml").write_text(text)
    with pytest.raises(circuitc.CircuitError) as e:
        load_grid(tiny / "g.toml")
    assert message in str(e.value)


def test_names_the_source_lacks_are_located_in_the_grid(tiny):
    (tiny / "g.toml").write_text('source = "tiny.circ"\nnetworks = ["tinny"]\n')
    with pytest.raises(circuitc.CircuitError) as e:
        Sweep(tiny / "g.toml")
    assert f"{tiny / 'g.toml'}:2:1: error: no network named `tinny`" in str(e.value)
    assert "did you mean `tiny`?" in str(e.value)
    (tiny / "g.toml").write_text('source = "tiny.circ"\ncircuits = ["fa", "xor"]\n')
    with pytest.raises(circuitc.CircuitError, match="no circuit named `xor`"):
        Sweep(tiny / "g.toml")
    (tiny / "g.toml").write_text('source = "nowhere/tiny.circ"\n')
    with pytest.raises(circuitc.CircuitError, match=r"g\.toml:1:1: error: the source .*nowhere/tiny\.circ does not"):
        Sweep(tiny / "g.toml")


def test_a_broken_source_is_an_error_before_anything_runs(tiny):
    (tiny / "tiny.circ").write_text("circuit broken { in a; out y; y = a & ; }\n")
    with pytest.raises(circuitc.CircuitError, match=r"tiny\.circ:1:"):
        Sweep(tiny / "grid.toml", tiny / "out")
    assert not (tiny / "out").exists()


def test_circuits_over_feature_sets_are_refused(tmp_path):
    examples = Path(__file__).resolve().parents[2] / "examples"
    (tmp_path / "g.toml").write_text(f'source = "{examples / "deep_features.circ"}"\ncircuits = ["deep8"]\n')
    with pytest.raises(circuitc.CircuitError, match="g.toml:2:1: error: `deep8` is a circuit over a feature set"):
        Sweep(tmp_path / "g.toml")
    (tmp_path / "g.toml").write_text(f'source = "{examples / "deep_features.circ"}"\n')
    with pytest.raises(circuitc.CircuitError, match="declares no network, and the grid names none"):
        Sweep(tmp_path / "g.toml")


def test_the_command_line_reports_bad_grids_without_a_traceback(tiny, capsys):
    (tiny / "bad.toml").write_text('source = "tiny.circ"\n[knobs]\nD = [0]\n')
    err = fails(capsys, "sweep", tiny / "bad.toml", "-o", tiny / "out")
    assert "bad.toml:3:1: error: knob `D`: 0 is not allowed" in err
    assert "nope.toml does not exist" in fails(capsys, "sweep", tiny / "nope.toml")
    assert "is a directory" in fails(capsys, "sweep", tiny)


# ---------------------------------------------------------------- T and keys


@pytest.mark.parametrize("counts,T", [((30, 10), 10), ((30, 10), 40), ((30, 10), 7), ((3000, 500), 1000),
                                      ((1, 1, 1), 3), ((10_000, 1), 10), ((5, 5, 5), 100)])
def test_scaled_counts_sum_to_T_in_proportion(counts, T):
    out = scale_counts(counts, T)
    assert sum(out) == T and min(out) >= 1
    exact = [c * T / sum(counts) for c in counts]
    if min(exact) >= 1:                         # else a group was lifted to 1 at the largest's expense
        assert all(abs(o - e) < 1 for o, e in zip(out, exact))
    assert scale_counts(counts, sum(counts)) == list(counts)


def test_T_below_the_group_count_is_refused():
    with pytest.raises(circuitc.CircuitError, match="T = 1 is fewer than the network's 2 `use` lines"):
        scale_counts((30, 10), 1)


def test_a_key_is_its_configuration_and_the_source():
    base = Point("compile+verify", Target("network", "tiny"), (("D", 128), ("z", 1)), 10,
                 (("samples", 256), ("adversarial", 0), ("seed", 0), ("batch", 1024)), "abc")
    assert base.key == Point(*[getattr(base, f) for f in ("job", "target", "knobs", "T", "verify", "source_hash")],
                             source="elsewhere.circ").key
    others = [Point(base.job, base.target, (("D", 256), ("z", 1)), 10, base.verify, "abc"),
              Point(base.job, base.target, base.knobs, 11, base.verify, "abc"),
              Point(base.job, base.target, base.knobs, 10, base.verify, "abd"),
              Point(base.job, Target("circuit", "tiny"), base.knobs, 10, base.verify, "abc"),
              Point("budget", base.target, base.knobs, 10, None, "abc")]
    assert len({p.key for p in [base, *others]}) == 6
