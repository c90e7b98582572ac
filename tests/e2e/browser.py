"""Helpers of the end-to-end tests: the app's server, Debian's Chromium through Playwright, and reading a page.

- :func:`streamlit_server` starts ``python -m analytics app`` on a free localhost port;
- :data:`CHROMIUM` and :data:`CHROMIUM_ARGS` launch the browser (:func:`chromium_page`);
- :func:`wait_for_run`, :func:`wait_for_kpis` and :func:`metric_values` read a rendered page;
- :func:`save_screenshot` refreshes a README screenshot under ``docs/`` only when ``REVLENS_SCREENSHOTS=1``;
- the ``server`` and ``page`` fixtures (one app on the demo warehouse, one browser tab per
  test module) are offered to every e2e test by ``tests/e2e/conftest.py``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
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
VIEWPORT = {"width": 1440, "height": 1000}


def save_screenshot(page, name: str, *, full_page: bool = True) -> None:
    """Write ``docs/<name>`` from ``page``, only when ``REVLENS_SCREENSHOTS=1``.

    A test run must not dirty the checkout, so screenshots are refreshed on purpose:
    ``REVLENS_SCREENSHOTS=1 .venv/bin/python -m pytest tests/e2e``.
    """
    if os.environ.get("REVLENS_SCREENSHOTS") == "1":
        page.screenshot(path=str(ROOT / "docs" / name), full_page=full_page)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def streamlit_server(db: str, workdir: Path, **extra_env: str) -> Iterator[str]:
    """`python -m analytics app` on a free localhost port; yields its URL once healthy.

    Its output goes to ``workdir / "streamlit.log"``; its ops store is ``workdir / "ops.sqlite"``.
    """
    port = free_port()
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


def ensure_chromium() -> None:
    """Install Debian's Chromium when it is missing and this is root; else fail with how to install it."""
    if not Path(CHROMIUM).exists() and os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(
            "apt-get update -qq && apt-get install -y -qq chromium",
            shell=True,
            check=False,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        )
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing at /usr/bin/chromium: install it with `apt-get install chromium`.")


@contextlib.contextmanager
def chromium_page(viewport: dict | None = None):
    """A new tab of a headless Chromium (closed on exit)."""
    ensure_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser.new_page(viewport=viewport or VIEWPORT)
        finally:
            browser.close()


def wait_for_run(page, timeout_ms: int = 90_000) -> None:
    """Wait until the script run has finished: the app is rendered and the running indicator is gone."""
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=timeout_ms)
    page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=timeout_ms)


def wait_for_kpis(page, timeout_ms: int = 90_000) -> None:
    """The first load reports "not running" before its run starts: wait for the Overview's five KPI tiles."""
    page.wait_for_function(
        "document.querySelectorAll('.st-key-overview_kpis [data-testid=stMetricValue]').length >= 5", timeout=timeout_ms
    )


def metric_values(page) -> dict[str, str]:
    """Label -> value of every metric tile, read in one go (a rerun may redraw them at any time)."""
    return page.evaluate("""() => Object.fromEntries(
        [...document.querySelectorAll('[data-testid="stMetric"]')].map(m => [
            (m.querySelector('[data-testid="stMetricLabel"]')?.innerText ?? '').trim(),
            (m.querySelector('[data-testid="stMetricValue"]')?.innerText ?? '').trim()]))""")


@pytest.fixture(scope="module")
def server(demo_db, tmp_path_factory):
    """The app on the small demo warehouse, one server per test module; yields its URL."""
    with streamlit_server(demo_db, tmp_path_factory.mktemp("server")) as url:
        yield url


@pytest.fixture(scope="module")
def page():
    """One Chromium tab per test module (1440 × 1000)."""
    with chromium_page() as tab:
        yield tab
