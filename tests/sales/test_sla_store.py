"""The first-touch SLA by hand, replayed SLA around time off, the routing audit in the ops store, and the
write-back targets through the outbox's own planner."""

from __future__ import annotations

import json
from datetime import date, datetime

import duckdb
import polars as pl
import pytest
import sqlalchemy as sa

from analytics.crm.actions.queue import plan_action
from analytics.ops.store import ops_engine
from analytics.ops.tables import event_outbox, lead_assignments, routing_audit
from analytics.sales.routing import RoutingConfig
from analytics.sales.sla import replay_sla, sla_breaches
from analytics.sales.store import add_time_off, audit_frame, month_loads, record_decisions, time_off_entries
from analytics.sales.writeback import LEAD_SCORE_PROPERTY, OWNER_PROPERTY, follow_up_targets, owner_targets
from tests.sales.fixtures import NOW, tiny_warehouse

CONFIG = RoutingConfig(sla_hours=4)


@pytest.fixture()
def engine(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'ops.sqlite'}"
    monkeypatch.setenv("REVLENS_OPS_URL", url)
    return ops_engine(url)


def test_first_touch_sla_in_business_hours(tmp_path):
    contact = lambda cid, created: (cid, None, f"{cid}@x.com", cid, "L", "X", "Web", created, f"h{cid}", None)  # noqa: E731
    path = tiny_warehouse(
        tmp_path / "sla.duckdb",
        contacts=[
            contact("A", datetime(2026, 9, 28, 9)),  # Mon 09:00, touched 12:00: 3 h
            contact("B", datetime(2026, 9, 25, 16)),  # Fri 16:00, touched Mon 13:00: 1 + 4 = 5 h, late
            contact("C", datetime(2026, 9, 29, 9)),  # Tue 09:00, untouched at Wed 12:00: 8 + 3 = 11 h > 2 × 4
            contact("D", datetime(2026, 9, 30, 9)),  # Wed 09:00, untouched: 3 h
            contact("E", datetime(2026, 9, 29, 14)),  # Tue 14:00, untouched: 3 + 3 = 6 h
        ],
    )
    con = duckdb.connect(path)
    con.execute("update contacts set owner_id = 'R1'")
    con.execute(
        "insert into sales_activities values ('a1', 'A', 'R1', 'call', '2026-09-28 12:00'), "
        "('b1', 'B', 'R1', 'email', '2026-09-28 13:00')"
    )
    con.close()
    con = duckdb.connect(path, read_only=True)
    try:
        frame = sla_breaches(con, CONFIG, NOW, days=30)
    finally:
        con.close()
    got = {r["contact_id"]: (r["wait_hours"], r["breached"], r["action"]) for r in frame.iter_rows(named=True)}
    assert got == {
        "A": (3.0, False, ""),
        "B": (5.0, True, "touched late"),
        "C": (11.0, True, "escalate"),
        "D": (3.0, False, ""),
        "E": (6.0, True, "reassign"),
    }


def test_replayed_sla_counts_the_reps_days_off():
    assignments = pl.DataFrame(
        {
            "contact_id": ["x", "y", "q"],
            "created_at": [datetime(2026, 9, 1, 10), datetime(2026, 9, 3, 16), datetime(2026, 9, 1, 10)],
            "rep_id": ["R1", "R1", None],
        }
    )
    away = pl.DataFrame(
        {"rep_id": ["R1"], "starts_on": [date(2026, 9, 4)], "ends_on": [date(2026, 9, 4)], "reason": ["leave"]}
    )
    result = replay_sla(assignments, {"R1": 3.0}, away, CONFIG)
    # x: 3 business hours later, within 4. y: Thu 16:00 + 1 h, then Friday off, Mon 09:00 + 2 h: the firm's clock
    # counts Thu 1 + Fri 8 + Mon 2 = 11 h. q waits in the queue: a breach.
    assert result["wait_hours"].to_list()[:2] == [3.0, 11.0]
    assert result["breached"].to_list() == [False, True, True]


def test_every_live_decision_is_audited_with_its_candidates_and_skips(engine):
    decisions = pl.DataFrame(
        {
            "contact_id": ["L1", "L2"],
            "created_at": [NOW, NOW],
            "rep_id": ["R2", None],
            "queue": [None, "fallback queue"],
            "rule": ["territory and segment EMEA/SMB (weighted)", "fallback queue"],
            "candidates": ["R1, R2", ""],
            "skipped": ["R1: out of office until 2026-10-02", "no rep could take it"],
            "high_score": [False, False],
        }
    )
    run_id = record_decisions(decisions, "cfg123", "ana", {"L1": 55.0}, engine=engine)
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(sa.select(routing_audit).order_by(routing_audit.c.id))]
        assigned = conn.execute(sa.select(lead_assignments)).all()
        events = conn.execute(sa.select(event_outbox.c.event_type, event_outbox.c.topic)).all()
    assert [r["run_id"] for r in rows] == [run_id, run_id]
    assert json.loads(rows[0]["candidates"]) == ["R1", "R2"]
    assert json.loads(rows[0]["skipped"]) == {"R1": "out of office until 2026-10-02"}
    assert rows[0]["score"] == 55.0 and rows[1]["queue"] == "fallback queue"
    assert len(assigned) == 1 and month_loads(engine=engine) == {"R2": 1}
    assert events == [("leads.routed", "lead-capture")]
    assert audit_frame(engine=engine).height == 2


def test_time_off_entered_on_the_page_is_kept(engine):
    add_time_off("R1", date(2026, 10, 1), date(2026, 10, 3), "vacation", "ana", engine=engine)
    assert time_off_entries(engine=engine).rows() == [("R1", date(2026, 10, 1), date(2026, 10, 3), "vacation")]
    with pytest.raises(Exception, match="swap the dates"):
        add_time_off("R1", date(2026, 10, 3), date(2026, 10, 1), "", "ana", engine=engine)


def test_write_back_targets_pass_the_outbox_planner(engine):
    leads = pl.DataFrame(
        {
            "contact_id": [f"C{i}" for i in range(150)],
            "hubspot_id": [str(1000 + i) for i in range(150)],
            "email": [f"c{i}@x.com" for i in range(150)],
            "rule_score": [float(i % 100) for i in range(150)],
        }
    )
    reps = pl.DataFrame({"rep_id": ["R1"], "hubspot_owner_id": ["777"]})
    assigned = pl.DataFrame({"contact_id": ["C1", "C2"], "rep_id": ["R1", None]})
    targets = owner_targets(assigned, leads, reps)
    assert targets == [
        {"properties": {OWNER_PROPERTY: "777", LEAD_SCORE_PROPERTY: 1.0}, "hubspot_id": "1001", "email": "c1@x.com"}
    ]
    assert plan_action("update_properties", targets, {"topic": "lead-capture"}, engine=engine).ok
    follow = follow_up_targets(leads, leads["contact_id"].to_list(), "add_to_list")
    plan = plan_action("add_to_list", follow, {"list_id": "42"}, engine=engine)
    assert plan.ok and len(plan.targets) == 150
    small = plan_action("add_to_list", follow[:5], {"list_id": "42"}, engine=engine)
    assert not small.ok and "100" in small.violations[0]  # the audience guard rail of the queue
