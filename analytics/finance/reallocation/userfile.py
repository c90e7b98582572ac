"""Curves from the user's own marketing-mix model: a small CSV or JSON of per-channel parameters.

**CSV**: a header and one row per channel::

    channel,kind,beta,alpha,kappa,period_weeks
    paid_search,hill,1850000,1.2,64000,1
    email,hill,420000,0.8,5200,1

``kind`` (default ``hill``: :data:`~analytics.finance.reallocation.curves.CURVE_KINDS`) and
``period_weeks`` (default 1) may be left out. **JSON**: ``{"period_weeks": 1, "curves":
{"paid_search": {"beta": ..., "alpha": ..., "kappa": ...}, ...}}``, or a list of objects with
the CSV's fields. ``period_weeks`` is the spend period the parameters were fitted on: revenue
per ``period_weeks`` weeks of spend *s* is ``beta s^alpha / (kappa^alpha + s^alpha)``; the
optimizer rescales them to the plan period of *n* weeks (``beta * n / p``, ``kappa * n / p``),
as :meth:`~analytics.finance.reallocation.curves.HillCurve.over_weeks` does.

A channel of the file replaces the fitted curve; channels the file leaves out keep theirs. The
exports from PyMC-Marketing, Meridian and Robyn are described in ``docs/budget.md``.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path

from analytics.core.errors import RevLensError
from analytics.finance.reallocation.curves import CURVE_KINDS, PARAMETERS, HillCurve, make_curve


@dataclass(frozen=True)
class UserCurve:
    """One channel's curve from the file, with the spend period it was fitted on."""

    channel: str
    curve: HillCurve
    period_weeks: float

    def over_weeks(self, weeks: float) -> HillCurve:
        return HillCurve(self.curve.beta, self.curve.alpha, self.curve.kappa).over_weeks(weeks / self.period_weeks)


def _number(value, field: str, where: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise RevLensError(f"{where}: {field} {value!r} is not a number; write it as e.g. 1.25.") from None
    if not number > 0 or number != number or number == float("inf"):
        raise RevLensError(f"{where}: {field} {value!r} must be a positive number.")
    return number


def _row(record: dict, where: str) -> UserCurve:
    channel = str(record.get("channel") or "").strip()
    if not channel:
        raise RevLensError(f"{where} has no channel; give each row a channel name (e.g. paid_search).")
    kind = str(record.get("kind") or "hill").strip()
    if kind not in CURVE_KINDS:
        raise RevLensError(f"{where}: unknown curve kind {kind!r}; use one of {', '.join(CURVE_KINDS)}.")
    missing = [name for name in PARAMETERS if record.get(name) in (None, "")]
    if missing:
        raise RevLensError(
            f"{where} ({channel}) lacks {', '.join(missing)}; a {kind} curve needs beta, alpha and kappa."
        )
    params = {name: _number(record[name], name, f"{where} ({channel})") for name in PARAMETERS}
    period = record.get("period_weeks")
    period_weeks = 1.0 if period in (None, "") else _number(period, "period_weeks", f"{where} ({channel})")
    return UserCurve(channel, make_curve(kind, params), period_weeks)


def parse_curves(text: str, name: str = "the curves file") -> dict[str, UserCurve]:
    """The curves in ``text`` (CSV or JSON, told apart by the first character), by channel."""
    stripped = text.lstrip("\ufeff").strip()
    if not stripped:
        raise RevLensError(f"{name} is empty; give a CSV with channel,beta,alpha,kappa or the JSON form.")
    records: list[tuple[dict, str]] = []
    if stripped[0] in "[{":
        try:
            data = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise RevLensError(
                f"{name} is not valid JSON ({exc.msg} at line {exc.lineno}); fix it or use CSV."
            ) from None
        period = data.get("period_weeks") if isinstance(data, dict) else None
        items = data.get("curves") if isinstance(data, dict) else data
        if isinstance(items, dict):
            items = [{"channel": ch, **(v if isinstance(v, dict) else {})} for ch, v in items.items()]
        if not isinstance(items, list) or not items:
            raise RevLensError(f'{name} has no curves; write {{"curves": {{"<channel>": {{"beta": …}}}}}} or a list.')
        for i, item in enumerate(items, 1):
            if not isinstance(item, dict):
                raise RevLensError(f"{name}, curve {i}, is not an object with channel, beta, alpha and kappa.")
            if period is not None and "period_weeks" not in item:
                item = {**item, "period_weeks": period}
            records.append((item, f"{name}, curve {i}"))
    else:
        reader = csv.DictReader(io.StringIO(stripped))
        header = [h.strip() for h in reader.fieldnames or []]
        missing = [h for h in ("channel", *PARAMETERS) if h not in header]
        if missing:
            raise RevLensError(
                f"{name} lacks the column {', '.join(missing)}; its header must name channel, beta, alpha, kappa "
                "(kind and period_weeks are optional)."
            )
        for line, record in enumerate(reader, 2):
            records.append(({k.strip(): (v or "").strip() for k, v in record.items() if k}, f"{name}, line {line}"))
    curves: dict[str, UserCurve] = {}
    for record, where in records:
        curve = _row(record, where)
        if curve.channel in curves:
            raise RevLensError(f"{where}: the channel {curve.channel} appears twice; keep one curve per channel.")
        curves[curve.channel] = curve
    return curves


def read_curves(path: str | Path) -> dict[str, UserCurve]:
    path = Path(path)
    if not path.is_file():
        raise RevLensError(f"The curves file {path} does not exist; check the path given to --curves.")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise RevLensError(f"The curves file {path} is not UTF-8 text; save it as CSV or JSON.") from None
    return parse_curves(text, f"The curves file {path.name}")
