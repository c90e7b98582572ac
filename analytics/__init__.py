"""RevLens analytics: pure Python (never imports streamlit), one package per capability.

Infrastructure imports no capability:

- :mod:`analytics.core`: errors, settings (the only reader of env vars and secrets), periods,
  change, money, numbers, labels;
- :mod:`analytics.warehouse`: the DuckDB schema, connection, query runner, versions, derived
  tables, catalog; :mod:`analytics.loads` finishes every load (new version, derived tables);
- :mod:`analytics.ops`: the operations store (SQLAlchemy): every ops table, audit, events, job runs.

Capabilities: :mod:`analytics.imports` (CRM and product exports), :mod:`analytics.demo` (the demo
warehouse and its planted truth), :mod:`analytics.overview` (KPIs and trends),
:mod:`analytics.attribution` (multi-touch attribution), :mod:`analytics.finance` (costs, ROI,
budgets, the finance report), :mod:`analytics.customers` (timelines; health and retention to come),
:mod:`analytics.crm` (write-back to HubSpot and sync from it). :mod:`analytics.cli` is
``python -m analytics``, one lazily imported module per command group.
"""
