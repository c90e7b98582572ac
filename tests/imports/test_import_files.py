"""Real-world files: encodings, delimiters, quoting, dates, numbers, formats, empty and broken files,
custom mappings, source detection and the parsing rules' known answers."""

from __future__ import annotations

import json
from datetime import date, datetime

import duckdb
import pytest

from analytics.imports import MAPPINGS_DIR, describe_file, detect_source, import_files, preview
from analytics.imports import values as V
from analytics.imports.mapping import MappingError
from analytics.imports.reading import FileReadError
from tests.imports.conftest import query
from tests.imports.conftest import run_import as run
from tests.paths import FIXTURES

# -- parsing rules, known answers -------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2024-03-01", datetime(2024, 3, 1)),
        ("2024-03-01 10:15", datetime(2024, 3, 1, 10, 15)),
        ("2024-03-01T10:15:00.000+0000", datetime(2024, 3, 1, 10, 15)),  # Salesforce Data Loader
        ("2024-03-01T10:15:00Z", datetime(2024, 3, 1, 10, 15)),
        ("2024-03-01 10:15:00+02:00", datetime(2024, 3, 1, 8, 15)),  # offsets become UTC
        ("03/15/2024", datetime(2024, 3, 15)),  # US
        ("03/15/2024 10:15 PM", datetime(2024, 3, 15, 22, 15)),
        ("15.03.2024", datetime(2024, 3, 15)),
        ("45352", datetime(2024, 3, 1)),  # Excel serial: 45352 days after 1899-12-30
        ("45352.75", datetime(2024, 3, 1, 18, 0)),
        ("yesterday", None),
        ("", None),
    ],
)
def test_timestamp_parsing(text, expected):
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    assert con.execute(f"select {V.timestamp(V.text('$v'))}", {"v": text}).fetchall() == [(expected,)]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("1234.5", 1234.5),
        ("1,234.50", 1234.5),
        ("$1,234", 1234.0),
        ("1.234,50", 1234.5),
        ("1 234,50", 1234.5),
        ("12,5", 12.5),
        ("-3", -3.0),
        (" 7 ", 7.0),
        ("€2.500", 2500.0),
        ("n/a", None),
    ],
)
def test_number_parsing(text, expected):
    con = duckdb.connect()
    assert con.execute(f"select {V.number(V.text('$v'))}", {"v": text}).fetchall() == [(expected,)]


@pytest.mark.parametrize(
    "text, expected", [("true", True), ("Yes", True), ("1", True), ("F", False), ("no", False), ("maybe", None)]
)
def test_boolean_parsing(text, expected):
    assert duckdb.connect().execute(f"select {V.boolean('$v')}", {"v": text}).fetchall() == [(expected,)]


# -- encodings, delimiters, quoting ------------------------------------------------------------


def test_utf8_bom_header_is_matched(db):
    assert (FIXTURES / "hubspot_contacts.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    layout = describe_file(FIXTURES / "hubspot_contacts.csv")
    assert layout.headers[0] == "Record ID" and layout.encoding == "utf-8"
    run(db, "hubspot-contacts", FIXTURES / "hubspot_contacts.csv")
    assert query(db, "select count(*) from contacts where hubspot_id is not null") == [(3,)]


def test_latin1_semicolons_us_dates_decimal_commas_and_excel_serials(db):
    layout = describe_file(FIXTURES / "salesforce_leads_latin1.csv")
    assert (layout.encoding, layout.delimiter) == ("latin-1", ";")
    result = run(db, "salesforce-leads", FIXTURES / "salesforce_leads_latin1.csv")
    assert (result.rows_loaded, result.rows_quarantined) == (3, 0)
    rows = query(
        db, "select first_name, company, lead_score, created_at, updated_at from contacts order by salesforce_id"
    )
    assert rows == [
        ("Jürgen", "Bäckerei Müller GmbH", 72.5, datetime(2024, 3, 15), datetime(2024, 3, 16, 10, 30)),
        ("Amélie", "Société Générale", 1234.5, datetime(2024, 3, 16), datetime(2024, 3, 16)),
        ("Søren", "Søren & Co", 12.0, datetime(2024, 3, 15), datetime(2024, 3, 15, 18)),  # Excel 45366(.75)
    ]


def test_latin1_character_after_the_sampled_bytes(db, tmp_path):
    path = tmp_path / "late_latin1.csv"
    lines = ["touchpoint_id,contact_id,channel,ts"] + [f"TP-{i},C-{i},email,2024-01-01" for i in range(6000)]
    lines.append("TP-é,C-é,email,2024-01-02")
    path.write_bytes(("\n".join(lines) + "\n").encode("latin-1"))
    assert describe_file(path).encoding == "utf-8"  # the sample looked like UTF-8
    result = run(db, "touchpoints", path)
    assert result.rows_loaded == 6001
    assert query(db, "select contact_id from touchpoints where touchpoint_id = 'TP-é'") == [("C-é",)]


def test_quoted_newlines_and_delimiters_inside_values(db):
    run(db, "hubspot-contacts", FIXTURES / "hubspot_contacts.csv")
    assert query(db, "select last_name, company from contacts where hubspot_id = '108'") == [
        ("Torvalds\nJr.", "Kernel, Org")
    ]


def test_thousand_separators_currency_and_excel_dates_in_deals(db):
    run(db, "hubspot-companies", FIXTURES / "hubspot_companies.csv")
    run(db, "hubspot-deals", FIXTURES / "hubspot_deals.csv")
    assert query(db, "select hubspot_id, amount, close_date, created_at from opportunities order by 1") == [
        ("5001", 12500.0, date(2024, 3, 31), datetime(2024, 1, 10)),  # "12,500.00", Excel 45382, US date
        ("5002", 3000.0, date(2024, 6, 30), datetime(2024, 2, 1)),  # "$3,000"
    ]


# -- empty, header-only, broken -----------------------------------------------------------------


@pytest.mark.parametrize(
    "fixture, message",
    [
        ("empty.csv", r"^empty\.csv is empty \(0 bytes\); export it again with its header and rows"),
        ("header_only.csv", r"^header_only\.csv has a header but no rows; export it again with its rows"),
    ],
)
def test_empty_and_header_only_files_are_refused_with_a_sentence(db, fixture, message):
    run(db, "hubspot-companies", FIXTURES / "hubspot_companies.csv")
    with pytest.raises(FileReadError, match=message):
        import_files(db, "hubspot-contacts", [FIXTURES / fixture], labels=[fixture])
    assert query(db, "select count(*) from import_runs where source = 'hubspot-contacts'") == [(0,)]
    assert query(db, "select count(*) from contacts") == [(0,)]


def test_blank_and_empty_parquet_and_json_files_are_refused(db, tmp_path):
    blank = tmp_path / "blank.csv"
    blank.write_text("\n\n  \n")
    with pytest.raises(FileReadError, match=r"blank\.csv holds no header row and no rows"):
        import_files(db, "touchpoints", [blank], labels=["blank.csv"])
    empty_json = tmp_path / "events.jsonl"
    empty_json.write_bytes(b"")
    with pytest.raises(FileReadError, match=r"events\.jsonl is empty \(0 bytes\)"):
        import_files(db, "product-events", [empty_json], labels=["events.jsonl"])
    no_rows = tmp_path / "tickets.parquet"
    duckdb.connect().execute(
        f"copy (select 'T-1' as ticket_id, 'a' as account_id, '2024-01-01' as opened_at limit 0) "
        f"to '{no_rows}' (format parquet)"
    )
    with pytest.raises(FileReadError, match=r"tickets\.parquet has a header but no rows"):
        import_files(db, "support-tickets", [no_rows], labels=["tickets.parquet"])


def test_messages_name_the_file_the_user_gave_never_a_temporary_path(db, tmp_path):
    """The app saves an upload under a temporary folder: every message names the upload instead."""
    upload = tmp_path / "revlens-uploads-x1y2" / "0f3a9c" / "my export.csv"
    upload.parent.mkdir(parents=True)
    upload.write_bytes((FIXTURES / "too_many_fields.csv").read_bytes())
    with pytest.raises(FileReadError) as error:
        import_files(db, "touchpoints", [upload], labels=["my export.csv"])
    assert str(error.value).startswith("my export.csv line 3 has more fields") and str(tmp_path) not in str(error.value)
    missing = tmp_path / "revlens-uploads-x1y2" / "gone.csv"
    with pytest.raises(FileReadError, match=r"^No file gone\.csv: nothing is there") as error:
        import_files(db, "touchpoints", [missing], labels=["gone.csv"])
    sheet = tmp_path / "revlens-uploads-x1y2" / "budget.xlsx"
    sheet.write_bytes(b"PK\x03\x04 not really a workbook")
    with pytest.raises(FileReadError, match=r"^budget\.xlsx is not a readable Excel workbook") as error:
        import_files(db, "costs", [sheet], labels=["budget.xlsx"])
    assert str(tmp_path) not in str(error.value)
    no_email = tmp_path / "revlens-uploads-x1y2" / "contacts.csv"
    no_email.write_bytes((FIXTURES / "hubspot_contacts_no_email.csv").read_bytes())
    with pytest.raises(MappingError, match=r"^contacts\.csv has no column") as error:
        import_files(db, "hubspot-contacts", [no_email], labels=["contacts.csv"])
    assert str(tmp_path) not in str(error.value)


def test_a_row_with_too_many_fields_refuses_the_file_naming_the_line(db):
    with pytest.raises(FileReadError, match=r"line 3 has more fields than the header's 4; put quotes"):
        run(db, "touchpoints", FIXTURES / "too_many_fields.csv")


def test_unreadable_and_unknown_files(db, tmp_path):
    with pytest.raises(FileReadError, match="No file .*missing.csv: nothing is there"):
        run(db, "touchpoints", tmp_path / "missing.csv")
    odd = tmp_path / "export.pdf"
    odd.write_bytes(b"%PDF-1.4")
    with pytest.raises(FileReadError, match=r"import \.csv, \.xlsx, \.parquet or \.jsonl"):
        run(db, "touchpoints", odd)
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"not parquet at all")
    with pytest.raises(FileReadError, match="not readable as parquet"):
        run(db, "support-tickets", broken)


# -- other formats ---------------------------------------------------------------------------


def test_parquet_export(db, tmp_path):
    path = tmp_path / "tickets.parquet"
    duckdb.connect().execute(
        f"copy (select * from read_csv('{FIXTURES / 'support_tickets.csv'}', all_varchar=true)) "
        f"to '{path}' (format parquet)"
    )
    run(db, "salesforce-accounts", FIXTURES / "salesforce_accounts.csv")
    result = run(db, "support-tickets", path)
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (2, 1, 1)
    assert query(db, "select ticket_id, escalated, csat from support_tickets") == [("T-1", True, 4.0)]


def test_json_lines_export(db):
    run(db, "salesforce-accounts", FIXTURES / "salesforce_accounts.csv")
    result = run(db, "product-events", FIXTURES / "product_events.jsonl")
    assert (result.rows_read, result.rows_loaded, result.rows_merged, result.rows_quarantined) == (3, 1, 1, 1)
    assert query(db, "select line from import_quarantine where source = 'product-events'") == [
        (3,)
    ]  # JSON lines: record 3 is line 3


def test_xlsx_cost_sheet_with_real_dates(db):
    run(db, "salesforce-campaigns", FIXTURES / "salesforce_campaigns.csv")
    result = run(db, "costs", FIXTURES / "costs.xlsx")
    assert (result.rows_loaded, result.rows_quarantined) == (2, 1)
    assert query(db, "select cost_date, category, amount from campaign_costs order by amount") == [
        (date(2024, 4, 1), "media_spend", 1500.25),
        (date(2024, 4, 1), "platform_fees", 2500.0),
    ]
    (raw,) = query(db, "select raw_values from import_quarantine where source = 'costs'")[0]
    assert json.loads(raw)["Category"] == "Operational Overhead"


# -- mappings ----------------------------------------------------------------------------------


def test_a_copied_mapping_with_one_header_changed(db, tmp_path):
    mapping = json.loads((MAPPINGS_DIR / "hubspot.json").read_text())
    mapping["sources"]["hubspot-contacts"]["columns"]["email"] = "E-mail Address"
    custom = tmp_path / "my_hubspot.json"
    custom.write_text(json.dumps(mapping, indent=2))
    renamed = tmp_path / "contacts.csv"
    renamed.write_text(
        (FIXTURES / "hubspot_contacts.csv").read_text(encoding="utf-8-sig").replace(",Email,", ",E-mail Address,", 1),
        encoding="utf-8",
    )
    with pytest.raises(MappingError, match='no column "Email"'):
        run(db, "hubspot-contacts", renamed)
    result = run(db, "hubspot-contacts", renamed, mapping=custom)
    assert (result.rows_loaded, result.rows_quarantined) == (3, 4)


def test_broken_mapping_files_are_explained(db, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{ not json")
    with pytest.raises(MappingError, match="is not valid JSON"):
        run(db, "hubspot-contacts", FIXTURES / "hubspot_contacts.csv", mapping=bad)
    wrong = tmp_path / "wrong.json"
    wrong.write_text(
        json.dumps(
            {
                "sources": {
                    "hubspot-contacts": {
                        "table": "contacts",
                        "key": "hubspot_id",
                        "id_prefix": "hs-",
                        "columns": {"hubspot_id": "Record ID", "shoe_size": "Shoe Size"},
                    }
                }
            }
        )
    )
    with pytest.raises(MappingError, match='names the column "shoe_size", which the table contacts does not have'):
        run(db, "hubspot-contacts", FIXTURES / "hubspot_contacts.csv", mapping=wrong)


def test_default_mappings_carry_the_spec_field_mappings():
    hubspot = json.loads((MAPPINGS_DIR / "hubspot.json").read_text())
    salesforce = json.loads((MAPPINGS_DIR / "salesforce.json").read_text())
    assert hubspot["spec"]["hubspot_mapping"]["contact_properties"]["lead_score"] == "hs_lead_score"
    lead_fields = salesforce["spec"]["salesforce_mapping"]["lead_fields"]
    columns = salesforce["sources"]["salesforce-leads"]["columns"]
    # every spec lead field that has a warehouse column is mapped to the same Salesforce field
    for platform_field, warehouse_column in [
        ("lead_id", "marketing_platform_id"),
        ("email", "email"),
        ("first_name", "first_name"),
        ("last_name", "last_name"),
        ("company", "company"),
        ("lead_score", "lead_score"),
        ("source", "lead_source"),
    ]:
        assert columns[warehouse_column] == lead_fields[f"marketing_platform.{platform_field}"]


@pytest.mark.parametrize(
    "fixture, source",
    [
        ("hubspot_contacts.csv", "hubspot-contacts"),
        ("hubspot_companies.csv", "hubspot-companies"),
        ("hubspot_deals.csv", "hubspot-deals"),
        ("salesforce_leads.csv", "salesforce-leads"),
        ("salesforce_contacts.csv", "salesforce-contacts"),
        ("salesforce_accounts.csv", "salesforce-accounts"),
        ("salesforce_opportunities.csv", "salesforce-opportunities"),
        ("salesforce_campaigns.csv", "salesforce-campaigns"),
        ("salesforce_campaign_members.csv", "salesforce-campaign-members"),
        ("touchpoints.csv", "touchpoints"),
        ("costs.csv", "costs"),
        ("support_tickets.csv", "support-tickets"),
        ("invoices.csv", "invoices"),
        ("feedback.csv", "feedback"),
        ("product_events.jsonl", "product-events"),
    ],
)
def test_source_detected_from_headers(fixture, source):
    assert detect_source(list(describe_file(FIXTURES / fixture).headers)) == source


def test_preview_shows_the_mapping_and_first_rows_without_writing(db):
    run(db, "hubspot-companies", FIXTURES / "hubspot_companies.csv")
    con = duckdb.connect(str(db), read_only=True)
    columns, sample = preview(con, "hubspot-contacts", FIXTURES / "hubspot_contacts.csv", rows=3)
    con.close()
    described = dict(zip(columns["column"], columns["from"]))
    assert described["email"] == "Email" and described["company"] == "Company Name"
    assert described["contact_id"] == "(new records: hs- + hubspot_id)"
    assert sample["line"].to_list() == [2, 3, 4]
    assert sample["quarantine_reason"].to_list() == [None, None, "Company Name is empty"]
    assert sample["company"].to_list()[1] == "Navy-systems"  # enrichment shows in the preview
    assert query(db, "select count(*) from contacts") == [(0,)]


def test_memory_limited_import_spills_and_loads_everything(db, tmp_path):
    path = tmp_path / "touchpoints.csv"
    duckdb.connect().execute(f"""
        copy (select 'TP' || i as touchpoint_id, 'C' || (i % 5000) as contact_id, 'email' as channel,
                     timestamp '2025-01-01' + to_seconds(i) as ts
              from range(300000) t(i)) to '{path}' (header)""")
    (result,) = import_files(db, "touchpoints", [path], memory_limit="64MB")
    assert (result.rows_read, result.rows_loaded) == (300_000, 300_000)
    assert query(db, "select count(distinct touchpoint_id) from touchpoints") == [(300_000,)]


def test_utf16_tab_separated_excel_unicode_text(db, tmp_path):
    path = tmp_path / "touchpoints.txt"
    path.write_bytes(
        "touchpoint_id\tcontact_id\tchannel\tts\r\nTP-1\tC-é\temail\t2024-01-01\r\n"
        "TP-2\tC-2\twebinar\t01/02/2024\r\n".encode("utf-16")
    )
    layout = describe_file(path, tmp_path / "work")
    # UTF-16 is read from a UTF-8 copy (issue 13: both byte orders, with or without BOM)
    assert (layout.encoding, layout.delimiter) == ("utf-8", "\t") and layout.path.parent == tmp_path / "work"
    assert run(db, "touchpoints", path).rows_loaded == 2
    assert query(db, "select contact_id, ts from touchpoints order by 1") == [
        ("C-2", datetime(2024, 1, 2)),
        ("C-é", datetime(2024, 1, 1)),
    ]


def test_line_numbers_count_line_breaks_inside_values(db, tmp_path):
    path = tmp_path / "contacts.csv"
    path.write_text(
        "Record ID,First Name,Last Name,Email,Company Name\n"
        '1,Ada,"Love\nlace\nthe third",ada@analytical.io,Analytical\n'  # lines 2-4
        "2,,Hopper,grace@navy.mil,Navy\n"  # line 5
        "3,Alan,Turing,alan@bletchley.org,Bletchley\n"  # line 6
        '4,Alan,"Turing\nJr",ALAN@bletchley.org,Bletchley Ltd\n'  # lines 7-8
        "5,,Nobody,nobody@x.org,X\n"
    )  # line 9
    result = run(db, "hubspot-contacts", path)
    assert (result.rows_quarantined, result.rows_merged) == (2, 1)
    assert query(db, "select line from import_quarantine order by line") == [(5,), (9,)]
    assert query(db, "select merged_line, kept_line from import_merge_log") == [(6, 7)]
