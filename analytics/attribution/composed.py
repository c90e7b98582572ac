"""Statements composed for one call (a set of models, a source of journeys), named for the record.

A :class:`ComposedQuery` is a :class:`~analytics.warehouse.runner.Query` that is not put in the
registry: its SQL depends on the call (the rule models asked for, the journeys' source), so
``python -m analytics sql`` lists the registered form and ``attribution --show-sql`` prints the
composed one with this name.
"""

from __future__ import annotations

from dataclasses import dataclass

from analytics.warehouse.runner import Query


@dataclass(frozen=True)
class ComposedQuery(Query):
    def __post_init__(self):  # not registered: many statements share a name
        pass


def named(name: str, sql: str, description: str = "") -> ComposedQuery:
    return ComposedQuery(name, sql, description)
