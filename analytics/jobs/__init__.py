"""Scheduled jobs and SLA monitoring: the spec's batch schedule, run once at a time, retried,
recorded, and every operation measured against its target.

- :mod:`~analytics.jobs.registry`: the jobs by name (the spec's ``executeSyncJob`` switch; an
  unknown name is ``Unknown sync job type``), their SLA class and parameters.
- :mod:`~analytics.jobs.definitions`: the ten jobs of the spec's ``BatchSyncSchedule``, each a
  thin call into the capability that owns the work (CRM sync, attribution, finance, health,
  budget, overview); each docstring says what it reads and writes.
- :mod:`~analytics.jobs.schedule`: the schedule file (``data/schedule.toml``): cron lines per job,
  the time zone, a RetryPolicy per job; its crontab and systemd forms.
- :mod:`~analytics.jobs.runner`: one attempt = one ``job_runs`` row; the per-job lock in the ops
  store, heartbeats, dead-run detection, retries with the spec's RetryPolicy.
- :mod:`~analytics.jobs.serve`: ``jobs serve`` (APScheduler), catch-up of missed runs, probes,
  the Prometheus endpoint.
- :mod:`~analytics.jobs.sla`: the SLA monitor (timing, percentiles, violations and their events,
  availability, accuracy).
- :mod:`~analytics.jobs.report`: the executive report (self-contained HTML).

Commands: ``python -m analytics jobs list|run|history|serve|crontab``, ``python -m analytics sla``,
``python -m analytics events consume --group alert-system``. Page: Operations → System.
"""
