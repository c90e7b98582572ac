"""A/B benchmark of the attribution engine: this checkout against another (e.g. main, before a change).

    python benchmarks/bench_engine_ab.py --db /work/bench/demo10m.duckdb --before /work/main --rounds 5

Each round starts one process per checkout (alternating which goes first), each timing every
case after one warm-up call in that process (the median of 7 calls for the fast cases, of 3 for the
slow ones): ``attribute`` of each rule-based model, all
ten models, Markov, Shapley, linear at account level (joined from the raw tables), linear by
campaign by month with 50 bootstrap replicates (what the ROI report does), ``top_paths`` and
the bare ``select channel, count(*) from touchpoints group by channel`` scan. Reported:
medians over the rounds per case and checkout, their ratio, the fastest round of each (less
sensitive to a shared machine's load), and the load average; results of
both checkouts are checked equal (the credit frames, exactly).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import json, sys, time, hashlib
import duckdb
try:
    from analytics.attribution.engine import MODELS, attribute, attribute_with_intervals, top_paths
except ImportError:  # the flat layout before the redesign
    from analytics.attribution import MODELS, attribute, attribute_with_intervals, top_paths
con = duckdb.connect(sys.argv[1], read_only=True)
REPEATS = 7  # the fast cases: the median of 7 calls in the process
SLOW = {"all ten models", "markov", "shapley", "linear, account level", "report: by campaign by month + 50 bootstrap"}
rule = [m for m in MODELS if m not in ("markov", "shapley")]
cases = {f"{m}": (lambda m=m: attribute(con, [m])) for m in rule}
cases["all ten models"] = lambda: attribute(con, list(MODELS))
cases["markov"] = lambda: attribute(con, ["markov"])
cases["shapley"] = lambda: attribute(con, ["shapley"])
cases["linear, account level"] = lambda: attribute(con, ["linear"], account_level=True)
cases["report: by campaign by month + 50 bootstrap"] = lambda: attribute_with_intervals(
    con, ["linear", "first_touch", "last_touch", "time_decay", "position_based"], ["linear"],
    by="campaign", n_boot=50, by_month=True)[0]
cases["top_paths"] = lambda: top_paths(con)
cases["baseline scan"] = lambda: con.execute("select channel, count(*) from touchpoints group by channel").fetchall()
out = {}
for name, case in cases.items():
    case()  # warm
    elapsed = []
    for _ in range(3 if name in SLOW else REPEATS):
        start = time.perf_counter()
        result = case()
        elapsed.append(time.perf_counter() - start)
    elapsed = sorted(elapsed)[len(elapsed) // 2]
    digest = hashlib.sha256(result.write_csv().encode()).hexdigest() if hasattr(result, "write_csv") else ""
    out[name] = (elapsed, digest)
print(json.dumps(out))
"""


def run(checkout: Path, db: str) -> dict:
    python = checkout / ".venv" / "bin" / "python"
    result = subprocess.run([str(python), "-c", CHILD, db], cwd=checkout, capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="/work/bench/demo10m.duckdb")
    parser.add_argument("--before", type=Path, required=True)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    sides = {"before": args.before, "after": ROOT}
    times: dict[str, dict[str, list[float]]] = {side: {} for side in sides}
    digests: dict[str, dict[str, set]] = {side: {} for side in sides}
    load = [os.getloadavg()[0]]
    for round_ in range(args.rounds):
        order = list(sides) if round_ % 2 == 0 else list(reversed(sides))
        for side in order:
            for name, (elapsed, digest) in run(sides[side], args.db).items():
                times[side].setdefault(name, []).append(elapsed)
                digests[side].setdefault(name, set()).add(digest)
        load.append(os.getloadavg()[0])
    print(f"{args.rounds} rounds, load average {min(load):.2f}-{max(load):.2f}; medians in seconds")
    print(
        f"{'case':45s} {'before':>8s} {'after':>8s} {'ratio':>7s}   {'min before':>10s} {'min after':>9s} {'ratio':>7s}  same"
    )
    for name in times["after"]:
        before, after = statistics.median(times["before"][name]), statistics.median(times["after"][name])
        low_before, low_after = min(times["before"][name]), min(times["after"][name])
        same = digests["before"][name] == digests["after"][name]
        print(
            f"{name:45s} {before:8.3f} {after:8.3f} {after / before:6.2f}x   {low_before:10.3f} {low_after:9.3f} "
            f"{low_after / low_before:6.2f}x  {'yes' if same else 'NO'}"
        )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
