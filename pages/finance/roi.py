"""Finance → ROI: what each campaign cost and returned under an attribution model (budgets: the Budget page)."""

import plotly.express as px
import plotly.graph_objects as go
import polars as pl
import streamlit as st

from analytics.attribution.models import BY_NAME, MODELS
from analytics.core.money import dollars as usd
from analytics.core.money import money
from analytics.core.numbers import DASH
from analytics.core.numbers import percent as format_roi
from analytics.core.periods import custom_period, parse_period, period_labels
from analytics.crm import targets as crm_push
from analytics.finance.budget import budget_consumption
from analytics.finance.costs import ALLOCATION_CHOICES, OpportunityCostAssumption, cost_lines
from analytics.finance.drilldown import campaign_deals
from analytics.finance.export import workbook_bytes
from analytics.finance.report import (
    DEFAULT_GROSS_MARGIN,
    DEFAULT_N_BOOT,
    financial_report,
    previous_summary,
    summarize,
)
from analytics.finance.roi import NOT_REACHED
from analytics.overview import kpis as overview
from pages.components.actions import action_button, queued_notice
from pages.components.cache import cached
from pages.components.downloads import download_csv
from pages.components.filters import filters
from pages.components.jobs import last_run_caption

f = filters()
st.title("Campaign ROI")
last_run_caption("roi_calculations")

# ---- what to report
first, last = cached(overview.data_range)
left, middle, right, far = st.columns([2, 2, 2, 2])
period_kind = (
    left.segmented_control("Period", ["Filter dates", "Month", "Quarter"], default="Quarter", key="roi_period_kind")
    or "Quarter"
)
if period_kind == "Filter dates":
    period = custom_period(f.start, f.end)
else:
    kind = "month" if period_kind == "Month" else "quarter"
    labels = period_labels(first, last, kind)
    complete = [i for i, label in enumerate(labels) if parse_period(label).end <= last]  # default: latest whole one
    period = parse_period(
        middle.selectbox(period_kind, labels, index=complete[0] if complete else 0, key=f"roi_{kind}")
    )
model = right.selectbox(
    "Attribution model",
    MODELS,
    index=MODELS.index("linear"),
    format_func=lambda name: BY_NAME[name].label,
    key="roi_model",
    help="How closed-won revenue is credited to the campaigns that touched the deal.",
)
allocation = far.selectbox(
    "Overhead allocation",
    ALLOCATION_CHOICES,
    key="roi_allocation",
    help="Overhead not booked to a campaign, split per month. headcount: by each campaign's "
    "share of booked people hours; time_based: by its share of active campaign-days; "
    "as_booked: by the method recorded on each overhead row.",
)
with st.expander("Assumptions"):
    a1, a2, a3, a4 = st.columns(4)
    gross_margin = a1.number_input(
        "Gross margin",
        0.05,
        1.0,
        DEFAULT_GROSS_MARGIN,
        0.05,
        key="roi_margin",
        help="Share of revenue that is gross profit; payback is on gross profit.",
    )
    hours = a2.number_input(
        "Sales hours per won deal",
        0.0,
        500.0,
        OpportunityCostAssumption.hours_per_won_deal,
        1.0,
        key="roi_hours",
        help="Opportunity cost: hours × rate per attributed conversion.",
    )
    rate = a3.number_input(
        "Loaded hourly rate (USD)", 0.0, 1000.0, OpportunityCostAssumption.loaded_hourly_rate, 5.0, key="roi_rate"
    )
    n_boot = a4.number_input(
        "Bootstrap resamples",
        0,
        500,
        DEFAULT_N_BOOT,
        10,
        key="roi_boot",
        help="For the confidence level's interval; 0 skips it.",
    )

with st.status(f"Computing ROI for {period.label} under {model}…", expanded=False) as status:
    report = cached(
        financial_report,
        start=period.start,
        end=period.end,
        kind=period.kind,
        model=model,
        allocation=allocation,
        gross_margin=gross_margin,
        hours_per_won_deal=hours,
        loaded_hourly_rate=rate,
        n_boot=int(n_boot),
    )
    status.update(label=f"ROI for {period.label} under {model}", state="complete")

by_channel, by_campaign = report.by_channel, report.by_campaign
if f.channels:
    by_channel = by_channel.filter(pl.col("channel").is_in(f.channels))
    by_campaign = by_campaign.filter(pl.col("channel").is_in(f.channels))
st.caption(
    f"{report.period.label} ({report.period.start} – {report.period.end})"
    + (f", compared with {report.previous_period.label}" if report.previous_period else "")
    + f" · model {model} · overhead {allocation}"
    + (f" · channels: {', '.join(f.channels)}" if f.channels else "")
    + (" · the segment filter does not apply here (campaign costs have no segment)" if f.segments else "")
)

# ---- KPI row
current = summarize(by_campaign)
previous = previous_summary(report, f.channels)


def delta(name: str, percent_points: bool = False) -> str | None:
    if previous is None or current[name] is None or previous[name] is None:
        return None
    if percent_points:
        return f"{current[name] - previous[name]:+.2f} pp"
    return None if previous[name] == 0 else f"{(current[name] - previous[name]) / abs(previous[name]):+.1%}"


k1, k2, k3, k4, k5, k6 = st.columns(6)
k1.metric(
    "Total investment",
    money(current["total_investment"]),
    delta("total_investment"),
    delta_color="inverse",
    border=True,
    help=f"{usd(current['total_investment'])}: campaign costs + operational costs + opportunity costs",
)
k2.metric(
    "Attributed revenue",
    money(current["attributed_revenue"]),
    delta("attributed_revenue"),
    border=True,
    help=f"{usd(current['attributed_revenue'])} of closed-won revenue credited to campaigns",
)
k3.metric(
    "Net revenue",
    money(current["net_revenue"]),
    delta("net_revenue"),
    border=True,
    help=f"{usd(current['net_revenue'])}: attributed revenue − total investment",
)
k4.metric(
    "ROI",
    format_roi(current["roi_percentage"]),
    delta("roi_percentage", True),
    border=True,
    help="net revenue / total investment × 100",
)
k5.metric(
    "ROAS",
    DASH if current["roas"] is None else f"{current['roas']:.2f}×",
    border=True,
    help="attributed revenue / media spend",
)
k6.metric("CAC", usd(current["cac"]), border=True, help="total investment / attributed conversions")
total = report.totals.row(0, named=True)
if not f.channels:
    st.caption(
        f"Payback of the whole programme: {total['payback_period'] or DASH}"
        f"{' months' if total['payback_months'] is not None else ''} · confidence {total['confidence_level']}"
        f" ({total['confidence_reason']}) · revenue not attributed to any campaign: "
        f"{usd(total['unattributed_revenue'])}"
    )

# ---- table
by = st.segmented_control("Rows", ["campaign", "channel"], default="campaign", key="roi_by") or "campaign"
table = by_campaign if by == "campaign" else by_channel
shown = table.select(
    *(["campaign_id", "campaign_name"] if by == "campaign" else []),
    "channel",
    "total_investment",
    "attributed_revenue",
    "net_revenue",
    "roi_percentage",
    "roas",
    "cac",
    "attributed_conversions",
    "payback_months",
    "payback_period",
    "confidence_level",
    "confidence_reason",
    "media_spend",
    "creative_production",
    "platform_fees",
    "operational_costs",
    "opportunity_costs",
)
# st.dataframe draws a null as "None" whatever the Styler says, so undefined values (no investment,
# no media spend, no conversions) get a display-only stand-in that sorts last and is drawn as "—";
# a payback not reached sorts as the longest.
UNDEFINED, NOT_REACHED_SORT = float("-inf"), float("inf")
shown = shown.with_columns(
    pl.col("roi_percentage", "roas", "cac").fill_null(UNDEFINED),
    pl.when(pl.col("payback_period") == NOT_REACHED)
    .then(NOT_REACHED_SORT)
    .otherwise(pl.col("payback_months"))
    .fill_null(UNDEFINED)
    .alias("payback_months"),
).drop("payback_period")


def or_dash(show):
    return lambda v: DASH if v == UNDEFINED else show(v)


def roi_colour(value) -> str:
    if value is None or value != value or value in (UNDEFINED, NOT_REACHED_SORT):
        return ""
    return "background-color: #d7f0dd" if value >= 0 else "background-color: #f8d7da"


styled = (
    shown.to_pandas()
    .style.map(roi_colour, subset=["roi_percentage", "net_revenue"])
    .format(
        {
            "roi_percentage": or_dash(format_roi),
            "roas": or_dash("{:.2f}×".format),
            "cac": or_dash(usd),
            "payback_months": or_dash(lambda v: NOT_REACHED if v == NOT_REACHED_SORT else f"{v:.1f}"),
        }
    )
)
dollars = st.column_config.NumberColumn(format="dollar")
st.dataframe(
    styled,
    width="stretch",
    hide_index=True,
    column_config={
        "campaign_id": "Campaign",
        "campaign_name": "Name",
        "channel": "Channel",
        "total_investment": st.column_config.NumberColumn("Investment", format="dollar"),
        "attributed_revenue": st.column_config.NumberColumn("Attributed revenue", format="dollar"),
        "net_revenue": st.column_config.NumberColumn("Net revenue", format="dollar"),
        "roi_percentage": st.column_config.NumberColumn("ROI"),
        "roas": st.column_config.NumberColumn("ROAS"),
        "cac": st.column_config.NumberColumn("CAC"),
        "attributed_conversions": st.column_config.NumberColumn("Conversions", format="%.1f"),
        "payback_months": st.column_config.NumberColumn("Payback (months)"),
        "confidence_level": "Confidence",
        "confidence_reason": "Why",
        "media_spend": dollars,
        "creative_production": dollars,
        "platform_fees": dollars,
        "operational_costs": dollars,
        "opportunity_costs": dollars,
    },
)
d1, d2 = st.columns(2)
with d1:
    download_csv(table, f"revlens_roi_{by}_{report.period.label}.csv", key="roi_csv")
with d2:
    st.download_button(
        "Download Excel report",
        workbook_bytes(report, cached(budget_consumption)),
        file_name=f"revlens_roi_{report.period.label}.xlsx",
        icon=":material/download:",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        key="roi_xlsx",
    )

# ---- charts
chart_left, chart_right = st.columns(2)
with chart_left:
    st.subheader("From investment to net")
    costs = {
        "Media": "media_spend",
        "Creative": "creative_production",
        "Platform fees": "platform_fees",
        "Overhead": "operational_costs",
        "Sales time": "opportunity_costs",
    }
    steps = [(label, -float(table[column].sum())) for label, column in costs.items()]
    steps.append(("Attributed revenue", float(table["attributed_revenue"].sum())))
    net = sum(value for _, value in steps)
    waterfall = go.Figure(
        go.Waterfall(
            x=[label for label, _ in steps] + ["Net revenue"],
            y=[value for _, value in steps] + [0],
            measure=["relative"] * len(steps) + ["total"],
            text=[money(v) for _, v in steps] + [money(net)],
            textposition="outside",
            decreasing={"marker": {"color": "#d9534f"}},
            increasing={"marker": {"color": "#5cb85c"}},
            totals={"marker": {"color": "#337ab7"}},
        )
    )
    waterfall.update_layout(height=380, margin={"t": 10, "b": 10}, yaxis_title="USD", showlegend=False)
    st.plotly_chart(waterfall, width="stretch")
with chart_right:
    st.subheader("ROI against spend")
    points = table.filter(pl.col("roi_percentage").is_not_null())
    scatter = px.scatter(
        points.to_pandas(),
        x="total_investment",
        y="roi_percentage",
        size="attributed_revenue",
        color="channel",
        size_max=40,
        hover_name="campaign_name" if by == "campaign" else "channel",
        labels={
            "total_investment": "Investment (USD)",
            "roi_percentage": "ROI (%)",
            "attributed_revenue": "Attributed revenue",
        },
    )
    scatter.add_hline(y=0, line_dash="dot")
    scatter.update_layout(height=380, margin={"t": 10, "b": 10})
    st.plotly_chart(scatter, width="stretch")
    if points.height < table.height:
        st.caption(f"{table.height - points.height} row(s) without investment have no ROI and are not drawn.")

# ---- drill-down
st.subheader("Campaign drill-down")
campaign_options = [c for c in by_campaign["campaign_id"].to_list() if c is not None]
if not campaign_options:
    st.info("No campaign has costs or attributed revenue in this period; pick another period.")
else:
    names = dict(zip(by_campaign["campaign_id"], by_campaign["campaign_name"]))
    chosen = st.selectbox(
        "Campaign", campaign_options, format_func=lambda c: f"{c} — {names.get(c, c)}", key="roi_campaign"
    )
    row = by_campaign.filter(pl.col("campaign_id") == chosen).row(0, named=True)
    st.caption(
        f"Investment {usd(row['total_investment'])} · attributed revenue {usd(row['attributed_revenue'])} · "
        f"ROI {format_roi(row['roi_percentage'])} · payback {row['payback_period'] or DASH} · "
        f"confidence {row['confidence_level']}: {row['confidence_reason']}"
    )
    lines_col, deals_col = st.columns(2)
    with lines_col:
        st.markdown("**Cost lines** (booked, and allocated overhead)")
        lines = cached(cost_lines, campaign_id=chosen, start=period.start, end=period.end, allocation=allocation)
        st.dataframe(
            lines,
            width="stretch",
            hide_index=True,
            column_config={
                "cost_date": st.column_config.DateColumn("Date", format="YYYY-MM-DD"),
                "amount": st.column_config.NumberColumn("Amount", format="dollar"),
            },
        )
        st.caption(f"Opportunity cost (sales time) on top: {usd(row['opportunity_costs'])}.")
    with deals_col:
        st.markdown("**Closed-won deals the campaign touched**")
        deals = cached(campaign_deals, campaign_id=chosen, start=period.start, end=period.end, model=model)
        st.dataframe(
            deals.drop("opportunity_id"),
            width="stretch",
            hide_index=True,
            column_config={
                "amount": st.column_config.NumberColumn("Amount", format="dollar"),
                "close_date": st.column_config.DateColumn("Closed", format="YYYY-MM-DD"),
                "touch_share": st.column_config.NumberColumn("Touch share", format="percent"),
                "credit": st.column_config.NumberColumn(f"Credit ({BY_NAME[model].label})", format="dollar"),
            },
        )
        st.caption(
            f"{deals.height} deals. Credit: the campaign's share of each deal under {BY_NAME[model].label} "
            "(the attribution engine's), adding up to its attributed revenue above."
        )
    with st.container(border=True):
        audience = cached(crm_push.campaign_audience, campaign_id=chosen, start=period.start, end=period.end)
        st.markdown(
            f"**Follow-up campaign**: the {audience.height:,} contacts (with a HubSpot id) this campaign "
            "engaged in the period, added to a HubSpot list that starts the follow-up."
        )
        list_col, button_col = st.columns([2, 1], vertical_alignment="bottom")
        list_id = list_col.text_input("HubSpot list id", key="roi_list_id", placeholder="e.g. 123").strip()
        with button_col:
            action_button(
                "Add them to the list…",
                "add_to_list",
                lambda: crm_push.frame_to_targets(audience),
                {"list_id": list_id},
                preview_frame=audience,
                key="roi_follow_up",
                title=f"Follow-up campaign for {names.get(chosen, chosen)}",
                disabled=not list_id or audience.is_empty(),
                icon=":material/group_add:",
            )
        queued_notice()
