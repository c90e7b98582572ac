"""Attribution, ROI, the Overview and budget stay correct when NaN, ±inf, 1e30 and year-9999 values
got into the warehouse by hand (issue 13, case 2 and 7): they are left out, so every number equals
the clean warehouse's; names that are formulas or markup reach no spreadsheet or terminal live."""

from __future__ import annotations

import io
import math

import openpyxl
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from analytics.attribution.engine import attribute_rows
from analytics.attribution.models import MODELS
from analytics.attribution.window import JourneyWindow
from analytics.cli import main
from analytics.core.cells import is_live, is_live_csv_cell
from analytics.core.periods import parse_period
from analytics.finance.budget import budget_consumption
from analytics.finance.export import workbook_bytes
from analytics.finance.report import financial_report
from analytics.overview import kpis
from analytics.warehouse.connection import connect
from tests.hostile.conftest import CMD_NAME, FORMULA_NAME, MARKUP_NAME

Q = parse_period("2026-Q3")
FAST_MODELS = [m for m in MODELS if m not in ("shapley",)]


@pytest.fixture(scope="module")
def clean(demo_db):
    con = connect(demo_db, read_only=True)
    yield con
    con.close()


@pytest.fixture(scope="module")
def hostile(hostile_db):
    con = connect(hostile_db, read_only=True)
    yield con
    con.close()


def test_the_hostile_values_are_in_the_warehouse(hostile):
    assert (
        hostile.execute("select count(*) from opportunities where not isfinite(amount) or amount > 1e26").fetchone()[0]
        == 4
    )
    assert (
        hostile.execute("select count(*) from campaign_costs where not isfinite(amount) or amount > 1e26").fetchone()[0]
        == 5
    )


@pytest.mark.parametrize("model", [*FAST_MODELS, "shapley"])
def test_attribution_equals_the_clean_warehouse(clean, hostile, model):
    window = JourneyWindow(by="channel", lookback_days=90)
    expected = attribute_rows(clean, [model], window)
    got = attribute_rows(hostile, [model], window)
    assert got == expected
    assert all(math.isfinite(v) for row in got for v in row if isinstance(v, float))


def same_numbers(left: pl.DataFrame, right: pl.DataFrame) -> None:
    """Equal frames: integers and decimals exactly, floats to 1e-12 relative."""
    assert_frame_equal(left, right, rel_tol=1e-12, abs_tol=1e-9)


def test_roi_overview_and_budget_equal_the_clean_warehouse(clean, hostile):
    a = financial_report(clean, Q.start, Q.end, Q.kind, model="linear", n_boot=0, compare=False)
    b = financial_report(hostile, Q.start, Q.end, Q.kind, model="linear", n_boot=0, compare=False)
    numeric = [c for c, t in a.by_campaign.schema.items() if t.is_numeric()]
    key = ["campaign_id"]
    left = a.by_campaign.select(key + numeric).sort(key)
    right = b.by_campaign.select(key + numeric).sort(key)
    # floating-point sums may differ in the last bit with DuckDB's parallel aggregation order
    same_numbers(left, right)
    same_numbers(a.by_channel.select(pl.selectors.numeric()), b.by_channel.select(pl.selectors.numeric()))
    assert kpis.data_range(clean) == kpis.data_range(hostile)
    args = (Q.start, Q.end, [], [])
    assert kpis.kpis(clean, *args) == kpis.kpis(hostile, *args)
    budget = budget_consumption(hostile)
    assert budget.filter(pl.col("campaign_id") == "cmp-hostile")["budget"].to_list() == [0.0]
    clean_budget = budget_consumption(clean).sort("campaign_id")
    same = budget.filter(pl.col("campaign_id") != "cmp-hostile").sort("campaign_id")
    same_numbers(clean_budget.select(pl.selectors.numeric()), same.select(pl.selectors.numeric()))


def test_no_exported_cell_is_live(hostile):
    report = financial_report(hostile, Q.start, Q.end, Q.kind, model="linear", n_boot=0, compare=False)
    book = openpyxl.load_workbook(io.BytesIO(workbook_bytes(report, budget_consumption(hostile))))
    texts, numbers = [], 0
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    texts.append(cell.value)
                    assert not is_live(cell.value), (sheet.title, cell.coordinate, cell.value)
                elif isinstance(cell.value, int | float):
                    numbers += 1
    assert "'" + FORMULA_NAME in texts and "'" + CMD_NAME in texts
    assert numbers > 100  # numbers stay numbers


def _cli(capsys, *args):
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    captured = capsys.readouterr()
    return exit_info.value.code or 0, captured.out, captured.err


def test_cli_exports_and_tables_on_the_hostile_warehouse(hostile_db, capsys, tmp_path):
    code, out, err = _cli(capsys, "roi", "--db", hostile_db, "--period", "2026-Q3", "--n-boot", "0", "--format", "csv")
    assert code == 0, err
    frame = pl.read_csv(io.StringIO(out), infer_schema_length=0)
    assert not any(is_live_csv_cell(v) for column in frame.columns for v in frame[column].drop_nulls())
    assert "'" + FORMULA_NAME in frame["campaign_name"].to_list()
    code, out, err = _cli(
        capsys, "attribution", "--db", hostile_db, "--model", "linear", "--by", "campaign", "--format", "csv"
    )
    assert code == 0, err
    code, out, err = _cli(capsys, "budget", "--db", hostile_db)
    assert code == 0, err
    assert "[/b] [link=http://evil.example]x[/link]" in out
    assert "\x1b]8;" not in out  # no terminal hyperlink
    code, out, err = _cli(capsys, "budget", "--db", hostile_db, "--format", "csv", "--out", str(tmp_path / "b.csv"))
    assert code == 0, err
    assert MARKUP_NAME in (tmp_path / "b.csv").read_text()
    code, out, err = _cli(
        capsys,
        "roi",
        "--db",
        hostile_db,
        "--period",
        "2026-Q3",
        "--n-boot",
        "0",
        "--format",
        "xlsx",
        "--out",
        str(tmp_path / "r.xlsx"),
    )
    assert code == 0, err
