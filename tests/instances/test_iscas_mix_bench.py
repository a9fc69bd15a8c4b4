"""The netlist-mix benchmark (benchmarks/iscas_mix.py) finds the largest count N of every type
that the routed construction plans at width D, and that network verifies exact: shown here on
the shipped c17 and a full adder at a small width, where it runs in seconds."""

from __future__ import annotations

from pathlib import Path

import pytest
from scripts import load_script

from circuitc.errors import CircuitError
from circuitc.instances import plan_network

ROOT = Path(__file__).resolve().parents[2]
D = 256


@pytest.fixture(scope="module")
def iscas_mix():
    return load_script("benchmarks/iscas_mix.py")


@pytest.fixture(scope="module")
def types(iscas_mix):
    return iscas_mix.load_types([str(ROOT / "examples" / "c17.bench"),
                                 f"{ROOT / 'examples' / 'full_adder.circ'}:full_adder"])


@pytest.mark.parametrize("z", [2, 3])
def test_the_largest_count_verifies_exact_and_one_more_is_refused(iscas_mix, types, z):
    rec = iscas_mix.measure(types, D, z, random_rows=2000, adversarial_rows=512)
    N = rec["N"]
    circuits = [c for c, _ in types]
    assert 1 <= N < rec["N_cap"] and rec["counts"] == [N, N] and rec["T"] == 2 * N
    assert rec["random_bit_accuracy"] == 1.0 and rec["adversarial_bit_accuracy"] == 1.0 and rec["exact"]
    assert rec["verdict"] == "guaranteed" and rec["guaranteed"]
    # Every count up to N plans and N + 1 does not: the search's N is the largest, not one it passed.
    for k in range((z + 1) // 2, N + 1):            # from the least count whose 2·k instances hold z active
        plan_network(iscas_mix.mix_spec(circuits, (k, k), D, z, 0))
    with pytest.raises(CircuitError) as refused:
        plan_network(iscas_mix.mix_spec(circuits, (N + 1, N + 1), D, z, 0))
    assert rec["next_refusal"] == refused.value.diagnostics[0].message
    assert rec["limited_by"] == "positions" and rec["positions_used"] <= rec["n"] == D // rec["d"]
    assert rec["compression"] == sum(N * t["d_naive"] for t in rec["per_type"]) / D


def test_a_mix_without_one_position_per_type_is_refused_with_the_planners_message(iscas_mix, types):
    # c17 takes at least 6 units a position (`on` and its 5 inputs): width 8 holds one range, not two.
    rec = iscas_mix.measure(types, 8, 2, random_rows=100, adversarial_rows=100)
    assert rec["N"] == 0 and rec["T"] == 0 and rec["limited_by"] == "types"
    assert "each type takes its own range of at least one position" in rec["refusal"]


def test_proportional_counts_keep_every_type(iscas_mix):
    assert iscas_mix.counts_of(10, [1000, 100, 1], 3) == (10, 1, 1)
    assert iscas_mix.counts_of(7, None, 2) == (7, 7)
