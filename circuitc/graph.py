"""The dependency graph of a circuit: levels, depth, cycles, summaries, DOT and JSON views.

Boolean circuits
----------------
`circuit_graph(c)` is a `networkx.DiGraph` with one node per wire, named by the wire (input bits
such as `x[3]`, and every gate output), and an edge `arg -> out` for each gate argument. A gate
that reads the same wire several times has one edge whose attribute `count` is the multiplicity
(every edge carries `count`, usually 1).

Node attributes (boolean circuits):

    kind    "input" for an input bit, "gate" for a gate output
    op      the gate's `Op` value as a string ("and", "xor", "const1", ...); None for inputs
    output  True when the wire is a bit of an output port
    level   the topological level: inputs and constant gates (const0/const1) are level 0,
            any other gate is 1 + the largest level of its arguments. None for a wire that
            lies on, or downstream of, a combinational cycle.
    line    the source line of the gate (of the port, for an input bit), or None

Constants sit at level 0 because they depend on nothing: like inputs they are available before
any gate fires, so a circuit whose outputs are constants has depth 0.

MLP circuits
------------
Nodes are the input bits (named as the port bits, e.g. `x[0]`), the hidden neurons `L{l}[j]`
(layer l counted from 1, neuron j from 0) and the output bits, which are the neurons of the last
layer and carry the output port's bit names. An edge `u -> v` exists where the weight is
non-zero and carries the attribute `weight` (a float).

Node attributes (MLP circuits):

    kind        "input" | "neuron" | "output"
    activation  "relu" | "linear" for neurons and outputs; None for inputs
    bias        the neuron's bias (float); None for inputs
    level       0 for inputs, l for the neurons of layer l (so outputs are at len(layers))
    line        the source line of the layer (of the port, for an input bit), or None

Fan-in and fan-out count gate arguments with multiplicity (a gate `and(a, a)` has fan-in 2 and
adds 2 to the fan-out of `a`); output ports do not add to fan-out. For MLPs they count non-zero
weights.

Performance: every function here works from `indexed(c)`, an integer view of the netlist (CSR
argument arrays) built once per circuit object and cached. Levels come from a level-synchronous
Kahn sort done with numpy over whole frontiers, finished in plain Python once the frontier gets
narrow (deep, chain-like circuits), so both wide and deep netlists cost O(wires + arguments).
networkx is only used for the returned graph and for reporting cycles.
"""

from __future__ import annotations

import gc
import itertools
import weakref
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterator, TypeVar

import numpy as np

from .errors import CircuitError, Diagnostic, SourceMap
from .spec import OP_CODE, OPS, BoolCircuit, Circuit, GateTable, MLPCircuit, Op, bad_arity

if TYPE_CHECKING:  # networkx is imported where a graph is built: loading and evaluating never need it
    import networkx as nx

__all__ = [
    "IndexedNetlist", "indexed", "circuit_graph", "check_acyclic", "table_acyclic", "levels", "depth", "summary",
    "to_dot", "to_json", "clear_caches", "cached_per_circuit", "OPS",
]

CYCLE_HINT = "a wire cannot depend on itself; break the loop"


# --------------------------------------------------------------------------------------------
# Per-circuit cache. Circuits are frozen, but hashing a 100k-gate netlist is slow (and MLP
# circuits are unhashable), so entries are keyed by id() and dropped when the circuit dies.

_T = TypeVar("_T")
_cache: dict[tuple[int, str], tuple[weakref.ref, Any]] = {}


def cached_per_circuit(circuit: object, key: str, build: Callable[[Any], _T]) -> _T:
    """`build(circuit)`, computed once per circuit object and `key` (the netlist index here, the
    evaluation plan in interpret.py); forgotten when the circuit is garbage-collected."""
    k = (id(circuit), key)
    hit = _cache.get(k)
    if hit is not None and hit[0]() is circuit:
        return hit[1]
    value = build(circuit)
    try:
        ref = weakref.ref(circuit, lambda _r, k=k: _cache.pop(k, None))
    except TypeError:  # not weak-referenceable: nothing can tell us when to forget it
        return value
    _cache[k] = (ref, value)
    return value


def clear_caches() -> None:
    """Forget every cached netlist index and evaluation plan (for benchmarks and tests)."""
    _cache.clear()


@contextmanager
def gc_paused() -> Iterator[None]:
    """The garbage collector paused while a block builds many small objects none of which is
    garbage (a netlist's index, an importer's gates): its repeated full passes over them would
    take as long as building them."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


# --------------------------------------------------------------------------------------------
# The integer view of a boolean netlist.

@dataclass(frozen=True, eq=False)
class IndexedNetlist:
    """A boolean circuit as integer arrays. Wire slots: the input bits first (in `input_bits`
    order), then one slot per gate in `circuit.gates` order (gate g drives slot n_inputs + g).

    `arg_idx[arg_ptr[g]:arg_ptr[g+1]]` are the slots gate g reads, in argument order; `ops[g]`
    indexes `OPS`; `level[w]` is the wire's level, or -1 when the wire is on or downstream of a
    cycle (then `acyclic` is False).
    """

    names: tuple[str, ...]
    index: dict[str, int]
    n_inputs: int
    ops: np.ndarray        # int8, (n_gates,)
    arg_ptr: np.ndarray    # int64, (n_gates + 1,)
    arg_idx: np.ndarray    # int64, (n_args,)
    out_idx: np.ndarray    # int64, slots of the output bits in `output_bits` order
    level: np.ndarray      # int64, (n_wires,)
    acyclic: bool

    @property
    def n_wires(self) -> int:
        return len(self.names)

    @property
    def n_gates(self) -> int:
        return len(self.names) - self.n_inputs

    @property
    def arity(self) -> np.ndarray:
        return np.diff(self.arg_ptr)

    @property
    def arg_dst(self) -> np.ndarray:
        """For each entry of `arg_idx`, the slot of the gate that reads it."""
        return np.repeat(np.arange(self.n_inputs, self.n_wires, dtype=np.int64), self.arity)

    @property
    def fan_out(self) -> np.ndarray:
        return np.bincount(self.arg_idx, minlength=self.n_wires)


def indexed(circuit: BoolCircuit) -> IndexedNetlist:
    """The (cached) integer view of a boolean circuit; CircuitError if it is not well formed
    (undefined wires, wires driven twice, wrong arities: the problems `BoolCircuit.check`
    reports). Cycles are allowed here: see `check_acyclic`."""
    if not isinstance(circuit, BoolCircuit):
        raise TypeError(f"indexed() takes a BoolCircuit, not {type(circuit).__name__}")
    return cached_per_circuit(circuit, "indexed", _build_indexed)


def _malformed(circuit: BoolCircuit, fallback: str) -> CircuitError:
    try:
        circuit.check()
    except CircuitError as e:
        return e
    return CircuitError(Diagnostic(fallback, circuit.span))


def _build_indexed(circuit: BoolCircuit) -> IndexedNetlist:
    gates = circuit.gates
    n_inputs = len(circuit.input_bits)
    if isinstance(gates, GateTable) and gates.wires[:n_inputs] == circuit.input_bits:
        # Already arrays, in the slot layout used here: only the name index is new.
        names, ops, arg_ptr, arg_idx, index = gates.wires, gates.ops, gates.arg_ptr, gates.arg_idx, gates.index
        if not gates.arrays_ok():
            raise _malformed(circuit, f"circuit `{circuit.name}` drives a wire twice, reads a wire it does not "
                                      f"have or has a gate of a wrong number of inputs")
    else:
        names = circuit.input_bits + tuple(g.out for g in gates)
        index = {n: i for i, n in enumerate(names)}
        if len(index) != len(names):
            raise _malformed(circuit, f"circuit `{circuit.name}` drives a wire twice")
        n_gates = len(gates)
        arity = np.fromiter((len(g.args) for g in gates), dtype=np.int64, count=n_gates)
        arg_ptr = np.zeros(n_gates + 1, dtype=np.int64)
        np.cumsum(arity, out=arg_ptr[1:])
        try:
            arg_idx = np.fromiter(map(index.__getitem__, itertools.chain.from_iterable(g.args for g in gates)),
                                  dtype=np.int64, count=int(arg_ptr[-1]))
        except KeyError as e:
            raise _malformed(circuit, f"circuit `{circuit.name}` reads undefined wire `{e.args[0]}`") from None
        ops = np.fromiter((OP_CODE[g.op] for g in gates), dtype=np.int8, count=n_gates)
        wrong = bad_arity(ops, arity)
        if wrong.any():
            raise _malformed(circuit, f"gate `{gates[int(np.argmax(wrong))].out}` has a wrong number of inputs")
    try:
        out_idx = np.fromiter(map(index.__getitem__, circuit.output_bits), dtype=np.int64,
                              count=len(circuit.output_bits))
    except KeyError as e:
        raise _malformed(circuit, f"circuit `{circuit.name}` reads undefined wire `{e.args[0]}`") from None
    level = _kahn_levels(len(names), n_inputs, arg_ptr, arg_idx)
    for a in (ops, arg_ptr, arg_idx, out_idx, level):
        a.setflags(write=False)
    return IndexedNetlist(names, index, n_inputs, ops, arg_ptr, arg_idx, out_idx, level,
                          bool((level >= 0).all()))


# Below this many successor edges in one frontier, numpy's per-call overhead costs more than a
# Python loop; from then on the sort continues in Python.
_NARROW = 96


# Netlists with fewer wires and argument slots than this are sorted in Python from the start: for
# a circuit of a few dozen gates, the dozen numpy calls of the array sort cost more than the sort.
_SMALL = 512


def _kahn_levels(n: int, n_inputs: int, arg_ptr: np.ndarray, arg_idx: np.ndarray) -> np.ndarray:
    """Longest-path levels by level-synchronous Kahn; -1 for wires never freed (cycles)."""
    if n < _SMALL and len(arg_idx) < _SMALL:
        return _kahn_small(n, n_inputs, arg_ptr.tolist(), arg_idx.tolist())
    # Slots as int32 where they fit, each temporary dropped once used: for a netlist of 10^6
    # gates these arrays are most of the memory an index costs.
    slot = np.int32 if n < 1 << 31 else np.int64
    arity = np.diff(arg_ptr)
    dst = np.repeat(np.arange(n_inputs, n, dtype=slot), arity)
    del arity
    indeg = np.bincount(dst, minlength=n).astype(slot)
    by_source = np.argsort(arg_idx, kind="stable")
    succ = dst[by_source]
    del dst, by_source
    sptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(arg_idx, minlength=n), out=sptr[1:])
    level = np.full(n, -1, dtype=np.int64)
    frontier = np.flatnonzero(indeg == 0)
    level[frontier] = 0
    lv = 0
    while len(frontier):
        total = int((sptr[frontier + 1] - sptr[frontier]).sum())
        if total == 0:
            break
        if total < _NARROW:
            _kahn_python(frontier, lv, indeg, succ, sptr, level)
            break
        pos, _ = _gather(sptr, frontier)
        touched, hits = np.unique(succ[pos], return_counts=True)
        indeg[touched] -= hits
        frontier = touched[indeg[touched] == 0]
        lv += 1
        level[frontier] = lv
    return level


def _kahn_small(n: int, n_inputs: int, ptr: list[int], args: list[int]) -> np.ndarray:
    """`_kahn_levels` of a small netlist, on Python lists."""
    succ: list[list[int]] = [[] for _ in range(n)]
    indeg = [0] * n
    for g in range(n - n_inputs):
        w = n_inputs + g
        indeg[w] = ptr[g + 1] - ptr[g]
        for a in args[ptr[g]:ptr[g + 1]]:
            succ[a].append(w)
    level = [-1] * n
    front = [w for w in range(n) if indeg[w] == 0]
    for w in front:
        level[w] = 0
    _walk(front, 0, succ, indeg, level)
    return np.array(level, dtype=np.int64)


def _walk(front: list[int], lv: int, succ: list[list[int]], indeg: list[int], level: list[int]) -> None:
    """Kahn's sort on Python lists from `front` (the wires of level `lv`): each wire freed gets
    its level in `level`; `indeg` is left with what was never freed (cycles)."""
    while front:
        lv += 1
        nxt = []
        for u in front:
            for v in succ[u]:
                indeg[v] -= 1
                if indeg[v] == 0:
                    level[v] = lv
                    nxt.append(v)
        front = nxt


def _gather(sptr: np.ndarray, nodes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions in a CSR array of every entry of `nodes`, in order, and each node's count."""
    starts = sptr[nodes]
    counts = sptr[nodes + 1] - starts
    ends = np.cumsum(counts)
    total = int(ends[-1]) if len(ends) else 0
    return np.arange(total, dtype=np.int64) + np.repeat(starts - (ends - counts), counts), counts


def _kahn_python(frontier: np.ndarray, lv: int, indeg: np.ndarray, succ: np.ndarray,
                 sptr: np.ndarray, level: np.ndarray) -> None:
    """The rest of the sort, one wire at a time, on Python lists of what is left: the frontier
    and the wires not yet levelled (all that the frontier can reach), renumbered from 0, so that
    a narrow tail at the end of a large netlist does not turn the whole netlist into lists."""
    nodes = np.concatenate((frontier, np.flatnonzero(level < 0)))
    local = np.full(len(level), -1, dtype=np.int64)
    local[nodes] = np.arange(len(nodes))
    pos, counts = _gather(sptr, nodes)
    succ_l = local[succ[pos]].tolist()
    del local, pos
    bounds = np.concatenate(([0], np.cumsum(counts))).tolist()
    succ_lists = [succ_l[a:b] for a, b in zip(bounds, bounds[1:])]
    deg = indeg[nodes].tolist()
    local_level = [-1] * len(nodes)
    _walk(list(range(len(frontier))), lv, succ_lists, deg, local_level)
    freed = np.flatnonzero(np.array(local_level, dtype=np.int64) >= 0)
    level[nodes[freed]] = np.array(local_level, dtype=np.int64)[freed]
    indeg[nodes] = deg


# --------------------------------------------------------------------------------------------
# Graphs

def _line(span) -> int | None:
    return None if span is None else span.line


def _port_lines(circuit: Circuit) -> list[int | None]:
    return [_line(p.span) for p in circuit.inputs for _ in range(p.size)]


def _unique_edges(net: IndexedNetlist) -> tuple[list[int], list[int], list[int]]:
    """(src, dst, count) per distinct edge, ordered by reading gate then source slot."""
    n = net.n_wires
    key = net.arg_dst * n + net.arg_idx
    uniq, counts = np.unique(key, return_counts=True)
    return (uniq % n).tolist(), (uniq // n).tolist(), counts.tolist()


def circuit_graph(circuit: Circuit) -> nx.DiGraph:
    """A fresh networkx DiGraph of the circuit; see the module docstring for its attributes.
    Graph attributes: `name`, `kind`. Cyclic boolean circuits are allowed (levels are None)."""
    import networkx as nx

    if isinstance(circuit, MLPCircuit):
        return _mlp_graph(circuit)
    net = indexed(circuit)
    names = net.names
    n_in = net.n_inputs
    outputs = set(net.out_idx.tolist())
    lv = [None if x < 0 else x for x in net.level.tolist()]
    ops = [OPS[i].value for i in net.ops.tolist()]
    g_lines = [_line(g.span) for g in circuit.gates]
    in_lines = _port_lines(circuit)
    src, dst, cnt = _unique_edges(net)
    G = nx.DiGraph(name=circuit.name, kind=circuit.kind)
    # Generators, not lists: each (name, attrs) tuple dies as soon as it is stored.
    nodes = itertools.chain(
        ((names[i], {"kind": "input", "op": None, "output": i in outputs, "level": lv[i],
                     "line": in_lines[i]}) for i in range(n_in)),
        ((names[i], {"kind": "gate", "op": ops[i - n_in], "output": i in outputs, "level": lv[i],
                     "line": g_lines[i - n_in]}) for i in range(n_in, len(names))))
    edges = ((names[s], names[d], {"count": c}) for s, d, c in zip(src, dst, cnt))
    with gc_paused():
        G.add_nodes_from(nodes)
        G.add_edges_from(edges)
    return G


def _mlp_node_names(circuit: MLPCircuit) -> list[list[str]]:
    """Node names per level: inputs, then each layer's neurons (the last layer: output bits)."""
    out = [list(circuit.input_bits)]
    L = len(circuit.layers)
    for l, layer in enumerate(circuit.layers, start=1):
        width = layer.weights.shape[0] if layer.weights.ndim == 2 else 0
        if l == L:
            out.append(list(circuit.output_bits))
        else:
            out.append([f"L{l}[{j}]" for j in range(width)])
    flat = [n for level in out for n in level]
    if len(set(flat)) != len(flat):
        clash = sorted({n for n in flat if flat.count(n) > 1})
        raise CircuitError(Diagnostic(f"mlp `{circuit.name}`: node names clash: {', '.join(clash)}",
                                      circuit.span, hint="rename the port so that it does not "
                                      "collide with the layer names `L<l>[<j>]`"))
    return out


def _mlp_checked(circuit: MLPCircuit) -> list[list[str]]:
    circuit.check()
    return _mlp_node_names(circuit)


def _mlp_graph(circuit: MLPCircuit) -> nx.DiGraph:
    import networkx as nx

    names = _mlp_checked(circuit)
    L = len(circuit.layers)
    G = nx.DiGraph(name=circuit.name, kind=circuit.kind)
    for name, line in zip(names[0], _port_lines(circuit)):
        G.add_node(name, kind="input", activation=None, bias=None, level=0, line=line)
    for l, layer in enumerate(circuit.layers, start=1):
        for j, name in enumerate(names[l]):
            G.add_node(name, kind="output" if l == L else "neuron", activation=layer.activation,
                       bias=float(layer.bias[j]), level=l, line=_line(layer.span))
        rows, cols = np.nonzero(layer.weights)
        w = layer.weights[rows, cols].tolist()
        G.add_edges_from((names[l - 1][c], names[l][r], {"weight": x})
                         for r, c, x in zip(rows.tolist(), cols.tolist(), w))
    return G


# --------------------------------------------------------------------------------------------
# Cycles

def _cycle_diagnostics(circuit: BoolCircuit, net: IndexedNetlist,
                       sources: SourceMap | None) -> list[Diagnostic]:
    import networkx as nx

    stuck = np.flatnonzero(net.level < 0)
    stuck_set = set(stuck.tolist())
    dst = net.arg_dst
    keep = (net.level[net.arg_idx] < 0) & (net.level[dst] < 0)
    H = nx.DiGraph()
    H.add_nodes_from(stuck.tolist())
    H.add_edges_from(zip(net.arg_idx[keep].tolist(), dst[keep].tolist()))
    comps = [c for c in nx.strongly_connected_components(H)
             if len(c) > 1 or H.has_edge(next(iter(c)), next(iter(c)))]
    comps.sort(key=min)
    diags = []
    for comp in comps:
        start = min(comp)
        sub = H.subgraph(comp)
        cycle = [u for u, _v in nx.find_cycle(sub, source=start)]
        # Rotate so the cycle starts at its earliest gate, the one the error points at.
        first = cycle.index(min(cycle))
        cycle = cycle[first:] + cycle[:first]
        text = " -> ".join(net.names[w] for w in cycle + [cycle[0]])
        msg = f"combinational cycle: {text}"
        if len(comp) > len(cycle):
            msg += f" ({len(comp)} wires depend on each other in this loop)"
        gate = circuit.gates[cycle[0] - net.n_inputs]
        if sources is not None:
            diags.append(sources.diagnostic(msg, gate.span, hint=CYCLE_HINT))
        else:
            diags.append(Diagnostic(msg, gate.span, hint=CYCLE_HINT))
    assert diags or not stuck_set, "wires stuck in the sort but no cycle found"
    return diags


def check_acyclic(circuit: Circuit, sources: SourceMap | None = None) -> None:
    """Raise CircuitError with one diagnostic per combinational loop (per non-trivial strongly
    connected component or self-loop), each naming one cycle and located at a gate on it."""
    if isinstance(circuit, MLPCircuit):
        return
    net = indexed(circuit)
    if net.acyclic:
        return
    raise CircuitError(_cycle_diagnostics(circuit, net, sources))


def table_acyclic(gates: GateTable) -> bool:
    """Whether a well-formed GateTable has no combinational cycle, decided on its arrays alone:
    without the name index that `check_acyclic` builds, and so without making the names of a
    table that makes them on first use (spec.WireNames)."""
    n = gates.n_inputs + len(gates)
    reader = np.repeat(np.arange(gates.n_inputs, n, dtype=np.int64), np.diff(gates.arg_ptr))
    if (gates.arg_idx < reader).all():
        return True  # every gate reads only wires made before it, as elaboration often orders them
    return bool((_kahn_levels(n, gates.n_inputs, gates.arg_ptr, gates.arg_idx) >= 0).all())


def _acyclic_net(circuit: BoolCircuit) -> IndexedNetlist:
    net = indexed(circuit)
    if not net.acyclic:
        check_acyclic(circuit)
    return net


# --------------------------------------------------------------------------------------------
# Levels and summaries

def levels(circuit: Circuit) -> dict[str, int]:
    """Node name -> topological level (see the module docstring); CircuitError on cycles."""
    if isinstance(circuit, MLPCircuit):
        return {name: l for l, level_names in enumerate(_mlp_checked(circuit)) for name in level_names}
    net = _acyclic_net(circuit)
    return dict(zip(net.names, net.level.tolist()))


def depth(circuit: Circuit) -> int:
    """The largest level of an output bit (0 if none needs a gate); for an MLP, its layer count."""
    if isinstance(circuit, MLPCircuit):
        return len(circuit.layers)
    net = _acyclic_net(circuit)
    return int(net.level[net.out_idx].max()) if len(net.out_idx) else 0


def summary(circuit: Circuit) -> dict:
    """Counts describing the circuit (plain Python values, fixed key order).

    Boolean: name, kind, inputs, outputs (bit counts), gates, gates_by_op (non-zero counts in
    `Op` order), depth (None when the circuit has a cycle), max_fan_in, max_fan_out.
    MLP: name, kind, inputs, outputs, layers, widths (input width then each layer's width),
    activations, parameters (weights + biases), nonzero_weights, depth, max_fan_in, max_fan_out.
    """
    if isinstance(circuit, MLPCircuit):
        _mlp_checked(circuit)
        nz = [layer.weights != 0 for layer in circuit.layers]
        return {
            "name": circuit.name,
            "kind": circuit.kind,
            "inputs": len(circuit.input_bits),
            "outputs": len(circuit.output_bits),
            "layers": len(circuit.layers),
            "widths": [len(circuit.input_bits)] + [int(layer.weights.shape[0]) for layer in circuit.layers],
            "activations": [layer.activation for layer in circuit.layers],
            "parameters": int(sum(layer.weights.size + layer.bias.size for layer in circuit.layers)),
            "nonzero_weights": int(sum(m.sum() for m in nz)),
            "depth": len(circuit.layers),
            "max_fan_in": int(max((m.sum(axis=1).max(initial=0) for m in nz), default=0)),
            "max_fan_out": int(max((m.sum(axis=0).max(initial=0) for m in nz), default=0)),
        }
    net = indexed(circuit)
    by_op = np.bincount(net.ops, minlength=len(OPS)).tolist()
    return {
        "name": circuit.name,
        "kind": circuit.kind,
        "inputs": net.n_inputs,
        "outputs": len(net.out_idx),
        "gates": net.n_gates,
        "gates_by_op": {op.value: c for op, c in zip(OPS, by_op) if c},
        "depth": depth(circuit) if net.acyclic else None,
        "max_fan_in": int(net.arity.max(initial=0)),
        "max_fan_out": int(net.fan_out.max(initial=0)),
    }


# --------------------------------------------------------------------------------------------
# DOT and JSON

def _q(s: str) -> str:
    """A DOT double-quoted string. Graphviz unescapes only \\" in IDs and reads \\\\ as one
    backslash in labels, so escaping both keeps any name intact and unambiguous."""
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


_OUTPUT_STYLE = 'style=filled, fillcolor="lightblue", peripheries=2'


def to_dot(circuit: Circuit) -> str:
    """Graphviz DOT text (left to right): inputs are boxes, gates ellipses labelled with their
    op, constants plain text, output bits filled and double-bordered. Deterministic."""
    lines = [f"digraph {_q(circuit.name)} {{", "  rankdir=LR;",
             '  node [fontname="Helvetica", shape=ellipse];', '  edge [fontname="Helvetica"];']
    if isinstance(circuit, MLPCircuit):
        names = _mlp_checked(circuit)
        L = len(circuit.layers)
        for name in names[0]:
            lines.append(f"  {_q(name)} [shape=box, label={_q(name)}];")
        for l, layer in enumerate(circuit.layers, start=1):
            for j, name in enumerate(names[l]):
                label = f"{name}\n{layer.activation}"
                if layer.bias[j] != 0:
                    label += f"\nb={float(layer.bias[j]):.4g}"
                style = f", {_OUTPUT_STYLE}" if l == L else ""
                lines.append(f"  {_q(name)} [shape=circle, label={_q(label)}{style}];")
        for l, layer in enumerate(circuit.layers, start=1):
            rows, cols = np.nonzero(layer.weights)
            for r, c in zip(rows.tolist(), cols.tolist()):
                w = float(layer.weights[r, c])
                color = ', color="firebrick"' if w < 0 else ""
                lines.append(f"  {_q(names[l - 1][c])} -> {_q(names[l][r])} [label={_q(f'{w:.4g}')}{color}];")
        lines.append("}")
        return "\n".join(lines) + "\n"
    net = indexed(circuit)
    outputs = set(net.out_idx.tolist())
    names = net.names
    for i in range(net.n_inputs):
        style = f", {_OUTPUT_STYLE}" if i in outputs else ""
        lines.append(f"  {_q(names[i])} [shape=box, label={_q(names[i])}{style}];")
    for g, code in enumerate(net.ops.tolist()):
        i = net.n_inputs + g
        op = OPS[code]
        shape = ", shape=plaintext" if op in (Op.CONST0, Op.CONST1) else ""
        style = f", {_OUTPUT_STYLE}" if i in outputs else ""
        lines.append(f"  {_q(names[i])} [label={_q(names[i] + chr(10) + op.value)}{shape}{style}];")
    src, dst, cnt = _unique_edges(net)
    for s, d, c in zip(src, dst, cnt):
        extra = f' [label="x{c}"]' if c > 1 else ""
        lines.append(f"  {_q(names[s])} -> {_q(names[d])}{extra};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _ports(ports) -> list[dict]:
    return [{"name": p.name, "width": p.width} for p in ports]


def to_json(circuit: Circuit) -> dict:
    """A JSON-serialisable description: name, kind, ports, summary, nodes and edges (plain
    Python types only, deterministic order). Nodes carry the attributes of `circuit_graph`."""
    out: dict[str, Any] = {"name": circuit.name, "kind": circuit.kind}
    if isinstance(circuit, BoolCircuit):
        out["features"] = circuit.features
    out["inputs"] = _ports(circuit.inputs)
    out["outputs"] = _ports(circuit.outputs)
    out["summary"] = summary(circuit)
    if isinstance(circuit, MLPCircuit):
        G = _mlp_graph(circuit)
        out["nodes"] = [{"id": n, **attrs} for n, attrs in G.nodes(data=True)]
        out["edges"] = [{"source": u, "target": v, "weight": d["weight"]} for u, v, d in G.edges(data=True)]
        return out
    net = indexed(circuit)
    names = net.names
    outputs = set(net.out_idx.tolist())
    lv = [None if x < 0 else x for x in net.level.tolist()]
    in_lines = _port_lines(circuit)
    nodes = [{"id": names[i], "kind": "input", "op": None, "output": i in outputs, "level": lv[i],
              "line": in_lines[i]} for i in range(net.n_inputs)]
    for g, (gate, code) in enumerate(zip(circuit.gates, net.ops.tolist())):
        i = net.n_inputs + g
        nodes.append({"id": names[i], "kind": "gate", "op": OPS[code].value, "output": i in outputs,
                      "level": lv[i], "line": _line(gate.span)})
    out["nodes"] = nodes
    src, dst, cnt = _unique_edges(net)
    out["edges"] = [{"source": names[s], "target": names[d], "count": c} for s, d, c in zip(src, dst, cnt)]
    return out
