"""`verify` of networks with real (MLP) outputs: a tolerance, rms and max error, exit 1 above it,
and never a pass without a comparison (instances/verdicts.py `judge`, cli/network_cmds.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_runs import fails, ok

from circuitc.instances.verdicts import DEFAULT_TOLERANCE, judge

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SOURCE = (EXAMPLES / "mlp_xor.circ").read_text() + """
network exact { use mlp_xor * 20; active = 1; width = 128; }
network mixed { use mlp_xor * 60; active = 2; width = 64; construction = "coherent"; }
"""


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory):
    d = tmp_path_factory.mktemp("real")
    for f in EXAMPLES.glob("mlp_xor*"):
        (d / f.name).write_bytes(f.read_bytes())
    (d / "nets.circ").write_text(SOURCE)
    return d


def _compile(capsys, d: Path, network: str) -> Path:
    ok(capsys, "compile", d / "nets.circ", "--network", network, "-o", d / network, "--force")
    return d / network


def test_an_exact_mlp_network_passes_with_its_errors_reported(capsys, artifacts):
    net = _compile(capsys, artifacts, "exact")
    out = ok(capsys, "verify", net, "--samples", "500")
    assert f"--tolerance {DEFAULT_TOLERANCE:g}" in out and out.strip().splitlines()[-1].startswith("ok: MLP max error")
    record = json.loads(ok(capsys, "verify", net, "--samples", "500", "--json"))
    assert record["passed"] and record["tolerance"] == DEFAULT_TOLERANCE
    assert record["real_max_error"] <= DEFAULT_TOLERANCE and record["real_rms_error"] <= record["real_max_error"]


def test_real_outputs_off_by_more_than_the_tolerance_fail(capsys, artifacts):
    net = _compile(capsys, artifacts, "mixed")
    err = fails(capsys, "verify", net, "--samples", "500", code=1)
    assert "above --tolerance" in err
    # A tolerance above the measured error passes the same rows.
    got = json.loads(ok(capsys, "verify", net, "--samples", "500", "--json", "--tolerance", "1e9"))
    assert got["passed"] and got["real_max_error"] > DEFAULT_TOLERANCE


def test_bad_tolerances_are_usage_errors(capsys, artifacts):
    net = _compile(capsys, artifacts, "exact")
    assert "--tolerance must be a finite number >= 0" in fails(capsys, "verify", net, "--tolerance", "-1")
    assert "--tolerance must be a finite number >= 0" in fails(capsys, "verify", net, "--tolerance", "nan")


@pytest.mark.parametrize("result,guaranteed,passed", [
    ({"bit_accuracy": 1.0, "real_max_error": None, "real_rms_error": None}, True, True),
    ({"bit_accuracy": 0.9995, "real_max_error": None, "real_rms_error": None}, False, True),
    ({"bit_accuracy": 0.9995, "real_max_error": None, "real_rms_error": None}, True, False),   # contradicted
    ({"bit_accuracy": 0.99, "real_max_error": None, "real_rms_error": None}, False, False),
    ({"bit_accuracy": None, "real_max_error": 1e-6, "real_rms_error": 1e-7}, True, True),
    ({"bit_accuracy": None, "real_max_error": 0.5, "real_rms_error": 0.1}, True, False),
    ({"bit_accuracy": 1.0, "real_max_error": 0.5, "real_rms_error": 0.1}, False, False),
    ({"bit_accuracy": None, "real_max_error": None, "real_rms_error": None}, False, False),   # nothing compared
])
def test_judge(result, guaranteed, passed):
    verdict = judge(result, guaranteed=guaranteed)
    assert verdict.passed is passed
    assert verdict.compared is not (result["bit_accuracy"] is None and result["real_max_error"] is None)
