"""Dependency graphs: levels, depth, cycle reports, summaries, DOT and JSON."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time

import networkx as nx
import numpy as np
import pytest
from netlists import HALF_ADDER, bool_circuit, ripple_adder

from circuitc import graph
from circuitc.errors import CircuitError, SourceMap, Span
from circuitc.spec import BoolCircuit, Gate, Layer, MLPCircuit, Op, Port


def source_of(gates):
    return "\n".join(f"{out} = {op}({', '.join(args)})" for out, op, *args in gates) + "\n"


# --------------------------------------------------------------------------------------------
# levels and depth

def test_half_adder_levels():
    assert graph.levels(HALF_ADDER) == {"a": 0, "b": 0, "s": 1, "c": 1}
    assert graph.depth(HALF_ADDER) == 1


def test_ripple_adder_levels():
    c = ripple_adder(4)
    lv = graph.levels(c)
    # carry i is ready at level 2i + 1, sum i at 2i (sum 0 at 1)
    assert [lv[f"c{i}"] for i in range(4)] == [1, 3, 5, 7]
    assert [lv[f"s[{i}]"] for i in range(4)] == [1, 2, 4, 6]
    assert lv["cout"] == 8 and graph.depth(c) == 8
    assert all(lv[f"{x}[{i}]"] == 0 for x in "ab" for i in range(4))


def test_constants_are_level_zero():
    c = bool_circuit(["a"], ["k", "y", "a"], [("k", "const1"), ("y", "and", "a", "k")])
    assert graph.levels(c) == {"a": 0, "k": 0, "y": 1}
    only_consts = bool_circuit([], ["k"], [("k", "const0")])
    assert graph.depth(only_consts) == 0
    wire = bool_circuit(["a"], ["a"], [])
    assert graph.depth(wire) == 0


def test_gate_order_does_not_matter():
    gates = [("y", "not", "t"), ("t", "or", "u", "b"), ("u", "and", "a", "b")]
    c = bool_circuit(["a", "b"], ["y"], gates)
    assert graph.levels(c) == {"a": 0, "b": 0, "u": 1, "t": 2, "y": 3}


def test_deep_chain():
    n = 5000
    gates = [("w0", "not", "x")] + [(f"w{i}", "xor", f"w{i-1}", "x") for i in range(1, n)]
    c = bool_circuit(["x"], [f"w{n-1}", "w9"], gates[::-1])
    assert graph.depth(c) == n
    assert graph.levels(c)["w9"] == 10


def random_netlist(n_gates, n_inputs, seed):
    rng = np.random.default_rng(seed)
    names = [f"x[{i}]" for i in range(n_inputs)]
    ops = rng.choice(["and", "or", "xor", "not", "maj", "const1"], n_gates,
                     p=[.25, .25, .2, .1, .15, .05]).tolist()
    fan_in = rng.integers(1, 5, n_gates).tolist()
    local = (rng.random(n_gates) < 0.5).tolist()
    gates = []
    for g, op in enumerate(ops):
        k = {"not": 1, "const1": 0, "maj": 3}.get(op, fan_in[g])
        lo = max(0, len(names) - 30) if local[g] else 0
        gates.append((f"w{g}", op, *[names[i] for i in rng.integers(lo, len(names), k).tolist()]))
        names.append(f"w{g}")
    order = rng.permutation(n_gates)
    return bool_circuit([("x", n_inputs)], [f"w{n_gates - 1}", "w0"], [gates[i] for i in order])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_levels_match_networkx_generations(seed):
    c = random_netlist(3000, 16, seed)
    G = graph.circuit_graph(c)
    expected = {n: i for i, gen in enumerate(nx.topological_generations(G)) for n in gen}
    lv = graph.levels(c)
    assert lv == expected
    assert nx.get_node_attributes(G, "level") == expected
    assert graph.depth(c) == max(lv["w2999"], lv["w0"])


@pytest.mark.parametrize("narrow", [0, 10**9])
def test_numpy_and_python_sorts_agree(monkeypatch, narrow):
    # _NARROW = 0 keeps the whole sort in numpy, a huge one runs it all in Python.
    c = random_netlist(2000, 16, 5)
    expected = graph.levels(c)
    monkeypatch.setattr(graph, "_NARROW", narrow)
    graph.clear_caches()
    assert graph.levels(c) == expected
    loop = bool_circuit(["x"], ["b"], [("a", "and", "x", "b"), ("b", "or", "a", "x"), ("c", "not", "x")])
    with pytest.raises(CircuitError, match="a -> b -> a"):
        graph.check_acyclic(loop)
    assert graph.circuit_graph(loop).nodes["c"]["level"] == 1


# --------------------------------------------------------------------------------------------
# the networkx graph

def test_graph_attributes():
    gates = [("s", "xor", "a", "b"), ("d", "and", "a", "a", "b"), ("k", "const0")]
    c = BoolCircuit("g", (Port("a", span=Span("t.circ", 7, 1)), Port("b")), (Port("s"), Port("d")),
                    tuple(Gate(o, Op(op), tuple(args), Span("t.circ", i + 1, 1)) for i, (o, op, *args)
                          in enumerate(gates)))
    G = graph.circuit_graph(c)
    assert G.graph == {"name": "g", "kind": "boolean"}
    assert list(G.nodes) == ["a", "b", "s", "d", "k"]
    assert G.nodes["a"] == {"kind": "input", "op": None, "output": False, "level": 0, "line": 7}
    assert G.nodes["b"]["line"] is None
    assert G.nodes["s"] == {"kind": "gate", "op": "xor", "output": True, "level": 1, "line": 1}
    assert G.nodes["d"]["output"] and G.nodes["d"]["op"] == "and"
    assert G.nodes["k"] == {"kind": "gate", "op": "const0", "output": False, "level": 0, "line": 3}
    assert G.edges["a", "d"] == {"count": 2} and G.edges["b", "d"] == {"count": 1}
    assert G.number_of_edges() == 4


def test_summary_full_adder():
    c = bool_circuit(["a", "b", "cin"], ["s", "cout"],
                     [("s", "xor", "a", "b", "cin"), ("cout", "maj", "a", "b", "cin"), ("n", "not", "a")])
    assert graph.summary(c) == {
        "name": "c", "kind": "boolean", "inputs": 3, "outputs": 2, "gates": 3,
        "gates_by_op": {"xor": 1, "not": 1, "maj": 1}, "depth": 1, "max_fan_in": 3, "max_fan_out": 3}
    s = graph.summary(ripple_adder(4))
    assert (s["inputs"], s["outputs"], s["gates"], s["depth"]) == (8, 5, 18, 8)
    assert list(s["gates_by_op"].items()) == [("and", 7), ("or", 3), ("xor", 7), ("buf", 1)]


def test_malformed_circuit():
    c = bool_circuit(["a"], ["y"], [("y", "and", "a", "zz")], check=False)
    with pytest.raises(CircuitError) as e:
        graph.circuit_graph(c)
    assert "undefined wire `zz`" in str(e.value)


# --------------------------------------------------------------------------------------------
# cycles

def test_cycle_is_named_and_located():
    gates = [("x1", "buf", "i"), ("a", "and", "i", "c"), ("b", "not", "a"), ("c", "or", "b", "i"),
             ("y", "buf", "c")]
    c = bool_circuit(["i"], ["y"], gates, lines=True)
    sources = SourceMap({"t.circ": source_of(gates)})
    with pytest.raises(CircuitError) as e:
        graph.check_acyclic(c, sources)
    (d,) = e.value.diagnostics
    assert d.message == "combinational cycle: a -> b -> c -> a"
    assert d.span.line == 2 and d.source_line == "a = and(i, c)"
    assert "break the loop" in d.hint
    text = str(e.value)
    assert "t.circ:2:1" in text and "a = and(i, c)" in text and "^" in text
    # the graph is still available, without levels for the loop and what follows it
    G = graph.circuit_graph(c)
    assert G.nodes["x1"]["level"] == 1 and G.nodes["y"]["level"] is None
    assert graph.summary(c)["depth"] is None
    for fn in (graph.levels, graph.depth):
        with pytest.raises(CircuitError, match="combinational cycle"):
            fn(c)


def test_two_cycles_and_a_self_loop_all_reported():
    gates = [("p", "xor", "x", "q"), ("q", "not", "p"),
             ("r", "and", "x", "t"), ("s", "or", "r"), ("t", "buf", "s"),
             ("u", "and", "u", "x"),
             ("y", "or", "q", "t", "u")]
    c = bool_circuit(["x"], ["y"], gates, lines=True)
    with pytest.raises(CircuitError) as e:
        graph.check_acyclic(c)
    msgs = [d.message for d in e.value.diagnostics]
    assert msgs == ["combinational cycle: p -> q -> p",
                    "combinational cycle: r -> s -> t -> r",
                    "combinational cycle: u -> u"]
    assert [d.span.line for d in e.value.diagnostics] == [1, 3, 6]
    assert "3 errors" in str(e.value)


def test_larger_strongly_connected_component():
    # a and b both feed each other through two loops sharing `a`
    gates = [("a", "or", "x", "b", "c"), ("b", "not", "a"), ("c", "buf", "a")]
    c = bool_circuit(["x"], ["a"], gates)
    with pytest.raises(CircuitError) as e:
        graph.check_acyclic(c)
    (d,) = e.value.diagnostics
    assert re.fullmatch(r"combinational cycle: a -> (b|c) -> a \(3 wires depend on each other in this loop\)",
                        d.message)


def test_acyclic_circuits_pass():
    graph.check_acyclic(ripple_adder(3))
    graph.check_acyclic(xor_mlp())


# --------------------------------------------------------------------------------------------
# DOT

def dot_tokens(text):
    """Split DOT text into quoted strings and other characters; assert strings terminate."""
    strings, rest, i = [], [], 0
    while i < len(text):
        if text[i] == '"':
            j = i + 1
            while text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            strings.append(text[i + 1:j])
            i = j + 1
        else:
            rest.append(text[i])
            i += 1
    return strings, "".join(rest)


def dot_unquote(s):
    return re.sub(r"\\(.)", r"\1", s)


def test_dot_quoting_and_structure():
    odd = ['in"q', "x[0]", "w$1", "a/b.c", "back\\slash", "sp ace"]
    c = BoolCircuit('odd "name"', (Port('in"q'), Port("x", 1)), (Port("w$1"), Port("a/b.c")),
                    (Gate("w$1", Op.AND, ('in"q', "x[0]")), Gate("back\\slash", Op.NOT, ("w$1",)),
                     Gate("sp ace", Op.CONST1, ()), Gate("a/b.c", Op.XOR, ("back\\slash", "sp ace", "sp ace"))))
    c.check()
    text = graph.to_dot(c)
    assert text == graph.to_dot(c)
    strings, rest = dot_tokens(text)
    assert rest.count("{") == rest.count("}") == 1
    assert "rankdir=LR" in rest
    assert rest.lstrip().startswith("digraph")
    ids = [dot_unquote(s) for s in strings]
    for name in odd:
        assert name in ids
    assert dot_unquote(strings[0]) == 'odd "name"'
    # edges name both ends, quoted; the doubled argument is labelled
    assert '"sp ace" -> "a/b.c" [label="x2"];' in text
    assert '"in\\"q" -> "w$1";' in text
    assert '"back\\\\slash" -> "a/b.c";' in text
    # every statement line ends with ; (apart from the braces)
    body = [ln for ln in text.splitlines()[1:-1]]
    assert all(ln.endswith(";") for ln in body)
    # outputs stand out, inputs are boxes, labels carry the op
    assert re.search(r'"w\$1" \[label="w\$1\\nand".*peripheries=2', text)
    assert '"in\\"q" [shape=box' in text
    assert "\\nconst1" in text


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is not installed")
def test_graphviz_reads_the_dot():
    c = BoolCircuit("q", (Port('a"b'), Port("c\\")), (Port("y"),),
                    (Gate("y", Op.XOR, ('a"b', "c\\")),))
    plain = subprocess.run(["dot", "-Tplain"], input=graph.to_dot(c), capture_output=True, text=True,
                           check=True).stdout
    nodes = [ln for ln in plain.splitlines() if ln.startswith("node ")]
    assert len(nodes) == 3
    assert sum(ln.startswith("edge ") for ln in plain.splitlines()) == 2


def test_dot_lists_every_node_and_edge():
    c = ripple_adder(3)
    text = graph.to_dot(c)
    strings, _ = dot_tokens(text)
    G = graph.circuit_graph(c)
    for n in G.nodes:
        assert f'  "{n}" [' in text
    for u, v in G.edges:
        assert f'"{u}" -> "{v}"' in text
    assert text.count("->") == G.number_of_edges()


# --------------------------------------------------------------------------------------------
# JSON

def test_json_round_trip():
    c = ripple_adder(2)
    data = graph.to_json(c)
    text = json.dumps(data)
    assert json.loads(text) == data
    assert json.dumps(graph.to_json(c)) == text
    assert data["name"] == "add2" and data["kind"] == "boolean"
    assert data["summary"] == graph.summary(c)
    assert data["inputs"] == [{"name": "a", "width": 2}, {"name": "b", "width": 2}]
    assert len(data["nodes"]) == 4 + len(c.gates)
    assert {(e["source"], e["target"]) for e in data["edges"]} == set(graph.circuit_graph(c).edges)
    node = next(n for n in data["nodes"] if n["id"] == "cout")
    assert node == {"id": "cout", "kind": "gate", "op": "buf", "output": True, "level": 4, "line": None}


# --------------------------------------------------------------------------------------------
# MLPs

def xor_mlp():
    hidden = Layer(np.array([[1.0, 1.0], [1.0, 1.0]]), np.array([0.0, -1.0]), "relu")
    out = Layer(np.array([[1.0, -2.0]]), np.array([0.0]), "linear")
    c = MLPCircuit("xor", (Port("x", 2),), (Port("y"),), (hidden, out))
    c.check()
    return c


def test_mlp_graph():
    sparse = Layer(np.array([[1.0, 0.0], [0.5, -1.0], [0.0, 0.0]]), np.zeros(3), "relu")
    out = Layer(np.array([[1.0, 2.0, 3.0], [0.0, 0.0, -1.0]]), np.array([0.5, 0.0]), "linear")
    c = MLPCircuit("m", (Port("x", 2),), (Port("y", 2),), (sparse, out))
    c.check()
    G = graph.circuit_graph(c)
    assert list(G.nodes) == ["x[0]", "x[1]", "L1[0]", "L1[1]", "L1[2]", "y[0]", "y[1]"]
    assert G.nodes["x[1]"]["kind"] == "input" and G.nodes["x[1]"]["activation"] is None
    assert G.nodes["L1[2]"]["kind"] == "neuron" and G.nodes["L1[2]"]["activation"] == "relu"
    assert G.nodes["y[0]"] == {"kind": "output", "activation": "linear", "bias": 0.5, "level": 2, "line": None}
    assert sorted(G.edges(data="weight")) == sorted([
        ("x[0]", "L1[0]", 1.0), ("x[0]", "L1[1]", 0.5), ("x[1]", "L1[1]", -1.0),
        ("L1[0]", "y[0]", 1.0), ("L1[1]", "y[0]", 2.0), ("L1[2]", "y[0]", 3.0), ("L1[2]", "y[1]", -1.0)])
    assert graph.levels(c) == {"x[0]": 0, "x[1]": 0, "L1[0]": 1, "L1[1]": 1, "L1[2]": 1, "y[0]": 2, "y[1]": 2}
    assert graph.depth(c) == 2
    s = graph.summary(c)
    assert (s["layers"], s["widths"], s["parameters"], s["nonzero_weights"]) == (2, [2, 3, 2], 17, 7)
    assert (s["max_fan_in"], s["max_fan_out"]) == (3, 2)
    data = graph.to_json(c)
    assert json.loads(json.dumps(data)) == data and len(data["edges"]) == 7
    text = graph.to_dot(c)
    assert text.count("->") == 7 and '"L1[1]" -> "y[0]" [label="2"]' in text
    assert 'color="firebrick"' in text


# --------------------------------------------------------------------------------------------
# speed (excluded by default; run with -m slow)

@pytest.mark.slow
def test_speed_100k_gates():
    c = random_netlist(100_000, 64, seed=3)

    def build():
        graph.clear_caches()
        t = time.perf_counter()
        graph.circuit_graph(c)
        graph.levels(c)
        return time.perf_counter() - t

    best = min(build() for _ in range(3))
    assert best < 2.0, best
