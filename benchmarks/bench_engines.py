"""The same attribution on DuckDB and on Spark local, over demo warehouses of growing size.

    python benchmarks/bench_engines.py --sizes 1000000,10000000 --runs 3 --spark-runs 1

For each size: the demo warehouse (``/work/bench/demo10m.duckdb`` for 10M when it exists, else built
under ``--work``), its Parquet export (``python -m analytics export``), then ``attribute_rows`` of all
ten models on DuckDB (``--runs`` runs) and on one Spark ``local[N]`` session (``--spark-runs``).
Reports the median seconds, the load average, for Spark the JVM's CPU seconds (core-seconds: the
cost model's unit, unaffected by a busy machine) and the largest result any statement brought to
the driver (rows) next to the touchpoints: only aggregates leave the engine.
Writes ``docs/scale.json`` and plots ``docs/scale.png`` (time against size, both engines, log-log,
with a line of slope 1 through each engine's smallest size: linear growth).
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

from analytics.attribution.engine import attribute_rows  # noqa: E402
from analytics.attribution.models import MODELS  # noqa: E402
from analytics.warehouse.connection import connect  # noqa: E402
from analytics.warehouse.lake import MANIFEST, export_parquet, parse_source  # noqa: E402

SHARED_10M = Path("/work/bench/demo10m.duckdb")


def warehouse(size: int, work: Path) -> Path:
    if size == 10_000_000 and SHARED_10M.exists():
        return SHARED_10M
    path = work / f"demo{size}.duckdb"
    if not path.exists():
        from analytics.demo.builder import build_demo

        print(f"building the {size:,}-touchpoint demo at {path}", file=sys.stderr)
        build_demo(path, seed=7, touchpoints=size)
    return path


def lake(db: Path, size: int, work: Path) -> tuple[Path, float | None]:
    out = work / f"lake{size}"
    if (out / MANIFEST).exists():
        return out, None
    con = connect(db, read_only=True)
    started = time.perf_counter()
    try:
        export_parquet(con, out)
    finally:
        con.close()
    return out, time.perf_counter() - started


def timed(function) -> tuple[float, object]:
    started = time.perf_counter()
    result = function()
    return time.perf_counter() - started, result


def jvm_cpu_seconds(spark) -> float:
    """CPU seconds the local Spark JVM has used (user + system): core-seconds, whatever the machine's load."""
    pid = spark._jvm.java.lang.ProcessHandle.current().pid()
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def agreement(duck_rows, spark_rows) -> tuple[bool, float]:
    """Whether the credit rows are identical, and the largest relative difference of a number in them."""
    a, b = sorted(map(tuple, duck_rows)), sorted(map(tuple, spark_rows))
    largest = 0.0
    for row_a, row_b in zip(a, b, strict=True):
        for x, y in zip(row_a, row_b, strict=True):
            if isinstance(x, float) and x != y:
                largest = max(largest, abs(x - y) / max(abs(x), abs(y)))
            elif not isinstance(x, float) and x != y:
                return False, float("inf")
    return a == b, largest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000000,10000000", help="touchpoints, comma-separated")
    parser.add_argument("--runs", type=int, default=3, help="DuckDB runs per size (median)")
    parser.add_argument("--spark-runs", type=int, default=1, help="Spark runs per size (median)")
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--work", type=Path, default=Path("/tmp/revlens_bench"))
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "scale.json")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    sizes = [int(s) for s in args.sizes.split(",")]
    from analytics.warehouse.spark import SparkRunner, open_spark

    started = time.perf_counter()
    spark = open_spark(args.master)
    spark_start = time.perf_counter() - started
    print(f"Spark {args.master} started in {spark_start:.1f} s", file=sys.stderr)
    results = []
    for size in sizes:
        db = warehouse(size, args.work)
        folder, export_s = lake(db, size, args.work)
        con = connect(db, read_only=True)
        touchpoints = con.execute("select count(*) from touchpoints").fetchall()[0][0]
        deals = con.execute("select count(*) from opportunities where is_closed_won").fetchall()[0][0]
        duck_times, duck_rows = [], None
        for _ in range(args.runs):
            seconds, duck_rows = timed(lambda con=con: attribute_rows(con, MODELS))
            duck_times.append(seconds)
        con.close()
        spark_times, collected, spark_rows = [], [], None
        spark_cpu = []
        for _ in range(args.spark_runs):
            runner = SparkRunner(spark, parse_source(str(folder)))
            cpu_before = jvm_cpu_seconds(spark)
            seconds, spark_rows = timed(lambda runner=runner: attribute_rows(runner, MODELS))
            spark_cpu.append(jvm_cpu_seconds(spark) - cpu_before)
            spark_times.append(seconds)
            collected = runner.collected
            runner.close()
        largest = max(collected, key=lambda item: item[1])
        same, largest_difference = agreement(duck_rows, spark_rows)
        row = {
            "touchpoints": touchpoints,
            "won_deals": deals,
            "duckdb_s": statistics.median(duck_times),
            "duckdb_runs": duck_times,
            "spark_s": statistics.median(spark_times),
            "spark_runs": spark_times,
            "spark_jvm_cpu_s": statistics.median(spark_cpu),
            "export_s": export_s,
            "statements": len(collected),
            "largest_result": {"statement": largest[0], "rows": largest[1]},
            "rows_to_driver": sum(rows for _, rows in collected),
            "identical_output": same,
            "max_relative_difference": largest_difference,
            "load_average": os.getloadavg(),
        }
        results.append(row)
        print(json.dumps(row), file=sys.stderr)
    spark.stop()
    report = {
        "command": " ".join(["python benchmarks/bench_engines.py", *sys.argv[1:]]),
        "spark_master": args.master,
        "spark_start_s": spark_start,
        "models": list(MODELS),
        "sizes": results,
    }
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    plot(report, args.out.with_suffix(".png"))
    print(json.dumps(report, indent=2))


def plot(report: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = report["sizes"]
    x = [r["touchpoints"] for r in rows]
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=110)
    for key, label, colour in (("duckdb_s", "DuckDB", "#1f77b4"), ("spark_s", "Spark local[2]", "#d62728")):
        y = [r[key] for r in rows]
        ax.plot(x, y, "o-", color=colour, label=label)
        ax.plot(
            x, [y[0] * v / x[0] for v in x], ":", color=colour, alpha=0.6, label=f"{label}: linear from the smallest"
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("touchpoints")
    ax.set_ylabel("seconds (all ten models, median)")
    loads = ", ".join(f"{r['load_average'][0]:.1f}" for r in rows)
    ax.set_title(f"Attribution time against size (load {loads})", fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)


if __name__ == "__main__":
    main()
