"""Reading input files within bounds, and writing output files safely.

`read_bounded(path, limit, what)` is how every file circuitc reads as input gets into memory
(sources, includes, netlists, weight files, artifact files, input rows): it refuses a path that is
not a regular file (a FIFO would block forever, a device such as /dev/zero never ends) before
opening it, and a file above `limit` bytes before reading it, naming the limit and the size.
`check_bounded` makes the same checks for a file another library opens itself, and `sha256_file`
hashes a file within the same bounds.

`write_atomic(path, data)` writes to a temporary file in the destination's directory, flushes it
to disk, then moves it into place in one step, so a reader (or a crash) never sees a half-written
file. Without `force=True` an existing file is never replaced: the final step links the temporary
file to its name, which fails if the name is taken, so even a file created in the meantime is
safe. Every failure is a `CircuitError` naming the path.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
import tempfile
from pathlib import Path

from .errors import CircuitError, Diagnostic

__all__ = ["write_atomic", "read_bounded", "check_bounded", "sha256_file", "FileRefused", "MAX_SOURCE_BYTES",
           "MAX_WEIGHT_BYTES", "MAX_ARTIFACT_WEIGHTS_BYTES"]

MiB = 1 << 20
GiB = 1 << 30
# Sources (.circ files, includes, netlists in every format, input rows, network.json and
# circuits.circ) are read into memory whole, and a text one is decoded to a Python string. The
# largest circuit a source may elaborate to has 10,000,000 gates; at about 25 bytes per gate in
# the most verbose netlist format (ASCII AIGER or BLIF) that is 250 MB, so 256 MiB admits every
# circuit circuitc can hold and refuses only files no circuit fits in.
MAX_SOURCE_BYTES = 256 * MiB
# A weight file of an MLP layer (.npy, .safetensors) is read whole and converted to float64 (twice
# the bytes of float32 data): 1 GiB is 2**28 float32 weights, far above any small MLP, and keeps a
# load within a few GiB of memory.
MAX_WEIGHT_BYTES = 1 * GiB
# An artifact's weights.safetensors holds a compiled network whose layers are rebuilt in memory
# on loading (and hashed first): 8 GiB is 2**31 float32 weights, 8 dense layers of width 16,384.
MAX_ARTIFACT_WEIGHTS_BYTES = 8 * GiB
_CHUNK = 1 << 24



def _error(message: str, hint: str | None = None) -> CircuitError:
    return CircuitError(Diagnostic(message, hint=hint))


def _exists_error(shown: str) -> CircuitError:
    return _error(f"{shown} exists; pass --force to replace it")


def default_mode(directory: bool = False) -> int:
    """The permission bits a newly created file (0o666) or directory (0o777) gets, less the umask."""
    mask = os.umask(0)
    os.umask(mask)
    return (0o777 if directory else 0o666) & ~mask


def write_durable(path: Path, data: bytes, fd: int | None = None) -> None:
    """Write `data` to `path` (or to the open descriptor `fd`) and fsync it before returning."""
    with (os.fdopen(fd, "wb") if fd is not None else open(path, "wb")) as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def fsync_path(directory: Path) -> None:
    """fsync a file or directory (after a rename, to make it durable); best effort, since not
    every platform can open a directory."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def os_reason(e: OSError) -> str:
    """What an OSError says, without its errno prefix and file name (the caller names the file)."""
    return e.strerror or str(e)


class FileRefused(OSError):
    """A file circuitc will not read: not a regular file, or above its size limit. An OSError, so
    every reader's `except OSError` reports it with the file's name; `hint` says what to do."""

    def __init__(self, reason: str, hint: str | None = None):
        super().__init__(reason)
        self.hint = hint


def size_text(n: int) -> str:
    """A byte count for messages: `300 MiB (314,572,800 bytes)`; past 2^64 bytes (figures a tampered
    file can imply) only its power of two, `over 2^1000 bytes`, so no huge number is printed."""
    if n.bit_length() > 64:
        return f"over 2^{n.bit_length() - 1} bytes"
    for unit, scale in (("GiB", GiB), ("MiB", MiB), ("KiB", 1 << 10)):
        if n >= scale:
            value = n / scale
            shown = f"{value:.0f}" if value == int(value) else f"{value:.1f}"
            return f"{shown} {unit} ({n:,} bytes)"
    return f"{n:,} byte{'s' * (n != 1)}"


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _check_stat(st: os.stat_result, limit: int, what: str, path: str) -> None:
    if stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), path)
    if not stat.S_ISREG(st.st_mode):
        kind = _kind(st.st_mode)
        raise FileRefused(f"it is {kind}, not a regular file",
                          hint="circuitc reads regular files only: write the data to a file and give its path")
    if st.st_size > limit:
        raise FileRefused(f"it is {size_text(st.st_size)}, above the {size_text(limit)} limit for {what}",
                          hint=f"circuitc reads {what} of at most {size_text(limit)}")


def check_bounded(path: str | os.PathLike, limit: int, what: str) -> int:
    """The size of the regular file at `path`, after `read_bounded`'s checks, for a file that
    another library opens itself (a safetensors file is memory-mapped). Raises OSError."""
    st = os.stat(path)   # follows symbolic links: the file itself must be regular
    _check_stat(st, limit, what, os.fspath(path))
    return st.st_size


def _open_bounded(path: str | os.PathLike, limit: int, what: str) -> tuple[int, int]:
    """An open descriptor of the regular file at `path` and its size, after the checks."""
    check_bounded(path, limit, what)     # before opening: opening a FIFO would wait for a writer
    # Non-blocking, so that a FIFO put in the file's place since the check cannot hang the open;
    # the descriptor is checked again below. Reads of a regular file ignore the flag.
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags)
    try:
        st = os.fstat(fd)
        _check_stat(st, limit, what, os.fspath(path))
    except BaseException:
        os.close(fd)
        raise
    return fd, st.st_size


def read_bounded(path: str | os.PathLike, limit: int, what: str) -> bytes:
    """The bytes of the regular file at `path`, at most `limit` of them.

    Raises OSError: the usual ones (FileNotFoundError, IsADirectoryError, PermissionError...) and
    FileRefused for a special file (refused before it is opened) or a file above `limit` (refused
    before it is read, and again if it grows while being read). `what` names the kind of file in
    the message ("source files")."""
    fd, size = _open_bounded(path, limit, what)
    with os.fdopen(fd, "rb", buffering=0) as f:
        # The size is known, so one read normally takes the whole file and the next finds its
        # end; a read may return less (and a file may grow, or be a /proc file that reports size
        # 0), so reading goes on in chunks until the end, never past the limit.
        parts: list[bytes] = []
        total = 0
        while total <= limit:
            want = size + 1 - total if total <= size else _CHUNK
            more = f.read(min(want, limit + 1 - total))
            if not more:
                break
            parts.append(more)
            total += len(more)
    if total > limit:
        raise FileRefused(f"it grew above the {size_text(limit)} limit for {what} while being read",
                          hint=f"circuitc reads {what} of at most {size_text(limit)}")
    return b"".join(parts)


def sha256_file(path: str | os.PathLike, limit: int, what: str) -> str:
    """The SHA-256 (hex) of the regular file at `path`, read in chunks within `read_bounded`'s
    bounds. Raises OSError."""
    fd, _ = _open_bounded(path, limit, what)
    digest = hashlib.sha256()
    total = 0
    with os.fdopen(fd, "rb", buffering=0) as f:
        while chunk := f.read(_CHUNK):
            total += len(chunk)
            if total > limit:
                raise FileRefused(f"it grew above the {size_text(limit)} limit for {what} while being read")
            digest.update(chunk)
    return digest.hexdigest()


def check_writable(path: str | os.PathLike, force: bool = False) -> Path:
    """The file `write_atomic(path, ..., force)` would write (a symbolic link followed when
    forcing), or the CircuitError it would refuse with: callers check before long work."""
    shown = os.fspath(path)
    target = Path(path)
    if force and target.is_symlink():
        target = Path(os.path.realpath(target))
    if target.is_dir():
        raise _error(f"{shown} is a directory; give a file name to write to")
    if not force and (target.exists() or target.is_symlink()):
        raise _exists_error(shown)
    if not target.parent.is_dir():
        raise _error(f"cannot write {shown}: directory {os.fspath(target.parent) or '.'} does not exist")
    return target


def write_atomic(path: str | os.PathLike, data: str | bytes, force: bool = False) -> None:
    """Write `data` (text is written as UTF-8, newlines untranslated) to `path` atomically.

    Refuses (CircuitError) to replace an existing file unless `force`; a symbolic link is
    followed, so replacing it rewrites the file it points to. A replaced file keeps its
    permission bits; a new one gets the usual 0o666 less the umask.
    """
    shown = os.fspath(path)
    target = check_writable(path, force)
    if isinstance(data, str):
        data = data.encode("utf-8")
    directory = target.parent
    try:
        mode = target.stat().st_mode & 0o7777 if target.exists() else default_mode()
    except OSError:
        mode = default_mode()
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    except OSError as e:
        raise _error(f"cannot write {shown}: {os_reason(e)}") from None
    try:
        try:
            write_durable(Path(tmp), data, fd)
            os.chmod(tmp, mode)
            if force:
                os.replace(tmp, target)
            else:
                _link_new(tmp, target, shown)
        except CircuitError:
            raise
        except OSError as e:
            raise _error(f"cannot write {shown}: {os_reason(e)}") from None
    finally:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        except OSError:
            pass
    fsync_path(directory)


def _link_new(tmp: str, target: Path, shown: str) -> None:
    """Give the finished temporary file its name, failing if the name is taken."""
    try:
        os.link(tmp, target)
    except FileExistsError:
        raise _exists_error(shown) from None
    except OSError as e:
        # Some file systems have no hard links: check, then rename (a small race remains).
        if e.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EXDEV, errno.EMLINK,
                           errno.ENOSYS, errno.EACCES):
            raise
        if target.exists() or target.is_symlink():
            raise _exists_error(shown) from None
        os.replace(tmp, target)
