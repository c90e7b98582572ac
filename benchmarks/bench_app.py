"""Benchmark: the Overview's rerun after a filter change, and a cold start to the first rendered page.

    python benchmarks/bench_app.py [--db PATH] [--runs 7]

Builds the default demo warehouse (500,000 touchpoints) at PATH when it is missing.

- *Rerun after a filter change*: an AppTest of ``app.py`` is warmed up, then each run
  picks a filter combination not seen before (so the analytics are not cached) and
  times ``AppTest.run()``: the whole script run (entrypoint, filters, KPI and trend
  queries, chart), without the browser's drawing. Goal: under 200 ms.
- *Cold start*: ``streamlit run app.py`` as a new process, Debian's Chromium loads the
  page, and the clock stops when the five KPI tiles are rendered. Goal: under 5 s.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from analytics.demo.builder import build_demo  # noqa: E402

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def rerun_times(db: str, runs: int) -> list[float]:
    from streamlit.runtime.scriptrunner import script_runner
    from streamlit.testing.v1 import AppTest

    script_runner.PagesManager = SimpleNamespace(uses_pages_directory=False)  # see tests/conftest.py
    os.environ["REVLENS_DB"] = db
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    assert not at.exception, at.exception
    segments = ["SMB", "Mid-Market", "Enterprise"]
    channels = ["email", "paid_search", "webinar", "events", "display", "paid_social", "organic_search", "direct"]
    combos = list(itertools.product([[], *[[s] for s in segments]], [[], *[[c] for c in channels]]))[1:]
    times = []
    for segment, channel in combos[:runs]:
        at.multiselect(key="f_segments").set_value(segment)
        at.multiselect(key="f_channels").set_value(channel)
        started = time.perf_counter()
        at.run()
        times.append(time.perf_counter() - started)
        assert not at.exception, at.exception
    return times


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cold_start_time(db: str) -> float:
    from playwright.sync_api import sync_playwright

    port = _free_port()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page()
        started = time.perf_counter()
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                str(ROOT / "app.py"),
                "--server.port",
                str(port),
                "--server.address",
                "127.0.0.1",
                "--server.headless",
                "true",
                "--browser.gatherUsageStats",
                "false",
            ],
            cwd=ROOT,
            env={**os.environ, "REVLENS_DB": db},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            while True:
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1)
                    break
                except OSError:
                    time.sleep(0.05)
            page.goto(f"http://127.0.0.1:{port}")
            page.wait_for_function(
                "document.querySelectorAll('[data-testid=stMetricValue]').length === 5", timeout=60_000
            )
            return time.perf_counter() - started
        finally:
            server.terminate()
            server.wait()
            browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=str(ROOT / "benchmarks" / "out" / "demo.duckdb"))
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    if not Path(args.db).exists():
        print(f"building the default demo warehouse at {args.db}")
        build_demo(args.db)
    reruns = rerun_times(args.db, args.runs)
    colds = [cold_start_time(args.db) for _ in range(3)]
    result = {
        "overview_rerun_after_filter_change_ms": {
            "median": round(1000 * statistics.median(reruns), 1),
            "runs": [round(1000 * t, 1) for t in reruns],
            "goal": 200,
        },
        "cold_start_to_first_page_s": {
            "median": round(statistics.median(colds), 2),
            "runs": [round(t, 2) for t in colds],
            "goal": 5,
        },
    }
    print(f"{'measure':42} {'median':>10} {'goal':>8}")
    print(
        f"{'Overview rerun after a filter change (ms)':42} {result['overview_rerun_after_filter_change_ms']['median']:>10} {200:>8}"
    )
    print(f"{'cold start to first rendered page (s)':42} {result['cold_start_to_first_page_s']['median']:>10} {5:>8}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
