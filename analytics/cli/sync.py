"""``python -m analytics sync hubspot``: pull CRM changes into the warehouse."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from analytics.cli.common import DB_OPTION_HELP, WAIT_OPTION_HELP, command_app, tell_stderr
from analytics.core.settings import db_path

app = command_app("Pull changes from a CRM into the warehouse.", group=True)


@app.command("hubspot")
def sync_hubspot_command(
    db: Annotated[Path | None, typer.Option(help=DB_OPTION_HELP)] = None,
    full: Annotated[bool, typer.Option("--full", help="Ignore the cursors and pull every record.")] = False,
    wait: Annotated[float | None, typer.Option(help=WAIT_OPTION_HELP, show_default=False)] = None,
) -> None:
    """Contacts and deals modified in HubSpot since the last sync (conflict rule: docs/actions.md)."""
    from analytics.crm.hubspot.transport import HubSpotGateway
    from analytics.crm.sync import sync_hubspot

    gateway = HubSpotGateway.from_settings()
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), transient=True) as bar:
        task = bar.add_task("Pulling from HubSpot", total=None)
        results = sync_hubspot(
            db or db_path(),
            gateway,
            full=full,
            on_progress=lambda kind, n: bar.update(task, description=f"Pulled {n:,} {kind}"),
            wait=wait,
            on_wait=tell_stderr,
        )
    for result in results:
        typer.echo(result.line())
