"""The executive report opens in a real Chromium, offline, and shows its sections with drawn charts."""

from __future__ import annotations

import os
from pathlib import Path

from analytics.crm.actions.delivery import RetryPolicy
from analytics.jobs.runner import run_job
from analytics.ops.store import ops_engine
from tests.e2e.browser import chromium_page

SECTIONS = ["KPIs", "Attribution", "ROI", "Customer health", "Budget recommendation"]


def test_executive_report_opens_offline_and_shows_its_sections(demo_db, tmp_path):
    engine = ops_engine(f"sqlite:///{tmp_path / 'ops.sqlite'}")
    report = run_job(
        "executive_reporting", policy=RetryPolicy(max_attempts=1), engine=engine, db=demo_db, exports=tmp_path
    )
    assert report.succeeded, report.line()
    path = Path(report.last.outcome.outputs[0])
    requests = []
    with chromium_page() as page:
        # offline: anything that is not the file itself is refused (and recorded)
        def only_the_file(route):
            if route.request.url.startswith("file:"):
                return route.continue_()
            requests.append(route.request.url)
            return route.abort()

        page.route("**/*", only_the_file)
        page.goto(path.as_uri())
        page.wait_for_function("document.querySelectorAll('.js-plotly-plot .main-svg').length >= 4", timeout=60_000)
        headings = page.eval_on_selector_all("h2", "nodes => nodes.map(n => n.textContent)")
        charts = page.eval_on_selector_all(".js-plotly-plot", "nodes => nodes.length")
        kpis = page.eval_on_selector_all(".kpi .value", "nodes => nodes.map(n => n.textContent)")
        bars = page.eval_on_selector_all("#roi .js-plotly-plot .bars path", "nodes => nodes.length")
        title = page.title()
        if os.environ.get("REVLENS_SCREENSHOTS") == "1":
            page.screenshot(path=str(Path(__file__).parents[2] / "docs" / "executive_report.png"), full_page=False)
    assert headings == SECTIONS
    assert charts == 4 and bars > 0 and len(kpis) == 5 and all(k.strip() for k in kpis)
    assert title.startswith("RevLens executive report")
    assert requests == []
