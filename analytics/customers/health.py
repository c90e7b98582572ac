"""Customer health: six components per account as of any date, the overall score, bands, history, trend.

The spec's ``calculateHealthScore`` and ``MarketingEngagementMetrics``. The measures each
component reads are in :mod:`analytics.customers.features` (windows in calendar dates,
(t−a, t−b] = after t−a, up to t−b); here they become components, and components a score.

Components (each 0–1; *t* is the as-of date)
--------------------------------------------
``usage_frequency``
    ``min(1, active_days_30 / max(1, m))``: the share of days in (t−30, t] with product
    usage, against *m*, the median of ``active_days_30`` among the accounts of the same
    segment that have usage data on *t* (so a typical account of its size scores 1).
``feature_adoption``
    ``key_features_used_30 / K``: the share of the *K* key features used in (t−30, t]
    (:mod:`analytics.customers.config`: ``REVLENS_HEALTH_KEY_FEATURES``, default
    dashboards, reports, alerts, integrations, workflows, exports).
``engagement_trend``
    ``min(1, E / (B / 3))``, with *E* the usage events in (t−30, t] and *B* those in
    (t−120, t−30] (so ``B / 3`` is the usual 30 days): 1 when usage holds or grows, the
    share kept when it falls. With ``B = 0``: 1 if ``E > 0`` (usage resumed), else 0.
``support_health``
    ``1 − (v + e + c) / 3``, the negative indicators over (t−90, t]: ticket volume
    ``v = min(1, tickets / 5)``, escalations ``e = min(1, escalated / 2)``, low CSAT
    ``c`` = share of the tickets resolved in the window with a CSAT whose CSAT is ≤ 2 (of 5;
    0 without a rated ticket). 1 means no support trouble.
``payment_stability``
    ``1 − late / due`` over the invoices due in (t−365, t]; late = paid after its due date,
    or unpaid at *t* and due before *t*.
``marketing_engagement``
    From ``MarketingEngagementMetrics``: ``(0.4·email + 0.2·campaigns + 0.2·content +
    0.2·advocacy)`` over the parts that exist (weights renormalized), where
    email = ``(min(1, open_rate/0.25) + min(1, click_rate/0.05)) / 2 · (1 − min(1,
    unsubscribe_rate/0.05))`` over the emails sent in (t−30, t] (none sent: no email part);
    campaigns = the response rate, campaigns opened or clicked / campaigns that emailed the
    contacts in (t−30, t] (none: no campaign part); content = ``min(1, (blog reads +
    webinars + downloads in (t−30, t]) / 2)``; advocacy = ``min(1, referrals + reviews +
    case studies in (t−180, t])``.

Missing data
------------
A component is *missing* (NULL, not 0) when there is nothing to judge it on:

* ``usage_frequency``, ``feature_adoption``: the account has no usage event on or before *t*;
* ``engagement_trend``: its first usage event is after t−120 (no full baseline);
* ``support_health``: the warehouse has no ticket opened on or before *t* (support data
  not loaded; an account without tickets, when others have them, scores 1);
* ``payment_stability``: no invoice due in (t−365, t];
* ``marketing_engagement``: the account has no contacts on *t*, or the warehouse has no
  email or content event on or before *t*.

The score then uses the weights of the components present, renormalized to sum to 1, and
``coverage`` = the sum of the present components' weights (1 = all data, 0.85 = the score
rests on 85% of its weight). An account with no data at all (coverage 0) scores
:data:`NO_DATA_SCORE` (50, at risk), never NaN.

Overall score
-------------
``overall_score = round(100 · Σ w_i·c_i / Σ w_i, 2)`` over the present components, with
the spec's weights (0.25, 0.20, 0.15, 0.15, 0.15, 0.10) or those saved on the page. The
spec's code multiplies by the weights twice (once building the metrics, again in
``calculateWeightedScore``), which would shrink every score to about a fifth; RevLens
applies them once. Bands: ``healthy`` ≥ 70, ``at_risk`` 40–69.99, ``critical`` < 40.
``health_trend`` = score(t) − score(t−30) (None when the account was not scored 30 days
earlier).

History
-------
:data:`HEALTH_HISTORY` keeps the components of every account as of every week over the
data's span (``_health_history``; weeks end on the data's last day and go back while the
30-day windows fit in the data), rebuilt at every load. Scores are computed from it with
the current weights on read, so editing weights redraws every trend without a rebuild.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

from analytics.core.errors import RevLensError
from analytics.customers.config import COMPONENTS, SPEC_CONFIG, HealthConfig, resolve_key_features
from analytics.customers.features import MARKETING_DAYS_BUILD, MARKETING_DAYS_TABLE, both, measure_ctes, window_params
from analytics.warehouse.derived import DerivedTables
from analytics.warehouse.runner import Query, example_params, execute, rows, run, runner_for

if TYPE_CHECKING:
    import polars as pl

NO_DATA_SCORE = 50.0
TREND_DAYS = 30
TICKET_VOLUME_CAP = 5  # tickets in 90 days at which the volume indicator is full
ESCALATION_CAP = 2
OPEN_RATE_TARGET = 0.25
CLICK_RATE_TARGET = 0.05
UNSUBSCRIBE_RATE_LIMIT = 0.05
CONTENT_TARGET = 2  # content actions in 30 days for full marks
ADVOCACY_TARGET = 1  # advocacy actions in 180 days for full marks
HISTORY_TABLE = "_health_history"
HISTORY_STEP_DAYS = 7
HISTORY_CHUNK_ROWS = 1_000_000  # account-dates per statement of the history build (13 weeks of 78,000 accounts)

CONSTANTS = {
    "ticket_volume_cap": float(TICKET_VOLUME_CAP),
    "escalation_cap": float(ESCALATION_CAP),
    "open_rate_target": OPEN_RATE_TARGET,
    "click_rate_target": CLICK_RATE_TARGET,
    "unsubscribe_rate_limit": UNSUBSCRIBE_RATE_LIMIT,
    "content_target": float(CONTENT_TARGET),
    "advocacy_target": float(ADVOCACY_TARGET),
    "no_data_score": NO_DATA_SCORE,
}

# Components from measures (the chain continues MEASURE_CTES).
COMPONENT_CTES = """
marketing_loaded as (
    -- the minimum of the raw column (answered from the table's statistics, no scan), then its date
    select min(first_day) as first_day
    from (
        select cast(min(ts) as date) as first_day from email_events
        union all
        select cast(min(ts) as date) from content_events
    ) as firsts
),
segment_medians as (
    select segment, as_of, median(active_days_30) as median_active_days
    from measures
    where has_usage
    group by segment, as_of
),
component_inputs as (
    -- the segment's median active days, and the parts of marketing engagement
    select m.*,
           ml.first_day <= m.as_of as marketing_loaded,
           b.median_active_days,
           case when m.emails_sent_30 > 0 then
                (least(1.0, m.email_opens_30 / m.emails_sent_30 / $open_rate_target)
                 + least(1.0, m.email_clicks_30 / m.emails_sent_30 / $click_rate_target)) / 2
                * (1 - least(1.0, m.email_unsubscribes_30 / m.emails_sent_30 / $unsubscribe_rate_limit))
           end as email_part,
           case when m.campaigns_enrolled_30 > 0 then m.campaigns_responded_30 / m.campaigns_enrolled_30 end
               as campaign_part,
           least(1.0, (m.blog_reads_30 + m.webinars_30 + m.downloads_30) / $content_target) as content_part,
           least(1.0, (m.referrals_180 + m.reviews_180 + m.case_studies_180) / $advocacy_target) as advocacy_part
    from measures as m
    cross join marketing_loaded as ml
    left join segment_medians as b on b.segment = m.segment and b.as_of = m.as_of
),
components as (
    select account_key, account_id, account_name, segment, owner_id, arr, as_of,
           case when has_usage then least(1.0, active_days_30 / greatest(1.0, median_active_days)) end
               as usage_frequency,
           case when has_usage then key_features_used_30 / cast($key_feature_count as double) end
               as feature_adoption,
           case when first_usage_day is null or first_usage_day > as_of - 120 then null
                when usage_events_base_90 = 0 then case when usage_events_30 > 0 then 1.0 else 0.0 end
                else least(1.0, usage_events_30 / (usage_events_base_90 / 3.0)) end as engagement_trend,
           case when support_loaded then
                1 - (least(1.0, tickets_90 / $ticket_volume_cap)
                     + least(1.0, escalations_90 / $escalation_cap)
                     + case when rated_90 > 0 then low_csat_90 / rated_90 else 0.0 end) / 3
           end as support_health,
           case when invoices_due_365 > 0 then 1 - invoices_late_365 / invoices_due_365 end as payment_stability,
           case when has_contacts and marketing_loaded then
                (0.4 * coalesce(email_part, 0) + 0.2 * coalesce(campaign_part, 0) + 0.2 * content_part
                 + 0.2 * advocacy_part)
                / (case when email_part is null then 0 else 0.4 end
                   + case when campaign_part is null then 0 else 0.2 end + 0.4)
           end as marketing_engagement
    from component_inputs
)"""


def _weighted(template: str) -> str:
    return "\n               + ".join(template.format(c=name) for name in COMPONENTS)


# Scores from a relation named ``components`` (live, or read back from the history table).
SCORE_CTES = f"""
weighted as (
    select c.*,
           {_weighted("case when c.{c} is null then 0 else $w_{c} end")} as coverage,
           {_weighted("coalesce(c.{c}, 0) * $w_{c}")} as weighted_sum
    from components as c
),
scored as (
    select w.*,
           case when w.coverage > 0 then round(100 * w.weighted_sum / w.coverage, 2) else $no_data_score end
               as overall_score
    from weighted as w
),
banded as (
    select s.*,
           case when s.overall_score >= $healthy_min then 'healthy'
                when s.overall_score < $critical_below then 'critical'
                else 'at_risk' end as band
    from scored as s
)"""

_COMPONENT_COLUMNS = ", ".join(f"b.{name}" for name in COMPONENTS)
_SCORE_COLUMNS = (
    f"b.account_id, b.account_name, b.segment, b.owner_id, b.arr, b.as_of, {_COMPONENT_COLUMNS}, "
    "b.coverage, b.overall_score, b.band"
)

HEALTH_SCORES = both(
    "customers.health_scores",
    "Every paying account's six components, coverage, overall score and band as of each date in $as_of_dates.",
    lambda derived: (
        f"""with {measure_ctes(derived)},
{COMPONENT_CTES},
{SCORE_CTES}
select {_SCORE_COLUMNS}
from banded as b
order by b.as_of, b.account_id"""
    ),
)

# Scores as of $as_of beside those of $trend_from, from a relation named ``banded`` holding both dates.
_WITH_TREND = f"""
select {_SCORE_COLUMNS}, earlier.overall_score as score_30_days_before,
       round(b.overall_score - earlier.overall_score, 2) as health_trend
from banded as b
left join banded as earlier on earlier.account_id = b.account_id and earlier.as_of = $trend_from
where b.as_of = $as_of
order by b.account_id"""

CURRENT_SCORES = both(
    "customers.health_current",
    "Health as of $as_of with health_trend, the change since $trend_from (30 days earlier).",
    lambda derived: f"with {measure_ctes(derived)},\n{COMPONENT_CTES},\n{SCORE_CTES}{_WITH_TREND}",
)

HISTORY_BUILD = Query(
    "customers.health_history_build",
    f"""with {measure_ctes(derived=True)},
{COMPONENT_CTES}
select as_of, account_id, account_name, segment, owner_id, arr, {", ".join(COMPONENTS)}
from components
order by as_of, account_id""",
    "The weekly health history: every account's components as of every date in $as_of_dates "
    "(after the marketing days of the same load).",
)

CURRENT_TABLE = "_health_current"
CURRENT_STAMP_KEY = "health_current"  # in _meta: the as-of date and key features _health_current holds

STORED_CURRENT_SCORES = Query(
    "customers.health_current_stored",
    f"""with components as (
    select h.*
    from {CURRENT_TABLE} as h
),
{SCORE_CTES}{_WITH_TREND}""",
    "Health as of $as_of with health_trend, from the components every load stores for the data's last day "
    "and 30 days before (_health_current), with the current weights.",
)

CURRENT_STAMP = Query(
    "customers.health_current_stamp",
    "select value from _meta where key = $stamp_key",
    "What _health_current holds: its as-of date and the key features it was built with.",
)

HISTORY_SCORES = Query(
    "customers.health_history_scores",
    f"""with components as (
    select h.*
    from {HISTORY_TABLE} as h
    where h.as_of between $start and $end
      and ($account_id is null or h.account_id = $account_id)
),
{SCORE_CTES}
select {_SCORE_COLUMNS}
from banded as b
order by b.as_of, b.account_id""",
    "Scores from the weekly history with the current weights, between $start and $end (one account or all).",
)

DATA_RANGE = Query(
    "customers.health_data_range",
    """with bounds as (
    -- min and max of the raw columns (answered from the tables' statistics), then their dates
    select cast(min(ts) as date) as first_day, cast(max(ts) as date) as last_day from feature_usage_events
    union all
    select cast(min(opened_at) as date), cast(max(opened_at) as date) from support_tickets
    union all
    select min(issued_date), max(issued_date) from invoices
    union all
    select cast(min(ts) as date), cast(max(ts) as date) from email_events
    union all
    select cast(min(ts) as date), cast(max(ts) as date) from content_events
)
select min(first_day), max(last_day) from bounds""",
    "The first and last day of the data the health score reads (usage, tickets, invoices, email, content).",
)


# ---------------------------------------------------------------------------------------
# Dates


def data_range(con) -> tuple[date, date] | None:
    """First and last day of the health data, or None when the warehouse has none."""
    first, last = rows(con, DATA_RANGE)[0]
    return None if first is None else (first, last)


def resolve_as_of(con, as_of: date | None = None, option: str = "--as-of") -> date:
    """``as_of``, or the data's last day; a date outside the data is refused with the data's range."""
    span = data_range(con)
    if span is None:
        raise RevLensError(
            "The warehouse has no usage, support, invoice, email or content data to score health on; "
            "import some with `python -m analytics import` or build the demo with `python -m analytics demo`."
        )
    first, last = span
    if as_of is None:
        return last
    if not first <= as_of <= last:
        raise RevLensError(
            f"{option} {as_of.isoformat()} is outside the data, which runs from {first.isoformat()} to "
            f"{last.isoformat()}; choose a date in that range."
        )
    return as_of


def history_dates(con) -> list[date]:
    """The weekly as-of dates of the history: the data's last day and every 7 days back while the
    first 30-day window still fits in the data, oldest first."""
    span = data_range(con)
    if span is None:
        return []
    first, last = span
    earliest = first + timedelta(days=TREND_DAYS - 1)
    dates = []
    day = last
    while day >= earliest:
        dates.append(day)
        day -= timedelta(days=HISTORY_STEP_DAYS)
    return sorted(dates)


# ---------------------------------------------------------------------------------------
# Scores


def _params(con, config: HealthConfig, as_of_dates: list[date] | None = None, **extra) -> dict:
    keys = resolve_key_features(con, config.key_features)
    return {
        **CONSTANTS,
        **config.params(),
        "key_features": list(keys) or ["(none)"],
        "key_feature_count": max(1, len(keys)),
        **(window_params(as_of_dates) if as_of_dates is not None else {}),
        **extra,
    }


def health_scores(con, as_of: date | None = None, config: HealthConfig = SPEC_CONFIG) -> pl.DataFrame:
    """Every paying account's health as of ``as_of`` (default: the data's last day).

    Columns: account_id, account_name, segment, owner_id, arr, as_of, the six components
    (0–1, null when missing), coverage, overall_score (0–100, 2 decimals), band,
    score_30_days_before, health_trend (score change over 30 days). See the module docstring.
    """
    config.validate()
    as_of = resolve_as_of(con, as_of)
    trend_from = as_of - timedelta(days=TREND_DAYS)
    params = _params(con, config, as_of_dates=[trend_from, as_of], as_of=as_of, trend_from=trend_from)
    if _current_stored(con, as_of, params["key_features"]):
        return run(con, STORED_CURRENT_SCORES, params)
    return run(con, CURRENT_SCORES[marketing_days_current(con)], params)


def _current_stamp(as_of: date, key_features: list[str]) -> str:
    return json.dumps({"as_of": as_of.isoformat(), "key_features": list(key_features)})


def _current_stored(con, as_of: date, key_features: list[str]) -> bool:
    """Whether ``_health_current`` holds the components as of ``as_of`` (and 30 days before) with these key
    features, built for the warehouse's current version: then the scores are read from it, the same numbers."""
    if not HEALTH_HISTORY.current(con):
        return False
    stamp = rows(con, CURRENT_STAMP, {"stamp_key": CURRENT_STAMP_KEY})
    return bool(stamp) and stamp[0][0] == _current_stamp(as_of, key_features)


def scores_on(con, dates: list[date], config: HealthConfig = SPEC_CONFIG) -> pl.DataFrame:
    """Health of every paying account on each of ``dates`` (computed live)."""
    config.validate()
    return run(con, HEALTH_SCORES[marketing_days_current(con)], _params(con, config, as_of_dates=sorted(set(dates))))


# ---------------------------------------------------------------------------------------
# History (a derived table, rebuilt at every load)


PAYING_ACCOUNTS = Query(
    "customers.health_paying_accounts",
    "select count(*) from accounts where arr > 0",
    "How many accounts pay (the history's rows per as-of date, at most).",
)


def history_chunk_dates(con) -> int:
    """As-of dates per statement of the history build: :data:`HISTORY_CHUNK_ROWS` account-dates."""
    return max(1, HISTORY_CHUNK_ROWS // max(1, rows(con, PAYING_ACCOUNTS)[0][0]))


def build_history(con, dates: list[date] | None = None) -> None:
    """Rebuild the marketing days, then ``_health_history`` with the components as of ``dates``
    (default :func:`history_dates`) read from them.

    The history is built :func:`history_chunk_dates` as-of dates at a time (the oldest first, so
    the table stays in ``as_of, account_id`` order): a row depends only on its own as-of date, so
    the chunks give the same rows as one statement over every date, and the engine holds the
    windows of about :data:`HISTORY_CHUNK_ROWS` account-dates at once instead of all of them
    (memory grows with the chunk, not the span; a small warehouse is built in one statement).
    """
    dates = sorted(set(history_dates(con) if dates is None else dates))
    if not dates:  # an empty warehouse: an empty table of the right shape
        dates = [date.today()]
    # the queries are the tables' selects (printable, EXPLAINable); the build materializes them
    execute(con, f"create or replace table {MARKETING_DAYS_TABLE} as {MARKETING_DAYS_BUILD.sql}")
    step = history_chunk_dates(con)
    for start in range(0, len(dates), step):
        chunk = dates[start : start + step]
        statement = f"create or replace table {HISTORY_TABLE} as" if start == 0 else f"insert into {HISTORY_TABLE}"
        execute(con, f"{statement} {HISTORY_BUILD.sql}", _params(con, SPEC_CONFIG, as_of_dates=chunk))
    _build_current(con, dates)


def _build_current(con, history_dates_built: list[date]) -> None:
    """``_health_current``: the components as of the data's last day and 30 days before (the default
    scores), so that reading them needs no windows. A date the history holds is copied from it, the other
    computed; ``_meta`` records the as-of date and the key features."""
    span = data_range(con)
    as_of = span[1] if span else history_dates_built[-1]
    wanted = [as_of - timedelta(days=TREND_DAYS), as_of]
    missing = [d for d in wanted if d not in history_dates_built]
    params = _params(con, SPEC_CONFIG, as_of_dates=missing or None)
    execute(
        con,
        f"create or replace table {CURRENT_TABLE} as select * from {HISTORY_TABLE} where list_contains(cast($held as date[]), as_of)",
        {"held": [d for d in wanted if d in history_dates_built]},
    )
    if missing:
        execute(con, f"insert into {CURRENT_TABLE} {HISTORY_BUILD.sql}", params)
    execute(
        con,
        "insert into _meta (key, value) values ($stamp_key, $stamp) on conflict (key) do update set value = excluded.value",
        {"stamp_key": CURRENT_STAMP_KEY, "stamp": _current_stamp(as_of, params["key_features"])},
    )


HEALTH_HISTORY = DerivedTables(
    "health_history",
    (MARKETING_DAYS_TABLE, HISTORY_TABLE, CURRENT_TABLE),
    build_history,
    sources=(
        "accounts",
        "contacts",
        "campaigns",
        "feature_usage_events",
        "support_tickets",
        "invoices",
        "email_events",
        "content_events",
    ),
)


def history_current(con) -> bool:
    """Whether the weekly history and the marketing days were built for the warehouse's current version."""
    return HEALTH_HISTORY.current(con)


def marketing_days_current(con) -> bool:
    """Whether the measure queries may read the marketing days built at load (else the raw events): built
    for the current version, with the columns these queries read (a table an older RevLens built lacks the
    campaigns' next days; the raw events give the same numbers until the next load or ``refresh``)."""
    return HEALTH_HISTORY.current(con) and runner_for(con).has_column(MARKETING_DAYS_TABLE, "next_response_day")


def history_scores(
    con,
    config: HealthConfig = SPEC_CONFIG,
    start: date | None = None,
    end: date | None = None,
    account_id: str | None = None,
) -> pl.DataFrame:
    """Weekly scores between ``start`` and ``end`` (all accounts, or one), with ``config``'s weights.

    Read from the history table when it is current; otherwise (a warehouse changed without a
    load, or built before the table existed) computed live on the same weekly dates: the same
    numbers, slower.
    """
    config.validate()
    start = start or date(1900, 1, 1)
    end = end or date(2999, 12, 31)
    if history_current(con):
        return run(
            con, HISTORY_SCORES, {**CONSTANTS, **config.params(), "start": start, "end": end, "account_id": account_id}
        )
    import polars as pl

    dates = [d for d in history_dates(con) if start <= d <= end]
    frame = scores_on(con, dates or [end], config)
    if not dates:
        return frame.clear()
    return frame.filter(pl.col("account_id") == account_id) if account_id else frame


# ---------------------------------------------------------------------------------------
# Portfolio views


PORTFOLIO_TREND = Query(
    "customers.health_portfolio_trend",
    f"""with components as (
    select h.*
    from {HISTORY_TABLE} as h
    where h.as_of between $start and $end
      and ($all_segments or h.segment in (select cast(unnest($segments) as varchar)))
),
{SCORE_CTES}
select as_of, band, count(*) as accounts, sum(arr) as arr, avg(overall_score) as average_score
from banded
group by as_of, band
order by as_of, band""",
    "Accounts, ARR and average score per band and week of the history.",
)


def portfolio_trend(
    con,
    config: HealthConfig = SPEC_CONFIG,
    start: date | None = None,
    end: date | None = None,
    segments: tuple[str, ...] = (),
) -> pl.DataFrame:
    """Per week of the history and band: accounts, ARR and the band's average score."""
    import polars as pl

    start = start or date(1900, 1, 1)
    end = end or date(2999, 12, 31)
    if history_current(con):
        return run(
            con,
            PORTFOLIO_TREND,
            {
                **CONSTANTS,
                **config.params(),
                "start": start,
                "end": end,
                "all_segments": not segments,
                "segments": list(segments) or [""],
            },
        )
    frame = history_scores(con, config, start, end)
    if segments:
        frame = frame.filter(pl.col("segment").is_in(list(segments)))
    return (
        frame.group_by("as_of", "band")
        .agg(
            pl.len().alias("accounts"),
            pl.col("arr").sum().alias("arr"),
            pl.col("overall_score").mean().alias("average_score"),
        )
        .sort("as_of", "band")
    )


def rescore(frame: pl.DataFrame, config: HealthConfig) -> pl.DataFrame:
    """``frame``'s components scored again with ``config`` (the page's live preview of new weights).

    The same formula as the SQL (:data:`SCORE_CTES`), on the frame a page already holds.
    """
    import polars as pl

    config.validate()
    present = [pl.when(pl.col(c).is_null()).then(0.0).otherwise(w) for c, w in zip(COMPONENTS, config.weights)]
    weighted = [pl.col(c).fill_null(0.0) * w for c, w in zip(COMPONENTS, config.weights)]
    coverage = pl.sum_horizontal(present)
    score = (
        pl.when(coverage > 0)
        .then((100 * pl.sum_horizontal(weighted) / coverage).round(2))
        .otherwise(NO_DATA_SCORE)
        .alias("overall_score")
    )
    scored = frame.with_columns(coverage.alias("coverage"), score)
    return scored.with_columns(band_of(pl.col("overall_score"), config).alias("band"))


def band_of(score, config: HealthConfig):
    """A polars expression: the band of the ``score`` expression under ``config``'s thresholds."""
    import polars as pl

    return (
        pl.when(score >= config.healthy_min)
        .then(pl.lit("healthy"))
        .when(score < config.critical_below)
        .then(pl.lit("critical"))
        .otherwise(pl.lit("at_risk"))
    )


def band_changes(frame: pl.DataFrame, config: HealthConfig) -> pl.DataFrame:
    """How many accounts would move between bands if ``config`` replaced the weights ``frame`` was scored
    with: one row per (band, new_band) pair that differs, with its accounts and ARR."""
    import polars as pl

    new = rescore(frame, config).select("account_id", pl.col("band").alias("new_band"))
    return (
        frame.select("account_id", "band", "arr")
        .join(new, on="account_id")
        .filter(pl.col("band") != pl.col("new_band"))
        .group_by("band", "new_band")
        .agg(pl.len().alias("accounts"), pl.col("arr").sum().alias("arr"))
        .sort("accounts", descending=True)
    )


# ---------------------------------------------------------------------------------------
# Why it changed


@dataclass(frozen=True)
class ComponentChange:
    """One bar of the why-it-changed waterfall: ``contribution`` points of the score change."""

    component: str
    value_before: float | None
    value_after: float | None
    weight_before: float  # renormalized weight on the earlier date (0 when missing)
    weight_after: float
    contribution: float  # 100 · (w_after·c_after − w_before·c_before)
    evidence: tuple[str, ...]  # the data behind it, "usage events 412 → 163"


def _term(value: float | None, weight: float, coverage: float) -> tuple[float, float]:
    if value is None or coverage <= 0:
        return 0.0, 0.0
    share = weight / coverage
    return share, 100.0 * share * value


def why_changed(
    con, account_id: str, before: date, after: date, config: HealthConfig = SPEC_CONFIG
) -> tuple[dict, dict, list[ComponentChange]]:
    """Each component's contribution to the account's score change from ``before`` to ``after``.

    contribution_i = 100·(w̃_i(after)·c_i(after) − w̃_i(before)·c_i(before)), with w̃ the
    weights renormalized over the components present on each date, so the contributions sum
    to the change of the unrounded score exactly (a component missing on one date adds or
    removes its whole term). Returns the two score rows and the changes, each with the data
    behind it.
    """
    import polars as pl

    from analytics.customers.features import account_measures

    config.validate()
    before = resolve_as_of(con, before, "The first date")
    after = resolve_as_of(con, after, "The second date")
    if before >= after:
        raise RevLensError(
            f"The first date ({before}) must come before the second ({after}); swap them or pick another."
        )
    scores = scores_on(con, [before, after], config)
    keys = resolve_key_features(con, config.key_features)
    measures = account_measures(con, [before, after], list(keys), marketing_days_current(con)).filter(
        pl.col("account_id") == account_id
    )
    found = scores.filter(pl.col("account_id") == account_id)
    by_date = {row["as_of"]: row for row in found.iter_rows(named=True)}
    facts = {row["as_of"]: row for row in measures.iter_rows(named=True)}
    missing = [d for d in (before, after) if d not in by_date]
    if missing:
        raise RevLensError(
            f"Account {account_id} was not a paying customer on {missing[0]}, so it has no score then; "
            "pick dates while it was a customer."
        )
    old, new = by_date[before], by_date[after]
    changes = []
    for name, weight in zip(COMPONENTS, config.weights):
        w0, t0 = _term(old[name], weight, old["coverage"])
        w1, t1 = _term(new[name], weight, new["coverage"])
        changes.append(
            ComponentChange(
                name, old[name], new[name], w0, w1, t1 - t0, evidence(name, facts.get(before), facts.get(after))
            )
        )
    return old, new, changes


def why_changed_or_reason(con, account_id: str, before: date, after: date, config: HealthConfig = SPEC_CONFIG):
    """:func:`why_changed`, or the sentence saying why there is no breakdown (for a page)."""
    try:
        return why_changed(con, account_id, before, after, config)
    except RevLensError as exc:
        return str(exc)


_EVIDENCE: dict[str, tuple[tuple[str, str], ...]] = {
    "usage_frequency": (("active_days_30", "active days in 30"), ("usage_events_30", "usage events in 30 days")),
    "feature_adoption": (("key_features_used_30", "key features used in 30 days"),),
    "engagement_trend": (
        ("usage_events_30", "usage events in 30 days"),
        ("usage_events_base_90", "usage events in the 90 days before"),
    ),
    "support_health": (
        ("tickets_90", "tickets in 90 days"),
        ("escalations_90", "escalations in 90 days"),
        ("low_csat_90", "low-CSAT tickets in 90 days"),
    ),
    "payment_stability": (
        ("invoices_late_365", "late invoices in 365 days"),
        ("invoices_due_365", "invoices due in 365 days"),
    ),
    "marketing_engagement": (
        ("emails_sent_30", "emails sent in 30 days"),
        ("email_opens_30", "opens in 30 days"),
        ("email_clicks_30", "clicks in 30 days"),
        ("campaigns_responded_30", "campaigns responded to in 30 days"),
        ("blog_reads_30", "blog reads in 30 days"),
    ),
}


def evidence(component: str, before: dict | None, after: dict | None) -> tuple[str, ...]:
    """The measures behind a component on two dates, as "usage events in 30 days 412 → 163"."""

    def value(row, key):
        return "—" if row is None or row.get(key) is None else f"{row[key]:,}"

    return tuple(f"{text} {value(before, key)} → {value(after, key)}" for key, text in _EVIDENCE[component])


@example_params("customers.")
def _example_params(con) -> dict:
    """Parameters of the customers queries for ``sql explain``: the spec's weights, as of the data's last day."""
    as_of = resolve_as_of(con, None)
    trend_from = as_of - timedelta(days=TREND_DAYS)
    return _params(
        con,
        SPEC_CONFIG,
        as_of_dates=[trend_from, as_of],
        as_of=as_of,
        trend_from=trend_from,
        account_id="(none)",
        account_ids=["(none)"],
        days=90,
        all_segments=True,
        segments=[],
        stamp_key=CURRENT_STAMP_KEY,
    )
