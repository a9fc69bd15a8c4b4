"""What the netlist importers share: reading a netlist file, naming, hashing and reporting."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from ...errors import CircuitError, Collector, Diagnostic
from ...fileio import MAX_SOURCE_BYTES, FileRefused, read_bounded
from ..formats import READS, sniff


def fresh_name(base: str, taken: set[str]) -> str:
    """`base`, or `base$2`, `base$3`... whichever is not yet taken; the result is taken."""
    name, k = base, 1
    while name in taken:
        k += 1
        name = f"{base}${k}"
    taken.add(name)
    return name


def raise_in_file_order(diags: Collector) -> None:
    # Checks run in passes (lines, then reads, then outputs); report in file order instead.
    diags.raise_if_errors(in_file_order=True)


def circuit_name_for(filename: str, default: str) -> str:
    if filename.startswith("<") and filename.endswith(">"):
        return default
    return Path(filename).stem or default


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def read_netlist_bytes(path: str | os.PathLike[str], kind: str) -> bytes:
    """The file's bytes, read within the source limits (fileio.read_bounded); an unreadable file
    is a CircuitError naming it."""
    try:
        return read_bounded(path, MAX_SOURCE_BYTES, "source files")
    except OSError as e:
        raise CircuitError(Diagnostic(f"cannot read {kind} file `{path}`: {e.strerror or e}",
                                      hint=e.hint if isinstance(e, FileRefused) else None)) from None


def not_text(path: str | os.PathLike[str], data: bytes, kind: str) -> CircuitError | None:
    """The error for a file whose first bytes say it is not text (compressed, an executable...)."""
    found = sniff(data)
    if found is None:
        return None
    what, hint = found
    return CircuitError(Diagnostic(f"{kind} file `{path}` is {what}, not {kind} text: {READS}", hint=hint))


def read_netlist_text(path: str | os.PathLike[str], kind: str) -> str:
    """The file as text; bytes are decoded unchanged so the hash is the hash of the file."""
    data = read_netlist_bytes(path, kind)
    refused = not_text(path, data, kind)
    if refused is not None:
        raise refused
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise CircuitError(Diagnostic(f"{kind} file `{path}` is not UTF-8 text "
                                      f"(byte {e.start}, line {line})")) from None


def line_columns(pattern: re.Pattern[str], body: str, groups: int, chunk: int = 1 << 20) -> list[list[str]] | None:
    """The groups of `pattern` (a multi-line pattern that matches one whole line) for every line of
    `body`, as `groups` columns, or None when some line does not match. The text is matched a
    megabyte of lines at a time, so the per-line tuples of one chunk are alive at once, not those
    of the whole file."""
    columns: list[list[str]] = [[] for _ in range(groups)]
    start, n = 0, len(body)
    while True:
        end = body.find("\n", min(start + chunk, n)) if start + chunk < n else -1
        piece = body[start:] if end < 0 else body[start:end]
        found = pattern.findall(piece)
        if len(found) != piece.count("\n") + 1:
            return None
        for column, values in zip(columns, zip(*found)):
            column.extend(values)
        if end < 0:
            return columns
        start = end + 1


# Characters that break lines for str.splitlines (and so for line numbers) but not for a pattern's
# `$`; a carriage return counts unless it ends a CRLF line.
_ODD_BREAKS = "\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"


def odd_line_breaks(body: str) -> bool:
    """Whether `body` breaks lines where `line_columns` would not (its line numbers would differ)."""
    return any(c in body for c in _ODD_BREAKS) or body.count("\r") != body.count("\r\n")
