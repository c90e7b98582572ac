"""Feature adoption per B2B account: metrics, milestones, campaigns against a holdout, expansion signals.

The spec's "Feature Adoption Tracking" (``generateAdoptionReport``, ``triggerAdoptionCampaign``,
``identifyExpansionOpportunities``, the ``AdoptionCampaignTrigger`` thresholds). Every formula,
window and rule is in ``docs/adoption.md``; the essentials follow.

Window and scope
----------------
As of a date *t*, the window is (t − w, t] in calendar dates (``w`` = 30 days by default), on
the event's date, as for the health measures (:mod:`analytics.customers.features`). A feature
is named by ``coalesce(feature_name, feature_id)`` and an account is in scope when it pays
(``arr > 0``), was created by *t* and has not churned by *t*: the same rules as health's, so
``breadth · K`` equals health's ``key_features_used_30`` for every account (tested). Key
features are health's (:func:`analytics.customers.config.resolve_key_features`): the list
saved here, else ``REVLENS_HEALTH_KEY_FEATURES``, else the default six.

Metrics per account *a* and feature *f* (``U`` = a's *active users*: its users with any usage
event in the window; ``U_f`` those who used *f*; ``n_f`` the uses of *f* in the window)
-----------------------------------------------------------------------------------------------
``adoption_rate``      ``|U_f| / |U|`` (None when ``U`` is empty); the spec's threshold 70%.
``usage_velocity``     ``n_f / |U| / (w / 7)`` = ``7 n_f / (|U| w)``: uses per active user per
                       week (the spec's 5+).
``success_rate``       uses with ``success = true`` / uses with a known outcome (None without
                       one); the spec's 80%.
``dau_mau``            ``(Σ_days |users of f that day| / w) / |U_f|``: average daily users over
                       the window's users of *f*.
``wau_mau``            ``|users of f in (t − 7, t]| / |U_f|``.
``days_to_first_use``  the first use of *f* on or before *t* minus the account's creation date
                       (None when never used or the account has no creation date).
``feature_retention``  month-over-month: users of *f* in (t − 2w, t − w] who used it again in
                       (t − w, t], over the former (None when nobody used it the month before).

Per account (:func:`account_adoption`): ``breadth`` = key features used in the window / K;
``depth`` = the mean ``adoption_rate`` over the K key features (0 for an unused one);
``adopted_key_features`` = key features with ``adoption_rate ≥ 70%``; ``dau_mau`` and
``wau_mau`` over all features; ``seat_use`` = ``|U|`` / the plan's seat limit (``plans``).

Milestones (the spec's campaign templates), per account and feature as of *t*
----------------------------------------------------------------------------
``adoption_success``  a key feature meets all three thresholds (adoption ≥ 70%, velocity ≥ 5,
                      success ≥ 80%, each inclusive): the celebration campaign;
``adoption_nudge``    a key feature is used below the adoption threshold, or not at all: the
                      encouragement campaign;
``advanced_feature``  every key feature is adopted (≥ 70%): the upgrade campaign, on each
                      advanced feature the account has not adopted yet.
A milestone fires once per account and feature: the ops store's ``adoption_assignments`` has
one row per (account, feature, milestone), so an account once sent (or held out) is never
eligible for the same milestone and feature again.

Holdout (:func:`split_holdout`): when a campaign is triggered, ``round(share · n)`` of its *n*
eligible accounts (default 10%) are held out by a random permutation drawn from
``default_rng([seed, crc32(campaign)])``, so the split is random and the same for a seed;
both arms are recorded, and only the treated accounts' contacts reach the outbox.
Lift (:func:`campaign_lifts`): Δ = adoption 30 days after the campaign's data date minus adoption
on it, per account; lift = mean Δ(treated) − mean Δ(held out), with a 95% Welch interval.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import TYPE_CHECKING

from analytics.core.errors import RevLensError
from analytics.customers.config import resolve_key_features
from analytics.warehouse.runner import Query, example_params, rows, run

if TYPE_CHECKING:
    import polars as pl
    import sqlalchemy as sa

MILESTONES = ("adoption_success", "adoption_nudge", "advanced_feature")
CAMPAIGN_KINDS = ("add_to_list", "enroll_workflow")
DEFAULT_ADVANCED_FEATURES = ("api", "forecasting", "sso", "audit_log")
SIGNALS = ("breadth_on_lower_plan", "seats_near_limit", "advanced_adoption")
LIFT_DAYS = 30
ARMS = ("treated", "holdout")
EXPANSION_PROPERTY = "marketing_platform_expansion_signal"


@dataclass(frozen=True)
class AdoptionConfig:
    """The thresholds (the spec's ``AdoptionCampaignTrigger``), features, templates and holdout.

    ``key_features`` / ``advanced_features`` empty: the configured or default lists.
    ``templates``: (milestone, kind, HubSpot list or workflow id) per milestone; an empty id
    means the milestone's campaign has no target yet.
    """

    adoption_threshold: float = 0.70
    velocity_threshold: float = 5.0
    success_threshold: float = 0.80
    window_days: int = 30
    key_features: tuple[str, ...] = ()
    advanced_features: tuple[str, ...] = ()
    holdout_share: float = 0.10
    holdout_seed: int = 15
    templates: tuple[tuple[str, str, str], ...] = field(default=tuple((m, "add_to_list", "") for m in MILESTONES))
    expansion_breadth: float = 0.8
    expansion_adopted_share: float = 0.5
    seat_share: float = 0.9
    expansion_min_users: int = 3

    def validate(self) -> AdoptionConfig:
        """Raise :class:`RevLensError` with one sentence when a value cannot be used."""
        for name in ("adoption_threshold", "success_threshold", "holdout_share", "expansion_breadth", "seat_share"):
            value = getattr(self, name)
            if not 0 <= value <= 1:
                raise RevLensError(f"{name.replace('_', ' ').capitalize()} is {value:g}; give a share from 0 to 1.")
        if self.holdout_share >= 0.5:
            raise RevLensError(
                f"A holdout of {self.holdout_share:.0%} keeps most accounts from the campaign; use less than 50%."
            )
        if self.velocity_threshold < 0:
            raise RevLensError("The usage velocity threshold cannot be negative; give uses per user per week, e.g. 5.")
        if not 7 <= self.window_days <= 365:
            raise RevLensError(f"The window is {self.window_days} days; give 7 to 365 days.")
        for milestone, kind, _ in self.templates:
            if milestone not in MILESTONES or kind not in CAMPAIGN_KINDS:
                raise RevLensError(
                    f"Template {milestone!r} → {kind!r} is not one of the milestones ({', '.join(MILESTONES)}) "
                    f"with a campaign kind ({', '.join(CAMPAIGN_KINDS)})."
                )
        return self

    def template(self, milestone: str) -> tuple[str, str]:
        """(kind, target id) of a milestone's campaign."""
        for name, kind, target in self.templates:
            if name == milestone:
                return kind, target
        return "add_to_list", ""

    def with_template(self, milestone: str, kind: str, target: str) -> AdoptionConfig:
        others = tuple(t for t in self.templates if t[0] != milestone)
        ordered = sorted((*others, (milestone, kind, target.strip())), key=lambda t: MILESTONES.index(t[0]))
        return replace(self, templates=tuple(ordered))

    def params(self) -> dict:
        return {
            "adoption_threshold": float(self.adoption_threshold),
            "velocity_threshold": float(self.velocity_threshold),
            "success_threshold": float(self.success_threshold),
            "window": int(self.window_days),
        }

    def to_json(self) -> str:
        data = {k: getattr(self, k) for k in self.__dataclass_fields__}
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> AdoptionConfig:
        data = json.loads(text)
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        for name in ("key_features", "advanced_features"):
            known[name] = tuple(known.get(name) or ())
        known["templates"] = tuple(tuple(t) for t in known.get("templates") or cls().templates)
        return cls(**known)


SPEC_ADOPTION = AdoptionConfig()


# ---------------------------------------------------------------------------------------
# Saved in the ops store (adoption_config: one row per save, the newest wins)


def load_adoption_config(engine: sa.Engine | None = None) -> AdoptionConfig:
    import sqlalchemy as sa

    from analytics.ops.store import ops_engine
    from analytics.ops.tables import adoption_config

    engine = engine or ops_engine()
    with engine.connect() as conn:
        text = conn.execute(
            sa.select(adoption_config.c.config).order_by(adoption_config.c.id.desc()).limit(1)
        ).scalar_one_or_none()
    return AdoptionConfig.from_json(text) if text else SPEC_ADOPTION


def save_adoption_config(conn: sa.Connection, config: AdoptionConfig, user: str) -> int:
    """Save ``config`` (validated) inside the caller's transaction; the key features it names become
    health's too (:func:`analytics.customers.config.configured_key_features`)."""
    from analytics.ops.audit import audit
    from analytics.ops.store import utcnow
    from analytics.ops.tables import adoption_config

    config.validate()
    row_id = conn.execute(
        adoption_config.insert().values(config=config.to_json(), saved_by=user, saved_at=utcnow())
    ).inserted_primary_key[0]
    audit(conn, user, "adoption_config_saved", config.to_json())
    return row_id


# ---------------------------------------------------------------------------------------
# Catalog, features, dates


def _has_table(con, name: str) -> bool:
    return bool(
        rows(
            con,
            "select count(*) from information_schema.tables where table_schema = 'main' and table_name = ?",
            [name],
        )[0][0]
    )


def catalog(con) -> dict[str, str]:
    """``{feature name: category}`` of the ``product_features`` catalog (empty without one)."""
    if not _has_table(con, "product_features"):
        return {}
    return {
        name: category
        for name, category in rows(
            con, "select coalesce(feature_name, feature_id), coalesce(category, 'core') from product_features"
        )
        if name is not None
    }


def catalog_ids(con) -> dict[str, str]:
    """``{feature name: feature id}`` of the catalog (empty without one)."""
    if not _has_table(con, "product_features"):
        return {}
    return dict(rows(con, "select feature_name, feature_id from product_features where feature_name is not null"))


def features_of(con, config: AdoptionConfig = SPEC_ADOPTION) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(key features, advanced features): health's key features; advanced = the configured list, else the
    catalog's ``advanced`` ones, else :data:`DEFAULT_ADVANCED_FEATURES`."""
    keys = resolve_key_features(con, config.key_features)
    known = catalog(con)
    advanced = config.advanced_features or tuple(n for n, c in known.items() if c == "advanced")
    return keys, tuple(a for a in (advanced or DEFAULT_ADVANCED_FEATURES) if a not in keys)


USAGE_RANGE = Query(
    "customers.adoption_usage_range",
    "select cast(min(ts) as date), cast(max(ts) as date) from feature_usage_events",
    "The first and last day of the usage events.",
)


def usage_range(con) -> tuple[date, date] | None:
    first, last = rows(con, USAGE_RANGE)[0]
    return None if first is None else (first, last)


def resolve_adoption_date(con, as_of: date | None = None, option: str = "--as-of") -> date:
    """``as_of``, or the usage data's last day; a date outside the data is refused with its range."""
    span = usage_range(con)
    if span is None:
        raise RevLensError(
            "The warehouse has no feature usage events to measure adoption on; import product events with "
            "`python -m analytics import` or build the demo with `python -m analytics demo`."
        )
    if as_of is None:
        return span[1]
    if not span[0] <= as_of <= span[1]:
        raise RevLensError(
            f"{option} {as_of.isoformat()} is outside the usage data, which runs from {span[0].isoformat()} to "
            f"{span[1].isoformat()}; choose a date in that range."
        )
    return as_of


# ---------------------------------------------------------------------------------------
# Metrics (one named query)

ADOPTION_METRICS = Query(
    "customers.adoption_metrics",
    """with scope as (
    -- paying accounts created by t and not churned by t (health's scope)
    select account_id, name as account_name, coalesce(segment, '(none)') as segment, plan, arr, owner_id,
           cast(created_at as date) as created_day
    from accounts
    where arr > 0
      and (created_at is null or cast(created_at as date) <= $as_of)
      and (churned_at is null or cast(churned_at as date) > $as_of)
),
events as (
    -- the two windows (t-2w, t-w] and (t-w, t], on the event's date
    select u.account_id, u.user_id, coalesce(u.feature_name, u.feature_id) as feature, cast(u.ts as date) as day,
           u.success
    from feature_usage_events as u
    join scope as s on s.account_id = u.account_id
    where u.ts >= cast($as_of - (2 * $window - 1) as timestamp) and u.ts < cast($as_of + 1 as timestamp)
),
user_feature_days as (
    select account_id, feature, user_id, day, count(*) as uses,
           count(case when success then 1 end) as successes,
           count(success) as known_outcomes
    from events
    group by account_id, feature, user_id, day
),
account_users as (
    -- per user of the account in the window: the days with any use, and whether the last 7 days had one
    select account_id, user_id, count(distinct day) as active_days,
           max(case when day > $as_of - 7 then 1 else 0 end) as last_week
    from user_feature_days
    where day > $as_of - $window
    group by account_id, user_id
),
active as (
    -- active users: the account's users with any usage event in the window
    select account_id, count(*) as active_users, sum(active_days) as account_user_days,
           sum(last_week) as weekly_active_users
    from account_users
    group by account_id
),
feature_user as (
    -- per user of a feature: used in the window ("now"), in the window before, and the window's counts
    select account_id, feature, user_id,
           max(case when day > $as_of - $window then 1 else 0 end) as used_now,
           max(case when day <= $as_of - $window then 1 else 0 end) as used_before,
           max(case when day > $as_of - 7 then 1 else 0 end) as used_last_week,
           sum(case when day > $as_of - $window then uses else 0 end) as uses,
           sum(case when day > $as_of - $window then successes else 0 end) as successes,
           sum(case when day > $as_of - $window then known_outcomes else 0 end) as known_outcomes,
           count(case when day > $as_of - $window then 1 end) as days_used
    from user_feature_days
    group by account_id, feature, user_id
),
feature_current as (
    select account_id, feature, sum(used_now) as feature_users, sum(uses) as uses, sum(successes) as successes,
           sum(known_outcomes) as known_outcomes, sum(days_used) as feature_user_days,
           sum(used_last_week) as feature_weekly_users, sum(used_before) as previous_users,
           sum(used_before * used_now) as retained_users
    from feature_user
    group by account_id, feature
),
first_use as (
    select u.account_id, coalesce(u.feature_name, u.feature_id) as feature, min(cast(u.ts as date)) as first_use_day
    from feature_usage_events as u
    where u.ts < cast($as_of + 1 as timestamp)
    group by u.account_id, coalesce(u.feature_name, u.feature_id)
),
measured as (
    -- the key and advanced features, the catalog's, and (without a catalog) every feature used
    select distinct feature
    from (
        select cast(unnest($key_features) as varchar) as feature
        union all
        select cast(unnest($advanced_features) as varchar)
        union all
        select cast(unnest($known_features) as varchar)
        union all
        select feature from feature_current where not $has_catalog and feature_users > 0
    ) as listed
    where feature is not null and feature <> ''
),
grid as (
    select s.*, m.feature,
           list_contains($key_features, m.feature) as is_key,
           list_contains($advanced_features, m.feature) as is_advanced
    from scope as s
    cross join measured as m
),
metrics as (
    select g.account_id, g.account_name, g.segment, g.plan, g.arr, g.owner_id, g.created_day, g.feature,
           g.is_key, g.is_advanced,
           coalesce(a.active_users, 0) as active_users,
           coalesce(a.account_user_days, 0) as account_user_days,
           coalesce(a.weekly_active_users, 0) as weekly_active_users,
           coalesce(f.feature_users, 0) as feature_users,
           coalesce(f.uses, 0) as uses,
           coalesce(f.successes, 0) as successes,
           case when a.active_users > 0 then cast(coalesce(f.feature_users, 0) as double) / a.active_users end
               as adoption_rate,
           case when a.active_users > 0 then 7 * cast(coalesce(f.uses, 0) as double) / (a.active_users * $window) end
               as usage_velocity,
           case when f.known_outcomes > 0 then cast(f.successes as double) / f.known_outcomes end as success_rate,
           case when f.feature_users > 0 then cast(f.feature_user_days as double) / $window / f.feature_users end
               as dau_mau,
           case when f.feature_users > 0 then cast(f.feature_weekly_users as double) / f.feature_users end
               as wau_mau,
           fu.first_use_day,
           fu.first_use_day - g.created_day as days_to_first_use,
           coalesce(f.previous_users, 0) as previous_users,
           case when f.previous_users > 0 then cast(f.retained_users as double) / f.previous_users end
               as feature_retention
    from grid as g
    left join active as a on a.account_id = g.account_id
    left join feature_current as f on f.account_id = g.account_id and f.feature = g.feature
    left join first_use as fu on fu.account_id = g.account_id and fu.feature = g.feature
),
key_adoption as (
    select account_id, count(*) as adopted_key_features
    from metrics
    where is_key and adoption_rate >= $adoption_threshold
    group by account_id
),
flagged as (
    select m.*,
           coalesce(m.adoption_rate >= $adoption_threshold, false) as adopted,
           coalesce(m.adoption_rate >= $adoption_threshold and m.usage_velocity >= $velocity_threshold
                    and m.success_rate >= $success_threshold, false) as thresholds_met,
           coalesce(k.adopted_key_features, 0) as adopted_key_features
    from metrics as m
    left join key_adoption as k on k.account_id = m.account_id
)
select f.*,
       case when f.is_key and f.thresholds_met then 'adoption_success'
            when f.is_key and not f.adopted then 'adoption_nudge'
            when f.is_advanced and not f.adopted and f.adopted_key_features = $key_feature_count
                then 'advanced_feature'
       end as milestone
from flagged as f
order by f.account_id, f.feature""",
    "Per paying account and feature as of $as_of: adoption rate, velocity, success rate, stickiness, "
    "time to first use, month-over-month retention and the milestone reached.",
)


def _params(con, as_of: date, config: AdoptionConfig) -> dict:
    keys, advanced = features_of(con, config)
    known = catalog(con)
    return {
        **config.params(),
        "as_of": as_of,
        "key_features": list(keys) or [""],
        "advanced_features": list(advanced) or [""],
        "known_features": list(known) or [""],
        "has_catalog": bool(known),
        "key_feature_count": len(keys),
    }


def adoption_metrics(con, as_of: date | None = None, config: AdoptionConfig = SPEC_ADOPTION) -> pl.DataFrame:
    """``generateAdoptionReport``: one row per paying account and measured feature as of ``as_of``
    (default: the usage data's last day), with every metric of the module docstring and its milestone."""
    config.validate()
    as_of = resolve_adoption_date(con, as_of)
    return run(con, ADOPTION_METRICS, _params(con, as_of, config))


def account_adoption(metrics: pl.DataFrame, config: AdoptionConfig = SPEC_ADOPTION) -> pl.DataFrame:
    """Per account: breadth, depth, adopted key features, stickiness over all features and seat use inputs.

    breadth = key features used / K; depth = mean adoption rate over the K key features (an unused one
    counts 0); dau_mau = (user-days / w) / active users; wau_mau = users in the last 7 days / active users.
    """
    import polars as pl

    keys = metrics.filter(pl.col("is_key"))
    per_key = keys.group_by("account_id").agg(
        (pl.col("feature_users") > 0).sum().alias("key_features_used"),
        pl.col("adoption_rate").fill_null(0.0).mean().alias("depth"),
        pl.col("adopted").sum().alias("adopted_key_features"),
        pl.len().alias("key_features"),
    )
    base = metrics.group_by("account_id").agg(
        pl.col("account_name", "segment", "plan", "arr", "owner_id", "active_users", "account_user_days").first(),
        pl.col("weekly_active_users").first(),
        (pl.col("is_advanced") & pl.col("adopted")).sum().alias("advanced_adopted"),
    )
    window = float(config.window_days)
    return (
        base.join(per_key, on="account_id", how="left")
        .with_columns(
            (pl.col("key_features_used") / pl.col("key_features")).alias("breadth"),
            pl.when(pl.col("active_users") > 0)
            .then(pl.col("account_user_days") / window / pl.col("active_users"))
            .alias("dau_mau"),
            pl.when(pl.col("active_users") > 0)
            .then(pl.col("weekly_active_users") / pl.col("active_users"))
            .alias("wau_mau"),
        )
        .sort("account_id")
    )


# ---------------------------------------------------------------------------------------
# Events the warehouse cannot place: counted and reported, never dropped silently

USAGE_QUALITY = Query(
    "customers.adoption_usage_quality",
    """with events as (
    select u.account_id, coalesce(u.feature_name, u.feature_id) as feature, u.user_id,
           a.account_id is null as unknown_account,
           not $has_catalog or coalesce(u.feature_name, u.feature_id) is null
               or list_contains($known_features, coalesce(u.feature_name, u.feature_id)) as known_feature
    from feature_usage_events as u
    left join accounts as a on a.account_id = u.account_id
)
select count(*) as events,
       count(case when unknown_account then 1 end) as unknown_account_events,
       count(case when not known_feature then 1 end) as unknown_feature_events,
       count(case when feature is null then 1 end) as events_without_feature,
       count(case when user_id is null then 1 end) as events_without_user,
       list(distinct case when unknown_account then account_id end) as unknown_accounts,
       list(distinct case when not known_feature then feature end) as unknown_features
from events""",
    "Usage events for accounts the warehouse does not have, for features outside the catalog, without a feature "
    "or a user.",
)


def usage_quality(con) -> dict:
    """Counts of usage events adoption cannot place, with the unknown ids (up to 20 of each)."""
    known = catalog(con)
    found = run(con, USAGE_QUALITY, {"has_catalog": bool(known), "known_features": list(known) or [""]}).row(
        0, named=True
    )
    for key in ("unknown_accounts", "unknown_features"):
        found[key] = sorted(v for v in (found[key] or []) if v is not None)[:20]
    return found


def quality_sentences(quality: dict) -> list[str]:
    """The report a page or the CLI shows: one sentence per kind of unplaced event."""
    out = []
    if quality["unknown_account_events"]:
        out.append(
            f"{quality['unknown_account_events']:,} usage events name accounts the warehouse does not have "
            f"({', '.join(quality['unknown_accounts'])}); they are left out of adoption: import those accounts."
        )
    if quality["unknown_feature_events"]:
        out.append(
            f"{quality['unknown_feature_events']:,} usage events name features outside the product catalog "
            f"({', '.join(quality['unknown_features'])}); they count as activity but get no feature row: add them "
            "to product_features."
        )
    if quality["events_without_feature"]:
        out.append(f"{quality['events_without_feature']:,} usage events have no feature id or name.")
    if quality["events_without_user"]:
        out.append(f"{quality['events_without_user']:,} usage events have no user, so no active user counts them.")
    return out


# ---------------------------------------------------------------------------------------
# Milestones, holdout, campaigns


def split_holdout(account_ids: list[str], share: float, seed: int, campaign: str) -> tuple[list[str], list[str]]:
    """(treated, held out): ``round(share · n)`` of the sorted ``account_ids`` held out by a permutation
    drawn from ``default_rng([seed, crc32(campaign)])`` — random, and the same for the same seed."""
    import numpy as np

    ordered = sorted(set(account_ids))
    held = int(round(share * len(ordered)))
    order = np.random.default_rng([int(seed), zlib.crc32(campaign.encode())]).permutation(len(ordered))
    held_ids = {ordered[i] for i in order[:held]}
    return [a for a in ordered if a not in held_ids], [a for a in ordered if a in held_ids]


def fired(engine: sa.Engine | None = None) -> pl.DataFrame:
    """Every recorded (account, feature, milestone) with its campaign and arm."""
    import polars as pl
    import sqlalchemy as sa

    from analytics.ops.store import ops_engine
    from analytics.ops.tables import adoption_assignments as table

    engine = engine or ops_engine()
    with engine.connect() as conn:
        found = [dict(r) for r in conn.execute(sa.select(table)).mappings()]
    schema = {
        "id": pl.Int64,
        "campaign_id": pl.Int64,
        "account_id": pl.String,
        "feature": pl.String,
        "milestone": pl.String,
        "arm": pl.String,
        "adoption_before": pl.Float64,
    }
    return pl.DataFrame(found, schema=schema)


@dataclass(frozen=True)
class CampaignPlan:
    """A milestone campaign before it is queued: who is eligible, treated and held out, and what is sent."""

    milestone: str
    feature: str
    as_of: date
    kind: str
    target_id: str
    seed: int
    share: float
    eligible: pl.DataFrame  # account_id, account_name, feature, adoption_rate (not fired before)
    treated: tuple[str, ...]
    held_out: tuple[str, ...]

    @property
    def name(self) -> str:
        return f"{self.milestone}:{self.feature}:{self.as_of.isoformat()}"

    def payload(self) -> dict:
        return {"list_id" if self.kind == "add_to_list" else "workflow_id": self.target_id}


def plan_campaign(
    metrics: pl.DataFrame,
    milestone: str,
    feature: str,
    as_of: date,
    config: AdoptionConfig,
    already: pl.DataFrame,
    seed: int | None = None,
) -> CampaignPlan:
    """``triggerAdoptionCampaign`` before it is queued: the accounts at ``milestone`` on ``feature`` as of
    ``as_of`` that never fired it (``already``: :func:`fired`), split into treated and held out."""
    import polars as pl

    if milestone not in MILESTONES:
        raise RevLensError(f"Milestone {milestone!r} is not one of {', '.join(MILESTONES)}.")
    done = already.filter((pl.col("milestone") == milestone) & (pl.col("feature") == feature))["account_id"]
    eligible = metrics.filter(
        (pl.col("milestone") == milestone)
        & (pl.col("feature") == feature)
        & ~pl.col("account_id").is_in(done.to_list())
    ).select("account_id", "account_name", "feature", "adoption_rate", "usage_velocity", "success_rate", "arr")
    kind, target = config.template(milestone)
    seed = config.holdout_seed if seed is None else seed
    name = f"{milestone}:{feature}:{as_of.isoformat()}"
    treated, held = split_holdout(eligible["account_id"].to_list(), config.holdout_share, seed, name)
    return CampaignPlan(
        milestone, feature, as_of, kind, target, seed, config.holdout_share, eligible, tuple(treated), tuple(held)
    )


def campaign_targets(contacts: pl.DataFrame, plan: CampaignPlan) -> list[dict]:
    """Outbox targets: the contacts of the treated accounts only (a held-out account is never sent)."""
    import polars as pl

    from analytics.customers.interventions import campaign_targets as targets_for

    treated = contacts.filter(pl.col("account_id").is_in(list(plan.treated)))
    return targets_for(treated, plan.kind)


def record_campaign(conn: sa.Connection, plan: CampaignPlan, action_id: int | None, user: str) -> int:
    """Record the campaign and both arms (inside the caller's ops transaction); returns the campaign id.

    A pair already recorded (the unique key account, feature, milestone) is skipped, so a milestone
    fires once per account and feature even when two people trigger the same campaign.
    """
    import sqlalchemy as sa

    from analytics.ops.events import emit
    from analytics.ops.store import utcnow
    from analytics.ops.tables import adoption_assignments, adoption_campaigns

    campaign_id = conn.execute(
        adoption_campaigns.insert().values(
            milestone=plan.milestone,
            feature=plan.feature,
            as_of=plan.as_of,
            kind=plan.kind,
            target_id=plan.target_id,
            action_id=action_id,
            holdout_share=plan.share,
            seed=plan.seed,
            eligible=plan.eligible.height,
            treated=len(plan.treated),
            held_out=len(plan.held_out),
            created_by=user,
            created_at=utcnow(),
        )
    ).inserted_primary_key[0]
    before = dict(zip(plan.eligible["account_id"], plan.eligible["adoption_rate"]))
    taken = set(
        conn.execute(
            sa.select(adoption_assignments.c.account_id).where(
                adoption_assignments.c.milestone == plan.milestone, adoption_assignments.c.feature == plan.feature
            )
        ).scalars()
    )
    rows_ = [
        {
            "campaign_id": campaign_id,
            "account_id": account,
            "feature": plan.feature,
            "milestone": plan.milestone,
            "arm": arm,
            "adoption_before": before.get(account),
        }
        for arm, accounts in (("treated", plan.treated), ("holdout", plan.held_out))
        for account in accounts
        if account not in taken
    ]
    if rows_:
        conn.execute(adoption_assignments.insert(), rows_)
    emit(
        conn,
        "customer-health",
        "adoption.campaign_triggered",
        {
            "campaign_id": campaign_id,
            "milestone": plan.milestone,
            "feature": plan.feature,
            "as_of": plan.as_of.isoformat(),
            "action_id": action_id,
            "treated": len(plan.treated),
            "held_out": len(plan.held_out),
        },
        f"adoption-{campaign_id}",
    )
    return campaign_id


def trigger_adoption_campaign(
    con,
    plan: CampaignPlan,
    user: str,
    engine: sa.Engine | None = None,
) -> tuple[int, object]:
    """Queue ``plan``'s campaign through the write-back outbox (its guard rails and frequency cap apply)
    and record it; returns (campaign id, the outbox's result). Nothing is recorded when the outbox refuses."""
    from analytics.crm.actions.queue import enqueue
    from analytics.customers.interventions import account_contacts
    from analytics.ops.store import ops_engine

    if not plan.target_id:
        raise RevLensError(
            f"The {plan.milestone.replace('_', ' ')} campaign has no HubSpot {plan.kind.split('_')[-1]} id; "
            "set its template target on the Adoption page first."
        )
    engine = engine or ops_engine()
    targets = campaign_targets(account_contacts(con, list(plan.treated)), plan)
    result = enqueue(plan.kind, targets, plan.payload(), user, engine=engine)
    with engine.begin() as conn:
        campaign_id = record_campaign(conn, plan, result.action_id, user)
    return campaign_id, result


def campaigns(engine: sa.Engine | None = None) -> pl.DataFrame:
    """The triggered campaigns, newest first."""
    import polars as pl
    import sqlalchemy as sa

    from analytics.ops.store import ops_engine
    from analytics.ops.tables import adoption_campaigns as table

    engine = engine or ops_engine()
    with engine.connect() as conn:
        found = [dict(r) for r in conn.execute(sa.select(table).order_by(table.c.id.desc())).mappings()]
    for row in found:
        if row["created_at"] is not None and row["created_at"].tzinfo is not None:
            row["created_at"] = row["created_at"].replace(tzinfo=None)
    schema = {
        "id": pl.Int64,
        "milestone": pl.String,
        "feature": pl.String,
        "as_of": pl.Date,
        "kind": pl.String,
        "target_id": pl.String,
        "action_id": pl.Int64,
        "holdout_share": pl.Float64,
        "seed": pl.Int64,
        "eligible": pl.Int64,
        "treated": pl.Int64,
        "held_out": pl.Int64,
        "created_by": pl.String,
        "created_at": pl.Datetime("us"),
    }
    return pl.DataFrame(found, schema=schema)


def welch_interval(treated: list[float], held: list[float], level: float = 0.95) -> tuple[float, float, float]:
    """(difference of means, low, high): the Welch two-sample interval of mean(treated) − mean(held)."""
    import numpy as np
    from scipy import stats

    a, b = np.asarray(treated, float), np.asarray(held, float)
    diff = float(a.mean() - b.mean())
    if len(a) < 2 or len(b) < 2:
        return diff, float("nan"), float("nan")
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    se = float(np.sqrt(va + vb))
    if se == 0:
        return diff, diff, diff
    dof = (va + vb) ** 2 / ((va**2) / (len(a) - 1) + (vb**2) / (len(b) - 1))
    half = float(stats.t.ppf(0.5 + level / 2, dof)) * se
    return diff, diff - half, diff + half


def campaign_lifts(
    con, campaigns_frame: pl.DataFrame, assignments: pl.DataFrame, config: AdoptionConfig
) -> pl.DataFrame:
    """Each campaign's lift in adoption within :data:`LIFT_DAYS` days, treated against held out.

    Per account: Δ = adoption_rate of the campaign's feature on ``as_of + 30`` (or the data's last day,
    when earlier: ``days_observed`` says so) minus ``adoption_before``; lift = mean Δ(treated) − mean
    Δ(held out), with a 95% Welch interval (None with fewer than two accounts in an arm).
    """
    import polars as pl

    schema = {
        "campaign_id": pl.Int64,
        "milestone": pl.String,
        "feature": pl.String,
        "as_of": pl.Date,
        "checked_on": pl.Date,
        "days_observed": pl.Int64,
        "treated": pl.Int64,
        "held_out": pl.Int64,
        "treated_before": pl.Float64,
        "treated_after": pl.Float64,
        "holdout_before": pl.Float64,
        "holdout_after": pl.Float64,
        "lift": pl.Float64,
        "lift_low": pl.Float64,
        "lift_high": pl.Float64,
    }
    if campaigns_frame.is_empty():
        return pl.DataFrame([], schema=schema)
    span = usage_range(con)
    last = span[1] if span else date.today()
    out = []
    after_cache: dict[date, pl.DataFrame] = {}
    for c in campaigns_frame.iter_rows(named=True):
        checked = min(c["as_of"] + timedelta(days=LIFT_DAYS), last)
        if checked not in after_cache:
            after_cache[checked] = adoption_metrics(con, checked, config).select(
                "account_id", "feature", "adoption_rate"
            )
        arms = assignments.filter(pl.col("campaign_id") == c["id"]).join(
            after_cache[checked].rename({"adoption_rate": "adoption_after"}), on=["account_id", "feature"], how="left"
        )
        arms = arms.with_columns(
            pl.col("adoption_before").fill_null(0.0), pl.col("adoption_after").fill_null(0.0)
        ).with_columns((pl.col("adoption_after") - pl.col("adoption_before")).alias("delta"))
        treated = arms.filter(pl.col("arm") == "treated")
        held = arms.filter(pl.col("arm") == "holdout")
        lift = low = high = None
        if treated.height and held.height:
            lift, low, high = welch_interval(treated["delta"].to_list(), held["delta"].to_list())
            low = None if low != low else low  # NaN: an arm too small for an interval
            high = None if high != high else high
        out.append(
            {
                "campaign_id": c["id"],
                "milestone": c["milestone"],
                "feature": c["feature"],
                "as_of": c["as_of"],
                "checked_on": checked,
                "days_observed": (checked - c["as_of"]).days,
                "treated": treated.height,
                "held_out": held.height,
                "treated_before": treated["adoption_before"].mean() if treated.height else None,
                "treated_after": treated["adoption_after"].mean() if treated.height else None,
                "holdout_before": held["adoption_before"].mean() if held.height else None,
                "holdout_after": held["adoption_after"].mean() if held.height else None,
                "lift": lift,
                "lift_low": low,
                "lift_high": high,
            }
        )
    return pl.DataFrame(out, schema=schema)


def lifts_or_empty(
    con, engine_url: str, config: AdoptionConfig = SPEC_ADOPTION, campaigns_seen: int = 0
) -> pl.DataFrame:
    """:func:`campaign_lifts` of every recorded campaign in the ops store at ``engine_url`` (for a page's cache:
    ``campaigns_seen``, the number of campaigns, keys it so a new campaign is measured)."""
    from analytics.ops.store import ops_engine

    engine = ops_engine(engine_url)
    return campaign_lifts(con, campaigns(engine), fired(engine), config)


# ---------------------------------------------------------------------------------------
# Expansion signals (identifyExpansionOpportunities)


PLAN_LIMITS = Query(
    "customers.adoption_plans",
    "select plan, tier, seat_limit from plans order by tier",
    "The plans with their tier and seat limit.",
)


def plans(con) -> dict[str, tuple[int, int | None]]:
    """``{plan: (tier, seat limit)}`` (empty without a ``plans`` table)."""
    if not _has_table(con, "plans"):
        return {}
    return {plan: (tier, limit) for plan, tier, limit in rows(con, PLAN_LIMITS)}


def expansion_opportunities(
    con, as_of: date | None = None, config: AdoptionConfig = SPEC_ADOPTION, metrics: pl.DataFrame | None = None
) -> pl.DataFrame:
    """``identifyExpansionOpportunities``: one row per account and signal, with its reason.

    * ``breadth_on_lower_plan``: on a plan below the top tier, breadth ≥ ``expansion_breadth`` (0.8)
      and at least ``expansion_adopted_share`` (half) of the key features adopted (≥ 70% of users);
    * ``seats_near_limit``: active users ≥ ``seat_share`` (90%) of the plan's seat limit;
    * ``advanced_adoption``: an advanced feature adopted (≥ 70% of the active users use it).

    The two adoption signals need at least ``expansion_min_users`` (3) active users: one user trying a
    feature is 100% adoption, and no evidence of an account's need.
    """
    import polars as pl

    metrics = adoption_metrics(con, as_of, config) if metrics is None else metrics
    accounts = account_adoption(metrics, config)
    known = plans(con)
    top = max((tier for tier, _ in known.values()), default=None)
    tiers = {p: t for p, (t, _) in known.items()}
    limits = {p: lim for p, (_, lim) in known.items()}
    accounts = accounts.with_columns(
        pl.col("plan").replace_strict(tiers, default=None, return_dtype=pl.Int64).alias("tier"),
        pl.col("plan").replace_strict(limits, default=None, return_dtype=pl.Int64).alias("seat_limit"),
    ).with_columns((pl.col("active_users") / pl.col("seat_limit")).alias("seat_use"))
    advanced = (
        metrics.filter(pl.col("is_advanced") & pl.col("adopted"))
        .group_by("account_id")
        .agg(pl.col("feature").sort().alias("advanced_features"), pl.col("adoption_rate").max().alias("best"))
    )
    accounts = accounts.join(advanced, on="account_id", how="left")
    out = []
    for row in accounts.iter_rows(named=True):
        base = {k: row[k] for k in ("account_id", "account_name", "segment", "plan", "arr", "owner_id")}
        k = row["key_features"] or 0
        enough = (row["active_users"] or 0) >= config.expansion_min_users
        if (
            enough
            and top is not None
            and row["tier"] is not None
            and row["tier"] < top
            and (row["breadth"] or 0) >= config.expansion_breadth
            and k
            and (row["adopted_key_features"] or 0) / k >= config.expansion_adopted_share
        ):
            out.append(
                {
                    **base,
                    "signal": "breadth_on_lower_plan",
                    "strength": row["adopted_key_features"] / k,
                    "reason": f"Uses {row['key_features_used']} of {k} key features and has adopted "
                    f"{row['adopted_key_features']} (≥ {config.adoption_threshold:.0%} of its users) on the "
                    f"{row['plan']} plan, below the top tier.",
                }
            )
        if row["seat_use"] is not None and row["seat_use"] >= config.seat_share:
            out.append(
                {
                    **base,
                    "signal": "seats_near_limit",
                    "strength": row["seat_use"],
                    "reason": f"{row['active_users']:,} active users in {config.window_days} days against the "
                    f"{row['plan']} plan's {row['seat_limit']:,} seats ({row['seat_use']:.0%}).",
                }
            )
        if enough and row["advanced_features"]:
            out.append(
                {
                    **base,
                    "signal": "advanced_adoption",
                    "strength": row["best"],
                    "reason": f"Adopted the advanced feature{'s' if len(row['advanced_features']) > 1 else ''} "
                    f"{', '.join(row['advanced_features'])} (up to {row['best']:.0%} of its active users).",
                }
            )
    schema = {
        "account_id": pl.String,
        "account_name": pl.String,
        "segment": pl.String,
        "plan": pl.String,
        "arr": pl.Float64,
        "owner_id": pl.String,
        "signal": pl.String,
        "strength": pl.Float64,
        "reason": pl.String,
    }
    return pl.DataFrame(out, schema=schema).sort(["arr", "account_id"], descending=[True, False])


def expansion_company_targets(con, signals: pl.DataFrame) -> list[dict]:
    """``update_company_properties`` targets: each company's expansion signals and reasons, in one property."""
    from analytics.customers.interventions import ACCOUNT_CRM_IDS

    ids = dict(run(con, ACCOUNT_CRM_IDS, {"account_ids": signals["account_id"].unique().to_list() or [""]}).iter_rows())
    by_account: dict[str, list[str]] = {}
    for row in signals.iter_rows(named=True):
        by_account.setdefault(row["account_id"], []).append(f"{row['signal']}: {row['reason']}")
    return [
        {"hubspot_id": ids[a], "properties": {EXPANSION_PROPERTY: " | ".join(reasons)[:1000]}}
        for a, reasons in sorted(by_account.items())
        if a in ids
    ]


def expansion_task_payload(signals: pl.DataFrame, as_of: date) -> dict:
    """A ``create_task`` payload for the owners: one account names its signals; several, the page."""
    if signals["account_id"].n_unique() == 1:
        name = signals["account_name"][0]
        body = "\n".join(f"- {r}" for r in signals["reason"].to_list())
        return {
            "subject": f"Expansion: {name}"[:250],
            "body": f"RevLens found expansion signals for {name} on {as_of.isoformat()}:\n{body}"[:5000],
            "priority": "MEDIUM",
            "due_in_days": 5,
        }
    return {
        "subject": "Expansion: an account shows upgrade signals",
        "body": f"RevLens found expansion signals on {as_of.isoformat()}; open Customer Success → Adoption to see "
        "the account's signals and their reasons.",
        "priority": "MEDIUM",
        "due_in_days": 5,
    }


@dataclass(frozen=True)
class AdoptionView:
    """What the Adoption page draws, computed once per warehouse version, date and configuration."""

    metrics: pl.DataFrame
    accounts: pl.DataFrame
    signals: pl.DataFrame
    quality: dict
    key_features: tuple[str, ...]
    advanced_features: tuple[str, ...]


def adoption_view(con, as_of: date, config: AdoptionConfig = SPEC_ADOPTION) -> AdoptionView:
    """The metrics, the per-account view, the expansion signals and the data-quality counts as of ``as_of``."""
    metrics = adoption_metrics(con, as_of, config)
    keys, advanced = features_of(con, config)
    return AdoptionView(
        metrics,
        account_adoption(metrics, config),
        expansion_opportunities(con, as_of, config, metrics),
        usage_quality(con),
        keys,
        advanced,
    )


@example_params("customers.adoption_")
def _example_params(con) -> dict:
    """Parameters of the adoption queries for ``sql explain``: the spec's thresholds, as of the data's last day."""
    known = catalog(con)
    return {
        **_params(con, resolve_adoption_date(con), SPEC_ADOPTION),
        "known_features": list(known) or [""],
        "has_catalog": bool(known),
        "account_ids": ["(none)"],
    }
