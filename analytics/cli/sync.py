"""``python -m analytics sync hubspot``: pull CRM changes into the warehouse."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from analytics.cli.app import DB_OPTION_HELP, app
from analytics.warehouse import db_path

sync_app = typer.Typer(help="Pull changes from a CRM into the warehouse.", no_args_is_help=True)
app.add_typer(sync_app, name="sync")


@sync_app.command("hubspot")
def sync_hubspot_command(
    db: Annotated[Optional[Path], typer.Option(help=DB_OPTION_HELP)] = None,
    full: Annotated[bool, typer.Option("--full", help="Ignore the cursors and pull every record.")] = False,
) -> None:
    """Contacts and deals modified in HubSpot since the last sync (conflict rule: docs/actions.md)."""
    from analytics.crm_sync import sync_hubspot
    from analytics.hubspot_api import HubSpotGateway

    gateway = HubSpotGateway.from_settings()
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), transient=True) as bar:
        task = bar.add_task("Pulling from HubSpot", total=None)
        results = sync_hubspot(db or db_path(), gateway, full=full,
                               on_progress=lambda kind, n: bar.update(task, description=f"Pulled {n:,} {kind}"))
    for result in results:
        typer.echo(result.line())
