"""`circuitc run`: a saved network of instances run on inputs given per instance.

Kept apart from network_cmds.py, which imports torch: the artifact is read and checked without it
(instances/stored.py), and a few rows run in numpy (instances/numpy_forward.py); torch is imported
only where `instances.run.runner` chooses it (many rows, or --device).
"""

from __future__ import annotations

import json
from pathlib import Path

from ..artifact_format import check_hashes, open_artifact
from ..artifact_names import FEATURES_KIND
from ..errors import CircuitError, Diagnostic
from ..fileio import check_writable
from ..inputs import parse_assignments, read_instance_csv, read_instance_rows
from ..instances.run import run, runner
from ..instances.stored import StoredNetwork, read_stored
from .tables import EXIT_OK, emit, error

__all__ = ["cmd_run"]


def _read_instances(artifact: str) -> StoredNetwork:
    """The network of instances at `artifact`, read and checked as `circuitc.load` reads it (its
    hashes included); a network over a feature set is refused."""
    reader, meta = open_artifact(artifact)
    if meta.get("kind") == FEATURES_KIND:
        raise error(f"{artifact} holds a network over a feature set; `circuitc run` takes networks of circuit "
                    f"instances", hint="evaluate the feature circuit with `circuitc eval`")
    stored = read_stored(reader, meta)
    check_hashes(reader, meta)
    return stored


def _instance_rows(args, stored: StoredNetwork) -> list[dict]:
    """The rows of `circuitc run`: one row from the --instance groups, or the rows of --inputs."""
    if args.instance and args.inputs:
        args.parser.error("give either --instance groups (one row) or --inputs FILE (many rows), not both")
    if args.inputs:
        csv_file = Path(args.inputs).suffix.lower() == ".csv"
        return read_instance_csv(args.inputs) if csv_file else read_instance_rows(args.inputs)
    if not args.instance:
        args.parser.error("nothing to run: give --instance ID NAME=VALUE ... or --inputs FILE.json / FILE.csv")
    T, type_of = stored.plan.T, stored.type_of
    row, problems = {}, []
    for group in args.instance:
        head, texts = group[0], group[1:]
        if not head.isdigit() or not 0 <= int(head) < T:
            problems.append(Diagnostic(f"--instance {head}: not an instance of this network (ids 0..{T - 1})"))
            continue
        if int(head) in row:
            problems.append(Diagnostic(f"--instance {head} is given twice"))
            continue
        circuit = stored.circuits[type_of[int(head)]]
        try:
            row[int(head)] = parse_assignments(circuit, texts)
        except CircuitError as e:
            problems.extend(Diagnostic(f"--instance {head} (`{circuit.name}`): {d.message}", hint=d.hint)
                            for d in e.diagnostics)
    if problems:
        raise CircuitError(problems)
    return [row]


def cmd_run(args) -> int:
    if args.output:
        check_writable(args.output, args.force)          # refuse before any work
    stored = _read_instances(args.artifact)
    rows = _instance_rows(args, stored)
    compiled = runner(stored, len(rows), args.device)
    results = run(compiled, rows, raw=args.raw)
    if args.json or args.output:
        record = {"artifact": args.artifact, "raw": args.raw,
                  "rows": [{str(t): ports for t, ports in row.items()} for row in results]}
        emit(json.dumps(record, indent=2) + "\n", args.output, args.force)
        return EXIT_OK
    for b, row in enumerate(results):
        if len(results) > 1:
            print(f"row {b}")
        for t, ports in row.items():
            name = compiled.circuits[compiled.network.type_of[t]].name
            shown = ", ".join(f"{port} = {value}" for port, value in ports.items())
            print(f"{'  ' if len(results) > 1 else ''}instance {t} (`{name}`): {shown}")
    return EXIT_OK
