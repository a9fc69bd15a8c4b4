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


def expand_pattern(directory: Path, pattern: str, span: Span | None, source_line: str | None) -> list[Path]:
    """The files `pattern` matches relative to `directory`, sorted; an error when there are none."""
    # The directory is taken literally even when its name holds pattern characters.
    full = os.path.join(glob.escape(str(directory)), pattern)
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
