"""Salesforce ids in both forms, cost sheets as ledgers (sums, replacement, money identity), and the recheck."""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import pytest

from analytics.cli import main
from analytics.imports import import_files, recheck_quarantine
from analytics.imports import values as V
from tests.imports.test_import_files import query
from tests.paths import FIXTURES


def run(db, source: str, fixture: str | Path, label: str | None = None):
    path = fixture if isinstance(fixture, Path) else FIXTURES / fixture
    (result,) = import_files(db, source, [path], labels=[label] if label else None)
    assert result.rows_read == result.rows_loaded + result.rows_updated + result.rows_merged + result.rows_quarantined
    if result.amount_read is not None:
        assert result.amount_read == pytest.approx(result.amount_loaded + result.amount_quarantined, abs=1e-9)
    return result


def costs(db) -> list[tuple]:
    return query(
        db,
        "select campaign_id, cost_date::varchar, category, amount, platform from campaign_costs order by 1, 2, 3, 5",
    )


def write_csv(path: Path, header: list[str], rows: list[list]) -> Path:
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows(rows)
    return path


# -- Salesforce ids -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "short, long",
    [
        ("00D000000000062", "00D000000000062EAA"),  # Salesforce's own example
        ("001A000001JwTqm", "001A000001JwTqmIAF"),  # chunks 001A0 (bit 3), 00001 (none), JwTqm (bits 0, 2)
        ("7015e000005nur1", "7015e000005nur1AAA"),
        ("7015e000005Nur1", "7015e000005Nur1AAC"),  # differs from the one above only in case: another id
    ],
)
def test_the_18_character_form_is_salesforces_checksum(short, long):
    assert V.salesforce_id18(short) == long
    assert duckdb.connect().execute(f"select {V.salesforce_id('$v')}", {"v": short}).fetchall() == [(long,)]
    assert V.salesforce_id18(long) == long  # already 18 characters: unchanged
    assert V.salesforce_id18("not an id") == "not an id"


def test_a_15_character_id_is_stored_in_its_18_character_form_and_matches_the_18(db, tmp_path):
    short = write_csv(
        tmp_path / "report.csv",
        ["Id", "Name", "Type", "StartDate", "EndDate", "NumberSent"],
        [["7015e000005Web4", "Product webinar", "Webinar", "2024-03-01", "2024-03-01", "800"]],
    )
    first = run(db, "salesforce-campaigns", short)
    assert first.rows_loaded == 1
    assert query(db, "select campaign_id, salesforce_id from campaigns") == [
        ("sf-7015e000005Web4AAC", "7015e000005Web4AAC")
    ]
    # the Data Loader export of the same record, 18 characters: the same record, updated
    again = run(db, "salesforce-campaigns", "salesforce_campaigns_types.csv")
    assert (again.rows_updated, again.rows_loaded) == (1, 4)
    assert query(db, "select count(*) from campaigns where name = 'Product webinar'") == [(1,)]


def test_references_match_15_characters_case_sensitively_and_18_in_any_case(db):
    run(db, "salesforce-campaigns", "salesforce_campaigns_types.csv")
    result = run(db, "costs", "costs_salesforce_report.csv")
    # 7015e000005Nur1 and 7015e000005nur1 are two campaigns; 7015E000005NUR1AAC (18, upper case) is the first
    assert costs(db) == [
        ("sf-7015e000005Nur1AAC", "2024-01-15", "media_spend", 1250.5, "LinkedIn"),  # two lines added up
        ("sf-7015e000005Nur1AAC", "2024-01-16", "platform_fees", 40.0, "LinkedIn"),
        ("sf-7015e000005Syn2AAC", "2024-01-20", "creative_production", 400.0, None),
        ("sf-7015e000005nur1AAA", "2024-01-15", "media_spend", 99.0, "LinkedIn"),
    ]
    assert result.rows_quarantined == 1  # 7015e000005Evt9: no such campaign yet
    assert query(db, "select line, reason from import_quarantine") == [
        (7, 'Campaign ID "7015e000005Evt9" matches no row of campaigns; import that first or fix the value')
    ]


def test_campaign_members_and_their_references_take_either_form(db, tmp_path):
    run(db, "salesforce-campaigns", "salesforce_campaigns_types.csv")
    leads = write_csv(
        tmp_path / "leads.csv",
        ["Id", "Email", "FirstName", "LastName", "Company"],
        [["00Q5e000009Lea1", "lea@example.org", "Lea", "Lane", "Example Org"]],
    )
    run(db, "salesforce-leads", leads)
    members = write_csv(
        tmp_path / "members.csv",
        ["Id", "CampaignId", "LeadId", "Status", "CreatedDate"],
        [
            [
                "00v5e000009Mem1",
                "7015e000005Web4",
                "00Q5E000009LEA1" + V.salesforce_id18("00Q5e000009Lea1")[15:],
                "Sent",
                "2024-03-01",
            ]
        ],
    )
    run(db, "salesforce-campaign-members", members)
    lead_18 = V.salesforce_id18("00Q5e000009Lea1")
    assert query(db, "select touchpoint_id, contact_id, campaign_id, channel from touchpoints") == [
        (f"sf-{V.salesforce_id18('00v5e000009Mem1')}", f"sf-{lead_18}", "sf-7015e000005Web4AAC", "webinar")
    ]


# -- cost sheets are ledgers --------------------------------------------------------------------


def test_lines_of_one_key_add_up_and_the_money_reconciles(db):
    run(db, "salesforce-campaigns", "salesforce_campaigns_types.csv")
    result = run(db, "costs", "costs_salesforce_report.csv")
    # 1000 + 250.50 + 99 + 40 + 400 loaded, 75 quarantined (its campaign is unknown)
    assert (result.amount_read, result.amount_loaded, result.amount_quarantined, result.amount_replaced) == (
        1864.5,
        1789.5,
        75.0,
        0.0,
    )
    assert (result.rows_loaded, result.rows_updated, result.rows_merged) == (5, 0, 0)  # no line is lost
    assert query(db, "select sum(amount) from campaign_costs") == [(1789.5,)]
    assert query(
        db, "select amount_read, amount_loaded, amount_quarantined from import_runs where source = 'costs'"
    ) == [(1864.5, 1789.5, 75.0)]


def test_reimporting_the_same_sheet_changes_nothing(db):
    run(db, "salesforce-campaigns", "salesforce_campaigns_types.csv")
    run(db, "costs", "costs_salesforce_report.csv")
    before = costs(db)
    again = run(db, "costs", "costs_salesforce_report.csv")
    assert costs(db) == before
    assert (again.rows_loaded, again.rows_updated, again.amount_loaded, again.amount_replaced) == (0, 5, 1789.5, 1789.5)


def test_a_later_sheet_replaces_the_keys_it_holds_and_leaves_the_others(db, tmp_path):
    run(db, "salesforce-campaigns", "salesforce_campaigns_types.csv")
    run(db, "costs", "costs_salesforce_report.csv")
    correction = write_csv(
        tmp_path / "correction.csv",
        ["Campaign ID", "Date", "Category", "Amount", "Platform"],
        [
            ["7015e000005Nur1AAC", "2024-01-15", "Media Spend", "600", "LinkedIn"],
            ["7015e000005Nur1AAC", "2024-01-15", "Media Spend", "650", "LinkedIn"],
            ["7015e000005Nur1AAC", "2024-01-15", "Media Spend", "30", "Google Ads"],  # another platform: a new key
        ],
    )
    result = run(db, "costs", correction)
    assert (result.amount_loaded, result.amount_replaced, result.rows_updated, result.rows_loaded) == (
        1280.0,
        1250.5,
        2,
        1,
    )
    assert costs(db) == [
        ("sf-7015e000005Nur1AAC", "2024-01-15", "media_spend", 30.0, "Google Ads"),
        ("sf-7015e000005Nur1AAC", "2024-01-15", "media_spend", 1250.0, "LinkedIn"),  # 600 + 650 replaces 1250.50
        ("sf-7015e000005Nur1AAC", "2024-01-16", "platform_fees", 40.0, "LinkedIn"),  # not in the correction: kept
        ("sf-7015e000005Syn2AAC", "2024-01-20", "creative_production", 400.0, None),
        ("sf-7015e000005nur1AAA", "2024-01-15", "media_spend", 99.0, "LinkedIn"),
    ]


def test_the_ledger_refuses_to_commit_money_that_does_not_reconcile(db, monkeypatch):
    from analytics.imports import sql

    run(db, "salesforce-campaigns", "salesforce_campaigns_types.csv")
    original = sql.ledger_statements

    def losing_a_line(plan, run_id, keys="import_ledger"):
        # a bug that drops one key on its way in
        statements = original(plan, run_id, keys)
        statements[1] = statements[1] + " where category <> 'platform_fees'"
        return statements

    monkeypatch.setattr(sql, "ledger_statements", losing_a_line)
    with pytest.raises(RuntimeError, match="does not reconcile"):
        run(db, "costs", "costs_salesforce_report.csv")
    assert costs(db) == [] and query(db, "select count(*) from import_runs where source = 'costs'") == [(0,)]


def test_summary_reports_the_money_in_json_and_words(db, capsys):
    run(db, "salesforce-campaigns", "salesforce_campaigns_types.csv")
    with pytest.raises(SystemExit) as done:
        main(["import", "costs", str(FIXTURES / "costs_salesforce_report.csv"), "--db", str(db), "--json"])
    assert done.value.code in (None, 0)
    import json

    (line,) = [json.loads(text) for text in capsys.readouterr().out.splitlines() if text.strip()]
    assert (line["amount_read"], line["amount_loaded"], line["amount_quarantined"]) == (1864.5, 1789.5, 75.0)
    with pytest.raises(SystemExit):
        main(["import", "costs", str(FIXTURES / "costs_salesforce_report.csv"), "--db", str(db)])
    out = capsys.readouterr().out
    assert "amount: read 1,864.50 = loaded 1,789.50 + quarantined 75.00; it replaces 1,789.50" in out


# -- recheck ------------------------------------------------------------------------------------


def test_recheck_loads_rows_whose_campaign_arrived_and_keeps_the_others(db):
    run(db, "salesforce-campaigns", "salesforce_campaigns_types.csv")
    imported = run(db, "costs", "costs_salesforce_report.csv")
    run(db, "costs", "costs.csv")  # its rows name campaigns that never arrive
    nothing = recheck_quarantine(db, "costs")
    assert [r.rows_loaded for r in nothing] == [0, 0]  # nothing arrived yet: every row keeps its reason
    run(db, "salesforce-campaigns", "salesforce_campaigns_late.csv")  # 7015e000005Evt9 arrives
    (first, second) = recheck_quarantine(db, "costs")
    assert (first.kind, first.rechecked_run_id, first.rows_read, first.rows_loaded) == (
        "recheck",
        imported.run_id,
        1,
        1,
    )
    assert (first.amount_read, first.amount_loaded, first.amount_quarantined) == (75.0, 75.0, 0.0)
    assert (second.rows_read, second.rows_loaded, second.rows_quarantined) == (5, 0, 5)
    assert ("sf-7015e000005Evt9AAC", "2024-01-20", "creative_production", 75.0, None) in costs(db)
    waiting = query(db, "select run_id, line from import_quarantine where resolved_run_id is null order by 1, 2")
    assert len(waiting) == 5 and all(run_id != imported.run_id for run_id, _ in waiting)
    assert query(db, "select resolved_run_id from import_quarantine where run_id = ?", [imported.run_id]) == [
        (first.run_id,)
    ]
    # the ledger: one recheck run per import rechecked, reconciled like an import
    assert query(
        db, "select kind, rows_read, rows_loaded, amount_loaded from import_runs where run_id = ?", [first.run_id]
    ) == [("recheck", 1, 1, 75.0)]
    assert recheck_quarantine(db, "costs")[0].rows_loaded == 0  # again: nothing more passes


def test_a_rechecked_line_adds_to_its_own_sheets_total(db, tmp_path):
    run(db, "salesforce-campaigns", "salesforce_campaigns_types.csv")
    sheet = write_csv(
        tmp_path / "sheet.csv",
        ["Campaign ID", "Date", "Category", "Amount", "Platform"],
        [
            ["7015e000005Syn2", "2024-02-01", "Media Spend", "100", "Taboola"],
            ["7015e000005Syn2", "2024-02-01", "Media Spend", "abc", "Taboola"],  # a typo: quarantined
        ],
    )
    run(db, "costs", sheet)
    # the kept line is corrected where it waits (as an admin would after a bad export), then rechecked
    con = duckdb.connect(str(db))
    con.execute('update import_quarantine set raw_values = json_merge_patch(raw_values, \'{"Amount": "25"}\')')
    con.close()
    (result,) = recheck_quarantine(db)
    assert (result.rows_updated, result.amount_loaded) == (1, 25.0)
    assert [row for row in costs(db) if row[2] == "media_spend"] == [
        ("sf-7015e000005Syn2AAC", "2024-02-01", "media_spend", 125.0, "Taboola")  # 100 + 25: the sheet's total
    ]


def test_a_line_whose_key_a_later_sheet_set_is_superseded(db, tmp_path):
    run(db, "salesforce-campaigns", "salesforce_campaigns_types.csv")
    early = write_csv(
        tmp_path / "early.csv",
        ["Campaign ID", "Date", "Category", "Amount", "Platform"],
        [["7015e000005Evt9", "2024-01-20", "Creative", "75", ""]],
    )
    quarantined = run(db, "costs", early)
    assert quarantined.rows_quarantined == 1
    run(db, "salesforce-campaigns", "salesforce_campaigns_late.csv")
    later = write_csv(
        tmp_path / "later.csv",
        ["Campaign ID", "Date", "Category", "Amount", "Platform"],
        [["7015e000005Evt9", "2024-01-20", "Creative", "80", ""]],  # finance's corrected figure
    )
    run(db, "costs", later)
    (result,) = recheck_quarantine(db)
    assert (result.rows_read, result.rows_loaded, result.rows_updated, result.rows_quarantined) == (1, 0, 0, 1)
    assert (result.amount_loaded, result.amount_quarantined) == (0.0, 75.0)
    assert [row for row in costs(db) if row[0] == "sf-7015e000005Evt9AAC"] == [
        ("sf-7015e000005Evt9AAC", "2024-01-20", "creative_production", 80.0, None)
    ]
    ((reason, resolved),) = query(db, "select reason, resolved_run_id from import_quarantine")
    assert resolved is None and reason.startswith("superseded: a later import (") and "later.csv" in reason


def test_rechecked_rows_fill_in_but_never_overwrite_what_was_loaded_since(db, tmp_path):
    run(db, "salesforce-accounts", "salesforce_accounts.csv")
    old = write_csv(
        tmp_path / "old_tickets.csv",
        ["ticket_id", "account_id", "opened_at", "severity", "csat"],
        [
            ["T-9", "acme.example", "2024-03-01 09:00", "low", "2"],
            ["T-8", "acme.example", "2024-03-01 10:00", "high", ""],
        ],
    )
    run(db, "support-tickets", old)  # both quarantined: no account acme.example yet
    new = write_csv(
        tmp_path / "new_tickets.csv",
        ["ticket_id", "account_id", "opened_at", "severity"],
        [["T-9", "radium-labs.com", "2024-03-01 09:00", "high"]],  # since then, T-9 was loaded with more recent data
    )
    run(db, "support-tickets", new)
    companies = write_csv(
        tmp_path / "companies.csv",
        ["Record ID", "Company name", "Company Domain Name"],
        [["77", "Acme", "acme.example"]],
    )
    run(db, "hubspot-companies", companies)
    (result,) = [r for r in recheck_quarantine(db, "support-tickets")]
    assert (result.rows_read, result.rows_loaded, result.rows_updated) == (2, 1, 1)
    assert query(db, "select ticket_id, account_id, severity, csat from support_tickets order by 1") == [
        ("T-8", "hs-77", "high", None),  # new: loaded
        ("T-9", "sf-0015e000002ACC1AAA", "high", 2.0),  # existing: its values kept, the empty csat filled in
    ]


def test_recheck_from_the_cli_one_source_or_all(db, capsys):
    with pytest.raises(SystemExit) as done:
        main(["import", "recheck", "--db", str(db)])
    assert done.value.code == 2  # no warehouse yet
    run(db, "salesforce-campaigns", "salesforce_campaigns_types.csv")
    run(db, "costs", "costs_salesforce_report.csv")
    capsys.readouterr()
    with pytest.raises(SystemExit):
        main(["import", "recheck", "--source", "touchpoints", "--db", str(db)])
    assert "No rows of touchpoints are waiting in quarantine; nothing to recheck." in capsys.readouterr().out
    run(db, "salesforce-campaigns", "salesforce_campaigns_late.csv")
    with pytest.raises(SystemExit):
        main(["import", "recheck", "--source", "costs", "--db", str(db)])
    out = capsys.readouterr().out
    assert (
        "rechecked 1 quarantined rows -> loaded 1, updated 0, merged 0, still quarantined 0 into campaign_costs" in out
    )
    with pytest.raises(SystemExit) as done:
        main(["import", "recheck", str(FIXTURES / "costs.csv"), "--db", str(db)])
    assert done.value.code == 2
