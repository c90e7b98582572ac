"""An import's plan: which file column feeds which warehouse column, checked before anything is read.

:func:`plan_import` matches a file's headers (:class:`~analytics.imports.reading.FileLayout`)
against a source's mapping (:class:`~analytics.imports.mapping.Source`): every mapped
column and reference finds its header(s) in the mapping's order of preference, a missing
required column is refused with the sentence that says how to fix it, and the headers no
entry names are kept as *unmapped* (they go to the ``extra`` JSON). The plan then carries
the bound values of the SQL built from it (:class:`Placeholders`), so that
:mod:`analytics.imports.sql` binds every header and value that comes from a file or a mapping.
"""

from __future__ import annotations

from dataclasses import dataclass

from analytics.imports.mapping import MappingError, Source, column_types, normalize_header, table_columns
from analytics.imports.reading import FileLayout


class Placeholders:
    """Named bind parameters for generated SQL: ``p(value)`` keeps the value and returns its ``$p<n>``."""

    def __init__(self):
        self.values: dict[str, object] = {}

    def __call__(self, value) -> str:
        name = f"p{len(self.values)}"
        self.values[name] = value
        return f"${name}"


@dataclass
class ImportPlan:
    """The SQL inputs for one source and one file layout."""

    source: Source
    layout: FileLayout
    types: dict[str, str]
    fed: list[str]  # warehouse columns this import writes (without the primary key)
    headers_of: dict[str, str]  # column -> header used (for messages)
    unmapped: list[int]
    params: Placeholders
    preview_rows: int | None = None  # read just the first rows (the page's mapping preview)
    follow_merges: bool = True  # references also resolve through import_merge_log
    recheck: bool = False  # rows rechecked from the quarantine: the warehouse's values win over theirs

    @property
    def table(self) -> str:
        return self.source.table

    def bindings(self) -> dict[str, object]:
        """Every value the plan's SQL binds: the placeholders, the file's path and the table's name."""
        return {**self.params.values, **self.layout.bindings(), "extra_table": self.table}


def present(layout: FileLayout, headers: tuple[str, ...]) -> list[int]:
    """Indices of the file columns matching ``headers``, in the mapping's order of preference."""
    index = {}
    for i, h in enumerate(layout.headers):
        index.setdefault(normalize_header(h), i)
    found = [index[normalize_header(h)] for h in headers if normalize_header(h) in index]
    return list(dict.fromkeys(found))  # "Email" and "email" are one column


def present_groups(layout: FileLayout, groups: tuple[tuple[str, ...], ...]) -> list[list[int]]:
    """Per group of headers to join (a mapping's ``["First Name", "Last Name"]``), the file columns found."""
    found = [present(layout, group) for group in groups]
    return [columns for columns in found if columns]


def _missing_column_error(source: Source, layout: FileLayout, column: str, headers: tuple[str, ...]) -> MappingError:
    names = " or ".join(f'"{h}"' for h in headers)
    return MappingError(
        f"{layout.name} has no column {names} for the required field {column} of {source.name}; "
        f"add the column to the file, or edit the mapping entry {source.entry(column)} to the header your file uses "
        f"and pass that file with --mapping."
    )


def plan_import(source: Source, layout: FileLayout) -> ImportPlan:
    """Check the file's headers against the mapping; raises on a missing required column."""
    types = column_types(source.table)
    used: set[int] = set()
    headers_of: dict[str, str] = {}
    for column, headers in list(source.columns.items()) + [(c, r.headers) for c, r in source.references.items()]:
        found = present(layout, headers)
        groups = present_groups(layout, source.joins.get(column, ())) if column in source.columns else []
        used.update(found)
        used.update(i for group in groups for i in group)
        if found or groups:
            headers_of[column] = layout.headers[found[0]] if found else " + ".join(layout.headers[i] for i in groups[0])
        elif column in source.required and column not in source.lookups:
            every = headers + tuple(" + ".join(g) for g in source.joins.get(column, ()))
            raise _missing_column_error(source, layout, column, every)
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
    return ImportPlan(source, layout, types, fed, headers_of, unmapped, Placeholders())


def described_columns(plan: ImportPlan) -> list[dict]:
    """Per warehouse column the plan fills: the file header(s) that feed it, or how it is filled."""
    source, layout = plan.source, plan.layout
    described = []
    for column in table_columns(source.table):
        if column in plan.headers_of:
            headers = source.references[column].headers if column in source.references else source.columns[column]
            names = [layout.headers[i] for i in present(layout, headers)]
            names += [
                " + ".join(layout.headers[i] for i in group)
                for group in present_groups(layout, source.joins.get(column, ()) if column in source.columns else ())
            ]
            filled = ", else ".join(names)
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
    return described
