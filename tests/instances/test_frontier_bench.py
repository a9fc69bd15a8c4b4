"""The capacity-frontier harness (benchmarks/frontier.py): its quick grid runs and says something.

The quick grid is a random depth-4 circuit in D = 512 at z = 1 and 2, routed and coherent (prime-step).
Routed is exact at the grid's cap. Coherent: with one active instance the
default lowering holds every instance the allocation offers (measured; docs/lowering.md), so the
frontier is the allocation's capacity; with two it is far lower, so the search really bisects.
"""

from __future__ import annotations

import json

import pytest
from scripts import load_script


@pytest.fixture(scope="module")
def frontier():
    return load_script("benchmarks/frontier.py")


def test_random_circuit_has_the_promised_shape(frontier):
    import circuitc
    from circuitc.instances.plan import logic_levels

    c = frontier.random_circuit(depth=4, width=3, seed=1)
    c.check()
    lv = logic_levels(c)
    assert max(lv[b] for b in c.output_bits) == 4
    # No dead wire: every input and every gate is read (the last level by the output copies).
    read = {a for g in c.gates for a in g.args}
    assert set(c.input_bits) <= read
    assert all(g.out in read for g in c.gates if g.op.value in ("and", "or", "xor"))
    assert frontier.random_circuit(seed=1) == c and frontier.random_circuit(seed=2) != c
    circuitc.evaluate_bits(c, circuitc.truth_table(c)[0])


def test_quick_grid(frontier, tmp_path, capsys):
    plot = tmp_path / "frontier.png"
    frontier.main(["--quick", "--plot", str(plot)])
    result = json.loads(capsys.readouterr().out)
    rows = {(r["z"], r["strategy"]): r for r in result["rows"]}
    assert set(rows) == {(z, s) for z in (1, 2) for s in ("routed", "prime-step")}
    for (z, _), row in rows.items():
        assert row["circuit"] == "random4" and row["D"] == 512 and row["d_naive"] == 3
        assert 0 < row["frontier_T"] <= row["frontier_T_random"] <= row["T_max"]
        assert row["frontier_compression"] == round(row["frontier_T"] * 3 / 512, 4)
        assert row["accuracy"] >= 0.999 and row["adversarial_accuracy"] >= 0.999
        assert [p["T"] for p in row["probes"]] == sorted(p["T"] for p in row["probes"])
        # the fill ladder: the best T passed both passes, and is at least the searched frontier
        assert (row["frontier_T_best"] >= row["frontier_T"]
                and row["monotone"] == (row["frontier_T_best"] == row["frontier_T"]))
        best = next(p for p in row["probes"] if p["T"] == row["frontier_T_best"])
        assert best["random_ok"] and best["adversarial_ok"]
        probed = {p["T"] for p in row["probes"]}
        assert row["T_max"] in probed and (row["T_max"] // 2 in probed or row["T_max"] // 2 <= row["frontier_T"])
    # routed: exact at its largest T (the quick grid's cap, 4096, or its code's capacity: 7⁴ = 2401
    # at z = 2), the first probe and the ladder alike
    assert (rows[1, "routed"]["T_max"], rows[2, "routed"]["T_max"]) == (4096, 2401)
    for z, limit in ((1, "cap"), (2, "code")):
        routed = rows[z, "routed"]
        assert routed["frontier_T"] == routed["T_max"] and routed["limited_by"] == limit
        assert all(p["random_ok"] and p["adversarial_ok"] for p in routed["probes"])
    assert rows[2, "routed"]["frontier_compression"] > 10 * rows[2, "prime-step"]["frontier_compression"]
    assert rows[1, "prime-step"]["frontier_T"] == rows[1, "prime-step"]["T_max"]
    assert rows[1, "prime-step"]["limited_by"] == "allocation"
    assert rows[2, "prime-step"]["frontier_T"] < rows[1, "prime-step"]["frontier_T"] / 4
    assert any(not p["adversarial_ok"] for p in rows[2, "prime-step"]["probes"])
    assert plot.stat().st_size > 10_000
    # Re-plotting from the JSON needs no compilation.
    saved = tmp_path / "run.json"
    saved.write_text(json.dumps(result))
    frontier.main(["--from-json", str(saved), "--plot", str(tmp_path / "again.png"), "--markdown"])
    assert (tmp_path / "again.png").stat().st_size > 10_000
    table = capsys.readouterr().out.splitlines()
    assert len(table) == 2 + 4 and table[3].startswith("| random4 | 512 | 1 | prime-step | 2 | 12 / 3 | 601 | 601 |")
    assert table[2].startswith("| random4 | 512 | 1 | routed | ")


def test_several_redundancies_in_one_run(frontier, capsys):
    frontier.main(["--circuits", "full_adder", "--D", "512", "--z", "2", "--strategies", "prime-step",
                   "--S", "2", "3", "--samples", "1024", "--adversarial", "256", "--precision", "0.5"])
    rows = json.loads(capsys.readouterr().out)["rows"]
    assert [r["S_requested"] for r in rows] == [2, 3]
    for r in rows:
        assert {p["S"] for p in r["probes"]} == {r["S_requested"]}
    assert rows[0]["T_max"] > rows[1]["T_max"]          # a larger S holds fewer instances
