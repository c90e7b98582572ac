"""Benchmark: the full financial report over 18 months (spec batch target 5 s, report limit 30 s).

Runs :func:`analytics.finance.report.financial_report` over the whole demo span
(2025-05-01 to 2026-10-31, linear model, as-booked overhead allocation, previous period
included) several times and prints the median per configuration, with the time of
each stage (costs, attribution, bootstrap, ROI assembly; summed over the period and the
previous period) taken from the report's progress callback, then the same as JSON.

    python benchmarks/bench_roi.py --db /work/bench/demo10m.duckdb --runs 5

The warehouse is opened read-only; when ``--db`` is missing it is built first with
``build_demo(path, touchpoints=--touchpoints)``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analytics.demo.builder import build_demo  # noqa: E402
from analytics.finance.report import financial_report  # noqa: E402
from analytics.warehouse.connection import connect  # noqa: E402

START, END = date(2025, 5, 1), date(2026, 10, 31)
TARGET_S = 5.0


def timed_report(con, n_boot: int) -> tuple[float, dict[str, float], int]:
    marks: list[tuple[float, str]] = []
    started = time.perf_counter()
    report = financial_report(
        con,
        START,
        END,
        "custom",
        model="linear",
        n_boot=n_boot,
        progress=lambda fraction, message: marks.append((time.perf_counter(), message)),
    )
    total = time.perf_counter() - started
    stages: dict[str, float] = {}
    for (at, message), (after, _) in zip(marks, marks[1:]):
        stage = message.split(" ")[0].lower()
        stages[stage] = stages.get(stage, 0.0) + after - at
    return total, stages, report.by_campaign.height


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="/work/bench/demo10m.duckdb")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--touchpoints", type=int, default=10_000_000, help="size when the warehouse is built")
    parser.add_argument("--n-boot", type=int, default=50, help="bootstrap resamples of the full configuration")
    args = parser.parse_args()
    path = Path(args.db)
    if not path.exists():
        print(f"building {path} with {args.touchpoints:,} touchpoints…", flush=True)
        build_demo(path, touchpoints=args.touchpoints)
    con = connect(path, read_only=True)
    touchpoints = con.execute("select count(*) from touchpoints").fetchall()[0][0]
    results = []
    for label, n_boot in ((f"full report (bootstrap {args.n_boot})", args.n_boot), ("without bootstrap", 0)):
        timed_report(con, n_boot)  # warm-up: file pages and DuckDB caches
        runs = [timed_report(con, n_boot) for _ in range(args.runs)]
        totals = [r[0] for r in runs]
        stages = {name: statistics.median(r[1].get(name, 0.0) for r in runs) for name in runs[0][1]}
        results.append(
            {
                "configuration": label,
                "n_boot": n_boot,
                "runs": args.runs,
                "median_s": statistics.median(totals),
                "min_s": min(totals),
                "max_s": max(totals),
                "stages_median_s": stages,
                "campaign_rows": runs[0][2],
                "within_5s_target": statistics.median(totals) <= TARGET_S,
            }
        )
    con.close()
    load = os.getloadavg()[0]  # the machine may be shared: read the medians with the load in mind
    print(
        f"\nFinancial report {START} – {END} on {path} ({touchpoints:,} touchpoints), {args.runs} runs each, "
        f"{os.cpu_count()} cores, load average {load:.1f}"
    )
    print(f"{'configuration':32s} {'median s':>9s} {'min s':>7s} {'max s':>7s}  stages (median s)")
    for r in results:
        stages = ", ".join(f"{k} {v:.2f}" for k, v in r["stages_median_s"].items())
        print(f"{r['configuration']:32s} {r['median_s']:9.2f} {r['min_s']:7.2f} {r['max_s']:7.2f}  {stages}")
    print(
        json.dumps(
            {
                "benchmark": "roi_full_report_18_months",
                "db": str(path),
                "touchpoints": touchpoints,
                "cores": os.cpu_count(),
                "load_average_1m": load,
                "target_s": TARGET_S,
                "results": results,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
