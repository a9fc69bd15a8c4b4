"""Fuzzed inputs for circuitc's front ends and artifact loader, and the property they must keep.

Shared by tests/frontend/test_fuzz.py (a quick deterministic run) and benchmarks/fuzz.py (10⁵
inputs in worker processes with time and memory limits). Every input is a pure function of its
kind, a random generator and the repository's files: `make_case(kind, rng, sources)` takes one of
the sources (examples, the shared case table, golden printouts, the netlists and `.circ` texts
written in the tests, the code blocks of the docs, small compiled artifacts) and mutates it at
the byte, character, token and line level, splices in pieces of other sources and hostile
fragments (huge numbers, deep nesting, NUL bytes, byte-order marks, odd unicode, include paths
naming special files). `run_case` feeds it to the front end; it must return or raise a CircuitError whose
diagnostics render (`check_error`), and on the command line exit with 0, 1 or 2, never a traceback.

    from fuzz_corpus import KINDS, Fixtures, Sources, make_case, case_rng, guarded
"""

from __future__ import annotations

import ast
import contextlib
import copy
import functools
import gzip
import hashlib
import json
import os
import random
import re
import resource
import shutil
import signal
import struct
import subprocess
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from aiger_files import random_graph, varint, write_aag, write_aig
from cases import CASES
from safetensors.numpy import save_file

import circuitc  # its back-end names (compile, save, load, verify) import torch on first use only
from circuitc import CircuitError, format_source, load_spec, parse, parse_assignments, spec_to_circ
from circuitc.fileio import MAX_SOURCE_BYTES, MAX_WEIGHT_BYTES
from circuitc.inputs import parse_input_csv

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
TESTS = ROOT / "tests"

# The limits each input must stay within: CPU seconds (on an idle core, wall-clock seconds; CPU
# time does not count the waits of a busy machine), and resident memory above the baseline.
SECONDS = 10.0
WALL_FACTOR = 3         # an input that blocks is stopped after this many times SECONDS of wall-clock time
MEMORY_BYTES = 1 << 30
MAX_TEXT = 1 << 20          # mutations stop growing an input here, so each stays quick to write

# ============================================================================================
# Languages: what a token is, and what to insert


@dataclass(frozen=True)
class Lang:
    name: str
    suffix: str
    tokens: tuple[str, ...]
    chars: str
    token_re: re.Pattern


CIRC = Lang("circ", ".circ", (
    "circuit", "mlp", "features", "network", "include", "param", "in", "out", "wire", "for", "if", "else",
    "over", "layer", "load", "use", "bit", "and", "or", "xor", "not", "nand", "nor", "xnor", "maj",
    "relu", "linear", "active", "width", "redundancy", "allocation", "seed", "embed", "weights", "bias",
    "construction", "min", "max", "abs", "log2", "clog2",
    "{", "}", "(", ")", "[", "]", "<", ">", ";", ",", "=", "?", ":", ".", "..", "&", "|", "^", "~",
    "+", "-", "*", "/", "%", "**", "==", "!=", "<=", ">=", "&&", "||", "!",
    "0", "1", "2", "7", "64", "0b101", "0x1f", "0b12", "1_000", "99999999999999999999", "-1", "1.5", ".5", "1e3",
    "a", "b", "c", "x", "y", "s", "N", "K", "i", "fa", "`22`", "`a b`", "`in`", '"w.npy"', '"lib.circ"',
    '"affine"', '"x.safetensors"', '"k"', '""', "#", "# note\n", "\n", " ", "\t",
), "{}()[]<>;,=?:.&|^~+-*/%!#\"`'_0123456789abcxyzN \n\t\r\\@$é\x00",
    re.compile(r"\s+|[A-Za-z_][A-Za-z0-9_]*|[0-9][0-9A-Za-z_.]*|\.\.|\*\*|[=!<>]=|&&|\|\||"
               r"`[^`\n]*`|\"[^\"\n]*\"|.", re.S))

BENCH = Lang("bench", ".bench", (
    "INPUT", "OUTPUT", "(", ")", "=", ",", "AND", "NAND", "OR", "NOR", "XOR", "XNOR", "NOT", "BUF", "BUFF",
    "DFF", "MUX", "vdd", "gnd", "1", "22", "a", "G1", "x.y", "#", "\n", " ", "\t",
), "()=,# \n\tNAD1xé\x00", re.compile(r"\s+|[A-Za-z0-9_.$\[\]]+|.", re.S))

BLIF = Lang("blif", ".blif", (
    ".model", ".inputs", ".outputs", ".names", ".end", ".subckt", ".latch", ".exdc", ".gate", ".search",
    ".default_input_arrival", ".clock", ".mlatch", "\\\n", "-", "0", "1", "01", "1-", "--1", "=", "a", "b", "y",
    "m", "#", "\n", " ", "\t",
), ".-01= \n\t\\#abyé\x00", re.compile(r"\s+|[^\s=]+|.", re.S))

AAG = Lang("aag", ".aag", (
    "aag", "aig", "0", "1", "2", "3", "4", "5", "6", "7", "-1", "999999999999999999", "9999999999999999999",
    "18446744073709551616", "10000001", "i0", "i1", "o0", "o1", "l0", "b0", "c", "\n", " ", "\t", "\r\n",
), "0123456789 \n\tiolbc-aag\x00", re.compile(r"\s+|[0-9]+|[A-Za-z]+|.", re.S))

CSV = Lang("csv", ".csv", ("a", "b", "cin", "x", "x[0]", "x[3]", "f[3]", "0", "1", "2", "-1", "0.5", "nan", "inf",
                           "1e309", "0b1", "0x1", ",", "\n", "\r\n", '"', " ", "#"),
           ",\n\"01 x[]ab", re.compile(r"\s+|[A-Za-z0-9_.\[\]]+|.", re.S))

JSON = Lang("json", ".json", ('"', ":", ",", "{", "}", "[", "]", "null", "true", "false", "0", "-1", "1e309", "NaN",
                             "Infinity", '"x"', '""', "\n", " "),
            '{}[]:,"0123456789.-eE ntrufalse\\\x00', re.compile(r'\s+|"(?:[^"\\]|\\.)*"|-?[0-9][0-9.eE+-]*|\w+|.',
                                                                re.S))

# ============================================================================================
# Hostile fragments


def _nesting(rng: random.Random) -> str:
    n = rng.choice((10, 63, 64, 65, 200, 1000, 10_000, 100_000))
    opener, closer = rng.choice((("(", ")"), ("[", "]"), ("{", "}"), ("~", ""), ("!", ""), ("-", ""),
                                 ("a ? b : ", "a"), ("if 1 { ", "} "), ("mlp m { ", "}")))
    closed = rng.random() < 0.5
    return opener * n + "a" + (closer * n if closed else "")


def _huge_number(rng: random.Random) -> str:
    digits = rng.choice((18, 19, 20, 39, 400, 4301, 100_000))
    return rng.choice(("", "-", "0x", "0b", "1e", "0.")) + rng.choice("19") * digits


_FIXED_HOSTILE = (
    "1e309", "-1e309", "1e-400", "nan", "inf", "-0", "0.0", "2147483648", "9223372036854775808",
    "18446744073709551616", "-9223372036854775809", "10000001", "1000001", "1_000_000_000", "0b", "0x", "1__0",
    "\x00", "\x00" * 100, "\ufeff", "\r", "\r\n", "\u2028", "\u2029", "\x85", "\x0b", "\x0c", "\x1c",
    "\u202e", "\u200b", "\U0001F600", "e\u0301", "\uffff", "\ufffd", "１２", "٣", "ǅ", "ß", "İ", "\t" * 50,
    "%s", "%(x)s", "{0}", "{}", "{x!r}", "\\", "\\n", '"', "`", "'", "[bold]", "[/]", "[red]x[/red]", "\x1b[31m",
    "#", "//", "/*", "*/", ";" * 1000, "," * 1000, "\n" * 10_000, " " * 100_000,
)


def hostile_text(rng: random.Random) -> str:
    """A fragment that has broken parsers before: sizes, nesting and characters at the edges."""
    pick = rng.randrange(10)
    if pick == 0:
        return _nesting(rng)
    if pick == 1:
        return _huge_number(rng)
    if pick == 2:
        return rng.choice(("x", "`", "a_", "é")) * rng.choice((100, 1000, 100_000)) + rng.choice(("", "`"))
    return rng.choice(_FIXED_HOSTILE)


_MAGIC = (b"\x1f\x8b\x08\x00", b"PK\x03\x04", b"\x7fELF\x02\x01\x01", b"%PDF-1.7\n", b"\x93NUMPY\x01\x00",
          b"BZh91AY&SY", b"\xfd7zXZ\x00", b"aig 1 1 0 1 0\n", b"aag 1 1 0 1 0\n")
_HOSTILE_BYTES = (b"\x00", b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\xc3", b"\x80", b"\xff", b"\xed\xa0\x80",
                  b"\xf4\x90\x80\x80", b"\xc0\xaf", b"\r", b"\r\n", b"\x80" * 64, b"\xff" * 16)


def hostile_bytes(rng: random.Random) -> bytes:
    pick = rng.randrange(4)
    if pick == 0:
        return rng.choice(_MAGIC)
    if pick == 1:
        return rng.choice(_HOSTILE_BYTES)
    return hostile_text(rng).encode("utf-8")


# The paths a hostile include or load() names, relative to the fixture directory. They cover
# special files, links, directories, patterns, bad encodings, files over the limits and paths
# the system cannot follow.
ODD_PATHS = (
    "lib.circ", "fifo", "loop1", "dangling", "dir", "dir.circ", "dir/", "dir/*", "dir/**", "*", "*.circ",
    "**/*.circ", "?", "[", "[!a]*.circ", "empty.circ", "bom.circ", "latin1.circ", "gz.circ", "self.circ",
    "cyc_a.circ", "big.circ", "w.npy", "w_obj.npy", "w_huge.npy", "w_nan.npy", "big.npy", "b.safetensors",
    "st_bad.safetensors", "c17.bench", "mux4.blif", "c17.aag", "x.aig", "fifo.bench", "/dev/zero", "/dev/null",
    "/dev/stdin", "/dev/full", "/dev/urandom", "/proc/self/mem", "/proc/self/status", "/etc/passwd", "/", ".",
    "..", "", " ", "~", "~/x.circ", "$HOME/x.circ", "x" * 300, "x/" * 3000 + "a.circ", "a" * 5000 + ".circ",
    "\x00", "a\x00b.circ", "C:\\x.circ", "\\\\server\\share\\x.circ", "file:///etc/passwd",
    "http://example.com/x.circ", "lib.circ/..", "lib.circ/x", "../" * 50 + "etc/passwd", "é.circ", "\u202e.circ",
    "/**/*.circ", "/*", "/proc/*/status", "../" * 8 + "**/x.circ",
)


# ============================================================================================
# The corpus: sources shipped with circuitc and its tests


@dataclass(frozen=True)
class Source:
    name: str
    data: str | bytes
    base: str = "fixtures"          # where its includes resolve: "fixtures" or "examples"


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

_LOOKS_LIKE = {
    "circ": re.compile(r"\b(circuit|mlp|network|features)\s+[\w`][^{]*\{"),
    "bench": re.compile(r"(?m)^\s*(INPUT|OUTPUT)\s*\(|=\s*[A-Z]+\s*\("),
    "blif": re.compile(r"(?m)^\s*\.(model|names|inputs|outputs)\b"),
    "aag": re.compile(r"^aag \d"),
}


def _literals(path: Path) -> list[str | bytes]:
    """The string and bytes constants of a Python file."""
    try:
        tree = ast.parse(path.read_text("utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return []
    return [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, (str, bytes))]


def _code_blocks(path: Path, fence: str) -> list[str]:
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError):
        return []
    return re.findall(rf"```{fence}\n(.*?)```", text, re.S)


def _files(directory: Path, *suffixes: str) -> list[Path]:
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if p.is_file() and p.suffix in suffixes)


def _aiger_graphs() -> tuple[list[Source], list[Source]]:
    """Small random and-inverter graphs in both forms, with and without symbols and comments."""
    aag, aig = [], []
    for k in range(8):
        rng = np.random.default_rng(k)
        inputs, gates, outs = 1 + k % 4, 2 * k, 1 + k % 3
        outputs, ands = random_graph(rng, inputs, gates, outs, constants=k % 2 == 0)
        names = dict(input_names=[f"in{i}" for i in range(inputs)], output_names=[f"out{i}" for i in range(outs)],
                     comment="made for fuzzing") if k % 3 == 0 else {}
        aag.append(Source(f"g{k}.aag", write_aag(inputs, outputs, ands, **names)))
        aig.append(Source(f"g{k}.aig", write_aig(inputs, outputs, ands, **names)))
    return aag, aig


class Sources:
    """Every source of every language, harvested once from the repository."""

    def __init__(self, artifacts: dict[str, dict[str, bytes]] | None = None):
        self.by_lang: dict[str, list[Source]] = {name: [] for name in ("circ", "bench", "blif", "aag", "aig")}
        self.artifacts = artifacts or {}
        self._harvest()
        for name, items in self.by_lang.items():
            unique = {s.data: s for s in reversed(items)}      # the first source of each text
            self.by_lang[name] = [s for s in items if unique[s.data] is s]

    def __getitem__(self, lang: str) -> list[Source]:
        return self.by_lang[lang]

    def _harvest(self) -> None:
        add = self.by_lang
        for path in _files(EXAMPLES, ".circ"):
            add["circ"].append(Source(path.name, path.read_text("utf-8"), "examples"))
        for path in _files(EXAMPLES, ".bench", ".blif"):
            add[path.suffix[1:]].append(Source(path.name, path.read_text("utf-8")))
        for path in _files(EXAMPLES, ".aag", ".aig"):
            add[path.suffix[1:]].append(Source(path.name, path.read_bytes()))
        add["circ"] += [Source(f"case_{c.name}.circ", c.source) for c in CASES] + [Source("mlp_files.circ", MLP_FILES)]
        for path in _files(TESTS / "frontend" / "golden", ".txt"):
            add["circ"].append(Source(path.name, path.read_text("utf-8")))
        for path in _files(ROOT / "benchmarks", ".circ"):
            add["circ"].append(Source(path.name, path.read_text("utf-8")))
        for path in [ROOT / "README.md", *_files(ROOT / "docs", ".md")]:
            add["circ"] += [Source(f"{path.stem}_{k}.circ", t) for k, t in enumerate(_code_blocks(path, "circ"))]
        for path in sorted(TESTS.rglob("test_*.py")):
            if path.name == "test_fuzz.py":     # its reproducers of known failures would be found again and again
                continue
            for k, value in enumerate(_literals(path)):
                self._classify(f"{path.stem}_{k}", value)
        aag, aig = _aiger_graphs()
        add["aag"] += aag
        add["aig"] += aig
        add["circ"] += _printed()

    def _classify(self, name: str, value: str | bytes) -> None:
        if isinstance(value, bytes):
            if value.startswith(b"aig "):
                self.by_lang["aig"].append(Source(name + ".aig", value))
            elif value.startswith(b"aag "):
                self.by_lang["aag"].append(Source(name + ".aag", value))
            return
        if len(value) > 100_000:
            return
        for lang, pattern in _LOOKS_LIKE.items():
            if pattern.search(value):
                data = _as_bytes(value) if lang == "aag" else value
                self.by_lang[lang].append(Source(f"{name}.{lang}", data))
                return


# ============================================================================================
# Text mutations: each takes (rng, text, lang, donors) and returns the new text


def _at(rng: random.Random, n: int) -> int:
    return rng.randrange(n + 1)


def _del_chars(rng, text, lang, donors):
    i = _at(rng, len(text))
    return text[:i] + text[i + rng.randint(1, 3):]


def _ins_char(rng, text, lang, donors):
    i = _at(rng, len(text))
    return text[:i] + rng.choice(lang.chars) + text[i:]


def _dup_chars(rng, text, lang, donors):
    i = _at(rng, len(text))
    return text[:i] + text[i:i + rng.randint(1, 30)] + text[i:]


def _swap_chars(rng, text, lang, donors):
    if len(text) < 2:
        return text
    s = list(text)
    i, j = rng.randrange(len(s)), rng.randrange(len(s))
    s[i], s[j] = s[j], s[i]
    return "".join(s)


def _token_edit(rng, text, lang, donors):
    toks = lang.token_re.findall(text)
    n = len(toks)
    i = _at(rng, n)
    op = rng.randrange(4)
    if op == 0 and n:
        del toks[min(i, n - 1)]
    elif op == 1:
        toks.insert(i, rng.choice(lang.tokens))
    elif op == 2 and n:
        toks.insert(i, toks[min(i, n - 1)])
    elif op == 3 and n >= 2:
        j = rng.randrange(n)
        i = min(i, n - 1)
        toks[i], toks[j] = toks[j], toks[i]
    return "".join(toks)


_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER = re.compile(r"[0-9][0-9A-Za-z_.]*")
_NUMBERS = ("0", "1", "2", "3", "4", "5", "7", "8", "16", "63", "64", "100", "1000", "0b11", "0x10")


def _word(rng, text, lang, donors):
    """A name replaced by another name of the same text: the syntax stays, elaboration is tried."""
    toks = lang.token_re.findall(text)
    where = [k for k, t in enumerate(toks) if _WORD.fullmatch(t)]
    if where:
        words = sorted({toks[k] for k in where})
        toks[rng.choice(where)] = rng.choice(words)
    return "".join(toks)


def _number(rng, text, lang, donors):
    """An integer replaced by another, now and then by one at the edges of what fits."""
    toks = lang.token_re.findall(text)
    where = [k for k, t in enumerate(toks) if _NUMBER.fullmatch(t)]
    if where:
        toks[rng.choice(where)] = rng.choice(_NUMBERS) if rng.random() < 0.8 else _huge_number(rng)[:25]
    return "".join(toks)


def _line_edit(rng, text, lang, donors):
    lines = text.split("\n")
    i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
    op = rng.randrange(4)
    if op == 0:
        del lines[i]
    elif op == 1:
        lines.insert(j, lines[i])
    elif op == 2:
        lines[i], lines[j] = lines[j], lines[i]
    else:
        lines[i:i + 1] = [lines[i]] * rng.choice((2, 10, 200))
    return "\n".join(lines)


def _splice(rng, text, lang, donors):
    """A piece of another source of the same language, inserted or replacing the text's tail."""
    other = _as_text(rng.choice(donors).data) if donors else text
    a = _at(rng, len(other))
    piece = other[a:a + rng.choice((20, 200, 2000, len(other)))]
    i = _at(rng, len(text))
    return text[:i] + piece + (text[i:] if rng.random() < 0.7 else "")


def _hostile(rng, text, lang, donors):
    toks = lang.token_re.findall(text)
    toks.insert(_at(rng, len(toks)), hostile_text(rng))
    return "".join(toks)


def _line_endings(rng, text, lang, donors):
    op = rng.randrange(3)
    if op == 0:
        return text.replace("\n", "\r\n")
    if op == 1:
        return text.replace("\n", "\r")
    return "\ufeff" + text


def _truncate(rng, text, lang, donors):
    return text[:_at(rng, len(text))]


_STRING = re.compile(r'"[^"\n]*"')


def _odd_path(rng, text, lang, donors):
    """A quoted path (an include, a weight file) replaced by a path to something odd; a new include when
    there is none."""
    odd = rng.choice(ODD_PATHS).replace("\\", "\\\\").replace('"', '\\"')
    strings = list(_STRING.finditer(text))
    if strings and rng.random() < 0.6:
        m = rng.choice(strings)
        return text[:m.start()] + f'"{odd}"' + text[m.end():]
    lines = text.split("\n")
    lines.insert(rng.randrange(len(lines) + 1), f'include "{odd}";')
    return "\n".join(lines)


TEXT_OPS = (_del_chars, _ins_char, _dup_chars, _swap_chars, _token_edit, _token_edit, _word, _number, _word,
            _number, _line_edit, _splice, _hostile, _line_endings, _truncate)
CIRC_OPS = TEXT_OPS + (_odd_path,)
SEMANTIC_OPS = (_word, _number)


def mutate_text(rng: random.Random, text: str, lang: Lang, donors=None, ops=TEXT_OPS) -> str:
    """1 to 6 edits, most often one or two."""
    for _ in range(rng.choice((1, 1, 1, 2, 2, 3, 6))):
        text = rng.choice(ops)(rng, text, lang, donors)[:MAX_TEXT]
    return text


def token_soup(rng: random.Random, lang: Lang) -> str:
    return "".join(rng.choice(lang.tokens) + rng.choice(("", " ", " ", "\n")) for _ in range(rng.randrange(61)))


def _as_text(data: str | bytes) -> str:
    return data if isinstance(data, str) else data.decode("latin-1")


def _as_bytes(text: str) -> bytes:
    """UTF-8, lone surrogates (a source text may hold one) written as the invalid bytes they would be."""
    return text.encode("utf-8", "surrogatepass")


# ============================================================================================
# Byte mutations


def _flip(rng, data, donors):
    if not data:
        return data
    b = bytearray(data)
    i = rng.randrange(len(b))
    b[i] ^= 1 << rng.randrange(8)
    return bytes(b)


def _set_byte(rng, data, donors):
    if not data:
        return data
    b = bytearray(data)
    b[rng.randrange(len(b))] = rng.choice((0x00, 0x01, 0x0A, 0x0D, 0x20, 0x30, 0x39, 0x7F, 0x80, 0xC3, 0xFF))
    return bytes(b)


def _insert_bytes(rng, data, donors):
    i = _at(rng, len(data))
    piece = hostile_bytes(rng) if rng.random() < 0.5 else bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 8)))
    return data[:i] + piece + data[i:]


def _delete_bytes(rng, data, donors):
    i = _at(rng, len(data))
    return data[:i] + data[i + rng.choice((1, 2, 8, 100)):]


def _dup_bytes(rng, data, donors):
    i = _at(rng, len(data))
    return data[:i] + data[i:i + rng.choice((1, 4, 64, 1000))] * rng.choice((1, 2, 50)) + data[i:]


def _truncate_bytes(rng, data, donors):
    return data[:_at(rng, len(data))]


def _splice_bytes(rng, data, donors):
    other = rng.choice(donors).data if donors else data
    other = _as_bytes(other) if isinstance(other, str) else other
    a = _at(rng, len(other))
    i = _at(rng, len(data))
    return data[:i] + other[a:a + rng.choice((8, 100, len(other)))] + data[i:]


def _magic(rng, data, donors):
    return rng.choice(_MAGIC) + data if rng.random() < 0.5 else data + hostile_bytes(rng)


BYTE_OPS = (_flip, _set_byte, _insert_bytes, _delete_bytes, _dup_bytes, _truncate_bytes, _splice_bytes, _magic)


def mutate_bytes(rng: random.Random, data: bytes, donors=None, ops=BYTE_OPS) -> bytes:
    for _ in range(rng.choice((1, 1, 2, 3))):
        data = rng.choice(ops)(rng, data, donors)[:MAX_TEXT]
    return data


# -------------------------------------------------------------------------------------- AIGER

_AIGER_NUMBERS = ("0", "1", "2", "3", "5", "-1", "", "00", "999999999999999999", "9999999999999999999",
                  "18446744073709551616", "4294967296", "10000001", "1000001", "1" * 40, "0x10", "1e3")


def _aiger_header(rng, data, donors):
    """A count of the header replaced, dropped or added (AIGER 1.9's B C J F), or the form swapped."""
    end = data.find(b"\n")
    head, rest = (data, b"") if end < 0 else (data[:end], data[end:])
    fields = head.split(b" ")
    op = rng.randrange(4)
    if op == 0 and len(fields) > 1:
        fields[rng.randrange(1, len(fields))] = rng.choice(_AIGER_NUMBERS).encode()
    elif op == 1 and len(fields) > 1:
        del fields[rng.randrange(1, len(fields))]
    elif op == 2:
        fields.append(rng.choice(_AIGER_NUMBERS).encode())
    else:
        fields[0] = rng.choice((b"aag", b"aig", b"AAG", b"ag", b"aag\x00", b"\xef\xbb\xbfaag"))
    return b" ".join(fields) + rest


def _varints(rng, data, donors):
    """Delta encodings that overflow, never end, or decode to literals out of range."""
    piece = rng.choice((b"\x80" * rng.choice((1, 5, 6, 100)), b"\xff" * 9, varint(2 ** rng.choice((31, 35, 63, 64))),
                        varint(0), varint(1), b"\x7f"))
    i = _at(rng, len(data))
    return data[:i] + piece + data[i:] if rng.random() < 0.5 else data[:i] + piece + data[i + len(piece):]


def _aiger_lines(rng, data, donors):
    return mutate_text(rng, data.decode("latin-1"), AAG, donors, ops=TEXT_OPS).encode("latin-1", "replace")


AIGER_OPS = BYTE_OPS + (_aiger_header, _aiger_header, _varints, _aiger_lines)

# --------------------------------------------------------------------------- JSON and safetensors

_JSON_VALUES = (None, True, False, 0, -1, 1, 2, 3, 2 ** 31, 2 ** 53 + 1, 2 ** 63, 2 ** 64, -2 ** 63 - 1, 10 ** 30,
                0.5, -0.0, 1e308, float("inf"), float("nan"), "", "x", "F64", "I64", "BOOL", "F16", "coherent",
                "routed", "features", "instances", "../x", "\x00", [], {}, [[]], [0], [1, 2], [-1], {"x": 1},
                [[0.5]], [[1, 2], [3]], "a" * 10_000, [0] * 1000)
_RAW_VALUES = ("9" * 5000, "1e309", "-1e309", "NaN", "Infinity", "-Infinity", "1" + "0" * 400, "1e-400", "-0")


def _hostile_value(rng: random.Random):
    """One of _JSON_VALUES, copied: the lists and objects among them are edited in place by later
    mutations, which must change neither the constants nor another place holding the same one
    (a list inserted into itself cannot be written as JSON)."""
    return copy.deepcopy(rng.choice(_JSON_VALUES))


def _nodes(doc, limit: int = 5000) -> list[tuple[object, object]]:
    """(container, key) of every value in a JSON document, breadth first, up to `limit`."""
    found, queue = [], [doc]
    while queue and len(found) < limit:
        node = queue.pop(0)
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for key, value in items:
            found.append((node, key))
            queue.append(value)
    return found


def mutate_json(rng: random.Random, doc):
    """One edit of a parsed JSON document: a value replaced (by a hostile one or another value of the
    document), deleted, duplicated, wrapped or turned into a string."""
    nodes = _nodes(doc)
    if not nodes:
        return _hostile_value(rng)
    # Top-level keys steer everything (format, version, kind, shapes): pick them more often.
    top = [n for n in nodes if n[0] is doc]
    node, key = rng.choice(top if top and rng.random() < 0.3 else nodes)
    value = node[key]
    op = rng.randrange(7)
    if op <= 2:
        node[key] = _hostile_value(rng)
    elif op == 3:
        other, other_key = rng.choice(nodes)
        node[key] = json.loads(json.dumps(other[other_key]))
    elif op == 4:
        del node[key]
    elif op == 5:
        node[key] = rng.choice(([value], {"x": value}, str(value), [value, value]))
    elif isinstance(node, list):
        node.insert(key, value)
    else:
        node[rng.choice(("x", "version", "kind", "format", "shape", "dtype", "hashes", "config"))] = value
    return doc


def mutate_json_text(rng: random.Random, text: str) -> str:
    """Raw edits no JSON writer makes: overlong numbers, NaN, deep nesting, repeated keys, broken syntax."""
    op = rng.randrange(4)
    if op == 0:
        numbers = list(re.finditer(r"-?\b[0-9][0-9.eE+-]*", text))
        if numbers:
            m = rng.choice(numbers)
            return text[:m.start()] + rng.choice(_RAW_VALUES) + text[m.end():]
    if op == 1:
        n = rng.choice((100, 1000, 100_000))
        return re.sub(r":\s*", ": " + "[" * n + "]" * n + ", \"_\": ", text, count=1) if rng.random() < 0.5 \
            else "[" * n + text
    if op == 2:
        lines = text.split("\n")
        if len(lines) > 2:
            i = rng.randrange(1, len(lines) - 1)
            lines.insert(i, lines[i].rstrip(",") + ",")
            return "\n".join(lines)
    return mutate_text(rng, text, JSON)


def _tensor_header(rng, data):
    """The safetensors header (8-byte little-endian length, then JSON) edited as JSON."""
    n = int.from_bytes(data[:8], "little")
    try:
        header = json.loads(data[8:8 + n])
    except (ValueError, UnicodeDecodeError):
        return mutate_bytes(rng, data)
    for _ in range(rng.choice((1, 1, 2))):
        header = mutate_json(rng, header)
    raw = json.dumps(header).encode()
    return len(raw).to_bytes(8, "little") + raw + data[8 + n:]


def _tensor_length(rng, data):
    n = int.from_bytes(data[:8], "little")
    new = rng.choice((0, 1, 2, n - 1, n + 1, len(data), 2 ** 31, 2 ** 32, 2 ** 63, 2 ** 64 - 1))
    return (new % 2 ** 64).to_bytes(8, "little") + data[8:]


def _tensor_values(rng, data):
    """Special floats (NaN, infinities, huge, subnormal) written over stored values."""
    n = int.from_bytes(data[:8], "little")
    start = 8 + n
    if start >= len(data) - 8:
        return mutate_bytes(rng, data)
    b = bytearray(data)
    for _ in range(rng.choice((1, 4, 64))):
        i = start + rng.randrange((len(data) - start) // 4) * 4
        v = rng.choice((float("nan"), float("inf"), -float("inf"), 3.0e38, 1e-45, -0.0, 2.0 ** 31, -1.0))
        b[i:i + 4] = struct.pack("<f", v)
    return bytes(b)


def mutate_safetensors(rng: random.Random, data: bytes) -> bytes:
    if len(data) < 8:
        return mutate_bytes(rng, data)
    op = rng.randrange(5)
    if op == 0:
        return _tensor_length(rng, data)
    if op <= 2:
        return _tensor_header(rng, data)
    if op == 3:
        return _tensor_values(rng, data)
    return mutate_bytes(rng, data)


# ============================================================================================
# Fixtures: the files mutated sources include or load, and odd things for hostile paths


def _npy_claiming(shape: tuple[int, ...]) -> bytes:
    """A .npy header promising `shape` of float64, with no data behind it."""
    header = f"{{'descr': '<f8', 'fortran_order': False, 'shape': {shape}, }}".encode()
    header += b" " * (63 - (len(header) + 10) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header


def _sparse(path: Path, size: int) -> None:
    """A file of `size` bytes that takes no disk space."""
    with open(path, "wb") as f:
        f.truncate(size)


class Fixtures:
    """A directory (one per process) holding the files the corpus includes and loads, and odd targets
    for hostile paths; each case's own files are written into it for its run and removed after."""

    def __init__(self, root: Path):
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        (root / "lib.circ").write_text("circuit lib { in a, b; out y; y = a ^ b; }\n")
        np.save(root / "w.npy", np.array([[1.0, 2.0], [0.5, -1.0]]))
        np.save(root / "w_nan.npy", np.array([[np.nan, np.inf], [-np.inf, 1e308]]))
        np.save(root / "w_obj.npy", np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
        (root / "w_huge.npy").write_bytes(_npy_claiming((10 ** 12,)))
        save_file({"b": np.array([0.0, 1.0]), "w": np.ones((2, 2))}, str(root / "b.safetensors"))
        (root / "st_bad.safetensors").write_bytes((2 ** 62).to_bytes(8, "little") + b"{}")
        for name in ("c17.bench", "mux4.blif", "c17.aag"):
            if (EXAMPLES / name).is_file():
                shutil.copyfile(EXAMPLES / name, root / name)
        (root / "x.aig").write_bytes(write_aig(2, [6], [(6, 2, 4)]))
        (root / "empty.circ").write_text("")
        (root / "bom.circ").write_text("\ufeffcircuit bom { in a; out y; y = a; }\n")
        (root / "latin1.circ").write_bytes(b"circuit caf\xe9 { in a; out y; y = a; }\n")
        (root / "gz.circ").write_bytes(gzip.compress(b"circuit g { in a; out y; y = a; }\n", mtime=0))
        (root / "self.circ").write_text('include "self.circ";\n')
        (root / "cyc_a.circ").write_text('include "cyc_b.circ";\n')
        (root / "cyc_b.circ").write_text('include "cyc_a.circ";\n')
        (root / "dir").mkdir(exist_ok=True)
        (root / "dir" / "inner.circ").write_text("circuit inner { in a; out y; y = ~a; }\n")
        (root / "dir.circ").mkdir(exist_ok=True)
        _sparse(root / "big.circ", MAX_SOURCE_BYTES + 1)
        _sparse(root / "big.npy", MAX_WEIGHT_BYTES + 1)
        for link, target in (("loop1", "loop2"), ("loop2", "loop1"), ("dangling", "nowhere")):
            if not (root / link).is_symlink():
                os.symlink(root / target, root / link)
        for fifo in ("fifo", "fifo.bench"):
            if hasattr(os, "mkfifo") and not (root / fifo).exists():
                os.mkfifo(root / fifo)
        self.base = {"fixtures": root, "examples": EXAMPLES}
        self._written: list[Path] = []

    def write(self, files: dict[str, bytes]) -> None:
        for rel, data in files.items():
            path = self.root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            if path.parent != self.root:
                self._written.append(path.parent)
            path.write_bytes(data)
            self._written.append(path)

    def clean(self) -> None:
        """Remove what `write` wrote, so no case sees another's files."""
        for path in reversed(self._written):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
        self._written.clear()


# ============================================================================================
# Artifacts: small compiled networks of both back ends, in both layouts

ARTIFACT_SOURCE = """
circuit fa { in a, b, cin; out s, cout; s = a ^ b ^ cin; cout = maj(a, b, cin); }
circuit ha { in a, b; out s, c; s = a ^ b; c = a & b; }
network routed { use fa * 3; use ha * 2; active = 1; width = 48; seed = 1; }
network coherent { use fa * 6; active = 1; width = 128; seed = 1; construction = "coherent"; }
features f[16] { active = 2; embed = 12; seed = 1; }
circuit g over f { out y, z; y = f[0] & f[1]; z = f[2] ^ f[3]; }
"""


def build_artifacts(directory: Path) -> dict[str, dict[str, bytes]]:
    """Compile and save the small networks (this imports torch); {name: {file name: bytes}}."""
    spec = circuitc.parse(ARTIFACT_SOURCE)
    directory.mkdir(parents=True, exist_ok=True)
    saved = {
        "routed": circuitc.save(circuitc.compile(spec, "routed"), directory / "routed"),
        "coherent_hf": circuitc.save(circuitc.compile(spec, "coherent"), directory / "coherent_hf", layout="hf"),
        "features": circuitc.save(circuitc.compile_features(spec, "g"), directory / "features"),
    }
    return read_artifacts(directory, saved)


def read_artifacts(directory: Path, saved=None) -> dict[str, dict[str, bytes]]:
    saved = saved or {p.name: p for p in sorted(directory.iterdir()) if p.is_dir()}
    return {name: {f.name: f.read_bytes() for f in sorted(Path(p).iterdir()) if f.is_file()}
            for name, p in saved.items()}


def _rehash(meta: dict, files: dict[str, bytes]) -> None:
    """Record the SHA-256 of the (tampered) files, so the loader's own checks are what refuse them."""
    names = {"weights.safetensors": ("weights.safetensors", "model.safetensors"), "circuits.circ": ("circuits.circ",)}
    meta["hashes"] = {key: hashlib.sha256(files[n]).hexdigest() for key, options in names.items()
                      for n in options if n in files}


def tamper_artifact(rng: random.Random, files: dict[str, bytes], sources: Sources) -> dict[str, bytes | None]:
    """Edit the weights, the circuits or the metadata of an artifact; None marks a deleted file."""
    files = dict(files)
    meta_name = "config.json" if "config.json" in files else "network.json"
    weights_name = "model.safetensors" if "model.safetensors" in files else "weights.safetensors"
    if rng.random() < 0.4:
        files[weights_name] = mutate_safetensors(rng, files[weights_name])
    if rng.random() < 0.2:
        files["circuits.circ"] = _as_bytes(mutate_text(rng, files["circuits.circ"].decode(), CIRC, sources["circ"]))
    try:
        meta = json.loads(files[meta_name])
    except ValueError:
        meta = None
    if isinstance(meta, dict):
        choice = rng.random()
        if choice < 0.7:
            _rehash(meta, files)
        elif choice < 0.8:
            meta.pop("hashes", None)     # an artifact from before the hashes: loaded unchecked
        for _ in range(rng.choice((0, 1, 1, 1, 2, 3))):
            meta = mutate_json(rng, meta)
        text = json.dumps(meta, indent=2)
        files[meta_name] = _as_bytes(mutate_json_text(rng, text) if rng.random() < 0.25 else text)
    if rng.random() < 0.05:
        files[rng.choice(sorted(files))] = None
    return files


# ============================================================================================
# Cases


@dataclass
class Case:
    """One fuzzed input: files written into the fixture directory (relative paths), or `text`
    handed straight to a parser, and what to run on them."""

    kind: str
    entry: str = ""                        # the file or directory the run reads
    files: dict[str, bytes] = field(default_factory=dict)
    text: str | None = None                # for the API kinds: the str itself, lone surrogates and all
    base: str = "fixtures"                 # where includes resolve for `text`
    argv: tuple[str, ...] = ()             # the cli kind: arguments after `circuitc`
    label: str = ""                        # which source it was made from

    def size(self) -> int:
        return len(self.text or "") + sum(len(d) for d in self.files.values() if d)


INPUT_SPEC = """
circuit fa { in a, b, cin; out sum, cout; t = a ^ b; sum = t ^ cin; cout = (a & b) | (t & cin); }
circuit adder { in x[4], y[2]; out s[4]; s = x ^ {y, y}; }
features f[32] { active = 3; }
circuit anyf over f { out y; y = f[3] | f[17]; }
mlp tiny { in x[2], z; out y; layer linear { weights = [[1.0, 1.0, 1.0]]; bias = [0.0]; } }
"""


@functools.lru_cache(maxsize=1)
def _input_circuits():
    spec = parse(INPUT_SPEC)
    return {c.name: c for c in spec.circuits}


def _printed() -> list[Source]:
    """Circuits, MLP circuits and feature sets as the printer writes them (netlists converted,
    artifacts' circuits.circ): the form the line reader (frontend/flat.py) takes without the
    parser."""
    from circuitc.spec import Spec

    out = []
    for path in _files(EXAMPLES, ".bench", ".blif", ".aag", ".circ"):
        if path.suffix == ".circ" and path.stem not in ("full_adder", "mux", "parity", "majority", "multiplier2",
                                                        "mlp_xor", "features"):
            continue
        spec = circuitc.load_spec(path)
        out.append(Source(f"{path.stem}_printed.circ", spec_to_circ(Spec(spec.circuits, spec.features), header=False)))
    return out


def _pick(rng: random.Random, sources: Sources, lang: str) -> Source:
    return rng.choice(sources[lang])


def _circ(rng, sources):
    src = _pick(rng, sources, "circ")
    ops = SEMANTIC_OPS if rng.random() < 0.25 else CIRC_OPS
    text = mutate_text(rng, src.data, CIRC, sources["circ"], ops=ops)
    if rng.random() < 0.01:
        # A str may hold lone surrogates (decoded with surrogateescape); no file can.
        i = _at(rng, len(text))
        text = text[:i] + rng.choice(("\udcff", "\ud800")) + text[i:]
    return Case("circ", entry=src.name, text=text, base=src.base, label=src.name)


def _circ_soup(rng, sources):
    if rng.random() < 0.6:
        text = token_soup(rng, CIRC)
    else:
        text = "".join(rng.choice(CIRC.chars) for _ in range(rng.randrange(121)))
    return Case("circ_soup", entry="soup.circ", text=text, label="soup")


def _text_file(rng, sources, lang: Lang, ops=TEXT_OPS) -> tuple[bytes, str]:
    if rng.random() < 0.1:
        return _as_bytes(token_soup(rng, lang)), "soup"
    src = _pick(rng, sources, lang.name)
    data = _as_bytes(mutate_text(rng, src.data, lang, sources[lang.name], ops=ops))
    if rng.random() < 0.2:
        data = mutate_bytes(rng, data, sources[lang.name])
    return data, src.name


def _circ_file(rng, sources):
    # Read from a file, so that includes and loads of odd paths are followed: those edits come often.
    data, label = _text_file(rng, sources, CIRC, ops=CIRC_OPS + (_odd_path,) * 2)
    return Case("circ_file", entry="fuzz.circ", files={"fuzz.circ": data}, label=label)


def _netlist(kind: str, lang: Lang):
    def make(rng, sources):
        data, label = _text_file(rng, sources, lang)
        return Case(kind, entry=f"fuzz{lang.suffix}", files={f"fuzz{lang.suffix}": data}, label=label)
    return make


def _aiger(kind: str):
    def make(rng, sources):
        src = _pick(rng, sources, kind)
        data = mutate_bytes(rng, src.data, sources[kind], ops=AIGER_OPS)
        # The form is chosen by the header; a suffix that disagrees must change nothing.
        suffix = rng.choice((".aag", ".aig")) if rng.random() < 0.2 else "." + kind
        return Case(kind, entry="fuzz" + suffix, files={"fuzz" + suffix: data}, label=src.name)
    return make


def _artifact(rng, sources):
    name = rng.choice(sorted(sources.artifacts))
    files = tamper_artifact(rng, sources.artifacts[name], sources)
    return Case("artifact", entry="art", files={f"art/{k}": v for k, v in files.items() if v is not None},
                label=name)


def _inputs(rng, sources):
    """Input rows as `eval` reads them: NAME=VALUE assignments or a CSV file, for each kind of circuit."""
    circuit = rng.choice(sorted(_input_circuits()))
    names = [p.name for p in _input_circuits()[circuit].inputs]
    if rng.random() < 0.5:
        text = " ".join(f"{n}={rng.choice(('0', '1', '5', '0b101', '0x3', '0.5'))}" for n in names)
        text = mutate_text(rng, text, CSV)
        return Case("inputs", entry=circuit, text=text, argv=("assignments",), label=circuit)
    rows = "\n".join(",".join(rng.choice("01") for _ in names) for _ in range(3))
    text = mutate_text(rng, ",".join(names) + "\n" + rows + "\n", CSV)
    return Case("inputs", entry=circuit, text=text, argv=("csv",), label=circuit)


_CLI_COMMANDS = (("check",), ("eval", "--truth-table"), ("eval", "--json", "a=1", "b=0"), ("graph",), ("fmt",),
                 ("fmt", "--check"), ("graph", "--json"))


def _cli(rng, sources):
    if sources.artifacts and rng.random() < 0.1:
        case = _artifact(rng, sources)
        argv = ("verify", case.entry, "--samples", "8")
    else:
        case = rng.choice(FILE_KINDS)(rng, sources)
        command = rng.choice(_CLI_COMMANDS)
        argv = (command[0], case.entry, *command[1:])
    return Case("cli", entry=case.entry, files=case.files, argv=argv, label=f"{case.kind}:{case.label}")


FILE_KINDS = (_circ_file, _netlist("bench", BENCH), _netlist("blif", BLIF), _aiger("aag"), _aiger("aig"))
MAKERS = {
    "circ": _circ, "circ_soup": _circ_soup, "circ_file": _circ_file, "bench": FILE_KINDS[1],
    "blif": FILE_KINDS[2], "aag": FILE_KINDS[3], "aig": FILE_KINDS[4], "artifact": _artifact, "inputs": _inputs,
    "cli": _cli,
}
KINDS = tuple(MAKERS)
# Shares of a full run (per mille): command-line runs start a process each, so they are few.
SHARES = {"circ": 290, "circ_soup": 80, "circ_file": 120, "bench": 90, "blif": 90, "aag": 80, "aig": 80,
          "artifact": 120, "inputs": 48, "cli": 2}


def case_rng(seed: int, kind: str, index: int) -> random.Random:
    return random.Random(f"{seed}:{kind}:{index}")


def make_case(kind: str, rng: random.Random, sources: Sources) -> Case:
    return MAKERS[kind](rng, sources)


# ============================================================================================
# The property


def check_error(e: CircuitError) -> None:
    """A CircuitError must carry diagnostics that render, located at real lines and columns."""
    assert e.diagnostics, "a CircuitError without diagnostics"
    report = str(e)
    assert isinstance(report, str) and report
    for d in e.diagnostics:
        assert isinstance(d.message, str) and d.message, d
        d.render()
        if d.span is not None:
            assert d.span.line >= 1 and d.span.column >= 1, d


_FRAME = re.compile(r'File "([^"]*)", line (\d+), in (\S+)')


class CliFailure(AssertionError):
    """The command line crashed, hung, ran out of memory or exited with an undocumented code; `frames`
    are those of the traceback it printed, if any."""

    def __init__(self, message: str, stderr: str = ""):
        super().__init__(message)
        self.frames = [(f, int(n), name) for f, n, name in _FRAME.findall(stderr)]


def _run_api(case: Case, fx: Fixtures) -> str:
    spec = parse(case.text, filename=case.entry, base_dir=fx.base[case.base])
    spec_to_circ(spec)
    return "accepted"


def _run_format(case: Case) -> None:
    try:
        format_source(case.text, case.entry)
    except CircuitError as e:
        check_error(e)


def _run_file(case: Case, fx: Fixtures) -> str:
    spec_to_circ(load_spec(fx.root / case.entry))
    return "accepted"


def _run_artifact(case: Case, fx: Fixtures) -> str:
    loaded = circuitc.load(fx.root / case.entry)
    # A tampered artifact the loader accepts must still run.
    circuitc.verify(loaded, samples=4, batch=4)
    return "accepted"


def _run_inputs(case: Case, fx: Fixtures) -> str:
    circuit = _input_circuits()[case.entry]
    if case.argv == ("assignments",):
        parse_assignments(circuit, case.text.split(" "))
    else:
        parse_input_csv(case.text, circuit, "rows.csv")
    return "accepted"


def limit_memory(extra: int = MEMORY_BYTES) -> int:
    """Cap this process's address space at what it holds now plus `extra`; returns the cap.

    Python, numpy and torch reserve some 0.7 GB of address space on import, before any input is
    read, so the 1 GB an input may use is counted above that baseline."""
    cap = _address_space() + extra
    resource.setrlimit(resource.RLIMIT_AS, (cap, resource.getrlimit(resource.RLIMIT_AS)[1]))
    return cap


# The command line under the same rule: imports first (torch too when the command needs it), then the cap.
_CLI_MAIN = """import sys
if sys.argv[1] in ("verify", "run"):
    import circuitc.artifact
from circuitc.cli import main
from fuzz_corpus import limit_memory
limit_memory()
sys.exit(main(sys.argv[1:]))
"""
_CLI_OK = {0, 1, 2}     # success, fmt --check / verify below the bar, bad input; 3 is a bug


def _run_cli(case: Case, fx: Fixtures) -> str:
    """Run the command line; its CPU time counts towards the input's (see guarded)."""
    argv = [sys.executable, "-c", _CLI_MAIN, *case.argv]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]))
    wall = SECONDS * WALL_FACTOR - 1        # before the alarm, so that the report names the command
    try:
        done = subprocess.run(argv, cwd=fx.root, stdin=subprocess.DEVNULL, capture_output=True, timeout=wall,
                              env=env)
    except subprocess.TimeoutExpired:
        raise CliFailure(f"`circuitc {' '.join(case.argv)}` ran over {wall:g} s of wall-clock time") from None
    err = done.stderr.decode("utf-8", "replace")
    if done.returncode not in _CLI_OK or "Traceback" in err or "internal error" in err or "out of memory" in err:
        tail = "\n".join(err.strip().splitlines()[-12:])
        raise CliFailure(f"`circuitc {' '.join(case.argv)}` exited with {done.returncode}:\n{tail}", err)
    return "accepted" if done.returncode == 0 else "refused"


def run_case(case: Case, fx: Fixtures) -> str:
    """Run one case: "accepted", "refused" (a CircuitError that renders), or an exception (a failure)."""
    fx.write(case.files)
    try:
        if case.kind == "cli":
            return _run_cli(case, fx)
        if case.kind in ("circ", "circ_soup"):
            _run_format(case)
        runner = {"circ": _run_api, "circ_soup": _run_api, "artifact": _run_artifact, "inputs": _run_inputs}
        return runner.get(case.kind, _run_file)(case, fx)
    except CircuitError as e:
        check_error(e)
        return "refused"
    finally:
        fx.clean()


# ============================================================================================
# Running under limits


class Hang(BaseException):
    """Raised by the timers in an input that runs over its time (a BaseException, so that no
    `except Exception` in the code under test can swallow it)."""


_MEMORY_WORDS = re.compile(r"allocate memory|out of memory|can't start new thread|Cannot allocate", re.I)


@dataclass
class Outcome:
    kind: str
    index: int
    status: str                    # "accepted", "refused" or "failed"
    seconds: float                 # wall-clock time
    cpu: float = 0.0               # CPU time, the measure of the time limit
    growth: int = 0                # peak resident memory above what the process had before the input
    peak: int = 0                  # the peak itself
    failure: dict | None = None


def _frames(e: BaseException) -> list[tuple[str, int, str]]:
    """(file, line, function) of the traceback, the command line's own for a CliFailure."""
    if isinstance(e, CliFailure):
        return e.frames
    return [(f.filename, f.lineno, f.name) for f in traceback.extract_tb(e.__traceback__)]


def _in_circuitc(path: str) -> str | None:
    """`circuitc/...` for a file of the package, else None."""
    return path[path.rindex("/circuitc/") + 1:] if "/circuitc/" in path else None


def _where(e: BaseException) -> str:
    """The innermost frame of circuitc's code that the exception went through: failures with the
    same place are one bug."""
    frames = _frames(e)
    if isinstance(e, CliFailure) and not frames:
        code = re.search(r"exited with (-?\d+)", str(e))
        return f"exit {code.group(1)}" if code else "timeout"
    own = [f for f in frames if _in_circuitc(f[0])] or frames
    return f"{Path(own[-1][0]).name}:{own[-1][1]} in {own[-1][2]}" if own else "?"


def describe(e: BaseException, category: str | None = None) -> dict:
    """What a failure report needs: the category, the exception, where it was raised, circuitc's
    frames on the way (`stack`, outermost first) and the traceback's end."""
    where = _where(e)
    stack = [f"{_in_circuitc(f)}:{n} in {name}" for f, n, name in _frames(e) if _in_circuitc(f)]
    if category is None:
        category = ("hang" if isinstance(e, Hang) else "cli" if isinstance(e, CliFailure)
                    else "memory" if isinstance(e, MemoryError) or _MEMORY_WORDS.search(str(e)) else "exception")
    lines = "".join(traceback.format_exception(type(e), e, e.__traceback__)).rstrip().splitlines()
    return {"category": category, "type": type(e).__name__, "message": str(e)[:2000], "where": where,
            "stack": stack, "traceback": lines[-16:]}


@contextlib.contextmanager
def time_limits(limit: float):
    """Stop the code inside at `limit` seconds of CPU time (SIGPROF: the input's own work, however
    busy the machine is) or WALL_FACTOR times that of wall-clock time (SIGALRM: an input that blocks
    without computing)."""
    def stop(seconds: float, what: str):
        def handler(signum, frame):
            raise Hang(f"ran over {seconds:g} s of {what}")
        return handler
    old = {signal.SIGPROF: signal.signal(signal.SIGPROF, stop(limit, "CPU time")),
           signal.SIGALRM: signal.signal(signal.SIGALRM, stop(limit * WALL_FACTOR, "wall-clock time"))}
    signal.setitimer(signal.ITIMER_PROF, limit)
    signal.setitimer(signal.ITIMER_REAL, limit * WALL_FACTOR)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.setitimer(signal.ITIMER_REAL, 0)
        for sig, handler in old.items():
            signal.signal(sig, handler)


def cpu_seconds() -> float:
    """CPU time of this process and of its finished children (a command-line run)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def guarded(case: Case, fx: Fixtures, index: int = 0, limit: float = SECONDS, measure_memory: bool = False) -> Outcome:
    """Run a case within `limit` seconds (see time_limits); every exception but CircuitError is a failure."""
    before = _rss() if measure_memory else 0
    if measure_memory:
        _reset_peak()
    start, cpu_start = time.perf_counter(), cpu_seconds()
    try:
        with time_limits(limit):
            status, failure = run_case(case, fx), None
    except (Exception, Hang) as e:
        status, failure = "failed", describe(e)
    seconds, cpu = time.perf_counter() - start, cpu_seconds() - cpu_start
    if failure is None and cpu > limit:      # a command line's own time, or code deaf to signals
        status, failure = "failed", {"category": "hang", "type": "Slow", "where": case.kind, "traceback": [],
                                     "message": f"took {cpu:.1f} s of CPU time, over {limit:g} s"}
    peak = _peak_rss() if measure_memory else 0
    return Outcome(case.kind, index, status, seconds, cpu, max(0, peak - before), peak, failure)


def _status_kib(key: str) -> int:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _rss() -> int:
    return _status_kib("VmRSS")


def _peak_rss() -> int:
    return _status_kib("VmHWM")


def _address_space() -> int:
    return _status_kib("VmSize")


def _reset_peak() -> None:
    """Start the peak-resident-memory counter (VmHWM) afresh, so that it measures one input (Linux)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


# ============================================================================================
# Reproducers


def save_case(case: Case, directory: Path, seed: int, index: int, failure: dict | None = None) -> Path:
    """Write a case where `benchmarks/fuzz.py --replay DIR` runs it again: its files, its text and case.json."""
    directory.mkdir(parents=True, exist_ok=True)
    for rel, data in case.files.items():
        path = directory / "files" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    if case.text is not None:
        (directory / "input.txt").write_bytes(_as_bytes(case.text))
    meta = {"kind": case.kind, "seed": seed, "index": index, "entry": case.entry, "base": case.base,
            "argv": list(case.argv), "label": case.label, "text": case.text is not None, "failure": failure}
    (directory / "case.json").write_text(json.dumps(meta, indent=2, ensure_ascii=True))
    return directory


def load_case(directory: Path) -> Case:
    meta = json.loads((directory / "case.json").read_text())
    files = {str(p.relative_to(directory / "files")): p.read_bytes()
             for p in sorted((directory / "files").rglob("*")) if p.is_file()} if (directory / "files").is_dir() else {}
    text = (directory / "input.txt").read_bytes().decode("utf-8", "surrogatepass") if meta["text"] else None
    return Case(meta["kind"], meta["entry"], files, text, meta["base"], tuple(meta["argv"]), meta["label"])


# ============================================================================================
# A worker process of benchmarks/fuzz.py (here, so that a spawned process can import it)


def warm_up_cases(sources: Sources) -> list[Case]:
    """Unmutated inputs of every kind: running them loads what the front ends load lazily."""
    cases = [Case("circ", "warm.circ", text=MLP_FILES), Case("inputs", "fa", text="a=1 b=0 cin=1",
                                                            argv=("assignments",))]
    for kind in ("bench", "blif", "aag", "aig"):
        data = sources[kind][0].data
        cases.append(Case(kind, f"warm.{kind}", {f"warm.{kind}": data if isinstance(data, bytes) else _as_bytes(data)}))
    for files in sources.artifacts.values():
        cases.append(Case("artifact", "art", {f"art/{name}": data for name, data in files.items()}))
    return cases


def memory_status() -> dict:
    return {"rss": _rss(), "address_space": _address_space()}


def serve(conn, seed: int, bases: str, scratch: str, seconds: float, memory: int) -> None:
    """Run the cases named by (kind, index) lists received on `conn`, one Outcome sent back per case.

    Every import and a first case of each kind come before the memory cap, so the cap counts what
    an input takes above that baseline."""
    import torch  # here, not above: the tests' text kinds and the parent process need no torch

    torch.set_num_threads(1)        # one worker per core
    sources = Sources(read_artifacts(Path(bases)))
    fx = Fixtures(Path(scratch))
    for case in warm_up_cases(sources):
        guarded(case, fx, -1, seconds)
    baseline = memory_status()
    cap = limit_memory(memory)
    conn.send(("ready", dict(baseline, cap=cap)))
    while True:
        tasks = conn.recv()
        if tasks is None:
            return
        for kind, index in tasks:
            try:
                case = make_case(kind, case_rng(seed, kind, index), sources)
            except Exception as e:       # a bug of the fuzzer, reported as such rather than lost
                conn.send(("done", Outcome(kind, index, "failed", 0.0, failure=describe(e, "harness")), 0))
                continue
            conn.send(("done", guarded(case, fx, index, seconds, measure_memory=True), case.size()))
