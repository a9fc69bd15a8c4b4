"""Small netlist helpers shared by the tests: a circuit builder, two standard adders, a
gate-by-gate evaluator written independently of circuitc's interpreter, and checks of the
located diagnostics that the netlist importers report.

Import with `from netlists import ...` (the tests directory is on sys.path under pytest's
default import mode, as it is for `cases`).
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import pytest

from circuitc.errors import CircuitError, Span
from circuitc.spec import BoolCircuit, Gate, Op, Port

# --------------------------------------------------------------------------------------------
# An independent evaluator

def evaluate_netlist(circuit: BoolCircuit, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Every wire's value: gates are evaluated once all their arguments are known.

    A deliberately simple evaluator, independent of the project's interpreter, so that tests can
    check circuits (importers' output in particular) against something that shares no code with
    `circuitc.interpret`. `inputs` maps each input *bit* name to a boolean array (one entry per
    row); the result maps every wire, inputs included, to its boolean array. It handles and, or,
    xor, not, buf and the constants; any other op (maj) fails the test.
    """
    n = len(next(iter(inputs.values()))) if inputs else 1
    values = {name: np.asarray(v, dtype=bool) for name, v in inputs.items()}
    pending = list(circuit.gates)
    while pending:
        ready = [g for g in pending if all(a in values for a in g.args)]
        assert ready, "the circuit has a cycle or an undefined wire"
        for g in ready:
            args = [values[a] for a in g.args]
            if g.op is Op.AND:
                values[g.out] = np.logical_and.reduce(args)
            elif g.op is Op.OR:
                values[g.out] = np.logical_or.reduce(args)
            elif g.op is Op.XOR:
                values[g.out] = np.logical_xor.reduce(args)
            elif g.op is Op.NOT:
                values[g.out] = ~args[0]
            elif g.op is Op.BUF:
                values[g.out] = args[0].copy()
            elif g.op is Op.CONST0:
                values[g.out] = np.zeros(n, dtype=bool)
            elif g.op is Op.CONST1:
                values[g.out] = np.ones(n, dtype=bool)
            else:
                raise AssertionError(f"unexpected gate op {g.op} (gate `{g.out}`)")
        done = {id(g) for g in ready}
        pending = [g for g in pending if id(g) not in done]
    return values


def all_combinations(names: list[str]) -> dict[str, np.ndarray]:
    """Every assignment of the named bits; the first name is the most significant."""
    k = len(names)
    codes = np.arange(2 ** k)
    return {name: (codes >> (k - 1 - i)) & 1 == 1 for i, name in enumerate(names)}


# --------------------------------------------------------------------------------------------
# Building circuits by hand

def bool_circuit(inputs, outputs, gates, name="c", features=None, lines=False, check=True):
    """A BoolCircuit from ports as names (scalar) or (name, width) and gates as (out, op, *args).

    With `lines`, gate i gets a span on line i + 1 of file t.circ (written as `out = op(args)`).
    With `check` (the default) the circuit is checked before it is returned.
    """
    def ports(spec):
        return tuple(Port(p) if isinstance(p, str) else Port(*p) for p in spec)
    gs = []
    for i, (out, op, *args) in enumerate(gates):
        span = Span("t.circ", i + 1, 1, i + 1, len(out) + 1) if lines else None
        gs.append(Gate(out, Op(op), tuple(args), span))
    c = BoolCircuit(name, ports(inputs), ports(outputs), tuple(gs), features=features)
    if check:
        c.check()
    return c


HALF_ADDER = bool_circuit(["a", "b"], ["s", "c"], [("s", "xor", "a", "b"), ("c", "and", "a", "b")])


def ripple_adder(n):
    """An n-bit ripple-carry adder `add{n}`: s = a + b (bit 0 least significant), carry out
    `cout`; carry i is wire `c{i}`, with propagate/generate/and wires p{i}, g{i}, t{i}."""
    gates = [("s[0]", "xor", "a[0]", "b[0]"), ("c0", "and", "a[0]", "b[0]")]
    for i in range(1, n):
        gates += [(f"p{i}", "xor", f"a[{i}]", f"b[{i}]"), (f"s[{i}]", "xor", f"p{i}", f"c{i-1}"),
                  (f"g{i}", "and", f"a[{i}]", f"b[{i}]"), (f"t{i}", "and", f"p{i}", f"c{i-1}"),
                  (f"c{i}", "or", f"g{i}", f"t{i}")]
    gates.append(("cout", "buf", f"c{n-1}"))
    return bool_circuit([("a", n), ("b", n)], [("s", n), "cout"], gates, name=f"add{n}")


# --------------------------------------------------------------------------------------------
# Located parse errors

def report_for(err: CircuitError, line: int, col: int) -> str:
    """The rendered diagnostic at line:col (asserting there is one)."""
    found = [d for d in err.diagnostics if d.span and (d.span.line, d.span.column) == (line, col)]
    assert found, f"no diagnostic at {line}:{col} in:\n{err}"
    return found[0].render()


def expect_parse_error(parse: Callable[[str, str], object], text: str, line: int, col: int, *words: str,
                       filename: str) -> CircuitError:
    """`parse(text, filename)` fails with a located diagnostic quoting the line, with a caret
    under `col`, and a report that mentions every one of `words`."""
    with pytest.raises(CircuitError) as info:
        parse(text, filename)
    err = info.value
    report = str(err)
    assert f"{filename}:{line}:{col}:" in report
    rendered = report_for(err, line, col).splitlines()
    source = text.splitlines()[line - 1]
    assert rendered[1].endswith(source.rstrip()), rendered
    caret = rendered[2]
    assert re.fullmatch(r"\s*\|\s*\^~*", caret), caret
    assert caret.index("^") == rendered[1].index(" | ") + 3 + col - 1, "\n".join(rendered)
    for word in words:
        assert word in report, f"{word!r} not in:\n{report}"
    return err
