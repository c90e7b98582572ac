"""``python -m analytics events consume --group NAME``: a consumer group of the event stream."""

from __future__ import annotations

from typing import Annotated

import typer

from analytics.cli.common import command_app

app = command_app(
    "The event stream's consumer groups (spec: crm-sync, analytics-pipeline, alert-system, ...).", group=True
)


@app.command("consume")
def consume(
    group: Annotated[str, typer.Option(help="alert-system (notifications) or analytics-pipeline (jobs on new data).")],
    source: Annotated[
        str, typer.Option(help="outbox (default) or kafka ($REVLENS_KAFKA_BOOTSTRAP, the group's Kafka offsets).")
    ] = "outbox",
    idle: Annotated[float, typer.Option(help="Kafka: stop after this many seconds without a message.")] = 10.0,
) -> None:
    """Handle the events the group has not seen: alert-system turns SLA violations and health band
    changes into notifications (and the optional webhook, REVLENS_ALERT_WEBHOOK)."""
    from analytics.core.errors import RevLensError
    from analytics.core.settings import setting
    from analytics.ops.consumers import check_group, consume_kafka, consume_outbox
    from analytics.ops.store import ops_engine

    check_group(group)
    engine = ops_engine()
    if source == "outbox":
        report = consume_outbox(engine, group)
    elif source == "kafka":
        bootstrap = setting("REVLENS_KAFKA_BOOTSTRAP")
        if not bootstrap:
            raise RevLensError("--source kafka needs REVLENS_KAFKA_BOOTSTRAP (host:port of the broker).")
        report = consume_kafka(engine, group, str(bootstrap), idle_s=idle)
    else:
        raise RevLensError(f"--source {source!r} is not outbox or kafka.")
    for note in report.notifications:
        typer.echo(f"[{note['severity']}] {note['message']}")
    typer.echo(report.line(), err=True)
