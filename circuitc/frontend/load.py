"""Reading sources: `.circ` files with their includes, and netlists (`.bench`, `.blif`, AIGER
`.aag`/`.aig`, and Verilog `.v`/`.sv` through Yosys when it is installed), into a Spec.

`load_spec(path)` picks the front end by the file's suffix; `parse(text)` reads `.circ` text. A
format circuitc does not read (VHDL, EDIF, a compressed file...) is refused by name, and so is a
file whose first bytes say it is not text. Every file is read through `fileio.read_bounded`:
regular files only, at most `MAX_SOURCE_BYTES`. A UTF-8 byte-order mark at the start of a `.circ`
file is dropped, so line 1's columns are those an editor shows.

Includes resolve relative to the including file, are read once each (a diamond is fine), and a
cycle of includes is an error naming the chain; a path with `*` or `?` includes every file it
matches, in sorted order. An included netlist makes its circuits usable by name, so a network can
instantiate ISCAS or BLIF circuits. The source hash covers every file read, weight files
included, so a compiled artifact can cite exactly what it was built from.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import hashlib
import os
import re
from pathlib import Path

from ..errors import CircuitError, Diagnostic, SourceMap, Span, nesting_guard
from ..fileio import MAX_SOURCE_BYTES, FileRefused, os_reason, read_bounded
from ..spec import Spec
from .elaborate import Elaborator
from .flat import read_flat
from .formats import NETLIST_SUFFIXES, READS, foreign_format, sniff
from .importers.aiger import load_aiger
from .importers.bench import load_bench
from .importers.blif import load_blif
from .importers.verilog import load_verilog
from .patterns import expand_pattern, is_pattern
from .syntax import ast
from .syntax.parse import parse_module

__all__ = ["NETLIST_SUFFIXES", "parse", "load_spec", "load_netlist", "read_text", "resolve_path", "display_name"]

_IMPORTERS = {".bench": load_bench, ".blif": load_blif, ".aag": load_aiger, ".aig": load_aiger,
              ".v": load_verilog, ".sv": load_verilog}
assert set(_IMPORTERS) == set(NETLIST_SUFFIXES)
BOM = "\ufeff"


def display_name(path: Path) -> str:
    """How a file is named in messages: relative to the working directory when it lies below it."""
    try:
        rel = os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return str(path)
    return rel if not rel.startswith("..") else str(path)


def resolve_path(path: Path, span: Span | None = None, source_line: str | None = None) -> Path:
    """The absolute path with every symbolic link followed, or a CircuitError for a path the
    system cannot follow (a symbolic link loop, a NUL byte)."""
    try:
        return path.resolve()
    except (OSError, RuntimeError, ValueError) as e:     # RuntimeError: a link loop before 3.13
        reason = "a NUL byte" if isinstance(e, ValueError) else "a loop of symbolic links"
        shown = str(path).replace("\0", "\\0")
        raise CircuitError(Diagnostic(f"cannot follow `{shown}`: it holds {reason}", span, source_line,
                                      hint="give the path of a file")) from None


def read_text(path: Path, span: Span | None = None, source_line: str | None = None) -> str:
    """A source file's text, or a CircuitError saying why it cannot be read: read within the
    source limits (`fileio.read_bounded`), and refused by name when its suffix or its bytes say
    it is in a format circuitc does not read."""
    refuse_foreign(path, span, source_line)
    try:
        data = read_bounded(path, MAX_SOURCE_BYTES, "source files")
    except FileNotFoundError:
        raise CircuitError(Diagnostic(f"cannot find `{display_name(path)}`", span, source_line,
                                      hint=f"looked for {path.absolute()}")) from None
    except IsADirectoryError:
        raise CircuitError(Diagnostic(f"`{display_name(path)}` is a directory, not a source file",
                                      span, source_line)) from None
    except OSError as e:
        raise CircuitError(Diagnostic(f"cannot read `{display_name(path)}`: {os_reason(e)}", span, source_line,
                                      hint=e.hint if isinstance(e, FileRefused) else None)) from None
    found = sniff(data)
    if found is not None:
        what, hint = found
        raise CircuitError(Diagnostic(f"`{display_name(path)}` is {what}, not source text: {READS}",
                                      span, source_line, hint=hint))
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise CircuitError(Diagnostic(f"`{display_name(path)}` is not UTF-8 text (byte {e.start}, line {line})",
                                      span, source_line, hint="save the file as UTF-8")) from None


def refuse_foreign(path: Path, span: Span | None = None, source_line: str | None = None) -> None:
    """A CircuitError for a file whose suffix names a format circuitc does not read."""
    found = foreign_format(path)
    if found is not None:
        what, hint = found
        raise CircuitError(Diagnostic(f"`{display_name(path)}` is {what}, which circuitc does not read: {READS}",
                                      span, source_line, hint=hint))


# Files in one chain of includes (a.circ includes b.circ, which includes...). Each level costs
# a few Python frames, and this keeps the deepest chain well inside the interpreter's limit.
MAX_INCLUDE_DEPTH = 256


_SURROGATE = re.compile("[\ud800-\udfff]")


def refuse_surrogates(text: str, name: str) -> None:
    """Text read from a file is valid UTF-8; text handed to `parse` may hold lone surrogates
    (from `errors="surrogateescape"` decoding), which are not characters and cannot be hashed
    or written back: refused where they are."""
    m = _SURROGATE.search(text)
    if m is not None:
        at = m.start()
        line, column = text.count("\n", 0, at) + 1, at - text.rfind("\n", 0, at)
        raise CircuitError(Diagnostic(f"the source holds a lone surrogate U+{ord(m.group()):04X}, which is not a "
                                      "character", Span(name, line, column),
                                      hint="pass text decoded from UTF-8 without `surrogateescape`"))


class _Loader:
    def __init__(self) -> None:
        self.sources = SourceMap()
        self.hash = hashlib.sha256()
        self.done: set[Path] = set()
        self.items: list[tuple[object, Path]] = []
        self.netlists: list[tuple[Spec, Path, Span | None]] = []
        self.flat: tuple[list, list, list] | None = None
        self.tokens = 0  # read by the parser so far, over all files (parse.MAX_TOKENS)

    def add_bytes(self, data: bytes) -> None:
        # Length-prefixed so that two different splits of the same bytes hash differently.
        self.hash.update(len(data).to_bytes(8, "little"))
        self.hash.update(data)

    def module(self, text: str, name: str, directory: Path, stack: tuple[Path, ...], root: bool = False) -> None:
        text = text.removeprefix(BOM)    # invisible in an editor, so not part of line 1's columns
        refuse_surrogates(text, name)
        self.sources.add(name, text)
        self.add_bytes(text.encode("utf-8"))
        if root:
            # A file of flat circuits alone (an artifact's circuits.circ, a converted netlist):
            # read line by line, as elaborating it would give (flat.py), else parsed.
            self.flat = read_flat(text, name, self.sources)
            if self.flat is not None:
                return
        mod = parse_module(text, name, self.tokens)
        self.tokens += mod.tokens
        for item in mod.items:
            if isinstance(item, ast.Include):
                self.include(item, directory, stack)
            else:
                self.items.append((item, directory))

    def include(self, inc: ast.Include, directory: Path, stack: tuple[Path, ...]) -> None:
        if is_pattern(inc.path):
            line = self.sources.line(inc.span)
            for path in expand_pattern(directory, inc.path, inc.span, line):
                self.include_file(path, inc, stack)
            return
        self.include_file(directory / inc.path, inc, stack)

    def include_file(self, path: Path, inc: ast.Include, stack: tuple[Path, ...]) -> None:
        line = self.sources.line(inc.span)
        path = resolve_path(path, inc.span, line)
        if path in stack:
            chain = " -> ".join(display_name(p) for p in stack[stack.index(path):] + (path,))
            raise CircuitError(Diagnostic(f"recursive include: {chain}", inc.span, line,
                                          hint="a file cannot include itself, directly or through others"))
        if len(stack) >= MAX_INCLUDE_DEPTH:
            chain = [display_name(p) for p in stack + (path,)]
            shown = " -> ".join(chain[:3] + ["..."] + chain[-3:])
            raise CircuitError(Diagnostic(
                f"includes nest {len(chain)} files deep, over the limit of {MAX_INCLUDE_DEPTH}: {shown}",
                inc.span, line, hint="include the files from one place instead of each from the one before"))
        if path in self.done:
            return
        self.done.add(path)
        if path.suffix.lower() in NETLIST_SUFFIXES:
            if not path.exists():
                raise CircuitError(Diagnostic(f"cannot find `{inc.path}`", inc.span, line, hint=f"looked for {path}"))
            spec = load_netlist(path)
            self.add_bytes(spec.source_hash.encode())
            self.netlists.append((spec, path.parent, inc.span))
            return
        text = read_text(path, inc.span, line)
        self.module(text, display_name(path), path.parent, stack + (path,))


@contextlib.contextmanager
def _collector_paused():
    """Python's cycle collector paused while a source is read. Parsing and elaboration allocate
    millions of small objects that live until the end (syntax nodes, wire names, gates) and make
    few cycles, so every collection would walk them all for nothing: about 15 % of the time of
    a large elaboration (benchmarks/elaboration_cost.py). The collector is restored afterwards."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _elaborate(loader: _Loader, source: str) -> Spec:
    if loader.flat is not None:
        circuits, features, warnings = loader.flat
        return Spec(tuple(circuits), tuple(features), source=source, source_hash=loader.hash.hexdigest(),
                    warnings=tuple(warnings))
    elab = Elaborator(loader.sources, on_weight_file=loader.add_bytes)
    for spec, directory, span in loader.netlists:
        for circuit in spec.circuits:
            elab.add_circuit(circuit, directory, span)
    spec = elab.run(loader.items, source)
    # Weight files were hashed during elaboration, so the digest is final only now.
    return dataclasses.replace(spec, source_hash=loader.hash.hexdigest())


def parse(text: str, filename: str = "<string>", base_dir: str | os.PathLike | None = None) -> Spec:
    """Elaborate `.circ` source text. Includes and weight files resolve against `base_dir` (default:
    cwd)."""
    loader = _Loader()
    directory = Path(base_dir) if base_dir is not None else Path.cwd()
    with nesting_guard(), _collector_paused():
        loader.module(text, filename, directory.resolve(), (), root=True)
        return _elaborate(loader, filename)


def load_netlist(path: Path) -> Spec:
    """The Spec of a netlist file, by its suffix (one of NETLIST_SUFFIXES)."""
    return _IMPORTERS[path.suffix.lower()](path)


def load_spec(path: str | os.PathLike) -> Spec:
    """Read a `.circ` file (with its includes), or a netlist (ISCAS `.bench`, BLIF, AIGER `.aag`
    or `.aig`, Verilog `.v` or `.sv` through Yosys) into a Spec."""
    path = Path(path)
    refuse_foreign(path)
    if path.suffix.lower() in NETLIST_SUFFIXES:
        if not path.exists() or path.is_dir():
            read_text(path)  # raises the right message
        return load_netlist(path)
    resolved = resolve_path(path)
    name = display_name(resolved) if path.is_absolute() else str(path)
    text = read_text(path)
    loader = _Loader()
    loader.done.add(resolved)
    with nesting_guard(), _collector_paused():
        loader.module(text, name, resolved.parent, (resolved,), root=True)
        return _elaborate(loader, name)
