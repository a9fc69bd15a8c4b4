"""`circuitc sweep GRID.toml`: run a grid of compile+verify (or budget, or frontier) points.

The merged table goes to standard output (markdown, or JSON with --json) and to the results
directory; progress, notes and the summary go to standard error. Exit status: 0 when every
point has a record and none failed, 1 when some failed (recorded; `--retry-failed` runs them
again), 2 for a bad grid or source, 130 when interrupted (every finished point is kept).
"""

from __future__ import annotations

import json
import os
import shlex
import sys

from ..fileio import check_writable
from ..plot import require_matplotlib
from ..sweep import Sweep, SweepInterrupted, SweepResult, summary
from ..sweep.plot import plot_sweep
from .tables import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, error

__all__ = ["cmd_sweep"]


def _resume_command(args, output: str, retry: bool = False) -> str:
    argv = ["circuitc", "sweep", args.grid, "-o", output]
    if args.scheduler:
        argv += ["--scheduler", args.scheduler]
        if args.memory_resource:
            argv += ["--memory-resource", args.memory_resource]
    elif args.workers is not None:
        argv += ["--workers", str(args.workers)]
    if args.retry_failed or retry:
        argv.append("--retry-failed")
    return shlex.join(argv)


def _print(result: SweepResult, as_json: bool) -> None:
    if as_json:
        sys.stdout.write(json.dumps(result.table(), indent=1) + "\n")
    else:
        sys.stdout.write(result.markdown())


def cmd_sweep(args) -> int:
    if args.report and (args.rerun or args.retry_failed or args.scheduler or args.workers is not None):
        raise error("--report runs nothing; it takes no options about running points")
    if args.memory_resource and not args.scheduler:
        raise error("--memory-resource asks Dask workers for memory; it needs --scheduler")
    if args.plot:
        require_matplotlib()
        check_writable(args.plot, args.force)           # before any point runs, not after
    sweep = Sweep(args.grid, args.output)
    output = os.fspath(sweep.output)
    if args.report:
        result = sweep.report()
    else:
        try:
            result = sweep.run(workers=args.workers, scheduler=args.scheduler, memory_resource=args.memory_resource,
                               retry_failed=args.retry_failed, rerun=args.rerun, progress=args.progress)
        except SweepInterrupted as stop:
            result = stop.result
            _print(result, args.json)
            print(summary(result), file=sys.stderr)
            print(f"every finished point is kept; to resume, run again: {_resume_command(args, output)}",
                  file=sys.stderr)
            return EXIT_INTERRUPTED
    _print(result, args.json)
    if args.plot:
        plot_sweep(result, args.plot, args.x, args.y, force=args.force)
    print(summary(result), file=sys.stderr)
    if result.failed:
        print(f"{len(result.failed)} point{'s' * (len(result.failed) > 1)} failed (recorded with the error); run "
              f"them again with: {_resume_command(args, output, retry=True)}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK
