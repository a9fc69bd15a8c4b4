"""A shared table of `.circ` programs, each with an independent reference written in plain Python.

Every case is a small record: the source text, the circuit to check, and a reference function
that says what the circuit computes, written with Python operators (never with circuitc). The
reference interpreter is checked against this table in test_cases.py; later stages (compiled
networks, exporters) can run the same table through their own evaluators:

    from cases import CASES, expected_bits, input_rows
    for case in CASES:
        circuit = circuitc.parse(case.source).circuit(case.circuit)
        X = input_rows(case, circuit)
        assert (my_evaluator(circuit, X) == expected_bits(case, circuit, X)).all()

Conventions of a reference function, for a boolean circuit (`kind == "boolean"`): it takes
{input port: int} and returns {output port: int}. A scalar port holds 0 or 1; a vector port of
width w holds an integer 0 <= v < 2**w whose bit i is the wire `name[i]` (LSB first). For an MLP
circuit (`kind == "mlp"`) values are floats: a scalar port holds a float, a vector port a 1-D
numpy array, and the reference returns the same shapes.

Concatenation `{p0, p1, ...}` lists bits from the least significant upwards: p0 supplies the low
bits. A 1-bit operand (or a constant 0/1) is broadcast to every bit of a wider operand.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import numpy as np

EXHAUSTIVE_MAX_BITS = 12
RANDOM_ROWS = 2000


@dataclass(frozen=True)
class Case:
    name: str
    source: str
    circuit: str
    reference: Callable[[Mapping[str, object]], Mapping[str, object]]
    kind: str = "boolean"  # "boolean" or "mlp"

    def __repr__(self) -> str:  # pytest ids and failure reports stay short
        return f"Case({self.name!r})"


def _bits(v: int, i: int) -> int:
    return (v >> i) & 1


def _mask(w: int) -> int:
    return (1 << w) - 1


# --------------------------------------------------------------------------------------------
# 1. the signal operators and their precedence: ~ binds tightest, then &, ^, |, and ?: last

OPERATORS = """
circuit ops {
  in a, b, c;
  out y_and, y_or, y_xor, y_not, y_prec, y_paren, y_chain;
  y_and = a & b;
  y_or = a | b;
  y_xor = a ^ b;
  y_not = ~a;
  y_prec = a | b & ~c ^ a;     # a | ((b & ~c) ^ a)
  y_paren = (a | b) & c;
  y_chain = ~~a ^ b ^ c ^ 1;
}
"""


def ref_operators(i):
    a, b, c = i["a"], i["b"], i["c"]
    return {"y_and": a & b, "y_or": a | b, "y_xor": a ^ b, "y_not": 1 - a,
            "y_prec": a | ((b & (1 - c)) ^ a), "y_paren": (a | b) & c, "y_chain": a ^ b ^ c ^ 1}


# 2. the ternary and broadcasting of a 1-bit operand

TERNARY = """
circuit mux {
  in s, e, a[4], b[4];
  out m[4], k[4], n[4], t, nest[4];
  m = s ? a : b;
  k = a & e;                   # e is used for every bit of a
  n = s ? a : e;               # ... also in a ternary
  t = s ? a[0] : ~b[1];
  nest = s ? (e ? a : b) : ~a | e;
}
"""


def ref_ternary(i):
    s, e, a, b = i["s"], i["e"], i["a"], i["b"]
    ef = _mask(4) if e else 0
    return {"m": a if s else b, "k": a & ef, "n": a if s else ef,
            "t": _bits(a, 0) if s else 1 - _bits(b, 1),
            "nest": (a if e else b) if s else ((~a & _mask(4)) | ef)}


# 3. every builtin gate, with vector arguments flattened into one gate

BUILTINS = """
circuit gates {
  in a, b, c, d, e, v[3];
  out g_and, g_or, g_xor, g_maj3, g_maj5, g_nand, g_nor, g_xnor, g_not[3], r_and, r_or, r_maj, one;
  g_and = and(a, b, c);
  g_or = or(a, b);
  g_xor = xor(a, b, c, d);
  g_maj3 = maj(a, b, c);
  g_maj5 = maj(a, b, c, d, e);
  g_nand = nand(a, b);
  g_nor = nor(a, b, c);
  g_xnor = xnor(a, b);
  g_not = not(v);
  r_and = and(v);              # all bits of v
  r_or = or(v[0:2], e);
  r_maj = maj(v, a, b);        # five bits
  one = xor(a);
}
"""


def ref_builtins(i):
    a, b, c, d, e, v = (i[k] for k in "abcdev")
    vb = [_bits(v, k) for k in range(3)]
    return {"g_and": a & b & c, "g_or": a | b, "g_xor": a ^ b ^ c ^ d,
            "g_maj3": int(a + b + c >= 2), "g_maj5": int(a + b + c + d + e >= 3),
            "g_nand": 1 - (a & b), "g_nor": 1 - (a | b | c), "g_xnor": 1 - (a ^ b),
            "g_not": ~v & 7, "r_and": int(v == 7), "r_or": vb[0] | vb[1] | e,
            "r_maj": int(sum(vb) + a + b >= 3), "one": a}


# 4. concatenation, bit selects and slices, on both sides of `=`

CONCAT = """
circuit cat {
  in a[4], b[3];
  out y[7], r[4], z[3], w[3];
  y = {a[1:3], b, a[0], 1};    # low bits first
  r = {a[3], a[2], a[1], a[0]};
  z = b[0:3] ^ a[1:4];
  w[0:2] = a[2:4];
  w[2] = b[1];
}
"""


def ref_concat(i):
    a, b = i["a"], i["b"]
    rev = sum(_bits(a, 3 - k) << k for k in range(4))
    return {"y": ((a >> 1) & 3) | (b << 2) | (_bits(a, 0) << 5) | (1 << 6), "r": rev,
            "z": b ^ (a >> 1), "w": ((a >> 2) & 3) | (_bits(b, 1) << 2)}


# 5. constants: 0/1 literals, whole-vector fills, bit() of decimal, binary and hex integers

CONSTANTS = """
param K = 0b1011;
circuit consts {
  in x[4];
  out y[4], zero[4], ones[4], h[6], m[4], lit;
  y = x ^ {bit(K, 0), bit(K, 1), bit(K, 2), bit(K, 3)};
  zero = 0;
  ones = 1;                    # a 1-bit constant fills the vector
  for i in 0..6 { h[i] = bit(0x2a, i); }
  m = x & 1 | bit(12, 0);
  lit = 0 | x[3] & 1;
}
"""


def ref_constants(i):
    x = i["x"]
    return {"y": x ^ 0b1011, "zero": 0, "ones": 15, "h": 42, "m": x, "lit": _bits(x, 3)}


# 6. loops and tuple assignment: a ripple-carry adder of full adders

RIPPLE = """
circuit full_adder {
  in a, b, cin;
  out s, cout;
  s = a ^ b ^ cin;
  cout = maj(a, b, cin);
}

circuit ripple<N=4> {
  in x[N], y[N], cin;
  out s[N], cout;
  wire c[N + 1];
  c[0] = cin;
  for i in 0..N {
    (s[i], c[i + 1]) = full_adder(x[i], y[i], c[i]);
  }
  cout = c[N];
}
"""


def ref_ripple(i):
    t = i["x"] + i["y"] + i["cin"]
    return {"s": t & 15, "cout": t >> 4}


# 7. if / else if / else on parameters, local params, integer functions and comparisons

IF_ELSE = """
circuit pick<M> {
  in x[4];
  out y[4];
  param H = M * 2 + 1;
  if M == 0 {
    y = x;
  } else if M == 1 && H == 3 {
    y = ~x;
  } else if !(M < 3) || M == 2 {
    for i in 0..4 {
      if i % 2 == 0 { y[i] = x[i]; } else { y[i] = 0; }
    }
  }
}

circuit choose {
  in x[4];
  out p0[4], p1[4], p2[4], p5[4];
  p0 = pick<0>(x);
  p1 = pick<1>(x);
  p2 = pick<M=2>(x);
  p5 = pick<max(5, 1)>(x);
}
"""


def ref_if_else(i):
    x = i["x"]
    return {"p0": x, "p1": ~x & 15, "p2": x & 0b0101, "p5": x & 0b0101}


# 8. parametric instances: defaults, positional and keyword parameters, `.member` outputs,
#    keyword inputs

PARAMETRIC = """
circuit rot<N=4, K=1> {
  in x[N];
  out y[N];
  for i in 0..N { y[(i + K) % N] = x[i]; }
}

circuit halfadd {
  in a, b;
  out s, c;
  s = a ^ b;
  c = a & b;
}

circuit inst {
  in x[4], p, q;
  out r1[4], r2[4], r3[4], r6[6], hs, hc, kw;
  r1 = rot(x);
  r2 = rot<4, 2>(x);
  r3 = rot<K=3>(x);
  r6 = rot<K=2, N=6>({x, p, q});
  hs = halfadd(p, q).s;
  hc = halfadd(b=q, a=x[0]).c;
  kw = halfadd(q, b=p).s;
}
"""


def _rot(x, n, k):
    return sum(_bits(x, j) << ((j + k) % n) for j in range(n))


def ref_parametric(i):
    x, p, q = i["x"], i["p"], i["q"]
    return {"r1": _rot(x, 4, 1), "r2": _rot(x, 4, 2), "r3": _rot(x, 4, 3),
            "r6": _rot(x | (p << 4) | (q << 5), 6, 2), "hs": p ^ q, "hc": _bits(x, 0) & q,
            "kw": p ^ q}


# 9. recursion with a base case: parity by splitting in halves

PARITY = """
circuit parity<N> {
  in x[N];
  out y;
  if N == 1 {
    y = x[0];
  } else {
    y = parity<N / 2>(x[0:N / 2]) ^ parity<N - N / 2>(x[N / 2:N]);
  }
}

circuit par11 {
  in v[11];
  out odd, even;
  odd = parity<11>(v);
  even = ~parity<N=11>(v);
}
"""


def ref_parity(i):
    p = bin(i["v"]).count("1") & 1
    return {"odd": p, "even": 1 - p}


# 10. back-quoted names: netlist wires, reserved words, odd characters

QUOTED = """
circuit `odd names` {
  in `22`, `in`, `a.b`, `x y`[2];
  out `out`, `1-2`[2];
  `out` = `22` & `in` | `a.b`;
  `1-2` = `x y` ^ `in`;
}
"""


def ref_quoted(i):
    return {"out": (i["22"] & i["in"]) | i["a.b"], "1-2": i["x y"] ^ (3 if i["in"] else 0)}


# 11. dataflow: a wire may be used before the statement that assigns it, even before it is
#     declared; an undeclared scalar target is an implicit wire

DATAFLOW = """
circuit flow {
  out y, z[2];
  y = t & c;
  z = {u, w[1]};
  wire w[2];
  t = u | a;
  w[1] = ~t;
  w[0] = 0;
  u = a ^ b;
  in a, b, c;
}
"""


def ref_dataflow(i):
    a, b, c = i["a"], i["b"], i["c"]
    u = a ^ b
    t = u | a
    return {"y": t & c, "z": u | ((1 - t) << 1)}


# 12. an MLP circuit with inline weights

MLP = """
mlp small {
  in x[2], t;
  out y, z;
  layer relu {
    weights = [[1, -1, 0.5],
               [0.5, 2, -1e0],
               [-.25, 1., 3]];
    bias = [0, 1, -0.5,];
  }
  layer relu { weights = [[1, 0, 1], [0, 1, -1]]; bias = [0.25, 0]; }
  layer linear { weights = [[1, 1], [0, -2]]; }
}
"""

_MLP_W = ([[1, -1, 0.5], [0.5, 2, -1], [-0.25, 1, 3]], [[1, 0, 1], [0, 1, -1]], [[1, 1], [0, -2]])
_MLP_B = ([0, 1, -0.5], [0.25, 0], [0, 0])


def ref_mlp(i):
    h = np.array([i["x"][0], i["x"][1], i["t"]], dtype=np.float64)
    for k, (w, b) in enumerate(zip(_MLP_W, _MLP_B)):
        h = np.array(w, dtype=np.float64) @ h + np.array(b, dtype=np.float64)
        if k < 2:
            h = np.maximum(h, 0.0)
    return {"y": float(h[0]), "z": float(h[1])}


# 13. an unsigned comparator, scanning from the most significant bit

COMPARE = """
circuit cmp<N=5> {
  in a[N], b[N];
  out lt, eq, gt;
  wire l[N + 1], e[N + 1];
  l[N] = 0;
  e[N] = 1;
  for k in 0..N {
    param i = N - 1 - k;
    l[i] = l[i + 1] | e[i + 1] & ~a[i] & b[i];
    e[i] = e[i + 1] & ~(a[i] ^ b[i]);
  }
  lt = l[0];
  eq = e[0];
  gt = ~(l[0] | e[0]);
}
"""


def ref_compare(i):
    a, b = i["a"], i["b"]
    return {"lt": int(a < b), "eq": int(a == b), "gt": int(a > b)}


# 14. a 3x3 array multiplier built from adders

MULTIPLY = RIPPLE + """
circuit mul3 {
  in a[3], b[3];
  out p[6];
  wire pp0[3], pp1[3], pp2[3], s1[4], s2[4];
  for j in 0..3 {
    pp0[j] = a[j] & b[0];
    pp1[j] = a[j] & b[1];
    pp2[j] = a[j] & b[2];
  }
  p[0] = pp0[0];
  (s1[0:3], s1[3]) = ripple<3>({pp0[1:3], 0}, pp1, 0);
  p[1] = s1[0];
  (s2[0:3], s2[3]) = ripple<N=3>(s1[1:4], pp2, 0);
  p[2:6] = s2;
}
"""


def ref_multiply(i):
    return {"p": i["a"] * i["b"]}


# 15. a 16-bit adder (32 input bits: checked on random rows) with keyword instance inputs

ADD16 = """
circuit fa {
  in a, b, cin;
  out s, cout;
  s = xor(a, b, cin);
  cout = a & b | cin & (a ^ b);
}

circuit add<W=16> {
  in x[W], y[W];
  out s[W + 1];
  wire c[W + 1];
  c[0] = 0;
  for i in 0..W {
    (s[i], c[i + 1]) = fa(cin=c[i], b=y[i], a=x[i]);
  }
  s[W] = c[W];
}
"""


def ref_add16(i):
    return {"s": i["x"] + i["y"]}


# 16. a 3-to-8 decoder: ternaries on constant conditions select the literals

DECODER = """
circuit dec3 {
  in s[3], en;
  out y[8];
  for i in 0..8 {
    y[i] = en & and(bit(i, 0) ? s[0] : ~s[0], bit(i, 1) ? s[1] : ~s[1], bit(i, 2) ? s[2] : ~s[2]);
  }
}
"""


def ref_decoder(i):
    return {"y": (1 << i["s"]) if i["en"] else 0}


# 17. a circuit over a feature set: its one input is the feature vector

FEATURES = """
features f[6] { active = 2; }
circuit g over f {
  out y, z;
  y = f[0] & f[1] | f[5];
  z = xor(f[2:5]);
}
"""


def ref_features(i):
    f = i["f"]
    return {"y": (_bits(f, 0) & _bits(f, 1)) | _bits(f, 5), "z": bin((f >> 2) & 7).count("1") & 1}


# 18. global params and integer arithmetic: functions, powers, floor division and modulo

INTEGERS = """
param W = clog2(9);                # 4
param L = log2(16) - abs(-1);      # 3
circuit ints {
  in x[W];
  out y[2 ** 2 - 1], d[min(W, 8, 6) / 3], m;
  for i in 0..L { y[i] = x[(i + 1) % W]; }
  d = x[-7 / 2 + 4];               # floor division: -7 / 2 == -4
  m = x[-1 % W];                   # floor modulo: -1 % 4 == 3
}
"""


def ref_integers(i):
    x = i["x"]
    return {"y": (x >> 1) & 7, "d": _bits(x, 0), "m": _bits(x, 3)}


# 19. several outputs of several instances, and an instance's output read by another instance

MEMBERS = """
circuit swap {
  in a[2];
  out lo, hi, both[2];
  lo = a[1];
  hi = a[0];
  both = {a[1], a[0]};
}

circuit use_members {
  in x[2], y[2];
  out a, b, c[2], d[2];
  a = swap(x).lo;
  b = swap(y).hi ^ swap(x).hi;
  c = swap(swap(y).both).both;
  (d[0], d[1], c2) = swap(x);
  wire c2[2];
}
"""


def ref_members(i):
    x, y = i["x"], i["y"]
    return {"a": _bits(x, 1), "b": _bits(y, 0) ^ _bits(x, 0), "c": y,
            "d": _bits(x, 1) | (_bits(x, 0) << 1)}


# 20. a wide circuit (24 input bits) of gates with many inputs

WIDE = """
circuit wide {
  in a[12], b[12];
  out all_eq, any_and, maj_a, x[12];
  all_eq = and(xnor(a[0], b[0]), ~(a[1:12] ^ b[1:12]));
  any_and = or(a & b);
  maj_a = maj(a[0:11]);
  x = a ^ b ^ {b[11], b[0:11]};
}
"""


def ref_wide(i):
    a, b = i["a"], i["b"]
    rot = ((b << 1) | (b >> 11)) & _mask(12)
    return {"all_eq": int(a == b), "any_and": int(a & b != 0),
            "maj_a": int(bin(a & _mask(11)).count("1") >= 6), "x": a ^ b ^ rot}


CASES: tuple[Case, ...] = (
    Case("operators", OPERATORS, "ops", ref_operators),
    Case("ternary_broadcast", TERNARY, "mux", ref_ternary),
    Case("builtins", BUILTINS, "gates", ref_builtins),
    Case("concat_slices", CONCAT, "cat", ref_concat),
    Case("constants", CONSTANTS, "consts", ref_constants),
    Case("ripple_adder", RIPPLE, "ripple", ref_ripple),
    Case("if_else_params", IF_ELSE, "choose", ref_if_else),
    Case("parametric_instances", PARAMETRIC, "inst", ref_parametric),
    Case("parity_recursive", PARITY, "par11", ref_parity),
    Case("quoted_names", QUOTED, "odd names", ref_quoted),
    Case("dataflow_order", DATAFLOW, "flow", ref_dataflow),
    Case("mlp_inline", MLP, "small", ref_mlp, kind="mlp"),
    Case("comparator", COMPARE, "cmp", ref_compare),
    Case("multiplier", MULTIPLY, "mul3", ref_multiply),
    Case("adder16", ADD16, "add", ref_add16),
    Case("decoder", DECODER, "dec3", ref_decoder),
    Case("over_features", FEATURES, "g", ref_features),
    Case("integer_params", INTEGERS, "ints", ref_integers),
    Case("instance_members", MEMBERS, "use_members", ref_members),
    Case("wide_gates", WIDE, "wide", ref_wide),
)

CASES_BY_NAME = {c.name: c for c in CASES}


# --------------------------------------------------------------------------------------------
# Helpers that apply a reference to rows of bits (plain Python; they read only the port names
# and widths of a circuit: `.inputs` / `.outputs`, each with `.name` and `.width`).

def _size(port) -> int:
    return 1 if port.width is None else port.width


def split_row(ports: Sequence, row: Sequence) -> dict[str, object]:
    """One row of input values (in input-bit order) as {port: value} in the reference's convention."""
    out: dict[str, object] = {}
    k = 0
    for p in ports:
        chunk = row[k:k + _size(p)]
        k += _size(p)
        out[p.name] = int(chunk[0]) if p.width is None else sum(int(b) << j for j, b in enumerate(chunk))
    return out


def join_row(ports: Sequence, values: Mapping[str, object]) -> list[int]:
    """{port: int} as a row of bits in output-bit order."""
    if set(values) != {p.name for p in ports}:
        raise KeyError(f"reference gives {sorted(values)}, the circuit has {[p.name for p in ports]}")
    row: list[int] = []
    for p in ports:
        v = int(values[p.name])
        if not 0 <= v < (1 << _size(p)):
            raise ValueError(f"reference value {v} does not fit output `{p.name}`")
        row.extend((v >> j) & 1 for j in range(_size(p)))
    return row


def input_rows(case: Case, circuit, seed: int = 0) -> np.ndarray:
    """The rows to check: every combination up to EXHAUSTIVE_MAX_BITS input bits, else random rows.

    For an MLP, the 0/1 corners plus random reals in [-2, 2].
    """
    n = sum(_size(p) for p in circuit.inputs)
    rng = np.random.default_rng(seed)
    if case.kind == "mlp":
        corners = np.array(list(itertools.product((0.0, 1.0), repeat=n)), dtype=np.float64).reshape(-1, n)
        return np.concatenate([corners, rng.uniform(-2, 2, size=(200, n))])
    if n <= EXHAUSTIVE_MAX_BITS:
        return np.array(list(itertools.product((0, 1), repeat=n)), dtype=np.uint8).reshape(-1, n)
    return rng.integers(0, 2, size=(RANDOM_ROWS, n), dtype=np.uint8)


def expected_bits(case: Case, circuit, X: np.ndarray) -> np.ndarray:
    """The reference's outputs for the rows X, in output-bit order."""
    if case.kind == "mlp":
        out = []
        for row in X:
            args: dict[str, object] = {}
            k = 0
            for p in circuit.inputs:
                chunk = np.asarray(row[k:k + _size(p)], dtype=np.float64)
                k += _size(p)
                args[p.name] = float(chunk[0]) if p.width is None else chunk
            got = case.reference(args)
            if set(got) != {p.name for p in circuit.outputs}:
                raise KeyError(f"reference gives {sorted(got)}, the circuit has {[p.name for p in circuit.outputs]}")
            out.append([float(x) for p in circuit.outputs for x in np.atleast_1d(got[p.name])])
        return np.array(out, dtype=np.float64).reshape(len(X), -1)
    return np.array([join_row(circuit.outputs, case.reference(split_row(circuit.inputs, row))) for row in X],
                    dtype=np.uint8).reshape(len(X), -1)
