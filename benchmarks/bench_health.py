"""Benchmark: customer health (issue 14): scores at scale, the weekly history, the churn model, the page.

    python benchmarks/bench_health.py [--db PATH] [--scaled-db PATH] [--runs 5] [--skip-page]

Four measures, each the median of ``--runs`` runs (the page: of 9 reruns), with the load
average (``os.getloadavg()``) before and after:

1. **Scores for 100,000 accounts** (goal ≤ 1 s): :func:`analytics.customers.health.health_scores`
   (six components, coverage, score, band and the 30-day trend, so two as-of dates) on the
   demo scaled to 10M touchpoints (100,000 accounts, 78,000 paying), ``--scaled-db``, built
   there when missing (``build_demo(touchpoints=10_000_000)``, a few minutes).
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
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from analytics.customers import churn, health  # noqa: E402
from analytics.customers.config import SPEC_CONFIG  # noqa: E402
from analytics.demo.builder import build_demo  # noqa: E402
from analytics.warehouse.connection import connect  # noqa: E402


def timed(func, runs: int) -> tuple[float, list[float], object]:
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = func()
        times.append(time.perf_counter() - started)
    return statistics.median(times), times, result


def scores_at_scale(path: str, runs: int) -> dict:
    if not Path(path).exists():
        print(f"building the scaled demo (10M touchpoints, 100,000 accounts) at {path}", file=sys.stderr)
        build_demo(path, touchpoints=10_000_000)
    con = connect(path, read_only=True)
    try:
        accounts = con.execute("select count(*), count(*) filter (where arr > 0) from accounts").fetchall()[0]
        health.health_scores(con)  # warm the file cache
        median, times, frame = timed(lambda: health.health_scores(con), runs)
    finally:
        con.close()
    return {
        "median_s": round(median, 3),
        "runs_s": [round(t, 3) for t in times],
        "accounts": accounts[0],
        "paying_accounts": accounts[1],
        "scored": frame.height,
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
            rows, accounts = con.execute(
                f"select count(*), count(distinct account_id) from {health.HISTORY_TABLE}"
            ).fetchall()[0]
        finally:
            con.close()
    return {
        "median_s": round(median, 3),
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
    from streamlit.runtime.scriptrunner import script_runner
    from streamlit.runtime.scriptrunner.script_cache import ScriptCache
    from streamlit.testing.v1 import AppTest, app_test, local_script_runner

    script_runner.PagesManager = SimpleNamespace(uses_pages_directory=False)  # see tests/conftest.py
    os.environ["REVLENS_DB"] = path
    os.environ.setdefault("REVLENS_OPS_URL", f"sqlite:///{Path(tempfile.mkdtemp()) / 'ops.sqlite'}")
    results = {}
    for mode in ("recompiled", "with_script_cache"):
        if mode == "with_script_cache":  # one cache for every run, as the server has
            shared = ScriptCache()
            app_test.ScriptCache = local_script_runner.ScriptCache = lambda cache=shared: cache
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600).run()
        at.switch_page("pages/customer_success/health.py").run()
        assert not at.exception, at.exception
        sorts = ["overall_score", "churn_probability", "arr", "health_trend", "arr_at_risk"]
        at.selectbox(key="health_sort").set_value(sorts[0]).run()  # warm every cached call
        times = []
        for k in range(reruns):
            at.selectbox(key="health_sort").set_value(sorts[k % len(sorts)])
            started = time.perf_counter()
            at.run()
            times.append(time.perf_counter() - started)
            assert not at.exception, at.exception
        results[mode] = {
            "median_ms": round(1000 * statistics.median(times), 1),
            "runs_ms": [round(1000 * t, 1) for t in times],
        }
    results["goal_ms"] = 200
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=str(ROOT / "benchmarks" / "out" / "demo.duckdb"), help="the default demo")
    parser.add_argument("--scaled-db", default="/tmp/revlens_bench/demo10m_health.duckdb", help="the 10M demo")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--skip-page", action="store_true")
    args = parser.parse_args()
    if not Path(args.db).exists():
        print(f"building the default demo warehouse at {args.db}", file=sys.stderr)
        build_demo(args.db)
    load_before = os.getloadavg()
    result = {
        "scores_100k_accounts": scores_at_scale(args.scaled_db, args.runs),
        "weekly_history_5000_accounts_78_weeks": weekly_history(args.db, args.runs),
        "churn_training_and_evaluation": churn_training(args.db, max(3, args.runs // 2)),
    }
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
    if "health_page_rerun" in result:
        page = result["health_page_rerun"]
        print(
            f"{'health_page_rerun (server script cache)':48} {page['with_script_cache']['median_ms']:>8}ms {200:>6}ms"
        )
        print(f"{'health_page_rerun (AppTest, recompiled)':48} {page['recompiled']['median_ms']:>8}ms")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
