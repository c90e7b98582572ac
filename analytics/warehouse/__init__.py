"""The DuckDB warehouse (infrastructure: it imports no capability).

- :mod:`~analytics.warehouse.schema`: the canonical tables' DDL, their time columns;
- :mod:`~analytics.warehouse.connection`: opening the file, the app's read-only
  :class:`~analytics.warehouse.connection.Warehouse`, user-fixable errors;
- :mod:`~analytics.warehouse.runner`: the one seam every warehouse query goes through;
- :mod:`~analytics.warehouse.versions` and :mod:`~analytics.warehouse.derived`: the
  version stamp and the derived tables every load rebuilds;
- :mod:`~analytics.warehouse.catalog`: what the warehouse holds (rows, ranges, freshness).
"""
