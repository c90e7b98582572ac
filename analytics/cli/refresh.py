"""``python -m analytics refresh``: rebuild the derived tables of an existing warehouse."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from analytics.cli.common import DB_OPTION_HELP, WAIT_OPTION_HELP, command_app, tell_stderr
from analytics.core.settings import db_path
from analytics.loads import finish_load
from analytics.warehouse.connection import WarehouseError, writing
from analytics.warehouse.schema import missing_tables

app = command_app()


@app.command()
def refresh(
    db: Annotated[Path | None, typer.Option(help=DB_OPTION_HELP)] = None,
    wait: Annotated[float | None, typer.Option(help=WAIT_OPTION_HELP, show_default=False)] = None,
) -> None:
    """Rebuild the journey tables and stamp a new version (every load does this itself;
    use it on a warehouse built before the journey tables existed, or changed by hand)."""
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
            version = finish_load(con, "refresh")
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
        deals, touches = con.execute(
            "select (select count(*) from _journey_deals), (select count(*) from _journey_touches)"
        ).fetchall()[0]
    typer.echo(
        f"Rebuilt the journey tables of {path} in {time.perf_counter() - started:.1f} s "
        f"({deals:,} won deals, {touches:,} touches); version {version}."
    )
