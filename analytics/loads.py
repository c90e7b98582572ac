"""What every load runs once its rows are written: a new version, then every derived table.

Loads (the demo build, imports, the CRM sync, ``python -m analytics refresh``) call
:func:`finish_load` inside their transaction, so readers see the new rows and the derived
tables built from them together, or neither. A capability that owns derived tables adds its
:class:`~analytics.warehouse.derived.DerivedTables` to :data:`DERIVED`.
"""

from __future__ import annotations

import duckdb

from analytics.attribution.journeys import JOURNEYS
from analytics.customers.health import HEALTH_HISTORY
from analytics.sales.features import LEAD_FEATURES
from analytics.warehouse.derived import DerivedTables
from analytics.warehouse.versions import bump_version

DERIVED: tuple[DerivedTables, ...] = (JOURNEYS, HEALTH_HISTORY, LEAD_FEATURES)


def finish_load(con: duckdb.DuckDBPyConnection, source: str) -> str:
    """Stamp a new version for a load described by ``source`` and rebuild every derived table."""
    version = bump_version(con, source)
    for derived in DERIVED:
        derived.rebuild(con, version)
    return version
