"""Warehouses crafted row by row, small enough to work every health number out by hand.

Dates are given in days before the as-of date ``T`` (``day(3)`` is three days before it), so a
test reads like the windows it checks: ``day(30)`` is the boundary of (t−30, t].
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

from analytics.loads import finish_load
from analytics.warehouse.connection import connect
from analytics.warehouse.schema import create_schema

T = date(2026, 6, 30)


def day(days_before: int) -> date:
    return T - timedelta(days=days_before)


def at_noon(days_before: int) -> datetime:
    return datetime.combine(day(days_before), datetime.min.time()) + timedelta(hours=12)


class Crafted:
    """A warehouse with rows added one by one; ``load()`` stamps a version and builds the derived tables."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.con = connect(self.path)
        create_schema(self.con)
        self.con.execute(
            "insert into sales_reps (rep_id, name, email, hubspot_owner_id) values "
            "('REP1', 'Ann Owner', 'ann@example.com', '70001'), ('REP2', 'Bo Owner', 'bo@example.com', '70002')"
        )
        self._ids = 0

    def _id(self, prefix: str) -> str:
        self._ids += 1
        return f"{prefix}{self._ids:05d}"

    def account(
        self,
        account_id: str,
        segment: str = "SMB",
        arr: float = 12_000.0,
        churned: int | None = None,
        owner: str = "REP1",
        created: date = date(2024, 1, 1),
    ) -> str:
        self.con.execute(
            "insert into accounts (account_id, name, segment, arr, created_at, churned_at, owner_id, hubspot_id) "
            "values (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                account_id,
                f"{account_id} Inc",
                segment,
                arr,
                created,
                None if churned is None else at_noon(churned),
                owner,
                f"hs-{account_id}",
            ],
        )
        return account_id

    def contact(self, account_id: str, contact_id: str | None = None) -> str:
        contact_id = contact_id or self._id("CON")
        self.con.execute(
            "insert into contacts (contact_id, account_id, email, created_at, hubspot_id) values (?, ?, ?, ?, ?)",
            [contact_id, account_id, f"{contact_id.lower()}@example.com", datetime(2024, 1, 1), f"h{contact_id}"],
        )
        return contact_id

    def usage(self, account_id: str, days_before: int | list[int], feature: str = "dashboards", n: int = 1) -> None:
        days = [days_before] if isinstance(days_before, int) else days_before
        self.con.executemany(
            "insert into feature_usage_events (account_id, user_id, feature_id, feature_name, ts, success) "
            "values (?, ?, ?, ?, ?, true)",
            [[account_id, f"{account_id}-u{k}", feature, feature, at_noon(d)] for d in days for k in range(n)],
        )

    def ticket(
        self,
        account_id: str,
        opened: int,
        escalated: bool = False,
        resolved: int | None = None,
        csat: float | None = None,
        severity: str = "normal",
    ) -> str:
        ticket_id = self._id("TCK")
        self.con.execute(
            "insert into support_tickets (ticket_id, account_id, opened_at, severity, escalated, resolved_at, csat) "
            "values (?, ?, ?, ?, ?, ?, ?)",
            [
                ticket_id,
                account_id,
                at_noon(opened),
                severity,
                escalated,
                None if resolved is None else at_noon(resolved),
                csat,
            ],
        )
        return ticket_id

    def invoice(self, account_id: str, due: int, paid: int | None = None, amount: float = 1_000.0) -> str:
        """An invoice due ``due`` days before T, paid ``paid`` days before T (None: unpaid)."""
        invoice_id = self._id("INV")
        self.con.execute(
            "insert into invoices (invoice_id, account_id, issued_date, due_date, paid_date, amount) "
            "values (?, ?, ?, ?, ?, ?)",
            [invoice_id, account_id, day(due + 30), day(due), None if paid is None else day(paid), amount],
        )
        return invoice_id

    def email(self, contact_id: str, kind: str, days_before: int | list[int], campaign_id: str | None = None) -> None:
        days = [days_before] if isinstance(days_before, int) else days_before
        self.con.executemany(
            "insert into email_events (contact_id, campaign_id, event_type, ts) values (?, ?, ?, ?)",
            [[contact_id, campaign_id, kind, at_noon(d)] for d in days],
        )

    def content(self, contact_id: str, kind: str, days_before: int) -> None:
        self.con.execute(
            "insert into content_events (contact_id, kind, ts) values (?, ?, ?)",
            [contact_id, kind, at_noon(days_before)],
        )

    def campaign(self, campaign_id: str, ends: int) -> None:
        self.con.execute(
            "insert into campaigns (campaign_id, name, channel, start_date, end_date) values (?, ?, 'email', ?, ?)",
            [campaign_id, f"Campaign {campaign_id}", date(2025, 1, 1), day(ends)],
        )

    def load(self):
        """Stamp a version and build the derived tables (the weekly history) as every load does."""
        self.con.execute("begin")
        finish_load(self.con, "crafted")
        self.con.execute("commit")
        return self.con

    def close(self) -> None:
        self.con.close()
