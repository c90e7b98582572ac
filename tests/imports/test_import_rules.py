"""Import rules on sample exports: validation, enrichment, duplicate merge, quarantine,
references, idempotent re-import, atomicity and the reconciliation identity."""

from __future__ import annotations

import csv
import json

import duckdb
import pytest

from analytics.core.errors import RevLensError
from analytics.imports import import_files, pipeline, quality_score, rules
from analytics.imports.mapping import MappingError
from analytics.warehouse.schema import TABLES
from tests.imports.test_import_files import query
from tests.paths import FIXTURES


def run(db, source: str, fixture: str):
    (result,) = import_files(db, source, [FIXTURES / fixture])
    return result


def snapshot(db) -> dict[str, list]:
    """Every canonical table's rows, sorted (the import ledger is not part of it)."""
    return {table: sorted(query(db, f"select * from {table}"), key=repr) for table in TABLES}


def assert_identity(result) -> None:
    assert result.rows_read == (result.rows_loaded + result.rows_updated + result.rows_merged + result.rows_quarantined)


# -- HubSpot contacts: every lead rule on one export ----------------------------------------


def test_hubspot_contacts_counts_and_identity(db):
    result = run(db, "hubspot-contacts", "hubspot_contacts.csv")
    # 8 rows: 101+106 are one person (merged), 102 and 108 new, 103/104/105/107 quarantined
    assert (result.rows_read, result.rows_loaded, result.rows_updated, result.rows_merged, result.rows_quarantined) == (
        8,
        3,
        0,
        1,
        4,
    )
    assert_identity(result)
    assert query(db, "select count(*) from contacts") == [(3,)]


def test_quarantine_keeps_file_line_raw_values_and_reason(db):
    run(db, "hubspot-contacts", "hubspot_contacts.csv")
    rows = query(db, "select file, line, reason, raw_values from import_quarantine order by line")
    by_line = {line: (file, reason, json.loads(raw)) for file, line, reason, raw in rows}
    assert sorted(by_line) == [4, 5, 6, 8]
    assert all(file.endswith("hubspot_contacts.csv") for file, _, _ in by_line.values())
    # free-mail address: the company is not guessed, so the row lacks a required value
    assert by_line[4][1] == "Company Name is empty"
    assert by_line[4][2]["Email"] == "alan.turing@gmail.com"
    assert by_line[5][1] == "First Name is empty"
    assert by_line[6][1] == 'Email "not-an-email" is not a valid email address'
    assert by_line[8][1] == 'Create Date "not a date" is not a date-time'
    # the raw values are the file's, every column, under the file's headers
    assert by_line[8][2]["Record ID"] == "107" and by_line[8][2]["Phone Number"] is None
    assert len(by_line[8][2]) == 13


def test_company_enriched_from_corporate_domain_only(db):
    run(db, "hubspot-contacts", "hubspot_contacts.csv")
    assert query(db, "select company from contacts where hubspot_id = '102'") == [("Navy-systems",)]
    assert query(db, "select rows_enriched from import_runs") == [(1,)]
    assert query(db, "select count(*) from contacts where email like '%gmail.com'") == [(0,)]


def test_company_from_domain_and_free_mail_list():
    con = duckdb.connect()
    for domain, company in [
        ("acme-analytics.co.uk", "Acme-analytics"),
        ("mail.radium-labs.com", "Radium-labs"),
        ("fission.org", "Fission"),
    ]:
        assert con.execute(f"select {rules.company_from_domain('$d')}", {"d": domain}).fetchall() == [(company,)]
    assert {"gmail.com", "outlook.com", "yahoo.com", "gmx.de"} <= set(rules.FREE_MAIL_DOMAINS)


def test_duplicates_merge_most_recent_non_null_wins_and_are_logged(db):
    run(db, "hubspot-contacts", "hubspot_contacts.csv")
    # line 2 (Record ID 101, modified 2024-03-05, score 55) and line 7 (106, modified 2024-04-01,
    # ADA@Analytical.io / "Analytical Engines, Inc.", no score) are one person by email + company
    (ada,) = query(
        db,
        """select contact_id, hubspot_id, last_name, lifecycle_stage, lead_score, updated_at, email
                          from contacts where email = 'ada@analytical.io'""",
    )
    contact_id, hubspot_id, last_name, stage, score, updated_at, email = ada
    assert (contact_id, hubspot_id) == ("hs-106", "106")  # the most recent row's CRM id
    assert last_name == "L." and stage == "customer"  # most recent non-null values
    assert score == 55.0  # the most recent row has no score: the older non-null value wins
    assert str(updated_at) == "2024-04-01 12:00:00"
    (log,) = query(
        db,
        "select record_id, matched_on, merged_line, merged_values, kept_line, kept_values, "
        "key_column, merged_key from import_merge_log",
    )
    record_id, matched_on, merged_line, merged_values, kept_line, kept_values, key_column, merged_key = log
    assert (record_id, matched_on, merged_line, kept_line) == ("hs-106", "email + company", 2, 7)
    assert json.loads(merged_values)["Record ID"] == "101" and json.loads(kept_values)["Record ID"] == "106"
    assert (key_column, merged_key) == ("hubspot_id", "101")


def test_duplicate_of_an_existing_record_from_another_crm_merges_into_it(db):
    run(db, "hubspot-contacts", "hubspot_contacts.csv")
    result = run(db, "salesforce-leads", "salesforce_leads_duplicate.csv")
    assert (result.rows_read, result.rows_merged, result.rows_loaded) == (1, 1, 0)
    assert_identity(result)
    rows = query(
        db,
        "select contact_id, hubspot_id, salesforce_id, lifecycle_stage, company from contacts "
        "where email = 'ada@analytical.io'",
    )
    # one record: the HubSpot one, now carrying the Salesforce id; newer values win
    assert rows == [("hs-106", "106", "00Q5e000001CCCCEA1", "lead", "Analytical Engines Inc")]
    matched_on, kept_line, kept_values = query(
        db, "select matched_on, kept_line, kept_values from import_merge_log where merged_key = '00Q5e000001CCCCEA1'"
    )[0]
    assert matched_on == "email + company" and kept_line is None
    assert json.loads(kept_values)["contact_id"] == "hs-106"  # the existing record as it was


def test_unmapped_columns_are_kept_as_extra(db):
    run(db, "hubspot-contacts", "hubspot_contacts.csv")
    (extra,) = query(db, "select extra from contacts where hubspot_id = '106'")[0]
    assert json.loads(extra) == {"Associated Company": "Analytical Engines", "Phone Number": None}
    run(db, "touchpoints", "touchpoints.csv")
    assert query(db, "select extra from import_extra where table_name = 'touchpoints' and record_key = 'TP-1'") == [
        ('{"utm_medium":"webinar"}',)
    ]


def test_quality_score_formula_known_answer():
    # S = 7/8, C = 5/8, B = (8 - 1)/8, V = 4/8: Q = 100 * 0.5 * (0.875 + 0.625 + 0.875) / 3 = 39.5833...
    assert quality_score(8, 7, 5, 8, 1, 4) == (0.875, 0.625, 0.875, 0.5, 39.6)
    assert quality_score(4, 4, 4, 4, 0, 4)[4] == 100.0
    assert quality_score(0, 0, 0, 0, 0, 0) == (None, None, None, None, None)
    # every row quarantined scores 0, however clean the other layers are
    assert quality_score(5, 5, 0, 5, 0, 0) == (1.0, 0.0, 1.0, 0.0, 0.0)


def test_a_file_whose_every_row_is_quarantined_scores_0(db):
    # no campaign exists yet: every cost line names a campaign the warehouse lacks
    result = run(db, "costs", "costs.csv")
    assert (result.rows_read, result.rows_quarantined, result.validity_score, result.quality_score) == (5, 5, 0.0, 0.0)
    assert query(db, "select validity_score, quality_score from import_runs") == [(0.0, 0.0)]


def test_quality_score_of_the_contacts_batch(db):
    result = run(db, "hubspot-contacts", "hubspot_contacts.csv")
    # structure: 7 of 8 (a bad date); content: 5 of 8; business: 8 pass, 1 duplicate; 4 of 8 load
    assert (result.structure_score, result.content_score, result.business_score) == (0.875, 0.625, 0.875)
    assert (result.validity_score, result.quality_score) == (0.5, 39.6)


# -- idempotency and atomicity --------------------------------------------------------------

ALL_IMPORTS = [
    ("salesforce-accounts", "salesforce_accounts.csv"),
    ("hubspot-companies", "hubspot_companies.csv"),
    ("hubspot-contacts", "hubspot_contacts.csv"),
    ("salesforce-leads", "salesforce_leads.csv"),
    ("salesforce-leads", "salesforce_leads_latin1.csv"),
    ("salesforce-contacts", "salesforce_contacts.csv"),
    ("salesforce-opportunities", "salesforce_opportunities.csv"),
    ("salesforce-campaigns", "salesforce_campaigns.csv"),
    ("salesforce-campaign-members", "salesforce_campaign_members.csv"),
    ("hubspot-deals", "hubspot_deals.csv"),
    ("touchpoints", "touchpoints.csv"),
    ("costs", "costs.csv"),
    ("costs", "costs.xlsx"),
    ("support-tickets", "support_tickets.csv"),
    ("invoices", "invoices.csv"),
    ("feedback", "feedback.csv"),
    ("product-events", "product_events.jsonl"),
]


def data_records(fixture: str) -> int:
    path = FIXTURES / fixture
    if path.suffix == ".jsonl":
        return sum(1 for line in path.read_text().splitlines() if line.strip())
    if path.suffix == ".xlsx":
        from openpyxl import load_workbook

        return load_workbook(path, read_only=True).worksheets[0].max_row - 1
    encoding = "latin-1" if "latin1" in fixture else "utf-8-sig"
    text = path.read_text(encoding=encoding)
    delimiter = ";" if text.split("\n", 1)[0].count(";") > text.split("\n", 1)[0].count(",") else ","
    return sum(1 for _ in csv.reader(text.splitlines(keepends=True), delimiter=delimiter)) - 1


@pytest.fixture(scope="module")
def everything(tmp_path_factory):
    """Every sample export imported in dependency order, then all of them again."""
    db = tmp_path_factory.mktemp("everything") / "warehouse.duckdb"
    first = [run(db, source, fixture) for source, fixture in ALL_IMPORTS]
    after_first = snapshot(db)
    second = [run(db, source, fixture) for source, fixture in ALL_IMPORTS]
    return db, first, after_first, second


@pytest.mark.parametrize("index", range(len(ALL_IMPORTS)), ids=[f"{s}:{f}" for s, f in ALL_IMPORTS])
def test_every_import_reconciles_with_the_file(everything, index):
    _, first, _, second = everything
    source, fixture = ALL_IMPORTS[index]
    for result in (first[index], second[index]):
        assert result.rows_read == data_records(fixture)
        assert_identity(result)
    # the second time every record is found by its key: nothing new is loaded
    assert second[index].rows_loaded == 0
    assert second[index].rows_quarantined == first[index].rows_quarantined


def test_reimport_changes_nothing(everything):
    db, _, after_first, _ = everything
    assert snapshot(db) == after_first


def test_quarantine_ledger_matches_the_counts(everything):
    db, first, _, second = everything
    assert query(db, "select count(*) from import_quarantine")[0][0] == sum(r.rows_quarantined for r in first + second)
    runs = query(db, "select rows_read, rows_loaded + rows_updated + rows_merged + rows_quarantined from import_runs")
    assert len(runs) == 2 * len(ALL_IMPORTS) and all(read == total for read, total in runs)


def test_failure_half_way_leaves_the_warehouse_as_it_was(db, monkeypatch):
    run(db, "hubspot-companies", "hubspot_companies.csv")
    before = snapshot(db)
    runs_before = query(db, "select count(*) from import_runs")

    def broken(con, source, changed=None):
        raise OSError("disk full")  # after every row was written, before the commit

    monkeypatch.setattr(pipeline, "finish_load", broken)
    with pytest.raises(OSError):
        run(db, "hubspot-contacts", "hubspot_contacts.csv")
    assert snapshot(db) == before
    assert query(db, "select count(*) from import_runs") == runs_before
    assert query(db, "select count(*) from import_quarantine") == [(0,)]


def test_missing_required_column_names_it_and_the_mapping_entry(db):
    run(db, "hubspot-companies", "hubspot_companies.csv")
    before = snapshot(db)
    with pytest.raises(MappingError) as error:
        run(db, "hubspot-contacts", "hubspot_contacts_no_email.csv")
    message = str(error.value)
    assert '"Email"' in message and "email" in message
    assert '"sources" > "hubspot-contacts" > "columns" > "email"' in message and "hubspot.json" in message
    assert snapshot(db) == before


# -- references, lookups, enrichment of keys -------------------------------------------------


def test_salesforce_references_resolve_to_imported_records(everything):
    db, *_ = everything
    assert query(db, "select account_id, company from contacts where salesforce_id = '0035e000003CON1AAA'") == [
        ("sf-0015e000002ACC1AAA", "Radium Labs")
    ]  # company looked up from the account
    assert query(
        db, "select contact_id, account_id, is_closed_won from opportunities where salesforce_id = '0065e000004OPP1AAA'"
    ) == [("sf-0035e000003CON1AAA", "sf-0015e000002ACC1AAA", True)]
    # account_id enriched from the email domain of the lead (fission.org)
    assert query(db, "select account_id, company from contacts where email = 'lise@fission.org'") == [
        ("sf-0015e000002ACC2AAA", "Fission")
    ]


def test_campaign_members_become_touchpoints_with_the_campaign_channel(everything):
    db, first, *_ = everything
    rows = query(
        db,
        "select touchpoint_id, contact_id, campaign_id, channel, touchpoint_type, ts "
        "from touchpoints where touchpoint_id like 'sf-%' order by 1",
    )
    assert [r[:5] for r in rows] == [
        ("sf-00v5e000006MEM1AAA", "sf-0035e000003CON1AAA", "sf-7015e000005CMP1AAA", "webinar", "Responded"),
        ("sf-00v5e000006MEM2AAA", "sf-00Q5e000001AAAAEA1", "sf-7015e000005CMP2AAA", "paid_search", "Sent"),
    ]
    assert str(rows[0][5]) == "2024-03-12 00:00:00"  # FirstRespondedDate before CreatedDate
    reason = query(db, "select reason from import_quarantine where source = 'salesforce-campaign-members' limit 1")
    assert reason[0][0].startswith('channel is empty: CampaignId "7015e000005CMP9AAA"')


def test_deal_pointing_at_a_merged_contact_follows_the_merge(db):
    run(db, "hubspot-companies", "hubspot_companies.csv")
    run(db, "hubspot-contacts", "hubspot_contacts.csv")
    run(db, "hubspot-deals", "hubspot_deals.csv")
    # deal 5001 names contact 101, which was merged into hs-106
    assert query(
        db,
        "select contact_id, account_id, amount, stage, is_closed, is_closed_won, close_date "
        "from opportunities where hubspot_id = '5001'",
    ) == [("hs-106", "hs-9001", 12500.0, "closedwon", True, True, __import__("datetime").date(2024, 3, 31))]


# -- business and content rules per table ---------------------------------------------------

EXPECTED_REASONS = {
    "salesforce-campaigns": {
        4: ["audience size outside 100 to 1,000,000"],
        5: ["end date before start date"],  # its Type "Pigeon Post" is a channel of its own, no reason
    },
    "salesforce-opportunities": {3: ["negative amount"], 4: ['IsWon "maybe" is not true or false']},
    "hubspot-deals": {4: ["negative amount"], 5: ["Deal Name is empty"]},
    "costs": {
        4: ["negative cost amount"],  # from the XLSX, row 4
        5: ['Campaign "Unknown Campaign" matches no row of campaigns'],
        6: ['Category "Snacks" is not one of media_spend'],
    },
    "invoices": {3: ["due date before issue date"]},
    "feedback": {3: ["score outside 0 to 10"]},
    "support-tickets": {3: ["resolved before it was opened"]},
    "salesforce-accounts": {4: ["Name is empty"]},
    "product-events": {3: ["account_id is empty"]},  # JSON lines: no header line
    "touchpoints": {
        5: ["contact_id is empty"],
        6: ['ts "yesterday" is not a date-time'],
    },
}


@pytest.mark.parametrize("source", sorted(EXPECTED_REASONS))
def test_rules_quarantine_with_their_reasons(everything, source):
    db, *_ = everything
    reasons = {}
    for line, reason in query(db, "select distinct line, reason from import_quarantine where source = ?", [source]):
        reasons.setdefault(line, set()).add(reason)
    for line, fragments in EXPECTED_REASONS[source].items():
        assert line in reasons, (source, line, reasons)
        for fragment in fragments:
            assert any(fragment in reason for reason in reasons[line]), (source, line, fragment, reasons[line])


def test_fact_duplicates_merge_by_key_later_line_wins(everything):
    db, first, *_ = everything
    touchpoints = first[[f for _, f in ALL_IMPORTS].index("touchpoints.csv")]
    assert touchpoints.rows_merged == 1
    assert query(db, "select channel, engagement_score from touchpoints where touchpoint_id = 'TP-2'") == [
        ("paid_search", 0.5)
    ]  # "Paid Search" mapped to the warehouse channel
    assert query(db, "select session_duration_s from feature_usage_events where user_id = 'u1'") == [(150.0,)]


def test_costs_from_csv_and_xlsx(everything):
    db, *_ = everything
    rows = query(db, "select campaign_id, cost_date::varchar, category, amount from campaign_costs order by 2, 1, 3")
    assert rows == [
        ("sf-7015e000005CMP1AAA", "2024-03-01", "creative_production", 800.0),
        ("sf-7015e000005CMP1AAA", "2024-03-01", "media_spend", 1234.5),  # "1.234,50"
        ("sf-7015e000005CMP2AAA", "2024-03-01", "platform_fees", 2000.0),  # "$2,000.00", US date
        ("sf-7015e000005CMP1AAA", "2024-04-01", "media_spend", 1500.25),  # XLSX, by campaign name
        ("sf-7015e000005CMP2AAA", "2024-04-01", "platform_fees", 2500.0),
    ]


def test_unknown_source_is_a_clear_error(db):
    with pytest.raises(RevLensError, match="Unknown source 'leads'; use one of: hubspot-contacts"):
        import_files(db, "leads", [FIXTURES / "hubspot_contacts.csv"])
