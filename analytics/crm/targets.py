"""What the pages push to HubSpot: targets built in SQL from the warehouse, ready for :func:`analytics.crm.actions.queue.enqueue`.

* :func:`attribution_targets` (the spec's ``syncAttributionToCRM``): per contact, the
  closed-won revenue its campaign touches earned, and its last campaign interaction.
* :func:`campaign_audience` (follow-up campaigns): the contacts engaged by a campaign,
  to add to a HubSpot list from the ROI page's campaign drill-down.

Both return polars frames (for the preview) and :func:`frame_to_targets` turns a frame
into outbox targets.
"""

from __future__ import annotations

from datetime import date

import duckdb
import polars as pl

from analytics.attribution.definitions import days_before, eligible, won_in_window
from analytics.warehouse.runner import Query, run

ATTRIBUTED_REVENUE = "marketing_platform_attributed_revenue"
LAST_CAMPAIGN_INTERACTION = "last_campaign_interaction"


ATTRIBUTION_TARGETS = Query(
    "crm.attribution_targets",
    f"""
with
    won as (
        select o.opportunity_id, o.contact_id, o.amount, o.close_date
        from opportunities as o
        where {won_in_window("o")}
    ),
    eligible_won as (
        select distinct won.opportunity_id, won.contact_id, won.amount
        from won
        join touchpoints as t on t.contact_id = won.contact_id
        where {eligible(days_before("t.ts", "won.close_date"))}
    ),
    revenue as (
        select contact_id, sum(amount) as attributed_revenue, count(*) as won_deals
        from eligible_won
        group by contact_id
    ),
    last_touch as (
        select t.contact_id,
               c.name || ' (' || t.channel || ', ' || strftime(t.ts, '%Y-%m-%d') || ')'
                   as last_campaign_interaction
        from touchpoints as t
        join campaigns as c using (campaign_id)
        where t.contact_id in (select contact_id from revenue) and cast(t.ts as date) <= $close_to
        qualify row_number() over (partition by t.contact_id order by t.ts desc, t.touchpoint_id desc) = 1
    )
select contacts.contact_id, contacts.hubspot_id, contacts.email, revenue.attributed_revenue,
       revenue.won_deals, last_touch.last_campaign_interaction
from revenue
join contacts using (contact_id)
left join last_touch using (contact_id)
where contacts.hubspot_id is not null
order by revenue.attributed_revenue desc, contacts.contact_id
""",
    "Per contact with a HubSpot id: the revenue of its won deals with an eligible touch, and its last "
    "campaign interaction ($close_from, $close_to, $lookback).",
)


def attribution_targets(
    con: duckdb.DuckDBPyConnection, close_from: date, close_to: date, lookback_days: int = 90
) -> pl.DataFrame:
    """Per contact with a HubSpot id: attributed revenue and last campaign interaction.

    A won deal of contact *c* closing in ``[close_from, close_to]``
    (:func:`~analytics.attribution.definitions.won_in_window`) is attributed when *c* has at
    least one eligible touch (:func:`~analytics.attribution.definitions.eligible`:
    ``0 <= close_date - date(ts) <= lookback_days``, the attribution engine's rule, contact
    level). Every model splits such a deal's amount over *c*'s eligible touches with weights
    summing to 1, so whatever the model, *c*'s share is

    .. math:: attributed\\_revenue(c) = \\sum_{o \\in won(c),\\ eligible(o)} amount(o)

    ``last_campaign_interaction`` is "<campaign name> (<channel>, YYYY-MM-DD)" of *c*'s
    latest touch with a campaign on or before ``close_to`` (ties: the larger touchpoint id).

    Returns
    -------
    polars.DataFrame
        contact_id, hubspot_id, email, attributed_revenue, won_deals, last_campaign_interaction;
        contacts without a HubSpot id are left out (they cannot be updated).
    """
    return run(con, ATTRIBUTION_TARGETS, {"close_from": close_from, "close_to": close_to, "lookback": lookback_days})


def campaign_audience(
    con: duckdb.DuckDBPyConnection, campaign_id: str, start: date, end: date, min_engagement: float = 0.0
) -> pl.DataFrame:
    """Contacts engaged by ``campaign_id`` between ``start`` and ``end`` (inclusive).

    Engaged: at least one touch of the campaign in the window with
    ``engagement_score >= min_engagement`` (a null score counts as 0).

    Returns
    -------
    polars.DataFrame
        contact_id, hubspot_id, email, touches, last_touch; contacts without a HubSpot id
        are left out.
    """
    return run(
        con,
        """
        with engaged as (
            select contact_id, count(*) as touches, max(ts) as last_touch
            from touchpoints
            where campaign_id = $campaign_id
              and cast(ts as date) between $start and $end
              and coalesce(engagement_score, 0) >= $min_engagement
            group by contact_id
        )
        select contacts.contact_id, contacts.hubspot_id, contacts.email, engaged.touches, engaged.last_touch
        from engaged
        join contacts using (contact_id)
        where contacts.hubspot_id is not null
        order by engaged.last_touch desc, contacts.contact_id
    """,
        {"campaign_id": campaign_id, "start": start, "end": end, "min_engagement": min_engagement},
    )


def frame_to_targets(frame_: pl.DataFrame, properties: dict[str, str] | None = None) -> list[dict]:
    """Outbox targets from a frame with ``hubspot_id`` (and ``email``).

    ``properties`` maps HubSpot property names to frame columns; without it the targets
    carry only the contact's identity (for list adds, tasks).
    """
    targets = []
    for row in frame_.iter_rows(named=True):
        target = {"hubspot_id": row["hubspot_id"]}
        if row.get("email"):
            target["email"] = row["email"]
        if properties:
            target["properties"] = {name: row[column] for name, column in properties.items() if row[column] is not None}
        targets.append(target)
    return targets


def attribution_properties() -> dict[str, str]:
    """HubSpot property -> column of :func:`attribution_targets`."""
    return {ATTRIBUTED_REVENUE: "attributed_revenue", LAST_CAMPAIGN_INTERACTION: "last_campaign_interaction"}
