"""Benchmark: every scheduled job's duration against its SLA class, and what measuring costs.

    python benchmarks/bench_jobs.py [--db PATH] [--repeat 3] [--jobs a,b] [--skip a,b] [--json OUT]

Builds the default demo warehouse (500,000 touchpoints) at PATH when it is missing. Each job
runs through :func:`analytics.jobs.runner.run_job` (lock, heartbeat, run record, stored
results, SLA sample: what ``jobs run`` does) ``--repeat`` times on a fresh ops store in a tmp
folder; the median wall time is compared with the job's SLA target. The warehouse is opened
read-only by every job but ``crm_contact_sync``, which runs only with ``--crm N``: against the
tests' local HubSpot server seeded with N contacts, a full pull each time, on a copy of the
warehouse in the tmp folder (the pull merges, bumps the version and rebuilds every derived table).

Measuring cost: the overhead of :func:`analytics.jobs.sla.track` around an empty block (two
clock reads, a sample, a list append) and of writing one sample to the ops store (the
recorder's batched insert), per sample, against the fastest operation it measures (a page run
target is 200 ms; the shortest job median here). The goal is under 1%.

The load average is printed at the start and the end (the machine may be shared).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analytics.crm.actions.delivery import RetryPolicy  # noqa: E402
from analytics.jobs import sla  # noqa: E402
from analytics.jobs.catalog import all_jobs  # noqa: E402
from analytics.jobs.runner import run_job  # noqa: E402
from analytics.ops.store import ops_engine, utcnow  # noqa: E402

DEFAULT_DB = Path("benchmarks/out/demo500k.duckdb")


def measuring_cost(engine, samples: int = 20_000) -> dict:
    recorder = sla.Recorder(engine_factory=lambda: engine, flush_interval_s=3600)
    started = time.perf_counter()
    for _ in range(samples):
        with sla.track("bench.empty", "real_time_operations", into=recorder):
            pass
    track_us = (time.perf_counter() - started) / samples * 1e6
    batch = [sla.Sample("bench.write", "real_time_operations", 1.0, "success", utcnow()) for _ in range(sla.FLUSH_SIZE)]
    writes = []
    for _ in range(5):
        started = time.perf_counter()
        sla.write_samples(engine, batch)
        writes.append((time.perf_counter() - started) / len(batch) * 1e6)
    return {"track_us": track_us, "write_us_per_sample": statistics.median(writes)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", type=Path, default=DEFAULT_DB)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--jobs", default="")
    parser.add_argument("--skip", default="")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--crm", type=int, default=0, help="run crm_contact_sync against N fake HubSpot contacts")
    args = parser.parse_args()
    if not args.db.exists():
        from analytics.demo.builder import build_demo

        args.db.parent.mkdir(parents=True, exist_ok=True)
        print(f"building the default demo at {args.db}", file=sys.stderr)
        build_demo(args.db)
    print(f"load average at start: {os.getloadavg()}", file=sys.stderr)
    names = [n for n in (args.jobs.split(",") if args.jobs else all_jobs()) if n and not n.startswith("_")]
    skip = set(filter(None, args.skip.split(",")))
    if not args.crm:
        skip.add("crm_contact_sync")
    results = []
    with tempfile.TemporaryDirectory() as folder, contextlib.ExitStack() as stack:
        engine = ops_engine(f"sqlite:///{folder}/ops.sqlite")
        writable = args.db
        if args.crm and "crm_contact_sync" in names:
            from tests.fakes.hubspot_server import HubSpotServer, seed_contacts

            server = stack.enter_context(HubSpotServer("pat-bench"))
            seed_contacts(server, args.crm)
            os.environ.update(HUBSPOT_ACCESS_TOKEN="pat-bench", HUBSPOT_API_BASE=server.base_url)
            writable = Path(folder) / "warehouse.duckdb"
            shutil.copy(args.db, writable)
        for name in names:
            if name in skip:
                continue
            job = all_jobs()[name]
            times = []
            for _ in range(args.repeat):
                started = time.perf_counter()
                report = run_job(
                    name,
                    {"full": "true"} if name == "crm_contact_sync" else None,
                    engine=engine,
                    db=writable if name == "crm_contact_sync" else args.db,
                    exports=Path(folder) / "exports",
                    policy=RetryPolicy(max_attempts=1),
                )
                times.append(time.perf_counter() - started)
                if not report.succeeded:
                    print(f"{name} failed: {report.last.error}", file=sys.stderr)
                    break
            median = statistics.median(times)
            target = sla.RESPONSE_TIME_TARGETS_MS[job.sla_class] / 1000
            row = {
                "job": name,
                "sla_class": job.sla_class,
                "target_s": target,
                "median_s": round(median, 2),
                "runs": len(times),
                "within": median <= target,
                "rows": report.last.outcome.rows if report.succeeded else None,
            }
            results.append(row)
            print(json.dumps(row), flush=True)
        cost = measuring_cost(engine)
    fastest = min((r["median_s"] for r in results), default=None)
    cost["per_sample_us"] = cost["track_us"] + cost["write_us_per_sample"]
    cost["share_of_200ms_pct"] = cost["per_sample_us"] / 200_000 * 100
    if fastest:
        cost["share_of_fastest_job_pct"] = cost["per_sample_us"] / (fastest * 1e6) * 100
    print(json.dumps({"measuring": cost}), flush=True)
    print(f"load average at end: {os.getloadavg()}", file=sys.stderr)
    if args.json:
        args.json.write_text(json.dumps({"jobs": results, "measuring": cost, "db": str(args.db)}, indent=2))


if __name__ == "__main__":
    main()
