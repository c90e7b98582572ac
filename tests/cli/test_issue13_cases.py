"""Every case of issue 13's list of tracebacks, one by one: status 2 and the sentence that explains it;
and ``demo`` never overwrites what is not a demo warehouse (case 1)."""

from __future__ import annotations

import os
import shutil

import duckdb
import pytest

from analytics.cli import main


def _cli(capsys, *args) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main([str(a) for a in args])
    out, err = capsys.readouterr()
    return exit_info.value.code or 0, out, err


@pytest.fixture()
def files(tmp_path, monkeypatch):
    monkeypatch.setenv("REVLENS_OPS_URL", f"sqlite:///{tmp_path / 'ops.sqlite'}")
    monkeypatch.setenv("REVLENS_SECRETS", str(tmp_path / "none.toml"))
    (tmp_path / "folder").mkdir()
    (tmp_path / "notes.txt").write_text("my notes\n")
    (tmp_path / "x.csv").write_text("a,b\n1,2\n")
    (tmp_path / "task.csv").write_text("hubspot_id\n123\n")
    return tmp_path


CASES = [
    (["attribution", "--model", "linear", "--paths", "{t}/folder"], "is not a file"),
    (["attribution", "--model", "linear", "--db", "{db}", "--lookback-days", "99999999999"], "out of range"),
    (["actions", "list", "--limit", "99999999999999999999"], "out of range"),
    (["roi", "--db", "{db}", "--period", "0000"], "outside the years RevLens reports on"),
    (["roi", "--db", "{db}", "--period", "9999-Q4"], "outside the years RevLens reports on"),
    (["roi", "--db", "{db}", "--period", "2026-Q3", "--hourly-rate", "nan"], "not a finite number"),
    (["roi", "--db", "{db}", "--period", "2026-Q3", "--out", "{t}/missing/r.csv"], "does not exist"),
    (["roi", "--db", "{db}", "--period", "2026-Q3", "--out", "{t}/folder"], "is a folder"),
    (["roi", "--db", "{db}", "--period", "2026-Q3", "--out", "/dev/full"], "not a regular file"),
    (["roi", "--db", "{db}", "--period", "2026-Q3", "--out", "{t}/notes.txt"], "already exists"),
    (["demo", "--db", "{t}/new.duckdb", "--end-date", "0001-01-01"], "outside the demo's range"),
    (["demo", "--db", "{t}/new.duckdb", "--seed", "-1"], "out of range"),
    (
        [
            "actions",
            "enqueue",
            "--kind",
            "create_task",
            "--subject",
            "s",
            "--due-in-days",
            "-3",
            "--from-csv",
            "{t}/task.csv",
        ],
        "must be 0 or more, and at most 3650",
    ),
    (["roi", "--db", "{t}/x.csv", "--period", "2026-Q3"], "is not a DuckDB warehouse"),
    (["import", "hubspot-contacts", "{t}/x.csv", "--db", "{t}/w.duckdb", "--mapping", "{t}/folder"], "cannot be read"),
]


@pytest.mark.parametrize(("args", "message"), CASES, ids=[" ".join(a[:2]) + " " + a[-1][-12:] for a, _ in CASES])
def test_each_case_is_one_sentence_and_status_2(files, demo_db, capsys, args, message):
    code, out, err = _cli(capsys, *[a.format(t=files, db=demo_db) for a in args])
    assert code == 2, err
    assert message in err and "Traceback" not in err + out


@pytest.mark.parametrize(
    ("url", "message"),
    [("bogus://x", "names a database RevLens cannot use"), ("sqlite:///{t}/notes.txt", "not a usable database")],
)
def test_a_bogus_ops_store_url_is_one_sentence(files, capsys, monkeypatch, url, message):
    monkeypatch.setenv("REVLENS_OPS_URL", url.format(t=files))
    code, _, err = _cli(capsys, "actions", "list")
    assert code == 2 and message in err


def test_demo_refuses_what_is_not_a_demo_warehouse_and_rebuilds_a_demo(files, demo_db, capsys):
    notes = files / "notes.txt"
    code, _, err = _cli(capsys, "demo", "--db", notes, "--touchpoints", "2000")
    assert code == 2 and "is not a RevLens demo warehouse" in err and notes.read_text() == "my notes\n"

    imported = files / "imported.duckdb"
    shutil.copy(demo_db, imported)
    con = duckdb.connect(str(imported))
    con.execute("create table import_runs (run_id varchar)")
    con.execute("insert into import_runs values ('r1')")
    con.close()
    before = imported.read_bytes()
    code, _, err = _cli(capsys, "demo", "--db", imported, "--touchpoints", "2000")
    assert code == 2 and "--force" in err and imported.read_bytes() == before

    demo = files / "demo.duckdb"
    assert _cli(capsys, "demo", "--db", demo, "--touchpoints", "2000")[0] == 0
    assert _cli(capsys, "demo", "--db", demo, "--touchpoints", "2000", "--seed", "3")[0] == 0  # a demo is rebuilt
    assert _cli(capsys, "demo", "--db", notes, "--touchpoints", "2000", "--force")[0] == 0  # --force replaces
    assert duckdb.connect(str(notes), read_only=True).execute("select count(*) from touchpoints").fetchone()[0] == 2000

    fifo = files / "pipe"
    os.mkfifo(fifo)
    code, _, err = _cli(capsys, "demo", "--db", fifo, "--force")
    assert code == 2 and "not a regular file" in err
