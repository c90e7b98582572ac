"""The streamed import (big appends go from the file to the table in one pass) gives what the staged one
gives: the same rows, counts, quarantine and merges, also when key hashes collide."""

from __future__ import annotations

import csv
import random
from pathlib import Path

import pytest

from analytics.imports import import_files, sql
from analytics.warehouse.schema import TABLES
from tests.imports.test_import_files import query
from tests.paths import FIXTURES

IMPORTS = [
    ("salesforce-accounts", FIXTURES / "salesforce_accounts.csv"),
    ("hubspot-companies", FIXTURES / "hubspot_companies.csv"),
    ("salesforce-campaigns", FIXTURES / "salesforce_campaigns.csv"),
    ("touchpoints", FIXTURES / "touchpoints.csv"),
    ("support-tickets", FIXTURES / "support_tickets.csv"),
    ("invoices", FIXTURES / "invoices.csv"),
]


def messy_touchpoints(path: Path, rows: int = 3000, seed: int = 11) -> Path:
    """Touchpoints with repeated ids, bad dates, empty contacts, unknown channels and values with spaces."""
    rng = random.Random(seed)
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(
            ["touchpoint_id", "contact_id", "campaign_id", "channel", "touchpoint_type", "ts", "engagement_score"]
        )
        for _ in range(rows):
            tid = f"T{rng.randrange(rows * 9 // 10)}"  # about a tenth repeat
            contact = "" if rng.random() < 0.02 else f" C{rng.randrange(500)} "
            ts = "not a date" if rng.random() < 0.02 else f"2024-0{rng.randrange(1, 10)}-1{rng.randrange(10)} 10:00"
            channel = rng.choice(["email", "Paid Search", "Email Nurture", "webinar", "Content Syndication"])
            writer.writerow([tid, contact, f"K{rng.randrange(9)}", channel, "visit", ts, f"{rng.random():.3f}"])
    return path


def everything(db: Path, files: list[tuple[str, Path]]) -> dict:
    results = [import_files(db, source, [path])[0] for source, path in files]
    return {
        "tables": {t: sorted(query(db, f"select * from {t}"), key=repr) for t in TABLES},
        "counts": [
            (r.rows_read, r.rows_loaded, r.rows_updated, r.rows_merged, r.rows_quarantined, r.quality_score, r.warnings)
            for r in results
        ],
        "quarantine": sorted(query(db, "select source, file, line, reason, raw_values from import_quarantine")),
        "merges": sorted(
            query(db, "select table_name, record_id, matched_on, merged_line, kept_line from import_merge_log")
        ),
        "labels": sorted(query(db, "select channel, label from channel_labels")),
    }


@pytest.fixture
def files(tmp_path) -> list[tuple[str, Path]]:
    messy = messy_touchpoints(tmp_path / "messy.csv")
    return IMPORTS + [("touchpoints", messy), ("touchpoints", messy)]  # the second time: every key exists


def test_streamed_and_staged_imports_agree(tmp_path, files, monkeypatch):
    streamed = everything(tmp_path / "streamed.duckdb", files)
    monkeypatch.setattr(sql, "streams", lambda plan: False)
    staged = everything(tmp_path / "staged.duckdb", files)
    assert streamed == staged
    assert streamed["counts"][-2][4] > 0 and streamed["counts"][-2][3] > 0  # the messy file did quarantine and merge


def test_colliding_key_hashes_only_take_the_longer_way(tmp_path, files, monkeypatch):
    expected = everything(tmp_path / "expected.duckdb", files)
    # a hash that collides all the time: every key that shares its length with another looks repeated
    monkeypatch.setattr(sql, "_key_hash", lambda plan, alias: f"hash(length({sql._key_expr(plan.source.key, alias)}))")
    assert everything(tmp_path / "colliding.duckdb", files) == expected


def test_which_imports_stream():
    from analytics.imports.mapping import source_for
    from analytics.imports.plan import plan_import
    from analytics.imports.reading import describe_file

    def plan(source, fixture):
        return plan_import(source_for(source), describe_file(FIXTURES / fixture))

    assert sql.streams(plan("touchpoints", "touchpoints_custom_channels.csv"))
    assert sql.streams(plan("hubspot-companies", "hubspot_companies.csv"))  # unmapped columns go to its extra
    assert not sql.streams(plan("touchpoints", "touchpoints.csv"))  # utm_medium goes to import_extra
    assert not sql.streams(plan("hubspot-contacts", "hubspot_contacts.csv"))  # duplicates by email + company
    assert not sql.streams(plan("costs", "costs.csv"))  # a ledger
    assert not sql.streams(plan("email-events", "email_events.csv"))  # its key holds a reference


def test_insert_first_keys_first_and_staged_imports_agree(tmp_path, monkeypatch):
    """Touchpoints (no primary key) insert first and take their repeated keys out again; a file that repeats
    its own keys and names keys the warehouse holds leaves the warehouse as the other two paths do."""
    first = messy_touchpoints(tmp_path / "first.csv")
    overlapping = messy_touchpoints(tmp_path / "overlapping.csv", rows=2000, seed=12)  # holds some of first's keys
    files = IMPORTS + [("touchpoints", first), ("touchpoints", overlapping)]
    taken = []
    insert_first_sql = sql.insert_first_sql
    monkeypatch.setattr(
        sql, "insert_first_sql", lambda plan, held: taken.append(plan.table) or insert_first_sql(plan, held)
    )
    inserted_first = everything(tmp_path / "first.duckdb", files)
    assert taken == ["touchpoints", "touchpoints"]  # the two messy files (the fixture's has a column for import_extra)
    monkeypatch.setattr(sql, "inserts_first", lambda plan: False)
    keys_first = everything(tmp_path / "keys.duckdb", files)
    monkeypatch.setattr(sql, "streams", lambda plan: False)
    staged = everything(tmp_path / "staged.duckdb", files)
    assert inserted_first == keys_first == staged
    read, loaded, updated, merged, quarantined = inserted_first["counts"][-1][:5]
    assert updated > 0 and merged > 0 and quarantined > 0  # existing keys, repeats and rejects all met
    assert read == loaded + updated + merged + quarantined


def test_insert_first_by_hand(tmp_path):
    """Five lines into a warehouse holding T1: T1 updates it, the later T2 wins and the earlier one is
    merged into it (both logged), T3 is quarantined with its reason, T4 is new."""
    header = "touchpoint_id,contact_id,campaign_id,channel,touchpoint_type,ts,engagement_score\n"
    held = tmp_path / "held.csv"
    held.write_text(header + "T1,C1,K1,email,visit,2024-01-01 10:00,0.1\n")
    new = tmp_path / "new.csv"
    new.write_text(
        header
        + "T1,C1,K1,webinar,visit,2024-01-02 10:00,0.2\n"  # line 2: the held key
        + "T2,C2,K1,email,visit,2024-01-03 10:00,0.3\n"  # line 3: merged into line 4
        + "T2,C2,K1,Email Nurture,click,2024-01-04 10:00,0.4\n"  # line 4: the later line wins
        + "T3,C3,K1,email,visit,not a date,0.5\n"  # line 5: quarantined
        + "T4,C4,K1,email,visit,2024-01-06 10:00,0.6\n"
    )
    db = tmp_path / "w.duckdb"
    import_files(db, "touchpoints", [held])
    (result,) = import_files(db, "touchpoints", [new])
    assert (result.rows_read, result.rows_loaded, result.rows_updated, result.rows_merged, result.rows_quarantined) == (
        5,
        2,
        1,
        1,
        1,
    )
    assert query(
        db, "select touchpoint_id, channel, touchpoint_type, engagement_score from touchpoints order by 1"
    ) == [
        ("T1", "webinar", "visit", 0.2),
        ("T2", "email_nurture", "click", 0.4),
        ("T4", "email", "visit", 0.6),
    ]
    # the merge log keeps both rows of T2 (the held T1 is replaced by its file row: no file row is merged)
    assert query(
        db,
        """select record_id, matched_on, merged_line, kept_line, merged_values ->> 'engagement_score',
                  kept_values ->> 'engagement_score' from import_merge_log""",
    ) == [("T2", "touchpoint_id", 3, 4, "0.3", "0.4")]
    assert query(db, "select line, reason like '%not a date-time%' from import_quarantine") == [(5, True)]
    assert any("Email Nurture" in w for w in result.warnings)
