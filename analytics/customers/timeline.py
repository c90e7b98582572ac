"""A contact's unified timeline: every touchpoint, email, content event and opportunity, in order."""

from __future__ import annotations

import polars as pl

from analytics.warehouse.runner import run


def contact_timeline(con, contact_id: str) -> pl.DataFrame:
    """A contact's unified timeline (the spec's ``trackTouchpoint`` view).

    Touchpoints, email events, content events and the contact's opportunities (created
    and closed), as ``ts, source, event, channel, campaign_id, detail``, oldest first.
    """
    return run(
        con,
        """
        with events as (
            select ts, 'touchpoint' as source, touchpoint_type as event, channel, campaign_id,
                   'engagement ' || coalesce(engagement_score::varchar, '-') as detail
            from touchpoints where contact_id = $contact
            union all
            select e.ts, 'email', e.event_type, 'email', e.campaign_id, null
            from email_events as e where e.contact_id = $contact
            union all
            select ts, 'content', kind, null, null, null from content_events where contact_id = $contact
            union all
            select created_at, 'opportunity', 'created', null, null, opportunity_id || ' ' || coalesce(name, '')
            from opportunities where contact_id = $contact and created_at is not null
            union all
            select close_date::timestamp, 'opportunity', coalesce(stage, 'closed'), null, null,
                   opportunity_id || ' amount ' || coalesce(amount::varchar, '-')
            from opportunities where contact_id = $contact and is_closed
        )
        select * from events order by ts, source, event
        """,
        {"contact": contact_id},
    )


# The vocabulary of a timeline row's event, by its source (analytics.core.labels).
EVENT_KINDS = {
    "touchpoint": "touchpoint_type",
    "email": "email_event",
    "content": "content_kind",
    "opportunity": "deal_stage",
}
SOURCE_LABELS = {"touchpoint": "Touchpoint", "email": "Email", "content": "Content", "opportunity": "Deal"}


def readable_timeline(timeline: pl.DataFrame, campaign_names: dict[str, str] | None = None) -> pl.DataFrame:
    """A timeline as people read it: ``ts, source, event, channel, campaign, detail, campaign_id`` with the
    source, event and channel as labels, the campaign's name beside its id, and a deal's name and amount
    (not its id) as its detail."""
    from analytics.core.labels import label

    names = campaign_names or {}
    events = {
        (source, event): label(EVENT_KINDS.get(source, "event"), event)
        for source, event in timeline.select("source", "event").unique().iter_rows()
        if event is not None
    }

    def detail(row: dict) -> str | None:
        # an opportunity's detail is "<id> <name>" or "<id> amount <amount>": the deal, without its id
        text = row["detail"]
        if row["source"] != "opportunity" or not text:
            return text
        _, _, rest = text.partition(" ")
        if rest.startswith("amount "):
            amount = rest.removeprefix("amount ")
            try:
                return f"Amount ${float(amount):,.0f}"
            except ValueError:
                return f"Amount {amount}"
        return rest or None

    return timeline.select(
        "ts",
        pl.col("source").replace_strict(SOURCE_LABELS, default=pl.col("source")),
        pl.struct("source", "event")
        .map_elements(lambda row: events.get((row["source"], row["event"]), row["event"]), pl.String)
        .alias("event"),
        pl.col("channel").map_elements(lambda c: label("channel", c), pl.String),
        pl.col("campaign_id").replace_strict(names, default=pl.col("campaign_id")).alias("campaign"),
        pl.struct("source", "detail").map_elements(detail, pl.String).alias("detail"),
        "campaign_id",
    )
