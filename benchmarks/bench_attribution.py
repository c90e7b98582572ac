"""Benchmark of the attribution engine on a large demo warehouse.

Measures, in one process and for each of ``--runs`` runs:

1. the baseline: a bare ``select channel, count(*) from touchpoints group by channel``;
2. each model alone, ``attribute(con, [model])``, and its ratio to that run's baseline;
3. all ten models together, ``attribute(con, MODELS)``;
4. Markov order 1 side by side with ChannelAttribution's ``markov_model`` on the same
   paths (the warehouse's journeys exported with ``export_paths``; both start from the
   same in-memory CA-format table, ours including the parsing of the path strings);
5. optionally (``--page``) the Attribution page in Streamlit's AppTest: one cold run,
   then warm reruns served from the cache (the figure the <200 ms goal is about);
6. the cost the journey tables move to load time (``JOURNEYS.rebuild`` on a copy of the
   warehouse, rolled back after each run), and, for comparison, each rule-based model on
   that copy with the journey tables marked stale, so it joins the raw tables
   (``--no-journey-tables`` skips both).

Steps 2-4 read the journey tables (:mod:`analytics.attribution.journeys`) when they are current, as
the app and the CLI do on any loaded warehouse.

Prints a table of medians and a JSON document (also written to ``--json`` if given).
Builds the warehouse with ``build_demo`` when ``--db`` does not exist.

    python benchmarks/bench_attribution.py --db /work/bench/demo10m.duckdb --runs 3 --page
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import polars as pl  # noqa: E402

from analytics.attribution.engine import MODELS, RULE_MODELS, attribute, attribute_paths, export_paths  # noqa: E402
from analytics.attribution.journeys import JOURNEYS, journeys_current  # noqa: E402
from analytics.attribution.paths import path_frame  # noqa: E402
from analytics.demo.builder import build_demo  # noqa: E402
from analytics.warehouse.connection import connect  # noqa: E402

BASELINE_SQL = "select channel, count(*) from touchpoints group by channel"
# for context, not a goal: the join every touch-level model needs, the won deals' touches
JOIN_FLOOR_SQL = (
    "select count(*), max(t.ts) from opportunities as o "
    "join touchpoints as t on t.contact_id = o.contact_id where o.is_closed_won"
)


def timed(func, *args, **kwargs) -> tuple[float, object]:
    started = time.perf_counter()
    result = func(*args, **kwargs)
    return time.perf_counter() - started, result


def ensure_warehouse(path: Path, touchpoints: int) -> None:
    if path.exists():
        return
    print(f"{path} is missing: building a demo warehouse with {touchpoints:,} touchpoints…", flush=True)
    build_demo(
        path,
        seed=7,
        touchpoints=touchpoints,
        progress=lambda fraction, message: print(f"  {fraction:4.0%} {message}", flush=True),
    )


def bench_models(con, runs: int, models: tuple[str, ...] = MODELS) -> dict:
    per_run = []
    for run in range(runs):
        baseline, _ = timed(lambda: con.execute(BASELINE_SQL).fetchall())
        join_floor, _ = timed(lambda: con.execute(JOIN_FLOOR_SQL).fetchall())
        each = {m: timed(attribute, con, [m])[0] for m in models}
        together, _ = timed(attribute, con, models)
        per_run.append({"baseline_s": baseline, "join_floor_s": join_floor, "models_s": each, "all_models_s": together})
        print(f"  run {run + 1}/{runs}: baseline {baseline:.3f} s, all models {together:.2f} s", flush=True)
    return {
        "baseline_s": statistics.median(r["baseline_s"] for r in per_run),
        "join_floor_s": statistics.median(r["join_floor_s"] for r in per_run),
        "join_floor_ratio": statistics.median(r["join_floor_s"] / r["baseline_s"] for r in per_run),
        "models": {
            m: {
                "seconds": statistics.median(r["models_s"][m] for r in per_run),
                "ratio_to_baseline": statistics.median(r["models_s"][m] / r["baseline_s"] for r in per_run),
            }
            for m in models
        },
        "all_models_s": statistics.median(r["all_models_s"] for r in per_run),
        "runs": per_run,
    }


def bench_journey_tables(db: Path, runs: int) -> dict:
    """Rebuild time of the journey tables, and the rule-based models without them."""
    with tempfile.TemporaryDirectory(dir=db.parent) as scratch:
        copy = Path(scratch) / db.name
        shutil.copy(db, copy)
        con = connect(copy)
        builds = []
        for run in range(runs):
            baseline, _ = timed(lambda: con.execute(BASELINE_SQL).fetchall())
            con.execute("begin transaction")
            seconds, _ = timed(JOURNEYS.rebuild, con, "benchmark")
            con.execute("rollback")
            builds.append((seconds, baseline))
            print(f"  run {run + 1}/{runs}: journey tables rebuilt in {seconds:.2f} s", flush=True)
        con.execute("delete from _meta where key = 'journeys_version'")
        con.close()
        con = connect(copy, read_only=True)
        assert not journeys_current(con)
        print("Rule-based models joining the raw tables (journey tables stale)…", flush=True)
        raw = bench_models(con, runs, RULE_MODELS)
        con.close()
    return {
        "rebuild_s": statistics.median(b[0] for b in builds),
        "rebuild_ratio_to_baseline": statistics.median(b[0] / b[1] for b in builds),
        "rebuild_runs_s": [b[0] for b in builds],
        "rule_models_from_raw_tables": raw,
    }


def bench_markov_vs_channelattribution(con, runs: int) -> dict:
    with contextlib.redirect_stdout(io.StringIO()):  # its import prints a banner
        import ChannelAttribution

    paths = export_paths(con)
    table = paths.to_pandas()
    ours_times, theirs_times = [], []
    ours = theirs = None
    for _ in range(runs):
        seconds, ours = timed(lambda: attribute_paths(path_frame(paths, sep=">"), ["markov"]))
        ours_times.append(seconds)
        with contextlib.redirect_stdout(io.StringIO()):
            seconds, theirs = timed(
                ChannelAttribution.markov_model,
                table,
                "path",
                "total_conversions",
                var_value="total_conversion_value",
                var_null="total_null",
                order=1,
                verbose=False,
                flg_pro=False,
            )
        theirs_times.append(seconds)
    mine = dict(ours.select("channel", "attributed_conversions").iter_rows())
    differences = {
        row["channel_name"]: mine[row["channel_name"]] / row["total_conversions"] - 1
        for row in pl.from_pandas(theirs).iter_rows(named=True)
    }
    return {
        "distinct_paths": paths.height,
        "journeys": int(paths["total_conversions"].sum() + paths["total_null"].sum()),
        "ours_s": statistics.median(ours_times),
        "channelattribution_s": statistics.median(theirs_times),
        "speedup": statistics.median(theirs_times) / statistics.median(ours_times),
        "max_relative_difference": max(abs(d) for d in differences.values()),
        "relative_difference": differences,
    }


def bench_page(db: Path, reruns: int) -> dict:
    from streamlit.runtime.scriptrunner import script_runner
    from streamlit.testing.v1 import AppTest

    # as in tests/conftest.py: AppTest would otherwise run pages/ scripts without app.py
    script_runner.PagesManager = SimpleNamespace(uses_pages_directory=False)
    os.environ["REVLENS_DB"] = str(db)
    app = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "app.py"), default_timeout=1800)
    app.run()
    cold, _ = timed(lambda: app.switch_page("pages/marketing/attribution.py").run())
    if app.exception or app.error:
        raise RuntimeError(f"the page failed: {[e.value for e in app.exception] + [e.value for e in app.error]}")
    warm = [timed(app.run)[0] for _ in range(reruns)]
    return {"cold_s": cold, "warm_rerun_s": statistics.median(warm), "warm_runs_s": warm}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=Path("/work/bench/demo10m.duckdb"))
    parser.add_argument("--touchpoints", type=int, default=10_000_000, help="size when building a missing --db")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--ca-runs", type=int, default=3)
    parser.add_argument("--page", action="store_true", help="also time the Attribution page (cold and cached reruns)")
    parser.add_argument("--page-reruns", type=int, default=5)
    parser.add_argument("--json", type=Path, help="also write the JSON here")
    parser.add_argument(
        "--rule-only",
        action="store_true",
        help="only the eight rule-based models (and them together): no Markov, Shapley or ChannelAttribution",
    )
    parser.add_argument(
        "--no-journey-tables",
        action="store_true",
        help="skip timing the journey tables' rebuild and the models without them",
    )
    args = parser.parse_args()

    ensure_warehouse(args.db, args.touchpoints)
    con = connect(args.db, read_only=True)
    touchpoints = con.execute("select count(*) from touchpoints").fetchall()[0][0]
    result: dict = {
        "db": str(args.db),
        "touchpoints": touchpoints,
        "runs": args.runs,
        "cpus": os.cpu_count(),
        "load_average_at_start": os.getloadavg(),
        "journey_tables_current": journeys_current(con),
    }
    if not result["journey_tables_current"]:
        print(
            f"note: {args.db} has no current journey tables, so every model joins the raw tables; "
            f"run `python -m analytics refresh --db {args.db}` first to time what the app does.",
            flush=True,
        )
    print(f"Attribution benchmark on {args.db} ({touchpoints:,} touchpoints), {args.runs} runs", flush=True)
    result["models"] = bench_models(con, args.runs, RULE_MODELS if args.rule_only else MODELS)
    if not args.rule_only:
        print("Markov order 1 vs ChannelAttribution…", flush=True)
        result["markov_vs_channelattribution"] = bench_markov_vs_channelattribution(con, args.ca_runs)
    con.close()
    if not args.no_journey_tables:
        print("Journey tables: rebuild at load, and the models without them…", flush=True)
        result["journey_tables"] = bench_journey_tables(args.db, args.runs)
    if args.page:
        print("Attribution page (AppTest)…", flush=True)
        result["page"] = bench_page(args.db, args.page_reruns)
    result["load_average_at_end"] = os.getloadavg()

    models = result["models"]
    print(f"\nbaseline `{BASELINE_SQL}`: {models['baseline_s'] * 1000:.0f} ms (median)")
    print(
        f"for context, the bare join of won deals to their touchpoints: {models['join_floor_s'] * 1000:.0f} ms "
        f"({models['join_floor_ratio']:.1f}× baseline)"
    )
    print(f"{'model':<18}{'median s':>10}{'× baseline':>12}")
    for model, figures in models["models"].items():
        print(f"{model:<18}{figures['seconds']:>10.2f}{figures['ratio_to_baseline']:>12.1f}")
    print(f"{'all models':<18}{models['all_models_s']:>10.2f}")
    tables = result.get("journey_tables")
    if tables:
        raw = tables["rule_models_from_raw_tables"]
        print(
            f"\njourney tables rebuilt at load in {tables['rebuild_s']:.2f} s "
            f"({tables['rebuild_ratio_to_baseline']:.0f}× baseline); without them, joining the raw tables:"
        )
        for model, figures in raw["models"].items():
            print(f"{model:<18}{figures['seconds']:>10.2f}{figures['ratio_to_baseline']:>12.1f}")
    versus = result.get("markov_vs_channelattribution")
    if versus:
        print(
            f"\nMarkov order 1 on {versus['distinct_paths']:,} distinct paths ({versus['journeys']:,} journeys): "
            f"ours {versus['ours_s']:.2f} s, ChannelAttribution {versus['channelattribution_s']:.2f} s "
            f"({versus['speedup']:.1f}× faster); largest difference in credit {versus['max_relative_difference']:.2%}"
        )
    if "page" in result:
        page = result["page"]
        print(
            f"\nAttribution page: cold {page['cold_s']:.1f} s, cached rerun {page['warm_rerun_s'] * 1000:.0f} ms (median)"
        )
    print(f"load average at start / end: {result['load_average_at_start']} / {result['load_average_at_end']}")
    document = json.dumps(result, indent=2, default=str)
    print(document)
    if args.json:
        args.json.write_text(document)


if __name__ == "__main__":
    main()
