"""Benchmark: queue and deliver N contact updates (batches of 100) against the local HubSpot server.

Pushes the lead score of the first ``--contacts`` contacts of the warehouse as one
``update_properties`` action, then delivers it with the real deliverer (SDK calls,
SQLite ops store, write-ahead commits per batch) against ``tests/fakes/hubspot_server.py``
running in its own process on 127.0.0.1. Each configuration is run ``--runs`` times on a
fresh ops store and a fresh server; the table shows medians.

Configurations: the rate limit off (the baseline: what the pipeline itself costs), the
default 100 requests per 10 s, and a tighter 20 per 1 s. The "floor" column is the least
time the limit allows for that many requests, ``floor(max(0, R - 1) / m) * w`` seconds
for R requests at m per w seconds; the ratio column is each run against the baseline.

    python benchmarks/bench_outbox.py --db /work/bench/demo10m.duckdb --contacts 10000 --runs 3

The warehouse is opened read-only; when ``--db`` is missing it is built first with
``build_demo(path, touchpoints=10 * --contacts)``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from analytics.crm.actions import queue as outbox  # noqa: E402
from analytics.crm.actions.delivery import Deliverer, RetryPolicy  # noqa: E402
from analytics.crm.hubspot import transport as hs  # noqa: E402
from analytics.demo.builder import build_demo  # noqa: E402
from analytics.ops import store as ops  # noqa: E402
from analytics.warehouse.connection import connect  # noqa: E402

TOKEN = "pat-bench-token"
USER = "bench"


def load_targets(db: Path, count: int) -> list[dict]:
    con = connect(db, read_only=True)
    try:
        rows = con.execute(
            "select hubspot_id, lead_score from contacts where hubspot_id is not null order by contact_id limit ?",
            [count],
        ).fetchall()
    finally:
        con.close()
    return [
        {"hubspot_id": hubspot_id, "properties": {"marketing_platform_lead_score": score}} for hubspot_id, score in rows
    ]


def start_server(contact_ids: list[str]) -> tuple[subprocess.Popen, str]:
    """The test server in its own process, seeded with these contact ids."""
    code = (
        f"import sys; sys.path.insert(0, {str(ROOT)!r})\n"
        "from tests.fakes.hubspot_server import HubSpotServer\n"
        "ids = sys.stdin.read().split()\n"
        f"srv = HubSpotServer({TOKEN!r})\n"
        "[srv.add_contact(f'c{i}@example.com', contact_id=i) for i in ids]\n"
        "srv.start(); print(srv.base_url, flush=True); srv.thread.join()\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    proc.stdin.write("\n".join(contact_ids))
    proc.stdin.close()
    return proc, proc.stdout.readline().strip()


def one_run(targets: list[dict], limit: tuple[int, float] | None) -> dict:
    server, base_url = start_server([t["hubspot_id"] for t in targets])
    workdir = tempfile.mkdtemp(prefix="bench-outbox-")
    os.environ.update(REVLENS_CONFIRMERS=USER, REVLENS_SECRETS=os.path.join(workdir, "absent.toml"))
    try:
        engine = ops.ops_engine(f"sqlite:///{workdir}/ops.sqlite")
        started = time.perf_counter()
        outbox.enqueue("update_properties", targets, {}, USER, engine=engine)
        enqueue_s = time.perf_counter() - started
        limiter = hs.RateLimiter(*(limit or (10**9, 1.0)))
        gateway = hs.HubSpotGateway(TOKEN, base_url, hs.Timeouts(5, 60), limiter)
        deliverer = Deliverer(engine, gateway, RetryPolicy(), publish_events=False)
        started = time.perf_counter()
        report = deliverer.run(once=True)
        deliver_s = time.perf_counter() - started
        assert len(report.sent) == 1, report.line()
        return {
            "enqueue_s": enqueue_s,
            "deliver_s": deliver_s,
            "requests": gateway.requests_sent,
            "batches": report.batches_sent,
            "limiter_wait_s": limiter.waited_s,
        }
    finally:
        server.terminate()
        server.wait()
        ops._engines.pop(f"sqlite:///{workdir}/ops.sqlite", None)
        shutil.rmtree(workdir, ignore_errors=True)


def floor_s(requests: int, limit: tuple[int, float] | None) -> float:
    if limit is None:
        return 0.0
    per, window = limit
    return math.floor(max(0, requests - 1) / per) * window


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="/work/bench/demo10m.duckdb")
    parser.add_argument("--contacts", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    path = Path(args.db)
    if not path.exists():
        print(f"building {path} with {10 * args.contacts:,} touchpoints…", flush=True)
        build_demo(path, touchpoints=max(10 * args.contacts, 2_000))
    targets = load_targets(path, args.contacts)
    configurations = {
        "no rate limit (baseline)": None,
        "100 req / 10 s (default)": (100, 10.0),
        "20 req / 1 s": (20, 1.0),
    }
    results = []
    baseline = None
    for name, limit in configurations.items():
        runs = [one_run(targets, limit) for _ in range(args.runs)]
        median = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
        baseline = baseline or median["deliver_s"]
        results.append(
            {
                "configuration": name,
                "contacts": len(targets),
                "runs": args.runs,
                **median,
                "contacts_per_s": len(targets) / median["deliver_s"],
                "requests_per_s": median["requests"] / median["deliver_s"],
                "floor_s": floor_s(int(median["requests"]), limit),
                "ratio_to_baseline": median["deliver_s"] / baseline,
            }
        )
    header = (
        f"{'configuration':<26} {'contacts':>8} {'requests':>8} {'enqueue s':>9} {'deliver s':>9} "
        f"{'floor s':>7} {'waited s':>8} {'contacts/s':>10} {'req/s':>7} {'x base':>6}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        print(
            f"{r['configuration']:<26} {r['contacts']:>8,} {int(r['requests']):>8} {r['enqueue_s']:>9.2f} "
            f"{r['deliver_s']:>9.2f} {r['floor_s']:>7.1f} {r['limiter_wait_s']:>8.2f} {r['contacts_per_s']:>10,.0f} "
            f"{r['requests_per_s']:>7.1f} {r['ratio_to_baseline']:>6.1f}"
        )
    print(json.dumps({"benchmark": "outbox_delivery", "db": str(path), "results": results}, indent=2))


if __name__ == "__main__":
    main()
