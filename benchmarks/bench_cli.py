"""Benchmark: the attribution CLI as a whole process against a bare DuckDB process, and ``--help``.

    python benchmarks/bench_cli.py [--db /work/bench/demo10m.duckdb] [--runs 7] [--code CHECKOUT]

- *CLI*: ``python -m analytics attribution --model linear --by channel --format json --db DB``.
- *Baseline*: ``python -c`` that imports duckdb, opens DB read-only and runs
  ``select channel, count(*) from touchpoints group by channel``.
- *Help*: ``python -m analytics --help``.

Each run starts a new process (wall time from ``subprocess.run``); the three are interleaved
run by run, so a change in the machine's load hits them alike. Reported: the medians of
``--runs`` runs (at least 5), the ratio CLI / baseline (goal ≤ 2×) and help (goal < 0.3 s),
with the load average before and after. ``--code`` times another checkout's CLI (e.g. the
code before a change) on the same warehouse.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BASELINE = (
    "import duckdb\n"
    "con = duckdb.connect({db!r}, read_only=True)\n"
    "print(con.execute('select channel, count(*) from touchpoints group by channel').fetchall())\n"
)


def timed(command: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="/work/bench/demo10m.duckdb")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--code", type=Path, default=ROOT, help="checkout whose CLI is timed")
    args = parser.parse_args()
    runs = max(5, args.runs)
    python = sys.executable
    cli = [python, "-m", "analytics", "attribution", "--model", "linear", "--by", "channel", "--format", "json"]
    commands = {
        "cli": cli + ["--db", args.db],
        "baseline": [python, "-c", BASELINE.format(db=args.db)],
        "help": [python, "-m", "analytics", "--help"],
    }
    for command in commands.values():  # warm the page cache and the bytecode
        timed(command, args.code)
    load_before = os.getloadavg()
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, command in commands.items():
            times[name].append(timed(command, args.code))
    load_after = os.getloadavg()
    median = {name: statistics.median(values) for name, values in times.items()}
    print(f"checkout {args.code}, warehouse {args.db}, {runs} interleaved runs")
    print(f"load average before {load_before[0]:.2f} / after {load_after[0]:.2f} (1 min)")
    for name, value in median.items():
        spread = ", ".join(f"{v:.3f}" for v in sorted(times[name]))
        print(f"{name:9s} median {value:.3f} s  ({spread})")
    print(f"cli / baseline = {median['cli'] / median['baseline']:.2f}x (goal <= 2x)")
    print(f"help = {median['help']:.3f} s (goal < 0.3 s)")


if __name__ == "__main__":
    main()
