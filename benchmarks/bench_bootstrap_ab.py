"""The ROI report's bootstrap on DuckDB: the Poisson bootstrap made in SQL against the per-journey
numpy bootstrap it replaced, in one process, alternating.

    python benchmarks/bench_bootstrap_ab.py --db /work/bench/demo10m.duckdb --runs 3

The earlier module is read from git (``--before``, default 419ad1f, the last commit with it) and
swapped in for ``analytics.attribution.bootstrap``; everything else is today's code. Prints the
median seconds of ``financial_report`` over the demo's 18 months (linear, 50 replicates) for each,
their ratio and the load average.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import analytics.attribution.bootstrap as sql_bootstrap  # noqa: E402
from analytics.finance.report import financial_report  # noqa: E402
from analytics.warehouse.connection import connect  # noqa: E402


def earlier_module(commit: str):
    source = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{commit}:analytics/attribution/bootstrap.py"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    path = Path(tempfile.mkdtemp()) / "bootstrap_before.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("bootstrap_before", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default="/work/bench/demo10m.duckdb")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--n-boot", type=int, default=50)
    parser.add_argument("--before", default="419ad1f")
    args = parser.parse_args()
    modules = {"numpy (before)": earlier_module(args.before), "SQL (now)": sql_bootstrap}
    con = connect(args.db, read_only=True)
    times: dict[str, list[float]] = {name: [] for name in modules}
    for _ in range(args.runs):
        for name, module in modules.items():
            sys.modules["analytics.attribution.bootstrap"] = module
            started = time.perf_counter()
            financial_report(con, date(2025, 5, 1), date(2026, 10, 31), "custom", model="linear", n_boot=args.n_boot)
            times[name].append(time.perf_counter() - started)
    sys.modules["analytics.attribution.bootstrap"] = sql_bootstrap
    con.close()
    medians = {name: statistics.median(values) for name, values in times.items()}
    result = {
        "median_s": medians,
        "runs_s": times,
        "ratio_now_over_before": medians["SQL (now)"] / medians["numpy (before)"],
        "load_average": os.getloadavg(),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
