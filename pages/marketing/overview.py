"""Overview: the front door. Five KPIs against the previous period, each linked to the page that explains it;
what moved most (channels, campaigns, segments); monthly trends (click a month to report on it)."""

import plotly.graph_objects as go
import streamlit as st

from analytics.core.labels import label
from analytics.core.money import money
from analytics.core.numbers import DASH, count, signed_percent
from analytics.core.periods import clamp, period_of
from analytics.overview import kpis as overview
from analytics.overview.movers import movers
from analytics.overview.risk import arr_at_risk_summary
from analytics.warehouse.names import campaign_names
from pages.components.background import background
from pages.components.cache import cached
from pages.components.downloads import download_csv
from pages.components.filters import filters
from pages.components.navigation import page_paths
from pages.components.tables import table

f = filters()
st.title("Overview")
st.caption(
    f"{f.start:%d %b %Y} – {f.end:%d %b %Y}, compared with the previous period of the same length"
    + (f" · segments: {', '.join(f.segments)}" if f.segments else "")
    + (f" · channels: {', '.join(label('channel', c) for c in f.channels)}" if f.channels else "")
)

# KPI -> (label, format, definition, the page that explains it, what the link says)
KPIS = {
    "open_pipeline": (
        "Open pipeline",
        money,
        "Amount of opportunities open at the end of the period",
        "pages/marketing/leads.py",
        "The funnel behind it",
    ),
    "won_revenue": (
        "Won revenue",
        money,
        "Closed-won amount with a close date in the period",
        "pages/marketing/attribution.py",
        "Which campaigns earned it",
    ),
    "marketing_spend": (
        "Marketing spend",
        money,
        "All campaign costs dated in the period",
        "pages/finance/roi.py",
        "What it returned",
    ),
    "active_accounts": (
        "Active accounts",
        count,
        "Paying accounts not churned at the end of the period",
        "pages/customer_success/health.py",
        "Their health",
    ),
    "arr": (
        "ARR",
        money,
        "Annual recurring revenue of the active accounts",
        "pages/customer_success/health.py",
        "ARR at risk",
    ),
}
present = set(page_paths())
kpis = cached(overview.kpis, start=f.start, end=f.end, segments=f.segments, channels=f.channels)
with st.container(key="overview_kpis"):
    for column, (name, (title, fmt, help_text, target, link)) in zip(st.columns(len(KPIS)), KPIS.items()):
        value = kpis[name]
        spend_of_all = name == "marketing_spend" and f.segments
        column.metric(
            title,
            fmt(value.current),
            delta=signed_percent(value.delta_pct),
            delta_color="inverse" if name == "marketing_spend" else "normal",
            help=f"{help_text}. Previous period: {fmt(value.previous)}."
            + (" Campaign costs have no segment: this is the spend of every segment." if spend_of_all else ""),
            border=True,
        )
        if spend_of_all:
            column.caption("Every segment's spend: campaign costs have no segment.")
        if target in present:
            column.page_link(target, label=link, icon=":material/arrow_forward:")

# ---- ARR at risk (the churn model, computed in the background) and what changed
risk_column, changes_column = st.columns([1, 4])


def arr_at_risk_tile(risk) -> None:
    with st.container(key="overview_risk"):
        if risk is None:
            st.metric(
                "ARR at risk",
                "…",
                border=True,
                help="The churn model is being trained on the data's history; the figure appears here when ready.",
            )
            st.caption("Computing the churn model…")
        elif risk.total is None:
            st.metric("ARR at risk", DASH, border=True, help=risk.reason)
        else:
            value = risk.for_segments(f.segments)
            st.metric(
                "ARR at risk" + (f" ({', '.join(f.segments)})" if f.segments else ""),
                money(value),
                border=True,
                help=f"Σ churn probability (next 90 days) × ARR over {risk.accounts:,} accounts on "
                f"{risk.as_of:%d %b %Y}, the data's last day (not the date range).",
            )
        if "pages/customer_success/health.py" in present:
            st.page_link("pages/customer_success/health.py", label="Which accounts", icon=":material/arrow_forward:")


@st.fragment(run_every=3)
def arr_at_risk_pending() -> None:
    """Polls the background job while it runs; once it is done, one full rerun draws the tile and the polling stops
    (a page that reruns every 3 s would never be idle)."""
    risk = background(arr_at_risk_summary)
    if risk is not None:
        st.rerun()
    arr_at_risk_tile(None)


with risk_column:
    ready = background(arr_at_risk_summary)
    if ready is None:
        arr_at_risk_pending()
    else:
        arr_at_risk_tile(ready)

with changes_column:
    st.subheader("What changed")
    st.caption(
        "The three biggest movers against the previous period: channels and campaigns by the revenue linear "
        "attribution credits them, segments by won revenue. Click one to see why."
    )
    moved = cached(movers, start=f.start, end=f.end, segments=f.segments, channels=f.channels, limit=3)
    names = cached(campaign_names)
    with st.container(horizontal=True, key="overview_movers"):
        for dimension, heading in (("channel", "Channels"), ("campaign", "Campaigns"), ("segment", "Segments")):
            with st.container(border=True):
                st.markdown(f"**{heading}**")
                rows = moved.filter(moved["dimension"] == dimension)
                if rows.is_empty():
                    st.caption("No change against the previous period.")
                for row in rows.iter_rows(named=True):
                    shown = (
                        names.get(row["key"], row["key"])
                        if dimension == "campaign"
                        else label("channel", row["key"])
                        if dimension == "channel"
                        else row["key"]
                    )
                    change = f"{'+' if row['delta'] >= 0 else '−'}{money(abs(row['delta']))}"
                    pct = signed_percent(row["delta_pct"])
                    colour = "green" if row["delta"] >= 0 else "red"
                    text = f"{shown} :{colour}[{change}{f' ({pct})' if pct else ''}]"
                    detail = f"{money(row['previous'])} → {money(row['current'])}"
                    # a channel or campaign opens its drill-down on Attribution; a segment, Attribution for it
                    st.page_link(
                        "pages/marketing/attribution.py",
                        label=text,
                        help=(f"Campaign {row['key']} · " if dimension == "campaign" else "") + detail,
                        query_params={"by": dimension, "drill": row["key"]}
                        if dimension != "segment"
                        else {"segment": row["key"]},
                    )


# ---- trends
trends = cached(overview.monthly_trends, start=f.start, end=f.end, segments=f.segments, channels=f.channels)
st.subheader("Monthly trends")
if trends.is_empty():
    st.info("No activity in the selected period; widen the date range in the filter bar.")
    st.stop()


def _focus_month() -> None:
    """A click on a month's bar reports on that month (the filter bar's range becomes the month)."""
    points = (st.session_state.get("overview_trends") or {}).get("selection", {}).get("points") or []
    if points:
        from datetime import date, timedelta

        month = date.fromisoformat(str(points[0]["x"])[:10]).replace(day=1)
        end = (month.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
        period = clamp(period_of(month, end), f.first or month, f.last or end)
        st.session_state["f_dates"] = (period.start, period.end)


months = trends["month"].to_list()
# one figure with a right-hand axis for touchpoints (cheaper than make_subplots on every rerun)
figure = go.Figure(
    data=[
        go.Bar(x=months, y=trends["won_revenue"].to_list(), name="Won revenue"),
        go.Bar(x=months, y=trends["marketing_spend"].to_list(), name="Marketing spend"),
        go.Scatter(x=months, y=trends["new_pipeline"].to_list(), name="New pipeline", mode="lines+markers"),
        go.Scatter(
            x=months,
            y=trends["touchpoints"].to_list(),
            name="Touchpoints",
            mode="lines",
            line={"dash": "dot"},
            yaxis="y2",
        ),
    ],
    layout={
        "barmode": "group",
        "height": 420,
        "margin": {"t": 10, "b": 10},
        "hovermode": "x unified",
        "clickmode": "event+select",
        "legend": {"orientation": "h", "y": 1.08},
        "xaxis": {"tickformat": "%b %Y", "dtick": "M1"},
        "yaxis": {"title": {"text": "USD"}, "tickprefix": "$"},
        "yaxis2": {
            "title": {"text": "Touchpoints"},
            "overlaying": "y",
            "side": "right",
            "showgrid": False,
            "rangemode": "tozero",
        },
    },
)
st.plotly_chart(figure, width="stretch", key="overview_trends", on_select=_focus_month, selection_mode="points")
st.caption("Click a month's bar to report on that month.")
# drawn only when opened: a table costs the first run pandas and pyarrow (Streamlit's dataframe)
monthly = st.expander("Monthly figures", key="overview_monthly", on_change="rerun")
if monthly.open:
    with monthly:
        table(
            trends,
            column_config={"month": st.column_config.DateColumn("Month", format="MMM YYYY")},
            key="overview_monthly_table",
        )
        download_csv(trends, f"revlens_overview_{f.start}_{f.end}.csv", key="download_overview")
