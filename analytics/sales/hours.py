"""Business hours: elapsed business time between instants, and an instant plus business hours.

A business day is a weekday (Monday–Friday) not in ``holidays``; it is open from
``open_hour`` to ``close_hour`` (UTC unless the caller shifts the clock). With
``L = (close_hour − open_hour) · 3600`` seconds per business day, the business seconds from
the Unix epoch to an instant ``t`` on day ``d`` at second ``s`` of that day are

    C(t) = L · busdays[epoch, d) + [d is a business day] · clip(s − open, 0, L)

so the business time between ``a`` and ``b`` is ``C(b) − C(a)``, and ``a`` plus ``h``
business hours is the earliest instant ``t`` with ``C(t) = C(a) + 3600·h`` (the inverse:
business day index ``k = ⌊C / L⌋`` is ``np.busday_offset(epoch, k)``). Everything is
vectorized over numpy arrays of epoch seconds (int64).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

DAY = 86_400
EPOCH = np.datetime64("1970-01-01", "D")


def _days(seconds: np.ndarray) -> np.ndarray:
    return (np.asarray(seconds, dtype="int64") // DAY).astype("datetime64[D]")


def business_clock(seconds, open_hour: int = 9, close_hour: int = 17, holidays: Sequence = ()) -> np.ndarray:
    """``C(t)``: business seconds from the epoch to each instant in ``seconds``."""
    t = np.asarray(seconds, dtype="int64")
    day = _days(t)
    length = (close_hour - open_hour) * 3600
    before = np.busday_count(EPOCH, day, holidays=list(holidays)).astype("int64")
    within = np.clip(t - day.astype("int64") * DAY - open_hour * 3600, 0, length)
    is_open = np.is_busday(day, holidays=list(holidays))
    return before * length + np.where(is_open, within, 0)


def business_hours_between(start, end, open_hour: int = 9, close_hour: int = 17, holidays: Sequence = ()) -> np.ndarray:
    """Business hours elapsed from ``start`` to ``end`` (epoch seconds; 0 when ``end`` ≤ ``start``)."""
    a = business_clock(start, open_hour, close_hour, holidays)
    b = business_clock(end, open_hour, close_hour, holidays)
    return np.maximum(b - a, 0) / 3600.0


def add_business_hours(start, hours, open_hour: int = 9, close_hour: int = 17, holidays: Sequence = ()) -> np.ndarray:
    """The earliest instant (epoch seconds) at which ``hours`` business hours have passed since ``start``."""
    length = (close_hour - open_hour) * 3600
    target = business_clock(start, open_hour, close_hour, holidays) + np.round(
        np.asarray(hours, dtype="float64") * 3600
    ).astype("int64")
    index, rest = np.divmod(target, length)
    # exactly at a day's end: the close of that day rather than the next day's opening
    at_close = (rest == 0) & (index > 0)
    index = np.where(at_close, index - 1, index)
    rest = np.where(at_close, length, rest)
    day = np.busday_offset(EPOCH, index, roll="forward", holidays=list(holidays))
    return day.astype("int64") * DAY + open_hour * 3600 + rest
