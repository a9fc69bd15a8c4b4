"""Fuzzing the front ends: whatever the text, the result is a Spec or a CircuitError.

Random token soup and mutations (deleted, inserted, duplicated and swapped characters and
tokens) of real sources — the shared case table and the files in examples/ — go through
`circuitc.parse`, `parse_bench` and `parse_blif`. Any exception other than CircuitError fails,
and so does a CircuitError whose report cannot be rendered.

The default run is small and deterministic (`derandomize=True`); `-m slow` runs many more examples.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from cases import CASES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from circuitc import CircuitError, Spec, parse
from circuitc.frontend.importers.bench import parse_bench
from circuitc.frontend.importers.blif import parse_blif

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _fuzz_settings(n: int):
    return settings(max_examples=n, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much])


FAST = {"tokens": 300, "chars": 150, "circ": 400, "semantic": 200, "examples": 150, "bench": 150, "blif": 150}
SLOW = {k: v * 25 for k, v in FAST.items()}


# --------------------------------------------------------------------------------------------
# the property

def clean(fn, text: str, *args, **kwargs) -> Spec | None:
    """Run a front end; it must return a Spec or raise a CircuitError that renders."""
    try:
        result = fn(text, *args, **kwargs)
    except CircuitError as e:
        assert e.diagnostics
        report = str(e)
        assert isinstance(report, str) and report
        for d in e.diagnostics:
            assert isinstance(d.message, str) and d.message
            d.render()
            if d.span is not None:
                assert d.span.line >= 1 and d.span.column >= 1, d
        return None
    assert isinstance(result, Spec)
    return result


# --------------------------------------------------------------------------------------------
# sources and alphabets

CIRC_TOKENS = (
    "circuit", "mlp", "features", "network", "include", "param", "in", "out", "wire", "for", "if", "else",
    "over", "layer", "load", "use", "bit", "and", "or", "xor", "not", "nand", "nor", "xnor", "maj",
    "relu", "linear", "active", "width", "redundancy", "allocation", "seed", "embed", "weights", "bias",
    "min", "max", "abs", "log2", "clog2",
    "{", "}", "(", ")", "[", "]", "<", ">", ";", ",", "=", "?", ":", ".", "..", "&", "|", "^", "~",
    "+", "-", "*", "/", "%", "**", "==", "!=", "<=", ">=", "&&", "||", "!",
    "0", "1", "2", "7", "64", "0b101", "0x1f", "0b12", "1_000", "99999999999999999999", "-1", "1.5", ".5", "1e3",
    "a", "b", "c", "x", "y", "s", "N", "K", "i", "fa", "`22`", "`a b`", "`in`", '"w.npy"', '"lib.circ"',
    '"affine"', '"x.safetensors"', '"k"', '""', "#", "# note\n", "\n", " ", "\t",
)
CIRC_CHARS = "{}()[]<>;,=?:.&|^~+-*/%!#\"`'_0123456789abcxyzN \n\t\r\\@$é\x00"

BENCH_TOKENS = ("INPUT", "OUTPUT", "(", ")", "=", ",", "AND", "NAND", "OR", "NOR", "XOR", "XNOR", "NOT",
                "BUF", "BUFF", "DFF", "MUX", "1", "22", "a", "G1", "x.y", "#", "\n", " ", "\t")
BLIF_TOKENS = (".model", ".inputs", ".outputs", ".names", ".end", ".subckt", ".latch", ".exdc", ".gate",
               ".search", ".default_input_arrival", "\\\n", "-", "0", "1", "01", "1-", "--1", "=", "a", "b", "y",
               "m", "#", "\n", " ", "\t")

MLP_FILES = """
mlp m {
  in x[2];
  out y;
  layer relu { weights = load("w.npy"); bias = load("b.safetensors", "b"); }
  layer linear { weights = [[1, -1.5]]; }
}
circuit top { in a, b; out y; y = lib(a, b); }
include "lib.circ";
"""

CIRC_SOURCES = tuple(c.source for c in CASES) + (MLP_FILES,)


def _example_texts(*suffixes: str) -> tuple[tuple[str, str], ...]:
    if not EXAMPLES.is_dir():
        return ()
    out = []
    for path in sorted(EXAMPLES.iterdir()):
        if path.suffix in suffixes and path.is_file():
            try:
                out.append((path.name, path.read_text("utf-8")))
            except (OSError, UnicodeDecodeError):
                continue
    return tuple(out)


EXAMPLE_CIRC = _example_texts(".circ")
EXAMPLE_BENCH = _example_texts(".bench") or (("c17.bench", "INPUT(1)\nINPUT(2)\nOUTPUT(3)\n3 = NAND(1, 2)\n"),)
EXAMPLE_BLIF = _example_texts(".blif") or (
    ("and.blif", ".model and2\n.inputs a b\n.outputs y\n.names a b y\n11 1\n.end\n"),)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """A directory with the files mutated sources may include or load."""
    from safetensors.numpy import save_file

    d = tmp_path_factory.mktemp("fuzz")
    np.save(d / "w.npy", np.array([[1.0, 2.0], [0.5, -1.0]]))
    save_file({"b": np.array([0.0, 1.0]), "w": np.ones((2, 2))}, str(d / "b.safetensors"))
    (d / "lib.circ").write_text("circuit lib { in a, b; out y; y = a ^ b; }\n")
    return d


# --------------------------------------------------------------------------------------------
# strategies

_TOKEN_RE = re.compile(r"\s+|[A-Za-z_][A-Za-z0-9_]*|[0-9][0-9A-Za-z_.]*|\.\.|\*\*|[=!<>]=|&&|\|\||"
                       r"`[^`\n]*`|\"[^\"\n]*\"|.",
                       re.S)


_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER = re.compile(r"[0-9][0-9A-Za-z_.]*")
_NUMBERS = ("0", "1", "2", "3", "4", "5", "7", "8", "16", "63", "64", "100", "1000", "0b11", "0x10")


def token_soup(tokens):
    sep = st.sampled_from(["", " ", " ", "\n"])
    return st.lists(st.tuples(st.sampled_from(tokens), sep), max_size=60).map(
        lambda parts: "".join(t + s for t, s in parts))


ALL_EDITS = ("word", "number", "del_char", "ins_char", "dup_chars", "swap_chars",
             "del_token", "ins_token", "dup_token", "swap_tokens", "word", "number")


@st.composite
def mutated(draw, sources, tokens, chars, edits=ALL_EDITS):
    """A source with 1 to 6 character or token edits.

    Besides blind edits, `word` and `number` edits replace a name by another name of the same
    source, or an integer by another integer, which keeps the syntax and exercises elaboration.
    """
    text = draw(st.sampled_from(sources))
    for _ in range(draw(st.sampled_from((1, 1, 1, 2, 2, 3, 6)))):
        op = draw(st.sampled_from(edits))
        if op in ("word", "number"):
            toks = _TOKEN_RE.findall(text)
            kind = _WORD if op == "word" else _NUMBER
            where = [k for k, t in enumerate(toks) if kind.fullmatch(t)]
            if where:
                k = where[draw(st.integers(0, 10 ** 6)) % len(where)]
                if op == "word":
                    words = sorted({t for t in toks if _WORD.fullmatch(t)})
                    toks[k] = words[draw(st.integers(0, 10 ** 6)) % len(words)]
                else:
                    toks[k] = draw(st.sampled_from(_NUMBERS))
                text = "".join(toks)
            continue
        if op.endswith("char") or op.endswith("chars"):
            n = len(text)
            i = draw(st.integers(0, 10 ** 6)) % (n + 1)
            if op == "del_char":
                text = text[:i] + text[i + draw(st.integers(1, 3)):]
            elif op == "ins_char":
                text = text[:i] + draw(st.sampled_from(chars)) + text[i:]
            elif op == "dup_chars":
                text = text[:i] + text[i:i + draw(st.integers(1, 30))] + text[i:]
            elif n >= 2:
                j = draw(st.integers(0, 10 ** 6)) % n
                i = min(i, n - 1)
                s = list(text)
                s[i], s[j] = s[j], s[i]
                text = "".join(s)
        else:
            toks = _TOKEN_RE.findall(text)
            n = len(toks)
            i = draw(st.integers(0, 10 ** 6)) % (n + 1)
            if op == "del_token" and n:
                del toks[min(i, n - 1)]
            elif op == "ins_token":
                toks.insert(i, draw(st.sampled_from(tokens)))
            elif op == "dup_token" and n:
                toks.insert(i, toks[min(i, n - 1)])
            elif op == "swap_tokens" and n >= 2:
                j = draw(st.integers(0, 10 ** 6)) % n
                i = min(i, n - 1)
                toks[i], toks[j] = toks[j], toks[i]
            text = "".join(toks)
    return text


def _mutated_named(named, tokens, chars):
    return st.sampled_from(named).flatmap(
        lambda nt: mutated((nt[1],), tokens, chars).map(lambda text: (nt[0], text)))


# --------------------------------------------------------------------------------------------
# the tests: each property has a default test and a slow one with many more examples

def _circ_tokens(text, workdir):
    clean(parse, text, filename="fuzz.circ", base_dir=workdir)


def _circ_chars(text, workdir):
    clean(parse, text, filename="fuzz.circ", base_dir=workdir)


def _circ_mutated(text, workdir):
    clean(parse, text, filename="fuzz.circ", base_dir=workdir)


def _example_mutated(named):
    name, text = named
    clean(parse, text, filename=name, base_dir=EXAMPLES)


def _bench(named):
    name, text = named
    clean(parse_bench, text, name)


def _blif(named):
    name, text = named
    clean(parse_blif, text, name)


def _make(body, key, strategy, needs_workdir):
    def fast_or_slow(counts, mark):
        if needs_workdir:
            @mark
            @_fuzz_settings(counts[key])
            @given(strategy)
            def test(workdir, value):
                body(value, workdir)
        else:
            @mark
            @_fuzz_settings(counts[key])
            @given(strategy)
            def test(value):
                body(value)
        return test
    return fast_or_slow(FAST, lambda f: f), fast_or_slow(SLOW, pytest.mark.slow)


test_circ_token_soup, test_circ_token_soup_slow = _make(
    _circ_tokens, "tokens", token_soup(CIRC_TOKENS), True)
test_circ_random_characters, test_circ_random_characters_slow = _make(
    _circ_chars, "chars", st.text(alphabet=st.sampled_from(CIRC_CHARS), max_size=120), True)
test_circ_mutations, test_circ_mutations_slow = _make(
    _circ_mutated, "circ", mutated(CIRC_SOURCES, CIRC_TOKENS, CIRC_CHARS), True)
test_circ_name_and_number_edits, test_circ_name_and_number_edits_slow = _make(
    _circ_mutated, "semantic", mutated(CIRC_SOURCES, CIRC_TOKENS, CIRC_CHARS, edits=("word", "number")), True)
if EXAMPLE_CIRC:
    test_example_mutations, test_example_mutations_slow = _make(
        _example_mutated, "examples", _mutated_named(EXAMPLE_CIRC, CIRC_TOKENS, CIRC_CHARS), False)
test_bench_mutations, test_bench_mutations_slow = _make(
    _bench, "bench", st.one_of(_mutated_named(EXAMPLE_BENCH, BENCH_TOKENS, "()=,# \n\tNAD1xé\x00"),
                               token_soup(BENCH_TOKENS).map(lambda t: ("soup.bench", t))), False)
test_blif_mutations, test_blif_mutations_slow = _make(
    _blif, "blif", st.one_of(_mutated_named(EXAMPLE_BLIF, BLIF_TOKENS, ".-01= \n\t\\#abyé\x00"),
                             token_soup(BLIF_TOKENS).map(lambda t: ("soup.blif", t))), False)


# --------------------------------------------------------------------------------------------
# the strategies do reach deep: unmutated sources elaborate, and edits reach every stage

def test_unmutated_sources_elaborate(workdir):
    for text in CIRC_SOURCES:
        assert clean(parse, text, base_dir=workdir) is not None
    for name, text in EXAMPLE_CIRC:
        assert clean(parse, text, filename=name, base_dir=EXAMPLES) is not None
    for name, text in EXAMPLE_BENCH:
        assert clean(parse_bench, text, name) is not None
    for name, text in EXAMPLE_BLIF:
        assert clean(parse_blif, text, name) is not None


# --------------------------------------------------------------------------------------------
# regressions: inputs that reached past CircuitError

def _chain(n: int) -> str:
    return "circuit c { in a; out y; y = " + " & ".join(["a"] * n) + "; }"


def test_long_chain_parses():
    c = parse(_chain(2000)).circuit()
    assert len(c.gates) == 1 and len(c.gates[0].args) == 2000


@pytest.mark.parametrize("text", [
    "circuit c { in a; out y; y = " + "~" * 1000 + "a; }",
    "circuit c { in a[" + "+".join(["1"] * 1000) + "]; out y; y = a[0]; }",
    "circuit c { in a, b; out y; y = " + "a ? b : " * 1000 + "a; }",
    "circuit c { in a; out y; " + "if 1 == 0 { } else " * 1000 + "{ y = a; } }",
    "circuit c { in a; out y; y = " + "{" * 1000 + "a" + "}" * 1000 + "; }",
    "circuit c { in a; out y; if " + "!" * 1000 + "(1 == 1) { y = a; } }",
], ids=["not", "int-sum", "ternary", "else-if", "concat", "cond-not"])
def test_deep_nesting_is_parsed_or_refused(text):
    clean(parse, text)


def test_deeply_nested_weight_array_is_refused():
    text = "mlp m { in x; out y; layer relu { weights = " + "[" * 70 + "1" + "]" * 70 + "; } }"
    with pytest.raises(CircuitError):
        parse(text)
