"""Evaluation of integer expressions and `if` conditions during elaboration.

Integers size vectors, index bits, bound loops and parameterise circuits. They are exact Python
ints, kept inside ±2**63 so that a runaway expression is reported instead of consuming memory.
"""

from __future__ import annotations

from typing import Mapping

from ..errors import Collector, did_you_mean
from .syntax import ast

INT_LIMIT = 2 ** 63


class Skip(Exception):
    """Raised after a problem has been reported, to abandon the statement being elaborated."""


def _floor_log2(v: int) -> int:
    return v.bit_length() - 1


def _ceil_log2(v: int) -> int:
    return (v - 1).bit_length()


# name: (fewest args, most args, function); None = unbounded
_FUNCS = {
    "min": (1, None, lambda *a: min(a)),
    "max": (1, None, lambda *a: max(a)),
    "abs": (1, 1, abs),
    "log2": (1, 1, _floor_log2),
    "clog2": (1, 1, _ceil_log2),
}


class IntEvaluator:
    def __init__(self, collector: Collector, signals: Mapping[str, object] | None = None):
        self.c = collector
        # Names of signals in scope, only to explain the mistake of using a signal as an integer.
        self.signals = signals if signals is not None else {}

    def fail(self, message, span, **kw):
        self.c.error(message, span, **kw)
        raise Skip

    def eval(self, e: ast.IExpr, env: Mapping[str, int]) -> int:
        if isinstance(e, ast.INum):
            v = e.value
        elif isinstance(e, ast.IName):
            if e.name in env:
                return env[e.name]
            if e.name in self.signals:
                self.fail(f"`{e.name}` is a signal; an integer is needed here", e.span,
                          hint="widths, indices, loop bounds and parameters are integer expressions")
            self.fail(f"unknown integer name `{e.name}`", e.span,
                      hint=did_you_mean(e.name, env) or "declare it with `param NAME = value;`")
        elif isinstance(e, ast.INeg):
            v = -self.eval(e.operand, env)
        elif isinstance(e, ast.IBinary):
            v = self._binary(e, self.eval(e.left, env), self.eval(e.right, env))
        elif isinstance(e, ast.ICall):
            v = self._call(e, [self.eval(a, env) for a in e.args])
        else:  # pragma: no cover - the parser builds no other node here
            raise TypeError(e)
        if not -INT_LIMIT < v < INT_LIMIT:
            self.fail(f"integer {v if abs(v) < 10**30 else 'value'} is out of range", e.span,
                      expected="a value between -2**63 and 2**63")
        return v

    def _binary(self, e: ast.IBinary, a: int, b: int) -> int:
        op = e.op
        if op == "+":
            return a + b
        if op == "-":
            return a - b
        if op == "*":
            return a * b
        if op in ("/", "%"):
            if b == 0:
                self.fail("division by zero", e.span)
            # Floor division, as in Python: -7 / 2 == -4.
            return a // b if op == "/" else a % b
        if op == "**":
            if b < 0:
                self.fail(f"negative exponent {b}", e.span, hint="integer powers need an exponent >= 0")
            if b > 64 and abs(a) > 1:
                self.fail(f"{a} ** {b} is out of range", e.span, expected="a value below 2**63")
            return a ** b
        raise AssertionError(op)  # pragma: no cover

    def _call(self, e: ast.ICall, args: list[int]) -> int:
        if e.func not in _FUNCS:
            self.fail(f"unknown integer function `{e.func}`", e.span,
                      hint=did_you_mean(e.func, _FUNCS) or f"integer functions: {', '.join(_FUNCS)}")
        lo, hi, fn = _FUNCS[e.func]
        if len(args) < lo or (hi is not None and len(args) > hi):
            self.fail(f"`{e.func}` takes {lo if hi == lo else f'at least {lo}'} argument"
                      f"{'s' if (hi or 2) > 1 else ''}, got {len(args)}", e.span)
        if e.func in ("log2", "clog2") and args[0] < 1:
            self.fail(f"`{e.func}({args[0]})` is undefined", e.span, hint="the argument must be at least 1")
        return fn(*args)

    def cond(self, e: ast.Cond, env: Mapping[str, int]) -> bool:
        if isinstance(e, ast.Compare):
            a, b = self.eval(e.left, env), self.eval(e.right, env)
            return {"==": a == b, "!=": a != b, "<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[e.op]
        if isinstance(e, ast.Logic):
            if e.op == "&&":
                return self.cond(e.left, env) and self.cond(e.right, env)
            return self.cond(e.left, env) or self.cond(e.right, env)
        if isinstance(e, ast.Not):
            return not self.cond(e.operand, env)
        raise TypeError(e)  # pragma: no cover

    def bounded(self, e: ast.IExpr, env: Mapping[str, int], lo: int, hi: int, what: str) -> int:
        """Evaluate and require lo <= value <= hi ("numbers out of range")."""
        v = self.eval(e, env)
        if not lo <= v <= hi:
            self.fail(f"{what} must be between {lo} and {hi}, got {v}", e.span)
        return v
