"""A/B benchmark of the rule-based models: another revision's attribution engine against this one.

Times ``attribute(con, [model])`` of each rule-based model with both engines, interleaved in
one process (the order alternates each run), next to the bare
``select channel, count(*) from touchpoints group by channel`` scan, so that both see the same
load on a shared machine. ``--baseline-module`` is the other revision's
``analytics/attribution.py`` (e.g. from a worktree of ``main``, or
``git show REV:analytics/attribution.py > /tmp/attribution_rev.py``); it is loaded under
another name and uses this checkout's other modules. Checks that both give identical results.
Prints a table of medians and the JSON.

    python benchmarks/bench_attribution_ab.py --db /work/bench/demo10m.duckdb \
        --baseline-module /work/main/analytics/attribution.py --runs 5
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analytics.attribution import engine as attribution  # noqa: E402
from analytics.warehouse.connection import connect  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_attribution import BASELINE_SQL, ensure_warehouse, timed  # noqa: E402


def load_module(path: Path):
    spec = importlib.util.spec_from_file_location("baseline_attribution", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=Path("/work/bench/demo10m.duckdb"))
    parser.add_argument("--touchpoints", type=int, default=10_000_000, help="size when building a missing --db")
    parser.add_argument("--baseline-module", type=Path, required=True, help="the other revision's attribution.py")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    ensure_warehouse(args.db, args.touchpoints)
    engines = {"baseline": load_module(args.baseline_module), "this": attribution}
    con = connect(args.db, read_only=True)
    load_at_start = os.getloadavg()
    times = {m: {name: [] for name in engines} for m in attribution.RULE_MODELS}
    ratios = {m: {name: [] for name in engines} for m in attribution.RULE_MODELS}
    for run in range(args.runs):
        order = list(engines) if run % 2 == 0 else list(engines)[::-1]
        for model in attribution.RULE_MODELS:
            scan, _ = timed(lambda: con.execute(BASELINE_SQL).fetchall())
            results = {}
            for name in order:
                seconds, results[name] = timed(engines[name].attribute, con, [model])
                times[model][name].append(seconds)
                ratios[model][name].append(seconds / scan)
            if not results["baseline"].equals(results["this"]):
                raise SystemExit(f"{model}: the two engines disagree")
        print(f"  run {run + 1}/{args.runs} done", flush=True)
    con.close()
    result = {
        "db": str(args.db),
        "runs": args.runs,
        "cpus": os.cpu_count(),
        "baseline_module": str(args.baseline_module),
        "load_average_at_start": load_at_start,
        "load_average_at_end": os.getloadavg(),
        "models": {
            m: {
                name: {
                    "median_s": statistics.median(times[m][name]),
                    "median_ratio_to_scan": statistics.median(ratios[m][name]),
                    "runs_s": times[m][name],
                }
                for name in engines
            }
            for m in times
        },
    }
    print(f"\n{'model':<18}{'baseline s':>11}{'× scan':>8}{'this s':>9}{'× scan':>8}")
    for model, figures in result["models"].items():
        base, this = figures["baseline"], figures["this"]
        print(
            f"{model:<18}{base['median_s']:>11.2f}{base['median_ratio_to_scan']:>8.1f}"
            f"{this['median_s']:>9.2f}{this['median_ratio_to_scan']:>8.1f}"
        )
    print(f"load average at start / end: {result['load_average_at_start']} / {result['load_average_at_end']}")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
