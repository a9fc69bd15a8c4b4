"""AIGER files for the tests: writers of both forms, random and-inverter graphs, and an evaluator
written from the format's description (AIGER 1.9, "The AIGER And-Inverter Graph (AIG) Format"),
sharing no code with circuitc's importer.

    from aiger_files import write_aag, write_aig, random_graph, evaluate_aiger, varint
"""

from __future__ import annotations

import numpy as np

# A graph: I inputs (variables 1..I), AND gates [(lhs, rhs0, rhs1)] with lhs = 2(I + 1 + i) for
# gate i, outputs as literals. Literal 2v is variable v, 2v + 1 its negation; 0 false, 1 true.


def varint(x: int) -> bytes:
    """x in 7-bit groups, least significant first, the high bit set on every byte but the last."""
    out = bytearray()
    while x >= 0x80:
        out.append((x & 0x7F) | 0x80)
        x >>= 7
    out.append(x)
    return bytes(out)


def _symbols(input_names, output_names, comment) -> bytes:
    lines = [f"i{k} {n}" for k, n in enumerate(input_names or []) if n is not None]
    lines += [f"o{k} {n}" for k, n in enumerate(output_names or []) if n is not None]
    text = "".join(line + "\n" for line in lines)
    if comment is not None:
        text += "c\n" + comment + "\n"
    return text.encode("utf-8")


def write_aag(I: int, outputs: list[int], ands: list[tuple[int, int, int]], *, input_names=None,
              output_names=None, comment: str | None = None, M: int | None = None,
              inputs: list[int] | None = None) -> bytes:
    """An ASCII AIGER file; `inputs` (literals) default to 2, 4, ..., 2I, `M` to the largest variable."""
    inputs = list(range(2, 2 * I + 1, 2)) if inputs is None else inputs
    if M is None:
        M = max([lit >> 1 for lit in inputs] + [g[0] >> 1 for g in ands] + [0])
    lines = [f"aag {M} {len(inputs)} 0 {len(outputs)} {len(ands)}"]
    lines += [str(lit) for lit in inputs]
    lines += [str(lit) for lit in outputs]
    lines += [f"{a} {b} {c}" for a, b, c in ands]
    return ("\n".join(lines) + "\n").encode() + _symbols(input_names, output_names, comment)


def write_aig(I: int, outputs: list[int], ands: list[tuple[int, int, int]], *, input_names=None,
              output_names=None, comment: str | None = None) -> bytes:
    """A binary AIGER file of a graph numbered as the binary form demands (gate i defines
    2(I + 1 + i) and reads only smaller literals)."""
    body = bytearray()
    for i, (lhs, a, b) in enumerate(ands):
        assert lhs == 2 * (I + 1 + i), "the binary form numbers its gates in order"
        rhs0, rhs1 = max(a, b), min(a, b)
        assert rhs0 < lhs
        body += varint(lhs - rhs0) + varint(rhs0 - rhs1)
    head = f"aig {I + len(ands)} {I} 0 {len(outputs)} {len(ands)}\n" + "".join(f"{o}\n" for o in outputs)
    return head.encode() + bytes(body) + _symbols(input_names, output_names, comment)


def random_graph(rng: np.random.Generator, I: int, A: int, O: int, constants: bool = True):
    """(outputs, ands) of a random graph in binary numbering, reading inputs, earlier gates, their
    negations and (with `constants`) now and then the constants."""
    ands = []
    for i in range(A):
        lhs = 2 * (I + 1 + i)
        lo = 0 if constants else 2
        a, b = (int(x) for x in rng.integers(lo, lhs, size=2))
        ands.append((lhs, a, b))
    top = 2 * (I + A) + 2
    outputs = [int(x) for x in rng.integers(0 if constants else 2, top, size=O)]
    return outputs, ands


def evaluate_aiger(data: bytes, rows: np.ndarray) -> np.ndarray:
    """Outputs (batch, O) of the AIGER file `data` on input rows (batch, I) of 0/1, inputs in file
    order. Reads both forms from the bytes, by the rules of the format document."""
    rows = np.asarray(rows, dtype=bool)
    header_end = data.index(b"\n")
    fields = data[:header_end].split()
    kind = fields[0]
    M, I, L, O, A = (int(x) for x in fields[1:6])
    assert L == 0
    values: dict[int, np.ndarray] = {0: np.zeros(len(rows), dtype=bool)}

    def lit(x: int) -> np.ndarray:
        v = values[x & ~1]
        return ~v if x & 1 else v

    pos = header_end + 1

    def line() -> bytes:
        nonlocal pos
        end = data.index(b"\n", pos)
        text = data[pos:end]
        pos = end + 1
        return text

    if kind == b"aag":
        inputs = [int(line()) for _ in range(I)]
        outputs = [int(line()) for _ in range(O)]
        pending = [tuple(int(x) for x in line().split()) for _ in range(A)]
        for k, x in enumerate(inputs):
            values[x] = rows[:, k]
        while pending:          # the ASCII form may define gates in any order
            ready = [g for g in pending if (g[1] & ~1) in values and (g[2] & ~1) in values]
            assert ready, "a cycle or an undefined literal"
            for g in ready:
                values[g[0]] = lit(g[1]) & lit(g[2])
            pending = [g for g in pending if g[0] not in values]
    else:
        for k in range(I):
            values[2 * (k + 1)] = rows[:, k]
        outputs = [int(line()) for _ in range(O)]

        def number() -> int:
            nonlocal pos
            x, shift = 0, 0
            while True:
                byte = data[pos]
                pos += 1
                x |= (byte & 0x7F) << shift
                if byte < 0x80:
                    return x
                shift += 7

        for i in range(A):
            lhs = 2 * (I + 1 + i)
            rhs0 = lhs - number()
            rhs1 = rhs0 - number()
            values[lhs] = lit(rhs0) & lit(rhs1)
    return np.stack([lit(x) for x in outputs], axis=1) if outputs else np.zeros((len(rows), 0), dtype=bool)
