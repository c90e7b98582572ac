"""Numbers and percentages as people read them."""

from __future__ import annotations

import math

DASH = "—"  # an undefined figure (ROI of nothing invested, a rate without conversions)


def is_undefined(value: float | None) -> bool:
    """None, NaN or infinite: nothing a reader should see as a number."""
    return value is None or (isinstance(value, float) and not math.isfinite(value))


def count(value: float | None) -> str:
    """A whole count with thousands separators: 12,345; undefined as "—"."""
    return DASH if is_undefined(value) else f"{value:,.0f}"


def decimal(value: float | None, digits: int = 1) -> str:
    """A number with ``digits`` decimals and thousands separators: 1,234.5; undefined as "—"."""
    return DASH if is_undefined(value) else f"{value:,.{digits}f}"


def percent(value: float | None, digits: int = 2) -> str:
    """A value already in percent: ``12.34%``; undefined (e.g. ROI of nothing invested) as "—"."""
    return DASH if is_undefined(value) else f"{value:,.{digits}f}%"


def signed_percent(value: float | None, digits: int = 1) -> str | None:
    """A change in percent with its sign, ``+12.3%``; ``None`` when undefined (no delta shown)."""
    return None if is_undefined(value) else f"{value:+.{digits}f}%"


def ratio(value: float | None, digits: int = 2) -> str:
    """A multiple such as ROAS: ``3.25×``; undefined as "—"."""
    return DASH if is_undefined(value) else f"{value:.{digits}f}×"
