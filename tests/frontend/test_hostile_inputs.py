"""Inputs that once crashed or hung the front end: each now gets a clear error (the project's
error type, exit 2 on the command line), in bounded time."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from cli_runs import fails

import circuitc
from circuitc.frontend.syntax.parse import _word_before

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_a_nul_byte_in_an_include_path(tmp_path):
    (tmp_path / "a.circ").write_bytes(b'include "a\x00b.circ";\n')
    with pytest.raises(circuitc.CircuitError, match=r"cannot follow `.*a\\0b.circ`: it holds a NUL byte"):
        circuitc.load_spec(tmp_path / "a.circ")


def test_symbolic_link_loops(tmp_path, capsys):
    os.symlink(tmp_path / "loop2", tmp_path / "loop1")
    os.symlink(tmp_path / "loop1", tmp_path / "loop2")
    (tmp_path / "inc.circ").write_text('include "loop1";\n')
    with pytest.raises(circuitc.CircuitError, match="inc.circ:1:1: error: cannot follow .* a loop of symbolic links"):
        circuitc.load_spec(tmp_path / "inc.circ")
    assert "a loop of symbolic links" in fails(capsys, "check", tmp_path / "loop1")


def test_a_real_literal_that_overflows(tmp_path, capsys):
    src = "mlp m { in x; out y; layer linear { weights = [[1e309]]; } }\n"
    with pytest.raises(circuitc.CircuitError, match="`1e309` is out of range for a real number"):
        circuitc.parse(src)
    (tmp_path / "big.circ").write_text(src)
    assert "out of range" in fails(capsys, "fmt", tmp_path / "big.circ")
    assert "out of range" in fails(capsys, "eval", tmp_path / "big.circ", "x=1")
    assert circuitc.parse("mlp m { in x; out y; layer linear { weights = [[1e308]]; } }").circuit("m")


def test_truth_tables_of_huge_circuits_are_refused_with_printable_sizes(tmp_path, capsys):
    (tmp_path / "tt.circ").write_text("circuit big { in a[15000]; out y; y = a[0]; }\n")
    assert "2**15000 (about 10^4515) rows, above --max-inputs 16" in fails(capsys, "eval", tmp_path / "tt.circ",
                                                                          "--truth-table")
    err = fails(capsys, "eval", tmp_path / "tt.circ", "--truth-table", "--max-inputs", "20000")
    assert "above the 30 input bits a truth table can have here" in err
    with pytest.raises(circuitc.CircuitError, match=r"2\*\*40 = 1,099,511,627,776 rows"):
        circuitc.truth_table(circuitc.parse("circuit m { in a[40]; out y; y = a[0]; }").circuit(), max_inputs=64)


def test_an_artifact_with_a_huge_integer(tmp_path, capsys):
    comp = circuitc.compile(circuitc.load_spec(EXAMPLES / "adders_network.circ"))
    circuitc.save(comp, tmp_path / "net")
    meta = (tmp_path / "net" / "network.json").read_text()
    (tmp_path / "net" / "network.json").write_text(re.sub(r'"seed": \d+', '"seed": ' + "9" * 5000, meta, count=1))
    assert "not valid JSON for circuitc (a number too long to read)" in fails(capsys, "verify", tmp_path / "net")
    rows = tmp_path / "rows.json"
    rows.write_text('[{"1": {"a": ' + "9" * 5000 + "}}]")
    shutil.rmtree(tmp_path / "net")
    circuitc.save(comp, tmp_path / "net")
    assert "a number too long to read" in fails(capsys, "run", tmp_path / "net", "--inputs", rows)


def test_a_syntax_error_after_a_long_name_is_found_in_one_pass():
    """The hint that looks for a reserved word before a bad token scans back from the token only
    (it was a regular expression anchored at the end: quadratic in a run of name characters)."""
    text = "#" + "x" * 100_000 + "\ncircuit a { in x; out y; y = x +; }\n"
    with pytest.raises(circuitc.CircuitError, match="unexpected"):
        circuitc.parse(text)
    assert _word_before("a = for  ", 9) == ("for", 4)
    assert _word_before("x" * 100 + " ", 101) is None            # longer than any reserved word
    assert _word_before("  9abc", 6) is None and _word_before("  ", 2) is None


def _include_chain(directory: Path, n: int) -> Path:
    for i in range(n):
        body = f'include "f{i + 1}.circ";\n' if i < n - 1 else "circuit c { in a; out y; y = a; }\n"
        (directory / f"f{i}.circ").write_text(body)
    return directory / "f0.circ"


def test_include_chains_are_limited_by_depth_with_the_chain_named(tmp_path):
    from circuitc.frontend.load import MAX_INCLUDE_DEPTH
    assert circuitc.load_spec(_include_chain(tmp_path, MAX_INCLUDE_DEPTH)).circuit("c")
    deep = tmp_path / "deep"
    deep.mkdir()
    last = " -> ".join(rf"\S*f{MAX_INCLUDE_DEPTH - k}.circ" for k in (2, 1, 0))
    with pytest.raises(circuitc.CircuitError,
                       match=rf"includes nest {MAX_INCLUDE_DEPTH + 1} files deep, over the limit of "
                             rf"{MAX_INCLUDE_DEPTH}: \S*f0.circ -> \S*f1.circ -> \S*f2.circ -> \.\.\. -> {last}\n"):
        circuitc.load_spec(_include_chain(deep, 2 * MAX_INCLUDE_DEPTH))


def test_a_lone_surrogate_in_source_text_is_refused_where_it_is():
    with pytest.raises(circuitc.CircuitError, match=r"<string>:2:3: error: the source holds a lone surrogate U\+DCFF"):
        circuitc.parse("circuit c { in a; out y; y = a; }\n# \udcff\n")


def test_a_pattern_that_would_walk_the_file_system_is_refused(tmp_path, monkeypatch):
    from circuitc.frontend import patterns
    monkeypatch.setattr(patterns, "MAX_PATTERN_DIRECTORIES", 5)
    for k in range(8):
        (tmp_path / f"d{k}").mkdir()
    (tmp_path / "d3" / "x.circ").write_text("circuit c { in a; out y; y = a; }\n")
    (tmp_path / "top.circ").write_text('include "**/*.circ";\n')
    with pytest.raises(circuitc.CircuitError, match=r"`\*\*/\*.circ` would search more than 5 directories under"):
        circuitc.load_spec(tmp_path / "top.circ")
    (tmp_path / "top.circ").write_text('include "d3/**/*.circ";\n')       # a narrower walk is fine
    assert circuitc.load_spec(tmp_path / "top.circ").circuit("c")


def test_a_missing_weight_file_shared_by_a_family_is_reported_once_in_bounded_memory(tmp_path):
    """Every member of the family fails on the same missing file: one error, and the stored
    failure is raised afresh each time (re-raising one exception object would chain every
    member's frames onto its traceback)."""
    import tracemalloc
    (tmp_path / "f.circ").write_text('mlp m<i> { in x; out y; layer linear { weights = load("missing.npy"); } }\n'
                                     'network n { use m<i = 0..4000>; active = 1; }\n')
    tracemalloc.start()
    with pytest.raises(circuitc.CircuitError) as info:
        circuitc.load_spec(tmp_path / "f.circ")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert len(info.value.diagnostics) == 1 and "missing.npy" in str(info.value)
    assert peak < 8 << 20, peak   # 3.4 MiB measured; 17 MiB when every traceback was kept


def test_a_mistake_in_a_long_loop_is_evaluated_once():
    src = "circuit c<N=20000> { in x[N]; out y[N]; for i in 0..N { y[i] = fa(x[i]); } }\n"
    with pytest.raises(circuitc.CircuitError) as info:
        circuitc.parse(src)
    assert [d.message for d in info.value.diagnostics] == ["unknown circuit `fa`"]


def test_a_recursive_circuit_with_a_width_out_of_range_stops_at_once():
    """Its ports cannot be declared, so what it instantiates is not elaborated: before, the
    recursion went down through every smaller width (46 s and 2.5 GB for 8,388,607)."""
    src = ("circuit parity<N> { in x[N]; out y;\n"
           "  if N == 1 { y = x[0]; } else { y = parity<N / 2>(x[0:N / 2]) ^ parity<N - N / 2>(x[N / 2:N]); } }\n"
           "network n { use parity<8388607> * 1; active = 1; }\n")
    with pytest.raises(circuitc.CircuitError) as info:
        circuitc.parse(src)
    assert [d.message for d in info.value.diagnostics] == \
        ["the width of `x` must be between 1 and 1000000, got 8388607"]


def test_a_loop_over_a_width_out_of_range_does_not_run():
    """8,388,607 iterations queued 5 million assignments (over 10 s and 950 MB) before."""
    with pytest.raises(circuitc.CircuitError) as info:
        circuitc.parse("circuit c<N=8388607> { in x[N]; out y[N]; for i in 0..N { y[i] = fa(x[i]); } }")
    assert [d.message for d in info.value.diagnostics] == \
        ["the width of `x` must be between 1 and 1000000, got 8388607"]


def test_a_long_chain_of_conditionals_is_refused_before_it_is_parsed():
    """A chain of `a ? b : ` (found by fuzzing: 800 KB of it spent 10 s in the parser before the
    elaborator refused it; the token limit now refuses that size first) is refused by a scan
    before the parser, at the conditional past the limit; a chain of 400, which elaborates, is not
    touched, and `?` inside back-quoted names and comments does not count."""
    from circuitc.frontend.syntax.parse import MAX_CONDITIONAL_CHAIN

    head = "circuit c { in a, b; out y;\n    y = "
    with pytest.raises(circuitc.CircuitError) as e:
        circuitc.parse(head + "a ? b : " * (MAX_CONDITIONAL_CHAIN + 500) + "a; }", "chain.circ")
    text = str(e.value)
    assert f"more than {MAX_CONDITIONAL_CHAIN:,} conditional expressions" in text
    assert text.startswith(f"chain.circ:2:{5 + 4 + 8 * MAX_CONDITIONAL_CHAIN + 2}:")
    assert circuitc.parse(head + "a ? b : " * 400 + "a; }").circuits
    quoted = "circuit c { in `a?`, b; out y; # ??????\n y = `a?` ? b : `a?`; }"
    assert circuitc.parse(quoted.replace("??????", "?" * (MAX_CONDITIONAL_CHAIN + 5))).circuits


def test_inputs_found_by_the_last_fuzzing_campaign():
    """Each of these took from 10 s to minutes: a line of 10^5 blanks before a statement the line
    reader for flat circuits does not take (its pattern tried every split of the blanks); a syntax
    error at the end of 10^5 signs (the parser's expected tokens were asked of a stack 10^5 deep,
    once per token; 9·10^4 here, as 10^5 are now refused by the token count before parsing); a
    `for` refused (its variable hides a signal, a bound out of range) in every
    iteration of a loop of 10^7."""
    from circuitc.errors import SourceMap
    from circuitc.frontend.flat import read_flat

    blanks = "circuit bad {\n  in a;\n  out y;\n" + " " * 100_000 + "y = a & zz;\n}\n"
    assert read_flat(blanks, "fuzz.circ", SourceMap()) is None
    with pytest.raises(circuitc.CircuitError, match=r"fuzz.circ:4:100009: error: unknown signal `zz`"):
        circuitc.parse(blanks, "fuzz.circ")
    with pytest.raises(circuitc.CircuitError, match=r"unexpected `11`"):
        circuitc.parse("features f[10] {\n  active =" + "-" * 90_000 + "a 11;\n}", "f.circ")
    looped = "circuit c {\n  in a;\n  out y;\n  for i in 0..10000000 {\n    for y in 0..10000000 { }\n  }\n  y = a;\n}"
    with pytest.raises(circuitc.CircuitError) as e:
        circuitc.parse(looped, "l.circ")
    assert "loop variable `y` hides the signal of the same name" in str(e.value)
    with pytest.raises(circuitc.CircuitError, match=r"integer 1000000099999999999999999999 is out of range"):
        circuitc.parse(looped.replace("for y in 0..10000000", "for k in 0..1000000099999999999999999999"), "l.circ")
    # A loop with nothing to do is counted, not run: 10^6 empty iterations are within the limit.
    assert circuitc.parse("circuit c { in a; out y; for i in 0..1000000 { } y = a; }").circuits


def _statements(n: int) -> str:
    body = "".join(f"  w{i} = w{i - 1} & x;\n" for i in range(1, n))
    return f"circuit c {{\n  in x, w0;\n  out y;\n{body}  y = w{n - 1};\n}}\n"


def test_a_source_above_the_token_limit_is_refused_before_it_is_parsed(tmp_path, capsys):
    """Lark reads about 60,000 tokens a second: a 256 MiB source would have run for an hour. The
    count stops at the first token past the limit and points at it: the text before the caret
    holds exactly MAX_TOKENS tokens."""
    from circuitc.frontend.syntax.parse import MAX_TOKENS, count_tokens

    src = _statements(MAX_TOKENS // 6 + 100)
    with pytest.raises(circuitc.CircuitError) as e:
        circuitc.parse(src, "big.circ")
    (d,) = e.value.diagnostics
    assert d.message == f"the source holds more than {MAX_TOKENS:,} tokens, above the parser's limit"
    assert "netlist" in d.hint and "flat form" in d.hint
    lines = src.split("\n")
    pos = sum(len(line) + 1 for line in lines[:d.span.line - 1]) + d.span.column - 1
    assert count_tokens(src[:pos], "big.circ", 10 * MAX_TOKENS) == MAX_TOKENS
    assert d.source_line == lines[d.span.line - 1]
    # Within the limit, the same statements parse.
    assert circuitc.parse(_statements(100), "small.circ").circuits
    (tmp_path / "big.circ").write_text(src)
    assert "above the parser's limit" in fails(capsys, "check", tmp_path / "big.circ")


def test_the_token_limit_covers_every_included_file(tmp_path, monkeypatch):
    import circuitc.frontend.syntax.parse as parse

    top, inc = 'include "inc.circ";\n# a comment is a token too\n', _statements(6)
    (tmp_path / "top.circ").write_text(top)
    (tmp_path / "inc.circ").write_text(inc)
    n_top, n_inc = parse.count_tokens(top, "top.circ", 10 ** 6), parse.count_tokens(inc, "inc.circ", 10 ** 6)
    assert (n_top, n_inc) == (4, 46)
    monkeypatch.setattr(parse, "MAX_TOKENS", n_top + n_inc)
    assert circuitc.load_spec(tmp_path / "top.circ").circuits
    monkeypatch.setattr(parse, "MAX_TOKENS", n_top + n_inc - 1)   # the last `}` of inc.circ is one too many
    last = len(inc.splitlines())
    with pytest.raises(circuitc.CircuitError, match=rf"inc.circ:{last}:1: error: the source holds more than 49 "
                                                    r"tokens \(4 in the files read before this one\)"):
        circuitc.load_spec(tmp_path / "top.circ")


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.circ")), ids=lambda p: p.name)
def test_the_token_count_never_falls_short_of_the_parser(path):
    """The count bounds the parser's work only if it counts at least the tokens the parser reads
    (comments, which the lexer also reads, are counted too); multi-character operators count as
    several, so it may exceed them, by less than twice."""
    from circuitc.frontend.syntax.parse import _parser, count_tokens

    text = path.read_text()
    read = len(list(_parser().lex(text)))
    counted = count_tokens(text, path.name, 10 ** 9)
    comments = sum(1 for line in text.splitlines() if "#" in line)
    assert read <= counted <= 2 * read + comments
