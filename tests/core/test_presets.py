"""Date presets and the period a range is: every case computed by hand."""

from __future__ import annotations

from datetime import date

import pytest

from analytics.core.errors import RevLensError
from analytics.core.periods import PRESETS, ReportPeriod, clamp, period_of, preset_range, quarter_start, shift_months


@pytest.mark.parametrize(
    ("name", "as_of", "start", "end", "kind"),
    [
        # 31 Oct 2026 back 29 days is 2 Oct: 30 days with the 31st
        ("last_30_days", date(2026, 10, 31), date(2026, 10, 2), date(2026, 10, 31), "custom"),
        # across a year end: 15 Jan − 29 days = 17 Dec
        ("last_30_days", date(2026, 1, 15), date(2025, 12, 17), date(2026, 1, 15), "custom"),
        # exactly September (1 Sep + 29 days = 30 Sep): a month
        ("last_30_days", date(2026, 9, 30), date(2026, 9, 1), date(2026, 9, 30), "month"),
        ("last_quarter", date(2026, 10, 31), date(2026, 7, 1), date(2026, 9, 30), "quarter"),
        ("last_quarter", date(2026, 2, 10), date(2025, 10, 1), date(2025, 12, 31), "quarter"),
        # on a quarter's last day, "last quarter" is still the one before it
        ("last_quarter", date(2026, 9, 30), date(2026, 4, 1), date(2026, 6, 30), "quarter"),
        ("quarter_to_date", date(2026, 10, 31), date(2026, 10, 1), date(2026, 10, 31), "month"),
        ("quarter_to_date", date(2026, 8, 20), date(2026, 7, 1), date(2026, 8, 20), "custom"),
        ("quarter_to_date", date(2026, 6, 30), date(2026, 4, 1), date(2026, 6, 30), "quarter"),
        ("year_to_date", date(2026, 10, 31), date(2026, 1, 1), date(2026, 10, 31), "custom"),
        ("year_to_date", date(2026, 12, 31), date(2026, 1, 1), date(2026, 12, 31), "year"),
        ("last_12_months", date(2026, 10, 31), date(2025, 11, 1), date(2026, 10, 31), "custom"),
        ("last_12_months", date(2026, 10, 15), date(2025, 10, 16), date(2026, 10, 15), "custom"),
        # 29 Feb 2028 − 12 months = 28 Feb 2027 (clamped), so the range starts on 1 Mar 2027
        ("last_12_months", date(2028, 2, 29), date(2027, 3, 1), date(2028, 2, 29), "custom"),
        ("last_12_months", date(2026, 12, 31), date(2026, 1, 1), date(2026, 12, 31), "year"),
    ],
)
def test_presets_by_hand(name, as_of, start, end, kind):
    period = preset_range(name, as_of)
    assert (period.start, period.end, period.kind) == (start, end, kind)


def test_every_preset_has_a_label_and_an_unknown_one_is_a_clear_error():
    from analytics.core.labels import VOCABULARY

    assert set(PRESETS) == set(VOCABULARY["preset"])
    with pytest.raises(RevLensError, match="last_30_days"):
        preset_range("yesterday", date(2026, 1, 1))


@pytest.mark.parametrize(
    ("start", "end", "kind", "label"),
    [
        (date(2026, 4, 1), date(2026, 6, 30), "quarter", "2026-Q2"),
        (date(2026, 2, 1), date(2026, 2, 28), "month", "2026-02"),
        (date(2025, 1, 1), date(2025, 12, 31), "year", "2025"),
        (date(2026, 4, 1), date(2026, 6, 29), "custom", "2026-04-01 to 2026-06-29"),
        (date(2026, 5, 1), date(2026, 7, 31), "custom", "2026-05-01 to 2026-07-31"),  # three months, not a quarter
    ],
)
def test_a_range_that_is_a_month_quarter_or_year_is_one(start, end, kind, label):
    period = period_of(start, end)
    assert (period.kind, period.label) == (kind, label)


def test_a_quarter_typed_as_dates_is_compared_with_the_quarter_before():
    previous = period_of(date(2026, 4, 1), date(2026, 6, 30)).previous()
    assert (previous.start, previous.end) == (date(2026, 1, 1), date(2026, 3, 31))


def test_reversed_range_is_a_clear_error():
    with pytest.raises(RevLensError, match="swap"):
        period_of(date(2026, 2, 2), date(2026, 2, 1))


@pytest.mark.parametrize(
    ("day", "months", "shifted"),
    [
        (date(2026, 3, 31), -1, date(2026, 2, 28)),
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2024, 3, 31), -1, date(2024, 2, 29)),
        (date(2026, 10, 31), -12, date(2025, 10, 31)),
    ],
)
def test_shift_months_clamps_to_the_month_end(day, months, shifted):
    assert shift_months(day, months) == shifted


def test_quarter_start():
    assert [quarter_start(date(2026, m, 15)) for m in (1, 3, 4, 8, 12)] == [
        date(2026, 1, 1),
        date(2026, 1, 1),
        date(2026, 4, 1),
        date(2026, 7, 1),
        date(2026, 10, 1),
    ]


def test_clamp_to_the_data():
    first, last = date(2025, 5, 3), date(2026, 10, 31)
    whole = ReportPeriod(date(2026, 7, 1), date(2026, 9, 30), "quarter")
    assert clamp(whole, first, last) is whole
    cut = clamp(ReportPeriod(date(2025, 4, 1), date(2025, 6, 30), "quarter"), first, last)
    assert (cut.start, cut.end, cut.kind) == (date(2025, 5, 3), date(2025, 6, 30), "custom")
    outside = clamp(ReportPeriod(date(2027, 1, 1), date(2027, 3, 31), "quarter"), first, last)
    assert (outside.start, outside.end) == (last, last)
