"""Every boolean case of the shared table (cases.py), compiled into one superposed network and
checked at the network's decoded outputs against the case's own Python reference
(`cases.expected_bits`) — never against circuitc's interpreter.

Configurations: the routed construction at z = 1 and z = 2, the coherent one at z = 1: the three
for which the compiler states exactness (`guarantee.py`; the coherent construction is exact only
at z = 1). Each test asserts that its network carries that guarantee, so any wrong bit is a bug.

Layout (`layout`). Each network holds T instances of the case's circuit on S neurons each, S = z + 1:
for the routed construction the polynomial code of degree λ = 1 (`redundancy = z + 1`; two
instances share at most one position, and S = λz + 1 keeps a clean position for every active
instance), for the coherent one the compiler's own choice, which is S = 2 here. T = q² fills the
code over F_q and D = S·q·d (d the lowered width) gives it exactly the S·q positions it needs, so
instances do share neurons (asserted). q is the smallest prime >= 3 for which the network is
narrower than one neuron per gate (D < T·d_naive, compression > 1), as long as every active set
× every input of each active instance still fits the row budget; otherwise q = 3 (T = 9), the
smallest such code, and the network shares neurons without compressing (the lowered width d is
several times d_naive for narrow circuits: `one`, `empty` and the step units).

Rows (`row_plan`). Every active set of 1..z of the T instances, each with:
- every joint input combination of its instances, when the whole enumeration fits the row budget;
- otherwise every input row of each active instance (slot 0 in order, the others permuted), so
  each instance sees each of its inputs in each active set, but not jointly with every input of
  its partner;
- otherwise (large T·inputs, wide or deep circuits) the same number of random rows per active set,
  drawn from each instance's rows.
An instance's rows are `cases.input_rows`: every combination up to EXHAUSTIVE_MAX_BITS input bits,
else RANDOM_ROWS random rows (adder16, wide_gates). The row budget is a fixed amount of compute
per test (`row_budget`: the forward pass and the read-offs), between MIN_ROWS and MAX_ROWS rows,
so that the file stays fast.

Inactive instances: the routed construction promises that every inactive instance decodes to 0
(guarantee.py: it keeps an empty position and reads at most −1/c0), so that is asserted on every
row for every inactive instance. The coherent construction promises nothing for them — an
inactive neighbour becomes a copy of the active instance by design (docs/lowering.md) — so
nothing is asserted there.

Circuits over a feature set cannot be used in a network (docs/language.md, "Networks"): the
`over_features` case is skipped with the compiler's refusal (which is asserted), and its circuit is
checked instead through a plain circuit of the same ports that instantiates it (`_wrapped`).
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import math

import numpy as np
import pytest
import torch
from cases import CASES, EXHAUSTIVE_MAX_BITS, RANDOM_ROWS, Case, expected_bits, input_rows, split_row

import circuitc
from circuitc.instances import compile_network, plan_network
from circuitc.instances.plan import one_neuron_per_gate_width

CONFIGS = [("routed", 1), ("coherent", 1), ("routed", 2)]
# The rows of one test cost rows·(D²·L + DECODE·decoded·d·S): multiply-adds of the forward pass,
# plus the read-off of `decoded` instances per row (all T for the routed construction, whose
# inactive instances are checked too; z for the coherent one), a gather that costs about DECODE
# multiply-adds per element (measured on 2 CPU cores). Each test gets WORK of it (about 0.2 s).
WORK = 1.2e9
DECODE = 500
MAX_ROWS = 20_000            # rows per (case, configuration) at most ...
MIN_ROWS = 256               # ... and at least
CHUNK = 2048                 # rows run and decoded at once
MAX_Q = 31                   # the largest code prime tried for compression
PROBE_WIDTH, PROBE_WIDTH_MAX = 1 << 12, 1 << 20
# Cases the compiler refuses to put in a network, by design, with the text of the refusal.
REFUSED = {"over_features": "a network holds circuit instances"}


def _quote(name: str) -> str:
    return name if name.isidentifier() else f"`{name}`"


def _wrapped(case: Case) -> Case:
    """`case` through a plain circuit with the same ports that instantiates its circuit: a circuit
    over a feature set cannot be used in a network, one that instantiates it can."""
    circuit = circuitc.parse(case.source).circuit(case.circuit)
    def decl(p):
        return _quote(p.name) + ("" if p.width is None else f"[{p.width}]")

    ins = ", ".join(decl(p) for p in circuit.inputs)
    outs = ", ".join(decl(p) for p in circuit.outputs)
    call = f"{_quote(case.circuit)}({', '.join(_quote(p.name) for p in circuit.inputs)})"
    body = (f"({', '.join(_quote(p.name) for p in circuit.outputs)}) = {call};" if len(circuit.outputs) > 1
            else f"{_quote(circuit.outputs[0].name)} = {call};")
    source = case.source + f"\ncircuit plain_{case.name} {{\n  in {ins};\n  out {outs};\n  {body}\n}}\n"
    return dataclasses.replace(case, name=f"{case.name}_wrapped", source=source, circuit=f"plain_{case.name}")


BOOLEAN = [c for c in CASES if c.kind == "boolean"]
CHECKED = BOOLEAN + [_wrapped(c) for c in BOOLEAN if c.name in REFUSED]


def network_source(case: Case, T: int, z: int, D: int, construction: str, S: int | None) -> str:
    redundancy = "" if S is None else f" redundancy = {S};"
    return (case.source + f"\nnetwork net {{ use {_quote(case.circuit)} * {T}; active = {z}; width = {D}; "
                          f'construction = "{construction}";{redundancy} }}\n')


@functools.lru_cache(maxsize=None)
def reference(case: Case):
    """(circuit, rows of one instance, the reference's output bits on them), once per case."""
    circuit = circuitc.parse(case.source).circuit(case.circuit)
    X = input_rows(case, circuit)
    return circuit, X, expected_bits(case, circuit, X)


def _primes_from(lo: int):
    return (p for p in itertools.count(lo) if all(p % k for k in range(2, math.isqrt(p) + 1)))


def row_budget(construction: str, z: int, T: int, D: int, d: int, L: int, S: int) -> int:
    decoded = T if construction == "routed" else z
    return int(min(MAX_ROWS, max(MIN_ROWS, WORK // (D * D * L + DECODE * decoded * d * S))))


def row_counts(T: int, z: int, pool: int) -> tuple[int, int, int]:
    """(active sets, rows of every joint input combination, rows of every input per instance)."""
    sets = sum(math.comb(T, k) for k in range(1, z + 1))
    joint = sum(math.comb(T, k) * pool ** k for k in range(1, z + 1))
    return sets, joint, sets * pool


@functools.lru_cache(maxsize=None)
def layout(case: Case, construction: str, z: int) -> tuple[int, int, int | None]:
    """(T, D, redundancy setting) of the network for `case` (see the module docstring)."""
    circuit, X, _ = reference(case)
    S = z + 1
    setting = S if construction == "routed" else None
    # The lowered width d and depth L, from a plan (no weights built) at the first width, doubling
    # from 4096, that holds 9 instances (coherent plans get slow at very large widths).
    D_probe = PROBE_WIDTH
    while True:
        try:
            probe = plan_network(circuitc.parse(network_source(case, 9, z, D_probe, construction, setting)), "net")
            break
        except circuitc.CircuitError:
            if D_probe >= PROBE_WIDTH_MAX:
                raise
            D_probe *= 2
    d, L = probe.d, probe.L
    d_naive = one_neuron_per_gate_width(circuit)
    for q in _primes_from(3):
        T, D = q * q, S * q * d
        if q == 3:
            fallback = (T, D, setting)
        _, _, per_instance = row_counts(T, z, len(X))
        if q > MAX_Q or per_instance > row_budget(construction, z, T, D, d, L, S):
            return fallback
        if D < T * d_naive:
            return T, D, setting


def compiled(case: Case, construction: str, z: int):
    T, D, S = layout(case, construction, z)
    return compile_network(circuitc.parse(network_source(case, T, z, D, construction, S)), "net")


def row_plan(T: int, z: int, pool: int, budget: int, rng: np.random.Generator):
    """(instances (rows, z) padded with -1, pool row of each slot (rows, z), how the rows were chosen)."""
    sets_n, joint, per_instance = row_counts(T, z, pool)
    inst, rows = [], []
    if joint <= budget:
        how = "every input combination"
    elif per_instance <= budget:
        how = "every input of each instance"
    else:
        how = f"{max(1, budget // sets_n)} random rows per active set"
    for k in range(1, z + 1):
        sets = np.array(list(itertools.combinations(range(T), k)), dtype=np.int64).reshape(-1, k)
        if how == "every input combination":
            combos = np.array(list(itertools.product(range(pool), repeat=k)), dtype=np.int64)
            idx = np.tile(combos, (len(sets), 1))
            sets = np.repeat(sets, len(combos), axis=0)
        elif how == "every input of each instance":
            idx = np.concatenate([np.stack([np.arange(pool)] + [rng.permutation(pool) for _ in range(k - 1)], 1)
                                  for _ in range(len(sets))])
            sets = np.repeat(sets, pool, axis=0)
        else:
            m = max(1, budget // sets_n)
            idx = np.concatenate([np.stack([rng.choice(pool, m, replace=False) for _ in range(k)], 1)
                                  for _ in range(len(sets))])
            sets = np.repeat(sets, m, axis=0)
        inst.append(np.pad(sets, ((0, 0), (0, z - k)), constant_values=-1))
        rows.append(np.pad(idx, ((0, 0), (0, z - k)), constant_values=-1))
    return np.concatenate(inst), np.concatenate(rows), how


def _describe(circuit, X, row_inst, row_idx) -> str:
    """One row for a failure message: its active set and each active instance's inputs by port."""
    active = [int(u) for u in row_inst if u >= 0]
    inputs = {int(u): split_row(circuit.inputs, X[j]) for u, j in zip(row_inst, row_idx) if u >= 0}
    return f"active set {active} with inputs {inputs}"


def test_sizing_rule_reaches_compression():
    """The sizing rule (`layout`) gives every configuration some networks narrower than one neuron
    per gate (D < T·d_naive), so the checks below are not all on uncompressed networks."""
    for construction, z in CONFIGS:
        compressed = []
        for case in BOOLEAN:
            if case.name not in REFUSED:
                T, D, _ = layout(case, construction, z)
                if D < T * one_neuron_per_gate_width(reference(case)[0]):
                    compressed.append(case.name)
        assert compressed, f"{construction}, z = {z}: no case compresses"


@pytest.mark.parametrize("construction, z", CONFIGS, ids=[f"{c}-z{z}" for c, z in CONFIGS])
@pytest.mark.parametrize("case", CHECKED, ids=lambda c: c.name)
def test_compiled_network_matches_reference(case, construction, z):
    if case.name in REFUSED:
        with pytest.raises(circuitc.CircuitError, match=REFUSED[case.name]) as refusal:
            layout(case, construction, z)
        pytest.skip(f"{case.name}: the compiler refuses it in a network: {str(refusal.value).splitlines()[0]}")

    circuit, X, Y = reference(case)
    T, D, _ = layout(case, construction, z)
    comp = compiled(case, construction, z)
    net = comp.network
    where = f"{case.name}, {construction} construction, z = {z}, T = {T}, D = {net.D}, S = {net.S}"

    # The network is the one intended: T instances of this circuit, superposed, with its guarantee.
    assert (comp.config.construction, comp.config.z, net.T, net.D) == (construction, z, T, D), where
    (compiled_circuit,) = comp.circuits
    assert compiled_circuit.input_bits == circuit.input_bits, where
    assert compiled_circuit.output_bits == circuit.output_bits, where
    sup0 = net.supports[0].ravel()
    assert net.S == z + 1, where
    assert len(np.unique(sup0)) < sup0.size, f"{where}: no two instances share a neuron"
    assert comp.guarantee.exact, f"{where}: {comp.guarantee.reason}"

    rng = np.random.default_rng(0)
    inst, idx, how = row_plan(T, z, len(X), row_budget(construction, z, T, net.D, net.d, net.L, net.S), rng)
    if len(X) == 2 ** len(circuit.input_bits):
        assert len(circuit.input_bits) <= EXHAUSTIVE_MAX_BITS
    else:   # more than EXHAUSTIVE_MAX_BITS input bits: each instance's rows are random (cases.input_rows)
        assert len(X) == RANDOM_ROWS
    n_in, n_out = len(circuit.input_bits), len(circuit.output_bits)
    everyone = np.arange(T)
    for lo in range(0, len(inst), CHUNK):
        rows_inst, rows_idx = inst[lo:lo + CHUNK], idx[lo:lo + CHUNK]
        live = rows_inst >= 0
        x = np.zeros(rows_inst.shape + (net.n_in_max,))
        x[live, :n_in] = X[rows_idx[live]]
        with torch.no_grad():
            A_L = net.model(net.encode(rows_inst, x))
        b, s = np.nonzero(live)
        t = rows_inst[b, s]
        if construction == "routed":    # every instance, for the inactive ones below
            out = net.decode(A_L, np.tile(everyone, (len(rows_inst), 1)))[:, :, :n_out]   # (rows, T, n_out)
            got = out[b, t]
        else:
            got = net.decode(A_L, rows_inst)[b, s, :n_out]

        # Active instances: their decoded bits against the reference's, for their own inputs.
        want = Y[rows_idx[b, s]]
        assert not np.isnan(got).any(), f"{where}: NaN outputs"
        bad = np.flatnonzero(((got > 0.5) != (want == 1)).any(axis=1))
        if bad.size:
            k = bad[0]
            row = _describe(circuit, X, rows_inst[b[k]], rows_idx[b[k]])
            pytest.fail(f"{where}: {row}: instance {int(t[k])} decodes "
                        f"{split_row(circuit.outputs, (got[k] > 0.5).astype(int))}, the reference says "
                        f"{split_row(circuit.outputs, want[k])} (raw {np.round(got[k], 3).tolist()}; "
                        f"{bad.size} wrong active instances in rows {lo}..{lo + len(rows_inst)} of {len(inst)}, "
                        f"rows: {how})")

        # Inactive instances decode to 0 where the construction promises it (routed only).
        if construction == "routed":
            off = np.ones((len(rows_inst), T), dtype=bool)
            off[b, t] = False
            lit = off[..., None] & (out > 0.5)
            if lit.any():
                r, u, _ = np.argwhere(lit)[0]
                row = _describe(circuit, X, rows_inst[r], rows_idx[r])
                pytest.fail(f"{where}: {row}: inactive instance {int(u)} decodes "
                            f"{split_row(circuit.outputs, (out[r, u] > 0.5).astype(int))}, not 0 "
                            f"(raw {np.round(out[r, u], 3).tolist()}; {int(lit.any(axis=2).sum())} inactive "
                            f"instances lit in this chunk, rows: {how})")
