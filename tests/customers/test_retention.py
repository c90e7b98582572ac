"""Each retention trigger on a crafted account that fires it, and on one exactly at its boundary that does not."""

from __future__ import annotations

import pytest

from analytics.customers import retention
from analytics.customers.config import HealthConfig
from tests.customers.crafted import Crafted, T, day

TEN_FEATURES = tuple(f"feature_{k}" for k in range(10))
# the score is payment stability alone, so a drop of exactly 20 points can be built from invoices
CONFIG = HealthConfig(weights=(0, 0, 0, 0, 1, 0), key_features=TEN_FEATURES)


@pytest.fixture(scope="module")
def triggers(tmp_path_factory):
    w = Crafted(tmp_path_factory.mktemp("triggers") / "triggers.duckdb")
    # health_score_drop: 100 → 75 (fires) and 100 → 80 (exactly 20 points: does not)
    w.account("DROP_FIRE")
    for due in (300, 200, 100):
        w.invoice("DROP_FIRE", due=due, paid=due + 1)
    w.invoice("DROP_FIRE", due=10)  # unpaid, past due at T
    w.account("DROP_EDGE")
    for due in (300, 250, 200, 100):
        w.invoice("DROP_EDGE", due=due, paid=due + 1)
    w.invoice("DROP_EDGE", due=10)
    # usage_decline: 10 → 4 events (60%: fires), 10 → 5 (exactly 50%: does not)
    w.account("DECLINE_FIRE")
    w.usage("DECLINE_FIRE", list(range(31, 41)))
    w.usage("DECLINE_FIRE", list(range(0, 4)))
    w.account("DECLINE_EDGE")
    w.usage("DECLINE_EDGE", list(range(31, 41)))
    w.usage("DECLINE_EDGE", list(range(0, 5)))
    # support_escalation: escalated 29 days before (fires), exactly 30 days before (does not)
    w.account("ESCALATION_FIRE")
    escalated = w.ticket("ESCALATION_FIRE", opened=29, escalated=True, severity="urgent")
    w.account("ESCALATION_EDGE")
    w.ticket("ESCALATION_EDGE", opened=30, escalated=True)
    # non_response: emails in (t-45, t]; last open 46 days before (fires), exactly 45 (does not), never (fires)
    for name, last_open in (("SILENT_FIRE", 46), ("SILENT_EDGE", 45), ("SILENT_NEVER", None)):
        w.account(name)
        contact = w.contact(name)
        w.email(contact, "sent", [10, 50])
        if last_open is not None:
            w.email(contact, "open", [last_open, 120])
    # usage_plateau: 20 → 21 events (5%: fires), 20 → 22 (exactly 10%: does not)
    w.account("PLATEAU_FIRE")
    w.usage("PLATEAU_FIRE", 45, n=20)
    w.usage("PLATEAU_FIRE", 15, n=21)
    w.account("PLATEAU_EDGE")
    w.usage("PLATEAU_EDGE", 45, n=20)
    w.usage("PLATEAU_EDGE", 15, n=22)
    # feature_underutilization: 2 of 10 key features (20%: fires), 3 of 10 (exactly 30%: does not)
    w.account("ADOPTION_FIRE")
    w.account("ADOPTION_EDGE")
    for k in range(2):
        w.usage("ADOPTION_FIRE", 3, TEN_FEATURES[k])
    for k in range(3):
        w.usage("ADOPTION_EDGE", 3, TEN_FEATURES[k])
    # payment_delays: due 89 days before and paid late (fires), due exactly 90 days before (does not),
    # unpaid and past due (fires), unpaid and due on T itself (not past due: does not)
    w.account("LATE_FIRE")
    late = w.invoice("LATE_FIRE", due=89, paid=80)
    w.account("LATE_EDGE")
    w.invoice("LATE_EDGE", due=90, paid=80)
    w.account("LATE_UNPAID")
    w.invoice("LATE_UNPAID", due=5)
    w.account("LATE_TODAY")
    w.invoice("LATE_TODAY", due=0)
    w.usage("LATE_TODAY", 0, TEN_FEATURES[0])  # the data's last day is T
    con = w.load()
    frame = retention.trigger_frame(con, T, CONFIG)
    flags = {item["account_id"]: item for item in retention.retention_flags(con, T, CONFIG)}
    yield {row["account_id"]: row for row in frame.iter_rows(named=True)}, flags, {"ticket": escalated, "late": late}
    w.close()


CASES = [
    ("health_score_drop", "DROP_FIRE", "DROP_EDGE"),
    ("usage_decline", "DECLINE_FIRE", "DECLINE_EDGE"),
    ("support_escalation", "ESCALATION_FIRE", "ESCALATION_EDGE"),
    ("non_response", "SILENT_FIRE", "SILENT_EDGE"),
    ("usage_plateau", "PLATEAU_FIRE", "PLATEAU_EDGE"),
    ("feature_underutilization", "ADOPTION_FIRE", "ADOPTION_EDGE"),
    ("payment_delays", "LATE_FIRE", "LATE_EDGE"),
]


@pytest.mark.parametrize(("trigger", "fires", "boundary"), CASES, ids=[c[0] for c in CASES])
def test_fires_and_not_at_its_boundary(triggers, trigger, fires, boundary):
    rows, flags, _ = triggers
    assert rows[fires][trigger] is True
    assert rows[boundary][trigger] is False
    assert trigger in [t["name"] for t in flags[fires]["triggers"]]
    assert trigger not in [t["name"] for t in flags.get(boundary, {"triggers": []})["triggers"]]


def test_the_other_cases(triggers):
    rows, _, _ = triggers
    assert rows["SILENT_NEVER"]["non_response"] is True  # no open or click ever
    assert rows["LATE_UNPAID"]["payment_delays"] is True
    assert rows["LATE_TODAY"]["payment_delays"] is False  # due on T: not yet past due
    assert rows["DROP_FIRE"]["score_30_days_before"] == 100.0 and rows["DROP_FIRE"]["overall_score"] == 75.0
    assert rows["DROP_EDGE"]["score_30_days_before"] == 100.0 and rows["DROP_EDGE"]["overall_score"] == 80.0


def test_risk_levels(triggers):
    rows, _, _ = triggers
    assert rows["ESCALATION_FIRE"]["risk_level"] == "high"
    assert rows["PLATEAU_FIRE"]["risk_level"] == "medium"  # medium triggers only
    assert rows["LATE_FIRE"]["risk_level"] == "medium"
    assert rows["ESCALATION_EDGE"]["risk_level"] == "none"
    for row in rows.values():
        high = any(row[name] for name in retention.HIGH_RISK_TRIGGERS)
        medium = any(row[name] for name in retention.MEDIUM_RISK_TRIGGERS)
        assert row["risk_level"] == ("high" if high else "medium" if medium else "none")


def test_each_trigger_carries_its_evidence(triggers):
    _, flags, ids = triggers

    def fired(account, name):
        return next(t for t in flags[account]["triggers"] if t["name"] == name)

    drop = fired("DROP_FIRE", "health_score_drop")
    assert (drop["score_before"], drop["score_now"], drop["drop_points"]) == (100.0, 75.0, 25.0)
    decline = fired("DECLINE_FIRE", "usage_decline")
    assert (decline["events_previous_30_days"], decline["events_last_30_days"]) == (10, 4)
    assert decline["window"] == f"({day(30)}, {T}]" and "fell 60%" in decline["evidence"]
    escalation = fired("ESCALATION_FIRE", "support_escalation")
    assert escalation["tickets"] == [
        {"ticket_id": ids["ticket"], "opened_on": day(29).isoformat(), "severity": "urgent"}
    ]
    silence = fired("SILENT_FIRE", "non_response")
    assert silence["last_engagement"] == day(46).isoformat() and silence["days_since_engagement"] == 46
    assert silence["emails_sent_45_days"] == 1
    assert fired("SILENT_NEVER", "non_response")["last_engagement"] is None
    adoption = fired("ADOPTION_FIRE", "feature_underutilization")
    assert (adoption["key_features_used"], adoption["key_features"]) == (2, 10)
    late = fired("LATE_FIRE", "payment_delays")
    assert late["invoices"][0]["invoice_id"] == ids["late"] and late["invoices"][0]["days_late"] == 9
    assert "paid" in late["evidence"] and "9 days late" in late["evidence"]
    unpaid = fired("LATE_UNPAID", "payment_delays")
    assert unpaid["invoices"][0]["paid_date"] is None and unpaid["invoices"][0]["days_late"] == 5
