"""Include patterns: `include "netlists/*.bench";` brings in every file the pattern matches.

A path is a pattern when it holds `*` or `?` (then `[...]` classes work too); any other path is
taken literally, so an existing `include "a[1].circ";` keeps its meaning. Matches are included in
sorted order, so the circuits they define, and the Spec, never depend on the order in which the
file system lists a directory.
"""

from __future__ import annotations

import glob
import os
from pathlib import Path, PurePath

from ..errors import CircuitError, Diagnostic, Span


def is_pattern(path: str) -> bool:
    return "*" in path or "?" in path


# Directories a `**` may reach: `include "/**/*.circ"` would otherwise walk the whole file system.
MAX_PATTERN_DIRECTORIES = 10_000


def expand_pattern(directory: Path, pattern: str, span: Span | None, source_line: str | None) -> list[Path]:
    """The files `pattern` matches relative to `directory`, sorted; an error when there are none."""
    # The directory is taken literally even when its name holds pattern characters.
    full = os.path.join(glob.escape(str(directory)), pattern)
    if "**" in pattern and "\0" not in pattern:
        _check_reach(Path(directory, *_literal_prefix(pattern)), pattern, span, source_line)
    try:
        found = glob.glob(full, recursive=True)
    except ValueError:  # a NUL byte
        shown = pattern.replace("\0", "\\0")
        raise CircuitError(Diagnostic(f"cannot follow `{shown}`: it holds a NUL byte", span, source_line,
                                      hint="give a file name pattern such as `netlists/*.bench`")) from None
    files = sorted((Path(f) for f in found if os.path.isfile(f)), key=lambda p: PurePath(p).parts)
    if not files:
        where = Path(os.path.join(str(directory), pattern))
        raise CircuitError(Diagnostic(
            f"no file matches `{pattern}`", span, source_line,
            hint=f"looked for {where}; `*` matches any characters within one directory name, `?` one "
                 "character, `**` any number of directories"))
    return files


def _literal_prefix(pattern: str) -> list[str]:
    """The leading path components of `pattern` that hold no pattern character."""
    parts = PurePath(pattern).parts
    literal = []
    for part in parts[:-1]:
        if glob.has_magic(part):
            break
        literal.append(part)
    return literal


def _check_reach(base: Path, pattern: str, span: Span | None, source_line: str | None) -> None:
    """Refuse a `**` pattern whose walk would visit more than MAX_PATTERN_DIRECTORIES directories,
    counted before any is read (symbolic links are followed, as glob follows them)."""
    seen = 0
    for _ in os.walk(base, followlinks=True):
        seen += 1
        if seen > MAX_PATTERN_DIRECTORIES:
            raise CircuitError(Diagnostic(
                f"`{pattern}` would search more than {MAX_PATTERN_DIRECTORIES:,} directories under {base}",
                span, source_line, hint="give a narrower pattern: name the directory the files are in"))
