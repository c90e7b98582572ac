"""Lead routing (the spec's ``assignSalesRep``): who gets each lead, and why.

Each lead goes down this chain, in order; the first step that can place it decides:

1. **rules** — ``[[rule]]`` entries of the configuration, first match wins: a condition on a
   lead field (``lead_source``, ``segment``, ``region``, ``industry``, ``seniority``,
   ``tier``) sends it to a rep or the fallback queue. A rule's rep who is out of office
   that day is skipped (the lead goes on down the chain).
2. **lead-to-account matching** — a lead matched to an existing account
   (:mod:`analytics.sales.features`: by the contact's account, its email domain, then its
   company name; ``match_accounts = "customers"`` counts accounts with ARR and not churned,
   ``"all"`` every account) goes to the account's owner, unless the owner is out of office.
3. **territory and segment** — the pool is the reps whose territory is the lead's region and
   whose segment is the lead's segment; a lead whose score reaches ``high_score`` goes to the
   pool's senior reps first. A lead the pool cannot take (no rep, or all full or away) tries
   the territory's pool (every segment).
4. **the pool's method**, skipping reps who are at capacity (``capacity`` leads a calendar
   month) or out of office on the lead's day:

   * ``round_robin`` — strict rotation A→B→C in rep order from after the last rep served;
   * ``weighted`` — rep ``r`` with weight ``w_r`` takes its ``k``-th lead of the pool at
     virtual time ``(c_r + k + ½) / w_r`` (Sainte-Laguë; ``c_r`` = the pool's leads it had
     so far), so shares follow the weights within about one lead, and a rep back from time
     off catches up on the leads it missed;
   * ``load_based`` — the rep with the lowest ``(load this month + 1) / capacity`` next.

   Ties go to the lower rep id.
5. **fallback queue** — what nobody can take.

Assignment is vectorized: leads are cut into *epochs* (calendar months and the days time
off starts or ends), inside which who is available is fixed; in each epoch every pool's
free slots are ordered by the method's key and the pool's leads, in arrival order, take
them in turn (polars joins, no per-lead Python loop). Inside an epoch high-score leads are
placed first, then each segment pool, then territory pools.

Every decision carries its **audit**: ``rule`` (which step chose), ``candidates`` (the pool)
and ``skipped`` (each candidate that was not eligible, and why: out of office until a date,
at capacity, not senior).

**Replay** (:func:`replay`) runs a configuration over past leads and reports load per rep,
**fairness** (in each pool, each rep's leads against ``n · w_r / Σw`` over the reps that
were never away or full: within ±1 lead is fair) and first-touch **SLA** breaches
(:mod:`analytics.sales.sla`).
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime
from pathlib import Path

import numpy as np
import polars as pl

from analytics.core.errors import RevLensError
from analytics.warehouse.runner import Query, run

DEFAULT_ROUTING_PATH = Path(__file__).resolve().parents[2] / "data" / "lead_routing.toml"
METHODS = ("round_robin", "weighted", "load_based")
MATCH_ACCOUNTS = ("customers", "all", "off")
RULE_FIELDS = ("lead_source", "segment", "region", "industry", "seniority", "tier", "email_domain")
QUEUE = "queue"
FALLBACK = "fallback queue"
# what routing, its audit and its write-back read of a scored lead (score_leads(columns=...))
SCORED_COLUMNS = (
    "contact_id",
    "hubspot_id",
    "email",
    "created_at",
    "account_owner_id",
    "account_is_customer",
    *RULE_FIELDS,
    "rule_score",
)


def scored_columns(predictive: bool) -> tuple[str, ...]:
    """:data:`SCORED_COLUMNS`, with the predictive score when a model scores the leads."""
    return (*SCORED_COLUMNS, "predictive_score") if predictive else SCORED_COLUMNS


@dataclass(frozen=True)
class RoutingRule:
    """``field in values`` → ``to`` (a rep id, or ``queue``)."""

    name: str
    field: str
    values: tuple[str, ...]
    to: str


@dataclass(frozen=True)
class RoutingConfig:
    """A routing configuration (``data/lead_routing.toml``; the Routing page edits a copy)."""

    method: str = "weighted"
    match_accounts: str = "customers"
    high_score: float | None = 60.0
    score: str = "rule_score"  # or predictive_score
    senior_levels: tuple[str, ...] = ("senior",)
    weights: dict[str, float] = field(default_factory=dict)  # rep_id -> weight (default 1)
    capacity_scale: float = 1.0
    excluded_reps: tuple[str, ...] = ()
    rules: tuple[RoutingRule, ...] = ()
    sla_hours: float = 4.0
    open_hour: int = 9
    close_hour: int = 17

    def key(self) -> str:
        """A short hash naming this configuration in the audit."""
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True, default=str).encode()).hexdigest()[:12]

    def weight(self, rep_id: str) -> float:
        return float(self.weights.get(rep_id, 1.0))


def parse_routing(text: str, source: str = "the routing configuration") -> RoutingConfig:
    """A :class:`RoutingConfig` from TOML text; a bad value raises a sentence naming it."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RevLensError(f"{source} is not valid TOML ({exc}); fix that line.") from None
    known = {f for f in RoutingConfig.__dataclass_fields__} | {"rule"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise RevLensError(f"{source}: unknown setting {unknown[0]!r}; use {', '.join(sorted(known))}.")
    rules = []
    for number, entry in enumerate(data.pop("rule", []) or [], start=1):
        missing = [k for k in ("field", "in", "to") if k not in entry]
        if missing:
            raise RevLensError(f"{source}: rule {number} lacks {missing[0]!r} (a rule has name, field, in, to).")
        if entry["field"] not in RULE_FIELDS:
            raise RevLensError(
                f"{source}: rule {number} has unknown field {entry['field']!r}; use one of {', '.join(RULE_FIELDS)}."
            )
        values = entry["in"] if isinstance(entry["in"], list) else [entry["in"]]
        rules.append(
            RoutingRule(
                str(entry.get("name", f"rule {number}")), entry["field"], tuple(map(str, values)), str(entry["to"])
            )
        )
    for key in ("senior_levels", "excluded_reps"):
        if key in data:
            data[key] = tuple(data[key])
    try:
        config = RoutingConfig(**data, rules=tuple(rules))
    except TypeError as exc:
        raise RevLensError(f"{source}: {exc}.") from None
    return validated(config, source)


def validated(config: RoutingConfig, source: str = "the routing configuration") -> RoutingConfig:
    if config.high_score == 0:
        config = replace(config, high_score=None)  # 0 turns senior routing off
    if config.method not in METHODS:
        raise RevLensError(f"{source}: method {config.method!r} is not one of {', '.join(METHODS)}.")
    if config.match_accounts not in MATCH_ACCOUNTS:
        raise RevLensError(f"{source}: match_accounts must be one of {', '.join(MATCH_ACCOUNTS)}.")
    if config.score not in ("rule_score", "predictive_score"):
        raise RevLensError(f"{source}: score must be rule_score or predictive_score.")
    if any(w < 0 for w in config.weights.values()):
        raise RevLensError(f"{source}: a weight is negative; weights are 0 (no leads) or more.")
    if config.capacity_scale < 0 or config.sla_hours <= 0:
        raise RevLensError(f"{source}: capacity_scale must be 0 or more and sla_hours more than 0.")
    if not 0 <= config.open_hour < config.close_hour <= 24:
        raise RevLensError(f"{source}: business hours need 0 ≤ open_hour < close_hour ≤ 24.")
    return config


def routing_path() -> Path:
    """The routing configuration in use: ``REVLENS_LEAD_ROUTING``, else ``data/lead_routing.toml``."""
    from analytics.core.settings import lead_routing_path

    path = lead_routing_path()
    return path if path.is_file() or path != Path("data/lead_routing.toml") else DEFAULT_ROUTING_PATH


def default_routing_text() -> str:
    return routing_path().read_text(encoding="utf-8")


def load_routing(path: str | Path | None = None) -> RoutingConfig:
    path = Path(path) if path else routing_path()
    if not path.is_file():
        raise RevLensError(f"No routing configuration at {path}; copy data/lead_routing.toml there.")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise RevLensError(f"{path} is not a UTF-8 text file; save the routing configuration as TOML text.") from None
    return parse_routing(text, path.name)


REPS = Query(
    "sales.reps",
    """
    select rep_id, name, email, territory, segment, seniority, coalesce(capacity, 0) as capacity, hubspot_owner_id
    from sales_reps
    order by rep_id
    """,
    "the sales reps with their territory, segment, seniority and monthly capacity",
)

TIME_OFF = Query(
    "sales.time_off",
    "select rep_id, starts_on, ends_on, reason from rep_time_off order by rep_id, starts_on",
    "reps' time off (inclusive dates)",
)


def reps_frame(con) -> pl.DataFrame:
    return run(con, REPS)


def time_off_frame(con, extra: pl.DataFrame | None = None) -> pl.DataFrame:
    """Time off from the warehouse, plus entries made on the Routing page (``extra``)."""
    from analytics.sales.features import warehouse_shape

    schema = {"rep_id": pl.String, "starts_on": pl.Date, "ends_on": pl.Date, "reason": pl.String}
    frame = run(con, TIME_OFF) if "rep_time_off" in warehouse_shape(con).tables else pl.DataFrame(schema=schema)
    frame = frame.cast(schema)
    if extra is not None and len(extra):
        frame = pl.concat([frame, extra.select(list(schema)).cast(schema)])
    return frame


def check_config(config: RoutingConfig, reps: pl.DataFrame, time_off: pl.DataFrame, start: date, end: date) -> None:
    """Refuse a configuration under which no rep can ever receive a lead (before it runs)."""
    usable = []
    for rep in reps.iter_rows(named=True):
        if rep["rep_id"] in config.excluded_reps or config.weight(rep["rep_id"]) == 0:
            continue
        if (rep["capacity"] or 0) * config.capacity_scale < 1:
            continue
        away = time_off.filter(pl.col("rep_id") == rep["rep_id"])
        covered = any(s <= start and e >= end for s, e in zip(away["starts_on"], away["ends_on"]))
        if not covered:
            usable.append(rep["rep_id"])
    rule_reps = {r.to for r in config.rules if r.to != QUEUE}
    unknown = sorted(rule_reps - set(reps["rep_id"]))
    if unknown:
        raise RevLensError(
            f"Routing rule target {unknown[0]!r} is not a rep id; use a rep id from sales_reps or 'queue'."
        )
    if not usable:
        raise RevLensError(
            "No rep can ever receive a lead under this routing configuration (every rep is excluded, weighted 0, "
            "without capacity or away for the whole period); give at least one rep a weight and capacity."
        )


# ---------------------------------------------------------------------------------------
# Assignment


def _epochs(start_s: int, end_s: int, time_off: pl.DataFrame) -> np.ndarray:
    """Epoch boundaries (epoch seconds): month starts and the days time off starts or ends."""
    first = np.datetime64(datetime.fromtimestamp(start_s).date(), "M")
    last = np.datetime64(datetime.fromtimestamp(end_s).date(), "M") + 1
    months = np.arange(first, last + 1).astype("datetime64[D]").astype("datetime64[s]").astype("int64")
    if len(time_off):
        starts = time_off["starts_on"].to_numpy().astype("datetime64[D]").astype("datetime64[s]").astype("int64")
        ends = (time_off["ends_on"].to_numpy().astype("datetime64[D]") + 1).astype("datetime64[s]").astype("int64")
        bounds = np.unique(np.r_[months, starts, ends])
    else:
        bounds = months
    return bounds


def _away(time_off: pl.DataFrame, at_s: int) -> dict[str, date]:
    """Reps away at ``at_s``, with the last day of their time off."""
    if not len(time_off):
        return {}
    day = datetime.fromtimestamp(at_s).date()
    inside = time_off.filter((pl.col("starts_on") <= day) & (pl.col("ends_on") >= day))
    return dict(zip(inside["rep_id"].to_list(), inside["ends_on"].to_list()))


def _rule_targets(leads: pl.DataFrame, config: RoutingConfig) -> pl.DataFrame:
    """``rule_rep`` / ``rule_name`` per lead: the first rule that matches (null: none)."""
    target, name = pl.lit(None, dtype=pl.String), pl.lit(None, dtype=pl.String)
    for rule in reversed(config.rules):  # first match wins: build the chain from the last rule up
        values = [v.lower() for v in rule.values]
        matches = pl.col(rule.field).cast(pl.String).str.to_lowercase().is_in(values).fill_null(False)
        target = pl.when(matches).then(pl.lit(rule.to)).otherwise(target)
        name = pl.when(matches).then(pl.lit(rule.name)).otherwise(name)
    return leads.with_columns(target.alias("rule_rep"), name.alias("rule_name"))


@dataclass
class _State:
    load: dict[str, int]  # leads this month per rep
    month: int
    served: dict[tuple, int]  # (pool, rep) -> pool leads served (weighted)
    pointer: dict[tuple, int]  # pool -> index of the last rep served (round robin)


def _slot_keys(method, pool, reps_in_pool, free, state, config, capacity):
    """Per rep its free slots' ordering keys for one pool: list of (rep, key tuple) rows."""
    rows = []
    n = len(reps_in_pool)
    last = state.pointer.get(pool, -1)
    for position, rep in enumerate(reps_in_pool):
        slots = free.get(rep, 0)
        if slots <= 0:
            continue
        k = np.arange(slots)
        if method == "round_robin":
            primary = k.astype(float)
            secondary = np.full(slots, float((position - last - 1) % n))
        elif method == "weighted":
            weight = config.weight(rep)
            if weight <= 0:
                continue
            primary = (state.served.get((pool, rep), 0) + k + 0.5) / weight
            secondary = np.full(slots, float(position))
        else:
            primary = (state.load.get(rep, 0) + k + 1) / max(capacity[rep], 1e-9)
            secondary = np.full(slots, float(position))
        rows.append(pl.DataFrame({"rep_id": [rep] * slots, "primary": primary, "secondary": secondary, "k": k}))
    return rows


def assign(
    leads: pl.DataFrame,
    reps: pl.DataFrame,
    time_off: pl.DataFrame,
    config: RoutingConfig,
    initial_load: dict[str, int] | None = None,
) -> pl.DataFrame:
    """Route ``leads`` (``contact_id``, ``created_at`` and the routing fields) under ``config``.

    ``initial_load``: leads each rep already has this month (live routing). Returns one row
    per lead: ``contact_id, created_at, rep_id`` (null in the queue), ``queue``, ``rule``,
    ``candidates``, ``skipped``, ``high_score`` — the audit of the decision.
    """
    config = validated(config)
    reps = reps.filter(~pl.col("rep_id").is_in(list(config.excluded_reps)))
    if leads.is_empty():
        return _empty_result()
    # only what routing reads: the scored frame's other columns (names, reasons, features) would be
    # sorted and split by epoch for nothing
    needed = {"contact_id", "created_at", "region", "segment", "account_owner_id", "account_is_customer", config.score}
    needed |= {rule.field for rule in config.rules}
    leads = leads.select([c for c in leads.columns if c in needed])
    leads = leads.sort(["created_at", "contact_id"]).with_row_index("arrival")
    created_s = leads["created_at"].cast(pl.Datetime("us")).dt.epoch("s").to_numpy()
    start_s, end_s = int(created_s.min()), int(created_s.max())
    check_config(config, reps, time_off, datetime.fromtimestamp(start_s).date(), datetime.fromtimestamp(end_s).date())
    rep_ids = reps["rep_id"].to_list()
    capacity = {r: float(c) * config.capacity_scale for r, c in zip(rep_ids, reps["capacity"].to_list())}
    senior = set(reps.filter(pl.col("seniority").is_in(list(config.senior_levels)))["rep_id"].to_list())
    pools_exact: dict[tuple, list[str]] = {}
    pools_territory: dict[tuple, list[str]] = {}
    for rep in reps.iter_rows(named=True):
        pools_exact.setdefault((rep["territory"], rep["segment"]), []).append(rep["rep_id"])
        pools_territory.setdefault((rep["territory"],), []).append(rep["rep_id"])
    score = pl.col(config.score) if config.score in leads.columns else pl.lit(None, dtype=pl.Float64)
    high = (score >= config.high_score).fill_null(False) if config.high_score is not None else pl.lit(False)
    leads = _rule_targets(leads, config).with_columns(high.alias("high_score"))
    if config.match_accounts == "off":
        owner = pl.lit(None, dtype=pl.String)
    elif config.match_accounts == "customers":
        owner = pl.when(pl.col("account_is_customer") == 1).then(pl.col("account_owner_id"))
    else:
        owner = pl.col("account_owner_id")
    leads = leads.with_columns(
        pl.when(pl.col("account_owner_id").is_in(rep_ids)).then(owner).alias("owner_rep"),
        epoch=np.searchsorted(_epochs(start_s, end_s, time_off), created_s, side="right") - 1,
    )
    bounds = _epochs(start_s, end_s, time_off)
    state = _State(dict(initial_load or {}), -1, {}, {})
    results = []
    # the leads are in arrival order, so each epoch's leads are one slice of them
    epochs = leads["epoch"].to_numpy()
    for epoch in np.unique(epochs):
        first, last = np.searchsorted(epochs, epoch, side="left"), np.searchsorted(epochs, epoch, side="right")
        batch = leads.slice(int(first), int(last - first))
        at_s = int(bounds[epoch])
        month = datetime.fromtimestamp(at_s).year * 12 + datetime.fromtimestamp(at_s).month
        if month != state.month and state.month != -1:
            state.load = {}
        state.month = month
        away = _away(time_off, at_s)
        month_label = datetime.fromtimestamp(at_s).strftime("%Y-%m")
        results.append(
            _route_epoch(batch, state, away, capacity, senior, pools_exact, pools_territory, config, month_label)
        )
    return pl.concat(results, how="vertical_relaxed").sort("arrival").drop("arrival")


def _empty_result() -> pl.DataFrame:
    return pl.DataFrame(
        schema={
            "contact_id": pl.String,
            "created_at": pl.Datetime("us"),
            "rep_id": pl.String,
            "queue": pl.String,
            "rule": pl.String,
            "candidates": pl.String,
            "skipped": pl.String,
            "high_score": pl.Boolean,
        }
    )


def _route_epoch(batch, state, away, capacity, senior, pools_exact, pools_territory, config, month_label):
    columns = ["arrival", "contact_id", "created_at", "high_score"]
    placed: list[pl.DataFrame] = []
    # 1. rules, 2. account owners (counted in the owner's load; a rep away is skipped)
    ruled = batch.filter(pl.col("rule_rep").is_not_null())
    to_queue = ruled.filter(pl.col("rule_rep") == QUEUE)
    placed.append(
        to_queue.select(columns + ["rule_name"])
        .with_columns(
            rep_id=pl.lit(None, dtype=pl.String),
            queue=pl.lit(FALLBACK),
            rule=pl.concat_str(pl.lit("rule: "), pl.col("rule_name")),
            candidates=pl.lit(""),
            skipped=pl.lit(""),
        )
        .drop("rule_name")
    )
    available = ~pl.col("rule_rep").is_in(list(away))
    by_rule = ruled.filter((pl.col("rule_rep") != QUEUE) & available)
    placed.append(
        by_rule.select(columns + ["rule_rep", "rule_name"])
        .with_columns(
            rep_id=pl.col("rule_rep"),
            queue=pl.lit(None, dtype=pl.String),
            rule=pl.concat_str(pl.lit("rule: "), pl.col("rule_name")),
            candidates=pl.col("rule_rep"),
            skipped=pl.lit(""),
        )
        .drop("rule_rep", "rule_name")
    )
    rest = batch.filter(pl.col("rule_rep").is_null() | ((pl.col("rule_rep") != QUEUE) & ~available))
    rest = rest.with_columns(
        note=pl.when(pl.col("rule_rep").is_not_null())
        .then(pl.concat_str(pl.col("rule_rep"), pl.lit(": out of office (rule "), pl.col("rule_name"), pl.lit(")")))
        .otherwise(pl.lit(""))
    )
    owned = rest.filter(pl.col("owner_rep").is_not_null() & ~pl.col("owner_rep").is_in(list(away)))
    placed.append(
        owned.select(columns + ["owner_rep", "note"])
        .with_columns(
            rep_id=pl.col("owner_rep"),
            queue=pl.lit(None, dtype=pl.String),
            rule=pl.lit("account owner"),
            candidates=pl.col("owner_rep"),
            skipped=pl.col("note"),
        )
        .drop("owner_rep", "note")
    )
    for frame in placed[1:]:
        for rep, n in frame.group_by("rep_id").len().iter_rows():
            state.load[rep] = state.load.get(rep, 0) + n
    rest = rest.filter(~(pl.col("owner_rep").is_not_null() & ~pl.col("owner_rep").is_in(list(away))))
    rest = rest.with_columns(
        note=pl.when(pl.col("owner_rep").is_not_null())
        .then(pl.concat_str(pl.col("note"), pl.lit(" "), pl.col("owner_rep"), pl.lit(": account owner out of office")))
        .otherwise(pl.col("note"))
        .str.strip_chars()
    )
    # 3–4. pools: senior reps for high scores, then the segment pool, then the territory pool
    levels = [
        ("senior", pools_exact, True),
        ("pool", pools_exact, False),
        ("territory", pools_territory, False),
    ]
    for level, pools, only_senior in levels:
        if rest.is_empty():
            break
        key_columns = ["region", "segment"] if level != "territory" else ["region"]
        candidates_here = rest.filter(pl.col("high_score")) if only_senior else rest
        if candidates_here.is_empty():
            continue
        assigned = _place_level(
            candidates_here, key_columns, pools, level, only_senior, senior, state, away, capacity, config, month_label
        )
        placed.append(assigned)
        rest = rest.filter(~pl.col("arrival").is_in(assigned["arrival"].implode()))
    placed.append(
        rest.select(columns + ["note"])
        .with_columns(
            rep_id=pl.lit(None, dtype=pl.String),
            queue=pl.lit(FALLBACK),
            rule=pl.lit("fallback queue"),
            candidates=pl.lit(""),
            skipped=pl.when(pl.col("note") != "").then(pl.col("note")).otherwise(pl.lit("no rep could take it")),
        )
        .drop("note")
    )
    return pl.concat(
        [
            p.select(
                [
                    "arrival",
                    "contact_id",
                    "created_at",
                    "rep_id",
                    "queue",
                    "rule",
                    "candidates",
                    "skipped",
                    "high_score",
                ]
            )
            for p in placed
        ],
        how="vertical_relaxed",
    )


def _place_level(leads, key_columns, pools, level, only_senior, senior, state, away, capacity, config, month_label):
    """Place leads in the pools of one level; returns the rows it assigned (the rest stay unplaced)."""
    slot_frames, pool_info = [], []
    keys = leads.select(key_columns).unique().rows()
    for key in keys:
        members = sorted(pools.get(tuple(key), []))
        if only_senior:
            members = [r for r in members if r in senior]
        if not members:
            continue
        pool = (level, *key)
        free, reasons = {}, []
        for rep in members:
            left = int(capacity.get(rep, 0) - state.load.get(rep, 0))
            if rep in away:
                reasons.append(f"{rep}: out of office until {away[rep].isoformat()}")
            elif left <= 0:
                reasons.append(f"{rep}: at capacity ({int(capacity.get(rep, 0))} in {month_label})")
            elif config.method == "weighted" and config.weight(rep) <= 0:
                reasons.append(f"{rep}: weight 0")
            else:
                free[rep] = left
        rows = _slot_keys(config.method, pool, members, free, state, config, capacity)
        if only_senior:
            reasons += [f"{r}: not senior" for r in sorted(pools.get(tuple(key), [])) if r not in senior]
        pool_info.append((pool, key, members, reasons))
        if rows:
            slots = pl.concat(rows).sort(["primary", "secondary"]).with_row_index("slot")
            slot_frames.append(slots.with_columns(**{c: pl.lit(v) for c, v in zip(key_columns, key)}))
    if not slot_frames:
        return (
            leads.head(0)
            .select("arrival", "contact_id", "created_at", "high_score")
            .with_columns(
                rep_id=pl.lit(None, dtype=pl.String),
                queue=pl.lit(None, dtype=pl.String),
                rule=pl.lit(""),
                candidates=pl.lit(""),
                skipped=pl.lit(""),
            )
        )
    slots = pl.concat(slot_frames, how="vertical_relaxed")
    ranked = leads.sort("arrival").with_columns(slot=pl.int_range(pl.len()).over(key_columns).cast(pl.UInt32))
    joined = ranked.join(slots, on=[*key_columns, "slot"], how="inner")
    # who filled up before each lead: a rep whose last free slot came before the lead's slot
    fills = slots.group_by([*key_columns, "rep_id"]).agg(pl.col("slot").max().alias("last_slot"))
    info = {tuple(key): (members, reasons) for (_, key, members, reasons) in pool_info}
    label = {"senior": "senior reps", "pool": "territory and segment", "territory": "territory"}[level]
    out = []
    for key_values, group in joined.group_by(key_columns, maintain_order=True):
        key = tuple(key_values)
        members, reasons = info[key]
        pool_fills = fills.filter(pl.all_horizontal([pl.col(c) == v for c, v in zip(key_columns, key)]))
        events = pool_fills.sort("last_slot")
        base = "; ".join(reasons)
        group = group.sort("slot")
        skipped = pl.Series([base] * len(group), dtype=pl.String)
        if len(events):
            # leads after a rep's last slot see that rep at capacity
            full_after = events["last_slot"].to_numpy()
            names = events["rep_id"].to_list()
            slot_numbers = group["slot"].to_numpy()
            count_full = np.searchsorted(full_after, slot_numbers, side="left")
            texts = [base]
            for rep in names:
                extra = f"{rep}: at capacity ({int(capacity.get(rep, 0))} in {month_label})"
                texts.append("; ".join(filter(None, [texts[-1], extra])))
            skipped = pl.Series([texts[c] for c in count_full], dtype=pl.String)
        where = "/".join(str(v) for v in key)
        out.append(
            group.select("arrival", "contact_id", "created_at", "high_score", "rep_id", "note")
            .with_columns(
                queue=pl.lit(None, dtype=pl.String),
                rule=pl.lit(f"{label} {where} ({config.method.replace('_', ' ')})"),
                candidates=pl.lit(", ".join(members)),
                skipped=pl.concat_str([pl.col("note"), pl.lit(skipped)], separator="; ")
                .str.strip_chars("; ")
                .str.replace_all(r"^; |; $", ""),
            )
            .drop("note")
        )
    assigned = pl.concat(out, how="vertical_relaxed")
    for rep, n in assigned.group_by("rep_id").len().iter_rows():
        state.load[rep] = state.load.get(rep, 0) + n
    served = assigned.join(leads.select("arrival", *key_columns), on="arrival")
    for row in served.group_by([*key_columns, "rep_id"]).len().iter_rows():
        *key, rep, n = row
        pool = (level, *key)
        state.served[(pool, rep)] = state.served.get((pool, rep), 0) + n
    if config.method == "round_robin":
        last = served.sort("arrival").group_by(key_columns).agg(pl.col("rep_id").last())
        for row in last.iter_rows():
            *key, rep = row
            members = sorted(pools.get(tuple(key), []))
            if only_senior:
                members = [r for r in members if r in senior]
            state.pointer[(level, *key)] = members.index(rep)
    return assigned


# ---------------------------------------------------------------------------------------
# Replay


@dataclass(frozen=True)
class Replay:
    """A routing configuration run over past leads: the decisions and what they add up to."""

    assignments: pl.DataFrame  # assign()'s rows + wait_hours, breached
    load: pl.DataFrame  # rep_id, name, leads, share, capacity, peak_month_load, breaches
    fairness: pl.DataFrame  # pool, rep_id, leads, expected, deviation, fair
    fair_share: float | None  # share of (pool, rep) rows within ±1 lead
    sla_breaches: int
    queued: int


def fairness(assignments: pl.DataFrame, config: RoutingConfig) -> pl.DataFrame:
    """Per pool and rep never skipped in it: leads against ``n · w_r / Σw``; fair within ±1 lead."""
    pooled = assignments.filter(pl.col("rep_id").is_not_null() & pl.col("candidates").str.contains(","))
    rows = []
    for (rule,), group in pooled.group_by(["rule"], maintain_order=True):
        members = group["candidates"][0].split(", ")
        skipped_text = " ".join(group["skipped"].drop_nulls().to_list())
        steady = [r for r in members if f"{r}:" not in skipped_text]
        if not steady:
            continue
        counts = dict(group.filter(pl.col("rep_id").is_in(steady)).group_by("rep_id").len().iter_rows())
        n = sum(counts.values())
        if config.method == "weighted":
            weights = {r: config.weight(r) for r in steady}
        else:
            weights = {r: 1.0 for r in steady}
        total = sum(weights.values()) or 1.0
        if config.method == "load_based":
            continue  # load-based shares follow capacity and load, not weights
        for rep in steady:
            expected = n * weights[rep] / total
            got = counts.get(rep, 0)
            rows.append(
                {
                    "pool": rule,
                    "rep_id": rep,
                    "leads": got,
                    "expected": expected,
                    "deviation": got - expected,
                    "fair": abs(got - expected) <= 1.0 + 1e-9,
                }
            )
    schema = {
        "pool": pl.String,
        "rep_id": pl.String,
        "leads": pl.Int64,
        "expected": pl.Float64,
        "deviation": pl.Float64,
        "fair": pl.Boolean,
    }
    return pl.DataFrame(rows, schema=schema)


def replay(
    con,
    config: RoutingConfig,
    rules,
    created_from: date,
    created_to: date,
    model=None,
    extra_time_off: pl.DataFrame | None = None,
    segments: tuple[str, ...] = (),
) -> Replay:
    """Run ``config`` over the leads created in ``[created_from, created_to]``, scored as they arrived."""
    from analytics.sales.features import data_end
    from analytics.sales.scoring import Scope, score_leads
    from analytics.sales.sla import rep_response_hours, replay_sla

    now = data_end(con)
    scope = Scope(created_from=created_from, created_to=created_to, segments=segments, observed=True, observe_days=0)
    leads = score_leads(
        con, rules, scope, model=model, now=now, reasons=False, columns=scored_columns(model is not None)
    )
    reps = reps_frame(con)
    time_off = time_off_frame(con, extra_time_off)
    if leads.is_empty():
        raise RevLensError(
            f"No leads were created between {created_from} and {created_to}; choose a period with leads to replay."
        )
    routed = assign(leads, reps, time_off, config)
    routed = replay_sla(routed, rep_response_hours(con, config, now), time_off, config)
    months = routed.with_columns(month=pl.col("created_at").dt.strftime("%Y-%m"))
    peak = months.group_by(["rep_id", "month"]).len().group_by("rep_id").agg(pl.col("len").max().alias("peak_month"))
    load = (
        routed.filter(pl.col("rep_id").is_not_null())
        .group_by("rep_id")
        .agg(
            pl.len().alias("leads"),
            pl.col("breached").sum().alias("sla_breaches"),
            pl.col("wait_hours").median().alias("median_wait_hours"),
        )
        .join(reps.select("rep_id", "name", "territory", "segment", "seniority", "capacity"), on="rep_id", how="right")
        .join(peak, on="rep_id", how="left")
        .with_columns(pl.col("leads").fill_null(0), pl.col("sla_breaches").fill_null(0))
        .with_columns(share=pl.col("leads") / max(len(routed), 1), capacity=pl.col("capacity") * config.capacity_scale)
        .sort("rep_id")
    )
    fair = fairness(routed, config)
    return Replay(
        assignments=routed,
        load=load,
        fairness=fair,
        fair_share=float(fair["fair"].mean()) if len(fair) else None,
        sla_breaches=int(routed["breached"].sum()),
        queued=int(routed["rep_id"].is_null().sum()),
    )


def config_to_json(config: RoutingConfig) -> str:
    """A configuration as JSON text (hashable, for caches and the audit)."""
    return json.dumps(asdict(config), sort_keys=True)


def config_from_json(text: str) -> RoutingConfig:
    data = json.loads(text)
    data["rules"] = tuple(RoutingRule(r["name"], r["field"], tuple(r["values"]), r["to"]) for r in data["rules"])
    for key in ("senior_levels", "excluded_reps"):
        data[key] = tuple(data[key])
    return validated(RoutingConfig(**data))


def time_off_from_rows(rows: tuple = ()) -> pl.DataFrame | None:
    """Time-off rows ``(rep_id, starts_on, ends_on, reason)`` as a frame (None for none)."""
    if not rows:
        return None
    return pl.DataFrame(
        list(rows),
        schema={"rep_id": pl.String, "starts_on": pl.Date, "ends_on": pl.Date, "reason": pl.String},
        orient="row",
    )


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(float(value)) if isinstance(value, float) else str(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(str(value))  # a JSON string is a valid TOML basic string


def config_to_toml(config: RoutingConfig) -> str:
    """The configuration as the text of ``data/lead_routing.toml`` (``parse_routing`` reads it back)."""
    lines = ["# RevLens lead routing (written by the Routing page; docs/leads.md explains every setting)."]
    for name in (
        "method",
        "match_accounts",
        "high_score",
        "score",
        "senior_levels",
        "capacity_scale",
        "excluded_reps",
        "sla_hours",
        "open_hour",
        "close_hour",
    ):
        value = getattr(config, name)
        lines.append(f"{name} = {_toml_value(0.0 if value is None else value)}")  # high_score 0: off
    lines += ["", "[weights]"]
    lines += [f"{json.dumps(rep)} = {float(weight)!r}" for rep, weight in sorted(config.weights.items())]
    for rule in config.rules:
        lines += [
            "",
            "[[rule]]",
            f"name = {_toml_value(rule.name)}",
            f"field = {_toml_value(rule.field)}",
            f"in = {_toml_value(list(rule.values))}",
            f"to = {_toml_value(rule.to)}",
        ]
    return "\n".join(lines) + "\n"
