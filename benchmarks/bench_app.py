"""Benchmark: the app's cold start to rendered KPIs, and the Overview's rerun after a filter change.

    python benchmarks/bench_app.py [--db PATH] [--runs 7] [--cold-runs 5] [--launcher cli|streamlit]
                                   [--against CHECKOUT [--against-launcher streamlit|cli]]

Builds the default demo warehouse (500,000 touchpoints) at PATH when it is missing.

- *Cold start*: the app as a new process, started the way the README says
  (``python -m analytics app``; ``--launcher streamlit`` times ``streamlit run app.py``
  instead), Debian's Chromium (launched before the clock starts) loads the first page, and
  the clock stops when the Overview's five KPI tiles are rendered. Each run also records
  when the server first answered its health check (``server_up``: Python, Streamlit and
  the launcher up to the server listening) and when the first page's trend chart is drawn;
  and, in the same runs, the cold start of a bare Streamlit script that draws five metric
  tiles and nothing else (Streamlit's own floor on this machine; a ratio of the two is
  printed). Goal: 4 s. ``--against`` also times
  another checkout's app (e.g. an export of ``main``: ``git archive main | tar -x -C DIR``)
  in the same runs, started with ``--against-launcher``.
- *Rerun after a filter change*: an AppTest of ``app.py`` is warmed up, then each run
  picks a filter combination not seen before (so the analytics are not cached) and
  times ``AppTest.run()``: the whole script run (entrypoint, filters, KPI and trend
  queries, chart), without the browser's drawing. Goal: 200 ms.

The load average is printed at the start and the end (the machine may be shared).
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from analytics.demo.builder import build_demo  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
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
FIVE_TILES = "document.querySelectorAll('[data-testid=stMetricValue]').length >= 5"  # the KPI tiles (and the Overview's ARR-at-risk tile)
# Streamlit's floor: a script that draws five metric tiles and imports nothing else.
BARE_SCRIPT = """import streamlit as st
for column, n in zip(st.columns(5), range(5)):
    column.metric(f"tile {n}", n)
"""


def rerun_times(db: str, runs: int) -> list[float]:
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.testing.v1 import AppTest

    original_init = PagesManager.__init__

    def init_as_the_server_runs(self, *args, **kwargs):  # see the app_test fixture in tests/conftest.py
        original_init(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    PagesManager.__init__ = init_as_the_server_runs
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
    PagesManager.__init__ = original_init
    return times


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _server_command(script: Path, port: int, launcher: str) -> list[str]:
    if launcher == "cli" and script.name == "app.py":
        return [sys.executable, "-m", "analytics", "app", "--port", str(port), "--address", "127.0.0.1"]
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(script),
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
    ]


def cold_start(browser, db: str, script: Path, launcher: str) -> dict[str, float]:
    """Seconds from the process start to the server's first health answer, to five rendered tiles and (for
    the app) to its rendered trend chart."""
    port = _free_port()
    page = browser.new_page()
    started = time.perf_counter()
    server = subprocess.Popen(
        _server_command(script, port, launcher),
        cwd=script.parent,
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
                time.sleep(0.02)
        server_up = time.perf_counter() - started
        page.goto(f"http://127.0.0.1:{port}")
        page.wait_for_function(FIVE_TILES, timeout=60_000, polling=20)
        timings = {"server_up": server_up, "kpis": time.perf_counter() - started}
        if script.name == "app.py":  # the rest of the first page: the trend chart drawn by plotly.js
            page.wait_for_selector(".js-plotly-plot .barlayer", timeout=60_000)
            timings["chart"] = time.perf_counter() - started
        return timings
    finally:
        server.terminate()
        server.wait()
        page.close()


def cold_starts(
    db: str, runs: int, launcher: str, against: Path | None, against_launcher: str
) -> tuple[list[dict], list[dict], list[dict]]:
    """Alternating runs of the app, the bare script (and the other checkout), so all see the same machine."""
    from playwright.sync_api import sync_playwright

    app, bare, other = [], [], []
    with tempfile.TemporaryDirectory() as folder, sync_playwright() as p:
        bare_script = Path(folder) / "bare.py"
        bare_script.write_text(BARE_SCRIPT)
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        with contextlib.closing(browser):
            # not timed: warm the OS file cache (and the other checkout's bytecode)
            cold_start(browser, db, bare_script, launcher)
            if against:
                cold_start(browser, db, against / "app.py", against_launcher)
            for _ in range(runs):
                app.append(cold_start(browser, db, ROOT / "app.py", launcher))
                bare.append(cold_start(browser, db, bare_script, launcher))
                if against:
                    other.append(cold_start(browser, db, against / "app.py", against_launcher))
    return app, bare, other


def _median(runs: list[dict], key: str) -> float:
    return round(statistics.median(run[key] for run in runs), 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=str(ROOT / "benchmarks" / "out" / "demo.duckdb"))
    parser.add_argument("--runs", type=int, default=7, help="reruns after a filter change")
    parser.add_argument("--cold-runs", type=int, default=5, help="cold starts (each also starts the bare script)")
    parser.add_argument("--launcher", choices=("cli", "streamlit"), default="cli")
    parser.add_argument("--against", type=Path, help="another checkout whose app is timed in the same runs")
    parser.add_argument("--against-launcher", choices=("cli", "streamlit"), default="streamlit")
    args = parser.parse_args()
    if not Path(args.db).exists():
        print(f"building the default demo warehouse at {args.db}", file=sys.stderr)
        build_demo(args.db)
    load_at_start = os.getloadavg()
    app, bare, other = cold_starts(args.db, args.cold_runs, args.launcher, args.against, args.against_launcher)
    reruns = rerun_times(args.db, args.runs)
    result = {
        "launcher": "python -m analytics app" if args.launcher == "cli" else "streamlit run app.py",
        "cold_start_to_kpis_s": {
            "median": _median(app, "kpis"),
            "runs": [round(run["kpis"], 2) for run in app],
            "server_up_median": _median(app, "server_up"),
            "chart_median": _median(app, "chart"),
            "goal": 4,
        },
        "bare_streamlit_five_tiles_s": {
            "median": _median(bare, "kpis"),
            "runs": [round(run["kpis"], 2) for run in bare],
            "server_up_median": _median(bare, "server_up"),
        },
        "app_over_bare": round(_median(app, "kpis") / _median(bare, "kpis"), 2),
        "overview_rerun_after_filter_change_ms": {
            "median": round(1000 * statistics.median(reruns), 1),
            "runs": [round(1000 * t, 1) for t in reruns],
            "goal": 200,
        },
        **(
            {
                "against": {
                    "checkout": str(args.against),
                    "launcher": args.against_launcher,
                    "median": _median(other, "kpis"),
                    "runs": [round(run["kpis"], 2) for run in other],
                    "server_up_median": _median(other, "server_up"),
                    "chart_median": _median(other, "chart"),
                }
            }
            if args.against
            else {}
        ),
        "load_average_at_start": load_at_start,
        "load_average_at_end": os.getloadavg(),
    }
    cold, floor = result["cold_start_to_kpis_s"], result["bare_streamlit_five_tiles_s"]
    print(f"{'measure':52} {'median':>8} {'goal':>6}")
    print(f"{'cold start to rendered KPIs (s), ' + result['launcher']:52} {cold['median']:>8} {4:>6}")
    print(f"{'  of which the server is up (s)':52} {cold['server_up_median']:>8}")
    print(f"{'  and to the rendered trend chart (s)':52} {cold['chart_median']:>8}")
    print(f"{'bare Streamlit script, five tiles (s)':52} {floor['median']:>8}")
    print(f"{'  of which the server is up (s)':52} {floor['server_up_median']:>8}")
    if args.against:
        label = f"{args.against} ({args.against_launcher}) (s)"
        print(f"{label[-52:]:52} {result['against']['median']:>8}")
        print(f"{'  and to the rendered trend chart (s)':52} {result['against']['chart_median']:>8}")
    rerun = result["overview_rerun_after_filter_change_ms"]["median"]
    print(f"{'Overview rerun after a filter change (ms)':52} {rerun:>8} {200:>6}")
    print(f"load average {load_at_start} at the start, {result['load_average_at_end']} at the end")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
