"""Benchmark of the Markov solve on large chains and of the bootstrap intervals.

Times, medians of ``--runs`` runs each, on one warehouse:

1. ``attribute(con, ["markov"], by=campaign, order=k)`` for k = 2 and 3 (chains of about
   a thousand and twenty thousand states on the default demo), with the chain's size;
2. ``bootstrap_intervals(con, MODELS, n_boot=100)`` by channel, every model's intervals.

``--code DIR`` imports ``analytics`` from another checkout (e.g. a worktree of an earlier
revision) to time that revision on the same warehouse:

    python benchmarks/bench_markov_bootstrap.py --db data/warehouse.duckdb
    git worktree add /tmp/before 3aedb7c
    python benchmarks/bench_markov_bootstrap.py --db data/warehouse.duckdb --code /tmp/before --runs 1
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=Path("data/warehouse.duckdb"))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--orders", default="2,3", help="Markov orders to time by campaign")
    parser.add_argument(
        "--code",
        type=Path,
        default=Path(__file__).resolve().parent.parent,
        help="checkout whose analytics package is timed (default: this one)",
    )
    args = parser.parse_args()
    sys.path.insert(0, str(args.code.resolve()))
    from analytics.attribution.engine import MODELS, attribute, bootstrap_intervals
    from analytics.warehouse.connection import connect

    con = connect(args.db, read_only=True)
    touchpoints = con.execute("select count(*) from touchpoints").fetchall()[0][0]
    result: dict = {
        "db": str(args.db),
        "code": str(args.code),
        "touchpoints": touchpoints,
        "runs": args.runs,
        "load_average_at_start": os.getloadavg(),
        "markov_by_campaign_s": {},
    }
    print(f"{args.db} ({touchpoints:,} touchpoints), analytics from {args.code}, {args.runs} runs", flush=True)

    def median_seconds(call) -> float:
        times = []
        for _ in range(args.runs):
            started = time.perf_counter()
            call()
            times.append(time.perf_counter() - started)
        return statistics.median(times)

    for order in (int(k) for k in args.orders.split(",")):
        seconds = median_seconds(lambda order=order: attribute(con, ["markov"], by="campaign", order=order))
        result["markov_by_campaign_s"][order] = seconds
        print(f"markov by campaign, order {order}: {seconds:.2f} s", flush=True)
    seconds = median_seconds(lambda: bootstrap_intervals(con, MODELS, n_boot=100))
    result["bootstrap_all_models_100_s"] = seconds
    print(f"bootstrap intervals, all ten models by channel, 100 replicates: {seconds:.2f} s", flush=True)
    con.close()
    result["load_average_at_end"] = os.getloadavg()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
