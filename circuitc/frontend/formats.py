"""Which files circuitc reads, and what it says about the ones it does not.

A source is chosen by its suffix: `.circ` text (and any suffix not listed here), or a netlist in
one of `NETLIST_SUFFIXES`. A suffix in `FOREIGN` names a format circuitc recognises but does not
read (VHDL, EDIF, compressed files...), and `sniff` names a file whose first bytes say it is not
text at all (gzip, zip, an executable...): both are refused with the format's name and what
circuitc reads instead, before any parsing.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["NETLIST_SUFFIXES", "VERILOG_SUFFIXES", "READS", "foreign_format", "sniff"]

VERILOG_SUFFIXES = (".v", ".sv")
NETLIST_SUFFIXES = (".bench", ".blif", ".aag", ".aig") + VERILOG_SUFFIXES
READS = ("circuitc reads .circ sources and .bench, .blif, .aag and .aig netlists "
         "(and Verilog .v/.sv with `pip install 'circuitc[verilog]'`)")

_ABC = "convert it with ABC: `abc -c 'read {name}; strash; write_aiger {stem}.aig'`, then read the .aig"
# suffix -> (what the file is, how to get something circuitc reads)
FOREIGN: dict[str, tuple[str, str]] = {
    ".vhd": ("VHDL", "synthesise it to BLIF first, e.g. with GHDL and Yosys: "
                     "`yosys -m ghdl -p 'ghdl {name} -e TOP; synth -flatten; write_blif {stem}.blif'`"),
    ".vhdl": ("VHDL", "synthesise it to BLIF first, e.g. with GHDL and Yosys: "
                      "`yosys -m ghdl -p 'ghdl {name} -e TOP; synth -flatten; write_blif {stem}.blif'`"),
    ".vh": ("a Verilog header", "include it from the .v file that uses it and give that file"),
    ".svh": ("a SystemVerilog header", "include it from the .sv file that uses it and give that file"),
    ".edif": ("EDIF", "export the design as BLIF or Verilog from the tool that wrote it"),
    ".edf": ("EDIF", "export the design as BLIF or Verilog from the tool that wrote it"),
    ".edn": ("EDIF", "export the design as BLIF or Verilog from the tool that wrote it"),
    ".pla": ("a PLA (Espresso) file", _ABC),
    ".eqn": ("an equation file (ABC's EQN)", _ABC),
    ".kiss": ("a KISS state machine", "circuitc compiles combinational logic; encode the machine's "
                                      "next-state logic as a netlist"),
    ".kiss2": ("a KISS2 state machine", "circuitc compiles combinational logic; encode the machine's "
                                        "next-state logic as a netlist"),
    ".btor": ("a BTOR word-level model", "bit-blast it to AIGER (e.g. `btor2aiger`), then read the .aig"),
    ".btor2": ("a BTOR2 word-level model", "bit-blast it to AIGER (e.g. `btor2aiger`), then read the .aig"),
    ".cnf": ("a DIMACS CNF formula", "circuitc reads circuits, not formulas"),
    ".dimacs": ("a DIMACS CNF formula", "circuitc reads circuits, not formulas"),
    ".smt2": ("an SMT-LIB script", "circuitc reads circuits, not formulas"),
    ".lib": ("a Liberty cell library", "give the netlist itself, mapped to generic gates"),
    ".sp": ("a SPICE netlist", "circuitc reads gate-level netlists"),
    ".spice": ("a SPICE netlist", "circuitc reads gate-level netlists"),
    ".npy": ("a NumPy weight file", 'weights are read by an MLP layer: `weights = load("{name}");`'),
    ".safetensors": ("a safetensors weight file", 'weights are read by an MLP layer: `weights = load("{name}");`'),
    ".gz": ("gzip-compressed", "decompress it first: `gunzip -k {name}`"),
    ".bz2": ("bzip2-compressed", "decompress it first: `bunzip2 -k {name}`"),
    ".xz": ("xz-compressed", "decompress it first: `unxz -k {name}`"),
    ".zst": ("zstd-compressed", "decompress it first: `unzstd {name}`"),
    ".zip": ("a zip archive", "unpack it first: `unzip {name}`"),
    ".tar": ("a tar archive", "unpack it first: `tar -xf {name}`"),
    ".tgz": ("a compressed tar archive", "unpack it first: `tar -xzf {name}`"),
}
_COMPRESSED = {".gz": "a", ".bz2": "a", ".xz": "an", ".zst": "a"}     # suffix -> its article
_INNER = {".blif": "BLIF netlist", ".bench": "ISCAS netlist", ".aag": "AIGER file", ".aig": "AIGER file",
          ".circ": "circuitc source", ".v": "Verilog file", ".sv": "SystemVerilog file"}


def foreign_format(path: Path) -> tuple[str, str] | None:
    """(what the file is, a hint) when the suffix names a format circuitc does not read."""
    suffix = path.suffix.lower()
    found = FOREIGN.get(suffix)
    if found is None:
        return None
    what, hint = found
    if suffix in _COMPRESSED:
        inner = _INNER.get(Path(path.stem).suffix.lower())
        what = f"{_COMPRESSED[suffix]} {what} {inner}" if inner else f"{what} data"
    name = path.name
    return what, hint.format(name=name, stem=Path(path.stem).stem if suffix in _COMPRESSED else path.stem)


# (leading bytes, what they mean); checked in order, so longer signatures come first where they overlap
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x1f\x8b", "gzip-compressed data"),
    (b"\xfd7zXZ\x00", "xz-compressed data"),
    (b"\x28\xb5\x2f\xfd", "zstd-compressed data"),
    (b"PK\x03\x04", "a zip archive"),
    (b"PK\x05\x06", "a zip archive (empty)"),
    (b"\x7fELF", "an ELF executable or library"),
    (b"\xcf\xfa\xed\xfe", "a Mach-O executable"),
    (b"\xce\xfa\xed\xfe", "a Mach-O executable"),
    (b"\xca\xfe\xba\xbe", "a Mach-O universal binary or Java class file"),
    (b"\x00asm", "a WebAssembly module"),
    (b"%PDF-", "a PDF document"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"SQLite format 3\x00", "an SQLite database"),
    (b"\x93NUMPY", "a NumPy .npy array"),
    (b"\xff\xfe", "UTF-16 text"),
    (b"\xfe\xff", "UTF-16 text"),
)
_DECOMPRESS = "decompress it first (gunzip, unxz, unzstd, unzip...) and give the file inside"
_HINTS = {
    "gzip-compressed data": _DECOMPRESS, "xz-compressed data": _DECOMPRESS, "zstd-compressed data": _DECOMPRESS,
    "a zip archive": _DECOMPRESS, "a zip archive (empty)": _DECOMPRESS,
    "UTF-16 text": "save the file as UTF-8",
    "a NumPy .npy array": 'weights are read by an MLP layer: `weights = load("FILE.npy");`',
}
_OTHER = "give the path of a circuit source or netlist"


def sniff(data: bytes) -> tuple[str, str] | None:
    """(what the bytes are, a hint) when they start like a binary format rather than text, or like
    an AIGER file (which has suffixes of its own); None for anything that may be text."""
    for magic, what in _MAGIC:
        if data.startswith(magic):
            return what, _HINTS.get(what, _OTHER)
    # "BZh", the block size, then the magic of a block or of the end of the stream: text such as a
    # wire `BZh1` never has both.
    if data[:3] == b"BZh" and data[3:4].isdigit() and data[4:10] in (b"1AY&SY", b"\x17rE8P\x90"):
        return "bzip2-compressed data", _DECOMPRESS
    if len(data) > 262 and data[257:262] == b"ustar":
        return "a tar archive", _DECOMPRESS
    if data[:1] == b"\x80" and data[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        return "a Python pickle", "circuitc never unpickles; " + _OTHER
    if len(data) >= 10 and data[8:10] == b'{"' and int.from_bytes(data[:8], "little") <= len(data):
        return "a safetensors file", 'weights are read by an MLP layer: `weights = load("FILE.safetensors");`'
    if data[:4] in (b"aag ", b"aig ") and data[4:5].isdigit():   # a header, not a wire named `aag`
        return "an AIGER file", "give it the suffix .aag (ASCII) or .aig (binary), which circuitc reads as AIGER"
    return None
