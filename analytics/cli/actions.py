"""``python -m analytics actions``: queue, inspect, deliver, retry and cancel HubSpot write-back.

``actions enqueue`` is built from the kinds (:data:`analytics.crm.actions.kinds.KINDS`): the
CSV columns it reads come from the kind's ``columns``, and every payload field a kind
declares (its ``params``) is an option (``--list-id``, ``--subject``, ...). ``--param
name=value`` sets any of them too, also for a kind registered after this module was built.
``actions kinds`` lists the kinds with their columns and fields.
"""

from __future__ import annotations

import inspect
import json
import signal
import threading
from pathlib import Path
from typing import Annotated

import polars as pl
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from analytics.cli.common import MAX_ROWS, command_app, in_range
from analytics.core.cells import escape_markup
from analytics.core.errors import RevLensError
from analytics.core.settings import current_user
from analytics.crm.actions import queue as outbox
from analytics.crm.actions.kinds import KINDS, kind_of
from analytics.crm.actions.kinds.base import ActionKind, Param
from analytics.crm.hubspot import transport as hs

app = command_app("Write-back to HubSpot: queue, inspect, deliver, retry, cancel.", group=True)


def default_user() -> str:
    return current_user()


UserOption = Annotated[
    str | None,
    typer.Option(help="Who confirms (must be in REVLENS_CONFIRMERS); default $REVLENS_USER or the login name."),
]


ActionId = Annotated[
    int, typer.Argument(help="The action's id (actions list).", callback=in_range(1, 2**62, "an action id"))
]


def targets_from_csv(kind: ActionKind, path: Path) -> list[dict]:
    """Targets from a CSV, one row per record: the kind's identity columns, then (property kinds) one column per property.

    Every value is read as text (ids keep leading zeros); an empty cell leaves that
    property unchanged in HubSpot.
    """
    if not path.is_file():
        raise RevLensError(f"No CSV file at {path}; check the --from-csv path.")
    try:
        table = pl.read_csv(path, infer_schema=False)
    except (pl.exceptions.ComputeError, pl.exceptions.NoDataError, UnicodeDecodeError) as exc:
        raise RevLensError(
            f"{path} is not a readable CSV file ({str(exc).splitlines()[0]}); save it as UTF-8 CSV with a header row."
        ) from None
    table = table.rename({name: name.strip() for name in table.columns})
    columns = kind.columns
    if not any(column in table.columns for column in columns.identity):
        raise RevLensError(
            f"{path} needs a column {' or '.join(columns.identity)} for {kind.name}; "
            f"it has {', '.join(table.columns) or 'no columns'}."
        )
    identity = set(columns.identity) | set(columns.extra)
    targets = []
    for number, row in enumerate(table.iter_rows(named=True), start=2):
        target = {key: row[key].strip() for key in identity if row.get(key) and row[key].strip()}
        if columns.properties:
            target["properties"] = {
                name: value for name, value in row.items() if name not in identity and value is not None and value != ""
            }
            if not target["properties"]:
                raise RevLensError(
                    f"Row {number} of {path} has no property values; fill at least one "
                    "property column or remove the row."
                )
        targets.append(target)
    if not targets:
        raise RevLensError(f"{path} has a header but no rows; add one {kind.singular} per row.")
    return targets


def _print_plan(plan: outbox.ActionPlan, console: Console) -> None:
    console.print(plan.summary(), markup=False)
    for request in plan.requests(limit=1):
        body = json.dumps(request.body, indent=2)
        lines = body.splitlines()
        shown = "\n".join(lines[:40]) + (f"\n  ... ({len(lines) - 40} more lines)" if len(lines) > 40 else "")
        console.print(f"First request: {request.method} {request.path}", markup=False)
        if request.body is not None:
            console.print(shown, markup=False, highlight=False)
    for violation in plan.violations:
        console.print(f"[red]Blocked:[/red] {escape_markup(violation)}")


# ---------------------------------------------------------------------------------------
# enqueue: its options come from the kinds

GENERAL_OPTIONS = ("kind", "from_csv", "param", "key", "user", "yes", "preview", "topic")


def declared_fields(kinds: dict[str, ActionKind]) -> dict[str, tuple[Param, list[str]]]:
    """Every payload field the kinds declare, with the kinds that read it (one CLI option each)."""
    fields: dict[str, tuple[Param, list[str]]] = {}
    for kind in kinds.values():
        for param in kind.params:
            if param.name in GENERAL_OPTIONS:
                raise RuntimeError(f"Kind {kind.name} declares {param.name!r}, which is an option of every kind.")
            fields.setdefault(param.name, (param, []))[1].append(kind.name)
    return fields


def _field_help(param: Param, kinds: list[str]) -> str:
    default = f" Default {param.default}." if param.default not in (None, "") else ""
    return f"{param.help[:1].upper()}{param.help[1:]} ({', '.join(kinds)}).{default}"


def payload_from_options(kind: ActionKind, fields: dict[str, str | None], pairs: list[str]) -> dict:
    """The payload given on the command line: the kind's options, then ``--param name=value`` pairs."""
    own = {param.name for param in kind.params} | {"topic"}
    payload: dict = {}
    for name, value in fields.items():
        if value is None:
            continue
        if name not in own:
            offered = ", ".join(param.option for param in kind.params) or "none"
            raise RevLensError(
                f"--{name.replace('_', '-')} is not an option of {kind.name}; its options are: {offered}."
            )
        payload[name] = value
    for pair in pairs:
        name, sep, value = pair.partition("=")
        name = name.strip().replace("-", "_")
        if not sep or not name:
            raise RevLensError(f"--param {pair!r} is not name=value; write e.g. --param list_id=123.")
        if name not in own:
            fields_of = ", ".join(param.name for param in kind.params) or "no fields"
            raise RevLensError(f"{kind.name} has no field {name!r}; its fields are: {fields_of} (and topic).")
        payload[name] = value
    return payload


def _enqueue(
    kind: str,
    from_csv: Path | None,
    param: list[str] | None,
    key: str | None,
    user: str | None,
    yes: bool,
    preview: bool,
    topic: str | None = None,
    **fields: str | None,
) -> None:
    action_kind = kind_of(kind)
    payload = payload_from_options(action_kind, {**fields, "topic": topic}, param or [])
    targets: list[dict] = []
    if action_kind.needs_targets:
        if from_csv is None:
            raise RevLensError(f"{kind} needs --from-csv FILE with one {action_kind.singular} per row.")
        targets = targets_from_csv(action_kind, from_csv)
    console = Console(stderr=False)
    plan = outbox.plan_action(kind, targets, payload, idempotency_key=key)
    _print_plan(plan, console)
    if preview:
        return
    if plan.violations:
        raise RevLensError(plan.violations[0])
    if not yes and not typer.confirm("Queue this action?", default=False):
        raise typer.Exit(1)
    result = outbox.enqueue(kind, targets, payload, user or default_user(), idempotency_key=key, plan=plan)
    typer.echo(result.message())


def enqueue_command(**options) -> None:
    """Preview an action, then queue it for delivery (see ``actions kinds`` for each kind's CSV columns and fields)."""
    _enqueue(**options)


def _enqueue_signature(kinds: dict[str, ActionKind]) -> inspect.Signature:
    csv_help = "; ".join(f"{k.name}: {k.columns.describe()}" for k in kinds.values() if k.columns)
    option = inspect.Parameter.KEYWORD_ONLY
    general = [
        inspect.Parameter("kind", option, annotation=Annotated[str, typer.Option(help=f"One of: {', '.join(kinds)}.")]),
        inspect.Parameter(
            "from_csv",
            option,
            default=None,
            annotation=Annotated[Path | None, typer.Option(help=f"CSV, one row per record. {csv_help}.")],
        ),
    ]
    fields = [
        inspect.Parameter(
            name, option, default=None, annotation=Annotated[str | None, typer.Option(help=_field_help(param, users))]
        )
        for name, (param, users) in declared_fields(kinds).items()
    ]
    rest = [
        inspect.Parameter(
            "param",
            option,
            default=None,
            annotation=Annotated[
                list[str] | None,
                typer.Option(help="A payload field as name=value (repeatable); any field of the kind."),
            ],
        ),
        inspect.Parameter(
            "topic",
            option,
            default=None,
            annotation=Annotated[str | None, typer.Option(help="Event topic; default: the kind's, by what it writes.")],
        ),
        inspect.Parameter(
            "key",
            option,
            default=None,
            annotation=Annotated[str | None, typer.Option(help="Idempotency key; default: a hash of the content.")],
        ),
        inspect.Parameter("user", option, default=None, annotation=UserOption),
        inspect.Parameter(
            "yes",
            option,
            default=False,
            annotation=Annotated[bool, typer.Option("--yes", help="Queue without asking after the preview.")],
        ),
        inspect.Parameter(
            "preview",
            option,
            default=False,
            annotation=Annotated[bool, typer.Option("--preview", help="Show what would be sent; queue nothing.")],
        ),
    ]
    return inspect.Signature(general + fields + rest)


enqueue_command.__signature__ = _enqueue_signature(KINDS)
app.command("enqueue")(enqueue_command)


@app.command("kinds")
def kinds_command(
    output_format: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
) -> None:
    """The write-back kinds: object type, campaign or not, event topic, CSV columns, payload fields."""
    rows = [
        {
            "kind": kind.name,
            "label": kind.label,
            "object_type": kind.object_type,
            "campaign": kind.campaign,
            "topic": kind.topic,
            "csv_columns": kind.columns.describe() if kind.columns else "",
            "fields": ", ".join(
                param.option
                + (
                    " (required)"
                    if param.required
                    else f" (default {param.default})"
                    if param.default not in (None, "")
                    else ""
                )
                for param in kind.params
            ),
        }
        for kind in KINDS.values()
    ]
    frame = pl.DataFrame(
        rows,
        schema={
            "kind": pl.String,
            "label": pl.String,
            "object_type": pl.String,
            "campaign": pl.Boolean,
            "topic": pl.String,
            "csv_columns": pl.String,
            "fields": pl.String,
        },
    )
    _frame_out(frame, output_format, "Write-back kinds")


def _frame_out(frame: pl.DataFrame, output_format: str, title: str) -> None:
    if output_format == "json":
        typer.echo(json.dumps(frame.to_dicts(), default=str, indent=2))
        return
    if output_format != "table":
        raise RevLensError(f"--format {output_format!r} is not table or json.")
    table = Table(title=title)
    for column in frame.columns:
        table.add_column(column, overflow="fold")
    for row in frame.iter_rows():
        table.add_row(*("" if value is None else escape_markup(value) for value in row))
    Console().print(table)


@app.command("list")
def list_command(
    status: Annotated[str | None, typer.Option(help=f"Only this status: {', '.join(outbox.STATUSES)}.")] = None,
    kind: Annotated[str | None, typer.Option(help="Only this kind.")] = None,
    output_format: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
    limit: Annotated[
        int, typer.Option(help="At most this many, newest first.", callback=in_range(1, MAX_ROWS, "a row count"))
    ] = 500,
) -> None:
    """The queued actions with status, attempts, last error and target count."""
    frame = outbox.list_actions(status=status, kind=kind, limit=limit)
    if output_format == "table":
        frame = frame.select(
            "id",
            "kind",
            "status",
            "attempts",
            "target_count",
            "batches_sent",
            "batches_total",
            "created_by",
            "created_at",
            "last_error",
        )
    _frame_out(frame, output_format, "Actions")


@app.command("audit")
def audit_command(
    action: Annotated[
        int | None, typer.Option(help="Only this action id.", callback=in_range(1, 2**62, "an action id"))
    ] = None,
    output_format: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
    limit: Annotated[
        int,
        typer.Option(help="At most this many entries, newest first.", callback=in_range(1, MAX_ROWS, "a row count")),
    ] = 200,
) -> None:
    """The audit log: who queued, retried or cancelled what, and what delivery did."""
    _frame_out(outbox.audit_frame(action_id=action, limit=limit), output_format, "Audit log")


@app.command("retry")
def retry_command(action_id: ActionId, user: UserOption = None) -> None:
    """Queue a failed action again (its failed batches get a fresh retry budget)."""
    outbox.retry_action(action_id, user or default_user())
    typer.echo(f"Action #{action_id} is pending again.")


@app.command("cancel")
def cancel_command(action_id: ActionId, user: UserOption = None) -> None:
    """Cancel an action; a deliverer working on it stops before its next batch."""
    outbox.cancel_action(action_id, user or default_user())
    typer.echo(f"Action #{action_id} is cancelled.")


@app.command("deliver")
def deliver_command(
    once: Annotated[
        bool,
        typer.Option(
            "--once",
            help="Deliver until the queue is empty (waiting for scheduled retries), then exit; default: keep running.",
        ),
    ] = False,
    max_attempts: Annotated[
        int | None, typer.Option(help="Attempts per batch (default 5).", callback=in_range(1, 1000, "attempts"))
    ] = None,
    backoff: Annotated[str | None, typer.Option(help="exponential, linear or fixed.")] = None,
    base_delay_ms: Annotated[
        int | None,
        typer.Option(help="Base retry delay in ms (default 1000).", callback=in_range(0, 86_400_000, "milliseconds")),
    ] = None,
    max_delay_ms: Annotated[
        int | None,
        typer.Option(
            help="Longest retry delay in ms (default 60000).", callback=in_range(0, 86_400_000, "milliseconds")
        ),
    ] = None,
    rate_limit: Annotated[
        int | None,
        typer.Option(help="Requests per rate window (default 100).", callback=in_range(1, 100_000, "requests")),
    ] = None,
    rate_window_s: Annotated[
        float | None,
        typer.Option(help="Rate window in seconds (default 10).", callback=in_range(0.001, 86_400, "seconds")),
    ] = None,
    timeout_s: Annotated[
        float | None,
        typer.Option(help="Read timeout per request in s (default 30).", callback=in_range(0.001, 3600, "seconds")),
    ] = None,
    poll_s: Annotated[
        float,
        typer.Option(help="How often an idle deliverer looks for work.", callback=in_range(0.01, 3600, "seconds")),
    ] = 2.0,
) -> None:
    """Send queued actions to HubSpot (needs HUBSPOT_ACCESS_TOKEN)."""
    from analytics.core.settings import setting
    from analytics.crm.actions.delivery import RetryPolicy, deliverer_from_settings

    policy = RetryPolicy.from_settings(
        max_attempts=max_attempts, backoff_strategy=backoff, base_delay_ms=base_delay_ms, max_delay_ms=max_delay_ms
    )
    rate = None
    if rate_limit is not None or rate_window_s is not None:
        rate = (
            rate_limit or int(setting("REVLENS_HUBSPOT_RATE_LIMIT", 100)),
            rate_window_s or float(setting("REVLENS_HUBSPOT_RATE_WINDOW_S", 10.0)),
        )
    timeouts = hs.Timeouts(read=timeout_s) if timeout_s else None
    stop = threading.Event()
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), transient=True
    ) as bar:
        tasks: dict[int, int] = {}

        def progress(action_id: int, done: int, total: int) -> None:
            if action_id not in tasks:
                tasks[action_id] = bar.add_task(f"Action #{action_id}", total=total)
            bar.update(tasks[action_id], completed=done)

        deliverer = deliverer_from_settings(policy=policy, rate_limit=rate, timeouts=timeouts, on_progress=progress)
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        try:
            report = deliverer.run(once=once, stop=stop, poll_s=poll_s)
        except KeyboardInterrupt:  # the batch in flight stays 'sending'; the next run resumes it safely
            typer.echo("Stopped; unfinished actions resume on the next run.")
            raise typer.Exit(130) from None
    typer.echo(report.line())


@app.command("events")
def events_command(
    publish: Annotated[
        bool, typer.Option("--publish", help="Send unpublished events to Kafka (REVLENS_KAFKA_BOOTSTRAP).")
    ] = False,
    output_format: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
    limit: Annotated[
        int,
        typer.Option(help="At most this many unpublished events.", callback=in_range(1, MAX_ROWS, "a row count")),
    ] = 100,
) -> None:
    """Unpublished events in the event outbox; with --publish, ship them to Kafka."""
    from analytics.ops.events import pending_events, publish_pending

    engine = outbox.store()
    if publish:
        result = publish_pending(engine)
        if not result["enabled"]:
            raise RevLensError("Set REVLENS_KAFKA_BOOTSTRAP (host:port of a Kafka broker) to publish events.")
        typer.echo(f"{result['published']} events published, {result['failed']} failed (kept for the next run).")
        return
    rows = pending_events(engine, limit)
    frame = pl.DataFrame(
        [{"id": r["id"], "topic": r["topic"], "event_type": r["event_type"], "envelope": r["envelope"]} for r in rows],
        schema={"id": pl.Int64, "topic": pl.String, "event_type": pl.String, "envelope": pl.String},
    )
    _frame_out(frame, output_format, "Unpublished events")
