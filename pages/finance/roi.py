"""Finance → ROI: what each campaign cost and returned under an attribution model.

The period is the filter bar's (a range that is exactly a month, quarter or year is reported as
one and compared with the one before); budgets are on the Budget page. Click a campaign's row or
point to open its drill-down (cost lines, the deals it is credited with, a follow-up campaign);
the drilled view is in the URL.
"""

import plotly.express as px
import plotly.graph_objects as go
import polars as pl
import streamlit as st

from analytics.attribution.compare import rank_changes
from analytics.attribution.models import BY_NAME, MODELS
from analytics.core.labels import label
from analytics.core.money import dollars as usd
from analytics.core.money import money
from analytics.core.numbers import DASH, ratio
from analytics.core.numbers import percent as format_roi
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
from pages.components.actions import action_button, queued_notice
from pages.components.cache import cached
from pages.components.downloads import download_csv
from pages.components.drill import breadcrumbs, drill_from_chart, drill_from_table, from_url, to_url
from pages.components.filters import filters
from pages.components.jobs import last_run_caption
from pages.components.tables import table

f = filters()
period = f.period
st.title("Campaign ROI")
last_run_caption("roi_calculations")

left, middle, right = st.columns([2, 2, 3])
model = left.selectbox(
    "Attribution model",
    MODELS,
    index=MODELS.index("linear"),
    format_func=lambda name: BY_NAME[name].label,
    key="roi_model",
    help="How closed-won revenue is credited to the campaigns that touched the deal.",
)
allocation = middle.selectbox(
    "Overhead allocation",
    ALLOCATION_CHOICES,
    key="roi_allocation",
    format_func=lambda name: label("allocation", name),
    help="Overhead not booked to a campaign, split per month: by each campaign's share of booked people hours, "
    "by its share of active campaign-days, or by the method recorded on each overhead row.",
)
right.caption(
    "Every model splits the same closed-won revenue, so total attributed revenue and total ROI are the same under "
    "each one; only the campaigns' shares move. “What changes between models” below shows how."
    if not f.channels
    else "The chosen channels' totals change with the model (the model moves credit between channels); across every "
    "channel, total attributed revenue and ROI are the same under each model."
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

assumptions = dict(allocation=allocation, gross_margin=gross_margin, hours_per_won_deal=hours, loaded_hourly_rate=rate)
with st.status(f"Computing ROI for {period.label} under {BY_NAME[model].label}…", expanded=False) as status:
    report = cached(
        financial_report,
        start=period.start,
        end=period.end,
        kind=period.kind,
        model=model,
        n_boot=int(n_boot),
        **assumptions,
    )
    status.update(label=f"ROI for {period.label} under {BY_NAME[model].label}", state="complete")

by_channel, by_campaign = report.by_channel, report.by_campaign
if f.channels:
    by_channel = by_channel.filter(pl.col("channel").is_in(f.channels))
    by_campaign = by_campaign.filter(pl.col("channel").is_in(f.channels))
st.caption(
    f"{report.period.label} ({report.period.start:%d %b %Y} – {report.period.end:%d %b %Y})"
    + (f", compared with {report.previous_period.label}" if report.previous_period else "")
    + f" · {BY_NAME[model].label} · overhead {label('allocation', allocation).lower()}"
    + (f" · channels: {', '.join(label('channel', c) for c in f.channels)}" if f.channels else "")
)
if by_campaign.is_empty():
    st.info("No campaign has costs or attributed revenue in this period; pick another period in the filter bar.")
    st.stop()

names = dict(zip(by_campaign["campaign_id"], by_campaign["campaign_name"]))
campaign_ids = [c for c in by_campaign["campaign_id"].to_list() if c is not None and not c.startswith("(")]


def campaign_label(campaign_id: str | None) -> str:
    if campaign_id is None or campaign_id.startswith("("):
        return label("key", campaign_id)
    return names.get(campaign_id) or campaign_id


# ---- the drill-down of one campaign (chosen by a click, here, or a shared link)
from_url("roi_campaign", "campaign", campaign_ids)
if st.session_state.get("roi_campaign") not in campaign_ids:
    st.session_state["roi_campaign"] = None
chosen = st.selectbox(
    "Campaign drill-down",
    campaign_ids,
    index=None,
    key="roi_campaign",
    format_func=campaign_label,
    placeholder="Click a campaign's row or point, or choose one here",
    help="Its cost lines, the won deals it is credited with, and a follow-up campaign. Its address can be shared.",
)
to_url("campaign", chosen)

if chosen:
    breadcrumbs(["ROI", "Campaigns", campaign_label(chosen)], "roi_campaign", "All campaigns", key="roi_back")
    row = by_campaign.filter(pl.col("campaign_id") == chosen).row(0, named=True)
    st.subheader(campaign_label(chosen), help=f"Campaign {chosen}")
    st.caption(
        f"{label('channel', row['channel'])} · confidence "
        f"{label('confidence', row['confidence_level']).lower()}: {row['confidence_reason']}"
    )
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Investment", money(row["total_investment"]), border=True, help=usd(row["total_investment"]))
    c2.metric(
        f"Attributed revenue ({BY_NAME[model].label})",
        money(row["attributed_revenue"]),
        border=True,
        help=usd(row["attributed_revenue"]),
    )
    c3.metric("ROI", format_roi(row["roi_percentage"]), border=True, help="net revenue / total investment × 100")
    c4.metric(
        "Payback",
        DASH
        if row["payback_period"] is None
        else label("payback", row["payback_period"])
        if row["payback_months"] is None
        else f"{row['payback_months']:.1f} months",
        border=True,
    )
    lines_col, deals_col = st.columns(2)
    with lines_col:
        st.markdown("**Cost lines** (booked, and allocated overhead)")
        lines = cached(cost_lines, campaign_id=chosen, start=period.start, end=period.end, allocation=allocation)
        table(
            lines,
            key="roi_cost_lines",
            column_config={"cost_date": st.column_config.DateColumn("Date", format="YYYY-MM-DD")},
        )
        st.caption(f"Opportunity cost (sales time) on top: {usd(row['opportunity_costs'])}.")
    with deals_col:
        st.markdown("**Closed-won deals the campaign touched**")
        deals = cached(campaign_deals, campaign_id=chosen, start=period.start, end=period.end, model=model)
        table(
            deals.drop("opportunity_id", strict=False),
            key="roi_deals",
            column_config={
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
                preview_frame=audience.select(
                    pl.col("email").alias("Contact"),
                    pl.col("touches").alias("Touches"),
                    pl.col("last_touch").dt.strftime("%Y-%m-%d %H:%M").alias("Last touch"),
                    pl.col("hubspot_id").alias("HubSpot ID"),
                ),
                key="roi_follow_up",
                title=f"Follow-up campaign for {campaign_label(chosen)}",
                disabled=not list_id or audience.is_empty(),
                help=None if list_id else "Enter the HubSpot list id first.",
                icon=":material/group_add:",
            )
        queued_notice()
    st.stop()

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
k5.metric("ROAS", ratio(current["roas"]), border=True, help="attributed revenue / media spend")
k6.metric("CAC", usd(current["cac"]), border=True, help="total investment / attributed conversions")
total = report.totals.row(0, named=True)
if not f.channels:
    payback = total["payback_period"]
    st.caption(
        f"Payback of the whole programme: {DASH if payback is None else label('payback', payback)}"
        f"{' months' if total['payback_months'] is not None else ''} · confidence "
        f"{label('confidence', total['confidence_level']).lower()} ({total['confidence_reason']}) · revenue not "
        f"attributed to any campaign: {usd(total['unattributed_revenue'])}"
    )

# ---- table
by = (
    st.segmented_control(
        "Rows", ["campaign", "channel"], default="campaign", key="roi_by", format_func=lambda d: label("dimension", d)
    )
    or "campaign"
)
rows_frame = by_campaign if by == "campaign" else by_channel
columns = [
    *(["campaign_name"] if by == "campaign" else []),
    "channel",
    "total_investment",
    "attributed_revenue",
    "net_revenue",
    "roi_percentage",
    "roas",
    "cac",
    "attributed_conversions",
    "payback_period",
    "confidence_level",
    "confidence_reason",
    "media_spend",
    "creative_production",
    "platform_fees",
    "operational_costs",
    "opportunity_costs",
    *(["campaign_id"] if by == "campaign" else []),
]
shown = rows_frame.select(columns).with_columns(
    *(
        [
            pl.struct("campaign_id", "campaign_name")
            .map_elements(
                lambda r: (
                    campaign_label(r["campaign_id"])
                    if (r["campaign_id"] or "(").startswith("(")
                    else r["campaign_name"] or r["campaign_id"]
                ),
                pl.String,
            )
            .alias("campaign_name")
        ]
        if by == "campaign"
        else []
    ),
    pl.when(pl.col("payback_period").is_not_null() & (pl.col("payback_period") != "not reached"))
    .then(pl.col("payback_period") + " months")
    .otherwise(pl.col("payback_period"))
    .alias("payback_period"),
)
row_keys = rows_frame["campaign_id"].to_list() if by == "campaign" else []
st.caption("Click a campaign's row to open its drill-down." if by == "campaign" else "")
table(
    shown,
    key="roi_table",
    kinds={"payback_period": "payback"},
    column_config={
        "campaign_name": "Campaign",
        "total_investment": st.column_config.NumberColumn("Investment", format="dollar"),
        "roi_percentage": st.column_config.NumberColumn("ROI", format="%.2f%%"),
        "roas": st.column_config.NumberColumn("ROAS", format="%.2f×"),
        "attributed_conversions": st.column_config.NumberColumn("Conversions", format="%.1f"),
        "payback_period": "Payback",
        "confidence_level": "Confidence",
        "confidence_reason": st.column_config.TextColumn("Why", width="medium"),
        "campaign_id": st.column_config.TextColumn("Campaign ID"),
    },
    on_select=(lambda: drill_from_table("roi_table", "roi_campaign", row_keys)) if by == "campaign" else "ignore",
    selection_mode="single-row",
)
d1, d2 = st.columns(2)
with d1:
    download_csv(rows_frame, f"revlens_roi_{by}_{report.period.label}.csv", key="roi_csv")
with d2:
    st.download_button(
        "Download Excel report",
        lambda: workbook_bytes(report, cached(budget_consumption)),
        file_name=f"revlens_roi_{report.period.label}.xlsx",
        icon=":material/download:",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        on_click="ignore",
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
    steps = [(name, -float(rows_frame[column].sum())) for name, column in costs.items()]
    steps.append(("Attributed revenue", float(rows_frame["attributed_revenue"].sum())))
    net = sum(value for _, value in steps)
    waterfall = go.Figure(
        go.Waterfall(
            x=[name for name, _ in steps] + ["Net revenue"],
            y=[value for _, value in steps] + [0],
            measure=["relative"] * len(steps) + ["total"],
            text=[money(v) for _, v in steps] + [money(net)],
            textposition="outside",
            decreasing={"marker": {"color": "#d9534f"}},
            increasing={"marker": {"color": "#5cb85c"}},
            totals={"marker": {"color": "#337ab7"}},
        )
    )
    waterfall.update_layout(
        height=380, margin={"t": 10, "b": 10}, yaxis={"title": {"text": "USD"}, "tickprefix": "$"}, showlegend=False
    )
    st.plotly_chart(waterfall, width="stretch", key="roi_waterfall")
with chart_right:
    st.subheader("ROI against spend")
    points = rows_frame.filter(pl.col("roi_percentage").is_not_null())
    scatter = px.scatter(
        points.with_columns(
            pl.col("channel").map_elements(lambda c: label("channel", c), pl.String).alias("Channel"),
            *(
                [pl.col("campaign_id").map_elements(campaign_label, pl.String).alias("name")]
                if by == "campaign"
                else [pl.col("channel").map_elements(lambda c: label("channel", c), pl.String).alias("name")]
            ),
        ).to_pandas(),
        x="total_investment",
        y="roi_percentage",
        size="attributed_revenue",
        color="Channel",
        size_max=40,
        hover_name="name",
        custom_data=["campaign_id"] if by == "campaign" else ["channel"],
        labels={
            "total_investment": "Investment (USD)",
            "roi_percentage": "ROI (%)",
            "attributed_revenue": "Attributed revenue",
        },
    )
    scatter.add_hline(y=0, line_dash="dot")
    scatter.update_layout(height=380, margin={"t": 10, "b": 10}, clickmode="event+select")
    st.plotly_chart(
        scatter,
        width="stretch",
        key="roi_scatter",
        on_select=(lambda: drill_from_chart("roi_scatter", "roi_campaign", campaign_ids))
        if by == "campaign"
        else "ignore",
        selection_mode="points",
    )
    if points.height < rows_frame.height:
        st.caption(f"{rows_frame.height - points.height} row(s) without investment have no ROI and are not drawn.")

# ---- what changes between models
st.subheader("What changes between models")
baseline_choices = [m for m in MODELS if m != model]
baseline = st.selectbox(
    "Against the baseline",
    baseline_choices,
    index=baseline_choices.index("last_touch") if "last_touch" in baseline_choices else 0,
    format_func=lambda m: BY_NAME[m].label,
    key="roi_baseline",
    help="Last touch is what most CRMs report; any model can be the baseline.",
)
base_report = cached(
    financial_report,
    start=period.start,
    end=period.end,
    kind=period.kind,
    model=baseline,
    n_boot=0,
    compare=False,
    **assumptions,
)
base_campaigns = base_report.by_campaign
if f.channels:
    base_campaigns = base_campaigns.filter(pl.col("channel").is_in(f.channels))
pair = pl.concat(
    [
        by_campaign.select("campaign_id", pl.lit(model).alias("model"), "attributed_revenue"),
        base_campaigns.select("campaign_id", pl.lit(baseline).alias("model"), "attributed_revenue"),
    ]
).filter(~pl.col("campaign_id").str.starts_with("("))
changes = (
    rank_changes(pair, "campaign_id", model, baseline)
    .join(by_campaign.select("campaign_id", "roi_percentage"), on="campaign_id", how="left")
    .join(
        base_campaigns.select("campaign_id", pl.col("roi_percentage").alias("baseline_roi")),
        on="campaign_id",
        how="left",
    )
)
moved = changes.filter(pl.col("rank_change") != 0).height
st.caption(
    f"Total attributed revenue: {money(current['attributed_revenue'])} under {BY_NAME[model].label}, "
    f"{money(float(base_campaigns['attributed_revenue'].sum()))} under {BY_NAME[baseline].label}"
    + (" — the same, as every model splits the same revenue. " if not f.channels else ". ")
    + f"{moved} of {changes.height} campaigns rank differently by attributed revenue."
)
change_keys = changes["campaign_id"].to_list()
table(
    changes.with_columns(
        pl.col("campaign_id").map_elements(campaign_label, pl.String).alias("campaign_name"),
        pl.when(pl.col("rank_change") > 0)
        .then(pl.format("↑ {}", pl.col("rank_change")))
        .when(pl.col("rank_change") < 0)
        .then(pl.format("↓ {}", -pl.col("rank_change")))
        .otherwise(pl.lit("="))
        .alias("moved"),
    ).select(
        "campaign_name",
        "rank",
        "baseline_rank",
        "moved",
        "revenue",
        "baseline_revenue",
        "revenue_difference",
        "roi_percentage",
        "baseline_roi",
        "campaign_id",
    ),
    key="roi_rank_changes",
    column_config={
        "campaign_name": "Campaign",
        "rank": st.column_config.NumberColumn(f"Rank ({BY_NAME[model].label})", format="%d"),
        "baseline_rank": st.column_config.NumberColumn(f"Rank ({BY_NAME[baseline].label})", format="%d"),
        "moved": "Moved",
        "revenue": st.column_config.NumberColumn(f"Revenue ({BY_NAME[model].label})", format="dollar"),
        "baseline_revenue": st.column_config.NumberColumn(f"Revenue ({BY_NAME[baseline].label})", format="dollar"),
        "revenue_difference": st.column_config.NumberColumn("Difference", format="dollar"),
        "roi_percentage": st.column_config.NumberColumn(f"ROI ({BY_NAME[model].label})", format="%.2f%%"),
        "baseline_roi": st.column_config.NumberColumn(f"ROI ({BY_NAME[baseline].label})", format="%.2f%%"),
        "campaign_id": st.column_config.TextColumn("Campaign ID"),
    },
    on_select=lambda: drill_from_table("roi_rank_changes", "roi_campaign", change_keys),
    selection_mode="single-row",
    height=300,
)

st.page_link(
    "pages/finance/budget.py",
    label="Budgets, their consumption and the best reallocation: the Budget page",
    icon=":material/arrow_forward:",
)
