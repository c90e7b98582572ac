"""The operations store: transactional state beside the warehouse, through SQLAlchemy.

SQLite by default (``REVLENS_OPS_URL``, ``sqlite:///data/ops.sqlite``, WAL mode), a
PostgreSQL URL for a team. DuckDB allows one writing process, so anything that is
written often and concurrently (the action outbox, audit log, event outbox, job runs)
lives here, not in the warehouse.

Every table is declared in :mod:`analytics.ops.tables`; :func:`ops_engine` migrates the
store (:func:`migrate`): it creates missing tables, adds missing columns, and records
:data:`~analytics.ops.tables.SCHEMA_VERSION`.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from analytics.core.errors import RevLensError
from analytics.core.settings import ops_url
from analytics.ops.tables import SCHEMA_VERSION, metadata, schema_version


def utcnow() -> datetime:
    return datetime.now(UTC)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("pragma journal_mode=wal")
    cursor.execute("pragma busy_timeout=5000")
    cursor.close()


_engines: dict[str, sa.Engine] = {}
_engines_lock = threading.Lock()  # threads (the SLA recorder, a page) must not migrate one store twice at once


def ops_engine(url: str | None = None) -> sa.Engine:
    """The engine for ``url`` (default :func:`analytics.core.settings.ops_url`), schema created."""
    url = url or ops_url()
    if url in _engines:
        return _engines[url]
    with _engines_lock:
        if url in _engines:
            return _engines[url]
        return _new_engine(url)


def _new_engine(url: str) -> sa.Engine:
    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError:
        raise RevLensError(
            f"REVLENS_OPS_URL {url!r} is not a SQLAlchemy URL; use e.g. sqlite:///data/ops.sqlite "
            "or postgresql+psycopg://user@host/db."
        ) from None
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url, future=True)
    if parsed.get_backend_name() == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_pragmas)
    try:
        migrate(engine)
    except sa.exc.OperationalError as exc:
        raise RevLensError(
            f"Cannot reach the operations store at {parsed.render_as_string(hide_password=True)}: "
            f"{str(exc.orig).splitlines()[0]}; check REVLENS_OPS_URL."
        ) from None
    _engines[url] = engine
    return engine


def migrate(engine: sa.Engine) -> int:
    """Bring the store up to ``SCHEMA_VERSION``; returns the version recorded.

    Additive only, which is all this project has needed: create missing tables, then
    add columns declared on :data:`metadata` but absent from an existing table (added
    as nullable, so old rows stay valid), then upsert the single ``schema_version`` row.
    """
    metadata.create_all(engine)
    inspector = sa.inspect(engine)
    with engine.begin() as conn:
        for table in metadata.sorted_tables:
            present = {column["name"] for column in inspector.get_columns(table.name)}
            for column in table.columns:
                if column.name not in present:
                    column_type = column.type.compile(dialect=engine.dialect)
                    conn.execute(sa.text(f'alter table {table.name} add column "{column.name}" {column_type}'))
        if conn.execute(sa.select(schema_version.c.id)).first() is None:
            conn.execute(schema_version.insert().values(id=1, version=SCHEMA_VERSION, migrated_at=utcnow()))
        else:
            conn.execute(
                schema_version.update()
                .where(schema_version.c.id == 1)
                .values(version=SCHEMA_VERSION, migrated_at=utcnow())
            )
    return SCHEMA_VERSION
