"""Reading real-world export files as raw, all-text rows.

DuckDB's readers do the work (streaming, parallel, spilling to disk); this module
only decides how to call them: the format from the file extension, and for CSV the
encoding, the delimiter (the most frequent of ``, ; tab |`` in the header line) and the
header names. XLSX sheets are converted to a CSV first (openpyxl, streaming).

Encodings (:func:`_encoding`, :func:`_legacy_encoding`): UTF-8 with or without BOM and
Latin-1 are read by DuckDB directly. UTF-16 in either byte order, with or without BOM (told
by the BOM, else by where the zero bytes of ASCII text fall), and Windows-1252 (tried before
Latin-1 whenever the file has a byte in 0x80-0x9F, where the two differ, and every such byte
is defined in Windows-1252: Excel's ’ “ ” – € are there) are transcoded to UTF-8 first
(:func:`_transcode`, streaming), as are files with CR-only line ends ("CSV (Macintosh)") and
files with a byte-order mark past the start (two exports pasted together): the copy has
``\n`` line ends and no BOM anywhere.

:func:`raw_sql` reads the columns ``c0 .. cN`` (file order, all text) with the
record number ``_rec``; a record's text line is ``first_line + _rec`` plus the line
breaks inside quoted values before it (:func:`line_breaks_sql`).

Every message names the file as the user gave it (:attr:`FileLayout.name`: the uploaded
file's name in the app), never a temporary copy. A file without a header (0 bytes, or blank)
is refused here; one with a header and no rows, once it has been read (the pipeline).

The quarantine is read the same way (:func:`quarantine_layout`): its kept raw values, under
the headers of the file they came from, are the columns ``c0 .. cN`` of a recheck.
"""

from __future__ import annotations

import csv
import io
import mmap
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, time
from pathlib import Path

import duckdb

from analytics.core.errors import RevLensError

CSV_SUFFIXES = {".csv", ".txt", ".tsv"}
JSON_SUFFIXES = {".jsonl", ".ndjson", ".json"}
PARQUET_SUFFIXES = {".parquet", ".pq"}
XLSX_SUFFIXES = {".xlsx", ".xlsm"}
DELIMITERS = (",", ";", "\t", "|")
SAMPLE_BYTES = 1 << 16


class FileReadError(RevLensError):
    """The file cannot be read at all; nothing was imported."""


@dataclass(frozen=True)
class FileLayout:
    """How to read one file: its format, headers and CSV dialect."""

    path: Path
    kind: str  # csv | json | parquet | quarantine
    headers: tuple[str, ...]
    encoding: str = "utf-8"
    delimiter: str = ","
    parallel: bool = True  # DuckDB's parallel CSV reader
    name: str = ""  # the file as the user named it (messages); default: the path's name
    workdir: Path | None = None  # where a transcoded copy may be written (a late Windows-1252 byte)
    padded: bool = True  # a cell may start or end with a space (:func:`may_hold_padded_cells`; CSV only)

    def __post_init__(self):
        if not self.name:
            object.__setattr__(self, "name", self.path.name)

    @property
    def first_line(self) -> int:
        """The line of the first record: 2 below a CSV header, 1 in JSON lines and Parquet (row 1);
        a recheck's ``_rec`` is the line itself."""
        return {"csv": 2, "quarantine": 0}.get(self.kind, 1)

    def bindings(self) -> dict[str, object]:
        """The values :func:`raw_sql` binds: the file's path, or the JSON paths of the kept raw values
        (a recheck), or both (JSON lines: each key is read from each line's object)."""
        if self.kind == "quarantine":
            return {f"qh{i}": _json_key(h) for i, h in enumerate(self.headers)}
        if self.kind == "json":
            return {"import_path": str(self.path), **{f"jh{i}": _json_key(h) for i, h in enumerate(self.headers)}}
        return {"import_path": str(self.path)}

    @property
    def staged_columns(self) -> tuple[str, ...]:
        return tuple(f"c{i}" for i in range(len(self.headers)))


def _json_key(header: str) -> str:
    """The JSONPath of one key of a JSON object (quoted: a header may hold dots, brackets or spaces)."""
    return '$."' + header.replace("\\", "\\\\").replace('"', '\\"') + '"'


def quarantine_layout(headers: tuple[str, ...], name: str) -> FileLayout:
    """The layout of a recheck: the quarantined rows of one file (``recheck_rows``: ``line``, ``raw_values``)."""
    return FileLayout(Path(name), "quarantine", tuple(headers), name=name)


BOM = b"\xef\xbb\xbf"
CP1252_UNDEFINED = frozenset(b"\x81\x8d\x8f\x90\x9d")  # bytes Windows-1252 leaves undefined
CHUNK_BYTES = 1 << 20


def _encoding(sample: bytes) -> tuple[str, int]:
    """(encoding, BOM length) of a file from its first bytes: ``utf-8``, ``utf-16-le``/``utf-16-be``
    (with a BOM, or ASCII text with a zero byte beside every character) or ``latin-1`` (not UTF-8:
    :func:`_legacy_encoding` then tells Windows-1252 from Latin-1 over the whole file)."""
    if sample.startswith(BOM):
        return "utf-8", 3
    if sample.startswith(b"\xff\xfe"):
        return "utf-16-le", 2
    if sample.startswith(b"\xfe\xff"):
        return "utf-16-be", 2
    pairs = sample[: len(sample) // 2 * 2]
    if len(pairs) >= 4:
        even, odd = pairs[0::2], pairs[1::2]
        if odd.count(0) > 0.4 * len(odd) and even.count(0) < 0.1 * len(even):
            return "utf-16-le", 0
        if even.count(0) > 0.4 * len(even) and odd.count(0) < 0.1 * len(odd):
            return "utf-16-be", 0
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        # a multi-byte character cut at the end of the sample is still UTF-8
        if exc.start < len(sample) - 3:
            return "latin-1", 0
    return "utf-8", 0


def _legacy_encoding(path: Path) -> str:
    """``cp1252`` when the file has a byte in 0x80-0x9F and all of them are defined in Windows-1252
    (curly quotes, dashes, €: Excel's "CSV" on Windows), else ``latin-1`` (the two agree elsewhere)."""
    seen: set[int] = set()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            seen.update(b for b in set(chunk) if 0x80 <= b <= 0x9F)
    return "cp1252" if seen and not seen & CP1252_UNDEFINED else "latin-1"


def _has_inner_bom(path: Path) -> bool:
    """Whether a UTF-8 byte-order mark appears past the start of the file.

    The file is mapped, not read: ``find`` of the BOM's first byte (0xEF, rare in text: it leads only the
    characters U+F000-U+FFFF) runs at memory speed, and only where one is found are the next two bytes
    compared (a 10-million-row CSV: 0.12 CPU-s, against 0.68 for reading it in pieces and searching them).
    """
    if path.stat().st_size <= len(BOM):
        return False
    with path.open("rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
        start = len(BOM) if data[: len(BOM)] == BOM else 1
        found = data.find(BOM[:1], start)
        for _ in range(10_000):
            if found < 0:
                return False
            if data[found : found + len(BOM)] == BOM:
                return True
            found = data.find(BOM[:1], found + 1)
        return data.find(BOM, found) >= 0  # text full of U+F000-U+FFFF (fullwidth forms): search the BOM itself


SPACE, QUOTE, LAST_CONTROL = ord(" "), ord('"'), ord("\r")
SCAN_BYTES = 1 << 17  # a block and its masks stay in the CPU's cache


def may_hold_padded_cells(path: Path, delimiter: str) -> bool:
    """Whether a cell of the CSV file ``path`` may start or end with a space: False only when no space in the
    file touches a delimiter, a quote, a line end (or another control byte) or either end of the file.

    A padded cell has such a space (unquoted, the space meets the delimiter or the line end; quoted, it meets
    the quote), so False is a proof: every cell's text is then its own trimmed text, and the import skips the
    per-cell padding test (a prefix and a suffix test per cell: 1.4 CPU-s of a 10-million-row touchpoint
    file). True may also mean a space inside a quoted value beside its delimiter ("a, b"): the full test runs.
    The file is mapped and compared in blocks (0.3 CPU-s for 670 MB).
    """
    import numpy as np  # not at import: the app's first page reads no file

    size = path.stat().st_size
    if size == 0:
        return False
    with path.open("rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
        return _touching_space(np.frombuffer(data, dtype=np.uint8), ord(delimiter))


def _touching_space(data, delimiter: int) -> bool:
    """Whether a space of ``data`` (a numpy array of bytes) is its first or last byte or has an edge byte
    (``delimiter``, a quote or a byte up to CR) beside it. Each block is read with one byte of its
    neighbours on either side."""
    import numpy as np

    if data[0] == SPACE or data[-1] == SPACE:
        return True
    spaces, edges, scratch = (np.empty(SCAN_BYTES + 2, dtype=bool) for _ in range(3))
    for start in range(0, data.size, SCAN_BYTES):
        block = data[max(start - 1, 0) : start + SCAN_BYTES + 1]
        n = block.size
        space, edge, other = spaces[:n], edges[:n], scratch[:n]
        np.equal(block, SPACE, out=space)
        np.less_equal(block, LAST_CONTROL, out=edge)
        np.equal(block, delimiter, out=other)
        edge |= other
        np.equal(block, QUOTE, out=other)
        edge |= other
        beside = other[: max(n - 2, 0)]
        np.logical_or(edge[:-2], edge[2:], out=beside)  # an edge before or after each inner byte
        beside &= space[1:-1]
        if beside.any():
            return True
    return False


def _transcode(path: Path, codec: str, workdir: Path, cr_only: bool) -> Path:
    """A UTF-8 copy of ``path`` read as ``codec``: ``\n`` line ends (from CR-only ones too) and no BOM
    anywhere; streamed in 1 MiB pieces."""
    workdir.mkdir(parents=True, exist_ok=True)
    target = workdir / f"{path.stem}.utf8{path.suffix or '.csv'}"
    # newline=None turns lone CRs into line ends; otherwise line ends are kept as written
    with (
        path.open("r", encoding=codec, errors="strict", newline=None if cr_only else "") as source,
        target.open("w", encoding="utf-8", newline="") as out,
    ):
        while text := source.read(CHUNK_BYTES):
            out.write(text.replace("\ufeff", ""))
    return target


def _python_codec(encoding: str) -> str:
    return {"utf-8": "utf-8-sig", "latin-1": "latin-1"}.get(encoding, encoding)


def _first_record(text: str) -> tuple[str, ...]:
    first_line = text.split("\n", 1)[0]
    delimiter = max(DELIMITERS, key=first_line.count)
    reader = csv.reader(io.StringIO(text), delimiter=delimiter, quotechar='"')
    return delimiter, tuple(next(reader, []))


def _xlsx_to_csv(path: Path, workdir: Path, name: str) -> Path:
    """Write the first sheet of a workbook as UTF-8 CSV; dates as ISO text."""
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a broken workbook
        reason = str(exc).replace(str(path), name)
        raise FileReadError(
            f"{name} is not a readable Excel workbook ({reason}); save it again as .xlsx or CSV."
        ) from None
    target = workdir / (path.stem + ".csv")
    with target.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        for row in book.worksheets[0].iter_rows(values_only=True):
            if row is None or all(v is None for v in row):
                continue
            writer.writerow(
                [
                    ""
                    if v is None
                    else v.isoformat(sep=" ")
                    if isinstance(v, datetime)
                    else v.isoformat()
                    if isinstance(v, (date, time))
                    else v
                    for v in row
                ]
            )
    book.close()
    return target


def _sample(path: Path) -> bytes:
    with path.open("rb") as handle:
        return handle.read(SAMPLE_BYTES)


def _no_header(name: str, size: int) -> FileReadError:
    what = "is empty (0 bytes)" if size == 0 else "holds no header row and no rows (only blank lines)"
    return FileReadError(f"{name} {what}; export it again with its header and rows, then import it.")


def describe_file(path: str | Path, workdir: Path | None = None, name: str | None = None) -> FileLayout:
    """Work out how to read ``path``; raises :class:`FileReadError` when it cannot be read.

    ``name`` is how messages call the file (default: the path given); a file without a
    header (0 bytes or blank) is refused.
    """
    path = Path(path)
    name = name or str(path)
    if not path.is_file():
        raise FileReadError(f"No file {name}: nothing is there; check the path and the file name.")
    suffix = path.suffix.lower()
    if suffix in XLSX_SUFFIXES:
        path = _xlsx_to_csv(path, workdir or Path(tempfile.mkdtemp(prefix="revlens-import-")), name)
        suffix = ".csv"
    if suffix in PARQUET_SUFFIXES or suffix in JSON_SUFFIXES:
        kind = "parquet" if suffix in PARQUET_SUFFIXES else "json"
        size = path.stat().st_size
        if size == 0 or (kind == "json" and not _sample(path).strip()):
            raise _no_header(name, size)
        # JSON: the keys of every object in the file, in the order they first appear (a key that first
        # shows up on the last line is a column too); Parquet: its schema
        statement = JSON_KEYS_SQL if kind == "json" else "describe select * from read_parquet(?)"
        try:
            rows = duckdb.connect().execute(statement, [str(path)]).fetchall()
        except duckdb.Error as exc:
            first = str(exc).splitlines()[0].replace(str(path), name)
            raise FileReadError(
                f"{name} is not readable as {kind} ({first}); export it again or save it as CSV."
            ) from None
        return FileLayout(path, kind, tuple(r[0] for r in rows), name=name)
    if suffix not in CSV_SUFFIXES:
        raise FileReadError(
            f"{name} has the extension {suffix or '(none)'}; import .csv, .xlsx, .parquet or .jsonl files."
        )
    with path.open("rb") as handle:
        sample = handle.read(SAMPLE_BYTES)
    encoding, _ = _encoding(sample)
    if encoding == "latin-1":
        encoding = _legacy_encoding(path)
    # CR line ends ("CSV (Macintosh)"): more lone CRs than LFs (a LF may sit inside a quoted value)
    flat = sample.replace(b"\x00", b"")
    cr_only = flat.count(b"\r") - flat.count(b"\r\n") > flat.count(b"\n")
    if encoding in ("utf-16-le", "utf-16-be", "cp1252") or cr_only or (encoding == "utf-8" and _has_inner_bom(path)):
        codec = "utf-8-sig" if encoding == "utf-8" else encoding  # a UTF-16 BOM decodes to U+FEFF: dropped
        workdir = workdir or Path(tempfile.mkdtemp(prefix="revlens-import-"))
        try:
            path = _transcode(path, codec, workdir, cr_only)
        except UnicodeDecodeError as exc:
            raise FileReadError(
                f"{name} is not valid {encoding.upper()} text (byte {exc.start} of a block cannot be read); "
                "save it as UTF-8 CSV and import again."
            ) from None
        with path.open("rb") as handle:
            sample = handle.read(SAMPLE_BYTES)
        encoding = "utf-8"
    text = sample.decode(_python_codec(encoding), errors="replace")
    if not text.strip():
        raise _no_header(name, path.stat().st_size)
    try:
        delimiter, headers = _first_record(text)
    except csv.Error as exc:
        raise FileReadError(f"The header row of {name} cannot be read as CSV ({exc}); save it as UTF-8 CSV.") from None
    if not any(h.strip() for h in headers):
        raise FileReadError(f"The first line of {name} is not a header row; put the column names on line 1.")
    headers = tuple(h.replace("\ufeff", "").strip() for h in headers)
    padded = may_hold_padded_cells(path, delimiter)
    return FileLayout(path, "csv", headers, encoding, delimiter, name=name, workdir=workdir, padded=padded)


JSON_KEYS_SQL = """
    select key
    from (select unnest(json_keys(json)) as key, row_number() over () as seen from read_json_objects(?))
    group by key
    order by min(seen)
"""


def raw_sql(layout: FileLayout, limit: int | None = None, numbered: bool = True) -> str:
    """A query of the file as text columns ``c0 .. cN`` with ``_rec``, the 0-based record number.

    The file path is the bound parameter ``$import_path``; the other reader options
    come from fixed lists (encoding, delimiter). ``row_number() over ()`` runs as
    DuckDB's streaming window over the order-preserving scan, so ``_rec`` follows the
    file and costs no materialization; statements that need no line number leave it
    out (``numbered=False``), which keeps the scan fully parallel.
    """
    number = "row_number() over () - 1" if numbered else "null::bigint"
    if layout.kind == "quarantine":
        select = ", ".join(f"json_extract_string(raw_values, $qh{i}) as c{i}" for i in range(len(layout.headers)))
        return f"select line as _rec, {select} from recheck_rows" + (
            f" limit {int(limit)}" if limit is not None else ""
        )
    if layout.kind == "json":
        # each line's object, each key as text: a string without its JSON quotes, a nested object or
        # list as its JSON text, a missing key as NULL (no schema to infer, so no row fails on its shape)
        select = ", ".join(f"json_extract_string(json, $jh{i}) as c{i}" for i in range(len(layout.headers)))
        sql = f"select {number} as _rec, {select} from read_json_objects($import_path)"
        return sql + (f" limit {int(limit)}" if limit is not None else "")
    if layout.kind != "csv":
        select = ", ".join(f"#{i + 1}::varchar as {name}" for i, name in enumerate(layout.staged_columns))
        sql = f"select {number} as _rec, {select} from read_parquet($import_path)"
        return sql + (f" limit {int(limit)}" if limit is not None else "")
    assert layout.encoding in ("utf-8", "latin-1") and layout.delimiter in DELIMITERS
    columns = "{" + ", ".join(f"'{name}': 'VARCHAR'" for name in layout.staged_columns) + "}"
    delimiter = "\t" if layout.delimiter == "\t" else layout.delimiter
    return (
        f"select {number} as _rec, * from read_csv($import_path, header = true, "
        f"auto_detect = false, columns = {columns}, delim = '{delimiter}', quote = '\"', escape = '\"', "
        f"encoding = '{layout.encoding}', null_padding = true, parallel = {str(layout.parallel).lower()})"
        + (f" limit {int(limit)}" if limit is not None else "")
    )


def line_breaks_sql(layout: FileLayout) -> str:
    """A query of the records that hold line breaks inside quoted values: ``_rec, breaks``.

    A record's text line is ``first_line + _rec`` plus the breaks of the records before
    it; most files have none, so the correction reads only this small result. A recheck's
    ``_rec`` is the line already.
    """
    if layout.kind == "quarantine":
        return "select null::bigint as _rec, 0 as breaks where false"
    counts = (
        " + ".join(f"coalesce(length({c}) - length(replace({c}, chr(10), '')), 0)" for c in layout.staged_columns)
        or "0"
    )
    return f"select _rec, {counts} as breaks from ({raw_sql(layout)}) r where {counts} > 0"


def _explain_csv_error(layout: FileLayout, exc: duckdb.Error) -> FileReadError:
    text = str(exc).replace(str(layout.path), layout.name)
    first = text.splitlines()[0]
    if "Expected Number of Columns" in text:
        line = first.split("Line:")[-1].strip() if "Line:" in first else "?"
        return FileReadError(
            f"{layout.name} line {line} has more fields than the header's {len(layout.headers)}; "
            f"put quotes around values that contain '{layout.delimiter}' and import again."
        )
    if "unicode" in text.lower():
        return FileReadError(f"{layout.name} mixes text encodings ({first}); save it as UTF-8 and import again.")
    return FileReadError(f"{layout.name} cannot be read as CSV ({first}); check that it is a delimited text export.")


def adapted_layout(layout: FileLayout, exc: duckdb.Error) -> FileLayout | None:
    """The layout that reads the file past the reader error ``exc``, or None when no change of layout helps.

    DuckDB pads short rows only in its serial reader when values contain line breaks, and a Latin-1
    character may first appear after the sampled bytes (Windows-1252, transcoded, where it fits).
    """
    text = str(exc)
    if "quoted new lines" in text and layout.parallel:
        return replace(layout, parallel=False)
    if "unicode" in text.lower() and layout.encoding == "utf-8":
        # a non-UTF-8 byte past the sample: Windows-1252 (transcoded) where it fits, else Latin-1
        legacy = _legacy_encoding(layout.path)
        if legacy == "cp1252" and layout.workdir is not None:
            try:
                copy = _transcode(layout.path, "cp1252", layout.workdir, cr_only=False)
            except UnicodeDecodeError:
                copy = None
            return replace(layout, path=copy) if copy else replace(layout, encoding="latin-1")
        return replace(layout, encoding="latin-1")
    return None


def with_read_retries(layout: FileLayout, run: Callable[[FileLayout], None]) -> FileLayout:
    """Call ``run(layout)`` (a statement that reads the file), adapting the reader on the way
    (:func:`adapted_layout`); returns the layout that read it, for the statements that read the file again."""
    last_error = None
    for _ in range(4):
        try:
            run(layout)
            return layout
        except duckdb.Error as exc:
            last_error, text = exc, str(exc)
            if isinstance(exc, duckdb.OutOfMemoryException) or "out of memory" in text.lower():
                raise  # not a property of the file: the import reports it as out of memory
            adapted = adapted_layout(layout, exc)
            if adapted is None:
                raise read_error(layout, exc) from None
            layout = adapted
    raise _explain_csv_error(layout, last_error)


def read_error(layout: FileLayout, exc: duckdb.Error) -> FileReadError:
    """The sentence for the reader error ``exc`` that no change of layout helps, naming the user's file."""
    if layout.kind == "csv":
        return _explain_csv_error(layout, exc)
    first = str(exc).splitlines()[0].replace(str(layout.path), layout.name)
    return FileReadError(f"{layout.name} cannot be read as {layout.kind} ({first}); export it again or save it as CSV.")
