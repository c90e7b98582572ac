"""Benchmark: importing a large touchpoint CSV against DuckDB's own ``read_csv``.

    python benchmarks/bench_import.py [--rows 10000000] [--dir /work/bench] [--runs 3]
                                      [--db PATH] [--memory-limit 2GB]

Writes a touchpoint CSV of ``--rows`` rows (once; reused when present) with DuckDB
``COPY``: from the touchpoints of the warehouse ``--db`` when given (built with
``build_demo`` when missing), else synthetic rows over the demo's channels. Then,
``--runs`` times, alternating:

- **baseline**: ``create table plain as select * from read_csv(file)`` into a fresh
  DuckDB file (DuckDB's sniffer and typed reader, no validation);
- **import**: ``python -m analytics import touchpoints file`` semantics
  (:func:`analytics.imports.import_files`: staging, parsing, validation,
  quarantine, duplicate check, upsert, ledger) into a fresh warehouse.

Each run is its own process, so its peak resident memory (``ru_maxrss`` from
``wait4``) is its own; both get the same ``--memory-limit``. Prints a table and a
JSON line with the medians, the ratio of the medians import / baseline (goal: at most
1.5), the median of each run's own ratio (its import over the baseline next to it: more
robust on a shared machine), the CPU seconds of each (user + system, from ``wait4``: the work,
whatever else the machine runs) and their ratio, peak RSS and the load average at the start
and the end.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def write_csv(path: Path, rows: int, db: Path | None) -> None:
    import duckdb

    from analytics.warehouse.schema import CHANNELS

    started = time.perf_counter()
    if db is not None:
        from analytics.demo.builder import build_demo

        if not db.exists():
            print(f"building the demo warehouse {db} ({rows:,} touchpoints) ...", flush=True)
            build_demo(db, seed=7, touchpoints=rows)
        con = duckdb.connect(str(db), read_only=True)
        con.execute(
            f"copy (select touchpoint_id, contact_id, campaign_id, channel, touchpoint_type, ts, engagement_score "
            f"from touchpoints limit {int(rows)}) to '{path}' (header, delimiter ',')"
        )
    else:
        con = duckdb.connect()
        con.execute(
            f"""
            copy (
                select 'TP' || i as touchpoint_id,
                       'C' || (hash(i) % {max(rows // 10, 1)}) as contact_id,
                       'CMP' || (i % 40) as campaign_id,
                       $channels[(i % {len(CHANNELS)}) + 1] as channel,
                       ['impression', 'click', 'visit', 'form_fill'][(i % 4) + 1] as touchpoint_type,
                       timestamp '2025-05-01' + to_seconds(i * 4) as ts,
                       round((hash(i) % 1000) / 1000.0, 3) as engagement_score
                from range({int(rows)}) t(i)
            ) to '{path}' (header, delimiter ',')""",
            {"channels": list(CHANNELS)},
        )
    con.close()
    print(f"wrote {path} ({path.stat().st_size / 1e6:,.0f} MB) in {time.perf_counter() - started:.1f} s", flush=True)


def child(kind: str, csv_path: str, db: str, memory_limit: str) -> None:
    """One measured run in this process; prints {"seconds": ..., "rows": ...}."""
    import duckdb

    from analytics.imports import import_files  # imported before the clock starts, like duckdb

    started = time.perf_counter()
    if kind == "baseline":
        con = duckdb.connect(db)
        con.execute(f"set memory_limit = '{memory_limit}'")
        con.execute("create table plain as select * from read_csv(?)", [csv_path])
        rows = con.execute("select count(*) from plain").fetchall()[0][0]
        con.close()
    else:
        (result,) = import_files(db, "touchpoints", [csv_path], memory_limit=memory_limit)
        rows = result.rows_loaded
    print(json.dumps({"seconds": time.perf_counter() - started, "rows": rows}))


def measure(kind: str, csv_path: Path, workdir: Path, memory_limit: str) -> dict:
    db = workdir / f"{kind}.duckdb"
    for leftover in workdir.glob(f"{kind}.duckdb*"):
        leftover.unlink()
    proc = subprocess.Popen(
        [sys.executable, __file__, "--child", kind, str(csv_path), str(db), memory_limit],
        stdout=subprocess.PIPE,
        cwd=ROOT,
    )
    output = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{kind} run failed with status {proc.returncode}")
    for leftover in workdir.glob(f"{kind}.duckdb*"):
        leftover.unlink()
    result = json.loads(output.decode().strip().splitlines()[-1])
    result["peak_rss_mb"] = usage.ru_maxrss / 1024  # kilobytes on Linux
    result["cpu_s"] = usage.ru_utime + usage.ru_stime  # the work, whatever else the machine runs
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument(
        "--dir", type=Path, default=None, help="where the CSV and scratch warehouses go (default: a temp dir)"
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--db", type=Path, default=None, help="take the touchpoints from this demo warehouse")
    parser.add_argument("--memory-limit", default="2GB")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    load_start = os.getloadavg()
    workdir = args.dir or Path(tempfile.mkdtemp(prefix="bench-import-"))
    workdir.mkdir(parents=True, exist_ok=True)
    csv_path = workdir / f"touchpoints_{args.rows}.csv"
    if not csv_path.exists():
        write_csv(csv_path, args.rows, args.db)
    runs = {"baseline": [], "import": []}
    for i in range(args.runs):
        order = ("baseline", "import") if i % 2 == 0 else ("import", "baseline")
        for kind in order:
            result = measure(kind, csv_path, workdir, args.memory_limit)
            runs[kind].append(result)
            print(
                f"run {i + 1} {kind:8s} {result['seconds']:7.2f} s  cpu {result['cpu_s']:6.1f} s  "
                f"peak RSS {result['peak_rss_mb']:7.0f} MB  "
                f"rows {result['rows']:,}",
                flush=True,
            )
    baseline = statistics.median(r["seconds"] for r in runs["baseline"])
    imported = statistics.median(r["seconds"] for r in runs["import"])
    summary = {
        "rows": args.rows,
        "file_mb": round(csv_path.stat().st_size / 1e6, 1),
        "runs": args.runs,
        "memory_limit": args.memory_limit,
        "baseline_read_csv_s": round(baseline, 2),
        "import_s": round(imported, 2),
        "ratio": round(imported / baseline, 2),
        "ratio_per_run": [round(i["seconds"] / b["seconds"], 2) for i, b in zip(runs["import"], runs["baseline"])],
        "median_ratio_per_run": round(
            statistics.median(i["seconds"] / b["seconds"] for i, b in zip(runs["import"], runs["baseline"])), 2
        ),
        "import_rows_per_s": round(args.rows / imported),
        "baseline_cpu_s": round(statistics.median(r["cpu_s"] for r in runs["baseline"]), 2),
        "import_cpu_s": round(statistics.median(r["cpu_s"] for r in runs["import"]), 2),
        "cpu_ratio": round(
            statistics.median(r["cpu_s"] for r in runs["import"])
            / statistics.median(r["cpu_s"] for r in runs["baseline"]),
            2,
        ),
        "import_peak_rss_mb": round(max(r["peak_rss_mb"] for r in runs["import"])),
        "baseline_peak_rss_mb": round(max(r["peak_rss_mb"] for r in runs["baseline"])),
        "load_start": [round(x, 2) for x in load_start],
        "load_end": [round(x, 2) for x in os.getloadavg()],
    }
    print()
    print(f"{'measure':28s} {'value':>14s}")
    for key, value in summary.items():
        print(f"{key:28s} {value:>14,}" if isinstance(value, (int, float)) else f"{key:28s} {value!s:>14}")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
