"""The import's rules: what a valid row is, how rows are enriched and matched, and the quality score.

- :data:`ALLOWED_VALUES`: columns that must take a value of the warehouse's own vocabulary
  (cost categories, email event types, content event kinds);
- :data:`OPEN_VOCABULARIES`: columns whose values are the user's own (channels): the mapping's
  ``values`` translate the synonyms it knows, and any other value is kept as its own name
  (:func:`~analytics.imports.values.vocabulary_name`), never rejected;
- :data:`BUSINESS_RULES`: per table, conditions a row must meet (NULLs pass), each with the
  reason a quarantined row shows;
- :data:`FREE_MAIL_DOMAINS`: email domains that name no company, so a contact's company is
  never guessed from them (:func:`company_from_domain` guesses it from the others);
- :func:`normalized`: how a duplicate-key column is compared (lower case, trimmed; a company
  without punctuation and legal suffix, :data:`COMPANY_SUFFIXES`);
- :func:`quality_score`: the batch score from the spec's three validation layers and the
  share of rows that load.

The conditions are SQL over the warehouse's column names (identifiers from the schema only);
:mod:`analytics.imports.sql` turns them into the checks of every row.
"""

from __future__ import annotations

from analytics.warehouse.schema import CONTENT_EVENT_KINDS, COST_CATEGORIES, EMAIL_EVENT_TYPES

FREE_MAIL_DOMAINS = (
    "gmail.com",
    "googlemail.com",
    "yahoo.com",
    "yahoo.co.uk",
    "yahoo.fr",
    "ymail.com",
    "hotmail.com",
    "hotmail.co.uk",
    "outlook.com",
    "live.com",
    "msn.com",
    "aol.com",
    "icloud.com",
    "me.com",
    "mac.com",
    "protonmail.com",
    "proton.me",
    "gmx.de",
    "gmx.net",
    "web.de",
    "mail.com",
    "yandex.ru",
    "qq.com",
    "163.com",
    "zoho.com",
    "fastmail.com",
    "t-online.de",
    "orange.fr",
    "free.fr",
    "libero.it",
)

# Values a column must take, from the warehouse's own vocabularies.
ALLOWED_VALUES: dict[tuple[str, str], tuple[str, ...]] = {
    ("campaign_costs", "category"): COST_CATEGORIES,
    ("email_events", "event_type"): EMAIL_EVENT_TYPES,
    ("content_events", "kind"): CONTENT_EVENT_KINDS,
}

# Columns whose vocabulary is the user's: an unmapped value is kept under its own name, with
# the original text as its label (table channel_labels), and the import summary warns about it.
OPEN_VOCABULARIES: dict[tuple[str, str], str] = {
    ("touchpoints", "channel"): "channel",
    ("campaigns", "channel"): "channel",
}

# table -> (condition that must hold, reason when it does not); NULLs pass.
BUSINESS_RULES: dict[str, tuple[tuple[str, str], ...]] = {
    "campaigns": (
        ("audience_size is null or audience_size between 100 and 1000000", "audience size outside 100 to 1,000,000"),
        ("start_date is null or end_date is null or end_date >= start_date", "end date before start date"),
        ("budget is null or budget >= 0", "negative budget"),
    ),
    "opportunities": (("amount is null or amount >= 0", "negative amount"),),
    "campaign_costs": (("amount is null or amount >= 0", "negative cost amount"),),
    "invoices": (
        ("amount is null or amount >= 0", "negative invoice amount"),
        ("issued_date is null or due_date is null or due_date >= issued_date", "due date before issue date"),
    ),
    "feedback": (("score is null or score between 0 and 10", "score outside 0 to 10"),),
    "support_tickets": (
        ("resolved_at is null or opened_at is null or resolved_at >= opened_at", "resolved before it was opened"),
    ),
    "touchpoints": (("engagement_score is null or engagement_score >= 0", "negative engagement score"),),
    "sales_reps": (("capacity is null or capacity >= 0", "negative capacity"),),
}

# How a duplicate-key column is normalized before comparing.
COMPANY_SUFFIXES = "inc|llc|ltd|gmbh|corp|corporation|co|company|sa|ag|plc|limited|bv|oy|ab|srl|sas"


_SQL_WORDS = {"is", "null", "or", "and", "not", "between"}


def rule_columns(rule: str) -> list[str]:
    """The column names a :data:`BUSINESS_RULES` condition reads (it applies when the import feeds them all)."""
    words = {w.strip("(),") for w in rule.split()}
    return [w for w in words if w.isidentifier() and w not in _SQL_WORDS]


def normalized(column: str, alias: str) -> str:
    """SQL of ``alias.column`` normalized for duplicate matching (NULL when nothing is left)."""
    expr = f"{alias}.{column}"
    if column == "company":
        words = f"trim(regexp_replace(regexp_replace(lower({expr}), '[^\\pL\\pN]+', ' ', 'g'), '\\s+', ' ', 'g'))"
        return f"nullif(regexp_replace({words}, ' ({COMPANY_SUFFIXES})$', ''), '')"
    return f"nullif(lower(trim(cast({expr} as varchar))), '')"


def company_from_domain(domain: str) -> str:
    """``acme-analytics.co.uk`` -> ``Acme-analytics`` (the registrable name, capitalized)."""
    # drop a country's second-level suffix (co.uk, com.au) so the name is the last label before the suffix
    base = f"regexp_replace({domain}, '\\.(co|com|org|net|ac|gov|ne|or)\\.[a-z]{{2}}$', '.x')"
    label = f"regexp_extract({base}, '([^.]+)\\.[^.]+$', 1)"
    return f"nullif(upper(left({label}, 1)) || substr({label}, 2), '')"


def quality_score(
    rows_read: int, structure_ok: int, content_ok: int, business_ok: int, merged: int, valid: int
) -> tuple:
    """The batch quality score, 0-100: how clean the rows are in the spec's three validation layers,
    times the share of rows that load.

    .. math::

        S = \\frac{n_{structure\\,ok}}{n},\\quad C = \\frac{n_{content\\,ok}}{n},\\quad
        B = \\frac{n_{business\\,ok} - n_{merged}}{n},\\quad V = \\frac{n_{valid}}{n},\\qquad
        Q = 100\\,V\\,\\frac{S + C + B}{3}

    where ``n`` is the rows read; a row is structure-ok when every non-empty typed value parses,
    content-ok when its required values are present and resolve, its email is well-formed and its
    category or event type allowed, and business-ok when it meets :data:`BUSINESS_RULES`; a
    duplicate (merged row) counts against ``B``. A row is valid (it loads) when it passes all
    three, so ``V`` is the validity: a file whose every row is quarantined scores 0, a clean file
    without duplicates 100. Returns ``(S, C, B, V, Q)`` rounded (fractions to 4 places, ``Q``
    to 1), or ``None`` five times for an empty batch.
    """
    if rows_read == 0:
        return None, None, None, None, None
    s, c, b = structure_ok / rows_read, content_ok / rows_read, (business_ok - merged) / rows_read
    v = valid / rows_read
    return round(s, 4), round(c, 4), round(b, 4), round(v, 4), round(100 * v * (s + c + b) / 3, 1)
