"""The journey window: which conversions are attributed, by what, over which touches.

A :class:`JourneyWindow` is validated once, when it is made, and every attribution function
takes it (or its fields as keywords, for callers that pass them one by one). Its
:meth:`~JourneyWindow.params` are what the journey queries bind (``$by``, ``$lookback``,
``$close_from``, ``$close_to``, ``$segments``): the window is never put into session state.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from analytics.core.errors import RevLensError

DIMENSIONS = ("channel", "campaign", "touchpoint_type")
MAX_ORDER = 3


@dataclass(frozen=True)
class JourneyWindow:
    """Closed-won deals with ``close_from <= close_date <= close_to`` (``None``: open), credited by
    ``by`` (``channel``, ``campaign``: campaign ids, or ``touchpoint_type``) to their touches at most
    ``lookback_days`` days before the close; with ``account_level``, the touches of every contact of
    the deal's account (a deal without one keeps its own contact's touches). ``segments`` keeps the
    deals (and the non-converting journeys) of accounts in those segments; empty: every deal."""

    by: str = "channel"
    lookback_days: int = 90
    account_level: bool = False
    close_from: date | None = None
    close_to: date | None = None
    segments: tuple[str, ...] = ()

    def __post_init__(self):
        if self.by not in DIMENSIONS:
            raise RevLensError(f"Unknown dimension {self.by!r}; attribute by one of {', '.join(DIMENSIONS)}.")
        lookback = self.lookback_days
        if isinstance(lookback, bool) or int(lookback) != lookback or lookback < 0:
            raise RevLensError(f"The lookback of {lookback} days is invalid; use a whole number of days >= 0.")
        object.__setattr__(self, "lookback_days", int(lookback))
        object.__setattr__(self, "account_level", bool(self.account_level))
        for name in ("close_from", "close_to"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, date):
                raise RevLensError(f"{name} {value!r} is not a date; give a datetime.date (or None for open).")
        if isinstance(self.segments, str) or not all(isinstance(s, str) for s in self.segments):
            raise RevLensError(f"segments {self.segments!r} is not a list of segment names; give e.g. ('SMB',).")
        object.__setattr__(self, "segments", tuple(dict.fromkeys(self.segments)))
        if self.close_from is not None and self.close_to is not None and self.close_from > self.close_to:
            raise RevLensError(
                f"The close window {self.close_from} to {self.close_to} ends before it starts; swap the dates."
            )

    def params(self) -> dict:
        """The values the journey queries bind."""
        return {
            "by": self.by,
            "lookback": self.lookback_days,
            "close_from": self.close_from,
            "close_to": self.close_to,
            "segments": list(self.segments),
        }


def window_of(window: JourneyWindow | None, fields: dict) -> JourneyWindow:
    """``window``, or one made from ``fields`` (``by``, ``lookback_days``, ...); not both."""
    if window is None:
        return JourneyWindow(**fields)
    if fields:
        raise TypeError(f"give either a window or its fields, not both ({', '.join(fields)})")
    if not isinstance(window, JourneyWindow):
        raise TypeError(f"window must be a JourneyWindow, not {type(window).__name__}")
    return window


def check_half_life(half_life_days: float) -> float:
    if not half_life_days > 0:
        raise RevLensError(f"The half-life of {half_life_days} days is invalid; use a number of days > 0.")
    return float(half_life_days)


def check_order(order: int) -> int:
    if order not in range(1, MAX_ORDER + 1):
        raise RevLensError(f"Markov order {order} is not supported; use 1, 2 or 3.")
    return int(order)
