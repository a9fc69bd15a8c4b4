"""The `.circ` language: what each construct elaborates to (Spec shape, gates, names, networks,
feature sets, includes, weight files, source hashes and Spec equality)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import circuitc
from circuitc import CircuitError, evaluate, load_spec, parse
from circuitc.errors import Span
from circuitc.spec import (
    BoolCircuit,
    FeatureSet,
    Gate,
    GateTable,
    InstanceGroup,
    MLPCircuit,
    Network,
    Op,
    Port,
    Spec,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

FA = """
circuit fa {
  in a, b, cin;
  out s, cout;
  s = a ^ b ^ cin;
  cout = maj(a, b, cin);
}
"""

ADDER = FA + """
circuit adder<N=8> {
  in x[N], y[N];
  out s[N], c;
  wire carry[N + 1];
  carry[0] = 0;
  for i in 0..N {
    (s[i], carry[i + 1]) = fa(x[i], y[i], carry[i]);
  }
  c = carry[N];
}
"""


def ops(circuit):
    return [g.op for g in circuit.gates]


# --------------------------------------------------------------------------------------------
# ports and bit names

def test_ports_and_bit_names():
    spec = parse("circuit c { in a, v[3]; out y[2], z; wire t; t = a; y = v[0:2]; z = t; }")
    assert isinstance(spec, Spec)
    c = spec.circuit("c")
    assert isinstance(c, BoolCircuit) and c.kind == "boolean"
    assert c.inputs == (Port("a"), Port("v", 3))
    assert c.outputs == (Port("y", 2), Port("z"))
    assert c.input_bits == ("a", "v[0]", "v[1]", "v[2]")
    assert c.output_bits == ("y[0]", "y[1]", "z")
    assert c.features is None and c.params == ()
    c.check()


def test_spec_lookup_helpers():
    spec = parse(ADDER)
    assert spec.circuit("fa").name == "fa"
    assert [c.name for c in spec] == ["fa", "adder"]
    with pytest.raises(CircuitError, match="name one"):
        spec.circuit()
    with pytest.raises(CircuitError) as err:
        spec.circuit("ader")
    assert err.value.diagnostics[0].hint == "did you mean `adder`?"


def test_width_one_vector_differs_from_scalar():
    c = parse("circuit c { in a[1]; out y; y = a[0]; }").circuit()
    assert c.inputs == (Port("a", 1),)
    assert c.input_bits == ("a[0]",)


def test_ports_may_be_declared_in_any_order_and_several_statements():
    c = parse("circuit c { out y; in b; y = a & b; in a; }").circuit()
    assert [p.name for p in c.inputs] == ["b", "a"]


# --------------------------------------------------------------------------------------------
# gates

def test_chain_of_one_operator_is_one_gate():
    c = parse("circuit c { in a, b, c, d; out y; y = a & b & c; }").circuit()
    assert len(c.gates) == 1
    g = c.gates[0]
    assert (g.out, g.op, g.args) == ("y", Op.AND, ("a", "b", "c"))


@pytest.mark.parametrize("expr", ["a & b & c", "(a & b) & c", "a & (b & c)", "and(a, b, c)"])
def test_and_forms_elaborate_alike(expr):
    c = parse(f"circuit c {{ in a, b, c; out y; y = {expr}; }}").circuit()
    assert [(g.out, g.op, g.args) for g in c.gates] == [("y", Op.AND, ("a", "b", "c"))]


def test_mixed_operators_are_separate_gates():
    c = parse("circuit c { in a, b, d; out y; y = a & b | d; }").circuit()
    assert sorted(ops(c)) == sorted([Op.AND, Op.OR])
    assert c.gates[-1].out == "y" and c.gates[-1].op is Op.OR


@pytest.mark.parametrize("op, gate", [("^", Op.XOR), ("&", Op.AND), ("|", Op.OR)])
def test_result_drives_output_directly(op, gate):
    c = parse(f"circuit c {{ in a, b; out y; y = a {op} b; }}").circuit()
    assert [(g.out, g.op, g.args) for g in c.gates] == [("y", gate, ("a", "b"))]


def test_vector_operator_is_one_gate_per_bit():
    c = parse("circuit c { in a[3], b[3]; out y[3]; y = a ^ b; }").circuit()
    assert [(g.out, g.op, g.args) for g in c.gates] == [
        (f"y[{i}]", Op.XOR, (f"a[{i}]", f"b[{i}]")) for i in range(3)]


def test_copy_is_a_buffer():
    c = parse("circuit c { in a; out y; y = a; }").circuit()
    assert [(g.out, g.op, g.args) for g in c.gates] == [("y", Op.BUF, ("a",))]


def test_not_and_builtins():
    c = parse("circuit c { in a, b, c; out n, m, k; n = ~a; m = maj(a, b, c); k = nand(a, b); }").circuit()
    by_out = {g.out: g for g in c.gates}
    assert (by_out["n"].op, by_out["n"].args) == (Op.NOT, ("a",))
    assert (by_out["m"].op, by_out["m"].args) == (Op.MAJ, ("a", "b", "c"))
    assert by_out["k"].op is Op.NOT
    inner = by_out[by_out["k"].args[0]]
    assert (inner.op, inner.args) == (Op.AND, ("a", "b"))
    assert len(c.gates) == 4


def test_constant_output_is_one_constant_gate():
    c = parse("circuit c { out y; y = 1; }").circuit()
    assert [(g.out, g.op, g.args) for g in c.gates] == [("y", Op.CONST1, ())]


def test_constants_are_shared():
    c = parse("circuit c { in a[3]; out y[3], z[3]; y = a & 1; z = a | 1; }").circuit()
    assert ops(c).count(Op.CONST1) == 1


def test_broadcast_uses_the_bit_for_every_position():
    c = parse("circuit c { in a[3], s; out y[3]; y = a & s; }").circuit()
    assert [g.args for g in c.gates] == [("a[0]", "s"), ("a[1]", "s"), ("a[2]", "s")]


def test_ternary_elaborates_to_and_or_not():
    c = parse("circuit c { in s, a, b; out y; y = s ? a : b; }").circuit()
    assert sorted(o.value for o in ops(c)) == ["and", "and", "not", "or"]
    assert c.gates[-1].out == "y"


def test_instance_is_inlined_with_prefixed_wires():
    spec = parse(FA + "circuit top { in p, q, r; out t; t = fa(p, q, r).s ^ fa(r, q, p).cout; }")
    top = spec.circuit("top")
    names = {g.out for g in top.gates}
    assert "t" in names
    assert all("/" in n or n == "t" for n in names)
    assert any(n.startswith("fa#0/") for n in names) and any(n.startswith("fa#1/") for n in names)
    # every gate of the instances, plus the xor
    assert len(top.gates) == 2 * len(spec.circuit("fa").gates) + 1
    top.check()


def test_instance_outputs_drive_targets_directly():
    adder = parse(ADDER).circuit("adder")
    by_out = {g.out: g for g in adder.gates}
    for i in range(8):
        # the full adder's gates drive the tuple targets: no copies, no instance-local wires
        assert (by_out[f"s[{i}]"].op, by_out[f"s[{i}]"].args) == (Op.XOR, (f"x[{i}]", f"y[{i}]", f"carry[{i}]"))
        assert by_out[f"carry[{i + 1}]"].op is Op.MAJ
    assert not any("#" in g.out for g in adder.gates)
    assert ops(adder).count(Op.XOR) == ops(adder).count(Op.MAJ) == 8
    assert len(adder.gates) <= 2 * 8 + 3


# Inlining as arrays (a large circuit's gates become a GateTable, expand.TABLE_GATES) must give
# what inlining gate by gate gives: the same gates in the same order, the same names and spans.

INLINED = """
circuit inv { in a; out y; y = ~a; }
circuit two { in a, b; out p, q; p = inv(a); q = a & b; }
circuit top { in x, y; out o, r; wire t; (o, t) = two(x, 1); r = two(t, y).p ^ inv(y); }
"""

# An output that is also an input, as netlists may have.
PASS_THROUGH = "INPUT(a)\nINPUT(b)\nOUTPUT(a)\nOUTPUT(g)\ng = AND(a, b)\n"

HIERARCHY = ADDER + """
include "pt.bench";
circuit pair<N = 3> {
  in x[N], y[N];
  out s[N], t[N], c, d;
  wire u;
  (s, u) = adder<N>(x, y);
  (t, d) = adder<N>(s, y);
  c = u ^ adder<N>(x, x).c;
}
circuit top<N = 3> {
  in x[N], y[N];
  out s[N], t[N], c, e, p, q, r, k;
  (s, t, c, e) = pair<N>(x, y);
  (p, q) = pt(x[0], pair<N>(y, x).c);
  r = pt(y[1], 1).a ^ pt(y[2], 0).g;
  (k, _unused) = pt(pt(x[1], y[0]).g, r);
  wire _unused;
}
"""


@pytest.fixture
def table_gates(monkeypatch):
    """Sets the size from which a circuit that inlines instances is built as a GateTable."""
    from circuitc.frontend import expand
    return lambda n: monkeypatch.setattr(expand, "TABLE_GATES", n)


def _with_spans(circuit):
    return [(g, g.span, g.span and g.span.offset) for g in circuit.gates]


def test_inlining_as_arrays_names_wires_as_gate_by_gate(table_gates):
    table_gates(1)
    top = parse(INLINED, "h.circ").circuit("top")
    assert isinstance(top.gates, GateTable)
    assert list(top.gates) == [
        Gate("$1", Op.CONST1, ()),
        Gate("o", Op.NOT, ("x",)),                # two's p, which is inv's y: renamed to the target
        Gate("t", Op.AND, ("x", "$1")),
        Gate("two#1/p", Op.NOT, ("t",)),          # an output read in an expression keeps its path
        Gate("two#1/q", Op.AND, ("t", "y")),
        Gate("inv#0/y", Op.NOT, ("y",)),
        Gate("r", Op.XOR, ("two#1/p", "inv#0/y")),
    ]
    # An inlined gate keeps the span of the expression that made it (`~a`), two levels down.
    assert top.gates[1].span == top.gates[3].span == Span("h.circ", 2, 32, 2, 34)


def test_inlining_as_arrays_gives_the_gates_of_inlining_gate_by_gate(tmp_path, table_gates):
    (tmp_path / "pt.bench").write_text(PASS_THROUGH)
    table_gates(1)
    arrays = parse(HIERARCHY, "h.circ", base_dir=tmp_path)
    table_gates(10 ** 9)
    objects = parse(HIERARCHY, "h.circ", base_dir=tmp_path)
    assert isinstance(arrays.circuit("top").gates, GateTable) and isinstance(objects.circuit("top").gates, tuple)
    assert arrays == objects
    assert [_with_spans(c) for c in arrays.circuits] == [_with_spans(c) for c in objects.circuits]
    assert arrays.warnings == objects.warnings and arrays.warnings
    assert circuitc.spec_to_circ(arrays) == circuitc.spec_to_circ(objects)
    top = {g.out: g for g in arrays.circuit("top").gates}
    assert top["s[0]"] == Gate("s[0]", Op.XOR, ("x[0]", "y[0]", "pair#0/adder<N=3>#0/carry[0]"))  # fa's, 3 levels down
    assert top["p"] == Gate("p", Op.BUF, ("x[0]",))           # an output that is an input: copied
    assert top["r"] == Gate("r", Op.XOR, ("y[1]", "pt#2/g"))  # that output read: the argument itself
    assert top["k"] == Gate("k", Op.BUF, ("pt#3/g",))


@pytest.mark.parametrize("n", [1, 10 ** 9])
def test_a_wire_named_like_an_instance_wire_is_driven_twice(n, table_gates):
    table_gates(n)
    src = "circuit inv { in a; out y; wire t; t = ~a; y = t; }\n" \
          "circuit top { in a; out y, z; wire `inv#0/t`; `inv#0/t` = a; y = inv(a); z = `inv#0/t`; }\n"
    with pytest.raises(CircuitError, match="wire `inv#0/t` is driven twice"):
        parse(src)


def test_loop_unrolls():
    c = parse("circuit c { in a[5]; out y[5]; for i in 0..5 { y[i] = ~a[4 - i]; } }").circuit()
    assert [(g.out, g.args) for g in c.gates] == [(f"y[{i}]", (f"a[{4 - i}]",)) for i in range(5)]


def test_empty_loop_range():
    c = parse("circuit c { in a; out y; for i in 3..1 { y = a; } y = ~a; }").circuit()
    assert len(c.gates) == 1


def test_if_chooses_one_branch_and_else_if_chains():
    src = """
    circuit c<M=0> {
      in a, b;
      out y;
      if M == 0 { y = a; } else if M == 1 { y = b; } else { y = a ^ b; }
    }
    network n { use c * 1; use c<1> * 1; use c<7> * 1; active = 1; }
    """
    spec = parse(src)
    got = {c.name: [(g.op, g.args) for g in c.gates] for c in spec.circuits}
    assert got == {"c": [(Op.BUF, ("a",))], "c<M=1>": [(Op.BUF, ("b",))], "c<M=7>": [(Op.XOR, ("a", "b"))]}


def test_local_params_are_scoped_to_their_block():
    src = """
    circuit c {
      in a[4];
      out y[4];
      for i in 0..4 {
        param j = 3 - i;
        y[i] = a[j];
      }
    }
    """
    c = parse(src).circuit()
    assert [g.args for g in c.gates] == [(f"a[{3 - i}]",) for i in range(4)]


def test_dataflow_order_is_free():
    a = parse("circuit c { in a, b; out y; wire t; t = a & b; y = ~t; }").circuit()
    b = parse("circuit c { out y; y = ~t; wire t; t = a & b; in a, b; }").circuit()
    assert evaluate(a, {"a": [0, 1, 1], "b": [1, 1, 0]})["y"].tolist() == [1, 0, 1]
    assert evaluate(b, {"a": [0, 1, 1], "b": [1, 1, 0]})["y"].tolist() == [1, 0, 1]


def test_implicit_scalar_wire():
    c = parse("circuit c { in a, b; out y; t = a ^ b; y = t & a; }").circuit()
    assert "t" in {g.out for g in c.gates}


def test_quoted_names():
    c = parse("circuit `my circuit` { in `22`, `in`; out `a[0]`; `a[0]` = `22` | `in`; }").circuit()
    assert c.name == "my circuit"
    assert c.input_bits == ("22", "in")
    assert c.output_bits == ("a[0]",)


def test_comments_and_integer_literals():
    src = """# leading comment
    param A = 0x10;   # 16
    param B = 0b101;  # 5
    param C = 1_000;
    circuit c { in a[A + B - 20]; out y; y = xor(a); }   # trailing
    """
    assert parse(src).circuit().inputs == (Port("a", 1),)
    assert parse("param C = 1_000; circuit c { in a[C / 500]; out y; y = xor(a); }").circuit().inputs == (Port("a", 2),)


# --------------------------------------------------------------------------------------------
# parameters, canonical names and templates

def test_canonical_names_of_parametric_circuits():
    src = ADDER + """
    network n { use adder * 1; use adder<4> * 2; use adder<N=16> * 3; active = 1; }
    """
    spec = parse(src)
    names = [c.name for c in spec.circuits]
    assert names == ["fa", "adder", "adder<N=4>", "adder<N=16>"]
    assert spec.circuit("adder").params == (("N", 8),)
    assert spec.circuit("adder<N=4>").params == (("N", 4),)
    assert spec.circuit("adder<N=4>").inputs == (Port("x", 4), Port("y", 4))


def test_explicit_default_value_is_the_default_circuit():
    spec = parse(ADDER + "network n { use adder<8> * 1; active = 1; }")
    assert [c.name for c in spec.circuits] == ["fa", "adder"]
    assert spec.networks[0].groups == (InstanceGroup("adder", 1),)
    spec2 = parse(ADDER + "network n { use adder<N=8> * 1; active = 1; }")
    assert spec2 == spec


def test_canonical_name_lists_parameters_in_declaration_order():
    src = """
    circuit r<N=4, K=1> { in x[N]; out y[N]; for i in 0..N { y[(i + K) % N] = x[i]; } }
    network n { use r<K=2, N=6> * 2; use r<K=3> * 1; active = 1; }
    """
    spec = parse(src)
    assert [c.name for c in spec.circuits] == ["r", "r<N=6, K=2>", "r<N=4, K=3>"]
    assert spec.circuit("r<N=6, K=2>").params == (("N", 6), ("K", 2))
    # positional and keyword spellings of the same values are one circuit
    with pytest.raises(CircuitError, match="used twice"):
        parse(src.replace("use r<K=3> * 1;", "use r<6, 2> * 1;"))


def test_defaults_may_depend_on_earlier_parameters_and_globals():
    src = """
    param BASE = 2;
    circuit c<A=BASE, B=A * 3> { in x[A]; out y[B]; for i in 0..B { y[i] = x[i % A]; } }
    """
    c = parse(src).circuit()
    assert c.params == (("A", 2), ("B", 6))
    assert c.outputs == (Port("y", 6),)


def test_templates_without_defaults_are_not_circuits_unless_used():
    src = "circuit t<K> { in a[K]; out y; y = xor(a); }\ncircuit u { in a[3]; out y; y = t<3>(a); }\n"
    spec = parse(src)
    assert [c.name for c in spec.circuits] == ["u"]
    spec = parse(src + "network n { use t<K=5> * 4; active = 2; }")
    assert [c.name for c in spec.circuits] == ["u", "t<K=5>"]
    assert spec.circuit("t<K=5>").inputs == (Port("a", 5),)


def test_template_with_partial_defaults_is_a_template():
    spec = parse("circuit t<A=1, B> { in a[A + B]; out y; y = xor(a); }")
    assert spec.circuits == ()


def test_recursive_circuit_with_base_case():
    src = """
    circuit parity<N> {
      in x[N];
      out y;
      if N == 1 { y = x[0]; }
      else { y = parity<N / 2>(x[0:N / 2]) ^ parity<N - N / 2>(x[N / 2:N]); }
    }
    network n { use parity<8> * 1; active = 1; }
    """
    c = parse(src).circuit("parity<N=8>")
    assert ops(c).count(Op.XOR) == 7
    X, Y = circuitc.truth_table(c)
    assert (Y[:, 0] == X.sum(axis=1) % 2).all()


def test_instance_with_keyword_parameters_and_inputs():
    src = FA + """
    circuit sel<W=2> { in a[W], b[W], s; out y[W]; y = s ? a : b; }
    circuit top { in p[3], q[3], s; out y[3], c; y = sel<W=3>(s=s, b=q, a=p); c = fa(cin=s, a=p[0], b=q[0]).cout; }
    """
    top = parse(src).circuit("top")
    out = evaluate(top, {"p": [5], "q": [2], "s": [1]})
    assert out["y"].tolist() == [[1, 0, 1]]
    assert out["c"].tolist() == [1]


def test_tuple_assignment_with_wider_targets():
    src = """
    circuit split { in v[4]; out lo[2], hi[2]; lo = v[0:2]; hi = v[2:4]; }
    circuit top { in v[4]; out a[2], b[2]; (b, a) = split(v); }
    """
    top = parse(src).circuit("top")
    assert evaluate(top, {"v": [0b1101]})["b"].tolist() == [[1, 0]]
    assert evaluate(top, {"v": [0b1101]})["a"].tolist() == [[1, 1]]


# --------------------------------------------------------------------------------------------
# feature sets, `over` circuits and networks

def test_feature_sets():
    spec = parse("features f[100] { active = 3; embed = 20; seed = 7; }\nfeatures g[10] { active = 1; }\n")
    assert spec.features == (FeatureSet("f", 100, 3, 20, 7), FeatureSet("g", 10, 1, None, 0))
    assert spec.feature_set("g").d0 is None
    with pytest.raises(CircuitError, match="no feature set"):
        spec.feature_set("h")


def test_feature_set_size_from_params():
    spec = parse("param M = 2 ** 10;\nfeatures f[M] { active = M / 64; embed = clog2(M) * 4; }\n")
    assert spec.features == (FeatureSet("f", 1024, 16, 40, 0),)


def test_over_circuit_has_the_feature_set_as_its_input():
    spec = parse("features f[6] { active = 2; }\ncircuit g over f { out y; y = f[0] & f[5]; }\n")
    g = spec.circuit("g")
    assert g.features == "f"
    assert g.inputs == (Port("f", 6),)
    assert evaluate(g, {"f": [0b100001, 0b000001]})["y"].tolist() == [1, 0]


def test_network_defaults():
    spec = parse(FA + "network n { use fa * 10; active = 2; }")
    assert spec.networks == (Network("n", (InstanceGroup("fa", 10),), z=2),)
    net = spec.network()
    assert (net.T, net.z, net.D, net.S, net.allocation, net.seed) == (10, 2, 4096, None, "auto", 0)


def test_network_values():
    src = ADDER + """
    param COPIES = 6;
    network big {
      use fa * COPIES * 2;
      use adder<4> * 3;
      active = 5;
      width = 512;
      redundancy = 8;
      allocation = "prime-step";
      seed = 42;
    }
    network small { use fa * 1; active = 1; allocation = "affine"; }
    """
    spec = parse(src)
    big = spec.network("big")
    assert big.groups == (InstanceGroup("fa", 12), InstanceGroup("adder<N=4>", 3))
    assert (big.T, big.z, big.D, big.S, big.allocation, big.seed) == (15, 5, 512, 8, "prime-step", 42)
    assert spec.network("small").allocation == "affine"
    with pytest.raises(CircuitError, match="name one"):
        spec.network()


def test_network_of_mlp_circuits():
    spec = parse("mlp m { in x; out y; layer relu { weights = [[2]]; } }\nnetwork n { use m * 3; active = 1; }\n")
    assert spec.networks[0].groups == (InstanceGroup("m", 3),)


# --------------------------------------------------------------------------------------------
# includes

def test_include_relative_to_the_including_file(tmp_path):
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "gates.circ").write_text('include "more/inv.circ";\n' + FA)
    (tmp_path / "lib" / "more").mkdir()
    (tmp_path / "lib" / "more" / "inv.circ").write_text("circuit inv { in a; out y; y = ~a; }\n")
    (tmp_path / "top.circ").write_text('include "lib/gates.circ";\n'
                                       "circuit top { in a, b; out y; y = inv(fa(a, b, 0).s); }\n")
    spec = load_spec(tmp_path / "top.circ")
    assert [c.name for c in spec.circuits] == ["inv", "fa", "top"]


def test_parse_resolves_includes_against_base_dir(tmp_path):
    (tmp_path / "fa.circ").write_text(FA)
    spec = parse('include "fa.circ";\n', base_dir=tmp_path)
    assert [c.name for c in spec.circuits] == ["fa"]


def test_diamond_include_reads_each_file_once(tmp_path):
    (tmp_path / "base.circ").write_text(FA)
    (tmp_path / "left.circ").write_text('include "base.circ";\ncircuit l { in a; out y; y = fa(a, a, a).s; }\n')
    (tmp_path / "right.circ").write_text('include "./base.circ";\ncircuit r { in a; out y; y = fa(a, a, a).cout; }\n')
    (tmp_path / "top.circ").write_text('include "left.circ";\ninclude "right.circ";\ninclude "base.circ";\n')
    spec = load_spec(tmp_path / "top.circ")
    assert sorted(c.name for c in spec.circuits) == ["fa", "l", "r"]


def test_include_bench_netlist_in_a_network(tmp_path):
    shutil.copy(EXAMPLES / "c17.bench", tmp_path / "c17.bench")
    (tmp_path / "net.circ").write_text('include "c17.bench";\nnetwork n { use c17 * 10; active = 1; }\n')
    spec = load_spec(tmp_path / "net.circ")
    c17 = spec.circuit("c17")
    assert [p.name for p in c17.inputs] == ["1", "2", "3", "6", "7"]
    assert [p.name for p in c17.outputs] == ["22", "23"]
    assert spec.networks == (Network("n", (InstanceGroup("c17", 10),), z=1),)
    X, Y = circuitc.truth_table(c17)
    x1, x2, x3, x6, x7 = X.T.astype(bool)
    n11 = ~(x3 & x6)
    n16 = ~(x2 & n11)
    assert (Y[:, 0] == ~(~(x1 & x3) & n16)).all()
    assert (Y[:, 1] == ~(n16 & ~(n11 & x7))).all()


def test_included_netlist_circuit_can_be_instantiated(tmp_path):
    shutil.copy(EXAMPLES / "c17.bench", tmp_path / "c17.bench")
    src = 'include "c17.bench";\ncircuit w { in v[5]; out o; o = c17(v[0], v[1], v[2], v[3], v[4]).`22`; }\n'
    w = parse(src, base_dir=tmp_path).circuit("w")
    c17 = load_spec(tmp_path / "c17.bench").circuit("c17")
    X = circuitc.truth_table(w)[0]
    assert (circuitc.evaluate_bits(w, X)[:, 0] == circuitc.evaluate_bits(c17, X)[:, 0]).all()


def test_included_netlist_circuits_are_in_the_spec(tmp_path):
    shutil.copy(EXAMPLES / "c17.bench", tmp_path / "c17.bench")
    (tmp_path / "fa.circ").write_text(FA)
    spec = parse('include "fa.circ";\ninclude "c17.bench";\n', base_dir=tmp_path)
    assert sorted(c.name for c in spec.circuits) == ["c17", "fa"]


def test_include_blif_netlist(tmp_path):
    shutil.copy(EXAMPLES / "mux4.blif", tmp_path / "mux4.blif")
    spec = parse('include "mux4.blif";\nnetwork n { use mux4 * 3; active = 2; }\n', base_dir=tmp_path)
    assert spec.network().groups == (InstanceGroup("mux4", 3),)


# --------------------------------------------------------------------------------------------
# MLP circuits and weight files

MLP_INLINE = """
mlp m {
  in x[2];
  out y;
  layer relu { weights = [[1, -1], [0.5, 2]]; bias = [0, -1]; }
  layer linear { weights = [[1, 1]]; }
}
"""


def test_mlp_inline_weights():
    m = parse(MLP_INLINE).circuit()
    assert isinstance(m, MLPCircuit) and m.kind == "mlp"
    assert [layer.activation for layer in m.layers] == ["relu", "linear"]
    np.testing.assert_array_equal(m.layers[0].weights, [[1, -1], [0.5, 2]])
    np.testing.assert_array_equal(m.layers[0].bias, [0, -1])
    np.testing.assert_array_equal(m.layers[1].bias, [0])
    assert m.layers[0].weights.dtype == np.float64
    assert not m.layers[0].weights.flags.writeable
    x = np.array([[0.5, 2.0]])
    h = np.maximum(x @ np.array([[1, -1], [0.5, 2]]).T + [0, -1], 0)
    np.testing.assert_allclose(circuitc.evaluate_bits(m, x), h @ np.array([[1, 1]]).T)
    m.check()


def test_mlp_params_size_ports():
    src = "mlp m<N=2> { in x[N]; out y; param H = N * 1; layer linear { weights = [[1, 1]]; } }"
    assert parse(src).circuit().inputs == (Port("x", 2),)


def test_mlp_weights_from_npy(tmp_path):
    w1 = np.array([[1.0, -2.0], [0.25, 3.0], [0.0, 1.0]])
    b1 = np.array([0.5, -1.0, 0.0], dtype=np.float32)
    w2 = np.arange(3, dtype=np.int64).reshape(1, 3)
    np.save(tmp_path / "w1.npy", w1)
    np.save(tmp_path / "b1.npy", b1)
    np.save(tmp_path / "w2.npy", w2)
    src = """
    mlp m {
      in x[2];
      out y;
      layer relu { weights = load("w1.npy"); bias = load("b1.npy"); }
      layer linear { weights = load("w2.npy"); }
    }
    """
    m = parse(src, base_dir=tmp_path).circuit()
    np.testing.assert_array_equal(m.layers[0].weights, w1)
    np.testing.assert_array_equal(m.layers[0].bias, b1.astype(np.float64))
    np.testing.assert_array_equal(m.layers[1].weights, w2.astype(np.float64))
    assert m.layers[1].weights.dtype == np.float64


def test_mlp_weights_from_safetensors_with_keys(tmp_path):
    from safetensors.numpy import save_file

    w = np.array([[1.0, 2.0], [3.0, 4.0]], dtype=np.float32)
    b = np.array([0.5, -0.5], dtype=np.float32)
    save_file({"layer0.weight": w, "layer0.bias": b}, str(tmp_path / "model.safetensors"))
    save_file({"only": np.array([[1.0, -1.0]], dtype=np.float64)}, str(tmp_path / "head.safetensors"))
    src = """
    mlp m {
      in x[2];
      out y;
      layer relu {
        weights = load("model.safetensors", "layer0.weight");
        bias = load("model.safetensors", "layer0.bias");
      }
      layer linear { weights = load("head.safetensors"); }
    }
    """
    m = parse(src, base_dir=tmp_path).circuit()
    np.testing.assert_array_equal(m.layers[0].weights, w.astype(np.float64))
    np.testing.assert_array_equal(m.layers[0].bias, b.astype(np.float64))
    np.testing.assert_array_equal(m.layers[1].weights, [[1.0, -1.0]])


def test_weight_paths_are_relative_to_the_file_that_loads_them(tmp_path):
    (tmp_path / "models").mkdir()
    np.save(tmp_path / "models" / "w.npy", np.eye(2))
    (tmp_path / "models" / "m.circ").write_text(
        'mlp m { in x[2]; out y[2]; layer relu { weights = load("w.npy"); } }\n')
    (tmp_path / "top.circ").write_text('include "models/m.circ";\n')
    m = load_spec(tmp_path / "top.circ").circuit("m")
    np.testing.assert_array_equal(m.layers[0].weights, np.eye(2))


# --------------------------------------------------------------------------------------------
# source hash

def _project(tmp_path):
    np.save(tmp_path / "w.npy", np.array([[1.0, 2.0]]))
    (tmp_path / "lib.circ").write_text(FA)
    (tmp_path / "top.circ").write_text(
        'include "lib.circ";\nmlp m { in x[2]; out y; layer linear { weights = load("w.npy"); } }\n')
    return tmp_path / "top.circ"


def test_source_hash_is_stable(tmp_path):
    top = _project(tmp_path)
    first = load_spec(top).source_hash
    assert len(first) == 64 and int(first, 16) >= 0
    assert load_spec(top).source_hash == first
    out = subprocess.run([sys.executable, "-c",
                          "import sys, circuitc; print(circuitc.load_spec(sys.argv[1]).source_hash)",
                          str(top)], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == first


def test_source_hash_of_text_is_stable_and_content_dependent():
    assert parse(FA).source_hash == parse(FA).source_hash
    assert parse(FA).source_hash != parse(FA + "\n").source_hash


def test_source_hash_changes_with_an_included_file(tmp_path):
    top = _project(tmp_path)
    before = load_spec(top).source_hash
    (tmp_path / "lib.circ").write_text(FA + "# edited\n")
    after = load_spec(top).source_hash
    assert after != before
    assert load_spec(top) == load_spec(top)


def test_source_hash_changes_with_a_weight_file(tmp_path):
    top = _project(tmp_path)
    before = load_spec(top)
    np.save(tmp_path / "w.npy", np.array([[1.0, 2.5]]))
    after = load_spec(top)
    assert after.source_hash != before.source_hash
    assert after != before


def test_source_hash_changes_with_an_included_netlist(tmp_path):
    shutil.copy(EXAMPLES / "c17.bench", tmp_path / "c17.bench")
    (tmp_path / "net.circ").write_text('include "c17.bench";\nnetwork n { use c17 * 10; active = 1; }\n')
    before = load_spec(tmp_path / "net.circ").source_hash
    with open(tmp_path / "c17.bench", "a") as f:
        f.write("# a comment\n")
    assert load_spec(tmp_path / "net.circ").source_hash != before


# --------------------------------------------------------------------------------------------
# Spec equality ignores spans, comments and layout

def test_equal_specs_from_different_layouts():
    compact = "circuit fa{in a,b,cin;out s,cout;s=a^b^cin;cout=maj(a,b,cin);}"
    roomy = """
    # a full adder
    circuit fa {
        in a, b, cin;      # three inputs

        out s, cout;
        s    = a ^ (b ^ cin);
        cout = maj(a,
                   b,
                   cin);
    }
    """
    a, b = parse(compact, filename="a.circ"), parse(roomy, filename="b.circ")
    assert a == b
    assert a.source_hash != b.source_hash
    assert a.circuit("fa").gates[0].span != b.circuit("fa").gates[0].span


def test_equal_specs_for_equivalent_spellings():
    a = parse(ADDER + "network n { use adder<4> * 2; active = 1; }")
    b = parse(ADDER.replace("carry[0] = 0;", "carry[0] = bit(0, 0);")
              + "param FOUR = 2 ** 2;\nnetwork n { use adder<N=FOUR> * (1 + 1); active = 3 - 2; }")
    assert a == b


def test_unequal_specs():
    assert parse("circuit c { in a, b; out y; y = a & b; }") != parse("circuit c { in a, b; out y; y = a | b; }")
    assert parse("circuit c { in a, b; out y; y = a & b; }") != parse("circuit c { in b, a; out y; y = a & b; }")
    assert parse(MLP_INLINE) != parse(MLP_INLINE.replace("0.5", "0.25"))
    assert parse(MLP_INLINE) == parse(MLP_INLINE.replace("0.5", "5e-1"))


def test_spec_check_accepts_elaborated_circuits():
    from cases import CASES
    for case in CASES:
        parse(case.source).check()


def test_signals_that_do_nothing_are_warned_about_and_used_ones_are_not():
    """An input never read and a wire never read are warned about at their declaration; a wire that
    is read is not, whether it is a bit of a vector or a back-quoted scalar whose name holds
    brackets (as printed netlists and elaborated circuits name them)."""
    spec = parse("circuit c {\n    in a, b, v[2];\n    out y;\n    wire w[2];\n    `l1[0]` = a & v[1];\n"
                 "    w[0] = `l1[0]`;\n    w[1] = a;\n    dead = ~a;\n    y = w[0] | w[1];\n}\n", "c.circ")
    got = sorted((w.message, w.span.line) for w in spec.warnings)
    assert got == [("`dead` is assigned but never used", 8), ("input `b` of `c` is never used", 2)]
