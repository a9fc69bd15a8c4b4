"""Running sweeps: the same records whatever the executor, nothing recomputed on resume, failures
recorded without stopping the others, refusals as outcomes, a changed source run again."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sweep_files import outcome, records

import circuitc
from circuitc.sweep import Sweep, SweepInterrupted, run_sweep
from circuitc.sweep import execute as execute_module
from circuitc.sweep.point import estimate_memory


@pytest.fixture
def in_process(tiny):
    """The tiny grid run in this process once: (result, records)."""
    result = run_sweep(tiny / "grid.toml", tiny / "one", workers=1)
    return result, records(tiny / "one")


def test_a_tiny_grid_in_process(tiny, in_process):
    result, recs = in_process
    assert result.counts.as_dict() == {"total": 16, "done": 16, "ran": 16, "skipped": 0, "refused": 6, "failed": 0}
    assert len(recs) == 16 and [r["key"] for r in result.records] == [r["key"] for r in result.rows]
    by_status = {}
    for r in recs.values():
        by_status.setdefault(r["status"], []).append(r)
    assert {s: len(v) for s, v in by_status.items()} == {"ok": 10, "refused": 6}
    for r in by_status["refused"]:                  # a refusal is an outcome, with the compiler's words
        assert r["result"] is None and "error:" in r["error"] and "Traceback" not in r["error"]
        assert r["config"]["knobs"]["D"] == 64
    for r in by_status["ok"]:
        rep = r["result"]["report"]
        assert rep["T"] == r["config"]["T"] and rep["D"] <= r["config"]["knobs"]["D"]
        assert r["result"]["random"]["samples"] == 256 and r["result"]["adversarial"]["samples"] == 64
        assert r["timing"]["seconds"] > 0 and r["timing"]["memory_estimate_bytes"] >= 4 * rep["parameters"]
    # T scales both `use` lines in proportion: 30 + 10 at T = 40, 8 + 2 at T = 10 (checked through the figures)
    routed = [r for r in by_status["ok"] if r["result"]["report"]["construction"] == "routed"]
    assert {r["result"]["report"]["T"] for r in routed} == {10, 30}
    # routed points are exact; coherent ones at z = 2 are not, and the table says which passed
    assert all(r["result"]["random"]["bit_accuracy"] == 1.0 for r in routed)
    rows = {(r["D"], r["z"], r["construction"], r["T"]): r for r in result.rows}
    assert rows[256, 1, "routed", 30]["passed"] is True and rows[64, 1, "coherent", 30]["status"] == "refused"
    table = json.loads((tiny / "one" / "table.json").read_text())
    assert len(table["points"]) == 16 and table["counts"]["done"] == 16
    md = (tiny / "one" / "table.md").read_text()
    assert md.startswith("| D | z | construction | T | status |") and md.count("refused") >= 6


def test_a_local_pool_gives_the_records_of_a_single_process(tiny, in_process):
    result = run_sweep(tiny / "grid.toml", tiny / "two", workers=2)
    assert result.executor == "2 local worker processes" and result.counts.ran == 16
    pooled = records(tiny / "two")
    assert pooled.keys() == in_process[1].keys()
    for key, record in in_process[1].items():
        assert outcome(pooled[key]) == outcome(record), key
    assert {r["timing"]["pid"] for r in pooled.values()} - {os.getpid()}      # it did run elsewhere


def test_a_rerun_skips_every_recorded_point(tiny, in_process):
    before = {p: p.stat().st_mtime_ns for p in (tiny / "one" / "points").iterdir()}
    ran = []
    result = run_sweep(tiny / "grid.toml", tiny / "one", workers=1, on_point=ran.append)
    assert ran == [] and result.counts.skipped == 16 and result.counts.ran == 0
    assert {p: p.stat().st_mtime_ns for p in (tiny / "one" / "points").iterdir()} == before
    assert [outcome(r) for r in result.records] == [outcome(r) for r in in_process[0].records]


def _stop_after(n: int):
    seen = []

    def on_point(record):
        seen.append(record["key"])
        if len(seen) == n:
            raise KeyboardInterrupt
    return on_point, seen


@pytest.mark.parametrize("workers", [1, 2])
def test_an_interrupted_sweep_resumes_without_recomputing(tiny, in_process, workers):
    on_point, seen = _stop_after(3)
    with pytest.raises(SweepInterrupted) as stop:
        run_sweep(tiny / "grid.toml", tiny / "cut", workers=workers, on_point=on_point)
    partial = stop.value.result
    kept = records(tiny / "cut")
    # every point that finished is on disk: with a pool, those running at the interrupt finish too
    assert len(kept) == len(seen) >= 3 and partial.interrupted and partial.counts.done == len(kept)
    assert {r["status"] for r in partial.rows} >= {"not run"}
    assert "not run" in (tiny / "cut" / "table.md").read_text()
    mtimes = {p: p.stat().st_mtime_ns for p in (tiny / "cut" / "points").iterdir()}
    ran = []
    result = run_sweep(tiny / "grid.toml", tiny / "cut", workers=workers, on_point=ran.append)
    assert len(ran) == 16 - len(kept) and not set(r["key"] for r in ran) & set(kept)
    assert result.counts.skipped == len(kept) and result.counts.done == 16
    assert all(p.stat().st_mtime_ns == t for p, t in mtimes.items())
    for key, record in records(tiny / "cut").items():
        assert outcome(record) == outcome(in_process[1][key])


def test_a_failing_point_is_recorded_and_the_others_go_on(tiny, monkeypatch, capsys):
    real = execute_module._JOBS["compile+verify"]

    def flaky(point, spec):
        if dict(point.knobs) == {"D": 256, "z": 2, "construction": "coherent"}:
            raise RuntimeError("the accelerator caught fire")
        return real(point, spec)
    monkeypatch.setitem(execute_module._JOBS, "compile+verify", flaky)
    result = run_sweep(tiny / "grid.toml", tiny / "out", workers=1)
    assert len(result.failed) == 2 and result.counts.done == 16
    assert all("RuntimeError: the accelerator caught fire" in r["error"] for r in result.failed)
    assert "Traceback" in result.failed[0]["error"]                 # kept for whoever looks
    assert "failed: tiny D=256 z=2 construction=coherent T=10: RuntimeError" in capsys.readouterr().err
    assert sum(r["status"] == "ok" for r in records(tiny / "out").values()) == 8
    # without --retry-failed a rerun keeps the failure; with it, only the failed points run again
    ran = []
    assert len(run_sweep(tiny / "grid.toml", tiny / "out", workers=1, on_point=ran.append).failed) == 2 and not ran
    monkeypatch.setitem(execute_module._JOBS, "compile+verify", real)
    result = run_sweep(tiny / "grid.toml", tiny / "out", workers=1, retry_failed=True, on_point=ran.append)
    assert len(ran) == 2 and not result.failed and all(r["status"] == "ok" for r in ran)


def test_a_changed_source_runs_again(tiny, in_process):
    (tiny / "tiny.circ").write_text((tiny / "tiny.circ").read_text() + "# a comment changes the hash\n")
    ran = []
    result = run_sweep(tiny / "grid.toml", tiny / "one", workers=1, on_point=ran.append)
    assert len(ran) == 16 and result.counts.skipped == 0
    assert len(records(tiny / "one")) == 32                         # the old records are still there
    assert [outcome(r)["result"] for r in result.records] == [outcome(r)["result"] for r in in_process[0].records]


def test_rerun_replaces_every_record(tiny, in_process):
    ran = []
    run_sweep(tiny / "grid.toml", tiny / "one", workers=1, rerun=True, on_point=ran.append)
    assert len(ran) == 16 and len(records(tiny / "one")) == 16


def test_report_merges_what_is_on_disk_and_runs_nothing(tiny, in_process):
    result = Sweep(tiny / "grid.toml", tiny / "one").report()
    assert result.counts.done == 16 and result.counts.ran == 0
    assert [outcome(r) for r in result.records] == [outcome(r) for r in in_process[0].records]
    with pytest.raises(circuitc.CircuitError, match="holds no sweep results"):
        Sweep(tiny / "grid.toml", tiny / "elsewhere").report()


def test_results_never_go_into_a_directory_that_is_not_a_sweeps(tiny):
    (tiny / "mine").mkdir()
    (tiny / "mine" / "table.md").write_text("my notes")
    with pytest.raises(circuitc.CircuitError, match="does not hold a sweep's results"):
        run_sweep(tiny / "grid.toml", tiny / "mine", workers=1)
    assert (tiny / "mine" / "table.md").read_text() == "my notes"
    with pytest.raises(circuitc.CircuitError, match="exists and is not a directory"):
        run_sweep(tiny / "grid.toml", tiny / "tiny.circ", workers=1)


def test_an_unreadable_record_is_set_aside_and_its_point_runs_again(tiny, in_process):
    victim = next(iter(sorted((tiny / "one" / "points").iterdir())))
    victim.write_text("{ not json")
    ran = []
    run_sweep(tiny / "grid.toml", tiny / "one", workers=1, on_point=ran.append)
    assert [r["key"] for r in ran] == [victim.stem]
    assert (victim.parent / f"{victim.name}.unreadable-1").read_text() == "{ not json"


def test_circuit_targets_and_budget_jobs(tiny):
    (tiny / "b.toml").write_text('source = "tiny.circ"\ncircuits = ["fa"]\njob = "budget"\n'
                                 '[knobs]\nD = [128]\nz = [1, 2]\nconstruction = ["routed", "coherent"]\nT = [8, 24]\n')
    result = run_sweep(tiny / "b.toml", tiny / "b", workers=1)
    assert result.counts.done == 8 and not result.failed
    ok = [r for r in result.rows if r["status"] == "ok"]
    assert ok and all(r["verdict"] in ("guaranteed", "expected", "at risk", "over budget") for r in ok)
    assert all(r["verdict"] == "guaranteed" for r in ok if r["construction"] == "routed")
    assert {r["T"] for r in ok} == {8, 24} and all(r["target"] == "fa" for r in result.rows)
    assert "| z | construction | T | status | verdict |" in result.markdown()


def test_the_memory_estimate_bounds_the_dense_layers(tiny, in_process):
    sweep = Sweep(tiny / "grid.toml")
    for point in sweep.points():
        record = in_process[1][point.key]
        if record["status"] == "ok":
            rep = record["result"]["report"]
            assert estimate_memory(point, sweep.spec) >= 4 * rep["D"] ** 2 * rep["L"] >= 4 * rep["parameters"] / 2


def test_the_api_is_exported():
    assert circuitc.Sweep is Sweep and circuitc.run_sweep is run_sweep


def test_planning_and_merging_never_load_torch(tiny, in_process):
    """Only running a point needs the back ends (execute.py); a driver on a login node does not."""
    code = ("import sys; from circuitc.sweep import Sweep; "
            f"r = Sweep({str(tiny / 'grid.toml')!r}, {str(tiny / 'one')!r}).report(); "
            "print(r.counts.done, 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["16", "False"]


def test_workers_that_cannot_start_are_a_clear_error(tiny):
    """A main module read from standard input cannot be imported by a spawned worker: the sweep
    says so (and how to fix it) instead of recording every point as failed."""
    script = f"import circuitc\ncircuitc.run_sweep({str(tiny / 'grid.toml')!r}, {str(tiny / 'out')!r}, workers=2)\n"
    run = subprocess.run([sys.executable, "-"], input=script, capture_output=True, text=True, cwd=tiny)
    assert run.returncode != 0
    assert "the sweep's worker processes could not start" in run.stderr
    assert 'if __name__ == \\"__main__\\":' in run.stderr or 'if __name__ == "__main__":' in run.stderr
    assert not list((tiny / "out" / "points").glob("*.json"))



def test_mlp_circuits_record_their_real_errors(tmp_path):
    examples = Path(__file__).resolve().parents[2] / "examples"
    (tmp_path / "m.toml").write_text(f'source = "{examples / "mlp_xor.circ"}"\ncircuits = ["mlp_xor"]\n'
                                     '[verify]\nsamples = 256\nadversarial = 64\n[knobs]\nD = [64]\nz = [1, 2]\n'
                                     'T = [8, 40]\n')
    rows = {(r["z"], r["T"]): r for r in run_sweep(tmp_path / "m.toml", tmp_path / "out", workers=1).rows}
    assert all(r["bit_accuracy"] is None and r["real_rms_error"] <= r["real_max_error"] for r in rows.values())
    assert rows[1, 40]["passed"] and rows[1, 40]["real_max_error"] < 1e-5          # routed at z = 1: exact
    # at z = 2, 40 instances outgrow the routed construction's disjoint positions: "auto" falls back
    assert rows[2, 40]["construction_used"] == "coherent" and rows[2, 40]["passed"] is False
