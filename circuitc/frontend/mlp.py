"""One `mlp` definition, for one set of parameter values → an `MLPCircuit`.

Parameters size the ports and pick slices of stacked weight files: `load("w.npy")[i]` is the
`i`-th matrix of an array of shape (T, outputs, inputs), so one file describes a whole family of
MLPs (`use rot<i=0..T>` in a network). A family is elaborated once per member, so everything that
does not depend on the parameters — reading a file, parsing an array literal — is done once per
elaboration and shared (see `WeightFiles`); a member costs a few slices and the shape checks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

from ..errors import Collector, Span, did_you_mean
from ..spec import ACTIVATIONS, Layer, MLPCircuit, Port
from .expand import MAX_WIDTH
from .intexpr import IntEvaluator, Skip
from .syntax import ast
from .weights import WeightFileError, WeightFiles

# What a layer field must be once indexed: weights a matrix, a bias a vector.
_FIELD_DIMS = {"weights": (2, "outputs, inputs"), "bias": (1, "outputs")}


class MLPElaborator:
    """Elaborates `mlp` definitions for one elaboration; holds what their instances share."""

    def __init__(self, collector: Collector, on_weight_file: Callable[[bytes], None] | None = None):
        self.c = collector
        self.files = WeightFiles(on_weight_file)
        # Array literals by node: a literal in a family of MLPs is converted once, not per member.
        self.literals: dict[int, np.ndarray | None] = {}

    def build(self, defn: ast.MLPDef, env: dict[str, int], name: str, params: tuple[tuple[str, int], ...],
              directory: Path) -> MLPCircuit | None:
        c = self.c
        before = c.count
        ports: dict[str, list[Port]] = {"in": [], "out": []}
        seen: dict[str, Span | None] = {}
        layer_defs: list[ast.LayerDef] = []
        env = dict(env)
        ints = IntEvaluator(c, seen)  # port names are known so that `[x]` with a port is explained
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
                            ints.bounded(d.width, env, 1, MAX_WIDTH, f"the width of `{d.name}`")
                        seen[d.name] = d.span
                        ports[s.direction].append(Port(d.name, width, d.span))
                elif isinstance(s, ast.ParamDecl):
                    env[s.name] = ints.eval(s.value, env)
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
        where = _Instance(ints, env, defn.name, params, directory)
        for i, ld in enumerate(layer_defs, 1):
            layer = self._layer(ld, i, width, where)
            if layer is None:
                # Reported already, perhaps for another member of the family (literals are
                # checked once), so this member fails without a new diagnostic.
                return None
            layers.append(layer)
            width = layer.weights.shape[0]
        n_out = sum(p.size for p in ports["out"])
        if layers and width != n_out:
            c.error(f"the last layer of `{defn.name}` gives {width} value{'s' * (width != 1)}, "
                    f"but {n_out} output{'s' * (n_out != 1)} are declared", layer_defs[-1].span)
        if c.count > before and c.has_errors:
            return None
        return MLPCircuit(name, tuple(ports["in"]), tuple(ports["out"]), tuple(layers), params, defn.span)

    def _layer(self, ld: ast.LayerDef, index: int, width_in: int, where: "_Instance") -> Layer | None:
        c = self.c
        ok = True
        if ld.activation not in ACTIVATIONS:
            c.error(f"unknown activation `{ld.activation}`", ld.span,
                    expected=" or ".join(f"`{a}`" for a in ACTIVATIONS), hint=did_you_mean(ld.activation, ACTIVATIONS))
            ok = False
        fields: dict[str, ast.LayerField] = {}
        for f in ld.fields:
            if f.name not in _FIELD_DIMS:
                c.error(f"unknown layer field `{f.name}`", f.span,
                        hint=did_you_mean(f.name, _FIELD_DIMS) or "a layer has `weights` and `bias`")
                ok = False
            elif f.name in fields:
                c.error(f"`{f.name}` is given twice", f.span)
                ok = False
            else:
                fields[f.name] = f
        if "weights" not in fields:
            c.error(f"layer {index} has no weights", ld.span, hint="add `weights = [[...]];` (shape: outputs × inputs)")
            return None
        w = self._tensor(fields["weights"], where)
        b = self._tensor(fields["bias"], where) if "bias" in fields else None
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

    def _tensor(self, f: ast.LayerField, where: "_Instance") -> np.ndarray | None:
        t = f.value
        if t.span is None:  # an empty array has no token to point at
            t = type(t)(**{**t.__dict__, "span": f.span})
        if isinstance(t, ast.ArrayLit):
            key = id(f.value)
            if key not in self.literals:
                self.literals[key] = self._literal(t)
            return self.literals[key]
        try:
            array = self.files.get(where.directory, t.path, t.key)
        except WeightFileError as e:
            self.c.error(e.message, t.span, hint=e.hint)
            return None
        if not t.index:
            return array
        try:
            return self._slice(t, array, f.name, where)
        except Skip:
            return None

    def _literal(self, t: ast.ArrayLit) -> np.ndarray | None:
        shape = _array_shape(t.values)
        if shape is None:
            self.c.error("ragged array: rows have different lengths", t.span,
                         hint="every row of a matrix needs the same number of values")
            return None
        if 0 in shape:
            self.c.error("empty array", t.span)
            return None
        if len(shape) > 2:
            self.c.error(f"array of {len(shape)} dimensions", t.span,
                         expected="a matrix for weights (outputs × inputs), a list for a bias")
            return None
        array = np.array(t.values, dtype=np.float64)
        array.setflags(write=False)
        return array

    def _slice(self, t: ast.Load, array: np.ndarray, field: str, where: "_Instance") -> np.ndarray:
        """`array[i][j]...` for the index expressions of `t`, every index checked against its axis."""
        dims, axes = _FIELD_DIMS[field]
        need = len(t.index) + dims
        if array.ndim != need:
            stacked = ", ".join((["T"] if len(t.index) == 1 else [f"T{k}" for k in range(1, len(t.index) + 1)])
                                + [axes])
            times = "once" if len(t.index) == 1 else f"{len(t.index)} times"
            self.c.error(f"`{Path(t.path).name}` holds an array of shape {tuple(array.shape)}; "
                         f"{field} indexed {times} need an array of {need} dimensions", t.span,
                         expected=f"shape ({stacked})",
                         hint="stack one array per instance along the first axis: np.save(path, np.stack(arrays))")
            raise Skip
        shape = array.shape
        for axis, e in enumerate(t.index):
            i = where.ints.eval(e, where.env)
            n = shape[axis]
            if not 0 <= i < n:
                self.c.error(f"index {i} is out of range for `{Path(t.path).name}` of shape {tuple(shape)}: "
                             f"axis {axis} has {n} entr{'y' if n == 1 else 'ies'} ({where.describe()})", e.span,
                             expected=f"an index from 0 to {n - 1}",
                             hint="the index picks one slice of a stacked array; check the range of "
                                  "parameter values the network uses")
                raise Skip
            array = array[i]
        return array


class _Instance:
    """The member of an MLP family being elaborated: what its index expressions are evaluated in."""

    __slots__ = ("ints", "env", "name", "params", "directory")

    def __init__(self, ints: IntEvaluator, env: dict[str, int], name: str, params, directory: Path):
        self.ints, self.env, self.name, self.params, self.directory = ints, env, name, params, directory

    def describe(self) -> str:
        if not self.params:
            return f"in `{self.name}`"
        return f"in `{self.name}` with {', '.join(f'{k} = {v}' for k, v in self.params)}"


def _array_shape(values) -> tuple[int, ...] | None:
    """The shape of a nested tuple of numbers, or None if it is ragged."""
    if not isinstance(values, tuple):
        return ()
    shapes = {_array_shape(v) for v in values}
    if len(shapes) > 1 or None in shapes:
        return None
    inner = shapes.pop() if shapes else ()
    return (len(values),) + inner
