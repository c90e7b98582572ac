"""SQL expressions that turn export text into typed warehouse values.

Each function takes a SQL expression (text) and returns a SQL expression; the
value is NULL when the text is empty, and also NULL when it does not parse, which
the pipeline reports as a structure error with the original text.

- Timestamps: ISO 8601 with or without time, ``T``, fractions and offsets
  (converted to UTC: the import session runs in UTC), US ``MM/DD/YYYY`` with
  optional ``HH:MM[:SS]`` or ``HH:MM AM``, European ``DD.MM.YYYY``, and Excel
  serial dates (days since 1899-12-30, five digits with an optional fraction).
- Numbers: plain, or with thousand separators and a currency sign:
  ``1,234.50``, ``$1,234``, ``1.234,50``, ``1 234,50``, ``12,5``.
- Booleans: true/false, yes/no, y/n, t/f, 1/0 (any case).
"""

from __future__ import annotations

US_AND_EU_FORMATS = (
    "%m/%d/%Y",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %I:%M %p",
    "%m/%d/%Y %I:%M:%S %p",
    "%d.%m.%Y",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y %H:%M:%S",
)
EXCEL_EPOCH_DAYS = 25569  # days from 1899-12-30 (Excel's day 0) to 1970-01-01
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$"
TRUE_WORDS = ("true", "t", "yes", "y", "1")
FALSE_WORDS = ("false", "f", "no", "n", "0")


def text(expr: str) -> str:
    """Trimmed text, NULL when empty (trims only values with spaces around: most have none)."""
    return (
        f"case when starts_with({expr}, ' ') or ends_with({expr}, ' ') or {expr} = '' "
        f"then nullif(trim({expr}), '') else {expr} end"
    )


def _has_offset(expr: str) -> str:
    """Ends in ``Z``, ``+hhmm`` or ``+hh:mm`` after a date and time (a date's own dashes are further left)."""
    return (
        f"(length({expr}) > 19 and (ends_with({expr}, 'Z') or substring({expr}, -5, 1) in ('+', '-') "
        f"or substring({expr}, -6, 1) in ('+', '-')))"
    )


def timestamp(expr: str) -> str:
    formats = ", ".join(f"'{f}'" for f in US_AND_EU_FORMATS)
    return (
        f"case when {_has_offset(expr)} then try_cast({expr} as timestamptz) at time zone 'UTC' "
        f"else coalesce(try_cast({expr} as timestamp), "
        f"try_strptime({expr}, [{formats}]), "
        f"case when regexp_full_match({expr}, '[1-9][0-9]{{4}}(\\.[0-9]+)?') "
        f"then make_timestamp(cast((cast({expr} as double) - {EXCEL_EPOCH_DAYS}) * 86400000000 as bigint)) end) end"
    )


def day(expr: str) -> str:
    return f"cast({timestamp(expr)} as date)"


def number(expr: str) -> str:
    cleaned = f"regexp_replace({expr}, '[\\s$€£¥\u00a0]', '', 'g')"
    return (
        f"coalesce(try_cast({expr} as double), case when {expr} is not null then try_cast(case "
        f"when regexp_full_match({cleaned}, '-?[0-9]{{1,3}}(,[0-9]{{3}})+(\\.[0-9]+)?') then replace({cleaned}, ',', '') "
        f"when regexp_full_match({cleaned}, '-?[0-9]{{1,3}}(\\.[0-9]{{3}})+(,[0-9]+)?') "
        f"then replace(replace({cleaned}, '.', ''), ',', '.') "
        f"when regexp_full_match({cleaned}, '-?[0-9]+,[0-9]+') then replace({cleaned}, ',', '.') "
        f"else {cleaned} end as double) end)"
    )


def integer(expr: str) -> str:
    return f"try_cast(round({number(expr)}) as integer)"


def boolean(expr: str) -> str:
    trues = ", ".join(f"'{w}'" for w in TRUE_WORDS)
    falses = ", ".join(f"'{w}'" for w in FALSE_WORDS)
    return f"case when lower({expr}) in ({trues}) then true when lower({expr}) in ({falses}) then false end"


def web_domain(expr: str) -> str:
    """``https://www.Acme.com/about`` -> ``acme.com``."""
    return f"nullif(regexp_replace(lower({expr}), '^([a-z]+://)?(www\\.)?([^/:?#]*).*$', '\\3'), '')"


PARSERS = {
    "timestamp": timestamp,
    "date": day,
    "double": number,
    "integer": integer,
    "boolean": boolean,
}
TYPE_WORDS = {
    "timestamp": "a date-time",
    "date": "a date",
    "double": "a number",
    "integer": "a whole number",
    "boolean": "true or false",
}


def parse(expr: str, sql_type: str) -> str:
    """The typed value of text ``expr`` for a column of ``sql_type`` (varchar passes through)."""
    return PARSERS[sql_type](expr) if sql_type in PARSERS else expr
