"""The rule score, row by row in SQL: fit and engagement groups, decay per event, A1–C3 grade, tier.

For a lead at time ``as_of`` (the warehouse's 'now' for the live table; ``observe_days``
after creation when past leads are scored as they looked then):

* **fit** ``F = min(L_fit, Σ_k p_k · [condition_k holds])`` over the ``[fit]`` rules;
* **engagement** ``E = min(L_eng, Σ_r e_r)`` over the ``[engagement]`` rules, where rule
  ``r`` (``p_r per <event> max c_r half_life h_r``) gives

  .. math:: e_r = \\operatorname{cap}_{c_r}\\Big(p_r \\sum_{i \\in r} 0.5^{\\,(as\\_of - t_i)/h_r}\\Big)

  over the lead's events ``i`` of that kind up to ``as_of`` (decay per event: an event
  ``h_r`` days old counts half), ``cap`` being ``min(c, ·)`` for positive points and
  ``max(c, ·)`` for negative ones;
* **score** ``S = clip(F + E, 0, 100)`` (points may be negative; each group is capped from above);
* **grade** = fit letter (``A`` when ``F ≥ fit_a``, ``B`` when ``F ≥ fit_b``, else ``C``) ×
  engagement digit (``1`` when ``E ≥ engagement_1``, ``2`` when ``E ≥ engagement_2``, else ``3``);
* **tier** ``sql`` when ``S ≥ sql``, ``mql`` when ``S ≥ mql``, else ``nurture``.

``reasons`` lists every rule that gave points, in file order ("+15 webinar attended
2026-09-02; −10 email_domain is free_mail"); ``missing`` names what the lead lacks (email,
company, title, account) — such a lead is scored on what it has.

The same statement can carry the predictive model's score (:mod:`analytics.sales.predictive`),
so one pass over the events serves both; it is built from fixed templates, with every value
from the rules file bound.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from analytics.sales.engagement import (
    ENGAGEMENT_TABLE,
    decay_rate,
    decayed_sum,
    epoch_seconds,
    event_count,
    latest_event,
    stored_engagement,
    sum_column,
)
from analytics.sales.features import (
    EVENTS,
    FEATURES_TABLE,
    FIT_FIELDS,
    FREE_MAIL_DOMAINS,
    MODEL_EVENTS,
    NUMERIC_FIELDS,
    OUTCOMES_CTE,
    TOUCH_CHANNELS,
    data_end,
    lead_profile_cte,
    source_rows_cte,
    touch_channels_sql,
    warehouse_shape,
)
from analytics.sales.rules import FitRule, Rules
from analytics.warehouse.runner import run

if TYPE_CHECKING:
    import polars as pl

HORIZON_DAYS = 180  # a lead converts when it is closed-won within this many days of its creation
OBSERVE_DAYS = 30  # past leads are scored as they looked this many days after creation

LEAD_COLUMNS = (
    "contact_id",
    "hubspot_id",
    "email",
    "email_domain",
    "first_name",
    "last_name",
    "company",
    "job_title",
    "seniority",
    "lead_source",
    "lifecycle_stage",
    "created_at",
    "owner_id",
    "account_id",
    "account_name",
    "matched_by",
    "account_owner_id",
    "account_is_customer",
    "segment",
    "industry",
    "region",
    "employees",
)


# every column the scoring statement can give (which of them it gives depends on its options)
OUTPUT_COLUMNS = frozenset(
    (
        *LEAD_COLUMNS,
        "is_free_mail",
        "fit_score",
        "engagement_score",
        "rule_score",
        "grade",
        "tier",
        "reasons",
        "missing",
        *(f"w_{name}" for name in MODEL_EVENTS),
        TOUCH_CHANNELS,
        "predictive_score",
        "predictive_reasons",
        "converted",
        "won_on",
    )
)


@dataclass(frozen=True)
class Scope:
    """Which leads to score and as of when.

    ``observed``: score each lead as it looked ``observe_days`` after its creation (for
    backtests and training) instead of at the warehouse's 'now'. ``mature_only``: only leads
    whose ``horizon_days`` outcome window has ended by 'now'.
    """

    created_from: date | None = None
    created_to: date | None = None
    segments: tuple[str, ...] = ()
    observed: bool = False
    mature_only: bool = False
    observe_days: int = OBSERVE_DAYS
    horizon_days: int = HORIZON_DAYS


def signed_points(points: float) -> str:
    """Whole points with their sign, as :func:`_signed` writes them in SQL: +15, −10 (halves away from 0)."""
    whole = int(math.floor(abs(points) + 0.5))
    return f"{'−' if points < 0 and whole else '+'}{whole}"


def _signed(expression: str) -> str:
    """SQL text of a number rounded to whole points with its sign: +15, −10."""
    return (
        f"(case when round({expression}) < 0 then '−' else '+' end "
        f"|| cast(cast(abs(round({expression})) as integer) as varchar))"
    )


def fit_condition(rule: FitRule, k: int, params: dict) -> str:
    column = FIT_FIELDS[rule.field]
    if rule.operator == "missing":
        return f"({column} is null)" if rule.field in NUMERIC_FIELDS else f"({column} is null or trim({column}) = '')"
    if rule.operator == "present":
        return f"({column} is not null)" if rule.field in NUMERIC_FIELDS else f"(trim({column}) <> '')"
    if rule.field in NUMERIC_FIELDS:
        if rule.operator == "between":
            params[f"fit_{k}_lo"], params[f"fit_{k}_hi"] = rule.values
            return f"({column} between $fit_{k}_lo and $fit_{k}_hi)"
        params[f"fit_{k}_v"] = rule.values[0]
        return f"({column} {rule.operator} $fit_{k}_v)"
    values = list(rule.values)
    if rule.field == "email_domain" and [v.lower() for v in values] == ["free_mail"]:
        values = list(FREE_MAIL_DOMAINS)
    if rule.operator == "contains":
        params[f"fit_{k}_v"] = f"%{values[0].lower()}%"
        return f"(lower({column}) like $fit_{k}_v)"
    names = []
    for j, value in enumerate(values):
        params[f"fit_{k}_{j}"] = value.lower()
        names.append(f"$fit_{k}_{j}")
    inside = f"lower({column}) in ({', '.join(names)})"
    return f"(not ({inside}))" if rule.operator in ("is not", "not in") else f"({inside})"


def score_statement(
    rules: Rules,
    shape,
    now: datetime,
    scope: Scope = Scope(),
    model=None,
    model_features: bool = False,
    with_outcome: bool = False,
    model_reasons: bool = True,
    reasons: bool = True,
    columns: tuple[str, ...] | None = None,
) -> tuple[str, dict]:
    """The SQL and parameters that score every lead in ``scope`` (see the module docstring).

    ``model``: a fitted :class:`~analytics.sales.predictive.LeadScoreModel` whose probability
    is added as ``predictive_score`` (0–100) with its ``predictive_reasons``;
    ``model_features``: add the raw model features (for fitting); ``with_outcome``: add
    ``converted`` and ``won_on``; ``model_reasons=False``: leave the model's top-3 reasons out
    (they cost more than the score itself: bulk exports that do not show them skip them);
    ``reasons=False``: leave the rule score's ``reasons`` column out (routing and write-back read
    only the numbers; the texts are formatted where they are shown or exported); ``columns``:
    only these output columns (from :data:`OUTPUT_COLUMNS`), so the work and the transfer of the
    others are left out (routing reads a dozen of the fifty).
    """
    params: dict = {
        "now": now,
        "now_epoch": epoch_seconds(now),
        "observe_days": int(scope.observe_days),
        "horizon_days": int(scope.horizon_days),
        "created_from": scope.created_from,
        "created_to": scope.created_to,
        "fit_limit": rules.fit_limit,
        "engagement_limit": rules.engagement_limit,
        "fit_a": rules.fit_a,
        "fit_b": rules.fit_b,
        "engagement_1": rules.engagement_1,
        "engagement_2": rules.engagement_2,
        "mql": rules.mql,
        "sql": rules.sql,
    }
    need_features = model_features or (model is not None and model.uses_features)
    # the model's first-30-day counts come from the table built at load when it is current
    stored_features = need_features and shape.features_current and scope.observe_days == OBSERVE_DAYS
    inline_features = need_features and not stored_features
    # the decayed sums at the live 'now' come from the table built at load, for the rules it holds
    engagement = shape.engagement if not scope.observed and shape.engagement and shape.engagement.covers(now) else None
    stored_rules = {
        k for k, r in enumerate(rules.engagement) if engagement and engagement.has(r.event, r.half_life_days)
    }
    # at a fixed 'now' the events need no join to the leads before they are aggregated
    joined = scope.observed or inline_features
    events = {r.event for k, r in enumerate(rules.engagement) if k not in stored_rules}
    events |= set(MODEL_EVENTS) if inline_features else set()
    as_of = (
        "least(p.created_at + $observe_days * interval 1 day, $now)" if scope.observed else "cast($now as timestamp)"
    )
    filters = ["p.created_at is not null", "p.created_at <= $now"]
    if scope.created_from:
        filters.append("p.created_at >= $created_from")
    if scope.created_to:
        filters.append("p.created_at < cast($created_to as date) + 1")
    if scope.mature_only:
        filters.append("p.created_at + $horizon_days * interval 1 day <= $now")
    if scope.segments:
        names = []
        for j, segment in enumerate(scope.segments):
            params[f"segment_{j}"] = segment
            names.append(f"$segment_{j}")
        filters.append(f"p.segment in ({', '.join(names)})")
    # one aggregate per event source: each event row feeds only its own source's rules
    aggregates: dict[str, list[str]] = {}
    reference = "epoch(s.as_of)" if joined else "$now_epoch"
    decayed, counted, latest = {}, {}, {}  # rule k -> SQL of its decayed sum, count, latest event
    for k, rule in enumerate(rules.engagement):
        # 0.5^(age / h) = exp(−ln 2 · age / h), with the age in seconds
        params[f"rate_{k}"] = decay_rate(rule.half_life_days)
        if k in stored_rules:  # stored at the load's 'now' t0, rescaled by exp(−λ (now − t0)): exact
            params[f"eng_{k}_scale"] = engagement.scale(rule.half_life_days, now)
            decayed[k] = f"(g.{sum_column(rule.event, rule.half_life_days)} * $eng_{k}_scale)"
            counted[k], latest[k] = f"g.n_{rule.event}", f"g.last_{rule.event}"
            continue
        source = EVENTS[rule.event].source
        aggregates.setdefault(source, []).extend(
            [
                f"{decayed_sum(rule.event, f'$rate_{k}', reference)} as decayed_{k}",
                f"{event_count(rule.event)} as n_{k}",
                f"{latest_event(rule.event)} as last_{k}",
            ]
        )
        totals = f"{source}_totals"
        decayed[k], counted[k], latest[k] = f"{totals}.decayed_{k}", f"{totals}.n_{k}", f"{totals}.last_{k}"
    if inline_features:
        for name in MODEL_EVENTS:
            event = EVENTS[name]
            aggregates.setdefault(event.source, []).append(
                f"count(case when {event.predicate} and e.ts <= s.window_end then 1 end) as w_{name}"
            )
        # every touch row is there: the touchpoint event (predicate true) is a model event
        aggregates["touch"].append(f"{touch_channels_sql('e.ts <= s.window_end')} as {TOUCH_CHANNELS}")
    totals_of = {source: f"{source}_totals" for source in sorted(aggregates)}
    column_source = {}  # an aggregate's name -> the totals CTE it comes from
    for source, named in aggregates.items():
        for column in named:
            column_source[column.rsplit(" as ", 1)[1]] = totals_of[source]
    fit_columns, fit_reasons = [], []
    for k, rule in enumerate(rules.fit):
        params[f"fit_{k}_points"] = rule.points
        # the points are fixed, so the reason's text is too: written here, not per lead
        params[f"fit_{k}_reason"] = f"{signed_points(rule.points)} {rule.text}"
        fit_columns.append(f"case when {fit_condition(rule, k, params)} then $fit_{k}_points end as fit_{k}")
        fit_reasons.append(f"case when fit_{k} is not null then $fit_{k}_reason end")
    engagement_columns, engagement_reasons = [], []
    for k, rule in enumerate(rules.engagement):
        params[f"eng_{k}_points"] = rule.points
        params[f"eng_{k}_label"] = " " + EVENTS[rule.event].label
        raw = f"$eng_{k}_points * {decayed[k]}"
        if rule.cap is not None:
            params[f"eng_{k}_cap"] = rule.cap
            raw = f"{'least' if rule.points > 0 else 'greatest'}($eng_{k}_cap, {raw})"
        engagement_columns += [
            f"case when {counted[k]} > 0 then {raw} end as eng_{k}",
            f"{counted[k]} as n_{k}",
            f"{latest[k]} as last_{k}",
        ]
        engagement_reasons.append(
            f"case when eng_{k} is not null and round(eng_{k}) <> 0 then {_signed(f'eng_{k}')} || $eng_{k}_label || "
            f"case when n_{k} = 1 then ' ' || cast(cast(last_{k} as date) as varchar) "
            f"else ' ×' || cast(n_{k} as varchar) || ', last ' || cast(cast(last_{k} as date) as varchar) end end"
        )
    no_channels = "cast([] as varchar[])"  # a lead without events in the window
    if stored_features:
        feature_columns = [f"coalesce(f.w_{name}, 0) as w_{name}" for name in MODEL_EVENTS]
        feature_columns.append(f"coalesce(f.{TOUCH_CHANNELS}, {no_channels}) as {TOUCH_CHANNELS}")
    elif need_features:
        feature_columns = [f"coalesce({column_source[f'w_{name}']}.w_{name}, 0) as w_{name}" for name in MODEL_EVENTS]
        feature_columns.append(
            f"coalesce({column_source[TOUCH_CHANNELS]}.{TOUCH_CHANNELS}, {no_channels}) as {TOUCH_CHANNELS}"
        )
    else:
        feature_columns = []
    feature_join = f"left join {FEATURES_TABLE} f on f.contact_id = s.contact_id" if stored_features else ""
    if stored_rules:
        feature_join += f"\n        left join {ENGAGEMENT_TABLE} g on g.contact_id = s.contact_id"
    if joined:
        template = """{name} as (
        select s.contact_id, {aggregates}
        from scope s
        join {source}_rows e on e.contact_id = s.contact_id and e.ts <= s.as_of
        group by s.contact_id
    )"""
    else:
        template = """{name} as (
        select e.contact_id, {aggregates}
        from {source}_rows e
        where e.ts <= $now
        group by e.contact_id
    )"""
    totals_ctes = "".join(
        ","
        + source_rows_cte(source, events, shape)
        + ",\n    "
        + template.format(name=name, aggregates=", ".join(aggregates[source]), source=source)
        for source, name in totals_of.items()
    )
    totals_joins = "".join(
        f"\n        left join {name} on {name}.contact_id = s.contact_id" for name in totals_of.values()
    )
    fit_sum = " + ".join(f"coalesce(fit_{k}, 0)" for k in range(len(rules.fit))) or "0"
    engagement_sum = " + ".join(f"coalesce(eng_{k}, 0)" for k in range(len(rules.engagement))) or "0"
    reason_texts = fit_reasons + engagement_reasons
    reason_texts.append(
        "case when fit_raw > $fit_limit then 'fit capped at ' || cast(cast($fit_limit as integer) as varchar) end"
    )
    reason_texts.append(
        "case when engagement_raw > $engagement_limit then 'engagement capped at ' "
        "|| cast(cast($engagement_limit as integer) as varchar) end"
    )
    reason_texts.append("case when missing <> '' then 'scored without ' || missing end")
    reasons_column = f",\n               concat_ws('; ', {', '.join(reason_texts)}) as reasons" if reasons else ""
    missing = ", ".join(
        [
            "case when email is null or trim(email) = '' then 'email' end",
            "case when company is null or trim(company) = '' then 'company' end",
            "case when job_title is null or trim(job_title) = '' then 'title' end",
            "case when account_id is null then 'account' end",
        ]
    )
    model_select, model_ctes, model_join, model_columns = "", "", "", ""
    if model is not None:
        probability, model_params = model.probability_sql()
        params.update(model_params)
        model_select = f", {probability} as predictive_probability"
        reason_sql, reason_params = model.reasons_sql("scored") if model_reasons else ("", {})
        params.update(reason_params)
        if reason_sql:
            model_ctes = f",\n    {reason_sql}"
            model_join = "left join model_reasons mr on mr.contact_id = final.contact_id"
            model_columns = ", round(100 * final.predictive_probability, 1) as predictive_score, mr.predictive_reasons"
        else:
            fixed = model.fixed_reason_sql() if model.mode_ != "model" else "null"
            model_columns = (
                ", round(100 * final.predictive_probability, 1) as predictive_score, "
                f"cast({fixed} as varchar) as predictive_reasons"
            )
    outcome_cte = f",{OUTCOMES_CTE}" if with_outcome else ""
    outcome_join = "left join lead_outcomes o on o.contact_id = final.contact_id" if with_outcome else ""
    outcome_columns = ", coalesce(o.converted, 0) as converted, o.won_on" if with_outcome else ""
    lead_columns = ", ".join(f"s.{c}" for c in LEAD_COLUMNS)
    sql = f"""
with {lead_profile_cte(shape)},
    scope as (
        select p.*, p.free_mail as is_free_mail, {as_of} as as_of,
               least(p.created_at + $observe_days * interval 1 day, $now) as window_end
        from lead_profile p
        where {" and ".join(filters)}
    ){totals_ctes},
    points as (
        select {lead_columns}, s.is_free_mail
               {"".join(", " + c for c in fit_columns)}
               {"".join(", " + c for c in engagement_columns)}
               {"".join(", " + c for c in feature_columns)}
        from scope s{totals_joins}
        {feature_join}
    ),
    grouped as (
        select *, {fit_sum} as fit_raw, {engagement_sum} as engagement_raw from points
    ),
    scored as (
        select *,
               least(fit_raw, $fit_limit) as fit_score,
               least(engagement_raw, $engagement_limit) as engagement_score,
               greatest(0, least(100, least(fit_raw, $fit_limit) + least(engagement_raw, $engagement_limit)))
                   as rule_score_raw,
               concat_ws(', ', {missing}) as missing
        from grouped
    ),
    final as (
        select *,
               case when fit_score >= $fit_a then 'A' when fit_score >= $fit_b then 'B' else 'C' end
               || case when engagement_score >= $engagement_1 then '1'
                       when engagement_score >= $engagement_2 then '2' else '3' end as grade,
               case when rule_score_raw >= $sql then 'sql' when rule_score_raw >= $mql then 'mql'
                    else 'nurture' end as tier{reasons_column}
               {model_select}
        from scored
    ){model_ctes}{outcome_cte}
select {", ".join("final." + c for c in LEAD_COLUMNS)}, final.is_free_mail,
       round(final.fit_score, 1) as fit_score, round(final.engagement_score, 1) as engagement_score,
       round(final.rule_score_raw, 1) as rule_score, final.grade, final.tier{", final.reasons" if reasons else ""},
       final.missing
       {"".join(", final." + c.split(" as ")[-1] for c in feature_columns)}
       {model_columns}{outcome_columns}
from final
{model_join}
{outcome_join}
"""
    if columns is not None:
        unknown = [c for c in columns if c not in OUTPUT_COLUMNS]
        if unknown:
            raise ValueError(f"score_statement: {unknown[0]!r} is not a column of the scored leads")
        sql = f"select {', '.join(columns)} from ({sql}) as scored_leads"  # names from OUTPUT_COLUMNS
    return sql, params


def score_leads(
    con,
    rules: Rules,
    scope: Scope = Scope(),
    model=None,
    model_features: bool = False,
    with_outcome: bool = False,
    now: datetime | None = None,
    model_reasons: bool = True,
    reasons: bool = True,
    columns: tuple[str, ...] | None = None,
) -> pl.DataFrame:
    """One row per lead in ``scope``: profile, ``fit_score``, ``engagement_score``, ``rule_score``,
    ``grade``, ``tier``, ``reasons`` (unless ``reasons=False``), ``missing`` (and the model's score,
    features, outcome when asked); ``columns``: only those."""
    shape = scoring_shape(con)
    now = now or data_end(con) or datetime.now()
    sql, params = score_statement(
        rules, shape, now, scope, model, model_features, with_outcome, model_reasons, reasons, columns
    )
    return run(con, sql, params)


def scoring_shape(con):
    """The warehouse's :class:`~analytics.sales.features.Shape` with the engagement sums the last load stored."""
    return replace(warehouse_shape(con), engagement=stored_engagement(con))


def mature_until(now: datetime, horizon_days: int = HORIZON_DAYS) -> date:
    """The last creation date whose outcome window has ended by ``now``."""
    return (now - timedelta(days=horizon_days)).date()
