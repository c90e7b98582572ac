"""One writer at a time, readers never in its way: the intent file, the writer's wait, the app's idle close.

A "reader" here is another process holding the warehouse open read-only until told to let go
(a line on its stdin), so the tests never depend on sleeps: the writer is seen waiting (its
``on_wait`` message), the reader is released, the writer proceeds.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import duckdb
import pytest

from analytics.loads import finish_load
from analytics.warehouse.connection import (
    Warehouse,
    WarehouseBusy,
    WarehouseError,
    connect,
    current_writer,
    intent_path,
    writing,
)
from analytics.warehouse.schema import create_schema
from tests.paths import FIXTURES, ROOT

READER = textwrap.dedent("""
    import sys, duckdb
    con = duckdb.connect(sys.argv[1], read_only=True)
    con.execute("select count(*) from _meta").fetchall()
    print("open", flush=True)
    sys.stdin.readline()  # hold the file until told
    con.close()
    print("closed", flush=True)
""")


@pytest.fixture
def db(tmp_path) -> Path:
    path = tmp_path / "warehouse.duckdb"
    con = connect(path)
    create_schema(con)
    finish_load(con, "test")
    con.close()
    return path


class Reader:
    """Another process that has the warehouse open read-only until :meth:`release`."""

    def __init__(self, path: Path):
        self.process = subprocess.Popen(
            [sys.executable, "-c", READER, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self.process.stdout.readline().strip() == "open"

    def release(self) -> None:
        self.process.stdin.write("\n")
        self.process.stdin.flush()
        assert self.process.stdout.readline().strip() == "closed"
        self.process.wait(timeout=30)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def test_a_writer_waits_for_a_reader_says_so_and_proceeds_when_it_lets_go(db):
    reader = Reader(db)
    told, done, errors = [], threading.Event(), []
    waiting = threading.Event()

    def write() -> None:
        try:
            with writing(db, wait=120, on_wait=lambda m: (told.append(m), waiting.set()), purpose="a test") as con:
                finish_load(con, "written")
        except Exception as exc:  # reported by the assertions below
            errors.append(exc)
        finally:
            done.set()

    try:
        thread = threading.Thread(target=write)
        thread.start()
        assert waiting.wait(60), "the writer never said it waits"
        assert not done.is_set()  # still waiting: the reader holds the file
        (message,) = told
        assert message.startswith(f"Waiting for process {reader.process.pid} (python") and "up to 120 s" in message
        assert current_writer(db).purpose == "a test"  # announced while it waits
        reader.release()
        assert done.wait(60) and not errors, errors
    finally:
        reader.kill()
    assert current_writer(db) is None
    con = connect(db, read_only=True)
    assert con.execute("select value from _meta where key = 'last_load'").fetchall() == [("written",)]
    con.close()


def test_a_writer_gives_up_after_its_wait_with_a_sentence(db):
    reader = Reader(db)
    try:
        started = time.monotonic()
        with pytest.raises(WarehouseError) as error:
            with writing(db, wait=0.3):
                pass
        assert time.monotonic() - started >= 0.3
        assert str(error.value).startswith(f"Gave up after 0.3 s: the warehouse {db} is still open in process")
        assert "pass a longer --wait" in str(error.value)
    finally:
        reader.kill()


def test_writers_queue_behind_each_other(db):
    order, second_waits = [], threading.Event()
    with writing(db, wait=5, purpose="the first import"):
        thread = threading.Thread(
            target=lambda: order.append(_write_after(db, lambda m: (order.append(m), second_waits.set())))
        )
        thread.start()
        assert second_waits.wait(30)
        order.append("first done")
    thread.join(30)
    assert order[0].startswith("Waiting for the first import, PID") and order[1:] == ["first done", "second done"]


def _write_after(db: Path, on_wait) -> str:
    with writing(db, wait=60, on_wait=on_wait, purpose="the second import"):
        return "second done"


def test_readers_answer_from_what_they_read_while_a_writer_is_announced(db):
    wh = Warehouse(db)
    before = wh.version()
    with writing(db, wait=5, purpose="an import of costs.csv") as con:
        with pytest.raises(WarehouseBusy, match=r"is being updated \(an import of costs\.csv, PID \d+ since"):
            with wh.reading():
                pass
        assert wh.version() == before  # what the app last read: its caches keep answering
        finish_load(con, "import")
        con.execute("checkpoint")
        assert wh.version() == before  # not readable before the writer has let go
    after = wh.version()
    assert after != before  # the committed write is seen at once
    assert wh.meta()["last_load"] == "import"


def test_the_app_holds_no_connection_when_idle_and_lets_a_writer_in_at_once(db):
    wh = Warehouse(db)
    assert wh.scalar("select count(*) from campaigns") == 0
    assert wh.holds_connection()  # it lingers a moment for the next query of the same page...
    started = time.monotonic()
    with writing(db, wait=30) as con:  # ...but a writer in the same process does not wait for the linger
        con.execute("insert into campaigns (campaign_id, name) values ('K', 'Kay')")
        finish_load(con, "test")
    assert time.monotonic() - started < 5
    assert not wh.holds_connection()
    assert wh.scalar("select count(*) from campaigns") == 1
    deadline = time.monotonic() + 30
    while wh.holds_connection() and time.monotonic() < deadline:  # closes by itself after its linger
        time.sleep(0.05)
    assert not wh.holds_connection()


def test_a_busy_first_read_is_busy_not_an_error(db):
    with writing(db, wait=5, purpose="a HubSpot sync"):
        wh = Warehouse(db)  # the app started while a sync writes: no error
        with pytest.raises(WarehouseBusy, match="a HubSpot sync"):
            wh.meta()
    assert wh.meta()["last_load"] == "test"


def test_the_intent_file_is_released_when_a_writer_dies(db):
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from analytics.warehouse.connection import writing\n"
            "with writing(sys.argv[1], purpose='a doomed job'):\n"
            "    print('writing', flush=True); sys.stdin.readline()",
            str(db),
        ],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "writing"
        assert current_writer(db).purpose == "a doomed job"
    finally:
        holder.kill()
        holder.wait()
    assert current_writer(db) is None and intent_path(db).exists()  # a crashed writer blocks no one
    with writing(db, wait=5):
        pass


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "analytics", *args], capture_output=True, text=True, timeout=300, cwd=ROOT
    )


def test_cli_import_waits_for_a_reader_and_gives_up_with_wait(db):
    reader = Reader(db)
    try:
        done = cli(
            "import", "hubspot-companies", str(FIXTURES / "hubspot_companies.csv"), "--db", str(db), "--wait", "0.5"
        )
        assert done.returncode == 2
        assert done.stderr.startswith(f"Waiting for process {reader.process.pid} (python) to let go of {db}")
        assert "error: Gave up after 0.5 s" in done.stderr and "Traceback" not in done.stderr
        # a missing file says so, without waiting for the warehouse
        missing = cli("import", "costs", str(db.parent / "nothing.csv"), "--db", str(db), "--wait", "30")
        assert missing.returncode == 2
        assert (
            missing.stderr.strip()
            == f"error: No file {db.parent / 'nothing.csv'}: nothing is there; check the path and the file name."
        )
        # released while the import waits: it goes through
        importer = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "analytics",
                "import",
                "hubspot-companies",
                str(FIXTURES / "hubspot_companies.csv"),
                "--db",
                str(db),
                "--wait",
                "120",
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert importer.stderr.readline().startswith("Waiting for process")
        reader.release()
        out, err = importer.communicate(timeout=300)
        assert importer.returncode == 0, err
        assert "read 2 rows -> loaded 2" in out
    finally:
        reader.kill()


def test_a_write_with_the_file_missing_creates_it_but_a_read_says_no_warehouse(tmp_path):
    with pytest.raises(WarehouseError, match="No warehouse at"):
        Warehouse(tmp_path / "none.duckdb")
    with writing(tmp_path / "new" / "w.duckdb", wait=1) as con:
        assert con.execute("select 1").fetchall() == [(1,)]
    assert duckdb.connect(str(tmp_path / "new" / "w.duckdb"), read_only=True).execute("select 1").fetchall()


def test_a_cursor_holds_the_connection_until_closed(db):
    wh = Warehouse(db)
    cursor = wh.cursor()
    assert cursor.execute("select count(*) from _meta").fetchall()[0][0] >= 1
    with pytest.raises(WarehouseError, match="Gave up after 0.2 s"):
        with writing(db, wait=0.2):  # the page's cursor is open: the writer has to wait
            pass
    cursor.close()
    cursor.close()  # twice is harmless
    with writing(db, wait=30):
        pass
