"""Leads: the qualification funnel, both scores side by side, the rule editor with its backtest, the model card."""

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from analytics.core import settings
from analytics.core.errors import RevLensError
from analytics.core.labels import humanize, label, labels
from analytics.sales import leads as pipeline
from analytics.sales.routing import default_routing_text, reps_frame
from analytics.sales.rules import default_rules_text, parse_rules, rules_path
from analytics.sales.writeback import follow_up_targets, owner_targets
from pages.components.actions import action_button, queued_notice
from pages.components.cache import cached
from pages.components.downloads import download_csv
from pages.components.filters import filters
from pages.components.tables import table

TABLE_ROWS = 500

f = filters()
st.title("Leads")
st.caption(
    f"Leads created {f.start:%d %b %Y} – {f.end:%d %b %Y}"
    + (f" in {', '.join(f.segments)}" if f.segments else "")
    + ". The channel filter does not apply here: a lead is scored on all its touches."
)

saved_rules = default_rules_text()
try:
    rules = parse_rules(saved_rules, str(rules_path()))
except RevLensError as exc:
    st.error(f"{exc} Fix the file, or edit it in the rule editor below.", icon=":material/error:")
    st.stop()
routing_text = default_routing_text()

with st.container(border=True):
    c1, c2, c3 = st.columns([2, 2, 3])
    mql = c1.slider("MQL threshold (rule score)", 0, 100, int(rules.mql), key="leads_mql")
    sql = c2.slider("SQL threshold (rule score)", 0, 100, int(max(rules.sql, mql)), key="leads_sql")
    if sql < mql:
        c3.warning("The SQL threshold is below the MQL threshold; SQL is set to the MQL threshold.")
        sql = mql
    c3.caption(
        f"Rules: `{rules_path()}` (fit limit {rules.fit_limit:g}, engagement limit {rules.engagement_limit:g}, "
        f"half-life {rules.half_life_days:g} days). Tiers: MQL at {mql}, SQL at {sql}."
    )

period = dict(created_from=f.start, created_to=f.end, segments=f.segments)
with st.spinner("Scoring the leads…"):
    fitted = cached(pipeline.lead_model, rules_text=saved_rules)
    leads = cached(pipeline.scored_leads, rules_text=saved_rules, mql=mql, sql=sql, routing_text=routing_text, **period)
card = fitted.card
reps = cached(reps_frame)
rep_names = dict(zip(reps["rep_id"], reps["name"]))

if leads.is_empty():
    st.info("No leads were created in this period; widen the date range in the filter bar.")
    st.stop()

m1, m2, m3, m4, m5 = st.columns(5)
m1.metric("Leads", f"{leads.height:,}", border=True)
m2.metric(
    "MQL or better",
    f"{leads.filter(pl.col('tier') != 'nurture').height:,}",
    border=True,
    help="Leads whose score today reaches the MQL threshold (the funnel counts every lead that ever reached it).",
)
m3.metric("SQL", f"{leads.filter(pl.col('tier') == 'sql').height:,}", border=True, help="Score today ≥ SQL threshold.")
expected = leads["predictive_score"].sum() / 100 if leads["predictive_score"].null_count() < leads.height else None
m4.metric(
    "Expected conversions",
    "—" if expected is None else f"{expected:,.0f}",
    border=True,
    help="The sum of the predictive probabilities: closed-won within 180 days of creation.",
)
m5.metric(
    "Holdout AUC: model / rules",
    "—" if card.auc_predictive is None else f"{card.auc_predictive:.2f} / {card.auc_rules or 0:.2f}",
    border=True,
    help=f"ROC-AUC on leads created {card.holdout_from} – {card.holdout_to}, which the model did not see.",
)
if card.mode != "model":
    st.warning(card.note, icon=":material/science:")

funnel_tab, table_tab, rules_tab, model_tab = st.tabs(["Funnel and cohorts", "Lead table", "Rule editor", "Model card"])

with funnel_tab:
    view = cached(pipeline.funnel_view, rules_text=saved_rules, mql=mql, sql=sql, **period)
    stages = view.funnel.stages
    kind = (
        st.segmented_control(
            "Funnel",
            ["ordered", "any"],
            default="ordered",
            key="leads_funnel_kind",
            format_func={"ordered": "Through every stage, in order", "any": "Reached the stage at all"}.get,
        )
        or "ordered"
    )
    left, right = st.columns([3, 2])
    figure = go.Figure(
        go.Funnel(
            y=[label("stage", s) for s in stages["stage"]],
            x=stages[kind].to_list(),
            textinfo="value+percent initial+percent previous",
        )
    )
    figure.update_layout(height=340, margin={"t": 10, "b": 10})
    left.plotly_chart(figure, width="stretch", key="leads_funnel_chart")
    with right:
        table(
            stages.drop("any_rate").with_columns(pl.col("stage").replace_strict(labels("stage", stages["stage"]))),
            hide_index=True,
            column_config={
                "stage": "Stage",
                "ordered": st.column_config.NumberColumn("In order", format="%d"),
                "any": st.column_config.NumberColumn("At all", format="%d"),
                "ordered_rate": st.column_config.NumberColumn("In order, from previous", format="percent"),
                "ordered_from_lead": st.column_config.NumberColumn("In order, from lead", format="percent"),
                "any_from_lead": st.column_config.NumberColumn("At all, from lead", format="percent"),
            },
        )
    velocity = view.velocity
    v1, v2, v3, v4 = st.columns(4)
    v1.metric(
        "Sales velocity",
        "—" if velocity.per_day is None else f"${velocity.per_day:,.0f} / day",
        border=True,
        help="Opportunities × average won value × win rate ÷ average days to win, for opportunities created "
        "in the period.",
    )
    v2.metric("Opportunities", f"{velocity.opportunities:,}", border=True)
    v3.metric("Win rate", "—" if velocity.win_rate is None else f"{velocity.win_rate:.0%}", border=True)
    v4.metric(
        "Average days to win",
        "—" if velocity.average_days_to_win is None else f"{velocity.average_days_to_win:.0f}",
        border=True,
    )
    st.subheader("Days between stages")
    timing = view.funnel.timing
    table(
        timing.with_columns(
            pl.col("from_stage").replace_strict(labels("stage", timing["from_stage"])),
            pl.col("to_stage").replace_strict(labels("stage", timing["to_stage"])),
        ),
        hide_index=True,
        column_config={
            "from_stage": "From",
            "to_stage": "To",
            "leads": "Leads (both, in order)",
            "median_days": st.column_config.NumberColumn("Median days", format="%.1f"),
            "p75_days": st.column_config.NumberColumn("75th percentile", format="%.1f"),
        },
    )
    st.subheader("Cohorts: share reaching a stage within N days of creation")
    c1, c2 = st.columns(2)
    stage = c1.selectbox(
        "Stage", ["mql", "sql", "opportunity", "won"], format_func=lambda s: label("stage", s), key="leads_cohort_stage"
    )
    by_day = c2.segmented_control("By day", [30, 60, 90], default=90, key="leads_cohort_day") or 90
    cohort = view.funnel.cohorts.filter(pl.col("stage") == stage, pl.col("by_day") == by_day)
    if cohort.is_empty():
        st.info("No cohort in this period.")
    else:
        matrix = cohort.pivot(on="lead_source", index="created_month", values="reached_share").sort("created_month")
        sources = [c for c in matrix.columns if c != "created_month"]
        heat = go.Figure(
            go.Heatmap(
                z=matrix.select(sources).to_numpy().T,
                x=[str(m) for m in matrix["created_month"]],
                y=sources,
                colorscale="Blues",
                zmin=0,
                hovertemplate="%{y}, created %{x}: %{z:.1%}<extra></extra>",
            )
        )
        heat.update_layout(height=300, margin={"t": 10, "b": 10})
        st.plotly_chart(heat, width="stretch", key="leads_cohort_chart")
        st.caption(f"Blank: the cohort is younger than {by_day} days at the data's end.")
        download_csv(cohort, "revlens_lead_cohorts.csv", label="Download cohorts (CSV)", key="leads_cohort_download")
    st.subheader("Time to convert (Kaplan–Meier; still-open leads count as censored)")
    by_source = st.toggle("By lead source", key="leads_km_by_source")
    curves = view.curves_by_source if by_source else view.curve
    km = go.Figure()
    for name, group in curves.group_by("group", maintain_order=True):
        km.add_scatter(
            x=group["day"],
            y=group["converted_share"],
            mode="lines",
            name="All leads" if str(name[0]) == "all" else str(name[0]),
        )
        if not by_source:
            km.add_scatter(
                x=group["day"].to_list() + group["day"].reverse().to_list(),
                y=group["high"].to_list() + group["low"].reverse().to_list(),
                fill="toself",
                line={"width": 0},
                opacity=0.2,
                name="95% interval",
            )
    km.update_layout(
        height=320,
        margin={"t": 10, "b": 10},
        xaxis_title="Days since creation",
        yaxis_title="Converted",
        yaxis_tickformat=".0%",
    )
    st.plotly_chart(km, width="stretch", key="leads_km_chart")

with table_tab:
    c1, c2, c3, c4 = st.columns([2, 2, 2, 3])
    tiers = c1.multiselect(
        "Tier",
        ["sql", "mql", "nurture"],
        format_func=lambda t: label("tier", t),
        key="leads_tiers",
        placeholder="All tiers",
    )
    grades = c2.multiselect(
        "Grade", sorted(leads["grade"].unique().to_list()), key="leads_grades", placeholder="All grades"
    )
    order = c3.selectbox(
        "Sort by", ["predictive_score", "rule_score"], format_func=lambda c: label("column", c), key="leads_sort"
    )
    search = c4.text_input("Find a lead, company or title", key="leads_search")
    shown = leads
    if tiers:
        shown = shown.filter(pl.col("tier").is_in(tiers))
    if grades:
        shown = shown.filter(pl.col("grade").is_in(grades))
    if search.strip():
        needle = search.strip().lower()
        shown = shown.filter(
            pl.concat_str(
                "first_name",
                pl.lit(" "),
                "last_name",
                pl.lit(" "),
                "company",
                pl.lit(" "),
                "job_title",
                ignore_nulls=True,
            )
            .str.to_lowercase()
            .str.contains(needle, literal=True)
        )
    shown = shown.sort(order, descending=True, nulls_last=True)
    histogram = go.Figure()
    histogram.add_histogram(x=shown["rule_score"], name="Rule score", opacity=0.65, nbinsx=40)
    if shown["predictive_score"].null_count() < shown.height:
        histogram.add_histogram(x=shown["predictive_score"], name="Predictive score", opacity=0.65, nbinsx=40)
    histogram.update_layout(
        barmode="overlay",
        height=260,
        margin={"t": 10, "b": 10},
        xaxis_title="Score (0–100)",
        yaxis_title="Leads",
        legend={"orientation": "h", "y": 1.1},
    )
    st.plotly_chart(histogram, width="stretch", key="leads_histogram")
    lead_rows = shown.head(TABLE_ROWS).select(
        pl.concat_str("first_name", pl.lit(" "), "last_name", ignore_nulls=True).alias("contact_name"),
        "company",
        "job_title",
        "lead_source",
        "created_at",
        "rule_score",
        "predictive_score",
        "grade",
        pl.col("tier").replace_strict(labels("tier", ["sql", "mql", "nurture"])),
        "reasons",
        "predictive_reasons",
        pl.col("suggested_rep_id").replace_strict(rep_names, default=pl.lit("Fallback queue")).alias("suggested_owner"),
        "routing_rule",
        "contact_id",
    )
    st.caption(f"{shown.height:,} leads match; the first {min(shown.height, TABLE_ROWS):,} are shown.")
    table(
        lead_rows,
        hide_index=True,
        width="stretch",
        key="leads_table",
        column_config={
            **{c: label("column", c) for c in lead_rows.columns},
            "created_at": st.column_config.DatetimeColumn("Created", format="YYYY-MM-DD"),
            "rule_score": st.column_config.ProgressColumn("Rule score", min_value=0, max_value=100, format="%.0f"),
            "predictive_score": st.column_config.NumberColumn(
                "Predictive score", format="%.1f", help="Probability (%) of closed-won within 180 days"
            ),
            "reasons": st.column_config.TextColumn("Why (rules)", width="large"),
            "predictive_reasons": st.column_config.TextColumn("Why (model)", width="medium"),
            "contact_id": st.column_config.TextColumn("Contact ID", help="The RevLens contact id"),
        },
    )
    download_csv(
        shown.select(
            "contact_id",
            "email",
            "company",
            "rule_score",
            "predictive_score",
            "grade",
            "tier",
            "reasons",
            "predictive_reasons",
            "missing",
            "suggested_rep_id",
        ),
        f"revlens_leads_{f.start}_{f.end}.csv",
        label="Download these leads (CSV)",
        key="leads_download",
    )

    st.subheader("Actions")
    score_basis = st.radio(
        "Score to write to marketing_platform_lead_score",
        ["rule_score", "predictive_score"],
        format_func=lambda c: label("column", c),
        horizontal=True,
        key="leads_score_basis",
    )
    assignments = shown.select("contact_id", pl.col("suggested_rep_id").alias("rep_id"))
    action_button(
        f"Push owners and scores of these {shown.height:,} leads to HubSpot…",
        "update_properties",
        lambda: owner_targets(assignments, shown, reps, score_basis),
        {"topic": "lead-capture"},
        title="Push the suggested owner (hubspot_owner_id) and the score (marketing_platform_lead_score)",
        key="leads_push",
        disabled=shown.is_empty(),
        icon=":material/cloud_upload:",
    )
    recent = view.funnel.newly_qualified
    st.caption(
        f"Follow-up (triggerFollowUpSequence): {recent.height:,} leads reached MQL or SQL in the last 7 days of "
        "the data. They join a HubSpot list or workflow; the outbox skips contacts that already had 3 campaign "
        "triggers this week, and an audience must hold 100 to 1,000,000 contacts."
    )
    c1, c2 = st.columns(2)
    list_id = c1.text_input("Follow-up list id", value=settings.follow_up_list_id() or "", key="leads_follow_list")
    workflow_id = c2.text_input(
        "or workflow id", value=settings.follow_up_workflow_id() or "", key="leads_follow_workflow"
    )
    kind = "enroll_workflow" if workflow_id.strip() and not list_id.strip() else "add_to_list"
    payload = {"workflow_id": workflow_id.strip()} if kind == "enroll_workflow" else {"list_id": list_id.strip()}
    action_button(
        f"Start the follow-up for {recent.height:,} newly qualified leads…",
        kind,
        lambda: follow_up_targets(leads, recent["contact_id"].to_list(), kind),
        payload,
        title="Follow-up for newly qualified leads",
        key="leads_follow_up",
        disabled=recent.is_empty() or not (list_id.strip() or workflow_id.strip()),
        help=None if (list_id.strip() or workflow_id.strip()) else "Enter the HubSpot list or workflow id first.",
        icon=":material/campaign:",
    )
    queued_notice()

with rules_tab:
    st.caption(
        "Edit the rules and see at once how they would have done on past leads: every lead whose 180 days are "
        "over, scored as it looked 30 days after creation, against whether it converted. The grammar is in "
        "docs/leads.md."
    )
    edited = st.text_area("Rules", value=saved_rules, height=420, key="leads_rules_editor")
    problem = None
    try:
        parse_rules(edited, "the edited rules")
    except RevLensError as exc:
        problem = str(exc)
        st.error(problem, icon=":material/error:")
    compare = cached(
        pipeline.backtest, rules_text=saved_rules if problem else edited, baseline_text=saved_rules, mql=mql, sql=sql
    )
    b1, b2, b3, b4 = st.columns(4)
    b1.metric("Past leads", f"{compare.leads:,}", border=True)
    b2.metric("Conversions", f"{compare.conversions:,}", border=True)
    b3.metric(
        "AUC, edited rules",
        "—" if compare.auc is None else f"{compare.auc:.3f}",
        delta=None
        if compare.auc is None or compare.baseline_auc is None
        else f"{compare.auc - compare.baseline_auc:+.3f}",
        border=True,
        help="The chance a converter outscores a non-converter (0.5 is chance).",
    )
    b4.metric("Leads that change tier", f"{compare.changed_tier:,}", border=True)
    t1, t2 = st.columns(2)
    with t1:
        table(
            compare.tiers.with_columns(pl.col("tier").replace_strict(labels("tier", ["sql", "mql", "nurture"]))),
            hide_index=True,
            column_config={
                "tier": "Tier",
                "leads": "Leads",
                "conversions": "Conversions",
                "conversion_rate": st.column_config.NumberColumn("Conversion", format="percent"),
                "baseline_leads": "Leads (saved rules)",
                "baseline_conversions": "Conversions (saved)",
                "baseline_conversion_rate": st.column_config.NumberColumn("Conversion (saved)", format="percent"),
            },
        )
    with t2:
        table(
            compare.grades,
            hide_index=True,
            column_config={
                "grade": "Grade",
                "conversion_rate": st.column_config.NumberColumn("Conversion", format="percent"),
            },
        )
    if compare.changed_tier:
        table(
            compare.moves.with_columns(
                pl.col("baseline_tier").replace_strict(labels("tier", ["sql", "mql", "nurture"])),
                pl.col("tier").replace_strict(labels("tier", ["sql", "mql", "nurture"])),
            ),
            hide_index=True,
            column_config={"baseline_tier": "From (saved rules)", "tier": "To (edited rules)", "leads": "Leads"},
        )
    if st.button(
        "Save these rules",
        type="primary",
        key="leads_rules_save",
        disabled=problem is not None or edited == saved_rules,
        help="Writes the rules file; every page then scores with it.",
    ):
        rules_path().write_text(edited, encoding="utf-8")
        st.success(f"Saved to {rules_path()}.", icon=":material/save:")
        st.rerun()

with model_tab:
    st.markdown(
        f"**{label('model_mode', card.mode)}.** {card.note} Probability that a lead is closed-won within "
        f"{card.horizon_days} days of its creation, from what was known {card.observe_days} days after it. Trained "
        f"on leads created {card.trained_from} – {card.trained_to} ({card.n_train:,} leads, "
        f"{card.conversions_train:,} conversions); tested on the out-of-time holdout {card.holdout_from} – "
        f"{card.holdout_to} ({card.n_holdout:,} leads, {card.conversions_holdout:,} conversions); the deployed "
        f"model is refit on all {card.n_deployed:,} matured leads."
    )
    metrics = pl.DataFrame(
        {
            "measure": ["ROC-AUC", "PR-AUC", "Top-decile lift", "Brier score"],
            "predictive": [
                card.auc_predictive,
                card.pr_auc_predictive,
                card.lift_top_decile_predictive,
                card.brier_predictive,
            ],
            "rules": [card.auc_rules, card.pr_auc_rules, card.lift_top_decile_rules, None],
        }
    )
    table(
        metrics,
        hide_index=True,
        column_config={
            "measure": "On the holdout",
            "predictive": st.column_config.NumberColumn("Predictive score", format="%.3f"),
            "rules": st.column_config.NumberColumn("Rule score", format="%.3f"),
        },
    )
    st.caption(
        "Brier score: mean squared error of the probabilities "
        + (
            ""
            if card.brier_base_rate is None
            else f"(always predicting the base rate gives {card.brier_base_rate:.3f})"
        )
        + ". The rule score is not a probability, so it has none."
    )
    bands = pl.DataFrame(card.bands) if card.bands else pl.DataFrame()
    if not bands.is_empty():
        calibration = go.Figure()
        calibration.add_bar(x=bands["band"], y=bands["conversion_rate"], name="Converted")
        calibration.add_scatter(x=bands["band"], y=bands["mean_predicted"], name="Predicted", mode="markers+lines")
        calibration.update_layout(
            height=280,
            margin={"t": 10, "b": 10},
            xaxis_title="Predictive score band",
            yaxis_tickformat=".0%",
            legend={"orientation": "h", "y": 1.1},
        )
        st.plotly_chart(calibration, width="stretch", key="leads_calibration")
        table(
            bands,
            hide_index=True,
            column_config={
                "band": "Score band",
                "conversion_rate": st.column_config.NumberColumn("Converted", format="percent"),
                "mean_predicted": st.column_config.NumberColumn("Predicted", format="percent"),
            },
        )
    if card.top_terms:
        st.caption("What moves the score most (weights in log-odds per unit; the top 12):")
        table(
            pl.DataFrame(card.top_terms).with_columns(
                pl.col("term").map_elements(humanize, pl.String)  # "employees" -> "Employees"
            ),
            hide_index=True,
            column_config={"term": "Feature", "weight": st.column_config.NumberColumn("Weight", format="%+.2f")},
        )
