"""``python -m analytics jobs list|run|history|serve|crontab``: the batch schedule and its runs."""

from __future__ import annotations

import json
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from analytics.cli.common import DB_OPTION_HELP, command_app
from analytics.core.errors import RevLensError

app = command_app("Scheduled jobs: list, run one, history, serve the schedule, print it for cron.", group=True)

SCHEDULE_HELP = "The schedule file (default: $REVLENS_SCHEDULE or data/schedule.toml)."
LIST_FIELDS = ("name", "schedule", "next_run")
HISTORY_FIELDS = ("job", "started_at", "finished_at", "status", "rows", "outputs", "error")


class Format(str, Enum):
    table = "table"
    json = "json"


class Trigger(str, Enum):
    manual = "manual"
    schedule = "schedule"


class CronFormat(str, Enum):
    cron = "cron"
    systemd = "systemd"


def _params(values: list[str] | None) -> dict[str, str]:
    params = {}
    for item in values or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise RevLensError(f"--param {item!r} is not key=value; write e.g. --param period=2026-Q3.")
        params[key.strip()] = value
    return params


@app.command("list")
def list_command(
    schedule: Annotated[Path | None, typer.Option(help=SCHEDULE_HELP)] = None,
    format: Annotated[Format, typer.Option(help="table or json (name, schedule, next_run).")] = Format.table,
) -> None:
    """Every job with its cron schedule and next run (in the schedule's time zone)."""
    from analytics.jobs.catalog import all_jobs
    from analytics.jobs.schedule import load_schedule
    from analytics.ops.store import utcnow

    plan = load_schedule(schedule)
    now = utcnow()
    rows = []
    for name, job in all_jobs().items():
        entry = plan.entry(name)
        next_run = entry.next_run(now) if entry else None
        rows.append(
            {
                "name": name,
                "schedule": entry.cron if entry else None,
                "next_run": next_run.isoformat() if next_run else None,
                "_class": job.sla_class,
                "_summary": job.summary_line,
            }
        )
    if format is Format.json:
        print(json.dumps([{k: r[k] for k in LIST_FIELDS} for r in rows], indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Jobs ({plan.path}, time zone {plan.timezone})")
    for column in ("job", "schedule", "next run", "SLA class", "what it does"):
        table.add_column(column)
    for r in rows:
        table.add_row(r["name"], r["schedule"] or "not scheduled", r["next_run"] or "—", r["_class"], r["_summary"])
    Console(width=max(Console().width, 160)).print(table)


@app.command("run")
def run_command(
    name: Annotated[str, typer.Argument(help="The job, e.g. roi_calculations (see `jobs list`).")],
    param: Annotated[list[str] | None, typer.Option("--param", help="A job parameter key=value (repeatable).")] = None,
    db: Annotated[Path | None, typer.Option(help=DB_OPTION_HELP)] = None,
    trigger: Annotated[Trigger, typer.Option(help="schedule: run from cron or a systemd timer.")] = Trigger.manual,
    no_retry: Annotated[bool, typer.Option("--no-retry", help="One attempt, whatever the retry policy.")] = False,
) -> None:
    """Run one job now: locked, recorded, retried as the schedule file's policy says."""
    from dataclasses import replace

    from analytics.jobs.runner import run_job
    from analytics.jobs.schedule import load_schedule
    from analytics.ops.store import utcnow

    plan = load_schedule()
    policy = plan.policy(name) if name in {e.job for e in plan.entries} or name in plan.retry else None
    if policy is None:
        from analytics.jobs.catalog import get

        get(name)  # the spec's "Unknown sync job type" for a name that is no job
        policy = plan.policy(name)
    if no_retry:
        policy = replace(policy, max_attempts=1)
    entry = plan.entry(name)
    scheduled_for = entry.last_fire_time(utcnow()) if trigger is Trigger.schedule and entry else None
    report = run_job(
        name,
        _params(param),
        trigger=trigger.value,
        scheduled_for=scheduled_for,
        db=db,
        policy=policy,
        progress=lambda message: typer.echo(f"{name}: {message}", err=True),
    )
    typer.echo(report.line())
    if not report.succeeded:
        sys.exit(1)


@app.command("history")
def history_command(
    job: Annotated[str | None, typer.Option(help="Only this job.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many runs, newest first.")] = 50,
    format: Annotated[
        Format, typer.Option(help="table or json (job, started_at, finished_at, status, rows, outputs, error).")
    ] = Format.table,
) -> None:
    """The latest runs: start, end, status, rows, outputs, error (dead runs are marked failed first)."""
    from analytics.jobs.runner import history, reap_dead_runs
    from analytics.ops.store import ops_engine

    engine = ops_engine()
    if job:
        from analytics.jobs.catalog import get

        get(job)
    reap_dead_runs(engine)
    runs = history(engine, job, limit)
    if format is Format.json:
        print(json.dumps([{k: r[k] for k in HISTORY_FIELDS} for r in runs], indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Job runs ({len(runs)})")
    for column in ("id", "job", "trigger", "attempt", "started", "seconds", "status", "rows", "outputs / error"):
        table.add_column(column)
    for r in runs:
        table.add_row(
            str(r["id"]),
            r["job"],
            r["trigger"] or "",
            str(r["attempt"] or ""),
            r["started_at"] or "",
            f"{r['duration_s']:.1f}" if r["duration_s"] is not None else "",
            r["status"],
            "" if r["rows"] is None else f"{r['rows']:,}",
            (r["error"] or ", ".join(r["outputs"]))[:120],
        )
    Console(width=max(Console().width, 170)).print(table)


@app.command("serve")
def serve_command(
    db: Annotated[Path | None, typer.Option(help=DB_OPTION_HELP)] = None,
    schedule: Annotated[Path | None, typer.Option(help=SCHEDULE_HELP)] = None,
    metrics_port: Annotated[
        int | None, typer.Option(help="Prometheus port (default: $REVLENS_METRICS_PORT or 9464; 0: off).")
    ] = None,
) -> None:
    """Run the schedule (APScheduler, the schedule's time zone) after catching up missed runs; Ctrl-C stops."""
    from analytics.core.settings import db_path
    from analytics.core.settings import metrics_port as default_port
    from analytics.jobs.schedule import load_schedule
    from analytics.jobs.serve import serve
    from analytics.ops.store import ops_engine

    plan = load_schedule(schedule)
    typer.echo(f"Serving {len(plan.entries)} jobs from {plan.path} in {plan.timezone}.", err=True)
    serve(
        plan,
        ops_engine(),
        Path(db or db_path()),
        metrics_port=default_port() if metrics_port is None else metrics_port,
        log=lambda line: typer.echo(line, err=True),
    )


@app.command("crontab")
def crontab_command(
    schedule: Annotated[Path | None, typer.Option(help=SCHEDULE_HELP)] = None,
    format: Annotated[CronFormat, typer.Option(help="cron (crontab lines) or systemd (service + timer units).")] = (
        CronFormat.cron
    ),
    workdir: Annotated[str | None, typer.Option(help="Directory the jobs run in (default: this one).")] = None,
    command: Annotated[str, typer.Option(help="How to call RevLens.")] = f"{sys.executable} -m analytics",
) -> None:
    """The same schedule for cron or systemd timers (print, review, install)."""
    from analytics.jobs.schedule import crontab, load_schedule, systemd_units

    plan = load_schedule(schedule)
    workdir = workdir or str(Path.cwd())
    text = crontab(plan, command, workdir) if format is CronFormat.cron else systemd_units(plan, command, workdir)
    sys.stdout.write(text)
