"""``python -m analytics adoption``: feature adoption per account and feature, with milestones.

Machine names in CSV and JSON; the thresholds and key features are the ones saved on the Adoption
page (the ops store), or the spec's. Events for unknown accounts or features are reported on stderr.
"""

from __future__ import annotations

import json
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from analytics.cli.common import DB_OPTION_HELP, command_app, parse_date

app = command_app()

COLUMNS = ("account_id", "feature_id", "adoption_rate", "usage_velocity", "success_rate", "milestone")


class TableFormat(str, Enum):
    csv = "csv"
    json = "json"


def adoption_rows(con, as_of=None, config=None):
    """The CLI's rows: account_id, feature_id (the catalog's id, else the feature's name) and the metrics."""
    import polars as pl

    from analytics.customers import adoption

    config = config or adoption.SPEC_ADOPTION
    metrics = adoption.adoption_metrics(con, as_of, config)
    ids = adoption.catalog_ids(con)
    return metrics.with_columns(
        pl.col("feature").replace_strict(ids, default=pl.col("feature"), return_dtype=pl.String).alias("feature_id")
    ).select(COLUMNS)


@app.command()
def adoption(
    db: Annotated[Path | None, typer.Option(help=DB_OPTION_HELP)] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Measure as of this day (default: the data's last day).")
    ] = None,
    fmt: Annotated[TableFormat, typer.Option("--format", help="csv or json.")] = TableFormat.csv,
) -> None:
    """Adoption rate, usage velocity and success rate per account and feature, with the milestone reached."""
    from analytics.core.settings import db_path
    from analytics.customers import adoption as adoption_
    from analytics.warehouse.connection import connect

    day = parse_date(as_of, "--as-of")
    con = connect(db or db_path(), read_only=True)
    try:
        frame = adoption_rows(con, day, _config())
        for sentence in adoption_.quality_sentences(adoption_.usage_quality(con)):
            print(f"note: {sentence}", file=sys.stderr)
    finally:
        con.close()
    if fmt is TableFormat.csv:
        sys.stdout.write(frame.write_csv())
    else:
        sys.stdout.write(json.dumps(frame.to_dicts(), indent=2, ensure_ascii=False) + "\n")


def _config():
    from analytics.customers.adoption import SPEC_ADOPTION, load_adoption_config
    from analytics.customers.config import saved_key_features

    # read the saved configuration only from a store that exists (the CLI never creates one)
    if not saved_key_features() and not _store_exists():
        return SPEC_ADOPTION
    return load_adoption_config()


def _store_exists() -> bool:
    import sqlalchemy as sa

    from analytics.core.settings import ops_url

    parsed = sa.engine.make_url(ops_url())
    return parsed.get_backend_name() != "sqlite" or (
        parsed.database not in (None, "", ":memory:") and Path(parsed.database).is_file()
    )
