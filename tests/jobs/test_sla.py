"""The SLA monitor on recorded samples: percentiles, violations and their events, availability, accuracy."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from analytics.jobs import sla
from analytics.ops.store import ops_engine
from analytics.ops.tables import event_outbox


@pytest.fixture()
def engine(tmp_path):
    return ops_engine(f"sqlite:///{tmp_path / 'ops.sqlite'}")


AT = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def samples(operation, sla_class, durations, status="success"):
    return [sla.Sample(operation, sla_class, d, status, AT + timedelta(seconds=i)) for i, d in enumerate(durations)]


def test_percentiles_by_hand():
    values = [float(v) for v in range(1, 11)]
    # h = (n - 1) q: p50 h = 4.5 -> 5 + .5 * (6 - 5); p95 h = 8.55 -> 9 + .55; p99 h = 8.91 -> 9 + .91
    assert sla.percentile(values, 50) == pytest.approx(5.5)
    assert sla.percentile(values, 95) == pytest.approx(9.55)
    assert sla.percentile(values, 99) == pytest.approx(9.91)
    assert sla.percentile([7.0], 99) == 7.0 and sla.percentile([], 50) is None


def test_board_percentiles_violations_and_events(engine):
    page = samples("page.roi", "real_time_operations", [10, 20, 30, 40, 50, 60, 70, 80, 250, 300])
    job = samples("job.roi_calculations", "batch_operations", [1_000, 6_000], status="success")
    alerts: dict = {}
    events = sla.write_samples(engine, page + job, alerts)
    board = sla.board(engine, date(2026, 11, 1))
    roi_page = next(o for o in board["operations"] if o["operation"] == "page.roi")
    assert roi_page["samples"] == 10 and roi_page["target_ms"] == 200
    assert roi_page["p50_ms"] == pytest.approx(55.0)  # h = 4.5 between 50 and 60
    assert roi_page["p95_ms"] == pytest.approx(250 + 0.55 * 50)  # h = 8.55
    assert roi_page["p99_ms"] == pytest.approx(250 + 0.91 * 50)
    assert roi_page["violations"] == 2 and roi_page["within_target_pct"] == 80.0
    classes = {c["sla_class"]: c for c in board["classes"]}
    assert classes["batch_operations"]["violations"] == 1 and classes["report_generation"]["samples"] == 0
    assert [(v["operation"], v["duration_ms"]) for v in board["violations"]] == [  # in time order
        ("job.roi_calculations", 6000.0),
        ("page.roi", 250.0),
        ("page.roi", 300.0),
    ]
    # one event per violating operation (its worst sample), on the operation's topic
    assert sorted((e["payload"]["operation"], e["payload"]["duration_ms"]) for e in events) == [
        ("job.roi_calculations", 6000.0),
        ("page.roi", 300.0),
    ]
    with engine.connect() as conn:
        topics = conn.execute(sa.select(event_outbox.c.topic, event_outbox.c.event_type)).all()
    assert sorted(topics) == [("revenue-attribution", "sla.violation")] * 2
    # within the alert interval the same operations raise no new event; the samples are still stored
    assert sla.write_samples(engine, samples("page.roi", "real_time_operations", [900]), alerts) == []
    assert len(sla.board(engine, date(2026, 11, 1))["violations"]) == 4


def test_track_times_the_block_and_records_errors(engine):
    recorder = sla.Recorder(engine_factory=lambda: engine)
    with sla.track("preview.add_to_list", "real_time_operations", into=recorder):
        pass
    with pytest.raises(KeyError), sla.track("page.health", "real_time_operations", into=recorder):
        raise KeyError("x")
    assert recorder.flush() == 2
    rows = {o["operation"]: o for o in sla.board(engine)["operations"]}
    assert rows["preview.add_to_list"]["errors"] == 0 and rows["page.health"]["errors"] == 1
    assert rows["preview.add_to_list"]["p50_ms"] < 50
    with pytest.raises(ValueError, match="unknown SLA class"):
        sla.record("x", "whenever", 1.0)


def test_availability_and_accuracy_against_the_spec_s_targets(engine):
    with engine.begin() as conn:
        for ok in [True] * 999 + [False]:
            sla.record_probe(conn, "api_endpoints", "warehouse", ok)
        for ok in [True] * 99 + [False]:
            sla.record_probe(conn, "data_sync_services", "crm_contact_sync", ok)
        assert sla.record_accuracy(conn, "data_synchronization", 19_990, 20_000) == pytest.approx(0.9995)
        sla.record_accuracy(conn, "attribution_calculation", 10, 10)
        sla.record_accuracy(conn, "roi_calculation", 198, 200)
    board = sla.board(engine)
    availability = {a["service"]: a for a in board["availability"]}
    assert availability["api_endpoints"]["measured_pct"] == pytest.approx(99.9) and availability["api_endpoints"]["met"]
    assert (
        availability["data_sync_services"]["measured_pct"] == 99.0
        and availability["data_sync_services"]["met"] is False
    )
    assert availability["reporting_services"]["checks"] == 0 and availability["reporting_services"]["met"] is None
    accuracy = {a["target"]: a for a in board["accuracy"]}
    assert accuracy["data_synchronization"]["met"] and accuracy["attribution_calculation"]["measured_pct"] == 100.0
    assert accuracy["roi_calculation"]["measured_pct"] == 99.0 and accuracy["roi_calculation"]["met"] is False


def test_probe_records_the_endpoints(engine, tmp_path, demo_db):
    results = sla.probe(engine, demo_db)
    assert [(name, ok) for name, ok, _ in results][:2] == [("warehouse", True), ("ops_store", True)]
    missing = sla.probe(engine, tmp_path / "gone.duckdb")
    assert missing[0][0] == "warehouse" and missing[0][1] is False
    api = next(a for a in sla.board(engine)["availability"] if a["service"] == "api_endpoints")
    assert api["checks"] == 4 and api["failed"] == 1


def test_topic_of_operations():
    assert sla.topic_of("job.health_score_update") == "customer-health"
    assert sla.topic_of("page.attribution") == "revenue-attribution"
    assert sla.topic_of("job.crm_contact_sync") == "lead-capture"
    assert sla.topic_of("page.overview") == "campaign-performance"


def test_sla_cli_json_and_csv(engine, monkeypatch, tmp_path):
    from typer.testing import CliRunner

    from analytics.cli import app

    monkeypatch.setenv("REVLENS_OPS_URL", str(engine.url))
    sla.write_samples(engine, samples("page.roi", "real_time_operations", [10, 400]))
    runner = CliRunner()
    out = runner.invoke(app, ["sla", "--since", "2026-11-01", "--format", "json"])
    assert out.exit_code == 0, out.output
    board = json.loads(out.stdout)
    assert set(board) == {"since", "operations", "classes", "violations", "availability", "accuracy"}
    assert board["violations"][0]["duration_ms"] == 400.0
    out = runner.invoke(app, ["sla", "--since", "2026-11-01", "--format", "csv"])
    lines = out.stdout.splitlines()
    assert lines[0].startswith("scope,operation,sla_class,target_ms,samples,p50_ms")
    assert lines[1].startswith("operation,page.roi,real_time_operations,200.0,2,205.0")
    bad = runner.invoke(app, ["sla", "--since", "yesterday"])
    assert "--since 'yesterday' is not a date" in str(bad.exception)  # main() prints it and exits 2
