"""`circuitc compile` and `circuitc verify`, end to end through `main([...])` on files in a
temporary directory."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest
from cli_runs import fails, ok, run

import circuitc
from circuitc.artifact import METADATA, WEIGHTS, load
from circuitc.cli import app as cli
from circuitc.cli import network_cmds

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

# One circuit type and at most one active instance: every promise-keeping input is computed exactly.
ADDERS = """\
circuit full_adder {
    in a, b, cin;
    out s, cout;
    s = a ^ b ^ cin;
    cout = maj(a, b, cin);
}

network adders {
    use full_adder * 40;
    active = 1;
    width = 256;
    seed = 2;
}
"""


@pytest.fixture
def source(tmp_path) -> Path:
    path = tmp_path / "adders.circ"
    path.write_text(ADDERS)
    return path


def compile_source(tmp_path_factory, name: str, text: str) -> Path:
    """Write `text` to a fresh directory, compile it there and return the artifact directory."""
    d = tmp_path_factory.mktemp(name)
    (d / f"{name}.circ").write_text(text)
    assert cli.main(["compile", str(d / f"{name}.circ"), "-o", str(d / "net")]) == 0
    return d / "net"


@pytest.fixture(scope="module")
def compiled(tmp_path_factory) -> Path:
    return compile_source(tmp_path_factory, "adders", ADDERS)


def test_compile_then_verify(source, tmp_path, capsys):
    out = ok(capsys, "compile", source, "-o", tmp_path / "net")
    assert "compiled network `adders`" in out
    for figure in ("D", "L", "T", "d", "z", "S", "n", "allocation", "capacity", "packing bound", "fill",
                   "load", "compression", "parameters", "naive neurons"):
        assert f"\n{figure} " in out, figure
    assert "full_adder" in out and "\x1b[" not in out
    out = ok(capsys, "verify", tmp_path / "net", "--samples", "2000")
    assert re.search(r"^bit accuracy +1$", out, re.M) and "ok: bit accuracy 1 >= 0.999" in out
    assert "full_adder" in out and "guaranteed exact for every promise-keeping input" in out


def test_verify_calls_a_broken_guarantee_a_bug(compiled, tmp_path, capsys):
    # A guaranteed network that verify finds inexact fails whatever --min-accuracy allows: here
    # the weights of a copy are damaged behind the compiler's back.
    import shutil

    import torch
    from safetensors.torch import load_file, save_file

    damaged = tmp_path / "damaged"
    shutil.copytree(compiled, damaged)
    tensors = load_file(str(damaged / WEIGHTS))
    # A routed network's layers are its lowered types placed at their positions (format 4).
    key = "layers.0.weight" if "layers.0.weight" in tensors else "types.0.weights"
    w = tensors[key]
    tensors[key] = w + (torch.rand(w.shape, generator=torch.Generator().manual_seed(0)) < 0.2)
    save_file(tensors, str(damaged / WEIGHTS))
    # Loading refuses weights that no longer match their recorded hash; without the record (as
    # in an artifact saved before hashes existed) the damage reaches verify.
    meta = json.loads((damaged / "network.json").read_text())
    del meta["hashes"]
    (damaged / "network.json").write_text(json.dumps(meta))
    code, out, err = run(capsys, "verify", damaged, "--samples", "2000", "--min-accuracy", "0")
    assert code == 1 and "contradicts the guarantee" in out and "this is a bug in circuitc" in err
    record = json.loads(run(capsys, "verify", damaged, "--samples", "500", "--min-accuracy", "0", "--json")[1])
    assert record["passed"] is False and record["guarantee"]["exact"] is True


def test_verify_json_reports_exact_accuracy(compiled, capsys):
    record = json.loads(ok(capsys, "verify", compiled, "--samples", "3000", "--seed", "4", "--batch", "500", "--json"))
    assert record["bit_accuracy"] == 1.0 and record["instance_accuracy"] == 1.0
    assert record["per_circuit"] == {"full_adder": 1.0}
    assert record["passed"] is True and record["samples"] == 3000 and record["seed"] == 4
    assert record["network"] == "adders" and record["T"] == 40 and record["z"] == 1


def test_an_impossible_minimum_exits_1(compiled, capsys):
    code, out, err = run(capsys, "verify", compiled, "--samples", "500", "--min-accuracy", "1.1")
    assert code == 1
    assert "FAILED: bit accuracy 1 < 1.1" in out and "below --min-accuracy 1.1" in err
    code, out, _ = run(capsys, "verify", compiled, "--samples", "500", "--min-accuracy", "1.1", "--json")
    assert code == 1 and json.loads(out)["passed"] is False


def test_compile_json(source, tmp_path, capsys):
    record = json.loads(ok(capsys, "compile", source, "-o", tmp_path / "net", "--json"))
    rep = record["report"]
    assert record["network"] == "adders" and record["output"] == str(tmp_path / "net")
    assert rep["T"] == 40 and rep["z"] == 1 and rep["D"] <= 256 and rep["config"]["seed"] == 2
    assert record["types"] == [{"circuit": "full_adder", "kind": "boolean", "count": 40, "inputs": 3, "outputs": 2}]
    meta = json.loads((tmp_path / "net" / METADATA).read_text())
    assert meta["source_hash"] == record["source_hash"] and meta["report"] == rep


def test_overrides_replace_the_declaration(source, tmp_path, capsys):
    record = json.loads(ok(capsys, "compile", source, "-o", tmp_path / "net", "--width", "512", "--active", "2",
                           "--redundancy", "3", "--allocation", "prime-step", "--seed", "7", "--margin", "0.25",
                           "--json"))
    # --allocation prime-step (like --margin) belongs to the coherent construction, which it implies
    assert record["report"]["config"] == {"D": 512, "z": 2, "S": 3, "allocation": "prime-step", "seed": 7,
                                          "margin": 0.25, "shuffle": False, "schedule": "asap", "gain": 6.0,
                                          "segregate": True, "construction": "coherent", "shared_mean": None,
                                          "input_bound": None}
    assert record["report"]["allocation"]["strategy"] == "prime-step"
    loaded = load(tmp_path / "net")
    assert (loaded.config.D, loaded.config.z, loaded.network.S, loaded.network.margin) == (512, 2, 3, 0.25)
    # The step gain defaults to 2·S and can be set.
    assert {ty.gain for ty in loaded.network.types} == {6.0}
    record = json.loads(ok(capsys, "compile", source, "-o", tmp_path / "g", "--gain", "2.5", "--json"))
    assert record["report"]["gain"] == 2.5 and {ty.gain for ty in load(tmp_path / "g").network.types} == {2.5}


def test_output_is_never_replaced_without_force(source, tmp_path, capsys):
    ok(capsys, "compile", source, "-o", tmp_path / "net")
    before = (tmp_path / "net" / WEIGHTS).read_bytes()
    # Refused before any work: the missing source is never even read.
    err = fails(capsys, "compile", tmp_path / "missing.circ", "-o", tmp_path / "net")
    assert "exists; pass --force to replace it" in err
    assert (tmp_path / "net" / WEIGHTS).read_bytes() == before
    ok(capsys, "compile", source, "-o", tmp_path / "net", "--seed", "5", "--force")
    assert load(tmp_path / "net").config.seed == 5
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "keep.txt").write_text("x")
    err = fails(capsys, "compile", source, "-o", tmp_path / "other", "--force")
    assert "not a compiled network" in err and (tmp_path / "other" / "keep.txt").exists()


@pytest.mark.parametrize("argv,message", [
    (["compile", "{tmp}/missing.circ", "-o", "{tmp}/net"], "cannot find"),
    (["compile", "{src}", "-o", "{tmp}/net", "--network", "nope"], "no network named `nope`"),
    (["compile", "{src}", "-o", "{tmp}/net", "--active", "41"], "z = 41 must lie between 1 and the 40 instances"),
    (["compile", "{src}", "-o", "{tmp}/net", "--width", "12", "--construction", "coherent"],
     "narrower than two blocks"),
    (["compile", "{src}", "-o", "{tmp}/net", "--redundancy", "12", "--construction", "coherent"], "do not fit"),
    (["compile", "{src}", "-o", "{tmp}/net", "--width", "12"], "narrower than 40 instances need in the routed"),
    (["compile", "{src}", "-o", "{tmp}/net", "--width", "100", "--redundancy", "40"], "the largest code that fits"),
    (["compile", "{src}", "-o", "{tmp}/net", "--construction", "routed", "--margin", "0.2"],
     "a margin belongs to the coherent construction"),
    (["compile", "{src}", "-o", "{tmp}/net", "--construction", "routed", "--gain", "5"],
     "a gain belongs to the coherent construction"),
    (["compile", "{src}", "-o", "{tmp}/net", "--construction", "coherent", "--allocation", "polynomial"],
     "the polynomial allocation belongs to the routed construction"),
    (["compile", "{src}", "-o", "{tmp}/no/such/dir"], "does not exist"),
    (["compile", "{src}", "-o", "{tmp}/net", "--width", "0"], "--width must be 1 or more"),
    (["compile", "{src}", "-o", "{tmp}/net", "--margin", "-1"], "--margin must be a finite number >= 0"),
    (["compile", "{src}", "-o", "{tmp}/net", "--gain", "1.5"], "--gain must be a finite number above 2"),
    (["compile", "{src}", "-o", "{tmp}/net", "--allocation", "best"], "invalid choice"),
    (["compile", "{src}"], "required: -o/--output"),
    (["verify", "{tmp}/missing"], "cannot find"),
    (["verify", "{src}"], "is not a directory"),
    (["verify", "{tmp}", "--samples", "0"], "--samples must be 1 or more"),
])
def test_errors_exit_2(argv, message, source, tmp_path, capsys):
    argv = [a.format(tmp=tmp_path, src=source) for a in argv]
    err = fails(capsys, *argv)
    assert message in err, err
    assert not (tmp_path / "net").exists()


def test_a_source_without_a_network(tmp_path, capsys):
    (tmp_path / "fa.circ").write_text(ADDERS.split("network")[0])
    err = fails(capsys, "compile", tmp_path / "fa.circ", "-o", tmp_path / "net")
    assert "declares no network to compile" in err and "network NAME { use CIRCUIT * COUNT;" in err
    assert "feature sets" not in err
    # a feature set without a circuit over it: nothing to compile either way
    (tmp_path / "f.circ").write_text("features f[8] { active = 2; }\n" + ADDERS.split("network")[0])
    err = fails(capsys, "budget", tmp_path / "f.circ")
    assert "declares no network to compile" in err and "--circuit NAME" in err


def test_a_damaged_artifact_exits_2(compiled, tmp_path, capsys):
    import shutil
    shutil.copytree(compiled, tmp_path / "net")
    data = (tmp_path / "net" / WEIGHTS).read_bytes()
    (tmp_path / "net" / WEIGHTS).write_bytes(data[: len(data) // 3])
    err = fails(capsys, "verify", tmp_path / "net")
    assert f"{WEIGHTS}: not a valid safetensors file" in err
    (tmp_path / "net" / METADATA).write_text("{")
    assert f"{METADATA}: not valid JSON" in fails(capsys, "verify", tmp_path / "net")


def test_the_progress_bar_does_not_change_the_result(compiled, capsys, monkeypatch):
    plain = json.loads(ok(capsys, "verify", compiled, "--samples", "1500", "--batch", "300", "--json"))
    monkeypatch.setattr(network_cmds, "show_progress", lambda samples, batch: True)
    shown = json.loads(ok(capsys, "verify", compiled, "--samples", "1500", "--batch", "300", "--json"))
    assert shown == plain
    assert not load(compiled).network.model._forward_hooks   # a fresh load: nothing left behind


def test_no_progress_bar_when_piped(compiled, capsys):
    code, _, err = run(capsys, "verify", compiled, "--samples", "3000", "--batch", "500")
    assert code == 0 and err == ""


@pytest.mark.parametrize("command", ["compile", "verify"])
def test_help(capsys, command):
    out = ok(capsys, command, "--help")
    assert "usage: circuitc" in out and "example" in out


def test_the_example_compiles_and_verifies_exactly(tmp_path, capsys):
    record = json.loads(ok(capsys, "compile", EXAMPLES / "adders_network.circ", "-o", tmp_path / "net", "--json"))
    assert record["report"]["T"] == 2000 and record["report"]["z"] == 1 and record["report"]["D_requested"] == 2048
    assert record["report"]["compression"] > 1.9          # 2000 × 2 gates per level in ~2040 neurons
    assert [t["circuit"] for t in record["types"]] == ["full_adder"]
    assert load(tmp_path / "net").name == "adders"
    result = json.loads(ok(capsys, "verify", tmp_path / "net", "--samples", "5000", "--json"))
    assert result["bit_accuracy"] == 1.0


# Four full adders, two active at once: small enough to check every active set and input.
TINY = ADDERS.replace("* 40", "* 4").replace("active = 1", "active = 2").replace("width = 256", "width = 512")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    return compile_source(tmp_path_factory, "tiny", TINY)


def test_verify_exhaustive(tiny, capsys):
    record = json.loads(ok(capsys, "verify", tiny, "--exhaustive", "--json", "--batch", "100"))
    assert record["mode"] == "exhaustive" and record["samples"] == 4 * 2 ** 3 + 6 * 2 ** 6
    assert [bit for bit, _ in record["per_output"]["full_adder"]] == ["s", "cout"]
    assert all(0 <= a <= 1 for _, a in record["per_output"]["full_adder"])
    out = run(capsys, "verify", tiny, "--exhaustive")[1]
    assert "exhaustive mode, on all 416 rows" in out
    assert re.search(r"^per output\ncircuit +output +accuracy$", out, re.M)
    assert re.search(r"^full_adder +cout +[01.]+$", out, re.M)


def test_verify_adversarial(tiny, capsys):
    code, out, _ = run(capsys, "verify", tiny, "--adversarial", "--samples", "600")
    assert code in (0, 1) and "adversarial mode, on 600 samples" in out
    assert re.search(r"^instance +circuit +bit accuracy +bits +as target$", out, re.M)
    code, out, _ = run(capsys, "verify", tiny, "--adversarial", "--samples", "600", "--json")
    record = json.loads(out)
    assert record["mode"] == "adversarial" and record["samples"] == 600 and set(record["per_output"]) == {"full_adder"}
    assert all(w["targeted"] > 0 for w in record["worst_instances"])
    random = json.loads(run(capsys, "verify", tiny, "--samples", "600", "--json")[1])
    assert random["mode"] == "random" and all(w["targeted"] is None for w in random["worst_instances"])


def test_verify_modes_exclude_each_other(tiny, capsys):
    err = fails(capsys, "verify", tiny, "--adversarial", "--exhaustive")
    assert "not allowed with argument" in err


def test_verify_exhaustive_refusals(tmp_path, capsys):
    (tmp_path / "three.circ").write_text(ADDERS)
    ok(capsys, "compile", tmp_path / "three.circ", "-o", tmp_path / "net", "--active", "3")
    err = fails(capsys, "verify", tmp_path / "net", "--exhaustive")
    rows = 40 * 2 ** 3 + math.comb(40, 2) * 2 ** 6 + math.comb(40, 3) * 2 ** 9
    assert f"exhaustive verification needs {rows:,} rows (C(40,1)·2^3 + C(40,2)·2^6 + C(40,3)·2^9)" in err
    assert "use --samples instead" in err
    (tmp_path / "mlp.circ").write_text("mlp tiny { in x[2]; out y; layer relu { weights = [[1, -1], [-1, 1]]; } "
                                       "layer linear { weights = [[1, 1]]; } }\n"
                                       "network m { use tiny * 3; active = 1; width = 128; }\n")
    ok(capsys, "compile", tmp_path / "mlp.circ", "-o", tmp_path / "mlp")
    assert "`tiny` is an MLP circuit" in fails(capsys, "verify", tmp_path / "mlp", "--exhaustive")


def test_reshuffle_flag(source, tmp_path, capsys):
    fixed = json.loads(ok(capsys, "compile", source, "-o", tmp_path / "a", "--json"))
    shuffled = json.loads(ok(capsys, "compile", source, "-o", tmp_path / "b", "--reshuffle", "--json"))
    assert fixed["report"]["config"]["shuffle"] is False and shuffled["report"]["config"]["shuffle"] is True
    perms_fixed = load(tmp_path / "a").permutations
    perms_shuffled = load(tmp_path / "b").permutations
    assert (perms_fixed == perms_fixed[:1]).all()           # one assignment for every layer
    assert not (perms_shuffled == perms_shuffled[:1]).all()


def test_schedule_flag(source, tmp_path, capsys):
    record = json.loads(ok(capsys, "compile", source, "-o", tmp_path / "a", "--schedule", "alap", "--json"))
    assert record["report"]["config"]["schedule"] == "alap"
    assert load(tmp_path / "a").config.schedule == "alap"


def test_compile_warns_about_mixed_types(tmp_path, capsys):
    src = tmp_path / "mixed.circ"
    src.write_text("circuit a { in x; out y; y = ~x; }\ncircuit b { in x, w; out y; y = x & w; }\n"
                   "network n { use a * 5; use b * 5; active = 1; width = 256; }\n")
    code, _, err = run(capsys, "compile", src, "-o", tmp_path / "net")
    assert code == 0 and "warning" not in err              # each type has its own neurons
    code, _, err = run(capsys, "compile", src, "-o", tmp_path / "shared", "--no-segregate")
    assert code == 0 and "warning: this network mixes circuit types" in err


def test_a_network_whose_circuits_an_artifact_cannot_hold_is_refused_before_compiling(
        capsys, tmp_path, monkeypatch):
    """An artifact's circuits.circ is read back by the line reader, under its item limit: a network
    of more different circuits than that holds is refused with the numbers before any compiling
    (the limit is lowered here to what four of these circuits print as)."""
    import circuitc.frontend.flat as flat
    import circuitc.instances.artifact as stored
    from circuitc.frontend.flat import printed_items

    path = tmp_path / "many.circ"
    path.write_text("circuit f<K> { in x[3]; out y; y = (x[K % 3] ^ x[(K + 1) % 3]) & bit(K, 2); }\n"
                    "network n { use f<K=0..4>; active = 2; width = 256; }\n")
    spec = circuitc.load_spec(path)
    items = sum(printed_items(spec.circuit(g.circuit)) for g in spec.networks[0].groups)
    monkeypatch.setattr(stored, "MAX_FLAT_ITEMS", items - 1)
    monkeypatch.setattr(flat, "MAX_FLAT_ITEMS", items - 1)
    compiled = []
    monkeypatch.setattr(network_cmds, "compile_network", lambda *a, **k: compiled.append(1))
    err = fails(capsys, "compile", path, "-o", tmp_path / "net")
    assert f"would print as {items:,} items" in err and f"read back only up to {items - 1:,}" in err
    assert not compiled and not (tmp_path / "net").exists()
    monkeypatch.undo()
    ok(capsys, "compile", path, "-o", tmp_path / "net")
    assert load(tmp_path / "net").circuits
