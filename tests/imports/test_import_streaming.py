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
