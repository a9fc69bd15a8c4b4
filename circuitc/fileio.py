"""Writing output files safely: atomically, and never over an existing file unless asked.

`write_atomic(path, data)` writes to a temporary file in the destination's directory, flushes it
to disk, then moves it into place in one step, so a reader (or a crash) never sees a half-written
file. Without `force=True` an existing file is never replaced: the final step links the temporary
file to its name, which fails if the name is taken, so even a file created in the meantime is
safe. Every failure is a `CircuitError` naming the path.
"""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

from .errors import CircuitError, Diagnostic

__all__ = ["write_atomic"]


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
