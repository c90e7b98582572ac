"""Every registered job (the ten of :mod:`analytics.jobs.definitions`), by name."""

from __future__ import annotations

import analytics.jobs.definitions  # noqa: F401 (registers the jobs)
from analytics.core.errors import RevLensError
from analytics.jobs.registry import JOBS, Job


def get(name: str) -> Job:
    """The job ``name``; an unknown name is the spec's ``Unknown sync job type`` error."""
    if name not in JOBS:
        raise RevLensError(
            f"Unknown sync job type: {name}; the jobs are {', '.join(n for n in JOBS if not n.startswith('_'))}."
        )
    return JOBS[name]


def all_jobs() -> dict[str, Job]:
    return JOBS
