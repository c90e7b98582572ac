"""Customer Success → Adoption: which accounts adopt which features, milestones and their campaigns against a
holdout, expansion signals for sales, and the thresholds."""

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from analytics.core.labels import label, relabel_columns
from analytics.core.money import money
from analytics.core.numbers import DASH
from analytics.core.settings import health_key_features, ops_url
from analytics.customers import adoption, interventions
from analytics.customers.adoption import CAMPAIGN_KINDS, MILESTONES, SIGNALS, AdoptionConfig
from analytics.ops.store import ops_engine
from pages.components.actions import action_button, current_user, preview_only_banner, queued_notice
from pages.components.cache import cached
from pages.components.downloads import download_csv
from pages.components.filters import filters

HEAT_ROWS = 40
SORTS = {"arr": "ARR (largest first)", "depth": "Depth (lowest first)", "breadth": "Breadth (lowest first)"}

f = filters()
st.title("Feature Adoption")
span = cached(adoption.usage_range)
if span is None:
    st.info(
        "There are no feature usage events yet; load product events on Operations → Import.", icon=":material/info:"
    )
    st.stop()
first_day, last_day = span
as_of = min(max(f.end, first_day), last_day)
engine = ops_engine()
config = adoption.load_adoption_config(engine)
with st.spinner(f"Measuring adoption as of {as_of:%d %b %Y}…"):
    view = cached(adoption.adoption_view, as_of=as_of, config=config)
metrics, accounts, signals = view.metrics, view.accounts, view.signals
if f.segments:
    keep = pl.col("segment").is_in(list(f.segments))
    metrics, accounts, signals = metrics.filter(keep), accounts.filter(keep), signals.filter(keep)
st.caption(
    f"As of {as_of:%d %b %Y}, over ({config.window_days} days] before it"
    + (" (the end of the date range)" if as_of == f.end else " (the usage data's last day)")
    + f" · key features: {', '.join(view.key_features)} · advanced: {', '.join(view.advanced_features) or DASH}"
    + (f" · segments: {', '.join(f.segments)}" if f.segments else "")
)
if f.channels:
    st.caption(":material/info: The channel filter does not apply here: adoption is measured per account and feature.")
for sentence in adoption.quality_sentences(view.quality):
    st.warning(sentence, icon=":material/report:")

milestones = metrics.filter(pl.col("milestone").is_not_null())
k = st.columns(5)
k[0].metric("Accounts measured", f"{accounts.height:,}", border=True, help="Paying accounts, not churned on the date")
k[1].metric(
    "Key-feature depth",
    f"{accounts['depth'].mean():.0%}" if accounts.height else DASH,
    border=True,
    help="Mean share of an account's active users using each key feature",
)
k[2].metric(
    label("milestone", "adoption_success"),
    f"{milestones.filter(pl.col('milestone') == 'adoption_success').height:,}",
    border=True,
    help=f"Key features with ≥ {config.adoption_threshold:.0%} adoption, ≥ {config.velocity_threshold:g} uses per "
    f"user a week and ≥ {config.success_threshold:.0%} success",
)
k[3].metric(
    label("milestone", "adoption_nudge"),
    f"{milestones.filter(pl.col('milestone') == 'adoption_nudge').height:,}",
    border=True,
    help=f"Key features used below {config.adoption_threshold:.0%} of the users, or not at all",
)
k[4].metric("Expansion signals", f"{signals['account_id'].n_unique():,} accounts", border=True)

# ---- heat map
st.subheader("Feature × account")
h1, h2 = st.columns([2, 3], vertical_alignment="bottom")
sort_by = h1.selectbox("Accounts", list(SORTS), format_func=SORTS.get, key="adoption_heat_sort")
show_features = h2.segmented_control(
    "Features",
    ["key", "all"],
    default="key",
    format_func=lambda v: "Key features" if v == "key" else "All measured",
    key="adoption_heat_features",
)
ranked = accounts.sort(sort_by, descending=sort_by == "arr", nulls_last=True).head(HEAT_ROWS)
features = list(view.key_features) if show_features != "all" else sorted(metrics["feature"].unique().to_list())
cells = metrics.filter(pl.col("account_id").is_in(ranked["account_id"].to_list()) & pl.col("feature").is_in(features))
lookup = {(r["account_id"], r["feature"]): r for r in cells.iter_rows(named=True)}
names = ranked["account_name"].to_list()
ids = ranked["account_id"].to_list()
z = [[(lookup.get((a, ft)) or {}).get("adoption_rate") for ft in features] for a in ids]
hover = [
    [
        f"{n} ({a})<br>{ft}: adoption {_r['adoption_rate']:.0%}, {_r['usage_velocity']:.1f} uses/user/week"
        if (_r := lookup.get((a, ft))) and _r["adoption_rate"] is not None
        else f"{n} ({a})<br>{ft}: no active users"
        for ft in features
    ]
    for a, n in zip(ids, names)
]
heat = go.Figure(
    go.Heatmap(
        z=z,
        x=features,
        y=names,
        zmin=0,
        zmax=1,
        colorscale="Blues",
        hovertext=hover,
        hoverinfo="text",
        colorbar={"title": {"text": "Adoption"}, "tickformat": ".0%"},
    )
)
heat.update_layout(height=max(320, 16 * len(names) + 80), margin={"t": 10, "b": 10}, yaxis={"autorange": "reversed"})
st.plotly_chart(heat, width="stretch", key="adoption_heatmap")
st.caption(
    f"The {len(names)} accounts first by {SORTS[sort_by].lower()} of {accounts.height:,}; "
    f"adoption = users of the feature / active users in the {config.window_days} days."
)

# ---- milestones and their campaigns
st.subheader("Milestones")
m1, m2 = st.columns([2, 2], vertical_alignment="bottom")
chosen_milestone = (
    m1.segmented_control(
        "Milestone",
        list(MILESTONES),
        default="adoption_success",
        format_func=lambda m: label("milestone", m),
        key="adoption_milestone",
    )
    or "adoption_success"
)
at_milestone = milestones.filter(pl.col("milestone") == chosen_milestone)
options = sorted(at_milestone["feature"].unique().to_list())
chosen_feature = m2.selectbox(
    "Feature",
    options or ["(none)"],
    format_func=lambda f: "No feature" if f == "(none)" else f,
    key="adoption_feature",
    disabled=not options,
    help=None if options else "No account reached this milestone on the date.",
)
listed = at_milestone.filter(pl.col("feature") == chosen_feature).sort("arr", descending=True)
st.dataframe(
    listed.select(
        "account_name",
        "segment",
        "plan",
        "feature",
        "adoption_rate",
        "usage_velocity",
        "success_rate",
        "active_users",
        "arr",
        "account_id",
    ),
    width="stretch",
    hide_index=True,
    height=260,
    key="adoption_milestone_table",
    column_config={
        "account_name": "Account",
        "segment": "Segment",
        "plan": "Plan",
        "feature": "Feature",
        "adoption_rate": st.column_config.NumberColumn("Adoption", format="percent"),
        "usage_velocity": st.column_config.NumberColumn("Uses per user a week", format="%.2f"),
        "success_rate": st.column_config.NumberColumn("Success", format="percent"),
        "active_users": "Active users",
        "arr": st.column_config.NumberColumn("ARR", format="dollar"),
        "account_id": "Account ID",
    },
    placeholder=DASH,
)
download_csv(
    milestones.select(
        "account_id", "account_name", "feature", "milestone", "adoption_rate", "usage_velocity", "success_rate"
    ).rename(
        relabel_columns(
            ["account_id", "account_name", "feature", "milestone", "adoption_rate", "usage_velocity", "success_rate"]
        )
    ),
    f"revlens_adoption_milestones_{as_of}.csv",
    key="adoption_milestones_csv",
)

preview_only_banner()
queued_notice()
already = adoption.fired(engine)
plan = adoption.plan_campaign(metrics, chosen_milestone, chosen_feature, as_of, config, already)
kind, target = config.template(chosen_milestone)
feature_shown = "no feature" if chosen_feature == "(none)" else chosen_feature
with st.container(border=True):
    st.markdown(
        f"**{label('milestone', chosen_milestone)} campaign on {feature_shown}**: {plan.eligible.height:,} accounts "
        f"have not had it yet; {len(plan.held_out):,} ({config.holdout_share:.0%}) are held out at random "
        f"(seed {plan.seed}) and recorded, never sent, to measure the lift; {len(plan.treated):,} are sent."
    )
    c1, c2 = st.columns([2, 3], vertical_alignment="bottom")
    c1.caption(f"Template: {label('kind', kind)} {target or DASH} (set it under Settings below)")

    def record(result, user: str) -> None:
        with engine.begin() as conn:
            adoption.record_campaign(conn, plan, result.action_id, user)

    with c2:
        action_button(
            "Trigger the campaign…",
            kind,
            lambda: adoption.campaign_targets(
                cached(interventions.account_contacts, account_ids=list(plan.treated)), plan
            ),
            plan.payload(),
            title=f"{label('milestone', chosen_milestone)}: {chosen_feature}, {len(plan.treated):,} accounts "
            f"({len(plan.held_out):,} held out)",
            key="adoption_trigger",
            disabled=not target or not plan.treated,
            help=None if target else "Set the template's HubSpot list or workflow id under Settings first.",
            icon=":material/campaign:",
            on_queued=record,
        )

# ---- holdout lifts
st.subheader("Lift against the holdout")
triggered = adoption.campaigns(engine)
if triggered.is_empty():
    st.caption(
        "No campaign yet. Each campaign holds out a random share of its accounts; 30 days of data after its date, "
        "this shows the change in adoption of the treated against the held out, with a 95% interval."
    )
else:
    lifts = cached(adoption.lifts_or_empty, engine_url=ops_url(), config=config, campaigns_seen=triggered.height)
    shown = lifts.with_columns(pl.col("milestone").replace_strict({m: label("milestone", m) for m in MILESTONES}))
    chart = go.Figure(
        go.Bar(
            x=[f"#{r['campaign_id']} {r['feature']}" for r in shown.iter_rows(named=True)],
            y=shown["lift"].to_list(),
            error_y={
                "type": "data",
                "symmetric": False,
                "array": (shown["lift_high"] - shown["lift"]).to_list(),
                "arrayminus": (shown["lift"] - shown["lift_low"]).to_list(),
            },
        )
    )
    chart.update_layout(
        height=260, margin={"t": 10, "b": 10}, yaxis={"title": {"text": "Lift in adoption"}, "tickformat": ".0%"}
    )
    st.plotly_chart(chart, width="stretch", key="adoption_lift_chart")
    st.dataframe(
        shown,
        width="stretch",
        hide_index=True,
        key="adoption_lift_table",
        column_config={
            "campaign_id": "Campaign",
            "milestone": "Milestone",
            "feature": "Feature",
            "as_of": st.column_config.DateColumn("Data date"),
            "checked_on": st.column_config.DateColumn("Read on"),
            "days_observed": "Days observed",
            "treated": "Treated",
            "held_out": "Held out",
            "treated_before": st.column_config.NumberColumn("Treated before", format="percent"),
            "treated_after": st.column_config.NumberColumn("Treated after", format="percent"),
            "holdout_before": st.column_config.NumberColumn("Held out before", format="percent"),
            "holdout_after": st.column_config.NumberColumn("Held out after", format="percent"),
            "lift": st.column_config.NumberColumn("Lift", format="percent"),
            "lift_low": st.column_config.NumberColumn("95% low", format="percent"),
            "lift_high": st.column_config.NumberColumn("95% high", format="percent"),
        },
        placeholder=DASH,
    )

# ---- expansion signals
st.subheader("Expansion signals")
picked_signals = st.multiselect(
    "Signal", list(SIGNALS), format_func=lambda s: label("signal", s), key="adoption_signals", placeholder="Any signal"
)
listed_signals = signals.filter(pl.col("signal").is_in(picked_signals)) if picked_signals else signals
st.dataframe(
    listed_signals.with_columns(pl.col("signal").replace_strict({s: label("signal", s) for s in SIGNALS})).select(
        "account_name", "plan", "signal", "reason", "arr", "account_id"
    ),
    width="stretch",
    hide_index=True,
    height=260,
    key="adoption_signal_table",
    column_config={
        "account_name": "Account",
        "plan": "Plan",
        "signal": "Signal",
        "reason": "Why",
        "arr": st.column_config.NumberColumn("ARR", format="dollar"),
        "account_id": "Account ID",
    },
    placeholder=DASH,
)
st.caption(
    f"{listed_signals['account_id'].n_unique():,} accounts, "
    f"{money(listed_signals.unique('account_id')['arr'].sum())} of ARR"
)
signal_ids = listed_signals["account_id"].unique().sort().to_list()
e1, e2 = st.columns(2)
with e1:
    action_button(
        "Task the owners…",
        "create_task",
        lambda: interventions.task_targets(
            cached(interventions.owner_task_targets, account_ids=signal_ids, as_of=as_of)
        ),
        adoption.expansion_task_payload(listed_signals, as_of) if listed_signals.height else {},
        title=f"Expansion tasks for the owners of {len(signal_ids):,} accounts",
        key="adoption_expansion_tasks",
        disabled=not signal_ids,
        icon=":material/task_alt:",
    )
with e2:
    action_button(
        "Push the signals to HubSpot companies…",
        "update_company_properties",
        lambda: cached(adoption.expansion_company_targets, signals=listed_signals),
        title=f"Expansion signals of {len(signal_ids):,} companies",
        key="adoption_expansion_push",
        disabled=not signal_ids,
        icon=":material/sync:",
    )

# ---- one account
st.subheader("Account drill-down")
if accounts.is_empty():
    st.info("No account is measured on this date.")
    st.stop()
names_by_id = dict(zip(accounts["account_id"], accounts["account_name"]))
account_id = st.selectbox(
    "Account",
    accounts.sort("arr", descending=True)["account_id"].to_list(),
    format_func=lambda a: names_by_id.get(a) or a,
    key="adoption_account",
    help=f"Account ID: {st.session_state.get('adoption_account') or accounts.sort('arr', descending=True)['account_id'][0]}",
)
one = accounts.filter(pl.col("account_id") == account_id).row(0, named=True)
d = st.columns(5)
d[0].metric("Active users", f"{one['active_users']:,}", border=True)
d[1].metric("Breadth", f"{one['breadth']:.0%}", border=True, help="Key features used in the window / key features")
d[2].metric("Depth", f"{one['depth']:.0%}", border=True, help="Mean adoption over the key features")
d[3].metric("DAU/MAU", DASH if one["dau_mau"] is None else f"{one['dau_mau']:.0%}", border=True)
d[4].metric("WAU/MAU", DASH if one["wau_mau"] is None else f"{one['wau_mau']:.0%}", border=True)
st.dataframe(
    metrics.filter(pl.col("account_id") == account_id)
    .select(
        "feature",
        "is_key",
        "is_advanced",
        "feature_users",
        "uses",
        "adoption_rate",
        "usage_velocity",
        "success_rate",
        "dau_mau",
        "wau_mau",
        "days_to_first_use",
        "feature_retention",
        "milestone",
    )
    .with_columns(pl.col("milestone").replace_strict({m: label("milestone", m) for m in MILESTONES}, default=None)),
    width="stretch",
    hide_index=True,
    key="adoption_account_table",
    column_config={
        "feature": "Feature",
        "is_key": st.column_config.CheckboxColumn("Key"),
        "is_advanced": st.column_config.CheckboxColumn("Advanced"),
        "feature_users": "Users",
        "uses": "Uses",
        "adoption_rate": st.column_config.NumberColumn("Adoption", format="percent"),
        "usage_velocity": st.column_config.NumberColumn("Uses per user a week", format="%.2f"),
        "success_rate": st.column_config.NumberColumn("Success", format="percent"),
        "dau_mau": st.column_config.NumberColumn("DAU/MAU", format="percent"),
        "wau_mau": st.column_config.NumberColumn("WAU/MAU", format="percent"),
        "days_to_first_use": st.column_config.NumberColumn("Days to first use", help="From the account's start"),
        "feature_retention": st.column_config.NumberColumn("Month-over-month retention", format="percent"),
        "milestone": "Milestone",
    },
    placeholder=DASH,
)

# ---- settings
with st.expander("Settings: thresholds, key features, templates, holdout"):
    s1, s2, s3, s4 = st.columns(4)
    adoption_threshold = s1.number_input(
        "Adoption threshold", 0.0, 1.0, float(config.adoption_threshold), 0.05, key="adoption_set_adoption"
    )
    velocity = s2.number_input(
        "Uses per user a week", 0.0, 100.0, float(config.velocity_threshold), 0.5, key="adoption_set_velocity"
    )
    success = s3.number_input(
        "Success rate", 0.0, 1.0, float(config.success_threshold), 0.05, key="adoption_set_success"
    )
    window = s4.number_input("Window (days)", 7, 365, int(config.window_days), 1, key="adoption_set_window")
    all_features = sorted(set(metrics["feature"].to_list()) | set(view.key_features))
    fixed = health_key_features()
    keys = st.multiselect(
        "Key features (health's too)",
        all_features,
        default=[ft for ft in view.key_features if ft in all_features],
        key="adoption_set_keys",
        disabled=bool(fixed),
        help="REVLENS_HEALTH_KEY_FEATURES is set, so the deployment fixes the key features."
        if fixed
        else "Saved here, they are the health score's key features too (its weekly history from the next load).",
    )
    advanced = st.multiselect(
        "Advanced features",
        all_features,
        default=[ft for ft in view.advanced_features if ft in all_features],
        key="adoption_set_advanced",
    )
    h1, h2 = st.columns(2)
    share = h1.number_input("Holdout share", 0.0, 0.49, float(config.holdout_share), 0.01, key="adoption_set_share")
    seed = h2.number_input("Holdout seed", 0, 2**31 - 1, int(config.holdout_seed), 1, key="adoption_set_seed")
    templates = []
    for milestone in MILESTONES:
        t_kind, t_target = config.template(milestone)
        t1, t2 = st.columns(2)
        chosen_kind = t1.selectbox(
            f"{label('milestone', milestone)}: campaign",
            CAMPAIGN_KINDS,
            index=CAMPAIGN_KINDS.index(t_kind),
            format_func=lambda k_: label("kind", k_),
            key=f"adoption_set_kind_{milestone}",
        )
        chosen_target = t2.text_input(
            "HubSpot list id" if chosen_kind == "add_to_list" else "HubSpot workflow id",
            t_target,
            key=f"adoption_set_target_{milestone}",
        )
        templates.append((milestone, chosen_kind, chosen_target.strip()))
    candidate = AdoptionConfig(
        adoption_threshold=float(adoption_threshold),
        velocity_threshold=float(velocity),
        success_threshold=float(success),
        window_days=int(window),
        key_features=config.key_features if fixed else tuple(keys),
        advanced_features=tuple(advanced),
        holdout_share=float(share),
        holdout_seed=int(seed),
        templates=tuple(templates),
        expansion_breadth=config.expansion_breadth,
        expansion_adopted_share=config.expansion_adopted_share,
        seat_share=config.seat_share,
        expansion_min_users=config.expansion_min_users,
    )
    problem = None
    try:
        candidate.validate()
        if not candidate.key_features and not fixed:
            problem = "Pick at least one key feature."
    except Exception as exc:  # RevLensError: the sentence says what to change
        problem = str(exc)
    if problem:
        st.error(problem, icon=":material/block:")
    if st.button("Save", type="primary", disabled=bool(problem) or candidate == config, key="adoption_save"):
        with engine.begin() as conn:
            adoption.save_adoption_config(conn, candidate, current_user())
        st.session_state["adoption_saved"] = "Saved; the page now measures with these settings."
        st.rerun()
    if st.session_state.get("adoption_saved"):
        st.success(st.session_state.pop("adoption_saved"), icon=":material/check:")
