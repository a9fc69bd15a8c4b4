"""Every file the front end and the artifact loader read goes through `fileio.read_bounded`:
special files (a FIFO would block, /dev/zero never ends) are refused before they are opened, files
above their limit before they are read, each with a clear error naming the limit and the size. A
byte-order mark at the start of a `.circ` file is no part of line 1."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import numpy as np
import pytest
from cli_runs import fails

import circuitc
from circuitc import fileio
from circuitc.errors import CircuitError
from circuitc.fileio import MAX_ARTIFACT_WEIGHTS_BYTES, MAX_SOURCE_BYTES, MAX_WEIGHT_BYTES, read_bounded

FA = "circuit fa { in a, b, cin; out s, cout; s = a ^ b ^ cin; cout = maj(a, b, cin); }\n"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(autouse=True)
def never_hang():
    """A read that blocks (opening a FIFO without a writer) fails the test instead of hanging it."""
    if not hasattr(signal, "SIGALRM"):
        yield
        return

    def stuck(signum, frame):
        raise AssertionError("a read blocked")
    old = signal.signal(signal.SIGALRM, stuck)
    signal.alarm(60)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


def refused(load, *words) -> str:
    with pytest.raises(CircuitError) as info:
        load()
    report = str(info.value)
    for word in words:
        assert word in report, report
    assert "Traceback" not in report
    return report


def sparse(path: Path, size: int) -> Path:
    """A file of `size` bytes that takes no disk space."""
    with open(path, "wb") as f:
        f.truncate(size)
    return path


# ------------------------------------------------------------------------------ special files

def test_include_of_dev_zero(tmp_path, capsys):
    (tmp_path / "z.circ").write_text('include "/dev/zero";\n')
    report = refused(lambda: circuitc.load_spec(tmp_path / "z.circ"), "z.circ:1:1:",
                     "cannot read `/dev/zero`: it is a character device, not a regular file",
                     "circuitc reads regular files only")
    assert '1 | include "/dev/zero";' in report
    assert "character device" in fails(capsys, "check", "/dev/zero")
    assert "character device" in fails(capsys, "fmt", "/dev/null")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_a_fifo_given_or_included_is_refused_without_waiting(tmp_path, capsys):
    for name in ("p.circ", "p.bench", "p.blif", "p.aig", "p.v", "w.npy", "rows.csv"):
        os.mkfifo(tmp_path / name)
    for name in ("p.circ", "p.bench", "p.blif", "p.aig"):
        assert "a named pipe (FIFO), not a regular file" in fails(capsys, "check", tmp_path / name)
        (tmp_path / "inc.circ").write_text(f'include "{name}";\n')
        refused(lambda: circuitc.load_spec(tmp_path / "inc.circ"), "named pipe (FIFO)")
    refused(lambda: circuitc.load_spec(tmp_path / "p.v"), "named pipe (FIFO)")
    (tmp_path / "m.circ").write_text('mlp m { in x; out y; layer linear { weights = load("w.npy"); bias = [0]; } }\n')
    report = refused(lambda: circuitc.load_spec(tmp_path / "m.circ"), "named pipe (FIFO)")
    assert "m.circ:1:" in report
    (tmp_path / "fa.circ").write_text(FA)
    assert "named pipe (FIFO)" in fails(capsys, "eval", tmp_path / "fa.circ", "--inputs", tmp_path / "rows.csv")


def test_an_artifact_whose_files_are_special(tmp_path):
    spec = circuitc.parse('include "ripple_adder.circ";\nnetwork n { use full_adder * 8; active = 1; width = 128; }',
                          base_dir=EXAMPLES)
    path = circuitc.save(circuitc.compile(spec), tmp_path / "net")
    (path / "weights.safetensors").unlink()
    os.symlink("/dev/zero", path / "weights.safetensors")
    refused(lambda: circuitc.load(path), "weights.safetensors: cannot read: it is a character device")
    (path / "weights.safetensors").unlink()
    os.mkfifo(path / "weights.safetensors")
    refused(lambda: circuitc.load(path), "weights.safetensors: cannot read: it is a named pipe (FIFO)")
    (path / "weights.safetensors").unlink()
    (path / "network.json").rename(path / "meta")
    os.symlink("/dev/zero", path / "network.json")
    sparse(path / "weights.safetensors", 16)
    refused(lambda: circuitc.load(path), "network.json: cannot read: it is a character device")


def test_proc_files_that_report_no_size_are_read_to_their_end():
    status = Path("/proc/self/status")
    if not status.exists():
        pytest.skip("no /proc here")
    assert os.stat(status).st_size == 0
    assert b"Name:" in read_bounded(status, MAX_SOURCE_BYTES, "source files")
    with pytest.raises(fileio.FileRefused, match="grew above the 16 bytes limit for tests while being read"):
        read_bounded(status, 16, "tests")


# ---------------------------------------------------------------------------------- the limits

def test_the_limits_are_what_the_documentation_says():
    assert (MAX_SOURCE_BYTES, MAX_WEIGHT_BYTES, MAX_ARTIFACT_WEIGHTS_BYTES) == (256 << 20, 1 << 30, 8 << 30)
    docs = (Path(__file__).resolve().parents[2] / "docs" / "language.md").read_text()
    assert "256 MiB" in docs and "1 GiB" in docs and "8 GiB" in docs


@pytest.mark.parametrize("name", ["big.circ", "big.bench", "big.blif", "big.aag", "big.aig", "big.v"])
def test_a_source_above_the_limit_is_refused_before_reading(tmp_path, capsys, name):
    sparse(tmp_path / name, MAX_SOURCE_BYTES + 1)
    err = fails(capsys, "check", tmp_path / name)
    assert "it is 256.0 MiB (268,435,457 bytes), above the 256 MiB (268,435,456 bytes) limit for source files" in err
    (tmp_path / "inc.circ").write_text(f'include "{name}";\n')
    refused(lambda: circuitc.load_spec(tmp_path / "inc.circ"), "above the 256 MiB")


def test_a_source_at_the_limit_is_read(tmp_path, monkeypatch):
    # The limit is inclusive; lowered here so that the file is small.
    monkeypatch.setattr(fileio, "MAX_SOURCE_BYTES", 1000)
    from circuitc.frontend import load
    monkeypatch.setattr(load, "MAX_SOURCE_BYTES", 1000)
    text = FA + "#" * (1000 - len(FA) - 1) + "\n"
    (tmp_path / "fa.circ").write_text(text)
    assert len(text) == 1000 and circuitc.load_spec(tmp_path / "fa.circ").circuit("fa")
    (tmp_path / "fa.circ").write_text(text + "\n")
    refused(lambda: circuitc.load_spec(tmp_path / "fa.circ"), "1,001 bytes, above the 1,000 bytes limit")


def test_a_weight_file_above_the_limit(tmp_path):
    sparse(tmp_path / "w.npy", MAX_WEIGHT_BYTES + 1)
    (tmp_path / "m.circ").write_text('mlp m {\n    in x;\n    out y;\n    layer linear { weights = load("w.npy"); '
                                     'bias = [0]; }\n}\n')
    report = refused(lambda: circuitc.load_spec(tmp_path / "m.circ"), "m.circ:4:", "cannot read weight file",
                     "1.0 GiB (1,073,741,825 bytes), above the 1 GiB (1,073,741,824 bytes) limit for weight files")
    assert "hint:" in report


def test_artifact_weights_above_the_limit(tmp_path):
    spec = circuitc.parse('include "ripple_adder.circ";\nnetwork n { use full_adder * 8; active = 1; width = 128; }',
                          base_dir=EXAMPLES)
    path = circuitc.save(circuitc.compile(spec), tmp_path / "net")
    sparse(path / "weights.safetensors", MAX_ARTIFACT_WEIGHTS_BYTES + 1)
    refused(lambda: circuitc.load(path), "weights.safetensors: cannot read: it is 8.0 GiB (8,589,934,593 bytes), "
                                         "above the 8 GiB (8,589,934,592 bytes) limit for artifact weights")


def test_input_rows_above_the_limit(tmp_path, capsys):
    (tmp_path / "fa.circ").write_text(FA)
    sparse(tmp_path / "rows.csv", MAX_SOURCE_BYTES + 1)
    assert "limit for input files" in fails(capsys, "eval", tmp_path / "fa.circ", "--inputs", tmp_path / "rows.csv")


# ------------------------------------------------------------------------- a byte-order mark

def test_a_byte_order_mark_is_no_part_of_line_one(tmp_path, capsys):
    (tmp_path / "bom.circ").write_bytes(b"\xef\xbb\xbf" + FA.encode())
    assert circuitc.load_spec(tmp_path / "bom.circ").circuit("fa")
    assert circuitc.parse("\ufeff" + FA).circuit("fa")
    bad = "circuit a { in x; out y; y = x +; }\n"
    (tmp_path / "bad.circ").write_bytes(b"\xef\xbb\xbf" + bad.encode())
    report = refused(lambda: circuitc.load_spec(tmp_path / "bad.circ"), "bad.circ:1:32: error: unexpected `+`")
    # The quoted line has no mark, so the caret stands under the `+`.
    lines = report.splitlines()
    assert lines[1].endswith("| " + bad.rstrip()) and lines[2].index("^") == lines[1].index("+")
    assert circuitc.format_source("\ufeff" + FA) == circuitc.format_source(FA)
    (tmp_path / "inc.circ").write_text('include "bom.circ";\n')
    assert circuitc.load_spec(tmp_path / "inc.circ").circuit("fa")


def test_refusals_are_errors_not_tracebacks_for_a_numpy_input_table(tmp_path):
    from circuitc.inputs import read_input_table
    c = circuitc.parse("mlp m { in x; out y; layer linear { weights = [[1]]; bias = [0]; } }").circuit("m")
    np.save(tmp_path / "rows.npy", np.ones((3, 1)))
    assert read_input_table(tmp_path / "rows.npy", c).shape == (3, 1)
    sparse(tmp_path / "big.npy", MAX_SOURCE_BYTES + 1)
    refused(lambda: read_input_table(tmp_path / "big.npy", c), "limit for input files")


def test_sizes_in_messages_stay_short_however_large():
    from circuitc.fileio import size_text

    assert size_text(300 << 20) == "300 MiB (314,572,800 bytes)"
    assert size_text(1) == "1 byte"
    assert size_text((1 << 64) - 1).endswith("(18,446,744,073,709,551,615 bytes)")
    assert size_text(10 ** 400) == "over 2^1328 bytes"          # no OverflowError, no 400 digits
