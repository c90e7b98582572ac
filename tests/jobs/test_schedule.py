"""The schedule file: the spec's times, a sentence naming the line for each mistake, cron and systemd forms, catch-up."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from analytics.jobs.schedule import ScheduleError, crontab, load_schedule, on_calendar, systemd_units
from analytics.jobs.serve import catch_up
from analytics.ops.store import ops_engine
from analytics.ops.tables import job_runs
from tests.paths import ROOT

SPEC = {
    "crm_contact_sync": "0 2 * * *",
    "campaign_performance_summary": "0 2 * * *",
    "financial_data_export": "0 6 * * *",
    "health_score_update": "0 6 * * *",
    "comprehensive_analytics": "0 3 * * sun",
    "roi_calculations": "0 3 * * sun",
    "budget_optimization_analysis": "0 4 * * wed",
    "attribution_modeling": "0 4 * * wed",
    "executive_reporting": "0 5 1-7 * mon",
    "strategic_analysis": "0 5 1-7 * mon",
}


def write(tmp_path, text):
    path = tmp_path / "schedule.toml"
    path.write_text(text)
    return path


def test_the_shipped_schedule_is_the_spec_s():
    schedule = load_schedule(ROOT / "data" / "schedule.toml")
    assert {e.job: e.cron for e in schedule.entries} == SPEC  # the spec's ten, nothing else
    assert schedule.timezone == "UTC"
    assert schedule.policy("crm_contact_sync").max_attempts == 5


def test_next_runs_land_on_the_spec_s_days():
    schedule = load_schedule(ROOT / "data" / "schedule.toml")
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)  # a Tuesday
    nxt = {e.job: e.next_run(now) for e in schedule.entries}
    assert nxt["crm_contact_sync"] == datetime(2026, 12, 2, 2, 0, tzinfo=UTC)
    assert nxt["roi_calculations"] == datetime(2026, 12, 6, 3, 0, tzinfo=UTC)  # Sunday
    assert nxt["attribution_modeling"] == datetime(2026, 12, 2, 4, 0, tzinfo=UTC)  # Wednesday
    assert nxt["executive_reporting"] == datetime(2026, 12, 7, 5, 0, tzinfo=UTC)  # the first Monday of December
    after = schedule.entry("executive_reporting").next_run(datetime(2026, 12, 8, tzinfo=UTC))
    assert after == datetime(2027, 1, 4, 5, 0, tzinfo=UTC)  # not every Monday of days 1-7 or every day 1-7


def test_numeric_days_of_week_are_crontab_s(tmp_path):
    # 0 and 7 are Sunday in crontab (APScheduler alone would read 0 as Monday)
    path = write(tmp_path, 'timezone = "UTC"\n[jobs]\nroi_calculations = "0 3 * * 0"\n')
    entry = load_schedule(path).entries[0]
    assert entry.next_run(datetime(2026, 12, 1, tzinfo=UTC)).weekday() == 6


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            'timezone = "UTC"\n[jobs]\nroi_calculations = "0 3 * * sun"\nnightly_magic = "0 1 * * *"\n',
            "line 4: 'nightly_magic' is not a job",
        ),
        (
            'timezone = "UTC"\n\n[jobs]\nroi_calculations = "0 25 * * sun"\n',
            "line 4: the cron expression '0 25 * * sun' is not valid",
        ),
        (
            '[jobs]\nroi_calculations = "every sunday"\n',
            "line 2: 'every sunday' is not a cron expression of five fields",
        ),
        ('timezone = "Mars/Olympus"\n[jobs]\n', "line 1: time zone 'Mars/Olympus' is unknown"),
        (
            '[jobs]\nroi_calculations = "0 3 * * sun"\n[retry.roi_calculations]\nattempts = 3\n',
            "line 3: [retry.roi_calculations] has attempts",
        ),
        (
            '[jobs]\n[retry.roi_calculations]\nbackoff_strategy = "random"\n',
            "line 2: [retry.roi_calculations]: Backoff 'random'",
        ),
        ('[jobs]\nroi_calculations = "0 3 * *\n', "is not valid TOML"),
    ],
)
def test_a_bad_line_gets_a_sentence_naming_it(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(ScheduleError) as error:
        load_schedule(path)
    assert str(path) in str(error.value) and message in str(error.value)


def test_crontab_and_systemd_print_the_same_schedule():
    schedule = load_schedule(ROOT / "data" / "schedule.toml")
    text = crontab(schedule, "revlens", "/srv/revlens")
    assert "CRON_TZ=UTC" in text
    assert "0 2 * * * cd /srv/revlens && revlens jobs run crm_contact_sync --trigger schedule" in text
    assert "0 3 * * sun cd /srv/revlens && revlens jobs run roi_calculations" in text
    # the first Monday: days 1-7, guarded to Mondays (cron would OR the two day fields)
    assert (
        '0 5 1-7 * * case "$(TZ=UTC LC_ALL=C date +\\%a)" in Mon) cd /srv/revlens && revlens jobs run executive_reporting'
        in text
    )
    assert on_calendar(schedule.entry("executive_reporting")) == "Mon *-*-1..7 05:00:00 UTC"
    assert on_calendar(schedule.entry("health_score_update")) == "*-*-* 06:00:00 UTC"
    units = systemd_units(schedule, "revlens")
    assert units.count("[Timer]") == len(schedule.entries) and "OnCalendar=Sun *-*-* 03:00:00 UTC" in units


def test_missed_runs_are_caught_up_once_with_the_count(tmp_path):
    engine = ops_engine(f"sqlite:///{tmp_path / 'ops.sqlite'}")
    schedule = load_schedule(
        write(
            tmp_path,
            '[jobs]\ncampaign_performance_summary = "0 2 * * *"\nroi_calculations = "0 3 * * sun"\n'
            'health_score_update = "0 6 * * *"\n',
        )
    )
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    with engine.begin() as conn:
        for job, when in (
            ("campaign_performance_summary", datetime(2026, 11, 27, 2, 0, tzinfo=UTC)),  # 4 daily runs missed since
            ("roi_calculations", datetime(2026, 11, 29, 3, 0, tzinfo=UTC)),  # last Sunday: nothing missed
        ):
            conn.execute(
                job_runs.insert().values(
                    job=job,
                    status="succeeded",
                    trigger="schedule",
                    scheduled_for=when,
                    started_at=when,
                    finished_at=when,
                )
            )
        # health_score_update never ran on the schedule: nothing to catch up
    calls = []

    def fake_run(name, **kwargs):
        calls.append((name, kwargs["trigger"], kwargs["scheduled_for"]))
        return "ran"

    done = catch_up(schedule, engine, now, run=fake_run)
    assert [(c.job, c.missed) for c in done] == [("campaign_performance_summary", 4)]
    assert calls == [("campaign_performance_summary", "catch_up", datetime(2026, 12, 1, 2, 0, tzinfo=UTC))]
    assert "4 scheduled runs missed since 2026-11-27 02:00" in done[0].line()
