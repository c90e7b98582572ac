"""The deterministic demo warehouse, drawn from the planted ground truth of :mod:`analytics.demo.truth`.

The generator draws a B2B SaaS business over 18 months (2025-05-01 to 2026-10-31 by
default): accounts and contacts, 40 campaigns over 8 channels with monthly costs,
touchpoint journeys, opportunities, product usage, support, invoices, email,
content and NPS feedback. Everything comes from one ``numpy`` generator seeded
with ``seed``, so the same seed and size give the same rows.

What later models must recover (channel lift on conversion, the saturating response to
spend, the churn drivers, feedback sentiment that follows its score) is documented and
declared in :mod:`analytics.demo.truth`; this module holds the drawing and the
vocabularies (touch types, cost shares, platforms, features, names).

Sizes scale with ``touchpoints``: ``contacts = touchpoints / 10`` and
``accounts = contacts / 10`` (5,000 accounts and 50,000 contacts at the default
500,000 touchpoints). Touchpoints are written in chunks of contacts, so
``--touchpoints 10000000`` never holds all touches in memory at once.

New columns or tables are drawn from an independent generator
(``np.random.default_rng([seed, <a constant>])``) after the existing draws, so every
existing row stays the same; their planted truth goes to :mod:`analytics.demo.truth`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from analytics.demo import truth
from analytics.demo.truth import (
    ALPHA,
    CHANNEL_TRUTH,
    CHURN_COEF,
    CS_EMAIL_CLICK_RATE,
    CS_EMAIL_CONTACTS,
    CS_EMAIL_OPEN_RATE,
    CS_EMAIL_STREAM,
    CS_EMAILS_PER_MONTH,
    DEAL_SIZE,
    NEGATIVE,
    NEUTRAL,
    POSITIVE,
    PRICING_VISITS_NOT,
    PRICING_VISITS_WON,
    SEGMENT_EFFECT,
    SENIORITY_GIVEN_NOT,
    SENIORITY_GIVEN_WON,
    SENIORITY_LEVELS,
    SILENCE_DAYS,
)
from analytics.loads import finish_load
from analytics.warehouse.connection import announced, connect
from analytics.warehouse.schema import CHANNELS, SEGMENTS, create_schema

DEFAULT_END = date(2026, 10, 31)
MONTHS = 18
CAMPAIGN_THEMES = ("Always-on", "Spring push", "Product launch", "Q4 pipeline", "Retargeting")
DEFAULT_TOUCHPOINTS = 500_000
FEATURE_EVENTS_TARGET = 1_500_000
CONTACT_CHUNK = 100_000

TITLES = {
    "individual": ("Marketing Analyst", "Sales Operations Specialist", "Account Executive", "Data Engineer"),
    "manager": ("Marketing Manager", "RevOps Manager", "Team Lead, Growth", "Demand Generation Manager"),
    "director": ("Director of Marketing", "Head of Sales Operations", "Director, Revenue Operations"),
    "vp": ("VP Marketing", "Vice President, Sales", "VP of Growth"),
    "c_level": ("Chief Marketing Officer", "CEO", "Chief Revenue Officer", "Founder & CEO"),
}
OTHER_PAGES = ("/docs/getting-started", "/product/dashboards", "/blog/attribution-101", "/careers", "/integrations")

TOUCH_TYPES = {
    "email": ("email_open", "email_click"),
    "paid_search": ("ad_click",),
    "paid_social": ("ad_click", "social_engagement"),
    "organic_search": ("page_view",),
    "webinar": ("webinar_registration", "webinar_attended"),
    "events": ("event_attended", "booth_visit"),
    "display": ("ad_click",),
    "direct": ("page_view", "form_submit"),
}
COST_SHARES = {  # media, creative, platform, overhead
    "email": (0.15, 0.35, 0.35, 0.15),
    "paid_search": (0.80, 0.05, 0.05, 0.10),
    "paid_social": (0.70, 0.15, 0.05, 0.10),
    "organic_search": (0.05, 0.70, 0.10, 0.15),
    "webinar": (0.25, 0.30, 0.25, 0.20),
    "events": (0.60, 0.15, 0.05, 0.20),
    "display": (0.80, 0.10, 0.05, 0.05),
    "direct": (0.00, 0.20, 0.60, 0.20),
}
PLATFORMS = {
    "email": "HubSpot",
    "paid_search": "Google Ads",
    "paid_social": "LinkedIn Ads",
    "organic_search": "Webflow",
    "webinar": "Zoom",
    "events": "Eventbrite",
    "display": "Google Display",
    "direct": "Webflow",
}
FEATURES = (
    "dashboards",
    "reports",
    "alerts",
    "integrations",
    "api",
    "exports",
    "workflows",
    "forecasting",
    "segments",
    "sso",
    "audit_log",
    "mobile",
)
FIRST_NAMES = (
    "Ada",
    "Ben",
    "Chloe",
    "Daniel",
    "Elena",
    "Farid",
    "Grace",
    "Hiro",
    "Ines",
    "Jonas",
    "Kira",
    "Liam",
    "Maya",
    "Noah",
    "Olga",
    "Pedro",
    "Quinn",
    "Rosa",
    "Sam",
    "Tara",
    "Umar",
    "Vera",
    "Wei",
    "Ximena",
    "Yusuf",
    "Zoe",
    "Amir",
    "Bianca",
    "Carlos",
    "Dana",
)
LAST_NAMES = (
    "Smith",
    "Garcia",
    "Chen",
    "Müller",
    "Rossi",
    "Nguyen",
    "Kowalski",
    "Silva",
    "Khan",
    "Okafor",
    "Johansson",
    "Dubois",
    "Tanaka",
    "Novak",
    "Murphy",
    "Haddad",
    "Ivanova",
    "Park",
    "Costa",
    "Schmidt",
    "Lopez",
    "Brown",
    "Wilson",
    "Taylor",
    "Moreau",
)
NAME_PARTS_A = (
    "Acme",
    "Blue",
    "North",
    "Bright",
    "Iron",
    "Nova",
    "Summit",
    "Vertex",
    "Cedar",
    "Pulse",
    "Quantum",
    "River",
    "Atlas",
    "Orbit",
    "Silver",
    "Harbor",
    "Pine",
    "Lumen",
    "Delta",
    "Echo",
)
NAME_PARTS_B = (
    "Labs",
    "Systems",
    "Logistics",
    "Health",
    "Capital",
    "Foods",
    "Robotics",
    "Media",
    "Energy",
    "Software",
    "Retail",
    "Analytics",
    "Works",
    "Bio",
    "Networks",
)
INDUSTRIES = (
    "Software",
    "Healthcare",
    "Financial Services",
    "Retail",
    "Manufacturing",
    "Media",
    "Logistics",
    "Education",
)
REGIONS = ("NA-East", "NA-West", "EMEA", "APAC")

Progress = Callable[[float, str], None]


def _month_starts(end: date, months: int) -> np.ndarray:
    last = np.datetime64(end, "M")
    return np.arange(last - months + 1, last + 2).astype("datetime64[s]")  # months + 1 bounds


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _pick(rng: np.random.Generator, options, size: int, p=None) -> np.ndarray:
    return np.asarray(options, dtype=object)[rng.choice(len(options), size=size, p=p)]


def _ids(prefix: str, n: int, start: int = 1) -> np.ndarray:
    return np.char.add(prefix, np.char.zfill(np.arange(start, start + n).astype(str), 7))


def _draw_categorical(rng: np.random.Generator, cum: np.ndarray) -> np.ndarray:
    """Row-wise draws from cumulative probabilities ``cum`` (n, k)."""
    u = rng.random(len(cum))[:, None] * cum[:, -1:]
    return (u > cum).sum(axis=1)


class DemoBuilder:
    """Builds the demo tables into an open DuckDB connection; see the module docstring."""

    def __init__(
        self,
        con,
        seed: int = 7,
        touchpoints: int = DEFAULT_TOUCHPOINTS,
        end: date = DEFAULT_END,
        progress: Progress | None = None,
    ):
        self.con = con
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.n_touchpoints = int(touchpoints)
        self.n_contacts = max(200, self.n_touchpoints // 10)
        self.n_accounts = max(40, self.n_contacts // 10)
        self.scale = self.n_touchpoints / DEFAULT_TOUCHPOINTS  # spend grows with the business
        self.end = end
        self.bounds = _month_starts(end, MONTHS)
        self.start_s = self.bounds[0].astype("int64")
        self.end_s = self.bounds[-1].astype("int64") - 1
        self.progress = progress or (lambda fraction, message: None)

    # -- helpers ---------------------------------------------------------------------------
    def _insert(self, table: str, frame: pl.DataFrame) -> None:
        columns = ", ".join(frame.columns)
        self.con.register("_frame", frame.to_arrow())
        self.con.execute(f"insert into {table} ({columns}) select {columns} from _frame")
        self.con.unregister("_frame")

    def _ts(self, seconds: np.ndarray) -> np.ndarray:
        return np.asarray(seconds, dtype="int64").astype("datetime64[s]").astype("datetime64[ms]")

    def _month_of(self, seconds: np.ndarray) -> np.ndarray:
        b = self.bounds.astype("int64")
        return np.clip(np.searchsorted(b, seconds, side="right") - 1, 0, MONTHS - 1)

    # -- tables ----------------------------------------------------------------------------
    def build(self) -> None:
        steps = [
            (self.sales_reps, "sales reps"),
            (self.accounts, "accounts"),
            (self.campaigns, "campaigns and costs"),
            (self.contacts_and_journeys, "contacts, touchpoints and opportunities"),
            (self.churn, "churn drivers"),
            (self.product_usage, "product usage"),
            (self.support_and_billing, "support tickets and invoices"),
            (self.email_and_content, "email and content events"),
            (self.feedback, "NPS feedback"),
            (self.customer_email, "customer-success email"),
            (self.lead_signals, "titles, page views and sales activity"),
            (self.adoption_usage, "feature adoption"),
            (self.feedback_comments, "feedback comments"),
        ]
        for i, (step, label) in enumerate(steps):
            self.progress(i / len(steps), f"Generating {label}")
            step()
        self.progress(1.0, "Demo warehouse ready")

    def sales_reps(self) -> None:
        rng = self.rng
        n = 15
        self.rep_ids = _ids("REP", n)
        self.rep_region = np.array([REGIONS[i % 4] for i in range(n)], dtype=object)
        names = [f"{FIRST_NAMES[(i * 7) % 30]} {LAST_NAMES[(i * 5) % 25]}" for i in range(n)]
        self._insert(
            "sales_reps",
            pl.DataFrame(
                {
                    "rep_id": self.rep_ids,
                    "name": names,
                    "email": [n_.lower().replace(" ", ".").replace("ü", "u") + "@revlens-demo.com" for n_ in names],
                    "territory": self.rep_region,
                    "segment": [SEGMENTS[i % 3] for i in range(n)],
                    "seniority": _pick(rng, ("junior", "mid", "senior"), n, p=(0.3, 0.4, 0.3)),
                    "capacity": rng.integers(40, 120, n),
                    "hubspot_owner_id": [str(70_000_000 + i) for i in range(n)],
                }
            ),
        )

    def accounts(self) -> None:
        rng, n = self.rng, self.n_accounts
        self.account_ids = _ids("ACC", n)
        self.segment = _pick(rng, SEGMENTS, n, p=(0.6, 0.3, 0.1))
        self.region = _pick(rng, REGIONS, n, p=(0.35, 0.25, 0.28, 0.12))
        a = rng.integers(0, len(NAME_PARTS_A), n)
        b = rng.integers(0, len(NAME_PARTS_B), n)
        self.account_names = np.array(
            [f"{NAME_PARTS_A[i]} {NAME_PARTS_B[j]} {k}" for k, (i, j) in enumerate(zip(a, b), start=1)], dtype=object
        )
        self.domains = np.array(
            [
                f"{NAME_PARTS_A[i].lower()}{NAME_PARTS_B[j].lower()}{k}.com"
                for k, (i, j) in enumerate(zip(a, b), start=1)
            ],
            dtype=object,
        )
        employees = np.where(
            self.segment == "SMB",
            rng.integers(10, 200, n),
            np.where(self.segment == "Mid-Market", rng.integers(200, 2000, n), rng.integers(2000, 50000, n)),
        )
        self.is_customer = rng.random(n) < 0.6
        base_arr = np.array([DEAL_SIZE[s][0] for s in self.segment]) * rng.lognormal(0, 0.4, n)
        self.arr = np.where(self.is_customer, np.round(base_arr, -2), 0.0)
        created = rng.integers(self.start_s - 3 * 365 * 86400, self.start_s, n)
        created = np.where(
            self.is_customer, created, rng.integers(self.start_s - 365 * 86400, self.end_s - 30 * 86400, n)
        )
        self.account_created = created
        owners = np.empty(n, dtype=object)
        for region in REGIONS:
            mask = self.region == region
            reps = self.rep_ids[self.rep_region == region]
            owners[mask] = reps[rng.integers(0, len(reps), mask.sum())]
        self.account_owner = owners
        self.employees = employees

    def campaigns(self) -> None:
        rng = self.rng
        rows, costs = [], []
        monthly = np.zeros((len(CHANNELS), MONTHS))  # s_{c,m}
        self.campaign_ids, self.campaign_channel = [], []
        campaign_spend = []  # (campaign index, months spend vector)
        k = 0
        for c, channel in enumerate(CHANNELS):
            truth = CHANNEL_TRUTH[channel]
            for j in range(5):
                k += 1
                cid = f"CMP{k:03d}"
                if j == 0:  # one always-on campaign per channel
                    m0, m1 = 0, MONTHS - 1
                else:
                    length = int(rng.integers(2, 8))
                    m0 = int(rng.integers(0, MONTHS - 1))
                    m1 = min(MONTHS + 2, m0 + length - 1)  # may run past the data's end
                active = np.zeros(MONTHS)
                active[m0 : min(m1, MONTHS - 1) + 1] = 1
                level = truth.monthly_spend * self.scale * rng.uniform(0.5, 1.6) * (0.6 if j == 0 else 1.0)
                spend = active * level * rng.lognormal(0, 0.35, MONTHS)
                spend = np.round(spend, 2)
                monthly[c] += spend
                planned = level * (m1 - m0 + 1)
                budget = float(np.round(planned * rng.uniform(0.85, 1.25), -2))
                start = (self.bounds[m0].astype("datetime64[D]") + rng.integers(0, 10)).astype(date)
                end_month = np.datetime64(self.bounds[0], "M") + m1 + 1
                end = (end_month.astype("datetime64[D]") - 1).astype(date)
                rows.append(
                    {
                        "campaign_id": cid,
                        "name": f"{channel.replace('_', ' ').title()} — {CAMPAIGN_THEMES[j]} {k}",
                        "channel": channel,
                        "type": "always_on" if j == 0 else ("nurture" if channel == "email" else "burst"),
                        "start_date": start,
                        "end_date": end,
                        "budget": budget,
                        "audience_size": int(rng.integers(500, 60_000)),
                        "hubspot_id": str(880_000 + k),
                        "salesforce_id": f"7015g00000{k:08d}",
                    }
                )
                self.campaign_ids.append(cid)
                self.campaign_channel.append(channel)
                campaign_spend.append(spend)
                shares = COST_SHARES[channel]
                for m in np.nonzero(spend)[0]:
                    cost_date = self.bounds[m].astype("datetime64[D]").astype(date)
                    for cat, share in zip(
                        ("media_spend", "creative_production", "platform_fees", "operational_overhead"), shares
                    ):
                        if share == 0:
                            continue
                        costs.append(
                            {
                                "campaign_id": cid,
                                "cost_date": cost_date,
                                "category": cat,
                                "amount": round(float(spend[m] * share), 2),
                                "platform": PLATFORMS[channel] if cat in ("media_spend", "platform_fees") else None,
                                "allocation_method": "time_based" if cat == "operational_overhead" else None,
                                "resource_hours": round(float(spend[m] * share / 85.0), 1)
                                if cat == "creative_production"
                                else None,
                            }
                        )
        # Overhead not booked to any campaign: marketing ops salaries and tools, to be allocated.
        for m in range(MONTHS):
            cost_date = self.bounds[m].astype("datetime64[D]").astype(date)
            costs.append(
                {
                    "campaign_id": None,
                    "cost_date": cost_date,
                    "category": "operational_overhead",
                    "amount": round(float(60_000 * self.scale * rng.uniform(0.9, 1.1)), 2),
                    "platform": None,
                    "allocation_method": "headcount",
                    "resource_hours": None,
                }
            )
        self._insert("campaigns", pl.DataFrame(rows))
        self._insert(
            "campaign_costs",
            pl.DataFrame(
                costs,
                schema={
                    "campaign_id": pl.String,
                    "cost_date": pl.Date,
                    "category": pl.String,
                    "amount": pl.Float64,
                    "platform": pl.String,
                    "allocation_method": pl.String,
                    "resource_hours": pl.Float64,
                },
            ),
        )
        self.campaign_ids = np.array(self.campaign_ids, dtype=object)
        self.campaign_channel = np.array(self.campaign_channel, dtype=object)
        spend_matrix = np.vstack(campaign_spend)  # (campaigns, months)
        # W_{c,m} = b_c + a_c s/(s + k_c): channel touch volume per month.
        volume = np.zeros((len(CHANNELS), MONTHS))
        for c, channel in enumerate(CHANNELS):
            t = CHANNEL_TRUTH[channel]
            volume[c] = t.baseline + t.ceiling * monthly[c] / (monthly[c] + t.half_saturation * self.scale)
        self.channel_spend = monthly
        self.channel_volume = volume
        self.channel_cum = np.cumsum(volume.T, axis=1)  # (months, channels)
        # campaign within (channel, month) proportional to its spend; always-on gets a floor
        self.campaign_cum = np.zeros((len(CHANNELS), MONTHS, 5))
        for c in range(len(CHANNELS)):
            block = spend_matrix[c * 5 : (c + 1) * 5].T + 1e-9
            block[:, 0] += 1.0
            self.campaign_cum[c] = np.cumsum(block, axis=1)

    def contacts_and_journeys(self) -> None:
        rng = self.rng
        n = self.n_contacts
        contact_ids = _ids("CON", n)
        account_idx = rng.integers(0, self.n_accounts, n)
        first = _pick(rng, FIRST_NAMES, n)
        last = _pick(rng, LAST_NAMES, n)
        # Month of the journey start follows total touch volume.
        month_weight = self.channel_volume.sum(axis=0)
        month = rng.choice(MONTHS, size=n, p=month_weight / month_weight.sum())
        b = self.bounds.astype("int64")
        # journeys are centred on a day of their month; touches that would fall outside the
        # 18 months are reflected back in, which keeps the edge months as busy as the rest
        journey_centre = b[month] + rng.integers(0, 28 * 86400, n)
        span = rng.integers(5, 120, n) * 86400
        # touch counts: 1 + multinomial with gamma heterogeneity; sums exactly to n_touchpoints
        weight = rng.gamma(2.0, 1.0, n)
        counts = 1 + rng.multinomial(self.n_touchpoints - n, weight / weight.sum())
        self.contact_account = account_idx
        won_flags = np.zeros(n, dtype=bool)
        created_at = np.zeros(n, dtype="int64")
        opp_created = np.zeros(n, dtype="int64")
        last_touch = np.zeros(n, dtype="int64")
        touched_any = np.zeros((n, len(CHANNELS)), dtype=bool)
        seg_effect = np.array([SEGMENT_EFFECT[s] for s in self.segment])[account_idx]
        lift = np.array([CHANNEL_TRUTH[c].lift for c in CHANNELS])
        next_tp = 1
        for lo in range(0, n, CONTACT_CHUNK):
            hi = min(n, lo + CONTACT_CHUNK)
            self.progress(0.33 + 0.1 * lo / n, f"Generating touchpoints {next_tp - 1:,} of {self.n_touchpoints:,}")
            c_counts = counts[lo:hi]
            owner = np.repeat(np.arange(lo, hi), c_counts)
            ts = journey_centre[owner] + ((rng.random(len(owner)) - 0.5) * span[owner]).astype("int64")
            ts = np.where(ts > self.end_s, 2 * self.end_s - ts, ts)
            ts = np.where(ts < self.start_s, 2 * self.start_s - ts, ts)
            ts = ts[np.lexsort((ts, owner))]  # owner is already sorted: this orders each journey
            tmonth = self._month_of(ts)
            ch = _draw_categorical(rng, self.channel_cum[tmonth])
            camp_slot = _draw_categorical(rng, self.campaign_cum[ch, tmonth])
            campaign = self.campaign_ids[ch * 5 + camp_slot]
            channel_names = np.asarray(CHANNELS, dtype=object)[ch]
            ttype = np.empty(len(ch), dtype=object)
            for c, name in enumerate(CHANNELS):
                mask = ch == c
                ttype[mask] = _pick(rng, TOUCH_TYPES[name], int(mask.sum()))
            engagement = np.round(np.clip(rng.normal(55, 20, len(ch)) + 10 * (ch == 4), 0, 100), 1)
            self._insert(
                "touchpoints",
                pl.DataFrame(
                    {
                        "touchpoint_id": _ids("TP", len(ch), next_tp),
                        "contact_id": contact_ids[owner],
                        "campaign_id": campaign,
                        "channel": channel_names,
                        "touchpoint_type": ttype,
                        "ts": self._ts(ts),
                        "engagement_score": engagement,
                    }
                ),
            )
            next_tp += len(ch)
            # per-contact facts from the journey
            local = owner - lo
            touched = np.zeros((hi - lo, len(CHANNELS)), dtype=bool)
            touched[local, ch] = True
            touched_any[lo:hi] = touched
            first_idx = np.r_[0, np.cumsum(c_counts)[:-1]]
            last_idx = np.cumsum(c_counts) - 1
            second_idx = np.minimum(first_idx + 1, last_idx)
            opp_idx = first_idx + np.floor(0.6 * (c_counts - 1)).astype(int)
            created_at[lo:hi] = ts[second_idx]  # the lead is created at its second touch
            opp_created[lo:hi] = ts[opp_idx] + 3600
            last_touch[lo:hi] = ts[last_idx]
            logit = ALPHA + touched.astype(float) @ lift + seg_effect[lo:hi]
            won_flags[lo:hi] = rng.random(hi - lo) < _sigmoid(logit)
        self.touched_channels = touched_any
        self.planted_won = won_flags
        self.contact_created = created_at
        # contacts table
        acc = account_idx
        emails = np.char.add(
            np.char.add(
                np.char.add(np.char.lower(first.astype(str)), "."),
                np.char.add(np.char.lower(last.astype(str)), contact_ids.astype(str)),
            ),
            "@",
        )
        emails = np.char.add(emails, self.domains[acc].astype(str))
        emails = np.char.replace(emails, "ü", "u")
        stage = np.where(
            won_flags,
            "customer",
            _pick(
                rng, ("subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead"), n, p=(0.2, 0.45, 0.25, 0.1)
            ),
        )
        self._insert(
            "contacts",
            pl.DataFrame(
                {
                    "contact_id": contact_ids,
                    "account_id": self.account_ids[acc],
                    "email": emails,
                    "first_name": first,
                    "last_name": last,
                    "company": self.account_names[acc],
                    "lead_source": _pick(rng, ("Web", "Paid Search", "Event", "Referral", "Social", "Email"), n),
                    "lifecycle_stage": stage,
                    "created_at": self._ts(created_at),
                    "owner_id": self.account_owner[acc],
                    "lead_score": np.round(np.clip(rng.normal(45, 18, n) + 25 * won_flags, 0, 100), 0),
                    "hubspot_id": (100_000_000 + np.arange(n)).astype(str),
                    "salesforce_id": np.char.add("003", np.char.zfill(np.arange(n).astype(str), 15)),
                    "marketing_platform_id": np.char.add("mp-", contact_ids.astype(str)),
                    "updated_at": self._ts(np.maximum(created_at, last_touch)),
                }
            ),
        )
        # opportunities: every planted winner, plus lost/open ones among the others
        seg = self.segment[acc]
        mu = np.array([DEAL_SIZE[s][0] for s in seg])
        sd = np.array([DEAL_SIZE[s][1] for s in seg])
        amount = np.round(mu * rng.lognormal(-(sd**2) / 2, sd), -1)
        score = _sigmoid(ALPHA + 1.5 + touched_any.astype(float) @ lift)
        n_other = int(round(n * 0.14))
        others = np.nonzero(~won_flags)[0]
        p_other = score[others] / score[others].sum()
        lost = rng.choice(others, size=min(n_other, len(others)), replace=False, p=p_other)
        opp_contacts = np.r_[np.nonzero(won_flags)[0], lost]
        is_win = np.r_[np.ones(won_flags.sum(), dtype=bool), np.zeros(len(lost), dtype=bool)]
        close = last_touch[opp_contacts] + rng.integers(1, 30, len(opp_contacts)) * 86400
        open_ = close > self.end_s
        stage = np.where(
            open_,
            _pick(rng, ("appointmentscheduled", "qualifiedtobuy", "presentationscheduled", "contractsent"), len(close)),
            np.where(is_win, "closedwon", "closedlost"),
        )
        m = len(opp_contacts)
        self._insert(
            "opportunities",
            pl.DataFrame(
                {
                    "opportunity_id": _ids("OPP", m),
                    "contact_id": contact_ids[opp_contacts],
                    "account_id": self.account_ids[acc[opp_contacts]],
                    "name": [f"{self.account_names[a]} — new business" for a in acc[opp_contacts]],
                    "amount": amount[opp_contacts],
                    "stage": stage,
                    "is_closed": ~open_,
                    "is_closed_won": is_win & ~open_,
                    "created_at": self._ts(opp_created[opp_contacts]),
                    "close_date": self._ts(close).astype("datetime64[D]"),
                    "owner_id": self.account_owner[acc[opp_contacts]],
                    "hubspot_id": (200_000_000 + np.arange(m)).astype(str),
                    "salesforce_id": np.char.add("006", np.char.zfill(np.arange(m).astype(str), 15)),
                    "updated_at": self._ts(np.minimum(close, self.end_s)),
                }
            ),
        )
        # won deals make their account a customer
        won_acc = acc[opp_contacts[is_win & ~open_]]
        np.add.at(self.arr, won_acc, amount[opp_contacts[is_win & ~open_]])
        self.is_customer[won_acc] = True
        self.contact_ids = contact_ids

    def churn(self) -> None:
        rng, n = self.rng, self.n_accounts
        self.usage_decline = np.where(rng.random(n) < 0.3, rng.beta(2, 2, n), rng.beta(1, 12, n))
        self.escalations = rng.poisson(np.where(rng.random(n) < 0.2, 2.5, 0.3))
        self.late_share = np.where(rng.random(n) < 0.2, rng.beta(3, 3, n), rng.beta(1, 20, n))
        self.email_silence = (rng.random(n) < 0.15).astype(int)
        k = CHURN_COEF
        logit = (
            k["intercept"]
            + k["usage_decline"] * self.usage_decline
            + k["escalations"] * self.escalations
            + k["late_share"] * self.late_share
            + k["email_silence"] * self.email_silence
        )
        churned = self.is_customer & (rng.random(n) < _sigmoid(logit))
        churn_at = np.where(churned, rng.integers(self.end_s - 150 * 86400, self.end_s, n), 0)
        self.churned = churned
        self.churn_at = churn_at
        renewal = self.account_created + ((self.end_s - self.account_created) // (365 * 86400) + 1) * 365 * 86400
        plan = np.where(
            self.is_customer,
            np.where(self.segment == "Enterprise", "Enterprise", np.where(self.arr > 20_000, "Growth", "Starter")),
            None,
        )
        self._insert(
            "accounts",
            pl.DataFrame(
                {
                    "account_id": self.account_ids,
                    "name": self.account_names,
                    "domain": self.domains,
                    "segment": self.segment,
                    "industry": _pick(rng, INDUSTRIES, n),
                    "region": self.region,
                    "employees": self.employees,
                    "plan": plan,
                    "arr": np.round(self.arr, 2),
                    "created_at": self._ts(self.account_created),
                    "renewal_date": self._ts(renewal).astype("datetime64[D]"),
                    "owner_id": self.account_owner,
                    "churned_at": np.where(churned, self._ts(churn_at), np.datetime64("NaT", "ms")),
                    "hubspot_id": (300_000_000 + np.arange(n)).astype(str),
                    "salesforce_id": np.char.add("001", np.char.zfill(np.arange(n).astype(str), 15)),
                    "updated_at": self._ts(np.full(n, self.end_s)),
                }
            ),
        )

    def _customer_months(self):
        """(account index, month index) pairs during which an account is a paying customer."""
        acc = np.nonzero(self.is_customer)[0]
        a = np.repeat(acc, MONTHS)
        m = np.tile(np.arange(MONTHS), len(acc))
        b = self.bounds.astype("int64")
        alive = (b[m] >= np.minimum(self.account_created[a], b[0])) & ((~self.churned[a]) | (b[m] < self.churn_at[a]))
        return a[alive], m[alive]

    def product_usage(self) -> None:
        rng = self.rng
        a, m = self._customer_months()
        # ramp: decline grows linearly over the last six months before churn or the end
        ref = np.where(self.churned[a], self._month_of(self.churn_at[a]), MONTHS - 1)
        ramp = np.clip((m - (ref - 6)) / 6, 0, 1)
        multiplier = 1 - self.usage_decline[a] * ramp
        seats = np.clip(self.employees[a] ** 0.5, 2, 60)
        base = seats * multiplier
        scale = min(FEATURE_EVENTS_TARGET, 3 * self.n_touchpoints) / base.sum()
        counts = rng.poisson(base * scale)
        acc = np.repeat(a, counts)
        month = np.repeat(m, counts)
        b = self.bounds.astype("int64")
        ts = b[month] + (rng.random(len(acc)) * (b[month + 1] - b[month])).astype("int64")
        churn_limit = np.where(self.churned[acc], self.churn_at[acc], self.end_s)
        ts = np.minimum(ts, churn_limit)
        feature = rng.integers(0, len(FEATURES), len(acc))
        user = rng.integers(1, 40, len(acc))
        success = rng.random(len(acc)) > (0.03 + 0.1 * self.usage_decline[acc])
        self._insert(
            "feature_usage_events",
            pl.DataFrame(
                {
                    "account_id": self.account_ids[acc],
                    "user_id": np.char.add(np.char.add(self.account_ids[acc].astype(str), "-U"), user.astype(str)),
                    "feature_id": np.char.add("F", np.char.zfill(feature.astype(str), 2)),
                    "feature_name": np.asarray(FEATURES, dtype=object)[feature],
                    "ts": self._ts(ts),
                    "session_duration_s": np.round(rng.lognormal(5.5, 0.8, len(acc)), 0),
                    "success": success,
                }
            ),
        )

    def support_and_billing(self) -> None:
        rng = self.rng
        cust = np.nonzero(self.is_customer)[0]
        # tickets: base Poisson plus exactly `escalations` escalated ones late in the period
        base = rng.poisson(3.0, len(cust))
        acc = np.r_[np.repeat(cust, base), np.repeat(cust, self.escalations[cust])]
        escalated = np.r_[np.zeros(base.sum(), dtype=bool), np.ones(self.escalations[cust].sum(), dtype=bool)]
        limit = np.where(self.churned[acc], self.churn_at[acc], self.end_s)
        early = np.maximum(self.start_s, np.minimum(self.account_created[acc], limit - 86400))
        opened = np.where(
            escalated,
            limit - rng.integers(1, 120, len(acc)) * 86400,
            early + (rng.random(len(acc)) * (limit - early)).astype("int64"),
        )
        opened = np.maximum(opened, self.start_s)
        resolved = opened + (rng.lognormal(3.0, 1.0, len(acc)) * 3600 * (1 + 3 * escalated)).astype("int64")
        unresolved = resolved > self.end_s
        csat = np.where(escalated, rng.integers(1, 4, len(acc)), rng.integers(3, 6, len(acc))).astype(float)
        severity = np.where(
            escalated,
            _pick(rng, ("high", "urgent"), len(acc)),
            _pick(rng, ("low", "normal", "high"), len(acc), p=(0.4, 0.5, 0.1)),
        )
        order = np.argsort(opened, kind="stable")
        self._insert(
            "support_tickets",
            pl.DataFrame(
                {
                    "ticket_id": _ids("TCK", len(acc)),
                    "account_id": self.account_ids[acc[order]],
                    "opened_at": self._ts(opened[order]),
                    "severity": severity[order],
                    "escalated": escalated[order],
                    "resolved_at": np.where(unresolved[order], np.datetime64("NaT", "ms"), self._ts(resolved[order])),
                    "csat": np.where(unresolved[order], np.nan, csat[order]),
                }
            ).with_columns(pl.col("csat").fill_nan(None)),
        )
        # invoices: monthly, arr / 12; a share `late_share` is paid after the due date
        a, m = self._customer_months()
        b = self.bounds.astype("int64")
        issued = b[m]
        due = issued + 30 * 86400
        late = rng.random(len(a)) < self.late_share[a]
        paid = np.where(late, due + rng.integers(5, 60, len(a)) * 86400, due - rng.integers(0, 20, len(a)) * 86400)
        unpaid = paid > self.end_s
        amount = np.round(np.maximum(self.arr[a], 1200) / 12, 2)
        self._insert(
            "invoices",
            pl.DataFrame(
                {
                    "invoice_id": _ids("INV", len(a)),
                    "account_id": self.account_ids[a],
                    "issued_date": self._ts(issued).astype("datetime64[D]"),
                    "due_date": self._ts(due).astype("datetime64[D]"),
                    "paid_date": np.where(unpaid, np.datetime64("NaT", "ms"), self._ts(paid)).astype("datetime64[D]"),
                    "amount": amount,
                }
            ),
        )

    def email_and_content(self) -> None:
        rng = self.rng
        n = self.n_contacts
        email_campaigns = self.campaign_ids[self.campaign_channel == "email"]
        sends_per_contact = rng.poisson(6, n)
        c = np.repeat(np.arange(n), sends_per_contact)
        ts = self.start_s + (rng.random(len(c)) * (self.end_s - self.start_s)).astype("int64")
        acc = self.contact_account[c]
        silent = (self.email_silence[acc] == 1) & (ts > self.end_s - 90 * 86400)
        bounce = rng.random(len(c)) < 0.02
        opened = ~bounce & ~silent & (rng.random(len(c)) < 0.28)
        clicked = opened & (rng.random(len(c)) < 0.22)
        unsub = ~bounce & (rng.random(len(c)) < 0.004)
        camp = email_campaigns[rng.integers(0, len(email_campaigns), len(c))]
        parts = [
            (np.ones(len(c), bool), "sent", 0),
            (bounce, "bounce", 60),
            (opened, "open", 3600),
            (clicked, "click", 4000),
            (unsub, "unsubscribe", 5000),
        ]
        frames = [
            pl.DataFrame(
                {
                    "contact_id": self.contact_ids[c[mask]],
                    "campaign_id": camp[mask],
                    "event_type": np.full(mask.sum(), kind, dtype=object),
                    "ts": self._ts(np.minimum(ts[mask] + delay, self.end_s)),
                }
            )
            for mask, kind, delay in parts
        ]
        self._insert("email_events", pl.concat(frames).sort("ts"))
        # content and advocacy: healthy customers advocate, everyone reads
        k = rng.poisson(2.0, n)
        c2 = np.repeat(np.arange(n), k)
        acc2 = self.contact_account[c2]
        healthy = self.is_customer[acc2] & ~self.churned[acc2] & (self.usage_decline[acc2] < 0.2)
        kinds = np.where(
            healthy & (rng.random(len(c2)) < 0.25),
            _pick(rng, ("referral", "review", "case_study"), len(c2)),
            _pick(rng, ("blog_read", "webinar", "download"), len(c2), p=(0.6, 0.15, 0.25)),
        )
        ts2 = self.start_s + (rng.random(len(c2)) * (self.end_s - self.start_s)).astype("int64")
        self._insert(
            "content_events",
            pl.DataFrame({"contact_id": self.contact_ids[c2], "kind": kinds, "ts": self._ts(ts2)}).sort("ts"),
        )

    def feedback(self) -> None:
        rng = self.rng
        cust = np.nonzero(self.is_customer)[0]
        responses = rng.poisson(1.5, len(cust))
        acc = np.repeat(cust, responses)
        risk = self.usage_decline[acc] + 0.3 * self.escalations[acc] + self.late_share[acc] + 0.5 * self.churned[acc]
        score = np.clip(np.round(rng.normal(9.0 - 4.0 * risk, 1.6)), 0, 10).astype(int)
        limit = np.where(self.churned[acc], self.churn_at[acc], self.end_s)
        ts = self.start_s + (rng.random(len(acc)) * (limit - self.start_s)).astype("int64")
        text = np.where(
            score >= 9,
            _pick(rng, POSITIVE, len(acc)),
            np.where(score >= 7, _pick(rng, NEUTRAL, len(acc)), _pick(rng, NEGATIVE, len(acc))),
        )
        # one contact of the account answers
        contact_by_acc = (
            pl.DataFrame({"a": self.contact_account, "c": self.contact_ids}).group_by("a").agg(pl.col("c").first())
        )
        lookup = dict(zip(contact_by_acc["a"].to_list(), contact_by_acc["c"].to_list()))
        self._insert(
            "feedback",
            pl.DataFrame(
                {
                    "feedback_id": _ids("FB", len(acc)),
                    "account_id": self.account_ids[acc],
                    "contact_id": [lookup.get(int(a)) for a in acc],
                    "submitted_at": self._ts(ts),
                    "score": score,
                    "text": text,
                }
            ),
        )

    def customer_email(self) -> None:
        """Truth 7 (:mod:`analytics.demo.truth`): customer-success email whose opens stop before a silent account churns."""
        rng = np.random.default_rng([self.seed, CS_EMAIL_STREAM])
        # up to CS_EMAIL_CONTACTS random contacts of each customer account
        order = np.lexsort((rng.random(self.n_contacts), self.contact_account))
        account_of = self.contact_account[order]
        block_start = np.r_[0, np.nonzero(np.diff(account_of))[0] + 1]
        rank = np.arange(len(order)) - np.repeat(block_start, np.diff(np.r_[block_start, len(order)]))
        chosen = order[(rank < CS_EMAIL_CONTACTS) & self.is_customer[account_of]]
        # CS_EMAILS_PER_MONTH emails per chosen contact and customer month of its account
        a, m = self._customer_months()
        by_account = np.argsort(a, kind="stable")
        a, m = a[by_account], m[by_account]
        months_of = np.bincount(a, minlength=self.n_accounts)
        first_month = np.r_[0, np.cumsum(months_of)[:-1]]
        reps = months_of[self.contact_account[chosen]]
        contact = np.repeat(chosen, reps)
        offset = np.arange(reps.sum()) - np.repeat(np.cumsum(reps) - reps, reps)
        month = m[np.repeat(first_month[self.contact_account[chosen]], reps) + offset]
        contact, month = np.repeat(contact, CS_EMAILS_PER_MONTH), np.repeat(month, CS_EMAILS_PER_MONTH)
        acc = self.contact_account[contact]
        b = self.bounds.astype("int64")
        sent = b[month] + (rng.random(len(contact)) * (b[month + 1] - b[month])).astype("int64")
        limit = np.where(self.churned[acc], self.churn_at[acc], self.end_s)
        keep = sent < limit
        contact, acc, sent, limit = contact[keep], acc[keep], sent[keep], limit[keep]
        silent = (self.email_silence[acc] == 1) & (sent > limit - SILENCE_DAYS * 86400)
        opened = ~silent & (rng.random(len(contact)) < CS_EMAIL_OPEN_RATE)
        clicked = opened & (rng.random(len(contact)) < CS_EMAIL_CLICK_RATE)
        open_at = np.minimum(sent + rng.integers(3600, 3 * 86400, len(contact)), self.end_s)
        parts = [
            (np.ones(len(contact), bool), "sent", sent),
            (opened, "open", open_at),
            (clicked, "click", np.minimum(open_at + 300, self.end_s)),
        ]
        frames = [
            pl.DataFrame(
                {
                    "contact_id": self.contact_ids[contact[mask]],
                    "campaign_id": pl.Series([None] * int(mask.sum()), dtype=pl.String),
                    "event_type": np.full(mask.sum(), kind, dtype=object),
                    "ts": self._ts(ts[mask]),
                }
            )
            for mask, kind, ts in parts
        ]
        self._insert("email_events", pl.concat(frames).sort("ts"))

    def lead_signals(self) -> None:
        """Titles, page views, reps' time off and first sales touches (truth 5 and 6), from their own stream."""
        from analytics.sales.hours import add_business_hours

        rng = np.random.default_rng([self.seed, 17])
        n = self.n_contacts
        won = self.planted_won
        created = self.contact_created
        # 5a. title seniority given the outcome
        level = np.where(
            won,
            rng.choice(len(SENIORITY_LEVELS), size=n, p=SENIORITY_GIVEN_WON),
            rng.choice(len(SENIORITY_LEVELS), size=n, p=SENIORITY_GIVEN_NOT),
        )
        pick = rng.random(n)
        titles = np.array(
            [TITLES[SENIORITY_LEVELS[lv]][int(u * len(TITLES[SENIORITY_LEVELS[lv]]))] for lv, u in zip(level, pick)],
            dtype=object,
        )
        titles[rng.random(n) < 0.05] = None
        # typed columns: an object array holding None would reach DuckDB as pointers through Arrow
        frame = pl.DataFrame(
            {
                "contact_id": pl.Series(self.contact_ids.tolist(), dtype=pl.String),
                "job_title": pl.Series(titles.tolist(), dtype=pl.String),
            }
        )
        self.con.register("_titles", frame.to_arrow())
        self.con.execute(
            "update contacts set job_title = t.job_title from _titles t where contacts.contact_id = t.contact_id"
        )
        self.con.unregister("_titles")
        # 5b. pricing-page visits in the 30 days after the lead was created, given the outcome
        visits = rng.poisson(np.where(won, PRICING_VISITS_WON, PRICING_VISITS_NOT))
        who = np.repeat(np.arange(n), visits)
        when = created[who] + (rng.random(len(who)) * 30 * 86400).astype("int64")
        keep = when <= self.end_s
        other = rng.poisson(2.0, n)
        who2 = np.repeat(np.arange(n), other)
        when2 = created[who2] + (rng.random(len(who2)) * np.maximum(self.end_s - created[who2], 1)).astype("int64")
        views = pl.concat(
            [
                pl.DataFrame(
                    {
                        "contact_id": self.contact_ids[who[keep]],
                        "page_path": np.full(int(keep.sum()), "/pricing", dtype=object),
                        "ts": self._ts(when[keep]),
                    }
                ),
                pl.DataFrame(
                    {
                        "contact_id": self.contact_ids[who2],
                        "page_path": _pick(rng, OTHER_PAGES, len(who2)),
                        "ts": self._ts(when2),
                    }
                ),
            ]
        )
        self._insert("page_views", views.sort("ts"))
        # 6. reps' time off and first touches
        reps = len(self.rep_ids)
        periods = rng.integers(1, 4, reps)
        rep_of = np.repeat(np.arange(reps), periods)
        first_day = self.bounds[0].astype("datetime64[D]")
        starts = first_day + rng.integers(0, MONTHS * 30 - 14, len(rep_of))
        ends = starts + rng.integers(3, 13, len(rep_of))
        self._insert(
            "rep_time_off",
            pl.DataFrame(
                {
                    "rep_id": self.rep_ids[rep_of],
                    "starts_on": starts,
                    "ends_on": ends,
                    "reason": _pick(rng, ("vacation", "conference", "sick leave"), len(rep_of), p=(0.7, 0.2, 0.1)),
                }
            ),
        )
        self.rep_response_hours = np.round(rng.uniform(1.0, 10.0, reps), 1)
        owner = np.searchsorted(self.rep_ids, self.account_owner[self.contact_account])
        delay = self.rep_response_hours[owner] * rng.lognormal(0.0, 0.8, n)
        touch = add_business_hours(created, delay)
        # a touch that falls in the owner's time off waits for the first morning after it
        start_s = starts.astype("datetime64[s]").astype("int64")
        end_s = (ends + 1).astype("datetime64[s]").astype("int64")
        for period in range(len(rep_of)):
            inside = (owner == rep_of[period]) & (touch >= start_s[period]) & (touch < end_s[period])
            touch[inside] = add_business_hours(np.full(int(inside.sum()), end_s[period]), delay[inside] % 2)
        touched = (rng.random(n) > 0.10) & (touch <= self.end_s)
        m = int(touched.sum())
        self._insert(
            "sales_activities",
            pl.DataFrame(
                {
                    "activity_id": _ids("ACT", m),
                    "contact_id": self.contact_ids[touched],
                    "rep_id": self.rep_ids[owner[touched]],
                    "activity_type": _pick(rng, ("call", "email", "meeting"), m, p=(0.5, 0.4, 0.1)),
                    "ts": self._ts(touch[touched]),
                }
            ),
        )

    def adoption_usage(self) -> None:
        """Truth 8 (:mod:`analytics.demo.truth`): the catalog, plans, planted adopters and growing teams."""
        t = truth
        rng = np.random.default_rng([self.seed, t.ADOPTION_STREAM])
        self._insert(
            "product_features",
            pl.DataFrame(
                {
                    "feature_id": [f"F{i:02d}" for i in range(len(FEATURES))],
                    "feature_name": list(FEATURES),
                    "category": [t.FEATURE_CATEGORY[name] for name in FEATURES],
                }
            ),
        )
        self._insert(
            "plans",
            pl.DataFrame(
                {
                    "plan": list(t.PLANS),
                    "tier": [tier for tier, _ in t.PLANS.values()],
                    "seat_limit": [limit for _, limit in t.PLANS.values()],
                }
            ),
        )
        n = self.n_accounts
        kinds = ("none", *t.ADOPTION_KINDS)
        p = np.array([1 - sum(t.ADOPTION_KINDS.values()), *t.ADOPTION_KINDS.values()])
        kind = np.where(self.is_customer, rng.choice(len(kinds), size=n, p=p), 0)
        start = rng.integers(MONTHS - 1 - t.ADOPTION_MONTHS, MONTHS - 1, n)
        key_pick = rng.integers(0, len(t.KEY_FEATURES), n)
        advanced_pick = rng.integers(0, len(t.ADVANCED_FEATURES), n)
        plan = np.where(self.segment == "Enterprise", "Enterprise", np.where(self.arr > 20_000, "Growth", "Starter"))
        growing = self.is_customer & ~self.churned & (plan != "Enterprise") & (rng.random(n) < t.GROWING_SHARE)
        fill = rng.uniform(0.92, 1.0, n)
        users = dict(
            self.con.execute(
                "select account_id, list(distinct user_id order by user_id) from feature_usage_events group by account_id"
            ).fetchall()
        )
        feature_index = {name: i for i, name in enumerate(FEATURES)}
        b = self.bounds.astype("int64")
        limit = np.where(self.churned, self.churn_at, self.end_s)
        account_of, user_of, feature_of, ts_of, success_of = [], [], [], [], []
        planted = []

        def add(account: int, names: list[str], features: np.ndarray, seconds: np.ndarray, success: np.ndarray):
            keep = seconds <= limit[account]
            account_of.append(np.full(int(keep.sum()), account))
            user_of.append(np.asarray(names, dtype=object)[keep] if len(names) else np.array([], dtype=object))
            feature_of.append(features[keep])
            ts_of.append(seconds[keep])
            success_of.append(success[keep])

        for account in np.nonzero(kind)[0]:
            account_id = self.account_ids[account]
            team = users.get(account_id) or []
            if not team:
                continue
            name = kinds[kind[account]]
            if name == "champion":
                features, uses, success = [t.KEY_FEATURES[key_pick[account]]], t.CHAMPION_USES, t.CHAMPION_SUCCESS
            elif name == "full_adopter":
                features, uses, success = list(t.KEY_FEATURES), t.FULL_ADOPTER_USES, 0.95
            else:
                features, uses, success = [t.ADVANCED_FEATURES[advanced_pick[account]]], t.ADVANCED_USES, 0.95
            first = int(start[account])
            planted.append((account_id, name, tuple(features), first))
            for month in range(first, MONTHS):
                counts = rng.poisson(uses, (len(team), len(features)))
                user_idx, feat_idx = np.nonzero(counts)
                reps = counts[user_idx, feat_idx]
                user_idx, feat_idx = np.repeat(user_idx, reps), np.repeat(feat_idx, reps)
                seconds = b[month] + (rng.random(len(user_idx)) * (b[month + 1] - b[month])).astype("int64")
                chosen = np.array([feature_index[features[i]] for i in feat_idx], dtype=int)
                add(account, [team[i] for i in user_idx], chosen, seconds, rng.random(len(user_idx)) < success)
        self.planted_adoption = planted
        self.growing_accounts = []
        for account in np.nonzero(growing)[0]:
            seat_limit = t.PLANS[plan[account]][1]
            new_users = int(np.ceil(seat_limit * fill[account]))
            names = [f"{self.account_ids[account]}-U{100 + j}" for j in range(new_users)]
            self.growing_accounts.append((self.account_ids[account], plan[account], new_users))
            for month in range(MONTHS - t.GROWING_MONTHS, MONTHS):
                counts = 1 + rng.poisson(3, new_users)
                who = np.repeat(np.arange(new_users), counts)
                seconds = b[month] + (rng.random(len(who)) * (b[month + 1] - b[month])).astype("int64")
                add(
                    account,
                    [names[i] for i in who],
                    rng.integers(0, len(FEATURES), len(who)),
                    seconds,
                    rng.random(len(who)) < 0.95,
                )
        account_ids = [self.account_ids[a] for a in np.concatenate(account_of).astype(int)] if account_of else []
        feature_idx = np.concatenate(feature_of).astype(int) if feature_of else np.array([], dtype=int)
        frame = pl.DataFrame(
            {
                "account_id": pl.Series(account_ids, dtype=pl.String),
                "user_id": pl.Series(np.concatenate(user_of).tolist() if user_of else [], dtype=pl.String),
                "feature_id": pl.Series([f"F{i:02d}" for i in feature_idx], dtype=pl.String),
                "feature_name": pl.Series([FEATURES[i] for i in feature_idx], dtype=pl.String),
                "ts": self._ts(np.concatenate(ts_of) if ts_of else np.array([], dtype="int64")),
                "session_duration_s": np.round(rng.lognormal(5.5, 0.8, len(feature_idx)), 0),
                "success": np.concatenate(success_of) if success_of else np.array([], dtype=bool),
            }
        )
        # events the catalog or the accounts do not know: counted and reported by adoption, never dropped
        customers = self.account_ids[self.is_customer]
        odd = t.UNKNOWN_ACCOUNT_EVENTS + t.UNKNOWN_FEATURE_EVENTS
        odd_ts = self.end_s - rng.integers(0, 60 * 86400, odd)
        odd_accounts = np.r_[
            np.full(t.UNKNOWN_ACCOUNT_EVENTS, t.UNKNOWN_ACCOUNT_ID, dtype=object),
            customers[rng.integers(0, len(customers), t.UNKNOWN_FEATURE_EVENTS)],
        ]
        unknown_feature = np.arange(odd) >= t.UNKNOWN_ACCOUNT_EVENTS
        odd_frame = pl.DataFrame(
            {
                "account_id": pl.Series(odd_accounts.tolist(), dtype=pl.String),
                "user_id": pl.Series([f"{a}-U1" for a in odd_accounts], dtype=pl.String),
                "feature_id": pl.Series(
                    np.where(unknown_feature, t.UNKNOWN_FEATURE[0], "F00").tolist(), dtype=pl.String
                ),
                "feature_name": pl.Series(
                    np.where(unknown_feature, t.UNKNOWN_FEATURE[1], FEATURES[0]).tolist(), dtype=pl.String
                ),
                "ts": self._ts(odd_ts),
                "session_duration_s": np.full(odd, 60.0),
                "success": np.ones(odd, dtype=bool),
            }
        )
        self._insert("feature_usage_events", pl.concat([frame, odd_frame]).sort("ts"))

    def feedback_comments(self) -> None:
        """Truth 9 (:mod:`analytics.demo.truth`): comments of one to three sentences on planted themes."""
        t = truth
        rng = np.random.default_rng([self.seed, t.FEEDBACK_STREAM])
        cust = np.nonzero(self.is_customer)[0]
        acc = np.repeat(cust, rng.poisson(1.5, len(cust)))
        m = len(acc)
        risk = self.usage_decline[acc] + 0.3 * self.escalations[acc] + self.late_share[acc] + 0.5 * self.churned[acc]
        score = np.clip(np.round(rng.normal(9.0 - 4.0 * risk, 1.6)), 0, 10).astype(int)
        limit = np.where(self.churned[acc], self.churn_at[acc], self.end_s)
        early = np.maximum(self.start_s, np.minimum(self.account_created[acc], limit - 86400))
        ts = early + (rng.random(m) * (limit - early)).astype("int64")
        rising_from = np.datetime64(t.RISING_FROM, "s").astype("int64")
        group = np.where(score >= 9, "promoter", np.where(score >= 7, "passive", "detractor"))
        p_positive = np.array([t.POSITIVE_GIVEN_SCORE[g] for g in group])
        others = [name for name in t.FEEDBACK_THEMES if name != t.RISING_THEME]
        weights = np.array([t.THEME_WEIGHTS[name] for name in others])
        texts = []
        language = rng.random(m)
        sentences_count = 1 + rng.binomial(2, 0.4, m)
        for i in range(m):
            if language[i] < t.EMPTY_SHARE:
                texts.append(None if language[i] < t.EMPTY_SHARE / 3 else "")
                continue
            if language[i] < t.EMPTY_SHARE + t.NON_ENGLISH_SHARE:
                texts.append(str(t.NON_ENGLISH[rng.integers(0, len(t.NON_ENGLISH))]))
                continue
            rising_share = t.RISING_SHARE_AFTER if ts[i] >= rising_from else t.RISING_SHARE_BEFORE
            parts = []
            if rng.random() < rising_share:
                praise, complaints = t.FEEDBACK_THEMES[t.RISING_THEME]
                pool = (
                    complaints
                    if ts[i] >= rising_from and rng.random() < t.RISING_NEGATIVE
                    else (praise if rng.random() < p_positive[i] else complaints)
                )
                parts.append(pool[rng.integers(0, len(pool))])
            chosen = rng.choice(
                len(others), size=min(len(others), sentences_count[i]), replace=False, p=weights / weights.sum()
            )
            for k in chosen[: max(1, sentences_count[i] - len(parts))]:
                praise, complaints = t.FEEDBACK_THEMES[others[k]]
                pool = praise if rng.random() < p_positive[i] else complaints
                parts.append(pool[rng.integers(0, len(pool))])
            if rng.random() < t.REQUEST_SHARE:
                parts.append(t.FEATURE_REQUESTS[rng.integers(0, len(t.FEATURE_REQUESTS))])
            texts.append(" ".join(parts))
        contact_by_acc = (
            pl.DataFrame({"a": self.contact_account, "c": self.contact_ids}).group_by("a").agg(pl.col("c").last())
        )
        lookup = dict(zip(contact_by_acc["a"].to_list(), contact_by_acc["c"].to_list()))
        order = np.argsort(ts, kind="stable")
        self._insert(
            "feedback",
            pl.DataFrame(
                {
                    "feedback_id": _ids("FBC", m),
                    "account_id": self.account_ids[acc[order]],
                    "contact_id": pl.Series([lookup.get(int(a)) for a in acc[order]], dtype=pl.String),
                    "submitted_at": self._ts(ts[order]),
                    "score": score[order],
                    "text": pl.Series([texts[i] for i in order], dtype=pl.String),
                }
            ),
        )


def build_demo(
    path: str | Path,
    seed: int = 7,
    touchpoints: int = DEFAULT_TOUCHPOINTS,
    end: date = DEFAULT_END,
    progress: Progress | None = None,
) -> Path:
    """Build the demo warehouse at ``path``, atomically (written aside, then renamed)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".building")
    for leftover in (tmp, Path(str(tmp) + ".wal")):
        leftover.unlink(missing_ok=True)
    con = connect(tmp)
    try:
        create_schema(con)
        con.execute("begin")
        DemoBuilder(con, seed=seed, touchpoints=touchpoints, end=end, progress=progress).build()
        finish_load(con, f"demo seed={seed} touchpoints={touchpoints}")
        con.execute("commit")
        con.execute("checkpoint")
    finally:
        con.close()
    with announced(path, "a demo build"):  # never swapped in under another writer's feet
        Path(str(path) + ".wal").unlink(missing_ok=True)
        os.replace(tmp, path)
    return path
