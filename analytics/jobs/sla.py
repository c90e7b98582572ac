"""SLA monitoring: every operation timed against the spec's targets (``IntegrationSLA``).

Response-time classes and targets (spec, "Performance Monitoring and SLA")::

    real_time_operations   200 ms   page interactions (a page run), previews of a write-back
    batch_operations         5 s    the analysis jobs
    report_generation       30 s    financial_data_export, executive_reporting
    data_synchronization     1 min  crm_contact_sync

:func:`track` times a block with ``time.perf_counter`` and hands the sample to a
:class:`Recorder`, which buffers it in memory and writes it to ``sla_samples`` in the ops store
from a background thread (every :data:`FLUSH_INTERVAL_S` or :data:`FLUSH_SIZE` samples, and at
exit), so the operation itself pays only two clock reads and a list append (measured in
``benchmarks/bench_jobs.py``: well under 1% of the fastest operation). A sample over its target
is a violation: it is stored as such and, at most once per operation every
:data:`ALERT_INTERVAL_S`, written as an ``sla.violation`` event to the event outbox in the same
transaction (topic by the operation's capability, :func:`topic_of`); the ``alert-system``
consumer turns it into a notification and the optional webhook. While ``jobs serve`` runs each
sample is also observed by the Prometheus histogram ``integration_operation_duration``
(seconds; labels operation, sla_class, status).

Percentiles: ``p50``, ``p95``, ``p99`` of the durations per operation and per class, by linear
interpolation between order statistics (numpy's default: for sorted durations
:math:`x_0..x_{n-1}` the *q*-th percentile is :math:`x_{\\lfloor h \\rfloor} + (h - \\lfloor h
\\rfloor)(x_{\\lfloor h \\rfloor + 1} - x_{\\lfloor h \\rfloor})` with :math:`h = (n-1)q/100`).

Availability (spec's ``availability_targets``) of a service is ``ok / all`` of its probes in the
window: ``api_endpoints`` 99.9% (the warehouse and the ops store answering, and the app's
health endpoint when ``REVLENS_APP_URL`` is set: :func:`probe`), ``data_sync_services`` 99.5%
(the outcome of every data-synchronization job attempt), ``reporting_services`` 99.0% (every
report-generation job attempt).

Accuracy (spec's ``accuracy_targets``) is ``matched / total`` over the reconciliations in the
window: ``data_synchronization`` 99.95% (records pulled from the CRM found stored in the
warehouse), ``attribution_calculation`` 99.0% (per model, credit summing to the won deals and
revenue it splits), ``roi_calculation`` 99.5% (report ROI rows equal to a recomputation from
their investment and revenue).
"""

from __future__ import annotations

import atexit
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # sqlalchemy is imported where it is used: the app's first page must not load it
    import sqlalchemy as sa


def utcnow() -> datetime:
    from datetime import UTC

    return datetime.now(UTC)


RESPONSE_TIME_TARGETS_MS = {
    "real_time_operations": 200.0,
    "batch_operations": 5_000.0,
    "report_generation": 30_000.0,
    "data_synchronization": 60_000.0,
}
AVAILABILITY_TARGETS = {"api_endpoints": 0.999, "data_sync_services": 0.995, "reporting_services": 0.990}
ACCURACY_TARGETS = {"data_synchronization": 0.9995, "attribution_calculation": 0.990, "roi_calculation": 0.995}
# which availability service a job's outcome counts for, by the job's SLA class
SERVICE_OF_CLASS = {"data_synchronization": "data_sync_services", "report_generation": "reporting_services"}

FLUSH_INTERVAL_S = 5.0
FLUSH_SIZE = 200
ALERT_INTERVAL_S = 600.0
PERCENTILES = (50, 95, 99)

# the operation's capability (its first name part after the kind) -> the spec's topic
_TOPICS = {
    "crm_contact_sync": "lead-capture",
    "leads": "lead-capture",
    "routing": "lead-capture",
    "health": "customer-health",
    "health_score_update": "customer-health",
    "attribution": "revenue-attribution",
    "attribution_modeling": "revenue-attribution",
    "roi": "revenue-attribution",
    "roi_calculations": "revenue-attribution",
    "financial_data_export": "revenue-attribution",
}


def topic_of(operation: str) -> str:
    """The spec topic an operation's violation goes to: ``job.health_score_update`` and
    ``page.health`` to customer-health, attribution and ROI to revenue-attribution, leads and the
    CRM sync to lead-capture, everything else to campaign-performance."""
    name = operation.split(".", 1)[-1].split(".")[0]
    return _TOPICS.get(name, "campaign-performance")


def target_ms(sla_class: str) -> float:
    if sla_class not in RESPONSE_TIME_TARGETS_MS:
        raise ValueError(f"unknown SLA class {sla_class!r}; one of {', '.join(RESPONSE_TIME_TARGETS_MS)}")
    return RESPONSE_TIME_TARGETS_MS[sla_class]


@dataclass(frozen=True)
class Sample:
    operation: str
    sla_class: str
    duration_ms: float
    status: str
    at: datetime

    @property
    def target_ms(self) -> float:
        return RESPONSE_TIME_TARGETS_MS[self.sla_class]

    @property
    def violated(self) -> bool:
        return self.duration_ms > self.target_ms


_histogram = None  # the Prometheus histogram, once enable_prometheus() ran


def enable_prometheus():
    """Create (once) the spec's ``integration_operation_duration`` histogram; returns it."""
    global _histogram
    if _histogram is None:
        from prometheus_client import Histogram

        _histogram = Histogram(
            "integration_operation_duration",
            "Duration of RevLens operations in seconds (spec: IntegrationMonitor.trackPerformance).",
            ("operation", "sla_class", "status"),
            buckets=(0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600),
        )
    return _histogram


class Recorder:
    """Buffers samples and writes them to the ops store in batches (see the module docstring)."""

    def __init__(self, engine_factory=None, flush_interval_s: float = FLUSH_INTERVAL_S):
        self._engine_factory = engine_factory
        self._buffer: list[Sample] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_alert: dict[str, float] = {}
        self.flush_interval_s = flush_interval_s
        self.dropped = 0
        self.last_error: str | None = None

    def add(self, sample: Sample) -> None:
        with self._lock:
            self._buffer.append(sample)
            size = len(self._buffer)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="sla-recorder", daemon=True)
                self._thread.start()
        if _histogram is not None:
            _histogram.labels(sample.operation, sample.sla_class, sample.status).observe(sample.duration_ms / 1000)
        if size >= FLUSH_SIZE:
            self._wake.set()

    def _loop(self) -> None:
        while True:
            self._wake.wait(self.flush_interval_s)
            self._wake.clear()
            self.flush()

    def clear(self) -> int:
        """Drop the buffered samples (a process that switches ops stores, as the tests do, must not write
        one store's samples into the next); returns how many were dropped."""
        with self._lock:
            dropped, self._buffer = len(self._buffer), []
        return dropped

    def flush(self, engine: sa.Engine | None = None) -> int:
        """Write the buffered samples (and the violation events due); returns how many were written."""
        with self._lock:
            samples, self._buffer = self._buffer, []
        if not samples:
            return 0
        try:
            engine = engine or self._engine()
            write_samples(engine, samples, self._last_alert)
        except Exception as exc:  # never let monitoring break the operation it measures
            self.dropped += len(samples)
            self.last_error = str(exc)[:300]
            return 0
        return len(samples)

    def _engine(self) -> sa.Engine:
        if self._engine_factory is not None:
            return self._engine_factory()
        from analytics.ops.store import ops_engine

        return ops_engine()


def write_samples(engine: sa.Engine, samples: list[Sample], last_alert: dict[str, float] | None = None) -> list[dict]:
    """Insert ``samples`` and, in the same transaction, one ``sla.violation`` event per operation
    over its target (at most once per :data:`ALERT_INTERVAL_S` per operation when ``last_alert``
    keeps the times); returns the events."""
    from analytics.ops.events import emit
    from analytics.ops.tables import sla_samples

    events = []
    now = time.monotonic()
    with engine.begin() as conn:
        conn.execute(
            sla_samples.insert(),
            [
                {
                    "operation": s.operation,
                    "sla_class": s.sla_class,
                    "duration_ms": s.duration_ms,
                    "target_ms": s.target_ms,
                    "status": s.status,
                    "at": s.at,
                }
                for s in samples
            ],
        )
        worst: dict[str, Sample] = {}
        for s in samples:
            if s.violated and (s.operation not in worst or s.duration_ms > worst[s.operation].duration_ms):
                worst[s.operation] = s
        for operation, s in worst.items():
            if last_alert is not None:
                if now - last_alert.get(operation, -ALERT_INTERVAL_S) < ALERT_INTERVAL_S:
                    continue
                last_alert[operation] = now
            events.append(
                emit(
                    conn,
                    topic_of(operation),
                    "sla.violation",
                    {
                        "operation": operation,
                        "sla_class": s.sla_class,
                        "duration_ms": round(s.duration_ms, 1),
                        "target_ms": s.target_ms,
                        "status": s.status,
                        "at": s.at.isoformat(),
                        "violations_in_batch": sum(1 for x in samples if x.operation == operation and x.violated),
                    },
                    None,
                )
            )
    return events


recorder = Recorder()
atexit.register(recorder.flush)


@contextmanager
def track(operation: str, sla_class: str, into: Recorder | None = None) -> Iterator[None]:
    """Time the block as ``operation`` of ``sla_class``; status ``error`` when it raises."""
    target_ms(sla_class)
    started = time.perf_counter()
    status = "success"
    try:
        yield
    except BaseException:
        status = "error"
        raise
    finally:
        duration_ms = (time.perf_counter() - started) * 1000.0
        (into or recorder).add(Sample(operation, sla_class, duration_ms, status, utcnow()))


def record(operation: str, sla_class: str, duration_ms: float, status: str = "success", at=None) -> Sample:
    """Add one measured sample (for durations timed elsewhere, e.g. a job run)."""
    target_ms(sla_class)
    sample = Sample(operation, sla_class, float(duration_ms), status, at or utcnow())
    recorder.add(sample)
    return sample


# ---------------------------------------------------------------------------------------
# availability and accuracy


def record_probe(conn: sa.Connection, service: str, probe_name: str, ok: bool, detail: str | None = None) -> None:
    from analytics.ops.tables import service_probes

    if service not in AVAILABILITY_TARGETS:
        raise ValueError(f"unknown service {service!r}")
    conn.execute(
        service_probes.insert().values(
            service=service, probe=probe_name, ok=ok, detail=(detail or "")[:500], at=utcnow()
        )
    )


def probe(engine: sa.Engine, db) -> list[tuple[str, bool, str]]:
    """Probe the api endpoints: the warehouse answers a query (read-only), the ops store answers,
    and the app's health endpoint answers 200 when ``REVLENS_APP_URL`` is set; records each."""
    import urllib.request

    import sqlalchemy as sa

    from analytics.core.settings import app_url
    from analytics.warehouse.connection import connect

    results = []
    try:
        con = connect(db, read_only=True)
        try:
            con.execute("select 1").fetchall()
        finally:
            con.close()
        results.append(("warehouse", True, ""))
    except Exception as exc:
        results.append(("warehouse", False, str(exc)[:200]))
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("select 1"))
        results.append(("ops_store", True, ""))
    except Exception as exc:
        results.append(("ops_store", False, str(exc)[:200]))
    url = app_url()
    if url:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=5) as answer:  # noqa: S310 (our own app)
                results.append(("app", answer.status == 200, f"HTTP {answer.status}"))
        except Exception as exc:
            results.append(("app", False, str(exc)[:200]))
    try:
        with engine.begin() as conn:
            for name, ok, detail in results:
                record_probe(conn, "api_endpoints", name, ok, detail)
    except Exception:  # the ops store is down: nothing to record into (the probe above says so)
        pass
    return results


def record_accuracy(
    conn: sa.Connection, target: str, matched: float, total: float, detail: dict | None = None, run_id=None
) -> float | None:
    """Store one reconciliation; returns ``matched / total`` (None when there was nothing to check)."""
    from analytics.ops.tables import accuracy_checks

    if target not in ACCURACY_TARGETS:
        raise ValueError(f"unknown accuracy target {target!r}")
    conn.execute(
        accuracy_checks.insert().values(
            target=target,
            matched=float(matched),
            total=float(total),
            detail=json.dumps(detail or {}, default=str),
            run_id=run_id,
            at=utcnow(),
        )
    )
    return matched / total if total else None


# ---------------------------------------------------------------------------------------
# the board


def percentile(values: list[float], q: float) -> float | None:
    """The *q*-th percentile by linear interpolation (formula in the module docstring)."""
    if not values:
        return None
    ordered = sorted(values)
    h = (len(ordered) - 1) * q / 100.0
    low = int(h)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (h - low) * (ordered[high] - ordered[low])


def _since(since) -> datetime:
    if since is None:
        return utcnow() - timedelta(days=30)
    if isinstance(since, datetime):
        return since
    from datetime import UTC
    from datetime import time as dtime

    return datetime.combine(since, dtime(0), tzinfo=UTC)


def _stats(key: dict, durations: list[float], violations: int, errors: int, target: float) -> dict:
    return {
        **key,
        "target_ms": target,
        "samples": len(durations),
        **{f"p{q}_ms": _round(percentile(durations, q)) for q in PERCENTILES},
        "max_ms": _round(max(durations)) if durations else None,
        "violations": violations,
        "errors": errors,
        "within_target_pct": _round(100.0 * (len(durations) - violations) / len(durations)) if durations else None,
    }


def _round(value):
    return None if value is None else round(float(value), 3)


def board(engine: sa.Engine, since=None) -> dict:
    """The SLA board since ``since`` (a date or datetime; default 30 days): ``operations`` and
    ``classes`` (targets, p50/p95/p99, violations), ``violations`` (every sample over its target),
    ``availability`` and ``accuracy`` (measured vs target per service / check)."""
    import sqlalchemy as sa

    from analytics.ops.tables import accuracy_checks, service_probes, sla_samples

    start = _since(since)
    with engine.connect() as conn:
        samples = conn.execute(
            sa.select(
                sla_samples.c.operation,
                sla_samples.c.sla_class,
                sla_samples.c.duration_ms,
                sla_samples.c.target_ms,
                sla_samples.c.status,
                sla_samples.c.at,
            )
            .where(sla_samples.c.at >= start)
            .order_by(sla_samples.c.at)
        ).all()
        probes = conn.execute(
            sa.select(
                service_probes.c.service, sa.func.count(), sa.func.sum(sa.case((service_probes.c.ok, 1), else_=0))
            )
            .where(service_probes.c.at >= start)
            .group_by(service_probes.c.service)
        ).all()
        checks = conn.execute(
            sa.select(
                accuracy_checks.c.target,
                sa.func.count(),
                sa.func.sum(accuracy_checks.c.matched),
                sa.func.sum(accuracy_checks.c.total),
                sa.func.max(accuracy_checks.c.at),
            )
            .where(accuracy_checks.c.at >= start)
            .group_by(accuracy_checks.c.target)
        ).all()
    by_operation: dict[tuple, list] = {}
    by_class: dict[str, list] = {}
    for row in samples:
        by_operation.setdefault((row.operation, row.sla_class), []).append(row)
        by_class.setdefault(row.sla_class, []).append(row)

    def stats(key, rows, target):
        durations = [r.duration_ms for r in rows]
        return _stats(
            key,
            durations,
            sum(1 for r in rows if r.duration_ms > r.target_ms),
            sum(1 for r in rows if r.status != "success"),
            target,
        )

    operations = [
        stats({"operation": op, "sla_class": cls}, rows, RESPONSE_TIME_TARGETS_MS[cls])
        for (op, cls), rows in sorted(by_operation.items())
    ]
    classes = [
        stats({"sla_class": cls}, by_class.get(cls, []), target) for cls, target in RESPONSE_TIME_TARGETS_MS.items()
    ]
    violations = [
        {
            "operation": r.operation,
            "sla_class": r.sla_class,
            "duration_ms": _round(r.duration_ms),
            "target_ms": r.target_ms,
            "status": r.status,
            "at": r.at.isoformat(),
        }
        for r in samples
        if r.duration_ms > r.target_ms
    ]
    probe_counts = {service: (total, ok or 0) for service, total, ok in probes}
    availability = []
    for service, target in AVAILABILITY_TARGETS.items():
        total, ok = probe_counts.get(service, (0, 0))
        measured = ok / total if total else None
        availability.append(
            {
                "service": service,
                "target_pct": target * 100,
                "measured_pct": _round(measured * 100) if measured is not None else None,
                "checks": total,
                "failed": total - ok,
                "met": None if measured is None else measured >= target,
            }
        )
    check_rows = {target: (n, matched, total, last) for target, n, matched, total, last in checks}
    accuracy = []
    for target_name, target in ACCURACY_TARGETS.items():
        n, matched, total, last = check_rows.get(target_name, (0, 0.0, 0.0, None))
        measured = matched / total if total else None
        accuracy.append(
            {
                "target": target_name,
                "target_pct": target * 100,
                "measured_pct": _round(measured * 100) if measured is not None else None,
                "checks": n,
                "matched": matched,
                "total": total,
                "last_checked": last.isoformat() if last else None,
                "met": None if measured is None else measured >= target,
            }
        )
    return {
        "since": start.isoformat(),
        "operations": operations,
        "classes": classes,
        "violations": violations,
        "availability": availability,
        "accuracy": accuracy,
    }
