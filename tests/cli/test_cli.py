"""The command line, end to end: real files in temporary directories, `main([...])` in-process,
and the installed `circuitc` script in a subprocess."""

from __future__ import annotations

import csv
import io
import itertools
import json
import os
import random
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from circuitc.cli import app as cli
from circuitc.cli import source_cmds, tables
from circuitc.errors import CircuitError
from circuitc.fileio import write_atomic

REPO = Path(__file__).resolve().parents[2]
C17 = REPO / "examples" / "c17.bench"
MUX4 = REPO / "examples" / "mux4.blif"
SCRIPT = Path(sys.executable).parent / "circuitc"

FULL_ADDER = """\
circuit full_adder { in a, b, cin; out sum, cout; t = a ^ b; sum = t ^ cin; cout = (a & b) | (t & cin); }
"""

# Several circuits of every kind, a feature set and a network.
ALL = """\
circuit full_adder {
    in a, b, cin;
    out sum, cout;
    t = a ^ b;
    sum = t ^ cin;
    cout = (a & b) | (t & cin);
}

# A ripple-carry adder: s = a + b, with the carry out as s[N].
circuit adder<N = 4> {
    in a[N], b[N];
    out s[N + 1];
    wire c[N + 1];
    c[0] = 0;
    for i in 0..N {
        s[i] = a[i] ^ b[i] ^ c[i];
        c[i + 1] = (a[i] & b[i]) | (c[i] & (a[i] ^ b[i]));
    }
    s[N] = c[N];
}

features f[32] { active = 3; embed = 16; }

circuit anyf over f { out y; y = f[3] | f[17]; }

mlp tiny {
    in x[2];
    out y;
    layer relu { weights = [[1.0, -1.0], [-1.0, 1.0]]; bias = [0.0, 0.0]; }
    layer linear { weights = [[1.0, 1.0]]; bias = [0.5]; }
}

network net { use full_adder * 10; use adder * 5; active = 3; width = 1024; }
"""


def nand(x, y):
    return 1 - (x & y)


def c17(i1, i2, i3, i6, i7):
    """ISCAS c17, written out from its NAND netlist."""
    n10, n11 = nand(i1, i3), nand(i3, i6)
    n16, n19 = nand(i2, n11), nand(n11, i7)
    return nand(n10, n16), nand(n16, n19)


def tiny(x0, x1):
    h0, h1 = max(x0 - x1, 0.0), max(x1 - x0, 0.0)
    return h0 + h1 + 0.5


@pytest.fixture
def work(tmp_path, monkeypatch):
    """A temporary working directory holding the sources used below."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NO_COLOR", raising=False)
    (tmp_path / "fa.circ").write_text(FULL_ADDER)
    (tmp_path / "all.circ").write_text(ALL)
    shutil.copy(C17, tmp_path / "c17.bench")
    return tmp_path


def run(capsys, *argv):
    """main(argv) -> (exit code, stdout, stderr)."""
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def fails(capsys, *argv, code=2):
    """Run a command that must fail cleanly; returns its stderr."""
    rc, out, err = run(capsys, *argv)
    assert rc == code, (rc, out, err)
    assert "Traceback" not in err and "Traceback" not in out
    assert err.strip()
    return err


def outputs(text):
    """`name = value` lines -> {name: value text}."""
    return dict(line.split(" = ", 1) for line in text.splitlines())


def read_csv(path_or_text):
    text = Path(path_or_text).read_text() if isinstance(path_or_text, Path) else path_or_text
    rows = list(csv.reader(io.StringIO(text)))
    return rows[0], rows[1:]


def write_csv(path, header, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


# --------------------------------------------------------------------------------------------
# --version, --help and usage


def test_version(capsys):
    import circuitc
    rc, out, _ = run(capsys, "--version")
    assert rc == 0 and out.strip() == f"circuitc {circuitc.__version__}"


@pytest.mark.parametrize("command", [None, "check", "eval", "graph", "fmt"])
def test_help(capsys, command):
    rc, out, _ = run(capsys, *([command] if command else []), "--help")
    assert rc == 0
    assert "usage: circuitc" in out and "example" in out


@pytest.mark.parametrize("argv", [[], ["bogus"], ["check"], ["check", "x.circ", "--bogus"],
                                  ["eval", "x.circ", "--max-inputs", "many"]])
def test_usage_errors_exit_2(capsys, argv):
    err = fails(capsys, *argv)
    assert "usage:" in err


def test_installed_script(work):
    import circuitc
    r = subprocess.run([str(SCRIPT), "--version"], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.strip() == f"circuitc {circuitc.__version__}"
    r = subprocess.run([str(SCRIPT), "check", "c17.bench"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "c17" in r.stdout and "\x1b[" not in r.stdout  # a pipe gets plain text
    r = subprocess.run([str(SCRIPT), "eval", "missing.circ"], capture_output=True, text=True)
    assert r.returncode == 2 and "cannot find" in r.stderr and "Traceback" not in r.stderr


# --------------------------------------------------------------------------------------------
# check


def table_rows(text, first):
    """The whitespace-split row of a plain table whose first cell is `first`."""
    for line in text.splitlines():
        cells = line.split()
        if cells and cells[0] == first:
            return cells
    raise AssertionError(f"no row {first!r} in:\n{text}")


def test_check_full_adder(capsys, work):
    from circuitc import load_spec
    rc, out, err = run(capsys, "check", "fa.circ")
    assert rc == 0, err
    assert "fa.circ" in out
    assert load_spec("fa.circ").source_hash[:12] in out
    assert table_rows(out, "circuit")[:6] == ["circuit", "kind", "inputs", "outputs", "gates", "depth"]
    assert table_rows(out, "full_adder") == ["full_adder", "boolean", "3", "2", "5", "3"]
    assert "\x1b[" not in out and not any(line != line.rstrip() for line in out.splitlines())


def test_check_json_full_adder(capsys, work):
    from circuitc import load_spec
    rc, out, _ = run(capsys, "check", "fa.circ", "--json")
    assert rc == 0
    data = json.loads(out)
    assert list(data) == ["file", "source_hash", "circuits", "features", "networks", "warnings"]
    assert data["file"] == "fa.circ"
    assert data["source_hash"] == load_spec("fa.circ").source_hash
    (c,) = data["circuits"]
    assert c["name"] == "full_adder" and c["kind"] == "boolean" and c["over"] is None
    assert (c["inputs"], c["outputs"], c["gates"], c["depth"]) == (3, 2, 5, 3)
    assert [p["name"] for p in c["input_ports"]] == ["a", "b", "cin"]
    assert data["features"] == [] and data["networks"] == [] and data["warnings"] == []


def test_check_c17(capsys, work):
    rc, out, _ = run(capsys, "check", "c17.bench")
    assert rc == 0
    row = table_rows(out, "c17")
    assert row[1:4] == ["boolean", "5", "2"]
    rc, out, _ = run(capsys, "check", "c17.bench", "--json")
    (c,) = json.loads(out)["circuits"]
    assert (c["name"], c["inputs"], c["outputs"], c["depth"]) == ("c17", 5, 2, 6)
    assert [p["name"] for p in c["output_ports"]] == ["22", "23"]


def test_check_every_kind(capsys, work):
    rc, out, _ = run(capsys, "check", "all.circ")
    assert rc == 0
    assert table_rows(out, "anyf")[1:3] == ["boolean", "over"]
    assert table_rows(out, "tiny")[1:] == ["mlp", "2", "1", "2", "layers,", "9", "params", "2"]
    assert table_rows(out, "adder")[1:4] == ["boolean", "8", "5"]
    assert table_rows(out, "f") == ["f", "32", "3", "16", "0"]
    net = table_rows(out, "net")
    assert net[1:8] == ["15", "3", "1024", "auto", "auto", "0", "full_adder"]
    data = json.loads(run(capsys, "check", "all.circ", "--json")[1])
    assert [c["name"] for c in data["circuits"]] == ["full_adder", "adder", "anyf", "tiny"]
    assert data["circuits"][2]["over"] == "f"
    assert data["circuits"][3]["layers"] == 2 and data["circuits"][3]["parameters"] == 9
    assert data["features"] == [{"name": "f", "m": 32, "s": 3, "embed": 16, "seed": 0}]
    assert data["networks"] == [{"name": "net", "T": 15, "z": 3, "D": 1024, "S": None, "allocation": "auto",
                                 "seed": 0, "circuits": [{"circuit": "full_adder", "count": 10},
                                                         {"circuit": "adder", "count": 5}]}]


def test_check_styled_on_a_terminal(capsys, work, monkeypatch):
    monkeypatch.setattr(tables, "styled", lambda: True)
    rc, out, _ = run(capsys, "check", "fa.circ")
    assert rc == 0 and "full_adder" in out


def test_check_reports_source_errors_with_location(capsys, work):
    Path("bad.circ").write_text("circuit c {\n  in a;\n  out y;\n  y = a &;\n}\n")
    err = fails(capsys, "check", "bad.circ")
    assert "bad.circ:4:" in err
    Path("cyc.circ").write_text("circuit c { in a; out y; wire t; t = y & a; y = t | a; }\n")
    err = fails(capsys, "check", "cyc.circ")
    assert "cyc.circ:1:" in err and "cycle" in err


@pytest.mark.parametrize("target", ["missing.circ", "missing.bench", "."])
def test_check_unreadable_inputs(capsys, work, target):
    if target == ".":
        os.mkdir("dir.circ")
        target = "dir.circ"
    err = fails(capsys, "check", target)
    assert target in err


# --------------------------------------------------------------------------------------------
# eval: single evaluations


def test_eval_full_adder_every_combination(capsys, work):
    for a, b, cin in itertools.product((0, 1), repeat=3):
        rc, out, err = run(capsys, "eval", "fa.circ", f"a={a}", f"b={b}", f"cin={cin}")
        assert rc == 0, err
        assert outputs(out) == {"sum": str(a ^ b ^ cin), "cout": str(int(a + b + cin >= 2))}


@pytest.mark.parametrize("args", [
    ["a=5", "b=9"],
    ["a=0b101", "b=0x9"],
    ["a=0b0101", "b=0X09"],
    ["a=0o5", "b=0b1001"],
    ["a[0]=1", "a[1]=0", "a[2]=1", "a[3]=0", "b=9"],
    ["b[3]=1", "b[0]=1", "b[2]=0", "b[1]=0", "a=5"],
])
def test_eval_vector_adder(capsys, work, args):
    rc, out, err = run(capsys, "eval", "all.circ", "--circuit", "adder", *args)
    assert rc == 0, err
    assert out == "s = 14 (0b01110)\n"


def test_eval_assignments_may_follow_options(capsys, work):
    rc, out, _ = run(capsys, "eval", "all.circ", "a=15", "-c", "adder", "b=15")
    assert rc == 0 and out == "s = 30 (0b11110)\n"


def test_eval_every_sum(capsys, work):
    for a, b in [(0, 0), (15, 1), (7, 8), (15, 15)]:
        rc, out, _ = run(capsys, "eval", "all.circ", "-c", "adder", f"a={a}", f"b={b}")
        assert outputs(out)["s"] == f"{a + b} (0b{a + b:05b})"


def test_eval_json(capsys, work):
    rc, out, _ = run(capsys, "eval", "all.circ", "-c", "adder", "a=5", "b=9", "--json")
    assert rc == 0
    data = json.loads(out)
    assert data["circuit"] == "adder" and data["outputs"] == {"s": 14}
    assert data["output_bits"] == {"s[0]": 0, "s[1]": 1, "s[2]": 1, "s[3]": 1, "s[4]": 0}


def test_eval_single_circuit_needs_no_name(capsys, work):
    rc, out, _ = run(capsys, "eval", "c17.bench", "1=1", "2=0", "3=1", "6=1", "7=0")
    assert rc == 0
    assert outputs(out) == {"22": str(c17(1, 0, 1, 1, 0)[0]), "23": str(c17(1, 0, 1, 1, 0)[1])}


def test_eval_mlp(capsys, work):
    rc, out, _ = run(capsys, "eval", "all.circ", "-c", "tiny", "x=0.5,1.25")
    assert rc == 0 and out == f"y = {tiny(0.5, 1.25)!r}\n"
    rc, out, _ = run(capsys, "eval", "all.circ", "-c", "tiny", "x[1]=-2", "x[0]=1e-1", "--json")
    assert json.loads(out)["outputs"] == {"y": tiny(0.1, -2.0)}


def test_eval_feature_circuit(capsys, work):
    def y(*args):
        rc, out, err = run(capsys, "eval", "all.circ", "-c", "anyf", *args)
        assert rc == 0, err
        return outputs(out)["y"]
    assert y() == "0"
    assert y("f=") == "0"
    assert y("f=3") == "1"
    assert y("f=4,5") == "0"
    assert y("f=3,17") == "1"
    assert y("f[17]=1") == "1"


def test_eval_feature_circuit_warns_above_the_promise(capsys, work):
    rc, out, err = run(capsys, "eval", "all.circ", "-c", "anyf", "f=1,2,4,5")
    assert rc == 0 and outputs(out) == {"y": "0"}
    assert "at most 3" in err


@pytest.mark.parametrize("args, expected", [
    (["a=2", "b=0", "cin=1"], "`a=2`: a bit is 0 or 1"),
    (["a", "b=0", "cin=1"], "`a` is not an assignment"),
    (["=1", "b=0", "cin=1"], "no input name"),
    (["a=", "b=0", "cin=1"], "no value"),
    (["a=1", "bb=0", "cin=1"], "did you mean `b`?"),
    (["a=1", "zzz=0", "b=0", "cin=1"], "inputs of `full_adder`: a, b, cin"),
    (["a=1", "a=0", "b=0", "cin=1"], "already given"),
    (["a[0]=1", "b=0", "cin=1"], "`a` is a single bit"),
    (["a=1"], "missing inputs for `full_adder`: b, cin"),
])
def test_eval_bad_assignments(capsys, work, args, expected):
    err = fails(capsys, "eval", "fa.circ", *args)
    assert expected in err


def test_eval_bad_assignment_is_not_also_reported_missing(capsys, work):
    err = fails(capsys, "eval", "fa.circ", "a=2", "b=0", "cin=1")
    assert "missing" not in err


@pytest.mark.parametrize("args, expected", [
    (["a=16", "b=0"], "16 does not fit in the 4 bits of `a`"),
    (["a=0x10", "b=0"], "16 does not fit"),
    (["a=0b12", "b=0"], "`0b12` is not a non-negative integer"),
    (["a=-1", "b=0"], "not a non-negative integer"),
    (["a=1.5", "b=0"], "not a non-negative integer"),
    (["a[4]=1", "b=0"], "bit 4 is out of range"),
    (["a[1]=1", "b=0"], "missing inputs for `adder`: a[0], a[2], a[3]"),
    (["a=1", "a[0]=1", "b=0"], "already given by `a=1`"),
    (["a=1"], "missing input for `adder`: b"),
])
def test_eval_bad_vector_assignments(capsys, work, args, expected):
    err = fails(capsys, "eval", "all.circ", "-c", "adder", *args)
    assert expected in err


@pytest.mark.parametrize("circuit, args, expected", [
    ("tiny", ["x=0.5"], "takes 2 comma-separated values, got 1"),
    ("tiny", ["x=0.5,abc"], "`abc` is not a real number"),
    ("anyf", ["f=3,40"], "feature 40 is out of range"),
    ("anyf", ["f=x"], "`x` is not a feature number"),
    ("anyf", ["g=1"], "has no input named `g`"),
])
def test_eval_bad_real_and_feature_assignments(capsys, work, circuit, args, expected):
    assert expected in fails(capsys, "eval", "all.circ", "-c", circuit, *args)


def test_eval_circuit_selection_errors(capsys, work):
    err = fails(capsys, "eval", "all.circ", "a=1")
    assert "holds 4 circuits" in err and "full_adder" in err
    err = fails(capsys, "eval", "all.circ", "-c", "full_addr", "a=1")
    assert "no circuit named `full_addr`" in err and "full_adder" in err


@pytest.mark.parametrize("argv", [
    ["--truth-table", "a=1"],
    ["--truth-table", "--inputs", "x.csv"],
    ["--inputs", "x.csv", "--json"],
    ["a=1", "b=1", "cin=1", "--output", "out.csv"],
])
def test_eval_option_conflicts_are_usage_errors(capsys, work, argv):
    assert "usage:" in fails(capsys, "eval", "fa.circ", *argv)


# --------------------------------------------------------------------------------------------
# eval: truth tables


def parse_table(text):
    lines = text.splitlines()
    ins, outs = (part.split() for part in lines[0].split("|"))
    rows = []
    for line in lines[1:]:
        left, right = line.split("|")
        rows.append(([int(v) for v in left.split()], [int(v) for v in right.split()]))
    return ins, outs, rows


def test_truth_table_c17(capsys, work):
    rc, out, _ = run(capsys, "eval", "c17.bench", "--truth-table")
    assert rc == 0
    ins, outs, rows = parse_table(out)
    assert (ins, outs) == (["1", "2", "3", "6", "7"], ["22", "23"])
    assert len(rows) == 32
    assert [x for x, _ in rows] == [list(bits) for bits in itertools.product((0, 1), repeat=5)]
    for x, y in rows:
        assert tuple(y) == c17(*x)


def test_truth_table_mlp(capsys, work):
    rc, out, _ = run(capsys, "eval", "all.circ", "-c", "tiny", "--truth-table")
    assert rc == 0
    lines = out.splitlines()
    assert lines[0].split() == ["x[0]", "x[1]", "|", "y"]
    for line in lines[1:]:
        x0, x1, _, y = line.split()
        assert float(y) == tiny(float(x0), float(x1))


def test_truth_table_csv(capsys, work):
    rc, out, _ = run(capsys, "eval", "c17.bench", "--truth-table", "--output", "tt.csv")
    assert rc == 0 and out == ""
    header, rows = read_csv(Path("tt.csv"))
    assert header == ["1", "2", "3", "6", "7", "22", "23"]
    assert len(rows) == 32
    for row in rows:
        bits = [int(v) for v in row]
        assert tuple(bits[5:]) == c17(*bits[:5])


def test_truth_table_size_limit(capsys, work):
    err = fails(capsys, "eval", "all.circ", "-c", "adder", "--truth-table", "--max-inputs", "6")
    assert "8 input bits" in err and "2**8" in err and "--max-inputs 6" in err
    err = fails(capsys, "eval", "all.circ", "-c", "anyf", "--truth-table")
    assert "32 input bits" in err
    rc, out, _ = run(capsys, "eval", "all.circ", "-c", "adder", "--truth-table", "--max-inputs", "8")
    assert rc == 0 and len(out.splitlines()) == 257


# --------------------------------------------------------------------------------------------
# eval: CSV batches


def adder_rows(n, seed=0):
    rng = random.Random(seed)
    return [(rng.randrange(16), rng.randrange(16)) for _ in range(n)]


def adder_cells(a, b, columns):
    value = {f"a[{i}]": (a >> i) & 1 for i in range(4)} | {f"b[{i}]": (b >> i) & 1 for i in range(4)}
    return [value[c] for c in columns]


def sums(header, rows):
    assert header == [f"s[{i}]" for i in range(5)]
    return [sum(int(v) << i for i, v in enumerate(row)) for row in rows]


def test_batch_round_trip(capsys, work):
    pairs = adder_rows(300)
    columns = [f"a[{i}]" for i in range(4)] + [f"b[{i}]" for i in range(4)]
    write_csv("in.csv", columns, [adder_cells(a, b, columns) for a, b in pairs])
    rc, out, err = run(capsys, "eval", "all.circ", "-c", "adder", "--inputs", "in.csv", "--output", "out.csv")
    assert rc == 0, err
    assert sums(*read_csv(Path("out.csv"))) == [a + b for a, b in pairs]
    # Without --output the CSV goes to standard output.
    rc, out, _ = run(capsys, "eval", "all.circ", "-c", "adder", "--inputs", "in.csv")
    assert rc == 0 and out == Path("out.csv").read_text()


def test_batch_column_order_does_not_matter(capsys, work):
    pairs = adder_rows(50, seed=1)
    columns = [f"a[{i}]" for i in range(4)] + [f"b[{i}]" for i in range(4)]
    shuffled = columns[:]
    random.Random(2).shuffle(shuffled)
    assert shuffled != columns
    write_csv("in1.csv", columns, [adder_cells(a, b, columns) for a, b in pairs])
    write_csv("in2.csv", shuffled, [adder_cells(a, b, shuffled) for a, b in pairs])
    out1 = run(capsys, "eval", "all.circ", "-c", "adder", "--inputs", "in1.csv")[1]
    out2 = run(capsys, "eval", "all.circ", "-c", "adder", "--inputs", "in2.csv")[1]
    assert out1 == out2
    assert sums(*read_csv(out1)) == [a + b for a, b in pairs]


def test_batch_full_adder_with_blank_lines_and_spaces(capsys, work):
    Path("in.csv").write_text("cin, b ,a\r\n0,0,0\r\n\r\n1, 1 ,0\r\n1,1,1\r\n")
    rc, out, _ = run(capsys, "eval", "fa.circ", "--inputs", "in.csv")
    assert rc == 0 and out == "sum,cout\n0,0\n0,1\n1,1\n"


def test_batch_header_only(capsys, work):
    Path("in.csv").write_text("a,b,cin\n")
    rc, out, _ = run(capsys, "eval", "fa.circ", "--inputs", "in.csv")
    assert rc == 0 and out == "sum,cout\n"


def test_batch_feature_circuit_may_omit_columns(capsys, work):
    write_csv("in.csv", ["f[17]", "f[3]", "f[5]"], [[0, 0, 0], [1, 0, 0], [0, 1, 1], [0, 0, 1]])
    rc, out, _ = run(capsys, "eval", "all.circ", "-c", "anyf", "--inputs", "in.csv")
    assert rc == 0 and out == "y\n0\n1\n1\n0\n"


def test_batch_mlp(capsys, work):
    xs = [(0.5, 1.25), (-1.0, 2.0), (3.0, 0.0)]
    write_csv("in.csv", ["x[1]", "x[0]"], [[x1, x0] for x0, x1 in xs])
    rc, out, _ = run(capsys, "eval", "all.circ", "-c", "tiny", "--inputs", "in.csv")
    header, rows = read_csv(out)
    assert header == ["y"] and [float(r[0]) for r in rows] == [tiny(*x) for x in xs]


def test_output_is_never_overwritten_without_force(capsys, work):
    Path("in.csv").write_text("a,b,cin\n1,1,1\n")
    Path("out.csv").write_text("precious\n")
    err = fails(capsys, "eval", "fa.circ", "--inputs", "in.csv", "--output", "out.csv")
    assert "out.csv exists; pass --force to replace it" in err
    assert Path("out.csv").read_text() == "precious\n"
    rc, _, _ = run(capsys, "eval", "fa.circ", "--inputs", "in.csv", "--output", "out.csv", "--force")
    assert rc == 0 and Path("out.csv").read_text() == "sum,cout\n1,1\n"
    assert sorted(p.name for p in work.iterdir() if p.name.startswith(".")) == []  # no temp files


@pytest.mark.parametrize("text, expected", [
    ("a,b,cin\n0,0,0\n1,2,0\n", ["in.csv:3:3", "column `b`: expected 0 or 1, got `2`"]),
    ("a,b,cin\n0,0,0\n1,,0\n", ["in.csv:3:3", "got an empty cell"]),
    ("a,b,cin\n0,0,0\n1,1\n", ["in.csv:3:1", "expected 3 values", "got 2"]),
    ("a,b,cin\n0,0,0,1\n", ["in.csv:2:7", "got 4"]),
    ("a,bb,cin\n0,0,0\n", ["in.csv:1:3", "no input bit `bb`", "did you mean `b`?", "missing column for input bit b"]),
    ("a,b\n0,0\n", ["in.csv:1:1", "missing column for input bit cin"]),
    ("a,b,a,cin\n0,0,0,0\n", ["in.csv:1:5", "`a` appears twice"]),
    ("", ["`in.csv` is empty"]),
    ("\n\n", ["`in.csv` is empty"]),
])
def test_batch_bad_csv(capsys, work, text, expected):
    Path("in.csv").write_text(text)
    err = fails(capsys, "eval", "fa.circ", "--inputs", "in.csv")
    for piece in expected:
        assert piece in err, err


def test_batch_bad_cells_are_all_reported(capsys, work):
    Path("in.csv").write_text("a,b,cin\n2,0,0\n0,x,0\n")
    err = fails(capsys, "eval", "fa.circ", "--inputs", "in.csv")
    assert "in.csv:2:1" in err and "in.csv:3:3" in err and "2 errors" in err


def test_batch_vector_port_named_whole(capsys, work):
    Path("in.csv").write_text("a,b[0]\n")
    err = fails(capsys, "eval", "all.circ", "-c", "adder", "--inputs", "in.csv")
    assert "one column per bit, a[0] .. a[3]" in err


def test_batch_bad_mlp_cell(capsys, work):
    Path("in.csv").write_text("x[0],x[1]\n1,2\n0.5,zero\n")
    err = fails(capsys, "eval", "all.circ", "-c", "tiny", "--inputs", "in.csv")
    assert "in.csv:3:5" in err and "expected a real number, got `zero`" in err


def test_batch_unreadable_files(capsys, work):
    assert "cannot find `nope.csv`" in fails(capsys, "eval", "fa.circ", "--inputs", "nope.csv")
    os.mkdir("d.csv")
    assert "is a directory" in fails(capsys, "eval", "fa.circ", "--inputs", "d.csv")
    Path("bin.csv").write_bytes(b"\xff\xfe\x00a")
    assert "not a UTF-8 text file" in fails(capsys, "eval", "fa.circ", "--inputs", "bin.csv")


# --------------------------------------------------------------------------------------------
# graph


def test_graph_dot(capsys, work):
    rc, out, _ = run(capsys, "graph", "fa.circ")
    assert rc == 0
    assert out.startswith('digraph "full_adder" {') and out.rstrip().endswith("}")
    assert '"a" -> "t"' in out


def test_graph_json(capsys, work):
    rc, out, _ = run(capsys, "graph", "c17.bench", "--format", "json")
    assert rc == 0
    data = json.loads(out)
    assert data["name"] == "c17"
    assert len(data["nodes"]) == 5 + data["summary"]["gates"]
    assert {e["source"] for e in data["edges"]} >= {"1", "2", "3", "6", "7"}


def test_graph_output_file(capsys, work):
    rc, out, _ = run(capsys, "graph", "all.circ", "-c", "tiny", "--output", "g.json")
    assert rc == 0 and out == ""
    data = json.loads(Path("g.json").read_text())  # the format follows the file name
    assert data["kind"] == "mlp"
    err = fails(capsys, "graph", "all.circ", "-c", "tiny", "--output", "g.json")
    assert "g.json exists; pass --force" in err
    rc, _, _ = run(capsys, "graph", "all.circ", "-c", "adder", "--output", "g.json", "--force")
    assert rc == 0 and json.loads(Path("g.json").read_text())["name"] == "adder"
    assert "does not exist" in fails(capsys, "graph", "fa.circ", "--output", "no/such/dir/g.dot")


def test_graph_errors(capsys, work):
    assert "name one" in fails(capsys, "graph", "all.circ")
    assert "did you mean `tiny`?" in fails(capsys, "graph", "all.circ", "-c", "tinny")


# --------------------------------------------------------------------------------------------
# fmt


def test_fmt_prints_canonical_form(capsys, work):
    from circuitc import format_source, parse
    rc, out, _ = run(capsys, "fmt", "all.circ")
    assert rc == 0
    assert out == format_source(ALL, "all.circ")
    assert parse(out).circuits == parse(ALL).circuits
    assert Path("all.circ").read_text() == ALL  # printing changes nothing


def test_fmt_check_and_write(capsys, work):
    rc, _, err = run(capsys, "fmt", "--check", "fa.circ")
    assert rc == 1 and "fa.circ" in err
    rc, _, err = run(capsys, "fmt", "-w", "fa.circ")
    assert rc == 0 and "reformatted fa.circ" in err
    formatted = Path("fa.circ").read_text()
    assert formatted != FULL_ADDER
    before = os.stat("fa.circ")
    rc, _, err = run(capsys, "fmt", "--write", "fa.circ")
    assert rc == 0 and err == ""
    after = os.stat("fa.circ")
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)  # untouched
    rc, out, err = run(capsys, "fmt", "--check", "fa.circ")
    assert (rc, out, err) == (0, "", "")


def test_fmt_write_keeps_permissions(capsys, work):
    os.chmod("fa.circ", 0o640)
    rc, _, _ = run(capsys, "fmt", "-w", "fa.circ")
    assert rc == 0 and stat.S_IMODE(os.stat("fa.circ").st_mode) == 0o640


def test_fmt_netlists(capsys, work):
    from circuitc import load_spec, parse
    rc, out, _ = run(capsys, "fmt", "c17.bench")
    assert rc == 0
    assert parse(out).circuits == load_spec("c17.bench").circuits
    err = fails(capsys, "fmt", "-w", "c17.bench")
    assert "netlist" in err and "--output" in err
    assert "netlist" in fails(capsys, "fmt", "--check", "c17.bench")
    rc, _, _ = run(capsys, "fmt", "c17.bench", "--output", "c17.circ")
    assert rc == 0 and Path("c17.circ").read_text() == out
    assert "exists" in fails(capsys, "fmt", "c17.bench", "--output", "c17.circ")
    shutil.copy(MUX4, "mux4.blif")
    rc, _, _ = run(capsys, "fmt", "mux4.blif", "--output", "c17.circ", "--force")
    assert rc == 0 and parse(Path("c17.circ").read_text()).circuits == load_spec("mux4.blif").circuits


def test_fmt_errors(capsys, work):
    Path("bad.circ").write_text("circuit c {\n  in a\n  out y;\n}\n")
    assert "bad.circ:2:7: error: missing `;`" in fails(capsys, "fmt", "bad.circ")
    assert "cannot find" in fails(capsys, "fmt", "nope.circ")
    assert "usage:" in fails(capsys, "fmt", "fa.circ", "all.circ")
    assert "usage:" in fails(capsys, "fmt", "-w", "--check", "fa.circ")


# --------------------------------------------------------------------------------------------
# Exit paths: interrupts, closed pipes, internal errors


def test_internal_errors_are_reported_as_bugs(capsys, work, monkeypatch):
    def boom(args):
        raise ZeroDivisionError("oops")
    monkeypatch.setattr(source_cmds, "cmd_check", boom)
    rc, out, err = run(capsys, "check", "fa.circ")
    assert rc == 3
    assert "circuitc: internal error: ZeroDivisionError: oops" in err
    assert "Traceback" in err and "report" in err


def test_keyboard_interrupt(capsys, work, monkeypatch):
    def interrupted(args):
        raise KeyboardInterrupt
    monkeypatch.setattr(source_cmds, "cmd_eval", interrupted)
    rc, out, err = run(capsys, "eval", "fa.circ")
    assert rc == 130 and out == "" and err == ""


def test_broken_pipe_is_quiet(capsys, work, monkeypatch):
    class ClosedPipe(io.StringIO):
        def write(self, s):
            raise BrokenPipeError(32, "Broken pipe")
    monkeypatch.setattr(sys, "stdout", ClosedPipe())
    rc = cli.main(["eval", "c17.bench", "--truth-table"])
    monkeypatch.undo()
    _, err = capsys.readouterr()
    assert rc == 141 and err == ""


# --------------------------------------------------------------------------------------------
# write_atomic


def test_write_atomic(tmp_path):
    p = tmp_path / "out.txt"
    write_atomic(p, "héllo\n")
    assert p.read_bytes() == "héllo\n".encode()
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(p.stat().st_mode) == 0o666 & ~mask
    with pytest.raises(CircuitError, match="exists; pass --force to replace it"):
        write_atomic(p, b"other")
    assert p.read_bytes() == "héllo\n".encode()
    write_atomic(p, b"\x00\x01", force=True)
    assert p.read_bytes() == b"\x00\x01"
    assert [q.name for q in tmp_path.iterdir()] == ["out.txt"]


def test_write_atomic_follows_links_when_replacing(tmp_path):
    real = tmp_path / "real.txt"
    real.write_text("old")
    link = tmp_path / "link.txt"
    link.symlink_to(real)
    with pytest.raises(CircuitError, match="exists"):
        write_atomic(link, "new")
    write_atomic(link, "new", force=True)
    assert link.is_symlink() and real.read_text() == "new"


def test_write_atomic_errors(tmp_path):
    with pytest.raises(CircuitError, match="does not exist"):
        write_atomic(tmp_path / "no" / "f.txt", "x")
    with pytest.raises(CircuitError, match="is a directory"):
        write_atomic(tmp_path, "x", force=True)
    dangling = tmp_path / "dangling"
    dangling.symlink_to(tmp_path / "nowhere")
    with pytest.raises(CircuitError, match="exists"):
        write_atomic(dangling, "x")


def test_warnings_go_to_stderr(capsys, work, monkeypatch):
    from circuitc import load_spec
    from circuitc.errors import Diagnostic, Span

    def with_warning(path):
        spec = load_spec(path)
        warning = Diagnostic("wire `t` is never read", Span(str(path), 1, 50), severity="warning")
        return type(spec)(spec.circuits, spec.features, spec.networks, spec.source, spec.source_hash, (warning,))
    monkeypatch.setattr(source_cmds, "load_spec", with_warning)
    rc, out, err = run(capsys, "check", "fa.circ")
    assert rc == 0 and "fa.circ:1:50: warning: wire `t` is never read" in err and "never read" not in out
    rc, out, err = run(capsys, "check", "fa.circ", "--json")
    assert json.loads(out)["warnings"] == ["fa.circ:1:50: warning: wire `t` is never read"]
