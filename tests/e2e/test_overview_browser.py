"""End to end in a real browser: Debian's Chromium driven by Playwright against `streamlit run app.py`."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.paths import ROOT

CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags Chromium keeps dialling out, which this network refuses.
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

pytestmark = pytest.mark.browser


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def streamlit_server(db: str, workdir: Path, **extra_env: str):
    """`python -m analytics app` on a free localhost port; yields its URL once healthy.

    Its output goes to ``workdir / "streamlit.log"``.
    """
    port = _free_port()
    env = {**os.environ, "REVLENS_DB": db, "REVLENS_OPS_URL": f"sqlite:///{workdir / 'ops.sqlite'}", **extra_env}
    log = open(workdir / "streamlit.log", "w")
    process = subprocess.Popen(
        [sys.executable, "-m", "analytics", "app", "--port", str(port), "--address", "127.0.0.1"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                time.sleep(0.3)
        else:
            pytest.fail(f"streamlit did not start; see {log.name}")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


@pytest.fixture(scope="module")
def server(demo_db, tmp_path_factory):
    with streamlit_server(demo_db, tmp_path_factory.mktemp("server")) as url:
        yield url


@pytest.fixture(scope="module")
def page(server):
    if not Path(CHROMIUM).exists() and os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(
            "apt-get update -qq && apt-get install -y -qq chromium",
            shell=True,
            check=False,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        )
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing at /usr/bin/chromium: install it with `apt-get install chromium`.")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 1000})
        yield page
        browser.close()


def wait_for_run(page, timeout_ms: int = 90_000) -> None:
    """Wait until the script run has finished: the app is rendered and the running indicator is gone."""
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=timeout_ms)
    page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=timeout_ms)


def wait_for_kpis(page) -> None:
    """The first load reports "not running" before its run starts: wait for all five KPI tiles."""
    page.wait_for_function("document.querySelectorAll('[data-testid=stMetricValue]').length === 5", timeout=90_000)


def metric_values(page) -> dict[str, str]:
    """Label -> value of every KPI tile, read in one go (a rerun may redraw them at any time)."""
    return page.evaluate("""() => Object.fromEntries(
        [...document.querySelectorAll('[data-testid="stMetric"]')].map(m => [
            (m.querySelector('[data-testid="stMetricLabel"]')?.innerText ?? '').trim(),
            (m.querySelector('[data-testid="stMetricValue"]')?.innerText ?? '').trim()]))""")


def test_overview_renders_and_follows_a_filter(server, page):
    page.goto(server)
    wait_for_run(page)
    wait_for_kpis(page)
    assert page.locator('[data-testid="stException"]').count() == 0
    before = metric_values(page)
    assert set(before) == {"Open pipeline", "Won revenue", "Marketing spend", "Active accounts", "ARR"}
    assert all(re.fullmatch(r"\$?[\d,.]+[KMB]?", value) for value in before.values()), before
    page.wait_for_selector(".js-plotly-plot")
    page.screenshot(path=str(ROOT / "docs" / "overview.png"), full_page=True)

    # choose one segment in the filter bar
    page.locator('[data-testid="stMultiSelect"]').first.click()
    page.get_by_role("option", name="Enterprise").click()
    page.locator("h1").first.click()  # close the dropdown
    page.wait_for_function(
        "before => [...document.querySelectorAll('[data-testid=stMetricValue]')].map(e => e.innerText).join('|') !== before",
        arg="|".join(before.values()),
        timeout=60_000,
    )
    wait_for_run(page)
    after = metric_values(page)
    assert after["Won revenue"] != before["Won revenue"]
    assert after["ARR"] != before["ARR"]
    assert page.locator('[data-testid="stException"]').count() == 0
    assert "segment=Enterprise" in page.url


def test_a_deep_link_opened_first_runs_through_the_entrypoint(demo_db, tmp_path, page):
    """A fresh server whose first visitor follows a shared link to a page and its filters."""
    with streamlit_server(demo_db, tmp_path) as url:
        page.goto(f"{url}/overview?segment=SMB&from=2026-01-01&to=2026-03-31")
        wait_for_run(page)
        wait_for_kpis(page)
        assert page.locator('[data-testid="stException"]').count() == 0
        assert "SMB" in page.locator('[data-testid="stMultiSelect"]').first.inner_text()
        assert page.get_by_text("01 Jan 2026 – 31 Mar 2026").count() == 1  # the Overview's caption
