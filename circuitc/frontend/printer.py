"""Any Spec written as `.circ` text: one assignment per gate, ports and MLP layers spelt out.

This is how an imported netlist is shown and converted (`circuitc fmt c17.bench`), and a
normalised printout of the elaborated IR. For a netlist the printout elaborates back to an equal
Spec: every gate becomes one statement that the elaborator turns into exactly that gate. The one
exception is an output that is also an input (a netlist may list a primary input as an output):
it is printed under a fresh name, driven by a buffer (`_pass_through_outputs`).
"""

from __future__ import annotations

import dataclasses

from ..spec import OPS, BoolCircuit, Circuit, FeatureSet, Gate, GateTable, MLPCircuit, Network, Op, Port, Spec
from .syntax.format import INDENT, format_array, format_string, quote_name

_CALLS = {Op.AND: "and", Op.OR: "or", Op.XOR: "xor", Op.MAJ: "maj"}


def _bit_of(wire: str) -> tuple[str, str] | None:
    """(base, index) of a wire named `base[index]`, else None; split without a pattern, since this
    runs for every wire, long names included."""
    if not wire.endswith("]"):
        return None
    base, _, index = wire[:-1].rpartition("[")
    return (base, index) if base and index.isdecimal() else None


def _port_decl(direction: str, ports: tuple[Port, ...]) -> str:
    parts = [quote_name(p.name) + (f"[{p.width}]" if p.width is not None else "") for p in ports]
    return f"{direction} {', '.join(parts)};"


class _WireNames:
    """Writes a wire so it reads back as the same name: `v[3]` for a bit of a vector port, else a name."""

    def __init__(self, circuit: Circuit):
        self.vectors = {p.name: p.width for p in circuit.inputs + circuit.outputs if p.width is not None}

    def __call__(self, wire: str) -> str:
        bit = _bit_of(wire)
        if bit and bit[0] in self.vectors and int(bit[1]) < self.vectors[bit[0]]:
            return f"{quote_name(bit[0])}[{bit[1]}]"
        return quote_name(wire)


def _gate_text(op: Op, args: list[str]) -> str:
    if op is Op.CONST0:
        return "0"
    if op is Op.CONST1:
        return "1"
    if op is Op.BUF:
        return args[0]
    if op is Op.NOT:
        return "~" + args[0]
    return f"{_CALLS[op]}({', '.join(args)})"


def _gate_lines(gates: tuple[Gate, ...] | GateTable, name: _WireNames) -> list[str]:
    """One assignment per gate."""
    if not isinstance(gates, GateTable):
        return [f"{INDENT}{name(g.out)} = {_gate_text(g.op, [name(a) for a in g.args])};" for g in gates]
    # Read from the arrays, each wire written once rather than at each use: the names of a large
    # elaborated netlist are long, and it has too many gates to make one object for each.
    wires = list(map(name, gates.wires))
    args = list(map(wires.__getitem__, gates.arg_idx.tolist()))
    ptr = gates.arg_ptr.tolist()
    return [f"{INDENT}{out} = {_gate_text(OPS[op], args[lo:hi])};"
            for out, op, lo, hi in zip(wires[gates.n_inputs:], gates.ops.tolist(), ptr, ptr[1:])]


def _pass_through_outputs(c: BoolCircuit) -> tuple[tuple[Port, ...], list[tuple[str, Port, Port]]]:
    """The outputs to declare, with each output that is also an input renamed.

    A netlist may list a primary input among its outputs (ISCAS c2670 and LGSynth i1 do), so its
    circuit has one port name on both sides. The language declares every name once, so such an
    output is printed under a fresh name, `a_out`, driven by a buffer of the input: the printout
    computes the same bits in the same output order, under that one port name changed.
    Returns the outputs to declare and (comment, input port, renamed output port) for each."""
    inputs = {p.name: p for p in c.inputs}
    if not any(p.name in inputs for p in c.outputs):
        return c.outputs, []
    taken = {p.name for p in c.inputs + c.outputs}
    taken |= {w for g in c.gates for w in (g.out, *g.args)}
    taken |= {bit[0] for w in list(taken) if (bit := _bit_of(w))}
    outputs, renamed = [], []
    for p in c.outputs:
        if p.name not in inputs:
            outputs.append(p)
            continue
        base, k = f"{p.name}_out", 1
        fresh = base
        while fresh in taken or any(b in taken for b in Port(fresh, p.width).bits):
            k += 1
            fresh = f"{base}{k}"
        taken.add(fresh)
        q = Port(fresh, p.width)
        outputs.append(q)
        renamed.append((f"# output `{p.name}` is also an input: printed as `{fresh}`, a copy of it", p, q))
    return tuple(outputs), renamed


def _bool_circuit(c: BoolCircuit) -> list[str]:
    outputs, renamed = _pass_through_outputs(c)
    name = _WireNames(dataclasses.replace(c, outputs=outputs))
    over = f" over {quote_name(c.features)}" if c.features else ""
    lines = [f"circuit {quote_name(c.name)}{over} {{"]
    if c.inputs and not c.features:
        lines.append(INDENT + _port_decl("in", c.inputs))
    lines.append(INDENT + _port_decl("out", outputs))
    lines += _gate_lines(c.gates, name)
    for comment, p, q in renamed:
        lines.append(INDENT + comment)
        lines += [f"{INDENT}{name(b)} = {name(a)};" for a, b in zip(p.bits, q.bits)]
    lines.append("}")
    return lines


def _mlp_circuit(c: MLPCircuit) -> list[str]:
    lines = [f"mlp {quote_name(c.name)} {{", INDENT + _port_decl("in", c.inputs), INDENT + _port_decl("out", c.outputs)]
    for layer in c.layers:
        lines.append(f"{INDENT}layer {layer.activation} {{")
        for field, values in (("weights", layer.weights), ("bias", layer.bias)):
            text = format_array(values.tolist(), 2)
            text[0] = f"{INDENT * 2}{field} = {text[0]}"
            text[-1] += ";"
            lines.extend(text)
        lines.append(INDENT + "}")
    lines.append("}")
    return lines


def _features(f: FeatureSet) -> list[str]:
    lines = [f"features {quote_name(f.name)}[{f.m}] {{", f"{INDENT}active = {f.s};"]
    if f.d0 is not None:
        lines.append(f"{INDENT}embed = {f.d0};")
    if f.seed:
        lines.append(f"{INDENT}seed = {f.seed};")
    return lines + ["}"]


def _network(n: Network) -> list[str]:
    lines = [f"network {quote_name(n.name)} {{"]
    lines += [f"{INDENT}use {quote_name(g.circuit)} * {g.count};" for g in n.groups]
    lines.append(f"{INDENT}active = {n.z};")
    lines.append(f"{INDENT}width = {n.D};")
    if n.S is not None:
        lines.append(f"{INDENT}redundancy = {n.S};")
    lines.append(f"{INDENT}allocation = {format_string(n.allocation)};")
    lines.append(f"{INDENT}seed = {n.seed};")
    if n.input_bound is not None:
        lines.append(f"{INDENT}input_bound = {n.input_bound};")
    if n.construction != "auto":
        lines.append(f"{INDENT}construction = {format_string(n.construction)};")
    return lines + ["}"]


def spec_to_circ(spec: Spec, header: bool = True) -> str:
    """The whole Spec as `.circ` text: feature sets, circuits, then networks."""
    blocks: list[list[str]] = []
    if header:
        blocks.append([f"# {spec.source}, as elaborated by circuitc"])
    blocks += [_features(f) for f in spec.features]
    blocks += [_mlp_circuit(c) if isinstance(c, MLPCircuit) else _bool_circuit(c) for c in spec.circuits]
    blocks += [_network(n) for n in spec.networks]
    # One join, not one per block and another of the blocks: a large netlist prints hundreds of
    # megabytes. A blank line follows each block; the last one ends the text.
    lines = [line for b in blocks for line in (*b, "")]
    return "\n".join(lines) if lines else "\n"
