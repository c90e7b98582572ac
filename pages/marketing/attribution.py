"""Attribution: which channels, campaigns and touch types earn the revenue, model by model.

Click a bar or a row to open its drill-down (the deals and journeys it touched, a contact's
timeline); the drilled view is in the URL. The segment filter keeps the deals of accounts in
the segments; the channel filter highlights the chosen channels (totals stay every channel's).
"""

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from analytics.attribution import engine as attribution
from analytics.attribution.bootstrap import MAX_BOOTSTRAP_STATES
from analytics.attribution.compare import rank_changes, totals_agree
from analytics.attribution.journeys import journeys_current
from analytics.attribution.models import BY_NAME, DEFAULT_MODELS, MODELS
from analytics.attribution.window import JourneyWindow
from analytics.core.labels import label
from analytics.core.money import dollars, money
from analytics.core.numbers import count
from analytics.core.tables import top_with_rest
from analytics.crm import targets as crm_push
from analytics.customers.timeline import contact_timeline, readable_timeline
from analytics.warehouse.names import campaign_channels, campaign_names, contact_descriptions, contact_names
from pages.components.actions import action_button, queued_notice
from pages.components.cache import cached
from pages.components.downloads import download_csv
from pages.components.drill import breadcrumbs, drill_from_chart, drill_from_table, from_url, to_url
from pages.components.filters import filters
from pages.components.jobs import last_run_caption
from pages.components.tables import table

BOOTSTRAP_REPLICATES = 100
TOP_KEYS = 12  # bars drawn before the rest are grouped ("Show all" draws every one)
DIMENSION_NAMES = {"channel": ("channel", "channels"), "campaign": ("campaign", "campaigns")}
DIMENSION_NAMES["touchpoint_type"] = ("touch type", "touch types")
UNATTRIBUTED = attribution.UNATTRIBUTED

f = filters()
names = cached(campaign_names)
channel_of = cached(campaign_channels)


def key_label(by: str, key: str) -> str:
    """What a person reads for a key of the dimension: a campaign's name, a channel's or touch type's label."""
    if key == UNATTRIBUTED:
        return label("key", UNATTRIBUTED)
    if by == "campaign":
        return names.get(key, label("key", key) if key.startswith("(") else key)
    return label("channel" if by == "channel" else "touchpoint_type", key)


def highlighted(by: str, key: str) -> bool:
    """Whether the channel filter highlights this key (every key when no channel is chosen)."""
    if not f.channels:
        return True
    if by == "channel":
        return key in f.channels
    if by == "campaign":
        return channel_of.get(key) in f.channels
    return True


st.title("Attribution")
last_run_caption("attribution_modeling")
st.caption(
    f"Closed-won deals closing {f.start:%d %b %Y} – {f.end:%d %b %Y}"
    + (f" of accounts in {', '.join(f.segments)}" if f.segments else "")
    + ", credited to the touches before the close."
    + (
        f" Highlighted: {', '.join(label('channel', c) for c in f.channels)}; totals are every channel's, "
        "so they still add up."
        if f.channels
        else ""
    )
)

with st.container(border=True, key="attr_controls"):
    left, right = st.columns([3, 2])
    models = left.multiselect(
        "Models to compare",
        MODELS,
        default=list(DEFAULT_MODELS),
        format_func=lambda m: BY_NAME[m].label,
        key="attr_models",
    )
    left.caption(
        "Every model splits the same closed-won revenue, so total attributed revenue (and total ROI) is the same "
        "under each one; a model changes only the split. “What changes between models” below shows how."
    )
    from_url("attr_by", "by", attribution.DIMENSIONS)
    by = (
        right.segmented_control(
            "Credit by",
            attribution.DIMENSIONS,
            default="channel",
            key="attr_by",
            format_func=lambda d: label("dimension", d),
        )
        or "channel"
    )
    to_url("by", by)
    if f.channels and by == "touchpoint_type":
        right.caption("The channel filter highlights channels and campaigns; touch types are shown without it.")
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
        f"95% bootstrap intervals ({BOOTSTRAP_REPLICATES} replicates)", value=False, key="attr_intervals"
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
    segments=f.segments,
)
window_fields = {k: v for k, v in params.items() if k not in ("half_life_days", "order")}
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
    st.info(
        "No closed-won deals close in the selected period"
        + (" for these segments" if f.segments else "")
        + "; widen the date range in the filter bar."
    )
    st.stop()

singular, plural = DIMENSION_NAMES[by]
keys = (
    credits.group_by(by)
    .agg(pl.col("attributed_revenue").sum())
    .sort(["attributed_revenue", by], descending=[True, False])[by]
    .to_list()
)
drill_keys = [k for k in keys if k != UNATTRIBUTED]
window = JourneyWindow(**window_fields)
from_url("attr_drill", "drill", drill_keys)
if st.session_state.get("attr_drill") not in drill_keys:  # another dimension's key, or another period's
    st.session_state["attr_drill"] = None
chosen = st.selectbox(
    f"Drill-down of a {singular}",
    drill_keys,
    index=None,
    key="attr_drill",
    format_func=lambda k: key_label(by, k),
    placeholder=f"Click a {singular}'s bar or row, or choose one here",
    help="The drill-down: the deals and journeys it touched, and a contact's timeline. Its address can be shared.",
)
to_url("drill", chosen)


# --------------------------------------------------------------------------- the drill-down of one key
def drill_down(key: str) -> None:
    breadcrumbs(["Attribution", f"By {singular}", key_label(by, key)], "attr_drill", f"All {plural}", key="attr_back")
    st.subheader(
        key_label(by, key),
        help=f"Campaign {key} · {label('channel', channel_of.get(key))}" if by == "campaign" else None,
    )
    own = credits.filter(pl.col(by) == key)
    with st.container(horizontal=True, key="attr_drill_metrics"):
        for model in models:
            row = own.filter(pl.col("model") == model)
            value = float(row["attributed_revenue"].sum()) if row.height else 0.0
            st.metric(
                BY_NAME[model].label,
                money(value),
                help=f"{dollars(value)}: {value / revenue:.1%} of the period's {money(revenue)} under this model.",
                border=True,
            )
    deals = cached(attribution.deals_touched, value=key, window=window)
    credit = cached(
        attribution.deal_credits,
        model=models[0],
        key=key,
        window=window,
        half_life_days=float(half_life_days),
        order=int(order),
    )
    deals = deals.join(credit.select("journey_id", "credited_revenue"), on="journey_id", how="left")
    st.markdown(f"**The {deals.height:,} won deals it touched**")
    table(
        deals.select(
            "deal",
            "account",
            "amount",
            "close_date",
            "key_touches",
            "all_touches",
            "touch_share",
            "credited_revenue",
            "opportunity_id",
        ),
        key="attr_drill_deals",
        column_config={
            "deal": "Deal",
            "account": "Account",
            "close_date": st.column_config.DateColumn("Closed", format="YYYY-MM-DD"),
            "key_touches": st.column_config.NumberColumn(f"Touches on this {singular}", format="%d"),
            "all_touches": st.column_config.NumberColumn("All touches", format="%d"),
            "touch_share": st.column_config.NumberColumn("Touch share", format="percent"),
            "credited_revenue": st.column_config.NumberColumn(f"Credit ({BY_NAME[models[0]].label})", format="dollar"),
            "opportunity_id": st.column_config.TextColumn("Deal ID"),
        },
        height=260,
    )
    journeys = cached(attribution.journeys_with, value=key, window=window, limit=200)
    people = cached(contact_names, ids=tuple(journeys["contact_id"].unique().to_list()))
    shown = journeys.with_columns(
        pl.col("contact_id").replace_strict(people, default=pl.col("contact_id")).alias("contact_name"),
        pl.col("path").map_elements(lambda p: " › ".join(key_label(by, k) for k in p.split(" > ")), pl.String),
    )
    st.markdown(
        f"**The {journeys.height:,} most recent journeys through it** (at most 200; click one for its timeline)"
    )
    picked = table(
        shown.select("contact_name", "close_date", "revenue", "touches", "touches_on_value", "path", "contact_id"),
        key="attr_drill_journeys",
        column_config={
            "contact_name": "Contact",
            "close_date": st.column_config.DateColumn("Closed", format="YYYY-MM-DD"),
            "touches_on_value": st.column_config.NumberColumn(f"On this {singular}", format="%d"),
            "touches": st.column_config.NumberColumn("Touches", format="%d"),
            "path": st.column_config.TextColumn("Path", width="large"),
            "contact_id": st.column_config.TextColumn("Contact ID"),
        },
        on_select="rerun",
        selection_mode="single-row",
        height=300,
    )
    contacts = journeys["contact_id"].unique(maintain_order=True).to_list()
    rows = (picked or {}).get("selection", {}).get("rows") if picked else []
    if rows:
        st.session_state["attr_contact"] = journeys["contact_id"][rows[0]]
    if not contacts:
        return
    described = cached(contact_descriptions, ids=tuple(contacts))
    st.markdown("**A contact's timeline**")
    contact = st.selectbox(
        "Contact",
        contacts,
        key="attr_contact",
        format_func=lambda c: described.get(c, c),
        help="Every touchpoint, email and content event and opportunity of the contact.",
    )
    if contact:
        timeline = readable_timeline(cached(contact_timeline, contact_id=contact), names)
        table(timeline, key="attr_timeline_table", height=300)
        download_csv(timeline, f"revlens_timeline_{contact}.csv", label="Download timeline (CSV)", key="attr_timeline")


if chosen in drill_keys:
    drill_down(chosen)
    st.stop()

# --------------------------------------------------------------------------- the main view
unattributed = totals.filter(pl.col(by) == UNATTRIBUTED)["attributed_revenue"].sum()
m1, m2, m3, m4 = st.columns(4)
m1.metric("Conversions", count(conversions), border=True, help="Won deals closing in the period.")
m2.metric("Revenue", money(revenue), border=True, help=f"{dollars(revenue)}, the same under every model.")
m3.metric(
    "Unattributed revenue",
    money(unattributed),
    border=True,
    help="Deals with no touch inside the lookback window; every model credits them to no campaign.",
)
if f.channels:
    lit = totals.filter(pl.col(by).map_elements(lambda k: highlighted(by, k), pl.Boolean))
    m4.metric(
        "Highlighted",
        money(lit["attributed_revenue"].sum()),
        border=True,
        help=f"The chosen channels' share under {BY_NAME[models[0]].label}: "
        f"{lit['attributed_revenue'].sum() / revenue:.1%} of the revenue.",
    )

table_frame = credits.with_columns(
    (pl.col("attributed_revenue") / revenue).alias("revenue_share"),
    (pl.col("attributed_conversions") / conversions).alias("conversion_share"),
)
without_intervals = []
if intervals is not None:
    table_frame = table_frame.join(intervals, on=[by, "model"], how="left")
    without_intervals = intervals.filter(pl.col("revenue_low").is_null())["model"].unique().to_list()

st.subheader("Attributed revenue by model")
show_all = False
if len(keys) > TOP_KEYS + 1:
    show_all = st.toggle(
        f"Show all {len(keys)} {plural}",
        key="attr_show_all",
        help=f"Off: the {TOP_KEYS} {plural} with the most revenue, the others as one bar.",
    )
rest_label = f"Other {plural} ({len(keys) - TOP_KEYS})"
drawn, top = (
    (credits.select(by, "model", "attributed_revenue"), keys)
    if show_all
    else top_with_rest(credits, by, "attributed_revenue", TOP_KEYS, rest_label, group_by=("model",))
)
order_keys = top + ([rest_label] if len(top) < len(keys) else [])
figure = go.Figure()
for model in models:
    rows = pl.DataFrame({by: order_keys}).join(drawn.filter(pl.col("model") == model), on=by, how="left").fill_null(0.0)
    error = None
    if intervals is not None and model not in without_intervals:
        bounds = pl.DataFrame({by: order_keys}).join(intervals.filter(pl.col("model") == model), on=by, how="left")
        revenue_by_key = rows["attributed_revenue"]
        error = {
            "type": "data",
            "symmetric": False,
            "array": (bounds["revenue_high"].fill_null(revenue_by_key) - revenue_by_key).clip(lower_bound=0).to_list(),
            "arrayminus": (revenue_by_key - bounds["revenue_low"].fill_null(revenue_by_key))
            .clip(lower_bound=0)
            .to_list(),
        }
    figure.add_bar(
        x=[key_label(by, k) if k != rest_label else k for k in order_keys],
        y=rows["attributed_revenue"].to_list(),
        customdata=order_keys,
        name=BY_NAME[model].label,
        error_y=error,
        marker={"opacity": [1.0 if k == rest_label or highlighted(by, k) else 0.3 for k in order_keys]},
        hovertemplate="%{x}<br>%{y:$,.0f}"
        + ("<br>%{customdata}" if by == "campaign" else "")
        + "<extra>"
        + BY_NAME[model].label
        + "</extra>",
    )
figure.update_layout(
    barmode="group",
    height=460,
    margin={"t": 10, "b": 10},
    yaxis={"title": {"text": "Attributed revenue"}, "tickprefix": "$"},
    legend={"orientation": "h", "y": 1.08},
    clickmode="event+select",
)
st.plotly_chart(
    figure,
    width="stretch",
    key="attr_chart",
    on_select=lambda: drill_from_chart("attr_chart", "attr_drill", drill_keys),
    selection_mode="points",
)
st.caption(f"Click a {singular}'s bar (or a row below) to open its drill-down.")
if without_intervals:
    st.caption(
        f"No interval for {', '.join(BY_NAME[m].label for m in without_intervals)}: its chain has more than "
        f"{MAX_BOOTSTRAP_STATES} states (order {order} by {singular}), and "
        f"{BOOTSTRAP_REPLICATES} replicates would take minutes. Markov order 1, or credit by channel, has them."
    )

st.subheader("Shares")
shares = (
    table_frame.select(by, "model", "revenue_share")
    .pivot(on="model", index=by, values="revenue_share")
    .join(pl.DataFrame({by: keys, "_rank": list(range(len(keys)))}), on=by)
    .sort("_rank")
    .drop("_rank")
)
share_keys = shares[by].to_list()
shown_shares = shares.with_columns(pl.col(by).map_elements(lambda k: key_label(by, k), pl.String).alias("_name"))
shown_shares = shown_shares.select(
    pl.col("_name").alias(by), *models, *([pl.col(by).alias("key_id")] if by == "campaign" else [])
)
table(
    shown_shares,
    key="attr_shares",
    relabel=False,
    column_config={
        by: label("dimension", by),
        **{
            model: st.column_config.ProgressColumn(BY_NAME[model].label, format="percent", min_value=0.0, max_value=1.0)
            for model in models
        },
        "key_id": st.column_config.TextColumn("Campaign ID"),
    },
    on_select=lambda: drill_from_table("attr_shares", "attr_drill", share_keys),
    selection_mode="single-row",
)
download_csv(
    table_frame.sort("model", by).with_columns(
        *([pl.col(by).replace_strict(names, default=pl.col(by)).alias("campaign_name")] if by == "campaign" else [])
    ),
    f"revlens_attribution_{by}_{f.start}_{f.end}.csv",
    label="Download all figures (CSV)",
    key="attr_download",
)

# --------------------------------------------------------------------------- what changes between models
st.subheader("What changes between models")
agree = totals_agree(credits)
st.caption(
    (
        f"Every model credits the same {money(revenue)}: the total cannot change with the model. "
        if agree
        else "The models' totals differ (a chain model left some revenue uncredited). "
    )
    + f"What changes is each {singular}'s share, and so its rank."
)
compare_left, compare_right = st.columns(2)
compared = compare_left.selectbox(
    "Model", models, format_func=lambda m: BY_NAME[m].label, key="attr_compare_model", index=len(models) - 1
)
baseline_choices = [m for m in MODELS if m != compared]
baseline = compare_right.selectbox(
    "Against the baseline",
    baseline_choices,
    index=baseline_choices.index("last_touch") if "last_touch" in baseline_choices else 0,
    format_func=lambda m: BY_NAME[m].label,
    key="attr_baseline",
    help="Last touch is what most CRMs report; any model can be the baseline.",
)
pair = (
    credits if baseline in models else pl.concat([credits, cached(attribution.attribute, models=(baseline,), **params)])
)
changes = rank_changes(pair, by, compared, baseline)
movement = changes.filter(pl.col("rank_change") != 0).height
st.caption(
    f"Under {BY_NAME[compared].label}, {movement} of {changes.height} {plural} rank differently than under "
    f"{BY_NAME[baseline].label}; the differences sum to {money(changes['revenue_difference'].sum())}."
)
change_keys = changes[by].to_list()
diff_figure = go.Figure(
    go.Bar(
        x=changes["revenue_difference"].to_list()[:TOP_KEYS]
        if not show_all
        else changes["revenue_difference"].to_list(),
        y=[key_label(by, k) for k in change_keys][: None if show_all else TOP_KEYS],
        customdata=change_keys[: None if show_all else TOP_KEYS],
        orientation="h",
        marker={"color": ["#16a34a" if d >= 0 else "#dc2626" for d in changes["revenue_difference"]]},
        hovertemplate="%{y}<br>%{x:$,.0f}<extra></extra>",
    )
)
diff_figure.update_layout(
    height=max(260, 26 * min(len(change_keys), len(change_keys) if show_all else TOP_KEYS)),
    margin={"t": 10, "b": 10},
    xaxis={"title": {"text": f"{BY_NAME[compared].label} − {BY_NAME[baseline].label}"}, "tickprefix": "$"},
    yaxis={"autorange": "reversed"},
    clickmode="event+select",
)
st.plotly_chart(
    diff_figure,
    width="stretch",
    key="attr_difference_chart",
    on_select=lambda: drill_from_chart("attr_difference_chart", "attr_drill", drill_keys),
    selection_mode="points",
)
table(
    changes.with_columns(
        pl.col(by).map_elements(lambda k: key_label(by, k), pl.String),
        pl.when(pl.col("rank_change") > 0)
        .then(pl.format("↑ {}", pl.col("rank_change")))
        .when(pl.col("rank_change") < 0)
        .then(pl.format("↓ {}", -pl.col("rank_change")))
        .otherwise(pl.lit("="))
        .alias("rank_change"),
    ).drop("share", "baseline_share"),
    key="attr_rank_changes",
    relabel=False,
    column_config={
        by: label("dimension", by),
        "rank": st.column_config.NumberColumn(f"Rank ({BY_NAME[compared].label})", format="%d"),
        "baseline_rank": st.column_config.NumberColumn(f"Rank ({BY_NAME[baseline].label})", format="%d"),
        "rank_change": "Moved",
        "revenue": st.column_config.NumberColumn(BY_NAME[compared].label, format="dollar"),
        "baseline_revenue": st.column_config.NumberColumn(BY_NAME[baseline].label, format="dollar"),
        "revenue_difference": st.column_config.NumberColumn("Difference", format="dollar"),
    },
    on_select=lambda: drill_from_table("attr_rank_changes", "attr_drill", change_keys),
    selection_mode="single-row",
    height=260,
)

# --------------------------------------------------------------------------- push to HubSpot
st.subheader("Push to HubSpot")
push_model = st.selectbox(
    "Model to push",
    models,
    format_func=lambda m: BY_NAME[m].label,
    key="attr_push_model",
    help="The pushed values are this model's credit.",
)
push_params = dict(
    close_from=f.start,
    close_to=f.end,
    lookback_days=int(lookback_days),
    model=push_model,
    segments=f.segments,
    half_life_days=float(half_life_days),
    order=int(order),
)
st.caption(
    f"**Contacts**: each contact's credited revenue under {BY_NAME[push_model].label}: the credit of the touches "
    "the contact made on the won deals of its account (so a buying committee shares a deal as the model splits it), "
    "and its last campaign interaction, to the contact properties *Attributed revenue* "
    "(marketing_platform_attributed_revenue) and *Last campaign interaction*. "
    f"**Deals**: each won deal's credited campaigns with their shares, and the model ({BY_NAME[push_model].label}), "
    "to the deal properties *Attributed campaigns* and *Attribution model*."
)


def contacts_frame():
    return cached(crm_push.attribution_targets, **push_params)


def deals_frame():
    return cached(crm_push.deal_attribution_targets, **{**push_params, "account_level": account_level})


def contacts_preview():
    frame = contacts_frame()
    return frame.select(
        pl.col("email").alias("Contact"),
        pl.col("attributed_revenue")
        .map_elements(dollars, pl.String)
        .alias(f"Credited revenue ({BY_NAME[push_model].label})"),
        pl.col("won_deals").alias("Won deals"),
        pl.col("last_campaign_interaction").alias("Last campaign interaction"),
        pl.col("hubspot_id").alias("HubSpot ID"),
    )


def deals_preview():
    frame = deals_frame()
    return frame.select(
        pl.col("deal_name").alias("Deal"),
        pl.col("account_name").alias("Account"),
        pl.col("amount").map_elements(dollars, pl.String).alias("Amount"),
        pl.col("attributed_campaigns").alias("Attributed campaigns"),
        pl.col("model").replace_strict({push_model: BY_NAME[push_model].label}).alias("Attribution model"),
        pl.col("hubspot_id").alias("HubSpot ID"),
    )


push_left, push_right = st.columns(2)
with push_left:
    action_button(
        f"Push contacts' credited revenue ({BY_NAME[push_model].label})…",
        "update_properties",
        lambda: crm_push.frame_to_targets(contacts_frame(), crm_push.attribution_properties()),
        {},
        preview_frame=contacts_preview,
        title=f"Push each contact's credited revenue under {BY_NAME[push_model].label} (syncAttributionToCRM)",
        key="attr_push",
        icon=":material/cloud_upload:",
    )
with push_right:
    action_button(
        f"Push deals' attributed campaigns ({BY_NAME[push_model].label})…",
        "update_deal_properties",
        lambda: crm_push.frame_to_targets(deals_frame(), crm_push.deal_attribution_properties()),
        {},
        preview_frame=deals_preview,
        title=f"Push each won deal's campaigns under {BY_NAME[push_model].label} (syncAttributionToCRM)",
        key="attr_push_deals",
        icon=":material/handshake:",
    )
queued_notice()

# --------------------------------------------------------------------------- paths, and the dropdown way in
st.subheader("Top converting paths")
paths = cached(attribution.top_paths, window=window, limit=20)
table(
    paths.with_columns(
        pl.col("path").map_elements(lambda p: " › ".join(key_label(by, k) for k in p.split(" > ")), pl.String)
    ),
    key="attr_paths",
    column_config={
        "path": st.column_config.TextColumn("Path", width="large"),
        "touches": st.column_config.NumberColumn("Touches", format="%d"),
        "conversions": st.column_config.NumberColumn("Conversions", format="%d"),
        "share": st.column_config.NumberColumn("Share of conversions", format="percent"),
    },
)
