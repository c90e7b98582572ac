"""Cells safe to open in a spreadsheet (OWASP "CSV injection") and text safe for markup.

A spreadsheet runs a cell whose text starts with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return as a formula (``=HYPERLINK(...)``, ``=cmd|' /C calc'!A0``). OWASP's advice
(https://owasp.org/www-community/attacks/CSV_Injection): prefix such a cell with a single
quote, so it is shown as the text it is. Every CSV RevLens writes (CLI output, the app's
downloads, table exports) goes through :func:`csv_text`, and the Excel workbook through
:func:`neutralize` with ``write_string``. Only text is touched: numbers stay numbers
(``-5`` in a numeric column is a number, not a formula).

:func:`escape_markdown` and :func:`escape_markup` keep user text (campaign and file names)
from being read as Streamlit markdown or Rich markup.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import polars as pl

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_START = r"^[=+\-@\t\r]"


def neutralize(text: str) -> str:
    """``text`` prefixed with ``'`` when a spreadsheet would read it as a formula; unchanged otherwise."""
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def is_live(text: str) -> bool:
    """Whether a spreadsheet would evaluate this text cell (the test of every export)."""
    return text.startswith(FORMULA_PREFIXES)


def is_live_csv_cell(text: str) -> bool:
    """Whether a spreadsheet would evaluate this CSV field: it starts like a formula and is not a
    plain number (``-12.5`` and ``-1e-05`` in a numeric column are read as numbers)."""
    if not is_live(text):
        return False
    try:
        float(text)
    except ValueError:
        return True
    return text.strip() != text or text.lower().lstrip("+-") in ("inf", "infinity", "nan")


def safe_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with every text cell neutralized, and every non-finite number (±inf, NaN) empty: CSV would
    write ``-inf``, which a spreadsheet reads as a formula (dates, booleans and finite numbers untouched)."""
    import polars as pl

    text = [name for name, dtype in frame.schema.items() if dtype in (pl.String, pl.Categorical, pl.Enum)]
    floats = [name for name, dtype in frame.schema.items() if dtype in (pl.Float32, pl.Float64)]
    if not text and not floats:
        return frame
    return frame.with_columns(
        *(
            pl.when(pl.col(name).cast(pl.String).str.contains(_FORMULA_START))
            .then(pl.lit("'") + pl.col(name).cast(pl.String))
            .otherwise(pl.col(name).cast(pl.String))
            .alias(name)
            for name in text
        ),
        *(pl.when(pl.col(name).is_finite()).then(pl.col(name)).otherwise(None).alias(name) for name in floats),
    )


def csv_text(frame: pl.DataFrame) -> str:
    """``frame`` as CSV text (header row, polars' formatting) with every text cell neutralized."""
    return safe_frame(frame).write_csv()


def safe_row(values) -> list:
    """One spreadsheet row (openpyxl's ``append``): text neutralized, numbers and the rest unchanged."""
    return [neutralize(v) if isinstance(v, str) else v for v in values]


def safe_records(rows: list[dict]) -> list[dict]:
    """Rows (dicts) with every string value neutralized, for CSV writers that take records."""
    return [{k: neutralize(v) if isinstance(v, str) else v for k, v in row.items()} for row in rows]


# What makes user text *act* in Streamlit markdown: links and images ``[..](..)``, directives
# ``:red[..]``, emphasis, code, LaTeX ``$..$``, strikethrough, tables and HTML-looking text. Plain
# punctuation (``.``, ``(``, ``:``, ``-``) stays as it is, so a message reads the same in the page's
# element text as in the CLI.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]$~|<>])")


def escape_markdown(text: object) -> str:
    """User text for ``st.markdown``, captions and ``st.error``: link, directive, emphasis, code, LaTeX
    and table characters backslash-escaped, line breaks as spaces (a message stays one line)."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", str(text)).replace("\r", " ").replace("\n", " ")


def escape_markup(text: object) -> str:
    """User text for a Rich table or message: ``[b]`` and ``[link=...]`` shown as written, not applied."""
    from rich.markup import escape

    return escape(str(text))
