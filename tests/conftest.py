"""Shared fixtures: a small demo warehouse built once per test session."""

from __future__ import annotations

import pytest

from analytics.demo import build_demo

SMALL_TOUCHPOINTS = 30_000


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory) -> str:
    """Path of a small demo warehouse (seed 7, 30,000 touchpoints); treat it as read-only."""
    path = tmp_path_factory.mktemp("warehouse") / "demo.duckdb"
    build_demo(path, seed=7, touchpoints=SMALL_TOUCHPOINTS)
    return str(path)
