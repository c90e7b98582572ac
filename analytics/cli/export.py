"""``python -m analytics export``: the warehouse's tables as a lake other engines read (Parquet)."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from analytics.cli.common import DB_OPTION_HELP, command_app

app = command_app()


class LakeFormat(str, Enum):
    parquet = "parquet"


@app.command()
def export(
    out: Annotated[Path, typer.Option("--out", help="Folder to write (new, empty, or an earlier export to replace).")],
    format: Annotated[LakeFormat, typer.Option("--format", help="File format.")] = LakeFormat.parquet,
    db: Annotated[Path | None, typer.Option(help=DB_OPTION_HELP)] = None,
) -> None:
    """Write every table (and the derived ones) as Parquet, one folder per table, for --engine spark."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from analytics.core.settings import db_path
    from analytics.warehouse.connection import connect
    from analytics.warehouse.lake import export_parquet

    con = connect(db or db_path(), read_only=True)
    try:
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=True,
        ) as bar:
            task = bar.add_task("Exporting", total=1)

            def progress(done: int, total: int, table: str) -> None:
                bar.update(task, total=total, completed=done, description=f"Exporting {table}")

            manifest = export_parquet(con, out, progress)
    finally:
        con.close()
    tables = manifest["tables"]
    rows = sum(table["rows"] for table in tables.values())
    typer.echo(
        f"Wrote {len(tables)} tables ({rows:,} rows, version {manifest['version']}) to {out}; "
        f"read them with --engine spark --source {out}.",
        err=True,
    )
