"""Readable frames for the app's downloads: labels for values and headers, money in cents, raw on request."""

from __future__ import annotations

import polars as pl
import pytest

from analytics.core.tables import is_money, readable


@pytest.mark.parametrize(
    ("column", "money"),
    [
        ("attributed_revenue", True),
        ("total_investment", True),
        ("burn_rate_per_day", True),
        ("credit", True),
        ("revenue_low", True),
        ("creative_production", True),
        ("arr", True),
        ("attributed_conversions", False),
        ("revenue_share", False),
        ("roi_percentage", False),
        ("payback_months", False),
        ("consumption_pct", False),
        ("touch_share", False),
    ],
)
def test_money_columns(column, money):
    assert is_money(column) is money


def test_readable_download_labels_values_and_headers_and_rounds_money_to_cents():
    frame = pl.DataFrame(
        {
            "channel": ["organic_search", "email", None],
            "model": ["first_touch", "linear", "markov"],
            "attributed_revenue": [44244.579999999994, 3564.6200000000003, None],
            "attributed_conversions": [1.0 / 3.0, 2.0, 0.0],
        }
    )
    shown = readable(frame)
    assert shown.columns == ["Channel", "Model", "Attributed revenue", "Attributed conversions"]
    assert shown["Channel"].to_list() == ["Organic search", "Email", None]
    assert shown["Model"].to_list() == ["First touch", "Linear", "Markov chain"]
    assert shown["Attributed revenue"].to_list() == [44244.58, 3564.62, None]
    assert shown["Attributed conversions"].to_list() == [0.3333, 2.0, 0.0]
    csv = shown.write_csv()
    assert "44244.58," in csv and "3564.62," in csv and "99999" not in csv and "0000000" not in csv


def test_raw_keeps_machine_names_and_full_precision():
    frame = pl.DataFrame({"channel": ["organic_search"], "attributed_revenue": [44244.579999999994]})
    assert readable(frame, raw=True).equals(frame)


def test_overrides_of_headers_kinds_and_money():
    frame = pl.DataFrame({"key": ["as_booked"], "value": [1.239]})
    shown = readable(frame, headers={"key": "Method"}, kinds={"key": "allocation"}, money_columns={"value"})
    assert shown.columns == ["Method", "Value"]
    assert shown.row(0) == ("As booked on each cost", 1.24)


def test_top_with_rest_groups_the_tail_per_model():
    from analytics.core.tables import top_with_rest

    frame = pl.DataFrame(
        {
            "campaign": ["A", "B", "C", "D"] * 2,
            "model": ["linear"] * 4 + ["markov"] * 4,
            "attributed_revenue": [40.0, 30.0, 20.0, 10.0, 35.0, 25.0, 30.0, 10.0],
        }
    )
    grouped, top = top_with_rest(frame, "campaign", "attributed_revenue", 2, "Other (2)", group_by=("model",))
    # totals: A 75, B 55, C 50, D 20 -> A and B kept, C and D summed per model
    assert top == ["A", "B"]
    assert sorted(grouped.rows()) == [
        ("A", "linear", 40.0),
        ("A", "markov", 35.0),
        ("B", "linear", 30.0),
        ("B", "markov", 25.0),
        ("Other (2)", "linear", 30.0),
        ("Other (2)", "markov", 40.0),
    ]
    assert grouped["attributed_revenue"].sum() == frame["attributed_revenue"].sum()  # nothing lost
    same, keys = top_with_rest(frame, "campaign", "attributed_revenue", 3, "Other")
    assert same.equals(frame) and keys == ["A", "B", "C", "D"]  # one key alone is not grouped
