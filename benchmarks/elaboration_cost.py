"""What one elaboration step costs: the figures behind the step limit (frontend/expand.MAX_STEPS),
and what one item of a flat file costs: the figures behind the line reader's limit
(frontend/flat.MAX_FLAT_ITEMS).

Elaboration counts its work in steps (loop iterations, queued assignments, gates made or inlined,
bits declared, instances) and refuses a source past MAX_STEPS, so that any source, however its
loops multiply, ends within a bounded time and memory. That bound holds only if no kind of
statement costs much more per step than the others. Each source below stresses one kind; each is
run as `circuitc check` in a fresh process (the whole command: parse, elaborate, the graph
checks, the summary), and its wall time and peak memory are divided by the steps it spent.

    python benchmarks/elaboration_cost.py              # N = 100,000 for every source
    python benchmarks/elaboration_cost.py --n 50000 --only shift adder
    python benchmarks/elaboration_cost.py --n 1000000 --only flat_not flat_and flat_wide flat_ports flat_mlp \
        flat_tiny flat_many

The `flat_*` sources are in the form the printer writes, which the line reader takes without the
parser or the elaborator; it counts items (a gate, a gate input, a declared bit, a weight, and
DEFINITION_ITEMS for each definition), and each source holds about N of them.

Prints one JSON object: per source, the steps (tokens, for `statements`), seconds, peak RSS, µs
and bytes per step (per token), and the time and memory the worst of them predicts for a source
that spends a whole budget. The peak includes the interpreter and circuitc's imports (about
45 MB), so small N overstate the bytes per step.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

from circuitc.frontend.expand import MAX_STEPS
from circuitc.frontend.flat import DEFINITION_ITEMS, MAX_FLAT_ITEMS
from circuitc.frontend.syntax.parse import MAX_TOKENS, count_tokens

# Each source has one parameter N: the loop length; for `wide`, a tenth of the bits declared; for
# `statements`, ten times the statements.
SOURCES = {
    # one assignment of one bit per iteration, through an `if` on the loop variable
    "shift": """
        circuit shift<N = {n}, K = 3> {{
            in x[N];
            out y[N];
            for i in 0..N {{
                if i < K {{ y[i] = 0; }} else {{ y[i] = x[i - K]; }}
            }}
        }}""",
    # one instance of a two-gate circuit per iteration (the ripple-carry adder)
    "adder": """
        circuit full_adder {{
            in a, b, cin;
            out s, cout;
            s = a ^ b ^ cin;
            cout = maj(a, b, cin);
        }}
        circuit adder<N = {n}> {{
            in a[N], b[N];
            out s[N];
            wire c[N + 1];
            c[0] = 0;
            for i in 0..N {{
                (s[i], c[i + 1]) = full_adder(a[i], b[i], c[i]);
            }}
        }}""",
    # several gates per assignment: a multiplexer is four gates, each with a fresh wire
    "mux": """
        circuit mux_chain<N = {n}> {{
            in s[N], a[N], b[N];
            out y[N];
            for i in 0..N {{ y[i] = s[i] ? a[i] : b[i]; }}
        }}""",
    # no statements at all: declarations of ten vectors of N bits each
    "wide": """
        circuit wide<N = {n}> {{
            in a0[N], a1[N], a2[N], a3[N], a4[N], a5[N], a6[N], a7[N], a8[N], a9[N];
            out y;
            y = a0[0];
        }}""",
    # empty nested loops: iterations that do nothing
    "loops": """
        circuit spin<N = {n}> {{
            in x;
            out y;
            for i in 0..N {{ for j in 0..10 {{ }} }}
            y = x;
        }}""",
}

CHILD = """
import json, resource, sys
from circuitc.cli.app import main
from circuitc.frontend import elaborate
spent = []
run = elaborate.Elaborator.run
def counted(self, *args, **kwargs):
    try:
        return run(self, *args, **kwargs)
    finally:
        spent.append(self.steps)
elaborate.Elaborator.run = counted
sys.argv = ["circuitc", "check", sys.argv[1]]
try:
    main()
except SystemExit as e:
    code = e.code
else:
    code = 0
print(json.dumps({"steps": sum(spent), "exit": code,
                  "peak_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}), file=sys.stderr)
"""


def statements(n: int) -> str:
    """No loops: N // 10 statements of one gate each, as a generator would write them (six tokens
    a statement, about 0.6·N tokens in all: what the parser costs)."""
    k = n // 10
    body = "".join(f"    w{i} = w{i - 1} & x;\n" for i in range(1, k))
    return f"circuit flat {{\n    in x, w0;\n    out y;\n{body}    y = w{k - 1};\n}}\n"


def flat_gates(n: int, fan_in: int) -> tuple[str, int]:
    """A chain of gates of `fan_in` inputs each (NOT for one), written one per line as the printer
    writes them, about N items in all; returns the text and its items."""
    k = n // (1 + fan_in)
    if fan_in == 1:
        body = "".join(f"    w{i} = ~w{i - 1};\n" for i in range(1, k))
    else:
        rest = ", ".join(f"x[{j}]" for j in range(fan_in - 1))
        body = "".join(f"    w{i} = and(w{i - 1}, {rest});\n" for i in range(1, k))
    text = f"circuit flat {{\n    in x[{fan_in}], w0;\n    out y;\n{body}    y = w{k - 1};\n}}\n"
    return text, DEFINITION_ITEMS + (k - 1) * (1 + fan_in) + fan_in + 1 + 1 + 2


def flat_ports(n: int) -> tuple[str, int]:
    """Ten declared vectors of N / 10 bits and one gate."""
    k = n // 10
    ports = ", ".join(f"a{j}[{k}]" for j in range(10))
    return f"circuit ports {{\n    in {ports};\n    out y;\n    y = a0[0];\n}}\n", DEFINITION_ITEMS + 10 * k + 1 + 2


def flat_mlp(n: int) -> tuple[str, int]:
    """One MLP layer of N / 100 rows of 100 weights, printed as the printer prints them."""
    rows = n // 100
    row = "[" + ", ".join(f"{(j % 7) / 8 - 0.25}" for j in range(100)) + "],\n"
    text = (f"mlp m {{\n    in x[100];\n    out y[{rows}];\n    layer relu {{\n        weights = [\n"
            + "            " + row * rows + "        ];\n"
            + "        bias = [" + ", ".join("0.5" for _ in range(rows)) + "];\n    }\n}\n")
    return text, DEFINITION_ITEMS + rows * 100 + rows


def flat_tiny(n: int) -> tuple[str, int]:
    """Circuits of one gate, `y = a`: what a definition costs, whatever it holds."""
    each = DEFINITION_ITEMS + 4
    text = "".join(f"circuit c{k} {{\n    in a;\n    out y;\n    y = a;\n}}\n\n" for k in range(n // each))
    return text, n // each * each


def flat_many(n: int) -> tuple[str, int]:
    """Small random circuits of 4 inputs, 3 outputs and 15 gates with back-quoted wire names, as
    a network of different circuits stores them (examples/different_circuits.circ)."""
    import random
    rng = random.Random(1)
    circuits, items = [], 0
    while items < n:
        wires = [f"x[{i}]" for i in range(4)]
        lines = [f"circuit `r<{len(circuits)}>` {{", "    in x[4];", "    out y[3];"]
        for g in range(15):
            out = f"y[{g - 12}]" if g >= 12 else f"`l{g // 4}[{g % 4}]`"
            op = rng.choice(["and", "or", "xor"])
            lines.append(f"    {out} = {op}({rng.choice(wires)}, {rng.choice(wires)});")
            wires.append(out)
        circuits.append("\n".join(lines + ["}", ""]))
        items += DEFINITION_ITEMS + 7 + 15 * 3
    return "\n".join(circuits), items


# Every source as a function of N; the flat ones give their items too.
MAKERS = {name: (lambda n, t=template: textwrap.dedent(t.format(n=n))) for name, template in SOURCES.items()}
MAKERS["statements"] = statements
FLAT = {"flat_not": lambda n: flat_gates(n, 1), "flat_and": lambda n: flat_gates(n, 2),
        "flat_wide": lambda n: flat_gates(n, 100), "flat_ports": flat_ports, "flat_mlp": flat_mlp,
        "flat_tiny": flat_tiny, "flat_many": flat_many}


def measure(name: str, n: int, directory: Path) -> dict:
    path = directory / f"{name}.circ"
    items = None
    if name in FLAT:
        text, items = FLAT[name](n)
        path.write_text(text)
    else:
        path.write_text(MAKERS[name](n))
    t0 = os.times()
    proc = subprocess.run([sys.executable, "-c", CHILD, str(path)], capture_output=True, text=True)
    t1 = os.times()
    out = json.loads(proc.stderr.strip().splitlines()[-1])
    if out["exit"] != 0:
        raise SystemExit(f"{name} (N = {n}) was refused:\n{proc.stderr}")
    seconds = t1.elapsed - t0.elapsed
    peak = out["peak_kib"] * 1024
    row = {"source": name, "N": n, "seconds": round(seconds, 2), "peak_mib": round(peak / 2**20)}
    if items is not None:
        if out["steps"]:
            raise SystemExit(f"{name} went through the elaborator, not the line reader")
        return row | {"items": items, "us_per_item": round(1e6 * seconds / items, 2),
                      "bytes_per_item": round(peak / items)}
    if name == "statements":  # bounded by the parser's limit, not by steps: a cost per token
        tokens = count_tokens(path.read_text(), path.name, 10 ** 12)
        return row | {"tokens": tokens, "us_per_token": round(1e6 * seconds / tokens, 2),
                      "bytes_per_token": round(peak / tokens)}
    steps = out["steps"]
    return row | {"steps": steps, "us_per_step": round(1e6 * seconds / steps, 2), "bytes_per_step": round(peak / steps)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--only", nargs="+", choices=sorted(MAKERS) + sorted(FLAT), default=sorted(MAKERS) + sorted(FLAT))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rows = [measure(name, args.n, Path(tmp)) for name in args.only]
    stepped = [r for r in rows if "steps" in r]
    parsed = [r for r in rows if "tokens" in r]
    flat = [r for r in rows if "items" in r]
    # What a source that spends a whole budget at the worst measured rate would take: the two
    # budgets add up for a source that reaches both.
    limits = {}
    if stepped:
        limits["steps"] = {"seconds": round(max(r["us_per_step"] for r in stepped) * MAX_STEPS / 1e6, 1),
                           "peak_mib": round(max(r["bytes_per_step"] for r in stepped) * MAX_STEPS / 2**20)}
    if parsed:
        limits["tokens"] = {"seconds": round(max(r["us_per_token"] for r in parsed) * MAX_TOKENS / 1e6, 1),
                            "peak_mib": round(max(r["bytes_per_token"] for r in parsed) * MAX_TOKENS / 2**20)}
    if flat:
        limits["flat_items"] = {"seconds": round(max(r["us_per_item"] for r in flat) * MAX_FLAT_ITEMS / 1e6, 1),
                                "peak_mib": round(max(r["bytes_per_item"] for r in flat) * MAX_FLAT_ITEMS / 2**20)}
    print(json.dumps({
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                    "load_average": round(os.getloadavg()[0], 2)},
        "max_steps": MAX_STEPS, "max_tokens": MAX_TOKENS, "max_flat_items": MAX_FLAT_ITEMS,
        "sources": rows,
        "at_the_limit": limits,
    }, indent=1))


if __name__ == "__main__":
    main()
