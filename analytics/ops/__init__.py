"""The operations store (infrastructure: it imports no capability).

Transactional state beside the warehouse, through SQLAlchemy: every table in
:mod:`~analytics.ops.tables`, the engine and migrations in :mod:`~analytics.ops.store`,
the audit log (:mod:`~analytics.ops.audit`), the event outbox and its Kafka sink
(:mod:`~analytics.ops.events`), job-run bookkeeping (:mod:`~analytics.ops.runs`).
"""
