"""What every load runs once its rows are written: a new version, then the derived tables it affects.

Loads (the demo build, imports, the CRM sync, ``python -m analytics refresh``) call
:func:`finish_load` inside their transaction, so readers see the new rows and the derived
tables built from them together, or neither. A capability that owns derived tables adds its
:class:`~analytics.warehouse.derived.DerivedTables` (with the canonical tables it reads) to
:data:`DERIVED`.
"""

from __future__ import annotations

from collections.abc import Iterable

import duckdb

from analytics.attribution.journeys import JOURNEYS
from analytics.customers.health import HEALTH_HISTORY
from analytics.sales.engagement import LEAD_ENGAGEMENT
from analytics.sales.features import LEAD_FEATURES
from analytics.warehouse.derived import DerivedTables
from analytics.warehouse.versions import bump_version

DERIVED: tuple[DerivedTables, ...] = (JOURNEYS, HEALTH_HISTORY, LEAD_FEATURES, LEAD_ENGAGEMENT)


def finish_load(
    con: duckdb.DuckDBPyConnection,
    source: str,
    changed: Iterable[str] | None = None,
) -> str:
    """Stamp a new version for a load described by ``source``, and bring every derived table up to it.

    ``changed``: the canonical tables the load wrote (``None``: unknown, which rebuilds
    everything, as the demo build and ``refresh`` want). A derived table is rebuilt when
    the load changed one of its sources, or when it was not current before the load (built
    for an older version, or missing); the others are only marked current for the new
    version: their rows are still right. Returns the new version.
    """
    changed = None if changed is None else frozenset(changed)
    # which derived tables stand for the version before this load (decided before stamping the new one)
    current_before = {derived.name: derived.current(con) for derived in DERIVED}
    version = bump_version(con, source)
    for derived in DERIVED:
        if derived.reads_any(changed) or not current_before[derived.name]:
            derived.rebuild(con, version)
        else:
            derived.mark_current(con, version)
    return version
