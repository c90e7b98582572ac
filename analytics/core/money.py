"""Money as people read it: one place for every page, chart, download and terminal table."""

from __future__ import annotations

from analytics.core.numbers import DASH, is_undefined

# The largest amount (deal value, cost, budget) RevLens accepts, in either sign: imports quarantine a
# larger one (docs/import.md) and every report leaves out one that got in by other means (SQL by
# hand), as it does NaN and ±inf. A trillion is beyond any one deal or cost line, and keeps sums
# far inside the attribution's exact fixed-point sums (2^-40 resolution in a 128-bit integer).
MAX_AMOUNT = 1e12


def money(value: float | None) -> str:
    """Compact dollars for KPI tiles and chart labels: $950, $12.3K, $4.56M, $1.20B; undefined as "—"."""
    if is_undefined(value):
        return DASH
    sign, value = ("-" if value < 0 else ""), abs(value)
    for threshold, suffix, digits in ((1e9, "B", 2), (1e6, "M", 2), (1e3, "K", 1)):
        if value >= threshold:
            return f"{sign}${value / threshold:,.{digits}f}{suffix}"
    return f"{sign}${value:,.0f}"


def dollars(value: float | None) -> str:
    """Whole dollars with thousands separators: $1,234,567, -$950; undefined as "—"."""
    if is_undefined(value):
        return DASH
    return f"-${-value:,.0f}" if value < 0 else f"${value:,.0f}"


def amount(value: float | None) -> str:
    """A plain amount with thousands separators and no currency sign (terminal tables): 1,234; "—"."""
    return DASH if is_undefined(value) else f"{value:,.0f}"


def cents(value: float | None) -> float | None:
    """Money rounded to cents for downloads (no float noise such as 44244.579999999994)."""
    return None if is_undefined(value) else round(value + 0.0, 2)
