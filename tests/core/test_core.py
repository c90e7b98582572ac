"""Report periods, percent change, money and number formatting: the definitions every report shares."""

from __future__ import annotations

from datetime import date

import pytest

from analytics.core.change import percent_change, percentage_points
from analytics.core.errors import RevLensError
from analytics.core.money import amount, cents, dollars, money
from analytics.core.numbers import count, percent, ratio, signed_percent
from analytics.core.periods import ReportPeriod, add_months, custom_period, parse_period, period_labels

JAN = date(2026, 1, 1)


@pytest.mark.parametrize(
    ("text", "start", "end", "prev_start", "prev_end"),
    [
        ("2026-Q3", date(2026, 7, 1), date(2026, 9, 30), date(2026, 4, 1), date(2026, 6, 30)),
        ("2026-Q1", date(2026, 1, 1), date(2026, 3, 31), date(2025, 10, 1), date(2025, 12, 31)),
        ("2026-09", date(2026, 9, 1), date(2026, 9, 30), date(2026, 8, 1), date(2026, 8, 31)),
        ("2026-03", date(2026, 3, 1), date(2026, 3, 31), date(2026, 2, 1), date(2026, 2, 28)),
        ("2025", date(2025, 1, 1), date(2025, 12, 31), date(2024, 1, 1), date(2024, 12, 31)),
    ],
)
def test_periods_and_their_previous(text, start, end, prev_start, prev_end):
    period = parse_period(text)
    assert (period.start, period.end) == (start, end)
    assert (period.previous().start, period.previous().end) == (prev_start, prev_end)


def test_custom_period_previous_has_the_same_length():
    period = custom_period(date(2026, 1, 10), date(2026, 1, 19))
    assert (period.previous().start, period.previous().end) == (date(2025, 12, 31), date(2026, 1, 9))
    assert period.months() == [JAN]


@pytest.mark.parametrize("text", ["2026-13", "Q3 2026", "last month"])
def test_bad_period_is_a_clear_error(text):
    with pytest.raises(RevLensError, match="2026-Q3"):
        parse_period(text)


def test_a_custom_window_is_preceded_by_one_of_the_same_length():
    previous = ReportPeriod(date(2026, 2, 1), date(2026, 2, 28)).previous()
    assert (previous.start, previous.end) == (date(2026, 1, 4), date(2026, 1, 31))


@pytest.mark.parametrize(
    ("day", "months", "first"),
    [
        (date(2026, 10, 31), -5, date(2026, 5, 1)),
        (date(2026, 1, 15), -1, date(2025, 12, 1)),
        (date(2025, 12, 31), 1, date(2026, 1, 1)),
        (date(2026, 3, 3), 0, date(2026, 3, 1)),
    ],
)
def test_add_months_lands_on_the_first_of_the_month(day, months, first):
    assert add_months(day, months) == first


def test_period_labels_newest_first():
    assert period_labels(date(2026, 5, 20), date(2026, 10, 31), "quarter") == ["2026-Q4", "2026-Q3", "2026-Q2"]
    assert period_labels(date(2026, 8, 2), date(2026, 10, 1), "month") == ["2026-10", "2026-09", "2026-08"]


@pytest.mark.parametrize(
    ("current", "previous", "change"),
    [
        (150.0, 100.0, 50.0),
        (50.0, 100.0, -50.0),
        (-50.0, -100.0, 50.0),
        (10.0, 0.0, None),
        (None, 5.0, None),
    ],
)
def test_percent_change_by_hand(current, previous, change):
    assert percent_change(current, previous) == change


def test_percentage_points():
    assert percentage_points(12.345, 10.0) == 2.35 and percentage_points(None, 1.0) is None


@pytest.mark.parametrize(
    "value, text",
    [
        (None, "—"),
        (0, "$0"),
        (950.4, "$950"),
        (12_345, "$12.3K"),
        (-4_560_000, "-$4.56M"),
        (1.2e9, "$1.20B"),
    ],
)
def test_money_format(value, text):

    assert money(value) == text


def test_dollars_amounts_and_cents():
    assert dollars(-950.4) == "-$950" and dollars(1_234_567.8) == "$1,234,568" and dollars(None) == "—"
    assert amount(float("nan")) == "—" and amount(12_345.6) == "12,346"
    assert cents(44244.579999999994) == 44244.58 and cents(float("inf")) is None


def test_numbers_and_percentages():
    assert count(12_345.0) == "12,345" and percent(12.5) == "12.50%" and percent(None) == "—"
    assert signed_percent(3.21) == "+3.2%" and signed_percent(None) is None
    assert ratio(3.254) == "3.25×" and ratio(float("nan")) == "—"


def test_labels_name_what_they_know_and_humanize_the_rest():
    from analytics.core.labels import label, relabel_columns

    assert label("channel", "organic_search") == "Organic search"
    assert label("channel", "content_syndication") == "Content syndication"  # a channel only the user's data has
    assert label("model", "first_touch") == "First touch"
    assert label("status", None) == "—"
    assert relabel_columns(["attributed_revenue", "odd_column"]) == {
        "attributed_revenue": "Attributed revenue",
        "odd_column": "Odd column",
    }
