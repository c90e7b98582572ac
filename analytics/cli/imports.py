"""``python -m analytics import SOURCE FILE...``: import CRM and product exports."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from analytics.cli.common import DB_OPTION_HELP, command_app
from analytics.core.settings import db_path
from analytics.imports import SOURCES, import_files

app = command_app()

SOURCE_HELP = "What the files are: " + ", ".join(SOURCES) + "."


@app.command()
def import_command(
    source: Annotated[str, typer.Argument(help=SOURCE_HELP, show_default=False)],
    files: Annotated[list[Path], typer.Argument(help="CSV, XLSX, Parquet or JSON-lines files.", show_default=False)],
    db: Annotated[Path | None, typer.Option(help=DB_OPTION_HELP)] = None,
    mapping: Annotated[
        Path | None, typer.Option(help="Mapping file to use instead of data/mappings/<family>.json.")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object per file instead of a summary.")
    ] = False,
    memory_limit: Annotated[
        str | None, typer.Option(help="Cap DuckDB's memory, e.g. 2GB; the rest spills to disk.")
    ] = None,
) -> None:
    """Import exports: map fields, validate, merge duplicates, quarantine bad rows (nothing is lost).

    Each file is one transaction: imported whole or not at all. Exit status 0 when every file
    was read (even with quarantined rows), 2 when one cannot be read.
    """
    path = db or db_path()
    for number, file in enumerate(files):
        # one file at a time, each reported as soon as it is committed
        with Progress(
            TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), transient=True, disable=as_json
        ) as bar:
            task = bar.add_task(f"{file.name} ({number + 1}/{len(files)})", total=1.0)
            (result,) = import_files(
                path,
                source,
                [file],
                mapping,
                memory_limit=memory_limit,
                progress=lambda fraction, message, task=task, name=file.name: bar.update(
                    task, completed=fraction, description=f"{name}: {message}"
                ),
            )
        if as_json:
            typer.echo(json.dumps(result.summary()))
            continue
        score = "n/a" if result.quality_score is None else f"{result.quality_score:.1f}"
        typer.echo(
            f"{result.file}: read {result.rows_read:,} rows -> loaded {result.rows_loaded:,}, "
            f"updated {result.rows_updated:,}, merged {result.rows_merged:,}, quarantined {result.rows_quarantined:,} "
            f"(enriched {result.rows_enriched:,}); quality {score}/100 into {result.table}."
        )
        if result.rows_quarantined:
            typer.echo(f"  quarantined rows and reasons: table import_quarantine, run_id {result.run_id}")
        if result.unmapped:
            typer.echo(f"  kept unmapped columns as extra: {', '.join(result.unmapped)}")
