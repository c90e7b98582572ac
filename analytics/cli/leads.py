"""``python -m analytics leads``: score leads, show the model card, route leads, the funnel."""

from __future__ import annotations

import json
from datetime import date
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from analytics.cli.common import DB_OPTION_HELP, MAX_DAYS, command_app, in_range
from analytics.core.cells import csv_text
from analytics.core.errors import RevLensError
from analytics.core.settings import current_user, db_path

app = command_app("Lead scoring, routing and the qualification funnel.", group=True)
err = Console(stderr=True)  # progress on stderr: stdout stays parseable

RulesOption = Annotated[Path | None, typer.Option("--rules", help="Rules file (default data/lead_rules.txt).")]
RoutingOption = Annotated[
    Path | None, typer.Option("--routing", help="Routing configuration (default data/lead_routing.toml).")
]
DbOption = Annotated[Path | None, typer.Option(help=DB_OPTION_HELP)]


class TableFormat(str, Enum):
    csv = "csv"
    json = "json"


class JsonFormat(str, Enum):
    json = "json"


def _connect(db: Path | None):
    from analytics.warehouse.connection import connect

    return connect(db or db_path(), read_only=True)


def _rules_text(path: Path | None) -> str:
    from analytics.sales.rules import load_rules

    return load_rules(path).source  # checks the file, naming the line of a problem


def _routing_text(path: Path | None) -> str:
    from analytics.sales.routing import load_routing, routing_path

    load_routing(path)
    return (path or routing_path()).read_text(encoding="utf-8")


def _period(text: str) -> tuple[date, date]:
    try:
        start, end = (date.fromisoformat(part.strip()) for part in text.split(":"))
    except ValueError:
        raise RevLensError(f"--replay {text!r} is not FROM:TO; write dates like 2026-06-01:2026-08-31.") from None
    if end < start:
        raise RevLensError(f"--replay {text}: the end comes before the start; swap the dates.")
    return start, end


@app.command()
def score(
    db: DbOption = None,
    output: Annotated[TableFormat, typer.Option("--format", help="csv or json.")] = TableFormat.csv,
    rules: RulesOption = None,
    created_from: Annotated[str | None, typer.Option("--from", help="Leads created on or after (YYYY-MM-DD).")] = None,
    created_to: Annotated[str | None, typer.Option("--to", help="Leads created on or before (YYYY-MM-DD).")] = None,
) -> None:
    """Both scores per lead: contact_id, rule_score, predictive_score, grade, tier, reasons."""
    from analytics.sales.leads import scored_leads

    text = _rules_text(rules)
    try:
        start = date.fromisoformat(created_from) if created_from else None
        end = date.fromisoformat(created_to) if created_to else None
    except ValueError:
        raise RevLensError("--from and --to take dates like 2026-09-01.") from None
    con = _connect(db)
    try:
        with err.status("Scoring the leads…"):
            frame = scored_leads(con, text, created_from=start, created_to=end, model_reasons=False)
    finally:
        con.close()
    frame = frame.select("contact_id", "rule_score", "predictive_score", "grade", "tier", "reasons")
    if output is TableFormat.json:
        typer.echo(json.dumps(frame.to_dicts(), ensure_ascii=False))
    else:
        typer.echo(csv_text(frame), nl=False)


@app.command()
def model(
    db: DbOption = None,
    output: Annotated[JsonFormat, typer.Option("--format", help="json.")] = JsonFormat.json,
    rules: RulesOption = None,
) -> None:
    """The predictive model's card: holdout window, AUCs against the rule score, lift, Brier, bands."""
    from analytics.sales.leads import lead_model

    text = _rules_text(rules)
    con = _connect(db)
    try:
        with err.status("Training on earlier leads and testing on the holdout window…"):
            fitted = lead_model(con, text)
    finally:
        con.close()
    typer.echo(json.dumps(fitted.card.to_dict(), indent=2, default=str))


@app.command()
def assign(
    db: DbOption = None,
    replay_period: Annotated[
        str | None, typer.Option("--replay", help="FROM:TO: replay the routing over leads created then (a dry run).")
    ] = None,
    output: Annotated[JsonFormat, typer.Option("--format", help="json.")] = JsonFormat.json,
    rules: RulesOption = None,
    routing: RoutingOption = None,
    days: Annotated[
        int,
        typer.Option(help="Live routing: leads created in the last N days.", callback=in_range(1, MAX_DAYS, "days")),
    ] = 7,
    queue: Annotated[
        bool, typer.Option("--queue", help="Live routing: queue the owners and scores for HubSpot (outbox).")
    ] = False,
    user: Annotated[str | None, typer.Option(help="Who confirms --queue (REVLENS_CONFIRMERS).")] = None,
) -> None:
    """Route leads: contact_id, rep_id, rule, skipped (rep → why). Live runs are audited in the ops store."""
    from analytics.sales.leads import route_new_leads
    from analytics.sales.routing import parse_routing, replay
    from analytics.sales.store import month_loads, record_decisions, skipped_map, time_off_entries

    rules_text, routing_text = _rules_text(rules), _routing_text(routing)
    config = parse_routing(routing_text)
    con = _connect(db)
    try:
        if replay_period:
            start, end = _period(replay_period)
            with err.status(f"Replaying the routing over leads created {start} to {end}…"):
                from analytics.sales.leads import rules_of

                result = replay(con, config, rules_of(rules_text), start, end, extra_time_off=time_off_entries())
            routed = result.assignments
            err.print(
                f"{len(routed):,} leads; {result.queued:,} to the fallback queue; {result.sla_breaches:,} predicted "
                f"SLA breaches; fair shares: {'—' if result.fair_share is None else f'{result.fair_share:.0%}'}"
            )
        else:
            with err.status("Routing the new leads…"):
                leads, routed = route_new_leads(con, rules_text, routing_text, days=days, initial_load=month_loads())
                run_id = record_decisions(
                    routed, config.key(), user or current_user(), dict(zip(leads["contact_id"], leads[config.score]))
                )
            err.print(f"Routed {len(routed):,} leads; audit run {run_id}.")
            if queue:
                from analytics.crm.actions.queue import enqueue
                from analytics.sales.routing import reps_frame
                from analytics.sales.writeback import owner_targets

                targets = owner_targets(routed, leads, reps_frame(con), config.score)
                result = enqueue("update_properties", targets, {"topic": "lead-capture"}, user or current_user())
                err.print(result.message())
    finally:
        con.close()
    rows = [
        {"contact_id": r["contact_id"], "rep_id": r["rep_id"], "rule": r["rule"], "skipped": skipped_map(r["skipped"])}
        for r in routed.iter_rows(named=True)
    ]
    typer.echo(json.dumps(rows, ensure_ascii=False))


@app.command()
def funnel(
    db: DbOption = None,
    output: Annotated[JsonFormat, typer.Option("--format", help="json.")] = JsonFormat.json,
    rules: RulesOption = None,
    created_from: Annotated[str | None, typer.Option("--from", help="Leads created on or after (YYYY-MM-DD).")] = None,
    created_to: Annotated[str | None, typer.Option("--to", help="Leads created on or before (YYYY-MM-DD).")] = None,
) -> None:
    """The qualification funnel: stages (ordered and any), timing, cohorts, time to convert, sales velocity."""
    from analytics.sales.features import data_end
    from analytics.sales.funnel import funnel as lead_funnel
    from analytics.sales.funnel import sales_velocity, time_to_convert
    from analytics.sales.leads import rules_of

    text = _rules_text(rules)
    try:
        start = date.fromisoformat(created_from) if created_from else None
        end = date.fromisoformat(created_to) if created_to else None
    except ValueError:
        raise RevLensError("--from and --to take dates like 2026-09-01.") from None
    con = _connect(db)
    try:
        with err.status("Dating every lead's stages…"):
            result = lead_funnel(con, rules_of(text), start, end)
            now = data_end(con)
            velocity = sales_velocity(con, start or date(1970, 1, 1), end or now.date())
        curve = time_to_convert(result.durations)
    finally:
        con.close()
    days = curve.filter(curve["day"].is_in([7, 14, 30, 60, 90, 180, 365]))
    typer.echo(
        json.dumps(
            {
                "stages": result.stages.to_dicts(),
                "timing": result.timing.to_dicts(),
                "cohorts": result.cohorts.to_dicts(),
                "time_to_convert": days.to_dicts(),
                "velocity": velocity.__dict__,
            },
            indent=2,
            default=str,
        )
    )
