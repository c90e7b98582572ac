"""Rule-based credit (every model but Markov and Shapley), journey by journey, in SQL.

Touch *i* (1-based) of a journey of *n* touches gets a weight :math:`w_i` with
:math:`\\sum_i w_i = 1`; a key's credit is :math:`\\sum w_i` over its touches (conversions)
and :math:`\\sum w_i \\cdot amount` (revenue):

- ``first_touch``: :math:`w_1 = 1`. ``last_touch``: :math:`w_n = 1`.
- ``last_non_direct``: 1 to the last touch whose channel is not ``direct``; to the last
  touch when all are direct.
- ``linear``: :math:`w_i = 1/n`.
- ``time_decay``: :math:`w_i \\propto 0.5^{d_i / h}` normalized per journey, with
  :math:`d_i` = whole days from the touch's date to the close date, :math:`h` the
  half-life (7 days by default). Touches on the same day weigh the same.
- Milestone models share a weight *S* equally over the journey's distinct milestone
  touches (*m* of them) and :math:`1 - S` equally over the other :math:`n - m`
  touches; when every touch is a milestone (:math:`n = m`), each gets :math:`1/m`.

  - ``position_based`` (U-shaped): milestones first and last touch, *S* = 0.8, so
    40/40 with 20% over the middle; one touch 100%, two touches 50/50.
  - ``w_shaped``: milestones first, lead-creation and opportunity-creation touch,
    *S* = 0.9, so 30/30/30 with 10% over the rest. The lead-creation touch is the last
    touch at or before the contact's ``created_at``; the opportunity-creation touch the
    last at or before the opportunity's ``created_at``; a milestone with no touch at or
    before it is dropped, and milestones falling on the same touch count once (two
    distinct milestones get 45% each).
  - ``full_path``: milestones first, lead-creation, opportunity-creation and last
    (closed-won) touch, *S* = 0.9: 22.5% each with 10% over the rest.

One statement computes every asked model's weights over the window's ``touches`` (only the
journey facts those models need), sums them per key and returns one small row per key with
two columns per model; the rows are unpivoted here, in Python. A conversion without an
eligible touch is credited to ``(unattributed)`` under every model.

This module needs neither polars nor numpy: a rule-model-only CLI run stays light.
"""

from __future__ import annotations

from collections.abc import Sequence

from analytics.attribution.composed import named
from analytics.attribution.dialect import exact_sum, minus_days
from analytics.attribution.journeys import WINDOW_JOURNEYS, Journeys
from analytics.attribution.models import RULE_MODELS, UNATTRIBUTED
from analytics.warehouse.runner import Query, rows

# Journey-level facts, over a journey's touches (k orders them and is unique within a journey).
_JOURNEY_FACTS = {
    "n": "count(*)",
    "first_k": "min(k)",
    "last_k": "max(k)",
    "last_non_direct_k": "max(k) filter (where not is_direct)",  # FILTER: standard SQL, and faster than CASE
    "lead_k": "max(k) filter (where before_lead)",
    "opportunity_k": "max(k) filter (where before_opportunity)",
    "decay_total": exact_sum("pow(0.5, days_before / $half_life)"),
}
# A touch's weight under the single-touch, linear and time-decay models, and the facts it needs.
_TOUCH_WEIGHT = {
    "first_touch": ("cast(k = first_k as double)", ("first_k",)),
    "last_touch": ("cast(k = last_k as double)", ("last_k",)),
    "last_non_direct": ("cast(k = coalesce(last_non_direct_k, last_k) as double)", ("last_k", "last_non_direct_k")),
    "linear": ("1.0 / n", ("n",)),
    "time_decay": ("pow(0.5, days_before / $half_life) / decay_total", ("decay_total",)),
}
# Milestone models: their milestone touches (first_k is never NULL) and the share S they split.
_MILESTONES = {
    "position_based": (("first_k", "last_k"), 0.8),
    "w_shaped": (("first_k", "lead_k", "opportunity_k"), 0.9),
    "full_path": (("first_k", "lead_k", "opportunity_k", "last_k"), 0.9),
}
assert set(_TOUCH_WEIGHT) | set(_MILESTONES) == set(RULE_MODELS), "every rule model of the registry has its SQL"


def _distinct_milestones(columns: Sequence[str]) -> str:
    """SQL for the number of distinct non-NULL values among ``columns`` (the first never NULL)."""
    later = [
        f"cast({c} is not null" + "".join(f" and {c} is distinct from {p}" for p in columns[:i]) + " as integer)"
        for i, c in enumerate(columns)
        if i
    ]
    return " + ".join(["1", *later])


# The Monday of the week of the touch (its date is ``days_before`` days before its deal's close).
TOUCH_WEEK = f"cast(date_trunc('week', {minus_days('j.close_date', 't.days_before')}) as date)"
# What a split by period groups the credit by: the close month of the deal, or the week of the touch.
SPLITS = ("month", "week")


def weights_ctes(models: Sequence[str], week: bool = False) -> str:
    """CTEs ``journey_facts``, ``milestone_counts``, ``journey_weights`` and ``weights`` (a touch's
    weight under each of ``models``), after ``{journeys}``; with ``week``, ``weights`` also has
    the touch's ``week`` (:data:`TOUCH_WEEK`).

    Only the facts the models need are computed. A milestone model's two weights, S/m for
    a milestone touch and (1 - S)/(n - m) for the others (1/n each when n = m), are
    computed per journey, so the per-touch work is one comparison per milestone.
    """
    needs = {"n", *(c for m in models if m in _MILESTONES for c in _MILESTONES[m][0])}
    needs |= {c for m in models if m in _TOUCH_WEIGHT for c in _TOUCH_WEIGHT[m][1]}
    facts = ", ".join(f"{expr} as {name}" for name, expr in _JOURNEY_FACTS.items() if name in needs)
    counts, journey_weights, touch_weights = [], [], []
    for m in models:
        if m in _TOUCH_WEIGHT:
            touch_weights.append(f"{_TOUCH_WEIGHT[m][0]} as {m}")
            continue
        milestones, share = _MILESTONES[m]
        counts.append(f"{_distinct_milestones(milestones)} as {m}_m")
        journey_weights.append(
            f"case when n = {m}_m then 1.0 / n else {share} / {m}_m end as {m}_milestone, "
            f"case when n > {m}_m then {1 - share:.1f} / (n - {m}_m) end as {m}_rest"
        )
        is_milestone = " or ".join(f"k = {c}" for c in milestones)
        touch_weights.append(f"case when {is_milestone} then {m}_milestone else {m}_rest end as {m}")
    return f"""
    journey_facts as (
        select journey_id, {facts}
        from touches
        group by journey_id
    ),
    milestone_counts as (
        select *{"".join(f", {c}" for c in counts)}
        from journey_facts
    ),
    journey_weights as (
        select f.*{"".join(f", {w}" for w in journey_weights)}, v.conversions, v.revenue, v.month{
        ", v.close_date" if week else ""
    }
        from milestone_counts as f
        join conversions as v on v.journey_id = f.journey_id
    ),
    weights as (
        select t.journey_id, t.key, j.month,{f" {TOUCH_WEEK} as week," if week else ""} j.conversions, j.revenue, {
        ", ".join(touch_weights)
    }
        from touches as t
        join journey_weights as j on j.journey_id = t.journey_id
    )"""


def _period(split: str | bool | None) -> str | None:
    """``"month"``, ``"week"`` or None from a split (``True``: the month, as ``by_month`` says)."""
    if split is True:
        return "month"
    if not split:
        return None
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}")
    return split


# An unattributed conversion has no touch: its week is its close date's.
_CLOSE_WEEK = "cast(date_trunc('week', close_date) as date)"


def unattributed_cte(split: str | bool | None, attributed: str = "journey_facts") -> str:
    """CTE ``unattributed``: conversions and revenue (per month or week) of the conversions whose
    journey is not in ``attributed`` (a relation with ``journey_id``): those without an eligible
    touch. Without a touch, such a conversion's week is the week of its close date."""
    period = _period(split)
    if period is None:
        select, group = "", ""
    elif period == "month":
        select, group = "month, ", "group by month"
    else:
        select, group = f"{_CLOSE_WEEK} as week, ", f"group by {_CLOSE_WEEK}"
    return f"""
    unattributed as (
        select {select}cast(coalesce(sum(conversions), 0) as double) as conversions,
               coalesce({exact_sum("revenue")}, 0) as revenue
        from conversions as v
        where not exists (select 1 from {attributed} as a where a.journey_id = v.journey_id)
        {group}
    )"""


def rule_credits_sql(models: Sequence[str], split: str | bool | None) -> str:
    """The credit statement for ``models`` (a template over ``{journeys}``): per key (and close
    month, or touch week), ``<model>_conversions, <model>_revenue`` for each model, and the
    ``$unattributed`` row."""
    period = _period(split)
    month = f"{period}, " if period else ""
    sums = ",\n               ".join(
        f"{exact_sum(f'{m} * conversions')} as {m}_conversions, {exact_sum(f'{m} * revenue')} as {m}_revenue"
        for m in models
    )
    return f"""
with
    {{journeys}},{weights_ctes(models, week=period == "week")},{unattributed_cte(period)},
    credited as (
        select key, {month}{sums}
        from weights
        group by key{f", {period}" if period else ""}
    )
select * from credited
union all
select $unattributed, {month}{", ".join("conversions, revenue" for _ in models)}
from unattributed
"""


RULE_CREDITS = Query(
    "attribution.rule_credits",
    rule_credits_sql(RULE_MODELS, False).replace("{journeys}", WINDOW_JOURNEYS.strip()),
    "Credit per key under every rule-based model, and the (unattributed) row, for a window "
    "($by, $lookback, $close_from, $close_to; $half_life, $unattributed). The engine composes it for the models asked.",
)
RULE_CREDITS_BY_MONTH = Query(
    "attribution.rule_credits_by_month",
    rule_credits_sql(RULE_MODELS, True).replace("{journeys}", WINDOW_JOURNEYS.strip()),
    "The same per key and close month.",
)
RULE_CREDITS_BY_WEEK = Query(
    "attribution.rule_credits_by_week",
    rule_credits_sql(RULE_MODELS, "week").replace("{journeys}", WINDOW_JOURNEYS.strip()),
    "The same per key and week of the credited touch (the Monday; an unattributed deal by its close week): "
    "the response curves' revenue, dated like the spend that bought the touch.",
)
_REGISTERED = {None: RULE_CREDITS, "month": RULE_CREDITS_BY_MONTH, "week": RULE_CREDITS_BY_WEEK}


def rule_query(journeys: Journeys, models: Sequence[str], split: str | bool | None) -> Query:
    """The statement that credits ``models`` on ``journeys``: the registered one when it is that."""
    period = _period(split)
    sql = journeys.sql(rule_credits_sql(models, period))
    registered = _REGISTERED[period]
    if sql == registered.sql:
        return registered
    return named(f"{registered.name} ({', '.join(models)}; {journeys.source} journeys)", sql)


def params(half_life_days: float) -> dict:
    return {"half_life": float(half_life_days), "unattributed": UNATTRIBUTED}


def rule_credit_rows(
    journeys: Journeys, models: Sequence[str], half_life_days: float, split: str | bool | None
) -> list[tuple]:
    """``(key, [month or week,] model, attributed_conversions, attributed_revenue)`` for every key
    (including ``(unattributed)``) and model, unsorted."""
    result = rows(journeys.con, rule_query(journeys, models, split), {**journeys.params, **params(half_life_days)})
    lead = 2 if _period(split) else 1
    return [(*row[:lead], m, row[lead + 2 * i], row[lead + 2 * i + 1]) for row in result for i, m in enumerate(models)]


def journey_weights_sql(models: Sequence[str]) -> str:
    """Per journey and key, the summed weight under each of ``models`` (for the bootstrap)."""
    sums = ", ".join(f"{exact_sum(m)} as {m}" for m in models)
    return f"""
with
    {{journeys}},{weights_ctes(models)}
select journey_id, key, {sums}
from weights
group by journey_id, key
"""


JOURNEY_WEIGHTS = Query(
    "attribution.journey_weights",
    journey_weights_sql(RULE_MODELS).replace("{journeys}", WINDOW_JOURNEYS.strip()),
    "Per journey and key, its weight under every rule-based model (the bootstrap's input).",
)


def journey_weights_query(journeys: Journeys, models: Sequence[str]) -> Query:
    sql = journeys.sql(journey_weights_sql(models))
    if sql == JOURNEY_WEIGHTS.sql:
        return JOURNEY_WEIGHTS
    return named(f"{JOURNEY_WEIGHTS.name} ({', '.join(models)}; {journeys.source} journeys)", sql)


_DEAL_WEIGHTS = """
with
    {journeys},{weights}
select journey_id, {conversions} as credited_conversions, {revenue} as credited_revenue
from weights
where key = $value
group by journey_id
order by journey_id
"""


def deal_weights_query(journeys: Journeys, model: str) -> Query:
    """Per won deal with a touch on ``$value``, its credit to that key under the rule model ``model``."""
    sql = (
        _DEAL_WEIGHTS.replace("{weights}", weights_ctes([model]))
        .replace("{conversions}", exact_sum(f"{model} * conversions"))
        .replace("{revenue}", exact_sum(f"{model} * revenue"))
    )
    return named(f"attribution.deal_credits ({model}; {journeys.source} journeys)", journeys.sql(sql))


DEAL_CREDITS = Query(
    "attribution.deal_credits",
    _DEAL_WEIGHTS.replace("{weights}", weights_ctes(["linear"]))
    .replace("{conversions}", exact_sum("linear * conversions"))
    .replace("{revenue}", exact_sum("linear * revenue"))
    .replace("{journeys}", WINDOW_JOURNEYS.strip()),
    "Each won deal's linear credit to the key $value (the ROI drill-down; other models swap the weight).",
)


_DEAL_KEY_WEIGHTS = """
with
    {journeys},{weights}
select w.journey_id, v.opportunity_id, w.key, {conversions} as credited_conversions, {revenue} as credited_revenue
from weights as w
join conversions as v on v.journey_id = w.journey_id
group by w.journey_id, v.opportunity_id, w.key
order by w.journey_id, w.key
"""


def deal_key_weights_query(journeys: Journeys, model: str) -> Query:
    """Per won deal and key, the deal's credit to the key under the rule model ``model``."""
    sql = (
        _DEAL_KEY_WEIGHTS.replace("{weights}", weights_ctes([model]))
        .replace("{conversions}", exact_sum(f"w.{model} * w.conversions"))
        .replace("{revenue}", exact_sum(f"w.{model} * w.revenue"))
    )
    return named(f"attribution.deal_key_credits ({model}; {journeys.source} journeys)", journeys.sql(sql))


DEAL_KEY_CREDITS = Query(
    "attribution.deal_key_credits",
    _DEAL_KEY_WEIGHTS.replace("{weights}", weights_ctes(["linear"]))
    .replace("{conversions}", exact_sum("w.linear * w.conversions"))
    .replace("{revenue}", exact_sum("w.linear * w.revenue"))
    .replace("{journeys}", WINDOW_JOURNEYS.strip()),
    "Each won deal's linear credit to every key (the CRM's deal push; other models swap the weight).",
)
