"""Business hours, by hand: weekends, evenings, holidays."""

from __future__ import annotations

import numpy as np
import pytest

from analytics.sales.hours import add_business_hours, business_hours_between


def s(text: str) -> int:
    return int(np.datetime64(text, "s").astype("int64"))


def test_hours_between_skip_nights_weekends_and_holidays():
    friday_4pm, monday_10am = s("2026-09-04T16:00"), s("2026-09-07T10:00")
    assert business_hours_between([friday_4pm], [monday_10am])[0] == pytest.approx(2.0)
    assert business_hours_between([s("2026-09-05T12:00")], [s("2026-09-06T12:00")])[0] == 0  # Saturday to Sunday
    assert business_hours_between([friday_4pm], [monday_10am], holidays=["2026-09-07"])[0] == pytest.approx(1.0)
    assert business_hours_between([monday_10am], [friday_4pm])[0] == 0  # backwards is no time


def test_adding_business_hours_inverts_the_clock():
    assert add_business_hours([s("2026-09-04T16:00")], [2.0])[0] == s("2026-09-07T10:00")
    assert add_business_hours([s("2026-09-04T16:00")], [1.0])[0] == s("2026-09-04T17:00")  # the close, not Monday
    assert add_business_hours([s("2026-09-05T12:00")], [0.5])[0] == s("2026-09-07T09:30")
    assert add_business_hours([s("2026-09-04T08:00")], [16.0], holidays=["2026-09-07"])[0] == s("2026-09-08T17:00")
    start = np.array([s("2026-09-01T10:17"), s("2026-09-03T18:00")])
    hours = np.array([13.25, 30.0])
    assert np.allclose(business_hours_between(start, add_business_hours(start, hours)), hours)
