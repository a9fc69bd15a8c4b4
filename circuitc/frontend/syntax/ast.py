"""The syntax tree of a `.circ` file: what was written, with a source span on every node.

Nothing is resolved here (names, widths, loops): elaborate.py does that. The formatter prints
this tree back, so it keeps everything a reader wrote that changes meaning, and the comments.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Union

from ...errors import Span


def _span():
    return field(default=None, compare=False, repr=False)


# ---------------------------------------------------------------- integer expressions

@dataclass(frozen=True)
class INum:
    value: int
    text: str = field(default="", compare=False)  # as written (0x.., 0b..), kept by the formatter
    span: Optional[Span] = _span()


@dataclass(frozen=True)
class IName:
    name: str
    span: Optional[Span] = _span()


@dataclass(frozen=True)
class IBinary:
    op: str  # + - * / % **
    left: "IExpr"
    right: "IExpr"
    span: Optional[Span] = _span()


@dataclass(frozen=True)
class INeg:
    operand: "IExpr"
    span: Optional[Span] = _span()


@dataclass(frozen=True)
class ICall:
    func: str
    args: tuple["IExpr", ...]
    span: Optional[Span] = _span()


IExpr = Union[INum, IName, IBinary, INeg, ICall]


@dataclass(frozen=True)
class Compare:
    op: str  # == != < <= > >=
    left: IExpr
    right: IExpr
    span: Optional[Span] = _span()


@dataclass(frozen=True)
class Logic:
    op: str  # && ||
    left: "Cond"
    right: "Cond"
    span: Optional[Span] = _span()


@dataclass(frozen=True)
class Not:
    operand: "Cond"
    span: Optional[Span] = _span()


Cond = Union[Compare, Logic, Not]


# ---------------------------------------------------------------- signal expressions

@dataclass(frozen=True)
class Ref:
    name: str
    span: Optional[Span] = _span()


@dataclass(frozen=True)
class BitRef:
    name: str
    index: IExpr
    span: Optional[Span] = _span()


@dataclass(frozen=True)
class SliceRef:
    name: str
    lo: IExpr
    hi: IExpr
    span: Optional[Span] = _span()


@dataclass(frozen=True)
class Const:
    value: int
    text: str = field(default="", compare=False)
    span: Optional[Span] = _span()


@dataclass(frozen=True)
class Concat:
    parts: tuple["Expr", ...]
    span: Optional[Span] = _span()


@dataclass(frozen=True)
class BitOf:
    """`bit(value, index)`: bit `index` of an integer expression, as a constant signal."""

    value: IExpr
    index: IExpr
    span: Optional[Span] = _span()


@dataclass(frozen=True)
class Unary:
    op: str  # ~
    operand: "Expr"
    span: Optional[Span] = _span()


@dataclass(frozen=True)
class Binary:
    op: str  # & | ^
    left: "Expr"
    right: "Expr"
    span: Optional[Span] = _span()


@dataclass(frozen=True)
class Ternary:
    cond: "Expr"
    then: "Expr"
    other: "Expr"
    span: Optional[Span] = _span()


@dataclass(frozen=True)
class TArg:
    """A parameter in `name<...>`: positional (`name is None`) or `N = value`."""

    name: Optional[str]
    value: IExpr
    span: Optional[Span] = _span()


@dataclass(frozen=True)
class Arg:
    """A call argument: positional (`name is None`) or `port = signal`."""

    name: Optional[str]
    value: "Expr"
    span: Optional[Span] = _span()


@dataclass(frozen=True)
class Call:
    """A builtin gate (`and(...)`) or an instance of a circuit (`adder<8>(x, y)`)."""

    name: str
    targs: Optional[tuple[TArg, ...]]
    args: tuple[Arg, ...]
    span: Optional[Span] = _span()
    name_span: Optional[Span] = _span()


@dataclass(frozen=True)
class Member:
    """`call.port`: one output of a multi-output instance."""

    call: Call
    port: str
    span: Optional[Span] = _span()


Expr = Union[Ref, BitRef, SliceRef, Const, Concat, BitOf, Unary, Binary, Ternary, Call, Member]


# ---------------------------------------------------------------- statements

@dataclass(frozen=True)
class Decl:
    name: str
    width: Optional[IExpr]
    span: Optional[Span] = _span()


@dataclass(frozen=True)
class PortDecl:
    direction: str  # "in" | "out" | "wire"
    decls: tuple[Decl, ...]
    span: Optional[Span] = _span()


@dataclass(frozen=True)
class LValue:
    name: str
    index: Optional[IExpr] = None
    hi: Optional[IExpr] = None  # set for a slice `name[index:hi]`
    span: Optional[Span] = _span()


@dataclass(frozen=True)
class Assign:
    targets: tuple[LValue, ...]
    value: Expr
    tuple_form: bool = False  # written `(a, b) = ...`
    span: Optional[Span] = _span()


@dataclass(frozen=True)
class ParamDecl:
    name: str
    value: IExpr
    span: Optional[Span] = _span()


@dataclass(frozen=True)
class For:
    var: str
    lo: IExpr
    hi: IExpr
    body: tuple["Stmt", ...]
    span: Optional[Span] = _span()
    end_line: int = field(default=0, compare=False, repr=False)


@dataclass(frozen=True)
class If:
    cond: Cond
    then: tuple["Stmt", ...]
    other: Optional[tuple["Stmt", ...]] = None  # an `else if` is an If alone in this tuple
    span: Optional[Span] = _span()
    then_end_line: int = field(default=0, compare=False, repr=False)
    end_line: int = field(default=0, compare=False, repr=False)
    else_if: bool = field(default=False, compare=False, repr=False)


Stmt = Union[PortDecl, Assign, ParamDecl, For, If]


# ---------------------------------------------------------------- MLP layers

@dataclass(frozen=True)
class ArrayLit:
    """A nested list of numbers; `values` keeps the nesting, `texts` the numbers as written."""

    values: tuple
    span: Optional[Span] = _span()


@dataclass(frozen=True)
class Load:
    """`load("file", "key")[i][j]`: a tensor file, optionally sliced by integer expressions."""

    path: str
    key: Optional[str] = None
    span: Optional[Span] = _span()
    index: tuple[IExpr, ...] = ()


Tensor = Union[ArrayLit, Load]


@dataclass(frozen=True)
class LayerField:
    name: str
    value: Tensor
    span: Optional[Span] = _span()


@dataclass(frozen=True)
class LayerDef:
    activation: str
    fields: tuple[LayerField, ...]
    span: Optional[Span] = _span()
    end_line: int = field(default=0, compare=False, repr=False)


# ---------------------------------------------------------------- top-level items

@dataclass(frozen=True)
class ParamDef:
    name: str
    default: Optional[IExpr]
    span: Optional[Span] = _span()


@dataclass(frozen=True)
class CircuitDef:
    name: str
    params: tuple[ParamDef, ...]
    over: Optional[str]
    body: tuple[Stmt, ...]
    span: Optional[Span] = _span()
    end_line: int = field(default=0, compare=False, repr=False)


@dataclass(frozen=True)
class MLPDef:
    name: str
    params: tuple[ParamDef, ...]
    body: tuple[Union[PortDecl, LayerDef, ParamDecl], ...]
    span: Optional[Span] = _span()
    end_line: int = field(default=0, compare=False, repr=False)


@dataclass(frozen=True)
class Knob:
    name: str
    value: Union[IExpr, str]  # a str is a quoted string value
    span: Optional[Span] = _span()


@dataclass(frozen=True)
class FeaturesDef:
    name: str
    size: IExpr
    knobs: tuple[Knob, ...]
    span: Optional[Span] = _span()
    end_line: int = field(default=0, compare=False, repr=False)


@dataclass(frozen=True)
class TRange:
    """A parameter in a `use` line given a range `lo..hi` (`name is None` when positional)."""

    name: Optional[str]
    lo: IExpr
    hi: IExpr
    span: Optional[Span] = _span()


@dataclass(frozen=True)
class CircuitRef:
    name: str
    targs: Optional[tuple[Union[TArg, TRange], ...]]
    span: Optional[Span] = _span()


@dataclass(frozen=True)
class Use:
    ref: CircuitRef
    count: Optional[IExpr]  # None: written without `* COUNT`, one instance of each circuit
    span: Optional[Span] = _span()


@dataclass(frozen=True)
class NetworkDef:
    name: str
    body: tuple[Union[Use, Knob], ...]
    span: Optional[Span] = _span()
    end_line: int = field(default=0, compare=False, repr=False)


@dataclass(frozen=True)
class Include:
    path: str
    span: Optional[Span] = _span()


Item = Union[Include, ParamDecl, CircuitDef, MLPDef, FeaturesDef, NetworkDef]


@dataclass(frozen=True)
class Comment:
    text: str  # including the leading '#'
    line: int
    column: int


@dataclass(frozen=True)
class Module:
    """One parsed file: its items in order and its comments (for the formatter)."""

    file: str
    items: tuple[Item, ...]
    comments: tuple[Comment, ...] = field(default=(), compare=False, repr=False)
    end_line: int = field(default=0, compare=False, repr=False)
    tokens: int = field(default=0, compare=False, repr=False)  # as parse.count_tokens counts them
