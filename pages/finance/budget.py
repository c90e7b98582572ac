"""Finance → Budget: where next quarter's budget should move, how far to trust it; budget consumption."""

import plotly.express as px
import polars as pl
import streamlit as st

from analytics.attribution.models import BY_NAME, MODELS
from analytics.core.errors import RevLensError
from analytics.core.labels import label
from analytics.core.money import dollars, money
from analytics.core.numbers import DASH
from analytics.finance.budget import budget_consumption
from analytics.finance.reallocation import plan, scenarios
from analytics.finance.reallocation.export import workbook_bytes
from analytics.finance.report import DEFAULT_GROSS_MARGIN
from pages.components.actions import current_user
from pages.components.cache import cached
from pages.components.downloads import download_csv
from pages.components.filters import filters
from pages.components.tables import table as labelled_table


def consumption_chart(con, channels: tuple[str, ...]):
    """Budget used per campaign (cached with the warehouse version: it does not move with the bounds)."""
    budgets = budget_consumption(con)
    if channels:
        budgets = budgets.filter(pl.col("channel").is_in(channels))
    live = budgets.filter(pl.col("status") != "not started").sort("consumption_pct", descending=True, nulls_last=True)
    bars = px.bar(
        live.with_columns(
            pl.when(pl.col("over_budget"))
            .then(pl.lit("Projected over budget"))
            .otherwise(pl.lit("Within budget"))
            .alias("Projection"),
            pl.col("campaign_name").fill_null(pl.col("campaign_id")).alias("Campaign"),
        ).to_pandas(),
        y="Campaign",
        x="consumption_pct",
        color="Projection",
        orientation="h",
        color_discrete_map={"Projected over budget": "#d9534f", "Within budget": "#5cb85c"},
        hover_data={"campaign_id": True, "spent": ":$,.0f", "budget": ":$,.0f"},
        labels={
            "consumption_pct": "Budget used (%)",
            "Campaign": "",
            "campaign_id": "Campaign ID",
            "spent": "Spent",
            "budget": "Budget",
        },
    )
    bars.update_layout(legend={"title": {"text": ""}})  # the legend reads in words, not "Over budget True/False"
    bars.add_vline(x=100, line_dash="dot")
    bars.update_layout(
        height=max(300, 18 * live.height), margin={"t": 10, "b": 10}, yaxis={"categoryorder": "total ascending"}
    )  # most consumed on top
    return bars


f = filters()
st.title("Budget")
st.caption(
    "Response curves per channel fitted on weekly spend and attributed revenue, the allocation of next "
    f"quarter's budget ({plan.DEFAULT_PLAN_WEEKS} weeks) that earns the most, and a backtest beside the advice."
)

first_period = cached(plan.analysis_period)
with st.container(border=True):
    left, middle, right = st.columns(3)
    period = left.date_input(
        "Analysis period",
        value=first_period,
        key="budget_period",
        help="Curves need many weeks: 18 months up to the latest cost month by default. The filter bar's dates "
        "do not apply here (six months are too few weeks to fit a response curve).",
    )
    model = middle.selectbox(
        "Attribution model",
        MODELS,
        index=MODELS.index("linear"),
        format_func=lambda m: BY_NAME[m].label,
        key="budget_model",
    )
    objective = right.radio(
        "Maximize",
        plan.OBJECTIVES,
        format_func=lambda o: label("objective", o),
        horizontal=True,
        key="budget_objective",
    )
    left, middle, right = st.columns(3)
    max_shift = left.slider(
        "Largest change per channel",
        0.05,
        1.0,
        plan.DEFAULT_MAX_SHIFT,
        0.05,
        format="%.2f",
        key="budget_max_shift",
        help="As a fraction of its current spend.",
    )
    adstock = middle.checkbox("Carry-over (geometric adstock)", key="budget_adstock")
    gross_margin = middle.number_input(
        "Gross margin",
        0.05,
        1.0,
        DEFAULT_GROSS_MARGIN,
        0.05,
        key="budget_margin",
        help="Share of revenue that is gross profit: LTV = ARR × margin × lifetime (the LTV-weighted objective).",
    )
    upload = right.file_uploader(
        "Your own curves (CSV or JSON)",
        type=["csv", "json"],
        key="budget_curves",
        help="channel, beta, alpha, kappa [, kind, period_weeks] per row: see docs/budget.md.",
    )
if f.segments:
    st.caption("The segment filter does not apply here: spend is booked per campaign, not per segment.")
if not (isinstance(period, tuple) and len(period) == 2):
    st.info("Pick the analysis period's first and last day.", icon=":material/date_range:")
    st.stop()
curves_text = upload.getvalue().decode("utf-8", errors="replace") if upload is not None else None

with st.status("Fitting response curves", expanded=False) as status:
    prepared = cached(
        plan.prepare,
        start=period[0],
        end=period[1],
        model=model,
        adstock=adstock,
        curves_text=curves_text,
        gross_margin=gross_margin,
    )
    status.update(label=f"Curves fitted for {len(prepared.curves)} channels", state="complete")
inputs = prepared.inputs
channels = inputs.channels
current = plan.current_allocation(inputs, plan.DEFAULT_PLAN_WEEKS)
for note in inputs.notes:
    st.caption(note)

with st.expander("Inputs: spend, attributed revenue, CAC, LTV and seasonality over the analysis period"):
    totals = inputs.weekly.group_by("channel").agg(
        pl.col("spend").sum(), pl.col("attributed_revenue").sum(), pl.col("mature").sum().alias("mature_weeks")
    )
    unit = pl.DataFrame(
        {
            "channel": channels,
            "cac": [inputs.cac.get(ch) for ch in channels],
            "arr": [inputs.arr.get(ch) for ch in channels],
            "churn_rate": [inputs.churn_rate.get(ch) for ch in channels],
            "ltv": [inputs.ltv.get(ch) for ch in channels],
        },
        schema={"channel": pl.Utf8, "cac": pl.Float64, "arr": pl.Float64, "churn_rate": pl.Float64, "ltv": pl.Float64},
    )
    economics = (
        totals.join(unit, on="channel")
        .sort("channel")
        .with_columns(
            pl.col("channel").replace_strict({ch: label("channel", ch) for ch in channels}),
            pl.col("churn_rate") * 100,
        )
    )
    st.dataframe(
        economics,
        hide_index=True,
        width="stretch",
        column_config={
            "channel": "Channel",
            "spend": st.column_config.NumberColumn("Spend", format="dollar"),
            "attributed_revenue": st.column_config.NumberColumn("Attributed revenue", format="dollar"),
            "mature_weeks": st.column_config.NumberColumn("Mature weeks"),
            "cac": st.column_config.NumberColumn("CAC", format="dollar"),
            "arr": st.column_config.NumberColumn("ARR per account", format="dollar"),
            "churn_rate": st.column_config.NumberColumn("Churn / year", format="%.1f%%"),
            "ltv": st.column_config.NumberColumn(f"LTV (margin {inputs.gross_margin:.0%})", format="dollar"),
        },
        placeholder=DASH,
    )
    months = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
    st.caption(
        "Seasonality index (won revenue in the month over the mean month): "
        + " · ".join(f"{months[m - 1]} {inputs.seasonality[m]:.2f}" for m in range(1, 13))
        + ". Reported, not applied to the curves: 18 months mix season with trend."
    )

# ---- the question and the bounds
scenario = st.radio(
    "Question",
    plan.SCENARIOS,
    format_func=lambda s: label("budget_scenario", s),
    horizontal=True,
    key="budget_scenario",
)
total = revenue_target = roas_target = None
if scenario == "total":
    total = st.number_input(
        "Total budget for the next 13 weeks",
        min_value=0.0,
        value=float(round(current.sum(), 2)),
        step=1000.0,
        format="%.2f",
        key="budget_total",
        help="Defaults to the current allocation's total.",
    )
elif scenario == "revenue_target":
    revenue_target = st.number_input(
        "Revenue to reach", min_value=0.0, value=0.0, step=10000.0, key="budget_revenue_target"
    )
else:
    roas_target = st.number_input("Target ROAS", min_value=0.0, value=0.0, step=0.1, key="budget_roas_target")

editor_frame = pl.DataFrame(
    {
        "channel": [label("channel", ch) for ch in channels],
        "current": current.tolist(),
        "minimum": (current * (1 - max_shift)).round(2).tolist(),
        "maximum": (current * (1 + max_shift)).round(2).tolist(),
        "locked": [bool(f.channels) and ch not in f.channels for ch in channels],
    }
)
st.caption(
    "Bounds and locks per channel (13-week dollars). "
    + ("Channels the channel filter leaves out are locked. " if f.channels else "")
    + "Channels without a usable curve stay at their current spend."
)
edited = st.data_editor(
    editor_frame.to_pandas(),
    key="budget_bounds",
    hide_index=True,
    width="stretch",
    disabled=["channel", "current"],
    placeholder=DASH,
    column_config={
        "channel": "Channel",
        "current": st.column_config.NumberColumn("Current", format="dollar"),
        "minimum": st.column_config.NumberColumn("Minimum", format="dollar", min_value=0.0),
        "maximum": st.column_config.NumberColumn("Maximum", format="dollar", min_value=0.0),
        "locked": st.column_config.CheckboxColumn("Locked"),
    },
)
bounds = {
    ch: plan.ChannelBounds(float(row.minimum), float(row.maximum), bool(row.locked))
    for ch, row in zip(channels, edited.itertuples())
}
if (scenario == "revenue_target" and not revenue_target) or (scenario == "roas_target" and not roas_target):
    st.info("Enter the target to plan for.", icon=":material/flag:")
    st.stop()
try:
    result = plan.advise(
        inputs,
        prepared.curves,
        total_budget=total,
        max_shift=max_shift,
        bounds=bounds,
        objective=objective,
        scenario=scenario,
        revenue_target=revenue_target,
        roas_target=roas_target,
        backtest=prepared.backtest,
    )
except RevLensError as exc:
    st.error(str(exc), icon=":material/error:")
    st.stop()
advice = result.to_dict()

# ---- the headline
gain = advice["expected_improvement"]
bt = advice["backtest"]
planted = bt.get("planted")
cols = st.columns(4)
cols[0].metric("Total budget", money(result.total_budget))
cols[1].metric(
    f"Expected lift ({label('objective', objective).lower()})",
    money(gain["value"]),
    f"{gain['percent']:+.1f}%" if gain["percent"] is not None else None,
    help=f"95% interval from the curves' bootstrap: {money(gain['low'])} to {money(gain['high'])}.",
)
cols[1].caption(f"95% interval {money(gain['low'])} to {money(gain['high'])}")
cols[2].metric(
    "Backtest error (MAPE)",
    f"{bt['mape']:.0%}" if bt.get("mape") is not None else DASH,
    help="Curves fitted without the last quarter predict its revenue from its actual spend.",
)
if planted:
    cols[3].metric(
        "Regret vs the planted optimum",
        money(planted["regret"]),
        f"{planted['captured_share']:.0%} of the achievable lift" if planted["captured_share"] is not None else None,
        delta_color="off",
        help="The demo plants each channel's response; this is what the advice leaves on the table under it.",
    )
else:
    cols[3].metric("Regret vs the planted optimum", DASH, help="Only the demo warehouse has planted curves.")

# ---- before / after
st.subheader("Before and after")
table = result.table()
shown = table.with_columns(
    pl.col("channel").replace_strict({ch: label("channel", ch) for ch in channels}).alias("channel"),
    pl.col("status").replace_strict({s: label("allocation_status", s) for s in result.allocation.status}),
    pl.Series("risk_flags", [", ".join(label("risk_flag", r) for r in result.risk[ch]) for ch in channels]),
).select(
    "channel",
    "current_spend",
    "optimized_spend",
    "change",
    "change_pct",
    "current_revenue",
    "expected_revenue",
    "marginal_roi",
    "status",
    "risk_flags",
)
st.dataframe(
    shown.to_pandas(),
    hide_index=True,
    width="stretch",
    column_config={
        "channel": "Channel",
        "current_spend": st.column_config.NumberColumn("Current", format="dollar"),
        "optimized_spend": st.column_config.NumberColumn("Recommended", format="dollar"),
        "change": st.column_config.NumberColumn("Change", format="dollar"),
        "change_pct": st.column_config.NumberColumn("Change (%)", format="%.1f%%"),
        "current_revenue": st.column_config.NumberColumn("Expected revenue now", format="dollar"),
        "expected_revenue": st.column_config.NumberColumn("Expected revenue after", format="dollar"),
        "marginal_roi": st.column_config.NumberColumn(
            "Marginal ROI", format="%.2f", help="Revenue from the next dollar: equal across channels inside bounds."
        ),
        "status": "Bound",
        "risk_flags": "Risk flags",
    },
    placeholder=DASH,
)
st.caption(
    f"Solved by {result.allocation.method}. "
    + (
        f"Every channel inside its bounds returns {result.allocation.multiplier:.2f} per extra dollar."
        if result.allocation.multiplier is not None
        else "Every channel sits at a bound."
    )
)

# ---- curves
st.subheader("Response curves")
st.caption(
    "13-week spend against expected attributed revenue; the band is the range of weekly spend observed (× 13), "
    "the grey dot the current spend, the orange diamond the recommendation."
)
drawn = [(i, cc) for i, cc in enumerate(result.curves) if cc.curve is not None]
for cc in result.curves:
    if cc.curve is None:
        st.caption(f"{label('channel', cc.channel)}: {cc.note or 'no curve'}")
if drawn:  # one faceted Vega-Lite spec: a plain dict, drawn without a Python-side figure model
    points = []
    for i, cc in enumerate(result.curves):
        if cc.curve is None:
            continue
        name = label("channel", cc.channel) + (f" · R² {cc.fit.r2_:.2f}" if cc.fit is not None else " · your curve")
        low, high = cc.observed_min_weekly * result.plan_weeks, cc.observed_max_weekly * result.plan_weeks
        top = max(high, result.optimized[i], result.current[i]) * 1.5 or 1.0
        xs = [top * n / 80 for n in range(81)]
        points.append({"channel": name, "series": "Observed spend", "x": low, "x2": high})
        points += [{"channel": name, "series": "Curve", "x": x, "y": float(y)} for x, y in zip(xs, cc.curve.value(xs))]
        for series, spend in (("Current", result.current[i]), ("Recommended", result.optimized[i])):
            points.append({"channel": name, "series": series, "x": float(spend), "y": float(cc.curve.value(spend))})
    x = {"field": "x", "type": "quantitative", "title": "13-week spend ($)"}
    spec = {
        "facet": {"field": "channel", "type": "nominal", "title": None},
        "columns": 2,
        "spec": {
            "width": 300,
            "height": 170,
            "layer": [
                {
                    "transform": [{"filter": "datum.series == 'Observed spend'"}],
                    "mark": {"type": "rect", "opacity": 0.25, "color": "#9ecae1"},
                    "encoding": {"x": x, "x2": {"field": "x2"}},
                },
                {
                    "transform": [{"filter": "datum.series == 'Curve'"}],
                    "mark": {"type": "line", "color": "#3182bd"},
                    "encoding": {"x": x, "y": {"field": "y", "type": "quantitative", "title": "Expected revenue ($)"}},
                },
                {
                    "transform": [{"filter": "datum.series == 'Current' || datum.series == 'Recommended'"}],
                    "mark": {"type": "point", "filled": True, "size": 110},
                    "encoding": {
                        "x": x,
                        "y": {"field": "y", "type": "quantitative"},
                        "color": {
                            "field": "series",
                            "type": "nominal",
                            "title": None,
                            "scale": {"domain": ["Current", "Recommended"], "range": ["#636363", "#e6550d"]},
                        },
                        "shape": {
                            "field": "series",
                            "type": "nominal",
                            "scale": {"domain": ["Current", "Recommended"], "range": ["circle", "diamond"]},
                        },
                        "tooltip": [
                            {"field": "series", "title": "Point"},
                            {"field": "x", "title": "Spend", "format": "$,.0f"},
                            {"field": "y", "title": "Revenue", "format": "$,.0f"},
                        ],
                    },
                },
            ],
        },
        "resolve": {"scale": {"x": "independent", "y": "independent"}},
    }
    st.vega_lite_chart(pl.DataFrame(points).to_pandas(), spec, key="budget_curves_chart")

# ---- risk, timeline, backtest
left, right = st.columns(2)
with left:
    st.subheader("Risk flags")
    flagged = [(label("channel", ch), label("risk_flag", flag)) for ch in channels for flag in result.risk[ch]]
    if flagged:
        st.dataframe(
            pl.DataFrame(flagged, schema=["Channel", "Flag"], orient="row"),
            hide_index=True,
            width="stretch",
            placeholder=DASH,
        )
    else:
        st.success("No channel is flagged.", icon=":material/check_circle:")
with right:
    st.subheader("Timeline")
    steps = pl.DataFrame(
        [
            {
                "Step": s["step"],
                "Weeks": f"{s['weeks'][0]}–{s['weeks'][1]}",
                "Share of the shift": f"{s['share_of_shift']:.0%}",
                "Expected revenue / week": s["checkpoint"]["expected"],
                "Check: at least": s["checkpoint"]["floor"],
            }
            for s in result.timeline
        ]
    )
    st.dataframe(
        steps,
        hide_index=True,
        width="stretch",
        column_config={
            "Expected revenue / week": st.column_config.NumberColumn(format="dollar"),
            "Check: at least": st.column_config.NumberColumn(format="dollar"),
        },
        placeholder=DASH,
    )
st.subheader("Backtest")
st.caption(
    f"Curves fitted without the last {bt['holdout_weeks']} mature weeks, predicting their attributed revenue "
    f"from the spend they had: total predicted {money(bt['predicted_revenue'])} against {money(bt['actual_revenue'])}."
)
held = pl.DataFrame(
    [
        {"Channel": label("channel", ch), "Predicted": r["predicted"], "Actual": r["actual"], "Error": r["error"]}
        for ch, r in bt["channels"].items()
    ],
    schema={"Channel": pl.Utf8, "Predicted": pl.Float64, "Actual": pl.Float64, "Error": pl.Float64},
)
st.dataframe(
    held.with_columns(pl.col("Error") * 100),
    hide_index=True,
    width="stretch",
    column_config={
        "Predicted": st.column_config.NumberColumn(format="dollar"),
        "Actual": st.column_config.NumberColumn(format="dollar"),
        "Error": st.column_config.NumberColumn(format="%.1f%%"),
    },
    placeholder=DASH,
)
if planted:
    st.caption(
        f"Under the demo's planted curves the best allocation earns {dollars(planted['optimal_value'])}; the "
        f"recommendation earns {dollars(planted['recommended_value'])} and the current one "
        f"{dollars(planted['current_value'])}."
    )

# ---- downloads
left, right = st.columns(2)
with left:
    download_csv(table, "revlens_budget_reallocation.csv", key="budget_download_csv")
with right:
    st.download_button(
        "Download Excel",
        lambda: workbook_bytes(result),
        file_name="revlens_budget_reallocation.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        icon=":material/download:",
        key="budget_download_xlsx",
    )

# ---- scenarios
st.subheader("Scenarios")
left, right = st.columns([3, 1])
scenario_name = left.text_input("Scenario name", key="budget_scenario_name", placeholder="Q1 plan, events locked")
if right.button("Save scenario", key="budget_save_scenario", icon=":material/save:"):
    params = {
        "period": [str(period[0]), str(period[1])],
        "model": model,
        "objective": objective,
        "scenario": scenario,
        "total": total,
        "revenue_target": revenue_target,
        "roas_target": roas_target,
        "max_shift": max_shift,
        "adstock": adstock,
        "gross_margin": gross_margin,
        "bounds": {ch: [b.minimum, b.maximum, b.locked] for ch, b in bounds.items()},
    }
    try:
        scenarios.save_scenario(scenario_name, params, advice, current_user())
        st.toast(f"Saved the scenario {scenario_name.strip()!r}.", icon=":material/save:")
    except RevLensError as exc:
        st.error(str(exc), icon=":material/error:")
saved = scenarios.list_scenarios()
if saved:
    names = [s["name"] for s in saved]
    chosen = st.multiselect("Compare saved scenarios", names, default=names[:2], key="budget_compare")
    picked = [s for s in saved if s["name"] in chosen]
    if picked:
        side = scenarios.compare(picked)
        side = side.with_columns(pl.col("channel").map_elements(lambda c: label("channel", c), return_dtype=pl.Utf8))
        st.dataframe(
            side,
            hide_index=True,
            width="stretch",
            column_config={"channel": "", **{n: st.column_config.NumberColumn(format="dollar") for n in chosen}},
            placeholder=DASH,
        )
else:
    st.caption("No scenario saved yet: name this one and save it to compare it with others.")

# ---- budget consumption (moved here from the ROI page)
st.subheader("Budget consumption")
budgets = cached(budget_consumption)
if f.channels:
    budgets = budgets.filter(pl.col("channel").is_in(f.channels))
over = budgets.filter(pl.col("over_budget"))
st.caption(f"As of the latest cost month · {over.height} of {budgets.height} campaigns projected over budget.")
st.plotly_chart(cached(consumption_chart, channels=f.channels), width="stretch", key="budget_consumption_chart")
labelled_table(
    budgets.select(
        pl.col("campaign_name").fill_null(pl.col("campaign_id")),
        pl.exclude("campaign_name", "campaign_id", "over_budget"),
        pl.when(pl.col("over_budget"))
        .then(pl.lit("Projected over"))
        .otherwise(pl.lit("Within budget"))
        .alias("over_budget"),
        "campaign_id",
    ),
    key="budget_consumption_table",
    column_config={
        "campaign_name": "Campaign",
        "start_date": st.column_config.DateColumn("Start", format="YYYY-MM-DD"),
        "end_date": st.column_config.DateColumn("End", format="YYYY-MM-DD"),
        "consumption_pct": st.column_config.NumberColumn("Used", format="%.1f%%"),
        "run_out_date": st.column_config.DateColumn("Budget runs out", format="YYYY-MM-DD"),
        "over_budget": "Projection",
        "campaign_id": st.column_config.TextColumn("Campaign ID"),
    },
)
download_csv(budgets, "revlens_budget_consumption.csv", key="budget_csv")
