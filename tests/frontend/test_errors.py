"""Every kind of bad input gets a CircuitError that says what is wrong, where, and what to do.

Each test checks the exception type (CircuitError and nothing else), the words of the message,
the location of the offending token, the rendered report (`file:line:col`, the source line and
a caret under the token) and the hint where one applies.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from circuitc import CircuitError, load_spec, parse

FILE = "t.circ"

FA = """circuit fa {
  in a, b, cin;
  out s, cout;
  s = a ^ b ^ cin;
  cout = maj(a, b, cin);
}
"""


def error(src: str, base_dir=None, filename: str = FILE) -> CircuitError:
    """The error raised for `src`; fails unless it is exactly a CircuitError."""
    try:
        parse(src, filename=filename, base_dir=base_dir)
    except CircuitError as e:
        assert type(e) is CircuitError
        assert e.diagnostics
        str(e)
        return e
    except Exception as e:  # pragma: no cover - a failure of the library, shown clearly
        pytest.fail(f"expected CircuitError, got {type(e).__name__}: {e}")
    pytest.fail("expected CircuitError, nothing was raised")


def at(src: str, needle: str, occurrence: int = 1, offset: int = 0) -> tuple[int, int]:
    """(line, column), counted from 1, of the `occurrence`-th `needle` in src (plus `offset` columns)."""
    pos = -1
    for _ in range(occurrence):
        pos = src.index(needle, pos + 1)
    pos += offset
    line = src.count("\n", 0, pos) + 1
    col = pos - (src.rfind("\n", 0, pos) + 1) + 1
    return line, col


def check(err: CircuitError, src: str, message: str, where: tuple[int, int], *, hint: str | None = None,
          expected: str | None = None, file: str = FILE, only: bool = True):
    """The diagnostic whose message matches `message` (a regex) is at `where` and renders with a caret."""
    if only:
        assert len(err.diagnostics) == 1, str(err)
    matches = [d for d in err.diagnostics if re.search(message, d.message)]
    assert matches, f"no diagnostic matches {message!r} in:\n{err}"
    d = matches[0]
    line, col = where
    assert d.span is not None
    assert (d.span.file, d.span.line, d.span.column) == (file, line, col), str(err)
    if hint is not None:
        assert d.hint is not None and re.search(hint, d.hint), f"hint {d.hint!r} does not match {hint!r}"
    if expected is not None:
        assert d.expected is not None and re.search(expected, d.expected), d.expected
    text = str(err)
    assert f"{file}:{line}:{col}" in text
    source_line = src.splitlines()[line - 1]
    rendered = text.splitlines()
    gutter = f"{line:>5} | "
    rows = [i for i, r in enumerate(rendered) if r.startswith(gutter)
            and r[len(gutter):].strip("…") in source_line and len(r) > len(gutter)]
    assert rows, f"the source line is not quoted:\n{text}"
    quoted, caret = rendered[rows[0]], rendered[rows[0] + 1]
    assert caret.startswith(" " * 5 + " | ")
    if quoted == gutter + source_line:
        assert caret.index("^") == len(gutter) + col - 1, f"caret misplaced:\n{text}"
    else:  # a long line, quoted in part: the caret is under the same text
        shown = quoted[len(gutter):]
        lead = shown.startswith("…")
        first = source_line.index(shown.strip("…")) - lead
        assert caret.index("^") - len(gutter) + first == col - 1, f"caret misplaced:\n{text}"
    if hint is not None:
        assert f"hint: {d.hint}" in text
    return d


# --------------------------------------------------------------------------------------------
# syntax errors

def test_missing_semicolon_is_reported_at_the_end_of_the_statement():
    src = "circuit c {\n  in a, b;\n  out y\n  y = a & b;\n}\n"
    err = error(src)
    check(err, src, "missing `;`", (3, 8), hint="next statement starts on line 4", expected="`;`")


def test_missing_semicolon_before_a_comment():
    src = "circuit c {\n  in a;  # note\n  out y  # the output\n\n  y = a;\n}"
    check(error(src), src, "missing `;`", (3, 8), hint="line 5")


def test_missing_semicolon_after_include():
    src = 'include "x.circ"\ncircuit c { in a; out y; y = a; }'
    check(error(src), src, "missing `;`", (1, 17))


def test_unclosed_brace_at_end_of_file():
    src = "circuit c {\n  in a;\n  out y;\n  y = a;\n"
    err = error(src)
    check(err, src, "unexpected end of file", (4, 9), hint=r"`\{` on line 1 is never closed")


def test_unclosed_inner_brace_names_its_line():
    src = "circuit c {\n  in a[2];\n  out y[2];\n  for i in 0..2 {\n    y[i] = a[i];\n"
    check(error(src), src, "unexpected end of file", (5, 17), hint=r"`\{` on line 4 is never closed")


def test_extra_closing_brace():
    src = "circuit c {\n  in a;\n  out y;\n  y = a;\n}}"
    check(error(src), src, r"unexpected `?\}`?", (5, 2))


def test_unexpected_character():
    src = "circuit c {\n  in a, b;\n  out y;\n  y = a @ b;\n}"
    check(error(src), src, "unexpected character `@`", at(src, "@"))


def test_cpp_comment_between_statements_gets_a_hint():
    src = "circuit c {\n  in a;\n  out y;  // output\n  y = a;\n}"
    check(error(src), src, "unexpected", at(src, "//"), hint="comments start with `#`")


def test_cpp_comment_at_the_top_gets_a_hint():
    src = "// a full adder\ncircuit c {\n  in a;\n  out y;\n  y = a;\n}"
    check(error(src), src, "unexpected", (1, 1), hint="comments start with `#`")


def test_single_quotes_get_a_hint():
    src = "mlp m { in x; out y; layer relu { weights = load('w.npy'); } }"
    check(error(src), src, "unexpected character `'`", at(src, "'"), hint="double quotes")


def test_plus_in_a_signal_expression():
    src = "circuit c {\n  in a, b;\n  out y;\n  y = a + b;\n}"
    check(error(src), src, "unexpected `\\+`", at(src, "+"), hint="integer operators.*`\\|` \\(or\\)")


@pytest.mark.parametrize("op", ["*", "-", "%"])
def test_integer_operators_in_a_signal_expression(op):
    src = f"circuit c {{\n  in a, b;\n  out y;\n  y = a {op} b;\n}}"
    check(error(src), src, "unexpected", at(src, op), hint="integer operators")


def test_comparison_in_a_signal_expression():
    src = "circuit c {\n  in a, b;\n  out y;\n  y = a == b;\n}"
    check(error(src), src, "unexpected", at(src, "=="), hint="only in `if` conditions")


@pytest.mark.parametrize("word", ["wire", "in", "network", "layer", "bit"])
def test_reserved_word_as_a_signal_name(word):
    src = f"circuit c {{\n  in a, {word};\n  out y;\n  y = a;\n}}"
    check(error(src), src, f"`{word}` is a reserved word", at(src, word, occurrence=1 if word != "in" else 2),
          hint="back-quotes")


def test_reserved_word_as_a_circuit_name():
    src = "circuit for {\n  in a;\n  out y;\n  y = a;\n}"
    check(error(src), src, "`for` is a reserved word", (1, 9))


def test_reserved_word_in_an_expression():
    src = "circuit c {\n  in a;\n  out y;\n  y = a & for;\n}"
    check(error(src), src, "`for` is a reserved word", at(src, "for"))


def test_reserved_word_as_an_assignment_target():
    src = "circuit c {\n  in a;\n  out y;\n  for = a;\n}"
    check(error(src), src, "reserved", at(src, "for"), hint="quote it")


@pytest.mark.parametrize("literal", ["0b12", "12ab", "0x1g", "0b"])
def test_malformed_integer(literal):
    src = f"circuit c {{\n  in a[{literal}];\n  out y;\n  y = a[0];\n}}"
    check(error(src), src, f"malformed integer `{literal}`", at(src, literal), hint="decimal.*binary.*hex")


def test_malformed_integer_in_a_signal_expression():
    src = "circuit c {\n  in a;\n  out y;\n  y = a & 0b2;\n}"
    check(error(src), src, "malformed integer `0b2`", at(src, "0b2"))


def test_fraction_outside_weights():
    src = "circuit c {\n  in a[1.5];\n  out y;\n  y = a[0];\n}"
    err = error(src)
    assert err.diagnostics[0].span.line == 2


def test_syntax_error_in_an_included_file_names_that_file(tmp_path):
    (tmp_path / "lib.circ").write_text("circuit bad {\n  in a\n  out y;\n}\n")
    src = 'include "lib.circ";\n'
    err = error(src, base_dir=tmp_path)
    d = err.diagnostics[0]
    assert d.span.file.endswith("lib.circ") and (d.span.line, d.span.column) == (2, 7)
    assert "missing `;`" in d.message
    assert "  in a" in str(err)


@pytest.mark.parametrize("before", [0, 30, 45_000, 89_990])
def test_a_long_line_is_quoted_around_the_caret(before):
    """A generated file may put a whole circuit on one line: the report quotes SHOWN_COLUMNS of
    it around the mistake, marked `…` where cut, with the caret still under the bad token."""
    from circuitc.errors import SHOWN_COLUMNS

    terms = 22_500  # " & a" each: a 90 KB line
    src = "circuit c { in a; out y; y = a" + " & a" * (before // 4) + " & zz" + \
        " & a" * (terms - before // 4) + "; }\n"
    err = error(src)
    d = err.diagnostics[0]
    assert d.message == "unknown signal `zz`"
    col = src.index("zz") + 1
    assert (d.span.line, d.span.column) == (1, col)
    quoted, caret = str(err).splitlines()[1:3]
    assert len(quoted) <= len("    1 | ") + SHOWN_COLUMNS + 2
    assert quoted.startswith("    1 | " + ("…" if col > 41 else "circuit c"))
    assert quoted.endswith("…" if len(src) - col > 60 else "; }")
    assert quoted[caret.index("^"):].startswith("zz") and caret.endswith("^~")


# --------------------------------------------------------------------------------------------
# names

def test_unknown_signal_with_did_you_mean():
    src = "circuit c {\n  in a, b;\n  out carry;\n  carry = a & b;\n  wire t;\n  t = cary;\n}"
    check(error(src), src, "unknown signal `cary`", at(src, "cary;"), hint="did you mean `carry`\\?")


def test_unknown_signal_without_a_close_name():
    src = "circuit c {\n  in a;\n  out y;\n  y = a & zzz;\n}"
    d = check(error(src), src, "unknown signal `zzz`", at(src, "zzz"))
    assert d.hint is None or "zzz" not in d.hint


def test_misspelt_assignment_target_gets_did_you_mean():
    src = "circuit c {\n  in a, b;\n  out carry;\n  cary = a & b;\n}"
    err = error(src)
    assert any(d.hint and "cary" in d.hint or "cary" in d.message for d in err.diagnostics), str(err)


def test_unknown_circuit_with_did_you_mean():
    src = "circuit adder { in a; out y; y = a; }\ncircuit c {\n  in a;\n  out y;\n  y = addr(a);\n}"
    check(error(src), src, "unknown circuit `addr`", at(src, "addr("), hint="did you mean `adder`")


def test_unknown_circuit_in_a_network():
    src = "circuit adder { in a; out y; y = a; }\nnetwork n {\n  use addr * 2;\n  active = 1;\n}"
    check(error(src), src, "unknown circuit `addr`", at(src, "addr"), hint="did you mean `adder`")


def test_undeclared_indexed_target():
    src = "circuit c {\n  in a;\n  out y;\n  q[0] = a;\n  y = a;\n}"
    check(error(src), src, "`q` is not declared", at(src, "q[0]"), hint="wire q")


def test_unknown_gate_in_upper_case():
    src = "circuit c {\n  in a, b;\n  out y;\n  y = AND(a, b);\n}"
    check(error(src), src, "unknown gate `AND`", at(src, "AND"), hint="lower case")


def test_unknown_feature_set():
    src = "features f[4] { active = 1; }\ncircuit g over ff {\n  out y;\n  y = 1;\n}"
    check(error(src), src, "unknown feature set `ff`", (2, 1))


def test_unknown_integer_function():
    src = "circuit c {\n  in a[lg2(8)];\n  out y;\n  y = a[0];\n}"
    check(error(src), src, "unknown integer function `lg2`", at(src, "lg2"), hint="did you mean `log2`")


def test_unknown_integer_name():
    src = "param WIDTH = 4;\ncircuit c {\n  in a[WIDHT];\n  out y;\n  y = a[0];\n}"
    check(error(src), src, "unknown integer name `WIDHT`", at(src, "WIDHT"), hint="did you mean `WIDTH`")


def test_unknown_output_of_an_instance():
    src = FA + "circuit c {\n  in a;\n  out y;\n  y = fa(a, a, a).carry;\n}"
    check(error(src), src, "`fa` has no output `carry`", at(src, "fa(a, a, a)"), hint="cout|outputs: s, cout")


# --------------------------------------------------------------------------------------------
# declarations and assignments

def test_signal_declared_twice():
    src = "circuit c {\n  in a;\n  out y;\n  wire a;\n  y = a;\n}"
    check(error(src), src, "`a` is declared twice", at(src, "a;", occurrence=2), hint=f"first declared at {FILE}:2:6")


def test_circuit_defined_twice():
    src = "circuit c { in a; out y; y = a; }\ncircuit c { in a; out y; y = ~a; }\n"
    check(error(src), src, "`c` is defined twice", (2, 1), hint=f"first defined at {FILE}:1:1")


def test_feature_set_and_circuit_share_one_namespace():
    src = "features f[4] { active = 1; }\ncircuit f { in a; out y; y = a; }\n"
    check(error(src), src, "`f` is defined twice", (2, 1))


def test_global_parameter_defined_twice():
    src = "param P = 1;\nparam P = 2;\n"
    check(error(src), src, "parameter `P` is defined twice", (2, 1))


def test_assigned_twice():
    src = "circuit c {\n  in a, b;\n  out y;\n  y = a;\n  y = b;\n}"
    check(error(src), src, "`y` is assigned twice", (5, 3), hint=f"first assigned at {FILE}:4:3")


def test_bit_assigned_twice_through_a_slice():
    src = "circuit c {\n  in a[4];\n  out y[4];\n  y[0:3] = a[0:3];\n  y[2:4] = a[2:4];\n}"
    check(error(src), src, r"`y\[2\]` is assigned twice", (5, 3), hint="first assigned at t.circ:4:3", only=False)


def test_assigned_twice_in_a_loop_is_reported_once():
    src = "circuit c {\n  in a;\n  out y;\n  for i in 0..5 {\n    y = a;\n  }\n}"
    check(error(src), src, "`y` is assigned twice", (5, 5))


def test_assigning_an_input():
    src = "circuit c {\n  in a;\n  out y;\n  a = 1;\n  y = a;\n}"
    check(error(src), src, "cannot assign to input `a`", (4, 3), hint="driven from outside")


def test_assigning_an_integer_parameter():
    src = "circuit c {\n  in a;\n  out y;\n  param K = 1;\n  K = a;\n  y = a;\n}"
    check(error(src), src, "`K` is an integer parameter and cannot be assigned", (5, 3))


def test_output_never_assigned():
    src = "circuit c {\n  in a;\n  out y, z;\n  y = a;\n}"
    check(error(src), src, "output `z` is never assigned", at(src, "z;"))


def test_some_bits_of_an_output_never_assigned():
    src = "circuit c {\n  in a;\n  out y[4];\n  y[0] = a;\n  y[2] = a;\n}"
    check(error(src), src, r"bits \[1\], \[3\] of output `y` are never assigned", at(src, "y[4]"))


def test_wire_read_but_never_assigned():
    src = "circuit c {\n  in a;\n  out y;\n  wire w[3];\n  y = w[1] & a;\n}"
    check(error(src), src, r"bit \[1\] of `w` is read but never assigned", at(src, "w[1]"),
          hint=f"declared at {FILE}:4:8")


def test_builtin_name_for_a_circuit():
    src = "circuit xor { in a; out y; y = a; }"
    check(error(src), src, "`xor` is a builtin gate", (1, 1))


def test_loop_variable_hiding_a_signal():
    src = "circuit c {\n  in a[2];\n  out y;\n  for a in 0..2 { }\n  y = 1;\n}"
    check(error(src), src, "loop variable `a` hides the signal", (4, 3))


def test_param_redefined_in_one_scope():
    src = "circuit c {\n  in a;\n  out y;\n  param K = 1;\n  param K = 2;\n  y = a;\n}"
    check(error(src), src, "`K` is already defined", (5, 3))


def test_signal_and_parameter_with_the_same_name():
    src = "circuit c<N=2> {\n  in a;\n  out y;\n  wire N;\n  y = a;\n}"
    check(error(src), src, "`N` is a parameter; a signal cannot have the same name", at(src, "N;"))


def test_over_circuit_with_its_own_inputs():
    src = "features f[4] { active = 1; }\ncircuit g over f {\n  in a;\n  out y;\n  y = f[0];\n}"
    check(error(src), src, "only input", (3, 3), hint="f\\[i\\]")


# --------------------------------------------------------------------------------------------
# widths

def test_operand_width_mismatch():
    src = "circuit c {\n  in a[2], b[3];\n  out y[3];\n  y = a & b;\n}"
    check(error(src), src, "width mismatch in `&`: operands have 2, 3 bits", at(src, "a & b"), hint="equal widths")


def test_ternary_width_mismatch():
    src = "circuit c {\n  in s, a[2], b[3];\n  out y[3];\n  y = s ? a : b;\n}"
    check(error(src), src, "width mismatch in `\\?:`", at(src, "s ? a"))


def test_ternary_condition_must_be_one_bit():
    src = "circuit c {\n  in a[2], b, d;\n  out y;\n  y = a ? b : d;\n}"
    check(error(src), src, "condition of `\\?:` must be one bit, got 2", at(src, "a ?"))


def test_assignment_width_mismatch():
    src = "circuit c {\n  in a[2];\n  out y[3];\n  y = a;\n}"
    check(error(src), src, "width mismatch: `y` has 3 bits, the value has 2", (4, 3))


def test_assignment_width_mismatch_of_a_gate_result():
    src = "circuit c {\n  in a[2], b[2];\n  out y[3];\n  y = a ^ b;\n}"
    check(error(src), src, "width mismatch: `y` has 3 bits, the value has 2", (4, 3))


def test_instance_port_width_mismatch():
    src = FA + "circuit c {\n  in a[2], b;\n  out y;\n  y = fa(a, b, b).s;\n}"
    check(error(src), src, "input `a` of `fa` takes 1 bit, got 2", at(src, "a, b, b"))


def test_tuple_target_width_mismatch():
    src = FA + "circuit c {\n  in a;\n  out y[2], z;\n  (y, z) = fa(a, a, a);\n}"
    check(error(src), src, "output `s` of `fa` has 1 bit, its target has 2", at(src, "(y, z)"))


def test_indexing_a_scalar():
    src = "circuit c {\n  in a;\n  out y;\n  y = a[0];\n}"
    check(error(src), src, "`a` is a single bit and cannot be indexed", at(src, "a[0]"))


def test_constant_other_than_0_or_1():
    src = "circuit c {\n  in a;\n  out y;\n  y = a & 2;\n}"
    check(error(src), src, "a signal constant is 0 or 1, got 2", at(src, "2;"), hint="bit\\(K, i\\)")


# --------------------------------------------------------------------------------------------
# arity

def test_too_many_instance_inputs():
    src = FA + "circuit c {\n  in a, b;\n  out y;\n  y = fa(a, b, b, a).s;\n}"
    check(error(src), src, r"`fa` takes 3 inputs \(a, b, cin\), got 4", at(src, "fa(a, b, b, a)"))


def test_missing_instance_input():
    src = FA + "circuit c {\n  in a, b;\n  out y;\n  y = fa(a, b).s;\n}"
    check(error(src), src, "missing input `cin` of `fa`", at(src, "fa(a, b)"), expected="3 inputs: a, b, cin")


def test_unknown_keyword_input():
    src = FA + "circuit c {\n  in a, b;\n  out y;\n  y = fa(a, b, cn=b).s;\n}"
    err = error(src)
    check(err, src, "`fa` has no input `cn`", at(src, "cn=b"), hint="did you mean `cin`", only=False)


def test_keyword_input_given_twice():
    src = FA + "circuit c {\n  in a, b;\n  out y;\n  y = fa(a, b, b, a=b).s;\n}"
    check(error(src), src, "input `a` of `fa` is given twice", at(src, "a=b"))


def test_not_takes_one_argument():
    src = "circuit c {\n  in a, b;\n  out y;\n  y = not(a, b);\n}"
    check(error(src), src, "`not` takes one argument, got 2", at(src, "not("), hint="inverts every bit")


@pytest.mark.parametrize("args", ["a, b", "a, b, c, d", "v"])
def test_maj_needs_an_odd_count(args):
    src = f"circuit c {{\n  in a, b, c, d, v[2];\n  out y;\n  y = maj({args});\n}}"
    check(error(src), src, "`maj` needs an odd number of input bits", at(src, "maj("), hint="tie")


def test_builtin_takes_no_parameters_or_keywords():
    src = "circuit c {\n  in a, b;\n  out y, z;\n  y = and<2>(a, b);\n  z = or(x=a, b);\n}"
    err = error(src)
    check(err, src, "builtin gate `and` takes no parameters", at(src, "and<2>"), only=False)
    check(err, src, "builtin gate `or` takes positional arguments only", at(src, "or(x"), only=False)


def test_multi_output_instance_used_as_an_expression():
    src = FA + "circuit c {\n  in a, b;\n  out y;\n  y = fa(a, b, a);\n}"
    check(error(src), src, r"`fa` has 2 outputs \(s, cout\); say which", at(src, "fa(a, b, a)"),
          hint=r"fa\(\.\.\.\)\.s")


def test_tuple_assignment_with_the_wrong_count():
    src = FA + "circuit c {\n  in a;\n  out y;\n  (y) = fa(a, a, a);\n}"
    check(error(src), src, r"`fa` has 2 outputs \(s, cout\), but 1 targets are given", at(src, "(y)"))


def test_tuple_assignment_of_a_builtin():
    src = "circuit c {\n  in a;\n  out y, z;\n  (y, z) = and(a, a);\n}"
    check(error(src), src, "only a circuit instance can be assigned to several targets", at(src, "and("))


def test_too_many_parameters():
    src = "circuit t<K=1> { in a; out y; y = a; }\nnetwork n {\n  use t<1, 2> * 2;\n  active = 1;\n}"
    check(error(src), src, "`t` takes 1 parameter, got 2", at(src, "t<1"), expected="<K>")


def test_unknown_parameter():
    src = "circuit t<K=1> { in a; out y; y = a; }\nnetwork n {\n  use t<J=2> * 2;\n  active = 1;\n}"
    check(error(src), src, "`t` has no parameter `J`", at(src, "J=2"), hint="K")


def test_missing_parameter_value():
    src = "circuit t<K> { in a; out y; y = a; }\nnetwork n {\n  use t * 2;\n  active = 1;\n}"
    check(error(src), src, "`t` needs a value for parameter `K`", at(src, "t * 2"), hint="t<K=")


def test_mlp_instantiated_in_a_boolean_circuit():
    src = "mlp m { in x; out y; layer relu { weights = [[1]]; } }\ncircuit c {\n  in a;\n  out y;\n  y = m(a);\n}"
    check(error(src), src, "`m` is an MLP circuit", at(src, "m(a)"))


# --------------------------------------------------------------------------------------------
# indices and integers

def test_index_out_of_range():
    src = "circuit c {\n  in a[4];\n  out y;\n  y = a[4];\n}"
    check(error(src), src, "index 4 is out of range for `a`", at(src, "a[4];", 2), expected="0 to 3")


def test_negative_index():
    src = "circuit c {\n  in a[4];\n  out y;\n  y = a[-1];\n}"
    check(error(src), src, "index -1 is out of range", at(src, "a[-1]"))


def test_slice_out_of_range():
    src = "circuit c {\n  in a[4];\n  out y[3];\n  y = a[2:5];\n}"
    check(error(src), src, r"slice \[2:5\] is out of range for `a`", at(src, "a[2:5]"), expected="hi <= 4")


def test_empty_slice():
    src = "circuit c {\n  in a[4];\n  out y[3];\n  y = a[3:3];\n}"
    check(error(src), src, r"slice \[3:3\] is out of range", at(src, "a[3:3]"))


def test_target_index_out_of_range():
    src = "circuit c {\n  in a;\n  out y[2];\n  y[0] = a;\n  y[2] = a;\n}"
    check(error(src), src, "index 2 is out of range for `y`", at(src, "y[2] ="), only=False)


def test_signal_used_as_an_integer():
    src = "circuit c {\n  in a[4], b;\n  out y;\n  y = a[b];\n}"
    check(error(src), src, "`b` is a signal; an integer is needed here", at(src, "b];"))


def test_signal_used_as_an_integer_is_an_error_at_its_use():
    src = "circuit c {\n  in a[4], b;\n  out y;\n  y = a[b];\n}"
    check(error(src), src, "`b`", at(src, "b];"))


def test_integer_used_as_a_signal():
    src = "circuit c {\n  in a;\n  out y;\n  param K = 5;\n  y = a & K;\n}"
    check(error(src), src, r"`K` is an integer \(5\), not a signal", at(src, "K;"), hint="bit\\(K, i\\)")


def test_loop_variable_used_as_a_signal():
    src = "circuit c {\n  in a;\n  out y[3];\n  for i in 0..3 { y[i] = a & i; }\n}"
    # i = 0 and i = 1 are the constants 0 and 1; i = 2 is not a bit
    check(error(src), src, r"`i` is an integer \(2\), not a signal", at(src, "i; }"))


def test_negative_bit_index():
    src = "circuit c {\n  out y;\n  y = bit(5, -1);\n}"
    check(error(src), src, "bit index -1 is negative", at(src, "-1"))


@pytest.mark.parametrize("width, value", [("-1", "-1"), ("0", "0"), ("3 - 5", "-2")])
def test_width_out_of_range(width, value):
    src = f"circuit c {{\n  in a[{width}];\n  out y;\n  y = 1;\n}}"
    check(error(src), src, f"the width of `a` must be between 1 and .*, got {value}", at(src, width + "]"))


def test_huge_loop():
    src = "circuit c {\n  in a;\n  out y;\n  for i in 0..100000000 { }\n  y = a;\n}"
    check(error(src), src, "loop over 100000000 values is too large", (4, 3), expected="at most")


def test_power_out_of_range():
    src = "circuit c {\n  in a[2 ** 100];\n  out y;\n  y = 1;\n}"
    check(error(src), src, r"2 \*\* 100 is out of range", at(src, "2 ** 100"))


def test_huge_literal():
    src = "circuit c {\n  in a[99999999999999999999999];\n  out y;\n  y = 1;\n}"
    check(error(src), src, "out of range", at(src, "9999"))


def test_product_out_of_range():
    src = "param A = 2 ** 40;\ncircuit c {\n  in a[A * A];\n  out y;\n  y = 1;\n}"
    check(error(src), src, "out of range", at(src, "A * A"))


@pytest.mark.parametrize("expr", ["4 / Z", "4 % Z"])
def test_division_by_zero(expr):
    src = f"param Z = 0;\ncircuit c {{\n  in a[{expr}];\n  out y;\n  y = 1;\n}}"
    check(error(src), src, "division by zero", at(src, expr))


def test_negative_exponent():
    src = "circuit c {\n  in a[2 ** -1];\n  out y;\n  y = a[0];\n}"
    check(error(src), src, "negative exponent -1", at(src, "2 **"), hint=">= 0")


def test_log_of_zero():
    src = "circuit c {\n  in a[log2(0)];\n  out y;\n  y = a[0];\n}"
    check(error(src), src, r"`log2\(0\)` is undefined", at(src, "log2"))


def test_integer_function_arity():
    src = "circuit c {\n  in a[abs(1, 2)];\n  out y;\n  y = a[0];\n}"
    check(error(src), src, "`abs` takes 1 argument, got 2", at(src, "abs"))


# --------------------------------------------------------------------------------------------
# cycles and recursion

def test_combinational_cycle_names_the_cycle():
    src = "circuit c {\n  in x;\n  out y;\n  wire a, b;\n  a = b & x;\n  b = a;\n  y = a;\n}"
    err = error(src)
    d = check(err, src, "cycle", at(src, "b & x"), hint="depend on itself")
    assert re.search(r"\ba -> b -> a\b|\bb -> a -> b\b", d.message), d.message


def test_self_loop():
    src = "circuit c {\n  in x;\n  out y;\n  y = y ^ x;\n}"
    d = check(error(src), src, "cycle", at(src, "y ^ x"))
    assert "y -> y" in d.message


def test_cycle_through_an_instance():
    src = FA + "circuit c {\n  in x;\n  out y;\n  wire t;\n  t = fa(x, y, x).s;\n  y = ~t;\n}"
    err = error(src)
    assert "cycle" in err.diagnostics[0].message
    assert re.search(r"\bt\b.*->.*\by\b|\by\b.*->.*\bt\b", err.diagnostics[0].message)


def test_unbounded_recursion_is_reported_once():
    src = ("circuit r<N> {\n  in x;\n  out y;\n  y = r<N - 1>(x);\n}\n"
           "circuit top {\n  in x;\n  out y;\n  y = r<3>(x);\n}\n")
    err = error(src)
    check(err, src, "nest deeper|recursi", at(src, "r<N - 1>"), hint="base case")
    assert len(str(err).splitlines()) < 10


def test_unbounded_branching_recursion_stays_small():
    src = ("circuit r<N> {\n  in x;\n  out y;\n  y = r<N - 1>(x) ^ r<N - 2>(x);\n}\n"
           "network n { use r<5> * 1; active = 1; }\n")
    err = error(src)
    assert 1 <= len(err.diagnostics) <= 2
    assert all("base case" in (d.hint or "") for d in err.diagnostics)


def test_direct_recursion_without_parameters():
    src = "circuit r {\n  in x;\n  out y;\n  y = r(x);\n}"
    check(error(src), src, "recursive instantiation: r -> r", at(src, "r(x)"), hint="base case")


# --------------------------------------------------------------------------------------------
# MLP circuits

def mlp(body: str, ins: str = "in x[2];", outs: str = "out y[2];") -> str:
    return f"mlp m {{\n  {ins}\n  {outs}\n{body}\n}}\n"


def test_mlp_wrong_input_dimension():
    src = mlp("  layer relu { weights = [[1, 2, 3], [4, 5, 6]]; }")
    check(error(src), src, r"layer 1: weights of shape \(2, 3\) take 3 inputs, but the inputs give 2",
          at(src, "weights"), expected=r"shape \(2, 2\)")


def test_mlp_wrong_input_dimension_of_a_later_layer():
    src = mlp("  layer relu { weights = [[1, 2], [3, 4], [5, 6]]; }\n  layer linear { weights = [[1, 2]]; }")
    check(error(src), src, "layer 2: .* take 2 inputs, but the layer before gives 3", at(src, "weights", 2))


def test_mlp_wrong_output_dimension():
    src = mlp("  layer relu { weights = [[1, 2]]; }")
    check(error(src), src, "the last layer of `m` gives 1 value, but 2 outputs are declared", at(src, "layer"))


def test_mlp_ragged_array():
    src = mlp("  layer relu { weights = [[1, 2], [3]]; }")
    check(error(src), src, "ragged array", at(src, "[[1"), hint="same number of values")


def test_mlp_bias_shape():
    src = mlp("  layer relu { weights = [[1, 2], [3, 4]]; bias = [1, 2, 3]; }")
    check(error(src), src, r"layer 1: bias of shape \(3,\) does not match 2 outputs", at(src, "bias"),
          expected=r"shape \(2,\)")


def test_mlp_weights_not_a_matrix():
    src = mlp("  layer relu { weights = [1, 2]; }")
    check(error(src), src, "weights must be a matrix", at(src, "weights"), hint="one row per output")


def test_mlp_unknown_activation():
    src = mlp("  layer rleu { weights = [[1, 2], [3, 4]]; }")
    check(error(src), src, "unknown activation `rleu`", at(src, "layer"), hint="did you mean `relu`",
          expected="`relu` or `linear`")


def test_mlp_missing_weights():
    src = mlp("  layer relu { bias = [1, 2]; }")
    check(error(src), src, "layer 1 has no weights", at(src, "layer"), hint="weights =")


def test_mlp_unknown_field():
    src = mlp("  layer relu { weight = [[1, 2], [3, 4]]; }")
    check(error(src), src, "unknown layer field `weight`", at(src, "weight"), hint="did you mean `weights`",
          only=False)


def test_mlp_field_given_twice():
    src = mlp("  layer relu { weights = [[1, 2], [3, 4]]; weights = [[1, 2], [3, 4]]; }")
    check(error(src), src, "`weights` is given twice", at(src, "weights", 2))


def test_mlp_without_inputs():
    src = "mlp m {\n  out y;\n  layer relu { weights = [[1]]; }\n}\n"
    check(error(src), src, "mlp `m` declares no inputs", (1, 1), hint="in x", only=False)


def test_mlp_without_outputs():
    src = "mlp m {\n  in x;\n  layer relu { weights = [[1]]; }\n}\n"
    check(error(src), src, "mlp `m` declares no outputs", (1, 1), hint="out y", only=False)


def test_mlp_without_layers():
    src = "mlp m {\n  in x;\n  out y;\n}\n"
    check(error(src), src, "mlp `m` has no layers", (1, 1), hint="layer relu")


def test_different_problems_at_one_place_are_all_reported():
    src = "mlp m {\n}\n"
    messages = " | ".join(d.message for d in error(src).diagnostics)
    assert "no inputs" in messages and "no outputs" in messages and "no layers" in messages


def test_empty_network_reports_both_problems():
    src = "network n {\n}"
    messages = " | ".join(d.message for d in error(src).diagnostics)
    assert "uses no circuits" in messages and "sparsity promise" in messages


def test_circuit_without_outputs():
    src = "circuit c {\n  in a;\n}"
    check(error(src), src, "circuit `c` has no outputs", (1, 1), hint="out y")


def test_mlp_empty_array():
    src = mlp("  layer relu { weights = []; }")
    err = error(src)
    # the field or its value: both point at the offending text
    where = at(src, "[]") if err.diagnostics[0].span.column == at(src, "[]")[1] else at(src, "weights")
    check(err, src, "empty array", where)


def test_mlp_has_no_wires():
    src = mlp("  wire w;\n  layer relu { weights = [[1, 2], [3, 4]]; }")
    check(error(src), src, "unexpected `?wire`?", at(src, "wire"))


# --------------------------------------------------------------------------------------------
# weight files

def load_src(call: str) -> str:
    return mlp(f"  layer relu {{ weights = {call}; }}")


_UNPICKLED: list[bool] = []


def _record_unpickling():
    _UNPICKLED.append(True)
    return 0


class _Trap:
    """Unpickling an array holding this object calls _record_unpickling."""

    def __reduce__(self):
        return (_record_unpickling, ())


def test_weight_file_missing(tmp_path):
    src = load_src('load("nope.npy")')
    check(error(src, tmp_path), src, "weight file .*nope.npy.* does not exist", at(src, "load"),
          hint="relative to the directory")


def test_weight_file_unsupported_suffix(tmp_path):
    (tmp_path / "w.txt").write_text("1 2\n3 4\n")
    src = load_src('load("w.txt")')
    check(error(src, tmp_path), src, "unsupported file type `.txt`", at(src, "load"), hint=".npy or .safetensors")


def test_weight_file_is_a_directory(tmp_path):
    (tmp_path / "d.npy").mkdir()
    src = load_src('load("d.npy")')
    check(error(src, tmp_path), src, "cannot read weight file", at(src, "load"))


def test_pickled_object_array_is_refused_without_unpickling(tmp_path):
    path = tmp_path / "obj.npy"
    np.save(path, np.array([_Trap(), _Trap()], dtype=object), allow_pickle=True)
    # the trap works: loading with pickles allowed runs it
    np.load(path, allow_pickle=True)
    assert _UNPICKLED == [True, True]
    _UNPICKLED.clear()
    src = load_src('load("obj.npy")')
    check(error(src, tmp_path), src, "holds Python objects", at(src, "load"), hint="numeric array")
    assert _UNPICKLED == []


def test_truncated_npy_file(tmp_path):
    np.save(tmp_path / "w.npy", np.ones((2, 2)))
    data = (tmp_path / "w.npy").read_bytes()
    (tmp_path / "w.npy").write_bytes(data[:-5])
    src = load_src('load("w.npy")')
    check(error(src, tmp_path), src, "`w.npy` is not a valid .npy file", at(src, "load"))


def test_empty_npy_file(tmp_path):
    (tmp_path / "w.npy").write_bytes(b"")
    src = load_src('load("w.npy")')
    check(error(src, tmp_path), src, "not a valid .npy file", at(src, "load"))


def test_corrupt_npy_file(tmp_path):
    (tmp_path / "w.npy").write_bytes(b"this is not an npy file at all")
    src = load_src('load("w.npy")')
    check(error(src, tmp_path), src, "`w.npy` is not a valid .npy file", at(src, "load"))


def test_corrupt_npy_file_is_a_circuit_error(tmp_path):
    (tmp_path / "w.npy").write_bytes(b"this is not an npy file at all")
    src = load_src('load("w.npy")')
    check(error(src, tmp_path), src, "w.npy", at(src, "load"))


def test_corrupt_safetensors_file(tmp_path):
    (tmp_path / "w.safetensors").write_bytes(b"garbage")
    src = load_src('load("w.safetensors")')
    check(error(src, tmp_path), src, "`w.safetensors` is not a valid .safetensors file", at(src, "load"))


def test_safetensors_with_several_tensors_and_no_key(tmp_path):
    from safetensors.numpy import save_file

    save_file({"w1": np.ones((2, 2)), "b1": np.zeros(2)}, str(tmp_path / "m.safetensors"))
    src = load_src('load("m.safetensors")')
    check(error(src, tmp_path), src, "holds 2 tensors; name the one to load", at(src, "load"),
          hint='load\\("m.safetensors", "KEY"\\) with KEY one of: b1, w1')


def test_safetensors_unknown_key(tmp_path):
    from safetensors.numpy import save_file

    save_file({"layer0.weight": np.ones((2, 2)), "layer0.bias": np.zeros(2)}, str(tmp_path / "m.safetensors"))
    src = load_src('load("m.safetensors", "layer0.weights")')
    check(error(src, tmp_path), src, "has no tensor `layer0.weights`", at(src, "load"),
          hint="did you mean `layer0.weight`")


def test_key_for_an_npy_file(tmp_path):
    np.save(tmp_path / "w.npy", np.ones((2, 2)))
    src = load_src('load("w.npy", "k")')
    check(error(src, tmp_path), src, "holds one array; a key is only for .safetensors", at(src, "load"))


@pytest.mark.parametrize("array, words", [
    (np.array([["a", "b"], ["c", "d"]]), "weights must be numbers"),
    (np.array([[1 + 2j, 1], [1, 1]]), "weights must be numbers"),
    (np.array([[np.nan, 1.0], [1.0, 1.0]]), "NaN or infinite"),
    (np.array([[np.inf, 1.0], [1.0, 1.0]]), "NaN or infinite"),
])
def test_weight_file_with_non_numbers(tmp_path, array, words):
    np.save(tmp_path / "w.npy", array)
    src = load_src('load("w.npy")')
    check(error(src, tmp_path), src, words, at(src, "load"))


def test_weight_file_with_the_wrong_shape(tmp_path):
    np.save(tmp_path / "w.npy", np.ones((3, 5)))
    src = load_src('load("w.npy")')
    check(error(src, tmp_path), src, r"weights of shape \(3, 5\) take 5 inputs", at(src, "weights"))


# --------------------------------------------------------------------------------------------
# includes

def test_include_missing(tmp_path):
    src = 'include "nope.circ";\ncircuit c { in a; out y; y = a; }\n'
    check(error(src, tmp_path), src, "cannot find `.*nope.circ`", (1, 1), hint="looked for .*nope.circ")


def test_include_missing_netlist(tmp_path):
    src = 'include "nope.bench";\n'
    check(error(src, tmp_path), src, "cannot find `.*nope.bench`", (1, 1))


def test_include_directory(tmp_path):
    (tmp_path / "d.circ").mkdir()
    src = 'include "d.circ";\n'
    check(error(src, tmp_path), src, "directory", (1, 1))


def test_recursive_include_names_the_chain(tmp_path):
    (tmp_path / "a.circ").write_text('include "b.circ";\ncircuit a1 { in x; out y; y = x; }\n')
    (tmp_path / "b.circ").write_text('# b includes a\ninclude "a.circ";\n')
    with pytest.raises(CircuitError) as info:
        load_spec(tmp_path / "a.circ")
    err = info.value
    assert type(err) is CircuitError and len(err.diagnostics) == 1
    d = err.diagnostics[0]
    assert re.search(r"recursive include: \S*a\.circ -> \S*b\.circ -> \S*a\.circ", d.message), d.message
    assert d.span.file.endswith("b.circ") and (d.span.line, d.span.column) == (2, 1)
    assert 'include "a.circ";' in str(err) and "^" in str(err)
    assert "itself" in d.hint


def test_file_including_itself(tmp_path):
    (tmp_path / "self.circ").write_text('include "self.circ";\n')
    with pytest.raises(CircuitError, match=r"recursive include: \S*self\.circ -> \S*self\.circ"):
        load_spec(tmp_path / "self.circ")


def test_include_cycle_reached_from_parse(tmp_path):
    (tmp_path / "a.circ").write_text('include "b.circ";\n')
    (tmp_path / "b.circ").write_text('include "a.circ";\n')
    err = error('include "a.circ";\n', tmp_path)
    assert "recursive include" in err.diagnostics[0].message


def test_error_in_an_included_file_quotes_that_file(tmp_path):
    (tmp_path / "lib.circ").write_text("circuit bad {\n  in a;\n  out y;\n  y = a & zz;\n}\n")
    src = 'include "lib.circ";\ncircuit c { in a; out y; y = q; }\n'
    err = error(src, tmp_path)
    files = {Path(d.span.file).name for d in err.diagnostics}
    assert files == {"lib.circ", FILE}
    assert "  y = a & zz;" in str(err) and "unknown signal `zz`" in str(err)


def test_missing_file_for_load_spec(tmp_path):
    with pytest.raises(CircuitError, match="cannot find"):
        load_spec(tmp_path / "nope.circ")
    with pytest.raises(CircuitError, match="nope.bench"):
        load_spec(tmp_path / "nope.bench")


def test_non_utf8_source(tmp_path):
    (tmp_path / "bad.circ").write_bytes(b"circuit c { in \xff; }")
    with pytest.raises(CircuitError, match="not UTF-8"):
        load_spec(tmp_path / "bad.circ")


# --------------------------------------------------------------------------------------------
# feature sets and networks

NET = "circuit a { in x; out y; y = x; }\n"


@pytest.mark.parametrize("value, shown", [("4", "4"), ("0", "0"), ("-1", "-1")])
def test_network_active_out_of_range(value, shown):
    src = NET + f"network n {{\n  use a * 3;\n  active = {value};\n}}"
    check(error(src), src, f"`active` .*T = 3.* must be between 1 and 3, got {shown}", at(src, value + ";"))


def test_redundancy_above_width():
    src = NET + "network n {\n  use a * 3;\n  active = 1;\n  width = 16;\n  redundancy = 17;\n}"
    check(error(src), src, "`redundancy` .* must be between 1 and 16, got 17", at(src, "17"))


def test_redundancy_above_default_width():
    src = NET + "network n {\n  use a * 3;\n  active = 1;\n  redundancy = 5000;\n}"
    check(error(src), src, "must be between 1 and 4096, got 5000", at(src, "5000"))


def test_instance_count_out_of_range():
    src = NET + "network n {\n  use a * 0;\n  active = 1;\n}"
    check(error(src), src, "instance count must be between 1 and", at(src, "0;"))


def test_unknown_allocation_with_did_you_mean():
    src = NET + 'network n {\n  use a * 3;\n  active = 1;\n  allocation = "afine";\n}'
    check(error(src), src, "unknown allocation 'afine'", (5, 3), hint="did you mean `affine`",
          expected='"auto", "prime-step", "affine"')


def test_allocation_must_be_a_string():
    src = NET + "network n {\n  use a * 3;\n  active = 1;\n  allocation = 3;\n}"
    check(error(src), src, "`allocation` takes a quoted strategy name", (5, 3))


def test_integer_knob_given_a_string():
    src = NET + 'network n {\n  use a * 3;\n  active = "all";\n}'
    check(error(src), src, "`active` .* takes an integer, not a string", (4, 3))


@pytest.mark.parametrize("kind, src, name, suggestion", [
    ("network", NET + "network n {\n  use a * 3;\n  active = 1;\n  widht = 64;\n}", "widht", "width"),
    ("network", NET + "network n {\n  use a * 3;\n  actve = 1;\n  active = 1;\n}", "actve", "active"),
    ("feature set", "features f[10] {\n  active = 1;\n  embd = 4;\n}", "embd", "embed"),
])
def test_unknown_knob_with_did_you_mean(kind, src, name, suggestion):
    check(error(src), src, f"unknown {kind} setting `{name}`", at(src, name), hint=f"did you mean `{suggestion}`")


def test_network_missing_active():
    src = NET + "network n {\n  use a * 3;\n}"
    check(error(src), src, "network `n` needs its sparsity promise", (2, 1), hint="active = Z")


def test_feature_set_missing_active():
    src = "features f[10] {\n  seed = 1;\n}"
    check(error(src), src, "feature set `f` needs its sparsity promise", (1, 1), hint="active = S")


def test_knob_set_twice():
    src = NET + "network n {\n  use a * 3;\n  active = 1;\n  active = 2;\n}"
    check(error(src), src, "`active` is set twice", (5, 3), hint=f"first set at {FILE}:4:3")


def test_feature_active_out_of_range():
    src = "features f[10] {\n  active = 11;\n}"
    check(error(src), src, "`active` .* must be between 1 and 10, got 11", at(src, "11"))


def test_feature_size_out_of_range():
    src = "features f[0] {\n  active = 1;\n}"
    check(error(src), src, "number of features of `f` must be between 1", at(src, "0]"))


def test_network_without_circuits():
    src = "network n {\n  active = 1;\n}"
    check(error(src), src, "network `n` uses no circuits", (1, 1), hint="use CIRCUIT")


def test_circuit_used_twice_in_a_network():
    src = NET + "network n {\n  use a * 1;\n  use a * 2;\n  active = 1;\n}"
    check(error(src), src, "`a` is used twice in network `n`", (4, 3), hint="first used at")


def test_feature_circuit_in_a_network():
    src = ("features f[4] { active = 1; }\ncircuit g over f { out y; y = f[0]; }\n"
           "network n {\n  use g * 1;\n  active = 1;\n}")
    check(error(src), src, "computes over feature set `f`", (4, 3))


def test_feature_set_used_as_a_circuit():
    src = "features f[4] { active = 1; }\nnetwork n {\n  use f * 1;\n  active = 1;\n}"
    check(error(src), src, "`f` is a feature set, not a circuit", at(src, "f * 1"))


def test_network_of_a_broken_circuit_reports_only_the_circuit():
    src = "circuit c {\n  in a;\n  out y;\n  y = a & q;\n}\nnetwork n {\n  use c * 4;\n  active = 2;\n}"
    check(error(src), src, "unknown signal `q`", at(src, "q;"))


# --------------------------------------------------------------------------------------------
# several problems at once

def test_independent_problems_are_all_reported():
    src = ("circuit c {\n  in a[4], b;\n  out y, z;\n  y = a[7];\n  z = b & q;\n}\n"
           "circuit d {\n  in a;\n  out y;\n  y = not(a, a);\n}\n"
           "mlp m {\n  in x;\n  out y;\n  layer rleu { weights = [[1]]; }\n}\n"
           "features f[4] {\n  active = 9;\n}\n")
    err = error(src)
    where = {(d.span.line, d.span.column) for d in err.diagnostics}
    assert {at(src, "a[7]"), at(src, "q;"), at(src, "not("), at(src, "layer"), at(src, "9;")} <= where
    check(err, src, "index 7 is out of range", at(src, "a[7]"), only=False)
    check(err, src, "unknown signal `q`", at(src, "q;"), only=False)
    check(err, src, "`not` takes one argument", at(src, "not("), only=False)
    check(err, src, "unknown activation `rleu`", at(src, "layer"), only=False)
    check(err, src, "`active`", at(src, "9;"), only=False)
    assert str(err).rstrip().endswith(f"{len(err.diagnostics)} errors")


def test_problems_in_one_circuit_are_all_reported():
    src = "circuit c {\n  in a[2];\n  out y, z, w;\n  y = a[5];\n  z = nope;\n  w = a & a[0:3];\n}"
    err = error(src)
    assert len(err.diagnostics) == 3, str(err)


def test_problem_repeated_in_a_loop_is_reported_once():
    src = "circuit c {\n  in a[4];\n  out y[4];\n  for i in 0..4 {\n    y[i] = a[i] & zz;\n  }\n}"
    check(error(src), src, "unknown signal `zz`", at(src, "zz"))


def test_index_error_repeated_in_a_loop_is_reported_once():
    src = "circuit c {\n  in a[4];\n  out y[4];\n  for i in 0..4 {\n    y[i] = a[i + 10];\n  }\n}"
    check(error(src), src, "index 10 is out of range", at(src, "a[i + 10]"))


def test_problem_in_a_template_used_several_times_is_reported_once():
    src = ("circuit t<K> {\n  in a;\n  out y;\n  y = a & nope;\n}\n"
           "circuit c {\n  in a;\n  out y[3];\n  y[0] = t<1>(a);\n  y[1] = t<2>(a);\n  y[2] = t<3>(a);\n}")
    check(error(src), src, "unknown signal `nope`", at(src, "nope"))


def test_many_problems_are_capped():
    body = "\n".join(f"  y{i} = q{i};" for i in range(80))
    outs = ", ".join(f"y{i}" for i in range(80))
    src = f"circuit c {{\n  in a;\n  out {outs};\n{body}\n}}"
    err = error(src)
    assert 50 <= len(err.diagnostics) <= 51
    assert "more error" in err.diagnostics[-1].message


def test_quoted_name_clashing_with_a_vector_bit():
    src = "circuit c {\n  in `a[0]`, a[2];\n  out y;\n  y = `a[0]` ^ a[0];\n}"
    err = error(src)
    d = err.diagnostics[0]
    assert "a[0]" in d.message
    assert d.span.line == 2 and d.source_line is not None


def test_diagnostic_fields():
    src = "circuit c {\n  in a, b;\n  out y;\n  y = a + b;\n}"
    d = error(src).diagnostics[0]
    assert d.severity == "error"
    assert d.source_line == "  y = a + b;"
    assert d.expected and "`&`" in d.expected
    assert str(d.span) == f"{FILE}:4:9"


def test_nested_loops_exhaust_the_elaboration_budget():
    # Each loop alone is within its bound; together they would run 10**14 times.
    src = ("circuit c {\n  in a;\n  out y;\n  for i in 0..10000000 {\n    for j in 0..10000000 { }\n  }\n"
           "  y = a;\n}")
    check(error(src), src, r"elaboration reached 2,000,001 steps .* above the limit of 2,000,000", (5, 5),
          hint="nested loops multiply")


def test_declared_bits_spend_the_budget_before_they_are_made():
    # Each vector is within the width limit; thirty of them made 30 million wires (a minute, 3.6 GB).
    decls = ", ".join(f"x{i}[1000000]" for i in range(30))
    src = f"circuit c {{\n  in {decls};\n  out y;\n  y = x0[0];\n}}"
    check(error(src), src, r"elaboration reached 3,000,000 steps .* above the limit of 2,000,000", at(src, "x2["),
          hint="`x2` has 1,000,000")


def test_an_instance_spends_a_step_per_port_bit_it_binds(small_budget):
    # `pass` spends 25 steps (16 declared bits, a queued assignment, 8 gates); `c` then 344
    # declared bits, 82 queued assignments, 40 loop iterations and the 8 gates of `w[0:8] = x`:
    # 459 in all. An instance of `pass` costs 25 (itself, 8 + 8 port bits, 8 gates), so the 22nd
    # passes 1,000. Counting only its gates (8 each), all 40 would fit.
    src = ("circuit pass {\n  in a[8];\n  out y[8];\n  y = a;\n}\n"
           "circuit c<N = 40> {\n  in x[8];\n  out y[8];\n  wire w[8 * (N + 1)];\n  w[0:8] = x;\n"
           "  for i in 0..N {\n    w[8 * i + 8 : 8 * i + 16] = pass(w[8 * i : 8 * i + 8]);\n  }\n"
           "  y = w[8 * N : 8 * N + 8];\n}")
    check(error(src), src, r"elaboration reached 1,009 steps", at(src, "pass(w"),
          hint="each instance of `pass` spends 25 steps: its 8 gates and 16 port bits")


@pytest.fixture
def small_budget(monkeypatch):
    import circuitc.frontend.elaborate as elaborate
    import circuitc.frontend.expand as expand
    monkeypatch.setattr(elaborate, "MAX_STEPS", 1000, raising=False)
    monkeypatch.setattr(expand, "MAX_STEPS", 1000, raising=False)


@pytest.mark.parametrize("body", ["", "y2 = a;"])
def test_elaboration_budget_counts_iterations_and_assignments(small_budget, body):
    src = (f"circuit c {{\n  in a;\n  out y;\n  for i in 0..40 {{\n    for j in 0..40 {{ {body} }}\n  }}\n"
           "  y = a;\n}")
    check(error(src), src, r"elaboration reached 1,001 steps .* above the limit of 1,000", (5, 5),
          hint="check the loop bounds")


def test_elaboration_budget_counts_gates(small_budget):
    # 900 declared bits and 2 queued assignments: the gates of `~a` pass 1,000 at the 99th.
    src = "circuit c {\n  in a[300];\n  out y[300], z[300];\n  y = ~a;\n  z = ~y;\n}"
    check(error(src), src, r"elaboration reached 1,001 steps", at(src, "~a"))
