"""The Overview: the five headline KPIs with the previous period, and monthly trends (:mod:`~analytics.overview.kpis`)."""
