"""The lookup construction: different boolean circuits sharing one range of routed positions, each
read out of a shared decoder by its truth table (lower/lookup.py, constructions/lookup.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from cli_runs import fails, ok

import circuitc
from circuitc.artifact import load, save
from circuitc.instances import compile_network, plan_network
from circuitc.instances.layout import weight_classes
from circuitc.instances.lower.lookup import MAX_LOOKUP_INPUTS, decoder, lower_decoder
from circuitc.instances.planner import fallback_warning
from circuitc.instances.verify import verify
from circuitc.interpret import BoolTables, evaluate_bits, truth_table

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
EXAMPLE = EXAMPLES / "different_circuits.circ"

# Different circuits of 2, 3 and 4 inputs (the narrower ones read the decoder's first inputs),
# with constants, a copied input and an output that is also an input among them.
MIXED = """
circuit f<K> {
    in x[4];
    out y[2];
    y[0] = (x[K % 4] ^ x[(K + 1) % 4]) & (x[(K + 2) % 4] | bit(K, 3));
    y[1] = maj(x[K % 4], x[(K / 4 + 1) % 4], ~x[3]) ^ bit(K, 4);
}
circuit g<K> {
    in a[3];
    out p, q, r;
    p = a[K % 3] | (a[(K + 1) % 3] & bit(K, 2));
    q = bit(K, 3);
    r = a[2];
}
circuit h {
    in u, v;
    out w, v2;
    w = ~(u & v);
    v2 = v;
}
"""


def _mixed(count: int = 24, z: int = 2, width: int = 512, extra: str = "") -> circuitc.Spec:
    uses = f"use f<K=0..{count}>; use g<K=0..{count // 2}>; use h * 3;"
    return circuitc.parse(MIXED + f"network mixed {{ {uses} active = {z}; width = {width}; {extra} }}\n")


def _example(T: int) -> str:
    text = EXAMPLE.read_text()
    assert "param T = 2000;" in text
    return text.replace("param T = 2000;", f"param T = {T};")


def test_the_decoder_is_one_hot_on_every_input():
    """A position holding one instance: the read-out of minterm m is (S/c0)·[inputs spell m]."""
    for k, (z, S, lam) in [(1, (1, 2, 1)), (3, (2, 5, 2)), (4, (3, 7, 2))]:
        dec = lower_decoder(k, z, S, lam)
        X, _ = truth_table(decoder(k))
        a = np.zeros((len(X), dec.d))
        a[:, 0] = 1.0
        a[:, dec.input_index] = X
        for l in range(dec.L):
            a = np.maximum(a @ dec.weights[l].T + dec.biases[l], 0.0)
        scale = S / (S - lam * (z - 1))
        np.testing.assert_allclose(a @ dec.readout.T, scale * np.eye(1 << k), atol=1e-12)
        if k >= 2:       # one unit per minterm beside one, empty (and excess where positions collide)
            assert dec.d == (1 << k) + (3 if z >= 2 and lam >= 1 else 2)


def test_bool_tables_agree_with_evaluating_each_circuit():
    """The side-by-side truth tables give, for every circuit and every input row, what
    evaluate_bits gives that circuit alone, whatever its number of inputs and outputs."""
    spec = _mixed(count=12)
    circuits = spec.circuits
    tables = BoolTables(circuits)
    rng = np.random.default_rng(0)
    for t, c in enumerate(circuits):
        n = len(c.input_bits)
        X = rng.integers(0, 2, size=(40, tables.k))
        got = tables.evaluate(np.full(40, t), X)[:, :len(c.output_bits)]
        np.testing.assert_array_equal(got, evaluate_bits(c, X[:, :n]))
        # Inputs past a circuit's own are ignored.
        X2 = X.copy()
        X2[:, n:] = 1 - X2[:, n:]
        np.testing.assert_array_equal(tables.evaluate(np.full(40, t), X2)[:, :len(c.output_bits)], got)


@pytest.mark.parametrize("z", [2, 3])
def test_different_circuits_are_exact_on_random_and_adversarial_rows(z):
    spec = _mixed(z=z, width=512 * (z - 1), extra='construction = "lookup";')
    comp = compile_network(spec)
    assert comp.config.construction == "lookup"
    assert len({c.name for c in comp.circuits}) == len(comp.circuits) == 12 + 24 + 1
    assert comp.guarantee.exact and comp.budget.verdict == "guaranteed"
    # Every circuit runs the same positions' network: one weight class, stored once.
    class_of, first = weight_classes(comp.network.types)
    assert first == [0] and not class_of.any()
    for mode in ("random", "adversarial"):
        r = verify(comp, samples=3000, mode=mode, layer_errors=False)
        assert r["bit_accuracy"] == 1.0 and r["instance_accuracy"] == 1.0, (mode, r["bit_accuracy"])
        assert min(k for k, n in enumerate(r["routing"]["clean_positions"]) if n) >= r["routing"]["c0"]


def test_exhaustive_rows_of_a_small_network_are_exact():
    spec = circuitc.parse(MIXED + 'network small { use g<K=0..6>; use h * 2; active = 2; width = 96; '
                                  'construction = "lookup"; }')
    comp = compile_network(spec)
    r = verify(comp, mode="exhaustive", layer_errors=False)
    assert r["samples"] > 1000 and r["bit_accuracy"] == 1.0


def test_auto_falls_back_to_lookup_aloud_when_routed_cannot_give_each_type_a_range():
    comp = compile_network(_mixed(count=300, width=1024))
    warning = fallback_warning(comp.plan)
    assert comp.config.construction == "lookup"
    assert warning is not None and "fell back to the lookup construction" in warning.message
    assert "circuit types need in the routed construction" in warning.message
    # A few types that routed holds stay routed.
    assert compile_network(_mixed(count=2, width=2048)).config.construction == "routed"


def test_refusals_name_the_limit():
    mlp = circuitc.parse('mlp m { in x; out y; layer linear { weights = [[1]]; } }\n'
                         'circuit c { in a; out b; b = ~a; }\n'
                         'network n { use m; use c; active = 1; construction = "lookup"; }')
    with pytest.raises(circuitc.CircuitError, match=r"boolean circuits only: `m` is an MLP circuit"):
        plan_network(mlp)
    wide = circuitc.parse(f'circuit w {{ in x[{MAX_LOOKUP_INPUTS + 1}]; out y; y = and(x); }}\n'
                          'network n { use w * 4; active = 1; construction = "lookup"; }')
    with pytest.raises(circuitc.CircuitError, match=rf"at most {MAX_LOOKUP_INPUTS} input bits .* `w` has "
                                                    rf"{MAX_LOOKUP_INPUTS + 1}"):
        plan_network(wide)
    with pytest.raises(circuitc.CircuitError) as e:
        plan_network(_mixed(count=400, width=64, extra='construction = "lookup";'))
    assert re.search(r"width D = 64 is narrower than 603 instances need in the lookup construction: the largest "
                     r"code that fits holds \d+ .*a decoder of 4 inputs per position", str(e.value))


def test_same_source_gives_identical_weights_and_artifacts_round_trip(tmp_path):
    spec = _mixed(extra='construction = "lookup";')
    a, b = compile_network(spec), compile_network(spec)
    save(a, tmp_path / "a")
    save(b, tmp_path / "b")
    for name in ("weights.safetensors", "network.json", "circuits.circ"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    meta = json.loads((tmp_path / "a" / "network.json").read_text())
    # The decoder is stored once; every other type names it.
    assert "weights_of" not in meta["types"][0]
    assert all(t["weights_of"] == 0 for t in meta["types"][1:])
    from safetensors.numpy import load_file
    keys = set(load_file(tmp_path / "a" / "weights.safetensors"))
    assert {k for k in keys if k.startswith("types.")} == {"types.0.weights", "types.0.biases"}
    back = load(tmp_path / "a")
    assert back.config.construction == "lookup" and back.guarantee.exact
    assert verify(back, samples=2000, mode="adversarial", layer_errors=False)["bit_accuracy"] == 1.0
    rng = np.random.default_rng(1)
    inst = np.stack([rng.permutation(a.network.T)[:2] for _ in range(64)])
    x = rng.integers(0, 2, size=(64, 2, a.network.n_in_max)).astype(float)
    np.testing.assert_array_equal(back.network.run(inst, x), a.network.run(inst, x))


def test_a_tampered_weights_of_is_refused(tmp_path):
    save(compile_network(_mixed(count=4, extra='construction = "lookup";')), tmp_path / "a")
    meta_path = tmp_path / "a" / "network.json"
    for bad in (5, -1, "0", 2):
        meta = json.loads(meta_path.read_text())
        meta["types"][1]["weights_of"] = bad
        if bad == 2:                       # a type that does not store its own weights
            meta["types"][3]["weights_of"] = 2
        meta_path.write_text(json.dumps(meta))
        with pytest.raises(circuitc.CircuitError, match=r"weights_of` must name an earlier type"):
            load(tmp_path / "a")
        save(compile_network(_mixed(count=4, extra='construction = "lookup";')), tmp_path / "a", force=True)


def test_the_example_from_the_command_line(tmp_path, capsys):
    """examples/different_circuits.circ with fewer circuits: `auto` says it falls back to lookup,
    the tables list the first circuits and say how many there are, verify is exact."""
    src = tmp_path / "different.circ"
    src.write_text(_example(1000))
    out = ok(capsys, "compile", src, "-o", tmp_path / "net")
    assert re.search(r"construction\s+lookup", out)
    assert "instance types: first 20 of 1000" in out
    assert "guaranteed exact for every input that keeps the promise: lookup" in out
    out = ok(capsys, "verify", tmp_path / "net", "--samples", "2000", "--adversarial")
    assert re.search(r"bit accuracy\s+1\b", out), out
    out = ok(capsys, "check", src)
    assert "random4<F=0> * 1" in out and "(980 more)" in out and "circuits: first 20 of 1000" in out
    err = fails(capsys, "compile", src, "-o", tmp_path / "net2", "--construction", "lookup", "--width", "40")
    assert "narrower than 1000 instances need in the lookup construction" in err


def test_the_example_as_shipped():
    """2,000 different depth-4 circuits in D = 4096 at z = 2: more gates a layer than neurons
    (compression above 1.4), guaranteed, exact on random and adversarial rows."""
    comp = compile_network(circuitc.load_spec(EXAMPLE))
    assert comp.config.construction == "lookup" and comp.network.T == 2000 and comp.budget.verdict == "guaranteed"
    assert comp.report()["compression"] > 1.4
    for mode in ("random", "adversarial"):
        assert verify(comp, samples=2048, mode=mode, layer_errors=False)["bit_accuracy"] == 1.0


@pytest.mark.slow
def test_the_example_holds_ten_thousand_different_circuits_exactly(tmp_path):
    """The example at T = 10^4: different depth-4 circuits in D = 4096 at z = 2, compression
    above 7, exact on 10^4 random and 2,048 adversarial rows."""
    comp = compile_network(circuitc.parse(_example(10_000), base_dir=EXAMPLES))
    assert comp.config.construction == "lookup" and comp.network.T == 10_000
    assert comp.report()["compression"] > 7
    for mode, samples in (("random", 10_000), ("adversarial", 2048)):
        assert verify(comp, samples=samples, mode=mode, layer_errors=False)["bit_accuracy"] == 1.0
