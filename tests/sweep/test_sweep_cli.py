"""`circuitc sweep`: the table on standard output, progress and the summary on standard error,
exit codes, the plot, and the errors of its options."""

from __future__ import annotations

import json
import sys

from cli_runs import fails, ok, run
from sweep_files import records

from circuitc.sweep import execute as execute_module


def test_sweep_prints_the_table_and_says_where_it_is(tiny, capsys):
    code, out, err = run(capsys, "sweep", tiny / "grid.toml", "-o", tiny / "out", "--workers", "1", "--progress")
    assert code == 0, err
    assert out == (tiny / "out" / "table.md").read_text()
    assert out.startswith("| D | z | construction | T | status |") and len(out.splitlines()) >= 18
    # one plain progress line per finished point when standard error is not a terminal
    lines = [ln for ln in err.splitlines() if ln.startswith("sweep: ")]
    assert lines[-1].startswith("sweep: 16/16 done (0 skipped) · 0 running · 0 failed · 6 refused")
    assert "sweep finished in" in err and "16 ran now" in err
    # without --progress, off a terminal, no progress lines; a rerun finds everything
    code, out2, err = run(capsys, "sweep", tiny / "grid.toml", "-o", tiny / "out", "--workers", "1")
    assert code == 0 and "sweep: " not in err and "16 found on disk" in err and out2 == out


def test_sweep_json_report_and_plot(tiny, capsys):
    table = json.loads(ok(capsys, "sweep", tiny / "grid.toml", "-o", tiny / "out", "--workers", "1", "--json",
                          "--plot", tiny / "acc.png", "--x", "T"))
    assert table["job"] == "compile+verify" and len(table["points"]) == 16 and table["counts"]["ran"] == 16
    assert (tiny / "acc.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # an existing plot is never replaced without --force, and that is known before anything runs
    err = fails(capsys, "sweep", tiny / "grid.toml", "-o", tiny / "out", "--report", "--plot", tiny / "acc.png")
    assert "acc.png exists; pass --force" in err
    out = ok(capsys, "sweep", tiny / "grid.toml", "-o", tiny / "out", "--report", "--plot", tiny / "acc.png",
             "-f", "--y", "compression", "--x", "D")
    assert out == (tiny / "out" / "table.md").read_text()
    err = fails(capsys, "sweep", tiny / "grid.toml", "-o", tiny / "out", "--report", "--plot", tiny / "x.png",
                "--y", "verdict")
    assert "no numbers in column 'verdict'" in err and "bit_accuracy" in err


def test_failed_points_exit_1_and_say_how_to_retry(tiny, capsys, monkeypatch):
    real = execute_module._JOBS["compile+verify"]

    def flaky(point, spec):
        if point.T == 30:
            raise ValueError("no")
        return real(point, spec)
    monkeypatch.setitem(execute_module._JOBS, "compile+verify", flaky)
    code, out, err = run(capsys, "sweep", tiny / "grid.toml", "-o", tiny / "out", "--workers", "1")
    assert code == 1
    assert "failed (recorded with the error); run them again with: circuitc sweep" in err and "--retry-failed" in err
    assert "| failed |" in out and "ValueError: no" in out
    monkeypatch.setitem(execute_module._JOBS, "compile+verify", real)
    ok(capsys, "sweep", tiny / "grid.toml", "-o", tiny / "out", "--workers", "1", "--retry-failed")
    assert not [r for r in records(tiny / "out").values() if r["status"] == "failed"]


def test_option_errors(tiny, capsys, monkeypatch):
    assert "needs --scheduler" in fails(capsys, "sweep", tiny / "grid.toml", "--memory-resource", "MEMORY")
    assert "--report runs nothing" in fails(capsys, "sweep", tiny / "grid.toml", "--report", "--workers", "2")
    assert "--workers must be 1 or more" in fails(capsys, "sweep", tiny / "grid.toml", "-o", tiny / "o",
                                                  "--workers", "0")
    assert "holds no sweep results" in fails(capsys, "sweep", tiny / "grid.toml", "-o", tiny / "none", "--report")
    # Dask missing: a clear error with the install command, not an ImportError
    monkeypatch.setitem(sys.modules, "distributed", None)
    err = fails(capsys, "sweep", tiny / "grid.toml", "-o", tiny / "d", "--scheduler", "tcp://127.0.0.1:8786")
    assert "needs dask.distributed, which is not installed" in err and "pip install 'circuitc[dask]'" in err
