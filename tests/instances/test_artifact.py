"""Saved networks: the round trip, byte-identical output, atomic replacement, and every kind of
damage reported as a CircuitError that names the file."""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

import circuitc
from circuitc import artifact_format
from circuitc.active_sets import random_active
from circuitc.artifact import CIRCUITS, METADATA, WEIGHTS, LoadedNetwork, load, save
from circuitc.errors import CircuitError
from circuitc.instances.compile import Compilation, compile_network
from circuitc.instances.verify import sample_inputs, verify

# Boolean, parametric (its canonical name `adder<N=3>` must survive the .circ round trip) and MLP
# circuits, of different widths and depths.
SOURCE = """
circuit full_adder { in a, b, cin; out s, cout; s = a ^ b ^ cin; cout = maj(a, b, cin); }
circuit adder<N = 2> {
    in a[N], b[N];
    out s[N + 1];
    wire c[N + 1];
    c[0] = 0;
    for i in 0..N {
        s[i] = a[i] ^ b[i] ^ c[i];
        c[i + 1] = maj(a[i], b[i], c[i]);
    }
    s[N] = c[N];
}
mlp tiny {
    in x[2];
    out y;
    layer relu { weights = [[1, -1], [-1, 1]]; bias = [0.25, -0.5]; }
    layer linear { weights = [[1.5, 0.1]]; }
}
network mixed { use full_adder * 8; use adder<3> * 4; use tiny * 4; active = 2; width = 384; seed = 3; \
construction = "coherent"; }
"""


@pytest.fixture(scope="module")
def spec():
    return circuitc.parse(SOURCE)


@pytest.fixture(scope="module")
def comp(spec):
    return compile_network(spec)


@pytest.fixture(scope="module")
def saved(comp, spec, tmp_path_factory):
    path = tmp_path_factory.mktemp("saved") / "net"
    save(comp, path, source_hash=spec.source_hash, name="mixed")
    return path


@pytest.fixture
def copy(saved, tmp_path):
    """A fresh copy of the saved artifact, to damage."""
    path = tmp_path / "net"
    shutil.copytree(saved, path)
    return path


def files(path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(path.iterdir())}


# --------------------------------------------------------------------------------------------
# Round trip


def test_layout(saved, comp):
    assert sorted(p.name for p in saved.iterdir()) == sorted([WEIGHTS, METADATA, CIRCUITS])
    assert not [p for p in saved.parent.iterdir() if p.name.startswith(".")]   # no temporary left over
    tensors = load_file(str(saved / WEIGHTS))
    L, D, d = comp.network.L, comp.network.D, comp.network.d
    assert sorted(tensors) == sorted([f"layers.{l}.{w}" for l in range(L) for w in ("weight", "bias")]
                                     + [f"types.{k}.weights" for k in range(3)]
                                     + ["allocation.supports", "permutations"])
    assert tensors["layers.0.weight"].dtype == torch.float32 and tensors["layers.0.weight"].shape == (D, D)
    assert tensors["types.1.weights"].dtype == torch.float64 and tensors["types.1.weights"].shape == (L, d, d)
    meta = json.loads((saved / METADATA).read_text())
    assert (meta["format"], meta["version"], meta["network"]) == ("circuitc-network", 4, "mixed")
    assert meta["type_of"] == [[0, 8], [1, 4], [2, 4]]
    assert tensors["allocation.supports"].shape == (16, comp.network.S) and tensors["permutations"].shape == (L + 1, 16)
    assert "supports" not in meta and "permutations" not in meta and "supports" not in meta["allocation"]
    ty = meta["types"][1]
    assert ty["circuit"] == "adder<N=3>" and ty["kind"] == "boolean" and ty["count"] == 4
    assert ty["input_bits"] == [f"a[{i}]" for i in range(3)] + [f"b[{i}]" for i in range(3)]
    assert ty["active_tolerance"] == comp.network.types[1].active_tolerance
    assert ty["inactive_tolerance"] == comp.network.types[1].inactive_tolerance
    assert meta["report"] == json.loads(json.dumps(comp.report()))


def test_round_trip(saved, comp, spec):
    loaded = load(saved)
    assert isinstance(loaded, LoadedNetwork) and isinstance(loaded, Compilation)
    assert loaded.name == "mixed" and loaded.source_hash == spec.source_hash
    a, b = comp.network, loaded.network
    for x, y in zip(a.linears(), b.linears(), strict=True):
        assert torch.equal(x.weight, y.weight) and torch.equal(x.bias, y.bias)
    assert np.array_equal(a.supports, b.supports) and np.array_equal(a.type_of, b.type_of)
    assert (a.n, a.margin, a.D, a.L, a.T, a.S) == (b.n, b.margin, b.D, b.L, b.T, b.S)
    for name in ("input_table", "readout_table", "n_inputs", "n_outputs"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    for x, y in zip(a.types, b.types, strict=True):
        assert (x.name, x.kind, x.margin, x.gain, x.active_tolerance) == (y.name, y.kind, y.margin, y.gain,
                                                                           y.active_tolerance)
        assert np.array_equal(x.weights, y.weights) and np.array_equal(x.readout, y.readout)
        assert np.array_equal(x.input_index, y.input_index)
    assert loaded.config == comp.config and loaded.counts == comp.counts
    assert np.array_equal(loaded.permutations, comp.permutations)
    assert np.array_equal(loaded.allocation.supports, comp.allocation.supports)
    assert loaded.allocation.summary() == comp.allocation.summary()
    for x, y in zip(loaded.circuits, comp.circuits, strict=True):
        # A parametric variant reads back under its canonical name, without its parameters.
        assert (x.name, x.kind, x.inputs, x.outputs) == (y.name, y.kind, y.inputs, y.outputs)
        assert getattr(x, "gates", None) == getattr(y, "gates", None)
        assert getattr(x, "layers", None) == getattr(y, "layers", None)
    assert loaded.report() == comp.report()

    rng = np.random.default_rng(5)
    inst = random_active(a.T, 2, 64, rng)
    x = sample_inputs(comp, inst, rng)
    assert np.array_equal(a.run(inst, x), b.run(inst, x), equal_nan=True)
    assert verify(loaded, samples=300, seed=1) == verify(comp, samples=300, seed=1)


def test_saving_is_byte_identical(spec, tmp_path):
    save(compile_network(spec), tmp_path / "a", source_hash=spec.source_hash)
    save(compile_network(spec), tmp_path / "b", source_hash=spec.source_hash)
    assert files(tmp_path / "a") == files(tmp_path / "b")
    # Another seed assigns other supports to the instances. With one range of neurons per type
    # (the default) that only permutes instances of one type, so the weights stay the same.
    save(compile_network(spec, seed=4), tmp_path / "c", source_hash=spec.source_hash)
    a, c = load_file(str(tmp_path / "a" / WEIGHTS)), load_file(str(tmp_path / "c" / WEIGHTS))
    weights = [key for key in a if key.startswith(("layers.", "types."))]
    assert weights and all(torch.equal(a[key], c[key]) for key in weights)
    layer0 = [t["allocation.supports"][t["permutations"][0]] for t in (a, c)]
    assert not torch.equal(*layer0)                      # other supports for the instances
    save(compile_network(spec, segregate=False), tmp_path / "d", source_hash=spec.source_hash)
    save(compile_network(spec, segregate=False, seed=4), tmp_path / "e", source_hash=spec.source_hash)
    assert (tmp_path / "d" / WEIGHTS).read_bytes() != (tmp_path / "e" / WEIGHTS).read_bytes()


# --------------------------------------------------------------------------------------------
# Writing: never over an existing path without force, atomically with it


def test_refuses_an_existing_path_without_force(comp, copy):
    before = files(copy)
    with pytest.raises(CircuitError, match="exists; pass --force to replace it"):
        save(comp, copy)
    assert files(copy) == before


def test_force_replaces_an_artifact(spec, copy):
    other = compile_network(spec, seed=9)
    save(other, copy, force=True)
    assert load(copy).config.seed == 9
    assert not [p for p in copy.parent.iterdir() if p.name.startswith(".")]


def test_force_never_replaces_something_else(comp, tmp_path):
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "keep.txt").write_text("precious")
    with pytest.raises(CircuitError, match="not a compiled network"):
        save(comp, tmp_path / "notes", force=True)
    assert (tmp_path / "notes" / "keep.txt").read_text() == "precious"
    (tmp_path / "file").write_text("x")
    with pytest.raises(CircuitError, match="not a directory"):
        save(comp, tmp_path / "file", force=True)
    (tmp_path / "empty").mkdir()
    save(comp, tmp_path / "empty", force=True)                      # an empty directory is fine
    load(tmp_path / "empty")
    with pytest.raises(CircuitError, match="does not exist"):
        save(comp, tmp_path / "missing" / "net")


def test_a_failed_write_leaves_the_old_artifact(comp, copy, monkeypatch):
    before = files(copy)

    def broken(path, tensors):
        path.write_bytes(b"half a file")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(artifact_format, "_write_weights", broken)
    with pytest.raises(CircuitError, match="cannot write .*No space left on device"):
        save(comp, copy, force=True)
    assert files(copy) == before
    assert sorted(p.name for p in copy.parent.iterdir()) == ["net"]


def test_a_failed_rename_puts_the_old_artifact_back(spec, copy, monkeypatch):
    before = files(copy)
    other = compile_network(spec, seed=9)
    real = os.rename
    calls = []

    def rename(src, dst):
        calls.append((src, dst))
        if len(calls) == 2:                  # old aside, then new into place: fail the second
            raise OSError(5, "Input/output error")
        return real(src, dst)

    monkeypatch.setattr(artifact_format.os, "rename", rename)
    with pytest.raises(CircuitError, match="Input/output error"):
        save(other, copy, force=True)
    monkeypatch.undo()
    assert files(copy) == before
    assert sorted(p.name for p in copy.parent.iterdir()) == ["net"]


# --------------------------------------------------------------------------------------------
# Damage: every problem is a CircuitError naming the file


def edit_json(path, change):
    meta = json.loads((path / METADATA).read_text())
    change(meta)
    (path / METADATA).write_text(json.dumps(meta))


def edit_tensors(path, change):
    tensors = load_file(str(path / WEIGHTS))
    change(tensors)
    save_file(tensors, str(path / WEIGHTS))


def fails(path, *patterns):
    with pytest.raises(CircuitError) as info:
        load(path)
    message = str(info.value)
    for p in patterns:
        assert p in message, message
    assert "Traceback" not in message
    return message


@pytest.mark.parametrize("name", [WEIGHTS, METADATA, CIRCUITS])
def test_missing_file(copy, name):
    (copy / name).unlink()
    fails(copy, f"missing {name}")


def test_not_an_artifact(tmp_path):
    fails(tmp_path / "nothing", "cannot find")
    (tmp_path / "f").write_text("x")
    fails(tmp_path / "f", "is not a directory")


def test_invalid_json(copy):
    text = (copy / METADATA).read_text()
    (copy / METADATA).write_text(text[: len(text) // 2])
    fails(copy, f"{METADATA}: not valid JSON (line")
    (copy / METADATA).write_bytes(b"\xff\xfe{}")
    fails(copy, f"{METADATA}: not UTF-8")
    (copy / METADATA).write_text("[1, 2]")
    fails(copy, f"{METADATA}: must hold a JSON object")


def test_newer_and_unknown_versions(copy):
    edit_json(copy, lambda m: m.update(version=5))
    fails(copy, f"{METADATA}: format version 5 is newer than this circuitc reads (4)", "upgrade circuitc")
    edit_json(copy, lambda m: m.update(version=1))
    fails(copy, "format version 1: compiled by an older circuitc", "compile the source again")
    edit_json(copy, lambda m: m.update(version=0))
    fails(copy, "unknown format version 0")
    edit_json(copy, lambda m: m.update(version="1"))
    fails(copy, "`version` must be an integer, got a string")
    edit_json(copy, lambda m: m.update(version=2, format="something-else"))
    fails(copy, "not a circuitc network (format 'something-else'")


@pytest.mark.parametrize("change,pattern", [
    (lambda m: m["shape"].pop("n"), "missing key `shape.n`"),
    (lambda m: m["config"].update(z=True), "`config.z` must be an integer, got a boolean"),
    (lambda m: m["config"].update(z=99), "`config.z` = 99 exceeds the T = 16 instances"),
    (lambda m: m["types"][0].update(circuit=3), "`types[0].circuit` must be a string"),
    (lambda m: m["types"][0].update(count=7), "`types[0].count` is 7, but `type_of` lists 8"),
    (lambda m: m.update(type_of=[[0, 8], [1, 4], [5, 4]]), "`type_of[2]` must be [type, count]"),
    (lambda m: m.update(type_of=[[0, 8], [1, 4]]), "`type_of` covers 12 instances, but the network has T = 16"),
    (lambda m: m["types"][0].update(readout=[[1.0]]), "`types[0].readout` has shape (1, 1), expected (2, {d})"),
    (lambda m: m["types"][0].update(d=5), "`types[0].d` is 5, but the network has d = {d}"),
    (lambda m: m["types"][0].update(gain=3.0), "`types[0].gain` is 3.0, but the config's is"),
    (lambda m: m["types"][0].pop("gain"), "missing key `types[0].gain`"),
    (lambda m: m["config"].update(gain="4"), "`config.gain` must be a number or null, got a string"),
    (lambda m: m["shape"].update(D=100), "`shape` is inconsistent"),
    # A figure far past any network's, multiplied into a size before anything refused it (found by
    # fuzzing): refused as it is read, without printing or dividing the number.
    (lambda m: m["shape"].update(L=10 ** 400), "`shape.L` must lie below 2^63, got an integer of 401 digits"),
    (lambda m: m["shape"].update(T=-(1 << 63)), "`shape.T` must lie below 2^63"),
])
def test_damaged_metadata(copy, comp, change, pattern):
    net = comp.network
    edit_json(copy, change)
    fails(copy, f"{METADATA}: ", pattern.format(L=net.L, L1=net.L + 1, S=net.S, n=net.n, d=net.d))


def _set(t, key, index, value):
    t[key][index] = value


@pytest.mark.parametrize("change,pattern", [
    (lambda t: t.pop("permutations"), "missing tensor permutations"),
    (lambda t: t.update(permutations=t["permutations"][:-1].clone()), "permutations has shape"),
    (lambda t: _set(t, "allocation.supports", (3, 0), 10_000),
     "allocation.supports holds neuron 10000, outside [0, n) = [0, {n})"),
    (lambda t: _set(t, "allocation.supports", (3, 0), -1), "outside [0, n)"),
    (lambda t: _set(t, "permutations", (1, 0), int(t["permutations"][1, 1])), "not a permutation of the T instances"),
    (lambda t: t.update(permutations=t["permutations"].float()), "permutations has dtype F32, expected I64"),
])
def test_damaged_routing_tables(copy, comp, change, pattern):
    edit_tensors(copy, change)
    fails(copy, f"{WEIGHTS}: ", pattern.format(n=comp.network.n))


def test_wrong_tensor_shape(copy, comp):
    D = comp.network.D
    edit_tensors(copy, lambda t: t.update({"layers.1.weight": torch.zeros(D // 2, D // 2)}))
    fails(copy, f"{WEIGHTS}: layers.1.weight has shape ({D // 2}, {D // 2}), expected ({D}, {D})")


@pytest.mark.parametrize("change,pattern", [
    (lambda t: t.pop("layers.0.bias"), "missing tensor layers.0.bias"),
    (lambda t: t.update(extra=torch.zeros(1)), "unexpected tensor extra"),
    (lambda t: t.update({"types.0.weights": t["types.0.weights"].float()}),
     "types.0.weights has dtype F32, expected F64"),
    (lambda t: t["layers.0.bias"].__setitem__(3, float("nan")), "layers.0.bias contains NaN"),
    (lambda t: t.update({"types.2.weights": torch.zeros_like(t["types.2.weights"])}), "instance type 2"),
])
def test_damaged_tensors(copy, change, pattern):
    edit_tensors(copy, change)
    fails(copy, pattern)


@pytest.mark.parametrize("keep", [0, 7, 100, -1000])
def test_truncated_safetensors(copy, keep):
    data = (copy / WEIGHTS).read_bytes()
    (copy / WEIGHTS).write_bytes(data[:keep])
    fails(copy, f"{WEIGHTS}: not a valid safetensors file")


def test_damaged_circuits(copy):
    text = (copy / CIRCUITS).read_text()
    (copy / CIRCUITS).write_text(text.replace("circuit full_adder", "circuit full_adder2"))
    fails(copy, f"{CIRCUITS}: no circuit `full_adder`")
    (copy / CIRCUITS).write_text(text.replace("out s, cout;", "out s, carry;").replace("cout =", "carry ="))
    fails(copy, "circuit `full_adder` does not match instance type 0")
    (copy / CIRCUITS).write_text(text + "\ncircuit {")
    fails(copy, CIRCUITS)


def _tamper(path, change):
    """Rewrite network.json through `change(meta)`, writing floats as Python's json does (NaN, Infinity)."""
    meta = json.loads((path / METADATA).read_text())
    change(meta)
    (path / METADATA).write_text(json.dumps(meta))


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
@pytest.mark.parametrize("where, set_", [
    ("`types[0].margin`", lambda m, v: m["types"][0].__setitem__("margin", v)),
    ("`types[0].gain`", lambda m, v: m["types"][0].__setitem__("gain", v)),
    ("`types[0].active_tolerance`", lambda m, v: m["types"][0].__setitem__("active_tolerance", v)),
    ("`types[0].inactive_tolerance`", lambda m, v: m["types"][0].__setitem__("inactive_tolerance", v)),
    ("`config.margin`", lambda m, v: m["config"].__setitem__("margin", v)),
    ("`shape.margin`", lambda m, v: m["shape"].__setitem__("margin", v)),
    ("`types[0].readout`", lambda m, v: m["types"][0]["readout"][0].__setitem__(0, v)),
])
def test_non_finite_numbers_in_network_json_are_refused(copy, where, set_, value):
    _tamper(copy, lambda m: set_(m, value))
    message = fails(copy, METADATA, where)
    assert "finite" in message or "NaN or infinite" in message, message


def test_an_overflowing_number_in_network_json_is_refused(copy):
    text = (copy / METADATA).read_text()
    meta = json.loads(text)
    meta["types"][0]["margin"] = 12345.5
    (copy / METADATA).write_text(json.dumps(meta).replace("12345.5", "1e999"))
    fails(copy, METADATA, "`types[0].margin` must be a finite number, got inf")


@pytest.mark.parametrize("section, key", [(s, k) for s in ("shape",) for k in ("D", "d", "n", "L", "T", "S")]
                         + [("config", "D"), ("config", "S")])
@pytest.mark.parametrize("value", [0, -3])
def test_non_positive_figures_in_network_json_are_refused(copy, section, key, value):
    _tamper(copy, lambda m: m[section].__setitem__(key, value))
    fails(copy, METADATA, f"`{section}.{key}` must be at least 1, got {value}")


def test_save_refuses_circuits_the_line_reader_could_not_read_back(comp, tmp_path, monkeypatch):
    import circuitc.instances.artifact as stored
    from circuitc.frontend.flat import printed_items

    items = sum(printed_items(c) for c in {c.name: c for c in comp.circuits}.values())
    monkeypatch.setattr(stored, "MAX_FLAT_ITEMS", items - 1)
    with pytest.raises(CircuitError, match=f"would print as {items:,} items"):
        save(comp, tmp_path / "net")
    assert not (tmp_path / "net").exists()


def test_circuits_circ_is_read_without_the_parser(copy, monkeypatch):
    """circuits.circ is in the form the printer writes, which the line reader takes whatever its
    size (MLP weights are printed as literals: about 470 tokens a small MLP circuit), so it loads
    even when it holds more tokens than the parser reads. Edited so that it needs the parser, it
    is parsed under the parser's own limit, and refused past it."""
    import circuitc.frontend.syntax.parse as parse

    text = (copy / CIRCUITS).read_text()
    tokens = parse.count_tokens(text, CIRCUITS, 10 ** 9)
    assert tokens > 100
    monkeypatch.setattr(parse, "MAX_TOKENS", tokens - 1)
    assert load(copy).circuits
    (copy / CIRCUITS).write_text(text + "circuit extra { in a; out y; y = a & a; }\n")
    fails(copy, f"{CIRCUITS}:", f"the source holds more than {tokens - 1:,} tokens, above the parser's limit")


def test_a_runaway_loop_in_circuits_circ_is_refused(copy, monkeypatch):
    """circuits.circ is elaborated before its hash is checked, so the elaboration budget is what
    stops a runaway loop written into it (the limit is lowered to keep the test fast)."""
    import circuitc.frontend.elaborate as elaborate
    import circuitc.frontend.expand as expand
    monkeypatch.setattr(elaborate, "MAX_STEPS", 10_000, raising=False)
    monkeypatch.setattr(expand, "MAX_STEPS", 10_000, raising=False)
    with open(copy / CIRCUITS, "a") as f:
        f.write("\ncircuit runaway {\n  in a; out y;\n  for i in 0..1000 { for j in 0..1000 { } }\n"
                "  y = a;\n}\n")
    message = fails(copy, "elaboration reached 10,001 steps", "above the limit of 10,000")
    lines = (copy / CIRCUITS).read_text().splitlines()
    assert f"{CIRCUITS}:{len(lines) - 2}:22:" in message, message
