"""``python -m analytics refresh``: rebuild the derived tables of an existing warehouse."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from analytics.cli.common import DB_OPTION_HELP, WAIT_OPTION_HELP, command_app, tell_stderr
from analytics.core.settings import db_path
from analytics.loads import DERIVED, finish_load
from analytics.warehouse.connection import WarehouseError, writing
from analytics.warehouse.schema import missing_tables

app = command_app()


@app.command()
def refresh(
    db: Annotated[Path | None, typer.Option(help=DB_OPTION_HELP)] = None,
    wait: Annotated[float | None, typer.Option(help=WAIT_OPTION_HELP, show_default=False)] = None,
) -> None:
    """Rebuild every derived table (attribution's journeys, the health history, the lead features and
    engagement sums) and stamp a new version (loads rebuild what they change themselves; use it on a
    warehouse built before a derived table existed, or changed by hand)."""
    path = db or db_path()
    if not path.exists():
        raise WarehouseError(f"No warehouse at {path}; build one with `python -m analytics demo --db {path}`.")
    started = time.perf_counter()
    with writing(path, wait=wait, on_wait=tell_stderr, purpose="a refresh of the derived tables") as con:
        missing = missing_tables(con)
        if missing:
            raise WarehouseError(f"{path} lacks the tables {', '.join(missing)}; it is not a RevLens warehouse.")
        con.execute("begin transaction")
        try:
            version = finish_load(con, "refresh")  # no list of changed tables: everything is rebuilt
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
        tables = [table for derived in DERIVED for table in derived.tables]
        counts = con.execute(
            "select " + ", ".join(f"(select count(*) from {table})" for table in tables)  # names from DERIVED
        ).fetchall()[0]
    rows_of = dict(zip(tables, counts))
    built = "; ".join(
        f"{derived.name} ({', '.join(f'{table} {rows_of[table]:,} rows' for table in derived.tables)})"
        for derived in DERIVED
    )
    typer.echo(
        f"Rebuilt the derived tables of {path} in {time.perf_counter() - started:.1f} s: {built}; version {version}."
    )
