"""Overview: the five KPIs with period-over-period deltas, and monthly trends."""

import plotly.graph_objects as go
import streamlit as st

from analytics.core.money import money
from analytics.core.numbers import count, signed_percent
from analytics.overview import kpis as overview
from pages.components.cache import cached
from pages.components.downloads import download_csv
from pages.components.filters import filters

f = filters()
st.title("Overview")
st.caption(
    f"{f.start:%d %b %Y} – {f.end:%d %b %Y}, compared with the previous period of the same length"
    + (f" · segments: {', '.join(f.segments)}" if f.segments else "")
    + (f" · channels: {', '.join(f.channels)}" if f.channels else "")
)

kpis = cached(overview.kpis, start=f.start, end=f.end, segments=f.segments, channels=f.channels)
labels = {
    "open_pipeline": ("Open pipeline", money, "Amount of opportunities open at the end of the period"),
    "won_revenue": ("Won revenue", money, "Closed-won amount with a close date in the period"),
    "marketing_spend": ("Marketing spend", money, "All campaign costs dated in the period"),
    "active_accounts": ("Active accounts", count, "Paying accounts not churned at the end of the period"),
    "arr": ("ARR", money, "Annual recurring revenue of the active accounts"),
}
with st.container(key="overview_kpis"):
    for column, (name, (label, fmt, help_text)) in zip(st.columns(len(labels)), labels.items()):
        value = kpis[name]
        column.metric(
            label,
            fmt(value.current),
            delta=signed_percent(value.delta_pct),
            delta_color="inverse" if name == "marketing_spend" else "normal",
            help=f"{help_text}. Previous period: {fmt(value.previous)}.",
            border=True,
        )

trends = cached(overview.monthly_trends, start=f.start, end=f.end, segments=f.segments, channels=f.channels)
st.subheader("Monthly trends")
if trends.is_empty():
    st.info("No activity in the selected period; widen the date range in the filter bar.")
else:
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
            "legend": {"orientation": "h", "y": 1.08},
            "yaxis": {"title": {"text": "USD"}},
            "yaxis2": {
                "title": {"text": "Touchpoints"},
                "overlaying": "y",
                "side": "right",
                "showgrid": False,
                "rangemode": "tozero",
            },
        },
    )
    st.plotly_chart(figure, width="stretch", key="overview_trends")
    # drawn only when opened: a table costs the first run pandas and pyarrow (Streamlit's dataframe)
    monthly = st.expander("Monthly figures", key="overview_monthly", on_change="rerun")
    if monthly.open:
        with monthly:
            st.dataframe(
                trends,
                width="stretch",
                hide_index=True,
                column_config={
                    "month": st.column_config.DateColumn("Month", format="MMM YYYY"),
                    "won_revenue": st.column_config.NumberColumn("Won revenue", format="dollar"),
                    "new_pipeline": st.column_config.NumberColumn("New pipeline", format="dollar"),
                    "marketing_spend": st.column_config.NumberColumn("Marketing spend", format="dollar"),
                },
            )
            download_csv(trends, f"revlens_overview_{f.start}_{f.end}.csv", key="download_overview")
