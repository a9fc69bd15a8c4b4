"""Many different circuits declared compactly: stacked weight files sliced by a parameter
(`load("w.npy")[i]`), ranges of parameter values in a network's `use` (`use m<i=0..100>;`), and
include patterns (`include "netlists/*.bench";`). What each elaborates to, what bad input is told
(message, place, caret, hint), and that `fmt` prints every form back to an equal Spec.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save_file
from test_errors import at, check, error

import circuitc
from circuitc import CircuitError, evaluate, format_source, load_spec, parse
from circuitc.frontend import weights
from circuitc.frontend.printer import spec_to_circ
from circuitc.spec import MLPCircuit

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

FAMILY = """mlp m<i> {
  in x[3];
  out y[2];
  layer relu {
    weights = load("w.npy")[i];
    bias = load("b.npy")[i];
  }
  layer linear {
    weights = [[1, -1]];
    bias = [0.5];
  }
  layer linear {
    weights = load("w2.npy")[i % 2];
  }
}
"""


@pytest.fixture
def stacked(tmp_path):
    """Stacked weights for a family of 5: first layers (5, 2, 3), biases (5, 2), last layers (2, 2, 1)."""
    rng = np.random.default_rng(1)
    arrays = {"w": rng.normal(size=(5, 2, 3)), "b": rng.normal(size=(5, 2)), "w2": rng.normal(size=(2, 2, 1))}
    for name, a in arrays.items():
        np.save(tmp_path / f"{name}.npy", a)
    return tmp_path, arrays


def net(uses: str, active: int = 1) -> str:
    return f"network n {{\n  {uses}\n  active = {active};\n}}\n"


# --------------------------------------------------------------------------------------------
# stacked weight files

def test_each_member_gets_its_slice(stacked):
    d, a = stacked
    s = parse(FAMILY + net("use m<i=0..5>;"), base_dir=d)
    assert [c.name for c in s.circuits] == [f"m<i={i}>" for i in range(5)]
    for i in range(5):
        c = s.circuit(f"m<i={i}>")
        assert isinstance(c, MLPCircuit) and c.params == (("i", i),)
        first, middle, last = c.layers
        assert np.array_equal(first.weights, a["w"][i]) and np.array_equal(first.bias, a["b"][i])
        assert middle.weights.tolist() == [[1.0, -1.0]] and middle.bias.tolist() == [0.5]
        assert np.array_equal(last.weights, a["w2"][i % 2]) and last.bias.tolist() == [0.0, 0.0]
        x = np.random.default_rng(i).normal(size=(20, 3))
        h = np.maximum(x @ a["w"][i].T + a["b"][i], 0) @ np.array([[1.0], [-1.0]]) + 0.5
        assert np.allclose(evaluate(c, {"x": x})["y"], h @ a["w2"][i % 2].T)


def test_members_share_no_writable_memory_with_each_other(stacked):
    d, _ = stacked
    s = parse(FAMILY + net("use m<i=0..2>;"), base_dir=d)
    w = s.circuit("m<i=0>").layers[0].weights
    assert not w.flags.writeable
    with pytest.raises(ValueError):
        w[0, 0] = 9.0


def test_two_indices_and_a_safetensors_key(tmp_path):
    grid = np.arange(2 * 3 * 1 * 2, dtype=np.float64).reshape(2, 3, 1, 2)
    save_file({"layer1": grid, "other": np.zeros(3)}, str(tmp_path / "w.safetensors"))
    src = """mlp g<r, c> {
  in x[2];
  out y;
  layer linear {
    weights = load("w.safetensors", "layer1")[r][c];
  }
}
""" + net("use g<r=0..2, c=0..3>;")
    s = parse(src, base_dir=tmp_path)
    assert len(s.circuits) == 6
    for r in range(2):
        for c in range(3):
            assert np.array_equal(s.circuit(f"g<r={r}, c={c}>").layers[0].weights, grid[r, c])


def test_an_index_from_global_and_local_parameters(stacked):
    d, a = stacked
    src = """param K = 3;
mlp one {
  in x[3];
  out y[2];
  param J = K + 1;
  layer relu {
    weights = load("w.npy")[J - 2 * 2 + K];
  }
}
"""
    c = parse(src, base_dir=d).circuit("one")
    assert c.params == () and np.array_equal(c.layers[0].weights, a["w"][3])


def test_a_file_is_read_once_and_hashed_once(stacked, monkeypatch):
    d, _ = stacked
    reads: list[str] = []
    real = weights._read_bytes
    monkeypatch.setattr(weights, "_read_bytes", lambda path: reads.append(path.name) or real(path))
    text = FAMILY + net("use m<i=0..5>;")
    s = parse(text, base_dir=d)
    assert sorted(reads) == ["b.npy", "w.npy", "w2.npy"]
    h = hashlib.sha256()
    for data in (text.encode(), *((d / f).read_bytes() for f in ("w.npy", "b.npy", "w2.npy"))):
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    assert s.source_hash == h.hexdigest()


def test_the_source_hash_follows_a_stacked_file(stacked):
    d, a = stacked
    text = FAMILY + net("use m<i=0..5>;")
    before = parse(text, base_dir=d).source_hash
    w = a["w"].copy()
    w[4, 1, 2] += 1.0
    np.save(d / "w.npy", w)
    after = parse(text, base_dir=d)
    assert after.source_hash != before
    assert after.circuit("m<i=4>").layers[0].weights[1, 2] == w[4, 1, 2]


def test_ten_thousand_different_mlps_from_a_short_file(tmp_path):
    w = np.random.default_rng(0).normal(size=(10_000, 4, 4))
    np.save(tmp_path / "w.npy", w)
    layer = '  layer relu { weights = load("w.npy")[i]; bias = [-0.5, -1.5, -1, -1]; }\n'
    src = "mlp r<i> {\n  in a[4];\n  out y[4];\n" + layer * 5 + "}\n" + net("use r<i=0..10000>;", active=2)
    assert len(src.splitlines()) < 20
    start = time.perf_counter()
    s = parse(src, base_dir=tmp_path)
    seconds = time.perf_counter() - start
    assert len(s.circuits) == 10_000 and s.network().T == 10_000
    assert np.array_equal(s.circuit("r<i=9876>").layers[4].weights, w[9876])
    assert seconds < 30, seconds                 # about 1 s on a 2-core machine; see docs/performance.md


@pytest.mark.slow
def test_speed_ten_thousand_different_mlps(tmp_path):
    np.save(tmp_path / "w.npy", np.random.default_rng(0).normal(size=(10_000, 4, 4)))
    layer = '  layer relu { weights = load("w.npy")[i]; bias = [-0.5, -1.5, -1, -1]; }\n'
    src = "mlp r<i> {\n  in a[4];\n  out y[4];\n" + layer * 5 + "}\n" + net("use r<i=0..10000>;", active=2)
    parse(src, base_dir=tmp_path)  # the parser is built once per process

    def timed() -> float:
        t = time.perf_counter()
        parse(src, base_dir=tmp_path)
        return time.perf_counter() - t

    best = min(timed() for _ in range(3))
    assert best < 3.0, best


# bad input

def test_index_out_of_range(stacked):
    d, _ = stacked
    src = FAMILY + net("use m<i=0..6>;")
    e = error(src, base_dir=d)
    check(e, src, r"index 5 is out of range for `w.npy` of shape \(5, 2, 3\): axis 0 has 5 entries "
                  r"\(in `m` with i = 5\)", at(src, "i];"), expected="an index from 0 to 4",
          hint="picks one slice of a stacked array", only=False)
    # The bias of the same member fails too, at its own place; nothing else is reported.
    check(e, src, r"index 5 is out of range for `b.npy` of shape \(5, 2\)", at(src, "i];", 2), only=False)
    assert len(e.diagnostics) == 2


def test_negative_index(stacked):
    d, _ = stacked
    src = 'mlp one {\n  in x[3];\n  out y[2];\n  layer relu { weights = load("w.npy")[2 - 3]; }\n}\n'
    check(error(src, base_dir=d), src, r"index -1 is out of range for `w.npy`.* \(in `one`\)", at(src, "2 - 3"),
          expected="an index from 0 to 4")


def test_an_out_of_range_index_in_many_members_is_reported_once(stacked):
    d, _ = stacked
    src = FAMILY.replace('load("b.npy")[i]', '[0, 0]') + net("use m<i=0..40>;")
    e = error(src, base_dir=d)
    check(e, src, r"index 5 is out of range", at(src, "i];"))


def test_indexing_an_array_with_too_few_dimensions(stacked):
    d, _ = stacked
    src = FAMILY.replace('load("b.npy")[i]', 'load("b.npy")[i][0]') + net("use m<i=0..2>;")
    check(error(src, base_dir=d), src,
          r"`b.npy` holds an array of shape \(5, 2\); bias indexed 2 times need an array of 3 dimensions",
          at(src, 'load("b.npy")'), expected=r"shape \(T1, T2, outputs\)", hint=r"np\.stack")
    np.save(d / "flat.npy", np.zeros((2, 3)))
    src = FAMILY.replace("w.npy", "flat.npy") + net("use m<i=0..2>;")
    check(error(src, base_dir=d), src,
          r"`flat.npy` holds an array of shape \(2, 3\); weights indexed once need an array of 3 dimensions",
          at(src, 'load("flat.npy")'), expected=r"shape \(T, outputs, inputs\)")


def test_a_signal_as_an_index(stacked):
    d, _ = stacked
    src = FAMILY.replace('load("w.npy")[i]', 'load("w.npy")[x]') + net("use m<i=0..2>;")
    check(error(src, base_dir=d), src, r"`x` is a signal; an integer is needed here", at(src, "x]"),
          hint="integer expressions")


def test_an_unknown_name_as_an_index(stacked):
    d, _ = stacked
    src = FAMILY.replace('load("w.npy")[i]', 'load("w.npy")[j]') + net("use m<i=0..2>;")
    check(error(src, base_dir=d), src, r"unknown integer name `j`", at(src, "j]"))


def test_a_fraction_as_an_index():
    src = 'mlp one {\n  in x[3];\n  out y[2];\n  layer relu { weights = load("w.npy")[1.5]; }\n}\n'
    check(error(src), src, r"unexpected `.5`", at(src, ".5"), hint="an index is an integer expression")


def test_a_missing_stacked_file_is_reported_once(tmp_path):
    src = FAMILY + net("use m<i=0..50>;")
    e = error(src, base_dir=tmp_path)
    assert len(e.diagnostics) == 2      # w.npy and b.npy once each; the layers after a failed one wait
    check(e, src, r"weight file `.*w\.npy` does not exist", at(src, 'load("w.npy")'), only=False,
          hint="relative to the directory")


# --------------------------------------------------------------------------------------------
# ranges of parameter values in `use`

ADDK = """circuit addk<N, K = 0> {
  in a[N];
  out s[N];
  wire c[N + 1];
  c[0] = 0;
  for i in 0..N {
    s[i] = a[i] ^ bit(K, i) ^ c[i];
    c[i + 1] = maj(a[i], bit(K, i), c[i]);
  }
}
param M = 3;
"""


def groups(src: str) -> list[tuple[str, int]]:
    return [(g.circuit, g.count) for g in parse(src).network().groups]


def test_a_keyword_range_names_one_circuit_per_value():
    assert groups(ADDK + net("use addk<N=3, K=0..4>;")) == [(f"addk<N=3, K={k}>", 1) for k in range(4)]


def test_a_positional_range_with_a_count():
    assert groups(ADDK + net("use addk<2, 1..M + 1> * 7;")) == [(f"addk<N=2, K={k}>", 7) for k in (1, 2, 3)]


def test_ranges_written_out_are_the_same_network():
    ranged = parse(ADDK + net("use addk<N=2..4, K=5..7> * 2;"))
    written = parse(ADDK + net(" ".join(f"use addk<N={n}, K={k}> * 2;" for n in (2, 3) for k in (5, 6))))
    assert ranged == written
    assert [g.circuit for g in ranged.network().groups] == [
        "addk<N=2, K=5>", "addk<N=2, K=6>", "addk<N=3, K=5>", "addk<N=3, K=6>"]  # the last range fastest


def test_members_compute_what_their_values_say():
    s = parse(ADDK + net("use addk<N=4, K=0..16>;"))
    a = np.arange(16)
    for k in range(16):
        out = circuitc.bits_to_int(evaluate(s.circuit(f"addk<N=4, K={k}>"), {"a": a})["s"])
        assert out.tolist() == [(x + k) % 16 for x in a.tolist()]


def test_a_use_without_a_count_is_one_instance():
    assert groups(ADDK + net("use addk<3>; use addk<4, 1> * 2;")) == [("addk<N=3, K=0>", 1), ("addk<N=4, K=1>", 2)]


def test_a_range_over_a_parameter_with_a_default():
    src = "circuit w<N = 2> { in a[N]; out y; y = xor(a); }\n" + net("use w<N=1..4>;")
    assert groups(src) == [("w<N=1>", 1), ("w", 1), ("w<N=3>", 1)]


def test_a_range_of_mlps_and_a_netlist_in_one_network(stacked):
    d, _ = stacked
    (d / "c17.bench").write_text((EXAMPLES / "c17.bench").read_text())
    s = parse('include "c17.bench";\n' + FAMILY + net("use m<i=1..3> * 4; use c17 * 10;"), base_dir=d)
    assert [(g.circuit, g.count) for g in s.network().groups] == [("m<i=1>", 4), ("m<i=2>", 4), ("c17", 10)]
    assert s.network().T == 18


# bad input

@pytest.mark.parametrize("lo,hi", [(5, 2), (3, 3)])
def test_an_empty_range(lo, hi):
    src = ADDK + net(f"use addk<N=4, K={lo}..{hi}>;")
    check(error(src), src, rf"the range {lo}\.\.{hi} of parameter `K` holds no values", at(src, "K="),
          expected="lo < hi", hint=r"runs from lo up to hi - 1, as in `for` loops")


def test_an_empty_positional_range():
    src = ADDK + net("use addk<4, M..1>;")
    check(error(src), src, r"the range 3\.\.1 of parameter `K` holds no values", at(src, "M..1"))


def test_a_range_for_a_parameter_the_circuit_does_not_have():
    src = ADDK + net("use addk<N=4, J=0..3>;")
    check(error(src), src, r"`addk` has no parameter `J`", at(src, "J="), hint="parameters: N, K")
    src = ADDK + net("use addk<N=4, Kk=0..3>;")
    check(error(src), src, r"`addk` has no parameter `Kk`", at(src, "Kk="), hint="did you mean `K`")


def test_a_range_on_a_circuit_without_parameters():
    src = "circuit inv { in a; out y; y = ~a; }\n" + net("use inv<0..3>;")
    check(error(src), src, r"`inv` takes 0 parameters, got 1", at(src, "inv<"), expected="no parameters")


def test_a_range_on_a_netlist_circuit(tmp_path):
    (tmp_path / "c17.bench").write_text((EXAMPLES / "c17.bench").read_text())
    src = 'include "c17.bench";\n' + net("use c17<i=0..3>;")
    check(error(src, base_dir=tmp_path), src, r"`c17` takes no parameters", at(src, "c17<"))


def test_a_range_in_an_instance_is_a_syntax_error_with_a_hint():
    src = ADDK + "circuit top { in a[4]; out s[4]; s = addk<4, 0..2>(a); }\n"
    check(error(src), src, r"unexpected `\.\.`", at(src, "..2>"), expected="`,`, `>`",
          hint=r"ranges `lo\.\.hi` appear in `for` loops and in a network's `use` line")


def test_a_range_overlapping_another_use():
    src = ADDK + net("use addk<4, 0..3>;\n  use addk<N=4, K=2..6>;")
    check(error(src), src, r"`addk<N=4, K=2>` is used twice in network `n`", at(src, "use addk<N=4"),
          hint="first used at t.circ:13:3")


def test_a_range_too_large():
    src = ADDK + net("use addk<N=1..1001, K=0..201>;")
    check(error(src), src, r"the parameter ranges of `addk` name 201,000 circuits", at(src, "addk<N=1"),
          expected="at most 200,000 circuits")


def test_a_member_that_fails_is_reported_with_its_values():
    src = "circuit w<N> { in a[N]; out y; y = xor(a); }\n" + net("use w<N=-1..2>;")
    e = error(src)
    assert any("the width of `a` must be between 1 and 1000000, got -1" in d.message for d in e.diagnostics)


# --------------------------------------------------------------------------------------------
# include patterns

BENCH = "INPUT(a)\nINPUT(b)\nOUTPUT(y)\ny = {op}(a, b)\n"


@pytest.fixture
def netlists(tmp_path):
    d = tmp_path / "netlists"
    d.mkdir()
    for name, op in (("zeta", "AND"), ("alpha", "OR"), ("mid", "XOR"), ("Beta", "NAND")):
        (d / f"{name}.bench").write_text(BENCH.format(op=op))
    (d / "notes.txt").write_text("not a netlist\n")
    (d / "sub").mkdir()
    (d / "sub" / "deep.bench").write_text(BENCH.format(op="NOR"))
    return tmp_path


def test_a_pattern_includes_every_match_in_sorted_order(netlists):
    s = parse('include "netlists/*.bench";\n' + net("use alpha * 2; use zeta;"), base_dir=netlists)
    assert [c.name for c in s.circuits] == ["Beta", "alpha", "mid", "zeta"]   # by code point: capitals first
    assert s.network().T == 3
    X, Y = circuitc.truth_table(s.circuit("Beta"))
    assert Y[:, 0].tolist() == [1 - (a & b) for a, b in X.tolist()]


def test_a_pattern_spec_equals_the_includes_written_out(netlists):
    written = "".join(f'include "netlists/{n}.bench";\n' for n in ("Beta", "alpha", "mid", "zeta"))
    a = parse('include "netlists/*.bench";\n' + net("use mid;"), base_dir=netlists)
    b = parse(written + net("use mid;"), base_dir=netlists)
    assert a == b
    # Both hash the same netlists; only the including text differs.
    (netlists / "netlists" / "mid.bench").write_text(BENCH.format(op="XNOR"))
    assert parse('include "netlists/*.bench";\n' + net("use mid;"), base_dir=netlists).source_hash != a.source_hash


def test_double_star_and_question_mark(netlists):
    names = [c.name for c in parse('include "netlists/**/*.bench";', base_dir=netlists).circuits]
    assert names == ["Beta", "alpha", "mid", "deep", "zeta"]   # sorted by path components
    assert [c.name for c in parse('include "netlists/?eta.bench";', base_dir=netlists).circuits] == ["Beta", "zeta"]


def test_a_pattern_of_circ_files(tmp_path):
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "b.circ").write_text("circuit inv { in a; out y; y = ~a; }\n")
    (tmp_path / "lib" / "a.circ").write_text('include "b.circ";\ncircuit buf2 { in a; out y; y = inv(inv(a)); }\n')
    s = load_spec(_write(tmp_path / "top.circ", 'include "lib/*.circ";\n' + net("use buf2; use inv;")))
    assert [c.name for c in s.circuits] == ["inv", "buf2"]      # b.circ once, though a.circ includes it too


def test_a_bracketed_path_without_star_is_literal(tmp_path):
    (tmp_path / "a[1].circ").write_text("circuit inv { in a; out y; y = ~a; }\n")
    assert parse('include "a[1].circ";', base_dir=tmp_path).circuit("inv")


def test_a_directory_with_pattern_characters_is_taken_literally(tmp_path):
    d = tmp_path / "odd[x]*"
    d.mkdir()
    (d / "c.bench").write_text(BENCH.format(op="AND"))
    assert [c.name for c in load_spec(_write(d / "top.circ", 'include "*.bench";')).circuits] == ["c"]


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_a_pattern_that_matches_nothing(netlists):
    src = 'include "netlists/*.blif";\n'
    check(error(src, base_dir=netlists), src, r"no file matches `netlists/\*\.blif`", (1, 1),
          hint=r"looked for .*netlists/\*\.blif; `\*` matches any characters within one directory name")


def test_a_pattern_that_matches_only_directories(netlists):
    src = 'include "netlists/s*";\n'
    check(error(src, base_dir=netlists), src, r"no file matches `netlists/s\*`", (1, 1))


def test_a_pattern_that_matches_the_including_file(tmp_path):
    top = _write(tmp_path / "top.circ", 'include "*.circ";\n')
    with pytest.raises(CircuitError, match=r"recursive include: \S*top\.circ -> \S*top\.circ"):
        load_spec(top)


# --------------------------------------------------------------------------------------------
# fmt prints every new form, and the printout elaborates to an equal Spec

NEW_FORMS = """param T=4;
mlp   m<i> { in x[3]; out y[2];
  layer relu { weights=load( "w.npy" )[ i ]; bias = load("b.npy")[(i+1)%T]; }
  layer linear { weights = [[1,-1]]; }
  layer linear { weights = load("w2.npy")[i%2]; }
}
network   n { use m<i = 0..T>; use m < T .. 5 > * 2;  active=1; }
"""

CANONICAL = """param T = 4;

mlp m<i> {
    in x[3];
    out y[2];
    layer relu {
        weights = load("w.npy")[i];
        bias = load("b.npy")[(i + 1) % T];
    }
    layer linear {
        weights = [[1, -1]];
    }
    layer linear {
        weights = load("w2.npy")[i % 2];
    }
}

network n {
    use m<i=0..T>;
    use m<T..5> * 2;
    active = 1;
}
"""


def test_fmt_prints_the_new_forms(stacked):
    d, _ = stacked
    out = format_source(NEW_FORMS)
    assert out == CANONICAL
    assert format_source(out) == out
    assert parse(out, base_dir=d) == parse(NEW_FORMS, base_dir=d)


def test_fmt_keeps_include_patterns_and_uses_without_a_count(netlists):
    src = 'include  "netlists/*.bench" ;\nnetwork n { use alpha; use mid*3; active = 1; }\n'
    out = format_source(src)
    assert out == 'include "netlists/*.bench";\n\nnetwork n {\n    use alpha;\n    use mid * 3;\n    active = 1;\n}\n'
    assert parse(out, base_dir=netlists) == parse(src, base_dir=netlists)


def test_fmt_of_the_rotations_example_elaborates_to_the_same_spec():
    text = (EXAMPLES / "rotations.circ").read_text()
    assert format_source(text) == text
    assert parse(format_source(text), base_dir=EXAMPLES) == load_spec(EXAMPLES / "rotations.circ")


def test_the_elaborated_printout_of_a_family_reads_back(stacked):
    d, _ = stacked
    s = parse(FAMILY + net("use m<i=0..5> * 3;"), base_dir=d)
    again = parse(spec_to_circ(s))
    # Members print flat, under their canonical names, without parameters.
    assert [c.name for c in again.circuits] == [c.name for c in s.circuits]
    assert all(a.layers == b.layers for a, b in zip(again.circuits, s.circuits))
    assert again.networks == s.networks


def test_nul_bytes_in_a_pattern_or_a_stacked_file_name(tmp_path):
    with pytest.raises(CircuitError, match=r"cannot follow `net\\0s/\*\.bench`: it holds a NUL byte"):
        parse('include "net\0s/*.bench";', base_dir=tmp_path)
    with pytest.raises(CircuitError, match=r"cannot read weight file `.*a\\0b\.npy`: the path holds a NUL byte"):
        parse('mlp m { in x; out y; layer linear { weights = load("a\0b.npy")[0]; } }', base_dir=tmp_path)
