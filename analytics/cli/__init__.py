"""``python -m analytics``: one module per command group, imported only when its command runs.

:data:`COMMANDS` names every subcommand with its module and one line of help, so
``python -m analytics --help`` lists them without importing any (no numpy, polars,
sqlalchemy or HubSpot client). A module defines a Typer app: one ``@app.command()`` for a
single command, several for a group (``actions list``, ``actions deliver``, ...).

A user error (:class:`analytics.core.errors.RevLensError`) prints one sentence to stderr and
exits with status 2; it never shows a traceback. Usage errors are Typer's own (status 2 as well).
"""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING

import typer
from typer.core import TyperGroup

from analytics.core.errors import RevLensError

if TYPE_CHECKING:  # annotations only: importing click costs every command ~20 ms
    import click


@dataclass(frozen=True)
class CommandSpec:
    module: str  # imported when the command runs
    help: str  # shown by ``python -m analytics --help``
    attribute: str = "app"  # the module's Typer app


COMMANDS: dict[str, CommandSpec] = {
    "app": CommandSpec("analytics.cli.serve", "Start the RevLens app (Streamlit) on the warehouse."),
    "demo": CommandSpec("analytics.cli.demo", "Build a realistic demo warehouse with planted ground truth."),
    "import": CommandSpec("analytics.cli.imports", "Import CRM and product exports: map, validate, merge, quarantine."),
    "refresh": CommandSpec("analytics.cli.refresh", "Rebuild the derived tables of an existing warehouse."),
    "attribution": CommandSpec("analytics.cli.attribution", "Multi-touch attribution under ten models."),
    "roi": CommandSpec("analytics.cli.roi", "Campaign ROI and the finance report (CSV, JSON, Excel).", "roi_app"),
    "budget": CommandSpec("analytics.cli.roi", "Budget consumption per campaign.", "budget_app"),
    "reallocate": CommandSpec("analytics.cli.reallocate", "Budget reallocation: response curves, optimum, backtest."),
    "actions": CommandSpec("analytics.cli.actions", "Write-back to HubSpot: queue, inspect, deliver, retry, cancel."),
    "sync": CommandSpec("analytics.cli.sync", "Pull changes from a CRM into the warehouse."),
    "leads": CommandSpec("analytics.cli.leads", "Lead scores, the model card, routing and the qualification funnel."),
    "sql": CommandSpec("analytics.cli.sql", "The named queries: list them, print one, EXPLAIN it."),
    "health": CommandSpec("analytics.cli.health", "Customer health scores, bands, components and trend.", "health_app"),
    "retention": CommandSpec("analytics.cli.health", "Retention triggers per account, with evidence.", "retention_app"),
    "jobs": CommandSpec("analytics.cli.jobs", "Scheduled jobs: list, run, history, serve the schedule, crontab."),
    "sla": CommandSpec("analytics.cli.sla", "The SLA board: response times, violations, availability, accuracy."),
    "events": CommandSpec("analytics.cli.events", "Event-stream consumer groups (alert-system, analytics-pipeline)."),
    "churn": CommandSpec(
        "analytics.cli.health", "Churn probability, ARR at risk and drivers; the model card.", "churn_app"
    ),
    "adoption": CommandSpec("analytics.cli.adoption", "Feature adoption per account and feature, with milestones."),
    "feedback": CommandSpec("analytics.cli.feedback", "NPS, feedback themes, case studies, pain points, requests."),
}


class LazyCommands(TyperGroup):
    """A group whose commands are imported when they run, listed from :data:`COMMANDS`."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        spec = COMMANDS.get(name)
        if spec is None:
            return None
        command = typer.main.get_command(getattr(importlib.import_module(spec.module), spec.attribute))
        command.name = name
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, spec.help) for name, spec in COMMANDS.items()])


app = typer.Typer(
    cls=LazyCommands,
    name="analytics",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    help="RevLens: marketing analytics over a DuckDB warehouse, from the command line.",
)


@app.callback()
def _root() -> None:
    """RevLens: marketing analytics over a DuckDB warehouse, from the command line."""


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; exits the process with the command's status."""
    try:
        app(args=argv, prog_name="python -m analytics")
    except RevLensError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
