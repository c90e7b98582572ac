"""The last scheduled run's figures, one line on the page that owns the capability."""

from __future__ import annotations

import streamlit as st

from analytics.core.labels import label
from analytics.core.money import money
from analytics.core.numbers import percent


def _roi(summary: dict) -> str:
    totals = summary.get("totals") or {}
    return (
        f"{summary.get('period')} under {label('model', summary.get('model'))}: investment {money(totals.get('total_investment'))}, "
        f"attributed revenue {money(totals.get('attributed_revenue'))}, ROI {percent(totals.get('roi_percentage'))}"
    )


def _attribution(summary: dict) -> str:
    conserved = sum(1 for m in summary.get("conservation", []) if m.get("conserved"))
    return (
        f"{summary.get('won_deals', 0):,} won deals, {money(summary.get('won_revenue'))} credited under "
        f"{len(summary.get('conservation', []))} models ({conserved} conserve credit exactly)"
    )


DESCRIBE = {"roi_calculations": _roi, "attribution_modeling": _attribution}


def last_run_caption(job: str) -> None:
    """``Scheduled JOB last ran at T: <its figures>`` under the page title, when it has run."""
    from analytics.core.errors import RevLensError
    from analytics.jobs.runner import last_results
    from analytics.ops.store import ops_engine

    try:
        stored = last_results(ops_engine(), job)
    except RevLensError:
        return
    if stored is None:
        return
    st.caption(
        f":material/schedule: Scheduled {label('job', job)} last ran {stored['created_at']:%d %b %Y %H:%M} UTC: "
        f"{DESCRIBE[job](stored['summary'])} (Operations → System)."
    )
