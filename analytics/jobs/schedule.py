"""The batch schedule (spec, ``BatchSyncSchedule``), read from one file: ``data/schedule.toml``.

Format (``REVLENS_SCHEDULE`` points elsewhere)::

    timezone = "UTC"                       # the schedule's time zone (REVLENS_TIMEZONE wins)

    [jobs]                                 # job = "minute hour day-of-month month day-of-week"
    crm_contact_sync = "0 2 * * *"
    executive_reporting = "0 5 1-7 * mon"  # both days given: BOTH must hold -> the first Monday

    [retry.crm_contact_sync]               # optional, per job: the spec's RetryPolicy
    max_attempts = 5
    backoff_strategy = "exponential"       # exponential | linear | fixed
    base_delay_ms = 60000
    max_delay_ms = 900000
    retryable_errors = ["429", "5xx", "timeout", "connection", "locked"]

Cron fields are the usual five; days of the week by name (``mon``..``sun``) or number
(0 or 7 = Sunday, as in crontab). Unlike Vixie cron, when both the day of the month and the
day of the week are restricted a run needs both (APScheduler's rule, and systemd's): that is
how "the first Monday" is written. :func:`crontab` prints the same schedule for cron (with a
day-of-week guard where both are restricted) or as systemd ``OnCalendar`` timers.

A bad line is a :class:`RevLensError` naming the file, the line and what to write instead.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from analytics.core.errors import RevLensError
from analytics.core.settings import job_timezone_override, schedule_path

DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
DEFAULT_RETRY = {
    "max_attempts": 3,
    "backoff_strategy": "exponential",
    "base_delay_ms": 60_000,
    "max_delay_ms": 900_000,
    "retryable_errors": ("429", "5xx", "timeout", "connection", "locked"),
}


class ScheduleError(RevLensError):
    """The schedule file has a mistake; the message names the line."""


def _day_names(field_text: str) -> str:
    """Day-of-week numbers (crontab's: 0/7 Sunday) as names, so APScheduler reads them right."""

    def name(token: str) -> str:
        if token.isdigit():
            number = int(token)
            if not 0 <= number <= 7:
                raise ValueError(f"day of week {token} is not 0-7")
            return DAY_NAMES[number % 7]
        return token.lower()

    parts = []
    for item in field_text.split(","):
        step = ""
        if "/" in item:
            item, step = item.split("/", 1)
            step = "/" + step
        if "-" in item:
            low, high = item.split("-", 1)
            parts.append(f"{name(low)}-{name(high)}{step}")
        else:
            parts.append((item if item == "*" else name(item)) + step)
    return ",".join(parts)


@dataclass(frozen=True)
class Entry:
    job: str
    cron: str
    line: int
    timezone: str

    @property
    def fields(self) -> dict[str, str]:
        minute, hour, day, month, day_of_week = self.cron.split()
        return {"minute": minute, "hour": hour, "day": day, "month": month, "day_of_week": day_of_week}

    def trigger(self):
        from apscheduler.triggers.cron import CronTrigger

        f = self.fields
        return CronTrigger(
            minute=f["minute"],
            hour=f["hour"],
            day=f["day"],
            month=f["month"],
            day_of_week=_day_names(f["day_of_week"]),
            timezone=self.timezone,
        )

    def next_run(self, now: datetime) -> datetime | None:
        return self.trigger().get_next_fire_time(None, now)

    def fire_times(self, after: datetime, until: datetime, limit: int = 10_000) -> list[datetime]:
        """Fire times in ``(after, until]``."""
        trigger = self.trigger()
        times: list[datetime] = []
        moment = trigger.get_next_fire_time(None, after + timedelta(seconds=1))
        while moment is not None and moment <= until and len(times) < limit:
            times.append(moment)
            moment = trigger.get_next_fire_time(moment, moment + timedelta(seconds=1))
        return times

    def last_fire_time(self, now: datetime) -> datetime | None:
        """The latest fire time at or before ``now`` (within 45 days)."""
        times = self.fire_times(now - timedelta(days=45), now)
        return times[-1] if times else None


@dataclass(frozen=True)
class Schedule:
    path: Path
    timezone: str
    entries: tuple[Entry, ...]
    retry: dict[str, dict] = field(default_factory=dict)

    def entry(self, job: str) -> Entry | None:
        return next((e for e in self.entries if e.job == job), None)

    def policy(self, job: str):
        """The job's RetryPolicy: the file's ``[retry.JOB]`` over :data:`DEFAULT_RETRY`."""
        from analytics.crm.actions.delivery import RetryPolicy

        values = {**DEFAULT_RETRY, **self.retry.get(job, {})}
        values["retryable_errors"] = tuple(values["retryable_errors"])
        return RetryPolicy(**values)


def _line_of(lines: list[str], pattern: str, start: int = 0) -> int:
    regex = re.compile(pattern)
    for number, text in enumerate(lines[start:], start + 1):
        if regex.search(text):
            return number
    return 0


def load_schedule(path: str | Path | None = None, known_jobs=None) -> Schedule:
    """Read and check the schedule file (format in the module docstring)."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from analytics.jobs.catalog import all_jobs

    path = Path(path or schedule_path())
    if not path.is_file():
        raise ScheduleError(
            f"There is no schedule file at {path}; copy data/schedule.toml from the project or set REVLENS_SCHEDULE."
        )
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScheduleError(f"{path} is not valid TOML ({exc}); fix that line.") from None
    known = set(known_jobs if known_jobs is not None else all_jobs())
    timezone = job_timezone_override() or data.get("timezone", "UTC")
    try:
        ZoneInfo(str(timezone))
    except (ZoneInfoNotFoundError, ValueError):
        line = _line_of(lines, r"^\s*timezone\s*=")
        raise ScheduleError(
            f"{path}, line {line}: time zone {timezone!r} is unknown; write an IANA name such as "
            '"UTC" or "Europe/Berlin".'
        ) from None
    unknown_keys = set(data) - {"timezone", "jobs", "retry"}
    if unknown_keys:
        key = sorted(unknown_keys)[0]
        line = _line_of(lines, r"^\s*\[?" + re.escape(key) + r"\b")
        raise ScheduleError(
            f"{path}, line {line}: {key!r} is not a schedule setting; "
            "the file has timezone, [jobs] and [retry.JOB] only."
        )
    jobs_start = _line_of(lines, r"^\s*\[jobs\]")
    entries = []
    for job, cron in (data.get("jobs") or {}).items():
        line = _line_of(lines, rf'^\s*"?{re.escape(job)}"?\s*=', jobs_start)
        where = f"{path}, line {line}"
        if job not in known:
            raise ScheduleError(f"{where}: {job!r} is not a job; the jobs are {', '.join(sorted(known))}.")
        if not isinstance(cron, str) or len(cron.split()) != 5:
            raise ScheduleError(
                f"{where}: {cron!r} is not a cron expression of five fields "
                '(minute hour day-of-month month day-of-week), e.g. "0 2 * * *" for 02:00 daily.'
            )
        entry = Entry(job, " ".join(cron.split()), line, str(timezone))
        try:
            entry.trigger()
        except ValueError as exc:
            raise ScheduleError(
                f'{where}: the cron expression {cron!r} is not valid ({exc}); e.g. "0 3 * * sun" for Sundays at 03:00.'
            ) from None
        entries.append(entry)
    retry = {}
    for job, values in (data.get("retry") or {}).items():
        line = _line_of(lines, rf"^\s*\[retry\.{re.escape(job)}\]")
        if job not in known:
            raise ScheduleError(
                f"{path}, line {line}: [retry.{job}] names no job; the jobs are {', '.join(sorted(known))}."
            )
        allowed = set(DEFAULT_RETRY)
        extra = set(values) - allowed
        if extra:
            raise ScheduleError(
                f"{path}, line {line}: [retry.{job}] has {', '.join(sorted(extra))}; "
                f"a retry policy takes {', '.join(DEFAULT_RETRY)}."
            )
        try:
            Schedule(path, str(timezone), (), {job: values}).policy(job)
        except (RevLensError, TypeError, ValueError) as exc:
            raise ScheduleError(f"{path}, line {line}: [retry.{job}]: {exc}") from None
        retry[job] = values
    return Schedule(path, str(timezone), tuple(entries), retry)


# ---------------------------------------------------------------------------------------
# cron and systemd


def _systemd_field(text: str, names: bool = False) -> str:
    if text == "*":
        return "*"
    out = []
    for item in text.split(","):
        step = ""
        if "/" in item:
            item, step = item.split("/", 1)
            step = "/" + step
            item = "0" if item == "*" else item
        if "-" in item:
            low, high = item.split("-", 1)
            item = f"{low}..{high}"
        out.append(item + step)
    joined = ",".join(out)
    return joined.title() if names else joined


def _two(text: str) -> str:
    return "*" if text == "*" else ",".join(p.zfill(2) if p.isdigit() else p for p in re.split(r",", text))


def on_calendar(entry: Entry) -> str:
    """The entry as a systemd ``OnCalendar=`` value (days of the week AND days of the month)."""
    f = entry.fields
    dow = "" if f["day_of_week"] == "*" else _systemd_field(_day_names(f["day_of_week"]), names=True) + " "
    day = _systemd_field(f["day"])
    month = _systemd_field(f["month"])
    return f"{dow}*-{month}-{day} {_two(_systemd_field(f['hour']))}:{_two(_systemd_field(f['minute']))}:00 {entry.timezone}"


def crontab(schedule: Schedule, command: str = "python -m analytics", workdir: str | None = None) -> str:
    """The schedule as crontab lines (``CRON_TZ`` for the time zone)."""
    from analytics.core.settings import exports_dir

    cd = f"cd {workdir} && " if workdir else ""
    log = exports_dir() / "jobs.log"
    out = [
        f"# RevLens batch schedule from {schedule.path} (time zone {schedule.timezone}); install with crontab -e",
        f"CRON_TZ={schedule.timezone}",
    ]
    for entry in schedule.entries:
        f = entry.fields
        run = f"{cd}{command} jobs run {entry.job} --trigger schedule >> {log} 2>&1"
        if f["day"] != "*" and f["day_of_week"] != "*":
            days = "|".join(d.title() for d in _expand_days(_day_names(f["day_of_week"])))
            weekday = f"$(TZ={schedule.timezone} LC_ALL=C date +\\%a)"
            line = f'{f["minute"]} {f["hour"]} {f["day"]} {f["month"]} * case "{weekday}" in {days}) {run};; esac'
        else:
            line = f"{entry.cron} {run}"
        out.append(f"# {entry.job}: {entry.cron} ({schedule.path}, line {entry.line})")
        out.append(line)
    return "\n".join(out) + "\n"


def _expand_days(text: str) -> list[str]:
    days = []
    for item in text.split(","):
        item = item.split("/")[0]
        if "-" in item:
            low, high = (DAY_NAMES.index(x) for x in item.split("-"))
            days.extend(DAY_NAMES[i % 7] for i in range(low, high + 1))
        elif item == "*":
            days.extend(DAY_NAMES)
        else:
            days.append(item)
    return days


def systemd_units(schedule: Schedule, command: str = "python -m analytics", workdir: str | None = None) -> str:
    """One ``revlens-JOB.service`` and ``.timer`` pair per job, as text (files separated by headers)."""
    out = []
    for entry in schedule.entries:
        out.append(
            f"# --- revlens-{entry.job}.service\n[Unit]\nDescription=RevLens job {entry.job}\n\n[Service]\n"
            f"Type=oneshot\n"
            + (f"WorkingDirectory={workdir}\n" if workdir else "")
            + f"ExecStart={command} jobs run {entry.job} --trigger schedule\n"
        )
        out.append(
            f"# --- revlens-{entry.job}.timer\n[Unit]\nDescription=RevLens job {entry.job} ({entry.cron}, line "
            f"{entry.line})\n\n[Timer]\nOnCalendar={on_calendar(entry)}\nPersistent=true\n\n"
            "[Install]\nWantedBy=timers.target\n"
        )
    return "\n".join(out) + "\n"
