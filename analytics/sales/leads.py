"""The lead pipeline's entry points for the pages and the CLI: score, model, backtest, route.

Each function takes a DuckDB connection (or cursor) first and plain, hashable parameters
(the rules as their file's text), so pages cache them on the warehouse version.

* :func:`lead_model` — the predictive model and its card, fitted once per warehouse
  version and rules text (kept in a small in-process memo: fitting takes seconds);
* :func:`scored_leads` — every lead in a period with both scores, grade, tier, reasons,
  what it lacks, and (with a routing configuration) its suggested owner;
* :func:`backtest` — rules against outcomes: on matured leads scored as they looked
  ``observe_days`` after creation, the conversion rate per tier and per grade, the ROC-AUC,
  and against other rules how many leads change tier;
* :func:`route_new_leads` — live routing of the leads created in the last days.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
import polars as pl

from analytics.sales.features import data_end
from analytics.sales.predictive import FittedLeadModel, fit_lead_model, roc_auc
from analytics.sales.rules import parse_rules
from analytics.sales.scoring import Scope, score_leads
from analytics.warehouse.runner import Query, scalar

VERSION = Query("sales.version", "select value from _meta where key = 'version'", "the warehouse's load version")
_MODELS: OrderedDict = OrderedDict()
_MODELS_KEPT = 8


def rules_of(rules_text: str, mql: float | None = None, sql: float | None = None):
    rules = parse_rules(rules_text, "the rules")
    if mql is not None or sql is not None:
        rules = rules.with_thresholds(rules.mql if mql is None else mql, rules.sql if sql is None else sql)
    return rules


def lead_model(con, rules_text: str, min_conversions: int | None = None) -> FittedLeadModel:
    """The deployed predictive model and its card (memoized per warehouse version and rules)."""
    key = (scalar(con, VERSION), rules_text, min_conversions)
    if key in _MODELS:
        _MODELS.move_to_end(key)
        return _MODELS[key]
    kwargs = {"min_conversions": min_conversions} if min_conversions is not None else {}
    fitted = fit_lead_model(con, rules_of(rules_text), **kwargs)
    _MODELS[key] = fitted
    while len(_MODELS) > _MODELS_KEPT:
        _MODELS.popitem(last=False)
    return fitted


def scored_leads(
    con,
    rules_text: str,
    mql: float | None = None,
    sql: float | None = None,
    created_from: date | None = None,
    created_to: date | None = None,
    segments: tuple[str, ...] = (),
    predictive: bool = True,
    routing_text: str | None = None,
    model_reasons: bool = True,
) -> pl.DataFrame:
    """Every lead created in the period: both scores, grade, tier, reasons, missing, suggested owner."""
    rules = rules_of(rules_text, mql, sql)
    model = lead_model(con, rules_text).model if predictive else None
    scope = Scope(created_from=created_from, created_to=created_to, segments=segments)
    leads = score_leads(con, rules, scope, model, model_reasons=model_reasons)
    if routing_text is not None and len(leads):
        from analytics.sales.routing import assign, parse_routing, reps_frame, time_off_frame

        config = parse_routing(routing_text)
        routed = assign(leads, reps_frame(con), time_off_frame(con), config)
        leads = leads.join(
            routed.select(
                "contact_id", pl.col("rep_id").alias("suggested_rep_id"), pl.col("rule").alias("routing_rule")
            ),
            on="contact_id",
            how="left",
        )
    return leads


@dataclass(frozen=True)
class Backtest:
    """Rules against outcomes on matured leads (see :func:`backtest`)."""

    leads: int
    conversions: int
    auc: float | None
    baseline_auc: float | None
    tiers: pl.DataFrame  # tier, leads, conversions, conversion_rate (+ baseline_* when compared)
    grades: pl.DataFrame  # grade, leads, conversions, conversion_rate
    changed_tier: int  # leads whose tier differs from the baseline rules'
    moves: pl.DataFrame  # baseline_tier, tier, leads


def _rates(frame: pl.DataFrame, by: str) -> pl.DataFrame:
    return (
        frame.group_by(by)
        .agg(pl.len().alias("leads"), pl.col("converted").sum().alias("conversions"))
        .with_columns(conversion_rate=pl.col("conversions") / pl.col("leads"))
        .sort(by)
    )


def backtest(
    con,
    rules_text: str,
    baseline_text: str | None = None,
    mql: float | None = None,
    sql: float | None = None,
    created_from: date | None = None,
    created_to: date | None = None,
) -> Backtest:
    """Score matured leads as they looked 30 days after creation under ``rules_text`` and compare outcomes."""
    rules = rules_of(rules_text, mql, sql)
    scope = Scope(created_from=created_from, created_to=created_to, observed=True, mature_only=True)
    frame = score_leads(con, rules, scope, with_outcome=True, reasons=False).select(
        "contact_id", "rule_score", "grade", "tier", "converted"
    )
    y = frame["converted"].to_numpy()
    tiers = _rates(frame, "tier")
    baseline_auc, changed, moves = (
        None,
        0,
        pl.DataFrame(schema={"baseline_tier": pl.String, "tier": pl.String, "leads": pl.UInt32}),
    )
    if baseline_text is not None:
        base_rules = rules_of(
            baseline_text, mql if baseline_text == rules_text else None, sql if baseline_text == rules_text else None
        )
        base = score_leads(con, base_rules, scope, reasons=False).select(
            "contact_id", pl.col("rule_score").alias("baseline_score"), pl.col("tier").alias("baseline_tier")
        )
        both = frame.join(base, on="contact_id", how="left")
        baseline_auc = roc_auc(y, both["baseline_score"].to_numpy()) if len(both) else None
        moved = both.filter(pl.col("tier") != pl.col("baseline_tier"))
        changed = len(moved)
        moves = moved.group_by(["baseline_tier", "tier"]).len("leads").sort("leads", descending=True)
        base_rates = _rates(both.select(pl.col("baseline_tier").alias("tier"), "converted"), "tier")
        tiers = tiers.join(
            base_rates.rename(
                {
                    "leads": "baseline_leads",
                    "conversions": "baseline_conversions",
                    "conversion_rate": "baseline_conversion_rate",
                }
            ),
            on="tier",
            how="full",
            coalesce=True,
        ).sort("tier")
    return Backtest(
        leads=len(frame),
        conversions=int(np.sum(y)) if len(y) else 0,
        auc=roc_auc(y, frame["rule_score"].to_numpy()) if len(y) else None,
        baseline_auc=baseline_auc,
        tiers=tiers,
        grades=_rates(frame, "grade"),
        changed_tier=changed,
        moves=moves,
    )


def route_new_leads(
    con,
    rules_text: str,
    routing_text: str,
    days: int = 7,
    initial_load: dict | None = None,
    now: datetime | None = None,
):
    """Route the leads created in the last ``days`` under a configuration file's text (live: from this month's load)."""
    from analytics.sales.routing import parse_routing

    return route_with_config(con, rules_text, parse_routing(routing_text), days, initial_load, now)


def route_with_config(con, rules_text: str, config, days: int = 7, initial_load: dict | None = None, now=None):
    """``(leads, decisions)`` for the leads created in the last ``days`` under ``config``, time off included."""
    from analytics.core.errors import RevLensError
    from analytics.sales.routing import assign, reps_frame, scored_columns, time_off_frame
    from analytics.sales.store import time_off_entries

    now = now or data_end(con)
    rules = rules_of(rules_text)
    model = lead_model(con, rules_text).model
    # routing and the write-back read the scores and a few fields, not the reasons' texts
    scope = Scope(created_from=(now - timedelta(days=days)).date())
    leads = score_leads(con, rules, scope, model, now=now, reasons=False, columns=scored_columns(True))
    if leads.is_empty():
        raise RevLensError(f"No lead was created in the last {days} days of the data; nothing to route.")
    time_off = time_off_frame(con, time_off_entries())
    routed = assign(leads, reps_frame(con), time_off, config, initial_load=initial_load)
    return leads, routed


@dataclass(frozen=True)
class FunnelView:
    """The funnel of a period with its time-to-convert curves and sales velocity, for the Leads page."""

    funnel: object  # analytics.sales.funnel.Funnel
    curve: pl.DataFrame  # all leads
    curves_by_source: pl.DataFrame
    velocity: object  # analytics.sales.funnel.Velocity


def funnel_view(
    con,
    rules_text: str,
    mql: float | None = None,
    sql: float | None = None,
    created_from: date | None = None,
    created_to: date | None = None,
    segments: tuple[str, ...] = (),
) -> FunnelView:
    from analytics.sales.funnel import funnel, sales_velocity, time_to_convert

    rules = rules_of(rules_text, mql, sql)
    result = funnel(con, rules, created_from, created_to, segments)
    now = data_end(con)
    velocity = sales_velocity(con, created_from or date(1970, 1, 1), created_to or now.date(), segments)
    return FunnelView(
        result, time_to_convert(result.durations), time_to_convert(result.durations, by_source=True), velocity
    )


def replay_view(
    con,
    config_json: str,
    rules_text: str,
    created_from: date,
    created_to: date,
    segments: tuple[str, ...] = (),
    time_off_rows: tuple = (),
):
    """A replay of a configuration (as JSON) over the period's leads, for the Routing page."""
    from analytics.sales.routing import config_from_json, replay, time_off_from_rows

    config = config_from_json(config_json)
    model = lead_model(con, rules_text).model if config.score == "predictive_score" else None
    return replay(
        con,
        config,
        rules_of(rules_text),
        created_from,
        created_to,
        model=model,
        extra_time_off=time_off_from_rows(time_off_rows),
        segments=segments,
    )


def sla_view(con, config_json: str, rules_text: str, days: int = 30, time_off_rows: tuple = ()) -> pl.DataFrame:
    """Leads of the last ``days``: owner, wait, breach, the action due, and for a reassignment the new rep."""
    from analytics.sales.routing import (
        assign,
        config_from_json,
        reps_frame,
        scored_columns,
        time_off_frame,
        time_off_from_rows,
    )
    from analytics.sales.sla import sla_breaches

    config = config_from_json(config_json)
    now = data_end(con)
    breaches = sla_breaches(con, config, now, days)
    due = breaches.filter(pl.col("action") == "reassign")
    breaches = breaches.with_columns(reassign_to=pl.lit(None, dtype=pl.String))
    if due.is_empty():
        return breaches
    scope = Scope(created_from=(now - timedelta(days=days)).date())
    leads = score_leads(con, rules_of(rules_text), scope, now=now, reasons=False, columns=scored_columns(False))
    reps, time_off = reps_frame(con), time_off_frame(con, time_off_from_rows(time_off_rows))
    moves = []
    for (owner,), group in due.group_by(["owner_id"]):
        from dataclasses import replace

        # the next rep the routing would pick with the owner left out (no account-owner shortcut)
        again = replace(config, excluded_reps=(*config.excluded_reps, owner), match_accounts="off", rules=())
        chosen = leads.filter(pl.col("contact_id").is_in(group["contact_id"].implode()))
        if chosen.is_empty():
            continue
        routed = assign(chosen, reps, time_off, again)
        moves.append(routed.select("contact_id", pl.col("rep_id").alias("new_rep")))
    if moves:
        breaches = (
            breaches.join(pl.concat(moves), on="contact_id", how="left")
            .with_columns(reassign_to=pl.col("new_rep"))
            .drop("new_rep")
        )
    return breaches
