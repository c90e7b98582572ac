"""CRM pull sync: contacts and deals modified in HubSpot since the last cursor, merged into the warehouse.

The spec's "bidirectional CRM synchronization with conflict resolution", pull half (the
push half is the action outbox). ``python -m analytics sync hubspot`` runs it; cron or
the spec's daily ``02:00 crm_contact_sync`` schedules it.

Reading
-------
HubSpot's search API (``crm.contacts.search_api.do_search``, ``crm.deals.search_api``),
filtered ``lastmodifieddate >= cursor`` (deals: ``hs_lastmodifieddate``; the value in epoch
milliseconds, the cursor itself is kept as ISO-8601 UTC; 5 minutes before the cursor, since
the search index trails writes and a late-indexed record must not be missed), sorted ascending,
100 per page. Search stops at 10,000 results per query, so after 9,900 rows the query
restarts from the last modification time seen (rows at that exact time are read again;
the merge is idempotent). Deals' contacts come from the v4 associations batch read.

Conflict rule (per field, when a HubSpot record matches a warehouse row)
------------------------------------------------------------------------
* **HubSpot wins** for the owner (``hubspot_owner_id``, mapped to ``sales_reps.rep_id``
  through ``sales_reps.hubspot_owner_id``; an unknown owner is kept as
  ``hubspot-owner:<id>``) and the lifecycle stage (``lifecyclestage``); for deals also
  the owner.
* **RevLens wins** for the scores it computes (``contacts.lead_score``, and the health
  and attribution figures, which are never read back from HubSpot).
* **Otherwise the latest modification wins**: HubSpot's value replaces the warehouse's
  when HubSpot's last-modified time is later than the row's ``updated_at`` (or the row
  has none); ``updated_at`` becomes the later of the two.

A contact matches on ``hubspot_id``, else on the lowercased email (the match then stores
the HubSpot id); a deal matches on ``hubspot_id``. Records that match nothing are inserted
(``contact_id`` / ``opportunity_id`` = ``hs-<HubSpot id>``).

After the merge the warehouse version is bumped (caches refresh), the cursor advances to
the latest modification time merged, and one ``crm.sync.completed`` event per object type
goes to the event outbox (topics ``lead-capture`` for contacts, ``revenue-attribution``
for deals).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import sqlalchemy as sa

from analytics.core.errors import RevLensError
from analytics.crm.actions.queue import store
from analytics.crm.hubspot import transport as hs
from analytics.loads import finish_load
from analytics.ops.audit import audit
from analytics.ops.events import emit
from analytics.ops.runs import finish_job, start_job
from analytics.ops.store import utcnow
from analytics.ops.tables import sync_cursors
from analytics.warehouse.connection import writing

SOURCE = "hubspot"
PAGE = 100
SEARCH_CAP = 10_000
# HubSpot's search index trails writes by seconds: re-read a little before the cursor (the merge is idempotent).
OVERLAP = timedelta(minutes=5)
MODIFIED = {"contacts": "lastmodifieddate", "deals": "hs_lastmodifieddate"}
PROPERTIES = {
    "contacts": [
        "email",
        "firstname",
        "lastname",
        "company",
        "lifecyclestage",
        "hubspot_owner_id",
        "createdate",
        "lastmodifieddate",
    ],
    "deals": [
        "dealname",
        "amount",
        "dealstage",
        "closedate",
        "createdate",
        "hs_lastmodifieddate",
        "hubspot_owner_id",
        "hs_is_closed",
        "hs_is_closed_won",
    ],
}
TOPIC = {"contacts": "lead-capture", "deals": "revenue-attribution"}
# SDK operations (hubspot-api-client 12.0.0): POST /crm/v3/objects/{contacts,deals}/search and
# POST /crm/v4/associations/deals/contacts/batch/read.
SEARCH = {"contacts": "crm.contacts.search_api.do_search", "deals": "crm.deals.search_api.do_search"}
DEAL_CONTACTS = "crm.associations.v4.batch_api.get_page"

CONTACT_SCHEMA = {
    "hubspot_id": pl.String,
    "email": pl.String,
    "first_name": pl.String,
    "last_name": pl.String,
    "company": pl.String,
    "lifecycle_stage": pl.String,
    "hubspot_owner_id": pl.String,
    "created_at": pl.Datetime("us"),
    "modified_at": pl.Datetime("us"),
}
DEAL_SCHEMA = {
    "hubspot_id": pl.String,
    "name": pl.String,
    "amount": pl.Float64,
    "stage": pl.String,
    "is_closed": pl.Boolean,
    "is_closed_won": pl.Boolean,
    "close_date": pl.Date,
    "created_at": pl.Datetime("us"),
    "modified_at": pl.Datetime("us"),
    "hubspot_owner_id": pl.String,
    "contact_hubspot_id": pl.String,
}


@dataclass(frozen=True)
class SyncResult:
    object_type: str
    pulled: int
    updated: int
    inserted: int
    cursor: str | None
    hubspot_ids: tuple[str, ...] = ()  # the records pulled, for reconciliation (analytics.jobs)

    def line(self) -> str:
        return (
            f"{self.object_type}: {self.pulled:,} pulled, {self.updated:,} updated, {self.inserted:,} inserted; "
            f"cursor {self.cursor or '-'}"
        )


def parse_time(value) -> datetime | None:
    """HubSpot's ISO-8601 (``...Z``) or epoch-milliseconds timestamps, as naive UTC."""
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        moment = value
    elif str(value).isdigit():
        moment = datetime.fromtimestamp(int(value) / 1000, tz=UTC)
    else:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def epoch_ms(cursor: str, overlap: timedelta = timedelta(0)) -> str:
    """A cursor (ISO-8601 UTC), minus ``overlap``, as the epoch milliseconds HubSpot's search filters take."""
    moment = parse_time(cursor).replace(tzinfo=UTC) - overlap
    return str(int(round(moment.timestamp() * 1000)))


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def get_cursor(engine: sa.Engine, object_type: str) -> str | None:
    with engine.connect() as conn:
        return conn.execute(
            sa.select(sync_cursors.c.cursor).where(
                sync_cursors.c.source == SOURCE, sync_cursors.c.object_type == object_type
            )
        ).scalar_one_or_none()


def set_cursor(conn: sa.Connection, object_type: str, cursor: str) -> None:
    updated = conn.execute(
        sync_cursors.update()
        .where(sync_cursors.c.source == SOURCE, sync_cursors.c.object_type == object_type)
        .values(cursor=cursor, updated_at=utcnow())
    ).rowcount
    if not updated:
        conn.execute(
            sync_cursors.insert().values(source=SOURCE, object_type=object_type, cursor=cursor, updated_at=utcnow())
        )


def pull(
    gateway: hs.HubSpotGateway, object_type: str, since: str | None, on_page: Callable[[int], None] | None = None
) -> list[dict]:
    """Every record of ``object_type`` modified at or after ``since`` (all when None), oldest first."""
    modified = MODIFIED[object_type]
    records: dict[str, dict] = {}
    after = 0
    overlap = OVERLAP  # only before the stored cursor; a restart past 10,000 results needs none
    while True:
        body = {
            "filterGroups": [
                {"filters": [{"propertyName": modified, "operator": "GTE", "value": epoch_ms(since, overlap)}]}
            ]
            if since
            else [],
            "sorts": [{"propertyName": modified, "direction": "ASCENDING"}],
            "properties": PROPERTIES[object_type],
            "limit": PAGE,
            "after": str(after),
        }
        page = gateway.call(SEARCH[object_type], body)
        for result in page.get("results") or []:
            records[str(result["id"])] = {**(result.get("properties") or {}), "hs_object_id": str(result["id"])}
        if on_page:
            on_page(len(records))
        next_page = (page.get("paging") or {}).get("next")
        if not next_page:
            break
        after = int(next_page["after"])
        if after + PAGE > SEARCH_CAP:  # restart the query from the newest modification seen
            newest = max(parse_time(r.get(modified)) for r in records.values())
            if since is not None and iso(newest) <= since:
                raise RevLensError(
                    f"More than {SEARCH_CAP:,} HubSpot {object_type} share the modification time "
                    f"{since}; pull them with a HubSpot export and `python -m analytics import`."
                )
            since, after, overlap = iso(newest), 0, timedelta(0)
    return list(records.values())


def deal_contacts(gateway: hs.HubSpotGateway, deal_ids: list[str]) -> dict[str, str]:
    """The first associated contact id of each deal (v4 associations batch read, at most 100 deals)."""
    if not deal_ids:
        return {}
    answer = gateway.call(
        DEAL_CONTACTS, "deals", "contacts", {"inputs": [{"id": str(deal_id)} for deal_id in deal_ids]}
    )
    linked = {}
    for item in (answer or {}).get("results") or []:
        if item.get("to"):
            linked[str(item["from"]["id"])] = str(item["to"][0]["toObjectId"])
    return linked


def contacts_frame(records: list[dict]) -> pl.DataFrame:
    rows = [
        {
            "hubspot_id": r["hs_object_id"],
            "email": r.get("email"),
            "first_name": r.get("firstname"),
            "last_name": r.get("lastname"),
            "company": r.get("company"),
            "lifecycle_stage": r.get("lifecyclestage"),
            "hubspot_owner_id": r.get("hubspot_owner_id") or None,
            "created_at": parse_time(r.get("createdate")),
            "modified_at": parse_time(r.get("lastmodifieddate")),
        }
        for r in records
    ]
    return pl.DataFrame(rows, schema=CONTACT_SCHEMA)


def _bool(value) -> bool | None:
    return None if value in (None, "") else str(value).lower() == "true"


def deals_frame(records: list[dict], deal_contacts: dict[str, str]) -> pl.DataFrame:
    rows = []
    for r in records:
        close = parse_time(r.get("closedate"))
        amount = r.get("amount")
        rows.append(
            {
                "hubspot_id": r["hs_object_id"],
                "name": r.get("dealname"),
                "amount": float(amount) if amount not in (None, "") else None,
                "stage": r.get("dealstage"),
                "is_closed": _bool(r.get("hs_is_closed")),
                "is_closed_won": _bool(r.get("hs_is_closed_won")),
                "close_date": close.date() if close else None,
                "created_at": parse_time(r.get("createdate")),
                "modified_at": parse_time(r.get("hs_lastmodifieddate")),
                "hubspot_owner_id": r.get("hubspot_owner_id") or None,
                "contact_hubspot_id": deal_contacts.get(r["hs_object_id"]),
            }
        )
    return pl.DataFrame(rows, schema=DEAL_SCHEMA)


MERGE_CONTACTS = """
create or replace temp table sync_contacts as
with by_hubspot_id as (
    select hubspot_id, min(contact_id) as contact_id from contacts where hubspot_id is not null group by hubspot_id
),
by_email as (
    select lower(email) as email_key, min(contact_id) as contact_id from contacts where email is not null group by 1
),
owners as (
    select hubspot_owner_id, min(rep_id) as rep_id from sales_reps where hubspot_owner_id is not null group by 1
)
select incoming.*,
       coalesce(by_hubspot_id.contact_id, by_email.contact_id) as contact_id,
       coalesce(owners.rep_id, 'hubspot-owner:' || incoming.hubspot_owner_id) as owner_rep_id
from incoming_contacts as incoming
left join by_hubspot_id using (hubspot_id)
left join by_email on by_email.email_key = lower(incoming.email)
left join owners using (hubspot_owner_id);

update contacts as w set
    hubspot_id = s.hubspot_id,
    owner_id = coalesce(s.owner_rep_id, w.owner_id),                  -- HubSpot wins
    lifecycle_stage = coalesce(s.lifecycle_stage, w.lifecycle_stage), -- HubSpot wins
    email = case when s.hubspot_is_newer then coalesce(s.email, w.email) else w.email end,
    first_name = case when s.hubspot_is_newer then coalesce(s.first_name, w.first_name) else w.first_name end,
    last_name = case when s.hubspot_is_newer then coalesce(s.last_name, w.last_name) else w.last_name end,
    company = case when s.hubspot_is_newer then coalesce(s.company, w.company) else w.company end,
    updated_at = greatest(coalesce(w.updated_at, s.modified_at), s.modified_at)
    -- lead_score: RevLens wins, never read back
from (
    select sync_contacts.*, current.updated_at is null or sync_contacts.modified_at > current.updated_at
           as hubspot_is_newer
    from sync_contacts join contacts as current using (contact_id)
) as s
where w.contact_id = s.contact_id;

insert into contacts (contact_id, email, first_name, last_name, company, lead_source, lifecycle_stage,
                      created_at, owner_id, hubspot_id, updated_at)
select 'hs-' || hubspot_id, email, first_name, last_name, company, 'hubspot', lifecycle_stage,
       created_at, owner_rep_id, hubspot_id, modified_at
from sync_contacts
where contact_id is null;
"""

MERGE_DEALS = """
create or replace temp table sync_deals as
with by_hubspot_id as (
    select hubspot_id, min(opportunity_id) as opportunity_id from opportunities where hubspot_id is not null
    group by hubspot_id
),
contact_by_hubspot_id as (
    select hubspot_id, min(contact_id) as contact_id, min(account_id) as account_id from contacts
    where hubspot_id is not null group by hubspot_id
),
owners as (
    select hubspot_owner_id, min(rep_id) as rep_id from sales_reps where hubspot_owner_id is not null group by 1
)
select incoming.*,
       by_hubspot_id.opportunity_id,
       contact_by_hubspot_id.contact_id,
       contact_by_hubspot_id.account_id,
       coalesce(owners.rep_id, 'hubspot-owner:' || incoming.hubspot_owner_id) as owner_rep_id
from incoming_deals as incoming
left join by_hubspot_id using (hubspot_id)
left join contact_by_hubspot_id on contact_by_hubspot_id.hubspot_id = incoming.contact_hubspot_id
left join owners using (hubspot_owner_id);

update opportunities as w set
    owner_id = coalesce(s.owner_rep_id, w.owner_id),                  -- HubSpot wins
    name = case when s.hubspot_is_newer then coalesce(s.name, w.name) else w.name end,
    amount = case when s.hubspot_is_newer then coalesce(s.amount, w.amount) else w.amount end,
    stage = case when s.hubspot_is_newer then coalesce(s.stage, w.stage) else w.stage end,
    is_closed = case when s.hubspot_is_newer then coalesce(s.is_closed, w.is_closed) else w.is_closed end,
    is_closed_won = case when s.hubspot_is_newer then coalesce(s.is_closed_won, w.is_closed_won)
                         else w.is_closed_won end,
    close_date = case when s.hubspot_is_newer then coalesce(s.close_date, w.close_date) else w.close_date end,
    contact_id = coalesce(w.contact_id, s.contact_id),
    account_id = coalesce(w.account_id, s.account_id),
    updated_at = greatest(coalesce(w.updated_at, s.modified_at), s.modified_at)
from (
    select sync_deals.*, current.updated_at is null or sync_deals.modified_at > current.updated_at
           as hubspot_is_newer
    from sync_deals join opportunities as current using (opportunity_id)
) as s
where w.opportunity_id = s.opportunity_id;

insert into opportunities (opportunity_id, contact_id, account_id, name, amount, stage, is_closed, is_closed_won,
                           created_at, close_date, owner_id, hubspot_id, updated_at)
select 'hs-' || hubspot_id, contact_id, account_id, name, amount, stage, is_closed, is_closed_won,
       created_at, close_date, owner_rep_id, hubspot_id, modified_at
from sync_deals
where opportunity_id is null;
"""


def merge(con, object_type: str, incoming: pl.DataFrame) -> tuple[int, int]:
    """Merge ``incoming`` into the warehouse under the conflict rule; returns (updated, inserted)."""
    staging = f"incoming_{object_type}"
    con.register(staging, incoming.to_arrow())
    try:
        for statement in (MERGE_CONTACTS if object_type == "contacts" else MERGE_DEALS).split(";\n"):
            if statement.strip():
                con.execute(statement)
        key = "contact_id" if object_type == "contacts" else "opportunity_id"
        inserted = con.execute(f"select count(*) from sync_{object_type} where {key} is null").fetchall()[0][0]
        updated = incoming.height - inserted
    finally:
        con.unregister(staging)
    return updated, inserted


def sync_hubspot(
    db: str | Path,
    gateway: hs.HubSpotGateway,
    engine: sa.Engine | None = None,
    full: bool = False,
    on_progress: Callable[[str, int], None] | None = None,
    wait: float | None = None,
    on_wait: Callable[[str], None] | None = None,
) -> list[SyncResult]:
    """Pull contacts, then deals, modified since their cursors; merge; bump the version; advance the cursors.

    ``full`` ignores the cursors and pulls everything. The warehouse is written in one
    transaction; cursors and events are written after it commits, so a crash in between
    only makes the next run pull the same records again (the merge is idempotent). It is
    opened as a writer (:func:`~analytics.warehouse.connection.writing`): while the app has
    it open, the sync waits up to ``wait`` seconds for it, telling ``on_wait``.
    """
    engine = engine or store()
    job = start_job(engine, "sync_hubspot", "full" if full else "incremental")
    try:
        pulled: dict[str, list[dict]] = {}
        for object_type in ("contacts", "deals"):
            since = None if full else get_cursor(engine, object_type)
            pulled[object_type] = pull(
                gateway, object_type, since, (lambda n, o=object_type: on_progress(o, n)) if on_progress else None
            )
        deal_ids = [r["hs_object_id"] for r in pulled["deals"]]
        links: dict[str, str] = {}
        for start in range(0, len(deal_ids), hs.BATCH_LIMIT):
            links.update(deal_contacts(gateway, deal_ids[start : start + hs.BATCH_LIMIT]))
        frames = {"contacts": contacts_frame(pulled["contacts"]), "deals": deals_frame(pulled["deals"], links)}
        results = []
        with writing(db, wait=wait, on_wait=on_wait, purpose="a HubSpot sync") as con:
            try:
                con.execute("begin transaction")
                for object_type, frame in frames.items():
                    updated, inserted = merge(con, object_type, frame) if frame.height else (0, 0)
                    newest = frame["modified_at"].max() if frame.height else None
                    results.append(
                        SyncResult(
                            object_type,
                            frame.height,
                            updated,
                            inserted,
                            iso(newest) if newest else get_cursor(engine, object_type),
                            tuple(frame["hubspot_id"].drop_nulls().unique().to_list()) if frame.height else (),
                        )
                    )
                if any(r.pulled for r in results):
                    finish_load(con, "hubspot sync")
                con.execute("commit")
            except Exception:
                con.execute("rollback")
                raise
        with engine.begin() as conn:
            for result in results:
                if result.cursor:
                    set_cursor(conn, result.object_type, result.cursor)
                emit(
                    conn,
                    TOPIC[result.object_type],
                    "crm.sync.completed",
                    {
                        "source": SOURCE,
                        "object_type": result.object_type,
                        "pulled": result.pulled,
                        "updated": result.updated,
                        "inserted": result.inserted,
                        "cursor": result.cursor,
                    },
                    None,
                )
            audit(conn, "sync", "crm_sync", "; ".join(r.line() for r in results))
    except Exception as exc:
        finish_job(engine, job, error=str(exc)[:500])
        raise
    finish_job(engine, job)
    return results
