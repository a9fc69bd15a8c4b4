"""The frontier search (doubling, then bisection) and frontier jobs: every probe a cached point, so
an interrupted search picks up where it stopped."""

from __future__ import annotations

import pytest
from sweep_files import outcome, records

from circuitc.sweep import SweepInterrupted, run_sweep
from circuitc.sweep.search import largest_passing, largest_passing_steps


def _probes(threshold: int, T0: int, T_max: int, z: int, precision: float) -> tuple[list[int], int]:
    asked = []

    def passes(T):
        asked.append(T)
        return T <= threshold
    return asked, largest_passing(passes, T0, T_max, z, precision)


def test_doubling_then_bisection_finds_a_threshold():
    asked, found = _probes(100, 16, 1000, 1, 0.0)
    assert found == 100
    assert asked[:4] == [16, 32, 64, 128] and all(64 < T < 128 for T in asked[4:])
    asked, found = _probes(100, 16, 1000, 1, 0.25)         # stops once hi <= lo * 1.25
    assert asked == [16, 32, 64, 128, 96, 112] and found == 96


def test_the_search_ends_at_T_max_or_finds_nothing():
    assert _probes(5000, 16, 1000, 1, 0.1) == ([16, 32, 64, 128, 256, 512, 1000], 1000)
    asked, found = _probes(0, 16, 1000, 2, 0.1)
    assert found == 0 and asked[0] == 16 and min(asked) >= 2      # never below z
    assert _probes(3, 1, 64, 3, 0.1)[0][0] == 3                   # starts at z when T0 < z


def test_the_generator_is_what_largest_passing_drives():
    steps = largest_passing_steps(16, 1000, 1, 0.25)
    asked = [next(steps)]
    try:
        while True:
            asked.append(steps.send(asked[-1] <= 100))
    except StopIteration as stop:
        assert stop.value == 96
    assert asked == _probes(100, 16, 1000, 1, 0.25)[0]


FRONTIER = """\
source = "tiny.circ"
circuits = ["fa"]
job = "frontier"

[verify]
samples = 256
adversarial = 64

[knobs]
D = [128]
z = [1, 2]
construction = ["routed", "coherent"]

[frontier]
T_max = 256
T0 = 8
precision = 0.25
"""


@pytest.fixture
def frontier(tiny):
    (tiny / "f.toml").write_text(FRONTIER)
    return run_sweep(tiny / "f.toml", tiny / "whole", workers=1)


def test_a_frontier_job(tiny, frontier):
    rows = {(r["z"], r["construction"]): r for r in frontier.frontier}
    assert set(rows) == {(1, "routed"), (1, "coherent"), (2, "routed"), (2, "coherent")}
    for row in rows.values():
        assert row["status"] == "done" and 0 < row["frontier_T"] <= 256
        detail = {p["T"]: p for p in row["probe_detail"]}
        assert detail[row["frontier_T"]]["passed"] is True
        assert row["probes"] == len(detail) and detail[8]["T"] == 8          # the first probe is T0
        above = [p for T, p in detail.items() if T > row["frontier_T"]]
        assert all(not p["passed"] for p in above)
        assert row["limited_by"] in ("T_max", "accuracy", "refused")
    # routed is exact wherever its code holds the instances, so only the width stops it
    assert rows[1, "routed"]["limited_by"] in ("T_max", "refused")
    assert rows[2, "coherent"]["frontier_T"] < rows[2, "routed"]["frontier_T"]
    assert frontier.counts.done == sum(r["probes"] for r in frontier.frontier)
    md = frontier.markdown()
    assert md.startswith("| z | construction | T max | frontier T | compression |")


def test_an_interrupted_frontier_search_resumes_where_it_stopped(tiny, frontier):
    seen = []

    def on_point(record):
        seen.append(record["key"])
        if len(seen) == 5:
            raise KeyboardInterrupt
    with pytest.raises(SweepInterrupted) as stop:
        run_sweep(tiny / "f.toml", tiny / "cut", workers=1, on_point=on_point)
    assert {r["status"] for r in stop.value.result.frontier} >= {"incomplete"}
    ran = []
    result = run_sweep(tiny / "f.toml", tiny / "cut", workers=1, on_point=ran.append)
    assert not set(r["key"] for r in ran) & set(seen)
    assert len(ran) + len(seen) == frontier.counts.done
    strip = lambda row: {k: v for k, v in row.items() if k != "seconds"}     # noqa: E731
    assert [strip(r) for r in result.frontier] == [strip(r) for r in frontier.frontier]
    whole = records(tiny / "whole")
    assert {k: outcome(r) for k, r in records(tiny / "cut").items()} == {k: outcome(r) for k, r in whole.items()}


def test_probes_are_shared_with_plain_points(tiny, frontier):
    """A frontier probe is an ordinary compile+verify point: a grid listing the same T finds it on disk."""
    probe = frontier.frontier[0]["probe_detail"][0]
    (tiny / "p.toml").write_text('source = "tiny.circ"\ncircuits = ["fa"]\n[verify]\nsamples = 256\nadversarial = 64\n'
                                 f'[knobs]\nD = [128]\nz = [1]\nconstruction = ["routed"]\nT = [{probe["T"]}]\n')
    result = run_sweep(tiny / "p.toml", tiny / "whole", workers=1)
    assert result.counts.skipped == 1 and result.records[0]["key"] == probe["key"]
