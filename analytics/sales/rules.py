"""The lead-scoring rules file: a readable, editable text file (``data/lead_rules.txt``).

The file has four groups, each a ``[section]``; ``#`` starts a comment::

    [fit]                          # who the lead is
    limit = 60                     # the group's points are capped here
    +20 segment is Enterprise
    +10 employees between 200 and 1999
    -10 email_domain is free_mail

    [engagement]                   # what the lead did; every event decays
    limit = 40
    half_life_days = 45            # an event this old counts half
    +15 per webinar_attended max 15
    +3 per email_click max 9 half_life 14 days
    -10 per unsubscribe

    [grades]                       # the A1–C3 matrix: fit letter × engagement digit
    fit_a = 35
    fit_b = 15
    engagement_1 = 25
    engagement_2 = 10

    [qualification]                # tiers on the total score
    mql = 40
    sql = 65

A fit rule is ``<points> <field> <condition>``; conditions are ``is V``, ``is not V``,
``in V1, V2``, ``not in V1, V2``, ``contains V``, ``>= N``, ``> N``, ``<= N``, ``< N``,
``between N and M``, ``missing`` and ``present``. An engagement rule is
``<points> per <event> [max P] [half_life D days]``. Fields (:data:`FIT_FIELDS`) and events
(:data:`analytics.sales.features.EVENTS`) come from fixed lists (``touch_<channel>`` names any channel
by its normalized name: a–z, 0–9, ``_``). :func:`parse_rules` checks
every line and raises a :class:`RevLensError` naming the line of the first problem.

The score these rules give is defined in :mod:`analytics.sales.scoring`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from analytics.core.errors import RevLensError
from analytics.sales.features import EVENTS, FIT_FIELDS, NUMERIC_FIELDS

DEFAULT_RULES_PATH = Path(__file__).resolve().parents[2] / "data" / "lead_rules.txt"
SECTIONS = ("fit", "engagement", "grades", "qualification")
SETTINGS = {
    "fit": ("limit",),
    "engagement": ("limit", "half_life_days"),
    "grades": ("fit_a", "fit_b", "engagement_1", "engagement_2"),
    "qualification": ("mql", "sql"),
}
TEXT_OPERATORS = ("is not", "not in", "is", "in", "contains")
NUMBER_OPERATORS = (">=", "<=", ">", "<", "between")
PRESENCE_OPERATORS = ("missing", "present")
_POINTS = re.compile(r"^([+\-−]\s*\d+(?:\.\d+)?)\s+(.*)$")
_ENGAGEMENT = re.compile(
    r"^per\s+(?P<event>\S+)(?:\s+max\s+(?P<cap>\S+))?(?:\s+half_life\s+(?P<half_life>\S+)(?:\s+days?)?)?\s*$"
)


@dataclass(frozen=True)
class FitRule:
    """``points`` when ``field <operator> values`` holds for the lead (``text`` is the condition as written)."""

    points: float
    field: str
    operator: str
    values: tuple
    text: str
    line: int


@dataclass(frozen=True)
class EngagementRule:
    """``points`` per ``event``, each decayed by its age: ``points · Σ 0.5^(age_days / half_life_days)``, capped."""

    points: float
    event: str
    cap: float | None
    half_life_days: float
    line: int


@dataclass(frozen=True)
class Rules:
    """A parsed rules file: the two groups with their limits, the grade cut-offs and the tiers."""

    fit: tuple[FitRule, ...]
    engagement: tuple[EngagementRule, ...]
    fit_limit: float
    engagement_limit: float
    half_life_days: float
    fit_a: float
    fit_b: float
    engagement_1: float
    engagement_2: float
    mql: float
    sql: float
    source: str = field(default="", compare=False)

    def with_thresholds(self, mql: float, sql: float) -> Rules:
        """The same rules with other MQL/SQL thresholds (the page's sliders)."""
        if sql < mql:
            raise RevLensError(f"The SQL threshold ({sql:g}) is below the MQL threshold ({mql:g}); raise it.")
        return Rules(**{**self.__dict__, "mql": float(mql), "sql": float(sql)})


def _number(text: str, where: str) -> float:
    try:
        return float(text.replace("−", "-").replace(" ", ""))
    except ValueError:
        raise RevLensError(f"{where}: {text!r} is not a number; write digits, like 15 or -2.5.") from None


def _fit_rule(points: float, rest: str, where: str, line: int) -> FitRule:
    words = rest.split(None, 1)
    name = words[0] if words else ""
    if name not in FIT_FIELDS:
        raise RevLensError(f"{where}: unknown field {name!r}; use one of {', '.join(FIT_FIELDS)}.")
    condition = words[1].strip() if len(words) > 1 else ""
    lowered = condition.lower()
    if lowered in PRESENCE_OPERATORS:
        return FitRule(points, name, lowered, (), rest.strip(), line)
    numeric = name in NUMERIC_FIELDS
    for operator in NUMBER_OPERATORS if numeric else TEXT_OPERATORS:
        if lowered == operator or lowered.startswith(operator + " ") or (numeric and lowered.startswith(operator)):
            argument = condition[len(operator) :].strip()
            break
    else:
        allowed = NUMBER_OPERATORS if numeric else TEXT_OPERATORS
        raise RevLensError(
            f"{where}: {name} needs a condition: {', '.join(allowed + PRESENCE_OPERATORS)} (got {condition!r})."
        )
    if not argument:
        raise RevLensError(f"{where}: the condition {operator!r} on {name} needs a value after it.")
    if operator == "between":
        parts = re.split(r"\s+and\s+", argument)
        if len(parts) != 2:
            raise RevLensError(f"{where}: write 'between N and M' (got {argument!r}).")
        low, high = (_number(part, where) for part in parts)
        if low > high:
            raise RevLensError(f"{where}: between {low:g} and {high:g} is empty; put the smaller number first.")
        values: tuple = (low, high)
    elif operator in NUMBER_OPERATORS:
        values = (_number(argument, where),)
    elif operator in ("in", "not in"):
        values = tuple(part.strip().strip("'\"") for part in argument.split(",") if part.strip())
    else:
        values = (argument.strip().strip("'\""),)
    return FitRule(points, name, operator, values, rest.strip(), line)


def _engagement_rule(points: float, rest: str, where: str, line: int, half_life: float | None) -> EngagementRule:
    match = _ENGAGEMENT.match(rest.strip())
    if not match:
        raise RevLensError(
            f"{where}: write an engagement rule as '<points> per <event> [max P] [half_life D days]' (got {rest!r})."
        )
    event = match["event"]
    if event not in EVENTS:
        raise RevLensError(
            f"{where}: unknown event {event!r}; use one of {', '.join(EVENTS)}, or touch_<channel> for any channel."
        )
    cap = _number(match["cap"], where) if match["cap"] else None
    if cap is not None and (cap == 0 or (cap > 0) != (points > 0)):
        raise RevLensError(f"{where}: the cap {cap:g} must have the sign of the points ({points:+g}).")
    own = _number(match["half_life"], where) if match["half_life"] else None
    if own is not None and own <= 0:
        raise RevLensError(f"{where}: a half-life must be more than 0 days.")
    # the group's half-life may come after the rule in the file: resolved in parse_rules
    return EngagementRule(points, event, cap, own if own is not None else (half_life or 0.0), line)


def parse_rules(text: str, source: str = "the rules") -> Rules:
    """Parse a rules file's text; a problem raises :class:`RevLensError` naming its line."""
    section: str | None = None
    seen: dict[str, int] = {}
    settings: dict[str, dict[str, float]] = {name: {} for name in SECTIONS}
    fit: list[FitRule] = []
    engagement: list[tuple[float, str, int]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        where = f"Line {number} of {source}"
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        header = re.fullmatch(r"\[\s*([A-Za-z_]+)\s*\]", line)
        if header:
            section = header[1].lower()
            if section not in SECTIONS:
                raise RevLensError(f"{where}: unknown group [{section}]; the groups are {', '.join(SECTIONS)}.")
            if section in seen:
                raise RevLensError(f"{where}: the group [{section}] appears twice (first on line {seen[section]}).")
            seen[section] = number
            continue
        if section is None:
            raise RevLensError(f"{where}: a rule before any group; start the file with [fit].")
        if re.match(r"^[A-Za-z_][A-Za-z0-9_]*\s*=", line):
            key, _, value = (part.strip() for part in line.partition("="))
            if key not in SETTINGS[section]:
                raise RevLensError(
                    f"{where}: unknown setting {key!r} in [{section}]; use {', '.join(SETTINGS[section])}."
                )
            settings[section][key] = _number(value, where)
            continue
        match = _POINTS.match(line)
        if not match or section not in ("fit", "engagement"):
            if section in ("grades", "qualification"):
                raise RevLensError(f"{where}: [{section}] holds settings like '{SETTINGS[section][0]} = 30'.")
            raise RevLensError(f"{where}: a rule starts with signed points, like '+10 ...' or '-5 ...' (got {line!r}).")
        points = _number(match[1], where)
        if section == "fit":
            fit.append(_fit_rule(points, match[2], where, number))
        else:
            engagement.append((points, match[2], number))
    for name in SECTIONS:
        if name not in seen:
            raise RevLensError(f"{source} has no [{name}] group; add it (docs/leads.md shows a complete file).")
        for key in SETTINGS[name]:
            if key not in settings[name]:
                raise RevLensError(f"Line {seen[name]} of {source}: the group [{name}] needs '{key} = …'.")
    group_half_life = settings["engagement"]["half_life_days"]
    if group_half_life <= 0:
        raise RevLensError(f"Line {seen['engagement']} of {source}: half_life_days must be more than 0.")
    rules = tuple(
        _engagement_rule(points, rest, f"Line {number} of {source}", number, group_half_life)
        for points, rest, number in engagement
    )
    grades, tiers = settings["grades"], settings["qualification"]
    if grades["fit_b"] > grades["fit_a"] or grades["engagement_2"] > grades["engagement_1"]:
        raise RevLensError(
            f"Line {seen['grades']} of {source}: fit_a must be at least fit_b and engagement_1 at least engagement_2."
        )
    if tiers["sql"] < tiers["mql"]:
        raise RevLensError(f"Line {seen['qualification']} of {source}: sql must be at least mql.")
    for name in ("fit", "engagement"):
        if settings[name]["limit"] <= 0:
            raise RevLensError(f"Line {seen[name]} of {source}: the [{name}] limit must be more than 0.")
    return Rules(
        fit=tuple(fit),
        engagement=rules,
        fit_limit=settings["fit"]["limit"],
        engagement_limit=settings["engagement"]["limit"],
        half_life_days=group_half_life,
        fit_a=grades["fit_a"],
        fit_b=grades["fit_b"],
        engagement_1=grades["engagement_1"],
        engagement_2=grades["engagement_2"],
        mql=tiers["mql"],
        sql=tiers["sql"],
        source=text,
    )


def rules_path() -> Path:
    """The rules file in use: ``REVLENS_LEAD_RULES``, else ``data/lead_rules.txt`` (the shipped one
    when run from elsewhere)."""
    from analytics.core.settings import lead_rules_path

    path = lead_rules_path()
    return path if path.is_file() or path != Path("data/lead_rules.txt") else DEFAULT_RULES_PATH


def load_rules(path: str | Path | None = None) -> Rules:
    """The rules in ``path`` (default :func:`rules_path`)."""
    path = Path(path) if path else rules_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RevLensError(
            f"No rules file at {path}; copy data/lead_rules.txt there or pass another --rules."
        ) from None
    except UnicodeDecodeError:
        raise RevLensError(f"{path} is not a UTF-8 text file; save the rules as plain text.") from None
    return parse_rules(text, str(path))


def default_rules_text() -> str:
    """The text of the rules file in use."""
    return rules_path().read_text(encoding="utf-8")
