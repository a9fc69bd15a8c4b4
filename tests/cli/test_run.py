"""Running a compiled network on inputs per instance: `circuitc.run` and `circuitc run`
(instances/run.py, cli/network_cmds.py), checked against the reference interpreter."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from cli_runs import fails, ok

import circuitc
from circuitc.instances.run import run

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SOURCE = """include "ripple_adder.circ";
network mixed { use ripple_adder<N=4> * 200; use full_adder * 100; active = 3; width = 2048; }
"""


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    d = tmp_path_factory.mktemp("run")
    spec = circuitc.parse(SOURCE, base_dir=EXAMPLES)
    comp = circuitc.compile(spec)
    circuitc.save(comp, d / "net")
    return comp, d / "net"


def test_run_matches_the_interpreter_on_random_rows(compiled):
    comp, _ = compiled
    rng = np.random.default_rng(0)
    rows = []
    for _ in range(60):
        ids = rng.choice(comp.network.T, size=rng.integers(1, 4), replace=False)
        top = [16 if t < 200 else 2 for t in ids]             # 4-bit adders first, then full adders
        rows.append({int(t): {"a": int(rng.integers(hi)), "b": int(rng.integers(hi)), "cin": int(rng.integers(2))}
                     for t, hi in zip(ids, top)})
    got = run(comp, rows)
    for row, out in zip(rows, got):
        assert list(out) == list(row)
        for t, values in row.items():
            circuit = comp.circuits[comp.network.type_of[t]]
            want = circuitc.evaluate(circuit, values)
            for port, value in out[t].items():
                expected = want[port][0]
                assert value == (int(circuitc.bits_to_int(expected)) if np.ndim(expected) else int(expected))


def test_run_refuses_with_every_problem_at_once(compiled):
    comp, _ = compiled
    rows = [{0: {"a": 1, "b": 1}, 99999: {"a": 1}, 3: {"a": 99, "b": 1, "cin": 0, "x": 1}},
            {1: {"a": 0, "b": 0, "cin": 0}, 2: {"a": 0, "b": 0, "cin": 0}, 3: {"a": 0, "b": 0, "cin": 0},
             4: {"a": 0, "b": 0, "cin": 0}}]
    with pytest.raises(circuitc.CircuitError) as e:
        run(comp, rows)
    text = str(e.value)
    assert "missing input for `ripple_adder<N=4>`: cin" in text
    assert "no such instance; the network holds T = 300 (ids 0..299)" in text
    assert "has no input named `x`" in text and "99 does not fit in 4 bits" in text
    assert "row 1 activates 4 instances, but the network keeps its promise for at most z = 3" in text


def test_raw_read_outs(compiled):
    comp, _ = compiled
    (out,) = run(comp, {250: {"a": 1, "b": 1, "cin": 1}}, raw=True)
    assert out[250]["s"] >= 1.0 and out[250]["cout"] >= 1.0          # decoded 1 above 0.5


def test_the_command_line(capsys, compiled, tmp_path):
    _, net = compiled
    out = ok(capsys, "run", net, "--instance", "0", "a=5", "b=9", "cin=1", "--instance", "250", "a=1", "b=1", "cin=1")
    assert out.splitlines() == ["instance 0 (`ripple_adder<N=4>`): s = 15, cout = 0",
                                "instance 250 (`full_adder`): s = 1, cout = 1"]
    rows = tmp_path / "rows.json"
    rows.write_text(json.dumps([{"0": {"a": 15, "b": 15, "cin": 0}}, {"1": {"a": 1, "b": 2, "cin": 0}}]))
    record = json.loads(ok(capsys, "run", net, "--inputs", rows, "--json"))
    assert record["rows"] == [{"0": {"s": 14, "cout": 1}}, {"1": {"s": 3, "cout": 0}}]
    ok(capsys, "run", net, "--inputs", rows, "-o", tmp_path / "out.json")
    assert json.loads((tmp_path / "out.json").read_text())["rows"] == record["rows"]
    assert "exists" in fails(capsys, "run", net, "--inputs", rows, "-o", tmp_path / "out.json")


@pytest.mark.parametrize("argv,message", [
    (["--instance", "0", "a=1"], "missing inputs for `ripple_adder<N=4>`: b, cin"),
    (["--instance", "777", "a=1"], "not an instance of this network (ids 0..299)"),
    (["--instance", "0", "a=1", "b=1", "cin=0", "--instance", "0", "a=1", "b=1", "cin=0"], "is given twice"),
    ([], "nothing to run"),
    (["--instance", "1", "a=1", "b=1", "cin=0", "--instance", "2", "a=1", "b=1", "cin=0", "--instance", "3", "a=1",
      "b=1", "cin=0", "--instance", "4", "a=1", "b=1", "cin=0"], "at most z = 3"),
])
def test_command_line_refusals(capsys, compiled, argv, message):
    _, net = compiled
    assert message in fails(capsys, "run", net, *argv)


def test_rows_from_csv_give_what_json_gives(capsys, compiled, tmp_path):
    """One record per active instance; records sharing a `row` make one network row; a vector port as
    one integer or element by element; the same outputs as the JSON form of the same rows."""
    _, net = compiled
    (tmp_path / "rows.csv").write_text("row,instance,a,b,cin,a[0],a[1],a[2],a[3]\n"
                                       "r1,0,,15,0,1,1,1,1\n"
                                       "r1,250,1,1,1,,,,\n"
                                       "r2,1,0x1,2,0,,,,\n")
    (tmp_path / "rows.json").write_text(json.dumps([{"0": {"a": 15, "b": 15, "cin": 0},
                                                     "250": {"a": 1, "b": 1, "cin": 1}},
                                                    {"1": {"a": 1, "b": 2, "cin": 0}}]))
    got = json.loads(ok(capsys, "run", net, "--inputs", tmp_path / "rows.csv", "--json"))["rows"]
    assert got == json.loads(ok(capsys, "run", net, "--inputs", tmp_path / "rows.json", "--json"))["rows"]
    assert got[0]["250"] == {"s": 1, "cout": 1} and got[1] == {"1": {"s": 3, "cout": 0}}
    (tmp_path / "bad.csv").write_text("row,instance,a,b,cin\nr1,x,1,1,0\nr1,3,1,q,0\nr1,4,1\n")
    err = fails(capsys, "run", net, "--inputs", tmp_path / "bad.csv")
    assert "bad.csv:2:" in err and "`x` is not an instance id" in err
    assert "bad.csv:3:" in err and "`q` is not a number (column `b`)" in err
    assert "3 fields, but the header names 5" in err
    (tmp_path / "nohead.csv").write_text("instance,a\n0,1\n")
    assert "the header must start with `row,instance`" in fails(capsys, "run", net, "--inputs", tmp_path / "nohead.csv")


def test_malformed_json_names_the_place(capsys, compiled, tmp_path):
    _, net = compiled
    bad = tmp_path / "bad.json"
    bad.write_text('[{"3": {"a": 1, "b": 0, "cin": 1}},\n {"4": ')
    err = fails(capsys, "run", net, "--inputs", bad)
    assert "bad.json:2:" in err and "is not valid JSON" in err


@pytest.mark.parametrize("argv", [["run", "--instance", "1", "f=1"], ["sample", "-o", "{tmp}/s"],
                                  ["components", "-o", "{tmp}/c.safetensors"]])
def test_feature_networks_are_refused_by_the_commands_for_instances(capsys, tmp_path, argv):
    ok(capsys, "compile", EXAMPLES / "features.circ", "-o", tmp_path / "feat")
    err = fails(capsys, argv[0], tmp_path / "feat", *[a.format(tmp=tmp_path) for a in argv[1:]])
    assert f"holds a network over a feature set; `circuitc {argv[0]}` takes networks of circuit instances" in err
