"""Report periods: a month, a quarter, a year or a custom range, and the period before it.

A period is ``[start, end]``, both days inclusive. The previous period of a month,
quarter or year is the previous month, quarter or year; of a custom range, the range of
the same number of days that ends the day before it starts.

The date bar's presets (:data:`PRESETS`, :func:`preset_range`: last 30 days, last quarter,
quarter to date, year to date, last 12 months) count back from a reference day, the data's
last day; :func:`period_of` recognizes a range that is exactly a month, quarter or year.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from analytics.core.errors import RevLensError


@dataclass(frozen=True)
class ReportPeriod:
    """A reporting window ``[start, end]`` (both inclusive) and what kind of period it is."""

    start: date
    end: date
    kind: str = "custom"  # month | quarter | year | custom

    @property
    def label(self) -> str:
        if self.kind == "month":
            return f"{self.start:%Y-%m}"
        if self.kind == "quarter":
            return f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}"
        if self.kind == "year":
            return f"{self.start.year}"
        return f"{self.start} to {self.end}"

    def previous(self) -> ReportPeriod:
        """The previous month / quarter / year, or the same number of days before a custom range."""
        step = {"month": 1, "quarter": 3, "year": 12}.get(self.kind)
        if step is None:
            days = (self.end - self.start).days + 1
            return ReportPeriod(self.start - timedelta(days=days), self.start - timedelta(days=1))
        start = add_months(self.start, -step)
        return ReportPeriod(start, self.start - timedelta(days=1), self.kind)

    def months(self) -> list[date]:
        """First days of the calendar months the period touches, in order."""
        months, month = [], self.start.replace(day=1)
        while month <= self.end:
            months.append(month)
            month = add_months(month, 1)
        return months


def add_months(day: date, months: int) -> date:
    """The first day of the month ``months`` after ``day``'s month (negative: before)."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


# The plausible dates of the product: imports quarantine dates outside them (docs/import.md), and a
# report period must lie inside them (a period or range in year 0 or 9999 is a typo, and would
# overflow the previous/next period).
FIRST_PLAUSIBLE_DAY = date(1900, 1, 1)
LAST_PLAUSIBLE_DAY = date(2100, 12, 31)


def check_plausible(start: date, end: date) -> None:
    """A one-sentence error unless ``[start, end]`` lies within 1900-01-01 .. 2100-12-31."""
    if start < FIRST_PLAUSIBLE_DAY or end > LAST_PLAUSIBLE_DAY:
        raise RevLensError(
            f"The period {start} to {end} is outside the years RevLens reports on "
            f"({FIRST_PLAUSIBLE_DAY.year} to {LAST_PLAUSIBLE_DAY.year}); check the year."
        )


_PERIOD_PATTERNS = (
    (re.compile(r"^(\d{4})-[Qq]([1-4])$"), "quarter"),
    (re.compile(r"^(\d{4})-(\d{2})$"), "month"),
    (re.compile(r"^(\d{4})$"), "year"),
)


def parse_period(text: str) -> ReportPeriod:
    """``2026-09`` (a month), ``2026-Q3`` (a quarter) or ``2026`` (a year) as a :class:`ReportPeriod`."""
    text = text.strip()
    for pattern, kind in _PERIOD_PATTERNS:
        match = pattern.match(text)
        if not match:
            continue
        year = int(match.group(1))
        if not FIRST_PLAUSIBLE_DAY.year <= year <= LAST_PLAUSIBLE_DAY.year:
            raise RevLensError(
                f"The period {text!r} is outside the years RevLens reports on "
                f"({FIRST_PLAUSIBLE_DAY.year} to {LAST_PLAUSIBLE_DAY.year}); check the year."
            )
        if kind == "quarter":
            start = date(year, 3 * int(match.group(2)) - 2, 1)
            months = 3
        elif kind == "month":
            month = int(match.group(2))
            if not 1 <= month <= 12:
                break
            start, months = date(year, month, 1), 1
        else:
            start, months = date(year, 1, 1), 12
        return ReportPeriod(start, add_months(start, months) - timedelta(days=1), kind)
    raise RevLensError(
        f"The period {text!r} is not a month, quarter or year; write it as 2026-09, 2026-Q3 or 2026 "
        "(or give --from and --to dates)."
    )


def custom_period(start: date, end: date) -> ReportPeriod:
    """A custom range; a reversed one is a clear error."""
    if start > end:
        raise RevLensError(f"The report starts ({start}) after it ends ({end}); swap the dates.")
    check_plausible(start, end)
    return ReportPeriod(start, end)


def period_labels(first: date, last: date, kind: str) -> list[str]:
    """Labels of the months (``2026-09``) or quarters (``2026-Q3``) between two days, newest first."""
    labels, month = [], first.replace(day=1)
    while month <= last:
        label = (
            ReportPeriod(month, month, "month").label
            if kind == "month"
            else ReportPeriod(month, month, "quarter").label
        )
        if label not in labels:
            labels.append(label)
        month = add_months(month, 1)
    return labels[::-1]


# ---------------------------------------------------------------------------------------
# Presets beside the date range, relative to a reference day (the data's last day)

PRESETS = ("last_30_days", "last_quarter", "quarter_to_date", "year_to_date", "last_12_months")


def shift_months(day: date, months: int) -> date:
    """The same day ``months`` later (negative: earlier), clamped to the month's end: 31 Mar − 1 month = 28 Feb."""
    index = day.year * 12 + day.month - 1 + months
    year, month = index // 12, index % 12 + 1
    last_day = (add_months(date(year, month, 1), 1) - timedelta(days=1)).day
    return date(year, month, min(day.day, last_day))


def quarter_start(day: date) -> date:
    """The first day of ``day``'s calendar quarter."""
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def preset_range(name: str, as_of: date) -> ReportPeriod:
    """The range of a preset, ending on (or, for ``last_quarter``, before) the reference day ``as_of``.

    - ``last_30_days``: ``[as_of − 29 days, as_of]`` (30 days, ``as_of`` included);
    - ``last_quarter``: the whole calendar quarter before ``as_of``'s quarter;
    - ``quarter_to_date``: ``[first day of as_of's quarter, as_of]``;
    - ``year_to_date``: ``[1 January of as_of's year, as_of]``;
    - ``last_12_months``: ``[as_of − 12 months + 1 day, as_of]`` (the same day a year earlier,
      clamped to the month's end, is the day before the range starts).

    The kind is ``quarter`` for ``last_quarter`` (so its previous period is the quarter before)
    and for a quarter to date that is the whole quarter; otherwise what :func:`period_of` finds.
    """
    if name == "last_30_days":
        return period_of(as_of - timedelta(days=29), as_of)
    if name == "last_quarter":
        this_quarter = quarter_start(as_of)
        return ReportPeriod(add_months(this_quarter, -3), this_quarter - timedelta(days=1), "quarter")
    if name == "quarter_to_date":
        return period_of(quarter_start(as_of), as_of)
    if name == "year_to_date":
        return period_of(date(as_of.year, 1, 1), as_of)
    if name == "last_12_months":
        return period_of(shift_months(as_of, -12) + timedelta(days=1), as_of)
    raise RevLensError(f"Unknown date preset {name!r}; use one of {', '.join(PRESETS)}.")


def period_of(start: date, end: date) -> ReportPeriod:
    """``[start, end]`` as a month, quarter or year when it is exactly one, else a custom range.

    So a range typed or picked as 1 Apr – 30 Jun is reported as 2026-Q2 and compared with
    the quarter before, as a quarter chosen by name would be.
    """
    if start > end:
        raise RevLensError(f"The range starts ({start}) after it ends ({end}); swap the dates.")
    if start.day == 1 and end + timedelta(days=1) == add_months(start, 1):
        return ReportPeriod(start, end, "month")
    if start == quarter_start(start) and end + timedelta(days=1) == add_months(start, 3):
        return ReportPeriod(start, end, "quarter")
    if (start.month, start.day) == (1, 1) and end == date(start.year, 12, 31):
        return ReportPeriod(start, end, "year")
    return ReportPeriod(start, end)


def clamp(period: ReportPeriod, first: date, last: date) -> ReportPeriod:
    """``period`` cut to ``[first, last]`` (the data's days); its kind is kept only when nothing is cut."""
    start, end = max(period.start, first), min(period.end, last)
    if end < start:  # entirely outside the data: the nearest edge
        start = end = first if period.end < first else last
    if (start, end) == (period.start, period.end):
        return period
    return period_of(start, end)
