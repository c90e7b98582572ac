"""CRM pull sync: cursor, conflict rule, inserts, version bump, the 10,000-result search cap."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import timedelta

import duckdb
import pytest
import sqlalchemy as sa

from analytics.crm.actions import queue as outbox
from analytics.crm.hubspot import transport as hs
from analytics.crm.sync import get_cursor, iso, pull, sync_hubspot
from analytics.ops.tables import event_outbox, job_runs
from tests.fakes.hubspot_server import HubSpotServer
from tests.paths import ROOT

TOKEN = "pat-sync-token"


@pytest.fixture()
def setup(demo_db, tmp_path, monkeypatch):
    db = tmp_path / "warehouse.duckdb"
    shutil.copy(demo_db, db)
    monkeypatch.setenv("REVLENS_OPS_URL", f"sqlite:///{tmp_path / 'ops.sqlite'}")
    monkeypatch.setenv("REVLENS_SECRETS", str(tmp_path / "absent.toml"))
    with HubSpotServer(TOKEN) as server:
        gateway = hs.HubSpotGateway(TOKEN, server.base_url, hs.Timeouts(2, 5), hs.RateLimiter(10_000, 1))
        yield db, server, gateway


def row(db, sql, params=()):
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


def contact(db, hubspot_id):
    return row(
        db,
        "select contact_id, first_name, lifecycle_stage, owner_id, lead_score, updated_at, email, "
        "account_id from contacts where hubspot_id = ?",
        [hubspot_id],
    )[0]


def test_conflict_rule_cursor_and_inserts(setup):
    db, server, gateway = setup
    newer_id, older_id = "100000000", "100000001"
    newer, older = contact(db, newer_id), contact(db, older_id)
    rep_id, owner = row(db, "select rep_id, hubspot_owner_id from sales_reps order by rep_id desc limit 1")[0]
    version_before = row(db, "select value from _meta where key = 'version'")[0][0]
    # modified in HubSpot after the warehouse row: HubSpot's name wins
    server.add_contact(
        newer[6],
        contact_id=newer_id,
        firstname="Renamed",
        lifecyclestage="evangelist",
        hubspot_owner_id=owner,
        lastmodifieddate=iso(newer[5] + timedelta(days=1)),
    )
    # modified in HubSpot before the warehouse row: the warehouse's name stays, but the stage and owner are HubSpot's
    server.add_contact(
        older[6],
        contact_id=older_id,
        firstname="Stale",
        lifecyclestage="other",
        hubspot_owner_id="123",
        lastmodifieddate=iso(older[5] - timedelta(days=1)),
    )
    server.add_contact(
        "brand.new@example.com",
        contact_id="555",
        firstname="Nova",
        lifecyclestage="lead",
        lastmodifieddate="2026-11-01T10:00:00.000Z",
    )
    deal_id = row(db, "select hubspot_id, updated_at, amount from opportunities order by hubspot_id limit 1")[0]
    server.add_deal(
        deal_id=deal_id[0],
        amount=str(deal_id[2] + 1000),
        dealstage="closedwon",
        hs_is_closed="true",
        hs_is_closed_won="true",
        hs_lastmodifieddate=iso(deal_id[1] + timedelta(hours=1)),
    )
    server.add_deal(
        contact_id=newer_id,
        deal_id="999",
        dealname="Expansion",
        amount="5000",
        dealstage="closedwon",
        closedate="2026-11-02T00:00:00.000Z",
        hs_is_closed="true",
        hs_is_closed_won="true",
        hs_lastmodifieddate="2026-11-02T09:00:00.000Z",
    )

    results = {r.object_type: r for r in sync_hubspot(db, gateway)}
    assert (results["contacts"].pulled, results["contacts"].updated, results["contacts"].inserted) == (3, 2, 1)
    assert (results["deals"].pulled, results["deals"].updated, results["deals"].inserted) == (2, 1, 1)

    after_newer, after_older = contact(db, newer_id), contact(db, older_id)
    assert after_newer[1] == "Renamed" and after_newer[2] == "evangelist" and after_newer[3] == rep_id
    assert after_newer[4] == newer[4]  # lead score: RevLens wins
    assert after_newer[5] == newer[5] + timedelta(days=1)
    assert after_older[1] == older[1]  # the warehouse row was newer: its name stays
    assert after_older[2] == "other" and after_older[3] == "hubspot-owner:123"  # CRM wins for stage and owner
    assert after_older[5] == older[5]
    assert contact(db, "555")[0] == "hs-555"
    assert row(db, "select amount, stage, is_closed_won from opportunities where hubspot_id = ?", [deal_id[0]])[0] == (
        deal_id[2] + 1000,
        "closedwon",
        True,
    )
    new_deal = row(
        db, "select opportunity_id, contact_id, account_id, amount from opportunities where hubspot_id = '999'"
    )[0]
    assert new_deal == ("hs-999", newer[0], newer[7], 5000.0)
    assert row(db, "select value from _meta where key = 'version'")[0][0] != version_before

    engine = outbox.store()
    assert get_cursor(engine, "contacts") == "2026-11-01T10:00:00.000Z"  # the newest modification pulled
    with engine.connect() as conn:
        events = conn.execute(sa.select(event_outbox.c.topic, event_outbox.c.envelope)).all()
        assert conn.execute(sa.select(job_runs.c.status)).scalars().all() == ["succeeded"]
    assert sorted(topic for topic, _ in events) == ["lead-capture", "revenue-attribution"]
    assert json.loads(events[0][1])["event_type"] == "crm.sync.completed"

    # the next run pulls only what changed at or after the cursor
    server.add_contact("later@example.com", contact_id="556", lastmodifieddate="2030-01-01T00:00:00.000Z")
    again = {r.object_type: r for r in sync_hubspot(db, gateway)}
    # >= cursor: the record at the cursor is read again (and merges to the same row), plus the new one
    assert (again["contacts"].pulled, again["contacts"].updated, again["contacts"].inserted) == (2, 1, 1)
    assert row(db, "select count(*) from contacts where hubspot_id = '555'")[0][0] == 1
    assert again["deals"].pulled == 1 and again["deals"].inserted == 0  # the newest deal, read again (>=)


def test_search_restarts_from_the_newest_time_past_10000_results(setup):
    _, server, gateway = setup
    for i in range(10_250):
        server.add_contact(
            f"p{i}@example.com",
            contact_id=str(10_000 + i),
            lastmodifieddate=f"2026-01-01T00:{i // 600:02d}:{(i // 10) % 60:02d}.{i % 10:03d}Z",
        )
    records = pull(gateway, "contacts", None)
    assert len(records) == 10_250 and len({r["hs_object_id"] for r in records}) == 10_250


def test_sync_cli_without_a_token_says_how_to_fix_it(setup, tmp_path):
    db, _, _ = setup
    env = {
        "PATH": "/usr/bin:/bin",
        "REVLENS_SECRETS": str(tmp_path / "absent.toml"),
        "REVLENS_OPS_URL": f"sqlite:///{tmp_path / 'ops2.sqlite'}",
    }
    result = subprocess.run(
        [sys.executable, "-m", "analytics", "sync", "hubspot", "--db", str(db)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2 and "HUBSPOT_ACCESS_TOKEN" in result.stderr


def test_cursor_times_convert_both_ways():
    from analytics.crm.sync import epoch_ms, parse_time

    assert epoch_ms("1970-01-01T00:00:01.500Z") == "1500"
    assert epoch_ms("2026-11-01T10:00:00.000Z") == "1793527200000"
    assert iso(parse_time("1793527200000")) == "2026-11-01T10:00:00.000Z"
    assert iso(parse_time("2026-11-01T11:00:00+01:00")) == "2026-11-01T10:00:00.000Z"


def test_a_record_indexed_late_just_before_the_cursor_is_still_pulled(setup):
    db, server, gateway = setup
    server.add_contact("first@example.com", contact_id="701", lastmodifieddate="2026-11-01T10:00:00.000Z")
    sync_hubspot(db, gateway)
    # appear in search only now, modified before the cursor: 3 minutes (inside the overlap) and 10 minutes
    server.add_contact("late@example.com", contact_id="702", lastmodifieddate="2026-11-01T09:57:00.000Z")
    server.add_contact("older@example.com", contact_id="703", lastmodifieddate="2026-11-01T09:50:00.000Z")
    again = {r.object_type: r for r in sync_hubspot(db, gateway)}
    assert again["contacts"].pulled == 2  # 701 again (merges to the same row) and 702
    assert row(db, "select hubspot_id from contacts where hubspot_id in ('701', '702', '703') order by 1") == [
        ("701",),
        ("702",),
    ]
