"""Syntax trees → `Spec`: names resolved, parameters bound, instances expanded, every problem collected.

Boolean circuit bodies are expanded by expand.py; this module handles what sits around them:
global parameters, the one namespace of top-level names, parameterised instantiation (with
memoisation and a recursion guard), MLP layers and their weight files, feature sets and networks.
All problems found are collected and raised together as one CircuitError.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterable, Mapping, Union

import numpy as np

from ..errors import CircuitError, Collector, SourceMap, Span, did_you_mean
from ..graph import check_acyclic
from ..spec import (
    ACTIVATIONS,
    ALLOCATIONS,
    CONSTRUCTIONS,
    BoolCircuit,
    Circuit,
    FeatureSet,
    InstanceGroup,
    Layer,
    MLPCircuit,
    Network,
    Port,
    Spec,
)
from .expand import BUILTINS, MAX_WIDTH, CircuitBuilder
from .intexpr import INT_LIMIT, IntEvaluator, Skip
from .syntax import ast
from .weights import WeightFileError, read_tensor

MAX_NESTING = 64
Definition = Union[ast.CircuitDef, ast.MLPDef, Circuit]  # a Circuit here was imported from a netlist

FEATURE_KNOBS = ("active", "embed", "seed")
NETWORK_KNOBS = ("active", "width", "redundancy", "allocation", "seed", "construction")


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
        self.on_weight_file = on_weight_file  # lets the loader hash weight files into the source hash

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

    # ------------------------------------------------------------------ feature sets
    def feature_set(self, name: str, span: Span | None) -> FeatureSet | None:
        if name in self.features:
            return self.features[name]
        fd = self.feature_defs.get(name)
        if fd is None:
            self.collector.error(f"unknown feature set `{name}`", span,
                                 hint=did_you_mean(name, self.feature_defs)
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
                                     hint=did_you_mean(k.name, allowed) or f"settings: {', '.join(allowed)}")
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
        defn = self.defs.get(name)
        if defn is None:
            if name in self.feature_defs:
                self.collector.error(f"`{name}` is a feature set, not a circuit", span)
            else:
                self.collector.error(f"unknown circuit `{name}`", span,
                                     hint=did_you_mean(name, list(self.defs) + list(BUILTINS)))
            return None
        if not isinstance(defn, (ast.CircuitDef, ast.MLPDef)):
            if targs:
                self.collector.error(f"`{name}` takes no parameters", span)
                return None
            return defn
        try:
            values, canonical = self._bind_params(defn, targs, env, span)
        except Skip:
            return None
        key = (name, tuple(values.items()))
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
                if circuit is not None:
                    try:
                        check_acyclic(circuit, self.collector.sources)
                    except CircuitError as e:  # naming the cycle
                        self.collector.diagnostics.extend(e.diagnostics)
                        circuit = None
            else:
                circuit = self._mlp(defn, env_c, canonical, tuple(values.items()))
        finally:
            self.stack.pop()
        self.memo[key] = circuit
        return circuit

    def _key_name(self, key: tuple) -> str:
        name, values = key
        return name if not values else f"{name}<{', '.join(f'{k}={v}' for k, v in values)}>"

    def _bind_params(self, defn, targs, env, span) -> tuple[dict[str, int], str]:
        params = list(defn.params)
        names = [p.name for p in params]
        given: dict[str, int] = {}
        targs = targs or ()
        positional = [t for t in targs if t.name is None]
        if len(positional) > len(params):
            self.collector.error(f"`{defn.name}` takes {len(params)} parameter{'s' * (len(params) != 1)}, "
                                 f"got {len(positional)}", span,
                                 expected=f"<{', '.join(names)}>" if names else "no parameters")
            raise Skip
        for p, t in zip(params, positional):
            given[p.name] = self.ints.eval(t.value, env)
        for t in targs:
            if t.name is None:
                continue
            if t.name not in names:
                self.collector.error(f"`{defn.name}` has no parameter `{t.name}`", t.span,
                                     hint=did_you_mean(t.name, names) or f"parameters: {', '.join(names) or 'none'}")
                raise Skip
            if t.name in given:
                self.collector.error(f"parameter `{t.name}` is given twice", t.span)
                raise Skip
            given[t.name] = self.ints.eval(t.value, env)
        values: dict[str, int] = {}
        all_default = True
        for p in params:
            scope = {**self.globals, **values}
            default = self.ints.eval(p.default, scope) if p.default is not None else None
            if p.name in given:
                values[p.name] = given[p.name]
                all_default &= default is not None and given[p.name] == default
            elif default is not None:
                values[p.name] = default
            else:
                self.collector.error(f"`{defn.name}` needs a value for parameter `{p.name}`", span,
                                     hint=f"write `{defn.name}<{', '.join(f'{n}=…' for n in names)}>`")
                raise Skip
        canonical = defn.name if all_default else self._key_name((defn.name, tuple(values.items())))
        return values, canonical

    # ------------------------------------------------------------------ MLP circuits
    def _mlp(self, defn: ast.MLPDef, env: dict[str, int], name: str, params) -> MLPCircuit | None:
        c = self.collector
        before = len(c.diagnostics)
        ports: dict[str, list[Port]] = {"in": [], "out": []}
        seen: dict[str, Span | None] = {}
        layer_defs: list[ast.LayerDef] = []
        env = dict(env)
        for s in defn.body:
            try:
                if isinstance(s, ast.PortDecl):
                    if s.direction == "wire":
                        c.error("an MLP circuit has no wires; its layers connect inputs to outputs", s.span)
                        continue
                    for d in s.decls:
                        if d.name in seen:
                            c.error(f"`{d.name}` is declared twice", d.span, hint=f"first declared at {seen[d.name]}")
                            continue
                        width = None if d.width is None else \
                            self.ints.bounded(d.width, env, 1, MAX_WIDTH, f"the width of `{d.name}`")
                        seen[d.name] = d.span
                        ports[s.direction].append(Port(d.name, width, d.span))
                elif isinstance(s, ast.ParamDecl):
                    env[s.name] = self.ints.eval(s.value, env)
                else:
                    layer_defs.append(s)
            except Skip:
                pass
        if not ports["in"]:
            c.error(f"mlp `{defn.name}` declares no inputs", defn.span, hint="add `in x[N];`")
        if not ports["out"]:
            c.error(f"mlp `{defn.name}` declares no outputs", defn.span, hint="add `out y[N];`")
        if not layer_defs:
            c.error(f"mlp `{defn.name}` has no layers", defn.span,
                    hint="add `layer relu { weights = [[...]]; bias = [...]; }`")
        width = sum(p.size for p in ports["in"])
        layers: list[Layer] = []
        for i, ld in enumerate(layer_defs, 1):
            layer = self._layer(ld, i, width, self.def_dirs.get(defn.name, Path(".")))
            if layer is not None:
                layers.append(layer)
                width = layer.weights.shape[0]
            else:
                width = None
                break
        n_out = sum(p.size for p in ports["out"])
        if layers and width is not None and len(layers) == len(layer_defs) and width != n_out:
            c.error(f"the last layer of `{defn.name}` gives {width} value{'s' * (width != 1)}, "
                    f"but {n_out} output{'s' * (n_out != 1)} are declared", layer_defs[-1].span)
        if len(c.diagnostics) > before and c.has_errors:
            return None
        return MLPCircuit(name, tuple(ports["in"]), tuple(ports["out"]), tuple(layers), params, defn.span)

    def _layer(self, ld: ast.LayerDef, index: int, width_in: int, directory: Path) -> Layer | None:
        c = self.collector
        ok = True
        if ld.activation not in ACTIVATIONS:
            c.error(f"unknown activation `{ld.activation}`", ld.span,
                    expected=" or ".join(f"`{a}`" for a in ACTIVATIONS), hint=did_you_mean(ld.activation, ACTIVATIONS))
            ok = False
        fields: dict[str, ast.LayerField] = {}
        for f in ld.fields:
            if f.name not in ("weights", "bias"):
                c.error(f"unknown layer field `{f.name}`", f.span,
                        hint=did_you_mean(f.name, ("weights", "bias")) or "a layer has `weights` and `bias`")
                ok = False
            elif f.name in fields:
                c.error(f"`{f.name}` is given twice", f.span)
                ok = False
            else:
                fields[f.name] = f
        if "weights" not in fields:
            c.error(f"layer {index} has no weights", ld.span, hint="add `weights = [[...]];` (shape: outputs × inputs)")
            return None
        w = self._tensor(fields["weights"], directory)
        b = self._tensor(fields["bias"], directory) if "bias" in fields else None
        if w is None or ("bias" in fields and b is None) or not ok:
            return None
        wspan = fields["weights"].span
        if w.ndim != 2:
            c.error(f"layer {index}: weights must be a matrix (outputs × inputs), got shape {tuple(w.shape)}", wspan,
                    hint="write one row per output neuron: [[w11, w12], [w21, w22]]")
            return None
        if w.shape[1] != width_in:
            c.error(f"layer {index}: weights of shape {tuple(w.shape)} take {w.shape[1]} input"
                    f"{'s' * (w.shape[1] != 1)}, but {'the inputs give' if index == 1 else 'the layer before gives'} "
                    f"{width_in}", wspan, expected=f"shape ({w.shape[0]}, {width_in})")
            return None
        if b is None:
            b = np.zeros(w.shape[0])
        elif b.shape != (w.shape[0],):
            c.error(f"layer {index}: bias of shape {tuple(b.shape)} does not match {w.shape[0]} output"
                    f"{'s' * (w.shape[0] != 1)}", fields["bias"].span, expected=f"shape ({w.shape[0]},)")
            return None
        return Layer(w, b, ld.activation, ld.span)

    def _tensor(self, f: ast.LayerField, directory: Path) -> np.ndarray | None:
        t = f.value
        if t.span is None:  # an empty array has no token to point at
            t = type(t)(**{**t.__dict__, "span": f.span})
        if isinstance(t, ast.ArrayLit):
            shape = _array_shape(t.values)
            if shape is None:
                self.collector.error("ragged array: rows have different lengths", t.span,
                                     hint="every row of a matrix needs the same number of values")
                return None
            if 0 in shape:
                self.collector.error("empty array", t.span)
                return None
            if len(shape) > 2:
                self.collector.error(f"array of {len(shape)} dimensions", t.span,
                                     expected="a matrix for weights (outputs × inputs), a list for a bias")
                return None
            return np.array(t.values, dtype=np.float64)
        path = directory / t.path
        try:
            array, data = read_tensor(path, t.key)
        except WeightFileError as e:
            self.collector.error(e.message, t.span, hint=e.hint)
            return None
        if self.on_weight_file is not None:
            self.on_weight_file(data)
        return array

    # ------------------------------------------------------------------ networks
    def _network(self, nd: ast.NetworkDef, circuits: dict[str, Circuit]) -> Network | None:
        c = self.collector
        before = len(c.diagnostics)
        groups: list[InstanceGroup] = []
        used: dict[str, Span | None] = {}
        broken = False  # a used circuit failed: its errors are reported, and T is unknown
        knob_items = [s for s in nd.body if isinstance(s, ast.Knob)]
        for u in (s for s in nd.body if isinstance(s, ast.Use)):
            try:
                count = self.ints.bounded(u.count, self.globals, 1, INT_LIMIT - 1, "an instance count")
            except Skip:
                continue
            circuit = self.instantiate(u.ref.name, u.ref.targs, self.globals, u.ref.span)
            if circuit is None:
                broken = True
                continue
            if isinstance(circuit, BoolCircuit) and circuit.features is not None:
                c.error(f"`{circuit.name}` computes over feature set `{circuit.features}`; "
                        f"a network holds circuit instances", u.span,
                        hint="feature circuits compile on their own, without a network declaration")
                continue
            if circuit.name in used:
                c.error(f"`{circuit.name}` is used twice in network `{nd.name}`", u.span,
                        hint=f"first used at {used[circuit.name]}; add the counts into one `use`")
                continue
            used[circuit.name] = u.span
            circuits.setdefault(circuit.name, circuit)
            groups.append(InstanceGroup(circuit.name, count, u.span))
        if broken:
            return None
        if not groups and len(c.diagnostics) == before:
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
            for key, allowed, example, what in (("allocation", ALLOCATIONS, "affine", "strategy"),
                                                ("construction", CONSTRUCTIONS, "routed", "construction")):
                if key in knobs:
                    k = knobs[key]
                    if not isinstance(k.value, str) or k.value not in allowed:
                        shown = k.value if isinstance(k.value, str) else "an unquoted value"
                        c.error(f"unknown {key} {shown!r}" if isinstance(k.value, str) else
                                f"`{key}` takes a quoted {what} name", k.span,
                                expected=", ".join(f'"{a}"' for a in allowed),
                                hint=did_you_mean(shown, allowed) if isinstance(k.value, str) else
                                f'write {key} = "{example}";')
                    else:
                        values[key] = k.value
        except Skip:
            pass
        if len(c.diagnostics) > before and c.has_errors:
            return None
        return Network(nd.name, tuple(groups), span=nd.span, **values)


def _array_shape(values) -> tuple[int, ...] | None:
    """The shape of a nested tuple of numbers, or None if it is ragged."""
    if not isinstance(values, tuple):
        return ()
    shapes = {_array_shape(v) for v in values}
    if len(shapes) > 1 or None in shapes:
        return None
    inner = shapes.pop() if shapes else ()
    return (len(values),) + inner
