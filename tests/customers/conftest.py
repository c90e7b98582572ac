"""Fixtures of the customer-health tests: a medium demo warehouse, large enough for the churn model."""

from __future__ import annotations

import pytest

from analytics.demo.builder import build_demo


@pytest.fixture(scope="session")
def medium_demo(tmp_path_factory) -> str:
    """A demo warehouse of 2,000 accounts (seed 3, 200,000 touchpoints); treat it as read-only."""
    path = tmp_path_factory.mktemp("medium_health") / "medium.duckdb"
    build_demo(path, seed=3, touchpoints=200_000)
    return str(path)


@pytest.fixture()
def ops(tmp_path, monkeypatch):
    """A fresh ops store for one test (REVLENS_OPS_URL at a temporary SQLite file)."""
    from analytics.ops.store import ops_engine

    url = f"sqlite:///{tmp_path / 'ops.sqlite'}"
    monkeypatch.setenv("REVLENS_OPS_URL", url)
    return ops_engine(url)
