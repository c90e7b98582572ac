"""Benchmark: feature adoption and customer feedback (issue 15): metrics, feedback analysis, the pages, the load.

    python benchmarks/bench_adoption.py [--db PATH] [--runs 5] [--skip-pages]

Each measure is the median of ``--runs`` runs (the pages: of 9 reruns), with wall and CPU time
(``time.process_time``, every thread of this process) and the load average before and after:

1. **Adoption metrics over the demo's usage events** (goal ≤ 1 s):
   :func:`analytics.customers.adoption.adoption_metrics` as of the data's last day on the default demo
   (``--db``, built there when missing): every paying account × measured feature, both 30-day windows.
2. **Feedback analysis of 10,000 responses** (goal ≤ 5 s): :func:`analytics.customers.feedback.analyze_frame`
   on (a) the demo's responses, the first 10,000 (their sentences repeat, as templated comments do, so
   each distinct one is scored once) and (b) 10,000 responses whose every sentence is distinct (words
   drawn from the demo's vocabulary with a seeded generator, plus a number): the worst case for that.
   Warm: the libraries and VADER's lexicon are loaded first; the cold first call is given too.
3. **The pages rerun** (goal ≤ 200 ms): AppTest of ``app.py`` on Adoption and on Feedback, warmed up
   (every analytics call cached), then reruns after a widget change, with one script cache as the
   server has (see ``benchmarks/bench_health.py``).
4. **What the load gains**: the demo build's two new generator steps (adoption usage, themed feedback),
   timed inside a build of the default demo; adoption and feedback add no derived table.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from apptest_pages import open_page, timed_reruns  # noqa: E402 (this folder is the script's sys.path[0])

from analytics.customers import adoption  # noqa: E402
from analytics.customers import feedback as fb  # noqa: E402
from analytics.demo import builder  # noqa: E402
from analytics.warehouse.connection import connect  # noqa: E402


def timed(func, runs: int) -> dict:
    walls, cpus, result = [], [], None
    for _ in range(runs):
        wall, cpu = time.perf_counter(), time.process_time()
        result = func()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return {
        "median_s": round(statistics.median(walls), 3),
        "cpu_median_s": round(statistics.median(cpus), 3),
        "runs_s": [round(t, 3) for t in walls],
        "_result": result,
    }


def metrics_over_usage(path: str, runs: int) -> dict:
    con = connect(path, read_only=True)
    try:
        events = con.execute("select count(*) from feature_usage_events").fetchall()[0][0]
        adoption.adoption_metrics(con)  # warm the file cache
        out = timed(lambda: adoption.adoption_metrics(con), runs)
    finally:
        con.close()
    frame = out.pop("_result")
    return {**out, "usage_events": events, "rows": frame.height, "goal_s": 1.0}


def distinct_responses(n: int, seed: int = 15):
    """``n`` responses whose every sentence is distinct: the demo's words, shuffled, and a number."""
    import numpy as np
    import polars as pl

    from analytics.demo import truth

    rng = np.random.default_rng(seed)
    sentences = [s for pair in truth.FEEDBACK_THEMES.values() for side in pair for s in side]
    words = sorted({w.strip(".,") for s in sentences for w in s.split()})
    texts = []
    for i in range(n):
        parts = []
        for j in range(1 + rng.binomial(2, 0.4)):
            base = sentences[rng.integers(0, len(sentences))].rstrip(".").split()
            extra = [words[k] for k in rng.integers(0, len(words), 3)]
            parts.append(" ".join(base[:6] + extra + base[6:]) + f" ({i}.{j}).")
        texts.append(" ".join(parts))
    return pl.DataFrame(
        {
            "feedback_id": [f"X{i}" for i in range(n)],
            "account_id": [f"ACC{i % 3000:07d}" for i in range(n)],
            "contact_id": [None] * n,
            "submitted_at": pl.datetime_range(
                pl.datetime(2025, 5, 1), pl.datetime(2026, 10, 31), interval="1h", eager=True
            ).head(n),
            "score": rng.integers(0, 11, n),
            "text": texts,
        },
        schema_overrides={"contact_id": pl.String},
    )


def feedback_analysis(path: str, runs: int) -> dict:
    con = connect(path, read_only=True)
    try:
        demo_rows = fb.feedback_rows(con).head(10_000)
    finally:
        con.close()
    cold_started = time.perf_counter()
    fb.analyze_frame(demo_rows.head(50))  # loads scikit-learn, VADER's lexicon and py3langid's model
    cold = time.perf_counter() - cold_started
    demo = timed(lambda: fb.analyze_frame(demo_rows), runs)
    analysis = demo.pop("_result")
    distinct_rows = distinct_responses(10_000)
    distinct = timed(lambda: fb.analyze_frame(distinct_rows), max(3, runs // 2))
    other = distinct.pop("_result")
    return {
        "demo_responses": {
            **demo,
            "responses": demo_rows.height,
            "sentences": analysis.units.height,
            "distinct_sentences": analysis.units["text"].n_unique(),
            "libraries_loaded_first_s": round(cold, 3),
        },
        "distinct_sentences": {
            **distinct,
            "responses": distinct_rows.height,
            "sentences": other.units.height,
            "distinct_sentences": other.units["text"].n_unique(),
        },
        "goal_s": 5.0,
    }


def page_reruns(path: str, reruns: int = 9) -> dict:
    pages = {
        "adoption": ("pages/customer_success/adoption.py", "adoption_heat_sort", ["arr", "depth", "breadth"]),
        "feedback": ("pages/marketing/feedback.py", "feedback_explore_sentiment", ["(any)", "positive", "negative"]),
    }
    results = {}
    for name, (page, key, values) in pages.items():
        at, _ = open_page(path, page, script_cache=True)
        for value in values:  # warm every cached call
            at.selectbox(key=key).set_value(value).run()
        times = timed_reruns(
            at, lambda at, k, key=key, values=values: at.selectbox(key=key).set_value(values[k % len(values)]), reruns
        )
        results[name] = {
            "median_ms": round(1000 * statistics.median(times), 1),
            "runs_ms": [round(1000 * t) for t in times],
        }
    results["goal_ms"] = 200
    return results


def load_steps(runs: int) -> dict:
    """The two new steps of the demo build, timed inside builds of the default demo (in memory)."""
    import duckdb

    from analytics.warehouse.schema import create_schema

    spent = {"adoption_usage": [], "feedback_comments": []}
    originals = {name: getattr(builder.DemoBuilder, name) for name in spent}

    def timed_step(name):
        def run(self):
            started = time.perf_counter()
            originals[name](self)
            spent[name].append(time.perf_counter() - started)

        return run

    whole = []
    try:
        for name in spent:
            setattr(builder.DemoBuilder, name, timed_step(name))
        for _ in range(runs):
            con = duckdb.connect()
            create_schema(con)
            started = time.perf_counter()
            builder.DemoBuilder(con).build()
            whole.append(time.perf_counter() - started)
            con.close()
    finally:
        for name, method in originals.items():
            setattr(builder.DemoBuilder, name, method)
    return {
        **{f"{name}_median_s": round(statistics.median(t), 3) for name, t in spent.items()},
        "whole_build_median_s": round(statistics.median(whole), 3),
        "derived_tables_added": 0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=str(ROOT / "benchmarks" / "out" / "demo.duckdb"), help="the default demo")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--skip-pages", action="store_true")
    parser.add_argument("--skip-load", action="store_true")
    args = parser.parse_args()
    if not Path(args.db).exists():
        print(f"building the default demo warehouse at {args.db}", file=sys.stderr)
        builder.build_demo(args.db)
    load_before = os.getloadavg()
    result = {
        "adoption_metrics": metrics_over_usage(args.db, args.runs),
        "feedback_analysis_10000": feedback_analysis(args.db, args.runs),
    }
    if not args.skip_load:
        result["load_steps"] = load_steps(max(1, args.runs // 2))
    if not args.skip_pages:
        result["page_rerun"] = page_reruns(args.db)
    result["load_average"] = {
        "before": [round(x, 2) for x in load_before],
        "after": [round(x, 2) for x in os.getloadavg()],
    }
    a, f = result["adoption_metrics"], result["feedback_analysis_10000"]
    print(f"{'measure':52} {'median':>10} {'cpu':>8} {'goal':>6}")
    print(
        f"{'adoption metrics, ' + format(a['usage_events'], ',') + ' usage events':52} {a['median_s']:>9}s "
        f"{a['cpu_median_s']:>7}s {a['goal_s']:>5}s"
    )
    for name in ("demo_responses", "distinct_sentences"):
        print(
            f"{'feedback analysis, 10,000 responses (' + name + ')':52} {f[name]['median_s']:>9}s "
            f"{f[name]['cpu_median_s']:>7}s {f['goal_s']:>5}s"
        )
    if "page_rerun" in result:
        for name in ("adoption", "feedback"):
            print(f"{name + ' page rerun':52} {result['page_rerun'][name]['median_ms']:>8}ms {'':>8} 200ms")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
