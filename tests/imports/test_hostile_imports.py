"""The import boundary against hostile and broken files (issue 13, cases 2, 5, 6, 8 and 9).

Numbers finite and within the limit, plausible dates, NULL-like words, ambiguous thousands
separators, the encodings users have (UTF-16 in both byte orders with or without BOM,
Windows-1252, a BOM mid-file, CR-only line ends), JSON lines with nested values and late keys,
malformed mapping files, and a refused import that changes nothing.
"""

from __future__ import annotations

import json

import duckdb
import pytest

from analytics.core.errors import RevLensError
from analytics.imports import MAPPINGS_DIR, import_files
from analytics.imports.mapping import MappingError, load_mapping
from tests.imports.conftest import query
from tests.imports.conftest import run_import as run

CONTACTS = (
    "Record ID,First Name,Last Name,Email,Company Name\n"
    "901,Zoë,O’Brien,zoe@acme.com,“Acme” – €5\n"
    "902,Ann,Lee,ann@beta.io,Beta\n"
)


ENCODED = {
    "utf-16-be-bom": b"\xfe\xff" + CONTACTS.encode("utf-16-be"),
    "utf-16-le-bom": b"\xff\xfe" + CONTACTS.encode("utf-16-le"),
    "utf-16-be": CONTACTS.encode("utf-16-be"),
    "utf-16-le": CONTACTS.encode("utf-16-le"),
    "cp1252": CONTACTS.encode("cp1252"),
    "cr-only": CONTACTS.replace("\n", "\r").encode(),
    "cr-only-cp1252": CONTACTS.replace("\n", "\r").encode("cp1252"),
    "utf-8-bom-crlf": b"\xef\xbb\xbf" + CONTACTS.replace("\n", "\r\n").encode(),
}


@pytest.mark.parametrize("encoding", ENCODED)
def test_the_encodings_users_have_load_every_row_and_character(db, tmp_path, encoding):
    path = tmp_path / f"{encoding}.csv"
    path.write_bytes(ENCODED[encoding])
    result = run(db, "hubspot-contacts", path)
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (2, 2, 0)
    assert query(db, "select hubspot_id, first_name, last_name, company from contacts order by 1") == [
        ("901", "Zoë", "O’Brien", "“Acme” – €5"),
        ("902", "Ann", "Lee", "Beta"),
    ]


def test_a_windows_1252_byte_past_the_sample_is_still_windows_1252(db, tmp_path):
    filler = "".join(f"{1000 + i},Name{i},Last,n{i}@acme.com,Acme\n" for i in range(3000))  # > 64 KiB of ASCII
    path = tmp_path / "late.csv"
    path.write_bytes((CONTACTS.splitlines(keepends=True)[0] + filler + CONTACTS.split("\n", 1)[1]).encode("cp1252"))
    result = run(db, "hubspot-contacts", path)
    assert result.rows_loaded == 3002
    assert query(db, "select last_name, company from contacts where hubspot_id = '901'") == [("O’Brien", "“Acme” – €5")]


def test_a_bom_in_mid_file_is_stripped_from_the_value(db, tmp_path):
    path = tmp_path / "pasted.csv"
    path.write_bytes(CONTACTS.encode() + "\ufeff903,Bo,Ek,bo@ceta.io,Ceta\n".encode())
    assert run(db, "hubspot-contacts", path).rows_loaded == 3
    assert query(db, "select hubspot_id from contacts where first_name = 'Bo'") == [("903",)]
    assert query(db, "select count(*) from contacts where contains(hubspot_id, chr(65279))") == [(0,)]


DEALS = """Record ID,Deal Name,Amount,Deal Stage,Close Date
d1,Good,1200.50,Closed Won,2026-05-01
d2,NaN deal,NaN,Closed Won,2026-05-01
d3,Inf deal,inf,Closed Won,2026-05-01
d4,Huge deal,1e30,Closed Won,2026-05-01
d5,Year zero,100,Closed Won,0000-01-01
d6,Year 9999,100,Closed Won,9999-12-31
d7,Ambiguous,1.234,Closed Won,2026-05-01
d8,N/A,100,Closed Won,2026-05-01
d9,Minus infinity,-Infinity,Closed Lost,2026-05-01
d10,Null amount,NULL,Closed Won,2026-05-01
d11,Year 1899,100,Closed Won,1899-12-31
d12,At the limit,1000000000000,Closed Won,2100-12-31
"""


def test_non_finite_huge_and_implausible_values_are_quarantined_with_a_reason(db, tmp_path):
    path = tmp_path / "deals.csv"
    path.write_text(DEALS)
    result = run(db, "hubspot-deals", path)
    reasons = dict(query(db, "select line, reason from import_quarantine"))
    assert result.rows_quarantined == 8 and set(reasons) == {3, 4, 5, 6, 7, 9, 10, 12}
    for line in (3, 4, 5, 10):
        assert "is not a finite number within ±1,000,000,000,000" in reasons[line]
    for line in (6, 7, 12):
        assert "outside the plausible dates 1900-01-01 to 2100-12-31" in reasons[line]
    assert reasons[9] == "Deal Name is empty"  # "N/A" is a NULL-like word
    loaded = dict(query(db, "select hubspot_id, amount from opportunities"))
    assert loaded == {"d1": 1200.5, "d7": 1.234, "d10": None, "d12": 1e12}
    assert any("1.234" in w and "could mean 1.234 or 1234" in w for w in result.warnings)
    raw = json.loads(query(db, "select raw_values from import_quarantine where line = 3")[0][0])
    assert raw["Amount"] == "NaN"  # the raw value is kept as written


def test_null_like_words_are_configurable_per_mapping(db, tmp_path):
    path = tmp_path / "contacts.csv"
    path.write_text(
        "Record ID,First Name,Last Name,Email,Company Name\n"
        "n1,NULL,Lee,n1@acme.com,Acme\nn2,Ann,Lee,n2@gmail.com, n/a \nn3,-,Lee,n3@acme.com,Acme\n"
        "n4,none,Lee,n4@acme.com,Acme\nn5,Ann,Lee,n5@gmail.com,tbd\n"
    )
    result = run(db, "hubspot-contacts", path)
    assert result.rows_quarantined == 4 and result.rows_loaded == 1
    reasons = [r for (r,) in query(db, "select reason from import_quarantine order by line")]
    assert reasons == ["First Name is empty", "Company Name is empty", "First Name is empty", "First Name is empty"]

    mapping = json.loads((MAPPINGS_DIR / "hubspot.json").read_text())
    mapping["sources"]["hubspot-contacts"]["null_values"] = ["TBD"]
    custom = tmp_path / "mine.json"
    custom.write_text(json.dumps(mapping))
    other = tmp_path / "other.duckdb"
    result = run(other, "hubspot-contacts", path, custom)
    assert result.rows_quarantined == 1 and result.rows_loaded == 4  # only "tbd" is empty now
    mapping["sources"]["hubspot-contacts"]["null_values"] = []
    custom.write_text(json.dumps(mapping))
    assert run(tmp_path / "third.duckdb", "hubspot-contacts", path, custom).rows_quarantined == 0


def test_json_lines_nested_values_late_keys_and_raw_values_without_quotes(db, tmp_path):
    lines = [
        {"touchpoint_id": "t1", "contact_id": "c1", "channel": "email", "ts": "2026-05-01T10:00:00"},
        {"touchpoint_id": "t2", "contact_id": "c1", "channel": "email", "ts": "2026-05-02", "meta": {"a": [1, 2]}},
        {"touchpoint_id": "t3", "contact_id": "c2", "channel": "paid_search", "ts": "not a date"},
        {"touchpoint_id": "t4", "contact_id": "c2", "channel": "webinar", "ts": "2026-05-03", "campaign_id": "CMP9"},
    ]
    path = tmp_path / "touches.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    result = run(db, "touchpoints", path)
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (4, 3, 1)
    assert query(db, "select touchpoint_id, campaign_id from touchpoints order by 1") == [
        ("t1", None),
        ("t2", None),
        ("t4", "CMP9"),  # a key first seen on the last line is a column
    ]
    (raw,) = query(db, "select raw_values from import_quarantine")[0]
    assert json.loads(raw)["ts"] == "not a date" and json.loads(raw)["touchpoint_id"] == "t3"  # no extra quotes
    (extra,) = query(db, "select extra from import_extra where record_key = 't2'")[0]
    assert json.loads(json.loads(extra)["meta"]) == {"a": [1, 2]}  # the nested value, serialized


MALFORMED_MAPPINGS = {
    "binary": b"\x00\x81\xff\xfe garbage",
    "not json": b"{ sources: ",
    "a list": b"[1, 2]",
    "sources a list": b'{"sources": []}',
    "a source a number": b'{"sources": {"hubspot-contacts": 5}}',
    "columns a list": b'{"sources": {"hubspot-contacts": {"table": "contacts", "key": "hubspot_id", "columns": []}}}',
    "a reference a string": (
        b'{"sources": {"hubspot-contacts": {"table": "contacts", "key": "hubspot_id", '
        b'"columns": {"hubspot_id": "Record ID"}, "references": {"account_id": "Company"}}}}'
    ),
    "key a number": b'{"sources": {"hubspot-contacts": {"table": "contacts", "key": 5, "columns": {}}}}',
    "values a list": (
        b'{"sources": {"hubspot-contacts": {"table": "contacts", "key": "hubspot_id", '
        b'"columns": {"hubspot_id": "Record ID"}, "values": {"lifecycle_stage": ["a"]}}}}'
    ),
    "null_values a string": (
        b'{"sources": {"hubspot-contacts": {"table": "contacts", "key": "hubspot_id", '
        b'"columns": {"hubspot_id": "Record ID"}, "null_values": "NULL"}}}'
    ),
}


@pytest.mark.parametrize("variant", MALFORMED_MAPPINGS)
def test_a_malformed_mapping_file_is_one_sentence_and_changes_nothing(db, tmp_path, variant):
    mapping = tmp_path / "mapping.json"
    mapping.write_bytes(MALFORMED_MAPPINGS[variant])
    path = tmp_path / "contacts.csv"
    path.write_text(CONTACTS)
    with pytest.raises(MappingError) as caught:
        import_files(db, "hubspot-contacts", [path], mapping)
    assert str(caught.value).endswith(".") and "\n" not in str(caught.value)
    assert not db.exists() or query(
        db, "select count(*) from information_schema.tables where table_name = 'contacts'"
    ) in (
        [(0,)],
        [(1,)],
    )
    with pytest.raises(MappingError):
        load_mapping(tmp_path)  # a folder


def test_a_refused_import_changes_nothing(db, tmp_path):
    good = tmp_path / "good.csv"
    good.write_text(CONTACTS)
    run(db, "hubspot-contacts", good)
    before = query(db, "select * from contacts order by 1") + query(db, "select value from _meta where key = 'version'")
    broken = tmp_path / "broken.csv"
    broken.write_text('Record ID,First Name,Last Name,Email,Company Name\n1,"a,b,c\n2,x,y,z,w,v,u,t\n')
    with pytest.raises(RevLensError):
        import_files(db, "hubspot-contacts", [broken])
    after = query(db, "select * from contacts order by 1") + query(db, "select value from _meta where key = 'version'")
    assert after == before


def test_out_of_memory_says_so_and_suggests_memory_limit(db, tmp_path, monkeypatch):
    import analytics.imports as imports

    def oom(*args, **kwargs):
        raise duckdb.OutOfMemoryException("Out of Memory Error: failed to allocate data of size 64.0 MiB")

    monkeypatch.setattr(imports, "import_file", oom)
    path = tmp_path / "contacts.csv"
    path.write_text(CONTACTS)
    with pytest.raises(RevLensError, match="ran out of memory.*--memory-limit"):
        import_files(db, "hubspot-contacts", [path])
