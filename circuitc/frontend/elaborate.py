"""Syntax trees → `Spec`: names resolved, parameters bound, instances expanded, every problem collected.

Boolean circuit bodies are expanded by expand.py and MLP bodies by mlp.py; this module handles
what sits around them: global parameters, the one namespace of top-level names, parameterised
instantiation (with memoisation and a recursion guard), feature sets and networks, whose `use`
lines may name one circuit per value of a parameter range. All problems found are collected and
raised together as one CircuitError.
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path
from typing import Callable, Iterable, Mapping, Union

from ..errors import CircuitError, Collector, SourceMap, Span, did_you_mean
from ..graph import check_acyclic, table_acyclic
from ..spec import (
    ALLOCATIONS,
    CONSTRUCTIONS,
    BoolCircuit,
    Circuit,
    FeatureSet,
    GateTable,
    InstanceGroup,
    Network,
    Spec,
)
from .expand import BUILTINS, MAX_STEPS, MAX_WIDTH, CircuitBuilder
from .intexpr import INT_LIMIT, IntEvaluator, Skip
from .mlp import MLPElaborator
from .syntax import ast

MAX_NESTING = 64
# Circuits named by the parameter ranges of one `use` line. Each member is elaborated on its own
# (about 50 µs when its layers load slices of one file), so this keeps a family under ~10 s.
MAX_FAMILY = 200_000
Definition = Union[ast.CircuitDef, ast.MLPDef, Circuit]  # a Circuit here was imported from a netlist

FEATURE_KNOBS = ("active", "embed", "seed")
NETWORK_KNOBS = ("active", "width", "redundancy", "allocation", "seed", "construction", "input_bound")


class Elaborator:
    def __init__(self, sources: SourceMap, on_weight_file: Callable[[bytes], None] | None = None):
        self.collector = Collector(sources)
        self.ints = IntEvaluator(self.collector)
        self.globals: dict[str, int] = {}
        self.defs: dict[str, Definition] = {}
        self.def_spans: dict[str, Span | None] = {}
        self.def_dirs: dict[str, Path] = {}
        self.feature_defs: dict[str, ast.FeaturesDef] = {}
        self.features: dict[str, FeatureSet | None] = {}
        self.memo: dict[tuple, Circuit | None] = {}
        self.stack: list[tuple[str, tuple]] = []
        self.steps = 0  # loop iterations, assignments, declared bits and gates so far, against MAX_STEPS
        # on_weight_file lets the loader hash weight files into the source hash.
        self.mlps = MLPElaborator(self.collector, on_weight_file)

    # ------------------------------------------------------------------ top level
    def run(self, items: Iterable[tuple[object, Path]], source: str = "<string>") -> Spec:
        """The Spec of `items` (the loader sets its source hash, which covers weight files read here)."""
        networks: list[ast.NetworkDef] = []
        order: list[str] = []
        for item, directory in items:
            if isinstance(item, ast.ParamDecl):
                self._global_param(item)
                continue
            name = item.name
            span = getattr(item, "span", None)
            if not self._claim(name, span):
                continue
            if isinstance(item, ast.FeaturesDef):
                self.feature_defs[name] = item
            elif isinstance(item, ast.NetworkDef):
                networks.append(item)
            else:
                self.defs[name] = item
                self.def_dirs[name] = directory
                order.append(name)

        for name in self.feature_defs:
            self.feature_set(name, None)

        # Circuits of included netlists come first, in the order their files were included.
        circuits: dict[str, Circuit] = {name: d for name, d in self.defs.items()
                                        if not isinstance(d, (ast.CircuitDef, ast.MLPDef))}
        for name in order:
            defn = self.defs[name]
            params = getattr(defn, "params", ())
            if any(p.default is None for p in params):
                continue  # a template: elaborated where it is instantiated with values
            circuit = self.instantiate(name, None, self.globals, getattr(defn, "span", None))
            if circuit is not None:
                circuits[circuit.name] = circuit

        nets = []
        for nd in networks:
            net = self._network(nd, circuits)
            if net is not None:
                nets.append(net)

        self.collector.raise_if_errors()
        features = tuple(f for f in self.features.values() if f is not None)
        return Spec(tuple(circuits.values()), features, tuple(nets), source, "",
                    self.collector.warnings)

    def _claim(self, name: str, span: Span | None) -> bool:
        if name in self.def_spans or name in self.feature_defs:
            first = self.def_spans.get(name)
            self.collector.error(f"`{name}` is defined twice", span,
                                 hint=f"first defined at {first}" if first else None)
            return False
        if name in BUILTINS:
            self.collector.error(f"`{name}` is a builtin gate; choose another name", span)
            return False
        self.def_spans[name] = span
        return True

    def _global_param(self, p: ast.ParamDecl) -> None:
        if p.name in self.globals:
            self.collector.error(f"parameter `{p.name}` is defined twice", p.span)
            return
        try:
            self.globals[p.name] = self.ints.eval(p.value, self.globals)
        except Skip:
            pass

    def add_circuit(self, circuit: Circuit, directory: Path, span: Span | None) -> None:
        """Make an already-elaborated circuit (from an included netlist) instantiable by name."""
        if self._claim(circuit.name, span):
            self.defs[circuit.name] = circuit
            self.def_dirs[circuit.name] = directory

    def spend(self, steps: int, span: Span | None, hint: Callable[[], str] | None = None) -> None:
        """Count `steps` of elaboration work done at `span`; past MAX_STEPS, stop elaborating at once.

        Raising here (rather than collecting the error and going on) is what bounds the time: the
        enclosing loops would otherwise keep running, one refused iteration after another."""
        self.steps += steps
        if self.steps > MAX_STEPS:
            self.collector.error(
                f"elaboration reached {self.steps:,} steps (loop iterations, assignments, declared bits "
                f"and gates), above the limit of {MAX_STEPS:,}", span,
                hint=hint() if hint else "nested loops multiply: `for i in 0..1000 { for j in 0..1000 { … } }` runs "
                             "1,000,000 times; check the loop bounds")
            self.collector.raise_if_errors()

    # ------------------------------------------------------------------ feature sets
    def feature_set(self, name: str, span: Span | None) -> FeatureSet | None:
        if name in self.features:
            return self.features[name]
        fd = self.feature_defs.get(name)
        if fd is None:
            self.collector.error(f"unknown feature set `{name}`", span,
                                 hint=lambda: did_you_mean(name, self.feature_defs)
                                 or "declare it: `features f[M] { active = S; }`")
            return None
        self.features[name] = None  # failed until proven otherwise
        try:
            m = self.ints.bounded(fd.size, self.globals, 1, MAX_WIDTH, f"the number of features of `{name}`")
            knobs = self._knobs(fd.knobs, FEATURE_KNOBS, "feature set")
            if "active" not in knobs:
                self.collector.error(f"feature set `{name}` needs its sparsity promise", fd.span,
                                     hint="add `active = S;`: at most S features are on at once")
                return None
            s = self._int_knob(knobs["active"], 1, m, "`active` (features on at once)")
            d0 = self._int_knob(knobs["embed"], 1, MAX_WIDTH, "`embed` (the dimension features live in)") \
                if "embed" in knobs else None
            seed = self._int_knob(knobs["seed"], 0, INT_LIMIT - 1, "`seed`") if "seed" in knobs else 0
        except Skip:
            return None
        fs = FeatureSet(name, m, s, d0, seed, fd.span)
        self.features[name] = fs
        return fs

    def _knobs(self, knobs: Iterable[ast.Knob], allowed: tuple[str, ...], what: str) -> dict[str, ast.Knob]:
        seen: dict[str, ast.Knob] = {}
        for k in knobs:
            if k.name not in allowed:
                self.collector.error(f"unknown {what} setting `{k.name}`", k.span,
                                     hint=lambda: did_you_mean(k.name, allowed) or f"settings: {', '.join(allowed)}")
            elif k.name in seen:
                self.collector.error(f"`{k.name}` is set twice", k.span, hint=f"first set at {seen[k.name].span}")
            else:
                seen[k.name] = k
        return seen

    def _int_knob(self, k: ast.Knob, lo: int, hi: int, what: str) -> int:
        if isinstance(k.value, str):
            self.collector.error(f"{what} takes an integer, not a string", k.span)
            raise Skip
        return self.ints.bounded(k.value, self.globals, lo, hi, what)

    # ------------------------------------------------------------------ instances
    def instantiate(self, name: str, targs: tuple[ast.TArg, ...] | None, env: Mapping[str, int],
                    span: Span | None) -> Circuit | None:
        """The circuit `name` elaborated with the given parameters (memoised), or None after an error."""
        defn = self._definition(name, targs, span)
        if not isinstance(defn, (ast.CircuitDef, ast.MLPDef)):
            return defn  # None after an error, or the circuit of a netlist
        try:
            given = self._given(defn, targs, env, span)
        except Skip:
            return None
        return self._instance(defn, given, span)

    def _definition(self, name: str, targs, span: Span | None) -> Definition | None:
        defn = self.defs.get(name)
        if defn is None:
            if name in self.feature_defs:
                self.collector.error(f"`{name}` is a feature set, not a circuit", span)
            else:
                self.collector.error(f"unknown circuit `{name}`", span,
                                     hint=lambda: did_you_mean(name, list(self.defs) + list(BUILTINS)))
            return None
        if targs and not isinstance(defn, (ast.CircuitDef, ast.MLPDef)):
            self.collector.error(f"`{name}` takes no parameters", span)
            return None
        return defn

    def _given(self, defn, targs, env: Mapping[str, int], span: Span | None) -> dict[str, int | range]:
        """The parameter values written in `<...>`, by name: an int, or a range in a `use` line."""
        params = list(defn.params)
        names = [p.name for p in params]
        given: dict[str, int | range] = {}
        targs = targs or ()
        positional = [t for t in targs if t.name is None]
        if len(positional) > len(params):
            self.collector.error(f"`{defn.name}` takes {len(params)} parameter{'s' * (len(params) != 1)}, "
                                 f"got {len(positional)}", span,
                                 expected=f"<{', '.join(names)}>" if names else "no parameters")
            raise Skip
        for p, t in zip(params, positional):
            given[p.name] = self._targ_value(p.name, t, env)
        for t in targs:
            if t.name is None:
                continue
            if t.name not in names:
                self.collector.error(
                    f"`{defn.name}` has no parameter `{t.name}`", t.span,
                    hint=lambda: did_you_mean(t.name, names) or f"parameters: {', '.join(names) or 'none'}")
                raise Skip
            if t.name in given:
                self.collector.error(f"parameter `{t.name}` is given twice", t.span)
                raise Skip
            given[t.name] = self._targ_value(t.name, t, env)
        return given

    def _targ_value(self, name: str, t: ast.TArg | ast.TRange, env: Mapping[str, int]) -> int | range:
        if isinstance(t, ast.TArg):
            return self.ints.eval(t.value, env)
        lo, hi = self.ints.eval(t.lo, env), self.ints.eval(t.hi, env)
        if lo >= hi:
            self.collector.error(f"the range {lo}..{hi} of parameter `{name}` holds no values", t.span,
                                 expected="a range lo..hi with lo < hi",
                                 hint="`lo..hi` runs from lo up to hi - 1, as in `for` loops")
            raise Skip
        return range(lo, hi)

    def _instance(self, defn: ast.CircuitDef | ast.MLPDef, given: Mapping[str, int],
                  span: Span | None) -> Circuit | None:
        """`defn` elaborated with the parameter values `given` (the others take their defaults)."""
        try:
            values, canonical = self._bind_params(defn, given, span)
        except Skip:
            return None
        key = (defn.name, tuple(values.items()))
        if key in self.memo:
            return self.memo[key]
        if key in self.stack:
            chain = " -> ".join(self._key_name(k) for k in self.stack[self.stack.index(key):] + [key])
            self.collector.error(f"recursive instantiation: {chain}", span,
                                 hint="a circuit may instantiate itself only with parameters that reach a base case")
            return None
        if len(self.stack) >= MAX_NESTING:
            self.collector.error(f"instances nest deeper than {MAX_NESTING} levels at `{canonical}`", span,
                                 hint="check the base case of a recursive circuit")
            return None
        self.stack.append(key)
        try:
            env_c = {**self.globals, **values}
            if isinstance(defn, ast.CircuitDef):
                circuit = CircuitBuilder(self, defn, env_c, canonical, tuple(values.items())).build()
                # A GateTable the builder made is well formed by construction; without a cycle,
                # it needs no name index, nor the names it makes only when asked for.
                if circuit is not None and not (isinstance(circuit.gates, GateTable) and table_acyclic(circuit.gates)):
                    try:
                        check_acyclic(circuit, self.collector.sources)
                    except CircuitError as e:  # naming the cycle
                        self.collector.diagnostics.extend(e.diagnostics)
                        circuit = None
            else:
                circuit = self.mlps.build(defn, env_c, canonical, tuple(values.items()),
                                          self.def_dirs.get(defn.name) or Path("."))
        finally:
            self.stack.pop()
        self.memo[key] = circuit
        return circuit

    def _key_name(self, key: tuple) -> str:
        name, values = key
        return name if not values else f"{name}<{', '.join(f'{k}={v}' for k, v in values)}>"

    def _bind_params(self, defn, given: Mapping[str, int], span) -> tuple[dict[str, int], str]:
        """Every parameter's value (given or default) and the canonical name they make."""
        values: dict[str, int] = {}
        all_default = True
        for p in defn.params:
            scope = {**self.globals, **values}
            default = self.ints.eval(p.default, scope) if p.default is not None else None
            if p.name in given:
                values[p.name] = given[p.name]
                all_default &= default is not None and given[p.name] == default
            elif default is not None:
                values[p.name] = default
            else:
                names = [q.name for q in defn.params]
                self.collector.error(f"`{defn.name}` needs a value for parameter `{p.name}`", span,
                                     hint=f"write `{defn.name}<{', '.join(f'{n}=…' for n in names)}>`")
                raise Skip
        canonical = defn.name if all_default else self._key_name((defn.name, tuple(values.items())))
        return values, canonical

    def _used_circuits(self, ref: ast.CircuitRef) -> list[Circuit | None]:
        """The circuits a `use` line names: one, or one per value of its parameter ranges (their
        product, the last range varying fastest). None stands for a circuit that failed."""
        targs = ref.targs or ()
        if not any(isinstance(t, ast.TRange) for t in targs):
            return [self.instantiate(ref.name, ref.targs, self.globals, ref.span)]
        defn = self._definition(ref.name, targs, ref.span)
        if not isinstance(defn, (ast.CircuitDef, ast.MLPDef)):
            return [None]  # netlists take no parameters: reported
        try:
            given = self._given(defn, targs, self.globals, ref.span)
        except Skip:
            return [None]
        ranges = {k: v for k, v in given.items() if isinstance(v, range)}
        size = math.prod(len(r) for r in ranges.values())
        if size > MAX_FAMILY:
            self.collector.error(f"the parameter ranges of `{ref.name}` name {size:,} circuits", ref.span,
                                 expected=f"at most {MAX_FAMILY:,} circuits in one `use`")
            return [None]
        fixed = {k: v for k, v in given.items() if not isinstance(v, range)}
        names = tuple(ranges)
        # Each member is one binding; the definition is found and checked once for all of them.
        return [self._instance(defn, {**fixed, **dict(zip(names, combo))}, ref.span)
                for combo in itertools.product(*ranges.values())]

    # ------------------------------------------------------------------ networks
    def _network(self, nd: ast.NetworkDef, circuits: dict[str, Circuit]) -> Network | None:
        c = self.collector
        before = c.count
        groups: list[InstanceGroup] = []
        used: dict[str, Span | None] = {}
        broken = False  # a used circuit failed: its errors are reported, and T is unknown
        knob_items = [s for s in nd.body if isinstance(s, ast.Knob)]
        for u in (s for s in nd.body if isinstance(s, ast.Use)):
            try:
                count = 1 if u.count is None else \
                    self.ints.bounded(u.count, self.globals, 1, INT_LIMIT - 1, "an instance count")
            except Skip:
                continue
            for circuit in self._used_circuits(u.ref):
                if circuit is None:
                    broken = True
                    continue
                if isinstance(circuit, BoolCircuit) and circuit.features is not None:
                    c.error(f"`{circuit.name}` computes over feature set `{circuit.features}`; "
                            f"a network holds circuit instances", u.span,
                            hint="feature circuits compile on their own, without a network declaration")
                    break  # every member of a range would say the same
                if circuit.name in used:
                    c.error(f"`{circuit.name}` is used twice in network `{nd.name}`", u.span,
                            hint=f"first used at {used[circuit.name]}; add the counts into one `use`")
                    continue
                used[circuit.name] = u.span
                circuits.setdefault(circuit.name, circuit)
                groups.append(InstanceGroup(circuit.name, count, u.span))
        if broken:
            return None
        if not groups and c.count == before:
            c.error(f"network `{nd.name}` uses no circuits", nd.span, hint="add `use CIRCUIT * COUNT;`")
        knobs = self._knobs(knob_items, NETWORK_KNOBS, "network")
        T = sum(g.count for g in groups)
        values: dict[str, object] = {}
        try:
            if "active" not in knobs:
                c.error(f"network `{nd.name}` needs its sparsity promise", nd.span,
                        hint="add `active = Z;`: at most Z instances are active on one input")
            else:
                values["z"] = self._int_knob(knobs["active"], 1, max(T, 1), f"`active` (at most T = {T} instances)")
            if "width" in knobs:
                values["D"] = self._int_knob(knobs["width"], 1, 2 ** 31 - 1, "`width` (neurons per layer)")
            if "redundancy" in knobs:
                values["S"] = self._int_knob(knobs["redundancy"], 1, values.get("D", Network.D),
                                             "`redundancy` (neurons per circuit neuron, at most the width)")
            if "seed" in knobs:
                values["seed"] = self._int_knob(knobs["seed"], 0, INT_LIMIT - 1, "`seed`")
            if "input_bound" in knobs:
                values["input_bound"] = self._int_knob(knobs["input_bound"], 1, INT_LIMIT - 1,
                                                       "`input_bound` (the most any real input's magnitude is)")
            for key, allowed, example, what in (("allocation", ALLOCATIONS, "affine", "strategy"),
                                                ("construction", CONSTRUCTIONS, "routed", "construction")):
                if key in knobs:
                    k = knobs[key]
                    if not isinstance(k.value, str) or k.value not in allowed:
                        shown = k.value if isinstance(k.value, str) else "an unquoted value"
                        c.error(f"unknown {key} {shown!r}" if isinstance(k.value, str) else
                                f"`{key}` takes a quoted {what} name", k.span,
                                expected=", ".join(f'"{a}"' for a in allowed),
                                hint=lambda: did_you_mean(shown, allowed) if isinstance(k.value, str) else
                                f'write {key} = "{example}";')
                    else:
                        values[key] = k.value
        except Skip:
            pass
        if c.count > before and c.has_errors:
            return None
        return Network(nd.name, tuple(groups), span=nd.span, **values)

