"""``python -m analytics import SOURCE FILE...``: import CRM and product exports;
``python -m analytics import recheck [--source S]``: check the quarantined rows again."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from analytics.cli.common import DB_OPTION_HELP, WAIT_OPTION_HELP, command_app, tell_stderr
from analytics.core.errors import RevLensError
from analytics.core.settings import db_path
from analytics.imports import SOURCES, ImportResult, import_files, recheck_quarantine

app = command_app()

RECHECK = "recheck"
SOURCE_HELP = (
    "What the files are: " + ", ".join(SOURCES) + f"; or {RECHECK}, to check the quarantined rows again (no files)."
)


@app.command()
def import_command(
    source: Annotated[str, typer.Argument(help=SOURCE_HELP, show_default=False)],
    files: Annotated[
        list[Path] | None, typer.Argument(help="CSV, XLSX, Parquet or JSON-lines files.", show_default=False)
    ] = None,
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
    wait: Annotated[float | None, typer.Option(help=WAIT_OPTION_HELP, show_default=False)] = None,
    only_source: Annotated[
        str | None,
        typer.Option("--source", help=f"With {RECHECK}: only the quarantined rows of this source.", show_default=False),
    ] = None,
) -> None:
    """Import exports: map fields, validate, merge duplicates, quarantine bad rows (nothing is lost).

    Each file is one transaction: imported whole or not at all. Exit status 0 when every file
    was read (even with quarantined rows), 2 when one cannot be read. While the app (or another
    reader) has the warehouse open, the import says so and waits for it, up to --wait seconds.

    `import recheck [--source S]` checks the rows still in quarantine again: those that pass now
    (their campaign or contact was imported since, or the mapping was fixed) are loaded.
    """
    path = db or db_path()
    if source == RECHECK:
        if files:
            raise RevLensError(f"`import {RECHECK}` takes no files; to import files, name their source instead.")
        _recheck(path, only_source, wait, as_json)
        return
    if only_source is not None:
        raise RevLensError(f"--source belongs to `import {RECHECK}`; to import files, name their source first.")
    if not files:
        raise RevLensError(f"Name the files to import after the source, e.g. `import {source} export.csv`.")
    for number, file in enumerate(files):
        # one file at a time, each reported as soon as it is committed
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TimeElapsedColumn(),
            transient=True,
            disable=as_json,
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
                wait=wait,
                on_wait=tell_stderr,
            )
        _report(result, as_json)


def _recheck(path: Path, source: str | None, wait: float | None, as_json: bool) -> None:
    results = recheck_quarantine(path, source, wait=wait, on_wait=tell_stderr)
    if not results and not as_json:
        scope = f" of {source}" if source else ""
        typer.echo(f"No rows{scope} are waiting in quarantine; nothing to recheck.")
    for result in results:
        _report(result, as_json)


def _report(result: ImportResult, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(result.summary()))
        return
    score = "n/a" if result.quality_score is None else f"{result.quality_score:.1f}"
    if result.kind == "recheck":
        typer.echo(
            f"{result.file}: rechecked {result.rows_read:,} quarantined rows -> loaded {result.rows_loaded:,}, "
            f"updated {result.rows_updated:,}, merged {result.rows_merged:,}, still quarantined "
            f"{result.rows_quarantined:,} into {result.table}."
        )
    else:
        typer.echo(
            f"{result.file}: read {result.rows_read:,} rows -> loaded {result.rows_loaded:,}, "
            f"updated {result.rows_updated:,}, merged {result.rows_merged:,}, "
            f"quarantined {result.rows_quarantined:,} (enriched {result.rows_enriched:,}); "
            f"quality {score}/100 into {result.table}."
        )
    if result.amount_read is not None:
        typer.echo(
            f"  amount: read {result.amount_read:,.2f} = loaded {result.amount_loaded:,.2f} + quarantined "
            f"{result.amount_quarantined:,.2f}; it replaces {result.amount_replaced:,.2f} held before for the same "
            "campaign, day, category and platform."
        )
    if result.rows_quarantined:
        run_id = result.rechecked_run_id or result.run_id
        typer.echo(f"  quarantined rows and reasons: table import_quarantine, run_id {run_id}")
    if result.unmapped:
        typer.echo(f"  kept unmapped columns as extra: {', '.join(result.unmapped)}")
    for warning in result.warnings:
        typer.echo(f"  warning: {warning}")
