"""Exports safe to open, file targets checked, user text escaped (issue 13, cases 1, 3 and 9)."""

from __future__ import annotations

import errno
import os

import polars as pl
import pytest

from analytics.core.cells import csv_text, escape_markdown, escape_markup, is_live, neutralize, safe_frame
from analytics.core.errors import RevLensError
from analytics.core.files import check_target, write_output

HOSTILE = ['=HYPERLINK("http://x","y")', "=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx", "ok"]


def test_neutralize_follows_owasp():
    assert [neutralize(text) for text in HOSTILE] == ["'" + text for text in HOSTILE[:-1]] + ["ok"]
    assert not any(is_live(neutralize(text)) for text in HOSTILE)
    assert neutralize("a=b") == "a=b" and neutralize("") == ""


def test_csv_text_neutralizes_text_and_keeps_numbers():
    frame = pl.DataFrame({"name": HOSTILE, "amount": [-5.5] * len(HOSTILE), "n": list(range(-4, 4))})
    safe = safe_frame(frame)
    assert safe["amount"].to_list() == [-5.5] * len(HOSTILE) and safe.schema == frame.schema
    back = pl.read_csv(csv_text(frame).encode(), infer_schema_length=0)
    assert not any(is_live(cell) for cell in back["name"])
    assert back["amount"].to_list() == ["-5.5"] * len(HOSTILE)  # numbers stay numbers (unquoted, unprefixed)
    assert csv_text(pl.DataFrame({"x": [1]})) == "x\n1\n"


def test_check_target_refuses_folders_devices_missing_folders_and_existing_files(tmp_path):
    with pytest.raises(RevLensError, match="is a folder"):
        check_target(tmp_path)
    with pytest.raises(RevLensError, match="not a regular file"):
        check_target("/dev/null", overwrite=True)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(RevLensError, match="not a regular file"):
        check_target(fifo, overwrite=True)
    with pytest.raises(RevLensError, match="does not exist"):
        check_target(tmp_path / "missing" / "x.csv")
    existing = tmp_path / "x.csv"
    existing.write_text("keep")
    with pytest.raises(RevLensError, match="--force"):
        write_output(existing, "new")
    assert existing.read_text() == "keep"
    write_output(existing, "new", overwrite=True)
    assert existing.read_text() == "new"


def test_a_full_device_leaves_the_old_file_and_says_so(tmp_path, monkeypatch):
    target = tmp_path / "r.csv"
    target.write_text("old")

    def full(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("pathlib.Path.write_text", full)
    with pytest.raises(RevLensError, match="is full"):
        write_output(target, "new", overwrite=True)
    monkeypatch.undo()
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["r.csv"]


def test_markdown_and_markup_escaping():
    assert escape_markdown("**bold** [x](http://e) :red[hot] <b> $x$ a_b\nnext") == (
        r"\*\*bold\*\* \[x\](http://e) :red\[hot\] \<b\> \$x\$ a\_b next"
    )
    assert escape_markdown('salesforce.json (0 bytes): no column "Id".') == 'salesforce.json (0 bytes): no column "Id".'
    from rich.console import Console

    console = Console(record=True, width=80)
    console.print(escape_markup("[/b] [link=http://evil]x[/link]"))
    assert "[/b] [link=http://evil]x[/link]" in console.export_text()


def test_safe_row_for_openpyxl_keeps_numbers_and_no_formula(tmp_path):
    import openpyxl

    from analytics.core.cells import safe_row

    book = openpyxl.Workbook()
    book.active.append(safe_row(["=1+1", "@x", -3.5, 7, None, "ok"]))
    book.save(tmp_path / "r.xlsx")
    cells = list(openpyxl.load_workbook(tmp_path / "r.xlsx").active.iter_rows(values_only=True))[0]
    assert cells == ("'=1+1", "'@x", -3.5, 7, None, "ok")


def test_non_finite_numbers_are_empty_csv_cells():
    # polars writes -inf for negative infinity, which a spreadsheet would run as a formula
    frame = pl.DataFrame({"name": ["a", "b", "c", "d"], "roi": [-1.5, float("-inf"), float("inf"), float("nan")]})
    assert csv_text(frame).splitlines() == ["name,roi", "a,-1.5", "b,", "c,", "d,"]
