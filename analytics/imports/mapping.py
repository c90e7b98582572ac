"""Field mappings: which file header feeds which warehouse column, per source.

A mapping file (JSON, one per source family under ``data/mappings/``) holds a
``sources`` object; each source names its warehouse ``table`` and

- ``columns``: warehouse column -> file header, or a list of headers (the first
  non-empty value wins). Headers match case-insensitively, ignoring spaces around. An
  element of the list may itself be a list of headers, whose non-empty values are joined
  with a space (``["First Name", "Last Name"]`` for a name).
- ``key``: the column (or columns) that identify a record of this source; a
  re-import upserts on it (the CRM id for HubSpot and Salesforce).
- ``id_prefix``: for CRM sources, a new record's primary key is prefix + CRM id.
- ``required``: columns that must have a value; a row without one is quarantined,
  and a file without the header is refused.
- ``duplicates``: columns whose normalized values identify the same person
  (email + company); such rows are merged.
- ``references``: a column that points at another table, resolved by the ids
  (``by``) of that table, falling back to ``prefix`` + value (or quarantine with
  ``must_exist``).
- ``lookups``: fill a column from the referenced record (e.g. a campaign
  member's channel from its campaign).
- ``values``: per column, file value -> warehouse value ("*" = anything else). For a
  column of the user's own vocabulary (channels, :data:`~analytics.imports.rules.OPEN_VOCABULARIES`)
  a value the map does not name is kept as its own name.
- ``ledger``: the columns that add up (a cost sheet's ``amount``): the lines of one key are
  summed, and the sum replaces what the warehouse held for the key (see
  :mod:`analytics.imports.pipeline`).
- ``detect``: headers that identify this source's files without feeding a column (source
  detection only: HubSpot's owners export has ``userId`` and ``teams``).
- ``salesforce_ids``: columns that hold Salesforce record ids besides ``salesforce_id``
  (always one): stored in their 18-character form.
- ``constants`` and ``prefix``: fixed values, and prefixes for id columns.

Every name in a mapping is checked against the warehouse schema, so SQL built from
a mapping uses identifiers from the schema only; file headers and values are bound.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from analytics.core.errors import RevLensError
from analytics.warehouse.schema import SCHEMA

MAPPINGS_DIR = Path(__file__).resolve().parents[2] / "data" / "mappings"

# source -> mapping family file (data/mappings/<family>.json)
SOURCE_FAMILIES: dict[str, str] = {
    "hubspot-contacts": "hubspot",
    "hubspot-companies": "hubspot",
    "hubspot-deals": "hubspot",
    "salesforce-leads": "salesforce",
    "salesforce-contacts": "salesforce",
    "salesforce-accounts": "salesforce",
    "salesforce-opportunities": "salesforce",
    "salesforce-campaigns": "salesforce",
    "salesforce-campaign-members": "salesforce",
    "touchpoints": "platform",
    "product-events": "platform",
    "support-tickets": "platform",
    "invoices": "platform",
    "feedback": "platform",
    "costs": "costs",
    "email-events": "email_events",
    "content-events": "content_events",
    "sales-reps": "sales_reps",
    "account-tenants": "platform",
}
SOURCES = tuple(SOURCE_FAMILIES)

# Primary keys of the canonical tables; tables without one are keyed by the source's key.
PRIMARY_KEYS: dict[str, str] = {
    "sales_reps": "rep_id",
    "accounts": "account_id",
    "contacts": "contact_id",
    "campaigns": "campaign_id",
    "opportunities": "opportunity_id",
    "support_tickets": "ticket_id",
    "invoices": "invoice_id",
    "feedback": "feedback_id",
}


class MappingError(RevLensError):
    """A mapping file or a file's headers do not fit together; the message says what to edit."""


def _headers(value, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise MappingError(f"{where} must be a header name or a list of header names, not {value!r}.")


def _column_headers(value, where: str) -> tuple[tuple[str, ...], tuple[tuple[str, ...], ...]]:
    """A ``columns`` entry: (single headers, groups of headers joined with a space), in the order given."""
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items:
        raise MappingError(f"{where} must be a header name or a list of header names, not {value!r}.")
    singles, groups = [], []
    for item in items:
        if isinstance(item, str):
            singles.append(item)
        elif isinstance(item, list) and len(item) > 1 and all(isinstance(h, str) for h in item):
            groups.append(tuple(item))
        else:
            raise MappingError(
                f"{where} must list header names, or lists of two or more header names to join, not {item!r}."
            )
    return tuple(singles), tuple(groups)


@dataclass(frozen=True)
class Reference:
    """A column pointing at ``table``: matched on the ``by`` columns, else ``prefix`` + value."""

    headers: tuple[str, ...]
    table: str
    by: tuple[str, ...]
    prefix: str = ""
    must_exist: bool = False


@dataclass(frozen=True)
class Lookup:
    """Fill a column from ``table.column`` of the record that ``via`` references."""

    via: str
    table: str
    column: str


@dataclass(frozen=True)
class Source:
    """One importable source: how its file's headers become rows of ``table``."""

    name: str
    table: str
    mapping_file: Path
    columns: dict[str, tuple[str, ...]]
    key: tuple[str, ...]
    required: tuple[str, ...]
    id_prefix: str | None = None
    duplicates: tuple[str, ...] = ()
    references: dict[str, Reference] = field(default_factory=dict)
    lookups: dict[str, Lookup] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    constants: dict[str, str] = field(default_factory=dict)
    prefix: dict[str, str] = field(default_factory=dict)
    joins: dict[str, tuple[tuple[str, ...], ...]] = field(default_factory=dict)
    ledger: tuple[str, ...] = ()
    salesforce_ids: tuple[str, ...] = ()
    detect: tuple[str, ...] = ()
    document: str = ""  # the mapping file's text (kept with each run, so a recheck maps rows as they were)

    @property
    def primary_key(self) -> str | None:
        return PRIMARY_KEYS.get(self.table)

    @property
    def all_headers(self) -> set[str]:
        """Every header this source can read, normalized (for source detection)."""
        names = {h for hs in self.columns.values() for h in hs}
        names |= {h for groups in self.joins.values() for group in groups for h in group}
        names |= {h for ref in self.references.values() for h in ref.headers}
        names |= set(self.detect)
        return {normalize_header(h) for h in names}

    @property
    def salesforce_id_columns(self) -> set[str]:
        """Columns holding Salesforce record ids (stored in their 18-character form)."""
        return {"salesforce_id", *self.salesforce_ids} & (set(self.columns) | set(self.constants))

    def entry(self, column: str) -> str:
        """Where ``column`` is mapped, as a user would look it up in the file."""
        section = "references" if column in self.references else "columns"
        return f'"sources" > "{self.name}" > "{section}" > "{column}" in {self.mapping_file}'


def normalize_header(header: str) -> str:
    return " ".join(header.replace("\ufeff", "").strip().casefold().split())


def column_types(table: str) -> dict[str, str]:
    """Column name -> SQL type of a canonical table, read from its DDL (the schema is the truth)."""
    body = SCHEMA[table].split("(", 1)[1]
    types = {}
    for line in body.splitlines():
        words = line.strip().rstrip(",").split()
        if len(words) >= 2 and not words[0].startswith(")") and words[0] != "primary":
            types[words[0]] = words[1].lower()
    return types


def table_columns(table: str) -> tuple[str, ...]:
    return tuple(column_types(table))


def _check_columns(source: str, table: str, names, what: str, path: Path) -> None:
    known = table_columns(table)
    for name in names:
        if name not in known:
            raise MappingError(
                f'{path}: "{source}" {what} names the column "{name}", which the table {table} '
                f"does not have; use one of {', '.join(known)}."
            )


def _parse_source(name: str, spec: dict, path: Path, document: str = "") -> Source:
    where = f'{path}: source "{name}"'
    table = spec.get("table")
    if table not in PRIMARY_KEYS and table not in SCHEMA:
        raise MappingError(f"{where} has table {table!r}, which is not a warehouse table.")
    parsed_columns = {
        col: _column_headers(h, f'{where} > columns > "{col}"') for col, h in spec.get("columns", {}).items()
    }
    columns = {col: singles for col, (singles, _) in parsed_columns.items()}
    joins = {col: groups for col, (_, groups) in parsed_columns.items() if groups}
    references = {}
    for col, ref in spec.get("references", {}).items():
        ref_table = ref.get("table")
        if ref_table not in PRIMARY_KEYS:
            raise MappingError(f'{where} > references > "{col}" points at {ref_table!r}, not a table with an id.')
        by = tuple(ref.get("by", [PRIMARY_KEYS[ref_table]]))
        _check_columns(name, ref_table, by, f'references > "{col}" > by', path)
        references[col] = Reference(
            _headers(ref.get("header"), f'{where} > references > "{col}" > header'),
            ref_table,
            by,
            str(ref.get("prefix", "")),
            bool(ref.get("must_exist", False)),
        )
    lookups = {}
    for col, look in spec.get("lookups", {}).items():
        look_table = look.get("table")
        if look_table not in PRIMARY_KEYS or look.get("via") not in references:
            raise MappingError(f'{where} > lookups > "{col}" needs "via" (a reference column) and a table with an id.')
        _check_columns(name, look_table, [look.get("column")], f'lookups > "{col}"', path)
        lookups[col] = Lookup(look["via"], look_table, look["column"])
    key = spec.get("key")
    key = (key,) if isinstance(key, str) else tuple(key or ())
    source = Source(
        name=name,
        table=table,
        mapping_file=path,
        columns=columns,
        key=key,
        required=tuple(spec.get("required", ())),
        id_prefix=spec.get("id_prefix"),
        duplicates=tuple(spec.get("duplicates", ())),
        references=references,
        lookups=lookups,
        values={
            col: {str(k).strip().casefold(): str(v) for k, v in m.items()} for col, m in spec.get("values", {}).items()
        },
        constants={col: str(v) for col, v in spec.get("constants", {}).items()},
        prefix={col: str(v) for col, v in spec.get("prefix", {}).items()},
        joins=joins,
        ledger=tuple(spec.get("ledger", ())),
        salesforce_ids=tuple(spec.get("salesforce_ids", ())),
        detect=tuple(spec.get("detect", ())),
        document=document,
    )
    fed = set(columns) | set(references) | set(lookups) | set(source.constants)
    _check_columns(
        name,
        table,
        fed
        | set(source.key)
        | set(source.required)
        | set(source.duplicates)
        | set(source.values)
        | set(source.prefix)
        | set(source.ledger)
        | set(source.salesforce_ids),
        "mapping",
        path,
    )
    if source.ledger and source.primary_key:
        raise MappingError(f'{where} has a "ledger" but its table {table} has a primary key; ledgers are for facts.')
    for col in source.ledger:
        if col not in fed or column_types(table)[col] not in ("double", "integer", "bigint"):
            raise MappingError(f'{where} > ledger names "{col}", which must be a number column the mapping feeds.')
    if not source.key:
        raise MappingError(f'{where} needs a "key": the column(s) that identify a record, e.g. its CRM id.')
    for col in source.key + source.required + source.duplicates:
        if col not in fed:
            raise MappingError(
                f'{where} uses "{col}" as key, required or duplicate column but no entry feeds it; '
                f'add "{col}" to its "columns".'
            )
    if source.primary_key and source.primary_key not in source.key and not source.id_prefix:
        raise MappingError(
            f"{where} is keyed by {', '.join(source.key)}, not {source.primary_key}; "
            'give it an "id_prefix" for new record ids.'
        )
    return source


def load_mapping(path: str | Path, text: str | None = None) -> dict[str, Source]:
    """Read one mapping file (or its ``text``, as kept with a run); returns its sources by name."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig") if text is None else text
        document = json.loads(text)
    except FileNotFoundError:
        raise MappingError(f"The mapping file {path} does not exist; copy one from {MAPPINGS_DIR}.") from None
    except json.JSONDecodeError as exc:
        raise MappingError(
            f"The mapping file {path} is not valid JSON (line {exc.lineno}, column {exc.colno}: "
            f"{exc.msg}); fix it or start again from a copy in {MAPPINGS_DIR}."
        ) from None
    sources = document.get("sources") if isinstance(document, dict) else None
    if not isinstance(sources, dict):
        raise MappingError(f'The mapping file {path} has no "sources" object; start from a copy in {MAPPINGS_DIR}.')
    return {name: _parse_source(name, spec, path, text) for name, spec in sources.items()}


def source_for(name: str, mapping: str | Path | None = None) -> Source:
    """The source ``name`` from ``mapping`` (a file) or from its default mapping file."""
    if name not in SOURCE_FAMILIES:
        raise MappingError(f"Unknown source {name!r}; use one of: {', '.join(SOURCES)}.")
    path = Path(mapping) if mapping else MAPPINGS_DIR / f"{SOURCE_FAMILIES[name]}.json"
    sources = load_mapping(path)
    if name not in sources:
        raise MappingError(f'The mapping file {path} has no source "{name}"; it defines {", ".join(sources)}.')
    return sources[name]


def default_sources() -> dict[str, Source]:
    """Every source from the default mapping files."""
    found: dict[str, Source] = {}
    for family in sorted(set(SOURCE_FAMILIES.values())):
        found.update(load_mapping(MAPPINGS_DIR / f"{family}.json"))
    return found


def detect_source(headers: list[str]) -> str | None:
    """The default source whose mapping best matches ``headers``, or None.

    Score = share of the source's required columns found among the headers, then
    the number of headers it knows; a source missing a required header without a
    lookup or reference to fill it cannot win.
    """
    present = {normalize_header(h) for h in headers}
    best, best_score = None, (0.0, 0)
    for source in default_sources().values():
        found = 0
        needed = [c for c in source.required if c not in source.lookups]
        for col in needed:
            heads = source.references[col].headers if col in source.references else source.columns.get(col, ())
            groups = source.joins.get(col, ())
            found += any(normalize_header(h) in present for h in heads) or any(
                any(normalize_header(h) in present for h in group) for group in groups
            )
        if needed and found < len(needed):
            continue
        score = (1.0, len(present & source.all_headers))
        if score > best_score:
            best, best_score = source.name, score
    return best
