"""Reading weight tensors for MLP layers from `.npy` and `.safetensors` files.

Neither path ever unpickles: `.npy` is read with `allow_pickle=False` (object arrays are refused)
and `.safetensors` is a plain header plus raw buffers by design.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from safetensors import SafetensorError
from safetensors.numpy import load

from ..errors import did_you_mean
from ..fileio import os_reason

SUPPORTED = (".npy", ".safetensors")


class WeightFileError(Exception):
    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint


def read_tensor(path: Path, key: str | None = None) -> tuple[np.ndarray, bytes]:
    """The tensor stored in `path` (under `key` for safetensors) as float64, and the file's bytes."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        raise WeightFileError(f"cannot read weights from `{path.name}`: unsupported file type `{suffix or '(none)'}`",
                              hint="weights load from .npy or .safetensors files")
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise WeightFileError(f"weight file `{path}` does not exist",
                              hint="paths are relative to the directory of the file that loads them") from None
    except OSError as e:
        raise WeightFileError(f"cannot read weight file `{path}`: {os_reason(e)}") from None

    if suffix == ".npy":
        if not data.startswith(b"\x93NUMPY"):
            # numpy takes any file without the .npy header for a pickle; say what it really is.
            raise WeightFileError(f"`{path.name}` is not a valid .npy file (it lacks the .npy header)",
                                  hint="write it with numpy.save")
        if key is not None:
            raise WeightFileError(f"`{path.name}` holds one array; a key is only for .safetensors files",
                                  hint=f'write load("{path.name}")')
        try:
            array = np.load(io.BytesIO(data), allow_pickle=False)
        except ValueError as e:
            if "pickle" in str(e).lower() or "object" in str(e).lower():
                raise WeightFileError(f"`{path.name}` holds Python objects, which circuitc never unpickles",
                                      hint="save a numeric array: np.save(path, array.astype(np.float64))") from None
            raise WeightFileError(f"`{path.name}` is not a valid .npy file: {e}") from None
        except Exception as e:  # numpy raises several types for truncated or foreign files
            raise WeightFileError(f"`{path.name}` is not a valid .npy file ({type(e).__name__})") from None
    else:
        try:
            tensors = load(data)
        except (SafetensorError, ValueError, TypeError, OverflowError) as e:
            raise WeightFileError(f"`{path.name}` is not a valid .safetensors file: {e}") from None
        if key is None:
            if len(tensors) != 1:
                names = ", ".join(sorted(tensors)) or "none"
                raise WeightFileError(f"`{path.name}` holds {len(tensors)} tensors; name the one to load",
                                      hint=f'write load("{path.name}", "KEY") with KEY one of: {names}')
            array = next(iter(tensors.values()))
        elif key not in tensors:
            raise WeightFileError(f"`{path.name}` has no tensor `{key}`",
                                  hint=did_you_mean(key, tensors) or f"tensors: {', '.join(sorted(tensors)) or 'none'}")
        else:
            array = tensors[key]

    if array.dtype.kind not in "biuf":
        raise WeightFileError(f"`{path.name}` holds {array.dtype} values; weights must be numbers")
    array = np.asarray(array, dtype=np.float64)
    if not np.all(np.isfinite(array)):
        raise WeightFileError(f"`{path.name}` contains NaN or infinite values")
    return array, data
