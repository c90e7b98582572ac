"""Test-only jobs (registered on import): one that blocks until told, one that fails on cue."""

from __future__ import annotations

import time
from pathlib import Path

from analytics.crm.hubspot.transport import TransientError
from analytics.jobs.registry import JobContext, JobOutcome, Param, job

CALLS: dict[str, int] = {}


@job("_test_block", "batch_operations", (Param("flag", str, "", "a folder for the started / release files"),))
def block(ctx: JobContext) -> JobOutcome:
    """Writes ``started`` in the folder, then waits (at most 120 s) for ``release`` to appear."""
    folder = Path(ctx.params["flag"])
    (folder / "started").write_text(str(ctx.run_id))
    deadline = time.monotonic() + 120
    while not (folder / "release").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    return JobOutcome(rows=1, summary={"released": (folder / "release").exists()})


@job(
    "_test_flaky",
    "batch_operations",
    (
        Param("key", str, "k", "the counter"),
        Param("fail_times", int, 0, "failures before success"),
        Param("permanent", bool, False, "fail with a permanent error"),
    ),
)
def flaky(ctx: JobContext) -> JobOutcome:
    """Fails ``fail_times`` times with HubSpot's 5xx (retryable), or permanently, then succeeds."""
    key = ctx.params["key"]
    CALLS[key] = CALLS.get(key, 0) + 1
    if ctx.params["permanent"]:
        raise ValueError("bad input in row 3")
    if CALLS[key] <= ctx.params["fail_times"]:
        raise TransientError("HubSpot answered 503", status=503, reason="5xx")
    return JobOutcome(rows=CALLS[key], summary={"calls": CALLS[key]})
