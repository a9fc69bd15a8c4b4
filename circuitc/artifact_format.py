"""The artifact directory both back ends write: file names, the format and its version, atomic
publishing, and typed reading that names the file and the key of every problem.

An artifact is a directory of three files (in the Hugging Face layout, `--layout hf`, named
model.safetensors, config.json and circuits.circ, with a model card README.md beside them):

    weights.safetensors   the tensors (each back end lists its own keys)
    network.json          everything else, with "format" and "version" (and "kind" for a feature
                          network); one key per line, innermost lists of numbers on one line; and
                          "hashes", the SHA-256 of the other two files by their names in circuitc's
                          layout, which loading checks (a file changed since it was saved, by as
                          much as one flipped byte, is refused; an artifact without the key, from
                          before it existed, loads unchecked)
    circuits.circ         the source circuits as `.circ` text, so a loaded network can be verified
                          against the reference interpreter

Nothing is ever unpickled: tensors come from safetensors, the rest from JSON and `.circ` text.
Every file is read within bounds (`fileio.read_bounded`): regular files only, network.json and
circuits.circ at most `MAX_SOURCE_BYTES`, the weights at most `MAX_ARTIFACT_WEIGHTS_BYTES`.
Saving is atomic: the directory is built as a hidden temporary sibling and renamed into place, so
an interrupted save leaves either the old artifact or the new one, never a mixture. An existing
path is replaced only with `force=True`, and only when it is an artifact (or an empty directory).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import tempfile
from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import numpy as np
from safetensors import SafetensorError, safe_open

from .artifact_names import CARD, CIRCUITS, FILES, HF_NAMES, METADATA, WEIGHTS, file_names
from .errors import CircuitError, Diagnostic
from .fileio import (
    MAX_ARTIFACT_WEIGHTS_BYTES,
    MAX_SOURCE_BYTES,
    FileRefused,
    check_bounded,
    default_mode,
    fsync_path,
    os_reason,
    read_bounded,
    sha256_file,
    size_text,
    write_durable,
)

if TYPE_CHECKING:
    import torch

FORMAT = "circuitc-network"
# 3: `config.construction` and routed networks (per-type biases); 2: coherent networks only, clean
# steps of slope `gain` (on-indicator biases −1, −2), read as coherent; 1 had slope 2.
# 4: routed networks store no layer tensors (their layers are rebuilt from the lowered types);
VERSION = 4
# The key of network.json that holds the SHA-256 of weights.safetensors and circuits.circ.
HASHES = "hashes"

def error(message: str, hint: str | None = None) -> CircuitError:
    return CircuitError(Diagnostic(message, hint=hint))


def is_artifact(path: Path, marker: str = METADATA) -> bool:
    return path.is_dir() and (path / marker).is_file()


def check_target(path: str | os.PathLike, force: bool = False, *, marker: str = METADATA,
                 what: str = "a compiled network") -> None:
    """Refuse (CircuitError) before any work when `save(…, path, force)` could not write `path`:
    an existing path is replaced only with `force`, and only when it is a directory of the same
    kind (it holds `marker`) or empty."""
    target = Path(path)
    shown = os.fspath(path)
    parent = target.parent
    if not parent.is_dir():
        raise error(f"cannot write {shown}: directory {os.fspath(parent) or '.'} does not exist")
    if not (target.exists() or target.is_symlink()):
        return
    if not force:
        raise error(f"{shown} exists; pass --force to replace it")
    if target.is_symlink() and not target.exists():
        return                                          # a dangling link: replacing it loses nothing
    if not target.is_dir():
        raise error(f"{shown} exists and is not a directory; not replacing it",
                     hint="an artifact is a directory: give another output path")
    if not is_artifact(target, marker) and any(target.iterdir()):
        raise error(f"{shown} exists and is not {what} (it has no {marker}); not replacing it",
                     hint="give another output directory, or remove this one first")


def jsonable(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        if x.dtype.kind in "biu" or (x.dtype.kind == "f" and np.isfinite(x).all()):
            return x.tolist()               # already JSON values: no walk over the elements
        return jsonable(x.tolist())
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        x = float(x)
        return x if math.isfinite(x) else None
    return x


def dump_json(x: Any, level: int = 0) -> str:
    """JSON with one key per line and every innermost list of numbers on one line."""
    pad, inner = "  " * level, "  " * (level + 1)
    if isinstance(x, dict):
        if not x:
            return "{}"
        items = [f"{inner}{json.dumps(k)}: {dump_json(v, level + 1)}" for k, v in x.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(x, list):
        if all(not isinstance(v, (dict, list)) for v in x):
            return json.dumps(x, ensure_ascii=False, allow_nan=False)
        return "[\n" + ",\n".join(inner + dump_json(v, level + 1) for v in x) + "\n" + pad + "]"
    return json.dumps(x, ensure_ascii=False, allow_nan=False)


def _write_weights(path: Path, tensors_: dict[str, torch.Tensor]) -> None:
    from safetensors.torch import save_file  # torch is imported where a network is written

    try:
        save_file(tensors_, str(path))
    except SafetensorError as e:
        raise OSError(str(e)) from None
    fsync_path(path)


def publish(tmp: Path, target: Path, force: bool, *, marker: str = METADATA) -> None:
    """Move the finished directory `tmp` to `target`, replacing an existing one only with `force`."""
    if not (target.exists() or target.is_symlink()):
        os.rename(tmp, target)
        return
    check_target(target, force, marker=marker)
    # Move the old one aside first, so that a failure here puts it back untouched.
    aside = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
    os.rename(target, aside / target.name)
    try:
        os.rename(tmp, target)
    except BaseException:
        try:
            os.rename(aside / target.name, target)
        except OSError as e:
            raise error(f"cannot write {os.fspath(target)}: {os_reason(e)}; the previous directory is "
                        f"kept at {os.fspath(aside / target.name)}") from None
        shutil.rmtree(aside, ignore_errors=True)
        raise
    shutil.rmtree(aside, ignore_errors=True)


def write_directory(path: str | os.PathLike, force: bool, fill: Callable[[Path], None], *,
                    marker: str = METADATA, what: str = "a compiled network") -> Path:
    """Build a directory with `fill(tmp)` in a hidden temporary sibling, then rename it into place,
    replacing a directory of the same kind (one that holds `marker`) only with `force`: an
    interrupted write leaves the old directory or the new one, never a mixture."""
    target = Path(path)
    shown = os.fspath(path)
    check_target(target, force, marker=marker, what=what)
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    except OSError as e:
        raise error(f"cannot write {shown}: {os_reason(e)}") from None
    try:
        os.chmod(tmp, default_mode(directory=True))
        fill(tmp)
        for f in tmp.iterdir():
            os.chmod(f, default_mode())
        fsync_path(tmp)
        publish(tmp, target, force, marker=marker)
    except CircuitError:
        raise
    except OSError as e:
        raise error(f"cannot write {shown}: {os_reason(e)}") from None
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    fsync_path(target.parent)
    return target


def write_artifact(path: str | os.PathLike, force: bool, tensors_: dict[str, torch.Tensor], meta: dict,
                   circ: str, *, layout: str = "circuitc", card: str | None = None) -> Path:
    """Write the three files of an artifact under `layout`'s names, and the model card `card` in the
    "hf" layout (`write_directory`: atomically, replacing an artifact at `path` only with `force`)."""
    names = file_names(layout)
    # Refused before anything is written: loading reads at most this much (`Reader`), so a larger
    # file would be an artifact no one could open. The safetensors header adds a few KiB at most.
    need = sum(t.numel() * t.element_size() for t in tensors_.values())
    if need > MAX_ARTIFACT_WEIGHTS_BYTES:
        raise error(f"not writing {os.fspath(path)}: its weights would take {size_text(need)}, over the "
                    f"{size_text(MAX_ARTIFACT_WEIGHTS_BYTES)} an artifact may hold (the limit loading applies)",
                    hint="compile a narrower or shallower network, or fewer instances")

    def fill(tmp: Path) -> None:
        _write_weights(tmp / names[WEIGHTS], tensors_)
        circ_bytes = circ.encode("utf-8")
        # network.json records the other files' hashes (it cannot hold its own), by their names in
        # circuitc's layout whatever the layout, so that a converted copy checks the same way.
        hashes = {WEIGHTS: sha256_file(tmp / names[WEIGHTS], MAX_ARTIFACT_WEIGHTS_BYTES, "artifact weights"),
                  CIRCUITS: hashlib.sha256(circ_bytes).hexdigest()}
        write_durable(tmp / names[METADATA], (dump_json({**meta, HASHES: hashes}) + "\n").encode("utf-8"))
        write_durable(tmp / names[CIRCUITS], circ_bytes)
        if card is not None:
            write_durable(tmp / CARD, card.encode("utf-8"))

    return write_directory(path, force, fill, marker=names[METADATA])


class Reader:
    """Typed access to network.json with messages that name the file and the key."""

    def __init__(self, directory: Path, layout: str = "circuitc"):
        self.directory = directory
        self.layout = layout
        self.names = file_names(layout)

    def file(self, name: str) -> Path:
        """Where the artifact file `name` (one of FILES) is in this directory's layout."""
        return self.directory / self.names.get(name, name)

    def fail(self, file: str, message: str, hint: str | None = None) -> CircuitError:
        return error(f"{os.fspath(self.file(file))}: {message}", hint)

    def get(self, obj: dict, key: str, kinds: tuple, where: str, *, nullable: bool = False,
            at_least: int | None = None) -> Any:
        if not isinstance(obj, dict):
            raise self.fail(METADATA, f"{where or 'the top level'} must be an object")
        if key not in obj:
            raise self.fail(METADATA, f"missing key `{_join(where, key)}`")
        value = obj[key]
        if value is None and nullable:
            return None
        if not is_a(value, kinds):
            want = " or ".join(_KIND_NAMES[k] for k in kinds) + (" or null" if nullable else "")
            raise self.fail(METADATA, f"`{_join(where, key)}` must be {want}, got {json_type(value)}")
        # Python's json reads NaN, Infinity and 1e999 as floats; every figure of a network is finite
        # (and an integer where a number goes must fit a float: 10**400 does not).
        if float in kinds and isinstance(value, int) and abs(value) >= _FLOAT_TOP:
            raise self.fail(METADATA, f"`{_join(where, key)}` must be a finite number, got an integer of "
                                      f"{len(str(abs(value)))} digits")
        # Every integer of a network (sizes, counts, seeds) lies below 2^63; a larger one would only
        # be printed and multiplied into sizes before anything refused it.
        if float not in kinds and isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 1 << 63:
            raise self.fail(METADATA, f"`{_join(where, key)}` must lie below 2^63, got an integer of "
                                      f"{len(str(abs(value)))} digits")
        if isinstance(value, float) and not math.isfinite(value):
            raise self.fail(METADATA, f"`{_join(where, key)}` must be a finite number, got {value}")
        if at_least is not None and value < at_least:
            raise self.fail(METADATA, f"`{_join(where, key)}` must be at least {at_least}, got {value}")
        return value

    def fields_of(self, cls: type, raw: dict, where: str) -> dict[str, Any]:
        """The fields of dataclass `cls` that `raw` holds, each checked against its annotation
        (int, float, str or bool, `| None` allowing null; ints read as floats where a float goes).
        Keys `cls` does not have are ignored."""
        out: dict[str, Any] = {}
        for f in fields(cls):
            if f.name not in raw:
                continue
            kind, _, none = str(f.type).partition(" | ")
            value = raw[f.name]
            if value is None and none == "None":
                out[f.name] = None
            elif kind == "bool":
                if not isinstance(value, bool):
                    raise self.fail(METADATA, f"`{_join(where, f.name)}` must be true or false, got {json_type(value)}")
                out[f.name] = value
            else:
                got = self.get(raw, f.name, (_FIELD_TYPES[kind],), where, nullable=none == "None")
                out[f.name] = float(got) if kind == "float" else got
        return out

    def array(self, value: Any, where: str, ndim: int, integer: bool) -> np.ndarray:
        try:
            arr = np.array(value)
        except (ValueError, TypeError):
            arr = None
        if arr is not None and arr.size == 0:
            arr = arr.astype(np.int64 if integer else np.float64)
        ok = arr is not None and arr.ndim == ndim and arr.dtype.kind in ("iu" if integer else "iuf")
        if not ok:
            kind = "integers" if integer else "numbers"
            raise self.fail(METADATA, f"`{where}` must be a {ndim}-dimensional array of {kind}")
        if not integer and not np.isfinite(arr).all():
            raise self.fail(METADATA, f"`{where}` contains NaN or infinite values")
        return arr.astype(np.int64 if integer else np.float64)


# Integers from here on overflow a float64.
_FLOAT_TOP = 2 ** 1024
_FIELD_TYPES = {"int": int, "float": float, "str": str}
_KIND_NAMES = {int: "an integer", float: "a number", str: "a string", list: "a list", dict: "an object",
               bool: "true or false"}


def is_a(value: Any, kinds: tuple) -> bool:
    if isinstance(value, bool):             # JSON true/false only where a boolean is asked for
        return bool in kinds
    return any(isinstance(value, (int, float) if k is float else k) for k in kinds)


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    for k, name in _KIND_NAMES.items():
        if isinstance(value, k):
            return name
    return type(value).__name__


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def read_json(r: Reader) -> dict:
    path = r.file(METADATA)
    try:
        text = read_bounded(path, MAX_SOURCE_BYTES, "network descriptions").decode("utf-8")
    except UnicodeDecodeError as e:
        raise r.fail(METADATA, f"not UTF-8 text (byte {e.start})") from None
    except OSError as e:
        raise r.fail(METADATA, f"cannot read: {os_reason(e)}", e.hint if isinstance(e, FileRefused) else None) from None
    try:
        meta = json.loads(text)
    except json.JSONDecodeError as e:
        raise r.fail(METADATA, f"not valid JSON (line {e.lineno}, column {e.colno}: {e.msg})") from None
    except RecursionError:
        raise r.fail(METADATA, "not valid JSON (nested too deeply)") from None
    except ValueError:                      # an integer of thousands of digits
        raise r.fail(METADATA, "not valid JSON for circuitc (a number too long to read)") from None
    if not isinstance(meta, dict):
        raise r.fail(METADATA, f"must hold a JSON object, got {json_type(meta)}")
    fmt = r.get(meta, "format", (str,), "")
    if fmt != FORMAT:
        raise r.fail(METADATA, f"not a circuitc network (format {fmt!r}, expected {FORMAT!r})")
    version = r.get(meta, "version", (int,), "")
    if version > VERSION:
        raise r.fail(METADATA, f"format version {version} is newer than this circuitc reads ({VERSION})",
                     hint="upgrade circuitc to load this network")
    if version == 1:
        raise r.fail(METADATA, "format version 1: compiled by an older circuitc whose clean steps had slope 2",
                     hint="compile the source again with this circuitc")
    if version not in (2, 3, VERSION):
        raise r.fail(METADATA, f"unknown format version {version} (this circuitc reads versions 2 to {VERSION})")
    return meta


def read_tensors(r: Reader, expected: dict[str, tuple[tuple[int, ...], str]]) -> dict[str, np.ndarray]:
    """Every expected tensor, as a numpy array (writable, its own memory), with its shape, dtype
    and finiteness checked; any other key is an error too. No torch: the caller makes tensors of
    them where it needs them (`torch.from_numpy` shares the memory)."""
    path = r.file(WEIGHTS)
    out: dict[str, np.ndarray] = {}
    try:
        # safetensors maps the file itself: the bounds are checked first.
        check_bounded(path, MAX_ARTIFACT_WEIGHTS_BYTES, "artifact weights")
    except OSError as e:
        raise r.fail(WEIGHTS, f"cannot read: {os_reason(e)}", e.hint if isinstance(e, FileRefused) else None) from None
    try:
        with safe_open(str(path), framework="numpy") as f:
            keys = set(f.keys())
            missing = [k for k in expected if k not in keys]
            if missing:
                raise r.fail(WEIGHTS, f"missing tensor{'s' * (len(missing) > 1)} {', '.join(missing)}")
            extra = sorted(keys - set(expected))
            if extra:
                raise r.fail(WEIGHTS, f"unexpected tensor{'s' * (len(extra) > 1)} {', '.join(extra[:5])}"
                             + (f" and {len(extra) - 5} more" if len(extra) > 5 else ""))
            for key, (shape, dtype) in expected.items():
                sl = f.get_slice(key)
                got_shape, got_dtype = tuple(sl.get_shape()), sl.get_dtype()
                if got_shape != shape:
                    raise r.fail(WEIGHTS, f"{key} has shape {shape_text(got_shape)}, expected {shape_text(shape)}")
                if got_dtype != dtype:
                    raise r.fail(WEIGHTS, f"{key} has dtype {got_dtype}, expected {dtype}")
                t = f.get_tensor(key)
                if not np.isfinite(t).all():
                    raise r.fail(WEIGHTS, f"{key} contains NaN or infinite values")
                out[key] = t
    except CircuitError:
        raise
    except Exception as e:  # safetensors reports a damaged file with its own exception types
        raise r.fail(WEIGHTS, f"not a valid safetensors file ({e})") from None
    return out


def shape_text(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def open_artifact(path: str | os.PathLike) -> tuple[Reader, dict]:
    """A reader of the artifact directory at `path` and its checked network.json; a CircuitError
    says what is missing or wrong."""
    directory = Path(path)
    shown = os.fspath(path)
    if not directory.exists():
        raise error(f"cannot find `{shown}`", hint="give the directory `circuitc compile -o` wrote")
    if not directory.is_dir():
        raise error(f"`{shown}` is not a directory; a compiled network is a directory of {', '.join(FILES)}")
    # The Hugging Face layout is recognised by its config.json when there is no network.json.
    hf = not (directory / METADATA).is_file() and (directory / HF_NAMES[METADATA]).is_file()
    r = Reader(directory, "hf" if hf else "circuitc")
    # A file that exists but is no regular file (a FIFO, a link to a device) is refused when it is
    # read, by fileio's bounded reads, with what it is.
    missing = [r.names[f] for f in FILES if not r.file(f).exists()]
    if missing:
        raise error(f"`{shown}` is not a complete compiled network: missing {', '.join(missing)}",
                    hint="compile it again with `circuitc compile ... -o DIR`")
    return r, read_json(r)


def check_hashes(r: Reader, meta: dict) -> None:
    """Refuse (CircuitError) an artifact whose weights or circuits no longer hash to what
    network.json recorded at saving; an artifact saved before hashes were recorded has no key and
    passes. Called after the files have been read and checked, so that a damaged structure is
    reported as such and this catches what structure cannot (a flipped bit in a weight)."""
    if HASHES not in meta:
        return
    recorded = r.get(meta, HASHES, (dict,), "")
    for name, limit, what in ((WEIGHTS, MAX_ARTIFACT_WEIGHTS_BYTES, "artifact weights"),
                              (CIRCUITS, MAX_SOURCE_BYTES, "source files")):
        if name not in recorded:
            continue
        want = r.get(recorded, name, (str,), HASHES)
        try:
            got = sha256_file(r.file(name), limit, what)
        except OSError as e:
            raise r.fail(name, f"cannot read: {os_reason(e)}", e.hint if isinstance(e, FileRefused) else None) from None
        if got != want.lower():
            raise r.fail(name, f"the file has changed since it was saved: its SHA-256 is {got[:16]}…, but "
                               f"{r.names[METADATA]} records {want[:16]}… (flipped bytes, a partial copy or an edit)",
                         hint="copy the artifact again from where it came from, or compile the source again")
