"""The canonical printout of a `.circ` file (`circuitc fmt`).

It prints the syntax tree, not the elaborated Spec, so loops, parameters and includes stay as the
author wrote them; the printout elaborates to an equal Spec. Comments are kept: a comment on a
line of its own stays before the statement that follows it, a comment after code stays at the
end of that line. One blank line is kept where the source had blank lines between statements.
Parentheses are printed only where precedence needs them.
"""

from __future__ import annotations

from ...errors import nesting_guard
from . import ast
from .parse import RESERVED, parse_module

INDENT = "    "


def quote_name(name: str) -> str:
    """A name as it must be written: plain when it can be, back-quoted otherwise."""
    if name.isascii() and name.isidentifier() and name not in RESERVED:  # [A-Za-z_][A-Za-z0-9_]*
        return name
    return "`" + name.replace("`", "``") + "`"


def format_number(x: float) -> str:
    """Shortest text that reads back to exactly `x`: integers without a fraction."""
    if x == int(x) and abs(x) < 1e15:
        return str(int(x))
    return repr(float(x))


def format_array(values, indent: int) -> list[str]:
    """Lines of an array literal; a matrix of several rows gets one row per line."""
    def flat(v) -> str:
        if isinstance(v, (tuple, list)):
            return "[" + ", ".join(flat(x) for x in v) + "]"
        return format_number(v)

    if isinstance(values, (tuple, list)) and len(values) > 1 and all(isinstance(v, (tuple, list)) for v in values):
        pad = INDENT * (indent + 1)
        return ["["] + [f"{pad}{flat(row)}," for row in values] + [INDENT * indent + "]"]
    return [flat(values)]


def format_string(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


# ---------------------------------------------------------------- expressions

_EXPR_PREC = {"?": 0, "|": 1, "^": 2, "&": 3, "~": 4}
_INT_PREC = {"+": 1, "-": 1, "*": 2, "/": 2, "%": 2, "neg": 3, "**": 4}
_COND_PREC = {"||": 1, "&&": 2, "!": 3, "cmp": 4}


def _eprec(e) -> int:
    if isinstance(e, ast.Ternary):
        return 0
    if isinstance(e, ast.Binary):
        return _EXPR_PREC[e.op]
    if isinstance(e, ast.Unary):
        return 4
    return 5


def expr_text(e: ast.Expr) -> str:
    def sub(x, least: int) -> str:
        t = expr_text(x)
        return f"({t})" if _eprec(x) < least else t

    if isinstance(e, ast.Ref):
        return quote_name(e.name)
    if isinstance(e, ast.BitRef):
        return f"{quote_name(e.name)}[{int_text(e.index)}]"
    if isinstance(e, ast.SliceRef):
        return f"{quote_name(e.name)}[{int_text(e.lo)}:{int_text(e.hi)}]"
    if isinstance(e, ast.Const):
        return e.text or str(e.value)
    if isinstance(e, ast.Concat):
        return "{" + ", ".join(expr_text(p) for p in e.parts) + "}"
    if isinstance(e, ast.BitOf):
        return f"bit({int_text(e.value)}, {int_text(e.index)})"
    if isinstance(e, ast.Unary):
        return "~" + sub(e.operand, 4)
    if isinstance(e, ast.Binary):
        # Mixed & | ^ keep their parentheses: `(a & b) | c` reads better than `a & b | c`.
        def side(x, least: int) -> str:
            if isinstance(x, ast.Binary) and x.op != e.op:
                return f"({expr_text(x)})"
            return sub(x, least)
        p = _EXPR_PREC[e.op]
        return f"{side(e.left, p)} {e.op} {side(e.right, p + 1)}"
    if isinstance(e, ast.Ternary):
        # A nested `?:` is legal without parentheses, but hard to read.
        return f"{sub(e.cond, 1)} ? {sub(e.then, 1)} : {sub(e.other, 1)}"
    if isinstance(e, ast.Call):
        return call_text(e.name, e.targs, e.args)
    if isinstance(e, ast.Member):
        return f"{expr_text(e.call)}.{quote_name(e.port)}"
    raise TypeError(e)  # pragma: no cover


def targs_text(targs) -> str:
    if targs is None:
        return ""

    def value(t) -> str:
        if isinstance(t, ast.TRange):
            return f"{int_text(t.lo)}..{int_text(t.hi)}"
        return int_text(t.value)

    return "<" + ", ".join(value(t) if t.name is None else f"{quote_name(t.name)}={value(t)}" for t in targs) + ">"


def call_text(name: str, targs, args) -> str:
    inner = ", ".join(expr_text(a.value) if a.name is None else f"{quote_name(a.name)}={expr_text(a.value)}"
                      for a in args)
    return f"{quote_name(name)}{targs_text(targs)}({inner})"


def _iprec(e) -> int:
    if isinstance(e, ast.IBinary):
        return _INT_PREC[e.op]
    if isinstance(e, ast.INeg):
        return 3
    return 5


def int_text(e: ast.IExpr) -> str:
    def sub(x, least: int) -> str:
        t = int_text(x)
        return f"({t})" if _iprec(x) < least else t

    if isinstance(e, ast.INum):
        return e.text or str(e.value)
    if isinstance(e, ast.IName):
        return quote_name(e.name)
    if isinstance(e, ast.INeg):
        return "-" + sub(e.operand, 3)
    if isinstance(e, ast.IBinary):
        if e.op == "**":
            return f"{sub(e.left, 5)} ** {sub(e.right, 3)}"
        p = _INT_PREC[e.op]
        return f"{sub(e.left, p)} {e.op} {sub(e.right, p + 1)}"
    if isinstance(e, ast.ICall):
        return f"{quote_name(e.func)}({', '.join(int_text(a) for a in e.args)})"
    raise TypeError(e)  # pragma: no cover


def _cprec(c) -> int:
    if isinstance(c, ast.Logic):
        return _COND_PREC[c.op]
    if isinstance(c, ast.Not):
        return 3
    return 4


def cond_text(c: ast.Cond) -> str:
    def sub(x, least: int) -> str:
        t = cond_text(x)
        return f"({t})" if _cprec(x) < least else t

    if isinstance(c, ast.Compare):
        return f"{int_text(c.left)} {c.op} {int_text(c.right)}"
    if isinstance(c, ast.Not):
        return "!" + sub(c.operand, 5)  # `!(N == 3)`, never the misleading `!N == 3`
    p = _COND_PREC[c.op]
    return f"{sub(c.left, p)} {c.op} {sub(c.right, p + 1)}"


def _decl_text(d: ast.Decl) -> str:
    return quote_name(d.name) + (f"[{int_text(d.width)}]" if d.width is not None else "")


def _lvalue_text(t: ast.LValue) -> str:
    if t.index is None:
        return quote_name(t.name)
    if t.hi is None:
        return f"{quote_name(t.name)}[{int_text(t.index)}]"
    return f"{quote_name(t.name)}[{int_text(t.index)}:{int_text(t.hi)}]"


def _params_text(params) -> str:
    if not params:
        return ""
    return "<" + ", ".join(quote_name(p.name) + (f" = {int_text(p.default)}" if p.default is not None else "")
                           for p in params) + ">"


# ---------------------------------------------------------------- statements and layout

class _Printer:
    def __init__(self, module: ast.Module, text: str):
        self.out: list[str] = []
        self.comments = sorted(module.comments, key=lambda c: (c.line, c.column))
        self.ci = 0
        self.lines = text.splitlines()
        self.blank = {i for i, line in enumerate(self.lines, 1) if not line.strip()}
        self.prev_end = 0

    def semicolon_line(self, span) -> int:
        """The line of the `;` that ends a statement whose span ends at its last number: an array
        literal's closing brackets, and a comment after them, may sit on later lines."""
        line, column = span.end_line, span.end_column - 1
        while line <= len(self.lines):
            code = self.lines[line - 1][column:].split("#", 1)[0]
            if ";" in code:
                return line
            line, column = line + 1, 0
        return span.end_line

    def emit(self, indent: int, text: str) -> None:
        self.out.append(INDENT * indent + text if text else "")

    def gap(self, first_line: int, force: bool = False) -> None:
        """One blank line before `first_line` if the source had one since the previous output."""
        if not self.out or self.out[-1] == "":
            return
        if force or any(self.prev_end < ln < first_line for ln in self.blank):
            self.out.append("")

    def leading(self, before_line: int, indent: int, force_gap: bool = False) -> None:
        first = True
        while self.ci < len(self.comments) and self.comments[self.ci].line < before_line:
            c = self.comments[self.ci]
            self.gap(c.line, force=force_gap and first)
            first = False
            self.emit(indent, c.text)
            self.prev_end = c.line
            self.ci += 1
        self.gap(before_line, force=force_gap and first)

    def trailing(self, line: int) -> None:
        while self.ci < len(self.comments) and self.comments[self.ci].line == line:
            self.out[-1] += "  " + self.comments[self.ci].text
            self.ci += 1

    def simple(self, node, indent: int, lines: list[str], end_line: int | None = None) -> None:
        span = node.span
        self.leading(span.line, indent)
        for i, text in enumerate(lines):
            self.emit(indent if i == 0 else 0, text)
        self.prev_end = span.end_line if end_line is None else end_line
        self.trailing(self.prev_end)

    def block(self, header_node, header: str, body, end_line: int, indent: int, stmt_fn,
              force_gap: bool = False) -> None:
        span = header_node.span
        self.leading(span.line, indent, force_gap)
        if not body and not self._comments_before(end_line):
            self.emit(indent, header + " {}")
            self.prev_end = end_line
            self.trailing(end_line)
            return
        self.emit(indent, header + " {")
        self.prev_end = span.line
        self.trailing(span.line)
        for s in body:
            stmt_fn(s, indent + 1)
        self.close(end_line, indent)

    def close(self, end_line: int, indent: int, text: str = "}") -> None:
        self.leading(end_line, indent + 1)
        if self.out and self.out[-1] == "":
            self.out.pop()  # no blank line just before a closing brace
        self.emit(indent, text)
        self.prev_end = end_line
        self.trailing(end_line)

    def _comments_before(self, line: int) -> bool:
        return self.ci < len(self.comments) and self.comments[self.ci].line < line

    # statements inside circuits and MLPs
    def stmt(self, s, indent: int) -> None:
        if isinstance(s, ast.PortDecl):
            self.simple(s, indent, [f"{s.direction} {', '.join(_decl_text(d) for d in s.decls)};"])
        elif isinstance(s, ast.Assign):
            lhs = ", ".join(_lvalue_text(t) for t in s.targets)
            if s.tuple_form:
                lhs = f"({lhs})"
            self.simple(s, indent, [f"{lhs} = {expr_text(s.value)};"])
        elif isinstance(s, ast.ParamDecl):
            self.simple(s, indent, [f"param {quote_name(s.name)} = {int_text(s.value)};"])
        elif isinstance(s, ast.For):
            self.block(s, f"for {quote_name(s.var)} in {int_text(s.lo)}..{int_text(s.hi)}", s.body,
                       s.end_line, indent, self.stmt)
        elif isinstance(s, ast.If):
            self.if_stmt(s, indent, chained=False)
        elif isinstance(s, ast.LayerDef):
            self.block(s, f"layer {quote_name(s.activation)}", s.fields, s.end_line, indent, self.field)
        else:  # pragma: no cover
            raise TypeError(s)

    def if_stmt(self, s: ast.If, indent: int, chained: bool) -> None:
        header = f"if {cond_text(s.cond)} {{"
        if chained:
            self.out[-1] += " else " + header
        else:
            self.leading(s.span.line, indent)
            self.emit(indent, header)
        self.prev_end = s.span.line
        self.trailing(s.span.line)
        for x in s.then:
            self.stmt(x, indent + 1)
        if s.other is None:
            self.close(s.end_line, indent)
            return
        self.close(s.then_end_line, indent)
        if s.else_if:
            self.if_stmt(s.other[0], indent, chained=True)
            return
        self.out[-1] += " else {"
        for x in s.other:
            self.stmt(x, indent + 1)
        self.close(s.end_line, indent)

    def field(self, f: ast.LayerField, indent: int) -> None:
        if isinstance(f.value, ast.Load):
            key = f", {format_string(f.value.key)}" if f.value.key is not None else ""
            index = "".join(f"[{int_text(i)}]" for i in f.value.index)
            self.simple(f, indent, [f"{quote_name(f.name)} = load({format_string(f.value.path)}{key}){index};"])
            return
        lines = format_array(f.value.values, indent)
        lines[0] = f"{quote_name(f.name)} = {lines[0]}"
        lines[-1] += ";"
        self.simple(f, indent, lines, end_line=self.semicolon_line(f.span))

    def knob(self, k: ast.Knob, indent: int) -> None:
        value = format_string(k.value) if isinstance(k.value, str) else int_text(k.value)
        self.simple(k, indent, [f"{quote_name(k.name)} = {value};"])

    def net_stmt(self, s, indent: int) -> None:
        if isinstance(s, ast.Use):
            ref = quote_name(s.ref.name) + targs_text(s.ref.targs)
            count = f" * {int_text(s.count)}" if s.count is not None else ""
            self.simple(s, indent, [f"use {ref}{count};"])
        else:
            self.knob(s, indent)

    # top level
    def item(self, it, first: bool) -> None:
        definition = isinstance(it, (ast.CircuitDef, ast.MLPDef, ast.FeaturesDef, ast.NetworkDef))
        force = definition and not first
        if isinstance(it, ast.Include):
            self.leading(it.span.line, 0)
            self.simple(it, 0, [f"include {format_string(it.path)};"])
        elif isinstance(it, ast.ParamDecl):
            self.simple(it, 0, [f"param {quote_name(it.name)} = {int_text(it.value)};"])
        elif isinstance(it, ast.CircuitDef):
            over = f" over {quote_name(it.over)}" if it.over else ""
            self.block(it, f"circuit {quote_name(it.name)}{_params_text(it.params)}{over}", it.body,
                       it.end_line, 0, self.stmt, force)
        elif isinstance(it, ast.MLPDef):
            self.block(it, f"mlp {quote_name(it.name)}{_params_text(it.params)}", it.body, it.end_line, 0,
                       self.stmt, force)
        elif isinstance(it, ast.FeaturesDef):
            self.block(it, f"features {quote_name(it.name)}[{int_text(it.size)}]", it.knobs, it.end_line, 0,
                       self.knob, force)
        elif isinstance(it, ast.NetworkDef):
            self.block(it, f"network {quote_name(it.name)}", it.body, it.end_line, 0, self.net_stmt, force)
        else:  # pragma: no cover
            raise TypeError(it)

    def module(self, module: ast.Module) -> str:
        for i, it in enumerate(module.items):
            self.item(it, first=(i == 0))
        self.leading(10 ** 12, 0)
        while self.out and self.out[-1] == "":
            self.out.pop()
        return "\n".join(self.out) + "\n" if self.out else ""


def format_module(module: ast.Module, text: str) -> str:
    return _Printer(module, text).module(module)


def format_source(text: str, filename: str = "<string>") -> str:
    """The canonical formatting of `.circ` source text (raises CircuitError on a syntax error); a
    leading byte-order mark is dropped, as loading drops it."""
    text = text.removeprefix("\ufeff")
    with nesting_guard():
        return format_module(parse_module(text, filename), text)
