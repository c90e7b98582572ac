"""Customer Success → Health: which accounts are at risk and why, what to do about it, and proof the score works."""

from datetime import timedelta

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from analytics.core.cells import escape_markdown
from analytics.core.labels import label, relabel_columns
from analytics.core.money import dollars, money
from analytics.core.numbers import DASH
from analytics.core.settings import retention_campaign_targets
from analytics.core.tables import label_values
from analytics.customers import activity, health, interventions, portfolio, retention, validation
from analytics.customers import churn as churn_model
from analytics.customers.config import BANDS, COMPONENTS, SPEC_CONFIG, HealthConfig, load_config, save_config
from analytics.customers.retention import TRIGGERS
from analytics.jobs.runner import last_results
from analytics.ops.store import ops_engine
from pages.components.actions import action_button, current_user, preview_only_banner, queued_notice
from pages.components.cache import cached
from pages.components.downloads import download_csv
from pages.components.filters import filters

BAND_COLOURS = {"healthy": "#5cb85c", "at_risk": "#f0ad4e", "critical": "#d9534f"}
SORTS = {
    "arr_at_risk": "ARR at risk",
    "overall_score": "Health score (lowest first)",
    "churn_probability": "Churn probability",
    "arr": "ARR",
    "health_trend": "Change in 30 days (biggest fall first)",
}

f = filters()
st.title("Customer Health")
span = cached(health.data_range)
if span is None:
    st.info(
        "There is no usage, support, invoice, email or content data to score yet; load some on Operations → Import.",
        icon=":material/info:",
    )
    st.stop()
first_day, last_day = span
as_of = min(max(f.end, first_day), last_day)
engine = ops_engine()
config = load_config(engine)
st.caption(
    f"As of {as_of:%d %b %Y}"
    + (" (the end of the date range)" if as_of == f.end else " (the health data's last day, before the range's end)")
    + f" · trends over {f.start:%d %b %Y} – {as_of:%d %b %Y}"
    + (f" · segments: {', '.join(f.segments)}" if f.segments else "")
    + (" · weights: the spec's" if config == SPEC_CONFIG else " · weights and bands as saved below")
)
if f.channels:
    st.caption(
        ":material/info: The channel filter does not apply here: health is measured per account, across channels."
    )


# Band changes become customer-health events in the health_score_update job, not when this page opens.
last_update = last_results(engine, "health_score_update")
if last_update:
    st.caption(
        f":material/schedule: Bands last published by the health_score_update job at "
        f"{last_update['created_at']:%d %b %Y %H:%M} UTC: {last_update['summary'].get('band_changes', 0):,} band changes "
        "sent as customer-health events (Operations → System)."
    )

# a spinner, not st.status: st.status sleeps 50 ms on every run (Streamlit 1.67), cached or not
with st.spinner(
    f"Scoring the accounts as of {as_of:%d %b %Y}, training the churn model and checking the score against churn…",
    show_time=True,
):
    view = cached(portfolio.health_view, as_of=as_of, config=config)
    # the churn model does not depend on the weights: keyed on the key features only, an edit does not retrain it
    churn = cached(
        churn_model.churn_analysis_or_reason, as_of=as_of, config=HealthConfig(key_features=config.key_features)
    )
    checked = cached(validation.validate_score, config=config)
churn_ok = not isinstance(churn, str)
accounts = portfolio.account_list(view, churn.predictions if churn_ok else None)
if f.segments:
    accounts = accounts.filter(pl.col("segment").is_in(list(f.segments)))

# ---- the portfolio
before_bands = accounts.filter(pl.col("score_30_days_before").is_not_null()).with_columns(
    health.band_of(pl.col("score_30_days_before"), config).alias("band_before")
)
k = st.columns(6)
k[0].metric("Accounts scored", f"{accounts.height:,}", border=True, help="Paying accounts, not churned on the date")
for column, band in zip(k[1:4], BANDS):
    now = accounts.filter(pl.col("band") == band).height
    then = before_bands.filter(pl.col("band_before") == band).height
    column.metric(
        label("band", band),
        f"{now:,}",
        f"{now - then:+,} in 30 days",
        delta_color="inverse" if band != "healthy" else "normal",
        border=True,
        help=f"{now / max(1, accounts.height):.0%} of the accounts; "
        f"bands: healthy ≥ {config.healthy_min:g}, critical < {config.critical_below:g}",
    )
k[4].metric(
    "ARR at risk",
    money(accounts["arr_at_risk"].sum()) if churn_ok else DASH,
    border=True,
    help="Σ churn probability (next 90 days) × ARR, from the churn model" if churn_ok else churn,
)
k[5].metric(
    "Average score",
    f"{accounts['overall_score'].mean():.1f}" if accounts.height else DASH,
    f"{accounts['health_trend'].mean():+.1f} in 30 days" if accounts["health_trend"].drop_nulls().len() else None,
    border=True,
)

st.subheader("Portfolio by band")
if not cached(health.history_current):
    st.caption("The weekly history is older than the data, so the trend is computed live (same numbers, slower).")
trend = cached(health.portfolio_trend, config=config, start=f.start, end=as_of, segments=tuple(f.segments))
if trend.is_empty():
    st.info("No weekly scores in the date range; widen it.")
else:
    figure = go.Figure(
        [
            go.Scatter(
                x=trend.filter(pl.col("band") == band)["as_of"].to_list(),
                y=trend.filter(pl.col("band") == band)["accounts"].to_list(),
                name=label("band", band),
                stackgroup="bands",
                line={"color": BAND_COLOURS[band]},
            )
            for band in reversed(BANDS)
        ]
        + [
            go.Scatter(
                x=(
                    weekly := trend.group_by("as_of")
                    .agg((pl.col("average_score") * pl.col("accounts")).sum() / pl.col("accounts").sum())
                    .sort("as_of")
                )["as_of"].to_list(),
                y=weekly["average_score"].to_list(),
                name="Average score",
                yaxis="y2",
                line={"color": "#333", "dash": "dot"},
            )
        ],
        layout={
            "height": 320,
            "margin": {"t": 10, "b": 10},
            "hovermode": "x unified",
            "legend": {"orientation": "h", "y": 1.1},
            "yaxis": {"title": {"text": "Accounts"}},
            "yaxis2": {"title": {"text": "Score"}, "overlaying": "y", "side": "right", "range": [0, 100]},
        },
    )
    st.plotly_chart(figure, width="stretch", key="health_trend_chart")

# ---- accounts at risk
st.subheader("Accounts at risk")
c1, c2, c3, c4 = st.columns([2, 2, 2, 2], vertical_alignment="bottom")
owner_names = sorted(n for n in accounts["owner_name"].unique().to_list() if n)
chosen_owners = c1.multiselect("Owner", owner_names, key="health_owner", placeholder="All owners")
chosen_triggers = c2.multiselect(
    "Trigger", TRIGGERS, format_func=lambda t: label("trigger", t), key="health_trigger", placeholder="Any trigger"
)
show = c3.segmented_control(
    "Show",
    ["at_risk", "all"],
    default="at_risk",
    format_func=lambda v: "At risk or flagged" if v == "at_risk" else "All accounts",
    key="health_show",
)
sort_by = c4.selectbox("Sort by", list(SORTS), format_func=SORTS.get, key="health_sort")
listed = accounts
if show != "all":
    listed = listed.filter((pl.col("band") != "healthy") | (pl.col("risk_level") != "none"))
if chosen_owners:
    listed = listed.filter(pl.col("owner_name").is_in(chosen_owners))
if chosen_triggers:
    listed = listed.filter(pl.col("triggers").list.set_intersection(chosen_triggers).list.len() > 0)
ascending = sort_by in ("overall_score", "health_trend")
listed = listed.sort(sort_by, descending=not ascending, nulls_last=True)
shown = listed.select(
    "account_name",
    "owner_name",
    "segment",
    "overall_score",
    pl.col("band").replace_strict({b: label("band", b) for b in BANDS}, default=None),
    "health_trend",
    pl.col("risk_level").replace_strict({r: label("risk_level", r) for r in retention.RISK_LEVELS}, default=None),
    pl.col("triggers")
    .list.eval(pl.element().replace_strict({t: label("trigger", t) for t in TRIGGERS}))
    .list.join(", "),
    "churn_probability",
    "arr",
    "arr_at_risk",
    "coverage",
    "account_id",
)
event = st.dataframe(
    shown,
    width="stretch",
    hide_index=True,
    placeholder=DASH,
    height=320,
    on_select="rerun",
    selection_mode="single-row",
    key="health_table",
    column_config={
        "account_name": "Account",
        "owner_name": "Owner",
        "segment": "Segment",
        "overall_score": st.column_config.ProgressColumn("Health score", min_value=0, max_value=100, format="%.2f"),
        "band": "Band",
        "health_trend": st.column_config.NumberColumn("Change in 30 days", format="%+.2f"),
        "risk_level": "Risk",
        "triggers": "Triggers",
        "churn_probability": st.column_config.NumberColumn("Churn probability", format="percent"),
        "arr": st.column_config.NumberColumn("ARR", format="dollar"),
        "arr_at_risk": st.column_config.NumberColumn("ARR at risk", format="dollar"),
        "coverage": st.column_config.NumberColumn("Data coverage", format="percent"),
        "account_id": "Account ID",
    },
)
st.caption(
    f"{listed.height:,} of {accounts.height:,} accounts · ARR at risk in the list "
    f"{money(listed['arr_at_risk'].sum()) if churn_ok else DASH} · click a row for its drill-down"
)
download = listed.with_columns(pl.col("triggers").list.join(";")).drop(
    [c for c in listed.columns if c.startswith("driver_") or c in ("owner_id",)]
)
download_csv(
    download.rename(relabel_columns(download.columns)),
    f"revlens_health_{as_of}.csv",
    key="health_csv",
)


def logger(intervention: str, kind: str, rows: list[dict]):
    """logRetentionIntervention in the ops-store transaction that queues the action."""
    return interventions.intervention_logger(intervention, kind, rows, as_of)


def decision_rows(frame: pl.DataFrame) -> list[dict]:
    """What an intervention is logged with, per account: score, band, risk, triggers, churn probability."""
    return frame.select(
        "account_id", "account_name", "overall_score", "band", "risk_level", "churn_probability", "triggers"
    ).to_dicts()


listed_rows = decision_rows(listed)
preview_only_banner()
queued_notice()
with st.container(border=True):
    st.markdown(f"**Act on the {listed.height:,} accounts in the list**")
    ids = tuple(listed["account_id"].to_list())
    a1, a2, a3 = st.columns([3, 2, 2], vertical_alignment="bottom")
    with a1:
        defaults = retention_campaign_targets()
        campaign_kind = st.segmented_control(
            "Retention campaign",
            ["add_to_list", "enroll_workflow"],
            default="add_to_list",
            format_func=lambda k: label("kind", k),
            key="health_campaign_kind",
        )
        param = "list_id" if campaign_kind != "enroll_workflow" else "workflow_id"
        target_id = st.text_input(
            "HubSpot list id" if param == "list_id" else "HubSpot workflow id",
            value=defaults[param] or "",
            key=f"health_{param}",
            placeholder="e.g. 123",
        ).strip()
        kind = campaign_kind or "add_to_list"
        action_button(
            "Start the retention campaign…",
            kind,
            lambda: interventions.campaign_targets(cached(interventions.account_contacts, account_ids=list(ids)), kind),
            {param: target_id},
            title=f"Retention campaign for the contacts of {len(ids):,} accounts",
            key="health_campaign",
            disabled=not target_id or not ids,
            icon=":material/campaign:",
            within=logger("retention_campaign", kind, listed_rows),
        )
    with a2:
        action_button(
            "Create a task for each owner…",
            "create_task",
            lambda: interventions.task_targets(
                cached(interventions.owner_task_targets, account_ids=list(ids), as_of=as_of)
            ),
            interventions.task_payload(listed_rows, as_of),
            title=f"Tasks for the owners of {len(ids):,} accounts",
            key="health_tasks",
            disabled=not ids,
            icon=":material/task_alt:",
            within=logger("owner_task", "create_task", listed_rows),
        )
    with a3:
        pushed = listed.select("account_id", "overall_score", "band", "churn_probability")
        action_button(
            "Push health to HubSpot…",
            "update_company_properties",
            lambda: cached(interventions.company_targets, accounts=pushed),
            title=f"Health score, band and churn probability of {len(ids):,} companies",
            key="health_push",
            disabled=not ids,
            icon=":material/sync:",
            within=logger("crm_sync", "update_company_properties", listed_rows),
        )

# ---- one account
st.subheader("Account drill-down")
options = listed["account_id"].to_list() or accounts["account_id"].to_list()
names = dict(zip(accounts["account_id"], accounts["account_name"]))
picked = event.selection.rows if event is not None else []
if picked and picked != st.session_state.get("health_table_picked"):
    st.session_state["health_account"] = shown["account_id"][picked[0]]
st.session_state["health_table_picked"] = picked
if st.session_state.get("health_account") not in options:
    st.session_state.pop("health_account", None)
if not options:
    st.info("No account is scored on this date; pick a later end date.")
    st.stop()
account_id = st.selectbox(
    "Account",
    options,
    format_func=lambda a: names.get(a) or a,
    key="health_account",
    help=f"Account ID: {st.session_state.get('health_account') or (options[0] if options else '')}",
)
row = accounts.filter(pl.col("account_id") == account_id).row(0, named=True)
fired = portfolio.evidence_of(row)
m = st.columns(5)
m[0].metric(
    "Health score",
    f"{row['overall_score']:.2f}",
    None if row["health_trend"] is None else f"{row['health_trend']:+.2f} in 30 days",
    border=True,
)
m[1].metric("Band", label("band", row["band"]), border=True)
m[2].metric(
    "Data coverage",
    f"{row['coverage']:.0%}",
    border=True,
    help="Share of the score's weight backed by data; missing components are left out and the others reweighted.",
)
m[3].metric(
    "Churn probability",
    DASH if row["churn_probability"] is None else f"{row['churn_probability']:.0%}",
    border=True,
    help="Calibrated probability of churning in the next 90 days",
)
m[4].metric(
    "ARR at risk",
    DASH if row["arr_at_risk"] is None else money(row["arr_at_risk"]),
    border=True,
    help=f"Churn probability × ARR ({dollars(row['arr'])})",
)
st.caption(
    f"{row['segment']} · owner {row['owner_name'] or DASH} · risk: {label('risk_level', row['risk_level'])}"
    + (
        " · churn drivers: "
        + ", ".join(
            f"{label('driver', row[f'driver_{k}'])} ({row[f'driver_{k}_contribution']:+.2f})"
            for k in (1, 2, 3)
            if row.get(f"driver_{k}")
        )
        if row.get("driver_1")
        else ""
    )
)

left, right = st.columns(2)
with left:
    st.markdown("**Components** (bar: the value, 0–1; the label: its weight and its points of the score)")
    values = [row[c] for c in COMPONENTS]
    present = sum(w for w, v in zip(config.weights, values) if v is not None) or 1.0
    bars = go.Figure(
        go.Bar(
            y=[label("component", c) for c in COMPONENTS],
            x=[0 if v is None else v for v in values],
            orientation="h",
            marker={"color": ["#bbb" if v is None else "#337ab7" for v in values]},
            text=[
                "no data" if v is None else f"{v:.2f} · weight {w / present:.0%} · {100 * w / present * v:.1f} pts"
                for v, w in zip(values, config.weights)
            ],
            textposition="auto",
        )
    )
    bars.update_layout(height=300, margin={"t": 10, "b": 10}, xaxis={"range": [0, 1]}, yaxis={"autorange": "reversed"})
    st.plotly_chart(bars, width="stretch", key="health_components_chart")
with right:
    st.markdown("**Score history** (weekly)")
    history = cached(health.history_scores, config=config, account_id=account_id, end=as_of)
    line = go.Figure(
        go.Scatter(x=history["as_of"].to_list(), y=history["overall_score"].to_list(), mode="lines+markers")
    )
    for threshold, colour in (
        (config.healthy_min, BAND_COLOURS["healthy"]),
        (config.critical_below, BAND_COLOURS["critical"]),
    ):
        line.add_hline(y=threshold, line_dash="dot", line_color=colour)
    line.update_layout(height=300, margin={"t": 10, "b": 10}, yaxis={"range": [0, 100], "title": {"text": "Score"}})
    st.plotly_chart(line, width="stretch", key="health_history_chart")

st.markdown("**Why it changed**")
w1, w2 = st.columns(2)
default_from = max(first_day, as_of - timedelta(days=30))
date_from = w1.date_input("From", default_from, min_value=first_day, max_value=as_of, key="health_from")
date_to = w2.date_input("To", as_of, min_value=first_day, max_value=last_day, key="health_to")
why = cached(health.why_changed_or_reason, account_id=account_id, before=date_from, after=date_to, config=config)
before = None
if isinstance(why, str):  # no breakdown: the sentence says why
    st.info(why, icon=":material/info:")
else:
    before, after, changes = why
if before is not None:
    waterfall = go.Figure(
        go.Waterfall(
            x=[f"{date_from}"] + [label("component", c.component) for c in changes] + [f"{date_to}"],
            y=[before["overall_score"]] + [c.contribution for c in changes] + [0],
            measure=["absolute"] + ["relative"] * len(changes) + ["total"],
            text=[f"{before['overall_score']:.2f}"]
            + [f"{c.contribution:+.2f}" for c in changes]
            + [f"{after['overall_score']:.2f}"],
            textposition="outside",
            decreasing={"marker": {"color": BAND_COLOURS["critical"]}},
            increasing={"marker": {"color": BAND_COLOURS["healthy"]}},
            totals={"marker": {"color": "#337ab7"}},
        )
    )
    waterfall.update_layout(
        height=320,
        margin={"t": 20, "b": 10},
        xaxis={"type": "category"},  # the first and last bars are dates: keep them as labels
        yaxis={"title": {"text": "Score"}},
        showlegend=False,
    )
    st.plotly_chart(waterfall, width="stretch", key="health_waterfall")
    st.dataframe(
        pl.DataFrame(
            {
                "component": [label("component", c.component) for c in changes],
                "before": [c.value_before for c in changes],
                "after": [c.value_after for c in changes],
                "points": [c.contribution for c in changes],
                "data": ["; ".join(c.evidence) for c in changes],
            }
        ),
        width="stretch",
        hide_index=True,
        placeholder=DASH,
        key="health_why_table",
        column_config={
            "component": "Component",
            "before": st.column_config.NumberColumn(f"On {date_from}", format="%.3f"),
            "after": st.column_config.NumberColumn(f"On {date_to}", format="%.3f"),
            "points": st.column_config.NumberColumn("Points of the change", format="%+.2f"),
            "data": "The data behind it",
        },
    )

st.markdown("**Retention triggers**")
if not fired:
    st.caption(f"No trigger fired on {as_of}.")
for trigger in fired:
    icon = ":material/error:" if trigger["level"] == "high" else ":material/warning:"
    st.markdown(
        f"{icon} **{label('trigger', trigger['name'])}** ({label('risk_level', trigger['level'])}): "
        f"{trigger['evidence']}"
    )

tickets_tab, invoices_tab, activity_tab = st.tabs(["Recent tickets", "Invoices", "Usage and email"])
with tickets_tab:
    st.dataframe(
        label_values(cached(activity.account_tickets, account_id=account_id, as_of=as_of)),
        width="stretch",
        hide_index=True,
        placeholder=DASH,
        key="health_tickets",
        column_config={
            "ticket_id": "Ticket",
            "opened_on": st.column_config.DateColumn("Opened"),
            "severity": "Severity",
            "escalated": st.column_config.CheckboxColumn("Escalated"),
            "resolved_on": st.column_config.DateColumn("Resolved"),
            "csat": st.column_config.NumberColumn("CSAT (1–5)"),
        },
    )
with invoices_tab:
    st.dataframe(
        cached(activity.account_invoices, account_id=account_id, as_of=as_of),
        width="stretch",
        hide_index=True,
        placeholder=DASH,
        key="health_invoices",
        column_config={
            "invoice_id": "Invoice",
            "issued_date": st.column_config.DateColumn("Issued"),
            "due_date": st.column_config.DateColumn("Due"),
            "paid_date": st.column_config.DateColumn("Paid"),
            "amount": st.column_config.NumberColumn("Amount", format="dollar"),
            "status": "Status",
            "days_late": st.column_config.NumberColumn("Days late"),
        },
    )
with activity_tab:
    weekly = cached(activity.account_weekly_activity, account_id=account_id, as_of=as_of)
    usage = go.Figure(
        [
            go.Bar(x=weekly["week_ending"].to_list(), y=weekly["usage_events"].to_list(), name="Usage events"),
            go.Scatter(
                x=weekly["week_ending"].to_list(), y=weekly["emails_sent"].to_list(), name="Emails sent", yaxis="y2"
            ),
            go.Scatter(
                x=weekly["week_ending"].to_list(),
                y=(weekly["email_opens"] + weekly["email_clicks"]).to_list(),
                name="Opens and clicks",
                yaxis="y2",
            ),
        ],
        layout={
            "height": 280,
            "margin": {"t": 10, "b": 10},
            "legend": {"orientation": "h", "y": 1.15},
            "yaxis": {"title": {"text": "Usage events"}},
            "yaxis2": {"title": {"text": "Emails"}, "overlaying": "y", "side": "right", "rangemode": "tozero"},
        },
    )
    st.plotly_chart(usage, width="stretch", key="health_activity_chart")

one = accounts.filter(pl.col("account_id") == account_id)
one_rows = [{**decision_rows(one)[0], "triggers": fired}]  # with each trigger's evidence, for the task
with st.container(border=True):
    st.markdown(f"**Act on {escape_markdown(row['account_name'])}**")
    b1, b2, b3 = st.columns(3)
    owner_target = cached(interventions.owner_task_targets, account_ids=[account_id], as_of=as_of)
    with b1:
        action_button(
            "Task for the owner…",
            "create_task",
            lambda: interventions.task_targets(owner_target),
            interventions.task_payload(one_rows, as_of),
            preview_frame=owner_target.select("account_name", "owner_name", "email", "engagements"),
            title=f"Task for the owner of {row['account_name']}",
            key="health_account_task",
            disabled=owner_target.is_empty(),
            icon=":material/task_alt:",
            within=logger("owner_task", "create_task", one_rows),
        )
    with b2:
        action_button(
            "Push its health to HubSpot…",
            "update_company_properties",
            lambda: cached(
                interventions.company_targets,
                accounts=one.select("account_id", "overall_score", "band", "churn_probability"),
            ),
            title=f"Health of {row['account_name']} to its HubSpot company",
            key="health_account_push",
            icon=":material/sync:",
            within=logger("crm_sync", "update_company_properties", one_rows),
        )
    with b3:
        action_button(
            "Retention campaign for its contacts…",
            kind,
            lambda: interventions.campaign_targets(
                cached(interventions.account_contacts, account_ids=[account_id]), kind
            ),
            {param: target_id},
            title=f"Retention campaign for the contacts of {row['account_name']}",
            key="health_account_campaign",
            disabled=not target_id,
            help="Uses the list or workflow chosen above; a campaign needs at least 100 contacts (the outbox's guard rail).",
            icon=":material/campaign:",
            within=logger("retention_campaign", kind, one_rows),
        )
    logged_one = interventions.interventions(engine, account_id=account_id)
    if not logged_one.is_empty():
        st.dataframe(
            cached(interventions.intervention_outcomes, logged=logged_one, config=config).select(
                "intervention", "as_of", "score", "band", "outcome", "score_after", "days_observed", "created_by"
            ),
            width="stretch",
            hide_index=True,
            placeholder=DASH,
            key="health_account_interventions",
        )

# ---- settings, proof, model
weights_tab, validation_tab, model_tab, log_tab = st.tabs(
    ["Weights and bands", "Does the score predict churn?", "Churn model", "Interventions"]
)

with weights_tab:
    st.caption(
        "The overall score is 100 × Σ weight × component over the components with data, the weights renormalized "
        "over them. The spec's code applies the weights twice; RevLens applies them once."
    )
    for name, weight in zip(COMPONENTS, config.weights):
        st.session_state.setdefault(f"health_w_{name}", float(weight))
    st.session_state.setdefault("health_healthy_min", float(config.healthy_min))
    st.session_state.setdefault("health_critical_below", float(config.critical_below))
    columns = st.columns(len(COMPONENTS))
    weights = tuple(
        float(column.number_input(label("component", name), 0.0, 1.0, step=0.05, format="%.2f", key=f"health_w_{name}"))
        for column, name in zip(columns, COMPONENTS)
    )
    t1, t2, t3 = st.columns(3)
    healthy_min = t1.number_input("Healthy from (score ≥)", 1.0, 100.0, step=1.0, key="health_healthy_min")
    critical_below = t2.number_input("Critical below (score <)", 1.0, 100.0, step=1.0, key="health_critical_below")

    def reset() -> None:
        for name, weight in zip(COMPONENTS, SPEC_CONFIG.weights):
            st.session_state[f"health_w_{name}"] = float(weight)
        st.session_state["health_healthy_min"] = SPEC_CONFIG.healthy_min
        st.session_state["health_critical_below"] = SPEC_CONFIG.critical_below

    t3.button("Back to the spec's", on_click=reset, key="health_reset", icon=":material/restart_alt:")
    candidate = HealthConfig(weights=weights, healthy_min=float(healthy_min), critical_below=float(critical_below))
    problem = None
    try:
        candidate.validate()
    except Exception as exc:  # RevLensError: the sentence says what to change
        problem = str(exc)
    if problem:
        st.error(problem, icon=":material/block:")
    else:
        moves = health.band_changes(accounts, candidate)
        moved = int(moves["accounts"].sum()) if moves.height else 0
        st.markdown(
            f"**{moved:,} of {accounts.height:,} accounts would change band** "
            f"({money(float(moves['arr'].sum())) if moves.height else '$0'} of ARR)."
        )
        if moves.height:
            st.dataframe(
                moves.with_columns(
                    pl.col("band").replace_strict({b: label("band", b) for b in BANDS}),
                    pl.col("new_band").replace_strict({b: label("band", b) for b in BANDS}),
                ),
                hide_index=True,
                placeholder=DASH,
                key="health_moves",
                column_config={
                    "band": "From",
                    "new_band": "To",
                    "accounts": "Accounts",
                    "arr": st.column_config.NumberColumn("ARR", format="dollar"),
                },
            )
    if st.button(
        "Save weights and bands", type="primary", disabled=bool(problem) or candidate == config, key="health_save"
    ):
        latest = cached(health.health_scores, as_of=last_day, config=config)
        with engine.begin() as conn:
            save_config(conn, candidate, current_user())
            events = interventions.publish_band_changes(
                conn, health.rescore(latest, candidate), last_day, "weights and bands changed"
            )
        st.session_state["health_saved"] = f"Saved; {len(events):,} band changes sent as customer-health events."
        st.rerun()
    if st.session_state.get("health_saved"):
        st.success(st.session_state.pop("health_saved"), icon=":material/check:")

with validation_tab:
    v1, v2, v3 = st.columns(3)
    v1.metric(
        "ROC-AUC of the score",
        f"{checked.roc_auc:.3f}",
        border=True,
        help="Chance that an account-week followed by churn within 90 days scores lower than one that was not",
    )
    v2.metric(
        "Account-weeks",
        f"{checked.account_weeks:,}",
        f"{checked.churned:,} churned within 90 days",
        delta_color="off",
        border=True,
    )
    v3.metric("Weeks with a whole 90-day outcome", f"{checked.weeks}", border=True)
    rates = go.Figure(
        go.Bar(
            x=[label("band", b) for b in checked.by_band["band"]],
            y=checked.by_band["churn_rate"].to_list(),
            marker={"color": [BAND_COLOURS[b] for b in checked.by_band["band"]]},
            text=[f"{r:.1%}" for r in checked.by_band["churn_rate"]],
            textposition="outside",
        )
    )
    rates.update_layout(
        height=280, margin={"t": 20, "b": 10}, yaxis={"title": {"text": "Churned within 90 days"}, "tickformat": ".0%"}
    )
    st.plotly_chart(rates, width="stretch", key="health_validation_chart")
    fitted = checked.suggested
    st.markdown(
        f"**Weights fitted by logistic regression** (on the weeks before {checked.test_weeks[0]}), beside the "
        f"current ones; ROC-AUC on {checked.test_weeks[0]} – {checked.test_weeks[1]}, which the fit did not see: "
        f"current {checked.test_auc_current:.3f}"
        + (f", fitted {checked.test_auc_suggested:.3f}." if checked.test_auc_suggested is not None else ".")
    )
    st.dataframe(
        pl.DataFrame(
            {
                "component": [label("component", c) for c in COMPONENTS],
                "current": list(config.weights),
                "fitted": list(fitted.weights) if fitted else [None] * len(COMPONENTS),
                "coefficient": [checked.coefficients[c] for c in COMPONENTS],
            }
        ),
        hide_index=True,
        placeholder=DASH,
        key="health_fitted_weights",
        column_config={
            "component": "Component",
            "current": st.column_config.NumberColumn("Current weight", format="%.2f"),
            "fitted": st.column_config.NumberColumn("Fitted weight", format="%.4f"),
            "coefficient": st.column_config.NumberColumn("Coefficient (log-odds of churn)", format="%.3f"),
        },
    )
    if fitted is not None:

        def use_fitted() -> None:
            for name, weight in zip(COMPONENTS, fitted.weights):
                st.session_state[f"health_w_{name}"] = float(weight)

        st.button(
            "Try the fitted weights in the editor", on_click=use_fitted, key="health_use_fitted", icon=":material/tune:"
        )

with model_tab:
    if not churn_ok:
        st.info(churn, icon=":material/info:")
    else:
        test = churn.card["test"]
        c = st.columns(5)
        c[0].metric("ROC-AUC", f"{test['roc_auc']:.3f}", border=True)
        c[1].metric(
            "PR-AUC", f"{test['pr_auc']:.3f}", f"churn rate {test['churn_rate']:.1%}", delta_color="off", border=True
        )
        c[2].metric("Brier score", f"{test['brier']:.3f}", border=True, help="Mean squared error of the probabilities")
        c[3].metric("Top-decile lift", f"{test['top_decile_lift']:.2f}×", border=True)
        c[4].metric("ARR at risk", money(churn.arr_at_risk), border=True, help="Σ probability × ARR on the as-of date")
        split = churn.card["split"]
        st.caption(
            f"Trained on month ends {split['fit'][0]} – {split['fit'][1]}, calibrated (sigmoid) on "
            f"{', '.join(split['calibration'])}, measured on {', '.join(split['test'])} "
            f"({test['rows']:,} account-months, {test['churned']:,} churned within 90 days) · {churn.card['model']}"
        )
        r1, r2 = st.columns(2)
        with r1:
            st.markdown("**Reliability** (predicted against observed churn, 10 bins)")
            reliability = go.Figure(
                [
                    go.Scatter(x=[0, 1], y=[0, 1], mode="lines", line={"dash": "dot", "color": "#999"}, name="Perfect"),
                    go.Scatter(
                        x=churn.reliability["predicted"].to_list(),
                        y=churn.reliability["observed"].to_list(),
                        mode="lines+markers",
                        name="Model",
                    ),
                ]
            )
            reliability.update_layout(
                height=300,
                margin={"t": 10, "b": 10},
                xaxis={"title": {"text": "Predicted"}},
                yaxis={"title": {"text": "Observed"}},
                showlegend=False,
            )
            st.plotly_chart(reliability, width="stretch", key="health_reliability_chart")
        with r2:
            st.markdown("**What drives churn** (test ROC-AUC lost when the driver is shuffled)")
            drivers = churn.drivers.head(8)
            strength = go.Figure(
                go.Bar(
                    y=[label("driver", d) for d in drivers["driver"]],
                    x=drivers["auc_drop"].to_list(),
                    orientation="h",
                    marker={"color": ["#d9534f" if p else "#999" for p in drivers["planted"]]},
                )
            )
            strength.update_layout(height=300, margin={"t": 10, "b": 10}, yaxis={"autorange": "reversed"})
            st.plotly_chart(strength, width="stretch", key="health_drivers_chart")

with log_tab:
    logged = interventions.interventions(engine)
    if logged.is_empty():
        st.caption("No intervention yet: the actions above log one per account when they are queued.")
    else:
        outcomes = cached(interventions.intervention_outcomes, logged=logged, config=config)
        summary = outcomes.group_by("outcome").len()
        st.caption(
            " · ".join(f"{label('outcome', o)}: {n:,}" for o, n in summary.sort("outcome").iter_rows())
            + f" · recovered = healthy, or {interventions.RECOVERY_POINTS:g}+ points better, 60 days later"
        )
        st.dataframe(
            outcomes.select(
                "account_name",
                "intervention",
                "kind",
                "action_id",
                "as_of",
                "score",
                "band",
                "risk_level",
                "outcome",
                "score_after",
                "band_after",
                "days_observed",
                "created_by",
                "created_at",
            ),
            width="stretch",
            hide_index=True,
            placeholder=DASH,
            key="health_interventions",
        )
