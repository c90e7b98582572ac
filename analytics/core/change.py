"""Change between two periods: the one definition of percent change every report uses."""

from __future__ import annotations


def percent_change(current: float | None, previous: float | None) -> float | None:
    """``(current - previous) / |previous| × 100``; ``None`` when either is missing or ``previous`` is 0.

    Dividing by ``|previous|`` keeps the sign meaning "up" or "down": from -100 to -50 is +50%.
    """
    if current is None or previous is None or previous == 0:
        return None
    return (current - previous) / abs(previous) * 100


def percentage_points(current: float | None, previous: float | None) -> float | None:
    """The change of a percentage in points, ``current - previous`` rounded to 2 places; ``None`` if either is missing."""
    if current is None or previous is None:
        return None
    return round(current - previous, 2)
