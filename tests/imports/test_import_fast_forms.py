"""The cheaper forms of the import's per-cell work give what the plain forms give (issue 12's speed goal).

- NULL-like words: one CASE with ``list_position`` (``list_contains`` of a constant list is planned as a MARK
  join over every row), cells compared as they are unless padded: equal to "trimmed, any case" on any cell;
- ambiguous thousands separators counted in the values pass of an insert-first import: the same warning as
  the pass of their own (the staged and keys-first paths);
- a Latin-1 byte past the sampled bytes in any column restarts the import;
- a CSV file without padded cells (found from its bytes) skips the padding test; an insert-first import
  takes the rows read from DuckDB's profile of its insert, and reads the file again for the values to warn
  about only when a stored row may hold one or a row was not inserted.
"""

from __future__ import annotations

import csv
import json
import random
import re
from pathlib import Path
from types import SimpleNamespace

import duckdb
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics.imports import MAPPINGS_DIR, import_files, pipeline, reading, sql
from analytics.imports.mapping import DEFAULT_NULL_VALUES, source_for
from analytics.imports.pipeline import prepare
from analytics.imports.plan import Placeholders, plan_import
from analytics.imports.reading import describe_file
from analytics.warehouse.runner import profiled_rows, rows
from tests.imports.test_import_files import query
from tests.imports.test_import_streaming import everything
from tests.paths import FIXTURES

HEADER = ["touchpoint_id", "contact_id", "campaign_id", "channel", "touchpoint_type", "ts", "engagement_score"]


def _fake_plan(words: tuple[str, ...], kind: str, column_type: str, padded: bool = True) -> SimpleNamespace:
    return SimpleNamespace(
        source=SimpleNamespace(null_values=words),
        types={"col": column_type},
        params=Placeholders(),
        layout=SimpleNamespace(kind=kind, padded=padded),
    )


def _spec(words: list[str], cell: str) -> str:
    """The rule as the docs state it, in the plain SQL form: trimmed, any case, any padding."""
    return f"case when list_contains({words!r}::varchar[], lower(trim({cell}))) then null else nullif(trim({cell}), '') end"


def _variant(rng: random.Random, word: str) -> str:
    cased = "".join(ch.upper() if rng.random() < 0.5 else ch for ch in word)
    return " " * rng.randrange(0, 6) + cased + " " * rng.randrange(0, 6)


cells = st.one_of(
    st.builds(
        lambda seed, word: _variant(random.Random(seed), word), st.integers(), st.sampled_from(DEFAULT_NULL_VALUES)
    ),
    st.sampled_from(["", " ", "nan", "NaN", "-", " - ", "--", "n/a/", "nulls", "None ", "\tnull", "K", "K"]),
    st.text(alphabet=" -/abcdefghijklmnopqrstuvwxyzNULAİK\t", max_size=8),
    st.none(),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    values=st.lists(cells, min_size=1, max_size=30),
    kind=st.sampled_from(["csv", "json", "unpadded csv"]),
    words=st.sampled_from([DEFAULT_NULL_VALUES, ("n.a.", "-"), ()]),
)
def test_null_like_words_equal_the_plain_rule_on_any_cell(values, kind, words):
    """And in a CSV file without padded cells (a space at either end of a cell), the short form (no padding
    test) gives the rule's result on every cell such a file can hold."""
    con = duckdb.connect()
    padded = kind != "unpadded csv"
    if not padded:
        values = [None if v is None else v.strip(" ") for v in values]
    for column_type in ("varchar", "double"):
        plan = _fake_plan(words, kind.split()[-1], column_type, padded)
        words_ = [w for w in words if column_type == "varchar" or w != "nan"]
        if kind != "json":  # the CSV reader never gives '' (an empty cell is NULL)
            values = [None if v == "" else v for v in values]
        fast = sql._null_like(plan, "col", "c")
        table = "(select unnest($cells::varchar[]) as c)"
        got = con.execute(
            f"select c, {fast} as fast, {_spec(words_, 'c')} as spec from {table}",
            {**plan.params.values, "cells": values},
        ).fetchall()
        assert [(c, spec) for c, _, spec in got] == [(c, fast) for c, fast, _ in got], column_type


def test_null_words_are_not_planned_as_a_join(tmp_path):
    """``list_contains`` (or ``IN``) of a constant list of five values is planned by DuckDB as a MARK join that
    lowers and probes every cell of the file, whatever CASE surrounds it: 1.6 -> 3.3 CPU-s per million rows."""
    path = tmp_path / "t.csv"
    path.write_text(",".join(HEADER) + "\nT1,C1,K1,email,visit,2024-01-01 10:00,0.5\n")
    plan = plan_import(source_for("touchpoints"), describe_file(path))
    con = duckdb.connect()
    prepare(con)
    plan_text = rows(con, "explain " + sql.insert_first_sql(plan, held=False), plan.bindings())[0][1]
    assert "list_position" in plan_text and "MARK" not in plan_text


@pytest.mark.parametrize(
    "source, fixture",
    [
        ("hubspot-contacts", "hubspot_contacts.csv"),  # free-mail domains
        ("hubspot-deals", "hubspot_deals.csv"),  # booleans
        ("email-events", "email_events.csv"),  # a closed vocabulary of six event types
    ],
)
def test_no_list_of_constants_is_planned_as_a_join(source, fixture):
    plan = plan_import(source_for(source), describe_file(FIXTURES / fixture))
    con = duckdb.connect()
    prepare(con)
    plan_text = rows(con, "explain " + sql.select_of(sql.staged_sql(plan)), plan.bindings())[0][1]
    assert "MARK" not in plan_text


def _messy(path: Path, rows_: int, seed: int, delimiter: str = ",", padded: bool = True) -> Path:
    """Touchpoints with NULL-like words in every case and padding in every column, "nan" and ambiguous
    separators in the engagement score, padded and unknown channels, and keys that repeat (``padded``
    False: the same without a space at either end of any cell)."""
    rng = random.Random(seed)
    words = list(DEFAULT_NULL_VALUES)
    with path.open("w", newline="") as out:
        writer = csv.writer(out, delimiter=delimiter)
        writer.writerow(HEADER)
        for _ in range(rows_):

            def maybe(value: str, rate: float = 0.04) -> str:
                value = _variant(rng, rng.choice(words)) if rng.random() < rate else value
                return value if padded else value.strip(" ")

            score = rng.choice(["0.5", "1.234", " 2.500 ", "NaN", "nan", " N/A ", "12,5", "7", "1,234", "0.125"])
            channel = rng.choice(["email", " Email ", "EMAIL", "Email Nurture", " Email Nurture ", "Paid-Search"])
            writer.writerow(
                [
                    maybe(f"T{rng.randrange(rows_ * 9 // 10)}", 0.01),
                    maybe(f"C{rng.randrange(300)}"),
                    maybe(f"K{rng.randrange(9)}"),
                    maybe(channel, 0.02),
                    maybe("visit"),
                    maybe(f"2024-0{rng.randrange(1, 10)}-1{rng.randrange(10)} 10:00", 0.02),
                    maybe(score),
                ]
            )
    return path


def test_messy_null_words_nan_and_ambiguous_numbers_agree_on_every_path(tmp_path, monkeypatch):
    first = _messy(tmp_path / "first.csv", 2500, 21)
    again = _messy(tmp_path / "again.csv", 1500, 22)  # repeats some of first's keys
    semicolons = _messy(tmp_path / "semicolons.csv", 800, 23, delimiter=";")
    files = [("touchpoints", first), ("touchpoints", again), ("touchpoints", semicolons)]
    taken = []
    values_sql = sql.values_sql
    monkeypatch.setattr(sql, "values_sql", lambda plan: taken.append(plan.table) or values_sql(plan))
    inserted_first = everything(tmp_path / "first.duckdb", files)
    assert taken == ["touchpoints"] * 3
    monkeypatch.setattr(sql, "inserts_first", lambda plan: False)
    keys_first = everything(tmp_path / "keys.duckdb", files)
    monkeypatch.setattr(sql, "streams", lambda plan: False)
    staged = everything(tmp_path / "staged.duckdb", files)
    assert inserted_first == keys_first == staged

    comma_warnings, _, semicolon_warnings = (counts[-1] for counts in inserted_first["counts"])
    with first.open(newline="") as handle:
        scores = [row[-1].strip(" ") for row in list(csv.reader(handle))[1:]]
    dot = sum(1 for score in scores if re.fullmatch(r"[-+]?[1-9][0-9]{0,2}\.[0-9]{3}", score))
    assert any(f"engagement_score: {dot:,} rows have a value like" in w for w in comma_warnings)  # counted exactly
    assert any("engagement_score:" in w and "could mean" in w for w in semicolon_warnings)
    # "Email Nurture" is unnamed; "Paid-Search" is paid_search by its machine name: no warning
    assert any("Email Nurture" in w and "Paid-Search" not in w for w in comma_warnings)
    assert query(tmp_path / "first.duckdb", "select count(*) from touchpoints where channel = 'paid_search'") != [(0,)]
    reasons = [r for (r,) in query(tmp_path / "first.duckdb", "select reason from import_quarantine")]
    assert any("is not a finite number" in r for r in reasons)  # "nan" in a number column is bad, not empty
    assert any(r.startswith("contact_id is empty") for r in reasons)  # a NULL-like contact
    db = tmp_path / "first.duckdb"
    assert query(db, "select count(*) from touchpoints where isnan(engagement_score)") == [(0,)]
    nulls = "('null', 'n/a', '-', 'nan', 'none')"
    for column in ("touchpoint_id", "contact_id", "campaign_id", "channel", "touchpoint_type"):
        assert query(db, f"select count(*) from touchpoints where lower(trim({column})) in {nulls}") == [(0,)]
    assert query(db, "select count(*) from touchpoints where engagement_score is null") != [(0,)]  # " N/A " loads NULL


def test_a_latin1_byte_past_the_sample_in_a_column_the_values_pass_does_not_read(tmp_path):
    path = tmp_path / "late.csv"
    lines = [",".join(HEADER)] + [f"T{i},C{i},K1,email,visit,2024-01-01,0.5" for i in range(6000)]
    lines.append("T-last,C-last,K1,email,visité,2024-01-02,0.5")  # touchpoint_type: read by the insert only
    path.write_bytes(("\n".join(lines) + "\n").encode("latin-1"))
    assert describe_file(path).encoding == "utf-8"
    (result,) = import_files(tmp_path / "w.duckdb", "touchpoints", [path])
    assert (result.rows_read, result.rows_loaded) == (6001, 6001)
    assert query(tmp_path / "w.duckdb", "select touchpoint_type from touchpoints where touchpoint_id = 'T-last'") == [
        ("visité",)
    ]


def test_ambiguous_numbers_on_the_raw_cell_equal_those_on_the_text(tmp_path, monkeypatch):
    """The pattern tested on the raw cell (spaces allowed around it) counts what it counts on the trimmed
    text with NULL-like words removed; a NULL-like word that matches the pattern takes the text form."""
    files = [
        ("touchpoints", _messy(tmp_path / "a.csv", 1200, 31)),
        ("touchpoints", _messy(tmp_path / "b.csv", 600, 32, ";")),
    ]
    raw = [r.warnings for source, path in files for r in import_files(tmp_path / "raw.duckdb", source, [path])]
    monkeypatch.setattr(sql, "_ambiguous_cell", lambda plan, column, pattern: None)
    text = [r.warnings for source, path in files for r in import_files(tmp_path / "text.duckdb", source, [path])]
    assert raw == text and all(any("could mean" in w for w in warnings) for warnings in raw)
    monkeypatch.undo()

    mapping = tmp_path / "mine.json"
    document = json.loads((MAPPINGS_DIR / "platform.json").read_text())
    document["null_values"] = ["1.000"]
    mapping.write_text(json.dumps(document))
    path = tmp_path / "c.csv"
    path.write_text(
        ",".join(HEADER) + "\nT1,C1,K1,email,visit,2024-01-01,1.000\nT2,C1,K1,email,visit,2024-01-01, 2.500 \n"
    )
    plan = plan_import(source_for("touchpoints", mapping), describe_file(path))
    assert sql._ambiguous_cell(plan, "engagement_score", sql.AMBIGUOUS_DOT) is None
    (result,) = import_files(tmp_path / "c.duckdb", "touchpoints", [path], mapping)
    assert [w for w in result.warnings if "could mean" in w] == [
        'engagement_score: 1 row has a value like "2.500", which could mean 2.500 or 2500; read as 2.500 '
        "(docs/import.md). Write such numbers without a thousands separator to be sure."
    ]


def test_padded_cells_are_found_from_the_bytes(tmp_path):
    """A cell with a space at either end has a space beside a delimiter, a quote, a line end or an end of the
    file; a file with none of these holds no padded cell (its spaces are inside values)."""
    cases = {
        "a,b\n1,2\n": False,
        "a,b\n1 1,2 2\r\n": False,  # spaces inside values only
        "a,b\n1 ,2\n": True,
        "a,b\n1, 2\n": True,
        "a,b\n1,2 \n": True,
        "a,b\r\n1,2 \r\n": True,
        "a,b\n1,2 ": True,  # the end of the file
        " a,b\n1,2\n": True,
        'a,b\n"1 ",2\n': True,  # a quoted cell: the space meets the quote
        'a,b\n" 1",2\n': True,
        "a,b\n1,2\n 3,4\n": True,
        'a,b\n"x, y",2\n': True,  # a space beside a delimiter inside a quoted value: the full test, to be safe
    }
    for text, padded in cases.items():
        path = tmp_path / "f.csv"
        path.write_text(text, newline="")
        assert describe_file(path).padded is padded, text
    semicolons = tmp_path / "s.csv"
    semicolons.write_text("a;b\n1 ,2;3\n")  # a space beside a comma is no edge in a semicolon file
    assert describe_file(semicolons).padded is False
    semicolons.write_text("a;b\n1 ;2\n")
    assert describe_file(semicolons).padded is True


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet='ab ,;"\n\r\t', min_size=1, max_size=40), block=st.integers(1, 9))
def test_the_block_scan_finds_every_space_beside_an_edge(text, block):
    """Against the plain rule, byte by byte, with blocks of any size (a space and its edge in two blocks)."""
    data = text.encode()
    edges = {ord(","), ord('"')} | set(range(ord("\r") + 1))
    plain = any(
        b == ord(" ") and (i in (0, len(data) - 1) or data[i - 1] in edges or data[i + 1] in edges)
        for i, b in enumerate(data)
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(reading, "SCAN_BYTES", block)
        assert bool(reading._touching_space(np.frombuffer(data, dtype=np.uint8), ord(","))) is plain


def test_unpadded_files_agree_on_every_path_and_the_values_pass_runs_only_when_needed(tmp_path, monkeypatch):
    """Files without a padded cell take the short NULL-like form; the insert-first import counts the rows
    it read from DuckDB's profile of the insert, and reads the file again for the values to warn about only
    when a stored row may hold one or a row was not inserted. Every path gives the same tables, counts,
    warnings, quarantine, merges and labels."""
    first = _messy(tmp_path / "first.csv", 2500, 41, padded=False)
    again = _messy(tmp_path / "again.csv", 1500, 42, padded=False)  # repeats some of first's keys
    semicolons = _messy(tmp_path / "semicolons.csv", 800, 43, delimiter=";", padded=False)
    clean = tmp_path / "clean.csv"  # known channels, scores under 1, every row valid: no values pass
    clean.write_text(
        ",".join(HEADER)
        + "\n"
        + "".join(
            f"N{i},C{i % 7},K1,{['Email', 'webinar', 'Paid-Search'][i % 3]},visit,2024-02-0{1 + i % 9},0.{i}\n"
            for i in range(40)
        )
    )
    only_one = tmp_path / "only_one.csv"  # one stored row to warn about in each file
    valid_row = "N39,C4,K1,Email,visit,2024-02-04,0.39"
    only_one.write_text(  # new keys: all its rows are inserted
        clean.read_text().replace(valid_row, "N39,C4,K1,Email Nurture,visit,2024-02-04,1.234").replace("\nN", "\nM")
    )
    only_channel = tmp_path / "only_channel.csv"  # and an unnamed channel alone
    only_channel.write_text(only_one.read_text().replace(",1.234\n", ",0.39\n").replace("\nM", "\nL"))
    assert "Email Nurture" in only_channel.read_text() and "1.234" not in only_channel.read_text()
    files = [("touchpoints", f) for f in (first, again, semicolons, clean, only_one, only_channel)]
    assert not any(describe_file(path).padded for _, path in files)
    taken = []
    values_sql = sql.values_sql
    monkeypatch.setattr(sql, "values_sql", lambda plan: taken.append(plan.layout.name) or values_sql(plan))
    inserted_first = everything(tmp_path / "first.duckdb", files)
    expected = ["first.csv", "again.csv", "semicolons.csv", "only_one.csv", "only_channel.csv"]
    assert [Path(name).name for name in taken] == expected
    monkeypatch.setattr(pipeline, "_rows_scanned", lambda profile: None)  # the count of its own instead
    counted = everything(tmp_path / "counted.duckdb", files)
    monkeypatch.setattr(sql, "inserts_first", lambda plan: False)
    keys_first = everything(tmp_path / "keys.duckdb", files)
    monkeypatch.setattr(sql, "streams", lambda plan: False)
    staged = everything(tmp_path / "staged.duckdb", files)
    assert inserted_first == counted == keys_first == staged

    counts = inserted_first["counts"]
    assert [c[0] for c in counts] == [2500, 1500, 800, 40, 40, 40]  # rows read
    assert all(c[0] == sum(c[1:5]) for c in counts)  # read = loaded + updated + merged + quarantined
    assert counts[0][4] > 0 and counts[1][2] > 0  # quarantined rows; updated (repeated keys)
    assert counts[3][-1] == ()  # the clean file: nothing to warn about ("Paid-Search" is paid_search)
    assert [w.split(":")[0].split(" rows have")[0] for w in counts[4][-1]] == ["1", "engagement_score"]
    assert len(counts[5][-1]) == 1 and "Email Nurture" in counts[5][-1][0]
    with first.open(newline="") as handle:
        scores = [row[-1] for row in list(csv.reader(handle))[1:]]
    dot = sum(1 for score in scores if re.fullmatch(r"[-+]?[1-9][0-9]{0,2}\.[0-9]{3}", score))
    assert any(f"engagement_score: {dot:,} rows have a value like" in w for w in counts[0][-1])


def test_the_rows_read_come_from_the_insert_profile(tmp_path):
    """The file scan's row count in DuckDB's profile of the insert is every row read, the rejected ones too."""
    path = tmp_path / "t.csv"
    rows_ = [f"T{i},C{i},K1,email,visit,{'2024-01-01' if i % 4 else 'not a date'},0.5" for i in range(1000)]
    path.write_text(",".join(HEADER) + "\n" + "\n".join(rows_) + "\n")
    plan = plan_import(source_for("touchpoints"), describe_file(path))
    con = duckdb.connect()
    prepare(con)
    ((inserted,),), profile = profiled_rows(con, sql.insert_first_sql(plan, held=False), plan.bindings())
    assert (inserted, pipeline._rows_scanned(profile)) == (750, 1000)
    assert pipeline._rows_scanned({"operator": []}) is None
