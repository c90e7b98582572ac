"""Names for ids: what the pages show instead of ``CMP006``, ``ACC0000042``, ``CON0001234``, ``REP0000003``.

Each function returns ``{id: name}``; an id without a name (a campaign imported without
one, a contact without first and last name) maps to its id, so a page never shows an
empty label. Contacts are looked up only for the ids asked (a warehouse may hold millions).
"""

from __future__ import annotations

from collections.abc import Iterable

from analytics.warehouse.runner import Query, rows

CAMPAIGN_NAMES = Query(
    "names.campaigns",
    """
with
    named as (
        select campaign_id, coalesce(nullif(trim(name), ''), campaign_id) as name, channel
        from campaigns
    )
select campaign_id, name, channel from named order by campaign_id
""",
    "Every campaign's id, name (its id when it has none) and channel.",
)

ACCOUNT_NAMES = Query(
    "names.accounts",
    """
with
    named as (
        select account_id, coalesce(nullif(trim(name), ''), account_id) as name
        from accounts
    )
select account_id, name from named order by account_id
""",
    "Every account's id and name (its id when it has none).",
)

CONTACT_NAMES = Query(
    "names.contacts",
    """
with
    asked as (
        select unnest($ids::varchar[]) as contact_id
    ),
    named as (
        select c.contact_id,
               coalesce(nullif(trim(concat_ws(' ', c.first_name, c.last_name)), ''), c.email, c.contact_id) as name
        from contacts as c
        join asked using (contact_id)
    )
select contact_id, name from named
""",
    "The names of the contacts asked for ($ids): first and last name, else the email, else the id.",
)

CONTACT_DESCRIPTIONS = Query(
    "names.contact_descriptions",
    """
with
    asked as (
        select unnest($ids::varchar[]) as contact_id
    ),
    described as (
        select c.contact_id,
               coalesce(nullif(trim(concat_ws(' ', c.first_name, c.last_name)), ''), c.email, c.contact_id) as name,
               coalesce(a.name, nullif(trim(c.company), ''), c.email) as organisation
        from contacts as c
        join asked using (contact_id)
        left join accounts as a on a.account_id = c.account_id
    )
select contact_id, case when organisation is null or organisation = name then name
                        else name || ' · ' || organisation end as description
from described
""",
    "The contacts asked for ($ids) as people tell them apart: name and account (else company, else email).",
)

REP_NAMES = Query(
    "names.reps",
    """
with
    named as (
        select rep_id, coalesce(nullif(trim(name), ''), rep_id) as name
        from sales_reps
    )
select rep_id, name from named order by rep_id
""",
    "Every sales rep's id and name.",
)


def campaign_names(con) -> dict[str, str]:
    """``{campaign_id: name}`` of every campaign."""
    return {campaign_id: name for campaign_id, name, _ in rows(con, CAMPAIGN_NAMES)}


def campaign_channels(con) -> dict[str, str | None]:
    """``{campaign_id: channel}`` of every campaign."""
    return {campaign_id: channel for campaign_id, _, channel in rows(con, CAMPAIGN_NAMES)}


def account_names(con) -> dict[str, str]:
    """``{account_id: name}`` of every account."""
    return dict(rows(con, ACCOUNT_NAMES))


def contact_names(con, ids: Iterable[str]) -> dict[str, str]:
    """``{contact_id: name}`` for ``ids`` (unknown ids map to themselves)."""
    ids = [i for i in dict.fromkeys(ids) if i is not None]
    if not ids:
        return {}
    found = dict(rows(con, CONTACT_NAMES, {"ids": ids}))
    return {i: found.get(i, i) for i in ids}


def contact_descriptions(con, ids: Iterable[str]) -> dict[str, str]:
    """``{contact_id: "Ben Tanaka · Orbit Robotics"}`` for ``ids``: two contacts of one name differ by account."""
    ids = [i for i in dict.fromkeys(ids) if i is not None]
    if not ids:
        return {}
    found = dict(rows(con, CONTACT_DESCRIPTIONS, {"ids": ids}))
    return {i: found.get(i, i) for i in ids}


def rep_names(con) -> dict[str, str]:
    """``{rep_id: name}`` of every sales rep."""
    return dict(rows(con, REP_NAMES))


def named(names: dict[str, str], value: str | None) -> str:
    """The name of ``value`` (the value itself when it has none; "—" for None)."""
    if value is None:
        return "—"
    return names.get(value, value)
