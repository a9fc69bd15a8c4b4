"""Text → syntax tree (`Module`), with Lark's errors turned into circuitc diagnostics.

The grammar is `grammars/circuit.lark` (shipped as package data). Parsing stops at the first
syntax error — after that the parser cannot know what was meant — and reports it with the
expected tokens in words and a hint for the usual slips (a missing `;`, an unclosed `{`, a
reserved word used as a name, an integer operator in a signal expression).
"""

from __future__ import annotations

import importlib.resources
import itertools
import math
import re
import threading
from functools import lru_cache

from lark import Lark, Token, Transformer
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from ...errors import CircuitError, Diagnostic, Span, nesting_guard
from . import ast

_TOKEN_WORDS = {
    "NAME": "a name", "QNAME": "a `quoted` name", "INT": "an integer", "REAL": "a number",
    "STRING": 'a "string"', "$END": "end of file",
}
RESERVED = ("include", "param", "circuit", "over", "in", "out", "wire", "for", "if", "else", "bit",
            "mlp", "layer", "load", "features", "network", "use")

_lock = threading.Lock()
_comments: list[ast.Comment] = []


def _collect_comment(tok: Token) -> Token:
    _comments.append(ast.Comment(str(tok).rstrip(), tok.line, tok.column))
    return tok


@lru_cache(maxsize=1)
def _parser() -> Lark:
    grammar = (importlib.resources.files("circuitc.grammars") / "circuit.lark").read_text("utf-8")
    # The transformer runs inside the LALR parser: no parse tree is built and no second pass is
    # made, which makes large sources several times faster to read. The grammar's analysis is
    # cached by Lark in the temporary directory, keyed by the grammar and options (a cache it
    # cannot read or write is skipped): it is most of the parser's start-up time.
    return Lark(grammar, parser="lalr", maybe_placeholders=True, transformer=_TRANSFORMER,
                lexer_callbacks={"COMMENT": _collect_comment}, cache=True)


# The deepest parser stack at which a syntax error asks the parser which tokens it accepts.
MAX_ACCEPTS_DEPTH = 500

# A statement holding more conditional expressions `c ? a : b` than this, one inside the next, is
# refused before the parser reads it. The elaborator's recursion refuses chains of about 500
# anyway, but only after the parser has read them all, some 20 µs a token: 800 KB of them took
# 10 s. Counting every `?` between separators (`;` `,` `{` `}`) over-counts nesting, never
# under-counts it, and this limit lies far above the depth that works.
MAX_CONDITIONAL_CHAIN = 2000
# A back-quoted name may be left open (the parser reports it): the scan takes it to the end of its
# line rather than trying it again from every back-quote, which would be quadratic.
_CHAIN_TOKENS = re.compile(r"`(?:[^`\n]|``)*`?|#[^\n]*|[?;,{}]")


def _refuse_long_conditional_chains(text: str, filename: str) -> None:
    depth = 0
    for m in _CHAIN_TOKENS.finditer(text):
        token = m.group()
        if token == "?":
            depth += 1
            if depth > MAX_CONDITIONAL_CHAIN:
                raise CircuitError(Diagnostic(
                    f"the source nests too deeply: a statement holds more than {MAX_CONDITIONAL_CHAIN:,} "
                    f"conditional expressions `?:` one inside the next", *_place(text, m.start(), filename),
                    hint="split it with intermediate wires or parameters"))
        elif len(token) == 1:              # a separator; quoted names and comments are skipped
            depth = 0


# Tokens the parser reads for one load, over all its files, counted before each file is parsed.
# The LALR parser and the syntax tree cost about 20 µs a token (benchmarks/elaboration_cost.py,
# source `statements`), so without a count a 256 MiB source would run for an hour and exhaust
# memory before the first error could be reported. This many parse within about 2.4 s; with the
# elaboration's own limit (expand.MAX_STEPS), any source is answered within 10 s. Hand-written
# sources are thousands of tokens; a large generated circuit belongs in a netlist or in the flat
# form, which are read without the parser.
MAX_TOKENS = 100_000
# A token as the count sees it: a comment, a quoted name or string, a word or number, else one
# character. Multi-character operators (`..`, `**`, `==`) count twice: the count may exceed what
# the parser reads, never fall short of it by more than that.
_COUNTED = re.compile(r'#[^\n]*|`(?:[^`\n]|``)*`?|"[^"\n]*"?|[A-Za-z0-9_]+|\S')
# The count goes a slice of about this many characters at a time, cut after a line break (no
# token spans lines), so a huge file costs only the slices up to the first token over the limit.
_COUNT_SLICE = 1 << 20


def count_tokens(text: str, filename: str, limit: int, before: int = 0) -> int:
    """The tokens of `text`; a CircuitError at the first one that takes the load past `limit`
    (`before` tokens were counted in the files read earlier in the same load)."""
    allowed = limit - before
    total, start = 0, 0
    while start < len(text):
        end = text.find("\n", start + _COUNT_SLICE)
        end = len(text) if end < 0 else end + 1
        n = _COUNTED.subn("", text[start:end])[1]
        if total + n > allowed:
            over = next(itertools.islice(_COUNTED.finditer(text, start, end), allowed - total, None))
            earlier = f" ({before:,} in the files read before this one)" if before else ""
            raise CircuitError(Diagnostic(
                f"the source holds more than {limit:,} tokens{earlier}, above the parser's limit",
                *_place(text, over.start(), filename),
                expected=f"at most {limit:,} tokens (names, numbers, operators, comments) "
                         "over all the files of one load",
                hint="a large generated circuit reads faster as a netlist (.bench, BLIF, AIGER) or in the flat "
                     "form `circuitc fmt` prints (one gate per line), which are read without the parser"))
        total += n
        start = end
    return total


def _place(text: str, pos: int, filename: str) -> tuple[Span, str]:
    """The span of the character at `pos` and the text of its line, taken without copying the
    rest of the file (these errors are raised on files of any size)."""
    start = text.rfind("\n", 0, pos) + 1
    end = text.find("\n", pos)
    return Span(filename, text.count("\n", 0, pos) + 1, pos - start + 1), text[start:end if end >= 0 else len(text)]


def parse_module(text: str, filename: str = "<string>", tokens_before: int = 0) -> ast.Module:
    """Parse one file's text. Raises CircuitError (with location and caret) on a syntax error,
    and before parsing when the file would take the load, `tokens_before` tokens so far, past
    MAX_TOKENS."""
    tokens = count_tokens(text, filename, MAX_TOKENS, tokens_before)
    if "?" in text:
        _refuse_long_conditional_chains(text, filename)
    parser = _parser()
    with _lock:  # the comment list and the transformer's file name are shared state
        _comments.clear()
        _TRANSFORMER.f = filename
        _TRANSFORMER.text = text
        try:
            with nesting_guard():
                items = parser.parse(text)
        except UnexpectedInput as e:
            raise CircuitError(_syntax_diagnostic(e, text, filename)) from None
        except CircuitError as e:  # a literal the grammar admits but the language does not (e.g. 0b12)
            raise CircuitError(_with_lines(e.diagnostics, text)) from None
        finally:
            comments = tuple(_comments)
            _comments.clear()
    return ast.Module(filename, tuple(items), comments, end_line=text.count("\n") + 1, tokens=tokens)


def _with_lines(diags, text: str) -> list[Diagnostic]:
    lines = text.splitlines()
    out = []
    for d in diags:
        line = lines[d.span.line - 1] if d.span and 1 <= d.span.line <= len(lines) else None
        out.append(Diagnostic(d.message, d.span, line, d.expected, d.hint, d.severity))
    return out


# ---------------------------------------------------------------- syntax errors

def _describe(term: str) -> str:
    if term in _TOKEN_WORDS:
        return _TOKEN_WORDS[term]
    try:
        pattern = _parser().get_terminal(term).pattern
    except KeyError:
        return term.lower()
    if pattern.type == "str":
        return f"`{pattern.value}`"
    return term.lower()


def _expected_words(expected) -> str:
    words = sorted({_describe(t) for t in expected}, key=lambda w: (not w.startswith("`"), w))
    if len(words) > 8:
        words = words[:8] + ["…"]
    return ", ".join(words)


def _line_of(text: str, line: int) -> str | None:
    lines = text.splitlines()
    return lines[line - 1] if 1 <= line <= len(lines) else None


def _previous_token_end(text: str, pos: int) -> tuple[int, int] | None:
    """(line, column) just after the last token before `pos`, skipping blanks and comments."""
    lines = text[:pos].split("\n")
    for i in range(len(lines) - 1, -1, -1):
        # Whole earlier lines may end in a comment; the current line is cut at `pos` already.
        code = re.sub(r"#.*$", "", lines[i]) if i < len(lines) - 1 else lines[i]
        stripped = code.rstrip()
        if stripped:
            return i + 1, len(stripped) + 1
    return None


def _unclosed_brace(text: str) -> tuple[int, int] | None:
    """Line and column of the last `{` left open at the end of the text (comments and strings skipped)."""
    stack: list[tuple[int, int]] = []
    for ln, line in enumerate(text.splitlines(), 1):
        in_str = False
        for col, ch in enumerate(line, 1):
            if ch == '"':
                in_str = not in_str
            elif in_str:
                continue
            elif ch == "#":
                break
            elif ch == "{":
                stack.append((ln, col))
            elif ch == "}" and stack:
                stack.pop()
    return stack[-1] if stack else None


def _syntax_diagnostic(e: UnexpectedInput, text: str, filename: str) -> Diagnostic:
    if isinstance(e, UnexpectedCharacters):
        ch = text[e.pos_in_stream] if e.pos_in_stream < len(text) else ""
        span = Span(filename, e.line, e.column, e.line, e.column + 1)
        hint = None
        if ch == "/" and text[e.pos_in_stream:e.pos_in_stream + 2] == "//":
            hint = "comments start with `#`"
        elif ch in "+-*/%" :
            hint = ("`+ - * / %` are integer operators (for indices and widths); "
                    "signals use `&` (and), `|` (or), `^` (xor) and `~` (not)")
        elif ch == "'":
            hint = 'strings use double quotes: "file.npy"; odd names use back-quotes: `22`'
        allowed = e.allowed or set()
        return Diagnostic(f"unexpected character `{ch}`", span, _line_of(text, e.line),
                          expected=_expected_words(allowed) if 0 < len(allowed) <= 6 else None, hint=hint)

    expected = set(getattr(e, "expected", None) or ())
    parser = getattr(e, "interactive_parser", None)
    # LALR lookahead sets are merged across states; ask the parser which tokens it truly accepts.
    # It copies the parser's stack once per token it tries, so past a few hundred open levels (a
    # line of 10^5 `-` signs) the merged set is what the message says.
    if parser is not None and len(parser.parser_state.state_stack) <= MAX_ACCEPTS_DEPTH:
        try:
            expected = set(parser.accepts()) or expected
        except Exception:  # pragma: no cover - accepts() is best effort only
            pass

    if isinstance(e, UnexpectedEOF) or (isinstance(e, UnexpectedToken) and e.token.type == "$END"):
        lines = text.splitlines() or [""]
        last = len(lines)
        span = Span(filename, last, len(lines[-1]) + 1)
        brace = _unclosed_brace(text)
        hint = f"the `{{` on line {brace[0]} is never closed" if brace else None
        return Diagnostic("unexpected end of file", span, lines[-1],
                          expected=_expected_words(expected), hint=hint)

    assert isinstance(e, UnexpectedToken)
    tok = e.token
    value = str(tok)
    span = Span(filename, tok.line, tok.column, tok.end_line, tok.end_column)
    hint = None
    words = {_describe(t) for t in expected}
    if "`;`" in words and tok.line is not None:
        prev = _previous_token_end(text, tok.start_pos)
        if prev and prev[0] < tok.line:
            # The statement ended on an earlier line: point at its end, where `;` belongs.
            span = Span(filename, prev[0], prev[1], prev[0], prev[1] + 1)
            return Diagnostic("missing `;` at the end of the statement", span, _line_of(text, prev[0]),
                              expected="`;`", hint=f"the next statement starts on line {tok.line}")
    before = _word_before(text, tok.start_pos)
    if before and before[0] in RESERVED and value in ("=", "[", ";", ","):
        # `for = a;`: the keyword was taken as a keyword; the real mistake is the name before.
        word, start = before
        line = text.count("\n", 0, start) + 1
        column = start - text.rfind("\n", 0, start)
        return Diagnostic(f"`{word}` is a reserved word and cannot be a name",
                          Span(filename, line, column, line, column + len(word)), _line_of(text, line),
                          hint=f"choose another name, or quote it: `{word}` in back-quotes")
    if value == "/" and text[tok.end_pos:tok.end_pos + 1] == "/":
        hint = "comments start with `#`"
    elif value in ("==", "!=", "<=", ">=", "<", ">") and "`&&`" in words:
        hint = "comparisons do not chain: write `0 < N && N < 2`"
    elif value in RESERVED and "a name" in words:
        hint = f"`{value}` is a reserved word; write `{value}_` or `` `{value}` `` for a name"
    elif value in ("+", "-", "*", "/", "%", "**"):
        hint = ("`+ - * / %` are integer operators (for indices and widths); "
                "signals use `&` (and), `|` (or), `^` (xor) and `~` (not)")
    elif value in ("==", "!=", "<=", ">=", "<", ">", "&&", "||", "!"):
        hint = "comparisons and `&& || !` are allowed only in `if` conditions"
    elif value == "=" and "`;`" in words:
        hint = "a statement assigns once: `name = expression;`"
    elif words == {"`=`"}:
        hint = "settings are written `name = value;`"
    elif value == "..":
        hint = ("a slice is written `v[lo:hi]`" if "`:`" in words else
                "ranges `lo..hi` appear in `for` loops and in a network's `use` line (`use c<N=1..8>;`); "
                "an instance takes one value per parameter")
    elif tok.type == "REAL" and "`]`" in words:
        hint = "an index is an integer expression"
    elif tok.type == "REAL" and any(ch in value for ch in ".eE"):
        hint = "numbers with a fraction appear only in MLP weight arrays"
    what = f"`{value}`" if tok.type in ("NAME", "QNAME", "INT", "REAL", "STRING") else _describe(tok.type)
    return Diagnostic(f"unexpected {what}", span, _line_of(text, tok.line), expected=_expected_words(expected),
                      hint=hint)


# ---------------------------------------------------------------- tree → AST

def _int(tok: Token, filename: str) -> int:
    s = str(tok).replace("_", "")
    try:
        if s[:2] in ("0b", "0B"):
            return int(s[2:], 2)
        if s[:2] in ("0x", "0X"):
            return int(s[2:], 16)
        return int(s, 10)
    except ValueError:
        raise CircuitError(Diagnostic(f"malformed integer `{tok}`", _tok_span(tok, filename),
                                      hint="integers are decimal (42), binary (0b101010) or hex (0x2a)")) from None


def _word_before(text: str, end: int) -> tuple[str, int] | None:
    """The name that ends just before `end` (whitespace between allowed) and where it starts, or
    None. Scans back from `end` only, so a long run of name characters costs one pass, not one
    per start position as a regular expression anchored at the end would."""
    i = end
    while i > 0 and text[i - 1].isspace():
        i -= 1
    stop = i
    while i > 0 and (text[i - 1].isascii() and (text[i - 1].isalnum() or text[i - 1] == "_")):
        i -= 1
        if stop - i > 64:                    # longer than any reserved word: not one
            return None
    if i == stop or text[i].isdigit():
        return None
    return text[i:stop], i


def _tok_span(tok: Token, filename: str) -> Span:
    return Span(filename, tok.line, tok.column, tok.end_line, tok.end_column, tok.start_pos)


def _name(tok: Token) -> str:
    s = str(tok)
    return s[1:-1].replace("``", "`") if s.startswith("`") else s


def _string(tok: Token) -> str:
    body = str(tok)[1:-1]
    return re.sub(r"\\(.)", r"\1", body)


def _edge_span(children, end: int):
    """The span (or token) of the first (end=0) or last (end=-1) positioned item among `children`.

    Items are AST nodes (with `.span`), tokens, `(name, span)` pairs, nested tuples or None.
    This runs for every node of every parse, so the common cases come first.
    """
    for x in (children if end == 0 else reversed(children)):
        if x is None:
            continue
        span = getattr(x, "span", None)
        if span is not None:
            return span
        if isinstance(x, Token):
            if x.line is not None:
                return x
        elif isinstance(x, Span):
            return x
        elif isinstance(x, (tuple, list)):
            found = _edge_span(x, end)
            if found is not None:
                return found
    return None


def _binary_method(op: str):
    def method(self, c):
        return ast.IBinary(op, c[0], c[1], self._span(c))
    return method


class _ToAst(Transformer):
    """Builds the AST bottom-up, inside the LALR parser (no parse tree is built).

    Each method receives the children of one grammar rule. Spans are derived from the tokens under a
    node (Lark propagates positions only onto trees), so a span starts at the first name, number or
    string of its rule; a block ends at its closing brace, which the grammar keeps as RBRACE.
    """

    def __init__(self, filename: str):
        super().__init__(visit_tokens=False)
        self.f = filename
        self.text = ""

    def _span(self, children, keyword: str | None = None) -> Span | None:
        first = _edge_span(children, 0)
        if first is None:
            return None
        last = _edge_span(children, -1)
        line, column = first.line, first.column
        offset = first.start_pos if isinstance(first, Token) else first.offset
        if keyword is not None and offset is not None:
            # The keyword is a filtered token: find it just before the rule's first kept token.
            i = offset
            while i > 0 and self.text[i - 1] in " \t\r\n":
                i -= 1
            start = i - len(keyword)
            if start >= 0 and self.text[start:i] == keyword:
                line -= self.text.count("\n", start, offset)
                column = start - self.text.rfind("\n", 0, start)
                offset = start
        return Span(self.f, line, column, last.end_line, last.end_column, offset)


    # names and literals
    def name(self, c):
        tok = c[0]
        if tok.type == "NAME" and str(tok) in RESERVED:
            # The contextual lexer would accept a keyword where only a name fits; refuse it, so a
            # keyword never silently becomes a wire name.
            raise CircuitError(Diagnostic(f"`{tok}` is a reserved word and cannot be a name",
                                          _tok_span(tok, self.f),
                                          hint=f"choose another name, or quote it: `{tok}` in back-quotes"))
        return _name(tok), _tok_span(tok, self.f)

    def start(self, c):
        return c

    def include(self, c):
        return ast.Include(_string(c[0]), self._span(c, "include"))

    def param_decl(self, c):
        return ast.ParamDecl(c[0][0], c[1], self._span(c, "param"))

    # circuits
    def circuit_def(self, c):
        (name, _), params, over, *body, rbrace = c
        return ast.CircuitDef(name, params or (), over, tuple(body), self._span(c, "circuit"), rbrace.line)

    def over(self, c):
        return c[0][0]

    def param_list(self, c):
        return tuple(c)

    def param_def(self, c):
        return ast.ParamDef(c[0][0], c[1], self._span(c))

    def _decls(self, direction, c):
        return ast.PortDecl(direction, tuple(c), self._span(c, direction))

    def in_decl(self, c):
        return self._decls("in", c)

    def out_decl(self, c):
        return self._decls("out", c)

    def wire_decl(self, c):
        return self._decls("wire", c)

    def decl(self, c):
        return ast.Decl(c[0][0], c[1], self._span(c))

    def assign(self, c):
        return ast.Assign((c[0],), c[1], False, self._span(c))

    def tuple_assign(self, c):
        return ast.Assign(tuple(c[:-1]), c[-1], True, self._span(c, "("))

    def lv_name(self, c):
        return ast.LValue(c[0][0], span=self._span(c))

    def lv_bit(self, c):
        return ast.LValue(c[0][0], c[1], span=self._span(c))

    def lv_slice(self, c):
        return ast.LValue(c[0][0], c[1], c[2], span=self._span(c))

    def block(self, c):
        return tuple(c[:-1]), c[-1].line

    def for_stmt(self, c):
        (var, _), lo, hi, (body, end) = c
        return ast.For(var, lo, hi, body, self._span(c[:3], "for"), end)

    def if_stmt(self, c):
        cond, (then, then_end), other = c
        else_if = isinstance(other, ast.If)
        if else_if:
            other_body = (other,)
        elif other is not None:
            other_body = other[0]
        else:
            other_body = None
        end = other.end_line if else_if else other[1] if other is not None else then_end
        return ast.If(cond, then, other_body, self._span(c[:1], "if"), then_end, end, else_if)

    # signal expressions
    def ternary(self, c):
        return ast.Ternary(c[0], c[1], c[2], self._span(c))

    def bor(self, c):
        return ast.Binary("|", c[0], c[1], self._span(c))

    def bxor(self, c):
        return ast.Binary("^", c[0], c[1], self._span(c))

    def band(self, c):
        return ast.Binary("&", c[0], c[1], self._span(c))

    def bnot(self, c):
        return ast.Unary("~", c[0], self._span(c, "~"))

    def ref(self, c):
        return ast.Ref(c[0][0], self._span(c))

    def bit_ref(self, c):
        return ast.BitRef(c[0][0], c[1], self._span(c))

    def slice_ref(self, c):
        return ast.SliceRef(c[0][0], c[1], c[2], self._span(c))

    def const(self, c):
        return ast.Const(_int(c[0], self.f), str(c[0]), self._span(c))

    def concat(self, c):
        parts = tuple(x for x in c if not isinstance(x, Token))  # drop the closing brace token
        return ast.Concat(parts, self._span(c, "{"))

    def bit_of(self, c):
        return ast.BitOf(c[0], c[1], self._span(c, "bit("))

    def call(self, c):
        (name, name_span), targs, *args = c
        args = tuple(a for a in args if a is not None)
        return ast.Call(name, targs, args, self._span(c), name_span)

    def member(self, c):
        return ast.Member(c[0], c[1][0], self._span(c))

    def targs(self, c):
        return tuple(c)

    def targ_pos(self, c):
        return ast.TArg(None, c[0], self._span(c))

    def targ_kw(self, c):
        return ast.TArg(c[0][0], c[1], self._span(c))

    def arg_pos(self, c):
        return ast.Arg(None, c[0], self._span(c))

    def arg_kw(self, c):
        return ast.Arg(c[0][0], c[1], self._span(c))

    # integer expressions and conditions
    def inum(self, c):
        return ast.INum(_int(c[0], self.f), str(c[0]), self._span(c))

    def iname(self, c):
        return ast.IName(c[0][0], self._span(c))

    def icall(self, c):
        return ast.ICall(c[0][0], tuple(c[1:]), self._span(c))

    iadd = _binary_method("+")
    isub = _binary_method("-")
    imul = _binary_method("*")
    idiv = _binary_method("/")
    imod = _binary_method("%")
    ipow = _binary_method("**")

    def ineg(self, c):
        return ast.INeg(c[0], self._span(c, "-"))

    def ccmp(self, c):
        return ast.Compare(str(c[1]), c[0], c[2], self._span(c))

    def cmp_op(self, c):
        return str(c[0])

    def c_or(self, c):
        return ast.Logic("||", c[0], c[1], self._span(c))

    def c_and(self, c):
        return ast.Logic("&&", c[0], c[1], self._span(c))

    def c_not(self, c):
        return ast.Not(c[0], self._span(c, "!"))

    # MLPs
    def mlp_def(self, c):
        (name, _), params, *body, rbrace = c
        return ast.MLPDef(name, params or (), tuple(body), self._span(c, "mlp"), rbrace.line)

    def layer(self, c):
        (act, _), *fields, rbrace = c
        return ast.LayerDef(act, tuple(fields), self._span(c, "layer"), rbrace.line)

    def layer_field(self, c):
        return ast.LayerField(c[0][0], c[1], self._span(c))

    def load(self, c):
        path, key, *index = c
        return ast.Load(_string(path), _string(key) if key is not None else None, self._span(c, "load("),
                        tuple(index))

    def tensor_index(self, c):
        return c[0]

    def array(self, c):
        # Numbers arrive as REAL tokens, so the array's span can be taken from them.
        items = [x for x in c if x is not None]
        values = tuple(x.values if isinstance(x, ast.ArrayLit) else self._real(x) for x in items)
        return ast.ArrayLit(values, self._span(items, "["))

    def _real(self, tok: Token) -> float:
        value = float(tok)
        if not math.isfinite(value):         # 1e309 reads as inf: a weight no network can hold
            raise CircuitError(Diagnostic(f"`{tok}` is out of range for a real number",
                                          _tok_span(tok, self.f), hint="reals lie within ±1.8e308"))
        return value

    def real(self, c):
        return c[0]

    # feature sets and networks
    def features_def(self, c):
        (name, _), size, *knobs, rbrace = c
        return ast.FeaturesDef(name, size, tuple(knobs), self._span(c, "features"), rbrace.line)

    def network_def(self, c):
        (name, _), *body, rbrace = c
        return ast.NetworkDef(name, tuple(body), self._span(c, "network"), rbrace.line)

    def use(self, c):
        return ast.Use(c[0], c[1], self._span(c, "use"))

    def circuit_ref(self, c):
        return ast.CircuitRef(c[0][0], c[1], self._span(c))

    def use_targs(self, c):
        return tuple(c)

    def targ_range_pos(self, c):
        return ast.TRange(None, c[0], c[1], self._span(c))

    def targ_range_kw(self, c):
        return ast.TRange(c[0][0], c[1], c[2], self._span(c))

    def knob(self, c):
        return ast.Knob(c[0][0], c[1], self._span(c))

    def string(self, c):
        return _string(c[0])


_TRANSFORMER = _ToAst("<string>")

__all__ = ["parse_module", "RESERVED"]
