"""Property-based fuzzing of the hostile-input promises (issue 13, case 8), with Hypothesis.

Generated: CSV files (encodings, line endings, quotes, giant fields, NaN/inf, extreme dates,
formula prefixes, Rich markup, NULL-like words), command-line arguments, and warehouse values
typed in by hand. The properties:

- an import either reconciles (``rows_read = loaded + updated + merged + quarantined``, and a
  cost sheet's money ``read = loaded + quarantined``) or is refused with one sentence and
  changes nothing;
- a command exits 0 or 2, never 1, and prints no traceback and no secret;
- attribution splits exactly the usable revenue of the won deals, whatever amounts were typed in;
- no exported cell is live (CSV or Excel), and numbers stay numbers.

The CI run keeps to about a minute (``REVLENS_FUZZ_EXAMPLES``, default 20 per property);
``benchmarks/fuzz_long.py --minutes 30`` runs the same properties longer, with fresh seeds.
"""

from __future__ import annotations

import csv
import io
import math
import os
import shutil
import subprocess
import sys
from datetime import date

import duckdb
import openpyxl
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics.attribution.engine import attribute_rows
from analytics.attribution.window import JourneyWindow
from analytics.cli import main
from analytics.core.cells import csv_text, is_live, is_live_csv_cell
from analytics.core.errors import RevLensError
from analytics.core.money import MAX_AMOUNT
from analytics.imports import import_files
from analytics.loads import finish_load
from analytics.warehouse.connection import connect
from tests.tiny import build_tiny_warehouse

EXAMPLES = int(os.environ.get("REVLENS_FUZZ_EXAMPLES", "20"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large],
    derandomize=os.environ.get("REVLENS_FUZZ_RANDOM", "") == "",  # CI: the same examples every run
)
SECRET = "pat-na1-fuzz0000-1111-2222-333333333333"

# -- the hostile cell texts -----------------------------------------------------------------------

FORMULAS = ["=1+1", '=HYPERLINK("http://evil.example","x")', "=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1)"]
MARKUP = ["[/b]", "[link=http://evil.example]x[/link]", "[bold red]", "\x1b[31mred"]
NUMBERS = ["NaN", "nan", "inf", "-inf", "Infinity", "1e30", "-1e308", "1.234", "1,234", "1.234,50", "0", "-0", "12,5"]
DATES = ["0000-01-01", "0001-01-01", "1899-12-31", "9999-12-31", "2026-02-30", "2026-13-01", "31/12/2026", "1e5"]
NULLS = ["NULL", "N/A", "-", "nan", "none", "", " "]
SPECIAL = ['"', '""', "a,b", "a;b", "line\nbreak", "cr\rbreak", "\t", "\ufeff", "\x00", "é€’“”–", "𝔘𝔫𝔦"]

hostile_text = st.one_of(
    st.sampled_from(FORMULAS + MARKUP + NUMBERS + DATES + NULLS + SPECIAL),
    st.text(max_size=30),
    st.builds(
        lambda prefix, body: prefix + body, st.sampled_from(["=", "+", "-", "@", "\t", "\r"]), st.text(max_size=12)
    ),
    st.integers(min_value=1_000, max_value=20_000).map(lambda n: "x" * n),  # a giant field
)
ENCODINGS = ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "cp1252", "latin-1"]
LINE_ENDS = ["\n", "\r\n", "\r"]


def _encode(text: str, encoding: str) -> bytes:
    return text.encode(encoding, errors="replace") if encoding in ("cp1252", "latin-1") else text.encode(encoding)


def _csv(headers: list[str], rows: list[list[str]], line_end: str, delimiter: str = ",") -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator=line_end, quoting=csv.QUOTE_MINIMAL)
    writer.writerow(headers)
    writer.writerows(rows)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def tiny_path(tmp_path_factory):
    return build_tiny_warehouse(tmp_path_factory.mktemp("fuzz") / "tiny.duckdb")


def _copy(source, target) -> str:
    shutil.copy(source, target)
    return str(target)


def _fingerprint(db) -> tuple:
    """What a refused import must leave as it was: the version and the rows of every table (the
    importer's own bookkeeping tables may be created empty before the transaction: idempotent DDL)."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        tables = [t for (t,) in con.execute("select table_name from information_schema.tables order by 1").fetchall()]
        counts = {t: con.execute(f'select count(*) from "{t}"').fetchone()[0] for t in tables}
        version = con.execute("select value from _meta where key = 'version'").fetchall()
        return tuple(sorted((t, n) for t, n in counts.items() if n)), tuple(version)
    finally:
        con.close()


# -- 1. import: reconcile, or refuse and change nothing -------------------------------------------


CONTACT_HEADERS = ["Record ID", "First Name", "Last Name", "Email", "Company Name", "HubSpot Score", "Create Date"]
COST_HEADERS = ["campaign_id", "date", "category", "amount", "platform"]


@FUZZ
@given(
    rows=st.lists(st.lists(hostile_text, min_size=7, max_size=7), min_size=1, max_size=8),
    encoding=st.sampled_from(ENCODINGS),
    line_end=st.sampled_from(LINE_ENDS),
    ids=st.booleans(),
)
def test_a_contacts_import_reconciles_or_changes_nothing(tiny_path, tmp_path_factory, rows, encoding, line_end, ids):
    work = tmp_path_factory.mktemp("import")
    db = _copy(tiny_path, work / "w.duckdb")
    if ids:  # most rows get a usable id and email, so some load
        rows = [[f"9{i}", *row[1:3], f"u{i}@acme.com", *row[4:]] for i, row in enumerate(rows)]
    path = work / "contacts.csv"
    path.write_bytes(_encode(_csv(CONTACT_HEADERS, rows, line_end), encoding))
    before = _fingerprint(db)
    try:
        (result,) = import_files(db, "hubspot-contacts", [path])
    except RevLensError as exc:
        assert "\n" not in str(exc).strip() and "Traceback" not in str(exc)
        assert _fingerprint(db) == before
        return
    assert result.rows_read == result.rows_loaded + result.rows_updated + result.rows_merged + result.rows_quarantined
    assert result.rows_read == len(rows) or line_end == "\r" or any("\r" in c or "\n" in c for r in rows for c in r)
    con = duckdb.connect(db, read_only=True)
    try:
        bad = con.execute(
            "select count(*) from contacts where not (lead_score between -1e12 and 1e12) "
            "or created_at < timestamp '1900-01-01' or created_at > timestamp '2101-01-01'"
        ).fetchone()[0]
        nulls = con.execute(
            "select count(*) from contacts where lower(trim(first_name)) in ('null', 'n/a', '-', 'nan', 'none')"
        ).fetchone()[0]
    finally:
        con.close()
    assert bad == 0 and nulls == 0


@FUZZ
@given(
    amounts=st.lists(
        st.one_of(st.sampled_from(NUMBERS + NULLS), st.floats(allow_nan=True).map(repr)), min_size=1, max_size=8
    ),
    days=st.lists(st.sampled_from(["2026-01-15", "2026-02-01", *DATES]), min_size=8, max_size=8),
    encoding=st.sampled_from(["utf-8", "utf-16", "cp1252"]),
)
def test_a_cost_sheet_reconciles_its_money(tiny_path, tmp_path_factory, amounts, days, encoding):
    work = tmp_path_factory.mktemp("costs")
    db = _copy(tiny_path, work / "w.duckdb")
    rows = [["CMPA", days[i], "media_spend", amount, f"p{i}"] for i, amount in enumerate(amounts)]
    path = work / "costs.csv"
    path.write_bytes(_encode(_csv(COST_HEADERS, rows, "\n"), encoding))
    before = _fingerprint(db)
    try:
        (result,) = import_files(db, "costs", [path])
    except RevLensError:
        assert _fingerprint(db) == before
        return
    assert result.rows_read == result.rows_loaded + result.rows_updated + result.rows_merged + result.rows_quarantined
    assert math.isfinite(result.amount_read) and abs(result.amount_read) <= len(amounts) * MAX_AMOUNT
    assert math.isclose(result.amount_read, result.amount_loaded + result.amount_quarantined, abs_tol=1e-6)


# -- 2. attribution on values typed in by hand ------------------------------------------------------


@FUZZ
@given(
    amounts=st.lists(
        st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([1e30, -1e30, 1e12, 0.0])),
        min_size=1,
        max_size=4,
    ),
    close=st.sampled_from([date(2025, 2, 10), date(1, 1, 1), date(9999, 12, 31), date(1899, 12, 31)]),
    model=st.sampled_from(["linear", "first_touch", "last_touch", "time_decay", "position_based", "markov"]),
)
def test_attribution_splits_exactly_the_usable_revenue(tiny_path, tmp_path_factory, amounts, close, model):
    db = _copy(tiny_path, tmp_path_factory.mktemp("attr") / "w.duckdb")
    con = connect(db)
    try:
        con.execute("begin")
        for number, value in enumerate(amounts):
            con.execute(
                "insert into opportunities (opportunity_id, contact_id, account_id, amount, stage, is_closed, "
                "is_closed_won, created_at, close_date) values (?, 'C1', 'A1', ?, 'closedwon', true, true, "
                "timestamp '2025-01-01', ?)",
                [f"FZ{number}", value, close],
            )
        finish_load(con, "refresh")
        con.execute("commit")
        usable = con.execute(
            "select coalesce(sum(amount), 0) from opportunities where is_closed_won "
            "and close_date between date '1900-01-01' and date '2100-12-31' "
            "and (amount is null or amount between -1e12 and 1e12) and close_date <= date '2025-12-31'"
        ).fetchone()[0]
        rows = attribute_rows(con, [model], JourneyWindow(by="channel", lookback_days=365, close_to=date(2025, 12, 31)))
    finally:
        con.close()
    revenue = [r[-1] for r in rows]
    assert all(math.isfinite(v) for r in rows for v in r if isinstance(v, float))
    assert math.isclose(sum(revenue), usable, rel_tol=1e-9, abs_tol=1e-6)


# -- 3. commands: 0 or 2, never 1, no traceback, no secret -------------------------------------------


cli_value = st.one_of(
    st.sampled_from(["nan", "inf", "-1", "0", "99999999999999999999", "0000", "9999-Q4", "2026-Q3", "2026-13", "[/b]"]),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12),
)
COMMANDS = [
    ("attribution", "--model"),
    ("attribution", "--lookback-days"),
    ("attribution", "--half-life-days"),
    ("attribution", "--by"),
    ("roi", "--period"),
    ("roi", "--hourly-rate"),
    ("roi", "--gross-margin"),
    ("roi", "--from"),
    ("budget", "--as-of"),
    ("leads", "--days"),
    ("health", "--as-of"),
    ("actions", "--limit"),
]


@FUZZ
@given(command=st.sampled_from(COMMANDS), value=cli_value)
def test_a_command_exits_0_or_2_and_prints_no_secret(demo_db, capsys, monkeypatch, tmp_path_factory, command, value):
    work = tmp_path_factory.mktemp("cli")
    monkeypatch.setenv("REVLENS_OPS_URL", f"sqlite:///{work / 'ops.sqlite'}")
    monkeypatch.setenv("REVLENS_SECRETS", str(work / "none.toml"))
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", SECRET)
    name, option = command
    base = {
        "attribution": ["attribution", "--db", demo_db, "--model", "linear"],
        "roi": ["roi", "--db", demo_db, "--period", "2026-Q3", "--n-boot", "0", "--no-compare"],
        "budget": ["budget", "--db", demo_db],
        "leads": ["leads", "assign", "--db", demo_db],
        "health": ["health", "--db", demo_db],
        "actions": ["actions", "list"],
    }[name]
    args = list(base)
    if option in args:
        args[args.index(option) + 1] = value
    else:
        args += [option, value]
    if name == "roi" and option == "--from":
        args = [a for a in args if a not in ("--period", "2026-Q3")] + ["--to", "2026-09-30"]
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    out, err = capsys.readouterr()
    assert (exit_info.value.code or 0) in (0, 2), (args, err[-500:])
    assert "Traceback" not in out + err and SECRET not in out + err


def test_a_token_with_a_newline_never_reaches_the_output(tmp_path):
    """In a real process: the token with a line break, an unreachable API, delivery and sync."""
    env = {
        **os.environ,
        "HUBSPOT_ACCESS_TOKEN": "pat-na1-secret\nInjected: header",
        "HUBSPOT_API_BASE": "http://127.0.0.1:9",
        "REVLENS_OPS_URL": f"sqlite:///{tmp_path / 'ops.sqlite'}",
        "REVLENS_SECRETS": str(tmp_path / "none.toml"),
    }
    for args in (["actions", "deliver", "--once"], ["sync", "hubspot", "--db", str(tmp_path / "w.duckdb")]):
        result = subprocess.run(
            [sys.executable, "-m", "analytics", *args], capture_output=True, text=True, env=env, timeout=120
        )
        assert result.returncode == 2, result.stderr
        assert "pat-na1-secret" not in result.stdout + result.stderr and "Injected" not in result.stderr
        assert "Traceback" not in result.stderr and "line break" in result.stderr


# -- 4. exports: no live cell, numbers stay numbers ------------------------------------------------


@FUZZ
@given(
    texts=st.lists(hostile_text, min_size=1, max_size=6),
    numbers=st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=6, max_size=6),
)
def test_no_exported_cell_is_live(tmp_path_factory, texts, numbers):
    frame = pl.DataFrame(
        {"name": texts, "value": numbers[: len(texts)]}, schema={"name": pl.String, "value": pl.Float64}
    )
    parsed = pl.read_csv(io.StringIO(csv_text(frame)), infer_schema=False)
    assert not any(is_live_csv_cell(v) for v in parsed["name"].drop_nulls())
    assert not any(is_live_csv_cell(v) for v in parsed["value"].drop_nulls())  # numbers read back as numbers

    import xlsxwriter

    from analytics.finance.export import write_cell

    path = tmp_path_factory.mktemp("xlsx") / "cells.xlsx"
    book = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_urls": False})
    sheet = book.add_worksheet("Cells")
    for row, (text, number) in enumerate(zip(texts, numbers)):
        write_cell(sheet, row, 0, text)
        write_cell(sheet, row, 1, number)
    book.close()
    for row in openpyxl.load_workbook(path).active.iter_rows():
        text_cell, number_cell = row
        assert text_cell.data_type != "f" and not (isinstance(text_cell.value, str) and is_live(text_cell.value))
        number = numbers[text_cell.row - 1]
        if math.isfinite(number) and abs(number) <= 9.99999999999999e307:
            assert isinstance(number_cell.value, int | float) and number_cell.value == pytest.approx(number)
