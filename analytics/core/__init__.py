"""The vocabulary every package shares (infrastructure: it imports no capability).

- :mod:`~analytics.core.errors`: :class:`~analytics.core.errors.RevLensError`, a mistake a user can fix;
- :mod:`~analytics.core.settings`: the only reader of environment variables and secrets;
- :mod:`~analytics.core.periods`: report periods (month, quarter, year, custom) and the one before;
- :mod:`~analytics.core.change`: percent change between two periods;
- :mod:`~analytics.core.money` and :mod:`~analytics.core.numbers`: money, counts, percents, ratios as
  people read them;
- :mod:`~analytics.core.labels`: the label of every machine name RevLens shows.
"""
