"""Path input in ChannelAttribution's format, for journeys exported from web analytics.

One row per distinct path: the path is a string of channels joined by a separator
(``"email > paid_search > direct"``), with its number of conversions, their total
value and the number of journeys on that path that did not convert. The file's
field delimiter (comma, semicolon, tab or pipe) is detected from its first lines.
"""

from __future__ import annotations

import contextlib
import csv
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # polars is imported where a file is read (the CLI's help stays light)
    import polars as pl

from analytics.attribution import chains
from analytics.attribution.composed import named
from analytics.attribution.journeys import Journeys
from analytics.core.errors import RevLensError

PATH_COLUMN = "path"
CONVERSIONS_COLUMN = "total_conversions"
VALUE_COLUMN = "total_conversion_value"
NULL_COLUMN = "total_null"
DELIMITERS = ",;\t|"


def detect_delimiter(sample: str, path_separator: str = ">") -> str:
    """The field delimiter of a delimited text sample (``,``, ``;``, tab or ``|``).

    The path separator itself is never taken as the delimiter.
    """
    candidates = "".join(d for d in DELIMITERS if d != path_separator)
    try:
        return csv.Sniffer().sniff(sample, delimiters=candidates).delimiter
    except csv.Error:
        header = sample.splitlines()[0] if sample else ""
        counts = {d: header.count(d) for d in candidates}
        best = max(counts, key=counts.get)
        return best if counts[best] > 0 else ","


def read_paths(
    file: str | Path,
    sep: str = ">",
    path_col: str = PATH_COLUMN,
    conversions_col: str = CONVERSIONS_COLUMN,
    value_col: str | None = VALUE_COLUMN,
    null_col: str | None = NULL_COLUMN,
) -> pl.DataFrame:
    """Read a ChannelAttribution-style path file.

    Parameters
    ----------
    file : CSV/TSV file, delimiter detected.
    sep : the separator between channels inside a path (surrounding spaces are trimmed).
    path_col, conversions_col : required columns.
    value_col, null_col : optional columns; when absent, revenue (resp. non-converting
        counts) are 0 and ``has_nulls`` is false in the frame's ``nulls_known`` column.

    Returns
    -------
    polars.DataFrame
        ``path`` (list of channels), ``conversions``, ``revenue``, ``nulls`` (floats) and
        ``nulls_known`` (bool, the same on every row).

    Raises
    ------
    RevLensError
        Missing file or columns, empty channel names, negative or non-numeric counts.
    """
    import polars as pl

    file = Path(file)
    if not file.exists():
        raise RevLensError(f"The path file {file} does not exist; check the --paths argument.")
    with file.open(encoding="utf-8", errors="replace") as handle:
        sample = handle.read(64_000)
    if not sample.strip():
        raise RevLensError(f"The path file {file} is empty; export paths with a header row and one path per row.")
    delimiter = detect_delimiter(sample, sep)
    try:
        raw = pl.read_csv(file, separator=delimiter, infer_schema_length=0)
    except pl.exceptions.PolarsError as exc:
        raise RevLensError(
            f"Cannot read the path file {file}: {str(exc).splitlines()[0]}; save it as CSV with a header row."
        ) from None
    return path_frame(raw, sep, path_col, conversions_col, value_col, null_col, source=f"the path file {file}")


def path_frame(
    raw: pl.DataFrame,
    sep: str = ">",
    path_col: str = PATH_COLUMN,
    conversions_col: str = CONVERSIONS_COLUMN,
    value_col: str | None = VALUE_COLUMN,
    null_col: str | None = NULL_COLUMN,
    source: str = "the path table",
) -> pl.DataFrame:
    """Validate a ChannelAttribution-format table already in memory (see :func:`read_paths`).

    ``source`` names the table in error messages.
    """
    import polars as pl

    where = source[0].upper() + source[1:]
    for column, option in ((path_col, "--path-col"), (conversions_col, "--conversions-col")):
        if column not in raw.columns:
            raise RevLensError(
                f"{where} has no column {column!r} (columns: {', '.join(raw.columns)}); "
                f"name the right one with {option}."
            )
    raw = raw.with_columns(pl.all().cast(pl.Utf8))
    numeric = {"conversions": conversions_col}
    if value_col and value_col in raw.columns:
        numeric["revenue"] = value_col
    nulls_known = bool(null_col and null_col in raw.columns)
    if nulls_known:
        numeric["nulls"] = null_col
    frame = raw.select(
        pl.col(path_col).str.split(sep).list.eval(pl.element().str.strip_chars()).alias("path"),
        *[
            pl.col(column).str.strip_chars().cast(pl.Float64, strict=False).alias(name)
            for name, column in numeric.items()
        ],
    )
    for name, column in numeric.items():
        bad = raw.with_row_index("row").filter(frame[name].is_null() | (frame[name] < 0))
        if bad.height:
            row = bad.row(0, named=True)
            raise RevLensError(
                f"{where} has a non-numeric or negative {column!r} on data row {row['row'] + 1} "
                f"({row[column]!r}); fix that cell (counts and values are numbers >= 0)."
            )
    empty = frame.with_row_index("row").filter(
        pl.col("path").is_null() | pl.col("path").list.eval(pl.element() == "").list.any()
    )
    if empty.height:
        raise RevLensError(
            f"{where} has an empty channel on data row {empty['row'][0] + 1}; "
            f"check the channel separator (--sep, now {sep!r}) and remove empty paths."
        )
    return frame.with_columns(
        *[pl.lit(0.0).alias(name) for name in ("revenue", "nulls") if name not in frame.columns],
        pl.lit(nulls_known).alias("nulls_known"),
    ).select("path", "conversions", "revenue", "nulls", "nulls_known")


# --------------------------------------------------------------------------- journeys from a path file

_PATH_CONVERSIONS = """
select journey_id, conversions, revenue, cast(null as date) as month
from attribution_path_rows
where conversions > 0
"""
_PATH_TOUCHES = """
with steps as (
    select journey_id, path, generate_subscripts(path, 1) as k
    from attribution_path_rows
    where conversions > 0
)
select journey_id, path[k] as key, path[k] = 'direct' as is_direct, cast(null as integer) as days_before,
       cast(null as boolean) as before_lead, cast(null as boolean) as before_opportunity, k
from steps
"""
_PATH_NULL_ROWS = """
select journey_id, path, cast(0.0 as double) as conversions, cast(0.0 as double) as revenue, nulls
from attribution_path_rows
where nulls > 0
"""
_PATH_NULL_SETS = """
select array_to_string(list_sort(list_distinct(path)), chr(31)) as set_id,
       cast(0.0 as double) as conversions, cast(0.0 as double) as revenue, nulls
from attribution_path_rows
where nulls > 0
"""


@contextlib.contextmanager
def open_path_journeys(con, paths, chain_models=(), order: int = 1) -> Iterator[Journeys]:
    """Journeys from path input (:func:`analytics.attribution.paths.read_paths`) on a private
    in-memory ``con``: one journey per path row, weighted by its conversions (and, for Markov and
    Shapley, by its non-converting count, aggregated here as :mod:`.chains` expects)."""
    frame = paths.select("path", "conversions", "revenue", "nulls").with_row_index("journey_id", offset=1)
    # a view over the frame's memory, no copy; it lives as long as the private connection
    con.register("attribution_path_rows", frame.to_arrow())
    journeys = Journeys(con, "paths", {})
    try:
        journeys.create("attribution_conversions", named("attribution.path_conversions", _PATH_CONVERSIONS))
        journeys.create("attribution_touches", named("attribution.path_touches", _PATH_TOUCHES))
        if "markov" in chain_models:
            lagged = chains.lagged_by_index(_PATH_NULL_ROWS, order)
            moves = named("attribution.path_null_moves", chains.moves_sql(lagged, order, per_journey=False))
            journeys.create("attribution_null_moves", moves, chains.STATE_PARAMS)
        if "shapley" in chain_models:
            sets = named("attribution.path_null_sets", chains.sets_sql(_PATH_NULL_SETS, bits=False))
            journeys.create("attribution_null_sets", sets)
        yield journeys
    finally:
        journeys.drop()
