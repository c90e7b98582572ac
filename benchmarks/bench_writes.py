"""Benchmark: writing while the app is open — how long a writer waits for the app, and what a page costs
while a writer holds the warehouse.

    python benchmarks/bench_writes.py [--db PATH] [--runs 7] [--tabs 3]

The warehouse is a copy of ``--db`` in a temp directory (default: the 500,000-touchpoint demo, built
when missing at ``/tmp/revlens-bench-writes/demo.duckdb``); the app is ``python -m analytics app`` on the
copy, driven by Debian's Chromium. Medians of ``--runs``:

- **writer wait, app idle**: a tab has rendered the Overview and sits there; the time from
  :func:`analytics.warehouse.connection.writing` being called (in this process) to holding the
  read-write connection. The app holds no connection while idle (it closes it 0.5 s after its last
  query, or at once when a writer announces itself), so this is about the cost of opening the file.
- **writer wait, app busy**: ``--tabs`` tabs reload the Overview in a loop, each with a date range not
  seen before (so every reload runs its KPI and trend queries); the writer announces itself at a random
  moment and waits until the queries in flight have finished.
- **page while a writer runs**: a tab reloads the Overview (cached: a range already seen) to its five
  KPI tiles, with no writer, then while another process holds the warehouse as a writer; and the same
  for a range not cached (the page shows the "updating" notice instead of the tiles: the time to it).

Prints a table and a JSON line; the load average at the start and the end (the machine may be shared).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS, streamlit_server, wait_for_kpis, wait_for_run  # noqa: E402

FIVE_TILES = "document.querySelectorAll('[data-testid=stMetricValue]').length === 5"
UPDATING = '[data-testid="stAlertContentInfo"]'
HOLDER = """
import sys
from analytics.warehouse.connection import writing
with writing(sys.argv[1], wait=120, purpose="a benchmark writer"):
    print("writing", flush=True)
    sys.stdin.readline()
"""


BUSY_TABS = """
import json, sys, time
from playwright.sync_api import sync_playwright
from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS
url, tabs, ranges = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3])
with sync_playwright() as p:
    browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    pages = [browser.new_page() for _ in range(tabs)]
    for page, r in zip(pages, ranges):
        page.goto(f"{url}/overview?{r}")
    print("busy", flush=True)
    i = tabs
    while True:
        for page in pages:
            page.goto(f"{url}/overview?{ranges[i % len(ranges)]}", wait_until="commit")
            i += 1
        time.sleep(0.3)
"""


def default_db() -> Path:
    path = Path("/tmp/revlens-bench-writes/demo.duckdb")
    if not path.exists():
        from analytics.demo.builder import build_demo

        print(f"building the demo warehouse {path} ...", flush=True)
        build_demo(path, seed=7, touchpoints=500_000)
    return path


def fresh_range(rng: random.Random, seen: set) -> str:
    """A date range of the demo's 18 months not asked for before (its analytics are not cached)."""
    while True:
        start = date(2025, 5, 1) + timedelta(days=rng.randrange(0, 400))
        end = start + timedelta(days=rng.randrange(30, 150))
        if (start, end) not in seen:
            seen.add((start, end))
            return f"from={start.isoformat()}&to={min(end, date(2026, 10, 31)).isoformat()}"


def acquire_time(db: Path) -> float:
    from analytics.warehouse.connection import writing

    started = time.perf_counter()
    with writing(db, wait=120, purpose="a benchmark writer"):
        waited = time.perf_counter() - started
    return waited


class Holder:
    """Another process holding the warehouse as a writer until :meth:`release`."""

    def __init__(self, db: Path):
        self.process = subprocess.Popen(
            [sys.executable, "-c", HOLDER, str(db)], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self.process.stdout.readline().strip() == "writing"

    def release(self) -> None:
        self.process.stdin.write("\n")
        self.process.stdin.flush()
        self.process.wait(timeout=120)


def time_to(page, url: str, condition: str) -> float:
    started = time.perf_counter()
    page.goto(url)
    page.wait_for_function(condition, timeout=120_000)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", type=Path, default=None)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--tabs", type=int, default=3)
    args = parser.parse_args()
    load_start = os.getloadavg()
    source = args.db or default_db()
    workdir = Path(tempfile.mkdtemp(prefix="bench-writes-"))
    db = workdir / "warehouse.duckdb"
    shutil.copy(source, db)
    rng, seen = random.Random(7), set()
    from playwright.sync_api import sync_playwright

    results: dict[str, list[float]] = {
        k: [] for k in ("wait_idle", "wait_busy", "page", "page_writing", "uncached_writing")
    }
    with streamlit_server(str(db), workdir) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 1000})
        cached = f"{url}/overview?{fresh_range(rng, seen)}"
        page.goto(cached)
        wait_for_run(page)
        wait_for_kpis(page)

        # the writer's wait, app idle (a tab open on the Overview)
        for _ in range(args.runs):
            time.sleep(1.0)  # past the connection's linger: the idle app as a user leaves it
            results["wait_idle"].append(acquire_time(db))

        # the page while a writer holds the warehouse
        for _ in range(args.runs):
            results["page"].append(time_to(page, cached, FIVE_TILES))
            holder = Holder(db)
            try:
                results["page_writing"].append(time_to(page, cached, FIVE_TILES))
                fresh = f"{url}/overview?{fresh_range(rng, seen)}"
                results["uncached_writing"].append(
                    time_to(page, fresh, f"document.querySelectorAll('{UPDATING}').length > 0")
                )
            finally:
                holder.release()
            wait_for_run(page)

        # the writer's wait, app busy: tabs (in another process: Playwright's API belongs to one thread)
        # reloading uncached ranges, so that every reload runs its queries
        ranges = [fresh_range(rng, seen) for _ in range(2000)]
        busy = subprocess.Popen(
            [sys.executable, "-c", BUSY_TABS, url, str(args.tabs), json.dumps(ranges)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert busy.stdout.readline().strip() == "busy"
            for _ in range(args.runs):
                time.sleep(rng.uniform(0.5, 2.0))
                results["wait_busy"].append(acquire_time(db))
        finally:
            busy.kill()
            busy.wait()
        browser.close()
    shutil.rmtree(workdir, ignore_errors=True)
    load_end = os.getloadavg()
    summary = {name: round(statistics.median(values) * 1000, 1) for name, values in results.items()}
    summary["page_extra_while_writing_ms"] = round(summary["page_writing"] - summary["page"], 1)
    summary.update(
        {
            "runs": args.runs,
            "tabs": args.tabs,
            "max_wait_busy_ms": round(max(results["wait_busy"]) * 1000, 1),
            "load_start": [round(x, 2) for x in load_start],
            "load_end": [round(x, 2) for x in load_end],
        }
    )
    labels = {
        "wait_idle": "writer waits, app idle (ms, median)",
        "wait_busy": f"writer waits, {args.tabs} tabs reloading uncached (ms, median)",
        "max_wait_busy_ms": "   the longest of those waits (ms)",
        "page": "Overview reload to KPI tiles, cached, no writer (ms)",
        "page_writing": "the same while a writer holds the warehouse (ms)",
        "page_extra_while_writing_ms": "   extra time while a writer runs (ms)",
        "uncached_writing": "uncached range while writing: to the updating notice (ms)",
    }
    for key, text in labels.items():
        print(f"{text:62s} {summary[key]:>9}")
    print(f"load average: start {summary['load_start']}, end {summary['load_end']}")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
