"""The demo's planted ground truth: the causes the generator draws from, which models must recover.

:mod:`analytics.demo.builder` draws every table from these numbers; a test of a model on the
demo warehouse checks that it finds them again (``tests/demo/``). Change a number here and
the demo's rows change with it (other tests pin those rows).

1. **Channel lift on conversion.** A contact closes won with probability

   .. math:: p = \\sigma(\\alpha + \\sum_c \\beta_c x_c + \\gamma_{segment})

   where :math:`x_c = 1` when the contact has at least one touch on channel *c*,
   :math:`\\beta_c` is ``CHANNEL_TRUTH[c].lift`` (log-odds), :math:`\\alpha` is :data:`ALPHA`
   and :math:`\\gamma` is :data:`SEGMENT_EFFECT`. ``direct`` has zero lift: it rides along
   with buyers but does not cause them. A won deal's amount is lognormal around
   :data:`DEAL_SIZE` of the account's segment.
2. **Saturating response to spend.** A channel's touch volume in month *m* is

   .. math:: W_{c,m} = b_c + a_c \\frac{s_{c,m}}{s_{c,m} + k_c}

   (a Hill curve with half-saturation ``k_c``, the monthly spend at which the
   paid volume is half its ceiling ``a_c``; ``b_c`` is the unpaid baseline).
   Spend and ``k_c`` scale with the size of the build, ``touchpoints / 500,000``;
   :data:`CHANNEL_TRUTH` gives them at the default size.
   Touches carry the lift above, so expected attributed revenue per channel-month
   saturates in spend with the same ``k_c``.
3. **Churn drivers.** For each customer account, four drivers are drawn first:
   usage decline ``d`` in [0, 1], escalated tickets ``e`` (count), late-payment
   share ``l`` in [0, 1] and email silence ``q`` in {0, 1}. Churn happens with

   .. math:: P(churn) = \\sigma(-3.4 + 3.0 d + 0.55 e + 2.5 l + 1.3 q)

   (:data:`CHURN_COEF`), and the observable tables are generated from the drivers: usage
   events fall by up to ``d`` over the last six months, ``e`` tickets are escalated, a share
   ``l`` of invoices is paid after its due date, and a silent account's contacts
   open no email in the last 90 days.
4. **Feedback sentiment follows its score.** NPS comments are drawn from :data:`POSITIVE`
   phrases for scores 9-10, :data:`NEUTRAL` for 7-8 and :data:`NEGATIVE` for 0-6.
5. **What drives a lead to convert** (lead scoring, :mod:`analytics.sales`). Drawn after
   every other table from an independent generator (``default_rng([seed, 17])``), so no
   earlier row changes. Given whether a contact converts (the planted winners of 1.),
   its title's seniority and its pricing-page visits in the 30 days after it became a
   lead are drawn independently:

   * seniority ``individual, manager, director, vp, c_level`` with probabilities
     :data:`SENIORITY_GIVEN_WON` and :data:`SENIORITY_GIVEN_NOT`: the log-odds of converting rise,
     against an individual contributor, by ``SENIORITY_LIFT`` = 0.67, 1.18, 1.41, 1.69;
   * pricing-page visits ``~ Poisson(1.4)`` for converters and ``Poisson(0.35)`` for the
     others: each visit adds ``ln 4 = 1.386`` to the log-odds (``PRICING_VISIT_LIFT``).

   Because both are drawn given the outcome only, a logistic regression of conversion on
   them (with the channels) recovers these coefficients. Other page views (docs, product,
   blog) are noise. 5% of contacts have no title.
6. **Reps' availability and responsiveness.** Each rep has 1–3 periods of time off
   (``rep_time_off``, 3–12 days) and a typical first-touch delay of 1–10 business hours
   (``REP_RESPONSE_HOURS`` drawn per rep); a lead's first sales touch
   (``sales_activities``) comes that delay × lognormal(0, 0.8) business hours after it
   became a lead, after the owner's time off when it falls inside it; 10% are never touched.
7. **Email silence before churn.** The marketing email of truth 3 is silent only in the
   data's last 90 days, after most churn, so no point-in-time model could see it. A second,
   independent stream (its own generator, ``default_rng([seed, CS_EMAIL_STREAM])``, drawn
   after everything else, so every row above is unchanged) sends :data:`CS_EMAILS_PER_MONTH`
   customer-success emails a month (no campaign) to up to :data:`CS_EMAIL_CONTACTS` random
   contacts of each customer account while it is a customer. A share
   :data:`CS_EMAIL_OPEN_RATE` is opened and :data:`CS_EMAIL_CLICK_RATE` of the opens clicked,
   except that a silent account (``q = 1``) opens none in the :data:`SILENCE_DAYS` before its
   churn (or the data's end): the planted silence is then visible before churn, and the
   churn model recovers the four drivers of truth 3 as its strongest
   (``tests/customers/test_churn.py``).
8. **Feature adoption** (:mod:`analytics.customers.adoption`). Drawn last from its own generator
   (``default_rng([seed, ADOPTION_STREAM])``), so every earlier row is unchanged; it only adds
   rows (usage events, the ``product_features`` catalog and the ``plans`` with their seat
   limits, :data:`PLANS`). The base usage spreads every account's events evenly over its users
   and the twelve features, so no feature is adopted anywhere; on top of it a customer account
   is, with the probabilities :data:`ADOPTION_KINDS`:

   * a **champion** of one key feature: from a month among the last :data:`ADOPTION_MONTHS`, each
     of its users (the user ids its base usage has) uses the feature ``Poisson(CHAMPION_USES)``
     times a month with success :data:`CHAMPION_SUCCESS`, which meets all three of the spec's
     thresholds (70% of users, 5+ uses per user per week, 80% success): ``adoption_success``;
   * a **full adopter**: each user uses every key feature ``Poisson(FULL_ADOPTER_USES)`` times a
     month, so every key feature is adopted (``advanced_feature``, and on a lower plan the
     breadth-and-adoption expansion signal);
   * an **advanced adopter** of one advanced feature (``Poisson(ADVANCED_USES)`` a month per user):
     the advanced-feature expansion signal.

   A **growing team** (:data:`GROWING_SHARE` of the customers on a lower plan that have not
   churned) adds new users in the last :data:`GROWING_MONTHS` months, up to 92–100% of its plan's
   seat limit: the seats-near-the-limit signal. :data:`UNKNOWN_ACCOUNT_EVENTS` events name an
   account that does not exist and :data:`UNKNOWN_FEATURE_EVENTS` a feature outside the
   catalog; adoption counts and reports both exactly.
9. **Feedback comments with themes** (:mod:`analytics.customers.feedback`). From its own
   generator (``default_rng([seed, FEEDBACK_STREAM])``), after everything else: about 1.5 more
   responses per customer account (ids ``FBC…``), each of 1–3 sentences on the themes of
   :data:`FEEDBACK_THEMES` (a sentence is positive with a probability that rises with the
   score, :data:`POSITIVE_GIVEN_SCORE`), a feature request (:data:`FEATURE_REQUESTS`) in
   :data:`REQUEST_SHARE` of them; :data:`NON_ENGLISH_SHARE` are in another language
   (:data:`NON_ENGLISH`) and :data:`EMPTY_SHARE` have no text. The **exports** theme rises:
   :data:`RISING_THEME` is raised by :data:`RISING_SHARE_BEFORE` → :data:`RISING_SHARE_AFTER`
   of the responses from :data:`RISING_FROM`, almost always as a complaint, so it is flagged as
   fast-rising and sentiment follows the score (Spearman > 0.5).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ChannelTruth:
    lift: float  # beta_c, log-odds of closing won when the contact touched the channel
    ceiling: float  # a_c, paid touch volume at saturation (relative units)
    half_saturation: float  # k_c, monthly spend at half the ceiling (USD)
    baseline: float  # b_c, unpaid touch volume (relative units)
    monthly_spend: float  # typical monthly spend of one campaign (USD)


CHANNEL_TRUTH: dict[str, ChannelTruth] = {
    "email": ChannelTruth(0.30, 1.6, 12_000, 0.2, 16_000),
    "paid_search": ChannelTruth(0.65, 1.5, 72_000, 0.0, 80_000),
    "paid_social": ChannelTruth(0.25, 1.3, 48_000, 0.0, 56_000),
    "organic_search": ChannelTruth(0.45, 0.6, 16_000, 0.6, 12_000),
    "webinar": ChannelTruth(0.95, 0.5, 20_000, 0.0, 24_000),
    "events": ChannelTruth(0.75, 0.4, 100_000, 0.0, 88_000),
    "display": ChannelTruth(0.05, 1.4, 40_000, 0.0, 48_000),
    "direct": ChannelTruth(0.00, 0.1, 4_000, 0.9, 2_000),
}
ALPHA = -4.68  # intercept: about 6% of contacts close won
SEGMENT_EFFECT = {"SMB": 0.15, "Mid-Market": 0.0, "Enterprise": -0.35}
DEAL_SIZE = {"SMB": (9_000, 0.5), "Mid-Market": (32_000, 0.5), "Enterprise": (110_000, 0.55)}
CHURN_COEF = {"intercept": -3.4, "usage_decline": 3.0, "escalations": 0.55, "late_share": 2.5, "email_silence": 1.3}
SENIORITY_LEVELS = ("individual", "manager", "director", "vp", "c_level")
SENIORITY_GIVEN_WON = (0.16, 0.26, 0.26, 0.20, 0.12)
SENIORITY_GIVEN_NOT = (0.36, 0.30, 0.18, 0.11, 0.05)
# ln P(level | won)/P(level | not), against an individual contributor: 0.67, 1.18, 1.41, 1.69
SENIORITY_LIFT = {
    level: float(np.log(SENIORITY_GIVEN_WON[i] / SENIORITY_GIVEN_NOT[i]) - np.log(16 / 36))
    for i, level in enumerate(SENIORITY_LEVELS)
}
PRICING_VISITS_WON, PRICING_VISITS_NOT = 1.4, 0.35
PRICING_VISIT_LIFT = float(np.log(PRICING_VISITS_WON / PRICING_VISITS_NOT))  # per visit, ln 4

# Customer-success email (truth 7).
CS_EMAIL_STREAM = 14  # seed suffix of its generator
CS_EMAIL_CONTACTS = 2
CS_EMAILS_PER_MONTH = 2
CS_EMAIL_OPEN_RATE, CS_EMAIL_CLICK_RATE = 0.45, 0.3
SILENCE_DAYS = 90

# Feedback comments by sentiment (truth 4).
POSITIVE = (
    "Love the dashboards, the team uses them every day.",
    "Support is fast and the product keeps getting better.",
    "Great value, we would recommend it to any revenue team.",
    "Setup was easy and the reports saved us hours each week.",
    "Excellent integrations, everything just works.",
)
NEUTRAL = (
    "It does the job, though some reports are slow.",
    "Good product overall, the pricing could be clearer.",
    "Useful, but onboarding new users takes a while.",
    "Fine for our needs, a few features are missing.",
)
NEGATIVE = (
    "Too many bugs lately and support is slow to respond.",
    "We struggle to get value, the product is confusing.",
    "Frequent outages hurt our team, very frustrating.",
    "Billing problems and poor support, we are considering alternatives.",
    "Hard to use and missing basic features we need.",
)


# Truth 2 as the budget's response curves read it: weekly spend spread evenly over a month's
# days is s_m * 7 / days, so the monthly Hill s / (s + k) is, in weekly spend x, x / (x + k * 7 / days);
# with an average month of 30.4375 days the weekly half-saturation is k * scale * 7 / 30.4375, alpha 1.
DAYS_PER_MONTH = 30.4375
DEFAULT_DEMO_TOUCHPOINTS = 500_000


def planted_weekly_hill(channel: str, touchpoints: int) -> tuple[float, float]:
    """``(alpha, kappa)`` of the planted weekly response of ``channel`` in a demo of ``touchpoints``."""
    scale = touchpoints / DEFAULT_DEMO_TOUCHPOINTS
    return 1.0, CHANNEL_TRUTH[channel].half_saturation * scale * 7.0 / DAYS_PER_MONTH


# Feature adoption (truth 8).
ADOPTION_STREAM = 15  # seed suffix of its generator
KEY_FEATURES = ("dashboards", "reports", "alerts", "integrations", "workflows", "exports")
ADVANCED_FEATURES = ("api", "forecasting", "sso", "audit_log")
FEATURE_CATEGORY = {
    **{name: "core" for name in KEY_FEATURES},
    **{name: "advanced" for name in ADVANCED_FEATURES},
    "segments": "standard",
    "mobile": "standard",
}
PLANS = {"Starter": (1, 50), "Growth": (2, 150), "Enterprise": (3, 1000)}  # tier, seat limit
ADOPTION_KINDS = {"champion": 0.025, "full_adopter": 0.015, "advanced_adopter": 0.03}
ADOPTION_MONTHS = 3  # adoption starts in one of the data's last 3 months before the last
CHAMPION_USES, CHAMPION_SUCCESS = 28, 0.92
FULL_ADOPTER_USES, ADVANCED_USES = 3, 3
GROWING_SHARE, GROWING_MONTHS = 0.03, 2
UNKNOWN_ACCOUNT_EVENTS, UNKNOWN_FEATURE_EVENTS = 40, 60
UNKNOWN_ACCOUNT_ID, UNKNOWN_FEATURE = "ACC9999999", ("F99", "legacy_export")

# Feedback comments with themes (truth 9).
FEEDBACK_STREAM = 16
FEEDBACK_THEMES = {  # theme -> (praise, complaints)
    "dashboards": (
        (
            "The dashboards are great and give our leadership a clear view of the pipeline.",
            "We love the new dashboards.",
        ),
        (
            "The dashboards are frustratingly slow when we add filters.",
            "Our dashboards break when the data refreshes, which is annoying.",
        ),
    ),
    "exports": (
        (
            "Exports to Excel are excellent and save our analysts hours.",
            "The CSV export is quick and reliable, really helpful.",
        ),
        ("Exports are painfully slow and often time out.", "The CSV export keeps failing on large reports."),
    ),
    "integrations": (
        ("The HubSpot integration works perfectly.", "The Salesforce integration is great and syncs everything."),
        (
            "The Salesforce integration breaks every few weeks, which is frustrating.",
            "The HubSpot sync drops contacts without warning, a real problem.",
        ),
    ),
    "support": (
        (
            "Support answered within an hour and solved the problem, excellent service.",
            "The support team is friendly and helpful.",
        ),
        (
            "Support is terrible and takes days to reply to a ticket.",
            "Support closed our ticket without solving anything, very disappointing.",
        ),
    ),
    "pricing": (
        ("The pricing is fair for what we get.", "Great value for the price."),
        (
            "The price increase at renewal was unfair and hard to justify.",
            "The billing is confusing and the invoices are wrong.",
        ),
    ),
    "onboarding": (
        ("Onboarding was quick and easy, the team was productive in a week.", "The training sessions were excellent."),
        ("Onboarding new users is confusing and slow.", "The setup took months and the documentation is poor."),
    ),
}
THEME_WEIGHTS = {
    "dashboards": 0.22,
    "exports": 0.08,
    "integrations": 0.2,
    "support": 0.2,
    "pricing": 0.15,
    "onboarding": 0.15,
}
POSITIVE_GIVEN_SCORE = {"promoter": 0.9, "passive": 0.55, "detractor": 0.12}
FEATURE_REQUESTS = (
    "We would love a mobile app for the dashboards.",
    "Please add custom fields to the reports.",
    "It would be great to have single sign-on.",
    "We wish there was a way to schedule exports.",
)
REQUEST_SHARE, NON_ENGLISH_SHARE, EMPTY_SHARE = 0.3, 0.04, 0.03
NON_ENGLISH = (
    "El panel es muy bueno pero la exportación es lenta.",
    "Die Berichte sind hervorragend, aber der Support antwortet sehr langsam.",
    "Les tableaux de bord sont excellents et le support est rapide.",
    "O suporte demora muito para responder aos nossos pedidos.",
)
RISING_THEME, RISING_FROM = "exports", "2026-10-01"
RISING_SHARE_BEFORE, RISING_SHARE_AFTER, RISING_NEGATIVE = 0.08, 0.4, 0.9
