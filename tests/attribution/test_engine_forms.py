"""The queries with a form per engine give the same rows in both forms.

Spark's forms (``chains.lagged_by_window`` partitioned by journey; ``journeys._raw_touches`` ranking
ties by one window) are plain SQL that DuckDB runs too: here both forms run on DuckDB and must give
identical credit; ``tests/warehouse/test_spark.py`` runs the Spark form on Spark against DuckDB's.
"""

from __future__ import annotations

import pytest

from analytics.attribution.engine import attribute
from analytics.attribution.journeys import Journeys
from analytics.attribution.models import MODELS
from analytics.attribution.window import JourneyWindow
from analytics.warehouse.runner import recording


@pytest.mark.parametrize(
    "window",
    [JourneyWindow(), JourneyWindow(account_level=True), JourneyWindow(by="campaign")],
    ids=["derived journeys", "raw account journeys", "by campaign"],
)
def test_sparks_forms_give_duckdbs_rows(demo, monkeypatch, window):
    models = MODELS if window.by == "channel" and not window.account_level else ["first_touch", "markov", "shapley"]
    with recording() as duckdb_statements:
        duckdb_form = attribute(demo, models, window, order=2)
    monkeypatch.setattr(Journeys, "engine", property(lambda self: "spark"))
    with recording() as spark_statements:
        spark_form = attribute(demo, models, window, order=2)
    changed = {s["name"] for s in spark_statements} - {s["name"] for s in duckdb_statements}
    changed |= {d["name"] for d, s in zip(duckdb_statements, spark_statements) if d["sql"] != s["sql"]}
    assert changed, "the Spark forms were not used"
    assert spark_form.equals(duckdb_form)
