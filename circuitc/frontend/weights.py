"""Reading weight tensors for MLP layers from `.npy` and `.safetensors` files.

Neither path ever unpickles: `.npy` is read with `allow_pickle=False` (object arrays are refused)
and `.safetensors` is a plain header plus raw buffers by design.

`WeightFiles` is what one elaboration reads through: a family of MLPs that slices one stacked
file (`load("w.npy")[i]`) is elaborated once per parameter value, and the file must still be
read, decoded, checked and hashed only once.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Callable, Union

import numpy as np
from safetensors import SafetensorError
from safetensors.numpy import load

from ..errors import did_you_mean
from ..fileio import MAX_WEIGHT_BYTES, FileRefused, os_reason, read_bounded

SUPPORTED = (".npy", ".safetensors")


class WeightFileError(Exception):
    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint


# What a file holds once decoded: the one array of a .npy, the named tensors of a .safetensors.
Contents = Union[np.ndarray, dict[str, np.ndarray]]


def _read_bytes(path: Path) -> bytes:
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        raise WeightFileError(f"cannot read weights from `{path.name}`: unsupported file type `{suffix or '(none)'}`",
                              hint="weights load from .npy or .safetensors files")
    try:
        return read_bounded(path, MAX_WEIGHT_BYTES, "weight files")
    except FileNotFoundError:
        raise WeightFileError(f"weight file `{path}` does not exist",
                              hint="paths are relative to the directory of the file that loads them") from None
    except OSError as e:
        raise WeightFileError(f"cannot read weight file `{path}`: {os_reason(e)}",
                              hint=e.hint if isinstance(e, FileRefused) else None) from None
    except ValueError:  # a NUL byte in the path
        shown = str(path).replace("\0", "\\0")
        raise WeightFileError(f"cannot read weight file `{shown}`: the path holds a NUL byte") from None


def _decode(path: Path, data: bytes) -> Contents:
    if path.suffix.lower() == ".npy":
        if not data.startswith(b"\x93NUMPY"):
            # numpy takes any file without the .npy header for a pickle; say what it really is.
            raise WeightFileError(f"`{path.name}` is not a valid .npy file (it lacks the .npy header)",
                                  hint="write it with numpy.save")
        try:
            return np.load(io.BytesIO(data), allow_pickle=False)
        except ValueError as e:
            if "pickle" in str(e).lower() or "object" in str(e).lower():
                raise WeightFileError(f"`{path.name}` holds Python objects, which circuitc never unpickles",
                                      hint="save a numeric array: np.save(path, array.astype(np.float64))") from None
            raise WeightFileError(f"`{path.name}` is not a valid .npy file: {e}") from None
        except Exception as e:  # numpy raises several types for truncated or foreign files
            raise WeightFileError(f"`{path.name}` is not a valid .npy file ({type(e).__name__})") from None
    try:
        return load(data)
    except (SafetensorError, ValueError, TypeError, OverflowError) as e:
        raise WeightFileError(f"`{path.name}` is not a valid .safetensors file: {e}") from None


def _select(path: Path, contents: Contents, key: str | None) -> np.ndarray:
    """The tensor `key` names in a decoded file, as finite float64 values."""
    if isinstance(contents, np.ndarray):
        if key is not None:
            raise WeightFileError(f"`{path.name}` holds one array; a key is only for .safetensors files",
                                  hint=f'write load("{path.name}")')
        array = contents
    elif key is None:
        if len(contents) != 1:
            names = ", ".join(sorted(contents)) or "none"
            raise WeightFileError(f"`{path.name}` holds {len(contents)} tensors; name the one to load",
                                  hint=f'write load("{path.name}", "KEY") with KEY one of: {names}')
        array = next(iter(contents.values()))
    elif key not in contents:
        raise WeightFileError(f"`{path.name}` has no tensor `{key}`",
                              hint=did_you_mean(key, contents) or f"tensors: {', '.join(sorted(contents)) or 'none'}")
    else:
        array = contents[key]
    if array.dtype.kind not in "biuf":
        raise WeightFileError(f"`{path.name}` holds {array.dtype} values; weights must be numbers")
    array = np.asarray(array, dtype=np.float64)
    if not np.all(np.isfinite(array)):
        raise WeightFileError(f"`{path.name}` contains NaN or infinite values")
    return array


def read_tensor(path: Path, key: str | None = None) -> tuple[np.ndarray, bytes]:
    """The tensor stored in `path` (under `key` for safetensors) as float64, and the file's bytes."""
    data = _read_bytes(path)
    return _select(path, _decode(path, data), key), data


def _resolved(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError, ValueError):  # a link loop or a NUL byte: reading will say so
        return path


class WeightFiles:
    """The weight tensors of one elaboration, each file read (and passed to `on_file`, which hashes
    it into the source hash) once, and each tensor decoded and checked once.

    Failures are remembered too: a missing file used by ten thousand instances is looked for once.
    Arrays handed out are read-only, since every instance of a family shares them.
    """

    def __init__(self, on_file: Callable[[bytes], None] | None = None):
        self.on_file = on_file
        self._files: dict[Path, Contents | WeightFileError] = {}
        self._tensors: dict[tuple[Path, str | None], np.ndarray | WeightFileError] = {}
        # Resolving a path costs system calls; an instance asks by (directory, path as written).
        self._written: dict[tuple[Path, str, str | None], np.ndarray | WeightFileError] = {}

    def get(self, directory: Path, path: str, key: str | None) -> np.ndarray:
        """The tensor `load(path, key)` names, for an MLP in `directory`; raises WeightFileError."""
        ref = (directory, path, key)
        found = self._written.get(ref)
        if found is None:
            found = self._written[ref] = self._tensor(_resolved(directory / path), key)
        if isinstance(found, WeightFileError):
            # Raised afresh: re-raising one stored exception would chain every raise's frames
            # onto its traceback, so a family of 10^5 members would hold 10^5 tracebacks.
            raise found.with_traceback(None)
        return found

    def _tensor(self, path: Path, key: str | None) -> np.ndarray | WeightFileError:
        found = self._tensors.get((path, key))
        if found is None:
            try:
                array = _select(path, self._contents(path), key)
                array.setflags(write=False)
                found = array
            except WeightFileError as e:
                found = e
            self._tensors[(path, key)] = found
        return found

    def _contents(self, path: Path) -> Contents:
        found = self._files.get(path)
        if found is None:
            try:
                data = _read_bytes(path)
                if self.on_file is not None:
                    self.on_file(data)
                found = _decode(path, data)
            except WeightFileError as e:
                found = e
            self._files[path] = found
        if isinstance(found, WeightFileError):
            raise found.with_traceback(None)
        return found
