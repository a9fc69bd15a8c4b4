"""Fuzzing the front ends and the artifact loader: N mutated inputs, each within 10 s and 1 GB.

The inputs are those of tests/fuzz_corpus.py: mutated `.circ` sources (as text and as files with
hostile includes), ISCAS `.bench`, BLIF, ASCII and binary AIGER netlists, input rows, tampered
compiled artifacts of both back ends, and a few command-line runs. Input i of a kind is a pure
function of (seed, kind, i). Each runs in a worker process (one per core), under

- a time limit (--seconds, default 10) of CPU time, which is wall-clock time on an idle core but
  does not count the waits of a busy machine: a timer in the worker stops an input that runs over,
  another stops one that blocks for 3 times the limit of wall-clock time, and a worker silent for
  longer than that plus a grace period is killed;
- a memory limit (--memory-mb, default 1024): after its imports and a warm-up, a worker caps its
  address space (RLIMIT_AS) at what it holds plus the limit, since python, numpy and torch
  reserve some 0.7 GB of address space before any input is read. Each input's peak resident
  memory above the resident memory it started from is measured as well (VmHWM, reset per input).

Anything but a result or a CircuitError that renders is a failure: another exception, an input
over the time or memory limit, a crashed worker, a command line that exits with a traceback or
an undocumented code. Every failure is saved under --out (one directory per input, at most --keep
per distinct failure) for `--replay DIR`. Prints one JSON object; exits 1 when anything failed.

    python benchmarks/fuzz.py                              # 100,000 inputs
    python benchmarks/fuzz.py --inputs 2000 --kinds circ,bench --seed 3
    python benchmarks/fuzz.py --replay /tmp/fuzz_repro/exception-artifact-41
"""

from __future__ import annotations

import argparse
import heapq
import json
import multiprocessing as mp
import os
import sys
import tempfile
import time
from collections import Counter, deque
from multiprocessing.connection import wait
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1] / "tests"
sys.path.insert(0, str(TESTS))

import fuzz_corpus as fc  # noqa: E402  (tests/fuzz_corpus.py)

GRACE = 20.0        # seconds past the wall-clock limit before a silent worker is killed (the alarms come first)
SLOWEST = 10
MiB = 1 << 20


def schedule(inputs: int, kinds: list[str]) -> list[tuple[str, int]]:
    """(kind, index) of every input: each kind gets its share of `inputs`, interleaved so that every
    stretch of the run mixes kinds."""
    shares = {k: fc.SHARES[k] for k in kinds}
    total = sum(shares.values())
    counts = {k: inputs * s // total for k, s in shares.items()}
    for k in sorted(kinds, key=lambda k: -(inputs * shares[k] % total))[:inputs - sum(counts.values())]:
        counts[k] += 1
    tasks = [(k, i) for k, n in counts.items() for i in range(n)]
    return sorted(tasks, key=lambda t: ((t[1] + 0.5) / counts[t[0]], t[0]))


class Worker:
    """A worker process, the (kind, index) list it is running and when it last reported."""

    def __init__(self, ctx, seed: int, bases: str, scratch: str, seconds: float, memory: int):
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=fc.serve, args=(child, seed, bases, scratch, seconds, memory), daemon=True)
        self.process.start()
        child.close()
        self.pending: deque[tuple[str, int]] = deque()
        self.ready = False
        self.since = time.monotonic()
        self.baseline: dict = {}

    def give(self, tasks: list[tuple[str, int]]) -> None:
        self.pending.extend(tasks)
        self.conn.send(tasks)
        self.since = time.monotonic()

    def stop(self, wait_s: float = 0.0) -> None:
        """End the process: after `wait_s` seconds to exit by itself, killed."""
        self.process.join(wait_s)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.conn.close()

    def finish(self) -> None:
        """Ask the process to exit once its work is done."""
        try:
            self.conn.send(None)
        except OSError:         # it has died already
            pass
        self.stop(wait_s=10.0)


class Run:
    """The fuzzing run: schedules inputs on workers, restarts the ones that die or hang, and tallies."""

    def __init__(self, args, kinds: list[str]):
        self.args = args
        self.kinds = kinds
        self.out = Path(args.out)
        self.counts = {k: Counter() for k in kinds}
        self.seconds = {k: 0.0 for k in kinds}
        self.slowest: list[tuple[float, float, str, int, int, str]] = []
        self.failures: dict[tuple, dict] = {}
        self.max_growth = (0, None)
        self.peak = 0
        self.baseline: dict = {}
        self.restarts = 0
        self._sources = None

    # ------------------------------------------------------------------ the schedule

    def run(self) -> dict:
        start = time.monotonic()
        tasks = schedule(self.args.inputs, self.kinds)
        chunks = deque(tasks[i:i + self.args.chunk] for i in range(0, len(tasks), self.args.chunk))
        ctx = mp.get_context("spawn")
        with tempfile.TemporaryDirectory(prefix="circuitc-fuzz-") as tmp:
            self.tmp = Path(tmp)
            if {"artifact", "cli"} & set(self.kinds):
                fc.build_artifacts(self.tmp / "bases")
            (self.tmp / "bases").mkdir(exist_ok=True)
            spawn = self._spawner(ctx)
            workers = [spawn(k) for k in range(min(self.args.jobs, max(1, len(chunks))))]
            done = 0
            while chunks or any(w.pending for w in workers):
                for w in workers:
                    if w.ready and not w.pending and chunks:
                        w.give(chunks.popleft())
                for conn in wait([w.conn for w in workers], timeout=1.0):
                    w = next(w for w in workers if w.conn is conn)
                    done += self._receive(w)
                for k, w in enumerate(workers):
                    if self._stuck(w) or not w.process.is_alive():
                        self._lost(w, chunks)
                        w.stop()
                        workers[k] = spawn(k)
                        self.restarts += 1
                self._progress(done, len(tasks), start)
            for w in workers:
                w.finish()
        return self.summary(time.monotonic() - start)

    def _spawner(self, ctx):
        def spawn(k: int) -> Worker:
            scratch = tempfile.mkdtemp(prefix=f"w{k}-", dir=self.tmp)
            return Worker(ctx, self.args.seed, str(self.tmp / "bases"), scratch, self.args.seconds,
                          self.args.memory_mb * MiB)
        return spawn

    def _receive(self, w: Worker) -> int:
        try:
            message = w.conn.recv()
        except (EOFError, OSError):
            return 0        # the worker died: _lost() reports it
        w.since = time.monotonic()
        if message[0] == "ready":
            w.ready, w.baseline = True, message[1]
            self.baseline = self.baseline or message[1]
            return 0
        _, outcome, size = message
        w.pending.popleft()
        self._tally(outcome, size)
        return 1

    def _stuck(self, w: Worker) -> bool:
        limit = self.args.seconds * fc.WALL_FACTOR + GRACE if w.ready else 300.0     # start-up imports torch
        return (bool(w.pending) or not w.ready) and time.monotonic() - w.since > limit

    def _lost(self, w: Worker, chunks: deque) -> None:
        """A worker that died or stopped answering: its current input failed, the rest run again."""
        if not w.pending:
            if not w.ready:
                raise RuntimeError(f"a fuzzing worker failed to start (exit code {w.process.exitcode})")
            return
        kind, index = w.pending.popleft()
        code = w.process.exitcode
        if code is None:
            failure = {"category": "hang", "type": "Killed", "where": "worker", "traceback": [],
                       "message": f"no answer for {self.args.seconds * fc.WALL_FACTOR + GRACE:g} s "
                                  f"(the alarms did not stop it)"}
        else:
            failure = {"category": "crash", "type": f"exit {code}", "where": "worker", "traceback": [],
                       "message": f"the worker process died with exit code {code}"}
        self._tally(fc.Outcome(kind, index, "failed", time.monotonic() - w.since, failure=failure), 0)
        if w.pending:
            chunks.appendleft(list(w.pending))
        w.pending.clear()

    # ------------------------------------------------------------------ the tally

    def _tally(self, o: fc.Outcome, size: int) -> None:
        self.counts[o.kind][o.status] += 1
        self.seconds[o.kind] += o.cpu
        heapq.heappush(self.slowest, (o.cpu, o.seconds, o.kind, o.index, size, o.status))
        if len(self.slowest) > SLOWEST:
            heapq.heappop(self.slowest)
        if o.growth > self.max_growth[0]:
            self.max_growth = (o.growth, (o.kind, o.index))
        self.peak = max(self.peak, o.peak)
        if o.failure is not None:
            self._failure(o)

    def _failure(self, o: fc.Outcome) -> None:
        f = o.failure
        key = (f["category"], f["type"], f["where"])
        entry = self.failures.setdefault(key, {**f, "count": 0, "kinds": Counter(), "reproducers": []})
        entry["count"] += 1
        entry["kinds"][o.kind] += 1
        if len(entry["reproducers"]) < self.args.keep and f["category"] != "harness":
            case = fc.make_case(o.kind, fc.case_rng(self.args.seed, o.kind, o.index), self.sources())
            path = self.out / f"{f['category']}-{o.kind}-{o.index}"
            fc.save_case(case, path, self.args.seed, o.index, f)
            entry["reproducers"].append({"kind": o.kind, "index": o.index, "path": str(path)})

    def sources(self) -> fc.Sources:
        """The corpus, as the workers have it (read only when a failure is to be saved)."""
        if self._sources is None:
            self._sources = fc.Sources(fc.read_artifacts(self.tmp / "bases"))
        return self._sources

    def _progress(self, done: int, total: int, start: float) -> None:
        if self.args.progress and time.monotonic() - getattr(self, "_shown", 0) > self.args.progress:
            self._shown = time.monotonic()
            failed = sum(f["count"] for f in self.failures.values())
            print(f"[fuzz] {done}/{total} inputs, {failed} failed, {time.monotonic() - start:.0f} s",
                  file=sys.stderr, flush=True)

    def summary(self, total_seconds: float) -> dict:
        kinds = {}
        for k in self.kinds:
            c = self.counts[k]
            n = sum(c.values())
            kinds[k] = {"inputs": n, "accepted": c["accepted"], "refused": c["refused"], "failed": c["failed"],
                        "mean_cpu_ms": round(1000 * self.seconds[k] / n, 3) if n else None}
        failures = sorted(self.failures.values(), key=lambda f: -f["count"])
        for f in failures:
            f["kinds"] = dict(f["kinds"])
        growth, where = self.max_growth
        return {
            "inputs": sum(k["inputs"] for k in kinds.values()),
            "seed": self.args.seed,
            "jobs": self.args.jobs,
            "limits": {"cpu_seconds": self.args.seconds, "wall_seconds": self.args.seconds * fc.WALL_FACTOR,
                       "memory_mib": self.args.memory_mb,
                       "memory_rule": "RLIMIT_AS = the worker's address space after imports and warm-up + the limit",
                       "worker_baseline_mib": {k: round(v / MiB, 1) for k, v in self.baseline.items()}},
            "kinds": kinds,
            "failed": sum(f["count"] for f in failures),
            "failures": failures,
            "slowest": [{"kind": k, "index": i, "cpu_seconds": round(c, 3), "wall_seconds": round(s, 3),
                         "bytes": b, "status": st} for c, s, k, i, b, st in sorted(self.slowest, reverse=True)],
            "memory": {"max_growth_mib": round(growth / MiB, 2),
                       "max_growth_input": {"kind": where[0], "index": where[1]} if where else None,
                       "peak_rss_mib": round(self.peak / MiB, 1)},
            "worker_restarts": self.restarts,
            "total_seconds": round(total_seconds, 1),
            "inputs_per_second": round(sum(k["inputs"] for k in kinds.values()) / total_seconds, 1),
        }


def fuzz(inputs: int = 100_000, seed: int = 0, kinds: list[str] | None = None, jobs: int | None = None,
         seconds: float = fc.SECONDS, memory_mb: int = fc.MEMORY_BYTES // MiB, out: str = "/tmp/fuzz_repro",
         keep: int = 3, chunk: int = 20, progress: float = 0) -> dict:
    """Run the fuzzer and return its summary (what the command line prints)."""
    args = argparse.Namespace(inputs=inputs, seed=seed, jobs=jobs or os.cpu_count() or 1, seconds=seconds,
                              memory_mb=memory_mb, out=out, keep=keep, chunk=chunk, progress=progress)
    return Run(args, list(kinds or fc.KINDS)).run()


def replay(directory: Path) -> int:
    """Run a saved case in this process and show what it raises."""
    case = fc.load_case(directory)
    with tempfile.TemporaryDirectory(prefix="circuitc-replay-") as tmp:
        fx = fc.Fixtures(Path(tmp))
        outcome = fc.guarded(case, fx)
    print(json.dumps({"kind": case.kind, "status": outcome.status, "cpu_seconds": round(outcome.cpu, 3),
                      "wall_seconds": round(outcome.seconds, 3), "failure": outcome.failure}, indent=2))
    return 1 if outcome.failure else 0


def _kinds(text: str) -> list[str]:
    kinds = [k.strip() for k in text.split(",") if k.strip()]
    unknown = [k for k in kinds if k not in fc.KINDS]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown kinds {unknown}; the kinds are {', '.join(fc.KINDS)}")
    return kinds


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--inputs", type=int, default=100_000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--kinds", type=_kinds, default=list(fc.KINDS), help=f"among {', '.join(fc.KINDS)}")
    p.add_argument("--skip-kinds", type=_kinds, default=[])
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    p.add_argument("--seconds", type=float, default=fc.SECONDS, help="CPU seconds per input")
    p.add_argument("--memory-mb", type=int, default=fc.MEMORY_BYTES // MiB, help="memory limit per input")
    p.add_argument("--out", default="/tmp/fuzz_repro", help="where failing inputs are saved")
    p.add_argument("--keep", type=int, default=3, help="inputs saved per distinct failure")
    p.add_argument("--chunk", type=int, default=20, help="inputs sent to a worker at a time")
    p.add_argument("--progress", type=float, default=0, help="print progress to stderr every this many seconds")
    p.add_argument("--replay", type=Path, help="run one saved input here and report")
    args = p.parse_args(argv)
    if args.replay:
        return replay(args.replay)
    kinds = [k for k in args.kinds if k not in args.skip_kinds]
    summary = fuzz(args.inputs, args.seed, kinds, args.jobs, args.seconds, args.memory_mb, args.out, args.keep,
                   args.chunk, args.progress)
    print(json.dumps(summary, indent=2))
    return 1 if summary["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
