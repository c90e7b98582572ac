"""``python -m analytics sql``: the named queries, printed or EXPLAINed, so nobody has to run Python to read one."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Annotated

import typer

from analytics.cli.common import DB_OPTION_HELP, command_app
from analytics.core.errors import RevLensError

app = command_app("The named queries: list them, print one, EXPLAIN it.", group=True)

# Modules that declare named queries (importing them fills the registry).
QUERY_MODULES = (
    "analytics.attribution.journeys",
    "analytics.overview.kpis",
    "analytics.finance.costs",
    "analytics.finance.budget",
    "analytics.warehouse.catalog",
    "analytics.crm.targets",
    "analytics.attribution.rules",
    "analytics.attribution.chains",
    "analytics.attribution.explorers",
    "analytics.finance.report",
    "analytics.customers.features",
    "analytics.customers.health",
    "analytics.customers.retention",
    "analytics.customers.activity",
    "analytics.customers.portfolio",
    "analytics.customers.interventions",
    "analytics.finance.coverage",
    "analytics.customers.adoption",
    "analytics.customers.feedback",
    "analytics.jobs.definitions",
)


def _registry() -> dict:
    from analytics.warehouse.runner import QUERIES

    for module in QUERY_MODULES:
        importlib.import_module(module)
    return QUERIES


def _query(name: str):
    queries = _registry()
    if name not in queries:
        raise RevLensError(f"There is no query named {name!r}; `python -m analytics sql list` shows them.")
    return queries[name]


@app.command("list")
def list_command() -> None:
    """Every named query with what it computes."""
    for name, query in sorted(_registry().items()):
        typer.echo(f"{name}\t{query.description}")


@app.command("show")
def show_command(name: Annotated[str, typer.Argument(help="A name from `sql list`.")]) -> None:
    """Print a query's SQL (its parameters are the $names in it)."""
    typer.echo(_query(name).sql.strip())


@app.command("explain")
def explain_command(
    name: Annotated[str, typer.Argument(help="A name from `sql list`.")],
    db: Annotated[Path | None, typer.Option(help=DB_OPTION_HELP)] = None,
    param: Annotated[
        list[str] | None,
        typer.Option(help="A parameter as name=value (dates as YYYY-MM-DD; a list as [a,b], [] for none)."),
    ] = None,
) -> None:
    """DuckDB's plan of a query on the warehouse (``EXPLAIN``), with its parameters bound."""
    from analytics.core.settings import db_path
    from analytics.warehouse.connection import connect
    from analytics.warehouse.runner import examples_for, rows

    query = _query(name)
    params = {}
    for item in param or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise RevLensError(f"--param {item!r} is not name=value; write it like --param lookback=90.")
        value = value.strip()
        if value.startswith("[") and value.endswith("]"):  # a list, e.g. segments=[] or segments=[SMB,Enterprise]
            params[key.strip()] = [item.strip() for item in value[1:-1].split(",") if item.strip()]
        else:
            params[key.strip()] = value
    con = connect(db or db_path(), read_only=True)
    try:
        plan = rows(con, "explain " + query.sql, {**examples_for(con, name), **params})
    except Exception as exc:  # a missing parameter or a type DuckDB cannot coerce: say which
        raise RevLensError(
            f"Cannot explain {name}: {str(exc).splitlines()[0]}; give every $parameter with --param."
        ) from None
    finally:
        con.close()
    for _, text in plan:
        typer.echo(text)
