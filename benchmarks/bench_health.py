"""Benchmark: customer health (issue 14): scores at scale, the weekly history, the churn model, the page.

    python benchmarks/bench_health.py [--db PATH] [--scaled-db PATH] [--runs 5] [--skip-page]
                                      [--refresh-db /work/bench/demo10m.duckdb --refresh-runs 3]

Four measures, each the median of ``--runs`` runs (the page: of 9 reruns), with the load
average (``os.getloadavg()``) before and after:

1. **Scores for 100,000 accounts** (goal ≤ 1 s): :func:`analytics.customers.health.health_scores`
   (six components, coverage, score, band and the 30-day trend, so two as-of dates) on the
   demo scaled to 10M touchpoints (100,000 accounts, 78,000 paying), ``--scaled-db``, built
   there when missing (``build_demo(touchpoints=10_000_000)``, a few minutes) and refreshed
   when an older RevLens built it. Twice: as of the data's last day (the default of the page,
   the CLI and the jobs: read from ``_health_current``, which every load builds), and a week
   earlier (``live_other_date``: computed from the windows, as for any other date).
2. **Weekly history for 5,000 accounts over 78 weeks** (goal ≤ 5 s): the history table built
   (``create or replace table _health_history as …``) for 78 weekly as-of dates ending on the
   data's last day, on a copy of the default demo (``--db``; 5,000 accounts, about 3,900
   paying, so about 270,000 account-weeks).
3. **Churn training and evaluation** (goal ≤ 10 s): :func:`analytics.customers.churn.churn_analysis`
   on the default demo: monthly snapshots in SQL, fit, calibration, the model card, the
   drivers' strength, predictions for every account.
4. **Health page rerun** (goal ≤ 200 ms): an AppTest of ``app.py`` on the Health page, warmed
   up (every analytics call cached), then timed reruns after a change of the list's sort
   order. Streamlit's server compiles a page once (its script cache); AppTest makes a new
   cache on every run, so a rerun there also re-parses the page: the figure is given both
   ways (``with_script_cache``: the server's behaviour, the goal's measure; ``recompiled``: AppTest's).
5. **Refresh of a large warehouse** (with ``--refresh-db``; goal for the health part ≤ 25 s and
   ≤ 3 GB on 10M touchpoints): ``python -m analytics refresh`` on a copy of it in ``--tmp``
   (every derived table: journeys, the health history and its marketing days, the lead
   features), in a child process, with its wall and CPU seconds and peak RSS; and the health
   history alone (:func:`analytics.customers.health.build_history`) in another child, the same.
6. **The history's two forms** (with ``--history-forms``, on a copy of ``--refresh-db``): where the
   history's time goes (the marketing days, then each statement of as-of dates, with its CPU
   seconds), and one statement's measures (the last :func:`~analytics.customers.health.history_chunk_dates`
   weekly dates) by the product's range join and by prefix sums over the weekly grid
   (``tests/customers/prefix_sums.py``), each in a child process (wall, CPU, peak RSS), after a
   check that both give the same rows there.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from apptest_pages import open_page, timed_reruns  # noqa: E402 (this folder is the script's sys.path[0])

from analytics.customers import churn, health  # noqa: E402
from analytics.customers.config import SPEC_CONFIG  # noqa: E402
from analytics.demo.builder import build_demo  # noqa: E402
from analytics.warehouse.connection import connect  # noqa: E402

CPU_TIMES: list[float] = []  # CPU seconds of the process (every thread) per timed run, beside the wall times


def timed(func, runs: int) -> tuple[float, list[float], object]:
    times, result = [], None
    CPU_TIMES.clear()
    for _ in range(runs):
        started, cpu = time.perf_counter(), time.process_time()
        result = func()
        times.append(time.perf_counter() - started)
        CPU_TIMES.append(time.process_time() - cpu)
    return statistics.median(times), times, result


def scores_at_scale(path: str, runs: int) -> dict:
    if not Path(path).exists():
        print(f"building the scaled demo (10M touchpoints, 100,000 accounts) at {path}", file=sys.stderr)
        build_demo(path, touchpoints=10_000_000)
    con = connect(path, read_only=True)
    stale = not health.history_current(con)
    con.close()
    if stale:  # built by an older RevLens: bring its derived tables to this one, as a load would
        print(f"refreshing the derived tables of {path} (built by an older RevLens)", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "analytics", "refresh", "--db", path], check=True, cwd=ROOT)
    con = connect(path, read_only=True)
    try:
        accounts = con.execute("select count(*), count(*) filter (where arr > 0) from accounts").fetchall()[0]
        last = health.data_range(con)[1]
        health.health_scores(con)  # warm the file cache
        median, times, frame = timed(lambda: health.health_scores(con), runs)
        cpu = statistics.median(CPU_TIMES)
        # any other as-of date is computed from the windows (a week before the last day)
        live_median, live_times, live = timed(lambda: health.health_scores(con, last - timedelta(days=7)), runs)
        live_cpu = statistics.median(CPU_TIMES)
    finally:
        con.close()
    return {
        "median_s": round(median, 3),
        "median_cpu_s": round(cpu, 3),
        "runs_s": [round(t, 3) for t in times],
        "live_other_date_median_s": round(live_median, 3),
        "live_other_date_median_cpu_s": round(live_cpu, 3),
        "live_other_date_runs_s": [round(t, 3) for t in live_times],
        "accounts": accounts[0],
        "paying_accounts": accounts[1],
        "scored": frame.height,
        "scored_live": live.height,
        "goal_s": 1.0,
    }


def weekly_history(path: str, runs: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "history.duckdb"
        shutil.copy(path, copy)
        con = connect(copy)
        try:
            last = health.data_range(con)[1]
            dates = [last - timedelta(days=7 * k) for k in range(78)]
            median, times, _ = timed(lambda: health.build_history(con, dates), runs)
            cpu = statistics.median(CPU_TIMES)
            rows, accounts = con.execute(
                f"select count(*), count(distinct account_id) from {health.HISTORY_TABLE}"
            ).fetchall()[0]
        finally:
            con.close()
    return {
        "median_s": round(median, 3),
        "median_cpu_s": round(cpu, 3),
        "runs_s": [round(t, 3) for t in times],
        "weeks": 78,
        "account_weeks": rows,
        "accounts": accounts,
        "goal_s": 5.0,
    }


def churn_training(path: str, runs: int) -> dict:
    con = connect(path, read_only=True)
    try:
        median, times, analysis = timed(lambda: churn.churn_analysis(con, config=SPEC_CONFIG), runs)
    finally:
        con.close()
    return {
        "median_s": round(median, 3),
        "runs_s": [round(t, 3) for t in times],
        "roc_auc": round(analysis.card["test"]["roc_auc"], 3),
        "train_rows": analysis.card["train_rows"],
        "goal_s": 10.0,
    }


def page_rerun(path: str, reruns: int = 9) -> dict:
    results = {}
    sorts = ["overall_score", "churn_probability", "arr", "health_trend", "arr_at_risk"]
    for mode in ("recompiled", "with_script_cache"):
        at, _ = open_page(path, "pages/customer_success/health.py", script_cache=mode == "with_script_cache")
        at.selectbox(key="health_sort").set_value(sorts[0]).run()  # warm every cached call
        times = timed_reruns(at, lambda at, k: at.selectbox(key="health_sort").set_value(sorts[k % len(sorts)]), reruns)
        results[mode] = {
            "median_ms": round(1000 * statistics.median(times), 1),
            "runs_ms": [round(1000 * t, 1) for t in times],
        }
    results["goal_ms"] = 200
    return results


_HISTORY_CHILD = """
import resource, sys, time
from analytics.customers import health
from analytics.warehouse.connection import connect
con = connect(sys.argv[1])
started = time.perf_counter()
con.execute("begin transaction")
health.build_history(con)
con.execute("commit")
print(time.perf_counter() - started)
"""


_PARTS_CHILD = """
import json, sys, time
from analytics.customers import health
from analytics.warehouse.connection import connect
con = connect(sys.argv[1])
parts, run_statement = [], health.execute
def timed(con, statement, params=None):
    started, cpu = time.perf_counter(), time.process_time()
    run_statement(con, statement, params)
    name = "marketing_days" if health.MARKETING_DAYS_TABLE in statement.split(" as ")[0] else "history_statement"
    parts.append({"part": name, "wall_s": round(time.perf_counter() - started, 2), "cpu_s": round(time.process_time() - cpu, 2)})
health.execute = timed
con.execute("begin transaction")
health.build_history(con)
con.execute("commit")
print("RESULT", json.dumps(parts))  # after any progress bar the engine prints
"""

# One history statement's measures (the last chunk of weekly dates) by one form; "check": both, compared.
_FORMS_CHILD = """
import sys
from analytics.customers import health
from analytics.customers.config import SPEC_CONFIG
from analytics.customers.features import MEASURES
from analytics.warehouse.connection import connect
from analytics.warehouse.runner import execute, run
from tests.customers.prefix_sums import grid_params, prefix_sum_sql
con = connect(sys.argv[1])
dates = health.history_dates(con)[-health.history_chunk_dates(con):]
params = {**health._params(con, SPEC_CONFIG), **grid_params(dates)}
forms = {"range": MEASURES[True].sql, "prefix": prefix_sum_sql(True)}
if sys.argv[2] == "check":
    range_rows, prefix_rows = (run(con, forms[name], params) for name in ("range", "prefix"))
    assert range_rows.height > 0 and range_rows.equals(prefix_rows), "the two forms differ"
    print("RESULT", range_rows.height, len(dates))
else:
    import resource
    execute(con, f"create temp table measures_out as {forms[sys.argv[2]]}", params)
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6)  # this child's own peak RSS, GB
"""


def history_forms(path: str, runs: int, tmp: str) -> dict:
    """Where the history's time goes, and one statement's measures by the range join and by prefix sums."""
    import subprocess

    copy = Path(tmp) / "bench_health_forms.duckdb"
    shutil.copy(path, copy)
    try:
        parts = subprocess.run(
            [sys.executable, "-c", _PARTS_CHILD, str(copy)], check=True, cwd=ROOT, capture_output=True, text=True
        )
        check = subprocess.run(
            [sys.executable, "-c", _FORMS_CHILD, str(copy), "check"],
            check=True,
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        rows, dates = (int(x) for x in check.stdout.rsplit("RESULT", 1)[1].split())
        forms: dict = {"range": [], "prefix": []}
        for _ in range(runs):
            for name in forms:  # alternated, so both see the same load
                forms[name].append(_child([sys.executable, "-c", _FORMS_CHILD, str(copy), name], own_rss=True))
    finally:
        copy.unlink(missing_ok=True)
    build = json.loads(parts.stdout.rsplit("RESULT", 1)[1])
    return {
        "build_history_parts": build,
        "marketing_days_cpu_s": sum(p["cpu_s"] for p in build if p["part"] == "marketing_days"),
        "history_statements_cpu_s": round(sum(p["cpu_s"] for p in build if p["part"] != "marketing_days"), 2),
        "one_statement": {"as_of_dates": dates, "rows": rows, "same_rows": True},
        **{
            f"measures_by_{name}": {
                "median_wall_s": statistics.median(r["wall_s"] for r in results),
                "median_cpu_s": statistics.median(r["cpu_s"] for r in results),
                "peak_rss_gb": max(r["peak_rss_gb"] for r in results),
                "runs": results,
            }
            for name, results in forms.items()
        },
    }


def _child(args: list[str], own_rss: bool = False) -> dict:
    """Run a child process; its wall seconds, CPU seconds (user + system) and peak RSS (``own_rss``: the
    one the child prints, its own; else the largest of every child so far)."""
    import resource
    import subprocess

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(args, check=True, cwd=ROOT, stdout=subprocess.PIPE if own_rss else subprocess.DEVNULL)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    # ru_maxrss of the children is the largest of every child so far (the overall peak is what the goal reads)
    rss = float(done.stdout.split()[-1]) if own_rss else after.ru_maxrss / 1e6
    return {"wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "peak_rss_gb": round(rss, 2)}


def refresh_large(path: str, runs: int, tmp: str) -> dict:
    """``refresh`` and the health history alone on a copy of ``path`` (never written itself)."""
    copy = Path(tmp) / "bench_health_refresh.duckdb"
    results: dict = {"refresh": [], "health_history": []}
    try:
        for _ in range(runs):
            shutil.copy(path, copy)
            results["refresh"].append(_child([sys.executable, "-m", "analytics", "refresh", "--db", str(copy)]))
            results["health_history"].append(_child([sys.executable, "-c", _HISTORY_CHILD, str(copy)]))
    finally:
        copy.unlink(missing_ok=True)
    for name in ("refresh", "health_history"):
        runs_of = results[name]
        results[name] = {
            "median_wall_s": statistics.median(r["wall_s"] for r in runs_of),
            "median_cpu_s": statistics.median(r["cpu_s"] for r in runs_of),
            "runs": runs_of,
        }
    results["peak_rss_gb_any_child"] = max(
        r["peak_rss_gb"] for n in ("refresh", "health_history") for r in results[n]["runs"]
    )
    results["goal"] = {"health_history_s": 25, "peak_rss_gb": 3}
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=str(ROOT / "benchmarks" / "out" / "demo.duckdb"), help="the default demo")
    parser.add_argument("--scaled-db", default="/tmp/revlens_bench/demo10m_health.duckdb", help="the 10M demo")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--skip-page", action="store_true")
    parser.add_argument("--refresh-db", help="a large warehouse to refresh a copy of (e.g. /work/bench/demo10m.duckdb)")
    parser.add_argument("--refresh-runs", type=int, default=3)
    parser.add_argument("--tmp", default="/tmp", help="where the copy of --refresh-db is written")
    parser.add_argument("--only-refresh", action="store_true", help="only the refresh measure")
    parser.add_argument(
        "--history-forms", action="store_true", help="only the history's parts and its two forms (on --refresh-db)"
    )
    args = parser.parse_args()
    if args.history_forms:
        if not args.refresh_db:
            parser.error("--history-forms needs --refresh-db")
        load_before = os.getloadavg()
        result = {"history_forms": history_forms(args.refresh_db, args.refresh_runs, args.tmp)}
        result["load_average"] = {"before": [round(x, 2) for x in load_before], "after": list(os.getloadavg())}
        print(json.dumps(result))
        return
    if args.only_refresh and not args.refresh_db:
        parser.error("--only-refresh needs --refresh-db")
    if not args.only_refresh and not Path(args.db).exists():
        print(f"building the default demo warehouse at {args.db}", file=sys.stderr)
        build_demo(args.db)
    load_before = os.getloadavg()
    if args.only_refresh:
        result = {"refresh_large": refresh_large(args.refresh_db, args.refresh_runs, args.tmp)}
        result["load_average"] = {"before": [round(x, 2) for x in load_before], "after": list(os.getloadavg())}
        print(json.dumps(result))
        return
    result = {
        "scores_100k_accounts": scores_at_scale(args.scaled_db, args.runs),
        "weekly_history_5000_accounts_78_weeks": weekly_history(args.db, args.runs),
        "churn_training_and_evaluation": churn_training(args.db, max(3, args.runs // 2)),
    }
    if args.refresh_db:
        result["refresh_large"] = refresh_large(args.refresh_db, args.refresh_runs, args.tmp)
    if not args.skip_page:
        result["health_page_rerun"] = page_rerun(args.db)
    result["load_average"] = {
        "before": [round(x, 2) for x in load_before],
        "after": [round(x, 2) for x in os.getloadavg()],
    }
    print(f"{'measure':48} {'median':>10} {'goal':>8}")
    for name, unit in (
        ("scores_100k_accounts", "s"),
        ("weekly_history_5000_accounts_78_weeks", "s"),
        ("churn_training_and_evaluation", "s"),
    ):
        print(f"{name:48} {result[name]['median_s']:>9}{unit} {result[name]['goal_s']:>7}{unit}")
        if name == "scores_100k_accounts":
            print(f"{'  … live, as of a week earlier':48} {result[name]['live_other_date_median_s']:>9}{unit}")
    if "health_page_rerun" in result:
        page = result["health_page_rerun"]
        print(
            f"{'health_page_rerun (server script cache)':48} {page['with_script_cache']['median_ms']:>8}ms {200:>6}ms"
        )
        print(f"{'health_page_rerun (AppTest, recompiled)':48} {page['recompiled']['median_ms']:>8}ms")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
