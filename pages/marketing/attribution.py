"""Attribution: which channels, campaigns and touch types earn the revenue, model by model."""

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from analytics.attribution import engine as attribution
from analytics.attribution.bootstrap import MAX_BOOTSTRAP_STATES
from analytics.attribution.journeys import journeys_current
from analytics.attribution.models import BY_NAME, DEFAULT_MODELS, MODELS
from analytics.crm import targets as crm_push
from analytics.customers.timeline import contact_timeline
from pages.components.actions import action_button, queued_notice
from pages.components.cache import cached
from pages.components.downloads import download_csv
from pages.components.filters import filters
from pages.components.jobs import last_run_caption

MODEL_LABELS = {name: model.label for name, model in BY_NAME.items()}
BOOTSTRAP_REPLICATES = 100

f = filters()
st.title("Attribution")
last_run_caption("attribution_modeling")
st.caption(
    f"Closed-won deals closing {f.start:%d %b %Y} – {f.end:%d %b %Y} (the filter bar's date range), credited to "
    "the touches of their contact before the close. The segment and channel filters do not apply here: "
    "every model splits all the revenue."
)

with st.container(border=True):
    left, right = st.columns([3, 2])
    models = left.multiselect(
        "Models to compare", MODELS, default=list(DEFAULT_MODELS), format_func=MODEL_LABELS.get, key="attr_models"
    )
    by = (
        right.segmented_control(
            "Credit by",
            attribution.DIMENSIONS,
            default="channel",
            key="attr_by",
            format_func=lambda d: d.replace("_", " ").capitalize(),
        )
        or "channel"
    )
    c1, c2, c3, c4 = st.columns(4)
    lookback_days = c1.number_input(
        "Lookback (days)",
        min_value=1,
        max_value=730,
        value=90,
        step=15,
        help="Touches at most this many days before the close date count.",
        key="attr_lookback",
    )
    half_life_days = c2.number_input(
        "Time-decay half-life (days)",
        min_value=0.5,
        max_value=365.0,
        value=7.0,
        step=1.0,
        help="A touch this many days before the close weighs half.",
        key="attr_half_life",
    )
    order = c3.selectbox(
        "Markov order", (1, 2, 3), help="States are the last 1, 2 or 3 channels of a journey.", key="attr_order"
    )
    account_level = c4.toggle(
        "Whole account's touches",
        help="Credit the touches of every contact of the deal's account, not only its own contact.",
        key="attr_account_level",
    )
    show_intervals = st.toggle(
        f"95% bootstrap intervals ({BOOTSTRAP_REPLICATES} replicates)", value=True, key="attr_intervals"
    )

if not models:
    st.info("Choose at least one model to compare.")
    st.stop()
if not account_level and not cached(journeys_current):
    st.info(
        "This warehouse's journey tables are missing or out of date (it was built by an older RevLens or "
        "changed without a load), so attribution joins the raw tables: same numbers, slower. Rebuild them with "
        "`python -m analytics refresh` while the app is stopped, or load any file on the Import page."
    )

params = dict(
    by=by,
    lookback_days=int(lookback_days),
    half_life_days=float(half_life_days),
    order=int(order),
    account_level=account_level,
    close_from=f.start,
    close_to=f.end,
)
if show_intervals:  # credits and intervals from one build of the journeys
    with st.spinner(f"Attributing the conversions, with {BOOTSTRAP_REPLICATES} bootstrap replicates…"):
        credits, intervals = cached(
            attribution.attribute_with_intervals,
            models=tuple(models),
            interval_models=tuple(models),
            n_boot=BOOTSTRAP_REPLICATES,
            seed=0,
            **params,
        )
else:
    with st.spinner("Attributing the conversions…"):
        credits, intervals = cached(attribution.attribute, models=tuple(models), **params), None
totals = credits.filter(pl.col("model") == models[0])
conversions, revenue = totals["attributed_conversions"].sum(), totals["attributed_revenue"].sum()
if conversions == 0:
    st.info("No closed-won deals close in the selected period; widen the date range in the filter bar.")
    st.stop()
unattributed = credits.filter(pl.col(by) == attribution.UNATTRIBUTED, pl.col("model") == models[0])
m1, m2, m3 = st.columns(3)
m1.metric("Conversions", f"{conversions:,.0f}", border=True)
m2.metric("Revenue", f"${revenue:,.0f}", border=True)
m3.metric(
    "Unattributed revenue",
    f"${unattributed['attributed_revenue'].sum():,.0f}",
    border=True,
    help="Deals with no touch inside the lookback window; every model credits them to (unattributed).",
)

table = credits.with_columns(
    (pl.col("attributed_revenue") / revenue).alias("revenue_share"),
    (pl.col("attributed_conversions") / conversions).alias("conversion_share"),
)
without_intervals = []
if intervals is not None:
    table = table.join(intervals, on=[by, "model"], how="left")
    without_intervals = intervals.filter(pl.col("revenue_low").is_null())["model"].unique().to_list()

st.subheader("Attributed revenue by model")
keys = (
    table.group_by(by).agg(pl.col("attributed_revenue").sum()).sort("attributed_revenue", descending=True)[by].to_list()
)
figure = go.Figure()
for model in models:
    rows = table.filter(pl.col("model") == model)
    rows = pl.DataFrame({by: keys}).join(rows, on=by, how="left").fill_null(0.0)
    error = None
    if intervals is not None and model not in without_intervals:
        error = {
            "type": "data",
            "symmetric": False,
            "array": (rows["revenue_high"] - rows["attributed_revenue"]).clip(lower_bound=0).to_list(),
            "arrayminus": (rows["attributed_revenue"] - rows["revenue_low"]).clip(lower_bound=0).to_list(),
        }
    figure.add_bar(x=keys, y=rows["attributed_revenue"].to_list(), name=MODEL_LABELS[model], error_y=error)
figure.update_layout(
    barmode="group", height=440, margin={"t": 10, "b": 10}, yaxis_title="USD", legend={"orientation": "h", "y": 1.08}
)
st.plotly_chart(figure, width="stretch")
if without_intervals:
    st.caption(
        f"No interval for {', '.join(MODEL_LABELS[m] for m in without_intervals)}: its chain has more than "
        f"{MAX_BOOTSTRAP_STATES} states (order {order} by {by.replace('_', ' ')}), and "
        f"{BOOTSTRAP_REPLICATES} replicates would take minutes. Markov order 1, or credit by channel, has them."
    )

st.subheader("Shares")
shares = (
    table.select(by, "model", "revenue_share")
    .pivot(on="model", index=by, values="revenue_share")
    .join(pl.DataFrame({by: keys, "_rank": list(range(len(keys)))}), on=by)
    .sort("_rank")
    .drop("_rank")
)
st.dataframe(
    shares,
    width="stretch",
    hide_index=True,
    column_config={
        model: st.column_config.ProgressColumn(MODEL_LABELS[model], format="percent", min_value=0.0, max_value=1.0)
        for model in models
    },
)
download_csv(
    table.sort("model", by),
    f"revlens_attribution_{by}_{f.start}_{f.end}.csv",
    label="Download all figures (CSV)",
    key="attr_download",
)

st.subheader("Push to HubSpot")
push = cached(crm_push.attribution_targets, close_from=f.start, close_to=f.end, lookback_days=int(lookback_days))
st.caption(
    f"Each contact's attributed revenue (contact level, the same under every model: "
    f"${push['attributed_revenue'].sum():,.0f} over {push.height:,} contacts with a HubSpot id) and last "
    "campaign interaction, to the HubSpot contact properties marketing_platform_attributed_revenue and "
    "last_campaign_interaction."
)
action_button(
    "Push attributed revenue to HubSpot…",
    "update_properties",
    lambda: crm_push.frame_to_targets(push, crm_push.attribution_properties()),
    {},
    preview_frame=push,
    title="Push attributed revenue (syncAttributionToCRM)",
    key="attr_push",
    disabled=push.is_empty(),
    icon=":material/cloud_upload:",
)
queued_notice()

st.subheader("Top converting paths")
paths = cached(
    attribution.top_paths,
    by=by,
    lookback_days=int(lookback_days),
    account_level=account_level,
    close_from=f.start,
    close_to=f.end,
    limit=20,
)
st.dataframe(
    paths,
    width="stretch",
    hide_index=True,
    column_config={
        "path": st.column_config.TextColumn("Path", width="large"),
        "revenue": st.column_config.NumberColumn("Revenue", format="dollar"),
        "share": st.column_config.NumberColumn("Share of conversions", format="percent"),
    },
)

st.subheader("Journeys of one " + by.replace("_", " "))
drill_keys = [k for k in keys if k != attribution.UNATTRIBUTED]
chosen = st.selectbox("Show the converting journeys that touched", drill_keys, key="attr_drill")
journeys = cached(
    attribution.journeys_with,
    value=chosen,
    by=by,
    lookback_days=int(lookback_days),
    account_level=account_level,
    close_from=f.start,
    close_to=f.end,
    limit=200,
)
st.caption(f"{journeys.height:,} most recent journeys (at most 200).")
st.dataframe(
    journeys,
    width="stretch",
    hide_index=True,
    column_config={
        "close_date": st.column_config.DateColumn("Close date", format="YYYY-MM-DD"),
        "revenue": st.column_config.NumberColumn("Revenue", format="dollar"),
        "path": st.column_config.TextColumn("Path", width="large"),
    },
)

st.subheader("A contact's touchpoint timeline")
contacts = journeys["contact_id"].unique(maintain_order=True).to_list()
contact = st.selectbox(
    "Contact",
    contacts,
    key="attr_contact",
    help="Every touchpoint, email and content event and opportunity of the contact.",
)
if contact:
    timeline = cached(contact_timeline, contact_id=contact)
    st.dataframe(timeline, width="stretch", hide_index=True)
    download_csv(timeline, f"revlens_timeline_{contact}.csv", label="Download timeline (CSV)", key="attr_timeline")
