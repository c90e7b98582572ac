"""The import pipeline: map → validate → enrich → detect duplicates → merge → upsert.

Everything row-level runs as set-based DuckDB SQL. DuckDB streams the file once
(:mod:`analytics.imports.reading`) through steps 1-5 into the typed staging table
``import_typed``; steps 6-7 read that table, in one transaction per file (the file is
read again only for the raw text of quarantined and merged rows):

1. **Map and parse** each warehouse column from its header(s) (values map,
   prefix, typed parsing from :mod:`analytics.imports.values`); columns no entry
   names go to the ``extra`` JSON (or ``import_extra`` for tables without one).
2. **Resolve** references to other tables and fill lookups.
3. **Enrich** contacts where it is safe: ``company`` from a corporate email
   domain (never a free-mail domain), ``account_id`` from the account with that
   domain.
4. **Validate**: structure (every non-empty typed value parses), content
   (required values present, email format, allowed channel and cost category)
   and business rules (:data:`BUSINESS_RULES`). A row failing any check is
   quarantined with its file, line, raw values and every reason.
5. **Match** each valid row to its record: an existing record with the same key
   (the CRM id), else an existing record with the same duplicate key (normalized
   email + company), else a new record (rows of the batch sharing a duplicate key
   form one new record).
6. **Merge** each record that more than one row (or an existing record) feeds:
   per field, the most recent non-null value wins (most recent = later
   ``updated_at``, then the file over the warehouse, then the later line); the
   key of an existing record is kept. Every merged row is logged with the row it
   was merged into (``import_merge_log``).
7. **Upsert** on the primary key (tables without one: replace rows with the same
   key), record the run, and :func:`~analytics.warehouse.bump_version`.

Counting: the best-ranked row of a record is *loaded* (new record) or *updated*
(record matched by its key); every other row is *merged*; failing rows are
*quarantined*, so ``rows_read = rows_loaded + rows_updated + rows_merged +
rows_quarantined`` by construction, and the pipeline checks it before committing.
Re-importing the same file matches every record by its key, and the merge picks
the same values, so the canonical tables do not change.
"""

from __future__ import annotations

import json
import re
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from analytics.imports import values as V
from analytics.imports.ledger import create_ledger
from analytics.imports.mapping import MappingError, Source, column_types, normalize_header, source_for, table_columns
from analytics.imports.reading import FileLayout, describe_file, line_breaks_sql, raw_sql, with_read_retries
from analytics.loads import finish_load
from analytics.warehouse.schema import CHANNELS, COST_CATEGORIES, create_schema

Progress = Callable[[float, str], None]

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
    ("touchpoints", "channel"): CHANNELS,
    ("campaigns", "channel"): CHANNELS,
    ("campaign_costs", "category"): COST_CATEGORIES,
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
}

# How a duplicate-key column is normalized before comparing.
COMPANY_SUFFIXES = "inc|llc|ltd|gmbh|corp|corporation|co|company|sa|ag|plc|limited|bv|oy|ab|srl|sas"


def _normalized(column: str, alias: str) -> str:
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


@dataclass(frozen=True)
class ImportResult:
    """What one file's import did; the counts satisfy read = loaded + updated + merged + quarantined."""

    source: str
    file: str
    table: str
    run_id: str
    rows_read: int
    rows_loaded: int
    rows_updated: int
    rows_merged: int
    rows_quarantined: int
    rows_enriched: int
    structure_score: float | None
    content_score: float | None
    business_score: float | None
    quality_score: float | None
    unmapped: tuple[str, ...]

    def summary(self) -> dict:
        """The CLI's ``--json`` object."""
        keys = (
            "source",
            "file",
            "rows_read",
            "rows_loaded",
            "rows_updated",
            "rows_merged",
            "rows_quarantined",
            "quality_score",
        )
        return {k: v for k, v in asdict(self).items() if k in keys}


def quality_score(rows_read: int, structure_ok: int, content_ok: int, business_ok: int, merged: int) -> tuple:
    """The batch quality score, 0-100, from the spec's three validation layers.

    .. math::

        S = \\frac{n_{structure\\,ok}}{n},\\quad C = \\frac{n_{content\\,ok}}{n},\\quad
        B = \\frac{n_{business\\,ok} - n_{merged}}{n},\\qquad Q = 100\\,\\frac{S + C + B}{3}

    where ``n`` is the rows read; a row is structure-ok when every non-empty typed
    value parses, content-ok when its required values are present, its email is
    well-formed and its channel/category allowed, and business-ok when it meets
    :data:`BUSINESS_RULES`; a duplicate (merged row) counts against ``B``.
    Returns ``(S, C, B, Q)`` rounded (fractions to 4 places, ``Q`` to 1), or
    ``None`` four times for an empty batch.
    """
    if rows_read == 0:
        return None, None, None, None
    s, c, b = structure_ok / rows_read, content_ok / rows_read, (business_ok - merged) / rows_read
    return round(s, 4), round(c, 4), round(b, 4), round(100 * (s + c + b) / 3, 1)


class _Params:
    """Named bind parameters for generated SQL: every value from a file or mapping is bound."""

    def __init__(self):
        self.values: dict[str, object] = {}

    def __call__(self, value) -> str:
        name = f"p{len(self.values)}"
        self.values[name] = value
        return f"${name}"


@dataclass
class _Plan:
    """The SQL for one source and one file layout."""

    source: Source
    layout: FileLayout
    types: dict[str, str]
    fed: list[str]  # warehouse columns this import writes (without the primary key)
    headers_of: dict[str, str]  # column -> header used (for messages)
    unmapped: list[int]
    params: _Params
    preview_rows: int | None = None  # read just the first rows (the page's mapping preview)
    follow_merges: bool = True  # references also resolve through import_merge_log

    @property
    def table(self) -> str:
        return self.source.table


def _bound(sql: str, params: dict[str, object]) -> dict[str, object] | None:
    """Just the named parameters ``sql`` uses (DuckDB rejects extra ones)."""
    used = set(re.findall(r"\$([a-z_][a-z0-9_]*)", sql))
    return {k: v for k, v in params.items() if k in used} or None


def _exec(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, object]) -> None:
    con.execute(sql, _bound(sql, params))


def _present(layout: FileLayout, headers: tuple[str, ...]) -> list[int]:
    """Indices of the file columns matching ``headers``, in the mapping's order of preference."""
    index = {}
    for i, h in enumerate(layout.headers):
        index.setdefault(normalize_header(h), i)
    found = [index[normalize_header(h)] for h in headers if normalize_header(h) in index]
    return list(dict.fromkeys(found))  # "Email" and "email" are one column


def _missing_column_error(source: Source, layout: FileLayout, column: str, headers: tuple[str, ...]) -> MappingError:
    names = " or ".join(f'"{h}"' for h in headers)
    return MappingError(
        f"{layout.path.name} has no column {names} for the required field {column} of {source.name}; "
        f"add the column to the file, or edit the mapping entry {source.entry(column)} to the header your file uses "
        f"and pass that file with --mapping."
    )


def plan_import(source: Source, layout: FileLayout) -> _Plan:
    """Check the file's headers against the mapping; raises on a missing required column."""
    types = column_types(source.table)
    used: set[int] = set()
    headers_of: dict[str, str] = {}
    for column, headers in list(source.columns.items()) + [(c, r.headers) for c, r in source.references.items()]:
        found = _present(layout, headers)
        used.update(found)
        if found:
            headers_of[column] = layout.headers[found[0]]
        elif column in source.required and column not in source.lookups and not layout.empty:
            raise _missing_column_error(source, layout, column, headers)
    fed = [
        c
        for c in table_columns(source.table)
        if c in source.columns or c in source.references or c in source.lookups or c in source.constants
    ]
    if source.table == "contacts":
        fed += [c for c in ("company", "account_id") if c not in fed]
    if source.primary_key not in source.key:  # then the primary key is derived (_target)
        fed = [c for c in fed if c != source.primary_key]
    unmapped = [i for i in range(len(layout.headers)) if i not in used]
    return _Plan(source, layout, types, fed, headers_of, unmapped, _Params())


# -- SQL builders ---------------------------------------------------------------------------


def _text_of(plan: _Plan, headers: tuple[str, ...]) -> str:
    found = _present(plan.layout, headers)
    if not found:
        return "null::varchar"
    parts = [V.text(f"c{i}") for i in found]
    return parts[0] if len(parts) == 1 else f"coalesce({', '.join(parts)})"


def _mapped_text(plan: _Plan, column: str) -> str:
    """The text feeding ``column`` after the mapping's values map, normalization and prefix."""
    p, source = plan.params, plan.source
    expr = (
        _text_of(plan, source.columns[column])
        if column in source.columns
        else f"{p(source.constants[column])}::varchar"
    )
    if column in source.constants and column in source.columns:
        expr = f"coalesce({expr}, {p(source.constants[column])})"
    if column in source.values:
        # one map lookup (a CASE per value would repeat the text expression in every branch)
        mapping = {k: v for k, v in source.values[column].items() if k != "*"}
        found = f"map_extract_value(map({p(list(mapping))}::varchar[], {p(list(mapping.values()))}::varchar[]), lower({expr}))"
        default = p(source.values[column]["*"]) if "*" in source.values[column] else expr
        expr = f"(case when {expr} is null then null else coalesce({found}, {default}) end)"
    if column == "email":
        expr = f"lower({expr})"
    if column == "domain":
        expr = V.web_domain(expr)
    if column in source.prefix:
        expr = f"({p(source.prefix[column])} || {expr})"
    return expr


def _key_expr(columns: tuple[str, ...], alias: str) -> str:
    if len(columns) == 1:
        return f"cast({alias}.{columns[0]} as varchar)"
    parts = ", ".join(f"coalesce(cast({alias}.{c} as varchar), '')" for c in columns)
    return f"concat_ws(chr(31), {parts})"


def _json_of(plan: _Plan, indices: list[int], alias: str) -> str:
    if not indices:
        return "null::json"
    pairs = ", ".join(f"{plan.params(plan.layout.headers[i])}, {alias}.c{i}" for i in indices)
    return f"json_object({pairs})"


def _checked_ctes(plan: _Plan, numbered: bool = True) -> str:
    """CTEs ending in ``checked_rows``: one row per file row, typed, with its reasons."""
    source, p, types = plan.source, plan.params, plan.types
    direct = [c for c in plan.fed if c in source.columns or c in source.constants]
    mapped = ", ".join(
        [f"{_mapped_text(plan, c)} as t_{c}" for c in direct]
        + [f"trim(split_part({_text_of(plan, r.headers)}, ';', 1)) as t_{c}" for c, r in source.references.items()]
    )
    extra = _json_of(plan, plan.unmapped, "raw")
    parsed = ", ".join(f"{V.parse(f't_{c}', types[c])} as {c}" for c in direct)

    ref_joins, ref_cols = [], []
    for column, ref in source.references.items():
        ids = []
        ref_pk = table_columns(ref.table)[0]
        for j, by in enumerate(ref.by):
            alias = f"ref_{column}_{j}"
            fold = "lower" if by == "name" else ""
            merged = (
                (
                    f"union all select merged_key, record_id from import_merge_log "
                    f"where table_name = {p(ref.table)} and key_column = {p(by)}"
                )
                if plan.follow_merges
                else ""
            )
            ref_joins.append(
                f"left join (select {fold}(k) as k, min(id) as id from (select cast({by} as varchar) as k, "
                f"{ref_pk} as id from {ref.table} where {by} is not null {merged}) group by 1) {alias} "
                f"on {alias}.k = {fold}(parsed.t_{column})"
            )
            ids.append(f"{alias}.id")
        fallback = "null" if ref.must_exist else f"{p(ref.prefix)} || parsed.t_{column}"
        ref_cols.append(f"coalesce({', '.join(ids)}, {fallback}) as {column}")
    look_joins, look_cols = [], []
    for column, look in source.lookups.items():
        alias = f"look_{column}"
        look_joins.append(
            f"left join {look.table} {alias} on {alias}.{table_columns(look.table)[0]} = resolved_refs.{look.via}"
        )
        own = f"resolved_refs.{column}, " if column in direct else ""
        look_cols.append((column, f"coalesce({own}{alias}.{look.column})"))

    enrich_joins, enrich_cols, enriched_flag = "", [], "false"
    if source.table == "contacts":
        domain = "split_part(looked.email, '@', 2)"
        free = p(list(FREE_MAIL_DOMAINS))
        enrich_joins = (
            f"left join (select domain as d, min(account_id) as id from accounts where domain is not null "
            f"group by 1) by_domain on by_domain.d = {domain}"
        )
        corporate = f"(looked.email is not null and not list_contains({free}, {domain}))"
        have_now = set(direct) | set(source.references) | set(source.lookups)
        company = "looked.company" if "company" in have_now else "null::varchar"
        account = "looked.account_id" if "account_id" in have_now else "null::varchar"
        enrich_cols = [
            ("company", f"coalesce({company}, case when {corporate} then {company_from_domain(domain)} end)"),
            ("account_id", f"coalesce({account}, by_domain.id)"),
        ]
        enriched_flag = (
            f"({company} is null and {corporate} and {company_from_domain(domain)} is not null) "
            f"or ({account} is null and by_domain.id is not null)"
        )

    def with_columns(alias: str, cols: list[tuple[str, str]], have: set[str]) -> str:
        replace = [f"{e} as {c}" for c, e in cols if c in have]
        add = [f"{e} as {c}" for c, e in cols if c not in have]
        star = f"{alias}.*" + (f" replace ({', '.join(replace)})" if replace else "")
        return ", ".join([star] + add)

    have = set(direct) | set(source.references)
    looked_select = with_columns("resolved_refs", look_cols, have)
    have |= set(source.lookups)
    enriched_select = with_columns("looked", enrich_cols, have) + f", ({enriched_flag}) as _enriched"

    # every check is (failure condition, reason text): the conditions decide (cheap booleans),
    # the texts are built only where a statement asks for the reason (quarantine, preview)
    structure = [
        (
            f"t_{c} is not null and {c} is null",
            f"{p(plan.headers_of.get(c, c))} || ' \"' || t_{c} || '\" is not {V.TYPE_WORDS[types[c]]}'",
        )
        for c in direct
        if types[c] in V.PARSERS
    ]
    content = []
    for c in dict.fromkeys(source.required + source.key):
        where = plan.headers_of.get(c, c)
        if c in source.references:
            content.append((f"t_{c} is null", p(where + " is empty")))
            content.append(
                (
                    f"t_{c} is not null and {c} is null",
                    f"{p(where)} || ' \"' || t_{c} || '\" matches no row of {source.references[c].table}; '"
                    f" || 'import that first or fix the value'",
                )
            )
        elif c in source.lookups:
            look = source.lookups[c]
            via = plan.headers_of.get(look.via, look.via)
            tail = f'" has no {look.table} row with a {look.column}; import {look.table} first'
            content.append(
                (f"{c} is null", f"{p(c + ' is empty: ' + via)} || ' \"' || coalesce(t_{look.via}, '') || {p(tail)}")
            )
        elif c in direct:
            content.append((f"{c} is null and t_{c} is null", p(where + " is empty")))
        else:
            content.append((f"{c} is null", p(where + " is empty")))
    if "email" in plan.fed:
        content.append(
            (
                f"email is not null and not regexp_full_match(email, {p(V.EMAIL_PATTERN)})",
                f"{p(plan.headers_of.get('email', 'email'))} || ' \"' || email || '\" is not a valid email address'",
            )
        )
    for (table, column), allowed in ALLOWED_VALUES.items():
        if table == source.table and column in plan.fed:
            fix = f'; map it under "values" > "{column}" in {source.mapping_file.name}'
            # the vocabulary is the warehouse's own (code constants), inlined: a bound list, or
            # NOT IN, would be planned as a join
            vocabulary = ", ".join("'" + value.replace("'", "''") + "'" for value in allowed)
            content.append(
                (
                    f"{column} is not null and not list_contains([{vocabulary}], {column})",
                    f"{p(column)} || ' \"' || {column} || '\" is not one of ' || {p(', '.join(allowed))} || {p(fix)}",
                )
            )
    business = [
        (f"not ({rule})", p(reason))
        for rule, reason in BUSINESS_RULES.get(source.table, ())
        if all(word in plan.fed for word in _rule_columns(rule))
    ]

    def passes(checks: list[tuple[str, str]]) -> str:
        return " and ".join(f"not coalesce({failure}, false)" for failure, _ in checks) if checks else "true"

    reason = ", ".join(
        f"case when coalesce({failure}, false) then {text} end" for failure, text in structure + content + business
    )
    reason = f"nullif(concat_ws('; ', {reason}), '')" if reason else "null::varchar"

    return f"""
        raw as (
            {raw_sql(plan.layout, plan.preview_rows, numbered)}
        ),
        mapped as (
            select raw.*{", " + mapped if mapped else ""}, {extra} as extra
            from raw
        ),
        parsed as (
            select *{", " + parsed if parsed else ""}
            from mapped
        ),
        resolved_refs as (
            select parsed.*{"".join(", " + c for c in ref_cols)}
            from parsed
            {" ".join(ref_joins)}
        ),
        looked as (
            select {looked_select}
            from resolved_refs
            {" ".join(look_joins)}
        ),
        enriched as (
            select {enriched_select}
            from looked
            {enrich_joins}
        ),
        checked as (
            select *, {passes(structure)} as _structure_ok, {passes(content)} as _content_ok,
                   {passes(business)} as _business_ok
            from enriched
        ),
        checked_rows as (
            select *, _structure_ok and _content_ok and _business_ok as _valid, {reason} as _reason
            from checked
        )"""


def _rule_columns(rule: str) -> list[str]:
    words = {w.strip("(),") for w in rule.split()}
    return [w for w in words if w.isidentifier() and w not in {"is", "null", "or", "and", "not", "between"}]


def _typed_sql(plan: _Plan, numbered: bool = True) -> str:
    """A query of every file row, typed, with its checks, its reasons and (when valid) the
    record it feeds (``_target``) and how it matched it (``_match``: key, dup or new).

    The reason texts are computed only by the statements that select ``_reason``.
    """
    source, p, table = plan.source, plan.params, plan.table
    pk = source.primary_key
    key_v, key_t = _key_expr(source.key, "valid"), _key_expr(source.key, "t")
    key_not_null = " and ".join(f"t.{c} is not null" for c in source.key)
    existing_id = f"min(t.{pk})" if pk else key_t
    group_by = "group by 1" if pk else ""
    distinct = "" if pk else "distinct"
    if source.duplicates:
        dup_v = " || chr(31) || ".join(_normalized(c, "valid") for c in source.duplicates)
        dup_t = " || chr(31) || ".join(_normalized(c, "t") for c in source.duplicates)
        dup_ctes = f"""
        existing_dups as (
            select {dup_t} as d, min(t.{pk}) as id from {table} t where d is not null group by 1
        ),
        with_dup as (select checked_rows.*, {dup_v.replace("valid.", "checked_rows.")} as _dup from checked_rows),
        first_of_dup as (
            select _dup, first({key_v.replace("valid.", "with_dup.")}
                               order by {_recency(plan)} desc nulls last, _rec desc) as first_key
            from with_dup where _dup is not null and _valid group by _dup
        ),"""
        dup_join = "left join existing_dups ed on ed.d = v._dup left join first_of_dup f on f._dup = v._dup"
        dup_id, first_key = "ed.id", "f.first_key"
    else:
        dup_ctes = "with_dup as (select checked_rows.*, null::varchar as _dup from checked_rows),"
        dup_join, dup_id, first_key = "", "null::varchar", "null::varchar"
    if pk and pk not in source.key:
        new_id = f"{p(source.id_prefix)} || coalesce({first_key}, {key_v.replace('valid.', 'v.')})"
    else:
        new_id = f"coalesce({first_key}, {key_v.replace('valid.', 'v.')})"
    return f"""
        with {_checked_ctes(plan, numbered)},
        existing_keys as (
            select {distinct} {key_t} as k, {existing_id} as id from {table} t where {key_not_null} {group_by}
        ),
        {dup_ctes}
        targeted as (
            select v.*,
                   case when ek.id is not null then 'key' when {dup_id} is not null then 'dup' else 'new' end as _match,
                   coalesce(ek.id, {dup_id}, {new_id}) as _target
            from with_dup v
            left join existing_keys ek on ek.k = {key_v.replace("valid.", "v.")}
            {dup_join}
        )
        select * from targeted"""


def _staged_sql(plan: _Plan) -> str:
    """SQL creating ``import_typed``: the one pass that reads and parses the file.

    It keeps per row what later statements need (typed columns, checks, target, match,
    line) and not the text: a file is parsed once, and the writes copy typed columns.
    """
    return f"""
        create temp table import_typed as
        select _rec, _valid, _structure_ok, _content_ok, _business_ok, _enriched, _match, _target,
               {", ".join(plan.fed)}, extra
        from ({_typed_sql(plan)}) typed"""


def _line(plan: _Plan, alias: str) -> str:
    """The text line of row ``alias._rec`` (``import_breaks`` exists)."""
    return (
        f"{alias}._rec + {plan.layout.first_line} + coalesce((select sum(b.breaks) from import_breaks b "
        f"where b._rec < {alias}._rec), 0)"
    )


def _recency(plan: _Plan, alias: str = "") -> str:
    return f"{alias}updated_at" if "updated_at" in plan.fed else "null::timestamp"


SUMMARY_SQL = """
    create temp table import_summary as
    select count(*) as n_read,
           count(*) filter (where _valid) as n_valid,
           count(*) filter (where _structure_ok) as n_structure_ok,
           count(*) filter (where _content_ok) as n_content_ok,
           count(*) filter (where _business_ok) as n_business_ok,
           count(*) filter (where _valid and _enriched) as n_enriched
    from import_typed"""


# records that need merging: a target fed by several valid rows, or that exists already
GROUPS_SQL = """
    create temp table import_groups as
    select _target, count(*) as n, bool_or(_match <> 'new') as has_existing, bool_or(_match = 'key') as has_key
    from import_typed
    where _valid
    group by _target
    having count(*) > 1 or bool_or(_match <> 'new')"""


def _merge_sql(plan: _Plan, run_id: str, file_label: str, has_groups: bool) -> list[str]:
    """Statements that rank, log, fold and write the valid rows (``import_groups`` exists).

    Rows of a group (several rows, or an existing record) are ranked and folded;
    the other rows are inserted as they are from ``import_typed``.
    """
    source, p, table = plan.source, plan.params, plan.table
    pk = source.primary_key
    cols = plan.fed
    has_extra = "extra" in table_columns(table)
    all_raw = _json_of(plan, list(range(len(plan.layout.headers))), "mr")
    all_raw_kept = _json_of(plan, list(range(len(plan.layout.headers))), "kr")
    key_label = p(" + ".join(plan.headers_of.get(c, c) for c in source.key))
    dup_label = p(" + ".join(source.duplicates) or "key")
    id_of_t = f"t.{pk}" if pk else _key_expr(source.key, "t")
    batch_cols = ", ".join(cols + (["extra"] if has_extra or plan.unmapped else []))
    table_cols = ", ".join(cols + (["extra"] if has_extra else []))
    folds = []
    for c in cols + (["extra"] if has_extra or plan.unmapped else []):
        order = "_r_key" if c in source.key else "_r"
        agg = f"max({c})" if c == "updated_at" else f"arg_min({c}, {order}) filter (where {c} is not null)"
        folds.append(f"{agg} as {c}")
    # rows that go straight in need no line number (unless duplicates are ranked by line)
    singles = "import_typed where _valid" + (
        " and _target not in (select _target from import_groups)" if has_groups else ""
    )
    extra_cols = ["extra"] if has_extra else []
    insert_cols = ", ".join(([pk] if pk and pk not in cols else []) + cols + extra_cols)
    select_cols = ", ".join((["_target"] if pk and pk not in cols else []) + cols + extra_cols)
    existing_json = f"(select to_json(t) from {table} t where t.{pk} = m._target)" if pk else "null::json"
    grouped = [
        f"""create temp table import_ranked as
            select typed.*, row_number() over (partition by _target
                        order by (_match = 'dup'), {_recency(plan)} desc nulls last, _rec desc) as _rank
            from import_typed typed semi join import_groups g using (_target)
            where _valid""",
        f"""insert into import_merge_log
            (run_id, table_name, record_id, matched_on, file, merged_line, merged_values, kept_line, key_column,
             merged_key, kept_values)
            select {p(run_id)}, {p(table)}, m._target,
                   case when m._match = 'key' or {_key_expr(source.key, "m")} = {_key_expr(source.key, "k")}
                        then {key_label} else {dup_label} end,
                   {p(file_label)}, {_line(plan, "m")}, {all_raw}, {_line(plan, "k")},
                   {p(source.key[0] if len(source.key) == 1 else None)}, {_key_expr(source.key, "m")},
                   case when k._rec is not null then {all_raw_kept} else {existing_json} end
            from import_ranked m
            join import_raw mr on mr._rec = m._rec
            left join import_ranked k on k._target = m._target and k._rank = 1 and k._match <> 'dup'
            left join import_raw kr on kr._rec = k._rec
            where not (m._rank = 1 and m._match <> 'dup')""",
        f"""create temp table import_folded as
            with candidates as (
                select _target, 1 as _src, _rec, {batch_cols} from import_ranked
                union all by name
                select {id_of_t} as _target, 0 as _src, null::bigint as _rec, {table_cols}
                from {table} t
                where {id_of_t} in (select _target from import_groups where has_existing)
            ),
            ordered as (
                select *,
                       row_number() over (partition by _target order by {_recency(plan)} desc nulls last,
                                          _src desc, _rec desc nulls last) as _r,
                       row_number() over (partition by _target order by _src, {_recency(plan)} desc nulls last,
                                          _rec desc nulls last) as _r_key
                from candidates
            )
            select _target, {", ".join(folds)}
            from ordered
            group by _target""",
    ]
    if pk:
        updates = ", ".join(f"{c} = excluded.{c}" for c in cols + extra_cols if c != pk)
        grouped.append(f"""insert into {table} ({insert_cols})
            select {select_cols} from import_folded
            on conflict ({pk}) do update set {updates}""")
    else:
        grouped += [
            f"""delete from {table} t
                where {_key_expr(source.key, "t")} in (select _target from import_groups where has_existing)""",
            f"insert into {table} ({insert_cols}) select {select_cols} from import_folded",
        ]
    statements = (grouped if has_groups else []) + [
        f"insert into {table} ({insert_cols}) select {select_cols} from {singles}"
    ]
    if plan.unmapped and not has_extra:
        statements += [
            """delete from import_extra
                where table_name = $extra_table
                  and record_key in (select _target from import_groups where has_existing)""",
            f"""insert into import_extra
                select $extra_table, _target, extra from {singles}
                {"union all select $extra_table, _target, extra from import_folded" if has_groups else ""}""",
        ]
    return statements


def _counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Row counts by outcome.

    In a group (a record fed by several rows or existing already), the best-ranked row
    is loaded (no existing record) or updated (an existing record matched by key: key
    rows rank before duplicate rows); the group's other rows are merged. Rows outside
    groups are loaded.
    """
    rows = con.execute("""
        with totals as (
            select n_read, n_read - n_valid as n_quarantined, n_structure_ok, n_content_ok, n_business_ok,
                   n_enriched, n_valid
            from import_summary
        ),
        grouped as (
            select count(*) filter (where not has_existing) as n_group_loaded,
                   count(*) filter (where has_key) as n_group_updated,
                   coalesce(sum(n), 0) as n_grouped
            from import_groups
        )
        select n_read, n_quarantined, n_structure_ok, n_content_ok, n_business_ok, n_enriched,
               n_valid - n_grouped + n_group_loaded as n_loaded,
               n_group_updated as n_updated,
               n_grouped - n_group_loaded - n_group_updated as n_merged
        from totals, grouped""").fetchall()[0]
    names = (
        "read",
        "quarantined",
        "structure_ok",
        "content_ok",
        "business_ok",
        "enriched",
        "loaded",
        "updated",
        "merged",
    )
    return {name: int(value) for name, value in zip(names, rows)}


TEMP_TABLES = (
    "import_summary",
    "import_groups",
    "import_ranked",
    "import_folded",
    "import_raw",
    "import_typed",
    "import_breaks",
)


def _drop_temp(con: duckdb.DuckDBPyConnection) -> None:
    for name in TEMP_TABLES:
        con.execute(f"drop table if exists {name}")


def import_file(
    con: duckdb.DuckDBPyConnection,
    source_name: str,
    path: str | Path,
    mapping: str | Path | None = None,
    progress: Progress | None = None,
    file_label: str | None = None,
) -> ImportResult:
    """Import one file of ``source_name`` into the open (read-write) warehouse ``con``.

    Parameters
    ----------
    con : a read-write connection; the import runs in one transaction on it.
    source_name : one of :data:`analytics.imports.mapping.SOURCES`.
    path : CSV (any common dialect), XLSX, Parquet or JSON lines file.
    mapping : a mapping file to use instead of the default for the source's family.
    progress : called with (fraction, message) between the steps.
    file_label : the name recorded as the row's file (default: the path given).

    Raises
    ------
    RevLensError
        When the file cannot be read, or lacks a required column (nothing changes).
    """
    progress = progress or (lambda fraction, message: None)
    path = Path(path)
    file_label = file_label or str(path)
    source = source_for(source_name, mapping)
    started = datetime.now(UTC).replace(tzinfo=None)
    run_id = uuid.uuid4().hex
    with tempfile.TemporaryDirectory(prefix="revlens-import-") as workdir:
        progress(0.02, f"Reading the headers of {path.name}")
        layout = describe_file(path, Path(workdir))
        plan = plan_import(source, layout)
        _session(con)
        # idempotent DDL, outside the import's transaction: the checks below read these tables
        create_schema(con)
        create_ledger(con)
        _drop_temp(con)
        try:
            if not layout.empty:
                progress(0.05, f"Reading and validating {path.name}")
                _check(con, plan)
            con.execute("begin transaction")
            try:
                counts = _write(con, plan, run_id, file_label, progress) if not layout.empty else _no_rows()
                scores = quality_score(
                    counts["read"],
                    counts["structure_ok"],
                    counts["content_ok"],
                    counts["business_ok"],
                    counts["merged"],
                )
                if counts["read"] != counts["loaded"] + counts["updated"] + counts["merged"] + counts["quarantined"]:
                    raise RuntimeError(f"import counts do not reconcile: {counts}")  # a bug, never a user error
                result = ImportResult(
                    source.name,
                    file_label,
                    source.table,
                    run_id,
                    counts["read"],
                    counts["loaded"],
                    counts["updated"],
                    counts["merged"],
                    counts["quarantined"],
                    counts["enriched"],
                    *scores,
                    tuple(layout.headers[i] for i in plan.unmapped),
                )
                _record_run(con, result, source, layout, started)
                finish_load(con, f"import {source.name} {path.name}")
                con.execute("commit")
            except BaseException:
                con.execute("rollback")
                raise
        finally:
            _drop_temp(con)
            con.execute("reset disabled_optimizers")
    progress(1.0, f"Imported {path.name}")
    return result


def _session(con: duckdb.DuckDBPyConnection) -> None:
    """Session settings of an import (this connection only).

    Times parse in UTC. Filter pushdown is off: it would copy the whole parsing
    expression of every column into the ``_valid`` filter below the projections and
    evaluate it twice (measured: 3.5x slower on a touchpoint file).
    """
    con.execute("set TimeZone = 'UTC'")
    con.execute("set disabled_optimizers = 'filter_pushdown'")


def _no_rows() -> dict[str, int]:
    return dict.fromkeys(
        ("read", "quarantined", "structure_ok", "content_ok", "business_ok", "enriched", "loaded", "updated", "merged"),
        0,
    )


def preview(
    con: duckdb.DuckDBPyConnection, source_name: str, path: str | Path, mapping: str | Path | None = None, rows: int = 5
):
    """The mapping of ``path`` as ``source_name`` and its first ``rows`` rows as they would load.

    Read-only: runs the import's own typed query on the first rows. Returns
    ``(columns, sample)``: per warehouse column the file header that feeds it (or how it
    is filled), and the typed first rows with their line and, when they would be
    quarantined, the reason. Raises like :func:`import_file` on a missing required column.
    """
    import polars as pl

    source = source_for(source_name, mapping)
    with tempfile.TemporaryDirectory(prefix="revlens-preview-") as workdir:
        layout = describe_file(path, Path(workdir))
        plan = plan_import(source, layout)
        plan.preview_rows = rows
        plan.follow_merges = bool(
            con.execute(
                "select count(*) from information_schema.tables where table_name = 'import_merge_log'"
            ).fetchall()[0][0]
        )
        described = []
        for column in table_columns(source.table):
            if column in plan.headers_of:
                headers = source.references[column].headers if column in source.references else source.columns[column]
                filled = ", else ".join(layout.headers[i] for i in _present(layout, headers))
            elif column in source.lookups:
                look = source.lookups[column]
                filled = f"(looked up: {look.table}.{look.column} via {look.via})"
            elif column in source.constants:
                filled = f"(always {source.constants[column]!r})"
            elif column == source.primary_key and source.id_prefix:
                filled = f"(new records: {source.id_prefix} + {', '.join(source.key)})"
            elif column == "extra" and plan.unmapped:
                filled = "(unmapped: " + ", ".join(layout.headers[i] for i in plan.unmapped) + ")"
            else:
                continue
            described.append({"column": column, "from": filled, "required": column in source.required})
        columns = pl.DataFrame(described, schema={"column": pl.String, "from": pl.String, "required": pl.Boolean})
        if layout.empty:
            return columns, pl.DataFrame()
        _session(con)
        samples = []

        def run(layout: FileLayout) -> None:
            plan.layout = layout
            sql = (
                f"select _rec + {layout.first_line} as line, _reason as quarantine_reason, {', '.join(plan.fed)} "
                f"from ({_typed_sql(plan)}) typed order by _rec"
            )
            samples.append(con.sql(sql, params=_bound(sql, _params(plan))).pl())

        try:
            with_read_retries(layout, run)
        finally:
            con.execute("reset disabled_optimizers")
    return columns, samples[-1]


def _params(plan: _Plan) -> dict[str, object]:
    return {**plan.params.values, "import_path": str(plan.layout.path), "extra_table": plan.table}


def _check(con: duckdb.DuckDBPyConnection, plan: _Plan) -> None:
    """Pass 1: read and parse the file once into ``import_typed``, and sum it up.

    It runs before the transaction (it writes a temp table only), so a reader retry
    (see :func:`~analytics.imports.reading.with_read_retries`) does not abort it; the
    plan keeps the layout that read the file for the later passes.
    """

    def run(layout: FileLayout) -> None:
        plan.layout = layout
        con.execute("drop table if exists import_typed")
        _exec(con, _staged_sql(plan), _params(plan))

    plan.layout = with_read_retries(plan.layout, run)
    con.execute(SUMMARY_SQL)


def _write(
    con: duckdb.DuckDBPyConnection, plan: _Plan, run_id: str, file_label: str, progress: Progress
) -> dict[str, int]:
    """In the transaction: quarantine (when rows failed), merge (when records need it) and
    insert; returns the counts."""
    source = plan.source
    con.execute(GROUPS_SQL)
    has_groups = con.execute("select count(*) from import_groups").fetchall()[0][0] > 0
    n_quarantined = con.execute("select n_read - n_valid from import_summary").fetchall()[0][0]
    if n_quarantined or has_groups:
        # line numbers of quarantined and merged rows count the line breaks inside values before them
        _exec(con, f"create temp table import_breaks as {line_breaks_sql(plan.layout)}", _params(plan))
    if has_groups:
        # the raw text of the merged rows, for the merge log
        _exec(
            con,
            f"""
            create temp table import_raw as
            select * from ({raw_sql(plan.layout)}) r
            where _rec in (select _rec from import_typed semi join import_groups using (_target))""",
            _params(plan),
        )
    if n_quarantined:
        progress(0.4, f"Quarantining {n_quarantined:,} rows")
        all_raw = _json_of(plan, list(range(len(plan.layout.headers))), "typed")
        _exec(
            con,
            f"""
            insert into import_quarantine
            select {plan.params(run_id)}, {plan.params(source.name)}, {plan.params(source.table)},
                   {plan.params(file_label)}, {_line(plan, "typed")}, _reason, {all_raw}
            from ({_typed_sql(plan)}) typed
            where not _valid""",
            _params(plan),
        )
    progress(0.6, "Merging duplicates and writing")
    for sql in _merge_sql(plan, run_id, file_label, has_groups):
        _exec(con, sql, _params(plan))
    return _counts(con)


def _record_run(con, result: ImportResult, source: Source, layout: FileLayout, started: datetime) -> None:
    con.execute(
        """insert into import_runs values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        [
            result.run_id,
            result.source,
            result.table,
            result.file,
            str(source.mapping_file),
            started,
            datetime.now(UTC).replace(tzinfo=None),
            result.rows_read,
            result.rows_loaded,
            result.rows_updated,
            result.rows_merged,
            result.rows_quarantined,
            result.rows_enriched,
            result.structure_score,
            result.content_score,
            result.business_score,
            result.quality_score,
            json.dumps(list(layout.headers)),
            json.dumps(list(result.unmapped)),
        ],
    )
