"""The sweep tests' tiny source and grid, and reading a results directory.

The tiny network is 30 full adders and 10 half adders (two `use` lines, so T scaling has
something to split); the grid crosses two widths, two sparsities, both constructions and two
instance counts: 16 points, among them refusals (D = 64 holds no coherent allocation of 30
instances), each a fraction of a second on 256 random and 64 adversarial rows.
"""

from __future__ import annotations

import json
from pathlib import Path

TINY = """\
circuit fa {
    in a, b, cin;
    out s, c;
    t = a ^ b;
    s = t ^ cin;
    c = (a & b) | (t & cin);
}

circuit ha {
    in a, b;
    out s, c;
    s = a ^ b;
    c = a & b;
}

network tiny {
    use fa * 30;
    use ha * 10;
    active = 1;
    width = 128;
}
"""

GRID = """\
source = "tiny.circ"
network = "tiny"

[verify]
samples = 256
adversarial = 64
seed = 3

[knobs]
D = [64, 256]
z = [1, 2]
construction = ["routed", "coherent"]
T = [10, 30]
"""



def records(directory: Path) -> dict[str, dict]:
    """Every point record of a results directory, by key."""
    return {p.stem: json.loads(p.read_text()) for p in sorted((directory / "points").glob("*.json"))}


def outcome(record: dict) -> dict:
    """A record less what may differ between two runs of the same point (timing, where the source was read)."""
    return {k: v for k, v in record.items() if k not in ("timing", "source")}
