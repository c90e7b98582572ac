"""Each lead's decayed engagement sums, built once per load (``_lead_engagement``) for the live score.

The live rule score (:mod:`analytics.sales.scoring`) needs, for every engagement rule ``r``
(event kind, half-life ``h_r``) and every lead, over the lead's events ``i`` of that kind up
to 'now':

.. math:: D_r(now) = \\sum_i 0.5^{(now - t_i)/h_r} = \\sum_i e^{-\\lambda_r (now - t_i)},
          \\quad \\lambda_r = \\ln 2 / h_r

with the count ``n`` and the latest event. Summing that over the ~14M event rows is most of
the scoring's work, and it changes only when events arrive, that is at a load. Because the
decay is exponential it factorizes: for a reference time ``t_0`` and any ``now ≥ t_0``

.. math:: D_r(now) = e^{-\\lambda_r (now - t_0)} \\cdot D_r(t_0)

so every load stores ``D_r(t_0)``, ``n`` and the latest event at ``t_0`` = the load's 'now'
(:func:`analytics.sales.features.data_end`), and the scorer rescales them to its own 'now'.
The stored sums cover the events with ``t_i ≤ t_0``; they are exact (to float rounding) for
any 'now' in ``[t_0, t_next)``, where ``t_next`` is the first event after ``t_0`` (some
sources can run past the warehouse's 'now'): outside that window, or for leads scored as
they looked earlier (backtests, training, replays), the scorer sums the events inline.
(The rules' decay is per event with a half-life; there are no step decays to rescale.)

Which sums are stored: one per (event kind, half-life) of the rules file in use at the load
(:func:`analytics.sales.rules.load_rules`; the shipped rules when that file cannot be read).
Rules edited after the load (the Leads page's editor, another ``--rules`` file) whose pair
is not stored are summed inline, the others still come from the table.

Tables: ``_lead_engagement`` (``contact_id``, ``sum_<event>_<half-life>``, ``n_<event>``,
``last_<event>``: one row per contact) and ``_lead_engagement_window`` (``as_of`` = ``t_0``,
``next_event_at`` = ``t_next`` or null).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from analytics.core.errors import RevLensError
from analytics.sales.features import EVENTS, WAREHOUSE_SHAPE, Shape, data_end, source_rows_cte
from analytics.sales.rules import DEFAULT_RULES_PATH, Rules, load_rules
from analytics.warehouse.derived import DerivedTables
from analytics.warehouse.runner import Query, execute, rows, scalar

ENGAGEMENT_TABLE = "_lead_engagement"
WINDOW_TABLE = "_lead_engagement_window"
EVENT_SOURCES = ("touch", "email", "page", "content")
SOURCE_TABLES = {"touch": "touchpoints", "email": "email_events", "page": "page_views", "content": "content_events"}

STORED_COLUMNS = Query(
    "sales.engagement_columns",
    """
    select column_name
    from information_schema.columns
    where table_schema = 'main' and table_name = '_lead_engagement'
    """,
    "the decayed sums, counts and latest events stored per lead at the last load",
)

STORED_WINDOW = Query(
    "sales.engagement_window",
    "select as_of, next_event_at from _lead_engagement_window",
    "the time the stored engagement sums are taken at, and the first event after it",
)


def decay_rate(half_life_days: float) -> float:
    """``λ = ln 2 / h`` per second: an event ``h`` days old counts half."""
    return math.log(2) / (86400.0 * half_life_days)


def epoch_seconds(moment: datetime) -> float:
    """Seconds since 1970 of a naive warehouse timestamp (read as UTC, as DuckDB's ``epoch`` does)."""
    return float(moment.replace(tzinfo=UTC).timestamp())


def sum_column(event: str, half_life_days: float) -> str:
    """The stored decayed sum's column: ``sum_email_click_14_0`` (the half-life's digits kept exactly)."""
    digits = re.sub(
        r"[^0-9a-z]", lambda m: {".": "_", "-": "m", "+": "p"}.get(m.group(), ""), repr(float(half_life_days))
    )
    return f"sum_{event}_{digits}"


def decayed_sum(event: str, rate: str, reference: str) -> str:
    """SQL of one event kind's decayed sum over ``e`` (a source's rows): ``Σ exp(rate · (t_i − reference))``."""
    return f"sum(case when {EVENTS[event].predicate} then exp({rate} * (epoch(e.ts) - {reference})) end)"


def event_count(event: str) -> str:
    return f"count(case when {EVENTS[event].predicate} then 1 end)"


def latest_event(event: str) -> str:
    return f"max(case when {EVENTS[event].predicate} then e.ts end)"


@dataclass(frozen=True)
class StoredEngagement:
    """What the last load stored: its columns, ``as_of`` (``t_0``) and ``next_event_at`` (``t_next``)."""

    columns: frozenset[str]
    as_of: datetime | None
    next_event_at: datetime | None

    def covers(self, now: datetime) -> bool:
        """Whether the stored sums hold exactly the events up to ``now`` (``t_0 ≤ now < t_next``)."""
        return self.as_of is not None and self.as_of <= now and (self.next_event_at is None or now < self.next_event_at)

    def has(self, event: str, half_life_days: float) -> bool:
        return {sum_column(event, half_life_days), f"n_{event}", f"last_{event}"} <= self.columns

    def scale(self, half_life_days: float, now: datetime) -> float:
        """``exp(−λ (now − t_0))``: the stored sum times this is the sum at ``now`` (1.0 at ``t_0``)."""
        return math.exp(decay_rate(half_life_days) * (epoch_seconds(self.as_of) - epoch_seconds(now)))


def stored_engagement(con) -> StoredEngagement | None:
    """The stored engagement sums when they are current for the warehouse's version (else None)."""
    if not hasattr(con, "execute") or not LEAD_ENGAGEMENT.current(con):
        return None
    window = rows(con, STORED_WINDOW)
    as_of, next_event_at = window[0] if window else (None, None)
    return StoredEngagement(frozenset(c for (c,) in rows(con, STORED_COLUMNS)), as_of, next_event_at)


def stored_pairs(rules: Rules | None = None) -> list[tuple[str, float]]:
    """The (event, half-life) pairs a load stores: those of the rules in use (the shipped ones if unreadable)."""
    if rules is None:
        try:
            rules = load_rules()
        except RevLensError:
            rules = load_rules(DEFAULT_RULES_PATH)
    return sorted({(rule.event, float(rule.half_life_days)) for rule in rules.engagement})


def build_lead_engagement(con, rules: Rules | None = None) -> None:
    """``_lead_engagement`` and ``_lead_engagement_window`` at the load's 'now' (see the module docstring)."""
    shape = Shape(frozenset(t for t, _ in rows(con, WAREHOUSE_SHAPE)), False)
    now = data_end(con)
    pairs = stored_pairs(rules) if now is not None else []
    params = {"now": now, "now_epoch": epoch_seconds(now) if now is not None else 0.0}
    aggregates: dict[str, list[str]] = {}
    for event in sorted({event for event, _ in pairs}):
        source = EVENTS[event].source
        aggregates.setdefault(source, []).extend(
            [f"{event_count(event)} as n_{event}", f"{latest_event(event)} as last_{event}"]
        )
    for j, (event, half_life) in enumerate(pairs):
        params[f"rate_{j}"] = decay_rate(half_life)
        aggregates[EVENTS[event].source].append(
            f"{decayed_sum(event, f'$rate_{j}', '$now_epoch')} as {sum_column(event, half_life)}"
        )
    events = {event for event, _ in pairs}
    # no contact, no lead: the same columns, without scanning every event (a first import of touchpoints)
    no_leads = "" if scalar(con, "select count(*) from (select 1 from contacts limit 1)") else " and false"
    ctes, joins, columns = [], [], []
    for source in sorted(aggregates):
        ctes.append(source_rows_cte(source, events, shape).strip())
        ctes.append(
            f"""{source}_totals as (
        select e.contact_id, {", ".join(aggregates[source])}
        from {source}_rows e
        where e.ts <= $now and e.contact_id in (select contact_id from contacts){no_leads}
        group by e.contact_id
    )"""
        )
        joins.append(f"left join {source}_totals on {source}_totals.contact_id = leads.contact_id")
        columns += [f"{source}_totals.{c.rsplit(' as ', 1)[1]}" for c in aggregates[source]]
    with_ctes = "".join(f"{cte},\n    " for cte in ctes)
    execute(
        con,
        f"""
create or replace table {ENGAGEMENT_TABLE} as
with {with_ctes}leads as (
        select contact_id from contacts group by contact_id
    )
select leads.contact_id{"".join(", " + c for c in columns)}
from leads
{chr(10).join(joins)}
""",
        params,
    )
    present = [SOURCE_TABLES[s] for s in EVENT_SOURCES if SOURCE_TABLES[s] in shape.tables]
    later = " union all ".join(f"select min(ts) as ts from {table} where ts > $now" for table in present)
    execute(
        con,
        f"""
create or replace table {WINDOW_TABLE} as
with later_events as ({later or "select cast(null as timestamp) as ts"})
select cast($now as timestamp) as as_of, min(ts) as next_event_at from later_events
""",
        {"now": now},
    )


# the events' tables, and the contacts (creation times) and touches that set the load's 'now'
LEAD_ENGAGEMENT = DerivedTables(
    "lead_engagement",
    (ENGAGEMENT_TABLE, WINDOW_TABLE),
    build_lead_engagement,
    sources=("contacts", "touchpoints", "email_events", "page_views", "content_events"),
)
