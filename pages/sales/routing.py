"""Routing: who gets which lead — the configuration, its replay over past leads, load, SLA breaches, the audit."""

from dataclasses import replace

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from analytics.core.cells import escape_markdown
from analytics.core.errors import RevLensError
from analytics.core.labels import label, labels
from analytics.sales import leads as pipeline
from analytics.sales import store
from analytics.sales.routing import (
    FALLBACK,
    MATCH_ACCOUNTS,
    METHODS,
    QUEUE,
    RULE_FIELDS,
    RoutingRule,
    config_to_json,
    config_to_toml,
    default_routing_text,
    parse_routing,
    reps_frame,
    routing_path,
    time_off_frame,
)
from analytics.sales.rules import default_rules_text
from analytics.sales.writeback import escalation_targets, owner_targets
from pages.components.actions import action_button, current_user, queued_notice
from pages.components.cache import cached, warehouse
from pages.components.downloads import download_csv
from pages.components.filters import filters
from pages.components.tables import table

# the lead fields a rule can test, as people read them (the file keeps the machine names)
FIELD_LABELS = {field: label("column", field) for field in RULE_FIELDS}
FIELD_LABELS["email_domain"] = "Email domain"
FIELDS_BY_LABEL = {text: field for field, text in FIELD_LABELS.items()}

f = filters()
st.title("Routing")
st.caption(
    "Rules first, then account owners, then the territory and segment pool (senior reps for high scores), "
    "skipping reps at capacity or out of office; what nobody can take waits in the fallback queue. "
    f"The replay below runs this configuration over the leads created {f.start:%d %b %Y} – {f.end:%d %b %Y} "
    "(the filter bar's dates" + (f" and segments: {', '.join(f.segments)}" if f.segments else "") + ")."
)

try:
    base = parse_routing(default_routing_text(), str(routing_path()))
except RevLensError as exc:
    st.error(str(exc), icon=":material/error:")
    st.stop()
rules_text = default_rules_text()
reps = cached(reps_frame)
names = dict(zip(reps["rep_id"], reps["name"]))
ids_by_name = {name: rep for rep, name in names.items()}


def rep_label(rep_id) -> str:
    return names.get(rep_id, FALLBACK.capitalize()) if rep_id else FALLBACK.capitalize()


def with_rep_names(frame: pl.DataFrame, *columns: str) -> pl.DataFrame:
    """Rep ids inside audit text (candidates, skipped) as names."""
    ids, shown = list(names), list(names.values())
    return frame.with_columns(pl.col(c).str.replace_many(ids, shown) for c in columns)


st.subheader("Configuration")
with st.container(border=True):
    c1, c2, c3, c4 = st.columns(4)
    method = c1.selectbox(
        "Pool method",
        METHODS,
        index=METHODS.index(base.method),
        format_func=lambda m: label("routing_method", m),
        key="routing_method",
    )
    match_accounts = c2.selectbox(
        "Lead-to-account matching",
        MATCH_ACCOUNTS,
        index=MATCH_ACCOUNTS.index(base.match_accounts),
        format_func=lambda m: label("match_accounts", m),
        key="routing_match",
    )
    score_basis = c3.selectbox(
        "High-score test on",
        ["rule_score", "predictive_score"],
        index=["rule_score", "predictive_score"].index(base.score),
        format_func=lambda c: label("column", c),
        key="routing_score",
    )
    high_score = c4.number_input(
        "High score (to senior reps)",
        0.0,
        100.0,
        float(base.high_score or 0),
        step=5.0,
        key="routing_high",
        help="0 turns senior routing off.",
    )
    c5, c6, c7, c8 = st.columns(4)
    capacity_scale = c5.slider("Capacity ×", 0.0, 3.0, float(base.capacity_scale), 0.1, key="routing_capacity")
    sla_hours = c6.number_input(
        "First-touch SLA (business hours)", 0.5, 80.0, float(base.sla_hours), 0.5, key="routing_sla"
    )
    open_hour, close_hour = c7.slider("Business hours", 0, 24, (base.open_hour, base.close_hour), key="routing_hours")
    seniors = c8.multiselect(
        "Senior levels",
        sorted(reps["seniority"].drop_nulls().unique().to_list()),
        default=list(base.senior_levels),
        key="routing_seniors",
    )
    st.caption("Reps: weight (weighted pools) and who takes no new leads.")
    roster = reps.select("rep_id", "name", "territory", "segment", "seniority", "capacity").with_columns(
        weight=pl.col("rep_id").map_elements(base.weight, return_dtype=pl.Float64),
        excluded=pl.col("rep_id").is_in(list(base.excluded_reps)),
    )
    edited_roster = st.data_editor(
        placeholder="—",
        data=roster,
        hide_index=True,
        disabled=["rep_id", "name", "territory", "segment", "seniority", "capacity"],
        column_config={
            "rep_id": st.column_config.TextColumn("Rep ID"),
            "name": "Rep",
            "territory": "Territory",
            "segment": "Segment",
            "seniority": "Seniority",
            "capacity": st.column_config.NumberColumn("Capacity / month"),
            "weight": st.column_config.NumberColumn("Weight", min_value=0.0, step=0.5),
            "excluded": st.column_config.CheckboxColumn("No new leads"),
        },
        key="routing_roster",
    )
    st.caption("Rules (first match wins): a lead field in a list of values sends the lead to a rep or the queue.")
    rule_rows = pl.DataFrame(
        {
            "name": [r.name for r in base.rules],
            "field": [FIELD_LABELS.get(r.field, r.field) for r in base.rules],
            "values": [", ".join(r.values) for r in base.rules],
            "to": [rep_label(r.to) if r.to != QUEUE else FALLBACK.capitalize() for r in base.rules],
        },
        schema={"name": pl.String, "field": pl.String, "values": pl.String, "to": pl.String},
    )
    edited_rules = st.data_editor(
        placeholder="—",
        data=rule_rows,
        hide_index=True,
        num_rows="dynamic",
        column_config={
            "name": "Rule",
            "field": st.column_config.SelectboxColumn("Field", options=list(FIELD_LABELS.values()), required=True),
            "values": st.column_config.TextColumn("Values (comma-separated)", required=True),
            "to": st.column_config.SelectboxColumn(
                "Send to", options=[FALLBACK.capitalize(), *names.values()], required=True
            ),
        },
        key="routing_rules",
    )

rules = []
for number, row in enumerate(edited_rules.iter_rows(named=True), start=1):
    if not row["field"] or not row["values"] or not row["to"]:
        continue
    target = QUEUE if row["to"] == FALLBACK.capitalize() else ids_by_name.get(row["to"], row["to"])
    values = tuple(v.strip() for v in str(row["values"]).split(",") if v.strip())
    field = FIELDS_BY_LABEL.get(row["field"], row["field"])
    rules.append(RoutingRule(row["name"] or f"rule {number}", field, values, target))
config = replace(
    base,
    method=method,
    match_accounts=match_accounts,
    score=score_basis,
    high_score=high_score or None,
    capacity_scale=float(capacity_scale),
    sla_hours=float(sla_hours),
    open_hour=int(open_hour),
    close_hour=int(close_hour),
    senior_levels=tuple(seniors),
    # only weights other than the default 1, as the file keeps them
    weights={r: float(w) for r, w in zip(edited_roster["rep_id"], edited_roster["weight"]) if w is not None and w != 1},
    excluded_reps=tuple(edited_roster.filter(pl.col("excluded"))["rep_id"].to_list()),
    rules=tuple(rules),
)
config_json = config_to_json(config)
changed = config != base
save_left, save_right = st.columns([1, 3])
if save_left.button(
    "Save this configuration",
    key="routing_save",
    disabled=not changed,
    help="Writes the routing file: live routing and the Leads page's suggested owners then use it.",
):
    routing_path().write_text(config_to_toml(config), encoding="utf-8")
    st.toast(f"Saved to {routing_path()}.", icon=":material/save:")
    st.rerun()
save_right.caption(
    "Unsaved changes: the replay below shows them; live routing uses them only once saved."
    if changed
    else f"This is the saved configuration ({routing_path()})."
)
time_off_rows = tuple(store.time_off_entries().rows())

st.subheader("Replay over past leads")
with st.spinner("Replaying the configuration over the period's leads…"):
    try:
        result = cached(
            pipeline.replay_view,
            config_json=config_json,
            rules_text=rules_text,
            created_from=f.start,
            created_to=f.end,
            segments=f.segments,
            time_off_rows=time_off_rows,
        )
    except RevLensError as exc:  # cached() shows most; a refused configuration is worth its own words
        st.error(str(exc), icon=":material/block:")
        st.stop()
routed = result.assignments
r1, r2, r3, r4 = st.columns(4)
r1.metric("Leads routed", f"{routed.height:,}", border=True)
r2.metric("To the fallback queue", f"{result.queued:,}", border=True)
r3.metric(
    "Predicted SLA breaches",
    f"{result.sla_breaches:,}",
    border=True,
    help="Each rep's median first-touch delay, counted on the rep's own calendar (days off are not worked); "
    f"a breach is more than {config.sla_hours:g} business hours. Queued leads breach.",
)
r4.metric(
    "Fair shares",
    "—" if result.fair_share is None else f"{result.fair_share:.0%}",
    border=True,
    help="Share of pool members (never away or full) whose leads are within ±1 of their weighted share.",
)
load = result.load.with_columns(rep_name=pl.col("name"))
chart = go.Figure()
chart.add_bar(x=load["rep_name"], y=load["leads"], name="Leads in the period")
chart.add_scatter(x=load["rep_name"], y=load["peak_month"], mode="markers", name="Busiest month")
chart.add_scatter(
    x=load["rep_name"],
    y=load["capacity"],
    mode="markers",
    marker_symbol="line-ew-open",
    marker_size=24,
    name="Capacity / month",
)
chart.update_layout(height=320, margin={"t": 10, "b": 10}, legend={"orientation": "h", "y": 1.1}, yaxis_title="Leads")
st.plotly_chart(chart, width="stretch", key="routing_load_chart")
table(
    load.select(
        "rep_name",
        "territory",
        "segment",
        "seniority",
        "leads",
        "share",
        "peak_month",
        "capacity",
        "sla_breaches",
        "median_wait_hours",
        "rep_id",
    ),
    hide_index=True,
    column_config={
        **{c: label("column", c) for c in load.columns},
        "share": st.column_config.NumberColumn("Share", format="percent"),
        "rep_id": st.column_config.TextColumn("Rep ID"),
    },
    key="routing_load_table",
)
if not result.fairness.is_empty():
    with st.expander("Fairness per pool"):
        table(
            result.fairness.with_columns(pl.col("rep_id").replace_strict(names, default=pl.col("rep_id"))),
            hide_index=True,
            column_config={
                "pool": "Pool",
                "rep_id": "Rep",
                "leads": "Leads",
                "expected": st.column_config.NumberColumn("Weighted share", format="%.1f"),
                "deviation": st.column_config.NumberColumn("Deviation", format="%+.1f"),
                "fair": "Within ±1",
            },
        )
with st.expander("Every decision of the replay (the audit it would write)"):
    decisions = routed.with_columns(
        pl.col("rep_id").map_elements(rep_label, return_dtype=pl.String).alias("rep_name"),
        pl.col("breached").alias("sla_breach"),
    ).select("contact_id", "created_at", "rep_name", "rule", "candidates", "skipped", "wait_hours", "sla_breach")
    decisions = with_rep_names(decisions, "candidates", "skipped")
    table(
        decisions.head(2000),
        hide_index=True,
        column_config={
            **{c: label("column", c) for c in decisions.columns},
            "created_at": st.column_config.DatetimeColumn("Created", format="YYYY-MM-DD HH:mm"),
            "sla_breach": "SLA breach",
        },
    )
    download_csv(
        decisions,
        f"revlens_routing_replay_{f.start}_{f.end}.csv",
        label="Download the replay (CSV)",
        key="routing_replay_download",
    )

st.subheader("Time off")
time_off = cached(time_off_frame)
entries = store.time_off_entries()
shown_off = pl.concat([time_off.with_columns(source=pl.lit("warehouse")), entries.with_columns(source=pl.lit("page"))])
table(
    shown_off.with_columns(pl.col("rep_id").replace_strict(names, default=pl.col("rep_id")).alias("rep"))
    .select("rep", "starts_on", "ends_on", "reason", "source")
    .sort("starts_on", descending=True),
    hide_index=True,
    height=200,
    column_config={
        "rep": "Rep",
        "starts_on": st.column_config.DateColumn("From", format="YYYY-MM-DD"),
        "ends_on": st.column_config.DateColumn("To (inclusive)", format="YYYY-MM-DD"),
        "reason": "Reason",
        "source": "Entered in",
    },
)
with st.form("routing_time_off", border=True):
    t1, t2, t3 = st.columns([2, 2, 2])
    off_rep = t1.selectbox("Rep", list(names), format_func=names.get, key="routing_off_rep")
    off_dates = t2.date_input("Out of office", value=(f.end, f.end), key="routing_off_dates")
    off_reason = t3.text_input("Reason", key="routing_off_reason")
    if st.form_submit_button("Add time off", key="routing_off_add"):
        start, end = (off_dates[0], off_dates[-1]) if off_dates else (f.end, f.end)
        store.add_time_off(off_rep, start, end, off_reason, current_user())
        st.success(f"{escape_markdown(names[off_rep])} is out of office {start} – {end}; routing skips them then.")
        st.rerun()

st.subheader("Route the new leads")
st.caption(
    "Routes the leads created in the last 7 days of the data under the saved configuration, starting from "
    "each rep's load this month; every decision is written to the routing audit. The owners and scores then "
    "go to HubSpot through the outbox (hubspot_owner_id and marketing_platform_lead_score)."
)
if st.button("Route and record the decisions", type="primary", key="routing_live"):
    with st.spinner("Routing…"):
        cursor = warehouse().cursor()
        try:
            new_leads, live = pipeline.route_with_config(cursor, rules_text, base, 7, store.month_loads())
            run_id = store.record_decisions(
                live, base.key(), current_user(), dict(zip(new_leads["contact_id"], new_leads[base.score]))
            )
        except RevLensError as exc:
            st.error(str(exc), icon=":material/error:")
        else:
            st.session_state["routing_live_result"] = (new_leads, live, run_id)
        finally:
            cursor.close()
if "routing_live_result" in st.session_state:
    new_leads, live, run_id = st.session_state["routing_live_result"]
    st.success(f"{live.height:,} decisions recorded (run {run_id[:8]}).", icon=":material/fact_check:")
    table(
        live.with_columns(pl.col("rep_id").map_elements(rep_label, return_dtype=pl.String).alias("rep_name")).select(
            "contact_id", "rep_name", "rule", "candidates", "skipped"
        ),
        hide_index=True,
        column_config={c: label("column", c) for c in ("contact_id", "rep_name", "rule", "candidates", "skipped")},
    )
    action_button(
        "Write the owners and scores to HubSpot…",
        "update_properties",
        lambda: owner_targets(live, new_leads, reps, base.score),
        {"topic": "lead-capture"},
        title="Assign the leads in HubSpot (hubspot_owner_id, marketing_platform_lead_score)",
        key="routing_push",
        disabled=live.filter(pl.col("rep_id").is_not_null()).is_empty(),
        icon=":material/cloud_upload:",
    )

st.subheader("First-touch SLA")
breaches = cached(
    pipeline.sla_view, config_json=config_json, rules_text=rules_text, days=30, time_off_rows=time_off_rows
)
late = breaches.filter(pl.col("breached"))
s1, s2, s3 = st.columns(3)
s1.metric("Leads in the last 30 days", f"{breaches.height:,}", border=True)
s2.metric("Breached the SLA", f"{late.height:,}", border=True)
s3.metric("Untouched and breached", f"{late.filter(~pl.col('touched')).height:,}", border=True)
table(
    late.with_columns(
        pl.col("owner_id").map_elements(rep_label, return_dtype=pl.String).alias("owner"),
        pl.col("reassign_to").map_elements(lambda r: names.get(r, "") if r else "", return_dtype=pl.String),
        pl.col("action").replace_strict(labels("sla_action", ["reassign", "escalate", "touched late", ""])),
    ).select("contact_id", "created_at", "owner", "wait_hours", "first_touch_at", "action", "reassign_to"),
    hide_index=True,
    height=260,
    column_config={
        "contact_id": "Contact ID",
        "created_at": st.column_config.DatetimeColumn("Assigned", format="YYYY-MM-DD HH:mm"),
        "owner": "Owner",
        "wait_hours": st.column_config.NumberColumn("Waited (business h)", format="%.1f"),
        "first_touch_at": st.column_config.DatetimeColumn("First touch", format="YYYY-MM-DD HH:mm"),
        "action": "Due",
        "reassign_to": "Reassign to",
    },
    key="routing_sla_table",
)
reassign = late.filter((pl.col("action") == "reassign") & pl.col("reassign_to").is_not_null())
recent_leads = cached(
    pipeline.scored_leads,
    rules_text=rules_text,
    predictive=False,
    created_from=breaches["created_at"].min().date() if breaches.height else None,
)
a1, a2 = st.columns(2)
with a1:
    action_button(
        f"Reassign {reassign.height:,} untouched leads…",
        "update_properties",
        lambda: owner_targets(
            reassign.select("contact_id", pl.col("reassign_to").alias("rep_id")), recent_leads, reps, "rule_score"
        ),
        {"topic": "lead-capture"},
        title="Reassign leads that breached the first-touch SLA",
        key="routing_reassign",
        disabled=reassign.is_empty(),
        icon=":material/swap_horiz:",
    )
with a2:
    escalate = late.filter(pl.col("action") == "escalate")
    action_button(
        f"Escalate {escalate.height:,} leads to their owners…",
        "create_task",
        lambda: escalation_targets(late, recent_leads, reps),
        {
            "subject": "First-touch SLA breached: contact this lead now",
            "priority": "HIGH",
            "due_in_days": 0,
            "topic": "lead-capture",
        },
        title="Escalate: a high-priority task for each owner",
        key="routing_escalate",
        disabled=escalate.is_empty(),
        icon=":material/priority_high:",
    )
queued_notice()

st.subheader("Audit of live routing decisions")
audit = store.audit_frame(limit=1000)
if audit.is_empty():
    st.info("No live routing decision yet; “Route and record the decisions” writes the first.")
else:
    table(
        audit.with_columns(pl.col("rep_id").map_elements(rep_label, return_dtype=pl.String).alias("rep_name")).select(
            "decided_at", "actor", "contact_id", "rep_name", "rule", "candidates", "skipped", "score", "config_key"
        ),
        hide_index=True,
        column_config={
            "decided_at": st.column_config.DatetimeColumn("Decided", format="YYYY-MM-DD HH:mm"),
            "actor": "By",
            "contact_id": "Contact ID",
            "rep_name": "Rep",
            "rule": "Decided by",
            "candidates": "Candidates",
            "skipped": "Skipped, and why",
            "score": "Score",
            "config_key": "Configuration",
        },
        key="routing_audit_table",
    )
