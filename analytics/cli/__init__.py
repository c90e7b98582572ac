"""``python -m analytics``: one subcommand module per capability.

A user error (:class:`analytics.errors.RevLensError`) prints one sentence to
stderr and exits with status 2; it never shows a traceback. Usage errors are
Typer's own (status 2 as well).
"""

from __future__ import annotations

import importlib
import sys

from analytics.cli.app import app
from analytics.errors import RevLensError

# Each module registers its subcommands on `app` when imported.
COMMAND_MODULES = ("demo", "imports", "attribution", "roi", "actions", "sync", "refresh")

for _name in COMMAND_MODULES:
    importlib.import_module(f"analytics.cli.{_name}")


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
