"""Named budget scenarios in the ops store (``budget_scenarios``): saved from the Budget page,
listed and compared side by side. A scenario keeps its inputs (``params``) and the advice it
produced (``result``, the spec's JSON shape), so a comparison needs no refit. Saving a name
the same user already has replaces it.
"""

from __future__ import annotations

import json

import sqlalchemy as sa

from analytics.core.errors import RevLensError
from analytics.ops.store import ops_engine, utcnow
from analytics.ops.tables import budget_scenarios


def save_scenario(name: str, params: dict, result: dict, user: str, engine=None) -> int:
    """Save (or replace) the scenario ``name`` of ``user``; returns its id."""
    name = (name or "").strip()
    if not name:
        raise RevLensError("A scenario needs a name; type one (e.g. 'Q1 plan, events locked').")
    if len(name) > 120:
        raise RevLensError(f"The scenario name is {len(name)} characters long; keep it to 120.")
    engine = engine or ops_engine()
    values = {
        "name": name,
        "created_by": user,
        "created_at": utcnow(),
        "params": json.dumps(params, sort_keys=True, default=str),
        "result": json.dumps(result, sort_keys=True, default=str),
    }
    with engine.begin() as conn:
        conn.execute(
            budget_scenarios.delete().where((budget_scenarios.c.name == name) & (budget_scenarios.c.created_by == user))
        )
        return int(conn.execute(budget_scenarios.insert().values(**values)).inserted_primary_key[0])


def list_scenarios(engine=None) -> list[dict]:
    """Every saved scenario, newest first: ``id, name, created_by, created_at, params, result``."""
    engine = engine or ops_engine()
    with engine.connect() as conn:
        found = conn.execute(
            sa.select(budget_scenarios).order_by(budget_scenarios.c.created_at.desc(), budget_scenarios.c.id.desc())
        ).mappings()
        return [{**row, "params": json.loads(row["params"]), "result": json.loads(row["result"])} for row in found]


def compare(scenarios: list[dict]):
    """A side-by-side frame: one row per channel, each scenario's optimized spend, and its totals."""
    import polars as pl

    channels = sorted({ch for s in scenarios for ch in s["result"]["optimized_allocation"]})
    columns = {
        "channel": [*channels, "total", "expected improvement", "expected improvement low", "expected improvement high"]
    }
    for s in scenarios:
        alloc = s["result"]["optimized_allocation"]
        gain = s["result"]["expected_improvement"]
        columns[s["name"]] = [
            *(float(alloc.get(ch, 0.0)) for ch in channels),
            float(sum(alloc.values())),
            float(gain["value"]),
            float(gain["low"]),
            float(gain["high"]),
        ]
    return pl.DataFrame(columns)
