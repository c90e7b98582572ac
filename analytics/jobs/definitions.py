"""The spec's scheduled jobs (``BatchSyncSchedule``), each through the capability that owns the work.

Every job reads the warehouse read-only (``crm_contact_sync`` writes it, through the CRM sync and
its writer protocol, :func:`analytics.warehouse.connection.writing`); while a writer is announced
or writing, a job does not open the file and fails with a ``locked`` error, which its retry
policy retries;
stores its figures in ``job_results`` (the pages show the last run's figures and its time), and
writes files only under the exports folder (``REVLENS_EXPORTS``). ``rows`` is each job's measure
of work, named in its docstring.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from datetime import date, timedelta

from analytics.attribution.definitions import won_in_window
from analytics.core.errors import RevLensError
from analytics.core.periods import ReportPeriod, add_months, parse_period
from analytics.jobs.registry import JobContext, JobOutcome, Param, job
from analytics.warehouse.runner import Query, example_params, rows

PERIOD = Param("period", str, "", "a quarter (2026-Q3), month (2026-09) or year; empty: the last complete quarter")
MODEL = Param("model", str, "linear", "an attribution model (linear, first_touch, markov, shapley, ...)")
DAYS = Param("days", int, 30, "the number of days up to the data's last day")

CAMPAIGN_ACTIVITY = Query(
    "jobs.campaign_activity",
    """
    with touches as (
        select campaign_id, count(*) as touchpoints, count(distinct contact_id) as contacts_reached
        from touchpoints
        where cast(ts as date) between $start and $end
        group by campaign_id
    ),
    spend as (
        select campaign_id, sum(amount) as spend
        from campaign_costs
        where cost_date between $start and $end
        group by campaign_id
    )
    select c.campaign_id, c.name, c.channel,
           coalesce(t.touchpoints, 0) as touchpoints,
           coalesce(t.contacts_reached, 0) as contacts_reached,
           coalesce(s.spend, 0) as spend
    from campaigns as c
    left join touches as t on t.campaign_id = c.campaign_id
    left join spend as s on s.campaign_id = c.campaign_id
    where t.campaign_id is not null or s.campaign_id is not null
    order by c.campaign_id
    """,
    "Touchpoints, contacts reached and spend per campaign in [start, end].",
)

WON_TOTALS = Query(
    "jobs.won_totals",
    f"""
    with won as (
        select amount from opportunities as o
        where {won_in_window("o")}
    )
    select count(*) as deals, coalesce(sum(amount), 0) as revenue from won
    """,
    "Won deals closing in [close_from, close_to] and their total amount: what attribution must split.",
)

STORED_CRM_RECORDS = Query(
    "jobs.stored_crm_records",
    """
    with pulled as (select unnest($ids) as hubspot_id),
    stored as (
        select hubspot_id from contacts where $object_type = 'contacts'
        union all
        select hubspot_id from opportunities where $object_type = 'deals'
    )
    select count(distinct pulled.hubspot_id) from pulled join stored using (hubspot_id)
    """,
    "How many of the HubSpot ids a sync pulled are stored in the warehouse (contacts or deals).",
)


@example_params("jobs.")
def _example_params(con) -> dict:
    """Parameters `sql explain` and the EXPLAIN test bind to the jobs' queries."""
    return {"start": date(2026, 6, 1), "end": date(2026, 6, 30), "ids": ["1"], "object_type": "contacts"}


@contextmanager
def _warehouse(ctx: JobContext):
    from analytics.warehouse.connection import WarehouseBusy, connect, current_writer

    writer = current_writer(ctx.db)
    if writer is not None:  # the writer protocol: no new reader while a write is announced (retried as "locked")
        raise WarehouseBusy(f"The warehouse {ctx.db} is being written by {writer.describe()}; {ctx.job} waits for it.")
    con = connect(ctx.db, read_only=True)
    try:
        yield con
    finally:
        con.close()


def _data_end(con) -> date:
    from analytics.overview.kpis import data_range

    return data_range(con)[1]


def _period(con, text: str) -> ReportPeriod:
    """``text`` parsed, or the last quarter that ended on or before the data's last day."""
    if text:
        return parse_period(text)
    end = _data_end(con)
    quarter_start = date(end.year, 3 * ((end.month - 1) // 3) + 1, 1)
    next_quarter = add_months(quarter_start, 3)
    if end < next_quarter - timedelta(days=1):  # the data's quarter is not complete: the one before it
        quarter_start = add_months(quarter_start, -3)
    return parse_period(f"{quarter_start.year}-Q{(quarter_start.month - 1) // 3 + 1}")


def _records(frame, limit: int | None = None) -> list[dict]:
    from analytics.finance.export import records

    return records(frame.head(limit) if limit else frame)


def _emit(ctx: JobContext, topic: str, event_type: str, payload: dict) -> None:
    from analytics.ops.events import emit

    with ctx.engine.begin() as conn:
        emit(conn, topic, event_type, {"job": ctx.job, "run_id": ctx.run_id, **payload}, None)


# ---------------------------------------------------------------------------------------
# daily 02:00


@job("crm_contact_sync", "data_synchronization", (Param("full", bool, False, "true pulls every record"),), True)
def crm_contact_sync(ctx: JobContext) -> JobOutcome:
    """Pull contacts and deals changed in HubSpot since the cursors into the warehouse (the CRM sync).

    Reads HubSpot (``HUBSPOT_ACCESS_TOKEN``) and the sync cursors; writes ``contacts`` and
    ``opportunities`` (merged, conflict rule in docs/actions.md), the cursors and the
    ``crm.sync.completed`` events; reconciles the records pulled against those stored (accuracy,
    ``data_synchronization``). rows: records pulled.
    """
    from analytics.core.settings import hubspot_token
    from analytics.crm.hubspot.transport import HubSpotGateway
    from analytics.crm.sync import sync_hubspot
    from analytics.jobs.sla import record_accuracy

    if not hubspot_token():
        raise RevLensError(
            "crm_contact_sync needs HubSpot: set HUBSPOT_ACCESS_TOKEN (a private-app token) in the environment "
            "or .streamlit/secrets.toml."
        )
    results = sync_hubspot(
        ctx.db,
        HubSpotGateway.from_settings(),
        ctx.engine,
        full=ctx.params["full"],
        on_progress=lambda kind, n: ctx.progress(f"pulled {n:,} {kind}"),
    )
    pulled = sum(len(r.hubspot_ids) for r in results)
    with _warehouse(ctx) as con:
        stored = sum(
            rows(con, STORED_CRM_RECORDS, {"ids": list(r.hubspot_ids), "object_type": r.object_type})[0][0]
            for r in results
            if r.hubspot_ids
        )
    with ctx.engine.begin() as conn:
        record_accuracy(
            conn, "data_synchronization", stored, pulled, {"results": [r.line() for r in results]}, ctx.run_id
        )
    return JobOutcome(
        rows=sum(r.pulled for r in results),
        summary={
            "results": [
                {"object_type": r.object_type, "pulled": r.pulled, "updated": r.updated, "inserted": r.inserted}
                for r in results
            ],
            "stored_of_pulled": [stored, pulled],
        },
    )


@job("campaign_performance_summary", "batch_operations", (DAYS, MODEL))
def campaign_performance_summary(ctx: JobContext) -> JobOutcome:
    """Per campaign over the last ``days`` of data: touchpoints, contacts reached, spend, attributed
    conversions and revenue (``model``), ROAS.

    Reads touchpoints, campaign_costs, campaigns and the journey tables; writes the summary to
    ``job_results`` and a ``campaign.performance_summary`` event (topic campaign-performance).
    rows: campaigns with activity.
    """
    import polars as pl

    from analytics.attribution.engine import attribute

    with _warehouse(ctx) as con:
        end = _data_end(con)
        start = end - timedelta(days=ctx.params["days"] - 1)
        activity = pl.DataFrame(
            rows(con, CAMPAIGN_ACTIVITY, {"start": start, "end": end}),
            schema=["campaign_id", "campaign_name", "channel", "touchpoints", "contacts_reached", "spend"],
            orient="row",
        )
        credit = attribute(con, [ctx.params["model"]], by="campaign", close_from=start, close_to=end)
    table = (
        activity.join(
            credit.rename({"campaign": "campaign_id"}).select(
                "campaign_id", "attributed_conversions", "attributed_revenue"
            ),
            on="campaign_id",
            how="left",
        )
        .with_columns(pl.col("attributed_conversions", "attributed_revenue").fill_null(0.0))
        .with_columns(
            pl.when(pl.col("spend") > 0)
            .then(pl.col("attributed_revenue") / pl.col("spend"))
            .otherwise(None)
            .alias("roas")
        )
        .sort("attributed_revenue", descending=True)
    )
    totals = {
        "touchpoints": int(table["touchpoints"].sum()),
        "spend": float(table["spend"].sum()),
        "attributed_conversions": float(table["attributed_conversions"].sum()),
        "attributed_revenue": float(table["attributed_revenue"].sum()),
        "campaigns": table.height,
    }
    _emit(
        ctx,
        "campaign-performance",
        "campaign.performance_summary",
        {"start": start.isoformat(), "end": end.isoformat(), **totals},
    )
    return JobOutcome(
        rows=table.height,
        summary={
            "start": start,
            "end": end,
            "model": ctx.params["model"],
            "totals": totals,
            "campaigns": _records(table),
        },
    )


# ---------------------------------------------------------------------------------------
# daily 06:00


@job("financial_data_export", "report_generation", (PERIOD, MODEL))
def financial_data_export(ctx: JobContext) -> JobOutcome:
    """The finance workbook (Summary, By channel, By campaign, Period over period, Budget,
    Assumptions) for ``period`` under ``model``, written to ``finance_<period>_<model>.xlsx``.

    Reads the warehouse through the finance report and budget consumption; writes the workbook to
    the exports folder and its totals to ``job_results``. rows: campaign rows in the workbook.
    """
    from analytics.finance.budget import budget_consumption
    from analytics.finance.export import write_workbook
    from analytics.finance.report import financial_report

    with _warehouse(ctx) as con:
        period = _period(con, ctx.params["period"])
        ctx.progress(f"finance report for {period.label}")
        report = financial_report(con, period.start, period.end, period.kind, model=ctx.params["model"])
        budget = budget_consumption(con)
    path = ctx.exports / f"finance_{period.label.replace(' ', '_')}_{ctx.params['model']}.xlsx"
    write_workbook(report, path, budget)
    current = _records(report.totals)[0] if report.totals.height else {}
    return JobOutcome(
        rows=report.by_campaign.height,
        outputs=[str(path)],
        summary={"period": period.label, "model": ctx.params["model"], "totals": current},
    )


@job(
    "health_score_update",
    "batch_operations",
    (Param("as_of", date, None, "the day to score; default the data's last day"),),
)
def health_score_update(ctx: JobContext) -> JobOutcome:
    """Score every paying account (the saved weights and bands) and publish band changes.

    Reads the warehouse (usage, support, invoices, email, content) and the health configuration;
    writes ``health_bands`` and one ``health.band_changed`` event (topic customer-health) per
    account whose band changed since the last run, in one transaction; band counts, ARR by band
    and the changes go to ``job_results``. rows: accounts scored.
    """
    from analytics.customers.config import BANDS, load_config
    from analytics.customers.health import health_scores
    from analytics.customers.interventions import publish_band_changes

    config = load_config(ctx.engine)
    with _warehouse(ctx) as con:
        scores = health_scores(con, ctx.params["as_of"], config)
    as_of = scores["as_of"][0] if scores.height else ctx.params["as_of"]
    with ctx.engine.begin() as conn:
        events = publish_band_changes(conn, scores, as_of, "health_score_update job")
    bands = {band: int((scores["band"] == band).sum()) for band in BANDS}
    arr = (
        {band: float(scores.filter(scores["band"] == band)["arr"].sum()) for band in BANDS}
        if "arr" in scores.columns
        else {}
    )
    return JobOutcome(
        rows=scores.height,
        summary={
            "as_of": as_of,
            "accounts": scores.height,
            "average_score": float(scores["overall_score"].mean()) if scores.height else None,
            "bands": bands,
            "arr_by_band": arr,
            "band_changes": len(events),
            "changes": [e["payload"] for e in events[:200]],
        },
    )


# ---------------------------------------------------------------------------------------
# weekly


@job(
    "comprehensive_analytics",
    "batch_operations",
    (Param("days", int, 90, "the window in days up to the data's last day"),),
)
def comprehensive_analytics(ctx: JobContext) -> JobOutcome:
    """The week's full picture over the last ``days``: the five KPIs against the previous period,
    channel credit under every attribution model, health bands and budget consumption.

    Reads the warehouse (Overview KPIs, attribution, health, budget); writes ``job_results``.
    rows: channel x model rows of attribution.
    """
    from analytics.attribution.engine import attribute
    from analytics.attribution.models import MODELS
    from analytics.customers.config import BANDS, load_config
    from analytics.customers.health import health_scores
    from analytics.finance.budget import budget_consumption
    from analytics.overview.kpis import kpis

    config = load_config(ctx.engine)
    with _warehouse(ctx) as con:
        end = _data_end(con)
        start = end - timedelta(days=ctx.params["days"] - 1)
        ctx.progress("KPIs")
        values = kpis(con, start, end)
        ctx.progress("attribution under every model")
        credit = attribute(con, list(MODELS), by="channel", close_from=start, close_to=end)
        ctx.progress("health and budget")
        scores = health_scores(con, None, config)
        budget = budget_consumption(con)
    return JobOutcome(
        rows=credit.height,
        summary={
            "start": start,
            "end": end,
            "kpis": {
                k: {"current": v.current, "previous": v.previous, "change_pct": v.delta_pct} for k, v in values.items()
            },
            "attribution_by_channel": _records(credit),
            "health_bands": {band: int((scores["band"] == band).sum()) for band in BANDS},
            "over_budget_campaigns": int(budget["over_budget"].sum()) if budget.height else 0,
        },
    )


@job("roi_calculations", "batch_operations", (PERIOD, MODEL))
def roi_calculations(ctx: JobContext) -> JobOutcome:
    """Campaign and channel ROI for ``period`` under ``model``, checked by recomputation.

    Reads the warehouse through the finance report; writes the totals, channels and campaigns to
    ``job_results`` and a ``roi_calculation`` accuracy check: each campaign row's ROI % recomputed
    from its investment and attributed revenue (:func:`analytics.finance.roi.roi_percentage`) must
    equal the reported one to the cent. rows: campaign rows.
    """
    from analytics.finance.report import financial_report
    from analytics.finance.roi import net_revenue, roi_percentage
    from analytics.jobs.sla import record_accuracy

    with _warehouse(ctx) as con:
        period = _period(con, ctx.params["period"])
        report = financial_report(con, period.start, period.end, period.kind, model=ctx.params["model"], n_boot=0)
    matched, mismatches = 0, []
    for row in report.by_campaign.iter_rows(named=True):
        net = net_revenue(row["attributed_revenue"], row["total_investment"])
        again = roi_percentage(net, row["total_investment"])
        if (again is None and row["roi_percentage"] is None) or (
            again is not None and row["roi_percentage"] is not None and abs(again - row["roi_percentage"]) < 0.005
        ):
            matched += 1
        else:
            mismatches.append(
                {"campaign_id": row["campaign_id"], "reported": row["roi_percentage"], "recomputed": again}
            )
    with ctx.engine.begin() as conn:
        record_accuracy(
            conn, "roi_calculation", matched, report.by_campaign.height, {"mismatches": mismatches[:20]}, ctx.run_id
        )
    return JobOutcome(
        rows=report.by_campaign.height,
        summary={
            "period": period.label,
            "model": ctx.params["model"],
            "totals": _records(report.totals)[0] if report.totals.height else {},
            "by_channel": _records(report.by_channel),
            "by_campaign": _records(report.by_campaign.sort("roi_percentage", descending=True, nulls_last=True)),
            "recomputed": [matched, report.by_campaign.height],
        },
    )


@job(
    "budget_optimization_analysis",
    "batch_operations",
    (
        MODEL,
        Param("max_shift", float, 0.3, "the largest change per channel, as a fraction of its spend"),
        Param("objective", str, "revenue", "revenue, profit or ltv"),
    ),
)
def budget_optimization_analysis(ctx: JobContext) -> JobOutcome:
    """The budget reallocation (spec ``optimizeBudgetAllocation``): response curves fitted on the
    analysis period, the optimal split of the same total across channels, its expected improvement
    with an interval, risks, timeline and the hold-out backtest.

    Reads the warehouse through :func:`analytics.finance.reallocation.plan.reallocate`; writes the
    advice (the spec's output shape) and the before/after table to ``job_results`` (the executive
    report's budget section reads it). rows: channels.
    """
    from analytics.finance.reallocation.plan import analysis_period, reallocate

    with _warehouse(ctx) as con:
        start, end = analysis_period(con)
        ctx.progress(f"fitting curves on {start} to {end}")
        advice = reallocate(
            con,
            start,
            end,
            model=ctx.params["model"],
            max_shift=ctx.params["max_shift"],
            objective=ctx.params["objective"],
        )
    return JobOutcome(
        rows=len(advice.channels),
        summary={
            "analysis_period": [start, end],
            "objective": advice.objective,
            "total_budget": advice.total_budget,
            "plan_weeks": advice.plan_weeks,
            "advice": json.loads(json.dumps(advice.to_dict(), default=str)),
            "table": _records(advice.table()),
        },
    )


@job("attribution_modeling", "batch_operations", (Param("lookback_days", int, 90, "the attribution lookback in days"),))
def attribution_modeling(ctx: JobContext) -> JobOutcome:
    """Channel and campaign credit under every attribution model over all won deals, with the
    conservation check: per model, credit sums to the won deals and the revenue it splits.

    Reads the warehouse (journey tables); writes the credit tables to ``job_results`` and an
    ``attribution_calculation`` accuracy check (models conserving credit / models), and a
    ``attribution.modeling_completed`` event (topic revenue-attribution). rows: credit rows.
    """
    from analytics.attribution.engine import attribute
    from analytics.attribution.models import MODELS
    from analytics.jobs.sla import record_accuracy

    lookback = ctx.params["lookback_days"]
    with _warehouse(ctx) as con:
        ctx.progress("channel credit")
        by_channel = attribute(con, list(MODELS), by="channel", lookback_days=lookback)
        ctx.progress("campaign credit")
        by_campaign = attribute(con, list(MODELS), by="campaign", lookback_days=lookback)
        deals, revenue = rows(con, WON_TOTALS, {"close_from": None, "close_to": None})[0]
    conserved = []
    for model in MODELS:
        part = by_channel.filter(by_channel["model"] == model)
        conversions, credited = float(part["attributed_conversions"].sum()), float(part["attributed_revenue"].sum())
        ok = abs(conversions - deals) <= 1e-6 * max(1, deals) and abs(credited - float(revenue)) <= 1e-6 * max(
            1.0, float(revenue)
        )
        conserved.append({"model": model, "conversions": conversions, "revenue": credited, "conserved": ok})
    with ctx.engine.begin() as conn:
        record_accuracy(
            conn,
            "attribution_calculation",
            sum(1 for c in conserved if c["conserved"]),
            len(conserved),
            {"won_deals": deals, "won_revenue": float(revenue), "models": conserved},
            ctx.run_id,
        )
    _emit(ctx, "revenue-attribution", "attribution.modeling_completed", {"won_deals": deals, "models": len(MODELS)})
    return JobOutcome(
        rows=by_channel.height + by_campaign.height,
        summary={
            "lookback_days": lookback,
            "won_deals": deals,
            "won_revenue": float(revenue),
            "conservation": conserved,
            "by_channel": _records(by_channel),
            "by_campaign": _records(by_campaign.sort("attributed_revenue", descending=True)),
        },
    )


# ---------------------------------------------------------------------------------------
# monthly, first Monday 05:00


@job("executive_reporting", "report_generation", (PERIOD, MODEL))
def executive_reporting(ctx: JobContext) -> JobOutcome:
    """The executive report: one self-contained HTML file (KPIs, attribution, ROI, customer health,
    the budget recommendation, with charts; every script and style inline, so it opens offline).

    Reads the warehouse (KPIs, attribution, the finance report, health, budget) and the ops store
    (the health configuration); writes ``executive_report_<period>.html`` to the exports folder
    and its headline figures to ``job_results``. rows: sections written.
    """
    from analytics.jobs.report import executive_report

    with _warehouse(ctx) as con:
        period = _period(con, ctx.params["period"])
        html, figures = executive_report(con, ctx.engine, period, ctx.params["model"], progress=ctx.progress)
    path = ctx.exports / f"executive_report_{period.label.replace(' ', '_')}.html"
    path.write_text(html, encoding="utf-8")
    return JobOutcome(rows=len(figures["sections"]), outputs=[str(path)], summary=figures)


@job("strategic_analysis", "batch_operations", (Param("quarters", int, 4, "how many quarters to compare"), MODEL))
def strategic_analysis(ctx: JobContext) -> JobOutcome:
    """The longer view: channel ROI over the last ``quarters`` quarters, twelve months of revenue,
    pipeline and spend, and the churn model's ARR at risk and drivers.

    Reads the warehouse (finance report per quarter, Overview trends, churn model); writes
    ``job_results``. rows: channel x quarter rows.
    """
    from analytics.customers.churn import churn_analysis_or_reason
    from analytics.finance.report import financial_report
    from analytics.overview.kpis import monthly_trends

    channel_rows = []
    with _warehouse(ctx) as con:
        last = _period(con, "")
        quarter = last
        for _ in range(ctx.params["quarters"]):
            ctx.progress(f"ROI {quarter.label}")
            report = financial_report(
                con, quarter.start, quarter.end, quarter.kind, model=ctx.params["model"], n_boot=0, compare=False
            )
            for row in _records(report.by_channel):
                channel_rows.append({"quarter": quarter.label, **row})
            quarter = quarter.previous()
        end = _data_end(con)
        trends = monthly_trends(con, add_months(end, -11), end)
        ctx.progress("churn model")
        churn = churn_analysis_or_reason(con)
    churn_summary = (
        {"unavailable": churn}
        if isinstance(churn, str)
        else {
            "as_of": churn.as_of,
            "arr_at_risk": churn.arr_at_risk,
            "metrics": churn.card.get("metrics"),
            "drivers": _records(churn.drivers, 5),
        }
    )
    return JobOutcome(
        rows=len(channel_rows),
        summary={
            "quarters": list(dict.fromkeys(r["quarter"] for r in channel_rows)),
            "channel_roi_by_quarter": channel_rows,
            "monthly_trends": _records(trends),
            "churn": json.loads(json.dumps(churn_summary, default=str)),
        },
    )
