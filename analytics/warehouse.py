"""The DuckDB warehouse: schema, connections and the version stamp.

The DDL below is the truth about the canonical tables. The app opens the file
read-only and takes one cursor per query (:meth:`Warehouse.query`): DuckDB 2.x
raises ``ResourceInUseException`` when threads share one connection object.
Every load (demo build, import, CRM sync) calls :func:`bump_version`, and the
app keys its caches on :meth:`Warehouse.version`, so results never go stale.
"""

from __future__ import annotations

import os
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import polars as pl

from analytics.errors import RevLensError
from analytics.journeys import refresh_journeys

DEFAULT_DB = "data/warehouse.duckdb"
DEFAULT_OPS_URL = "sqlite:///data/ops.sqlite"

CHANNELS = (
    "email",
    "paid_search",
    "paid_social",
    "organic_search",
    "webinar",
    "events",
    "display",
    "direct",
)
COST_CATEGORIES = ("media_spend", "creative_production", "platform_fees", "operational_overhead")
SEGMENTS = ("SMB", "Mid-Market", "Enterprise")

# Table name -> DDL. Order matters only for readability; there are no foreign keys
# because imports must be able to load children before parents.
SCHEMA: dict[str, str] = {
    "sales_reps": """
        create table if not exists sales_reps (
            rep_id varchar primary key,
            name varchar not null,
            email varchar,
            territory varchar,
            segment varchar,
            seniority varchar,
            capacity integer,
            hubspot_owner_id varchar
        )""",
    "accounts": """
        create table if not exists accounts (
            account_id varchar primary key,
            name varchar not null,
            domain varchar,
            segment varchar,
            industry varchar,
            region varchar,
            employees integer,
            plan varchar,
            arr double,
            created_at timestamp,
            renewal_date date,
            owner_id varchar,
            churned_at timestamp,
            hubspot_id varchar,
            salesforce_id varchar,
            updated_at timestamp,
            extra json
        )""",
    "contacts": """
        create table if not exists contacts (
            contact_id varchar primary key,
            account_id varchar,
            email varchar,
            first_name varchar,
            last_name varchar,
            company varchar,
            lead_source varchar,
            lifecycle_stage varchar,
            created_at timestamp,
            owner_id varchar,
            lead_score double,
            hubspot_id varchar,
            salesforce_id varchar,
            marketing_platform_id varchar,
            updated_at timestamp,
            extra json
        )""",
    "campaigns": """
        create table if not exists campaigns (
            campaign_id varchar primary key,
            name varchar not null,
            channel varchar,
            type varchar,
            start_date date,
            end_date date,
            budget double,
            audience_size integer,
            hubspot_id varchar,
            salesforce_id varchar,
            extra json
        )""",
    "touchpoints": """
        create table if not exists touchpoints (
            touchpoint_id varchar,
            contact_id varchar not null,
            campaign_id varchar,
            channel varchar not null,
            touchpoint_type varchar,
            ts timestamp not null,
            engagement_score double
        )""",
    "opportunities": """
        create table if not exists opportunities (
            opportunity_id varchar primary key,
            contact_id varchar,
            account_id varchar,
            name varchar,
            amount double,
            stage varchar,
            is_closed boolean,
            is_closed_won boolean,
            created_at timestamp,
            close_date date,
            owner_id varchar,
            hubspot_id varchar,
            salesforce_id varchar,
            updated_at timestamp,
            extra json
        )""",
    "campaign_costs": """
        create table if not exists campaign_costs (
            campaign_id varchar,
            cost_date date not null,
            category varchar not null,
            amount double not null,
            platform varchar,
            allocation_method varchar,
            resource_hours double
        )""",
    "feature_usage_events": """
        create table if not exists feature_usage_events (
            account_id varchar not null,
            user_id varchar,
            feature_id varchar,
            feature_name varchar,
            ts timestamp not null,
            session_duration_s double,
            success boolean
        )""",
    "support_tickets": """
        create table if not exists support_tickets (
            ticket_id varchar primary key,
            account_id varchar,
            opened_at timestamp,
            severity varchar,
            escalated boolean,
            resolved_at timestamp,
            csat double
        )""",
    "invoices": """
        create table if not exists invoices (
            invoice_id varchar primary key,
            account_id varchar,
            issued_date date,
            due_date date,
            paid_date date,
            amount double
        )""",
    "email_events": """
        create table if not exists email_events (
            contact_id varchar,
            campaign_id varchar,
            event_type varchar,
            ts timestamp
        )""",
    "content_events": """
        create table if not exists content_events (
            contact_id varchar,
            kind varchar,
            ts timestamp
        )""",
    "feedback": """
        create table if not exists feedback (
            feedback_id varchar primary key,
            account_id varchar,
            contact_id varchar,
            submitted_at timestamp,
            score integer,
            text varchar
        )""",
    "_meta": """
        create table if not exists _meta (
            key varchar primary key,
            value varchar
        )""",
}

TABLES = tuple(name for name in SCHEMA if not name.startswith("_"))

# The column that dates each table's rows, for the Data page's range and freshness.
TIME_COLUMNS: dict[str, str | None] = {
    "sales_reps": None,
    "accounts": "created_at",
    "contacts": "created_at",
    "campaigns": "start_date",
    "touchpoints": "ts",
    "opportunities": "created_at",
    "campaign_costs": "cost_date",
    "feature_usage_events": "ts",
    "support_tickets": "opened_at",
    "invoices": "issued_date",
    "email_events": "ts",
    "content_events": "ts",
    "feedback": "submitted_at",
}


class WarehouseError(RevLensError):
    """A problem with the warehouse file that the user can fix; the message says how."""


def db_path() -> Path:
    """The warehouse location: ``REVLENS_DB`` or ``data/warehouse.duckdb``."""
    return Path(os.environ.get("REVLENS_DB", DEFAULT_DB))


def ops_url() -> str:
    """The operations store's SQLAlchemy URL: ``REVLENS_OPS_URL`` or a SQLite file."""
    return os.environ.get("REVLENS_OPS_URL", DEFAULT_OPS_URL)


def create_schema(con: duckdb.DuckDBPyConnection) -> None:
    for ddl in SCHEMA.values():
        con.execute(ddl)


def bump_version(con: duckdb.DuckDBPyConnection, source: str) -> str:
    """Stamp the warehouse with a new version after a load.

    Every cache keyed on the version is invalidated, and the derived journey tables
    (:mod:`analytics.journeys`) are rebuilt for it, in the caller's transaction.
    """
    version = uuid.uuid4().hex
    loaded_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    for key, value in (("version", version), ("loaded_at", loaded_at), ("last_load", source)):
        con.execute(
            "insert into _meta (key, value) values (?, ?) "
            "on conflict (key) do update set value = excluded.value",
            [key, value],
        )
    refresh_journeys(con, version)
    return version


def _explain(path: Path, exc: Exception) -> WarehouseError:
    text = str(exc)
    if "lock" in text.lower():
        return WarehouseError(
            f"The warehouse {path} is locked by another process (a running import or demo build, or, "
            "for a write, the RevLens app, which keeps it open); wait for that process to finish or stop it, "
            "or import from the app's Import page, then retry."
        )
    if "not a valid DuckDB database" in text or "Unknown file format" in text or "invalid" in text.lower():
        return WarehouseError(
            f"{path} is not a DuckDB warehouse; point REVLENS_DB at a .duckdb file, "
            "or build one with `python -m analytics demo --db PATH`."
        )
    return WarehouseError(f"Cannot open the warehouse {path}: {text.splitlines()[0]}")


def connect(path: str | Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the warehouse; a user-fixable failure becomes a :class:`WarehouseError`."""
    path = Path(path)
    if read_only and not path.exists():
        raise WarehouseError(
            f"No warehouse at {path}; build the demo with `python -m analytics demo --db {path}` "
            "or set REVLENS_DB to an existing .duckdb file."
        )
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        return duckdb.connect(str(path), read_only=read_only)
    except duckdb.Error as exc:
        raise _explain(path, exc) from None


def frame(con: duckdb.DuckDBPyConnection, sql: str, params: list | dict | None = None) -> pl.DataFrame:
    """Run ``sql`` with bound ``params`` and return a polars frame.

    DuckDB 2.x dropped ``.pl()`` from ``execute`` results; ``sql(..., params=)``
    returns a relation that still converts without an extra copy. (Also in 2.x: a
    result left half-read by ``fetchone`` blocks the connection; use ``fetchall``.)
    """
    return con.sql(sql, params=params).pl()


def missing_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    present = {
        row[0]
        for row in con.execute(
            "select table_name from information_schema.tables where table_schema = 'main'"
        ).fetchall()
    }
    return [name for name in SCHEMA if name not in present]


@dataclass(frozen=True)
class TableSummary:
    table: str
    rows: int
    first: datetime | None
    last: datetime | None


class Warehouse:
    """A read-only warehouse for the app: one connection, one cursor per query.

    Parameters
    ----------
    path : path of the DuckDB file.

    Raises
    ------
    WarehouseError
        When the file is missing, not DuckDB, locked by a writer, or lacks tables.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._con = connect(self.path, read_only=True)
        self._lock = threading.Lock()
        missing = missing_tables(self._con)
        if missing:
            self._con.close()
            raise WarehouseError(
                f"The warehouse {self.path} lacks the tables {', '.join(missing)}; "
                "rebuild it with `python -m analytics demo --db PATH` or import your exports "
                "with `python -m analytics import`."
            )

    def cursor(self) -> duckdb.DuckDBPyConnection:
        # Creating a cursor touches the shared connection; serialize just that step.
        with self._lock:
            return self._con.cursor()

    def query(self, sql: str, params: list | dict | None = None) -> pl.DataFrame:
        """Run one query on its own cursor and return a polars frame."""
        cur = self.cursor()
        try:
            return frame(cur, sql, params)
        finally:
            cur.close()

    def scalar(self, sql: str, params: list | dict | None = None):
        cur = self.cursor()
        try:
            rows = cur.execute(sql, params or []).fetchall()
            return rows[0][0] if rows else None
        finally:
            cur.close()

    def version(self) -> str:
        return self.scalar("select value from _meta where key = 'version'") or "unversioned"

    def meta(self) -> dict[str, str]:
        return dict(self.query("select key, value from _meta").iter_rows())

    def close(self) -> None:
        self._con.close()
