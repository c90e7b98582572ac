"""The Health page's account list: health, retention triggers, churn probability and owner in one frame.

:func:`health_view` computes what depends on the weights (scores and triggers) for one
as-of date; :func:`account_list` adds the churn model's predictions, which do not (the page
caches the two apart, so editing weights does not retrain the model). One row per paying
account with its score, band, components, 30-day change, risk level, fired triggers (names,
in :data:`~analytics.customers.retention.TRIGGERS` order), churn probability, ARR at risk and
the owner's name. ``arr_at_risk`` is ``churn_probability × arr`` (null when the churn model
could not be trained).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from analytics.customers.config import SPEC_CONFIG, HealthConfig
from analytics.customers.health import health_scores
from analytics.customers.retention import retention_flags
from analytics.warehouse.runner import Query, run

if TYPE_CHECKING:
    import polars as pl

OWNERS = Query(
    "customers.account_owners",
    """select rep_id as owner_id, name as owner_name, hubspot_owner_id from sales_reps order by name""",
    "The sales reps who own accounts, with their HubSpot owner ids.",
)


def owners(con) -> pl.DataFrame:
    return run(con, OWNERS)


@dataclass(frozen=True)
class HealthView:
    """Everything the Health page shows for one date and configuration, computed once.

    ``accounts``: the scores with risk_level, triggers (the fired triggers' names), evidence (the
    fired triggers of :func:`~analytics.customers.retention.retention_flags` as JSON, read with
    :func:`evidence_of`) and owner_name. All in one frame, which a page's cache reads back fast.
    """

    as_of: date
    accounts: pl.DataFrame


def health_view(con, as_of: date | None = None, config: HealthConfig = SPEC_CONFIG) -> HealthView:
    """Scores, fired triggers and owners of every paying account on ``as_of``, joined."""
    import polars as pl

    scores = health_scores(con, as_of, config)
    flags = retention_flags(con, as_of, config)
    fired = pl.DataFrame(
        {
            "account_id": [f["account_id"] for f in flags],
            "risk_level": [f["risk_level"] for f in flags],
            "triggers": [[t["name"] for t in f["triggers"]] for f in flags],
            "evidence": [json.dumps(f["triggers"], default=str) for f in flags],
        },
        schema={
            "account_id": pl.String,
            "risk_level": pl.String,
            "triggers": pl.List(pl.String),
            "evidence": pl.String,
        },
    )
    accounts = (
        scores.join(fired, on="account_id", how="left")
        .with_columns(
            pl.col("risk_level").fill_null("none"),
            pl.col("triggers").fill_null(pl.lit([], dtype=pl.List(pl.String))),
        )
        .join(owners(con).select("owner_id", "owner_name"), on="owner_id", how="left")
    )
    day = scores["as_of"][0] if scores.height else as_of
    return HealthView(as_of=day, accounts=accounts)


def evidence_of(row: dict) -> list[dict]:
    """An account row's fired triggers, each ``{name, level, evidence, …numbers}`` (empty when none fired)."""
    return json.loads(row.get("evidence") or "[]")


def account_list(view: HealthView, churn: pl.DataFrame | None) -> pl.DataFrame:
    """The view's accounts with their churn probability, ARR at risk and churn drivers (null without a model)."""
    import polars as pl

    frame = view.accounts
    if churn is None:
        return frame.with_columns(
            pl.lit(None, dtype=pl.Float64).alias("churn_probability"),
            pl.lit(None, dtype=pl.Float64).alias("arr_at_risk"),
        )
    drivers = churn.select(
        "account_id",
        "churn_probability",
        "arr_at_risk",
        "driver_1",
        "driver_1_contribution",
        "driver_2",
        "driver_2_contribution",
        "driver_3",
        "driver_3_contribution",
    )
    return frame.join(drivers, on="account_id", how="left")
