"""Customer feedback, fully offline: sentiment per sentence, NPS, themes, drivers, pains and requests.

The spec's "Customer Feedback Integration" (``processCustomerFeedback``, ``categorizeForMarketing``,
``extractValueDrivers``, ``extractPainPoints``, ``extractFeatureRequests``, case-study
opportunities, ``updatePersonaProfiles``, ``triggerTargetedCampaigns``). No model is downloaded:
VADER ships its lexicon, scikit-learn's TF-IDF and NMF need no data. Every rule is in
``docs/feedback.md``; the essentials follow.

Sentences
---------
A response's text is cut into sentences at ``.``, ``!``, ``?``, ``;`` and line breaks, and a
sentence again before a contrastive conjunction (``, but``, ``, however``, ``, although``,
``, though``, ``, yet``), so "the dashboard is great, but exports are painfully slow" is two
units, one positive and one negative. Each unit gets VADER's ``compound`` (−1 … 1); the
response's ``sentiment`` is the mean over its units, labelled ``positive`` (≥ 0.05),
``negative`` (≤ −0.05) or ``neutral`` (VADER's own cut-offs).

Language: a text of three or more words of which fewer than :data:`ENGLISH_SHARE` are
English function words or VADER lexicon words is checked by ``py3langid`` (shipped model);
a language other than English flags the response (``language``), and it gets no sentiment
and no themes instead of a false neutral. A response without text still counts toward NPS.

NPS
---
``NPS = 100 · (promoters − detractors) / responses with a score``; promoters score 9–10,
detractors 0–6 (passives 7–8 count in the denominator only). By month of ``submitted_at``,
by segment and by plan (the account's).

Themes
------
TF-IDF (English stop words, words and word pairs) over the distinct English units (each weighted by
√count, so the fit is that over every unit),
then NMF with *k* components (``init = "nndsvda"``, ``random_state = 0``: deterministic); a
unit belongs to the component with its largest weight, when that weight is positive. A
component is named by the taxonomy file (``data/feedback_taxonomy.txt``,
:func:`read_taxonomy`): the theme whose keywords weigh most among the component's top 10
terms; components that map to the same theme are merged; a component no keyword matches is
named by its top three terms. A *pinned* theme overrides: every unit containing one of its
keywords (whole words, any case) belongs to it, whatever NMF learned.

Per unit (``extractFeatureRequests``, ``extractPainPoints``, ``extractValueDrivers``): a
**feature request** when it matches a request phrase (:data:`REQUEST_PATTERN`: "would love",
"please add", "wish", "it would be great", "we need", "missing", "can you add", …); otherwise a
**pain point** when its compound ≤ −0.05 and a **value driver** when ≥ 0.05.

Theme impact: ``impact_T = NPS(all) − NPS(responses without T)``, and the same with every
response weighted by its account's ARR (``arr_weighted_impact``); ``arr`` is the ARR of the
distinct accounts that raised *T*. Rising themes: a theme's share of the month's English
responses minus its share the month before, flagged when ≥ ``rise_points`` (default 10 points).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from analytics.core.errors import RevLensError
from analytics.warehouse.runner import Query, example_params, run

if TYPE_CHECKING:
    import polars as pl

POSITIVE_CUT, NEGATIVE_CUT = 0.05, -0.05
ENGLISH_SHARE = 0.25
DEFAULT_COMPONENTS = 8
MAX_TERMS = 2000  # the most frequent words and pairs: NMF's cost grows with them, its themes do not
DEFAULT_RISE_POINTS = 10.0
CASE_STUDY_MIN_SCORE = 8
KINDS = ("value_driver", "pain_point", "feature_request")
NPS_GROUPS = ("promoter", "passive", "detractor")

_SENTENCE = re.compile(r"(?<=[.!?;])\s+|[\r\n]+|;\s*")
_CONTRAST = re.compile(r",\s+(?=(?:but|however|although|though|yet)\b)", re.IGNORECASE)
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?", re.UNICODE)
REQUEST_PATTERN = re.compile(
    r"\b(would love|would like|please add|wish|it would be great|would be great|we need|need a|missing|"
    r"can you add|could you add|should have|feature request|add support for|looking forward to)\b",
    re.IGNORECASE,
)

FEEDBACK_ROWS = Query(
    "customers.feedback_rows",
    """select f.feedback_id, f.account_id, f.contact_id, f.submitted_at, f.score, f.text,
       a.name as account_name, coalesce(a.segment, '(none)') as segment, coalesce(a.plan, '(none)') as plan,
       coalesce(a.arr, 0) as arr
from feedback as f
left join accounts as a on a.account_id = f.account_id
where ($start is null or cast(f.submitted_at as date) >= $start)
  and ($end is null or cast(f.submitted_at as date) <= $end)
order by f.submitted_at, f.feedback_id""",
    "Every feedback response in the date range with its account's name, segment, plan and ARR (text is analysed "
    "in Python: sentiment and themes are not SQL).",
)


# ---------------------------------------------------------------------------------------
# The taxonomy file


@dataclass(frozen=True)
class Theme:
    name: str
    keywords: tuple[str, ...]
    pinned: bool
    line: int


def parse_taxonomy(text: str, source: str = "the taxonomy") -> tuple[Theme, ...]:
    """The themes of a taxonomy text; a line that cannot be read gets a sentence naming it."""
    themes: list[Theme] = []
    seen: dict[str, int] = {}
    owner: dict[str, tuple[str, int]] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        pinned = False
        if line.lower().startswith("pin "):
            pinned, line = True, line[4:].strip()
        name, colon, rest = line.partition(":")
        name = name.strip()
        if not colon or not name:
            raise RevLensError(
                f"{source} line {number}: {raw.strip()!r} is not a theme; write `Name: keyword, keyword` "
                "(or `pin Name: keyword, ...`)."
            )
        keywords = tuple(k.strip().lower() for k in rest.split(",") if k.strip())
        if not keywords:
            raise RevLensError(f"{source} line {number}: theme {name!r} has no keywords; list them after the colon.")
        if name.lower() in seen:
            raise RevLensError(
                f"{source} line {number}: theme {name!r} is already defined on line {seen[name.lower()]}; "
                "merge the two lines."
            )
        for keyword in keywords:
            if keyword in owner:
                other, other_line = owner[keyword]
                raise RevLensError(
                    f"{source} line {number}: keyword {keyword!r} already belongs to {other!r} (line {other_line}); "
                    "give each keyword to one theme."
                )
            owner[keyword] = (name, number)
        seen[name.lower()] = number
        themes.append(Theme(name, keywords, pinned, number))
    return tuple(themes)


def read_taxonomy(path: str | Path | None = None) -> tuple[Theme, ...]:
    """The taxonomy file's themes (``REVLENS_FEEDBACK_TAXONOMY`` or ``data/feedback_taxonomy.txt``);
    a missing file means no taxonomy (every theme is named by its terms)."""
    from analytics.core.settings import feedback_taxonomy_path

    path = Path(path) if path is not None else feedback_taxonomy_path()
    if not path.is_file():
        return ()
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise RevLensError(f"{path} is not UTF-8 text; save it as UTF-8.") from None
    return parse_taxonomy(text, str(path))


# ---------------------------------------------------------------------------------------
# Sentences, language, sentiment


def sentences(text: str | None) -> list[str]:
    """The units a text is scored in: sentences, split again before a contrastive conjunction."""
    if not text or not text.strip():
        return []
    out = []
    for sentence in _SENTENCE.split(text.strip()):
        for part in _CONTRAST.split(sentence):
            part = part.strip(" ,")
            if _WORD.search(part):
                out.append(part)
    return out


_ENGLISH_WORDS: set[str] | None = None


def _english_words() -> set[str]:
    global _ENGLISH_WORDS
    if _ENGLISH_WORDS is None:
        from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

        _ENGLISH_WORDS = set(ENGLISH_STOP_WORDS) | set(_analyzer().lexicon)
    return _ENGLISH_WORDS


def language_of(text: str | None) -> str:
    """``en`` unless the text is clearly another language (then its ISO 639-1 code, from py3langid)."""
    words = [w.lower() for w in _WORD.findall(text or "")]
    if len(words) < 3:
        return "en"
    english = _english_words()
    if sum(w in english for w in words) / len(words) >= ENGLISH_SHARE:
        return "en"
    import py3langid

    code, _ = py3langid.classify(text)
    return code


_ANALYZER = None


def _analyzer():
    global _ANALYZER
    if _ANALYZER is None:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        _ANALYZER = SentimentIntensityAnalyzer()
    return _ANALYZER


def sentiment_label(compound: float | None) -> str | None:
    if compound is None:
        return None
    return "positive" if compound >= POSITIVE_CUT else "negative" if compound <= NEGATIVE_CUT else "neutral"


def unit_kind(text: str, compound: float) -> str | None:
    """feature_request, pain_point, value_driver or None (see the module docstring)."""
    if REQUEST_PATTERN.search(text):
        return "feature_request"
    if compound <= NEGATIVE_CUT:
        return "pain_point"
    if compound >= POSITIVE_CUT:
        return "value_driver"
    return None


def nps_group(score: int | None) -> str | None:
    if score is None:
        return None
    return "promoter" if score >= 9 else "detractor" if score <= 6 else "passive"


def nps(scores) -> float | None:
    """``100 · (promoters − detractors) / n`` over the scores that are not None (None without any)."""
    known = [s for s in scores if s is not None]
    if not known:
        return None
    return 100.0 * (sum(s >= 9 for s in known) - sum(s <= 6 for s in known)) / len(known)


# ---------------------------------------------------------------------------------------
# The analysis


@dataclass(frozen=True)
class FeedbackAnalysis:
    """What :func:`analyze_feedback` finds; every frame is small enough for a page."""

    responses: pl.DataFrame  # one row per response
    units: pl.DataFrame  # one row per scored sentence
    themes: pl.DataFrame  # one row per theme
    monthly_themes: pl.DataFrame  # theme share per month, with the change and the rising flag
    learned: tuple[dict, ...] = field(default=())  # the NMF components: top terms and the name given

    @property
    def nps(self) -> float | None:
        return nps(self.responses["score"].to_list())


def feedback_rows(con, start: date | None = None, end: date | None = None) -> pl.DataFrame:
    return run(con, FEEDBACK_ROWS, {"start": start, "end": end})


def _learned_themes(texts: list[str], taxonomy: tuple[Theme, ...], components: int) -> tuple[list, list[dict]]:
    """(theme name or None per text, the components): TF-IDF + NMF, named by the taxonomy.

    Fitted on the distinct texts, each TF-IDF row scaled by √(its count): the Frobenius loss is then the
    loss over every text, so a sentence said 500 times weighs as 500 sentences, and is factored once.
    """
    import numpy as np
    from scipy import sparse
    from sklearn.decomposition import NMF
    from sklearn.feature_extraction.text import TfidfVectorizer

    distinct, position = np.unique(np.asarray(texts, dtype=object).astype(str), return_inverse=True)
    if len(distinct) < 3:
        return [None] * len(texts), []
    counts = np.bincount(position, minlength=len(distinct))
    vectorizer = TfidfVectorizer(stop_words="english", ngram_range=(1, 2), sublinear_tf=True, max_features=MAX_TERMS)
    try:
        matrix = vectorizer.fit_transform(distinct.tolist())
    except ValueError:  # nothing left after the stop words
        return [None] * len(texts), []
    weighted = sparse.diags(np.sqrt(counts.astype(float))) @ matrix
    k = max(1, min(components, matrix.shape[0] - 1, matrix.shape[1]))
    model = NMF(n_components=k, init="nndsvda", random_state=0, max_iter=400)
    weights = model.fit_transform(weighted)
    terms = np.asarray(vectorizer.get_feature_names_out())
    learned = []
    names = []
    for row in model.components_:
        top = np.argsort(row)[::-1][:10]
        top_terms = [str(terms[i]) for i in top if row[i] > 0]
        best, best_weight = None, 0.0
        for theme in taxonomy:
            words = set(theme.keywords)
            weight = sum(float(row[i]) for i in top if any(w in words for w in str(terms[i]).split()))
            if weight > best_weight:
                best, best_weight = theme.name, weight
        name = best or " / ".join(top_terms[:3]) or "(no terms)"
        names.append(name)
        learned.append({"top_terms": top_terms, "theme": name, "from_taxonomy": best is not None})
    strongest = weights.argmax(axis=1)
    per_distinct = [names[j] if weights[i, j] > 0 else None for i, j in enumerate(strongest)]
    return [per_distinct[p] for p in position], learned


def _pinned(text: str, pinned: list[tuple[str, re.Pattern]]) -> str | None:
    for name, pattern in pinned:
        if pattern.search(text):
            return name
    return None


def analyze_feedback(
    con,
    start: date | None = None,
    end: date | None = None,
    taxonomy: tuple[Theme, ...] | None = None,
    components: int = DEFAULT_COMPONENTS,
    rise_points: float = DEFAULT_RISE_POINTS,
) -> FeedbackAnalysis:
    """``processCustomerFeedback`` over every response submitted in [start, end] (all by default)."""
    return analyze_frame(feedback_rows(con, start, end), taxonomy, components, rise_points)


def analyze_frame(
    rows_: pl.DataFrame,
    taxonomy: tuple[Theme, ...] | None = None,
    components: int = DEFAULT_COMPONENTS,
    rise_points: float = DEFAULT_RISE_POINTS,
) -> FeedbackAnalysis:
    """The analysis of a frame of responses (feedback_id, account_id, contact_id, submitted_at, score, text,
    and optionally account_name, segment, plan, arr)."""
    import polars as pl

    taxonomy = read_taxonomy() if taxonomy is None else taxonomy
    for column, value in (("account_name", None), ("segment", "(none)"), ("plan", "(none)"), ("arr", 0.0)):
        if column not in rows_.columns:
            rows_ = rows_.with_columns(pl.lit(value).alias(column))
    analyzer = _analyzer()
    scored: dict[str, float] = {}
    unit_rows = []
    response_rows = []
    for row in rows_.iter_rows(named=True):
        text = row["text"]
        language = language_of(text) if text and text.strip() else None
        parts = sentences(text) if language == "en" else []
        compounds = []
        for position, unit in enumerate(parts):
            if unit not in scored:  # a sentence said many times is scored once
                compound = analyzer.polarity_scores(unit)["compound"]
                scored[unit] = (compound, unit_kind(unit, compound))
            compound, kind = scored[unit]
            compounds.append(compound)
            unit_rows.append(
                {
                    "feedback_id": row["feedback_id"],
                    "position": position,
                    "text": unit,
                    "compound": compound,
                    "kind": kind,
                }
            )
        sentiment = sum(compounds) / len(compounds) if compounds else None
        response_rows.append(
            {
                "feedback_id": row["feedback_id"],
                "language": language,
                "non_english": language is not None and language != "en",
                "sentences": len(parts),
                "sentiment": sentiment,
                "sentiment_label": sentiment_label(sentiment),
                "mixed": bool(compounds) and min(compounds) <= NEGATIVE_CUT and max(compounds) >= POSITIVE_CUT,
                "nps_group": nps_group(row["score"]),
            }
        )
    unit_schema = {
        "feedback_id": pl.String,
        "position": pl.Int64,
        "text": pl.String,
        "compound": pl.Float64,
        "kind": pl.String,
    }
    units = pl.DataFrame(unit_rows, schema=unit_schema)
    assigned, learned = _learned_themes(units["text"].to_list(), taxonomy, components)
    pinned = [
        (t.name, re.compile(r"\b(" + "|".join(re.escape(k) for k in t.keywords) + r")\b", re.IGNORECASE))
        for t in taxonomy
        if t.pinned
    ]
    pins = {text: _pinned(text, pinned) for text in set(units["text"].to_list())}  # once per distinct sentence
    themes_of_units = [pins[text] or learned_name for text, learned_name in zip(units["text"], assigned)]
    source = ["pinned" if pins[text] else ("learned" if name else None) for text, name in zip(units["text"], assigned)]
    units = units.with_columns(
        pl.Series("theme", themes_of_units, dtype=pl.String), pl.Series("theme_source", source, dtype=pl.String)
    )
    per_response = (
        units.filter(pl.col("theme").is_not_null())
        .group_by("feedback_id")
        .agg(pl.col("theme").unique().sort().alias("themes"))
    )
    responses = (
        rows_.join(pl.DataFrame(response_rows), on="feedback_id", how="left")
        .join(per_response, on="feedback_id", how="left")
        .with_columns(
            pl.col("themes").fill_null(pl.lit([], dtype=pl.List(pl.String))),
            pl.col("submitted_at").dt.strftime("%Y-%m").alias("month"),
        )
    )
    return FeedbackAnalysis(
        responses=responses,
        units=units,
        themes=theme_table(responses, units),
        monthly_themes=monthly_theme_shares(responses, rise_points),
        learned=tuple(learned),
    )


def _weighted_nps(scores: list, weights: list) -> float | None:
    pairs = [(s, w) for s, w in zip(scores, weights) if s is not None]
    total = sum(w for _, w in pairs)
    if not pairs or total <= 0:
        return None
    return 100.0 * sum(w * ((s >= 9) - (s <= 6)) for s, w in pairs) / total


def theme_table(responses: pl.DataFrame, units: pl.DataFrame) -> pl.DataFrame:
    """Per theme: responses raising it, share, mean sentiment of its sentences, pains, requests, the
    NPS impact (all minus without it), the ARR-weighted impact and the ARR of the accounts raising it."""
    import polars as pl

    schema = {
        "theme": pl.String,
        "responses": pl.Int64,
        "share": pl.Float64,
        "sentiment": pl.Float64,
        "value_drivers": pl.Int64,
        "pain_points": pl.Int64,
        "feature_requests": pl.Int64,
        "nps_with": pl.Float64,
        "nps_impact": pl.Float64,
        "arr_weighted_impact": pl.Float64,
        "arr": pl.Float64,
        "pinned": pl.Boolean,
    }
    english = responses.filter(pl.col("sentences") > 0)
    scores, arr = responses["score"].to_list(), responses["arr"].fill_null(0.0).to_list()
    all_nps, all_weighted = nps(scores), _weighted_nps(scores, arr)
    out = []
    for theme in sorted({t for ts in responses["themes"].to_list() for t in ts}):
        raised = responses["themes"].list.contains(theme)
        without = responses.filter(~raised)
        with_ = responses.filter(raised)
        theme_units = units.filter(pl.col("theme") == theme)
        kinds = theme_units["kind"].value_counts()
        count = dict(zip(kinds["kind"].to_list(), kinds["count"].to_list())) if kinds.height else {}
        w_nps = nps(without["score"].to_list())
        w_weighted = _weighted_nps(without["score"].to_list(), without["arr"].fill_null(0.0).to_list())
        account_arr = with_.unique("account_id")["arr"].fill_null(0.0).sum()
        out.append(
            {
                "theme": theme,
                "responses": with_.height,
                "share": with_.height / max(1, english.height),
                "sentiment": theme_units["compound"].mean(),
                "value_drivers": count.get("value_driver", 0),
                "pain_points": count.get("pain_point", 0),
                "feature_requests": count.get("feature_request", 0),
                "nps_with": nps(with_["score"].to_list()),
                "nps_impact": None if all_nps is None or w_nps is None else all_nps - w_nps,
                "arr_weighted_impact": None
                if all_weighted is None or w_weighted is None
                else all_weighted - w_weighted,
                "arr": float(account_arr),
                "pinned": bool((theme_units["theme_source"] == "pinned").any()),
            }
        )
    return pl.DataFrame(out, schema=schema).sort("responses", descending=True)


def monthly_theme_shares(responses: pl.DataFrame, rise_points: float = DEFAULT_RISE_POINTS) -> pl.DataFrame:
    """Per month and theme: the share of the month's English responses raising it (percent), the change in
    points from the month before, and ``rising`` when the change ≥ ``rise_points``."""
    import polars as pl

    english = responses.filter(pl.col("sentences") > 0)
    months = english.group_by("month").agg(pl.len().alias("month_responses"))
    raised = english.select("month", "feedback_id", "themes").explode("themes").drop_nulls("themes")
    counts = raised.group_by("month", "themes").agg(pl.len().alias("responses")).rename({"themes": "theme"})
    all_months = sorted(months["month"].to_list())
    themes = counts["theme"].unique().to_list()
    grid = pl.DataFrame(
        {"month": [m for m in all_months for _ in themes], "theme": [t for _ in all_months for t in themes]},
        schema={"month": pl.String, "theme": pl.String},
    )
    return (
        grid.join(counts, on=["month", "theme"], how="left")
        .join(months, on="month")
        .with_columns(pl.col("responses").fill_null(0))
        .with_columns((100.0 * pl.col("responses") / pl.col("month_responses")).alias("share_pct"))
        .sort("theme", "month")
        .with_columns((pl.col("share_pct") - pl.col("share_pct").shift(1).over("theme")).alias("change_points"))
        .with_columns((pl.col("change_points") >= rise_points).fill_null(False).alias("rising"))
        .sort("month", "theme")
    )


def rising_themes(analysis: FeedbackAnalysis, month: str | None = None) -> pl.DataFrame:
    """The themes flagged as rising in ``month`` (default: the latest month with responses)."""
    import polars as pl

    shares = analysis.monthly_themes
    if shares.is_empty():
        return shares
    month = month or shares["month"].max()
    return shares.filter((pl.col("month") == month) & pl.col("rising")).sort("change_points", descending=True)


def nps_by(analysis: FeedbackAnalysis, by: str) -> pl.DataFrame:
    """NPS per ``month``, ``segment`` or ``plan``: responses with a score, promoters, passives, detractors, NPS."""
    import polars as pl

    if by not in ("month", "segment", "plan"):
        raise RevLensError(f"NPS can be broken down by month, segment or plan, not {by!r}.")
    scored = analysis.responses.filter(pl.col("score").is_not_null())
    return (
        scored.group_by(by)
        .agg(
            pl.len().alias("responses"),
            (pl.col("score") >= 9).sum().alias("promoters"),
            ((pl.col("score") >= 7) & (pl.col("score") <= 8)).sum().alias("passives"),
            (pl.col("score") <= 6).sum().alias("detractors"),
        )
        .with_columns(pl.col("responses", "promoters", "passives", "detractors").cast(pl.Int64))
        .with_columns((100.0 * (pl.col("promoters") - pl.col("detractors")) / pl.col("responses")).alias("nps"))
        .sort(by)
    )


def extracted(analysis: FeedbackAnalysis, kind: str) -> pl.DataFrame:
    """``extractValueDrivers`` / ``extractPainPoints`` / ``extractFeatureRequests``: the sentences of ``kind``
    grouped by text, with their theme, how often they were said, by how many accounts and their ARR."""
    import polars as pl

    if kind not in KINDS:
        raise RevLensError(f"{kind!r} is not one of {', '.join(KINDS)}.")
    picked = analysis.units.filter(pl.col("kind") == kind).join(
        analysis.responses.select("feedback_id", "account_id", "arr", "segment"), on="feedback_id"
    )
    return (
        picked.group_by("text")
        .agg(
            pl.col("theme").drop_nulls().mode().first().alias("theme"),
            pl.len().alias("mentions"),
            pl.col("account_id").n_unique().alias("accounts"),
            pl.col("compound").first(),
            pl.struct("account_id", "arr").unique().struct.field("arr").sum().alias("arr"),
        )
        .sort(["mentions", "text"], descending=[True, False])
    )


def messaging_hints(analysis: FeedbackAnalysis, top: int = 3) -> pl.DataFrame:
    """``updatePersonaProfiles``: per segment, the top value-driver and pain-point themes, with an example."""
    import polars as pl

    picked = analysis.units.filter(pl.col("kind").is_in(["value_driver", "pain_point"]) & pl.col("theme").is_not_null())
    picked = picked.join(analysis.responses.select("feedback_id", "segment"), on="feedback_id")
    counted = (
        picked.group_by("segment", "kind", "theme")
        .agg(pl.len().alias("mentions"), pl.col("text").mode().first().alias("example"))
        .sort(["segment", "kind", "mentions"], descending=[False, False, True])
    )
    return counted.group_by("segment", "kind", maintain_order=True).head(top)


# ---------------------------------------------------------------------------------------
# Case studies, campaigns, the feedback signal

ADVOCACY = Query(
    "customers.feedback_advocacy",
    """select c.account_id, e.kind, count(*) as events, max(cast(e.ts as date)) as last_on
from content_events as e
join contacts as c on c.contact_id = e.contact_id
where e.kind in ('referral', 'review', 'case_study')
  and c.account_id in (select cast(unnest($account_ids) as varchar))
group by c.account_id, e.kind""",
    "Advocacy history of the chosen accounts: referrals, reviews and case studies, with the last date.",
)


def case_studies(con, analysis: FeedbackAnalysis, health: pl.DataFrame | None = None) -> pl.DataFrame:
    """Case-study opportunities, exactly as the spec: ``sentiment == 'positive' and score >= 8``.

    Each with its quote (the response's most positive sentence), the account's ARR, health score and band
    (from ``health``, when given) and advocacy history (referrals, reviews, case studies, last date).
    """
    import polars as pl

    chosen = analysis.responses.filter(
        (pl.col("sentiment_label") == "positive") & (pl.col("score") >= CASE_STUDY_MIN_SCORE)
    )
    quotes = (
        analysis.units.filter(pl.col("feedback_id").is_in(chosen["feedback_id"].to_list()))
        .sort("compound", descending=True)
        .group_by("feedback_id", maintain_order=True)
        .first()
        .select("feedback_id", pl.col("text").alias("quote"))
    )
    out = chosen.join(quotes, on="feedback_id", how="left")
    ids = out["account_id"].drop_nulls().unique().to_list()
    advocacy = run(con, ADVOCACY, {"account_ids": ids or [""]})
    wide = advocacy.group_by("account_id").agg(
        *[pl.col("events").filter(pl.col("kind") == k).sum().alias(f"{k}s") for k in ("referral", "review")],
        pl.col("events").filter(pl.col("kind") == "case_study").sum().alias("case_studies"),
        pl.col("last_on").max().alias("last_advocacy_on"),
    )
    out = out.join(wide, on="account_id", how="left").with_columns(
        pl.col("referrals", "reviews", "case_studies").fill_null(0)
    )
    if health is not None and not health.is_empty():
        out = out.join(
            health.select(
                "account_id", pl.col("overall_score").alias("health_score"), pl.col("band").alias("health_band")
            ),
            on="account_id",
            how="left",
        )
    else:
        out = out.with_columns(
            pl.lit(None, pl.Float64).alias("health_score"), pl.lit(None, pl.String).alias("health_band")
        )
    return out.sort(["score", "sentiment"], descending=True)


CONTACT_IDS = Query(
    "customers.feedback_contacts",
    """select contact_id, hubspot_id, email
from contacts
where contact_id in (select cast(unnest($contact_ids) as varchar)) and (hubspot_id is not null or email is not null)
order by contact_id""",
    "The HubSpot ids and emails of the chosen contacts (case-study lists).",
)


def contact_targets(con, contact_ids: list[str], kind: str = "add_to_list") -> list[dict]:
    """Outbox targets of the responding contacts (a case-study list, a theme campaign)."""
    from analytics.customers.interventions import campaign_targets

    return campaign_targets(run(con, CONTACT_IDS, {"contact_ids": list(contact_ids) or [""]}), kind)


def theme_accounts(analysis: FeedbackAnalysis, theme: str, kind: str | None = None) -> list[str]:
    """``triggerTargetedCampaigns``: the accounts whose responses raised ``theme`` (as ``kind`` when given)."""
    import polars as pl

    units = analysis.units.filter(pl.col("theme") == theme)
    if kind:
        units = units.filter(pl.col("kind") == kind)
    ids = analysis.responses.filter(pl.col("feedback_id").is_in(units["feedback_id"].to_list()))["account_id"]
    return sorted(ids.drop_nulls().unique().to_list())


def feedback_signal(analysis: FeedbackAnalysis, as_of: date) -> pl.DataFrame:
    """Per account, from responses submitted on or before ``as_of``: ``latest_score`` (and its date and NPS
    group), ``sentiment_recent`` (mean over (t−90, t]), ``sentiment_before`` ((t−180, t−90]),
    ``sentiment_trend`` (recent − before) and ``feedback_signal`` = latest score / 10 (0–1)."""
    import polars as pl

    known = analysis.responses.filter(
        pl.col("account_id").is_not_null() & (pl.col("submitted_at").dt.date() <= as_of)
    ).with_columns((pl.lit(as_of) - pl.col("submitted_at").dt.date()).dt.total_days().alias("age"))
    latest = (
        known.filter(pl.col("score").is_not_null())
        .sort("submitted_at")
        .group_by("account_id")
        .last()
        .select(
            "account_id",
            pl.col("score").alias("latest_score"),
            pl.col("submitted_at").dt.date().alias("latest_on"),
            pl.col("nps_group").alias("latest_group"),
        )
    )
    trend = known.group_by("account_id").agg(
        pl.col("sentiment").filter(pl.col("age") < 90).mean().alias("sentiment_recent"),
        pl.col("sentiment").filter((pl.col("age") >= 90) & (pl.col("age") < 180)).mean().alias("sentiment_before"),
    )
    return (
        latest.join(trend, on="account_id", how="left")
        .with_columns(
            (pl.col("sentiment_recent") - pl.col("sentiment_before")).alias("sentiment_trend"),
            (pl.col("latest_score") / 10.0).alias("feedback_signal"),
        )
        .sort("account_id")
    )


def health_with_feedback(health: pl.DataFrame, signal: pl.DataFrame, weight: float = 0.0, config=None) -> pl.DataFrame:
    """Health scores with the feedback signal as an optional seventh input, off by default.

    For an account with a signal *s*: ``score' = round(100 · (Σ w_i c_i + w_f s) / (coverage + w_f), 2)``
    (the six components as health scores them, renormalized with the feedback weight ``w_f``); without a
    signal, or with ``weight = 0``, the score is health's, unchanged. ``band`` follows health's bands.
    """
    import polars as pl

    from analytics.customers.config import COMPONENTS, SPEC_CONFIG

    config = config or SPEC_CONFIG
    if not 0 <= weight < 1:
        raise RevLensError(f"The feedback weight is {weight:g}; give a share from 0 to below 1 (0 turns it off).")
    joined = health.join(signal.select("account_id", "feedback_signal"), on="account_id", how="left")
    if weight == 0:
        return joined.with_columns(pl.col("overall_score").alias("score_with_feedback"))
    weights = config.weights_by_component()
    weighted = pl.sum_horizontal([pl.col(c).fill_null(0.0) * weights[c] for c in COMPONENTS])
    blended = (
        pl.when(pl.col("feedback_signal").is_not_null())
        .then((100 * (weighted + weight * pl.col("feedback_signal")) / (pl.col("coverage") + weight)).round(2))
        .otherwise(pl.col("overall_score"))
    )
    return joined.with_columns(blended.alias("score_with_feedback"))


def sentiment_quality(analysis: FeedbackAnalysis) -> dict:
    """The Spearman correlation between each response's sentiment and its score (English, scored, with text)."""
    import polars as pl
    from scipy.stats import spearmanr

    pairs = analysis.responses.filter(pl.col("sentiment").is_not_null() & pl.col("score").is_not_null())
    if pairs.height < 3:
        return {"responses": pairs.height, "spearman": None, "p_value": None}
    rho, p = spearmanr(pairs["sentiment"].to_numpy(), pairs["score"].to_numpy())
    return {"responses": pairs.height, "spearman": float(rho), "p_value": float(p)}


@example_params("customers.feedback_")
def _example_params(con) -> dict:
    """Parameters of the feedback queries for ``sql explain``: every response, no account or contact."""
    return {"start": None, "end": None, "account_ids": ["(none)"], "contact_ids": ["(none)"]}
