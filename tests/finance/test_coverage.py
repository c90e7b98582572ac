"""An empty report period is a sentence with the data's range (tiny warehouse: every date by hand), in the CLI too.

Tiny: won deals close on 2025-01-20 (O2) and 2025-02-10 (O1); costs are booked from 2025-01-05 to 2026-03-01
(the finance rows).
"""

from __future__ import annotations

import subprocess
import sys
from datetime import date

import pytest

from analytics.core.errors import RevLensError
from analytics.finance.coverage import period_coverage, require_data
from tests.tiny import build_tiny_warehouse


def test_coverage_counts_the_period_and_spans_the_data(tiny):
    february = period_coverage(tiny, date(2025, 2, 1), date(2025, 2, 28))
    assert (february.won_deals, february.costs) == (1, 3)  # O1; K1 and K2 media, the overhead
    assert (february.first_close, february.last_close) == (date(2025, 1, 20), date(2025, 2, 10))
    assert (february.first_cost, february.last_cost) == (date(2025, 1, 5), date(2026, 3, 1))
    assert february.span(costs=True) == (date(2025, 1, 5), date(2026, 3, 1))
    assert february.span(costs=False) == (date(2025, 1, 20), date(2025, 2, 10))
    # a day with a cost and no won deal: data for ROI, not for attribution
    assert require_data(tiny, date(2025, 1, 5), date(2025, 1, 5), costs=True, what="2025-01-05").costs == 1
    with pytest.raises(RevLensError, match="No won deal closes in 2025-01-05; .* from 2025-01-20 to 2025-02-10"):
        require_data(tiny, date(2025, 1, 5), date(2025, 1, 5), costs=False, what="2025-01-05")


def test_an_empty_period_names_the_range(tiny):
    with pytest.raises(RevLensError) as raised:
        require_data(tiny, date(2024, 1, 1), date(2024, 3, 31), costs=True, what="2024-Q1")
    assert str(raised.value) == (
        "No won deal closes and no cost is booked in 2024-Q1 (2024-01-01 to 2024-03-31); the warehouse's data runs "
        "from 2025-01-05 to 2026-03-01, so choose a period inside that range."
    )


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "analytics", *args], capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def tiny_file(tmp_path_factory) -> str:
    return build_tiny_warehouse(tmp_path_factory.mktemp("tiny_cli") / "tiny.duckdb")


@pytest.mark.parametrize(
    "args",
    [
        ("roi", "--period", "2024-Q1", "--format", "csv"),
        ("attribution", "--model", "linear", "--period", "2024-Q1", "--format", "csv"),
    ],
)
def test_cli_reports_of_an_empty_period_exit_2_with_the_range(tiny_file, args):
    done = _cli(*args, "--db", str(tiny_file))
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert done.stdout == ""  # no header-only CSV
    assert "in 2024-Q1 (2024-01-01 to 2024-03-31); the warehouse's data runs from 2025-" in done.stderr
    assert "Traceback" not in done.stderr


def test_cli_attribution_keeps_the_deals_of_its_period(tiny_file):
    february = _cli(
        "attribution", "--model", "first_touch", "--period", "2025-02", "--format", "csv", "--db", tiny_file
    )
    assert february.returncode == 0, february.stderr
    everything = _cli("attribution", "--model", "first_touch", "--format", "csv", "--db", tiny_file)
    assert everything.returncode == 0, everything.stderr
    assert february.stdout != everything.stdout  # O2 (January) is left out
    assert "email" in february.stdout and "paid_search" not in february.stdout  # CSV keeps machine names
