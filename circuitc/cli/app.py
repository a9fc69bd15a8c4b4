"""The `circuitc` command line: check, eval, graph and fmt over `.circ` sources and netlists;
compile a network declaration into a saved network, and verify a saved network.

The commands only read files, call the library and format what it returns; every rule about
circuits lives in the library. Exit codes:

    0    success
    1    `fmt --check`: some file is not formatted; `verify`: bit accuracy below --min-accuracy
    2    bad input (a CircuitError, reported with file:line:col) or bad usage
    3    an internal error (a bug: reported with its traceback)
    130  interrupted (Ctrl-C)
    141  standard output was closed early (e.g. piped into `head`)
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import traceback
from typing import Any, Sequence

from .. import __version__
from ..errors import CircuitError
from ..lazy import resolve
from .parser import build_parser
from .tables import EXIT_BROKEN_PIPE, EXIT_ERROR, EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_OK

__all__ = ["main"]


# ============================================================================================
# Entry point


def _exit_code(code: Any) -> int:
    if code is None:
        return EXIT_OK
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return EXIT_ERROR


def _parse(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    args, extra = parser.parse_known_args(argv)
    if extra:
        # NAME=VALUE assignments may follow options (`eval f.circ -c adder a=5 b=9`).
        if args.command == "eval" and not any(e.startswith("-") for e in extra):
            args.assignments = list(args.assignments) + extra
        else:
            args.parser.error(f"unrecognized arguments: {' '.join(extra)}")
    return args


def _silence_stdout() -> None:
    """After a broken pipe, point stdout at /dev/null so that the final flush stays quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, AttributeError, ValueError, io.UnsupportedOperation):
        pass


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (see the module docstring)."""
    try:
        args = _parse(build_parser(), argv)
    except SystemExit as e:  # --help, --version and usage errors
        return _exit_code(e.code)
    try:
        code = resolve(f"{__package__}.{args.func}")(args)
        sys.stdout.flush()
        return code
    except SystemExit as e:  # usage errors found by a command
        return _exit_code(e.code)
    except CircuitError as e:
        print(str(e), file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except MemoryError:
        print("circuitc: error: out of memory", file=sys.stderr)
        return EXIT_ERROR
    except Exception as e:  # anything else is a bug in circuitc
        print(f"circuitc: internal error: {type(e).__name__}: {e}", file=sys.stderr)
        traceback.print_exc()
        print(f"This is a bug in circuitc {__version__}, not a problem with the input. Please report it, "
              f"with the command line and the input files that trigger it.", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
