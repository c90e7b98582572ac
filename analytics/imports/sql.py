"""The import's SQL, built from its plan: one typed pass over the file, then the merge and the writes.

Every statement is set-based DuckDB SQL over the file's raw text columns ``c0 .. cN``
(:func:`~analytics.imports.reading.raw_sql`). Identifiers come from the schema (the
mapping is checked against it); headers and values from a file or a mapping are bound
through the plan's :class:`~analytics.imports.plan.Placeholders`, so every builder takes
the plan and adds its values there. The statements, in the order
:mod:`analytics.imports.pipeline` runs them:

- :func:`staged_sql`: ``import_typed``, the one pass that reads and parses the file: per
  row its typed columns, checks (:func:`checked_ctes`: map, parse, resolve references,
  look up, enrich, validate), the record it feeds (``_target``) and how it matched it;
- :data:`SUMMARY` (``import_summary``) and :data:`GROUPS` (``import_groups``: the records
  more than one row, or an existing record, feed);
- :func:`breaks_sql`, :func:`merged_raw_sql` and :func:`quarantine_sql`: line numbers, the
  raw text of merged rows, the quarantined rows with every reason;
- :func:`merge_statements`: rank, log, fold and upsert;
- :data:`COUNTS`: rows by outcome, and :data:`RECORD_RUN`, the run's ledger row.
"""

from __future__ import annotations

import re

from analytics.core.money import MAX_AMOUNT
from analytics.core.periods import FIRST_PLAUSIBLE_DAY, LAST_PLAUSIBLE_DAY
from analytics.imports import values as V
from analytics.imports.mapping import table_columns
from analytics.imports.plan import ImportPlan, present, present_groups
from analytics.imports.reading import line_breaks_sql, raw_sql
from analytics.imports.rules import (
    ALLOWED_VALUES,
    BUSINESS_RULES,
    FREE_MAIL_DOMAINS,
    OPEN_VOCABULARIES,
    company_from_domain,
    normalized,
    rule_columns,
)
from analytics.warehouse.runner import Query

# The temporary tables an import creates (dropped before and after it).
TEMP_TABLES = (
    "import_keyhash",
    "import_values",
    "import_held",
    "import_repeats",
    "import_candidates",
    "import_rejects",
    "recheck_ledger",
    "recheck_held",
    "recheck_superseded",
    "recheck_decision",
    "recheck_lines",
    "recheck_rows",
    "import_ledger",
    "import_summary",
    "import_groups",
    "import_ranked",
    "import_folded",
    "import_raw",
    "import_typed",
    "import_breaks",
)


def contains(values: str, expr: str) -> str:
    """SQL: whether the list ``values`` (a bound or literal list) holds ``expr`` (NULL when ``expr`` is NULL).

    Not ``list_contains`` or ``IN``: DuckDB rewrites those, for a constant list of five values or more, into a
    MARK join, which computes ``expr`` and probes the list for every row of the scan, outside any CASE branch
    that was meant to skip it (measured: a five-word null test per cell took the touchpoint insert from 1.6 to
    3.3 CPU-s per million rows). ``list_position`` stays a function, evaluated only where its branch runs.
    """
    return f"(list_position({values}, {expr}) is not null)"


def _null_like(plan: ImportPlan, column: str | None, raw: str) -> str:
    """``raw`` as trimmed text, NULL when empty or one of the mapping's ``null_values`` ("N/A", "-", ...),
    compared trimmed and ignoring case.

    In a number column ``nan`` is left to the number check, which quarantines it as not finite.
    One CASE, the cheap tests first (most cells are neither padded nor as short as a null word): a cell
    with a space at either end (or empty) is trimmed, then compared; any other cell is compared as it is,
    and only when it is no longer than the longest word (``length`` counts characters, and ``lower`` keeps
    their number). A CSV file that holds no padded cell (``layout.padded`` False) skips the padding test:
    its suffix test alone cost 0.16 CPU-s per column of 10 million rows.
    """
    values = plan.source.null_values
    if column is not None and plan.types.get(column) in ("double", "integer", "bigint"):
        values = tuple(v for v in values if v != "nan")
    # DuckDB's CSV reader gives an empty cell (quoted or not) as NULL, never as ''; in a CSV file where no
    # space touches a delimiter, a quote or a line end, no cell is padded (:func:`may_hold_padded_cells`)
    unpadded = plan.layout.kind == "csv" and not plan.layout.padded
    if not values:
        return raw if unpadded else V.text(raw)
    words = f"{plan.params(list(values))}::varchar[]"
    longest = max(len(v) for v in values)
    short_word = f"when length({raw}) <= {longest} and {contains(words, f'lower({raw})')} then null"
    if unpadded:
        return f"case {short_word} else {raw} end"
    trimmed = f"nullif(trim({raw}), '')"
    empty = "" if plan.layout.kind == "csv" else f" or {raw} = ''"
    return (
        f"case when {raw} like ' %' or {raw} like '% '{empty} "
        f"then case when {contains(words, f'lower({trimmed})')} then null else {trimmed} end "
        f"{short_word} else {raw} end"
    )


def _text_of(
    plan: ImportPlan, headers: tuple[str, ...], groups: tuple[tuple[str, ...], ...] = (), column: str | None = None
) -> str:
    """The first non-empty text of ``headers``, else of a group of headers joined with a space
    (a cell holding one of the mapping's ``null_values`` is empty)."""
    parts = [_null_like(plan, column, f"c{i}") for i in present(plan.layout, headers)]
    for group in present_groups(plan.layout, groups):
        parts.append(f"nullif(concat_ws(' ', {', '.join(_null_like(plan, column, f'c{i}') for i in group)}), '')")
    if not parts:
        return "null::varchar"
    return parts[0] if len(parts) == 1 else f"coalesce({', '.join(parts)})"


def _value_map(plan: ImportPlan, column: str, expr: str) -> str:
    """The mapping's ``values`` translation of ``expr`` (NULL when the map has no entry for it)."""
    p = plan.params
    # one lookup (a CASE per value would repeat the text expression in every branch); a position in the list
    # of keys measured cheaper than a MAP's lookup (0.33 against 0.5 CPU-s for 10M channels)
    mapping = {k: v for k, v in plan.source.values.get(column, {}).items() if k != "*"}
    if (plan.table, column) in OPEN_VOCABULARIES:
        # the vocabulary's own names map to themselves: only a value the map does not know is normalized
        mapping = {name: name for name in mapping.values()} | mapping
    if not mapping:
        return "null::varchar"
    keys, values = f"{p(list(mapping))}::varchar[]", f"{p(list(mapping.values()))}::varchar[]"
    return f"list_extract({values}, list_position({keys}, lower({expr})))"


def open_columns(plan: ImportPlan) -> list[str]:
    """The columns of this import whose values are the user's own vocabulary (channels)."""
    return [c for c in plan.fed if (plan.table, c) in OPEN_VOCABULARIES and c in plan.source.columns]


def closed_columns(plan: ImportPlan) -> list[str]:
    """The columns of this import that must take a value of the warehouse's vocabulary (categories, event types)."""
    return [
        c
        for c in plan.fed
        if (plan.table, c) in ALLOWED_VALUES and (c in plan.source.columns or c in plan.source.constants)
    ]


def _source_text(plan: ImportPlan, column: str) -> str:
    """The file's text for ``column`` (or the mapping's constant), before the values map."""
    p, source = plan.params, plan.source
    expr = (
        _text_of(plan, source.columns[column], source.joins.get(column, ()), column)
        if column in source.columns
        else f"{p(source.constants[column])}::varchar"
    )
    if column in source.constants and column in source.columns:
        expr = f"coalesce({expr}, {p(source.constants[column])})"
    return expr


source_text = _source_text  # the file's text of a column, for the pipeline's own checks (warnings)


def _open_texts(plan: ImportPlan, column: str) -> list[str]:
    """``o_<column>`` (the file's text) and ``f_<column>`` (what the values map makes of it) of an open
    vocabulary, selected before ``t_<column>`` so that the map is looked up once per row."""
    return [f"{_source_text(plan, column)} as o_{column}", f"{_value_map(plan, column, f'o_{column}')} as f_{column}"]


def vocabulary_names(plan: ImportPlan, column: str) -> str:
    """The names the mapping's ``values`` give an open vocabulary (channels), as a bound list."""
    mapping = {k: v for k, v in plan.source.values.get(column, {}).items() if k != "*"}
    return f"{plan.params(sorted(set(mapping.values())))}::varchar[]"


def _unnamed(plan: ImportPlan, column: str, found: str, text: str) -> str:
    """``text`` when the mapping neither translates it (``found``, its map lookup, is NULL) nor names it (its
    machine name is none of the vocabulary's names: "Paid-Search" is ``paid_search``); NULL otherwise.
    Such a value is kept as its own ``column``, and the import warns about it. So a stored value is one
    the mapping does not name exactly when it is none of :func:`vocabulary_names`."""
    known = contains(vocabulary_names(plan, column), V.vocabulary_name(text))
    return f"case when {found} is null and not {known} then {text} end"


def _unmapped_value(plan: ImportPlan, column: str) -> str:
    """The original text of a value of an open vocabulary that the mapping neither translates nor names
    (the import warns about these); NULL otherwise."""
    return _unnamed(plan, column, f"f_{column}", f"o_{column}")


def _mapped_text(plan: ImportPlan, column: str) -> str:
    """The text feeding ``column`` after the mapping's values map, normalization and prefix."""
    p, source = plan.params, plan.source
    expr = _source_text(plan, column)
    if (plan.table, column) in OPEN_VOCABULARIES:
        # the user's own vocabulary: a value the map does not name is kept under its own name (the map
        # lookup f_ and the text o_ come first in the same select, :func:`_open_texts`)
        # (a CASE, not coalesce: DuckDB evaluates every argument of coalesce, and the regex is the costly one)
        expr = f"case when f_{column} is null then {V.vocabulary_name(f'o_{column}')} else f_{column} end"
    elif column in source.values or (plan.table, column) in ALLOWED_VALUES:
        # a closed vocabulary (cost categories, event types) also takes its own names in any case
        found = _value_map(plan, column, expr)
        if "*" in source.values.get(column, {}):
            default = p(source.values[column]["*"])
        else:
            default = V.vocabulary_name(expr) if (plan.table, column) in ALLOWED_VALUES else expr
        expr = f"(case when {expr} is null then null else coalesce({found}, {default}) end)"
    if column in source.salesforce_id_columns:
        expr = V.salesforce_id(expr)
    if column == "email":
        expr = f"lower({expr})"
    if column == "domain":
        expr = V.web_domain(expr)
    if column in source.prefix:
        expr = f"({p(source.prefix[column])} || {expr})"
    return expr


def match_key(by: str, expr: str) -> str:
    """What a reference is matched on in the column ``by`` of the referenced table (both sides alike).

    Salesforce ids by their 18-character form (a 15-character reference matches case-sensitively,
    an 18-character one in any case); names and emails ignoring case; domains as web domains
    (``https://www.Acme.com/`` matches ``acme.com``); other ids exactly.
    """
    if by == "salesforce_id":
        return V.salesforce_match_key(expr)
    if by in ("name", "email"):
        return f"lower({expr})"
    if by == "domain":
        return V.web_domain(expr)
    return expr


def _key_expr(columns: tuple[str, ...], alias: str) -> str:
    if len(columns) == 1:
        return f"cast({alias}.{columns[0]} as varchar)"
    parts = ", ".join(f"coalesce(cast({alias}.{c} as varchar), '')" for c in columns)
    return f"concat_ws(chr(31), {parts})"


def _json_of(plan: ImportPlan, indices: list[int], alias: str) -> str:
    if not indices:
        return "null::json"
    pairs = ", ".join(f"{plan.params(plan.layout.headers[i])}, {alias}.c{i}" for i in indices)
    return f"json_object({pairs})"


def _bounds(sql_type: str) -> str:
    """SQL bounds of the plausible range for a ``date`` or ``timestamp`` column."""
    if sql_type == "date":
        return f"date '{FIRST_PLAUSIBLE_DAY}' and date '{LAST_PLAUSIBLE_DAY}'"
    return f"timestamp '{FIRST_PLAUSIBLE_DAY} 00:00:00' and timestamp '{LAST_PLAUSIBLE_DAY} 23:59:59.999999'"


def checked_ctes(plan: ImportPlan, numbered: bool = True) -> str:
    """CTEs ending in ``checked_rows``: one row per file row, typed, with its reasons."""
    source, p, types = plan.source, plan.params, plan.types
    direct = [c for c in plan.fed if c in source.columns or c in source.constants]
    mapped = ", ".join(
        [text for c in open_columns(plan) for text in _open_texts(plan, c)]
        + [f"{_mapped_text(plan, c)} as t_{c}" for c in direct]
        + [f"{_unmapped_value(plan, c)} as _unmapped_{c}" for c in open_columns(plan)]
        + [f"{_source_text(plan, c)} as o_{c}" for c in closed_columns(plan)]
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
            merged = (
                (
                    f"union all select merged_key, record_id from import_merge_log "
                    f"where table_name = {p(ref.table)} and key_column = {p(by)}"
                )
                if plan.follow_merges
                else ""
            )
            ref_joins.append(
                f"left join (select {match_key(by, 'k')} as k, min(id) as id from (select cast({by} as varchar) as k, "
                f"{ref_pk} as id from {ref.table} where {by} is not null {merged}) group by 1) {alias} "
                f"on {alias}.k = {match_key(by, f'parsed.t_{column}')}"
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
        corporate = f"(looked.email is not null and not {contains(f'{free}::varchar[]', domain)})"
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
    # numbers finite and within the documented limit, dates within the plausible range (docs/import.md)
    structure += [
        (
            f"{c} is not null and not ({c} between {-MAX_AMOUNT:.0f} and {MAX_AMOUNT:.0f})",
            f"{p(plan.headers_of.get(c, c))} || ' \"' || t_{c} || '\" is not a finite number within "
            f"±{MAX_AMOUNT:,.0f}'",
        )
        for c in direct
        if types[c] == "double"
    ]
    structure += [
        (
            f"{c} is not null and not ({c} between {_bounds(types[c])})",
            f"{p(plan.headers_of.get(c, c))} || ' \"' || t_{c} || '\" is outside the plausible dates "
            f"{FIRST_PLAUSIBLE_DAY} to {LAST_PLAUSIBLE_DAY}'",
        )
        for c in direct
        if types[c] in ("date", "timestamp")
    ]
    content = []
    # a one-column key is required; the parts of a longer key only when the mapping says so (a cost
    # line's platform may be empty)
    required = tuple(dict.fromkeys(source.required + (source.key if len(source.key) == 1 else ())))
    for c in required:
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
    for c, ref in source.references.items():
        if ref.must_exist and c not in required:
            # an optional reference that names a record the warehouse does not have is not dropped
            where = plan.headers_of.get(c, c)
            content.append(
                (
                    f"t_{c} is not null and {c} is null",
                    f"{p(where)} || ' \"' || t_{c} || '\" matches no row of {ref.table}; '"
                    f" || 'import that first or fix the value'",
                )
            )
    if "email" in plan.fed:
        content.append(
            (
                f"email is not null and not regexp_full_match(email, {p(V.EMAIL_PATTERN)})",
                f"{p(plan.headers_of.get('email', 'email'))} || ' \"' || email || '\" is not a valid email address'",
            )
        )
    for column in closed_columns(plan):
        allowed = ALLOWED_VALUES[(source.table, column)]
        fix = f'; map it under "values" > "{column}" in {source.mapping_file.name}'
        # the vocabulary is the warehouse's own (code constants), inlined; tested with :func:`contains`, as
        # list_contains or NOT IN of six values would be planned as a join over every row
        vocabulary = ", ".join("'" + value.replace("'", "''") + "'" for value in allowed)
        where = plan.headers_of.get(column, column)
        content.append(
            (
                f"{column} is not null and not {contains(f'[{vocabulary}]', column)}",
                f"{p(where)} || ' \"' || o_{column} || '\" is not one of ' || {p(', '.join(allowed))} || {p(fix)}",
            )
        )
    business = [
        (f"not ({rule})", p(reason))
        for rule, reason in BUSINESS_RULES.get(source.table, ())
        if all(word in plan.fed for word in rule_columns(rule))
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


def typed_sql(plan: ImportPlan, numbered: bool = True, existing: bool = True) -> str:
    """A query of every file row, typed, with its checks, its reasons and (when valid) the
    record it feeds (``_target``) and how it matched it (``_match``: key, dup or new).

    The reason texts are computed only by the statements that select ``_reason``. ``existing=False``
    skips the match against the table's keys (every row is new): for the rows a streamed import
    inserts, whose keys the table does not hold (:func:`stream_insert_sql`); a join against every key
    of a big table would cost more than the rest of the statement.
    """
    source, p, table = plan.source, plan.params, plan.table
    pk = source.primary_key
    key_v, key_t = _key_expr(source.key, "valid"), _key_expr(source.key, "t")
    # the parts of a key that may be empty (a cost line's platform) are compared as ''
    needed = [c for c in source.key if len(source.key) == 1 or c in source.required] or list(source.key)
    key_not_null = " and ".join(f"t.{c} is not null" for c in needed)
    existing_id = f"min(t.{pk})" if pk else key_t
    group_by = "group by 1" if pk else ""
    distinct = "" if pk else "distinct"
    if source.duplicates:
        dup_v = " || chr(31) || ".join(normalized(c, "valid") for c in source.duplicates)
        dup_t = " || chr(31) || ".join(normalized(c, "t") for c in source.duplicates)
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
    if not existing:
        assert not source.duplicates  # a duplicate rule needs the table's records
        return f"""
        with {checked_ctes(plan, numbered)},
        {dup_ctes}
        targeted as (
            select v.*, 'new' as _match, {new_id} as _target
            from with_dup v
        )
        select * from targeted"""
    return f"""
        with {checked_ctes(plan, numbered)},
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


def staged_sql(plan: ImportPlan, where: str = "") -> str:
    """SQL creating ``import_typed``: the one pass that reads and parses the file.

    It keeps per row what later statements need (typed columns, checks, target, match,
    line) and not the text: a file is parsed once, and the writes copy typed columns.
    ``where`` keeps only some rows (the streaming path keeps the rows whose key needs a merge).
    """
    unmapped = "".join(f", _unmapped_{c}" for c in open_columns(plan))
    return f"""
        create temp table import_typed as
        select _rec, _valid, _structure_ok, _content_ok, _business_ok, _enriched, _match, _target,
               {", ".join(plan.fed)}, extra{unmapped}
        from ({typed_sql(plan)}) typed
        {f"where {where}" if where else ""}"""


# -- streaming: the rows that need no merge go from the file to the table in one pass -----------


def empty_table_sql(statement: str, described: list[tuple]) -> str:
    """The DDL of the (empty) table a ``create temp table ... as select ...`` statement would make, from
    the DESCRIBE of its select (``described``): the file is not read (``limit 0`` still scanned it)."""
    head = statement.split(" as", 1)[0]
    columns = ", ".join(f'"{name}" {sql_type}' for name, sql_type, *_ in described)
    return f"{head.strip()} ({columns})"


def select_of(statement: str) -> str:
    """The select of a ``create temp table ... as select ...`` statement."""
    return statement.split(" as", 1)[1]


def streams(plan: ImportPlan) -> bool:
    """Whether this import can stream (:func:`stream_statements`): a plain key of the file's own columns,
    no duplicate rule, no ledger, not a recheck, and unmapped columns only where the table keeps ``extra``."""
    source = plan.source
    return (
        not plan.recheck
        and not source.ledger
        and not source.duplicates
        and plan.table != "contacts"  # contacts are enriched and matched by email + company
        and all(c in source.columns or c in source.constants for c in source.key)
        and not (plan.unmapped and "extra" not in table_columns(plan.table))
    )


def _key_hash(plan: ImportPlan, alias: str) -> str:
    return f"hash({_key_expr(plan.source.key, alias)})"


def key_hash_sql(plan: ImportPlan) -> str:
    """``import_keyhash``: per hash of a row's key, its rows (``_by_key``); and per value of each open
    vocabulary column (channels), its rows and, when the mapping neither translates nor names it, its
    text (``_unmapped_<column>``): one light pass over the key and open columns only.

    The rows of the hashes sum to the file's row count; a hash counted twice, or one the table holds
    already, marks the keys that need the merge (a hash collision only sends a row the longer way, never a
    wrong one). The open values are grouped in the same pass (grouping sets), so the mapping's lookup and
    the normalization run once per distinct value, not once per row.
    """
    types = plan.types
    opens = open_columns(plan)
    cols = ", ".join(
        [f"{_source_text(plan, c)} as o_{c}" for c in opens]
        + [f"{V.parse(_mapped_text(plan, c), types[c])} as {c}" for c in plan.source.key]
    )
    sets = ", ".join(["(h)"] + [f"(o_{c})" for c in opens])
    unmapped = "".join(
        f", case when not _by_key then {_unnamed(plan, c, _value_map(plan, c, f'o_{c}'), f'o_{c}')} end "
        f"as _unmapped_{c}"
        for c in opens
    )
    return f"""
        create temp table import_keyhash as
        select h, n, _by_key{unmapped}
        from (
            select {_key_hash(plan, "k")} as h, {"".join(f"o_{c}, " for c in opens)}count(*) as n,
                   grouping(h) = 0 as _by_key
            from (select {cols} from ({raw_sql(plan.layout, numbered=False)}) raw) k
            group by grouping sets ({sets})
        ) grouped"""


def inserts_first(plan: ImportPlan) -> bool:
    """Whether a streamed import inserts first and finds the repeated keys in what it inserted
    (:func:`insert_first_sql`): a table without a primary key, where a repeated key cannot fail the insert.
    A table with one hashes the keys first (:func:`key_hash_sql`), so that no repeat reaches the table."""
    return plan.source.primary_key is None


def _raw_columns(plan: ImportPlan, column: str) -> list[str]:
    """The file columns (``c<i>``) that :func:`_source_text` reads for ``column``."""
    source = plan.source
    if column not in source.columns:
        return []
    found = present(plan.layout, source.columns[column])
    found += [i for group in present_groups(plan.layout, source.joins.get(column, ())) for i in group]
    return [f"c{i}" for i in dict.fromkeys(found)]


# a lone 0 before the dot is never a thousands group ("0.352" is a decimal in every locale), so no warning;
# in a semicolon file "0,352" is, as written, read as 352: worth the warning
AMBIGUOUS_DOT = r"[-+]?[1-9][0-9]{0,2}\.[0-9]{3}"
AMBIGUOUS_COMMA = r"[-+]?[0-9]{1,3}[.,][0-9]{3}"


def ambiguous_columns(plan: ImportPlan) -> list[str]:
    """The number columns of this import whose values may hold an ambiguous thousands separator."""
    if plan.layout.kind == "quarantine":
        return []
    return [c for c in plan.fed if plan.types.get(c) == "double" and c in plan.source.columns]


def _ambiguous_cell(plan: ImportPlan, column: str, pattern: str) -> str | None:
    """The one raw cell (``c<i>``) of a number column whose trimmed text the pattern can be tested on as it is
    (one header, no joined headers, no constant, and no NULL-like word that matches the pattern); else None."""
    source = plan.source
    cells = _raw_columns(plan, column)
    if len(cells) != 1 or source.joins.get(column) or column in source.constants:
        return None
    if any(re.fullmatch(pattern, word) for word in plan.source.null_values):
        return None
    return cells[0]


def _ambiguous_tests(plan: ImportPlan) -> list[tuple[str | None, str, str]]:
    """Per column of :func:`ambiguous_columns`: ``(text, found, example)``, the text to select per row first
    (``o_amb_<column> ``, or None), whether the row's value looks like ``1.234`` and the value as shown.

    The pattern is tested on the raw cell, spaces allowed around it (the text is trimmed of spaces only),
    so that no text is built per row; only where that is not the same (several headers, a NULL-like word
    that matches) on the cell's text. (The pattern alone: a length and separator test before it measured
    slower than the pattern, 0.09 against 0.05 CPU-s per million values.)
    """
    bare = AMBIGUOUS_COMMA if plan.layout.delimiter == ";" else AMBIGUOUS_DOT
    pattern, padded = plan.params(bare), plan.params(f" *(?:{bare}) *")
    tests = []
    for column in ambiguous_columns(plan):
        cell = _ambiguous_cell(plan, column, bare)
        if cell is not None:
            tests.append((None, f"regexp_full_match({cell}, {padded})", f"trim({cell})"))
        else:
            text = f"{_source_text(plan, column)} as o_amb_{column}"
            tests.append((text, f"regexp_full_match(o_amb_{column}, {pattern})", f"o_amb_{column}"))
    return tests


def ambiguous_aggregates(plan: ImportPlan) -> tuple[list[str], list[str]]:
    """Per column of :func:`ambiguous_columns`, two aggregates over the file's rows: how many values look like
    ``1.234`` (one separator and three digits after it; ``1,234`` too in a semicolon-separated file) and the
    least of them, ``_amb_n_<column>`` and ``_amb_ex_<column>`` (:func:`_ambiguous_tests`); returns
    ``(texts, aggregates)``, the texts (``o_amb_<column>``) to select per row before the aggregates."""
    texts, aggregates = [], []
    for column, (text, found, example) in zip(ambiguous_columns(plan), _ambiguous_tests(plan)):
        texts += [text] if text else []
        aggregates += [
            f"count(*) filter (where {found}) as _amb_n_{column}",
            f"min({example}) filter (where {found}) as _amb_ex_{column}",
        ]
    return texts, aggregates


def ambiguous_sql(plan: ImportPlan) -> str:
    """The file's :func:`ambiguous_aggregates` in a pass of their own (for the imports whose first pass does
    not count them: the staged and the keys-first ones)."""
    raw = raw_sql(plan.layout, numbered=False)
    texts, aggregates = ambiguous_aggregates(plan)
    return f"select {', '.join(aggregates)} from (select *{''.join(', ' + t for t in texts)} from ({raw}) raw) amb"


def values_sql(plan: ImportPlan) -> str:
    """``import_values``: the rows of the file per value of its open vocabulary columns (channels), with the
    text of a value the mapping neither translates nor names (``_unmapped_<column>``); their sum is the file's
    row count. The pass of an insert-first import, after its insert, when the file may hold a value to warn
    about (:func:`stored_warnings`) or a row was not inserted: it reads the file without parsing or checking it.

    The rows are grouped by the raw cells that feed the open columns, so their text (trimmed, NULL-like
    words), the mapping's lookup and the normalization run once per distinct cell, not per row. The same pass
    counts the ambiguous numbers (:func:`ambiguous_aggregates`, summed over the groups by the pipeline)."""
    opens = open_columns(plan)
    raw = raw_sql(plan.layout, numbered=False)
    grouped = list(dict.fromkeys(c for column in opens for c in _raw_columns(plan, column)))
    # the other columns are not read (a Latin-1 byte past the sampled bytes in one of them fails the insert,
    # and the import starts again with the layout that reads it: :func:`analytics.imports.pipeline.import_file`)
    texts, aggregates = ambiguous_aggregates(plan)
    inner = ", ".join(["count(*) as n"] + aggregates)
    source = f"(select *{''.join(', ' + t for t in texts)} from ({raw}) raw)" if texts else f"({raw})"
    if not opens:
        return f"create temp table import_values as select {inner} from {source} v"
    unmapped = ", ".join(
        f"{_unnamed(plan, c, _value_map(plan, c, f'o_{c}'), f'o_{c}')} as _unmapped_{c}" for c in opens
    )
    # the open columns' texts, per group of raw cells (a constant-only column has no cells: one text)
    texts_of = ", ".join(f"{_source_text(plan, c)} as o_{c}" for c in opens)
    return f"""
        create temp table import_values as
        select *, {unmapped}
        from (
            select *, {texts_of}
            from (
                select {"".join(c + ", " for c in grouped)}{inner}
                from {source} v
                {"group by " + ", ".join(grouped) if grouped else ""}
            ) grouped
        ) texts"""


def _key_not_null(plan: ImportPlan, alias: str) -> str:
    source = plan.source
    needed = [c for c in source.key if len(source.key) == 1 or c in source.required] or list(source.key)
    return " and ".join(f"{alias}.{c} is not null" for c in needed)


def held_keys_sql(plan: ImportPlan) -> str:
    """``import_held``: the key hashes the table holds before an insert-first import (none in a new table)."""
    return f"""
        create temp table import_held as
        select {_key_hash(plan, "t")} as h from {plan.table} t where {_key_not_null(plan, "t")}"""


def insert_first_sql(plan: ImportPlan, held: bool = True) -> str:
    """Insert every valid row whose key the table does not hold (``import_held``), straight from the file.

    The rows of a key it inserts twice are found afterwards in the table (:func:`new_keys_sql`,
    :func:`repeats_sql`), taken out again (:func:`unstream_repeats_sql`) and take the merge path, so the
    table ends as the keys-first import leaves it. The pipeline runs it with DuckDB's profiler on: the
    file scan's row count is the rows read, so no pass before it counts them."""
    return stream_insert_sql(plan, excluded="import_held" if held else None)


def _new_rows(plan: ImportPlan, held: bool, columns: str = "") -> str:
    """The key hashes of the rows this import inserted (and ``columns`` of them): in the table, those it did
    not hold before (``held``: it held some; else every row of the table)."""
    kept = f" where {_key_hash(plan, 't')} not in (select h from import_held)" if held else ""
    return f"select {_key_hash(plan, 't')} as h{columns} from {plan.table} t{kept}"


def stored_warnings(plan: ImportPlan) -> str:
    """SQL over a stored row ``t``: whether it may have come from a value the summary warns about, so that the
    values pass (:func:`values_sql`) must read the file for those values. Exact for an open vocabulary (a
    stored value none of :func:`vocabulary_names` is one the mapping does not name, :func:`_unnamed`); for a
    number, any value a text like ``1.234`` reads as (at least 1 and under 1000 in size; in a semicolon file
    every number, as ``0,352`` reads as 352)."""
    flags = [f"not {contains(vocabulary_names(plan, c), f't.{c}')}" for c in open_columns(plan)]
    if ambiguous_columns(plan):
        dot = plan.layout.delimiter != ";"
        flags += [f"(abs(t.{c}) >= 1 and abs(t.{c}) < 1000)" if dot else "true" for c in ambiguous_columns(plan)]
    return " or ".join(flags) or "false"


def new_keys_sql(plan: ImportPlan, held: bool) -> str:
    """``(rows, distinct keys, warned)`` of what the insert-first import inserted: equal rows and keys when no
    key repeats, and whether a row may hold a value to warn about (:func:`stored_warnings`)."""
    warned = f"coalesce(bool_or({stored_warnings(plan)}), false)"
    if not held:  # every row of the table is new: two aggregates (0.3 CPU-s cheaper at 10M than one over both)
        return f"""
            with inserted as (select count(*) as n, count(distinct h) as keys from ({_new_rows(plan, held)}) t),
            warned as (select {warned} as warned from {plan.table} t)
            select n, keys, warned from inserted, warned"""
    # one scan: the test against the held keys is the costly part
    columns = "".join(f", t.{c}" for c in dict.fromkeys(open_columns(plan) + ambiguous_columns(plan)))
    return f"select count(*), count(distinct h), {warned} from ({_new_rows(plan, held, columns)}) t"


def repeats_sql(plan: ImportPlan, held: bool) -> str:
    """``import_repeats``: the key hashes the insert-first import inserted more than once, with their rows."""
    return f"""
        create temp table import_repeats as
        select h, count(*) as n, true as _by_key
        from ({_new_rows(plan, held)}) new_rows
        group by h
        having count(*) > 1"""


def unstream_repeats_sql(plan: ImportPlan) -> str:
    """Take the rows of repeated keys out of the table again: they are all this import's (a held key's rows
    were not inserted, and a row the table held has a held key)."""
    return f"""
        delete from {plan.table} t
        where {_key_hash(plan, "t")} in (select h from import_repeats where _by_key)"""


def first_candidates_sql(plan: ImportPlan, repeats: bool, held: bool) -> str:
    """``import_candidates`` of an insert-first import: the repeated key hashes (``repeats``: there are some),
    and when some rows were not inserted (``held``: they failed a check or their key is held), the table's
    held key hashes too."""
    parts = (["select h from import_repeats"] if repeats else []) + (["select h from import_held"] if held else [])
    return "create temp table import_candidates as " + (
        " union all ".join(parts) if parts else "select cast(null as ubigint) as h where false"
    )


def candidates_sql(plan: ImportPlan) -> str:
    """``import_candidates``: the key hashes whose rows take the merge path (repeated in the file, or held)."""
    source = plan.source
    needed = [c for c in source.key if len(source.key) == 1 or c in source.required] or list(source.key)
    key_not_null = " and ".join(f"t.{c} is not null" for c in needed)
    return f"""
        create temp table import_candidates as
        select h from import_keyhash where _by_key and n > 1
        union
        select {_key_hash(plan, "t")} from {plan.table} t
        where {key_not_null} and {_key_hash(plan, "t")} in (select h from import_keyhash where _by_key)"""


def stream_insert_sql(plan: ImportPlan, excluded: str | None = "import_candidates") -> str:
    """Insert the valid rows whose key needs no merge straight from the file (no staging, no line numbers);
    ``excluded``: the table of the key hashes that do (None: there are none)."""
    source, table = plan.source, plan.table
    pk, cols = source.primary_key, plan.fed
    extra_cols = ["extra"] if "extra" in table_columns(table) else []
    insert_cols = ", ".join(([pk] if pk and pk not in cols else []) + cols + extra_cols)
    select_cols = ", ".join((["_target"] if pk and pk not in cols else []) + cols + extra_cols)
    kept = f" and {_key_hash(plan, 't')} not in (select h from {excluded})" if excluded else ""
    return f"""
        insert into {table} ({insert_cols})
        select {select_cols} from ({typed_sql(plan, numbered=False, existing=False)}) t
        where _valid{kept}"""


def stream_merge_rows_sql(plan: ImportPlan) -> str:
    """``import_typed`` with the valid rows whose key needs the merge (repeated, or held already)."""
    return staged_sql(plan, where=f"_valid and {_key_hash(plan, 'typed')} in (select h from import_candidates)")


def stream_rejects_sql(plan: ImportPlan) -> str:
    """``import_rejects``: every row that fails a check, with its checks, reasons and raw values."""
    all_raw = _json_of(plan, list(range(len(plan.layout.headers))), "typed")
    unmapped = "".join(f", _unmapped_{c}" for c in open_columns(plan))
    return f"""
        create temp table import_rejects as
        select _rec, _structure_ok, _content_ok, _business_ok, _reason, {all_raw} as raw_values{unmapped},
               {_key_hash(plan, "typed")} in (select h from import_candidates) as _candidate
        from ({typed_sql(plan)}) typed
        where not _valid"""


def stream_quarantine_sql(plan: ImportPlan, run_id: str, file_label: str) -> str:
    """Quarantine the rejected rows of a streamed import (``import_rejects``; ``import_breaks`` exists)."""
    p = plan.params
    return f"""
        insert into import_quarantine (run_id, source, table_name, file, line, reason, raw_values)
        select {p(run_id)}, {p(plan.source.name)}, {p(plan.table)}, {p(file_label)}, {_line(plan, "r")}, _reason,
               raw_values
        from import_rejects r"""


STREAM_COUNTS = Query(
    "imports.stream_counts",
    """
    with rejected as (
        select count(*) as n,
               count(*) filter (where not _structure_ok) as structure_failed,
               count(*) filter (where not _content_ok) as content_failed,
               count(*) filter (where not _business_ok) as business_failed
        from import_rejects
    ),
    merging as (
        select count(*) as n from import_typed
    ),
    grouped as (
        select count(*) filter (where not has_existing) as n_group_loaded,
               count(*) filter (where has_key) as n_group_updated,
               coalesce(sum(n), 0) as n_grouped
        from import_groups
    )
    select $n_read, rejected.n, $n_read - structure_failed, $n_read - content_failed, $n_read - business_failed, 0,
           $n_streamed + merging.n - n_grouped + n_group_loaded,
           n_group_updated,
           n_grouped - n_group_loaded - n_group_updated
    from rejected, merging, grouped""",
    """Row counts of a streamed import (the columns of COUNTS): the streamed rows are loaded; the rows that
    took the merge path count as COUNTS counts them; every rejected row is quarantined, and a layer's
    passing rows are the rows read less the rejected rows that failed it.""",
)


def _line(plan: ImportPlan, alias: str) -> str:
    """The text line of row ``alias._rec`` (``import_breaks`` exists)."""
    return (
        f"{alias}._rec + {plan.layout.first_line} + coalesce((select sum(b.breaks) from import_breaks b "
        f"where b._rec < {alias}._rec), 0)"
    )


def _recency(plan: ImportPlan, alias: str = "") -> str:
    return f"{alias}updated_at" if "updated_at" in plan.fed else "null::timestamp"


SUMMARY = Query(
    "imports.summary",
    """
    create temp table import_summary as
    select count(*) as n_read,
           count(*) filter (where _valid) as n_valid,
           count(*) filter (where _structure_ok) as n_structure_ok,
           count(*) filter (where _content_ok) as n_content_ok,
           count(*) filter (where _business_ok) as n_business_ok,
           count(*) filter (where _valid and _enriched) as n_enriched
    from import_typed""",
    "The rows read, valid, passing each validation layer and enriched (from import_typed).",
)


GROUPS = Query(
    "imports.groups",
    """
    create temp table import_groups as
    select _target, count(*) as n, bool_or(_match <> 'new') as has_existing, bool_or(_match = 'key') as has_key
    from import_typed
    where _valid
    group by _target
    having count(*) > 1 or bool_or(_match <> 'new')""",
    "The records that need merging: a target fed by several valid rows, or that exists already.",
)


def merge_statements(plan: ImportPlan, run_id: str, file_label: str, has_groups: bool) -> list[str]:
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
                                          _src {"asc" if plan.recheck else "desc"}, _rec desc nulls last) as _r,
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


COUNTS = Query(
    "imports.counts",
    """
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
    from totals, grouped""",
    """Row counts by outcome. In a group (a record fed by several rows or existing already), the
    best-ranked row is loaded (no existing record) or updated (an existing record matched by key: key
    rows rank before duplicate rows); the group's other rows are merged. Rows outside groups are loaded.""",
)
# the names of COUNTS' columns, in its order, without the n_
COUNT_NAMES = (
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

RUN_COLUMNS = (
    "run_id",
    "source",
    "table_name",
    "file",
    "mapping",
    "started_at",
    "finished_at",
    "rows_read",
    "rows_loaded",
    "rows_updated",
    "rows_merged",
    "rows_quarantined",
    "rows_enriched",
    "structure_score",
    "content_score",
    "business_score",
    "quality_score",
    "headers",
    "unmapped",
    "kind",
    "rechecked_run_id",
    "validity_score",
    "amount_read",
    "amount_loaded",
    "amount_quarantined",
    "amount_replaced",
    "warnings",
    "mapping_text",
)
RECORD_RUN = Query(
    "imports.record_run",
    f"insert into import_runs ({', '.join(RUN_COLUMNS)}) values ({', '.join('$' + c for c in RUN_COLUMNS)})",
    "The ledger row of one import run (counts, scores, money, warnings, headers, the mapping's text).",
)


# -- ledgers: lines that add up (cost sheets) -------------------------------------------------


def _ledger_select(plan: ImportPlan, alias: str = "") -> str:
    """Per key of the valid lines: the key's columns, the sum of each ledger column, the first value of the rest."""
    source = plan.source
    cols = []
    for c in plan.fed:
        if c in source.key:
            cols.append(f"any_value({alias}{c}) as {c}")
        elif c in source.ledger:
            cast = "double" if plan.types[c] == "double" else plan.types[c]
            cols.append(f"cast(sum({_exact(f'{alias}{c}')}) as {cast}) as {c}")
        else:
            cols.append(f"arg_min({alias}{c}, {alias}_rec) filter (where {alias}{c} is not null) as {c}")
    cols.append(f"arg_min({alias}extra, {alias}_rec) filter (where {alias}extra is not null) as extra")
    return ", ".join(cols)


def ledger_sql(plan: ImportPlan) -> str:
    """``import_ledger``: one row per key of the sheet's valid lines, their ledger columns summed."""
    return f"""
        create temp table import_ledger as
        select _target, count(*) as _lines, {_ledger_select(plan)}
        from import_typed
        where _valid
        group by _target"""


def _amount(plan: ImportPlan) -> str:
    return plan.source.ledger[0]


def _exact(expr: str) -> str:
    """SQL: ``expr`` as an exact decimal for money sums; NULL (left out of the sum) when it is NaN, ±inf
    or beyond :data:`~analytics.core.money.MAX_AMOUNT` (such a line is quarantined, and one typed into the
    warehouse by hand must not break the sum)."""
    return f"cast(case when {expr} between {-MAX_AMOUNT:.0f} and {MAX_AMOUNT:.0f} then {expr} end as decimal(38, 6))"


def ledger_held_sql(plan: ImportPlan, keys: str = "import_ledger") -> str:
    """What the warehouse holds now for the keys of ``keys`` (the first ledger column, summed exactly)."""
    key = _key_expr(plan.source.key, "t")
    return (
        f"select coalesce(sum({_exact(f't.{_amount(plan)}')}), 0) from {plan.table} t "
        f"where {key} in (select _target from {keys})"
    )


def ledger_statements(plan: ImportPlan, run_id: str, keys: str = "import_ledger") -> list[str]:
    """Replace what the warehouse holds for each key of ``keys`` by the key's row there, and note the run
    that set it (``import_ledger_keys``; a recheck asks it whether a later import has replaced a key)."""
    p, table, source = plan.params, plan.table, plan.source
    cols = ", ".join(plan.fed)
    key = _key_expr(source.key, "t")
    statements = [
        f"delete from {table} t where {key} in (select _target from {keys})",
        f"insert into {table} ({cols}) select {cols} from {keys}",
        f"""delete from import_ledger_keys
            where table_name = {p(table)} and record_key in (select _target from {keys})""",
        f"""insert into import_ledger_keys (table_name, record_key, run_id, amount)
            select {p(table)}, _target, {p(run_id)}, {_amount(plan)} from {keys}""",
    ]
    if plan.unmapped and "extra" not in table_columns(table):
        statements += [
            f"""delete from import_extra
               where table_name = $extra_table and record_key in (select _target from {keys})""",
            f"insert into import_extra select $extra_table, _target, extra from {keys} where extra is not null",
        ]
    return statements


def ledger_money_sql(plan: ImportPlan) -> str:
    """The money of the sheet: ``(read, loaded, quarantined)``, exact sums of its first ledger column."""
    amount = f"{_exact(f'{_amount(plan)}')}"
    return f"""
        select coalesce(sum({amount}), 0),
               coalesce(sum({amount}) filter (where _valid), 0),
               coalesce(sum({amount}) filter (where not _valid), 0)
        from import_typed"""


LEDGER_COUNTS = Query(
    "imports.ledger_counts",
    """
    with totals as (
        select n_read, n_read - n_valid as n_quarantined, n_structure_ok, n_content_ok, n_business_ok,
               n_enriched
        from import_summary
    ),
    lines as (
        select count(*) filter (where _valid and _match = 'new') as n_loaded,
               count(*) filter (where _valid and _match <> 'new') as n_updated
        from import_typed
    )
    select n_read, n_quarantined, n_structure_ok, n_content_ok, n_business_ok, n_enriched,
           n_loaded, n_updated, 0 as n_merged
    from totals, lines""",
    """Row counts of a ledger (a cost sheet): every valid line is in its key's total, so none is merged; a
    line is loaded when its key is new to the warehouse and updated when its key's total is replaced.""",
)


# -- rechecking the quarantine ------------------------------------------------------------------


def recheck_rows_sql() -> str:
    """``recheck_rows``: the unresolved quarantined rows of one run (``$recheck_run``), with their line."""
    return """
        create temp table recheck_rows as
        select line, raw_values from import_quarantine
        where run_id = $recheck_run and resolved_run_id is null"""


def recheck_reasons_sql(plan: ImportPlan) -> str:
    """Rows that still fail keep their place in the quarantine, with the reasons of today's checks."""
    return f"""
        update import_quarantine q set reason = typed._reason
        from ({typed_sql(plan)}) typed
        where q.run_id = $recheck_run and q.resolved_run_id is null and q.line = typed._rec and not typed._valid"""


def recheck_resolved_sql(plan: ImportPlan, rechecked_in: str) -> str:
    """Rows that now pass are marked resolved by the recheck run ``rechecked_in`` (their raw values stay)."""
    return f"""
        update import_quarantine q set resolved_run_id = {plan.params(rechecked_in)}
        where q.run_id = $recheck_run and q.resolved_run_id is null
          and q.line in (select _rec from import_typed where _valid and _rec not in (select _rec from recheck_superseded))"""


def recheck_ledger_sql(plan: ImportPlan) -> list[str]:
    """A recheck of a sheet's lines (``import_typed`` of run ``$recheck_run``, started ``$recheck_started``).

    Per key of the lines that now pass:

    - *superseded* when a later import has set the key (``import_ledger_keys``): the lines stay in
      the quarantine, with that reason, and change nothing;
    - *added* when this run set the key's total: the lines add to it (the sheet's total grows);
    - *replaced* otherwise (the key's total came from an earlier import, or from no import): the
      sheet is the later word on the key, so its lines' total replaces it.

    Leaves ``recheck_ledger`` (the keys to write: their new rows) and ``recheck_superseded`` (lines).
    """
    p, table, source = plan.params, plan.table, plan.source
    key = _key_expr(source.key, "t")
    merged_cols = []
    for c in plan.fed:
        if c in source.key:
            merged_cols.append(f"l.{c}")
        elif c in source.ledger:
            merged_cols.append(
                f"case when d.decision = 'add' then {_exact(f'coalesce(h.{c}, 0)')} + "
                f"{_exact(f'coalesce(l.{c}, 0)')} else l.{c} end::{plan.types[c]} as {c}"
            )
        else:
            merged_cols.append(f"case when d.decision = 'add' then coalesce(h.{c}, l.{c}) else l.{c} end as {c}")
    held_cols = ", ".join(
        f"sum({_exact(f't.{c}')}) as {c}" if c in source.ledger else f"arg_min(t.{c}, t.{c} is null) as {c}"
        for c in plan.fed
        if c not in source.key
    )
    return [
        f"""create temp table recheck_lines as
            select _target, count(*) as _lines, {_ledger_select(plan)}
            from import_typed where _valid group by _target""",
        f"""create temp table recheck_decision as
            select l._target,
                   case when k.run_id is not null and k.run_id <> $recheck_run
                             and coalesce(kr.started_at, timestamp '1970-01-01') > $recheck_started then 'superseded'
                        when k.run_id = $recheck_run then 'add'
                        else 'replace' end as decision,
                   kr.file as superseded_by
            from recheck_lines l
            left join import_ledger_keys k on k.table_name = {p(table)} and k.record_key = l._target
            left join import_runs kr on kr.run_id = k.run_id""",
        """create temp table recheck_superseded as
            select t._rec, d.superseded_by from import_typed t join recheck_decision d using (_target)
            where t._valid and d.decision = 'superseded'""",
        f"""create temp table recheck_held as
            select {key} as _target, {held_cols}
            from {table} t
            where {key} in (select _target from recheck_decision where decision = 'add')
            group by 1""",
        f"""create temp table recheck_ledger as
            select l._target, {", ".join(merged_cols)}, l.extra, d.decision
            from recheck_lines l
            join recheck_decision d using (_target)
            left join recheck_held h using (_target)
            where d.decision <> 'superseded'""",
        f"""update import_quarantine q
            set reason = 'superseded: a later import (' || s.superseded_by || ') replaced the total of this line''s '
                         || {p(" + ".join(source.key))} || '; import the sheet again to change it'
            from recheck_superseded s
            where q.run_id = $recheck_run and q.resolved_run_id is null and q.line = s._rec""",
    ]


def recheck_ledger_money_sql(plan: ImportPlan) -> str:
    """``(read, loaded, quarantined, held_before_added)``: the rechecked lines' money and what the added-to keys held."""
    amount = f"{_exact(f't.{_amount(plan)}')}"
    return f"""
        select coalesce(sum({amount}), 0),
               coalesce(sum({amount}) filter (where t._valid and t._rec not in (select _rec from recheck_superseded)), 0),
               coalesce(sum({amount}) filter (where not t._valid or t._rec in (select _rec from recheck_superseded)), 0),
               (select coalesce(sum({_exact(f"{_amount(plan)}")}), 0) from recheck_held)
        from import_typed t"""


def breaks_sql(plan: ImportPlan) -> str:
    """``import_breaks``: the line breaks inside values of each row (line numbers of quarantined and merged rows)."""
    return f"create temp table import_breaks as {line_breaks_sql(plan.layout)}"


def merged_raw_sql(plan: ImportPlan) -> str:
    """``import_raw``: the raw text of the rows in merge groups, for the merge log."""
    return f"""
            create temp table import_raw as
            select * from ({raw_sql(plan.layout)}) r
            where _rec in (select _rec from import_typed semi join import_groups using (_target))"""


def quarantine_sql(plan: ImportPlan, run_id: str, file_label: str) -> str:
    """Insert every row that failed a check into ``import_quarantine``, with its line, reasons and raw values."""
    source = plan.source
    all_raw = _json_of(plan, list(range(len(plan.layout.headers))), "typed")
    return f"""
            insert into import_quarantine (run_id, source, table_name, file, line, reason, raw_values)
            select {plan.params(run_id)}, {plan.params(source.name)}, {plan.params(source.table)},
                   {plan.params(file_label)}, {_line(plan, "typed")}, _reason, {all_raw}
            from ({typed_sql(plan)}) typed
            where not _valid"""


def preview_sql(plan: ImportPlan) -> str:
    """The first rows as they would load: line, the quarantine reason (if any) and the typed columns."""
    layout = plan.layout
    return (
        f"select _rec + {layout.first_line} as line, _reason as quarantine_reason, {', '.join(plan.fed)} "
        f"from ({typed_sql(plan)}) typed order by _rec"
    )
