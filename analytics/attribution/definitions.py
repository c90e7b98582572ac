"""The business definitions attribution shares with the Overview, the finance report and the
CRM push, each written once (as SQL fragments the queries of all four are built from).

- A **won deal in a window** ``[start, end]``: an opportunity with ``is_closed_won`` and a
  ``close_date`` with ``start <= close_date <= end`` (a NULL bound is open).
  :func:`won_in_window`, and :func:`closes_in_window` for rows that are already won deals
  (the journey tables'). A deal whose amount is NaN, ±inf or beyond
  :data:`~analytics.core.money.MAX_AMOUNT`, or whose close date is outside 1900..2100
  (:func:`usable_amount`, :func:`plausible_day`), is not a won deal: such values are
  quarantined at import, and left out here when they got in by hand.
- An **eligible touch** of a won deal under a lookback of *L* days: a touch of the deal's
  contact (or, account level, of a contact of its account) dated on or before the close date
  and at most *L* days before it, ``0 <= close_date - date(ts) <= L``, where
  ``close_date - date(ts)`` is :func:`days_before` (whole days). :func:`eligible`.
- A deal (or contact) **in the segments** ``$segments``: its account's ``segment`` is one of
  them; an empty list means every segment (and then accounts are not read). :func:`in_segments`.
"""

from __future__ import annotations

from analytics.attribution.dialect import days_between
from analytics.core.money import MAX_AMOUNT
from analytics.core.periods import FIRST_PLAUSIBLE_DAY, LAST_PLAUSIBLE_DAY


def usable_amount(amount: str) -> str:
    """SQL: ``amount`` is NULL or a finite number within ±:data:`~analytics.core.money.MAX_AMOUNT`.

    NaN and ±inf fail the range test in every engine (NaN sorts above every number), so a
    value that got into the warehouse by hand never reaches a sum.
    """
    return f"({amount} is null or {amount} between {-MAX_AMOUNT:.0f} and {MAX_AMOUNT:.0f})"


def plausible_time(ts: str) -> str:
    """SQL: the timestamp ``ts`` lies in 1900-01-01 .. 2100-12-31 (compared as a timestamp: no cast per row)."""
    return (
        f"{ts} between timestamp '{FIRST_PLAUSIBLE_DAY} 00:00:00' and timestamp '{LAST_PLAUSIBLE_DAY} 23:59:59.999999'"
    )


def plausible_day(day: str) -> str:
    """SQL: the date ``day`` lies in 1900-01-01 .. 2100-12-31 (the import boundary's range)."""
    return f"{day} between date '{FIRST_PLAUSIBLE_DAY}' and date '{LAST_PLAUSIBLE_DAY}'"


def closes_in_window(close_date: str, start: str = "$close_from", end: str = "$close_to") -> str:
    """SQL: ``close_date`` (of a won deal) falls in ``[start, end]``; a NULL bound is open."""
    return (
        f"{close_date} is not null"
        f"\n          and (cast({start} as date) is null or {close_date} >= cast({start} as date))"
        f"\n          and (cast({end} as date) is null or {close_date} <= cast({end} as date))"
    )


def won_deal(deal: str = "o") -> str:
    """SQL: the opportunity ``deal`` is a won deal (closed won, with a plausible close date and a usable amount)."""
    return (
        f"{deal}.is_closed_won and {deal}.close_date is not null and {plausible_day(f'{deal}.close_date')}"
        f" and {usable_amount(f'{deal}.amount')}"
    )


def won_in_window(deal: str = "o", start: str = "$close_from", end: str = "$close_to") -> str:
    """SQL: the opportunity ``deal`` is a won deal closing in ``[start, end]``."""
    return (
        f"{deal}.is_closed_won and {closes_in_window(f'{deal}.close_date', start, end)}"
        f" and {plausible_day(f'{deal}.close_date')} and {usable_amount(f'{deal}.amount')}"
    )


def days_before(ts: str, close_date: str) -> str:
    """SQL: whole days from the touch's date to the close date (0 on the close date)."""
    return days_between(f"cast({ts} as date)", close_date)


def eligible(days_before_close: str, lookback: str = "$lookback") -> str:
    """SQL: a touch ``days_before_close`` days before its deal's close is eligible under ``lookback``."""
    return f"{days_before_close} between 0 and cast({lookback} as integer)"


def in_segments(account_id: str, segments: str = "$segments") -> str:
    """SQL: the account ``account_id`` is in one of ``segments`` (a list; empty: every account, even none)."""
    return (
        f"(len({segments}) = 0 or {account_id} in "
        f"(select a.account_id from accounts as a where list_contains({segments}, a.segment)))"
    )
