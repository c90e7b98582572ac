"""The version stamp: every load writes a new one, and every cache keys on it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import duckdb


def bump_version(con: duckdb.DuckDBPyConnection, source: str) -> str:
    """Stamp the warehouse with a new version after a load.

    Every cache keyed on the version is invalidated. Loads call
    :func:`analytics.loads.finish_load`, which also rebuilds the derived tables for it.
    """
    version = uuid.uuid4().hex
    loaded_at = datetime.now(UTC).isoformat(timespec="seconds")
    for key, value in (("version", version), ("loaded_at", loaded_at), ("last_load", source)):
        con.execute(
            "insert into _meta (key, value) values (?, ?) on conflict (key) do update set value = excluded.value",
            [key, value],
        )
    return version
