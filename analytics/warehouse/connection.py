"""Opening the warehouse: one writer at a time, and readers that never keep it out for long.

DuckDB lets one process write a file, and a process that has the file open, even read-only,
keeps a writer of another process out. RevLens's protocol, so that an import, a CRM sync, a
refresh or a scheduled job can write while the app is open in any number of tabs:

- **Writers** go through :func:`writing`. A writer first announces itself in the *intent
  file* beside the warehouse (``<db>.writer``: an exclusive ``flock`` held for the whole
  write, with who and since when; it also queues writers behind each other), then opens the
  file read-write, retrying while readers still have it open, for up to ``wait`` seconds
  (default :func:`~analytics.core.settings.write_wait_seconds`). The first retry tells
  ``on_wait`` who holds the file; giving up is a :class:`WarehouseError` sentence.
- **Readers** (the app) hold no connection while idle. :class:`Warehouse` opens one read-only
  connection on demand, gives every query its own cursor, and closes the connection
  :data:`LINGER_S` after its last query, or at once when a writer announces itself. While a
  writer is announced or writing, a reader opens nothing: the app answers from its cache, and
  what is not cached raises :class:`WarehouseBusy` (the page shows a short "updating" notice).
  The version the app caches on is read again only when the file changes (its ``stat``), so an
  unchanged warehouse is not even opened to check it.

The measured costs are in ``docs/import.md`` ("Writing while the app is open").
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from analytics.core.errors import RevLensError
from analytics.core.settings import write_wait_seconds
from analytics.warehouse import runner
from analytics.warehouse.schema import missing_tables

LINGER_S = 0.5  # an idle reader connection is closed this long after its last query
POLL_S = 0.05  # how often a lingering reader looks for a writer's intent
READ_RETRY_S = 0.5  # how long a reader retries a file locked by a writer that did not announce itself
_BACKOFF = (0.02, 1.5, 0.25)  # first sleep, growth, longest sleep between a writer's retries

OnWait = Callable[[str], None]


class WarehouseError(RevLensError):
    """A problem with the warehouse file that the user can fix; the message says how."""


class WarehouseBusy(WarehouseError):
    """A writer has the warehouse: nothing new can be read until it commits (the app says "updating")."""


def intent_path(path: str | Path) -> Path:
    """The intent file of the warehouse at ``path``: a writer holds it locked while it writes."""
    path = Path(path)
    return path.with_name(path.name + ".writer")


@dataclass(frozen=True)
class WriterInfo:
    """Who is writing: the process, what it writes, since when (UTC)."""

    pid: int | None
    purpose: str
    since: str | None

    def describe(self) -> str:
        since = f" since {self.since[11:19]} UTC" if self.since and len(self.since) >= 19 else ""
        pid = f", PID {self.pid}" if self.pid else ""
        return f"{self.purpose}{pid}{since}"


def current_writer(path: str | Path) -> WriterInfo | None:
    """The writer announced for the warehouse at ``path``, or None (a test of its intent file's lock)."""
    try:
        handle = open(intent_path(path), "rb")
    except FileNotFoundError:
        return None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            try:
                info = json.loads(handle.read().decode("utf-8") or "{}")
            except (ValueError, UnicodeDecodeError):
                info = {}
            return WriterInfo(info.get("pid"), info.get("purpose") or "a write", info.get("since"))
        fcntl.flock(handle, fcntl.LOCK_UN)
        return None


def _holder(path: Path, exc: Exception) -> str:
    """Who holds the file, from DuckDB's lock message: "the RevLens app (PID 12)", "process 12 (duckdb)"."""
    if "different configuration" in str(exc):
        return "this process's own readers"
    found = re.search(r"PID (\d+)", str(exc))
    if not found:
        return "another process"
    pid = int(found.group(1))
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        command = ""
    if "streamlit" in command or "analytics app" in command or "app.py" in command:
        return f"the RevLens app (PID {pid})"
    writer = current_writer(path)
    if writer and writer.pid == pid:
        return writer.describe()
    name = Path(command.split(" ", 1)[0]).name if command else "unknown"
    return f"process {pid} ({name})"


def _is_busy(exc: Exception) -> bool:
    """A failure to open because another connection has the file (not a broken file)."""
    text = str(exc)
    return "Could not set lock" in text or "Conflicting lock" in text or "different configuration" in text


def _explain(path: Path, exc: Exception) -> WarehouseError:
    text = str(exc)
    if _is_busy(exc):
        writer = current_writer(path)
        who = writer.describe() if writer else _holder(path, exc)
        return WarehouseBusy(
            f"The warehouse {path} is being written by {who}; it can be read again as soon as that write commits."
        )
    if "not a valid DuckDB database" in text or "Unknown file format" in text or "invalid" in text.lower():
        return WarehouseError(
            f"{path} is not a DuckDB warehouse; point REVLENS_DB at a .duckdb file, "
            "or build one with `python -m analytics demo --db PATH`."
        )
    return WarehouseError(f"Cannot open the warehouse {path}: {text.splitlines()[0]}")


def _missing(path: Path) -> WarehouseError:
    return WarehouseError(
        f"No warehouse at {path}; build the demo with `python -m analytics demo --db {path}` "
        "or set REVLENS_DB to an existing .duckdb file."
    )


def connect(path: str | Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the warehouse once, without waiting; a user-fixable failure becomes a :class:`WarehouseError`.

    Writers that may meet the app use :func:`writing` instead; this is the bare open
    (tests, benchmarks, and readers that report a busy file at once).
    """
    path = Path(path)
    if read_only and not path.exists():
        raise _missing(path)
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        return duckdb.connect(str(path), read_only=read_only)
    except duckdb.Error as exc:
        raise _explain(path, exc) from None


def _sleeps() -> Iterator[float]:
    delay, growth, longest = _BACKOFF
    while True:
        yield delay
        delay = min(delay * growth, longest)


@contextlib.contextmanager
def _intent(path: Path, purpose: str, deadline: float, wait: float, on_wait: OnWait | None) -> Iterator[None]:
    """Hold the intent file of ``path`` (exclusive), waiting for another writer until ``deadline``."""
    handle = open(intent_path(path), "a+b")
    try:
        told = False
        for sleep in _sleeps():
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                other = current_writer(path)
                who = other.describe() if other else "another writer"
                if time.monotonic() >= deadline:
                    raise WarehouseError(
                        f"Gave up after {wait:g} s: {who} is still writing to {path}; "
                        "try again when it has finished, or pass a longer --wait."
                    ) from None
                if on_wait and not told:
                    on_wait(f"Waiting for {who} to finish writing to {path} (up to {wait:g} s; --wait to change)…")
                    told = True
                time.sleep(sleep)
        handle.seek(0)
        handle.truncate()
        since = datetime.now(UTC).isoformat(timespec="seconds")
        handle.write(json.dumps({"pid": os.getpid(), "purpose": purpose, "since": since}).encode())
        handle.flush()
        yield
    finally:
        handle.close()  # releases the lock


@contextlib.contextmanager
def announced(
    path: str | Path, purpose: str, wait: float | None = None, on_wait: OnWait | None = None
) -> Iterator[None]:
    """Hold the warehouse's intent file without opening the warehouse: for a writer that replaces the
    file whole (the demo build renames a new file over it), so that it never lands in another write."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wait = write_wait_seconds() if wait is None else max(float(wait), 0.0)
    with _intent(path, purpose, time.monotonic() + wait, wait, on_wait):
        yield


@contextlib.contextmanager
def writing(
    path: str | Path,
    wait: float | None = None,
    on_wait: OnWait | None = None,
    purpose: str = "a write",
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-write connection to the warehouse at ``path`` (created when missing), closed on exit.

    Announces the write (``purpose``, e.g. "an import of costs.csv"), so readers stop opening
    the file, then retries the open while readers (the app's pages, another process) still
    have it, for up to ``wait`` seconds (default: ``REVLENS_WRITE_WAIT`` or 60). ``on_wait``
    is told once, in a sentence, when the writer has to wait.

    Raises
    ------
    WarehouseError
        The file is not a DuckDB warehouse, or is still held after ``wait`` seconds.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wait = write_wait_seconds() if wait is None else max(float(wait), 0.0)
    started = time.monotonic()
    deadline = started + wait
    with _intent(path, purpose, deadline, wait, on_wait):
        told = False
        for sleep in _sleeps():
            try:
                con = duckdb.connect(str(path))
                break
            except duckdb.Error as exc:
                if not _is_busy(exc):
                    raise _explain(path, exc) from None
                who = _holder(path, exc)
                if time.monotonic() >= deadline:
                    raise WarehouseError(
                        f"Gave up after {wait:g} s: the warehouse {path} is still open in {who}; "
                        "a page may still be computing: try again, or pass a longer --wait."
                    ) from None
                if on_wait and not told:
                    on_wait(f"Waiting for {who} to let go of {path} (up to {wait:g} s; --wait to change)…")
                    told = True
                time.sleep(sleep)
        try:
            yield con
        finally:
            con.close()


class _LeasedCursor:
    """A DuckDB cursor of :meth:`Warehouse.cursor`: its ``close`` also gives the shared connection back."""

    def __init__(self, cursor: duckdb.DuckDBPyConnection, lease):
        self._cursor, self._lease = cursor, lease

    def __getattr__(self, name: str):
        return getattr(self._cursor, name)

    def close(self) -> None:
        if self._lease is not None:
            lease, self._lease = self._lease, None
            lease.__exit__(None, None, None)


class Warehouse:
    """The app's read-only warehouse: no connection while idle, one cursor per query, never in a writer's way.

    Parameters
    ----------
    path : path of the DuckDB file.

    Raises
    ------
    WarehouseError
        When the file is missing, not DuckDB, or lacks tables. A file that a writer has is not an
        error: :meth:`version` and :meth:`meta` answer what they last read, and :meth:`reading`
        raises :class:`WarehouseBusy` until the write commits.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if not self.path.exists():
            raise _missing(self.path)
        self._con: duckdb.DuckDBPyConnection | None = None
        self._users = 0
        self._last_used = 0.0
        self._state = threading.Condition()
        self._memo: tuple[tuple, dict[str, str]] | None = None
        self.opened = 0  # connections opened so far (the benchmark and the tests read it)
        with contextlib.suppress(WarehouseBusy):
            self.meta()

    # -- the file ---------------------------------------------------------------------------

    def _token(self) -> tuple:
        """What changes when a write commits: the file's and its WAL's inode, size and mtime."""
        token = []
        for file in (self.path, self.path.with_name(self.path.name + ".wal")):
            try:
                stat = file.stat()
                token.append((stat.st_ino, stat.st_size, stat.st_mtime_ns))
            except FileNotFoundError:
                token.append(None)
        return tuple(token)

    def writer(self) -> WriterInfo | None:
        """The announced writer, if one is writing now."""
        return current_writer(self.path)

    def meta(self) -> dict[str, str]:
        """``_meta`` (version, loaded_at, last_load), read again only when the file has changed.

        While a writer has the file, the last values read (the data the app still shows);
        raises :class:`WarehouseBusy` only when nothing was read yet.
        """
        token = self._token()
        memo = self._memo
        if memo is not None and memo[0] == token:
            return memo[1]
        if not self.path.exists():
            raise _missing(self.path)
        try:
            with self.reading() as cur:
                missing = missing_tables(cur)
                if missing:
                    raise WarehouseError(
                        f"The warehouse {self.path} lacks the tables {', '.join(missing)}; "
                        "rebuild it with `python -m analytics demo --db PATH` or import your exports "
                        "with `python -m analytics import`."
                    )
                meta = dict(runner.rows(cur, "select key, value from _meta"))
        except WarehouseBusy:
            if memo is not None:
                return memo[1]
            raise
        self._memo = (token, meta)
        return meta

    def version(self) -> str:
        return self.meta().get("version") or "unversioned"

    # -- reading ----------------------------------------------------------------------------

    def _open(self) -> duckdb.DuckDBPyConnection:
        """Open read-only, retrying briefly while a writer that did not announce itself has the file."""
        deadline = time.monotonic() + READ_RETRY_S
        for sleep in _sleeps():
            writer = current_writer(self.path)
            if writer:
                raise WarehouseBusy(
                    f"The warehouse {self.path} is being updated ({writer.describe()}); "
                    "this shows as soon as the write commits."
                )
            try:
                con = duckdb.connect(str(self.path), read_only=True)
                self.opened += 1
                return con
            except duckdb.Error as exc:
                if not _is_busy(exc) or time.monotonic() >= deadline:
                    if not self.path.exists():
                        raise _missing(self.path) from None
                    raise _explain(self.path, exc) from None
                time.sleep(sleep)
        raise AssertionError("unreachable")

    @contextlib.contextmanager
    def reading(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor of the shared read-only connection (opened on demand), closed on exit.

        Raises :class:`WarehouseBusy` while a writer is announced: joining the open connection
        then would keep the writer waiting.
        """
        with self._state:
            writer = current_writer(self.path)
            if writer:
                raise WarehouseBusy(
                    f"The warehouse {self.path} is being updated ({writer.describe()}); "
                    "this shows as soon as the write commits."
                )
            if self._con is None:
                self._con = self._open()
                threading.Thread(target=self._close_when_idle, name="revlens-warehouse-closer", daemon=True).start()
            self._users += 1
            cursor = self._con.cursor()  # creating a cursor touches the shared connection: under the lock
        try:
            yield cursor
        finally:
            cursor.close()
            with self._state:
                self._users -= 1
                self._last_used = time.monotonic()
                self._state.notify_all()

    def _close_when_idle(self) -> None:
        """Close the connection once idle for :data:`LINGER_S`, or as soon as it is idle and a writer waits."""
        with self._state:
            while self._con is not None:
                if self._users == 0 and (
                    time.monotonic() - self._last_used >= LINGER_S or current_writer(self.path) is not None
                ):
                    self._con.close()
                    self._con = None
                    return
                self._state.wait(POLL_S)

    def cursor(self) -> _LeasedCursor:
        """A cursor to close when done (``try ... finally: cursor.close()``); :meth:`reading` is the same as a
        ``with`` block. Until it is closed, the app's connection stays open (a writer waits for it)."""
        lease = self.reading()
        return _LeasedCursor(lease.__enter__(), lease)

    def holds_connection(self) -> bool:
        return self._con is not None

    def query(self, sql: str, params: runner.Params = None):
        """Run one query on its own cursor and return a polars frame."""
        with self.reading() as cur:
            return runner.run(cur, sql, params)

    def scalar(self, sql: str, params: runner.Params = None):
        with self.reading() as cur:
            return runner.scalar(cur, sql, params)

    def close(self) -> None:
        """Close the connection now (it must be idle)."""
        with self._state:
            if self._con is not None and self._users == 0:
                self._con.close()
                self._con = None
                self._state.notify_all()
