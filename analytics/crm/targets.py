"""What the pages push to HubSpot: targets built in SQL from the warehouse, ready for :func:`analytics.crm.actions.queue.enqueue`.

* :func:`attribution_targets` (the spec's ``syncAttributionToCRM``): per contact, the
  closed-won revenue its own campaign touches are credited under a model, and its last
  campaign interaction;
* :func:`deal_attribution_targets` (``syncAttributionToCRM(opportunityId, attribution)``): per
  won deal, the campaigns a model credits it to, with their shares, and the model.
* :func:`campaign_audience` (follow-up campaigns): the contacts engaged by a campaign,
  to add to a HubSpot list from the ROI page's campaign drill-down.

Both return polars frames (for the preview) and :func:`frame_to_targets` turns a frame
into outbox targets.
"""

from __future__ import annotations

from datetime import date

import duckdb
import polars as pl

from analytics.warehouse.runner import Query, example_params, run

ATTRIBUTED_REVENUE = "marketing_platform_attributed_revenue"
LAST_CAMPAIGN_INTERACTION = "last_campaign_interaction"


ATTRIBUTION_TARGETS = Query(
    "crm.attribution_targets",
    """
with
    credited as (
        select unnest($ids::varchar[]) as contact_id
    ),
    last_touch as (
        select t.contact_id,
               c.name || ' (' || t.channel || ', ' || strftime(t.ts, '%Y-%m-%d') || ')'
                   as last_campaign_interaction
        from touchpoints as t
        join campaigns as c using (campaign_id)
        where t.contact_id in (select contact_id from credited) and cast(t.ts as date) <= $close_to
        qualify row_number() over (partition by t.contact_id order by t.ts desc, t.touchpoint_id desc) = 1
    )
select contacts.contact_id, contacts.hubspot_id, contacts.email, last_touch.last_campaign_interaction
from credited
join contacts using (contact_id)
left join last_touch using (contact_id)
where contacts.hubspot_id is not null
""",
    "Per credited contact ($ids) with a HubSpot id: its identity and last campaign interaction on or before $close_to.",
)


def _campaign_window(close_from: date, close_to: date, lookback_days: int, account_level: bool, segments):
    """The journeys by campaign of the won deals closing in ``[close_from, close_to]`` that a push credits."""
    from analytics.attribution.window import JourneyWindow

    return JourneyWindow(
        by="campaign",
        lookback_days=lookback_days,
        account_level=account_level,
        close_from=close_from,
        close_to=close_to,
        segments=tuple(segments),
    )


def attribution_targets(
    con: duckdb.DuckDBPyConnection,
    close_from: date,
    close_to: date,
    lookback_days: int = 90,
    *,
    model: str = "linear",
    account_level: bool = True,
    segments: tuple[str, ...] = (),
    half_life_days: float = 7.0,
    order: int = 1,
) -> pl.DataFrame:
    """Per contact with a HubSpot id: the revenue its own campaign touches are credited under ``model``,
    and its last campaign interaction (the spec's ``syncAttributionToCRM`` for contacts).

    ``attributed_revenue`` is :func:`analytics.attribution.engine.contact_credits` by campaign: for
    every won deal closing in ``[close_from, close_to]`` (of accounts in ``segments``; empty: all),
    the model's weights on the deal's eligible touches (``0 <= close_date - date(ts) <=
    lookback_days``), summed over the touches the contact made. With ``account_level`` (the
    default) a deal's journey holds the touches of every contact of its account, so the credit
    is the model's: under first touch the contact who touched first earns the deal, under linear
    each contact earns its share of the touches. At contact level every touch is the deal's own
    contact's, and the value is its won revenue under every model. ``won_deals`` counts the deals
    whose journey has a touch of the contact.

    ``last_campaign_interaction`` is "<campaign name> (<channel>, YYYY-MM-DD)" of the contact's
    latest touch with a campaign on or before ``close_to`` (ties: the larger touchpoint id).

    Returns
    -------
    polars.DataFrame
        contact_id, hubspot_id, email, attributed_revenue, won_deals, last_campaign_interaction,
        model; largest credit first; contacts without a HubSpot id are left out (they cannot be
        updated), and so are contacts credited nothing.
    """
    from analytics.attribution.engine import contact_credits

    window = _campaign_window(close_from, close_to, lookback_days, account_level, segments)
    credits = contact_credits(con, model, window, half_life_days=half_life_days, order=order).filter(
        pl.col("credited_revenue") > 0
    )
    identity = run(con, ATTRIBUTION_TARGETS, {"ids": credits["contact_id"].to_list(), "close_to": close_to})
    return (
        credits.join(identity, on="contact_id")
        .select(
            "contact_id",
            "hubspot_id",
            "email",
            pl.col("credited_revenue").alias("attributed_revenue"),
            pl.col("deals").alias("won_deals"),
            "last_campaign_interaction",
            pl.lit(model).alias("model"),
        )
        .sort("attributed_revenue", "contact_id", descending=[True, False])
    )


DEAL_IDENTITY = Query(
    "crm.deal_identity",
    """
with
    credited as (
        select unnest($ids::varchar[]) as opportunity_id
    )
select o.opportunity_id, o.hubspot_id, o.name as deal_name, a.name as account_name, o.amount, o.close_date
from credited
join opportunities as o using (opportunity_id)
left join accounts as a on a.account_id = o.account_id
where o.hubspot_id is not null
""",
    "The HubSpot id, name, account, amount and close date of the deals asked for ($ids).",
)


@example_params("crm.attribution_targets")
def _example_contacts(con) -> dict:
    return {"ids": [r[0] for r in con.execute("select contact_id from contacts order by 1 limit 3").fetchall()]}


@example_params("crm.deal_identity")
def _example_deals(con) -> dict:
    return {
        "ids": [r[0] for r in con.execute("select opportunity_id from opportunities order by 1 limit 3").fetchall()]
    }


def deal_attribution_targets(
    con: duckdb.DuckDBPyConnection,
    close_from: date,
    close_to: date,
    lookback_days: int = 90,
    *,
    model: str = "linear",
    account_level: bool = False,
    segments: tuple[str, ...] = (),
    half_life_days: float = 7.0,
    order: int = 1,
    top: int = 5,
) -> pl.DataFrame:
    """Per won deal with a HubSpot id: the campaigns ``model`` credits it to, with their shares (the spec's
    ``syncAttributionToCRM(opportunityId, attribution)``), for the deal properties
    ``marketing_platform_attributed_campaigns`` and ``marketing_platform_attribution_model``.

    A deal's campaign credit is :func:`analytics.attribution.engine.deal_key_credits` by campaign;
    its share of a campaign is that credit over the deal's credit to all its campaigns (so a deal's
    shares sum to 100%; under Markov and Shapley, which credit a campaign for the window as a whole,
    the deal's shares follow its linear weights scaled by each campaign's chain credit).
    ``attributed_campaigns`` lists the ``top`` largest shares as "<name> 60%; <name> 40%", and
    "+ N more" when there are more; touches without a campaign are left out.

    Returns
    -------
    polars.DataFrame
        opportunity_id, hubspot_id, deal_name, account_name, amount, close_date, campaigns (how many),
        attributed_campaigns, attributed_revenue (the credit the model gives the deal's campaigns), model.
    """
    from analytics.attribution.engine import deal_key_credits
    from analytics.warehouse.names import campaign_names

    window = _campaign_window(close_from, close_to, lookback_days, account_level, segments)
    credits = deal_key_credits(con, model, window, half_life_days=half_life_days, order=order).filter(
        pl.col("key") != "(none)", pl.col("credited_revenue") > 0
    )
    names = campaign_names(con)
    shares = (
        credits.with_columns(
            (pl.col("credited_revenue") / pl.col("credited_revenue").sum().over("opportunity_id")).alias("share"),
            pl.col("key").replace_strict(names, default=pl.col("key")).alias("campaign_name"),
        )
        .sort("opportunity_id", "share", "campaign_name", descending=[False, True, False])
        .with_columns(pl.int_range(pl.len()).over("opportunity_id").alias("_rank"))
    )
    listed = (
        shares.group_by("opportunity_id", maintain_order=True)
        .agg(
            pl.len().alias("campaigns"),
            pl.col("credited_revenue").sum().alias("attributed_revenue"),
            pl.concat_str(
                pl.col("campaign_name"), pl.lit(" "), (pl.col("share") * 100).round(0).cast(pl.Int64), pl.lit("%")
            )
            .filter(pl.col("_rank") < top)
            .str.join("; ")
            .alias("attributed_campaigns"),
        )
        .with_columns(
            pl.when(pl.col("campaigns") > top)
            .then(pl.col("attributed_campaigns") + pl.format("; + {} more", pl.col("campaigns") - top))
            .otherwise(pl.col("attributed_campaigns"))
            .alias("attributed_campaigns")
        )
    )
    identity = run(con, DEAL_IDENTITY, {"ids": listed["opportunity_id"].to_list()})
    return (
        identity.join(listed, on="opportunity_id")
        .select(
            "opportunity_id",
            "hubspot_id",
            "deal_name",
            "account_name",
            "amount",
            "close_date",
            "campaigns",
            "attributed_campaigns",
            "attributed_revenue",
            pl.lit(model).alias("model"),
        )
        .sort("close_date", "opportunity_id", descending=[True, False])
    )


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


ATTRIBUTED_CAMPAIGNS = "marketing_platform_attributed_campaigns"
ATTRIBUTION_MODEL = "marketing_platform_attribution_model"


def deal_attribution_properties() -> dict[str, str]:
    """HubSpot deal property -> column of :func:`deal_attribution_targets`."""
    return {ATTRIBUTED_CAMPAIGNS: "attributed_campaigns", ATTRIBUTION_MODEL: "model"}
