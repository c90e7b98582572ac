"""Benchmark: budget reallocation (issue targets: fit and optimize 20 channels × 78 weeks in ≤ 2 s;
the Budget page reruns after a bound edit in ≤ 200 ms).

1. **Fit and optimize, 20 × 78**: synthetic weekly spend and revenue for 20 channels over 78
   weeks (Hill responses with noise), then :func:`~analytics.finance.reallocation.plan.fit_curves`
   (scipy fit, 100 bootstrap refits per channel) and
   :func:`~analytics.finance.reallocation.plan.advise` (the optimum, the interval, the timeline),
   with and without adstock.
2. **Re-optimize after a bound edit**: ``advise`` alone over the fitted curves, with a new bound.
3. **Page rerun after a bound edit**: an AppTest of the Budget page on ``--db`` (curves cached by
   the first run), timing ``run()`` after the "Largest change per channel" slider moves (it
   rewrites every channel's bounds) — the whole page script, consumption table included; beside
   it, the Overview page's rerun in the same process as a baseline for the machine's load.
4. **End to end on --db**: :func:`~analytics.finance.reallocation.plan.reallocate` (SQL inputs,
   attribution by week, fits, optimum, backtest).

Medians of ``--runs`` runs, with the load average.

    python benchmarks/bench_reallocate.py --db /work/bench/demo10m.duckdb --runs 5
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import polars as pl  # noqa: E402

from analytics.finance.reallocation.curves import geometric_adstock, hill  # noqa: E402
from analytics.finance.reallocation.inputs import ChannelInputs  # noqa: E402
from analytics.finance.reallocation.plan import ChannelBounds, advise, analysis_period, fit_curves, reallocate  # noqa: E402
from analytics.warehouse.connection import connect  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def synthetic_inputs(channels: int = 20, weeks: int = 78, seed: int = 0, adstock: bool = False) -> ChannelInputs:
    rng = np.random.default_rng(seed)
    mondays = [date(2025, 5, 5) + timedelta(weeks=k) for k in range(weeks)]
    frames = []
    for c in range(channels):
        spend = rng.uniform(2_000, 60_000, weeks)
        carried = geometric_adstock(spend, 0.4) if adstock else spend
        beta, alpha, kappa = rng.uniform(1e5, 2e6), rng.uniform(0.6, 2.0), rng.uniform(1e4, 5e4)
        revenue = hill(carried, beta, alpha, kappa) * rng.lognormal(0, 0.15, weeks)
        frames.append(
            pl.DataFrame(
                {"channel": f"channel_{c:02d}", "week": mondays, "spend": spend, "attributed_revenue": revenue}
            )
        )
    weekly = pl.concat(frames).with_columns(
        pl.lit(1.0).alias("attributed_conversions"), pl.lit(1.0).alias("completeness"), pl.lit(True).alias("mature")
    )
    names = sorted(set(weekly["channel"]))
    return ChannelInputs(
        mondays, weekly, names, {}, {}, {}, {}, dict.fromkeys(names, 3.0), {}, "linear", 0.75, mondays[-1]
    )


def median_of(runs: int, func, cpu: list | None = None) -> tuple[float, object]:
    """Median wall seconds of ``runs`` calls; with ``cpu``, the median CPU seconds is appended to it
    (on a shared machine, wall time over CPU time shows how much the load took)."""
    times, cpu_times, result = [], [], None
    for _ in range(runs):
        started, started_cpu = time.perf_counter(), time.process_time()
        result = func()
        times.append(time.perf_counter() - started)
        cpu_times.append(time.process_time() - started_cpu)
    if cpu is not None:
        cpu.append(statistics.median(cpu_times))
    return statistics.median(times), result


def page_rerun(db: str, runs: int) -> tuple[float, float]:
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.testing.v1 import AppTest

    original = PagesManager.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    PagesManager.__init__ = init
    os.environ["REVLENS_DB"] = db
    os.environ.setdefault("REVLENS_OPS_URL", "sqlite:////tmp/bench_reallocate_ops.sqlite")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600)
    at.run()
    at.switch_page("pages/finance/budget.py").run()
    assert not at.exception, [e.value for e in at.exception]
    times = []
    for k in range(runs + 1):
        slider = at.slider(key="budget_max_shift")
        started = time.perf_counter()
        slider.set_value(0.2 if k % 2 else 0.35).run()
        times.append(time.perf_counter() - started)
        assert not at.exception and not at.error
    edit = statistics.median(times[1:])  # the first also warms the consumption cache
    # baseline in the same process and load: the Overview page rerun with nothing changed
    at.switch_page("pages/marketing/overview.py").run()
    baseline = []
    for _ in range(runs):
        started = time.perf_counter()
        at.run()
        baseline.append(time.perf_counter() - started)
    return edit, statistics.median(baseline)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="a demo warehouse for the page and end-to-end runs (read-only)")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    figures = {"load_average": os.getloadavg()}
    for adstock in (False, True):
        inputs = synthetic_inputs(adstock=adstock)

        def fit_and_optimize(inputs=inputs, adstock=adstock):
            curves = fit_curves(inputs, 13, adstock=adstock, n_boot=100)
            return curves, advise(inputs, curves)

        cpu: list[float] = []
        seconds, (curves, _) = median_of(args.runs, fit_and_optimize, cpu)
        name = "fit_optimize_20x78" + ("_adstock" if adstock else "")
        figures[name] = seconds
        figures[name + "_cpu"] = cpu[0]
        print(f"{name}: {seconds:.3f} s, {cpu[0]:.3f} CPU-s (target ≤ 2 s)", flush=True)
        if not adstock:
            edited = {"channel_03": ChannelBounds(minimum=1000.0, maximum=400_000.0)}
            seconds, _ = median_of(
                args.runs, lambda i=inputs, c=curves, e=edited: advise(i, c, bounds=e, max_shift=0.25)
            )
            figures["reoptimize_after_bound_edit_20"] = seconds
            print(f"reoptimize_after_bound_edit_20: {seconds * 1000:.0f} ms", flush=True)
    if args.db:
        seconds, baseline = page_rerun(args.db, args.runs)
        figures["page_rerun_after_bound_edit"] = seconds
        figures["overview_rerun_baseline"] = baseline
        print(
            f"page_rerun_after_bound_edit: {seconds * 1000:.0f} ms (target ≤ 200 ms); "
            f"Overview rerun, same process: {baseline * 1000:.0f} ms",
            flush=True,
        )
        con = connect(args.db, read_only=True)
        start, end = analysis_period(con)
        seconds, result = median_of(max(1, args.runs // 2), lambda: reallocate(con, start, end))
        con.close()
        figures["reallocate_end_to_end"] = seconds
        figures["backtest_mape"] = result.backtest["mape"]
        if result.backtest.get("planted"):
            figures["planted_regret_percent"] = result.backtest["planted"]["regret_percent"]
        print(f"reallocate_end_to_end: {seconds:.3f} s on {args.db}", flush=True)
    figures["load_average_after"] = os.getloadavg()
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
