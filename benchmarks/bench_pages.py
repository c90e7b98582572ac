"""Benchmark: every page of NAVIGATION, after a click, on the default demo warehouse.

    python benchmarks/bench_pages.py [--db PATH] [--runs 5] [--pages overview,attribution,...]

Builds the default demo warehouse (500,000 touchpoints) at PATH when it is missing.

- *Browser, click to idle*: the app (``python -m analytics app``) in Debian's Chromium. Each page
  is opened and warmed up once; then each run clicks, and the clock runs from the click to the
  page being idle: the script run the click started has finished (the app's
  ``data-test-script-state`` went to ``running`` and back to ``notRunning``, seen by a
  MutationObserver in the page, so a short run is not missed) and the running indicator is gone.
  The click on a page with the filter bar is a date preset (alternating "Last quarter" and
  "Year to date", so every click changes the range; the results of both are cached after the
  warm-up, as a user going back and forth has them); on Attribution also a click on a
  campaign's bar (the drill-down); on the Operations and Help pages (no filter bar) a click
  on the page's own entry in the menu, from the Overview.
- *Script time of a rerun*: an AppTest of the page, warmed up with the same two presets, then
  ``AppTest.run()`` after each preset change is timed: the whole script run (entrypoint, filter
  bar, the page), without the browser. Goal: 200 ms (the spec's real-time target).

Medians of ``--runs``; the load average (``os.getloadavg()``) is printed at the start and the end.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from analytics.demo.builder import build_demo  # noqa: E402
from pages.components.navigation import NAVIGATION, UNFILTERED_GROUPS, url_path  # noqa: E402

PRESETS = ("last_quarter", "year_to_date")
PRESET_TEXT = {"last_quarter": "Last quarter", "year_to_date": "Year to date"}

WATCH = """() => {
    const app = document.querySelector('[data-testid="stApp"]');
    window.__runs = [];
    new MutationObserver(() => window.__runs.push([app.getAttribute('data-test-script-state'), performance.now()]))
        .observe(app, {attributes: true, attributeFilter: ['data-test-script-state']});
}"""
# The click's time in the page's clock, then the click itself (one evaluate: no round trip between them).
CLICK = """selector => { window.__runs = []; const t = performance.now(); document.querySelector(selector).click();
    return t; }"""
DONE = """t0 => {
    const runs = window.__runs.filter(([, t]) => t >= t0);
    const started = runs.findIndex(([state]) => state === 'running');
    if (started < 0) return null;
    const ended = runs.slice(started).find(([state]) => state === 'notRunning');
    return ended && !document.querySelector('[data-testid="stStatusWidget"]') ? ended[1] : null;
}"""


def pages() -> list[tuple[str, str, bool]]:
    """(file, title, has the filter bar) of every page of the menu."""
    return [
        (path, title, group not in UNFILTERED_GROUPS)
        for group, entries in NAVIGATION.items()
        for path, title, _ in entries
    ]


def click_to_idle(page, selector: str, timeout_s: float = 120.0) -> float:
    """Seconds from a click on ``selector`` to the end of the script run it started."""
    t0 = page.evaluate(CLICK, selector)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        ended = page.evaluate(DONE, t0)
        if ended is not None:
            return (ended - t0) / 1000
        time.sleep(0.005)
    raise TimeoutError(f"no script run finished within {timeout_s:.0f} s of the click on {selector}")


def wait_idle(page) -> None:
    """The script has finished and, on the Overview, the ARR-at-risk tile (trained in the server's background, which
    would slow every run while it trains) is drawn."""
    from tests.e2e.browser import wait_for_run

    wait_for_run(page, 300_000)
    if page.locator(".st-key-overview_risk").count():
        page.wait_for_function(
            "() => !(document.querySelector('.st-key-overview_risk')?.innerText ?? '').includes('Computing')",
            timeout=600_000,
        )
        wait_for_run(page, 300_000)
    page.wait_for_timeout(300)


def preset_selector(page, preset: str) -> str:
    """A CSS selector of the preset's pill (marked by its text, once per page load)."""
    page.evaluate(
        """([text, mark]) => { for (const b of document.querySelectorAll(
            '.st-key-filter_bar [data-testid="stButtonGroup"] button')) {
            if (b.innerText.trim() === text) b.setAttribute('data-bench', mark); } }""",
        [PRESET_TEXT[preset], preset],
    )
    return f'[data-bench="{preset}"]'


def bar_selector(page) -> str | None:
    """The first campaign bar of Attribution's chart (plotly listens on the plot, so the click is dispatched there)."""
    return page.evaluate("""() => {
        const bar = document.querySelector('.st-key-attr_chart .barlayer .point path');
        if (!bar) return null;
        bar.setAttribute('data-bench', 'bar');
        return '[data-bench="bar"]';
    }""")


def click_bar(page) -> float:
    """Seconds from a click on Attribution's first campaign bar to the end of the run that opens its drill-down."""
    chart = page.locator(".st-key-attr_chart .js-plotly-plot")
    for _ in range(5):  # plotly may still be laying the chart out: a click that selects nothing is repeated
        page.wait_for_selector(".st-key-attr_chart .barlayer .point path", timeout=300_000)
        chart.scroll_into_view_if_needed()
        page.wait_for_timeout(1500)
        box = chart.locator(".barlayer .point path").first.bounding_box()
        t0 = page.evaluate("() => { window.__runs = []; return performance.now(); }")
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        try:
            page.wait_for_selector(".st-key-attr_back", timeout=30_000)
        except Exception:  # noqa: BLE001 (playwright's TimeoutError)
            continue
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            ended = page.evaluate(DONE, t0)
            if ended is not None:
                return (ended - t0) / 1000
            time.sleep(0.005)
    raise TimeoutError("the click on a campaign bar did not open its drill-down")


def browser_runs(url: str, chosen: list[tuple[str, str, bool]], runs: int) -> dict[str, dict[str, list[float]]]:
    from playwright.sync_api import sync_playwright

    from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS, VIEWPORT

    results: dict[str, dict[str, list[float]]] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport=VIEWPORT)
        for path, title, filtered in chosen:
            times: dict[str, list[float]] = {}
            if filtered:
                page.goto(f"{url}/{url_path(path)}")
                wait_idle(page)
                page.evaluate(WATCH)
                for preset in PRESETS:  # warm-up: both ranges computed once
                    click_to_idle(page, preset_selector(page, preset), 600)
                    wait_idle(page)
                for run in range(runs):
                    preset = PRESETS[run % 2]
                    times.setdefault("preset", []).append(click_to_idle(page, preset_selector(page, preset)))
                    wait_idle(page)
                if path.endswith("attribution.py"):
                    page.goto(f"{url}/attribution?by=campaign")
                    wait_idle(page)
                    page.evaluate(WATCH)
                    for run in range(runs + 1):
                        elapsed = click_bar(page)
                        if run:  # the first is the warm-up
                            times.setdefault("bar click (drill-down)", []).append(elapsed)
                        wait_idle(page)
                        page.locator(".st-key-attr_back button").click()
                        page.wait_for_selector(".st-key-attr_back", state="detached", timeout=300_000)
                        wait_idle(page)
            else:
                for run in range(runs + 1):
                    page.goto(f"{url}/overview")
                    wait_idle(page)
                    page.evaluate(WATCH)
                    # the menu entry of the page (Streamlit's top navigation: the group opens a list of links)
                    group = next(g for g, entries in NAVIGATION.items() if any(e[0] == path for e in entries))
                    page.get_by_text(group, exact=True).first.click()
                    link = page.locator(f'a[href$="/{url_path(path)}"]').first
                    link.wait_for()
                    link.evaluate("a => a.setAttribute('data-bench', 'link')")
                    elapsed = click_to_idle(page, '[data-bench="link"]', 600)
                    if run:
                        times.setdefault("menu click", []).append(elapsed)
                    wait_idle(page)
            results[title] = times
            print(json.dumps({title: {k: round(statistics.median(v), 3) for k, v in times.items()}}), flush=True)
        browser.close()
    return results


def preset_dates(at, preset: str):
    from analytics.core.periods import clamp, preset_range

    first, last = at.session_state["filters"].first, at.session_state["filters"].last
    period = clamp(preset_range(preset, last), first, last)
    return (period.start, period.end)


def script_runs(db: str, chosen: list[tuple[str, str, bool]], runs: int) -> dict[str, list[float]]:
    """``AppTest.run()`` of each page after a preset change (filtered pages) or a plain rerun (the others)."""
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.testing.v1 import AppTest

    original_init = PagesManager.__init__

    def init_as_the_server_runs(self, *args, **kwargs):  # as tests/conftest.py's app_test
        original_init(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    PagesManager.__init__ = init_as_the_server_runs
    results: dict[str, list[float]] = {}
    for path, title, filtered in chosen:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600)
        at.run()
        at.switch_page(path).run()
        times = []
        for run in range(runs + 2):
            if filtered:  # what the preset pill's on_change sets: its range of the data
                at.session_state["f_dates"] = preset_dates(at, PRESETS[run % 2])
            start = time.perf_counter()
            at.run()
            elapsed = time.perf_counter() - start
            assert not at.exception, [e.value for e in at.exception]
            if run >= 2:  # both presets warmed up
                times.append(elapsed)
        results[title] = times
        print(json.dumps({title: {"script": round(statistics.median(times), 3)}}), flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default=str(ROOT / "data" / "warehouse.duckdb"))
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--pages", default="", help="Comma-separated page addresses (default: every page).")
    parser.add_argument("--no-browser", action="store_true")
    parser.add_argument("--no-script", action="store_true")
    args = parser.parse_args()
    if not Path(args.db).exists():
        print(f"building the default demo warehouse at {args.db}", file=sys.stderr)
        build_demo(args.db)
    wanted = {p for p in args.pages.split(",") if p}
    chosen = [page for page in pages() if not wanted or url_path(page[0]) in wanted]
    print(f"load average at start: {os.getloadavg()}", flush=True)
    work = Path(tempfile.mkdtemp(prefix="bench_pages_"))
    os.environ["REVLENS_DB"] = args.db
    os.environ["REVLENS_OPS_URL"] = f"sqlite:///{work / 'ops.sqlite'}"
    script = {} if args.no_script else script_runs(args.db, chosen, args.runs)
    browser = {}
    if not args.no_browser:
        from tests.e2e.browser import streamlit_server

        with streamlit_server(args.db, work) as url:
            browser = browser_runs(url, chosen, args.runs)
    print(f"load average at end: {os.getloadavg()}")
    print("\n| Page | Script time of a rerun (median) | Browser, click to idle (median) |")
    print("|---|---|---|")
    for _, title, _ in chosen:
        s = f"{statistics.median(script[title]) * 1000:.0f} ms" if title in script else "—"
        b = (
            ", ".join(f"{k} {statistics.median(v) * 1000:.0f} ms" for k, v in browser[title].items())
            if title in browser
            else "—"
        )
        print(f"| {title} | {s} | {b} |")


if __name__ == "__main__":
    main()
