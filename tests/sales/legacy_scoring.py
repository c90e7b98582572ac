"""The scoring statement as it was before the per-source aggregates (frozen: the reference).

``tests/sales/test_scoring_reference.py`` checks that :func:`analytics.sales.scoring.score_statement`
gives exactly what this one gave: same columns, same values, same reason strings. Do not
edit it to follow the live module; it is the old SQL, kept to compare against. (One edit since:
the model's channel features are the list ``touch_channels`` instead of a ``w_touch_<channel>``
count per demo channel, read the same two ways as the other features, stored or inline.)
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

from analytics.sales.features import (
    EVENTS,
    FEATURES_TABLE,
    MODEL_EVENTS,
    OUTCOMES_CTE,
    TOUCH_CHANNELS,
    event_predicate,
    events_cte,
    lead_profile_cte,
    touch_channels_sql,
)
from analytics.sales.rules import Rules
from analytics.sales.scoring import LEAD_COLUMNS, OBSERVE_DAYS, Scope, fit_condition


def _signed(expression: str) -> str:
    """SQL text of a number rounded to whole points with its sign: +15, −10."""
    return (
        f"(case when round({expression}) < 0 then '−' else '+' end "
        f"|| cast(cast(abs(round({expression})) as integer) as varchar))"
    )


def score_statement(
    rules: Rules,
    shape,
    now: datetime,
    scope: Scope = Scope(),
    model=None,
    model_features: bool = False,
    with_outcome: bool = False,
    model_reasons: bool = True,
) -> tuple[str, dict]:
    """The SQL and parameters that score every lead in ``scope`` (see the module docstring).

    ``model``: a fitted :class:`~analytics.sales.predictive.LeadScoreModel` whose probability
    is added as ``predictive_score`` (0–100) with its ``predictive_reasons``;
    ``model_features``: add the raw model features (for fitting); ``with_outcome``: add
    ``converted`` and ``won_on``; ``model_reasons=False``: leave the model's top-3 reasons out
    (they cost more than the score itself: bulk exports that do not show them skip them).
    """
    params: dict = {
        "now": now,
        "now_epoch": float(now.replace(tzinfo=UTC).timestamp()),
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
    # at a fixed 'now' the events need no join to the leads before they are aggregated
    joined = scope.observed or inline_features
    events = {r.event for r in rules.engagement} | (set(MODEL_EVENTS) if inline_features else set())
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
    aggregates = ["count(*) as event_rows"]
    for k, rule in enumerate(rules.engagement):
        predicate = event_predicate(rule.event)
        # 0.5^(age / h) = exp(−ln 2 · age / h), with the age in seconds
        params[f"rate_{k}"] = math.log(2) / (86400.0 * rule.half_life_days)
        reference = "epoch(s.as_of)" if joined else "$now_epoch"
        aggregates += [
            f"sum(case when {predicate} then exp($rate_{k} * (epoch(e.ts) - {reference})) end) as decayed_{k}",
            f"count(case when {predicate} then 1 end) as n_{k}",
            f"max(case when {predicate} then e.ts end) as last_{k}",
        ]
    if inline_features:
        for name in MODEL_EVENTS:
            aggregates.append(
                f"count(case when {event_predicate(name)} and e.ts <= s.window_end then 1 end) as w_{name}"
            )
        window_touches = "e.source = 'touch' and e.ts <= s.window_end"
        aggregates.append(f"{touch_channels_sql(window_touches)} as {TOUCH_CHANNELS}")
    fit_columns, fit_reasons = [], []
    for k, rule in enumerate(rules.fit):
        params[f"fit_{k}_points"] = rule.points
        params[f"fit_{k}_text"] = " " + rule.text
        fit_columns.append(f"case when {fit_condition(rule, k, params)} then $fit_{k}_points end as fit_{k}")
        fit_reasons.append(f"case when fit_{k} is not null then {_signed(f'fit_{k}')} || $fit_{k}_text end")
    engagement_columns, engagement_reasons = [], []
    for k, rule in enumerate(rules.engagement):
        params[f"eng_{k}_points"] = rule.points
        params[f"eng_{k}_label"] = " " + EVENTS[rule.event].label
        raw = f"$eng_{k}_points * t.decayed_{k}"
        if rule.cap is not None:
            params[f"eng_{k}_cap"] = rule.cap
            raw = f"{'least' if rule.points > 0 else 'greatest'}($eng_{k}_cap, {raw})"
        engagement_columns += [f"case when t.n_{k} > 0 then {raw} end as eng_{k}", f"t.n_{k}", f"t.last_{k}"]
        engagement_reasons.append(
            f"case when eng_{k} is not null and round(eng_{k}) <> 0 then {_signed(f'eng_{k}')} || $eng_{k}_label || "
            f"case when n_{k} = 1 then ' ' || cast(cast(last_{k} as date) as varchar) "
            f"else ' ×' || cast(n_{k} as varchar) || ', last ' || cast(cast(last_{k} as date) as varchar) end end"
        )
    source = "f" if stored_features else "t"
    feature_columns = [f"coalesce({source}.w_{name}, 0) as w_{name}" for name in MODEL_EVENTS] if need_features else []
    if need_features:
        feature_columns.append(f"coalesce({source}.{TOUCH_CHANNELS}, cast([] as varchar[])) as {TOUCH_CHANNELS}")
    feature_join = f"left join {FEATURES_TABLE} f on f.contact_id = s.contact_id" if stored_features else ""
    if joined:
        totals = """select s.contact_id, {aggregates}
        from scope s
        join lead_events e on e.contact_id = s.contact_id and e.ts <= s.as_of
        group by s.contact_id"""
    else:
        totals = """select e.contact_id, {aggregates}
        from lead_events e
        where e.ts <= $now
        group by e.contact_id"""
    totals = totals.format(aggregates=", ".join(aggregates))
    fit_sum = " + ".join(f"coalesce(fit_{k}, 0)" for k in range(len(rules.fit))) or "0"
    engagement_sum = " + ".join(f"coalesce(eng_{k}, 0)" for k in range(len(rules.engagement))) or "0"
    reasons = fit_reasons + engagement_reasons
    reasons.append(
        "case when fit_raw > $fit_limit then 'fit capped at ' || cast(cast($fit_limit as integer) as varchar) end"
    )
    reasons.append(
        "case when engagement_raw > $engagement_limit then 'engagement capped at ' "
        "|| cast(cast($engagement_limit as integer) as varchar) end"
    )
    reasons.append("case when missing <> '' then 'scored without ' || missing end")
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
    ),{events_cte(events, shape)},
    event_totals as (
        {totals}
    ),
    points as (
        select {lead_columns}, s.is_free_mail
               {"".join(", " + c for c in fit_columns)}
               {"".join(", " + c for c in engagement_columns)}
               {"".join(", " + c for c in feature_columns)}
        from scope s
        left join event_totals t on t.contact_id = s.contact_id
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
                    else 'nurture' end as tier,
               concat_ws('; ', {", ".join(reasons)}) as reasons
               {model_select}
        from scored
    ){model_ctes}{outcome_cte}
select {", ".join("final." + c for c in LEAD_COLUMNS)}, final.is_free_mail,
       round(final.fit_score, 1) as fit_score, round(final.engagement_score, 1) as engagement_score,
       round(final.rule_score_raw, 1) as rule_score, final.grade, final.tier, final.reasons, final.missing
       {"".join(", final." + c.split(" as ")[-1] for c in feature_columns)}
       {model_columns}{outcome_columns}
from final
{model_join}
{outcome_join}
"""
    return sql, params
