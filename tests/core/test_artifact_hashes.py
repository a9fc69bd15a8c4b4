"""network.json records the SHA-256 of the weights and of circuits.circ; loading refuses a file
that changed since saving (one flipped byte is enough), in either layout and for either back end,
and still loads an artifact written before the hashes existed."""

from __future__ import annotations

import hashlib
import json
import shutil
import struct
from pathlib import Path

import pytest
from cli_runs import fails, ok

import circuitc
from circuitc.artifact_format import HASHES
from circuitc.errors import CircuitError
from circuitc.features.network import compile_source

# A coherent network: its dense layers are stored as they are, so a flipped low byte of one
# weight is a valid network that no structural check can tell from the saved one.
SOURCE = """
circuit full_adder { in a, b, cin; out s, cout; s = a ^ b ^ cin; cout = maj(a, b, cin); }
network n { use full_adder * 12; active = 1; width = 192; construction = "coherent"; }
"""


@pytest.fixture(scope="module")
def comp():
    return circuitc.compile(circuitc.parse(SOURCE))


@pytest.fixture
def saved(comp, tmp_path):
    return circuitc.save(comp, tmp_path / "net")


def flip_weight_byte(path: Path, tensor: str = "layers.0.weight") -> None:
    """Flip the lowest byte of the first value of `tensor` (a float32 stays finite, and barely moves)."""
    data = bytearray(path.read_bytes())
    n = struct.unpack("<Q", data[:8])[0]
    begin = json.loads(data[8:8 + n])[tensor]["data_offsets"][0]
    data[8 + n + begin] ^= 0x01
    path.write_bytes(bytes(data))


def load_fails(path, *words) -> str:
    with pytest.raises(CircuitError) as info:
        circuitc.load(path)
    report = str(info.value)
    for word in words:
        assert word in report, report
    return report


def test_the_hashes_are_those_of_the_files(saved):
    meta = json.loads((saved / "network.json").read_text())
    assert set(meta[HASHES]) == {"weights.safetensors", "circuits.circ"}
    for name, digest in meta[HASHES].items():
        assert hashlib.sha256((saved / name).read_bytes()).hexdigest() == digest


def test_an_untouched_artifact_loads(saved):
    assert circuitc.verify(circuitc.load(saved), samples=200)["bit_accuracy"] == 1.0


def test_saving_stays_byte_identical(comp, tmp_path):
    a, b = circuitc.save(comp, tmp_path / "a"), circuitc.save(comp, tmp_path / "b")
    for f in ("weights.safetensors", "network.json", "circuits.circ"):
        assert (a / f).read_bytes() == (b / f).read_bytes(), f


def test_one_flipped_byte_in_the_weights_is_refused(saved, capsys):
    flip_weight_byte(saved / "weights.safetensors")
    report = load_fails(saved, "weights.safetensors: the file has changed since it was saved", "flipped bytes",
                        "hint:")
    assert "network.json records" in report
    assert "has changed since it was saved" in fails(capsys, "verify", saved)


def test_a_changed_circuits_file_is_refused(saved):
    # A comment is no part of any circuit: only the hash sees the change.
    text = (saved / "circuits.circ").read_text()
    (saved / "circuits.circ").write_text(text.replace("# The circuits", "# the circuits", 1))
    load_fails(saved, "circuits.circ: the file has changed since it was saved")


def test_an_artifact_without_hashes_loads(saved, comp):
    flip_weight_byte(saved / "weights.safetensors")
    meta = json.loads((saved / "network.json").read_text())
    del meta[HASHES]                 # as written before the hashes existed
    (saved / "network.json").write_text(json.dumps(meta))
    assert circuitc.load(saved).network.D == comp.network.D


def test_a_malformed_record_is_named(saved):
    meta = json.loads((saved / "network.json").read_text())
    meta[HASHES] = ["not", "an", "object"]
    (saved / "network.json").write_text(json.dumps(meta))
    load_fails(saved, "network.json: `hashes` must be an object")
    meta[HASHES] = {"weights.safetensors": 7}
    (saved / "network.json").write_text(json.dumps(meta))
    load_fails(saved, "`hashes.weights.safetensors` must be a string")


def test_the_hugging_face_layout_is_checked_by_the_same_names(comp, tmp_path):
    path = circuitc.save(comp, tmp_path / "hf", layout="hf")
    meta = json.loads((path / "config.json").read_text())
    assert set(meta[HASHES]) == {"weights.safetensors", "circuits.circ"}
    assert meta[HASHES]["weights.safetensors"] == hashlib.sha256((path / "model.safetensors").read_bytes()).hexdigest()
    circuitc.load(path)
    flip_weight_byte(path / "model.safetensors")
    load_fails(path, "model.safetensors: the file has changed since it was saved", "config.json records")


def test_a_converted_copy_records_its_own_files(saved, tmp_path, capsys):
    ok(capsys, "export", saved, "-o", tmp_path / "copy", "--layout", "hf")
    circuitc.load(tmp_path / "copy")
    shutil.copytree(tmp_path / "copy", tmp_path / "copy2")
    flip_weight_byte(tmp_path / "copy2" / "model.safetensors")
    load_fails(tmp_path / "copy2", "model.safetensors: the file has changed")


def test_feature_artifacts_are_checked_too(tmp_path):
    src = ("features f[24] { active = 2; }\n"
           "circuit g over f { out y[2]; y[0] = f[0] & f[1]; y[1] = f[2] | f[3]; }\n")
    net = compile_source(circuitc.parse(src), "g", target=1e-3)
    path = circuitc.save(net, tmp_path / "feat")
    circuitc.load(path)
    flip_weight_byte(path / "weights.safetensors", "stages.0.read_in")
    load_fails(path, "weights.safetensors: the file has changed since it was saved")


def test_a_save_over_the_loading_limit_is_refused_before_writing(comp, tmp_path, monkeypatch):
    """Loading reads at most MAX_ARTIFACT_WEIGHTS_BYTES of weights, so saving refuses more, with
    the numbers, and writes nothing (here the limit is lowered below this small network's size)."""
    import circuitc.artifact_format as fmt
    monkeypatch.setattr(fmt, "MAX_ARTIFACT_WEIGHTS_BYTES", 1 << 10)
    with pytest.raises(CircuitError, match=r"its weights would take .* bytes\), over the 1 KiB \(1,024 bytes\)"):
        circuitc.save(comp, tmp_path / "net")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("edit, words", [
    (lambda m: m["config"].update(k=10 ** 6), "fan-in k must be between 2 and 16, got 1000000"),
    (lambda m: m["config"].update(k="2"), "`config.k` must be an integer, got a string"),
    (lambda m: m["config"].update(calibrate=1), "`config.calibrate` must be true or false"),
    (lambda m: m["stages"][0].update(orders=[[1, 2, 3]]), "must be a list of [order, count] pairs"),
    (lambda m: m["stages"][0].update(orders=[["a", 1]]), "must be a 2-dimensional array of integers"),
    (lambda m: m["stages"][0].update(orders=[[1, 10 ** 30]]), "must be a 2-dimensional array of integers"),
])
def test_a_hand_edited_feature_network_json_is_refused_by_name(tmp_path, edit, words):
    """The config is checked as a compile checks it, and orders as integer pairs: values that once
    raised TypeError, OverflowError or MemoryError inside the loader."""
    from circuitc.artifact_format import METADATA
    src = (Path(__file__).resolve().parents[2] / "examples" / "features.circ")
    net = compile_source(circuitc.load_spec(src))
    path = circuitc.save(net, tmp_path / "f")
    meta = json.loads((path / METADATA).read_text())
    edit(meta)
    (path / METADATA).write_text(json.dumps(meta))
    load_fails(path, words)


@pytest.mark.parametrize("edit, words", [
    (lambda m: m["config"].update(construction=["routed"]), "`config.construction` must be a string, got a list"),
    (lambda m: m["config"].update(shuffle="yes"), "`config.shuffle` must be true or false, got a string"),
    (lambda m: m["types"][0].update(gain=10 ** 400), "`types[0].gain` must be a finite number, got an integer of"),
    (lambda m: m["shape"].update(L=10 ** 9), "of weights, above the 8 GiB"),  # a 10^9-entry shape table
    (lambda m: m.update(type_of=[[0, 10 ** 30]]), "`type_of` covers 10000000000000000000000000000"),
])
def test_a_hand_edited_network_json_is_refused_by_name(saved, edit, words):
    """Knobs are read as their fields' types, and integers too large for a float are refused:
    these once raised TypeError and OverflowError inside the loader."""
    from circuitc.artifact_format import METADATA
    meta = json.loads((saved / METADATA).read_text())
    edit(meta)
    (saved / METADATA).write_text(json.dumps(meta))
    load_fails(saved, words)
